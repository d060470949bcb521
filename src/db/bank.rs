//! Bank statements and the credits booked from them: one writer per table. A credit is booked
//! once per association whatever statements list it (`bank_entries`' unique booking key).

use super::DbConnection;
use super::schema::{bank_entries, bank_statements, campaigns, pledges};
use crate::config::ProviderKind;
use crate::domain::bank_entry::BankEntryStatus;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

#[derive(Insertable, Clone, Debug)]
#[diesel(table_name = bank_statements)]
pub struct StatementRow {
    pub id: String,
    pub association_id: String,
    pub iban: String,
    pub version: i32,
    pub credits: i32,
    pub booked: i32,
    pub imported_by: String,
    pub imported_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = bank_entries)]
pub struct BankEntryRow {
    pub id: String,
    pub association_id: String,
    pub statement_id: String,
    pub booking_key: String,
    pub booking_date: NaiveDate,
    pub amount: i64,
    pub currency: String,
    pub bank_reference: Option<String>,
    pub reference: Option<String>,
    pub remittance: Option<String>,
    pub debtor_name: Option<String>,
    pub debtor_account: Option<String>,
    pub status: BankEntryStatus,
    pub note: Option<String>,
    pub pledge_id: Option<String>,
    pub assigned_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn insert_statement(conn: &mut DbConnection, row: &StatementRow) -> QueryResult<()> {
    diesel::insert_into(bank_statements::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

/// How many credits of the statement were new.
pub fn set_statement_booked(conn: &mut DbConnection, id: &str, booked: i32) -> QueryResult<()> {
    diesel::update(bank_statements::table.find(id))
        .set(bank_statements::booked.eq(bank_statements::booked + booked))
        .execute(conn)
        .map(drop)
}

/// Books a credit; false, having written nothing, when the association's books hold it
/// already (the same statement again, or an overlapping one).
pub fn book_entry(conn: &mut DbConnection, row: &BankEntryRow) -> QueryResult<bool> {
    let insert = diesel::insert_into(bank_entries::table)
        .values(row)
        .on_conflict((bank_entries::association_id, bank_entries::booking_key))
        .do_nothing();
    let n = match conn {
        DbConnection::Postgresql(c) => insert.execute(c)?,
        DbConnection::Sqlite(c) => insert.execute(c)?,
    };
    Ok(n == 1)
}

/// Records what the credit did, from the status it had when it was claimed.
pub fn settle_entry(
    conn: &mut DbConnection,
    id: &str,
    from: BankEntryStatus,
    status: BankEntryStatus,
    pledge_id: Option<&str>,
    note: Option<&str>,
    assigned_by: Option<&str>,
) -> QueryResult<bool> {
    let n = diesel::update(bank_entries::table.find(id))
        .filter(bank_entries::status.eq(from))
        .set((
            bank_entries::status.eq(status),
            bank_entries::pledge_id.eq(pledge_id),
            bank_entries::note.eq(note),
            bank_entries::assigned_by.eq(assigned_by),
            bank_entries::updated_at.eq(crate::clock::now()),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

pub fn entry(conn: &mut DbConnection, id: &str) -> QueryResult<Option<BankEntryRow>> {
    bank_entries::table
        .find(id)
        .select(BankEntryRow::as_select())
        .first(conn)
        .optional()
}

/// An association's entries, newest first, by status.
pub fn entries(
    conn: &mut DbConnection,
    association_id: &str,
    status: Option<BankEntryStatus>,
    before: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<BankEntryRow>> {
    let mut q = bank_entries::table
        .filter(bank_entries::association_id.eq(association_id))
        .select(BankEntryRow::as_select())
        .into_boxed();
    if let Some(s) = status {
        q = q.filter(bank_entries::status.eq(s));
    }
    if let Some(b) = before {
        q = q.filter(bank_entries::id.lt(b.to_string()));
    }
    q.order(bank_entries::id.desc()).limit(limit).load(conn)
}

/// The bank-transfer pledge of one of the association's campaigns that `reference` names.
pub fn pledge_by_reference(
    conn: &mut DbConnection,
    association_id: &str,
    reference: &str,
) -> QueryResult<Option<String>> {
    pledges::table
        .inner_join(campaigns::table)
        .filter(pledges::provider.eq(ProviderKind::BankTransfer))
        .filter(pledges::provider_payment_id.eq(reference))
        .filter(campaigns::association_id.eq(association_id))
        .select(pledges::id)
        .first(conn)
        .optional()
}

/// The association a pledge's campaign belongs to, and how the pledge is paid.
pub fn pledge_owner(
    conn: &mut DbConnection,
    pledge_id: &str,
) -> QueryResult<Option<(String, ProviderKind)>> {
    pledges::table
        .inner_join(campaigns::table)
        .filter(pledges::id.eq(pledge_id))
        .select((campaigns::association_id, pledges::provider))
        .first(conn)
        .optional()
}

/// What a campaign's bank-transfer donations count for: the association received that money
/// on its own account.
pub fn bank_counted(conn: &mut DbConnection, campaign_id: &str) -> QueryResult<i64> {
    // Summed here: a campaign has few of them, and SUM of a BIGINT is NUMERIC on PostgreSQL.
    let counted: Vec<i64> = pledges::table
        .filter(pledges::campaign_id.eq(campaign_id))
        .filter(pledges::provider.eq(ProviderKind::BankTransfer))
        .filter(pledges::counted_amount.gt(0))
        .select(pledges::counted_amount)
        .load(conn)?;
    Ok(counted.iter().sum())
}

/// A donor erased: the debtor data of the credits that paid their pledges goes.
pub fn erase_debtors(conn: &mut DbConnection, pledge_ids: &[String]) -> QueryResult<usize> {
    diesel::update(bank_entries::table.filter(bank_entries::pledge_id.eq_any(pledge_ids)))
        .set((
            bank_entries::debtor_name.eq(None::<String>),
            bank_entries::debtor_account.eq(None::<String>),
            bank_entries::remittance.eq(None::<String>),
        ))
        .execute(conn)
}
