//! The finance office's views of fund money: the journal and the reconciliation report.

use crate::db::models::{JournalEntryRow, PostingRow};
use crate::db::reconcile::{self, Report};
use crate::db::schema::{funds, journal_entries, postings};
use crate::domain::role::Role;
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Page, PageParams, Principal, check_limit};
use crate::http::views::{money, ts};
use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct PostingView {
    /// `budget_source`, `available`, `reserved`, `committed` or `settled`.
    pub account: String,
    /// Signed amount; the postings of an entry sum to zero.
    pub amount: String,
    pub currency: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JournalEntryView {
    pub id: String,
    pub fund_id: String,
    pub campaign_id: Option<String>,
    /// `budget`, `reserve`, `release`, `commit`, `settle`.
    pub kind: String,
    pub memo: String,
    pub reverses: Option<String>,
    pub postings: Vec<PostingView>,
    pub created_at: DateTime<Utc>,
}

pub type LedgerPage = Page<JournalEntryView>;

/// A fund's journal, oldest first (finance, admin).
#[utoipa::path(
    tag = "finance",
    params(("id" = String, Path, description = "Fund id"), PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = LedgerPage),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
    )
)]
#[get("/funds/{id}/ledger")]
pub async fn ledger(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    params: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    principal.require(&[Role::Finance, Role::Admin])?;
    let params = params.into_inner();
    let limit = check_limit(params.limit)?;
    let cursor = params.cursor.unwrap_or_default();
    let fund_id = id.into_inner();
    let (entries, legs) = state
        .db
        .run(
            move |conn| -> ApiResult<(Vec<JournalEntryRow>, Vec<PostingRow>)> {
                let exists: i64 = funds::table.find(&fund_id).count().get_result(conn)?;
                if exists == 0 {
                    return Err(ApiError::NotFound("fund"));
                }
                let entries: Vec<JournalEntryRow> = journal_entries::table
                    .filter(journal_entries::fund_id.eq(&fund_id))
                    .filter(journal_entries::id.gt(&cursor))
                    .order(journal_entries::id)
                    .limit(limit + 1)
                    .select(JournalEntryRow::as_select())
                    .load(conn)?;
                let ids: Vec<String> = entries.iter().map(|e| e.id.clone()).collect();
                let legs = postings::table
                    .filter(postings::entry_id.eq_any(&ids))
                    .order(postings::id)
                    .select(PostingRow::as_select())
                    .load(conn)?;
                Ok((entries, legs))
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(
        entries,
        limit,
        |e| e.id.clone(),
        |e| JournalEntryView {
            postings: legs
                .iter()
                .filter(|p| p.entry_id == e.id)
                .map(|p| PostingView {
                    account: p.account.clone(),
                    amount: money(p.amount, &p.currency),
                    currency: p.currency.clone(),
                })
                .collect(),
            id: e.id,
            fund_id: e.fund_id,
            campaign_id: e.campaign_id,
            kind: e.kind,
            memo: e.memo,
            reverses: e.reverses,
            created_at: ts(e.created_at),
        },
    )))
}

/// Check every invariant: journal balanced, fund figures equal to the ledger, no fund
/// overspent, campaign `raised`/`donors` equal to their confirmed pledges (finance, admin).
#[utoipa::path(
    tag = "finance",
    security(("bearer" = [])),
    responses((status = 200, body = Report), (status = 403, body = crate::http::error::Problem))
)]
#[get("/reconciliation")]
pub async fn reconciliation(
    state: web::Data<AppState>,
    principal: Principal,
) -> ApiResult<HttpResponse> {
    principal.require(&[Role::Finance, Role::Admin])?;
    let report = state
        .db
        .run(|conn| -> ApiResult<Report> { Ok(reconcile::run(conn)?) })
        .await?;
    if !report.ok {
        tracing::error!(
            violations = report.violations.len(),
            "reconciliation found violations"
        );
    }
    Ok(HttpResponse::Ok().json(report))
}
