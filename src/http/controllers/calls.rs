//! Calls for proposals over HTTP: the call on a fund, the commission's declarations and
//! scores, the published ranking (JSON or CSV), *scorrimento* and appeals.

use crate::app::AppState;
use crate::app::calls::{
    self as uc, Assignment, CallDetails, CallError, CallInput, EvaluatorStatus, Ranking,
    ScoreInput, Sheet,
};
use crate::db::calls::AppealRow;
use crate::domain::call::{AppealStatus, Criterion, Outcome, Window};
use crate::http::csv_out::{CsvOut, wants_csv};
use crate::http::error::{ApiError, ApiResult, FieldError};
use crate::http::extract::{ApiJson, MaybePrincipal, Principal};
use crate::http::views::{from_client, ts};
use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

impl From<CallError> for ApiError {
    fn from(e: CallError) -> ApiError {
        match e {
            CallError::NotFound(what) => ApiError::NotFound(what),
            CallError::Forbidden(why) => ApiError::Forbidden(why),
            CallError::Invalid(errors) => ApiError::Validation(
                errors
                    .into_iter()
                    .map(|i| FieldError::new(i.field, i.message))
                    .collect(),
            ),
            CallError::Conflict(code, detail) => ApiError::conflict(code, detail),
            e @ CallError::Corrupt(_) => ApiError::Internal(e.to_string()),
            CallError::Db(e) => e.into(),
        }
    }
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowBody {
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CriterionBody {
    /// 1–32 letters, digits, `_` or `-`; unique in the call.
    #[schema(min_length = 1, max_length = 32, pattern = "^[A-Za-z0-9_-]{1,32}$")]
    pub code: String,
    #[schema(min_length = 1, max_length = 500, pattern = "\\S")]
    pub label: String,
    #[schema(minimum = 1, maximum = 1000)]
    pub max_points: u32,
}

/// A call for proposals on a fund.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutCall {
    /// 1–12 windows, in order, not overlapping, closing by the fund's `closes_at`.
    #[schema(min_items = 1, max_items = 12)]
    pub windows: Vec<WindowBody>,
    /// 1–20 criteria.
    #[schema(min_items = 1, max_items = 20)]
    pub criteria: Vec<CriterionBody>,
    /// The lowest score admitted, from 0 to the sum of `max_points` (two decimals at most).
    #[schema(example = "60")]
    pub pass_mark: DecimalInput,
    /// How many evaluators without a conflict score each application (1–10, default 2).
    #[schema(minimum = 1, maximum = 10)]
    pub evaluators_per_application: Option<u32>,
}

/// A number, or a decimal string.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum DecimalInput {
    Number(serde_json::Number),
    Text(String),
}

impl utoipa::PartialSchema for DecimalInput {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Number)
                    .minimum(Some(0)),
            )
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some("^[0-9]+(\\.[0-9]{1,2})?$")),
            )
            .description(Some(
                "A number from 0, or a decimal string (two decimals at most)",
            ))
            .into()
    }
}

impl utoipa::ToSchema for DecimalInput {}

impl DecimalInput {
    fn text(self) -> String {
        match self {
            DecimalInput::Number(n) => n.to_string(),
            DecimalInput::Text(s) => s,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CallView {
    pub fund_id: String,
    pub fund_name: String,
    pub windows: Vec<WindowView>,
    pub criteria: Vec<CriterionBody>,
    /// Decimal string.
    pub pass_mark: String,
    pub max_score: u32,
    pub evaluators_per_application: u32,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WindowView {
    /// The window's number (1, 2, …): `window` in the ranking.
    pub number: u32,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
}

fn call_view(d: CallDetails) -> CallView {
    CallView {
        fund_id: d.fund.id,
        fund_name: d.fund.name,
        max_score: d.call.max_total(),
        windows: d
            .call
            .windows
            .iter()
            .enumerate()
            .map(|(i, w)| WindowView {
                number: i as u32 + 1,
                opens_at: ts(w.opens_at),
                closes_at: ts(w.closes_at),
            })
            .collect(),
        criteria: d
            .call
            .criteria
            .into_iter()
            .map(|c| CriterionBody {
                code: c.code,
                label: c.label,
                max_points: c.max_points,
            })
            .collect(),
        pass_mark: d.call.pass_mark.to_string(),
        evaluators_per_application: d.call.evaluators_per_application,
        updated_at: ts(d.updated_at),
    }
}

/// Set a fund's call for proposals (admin).
///
/// With a call, `submit` is accepted only inside an open window, a submitted campaign is an
/// application with a cost plan adding up to its goal, and the published ranking approves and
/// rejects. Once applications exist, the criteria and pass mark stay, and windows may be
/// extended, closed early or added only while every application stays inside the window it came
/// in (409 `call_in_use`).
#[utoipa::path(
    tag = "calls",
    params(("id" = String, Path, description = "Fund id")),
    request_body = PutCall,
    security(("bearer" = [])),
    responses(
        (status = 200, body = CallView),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[put("/funds/{id}/call")]
pub async fn put_call(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: ApiJson<PutCall>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let input = CallInput {
        windows: b
            .windows
            .into_iter()
            .map(|w| Window {
                opens_at: from_client(w.opens_at),
                closes_at: from_client(w.closes_at),
            })
            .collect(),
        criteria: b
            .criteria
            .into_iter()
            .map(|c| Criterion {
                code: c.code,
                label: c.label,
                max_points: c.max_points,
            })
            .collect(),
        pass_mark: b.pass_mark.text(),
        evaluators_per_application: b.evaluators_per_application,
    };
    let d = uc::set_call(&state, principal, id.into_inner(), input).await?;
    Ok(HttpResponse::Ok().json(call_view(d)))
}

/// A fund's call for proposals (public).
#[utoipa::path(
    tag = "calls",
    params(("id" = String, Path, description = "Fund id")),
    responses(
        (status = 200, body = CallView),
        (status = 404, description = "No such fund, or it has no call", body = crate::http::error::Problem),
    )
)]
#[get("/funds/{id}/call")]
pub async fn get_call(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let d = uc::get_call(&state, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(call_view(d)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetEvaluators {
    /// 1–10 reviewers' user ids; replaces the list (a removed evaluator's scores are dropped).
    #[schema(min_items = 1, max_items = 10)]
    pub user_ids: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EvaluatorView {
    pub user_id: String,
    pub username: String,
    /// Whether they declared a conflict of interest; `null` until they declare.
    pub conflict: Option<bool>,
    pub declared_at: Option<DateTime<Utc>>,
    /// Whether their scores are in.
    pub scored: bool,
}

fn evaluator_view(e: EvaluatorStatus) -> EvaluatorView {
    EvaluatorView {
        user_id: e.user_id,
        username: e.username,
        conflict: e.conflict,
        declared_at: e.declared_at.map(ts),
        scored: e.scored,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EvaluatorList {
    pub data: Vec<EvaluatorView>,
}

/// Set an application's evaluators (admin).
///
/// Reviewers only; the list replaces the previous one and a removed evaluator's declaration and
/// scores are dropped (replace one who declared a conflict this way). 409 once the published
/// ranking holds the application's scores.
#[utoipa::path(
    tag = "calls",
    params(("id" = String, Path, description = "Campaign id")),
    request_body = SetEvaluators,
    security(("bearer" = [])),
    responses(
        (status = 200, body = EvaluatorList),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[post("/campaigns/{id}/evaluators")]
pub async fn set_evaluators(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: ApiJson<SetEvaluators>,
) -> ApiResult<HttpResponse> {
    let list = uc::set_evaluators(
        &state,
        principal,
        id.into_inner(),
        body.into_inner().user_ids,
    )
    .await?;
    Ok(HttpResponse::Ok().json(EvaluatorList {
        data: list.into_iter().map(evaluator_view).collect(),
    }))
}

/// An application's evaluators: the admin sees the commission; a reviewer only themself.
#[utoipa::path(
    tag = "calls",
    params(("id" = String, Path, description = "Campaign id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = EvaluatorList),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
    )
)]
#[get("/campaigns/{id}/evaluators")]
pub async fn list_evaluators(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let list = uc::evaluators(&state, principal, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(EvaluatorList {
        data: list.into_iter().map(evaluator_view).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Declaration {
    /// Whether the evaluator has a conflict of interest with the applicant.
    pub conflict: bool,
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

/// Declare a conflict of interest, or none (the assigned evaluator, once, before scoring;
/// art. 6-bis L. 241/1990).
#[utoipa::path(
    tag = "calls",
    params(("id" = String, Path, description = "Campaign id")),
    request_body = Declaration,
    security(("bearer" = [])),
    responses(
        (status = 200, body = EvaluatorView),
        (status = 403, description = "Not an evaluator of this application", body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, description = "Already declared, or the ranking holds the scores", body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[post("/campaigns/{id}/declaration")]
pub async fn declare(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: ApiJson<Declaration>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let e = uc::declare(&state, principal, id.into_inner(), b.conflict, b.note).await?;
    Ok(HttpResponse::Ok().json(evaluator_view(e)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoreBody {
    /// A criterion's code.
    #[schema(min_length = 1, max_length = 32)]
    pub criterion: String,
    /// 0 to the criterion's `max_points`, at most two decimals (a number or a decimal string).
    pub points: DecimalInput,
    #[schema(max_length = 2000)]
    pub comment: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutScores {
    /// Every criterion of the call, once.
    #[schema(min_items = 1, max_items = 20)]
    pub scores: Vec<ScoreBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScoreView {
    pub criterion: String,
    /// Decimal string.
    pub points: String,
    pub comment: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SheetView {
    pub user_id: String,
    pub scores: Vec<ScoreView>,
}

fn sheet_view(s: Sheet) -> SheetView {
    SheetView {
        user_id: s.user_id,
        scores: s
            .scores
            .into_iter()
            .map(|r| ScoreView {
                criterion: r.criterion,
                points: r.points,
                comment: r.comment,
            })
            .collect(),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SheetList {
    pub data: Vec<SheetView>,
}

/// Score an application (its assigned evaluator, after declaring no conflict).
///
/// Every criterion once, `0 ≤ points ≤ max_points`; replaces the evaluator's earlier scores.
/// 403 unassigned or conflicted; 409 before the declaration or once the ranking is published.
#[utoipa::path(
    tag = "calls",
    params(("id" = String, Path, description = "Campaign id")),
    request_body = PutScores,
    security(("bearer" = [])),
    responses(
        (status = 200, body = SheetView),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[put("/campaigns/{id}/scores")]
pub async fn put_scores(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: ApiJson<PutScores>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    if b.scores.is_empty() || b.scores.len() > 20 {
        return Err(ApiError::validation("scores", "1–20 scores"));
    }
    let input = b
        .scores
        .into_iter()
        .map(|s| ScoreInput {
            criterion: s.criterion,
            points: s.points.text(),
            comment: s.comment,
        })
        .collect();
    let sheet = uc::put_scores(&state, principal, id.into_inner(), input).await?;
    Ok(HttpResponse::Ok().json(sheet_view(sheet)))
}

/// An application's scores: an evaluator reads only their own; the admin reads every sheet.
#[utoipa::path(
    tag = "calls",
    params(("id" = String, Path, description = "Campaign id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = SheetList),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
    )
)]
#[get("/campaigns/{id}/scores")]
pub async fn get_scores(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let sheets = uc::scores(&state, principal, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(SheetList {
        data: sheets.into_iter().map(sheet_view).collect(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AssignmentView {
    pub campaign_id: String,
    pub title: String,
    pub fund_id: String,
    pub window: i32,
    /// `null` until declared.
    pub conflict: Option<bool>,
    pub scored: bool,
    /// The published ranking holds the scores.
    pub frozen: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AssignmentList {
    pub data: Vec<AssignmentView>,
}

fn assignment_view(a: Assignment) -> AssignmentView {
    AssignmentView {
        campaign_id: a.campaign_id,
        title: a.title,
        fund_id: a.fund_id,
        window: a.window,
        conflict: a.conflict,
        scored: a.scored,
        frozen: a.frozen,
    }
}

/// The applications the calling reviewer evaluates (their own assignments only; at most 500).
#[utoipa::path(
    tag = "calls",
    security(("bearer" = [])),
    responses(
        (status = 200, body = AssignmentList),
        (status = 403, body = crate::http::error::Problem),
    )
)]
#[get("/evaluations")]
pub async fn my_evaluations(
    state: web::Data<AppState>,
    principal: Principal,
) -> ApiResult<HttpResponse> {
    let list = uc::assignments(&state, principal).await?;
    Ok(HttpResponse::Ok().json(AssignmentList {
        data: list.into_iter().map(assignment_view).collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RankingParams {
    /// The window's number (default: for the city the latest opened, for the public the
    /// latest published).
    #[param(minimum = 1, maximum = 12)]
    pub window: Option<i32>,
    /// A published version (default: the latest).
    #[param(minimum = 1)]
    pub version: Option<i32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RankingLineView {
    pub campaign_id: String,
    pub title: String,
    pub association_id: String,
    /// The mean of the evaluators' totals, two decimals, half-up.
    #[schema(example = "67.50")]
    pub score: String,
    /// Each criterion's mean, by code.
    pub criteria: BTreeMap<String, String>,
    pub rank: u32,
    pub outcome: Outcome,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RankingView {
    pub fund_id: String,
    pub window: i32,
    /// `null` for the city's draft of a version not yet published.
    pub version: Option<i32>,
    pub published_at: Option<DateTime<Utc>>,
    pub data: Vec<RankingLineView>,
    /// The commission's members (their individual scores are not published).
    pub evaluators: Vec<String>,
}

fn ranking_view(r: Ranking) -> RankingView {
    RankingView {
        fund_id: r.fund_id,
        window: r.window,
        version: r.version,
        published_at: r.published_at.map(ts),
        evaluators: r.evaluators,
        data: r
            .lines
            .into_iter()
            .map(|l| RankingLineView {
                campaign_id: l.campaign_id,
                title: l.title,
                association_id: l.association_id,
                score: l.score,
                criteria: l.criteria,
                rank: l.rank,
                outcome: l.outcome,
            })
            .collect(),
    }
}

fn ranking_response(req: &HttpRequest, r: Ranking) -> ApiResult<HttpResponse> {
    if wants_csv(req) {
        let codes: Vec<String> = r
            .lines
            .first()
            .map(|l| l.criteria.keys().cloned().collect())
            .unwrap_or_default();
        let mut header = vec![
            "rank",
            "campaign_id",
            "title",
            "association_id",
            "score",
            "outcome",
        ];
        header.extend(codes.iter().map(String::as_str));
        let mut out = CsvOut::new(&header);
        for l in &r.lines {
            let mut row = vec![
                l.rank.to_string(),
                l.campaign_id.clone(),
                l.title.clone(),
                l.association_id.clone(),
                l.score.clone(),
                l.outcome.as_str().to_string(),
            ];
            row.extend(
                codes
                    .iter()
                    .map(|c| l.criteria.get(c).cloned().unwrap_or_default()),
            );
            out.row(row);
        }
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .body(out.finish()?));
    }
    Ok(HttpResponse::Ok().json(ranking_view(r)))
}

/// A window's ranking (*graduatoria*): JSON, or CSV with `Accept: text/csv`.
///
/// Public once published (the latest version, or `version`); the admin and reviewers also
/// read the draft while scores are not yet published (409 `scores_missing` while an assigned
/// evaluator without a conflict has not scored). `score` is the mean of the evaluators'
/// totals, half-up to two decimals; ties go to the earlier submission; applications at or
/// above the pass mark are admitted in rank order while their possible top-ups fit the fund's
/// available budget.
#[utoipa::path(
    tag = "calls",
    params(("id" = String, Path, description = "Fund id"), RankingParams),
    responses(
        (status = 200, description = "The ranking: JSON, or CSV with `Accept: text/csv`", content(
            (RankingView = "application/json"),
            (String = "text/csv"),
        )),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[get("/funds/{id}/ranking")]
pub async fn get_ranking(
    state: web::Data<AppState>,
    principal: MaybePrincipal,
    req: HttpRequest,
    id: web::Path<String>,
    params: web::Query<RankingParams>,
) -> ApiResult<HttpResponse> {
    let p = params.into_inner();
    if p.version.is_some_and(|v| v < 1) {
        return Err(ApiError::validation("version", "a version from 1"));
    }
    let r = uc::ranking(&state, principal.0, id.into_inner(), p.window, p.version).await?;
    ranking_response(&req, r)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RankingWindow {
    /// The window's number.
    #[schema(minimum = 1, maximum = 12)]
    pub window: i32,
}

/// Publish a window's ranking (admin).
///
/// Freezes the scores, publishes the ranking, approves the admitted applications and rejects
/// the others with their outcome (`eligible_not_funded`, `below_pass_mark`) as the reason.
/// After an upheld appeal, publishing again records a new version (admissions already made
/// stay). 409: `scores_missing`, `already_published`, `nothing_to_publish`,
/// `budget_exhausted`.
#[utoipa::path(
    tag = "calls",
    params(("id" = String, Path, description = "Fund id")),
    request_body = RankingWindow,
    security(("bearer" = [])),
    responses(
        (status = 200, body = RankingView),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[post("/funds/{id}/ranking/publish")]
pub async fn publish(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: ApiJson<RankingWindow>,
) -> ApiResult<HttpResponse> {
    let r = uc::publish(&state, principal, id.into_inner(), body.into_inner().window).await?;
    Ok(HttpResponse::Ok().json(ranking_view(r)))
}

/// *Scorrimento* (admin): admit the next eligible applications that now fit.
///
/// When an admitted application dropped out before going live or the budget rose: in rank
/// order, `eligible_not_funded` applications are admitted (approved) while their top-ups fit.
/// A new version of the ranking. 409 `nothing_fits` when none does, `not_published` before
/// publication.
#[utoipa::path(
    tag = "calls",
    params(("id" = String, Path, description = "Fund id")),
    request_body = RankingWindow,
    security(("bearer" = [])),
    responses(
        (status = 200, body = RankingView),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[post("/funds/{id}/ranking/advance")]
pub async fn advance(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: ApiJson<RankingWindow>,
) -> ApiResult<HttpResponse> {
    let r = uc::advance(&state, principal, id.into_inner(), body.into_inner().window).await?;
    Ok(HttpResponse::Ok().json(ranking_view(r)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAppeal {
    #[schema(min_length = 1, max_length = 5000, pattern = "\\S")]
    pub text: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AppealView {
    /// `apl_…`
    pub id: String,
    pub campaign_id: String,
    pub association_id: String,
    pub fund_id: String,
    pub window: i32,
    pub text: String,
    pub status: AppealStatus,
    /// Why it was upheld or dismissed.
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

fn appeal_view(a: AppealRow) -> AppealView {
    AppealView {
        id: a.id,
        campaign_id: a.campaign_id,
        association_id: a.association_id,
        fund_id: a.fund_id,
        window: a.window_number,
        text: a.text,
        status: a.status,
        reason: a.reason,
        created_at: ts(a.created_at),
        decided_at: a.decided_at.map(ts),
    }
}

/// Appeal an application's published outcome (its association, within 30 days of
/// publication; one pending appeal at a time).
#[utoipa::path(
    tag = "calls",
    params(("id" = String, Path, description = "Campaign id")),
    request_body = NewAppeal,
    security(("bearer" = [])),
    responses(
        (status = 201, body = AppealView),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, description = "`not_ranked`, `appeal_too_late`, `appeal_pending`", body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[post("/campaigns/{id}/appeal")]
pub async fn appeal(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: ApiJson<NewAppeal>,
) -> ApiResult<HttpResponse> {
    let a = uc::appeal(&state, principal, id.into_inner(), body.into_inner().text).await?;
    Ok(HttpResponse::Created().json(appeal_view(a)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideAppeal {
    #[schema(pattern = "^(upheld|dismissed)$")]
    pub outcome: String,
    #[schema(min_length = 1, max_length = 2000, pattern = "\\S")]
    pub reason: String,
}

/// Decide an appeal (admin). Upheld: the application's evaluators may score it again, and
/// publishing the window again records a new version of the ranking.
#[utoipa::path(
    tag = "calls",
    params(("id" = String, Path, description = "Appeal id")),
    request_body = DecideAppeal,
    security(("bearer" = [])),
    responses(
        (status = 200, body = AppealView),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[post("/appeals/{id}/decide")]
pub async fn decide_appeal(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: ApiJson<DecideAppeal>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let upheld = match b.outcome.as_str() {
        "upheld" => true,
        "dismissed" => false,
        _ => return Err(ApiError::validation("outcome", "upheld or dismissed")),
    };
    let a = uc::decide_appeal(&state, principal, id.into_inner(), upheld, b.reason).await?;
    Ok(HttpResponse::Ok().json(appeal_view(a)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AppealParams {
    /// `pending`, `upheld` or `dismissed`.
    #[param(pattern = "^(pending|upheld|dismissed)$")]
    pub status: Option<String>,
    pub campaign_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AppealList {
    pub data: Vec<AppealView>,
}

/// Appeals, newest first (at most 200): the city reads all; an association its own.
#[utoipa::path(
    tag = "calls",
    params(AppealParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = AppealList),
        (status = 403, body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[get("/appeals")]
pub async fn list_appeals(
    state: web::Data<AppState>,
    principal: Principal,
    params: web::Query<AppealParams>,
) -> ApiResult<HttpResponse> {
    let p = params.into_inner();
    let status = match p.status.as_deref() {
        None => None,
        Some(s) => Some(
            AppealStatus::parse(s)
                .ok_or_else(|| ApiError::validation("status", "pending, upheld or dismissed"))?,
        ),
    };
    let list = uc::appeals(&state, principal, status, p.campaign_id).await?;
    Ok(HttpResponse::Ok().json(AppealList {
        data: list.into_iter().map(appeal_view).collect(),
    }))
}
