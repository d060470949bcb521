//! The console's routes: its sections (GET) and the forms they post, each to one handler.

use super::{
    admin, association, calls, console, console_admin, console_association, console_bank,
    console_finance, console_grant_reports, console_grants, finance, form_error,
};
use actix_web::web;

pub(super) fn register(cfg: &mut web::ServiceConfig) {
    cfg.route("/console", web::get().to(console::console))
        .route("/console/review", web::get().to(console::review))
        .route(
            "/console/campaigns",
            web::get().to(console_association::campaigns),
        )
        .route(
            "/console/campaigns/new",
            web::get().to(console_association::new_campaign),
        )
        .route(
            "/console/donations",
            web::get().to(console_association::donations),
        )
        .route("/console/funds", web::get().to(console_finance::funds))
        .route("/console/funds/{id}", web::get().to(console_finance::fund))
        .route(
            "/console/settlements",
            web::get().to(console_finance::settlements_page),
        )
        .route(
            "/console/admin",
            web::get().to(console_admin::associations_page),
        )
        .route(
            "/console/admin/users",
            web::get().to(console_admin::staff_page),
        )
        .route(
            "/console/admin/partners",
            web::get().to(console_admin::partners_page),
        )
        .route(
            "/console/admin/funds",
            web::get().to(console_admin::setup_page),
        )
        .route("/console/calls", web::get().to(calls::console))
        .route(
            "/console/calls/funds/{id}/{action}",
            web::post().to(calls::ranking_action),
        )
        .route(
            "/console/calls/{id}/declaration",
            web::post().to(calls::declare),
        )
        .route("/console/calls/{id}/scores", web::post().to(calls::score))
        .route(
            "/console/calls/{id}/evaluators",
            web::post().to(calls::evaluators),
        )
        .route("/console/calls/{id}/appeal", web::post().to(calls::appeal))
        .route(
            "/console/appeals/{id}/decide",
            web::post().to(calls::decide),
        )
        .route(
            "/console/campaigns",
            web::post().to(association::create_campaign),
        )
        .route(
            "/console/campaigns/{id}/edit",
            web::get().to(association::edit_form),
        )
        .route(
            "/console/campaigns/{id}/edit",
            web::post().to(association::edit),
        )
        .route(
            "/console/campaigns/{id}/news",
            web::post().to(association::post_news),
        )
        .route(
            "/console/campaigns/{id}/{action}",
            web::post().to(association::campaign_action),
        )
        .route(
            "/console/settlements",
            web::post().to(finance::create_batch),
        )
        .route("/console/grants", web::get().to(console_grants::grants))
        .route("/console/grants/{id}", web::get().to(console_grants::grant))
        .route(
            "/console/grants/{id}/approve-report",
            web::post().to(console_grants::approve_report),
        )
        .route(
            "/console/grants/{id}/review",
            web::post().to(console_grants::review),
        )
        .route(
            "/console/grants/{id}/recoveries",
            web::post().to(console_grants::record_recovery),
        )
        .route(
            "/console/grants/{id}/revoke",
            web::post().to(console_grants::revoke),
        )
        .route(
            "/console/grants/{id}/documents",
            web::post().to(console_grant_reports::upload),
        )
        .route(
            "/console/grants/{id}/expenses",
            web::post().to(console_grant_reports::add_expense),
        )
        .route(
            "/console/grants/{id}/report",
            web::post().to(console_grant_reports::submit),
        )
        .route(
            "/console/expenses/{id}/{action}",
            web::post().to(console_grant_reports::check),
        )
        .route(
            "/console/documents/{id}",
            web::get().to(console_grant_reports::download),
        )
        .route(
            "/console/bank-transfers",
            web::get().to(console_bank::transfers),
        )
        .route(
            "/console/bank-transfers/statements",
            web::post().to(console_bank::import),
        )
        .route(
            "/console/bank-entries",
            web::get().to(console_bank::entries),
        )
        .route(
            "/console/bank-entries/{id}/assign",
            web::post().to(console_bank::assign),
        )
        .route(
            "/console/admin/associations",
            web::post().to(admin::admin_association),
        )
        .route("/console/admin/users", web::post().to(admin::admin_user))
        .route(
            "/console/admin/members",
            web::post().to(admin::admin_member),
        )
        .route(
            "/console/admin/{kind}/{id}/disable",
            web::post().to(admin::admin_disable),
        )
        .route("/console/admin/funds", web::post().to(admin::admin_fund))
        .route(
            "/console/admin/funders",
            web::post().to(admin::admin_funder),
        )
        .route(
            "/console/admin/partners",
            web::post().to(admin::admin_partner),
        )
        .service(
            web::resource("/console/admin/areas")
                // A city's neighbourhood file is bigger than any other form.
                .app_data(
                    web::FormConfig::default()
                        .limit(4 * 1024 * 1024)
                        .error_handler(form_error),
                )
                .route(web::post().to(admin::admin_areas)),
        )
        .route(
            "/console/settlements/{id}/confirm",
            web::post().to(finance::confirm_batch),
        )
        .route(
            "/console/settlements/{id}/{file}",
            web::get().to(finance::settlement_file),
        );
}
