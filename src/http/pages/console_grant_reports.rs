//! A grant's report in the console: the owning association uploads its documents, adds
//! expense lines citing them and submits the final report; reviewers and finance accept or
//! reject each submitted line. The same use cases as the API (`app::grant_reports`); the upload
//! is read by the API's own multipart reader. Every form carries the session's CSRF token: the
//! upload's is its first part, checked before a byte of the file is read.

use super::common::filled;
use super::i18n::Tr;
use super::{PageResult, check_csrf, redirect, signed_form, signed_in};
use crate::app::AppState;
use crate::app::grant_reports::{self as app, NewExpense, Verdict};
use crate::domain::document::content_disposition;
use crate::domain::grant::{ExpenseStatus, GrantStatus, PaymentMethod};
use crate::domain::role::Role;
use crate::http::controllers::grant_reports::{read_upload, to_api};
use crate::http::error::ApiError;
use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

/// The most documents and expense lines the page lists.
const LISTED: i64 = 200;

pub struct DocLine {
    pub id: String,
    pub filename: String,
    pub media_type: String,
    pub size: String,
}

pub struct ExpenseLine {
    pub id: String,
    pub category: String,
    pub supplier: String,
    pub supplier_tax_code: String,
    pub document_number: String,
    pub document_date: String,
    pub amount: String,
    pub paid_on: String,
    pub method: String,
    pub status: String,
    pub reason: String,
    /// The files it cites, by name.
    pub documents: String,
    /// Whether the reader may accept or reject it now.
    pub checkable: bool,
}

/// The report's part of the grant page.
pub struct ReportSection {
    pub documents: Vec<DocLine>,
    pub expenses: Vec<ExpenseLine>,
    /// The association may upload, add lines and submit.
    pub can_report: bool,
    /// A reviewer or finance may check the submitted lines.
    pub can_check: bool,
    /// (value, label) of the payment methods.
    pub methods: Vec<(String, String)>,
    pub summary: Option<String>,
}

fn size(bytes: i64) -> String {
    if bytes >= 1024 * 1024 {
        format!(
            "{}.{} MB",
            bytes / (1024 * 1024),
            (bytes % (1024 * 1024)) * 10 / (1024 * 1024)
        )
    } else if bytes >= 1024 {
        format!("{} KB", (bytes + 1023) / 1024)
    } else {
        format!("{bytes} B")
    }
}

const METHODS: [PaymentMethod; 5] = [
    PaymentMethod::BankTransfer,
    PaymentMethod::Card,
    PaymentMethod::Cash,
    PaymentMethod::Cheque,
    PaymentMethod::Other,
];

/// The documents and expense lines of a grant its reader may see, and which forms apply.
pub(super) async fn section(
    state: &AppState,
    principal: &crate::auth::Principal,
    t: &Tr,
    grant_id: &str,
    status: GrantStatus,
    summary: Option<String>,
) -> Result<ReportSection, ApiError> {
    let docs = app::documents(state, principal, grant_id, String::new(), LISTED)
        .await
        .map_err(to_api)?;
    let rows = app::expenses(state, principal, grant_id, String::new(), LISTED)
        .await
        .map_err(to_api)?;
    let can_report = principal.role == Role::Association && status.takes_reports();
    let can_check =
        matches!(principal.role, Role::Reviewer | Role::Finance) && status.takes_checks();
    let name_of = |id: &str| {
        docs.iter()
            .find(|d| d.id == id)
            .map(|d| d.filename.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let expenses = rows
        .into_iter()
        .take(LISTED as usize)
        .map(|e| {
            let r = &e.row;
            ExpenseLine {
                category: r.category.clone(),
                supplier: r.supplier.clone(),
                supplier_tax_code: r.supplier_tax_code.clone().unwrap_or_default(),
                document_number: r.document_number.clone(),
                document_date: t.date(r.document_date),
                amount: t.money(r.amount, &e.currency),
                paid_on: t.date(r.paid_at),
                method: t.get(&format!("payment-method-{}", r.payment_method.as_str())),
                status: t.get(&format!("expense-status-{}", r.status.as_str())),
                reason: r.reason.clone().unwrap_or_default(),
                documents: e
                    .document_ids
                    .iter()
                    .map(|d| name_of(d))
                    .collect::<Vec<_>>()
                    .join(", "),
                checkable: can_check && r.status == ExpenseStatus::Submitted,
                id: r.id.clone(),
            }
        })
        .collect();
    Ok(ReportSection {
        documents: docs
            .into_iter()
            .take(LISTED as usize)
            .map(|d| DocLine {
                size: size(d.size),
                id: d.id,
                filename: d.filename,
                media_type: d.media_type,
            })
            .collect(),
        expenses,
        can_report,
        can_check,
        methods: METHODS
            .iter()
            .map(|m| {
                (
                    m.as_str().to_string(),
                    t.get(&format!("payment-method-{}", m.as_str())),
                )
            })
            .collect(),
        summary,
    })
}

fn done(id: &str, what: &str) -> HttpResponse {
    redirect(&format!("/console/grants/{id}?done={what}"))
}

/// The association uploads a document (`multipart/form-data`: the `csrf_token` part first,
/// then `file`). The role and the grant's state are checked before the body is read, the
/// token before a byte of the file is.
pub async fn upload(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    id: web::Path<String>,
    payload: web::Payload,
) -> PageResult {
    let (ctx, p) = signed_in(&state, &req, &session)?;
    let id = id.into_inner();
    app::may_upload(&state, &p, &id)
        .await
        .map_err(|e| ctx.fail(to_api(e)))?;
    let csrf = |token: &str| {
        check_csrf(&ctx, token).map_err(|_| {
            ApiError::Forbidden(
                "the form expired or did not come from this site: reload the page and try again",
            )
        })
    };
    let (filename, bytes) = read_upload(&req, payload, Some(&csrf))
        .await
        .map_err(|e| ctx.fail(e))?;
    app::add_document(&state, p, id.clone(), filename, bytes)
        .await
        .map_err(|e| ctx.fail(to_api(e)))?;
    Ok(done(&id, "uploaded"))
}

/// A document, for whoever may read its grant: always an attachment, never sniffed or cached.
pub async fn download(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    id: web::Path<String>,
) -> PageResult {
    let (ctx, p) = signed_in(&state, &req, &session)?;
    let (meta, bytes) = app::document(&state, &p, &id.into_inner())
        .await
        .map_err(|e| ctx.fail(to_api(e)))?;
    Ok(HttpResponse::Ok()
        .content_type(meta.media_type.as_str())
        .insert_header(("Content-Disposition", content_disposition(&meta.filename)))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Cache-Control", "private, no-store"))
        .insert_header(("Content-Security-Policy", "default-src 'none'; sandbox"))
        .body(bytes))
}

/// The association adds an expense line. The form is read as pairs: `document_ids` repeats,
/// once per ticked document.
pub async fn add_expense(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    id: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> PageResult {
    let pairs = form.into_inner();
    let one = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let token = one("csrf_token").unwrap_or_default();
    let (ctx, p) = signed_form(&state, &req, &session, &token)?;
    let new = NewExpense {
        category: one("category").unwrap_or_default(),
        supplier: one("supplier").unwrap_or_default(),
        supplier_tax_code: filled(one("supplier_tax_code")),
        document_number: one("document_number").unwrap_or_default(),
        document_date: one("document_date").unwrap_or_default(),
        amount: one("amount").unwrap_or_default(),
        paid_at: one("paid_at").unwrap_or_default(),
        payment_method: one("payment_method").unwrap_or_default(),
        document_ids: pairs
            .iter()
            .filter(|(k, _)| k == "document_ids")
            .map(|(_, v)| v.clone())
            .collect(),
    };
    let id = id.into_inner();
    app::add_expense(&state, p, id.clone(), new)
        .await
        .map_err(|e| ctx.fail(to_api(e)))?;
    Ok(done(&id, "expense-added"))
}

#[derive(Deserialize)]
pub struct ReportForm {
    pub csrf_token: String,
    pub summary: String,
}

/// The association submits the final report.
pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    id: web::Path<String>,
    form: web::Form<ReportForm>,
) -> PageResult {
    let f = form.into_inner();
    let (ctx, p) = signed_form(&state, &req, &session, &f.csrf_token)?;
    let id = id.into_inner();
    app::submit_report(&state, p, id.clone(), f.summary)
        .await
        .map_err(|e| ctx.fail(to_api(e)))?;
    Ok(done(&id, "report-submitted"))
}

#[derive(Deserialize)]
pub struct CheckForm {
    pub csrf_token: String,
    pub reason: Option<String>,
}

/// A reviewer or finance accepts (`accept`) or rejects (`reject`, with a reason) a line.
pub async fn check(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    path: web::Path<(String, String)>,
    form: web::Form<CheckForm>,
) -> PageResult {
    let f = form.into_inner();
    let (ctx, p) = signed_form(&state, &req, &session, &f.csrf_token)?;
    let (expense, action) = path.into_inner();
    let verdict = match action.as_str() {
        "accept" => Verdict::Accept,
        "reject" => Verdict::Reject,
        _ => return Err(ctx.fail(ApiError::NotFound("page"))),
    };
    let e = app::check(&state, p, expense, verdict, f.reason)
        .await
        .map_err(|e| ctx.fail(to_api(e)))?;
    Ok(done(&e.row.grant_id, "checked"))
}
