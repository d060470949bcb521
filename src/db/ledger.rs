//! The double-entry journal of fund money. Every movement is one entry whose postings sum to
//! zero, written in the transaction that makes the movement; entries are never changed
//! (database triggers refuse it), corrections are reversing entries. Fund figures are sums.
//! [`transfer`] and [`set_budget`] are the only code that writes either.

use super::DbConnection;
use super::models::{JournalEntryRow, PostingRow};
use super::schema::{funders, funds, journal_entries, postings};
use crate::clock::now;
use crate::domain::ids::{self, FundId};
use crate::domain::money::Currency;
use diesel::prelude::*;

pub use crate::domain::ledger::{Account, Movement, Source};

/// The one door through which fund money moves: the only code that writes a funder's and its
/// fund's figures (`budget`, `held`, `reserved`, `committed`, `settled`) and journal entries.
/// Each movement changes the funder's row only where the funder's money is there to move — a
/// hold or a reservation only out of what the funder has available, a release or a commitment
/// only out of what it has reserved, a payment only out of what it has committed — in one
/// conditional statement; the fund's row (the sums over its funders) moves by the same amount,
/// and the balanced journal entry is written in the same transaction. Returns false, having
/// changed nothing, when the money is not there. No funder is ever promised beyond its own
/// budget, whatever runs beside it: the condition is evaluated under the funder row's lock.
///
/// Budget changes go through [`set_budget`].
#[allow(clippy::too_many_arguments)]
pub fn transfer(
    conn: &mut DbConnection,
    fund_id: &str,
    funder_id: &str,
    currency: Currency,
    movement: Movement,
    amount: i64,
    campaign_id: Option<&str>,
    memo: &str,
) -> QueryResult<bool> {
    if amount <= 0 {
        return Ok(amount == 0);
    }
    if movement == Movement::Budget {
        return Err(diesel::result::Error::QueryBuilderError(
            "budget changes go through ledger::set_budget".into(),
        ));
    }
    // Lock order: the fund row first, then the funder's (as `set_budget` does), so that a
    // movement and a budget change on two funders of one fund cannot deadlock. The fund's
    // figures move first, conditionally (a fund is the sum of its funders: if the fund lacks
    // the money, so does every funder); then the funder's, conditionally; if the funder lacks
    // it, the fund's change is undone under the lock it still holds.
    if move_fund(conn, fund_id, movement, amount, 1)? == 0 {
        return Ok(false);
    }
    if move_funder(conn, fund_id, funder_id, movement, amount)? == 0 {
        move_fund(conn, fund_id, movement, amount, -1)?;
        return Ok(false);
    }
    post(
        conn,
        fund_id,
        funder_id,
        currency,
        movement,
        amount,
        campaign_id,
        memo,
    )?;
    Ok(true)
}

/// Moves a fund's or a funder's figures by `sign` × `amount` of `movement` (its
/// [`Movement::effect`]); forwards, only where the money is there to move (the figure it comes
/// from holds at least `amount`), backwards (an undo under the row's lock) unconditionally.
macro_rules! move_figures {
    ($conn:expr, $target:expr, $t:ident, $movement:expr, $amount:expr, $sign:expr) => {{
        let ([h, r, c, s, o], source) = $movement.effect();
        let k = $amount * $sign;
        let update = diesel::update($target).set((
            $t::held.eq($t::held + h * k),
            $t::reserved.eq($t::reserved + r * k),
            $t::committed.eq($t::committed + c * k),
            $t::settled.eq($t::settled + s * k),
            $t::recoverable.eq($t::recoverable + o * k),
        ));
        if $sign < 0 {
            update.execute($conn)
        } else {
            match source {
                Source::Available => update
                    .filter(
                        ($t::budget
                            - $t::held
                            - $t::reserved
                            - $t::committed
                            - $t::settled
                            - $t::recoverable)
                            .ge($amount),
                    )
                    .execute($conn),
                Source::Held => update.filter($t::held.ge($amount)).execute($conn),
                Source::Reserved => update.filter($t::reserved.ge($amount)).execute($conn),
                Source::Committed => update.filter($t::committed.ge($amount)).execute($conn),
                Source::Settled => update.filter($t::settled.ge($amount)).execute($conn),
                Source::Recoverable => update.filter($t::recoverable.ge($amount)).execute($conn),
            }
        }
    }};
}

/// The fund row's side of a movement (`sign` 1), or its undo (`sign` −1).
fn move_fund(
    conn: &mut DbConnection,
    fund_id: &str,
    movement: Movement,
    amount: i64,
    sign: i64,
) -> QueryResult<usize> {
    move_figures!(
        conn,
        funds::table.find(fund_id),
        funds,
        movement,
        amount,
        sign
    )
}

/// The funder row's side of a movement, where the funder's money is there to move.
fn move_funder(
    conn: &mut DbConnection,
    fund_id: &str,
    funder_id: &str,
    movement: Movement,
    amount: i64,
) -> QueryResult<usize> {
    let funder = funders::table
        .find(funder_id)
        .filter(funders::fund_id.eq(fund_id));
    move_figures!(conn, funder, funders, movement, amount, 1)
}

/// Sets one funder's budget to `budget`, never below what it has held, reserved, committed and
/// settled (conditional update: a reservation landing between the caller's read and this write
/// cannot be undercut); the fund's budget moves by the same difference, with a
/// [`Movement::Budget`] entry of the difference from the journal's budget for that funder.
/// Returns false, having changed nothing, when the budget would fall below what is promised.
/// A new funder is inserted with a budget of 0 and given its budget here.
pub fn set_budget(
    conn: &mut DbConnection,
    fund_id: &str,
    funder_id: &str,
    currency: Currency,
    budget: i64,
    memo: &str,
) -> QueryResult<bool> {
    // The fund row's lock first: the same order as `transfer`.
    diesel::update(funds::table.find(fund_id))
        .set(funds::budget.eq(funds::budget))
        .execute(conn)?;
    let promised = funders::held
        + funders::reserved
        + funders::committed
        + funders::settled
        + funders::recoverable;
    let changed = diesel::update(
        funders::table
            .find(funder_id)
            .filter(funders::fund_id.eq(fund_id)),
    )
    .filter(promised.le(budget))
    .set(funders::budget.eq(budget))
    .execute(conn)?;
    if changed == 0 {
        return Ok(false);
    }
    // Read under the row lock the update took: every earlier budget change has committed.
    let before = funder_balances(conn, fund_id, Some(funder_id))?
        .into_iter()
        .next()
        .map(|(_, b)| b.budget)
        .unwrap_or(0);
    if budget != before {
        diesel::update(funds::table.find(fund_id))
            .set(funds::budget.eq(funds::budget + (budget - before)))
            .execute(conn)?;
        post(
            conn,
            fund_id,
            funder_id,
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
#[allow(clippy::too_many_arguments)]
fn post(
    conn: &mut DbConnection,
    fund_id: &str,
    funder_id: &str,
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
            funder_id: funder_id.to_string(),
        })
        .execute(conn)?;
    for (account, amt) in movement.legs(amount) {
        diesel::insert_into(postings::table)
            .values(PostingRow {
                id: ids::new_id("pst"),
                entry_id: entry_id.clone(),
                fund_id: fund_id.to_string(),
                funder_id: funder_id.to_string(),
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
    pub held: i64,
    pub reserved: i64,
    pub committed: i64,
    pub settled: i64,
    /// Paid money owed back.
    pub recoverable: i64,
}

pub fn balances(conn: &mut DbConnection, fund_id: &FundId) -> QueryResult<Balances> {
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
        b.add(&account, amount)?;
    }
    Ok(b)
}

impl Balances {
    fn add(&mut self, account: &str, amount: i64) -> QueryResult<()> {
        let account = Account::try_from(account.to_string())
            .map_err(|e| diesel::result::Error::DeserializationError(e.into()))?;
        match account {
            Account::BudgetSource => self.budget -= amount,
            Account::Available => self.available += amount,
            Account::Held => self.held += amount,
            Account::Reserved => self.reserved += amount,
            Account::Committed => self.committed += amount,
            Account::Settled => self.settled += amount,
            Account::Recoverable => self.recoverable += amount,
        }
        Ok(())
    }
}

/// Each funder's figures as the journal has them (one funder's, with `only`), in funder id
/// order: one row per funder and account, summed by the database.
pub fn funder_balances(
    conn: &mut DbConnection,
    fund_id: &str,
    only: Option<&str>,
) -> QueryResult<Vec<(String, Balances)>> {
    let mut q = postings::table
        .filter(postings::fund_id.eq(fund_id))
        .group_by((postings::funder_id, postings::account))
        .select((
            postings::funder_id,
            postings::account,
            diesel::dsl::sql::<diesel::sql_types::BigInt>("CAST(SUM(amount) AS BIGINT)"),
        ))
        .into_boxed();
    if let Some(f) = only {
        q = q.filter(postings::funder_id.eq(f));
    }
    let rows: Vec<(String, String, i64)> = q.load(conn)?;
    let mut out: std::collections::BTreeMap<String, Balances> = Default::default();
    for (funder, account, amount) in rows {
        out.entry(funder).or_default().add(&account, amount)?;
    }
    Ok(out.into_iter().collect())
}

/// The figures of every funder of `fund_ids`, by funder id, in one query.
pub fn funders_balances(
    conn: &mut DbConnection,
    fund_ids: &[&str],
) -> QueryResult<std::collections::HashMap<String, Balances>> {
    let rows: Vec<(String, String, i64)> = postings::table
        .filter(postings::fund_id.eq_any(fund_ids))
        .group_by((postings::funder_id, postings::account))
        .select((
            postings::funder_id,
            postings::account,
            diesel::dsl::sql::<diesel::sql_types::BigInt>("CAST(SUM(amount) AS BIGINT)"),
        ))
        .load(conn)?;
    let mut out: std::collections::HashMap<String, Balances> = Default::default();
    for (funder, account, amount) in rows {
        out.entry(funder).or_default().add(&account, amount)?;
    }
    Ok(out)
}
