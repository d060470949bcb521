//! The payment hot path: one provider event applied in one transaction — the event id stored
//! (unique) with its effect, the pledge's facts moved forward, the campaign's `raised`/`donors`
//! updated, and the matching rule applied. Row locks are taken in one order everywhere:
//! pledge, campaign, fund.

use super::matching;
use super::models::{CampaignRow, OutboxRow, PledgeRow, ProviderEventRow};
use super::schema::{campaign_donors, campaigns, pledges, provider_events};
use super::{DbConnection, DbError, write_tx};
use crate::domain::pledge::{Dispute, PaymentEvent, PledgeFacts};
use crate::http::views::now;
use crate::providers::events::ProviderEvent;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// This event id was applied before: nothing changed.
    Duplicate,
    /// The pledge moved (or already knew this fact); `freed_fund` has budget to hand out.
    Applied {
        pledge_id: String,
        status: String,
        changed: bool,
        freed_fund: Option<String>,
    },
    /// The amount or currency did not match the pledge: not counted, flagged.
    Flagged { pledge_id: String },
    /// No pledge for this payment: stored and acknowledged.
    UnknownPayment,
    /// An event type cofund does not act on: stored and acknowledged.
    Ignored,
}

impl Applied {
    pub fn outcome(&self) -> &'static str {
        match self {
            Applied::Duplicate => "duplicate",
            Applied::Applied { changed: true, .. } => "applied",
            Applied::Applied { changed: false, .. } => "no_change",
            Applied::Flagged { .. } => "flagged",
            Applied::UnknownPayment => "unknown_payment",
            Applied::Ignored => "ignored",
        }
    }
}

pub fn facts_of(p: &PledgeRow) -> PledgeFacts {
    PledgeFacts {
        amount: p.amount,
        paid: p.paid,
        failed: p.failed,
        canceled: p.canceled,
        expired: p.expired,
        refunded: p.refunded_amount,
        dispute: Dispute::parse(&p.dispute),
    }
}

fn store_event(
    conn: &mut DbConnection,
    ev: &ProviderEvent,
    pledge_id: Option<&str>,
    outcome: &str,
    payload: &str,
) -> QueryResult<()> {
    diesel::insert_into(provider_events::table)
        .values(ProviderEventRow {
            id: ev.id.clone(),
            type_: ev.kind.clone(),
            payment_id: ev.payment_id.clone(),
            pledge_id: pledge_id.map(str::to_string),
            outcome: outcome.to_string(),
            payload: payload.to_string(),
            received_at: now(),
        })
        .execute(conn)?;
    Ok(())
}

/// Reads and locks one pledge row. On PostgreSQL `FOR UPDATE` makes concurrent deliveries for
/// the same payment queue here; on SQLite the write transaction (`BEGIN IMMEDIATE`) already
/// excludes every other writer.
fn lock_pledge(conn: &mut DbConnection, by: PledgeKey<'_>) -> QueryResult<Option<PledgeRow>> {
    macro_rules! locked {
        ($filter:expr) => {{
            let rows = pledges::table.filter($filter);
            match conn {
                DbConnection::Postgresql(c) => rows
                    .select(PledgeRow::as_select())
                    .for_update()
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
    // The webhook can beat the write of the payment id: fall back to the metadata.
    if let Some(hint) = &ev.pledge_hint
        && let Some(p) = lock_pledge(conn, PledgeKey::Id(hint))?
        && (p.provider_payment_id.is_none() || p.provider_payment_id == ev.payment_id)
    {
        return Ok(Some(p));
    }
    Ok(None)
}

/// Applies a verified provider event. Safe under concurrent and duplicated deliveries.
pub fn apply_event(
    conn: &mut DbConnection,
    ev: &ProviderEvent,
    payload: &str,
) -> Result<Applied, DbError> {
    let result = write_tx(conn, |conn| -> QueryResult<Applied> {
        let Some(event) = &ev.event else {
            store_event(conn, ev, None, "ignored", payload)?;
            return Ok(Applied::Ignored);
        };
        let Some(pledge) = find_pledge(conn, ev)? else {
            store_event(conn, ev, None, "unknown_payment", payload)?;
            return Ok(Applied::UnknownPayment);
        };
        apply_recording(
            conn,
            pledge,
            event,
            ev.payment_id.as_deref(),
            Some((ev, payload)),
        )
    });
    match result {
        Ok(a) => Ok(a),
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info))
            if info.table_name().is_none_or(|t| t == "provider_events")
                && (info.message().contains("provider_events")
                    || info
                        .constraint_name()
                        .is_some_and(|c| c.contains("provider_events"))) =>
        {
            Ok(Applied::Duplicate)
        }
        Err(e) => Err(e.into()),
    }
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
    let record_as = |conn: &mut DbConnection, outcome: &str| -> QueryResult<()> {
        match record {
            Some((ev, payload)) => store_event(conn, ev, Some(pledge_id), outcome, payload),
            None => Ok(()),
        }
    };
    let before = facts_of(&pledge);
    let after = match before.apply(event, &pledge.currency) {
        Ok(f) => f,
        Err(rejected) => {
            diesel::update(pledges::table.find(pledge_id))
                .set(pledges::flagged_reason.eq(Some(rejected.to_string())))
                .execute(conn)?;
            tracing::warn!(pledge_id, reason = %rejected, "payment flagged for reconciliation");
            record_as(conn, "flagged")?;
            return Ok(Applied::Flagged {
                pledge_id: pledge_id.to_string(),
            });
        }
    };
    if after == before {
        record_as(conn, "no_change")?;
        return Ok(Applied::Applied {
            pledge_id: pledge_id.to_string(),
            status: pledge.status,
            changed: false,
            freed_fund: None,
        });
    }
    let change = PledgeChange {
        status: after.status().as_str(),
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
    };
    let listens = before.status() != after.status()
        && crate::notify::partner_listens(conn, &pledge.partner_id)?;
    let messages = crate::notify::pledge_change_messages(&pledge, &before, &after, listens);
    let freed_fund = match conn {
        // The common confirmation on PostgreSQL: everything in one round trip.
        DbConnection::Postgresql(pg) if change.delta > 0 && change.donor_change >= 0 => {
            let campaign = pg_confirm(pg, &pledge, &after, &change, &messages, record)?;
            let effect = matching::after_raised_change(conn, &campaign)?;
            effect.freed.then_some(campaign.fund_id)
        }
        _ => {
            diesel::update(pledges::table.find(pledge_id))
                .set((
                    pledges::status.eq(change.status),
                    pledges::paid.eq(after.paid),
                    pledges::failed.eq(after.failed),
                    pledges::canceled.eq(after.canceled),
                    pledges::expired.eq(after.expired),
                    pledges::refunded_amount.eq(after.refunded),
                    pledges::dispute.eq(after.dispute.as_str()),
                    pledges::counted_amount.eq(after.counted()),
                    pledges::confirmed_at.eq(change.confirmed_at),
                    pledges::provider_payment_id.eq(change.payment_id),
                    pledges::updated_at.eq(now()),
                ))
                .execute(conn)?;
            crate::notify::insert_all(conn, messages)?;
            record_as(conn, "applied")?;
            if change.delta != 0 || change.donor_change != 0 {
                count_change(
                    conn,
                    &pledge.campaign_id,
                    change.delta,
                    &pledge.donor_key,
                    change.donor_change,
                )?
            } else {
                None
            }
        }
    };
    Ok(Applied::Applied {
        pledge_id: pledge_id.to_string(),
        status: change.status.to_string(),
        changed: true,
        freed_fund,
    })
}

/// What a pledge's new facts change, beyond the facts themselves.
struct PledgeChange<'a> {
    status: &'static str,
    confirmed_at: Option<chrono::NaiveDateTime>,
    payment_id: Option<&'a str>,
    /// Change of the pledge's counted amount, hence of the campaign's `raised`.
    delta: i64,
    /// +1 when the pledge starts counting for its donor, -1 when it stops.
    donor_change: i32,
}

/// A confirmation on PostgreSQL in one statement (one round trip): the pledge's facts, the
/// provider event (unique id: a duplicate aborts the statement), its outbox messages, the
/// donor's count and, last, the campaign row, whose lock is then held only until commit.
/// Equivalent to the portable path in [`apply_recording`] for `delta > 0`, `donor_change >= 0`.
const PG_CONFIRM: &str = "WITH p AS (\
    UPDATE pledges SET status = $1, paid = $2, failed = $3, canceled = $4, expired = $5, \
    refunded_amount = $6, dispute = $7, counted_amount = $8, confirmed_at = $9, \
    provider_payment_id = $10, updated_at = $11 WHERE id = $12), \
ev AS (\
    INSERT INTO provider_events (id, type, payment_id, pledge_id, outcome, payload, received_at) \
    SELECT $13, $14, $15, $12, 'applied', $16, $11 WHERE $17), \
ob AS (\
    INSERT INTO outbox (id, channel, recipient, topic, locale, payload, status, attempts, \
    next_attempt_at, created_at) \
    SELECT m.id, m.channel, m.recipient, m.topic, m.locale, m.payload, 'pending', 0, $11, $11 \
    FROM unnest($18::text[], $19::text[], $20::text[], $21::text[], $22::text[], $23::text[]) \
    AS m(id, channel, recipient, topic, locale, payload)), \
d AS (\
    INSERT INTO campaign_donors (campaign_id, donor_key, pledges) SELECT $24, $25, 1 WHERE $26 \
    ON CONFLICT (campaign_id, donor_key) DO UPDATE SET pledges = campaign_donors.pledges + 1 \
    RETURNING (xmax = 0) AS inserted) \
UPDATE campaigns SET raised = raised + $27, \
    donors = donors + (SELECT count(*) FROM d WHERE inserted)::integer \
WHERE id = $24 RETURNING *";

fn pg_confirm(
    pg: &mut diesel::PgConnection,
    pledge: &PledgeRow,
    after: &PledgeFacts,
    change: &PledgeChange<'_>,
    messages: &[OutboxRow],
    record: Option<(&ProviderEvent, &str)>,
) -> QueryResult<CampaignRow> {
    use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamp};
    let column = |f: fn(&OutboxRow) -> &String| -> Vec<String> {
        messages.iter().map(|m| f(m).clone()).collect()
    };
    let (ev_id, ev_type, ev_payment, ev_payload) = match record {
        Some((ev, payload)) => (
            ev.id.as_str(),
            ev.kind.as_str(),
            ev.payment_id.as_deref(),
            payload,
        ),
        None => ("", "", None, ""),
    };
    diesel::sql_query(PG_CONFIRM)
        .bind::<Text, _>(change.status)
        .bind::<Bool, _>(after.paid)
        .bind::<Bool, _>(after.failed)
        .bind::<Bool, _>(after.canceled)
        .bind::<Bool, _>(after.expired)
        .bind::<BigInt, _>(after.refunded)
        .bind::<Text, _>(after.dispute.as_str())
        .bind::<BigInt, _>(after.counted())
        .bind::<Nullable<Timestamp>, _>(change.confirmed_at)
        .bind::<Nullable<Text>, _>(change.payment_id)
        .bind::<Timestamp, _>(now())
        .bind::<Text, _>(&pledge.id)
        .bind::<Text, _>(ev_id)
        .bind::<Text, _>(ev_type)
        .bind::<Nullable<Text>, _>(ev_payment)
        .bind::<Text, _>(ev_payload)
        .bind::<Bool, _>(record.is_some())
        .bind::<Array<Text>, _>(column(|m| &m.id))
        .bind::<Array<Text>, _>(column(|m| &m.channel))
        .bind::<Array<Text>, _>(column(|m| &m.recipient))
        .bind::<Array<Text>, _>(column(|m| &m.topic))
        .bind::<Array<Text>, _>(column(|m| &m.locale))
        .bind::<Array<Text>, _>(column(|m| &m.payload))
        .bind::<Text, _>(&pledge.campaign_id)
        .bind::<Text, _>(&pledge.donor_key)
        .bind::<Bool, _>(change.donor_change > 0)
        .bind::<BigInt, _>(change.delta)
        .get_result::<CampaignRow>(pg)
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
) -> QueryResult<Option<String>> {
    let key = campaign_donors::table.find((campaign_id, donor_key));
    let mut donors_delta = 0;
    if donor_change > 0 {
        let bumped = diesel::update(key)
            .set(campaign_donors::pledges.eq(campaign_donors::pledges + 1))
            .execute(conn)?;
        if bumped == 0 {
            let insert = diesel::insert_into(campaign_donors::table)
                .values((
                    campaign_donors::campaign_id.eq(campaign_id),
                    campaign_donors::donor_key.eq(donor_key),
                    campaign_donors::pledges.eq(1),
                ))
                .on_conflict_do_nothing();
            let inserted = match conn {
                DbConnection::Postgresql(c) => insert.execute(c)?,
                DbConnection::Sqlite(c) => insert.execute(c)?,
            };
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
    let campaign: CampaignRow = diesel::update(campaigns::table.find(campaign_id))
        .set((
            campaigns::raised.eq(campaigns::raised + delta),
            campaigns::donors.eq(campaigns::donors + donors_delta),
        ))
        .get_result(conn)?;
    let effect = matching::after_raised_change(conn, &campaign)?;
    Ok(effect.freed.then_some(campaign.fund_id))
}
