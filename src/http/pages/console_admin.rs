//! The admin's console sections: the associations and their members, the staff, the partners,
//! and the set-up of funds, funders and areas. Each list is filtered by text and paged.

use super::common::area_names;
use super::console_association::ListQuery;
use super::console_nav::{Pager, allowed, filter_text, filtered_page, notice};
use super::{Ctx, PageError, PageResult, context, html, redirect};
use crate::app::AppState;
use crate::app::console::{accounts, associations, fund_choices};
use crate::domain::role::Role;
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

impl Account {
    /// What a filter searches: the name and the role or client id.
    fn words(&self) -> Vec<&str> {
        vec![&self.name, &self.detail]
    }
}

/// The admin, or the page that says why not (`None`: nobody is signed in).
fn admin(ctx: &Ctx, principal: Option<Principal>) -> Result<Option<Principal>, PageError> {
    allowed(ctx, principal, &[Role::Admin], "the admin's registers")
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
        .map(|a| format!("{} ({})", a.name, a.tax_code))
        .collect();
    let (associations, pager) = filtered_page(
        &t,
        lines,
        (&text, |line| vec![line.as_str()]),
        q.page,
        "/console/admin",
    );
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
        .collect();
    let (users, pager) = filtered_page(
        &t,
        lines,
        (&text, Account::words),
        q.page,
        "/console/admin/users",
    );
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
        .collect();
    let (partners, pager) = filtered_page(
        &t,
        lines,
        (&text, Account::words),
        q.page,
        "/console/admin/partners",
    );
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
