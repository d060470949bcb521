//! Calls for proposals as pages: the public `/calls/{fund_id}` (call text, windows, criteria,
//! the published rankings) and the console's `/console/calls`, which shows each role its own
//! work: the admin sets the commission, publishes, scrolls and decides appeals; an evaluator
//! declares and scores only their assignments; an association follows its applications and
//! appeals. The same use cases as the API (`app::calls`).

use super::{PageResult, html, redirect, signed_form, signed_in};
use crate::app::AppState;
use crate::app::calls as uc;
use crate::domain::role::Role;
use crate::http::error::ApiError;
use actix_session::Session;
use actix_web::{HttpRequest, web};
use askama::Template;
use serde::Deserialize;
use std::collections::HashMap;

use super::Ctx;

pub struct WindowLine {
    pub number: u32,
    pub opens: String,
    pub closes: String,
}

pub struct RankLine {
    pub rank: u32,
    pub campaign_id: String,
    pub title: String,
    pub score: String,
    pub outcome: String,
    pub admitted: bool,
}

pub struct PublishedWindow {
    pub heading: String,
    pub lines: Vec<RankLine>,
    pub evaluators: String,
}

#[derive(Template)]
#[template(path = "call_public.html")]
struct PublicPage {
    ctx: Ctx,
    fund_id: String,
    fund_name: String,
    legal_basis: String,
    windows: Vec<WindowLine>,
    /// (code, label, max points)
    criteria: Vec<(String, String, u32)>,
    rules: String,
    rankings: Vec<PublishedWindow>,
}

fn day(ctx: &Ctx, at: chrono::NaiveDateTime) -> String {
    ctx.t.moment(at)
}

fn outcome_label(ctx: &Ctx, o: crate::domain::call::Outcome) -> String {
    ctx.t.get(&format!("call-outcome-{}", o.as_str()))
}

/// The public page of a fund's call.
pub async fn public(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    id: web::Path<String>,
) -> PageResult {
    let (ctx, _) = super::context(&state, &req, &session);
    let fund_id = id.into_inner();
    let d = uc::get_call(&state, fund_id.clone())
        .await
        .map_err(|e| ctx.fail(e.into()))?;
    let mut rankings = Vec::new();
    for w in 1..=d.call.windows.len() as i32 {
        match uc::ranking(&state, None, fund_id.clone(), Some(w), None).await {
            Ok(r) => rankings.push(PublishedWindow {
                heading: ctx.t.args(
                    "call-ranking-of",
                    &[
                        ("window", &r.window.to_string()),
                        ("version", &r.version.unwrap_or(0).to_string()),
                        (
                            "date",
                            &r.published_at.map(|at| day(&ctx, at)).unwrap_or_default(),
                        ),
                    ],
                ),
                evaluators: r.evaluators.join(", "),
                lines: r
                    .lines
                    .into_iter()
                    .map(|l| RankLine {
                        rank: l.rank,
                        admitted: l.outcome == crate::domain::call::Outcome::Admitted,
                        outcome: outcome_label(&ctx, l.outcome),
                        campaign_id: l.campaign_id,
                        title: l.title,
                        score: l.score,
                    })
                    .collect(),
            }),
            Err(uc::CallError::NotFound(_)) => {}
            Err(e) => return Err(ctx.fail(e.into())),
        }
    }
    html(PublicPage {
        fund_name: d.fund.name.clone(),
        legal_basis: d.fund.legal_basis.clone().unwrap_or_default(),
        windows: d
            .call
            .windows
            .iter()
            .enumerate()
            .map(|(i, w)| WindowLine {
                number: i as u32 + 1,
                opens: day(&ctx, w.opens_at),
                closes: day(&ctx, w.closes_at),
            })
            .collect(),
        criteria: d
            .call
            .criteria
            .iter()
            .map(|c| (c.code.clone(), c.label.clone(), c.max_points))
            .collect(),
        rules: ctx.t.args(
            "call-rules",
            &[
                ("pass", &d.call.pass_mark.to_string()),
                ("max", &d.call.max_total().to_string()),
                ("evaluators", &d.call.evaluators_per_application.to_string()),
            ],
        ),
        rankings,
        fund_id,
        ctx,
    })
}

pub struct AssignmentLine {
    pub campaign_id: String,
    pub title: String,
    pub window: i32,
    pub undeclared: bool,
    pub conflict: bool,
    pub can_score: bool,
    pub scored: bool,
    /// (code, label, max points)
    pub criteria: Vec<(String, String, u32)>,
}

pub struct AdminApplication {
    pub campaign_id: String,
    pub title: String,
    pub window: i32,
    pub frozen: bool,
    pub outcome: String,
    /// One line per evaluator: "name — declared no conflict, scored".
    pub commission: Vec<String>,
    /// (user id, username, assigned)
    pub reviewers: Vec<(String, String, bool)>,
}

pub struct AppealLine {
    pub id: String,
    pub campaign_id: String,
    pub text: String,
}

pub struct OwnLine {
    pub campaign_id: String,
    pub title: String,
    pub window: i32,
    pub outcome: String,
    pub appeal: String,
    pub can_appeal: bool,
}

#[derive(Template)]
#[template(path = "console_calls.html")]
struct ConsolePage {
    ctx: Ctx,
    notice: Option<String>,
    role: &'static str,
    assignments: Vec<AssignmentLine>,
    /// (fund id, name, selected)
    funds: Vec<(String, String, bool)>,
    fund: Option<String>,
    /// (number, publish label, advance label)
    windows: Vec<(i32, String, String)>,
    applications: Vec<AdminApplication>,
    appeals: Vec<AppealLine>,
    own: Vec<OwnLine>,
}

#[derive(Deserialize)]
pub struct ConsoleQuery {
    pub fund_id: Option<String>,
    pub done: Option<String>,
}

/// `/console/calls`: each role's work on calls for proposals.
pub async fn console(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    q: web::Query<ConsoleQuery>,
) -> PageResult {
    let (ctx, p) = signed_in(&state, &req, &session)?;
    let q = q.into_inner();
    let notice = q
        .done
        .as_deref()
        .filter(|d| d.len() < 40 && d.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        .map(|d| ctx.t.get(&format!("call-done-{d}")));
    let mut page = ConsolePage {
        notice,
        role: p.role.as_str(),
        assignments: Vec::new(),
        funds: Vec::new(),
        fund: None,
        windows: Vec::new(),
        applications: Vec::new(),
        appeals: Vec::new(),
        own: Vec::new(),
        ctx,
    };
    let fail = |ctx: &Ctx, e: uc::CallError| ctx.fail(e.into());
    match p.role {
        Role::Reviewer => {
            let list = uc::assignments(&state, p.clone())
                .await
                .map_err(|e| fail(&page.ctx, e))?;
            let mut calls: HashMap<String, Vec<(String, String, u32)>> = HashMap::new();
            for a in list {
                if !calls.contains_key(&a.fund_id) {
                    let d = uc::get_call(&state, a.fund_id.clone())
                        .await
                        .map_err(|e| fail(&page.ctx, e))?;
                    calls.insert(
                        a.fund_id.clone(),
                        d.call
                            .criteria
                            .iter()
                            .map(|c| (c.code.clone(), c.label.clone(), c.max_points))
                            .collect(),
                    );
                }
                page.assignments.push(AssignmentLine {
                    undeclared: a.conflict.is_none(),
                    conflict: a.conflict == Some(true),
                    can_score: a.conflict == Some(false) && !a.frozen,
                    scored: a.scored,
                    criteria: calls.get(&a.fund_id).cloned().unwrap_or_default(),
                    campaign_id: a.campaign_id,
                    title: a.title,
                    window: a.window,
                });
            }
        }
        Role::Admin => {
            let funds = uc::funds_with_calls(&state)
                .await
                .map_err(|e| fail(&page.ctx, e))?;
            let chosen = q
                .fund_id
                .filter(|f| funds.iter().any(|(id, _)| id == f))
                .or_else(|| funds.first().map(|(id, _)| id.clone()));
            page.funds = funds
                .into_iter()
                .map(|(id, name)| {
                    let sel = chosen.as_deref() == Some(id.as_str());
                    (id, name, sel)
                })
                .collect();
            if let Some(f) = chosen {
                let d = uc::get_call(&state, f.clone())
                    .await
                    .map_err(|e| fail(&page.ctx, e))?;
                page.windows = (1..=d.call.windows.len() as i32)
                    .map(|w| {
                        let n = w.to_string();
                        (
                            w,
                            page.ctx.t.args("call-publish", &[("window", &n)]),
                            page.ctx.t.args("call-advance", &[("window", &n)]),
                        )
                    })
                    .collect();
                let (apps, reviewers, appeals) = uc::overview(&state, p.clone(), f.clone())
                    .await
                    .map_err(|e| fail(&page.ctx, e))?;
                let t = &page.ctx.t;
                page.applications = apps
                    .into_iter()
                    .map(|a| AdminApplication {
                        commission: a
                            .evaluators
                            .iter()
                            .map(|e| {
                                let declared = match e.conflict {
                                    None => t.get("call-undeclared"),
                                    Some(true) => t.get("call-conflict"),
                                    Some(false) => t.get("call-no-conflict"),
                                };
                                let scored = if e.scored {
                                    t.get("call-scored")
                                } else {
                                    t.get("call-not-scored")
                                };
                                format!("{} — {declared}, {scored}", e.username)
                            })
                            .collect(),
                        reviewers: reviewers
                            .iter()
                            .map(|(id, name)| {
                                (
                                    id.clone(),
                                    name.clone(),
                                    a.evaluators.iter().any(|e| &e.user_id == id),
                                )
                            })
                            .collect(),
                        outcome: a
                            .outcome
                            .map(|o| outcome_label(&page.ctx, o))
                            .unwrap_or_default(),
                        campaign_id: a.campaign_id,
                        title: a.title,
                        window: a.window,
                        frozen: a.frozen,
                    })
                    .collect();
                page.appeals = appeals
                    .into_iter()
                    .map(|a| AppealLine {
                        id: a.id,
                        campaign_id: a.campaign_id,
                        text: a.text,
                    })
                    .collect();
                page.fund = Some(f);
            }
        }
        Role::Association => {
            let own = uc::applications_of_association(
                &state,
                p.association_id.clone().unwrap_or_default(),
            )
            .await
            .map_err(|e| fail(&page.ctx, e))?;
            let t = &page.ctx.t;
            page.own = own
                .into_iter()
                .map(|a| OwnLine {
                    can_appeal: a.published_at.is_some_and(|at| {
                        crate::clock::now()
                            <= at + chrono::Duration::days(crate::domain::call::APPEAL_DAYS)
                    }) && a.appeal != Some(crate::domain::call::AppealStatus::Pending),
                    outcome: a
                        .outcome
                        .map(|o| outcome_label(&page.ctx, o))
                        .unwrap_or_else(|| t.get("call-awaiting")),
                    appeal: a
                        .appeal
                        .map(|s| t.get(&format!("call-appeal-{}", s.as_str())))
                        .unwrap_or_default(),
                    campaign_id: a.campaign_id,
                    title: a.title,
                    window: a.window,
                })
                .collect();
        }
        _ => {
            return Err(page.ctx.fail(ApiError::Forbidden(
                "calls for proposals are for the city and the applicants",
            )));
        }
    }
    html(page)
}

#[derive(Deserialize)]
pub struct DeclareForm {
    pub csrf_token: String,
    pub conflict: String,
    #[serde(default)]
    pub note: String,
}

pub async fn declare(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    id: web::Path<String>,
    form: web::Form<DeclareForm>,
) -> PageResult {
    let f = form.into_inner();
    let (ctx, p) = signed_form(&state, &req, &session, &f.csrf_token)?;
    let note = Some(f.note).filter(|n| !n.trim().is_empty());
    uc::declare(&state, p, id.into_inner(), f.conflict == "yes", note)
        .await
        .map_err(|e| ctx.fail(e.into()))?;
    Ok(redirect("/console/calls?done=declared"))
}

/// The scoring form: `csrf_token`, then `points_<code>` and `comment_<code>` per criterion.
pub async fn score(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    id: web::Path<String>,
    form: web::Form<HashMap<String, String>>,
) -> PageResult {
    let f = form.into_inner();
    let token = f.get("csrf_token").cloned().unwrap_or_default();
    let (ctx, p) = signed_form(&state, &req, &session, &token)?;
    if f.len() > 50 {
        return Err(ctx.fail(ApiError::validation("scores", "too many fields")));
    }
    let mut scores: Vec<uc::ScoreInput> = f
        .iter()
        .filter_map(|(k, v)| {
            let code = k.strip_prefix("points_")?;
            Some(uc::ScoreInput {
                criterion: code.to_string(),
                points: v.trim().replace(',', "."),
                comment: f.get(&format!("comment_{code}")).cloned(),
            })
        })
        .collect();
    scores.sort_by(|a, b| a.criterion.cmp(&b.criterion));
    uc::put_scores(&state, p, id.into_inner(), scores)
        .await
        .map_err(|e| ctx.fail(e.into()))?;
    Ok(redirect("/console/calls?done=scored"))
}

/// The commission form: `csrf_token`, `fund_id` and one `user_id` per checked reviewer.
pub async fn evaluators(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    id: web::Path<String>,
    body: web::Bytes,
) -> PageResult {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(&body)
        .into_owned()
        .take(30)
        .collect();
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (ctx, p) = signed_form(&state, &req, &session, &get("csrf_token"))?;
    let users: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "user_id")
        .map(|(_, v)| v.clone())
        .collect();
    uc::set_evaluators(&state, p, id.into_inner(), users)
        .await
        .map_err(|e| ctx.fail(e.into()))?;
    Ok(redirect(&format!(
        "/console/calls?fund_id={}&done=assigned",
        urlencoding(&get("fund_id"))
    )))
}

fn urlencoding(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[derive(Deserialize)]
pub struct RankingForm {
    pub csrf_token: String,
    pub window: i32,
}

/// Publish (`publish`) or scroll (`advance`) a window's ranking.
pub async fn ranking_action(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    path: web::Path<(String, String)>,
    form: web::Form<RankingForm>,
) -> PageResult {
    let f = form.into_inner();
    let (ctx, p) = signed_form(&state, &req, &session, &f.csrf_token)?;
    let (fund, action) = path.into_inner();
    let result = match action.as_str() {
        "publish" => uc::publish(&state, p, fund.clone(), f.window).await,
        "advance" => uc::advance(&state, p, fund.clone(), f.window).await,
        _ => return Err(ctx.fail(ApiError::NotFound("action"))),
    };
    result.map_err(|e| ctx.fail(e.into()))?;
    Ok(redirect(&format!(
        "/console/calls?fund_id={}&done={}",
        urlencoding(&fund),
        if action == "publish" {
            "published"
        } else {
            "advanced"
        }
    )))
}

#[derive(Deserialize)]
pub struct AppealForm {
    pub csrf_token: String,
    pub text: String,
}

pub async fn appeal(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    id: web::Path<String>,
    form: web::Form<AppealForm>,
) -> PageResult {
    let f = form.into_inner();
    let (ctx, p) = signed_form(&state, &req, &session, &f.csrf_token)?;
    uc::appeal(&state, p, id.into_inner(), f.text)
        .await
        .map_err(|e| ctx.fail(e.into()))?;
    Ok(redirect("/console/calls?done=appealed"))
}

#[derive(Deserialize)]
pub struct DecideForm {
    pub csrf_token: String,
    pub outcome: String,
    pub reason: String,
    #[serde(default)]
    pub fund_id: String,
}

pub async fn decide(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    id: web::Path<String>,
    form: web::Form<DecideForm>,
) -> PageResult {
    let f = form.into_inner();
    let (ctx, p) = signed_form(&state, &req, &session, &f.csrf_token)?;
    let upheld = match f.outcome.as_str() {
        "upheld" => true,
        "dismissed" => false,
        _ => return Err(ctx.fail(ApiError::validation("outcome", "upheld or dismissed"))),
    };
    uc::decide_appeal(&state, p, id.into_inner(), upheld, f.reason)
        .await
        .map_err(|e| ctx.fail(e.into()))?;
    Ok(redirect(&format!(
        "/console/calls?fund_id={}&done=decided",
        urlencoding(&f.fund_id)
    )))
}
