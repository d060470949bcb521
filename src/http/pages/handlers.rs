//! The pages' handlers: each parses its input, calls the same use case as the API (with the
//! same role and object checks) and renders a template.

use super::i18n::Tr;
use super::{Ctx, PageError, PageResult, check_csrf, context, html, redirect, signed_in};
use crate::app::AppState;
use crate::db::schema::{areas, funders, funds, settlements};
use crate::domain::area::PreparedShape;
use crate::domain::campaign::{Action, CampaignStatus};
use crate::domain::chart::esc;
use crate::domain::map::{Projection, bar};
use crate::domain::money::{Currency, parse_amount};
use crate::domain::role::Role;
use crate::http::controllers::campaigns::{
    self as campaigns, CampaignListParams, CampaignView, CreateCampaign, Location,
};
use crate::http::error::ApiError;
use crate::http::extract::Principal;
use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::Datelike;
use diesel::prelude::*;
use serde::Deserialize;

/// A campaign as a card or a page shows it.
pub struct Card {
    pub id: String,
    pub title: String,
    pub summary: String,
    pub area: String,
    pub figures: String,
    pub match_label: String,
    pub bar_label: String,
    pub raised_px: u32,
    pub match_px: u32,
    pub threshold_px: u32,
}

fn minor(amount: &str, currency: Currency) -> i64 {
    parse_amount(amount, currency).unwrap_or(0)
}

fn status_label(t: &Tr, status: CampaignStatus) -> String {
    t.get(&format!("status-{}", status.as_str()))
}

fn match_label(t: &Tr, status: &str) -> String {
    match status {
        "none" | "waitlisted" | "reserved" | "committed" | "settled" | "revoked" => {
            t.get(&format!("match-{status}"))
        }
        other => other.to_string(),
    }
}

fn card(t: &Tr, c: &CampaignView, area: &str) -> Card {
    let currency = Currency::parse(&c.currency).unwrap_or(Currency::EUR);
    let goal = minor(&c.goal, currency);
    let raised = minor(&c.raised, currency);
    let matched = minor(&c.match_.amount, currency);
    let threshold = minor(&c.threshold, currency);
    let raised_px = bar(raised, goal, 300);
    let match_px = bar(matched, goal, 300).min(300 - raised_px);
    let figures = t.args(
        "card-figures",
        &[
            ("raised", c.raised.as_str()),
            ("goal", c.goal.as_str()),
            ("currency", c.currency.as_str()),
            ("donors", &c.donors.to_string()),
        ],
    );
    Card {
        id: c.id.clone(),
        title: c.title.clone(),
        summary: c.summary.chars().take(240).collect(),
        area: area.to_string(),
        bar_label: t.args(
            "bar-label",
            &[
                ("raised", c.raised.as_str()),
                ("match", c.match_.amount.as_str()),
                ("goal", c.goal.as_str()),
                ("currency", c.currency.as_str()),
            ],
        ),
        figures,
        match_label: match_label(t, &c.match_.status),
        raised_px,
        match_px,
        threshold_px: bar(threshold, goal, 300).min(299),
    }
}

/// Areas by id: (code, name).
async fn area_names(state: &AppState) -> Result<Vec<(String, String, String, String)>, ApiError> {
    state
        .db
        .read(|conn| -> Result<_, ApiError> {
            Ok(areas::table
                .order(areas::name)
                .limit(500)
                .select((areas::id, areas::code, areas::name, areas::geometry))
                .load::<(String, String, String, String)>(conn)?)
        })
        .await
}

fn name_of(areas: &[(String, String, String, String)], id: &str) -> String {
    areas
        .iter()
        .find(|a| a.0 == id)
        .map(|a| a.2.clone())
        .unwrap_or_default()
}

async fn live_campaigns(
    state: &AppState,
    area_id: Option<String>,
) -> Result<Vec<CampaignView>, ApiError> {
    let page = campaigns::list_campaigns(
        state,
        None,
        CampaignListParams {
            status: Some(CampaignStatus::Live),
            fund_id: None,
            area_id,
            association_id: None,
            limit: Some(200),
            cursor: None,
        },
    )
    .await?;
    Ok(page.data)
}

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
    html(HomePage {
        campaigns: live
            .iter()
            .map(|c| card(&t, c, &name_of(&areas, &c.area_id)))
            .collect(),
        areas: areas
            .iter()
            .map(|a| AreaOption {
                id: a.0.clone(),
                name: a.2.clone(),
                selected: area_id.as_deref() == Some(a.0.as_str()),
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
}

#[derive(Deserialize)]
pub struct CampaignQuery {
    pub thanks: Option<String>,
}

fn explanation(t: &Tr, c: &CampaignView) -> String {
    let args = [
        ("threshold", c.threshold.as_str()),
        ("amount", c.match_.amount.as_str()),
        ("currency", c.currency.as_str()),
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
    let c = campaigns::get_campaign(&state, principal, id.into_inner())
        .await
        .map_err(|e| ctx.fail(e))?;
    let areas = area_names(&state).await.map_err(|e| ctx.fail(e))?;
    let t = ctx.t;
    let info = req.connection_info();
    let badge_snippet = format!(
        "<a href=\"{scheme}://{host}/campaigns/{id}\"><img src=\"{scheme}://{host}/v1/campaigns/{id}/badge.svg\" alt=\"{title}\" width=\"320\" height=\"64\"></a>",
        scheme = info.scheme(),
        host = info.host(),
        id = c.id,
        title = esc(&c.title)
    );
    let simulated = matches!(
        *state.provider,
        crate::providers::PaymentProvider::Simulated(_)
    );
    html(CampaignPage {
        summary: c.summary.clone(),
        status_label: status_label(&t, c.status),
        crowd_line: t.args(
            "campaign-crowd",
            &[
                ("raised", c.raised.as_str()),
                ("threshold", c.threshold.as_str()),
                ("currency", c.currency.as_str()),
                ("donors", &c.donors.to_string()),
            ],
        ),
        match_line: t.args(
            "campaign-match",
            &[
                ("status", &match_label(&t, &c.match_.status)),
                ("amount", c.match_.amount.as_str()),
                ("currency", c.currency.as_str()),
            ],
        ),
        explanation: explanation(&t, &c),
        can_donate: simulated && c.status == CampaignStatus::Live,
        thanks: q.thanks.is_some(),
        badge_snippet,
        c: card(&t, &c, &name_of(&areas, &c.area_id)),
        ctx,
    })
}

/// An area's outer rings, (lon, lat) points.
type Rings = Vec<Vec<(f64, f64)>>;

/// The areas (and the campaigns given as pins) drawn as SVG: (the drawing, its projection).
fn draw_map(
    t: &Tr,
    areas: &[(String, String, String, String)],
    pins: &[CampaignView],
) -> (String, Option<Projection>) {
    let shapes: Vec<(String, Rings)> = areas
        .iter()
        .filter_map(|(_, _, name, g)| {
            PreparedShape::from_stored(g)
                .ok()
                .map(|s| (name.clone(), s.outer_rings()))
        })
        .collect();
    let Some(p) = Projection::fit(
        shapes
            .iter()
            .flat_map(|(_, rings)| rings.iter().flatten().copied()),
        640.0,
    ) else {
        return (format!("<p>{}</p>", t.get("areas-none")), None);
    };
    let mut svg = format!(
        "<svg class=\"map\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w:.0} {h:.0}\" width=\"{w:.0}\" height=\"{h:.0}\" role=\"group\" aria-labelledby=\"map-title\"><title id=\"map-title\">{title}</title>",
        w = p.width,
        h = p.height,
        title = esc(&t.get("areas-map-title"))
    );
    // At most 20,000 vertices in all, however detailed the stored shapes are.
    let per_ring = (20_000 / shapes.iter().map(|(_, r)| r.len()).sum::<usize>().max(1)).max(8);
    for (name, rings) in &shapes {
        svg.push_str(&format!("<g><title>{}</title>", esc(name)));
        for ring in rings {
            svg.push_str(&format!(
                "<path class=\"area\" d=\"{}\"/>",
                p.path(ring, per_ring)
            ));
        }
        svg.push_str("</g>");
    }
    for c in pins {
        let (x, y) = p.project(c.location.lon, c.location.lat);
        svg.push_str(&format!(
            "<a href=\"/campaigns/{}\"><circle class=\"pin\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"7\"><title>{}</title></circle></a>",
            esc(&c.id),
            esc(&c.title)
        ));
    }
    svg.push_str("</svg>");
    (svg, Some(p))
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
            .map(|(id, code, name, _)| AreaLine {
                live: live.iter().filter(|c| c.area_id == id).count(),
                id,
                code,
                name,
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
    let lines = state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            Ok(crate::app::transparency::register(
                conn,
                Some(year),
                None,
                None,
                500,
            )?)
        })
        .await
        .map_err(|e| ctx.fail(e))?;
    html(TransparencyPage {
        year: year.to_string(),
        awards: lines
            .into_iter()
            .map(|l| {
                let a = l.award;
                AwardLine {
                    date: a.awarded_at.format("%d/%m/%Y").to_string(),
                    amount: format!(
                        "{} {}",
                        crate::http::views::money(a.amount, &a.currency),
                        a.currency
                    ),
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

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    ctx: Ctx,
    error: Option<String>,
}

pub async fn login_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
) -> PageResult {
    let (ctx, _) = context(&state, &req, &session);
    html(LoginPage { ctx, error: None })
}

#[derive(Deserialize)]
pub struct LoginForm {
    pub csrf_token: String,
    pub username: String,
    pub password: String,
}

pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    form: web::Form<LoginForm>,
) -> PageResult {
    let (ctx, _) = context(&state, &req, &session);
    let form = form.into_inner();
    check_csrf(&ctx, &form.csrf_token)?;
    let ip = crate::http::extract::client_ip(&req, &state.config.trusted_proxies)
        .map(|ip| ip.to_string())
        .unwrap_or_default();
    let grant = crate::http::controllers::auth::Grant::Password {
        username: form.username,
        password: form.password,
    };
    match crate::http::controllers::auth::sign_in(&state, &ip, grant).await {
        Ok(token) => {
            // A new session (and CSRF token) on every sign-in: nothing chosen before it survives.
            session.renew();
            session
                .insert("token", token)
                .map_err(|_| ctx.fail(ApiError::Internal("session".into())))?;
            session.remove("csrf");
            Ok(redirect("/console"))
        }
        Err(ApiError::Unauthorized) => {
            let error = Some(ctx.t.get("login-failed"));
            let mut res = html(LoginPage { ctx, error })?;
            *res.status_mut() = actix_web::http::StatusCode::UNAUTHORIZED;
            Ok(res)
        }
        Err(e) => Err(ctx.fail(e)),
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    pub csrf_token: String,
}

pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    form: web::Form<CsrfOnly>,
) -> PageResult {
    let (ctx, _) = context(&state, &req, &session);
    check_csrf(&ctx, &form.csrf_token)?;
    session.purge();
    Ok(redirect("/"))
}

pub struct OwnCampaign {
    pub id: String,
    pub title: String,
    pub status_label: String,
    pub raised: String,
    pub match_label: String,
    pub can_submit: bool,
    pub rejection: Option<String>,
}

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

/// A user or partner in the admin's lists.
pub struct Account {
    pub id: String,
    pub name: String,
    pub detail: String,
    pub disabled: bool,
}

#[derive(Deserialize)]
pub struct ConsoleQuery {
    pub done: Option<String>,
}

fn own_line(t: &Tr, c: CampaignView) -> OwnCampaign {
    OwnCampaign {
        can_submit: matches!(c.status, CampaignStatus::Draft | CampaignStatus::Rejected),
        status_label: status_label(t, c.status),
        raised: format!("{} {}", c.raised, c.currency),
        match_label: match_label(t, &c.match_.status),
        rejection: c.rejection_reason,
        id: c.id,
        title: c.title,
    }
}

/// A horizontal stacked bar per funder: settled, committed, reserved, held, available.
fn funders_chart(t: &Tr, f: &crate::http::controllers::funds::FundView) -> String {
    let c = Currency::parse(&f.currency).unwrap_or(Currency::EUR);
    let row_h = 26.0;
    let height = 30.0 + row_h * f.funders.len() as f64;
    let mut svg = format!(
        "<svg class=\"bar\" viewBox=\"0 0 640 {height:.0}\" width=\"640\" height=\"{height:.0}\" role=\"img\" aria-label=\"{}\">",
        esc(&t.get("chart-label"))
    );
    for (i, fr) in f.funders.iter().enumerate() {
        let budget = minor(&fr.budget, c).max(1);
        let y = 4.0 + row_h * i as f64;
        let mut x = 160u32;
        svg.push_str(&format!(
            "<text x=\"0\" y=\"{:.0}\">{}</text><rect class=\"bg\" x=\"160\" y=\"{y:.0}\" width=\"460\" height=\"18\"/>",
            y + 14.0,
            esc(&fr.name)
        ));
        for (value, class) in [
            (&fr.settled, "settled"),
            (&fr.committed, "committed"),
            (&fr.reserved, "reserved"),
        ] {
            let w = bar(minor(value, c), budget, 460);
            svg.push_str(&format!(
                "<rect class=\"{class}\" x=\"{x}\" y=\"{y:.0}\" width=\"{w}\" height=\"18\"/>"
            ));
            x += w;
        }
    }
    svg.push_str("</svg>");
    svg
}

/// A fund's reserved, committed and settled postings in time order (the latest 5,000).
fn fund_history(
    conn: &mut crate::db::DbConnection,
    fund_id: &str,
) -> diesel::QueryResult<Vec<(chrono::NaiveDateTime, String, i64)>> {
    use crate::db::schema::{journal_entries, postings};
    let mut rows: Vec<(chrono::NaiveDateTime, String, i64)> = postings::table
        .inner_join(journal_entries::table)
        .filter(postings::fund_id.eq(fund_id))
        .filter(postings::account.eq_any(["reserved", "committed", "settled"]))
        .order((journal_entries::created_at.desc(), postings::id.desc()))
        .limit(5000)
        .select((
            journal_entries::created_at,
            postings::account,
            postings::amount,
        ))
        .load(conn)?;
    rows.reverse();
    Ok(rows)
}

/// The fund's money over time: each account's running balance after every posting.
fn history_chart(
    t: &Tr,
    f: &crate::http::controllers::funds::FundView,
    history: &[(chrono::NaiveDateTime, String, i64)],
) -> String {
    use crate::domain::chart::{Series, line_chart};
    let labels = [
        ("reserved", t.get("fig-reserved")),
        ("committed", t.get("fig-committed")),
        ("settled", t.get("fig-settled")),
    ];
    let series: Vec<Series> = labels
        .iter()
        .map(|(account, label)| {
            let mut balance = 0i64;
            let points = history
                .iter()
                .filter(|(_, a, _)| a == account)
                .map(|(at, _, amount)| {
                    balance += amount;
                    (at.and_utc().timestamp(), balance)
                })
                .collect();
            Series {
                label,
                class: account,
                points,
            }
        })
        .collect();
    let top = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .max()
        .unwrap_or(0);
    let c = Currency::parse(&f.currency).unwrap_or(Currency::EUR);
    let day = |i: usize| {
        history
            .get(i)
            .map(|(at, _, _)| at.format("%d/%m/%Y").to_string())
            .unwrap_or_default()
    };
    line_chart(
        &t.with("history-label", "fund", &f.name),
        &series,
        (
            &crate::http::views::money(top, &c),
            &day(0),
            &day(history.len().saturating_sub(1)),
        ),
        640.0,
        220.0,
    )
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
        notice: q
            .into_inner()
            .done
            .filter(|d| {
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
            .map(|d| t.get(&format!("done-{d}"))),
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
    let list = |status: Option<CampaignStatus>| CampaignListParams {
        status,
        fund_id: None,
        area_id: None,
        association_id: None,
        limit: Some(200),
        cursor: None,
    };
    if is_association {
        let own = campaigns::list_campaigns(&state, Some(principal.clone()), list(None))
            .await
            .map_err(|e| page.ctx.fail(e))?;
        page.own = own.data.into_iter().map(|c| own_line(&t, c)).collect();
        page.funds = state
            .db
            .read(|conn| -> Result<_, ApiError> {
                Ok(funds::table
                    .order(funds::name)
                    .limit(100)
                    .select((funds::id, funds::name))
                    .load::<(String, String)>(conn)?)
            })
            .await
            .map_err(|e| page.ctx.fail(e))?;
        let association = principal.association_id.clone().unwrap_or_default();
        let year = crate::clock::now().year();
        let receipts = state
            .db
            .run(move |conn| -> Result<_, ApiError> {
                crate::app::receipts::number_for_year(conn, &association, year)?;
                Ok(crate::app::receipts::of_year(conn, &association, year)?.unwrap_or_default())
            })
            .await
            .map_err(|e| page.ctx.fail(e))?;
        let pledge_ids: Vec<String> = receipts
            .iter()
            .map(|r| r.receipt.pledge_id.clone())
            .collect();
        // Who gave anonymously, and the contact of those who agreed to be contacted.
        type DonorFacts = (String, bool, bool, Option<String>);
        let donors: Vec<DonorFacts> = state
            .db
            .read(move |conn| -> Result<_, ApiError> {
                use crate::db::schema::donors;
                Ok(donors::table
                    .filter(donors::pledge_id.eq_any(&pledge_ids))
                    .select((
                        donors::pledge_id,
                        donors::anonymous,
                        donors::contact_consent,
                        donors::email,
                    ))
                    .load(conn)?)
            })
            .await
            .map_err(|e| page.ctx.fail(e))?;
        let anonymous: Vec<String> = donors.iter().filter(|d| d.1).map(|d| d.0.clone()).collect();
        let contact = |pledge: &str| {
            donors
                .iter()
                .find(|d| d.0 == pledge && !d.1 && d.2)
                .and_then(|d| d.3.clone())
        };
        page.donations = receipts
            .into_iter()
            .rev()
            .take(200)
            .map(|f| {
                let r = &f.receipt;
                DonationLine {
                    number: crate::domain::receipt::number(r.year, r.number),
                    date: r.issued_at.format("%d/%m/%Y").to_string(),
                    contact: contact(&r.pledge_id).unwrap_or_default(),
                    donor: if anonymous.contains(&r.pledge_id) {
                        t.get("donor-anonymous")
                    } else {
                        f.donor_name
                            .clone()
                            .unwrap_or_else(|| t.get("donor-erased"))
                    },
                    campaign: f.campaign_title.clone(),
                    amount: format!(
                        "{} {}",
                        crate::http::views::money(r.amount, &r.currency),
                        r.currency
                    ),
                    voided: r.voided_at.is_some(),
                    pledge_id: r.pledge_id.clone(),
                }
            })
            .collect();
    }
    if is_reviewer {
        let queue = campaigns::list_campaigns(
            &state,
            Some(principal.clone()),
            list(Some(CampaignStatus::Submitted)),
        )
        .await
        .map_err(|e| page.ctx.fail(e))?;
        page.queue = queue
            .data
            .into_iter()
            .map(|c| {
                let mut line = own_line(&t, c);
                line.raised = t.with("queue-goal", "goal", &line.raised);
                line
            })
            .collect();
    }
    if is_finance {
        let (views, batches, report) = state
            .db
            .read(|conn| -> Result<_, ApiError> {
                let ids: Vec<String> = funds::table
                    .order(funds::name)
                    .limit(50)
                    .select(funds::id)
                    .load(conn)?;
                let mut views = Vec::new();
                for id in ids {
                    let history = fund_history(conn, &id)?;
                    views.push((
                        crate::http::controllers::funds::load_fund(conn, &id)?,
                        history,
                    ));
                }
                let batches: Vec<(String, String, String, String, i64, String, String)> =
                    settlements::table
                        .inner_join(funds::table.on(funds::id.eq(settlements::fund_id)))
                        .inner_join(funders::table.on(funders::id.eq(settlements::funder_id)))
                        .order(settlements::id.desc())
                        .limit(50)
                        .select((
                            settlements::id,
                            funds::name,
                            funders::name,
                            settlements::status,
                            settlements::total,
                            settlements::currency,
                            funders::kind,
                        ))
                        .load(conn)?;
                let report = crate::db::reconcile::run(conn)?;
                Ok((views, batches, report))
            })
            .await
            .map_err(|e| page.ctx.fail(e))?;
        let mut commitments = Vec::new();
        for (f, _) in &views {
            let page_of = crate::http::controllers::settlements::list_commitments(
                &state,
                principal.clone(),
                f.id.clone(),
                crate::http::controllers::settlements::CommitmentParams {
                    status: Some("all".into()),
                    association_id: None,
                    funder_id: None,
                    limit: Some(50),
                    cursor: None,
                },
            )
            .await
            .map_err(|e| page.ctx.fail(e))?;
            commitments.push(
                page_of
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
                        amount: format!("{} {}", c.amount, c.currency),
                        campaign_id: c.campaign_id,
                        title: c.campaign_title,
                        association: c.association_name,
                    })
                    .collect::<Vec<_>>(),
            );
        }
        let mut commitments = commitments.into_iter();
        page.fund_figures = views
            .iter()
            .map(|(f, history)| FundFigures {
                commitments: commitments.next().unwrap_or_default(),
                name: f.name.clone(),
                chart: funders_chart(&t, f),
                history: history_chart(&t, f, history),
                rows: f
                    .funders
                    .iter()
                    .map(|fr| FunderFigures {
                        fund_id: f.id.clone(),
                        funder_id: fr.id.clone(),
                        can_batch: !fr.committed.trim_start_matches(['0', '.']).is_empty(),
                        name: fr.name.clone(),
                        budget: fr.budget.clone(),
                        held: fr.held.clone(),
                        reserved: fr.reserved.clone(),
                        committed: fr.committed.clone(),
                        settled: fr.settled.clone(),
                        available: fr.available.clone(),
                    })
                    .collect(),
            })
            .collect();
        page.reconciliation = if report.ok {
            t.get("reconciliation-ok")
        } else {
            t.with(
                "reconciliation-bad",
                "count",
                &report.violations.len().to_string(),
            )
        };
        page.settlements = batches
            .into_iter()
            .map(|(id, fund, funder, status, total, currency, kind)| {
                let c = Currency::parse(&currency).unwrap_or(Currency::EUR);
                SettlementLine {
                    draft: status == "draft",
                    label: format!("{fund} — {funder}"),
                    status,
                    total: format!("{} {}", crate::http::views::money(total, &c), currency),
                    public: kind == "public",
                    id,
                }
            })
            .collect();
    }
    if role == Role::Admin {
        page.area_choices = area_names(&state)
            .await
            .map_err(|e| page.ctx.fail(e))?
            .into_iter()
            .map(|(id, _, name, _)| (id, name))
            .collect();
        page.funds = state
            .db
            .read(|conn| -> Result<_, ApiError> {
                Ok(funds::table
                    .order(funds::name)
                    .limit(100)
                    .select((funds::id, funds::name))
                    .load::<(String, String)>(conn)?)
            })
            .await
            .map_err(|e| page.ctx.fail(e))?;
        let all = state
            .db
            .read(|conn| -> Result<_, ApiError> {
                use crate::db::schema::associations;
                Ok(associations::table
                    .order(associations::name)
                    .limit(200)
                    .select((associations::id, associations::name, associations::tax_code))
                    .load::<(String, String, String)>(conn)?)
            })
            .await
            .map_err(|e| page.ctx.fail(e))?;
        page.associations = all
            .iter()
            .map(|(_, name, tax)| format!("{name} ({tax})"))
            .collect();
        type Listed = (String, String, String, bool);
        let (users, partners): (Vec<Listed>, Vec<Listed>) = state
            .db
            .read(|conn| -> Result<_, ApiError> {
                use crate::db::schema::{partners, users};
                let u = users::table
                    .order(users::username)
                    .limit(200)
                    .select((
                        users::id,
                        users::username,
                        users::role,
                        users::disabled_at.is_not_null(),
                    ))
                    .load(conn)?;
                let p = partners::table
                    .order(partners::name)
                    .limit(200)
                    .select((
                        partners::id,
                        partners::name,
                        partners::client_id,
                        partners::disabled_at.is_not_null(),
                    ))
                    .load(conn)?;
                Ok((u, p))
            })
            .await
            .map_err(|e| page.ctx.fail(e))?;
        page.users = users
            .into_iter()
            .map(|(id, name, role, disabled)| Account {
                detail: t.get(&format!("role-{role}")),
                id,
                name,
                disabled,
            })
            .collect();
        page.partners = partners
            .into_iter()
            .map(|(id, name, client_id, disabled)| Account {
                id,
                name,
                detail: client_id,
                disabled,
            })
            .collect();
        page.association_choices = all.into_iter().map(|(id, name, _)| (id, name)).collect();
    }
    html(page)
}

#[derive(Deserialize)]
pub struct NewCampaignForm {
    pub csrf_token: String,
    pub fund_id: String,
    pub title: String,
    pub summary: String,
    pub goal: String,
    pub lat: Option<String>,
    pub lon: Option<String>,
    #[serde(rename = "map.x")]
    pub map_x: Option<f64>,
    #[serde(rename = "map.y")]
    pub map_y: Option<f64>,
    pub starts_at: String,
    pub ends_at: String,
}

fn local_time(field: &str, s: &str) -> Result<chrono::DateTime<chrono::Utc>, ApiError> {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
        .map(|t| t.and_utc())
        .map_err(|_| ApiError::validation(field, "a date and time such as 2026-12-01T09:00"))
}

pub async fn create_campaign(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    form: web::Form<NewCampaignForm>,
) -> PageResult {
    let (ctx, principal) = signed_in(&state, &req, &session)?;
    let form = form.into_inner();
    check_csrf(&ctx, &form.csrf_token)?;
    // A click on the map is the location; else the typed coordinates.
    let location = match (form.map_x, form.map_y) {
        (Some(x), Some(y)) => {
            let areas = area_names(&state).await.map_err(|e| ctx.fail(e))?;
            let (_, projection) = draw_map(&ctx.t, &areas, &[]);
            let p = projection.ok_or_else(|| {
                ctx.fail(ApiError::validation("location", "no areas to pick from"))
            })?;
            let (lon, lat) = p.unproject(x, y);
            Location { lat, lon }
        }
        _ => {
            let num = |field: &str, v: &Option<String>| -> Result<f64, ApiError> {
                v.as_deref()
                    .and_then(|s| s.trim().parse::<f64>().ok())
                    .filter(|f| f.is_finite())
                    .ok_or_else(|| {
                        ApiError::validation(field, "a number, or pick the place on the map")
                    })
            };
            Location {
                lat: num("location.lat", &form.lat).map_err(|e| ctx.fail(e))?,
                lon: num("location.lon", &form.lon).map_err(|e| ctx.fail(e))?,
            }
        }
    };
    let body = CreateCampaign {
        fund_id: form.fund_id,
        title: form.title,
        summary: form.summary,
        goal: form.goal,
        currency: None,
        location,
        starts_at: local_time("starts_at", &form.starts_at).map_err(|e| ctx.fail(e))?,
        ends_at: local_time("ends_at", &form.ends_at).map_err(|e| ctx.fail(e))?,
    };
    campaigns::create_campaign(&state, principal, body)
        .await
        .map_err(|e| ctx.fail(e))?;
    Ok(redirect("/console?done=created"))
}

#[derive(Deserialize)]
pub struct ActionForm {
    pub csrf_token: String,
    pub reason: Option<String>,
}

pub async fn campaign_action(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    path: web::Path<(String, String)>,
    form: web::Form<ActionForm>,
) -> PageResult {
    let (ctx, principal) = signed_in(&state, &req, &session)?;
    let form = form.into_inner();
    check_csrf(&ctx, &form.csrf_token)?;
    let (id, verb) = path.into_inner();
    let (action, done) = match verb.as_str() {
        "submit" => (Action::Submit, "submitted"),
        "approve" => (Action::Approve, "approved"),
        "reject" => (Action::Reject, "rejected"),
        _ => return Err(ctx.fail(ApiError::NotFound("page"))),
    };
    let reason = match action {
        Action::Reject => {
            let r = form.reason.unwrap_or_default().trim().to_string();
            if r.is_empty() || r.chars().count() > 2000 {
                return Err(ctx.fail(ApiError::validation("reason", "1–2000 characters")));
            }
            Some(r)
        }
        _ => None,
    };
    campaigns::act(&state, principal, id, action, reason)
        .await
        .map_err(|e| ctx.fail(e))?;
    Ok(redirect(&format!("/console?done={done}")))
}

/// A settlement file for the finance office, through the API's own generators.
pub async fn settlement_file(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    path: web::Path<(String, String)>,
) -> PageResult {
    let (ctx, principal) = signed_in(&state, &req, &session)?;
    principal
        .require(&[Role::Finance, Role::Admin])
        .map_err(|e| ctx.fail(e.into()))?;
    let (id, file) = path.into_inner();
    let (content_type, name, body) = match file.as_str() {
        "sepa.xml" => {
            let (name, xml) = crate::http::controllers::settlements::sepa_file(&state, id)
                .await
                .map_err(|e| ctx.fail(e))?;
            ("application/xml; charset=utf-8", name, xml)
        }
        "treasury.csv" => {
            let csv = crate::http::controllers::settlements::treasury_csv_file(&state, id.clone())
                .await
                .map_err(|e| ctx.fail(e))?;
            ("text/csv; charset=utf-8", format!("treasury-{id}.csv"), csv)
        }
        _ => return Err(ctx.fail(ApiError::NotFound("file"))),
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{name}\""),
        ))
        .body(body))
}

#[derive(Template)]
#[template(path = "donate.html")]
struct DonatePage {
    ctx: Ctx,
    campaign_id: String,
    title: String,
    currency: String,
    key: String,
}

fn simulated_only(state: &AppState, ctx: &Ctx) -> Result<(), PageError> {
    match *state.provider {
        crate::providers::PaymentProvider::Simulated(_) => Ok(()),
        _ => Err(ctx.fail(ApiError::NotFound("page"))),
    }
}

pub async fn donate_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    id: web::Path<String>,
) -> PageResult {
    let (ctx, _) = context(&state, &req, &session);
    simulated_only(&state, &ctx)?;
    let c = campaigns::get_campaign(&state, None, id.into_inner())
        .await
        .map_err(|e| ctx.fail(e))?;
    if c.status != CampaignStatus::Live {
        return Err(ctx.fail(ApiError::conflict(
            "campaign_not_live",
            ctx.t.get("donate-not-live"),
        )));
    }
    html(DonatePage {
        campaign_id: c.id,
        title: c.title,
        currency: c.currency,
        // The form's own idempotency key: a double click pays once.
        key: uuid::Uuid::new_v4().to_string(),
        ctx,
    })
}

#[derive(Deserialize)]
pub struct DonateForm {
    pub csrf_token: String,
    pub key: String,
    pub amount: String,
    pub name: String,
    pub email: String,
    pub tax_code: Option<String>,
    pub anonymous: Option<String>,
}

pub async fn donate(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    id: web::Path<String>,
    form: web::Form<DonateForm>,
) -> PageResult {
    let (ctx, _) = context(&state, &req, &session);
    simulated_only(&state, &ctx)?;
    let form = form.into_inner();
    check_csrf(&ctx, &form.csrf_token)?;
    if uuid::Uuid::parse_str(&form.key).is_err() {
        return Err(ctx.fail(ApiError::bad_request("malformed form")));
    }
    let campaign_id = id.into_inner();
    let partner_id = state
        .db
        .run(|conn| -> Result<String, ApiError> {
            Ok(crate::app::pledges::reference_checkout_partner(conn)?)
        })
        .await
        .map_err(|e| ctx.fail(e))?;
    let body = crate::http::controllers::pledges::CreatePledge {
        amount: form.amount.trim().to_string(),
        currency: None,
        donor: crate::http::controllers::pledges::DonorInput {
            name: form.name,
            email: form.email,
            anonymous: form.anonymous.is_some(),
            locale: Some(ctx.lang.to_string()),
            contact_consent: false,
            tax_code: form.tax_code.filter(|t| !t.trim().is_empty()),
        },
        message: None,
    };
    // The partner path, as a partner frontend takes it: create the pledge, then pay at the
    // (simulated) provider, whose signed webhook moves the money.
    let created = crate::http::controllers::pledges::create_pledge(
        &state,
        partner_id.clone(),
        form.key,
        campaign_id.clone(),
        body,
    )
    .await
    .map_err(|e| ctx.fail(e))?;
    let json = match created {
        crate::app::pledges::Created::New(b) | crate::app::pledges::Created::Replayed(b) => b,
    };
    let payment_id = serde_json::from_str::<serde_json::Value>(&json)
        .ok()
        .and_then(|v| {
            v["payment"]["provider_payment_id"]
                .as_str()
                .map(str::to_string)
        })
        .ok_or_else(|| ctx.fail(ApiError::Internal("pledge without a payment".into())))?;
    let partner = Principal {
        sub: partner_id.clone(),
        role: Role::Partner,
        association_id: None,
        partner_id: Some(partner_id),
    };
    // A replayed form finds its payment already paid: that is the same donation, done.
    match crate::http::controllers::pledges::simulate_payment(
        &state,
        &partner,
        payment_id,
        crate::providers::simulated::SimOutcome::Succeed,
    )
    .await
    {
        Ok(_) | Err(ApiError::Conflict { .. }) => {}
        Err(e) => return Err(ctx.fail(e)),
    }
    Ok(redirect(&format!("/campaigns/{campaign_id}?thanks=1")))
}

#[derive(Deserialize)]
pub struct BatchForm {
    pub csrf_token: String,
    pub fund_id: String,
    pub funder_id: String,
}

/// A draft batch of one funder's committed matches, from the finance console.
pub async fn create_batch(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    form: web::Form<BatchForm>,
) -> PageResult {
    let (ctx, principal) = signed_in(&state, &req, &session)?;
    let form = form.into_inner();
    check_csrf(&ctx, &form.csrf_token)?;
    crate::http::controllers::settlements::create_settlement(
        &state,
        principal,
        crate::http::controllers::settlements::CreateSettlement {
            fund_id: form.fund_id,
            funder_id: Some(form.funder_id),
            commitment_ids: None,
        },
    )
    .await
    .map_err(|e| ctx.fail(e))?;
    Ok(redirect("/console?done=batch"))
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    pub csrf_token: String,
    pub bank_reference: String,
    pub paid_on: String,
}

/// Marks a batch paid, from the finance console.
pub async fn confirm_batch(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    id: web::Path<String>,
    form: web::Form<ConfirmForm>,
) -> PageResult {
    let (ctx, principal) = signed_in(&state, &req, &session)?;
    let form = form.into_inner();
    check_csrf(&ctx, &form.csrf_token)?;
    let paid_at = chrono::NaiveDate::parse_from_str(form.paid_on.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| ctx.fail(ApiError::validation("paid_at", "a date such as 2026-12-01")))?;
    crate::http::controllers::settlements::confirm_settlement(
        &state,
        principal,
        id.into_inner(),
        crate::http::controllers::settlements::ConfirmSettlement {
            bank_reference: form.bank_reference,
            paid_at,
        },
    )
    .await
    .map_err(|e| ctx.fail(e))?;
    Ok(redirect("/console?done=paid"))
}

#[derive(Deserialize)]
pub struct AssociationForm {
    pub csrf_token: String,
    pub name: String,
    pub tax_code: String,
    pub iban: String,
    pub bic: Option<String>,
    pub email: String,
    pub runts_id: Option<String>,
}

fn filled(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty())
}

pub async fn admin_association(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    form: web::Form<AssociationForm>,
) -> PageResult {
    let (ctx, principal) = signed_in(&state, &req, &session)?;
    let f = form.into_inner();
    check_csrf(&ctx, &f.csrf_token)?;
    crate::http::controllers::associations::create_association(
        &state,
        principal,
        crate::http::controllers::associations::CreateAssociation {
            name: f.name,
            tax_code: f.tax_code,
            iban: f.iban,
            bic: filled(f.bic),
            email: f.email,
            runts_id: filled(f.runts_id),
        },
    )
    .await
    .map_err(|e| ctx.fail(e))?;
    Ok(redirect("/console?done=association"))
}

#[derive(Deserialize)]
pub struct UserForm {
    pub csrf_token: String,
    pub username: String,
    pub password: String,
    pub role: String,
    pub email: Option<String>,
}

pub async fn admin_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    form: web::Form<UserForm>,
) -> PageResult {
    let (ctx, principal) = signed_in(&state, &req, &session)?;
    let f = form.into_inner();
    check_csrf(&ctx, &f.csrf_token)?;
    let role = Role::parse(&f.role)
        .ok_or_else(|| ctx.fail(ApiError::validation("role", "admin, reviewer or finance")))?;
    crate::http::controllers::users::create_user(
        &state,
        principal,
        crate::http::controllers::users::CreateUser {
            username: f.username,
            password: f.password,
            role,
            email: filled(f.email),
        },
    )
    .await
    .map_err(|e| ctx.fail(e))?;
    Ok(redirect("/console?done=user"))
}

#[derive(Deserialize)]
pub struct PartnerForm {
    pub csrf_token: String,
    pub name: String,
    pub webhook_url: Option<String>,
}

#[derive(Template)]
#[template(path = "secrets.html")]
struct SecretsPage {
    ctx: Ctx,
    name: String,
    client_id: String,
    client_secret: String,
    webhook_secret: String,
}

pub async fn admin_partner(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    form: web::Form<PartnerForm>,
) -> PageResult {
    let (ctx, principal) = signed_in(&state, &req, &session)?;
    let f = form.into_inner();
    check_csrf(&ctx, &f.csrf_token)?;
    let created = crate::http::controllers::partners::create_partner(
        &state,
        principal,
        crate::http::controllers::partners::CreatePartner {
            name: f.name,
            webhook_url: filled(f.webhook_url),
        },
    )
    .await
    .map_err(|e| ctx.fail(e))?;
    // Shown once, never stored in the clear: the page is not cached.
    html(SecretsPage {
        ctx,
        name: created.name,
        client_id: created.client_id,
        client_secret: created.client_secret,
        webhook_secret: created.webhook_secret,
    })
}

#[derive(Deserialize)]
pub struct AreasForm {
    pub csrf_token: String,
    pub geojson: String,
}

pub async fn admin_areas(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    form: web::Form<AreasForm>,
) -> PageResult {
    let (ctx, principal) = signed_in(&state, &req, &session)?;
    let f = form.into_inner();
    check_csrf(&ctx, &f.csrf_token)?;
    let body: crate::http::controllers::areas::FeatureCollectionBody =
        serde_json::from_str(&f.geojson).map_err(|e| {
            ctx.fail(ApiError::validation(
                "geojson",
                format!("not a GeoJSON FeatureCollection: {e}"),
            ))
        })?;
    crate::http::controllers::areas::import_areas(&state, principal, body)
        .await
        .map_err(|e| ctx.fail(e))?;
    Ok(redirect("/console?done=areas"))
}

#[derive(Template)]
#[template(path = "edit.html")]
struct EditPage {
    ctx: Ctx,
    id: String,
    title: String,
    summary: String,
    goal: String,
    lat: String,
    lon: String,
    starts_at: String,
    ends_at: String,
}

/// The edit form of a draft or rejected campaign (its association only: the same check as the
/// API's, which refuses anyone else and any other state).
pub async fn edit_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    id: web::Path<String>,
) -> PageResult {
    let (ctx, principal) = signed_in(&state, &req, &session)?;
    let c = campaigns::get_campaign(&state, Some(principal.clone()), id.into_inner())
        .await
        .map_err(|e| ctx.fail(e))?;
    if principal.role != Role::Association || !principal.is_member_of(&c.association_id) {
        return Err(ctx.fail(ApiError::Forbidden(
            "only the association edits its campaign",
        )));
    }
    if !matches!(c.status, CampaignStatus::Draft | CampaignStatus::Rejected) {
        return Err(ctx.fail(ApiError::conflict(
            "not_editable",
            "only draft and rejected campaigns can be edited",
        )));
    }
    html(EditPage {
        id: c.id,
        title: c.title,
        summary: c.summary,
        goal: c.goal,
        lat: c.location.lat.to_string(),
        lon: c.location.lon.to_string(),
        starts_at: c.starts_at.format("%Y-%m-%dT%H:%M").to_string(),
        ends_at: c.ends_at.format("%Y-%m-%dT%H:%M").to_string(),
        ctx,
    })
}

#[derive(Deserialize)]
pub struct EditForm {
    pub csrf_token: String,
    pub title: String,
    pub summary: String,
    pub goal: String,
    pub lat: String,
    pub lon: String,
    pub starts_at: String,
    pub ends_at: String,
}

pub async fn edit(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    id: web::Path<String>,
    form: web::Form<EditForm>,
) -> PageResult {
    let (ctx, principal) = signed_in(&state, &req, &session)?;
    let f = form.into_inner();
    check_csrf(&ctx, &f.csrf_token)?;
    let num = |field: &str, v: &str| -> Result<f64, ApiError> {
        v.trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| ApiError::validation(field, "a number"))
    };
    let body = crate::http::controllers::campaigns::UpdateCampaign {
        title: Some(f.title),
        summary: Some(f.summary),
        goal: Some(f.goal),
        location: Some(Location {
            lat: num("location.lat", &f.lat).map_err(|e| ctx.fail(e))?,
            lon: num("location.lon", &f.lon).map_err(|e| ctx.fail(e))?,
        }),
        starts_at: Some(local_time("starts_at", &f.starts_at).map_err(|e| ctx.fail(e))?),
        ends_at: Some(local_time("ends_at", &f.ends_at).map_err(|e| ctx.fail(e))?),
    };
    campaigns::update_campaign(&state, principal, id.into_inner(), body)
        .await
        .map_err(|e| ctx.fail(e))?;
    Ok(redirect("/console?done=edited"))
}

/// Opens a fund from the admin console. The form is url-encoded with one `area` per eligible
/// area, so it is read with `form_urlencoded` (repeated keys) into the API's `CreateFund`.
pub async fn admin_fund(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    body: web::Bytes,
) -> PageResult {
    let (ctx, principal) = signed_in(&state, &req, &session)?;
    let mut fields = serde_json::Map::new();
    let mut areas = Vec::new();
    let mut csrf = String::new();
    for (key, value) in form_urlencoded::parse(&body) {
        let value = value.trim().to_string();
        match key.as_ref() {
            "csrf_token" => csrf = value,
            "area" => areas.push(serde_json::Value::String(value)),
            "opens_at" | "closes_at" => {
                let at = local_time(&key, &value).map_err(|e| ctx.fail(e))?;
                fields.insert(key.to_string(), serde_json::json!(at));
            }
            "name"
            | "budget"
            | "threshold_ratio"
            | "match_ratio"
            | "max_match_per_campaign"
            | "cup"
            | "legal_basis"
            | "office"
            | "responsible_official"
            | "selection_method"
            | "siope_code"
                if !value.is_empty() =>
            {
                fields.insert(key.to_string(), serde_json::Value::String(value));
            }
            _ => {}
        }
    }
    check_csrf(&ctx, &csrf)?;
    fields.insert("eligible_area_ids".into(), serde_json::Value::Array(areas));
    let body: crate::http::controllers::funds::CreateFund =
        serde_json::from_value(serde_json::Value::Object(fields))
            .map_err(|e| ctx.fail(ApiError::validation("fund", e)))?;
    crate::http::controllers::funds::create_fund(&state, principal, body)
        .await
        .map_err(|e| ctx.fail(e))?;
    Ok(redirect("/console?done=fund"))
}

#[derive(Deserialize)]
pub struct FunderForm {
    pub csrf_token: String,
    pub fund_id: String,
    pub name: String,
    pub kind: String,
    pub tax_code: Option<String>,
    pub iban: Option<String>,
    pub budget: String,
}

pub async fn admin_funder(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    form: web::Form<FunderForm>,
) -> PageResult {
    let (ctx, principal) = signed_in(&state, &req, &session)?;
    let f = form.into_inner();
    check_csrf(&ctx, &f.csrf_token)?;
    let body: crate::http::controllers::funders::CreateFunder =
        serde_json::from_value(serde_json::json!({
            "name": f.name,
            "kind": f.kind,
            "tax_code": filled(f.tax_code),
            "iban": filled(f.iban),
            "budget": f.budget.trim(),
        }))
        .map_err(|e| ctx.fail(ApiError::validation("funder", e)))?;
    crate::http::controllers::funders::add_funder(&state, principal, f.fund_id, body)
        .await
        .map_err(|e| ctx.fail(e))?;
    Ok(redirect("/console?done=funder"))
}

#[derive(Deserialize)]
pub struct MemberForm {
    pub csrf_token: String,
    pub association_id: String,
    pub username: String,
    pub password: String,
    pub email: String,
}

pub async fn admin_member(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    form: web::Form<MemberForm>,
) -> PageResult {
    let (ctx, principal) = signed_in(&state, &req, &session)?;
    let f = form.into_inner();
    check_csrf(&ctx, &f.csrf_token)?;
    crate::http::controllers::associations::add_association_member(
        &state,
        principal,
        f.association_id,
        crate::http::controllers::associations::CreateMember {
            username: f.username,
            password: f.password,
            email: f.email,
        },
    )
    .await
    .map_err(|e| ctx.fail(e))?;
    Ok(redirect("/console?done=member"))
}

/// Disables a user or a partner from the admin console: their tokens and sessions stop at once.
pub async fn admin_disable(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    path: web::Path<(String, String)>,
    form: web::Form<CsrfOnly>,
) -> PageResult {
    let (ctx, principal) = signed_in(&state, &req, &session)?;
    check_csrf(&ctx, &form.csrf_token)?;
    let (kind, id) = path.into_inner();
    match kind.as_str() {
        "users" => {
            crate::http::controllers::users::disable_user(&state, principal, id)
                .await
                .map_err(|e| ctx.fail(e))?;
        }
        "partners" => {
            crate::http::controllers::partners::disable_partner(&state, principal, id)
                .await
                .map_err(|e| ctx.fail(e))?;
        }
        _ => return Err(ctx.fail(ApiError::NotFound("page"))),
    }
    Ok(redirect("/console?done=disabled"))
}
