//! Donation receipts (D.Lgs. 117/2017 art. 83). A receipt is issued in the transaction that
//! first counts a donation and takes the next number of its association's year from
//! `receipt_counters`: the counter row is raised in place, so concurrent confirmations queue on
//! it and a rolled-back confirmation gives its number back — no gap, no duplicate. The counter
//! is the last row such a transaction locks, so it adds no lock-order cycle. A receipt whose
//! money went back to the donor is voided; its number is never given again.

use crate::clock::now;
use crate::db::DbConnection;
use crate::db::models::ReceiptRow;
use crate::db::schema::{associations, campaigns, donors, pledges, receipt_counters, receipts};
use crate::domain::money::Currency;
use crate::domain::pledge::PledgeStatus;
use chrono::{Datelike, NaiveDateTime};
use diesel::prelude::*;

/// What a receipt needs from the donation it certifies.
pub struct Donation<'a> {
    pub pledge_id: &'a str,
    pub campaign_id: &'a str,
    pub amount: i64,
    pub currency: Currency,
    /// When it was first counted: the receipt's date and year.
    pub at: NaiveDateTime,
}

/// Takes the next `count` numbers of `association_id`'s `year`, raising the counter once in
/// the caller's transaction; returns the first of them.
fn take_numbers(
    conn: &mut DbConnection,
    association_id: &str,
    year: i32,
    count: i32,
) -> QueryResult<i32> {
    let key = receipt_counters::table.find((association_id, year));
    let raise = |conn: &mut DbConnection| -> QueryResult<Option<i32>> {
        diesel::update(key)
            .set(receipt_counters::last_number.eq(receipt_counters::last_number + count))
            .returning(receipt_counters::last_number)
            .get_result(conn)
            .optional()
    };
    if let Some(last) = raise(conn)? {
        return Ok(last - count + 1);
    }
    let insert = diesel::insert_into(receipt_counters::table)
        .values((
            receipt_counters::association_id.eq(association_id),
            receipt_counters::year.eq(year),
            receipt_counters::last_number.eq(count),
        ))
        .on_conflict_do_nothing();
    let inserted = match conn {
        DbConnection::Postgresql(c) => insert.execute(c)?,
        DbConnection::Sqlite(c) => insert.execute(c)?,
    };
    if inserted == 1 {
        return Ok(1);
    }
    // Another transaction opened the year first: its row is there now.
    let last = raise(conn)?.ok_or(diesel::result::Error::NotFound)?;
    Ok(last - count + 1)
}

/// Issues the receipts of donations counted for the first time, in the caller's transaction. A
/// donation that already has its receipt keeps it. Each association's year is numbered in
/// pledge order with one raise of its counter, the counters taken in (association, year) order
/// by every transaction, and the receipts written in one statement: a batch of confirmations
/// holds the counters for three statements, however many donations it carries.
pub fn issue_all(
    conn: &mut DbConnection,
    mut donations: Vec<(String, Donation<'_>)>,
) -> QueryResult<()> {
    if donations.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = donations.iter().map(|(_, d)| d.pledge_id).collect();
    let issued: std::collections::HashSet<String> = receipts::table
        .filter(receipts::pledge_id.eq_any(&ids))
        .select(receipts::pledge_id)
        .load(conn)?
        .into_iter()
        .collect();
    donations.retain(|(_, d)| !issued.contains(d.pledge_id));
    donations.sort_by(|a, b| {
        (a.0.as_str(), a.1.at.year(), a.1.pledge_id).cmp(&(
            b.0.as_str(),
            b.1.at.year(),
            b.1.pledge_id,
        ))
    });
    let mut rows = Vec::with_capacity(donations.len());
    let mut group = donations.as_slice();
    while let Some((association_id, first)) = group.first() {
        let year = first.at.year();
        let n = group
            .iter()
            .take_while(|(a, d)| a == association_id && d.at.year() == year)
            .count();
        let number = take_numbers(conn, association_id, year, n as i32)?;
        for (i, (association_id, d)) in group[..n].iter().enumerate() {
            rows.push(ReceiptRow {
                pledge_id: d.pledge_id.to_string(),
                association_id: association_id.clone(),
                campaign_id: d.campaign_id.to_string(),
                year,
                number: number + i as i32,
                amount: d.amount,
                currency: d.currency,
                issued_at: d.at,
                voided_at: None,
            });
        }
        group = &group[n..];
    }
    if !rows.is_empty() {
        let insert = diesel::insert_into(receipts::table).values(&rows);
        match conn {
            DbConnection::Postgresql(c) => insert.execute(c)?,
            DbConnection::Sqlite(c) => insert.execute(c)?,
        };
    }
    Ok(())
}

/// Issues one donation's receipt (see [`issue_all`]); the association is looked up only when
/// the caller does not already hold the campaign.
pub fn issue(
    conn: &mut DbConnection,
    association_id: Option<&str>,
    d: Donation<'_>,
) -> QueryResult<()> {
    let association_id = match association_id {
        Some(a) => a.to_string(),
        None => campaigns::table
            .find(d.campaign_id)
            .select(campaigns::association_id)
            .first(conn)?,
    };
    issue_all(conn, vec![(association_id, d)])
}

/// Voids a donation's receipt once its money is all back with the donor (once: a voided
/// receipt stays as it was voided).
pub fn void_if_returned(
    conn: &mut DbConnection,
    pledge_id: &str,
    status: PledgeStatus,
) -> QueryResult<()> {
    if crate::domain::receipt::voids(status) {
        diesel::update(receipts::table.find(pledge_id))
            .filter(receipts::voided_at.is_null())
            .set(receipts::voided_at.eq(Some(now())))
            .execute(conn)?;
    }
    Ok(())
}

/// A receipt with everything it states.
#[derive(Debug, Clone)]
pub struct ReceiptFacts {
    pub receipt: ReceiptRow,
    pub partner_id: String,
    pub refunded: i64,
    pub provider: String,
    pub provider_payment_id: Option<String>,
    pub campaign_title: String,
    pub association_name: String,
    pub association_tax_code: String,
    pub association_runts_id: Option<String>,
    /// None once the donor was erased.
    pub donor_name: Option<String>,
    pub donor_tax_code: Option<String>,
}

type FactsRow = (
    ReceiptRow,
    (String, i64, String, Option<String>),
    String,
    (String, String, Option<String>),
    Option<(Option<String>, Option<String>)>,
);

fn facts(row: FactsRow) -> ReceiptFacts {
    let (receipt, (partner_id, refunded, provider, provider_payment_id), title, asso, donor) = row;
    let (donor_name, donor_tax_code) = donor.unwrap_or((None, None));
    ReceiptFacts {
        receipt,
        partner_id,
        refunded,
        provider,
        provider_payment_id,
        campaign_title: title,
        association_name: asso.0,
        association_tax_code: asso.1,
        association_runts_id: asso.2,
        donor_name,
        donor_tax_code,
    }
}

macro_rules! facts_query {
    () => {
        receipts::table
            .inner_join(pledges::table.left_join(donors::table))
            .inner_join(campaigns::table.on(campaigns::id.eq(receipts::campaign_id)))
            .inner_join(associations::table.on(associations::id.eq(receipts::association_id)))
            .select((
                ReceiptRow::as_select(),
                (
                    pledges::partner_id,
                    pledges::refunded_amount,
                    pledges::provider,
                    pledges::provider_payment_id,
                ),
                campaigns::title,
                (
                    associations::name,
                    associations::tax_code,
                    associations::runts_id,
                ),
                (donors::name, donors::tax_code).nullable(),
            ))
    };
}

/// The receipt of a pledge, if it was ever counted.
pub fn of_pledge(conn: &mut DbConnection, pledge_id: &str) -> QueryResult<Option<ReceiptFacts>> {
    Ok(facts_query!()
        .filter(receipts::pledge_id.eq(pledge_id))
        .first::<FactsRow>(conn)
        .optional()?
        .map(facts))
}

/// The longest year an association's list may hold in one answer; a bigger year is refused
/// rather than cut.
pub const MAX_PER_YEAR: i64 = 100_000;

/// An association's receipts of one year, by number; None when there are more than
/// [`MAX_PER_YEAR`].
pub fn of_year(
    conn: &mut DbConnection,
    association_id: &str,
    year: i32,
) -> QueryResult<Option<Vec<ReceiptFacts>>> {
    let rows: Vec<FactsRow> = facts_query!()
        .filter(receipts::association_id.eq(association_id))
        .filter(receipts::year.eq(year))
        .order(receipts::number)
        .limit(MAX_PER_YEAR + 1)
        .load(conn)?;
    if rows.len() as i64 > MAX_PER_YEAR {
        return Ok(None);
    }
    Ok(Some(rows.into_iter().map(facts).collect()))
}
