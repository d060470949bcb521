//! One controller module per resource; each handler carries its `#[utoipa::path]`.

pub mod areas;
pub mod associations;
pub mod auth;
pub mod bank_transfers;
pub mod calls;
pub mod campaigns;
pub mod deliveries;
pub mod finance;
pub mod funders;
pub mod funds;
pub mod grant_reports;
pub mod grants;
pub mod ops;
pub mod partners;
pub mod payouts;
pub mod pledges;
pub mod receipts;
pub mod settlements;
pub mod transparency;
pub mod updates;
pub mod users;
pub mod webhooks;

use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(ops::healthz)
        .service(ops::readyz)
        .service(ops::metrics)
        .service(
            // actix tries resources in order, running a regex for each one with a path
            // parameter: the routes a rush hammers come first (a pledge, its webhook, the
            // campaign's page and badge; issue 43 found route matching at a quarter of a
            // pledge's CPU with the pledge route fiftieth).
            scope::scope("/v1")
                .service(webhooks::stripe)
                .service(pledges::create)
                .service(campaigns::get)
                .service(campaigns::badge)
                .service(auth::token)
                .service(areas::import)
                .service(areas::create)
                .service(areas::list)
                .service(areas::get)
                .service(funds::create)
                .service(funds::list)
                .service(funds::get)
                .service(funds::set_budget)
                .service(funds::set_transparency)
                .service(transparency::awards)
                .service(funders::create)
                .service(funders::list)
                .service(funders::set_budget)
                .service(funders::estimate)
                .service(funders::distribute)
                .service(associations::create)
                .service(associations::list)
                .service(associations::get)
                .service(associations::add_member)
                .service(associations::list_members)
                .service(receipts::donations_csv)
                .service(receipts::public_funding)
                .service(partners::create)
                .service(partners::list)
                .service(partners::disable)
                .service(partners::rotate_secret)
                .service(partners::rotate_webhook_secret)
                .service(deliveries::my_deliveries)
                .service(deliveries::replay)
                .service(deliveries::outbox_list)
                .service(users::create)
                .service(users::me)
                .service(users::disable)
                .service(campaigns::create)
                .service(campaigns::list)
                .service(campaigns::update)
                .service(campaigns::submit)
                .service(campaigns::approve)
                .service(campaigns::reject)
                .service(campaigns::cancel)
                .service(campaigns::match_history)
                .service(finance::ledger)
                .service(finance::reconciliation)
                .service(finance::fund_report)
                .service(finance::audit_trail)
                .service(grants::list)
                .service(grants::get)
                .service(grants::approve_report)
                .service(grants::review)
                .service(grants::revoke)
                .service(grants::recoveries)
                .service(payouts::get_account)
                .service(payouts::open_account)
                .service(payouts::crowd_money)
                .service(payouts::list)
                .service(payouts::create_batch)
                .service(payouts::list_batches)
                .service(payouts::get_batch)
                .service(payouts::batch_sepa_xml)
                .service(payouts::confirm_batch)
                .service(payouts::cancel_batch)
                .service(bank_transfers::import_statement)
                .service(bank_transfers::list_entries)
                .service(bank_transfers::assign)
                .service(calls::put_call)
                .service(calls::get_call)
                .service(calls::set_evaluators)
                .service(calls::list_evaluators)
                .service(calls::declare)
                .service(calls::put_scores)
                .service(calls::get_scores)
                .service(calls::my_evaluations)
                .service(calls::get_ranking)
                .service(calls::publish)
                .service(calls::advance)
                .service(calls::appeal)
                .service(calls::decide_appeal)
                .service(calls::list_appeals)
                .service(updates::post_update)
                .service(updates::list_updates)
                .service(settlements::commitments)
                .service(settlements::create)
                .service(settlements::list)
                .service(settlements::get)
                .service(settlements::sepa_xml)
                .service(settlements::items_csv)
                .service(settlements::treasury_csv)
                .service(settlements::treasury_json)
                .service(settlements::confirm)
                .service(settlements::cancel)
                .service(pledges::for_campaign)
                .service(pledges::get)
                .service(receipts::receipt)
                .service(pledges::list)
                .service(pledges::erase)
                .service(pledges::simulate)
                .service(pledges::refund)
                .service(grant_reports::upload_document)
                .service(grant_reports::list_grant_documents)
                .service(grant_reports::download_document)
                .service(grant_reports::create_expense)
                .service(grant_reports::list_grant_expenses)
                .service(grant_reports::submit_grant_report)
                .service(grant_reports::accept_expense)
                .service(grant_reports::reject_expense),
        );
}
