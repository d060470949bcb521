//! Bank transfers in the console: an association imports its camt.053 statements and reads the
//! credits booked from them; finance assigns the credits nothing matched to a pledge. The same
//! use cases as the API (`app::bank_transfers`); the statement is read by the API's multipart
//! reader, its CSRF part first.

use super::common::filled;
use super::{Ctx, PageError, PageResult, check_csrf, html, redirect, signed_form, signed_in};
use crate::app::AppState;
use crate::app::bank_transfers as uc;
use crate::app::console::associations;
use crate::auth::Principal;
use crate::domain::bank_entry::BankEntryStatus;
use crate::domain::role::Role;
use crate::http::controllers::bank_transfers::{bank_error, entry_view};
use crate::http::controllers::grant_reports::read_upload;
use crate::http::error::ApiError;
use actix_session::Session;
use actix_web::{HttpRequest, web};
use askama::Template;
use serde::Deserialize;

/// Credits shown per page.
const PER_PAGE: i64 = 50;

pub struct EntryLine {
    pub id: String,
    pub date: String,
    pub amount: String,
    pub reference: String,
    pub debtor: String,
    pub status: String,
    pub note: String,
}

/// A page of credits and the cursor of the next, if any.
async fn read_entries(
    state: &AppState,
    p: &Principal,
    ctx: &Ctx,
    association_id: String,
    status: Option<BankEntryStatus>,
    cursor: Option<String>,
) -> Result<(Vec<EntryLine>, Option<String>), PageError> {
    let mut rows = uc::entries(state, p, association_id, status, cursor, PER_PAGE + 1)
        .await
        .map_err(|e| ctx.fail(bank_error(e)))?;
    let more = rows.len() as i64 > PER_PAGE;
    rows.truncate(PER_PAGE as usize);
    let next = if more {
        rows.last().map(|r| r.id.clone())
    } else {
        None
    };
    let lines = rows
        .into_iter()
        .map(entry_view)
        .map(|e| EntryLine {
            date: ctx.t.date(e.booking_date),
            amount: ctx.t.amount(&e.amount, &e.currency),
            reference: e.reference.unwrap_or_default(),
            debtor: [e.debtor_name, e.debtor_account]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" · "),
            status: ctx.t.get(&format!("bank-status-{}", e.status)),
            note: e.note.unwrap_or_default(),
            id: e.id,
        })
        .collect();
    Ok((lines, next))
}

fn query(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// The association whose credits the signed-in member reads: its own, only.
fn own_association(ctx: &Ctx, p: &Principal) -> Result<String, PageError> {
    match (&p.role, &p.association_id) {
        (Role::Association, Some(a)) => Ok(a.clone()),
        _ => Err(ctx.fail(ApiError::Forbidden(
            "only an association's members import its statements",
        ))),
    }
}

/// The filter, the page, and what the last import did (as its redirect says).
#[derive(Deserialize)]
pub struct TransfersQuery {
    pub status: Option<String>,
    pub cursor: Option<String>,
    pub booked: Option<usize>,
    pub already_booked: Option<usize>,
    pub matched: Option<usize>,
    pub flagged: Option<usize>,
    pub unmatched: Option<usize>,
}

/// A choice of the status filter: (value, label, selected).
type StatusChoice = (String, String, bool);

#[derive(Template)]
#[template(path = "bank_transfers.html")]
struct TransfersPage {
    ctx: Ctx,
    report: Option<String>,
    statuses: Vec<StatusChoice>,
    filtered: bool,
    entries: Vec<EntryLine>,
    more: Option<String>,
}

fn parse_status(ctx: &Ctx, s: Option<String>) -> Result<Option<BankEntryStatus>, PageError> {
    match filled(s) {
        None => Ok(None),
        Some(s) => BankEntryStatus::parse(s.trim()).map(Some).ok_or_else(|| {
            ctx.fail(ApiError::validation(
                "status",
                "matched, flagged, unmatched or assigned",
            ))
        }),
    }
}

/// The association's page: the statement upload and its booked credits, newest first.
pub async fn transfers(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    q: web::Query<TransfersQuery>,
) -> PageResult {
    let (ctx, p) = signed_in(&state, &req, &session)?;
    let association = own_association(&ctx, &p)?;
    let q = q.into_inner();
    let status = parse_status(&ctx, q.status)?;
    let (entries, next) =
        read_entries(&state, &p, &ctx, association, status, filled(q.cursor)).await?;
    let t = &ctx.t;
    let n = |v: Option<usize>| v.unwrap_or(0).to_string();
    let report = q.booked.map(|booked| {
        t.args(
            "bank-imported",
            &[
                ("booked", &booked.to_string()),
                ("already", &n(q.already_booked)),
                ("matched", &n(q.matched)),
                ("flagged", &n(q.flagged)),
                ("unmatched", &n(q.unmatched)),
            ],
        )
    });
    let more = next.map(|c| {
        let s = status.map(|s| s.as_str()).unwrap_or("");
        format!(
            "/console/bank-transfers?{}",
            query(&[("status", s), ("cursor", &c)])
        )
    });
    html(TransfersPage {
        report,
        statuses: BankEntryStatus::ALL
            .iter()
            .map(|s| {
                (
                    s.as_str().to_string(),
                    t.get(&format!("bank-status-{}", s.as_str())),
                    status == Some(*s),
                )
            })
            .collect(),
        filtered: status.is_some(),
        entries,
        more,
        ctx,
    })
}

/// The association imports a statement (`multipart/form-data`: `csrf_token` first, then
/// `file`). The role is checked before the body is read, the token before the file is.
pub async fn import(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    payload: web::Payload,
) -> PageResult {
    let (ctx, p) = signed_in(&state, &req, &session)?;
    let association = own_association(&ctx, &p)?;
    let csrf = |token: &str| {
        check_csrf(&ctx, token).map_err(|_| {
            ApiError::Forbidden(
                "the form expired or did not come from this site: reload the page and try again",
            )
        })
    };
    let (_, xml) = read_upload(&req, payload, Some(&csrf))
        .await
        .map_err(|e| ctx.fail(e))?;
    let r = uc::import_statement(&state, &p, association, xml)
        .await
        .map_err(|e| ctx.fail(bank_error(e)))?;
    let n = |v: usize| v.to_string();
    Ok(redirect(&format!(
        "/console/bank-transfers?{}",
        query(&[
            ("booked", &n(r.booked)),
            ("already_booked", &n(r.already_booked)),
            ("matched", &n(r.matched)),
            ("flagged", &n(r.flagged)),
            ("unmatched", &n(r.unmatched)),
        ])
    )))
}

#[derive(Deserialize)]
pub struct EntriesQuery {
    pub association_id: Option<String>,
    pub cursor: Option<String>,
    pub done: Option<String>,
}

#[derive(Template)]
#[template(path = "bank_entries.html")]
struct EntriesPage {
    ctx: Ctx,
    notice: Option<String>,
    /// (id, name, selected)
    associations: Vec<(String, String, bool)>,
    chosen: bool,
    can_assign: bool,
    entries: Vec<EntryLine>,
    more: Option<String>,
}

/// Finance's page: an association's unmatched credits, each with a form to assign it.
pub async fn entries(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    q: web::Query<EntriesQuery>,
) -> PageResult {
    let (ctx, p) = signed_in(&state, &req, &session)?;
    if !matches!(p.role, Role::Finance | Role::Admin) {
        return Err(ctx.fail(ApiError::Forbidden(
            "only the finance office assigns bank credits",
        )));
    }
    let q = q.into_inner();
    let chosen = filled(q.association_id);
    let all = associations(&state).await.map_err(|e| ctx.fail(e.into()))?;
    let (entries, next) = match &chosen {
        Some(a) => {
            let unmatched = Some(BankEntryStatus::Unmatched);
            read_entries(&state, &p, &ctx, a.clone(), unmatched, filled(q.cursor)).await?
        }
        None => (Vec::new(), None),
    };
    let association_id = chosen.unwrap_or_default();
    let more = next.map(|c| {
        format!(
            "/console/bank-entries?{}",
            query(&[("association_id", &association_id), ("cursor", &c)])
        )
    });
    html(EntriesPage {
        notice: q
            .done
            .filter(|d| d == "assigned")
            .map(|_| ctx.t.get("bank-done-assigned")),
        associations: all
            .into_iter()
            .map(|a| {
                let selected = a.id == association_id;
                (a.id, a.name, selected)
            })
            .collect(),
        chosen: !association_id.is_empty(),
        can_assign: p.role == Role::Finance,
        entries,
        more,
        ctx,
    })
}

#[derive(Deserialize)]
pub struct AssignForm {
    pub csrf_token: String,
    pub pledge_id: String,
}

/// Finance assigns an unmatched credit to a waiting bank-transfer pledge; a refusal is shown
/// as the app says it.
pub async fn assign(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    id: web::Path<String>,
    form: web::Form<AssignForm>,
) -> PageResult {
    let f = form.into_inner();
    let (ctx, p) = signed_form(&state, &req, &session, &f.csrf_token)?;
    let pledge = f.pledge_id.trim().to_string();
    if pledge.is_empty() || pledge.len() > 64 {
        return Err(ctx.fail(ApiError::validation("pledge_id", "a pledge id (plg_…)")));
    }
    let entry = uc::assign(&state, &p, id.into_inner(), pledge)
        .await
        .map_err(|e| ctx.fail(bank_error(e)))?;
    Ok(redirect(&format!(
        "/console/bank-entries?{}",
        query(&[
            ("association_id", &entry.association_id),
            ("done", "assigned")
        ])
    )))
}
