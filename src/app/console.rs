//! What the server-rendered pages read (and the few things they prepare) beside the API's use
//! cases: the console's read models, as plain typed structs. Stored states and currencies are
//! read as their types, so a value the code does not know fails the read (no default stands in
//! for it). Every function takes the [`AppState`] and runs on the database's blocking pool.

use super::AppState;
use crate::app::receipts::ReceiptFacts;
use crate::app::transparency::RegisterLine;
use crate::db::models::FundRow;
use crate::db::reconcile::Report;
use crate::db::schema::{
    areas, associations, donors, funders, funds, journal_entries, partners, postings, settlements,
    users,
};
use crate::db::{DbConnection, DbError};
use crate::domain::fund::FunderKind;
use crate::domain::ledger::Account;
use crate::domain::money::Currency;
use crate::domain::role::Role;
use crate::domain::settlement::SettlementStatus;
use chrono::NaiveDateTime;
use diesel::prelude::*;

pub type ReadResult<T> = Result<T, DbError>;

/// A target area, with its stored geometry (GeoJSON).
#[derive(Clone, Debug)]
pub struct AreaEntry {
    pub id: String,
    pub code: String,
    pub name: String,
    pub geometry: String,
}

/// The areas by name (at most 500).
pub async fn areas(state: &AppState) -> ReadResult<Vec<AreaEntry>> {
    state
        .db
        .read(|conn| -> ReadResult<_> {
            let rows = areas::table
                .order(areas::name)
                .limit(500)
                .select((areas::id, areas::code, areas::name, areas::geometry))
                .load::<(String, String, String, String)>(conn)?;
            Ok(rows
                .into_iter()
                .map(|(id, code, name, geometry)| AreaEntry {
                    id,
                    code,
                    name,
                    geometry,
                })
                .collect())
        })
        .await
}

/// A fund as a form offers it.
#[derive(Clone, Debug)]
pub struct FundChoice {
    pub id: String,
    pub name: String,
}

/// The funds by name (at most 100), for the campaign and funder forms.
pub async fn fund_choices(state: &AppState) -> ReadResult<Vec<FundChoice>> {
    state
        .db
        .read(|conn| -> ReadResult<_> {
            let rows = funds::table
                .order(funds::name)
                .limit(100)
                .select((funds::id, funds::name))
                .load::<(String, String)>(conn)?;
            Ok(rows
                .into_iter()
                .map(|(id, name)| FundChoice { id, name })
                .collect())
        })
        .await
}

/// An association's receipts of `year`, by number, once the year's waiting donations are
/// numbered (a write: the receipts queue is served first). Empty for a year too long to list.
pub async fn receipts_of_year(
    state: &AppState,
    association_id: String,
    year: i32,
) -> ReadResult<Vec<ReceiptFacts>> {
    state
        .db
        .run(move |conn| -> ReadResult<_> {
            crate::app::receipts::number_for_year(conn, &association_id, year)?;
            Ok(crate::app::receipts::of_year(conn, &association_id, year)?.unwrap_or_default())
        })
        .await
}

/// What the association may know of a pledge's donor.
#[derive(Clone, Debug)]
pub struct DonorFacts {
    pub pledge_id: String,
    pub anonymous: bool,
    pub contact_consent: bool,
    pub email: Option<String>,
}

/// The donors of these pledges (who gave anonymously, who agreed to be contacted).
pub async fn donors_of(state: &AppState, pledge_ids: Vec<String>) -> ReadResult<Vec<DonorFacts>> {
    state
        .db
        .read(move |conn| -> ReadResult<_> {
            let rows = donors::table
                .filter(donors::pledge_id.eq_any(&pledge_ids))
                .select((
                    donors::pledge_id,
                    donors::anonymous,
                    donors::contact_consent,
                    donors::email,
                ))
                .load::<(String, bool, bool, Option<String>)>(conn)?;
            Ok(rows
                .into_iter()
                .map(
                    |(pledge_id, anonymous, contact_consent, email)| DonorFacts {
                        pledge_id,
                        anonymous,
                        contact_consent,
                        email,
                    },
                )
                .collect())
        })
        .await
}

/// One funder's figures as the journal has them, in the fund's minor units.
#[derive(Clone, Debug)]
pub struct FunderBook {
    pub id: String,
    pub name: String,
    pub budget: i64,
    pub held: i64,
    pub reserved: i64,
    pub committed: i64,
    pub settled: i64,
    /// Neither held, reserved, committed nor settled.
    pub available: i64,
}

/// One posting of a fund's journal to `reserved`, `committed` or `settled`.
#[derive(Clone, Debug)]
pub struct HistoryPosting {
    pub at: NaiveDateTime,
    pub account: Account,
    pub amount: i64,
}

/// A fund as the finance console shows it.
#[derive(Clone, Debug)]
pub struct FundBook {
    pub id: String,
    pub name: String,
    pub currency: Currency,
    /// In draw order.
    pub funders: Vec<FunderBook>,
    /// Oldest first (the latest 5,000 postings).
    pub history: Vec<HistoryPosting>,
}

/// A settlement batch in the finance console's list.
#[derive(Clone, Debug)]
pub struct BatchLine {
    pub id: String,
    pub fund_name: String,
    pub funder_name: String,
    pub funder_kind: FunderKind,
    pub status: SettlementStatus,
    pub total: i64,
    pub currency: Currency,
}

/// The funds the finance console lists (at most 200, by name), each with its funders' figures
/// but without its history.
pub async fn fund_books(state: &AppState) -> ReadResult<Vec<FundBook>> {
    state
        .db
        .read(|conn| -> ReadResult<_> {
            let ids: Vec<String> = funds::table
                .order(funds::name)
                .limit(200)
                .select(funds::id)
                .load(conn)?;
            let mut books = Vec::with_capacity(ids.len());
            for id in ids {
                books.push(fund_book(conn, &id, false)?);
            }
            Ok(books)
        })
        .await
}

/// One fund's book with its history; `None` when there is no such fund.
pub async fn fund_book_with_history(
    state: &AppState,
    fund_id: String,
) -> ReadResult<Option<FundBook>> {
    state
        .db
        .read(move |conn| -> ReadResult<_> {
            let known: i64 = funds::table
                .filter(funds::id.eq(&fund_id))
                .count()
                .get_result(conn)?;
            if known == 0 {
                return Ok(None);
            }
            Ok(Some(fund_book(conn, &fund_id, true)?))
        })
        .await
}

/// The settlement batches (the latest 200, newest first), in one status or any.
pub async fn batch_lines(
    state: &AppState,
    status: Option<SettlementStatus>,
) -> ReadResult<Vec<BatchLine>> {
    state
        .db
        .read(move |conn| -> ReadResult<_> { Ok(batches(conn, status)?) })
        .await
}

/// The reconciliation report, as the finance office's queue shows it.
pub async fn reconciliation(state: &AppState) -> ReadResult<Report> {
    state
        .db
        .read(|conn| -> ReadResult<_> { Ok(crate::db::reconcile::run(conn)?) })
        .await
}

fn fund_book(conn: &mut DbConnection, fund_id: &str, with_history: bool) -> QueryResult<FundBook> {
    let fund: FundRow = crate::db::campaigns::load_fund(conn, fund_id)?;
    let mut balances = crate::db::ledger::funders_balances(conn, &[fund_id])?;
    let funders = crate::db::funders::load_funders(conn, fund_id)?
        .into_iter()
        .map(|f| {
            let b = balances.remove(&f.id).unwrap_or_default();
            FunderBook {
                available: b.budget - b.held - b.reserved - b.committed - b.settled,
                budget: b.budget,
                held: b.held,
                reserved: b.reserved,
                committed: b.committed,
                settled: b.settled,
                id: f.id,
                name: f.name,
            }
        })
        .collect();
    Ok(FundBook {
        history: if with_history {
            fund_history(conn, fund_id)?
        } else {
            Vec::new()
        },
        id: fund.id,
        name: fund.name,
        currency: fund.currency,
        funders,
    })
}

/// A fund's reserved, committed and settled postings in time order (the latest 5,000).
fn fund_history(conn: &mut DbConnection, fund_id: &str) -> QueryResult<Vec<HistoryPosting>> {
    let mut rows: Vec<(NaiveDateTime, Account, i64)> = postings::table
        .inner_join(journal_entries::table)
        .filter(postings::fund_id.eq(fund_id))
        .filter(postings::account.eq_any([Account::Reserved, Account::Committed, Account::Settled]))
        .order((journal_entries::created_at.desc(), postings::id.desc()))
        .limit(5000)
        .select((
            journal_entries::created_at,
            postings::account,
            postings::amount,
        ))
        .load(conn)?;
    rows.reverse();
    Ok(rows
        .into_iter()
        .map(|(at, account, amount)| HistoryPosting {
            at,
            account,
            amount,
        })
        .collect())
}

/// The latest 200 settlement batches, newest first, in one status or any.
fn batches(
    conn: &mut DbConnection,
    status: Option<SettlementStatus>,
) -> QueryResult<Vec<BatchLine>> {
    type Row = (
        String,
        String,
        String,
        SettlementStatus,
        i64,
        Currency,
        String,
    );
    let mut query = settlements::table
        .inner_join(funds::table.on(funds::id.eq(settlements::fund_id)))
        .inner_join(funders::table.on(funders::id.eq(settlements::funder_id)))
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(settlements::status.eq(status.as_str()));
    }
    let rows: Vec<Row> = query
        .order(settlements::id.desc())
        .limit(200)
        .select((
            settlements::id,
            funds::name,
            funders::name,
            settlements::status,
            settlements::total,
            settlements::currency,
            funders::kind,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(
            |(id, fund_name, funder_name, status, total, currency, kind)| {
                let funder_kind = FunderKind::try_from(kind)
                    .map_err(|e| diesel::result::Error::DeserializationError(e.into()))?;
                Ok(BatchLine {
                    id,
                    fund_name,
                    funder_name,
                    funder_kind,
                    status,
                    total,
                    currency,
                })
            },
        )
        .collect()
}

/// An association in the admin's lists.
#[derive(Clone, Debug)]
pub struct AssociationEntry {
    pub id: String,
    pub name: String,
    pub tax_code: String,
}

/// The associations by name (at most 200).
pub async fn associations(state: &AppState) -> ReadResult<Vec<AssociationEntry>> {
    state
        .db
        .read(|conn| -> ReadResult<_> {
            let rows = associations::table
                .order(associations::name)
                .limit(200)
                .select((associations::id, associations::name, associations::tax_code))
                .load::<(String, String, String)>(conn)?;
            Ok(rows
                .into_iter()
                .map(|(id, name, tax_code)| AssociationEntry { id, name, tax_code })
                .collect())
        })
        .await
}

/// A user in the admin's list.
#[derive(Clone, Debug)]
pub struct UserEntry {
    pub id: String,
    pub username: String,
    pub role: Role,
    pub disabled: bool,
}

/// A partner in the admin's list.
#[derive(Clone, Debug)]
pub struct PartnerEntry {
    pub id: String,
    pub name: String,
    pub client_id: String,
    pub disabled: bool,
}

/// The users by username and the partners by name (at most 200 of each).
pub async fn accounts(state: &AppState) -> ReadResult<(Vec<UserEntry>, Vec<PartnerEntry>)> {
    state
        .db
        .read(|conn| -> ReadResult<_> {
            let u = users::table
                .order(users::username)
                .limit(200)
                .select((
                    users::id,
                    users::username,
                    users::role,
                    users::disabled_at.is_not_null(),
                ))
                .load::<(String, String, Role, bool)>(conn)?;
            let p = partners::table
                .order(partners::name)
                .limit(200)
                .select((
                    partners::id,
                    partners::name,
                    partners::client_id,
                    partners::disabled_at.is_not_null(),
                ))
                .load::<(String, String, String, bool)>(conn)?;
            Ok((
                u.into_iter()
                    .map(|(id, username, role, disabled)| UserEntry {
                        id,
                        username,
                        role,
                        disabled,
                    })
                    .collect(),
                p.into_iter()
                    .map(|(id, name, client_id, disabled)| PartnerEntry {
                        id,
                        name,
                        client_id,
                        disabled,
                    })
                    .collect(),
            ))
        })
        .await
}

/// The published awards of `year`, newest first (at most 500 and one).
pub async fn transparency_register(state: &AppState, year: i32) -> ReadResult<Vec<RegisterLine>> {
    state
        .db
        .read(move |conn| -> ReadResult<_> {
            Ok(crate::app::transparency::register(
                conn,
                Some(year),
                None,
                None,
                500,
            )?)
        })
        .await
}

/// The partner the reference checkout (the donation page) pledges as, made on first use.
pub async fn reference_checkout_partner(state: &AppState) -> ReadResult<String> {
    state
        .db
        .run(|conn| -> ReadResult<String> {
            Ok(crate::app::pledges::reference_checkout_partner(conn)?)
        })
        .await
}
