//! The double-entry journal of fund money. Every movement is one entry whose postings sum to
//! zero, written in the transaction that makes the movement; entries are never changed
//! (database triggers refuse it), corrections are reversing entries. Fund figures are sums.

use super::DbConnection;
use super::models::{JournalEntryRow, PostingRow};
use super::schema::{funds, journal_entries, postings};
use crate::clock::now;
use crate::domain::ids;
use diesel::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Account {
    /// The city's appropriation; negative by the budget.
    BudgetSource,
    Available,
    Reserved,
    Committed,
    Settled,
}

impl Account {
    pub fn as_str(self) -> &'static str {
        match self {
            Account::BudgetSource => "budget_source",
            Account::Available => "available",
            Account::Reserved => "reserved",
            Account::Committed => "committed",
            Account::Settled => "settled",
        }
    }
}

/// The movements the matching engine and the finance office make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Movement {
    /// A budget appropriated (or cut, with a negative amount).
    Budget,
    /// available → reserved (a reservation or an on_approval earmark).
    Reserve,
    /// reserved → available (revocation, failure, cancellation).
    Release,
    /// reserved → committed (the campaign succeeded).
    Commit,
    /// committed → settled (the bank transfer was made).
    Settle,
}

impl Movement {
    pub fn kind(self) -> &'static str {
        match self {
            Movement::Budget => "budget",
            Movement::Reserve => "reserve",
            Movement::Release => "release",
            Movement::Commit => "commit",
            Movement::Settle => "settle",
        }
    }

    fn legs(self, amount: i64) -> [(Account, i64); 2] {
        let (from, to) = match self {
            Movement::Budget => (Account::BudgetSource, Account::Available),
            Movement::Reserve => (Account::Available, Account::Reserved),
            Movement::Release => (Account::Reserved, Account::Available),
            Movement::Commit => (Account::Reserved, Account::Committed),
            Movement::Settle => (Account::Committed, Account::Settled),
        };
        [(from, -amount), (to, amount)]
    }
}

/// The one door through which match money moves once a fund exists: the fund row's figure
/// changes only where the money is there to move — a reservation only out of what is available,
/// a release or a commitment only out of what is reserved, a payment only out of what is
/// committed — in one conditional statement, and the balanced journal entry is written in the
/// same transaction. Returns false, having changed nothing, when the money is not there.
/// (Budget changes go through `matching::set_budget`, conditional on what is promised.)
pub fn transfer(
    conn: &mut DbConnection,
    fund_id: &str,
    currency: &str,
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
        Movement::Budget => {
            return Err(diesel::result::Error::QueryBuilderError(
                "budget changes go through matching::set_budget".into(),
            ));
        }
    };
    if moved == 0 {
        return Ok(false);
    }
    post(conn, fund_id, currency, movement, amount, campaign_id, memo)?;
    Ok(true)
}

/// Writes one balanced entry moving `amount` for `fund_id`. Returns the entry id. Only
/// [`transfer`] and budget changes call it: the fund row and the journal move together.
pub fn post(
    conn: &mut DbConnection,
    fund_id: &str,
    currency: &str,
    movement: Movement,
    amount: i64,
    campaign_id: Option<&str>,
    memo: &str,
) -> QueryResult<String> {
    let entry_id = ids::new_id("jrn");
    if amount == 0 {
        return Ok(entry_id);
    }
    diesel::insert_into(journal_entries::table)
        .values(JournalEntryRow {
            id: entry_id.clone(),
            fund_id: fund_id.to_string(),
            campaign_id: campaign_id.map(str::to_string),
            kind: movement.kind().to_string(),
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
                account: account.as_str().to_string(),
                amount: amt,
                currency: currency.to_string(),
            })
            .execute(conn)?;
    }
    Ok(entry_id)
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
        match account.as_str() {
            "budget_source" => b.budget -= amount,
            "available" => b.available += amount,
            "reserved" => b.reserved += amount,
            "committed" => b.committed += amount,
            "settled" => b.settled += amount,
            _ => {}
        }
    }
    Ok(b)
}
