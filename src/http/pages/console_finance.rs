//! The console's section for the finance office: each fund's funders, commitments and money
//! over time, the reconciliation and the settlement batches.

use super::i18n::Tr;
use crate::app::AppState;
use crate::app::console::{BatchLine, FundBook, HistoryPosting, finance_books};
use crate::domain::chart::esc;
use crate::domain::fund::FunderKind;
use crate::domain::ledger::Account;
use crate::domain::map::bar;
use crate::domain::settlement::SettlementStatus;
use crate::http::controllers::settlements::{self, CommitmentParams};
use crate::http::error::ApiError;
use crate::http::extract::Principal;

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

pub(super) struct FinanceSection {
    pub fund_figures: Vec<FundFigures>,
    pub reconciliation: String,
    pub settlements: Vec<SettlementLine>,
}

impl FinanceSection {
    pub(super) async fn read(
        state: &AppState,
        principal: &Principal,
        t: &Tr,
    ) -> Result<FinanceSection, ApiError> {
        let books = finance_books(state).await?;
        let mut commitments = Vec::with_capacity(books.funds.len());
        for f in &books.funds {
            commitments.push(fund_commitments(state, principal, t, &f.id).await?);
        }
        let fund_figures = books
            .funds
            .iter()
            .zip(commitments)
            .map(|(f, commitments)| FundFigures {
                commitments,
                name: f.name.clone(),
                chart: funders_chart(t, f),
                history: history_chart(t, f, &f.history),
                rows: funder_rows(t, f),
            })
            .collect();
        let report = books.report;
        let reconciliation = if report.ok {
            t.get("reconciliation-ok")
        } else {
            t.with(
                "reconciliation-bad",
                "count",
                &report.violations.len().to_string(),
            )
        };
        Ok(FinanceSection {
            fund_figures,
            reconciliation,
            settlements: books
                .batches
                .into_iter()
                .map(|b| settlement_line(t, b))
                .collect(),
        })
    }
}

/// A fund's commitments (the first 50, any status), as the API lists them.
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
            limit: Some(50),
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
        status: b.status.as_str().to_string(),
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
