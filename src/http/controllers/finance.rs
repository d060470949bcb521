//! The finance office's views of fund money: the journal and the reconciliation report.

use crate::app::AppState;
use crate::app::reports::{self as uc, ReportError, Sums};
use crate::db::reconcile::Report;
use crate::domain::money::Currency;
use crate::domain::role::Role;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Page, PageParams, Principal, check_limit};
use crate::http::views::{money, ts};
use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

fn to_api(e: ReportError) -> ApiError {
    match e {
        ReportError::FundNotFound => ApiError::NotFound("fund"),
        ReportError::Db(e) => e.into(),
    }
}

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
        (status = 200, body = Page<JournalEntryView>),
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
    let entries = uc::ledger(&state, fund_id, limit, cursor)
        .await
        .map_err(to_api)?;
    Ok(HttpResponse::Ok().json(Page::from_rows(
        entries,
        limit,
        |e| e.entry.id.clone(),
        |uc::JournalEntry { entry: e, postings }| JournalEntryView {
            postings: postings
                .into_iter()
                .map(|p| PostingView {
                    account: p.account.to_string(),
                    amount: money(p.amount, &p.currency),
                    currency: p.currency.to_string(),
                })
                .collect(),
            id: e.id,
            fund_id: e.fund_id,
            campaign_id: e.campaign_id,
            kind: e.kind.to_string(),
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
    let report = uc::reconciliation(&state).await.map_err(to_api)?;
    Ok(HttpResponse::Ok().json(report))
}

#[derive(Debug, Serialize, ToSchema, Default, Clone)]
pub struct ReportFigures {
    pub campaigns: i64,
    pub goal: String,
    pub raised: String,
    pub donors: i64,
    pub match_reserved: String,
    pub match_committed: String,
    pub match_settled: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportCampaign {
    pub campaign_id: String,
    pub title: String,
    pub association_id: String,
    pub association_name: String,
    pub area_id: String,
    pub area_code: String,
    pub status: String,
    pub goal: String,
    pub raised: String,
    pub donors: i64,
    pub match_status: String,
    pub match_reserved: String,
    pub match_committed: String,
    pub match_settled: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportArea {
    pub area_id: String,
    pub area_code: String,
    pub area_name: String,
    #[serde(flatten)]
    pub figures: ReportFigures,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FundReport {
    pub fund_id: String,
    pub fund_name: String,
    pub cup: Option<String>,
    pub currency: String,
    /// The fund's figures from the ledger.
    pub budget: String,
    pub reserved: String,
    pub committed: String,
    pub settled: String,
    /// Held for pledges being paid (`per_donation`).
    pub held: String,
    pub available: String,
    /// Each funder's figures from its own ledger accounts (they add up to the fund's).
    pub funders: Vec<super::funders::FunderView>,
    pub areas: Vec<ReportArea>,
    pub campaigns: Vec<ReportCampaign>,
    /// Sums over the campaigns; the match totals equal the ledger's figures.
    pub totals: ReportFigures,
    pub generated_at: DateTime<Utc>,
}

fn figures(s: &Sums, currency: &Currency) -> ReportFigures {
    ReportFigures {
        campaigns: s.campaigns,
        goal: money(s.goal, currency),
        raised: money(s.raised, currency),
        donors: s.donors,
        match_reserved: money(s.reserved, currency),
        match_committed: money(s.committed, currency),
        match_settled: money(s.settled, currency),
    }
}

/// The programme report of a fund, per target area and per campaign (finance, admin). JSON by
/// default; CSV with `Accept: text/csv`. Campaigns that never reached approval are left out.
#[utoipa::path(
    tag = "finance",
    params(("id" = String, Path, description = "Fund id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The report: JSON, or CSV with `Accept: text/csv`", content(
            (FundReport = "application/json"),
            (String = "text/csv"),
        )),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
    )
)]
#[get("/funds/{id}/report")]
pub async fn fund_report(
    state: web::Data<AppState>,
    principal: Principal,
    req: actix_web::HttpRequest,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    principal.require(&[Role::Finance, Role::Admin])?;
    let fund_id = id.into_inner();
    let uc::ProgrammeReport {
        fund,
        balances,
        funders,
        campaigns,
        areas,
        totals,
    } = uc::fund_report(&state, fund_id).await.map_err(to_api)?;
    let c = &fund.currency;
    let funder_views = super::funders::funder_views(funders, c);
    let campaigns_out: Vec<ReportCampaign> = campaigns
        .into_iter()
        .map(|l| ReportCampaign {
            campaign_id: l.campaign.id,
            title: l.campaign.title,
            association_id: l.campaign.association_id,
            association_name: l.association_name,
            area_id: l.campaign.area_id,
            area_code: l.area_code.unwrap_or_default(),
            status: l.campaign.status.to_string(),
            goal: money(l.campaign.goal, c),
            raised: money(l.campaign.raised, c),
            donors: i64::from(l.campaign.donors),
            match_status: l.campaign.match_status.to_string(),
            match_reserved: money(l.reserved, c),
            match_committed: money(l.committed, c),
            match_settled: money(l.settled, c),
        })
        .collect();
    let areas_out: Vec<ReportArea> = areas
        .into_iter()
        .map(|a| ReportArea {
            area_id: a.area_id,
            area_code: a.area_code.unwrap_or_default(),
            area_name: a.area_name.unwrap_or_default(),
            figures: figures(&a.sums, c),
        })
        .collect();
    let wants_csv = crate::http::csv_out::wants_csv(&req);
    if wants_csv {
        let mut out = crate::http::csv_out::CsvOut::new(&[
            "row",
            "area_code",
            "campaign_id",
            "title",
            "association",
            "status",
            "goal",
            "raised",
            "donors",
            "match_status",
            "match_reserved",
            "match_committed",
            "match_settled",
            "currency",
        ]);
        let mut push = |cells: Vec<String>| out.row(cells);
        for r in &campaigns_out {
            push(vec![
                "campaign".into(),
                r.area_code.clone(),
                r.campaign_id.clone(),
                r.title.clone(),
                r.association_name.clone(),
                r.status.clone(),
                r.goal.clone(),
                r.raised.clone(),
                r.donors.to_string(),
                r.match_status.clone(),
                r.match_reserved.clone(),
                r.match_committed.clone(),
                r.match_settled.clone(),
                c.to_string(),
            ]);
        }
        for a in &areas_out {
            let f = &a.figures;
            push(vec![
                "area".into(),
                a.area_code.clone(),
                String::new(),
                a.area_name.clone(),
                String::new(),
                String::new(),
                f.goal.clone(),
                f.raised.clone(),
                f.donors.to_string(),
                String::new(),
                f.match_reserved.clone(),
                f.match_committed.clone(),
                f.match_settled.clone(),
                c.to_string(),
            ]);
        }
        for f in &funder_views {
            push(vec![
                "funder".into(),
                String::new(),
                f.id.clone(),
                f.name.clone(),
                f.kind.as_str().to_string(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                f.reserved.clone(),
                f.committed.clone(),
                f.settled.clone(),
                c.to_string(),
            ]);
        }
        let t = figures(&totals, c);
        push(vec![
            "total".into(),
            String::new(),
            String::new(),
            fund.name.clone(),
            String::new(),
            String::new(),
            t.goal,
            t.raised,
            t.donors.to_string(),
            String::new(),
            t.match_reserved,
            t.match_committed,
            t.match_settled,
            c.to_string(),
        ]);
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .body(out.finish()?));
    }
    Ok(HttpResponse::Ok().json(FundReport {
        fund_id: fund.id.clone(),
        fund_name: fund.name.clone(),
        cup: fund.cup.clone(),
        currency: fund.currency.to_string(),
        budget: money(balances.budget, c),
        reserved: money(balances.reserved, c),
        committed: money(balances.committed, c),
        settled: money(balances.settled, c),
        held: money(balances.held, c),
        available: money(balances.available, c),
        funders: funder_views,
        areas: areas_out,
        campaigns: campaigns_out,
        totals: figures(&totals, c),
        generated_at: Utc::now(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: String,
    /// Null for the scheduler.
    pub actor_id: Option<String>,
    pub actor_role: String,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    /// Before → after and other context, where it matters.
    pub detail: Option<String>,
    pub created_at: DateTime<Utc>,
}

pub type AuditPage = Page<AuditEntry>;

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub actor_id: Option<String>,
    pub action: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// The append-only audit trail of state-changing actions (admin, finance).
#[utoipa::path(
    tag = "finance",
    params(AuditParams),
    security(("bearer" = [])),
    responses((status = 200, body = Page<AuditEntry>), (status = 403, body = crate::http::error::Problem))
)]
#[get("/audit")]
pub async fn audit_trail(
    state: web::Data<AppState>,
    principal: Principal,
    params: web::Query<AuditParams>,
) -> ApiResult<HttpResponse> {
    principal.require(&[Role::Admin, Role::Finance])?;
    let params = params.into_inner();
    let limit = check_limit(params.limit)?;
    let cursor = params.cursor.unwrap_or_default();
    let filter = uc::AuditFilter {
        object_type: params.object_type,
        object_id: params.object_id,
        actor_id: params.actor_id,
        action: params.action,
    };
    let rows = uc::audit_trail(&state, filter, limit, cursor)
        .await
        .map_err(to_api)?;
    Ok(HttpResponse::Ok().json(Page::from_rows(
        rows,
        limit,
        |r| r.id.clone(),
        |r| AuditEntry {
            id: r.id,
            actor_id: r.actor_id,
            actor_role: r.actor_role,
            action: r.action,
            object_type: r.object_type,
            object_id: r.object_id,
            detail: r.detail,
            created_at: ts(r.created_at),
        },
    )))
}
