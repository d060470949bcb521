//! The console's grants: the list (filtered by status), one grant's page with its figures,
//! tranches and funders' parts, and the forms of the decisions — finance approves the final
//! report, decides a review and records money paid back; an admin revokes. Reviewers and the
//! association's members read the page without any form; another association's grant is 404.

use super::common::filled;
use super::console_grant_reports::{ReportSection, section};
use super::i18n::Tr;
use super::{Ctx, PageResult, context, html, redirect, signed_form};
use crate::app::AppState;
use crate::app::grant_decisions::{self as decisions, GrantNames};
use crate::app::grants::{self as uc, GrantDetails, GrantError, GrantFilter, ReviewOutcome};
use crate::domain::grant::GrantStatus;
use crate::domain::money::parse_amount;
use crate::domain::role::Role;
use crate::http::controllers::grants::{GrantView, grant_error, grant_view, reason_of};
use crate::http::error::ApiError;
use actix_session::Session;
use actix_web::{HttpRequest, web};
use askama::Template;
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// A grant in a list.
pub struct GrantLine {
    pub id: String,
    pub campaign: String,
    pub association: String,
    pub status: String,
    pub awarded: String,
    pub paid: String,
    /// The contribution due, or a dash before the report's approval.
    pub due: String,
    pub payable: String,
    pub recoverable: String,
    pub report_due: String,
}

fn day(t: &Tr, at: DateTime<Utc>) -> String {
    t.date(at.date_naive())
}

pub(super) fn status_label(t: &Tr, status: GrantStatus) -> String {
    t.get(&format!("grant-status-{}", status.as_str()))
}

/// The lines of grants read by the caller, with their names.
pub(super) fn grant_lines(t: &Tr, rows: Vec<GrantDetails>, names: &GrantNames) -> Vec<GrantLine> {
    rows.into_iter()
        .map(|d| {
            let v = grant_view(d);
            let cur = |m: &str| t.amount(m, &v.currency);
            GrantLine {
                campaign: GrantNames::of(&names.campaigns, &v.campaign_id),
                association: GrantNames::of(&names.associations, &v.association_id),
                status: status_label(t, v.status),
                awarded: cur(&v.awarded),
                paid: cur(&v.paid),
                due: v.due.as_deref().map(cur).unwrap_or_else(|| "—".into()),
                payable: cur(&v.payable),
                recoverable: cur(&v.recoverable),
                report_due: day(t, v.report_due_at),
                id: v.id,
            }
        })
        .collect()
}

/// Grants a caller may read (the first 200), in one status or any.
pub(super) async fn read_lines(
    state: &AppState,
    principal: &crate::auth::Principal,
    t: &Tr,
    status: Option<GrantStatus>,
) -> Result<Vec<GrantLine>, ApiError> {
    let filter = GrantFilter {
        status,
        limit: 200,
        ..Default::default()
    };
    let rows = decisions::list(state, principal.clone(), filter)
        .await
        .map_err(grant_error)?;
    let names = decisions::names(state, &rows).await.map_err(grant_error)?;
    Ok(grant_lines(t, rows, &names))
}

const STATUSES: [GrantStatus; 7] = [
    GrantStatus::Open,
    GrantStatus::Reported,
    GrantStatus::Approved,
    GrantStatus::Closed,
    GrantStatus::Overdue,
    GrantStatus::UnderReview,
    GrantStatus::Revoked,
];

/// A choice of the status filter: (value, label, selected).
type StatusChoice = (String, String, bool);

#[derive(Template)]
#[template(path = "grants.html")]
struct GrantsPage {
    ctx: Ctx,
    statuses: Vec<StatusChoice>,
    filtered: bool,
    grants: Vec<GrantLine>,
}

#[derive(Deserialize)]
pub struct GrantsQuery {
    pub status: Option<String>,
}

/// The grants, filtered by status with a plain GET form.
pub async fn grants(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    q: web::Query<GrantsQuery>,
) -> PageResult {
    let (ctx, principal) = context(&state, &req, &session);
    let Some(principal) = principal else {
        return Ok(redirect("/login"));
    };
    let status = match filled(q.into_inner().status) {
        None => None,
        Some(s) => Some(GrantStatus::parse(s.trim()).ok_or_else(|| {
            ctx.fail(ApiError::validation(
                "status",
                "open, reported, approved, closed, overdue, under_review or revoked",
            ))
        })?),
    };
    let t = ctx.t;
    let grants = read_lines(&state, &principal, &t, status)
        .await
        .map_err(|e| ctx.fail(e))?;
    html(GrantsPage {
        statuses: STATUSES
            .iter()
            .map(|s| {
                (
                    s.as_str().to_string(),
                    status_label(&t, *s),
                    status == Some(*s),
                )
            })
            .collect(),
        filtered: status.is_some(),
        grants,
        ctx,
    })
}

pub struct TrancheLine {
    pub kind: String,
    pub funder: String,
    pub amount: String,
    pub status: String,
    pub batch: String,
    pub paid_on: String,
}

pub struct PartLine {
    pub funder: String,
    pub awarded: String,
    pub paid: String,
    pub released: String,
    pub recoverable: String,
    pub recovered: String,
}

#[derive(Template)]
#[template(path = "grant.html")]
struct GrantPage {
    ctx: Ctx,
    notice: Option<String>,
    g: GrantView,
    campaign: String,
    association: String,
    status: String,
    award_status: String,
    plan: String,
    due: String,
    report_due: String,
    reported_on: String,
    approved_on: String,
    tranches: Vec<TrancheLine>,
    parts: Vec<PartLine>,
    can_approve: bool,
    can_review: bool,
    can_recover: bool,
    can_revoke: bool,
    today: String,
    report: ReportSection,
}

#[derive(Deserialize)]
pub struct GrantQuery {
    pub done: Option<String>,
}

/// One grant: its figures, tranches and parts; the forms its reader's role may use.
pub async fn grant(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    id: web::Path<String>,
    q: web::Query<GrantQuery>,
) -> PageResult {
    let (ctx, principal) = context(&state, &req, &session);
    let Some(principal) = principal else {
        return Ok(redirect("/login"));
    };
    let role = principal.role;
    let d = decisions::get(&state, principal.clone(), id.into_inner())
        .await
        .map_err(|e| ctx.fail(grant_error(e)))?;
    let names = decisions::names(&state, std::slice::from_ref(&d))
        .await
        .map_err(|e| ctx.fail(grant_error(e)))?;
    let t = ctx.t;
    let g = grant_view(d);
    let report = section(&state, &principal, &t, &g.id, g.status, g.summary.clone())
        .await
        .map_err(|e| ctx.fail(e))?;
    let cur = |m: &str| t.amount(m, &g.currency);
    let finance = role == Role::Finance;
    let recoverable = crate::domain::money::Currency::parse(&g.currency)
        .ok()
        .and_then(|c| parse_amount(&g.recoverable, c).ok())
        .unwrap_or(0);
    let notice = q
        .into_inner()
        .done
        .filter(|d| {
            matches!(
                d.as_str(),
                "approved"
                    | "reviewed"
                    | "recovered"
                    | "revoked"
                    | "uploaded"
                    | "expense-added"
                    | "report-submitted"
                    | "checked"
            )
        })
        .map(|d| t.get(&format!("done-grant-{d}")));
    html(GrantPage {
        notice,
        campaign: GrantNames::of(&names.campaigns, &g.campaign_id),
        association: GrantNames::of(&names.associations, &g.association_id),
        status: status_label(&t, g.status),
        award_status: t.get(&format!("grant-award-{}", g.award_status.as_str())),
        plan: t.get(&format!("grant-plan-{}", g.payment_plan.as_str())),
        due: g.due.as_deref().map(cur).unwrap_or_else(|| "—".into()),
        report_due: day(&t, g.report_due_at),
        reported_on: g
            .reported_at
            .map(|at| day(&t, at))
            .unwrap_or_else(|| "—".into()),
        approved_on: g
            .approved_at
            .map(|at| day(&t, at))
            .unwrap_or_else(|| "—".into()),
        tranches: g
            .tranches
            .iter()
            .map(|tr| TrancheLine {
                kind: t.get(&format!("tranche-kind-{}", tr.kind.as_str())),
                funder: GrantNames::of(&names.funders, &tr.funder_id),
                amount: cur(&tr.amount),
                status: t.get(&format!("tranche-status-{}", tr.status)),
                batch: tr.settlement_id.clone().unwrap_or_else(|| "—".into()),
                paid_on: tr
                    .paid_at
                    .map(|at| day(&t, at))
                    .unwrap_or_else(|| "—".into()),
            })
            .collect(),
        parts: g
            .parts
            .iter()
            .map(|p| PartLine {
                funder: GrantNames::of(&names.funders, &p.funder_id),
                awarded: cur(&p.awarded),
                paid: cur(&p.paid),
                released: cur(&p.released),
                recoverable: cur(&p.recoverable),
                recovered: cur(&p.recovered),
            })
            .collect(),
        can_approve: finance && g.status == GrantStatus::Reported,
        can_review: finance && g.status == GrantStatus::UnderReview,
        can_recover: finance && recoverable > 0,
        can_revoke: role == Role::Admin && g.status != GrantStatus::Revoked,
        today: crate::clock::now().format("%Y-%m-%d").to_string(),
        report,
        g,
        ctx,
    })
}

fn done(id: &str, what: &str) -> actix_web::HttpResponse {
    redirect(&format!("/console/grants/{id}?done={what}"))
}

#[derive(Deserialize)]
pub struct ApproveForm {
    pub csrf_token: String,
}

/// Finance approves the final report.
pub async fn approve_report(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    id: web::Path<String>,
    form: web::Form<ApproveForm>,
) -> PageResult {
    let (ctx, p) = signed_form(&state, &req, &session, &form.csrf_token)?;
    let id = id.into_inner();
    let gid = id.clone();
    decisions::decide(&state, move |conn| uc::approve_report(conn, &p, &gid))
        .await
        .map_err(|e| ctx.fail(grant_error(e)))?;
    Ok(done(&id, "approved"))
}

#[derive(Deserialize)]
pub struct ReviewForm {
    pub csrf_token: String,
    /// `confirm`, `reduce` or `revoke`.
    pub outcome: String,
    /// The new award, when reducing.
    pub amount: Option<String>,
    pub reason: String,
}

fn amount_error(e: impl std::fmt::Display) -> GrantError {
    GrantError::Invalid(vec![crate::app::Invalid::new("amount", e)])
}

/// Finance decides a grant under review: confirm, reduce to an amount, or revoke.
pub async fn review(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    id: web::Path<String>,
    form: web::Form<ReviewForm>,
) -> PageResult {
    let f = form.into_inner();
    let (ctx, p) = signed_form(&state, &req, &session, &f.csrf_token)?;
    let reason = reason_of(&f.reason).map_err(|e| ctx.fail(e))?;
    let amount = match f.outcome.as_str() {
        "reduce" => Some(
            filled(f.amount)
                .ok_or_else(|| ctx.fail(ApiError::validation("amount", "required to reduce")))?,
        ),
        "confirm" | "revoke" => None,
        _ => {
            return Err(ctx.fail(ApiError::validation("outcome", "confirm, reduce or revoke")));
        }
    };
    let revoking = f.outcome == "revoke";
    let id = id.into_inner();
    let gid = id.clone();
    decisions::decide(&state, move |conn| {
        let outcome = match amount {
            // In the grant's currency: parsed once the grant is known (and readable).
            Some(a) => {
                let g = uc::visible(conn, &p, &gid, false)?;
                ReviewOutcome::Reduce(parse_amount(a.trim(), g.currency).map_err(amount_error)?)
            }
            None if revoking => ReviewOutcome::Revoke,
            None => ReviewOutcome::Confirm,
        };
        uc::review(conn, &p, &gid, outcome, &reason)
    })
    .await
    .map_err(|e| ctx.fail(grant_error(e)))?;
    Ok(done(&id, "reviewed"))
}

#[derive(Deserialize)]
pub struct RecoveryForm {
    pub csrf_token: String,
    pub amount: String,
    /// `YYYY-MM-DD`.
    pub received_on: String,
    pub bank_reference: String,
}

/// Finance records money the association paid back.
pub async fn record_recovery(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    id: web::Path<String>,
    form: web::Form<RecoveryForm>,
) -> PageResult {
    let f = form.into_inner();
    let (ctx, p) = signed_form(&state, &req, &session, &f.csrf_token)?;
    let reference = f.bank_reference.trim().to_string();
    if reference.is_empty() || reference.chars().count() > 140 {
        return Err(ctx.fail(ApiError::validation("bank_reference", "1–140 characters")));
    }
    let received_at = chrono::NaiveDate::parse_from_str(f.received_on.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .ok_or_else(|| {
            ctx.fail(ApiError::validation(
                "received_on",
                "a date such as 2026-12-01",
            ))
        })?;
    if received_at > crate::clock::now() + chrono::TimeDelta::days(1) {
        return Err(ctx.fail(ApiError::validation(
            "received_on",
            "must not be in the future",
        )));
    }
    let id = id.into_inner();
    let (gid, amount) = (id.clone(), f.amount);
    decisions::decide(&state, move |conn| {
        let g = uc::visible(conn, &p, &gid, false)?;
        let minor = parse_amount(amount.trim(), g.currency).map_err(amount_error)?;
        uc::record_recovery(conn, &p, &gid, minor, received_at, &reference)
    })
    .await
    .map_err(|e| ctx.fail(grant_error(e)))?;
    Ok(done(&id, "recovered"))
}

#[derive(Deserialize)]
pub struct RevokeForm {
    pub csrf_token: String,
    pub reason: String,
}

/// An admin revokes a grant.
pub async fn revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    id: web::Path<String>,
    form: web::Form<RevokeForm>,
) -> PageResult {
    let f = form.into_inner();
    let (ctx, p) = signed_form(&state, &req, &session, &f.csrf_token)?;
    let reason = reason_of(&f.reason).map_err(|e| ctx.fail(e))?;
    let id = id.into_inner();
    let gid = id.clone();
    decisions::decide(&state, move |conn| uc::revoke(conn, &p, &gid, &reason))
        .await
        .map_err(|e| ctx.fail(grant_error(e)))?;
    Ok(done(&id, "revoked"))
}
