//! The console's opening page, "what needs you now": for the signed-in role, each queue of
//! work with how many items wait in it and a link to the list that holds them (and, for the
//! finance office, the reconciliation). The reviewers' list of campaigns to review is here too.

use super::common::{OwnCampaign, list_params, own_line};
use super::console_nav::{CARDS_PER_PAGE, Pager, allowed, notice, paged};
use super::i18n::Tr;
use super::{PageResult, context, html, redirect};
use crate::app::AppState;
use crate::app::work_queue::{WorkCounts, work_counts};
use crate::domain::campaign::CampaignStatus;
use crate::domain::role::Role;
use crate::http::controllers::campaigns;
use crate::http::error::ApiError;
use crate::http::extract::Principal;
use actix_session::Session;
use actix_web::{HttpRequest, web};
use askama::Template;
use serde::Deserialize;

/// One queue on the opening page.
pub struct QueueItem {
    pub href: &'static str,
    /// "3 campaigns to review", in the page's language and plural.
    pub text: String,
    /// Something waits in it.
    pub waiting: bool,
}

#[derive(Template)]
#[template(path = "console.html")]
struct QueuePage {
    ctx: super::Ctx,
    role_label: String,
    notice: Option<String>,
    items: Vec<QueueItem>,
    reconciliation: Option<String>,
}

#[derive(Deserialize)]
pub struct ConsoleQuery {
    pub done: Option<String>,
    pub page: Option<usize>,
}

/// The queues of `counts` that the role has, in the order it works through them.
fn queue_items(t: &Tr, counts: &WorkCounts) -> Vec<QueueItem> {
    let queues: [(Option<i64>, &'static str, &'static str); 11] = [
        (counts.to_review, "/console/review", "queue-to-review"),
        (counts.to_score, "/console/calls", "queue-to-score"),
        (
            counts.drafts,
            "/console/campaigns?status=draft",
            "queue-drafts",
        ),
        (
            counts.rejected,
            "/console/campaigns?status=rejected",
            "queue-rejected",
        ),
        (counts.reports_due, "/console/grants", "queue-reports-due"),
        (
            counts.credits_to_match,
            "/console/bank-transfers",
            "queue-credits-to-match",
        ),
        (
            counts.reports_to_approve,
            "/console/grants?status=reported",
            "queue-reports-to-approve",
        ),
        (
            counts.grants_under_review,
            "/console/grants?status=under_review",
            "queue-grants-under-review",
        ),
        (
            counts.tranches_payable,
            "/console/funds",
            "queue-tranches-payable",
        ),
        (
            counts.batches_to_confirm,
            "/console/settlements?status=draft",
            "queue-batches-to-confirm",
        ),
        (
            counts.credits_unclaimed,
            "/console/bank-entries",
            "queue-credits-unclaimed",
        ),
    ];
    queues
        .into_iter()
        .filter_map(|(count, href, key)| {
            count.map(|n| QueueItem {
                href,
                text: t.count(key, n),
                waiting: n > 0,
            })
        })
        .collect()
}

pub async fn console(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    q: web::Query<ConsoleQuery>,
) -> PageResult {
    let (ctx, principal) = context(&state, &req, &session);
    let Some(principal) = principal else {
        return Ok(redirect("/login"));
    };
    let t = ctx.t;
    let counts = work_counts(&state, &principal)
        .await
        .map_err(|e| ctx.fail(e.into()))?;
    let reconciliation = if matches!(principal.role, Role::Finance | Role::Admin) {
        let report = crate::app::console::reconciliation(&state)
            .await
            .map_err(|e| ctx.fail(e.into()))?;
        Some(if report.ok {
            t.get("reconciliation-ok")
        } else {
            t.count("reconciliation-bad", report.violations.len() as i64)
        })
    } else {
        None
    };
    html(QueuePage {
        role_label: t.get(&format!("role-{}", principal.role.as_str())),
        notice: notice(&t, q.into_inner().done),
        items: queue_items(&t, &counts),
        reconciliation,
        ctx,
    })
}

#[derive(Template)]
#[template(path = "console_review.html")]
struct ReviewPage {
    ctx: super::Ctx,
    notice: Option<String>,
    queue: Vec<OwnCampaign>,
    pager: Pager,
}

/// The reviewers' queue: the submitted campaigns (the first 200, oldest first), with their goals.
async fn review_queue(
    state: &AppState,
    principal: &Principal,
    t: &Tr,
) -> Result<Vec<OwnCampaign>, ApiError> {
    let queue = campaigns::list_campaigns(
        state,
        Some(principal.clone()),
        list_params(Some(CampaignStatus::Submitted)),
    )
    .await?;
    Ok(queue
        .data
        .into_iter()
        .map(|c| {
            // A submitted campaign has raised nothing yet: the queue shows what it asks for.
            let goal = t.with("queue-goal", "goal", &t.amount(&c.goal, &c.currency));
            let mut line = own_line(t, c);
            line.raised = goal;
            line
        })
        .collect())
}

/// `/console/review`: the campaigns waiting for a reviewer, a page at a time.
pub async fn review(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    q: web::Query<ConsoleQuery>,
) -> PageResult {
    let (ctx, principal) = context(&state, &req, &session);
    let roles = [Role::Reviewer, Role::Admin];
    let Some(principal) = allowed(&ctx, principal, &roles, "reviewers review campaigns")? else {
        return Ok(redirect("/login"));
    };
    let t = ctx.t;
    let q = q.into_inner();
    let all = review_queue(&state, &principal, &t)
        .await
        .map_err(|e| ctx.fail(e))?;
    let (queue, pager) = paged(&t, all, (q.page, CARDS_PER_PAGE), |n| {
        format!("/console/review?page={n}")
    });
    html(ReviewPage {
        notice: notice(&t, q.done),
        queue,
        pager,
        ctx,
    })
}
