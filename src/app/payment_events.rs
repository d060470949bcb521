//! Applying a provider event (the use case behind the webhook): the event id stored (unique)
//! with its effect, the pledge's facts moved forward (`domain::pledge`), the campaign's
//! `raised`/`donors` updated, and the matching rule applied (`app::matching`), in one
//! transaction. Row locks are taken in one order everywhere: pledge, campaign, fund.
//!
//! Two ways to write the same plan: the transactional path (every backend; every kind of
//! event) and, on PostgreSQL, a plain confirmation planned here ([`plan_confirmation`]) and
//! written by `db::group_commit`'s one statement, alone or batched with others. The statement
//! applies a plan only where the pledge is still as it was read; it decides nothing.

use crate::app::matching;
use crate::clock::now;
use crate::db::group_commit::{self, ConfirmJob, Confirmation, Outcome, Request, confirm_together};
use crate::db::models::{CampaignRow, PledgeRow, ProviderEventRow, RefundRow};
use crate::db::schema::{
    campaign_donors, campaigns, pending_pledges, pledges, provider_events, refunds,
};
use crate::db::{DbConnection, DbError, cached, write_tx};
use crate::domain::campaign::CampaignStatus;
use crate::domain::pledge::{
    Dispute, EventOutcome, PaymentEvent, PledgeFacts, PledgeStatus, RefundStatus,
};
use crate::providers::events::{ProviderEvent, RefundReport};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use std::collections::HashSet;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// This event id was applied before: nothing changed.
    Duplicate,
    /// The pledge moved (or already knew this fact); `freed_fund` has budget to hand out.
    Applied {
        pledge_id: String,
        status: PledgeStatus,
        changed: bool,
        freed_fund: Option<String>,
    },
    /// The amount or currency did not match the pledge: not counted, flagged.
    Flagged { pledge_id: String },
    /// No pledge for this payment: stored and acknowledged.
    UnknownPayment,
    /// An event type cofund does not act on: stored and acknowledged.
    Ignored,
    /// The provider reported what became of a refund.
    RefundReported,
    /// The provider reported an association's connected account's state.
    AccountReported,
}

impl Applied {
    /// What is stored with the event (`provider_events.outcome`); None for a duplicate, which
    /// stores nothing.
    pub fn stored_outcome(&self) -> Option<EventOutcome> {
        Some(match self {
            Applied::Duplicate => return None,
            Applied::Applied { changed: true, .. } => EventOutcome::Applied,
            Applied::Applied { changed: false, .. } => EventOutcome::NoChange,
            Applied::Flagged { .. } => EventOutcome::Flagged,
            Applied::UnknownPayment => EventOutcome::UnknownPayment,
            Applied::Ignored => EventOutcome::Ignored,
            Applied::RefundReported => EventOutcome::RefundReported,
            Applied::AccountReported => EventOutcome::AccountReported,
        })
    }

    /// The outcome as the webhook acknowledges it.
    pub fn outcome(&self) -> &'static str {
        self.stored_outcome()
            .map_or("duplicate", EventOutcome::as_str)
    }
}

/// Lists a new pledge among those waiting for their payment (`pending_pledges`), in the
/// transaction that creates it.
pub fn list_pending(
    conn: &mut DbConnection,
    pledge_id: &str,
    created_at: chrono::NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(pending_pledges::table)
        .values((
            pending_pledges::pledge_id.eq(pledge_id),
            pending_pledges::created_at.eq(created_at),
            pending_pledges::checked_at.eq(created_at),
        ))
        .execute(conn)
        .map(drop)
}

/// Takes a pledge off `pending_pledges`, in the transaction that moves it out of `pending`.
fn no_longer_pending(conn: &mut DbConnection, pledge_id: &str) -> QueryResult<()> {
    diesel::delete(pending_pledges::table.find(pledge_id))
        .execute(conn)
        .map(drop)
}

pub fn facts_of(p: &PledgeRow) -> PledgeFacts {
    PledgeFacts {
        amount: p.amount,
        paid: p.paid,
        failed: p.failed,
        canceled: p.canceled,
        expired: p.expired,
        refunded: p.refunded_amount,
        dispute: p.dispute,
        processing: p.processing,
    }
}

fn store_event(
    conn: &mut DbConnection,
    ev: &ProviderEvent,
    pledge_id: Option<&str>,
    outcome: EventOutcome,
    payload: &str,
) -> QueryResult<()> {
    let insert = diesel::insert_into(provider_events::table).values(ProviderEventRow {
        id: ev.id.clone(),
        type_: ev.kind.clone(),
        payment_id: ev.payment_id.clone(),
        pledge_id: pledge_id.map(str::to_string),
        outcome,
        payload: payload.to_string(),
        received_at: now(),
    });
    cached::execute(conn, insert)?;
    Ok(())
}

/// Reads and locks one pledge row. On PostgreSQL `FOR NO KEY UPDATE` makes concurrent
/// deliveries for the same payment queue here (and, unlike `FOR UPDATE`, does not block the
/// key-share lock a refund's foreign key takes: a cancellation holding the campaign and
/// queueing this pledge's refund would otherwise deadlock with it); on SQLite the write transaction (`BEGIN IMMEDIATE`) already
/// excludes every other writer.
fn lock_pledge(conn: &mut DbConnection, by: PledgeKey<'_>) -> QueryResult<Option<PledgeRow>> {
    macro_rules! locked {
        ($filter:expr) => {{
            let rows = pledges::table.filter($filter);
            match conn {
                DbConnection::Postgresql(c) => rows
                    .select(PledgeRow::as_select())
                    .for_no_key_update()
                    .first(c)
                    .optional(),
                DbConnection::Sqlite(c) => rows.select(PledgeRow::as_select()).first(c).optional(),
            }
        }};
    }
    match by {
        PledgeKey::Id(id) => locked!(pledges::id.eq(id)),
        PledgeKey::PaymentId(pi) => locked!(pledges::provider_payment_id.eq(pi)),
    }
}

enum PledgeKey<'a> {
    Id(&'a str),
    PaymentId(&'a str),
}

/// The pledge an event is about, locked: by payment id, else by the metadata hint.
fn find_pledge(conn: &mut DbConnection, ev: &ProviderEvent) -> QueryResult<Option<PledgeRow>> {
    if let Some(pi) = &ev.payment_id
        && let Some(found) = lock_pledge(conn, PledgeKey::PaymentId(pi))?
    {
        return Ok(Some(found));
    }
    if let Some(hint) = &ev.pledge_hint
        && let Some(p) = lock_pledge(conn, PledgeKey::Id(hint))?
        && hint_fits(&p, ev)
    {
        return Ok(Some(p));
    }
    Ok(None)
}

/// The webhook can beat the write of the payment id, so an event may name its pledge by the
/// metadata hint only: that pledge is the event's unless it belongs to another payment.
fn hint_fits(p: &PledgeRow, ev: &ProviderEvent) -> bool {
    p.provider_payment_id.is_none() || p.provider_payment_id == ev.payment_id
}

/// Applies a verified provider event. Safe under concurrent and duplicated deliveries. On
/// PostgreSQL a plain confirmation is written in one statement, not batched with others (see
/// [`apply_arriving_event`] for that).
pub fn apply_event(
    conn: &mut DbConnection,
    ev: &ProviderEvent,
    payload: &str,
) -> Result<Applied, DbError> {
    if let DbConnection::Postgresql(_) = conn {
        // A pledge moved by a concurrent delivery between our read and our write: read again.
        for _ in 0..8 {
            match confirm_in_one_statement(conn, ev, payload) {
                Ok(Fast::Done(applied)) => return Ok(applied),
                Ok(Fast::NotApplicable) => break,
                Ok(Fast::Raced) => continue,
                Err(e) if is_duplicate_event(&e) => return Ok(Applied::Duplicate),
                Err(e) => return Err(e.into()),
            }
        }
    }
    apply_event_transactional(conn, ev, payload)
}

/// [`apply_event`] without PostgreSQL's one-statement path: the event applied in one
/// transaction of its own, as SQLite always does (tests run both paths against one model).
pub fn apply_event_transactional(
    conn: &mut DbConnection,
    ev: &ProviderEvent,
    payload: &str,
) -> Result<Applied, DbError> {
    let result = write_tx(conn, |conn| apply_event_within(conn, ev, payload));
    match result {
        Ok(a) => Ok(a),
        Err(e) if is_duplicate_event(&e) => Ok(Applied::Duplicate),
        Err(e) => Err(e.into()),
    }
}

/// Applies a verified event in the caller's transaction (a bank credit is booked in the
/// same one). A duplicate event id fails the transaction.
pub fn apply_event_within(
    conn: &mut DbConnection,
    ev: &ProviderEvent,
    payload: &str,
) -> QueryResult<Applied> {
    if let Some(report) = &ev.refund {
        let pledge = find_pledge(conn, ev)?;
        let pledge_id = pledge.as_ref().map(|p| p.id.as_str());
        refund_reported(conn, report)?;
        store_event(conn, ev, pledge_id, EventOutcome::RefundReported, payload)?;
        return Ok(Applied::RefundReported);
    }
    if let Some(report) = &ev.account {
        // Stored first: a replayed event is refused by the event's unique id.
        store_event(conn, ev, None, EventOutcome::AccountReported, payload)?;
        crate::db::crowd::set_account_status(
            conn,
            &report.account_id,
            report.status,
            report.created,
        )?;
        return Ok(Applied::AccountReported);
    }
    let Some(event) = &ev.event else {
        store_event(conn, ev, None, EventOutcome::Ignored, payload)?;
        return Ok(Applied::Ignored);
    };
    let Some(pledge) = find_pledge(conn, ev)? else {
        store_event(conn, ev, None, EventOutcome::UnknownPayment, payload)?;
        return Ok(Applied::UnknownPayment);
    };
    apply_recording(
        conn,
        pledge,
        event,
        ev.payment_id.as_deref(),
        Some((ev, payload)),
    )
}

/// [`apply_event`] for an event announced to its database's group commit when it started
/// arriving (the webhook does so before it verifies the signature): on PostgreSQL a plain
/// confirmation joins a batch, waiting without holding a thread or a connection; anything
/// else, or a confirmation whose batch failed, goes through [`apply_event`].
pub async fn apply_arriving_event(
    db: &crate::db::Db,
    ev: ProviderEvent,
    payload: String,
    arriving: group_commit::Arriving,
) -> Result<Applied, DbError> {
    if let Some(group) = arriving.group()
        && batchable(&ev)
    {
        let mut arriving = Some(arriving);
        // A pledge moved by a concurrent delivery between the read and the write: again.
        for _ in 0..8 {
            let announced = arriving.take().unwrap_or_else(|| group.arriving());
            let request = group_commit::Request {
                event: ev.clone(),
                payload: payload.clone(),
            };
            match group.submit(request, process, announced).await {
                Ok(group_commit::Confirmation::Planned {
                    pledge_id,
                    status,
                    outcome: group_commit::Outcome::Applied(_),
                }) => {
                    // A confirmation only adds money: it never frees budget.
                    return Ok(Applied::Applied {
                        pledge_id,
                        status,
                        changed: true,
                        freed_fund: None,
                    });
                }
                Ok(group_commit::Confirmation::Planned { .. }) => continue,
                Ok(group_commit::Confirmation::NotApplicable) | Err(()) => break,
            }
        }
    } else {
        // Not for a batch: withdraw the announcement now, so no leader waits for it while the
        // transactional path runs.
        drop(arriving);
    }
    // An event changes no cached data but its campaigns' rows.
    db.run_for_campaigns(move |conn| apply_event(conn, &ev, &payload))
        .await
}

/// Whether an event may be a plain confirmation (the only kind a batch carries).
fn batchable(ev: &ProviderEvent) -> bool {
    ev.event.is_some() && (ev.payment_id.is_some() || ev.pledge_hint.is_some())
}

/// The provider event's id is already stored: this delivery is a duplicate.
fn is_duplicate_event(e: &DieselError) -> bool {
    matches!(e, DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info)
        if info.table_name().is_none_or(|t| t == "provider_events")
            && (info.message().contains("provider_events")
                || info
                    .constraint_name()
                    .is_some_and(|c| c.contains("provider_events"))))
}

enum Fast {
    Done(Applied),
    /// Not a plain confirmation: the transactional path handles it.
    NotApplicable,
    /// The pledge changed after it was read.
    Raced,
}

/// PostgreSQL's path for the common event, a payment that starts counting, run alone (a batch
/// of one; [`apply_arriving_event`] batches): the pledge is read, its new facts computed
/// ([`plan_confirmation`]) and written in one statement that applies only where the facts are
/// still those that were read (see [`group_commit`]). In the same transaction, under the
/// campaign row that statement locked, a confirmation that crosses the threshold reserves its
/// match and money for a failed or cancelled campaign is queued for refund: nothing can decide
/// a campaign between its crossing and its reservation.
fn confirm_in_one_statement(
    conn: &mut DbConnection,
    ev: &ProviderEvent,
    payload: &str,
) -> QueryResult<Fast> {
    if !batchable(ev) || !matches!(conn, DbConnection::Postgresql(_)) {
        return Ok(Fast::NotApplicable);
    }
    let request = group_commit::Request {
        event: ev.clone(),
        payload: payload.to_string(),
    };
    let (pledge_id, status) = match confirm_alone(conn, &request)? {
        group_commit::Confirmation::NotApplicable => return Ok(Fast::NotApplicable),
        group_commit::Confirmation::Planned {
            pledge_id,
            status,
            outcome,
        } => match outcome {
            group_commit::Outcome::Applied(_) => (pledge_id, status),
            group_commit::Outcome::Raced => return Ok(Fast::Raced),
        },
    };
    crate::db::bump_write_epoch();
    Ok(Fast::Done(Applied::Applied {
        pledge_id,
        status,
        changed: true,
        freed_fund: None,
    }))
}

/// The pledge an event is about among `rows` (read by payment id and by hint), chosen as
/// [`find_pledge`] does.
fn pick_pledge<'a>(rows: &'a [PledgeRow], ev: &ProviderEvent) -> Option<&'a PledgeRow> {
    let by_payment = ev.payment_id.as_ref().and_then(|pi| {
        rows.iter()
            .find(|p| p.provider_payment_id.as_ref() == Some(pi))
    });
    by_payment.or_else(|| {
        let hint = ev.pledge_hint.as_ref()?;
        rows.iter().find(|p| p.id == *hint && hint_fits(p, ev))
    })
}

/// The confirmation `ev` makes of `pledge` as read, or None when it is not a plain one (no
/// event, a flagged amount, no change, or money leaving): the transactional path handles those.
pub fn plan_confirmation(
    conn: &mut DbConnection,
    pledge: &PledgeRow,
    ev: &ProviderEvent,
    payload: &str,
) -> QueryResult<Option<group_commit::ConfirmJob>> {
    let Some(event) = &ev.event else {
        return Ok(None);
    };
    let before = facts_of(pledge);
    let Ok(after) = before.apply(event, pledge.currency.code()) else {
        return Ok(None);
    };
    let change = PledgeChange::new(pledge, &before, &after, ev.payment_id.as_deref());
    if !(change.delta > 0 && change.donor_change >= 0) {
        return Ok(None);
    }
    let listens = before.status() != after.status()
        && crate::notify::partner_listens(conn, &pledge.partner_id)?;
    let messages = crate::notify::pledge_change_messages(pledge, &before, &after, listens);
    Ok(Some(group_commit::ConfirmJob {
        pledge_id: pledge.id.clone(),
        status: change.status,
        facts: [after.paid, after.failed, after.canceled, after.expired],
        amount: pledge.amount,
        refunded: after.refunded,
        dispute: after.dispute,
        counted: after.counted(),
        confirmed_at: change.confirmed_at,
        payment_id: change.payment_id.map(str::to_string),
        event_id: ev.id.clone(),
        event_type: ev.kind.clone(),
        event_payment: ev.payment_id.clone(),
        event_payload: payload.to_string(),
        campaign_id: pledge.campaign_id.clone(),
        donor_key: pledge.donor_key.clone(),
        new_donor: change.donor_change > 0,
        delta: change.delta,
        was: [before.paid, before.failed, before.canceled, before.expired],
        was_refunded: before.refunded,
        was_dispute: before.dispute,
        messages,
    }))
}

/// Runs `request` alone on `conn`, in one statement (no batch): for callers outside a group.
pub fn confirm_alone(conn: &mut DbConnection, request: &Request) -> QueryResult<Confirmation> {
    Ok(process(conn, &[request], &mut || ())?.remove(0))
}

/// Reads the pledges of `requests` (one statement by payment id; a second, rare one for events
/// that name their pledge by metadata only), plans each confirmation and writes the plans in
/// one statement. A second request for a pledge already planned in this batch is answered
/// `Raced`: its caller submits it again and it is planned from the moved pledge.
pub fn process(
    conn: &mut DbConnection,
    requests: &[&Request],
    planned_all: &mut dyn FnMut(),
) -> QueryResult<Vec<Confirmation>> {
    let payments: Vec<&str> = requests
        .iter()
        .filter_map(|r| r.event.payment_id.as_deref())
        .collect();
    let mut rows: Vec<PledgeRow> = pledges::table
        .filter(pledges::provider_payment_id.eq_any(&payments))
        .select(PledgeRow::as_select())
        .load(conn)?;
    let hints: Vec<&str> = requests
        .iter()
        .filter(|r| pick_pledge(&rows, &r.event).is_none())
        .filter_map(|r| r.event.pledge_hint.as_deref())
        .collect();
    if !hints.is_empty() {
        rows.extend(
            pledges::table
                .filter(pledges::id.eq_any(&hints))
                .select(PledgeRow::as_select())
                .load(conn)?,
        );
    }
    let mut planned = HashSet::new();
    let mut plans = Vec::with_capacity(requests.len());
    for r in requests {
        let plan = match pick_pledge(&rows, &r.event) {
            Some(pledge) => plan_confirmation(conn, pledge, &r.event, &r.payload)?,
            None => None,
        };
        // Only the first plan for a pledge goes into the statement.
        plans.push(plan.map(|job| {
            let first = planned.insert(job.pledge_id.clone());
            (job, first)
        }));
    }
    planned_all();
    let jobs: Vec<&ConfirmJob> = plans
        .iter()
        .filter_map(|p| p.as_ref().filter(|(_, first)| *first).map(|(job, _)| job))
        .collect();
    let mut outcomes = match conn {
        DbConnection::Postgresql(_) if !jobs.is_empty() => {
            conn.transaction(|conn| -> QueryResult<Vec<Outcome>> {
                let DbConnection::Postgresql(pg) = conn else {
                    unreachable!("matched as PostgreSQL above")
                };
                let outcomes = confirm_together(pg, &jobs)?;
                follow_up(conn, &jobs, &outcomes)?;
                Ok(outcomes)
            })?
        }
        _ => Vec::new(),
    }
    .into_iter();
    let mut confirmations = Vec::with_capacity(plans.len());
    for plan in plans {
        confirmations.push(match plan {
            None => Confirmation::NotApplicable,
            Some((job, first)) => {
                let outcome = match first {
                    true => outcomes.next().unwrap_or(Outcome::Raced),
                    false => Outcome::Raced,
                };
                Confirmation::Planned {
                    pledge_id: job.pledge_id,
                    status: job.status,
                    outcome,
                }
            }
        });
    }
    Ok(confirmations)
}

/// What the batch's confirmations make the rules do, in the batch's transaction, under the
/// campaign rows the statement locked: a campaign that crossed its threshold reserves (or
/// queues) its match before anything can decide it, and money that arrived for a `failed` or
/// `cancelled` campaign is queued for refund — the same rules as the transactional path
/// (`payments::apply_recording`), through the same functions.
pub fn follow_up(
    conn: &mut DbConnection,
    jobs: &[&ConfirmJob],
    outcomes: &[Outcome],
) -> QueryResult<()> {
    let mut looked_at = HashSet::new();
    for (job, outcome) in jobs.iter().zip(outcomes) {
        let Outcome::Applied(campaign) = outcome else {
            continue;
        };
        if looked_at.insert(campaign.id.clone()) {
            if crate::app::matching::needs_rematch(conn, campaign)? {
                crate::app::matching::after_raised_change(conn, campaign)?;
            } else if campaign.status == crate::domain::campaign::CampaignStatus::Succeeded {
                // Late money: the crowd books follow (read after the whole batch applied).
                crate::app::crowd::after_money_changed(conn, campaign)?;
            }
        }
        crate::app::per_donation::after_pledge_change(conn, &job.pledge_id, Some(campaign))?;
        refund_late_money(conn, &job.pledge_id, job.counted, campaign.status)?;
    }
    // Receipts are queued, one insert for the batch; they are numbered after it commits.
    let mut donations = Vec::new();
    for (job, outcome) in jobs.iter().zip(outcomes) {
        if let Outcome::Applied(campaign) = outcome
            && job.facts[0]
            && !job.was[0]
        {
            donations.push((
                campaign.association_id.clone(),
                crate::app::receipts::Donation {
                    pledge_id: &job.pledge_id,
                    campaign_id: &job.campaign_id,
                    amount: job.amount,
                    currency: campaign.currency,
                    at: job.confirmed_at.unwrap_or_else(now),
                },
            ));
        }
    }
    crate::app::receipts::issue_all(conn, donations)?;
    Ok(())
}

/// Moves one pledge's facts with `event`, in the caller's transaction.
pub fn apply_to_pledge(
    conn: &mut DbConnection,
    pledge_id: &str,
    event: &PaymentEvent,
    payment_id: Option<&str>,
) -> QueryResult<Applied> {
    let pledge = lock_pledge(conn, PledgeKey::Id(pledge_id))?.ok_or(DieselError::NotFound)?;
    apply_recording(conn, pledge, event, payment_id, None)
}

/// Like [`apply_to_pledge`] on a pledge already locked, storing the provider event (its id is
/// unique, so a duplicate rolls everything back) in the same transaction.
fn apply_recording(
    conn: &mut DbConnection,
    pledge: PledgeRow,
    event: &PaymentEvent,
    payment_id: Option<&str>,
    record: Option<(&ProviderEvent, &str)>,
) -> QueryResult<Applied> {
    let pledge_id = pledge.id.as_str();
    let record_as = |conn: &mut DbConnection, outcome: EventOutcome| -> QueryResult<()> {
        match record {
            Some((ev, payload)) => store_event(conn, ev, Some(pledge_id), outcome, payload),
            None => Ok(()),
        }
    };
    let before = facts_of(&pledge);
    let after = match before.apply(event, pledge.currency.code()) {
        Ok(f) => f,
        Err(rejected) => {
            let crate::domain::pledge::Rejected::Mismatch {
                got_amount,
                got_currency,
                ..
            } = &rejected;
            diesel::update(pledges::table.find(pledge_id))
                .set((
                    pledges::flagged_reason.eq(Some(rejected.to_string())),
                    pledges::flagged_amount.eq(Some(*got_amount)),
                    pledges::flagged_currency.eq(Some(got_currency.clone())),
                    pledges::updated_at.eq(now()),
                ))
                .execute(conn)?;
            tracing::warn!(pledge_id, reason = %rejected, "payment flagged for reconciliation");
            record_as(conn, EventOutcome::Flagged)?;
            return Ok(Applied::Flagged {
                pledge_id: pledge_id.to_string(),
            });
        }
    };
    if let PaymentEvent::Refunded { amount_refunded } = event {
        // The provider reports the charge's refunds: a refund of ours that it covers is done.
        refund_covered(conn, pledge_id, *amount_refunded)?;
    }
    if after == before {
        record_as(conn, EventOutcome::NoChange)?;
        return Ok(Applied::Applied {
            pledge_id: pledge_id.to_string(),
            status: pledge.status,
            changed: false,
            freed_fund: None,
        });
    }
    let change = PledgeChange::new(&pledge, &before, &after, payment_id);
    let listens = before.status() != after.status()
        && crate::notify::partner_listens(conn, &pledge.partner_id)?;
    let messages = crate::notify::pledge_change_messages(&pledge, &before, &after, listens);
    let update = diesel::update(pledges::table.find(pledge_id)).set((
        pledges::status.eq(change.status),
        pledges::paid.eq(after.paid),
        pledges::failed.eq(after.failed),
        pledges::canceled.eq(after.canceled),
        pledges::expired.eq(after.expired),
        pledges::refunded_amount.eq(after.refunded),
        pledges::dispute.eq(after.dispute),
        pledges::processing.eq(after.processing),
        pledges::counted_amount.eq(after.counted()),
        pledges::confirmed_at.eq(change.confirmed_at),
        pledges::provider_payment_id.eq(change.payment_id),
        pledges::updated_at.eq(now()),
    ));
    cached::execute(conn, update)?;
    if change.status != PledgeStatus::Pending {
        no_longer_pending(conn, pledge_id)?;
    }
    crate::notify::insert_all(conn, messages)?;
    record_as(conn, EventOutcome::Applied)?;
    let (freed_fund, campaign) = if change.delta != 0 || change.donor_change != 0 {
        let (campaign, freed) = count_change(
            conn,
            &pledge.campaign_id,
            change.delta,
            &pledge.donor_key,
            change.donor_change,
        )?;
        crate::app::per_donation::after_pledge_change(conn, pledge_id, Some(&campaign))?;
        (freed, Some(campaign))
    } else {
        crate::app::per_donation::after_pledge_change(conn, pledge_id, None)?;
        (None, None)
    };
    // Money that arrives (or comes back from a won dispute) for a campaign that can no longer
    // use it goes back to the donor.
    let money_came =
        change.delta > 0 || (after.dispute == Dispute::Won && before.dispute != Dispute::Won);
    if money_came && after.counted() > 0 {
        let status = match campaign.as_ref().map(|c| c.status) {
            Some(s) => s,
            None => campaigns::table
                .find(&pledge.campaign_id)
                .select(campaigns::status)
                .first::<CampaignStatus>(conn)?,
        };
        refund_late_money(conn, pledge_id, after.counted(), status)?;
    }
    // The receipt is queued for its number (`app::receipts`): no shared row is locked.
    if after.paid && !before.paid {
        crate::app::receipts::issue(
            conn,
            campaign.as_ref().map(|c| c.association_id.as_str()),
            crate::app::receipts::Donation {
                pledge_id,
                campaign_id: &pledge.campaign_id,
                amount: pledge.amount,
                currency: pledge.currency,
                at: change.confirmed_at.unwrap_or_else(now),
            },
        )?;
    }
    if after.status() != before.status() {
        crate::app::receipts::void_if_returned(conn, pledge_id, after.status())?;
    }
    Ok(Applied::Applied {
        pledge_id: pledge_id.to_string(),
        status: change.status,
        changed: true,
        freed_fund,
    })
}

impl<'a> PledgeChange<'a> {
    fn new(
        pledge: &'a PledgeRow,
        before: &PledgeFacts,
        after: &PledgeFacts,
        payment_id: Option<&'a str>,
    ) -> PledgeChange<'a> {
        PledgeChange {
            status: after.status(),
            confirmed_at: match (before.paid, after.paid) {
                (false, true) => Some(now()),
                _ => pledge.confirmed_at,
            },
            payment_id: pledge.provider_payment_id.as_deref().or(payment_id),
            delta: after.counted() - before.counted(),
            donor_change: match (before.counted() > 0, after.counted() > 0) {
                (false, true) => 1,
                (true, false) => -1,
                _ => 0,
            },
        }
    }
}

/// What a pledge's new facts change, beyond the facts themselves.
struct PledgeChange<'a> {
    status: PledgeStatus,
    confirmed_at: Option<chrono::NaiveDateTime>,
    payment_id: Option<&'a str>,
    /// Change of the pledge's counted amount, hence of the campaign's `raised`.
    delta: i64,
    /// +1 when the pledge starts counting for its donor, -1 when it stops.
    donor_change: i32,
}

/// Moves every pledge and per-campaign donor count filed under `old_key` (a donor's e-mail
/// hash) to a fresh random key, in the caller's transaction: once a donor is erased nothing
/// left in the database can be matched against their address, and distinct-donor counts stay
/// exactly as they were. Pledges are locked first, in id order (the order batches lock them),
/// then the counts; a batch that planned with the old key finds the pledge moved and re-plans
/// (see `PG_CONFIRM`). A later pledge from the same address is a new donor.
pub fn rekey_donor(conn: &mut DbConnection, old_key: &str) -> QueryResult<usize> {
    // The kind of identity stays (a tax code's gift still counts where only those do).
    let kind = if crate::domain::donor_identity::is_tax_code_key(old_key) {
        crate::domain::donor_identity::TAX_CODE_PREFIX
    } else {
        ""
    };
    let fresh = format!("{kind}erased-{}", uuid::Uuid::new_v4().simple());
    let mine = pledges::table
        .filter(pledges::donor_key.eq(old_key))
        .order(pledges::id)
        .select(pledges::id);
    let locked: Vec<String> = match conn {
        DbConnection::Postgresql(c) => mine.for_update().load(c)?,
        DbConnection::Sqlite(c) => mine.load(c)?,
    };
    if locked.is_empty() {
        return Ok(0);
    }
    let moved = diesel::update(pledges::table.filter(pledges::donor_key.eq(old_key)))
        .set(pledges::donor_key.eq(&fresh))
        .execute(conn)?;
    diesel::update(campaign_donors::table.filter(campaign_donors::donor_key.eq(old_key)))
        .set(campaign_donors::donor_key.eq(&fresh))
        .execute(conn)?;
    Ok(moved)
}

/// Adds `delta` to a campaign's `raised` and keeps its distinct-donor count, then applies the
/// matching rule. The donor row comes first and the campaign row last, the same order as
/// [`PG_CONFIRM`], so the hot campaign's lock is held only for the matching rule and the
/// commit. Returns the fund whose budget a revoked match freed.
fn count_change(
    conn: &mut DbConnection,
    campaign_id: &str,
    delta: i64,
    donor_key: &str,
    donor_change: i32,
) -> QueryResult<(CampaignRow, Option<String>)> {
    let key = campaign_donors::table.find((campaign_id, donor_key));
    let mut donors_delta = 0;
    if donor_change > 0 {
        let bumped = cached::execute(
            conn,
            diesel::update(key).set(campaign_donors::pledges.eq(campaign_donors::pledges + 1)),
        )?;
        if bumped == 0 {
            let insert = diesel::insert_into(campaign_donors::table)
                .values((
                    campaign_donors::campaign_id.eq(campaign_id),
                    campaign_donors::donor_key.eq(donor_key),
                    campaign_donors::pledges.eq(1),
                ))
                .on_conflict_do_nothing();
            let inserted = cached::execute(conn, insert)?;
            if inserted == 1 {
                donors_delta = 1;
            } else {
                // Another transaction counted this donor first.
                diesel::update(key)
                    .set(campaign_donors::pledges.eq(campaign_donors::pledges + 1))
                    .execute(conn)?;
            }
        }
    } else if donor_change < 0 {
        let left: Option<i32> = diesel::update(key)
            .set(campaign_donors::pledges.eq(campaign_donors::pledges - 1))
            .returning(campaign_donors::pledges)
            .get_result(conn)
            .optional()?;
        if left == Some(0) {
            diesel::delete(key).execute(conn)?;
            donors_delta = -1;
        }
    }
    let campaign: CampaignRow = cached::get_result(
        conn,
        diesel::update(campaigns::table.find(crate::db::changing_campaign(campaign_id)))
            .set((
                campaigns::raised.eq(campaigns::raised + delta),
                campaigns::donors.eq(campaigns::donors + donors_delta),
            ))
            .returning(campaigns::all_columns),
    )?;
    let effect = matching::after_raised_change(conn, &campaign)?;
    let freed = effect.freed.then(|| campaign.fund_id.clone());
    Ok((campaign, freed))
}

/// Queues the refund of money that arrived for a `failed` or `cancelled` campaign (late money),
/// in the transaction that counted it; at most one refund per pledge. Returns whether one was
/// queued.
pub fn refund_late_money(
    conn: &mut DbConnection,
    pledge_id: &str,
    amount: i64,
    campaign_status: CampaignStatus,
) -> QueryResult<bool> {
    if !campaign_status.refunds_arriving_money() || amount <= 0 {
        return Ok(false);
    }
    let queued = matching::queue_refund(
        conn,
        pledge_id,
        amount,
        &format!("payment arrived for a {campaign_status} campaign"),
    )?;
    if queued {
        tracing::info!(pledge_id, %campaign_status, "late payment: refund queued");
    }
    Ok(queued)
}

/// A `charge.refunded` report: our pending refund of this pledge is done once the charge's
/// cumulative refunded amount covers it.
fn refund_covered(
    conn: &mut DbConnection,
    pledge_id: &str,
    amount_refunded: i64,
) -> QueryResult<()> {
    diesel::update(
        refunds::table
            .filter(refunds::pledge_id.eq(pledge_id))
            .filter(refunds::status.eq(RefundStatus::Pending))
            .filter(refunds::amount.le(amount_refunded)),
    )
    .set((
        refunds::status.eq(RefundStatus::Succeeded),
        refunds::last_error.eq(None::<String>),
        refunds::updated_at.eq(now()),
    ))
    .execute(conn)
    .map(drop)
}

/// A `refund.updated` / `refund.failed` report: the refund (found by the provider's id, else
/// by our idempotency key in its metadata; a refund made outside cofund is only stored) moves
/// as the provider says. Only a pending refund moves: a refund reported done stays done.
fn refund_reported(conn: &mut DbConnection, report: &RefundReport) -> QueryResult<()> {
    let mine = refunds::table
        .filter(
            refunds::provider_refund_id
                .eq(&report.refund_id)
                .or(refunds::idempotency_key.eq(report.key.as_deref().unwrap_or("-"))),
        )
        .select(refunds::id)
        .first::<String>(conn)
        .optional()?;
    let Some(id) = mine else {
        return Ok(());
    };
    let to = match report.status.as_str() {
        "succeeded" => RefundStatus::Succeeded,
        "failed" | "canceled" => RefundStatus::NeedsAttention,
        _ => {
            diesel::update(refunds::table.find(&id))
                .filter(refunds::status.eq(RefundStatus::Pending))
                .set((
                    refunds::provider_refund_id.eq(Some(&report.refund_id)),
                    refunds::updated_at.eq(now()),
                ))
                .execute(conn)?;
            return Ok(());
        }
    };
    let error = (to == RefundStatus::NeedsAttention)
        .then(|| format!("the provider reports the refund {}", report.status));
    diesel::update(refunds::table.find(&id))
        .filter(refunds::status.eq(RefundStatus::Pending))
        .set((
            refunds::status.eq(to),
            refunds::provider_refund_id.eq(Some(&report.refund_id)),
            refunds::last_error.eq(error),
            refunds::updated_at.eq(now()),
        ))
        .execute(conn)?;
    if to == RefundStatus::NeedsAttention {
        tracing::warn!(refund_id = %id, status = %report.status, "refund failed at the provider; needs attention");
    }
    Ok(())
}

/// What [`refund_flagged`] did.
#[derive(Debug)]
pub enum FlaggedRefund {
    /// Queued now (`true`), or already queued by an earlier request (the same refund).
    Queued(Box<RefundRow>, bool),
    /// The pledge has no flagged payment to give back.
    NotFlagged,
    /// The pledge already has a refund of another kind.
    OtherRefund,
    NotFound,
}

/// The reason written on a flagged payment's refund (also how it is recognised again).
pub const FLAGGED_REFUND_REASON: &str = "flagged payment returned by the finance office";

/// Queues the refund of a flagged payment (an amount or currency that did not match its
/// pledge, never counted) for what the provider reported it brought in. Idempotent: asked
/// again, the same refund is returned. Runs in the caller's transaction, under the pledge's
/// row lock.
pub fn refund_flagged(conn: &mut DbConnection, pledge_id: &str) -> QueryResult<FlaggedRefund> {
    let Some(pledge) = lock_pledge(conn, PledgeKey::Id(pledge_id))? else {
        return Ok(FlaggedRefund::NotFound);
    };
    let existing: Option<RefundRow> = refunds::table
        .filter(refunds::pledge_id.eq(pledge_id))
        .select(RefundRow::as_select())
        .first(conn)
        .optional()?;
    if let Some(r) = existing {
        return Ok(match r.reason == FLAGGED_REFUND_REASON {
            true => FlaggedRefund::Queued(Box::new(r), false),
            false => FlaggedRefund::OtherRefund,
        });
    }
    let received = match (&pledge.flagged_reason, pledge.flagged_amount) {
        (Some(_), Some(received)) if received > 0 && pledge.counted_amount == 0 => received,
        _ => return Ok(FlaggedRefund::NotFlagged),
    };
    matching::queue_refund(conn, pledge_id, received, FLAGGED_REFUND_REASON)?;
    let queued = refunds::table
        .filter(refunds::pledge_id.eq(pledge_id))
        .select(RefundRow::as_select())
        .first(conn)?;
    Ok(FlaggedRefund::Queued(Box::new(queued), true))
}

diesel::define_sql_function! {
    /// SQL `lower(text)`, on both backends.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// Removes what the service stored of a donor beside the donor row, in the caller's
/// transaction: their pledges' messages (free text, often signed), the resolved address on
/// e-mails already sent to them and any error text of those e-mails, and whatever their
/// payments' provider events still carry beyond the money fields. Returns the rows touched.
pub fn erase_donor_traces(
    conn: &mut DbConnection,
    email: &str,
    pledge_ids: &[String],
) -> QueryResult<usize> {
    use crate::db::schema::outbox;
    let mut touched = diesel::update(pledges::table.filter(pledges::id.eq_any(pledge_ids)))
        .filter(pledges::message.is_not_null())
        .set(pledges::message.eq(None::<String>))
        .execute(conn)?;
    let intents: Vec<String> = pledge_ids
        .iter()
        .map(|id| format!("{}{id}", crate::notify::DONOR_PREFIX))
        .collect();
    // Sent e-mails keep the address they went to (for per-recipient limits): it goes.
    touched += diesel::update(outbox::table.filter(lower(outbox::recipient).eq(email)))
        .set((
            outbox::recipient.eq("erased"),
            outbox::last_error.eq(None::<String>),
        ))
        .execute(conn)?;
    // Queued ones name only the pledge (the dispatcher finds the donor erased and sends
    // nothing); an error text from an earlier attempt may quote the address.
    touched += diesel::update(outbox::table.filter(outbox::recipient.eq_any(&intents)))
        .filter(outbox::last_error.is_not_null())
        .set(outbox::last_error.eq(None::<String>))
        .execute(conn)?;
    // The bank credits that paid them keep no debtor data.
    touched += crate::db::bank::erase_debtors(conn, pledge_ids)?;
    // Links to their own receipts were keyed by the address: they go too.
    touched += crate::db::receipt_links::forget_pledges(conn, pledge_ids)?;
    let events: Vec<(String, String)> = provider_events::table
        .filter(provider_events::pledge_id.eq_any(pledge_ids))
        .select((provider_events::id, provider_events::payload))
        .load(conn)?;
    for (id, payload) in events {
        let kept = crate::providers::events::minimal_payload(payload.as_bytes());
        if kept != payload {
            diesel::update(provider_events::table.find(&id))
                .set(provider_events::payload.eq(kept))
                .execute(conn)?;
            touched += 1;
        }
    }
    Ok(touched)
}
