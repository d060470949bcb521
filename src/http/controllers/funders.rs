//! A fund's funders (the city beside a foundation, a company or another public body), each with
//! its own budget and figures; and the quadratic round of a `quadratic` fund.

use crate::app::AppState;
use crate::app::funds::{self as uc, FunderError};
use crate::app::quadratic::{self, DistributeError, Round};
use crate::db::models::FunderRow;
use crate::domain::fund::FunderKind;
use crate::domain::money::Currency;
use crate::domain::role::Role;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, MaybePrincipal, Principal};
use crate::http::views::{money, ts};
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// At most this many funders pay one fund.
pub use crate::app::funds::MAX_FUNDERS;

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
    /// A natural person's codice fiscale (16 characters) is shown to finance and admin callers
    /// alone: `null` in public answers. A partita IVA or a legal entity's numeric code (11
    /// digits) is public.
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

impl From<CreateFunder> for uc::FunderInput {
    fn from(f: CreateFunder) -> uc::FunderInput {
        uc::FunderInput {
            name: f.name,
            kind: f.kind,
            tax_code: f.tax_code,
            iban: f.iban,
            bic: f.bic,
            budget: f.budget,
            priority: f.priority,
            share: f.share,
        }
    }
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

impl FunderView {
    /// The view anyone may read: without a tax code that is a natural person's codice fiscale
    /// (16 characters: a private person funding a call), nor one that does not read as a tax
    /// code at all. Legal entities' codes (11 digits) are public records and stay.
    pub fn public(mut self) -> FunderView {
        let personal = self.tax_code.as_deref().is_some_and(|t| {
            !matches!(
                crate::domain::tax_code::TaxCode::parse(t),
                Ok(crate::domain::tax_code::TaxCode::PartitaIva(_))
            )
        });
        if personal {
            self.tax_code = None;
        }
        self
    }
}

/// What a caller of a public read sees of funders: everything for finance and admin, the
/// [`FunderView::public`] view for anyone else.
pub fn for_caller(views: Vec<FunderView>, caller: Option<&Principal>) -> Vec<FunderView> {
    let trusted = caller.is_some_and(|p| matches!(p.role, Role::Finance | Role::Admin));
    if trusted {
        views
    } else {
        views.into_iter().map(FunderView::public).collect()
    }
}

/// A fund's funders (with their figures from the ledger) as the API shows them, in the fund's
/// currency.
pub fn funder_views(funders: Vec<FunderRow>, currency: &Currency) -> Vec<FunderView> {
    funders
        .into_iter()
        .map(|f| funder_view(f, currency))
        .collect()
}

pub(super) fn to_api(e: FunderError) -> ApiError {
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
        FunderError::TooManyFunders => ApiError::conflict(
            "too_many_funders",
            format!("a fund has at most {MAX_FUNDERS} funders"),
        ),
        FunderError::Invalid(errors) => errors.into(),
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
    let (fund, funder) = uc::join(state, principal, fund_id, body.into())
        .await
        .map_err(to_api)?;
    Ok(funder_view(funder, &fund.currency))
}

/// A fund's funders with their own figures, in draw order (public). At most 20.
///
/// A funder's `tax_code` that is a natural person's codice fiscale is `null` unless the caller
/// is finance or admin.
#[utoipa::path(
    tag = "funds",
    params(("id" = String, Path, description = "Fund id")),
    security((), ("bearer" = [])),
    responses(
        (status = 200, body = Vec<FunderView>),
        (status = 404, body = crate::http::error::Problem),
    )
)]
#[get("/funds/{id}/funders")]
pub async fn list(
    state: web::Data<AppState>,
    caller: MaybePrincipal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let fund_id = id.into_inner();
    let (fund, funders) = uc::funders_of(&state, fund_id).await.map_err(to_api)?;
    let views = for_caller(funder_views(funders, &fund.currency), caller.0.as_ref());
    Ok(HttpResponse::Ok().json(views))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetFunderBudget {
    /// The funder's new budget; never below what it has held, reserved, committed and settled.
    #[schema(example = "250000.00", pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
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
    let (fund, funder) = uc::set_budget(&state, principal, fund_id, funder_id, text)
        .await
        .map_err(to_api)?;
    Ok(HttpResponse::Ok().json(funder_view(funder, &fund.currency)))
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
    /// Which gifts count, and as whose (`donor`: every gift, each donor by tax code when given,
    /// else by normalised e-mail address; `tax_code`: only gifts with a tax code).
    pub quadratic_identity: crate::domain::fund::QuadraticIdentity,
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
        quadratic_identity: r.fund.quadratic_identity,
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

fn round_error(e: uc::RoundError) -> ApiError {
    match e {
        uc::RoundError::Round(e) => distribute_error(e),
        uc::RoundError::Db(e) => e.into(),
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
    let round = uc::quadratic_estimate(&state, fund_id)
        .await
        .map_err(round_error)?;
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
    let round = uc::distribute(&state, principal, fund_id)
        .await
        .map_err(round_error)?;
    Ok(HttpResponse::Ok().json(quadratic_view(round)))
}
