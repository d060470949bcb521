//! Funders of a fund and each funder's part of a campaign's match: persistence only. Money
//! moves through `db::ledger`; these are the rows that say whose money a match is.

use super::DbConnection;
use super::models::{FunderRow, MatchPartRow};
use super::schema::{funders, match_parts};
use crate::domain::ids::{CampaignId, FundId, FunderId, SettlementId};
use diesel::prelude::*;

/// A fund's funders in draw order: lowest `priority` first, then the oldest.
pub fn load_funders(conn: &mut DbConnection, fund_id: &str) -> QueryResult<Vec<FunderRow>> {
    funders::table
        .filter(funders::fund_id.eq(fund_id))
        .order((funders::priority.asc(), funders::id.asc()))
        .select(FunderRow::as_select())
        .load(conn)
}

pub fn load_funder(
    conn: &mut DbConnection,
    fund_id: &FundId,
    funder_id: &FunderId,
) -> QueryResult<Option<FunderRow>> {
    funders::table
        .find(funder_id)
        .filter(funders::fund_id.eq(fund_id))
        .select(FunderRow::as_select())
        .first(conn)
        .optional()
}

/// A campaign's match parts, in funder id order.
pub fn load_parts(
    conn: &mut DbConnection,
    campaign_id: &CampaignId,
) -> QueryResult<Vec<MatchPartRow>> {
    match_parts::table
        .filter(match_parts::campaign_id.eq(campaign_id))
        .order(match_parts::funder_id.asc())
        .select(MatchPartRow::as_select())
        .load(conn)
}

/// Adds `amount` to a funder's part of a campaign's match (created at the first amount).
pub fn add_to_part(
    conn: &mut DbConnection,
    campaign_id: &str,
    funder_id: &str,
    fund_id: &str,
    amount: i64,
) -> QueryResult<()> {
    let updated = diesel::update(match_parts::table.find((campaign_id, funder_id)))
        .set(match_parts::amount.eq(match_parts::amount + amount))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(match_parts::table)
            .values(MatchPartRow {
                campaign_id: campaign_id.to_string(),
                funder_id: funder_id.to_string(),
                fund_id: fund_id.to_string(),
                amount,
                settlement_id: None,
                settled: false,
            })
            .execute(conn)?;
    }
    Ok(())
}

/// Takes `amount` off a funder's part (a refunded `per_donation` gift's match).
pub fn take_from_part(
    conn: &mut DbConnection,
    campaign_id: &str,
    funder_id: &str,
    amount: i64,
) -> QueryResult<bool> {
    Ok(
        diesel::update(match_parts::table.find((campaign_id, funder_id)))
            .filter(match_parts::amount.ge(amount))
            .set(match_parts::amount.eq(match_parts::amount - amount))
            .execute(conn)?
            == 1,
    )
}

/// Forgets a campaign's parts once its reservation went back to the funders.
pub fn clear_parts(conn: &mut DbConnection, campaign_id: &CampaignId) -> QueryResult<usize> {
    diesel::delete(match_parts::table.filter(match_parts::campaign_id.eq(campaign_id)))
        .execute(conn)
}

/// Puts a funder's part of a committed match in batch `settlement_id`, if it is outside any
/// open batch, unpaid and still `amount`; `false` (nothing written) otherwise.
pub fn put_part_in_batch(
    conn: &mut DbConnection,
    campaign_id: &CampaignId,
    funder_id: &FunderId,
    amount: i64,
    settlement_id: &SettlementId,
) -> QueryResult<bool> {
    Ok(
        diesel::update(match_parts::table.find((campaign_id, funder_id)))
            .filter(match_parts::settlement_id.is_null())
            .filter(match_parts::settled.eq(false))
            .filter(match_parts::amount.eq(amount))
            .set(match_parts::settlement_id.eq(Some(settlement_id)))
            .execute(conn)?
            == 1,
    )
}

/// Marks a funder's part paid by batch `settlement_id`, if it is still in that batch, unpaid
/// and `amount`; `false` (nothing written) otherwise.
pub fn mark_part_paid(
    conn: &mut DbConnection,
    campaign_id: &CampaignId,
    funder_id: &FunderId,
    amount: i64,
    settlement_id: &SettlementId,
) -> QueryResult<bool> {
    Ok(
        diesel::update(match_parts::table.find((campaign_id, funder_id)))
            .filter(match_parts::settlement_id.eq(settlement_id))
            .filter(match_parts::settled.eq(false))
            .filter(match_parts::amount.eq(amount))
            .set(match_parts::settled.eq(true))
            .execute(conn)?
            == 1,
    )
}

/// How many funders' parts of a campaign's match are still to pay.
pub fn unpaid_parts(conn: &mut DbConnection, campaign_id: &CampaignId) -> QueryResult<i64> {
    match_parts::table
        .filter(match_parts::campaign_id.eq(campaign_id))
        .filter(match_parts::settled.eq(false))
        .filter(match_parts::amount.gt(0))
        .count()
        .get_result(conn)
}

/// A cancelled batch's parts are free for another batch.
pub fn release_batch_parts(
    conn: &mut DbConnection,
    settlement_id: &SettlementId,
) -> QueryResult<usize> {
    diesel::update(match_parts::table.filter(match_parts::settlement_id.eq(settlement_id)))
        .set(match_parts::settlement_id.eq(None::<String>))
        .execute(conn)
}

/// Mirrors on a funder's match part the batch that last took one of its grant's tranches (the
/// commitments list reads it).
pub fn mirror_part_batch(
    conn: &mut DbConnection,
    campaign_id: &str,
    funder_id: &str,
    settlement_id: Option<&SettlementId>,
) -> QueryResult<usize> {
    diesel::update(match_parts::table.find((campaign_id, funder_id)))
        .set(match_parts::settlement_id.eq(settlement_id))
        .execute(conn)
}

/// Mirrors on a funder's match part whether everything its grant commits is paid.
pub fn mirror_part_paid(
    conn: &mut DbConnection,
    campaign_id: &CampaignId,
    funder_id: &str,
    paid: bool,
) -> QueryResult<usize> {
    diesel::update(match_parts::table.find((campaign_id, funder_id)))
        .set(match_parts::settled.eq(paid))
        .execute(conn)
}
