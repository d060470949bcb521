//! Grants, their funders' parts, tranches and recoveries: persistence only. Each writer is one
//! conditional statement; the money of every change moves through `db::ledger` in the same
//! transaction (`app::grants` pairs them).

use super::DbConnection;
use super::models::{GrantPartRow, GrantRow, GrantTrancheRow};
use super::schema::{grant_parts, grant_recoveries, grant_tranches, grants};
use crate::clock::now;
use crate::domain::grant::{AwardStatus, GrantStatus, TrancheStatus};
use crate::domain::ids::{self, SettlementId};
use diesel::prelude::*;

pub const TRANCHE: &str = "trn";
pub const RECOVERY: &str = "rcv";

pub use crate::domain::grant::grant_id_of;

pub fn load(conn: &mut DbConnection, id: &str) -> QueryResult<Option<GrantRow>> {
    grants::table
        .find(id)
        .select(GrantRow::as_select())
        .first(conn)
        .optional()
}

/// Reads a grant under its row lock (PostgreSQL `FOR NO KEY UPDATE`; SQLite's write
/// transaction already excludes every other writer): every decision on a grant reads it so.
pub fn lock(conn: &mut DbConnection, id: &str) -> QueryResult<Option<GrantRow>> {
    match conn {
        DbConnection::Postgresql(c) => grants::table
            .find(id)
            .select(GrantRow::as_select())
            .for_no_key_update()
            .first(c)
            .optional(),
        DbConnection::Sqlite(c) => grants::table
            .find(id)
            .select(GrantRow::as_select())
            .first(c)
            .optional(),
    }
}

/// Opens a grant with its parts; false (nothing written) when the campaign already has one.
pub fn insert(
    conn: &mut DbConnection,
    grant: &GrantRow,
    parts: &[GrantPartRow],
) -> QueryResult<bool> {
    if load(conn, &grant.id)?.is_some() {
        return Ok(false);
    }
    diesel::insert_into(grants::table)
        .values(grant.clone())
        .execute(conn)?;
    for p in parts {
        diesel::insert_into(grant_parts::table)
            .values(p.clone())
            .execute(conn)?;
    }
    Ok(true)
}

/// A grant's parts in funder id order.
pub fn parts(conn: &mut DbConnection, grant_id: &str) -> QueryResult<Vec<GrantPartRow>> {
    grant_parts::table
        .filter(grant_parts::grant_id.eq(grant_id))
        .order(grant_parts::funder_id)
        .select(GrantPartRow::as_select())
        .load(conn)
}

/// A grant's tranches, oldest first.
pub fn tranches(conn: &mut DbConnection, grant_id: &str) -> QueryResult<Vec<GrantTrancheRow>> {
    grant_tranches::table
        .filter(grant_tranches::grant_id.eq(grant_id))
        .order((grant_tranches::created_at, grant_tranches::id))
        .select(GrantTrancheRow::as_select())
        .load(conn)
}

/// Writes a part's figures, if they are still `before`'s (the caller holds the grant's lock;
/// the condition makes a lost update impossible even so).
pub fn update_part(
    conn: &mut DbConnection,
    before: &GrantPartRow,
    after: &GrantPartRow,
) -> QueryResult<bool> {
    Ok(diesel::update(
        grant_parts::table
            .find((&before.grant_id, &before.funder_id))
            .filter(grant_parts::paid.eq(before.paid))
            .filter(grant_parts::released.eq(before.released))
            .filter(grant_parts::recoverable.eq(before.recoverable))
            .filter(grant_parts::recovered.eq(before.recovered)),
    )
    .set((
        grant_parts::paid.eq(after.paid),
        grant_parts::released.eq(after.released),
        grant_parts::recoverable.eq(after.recoverable),
        grant_parts::recovered.eq(after.recovered),
    ))
    .execute(conn)?
        == 1)
}

/// The grant's totals as the sums of its parts, with its state: written together after every
/// change of its parts.
pub fn write_totals(
    conn: &mut DbConnection,
    grant_id: &str,
    status: GrantStatus,
    changes: GrantChanges,
) -> QueryResult<()> {
    let ps = parts(conn, grant_id)?;
    let sum = |f: fn(&GrantPartRow) -> i64| ps.iter().map(f).sum::<i64>();
    diesel::update(grants::table.find(grant_id))
        .set((
            grants::paid.eq(sum(|p| p.paid)),
            grants::released.eq(sum(|p| p.released)),
            grants::recoverable.eq(sum(|p| p.recoverable)),
            grants::recovered.eq(sum(|p| p.recovered)),
            grants::status.eq(status),
            grants::updated_at.eq(now()),
        ))
        .execute(conn)?;
    let GrantChanges {
        award_limit,
        due,
        award_status,
        review_from,
        reason,
        approved_at,
    } = changes;
    if let Some(v) = award_limit {
        diesel::update(grants::table.find(grant_id))
            .set(grants::award_limit.eq(v))
            .execute(conn)?;
    }
    if let Some(v) = due {
        diesel::update(grants::table.find(grant_id))
            .set(grants::due.eq(Some(v)))
            .execute(conn)?;
    }
    if let Some(v) = award_status {
        diesel::update(grants::table.find(grant_id))
            .set(grants::award_status.eq(v))
            .execute(conn)?;
    }
    if let Some(v) = review_from {
        diesel::update(grants::table.find(grant_id))
            .set(grants::review_from.eq(v.map(|s| s.as_str().to_string())))
            .execute(conn)?;
    }
    if let Some(v) = reason {
        diesel::update(grants::table.find(grant_id))
            .set(grants::decision_reason.eq(Some(v)))
            .execute(conn)?;
    }
    if let Some(v) = approved_at {
        diesel::update(grants::table.find(grant_id))
            .set(grants::approved_at.eq(Some(v)))
            .execute(conn)?;
    }
    Ok(())
}

/// What a decision changes on the grant row besides its totals and state.
#[derive(Debug, Default, Clone)]
pub struct GrantChanges {
    pub award_limit: Option<i64>,
    pub due: Option<i64>,
    pub award_status: Option<AwardStatus>,
    /// `Some(None)` clears it.
    pub review_from: Option<Option<GrantStatus>>,
    pub reason: Option<String>,
    pub approved_at: Option<chrono::NaiveDateTime>,
}

/// Moves a grant from one of `from` to `to` (conditional): the state changes that move no
/// money (under review, overdue, reported).
pub fn move_status(
    conn: &mut DbConnection,
    grant_id: &str,
    from: &[GrantStatus],
    to: GrantStatus,
) -> QueryResult<bool> {
    Ok(diesel::update(
        grants::table
            .find(grant_id)
            .filter(grants::status.eq_any(from)),
    )
    .set((grants::status.eq(to), grants::updated_at.eq(now())))
    .execute(conn)?
        == 1)
}

/// Submits the final report: `open`/`overdue` → `reported`, with its summary.
pub fn mark_reported(conn: &mut DbConnection, grant_id: &str, summary: &str) -> QueryResult<bool> {
    let t = now();
    Ok(diesel::update(
        grants::table
            .find(grant_id)
            .filter(grants::status.eq_any([GrantStatus::Open, GrantStatus::Overdue])),
    )
    .set((
        grants::status.eq(GrantStatus::Reported),
        grants::summary.eq(Some(summary)),
        grants::reported_at.eq(Some(t)),
        grants::updated_at.eq(t),
    ))
    .execute(conn)?
        == 1)
}

/// Adds `delta` (negative to take off) to a grant's accepted expenses, while its report can
/// still be checked.
pub fn add_accepted(conn: &mut DbConnection, grant_id: &str, delta: i64) -> QueryResult<bool> {
    Ok(diesel::update(
        grants::table
            .find(grant_id)
            .filter(
                grants::status.eq_any(
                    GrantStatus::ALL
                        .iter()
                        .copied()
                        .filter(|s| s.takes_checks())
                        .collect::<Vec<_>>(),
                ),
            )
            .filter(grants::accepted_expenses.ge(-delta)),
    )
    .set((
        grants::accepted_expenses.eq(grants::accepted_expenses + delta),
        grants::updated_at.eq(now()),
    ))
    .execute(conn)?
        == 1)
}

/// Marks the reminder of a report due soon as sent (once per grant).
pub fn mark_reminded(conn: &mut DbConnection, grant_id: &str) -> QueryResult<bool> {
    Ok(diesel::update(
        grants::table
            .find(grant_id)
            .filter(grants::reminded_at.is_null()),
    )
    .set(grants::reminded_at.eq(Some(now())))
    .execute(conn)?
        == 1)
}

/// Cancels a funder's payable tranches of a grant that no batch has taken; returns them.
pub fn cancel_open_tranches(
    conn: &mut DbConnection,
    grant_id: &str,
    funder_id: &str,
) -> QueryResult<Vec<GrantTrancheRow>> {
    let open: Vec<GrantTrancheRow> = grant_tranches::table
        .filter(grant_tranches::grant_id.eq(grant_id))
        .filter(grant_tranches::funder_id.eq(funder_id))
        .filter(grant_tranches::status.eq(TrancheStatus::Payable))
        .filter(grant_tranches::settlement_id.is_null())
        .select(GrantTrancheRow::as_select())
        .load(conn)?;
    for t in &open {
        diesel::update(
            grant_tranches::table
                .find(&t.id)
                .filter(grant_tranches::status.eq(TrancheStatus::Payable))
                .filter(grant_tranches::settlement_id.is_null()),
        )
        .set(grant_tranches::status.eq(TrancheStatus::Cancelled))
        .execute(conn)?;
    }
    Ok(open)
}

/// How many of a grant's tranches a draft batch holds.
pub fn tranches_in_batch(conn: &mut DbConnection, grant_id: &str) -> QueryResult<i64> {
    grant_tranches::table
        .filter(grant_tranches::grant_id.eq(grant_id))
        .filter(grant_tranches::status.eq(TrancheStatus::Payable))
        .filter(grant_tranches::settlement_id.is_not_null())
        .count()
        .get_result(conn)
}

pub fn insert_tranche(conn: &mut DbConnection, row: &GrantTrancheRow) -> QueryResult<()> {
    diesel::insert_into(grant_tranches::table)
        .values(row.clone())
        .execute(conn)?;
    Ok(())
}

/// Puts a payable tranche in batch `settlement_id` if no batch holds it and it is still
/// `amount`; false (nothing written) otherwise.
pub fn put_tranche_in_batch(
    conn: &mut DbConnection,
    tranche_id: &str,
    amount: i64,
    settlement_id: &SettlementId,
) -> QueryResult<bool> {
    Ok(diesel::update(
        grant_tranches::table
            .find(tranche_id)
            .filter(grant_tranches::status.eq(TrancheStatus::Payable))
            .filter(grant_tranches::settlement_id.is_null())
            .filter(grant_tranches::amount.eq(amount)),
    )
    .set(grant_tranches::settlement_id.eq(Some(settlement_id)))
    .execute(conn)?
        == 1)
}

/// Marks a tranche paid by batch `settlement_id`, if that batch still holds it unpaid.
pub fn mark_tranche_paid(
    conn: &mut DbConnection,
    tranche_id: &str,
    amount: i64,
    settlement_id: &SettlementId,
    paid_at: chrono::NaiveDateTime,
) -> QueryResult<bool> {
    Ok(diesel::update(
        grant_tranches::table
            .find(tranche_id)
            .filter(grant_tranches::status.eq(TrancheStatus::Payable))
            .filter(grant_tranches::settlement_id.eq(settlement_id))
            .filter(grant_tranches::amount.eq(amount)),
    )
    .set((
        grant_tranches::status.eq(TrancheStatus::Paid),
        grant_tranches::paid_at.eq(Some(paid_at)),
    ))
    .execute(conn)?
        == 1)
}

/// A cancelled batch's tranches are free for another batch.
pub fn release_batch_tranches(
    conn: &mut DbConnection,
    settlement_id: &SettlementId,
) -> QueryResult<usize> {
    diesel::update(
        grant_tranches::table
            .filter(grant_tranches::settlement_id.eq(settlement_id))
            .filter(grant_tranches::status.eq(TrancheStatus::Payable)),
    )
    .set(grant_tranches::settlement_id.eq(None::<String>))
    .execute(conn)
}

/// Records money paid back; false when this bank reference is already recorded for the grant.
pub fn insert_recovery(
    conn: &mut DbConnection,
    grant_id: &str,
    amount: i64,
    received_at: chrono::NaiveDateTime,
    bank_reference: &str,
    recorded_by: &str,
) -> QueryResult<bool> {
    let exists: i64 = grant_recoveries::table
        .filter(grant_recoveries::grant_id.eq(grant_id))
        .filter(grant_recoveries::bank_reference.eq(bank_reference))
        .count()
        .get_result(conn)?;
    if exists > 0 {
        return Ok(false);
    }
    diesel::insert_into(grant_recoveries::table)
        .values((
            grant_recoveries::id.eq(ids::new_id(RECOVERY)),
            grant_recoveries::grant_id.eq(grant_id),
            grant_recoveries::amount.eq(amount),
            grant_recoveries::received_at.eq(received_at),
            grant_recoveries::bank_reference.eq(bank_reference),
            grant_recoveries::recorded_by.eq(recorded_by),
            grant_recoveries::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(true)
}
