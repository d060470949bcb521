//! Campaigns and their lifecycle. Every state change is a conditional update on the stored
//! status, so two concurrent requests can never both move the same campaign.

//! The use cases are `app::campaigns`; this module parses, calls one and renders.
use crate::app::AppState;
use crate::app::campaigns as app;
use crate::db::models::CampaignRow;
use crate::domain::campaign::{Action, CampaignStatus};
use crate::domain::matching;
use crate::domain::money::Ratio;
use crate::domain::role::Role;
use crate::http::controllers::areas::render_area;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, MaybePrincipal, Page, Principal, check_limit};
use crate::http::views::{from_client, money, ts};
use actix_web::{HttpResponse, get, patch, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Location {
    #[schema(example = 45.0847)]
    pub lat: f64,
    #[schema(example = 7.6875)]
    pub lon: f64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCampaign {
    pub fund_id: String,
    pub title: String,
    pub summary: String,
    #[schema(example = "40000.00")]
    pub goal: String,
    /// Optional; must equal the fund's currency.
    pub currency: Option<String>,
    pub location: Location,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The project's costs, lines adding up to the goal (1–50 lines). Required to submit to a
    /// fund with a call for proposals.
    #[serde(default)]
    #[schema(max_items = 50)]
    pub cost_plan: Option<Vec<CostLineBody>>,
}

/// One line of a cost plan.
#[derive(Debug, Deserialize, Serialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct CostLineBody {
    /// `personnel`, `goods`, `services`, `works` or `other`.
    #[schema(pattern = "^(personnel|goods|services|works|other)$")]
    pub category: String,
    #[schema(min_length = 1, max_length = 500, pattern = "\\S")]
    pub description: String,
    #[schema(example = "12000.00")]
    pub amount: String,
}

fn cost_lines(lines: Option<Vec<CostLineBody>>) -> Option<Vec<app::CostLineInput>> {
    lines.map(|ls| {
        ls.into_iter()
            .map(|l| app::CostLineInput {
                category: l.category,
                description: l.description,
                amount: l.amount,
            })
            .collect()
    })
}

fn cost_plan_view(row: &CampaignRow) -> Option<Vec<CostLineBody>> {
    let plan = crate::app::call_intake::parse_cost_plan(row.cost_plan.as_deref())?;
    Some(
        plan.into_iter()
            .map(|l| CostLineBody {
                category: l.category.as_str().to_string(),
                description: l.description,
                amount: money(l.amount, &row.currency),
            })
            .collect(),
    )
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCampaign {
    pub title: Option<String>,
    pub summary: Option<String>,
    pub goal: Option<String>,
    pub location: Option<Location>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    /// Replaces the cost plan (lines adding up to the goal).
    #[serde(default)]
    #[schema(max_items = 50)]
    pub cost_plan: Option<Vec<CostLineBody>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectCampaign {
    /// Shown to the association (1–2000 characters).
    #[schema(min_length = 1, max_length = 2000, pattern = "\\S")]
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MatchSummary {
    /// `none | waitlisted | reserved | committed | settled | revoked`
    pub status: String,
    pub amount: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignView {
    pub id: String,
    pub association_id: String,
    pub fund_id: String,
    pub area_id: String,
    pub title: String,
    pub summary: String,
    pub goal: String,
    pub currency: String,
    pub location: Location,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub status: CampaignStatus,
    /// Confirmed donations net of refunds and lost disputes.
    pub raised: String,
    /// Distinct donors with a confirmed pledge.
    pub donors: i32,
    /// goal × the fund's threshold_ratio.
    pub threshold: String,
    /// raised / goal, as a decimal string with four places ("0.2500").
    pub progress: String,
    #[serde(rename = "match")]
    pub match_: MatchSummary,
    /// Set while a campaign is `rejected` (owner and city staff only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejection_reason: Option<String>,
    /// The project's cost plan, when it has one (public).
    pub cost_plan: Option<Vec<CostLineBody>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub type CampaignPage = Page<CampaignView>;

fn view(row: CampaignRow, threshold_ratio: Ratio, show_private: bool) -> CampaignView {
    let c = &row.currency;
    let threshold = matching::threshold(row.goal, threshold_ratio);
    CampaignView {
        cost_plan: cost_plan_view(&row),
        goal: money(row.goal, c),
        raised: money(row.raised, c),
        threshold: money(threshold, c),
        progress: format!("{:.4}", matching::progress(row.raised, row.goal)),
        match_: MatchSummary {
            status: row.match_status.as_str().to_string(),
            amount: money(row.match_amount, c),
        },
        rejection_reason: if show_private {
            row.rejection_reason
        } else {
            None
        },
        location: Location {
            lat: row.location_lat,
            lon: row.location_lon,
        },
        status: row.status,
        id: row.id,
        association_id: row.association_id,
        fund_id: row.fund_id,
        area_id: row.area_id,
        title: row.title,
        summary: row.summary,
        currency: row.currency.code().to_string(),
        starts_at: ts(row.starts_at),
        ends_at: ts(row.ends_at),
        donors: row.donors,
        created_at: ts(row.created_at),
        updated_at: ts(row.updated_at),
    }
}

/// What the caller may see of a campaign.
enum Visibility {
    Full,
    Public,
}

fn visibility(principal: Option<&Principal>, row: &CampaignRow) -> ApiResult<Visibility> {
    let status = row.status;
    match principal {
        Some(p) if p.role.is_city_staff() => Ok(Visibility::Full),
        Some(p) if p.role == Role::Association && p.is_member_of(&row.association_id) => {
            Ok(Visibility::Full)
        }
        // Everyone else, another association's members included, sees what the public sees.
        _ if status.is_public() => Ok(Visibility::Public),
        _ => Err(ApiError::NotFound("campaign")),
    }
}

/// The campaign as the public read cache holds it (ADR 0004), loaded on a miss: valid until
/// this process writes, and at most `COFUND_READ_CACHE_MS` old.
async fn cached_campaign(
    state: &AppState,
    id: String,
) -> ApiResult<std::sync::Arc<crate::app::cache::CachedCampaign>> {
    if let Some(hit) = state.campaign_cache.get(&id) {
        return Ok(hit);
    }
    // The stamp is read before the rows: a write committed meanwhile outdates the entry.
    let stamp = state.db.write_epoch().campaign(&id);
    let app::CampaignWithFund {
        campaign: row,
        fund,
    } = app::get(state, id).await?;
    let public_body = match visibility(None, &row) {
        Ok(_) => Some(web::Bytes::from(
            serde_json::to_vec(&view(row.clone(), fund.threshold_ratio, false))
                .map_err(|e| ApiError::Internal(e.to_string()))?,
        )),
        Err(_) => None,
    };
    Ok(state
        .campaign_cache
        .put(stamp, row, fund.threshold_ratio, public_body))
}

/// Create a campaign for the caller's association (association members).
///
/// 422 also for rules between fields and records: `fund_id` must name a fund; `ends_at` after
/// `starts_at` and in the future, both inside the fund's window; the goal within the fund's
/// `min_goal`/`max_goal`; the location inside one of the fund's eligible areas.
#[utoipa::path(
    tag = "campaigns",
    request_body = CreateCampaign,
    security(("bearer" = [])),
    responses(
        (status = 201, body = CampaignView),
        (status = 403, body = crate::http::error::Problem),
        (status = 422, description = "Invalid fields, dates outside the fund window, or location outside every eligible area", body = crate::http::error::Problem),
    )
)]
#[post("/campaigns")]
pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    body: ApiJson<CreateCampaign>,
) -> ApiResult<HttpResponse> {
    let view = create_campaign(&state, principal, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(view))
}

/// The campaign-creation use case, for the API and the console alike.
pub(crate) async fn create_campaign(
    state: &AppState,
    principal: Principal,
    body: CreateCampaign,
) -> ApiResult<CampaignView> {
    let new = app::NewCampaign {
        fund_id: body.fund_id,
        title: body.title,
        summary: body.summary,
        goal: body.goal,
        currency: body.currency,
        lat: body.location.lat,
        lon: body.location.lon,
        starts_at: from_client(body.starts_at),
        ends_at: from_client(body.ends_at),
        cost_plan: cost_lines(body.cost_plan),
    };
    let done = app::create(state, render_area, principal, new).await?;
    Ok(view(done.campaign, done.fund.threshold_ratio, true))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CampaignListParams {
    pub status: Option<CampaignStatus>,
    pub fund_id: Option<String>,
    pub area_id: Option<String>,
    pub association_id: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// List campaigns. The public (and partners) see approved, live, closing, succeeded and failed
/// campaigns; association members see their own association's campaigns in every state (and
/// another association's, with `association_id`, as the public does); city staff see all.
#[utoipa::path(
    tag = "campaigns",
    params(CampaignListParams),
    responses(
        (status = 200, body = Page<CampaignView>),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[get("/campaigns")]
pub async fn list(
    state: web::Data<AppState>,
    principal: MaybePrincipal,
    params: web::Query<CampaignListParams>,
) -> ApiResult<HttpResponse> {
    let page = list_campaigns(&state, principal.0, params.into_inner()).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// The campaign list as `principal` may see it, for the API and the pages alike.
pub(crate) async fn list_campaigns(
    state: &AppState,
    principal: Option<Principal>,
    params: CampaignListParams,
) -> ApiResult<Page<CampaignView>> {
    let limit = check_limit(params.limit)?;
    let mut association_filter = params.association_id.clone();
    let mut public_only = true;
    let mut full = false;
    if let Some(p) = &principal {
        if p.role.is_city_staff() {
            public_only = false;
            full = true;
        } else if p.role == Role::Association {
            // Their own association's campaigns by default, in every state; another
            // association's (asked for by `association_id`) as the public sees them.
            let own = p.association_id.clone();
            if association_filter.is_none() || association_filter == own {
                association_filter = own;
                public_only = false;
                full = true;
            }
        }
    }
    let filter = app::CampaignFilter {
        status: params.status,
        fund_id: params.fund_id,
        area_id: params.area_id,
        association_id: association_filter,
        public_only,
        after: params.cursor.unwrap_or_default(),
        limit: limit + 1,
    };
    let rows = app::list(state, filter).await?;
    Ok(Page::from_rows(
        rows,
        limit,
        |(r, _)| r.id.clone(),
        |(r, ratio)| view(r, ratio, full),
    ))
}

/// One campaign as `principal` may see it (uncached), for the pages: 404 when it may not.
pub(crate) async fn get_campaign(
    state: &AppState,
    principal: Option<Principal>,
    id: String,
) -> ApiResult<CampaignView> {
    let app::CampaignWithFund {
        campaign: row,
        fund,
    } = app::get(state, id).await?;
    let full = matches!(visibility(principal.as_ref(), &row)?, Visibility::Full);
    Ok(view(row, fund.threshold_ratio, full))
}

/// Read a campaign. 404 when the caller may not see it: a campaign that is not public, unless
/// the caller is city staff or a member of its association.
#[utoipa::path(
    tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id (`cmp_…`)")),
    responses(
        (status = 200, body = CampaignView),
        (status = 404, body = crate::http::error::Problem),
    )
)]
#[get("/campaigns/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    principal: MaybePrincipal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let cached = cached_campaign(&state, id.into_inner()).await?;
    match principal.0.as_ref() {
        None => match &cached.public_body {
            Some(body) => Ok(HttpResponse::Ok()
                .content_type("application/json")
                .body(body.clone())),
            None => Err(ApiError::NotFound("campaign")),
        },
        Some(p) => {
            let full = matches!(visibility(Some(p), &cached.row)?, Visibility::Full);
            Ok(HttpResponse::Ok().json(view(cached.row.clone(), cached.threshold_ratio, full)))
        }
    }
}

/// Runs one lifecycle action (`app::campaigns::act`) and returns the campaign as it now is.
pub(crate) async fn act(
    state: &AppState,
    principal: Principal,
    id: String,
    action: Action,
    reason: Option<String>,
) -> ApiResult<CampaignView> {
    let done = app::act(state, render_area, principal, id, action, reason).await?;
    Ok(view(done.campaign, done.fund.threshold_ratio, true))
}

/// Edit a draft or rejected campaign (owner). Editing a rejected campaign returns it to draft.
///
/// 422 for the same rules between fields and records as creation.
#[utoipa::path(
    tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id")),
    request_body = UpdateCampaign,
    security(("bearer" = [])),
    responses(
        (status = 200, body = CampaignView),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, description = "Not editable in its current state", body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[patch("/campaigns/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: ApiJson<UpdateCampaign>,
) -> ApiResult<HttpResponse> {
    let v = update_campaign(&state, principal, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(v))
}

/// The edit use case (a draft or rejected campaign, by its owner), for the API and the console.
pub(crate) async fn update_campaign(
    state: &AppState,
    principal: Principal,
    id: String,
    body: UpdateCampaign,
) -> ApiResult<CampaignView> {
    let edit = app::CampaignEdit {
        title: body.title,
        summary: body.summary,
        goal: body.goal,
        location: body.location.map(|l| (l.lat, l.lon)),
        starts_at: body.starts_at.map(from_client),
        ends_at: body.ends_at.map(from_client),
        cost_plan: cost_lines(body.cost_plan),
    };
    let done = app::update(state, render_area, principal, id, edit).await?;
    Ok(view(done.campaign, done.fund.threshold_ratio, true))
}

/// Submit a draft for review (owner).
#[utoipa::path(
    tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = CampaignView),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, body = crate::http::error::Problem),
    )
)]
#[post("/campaigns/{id}/submit")]
pub async fn submit(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let v = act(&state, principal, id.into_inner(), Action::Submit, None).await?;
    Ok(HttpResponse::Ok().json(v))
}

/// Approve a submitted campaign (admin, reviewer). Re-checks goal limits, the fund window and
/// area eligibility; for `on_approval` funds, earmarks the top-up or answers 409.
#[utoipa::path(
    tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = CampaignView),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, description = "Not submitted, or the budget cannot cover the earmark", body = crate::http::error::Problem),
        (status = 422, description = "No longer satisfies the fund's rules", body = crate::http::error::Problem),
    )
)]
#[post("/campaigns/{id}/approve")]
pub async fn approve(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let v = act(&state, principal, id.into_inner(), Action::Approve, None).await?;
    Ok(HttpResponse::Ok().json(v))
}

/// Reject a submitted campaign with a reason (admin, reviewer).
#[utoipa::path(
    tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id")),
    request_body = RejectCampaign,
    security(("bearer" = [])),
    responses(
        (status = 200, body = CampaignView),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[post("/campaigns/{id}/reject")]
pub async fn reject(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: ApiJson<RejectCampaign>,
) -> ApiResult<HttpResponse> {
    let reason = body.into_inner().reason.trim().to_string();
    if reason.is_empty() || reason.chars().count() > 2000 {
        return Err(ApiError::validation("reason", "1–2000 characters"));
    }
    let v = act(
        &state,
        principal,
        id.into_inner(),
        Action::Reject,
        Some(reason),
    )
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

/// Cancel a campaign: the owner before approval, an admin any time before it closes.
#[utoipa::path(
    tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = CampaignView),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, body = crate::http::error::Problem),
    )
)]
#[post("/campaigns/{id}/cancel")]
pub async fn cancel(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let v = act(&state, principal, id.into_inner(), Action::Cancel, None).await?;
    Ok(HttpResponse::Ok().json(v))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MatchDecisionView {
    pub id: String,
    /// `earmark`, `reserve`, `partial`, `waitlist`, `unqueue`, `revoke`, `release`, `commit`,
    /// `no_budget`, `distribute` (a quadratic round's share).
    pub decision: String,
    pub amount: String,
    /// The figures the decision was taken from (minor units): raised, donors, goal, threshold,
    /// top_up, min_donors, available (the funders' before the decision), coverable (what the
    /// funders could cover of the top-up under the fund's split), budget, the fund's parameters,
    /// and `funders`: each funder's id, name, priority, share, available and part of this
    /// decision. A per-donation or quadratic decision carries its own rule's inputs.
    #[schema(value_type = Object)]
    pub inputs: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MatchHistory {
    pub campaign_id: String,
    #[serde(rename = "match")]
    pub match_: MatchSummary,
    /// When the campaign joined the fund's waitlist (FIFO order), while it waits.
    pub waitlisted_at: Option<DateTime<Utc>>,
    pub decisions: Vec<MatchDecisionView>,
}

/// Every match decision taken for a campaign, with its inputs.
#[utoipa::path(
    tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id")),
    responses(
        (status = 200, body = MatchHistory),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
    )
)]
#[get("/campaigns/{id}/match")]
pub async fn match_history(
    state: web::Data<AppState>,
    principal: MaybePrincipal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let (row, decisions) = app::match_decisions(&state, id.into_inner()).await?;
    visibility(principal.0.as_ref(), &row)?;
    Ok(HttpResponse::Ok().json(MatchHistory {
        campaign_id: row.id.clone(),
        match_: MatchSummary {
            status: row.match_status.as_str().to_string(),
            amount: money(row.match_amount, &row.currency),
        },
        waitlisted_at: row.waitlisted_at.map(ts),
        decisions: decisions
            .into_iter()
            .map(|d| MatchDecisionView {
                amount: money(d.amount, &row.currency),
                inputs: serde_json::from_str(&d.inputs).unwrap_or_default(),
                id: d.id,
                decision: d.decision.as_str().to_string(),
                created_at: ts(d.created_at),
            })
            .collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BadgeParams {
    /// `it` or `en`; default from `Accept-Language`, else Italian. Amounts are written as the
    /// language writes money (`20.000,00 €`, `€20,000.00`).
    #[param(pattern = "^(it|en)$")]
    pub lang: Option<String>,
}

/// An SVG progress bar (raised, city match, goal) to embed in a web page. Public campaigns
/// only; no personal data; cacheable for a minute.
#[utoipa::path(
    tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id"), BadgeParams),
    responses(
        (status = 200, content_type = "image/svg+xml", body = String),
        (status = 404, body = crate::http::error::Problem),
        (status = 422, description = "`lang` other than `it` or `en`", body = crate::http::error::Problem),
    )
)]
#[get("/campaigns/{id}/badge.svg")]
pub async fn badge(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    id: web::Path<String>,
    params: web::Query<BadgeParams>,
) -> ApiResult<HttpResponse> {
    // Badges are embedded in partners' pages: served from the public read cache, like the
    // campaign itself.
    let cached = cached_campaign(&state, id.into_inner()).await?;
    let row = &cached.row;
    if !row.status.is_public() {
        return Err(ApiError::NotFound("campaign"));
    }
    let asked = params.into_inner().lang;
    if asked.as_deref().is_some_and(|l| l != "it" && l != "en") {
        return Err(ApiError::validation("lang", "it or en"));
    }
    let lang = crate::http::pages::i18n::negotiate(
        asked.as_deref(),
        req.headers()
            .get("Accept-Language")
            .and_then(|v| v.to_str().ok()),
    );
    let t = crate::http::pages::i18n::Tr::new(lang);
    let shown = crate::domain::badge::shown_match(row.match_status.as_str(), row.match_amount);
    let money = |m: i64| t.money(m, &row.currency);
    let figures = [
        ("title", row.title.as_str()),
        ("raised", &money(row.raised)),
        ("match", &money(shown)),
        ("goal", &money(row.goal)),
    ];
    let label = t.get(&format!("badge-status-{}", row.status.as_str()));
    let line = t.args("badge-line", &figures);
    let aria = t.args("badge-aria", &figures);
    let svg = crate::domain::badge::render(&crate::domain::badge::BadgeInput {
        title: &row.title,
        label: &label,
        line: &line,
        aria: &aria,
        goal: row.goal,
        raised: row.raised,
        shown_match: shown,
    });
    use sha2::Digest;
    let etag = format!(
        "\"{}\"",
        &hex::encode(sha2::Sha256::digest(svg.as_bytes()))[..32]
    );
    if req
        .headers()
        .get("If-None-Match")
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        return Ok(HttpResponse::NotModified()
            .insert_header(("ETag", etag))
            .finish());
    }
    Ok(HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header(("Cache-Control", "public, max-age=60"))
        .insert_header(("Vary", "Accept-Language"))
        .insert_header(("ETag", etag))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'",
        ))
        .body(svg))
}
