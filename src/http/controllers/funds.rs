//! Match funds: one public call each, with its own budget and matching parameters.

use crate::app::AppState;
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
use actix_web::{HttpResponse, get, post, put, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use crate::domain::fund::{Allocation, ExhaustionPolicy, FundingSplit, MatchPolicy};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateFund {
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: String,
    /// ISO 4217 code (default `EUR`).
    #[schema(example = "EUR")]
    pub currency: Option<String>,
    /// The budget of one public funder, the city (give either `budget` or `funders`).
    #[schema(example = "600000.00")]
    pub budget: Option<String>,
    /// The fund's funders with their own budgets (instead of `budget`), 1–20.
    #[schema(max_items = 20)]
    pub funders: Option<Vec<super::funders::CreateFunder>>,
    /// How each match is divided among the funders (default `priority`).
    #[serde(default)]
    pub funding_split: FundingSplit,
    /// The matching rule (default `threshold_top_up`).
    #[serde(default)]
    pub match_policy: MatchPolicy,
    /// `per_donation`: the most one donation is matched with.
    #[schema(example = "100.00")]
    pub max_match_per_donation: Option<String>,
    /// `per_donation`: how long a pledge's match is held while the donor pays, 60–86400 s
    /// (default 1800).
    #[schema(minimum = 60, maximum = 86400)]
    pub match_hold_secs: Option<i32>,
    /// `quadratic`: a donor's total to a campaign below this is not counted (default 0).
    #[schema(example = "1.00")]
    pub min_contribution: Option<String>,
    /// Share of the goal the crowd must raise, 0 < r ≤ 1 (default "0.5").
    #[schema(example = "0.5")]
    pub threshold_ratio: Option<String>,
    /// Share of the goal the city adds, 0 < m ≤ 1 (default "0.5"); under `per_donation`, the
    /// match of each donation (default "1": one to one).
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
    /// The call and the act that adopted it, as the transparency register cites it
    /// (e.g. "Avviso pubblico, Delibera G.C. n. 123 del 12/03/2026"). Up to 500 characters.
    #[schema(max_length = 500)]
    pub legal_basis: Option<String>,
    /// The office in charge of the procedure. Up to 200 characters.
    #[schema(max_length = 200)]
    pub office: Option<String>,
    /// The official responsible for the procedure. Up to 200 characters.
    #[schema(max_length = 200)]
    pub responsible_official: Option<String>,
    /// How beneficiaries are chosen (e.g. "avviso pubblico con cofinanziamento civico").
    /// Up to 500 characters.
    #[schema(max_length = 500)]
    pub selection_method: Option<String>,
    /// SIOPE code of the expense, quoted as `codice_cgu` on the treasury's payment orders
    /// (e.g. `U.1.04.04.01.001` or `1581`).
    #[schema(max_length = 30, pattern = "^[A-Z0-9][A-Z0-9.]{0,29}$")]
    pub siope_code: Option<String>,
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
    pub legal_basis: Option<String>,
    pub office: Option<String>,
    pub responsible_official: Option<String>,
    pub selection_method: Option<String>,
    pub siope_code: Option<String>,
    /// Register fields still missing: while any is, the fund's public awards wait unpublished
    /// and cannot be paid.
    pub transparency_missing: Vec<String>,
    pub match_policy: MatchPolicy,
    pub funding_split: FundingSplit,
    pub max_match_per_donation: Option<String>,
    pub match_hold_secs: i32,
    pub min_contribution: String,
    /// When a `quadratic` round's pool was shared (null before).
    pub distributed_at: Option<DateTime<Utc>>,
    /// Match money held for pledges being paid (`per_donation`).
    pub held: String,
    /// Match money reserved for campaigns still running.
    pub reserved: String,
    /// Match money owed to succeeded campaigns, not yet paid.
    pub committed: String,
    /// Match money paid out.
    pub settled: String,
    /// budget − held − reserved − committed − settled.
    pub available: String,
    pub created_at: DateTime<Utc>,
    /// Who pays, with each funder's own figures (their sums are the fund's).
    pub funders: Vec<super::funders::FunderView>,
}

pub type FundPage = Page<FundView>;

/// The fund as the API shows it; the budget figures come from the ledger.
pub fn fund_view(
    row: FundRow,
    eligible_area_ids: Vec<String>,
    b: ledger::Balances,
    funders: Vec<super::funders::FunderView>,
) -> FundView {
    let c = &row.currency;
    let transparency_missing = crate::app::transparency::register_fields(&row)
        .missing()
        .into_iter()
        .map(str::to_string)
        .collect();
    FundView {
        funders,
        match_policy: row.match_policy,
        funding_split: row.funding_split,
        max_match_per_donation: row.max_match_per_donation.map(|v| money(v, c)),
        match_hold_secs: row.match_hold_secs,
        min_contribution: money(row.min_contribution, c),
        distributed_at: row.distributed_at.map(ts),
        held: money(b.held, c),
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
        transparency_missing,
        cup: row.cup,
        legal_basis: row.legal_basis,
        office: row.office,
        responsible_official: row.responsible_official,
        selection_method: row.selection_method,
        siope_code: row.siope_code,
        created_at: ts(row.created_at),
    }
}

/// The transparency register's and the treasury's fields of a fund, as sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicFieldsInput {
    /// The call and the act that adopted it, as the transparency register cites it
    /// (e.g. "Avviso pubblico, Delibera G.C. n. 123 del 12/03/2026"). Up to 500 characters.
    #[schema(max_length = 500)]
    pub legal_basis: Option<String>,
    /// The office in charge of the procedure. Up to 200 characters.
    #[schema(max_length = 200)]
    pub office: Option<String>,
    /// The official responsible for the procedure. Up to 200 characters.
    #[schema(max_length = 200)]
    pub responsible_official: Option<String>,
    /// How beneficiaries are chosen (e.g. "avviso pubblico con cofinanziamento civico").
    /// Up to 500 characters.
    #[schema(max_length = 500)]
    pub selection_method: Option<String>,
    /// SIOPE code of the expense, quoted as `codice_cgu` on the treasury's payment orders
    /// (e.g. `U.1.04.04.01.001` or `1581`).
    #[schema(max_length = 30, pattern = "^[A-Z0-9][A-Z0-9.]{0,29}$")]
    pub siope_code: Option<String>,
}

/// The same fields, checked: trimmed, within their lengths, blanks as absent.
pub struct PublicFields {
    pub legal_basis: Option<String>,
    pub office: Option<String>,
    pub responsible_official: Option<String>,
    pub selection_method: Option<String>,
    pub siope_code: Option<String>,
}

impl PublicFields {
    pub fn check(input: PublicFieldsInput, errors: &mut Vec<FieldError>) -> PublicFields {
        let mut text = |field: &'static str, v: Option<String>, max: usize| {
            let v = v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())?;
            if v.chars().count() > max || v.chars().any(char::is_control) {
                errors.push(FieldError::new(
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
                errors.push(FieldError::new(
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

fn validate(
    body: CreateFund,
    city: &str,
) -> Result<(FundRow, Vec<String>, Vec<crate::app::funds::NewFunder>), ApiError> {
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
    let budget = amount("budget", body.budget.as_deref());
    let max_per_donation = amount(
        "max_match_per_donation",
        body.max_match_per_donation.as_deref(),
    );
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
    let match_ratio = match (body.match_policy, body.match_ratio.as_deref()) {
        (MatchPolicy::PerDonation, None) => Ratio::ONE,
        (_, given) => ratio("match_ratio", given),
    };
    let min_contribution = match body.min_contribution.as_deref() {
        None => 0,
        Some(v) => match parse_non_negative_amount(v, currency) {
            Ok(m) => m,
            Err(e) => {
                errors.push(FieldError::new("min_contribution", e));
                0
            }
        },
    };
    let policy = body.match_policy;
    if policy != MatchPolicy::PerDonation {
        if body.max_match_per_donation.is_some() {
            errors.push(FieldError::new(
                "max_match_per_donation",
                "only for per_donation funds",
            ));
        }
        if body.match_hold_secs.is_some() {
            errors.push(FieldError::new(
                "match_hold_secs",
                "only for per_donation funds",
            ));
        }
    }
    if policy != MatchPolicy::Quadratic && body.min_contribution.is_some() {
        errors.push(FieldError::new(
            "min_contribution",
            "only for quadratic funds",
        ));
    }
    if policy != MatchPolicy::ThresholdTopUp && body.allocation == Allocation::OnApproval {
        errors.push(FieldError::new(
            "allocation",
            "on_approval is a threshold_top_up rule",
        ));
    }
    let match_hold_secs = body.match_hold_secs.unwrap_or(1800);
    if !(60..=86_400).contains(&match_hold_secs) {
        errors.push(FieldError::new(
            "match_hold_secs",
            "between 60 and 86400 seconds",
        ));
    }
    let funders = match (&body.budget, body.funders) {
        (Some(_), Some(_)) => {
            errors.push(FieldError::new(
                "funders",
                "give either budget or funders, not both",
            ));
            Vec::new()
        }
        (None, None) => {
            errors.push(FieldError::new("budget", "give a budget or funders"));
            Vec::new()
        }
        (Some(_), None) => vec![crate::app::funds::NewFunder {
            name: city.to_string(),
            kind: crate::domain::fund::FunderKind::Public,
            tax_code: None,
            iban: None,
            bic: None,
            budget: budget.unwrap_or_default(),
            priority: Some(1),
            share: (body.funding_split == FundingSplit::Proportional).then_some(Ratio::ONE),
        }],
        (None, Some(given)) => {
            if given.is_empty() || given.len() > 20 {
                errors.push(FieldError::new("funders", "1–20 funders"));
            }
            let mut out = Vec::new();
            let asked = given.len().min(20);
            for (i, f) in given.into_iter().take(20).enumerate() {
                match super::funders::validate_funder(f, currency, &format!("funders[{i}]")) {
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
    match body.funding_split {
        FundingSplit::Proportional => {
            let shares: Vec<Option<Ratio>> = funders.iter().map(|f| f.share).collect();
            if !funders.is_empty() && !crate::app::funds::shares_add_up(&shares) {
                errors.push(FieldError::new(
                    "funders",
                    "under proportional, every funder has a share and the shares add up to 1",
                ));
            }
        }
        FundingSplit::Priority => {
            if funders.iter().any(|f| f.share.is_some()) && body.budget.is_none() {
                errors.push(FieldError::new(
                    "funders",
                    "shares are for proportional funds",
                ));
            }
        }
    }
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
    let public = PublicFields::check(
        PublicFieldsInput {
            legal_basis: body.legal_basis,
            office: body.office,
            responsible_official: body.responsible_official,
            selection_method: body.selection_method,
            siope_code: body.siope_code,
        },
        &mut errors,
    );
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
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
        opens_at: from_client(body.opens_at),
        closes_at: from_client(body.closes_at),
        allocation: body.allocation,
        exhaustion_policy: body.exhaustion_policy,
        cup,
        reserved: 0,
        committed: 0,
        settled: 0,
        created_at: now(),
        held: 0,
        funding_split: body.funding_split,
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
    };
    Ok((row, area_ids, funders))
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
    let v = create_fund(&state, principal, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(v))
}

/// The use case behind the route, for the API and the console alike.
pub(crate) async fn create_fund(
    state: &AppState,
    principal: Principal,
    body: CreateFund,
) -> ApiResult<FundView> {
    principal.require(&[Role::Admin])?;
    let (row, area_ids, funders) = validate(body, &state.config.debtor_name)?;
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
                    crate::app::funds::insert_funder(conn, &row, f, "initial budget")?;
                }
                audit(conn, &principal, "fund.create", "fund", &row.id, None)?;
                load_fund(conn, &row.id)
            })
        })
        .await?;
    Ok(view)
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
    let funders = super::funders::funder_views(conn, &row)?;
    Ok(fund_view(row, area_ids, balances, funders))
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
            for r in &rows {
                balances.insert(r.id.clone(), ledger::balances(conn, &r.id)?);
            }
            let funders = super::funders::funder_views_of(conn, &rows)?;
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
                    let f = funders.get(&r.id).cloned().unwrap_or_default();
                    fund_view(r, areas, b, f)
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

/// Raise or lower the budget of a fund with one funder (finance, admin); a fund with several
/// funders changes each funder's budget on its own.
#[utoipa::path(
    tag = "funds",
    params(("id" = String, Path, description = "Fund id")),
    request_body = SetBudget,
    security(("bearer" = [])),
    responses(
        (status = 200, body = FundView),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, description = "Below what is already promised, or the fund has several funders", body = crate::http::error::Problem),
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
    // Today's route for a fund with one funder: that funder's budget, through the same use case
    // as the funders' route (which also serves the waitlist after a raise).
    let view = state
        .db
        .run(move |conn| -> ApiResult<FundView> {
            let mut funders = crate::db::funders::load_funders(conn, &id)?;
            if funders.is_empty() {
                return Err(ApiError::NotFound("fund"));
            }
            if funders.len() != 1 {
                return Err(ApiError::conflict(
                    "several_funders",
                    "this fund has several funders: change one funder's budget at \
                     /v1/funds/{id}/funders/{funder_id}/budget",
                ));
            }
            let funder = funders.remove(0);
            super::funders::set_budget_from_text(conn, &principal, &id, &funder.id, &budget_text)?;
            load_fund(conn, &id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Set a fund's transparency and treasury fields (admin). Once the four register fields are
/// all present, the fund's waiting awards are published with them and become payable; an
/// award already published keeps what it was published with.
#[utoipa::path(
    tag = "funds",
    params(("id" = String, Path, description = "Fund id")),
    request_body = PublicFieldsInput,
    security(("bearer" = [])),
    responses(
        (status = 200, body = FundView),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[put("/funds/{id}/transparency")]
pub async fn set_transparency(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: ApiJson<PublicFieldsInput>,
) -> ApiResult<HttpResponse> {
    principal.require(&[Role::Admin])?;
    let id = id.into_inner();
    let mut errors = Vec::new();
    let fields = PublicFields::check(body.into_inner(), &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let view = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| -> ApiResult<FundView> {
                let changed = diesel::update(funds::table.find(&id))
                    .set((
                        funds::legal_basis.eq(&fields.legal_basis),
                        funds::office.eq(&fields.office),
                        funds::responsible_official.eq(&fields.responsible_official),
                        funds::selection_method.eq(&fields.selection_method),
                        funds::siope_code.eq(&fields.siope_code),
                    ))
                    .execute(conn)?;
                if changed == 0 {
                    return Err(ApiError::NotFound("fund"));
                }
                let row: FundRow = funds::table
                    .find(&id)
                    .select(FundRow::as_select())
                    .first(conn)?;
                let published = crate::app::transparency::publish_waiting(conn, &row)?;
                audit(
                    conn,
                    &principal,
                    "fund.transparency",
                    "fund",
                    &id,
                    Some(format!("{published} awards published")),
                )?;
                load_fund(conn, &id)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}
