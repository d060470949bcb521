//! Match funds: one public call each, with its own budget and matching parameters.

use crate::app::AppState;
use crate::app::funds::{self as uc, FundDetails, FundError};
use crate::db::ledger;
use crate::db::models::FundRow;
use crate::domain::role::Role;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, Page, PageParams, Principal, check_limit};
use crate::http::views::{money, ts};
use actix_web::{HttpResponse, get, post, put, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use crate::domain::fund::{
    Allocation, ExhaustionPolicy, FundingSplit, MatchPolicy, QuadraticIdentity,
};

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
    /// `quadratic`: which gifts count, and as whose (default `donor`: every gift, each donor by
    /// tax code when given, else by normalised e-mail address; `tax_code`: only gifts that carry
    /// a valid tax code).
    #[serde(default)]
    pub quadratic_identity: QuadraticIdentity,
    /// When the award is paid (default `on_commitment`: all of it once the match is
    /// committed; `tranches`: the advance at commitment, the balance once the final report is
    /// approved).
    #[serde(default)]
    pub payment_plan: crate::domain::grant::PaymentPlan,
    /// `tranches`: the share of the award paid at commitment, 0–1 (default "0": no advance).
    #[schema(example = "0.4", pattern = "^(0(\\.[0-9]{1,6})?|1(\\.0{1,6})?)$")]
    pub advance_ratio: Option<String>,
    /// Days after the decision by which the final report is due, 1–3650 (default 365).
    #[schema(minimum = 1, maximum = 3650)]
    pub reporting_days: Option<i32>,
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
    /// Which gifts a `quadratic` round counts (`donor`, `tax_code`).
    pub quadratic_identity: QuadraticIdentity,
    /// When awards are paid: `on_commitment` or `tranches`.
    pub payment_plan: crate::domain::grant::PaymentPlan,
    /// `tranches`: the share of the award paid at commitment (null otherwise).
    pub advance_ratio: Option<String>,
    /// Days after the decision by which a grant's final report is due.
    pub reporting_days: i32,
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
    /// Match money paid out (and not owed back).
    pub settled: String,
    /// Paid match money associations owe back (grants reduced or revoked after payment).
    pub recoverable: String,
    /// budget − held − reserved − committed − settled − recoverable.
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
        quadratic_identity: row.quadratic_identity,
        payment_plan: row.payment_plan,
        advance_ratio: row.advance_ratio.clone(),
        reporting_days: row.reporting_days,
        recoverable: money(b.recoverable, c),
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

/// The fund as read by `app::funds`, as the API shows it.
fn details_view(d: FundDetails) -> FundView {
    let funders = super::funders::funder_views(d.funders, &d.fund.currency);
    fund_view(d.fund, d.area_ids, d.balances, funders)
}

/// The fund as anyone may read it: no funder's personal codice fiscale.
fn public_view(d: FundDetails) -> FundView {
    let mut view = details_view(d);
    view.funders = view
        .funders
        .into_iter()
        .map(super::funders::FunderView::public)
        .collect();
    view
}

impl From<PublicFieldsInput> for uc::PublicFieldsInput {
    fn from(p: PublicFieldsInput) -> uc::PublicFieldsInput {
        uc::PublicFieldsInput {
            legal_basis: p.legal_basis,
            office: p.office,
            responsible_official: p.responsible_official,
            selection_method: p.selection_method,
            siope_code: p.siope_code,
        }
    }
}

impl From<CreateFund> for uc::FundInput {
    fn from(b: CreateFund) -> uc::FundInput {
        uc::FundInput {
            name: b.name,
            currency: b.currency,
            budget: b.budget,
            funders: b
                .funders
                .map(|fs| fs.into_iter().map(uc::FunderInput::from).collect()),
            funding_split: b.funding_split,
            match_policy: b.match_policy,
            quadratic_identity: b.quadratic_identity,
            payment_plan: b.payment_plan,
            advance_ratio: b.advance_ratio,
            reporting_days: b.reporting_days,
            max_match_per_donation: b.max_match_per_donation,
            match_hold_secs: b.match_hold_secs,
            min_contribution: b.min_contribution,
            threshold_ratio: b.threshold_ratio,
            match_ratio: b.match_ratio,
            max_match_per_campaign: b.max_match_per_campaign,
            min_goal: b.min_goal,
            max_goal: b.max_goal,
            min_donors: b.min_donors,
            eligible_area_ids: b.eligible_area_ids,
            opens_at: b.opens_at,
            closes_at: b.closes_at,
            allocation: b.allocation,
            exhaustion_policy: b.exhaustion_policy,
            cup: b.cup,
            public: uc::PublicFieldsInput {
                legal_basis: b.legal_basis,
                office: b.office,
                responsible_official: b.responsible_official,
                selection_method: b.selection_method,
                siope_code: b.siope_code,
            },
        }
    }
}

/// The field errors of a use case, as the API lists them.
fn to_api(e: FundError) -> ApiError {
    match e {
        FundError::NotFound => ApiError::NotFound("fund"),
        FundError::Invalid(errors) => errors.into(),
        FundError::SeveralFunders => ApiError::conflict(
            "several_funders",
            "this fund has several funders: change one funder's budget at \
             /v1/funds/{id}/funders/{funder_id}/budget",
        ),
        FundError::Funder(e) => super::funders::to_api(e),
        FundError::Db(e) => e.into(),
    }
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
    let fund = uc::create(state, principal, body.into())
        .await
        .map_err(to_api)?;
    Ok(details_view(fund))
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
    let funds = uc::list(&state, limit, cursor).await.map_err(to_api)?;
    let page: FundPage = Page::from_rows(funds, limit, |d| d.fund.id.clone(), public_view);
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
    let view = public_view(uc::get(&state, id).await.map_err(to_api)?);
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetBudget {
    /// The new budget; never below reserved + committed + settled.
    #[schema(example = "750000.00", pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
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
    let fund = uc::set_single_budget(&state, principal, id, budget_text)
        .await
        .map_err(to_api)?;
    let view = details_view(fund);
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
    let fund = uc::set_transparency(&state, principal, id, body.into_inner().into())
        .await
        .map_err(to_api)?;
    let view = details_view(fund);
    Ok(HttpResponse::Ok().json(view))
}
