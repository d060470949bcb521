//! The `per_donation` policy applied to the books (the rule is `domain::per_donation`, the split
//! `domain::funding`). A pledge's match is held when the pledge is created, one `match_holds`
//! row per funder, through the ledger's door (`available → held`); it becomes part of the
//! campaign's reserved match when the payment is counted (`held → reserved`), lapses at its
//! `expires_at` (the expiry job: `held → available`), and goes back when the payment fails or
//! is refunded. Every change of a hold row is conditional on the status it was read in, so a
//! payment and the expiry job racing for the same hold move its money once.
//!
//! A payment counted after its hold lapsed (or whose pledge got no hold because the budget was
//! spent) is matched from what the funders still have when it is counted, if anything.

use crate::clock::now;
use crate::db::funders::{add_to_part, load_funders, take_from_part};
use crate::db::ledger::{self, Movement};
use crate::db::models::{CampaignRow, FundRow, MatchHoldRow, PledgeRow};
use crate::db::schema::{campaigns, match_holds, pledges};
use crate::db::{DbConnection, holds};
use crate::domain::campaign::CampaignStatus;
use crate::domain::fund::MatchPolicy;
use crate::domain::matching::Decision;
use crate::domain::per_donation::{HoldCaps, HoldInputs, HoldLimit, HoldStatus};
use diesel::prelude::*;
use serde_json::json;

use super::match_money::{Part, coverable_of, record_with, take_from_funders};

/// A match held for a new pledge: what the partner tells the donor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    pub amount: i64,
    pub expires_at: chrono::NaiveDateTime,
    /// The hoarding cap that cut the match, if one did (`partner_hold_limit`,
    /// `donor_hold_limit`).
    pub reason: Option<HoldLimit>,
}

/// What the campaign already has: its reserved match and the holds not yet lapsed.
fn campaign_matched(conn: &mut DbConnection, campaign: &CampaignRow) -> QueryResult<i64> {
    let held: Option<i64> = match_holds::table
        .filter(match_holds::campaign_id.eq(&campaign.id))
        .filter(match_holds::status.eq(HoldStatus::Held))
        .select(diesel::dsl::sql::<
            diesel::sql_types::Nullable<diesel::sql_types::BigInt>,
        >("CAST(SUM(amount) AS BIGINT)"))
        .first(conn)?;
    Ok(campaign.match_amount + held.unwrap_or(0))
}

fn hold_inputs(fund: &FundRow, amount: i64, campaign_matched: i64) -> HoldInputs {
    HoldInputs {
        amount,
        match_ratio: fund.match_ratio,
        max_match_per_donation: fund.max_match_per_donation,
        max_match_per_campaign: fund.max_match_per_campaign,
        campaign_matched,
    }
}

/// Holds the match of a new pledge (in the transaction that writes the pledge), when its fund
/// runs `per_donation`. None for other funds; `Some(0)`-amount when the budget is spent, or
/// when a hoarding cap ([`HoldCaps`]) leaves nothing (with the cap as `reason`). The caps are
/// checked under the locks the hold is taken with: the campaign's row (one donor, one live
/// hold per campaign) and the partner's row (one partner's holds in the fund), so concurrent
/// pledges cannot pass them together.
pub fn hold_for_new_pledge(
    conn: &mut DbConnection,
    campaign: &CampaignRow,
    pledge: &PledgeRow,
    caps: HoldCaps,
) -> QueryResult<Option<Held>> {
    // The policy from the process's copy of the fund's (immutable) parameters: other funds'
    // pledges pay no extra read.
    // Only the fund's (immutable) parameters are read here; its money is the funders'.
    let fund = super::match_money::fund_params(conn, &campaign.fund_id)?;
    if fund.match_policy != MatchPolicy::PerDonation {
        return Ok(None);
    }
    // The campaign's row lock: its cap is shared by every pledge being created for it.
    let campaign: CampaignRow =
        diesel::update(campaigns::table.find(crate::db::changing_campaign(&campaign.id)))
            .set(campaigns::updated_at.eq(campaigns::updated_at))
            .get_result(conn)?;
    let expires_at = now() + chrono::Duration::seconds(i64::from(fund.match_hold_secs));
    let inputs = hold_inputs(&fund, pledge.amount, campaign_matched(conn, &campaign)?);
    let funders = load_funders(conn, &fund.id)?;
    let mut want = inputs.wanted();
    let mut reason = None;
    if want > 0 {
        let donor_has_hold = caps.one_per_donor
            && holds::donor_has_live_hold(conn, &campaign.id, &pledge.donor_key, &pledge.id)?;
        let partner_held = match caps.partner_share {
            Some(_) if !donor_has_hold => {
                holds::lock_partner(conn, &pledge.partner_id)?;
                holds::partner_held(conn, &fund.id, &pledge.partner_id)?
            }
            _ => 0,
        };
        let budget = funders.iter().map(|f| f.budget).sum();
        (want, reason) = caps.apply(want, budget, partner_held, donor_has_hold);
    }
    let amount = want.min(coverable_of(&fund, &funders, want).max(0));
    if amount > 0 {
        let Some(parts) = take_from_funders(
            conn,
            &fund,
            &campaign.id,
            Movement::Hold,
            amount,
            &format!("held for pledge {}", pledge.id),
        )?
        else {
            // A concurrent hold took it between the read and the write: no promise.
            return Ok(Some(Held {
                amount: 0,
                expires_at,
                reason,
            }));
        };
        for p in &parts {
            holds::insert(
                conn,
                &MatchHoldRow {
                    pledge_id: pledge.id.clone(),
                    funder_id: p.funder_id.clone(),
                    campaign_id: campaign.id.clone(),
                    fund_id: fund.id.clone(),
                    amount: p.amount,
                    status: HoldStatus::Held,
                    expires_at,
                    created_at: now(),
                },
            )?;
        }
    }
    Ok(Some(Held {
        amount,
        expires_at,
        reason,
    }))
}

/// The match held for a pledge (for a repeated creation request), if its fund holds matches.
pub fn held_for(
    conn: &mut DbConnection,
    pledge_id: &str,
    fund_id: &str,
) -> QueryResult<Option<Held>> {
    let fund = super::match_money::fund_params(conn, fund_id)?;
    if fund.match_policy != MatchPolicy::PerDonation {
        return Ok(None);
    }
    let rows: Vec<MatchHoldRow> = match_holds::table
        .filter(match_holds::pledge_id.eq(pledge_id))
        .select(MatchHoldRow::as_select())
        .load(conn)?;
    Ok(Some(Held {
        reason: None,
        amount: rows.iter().map(|r| r.amount).sum(),
        expires_at: rows
            .first()
            .map(|r| r.expires_at)
            .unwrap_or_else(|| now() + chrono::Duration::seconds(i64::from(fund.match_hold_secs))),
    }))
}

/// A pledge's match under `per_donation`, as its partner sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PledgeMatch {
    /// What the pledge's match amounts to now (0 once released).
    pub amount: i64,
    /// `reserved` when any part is the campaign's, else `held` while promised, else `released`.
    pub status: HoldStatus,
    pub expires_at: chrono::NaiveDateTime,
}

/// The matches of `pledge_ids` (pledges of other funds have none), in one query.
pub fn matches_of(
    conn: &mut DbConnection,
    pledge_ids: &[&str],
) -> QueryResult<std::collections::HashMap<String, PledgeMatch>> {
    let rows: Vec<MatchHoldRow> = match_holds::table
        .filter(match_holds::pledge_id.eq_any(pledge_ids))
        .select(MatchHoldRow::as_select())
        .load(conn)?;
    let mut out: std::collections::HashMap<String, PledgeMatch> = Default::default();
    for r in rows {
        let m = out.entry(r.pledge_id.clone()).or_insert(PledgeMatch {
            amount: 0,
            status: HoldStatus::Released,
            expires_at: r.expires_at,
        });
        if r.status != HoldStatus::Released {
            m.amount += r.amount;
        }
        m.status = match (m.status, r.status) {
            (HoldStatus::Reserved, _) | (_, HoldStatus::Reserved) => HoldStatus::Reserved,
            (HoldStatus::Held, _) | (_, HoldStatus::Held) => HoldStatus::Held,
            _ => HoldStatus::Released,
        };
    }
    Ok(out)
}

fn books_disagree(what: &str) -> diesel::result::Error {
    tracing::error!(
        what,
        "per-donation match and funders' figures disagree; nothing applied"
    );
    diesel::result::Error::QueryBuilderError(format!("books disagree: {what}").into())
}

/// After a pledge changed (in the same transaction): follows its match when its fund holds
/// matches. `campaign` is the pledge's campaign when its `raised` was just counted; without it
/// only a pledge that has holds is looked at (a failure or an expiry), so other funds' events
/// cost one indexed read at most.
pub fn after_pledge_change(
    conn: &mut DbConnection,
    pledge_id: &str,
    campaign: Option<&CampaignRow>,
) -> QueryResult<()> {
    let follows = match campaign {
        Some(c) => {
            super::match_money::fund_params(conn, &c.fund_id)?.match_policy
                == MatchPolicy::PerDonation
        }
        None => {
            match_holds::table
                .filter(match_holds::pledge_id.eq(pledge_id))
                .count()
                .get_result::<i64>(conn)?
                > 0
        }
    };
    if follows {
        follow_pledge(conn, pledge_id)?;
    }
    Ok(())
}

/// Brings a pledge's match in line with its payment, in the transaction that changed it (after
/// its campaign's `raised` was counted, under the campaign's row lock when money moved):
/// counted money keeps (or gets) a reserved match of up to what the rule gives its counted
/// amount; a pledge that failed, expired or was refunded gives its match back. Only while the
/// campaign runs: a decided campaign's match is final. Idempotent.
pub fn follow_pledge(conn: &mut DbConnection, pledge_id: &str) -> QueryResult<()> {
    let pledge: PledgeRow = pledges::table
        .find(pledge_id)
        .select(PledgeRow::as_select())
        .first(conn)?;
    let campaign = crate::db::campaigns::load_campaign(conn, &pledge.campaign_id)?;
    let fund = super::match_money::fund_params(conn, &campaign.fund_id)?;
    if fund.match_policy != MatchPolicy::PerDonation {
        return Ok(());
    }
    let holds: Vec<MatchHoldRow> = match_holds::table
        .filter(match_holds::pledge_id.eq(pledge_id))
        .order(match_holds::funder_id.asc())
        .select(MatchHoldRow::as_select())
        .load(conn)?;
    let running = matches!(
        campaign.status,
        CampaignStatus::Live | CampaignStatus::Closing
    );
    let reserved: i64 = holds
        .iter()
        .filter(|h| h.status == HoldStatus::Reserved)
        .map(|h| h.amount)
        .sum();
    // The match the counted money earns, with this pledge's own match not counted against
    // the campaign's cap.
    let others = campaign_matched(conn, &campaign)?
        - reserved
        - holds
            .iter()
            .filter(|h| h.status == HoldStatus::Held)
            .map(|h| h.amount)
            .sum::<i64>();
    let target = if running && pledge.counted_amount > 0 {
        hold_inputs(&fund, pledge.counted_amount, others).wanted()
    } else {
        0
    };
    let counted = pledge.counted_amount > 0;
    let mut moved = Vec::new();
    let mut gained = 0i64;
    // Held parts: reserved (up to the target) when the money is counted, released otherwise.
    let mut room = (target - reserved).max(0);
    for h in holds.iter().filter(|h| h.status == HoldStatus::Held) {
        let keep = if counted && running {
            h.amount.min(room)
        } else {
            0
        };
        if !holds::set_status(
            conn,
            h,
            if keep > 0 {
                HoldStatus::Reserved
            } else {
                HoldStatus::Released
            },
            if keep > 0 { keep } else { h.amount },
        )? {
            continue; // the expiry job took it first
        }
        if keep > 0 {
            transfer(
                conn,
                &fund,
                &h.funder_id,
                &campaign.id,
                Movement::ReserveHeld,
                keep,
                "held match paid",
            )?;
            add_to_part(conn, &campaign.id, &h.funder_id, &fund.id, keep)?;
            moved.push(Part {
                funder_id: h.funder_id.clone(),
                amount: keep,
            });
            gained += keep;
            room -= keep;
        }
        if h.amount > keep {
            transfer(
                conn,
                &fund,
                &h.funder_id,
                &campaign.id,
                Movement::Unhold,
                h.amount - keep,
                "hold released",
            )?;
        }
    }
    if !running {
        return finish(conn, &campaign, &fund, gained, &moved, Decision::Reserve);
    }
    // Counted money with less matched than it earns (its hold lapsed, or there was none):
    // matched from what is left, if anything.
    if counted && room > 0 {
        let funders = load_funders(conn, &fund.id)?;
        let amount = coverable_of(&fund, &funders, room);
        if amount > 0
            && let Some(parts) = take_from_funders(
                conn,
                &fund,
                &campaign.id,
                Movement::Reserve,
                amount,
                "paid donation matched from what is left",
            )?
        {
            for p in &parts {
                add_to_part(conn, &campaign.id, &p.funder_id, &fund.id, p.amount)?;
                holds::add_reserved(conn, &pledge, &fund, &p.funder_id, p.amount)?;
                gained += p.amount;
            }
            moved.extend(parts);
        }
    }
    // More reserved than the counted money earns (refunded, charged back): the excess goes
    // back, from the last funder first.
    let mut excess = (reserved - target).max(0);
    let mut released = Vec::new();
    for h in holds
        .iter()
        .rev()
        .filter(|h| h.status == HoldStatus::Reserved)
    {
        if excess == 0 {
            break;
        }
        let give = h.amount.min(excess);
        let left = h.amount - give;
        if !holds::set_status(
            conn,
            h,
            if left > 0 {
                HoldStatus::Reserved
            } else {
                HoldStatus::Released
            },
            if left > 0 { left } else { h.amount },
        )? {
            return Err(books_disagree(
                "a reserved hold moved under its pledge's lock",
            ));
        }
        if !take_from_part(conn, &campaign.id, &h.funder_id, give)? {
            return Err(books_disagree(
                "a funder's part is smaller than the pledge's match",
            ));
        }
        transfer(
            conn,
            &fund,
            &h.funder_id,
            &campaign.id,
            Movement::Release,
            give,
            "donation refunded: its match released",
        )?;
        released.push(Part {
            funder_id: h.funder_id.clone(),
            amount: give,
        });
        excess -= give;
    }
    if gained > 0 {
        finish(conn, &campaign, &fund, gained, &moved, Decision::Reserve)?;
    }
    let lost: i64 = released.iter().map(|p| p.amount).sum();
    if lost > 0 {
        let campaign = crate::db::campaigns::load_campaign(conn, &pledge.campaign_id)?;
        finish(conn, &campaign, &fund, -lost, &released, Decision::Revoke)?;
    }
    Ok(())
}

/// The campaign side of a per-donation movement and its decision record.
fn finish(
    conn: &mut DbConnection,
    campaign: &CampaignRow,
    fund: &FundRow,
    delta: i64,
    parts: &[Part],
    decision: Decision,
) -> QueryResult<()> {
    if delta == 0 {
        return Ok(());
    }
    if !crate::db::campaigns::add_to_reserved_match(conn, &campaign.id, delta)? {
        return Err(books_disagree(
            "the campaign's match cannot take this donation's match",
        ));
    }
    let inputs = json!({
        "match_policy": fund.match_policy.as_str(),
        "match_ratio": fund.match_ratio,
        "max_match_per_donation": fund.max_match_per_donation,
        "max_match_per_campaign": fund.max_match_per_campaign,
        "campaign_match_before": campaign.match_amount,
        "raised": campaign.raised,
        "funders": parts.iter().map(|p| json!({"funder_id": p.funder_id, "part": p.amount})).collect::<Vec<_>>(),
    })
    .to_string();
    record_with(conn, campaign, fund, decision, delta.abs(), inputs)
}

fn transfer(
    conn: &mut DbConnection,
    fund: &FundRow,
    funder_id: &str,
    campaign_id: &str,
    movement: Movement,
    amount: i64,
    memo: &str,
) -> QueryResult<()> {
    if ledger::transfer(
        conn,
        &fund.id,
        funder_id,
        fund.currency,
        movement,
        amount,
        Some(campaign_id),
        memo,
    )? {
        Ok(())
    } else {
        Err(books_disagree(movement.as_str()))
    }
}

/// Releases every hold whose time ran out (the expiry job), each in a short transaction of
/// its own. Returns how many it released.
pub fn expire_holds(conn: &mut DbConnection, limit: i64) -> QueryResult<usize> {
    let due: Vec<MatchHoldRow> = match_holds::table
        .filter(match_holds::status.eq(HoldStatus::Held))
        .filter(match_holds::expires_at.le(now()))
        .order(match_holds::expires_at.asc())
        .limit(limit)
        .select(MatchHoldRow::as_select())
        .load(conn)?;
    let mut released_count = 0;
    for hold in due {
        let released = crate::db::write_tx(conn, |conn| -> QueryResult<bool> {
            // The pledge's row lock first, as a payment takes it (pledge, campaign, hold, fund):
            // taking the hold first deadlocked against a batch of confirmations on PostgreSQL.
            diesel::update(pledges::table.find(&hold.pledge_id))
                .set(pledges::updated_at.eq(pledges::updated_at))
                .execute(conn)?;
            if !holds::set_status(conn, &hold, HoldStatus::Released, hold.amount)? {
                return Ok(false); // paid or released meanwhile
            }
            let fund = super::match_money::fund_params(conn, &hold.fund_id)?;
            transfer(
                conn,
                &fund,
                &hold.funder_id,
                &hold.campaign_id,
                Movement::Unhold,
                hold.amount,
                "hold lapsed",
            )?;
            Ok(true)
        })?;
        if released {
            released_count += 1;
        }
    }
    Ok(released_count)
}
