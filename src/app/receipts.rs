//! Donation receipts (D.Lgs. 117/2017 art. 83), numbered without gaps per association and year.
//!
//! Two steps, so that confirmations of one association do not queue on one row:
//! - **Issued**: the transaction that first counts a donation writes it to `receipt_queue`
//!   (no shared row is touched; a rolled-back confirmation leaves nothing).
//! - **Numbered**: [`number_queued`] moves queued donations into `receipts`, one association
//!   and year per short transaction: it locks the association, takes the queued rows in
//!   (date, pledge) order, raises `receipt_counters` once for all of them and writes their
//!   receipts. A number is given once, in the transaction that writes its receipt, so numbers
//!   have no gap and no duplicate. It runs whenever the outbox job claims donor messages
//!   (before they are composed, so each e-mail carries its number) and before any receipt is read
//!   ([`number_for_pledge`], [`number_for_year`]): nobody sees a counted donation without its
//!   number.
//!
//! A receipt whose money went back to the donor is voided (numbered first if it was still
//! queued); its number is never given again.

use crate::clock::now;
use crate::db::models::ReceiptRow;
use crate::db::schema::{
    associations, campaigns, donors, pledges, receipt_counters, receipt_queue, receipts,
};
use crate::db::{DbConnection, write_tx};
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

/// Issues the receipts of donations counted for the first time, in the caller's transaction:
/// each is queued for its number (see the module), in one statement whatever the batch. A
/// donation is counted for the first time once (its pledge's `paid` never goes back, and it is
/// set under the pledge's row lock), so nothing is read first: a donation already queued is
/// left as it is, and one already numbered is dropped from the queue when it is numbered.
pub fn issue_all(
    conn: &mut DbConnection,
    donations: Vec<(String, Donation<'_>)>,
) -> QueryResult<()> {
    if donations.is_empty() {
        return Ok(());
    }
    let mut rows: Vec<_> = donations
        .iter()
        .map(|(association_id, d)| {
            (
                receipt_queue::pledge_id.eq(d.pledge_id),
                receipt_queue::association_id.eq(association_id.as_str()),
                receipt_queue::campaign_id.eq(d.campaign_id),
                receipt_queue::year.eq(d.at.year()),
                receipt_queue::amount.eq(d.amount),
                receipt_queue::currency.eq(d.currency),
                receipt_queue::issued_at.eq(d.at),
            )
        })
        .collect();
    if let (DbConnection::Sqlite(_), [_]) = (&*conn, rows.as_slice()) {
        // One donation (SQLite confirms one at a time): a statement worth keeping prepared.
        let row = rows.pop().expect("one row");
        let insert = diesel::insert_into(receipt_queue::table)
            .values(row)
            .on_conflict_do_nothing();
        crate::db::cached::execute(conn, insert)?;
        return Ok(());
    }
    let insert = diesel::insert_into(receipt_queue::table)
        .values(&rows)
        .on_conflict_do_nothing();
    match conn {
        DbConnection::Postgresql(c) => insert.execute(c)?,
        DbConnection::Sqlite(c) => insert.execute(c)?,
    };
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

/// A queued donation.
type Queued = (String, String, i64, Currency, NaiveDateTime);

/// Numbers the queued donations of one association's year, in the caller's transaction (see
/// the module). Locks the association row first (numberers of one
/// association take their turns; confirmations and payments do not lock it), the counter
/// last. Returns how many were numbered.
fn number_in_tx(conn: &mut DbConnection, association_id: &str, year: i32) -> QueryResult<usize> {
    let me = associations::table
        .find(association_id)
        .select(associations::id);
    if let DbConnection::Postgresql(c) = conn {
        me.for_no_key_update().first::<String>(c)?;
    }
    let rows: Vec<Queued> = receipt_queue::table
        .filter(receipt_queue::association_id.eq(association_id))
        .filter(receipt_queue::year.eq(year))
        .order((receipt_queue::issued_at, receipt_queue::pledge_id))
        .select((
            receipt_queue::pledge_id,
            receipt_queue::campaign_id,
            receipt_queue::amount,
            receipt_queue::currency,
            receipt_queue::issued_at,
        ))
        .load(conn)?;
    if rows.is_empty() {
        return Ok(0);
    }
    let ids: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    diesel::delete(receipt_queue::table.filter(receipt_queue::pledge_id.eq_any(&ids)))
        .execute(conn)?;
    // A donation that already has its receipt keeps it (and its number).
    let numbered: std::collections::HashSet<String> = receipts::table
        .filter(receipts::pledge_id.eq_any(&ids))
        .select(receipts::pledge_id)
        .load(conn)?
        .into_iter()
        .collect();
    let rows: Vec<Queued> = rows
        .into_iter()
        .filter(|r| !numbered.contains(&r.0))
        .collect();
    if rows.is_empty() {
        return Ok(0);
    }
    let first = take_numbers(conn, association_id, year, rows.len() as i32)?;
    let receipts: Vec<ReceiptRow> = rows
        .iter()
        .enumerate()
        .map(
            |(i, (pledge_id, campaign_id, amount, currency, at))| ReceiptRow {
                pledge_id: pledge_id.clone(),
                association_id: association_id.to_string(),
                campaign_id: campaign_id.clone(),
                year,
                number: first + i as i32,
                amount: *amount,
                currency: *currency,
                issued_at: *at,
                voided_at: None,
            },
        )
        .collect();
    let insert = diesel::insert_into(receipts::table).values(&receipts);
    match conn {
        DbConnection::Postgresql(c) => insert.execute(c)?,
        DbConnection::Sqlite(c) => insert.execute(c)?,
    };
    Ok(rows.len())
}

/// Numbers every queued donation, one association's year per transaction. Not inside a
/// transaction. Returns how many were numbered.
pub fn number_queued(conn: &mut DbConnection) -> QueryResult<usize> {
    let years: Vec<(String, i32)> = receipt_queue::table
        .select((receipt_queue::association_id, receipt_queue::year))
        .distinct()
        .order((receipt_queue::association_id, receipt_queue::year))
        .load(conn)?;
    let mut numbered = 0;
    for (association_id, year) in years {
        numbered += write_tx(conn, |conn| number_in_tx(conn, &association_id, year))?;
    }
    Ok(numbered)
}

/// Numbers `association_id`'s queued donations of `year` (before its receipts are listed).
/// Not inside a transaction.
pub fn number_for_year(
    conn: &mut DbConnection,
    association_id: &str,
    year: i32,
) -> QueryResult<usize> {
    let waiting: i64 = receipt_queue::table
        .filter(receipt_queue::association_id.eq(association_id))
        .filter(receipt_queue::year.eq(year))
        .count()
        .get_result(conn)?;
    if waiting == 0 {
        return Ok(0);
    }
    write_tx(conn, |conn| number_in_tx(conn, association_id, year))
}

/// Numbers the queued donations of the association and year of `pledge_id`'s receipt, if it
/// is queued (before that receipt is shown). Not inside a transaction.
pub fn number_for_pledge(conn: &mut DbConnection, pledge_id: &str) -> QueryResult<usize> {
    let Some((association_id, year)) = queued_year(conn, pledge_id)? else {
        return Ok(0);
    };
    write_tx(conn, |conn| number_in_tx(conn, &association_id, year))
}

/// Who may read a donation's receipt besides the finance office: the partner that took the
/// pledge and the association whose campaign it went to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptOwners {
    pub partner_id: String,
    pub association_id: String,
}

/// The owners of `pledge_id`'s receipt, None for an unknown pledge: read before anything is
/// numbered, so that a request its reader may not make writes nothing.
pub fn owners(conn: &mut DbConnection, pledge_id: &str) -> QueryResult<Option<ReceiptOwners>> {
    Ok(pledges::table
        .inner_join(campaigns::table)
        .filter(pledges::id.eq(pledge_id))
        .select((pledges::partner_id, campaigns::association_id))
        .first::<(String, String)>(conn)
        .optional()?
        .map(|(partner_id, association_id)| ReceiptOwners {
            partner_id,
            association_id,
        }))
}

fn queued_year(conn: &mut DbConnection, pledge_id: &str) -> QueryResult<Option<(String, i32)>> {
    receipt_queue::table
        .find(pledge_id)
        .select((receipt_queue::association_id, receipt_queue::year))
        .first(conn)
        .optional()
}

/// Voids a donation's receipt once its money is all back with the donor (once: a voided
/// receipt stays as it was voided). A receipt still queued is numbered first with the rest of
/// its association's queue (in date order), in the caller's transaction, the counter being the
/// last row it locks: every counted donation keeps a number.
pub fn void_if_returned(
    conn: &mut DbConnection,
    pledge_id: &str,
    status: PledgeStatus,
) -> QueryResult<()> {
    if crate::domain::receipt::voids(status) {
        if let Some((association_id, year)) = queued_year(conn, pledge_id)? {
            number_in_tx(conn, &association_id, year)?;
        }
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
