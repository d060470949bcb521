//! An association's console sections: its campaigns (filtered by status and text, a page at a
//! time), the form for a new one, and the year's donations with their receipts.

use super::common::{OwnCampaign, list_params, own_line};
use super::console_nav::{
    PAGE_SIZE, Pager, filter_text, filtered_page, matches_text, notice, paged, query_value,
};
use super::i18n::Tr;
use super::{Ctx, PageResult, context, html, redirect};
use crate::app::AppState;
use crate::app::console::{DonorFacts, donors_of, fund_choices, receipts_of_year};
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

pub struct DonationLine {
    pub pledge_id: String,
    /// The donor's e-mail, only when they agreed to be contacted.
    pub contact: String,
    pub number: String,
    pub date: String,
    pub donor: String,
    pub campaign: String,
    pub amount: String,
    pub voided: bool,
}

impl DonationLine {
    /// What a filter searches: the receipt's number, the donor, the campaign, the contact.
    fn words(&self) -> Vec<&str> {
        vec![&self.number, &self.donor, &self.campaign, &self.contact]
    }
}

/// The query of a console list: a status, a text filter, a page, and a form's notice.
#[derive(Deserialize)]
pub struct ListQuery {
    pub status: Option<String>,
    pub q: Option<String>,
    pub page: Option<usize>,
    pub done: Option<String>,
}

/// The signed-in association member, or the page that says why not.
fn association_of(
    ctx: &Ctx,
    principal: Option<Principal>,
) -> Result<Result<(Principal, String), actix_web::HttpResponse>, super::PageError> {
    let Some(principal) = principal else {
        return Ok(Err(redirect("/login")));
    };
    match (principal.role, principal.association_id.clone()) {
        (Role::Association, Some(a)) => Ok(Ok((principal, a))),
        _ => Err(ctx.fail(ApiError::Forbidden("an association's own section"))),
    }
}

/// A status choice of a filter: (value, label, selected).
type StatusChoice = (String, String, bool);

#[derive(Template)]
#[template(path = "console_campaigns.html")]
struct CampaignsPage {
    ctx: Ctx,
    notice: Option<String>,
    statuses: Vec<StatusChoice>,
    q: String,
    filtered: bool,
    own: Vec<OwnCampaign>,
    pager: Pager,
}

/// `/console/campaigns`: the association's campaigns, newest first.
pub async fn campaigns(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    q: web::Query<ListQuery>,
) -> PageResult {
    let (ctx, principal) = context(&state, &req, &session);
    let (principal, _) = match association_of(&ctx, principal)? {
        Ok(found) => found,
        Err(to_login) => return Ok(to_login),
    };
    let t = ctx.t;
    let q = q.into_inner();
    let status = match q.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            CampaignStatus::parse(s)
                .ok_or_else(|| ctx.fail(ApiError::validation("status", "a campaign status")))?,
        ),
    };
    let text = filter_text(q.q);
    let own = campaigns::list_campaigns(&state, Some(principal), list_params(status))
        .await
        .map_err(|e| ctx.fail(e))?;
    let lines: Vec<OwnCampaign> = own
        .data
        .into_iter()
        .map(|c| own_line(&t, c))
        .filter(|c| matches_text(&text, &[&c.title]))
        .collect();
    let (own, pager) = paged(&t, lines, (q.page, PAGE_SIZE), |n| {
        format!(
            "/console/campaigns?status={}&q={}&page={n}",
            status.map(|s| s.as_str()).unwrap_or(""),
            query_value(&text)
        )
    });
    html(CampaignsPage {
        notice: notice(&t, q.done),
        statuses: crate::domain::campaign::ALL_STATUSES
            .iter()
            .map(|s| {
                (
                    s.as_str().to_string(),
                    super::common::status_label(&t, *s),
                    status == Some(*s),
                )
            })
            .collect(),
        filtered: status.is_some() || !text.is_empty(),
        q: text,
        own,
        pager,
        ctx,
    })
}

#[derive(Template)]
#[template(path = "console_campaign_new.html")]
struct NewCampaignPage {
    ctx: Ctx,
    funds: Vec<(String, String)>,
    default_start: String,
    default_end: String,
}

/// `/console/campaigns/new`: the form for a new campaign.
pub async fn new_campaign(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
) -> PageResult {
    let (ctx, principal) = context(&state, &req, &session);
    if let Err(to_login) = association_of(&ctx, principal)? {
        return Ok(to_login);
    }
    let funds = fund_choices(&state)
        .await
        .map_err(|e| ctx.fail(e.into()))?
        .into_iter()
        .map(|f| (f.id, f.name))
        .collect();
    let now = crate::clock::now();
    html(NewCampaignPage {
        funds,
        default_start: (now + chrono::Duration::days(1))
            .format("%Y-%m-%dT09:00")
            .to_string(),
        default_end: (now + chrono::Duration::days(46))
            .format("%Y-%m-%dT18:00")
            .to_string(),
        ctx,
    })
}

#[derive(Template)]
#[template(path = "console_donations.html")]
struct DonationsPage {
    ctx: Ctx,
    year: String,
    q: String,
    donations: Vec<DonationLine>,
    pager: Pager,
}

/// `/console/donations`: the year's donations to the association's campaigns, newest first.
pub async fn donations(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    q: web::Query<ListQuery>,
) -> PageResult {
    let (ctx, principal) = context(&state, &req, &session);
    let (_, association) = match association_of(&ctx, principal)? {
        Ok(found) => found,
        Err(to_login) => return Ok(to_login),
    };
    let t = ctx.t;
    let q = q.into_inner();
    let text = filter_text(q.q);
    let year = crate::clock::now().year();
    let lines = donation_lines(&state, &t, association, year)
        .await
        .map_err(|e| ctx.fail(e))?;
    let (donations, pager) = filtered_page(
        &t,
        lines,
        (&text, DonationLine::words),
        q.page,
        "/console/donations",
    );
    html(DonationsPage {
        year: year.to_string(),
        q: text,
        donations,
        pager,
        ctx,
    })
}

/// The year's receipts of an association, newest first, each with who gave it (or that they
/// gave anonymously, or were erased) and their contact if they agreed to be contacted.
async fn donation_lines(
    state: &AppState,
    t: &Tr,
    association: String,
    year: i32,
) -> Result<Vec<DonationLine>, ApiError> {
    let receipts = receipts_of_year(state, association, year).await?;
    let pledge_ids: Vec<String> = receipts
        .iter()
        .map(|r| r.receipt.pledge_id.clone())
        .collect();
    let donors: Vec<DonorFacts> = donors_of(state, pledge_ids).await?;
    let anonymous: Vec<&str> = donors
        .iter()
        .filter(|d| d.anonymous)
        .map(|d| d.pledge_id.as_str())
        .collect();
    let contact = |pledge: &str| {
        donors
            .iter()
            .find(|d| d.pledge_id == pledge && !d.anonymous && d.contact_consent)
            .and_then(|d| d.email.clone())
    };
    Ok(receipts
        .into_iter()
        .rev()
        .map(|f| {
            let r = &f.receipt;
            DonationLine {
                number: crate::domain::receipt::number(r.year, r.number),
                date: t.date(r.issued_at.date()),
                contact: contact(&r.pledge_id).unwrap_or_default(),
                donor: if anonymous.contains(&r.pledge_id.as_str()) {
                    t.get("donor-anonymous")
                } else {
                    f.donor_name
                        .clone()
                        .unwrap_or_else(|| t.get("donor-erased"))
                },
                campaign: f.campaign_title.clone(),
                amount: t.money(r.amount, &r.currency),
                voided: r.voided_at.is_some(),
                pledge_id: r.pledge_id.clone(),
            }
        })
        .collect())
}
