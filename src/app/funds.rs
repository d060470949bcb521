//! Funds and their funders: the rules a new fund is checked against and its creation, its
//! transparency fields, its reads with the ledger's figures; a funder joins a fund (its budget
//! arriving through the ledger's door, then serving the fund's waitlist), and the finance office
//! changes one funder's budget. The fund's figures are the sums over its funders (`db::ledger`).

use crate::app::AppState;
use crate::app::quadratic::{self, DistributeError, Round};
use crate::auth::Principal;
use crate::clock::now;
use crate::db::funders::load_funders;
use crate::db::models::{FundAreaRow, FundRow, FunderRow};
use crate::db::queries::{audit, fund_area_ids};
use crate::db::schema::{areas, fund_areas, funds};
use crate::db::{DbConnection, DbError, ledger, write_tx};
use crate::domain::fund::{Allocation, ExhaustionPolicy, FunderKind, FundingSplit, MatchPolicy};
use crate::domain::iban::{Bic, Iban};
use crate::domain::ids::{self, FundId, FunderId};
use crate::domain::money::{Currency, Ratio, parse_amount, parse_non_negative_amount};
use crate::domain::tax_code::TaxCode;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use std::collections::HashMap;

pub const FUNDER: &str = ids::FUNDER;

/// At most this many funders pay one fund.
pub const MAX_FUNDERS: usize = 20;

pub use crate::app::Invalid;

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
    #[error("a fund has at most {MAX_FUNDERS} funders")]
    TooManyFunders,
    #[error("invalid fields")]
    Invalid(Vec<Invalid>),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for FunderError {
    fn from(e: diesel::result::Error) -> FunderError {
        FunderError::Db(DbError::Query(e))
    }
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
        recoverable: 0,
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
    super::matching::serve_waitlist(conn, &FundId::from(fund_id))?;
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
        let funder = crate::db::funders::load_funder(
            conn,
            &FundId::from(fund_id),
            &FunderId::from(funder_id),
        )?
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
    super::matching::serve_waitlist(conn, &FundId::from(fund_id))?;
    Ok(())
}

/// Why a fund was not created, read or changed.
#[derive(Debug, thiserror::Error)]
pub enum FundError {
    #[error("no such fund")]
    NotFound,
    #[error("invalid fields")]
    Invalid(Vec<Invalid>),
    /// The fund-wide budget route serves a fund with one funder only.
    #[error("this fund has several funders")]
    SeveralFunders,
    #[error(transparent)]
    Funder(#[from] FunderError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for FundError {
    fn from(e: diesel::result::Error) -> FundError {
        FundError::Db(DbError::Query(e))
    }
}

/// A funder as sent, before it is checked ([`validate_funder`]).
#[derive(Debug, Clone)]
pub struct FunderInput {
    pub name: String,
    pub kind: FunderKind,
    pub tax_code: Option<String>,
    pub iban: Option<String>,
    pub bic: Option<String>,
    pub budget: String,
    pub priority: Option<i32>,
    pub share: Option<String>,
}

/// The transparency register's and the treasury's fields of a fund, as sent.
#[derive(Debug, Clone, Default)]
pub struct PublicFieldsInput {
    pub legal_basis: Option<String>,
    pub office: Option<String>,
    pub responsible_official: Option<String>,
    pub selection_method: Option<String>,
    pub siope_code: Option<String>,
}

/// A new fund as sent, before it is checked ([`validate`]).
#[derive(Debug, Clone)]
pub struct FundInput {
    pub name: String,
    pub currency: Option<String>,
    pub budget: Option<String>,
    pub funders: Option<Vec<FunderInput>>,
    pub funding_split: FundingSplit,
    pub match_policy: MatchPolicy,
    pub quadratic_identity: crate::domain::fund::QuadraticIdentity,
    pub payment_plan: crate::domain::grant::PaymentPlan,
    pub advance_ratio: Option<String>,
    pub reporting_days: Option<i32>,
    pub max_match_per_donation: Option<String>,
    pub match_hold_secs: Option<i32>,
    pub min_contribution: Option<String>,
    pub threshold_ratio: Option<String>,
    pub match_ratio: Option<String>,
    pub max_match_per_campaign: Option<String>,
    pub min_goal: Option<String>,
    pub max_goal: Option<String>,
    pub min_donors: Option<i32>,
    pub eligible_area_ids: Vec<String>,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub allocation: Allocation,
    pub exhaustion_policy: ExhaustionPolicy,
    pub cup: Option<String>,
    pub public: PublicFieldsInput,
}

/// A fund as read: its row, eligible areas, figures from the ledger and its funders (in draw
/// order, each with its own figures from the ledger).
#[derive(Debug, Clone)]
pub struct FundDetails {
    pub fund: FundRow,
    pub area_ids: Vec<String>,
    pub balances: ledger::Balances,
    pub funders: Vec<FunderRow>,
}

/// The public fields, checked: trimmed, within their lengths, blanks as absent.
pub struct PublicFields {
    pub legal_basis: Option<String>,
    pub office: Option<String>,
    pub responsible_official: Option<String>,
    pub selection_method: Option<String>,
    pub siope_code: Option<String>,
}

impl PublicFields {
    pub fn check(input: PublicFieldsInput, errors: &mut Vec<Invalid>) -> PublicFields {
        let mut text = |field: &'static str, v: Option<String>, max: usize| {
            let v = v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())?;
            if v.chars().count() > max || v.chars().any(char::is_control) {
                errors.push(Invalid::new(
                    field,
                    format!("at most {max} characters, no control characters"),
                ));
                return None;
            }
            Some(v)
        };
        let legal_basis = text("legal_basis", input.legal_basis, 500);
        let office = text("office", input.office, 200);
        let responsible_official = text("responsible_official", input.responsible_official, 200);
        let selection_method = text("selection_method", input.selection_method, 500);
        let siope_code = match input.siope_code {
            None => None,
            Some(c) if valid_siope_code(&c) => Some(c),
            Some(_) => {
                errors.push(Invalid::new(
                    "siope_code",
                    "1–30 upper-case letters, digits and dots, such as U.1.04.04.01.001",
                ));
                None
            }
        };
        PublicFields {
            legal_basis,
            office,
            responsible_official,
            selection_method,
            siope_code,
        }
    }
}

fn valid_siope_code(s: &str) -> bool {
    (1..=30).contains(&s.len())
        && s.as_bytes()[0] != b'.'
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'.')
}

/// A CUP is 15 upper-case letters and digits.
fn valid_cup(s: &str) -> bool {
    s.len() == 15
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// A fund checked and ready to insert: its row (without money), its eligible areas (sorted,
/// unique; not yet looked up) and its funders (`city` alone when a budget was given).
pub struct NewFund {
    pub row: FundRow,
    pub area_ids: Vec<String>,
    pub funders: Vec<NewFunder>,
}

/// Checks a new fund: every field and the rules between them. `city` names the one public
/// funder of a fund given a `budget`.
pub fn validate(input: FundInput, city: &str) -> Result<NewFund, Vec<Invalid>> {
    let mut errors = Vec::new();
    let name = input.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 {
        errors.push(Invalid::new("name", "1–200 characters"));
    }
    let currency = match Currency::parse(input.currency.as_deref().unwrap_or("EUR")) {
        Ok(c) => c,
        Err(e) => {
            errors.push(Invalid::new("currency", e));
            Currency::EUR
        }
    };
    let mut amount = |field: &str, v: Option<&str>| -> Option<i64> {
        let v = v?;
        match parse_amount(v, currency) {
            Ok(m) => Some(m),
            Err(e) => {
                errors.push(Invalid::new(field, e));
                None
            }
        }
    };
    let budget = amount("budget", input.budget.as_deref());
    let max_per_donation = amount(
        "max_match_per_donation",
        input.max_match_per_donation.as_deref(),
    );
    let max_match = amount(
        "max_match_per_campaign",
        input.max_match_per_campaign.as_deref(),
    );
    let min_goal = amount("min_goal", input.min_goal.as_deref());
    let max_goal = amount("max_goal", input.max_goal.as_deref());
    let mut ratio = |field: &str, v: Option<&str>| -> Ratio {
        match Ratio::parse(v.unwrap_or("0.5")) {
            Ok(r) => r,
            Err(e) => {
                errors.push(Invalid::new(field, e));
                Ratio::ONE
            }
        }
    };
    let threshold_ratio = ratio("threshold_ratio", input.threshold_ratio.as_deref());
    let match_ratio = match (input.match_policy, input.match_ratio.as_deref()) {
        (MatchPolicy::PerDonation, None) => Ratio::ONE,
        (_, given) => ratio("match_ratio", given),
    };
    let min_contribution = match input.min_contribution.as_deref() {
        None => 0,
        Some(v) => match parse_non_negative_amount(v, currency) {
            Ok(m) => m,
            Err(e) => {
                errors.push(Invalid::new("min_contribution", e));
                0
            }
        },
    };
    let policy = input.match_policy;
    if policy != MatchPolicy::PerDonation {
        if input.max_match_per_donation.is_some() {
            errors.push(Invalid::new(
                "max_match_per_donation",
                "only for per_donation funds",
            ));
        }
        if input.match_hold_secs.is_some() {
            errors.push(Invalid::new(
                "match_hold_secs",
                "only for per_donation funds",
            ));
        }
    }
    if policy != MatchPolicy::Quadratic && input.min_contribution.is_some() {
        errors.push(Invalid::new("min_contribution", "only for quadratic funds"));
    }
    if policy != MatchPolicy::ThresholdTopUp && input.allocation == Allocation::OnApproval {
        errors.push(Invalid::new(
            "allocation",
            "on_approval is a threshold_top_up rule",
        ));
    }
    let match_hold_secs = input.match_hold_secs.unwrap_or(1800);
    if !(60..=86_400).contains(&match_hold_secs) {
        errors.push(Invalid::new(
            "match_hold_secs",
            "between 60 and 86400 seconds",
        ));
    }
    let funders = match (&input.budget, input.funders) {
        (Some(_), Some(_)) => {
            errors.push(Invalid::new(
                "funders",
                "give either budget or funders, not both",
            ));
            Vec::new()
        }
        (None, None) => {
            errors.push(Invalid::new("budget", "give a budget or funders"));
            Vec::new()
        }
        (Some(_), None) => vec![NewFunder {
            name: city.to_string(),
            kind: FunderKind::Public,
            tax_code: None,
            iban: None,
            bic: None,
            budget: budget.unwrap_or_default(),
            priority: Some(1),
            share: (input.funding_split == FundingSplit::Proportional).then_some(Ratio::ONE),
        }],
        (None, Some(given)) => {
            if given.is_empty() || given.len() > MAX_FUNDERS {
                errors.push(Invalid::new("funders", "1–20 funders"));
            }
            let mut out = Vec::new();
            let asked = given.len().min(MAX_FUNDERS);
            for (i, f) in given.into_iter().take(MAX_FUNDERS).enumerate() {
                match validate_funder(f, currency, &format!("funders[{i}]")) {
                    Ok(mut nf) => {
                        if nf.priority.is_none() {
                            nf.priority = Some(i as i32 + 1);
                        }
                        out.push(nf)
                    }
                    Err(mut e) => errors.append(&mut e),
                }
            }
            if out.len() < asked {
                // A refused funder: the split is checked once every funder is valid.
                Vec::new()
            } else {
                out
            }
        }
    };
    match input.funding_split {
        FundingSplit::Proportional => {
            let shares: Vec<Option<Ratio>> = funders.iter().map(|f| f.share).collect();
            if !funders.is_empty() && !shares_add_up(&shares) {
                errors.push(Invalid::new(
                    "funders",
                    "under proportional, every funder has a share and the shares add up to 1",
                ));
            }
        }
        FundingSplit::Priority => {
            if funders.iter().any(|f| f.share.is_some()) && input.budget.is_none() {
                errors.push(Invalid::new("funders", "shares are for proportional funds"));
            }
        }
    }
    if let (Some(lo), Some(hi)) = (min_goal, max_goal)
        && lo > hi
    {
        errors.push(Invalid::new("max_goal", "must not be below min_goal"));
    }
    let min_donors = input.min_donors.unwrap_or(1);
    if !(1..=1_000_000).contains(&min_donors) {
        errors.push(Invalid::new("min_donors", "must be between 1 and 1000000"));
    }
    let mut area_ids = input.eligible_area_ids;
    area_ids.sort();
    area_ids.dedup();
    if area_ids.is_empty() {
        errors.push(Invalid::new("eligible_area_ids", "must not be empty"));
    }
    if input.closes_at <= input.opens_at {
        errors.push(Invalid::new("closes_at", "must be after opens_at"));
    }
    let cup = input.cup.map(|c| c.trim().to_ascii_uppercase());
    if let Some(c) = &cup
        && !valid_cup(c)
    {
        errors.push(Invalid::new("cup", "a CUP is 15 letters and digits"));
    }
    let public = PublicFields::check(input.public, &mut errors);
    let advance_ratio = match (input.payment_plan, input.advance_ratio.as_deref()) {
        (crate::domain::grant::PaymentPlan::OnCommitment, Some(_)) => {
            errors.push(Invalid::new(
                "advance_ratio",
                "only for funds paid in tranches",
            ));
            None
        }
        (crate::domain::grant::PaymentPlan::OnCommitment, None) => None,
        (crate::domain::grant::PaymentPlan::Tranches, given) => {
            match parse_advance_ratio(given.unwrap_or("0")) {
                Some(r) => Some(r),
                None => {
                    errors.push(Invalid::new(
                        "advance_ratio",
                        "a decimal from 0 to 1 with at most 6 decimal places",
                    ));
                    None
                }
            }
        }
    };
    let reporting_days = input.reporting_days.unwrap_or(365);
    if !(1..=3650).contains(&reporting_days) {
        errors.push(Invalid::new("reporting_days", "between 1 and 3650 days"));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let row = FundRow {
        id: ids::new_id(ids::FUND),
        name,
        currency,
        budget: 0,
        threshold_ratio,
        match_ratio,
        max_match_per_campaign: max_match,
        min_goal,
        max_goal,
        min_donors,
        opens_at: crate::clock::from_client(input.opens_at),
        closes_at: crate::clock::from_client(input.closes_at),
        allocation: input.allocation,
        exhaustion_policy: input.exhaustion_policy,
        cup,
        reserved: 0,
        committed: 0,
        settled: 0,
        created_at: now(),
        held: 0,
        funding_split: input.funding_split,
        match_policy: policy,
        max_match_per_donation: max_per_donation,
        match_hold_secs,
        min_contribution,
        distributed_at: None,
        legal_basis: public.legal_basis,
        office: public.office,
        responsible_official: public.responsible_official,
        selection_method: public.selection_method,
        siope_code: public.siope_code,
        quadratic_identity: input.quadratic_identity,
        payment_plan: input.payment_plan,
        advance_ratio,
        reporting_days,
        recoverable: 0,
    };
    Ok(NewFund {
        row,
        area_ids,
        funders,
    })
}

/// An advance ratio: a plain decimal from 0 to 1 with at most 6 decimal places, normalised
/// ("0.40" → "0.4"); 0 means no advance.
fn parse_advance_ratio(s: &str) -> Option<String> {
    if s.trim() == "0" || s.trim().trim_end_matches('0') == "0." {
        return (s.trim() == s).then(|| "0".to_string());
    }
    Ratio::parse(s).ok().map(|r| r.to_string_normalized())
}

/// Creates a fund: checked ([`validate`]), its eligible areas all known, inserted without money
/// with its areas, each funder's budget arriving through the ledger's door, audited; all in one
/// write transaction.
pub async fn create(
    state: &AppState,
    actor: Principal,
    input: FundInput,
) -> Result<FundDetails, FundError> {
    let NewFund {
        row,
        area_ids,
        funders,
    } = validate(input, &state.config.debtor_name).map_err(FundError::Invalid)?;
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| -> Result<FundDetails, FundError> {
                let known: Vec<String> = areas::table
                    .filter(areas::id.eq_any(&area_ids))
                    .select(areas::id)
                    .load(conn)?;
                let missing: Vec<Invalid> = area_ids
                    .iter()
                    .filter(|id| !known.contains(id))
                    .map(|id| Invalid::new("eligible_area_ids", format!("unknown area {id}")))
                    .collect();
                if !missing.is_empty() {
                    return Err(FundError::Invalid(missing));
                }
                // Inserted without money; each funder's budget arrives through the ledger's door.
                diesel::insert_into(funds::table)
                    .values(row.clone())
                    .execute(conn)?;
                // One row at a time: diesel's multi-backend connection has no batch insert.
                for area_id in &area_ids {
                    diesel::insert_into(fund_areas::table)
                        .values(FundAreaRow {
                            fund_id: row.id.clone(),
                            area_id: area_id.clone(),
                        })
                        .execute(conn)?;
                }
                for f in funders {
                    insert_funder(conn, &row, f, "initial budget")?;
                }
                audit(conn, &actor, "fund.create", "fund", &row.id, None)?;
                load(conn, &row.id)
            })
        })
        .await
}

/// A fund with its areas, the ledger's figures and its funders, in the caller's connection.
pub fn load(conn: &mut DbConnection, id: &str) -> Result<FundDetails, FundError> {
    let fund = crate::db::campaigns::load_fund(conn, id)
        .optional()?
        .ok_or(FundError::NotFound)?;
    let area_ids = fund_area_ids(conn, id)?;
    let balances = ledger::balances(conn, &FundId::from(id))?;
    let funders = funders_with_figures(conn, &fund)?;
    Ok(FundDetails {
        fund,
        area_ids,
        balances,
        funders,
    })
}

/// One fund (see [`load`]).
pub async fn get(state: &AppState, id: String) -> Result<FundDetails, FundError> {
    state.db.run(move |conn| load(conn, &id)).await
}

/// Up to `limit + 1` funds after `cursor`, in id order, each as [`load`] reads it (the extra
/// one only says there is more).
pub async fn list(
    state: &AppState,
    limit: i64,
    cursor: String,
) -> Result<Vec<FundDetails>, FundError> {
    state
        .db
        .run(move |conn| -> Result<Vec<FundDetails>, FundError> {
            let rows: Vec<FundRow> = funds::table
                .filter(funds::id.gt(&cursor))
                .order(funds::id)
                .limit(limit + 1)
                .select(FundRow::as_select())
                .load(conn)?;
            let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
            let links: Vec<(String, String)> = fund_areas::table
                .filter(fund_areas::fund_id.eq_any(&ids))
                .select((fund_areas::fund_id, fund_areas::area_id))
                .order((fund_areas::fund_id, fund_areas::area_id))
                .load(conn)?;
            let mut balances = HashMap::new();
            for r in &rows {
                balances.insert(r.id.clone(), ledger::balances(conn, &FundId::from(&r.id))?);
            }
            let mut funders = funders_with_figures_of(conn, &rows)?;
            Ok(rows
                .into_iter()
                .map(|fund| FundDetails {
                    area_ids: links
                        .iter()
                        .filter(|(f, _)| *f == fund.id)
                        .map(|(_, a)| a.clone())
                        .collect(),
                    balances: balances.get(&fund.id).copied().unwrap_or_default(),
                    funders: funders.remove(&fund.id).unwrap_or_default(),
                    fund,
                })
                .collect())
        })
        .await
}

/// Sets the budget of a fund with one funder, from the amount as sent: that funder's budget
/// ([`set_budget_from_text`]). A fund with several funders changes each funder's on its own.
pub async fn set_single_budget(
    state: &AppState,
    actor: Principal,
    fund_id: String,
    budget: String,
) -> Result<FundDetails, FundError> {
    state
        .db
        .run(move |conn| -> Result<FundDetails, FundError> {
            let mut funders = load_funders(conn, &fund_id)?;
            if funders.is_empty() {
                return Err(FundError::NotFound);
            }
            if funders.len() != 1 {
                return Err(FundError::SeveralFunders);
            }
            let funder = funders.remove(0);
            set_budget_from_text(conn, &actor, &fund_id, &funder.id, &budget)?;
            load(conn, &fund_id)
        })
        .await
}

/// Sets a fund's transparency and treasury fields. Once the four register fields are all
/// present, the fund's waiting awards are published with them (an award already published
/// keeps what it was published with).
pub async fn set_transparency(
    state: &AppState,
    actor: Principal,
    fund_id: String,
    input: PublicFieldsInput,
) -> Result<FundDetails, FundError> {
    let mut errors = Vec::new();
    let fields = PublicFields::check(input, &mut errors);
    if !errors.is_empty() {
        return Err(FundError::Invalid(errors));
    }
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| -> Result<FundDetails, FundError> {
                let changed = diesel::update(funds::table.find(&fund_id))
                    .set((
                        funds::legal_basis.eq(&fields.legal_basis),
                        funds::office.eq(&fields.office),
                        funds::responsible_official.eq(&fields.responsible_official),
                        funds::selection_method.eq(&fields.selection_method),
                        funds::siope_code.eq(&fields.siope_code),
                    ))
                    .execute(conn)?;
                if changed == 0 {
                    return Err(FundError::NotFound);
                }
                let row = crate::db::campaigns::load_fund(conn, &fund_id)?;
                let published = crate::app::transparency::publish_waiting(conn, &row)?;
                audit(
                    conn,
                    &actor,
                    "fund.transparency",
                    "fund",
                    &fund_id,
                    Some(format!("{published} awards published")),
                )?;
                load(conn, &fund_id)
            })
        })
        .await
}

/// Checks one funder as sent; field names are prefixed with `at` (`funders[1].iban`).
pub fn validate_funder(
    f: FunderInput,
    currency: Currency,
    at: &str,
) -> Result<NewFunder, Vec<Invalid>> {
    let field = |name: &str| {
        if at.is_empty() {
            name.to_string()
        } else {
            format!("{at}.{name}")
        }
    };
    let mut errors = Vec::new();
    let name = f.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 {
        errors.push(Invalid::new(field("name"), "1–200 characters"));
    }
    let tax_code = match f.tax_code.as_deref().map(TaxCode::parse) {
        None => None,
        Some(Ok(t)) => Some(t.as_str().to_string()),
        Some(Err(e)) => {
            errors.push(Invalid::new(field("tax_code"), e));
            None
        }
    };
    let iban = match f.iban.as_deref().map(Iban::parse) {
        None => None,
        Some(Ok(i)) => Some(i.as_str().to_string()),
        Some(Err(e)) => {
            errors.push(Invalid::new(field("iban"), e));
            None
        }
    };
    let bic = match f.bic.as_deref().map(Bic::parse) {
        None => None,
        Some(Ok(b)) => Some(b.as_str().to_string()),
        Some(Err(e)) => {
            errors.push(Invalid::new(field("bic"), e));
            None
        }
    };
    if f.kind == FunderKind::Private {
        if f.tax_code.is_none() {
            errors.push(Invalid::new(
                field("tax_code"),
                "required for a private funder",
            ));
        }
        if f.iban.is_none() {
            errors.push(Invalid::new(field("iban"), "required for a private funder"));
        }
    }
    let budget = match parse_non_negative_amount(&f.budget, currency) {
        Ok(b) => b,
        Err(e) => {
            errors.push(Invalid::new(field("budget"), e));
            0
        }
    };
    if let Some(p) = f.priority
        && !(1..=1000).contains(&p)
    {
        errors.push(Invalid::new(field("priority"), "between 1 and 1000"));
    }
    let share = match f.share.as_deref().map(Ratio::parse) {
        None => None,
        Some(Ok(r)) => Some(r),
        Some(Err(e)) => {
            errors.push(Invalid::new(field("share"), e));
            None
        }
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(NewFunder {
        name,
        kind: f.kind,
        tax_code,
        iban,
        bic,
        budget,
        priority: f.priority,
        share,
    })
}

/// A fund's funders in draw order, their figures from the ledger.
pub fn funders_with_figures(
    conn: &mut DbConnection,
    fund: &FundRow,
) -> QueryResult<Vec<FunderRow>> {
    Ok(funders_with_figures_of(conn, std::slice::from_ref(fund))?
        .remove(&fund.id)
        .unwrap_or_default())
}

/// The funders of several funds (a page of the fund list) in two queries, by fund id, in draw
/// order, their figures from the ledger.
pub fn funders_with_figures_of(
    conn: &mut DbConnection,
    funds: &[FundRow],
) -> QueryResult<HashMap<String, Vec<FunderRow>>> {
    use crate::db::schema::funders;
    let ids: Vec<&str> = funds.iter().map(|f| f.id.as_str()).collect();
    let rows: Vec<FunderRow> = funders::table
        .filter(funders::fund_id.eq_any(&ids))
        .order((funders::fund_id, funders::priority.asc(), funders::id.asc()))
        .select(FunderRow::as_select())
        .load(conn)?;
    let books = ledger::funders_balances(conn, &ids)?;
    let mut out: HashMap<String, Vec<FunderRow>> = Default::default();
    for mut f in rows {
        let b = books.get(&f.id).copied().unwrap_or_default();
        f.budget = b.budget;
        f.held = b.held;
        f.reserved = b.reserved;
        f.committed = b.committed;
        f.settled = b.settled;
        out.entry(f.fund_id.clone()).or_default().push(f);
    }
    Ok(out)
}

/// A funder joins a fund as sent (checked in the fund's currency, at most [`MAX_FUNDERS`]), as
/// [`add_funder`] does; returns the funder with its figures, and its fund.
pub async fn join(
    state: &AppState,
    actor: Principal,
    fund_id: String,
    input: FunderInput,
) -> Result<(FundRow, FunderRow), FunderError> {
    state
        .db
        .run(move |conn| -> Result<(FundRow, FunderRow), FunderError> {
            let fund = crate::db::campaigns::load_fund(conn, &fund_id)
                .optional()?
                .ok_or(FunderError::FundNotFound)?;
            let new = validate_funder(input, fund.currency, "").map_err(FunderError::Invalid)?;
            if load_funders(conn, &fund_id)?.len() >= MAX_FUNDERS {
                return Err(FunderError::TooManyFunders);
            }
            let row = add_funder(conn, &actor, &fund_id, new)?;
            let funder = funders_with_figures(conn, &fund)?
                .into_iter()
                .find(|f| f.id == row.id)
                .ok_or(FunderError::FunderNotFound)?;
            Ok((fund, funder))
        })
        .await
}

/// A fund's funders with their own figures, in draw order; and the fund.
pub async fn funders_of(
    state: &AppState,
    fund_id: String,
) -> Result<(FundRow, Vec<FunderRow>), FunderError> {
    state
        .db
        .run(
            move |conn| -> Result<(FundRow, Vec<FunderRow>), FunderError> {
                let fund = crate::db::campaigns::load_fund(conn, &fund_id)
                    .optional()?
                    .ok_or(FunderError::FundNotFound)?;
                let funders = funders_with_figures(conn, &fund)?;
                Ok((fund, funders))
            },
        )
        .await
}

/// Changes one funder's budget from the amount as sent ([`set_budget_from_text`]); returns the
/// funder with its figures, and its fund.
pub async fn set_budget(
    state: &AppState,
    actor: Principal,
    fund_id: String,
    funder_id: String,
    budget: String,
) -> Result<(FundRow, FunderRow), FunderError> {
    state
        .db
        .run(move |conn| -> Result<(FundRow, FunderRow), FunderError> {
            set_budget_from_text(conn, &actor, &fund_id, &funder_id, &budget)?;
            let fund = crate::db::campaigns::load_fund(conn, &fund_id)?;
            let funder = funders_with_figures(conn, &fund)?
                .into_iter()
                .find(|f| f.id == funder_id)
                .ok_or(FunderError::FunderNotFound)?;
            Ok((fund, funder))
        })
        .await
}

/// Sets one funder's budget from the amount as sent ([`FunderError::Invalid`] when it does not
/// parse in the fund's currency; otherwise as [`set_funder_budget`]). Both budget routes.
pub fn set_budget_from_text(
    conn: &mut DbConnection,
    actor: &Principal,
    fund_id: &str,
    funder_id: &str,
    text: &str,
) -> Result<(), FunderError> {
    set_funder_budget(conn, actor, fund_id, funder_id, |fund| {
        parse_non_negative_amount(text, fund.currency)
            .map_err(|e| FunderError::Invalid(vec![Invalid::new("budget", e)]))
    })
}

/// Why a quadratic round was not read or shared.
#[derive(Debug, thiserror::Error)]
pub enum RoundError {
    #[error(transparent)]
    Round(#[from] DistributeError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The live estimate of a quadratic round, with its inputs.
pub async fn quadratic_estimate(state: &AppState, fund_id: String) -> Result<Round, RoundError> {
    let fund_id = FundId::from(fund_id);
    state
        .db
        .run(move |conn| Ok(quadratic::estimate(conn, &fund_id)?))
        .await
}

/// Shares a quadratic round's pool now (idempotent: asked again, the round as shared).
pub async fn distribute(
    state: &AppState,
    actor: Principal,
    fund_id: String,
) -> Result<Round, RoundError> {
    let fund_id = FundId::from(fund_id);
    state
        .db
        .run(move |conn| Ok(quadratic::distribute(conn, Some(&actor), &fund_id)?))
        .await
}
