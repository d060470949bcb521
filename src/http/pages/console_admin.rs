//! The admin's console sections: the associations and their members, the staff, the partners,
//! and the set-up of funds, funders and areas. Each list is filtered by text and paged.

use super::common::area_names;
use super::console_association::ListQuery;
use super::console_nav::{PAGE_SIZE, Pager, filter_text, matches_text, notice, paged, query_value};
use super::{Ctx, PageError, PageResult, context, html, redirect};
use crate::app::AppState;
use crate::app::console::{accounts, associations, fund_choices};
use crate::domain::role::Role;
use crate::http::error::ApiError;
use crate::http::extract::Principal;
use actix_session::Session;
use actix_web::{HttpRequest, web};
use askama::Template;

/// A user or partner in the admin's lists.
pub struct Account {
    pub id: String,
    pub name: String,
    pub detail: String,
    pub disabled: bool,
}

/// The admin, or the page that says why not (`None`: nobody is signed in).
fn admin(ctx: &Ctx, principal: Option<Principal>) -> Result<Option<Principal>, PageError> {
    match principal {
        None => Ok(None),
        Some(p) if p.role == Role::Admin => Ok(Some(p)),
        Some(_) => Err(ctx.fail(ApiError::Forbidden("the admin's registers"))),
    }
}

#[derive(Template)]
#[template(path = "console_associations.html")]
struct AssociationsPage {
    ctx: Ctx,
    notice: Option<String>,
    q: String,
    /// "name (tax code)"
    associations: Vec<String>,
    /// (id, name) of every association, for the members' form.
    association_choices: Vec<(String, String)>,
    pager: Pager,
}

/// `/console/admin`: the associations, the form that registers one and the one that adds a
/// member to one.
pub async fn associations_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    q: web::Query<ListQuery>,
) -> PageResult {
    let (ctx, principal) = context(&state, &req, &session);
    if admin(&ctx, principal)?.is_none() {
        return Ok(redirect("/login"));
    }
    let t = ctx.t;
    let q = q.into_inner();
    let text = filter_text(q.q);
    let all = associations(&state).await.map_err(|e| ctx.fail(e.into()))?;
    let lines = all
        .iter()
        .filter(|a| matches_text(&text, &[&a.name, &a.tax_code]))
        .map(|a| format!("{} ({})", a.name, a.tax_code))
        .collect();
    let (associations, pager) = paged(&t, lines, (q.page, PAGE_SIZE), |n| {
        format!("/console/admin?q={}&page={n}", query_value(&text))
    });
    html(AssociationsPage {
        notice: notice(&t, q.done),
        q: text,
        associations,
        association_choices: all.into_iter().map(|a| (a.id, a.name)).collect(),
        pager,
        ctx,
    })
}

#[derive(Template)]
#[template(path = "console_staff.html")]
struct StaffPage {
    ctx: Ctx,
    notice: Option<String>,
    q: String,
    users: Vec<Account>,
    pager: Pager,
}

/// `/console/admin/users`: the staff, the form that adds one and the buttons that disable one.
pub async fn staff_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    q: web::Query<ListQuery>,
) -> PageResult {
    let (ctx, principal) = context(&state, &req, &session);
    if admin(&ctx, principal)?.is_none() {
        return Ok(redirect("/login"));
    }
    let t = ctx.t;
    let q = q.into_inner();
    let text = filter_text(q.q);
    let (users, _) = accounts(&state).await.map_err(|e| ctx.fail(e.into()))?;
    let lines = users
        .into_iter()
        .map(|u| Account {
            detail: t.get(&format!("role-{}", u.role.as_str())),
            id: u.id,
            name: u.username,
            disabled: u.disabled,
        })
        .filter(|u| matches_text(&text, &[&u.name, &u.detail]))
        .collect();
    let (users, pager) = paged(&t, lines, (q.page, PAGE_SIZE), |n| {
        format!("/console/admin/users?q={}&page={n}", query_value(&text))
    });
    html(StaffPage {
        notice: notice(&t, q.done),
        q: text,
        users,
        pager,
        ctx,
    })
}

#[derive(Template)]
#[template(path = "console_partners.html")]
struct PartnersPage {
    ctx: Ctx,
    notice: Option<String>,
    q: String,
    partners: Vec<Account>,
    pager: Pager,
}

/// `/console/admin/partners`: the partner platforms and the form that adds one.
pub async fn partners_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    q: web::Query<ListQuery>,
) -> PageResult {
    let (ctx, principal) = context(&state, &req, &session);
    if admin(&ctx, principal)?.is_none() {
        return Ok(redirect("/login"));
    }
    let t = ctx.t;
    let q = q.into_inner();
    let text = filter_text(q.q);
    let (_, partners) = accounts(&state).await.map_err(|e| ctx.fail(e.into()))?;
    let lines = partners
        .into_iter()
        .map(|p| Account {
            id: p.id,
            name: p.name,
            detail: p.client_id,
            disabled: p.disabled,
        })
        .filter(|p| matches_text(&text, &[&p.name, &p.detail]))
        .collect();
    let (partners, pager) = paged(&t, lines, (q.page, PAGE_SIZE), |n| {
        format!("/console/admin/partners?q={}&page={n}", query_value(&text))
    });
    html(PartnersPage {
        notice: notice(&t, q.done),
        q: text,
        partners,
        pager,
        ctx,
    })
}

#[derive(Template)]
#[template(path = "console_setup.html")]
struct SetupPage {
    ctx: Ctx,
    notice: Option<String>,
    /// (id, name) of every area a fund may cover.
    area_choices: Vec<(String, String)>,
    /// (id, name)
    funds: Vec<(String, String)>,
    default_start: String,
    default_end: String,
}

/// `/console/admin/funds`: the forms that open a fund, add a funder and import areas.
pub async fn setup_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    q: web::Query<ListQuery>,
) -> PageResult {
    let (ctx, principal) = context(&state, &req, &session);
    if admin(&ctx, principal)?.is_none() {
        return Ok(redirect("/login"));
    }
    let t = ctx.t;
    let area_choices = area_names(&state)
        .await
        .map_err(|e| ctx.fail(e))?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let funds = fund_choices(&state)
        .await
        .map_err(|e| ctx.fail(e.into()))?
        .into_iter()
        .map(|f| (f.id, f.name))
        .collect();
    let now = crate::clock::now();
    html(SetupPage {
        notice: notice(&t, q.into_inner().done),
        area_choices,
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
