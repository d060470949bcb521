//! The public site: the live campaigns, a campaign's page, the areas and their map, the
//! transparency register.

use super::common::status_label;
use super::common::{Card, area_names, card, draw_map, live_campaigns, match_label, name_of};
use super::i18n::Tr;
use super::{Ctx, PageResult, context, html};
use crate::app::AppState;
use crate::domain::campaign::CampaignStatus;
use crate::domain::chart::esc;
use crate::http::controllers::campaigns::{self as campaigns, CampaignView};
use crate::http::error::ApiError;
use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::Datelike;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct HomeQuery {
    pub area_id: Option<String>,
}

pub struct AreaOption {
    pub id: String,
    pub name: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    ctx: Ctx,
    areas: Vec<AreaOption>,
    campaigns: Vec<Card>,
}

pub async fn home(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    q: web::Query<HomeQuery>,
) -> PageResult {
    let (ctx, _) = context(&state, &req, &session);
    let area_id = q.into_inner().area_id.filter(|a| !a.is_empty());
    let areas = area_names(&state).await.map_err(|e| ctx.fail(e))?;
    let live = live_campaigns(&state, area_id.clone())
        .await
        .map_err(|e| ctx.fail(e))?;
    let t = ctx.t;
    let campaigns = live
        .iter()
        .map(|c| card(&t, c, &name_of(&areas, &c.area_id)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ctx.fail(e))?;
    html(HomePage {
        campaigns,
        areas: areas
            .iter()
            .map(|a| AreaOption {
                id: a.id.clone(),
                name: a.name.clone(),
                selected: area_id.as_deref() == Some(a.id.as_str()),
            })
            .collect(),
        ctx,
    })
}

#[derive(Template)]
#[template(path = "campaign.html")]
struct CampaignPage {
    ctx: Ctx,
    c: Card,
    summary: String,
    status_label: String,
    crowd_line: String,
    match_line: String,
    explanation: String,
    can_donate: bool,
    thanks: bool,
    badge_snippet: String,
    grant: Option<PublicGrantLines>,
    updates: Vec<UpdateLine>,
    posted: bool,
    /// The campaign's association is reading: it may post an update.
    can_post_update: bool,
}

/// A project update as the campaign's page shows it: plain text, addresses as links.
pub struct UpdateLine {
    pub title: String,
    pub date: String,
    pub pieces: Vec<crate::domain::update::Piece>,
}

/// A succeeded campaign's grant as anyone sees it: its state in plain words and the spending
/// accepted against the goal; never a document or an expense line.
pub struct PublicGrantLines {
    pub status: String,
    pub spending: String,
    pub paid: String,
    pub bar_label: String,
    pub accepted_px: u32,
}

fn public_grant(t: &Tr, g: &crate::app::grant_decisions::PublicGrant) -> PublicGrantLines {
    let m = |minor: i64| t.money(minor, &g.currency);
    let spending = t.args(
        "public-grant-spending",
        &[("accepted", &m(g.accepted_expenses)), ("goal", &m(g.goal))],
    );
    PublicGrantLines {
        status: t.get(&format!("public-grant-{}", g.status.as_str())),
        // A revoked grant's award is nothing: "paid 8000 of 0" would only confuse.
        paid: if g.status == crate::domain::grant::GrantStatus::Revoked {
            String::new()
        } else {
            t.args(
                "public-grant-paid",
                &[("paid", &m(g.paid)), ("award", &m(g.award))],
            )
        },
        bar_label: spending.clone(),
        spending,
        accepted_px: crate::domain::map::bar(g.accepted_expenses, g.goal, 300),
    }
}

#[derive(Deserialize)]
pub struct CampaignQuery {
    pub thanks: Option<String>,
    pub posted: Option<String>,
}

fn explanation(t: &Tr, c: &CampaignView) -> String {
    let threshold = t.amount(&c.threshold, &c.currency);
    let amount = t.amount(&c.match_.amount, &c.currency);
    let args = [
        ("threshold", threshold.as_str()),
        ("amount", amount.as_str()),
    ];
    match c.match_.status.as_str() {
        "waitlisted" => t.args("explain-waitlisted", &args),
        "reserved" => t.args("explain-reserved", &args),
        "committed" => t.args("explain-committed", &args),
        "settled" => t.args("explain-settled", &args),
        "revoked" => t.args("explain-revoked", &args),
        _ => t.args("explain-none", &args),
    }
}

pub async fn campaign(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    id: web::Path<String>,
    q: web::Query<CampaignQuery>,
) -> PageResult {
    let (ctx, principal) = context(&state, &req, &session);
    let c = campaigns::get_campaign(&state, principal.clone(), id.into_inner())
        .await
        .map_err(|e| ctx.fail(e))?;
    let areas = area_names(&state).await.map_err(|e| ctx.fail(e))?;
    let t = ctx.t;
    // The snippet's links come from COFUND_PUBLIC_URL, never from the request's headers.
    let base = &state.config.public_url;
    let badge_snippet = format!(
        "<a href=\"{page}\"><img src=\"{badge}\" alt=\"{title}\" width=\"320\" height=\"64\"></a>",
        page = esc(&base.link(&format!("/campaigns/{}", c.id))),
        badge = esc(&base.link(&format!("/v1/campaigns/{}/badge.svg", c.id))),
        title = esc(&c.title)
    );
    let simulated = matches!(
        *state.provider,
        crate::providers::PaymentProvider::Simulated(_)
    );
    let card = card(&t, &c, &name_of(&areas, &c.area_id)).map_err(|e| ctx.fail(e))?;
    let grant = if c.status == CampaignStatus::Succeeded {
        crate::app::grant_decisions::public_of_campaign(&state, c.id.clone())
            .await
            .map_err(|e| ctx.fail(crate::http::controllers::grants::grant_error(e)))?
            .map(|g| public_grant(&t, &g))
    } else {
        None
    };
    let updates = crate::app::updates::list(&state, principal.clone(), c.id.clone())
        .await
        .map_err(|e| ctx.fail(e.into()))?
        .into_iter()
        .map(|u| UpdateLine {
            date: t.date(u.created_at.date()),
            pieces: crate::domain::update::pieces(&u.body),
            title: u.title,
        })
        .collect();
    let can_post_update = c.status.is_public()
        && principal.as_ref().is_some_and(|p| {
            p.role == crate::domain::role::Role::Association && p.is_member_of(&c.association_id)
        });
    html(CampaignPage {
        updates,
        can_post_update,
        summary: c.summary.clone(),
        status_label: status_label(&t, c.status),
        crowd_line: t.count_with(
            "campaign-crowd",
            c.donors.into(),
            &[
                ("raised", &t.amount(&c.raised, &c.currency)),
                ("threshold", &t.amount(&c.threshold, &c.currency)),
            ],
        ),
        match_line: t.args(
            "campaign-match",
            &[
                ("status", &match_label(&t, &c.match_.status)),
                ("amount", &t.amount(&c.match_.amount, &c.currency)),
            ],
        ),
        explanation: explanation(&t, &c),
        can_donate: simulated && c.status == CampaignStatus::Live,
        thanks: q.thanks.is_some(),
        posted: q.posted.is_some(),
        badge_snippet,
        grant,
        c: card,
        ctx,
    })
}

pub struct AreaLine {
    pub id: String,
    pub code: String,
    pub name: String,
    pub live: usize,
}

#[derive(Template)]
#[template(path = "areas.html")]
struct AreasPage {
    ctx: Ctx,
    map: String,
    areas: Vec<AreaLine>,
}

pub async fn areas_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
) -> PageResult {
    let (ctx, _) = context(&state, &req, &session);
    let live = live_campaigns(&state, None)
        .await
        .map_err(|e| ctx.fail(e))?;
    let areas = area_names(&state).await.map_err(|e| ctx.fail(e))?;
    let (map, _) = draw_map(&ctx.t, &areas, &live);
    html(AreasPage {
        map,
        areas: areas
            .into_iter()
            .map(|a| AreaLine {
                live: live.iter().filter(|c| c.area_id == a.id).count(),
                id: a.id,
                code: a.code,
                name: a.name,
            })
            .collect(),
        ctx,
    })
}

/// The map alone, as an image: the location picker of the campaign form.
pub async fn map_svg(state: web::Data<AppState>, req: HttpRequest, session: Session) -> PageResult {
    let (ctx, _) = context(&state, &req, &session);
    let areas = area_names(&state).await.map_err(|e| ctx.fail(e))?;
    let (svg, _) = draw_map(&ctx.t, &areas, &[]);
    Ok(HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header(("Cache-Control", "no-cache"))
        .body(svg))
}

pub struct AwardLine {
    pub date: String,
    pub beneficiary: String,
    pub tax_code: String,
    pub amount: String,
    pub legal_basis: String,
    pub office: String,
    pub official: String,
    pub method: String,
    pub campaign_id: String,
    pub campaign_title: String,
    pub funder: String,
}

#[derive(Template)]
#[template(path = "transparency.html")]
struct TransparencyPage {
    ctx: Ctx,
    year: String,
    awards: Vec<AwardLine>,
}

#[derive(Deserialize)]
pub struct YearQuery {
    pub year: Option<String>,
}

pub async fn transparency(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    q: web::Query<YearQuery>,
) -> PageResult {
    let (ctx, _) = context(&state, &req, &session);
    let year = match q.into_inner().year.filter(|y| !y.is_empty()) {
        None => crate::clock::now().year(),
        Some(y) => match y.parse::<i32>() {
            Ok(y) if (2000..=2200).contains(&y) => y,
            _ => return Err(ctx.fail(ApiError::validation("year", "2000–2200"))),
        },
    };
    let lines = crate::app::console::transparency_register(&state, year)
        .await
        .map_err(|e| ctx.fail(e.into()))?;
    html(TransparencyPage {
        year: year.to_string(),
        awards: lines
            .into_iter()
            .map(|l| {
                let a = l.award;
                AwardLine {
                    date: ctx.t.date(a.awarded_at.date()),
                    amount: ctx.t.money(a.amount, &a.currency),
                    beneficiary: a.beneficiary_name,
                    tax_code: a.beneficiary_tax_code,
                    legal_basis: a.legal_basis.unwrap_or_default(),
                    office: a.office.unwrap_or_default(),
                    official: a.responsible_official.unwrap_or_default(),
                    method: a.selection_method.unwrap_or_default(),
                    campaign_id: a.campaign_id,
                    campaign_title: l.campaign_title,
                    funder: l.funder_name,
                }
            })
            .collect(),
        ctx,
    })
}
