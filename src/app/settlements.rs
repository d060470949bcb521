//! Settling committed matches: the finance office confirms a drafted batch once the bank has
//! paid it (each commitment moves `committed → settled` through the ledger's door) or cancels
//! it (its commitments are free for another batch). Both run in the caller's transaction and
//! are idempotent: asked again, they answer as the first time.

use crate::auth::Principal;
use crate::clock::now;
use crate::db::models::{SettlementLineRow, SettlementRow};
use crate::db::queries::audit;
use crate::db::schema::{campaigns, match_parts, settlement_items, settlement_lines, settlements};
use crate::db::{DbConnection, ledger};
use crate::domain::matching::MatchState;
use crate::domain::settlement::{ItemStatus, SettlementStatus};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// Why a batch did not move.
#[derive(Debug, thiserror::Error)]
pub enum SettlementError {
    #[error("no such settlement")]
    NotFound,
    #[error("this batch was confirmed with another bank reference")]
    ConfirmedElsewhere,
    #[error("this batch was cancelled")]
    Cancelled,
    #[error("a confirmed batch cannot be cancelled")]
    Confirmed,
    #[error("the batch changed; read it again")]
    Moved,
    /// The books and the batch disagree: nothing applied (reconciliation shows why).
    #[error("books disagree: {0}")]
    Books(String),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

fn load(conn: &mut DbConnection, id: &str) -> Result<SettlementRow, SettlementError> {
    settlements::table
        .find(id)
        .select(SettlementRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(SettlementError::NotFound)
}

/// Confirms batch `id` as paid by the bank with `reference` on `paid_at`: the batch and its
/// items move to confirmed/settled, each campaign's match from `committed` to `settled`, and
/// each commitment's money through [`ledger::transfer`]; the associations are told.
pub fn confirm(
    conn: &mut DbConnection,
    actor: &Principal,
    id: &str,
    reference: &str,
    paid_at: NaiveDateTime,
) -> Result<(), SettlementError> {
    let s = load(conn, id)?;
    match s.status {
        SettlementStatus::Confirmed if s.bank_reference.as_deref() == Some(reference) => {
            return Ok(());
        }
        SettlementStatus::Confirmed => return Err(SettlementError::ConfirmedElsewhere),
        SettlementStatus::Cancelled => return Err(SettlementError::Cancelled),
        SettlementStatus::Draft => {}
    }
    let moved = diesel::update(settlements::table.find(id))
        .filter(settlements::status.eq(SettlementStatus::Draft))
        .set((
            settlements::status.eq(SettlementStatus::Confirmed),
            settlements::bank_reference.eq(Some(reference)),
            settlements::paid_at.eq(Some(paid_at)),
            settlements::confirmed_at.eq(Some(now())),
        ))
        .execute(conn)?;
    if moved == 0 {
        return Err(SettlementError::Moved);
    }
    diesel::update(settlement_items::table.filter(settlement_items::settlement_id.eq(id)))
        .set(settlement_items::status.eq(ItemStatus::Settled))
        .execute(conn)?;
    let lines: Vec<SettlementLineRow> = settlement_lines::table
        .filter(settlement_lines::settlement_id.eq(id))
        .order(settlement_lines::campaign_id)
        .select(SettlementLineRow::as_select())
        .load(conn)?;
    for line in &lines {
        // The funder's part is paid; the campaign's match is settled once every part is.
        let n = diesel::update(match_parts::table.find((&line.campaign_id, &s.funder_id)))
            .filter(match_parts::settlement_id.eq(id))
            .filter(match_parts::settled.eq(false))
            .filter(match_parts::amount.eq(line.amount))
            .set(match_parts::settled.eq(true))
            .execute(conn)?;
        if n == 0 {
            return Err(SettlementError::Books(format!(
                "commitment {} left its batch",
                line.campaign_id
            )));
        }
        let unpaid: i64 = match_parts::table
            .filter(match_parts::campaign_id.eq(&line.campaign_id))
            .filter(match_parts::settled.eq(false))
            .filter(match_parts::amount.gt(0))
            .count()
            .get_result(conn)?;
        if unpaid == 0 {
            diesel::update(campaigns::table.find(&line.campaign_id))
                .filter(campaigns::match_status.eq(MatchState::Committed))
                .set(campaigns::match_status.eq(MatchState::Settled))
                .execute(conn)?;
        }
        if !ledger::transfer(
            conn,
            &s.fund_id,
            &s.funder_id,
            s.currency,
            ledger::Movement::Settle,
            line.amount,
            Some(&line.campaign_id),
            &format!("paid in {} ({reference})", s.message_id),
        )? {
            return Err(SettlementError::Books(format!(
                "fund {} holds less committed than commitment {}",
                s.fund_id, line.campaign_id
            )));
        }
    }
    crate::notify::settlement_paid(conn, id, reference)?;
    audit(
        conn,
        actor,
        "settlement.confirm",
        "settlement",
        id,
        Some(format!("draft -> confirmed; bank reference {reference}")),
    )?;
    Ok(())
}

/// Cancels draft batch `id`: its items are cancelled and its commitments leave it (they stay
/// `committed`, free for another batch). No money moves.
pub fn cancel(conn: &mut DbConnection, actor: &Principal, id: &str) -> Result<(), SettlementError> {
    match load(conn, id)?.status {
        SettlementStatus::Cancelled => return Ok(()),
        SettlementStatus::Confirmed => return Err(SettlementError::Confirmed),
        SettlementStatus::Draft => {}
    }
    let moved = diesel::update(settlements::table.find(id))
        .filter(settlements::status.eq(SettlementStatus::Draft))
        .set((
            settlements::status.eq(SettlementStatus::Cancelled),
            settlements::cancelled_at.eq(Some(now())),
        ))
        .execute(conn)?;
    if moved == 0 {
        return Err(SettlementError::Moved);
    }
    diesel::update(settlement_items::table.filter(settlement_items::settlement_id.eq(id)))
        .set(settlement_items::status.eq(ItemStatus::Cancelled))
        .execute(conn)?;
    diesel::update(match_parts::table.filter(match_parts::settlement_id.eq(id)))
        .set(match_parts::settlement_id.eq(None::<String>))
        .execute(conn)?;
    audit(
        conn,
        actor,
        "settlement.cancel",
        "settlement",
        id,
        Some("draft -> cancelled".into()),
    )?;
    Ok(())
}
