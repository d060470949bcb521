//! What the finance office reads of its payments: a fund's commitments with each funder's part
//! and its award, and the batches with their items and lines.

use super::{Batch, SettlementError, load_batch};
use crate::app::AppState;
use crate::db::models::{CampaignRow, MatchPartRow};
use crate::db::schema::{associations, awards, campaigns, funds, match_parts, settlements};
use crate::domain::ids::{FundId, FunderId, SettlementId};
use crate::domain::matching::MatchState;
use crate::domain::settlement::SettlementStatus;
use diesel::prelude::*;

/// Which commitments a list shows.
#[derive(Debug, Clone)]
pub struct CommitmentFilter {
    pub fund_id: String,
    /// The campaigns' match states shown (`committed`, `settled` or both).
    pub states: Vec<MatchState>,
    pub association_id: Option<String>,
    /// Only commitments with a part paid by this funder.
    pub funder_id: Option<String>,
    pub after: String,
    pub limit: i64,
}

/// A commitment: the campaign, its association's name, its funders' parts and, per funder,
/// whether its award is published (absent: no award).
pub struct Commitment {
    pub campaign: CampaignRow,
    pub association_name: String,
    pub parts: Vec<MatchPartRow>,
    pub awards: Vec<(String, bool)>,
}

/// A page of a fund's commitments (`limit` at most). NotFound when the fund does not exist.
pub async fn commitments(
    state: &AppState,
    filter: CommitmentFilter,
) -> Result<Vec<Commitment>, SettlementError> {
    state
        .db
        .run(move |conn| {
            let exists: i64 = funds::table
                .find(&filter.fund_id)
                .count()
                .get_result(conn)?;
            if exists == 0 {
                return Err(SettlementError::FundNotFound);
            }
            let mut q = campaigns::table
                .inner_join(associations::table)
                .filter(campaigns::fund_id.eq(&filter.fund_id))
                .filter(campaigns::match_status.eq_any(filter.states))
                .filter(campaigns::id.gt(&filter.after))
                .order(campaigns::id)
                .limit(filter.limit)
                .select((CampaignRow::as_select(), associations::name))
                .into_boxed();
            if let Some(a) = filter.association_id {
                q = q.filter(campaigns::association_id.eq(a));
            }
            if let Some(f) = filter.funder_id {
                q = q.filter(
                    campaigns::id.eq_any(
                        match_parts::table
                            .filter(match_parts::funder_id.eq(f))
                            .filter(match_parts::amount.gt(0))
                            .select(match_parts::campaign_id),
                    ),
                );
            }
            let rows: Vec<(CampaignRow, String)> = q.load(conn)?;
            let ids: Vec<&str> = rows.iter().map(|(c, _)| c.id.as_str()).collect();
            let parts = match_parts::table
                .filter(match_parts::campaign_id.eq_any(&ids))
                .order((match_parts::campaign_id, match_parts::funder_id))
                .select(MatchPartRow::as_select())
                .load(conn)?;
            let published: Vec<(String, String, bool)> = awards::table
                .filter(awards::campaign_id.eq_any(&ids))
                .select((
                    awards::campaign_id,
                    awards::funder_id,
                    awards::published_at.is_not_null(),
                ))
                .load(conn)?;
            Ok(rows
                .into_iter()
                .map(|(campaign, association_name)| Commitment {
                    parts: parts
                        .iter()
                        .filter(|p| p.campaign_id == campaign.id)
                        .cloned()
                        .collect(),
                    awards: published
                        .iter()
                        .filter(|(c, _, _)| *c == campaign.id)
                        .map(|(_, f, p)| (f.clone(), *p))
                        .collect(),
                    campaign,
                    association_name,
                })
                .collect())
        })
        .await
}

/// Which batches a list shows.
#[derive(Debug, Clone, Default)]
pub struct BatchFilter {
    pub fund_id: Option<String>,
    pub funder_id: Option<String>,
    /// A status that is none of the batch states matches no batch.
    pub status: Option<String>,
    pub after: String,
    pub limit: i64,
}

/// A page of batches (`limit` at most), in id order.
pub async fn batches(state: &AppState, filter: BatchFilter) -> Result<Vec<Batch>, SettlementError> {
    let status = match filter.status.as_deref().map(SettlementStatus::parse) {
        Some(None) => return Ok(Vec::new()),
        Some(Some(s)) => Some(s),
        None => None,
    };
    state
        .db
        .run(move |conn| {
            let mut q = settlements::table
                .filter(settlements::id.gt(&filter.after))
                .order(settlements::id)
                .limit(filter.limit)
                .select(settlements::id)
                .into_boxed();
            if let Some(f) = filter.funder_id {
                q = q.filter(settlements::funder_id.eq(f));
            }
            if let Some(f) = filter.fund_id {
                q = q.filter(settlements::fund_id.eq(f));
            }
            if let Some(s) = status {
                q = q.filter(settlements::status.eq(s));
            }
            let ids: Vec<SettlementId> = q.load(conn)?;
            ids.iter().map(|id| load_batch(conn, id)).collect()
        })
        .await
}

/// One batch with its items and lines.
pub async fn batch(state: &AppState, id: String) -> Result<Batch, SettlementError> {
    let id = SettlementId::from(id);
    state.db.run(move |conn| load_batch(conn, &id)).await
}

/// A batch's paying funder.
pub async fn funder_of(
    state: &AppState,
    batch: &Batch,
) -> Result<crate::db::models::FunderRow, SettlementError> {
    let (fund_id, funder_id) = (
        FundId::from(&batch.settlement.fund_id),
        FunderId::from(&batch.settlement.funder_id),
    );
    state
        .db
        .run(move |conn| {
            crate::db::funders::load_funder(conn, &fund_id, &funder_id)?
                .ok_or(SettlementError::FunderNotFound)
        })
        .await
}
