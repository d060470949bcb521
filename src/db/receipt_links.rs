//! One-time links to a donor's own receipts: one writer for `receipt_links`.

use crate::db::DbConnection;
use crate::db::schema::{donors, pledges, receipt_links};
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = receipt_links)]
pub struct ReceiptLinkRow {
    pub token_hash: String,
    pub email_key: String,
    pub pledge_ids: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
}

diesel::define_sql_function! {
    /// SQL `lower(text)`, on both backends.
    fn lower(x: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>;
}

pub fn insert(conn: &mut DbConnection, row: &ReceiptLinkRow) -> QueryResult<()> {
    diesel::insert_into(receipt_links::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// Links asked for an address since `since` (the per-address limit).
pub fn asked_since(
    conn: &mut DbConnection,
    email_key: &str,
    since: NaiveDateTime,
) -> QueryResult<i64> {
    receipt_links::table
        .filter(receipt_links::email_key.eq(email_key))
        .filter(receipt_links::created_at.gt(since))
        .count()
        .get_result(conn)
}

/// Spends a link: the one unused, unexpired link with this token hash, marked used at `at`;
/// None when there is none (unknown, used or expired). One statement decides, so two
/// openings of the same link cannot both succeed.
pub fn spend(
    conn: &mut DbConnection,
    token_hash: &str,
    at: NaiveDateTime,
) -> QueryResult<Option<String>> {
    let spent = diesel::update(receipt_links::table.find(token_hash))
        .filter(receipt_links::used_at.is_null())
        .filter(receipt_links::expires_at.gt(at))
        .set(receipt_links::used_at.eq(Some(at)))
        .execute(conn)?;
    if spent == 0 {
        return Ok(None);
    }
    receipt_links::table
        .find(token_hash)
        .select(receipt_links::pledge_ids)
        .first(conn)
        .map(Some)
}

/// The paid pledges whose donor gave with this address (any case) and is not erased, newest
/// first, at most `limit`.
pub fn pledges_of_address(
    conn: &mut DbConnection,
    email: &str,
    limit: i64,
) -> QueryResult<Vec<String>> {
    pledges::table
        .inner_join(donors::table)
        .filter(lower(donors::email).eq(email.trim().to_lowercase()))
        .filter(donors::erased_at.is_null())
        .filter(pledges::paid.eq(true))
        .order(pledges::created_at.desc())
        .limit(limit)
        .select(pledges::id)
        .load(conn)
}

/// Drops the links that would open an erased donor's receipts.
pub fn forget_pledges(conn: &mut DbConnection, pledge_ids: &[String]) -> QueryResult<usize> {
    let mut n = 0;
    for id in pledge_ids {
        n += diesel::delete(
            receipt_links::table.filter(receipt_links::pledge_ids.like(format!("%\"{id}\"%"))),
        )
        .execute(conn)?;
    }
    Ok(n)
}
