//! Bank transfers: donations the crowd sends from its own bank to the association's account,
//! learnt from the association's camt.053 statements. A credit is booked once; one whose
//! creditor reference names a waiting bank-transfer pledge confirms it through the same path as
//! a provider's event (`payment_events`), so matching, holds, receipts and the late-money rules
//! apply unchanged. See docs/adr/0018-bank-transfers.md.

use crate::app::AppState;
use crate::app::payment_events::{self, Applied};
use crate::auth::Principal;
use crate::clock::now;
use crate::config::ProviderKind;
use crate::db::bank::{self, BankEntryRow, StatementRow};
use crate::db::schema::{associations, pledges};
use crate::db::{DbConnection, DbError, write_tx};
use crate::domain::bank_entry::{BankEntryStatus, masked_account};
use crate::domain::camt053::{self, Credit};
use crate::domain::ids;
use crate::domain::pledge::PaymentEvent;
use crate::domain::rf_reference::RfReference;
use crate::domain::role::Role;
use crate::providers::events::ProviderEvent;
use diesel::prelude::*;

/// The largest statement file taken.
pub const MAX_STATEMENT_BYTES: usize = 5 * 1024 * 1024;
/// Credits booked per transaction: a long statement does not hold the writer for long.
const CREDITS_PER_TRANSACTION: usize = 100;
/// What is kept of the free text and of the debtor's name (minimised: enough to recognise).
const REMITTANCE_CHARS: usize = 140;
const NAME_CHARS: usize = 70;

#[derive(Debug, thiserror::Error)]
pub enum BankError {
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("your role may not do this")]
    Forbidden,
    /// Not a camt.053 statement cofund reads (the reason is for the user).
    #[error("{0}")]
    BadStatement(String),
    #[error("the statement is for another account ({0}), not the association's")]
    WrongAccount(String),
    #[error("{1}")]
    Conflict(&'static str, String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for BankError {
    fn from(e: diesel::result::Error) -> BankError {
        BankError::Db(e.into())
    }
}

/// What an import did.
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    pub statement_id: String,
    pub iban: String,
    pub version: u8,
    /// Credits in the file.
    pub credits: usize,
    /// Credits booked now (new to the association's books).
    pub booked: usize,
    /// Credits booked by an earlier import (the same or an overlapping statement).
    pub already_booked: usize,
    pub matched: usize,
    pub flagged: usize,
    pub unmatched: usize,
}

/// The association's members and finance import statements and read the entries; another
/// association's member is told nothing exists.
fn may_handle(actor: &Principal, association_id: &str) -> Result<(), BankError> {
    match actor.role {
        Role::Finance | Role::Admin => Ok(()),
        Role::Association if actor.is_member_of(association_id) => Ok(()),
        Role::Association => Err(BankError::NotFound("association")),
        _ => Err(BankError::Forbidden),
    }
}

/// Only the association's members and the finance office bring in statements: checked before
/// the file is read.
pub fn may_import(actor: &Principal, association_id: &str) -> Result<(), BankError> {
    if actor.role == Role::Admin {
        return Err(BankError::Forbidden);
    }
    may_handle(actor, association_id)
}

fn compact_iban(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase()
}

/// Imports a camt.053 statement of the association's own account: every credit booked once,
/// those naming a waiting bank-transfer pledge confirm it.
pub async fn import_statement(
    state: &AppState,
    actor: &Principal,
    association_id: String,
    xml: Vec<u8>,
) -> Result<ImportReport, BankError> {
    may_import(actor, &association_id)?;
    let id = association_id.clone();
    let iban: String = state
        .db
        .read(move |conn| -> Result<_, BankError> {
            associations::table
                .find(&id)
                .select(associations::iban)
                .first::<String>(conn)
                .optional()?
                .ok_or(BankError::NotFound("association"))
        })
        .await?;
    if xml.len() > MAX_STATEMENT_BYTES {
        return Err(BankError::BadStatement(
            "the statement is larger than 5 MB".into(),
        ));
    }
    // Parsing is CPU work: off the async executor.
    let statement = tokio::task::spawn_blocking(move || camt053::parse(&xml))
        .await
        .map_err(|_| BankError::BadStatement("the statement could not be read".into()))?
        .map_err(|e| BankError::BadStatement(e.to_string()))?;
    if compact_iban(&statement.iban) != compact_iban(&iban) {
        return Err(BankError::WrongAccount(statement.iban));
    }
    let statement_id = ids::new_id(ids::BANK_STATEMENT);
    let mut report = ImportReport {
        statement_id: statement_id.clone(),
        iban: statement.iban.clone(),
        version: statement.version,
        credits: statement.credits.len(),
        ..ImportReport::default()
    };
    let row = StatementRow {
        id: statement_id.clone(),
        association_id: association_id.clone(),
        iban: statement.iban.clone(),
        version: i32::from(statement.version),
        credits: statement.credits.len() as i32,
        booked: 0,
        imported_by: actor.sub.clone(),
        imported_at: now(),
    };
    state
        .db
        .run(move |conn| -> Result<_, DbError> {
            write_tx(conn, |conn| bank::insert_statement(conn, &row))?;
            Ok(())
        })
        .await?;
    let mut credits = statement.credits;
    while !credits.is_empty() {
        let rest = credits.split_off(credits.len().min(CREDITS_PER_TRANSACTION));
        let chunk = std::mem::replace(&mut credits, rest);
        let (asso, stmt) = (association_id.clone(), statement_id.clone());
        let outcomes = state
            .db
            .run(
                move |conn| -> Result<Vec<Option<BankEntryStatus>>, DbError> {
                    Ok(write_tx(conn, |conn| -> QueryResult<_> {
                        let mut outcomes = Vec::with_capacity(chunk.len());
                        let mut booked = 0;
                        for credit in &chunk {
                            let outcome = book_credit(conn, &asso, &stmt, credit)?;
                            booked += i32::from(outcome.is_some());
                            outcomes.push(outcome);
                        }
                        bank::set_statement_booked(conn, &stmt, booked)?;
                        Ok(outcomes)
                    })?)
                },
            )
            .await?;
        for outcome in outcomes {
            match outcome {
                None => report.already_booked += 1,
                Some(status) => {
                    report.booked += 1;
                    match status {
                        BankEntryStatus::Matched | BankEntryStatus::Assigned => report.matched += 1,
                        BankEntryStatus::Flagged => report.flagged += 1,
                        BankEntryStatus::Unmatched => report.unmatched += 1,
                    }
                }
            }
        }
    }
    tracing::info!(
        association_id,
        statement_id = %report.statement_id,
        booked = report.booked,
        matched = report.matched,
        "bank statement imported"
    );
    Ok(report)
}

/// The creditor reference a credit carries: its structured reference, else the first valid
/// one in its free text.
fn reference_of(credit: &Credit) -> Option<RfReference> {
    credit
        .structured_reference
        .as_deref()
        .and_then(|r| RfReference::parse(r).ok())
        .or_else(|| {
            credit
                .text
                .as_deref()
                .and_then(|t| RfReference::find_in_text(t).into_iter().next())
        })
}

fn clip(s: Option<&str>, chars: usize) -> Option<String> {
    s.map(|s| s.chars().filter(|c| !c.is_control()).take(chars).collect())
}

/// Books one credit (None when booked before) and confirms the pledge it names.
fn book_credit(
    conn: &mut DbConnection,
    association_id: &str,
    statement_id: &str,
    credit: &Credit,
) -> QueryResult<Option<BankEntryStatus>> {
    let reference = reference_of(credit);
    let t = now();
    let row = BankEntryRow {
        id: ids::new_id(ids::BANK_ENTRY),
        association_id: association_id.to_string(),
        statement_id: statement_id.to_string(),
        booking_key: credit.key.clone(),
        booking_date: credit.booking_date,
        amount: credit.amount,
        currency: credit.currency.clone(),
        bank_reference: clip(credit.bank_reference.as_deref(), 70),
        reference: reference.as_ref().map(|r| r.as_str().to_string()),
        remittance: clip(credit.text.as_deref(), REMITTANCE_CHARS),
        debtor_name: clip(credit.debtor_name.as_deref(), NAME_CHARS),
        debtor_account: credit.debtor_iban.as_deref().map(masked_account),
        status: BankEntryStatus::Unmatched,
        note: None,
        pledge_id: None,
        assigned_by: None,
        created_at: t,
        updated_at: t,
    };
    if !bank::book_entry(conn, &row)? {
        return Ok(None);
    }
    let unmatched = |conn: &mut DbConnection, note: &str| -> QueryResult<Option<BankEntryStatus>> {
        let from = BankEntryStatus::Unmatched;
        bank::settle_entry(conn, &row.id, from, from, None, Some(note), None)?;
        Ok(Some(from))
    };
    let Some(reference) = reference else {
        return unmatched(conn, "no creditor reference");
    };
    let Some(pledge_id) = bank::pledge_by_reference(conn, association_id, reference.as_str())?
    else {
        return unmatched(
            conn,
            "no bank-transfer pledge of this association has this reference",
        );
    };
    let (status, note) = match confirm(conn, &row, &pledge_id, reference.as_str())? {
        Confirmed::Paid => (BankEntryStatus::Matched, None),
        Confirmed::Mismatch => (
            BankEntryStatus::Flagged,
            Some("the amount or currency differs from the pledge's: not counted"),
        ),
        Confirmed::NotWaiting => (
            BankEntryStatus::Unmatched,
            Some("the pledge it names is already paid: return this transfer to the sender"),
        ),
    };
    let from = BankEntryStatus::Unmatched;
    bank::settle_entry(conn, &row.id, from, status, Some(&pledge_id), note, None)?;
    Ok(Some(status))
}

enum Confirmed {
    /// The pledge is paid by this credit.
    Paid,
    /// Amount or currency differ: the pledge is flagged, nothing counted.
    Mismatch,
    /// The pledge was paid already (or its money is gone): nothing changed.
    NotWaiting,
}

/// Applies the credit to the pledge as the provider's payment event would be, recorded as an
/// event of its own (`bank:{entry}:{pledge}`), in the caller's transaction.
fn confirm(
    conn: &mut DbConnection,
    entry: &BankEntryRow,
    pledge_id: &str,
    reference: &str,
) -> QueryResult<Confirmed> {
    let ev = ProviderEvent {
        id: format!("bank:{}:{pledge_id}", entry.id),
        kind: "bank_transfer.credited".into(),
        payment_id: Some(reference.to_string()),
        pledge_hint: Some(pledge_id.to_string()),
        event: Some(PaymentEvent::Succeeded {
            amount: entry.amount,
            currency: entry.currency.clone(),
        }),
        refund: None,
        account: None,
    };
    // No third party's data in the stored event: the entry keeps what is kept.
    let payload =
        serde_json::json!({"source": "bank_statement", "bank_entry": entry.id}).to_string();
    Ok(
        match payment_events::apply_event_within(conn, &ev, &payload)? {
            Applied::Applied { changed: true, .. } => Confirmed::Paid,
            Applied::Flagged { .. } => Confirmed::Mismatch,
            _ => Confirmed::NotWaiting,
        },
    )
}

/// An association's booked credits, newest first.
pub async fn entries(
    state: &AppState,
    actor: &Principal,
    association_id: String,
    status: Option<BankEntryStatus>,
    before: Option<String>,
    limit: i64,
) -> Result<Vec<BankEntryRow>, BankError> {
    may_handle(actor, &association_id)?;
    state
        .db
        .read(move |conn| -> Result<_, BankError> {
            let exists = associations::table
                .find(&association_id)
                .select(associations::id)
                .first::<String>(conn)
                .optional()?;
            if exists.is_none() {
                return Err(BankError::NotFound("association"));
            }
            Ok(bank::entries(
                conn,
                &association_id,
                status,
                before.as_deref(),
                limit,
            )?)
        })
        .await
}

/// Finance assigns an unmatched credit to a waiting bank-transfer pledge of the same
/// association: the pledge is confirmed as if the credit had named it. Refused, changing
/// nothing: a credit already settled, a pledge of another association or paid another way,
/// an amount or currency that differs, a pledge no longer waiting.
pub async fn assign(
    state: &AppState,
    actor: &Principal,
    entry_id: String,
    pledge_id: String,
) -> Result<BankEntryRow, BankError> {
    if actor.role != Role::Finance {
        return Err(BankError::Forbidden);
    }
    let by = actor.sub.clone();
    let actor = actor.clone();
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| -> Result<BankEntryRow, BankError> {
                let entry =
                    bank::entry(conn, &entry_id)?.ok_or(BankError::NotFound("bank entry"))?;
                // Claimed first: of two assignments of one credit, one finds it taken.
                let from = BankEntryStatus::Unmatched;
                if entry.status != from
                    || !bank::settle_entry(conn, &entry.id, from, from, None, None, Some(&by))?
                {
                    return Err(BankError::Conflict(
                        "entry_not_unmatched",
                        format!("this credit is {}, not unmatched", entry.status),
                    ));
                }
                let (owner, provider) =
                    bank::pledge_owner(conn, &pledge_id)?.ok_or(BankError::NotFound("pledge"))?;
                if owner != entry.association_id {
                    return Err(BankError::Conflict(
                        "another_association",
                        "the pledge is for another association's campaign".into(),
                    ));
                }
                if provider != ProviderKind::BankTransfer {
                    return Err(BankError::Conflict(
                        "not_a_bank_transfer",
                        "the pledge is paid through the payment provider, not by bank transfer"
                            .into(),
                    ));
                }
                let reference: Option<String> = pledges::table
                    .find(&pledge_id)
                    .select(pledges::provider_payment_id)
                    .first(conn)?;
                let reference = reference.unwrap_or_default();
                match confirm(conn, &entry, &pledge_id, &reference)? {
                    Confirmed::Paid => {}
                    Confirmed::Mismatch => {
                        return Err(BankError::Conflict(
                            "amount_mismatch",
                            "the credit's amount or currency differs from the pledge's".into(),
                        ));
                    }
                    Confirmed::NotWaiting => {
                        return Err(BankError::Conflict(
                            "pledge_not_waiting",
                            "the pledge is not waiting for its money".into(),
                        ));
                    }
                }
                let to = BankEntryStatus::Assigned;
                bank::settle_entry(conn, &entry.id, from, to, Some(&pledge_id), None, Some(&by))?;
                crate::db::queries::audit(
                    conn,
                    &actor,
                    "assign",
                    "bank_entry",
                    &entry.id,
                    Some(format!("pledge {pledge_id}")),
                )?;
                bank::entry(conn, &entry.id)?.ok_or(BankError::NotFound("bank entry"))
            })
        })
        .await
}
