//! Donation receipts (D.Lgs. 117/2017 art. 83), numbered without gaps per association and year.
//!
//! Two steps, so that confirmations of one association do not queue on one row:
//! - **Issued**: the transaction that first counts a donation writes it to `receipt_queue`
//!   (no shared row is touched; a rolled-back confirmation leaves nothing).
//! - **Numbered**: [`number_queued`] moves queued donations into `receipts`, one association
//!   and year and at most 1,000 donations per short transaction: it locks the association,
//!   takes the queued rows in (date, pledge) order, raises `receipt_counters` once for all of
//!   them and writes their receipts. A number is given once, in the transaction that writes its receipt, so numbers
//!   have no gap and no duplicate. It runs whenever the outbox job claims donor messages
//!   (before they are composed, so each e-mail carries its number) and before any receipt is read
//!   ([`number_for_pledge`], [`number_for_year`]): nobody sees a counted donation without its
//!   number.
//!
//! A receipt whose money went back to the donor is voided (numbered first if it was still
//! queued); its number is never given again.

use crate::app::AppState;
use crate::auth::Principal;
use crate::clock::now;
use crate::db::models::ReceiptRow;
use crate::db::schema::{
    associations, campaigns, donors, pledges, receipt_counters, receipt_queue, receipts,
};
use crate::db::{DbConnection, write_tx};
use crate::domain::money::Currency;
use crate::domain::pledge::PledgeStatus;
use crate::domain::role::Role;
use chrono::{Datelike, NaiveDate, NaiveDateTime};
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

/// Queued donations numbered in one batch at most. One statement takes at most 65,535 values
/// on PostgreSQL (a receipt binds 8) and 32,766 on SQLite (one for each queued id it
/// deletes): numbering a whole backlog at once failed once more than 8,191 (32,766) waited,
/// on every pass after, and the outbox job, which numbers before it sends, failed with it.
const NUMBER_BATCH: usize = 1_000;

/// What one batch took from the queue and how many of those it numbered.
struct Batch {
    taken: usize,
    numbered: usize,
}

/// Numbers the first [`NUMBER_BATCH`] queued donations of one association's year, in date
/// order, in the caller's transaction (see the module). Locks the association row first
/// (numberers of one association take their turns; confirmations and payments do not lock
/// it), the counter last.
fn number_batch(conn: &mut DbConnection, association_id: &str, year: i32) -> QueryResult<Batch> {
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
        .limit(NUMBER_BATCH as i64)
        .load(conn)?;
    let taken = rows.len();
    if taken == 0 {
        return Ok(Batch { taken, numbered: 0 });
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
        return Ok(Batch { taken, numbered: 0 });
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
    Ok(Batch {
        taken,
        numbered: rows.len(),
    })
}

/// Numbers every queued donation of one association's year in the caller's transaction, a
/// batch at a time. Returns how many were numbered.
fn number_in_tx(conn: &mut DbConnection, association_id: &str, year: i32) -> QueryResult<usize> {
    let mut numbered = 0;
    loop {
        let batch = number_batch(conn, association_id, year)?;
        numbered += batch.numbered;
        if batch.taken < NUMBER_BATCH {
            return Ok(numbered);
        }
    }
}

/// Numbers every queued donation of one association's year, a batch per transaction (a
/// backlog does not hold the association, or SQLite's writer, for long). Not inside a
/// transaction. Returns how many were numbered.
fn number_year(conn: &mut DbConnection, association_id: &str, year: i32) -> QueryResult<usize> {
    let mut numbered = 0;
    loop {
        let batch = write_tx(conn, |conn| number_batch(conn, association_id, year))?;
        numbered += batch.numbered;
        if batch.taken < NUMBER_BATCH {
            return Ok(numbered);
        }
    }
}

/// Numbers every queued donation, one association's year at a time. Not inside a
/// transaction. Returns how many were numbered.
pub fn number_queued(conn: &mut DbConnection) -> QueryResult<usize> {
    let years: Vec<(String, i32)> = receipt_queue::table
        .select((receipt_queue::association_id, receipt_queue::year))
        .distinct()
        .order((receipt_queue::association_id, receipt_queue::year))
        .load(conn)?;
    let mut numbered = 0;
    for (association_id, year) in years {
        numbered += number_year(conn, &association_id, year)?;
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
    number_year(conn, association_id, year)
}

/// Numbers the queued donations of the association and year of `pledge_id`'s receipt, if it
/// is queued (before that receipt is shown). Not inside a transaction.
pub fn number_for_pledge(conn: &mut DbConnection, pledge_id: &str) -> QueryResult<usize> {
    let Some((association_id, year)) = queued_year(conn, pledge_id)? else {
        return Ok(0);
    };
    number_year(conn, &association_id, year)
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
    /// A bank transfer's own reference at the bank (from the statement that showed it).
    pub bank_reference: Option<String>,
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
        bank_reference: None,
    }
}

/// Fills in the bank's references of receipts paid by bank transfer (one query).
fn with_bank_references(
    conn: &mut DbConnection,
    mut list: Vec<ReceiptFacts>,
) -> QueryResult<Vec<ReceiptFacts>> {
    use crate::db::schema::bank_entries;
    use crate::domain::bank_entry::BankEntryStatus;
    let by_bank: Vec<String> = list
        .iter()
        .filter(|f| f.provider == crate::config::ProviderKind::BankTransfer.as_str())
        .map(|f| f.receipt.pledge_id.clone())
        .collect();
    if by_bank.is_empty() {
        return Ok(list);
    }
    let found: Vec<(Option<String>, Option<String>)> = bank_entries::table
        .filter(bank_entries::pledge_id.eq_any(&by_bank))
        .filter(bank_entries::status.eq_any([BankEntryStatus::Matched, BankEntryStatus::Assigned]))
        .select((bank_entries::pledge_id, bank_entries::bank_reference))
        .load(conn)?;
    let refs: std::collections::HashMap<String, String> = found
        .into_iter()
        .filter_map(|(p, r)| Some((p?, r?)))
        .collect();
    for f in &mut list {
        f.bank_reference = refs.get(&f.receipt.pledge_id).cloned();
    }
    Ok(list)
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
    let found: Vec<ReceiptFacts> = facts_query!()
        .filter(receipts::pledge_id.eq(pledge_id))
        .first::<FactsRow>(conn)
        .optional()?
        .map(facts)
        .into_iter()
        .collect();
    Ok(with_bank_references(conn, found)?.pop())
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
    Ok(Some(with_bank_references(
        conn,
        rows.into_iter().map(facts).collect(),
    )?))
}

impl ReceiptFacts {
    /// What went back to the donor, at most the donated amount.
    pub fn refunded_part(&self) -> i64 {
        self.refunded.min(self.receipt.amount)
    }

    /// What the donor gave and kept given: the amount less what went back.
    pub fn net_amount(&self) -> i64 {
        self.receipt.amount - self.refunded_part()
    }
}

/// Why a receipt or an association's list was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    /// No such pledge, or its donation was never counted.
    #[error("no such receipt")]
    NotFound,
    #[error("no such association")]
    AssociationNotFound,
    /// The receipt of another partner's or association's donation.
    #[error("this receipt belongs to another partner's or association's donation")]
    NotYours,
    /// Another association's list.
    #[error("this is another association's")]
    OtherAssociation,
    /// A role that may not read an association's lists.
    #[error("this role may not read an association's donations")]
    RoleMayNotRead,
    #[error("invalid fields")]
    Invalid(Vec<super::funds::Invalid>),
    /// More receipts in the year than one list holds ([`MAX_PER_YEAR`]).
    #[error("more receipts than one list holds")]
    TooMany,
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
}

impl From<diesel::result::Error> for ReceiptError {
    fn from(e: diesel::result::Error) -> ReceiptError {
        ReceiptError::Db(crate::db::DbError::Query(e))
    }
}

/// Finance and admin read every receipt; a partner those of its pledges, an association those
/// of its campaigns' donations.
fn may_read(reader: &Principal, owners: &ReceiptOwners) -> Result<(), ReceiptError> {
    match reader.role {
        Role::Admin | Role::Finance => Ok(()),
        Role::Partner if reader.partner_id.as_deref() == Some(owners.partner_id.as_str()) => Ok(()),
        Role::Association
            if reader.association_id.as_deref() == Some(owners.association_id.as_str()) =>
        {
            Ok(())
        }
        _ => Err(ReceiptError::NotYours),
    }
}

/// The association itself, finance or admin; anyone else is refused.
fn may_read_association(reader: &Principal, association_id: &str) -> Result<(), ReceiptError> {
    match reader.role {
        Role::Admin | Role::Finance => Ok(()),
        Role::Association if reader.association_id.as_deref() == Some(association_id) => Ok(()),
        Role::Association => Err(ReceiptError::OtherAssociation),
        _ => Err(ReceiptError::RoleMayNotRead),
    }
}

/// The donor as the reader may see them: the association does not see anonymous donors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownDonor {
    pub name: Option<String>,
    pub tax_code: Option<String>,
}

fn shown_donor(reader: &Principal, f: &ReceiptFacts, anonymous: bool) -> ShownDonor {
    if reader.role == Role::Association && anonymous {
        return ShownDonor {
            name: None,
            tax_code: None,
        };
    }
    ShownDonor {
        name: f.donor_name.clone(),
        tax_code: f.donor_tax_code.clone(),
    }
}

/// A receipt as its reader may see it.
#[derive(Debug, Clone)]
pub struct ShownReceipt {
    pub facts: ReceiptFacts,
    /// The donor asked to stay anonymous to the association.
    pub anonymous: bool,
    pub donor: ShownDonor,
}

fn is_anonymous(conn: &mut DbConnection, pledge_id: &str) -> QueryResult<bool> {
    Ok(donors::table
        .find(pledge_id)
        .select(donors::anonymous)
        .first::<bool>(conn)
        .optional()?
        .unwrap_or(false))
}

/// A donation's receipt for `reader` (the partner that took the pledge, the association that
/// received it, finance, admin), numbered first if it was still queued. Whose it is is read
/// first: a refused request numbers nothing.
pub async fn receipt(
    state: &AppState,
    reader: Principal,
    pledge_id: String,
) -> Result<ShownReceipt, ReceiptError> {
    state
        .db
        .run(move |conn| -> Result<ShownReceipt, ReceiptError> {
            let owners = owners(conn, &pledge_id)?.ok_or(ReceiptError::NotFound)?;
            may_read(&reader, &owners)?;
            number_for_pledge(conn, &pledge_id)?;
            let facts = of_pledge(conn, &pledge_id)?.ok_or(ReceiptError::NotFound)?;
            let anonymous = is_anonymous(conn, &pledge_id)?;
            let donor = shown_donor(&reader, &facts, anonymous);
            Ok(ShownReceipt {
                facts,
                anonymous,
                donor,
            })
        })
        .await
}

/// The calendar year asked for (this year by default), 2000–2200.
fn year_of(year: Option<i32>) -> Result<i32, ReceiptError> {
    let year = year.unwrap_or_else(|| now().year());
    if !(2000..=2200).contains(&year) {
        return Err(ReceiptError::Invalid(vec![super::funds::Invalid::new(
            "year",
            "must be between 2000 and 2200",
        )]));
    }
    Ok(year)
}

fn association_exists(conn: &mut DbConnection, id: &str) -> Result<(), ReceiptError> {
    let n: i64 = associations::table.find(id).count().get_result(conn)?;
    if n == 0 {
        return Err(ReceiptError::AssociationNotFound);
    }
    Ok(())
}

/// An association's receipts of a year, by number (voided ones included, so the numbering
/// shows no gap), each numbered first if it was still queued.
pub struct YearOfReceipts {
    pub year: i32,
    pub receipts: Vec<ShownReceipt>,
}

/// The year's receipts of an association (`year`: this year by default) for `reader` (the
/// association itself, finance, admin): what it sends to the Agenzia delle Entrate.
pub async fn donations(
    state: &AppState,
    reader: Principal,
    association_id: String,
    year: Option<i32>,
) -> Result<YearOfReceipts, ReceiptError> {
    may_read_association(&reader, &association_id)?;
    let year = year_of(year)?;
    let receipts = state
        .db
        .run(move |conn| -> Result<Vec<ShownReceipt>, ReceiptError> {
            association_exists(conn, &association_id)?;
            number_for_year(conn, &association_id, year)?;
            let rows = of_year(conn, &association_id, year)?.ok_or(ReceiptError::TooMany)?;
            let ids: Vec<&str> = rows.iter().map(|r| r.receipt.pledge_id.as_str()).collect();
            let mut anonymous = std::collections::HashSet::new();
            for chunk in ids.chunks(500) {
                let found: Vec<String> = donors::table
                    .filter(donors::pledge_id.eq_any(chunk))
                    .filter(donors::anonymous.eq(true))
                    .select(donors::pledge_id)
                    .load(conn)?;
                anonymous.extend(found);
            }
            Ok(rows
                .into_iter()
                .map(|facts| {
                    let anonymous = anonymous.contains(&facts.receipt.pledge_id);
                    ShownReceipt {
                        donor: shown_donor(&reader, &facts, anonymous),
                        facts,
                        anonymous,
                    }
                })
                .collect())
        })
        .await?;
    Ok(YearOfReceipts { year, receipts })
}

/// One payment of public money an association received.
#[derive(Debug, Clone)]
pub struct PublicPayment {
    /// The public body that paid.
    pub funder_name: String,
    pub funder_tax_code: Option<String>,
    pub fund_id: String,
    pub fund_name: String,
    pub cup: Option<String>,
    pub amount: i64,
    pub paid_at: NaiveDateTime,
    pub causale: String,
    pub settlement_id: String,
    pub campaign_ids: Vec<String>,
}

/// The public money an association received in a year (cash basis), for the publication L.
/// 124/2017 art. 1 c. 125 asks of the association itself.
pub struct PublicFunding {
    pub year: i32,
    pub currency: Currency,
    pub total: i64,
    /// By payment date.
    pub payments: Vec<PublicPayment>,
}

/// Public money paid to an association in a year (`year`: this year by default), for `reader`
/// (the association itself, finance, admin): each confirmed payment by a public funder.
pub async fn public_funding(
    state: &AppState,
    reader: Principal,
    association_id: String,
    year: Option<i32>,
) -> Result<PublicFunding, ReceiptError> {
    use crate::db::schema::{funders, funds, settlement_items, settlement_lines, settlements};
    use crate::domain::fund::FunderKind;
    use crate::domain::settlement::{ItemStatus, SettlementStatus};
    may_read_association(&reader, &association_id)?;
    let year = year_of(year)?;
    let not_a_year = || {
        ReceiptError::Invalid(vec![super::funds::Invalid::new(
            "year",
            "not a calendar year",
        )])
    };
    let from = NaiveDate::from_ymd_opt(year, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .ok_or_else(not_a_year)?;
    let to = NaiveDate::from_ymd_opt(year + 1, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .ok_or_else(not_a_year)?;
    type Row = (
        String,
        i64,
        String,
        NaiveDateTime,
        String,
        Option<String>,
        String,
        String,
        Option<String>,
        String,
    );
    /// (settlement item, campaign) pairs.
    type ItemCampaigns = Vec<(String, String)>;
    let (rows, lines) = state
        .db
        .read(
            move |conn| -> Result<(Vec<Row>, ItemCampaigns), ReceiptError> {
                association_exists(conn, &association_id)?;
                let rows: Vec<Row> = settlement_items::table
                    .inner_join(settlements::table)
                    .inner_join(funders::table.on(funders::id.eq(settlements::funder_id)))
                    .inner_join(funds::table.on(funds::id.eq(settlements::fund_id)))
                    .filter(settlement_items::association_id.eq(&association_id))
                    .filter(settlement_items::status.eq(ItemStatus::Settled))
                    .filter(settlements::status.eq(SettlementStatus::Confirmed))
                    // `FunderKind` has no `ToSql` in `db::stored` yet: compared as its stored text.
                    .filter(funders::kind.eq(FunderKind::Public))
                    .filter(settlements::paid_at.ge(from))
                    .filter(settlements::paid_at.lt(to))
                    .order((settlements::paid_at, settlement_items::id))
                    .limit(10_000)
                    .select((
                        settlement_items::id,
                        settlement_items::amount,
                        settlement_items::remittance,
                        settlements::paid_at.assume_not_null(),
                        funders::name,
                        funders::tax_code,
                        funds::id,
                        funds::name,
                        funds::cup,
                        settlements::id,
                    ))
                    .load(conn)?;
                let item_ids: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
                let mut lines = Vec::new();
                for chunk in item_ids.chunks(500) {
                    lines.extend(
                        settlement_lines::table
                            .filter(settlement_lines::item_id.eq_any(chunk))
                            .select((settlement_lines::item_id, settlement_lines::campaign_id))
                            .load::<(String, String)>(conn)?,
                    );
                }
                Ok((rows, lines))
            },
        )
        .await?;
    let total: i64 = rows.iter().map(|r| r.1).sum();
    let payments = rows
        .into_iter()
        .map(|r| PublicPayment {
            campaign_ids: lines
                .iter()
                .filter(|(item, _)| *item == r.0)
                .map(|(_, c)| c.clone())
                .collect(),
            amount: r.1,
            causale: r.2,
            paid_at: r.3,
            funder_name: r.4,
            funder_tax_code: r.5,
            fund_id: r.6,
            fund_name: r.7,
            cup: r.8,
            settlement_id: r.9,
        })
        .collect();
    Ok(PublicFunding {
        year,
        // Public bodies pay in euro.
        currency: Currency::EUR,
        total,
        payments,
    })
}
