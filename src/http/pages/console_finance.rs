//! The finance office's console sections: the funds, each fund's funders, commitments and
//! money over time, and the settlement batches.

use super::console_nav::{CARDS_PER_PAGE, PAGE_SIZE, Pager, allowed, notice, paged, query_value};
use super::i18n::Tr;
use super::{Ctx, PageError, PageResult, context, html, redirect};
use crate::app::AppState;
use crate::app::console::{
    BatchLine, FundBook, HistoryPosting, batch_lines, fund_book_with_history, fund_books,
};
use crate::domain::chart::esc;
use crate::domain::fund::FunderKind;
use crate::domain::ledger::Account;
use crate::domain::map::bar;
use crate::domain::role::Role;
use crate::domain::settlement::SettlementStatus;
use crate::http::controllers::settlements::{self, CommitmentParams};
use crate::http::error::ApiError;
use crate::http::extract::Principal;
use actix_session::Session;
use actix_web::{HttpRequest, web};
use askama::Template;
use serde::Deserialize;

pub struct FunderFigures {
    pub fund_id: String,
    pub funder_id: String,
    /// It has committed money to put in a batch.
    pub can_batch: bool,
    pub name: String,
    pub budget: String,
    pub held: String,
    pub reserved: String,
    pub committed: String,
    pub settled: String,
    pub available: String,
}

pub struct CommitmentLine {
    pub campaign_id: String,
    pub title: String,
    pub association: String,
    pub amount: String,
    pub status: String,
    pub awards: String,
}

pub struct FundFigures {
    pub name: String,
    pub commitments: Vec<CommitmentLine>,
    pub chart: String,
    /// Reserved, committed and paid over time.
    pub history: String,
    pub rows: Vec<FunderFigures>,
}

pub struct SettlementLine {
    pub id: String,
    pub draft: bool,
    pub label: String,
    pub status: String,
    pub total: String,
    pub public: bool,
}

/// A fund in the finance office's list.
pub struct FundLine {
    pub id: String,
    pub name: String,
    pub budget: String,
    pub committed: String,
    pub settled: String,
    pub available: String,
    /// Some funder has committed money to put in a batch.
    pub can_batch: bool,
}

#[derive(Template)]
#[template(path = "console_funds.html")]
struct FundsPage {
    ctx: Ctx,
    funds: Vec<FundLine>,
}

/// The finance office (or the admin), or the page that says why not.
fn finance(ctx: &Ctx, principal: Option<Principal>) -> Result<Option<Principal>, PageError> {
    allowed(
        ctx,
        principal,
        &[Role::Finance, Role::Admin],
        "the finance office's books",
    )
}

/// `/console/funds`: every fund with its totals.
pub async fn funds(state: web::Data<AppState>, req: HttpRequest, session: Session) -> PageResult {
    let (ctx, principal) = context(&state, &req, &session);
    if finance(&ctx, principal)?.is_none() {
        return Ok(redirect("/login"));
    }
    let t = ctx.t;
    let books = fund_books(&state).await.map_err(|e| ctx.fail(e.into()))?;
    let funds = books
        .iter()
        .map(|f| {
            let total = |pick: fn(&crate::app::console::FunderBook) -> i64| {
                t.money(f.funders.iter().map(pick).sum(), &f.currency)
            };
            FundLine {
                id: f.id.clone(),
                name: f.name.clone(),
                budget: total(|b| b.budget),
                committed: total(|b| b.committed),
                settled: total(|b| b.settled),
                available: total(|b| b.available),
                can_batch: f.funders.iter().any(|b| b.committed != 0),
            }
        })
        .collect();
    html(FundsPage { funds, ctx })
}

#[derive(Template)]
#[template(path = "console_fund.html")]
struct FundPage {
    ctx: Ctx,
    fund: FundFigures,
    pager: Pager,
}

#[derive(Deserialize)]
pub struct PageQuery {
    pub page: Option<usize>,
}

/// `/console/funds/{id}`: one fund's funders, money over time and commitments.
pub async fn fund(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    path: web::Path<String>,
    q: web::Query<PageQuery>,
) -> PageResult {
    let (ctx, principal) = context(&state, &req, &session);
    let Some(principal) = finance(&ctx, principal)? else {
        return Ok(redirect("/login"));
    };
    let t = ctx.t;
    let id = path.into_inner();
    let book = fund_book_with_history(&state, id.clone())
        .await
        .map_err(|e| ctx.fail(e.into()))?
        .ok_or_else(|| ctx.fail(ApiError::NotFound("fund")))?;
    let commitments = fund_commitments(&state, &principal, &t, &id)
        .await
        .map_err(|e| ctx.fail(e))?;
    let (commitments, pager) = paged(&t, commitments, (q.page, PAGE_SIZE), |n| {
        format!("/console/funds/{}?page={n}", query_value(&id))
    });
    let fund = FundFigures {
        commitments,
        name: book.name.clone(),
        chart: funders_chart(&t, &book),
        // Blank axes say nothing: a fund whose money has not moved says so in words.
        history: if book.history.is_empty() {
            format!(
                "<p>{}</p>",
                crate::domain::chart::esc(&t.get("history-none"))
            )
        } else {
            history_chart(&t, &book, &book.history)
        },
        rows: funder_rows(&t, &book),
    };
    html(FundPage { fund, pager, ctx })
}

#[derive(Template)]
#[template(path = "console_settlements.html")]
struct SettlementsPage {
    ctx: Ctx,
    notice: Option<String>,
    /// (value, label, selected)
    statuses: Vec<(String, String, bool)>,
    filtered: bool,
    settlements: Vec<SettlementLine>,
    pager: Pager,
}

#[derive(Deserialize)]
pub struct SettlementsQuery {
    pub status: Option<String>,
    pub page: Option<usize>,
    pub done: Option<String>,
}

/// `/console/settlements`: the batches, newest first, with their files and the form that
/// confirms a draft paid.
pub async fn settlements_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    q: web::Query<SettlementsQuery>,
) -> PageResult {
    let (ctx, principal) = context(&state, &req, &session);
    if finance(&ctx, principal)?.is_none() {
        return Ok(redirect("/login"));
    }
    let t = ctx.t;
    let q = q.into_inner();
    let status = match q.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(SettlementStatus::parse(s).ok_or_else(|| {
            ctx.fail(ApiError::validation(
                "status",
                "draft, confirmed or cancelled",
            ))
        })?),
    };
    let lines = batch_lines(&state, status)
        .await
        .map_err(|e| ctx.fail(e.into()))?
        .into_iter()
        .map(|b| settlement_line(&t, b))
        .collect();
    let (settlements, pager) = paged(&t, lines, (q.page, CARDS_PER_PAGE), |n| {
        format!(
            "/console/settlements?status={}&page={n}",
            status.map(|s| s.as_str()).unwrap_or("")
        )
    });
    html(SettlementsPage {
        notice: notice(&t, q.done),
        statuses: [
            SettlementStatus::Draft,
            SettlementStatus::Confirmed,
            SettlementStatus::Cancelled,
        ]
        .into_iter()
        .map(|s| {
            (
                s.as_str().to_string(),
                t.get(&format!("settlement-status-{}", s.as_str())),
                status == Some(s),
            )
        })
        .collect(),
        filtered: status.is_some(),
        settlements,
        pager,
        ctx,
    })
}

/// A fund's commitments (the first 200, any status), as the API lists them.
async fn fund_commitments(
    state: &AppState,
    principal: &Principal,
    t: &Tr,
    fund_id: &str,
) -> Result<Vec<CommitmentLine>, ApiError> {
    let page = settlements::list_commitments(
        state,
        principal.clone(),
        fund_id.to_string(),
        CommitmentParams {
            status: Some("all".into()),
            association_id: None,
            funder_id: None,
            limit: Some(200),
            cursor: None,
        },
    )
    .await?;
    Ok(page
        .data
        .into_iter()
        .map(|c| CommitmentLine {
            awards: c
                .parts
                .iter()
                .filter_map(|p| p.award.as_deref())
                .map(|a| t.get(&format!("award-{a}")))
                .collect::<Vec<_>>()
                .join(", "),
            status: t.get(&format!("commitment-{}", c.status)),
            amount: t.amount(&c.amount, &c.currency),
            campaign_id: c.campaign_id,
            title: c.campaign_title,
            association: c.association_name,
        })
        .collect())
}

fn funder_rows(t: &Tr, f: &FundBook) -> Vec<FunderFigures> {
    let c = &f.currency;
    f.funders
        .iter()
        .map(|fr| FunderFigures {
            fund_id: f.id.clone(),
            funder_id: fr.id.clone(),
            can_batch: fr.committed != 0,
            name: fr.name.clone(),
            budget: t.money(fr.budget, c),
            held: t.money(fr.held, c),
            reserved: t.money(fr.reserved, c),
            committed: t.money(fr.committed, c),
            settled: t.money(fr.settled, c),
            available: t.money(fr.available, c),
        })
        .collect()
}

fn settlement_line(t: &Tr, b: BatchLine) -> SettlementLine {
    SettlementLine {
        draft: b.status == SettlementStatus::Draft,
        label: format!("{} — {}", b.fund_name, b.funder_name),
        status: t.get(&format!("settlement-status-{}", b.status.as_str())),
        total: t.money(b.total, &b.currency),
        public: b.funder_kind == FunderKind::Public,
        id: b.id,
    }
}

/// A horizontal stacked bar per funder: settled, committed, reserved, held, available.
fn funders_chart(t: &Tr, f: &FundBook) -> String {
    let row_h = 26.0;
    let height = 30.0 + row_h * f.funders.len() as f64;
    let mut svg = format!(
        "<svg class=\"bar\" viewBox=\"0 0 640 {height:.0}\" width=\"640\" height=\"{height:.0}\" role=\"img\" aria-label=\"{}\">",
        esc(&t.get("chart-label"))
    );
    for (i, fr) in f.funders.iter().enumerate() {
        let budget = fr.budget.max(1);
        let y = 4.0 + row_h * i as f64;
        let mut x = 160u32;
        svg.push_str(&format!(
            "<text x=\"0\" y=\"{:.0}\">{}</text><rect class=\"bg\" x=\"160\" y=\"{y:.0}\" width=\"460\" height=\"18\"/>",
            y + 14.0,
            esc(&fr.name)
        ));
        for (value, class) in [
            (fr.settled, "settled"),
            (fr.committed, "committed"),
            (fr.reserved, "reserved"),
        ] {
            let w = bar(value, budget, 460);
            svg.push_str(&format!(
                "<rect class=\"{class}\" x=\"{x}\" y=\"{y:.0}\" width=\"{w}\" height=\"18\"/>"
            ));
            x += w;
        }
    }
    svg.push_str("</svg>");
    svg
}

/// The fund's money over time: each account's running balance after every posting.
fn history_chart(t: &Tr, f: &FundBook, history: &[HistoryPosting]) -> String {
    use crate::domain::chart::{Series, line_chart};
    let labels = [
        (Account::Reserved, t.get("fig-reserved")),
        (Account::Committed, t.get("fig-committed")),
        (Account::Settled, t.get("fig-settled")),
    ];
    let series: Vec<Series> = labels
        .iter()
        .map(|(account, label)| {
            let mut balance = 0i64;
            let points = history
                .iter()
                .filter(|p| p.account == *account)
                .map(|p| {
                    balance += p.amount;
                    (p.at.and_utc().timestamp(), balance)
                })
                .collect();
            Series {
                label,
                class: account.as_str(),
                points,
            }
        })
        .collect();
    let top = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .max()
        .unwrap_or(0);
    let day = |i: usize| {
        history
            .get(i)
            .map(|p| t.date(p.at.date()))
            .unwrap_or_default()
    };
    line_chart(
        &t.with("history-label", "fund", &f.name),
        &series,
        (
            &t.money(top, &f.currency),
            &day(0),
            &day(history.len().saturating_sub(1)),
        ),
        640.0,
        220.0,
    )
}
