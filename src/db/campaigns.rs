//! Reading and locking campaigns and funds, and the conditional update that moves a campaign's
//! match: the persistence the matching engine (`app::matching`) and the lifecycle use.

use super::DbConnection;
use super::models::{CampaignRow, FundRow};
use super::schema::{campaigns, funds};
use crate::domain::campaign::CampaignStatus;
use crate::domain::ids::CampaignId;
use crate::domain::matching::MatchState;
use diesel::prelude::*;

pub fn load_fund(conn: &mut DbConnection, fund_id: &str) -> QueryResult<FundRow> {
    funds::table
        .find(fund_id)
        .select(FundRow::as_select())
        .first(conn)
}

pub fn load_campaign(conn: &mut DbConnection, id: &str) -> QueryResult<CampaignRow> {
    campaigns::table
        .find(id)
        .select(CampaignRow::as_select())
        .first(conn)
}

/// Reads a campaign under its row lock (PostgreSQL `FOR UPDATE`; on SQLite the write
/// transaction already excludes every other writer), so that what the caller decides from it
/// — a cancellation's release, an approval's earmark — is still true when it writes.
pub fn lock_campaign(conn: &mut DbConnection, id: &CampaignId) -> QueryResult<Option<CampaignRow>> {
    match conn {
        DbConnection::Postgresql(c) => campaigns::table
            .find(id)
            .select(CampaignRow::as_select())
            .for_no_key_update()
            .first(c)
            .optional(),
        DbConnection::Sqlite(c) => campaigns::table
            .find(id)
            .select(CampaignRow::as_select())
            .first(c)
            .optional(),
    }
}

/// Moves a campaign's match from `from` (holding the amount `campaign` was read with) to `to`,
/// only if it is still exactly there and the campaign's status is one of `statuses` (any when
/// empty): the campaign-side half of every match movement, so that two transactions that read
/// the same state can never both act on it.
pub fn move_match(
    conn: &mut DbConnection,
    campaign: &CampaignRow,
    from: MatchState,
    to: MatchState,
    amount: i64,
    waitlisted_at: Option<chrono::NaiveDateTime>,
    statuses: &[CampaignStatus],
) -> QueryResult<bool> {
    let target = campaigns::table
        .find(&campaign.id)
        .filter(campaigns::match_status.eq(from))
        .filter(campaigns::match_amount.eq(campaign.match_amount));
    let changes = (
        campaigns::match_status.eq(to),
        campaigns::match_amount.eq(amount),
        campaigns::waitlisted_at.eq(waitlisted_at),
    );
    let n = if statuses.is_empty() {
        diesel::update(target).set(changes).execute(conn)?
    } else {
        diesel::update(target.filter(campaigns::status.eq_any(statuses)))
            .set(changes)
            .execute(conn)?
    };
    Ok(n == 1)
}

/// Adds `delta` (negative to take off) to a running campaign's reserved match; `reserved`
/// while anything is matched, `none` at zero. Caller holds the campaign row.
pub fn add_to_reserved_match(
    conn: &mut DbConnection,
    campaign_id: &str,
    delta: i64,
) -> QueryResult<bool> {
    let running = [CampaignStatus::Live, CampaignStatus::Closing];
    let n = diesel::update(
        campaigns::table
            .find(crate::db::changing_campaign(campaign_id))
            .filter(campaigns::status.eq_any(running))
            .filter(campaigns::match_status.eq_any([MatchState::None, MatchState::Reserved]))
            .filter(campaigns::match_amount.ge(-delta)),
    )
    .set(campaigns::match_amount.eq(campaigns::match_amount + delta))
    .execute(conn)?;
    diesel::update(campaigns::table.find(crate::db::changing_campaign(campaign_id)))
        .filter(campaigns::match_status.eq_any([MatchState::None, MatchState::Reserved]))
        .set(
            campaigns::match_status.eq(diesel::dsl::sql::<diesel::sql_types::Text>(
                "CASE WHEN match_amount > 0 THEN 'reserved' ELSE 'none' END",
            )),
        )
        .execute(conn)?;
    Ok(n == 1)
}

/// A committed match whose every part is paid becomes `settled`.
pub fn settle_match(conn: &mut DbConnection, campaign_id: &CampaignId) -> QueryResult<bool> {
    Ok(
        diesel::update(campaigns::table.find(crate::db::changing_campaign(campaign_id)))
            .filter(campaigns::match_status.eq(MatchState::Committed))
            .set(campaigns::match_status.eq(MatchState::Settled))
            .execute(conn)?
            == 1,
    )
}
