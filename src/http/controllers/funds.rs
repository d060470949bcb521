//! Match funds: one public call each, with its own budget and matching parameters.

use crate::app::AppState;
use crate::app::matching as engine;
use crate::db::models::{FundAreaRow, FundRow};
use crate::db::queries::{audit, fund_area_ids};
use crate::db::schema::{areas, fund_areas, funds};
use crate::db::{DbConnection, ledger, write_tx};
use crate::domain::ids;
use crate::domain::money::{Currency, Ratio, parse_amount, parse_non_negative_amount};
use crate::domain::role::Role;
use crate::http::error::{ApiError, ApiResult, FieldError};
use crate::http::extract::{ApiJson, Page, PageParams, Principal, check_limit};
use crate::http::views::{from_client, money, now, ts};
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use crate::domain::fund::{Allocation, ExhaustionPolicy};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateFund {
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: String,
    /// ISO 4217 code (default `EUR`).
    #[schema(example = "EUR")]
    pub currency: Option<String>,
    #[schema(example = "600000.00")]
    pub budget: String,
    /// Share of the goal the crowd must raise, 0 < r ≤ 1 (default "0.5").
    #[schema(example = "0.5")]
    pub threshold_ratio: Option<String>,
    /// Share of the goal the city adds, 0 < m ≤ 1 (default "0.5").
    #[schema(example = "0.5")]
    pub match_ratio: Option<String>,
    #[schema(example = "50000.00")]
    pub max_match_per_campaign: Option<String>,
    #[schema(example = "20000.00")]
    pub min_goal: Option<String>,
    #[schema(example = "100000.00")]
    pub max_goal: Option<String>,
    /// Distinct donors needed besides the threshold (default 1).
    pub min_donors: Option<i32>,
    pub eligible_area_ids: Vec<String>,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    #[serde(default)]
    pub allocation: Allocation,
    #[serde(default)]
    pub exhaustion_policy: ExhaustionPolicy,
    /// Italian Codice Unico di Progetto (15 characters), quoted on every payment.
    pub cup: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FundView {
    pub id: String,
    pub name: String,
    pub currency: String,
    #[schema(example = "600000.00")]
    pub budget: String,
    pub threshold_ratio: String,
    pub match_ratio: String,
    pub max_match_per_campaign: Option<String>,
    pub min_goal: Option<String>,
    pub max_goal: Option<String>,
    pub min_donors: i32,
    pub eligible_area_ids: Vec<String>,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub allocation: Allocation,
    pub exhaustion_policy: ExhaustionPolicy,
    pub cup: Option<String>,
    /// Match money reserved for campaigns still running.
    pub reserved: String,
    /// Match money owed to succeeded campaigns, not yet paid.
    pub committed: String,
    /// Match money paid out.
    pub settled: String,
    /// budget − reserved − committed − settled.
    pub available: String,
    pub created_at: DateTime<Utc>,
}

pub type FundPage = Page<FundView>;

/// The fund as the API shows it; the budget figures come from the ledger.
pub fn fund_view(row: FundRow, eligible_area_ids: Vec<String>, b: ledger::Balances) -> FundView {
    let c = &row.currency;
    FundView {
        budget: money(b.budget, c),
        max_match_per_campaign: row.max_match_per_campaign.map(|v| money(v, c)),
        min_goal: row.min_goal.map(|v| money(v, c)),
        max_goal: row.max_goal.map(|v| money(v, c)),
        reserved: money(b.reserved, c),
        committed: money(b.committed, c),
        settled: money(b.settled, c),
        available: money(b.available, c),
        allocation: row.allocation,
        exhaustion_policy: row.exhaustion_policy,
        id: row.id,
        name: row.name,
        currency: row.currency.to_string(),
        threshold_ratio: row.threshold_ratio.to_string(),
        match_ratio: row.match_ratio.to_string(),
        min_donors: row.min_donors,
        eligible_area_ids,
        opens_at: ts(row.opens_at),
        closes_at: ts(row.closes_at),
        cup: row.cup,
        created_at: ts(row.created_at),
    }
}

/// A CUP is 15 upper-case letters and digits.
fn valid_cup(s: &str) -> bool {
    s.len() == 15
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

fn validate(body: CreateFund) -> Result<(FundRow, Vec<String>), ApiError> {
    let mut errors = Vec::new();
    let name = body.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 {
        errors.push(FieldError::new("name", "1–200 characters"));
    }
    let currency = match Currency::parse(body.currency.as_deref().unwrap_or("EUR")) {
        Ok(c) => c,
        Err(e) => {
            errors.push(FieldError::new("currency", e));
            Currency::EUR
        }
    };
    let mut amount = |field: &str, v: Option<&str>| -> Option<i64> {
        let v = v?;
        match parse_amount(v, currency) {
            Ok(m) => Some(m),
            Err(e) => {
                errors.push(FieldError::new(field, e));
                None
            }
        }
    };
    let budget = amount("budget", Some(&body.budget));
    let max_match = amount(
        "max_match_per_campaign",
        body.max_match_per_campaign.as_deref(),
    );
    let min_goal = amount("min_goal", body.min_goal.as_deref());
    let max_goal = amount("max_goal", body.max_goal.as_deref());
    let mut ratio = |field: &str, v: Option<&str>| -> Ratio {
        match Ratio::parse(v.unwrap_or("0.5")) {
            Ok(r) => r,
            Err(e) => {
                errors.push(FieldError::new(field, e));
                Ratio::ONE
            }
        }
    };
    let threshold_ratio = ratio("threshold_ratio", body.threshold_ratio.as_deref());
    let match_ratio = ratio("match_ratio", body.match_ratio.as_deref());
    if let (Some(lo), Some(hi)) = (min_goal, max_goal)
        && lo > hi
    {
        errors.push(FieldError::new("max_goal", "must not be below min_goal"));
    }
    let min_donors = body.min_donors.unwrap_or(1);
    if !(1..=1_000_000).contains(&min_donors) {
        errors.push(FieldError::new(
            "min_donors",
            "must be between 1 and 1000000",
        ));
    }
    let mut area_ids = body.eligible_area_ids.clone();
    area_ids.sort();
    area_ids.dedup();
    if area_ids.is_empty() {
        errors.push(FieldError::new("eligible_area_ids", "must not be empty"));
    }
    if body.closes_at <= body.opens_at {
        errors.push(FieldError::new("closes_at", "must be after opens_at"));
    }
    let cup = body.cup.map(|c| c.trim().to_ascii_uppercase());
    if let Some(c) = &cup
        && !valid_cup(c)
    {
        errors.push(FieldError::new("cup", "a CUP is 15 letters and digits"));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let row = FundRow {
        id: ids::new_id(ids::FUND),
        name,
        currency,
        budget: budget.unwrap_or_default(),
        threshold_ratio,
        match_ratio,
        max_match_per_campaign: max_match,
        min_goal,
        max_goal,
        min_donors,
        opens_at: from_client(body.opens_at),
        closes_at: from_client(body.closes_at),
        allocation: body.allocation,
        exhaustion_policy: body.exhaustion_policy,
        cup,
        reserved: 0,
        committed: 0,
        settled: 0,
        created_at: now(),
    };
    Ok((row, area_ids))
}

/// Create a match fund (admin).
///
/// 422 also for rules between fields and records: `closes_at` after `opens_at`; `min_goal` at
/// most `max_goal`; every `eligible_area_ids` entry an existing area (at least one).
#[utoipa::path(
    tag = "funds",
    request_body = CreateFund,
    security(("bearer" = [])),
    responses(
        (status = 201, body = FundView),
        (status = 403, body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[post("/funds")]
pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    body: ApiJson<CreateFund>,
) -> ApiResult<HttpResponse> {
    principal.require(&[Role::Admin])?;
    let (row, area_ids) = validate(body.into_inner())?;
    let view = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| -> ApiResult<FundView> {
                let known: Vec<String> = areas::table
                    .filter(areas::id.eq_any(&area_ids))
                    .select(areas::id)
                    .load(conn)?;
                let missing: Vec<FieldError> = area_ids
                    .iter()
                    .filter(|id| !known.contains(id))
                    .map(|id| FieldError::new("eligible_area_ids", format!("unknown area {id}")))
                    .collect();
                if !missing.is_empty() {
                    return Err(ApiError::Validation(missing));
                }
                // Inserted without money; the budget arrives through the ledger's door.
                diesel::insert_into(funds::table)
                    .values(FundRow {
                        budget: 0,
                        ..row.clone()
                    })
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
                ledger::set_budget(conn, &row.id, row.currency, row.budget, "initial budget")?;
                audit(conn, &principal, "fund.create", "fund", &row.id, None)?;
                let balances = ledger::balances(conn, &row.id)?;
                Ok(fund_view(row, area_ids, balances))
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

pub fn load_fund(conn: &mut DbConnection, id: &str) -> ApiResult<FundView> {
    let row: FundRow = funds::table
        .find(id)
        .select(FundRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(ApiError::NotFound("fund"))?;
    let area_ids = fund_area_ids(conn, id)?;
    let balances = ledger::balances(conn, id)?;
    Ok(fund_view(row, area_ids, balances))
}

/// List funds with their budget figures (public).
#[utoipa::path(
    tag = "funds",
    params(PageParams),
    responses((status = 200, body = Page<FundView>), (status = 422, body = crate::http::error::Problem))
)]
#[get("/funds")]
pub async fn list(
    state: web::Data<AppState>,
    params: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let params = params.into_inner();
    let limit = check_limit(params.limit)?;
    let cursor = params.cursor.unwrap_or_default();
    let page = state
        .db
        .run(move |conn| -> ApiResult<FundPage> {
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
            let mut balances = std::collections::HashMap::new();
            for id in &ids {
                balances.insert(id.clone(), ledger::balances(conn, id)?);
            }
            Ok(Page::from_rows(
                rows,
                limit,
                |r| r.id.clone(),
                |r| {
                    let areas = links
                        .iter()
                        .filter(|(f, _)| *f == r.id)
                        .map(|(_, a)| a.clone())
                        .collect();
                    let b = balances.get(&r.id).copied().unwrap_or_default();
                    fund_view(r, areas, b)
                },
            ))
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Read a fund: parameters and budget figures (public).
#[utoipa::path(
    tag = "funds",
    params(("id" = String, Path, description = "Fund id (`fund_…`)")),
    responses((status = 200, body = FundView), (status = 404, body = crate::http::error::Problem))
)]
#[get("/funds/{id}")]
pub async fn get(state: web::Data<AppState>, id: web::Path<String>) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let view = state.db.run(move |conn| load_fund(conn, &id)).await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetBudget {
    /// The new budget; never below reserved + committed + settled.
    #[schema(example = "750000.00")]
    pub budget: String,
}

/// Raise or lower a fund's budget (finance, admin).
#[utoipa::path(
    tag = "funds",
    params(("id" = String, Path, description = "Fund id")),
    request_body = SetBudget,
    security(("bearer" = [])),
    responses(
        (status = 200, body = FundView),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, description = "Below what is already promised", body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[post("/funds/{id}/budget")]
pub async fn set_budget(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: ApiJson<SetBudget>,
) -> ApiResult<HttpResponse> {
    principal.require(&[Role::Finance, Role::Admin])?;
    let id = id.into_inner();
    let budget_text = body.into_inner().budget;
    let view = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| -> ApiResult<String> {
                let row: FundRow = funds::table
                    .find(&id)
                    .select(FundRow::as_select())
                    .first(conn)
                    .optional()?
                    .ok_or(ApiError::NotFound("fund"))?;
                let budget = parse_non_negative_amount(&budget_text, row.currency)
                    .map_err(|e| ApiError::validation("budget", e))?;
                if !ledger::set_budget(
                    conn,
                    &row.id,
                    row.currency,
                    budget,
                    "budget changed by the finance office",
                )? {
                    return Err(ApiError::conflict(
                        "budget_below_commitments",
                        "the budget cannot go below reserved + committed + settled",
                    ));
                }
                audit(
                    conn,
                    &principal,
                    "fund.budget",
                    "fund",
                    &id,
                    Some(format!(
                        "{} -> {}",
                        money(row.budget, &row.currency),
                        money(budget, &row.currency)
                    )),
                )?;
                Ok(id.clone())
            })
        })
        .await?;
    // A raise may let waitlisted campaigns in.
    let view = state
        .db
        .run(move |conn| -> ApiResult<FundView> {
            engine::serve_waitlist(conn, &view)?;
            load_fund(conn, &view)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}
