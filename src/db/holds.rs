//! `match_holds`: a per-donation pledge's match, one row per funder. The only writer of the
//! table; every change is conditional on what the caller read (ADR 0007).

use crate::clock::now;
use crate::db::DbConnection;
use crate::db::models::{FundRow, MatchHoldRow, PledgeRow};
use crate::db::schema::{match_holds, partners, pledges};
use crate::domain::ids::CampaignId;
use crate::domain::per_donation::HoldStatus;
use diesel::prelude::*;

/// What the unpaid pledges of `partner_id` hold in `fund_id` now (holds still `held`, lapsed or
/// not: their money is out of the funders' reach until released).
pub fn partner_held(conn: &mut DbConnection, fund_id: &str, partner_id: &str) -> QueryResult<i64> {
    let held: Option<i64> = match_holds::table
        .inner_join(pledges::table.on(pledges::id.eq(match_holds::pledge_id)))
        .filter(match_holds::fund_id.eq(fund_id))
        .filter(match_holds::status.eq(HoldStatus::Held))
        .filter(pledges::partner_id.eq(partner_id))
        .select(diesel::dsl::sql::<
            diesel::sql_types::Nullable<diesel::sql_types::BigInt>,
        >("CAST(SUM(match_holds.amount) AS BIGINT)"))
        .first(conn)?;
    Ok(held.unwrap_or(0))
}

/// True when a donor (by stored identity) has a live hold on the campaign: `held` and not
/// lapsed, for a pledge other than `except`.
pub fn donor_has_live_hold(
    conn: &mut DbConnection,
    campaign_id: &str,
    donor_key: &str,
    except: &str,
) -> QueryResult<bool> {
    let n: i64 = match_holds::table
        .inner_join(pledges::table.on(pledges::id.eq(match_holds::pledge_id)))
        .filter(match_holds::campaign_id.eq(campaign_id))
        .filter(match_holds::status.eq(HoldStatus::Held))
        .filter(match_holds::expires_at.gt(now()))
        .filter(pledges::donor_key.eq(donor_key))
        .filter(pledges::id.ne(except))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Takes the partner's row lock (PostgreSQL; SQLite writers are serialised already), so that
/// the holds of one partner's pledges are capped one pledge at a time, whichever campaigns
/// they are for. Taken after the campaign's row lock. `FOR NO KEY UPDATE`: the pledge's own
/// insert holds a key-share lock on the partner row (its foreign key), which `FOR UPDATE`
/// would wait on across concurrent pledges (a deadlock); this mode conflicts only with itself.
pub fn lock_partner(conn: &mut DbConnection, partner_id: &str) -> QueryResult<()> {
    if let DbConnection::Postgresql(c) = conn {
        partners::table
            .find(partner_id)
            .select(partners::id)
            .for_no_key_update()
            .first::<String>(c)
            .optional()?;
    }
    Ok(())
}

/// A new hold.
pub fn insert(conn: &mut DbConnection, row: &MatchHoldRow) -> QueryResult<()> {
    diesel::insert_into(match_holds::table)
        .values(row.clone())
        .execute(conn)?;
    Ok(())
}

/// Moves a hold from the status and amount it was read with to `to` and `amount`; `false`
/// (nothing written) when another transaction moved it first.
pub fn set_status(
    conn: &mut DbConnection,
    hold: &MatchHoldRow,
    to: HoldStatus,
    amount: i64,
) -> QueryResult<bool> {
    Ok(
        diesel::update(match_holds::table.find((&hold.pledge_id, &hold.funder_id)))
            .filter(match_holds::status.eq(hold.status))
            .filter(match_holds::amount.eq(hold.amount))
            .set((match_holds::status.eq(to), match_holds::amount.eq(amount)))
            .execute(conn)?
            == 1,
    )
}

/// Adds `amount` to the reserved match of `pledge` from `funder_id`: onto its reserved hold,
/// reviving a released one, or as a new row.
pub fn add_reserved(
    conn: &mut DbConnection,
    pledge: &PledgeRow,
    fund: &FundRow,
    funder_id: &str,
    amount: i64,
) -> QueryResult<()> {
    let key = match_holds::table.find((&pledge.id, funder_id));
    let reserved = diesel::update(key.filter(match_holds::status.eq(HoldStatus::Reserved)))
        .set(match_holds::amount.eq(match_holds::amount + amount))
        .execute(conn)?;
    if reserved == 1 {
        return Ok(());
    }
    let revived = diesel::update(key.filter(match_holds::status.eq(HoldStatus::Released)))
        .set((
            match_holds::amount.eq(amount),
            match_holds::status.eq(HoldStatus::Reserved),
        ))
        .execute(conn)?;
    if revived == 1 {
        return Ok(());
    }
    diesel::insert_into(match_holds::table)
        .values(MatchHoldRow {
            pledge_id: pledge.id.clone(),
            funder_id: funder_id.to_string(),
            campaign_id: pledge.campaign_id.clone(),
            fund_id: fund.id.clone(),
            amount,
            status: HoldStatus::Reserved,
            expires_at: now(),
            created_at: now(),
        })
        .execute(conn)?;
    Ok(())
}

/// The campaign's reservation went back to its funders (the campaign failed or was
/// cancelled): its pledges' reserved matches are released with it (no money moves here).
pub fn release_reserved(conn: &mut DbConnection, campaign_id: &CampaignId) -> QueryResult<usize> {
    diesel::update(
        match_holds::table
            .filter(match_holds::campaign_id.eq(campaign_id))
            .filter(match_holds::status.eq(HoldStatus::Reserved)),
    )
    .set(match_holds::status.eq(HoldStatus::Released))
    .execute(conn)
}
