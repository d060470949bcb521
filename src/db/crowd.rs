//! The crowd's money: each succeeded campaign's crowd position, its journal, the payouts, the
//! reversals and the bank batches — persistence only. `post` is the crowd ledger's one door:
//! it moves an amount between two crowd accounts (the position's balances and a journal
//! entry, in the caller's transaction, conditional on the balances it was given); the plans
//! are `domain::crowd`'s, applied by `app::payouts`.

use super::DbConnection;
use super::schema::{
    crowd_entries, crowd_positions, payout_accounts, payout_batches, payout_reversals, payouts,
};
use crate::clock::now;
use crate::domain::crowd::{
    CrowdMovement, PayoutAccountStatus, PayoutBatchStatus, PayoutMethod, PayoutStatus, Position,
    ReversalStatus,
};
use crate::domain::ids::{self, PayoutBatchId, PayoutId, ReversalId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = payout_accounts)]
pub struct PayoutAccountRow {
    pub association_id: String,
    pub provider: String,
    pub account_id: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: PayoutAccountStatus,
    pub status_at: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = crowd_positions)]
pub struct PositionRow {
    pub campaign_id: String,
    pub association_id: String,
    pub currency: String,
    pub collected: i64,
    pub refunded: i64,
    pub clearing: i64,
    pub fees: i64,
    pub payable: i64,
    pub paid_out: i64,
    pub reversing: i64,
    pub owed: i64,
    pub fee_ratio: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl PositionRow {
    pub fn position(&self) -> Position {
        Position {
            collected: self.collected,
            refunded: self.refunded,
            clearing: self.clearing,
            fees: self.fees,
            payable: self.payable,
            paid_out: self.paid_out,
            reversing: self.reversing,
            owed: self.owed,
        }
    }

    /// The fee ratio fixed when the campaign was decided.
    pub fn fee_ratio(&self) -> Option<rust_decimal::Decimal> {
        self.fee_ratio.as_deref().and_then(|r| r.parse().ok())
    }
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = payouts)]
pub struct PayoutRow {
    pub id: PayoutId,
    pub campaign_id: String,
    pub association_id: String,
    pub seq: i32,
    pub amount: i64,
    pub fee: i64,
    pub currency: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub method: PayoutMethod,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: PayoutStatus,
    pub destination: String,
    pub provider_reference: Option<String>,
    pub batch_id: Option<String>,
    pub attempts: i32,
    pub reversed: i64,
    pub failure: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub paid_at: Option<NaiveDateTime>,
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = payout_reversals)]
pub struct ReversalRow {
    pub id: ReversalId,
    pub campaign_id: String,
    pub payout_id: Option<String>,
    pub amount: i64,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: ReversalStatus,
    pub provider_reference: Option<String>,
    pub failure: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = payout_batches)]
pub struct PayoutBatchRow {
    pub id: PayoutBatchId,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: PayoutBatchStatus,
    pub currency: String,
    pub total: i64,
    pub item_count: i32,
    pub message_id: String,
    pub bank_reference: Option<String>,
    pub paid_at: Option<NaiveDateTime>,
    pub created_by: String,
    pub confirmed_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub confirmed_at: Option<NaiveDateTime>,
    pub cancelled_at: Option<NaiveDateTime>,
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = crowd_entries)]
pub struct CrowdEntryRow {
    pub id: String,
    pub campaign_id: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub movement: CrowdMovement,
    pub debit: String,
    pub credit: String,
    pub amount: i64,
    pub payout_id: Option<String>,
    pub reversal_id: Option<String>,
    pub created_at: NaiveDateTime,
}

/// What the crowd gave a campaign through the provider, net of refunds and lost disputes:
/// what its payouts come from. Bank-transfer donations are not: they reached the association's
/// own account.
pub fn crowd_raised(
    conn: &mut DbConnection,
    campaign: &super::models::CampaignRow,
) -> QueryResult<i64> {
    Ok(campaign.raised - super::bank::bank_counted(conn, &campaign.id)?)
}

// ---- payout accounts ----

pub fn account(
    conn: &mut DbConnection,
    association_id: &str,
) -> QueryResult<Option<PayoutAccountRow>> {
    payout_accounts::table
        .find(association_id)
        .select(PayoutAccountRow::as_select())
        .first(conn)
        .optional()
}

/// Records the association's new account; false when it already has one (a concurrent
/// request made it first: the provider's idempotency key gave both the same account).
pub fn insert_account(conn: &mut DbConnection, row: &PayoutAccountRow) -> QueryResult<bool> {
    if account(conn, &row.association_id)?.is_some() {
        return Ok(false);
    }
    match diesel::insert_into(payout_accounts::table)
        .values(row.clone())
        .execute(conn)
    {
        Ok(n) => Ok(n == 1),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Applies an account event: only if it is not older than the last one applied (events come
/// in any order). Returns whether the status row changed.
pub fn set_account_status(
    conn: &mut DbConnection,
    account_id: &str,
    status: PayoutAccountStatus,
    at: i64,
) -> QueryResult<bool> {
    Ok(diesel::update(payout_accounts::table)
        .filter(payout_accounts::account_id.eq(account_id))
        .filter(payout_accounts::status_at.le(at))
        .set((
            payout_accounts::status.eq(status),
            payout_accounts::status_at.eq(at),
            payout_accounts::updated_at.eq(now()),
        ))
        .execute(conn)?
        == 1)
}

/// The associations whose account can receive transfers, and their account ids.
pub fn active_accounts(
    conn: &mut DbConnection,
    association_ids: &[String],
) -> QueryResult<Vec<(String, String)>> {
    payout_accounts::table
        .filter(payout_accounts::association_id.eq_any(association_ids))
        .filter(payout_accounts::status.eq(PayoutAccountStatus::Active))
        .select((payout_accounts::association_id, payout_accounts::account_id))
        .load(conn)
}

// ---- positions and the crowd ledger door ----

pub fn position(conn: &mut DbConnection, campaign_id: &str) -> QueryResult<Option<PositionRow>> {
    crowd_positions::table
        .find(campaign_id)
        .select(PositionRow::as_select())
        .first(conn)
        .optional()
}

/// Reads a campaign's crowd position under its row lock (PostgreSQL `FOR UPDATE`; SQLite's
/// write transaction excludes every other writer): every crowd movement reads it so.
pub fn lock_position(
    conn: &mut DbConnection,
    campaign_id: &str,
) -> QueryResult<Option<PositionRow>> {
    match conn {
        DbConnection::Postgresql(c) => crowd_positions::table
            .find(campaign_id)
            .select(PositionRow::as_select())
            .for_update()
            .first(c)
            .optional(),
        DbConnection::Sqlite(c) => crowd_positions::table
            .find(campaign_id)
            .select(PositionRow::as_select())
            .first(c)
            .optional(),
    }
}

/// Opens a succeeded campaign's (empty) crowd position; nothing if it has one.
pub fn open_position(
    conn: &mut DbConnection,
    campaign_id: &str,
    association_id: &str,
    currency: &str,
    fee_ratio: Option<rust_decimal::Decimal>,
) -> QueryResult<()> {
    if position(conn, campaign_id)?.is_some() {
        return Ok(());
    }
    let t = now();
    diesel::insert_into(crowd_positions::table)
        .values((
            crowd_positions::campaign_id.eq(campaign_id),
            crowd_positions::association_id.eq(association_id),
            crowd_positions::currency.eq(currency),
            crowd_positions::fee_ratio.eq(fee_ratio.map(|r| r.normalize().to_string())),
            crowd_positions::created_at.eq(t),
            crowd_positions::updated_at.eq(t),
        ))
        .execute(conn)?;
    Ok(())
}

/// References an entry carries.
#[derive(Debug, Clone, Copy, Default)]
pub struct EntryRefs<'a> {
    pub payout: Option<&'a str>,
    pub reversal: Option<&'a str>,
}

/// The crowd ledger's door: moves each `(movement, amount)` in order from `read` (the
/// position as the caller read it under its lock), writing the new balances only where they
/// are still `read`, and one journal entry per movement. Returns the new position, or None
/// (nothing written) when a movement is not covered or the position moved meanwhile.
pub fn post(
    conn: &mut DbConnection,
    read: &PositionRow,
    movements: &[(CrowdMovement, i64)],
    refs: EntryRefs<'_>,
) -> QueryResult<Option<Position>> {
    if movements.is_empty() {
        return Ok(Some(read.position()));
    }
    let old = read.position();
    let Some(new) = crate::domain::crowd::apply(old, movements) else {
        return Ok(None);
    };
    let t = now();
    let updated = diesel::update(crowd_positions::table.find(&read.campaign_id))
        .filter(crowd_positions::collected.eq(old.collected))
        .filter(crowd_positions::refunded.eq(old.refunded))
        .filter(crowd_positions::clearing.eq(old.clearing))
        .filter(crowd_positions::fees.eq(old.fees))
        .filter(crowd_positions::payable.eq(old.payable))
        .filter(crowd_positions::paid_out.eq(old.paid_out))
        .filter(crowd_positions::reversing.eq(old.reversing))
        .filter(crowd_positions::owed.eq(old.owed))
        .set((
            crowd_positions::collected.eq(new.collected),
            crowd_positions::refunded.eq(new.refunded),
            crowd_positions::clearing.eq(new.clearing),
            crowd_positions::fees.eq(new.fees),
            crowd_positions::payable.eq(new.payable),
            crowd_positions::paid_out.eq(new.paid_out),
            crowd_positions::reversing.eq(new.reversing),
            crowd_positions::owed.eq(new.owed),
            crowd_positions::updated_at.eq(t),
        ))
        .execute(conn)?;
    if updated != 1 {
        return Ok(None);
    }
    let entries: Vec<CrowdEntryRow> = movements
        .iter()
        .map(|&(movement, amount)| {
            let (debit, credit) = movement.legs();
            CrowdEntryRow {
                id: ids::new_id(ids::CROWD_ENTRY),
                campaign_id: read.campaign_id.clone(),
                movement,
                debit: debit.as_str().to_string(),
                credit: credit.as_str().to_string(),
                amount,
                payout_id: refs.payout.map(str::to_string),
                reversal_id: refs.reversal.map(str::to_string),
                created_at: t,
            }
        })
        .collect();
    for e in entries {
        diesel::insert_into(crowd_entries::table)
            .values(e)
            .execute(conn)?;
    }
    Ok(Some(new))
}

pub fn entries(conn: &mut DbConnection, campaign_id: &str) -> QueryResult<Vec<CrowdEntryRow>> {
    crowd_entries::table
        .filter(crowd_entries::campaign_id.eq(campaign_id))
        .order((crowd_entries::created_at, crowd_entries::id))
        .select(CrowdEntryRow::as_select())
        .load(conn)
}

// ---- payouts ----

pub fn payout(conn: &mut DbConnection, id: &str) -> QueryResult<Option<PayoutRow>> {
    payouts::table
        .find(id)
        .select(PayoutRow::as_select())
        .first(conn)
        .optional()
}

pub fn payouts_of_campaign(
    conn: &mut DbConnection,
    campaign_id: &str,
) -> QueryResult<Vec<PayoutRow>> {
    payouts::table
        .filter(payouts::campaign_id.eq(campaign_id))
        .order(payouts::seq)
        .select(PayoutRow::as_select())
        .load(conn)
}

/// A new payout, numbered after the campaign's last one.
#[allow(clippy::too_many_arguments)]
pub fn insert_payout(
    conn: &mut DbConnection,
    position: &PositionRow,
    amount: i64,
    fee: i64,
    method: PayoutMethod,
    destination: &str,
    batch_id: Option<&str>,
) -> QueryResult<PayoutRow> {
    let seq: Option<i32> = payouts::table
        .filter(payouts::campaign_id.eq(&position.campaign_id))
        .select(diesel::dsl::max(payouts::seq))
        .first(conn)?;
    let t = now();
    let row = PayoutRow {
        id: PayoutId::generate(),
        campaign_id: position.campaign_id.clone(),
        association_id: position.association_id.clone(),
        seq: seq.unwrap_or(0) + 1,
        amount,
        fee,
        currency: position.currency.clone(),
        method,
        status: PayoutStatus::Pending,
        destination: destination.to_string(),
        provider_reference: None,
        batch_id: batch_id.map(str::to_string),
        attempts: 0,
        reversed: 0,
        failure: None,
        created_at: t,
        updated_at: t,
        paid_at: None,
    };
    diesel::insert_into(payouts::table)
        .values(row.clone())
        .execute(conn)?;
    Ok(row)
}

/// Claims a pending payout's next attempt at the provider: one more attempt, unless another
/// pass counted one since `seen` was read (then that pass has it, and this one leaves it).
pub fn claim_attempt(conn: &mut DbConnection, id: &str, seen: i32) -> QueryResult<bool> {
    Ok(diesel::update(payouts::table.find(id))
        .filter(payouts::status.eq(PayoutStatus::Pending))
        .filter(payouts::attempts.eq(seen))
        .set((
            payouts::attempts.eq(payouts::attempts + 1),
            payouts::updated_at.eq(now()),
        ))
        .execute(conn)?
        == 1)
}

/// pending → paid; false if it was not pending.
pub fn mark_paid(
    conn: &mut DbConnection,
    id: &str,
    reference: &str,
    paid_at: NaiveDateTime,
) -> QueryResult<bool> {
    Ok(diesel::update(payouts::table.find(id))
        .filter(payouts::status.eq(PayoutStatus::Pending))
        .set((
            payouts::status.eq(PayoutStatus::Paid),
            payouts::provider_reference.eq(reference),
            payouts::paid_at.eq(Some(paid_at)),
            payouts::updated_at.eq(now()),
        ))
        .execute(conn)?
        == 1)
}

/// pending → failed; false if it was not pending.
pub fn mark_failed(conn: &mut DbConnection, id: &str, why: &str) -> QueryResult<bool> {
    Ok(diesel::update(payouts::table.find(id))
        .filter(payouts::status.eq(PayoutStatus::Pending))
        .set((
            payouts::status.eq(PayoutStatus::Failed),
            payouts::failure.eq(why),
            payouts::updated_at.eq(now()),
        ))
        .execute(conn)?
        == 1)
}

/// Adds a reversal to a paid payout's reversed amount, never beyond the payout.
pub fn add_reversed(conn: &mut DbConnection, id: &str, amount: i64) -> QueryResult<bool> {
    Ok(diesel::update(payouts::table.find(id))
        .filter(payouts::reversed.le(payouts::amount - amount))
        .set(payouts::reversed.eq(payouts::reversed + amount))
        .execute(conn)?
        == 1)
}

// ---- reversals ----

pub fn insert_reversal(
    conn: &mut DbConnection,
    campaign_id: &str,
    payout_id: Option<&str>,
    amount: i64,
) -> QueryResult<ReversalRow> {
    let t = now();
    let row = ReversalRow {
        id: ReversalId::generate(),
        campaign_id: campaign_id.to_string(),
        payout_id: payout_id.map(str::to_string),
        amount,
        status: ReversalStatus::Pending,
        provider_reference: None,
        failure: None,
        created_at: t,
        updated_at: t,
    };
    diesel::insert_into(payout_reversals::table)
        .values(row.clone())
        .execute(conn)?;
    Ok(row)
}

pub fn reversal(conn: &mut DbConnection, id: &str) -> QueryResult<Option<ReversalRow>> {
    payout_reversals::table
        .find(id)
        .select(ReversalRow::as_select())
        .first(conn)
        .optional()
}

pub fn reversals_of_campaign(
    conn: &mut DbConnection,
    campaign_id: &str,
) -> QueryResult<Vec<ReversalRow>> {
    payout_reversals::table
        .filter(payout_reversals::campaign_id.eq(campaign_id))
        .order((payout_reversals::created_at, payout_reversals::id))
        .select(ReversalRow::as_select())
        .load(conn)
}

/// A pending reversal given its payout, with its amount cut to `amount` (the rest of it is a
/// new pending reversal, returned).
pub fn assign_reversal(
    conn: &mut DbConnection,
    r: &ReversalRow,
    payout_id: &str,
    amount: i64,
) -> QueryResult<Option<ReversalRow>> {
    diesel::update(payout_reversals::table.find(&r.id))
        .filter(payout_reversals::status.eq(ReversalStatus::Pending))
        .set((
            payout_reversals::payout_id.eq(payout_id),
            payout_reversals::amount.eq(amount),
            payout_reversals::updated_at.eq(now()),
        ))
        .execute(conn)?;
    if amount < r.amount {
        return insert_reversal(conn, &r.campaign_id, None, r.amount - amount).map(Some);
    }
    Ok(None)
}

/// Cuts a pending reversal to `amount`, and a new row for `rest` of it in `status`.
pub fn split_reversal(
    conn: &mut DbConnection,
    r: &ReversalRow,
    amount: i64,
) -> QueryResult<ReversalRow> {
    diesel::update(payout_reversals::table.find(&r.id))
        .filter(payout_reversals::status.eq(ReversalStatus::Pending))
        .set(payout_reversals::amount.eq(amount))
        .execute(conn)?;
    insert_reversal(
        conn,
        &r.campaign_id,
        r.payout_id.as_deref(),
        r.amount - amount,
    )
}

/// pending → `status`; false if it was not pending.
pub fn finish_reversal(
    conn: &mut DbConnection,
    id: &str,
    status: ReversalStatus,
    reference: Option<&str>,
    failure: Option<&str>,
) -> QueryResult<bool> {
    Ok(diesel::update(payout_reversals::table.find(id))
        .filter(payout_reversals::status.eq(ReversalStatus::Pending))
        .set((
            payout_reversals::status.eq(status),
            payout_reversals::provider_reference.eq(reference),
            payout_reversals::failure.eq(failure),
            payout_reversals::updated_at.eq(now()),
        ))
        .execute(conn)?
        == 1)
}

// ---- bank batches ----

pub fn insert_batch(conn: &mut DbConnection, row: &PayoutBatchRow) -> QueryResult<()> {
    diesel::insert_into(payout_batches::table)
        .values(row.clone())
        .execute(conn)?;
    Ok(())
}

pub fn batch(conn: &mut DbConnection, id: &str) -> QueryResult<Option<PayoutBatchRow>> {
    payout_batches::table
        .find(id)
        .select(PayoutBatchRow::as_select())
        .first(conn)
        .optional()
}

/// draft → confirmed or cancelled; false if it was no longer a draft.
pub fn close_batch(
    conn: &mut DbConnection,
    id: &str,
    status: PayoutBatchStatus,
    by: &str,
    bank: Option<(&str, NaiveDateTime)>,
) -> QueryResult<bool> {
    let t = now();
    let q = diesel::update(payout_batches::table.find(id))
        .filter(payout_batches::status.eq(PayoutBatchStatus::Draft));
    let n = match (status, bank) {
        (PayoutBatchStatus::Confirmed, Some((reference, paid_at))) => q
            .set((
                payout_batches::status.eq(status),
                payout_batches::bank_reference.eq(reference),
                payout_batches::paid_at.eq(Some(paid_at)),
                payout_batches::confirmed_by.eq(by),
                payout_batches::confirmed_at.eq(Some(t)),
            ))
            .execute(conn)?,
        _ => q
            .set((
                payout_batches::status.eq(PayoutBatchStatus::Cancelled),
                payout_batches::cancelled_at.eq(Some(t)),
            ))
            .execute(conn)?,
    };
    Ok(n == 1)
}

pub fn batch_payouts(conn: &mut DbConnection, batch_id: &str) -> QueryResult<Vec<PayoutRow>> {
    payouts::table
        .filter(payouts::batch_id.eq(batch_id))
        .order((payouts::association_id, payouts::campaign_id, payouts::seq))
        .select(PayoutRow::as_select())
        .load(conn)
}
