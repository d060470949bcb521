//! A grant's report: the association uploads its documents, lists its expense lines citing
//! them and submits the final report; reviewers and finance check each line. Every write runs
//! in one transaction with the grant's row locked first (so the document count, the grant's
//! state and the accepted total are read and changed together), and every refusal writes
//! nothing.

use super::AppState;
use super::grants::{GrantError, visible};
use super::invalid::Invalid;
use crate::auth::Principal;
use crate::clock::now;
use crate::db::grant_reports as store;
use crate::db::models::{GrantDocumentMeta, GrantExpenseRow, GrantRow, NewGrantDocument};
use crate::db::queries::audit;
use crate::db::{DbConnection, DbError, write_tx};
use crate::domain::document::{self, MAX_DOCUMENTS_PER_GRANT};
use crate::domain::grant::{ExpenseStatus, GrantStatus, PaymentMethod};
use crate::domain::ids;
use crate::domain::money::{Currency, MoneyError, parse_amount};
use crate::domain::role::Role;
use crate::domain::tax_code::TaxCode;
use chrono::NaiveDate;
use sha2::{Digest, Sha256};

/// Why a report step was refused (nothing written).
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// No such grant, document or expense — or not one the caller may see.
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("your role may not do this")]
    Forbidden,
    #[error("the request has invalid fields")]
    Invalid(Vec<Invalid>),
    /// The grant's or the expense's state does not allow this (409, with a code).
    #[error("{1}")]
    Conflict(&'static str, String),
    /// The books and the grant disagree: nothing applied.
    #[error("books disagree: {0}")]
    Books(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for ReportError {
    fn from(e: diesel::result::Error) -> ReportError {
        ReportError::Db(DbError::Query(e))
    }
}

impl From<GrantError> for ReportError {
    fn from(e: GrantError) -> ReportError {
        match e {
            GrantError::NotFound => ReportError::NotFound("grant"),
            GrantError::Forbidden => ReportError::Forbidden,
            GrantError::Invalid(v) => ReportError::Invalid(v),
            GrantError::Conflict(code, detail) => ReportError::Conflict(code, detail),
            GrantError::Books(b) => ReportError::Books(b),
            GrantError::Db(d) => ReportError::Db(d),
        }
    }
}

/// A grant the caller may not read hides what hangs from it: `what` is not found. Other
/// failures (the database) stay what they are.
fn hidden_as(what: &'static str) -> impl Fn(GrantError) -> ReportError {
    move |e| match e {
        GrantError::NotFound | GrantError::Forbidden => ReportError::NotFound(what),
        other => other.into(),
    }
}

fn invalid(field: impl Into<String>, message: impl std::fmt::Display) -> ReportError {
    ReportError::Invalid(vec![Invalid::new(field, message)])
}

/// The owning association's grant, locked, that still takes reports: 403 for any other role,
/// 404 for another association's grant, 409 once the report is submitted (or the grant is
/// under review, revoked, …).
fn reporting_grant(
    conn: &mut DbConnection,
    actor: &Principal,
    id: &str,
) -> Result<GrantRow, ReportError> {
    if actor.role != Role::Association {
        return Err(ReportError::Forbidden);
    }
    let g = visible(conn, actor, id, true)?;
    if !g.status.takes_reports() {
        return Err(not_reporting(g.status));
    }
    Ok(g)
}

fn not_reporting(status: GrantStatus) -> ReportError {
    match status {
        GrantStatus::Reported | GrantStatus::Approved | GrantStatus::Closed => {
            ReportError::Conflict(
                "report_submitted",
                format!(
                    "the final report is submitted (the grant is {status}): nothing more can be added"
                ),
            )
        }
        _ => ReportError::Conflict(
            "grant_not_reporting",
            format!("the grant is {status}: it takes no report now"),
        ),
    }
}

fn room_for_a_document(conn: &mut DbConnection, grant_id: &str) -> Result<(), ReportError> {
    if store::count_documents(conn, grant_id)? >= MAX_DOCUMENTS_PER_GRANT {
        return Err(ReportError::Conflict(
            "too_many_documents",
            format!("a grant holds at most {MAX_DOCUMENTS_PER_GRANT} documents"),
        ));
    }
    Ok(())
}

/// Whether `actor` may upload a document to grant `id` now: checked before the body is read,
/// so that a refused upload is not read at all (and checked again when it is stored).
pub async fn may_upload(state: &AppState, actor: &Principal, id: &str) -> Result<(), ReportError> {
    let (actor, id) = (actor.clone(), id.to_string());
    state
        .db
        .read(move |conn| -> Result<(), ReportError> {
            if actor.role != Role::Association {
                return Err(ReportError::Forbidden);
            }
            let g = visible(conn, &actor, &id, false)?;
            if !g.status.takes_reports() {
                return Err(not_reporting(g.status));
            }
            room_for_a_document(conn, &g.id)
        })
        .await
}

/// Stores an uploaded document: recognised by its bytes (PDF, JPEG or PNG, else 422 naming
/// `file`), its name made safe, its SHA-256 kept; at most [`MAX_DOCUMENTS_PER_GRANT`] per grant.
pub async fn add_document(
    state: &AppState,
    actor: Principal,
    grant_id: String,
    filename: Option<String>,
    bytes: Vec<u8>,
) -> Result<GrantDocumentMeta, ReportError> {
    if actor.role != Role::Association {
        return Err(ReportError::Forbidden);
    }
    let kind = document::recognise(&bytes).map_err(|why| invalid("file", why))?;
    let filename = document::safe_filename(filename.as_deref().unwrap_or_default());
    let sha256 = hex::encode(Sha256::digest(&bytes));
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| -> Result<GrantDocumentMeta, ReportError> {
                let g = reporting_grant(conn, &actor, &grant_id)?;
                room_for_a_document(conn, &g.id)?;
                let doc = NewGrantDocument {
                    id: ids::new_id(store::DOCUMENT),
                    grant_id: g.id.clone(),
                    association_id: g.association_id.clone(),
                    filename,
                    media_type: kind.media_type().to_string(),
                    size: bytes.len() as i64,
                    sha256,
                    content: bytes,
                    uploaded_by: actor.sub.clone(),
                    created_at: now(),
                };
                store::insert_document(conn, &doc)?;
                audit(
                    conn,
                    &actor,
                    "grant.document",
                    "grant",
                    &g.id,
                    Some(format!(
                        "{} {} ({} bytes, sha256 {})",
                        doc.id, doc.media_type, doc.size, doc.sha256
                    )),
                )?;
                store::document(conn, &doc.id)?
                    .ok_or_else(|| ReportError::Books(format!("document {} vanished", doc.id)))
            })
        })
        .await
}

/// A page of a grant's documents (whoever may read the grant), `limit + 1` rows after `cursor`.
pub async fn documents(
    state: &AppState,
    actor: &Principal,
    grant_id: &str,
    cursor: String,
    limit: i64,
) -> Result<Vec<GrantDocumentMeta>, ReportError> {
    let (actor, grant_id) = (actor.clone(), grant_id.to_string());
    state
        .db
        .read(move |conn| -> Result<Vec<GrantDocumentMeta>, ReportError> {
            let g = visible(conn, &actor, &grant_id, false)?;
            Ok(store::documents(conn, &g.id, &cursor, limit + 1)?)
        })
        .await
}

/// A document and its bytes, for whoever may read its grant (404 for anyone else: documents
/// are never public).
pub async fn document(
    state: &AppState,
    actor: &Principal,
    id: &str,
) -> Result<(GrantDocumentMeta, Vec<u8>), ReportError> {
    if actor.role == Role::Partner {
        return Err(ReportError::Forbidden);
    }
    let (actor, id) = (actor.clone(), id.to_string());
    state
        .db
        .read(
            move |conn| -> Result<(GrantDocumentMeta, Vec<u8>), ReportError> {
                let meta = store::document(conn, &id)?.ok_or(ReportError::NotFound("document"))?;
                visible(conn, &actor, &meta.grant_id, false).map_err(hidden_as("document"))?;
                let bytes =
                    store::document_content(conn, &id)?.ok_or(ReportError::NotFound("document"))?;
                Ok((meta, bytes))
            },
        )
        .await
}

/// An expense line as the association sends it (unchecked).
#[derive(Debug, Clone, Default)]
pub struct NewExpense {
    pub category: String,
    pub supplier: String,
    pub supplier_tax_code: Option<String>,
    pub document_number: String,
    pub document_date: String,
    pub amount: String,
    pub paid_at: String,
    pub payment_method: String,
    pub document_ids: Vec<String>,
}

/// An expense line with the documents it cites and its grant's currency.
#[derive(Debug, Clone)]
pub struct Expense {
    pub row: GrantExpenseRow,
    pub document_ids: Vec<String>,
    pub currency: Currency,
}

/// The most documents one expense line cites.
pub const MAX_EXPENSE_DOCUMENTS: usize = 20;

/// An expense line's fields, checked (everything but whether its documents are the grant's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedExpense {
    pub category: String,
    pub supplier: String,
    pub supplier_tax_code: Option<String>,
    pub document_number: String,
    pub document_date: NaiveDate,
    pub amount: i64,
    pub paid_at: NaiveDate,
    pub payment_method: PaymentMethod,
    pub document_ids: Vec<String>,
}

/// Trimmed, non-empty, at most `max` characters, no control characters.
fn text(errors: &mut Vec<Invalid>, field: &str, value: &str, max: usize) -> String {
    text_lines(errors, field, value, max, false)
}

/// Like [`text`]; with `lines`, line breaks and tabs are allowed.
fn text_lines(
    errors: &mut Vec<Invalid>,
    field: &str,
    value: &str,
    max: usize,
    lines: bool,
) -> String {
    let v = value.trim();
    let bad = |c: char| c.is_control() && !(lines && matches!(c, '\n' | '\r' | '\t'));
    if v.is_empty() {
        errors.push(Invalid::new(field, "must not be empty"));
    } else if v.chars().count() > max {
        errors.push(Invalid::new(field, format!("at most {max} characters")));
    } else if v.chars().any(bad) {
        errors.push(Invalid::new(field, "must not contain control characters"));
    }
    v.to_string()
}

/// A calendar date `YYYY-MM-DD`, not after `today`.
fn date(errors: &mut Vec<Invalid>, field: &str, value: &str, today: NaiveDate) -> NaiveDate {
    let v = value.trim();
    let shaped = v.len() == 10
        && v.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    match NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        Ok(d) if shaped => {
            if d > today {
                errors.push(Invalid::new(
                    field,
                    format!("must not be after today ({today})"),
                ));
            }
            d
        }
        _ => {
            errors.push(Invalid::new(field, "must be a date YYYY-MM-DD"));
            today
        }
    }
}

/// Checks an expense line's fields (every wrong field reported): texts trimmed and bounded,
/// the supplier's tax code (optional: a codice fiscale or partita IVA), an amount above zero
/// with the currency's decimals, dates not after `today`, a known payment method, and 0–20
/// distinct document ids.
pub fn check_expense(
    new: &NewExpense,
    currency: Currency,
    today: NaiveDate,
) -> Result<CheckedExpense, Vec<Invalid>> {
    let mut errors = Vec::new();
    let category = text(&mut errors, "category", &new.category, 100);
    let supplier = text(&mut errors, "supplier", &new.supplier, 200);
    let document_number = text(&mut errors, "document_number", &new.document_number, 100);
    let supplier_tax_code = match new.supplier_tax_code.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(code) => match TaxCode::parse(code) {
            Ok(t) => Some(t.as_str().to_string()),
            Err(e) => {
                errors.push(Invalid::new("supplier_tax_code", e));
                None
            }
        },
    };
    let amount = match parse_amount(new.amount.trim(), currency) {
        Ok(a) => a,
        Err(e) => {
            let message = match e {
                MoneyError::TooManyDecimals(d) => {
                    format!("at most {d} decimal places for {}", currency.code())
                }
                other => other.to_string(),
            };
            errors.push(Invalid::new("amount", message));
            0
        }
    };
    let document_date = date(&mut errors, "document_date", &new.document_date, today);
    let paid_at = date(&mut errors, "paid_at", &new.paid_at, today);
    let payment_method = PaymentMethod::parse(new.payment_method.trim()).unwrap_or_else(|| {
        errors.push(Invalid::new(
            "payment_method",
            "must be one of bank_transfer, card, cash, cheque, other",
        ));
        PaymentMethod::Other
    });
    if new.document_ids.len() > MAX_EXPENSE_DOCUMENTS {
        errors.push(Invalid::new(
            "document_ids",
            format!("at most {MAX_EXPENSE_DOCUMENTS} documents"),
        ));
    } else {
        for (i, id) in new.document_ids.iter().enumerate() {
            if new.document_ids[..i].contains(id) {
                errors.push(Invalid::new(
                    format!("document_ids[{i}]"),
                    "is listed twice",
                ));
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(CheckedExpense {
        category,
        supplier,
        supplier_tax_code,
        document_number,
        document_date,
        amount,
        paid_at,
        payment_method,
        document_ids: new.document_ids.clone(),
    })
}

/// Adds an expense line (`submitted`) to the owning association's grant while it takes
/// reports; each cited document must be one of this grant's (422 naming its index).
pub async fn add_expense(
    state: &AppState,
    actor: Principal,
    grant_id: String,
    new: NewExpense,
) -> Result<Expense, ReportError> {
    if actor.role != Role::Association {
        return Err(ReportError::Forbidden);
    }
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| -> Result<Expense, ReportError> {
                let g = reporting_grant(conn, &actor, &grant_id)?;
                let t = now();
                let e = check_expense(&new, g.currency, t.date()).map_err(ReportError::Invalid)?;
                let ours = store::documents_of_grant(conn, &g.id, &e.document_ids)?;
                let foreign: Vec<Invalid> = e
                    .document_ids
                    .iter()
                    .enumerate()
                    .filter(|(_, id)| !ours.contains(id))
                    .map(|(i, _)| {
                        Invalid::new(
                            format!("document_ids[{i}]"),
                            "no such document of this grant",
                        )
                    })
                    .collect();
                if !foreign.is_empty() {
                    return Err(ReportError::Invalid(foreign));
                }
                let row = GrantExpenseRow {
                    id: ids::new_id(store::EXPENSE),
                    grant_id: g.id.clone(),
                    category: e.category,
                    supplier: e.supplier,
                    supplier_tax_code: e.supplier_tax_code,
                    document_number: e.document_number,
                    document_date: e.document_date,
                    amount: e.amount,
                    paid_at: e.paid_at,
                    payment_method: e.payment_method,
                    status: ExpenseStatus::Submitted,
                    reason: None,
                    checked_by: None,
                    checked_at: None,
                    created_by: actor.sub.clone(),
                    created_at: t,
                };
                let mut document_ids = e.document_ids;
                document_ids.sort();
                store::insert_expense(conn, &row, &document_ids)?;
                audit(
                    conn,
                    &actor,
                    "grant.expense",
                    "grant",
                    &g.id,
                    Some(format!("{} submitted, amount {}", row.id, row.amount)),
                )?;
                Ok(Expense {
                    row,
                    document_ids,
                    currency: g.currency,
                })
            })
        })
        .await
}

/// A page of a grant's expense lines (whoever may read the grant), `limit + 1` rows after
/// `cursor`, each with its documents.
pub async fn expenses(
    state: &AppState,
    actor: &Principal,
    grant_id: &str,
    cursor: String,
    limit: i64,
) -> Result<Vec<Expense>, ReportError> {
    let (actor, grant_id) = (actor.clone(), grant_id.to_string());
    state
        .db
        .read(move |conn| -> Result<Vec<Expense>, ReportError> {
            let g = visible(conn, &actor, &grant_id, false)?;
            Ok(store::expenses(conn, &g.id, &cursor, limit + 1)?
                .into_iter()
                .map(|(row, document_ids)| Expense {
                    row,
                    document_ids,
                    currency: g.currency,
                })
                .collect())
        })
        .await
}

/// The longest final-report summary, in characters.
pub const MAX_SUMMARY_CHARS: usize = 5000;

/// The association submits its final report: `open`/`overdue` → `reported` (no more expenses
/// or documents after it); 409 in any other state.
pub async fn submit_report(
    state: &AppState,
    actor: Principal,
    grant_id: String,
    summary: String,
) -> Result<GrantRow, ReportError> {
    if actor.role != Role::Association {
        return Err(ReportError::Forbidden);
    }
    let mut errors = Vec::new();
    let summary = text_lines(&mut errors, "summary", &summary, MAX_SUMMARY_CHARS, true);
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| -> Result<GrantRow, ReportError> {
                let g = reporting_grant(conn, &actor, &grant_id)?;
                if !errors.is_empty() {
                    return Err(ReportError::Invalid(errors));
                }
                if !crate::db::grants::mark_reported(conn, &g.id, &summary)? {
                    return Err(not_reporting(g.status));
                }
                audit(
                    conn,
                    &actor,
                    "grant.report",
                    "grant",
                    &g.id,
                    Some(format!(
                        "final report submitted ({} characters)",
                        summary.chars().count()
                    )),
                )?;
                crate::db::grants::load(conn, &g.id)?.ok_or(ReportError::NotFound("grant"))
            })
        })
        .await
}

/// The longest reason of a check, in characters.
pub const MAX_REASON_CHARS: usize = 1000;

/// A reviewer's or finance's verdict on an expense line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    Reject,
}

/// A reviewer or finance accepts or rejects a `submitted` expense line (409 `expense_checked`
/// when it was checked already), while its grant takes checks. Accepting adds its amount to
/// the grant's accepted expenses in the same transaction, the grant locked first.
pub async fn check(
    state: &AppState,
    actor: Principal,
    expense_id: String,
    verdict: Verdict,
    reason: Option<String>,
) -> Result<Expense, ReportError> {
    actor
        .require(&[Role::Reviewer, Role::Finance])
        .map_err(|_| ReportError::Forbidden)?;
    let reason = reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_string);
    let mut errors = Vec::new();
    match (&reason, verdict) {
        (None, Verdict::Reject) => {
            errors.push(Invalid::new("reason", "a rejection needs a reason"))
        }
        (Some(r), _) if r.chars().count() > MAX_REASON_CHARS => errors.push(Invalid::new(
            "reason",
            format!("at most {MAX_REASON_CHARS} characters"),
        )),
        _ => {}
    }
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| -> Result<Expense, ReportError> {
                let e =
                    store::expense(conn, &expense_id)?.ok_or(ReportError::NotFound("expense"))?;
                let g = visible(conn, &actor, &e.grant_id, true).map_err(hidden_as("expense"))?;
                if !errors.is_empty() {
                    return Err(ReportError::Invalid(errors));
                }
                if !g.status.takes_checks() {
                    return Err(ReportError::Conflict(
                        "grant_not_checkable",
                        format!(
                            "the grant is {}: its expenses are no longer checked",
                            g.status
                        ),
                    ));
                }
                // Read again under the grant's lock: a concurrent check may have come first.
                let e =
                    store::expense(conn, &expense_id)?.ok_or(ReportError::NotFound("expense"))?;
                if e.status != ExpenseStatus::Submitted {
                    return Err(already_checked(e.status));
                }
                let status = match verdict {
                    Verdict::Accept => ExpenseStatus::Accepted,
                    Verdict::Reject => ExpenseStatus::Rejected,
                };
                let t = now();
                if !store::mark_checked(conn, &e.id, status, reason.as_deref(), &actor.sub, t)? {
                    let now_is = store::expense(conn, &e.id)?.map_or(status, |x| x.status);
                    return Err(already_checked(now_is));
                }
                if verdict == Verdict::Accept
                    && !crate::db::grants::add_accepted(conn, &g.id, e.amount)?
                {
                    return Err(ReportError::Books(format!(
                        "grant {} did not take the accepted amount",
                        g.id
                    )));
                }
                audit(
                    conn,
                    &actor,
                    match verdict {
                        Verdict::Accept => "expense.accept",
                        Verdict::Reject => "expense.reject",
                    },
                    "expense",
                    &e.id,
                    Some(format!(
                        "grant {}, amount {}{}",
                        g.id,
                        e.amount,
                        reason
                            .as_deref()
                            .map(|r| format!(": {r}"))
                            .unwrap_or_default()
                    )),
                )?;
                let row = store::expense(conn, &e.id)?.ok_or(ReportError::NotFound("expense"))?;
                let document_ids = store::expense_documents(conn, &e.id)?;
                Ok(Expense {
                    row,
                    document_ids,
                    currency: g.currency,
                })
            })
        })
        .await
}

fn already_checked(status: ExpenseStatus) -> ReportError {
    ReportError::Conflict(
        "expense_checked",
        format!("this expense line is already checked ({status})"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur() -> Currency {
        Currency::parse("EUR").unwrap()
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 6).unwrap()
    }

    fn good() -> NewExpense {
        NewExpense {
            category: " Materiali ".into(),
            supplier: "Cartoleria Rossi".into(),
            supplier_tax_code: Some("12345678903".into()),
            document_number: "F-12/2026".into(),
            document_date: "2026-11-30".into(),
            amount: "120.50".into(),
            paid_at: "2026-12-01".into(),
            payment_method: "bank_transfer".into(),
            document_ids: vec!["doc_a".into(), "doc_b".into()],
        }
    }

    fn fields(r: Result<CheckedExpense, Vec<Invalid>>) -> Vec<String> {
        r.err()
            .unwrap_or_default()
            .into_iter()
            .map(|i| i.field)
            .collect()
    }

    #[test]
    fn a_good_line_is_checked_and_trimmed() {
        let e = check_expense(&good(), eur(), today()).unwrap();
        assert_eq!(e.category, "Materiali");
        assert_eq!(e.amount, 12050);
        assert_eq!(e.payment_method, PaymentMethod::BankTransfer);
        assert_eq!(e.supplier_tax_code.as_deref(), Some("12345678903"));
        let mut no_code = good();
        no_code.supplier_tax_code = Some("  ".into());
        assert_eq!(
            check_expense(&no_code, eur(), today())
                .unwrap()
                .supplier_tax_code,
            None
        );
        // Paid on the same day as today is fine.
        let mut same = good();
        same.paid_at = "2026-12-06".into();
        assert!(check_expense(&same, eur(), today()).is_ok());
    }

    #[test]
    fn every_wrong_field_is_named() {
        let mut e = good();
        e.amount = "10.001".into();
        assert_eq!(fields(check_expense(&e, eur(), today())), ["amount"]);
        e = good();
        e.amount = "0".into();
        assert_eq!(fields(check_expense(&e, eur(), today())), ["amount"]);
        e = good();
        e.document_date = "2026-12-07".into();
        assert_eq!(fields(check_expense(&e, eur(), today())), ["document_date"]);
        e = good();
        e.paid_at = "2026-2-1".into();
        assert_eq!(fields(check_expense(&e, eur(), today())), ["paid_at"]);
        e = good();
        e.paid_at = "2026-02-30".into();
        assert_eq!(fields(check_expense(&e, eur(), today())), ["paid_at"]);
        e = good();
        e.payment_method = "bitcoin".into();
        assert_eq!(
            fields(check_expense(&e, eur(), today())),
            ["payment_method"]
        );
        e = good();
        e.supplier_tax_code = Some("12345678901".into());
        assert_eq!(
            fields(check_expense(&e, eur(), today())),
            ["supplier_tax_code"]
        );
        e = good();
        e.category = "   ".into();
        e.supplier = "x".repeat(201);
        e.document_number = "a\u{7}b".into();
        assert_eq!(
            fields(check_expense(&e, eur(), today())),
            ["category", "supplier", "document_number"]
        );
        e = good();
        e.document_ids = vec!["doc_a".into(), "doc_b".into(), "doc_a".into()];
        assert_eq!(
            fields(check_expense(&e, eur(), today())),
            ["document_ids[2]"]
        );
        e = good();
        e.document_ids = (0..21).map(|i| format!("doc_{i}")).collect();
        assert_eq!(fields(check_expense(&e, eur(), today())), ["document_ids"]);
    }
}
