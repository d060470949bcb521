//! Notifications through a transactional outbox: every message is written in the transaction
//! of the change that causes it (so a rolled-back change sends nothing) and delivered later,
//! at least once, by [`dispatch`]. Nothing is sent on the request path.

pub mod mailer;
pub mod templates;

use crate::clock::now;
use crate::db::DbConnection;
use crate::db::models::{CampaignRow, FundRow, OutboxRow, PledgeRow};
use crate::db::schema::{associations, campaigns, donors, outbox, partners, users};
use crate::domain::delivery::{Channel, DeliveryStatus};
use crate::domain::ids;
use crate::domain::money::Currency;

fn money(minor: i64, currency: &Currency) -> String {
    crate::domain::money::format_amount(minor, *currency)
}
use crate::domain::pledge::PledgeFacts;
use diesel::prelude::*;
use serde_json::{Value, json};
pub use templates::Template;

fn insert(
    conn: &mut DbConnection,
    id: String,
    channel: Channel,
    recipient: &str,
    topic: &str,
    locale: &str,
    payload: String,
) -> QueryResult<()> {
    diesel::insert_into(outbox::table)
        .values(row(id, channel, recipient, topic, locale, payload))
        .execute(conn)?;
    Ok(())
}

/// A pending outbox row, due now.
fn row(
    id: String,
    channel: Channel,
    recipient: &str,
    topic: &str,
    locale: &str,
    payload: String,
) -> OutboxRow {
    let t = now();
    OutboxRow {
        id,
        channel,
        recipient: recipient.into(),
        topic: topic.into(),
        locale: locale.into(),
        payload,
        status: DeliveryStatus::Pending,
        attempts: 0,
        next_attempt_at: t,
        lease_until: None,
        last_error: None,
        created_at: t,
        sent_at: None,
    }
}

/// Queues an e-mail.
pub fn email(
    conn: &mut DbConnection,
    to: &str,
    locale: &str,
    template: Template,
    data: Value,
) -> QueryResult<()> {
    let locale = if locale == "en" { "en" } else { "it" };
    insert(
        conn,
        ids::new_id("msg"),
        Channel::Email,
        to,
        template.as_str(),
        locale,
        data.to_string(),
    )
}

/// Queues a signed partner webhook; the outbox id is the event's stable id.
pub fn webhook(
    conn: &mut DbConnection,
    partner_id: &str,
    event_type: &str,
    data: Value,
) -> QueryResult<()> {
    diesel::insert_into(outbox::table)
        .values(webhook_row(partner_id, event_type, data))
        .execute(conn)?;
    Ok(())
}

fn webhook_row(partner_id: &str, event_type: &str, data: Value) -> OutboxRow {
    let id = ids::new_id("evt");
    let payload = json!({
        "id": id,
        "object": "event",
        "type": event_type,
        "created": chrono::Utc::now().timestamp(),
        "data": data,
    });
    row(
        id,
        Channel::Webhook,
        partner_id,
        event_type,
        "en",
        payload.to_string(),
    )
}

/// Every partner frontend with a webhook URL hears about public campaign changes.
pub fn campaign_webhook(
    conn: &mut DbConnection,
    event_type: &str,
    campaign: &CampaignRow,
) -> QueryResult<()> {
    let targets: Vec<String> = partners::table
        .filter(partners::webhook_url.is_not_null())
        .select(partners::id)
        .load(conn)?;
    let data = json!({
        "campaign_id": campaign.id,
        "status": campaign.status,
        "raised": money(campaign.raised, &campaign.currency),
        "donors": campaign.donors,
        "goal": money(campaign.goal, &campaign.currency),
        "currency": campaign.currency,
        "match": {"status": campaign.match_status.as_str(), "amount": money(campaign.match_amount, &campaign.currency)},
    });
    for p in targets {
        webhook(conn, &p, event_type, data.clone())?;
    }
    Ok(())
}

fn association_of(conn: &mut DbConnection, id: &str) -> QueryResult<(String, String, String)> {
    associations::table
        .find(id)
        .select((
            associations::name,
            associations::email,
            associations::tax_code,
        ))
        .first(conn)
}

/// Messages after a pledge's facts moved: the partner's `pledge.updated` (when the partner
/// listens and the status changed), the donor's receipt on confirmation and notice on refund
/// (never to erased donors: the dispatcher resolves the donor when it sends).
pub fn pledge_change_messages(
    pledge: &PledgeRow,
    before: &PledgeFacts,
    after: &PledgeFacts,
    partner_listens: bool,
) -> Vec<OutboxRow> {
    let c = &pledge.currency;
    let mut messages = Vec::new();
    if before.status() != after.status() && partner_listens {
        messages.push(webhook_row(
            &pledge.partner_id,
            "pledge.updated",
            json!({
                "pledge_id": pledge.id,
                "campaign_id": pledge.campaign_id,
                "status": after.status().as_str(),
                "amount": money(pledge.amount, c),
                "refunded": money(after.refunded, c),
                "currency": c,
            }),
        ));
    }
    let newly_paid = !before.paid && after.paid;
    // Refunds are told once the donor's payment is known; a refund that arrived before the
    // success is told with the receipt.
    let refunded_now = if !after.paid {
        0
    } else if newly_paid {
        after.refunded
    } else {
        after.refunded - before.refunded
    };
    let data = json!({"pledge_id": pledge.id, "refunded": money(refunded_now.max(0), c)});
    let recipient = format!("{DONOR_PREFIX}{}", pledge.id);
    if newly_paid {
        messages.push(row(
            ids::new_id("msg"),
            Channel::Email,
            &recipient,
            Template::DonorReceipt.as_str(),
            "it",
            data.to_string(),
        ));
    }
    if refunded_now > 0 {
        messages.push(row(
            ids::new_id("msg"),
            Channel::Email,
            &recipient,
            Template::RefundNotice.as_str(),
            "it",
            data.to_string(),
        ));
    }
    messages
}

/// Queues messages built beforehand, in the caller's transaction.
pub fn insert_all(conn: &mut DbConnection, messages: Vec<OutboxRow>) -> QueryResult<()> {
    for m in messages {
        crate::db::cached::execute(conn, diesel::insert_into(outbox::table).values(m))?;
    }
    Ok(())
}

/// A project update to each donor who agreed to be contacted (one pledge per address; the
/// address, name and language are looked up when it is sent, so an erased donor gets nothing).
pub fn campaign_update(
    conn: &mut DbConnection,
    pledge_ids: &[String],
    campaign_title: &str,
    campaign_url: &str,
    update_title: &str,
    update_body: &str,
) -> QueryResult<()> {
    let payload = json!({
        "campaign_title": campaign_title,
        "campaign_url": campaign_url,
        "update_title": update_title,
        "update_body": update_body,
    })
    .to_string();
    let messages = pledge_ids
        .iter()
        .map(|id| {
            row(
                ids::new_id("msg"),
                Channel::Email,
                &format!("{DONOR_PREFIX}{id}"),
                Template::CampaignUpdate.as_str(),
                "it",
                payload.clone(),
            )
        })
        .collect();
    insert_all(conn, messages)
}

/// A donor's one-time link to their receipts, to the address one of their pledges gave (looked
/// up when it is sent: an erased donor gets nothing).
pub fn receipt_link(conn: &mut DbConnection, pledge_id: &str, link: &str) -> QueryResult<()> {
    insert_all(
        conn,
        vec![row(
            ids::new_id("msg"),
            Channel::Email,
            &format!("{DONOR_PREFIX}{pledge_id}"),
            Template::ReceiptLink.as_str(),
            "it",
            json!({ "link": link }).to_string(),
        )],
    )
}

/// Outbox recipients written as `donor:<pledge id>` are resolved when the e-mail is sent.
pub const DONOR_PREFIX: &str = "donor:";

/// Whether a partner has a webhook URL. Partners cannot change it after creation, so each
/// process remembers the answer.
pub fn partner_listens(conn: &mut DbConnection, partner_id: &str) -> QueryResult<bool> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<HashMap<String, bool>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(v) = cache
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(partner_id)
    {
        return Ok(*v);
    }
    let listens: i64 = partners::table
        .filter(partners::id.eq(partner_id))
        .filter(partners::webhook_url.is_not_null())
        .count()
        .get_result(conn)?;
    cache
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(partner_id.to_string(), listens > 0);
    Ok(listens > 0)
}

/// A donor e-mail's address, locale and figures, looked up at send time (one statement). None
/// once the donor's personal data has been erased. The receipt's number is the one issued when
/// the donation was counted (`—` if it never was).
pub fn donor_email(
    conn: &mut DbConnection,
    pledge_id: &str,
    refunded: &str,
) -> QueryResult<Option<(String, String, Value)>> {
    use crate::db::schema::receipts;
    type Donor = (Option<String>, Option<String>, String, Option<String>);
    type Found = (
        PledgeRow,
        Option<Donor>,
        (String, String, String, Option<String>),
        Option<(i32, i32)>,
    );
    let (pledge, donor, (title, asso_name, tax_code, runts_id), receipt): Found =
        crate::db::schema::pledges::table
            .find(pledge_id)
            .inner_join(campaigns::table.inner_join(associations::table))
            .left_join(donors::table)
            .left_join(receipts::table)
            .select((
                PledgeRow::as_select(),
                (
                    donors::name,
                    donors::email,
                    donors::locale,
                    donors::tax_code,
                )
                    .nullable(),
                (
                    campaigns::title,
                    associations::name,
                    associations::tax_code,
                    associations::runts_id,
                ),
                (receipts::year, receipts::number).nullable(),
            ))
            .first(conn)?;
    let Some((Some(name), Some(to), locale, donor_tax_code)) = donor else {
        return Ok(None);
    };
    let c = &pledge.currency;
    let date = pledge.confirmed_at.unwrap_or(pledge.created_at);
    let lang = if locale == "en" { "en" } else { "it" };
    let bank_reference: Option<String> = if pledge.provider
        == crate::config::ProviderKind::BankTransfer
    {
        use crate::db::schema::bank_entries;
        use crate::domain::bank_entry::BankEntryStatus;
        bank_entries::table
            .filter(bank_entries::pledge_id.eq(&pledge.id))
            .filter(
                bank_entries::status.eq_any([BankEntryStatus::Matched, BankEntryStatus::Assigned]),
            )
            .select(bank_entries::bank_reference)
            .first::<Option<String>>(conn)
            .optional()?
            .flatten()
    } else {
        None
    };
    Ok(Some((
        to,
        locale.clone(),
        json!({
            "pledge_id": pledge.id,
            "donor_name": name,
            "donor_tax_code": donor_tax_code.unwrap_or_else(|| "—".into()),
            "amount": money(pledge.amount, c),
            "refunded": refunded,
            "currency": c,
            "campaign_title": title,
            "association_name": asso_name,
            "association_tax_code": tax_code,
            "association_runts_id": runts_id.unwrap_or_else(|| "—".into()),
            "receipt_number": receipt
                .map(|(y, n)| crate::domain::receipt::number(y, n))
                .unwrap_or_else(|| "—".into()),
            "method": crate::domain::receipt::method(
                pledge.provider.as_str(),
                pledge.provider_payment_id.as_deref(),
                bank_reference.as_deref(),
                lang,
            ),
            "causale": crate::domain::receipt::causale(&title, lang),
            "date": date.format("%Y-%m-%d").to_string(),
        }),
    )))
}

/// Association e-mail (and partner webhook) after a lifecycle change of a campaign.
pub fn campaign_changed(
    conn: &mut DbConnection,
    campaign: &CampaignRow,
    fund: &FundRow,
    reason: Option<&str>,
    broadcast: bool,
) -> QueryResult<()> {
    let (_, asso_email, _) = association_of(conn, &campaign.association_id)?;
    let c = &campaign.currency;
    let threshold = fund.threshold_for(campaign.goal);
    let data = json!({
        "campaign_id": campaign.id,
        "campaign_title": campaign.title,
        "starts_at": campaign.starts_at.format("%Y-%m-%d").to_string(),
        "reason": reason.unwrap_or_default(),
        "raised": money(campaign.raised, c),
        "threshold": money(threshold, c),
        "match": money(campaign.match_amount, c),
        "currency": c,
    });
    let template = match campaign.status.as_str() {
        "approved" => Some(Template::CampaignApproved),
        "rejected" => Some(Template::CampaignRejected),
        "succeeded" => Some(Template::CampaignSucceeded),
        "failed" => Some(Template::CampaignFailed),
        _ => None,
    };
    if let Some(t) = template {
        email(conn, &asso_email, "it", t, data)?;
    }
    if broadcast {
        let event = if matches!(campaign.status.as_str(), "succeeded" | "failed") {
            "campaign.closed"
        } else {
            "campaign.updated"
        };
        campaign_webhook(conn, event, campaign)?;
    }
    Ok(())
}

/// The threshold was reached and the match reserved.
pub fn match_reserved(conn: &mut DbConnection, campaign_id: &str) -> QueryResult<()> {
    let campaign = crate::db::campaigns::load_campaign(conn, campaign_id)?;
    let (_, asso_email, _) = association_of(conn, &campaign.association_id)?;
    let c = &campaign.currency;
    email(
        conn,
        &asso_email,
        "it",
        Template::MatchReserved,
        json!({"campaign_title": campaign.title, "raised": money(campaign.raised, c), "match": money(campaign.match_amount, c), "currency": c}),
    )?;
    campaign_webhook(conn, "campaign.threshold_reached", &campaign)
}

/// The fund could not cover a match: tell the finance office (at most once a day per fund).
pub fn budget_exhausted(
    conn: &mut DbConnection,
    fund: &FundRow,
    campaign: &CampaignRow,
) -> QueryResult<()> {
    let since = now() - chrono::Duration::hours(24);
    let recent: i64 = outbox::table
        .filter(outbox::topic.eq(Template::BudgetExhausted.as_str()))
        .filter(outbox::created_at.gt(since))
        .filter(outbox::payload.like(format!("%\"fund_id\":\"{}\"%", fund.id)))
        .count()
        .get_result(conn)?;
    if recent > 0 {
        return Ok(());
    }
    let finance: Vec<String> = users::table
        .filter(users::role.eq("finance"))
        .filter(users::email.is_not_null())
        .select(users::email.assume_not_null())
        .load(conn)?;
    let c = &fund.currency;
    let data = json!({
        "fund_id": fund.id,
        "fund_name": fund.name,
        "campaign_title": campaign.title,
        "available": money(fund.available(), c),
        "currency": c,
    });
    for to in finance {
        email(conn, &to, "it", Template::BudgetExhausted, data.clone())?;
    }
    Ok(())
}

/// A settlement was paid: each association hears what it received.
pub fn settlement_paid(
    conn: &mut DbConnection,
    settlement_id: &str,
    bank_reference: &str,
) -> QueryResult<()> {
    use crate::db::schema::{settlement_items, settlement_lines};
    let items: Vec<(String, String, String, i64)> = settlement_items::table
        .filter(settlement_items::settlement_id.eq(settlement_id))
        .select((
            settlement_items::id,
            settlement_items::association_id,
            settlement_items::iban,
            settlement_items::amount,
        ))
        .load(conn)?;
    let currency: Currency = crate::db::schema::settlements::table
        .find(settlement_id)
        .select(crate::db::schema::settlements::currency)
        .first(conn)?;
    for (item_id, association_id, iban, amount) in items {
        let titles: Vec<String> = settlement_lines::table
            .inner_join(campaigns::table)
            .filter(settlement_lines::item_id.eq(&item_id))
            .select(campaigns::title)
            .load(conn)?;
        let (_, asso_email, _) = association_of(conn, &association_id)?;
        email(
            conn,
            &asso_email,
            "it",
            Template::SettlementPaid,
            json!({"amount": money(amount, &currency), "currency": currency, "iban": iban, "bank_reference": bank_reference, "campaigns": titles.join("; ")}),
        )?;
    }
    Ok(())
}

/// The facts every grant e-mail carries.
fn grant_data(conn: &mut DbConnection, grant: &crate::db::models::GrantRow) -> QueryResult<Value> {
    let title: String = campaigns::table
        .find(&grant.campaign_id)
        .select(campaigns::title)
        .first(conn)?;
    let c = &grant.currency;
    let due = grant.due.unwrap_or(grant.award_limit);
    Ok(json!({
        "grant_id": grant.id,
        "campaign_title": title,
        "currency": c,
        "due": money(due, c),
        "paid": money(grant.paid, c),
        "balance": money((due - grant.paid).max(0), c),
        "recoverable": money(grant.recoverable, c),
        "report_due_at": grant.report_due_at.format("%Y-%m-%d").to_string(),
    }))
}

fn finance_addresses(conn: &mut DbConnection) -> QueryResult<Vec<String>> {
    users::table
        .filter(users::role.eq("finance"))
        .filter(users::email.is_not_null())
        .select(users::email.assume_not_null())
        .load(conn)
}

/// The association hears that its final report is due soon.
pub fn grant_report_due(
    conn: &mut DbConnection,
    grant: &crate::db::models::GrantRow,
) -> QueryResult<()> {
    let data = grant_data(conn, grant)?;
    let (_, to, _) = association_of(conn, &grant.association_id)?;
    email(conn, &to, "it", Template::GrantReportDue, data)
}

/// The report is overdue: the association and the finance office hear it.
pub fn grant_overdue(
    conn: &mut DbConnection,
    grant: &crate::db::models::GrantRow,
) -> QueryResult<()> {
    let data = grant_data(conn, grant)?;
    let (_, to, _) = association_of(conn, &grant.association_id)?;
    email(conn, &to, "it", Template::GrantOverdue, data.clone())?;
    for to in finance_addresses(conn)? {
        email(conn, &to, "it", Template::GrantOverdue, data.clone())?;
    }
    Ok(())
}

/// The report is approved: the association hears the amount due (and what it owes back).
pub fn grant_approved(
    conn: &mut DbConnection,
    grant: &crate::db::models::GrantRow,
) -> QueryResult<()> {
    let data = grant_data(conn, grant)?;
    let (_, to, _) = association_of(conn, &grant.association_id)?;
    email(conn, &to, "it", Template::GrantApproved, data)?;
    if grant.recoverable > 0 {
        grant_recovery_requested(conn, grant)?;
    }
    Ok(())
}

/// Paid money is no longer due: the association is asked to pay it back.
pub fn grant_recovery_requested(
    conn: &mut DbConnection,
    grant: &crate::db::models::GrantRow,
) -> QueryResult<()> {
    let data = grant_data(conn, grant)?;
    let (_, to, _) = association_of(conn, &grant.association_id)?;
    email(conn, &to, "it", Template::GrantRecoveryRequested, data)
}

/// A reviewer is asked to evaluate an application: declare conflicts, then score.
pub fn evaluation_assigned(
    conn: &mut DbConnection,
    to: &str,
    campaign: &CampaignRow,
) -> QueryResult<()> {
    email(
        conn,
        to,
        "it",
        Template::EvaluationAssigned,
        json!({"campaign_id": campaign.id, "campaign_title": campaign.title}),
    )
}

fn admin_addresses(conn: &mut DbConnection) -> QueryResult<Vec<String>> {
    users::table
        .filter(users::role.eq("admin"))
        .filter(users::disabled_at.is_null())
        .filter(users::email.is_not_null())
        .select(users::email.assume_not_null())
        .load(conn)
}

/// An applicant appealed its outcome: the administrators hear it.
pub fn appeal_filed(
    conn: &mut DbConnection,
    appeal: &crate::db::calls::AppealRow,
    title: &str,
) -> QueryResult<()> {
    let data =
        json!({"appeal_id": appeal.id, "campaign_id": appeal.campaign_id, "campaign_title": title});
    for to in admin_addresses(conn)? {
        email(conn, &to, "it", Template::AppealFiled, data.clone())?;
    }
    Ok(())
}

/// The association hears how its appeal was decided, and why.
pub fn appeal_decided(
    conn: &mut DbConnection,
    appeal: &crate::db::calls::AppealRow,
    title: &str,
) -> QueryResult<()> {
    let (_, to, _) = association_of(conn, &appeal.association_id)?;
    email(
        conn,
        &to,
        "it",
        Template::AppealDecided,
        json!({
            "appeal_id": appeal.id,
            "campaign_title": title,
            "upheld": appeal.status == crate::domain::call::AppealStatus::Upheld,
            "reason": appeal.reason.clone().unwrap_or_default(),
        }),
    )
}
