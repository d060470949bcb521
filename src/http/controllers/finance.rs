//! The finance office's views of fund money: the journal and the reconciliation report.

use crate::app::AppState;
use crate::db::models::{JournalEntryRow, PostingRow};
use crate::db::reconcile::{self, Report};
use crate::db::schema::{funds, journal_entries, postings};
use crate::domain::matching::MatchState;
use crate::domain::money::Currency;
use crate::domain::role::Role;
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

#[derive(Default, Clone, Copy)]
struct Sums {
    campaigns: i64,
    goal: i64,
    raised: i64,
    donors: i64,
    reserved: i64,
    committed: i64,
    settled: i64,
}

/// A campaign's match by where its funders' parts stand: (reserved, committed, settled). With
/// several funders a committed match can be partly paid (one funder's batch confirmed).
type MatchSplit = (i64, i64, i64);

/// Each campaign's committed and settled match, summed from its funders' parts once (a
/// programme has tens of thousands of campaigns: no scan of every part per campaign).
fn parts_by_campaign(
    parts: &[crate::db::models::MatchPartRow],
) -> std::collections::HashMap<&str, (i64, i64)> {
    let mut by = std::collections::HashMap::<&str, (i64, i64)>::new();
    for p in parts {
        let e = by.entry(p.campaign_id.as_str()).or_default();
        if p.settled {
            e.1 += p.amount;
        } else {
            e.0 += p.amount;
        }
    }
    by
}

fn match_split(
    c: &crate::db::models::CampaignRow,
    parts: &std::collections::HashMap<&str, (i64, i64)>,
) -> MatchSplit {
    match c.match_status {
        MatchState::Reserved => (c.match_amount, 0, 0),
        MatchState::Committed | MatchState::Settled => {
            let (committed, settled) = parts.get(c.id.as_str()).copied().unwrap_or_default();
            (0, committed, settled)
        }
        _ => (0, 0, 0),
    }
}

impl Sums {
    fn add(&mut self, c: &crate::db::models::CampaignRow, (r, cm, st): MatchSplit) {
        self.campaigns += 1;
        self.goal += c.goal;
        self.raised += c.raised;
        self.donors += i64::from(c.donors);
        self.reserved += r;
        self.committed += cm;
        self.settled += st;
    }

    fn figures(&self, currency: &Currency) -> ReportFigures {
        ReportFigures {
            campaigns: self.campaigns,
            goal: money(self.goal, currency),
            raised: money(self.raised, currency),
            donors: self.donors,
            match_reserved: money(self.reserved, currency),
            match_committed: money(self.committed, currency),
            match_settled: money(self.settled, currency),
        }
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
    use crate::db::models::{CampaignRow, FundRow};
    type AreaName = (String, String, String);
    use crate::db::schema::{areas, associations, campaigns};
    principal.require(&[Role::Finance, Role::Admin])?;
    let fund_id = id.into_inner();
    type Data = (
        FundRow,
        crate::db::ledger::Balances,
        Vec<(CampaignRow, String)>,
        Vec<AreaName>,
        Vec<crate::db::models::MatchPartRow>,
        Vec<super::funders::FunderView>,
    );
    let (fund, balances, rows, area_rows, parts, funder_views) = state
        .db
        .run(move |conn| -> ApiResult<Data> {
            let fund: FundRow = funds::table
                .find(&fund_id)
                .select(FundRow::as_select())
                .first(conn)
                .optional()?
                .ok_or(ApiError::NotFound("fund"))?;
            let balances = crate::db::ledger::balances(conn, &fund_id)?;
            let rows = campaigns::table
                .inner_join(associations::table)
                .filter(campaigns::fund_id.eq(&fund_id))
                .filter(campaigns::status.ne_all(["draft", "submitted", "rejected"]))
                .order(campaigns::id)
                .select((CampaignRow::as_select(), associations::name))
                .load(conn)?;
            // Names only: the geometries are not needed here.
            let area_rows = areas::table
                .order(areas::code)
                .select((areas::id, areas::code, areas::name))
                .load(conn)?;
            let parts = crate::db::schema::match_parts::table
                .filter(crate::db::schema::match_parts::fund_id.eq(&fund_id))
                .select(crate::db::models::MatchPartRow::as_select())
                .load(conn)?;
            let funder_views = super::funders::funder_views(conn, &fund)?;
            Ok((fund, balances, rows, area_rows, parts, funder_views))
        })
        .await?;
    let c = &fund.currency;
    let parts = parts_by_campaign(&parts);
    let areas_by_id: std::collections::HashMap<&str, (&str, &str)> = area_rows
        .iter()
        .map(|(id, code, name)| (id.as_str(), (code.as_str(), name.as_str())))
        .collect();
    let mut totals = Sums::default();
    let mut per_area: std::collections::BTreeMap<String, Sums> = Default::default();
    for (row, _) in &rows {
        let split = match_split(row, &parts);
        totals.add(row, split);
        per_area
            .entry(row.area_id.clone())
            .or_default()
            .add(row, split);
    }
    let area_of = |id: &str| areas_by_id.get(id).copied();
    let campaigns_out: Vec<ReportCampaign> = rows
        .iter()
        .map(|(r, association_name)| (r, association_name, match_split(r, &parts)))
        .map(
            |(r, association_name, (reserved, committed, settled))| ReportCampaign {
                campaign_id: r.id.clone(),
                title: r.title.clone(),
                association_id: r.association_id.clone(),
                association_name: association_name.clone(),
                area_id: r.area_id.clone(),
                area_code: area_of(&r.area_id)
                    .map(|a| a.0.to_string())
                    .unwrap_or_default(),
                status: r.status.to_string(),
                goal: money(r.goal, c),
                raised: money(r.raised, c),
                donors: i64::from(r.donors),
                match_status: r.match_status.to_string(),
                match_reserved: money(reserved, c),
                match_committed: money(committed, c),
                match_settled: money(settled, c),
            },
        )
        .collect();
    let areas_out: Vec<ReportArea> = per_area
        .iter()
        .map(|(area_id, sums)| ReportArea {
            area_id: area_id.clone(),
            area_code: area_of(area_id)
                .map(|a| a.0.to_string())
                .unwrap_or_default(),
            area_name: area_of(area_id)
                .map(|a| a.1.to_string())
                .unwrap_or_default(),
            figures: sums.figures(c),
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
        let t = totals.figures(c);
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
        totals: totals.figures(c),
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
    use crate::db::models::AuditRow;
    use crate::db::schema::audit_log;
    principal.require(&[Role::Admin, Role::Finance])?;
    let params = params.into_inner();
    let limit = check_limit(params.limit)?;
    let cursor = params.cursor.unwrap_or_default();
    let rows = state
        .db
        .run(move |conn| -> ApiResult<Vec<AuditRow>> {
            let mut q = audit_log::table
                .filter(audit_log::id.gt(&cursor))
                .order(audit_log::id)
                .limit(limit + 1)
                .select(AuditRow::as_select())
                .into_boxed();
            if let Some(v) = params.object_type {
                q = q.filter(audit_log::object_type.eq(v));
            }
            if let Some(v) = params.object_id {
                q = q.filter(audit_log::object_id.eq(v));
            }
            if let Some(v) = params.actor_id {
                q = q.filter(audit_log::actor_id.eq(v));
            }
            if let Some(v) = params.action {
                q = q.filter(audit_log::action.eq(v));
            }
            Ok(q.load(conn)?)
        })
        .await?;
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
