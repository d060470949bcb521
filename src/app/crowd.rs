//! The crowd ledger follows each succeeded campaign's money, in the transaction that changes
//! it: the decision, late money, refunds and lost disputes (`domain::crowd::plan` applied
//! through `db::crowd::post`), and a payout that did not leave. No `AppState` here: the
//! matching engine and the payment path call these inside their transactions; the payout
//! job and the bank batches are `app::payouts`.

use crate::db::crowd::{self, EntryRefs, PositionRow, ReversalRow, crowd_raised};
use crate::db::models::CampaignRow;
use crate::db::schema::{crowd_positions, payout_accounts, payout_reversals, payouts};
use crate::db::{DbConnection, DbError, write_tx};
use crate::domain::campaign::CampaignStatus;
use crate::domain::crowd::{
    CrowdMovement, PayoutAccountStatus, PayoutMethod, PayoutStatus, ReversalStatus,
};
use diesel::prelude::*;
use diesel::result::Error as DieselError;

/// The crowd books disagree with themselves: the transaction is rolled back.
pub fn books(what: &str) -> DieselError {
    DieselError::QueryBuilderError(format!("crowd books: {what}").into())
}

/// The campaign succeeded (in the deciding transaction): its crowd money is counted, the fee
/// (`COFUND_PLATFORM_FEE_RATIO`, fixed now for this campaign) kept, the rest made payable.
pub fn campaign_succeeded(
    conn: &mut DbConnection,
    campaign: &CampaignRow,
    fee_ratio: Option<rust_decimal::Decimal>,
) -> QueryResult<()> {
    crowd::open_position(
        conn,
        &campaign.id,
        &campaign.association_id,
        campaign.currency.code(),
        fee_ratio,
    )?;
    bring_in_line(conn, campaign)
}

/// The counted money of a decided campaign changed (late money, a refund, a lost dispute), in
/// that change's transaction. Nothing for a campaign that did not succeed: its money never
/// leaves (refunds follow the failure).
pub fn after_money_changed(conn: &mut DbConnection, campaign: &CampaignRow) -> QueryResult<()> {
    if campaign.status != CampaignStatus::Succeeded {
        return Ok(());
    }
    bring_in_line(conn, campaign)
}

/// Applies `domain::crowd::plan` to the campaign's position under its lock. A `Reverse`
/// opens a pending reversal for the payout job.
fn bring_in_line(conn: &mut DbConnection, campaign: &CampaignRow) -> QueryResult<()> {
    let Some(pos) = crowd::lock_position(conn, &campaign.id)? else {
        // Decided before crowd payouts existed: its money was settled outside cofund.
        return Ok(());
    };
    // Read again under the position's lock: the caller's copy may predate other changes
    // of the same transaction (a batch of confirmations).
    let campaign = &crate::db::campaigns::load_campaign(conn, &campaign.id)?;
    let raised = crowd_raised(conn, campaign)?;
    let moves = crate::domain::crowd::plan(pos.position(), raised, pos.fee_ratio());
    if moves.is_empty() {
        return Ok(());
    }
    let reversal = match moves.iter().find(|(m, _)| *m == CrowdMovement::Reverse) {
        Some(&(_, amount)) => Some(crowd::insert_reversal(conn, &campaign.id, None, amount)?),
        None => None,
    };
    let refs = EntryRefs {
        payout: None,
        reversal: reversal.as_ref().map(|r| r.id.as_str()),
    };
    crowd::post(conn, &pos, &moves, refs)?
        .map(drop)
        .ok_or_else(|| books("a planned movement was not covered"))
}

/// A payout that did not leave: its money is payable again. Reversals not yet given to a
/// transfer are cancelled first (the money they were to take back never left either).
pub fn fail_payout(conn: &mut DbConnection, payout_id: &str, why: &str) -> QueryResult<()> {
    let Some(p) = crowd::payout(conn, payout_id)? else {
        return Ok(());
    };
    let Some(mut pos) = crowd::lock_position(conn, &p.campaign_id)? else {
        return Err(books("a payout without a position"));
    };
    if !crowd::mark_failed(conn, payout_id, why)? {
        return Ok(());
    }
    let mut left = p.amount;
    let open: Vec<ReversalRow> = payout_reversals::table
        .filter(payout_reversals::campaign_id.eq(&p.campaign_id))
        .filter(payout_reversals::status.eq(ReversalStatus::Pending))
        .filter(payout_reversals::payout_id.is_null())
        .order(payout_reversals::created_at)
        .select(ReversalRow::as_select())
        .load(conn)?;
    for r in open {
        if left == 0 {
            break;
        }
        let take = left.min(r.amount);
        if take < r.amount {
            crowd::split_reversal(conn, &r, take)?;
        }
        crowd::finish_reversal(
            conn,
            &r.id,
            ReversalStatus::Cancelled,
            None,
            Some("the payout did not leave"),
        )?;
        let moved = crowd::post(
            conn,
            &pos,
            &[(CrowdMovement::Reversed, take)],
            EntryRefs {
                payout: Some(payout_id),
                reversal: Some(&r.id),
            },
        )?
        .ok_or_else(|| books("reversing moved under its lock"))?;
        pos = with_position(pos, moved);
        left -= take;
    }
    if left > 0 {
        let back = left.min(pos.paid_out);
        let moved = crowd::post(
            conn,
            &pos,
            &[(CrowdMovement::PayoutFailed, back)],
            EntryRefs {
                payout: Some(payout_id),
                reversal: None,
            },
        )?
        .ok_or_else(|| books("paid_out moved under its lock"))?;
        pos = with_position(pos, moved);
    }
    // What the cancelled reversals were for now comes off what is payable.
    let campaign = crate::db::campaigns::load_campaign(conn, &p.campaign_id)?;
    let raised = crowd_raised(conn, &campaign)?;
    let moves = crate::domain::crowd::plan(pos.position(), raised, pos.fee_ratio());
    if !moves.is_empty() {
        crowd::post(conn, &pos, &moves, EntryRefs::default())?
            .ok_or_else(|| books("a planned movement was not covered"))?;
    }
    crate::db::queries::audit_system(
        conn,
        "payout.failed",
        "payout",
        payout_id,
        Some(why.to_string()),
    )
}

pub fn with_position(mut row: PositionRow, p: crate::domain::crowd::Position) -> PositionRow {
    row.collected = p.collected;
    row.refunded = p.refunded;
    row.clearing = p.clearing;
    row.fees = p.fees;
    row.payable = p.payable;
    row.paid_out = p.paid_out;
    row.reversing = p.reversing;
    row.owed = p.owed;
    row
}

// ---- the payout job's steps (each in its caller's transaction; the provider calls are
// `app::payouts`) ----

/// At most this many campaigns per pass (the next pass takes the rest).
const PER_PASS: i64 = 200;

/// Payable money of associations with an active account, as one new pending transfer per
/// campaign (none while one is still pending).
pub fn start_transfers(conn: &mut DbConnection) -> Result<usize, DbError> {
    let candidates: Vec<(String, String)> = crowd_positions::table
        .inner_join(
            payout_accounts::table
                .on(payout_accounts::association_id.eq(crowd_positions::association_id)),
        )
        .filter(crowd_positions::payable.gt(0))
        .filter(payout_accounts::status.eq(PayoutAccountStatus::Active))
        .order(crowd_positions::updated_at)
        .limit(PER_PASS)
        .select((crowd_positions::campaign_id, payout_accounts::account_id))
        .load(conn)?;
    let mut started = 0;
    for (campaign_id, account_id) in candidates {
        let made = write_tx(conn, |conn| -> QueryResult<bool> {
            let Some(pos) = crowd::lock_position(conn, &campaign_id)? else {
                return Ok(false);
            };
            if pos.payable <= 0
                || has_pending_payout(conn, &campaign_id)?
                || refused_lately(conn, &campaign_id)?
            {
                return Ok(false);
            }
            let fee = fee_not_yet_shown(conn, &pos)?;
            let p = crowd::insert_payout(
                conn,
                &pos,
                pos.payable,
                fee,
                PayoutMethod::ProviderTransfer,
                &account_id,
                None,
            )?;
            crowd::post(
                conn,
                &pos,
                &[(CrowdMovement::PayOut, pos.payable)],
                EntryRefs {
                    payout: Some(p.id.as_str()),
                    reversal: None,
                },
            )?
            .ok_or_else(|| books("payable moved under its lock"))?;
            Ok(true)
        })?;
        started += usize::from(made);
    }
    Ok(started)
}

/// How long after the provider refused a campaign's transfer the job waits before trying
/// again (a refusal such as an insufficient balance is not retried on every pass).
pub const RETRY_REFUSED_AFTER: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// Whether the provider refused one of the campaign's transfers within [`RETRY_REFUSED_AFTER`].
fn refused_lately(conn: &mut DbConnection, campaign_id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        payouts::table
            .filter(payouts::campaign_id.eq(campaign_id))
            .filter(payouts::method.eq(PayoutMethod::ProviderTransfer))
            .filter(payouts::status.eq(PayoutStatus::Failed))
            .filter(payouts::updated_at.gt(crate::clock::now() - RETRY_REFUSED_AFTER)),
    ))
    .get_result(conn)
}

pub fn has_pending_payout(conn: &mut DbConnection, campaign_id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        payouts::table
            .filter(payouts::campaign_id.eq(campaign_id))
            .filter(payouts::status.eq(PayoutStatus::Pending)),
    ))
    .get_result(conn)
}

/// The part of the campaign's fee no earlier payout showed (the fee is kept as the money
/// comes in; each payout shows what was kept of the money it pays).
pub fn fee_not_yet_shown(conn: &mut DbConnection, pos: &PositionRow) -> QueryResult<i64> {
    let shown: Vec<i64> = payouts::table
        .filter(payouts::campaign_id.eq(&pos.campaign_id))
        .filter(payouts::status.ne(PayoutStatus::Failed))
        .select(payouts::fee)
        .load(conn)?;
    Ok((pos.fees - shown.iter().sum::<i64>()).max(0))
}

/// A transfer the provider made: the payout is paid (false when another replica's identical
/// call marked it first).
pub fn transfer_made(
    conn: &mut DbConnection,
    payout_id: &str,
    reference: &str,
) -> QueryResult<bool> {
    let done = crowd::mark_paid(conn, payout_id, reference, crate::clock::now())?;
    if done {
        notify_paid(conn, payout_id)?;
    }
    Ok(done)
}

fn notify_paid(conn: &mut DbConnection, payout_id: &str) -> QueryResult<()> {
    crate::db::queries::audit_system(conn, "payout.paid", "payout", payout_id, None)
}

pub enum ReversalStep {
    /// A transfer to reverse, with the (possibly cut) reversal.
    Reverse(ReversalRow, String),
    /// Nothing to do now (a payout of the campaign is still pending, or the row moved on).
    Wait,
    /// Settled without the provider (owed, or cancelled).
    Done(ReversalStatus),
}

pub fn reversal_step(conn: &mut DbConnection, id: &str) -> QueryResult<ReversalStep> {
    let Some(r) = crowd::reversal(conn, id)? else {
        return Ok(ReversalStep::Wait);
    };
    let Some(_pos) = crowd::lock_position(conn, &r.campaign_id)? else {
        return Err(books("a reversal without a position"));
    };
    // Read again under the lock: another replica may have moved it on.
    let Some(r) = crowd::reversal(conn, id)? else {
        return Ok(ReversalStep::Wait);
    };
    if r.status != ReversalStatus::Pending {
        return Ok(ReversalStep::Wait);
    }
    if let Some(payout_id) = &r.payout_id {
        let p = crowd::payout(conn, payout_id)?.ok_or_else(|| books("a reversal of no payout"))?;
        return Ok(match p.provider_reference {
            Some(t) => ReversalStep::Reverse(r, t),
            None => ReversalStep::Wait,
        });
    }
    let payouts = crowd::payouts_of_campaign(conn, &r.campaign_id)?;
    if payouts.iter().any(|p| p.status == PayoutStatus::Pending) {
        return Ok(ReversalStep::Wait);
    }
    // Room on each paid transfer: its amount less what was reversed or is being reversed.
    let assigned = crowd::reversals_of_campaign(conn, &r.campaign_id)?;
    let target = payouts
        .iter()
        .rev()
        .filter(|p| p.status == PayoutStatus::Paid && p.method == PayoutMethod::ProviderTransfer)
        .map(|p| {
            let taken: i64 = assigned
                .iter()
                .filter(|a| a.payout_id.as_deref() == Some(p.id.as_str()))
                .filter(|a| matches!(a.status, ReversalStatus::Pending | ReversalStatus::Reversed))
                .map(|a| a.amount)
                .sum();
            (p, p.amount - taken)
        })
        .find(|(_, room)| *room > 0);
    match target {
        Some((p, room)) => {
            let amount = room.min(r.amount);
            crowd::assign_reversal(conn, &r, &p.id, amount)?;
            let mut r = r;
            r.amount = amount;
            r.payout_id = Some(p.id.to_string());
            Ok(match &p.provider_reference {
                Some(t) => ReversalStep::Reverse(r, t.clone()),
                None => ReversalStep::Wait,
            })
        }
        // Paid by bank (or nothing reversible left): the association owes it.
        None => Ok(ReversalStep::Done(reversal_done(
            conn,
            &r,
            ReversalStatus::Owed,
            None,
            Some("paid by bank: not reversible at the provider"),
        )?)),
    }
}

/// A reversal done (reversed: the money is back) or impossible (owed by the association).
pub fn reversal_done(
    conn: &mut DbConnection,
    r: &ReversalRow,
    status: ReversalStatus,
    reference: Option<&str>,
    failure: Option<&str>,
) -> QueryResult<ReversalStatus> {
    let Some(pos) = crowd::lock_position(conn, &r.campaign_id)? else {
        return Err(books("a reversal without a position"));
    };
    if !crowd::finish_reversal(conn, &r.id, status, reference, failure)? {
        return Ok(ReversalStatus::Pending);
    }
    let movement = match status {
        ReversalStatus::Reversed => {
            if let Some(p) = &r.payout_id
                && !crowd::add_reversed(conn, p, r.amount)?
            {
                return Err(books("a reversal beyond its payout"));
            }
            CrowdMovement::Reversed
        }
        _ => CrowdMovement::Owe,
    };
    crowd::post(
        conn,
        &pos,
        &[(movement, r.amount)],
        EntryRefs {
            payout: r.payout_id.as_deref(),
            reversal: Some(&r.id),
        },
    )?
    .ok_or_else(|| books("reversing moved under its lock"))?;
    crate::db::queries::audit_system(
        conn,
        &format!("payout_reversal.{status}"),
        "payout_reversal",
        &r.id,
        failure.map(str::to_string),
    )?;
    Ok(status)
}
