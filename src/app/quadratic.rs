//! The `quadratic` policy applied to the books (the rule is `domain::quadratic`). A fund's
//! budget is a matching pool shared once, at the end of the round, among its succeeded
//! campaigns; each share is reserved and committed through the ledger's door, divided among
//! the funders like any other match, and recorded as one decision per campaign with the inputs
//! it was computed from. Contributions are each distinct donor's confirmed, net total to the
//! campaign (donors by identity, not by pledge).

use crate::auth::Principal;
use crate::clock::now;
use crate::db::DbConnection;
use crate::db::campaigns::{load_fund, move_match};
use crate::db::funders::{add_to_part, load_funders};
use crate::db::ledger::{self, Movement};
use crate::db::models::{CampaignRow, FundRow, FunderRow};
use crate::db::schema::{campaigns, funds, pledges};
use crate::domain::campaign::CampaignStatus;
use crate::domain::donor_identity::is_tax_code_key;
use crate::domain::fund::{FundingSplit, MatchPolicy, QuadraticIdentity};
use crate::domain::ids::FundId;
use crate::domain::matching::{Decision, MatchState};
use crate::domain::quadratic::{self, Contributions, SQRT_ONE, Share};
use diesel::prelude::*;
use serde_json::json;

use super::match_money::{Part, record_with, take_from_funders};

/// Why a round was not shared.
#[derive(Debug, thiserror::Error)]
pub enum DistributeError {
    #[error("no such fund")]
    NotFound,
    #[error("this fund does not run the quadratic policy")]
    NotQuadratic,
    #[error(
        "{0} campaign(s) of this round are still running: the pool is shared once they are decided"
    )]
    StillRunning(i64),
    #[error("books disagree: {0}")]
    Books(String),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// One campaign of a round: its share and what it was computed from.
#[derive(Clone, Debug)]
pub struct Line {
    pub campaign: CampaignRow,
    pub share: Share<String>,
}

/// A round as it stands: the pool, whether it was shared, each campaign's share.
#[derive(Clone, Debug)]
pub struct Round {
    pub fund: FundRow,
    pub pool: i64,
    pub distributed_at: Option<chrono::NaiveDateTime>,
    pub lines: Vec<Line>,
}

const RUNNING: [CampaignStatus; 2] = [CampaignStatus::Live, CampaignStatus::Closing];

/// Each campaign's contributions, one total per distinct donor (confirmed, net of refunds).
/// Donors are counted by identity (`domain::donor_identity`); a fund with
/// `quadratic_identity: tax_code` counts only the gifts filed under a tax code.
fn contributions(
    conn: &mut DbConnection,
    fund: &FundRow,
    statuses: &[CampaignStatus],
) -> QueryResult<Vec<(CampaignRow, Vec<i64>)>> {
    let fund_id = fund.id.as_str();
    let counts = |key: &str| match fund.quadratic_identity {
        QuadraticIdentity::Donor => true,
        QuadraticIdentity::TaxCode => is_tax_code_key(key),
    };
    let cs: Vec<CampaignRow> = campaigns::table
        .filter(campaigns::fund_id.eq(fund_id))
        .filter(campaigns::status.eq_any(statuses))
        .order(campaigns::id.asc())
        .select(CampaignRow::as_select())
        .load(conn)?;
    let ids: Vec<&str> = cs.iter().map(|c| c.id.as_str()).collect();
    let totals: Vec<(String, String, i64)> = pledges::table
        .filter(pledges::campaign_id.eq_any(&ids))
        .filter(pledges::counted_amount.gt(0))
        .group_by((pledges::campaign_id, pledges::donor_key))
        .select((
            pledges::campaign_id,
            pledges::donor_key,
            diesel::dsl::sql::<diesel::sql_types::BigInt>("CAST(SUM(counted_amount) AS BIGINT)"),
        ))
        .load(conn)?;
    Ok(cs
        .into_iter()
        .map(|c| {
            let by_donor = totals
                .iter()
                .filter(|(cid, key, _)| *cid == c.id && counts(key))
                .map(|(_, _, t)| *t)
                .collect();
            (c, by_donor)
        })
        .collect())
}

fn pool_of(funders: &[FunderRow]) -> i64 {
    funders.iter().map(FunderRow::available).sum()
}

fn shares(fund: &FundRow, pool: i64, rows: Vec<(CampaignRow, Vec<i64>)>) -> Vec<Line> {
    let input: Vec<Contributions<String>> = rows
        .iter()
        .map(|(c, by_donor)| Contributions {
            campaign_id: c.id.clone(),
            by_donor: by_donor.clone(),
        })
        .collect();
    let out = quadratic::distribute(
        pool,
        fund.min_contribution,
        fund.max_match_per_campaign,
        &input,
    );
    rows.into_iter()
        .zip(out)
        .map(|((campaign, _), share)| Line { campaign, share })
        .collect()
}

/// The round as it would be shared now (public): running and succeeded campaigns with their
/// current contributions, the pool the funders have left; after the distribution, the shares
/// it committed.
pub fn estimate(conn: &mut DbConnection, fund_id: &FundId) -> Result<Round, DistributeError> {
    let fund = load_fund(conn, fund_id)
        .optional()?
        .ok_or(DistributeError::NotFound)?;
    if fund.match_policy != MatchPolicy::Quadratic {
        return Err(DistributeError::NotQuadratic);
    }
    let funders = load_funders(conn, fund_id)?;
    if let Some(at) = fund.distributed_at {
        let rows = contributions(conn, &fund, &[CampaignStatus::Succeeded])?;
        let pool = rows.iter().map(|(c, _)| c.match_amount).sum::<i64>() + pool_of(&funders);
        let mut lines = shares(&fund, pool, rows);
        // What was committed is what counts (later refunds do not move a distributed share).
        for l in &mut lines {
            l.share.amount = l.campaign.match_amount;
        }
        return Ok(Round {
            pool: lines.iter().map(|l| l.share.amount).sum(),
            distributed_at: Some(at),
            lines,
            fund,
        });
    }
    let pool = pool_of(&funders);
    let rows = contributions(
        conn,
        &fund,
        &[
            CampaignStatus::Live,
            CampaignStatus::Closing,
            CampaignStatus::Succeeded,
        ],
    )?;
    Ok(Round {
        lines: shares(&fund, pool, rows),
        pool,
        distributed_at: None,
        fund,
    })
}

fn inputs_json(fund: &FundRow, pool: i64, line: &Line, parts: &[Part]) -> String {
    let s = &line.share;
    json!({
        "match_policy": "quadratic",
        "pool": pool,
        "min_contribution": fund.min_contribution,
        "max_match_per_campaign": fund.max_match_per_campaign,
        "quadratic_identity": fund.quadratic_identity.as_str(),
        "donors_counted": s.donors_counted,
        "contributions_counted": s.contributions_counted,
        "sum_sqrt": sqrt_display(s.sum_sqrt),
        "weight": s.weight_display(),
        "uncapped_share": s.uncapped,
        "capped": s.capped,
        "raised": line.campaign.raised,
        "funding_split": fund.funding_split.as_str(),
        "funders": parts.iter().map(|p| json!({"funder_id": p.funder_id, "part": p.amount})).collect::<Vec<_>>(),
    })
    .to_string()
}

/// Σ√cᵢ in √cents with six decimals (floored).
pub fn sqrt_display(sum_sqrt: u128) -> String {
    let whole = sum_sqrt / SQRT_ONE;
    let frac = (sum_sqrt % SQRT_ONE) / 10u128.pow(12);
    format!("{whole}.{frac:06}")
}

/// Shares the round's pool (finance, or the job at `closes_at`): once. A second call changes
/// nothing and answers with the round as it was shared. Refused while any campaign of the
/// round still runs (its contributions are not final).
pub fn distribute(
    conn: &mut DbConnection,
    actor: Option<&Principal>,
    fund_id: &FundId,
) -> Result<Round, DistributeError> {
    crate::db::write_tx(conn, |conn| -> Result<Round, DistributeError> {
        let fund = load_fund(conn, fund_id)
            .optional()?
            .ok_or(DistributeError::NotFound)?;
        if fund.match_policy != MatchPolicy::Quadratic {
            return Err(DistributeError::NotQuadratic);
        }
        if fund.distributed_at.is_some() {
            return estimate(conn, fund_id);
        }
        let running: i64 = campaigns::table
            .filter(campaigns::fund_id.eq(fund_id))
            .filter(campaigns::status.eq_any(RUNNING))
            .count()
            .get_result(conn)?;
        if running > 0 {
            return Err(DistributeError::StillRunning(running));
        }
        // The fund row's lock: one distribution, whoever asks at the same time.
        let claimed = diesel::update(funds::table.find(fund_id))
            .filter(funds::distributed_at.is_null())
            .set(funds::distributed_at.eq(Some(now())))
            .execute(conn)?;
        if claimed == 0 {
            return estimate(conn, fund_id);
        }
        let funders = load_funders(conn, fund_id)?;
        let pool = pool_of(&funders);
        let rows = contributions(conn, &fund, &[CampaignStatus::Succeeded])?;
        let lines = shares(&fund, pool, rows);
        for line in &lines {
            commit_share(conn, &fund, pool, line)?;
        }
        if let Some(actor) = actor {
            crate::db::queries::audit(
                conn,
                actor,
                "fund.distribute",
                "fund",
                fund_id,
                Some(format!(
                    "pool {pool}, {} campaigns, {} distributed",
                    lines.len(),
                    lines.iter().map(|l| l.share.amount).sum::<i64>()
                )),
            )?;
        }
        estimate(conn, fund_id)
    })
}

/// Reserves and commits one campaign's share (divided among the funders by the fund's split;
/// by priority for the last cents a proportional split cannot place) and records the decision.
fn commit_share(
    conn: &mut DbConnection,
    fund: &FundRow,
    pool: i64,
    line: &Line,
) -> Result<(), DistributeError> {
    let campaign = &line.campaign;
    let amount = line.share.amount;
    let mut parts = Vec::new();
    if amount > 0 {
        if campaign.match_status != MatchState::None {
            return Err(DistributeError::Books(format!(
                "campaign {} already has a match",
                campaign.id
            )));
        }
        let memo = "quadratic round shared";
        let taken =
            match take_from_funders(conn, fund, &campaign.id, Movement::Reserve, amount, memo)? {
                Some(p) => Some(p),
                None => {
                    let by_priority = FundRow {
                        funding_split: FundingSplit::Priority,
                        ..fund.clone()
                    };
                    take_from_funders(
                        conn,
                        &by_priority,
                        &campaign.id,
                        Movement::Reserve,
                        amount,
                        memo,
                    )?
                }
            };
        let Some(taken) = taken else {
            return Err(DistributeError::Books(format!(
                "the funders cannot cover the share of campaign {}",
                campaign.id
            )));
        };
        for p in &taken {
            add_to_part(conn, &campaign.id, &p.funder_id, &fund.id, p.amount)?;
            if !ledger::transfer(
                conn,
                &fund.id,
                &p.funder_id,
                fund.currency,
                Movement::Commit,
                p.amount,
                Some(&campaign.id),
                memo,
            )? {
                return Err(DistributeError::Books("commit found no reservation".into()));
            }
        }
        if !move_match(
            conn,
            campaign,
            MatchState::None,
            MatchState::Committed,
            amount,
            None,
            &[CampaignStatus::Succeeded],
        )? {
            return Err(DistributeError::Books(format!(
                "campaign {} moved while the round was shared",
                campaign.id
            )));
        }
        parts = taken;
        crate::app::transparency::award_committed(conn, campaign, fund)?;
        crate::app::grants::open_for_commitment(conn, campaign, fund)?;
    }
    record_with(
        conn,
        campaign,
        fund,
        Decision::Distribute,
        amount,
        inputs_json(fund, pool, line, &parts),
    )?;
    Ok(())
}

/// The job: shares every quadratic round whose `closes_at` has passed and whose campaigns are
/// all decided. Returns how many rounds it shared.
pub fn distribute_due(conn: &mut DbConnection) -> QueryResult<usize> {
    let due: Vec<FundId> = funds::table
        .filter(funds::match_policy.eq(MatchPolicy::Quadratic))
        .filter(funds::distributed_at.is_null())
        .filter(funds::closes_at.le(now()))
        .select(funds::id)
        .load(conn)?;
    let mut shared = 0;
    for fund_id in due {
        match distribute(conn, None, &fund_id) {
            Ok(_) => shared += 1,
            Err(DistributeError::StillRunning(_)) => {}
            Err(DistributeError::Db(e)) => return Err(e),
            Err(e) => tracing::error!(fund_id = %fund_id, error = %e, "quadratic round not shared"),
        }
    }
    Ok(shared)
}
