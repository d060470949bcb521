//! Grants: the committed match as the city pays it — read, the report approved, reviewed after
//! money left the campaign, revoked, and money paid back recorded. The association's reporting
//! (documents, expenses, the report) is in `grant_reports`.

use crate::app::AppState;
use crate::app::grants::{self as uc, GrantDetails, GrantError, GrantFilter, ReviewOutcome};
use crate::domain::grant::{AwardStatus, GrantStatus, PaymentPlan, TrancheKind, TrancheStatus};
use crate::domain::money::parse_amount;
use crate::http::error::{ApiError, ApiResult, FieldError};
use crate::http::extract::{ApiJson, Page, Principal, check_limit};
use crate::http::views::{from_client, money, ts};
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, ToSchema)]
pub struct TrancheView {
    pub id: String,
    pub funder_id: String,
    /// `advance`, `balance` or `full`.
    pub kind: TrancheKind,
    pub amount: String,
    /// `payable`, `in_batch`, `paid` or `cancelled` (replaced by a later decision).
    pub status: String,
    pub settlement_id: Option<String>,
    pub paid_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GrantPartView {
    pub funder_id: String,
    pub awarded: String,
    pub paid: String,
    pub released: String,
    pub recoverable: String,
    pub recovered: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GrantView {
    pub id: String,
    pub campaign_id: String,
    pub fund_id: String,
    pub association_id: String,
    pub currency: String,
    pub payment_plan: PaymentPlan,
    pub advance_ratio: Option<String>,
    /// The committed match.
    #[schema(example = "2000.00")]
    pub awarded: String,
    /// The award after reductions (equal to `awarded` unless reduced; 0 once revoked).
    pub award: String,
    /// The project's cost the contribution is measured against (the campaign's goal).
    pub goal: String,
    /// Paid to the association (including anything it now owes back).
    pub paid: String,
    /// Accepted expense lines.
    pub accepted_expenses: String,
    /// The contribution due once the report is approved (`min(award, award × accepted ÷
    /// goal)`); null before.
    pub due: Option<String>,
    /// Returned to the funders' budgets (no longer due).
    pub released: String,
    /// Paid money the association owes back.
    pub recoverable: String,
    pub recovered: String,
    /// Payable now and in no batch.
    pub payable: String,
    /// In a draft settlement batch.
    pub in_batch: String,
    /// Awarded, not yet payable (the balance before approval; anything under review).
    pub not_yet_payable: String,
    pub status: GrantStatus,
    /// The award as the transparency register shows it: `awarded`, `reduced`, `revoked`.
    pub award_status: AwardStatus,
    pub report_due_at: DateTime<Utc>,
    pub reported_at: Option<DateTime<Utc>>,
    pub approved_at: Option<DateTime<Utc>>,
    pub summary: Option<String>,
    /// The reason of the last review or revocation.
    pub decision_reason: Option<String>,
    pub parts: Vec<GrantPartView>,
    pub tranches: Vec<TrancheView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub fn grant_view(d: GrantDetails) -> GrantView {
    let GrantDetails {
        grant: g,
        parts,
        tranches,
    } = d;
    let c = &g.currency;
    let open = |in_batch: bool| -> i64 {
        tranches
            .iter()
            .filter(|t| t.status == TrancheStatus::Payable && t.settlement_id.is_some() == in_batch)
            .map(|t| t.amount)
            .sum()
    };
    let (payable, in_batch) = (open(false), open(true));
    let committed = g.awarded - g.released - g.paid;
    GrantView {
        id: g.id.clone(),
        campaign_id: g.campaign_id.clone(),
        fund_id: g.fund_id.clone(),
        association_id: g.association_id.clone(),
        currency: c.to_string(),
        payment_plan: g.payment_plan,
        advance_ratio: g.advance_ratio.clone(),
        awarded: money(g.awarded, c),
        award: money(g.award_limit, c),
        goal: money(g.goal, c),
        paid: money(g.paid, c),
        accepted_expenses: money(g.accepted_expenses, c),
        due: g.due.map(|d| money(d, c)),
        released: money(g.released, c),
        recoverable: money(g.recoverable, c),
        recovered: money(g.recovered, c),
        payable: money(payable, c),
        in_batch: money(in_batch, c),
        not_yet_payable: money((committed - payable - in_batch).max(0), c),
        status: g.status,
        award_status: g.award_status,
        report_due_at: ts(g.report_due_at),
        reported_at: g.reported_at.map(ts),
        approved_at: g.approved_at.map(ts),
        summary: g.summary.clone(),
        decision_reason: g.decision_reason.clone(),
        parts: parts
            .iter()
            .map(|p| GrantPartView {
                funder_id: p.funder_id.clone(),
                awarded: money(p.awarded, c),
                paid: money(p.paid, c),
                released: money(p.released, c),
                recoverable: money(p.recoverable, c),
                recovered: money(p.recovered, c),
            })
            .collect(),
        tranches: tranches
            .into_iter()
            .map(|t| TrancheView {
                status: match (t.status, &t.settlement_id) {
                    (TrancheStatus::Payable, Some(_)) => "in_batch".to_string(),
                    (s, _) => s.to_string(),
                },
                id: t.id,
                funder_id: t.funder_id,
                kind: t.kind,
                amount: money(t.amount, c),
                settlement_id: t.settlement_id,
                paid_at: t.paid_at.map(ts),
            })
            .collect(),
        created_at: ts(g.created_at),
        updated_at: ts(g.updated_at),
    }
}

pub fn grant_error(e: GrantError) -> ApiError {
    match e {
        GrantError::NotFound => ApiError::NotFound("grant"),
        GrantError::Forbidden => ApiError::Forbidden("your role may not do this"),
        GrantError::Invalid(errors) => ApiError::Validation(
            errors
                .into_iter()
                .map(|i| FieldError::new(i.field, i.message))
                .collect(),
        ),
        GrantError::Conflict(code, detail) => ApiError::conflict(code, detail),
        GrantError::Books(what) => ApiError::Internal(what),
        GrantError::Db(e) => e.into(),
    }
}

pub type GrantPage = Page<GrantView>;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct GrantParams {
    pub fund_id: Option<String>,
    pub campaign_id: Option<String>,
    pub association_id: Option<String>,
    /// `open`, `reported`, `approved`, `closed`, `overdue`, `under_review` or `revoked`.
    #[param(pattern = "^(open|reported|approved|closed|overdue|under_review|revoked)$")]
    pub status: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Grants (the owning association's members see their own; reviewer, finance, admin all).
#[utoipa::path(
    tag = "grants",
    params(GrantParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Page<GrantView>),
        (status = 401, body = crate::http::error::Problem),
        (status = 403, body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[get("/grants")]
pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    params: web::Query<GrantParams>,
) -> ApiResult<HttpResponse> {
    let p = params.into_inner();
    let limit = check_limit(p.limit)?;
    let status = match p.status.as_deref() {
        None => None,
        Some(s) => Some(GrantStatus::parse(s).ok_or_else(|| {
            ApiError::validation(
                "status",
                "open, reported, approved, closed, overdue, under_review or revoked",
            )
        })?),
    };
    let filter = GrantFilter {
        fund_id: p.fund_id,
        campaign_id: p.campaign_id,
        association_id: p.association_id,
        status,
        after: p.cursor.unwrap_or_default(),
        limit: limit + 1,
    };
    let rows = crate::app::grant_decisions::list(&state, principal, filter)
        .await
        .map_err(grant_error)?;
    Ok(HttpResponse::Ok().json(Page::from_rows(
        rows,
        limit,
        |d| d.grant.id.clone(),
        grant_view,
    )))
}

/// One grant with its funders' parts and tranches.
#[utoipa::path(
    tag = "grants",
    params(("id" = String, Path, description = "Grant id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = GrantView),
        (status = 401, body = crate::http::error::Problem),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
    )
)]
#[get("/grants/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let d = crate::app::grant_decisions::get(&state, principal, id.into_inner())
        .await
        .map_err(grant_error)?;
    Ok(HttpResponse::Ok().json(grant_view(d)))
}

async fn after(state: &AppState, g: crate::db::models::GrantRow) -> ApiResult<HttpResponse> {
    let principal = crate::auth::Principal {
        sub: String::new(),
        role: crate::domain::role::Role::Admin,
        association_id: None,
        partner_id: None,
    };
    let d = crate::app::grant_decisions::get(state, principal, g.id)
        .await
        .map_err(grant_error)?;
    Ok(HttpResponse::Ok().json(grant_view(d)))
}

/// Approve the final report (finance): every expense line must be checked (409
/// `expenses_unchecked`), the report submitted (409 `report_not_submitted`), and no tranche in
/// a draft batch (409 `grant_in_batch`). The contribution due becomes `min(award, award ×
/// accepted ÷ goal)`; the rest of the award goes back to the funders; the balance is payable;
/// anything paid beyond the due is recoverable.
#[utoipa::path(
    tag = "grants",
    params(("id" = String, Path, description = "Grant id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = GrantView),
        (status = 401, body = crate::http::error::Problem),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, body = crate::http::error::Problem),
    )
)]
#[post("/grants/{id}/approve-report")]
pub async fn approve_report(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let (p, id) = (principal, id.into_inner());
    let g =
        crate::app::grant_decisions::decide(&state, move |conn| uc::approve_report(conn, &p, &id))
            .await
            .map_err(grant_error)?;
    after(&state, g).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewGrant {
    /// `confirm` (the award stands), `reduce` (to `amount`) or `revoke`.
    #[schema(pattern = "^(confirm|reduce|revoke)$")]
    pub outcome: String,
    /// `reduce`: the new award, below the current one.
    #[schema(example = "1000.00")]
    pub amount: Option<String>,
    #[schema(min_length = 1, max_length = 1000, pattern = "\\S")]
    pub reason: String,
}

pub fn reason_of(reason: &str) -> Result<String, ApiError> {
    let r = reason.trim();
    if r.is_empty() || r.chars().count() > 1000 {
        return Err(ApiError::validation("reason", "1–1000 characters"));
    }
    Ok(r.to_string())
}

/// Decide a grant under review after money left its campaign (finance): `confirm`, `reduce`
/// (the rest released, or recoverable if already paid) or `revoke`. 409 when the grant is not
/// under review, or (reduce, revoke) while a draft batch holds one of its tranches. 422 when an
/// `amount` comes with `confirm` or `revoke`, is missing for `reduce`, has more decimals than
/// the grant's currency, or is not below the current award.
#[utoipa::path(
    tag = "grants",
    params(("id" = String, Path, description = "Grant id")),
    request_body = ReviewGrant,
    security(("bearer" = [])),
    responses(
        (status = 200, body = GrantView),
        (status = 401, body = crate::http::error::Problem),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[post("/grants/{id}/review")]
pub async fn review(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: ApiJson<ReviewGrant>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let reason = reason_of(&b.reason)?;
    let (p, id) = (principal, id.into_inner());
    let amount = match (b.outcome.as_str(), b.amount) {
        ("confirm" | "revoke", None) => None,
        ("reduce", Some(a)) => Some(a),
        ("reduce", None) => return Err(ApiError::validation("amount", "required to reduce")),
        ("confirm" | "revoke", Some(_)) => {
            return Err(ApiError::validation("amount", "only to reduce"));
        }
        _ => {
            return Err(ApiError::validation("outcome", "confirm, reduce or revoke"));
        }
    };
    let revoking = b.outcome == "revoke";
    let g = crate::app::grant_decisions::decide(&state, move |conn| {
        let outcome = match amount {
            // The new award is in the grant's currency: parsed once the grant is known.
            Some(a) => {
                let g = uc::visible(conn, &p, &id, false)?;
                let minor = parse_amount(&a, g.currency).map_err(|e| {
                    GrantError::Invalid(vec![crate::app::Invalid::new("amount", e)])
                })?;
                ReviewOutcome::Reduce(minor)
            }
            None if revoking => ReviewOutcome::Revoke,
            None => ReviewOutcome::Confirm,
        };
        uc::review(conn, &p, &id, outcome, &reason)
    })
    .await
    .map_err(grant_error)?;
    after(&state, g).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeGrant {
    #[schema(min_length = 1, max_length = 1000, pattern = "\\S")]
    pub reason: String,
}

/// Revoke a grant (admin): nothing more is paid, the unpaid award goes back to the funders and
/// everything paid becomes recoverable. 409 when already revoked, or while a draft batch holds
/// one of its tranches.
#[utoipa::path(
    tag = "grants",
    params(("id" = String, Path, description = "Grant id")),
    request_body = RevokeGrant,
    security(("bearer" = [])),
    responses(
        (status = 200, body = GrantView),
        (status = 401, body = crate::http::error::Problem),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[post("/grants/{id}/revoke")]
pub async fn revoke(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: ApiJson<RevokeGrant>,
) -> ApiResult<HttpResponse> {
    let reason = reason_of(&body.into_inner().reason)?;
    let (p, id) = (principal, id.into_inner());
    let g =
        crate::app::grant_decisions::decide(&state, move |conn| uc::revoke(conn, &p, &id, &reason))
            .await
            .map_err(grant_error)?;
    after(&state, g).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordRecovery {
    /// Received from the association, at most what is recoverable.
    #[schema(example = "800.00")]
    pub amount: String,
    pub received_at: DateTime<Utc>,
    /// The bank's reference of the incoming transfer (1–140 characters; once per grant).
    #[schema(min_length = 1, max_length = 140, pattern = "\\S")]
    pub bank_reference: String,
}

/// Record money an association paid back (finance): it returns to the funders' available
/// budgets. 409 `more_than_recoverable`, or `recovery_recorded` for a bank reference already
/// recorded on this grant; 422 for a bad amount or a future date.
#[utoipa::path(
    tag = "grants",
    params(("id" = String, Path, description = "Grant id")),
    request_body = RecordRecovery,
    security(("bearer" = [])),
    responses(
        (status = 200, body = GrantView),
        (status = 401, body = crate::http::error::Problem),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[post("/grants/{id}/recoveries")]
pub async fn recoveries(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: ApiJson<RecordRecovery>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let reference = b.bank_reference.trim().to_string();
    if reference.is_empty() || reference.chars().count() > 140 {
        return Err(ApiError::validation("bank_reference", "1–140 characters"));
    }
    if b.received_at > Utc::now() + chrono::Duration::days(1) {
        return Err(ApiError::validation(
            "received_at",
            "must not be in the future",
        ));
    }
    let received_at = from_client(b.received_at);
    let (p, id, amount) = (principal, id.into_inner(), b.amount);
    let g = crate::app::grant_decisions::decide(&state, move |conn| {
        let g = uc::visible(conn, &p, &id, false)?;
        let minor = parse_amount(&amount, g.currency)
            .map_err(|e| GrantError::Invalid(vec![crate::app::Invalid::new("amount", e)]))?;
        uc::record_recovery(conn, &p, &id, minor, received_at, &reference)
    })
    .await
    .map_err(grant_error)?;
    after(&state, g).await
}
