//! The console: one page whose sections follow the signed-in role (an association's campaigns
//! and donations, the reviewers' queue, the finance office's books, the admin's registers).
//! Each role's section is read by its own module.

use super::common::{OwnCampaign, list_params, own_line};
use super::console_admin::{Account, AdminSection};
use super::console_association::{AssociationSection, DonationLine};
use super::console_finance::{FinanceSection, FundFigures, SettlementLine};
use super::console_grants::GrantLine;
use super::i18n::Tr;
use super::{Ctx, PageResult, context, html, redirect};
use crate::app::AppState;
use crate::domain::campaign::CampaignStatus;
use crate::domain::role::Role;
use crate::http::controllers::campaigns;
use crate::http::error::ApiError;
use crate::http::extract::Principal;
use actix_session::Session;
use actix_web::{HttpRequest, web};
use askama::Template;
use chrono::Datelike;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "console.html")]
struct ConsolePage {
    ctx: Ctx,
    role_label: String,
    notice: Option<String>,
    is_association: bool,
    is_reviewer: bool,
    is_finance: bool,
    is_admin: bool,
    own: Vec<OwnCampaign>,
    funds: Vec<(String, String)>,
    default_start: String,
    default_end: String,
    year: String,
    donations: Vec<DonationLine>,
    grants: Vec<GrantLine>,
    queue: Vec<OwnCampaign>,
    fund_figures: Vec<FundFigures>,
    reconciliation: String,
    settlements: Vec<SettlementLine>,
    associations: Vec<String>,
    association_choices: Vec<(String, String)>,
    area_choices: Vec<(String, String)>,
    users: Vec<Account>,
    partners: Vec<Account>,
}

#[derive(Deserialize)]
pub struct ConsoleQuery {
    pub done: Option<String>,
}

/// The notices a form's redirect may ask for (`?done=`).
fn notice(t: &Tr, done: Option<String>) -> Option<String> {
    done.filter(|d| {
        matches!(
            d.as_str(),
            "created"
                | "submitted"
                | "approved"
                | "rejected"
                | "batch"
                | "paid"
                | "association"
                | "user"
                | "areas"
                | "edited"
                | "fund"
                | "funder"
                | "member"
                | "disabled"
        )
    })
    .map(|d| t.get(&format!("done-{d}")))
}

/// The reviewers' queue: the submitted campaigns, with their goals.
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
    let role = principal.role;
    let is_association = role == Role::Association;
    let is_reviewer = matches!(role, Role::Reviewer | Role::Admin);
    let is_finance = matches!(role, Role::Finance | Role::Admin);
    let mut page = ConsolePage {
        role_label: t.get(&format!("role-{}", role.as_str())),
        notice: notice(&t, q.into_inner().done),
        is_association,
        is_reviewer,
        is_finance,
        is_admin: role == Role::Admin,
        own: Vec::new(),
        funds: Vec::new(),
        default_start: (crate::clock::now() + chrono::Duration::days(1))
            .format("%Y-%m-%dT09:00")
            .to_string(),
        default_end: (crate::clock::now() + chrono::Duration::days(46))
            .format("%Y-%m-%dT18:00")
            .to_string(),
        year: crate::clock::now().year().to_string(),
        donations: Vec::new(),
        grants: Vec::new(),
        queue: Vec::new(),
        fund_figures: Vec::new(),
        reconciliation: String::new(),
        settlements: Vec::new(),
        associations: Vec::new(),
        association_choices: Vec::new(),
        area_choices: Vec::new(),
        users: Vec::new(),
        partners: Vec::new(),
        ctx,
    };
    if is_association {
        let AssociationSection {
            own,
            funds,
            donations,
            grants,
        } = AssociationSection::read(&state, &principal, &t)
            .await
            .map_err(|e| page.ctx.fail(e))?;
        page.own = own;
        page.funds = funds;
        page.donations = donations;
        page.grants = grants;
    }
    if is_reviewer {
        page.queue = review_queue(&state, &principal, &t)
            .await
            .map_err(|e| page.ctx.fail(e))?;
    }
    if is_finance {
        let FinanceSection {
            fund_figures,
            reconciliation,
            settlements,
        } = FinanceSection::read(&state, &principal, &t)
            .await
            .map_err(|e| page.ctx.fail(e))?;
        page.fund_figures = fund_figures;
        page.reconciliation = reconciliation;
        page.settlements = settlements;
    }
    if role == Role::Admin {
        let AdminSection {
            area_choices,
            funds,
            associations,
            association_choices,
            users,
            partners,
        } = AdminSection::read(&state, &t)
            .await
            .map_err(|e| page.ctx.fail(e))?;
        page.area_choices = area_choices;
        page.funds = funds;
        page.associations = associations;
        page.association_choices = association_choices;
        page.users = users;
        page.partners = partners;
    }
    html(page)
}
