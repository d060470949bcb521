//! Funds and their funders: a funder joins a fund (its budget arriving through the ledger's
//! door, then serving the fund's waitlist), and the finance office changes one funder's budget.
//! The fund's figures are the sums over its funders (`db::ledger`).

use crate::clock::now;
use crate::db::DbConnection;
use crate::db::funders::load_funders;
use crate::db::ledger;
use crate::db::models::{FundRow, FunderRow};
use crate::domain::fund::{FunderKind, FundingSplit};
use crate::domain::ids;
use crate::domain::money::Ratio;
use diesel::prelude::*;

pub const FUNDER: &str = "fdr";

/// A funder as asked for (already parsed: tax code, IBAN and BIC valid).
#[derive(Clone, Debug)]
pub struct NewFunder {
    pub name: String,
    pub kind: FunderKind,
    pub tax_code: Option<String>,
    pub iban: Option<String>,
    pub bic: Option<String>,
    pub budget: i64,
    pub priority: Option<i32>,
    pub share: Option<Ratio>,
}

/// Why a funder was not added or its budget not changed.
#[derive(Debug, thiserror::Error)]
pub enum FunderError {
    #[error("no such fund")]
    FundNotFound,
    #[error("no such funder")]
    FunderNotFound,
    #[error("a proportional fund's shares are fixed when it is created")]
    SharesFixed,
    #[error(
        "the budget cannot go below what this funder has held, reserved, committed and settled"
    )]
    BelowPromised,
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// Whether the shares of a proportional fund's funders are all set and add up to exactly 1.
pub fn shares_add_up(shares: &[Option<Ratio>]) -> bool {
    let mut total = rust_decimal::Decimal::ZERO;
    for s in shares {
        match s {
            Some(r) => total += r.value(),
            None => return false,
        }
    }
    total == rust_decimal::Decimal::ONE
}

/// Inserts a funder of `fund` (without money) and gives it its budget through the ledger's
/// door, in the caller's transaction. `priority` defaults to after the last funder.
pub fn insert_funder(
    conn: &mut DbConnection,
    fund: &FundRow,
    new: NewFunder,
    memo: &str,
) -> QueryResult<FunderRow> {
    let priority = match new.priority {
        Some(p) => p,
        None => {
            load_funders(conn, &fund.id)?
                .iter()
                .map(|f| f.priority)
                .max()
                .unwrap_or(0)
                + 1
        }
    };
    let row = FunderRow {
        id: ids::new_id(FUNDER),
        fund_id: fund.id.clone(),
        name: new.name,
        kind: new.kind,
        tax_code: new.tax_code,
        iban: new.iban,
        bic: new.bic,
        priority,
        share: new.share.map(|s| s.to_string()),
        budget: 0,
        held: 0,
        reserved: 0,
        committed: 0,
        settled: 0,
        created_at: now(),
    };
    diesel::insert_into(crate::db::schema::funders::table)
        .values(row.clone())
        .execute(conn)?;
    if !ledger::set_budget(conn, &fund.id, &row.id, fund.currency, new.budget, memo)? {
        return Err(diesel::result::Error::QueryBuilderError(
            "a new funder's budget was refused".into(),
        ));
    }
    Ok(FunderRow {
        budget: new.budget,
        ..row
    })
}

/// A funder joins an open fund; its budget serves the fund's waitlist at once (after the
/// joining transaction, one short transaction per campaign served).
pub fn add_funder(
    conn: &mut DbConnection,
    actor: &crate::auth::Principal,
    fund_id: &str,
    new: NewFunder,
) -> Result<FunderRow, FunderError> {
    let row = crate::db::write_tx(conn, |conn| -> Result<FunderRow, FunderError> {
        let fund = crate::db::campaigns::load_fund(conn, fund_id)
            .optional()?
            .ok_or(FunderError::FundNotFound)?;
        if fund.funding_split == FundingSplit::Proportional {
            return Err(FunderError::SharesFixed);
        }
        let row = insert_funder(conn, &fund, new, "funder joined")?;
        crate::db::queries::audit(
            conn,
            actor,
            "funder.create",
            "funder",
            &row.id,
            Some(format!("joined fund {fund_id} with budget {}", row.budget)),
        )?;
        Ok(row)
    })?;
    super::matching::serve_waitlist(conn, fund_id)?;
    Ok(row)
}

/// Changes one funder's budget (never below what it has promised); a raise serves the fund's
/// waitlist.
pub fn set_funder_budget(
    conn: &mut DbConnection,
    actor: &crate::auth::Principal,
    fund_id: &str,
    funder_id: &str,
    budget: impl FnOnce(&FundRow) -> Result<i64, FunderError>,
) -> Result<(), FunderError> {
    crate::db::write_tx(conn, |conn| -> Result<(), FunderError> {
        let fund = crate::db::campaigns::load_fund(conn, fund_id)
            .optional()?
            .ok_or(FunderError::FundNotFound)?;
        let funder = crate::db::funders::load_funder(conn, fund_id, funder_id)?
            .ok_or(FunderError::FunderNotFound)?;
        let budget = budget(&fund)?;
        if !ledger::set_budget(
            conn,
            fund_id,
            funder_id,
            fund.currency,
            budget,
            "budget changed by the finance office",
        )? {
            return Err(FunderError::BelowPromised);
        }
        crate::db::queries::audit(
            conn,
            actor,
            "funder.budget",
            "funder",
            funder_id,
            Some(format!("{} -> {budget}", funder.budget)),
        )?;
        Ok(())
    })?;
    super::matching::serve_waitlist(conn, fund_id)?;
    Ok(())
}
