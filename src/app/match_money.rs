//! The funders' money of a match, shared by every policy (threshold top-up in `matching`,
//! `per_donation`, `quadratic`): what the funders can cover together, taking a match from them
//! through the ledger's door by the fund's split, the fund's parameters, and the decision
//! record. Nothing here decides; the policies do.

use crate::clock::now;
use crate::db::campaigns::load_fund;
use crate::db::funders::load_funders;
use crate::db::models::{CampaignRow, FundRow, FunderRow, MatchDecisionRow};
use crate::db::schema::match_decisions;
use crate::db::{DbConnection, ledger};
use crate::domain::funding;
use crate::domain::ids;
use crate::domain::matching::Decision;
use diesel::prelude::*;

/// What the fund's funders can cover together of `want` under the fund's split.
pub fn coverable_of(fund: &FundRow, funders: &[FunderRow], want: i64) -> i64 {
    let rooms: Vec<funding::Room> = funders.iter().map(FunderRow::room).collect();
    funding::coverable(fund.funding_split, want, &rooms)
}

/// One funder's part of a decision, as recorded with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    pub funder_id: String,
    pub amount: i64,
}

/// Records a decision with inputs the caller assembled (the other policies' own inputs).
pub fn record_with(
    conn: &mut DbConnection,
    campaign: &CampaignRow,
    fund: &FundRow,
    decision: Decision,
    amount: i64,
    inputs: String,
) -> QueryResult<()> {
    diesel::insert_into(match_decisions::table)
        .values(MatchDecisionRow {
            id: ids::new_id("mdc"),
            campaign_id: campaign.id.clone(),
            fund_id: fund.id.clone(),
            decision,
            amount,
            inputs,
            created_at: now(),
        })
        .execute(conn)?;
    Ok(())
}

/// A fund's parameters. They never change after creation (only its budget figures do), so each
/// process keeps them; never read the budget figures of the returned row.
pub fn fund_params(conn: &mut DbConnection, fund_id: &str) -> QueryResult<FundRow> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<HashMap<String, FundRow>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(f) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(fund_id) {
        return Ok(f.clone());
    }
    let f = load_fund(conn, fund_id)?;
    cache
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(fund_id.to_string(), f.clone());
    Ok(f)
}

/// Moves `amount` of a fund's money for a campaign, divided among the funders by the fund's
/// split (`movement` Reserve or Hold), each funder's part through the ledger's door: all the
/// parts move or none does (a savepoint), so a funder that ran dry in the meantime leaves no
/// half-made reservation. Returns the parts moved, or None, having changed nothing.
pub fn take_from_funders(
    conn: &mut DbConnection,
    fund: &FundRow,
    campaign_id: &str,
    movement: ledger::Movement,
    amount: i64,
    memo: &str,
) -> QueryResult<Option<Vec<Part>>> {
    let funders = load_funders(conn, &fund.id)?;
    let rooms: Vec<funding::Room> = funders.iter().map(FunderRow::room).collect();
    let Some(split) = funding::parts(fund.funding_split, amount, &rooms) else {
        return Ok(None);
    };
    let parts: Vec<Part> = funders
        .iter()
        .zip(split)
        .filter(|(_, a)| *a > 0)
        .map(|(f, amount)| Part {
            funder_id: f.id.clone(),
            amount,
        })
        .collect();
    let moved = conn.transaction(|conn| {
        for p in &parts {
            if !ledger::transfer(
                conn,
                &fund.id,
                &p.funder_id,
                fund.currency,
                movement,
                p.amount,
                Some(campaign_id),
                memo,
            )? {
                return Err(diesel::result::Error::RollbackTransaction);
            }
        }
        Ok(())
    });
    match moved {
        Ok(()) => Ok(Some(parts)),
        Err(diesel::result::Error::RollbackTransaction) => Ok(None),
        Err(e) => Err(e),
    }
}
