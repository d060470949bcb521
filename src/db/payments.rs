//! The payment hot path: one provider event applied in one transaction — the event id stored
//! (unique) with its effect, the pledge's facts moved forward, the campaign's `raised`/`donors`
//! updated, and the matching rule applied. Row locks are taken in one order everywhere:
//! pledge, campaign, fund.

use super::matching::{self, Effect};
use super::models::{PledgeRow, ProviderEventRow};
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

fn find_pledge(conn: &mut DbConnection, ev: &ProviderEvent) -> QueryResult<Option<String>> {
    if let Some(pi) = &ev.payment_id {
        let found: Option<String> = pledges::table
            .filter(pledges::provider_payment_id.eq(pi))
            .select(pledges::id)
            .first(conn)
            .optional()?;
        if found.is_some() {
            return Ok(found);
        }
    }
    // The webhook can beat the write of the payment id: fall back to the metadata.
    if let Some(hint) = &ev.pledge_hint {
        let p: Option<(String, Option<String>)> = pledges::table
            .find(hint)
            .select((pledges::id, pledges::provider_payment_id))
            .first(conn)
            .optional()?;
        if let Some((id, stored)) = p
            && (stored.is_none() || stored == ev.payment_id)
        {
            return Ok(Some(id));
        }
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
        let Some(pledge_id) = find_pledge(conn, ev)? else {
            store_event(conn, ev, None, "unknown_payment", payload)?;
            return Ok(Applied::UnknownPayment);
        };
        apply_recording(
            conn,
            &pledge_id,
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
    apply_recording(conn, pledge_id, event, payment_id, None)
}

/// Like [`apply_to_pledge`], storing the provider event (its id is unique) before the campaign
/// row is locked, so the hot campaign's lock is held as briefly as possible.
fn apply_recording(
    conn: &mut DbConnection,
    pledge_id: &str,
    event: &PaymentEvent,
    payment_id: Option<&str>,
    record: Option<(&ProviderEvent, &str)>,
) -> QueryResult<Applied> {
    let record = |conn: &mut DbConnection, outcome: &str| -> QueryResult<()> {
        match record {
            Some((ev, payload)) => store_event(conn, ev, Some(pledge_id), outcome, payload),
            None => Ok(()),
        }
    };
    // Lock the pledge row and read it in one statement, so concurrent deliveries queue up here.
    let pledge: PledgeRow = diesel::update(pledges::table.find(pledge_id))
        .set(pledges::updated_at.eq(now()))
        .get_result::<PledgeRow>(conn)?;
    let before = facts_of(&pledge);
    let after = match before.apply(event, &pledge.currency) {
        Ok(f) => f,
        Err(rejected) => {
            diesel::update(pledges::table.find(pledge_id))
                .set(pledges::flagged_reason.eq(Some(rejected.to_string())))
                .execute(conn)?;
            tracing::warn!(pledge_id, reason = %rejected, "payment flagged for reconciliation");
            record(conn, "flagged")?;
            return Ok(Applied::Flagged {
                pledge_id: pledge_id.to_string(),
            });
        }
    };
    if after == before {
        record(conn, "no_change")?;
        return Ok(Applied::Applied {
            pledge_id: pledge_id.to_string(),
            status: pledge.status,
            changed: false,
            freed_fund: None,
        });
    }
    let status = after.status().as_str().to_string();
    let confirmed_at = match (before.paid, after.paid) {
        (false, true) => Some(now()),
        _ => pledge.confirmed_at,
    };
    diesel::update(pledges::table.find(pledge_id))
        .set((
            pledges::status.eq(&status),
            pledges::paid.eq(after.paid),
            pledges::failed.eq(after.failed),
            pledges::canceled.eq(after.canceled),
            pledges::expired.eq(after.expired),
            pledges::refunded_amount.eq(after.refunded),
            pledges::dispute.eq(after.dispute.as_str()),
            pledges::counted_amount.eq(after.counted()),
            pledges::confirmed_at.eq(confirmed_at),
            pledges::provider_payment_id.eq(pledge.provider_payment_id.as_deref().or(payment_id)),
        ))
        .execute(conn)?;
    let delta = after.counted() - before.counted();
    let donor_change = match (before.counted() > 0, after.counted() > 0) {
        (false, true) => 1,
        (true, false) => -1,
        _ => 0,
    };
    crate::notify::pledge_changed(conn, &pledge, &before, &after)?;
    record(conn, "applied")?;
    let mut freed_fund = None;
    if delta != 0 || donor_change != 0 {
        let effect = count_change(
            conn,
            &pledge.campaign_id,
            delta,
            &pledge.donor_key,
            donor_change,
        )?;
        if effect.freed {
            freed_fund = Some(
                campaigns::table
                    .find(&pledge.campaign_id)
                    .select(campaigns::fund_id)
                    .first(conn)?,
            );
        }
    }
    Ok(Applied::Applied {
        pledge_id: pledge_id.to_string(),
        status,
        changed: true,
        freed_fund,
    })
}

/// Adds `delta` to a campaign's `raised` and keeps its distinct-donor count, then applies the
/// matching rule. The first UPDATE takes the campaign row lock; everything after is short.
fn count_change(
    conn: &mut DbConnection,
    campaign_id: &str,
    delta: i64,
    donor_key: &str,
    donor_change: i32,
) -> QueryResult<Effect> {
    let mut campaign: crate::db::models::CampaignRow =
        diesel::update(campaigns::table.find(campaign_id))
            .set(campaigns::raised.eq(campaigns::raised + delta))
            .get_result::<crate::db::models::CampaignRow>(conn)?;
    let key = campaign_donors::table.find((campaign_id, donor_key));
    let mut donors_delta = 0;
    if donor_change > 0 {
        let n = diesel::update(key)
            .set(campaign_donors::pledges.eq(campaign_donors::pledges + 1))
            .execute(conn)?;
        if n == 0 {
            diesel::insert_into(campaign_donors::table)
                .values((
                    campaign_donors::campaign_id.eq(campaign_id),
                    campaign_donors::donor_key.eq(donor_key),
                    campaign_donors::pledges.eq(1),
                ))
                .execute(conn)?;
            donors_delta = 1;
        }
    } else if donor_change < 0 {
        diesel::update(key)
            .set(campaign_donors::pledges.eq(campaign_donors::pledges - 1))
            .execute(conn)?;
        let left: i32 = key.select(campaign_donors::pledges).first(conn)?;
        if left == 0 {
            diesel::delete(key).execute(conn)?;
            donors_delta = -1;
        }
    }
    if donors_delta != 0 {
        diesel::update(campaigns::table.find(campaign_id))
            .set(campaigns::donors.eq(campaigns::donors + donors_delta))
            .execute(conn)?;
        campaign.donors += donors_delta;
    }
    matching::after_raised_change(conn, &campaign)
}
