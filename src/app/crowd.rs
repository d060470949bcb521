//! The crowd ledger follows each succeeded campaign's money, in the transaction that changes
//! it: the decision, late money, refunds and lost disputes (`domain::crowd::plan` applied
//! through `db::crowd::post`), and a payout that did not leave. No `AppState` here: the
//! matching engine and the payment path call these inside their transactions; the payout
//! job and the bank batches are `app::payouts`.

use crate::db::DbConnection;
use crate::db::crowd::{self, EntryRefs, PositionRow, ReversalRow, crowd_raised};
use crate::db::models::CampaignRow;
use crate::db::schema::payout_reversals;
use crate::domain::campaign::CampaignStatus;
use crate::domain::crowd::{CrowdMovement, ReversalStatus};
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
    let moves = crate::domain::crowd::plan(pos.position(), crowd_raised(campaign), pos.fee_ratio());
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
    let moves =
        crate::domain::crowd::plan(pos.position(), crowd_raised(&campaign), pos.fee_ratio());
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
