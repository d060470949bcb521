//! Campaigns and their lifecycle. Every state change is a conditional update on the stored
//! status, so two concurrent requests can never both move the same campaign.

use crate::app::AppState;
use crate::app::matching as engine;
use crate::db::models::{CampaignRow, FundRow};
use crate::db::queries::{audit, fund_area_ids};
use crate::db::schema::{campaigns, funds};
use crate::db::{DbConnection, write_tx};
use crate::domain::area::LatLon;
use crate::domain::campaign::{Action, Actor, CampaignStatus, TransitionError, transition};
use crate::domain::ids;
use crate::domain::matching::{self, MatchState};
use crate::domain::money::{Ratio, parse_amount};
use crate::domain::role::Role;
use crate::http::error::{ApiError, ApiResult, FieldError};
use crate::http::extract::{ApiJson, MaybePrincipal, Page, Principal, check_limit};
use crate::http::views::{from_client, money, now, ts};
use actix_web::{HttpResponse, get, patch, post, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
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
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub type CampaignPage = Page<CampaignView>;

fn view(row: CampaignRow, threshold_ratio: Ratio, show_private: bool) -> CampaignView {
    let c = &row.currency;
    let threshold = matching::threshold(row.goal, threshold_ratio);
    CampaignView {
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

fn load_with_fund(conn: &mut DbConnection, id: &str) -> ApiResult<(CampaignRow, FundRow)> {
    campaigns::table
        .inner_join(funds::table)
        .filter(campaigns::id.eq(id))
        .select((CampaignRow::as_select(), FundRow::as_select()))
        .first(conn)
        .optional()?
        .ok_or(ApiError::NotFound("campaign"))
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
    // The epoch is read before the rows: a write committed meanwhile outdates the entry.
    let epoch = state.db.write_epoch().current();
    let (row, fund) = state.db.read(move |conn| load_with_fund(conn, &id)).await?;
    let public_body = match visibility(None, &row) {
        Ok(_) => Some(web::Bytes::from(
            serde_json::to_vec(&view(row.clone(), fund.threshold_ratio, false))
                .map_err(|e| ApiError::Internal(e.to_string()))?,
        )),
        Err(_) => None,
    };
    Ok(state
        .campaign_cache
        .put(epoch, row, fund.threshold_ratio, public_body))
}

/// Checks a campaign's content against its fund; returns the area that contains it.
fn check_against_fund(
    conn: &mut DbConnection,
    areas_index: &crate::app::cache::AreaCatalog,
    fund: &FundRow,
    goal: i64,
    location: Location,
    (starts_at, ends_at): (NaiveDateTime, NaiveDateTime),
    errors: &mut Vec<FieldError>,
) -> ApiResult<Option<String>> {
    let currency = fund.currency;
    if let Some(min) = fund.min_goal
        && goal < min
    {
        errors.push(FieldError::new(
            "goal",
            format!("must be at least {} for this fund", money(min, &currency)),
        ));
    }
    if let Some(max) = fund.max_goal
        && goal > max
    {
        errors.push(FieldError::new(
            "goal",
            format!("must be at most {} for this fund", money(max, &currency)),
        ));
    }
    if ends_at <= starts_at {
        errors.push(FieldError::new("ends_at", "must be after starts_at"));
    }
    if starts_at < fund.opens_at || starts_at > fund.closes_at {
        errors.push(FieldError::new(
            "starts_at",
            "must fall inside the fund's opens_at–closes_at window",
        ));
    }
    if ends_at > fund.closes_at || ends_at < fund.opens_at {
        errors.push(FieldError::new(
            "ends_at",
            "must fall inside the fund's opens_at–closes_at window",
        ));
    }
    let point = match LatLon::new(location.lat, location.lon) {
        Ok(p) => p,
        Err(e) => {
            errors.push(FieldError::new("location", e));
            return Ok(None);
        }
    };
    let eligible = fund_area_ids(conn, &fund.id)?;
    let index = areas_index.current(conn, super::areas::render_area)?;
    let area = index
        .containing(point)
        .find(|a| eligible.contains(&a.id))
        .map(|a| a.id.clone());
    if area.is_none() {
        errors.push(FieldError::new(
            "location",
            "is not inside any of the fund's eligible target areas",
        ));
    }
    Ok(area)
}

fn check_text(title: &str, summary: &str, errors: &mut Vec<FieldError>) {
    if title.trim().is_empty() || title.chars().count() > 200 {
        errors.push(FieldError::new("title", "1–200 characters"));
    }
    if summary.trim().is_empty() || summary.chars().count() > 10_000 {
        errors.push(FieldError::new("summary", "1–10000 characters"));
    }
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
    principal.require(&[Role::Association])?;
    let association_id = principal
        .association_id
        .clone()
        .ok_or(ApiError::Forbidden("no association"))?;
    let areas_index = state.areas.clone();
    let view = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| -> ApiResult<CampaignView> {
                let fund: FundRow = funds::table
                    .find(&body.fund_id)
                    .select(FundRow::as_select())
                    .first(conn)
                    .optional()?
                    .ok_or_else(|| ApiError::validation("fund_id", "unknown fund"))?;
                let currency = fund.currency;
                let mut errors = Vec::new();
                check_text(&body.title, &body.summary, &mut errors);
                if let Some(c) = &body.currency
                    && c != currency.code()
                {
                    errors.push(FieldError::new(
                        "currency",
                        format!("must be the fund's currency, {}", currency.code()),
                    ));
                }
                let goal = parse_amount(&body.goal, currency)
                    .map_err(|e| errors.push(FieldError::new("goal", e)))
                    .unwrap_or(0);
                let (starts_at, ends_at) = (from_client(body.starts_at), from_client(body.ends_at));
                if ends_at <= now() {
                    errors.push(FieldError::new("ends_at", "must be in the future"));
                }
                let area = check_against_fund(
                    conn,
                    &areas_index,
                    &fund,
                    goal,
                    body.location,
                    (starts_at, ends_at),
                    &mut errors,
                )?;
                let (Some(area_id), true) = (area, errors.is_empty()) else {
                    return Err(ApiError::Validation(errors));
                };
                let t = now();
                let row = CampaignRow {
                    id: ids::new_id(ids::CAMPAIGN),
                    association_id,
                    fund_id: fund.id.clone(),
                    area_id,
                    title: body.title.trim().to_string(),
                    summary: body.summary.trim().to_string(),
                    goal,
                    currency,
                    location_lat: body.location.lat,
                    location_lon: body.location.lon,
                    starts_at,
                    ends_at,
                    status: CampaignStatus::Draft,
                    rejection_reason: None,
                    raised: 0,
                    donors: 0,
                    match_status: MatchState::None,
                    match_amount: 0,
                    created_at: t,
                    updated_at: t,
                    waitlisted_at: None,
                    decided_at: None,
                    settlement_id: None,
                };
                diesel::insert_into(campaigns::table)
                    .values(&row)
                    .execute(conn)?;
                audit(
                    conn,
                    &principal,
                    "campaign.create",
                    "campaign",
                    &row.id,
                    None,
                )?;
                Ok(view(row, fund.threshold_ratio, true))
            })
        })
        .await?;
    Ok(view)
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
    let public: Vec<&'static str> = crate::domain::campaign::ALL_STATUSES
        .into_iter()
        .filter(|s| s.is_public())
        .map(|s| s.as_str())
        .collect();
    let cursor = params.cursor.unwrap_or_default();
    let rows = state
        .db
        .run(move |conn| -> ApiResult<Vec<(CampaignRow, Ratio)>> {
            let mut q = campaigns::table
                .inner_join(funds::table)
                .filter(campaigns::id.gt(&cursor))
                .order(campaigns::id)
                .limit(limit + 1)
                .select((CampaignRow::as_select(), funds::threshold_ratio))
                .into_boxed();
            if public_only {
                q = q.filter(campaigns::status.eq_any(public));
            }
            if let Some(s) = params.status {
                q = q.filter(campaigns::status.eq(s.as_str()));
            }
            if let Some(f) = params.fund_id {
                q = q.filter(campaigns::fund_id.eq(f));
            }
            if let Some(a) = params.area_id {
                q = q.filter(campaigns::area_id.eq(a));
            }
            if let Some(a) = association_filter {
                q = q.filter(campaigns::association_id.eq(a));
            }
            let rows: Vec<(CampaignRow, String)> = q.load(conn)?;
            rows.into_iter()
                .map(|(row, ratio)| {
                    // A stored ratio that does not parse is corrupt data: an error, not a default.
                    let ratio = Ratio::parse(&ratio)
                        .map_err(|_| ApiError::Internal("stored threshold ratio".into()))?;
                    Ok((row, ratio))
                })
                .collect()
        })
        .await?;
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
    let (row, fund) = state.db.read(move |conn| load_with_fund(conn, &id)).await?;
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

fn campaign_status(row: &CampaignRow) -> CampaignStatus {
    row.status
}

fn actor_for(principal: &Principal, row: &CampaignRow) -> ApiResult<Actor> {
    match principal.role {
        Role::Admin => Ok(Actor::Admin),
        Role::Reviewer => Ok(Actor::Reviewer),
        Role::Association if principal.is_member_of(&row.association_id) => Ok(Actor::Owner),
        // Another association's campaign: as for the public, one that is not public does not
        // exist; a public one may be seen, not changed.
        Role::Association if !campaign_status(row).is_public() => {
            Err(ApiError::NotFound("campaign"))
        }
        Role::Association => Err(ApiError::Forbidden(
            "this campaign belongs to another association",
        )),
        _ => Err(ApiError::Forbidden("your role may not change campaigns")),
    }
}

fn transition_error(e: TransitionError) -> ApiError {
    match e {
        TransitionError::NotAllowed => ApiError::Forbidden("your role may not do this"),
        e @ TransitionError::IllegalState { .. } => {
            ApiError::conflict("illegal_state_transition", e.to_string())
        }
    }
}

/// Moves `row` from its current status with a conditional update; 409 if someone else moved it.
fn move_status(
    conn: &mut DbConnection,
    row: &CampaignRow,
    to: CampaignStatus,
    reason: Option<String>,
) -> ApiResult<()> {
    let changed = diesel::update(campaigns::table.find(&row.id))
        .filter(campaigns::status.eq(&row.status))
        .set((
            campaigns::status.eq(to.as_str()),
            campaigns::rejection_reason.eq(reason),
            campaigns::updated_at.eq(now()),
        ))
        .execute(conn)?;
    if changed == 0 {
        return Err(ApiError::conflict(
            "concurrent_update",
            "the campaign changed while this request ran; read it again",
        ));
    }
    Ok(())
}

/// Runs one lifecycle action in a transaction and returns the campaign as it now is.
pub(crate) async fn act(
    state: &AppState,
    principal: Principal,
    id: String,
    action: Action,
    reason: Option<String>,
) -> ApiResult<CampaignView> {
    let areas_index = state.areas.clone();
    let (view, freed_fund) = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| -> ApiResult<(CampaignView, Option<String>)> {
                // Under the campaign's row lock: a cancellation releases by the match state it
                // reads, so nothing may move that state between its read and its write.
                engine::lock_campaign(conn, &id)?.ok_or(ApiError::NotFound("campaign"))?;
                let (row, fund) = load_with_fund(conn, &id)?;
                let actor = actor_for(&principal, &row)?;
                let from = row.status;
                let to = transition(from, action, actor).map_err(transition_error)?;
                let mut freed = false;
                match action {
                    Action::Approve => approve_checks(conn, &areas_index, &row, &fund)?,
                    // Cancelling does what failure does: release and refund.
                    Action::Cancel => {
                        freed = engine::release_and_refund(conn, &row, &fund, "campaign cancelled")?
                            .freed
                    }
                    _ => {}
                }
                let keep_reason = if action == Action::Reject {
                    reason.clone()
                } else {
                    None
                };
                move_status(conn, &row, to, keep_reason.clone())?;
                let moved = engine::load_campaign(conn, &row.id)?;
                crate::notify::campaign_changed(
                    conn,
                    &moved,
                    &fund,
                    keep_reason.as_deref(),
                    to.is_public() || from.is_public(),
                )?;
                audit(
                    conn,
                    &principal,
                    &format!("campaign.{}", format!("{action:?}").to_lowercase()),
                    "campaign",
                    &row.id,
                    Some(match &reason {
                        Some(r) => format!("{} -> {}: {r}", from.as_str(), to.as_str()),
                        None => format!("{} -> {}", from.as_str(), to.as_str()),
                    }),
                )?;
                let (row, fund) = load_with_fund(conn, &id)?;
                Ok((
                    view(row, fund.threshold_ratio, true),
                    freed.then_some(fund.id),
                ))
            })
        })
        .await?;
    if let Some(fund_id) = freed_fund {
        crate::app::serve_waitlist_now(state, fund_id).await;
    }
    Ok(view)
}

/// Approval re-checks the campaign against its fund and, for `on_approval` funds, earmarks the
/// top-up with a conditional update so the budget can never be overspent.
fn approve_checks(
    conn: &mut DbConnection,
    areas_index: &crate::app::cache::AreaCatalog,
    row: &CampaignRow,
    fund: &FundRow,
) -> ApiResult<()> {
    let mut errors = Vec::new();
    let area = check_against_fund(
        conn,
        areas_index,
        fund,
        row.goal,
        Location {
            lat: row.location_lat,
            lon: row.location_lon,
        },
        (row.starts_at, row.ends_at),
        &mut errors,
    )?;
    if area.as_deref() != Some(row.area_id.as_str()) && errors.is_empty() {
        errors.push(FieldError::new(
            "location",
            "the campaign's area is no longer eligible for this fund",
        ));
    }
    if row.ends_at <= now() {
        errors.push(FieldError::new(
            "ends_at",
            "the campaign period is already over",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    match engine::earmark(conn, row, fund)? {
        Ok(()) => Ok(()),
        Err(engine::EarmarkError::BudgetExhausted) => Err(ApiError::conflict(
            "budget_exhausted",
            "the fund's available budget cannot cover this campaign's top-up",
        )),
        Err(engine::EarmarkError::Moved) => Err(ApiError::conflict(
            "concurrent_update",
            "the campaign changed while this request ran; read it again",
        )),
    }
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
    let areas_index = state.areas.clone();
    let view = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| -> ApiResult<CampaignView> {
                let (row, fund) = load_with_fund(conn, &id)?;
                let actor = actor_for(&principal, &row)?;
                let from = row.status;
                let to = transition(from, Action::Edit, actor).map_err(transition_error)?;
                let currency = fund.currency;
                let mut errors = Vec::new();
                let mut next = row.clone();
                if let Some(t) = body.title {
                    next.title = t.trim().to_string();
                }
                if let Some(s) = body.summary {
                    next.summary = s.trim().to_string();
                }
                check_text(&next.title, &next.summary, &mut errors);
                if let Some(g) = &body.goal {
                    match parse_amount(g, currency) {
                        Ok(v) => next.goal = v,
                        Err(e) => errors.push(FieldError::new("goal", e)),
                    }
                }
                if let Some(l) = body.location {
                    next.location_lat = l.lat;
                    next.location_lon = l.lon;
                }
                if let Some(s) = body.starts_at {
                    next.starts_at = from_client(s);
                }
                if let Some(e) = body.ends_at {
                    next.ends_at = from_client(e);
                }
                if body.ends_at.is_some() && next.ends_at <= now() {
                    errors.push(FieldError::new("ends_at", "must be in the future"));
                }
                let area = check_against_fund(
                    conn,
                    &areas_index,
                    &fund,
                    next.goal,
                    Location {
                        lat: next.location_lat,
                        lon: next.location_lon,
                    },
                    (next.starts_at, next.ends_at),
                    &mut errors,
                )?;
                let (Some(area_id), true) = (area, errors.is_empty()) else {
                    return Err(ApiError::Validation(errors));
                };
                next.area_id = area_id;
                next.status = to;
                next.rejection_reason = None;
                next.updated_at = now();
                let changed = diesel::update(campaigns::table.find(&row.id))
                    .filter(campaigns::status.eq(&row.status))
                    .set(&next)
                    .execute(conn)?;
                if changed == 0 {
                    return Err(ApiError::conflict(
                        "concurrent_update",
                        "the campaign changed while this request ran; read it again",
                    ));
                }
                audit(conn, &principal, "campaign.edit", "campaign", &row.id, None)?;
                Ok(view(next, fund.threshold_ratio, true))
            })
        })
        .await?;
    Ok(view)
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
    use crate::db::models::MatchDecisionRow;
    use crate::db::schema::match_decisions;
    let id = id.into_inner();
    let (row, decisions) = state
        .db
        .run(
            move |conn| -> ApiResult<(CampaignRow, Vec<MatchDecisionRow>)> {
                let (row, _) = load_with_fund(conn, &id)?;
                let decisions = match_decisions::table
                    .filter(match_decisions::campaign_id.eq(&id))
                    .order(match_decisions::id)
                    .select(MatchDecisionRow::as_select())
                    .load(conn)?;
                Ok((row, decisions))
            },
        )
        .await?;
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

/// An SVG progress bar (raised, city match, goal) to embed in a web page. Public campaigns
/// only; no personal data; cacheable for a minute.
#[utoipa::path(
    tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id")),
    responses(
        (status = 200, content_type = "image/svg+xml", body = String),
        (status = 404, body = crate::http::error::Problem),
    )
)]
#[get("/campaigns/{id}/badge.svg")]
pub async fn badge(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    // Badges are embedded in partners' pages: served from the public read cache, like the
    // campaign itself.
    let cached = cached_campaign(&state, id.into_inner()).await?;
    let row = &cached.row;
    if !row.status.is_public() {
        return Err(ApiError::NotFound("campaign"));
    }
    let svg = crate::domain::badge::render(&crate::domain::badge::BadgeInput {
        title: &row.title,
        status: row.status.as_str(),
        currency: row.currency,
        goal: row.goal,
        raised: row.raised,
        match_amount: row.match_amount,
        match_status: row.match_status.as_str(),
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
        .insert_header(("ETag", etag))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'",
        ))
        .body(svg))
}
