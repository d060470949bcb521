//! A grant's report over HTTP: the association's documents (multipart upload, attachment
//! download), expense lines and final report; reviewers' and finance's checks of each line.

use crate::app::AppState;
use crate::app::grant_reports::{self as app, Expense, NewExpense, ReportError, Verdict};
use crate::db::models::{GrantDocumentMeta, GrantRow};
use crate::domain::document::{MAX_DOCUMENT_BYTES, content_disposition};
use crate::domain::grant::{ExpenseStatus, GrantStatus, PaymentMethod};
use crate::http::error::{ApiError, ApiResult, FieldError};
use crate::http::extract::{ApiJson, OptionalJson, Page, PageParams, Principal, check_limit};
use crate::http::views::{money, ts};
use actix_multipart::{Multipart, MultipartError};
use actix_web::error::PayloadError;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use std::cell::Cell;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;
use utoipa::ToSchema;

/// The answer to a report request that was refused (the console's pages use it too).
pub(crate) fn to_api(e: ReportError) -> ApiError {
    match e {
        ReportError::NotFound(what) => ApiError::NotFound(what),
        ReportError::Forbidden => ApiError::Forbidden("your role may not do this"),
        ReportError::Invalid(errors) => ApiError::Validation(
            errors
                .into_iter()
                .map(|i| FieldError::new(i.field, i.message))
                .collect(),
        ),
        ReportError::Conflict(code, detail) => ApiError::conflict(code, detail),
        e @ ReportError::Books(_) => ApiError::Internal(e.to_string()),
        ReportError::Db(e) => e.into(),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentView {
    /// `doc_…`
    pub id: String,
    pub grant_id: String,
    /// The name as uploaded, made safe (no path, no control characters, ≤ 200 characters).
    pub filename: String,
    /// What the bytes are, recognised from the content (never the client's declared type).
    #[schema(example = "application/pdf")]
    pub media_type: String,
    /// Bytes.
    pub size: i64,
    /// SHA-256 of the bytes, lowercase hex.
    pub sha256: String,
    pub created_at: DateTime<Utc>,
}

impl From<GrantDocumentMeta> for DocumentView {
    fn from(d: GrantDocumentMeta) -> DocumentView {
        DocumentView {
            id: d.id,
            grant_id: d.grant_id,
            filename: d.filename,
            media_type: d.media_type,
            size: d.size,
            sha256: d.sha256,
            created_at: ts(d.created_at),
        }
    }
}

pub type DocumentPage = Page<DocumentView>;

/// A document's bytes, as uploaded.
#[derive(Debug, ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub struct DocumentBytes(Vec<u8>);

/// The multipart form of an upload: exactly one part, the file.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct DocumentUpload {
    /// A PDF, JPEG or PNG file of at most 10 MB (10485760 bytes).
    #[schema(value_type = String, format = Binary, content_media_type = "application/octet-stream")]
    pub file: Vec<u8>,
}

/// The file part's headers, as parsed (names and values).
const PART_HEADERS_LIMIT: usize = 8 * 1024;
/// What is read before the file part's headers are parsed (preamble, boundary, headers):
/// beyond it the body is refused before the parser buffers more.
const BEFORE_FILE_LIMIT: usize = 2 * PART_HEADERS_LIMIT;
/// What a multipart body may carry besides the file: boundaries, part headers, epilogue.
const MULTIPART_OVERHEAD: usize = 64 * 1024;
/// Checks a console form's CSRF token.
pub(crate) type TokenCheck<'a> = dyn Fn(&str) -> ApiResult<()> + 'a;

/// The longest CSRF token part a console upload may begin with.
const CSRF_TOKEN_LIMIT: usize = 256;
/// The largest upload body read.
pub const UPLOAD_LIMIT: usize = MAX_DOCUMENT_BYTES + MULTIPART_OVERHEAD;
/// How long a client may take to send a document.
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(120);

/// Why the body stream stopped.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stop {
    Reading,
    TooLarge,
    HeadersTooLarge,
}

/// The request body as the multipart parser reads it: at most `limit` bytes in all, the first
/// part's headers within [`BEFORE_FILE_LIMIT`], and one chunk per poll (the parser would
/// otherwise pull everything that has arrived into its own buffer at once).
struct Bounded<S> {
    inner: S,
    read: usize,
    limit: usize,
    /// Set by the reader once the first part's headers are parsed.
    started: Rc<Cell<bool>>,
    stop: Rc<Cell<Stop>>,
    yielded: bool,
}

impl<S: Stream<Item = Result<Bytes, PayloadError>> + Unpin> Stream for Bounded<S> {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.stop.get() != Stop::Reading {
            return Poll::Ready(Some(Err(PayloadError::Overflow)));
        }
        if self.yielded {
            // Give the parser a turn before the next chunk.
            self.yielded = false;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                let before = self.read;
                self.read += chunk.len();
                if self.read > self.limit {
                    self.stop.set(Stop::TooLarge);
                    return Poll::Ready(Some(Err(PayloadError::Overflow)));
                }
                if !self.started.get() && before > BEFORE_FILE_LIMIT {
                    self.stop.set(Stop::HeadersTooLarge);
                    return Poll::Ready(Some(Err(PayloadError::Overflow)));
                }
                self.yielded = true;
                Poll::Ready(Some(Ok(chunk)))
            }
            other => other,
        }
    }
}

fn bad_multipart(detail: impl Into<String>) -> ApiError {
    ApiError::BadRequest {
        code: "bad_multipart",
        detail: detail.into(),
    }
}

fn multipart_error(e: MultipartError, stop: Stop) -> ApiError {
    match stop {
        Stop::TooLarge => ApiError::PayloadTooLarge,
        Stop::HeadersTooLarge => bad_multipart(format!(
            "the file part's headers do not end within {BEFORE_FILE_LIMIT} bytes"
        )),
        Stop::Reading => bad_multipart(format!("malformed multipart body: {e}")),
    }
}

/// Reads a `multipart/form-data` body holding exactly one part, `file`: its name and its
/// bytes. Refused: a compressed body (415), another content type (415), a body announced or
/// found larger than [`UPLOAD_LIMIT`] or a file over 10 MB (413, as soon as it is known:
/// nothing beyond is read), any other part or a second one (422), a malformed body (400).
/// Shared by the API's upload and the console's upload form: with `csrf`, the body must begin
/// with a short `csrf_token` part, checked by `csrf` before the file's bytes are read.
pub(crate) async fn read_upload(
    req: &HttpRequest,
    payload: web::Payload,
    csrf: Option<&TokenCheck<'_>>,
) -> ApiResult<(Option<String>, Vec<u8>)> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    if header("content-encoding").is_some_and(|e| !e.trim().eq_ignore_ascii_case("identity")) {
        return Err(ApiError::UnsupportedMediaType(
            "compressed request bodies are not accepted (send it without Content-Encoding)".into(),
        ));
    }
    let multipart = header("content-type")
        .and_then(|c| c.parse::<actix_web::mime::Mime>().ok())
        .is_some_and(|m| {
            m.type_() == actix_web::mime::MULTIPART && m.subtype() == actix_web::mime::FORM_DATA
        });
    if !multipart {
        return Err(ApiError::UnsupportedMediaType(
            "expected Content-Type: multipart/form-data with one part named `file`".into(),
        ));
    }
    if header("content-length")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .is_some_and(|n| n > UPLOAD_LIMIT as u64)
    {
        return Err(ApiError::PayloadTooLarge);
    }
    let started = Rc::new(Cell::new(false));
    let stop = Rc::new(Cell::new(Stop::Reading));
    let body = Bounded {
        inner: payload,
        read: 0,
        limit: UPLOAD_LIMIT,
        started: started.clone(),
        stop: stop.clone(),
        yielded: false,
    };
    let mut form = Multipart::new(req.headers(), body);
    let read = async {
        let mut file: Option<(Option<String>, Vec<u8>)> = None;
        let mut token_checked = csrf.is_none();
        while let Some(field) = form.next().await {
            let mut field = field.map_err(|e| multipart_error(e, stop.get()))?;
            started.set(true);
            if !token_checked {
                let named = field
                    .content_disposition()
                    .and_then(|d| d.get_name())
                    .is_some_and(|n| n == "csrf_token");
                let mut token = Vec::new();
                while named && let Some(chunk) = field.next().await {
                    token.extend_from_slice(&chunk.map_err(|e| multipart_error(e, stop.get()))?);
                    if token.len() > CSRF_TOKEN_LIMIT {
                        break;
                    }
                }
                let check = csrf.expect("a token check");
                check(std::str::from_utf8(&token).unwrap_or_default())?;
                token_checked = true;
                continue;
            }
            if file.is_some() {
                return Err(ApiError::validation(
                    "file",
                    "send exactly one part, the file",
                ));
            }
            let header_bytes: usize = field
                .headers()
                .iter()
                .map(|(n, v)| n.as_str().len() + v.len())
                .sum();
            if header_bytes > PART_HEADERS_LIMIT {
                return Err(bad_multipart(format!(
                    "the file part's headers exceed {PART_HEADERS_LIMIT} bytes"
                )));
            }
            let disposition = field.content_disposition();
            let name = disposition.and_then(|d| d.get_name()).unwrap_or_default();
            if name != "file" {
                return Err(ApiError::validation(
                    "file",
                    "send exactly one part, named `file`",
                ));
            }
            // RFC 5987 `filename*` first (RFC 6266), else the plain `filename`.
            let filename = disposition.and_then(|d| {
                d.get_filename_ext()
                    .map(|ext| String::from_utf8_lossy(&ext.value).into_owned())
                    .or_else(|| d.get_filename().map(str::to_string))
            });
            let mut bytes: Vec<u8> = Vec::new();
            while let Some(chunk) = field.next().await {
                let chunk = chunk.map_err(|e| multipart_error(e, stop.get()))?;
                if bytes.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                    return Err(ApiError::PayloadTooLarge);
                }
                bytes.extend_from_slice(&chunk);
            }
            file = Some((filename, bytes));
        }
        file.ok_or_else(|| ApiError::validation("file", "send one part named `file`"))
    };
    match tokio::time::timeout(UPLOAD_TIMEOUT, read).await {
        Err(_) => Err(ApiError::BadRequest {
            code: "body_timeout",
            detail: "the request body arrived too slowly".into(),
        }),
        Ok(result) => result,
    }
}

/// Upload a document to a grant's report (the owning association).
///
/// `multipart/form-data` with exactly one part, `file`: a PDF, JPEG or PNG of at most 10 MB,
/// recognised by its content (the declared type and the name's extension are ignored; HTML,
/// SVG, archives and files that only start like a PDF are refused with 422). At most 50
/// documents per grant (409 `too_many_documents`); none once the final report is submitted
/// (409 `report_submitted`).
#[utoipa::path(
    tag = "grants",
    params(("id" = String, Path, description = "Grant id (`grt_…`)")),
    request_body(content = inline(DocumentUpload), content_type = "multipart/form-data"),
    security(("bearer" = [])),
    responses(
        (status = 201, body = DocumentView),
        (status = 400, description = "Malformed multipart body", body = crate::http::error::Problem),
        (status = 403, description = "Only the owning association uploads", body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, description = "The report is submitted, the grant takes no report, or it holds 50 documents", body = crate::http::error::Problem),
        (status = 413, description = "The file is over 10 MB", body = crate::http::error::Problem),
        (status = 415, description = "Not multipart/form-data, or a compressed body", body = crate::http::error::Problem),
        (status = 422, description = "Not a PDF, JPEG or PNG, or not exactly one part named `file`", body = crate::http::error::Problem),
    )
)]
#[post("/grants/{id}/documents")]
pub async fn upload_document(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    // Refused before a byte of the body is read.
    app::may_upload(&state, &principal, &id)
        .await
        .map_err(to_api)?;
    let (filename, bytes) = read_upload(&req, payload, None).await?;
    let doc = app::add_document(&state, principal, id, filename, bytes)
        .await
        .map_err(to_api)?;
    Ok(HttpResponse::Created().json(DocumentView::from(doc)))
}

/// List a grant's documents (the owning association, reviewer, finance, admin).
#[utoipa::path(
    tag = "grants",
    params(("id" = String, Path, description = "Grant id"), PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Page<DocumentView>),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
    )
)]
#[get("/grants/{id}/documents")]
pub async fn list_grant_documents(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    params: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let params = params.into_inner();
    let limit = check_limit(params.limit)?;
    let rows = app::documents(
        &state,
        &principal,
        &id.into_inner(),
        params.cursor.unwrap_or_default(),
        limit,
    )
    .await
    .map_err(to_api)?;
    Ok(HttpResponse::Ok().json(Page::from_rows(
        rows,
        limit,
        |d| d.id.clone(),
        DocumentView::from,
    )))
}

/// Download a document (the owning association, reviewer, finance, admin): always as an
/// attachment, with the media type recognised at upload, `nosniff` and never cached.
#[utoipa::path(
    tag = "grants",
    params(("id" = String, Path, description = "Document id (`doc_…`)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The document's bytes, as an attachment", content(
            (DocumentBytes = "application/pdf"),
            (DocumentBytes = "image/jpeg"),
            (DocumentBytes = "image/png"),
        )),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
    )
)]
#[get("/documents/{id}")]
pub async fn download_document(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let (meta, bytes) = app::document(&state, &principal, &id.into_inner())
        .await
        .map_err(to_api)?;
    Ok(HttpResponse::Ok()
        .content_type(meta.media_type.as_str())
        .insert_header(("Content-Disposition", content_disposition(&meta.filename)))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Cache-Control", "private, no-store"))
        .insert_header(("Content-Security-Policy", "default-src 'none'; sandbox"))
        .body(bytes))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateExpense {
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub category: String,
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub supplier: String,
    /// The supplier's codice fiscale (16 characters) or partita IVA (11 digits).
    #[schema(example = "12345678903")]
    pub supplier_tax_code: Option<String>,
    /// The invoice's or receipt's number.
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub document_number: String,
    /// The document's date, not after today.
    #[schema(pattern = r"^\d{4}-\d{2}-\d{2}$", example = "2026-11-30")]
    pub document_date: String,
    /// Above zero, with at most the grant currency's decimals.
    #[schema(pattern = r"^[0-9]+(\.[0-9]+)?$", example = "120.50")]
    pub amount: String,
    /// When it was paid, not after today.
    #[schema(pattern = r"^\d{4}-\d{2}-\d{2}$", example = "2026-12-01")]
    pub paid_at: String,
    #[schema(
        pattern = "^(bank_transfer|card|cash|cheque|other)$",
        example = "bank_transfer"
    )]
    pub payment_method: String,
    /// 0–20 distinct documents of this grant.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub document_ids: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExpenseView {
    /// `exp_…`
    pub id: String,
    pub grant_id: String,
    pub category: String,
    pub supplier: String,
    pub supplier_tax_code: Option<String>,
    pub document_number: String,
    pub document_date: NaiveDate,
    pub amount: String,
    pub currency: String,
    pub paid_at: NaiveDate,
    pub payment_method: PaymentMethod,
    pub status: ExpenseStatus,
    /// The reviewer's reason (a rejection always has one).
    pub reason: Option<String>,
    pub checked_by: Option<String>,
    pub checked_at: Option<DateTime<Utc>>,
    pub document_ids: Vec<String>,
    pub created_at: DateTime<Utc>,
}

impl From<Expense> for ExpenseView {
    fn from(e: Expense) -> ExpenseView {
        let r = e.row;
        ExpenseView {
            id: r.id,
            grant_id: r.grant_id,
            category: r.category,
            supplier: r.supplier,
            supplier_tax_code: r.supplier_tax_code,
            document_number: r.document_number,
            document_date: r.document_date,
            amount: money(r.amount, &e.currency),
            currency: e.currency.to_string(),
            paid_at: r.paid_at,
            payment_method: r.payment_method,
            status: r.status,
            reason: r.reason,
            checked_by: r.checked_by,
            checked_at: r.checked_at.map(ts),
            document_ids: e.document_ids,
            created_at: ts(r.created_at),
        }
    }
}

pub type ExpensePage = Page<ExpenseView>;

/// Add an expense line to a grant's report (the owning association), `submitted`.
///
/// 409 once the final report is submitted; 422 naming each wrong field (`document_ids[2]`
/// for a document that is not this grant's).
#[utoipa::path(
    tag = "grants",
    params(("id" = String, Path, description = "Grant id")),
    request_body = CreateExpense,
    security(("bearer" = [])),
    responses(
        (status = 201, body = ExpenseView),
        (status = 403, description = "Only the owning association reports", body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, description = "The report is submitted or the grant takes no report", body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[post("/grants/{id}/expenses")]
pub async fn create_expense(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: ApiJson<CreateExpense>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let new = NewExpense {
        category: b.category,
        supplier: b.supplier,
        supplier_tax_code: b.supplier_tax_code,
        document_number: b.document_number,
        document_date: b.document_date,
        amount: b.amount,
        paid_at: b.paid_at,
        payment_method: b.payment_method,
        document_ids: b.document_ids,
    };
    let e = app::add_expense(&state, principal, id.into_inner(), new)
        .await
        .map_err(to_api)?;
    Ok(HttpResponse::Created().json(ExpenseView::from(e)))
}

/// List a grant's expense lines with their documents (the owning association, reviewer,
/// finance, admin).
#[utoipa::path(
    tag = "grants",
    params(("id" = String, Path, description = "Grant id"), PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Page<ExpenseView>),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
    )
)]
#[get("/grants/{id}/expenses")]
pub async fn list_grant_expenses(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    params: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let params = params.into_inner();
    let limit = check_limit(params.limit)?;
    let rows = app::expenses(
        &state,
        &principal,
        &id.into_inner(),
        params.cursor.unwrap_or_default(),
        limit,
    )
    .await
    .map_err(to_api)?;
    Ok(HttpResponse::Ok().json(Page::from_rows(
        rows,
        limit,
        |e| e.row.id.clone(),
        ExpenseView::from,
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitReport {
    /// What was done with the money: 1–5000 characters.
    #[schema(min_length = 1, max_length = 5000, pattern = "\\S")]
    pub summary: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportView {
    /// The grant's id.
    pub id: String,
    pub status: GrantStatus,
    pub summary: Option<String>,
    pub reported_at: Option<DateTime<Utc>>,
}

impl From<GrantRow> for ReportView {
    fn from(g: GrantRow) -> ReportView {
        ReportView {
            id: g.id,
            status: g.status,
            summary: g.summary,
            reported_at: g.reported_at.map(ts),
        }
    }
}

/// Submit a grant's final report (the owning association): the grant becomes `reported`, and
/// no expense or document can be added after it.
#[utoipa::path(
    tag = "grants",
    params(("id" = String, Path, description = "Grant id")),
    request_body = SubmitReport,
    security(("bearer" = [])),
    responses(
        (status = 200, body = ReportView),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, description = "Already reported, or the grant is under review, revoked, …", body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[post("/grants/{id}/report")]
pub async fn submit_grant_report(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: ApiJson<SubmitReport>,
) -> ApiResult<HttpResponse> {
    let g = app::submit_report(
        &state,
        principal,
        id.into_inner(),
        body.into_inner().summary,
    )
    .await
    .map_err(to_api)?;
    Ok(HttpResponse::Ok().json(ReportView::from(g)))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckExpense {
    /// Required (1–1000 characters) to reject; optional to accept.
    #[schema(max_length = 1000)]
    pub reason: Option<String>,
}

async fn check(
    state: web::Data<AppState>,
    principal: Principal,
    id: String,
    verdict: Verdict,
    body: CheckExpense,
) -> ApiResult<HttpResponse> {
    let e = app::check(&state, principal, id, verdict, body.reason)
        .await
        .map_err(to_api)?;
    Ok(HttpResponse::Ok().json(ExpenseView::from(e)))
}

/// Accept a submitted expense line (reviewer, finance): its amount counts towards the
/// grant's accepted expenses.
#[utoipa::path(
    tag = "grants",
    params(("id" = String, Path, description = "Expense id (`exp_…`)")),
    request_body(content = CheckExpense, description = "Optional: `{\"reason\"}` (the body may be left out)"),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ExpenseView),
        (status = 403, description = "Only reviewers and finance check expenses", body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, description = "Already checked (`expense_checked`), or the grant takes no checks", body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[post("/expenses/{id}/accept")]
pub async fn accept_expense(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: OptionalJson<CheckExpense>,
) -> ApiResult<HttpResponse> {
    check(
        state,
        principal,
        id.into_inner(),
        Verdict::Accept,
        body.into_inner(),
    )
    .await
}

/// Reject a submitted expense line, with a reason (reviewer, finance).
#[utoipa::path(
    tag = "grants",
    params(("id" = String, Path, description = "Expense id (`exp_…`)")),
    request_body = CheckExpense,
    security(("bearer" = [])),
    responses(
        (status = 200, body = ExpenseView),
        (status = 403, description = "Only reviewers and finance check expenses", body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, description = "Already checked (`expense_checked`), or the grant takes no checks", body = crate::http::error::Problem),
        (status = 422, description = "No reason, or one over 1000 characters", body = crate::http::error::Problem),
    )
)]
#[post("/expenses/{id}/reject")]
pub async fn reject_expense(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: ApiJson<CheckExpense>,
) -> ApiResult<HttpResponse> {
    check(
        state,
        principal,
        id.into_inner(),
        Verdict::Reject,
        body.into_inner(),
    )
    .await
}
