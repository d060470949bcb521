//! A grant's report as stored: its documents (bytes in the database, see ADR 0015) and its
//! expense lines with the documents each cites. Persistence only; `app::grant_reports` holds
//! the rules and runs these in its transactions, the grant locked first.

use super::DbConnection;
use super::models::{GrantDocumentMeta, GrantExpenseRow, NewGrantDocument};
use super::schema::{grant_documents, grant_expense_documents, grant_expenses};
use crate::domain::grant::ExpenseStatus;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// The prefix of document ids (`doc_…`).
pub const DOCUMENT: &str = "doc";
/// The prefix of expense ids (`exp_…`).
pub const EXPENSE: &str = "exp";

/// How many documents a grant holds.
pub fn count_documents(conn: &mut DbConnection, grant_id: &str) -> QueryResult<i64> {
    grant_documents::table
        .filter(grant_documents::grant_id.eq(grant_id))
        .count()
        .get_result(conn)
}

pub fn insert_document(conn: &mut DbConnection, doc: &NewGrantDocument) -> QueryResult<()> {
    diesel::insert_into(grant_documents::table)
        .values(doc.clone())
        .execute(conn)?;
    Ok(())
}

/// A document's metadata (without its bytes).
pub fn document(conn: &mut DbConnection, id: &str) -> QueryResult<Option<GrantDocumentMeta>> {
    grant_documents::table
        .find(id)
        .select(GrantDocumentMeta::as_select())
        .first(conn)
        .optional()
}

/// A document's bytes.
pub fn document_content(conn: &mut DbConnection, id: &str) -> QueryResult<Option<Vec<u8>>> {
    grant_documents::table
        .find(id)
        .select(grant_documents::content)
        .first(conn)
        .optional()
}

/// A page of a grant's documents in id order after `after` (`limit` rows).
pub fn documents(
    conn: &mut DbConnection,
    grant_id: &str,
    after: &str,
    limit: i64,
) -> QueryResult<Vec<GrantDocumentMeta>> {
    grant_documents::table
        .filter(grant_documents::grant_id.eq(grant_id))
        .filter(grant_documents::id.gt(after))
        .order(grant_documents::id)
        .limit(limit)
        .select(GrantDocumentMeta::as_select())
        .load(conn)
}

/// Which of `ids` are documents of `grant_id`.
pub fn documents_of_grant(
    conn: &mut DbConnection,
    grant_id: &str,
    ids: &[String],
) -> QueryResult<Vec<String>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    grant_documents::table
        .filter(grant_documents::grant_id.eq(grant_id))
        .filter(grant_documents::id.eq_any(ids))
        .select(grant_documents::id)
        .load(conn)
}

/// Stores an expense line and the documents it cites.
pub fn insert_expense(
    conn: &mut DbConnection,
    row: &GrantExpenseRow,
    document_ids: &[String],
) -> QueryResult<()> {
    diesel::insert_into(grant_expenses::table)
        .values(row.clone())
        .execute(conn)?;
    for d in document_ids {
        diesel::insert_into(grant_expense_documents::table)
            .values((
                grant_expense_documents::expense_id.eq(&row.id),
                grant_expense_documents::document_id.eq(d),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn expense(conn: &mut DbConnection, id: &str) -> QueryResult<Option<GrantExpenseRow>> {
    grant_expenses::table
        .find(id)
        .select(GrantExpenseRow::as_select())
        .first(conn)
        .optional()
}

/// The documents an expense cites, in id order.
pub fn expense_documents(conn: &mut DbConnection, expense_id: &str) -> QueryResult<Vec<String>> {
    grant_expense_documents::table
        .filter(grant_expense_documents::expense_id.eq(expense_id))
        .order(grant_expense_documents::document_id)
        .select(grant_expense_documents::document_id)
        .load(conn)
}

/// A page of a grant's expense lines in id order after `after` (`limit` rows), each with the
/// documents it cites.
pub fn expenses(
    conn: &mut DbConnection,
    grant_id: &str,
    after: &str,
    limit: i64,
) -> QueryResult<Vec<(GrantExpenseRow, Vec<String>)>> {
    let rows: Vec<GrantExpenseRow> = grant_expenses::table
        .filter(grant_expenses::grant_id.eq(grant_id))
        .filter(grant_expenses::id.gt(after))
        .order(grant_expenses::id)
        .limit(limit)
        .select(GrantExpenseRow::as_select())
        .load(conn)?;
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let links: Vec<(String, String)> = if ids.is_empty() {
        Vec::new()
    } else {
        grant_expense_documents::table
            .filter(grant_expense_documents::expense_id.eq_any(&ids))
            .order((
                grant_expense_documents::expense_id,
                grant_expense_documents::document_id,
            ))
            .select((
                grant_expense_documents::expense_id,
                grant_expense_documents::document_id,
            ))
            .load(conn)?
    };
    Ok(rows
        .into_iter()
        .map(|r| {
            let docs = links
                .iter()
                .filter(|(e, _)| *e == r.id)
                .map(|(_, d)| d.clone())
                .collect();
            (r, docs)
        })
        .collect())
}

/// Records a reviewer's check of an expense line that is still `submitted`; false (nothing
/// written) when someone checked it first.
pub fn mark_checked(
    conn: &mut DbConnection,
    id: &str,
    status: ExpenseStatus,
    reason: Option<&str>,
    checked_by: &str,
    checked_at: NaiveDateTime,
) -> QueryResult<bool> {
    Ok(diesel::update(
        grant_expenses::table
            .find(id)
            .filter(grant_expenses::status.eq(ExpenseStatus::Submitted)),
    )
    .set((
        grant_expenses::status.eq(status),
        grant_expenses::reason.eq(reason),
        grant_expenses::checked_by.eq(Some(checked_by)),
        grant_expenses::checked_at.eq(Some(checked_at)),
    ))
    .execute(conn)?
        == 1)
}
