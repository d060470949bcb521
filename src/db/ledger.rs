//! The double-entry journal of fund money. Every movement is one entry whose postings sum to
//! zero, written in the transaction that makes the movement; entries are never changed
//! (database triggers refuse it), corrections are reversing entries. Fund figures are sums.
//! [`transfer`] and [`set_budget`] are the only code that writes either.

use super::DbConnection;
use super::models::{JournalEntryRow, PostingRow};
use super::schema::{funds, journal_entries, postings};
use crate::clock::now;
use crate::domain::ids;
use crate::domain::money::Currency;
use diesel::prelude::*;

pub use crate::domain::ledger::{Account, Movement};

/// The one door through which fund money moves: the only code that writes a fund's figures
/// (`budget`, `reserved`, `committed`, `settled`) and journal entries. Each movement changes the
/// fund row only where the money is there to move — a reservation only out of what is
/// available, a release or a commitment only out of what is reserved, a payment only out of
/// what is committed, a budget change never below what is promised — in one conditional
/// statement, and writes its balanced journal entry in the same transaction. Returns false,
/// having changed nothing, when the money is not there.
///
/// Budget changes go through [`set_budget`].
pub fn transfer(
    conn: &mut DbConnection,
    fund_id: &str,
    currency: Currency,
    movement: Movement,
    amount: i64,
    campaign_id: Option<&str>,
    memo: &str,
) -> QueryResult<bool> {
    if amount <= 0 {
        return Ok(amount == 0);
    }
    let fund = funds::table.find(fund_id);
    let moved = match movement {
        Movement::Budget => {
            return Err(diesel::result::Error::QueryBuilderError(
                "budget changes go through ledger::set_budget".into(),
            ));
        }
        Movement::Reserve => diesel::update(fund)
            .filter(
                (funds::budget - funds::reserved - funds::committed - funds::settled).ge(amount),
            )
            .set(funds::reserved.eq(funds::reserved + amount))
            .execute(conn)?,
        Movement::Release => diesel::update(fund)
            .filter(funds::reserved.ge(amount))
            .set(funds::reserved.eq(funds::reserved - amount))
            .execute(conn)?,
        Movement::Commit => diesel::update(fund)
            .filter(funds::reserved.ge(amount))
            .set((
                funds::reserved.eq(funds::reserved - amount),
                funds::committed.eq(funds::committed + amount),
            ))
            .execute(conn)?,
        Movement::Settle => diesel::update(fund)
            .filter(funds::committed.ge(amount))
            .set((
                funds::committed.eq(funds::committed - amount),
                funds::settled.eq(funds::settled + amount),
            ))
            .execute(conn)?,
    };
    if moved == 0 {
        return Ok(false);
    }
    post(conn, fund_id, currency, movement, amount, campaign_id, memo)?;
    Ok(true)
}

/// Sets a fund's budget to `budget`, never below what is reserved, committed and settled
/// (conditional update: a reservation landing between the caller's read and this write cannot
/// be undercut), with a [`Movement::Budget`] entry of the difference from the journal's budget.
/// Returns false, having changed nothing, when the budget would fall below what is promised.
/// A new fund is inserted with a budget of 0 and given its budget here.
pub fn set_budget(
    conn: &mut DbConnection,
    fund_id: &str,
    currency: Currency,
    budget: i64,
    memo: &str,
) -> QueryResult<bool> {
    let promised = funds::reserved + funds::committed + funds::settled;
    let changed = diesel::update(funds::table.find(fund_id))
        .filter(promised.le(budget))
        .set(funds::budget.eq(budget))
        .execute(conn)?;
    if changed == 0 {
        return Ok(false);
    }
    // Read under the row lock the update took: every earlier budget change has committed.
    let before = balances(conn, fund_id)?.budget;
    if budget != before {
        post(
            conn,
            fund_id,
            currency,
            Movement::Budget,
            budget - before,
            None,
            memo,
        )?;
    }
    Ok(true)
}

/// Writes one balanced entry moving `amount` for `fund_id`, beside the fund row's change.
fn post(
    conn: &mut DbConnection,
    fund_id: &str,
    currency: Currency,
    movement: Movement,
    amount: i64,
    campaign_id: Option<&str>,
    memo: &str,
) -> QueryResult<()> {
    let entry_id = ids::new_id("jrn");
    diesel::insert_into(journal_entries::table)
        .values(JournalEntryRow {
            id: entry_id.clone(),
            fund_id: fund_id.to_string(),
            campaign_id: campaign_id.map(str::to_string),
            kind: movement,
            memo: memo.to_string(),
            reverses: None,
            created_at: now(),
        })
        .execute(conn)?;
    for (account, amt) in movement.legs(amount) {
        diesel::insert_into(postings::table)
            .values(PostingRow {
                id: ids::new_id("pst"),
                entry_id: entry_id.clone(),
                fund_id: fund_id.to_string(),
                account,
                amount: amt,
                currency,
            })
            .execute(conn)?;
    }
    Ok(())
}

/// A fund's figures as the journal has them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Balances {
    pub budget: i64,
    pub available: i64,
    pub reserved: i64,
    pub committed: i64,
    pub settled: i64,
}

pub fn balances(conn: &mut DbConnection, fund_id: &str) -> QueryResult<Balances> {
    // Summed by the database, one row per account (found by the `(fund_id, account)` index),
    // rather than every posting loaded and summed here. SUM's own type differs between the
    // backends (NUMERIC on PostgreSQL), so it is cast back to minor units; a fund's total can
    // never exceed BIGINT.
    let rows: Vec<(String, i64)> = postings::table
        .filter(postings::fund_id.eq(fund_id))
        .group_by(postings::account)
        .select((
            postings::account,
            diesel::dsl::sql::<diesel::sql_types::BigInt>("CAST(SUM(amount) AS BIGINT)"),
        ))
        .load(conn)?;
    let mut b = Balances::default();
    for (account, amount) in rows {
        let account = Account::try_from(account)
            .map_err(|e| diesel::result::Error::DeserializationError(e.into()))?;
        match account {
            Account::BudgetSource => b.budget -= amount,
            Account::Available => b.available += amount,
            Account::Reserved => b.reserved += amount,
            Account::Committed => b.committed += amount,
            Account::Settled => b.settled += amount,
        }
    }
    Ok(b)
}
