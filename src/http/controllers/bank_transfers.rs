//! Bank transfers over HTTP: the association's camt.053 statements and the credits booked
//! from them; finance assigns the credits nothing matched.

use crate::app::AppState;
use crate::app::bank_transfers::{self as uc, BankError, ImportReport, MAX_STATEMENT_BYTES};
use crate::db::bank::BankEntryRow;
use crate::domain::bank_entry::BankEntryStatus;
use crate::domain::money::Currency;
use crate::http::controllers::grant_reports::read_upload;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, BodyPreamble, Page, Principal, check_limit, read_body};
use crate::http::views::ts;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn bank_error(e: BankError) -> ApiError {
    match e {
        BankError::NotFound(what) => ApiError::NotFound(what),
        BankError::Forbidden => ApiError::Forbidden("your role may not do this"),
        BankError::BadStatement(why) => ApiError::validation("file", why),
        e @ BankError::WrongAccount(_) => ApiError::validation("file", e.to_string()),
        BankError::Conflict(code, detail) => ApiError::conflict(code, detail),
        BankError::Db(e) => e.into(),
    }
}

fn money(minor: i64, currency: &str) -> String {
    match Currency::parse(currency) {
        Ok(c) => crate::http::views::money(minor, &c),
        Err(_) => minor.to_string(),
    }
}

/// What an import did.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatementImported {
    /// `bst_…`
    pub id: String,
    /// The account the statement is for (the association's).
    pub iban: String,
    /// The camt.053.001 version read (2–8).
    pub version: u8,
    /// Credits in the file (debits and unbooked entries are not read).
    pub credits: usize,
    /// Credits booked now.
    pub booked: usize,
    /// Credits booked before (the same statement again, or an overlapping one): not counted
    /// again.
    pub already_booked: usize,
    /// New credits that confirmed a bank-transfer pledge.
    pub matched: usize,
    /// New credits naming a pledge with another amount or currency: not counted.
    pub flagged: usize,
    /// New credits that matched no waiting pledge: listed for finance.
    pub unmatched: usize,
}

fn imported(r: ImportReport) -> StatementImported {
    StatementImported {
        id: r.statement_id,
        iban: r.iban,
        version: r.version,
        credits: r.credits,
        booked: r.booked,
        already_booked: r.already_booked,
        matched: r.matched,
        flagged: r.flagged,
        unmatched: r.unmatched,
    }
}

/// The multipart form of a statement upload: exactly one part, the file.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct StatementUpload {
    /// An ISO 20022 camt.053.001.02–.08 XML file of at most 5 MB.
    #[schema(value_type = String, format = Binary, content_media_type = "application/xml")]
    pub file: Vec<u8>,
}

/// A statement's bytes, sent as the body.
#[derive(Debug, ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub struct StatementBytes(Vec<u8>);

/// Import a bank statement of the association's account (its members, finance).
///
/// An ISO 20022 camt.053 statement (versions .001.02 to .001.08) of at most 5 MB, sent as the
/// body (`application/xml`; the file is recognised by its content, not its declared type) or as
/// `multipart/form-data` with one part `file`. It must be for the
/// association's own IBAN. Every booked credit is booked once (by the bank's reference, else its
/// account, booking date, amount and reference): importing the same or an overlapping statement
/// again books nothing twice. A credit whose structured reference, or whose free text, holds
/// the ISO 11649 reference of a waiting bank-transfer pledge confirms it when amount and
/// currency match and flags it otherwise; the rest is listed as `unmatched`. A file with a DTD
/// (entity expansion, external entities) is refused; nothing is booked from a refused file.
#[utoipa::path(
    tag = "bank transfers",
    params(("id" = String, Path, description = "Association id")),
    request_body(
        content(
            (StatementBytes = "application/xml"),
            (StatementUpload = "multipart/form-data"),
        )
    ),
    security(("bearer" = [])),
    responses(
        (status = 201, body = StatementImported),
        (status = 400, description = "Malformed multipart body", body = crate::http::error::Problem),
        (status = 401, body = crate::http::error::Problem),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 413, description = "Over 5 MB", body = crate::http::error::Problem),
        (status = 415, description = "A compressed body", body = crate::http::error::Problem),
        (status = 422, description = "Not a camt.053 statement cofund reads, or for another account", body = crate::http::error::Problem),
    )
)]
#[post("/associations/{id}/bank-statements")]
pub async fn import_statement(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    // Refused before a byte of the file is read.
    uc::may_import(&principal, &id).map_err(bank_error)?;
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.parse::<actix_web::mime::Mime>().ok());
    let xml = match content_type {
        Some(m) if m.type_() == actix_web::mime::MULTIPART => {
            let (_, bytes) = read_upload(&req, payload, None).await?;
            bytes
        }
        // Any other type is read as the file itself and recognised by its content.
        _ => read_body(BodyPreamble::of(&req), payload, MAX_STATEMENT_BYTES)
            .await?
            .to_vec(),
    };
    if xml.len() > MAX_STATEMENT_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    let report = uc::import_statement(&state, &principal, id, xml)
        .await
        .map_err(bank_error)?;
    Ok(HttpResponse::Created().json(imported(report)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BankEntryView {
    /// `ben_…`
    pub id: String,
    pub association_id: String,
    /// The statement it was first booked from.
    pub statement_id: String,
    pub booking_date: NaiveDate,
    pub amount: String,
    pub currency: String,
    /// The bank's own reference for the credit.
    pub bank_reference: Option<String>,
    /// The creditor reference found in it (structured, or in the free text).
    pub reference: Option<String>,
    /// The free text, shortened.
    pub remittance: Option<String>,
    /// The sender's name and a masked account, for the association to recognise it.
    pub debtor_name: Option<String>,
    pub debtor_account: Option<String>,
    /// `matched`, `flagged`, `unmatched` or `assigned`.
    #[schema(pattern = "^(matched|flagged|unmatched|assigned)$")]
    pub status: String,
    /// Why it is flagged or unmatched.
    pub note: Option<String>,
    /// The pledge it paid (or names, when flagged).
    pub pledge_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub fn entry_view(e: BankEntryRow) -> BankEntryView {
    BankEntryView {
        amount: money(e.amount, &e.currency),
        id: e.id,
        association_id: e.association_id,
        statement_id: e.statement_id,
        booking_date: e.booking_date,
        currency: e.currency,
        bank_reference: e.bank_reference,
        reference: e.reference,
        remittance: e.remittance,
        debtor_name: e.debtor_name,
        debtor_account: e.debtor_account,
        status: e.status.to_string(),
        note: e.note,
        pledge_id: e.pledge_id,
        created_at: ts(e.created_at),
        updated_at: ts(e.updated_at),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EntryParams {
    /// `matched`, `flagged`, `unmatched` or `assigned`.
    #[param(pattern = "^(matched|flagged|unmatched|assigned)$")]
    pub status: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The credits booked from an association's statements, newest first (its members, finance,
/// admin).
#[utoipa::path(
    tag = "bank transfers",
    params(("id" = String, Path, description = "Association id"), EntryParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Page<BankEntryView>),
        (status = 401, body = crate::http::error::Problem),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[get("/associations/{id}/bank-entries")]
pub async fn list_entries(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    params: web::Query<EntryParams>,
) -> ApiResult<HttpResponse> {
    let p = params.into_inner();
    let limit = check_limit(p.limit)?;
    let status = match p.status.as_deref() {
        None => None,
        Some(s) => Some(BankEntryStatus::parse(s).ok_or_else(|| {
            ApiError::validation("status", "matched, flagged, unmatched or assigned")
        })?),
    };
    let rows = uc::entries(
        &state,
        &principal,
        id.into_inner(),
        status,
        p.cursor,
        limit + 1,
    )
    .await
    .map_err(bank_error)?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, limit, |e| e.id.clone(), entry_view)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignEntry {
    /// A waiting bank-transfer pledge (`plg_…`) of the same association.
    #[schema(min_length = 1, max_length = 64)]
    pub pledge_id: String,
}

/// Assign an unmatched credit to a bank-transfer pledge (finance).
///
/// The pledge is confirmed as if the credit had named it. Refused with 409, changing nothing:
/// a credit not `unmatched` (`entry_not_unmatched`), a pledge of another association
/// (`another_association`) or paid through the provider (`not_a_bank_transfer`), another amount
/// or currency (`amount_mismatch`), a pledge not waiting for its money (`pledge_not_waiting`).
#[utoipa::path(
    tag = "bank transfers",
    params(("id" = String, Path, description = "Bank entry id (`ben_…`)")),
    request_body = AssignEntry,
    security(("bearer" = [])),
    responses(
        (status = 200, body = BankEntryView),
        (status = 401, body = crate::http::error::Problem),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[post("/bank-entries/{id}/assign")]
pub async fn assign(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: ApiJson<AssignEntry>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    if body.pledge_id.is_empty() || body.pledge_id.chars().count() > 64 {
        return Err(ApiError::validation("pledge_id", "a pledge id (plg_…)"));
    }
    let entry = uc::assign(&state, &principal, id.into_inner(), body.pledge_id)
        .await
        .map_err(bank_error)?;
    Ok(HttpResponse::Ok().json(entry_view(entry)))
}
