//! A fund's funders (the city beside a foundation, a company or another public body), each with
//! its own budget and figures; and the quadratic round of a `quadratic` fund.

use crate::app::AppState;
use crate::app::funds::{FunderError, NewFunder};
use crate::app::quadratic::{self, DistributeError, Round};
use crate::db::DbConnection;
use crate::db::models::{FundRow, FunderRow};
use crate::domain::fund::FunderKind;
use crate::domain::iban::{Bic, Iban};
use crate::domain::money::{Currency, Ratio, parse_non_negative_amount};
use crate::domain::role::Role;
use crate::domain::tax_code::TaxCode;
use crate::http::error::{ApiError, ApiResult, FieldError};
use crate::http::extract::{ApiJson, Principal};
use crate::http::views::{money, ts};
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// At most this many funders pay one fund.
pub const MAX_FUNDERS: usize = 20;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateFunder {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "\\S",
        example = "Fondazione CRT"
    )]
    pub name: String,
    pub kind: FunderKind,
    /// Partita IVA (11 digits) or codice fiscale (16 characters); required for private funders.
    #[schema(example = "97542550013")]
    pub tax_code: Option<String>,
    /// The account its payments leave from; required for private funders (the debtor of their
    /// SEPA batches). A public funder without one pays from the configured city account.
    #[schema(example = "IT60X0542811101000000123456")]
    pub iban: Option<String>,
    pub bic: Option<String>,
    #[schema(example = "200000.00")]
    pub budget: String,
    /// Draw order under `priority` (lowest first; default: after the others).
    #[schema(minimum = 1, maximum = 1000)]
    pub priority: Option<i32>,
    /// Its share of every match under `proportional` (the shares add up to 1).
    #[schema(example = "0.4")]
    pub share: Option<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FunderView {
    pub id: String,
    pub fund_id: String,
    pub name: String,
    pub kind: FunderKind,
    pub tax_code: Option<String>,
    pub priority: i32,
    pub share: Option<String>,
    pub budget: String,
    /// Held for pledges being paid (`per_donation`).
    pub held: String,
    pub reserved: String,
    pub committed: String,
    pub settled: String,
    /// budget − held − reserved − committed − settled.
    pub available: String,
    pub created_at: DateTime<Utc>,
}

/// Checks one funder as asked for; field names are prefixed with `at` (`funders[1].iban`).
pub fn validate_funder(
    f: CreateFunder,
    currency: Currency,
    at: &str,
) -> Result<NewFunder, Vec<FieldError>> {
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
        errors.push(FieldError::new(field("name"), "1–200 characters"));
    }
    let tax_code = match f.tax_code.as_deref().map(TaxCode::parse) {
        None => None,
        Some(Ok(t)) => Some(t.as_str().to_string()),
        Some(Err(e)) => {
            errors.push(FieldError::new(field("tax_code"), e));
            None
        }
    };
    let iban = match f.iban.as_deref().map(Iban::parse) {
        None => None,
        Some(Ok(i)) => Some(i.as_str().to_string()),
        Some(Err(e)) => {
            errors.push(FieldError::new(field("iban"), e));
            None
        }
    };
    let bic = match f.bic.as_deref().map(Bic::parse) {
        None => None,
        Some(Ok(b)) => Some(b.as_str().to_string()),
        Some(Err(e)) => {
            errors.push(FieldError::new(field("bic"), e));
            None
        }
    };
    if f.kind == FunderKind::Private {
        if f.tax_code.is_none() {
            errors.push(FieldError::new(
                field("tax_code"),
                "required for a private funder",
            ));
        }
        if f.iban.is_none() {
            errors.push(FieldError::new(
                field("iban"),
                "required for a private funder",
            ));
        }
    }
    let budget = match parse_non_negative_amount(&f.budget, currency) {
        Ok(b) => b,
        Err(e) => {
            errors.push(FieldError::new(field("budget"), e));
            0
        }
    };
    if let Some(p) = f.priority
        && !(1..=1000).contains(&p)
    {
        errors.push(FieldError::new(field("priority"), "between 1 and 1000"));
    }
    let share = match f.share.as_deref().map(Ratio::parse) {
        None => None,
        Some(Ok(r)) => Some(r),
        Some(Err(e)) => {
            errors.push(FieldError::new(field("share"), e));
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

fn funder_view(f: FunderRow, c: &Currency) -> FunderView {
    FunderView {
        budget: money(f.budget, c),
        held: money(f.held, c),
        reserved: money(f.reserved, c),
        committed: money(f.committed, c),
        settled: money(f.settled, c),
        available: money(f.available(), c),
        id: f.id,
        fund_id: f.fund_id,
        name: f.name,
        kind: f.kind,
        tax_code: f.tax_code,
        priority: f.priority,
        share: f.share,
        created_at: ts(f.created_at),
    }
}

/// A fund's funders in draw order, their figures from the ledger.
pub fn funder_views(conn: &mut DbConnection, fund: &FundRow) -> ApiResult<Vec<FunderView>> {
    Ok(funder_views_of(conn, std::slice::from_ref(fund))?
        .remove(&fund.id)
        .unwrap_or_default())
}

/// The funders of several funds (a page of the fund list) in two queries, by fund id.
pub fn funder_views_of(
    conn: &mut DbConnection,
    funds: &[FundRow],
) -> ApiResult<std::collections::HashMap<String, Vec<FunderView>>> {
    use crate::db::schema::funders;
    use diesel::prelude::*;
    let ids: Vec<&str> = funds.iter().map(|f| f.id.as_str()).collect();
    let rows: Vec<FunderRow> = funders::table
        .filter(funders::fund_id.eq_any(&ids))
        .order((funders::fund_id, funders::priority.asc(), funders::id.asc()))
        .select(FunderRow::as_select())
        .load(conn)?;
    let books = crate::db::ledger::funders_balances(conn, &ids)?;
    let mut out: std::collections::HashMap<String, Vec<FunderView>> = Default::default();
    for mut f in rows {
        let b = books.get(&f.id).copied().unwrap_or_default();
        f.budget = b.budget;
        f.held = b.held;
        f.reserved = b.reserved;
        f.committed = b.committed;
        f.settled = b.settled;
        let currency = funds
            .iter()
            .find(|x| x.id == f.fund_id)
            .map(|x| x.currency)
            .unwrap_or(Currency::EUR);
        out.entry(f.fund_id.clone())
            .or_default()
            .push(funder_view(f, &currency));
    }
    Ok(out)
}

fn funder_error(e: FunderError) -> ApiError {
    match e {
        FunderError::FundNotFound => ApiError::NotFound("fund"),
        FunderError::FunderNotFound => ApiError::NotFound("funder"),
        FunderError::SharesFixed => ApiError::conflict(
            "shares_fixed",
            "a proportional fund's funders and shares are fixed when it is created",
        ),
        FunderError::BelowPromised => ApiError::conflict(
            "budget_below_commitments",
            "the budget cannot go below what this funder has held, reserved, committed and settled",
        ),
        FunderError::Db(e) => e.into(),
    }
}

/// Add a funder to a fund (admin). Its budget serves the fund's waitlist at once.
///
/// 409 `shares_fixed` on a `proportional` fund (its shares are set at creation) and
/// `too_many_funders` beyond 20. 422 also for rules a schema cannot express: the IBAN's
/// checksum, the tax code's check character, the amount's grammar, and a private funder's
/// required tax code and IBAN.
#[utoipa::path(
    tag = "funds",
    params(("id" = String, Path, description = "Fund id")),
    request_body = CreateFunder,
    security(("bearer" = [])),
    responses(
        (status = 201, body = FunderView),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[post("/funds/{id}/funders")]
pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: ApiJson<CreateFunder>,
) -> ApiResult<HttpResponse> {
    let view = add_funder(&state, principal, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Created().json(view))
}

/// The use case behind the route, for the API and the console alike.
pub(crate) async fn add_funder(
    state: &AppState,
    principal: Principal,
    fund_id: String,
    body: CreateFunder,
) -> ApiResult<FunderView> {
    principal.require(&[Role::Admin])?;
    let view = state
        .db
        .run(move |conn| -> ApiResult<FunderView> {
            let fund =
                crate::db::campaigns::load_fund(conn, &fund_id).optional_not_found("fund")?;
            let new = validate_funder(body, fund.currency, "").map_err(ApiError::Validation)?;
            if crate::db::funders::load_funders(conn, &fund_id)?.len() >= MAX_FUNDERS {
                return Err(ApiError::conflict(
                    "too_many_funders",
                    format!("a fund has at most {MAX_FUNDERS} funders"),
                ));
            }
            let row = crate::app::funds::add_funder(conn, &principal, &fund_id, new)
                .map_err(funder_error)?;
            let views = funder_views(conn, &fund)?;
            views
                .into_iter()
                .find(|v| v.id == row.id)
                .ok_or(ApiError::NotFound("funder"))
        })
        .await?;
    Ok(view)
}

trait OptionalNotFound<T> {
    fn optional_not_found(self, what: &'static str) -> ApiResult<T>;
}

impl<T> OptionalNotFound<T> for diesel::QueryResult<T> {
    fn optional_not_found(self, what: &'static str) -> ApiResult<T> {
        match self {
            Ok(v) => Ok(v),
            Err(diesel::result::Error::NotFound) => Err(ApiError::NotFound(what)),
            Err(e) => Err(e.into()),
        }
    }
}

/// A fund's funders with their own figures, in draw order (public). At most 20.
#[utoipa::path(
    tag = "funds",
    params(("id" = String, Path, description = "Fund id")),
    responses(
        (status = 200, body = Vec<FunderView>),
        (status = 404, body = crate::http::error::Problem),
    )
)]
#[get("/funds/{id}/funders")]
pub async fn list(state: web::Data<AppState>, id: web::Path<String>) -> ApiResult<HttpResponse> {
    let fund_id = id.into_inner();
    let views = state
        .db
        .run(move |conn| -> ApiResult<Vec<FunderView>> {
            let fund =
                crate::db::campaigns::load_fund(conn, &fund_id).optional_not_found("fund")?;
            funder_views(conn, &fund)
        })
        .await?;
    Ok(HttpResponse::Ok().json(views))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetFunderBudget {
    /// The funder's new budget; never below what it has held, reserved, committed and settled.
    #[schema(example = "250000.00")]
    pub budget: String,
}

/// Change one funder's budget (finance, admin); a raise serves the fund's waitlist.
#[utoipa::path(
    tag = "funds",
    params(
        ("id" = String, Path, description = "Fund id"),
        ("funder_id" = String, Path, description = "Funder id"),
    ),
    request_body = SetFunderBudget,
    security(("bearer" = [])),
    responses(
        (status = 200, body = FunderView),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, description = "Below what the funder has promised", body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[post("/funds/{id}/funders/{funder_id}/budget")]
pub async fn set_budget(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    body: ApiJson<SetFunderBudget>,
) -> ApiResult<HttpResponse> {
    principal.require(&[Role::Finance, Role::Admin])?;
    let (fund_id, funder_id) = path.into_inner();
    let text = body.into_inner().budget;
    let view = state
        .db
        .run(move |conn| -> ApiResult<FunderView> {
            set_budget_from_text(conn, &principal, &fund_id, &funder_id, &text)?;
            let fund = crate::db::campaigns::load_fund(conn, &fund_id)?;
            funder_views(conn, &fund)?
                .into_iter()
                .find(|v| v.id == funder_id)
                .ok_or(ApiError::NotFound("funder"))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Sets one funder's budget from the amount as sent (422 when it does not parse in the fund's
/// currency; 404, 409 as [`crate::app::funds::set_funder_budget`] says). Both budget routes.
pub fn set_budget_from_text(
    conn: &mut DbConnection,
    principal: &crate::auth::Principal,
    fund_id: &str,
    funder_id: &str,
    text: &str,
) -> ApiResult<()> {
    let mut invalid = None;
    let result =
        crate::app::funds::set_funder_budget(conn, principal, fund_id, funder_id, |fund| {
            parse_non_negative_amount(text, fund.currency).map_err(|e| {
                invalid = Some(e.to_string());
                FunderError::BelowPromised
            })
        });
    if let Some(e) = invalid {
        return Err(ApiError::validation("budget", e));
    }
    result.map_err(funder_error)
}

/// One campaign of a quadratic round, with the inputs of its share.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuadraticLineView {
    pub campaign_id: String,
    pub title: String,
    pub status: String,
    /// Distinct donors whose total reaches `min_contribution`.
    pub donors_counted: usize,
    /// Σ cᵢ over those donors.
    pub contributions: String,
    /// Σ √cᵢ (cᵢ in cents), six decimals, floored.
    pub sum_sqrt: String,
    /// (Σ √cᵢ)² − Σ cᵢ, in cents, two decimals.
    pub weight: String,
    /// The share before the cap.
    pub uncapped_share: String,
    /// The share (estimated before the distribution, committed after it).
    pub share: String,
    pub capped: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuadraticView {
    pub fund_id: String,
    pub currency: String,
    /// The matching pool: what the funders have available (before), or what was shared (after).
    pub pool: String,
    pub min_contribution: String,
    pub max_match_per_campaign: Option<String>,
    /// When the pool was shared; null while the round is open (the shares are estimates).
    pub distributed_at: Option<DateTime<Utc>>,
    pub campaigns: Vec<QuadraticLineView>,
}

fn quadratic_view(r: Round) -> QuadraticView {
    let c = r.fund.currency;
    QuadraticView {
        fund_id: r.fund.id.clone(),
        currency: c.to_string(),
        pool: money(r.pool, &c),
        min_contribution: money(r.fund.min_contribution, &c),
        max_match_per_campaign: r.fund.max_match_per_campaign.map(|v| money(v, &c)),
        distributed_at: r.distributed_at.map(ts),
        campaigns: r
            .lines
            .into_iter()
            .map(|l| QuadraticLineView {
                donors_counted: l.share.donors_counted,
                contributions: money(l.share.contributions_counted, &c),
                sum_sqrt: quadratic::sqrt_display(l.share.sum_sqrt),
                weight: l.share.weight_display(),
                uncapped_share: money(l.share.uncapped, &c),
                share: money(l.share.amount, &c),
                capped: l.share.capped,
                campaign_id: l.campaign.id,
                title: l.campaign.title,
                status: l.campaign.status.to_string(),
            })
            .collect(),
    }
}

fn distribute_error(e: DistributeError) -> ApiError {
    match e {
        DistributeError::NotFound => ApiError::NotFound("fund"),
        DistributeError::NotQuadratic => ApiError::conflict(
            "not_quadratic",
            "this fund does not run the quadratic policy",
        ),
        DistributeError::StillRunning(n) => ApiError::conflict(
            "round_running",
            format!(
                "{n} campaign(s) of this round are still running; the pool is shared once they are decided"
            ),
        ),
        DistributeError::Books(what) => {
            tracing::error!(what, "quadratic distribution refused: books disagree");
            ApiError::conflict("books_disagree", "the books disagree; see reconciliation")
        }
        DistributeError::Db(e) => e.into(),
    }
}

/// The live estimate of a quadratic round, with its inputs (public).
#[utoipa::path(
    tag = "funds",
    params(("id" = String, Path, description = "Fund id")),
    responses(
        (status = 200, body = QuadraticView),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, description = "Not a quadratic fund", body = crate::http::error::Problem),
    )
)]
#[get("/funds/{id}/quadratic")]
pub async fn estimate(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let fund_id = id.into_inner();
    let round = state
        .db
        .run(move |conn| quadratic::estimate(conn, &fund_id).map_err(distribute_error))
        .await?;
    Ok(HttpResponse::Ok().json(quadratic_view(round)))
}

/// Share a quadratic round's pool now (finance, admin). Idempotent: asked again, it answers
/// with the round as shared and changes nothing. 409 while campaigns of the round still run.
#[utoipa::path(
    tag = "funds",
    params(("id" = String, Path, description = "Fund id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = QuadraticView),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, body = crate::http::error::Problem),
    )
)]
#[post("/funds/{id}/distribute")]
pub async fn distribute(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    principal.require(&[Role::Finance, Role::Admin])?;
    let fund_id = id.into_inner();
    let round = state
        .db
        .run(move |conn| {
            quadratic::distribute(conn, Some(&principal), &fund_id).map_err(distribute_error)
        })
        .await?;
    Ok(HttpResponse::Ok().json(quadratic_view(round)))
}
