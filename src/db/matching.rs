//! The matching engine's writes. Every reservation is a conditional UPDATE on the fund row
//! (`… WHERE budget - reserved - committed - settled >= amount`), so concurrent crossings can
//! never overspend on either backend; the fund row is touched only when a campaign crosses,
//! falls back, is decided or cancelled — never by an ordinary pledge. Each movement writes its
//! ledger entry and a decision record with its inputs in the same transaction.

use super::models::{CampaignRow, FundRow, MatchDecisionRow, RefundRow};
use super::schema::{campaigns, funds, match_decisions, pledges, refunds};
use super::{DbConnection, ledger, write_tx};
use crate::clock::now;
use crate::domain::ids;
use crate::domain::matching::{self, MatchAction, MatchInputs, MatchState};
use crate::domain::money::Ratio;
use crate::domain::pledge::RefundStatus;
use diesel::prelude::*;
use serde_json::json;

/// A stored ratio. One that does not parse is corrupt data and an error: never read as some
/// default (a default of 1 would be a 100 % top-up).
fn ratio(field: &str, s: &str) -> QueryResult<Ratio> {
    Ratio::parse(s).map_err(|e| {
        diesel::result::Error::DeserializationError(
            format!("stored {field} {s:?} is not a ratio: {e}").into(),
        )
    })
}

pub fn threshold_of(campaign: &CampaignRow, fund: &FundRow) -> QueryResult<i64> {
    Ok(matching::threshold(
        campaign.goal,
        ratio("threshold_ratio", &fund.threshold_ratio)?,
    ))
}

pub fn top_up_of(campaign: &CampaignRow, fund: &FundRow) -> QueryResult<i64> {
    Ok(matching::top_up(
        campaign.goal,
        ratio("match_ratio", &fund.match_ratio)?,
        fund.max_match_per_campaign,
    ))
}

pub fn available_of(fund: &FundRow) -> i64 {
    fund.budget - fund.reserved - fund.committed - fund.settled
}

pub fn inputs_of(campaign: &CampaignRow, fund: &FundRow) -> QueryResult<MatchInputs> {
    Ok(MatchInputs {
        raised: campaign.raised,
        donors: i64::from(campaign.donors),
        goal: campaign.goal,
        threshold: threshold_of(campaign, fund)?,
        top_up: top_up_of(campaign, fund)?,
        min_donors: i64::from(fund.min_donors),
        available: available_of(fund),
        partial: fund.exhaustion_policy == crate::domain::fund::ExhaustionPolicy::Partial,
    })
}

fn inputs_json(i: &MatchInputs, fund: &FundRow) -> String {
    json!({
        "raised": i.raised,
        "donors": i.donors,
        "goal": i.goal,
        "threshold": i.threshold,
        "top_up": i.top_up,
        "min_donors": i.min_donors,
        "available": i.available,
        "budget": fund.budget,
        "threshold_ratio": fund.threshold_ratio,
        "match_ratio": fund.match_ratio,
        "max_match_per_campaign": fund.max_match_per_campaign,
        "allocation": fund.allocation.as_str(),
        "exhaustion_policy": fund.exhaustion_policy.as_str(),
    })
    .to_string()
}

pub fn record(
    conn: &mut DbConnection,
    campaign: &CampaignRow,
    fund: &FundRow,
    decision: &str,
    amount: i64,
) -> QueryResult<()> {
    let inputs = inputs_of(campaign, fund)?;
    diesel::insert_into(match_decisions::table)
        .values(MatchDecisionRow {
            id: ids::new_id("mdc"),
            campaign_id: campaign.id.clone(),
            fund_id: fund.id.clone(),
            decision: decision.to_string(),
            amount,
            inputs: inputs_json(&inputs, fund),
            created_at: now(),
        })
        .execute(conn)?;
    Ok(())
}

/// A fund's parameters. They never change after creation (only its budget figures do), so each
/// process keeps them; never read the budget figures of the returned row.
fn fund_params(conn: &mut DbConnection, fund_id: &str) -> QueryResult<FundRow> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<HashMap<String, FundRow>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(f) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(fund_id) {
        return Ok(f.clone());
    }
    let f = load_fund(conn, fund_id)?;
    cache
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(fund_id.to_string(), f.clone());
    Ok(f)
}

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

/// Reserves `amount` from the fund if (and only if) it is still available.
pub fn try_reserve(
    conn: &mut DbConnection,
    fund: &FundRow,
    campaign_id: &str,
    amount: i64,
    memo: &str,
) -> QueryResult<bool> {
    ledger::transfer(
        conn,
        &fund.id,
        &fund.currency,
        ledger::Movement::Reserve,
        amount,
        Some(campaign_id),
        memo,
    )
}

/// The fund row and the campaigns disagree (a movement found no money where the campaign says
/// it is): the transaction is abandoned rather than made worse; reconciliation shows why.
fn books_disagree(what: &str) -> diesel::result::Error {
    tracing::error!(
        what,
        "fund figures disagree with the campaign's match; nothing applied"
    );
    diesel::result::Error::QueryBuilderError(format!("books disagree: {what}").into())
}

/// Campaign statuses in which the crowd rule may reserve or queue a match.
const RUNNING: [&str; 2] = ["live", "closing"];

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
    statuses: &[&str],
) -> QueryResult<bool> {
    let target = campaigns::table
        .find(&campaign.id)
        .filter(campaigns::match_status.eq(from.as_str()))
        .filter(campaigns::match_amount.eq(campaign.match_amount));
    let changes = (
        campaigns::match_status.eq(to.as_str()),
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

/// Takes a waitlisted campaign off the queue (once). Returns whether it was there.
fn leave_queue(conn: &mut DbConnection, campaign: &CampaignRow) -> QueryResult<bool> {
    move_match(
        conn,
        campaign,
        MatchState::Waitlisted,
        MatchState::None,
        0,
        None,
        &[],
    )
}

/// Gives a campaign's reservation (or earmark) back to its fund, once: the campaign leaves
/// `reserved` and the fund's `reserved` goes down together, or neither does. Returns whether
/// there was a reservation to give back.
fn release_reservation(
    conn: &mut DbConnection,
    campaign: &CampaignRow,
    fund: &FundRow,
    memo: &str,
    decision: &str,
) -> QueryResult<bool> {
    if MatchState::parse(&campaign.match_status) != MatchState::Reserved {
        return Ok(false);
    }
    if !move_match(
        conn,
        campaign,
        MatchState::Reserved,
        MatchState::Revoked,
        0,
        None,
        &[],
    )? {
        return Ok(false);
    }
    let amount = campaign.match_amount;
    if !ledger::transfer(
        conn,
        &fund.id,
        &fund.currency,
        ledger::Movement::Release,
        amount,
        Some(&campaign.id),
        memo,
    )? {
        return Err(books_disagree(
            "release of more than the fund holds reserved",
        ));
    }
    record(conn, campaign, fund, decision, amount)?;
    Ok(true)
}

/// What a change did to the fund.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Effect {
    /// Budget went back to the fund: its waitlist should be served.
    pub freed: bool,
}

/// Whether the `on_threshold` rule would change this campaign's match. Decided from the fund's
/// (immutable) parameters as if the budget were unlimited, without reading the fund row: most
/// confirmations change nothing for the match.
pub fn needs_rematch(conn: &mut DbConnection, campaign: &CampaignRow) -> QueryResult<bool> {
    if !matches!(campaign.status.as_str(), "live" | "closing") {
        return Ok(false);
    }
    let params = fund_params(conn, &campaign.fund_id)?;
    if params.allocation != crate::domain::fund::Allocation::OnThreshold {
        return Ok(false);
    }
    let mut unlimited = inputs_of(campaign, &params)?;
    unlimited.available = i64::MAX;
    let state = MatchState::parse(&campaign.match_status);
    Ok(matching::on_threshold(state, &unlimited) != MatchAction::Nothing)
}

/// Applies the `on_threshold` rule to one campaign in a transaction of its own, under the
/// campaign's row lock, from its current row. Idempotent: the follow-up of a `raised` change
/// committed by a single statement (PostgreSQL's confirmation path) and the catch-up of
/// [`rematch_all`].
pub fn rematch(conn: &mut DbConnection, campaign_id: &str) -> QueryResult<Effect> {
    write_tx(conn, |conn| {
        let campaign: CampaignRow = diesel::update(campaigns::table.find(campaign_id))
            .set(campaigns::updated_at.eq(now()))
            .get_result(conn)?;
        after_raised_change(conn, &campaign)
    })
}

/// Catches up every running campaign whose match the rule would change now (a confirmation
/// whose follow-up did not run because its replica died). Returns the funds that got budget
/// back.
pub fn rematch_all(conn: &mut DbConnection) -> QueryResult<Vec<String>> {
    let running: Vec<CampaignRow> = campaigns::table
        .filter(campaigns::status.eq_any(["live", "closing"]))
        .select(CampaignRow::as_select())
        .load(conn)?;
    let mut freed = Vec::new();
    for campaign in running {
        if needs_rematch(conn, &campaign)? && rematch(conn, &campaign.id)?.freed {
            freed.push(campaign.fund_id);
        }
    }
    Ok(freed)
}

/// Applies the `on_threshold` rule to a campaign whose `raised`/`donors` just changed. Runs in
/// the caller's transaction, after the caller's UPDATE locked the campaign row.
pub fn after_raised_change(conn: &mut DbConnection, campaign: &CampaignRow) -> QueryResult<Effect> {
    if !needs_rematch(conn, campaign)? {
        return Ok(Effect::default());
    }
    let state = MatchState::parse(&campaign.match_status);
    let fund = load_fund(conn, &campaign.fund_id)?;
    let inputs = inputs_of(campaign, &fund)?;
    match matching::on_threshold(state, &inputs) {
        MatchAction::Reserve(amount) => {
            if try_reserve(conn, &fund, &campaign.id, amount, "threshold reached")? {
                if !move_match(
                    conn,
                    campaign,
                    state,
                    MatchState::Reserved,
                    amount,
                    None,
                    &RUNNING,
                )? {
                    return Err(books_disagree("campaign moved under its row lock"));
                }
                let kind = if amount < inputs.top_up {
                    "partial"
                } else {
                    "reserve"
                };
                record(conn, campaign, &fund, kind, amount)?;
                crate::notify::match_reserved(conn, &campaign.id)?;
            } else if move_match(
                conn,
                campaign,
                state,
                MatchState::Waitlisted,
                0,
                Some(now()),
                &RUNNING,
            )? {
                // Another crossing took the budget between our read and our update.
                record(conn, campaign, &fund, "waitlist", 0)?;
                crate::notify::budget_exhausted(conn, &fund, campaign)?;
            }
        }
        MatchAction::Waitlist => {
            if move_match(
                conn,
                campaign,
                state,
                MatchState::Waitlisted,
                0,
                Some(now()),
                &RUNNING,
            )? {
                record(conn, campaign, &fund, "waitlist", 0)?;
                crate::notify::budget_exhausted(conn, &fund, campaign)?;
            }
        }
        MatchAction::Revoke => {
            let freed =
                release_reservation(conn, campaign, &fund, "fell below threshold", "revoke")?;
            return Ok(Effect { freed });
        }
        MatchAction::Unqueue => {
            if move_match(conn, campaign, state, MatchState::None, 0, None, &[])? {
                record(conn, campaign, &fund, "unqueue", 0)?;
            }
        }
        MatchAction::Nothing => {}
    }
    Ok(Effect::default())
}

/// Serves a fund's waitlist, oldest crossing first, while the budget covers the head of the
/// queue (or, under `partial`, while anything is left). One short transaction per campaign.
pub fn serve_waitlist(conn: &mut DbConnection, fund_id: &str) -> QueryResult<usize> {
    let mut served = 0;
    loop {
        let head: Option<String> = campaigns::table
            .filter(campaigns::fund_id.eq(fund_id))
            .filter(campaigns::match_status.eq("waitlisted"))
            .filter(campaigns::status.eq_any(["live", "closing"]))
            .order((campaigns::waitlisted_at.asc(), campaigns::id.asc()))
            .select(campaigns::id)
            .first(conn)
            .optional()?;
        let Some(head) = head else { break };
        let outcome = write_tx(conn, |conn| -> QueryResult<bool> {
            // Lock the campaign first (same order as the pledge path: campaign, then fund).
            let locked = diesel::update(campaigns::table.find(&head))
                .filter(campaigns::match_status.eq("waitlisted"))
                .filter(campaigns::status.eq_any(RUNNING))
                .set(campaigns::updated_at.eq(now()))
                .execute(conn)?;
            if locked == 0 {
                return Ok(true); // someone else served or unqueued it; look again
            }
            let campaign = load_campaign(conn, &head)?;
            let fund = load_fund(conn, fund_id)?;
            let inputs = inputs_of(&campaign, &fund)?;
            if !inputs.qualifies() {
                if move_match(
                    conn,
                    &campaign,
                    MatchState::Waitlisted,
                    MatchState::None,
                    0,
                    None,
                    &[],
                )? {
                    record(conn, &campaign, &fund, "unqueue", 0)?;
                }
                return Ok(true);
            }
            let amount = if inputs.available >= inputs.top_up {
                inputs.top_up
            } else if inputs.partial && inputs.available > 0 {
                inputs.available
            } else {
                return Ok(false); // FIFO: the head waits, so does everyone behind it
            };
            if !try_reserve(conn, &fund, &head, amount, "served from the waitlist")? {
                return Ok(false);
            }
            if !move_match(
                conn,
                &campaign,
                MatchState::Waitlisted,
                MatchState::Reserved,
                amount,
                None,
                &RUNNING,
            )? {
                return Err(books_disagree(
                    "waitlisted campaign moved under its row lock",
                ));
            }
            let kind = if amount < inputs.top_up {
                "partial"
            } else {
                "reserve"
            };
            record(conn, &campaign, &fund, kind, amount)?;
            crate::notify::match_reserved(conn, &head)?;
            Ok(true)
        })?;
        if !outcome {
            break;
        }
        served += 1;
        if served > 10_000 {
            break;
        }
    }
    Ok(served)
}

/// Releases a campaign's reservation (or earmark) and queues refunds of every counted pledge:
/// what failure and cancellation have in common. Caller holds the campaign row.
pub fn release_and_refund(
    conn: &mut DbConnection,
    campaign: &CampaignRow,
    fund: &FundRow,
    reason: &str,
) -> QueryResult<Effect> {
    let mut effect = Effect::default();
    match MatchState::parse(&campaign.match_status) {
        MatchState::Reserved => {
            effect.freed = release_reservation(conn, campaign, fund, reason, "release")?;
        }
        MatchState::Waitlisted if leave_queue(conn, campaign)? => {
            record(conn, campaign, fund, "unqueue", 0)?;
        }
        _ => {}
    }
    queue_refunds(conn, &campaign.id, reason)?;
    Ok(effect)
}

/// One refund per counted pledge of the campaign (idempotent: a pledge has at most one). A
/// pledge under an open dispute is left to the dispute (its outcome brings the money back or
/// takes it away; a won dispute on such a campaign is then refunded as late money).
pub fn queue_refunds(
    conn: &mut DbConnection,
    campaign_id: &str,
    reason: &str,
) -> QueryResult<usize> {
    let to_refund: Vec<(String, i64)> = pledges::table
        .filter(pledges::campaign_id.eq(campaign_id))
        .filter(pledges::counted_amount.gt(0))
        .filter(pledges::dispute.ne("open"))
        .select((pledges::id, pledges::counted_amount))
        .load(conn)?;
    let mut queued = 0;
    for (pledge_id, amount) in to_refund {
        if queue_refund(conn, &pledge_id, amount, reason)? {
            queued += 1;
        }
    }
    Ok(queued)
}

/// Queues the refund of `amount` of one pledge unless the pledge already has one (a pledge is
/// refunded at most once: `refunds.pledge_id` is unique). The caller holds the pledge or its
/// campaign. Returns whether it was queued.
pub fn queue_refund(
    conn: &mut DbConnection,
    pledge_id: &str,
    amount: i64,
    reason: &str,
) -> QueryResult<bool> {
    let already: i64 = refunds::table
        .filter(refunds::pledge_id.eq(pledge_id))
        .count()
        .get_result(conn)?;
    if already > 0 || amount <= 0 {
        return Ok(false);
    }
    let t = now();
    diesel::insert_into(refunds::table)
        .values(RefundRow {
            id: ids::new_id("rfd"),
            idempotency_key: format!("cofund-refund-{pledge_id}"),
            pledge_id: pledge_id.to_string(),
            amount,
            reason: reason.to_string(),
            status: RefundStatus::Pending.as_str().into(),
            attempts: 0,
            provider_refund_id: None,
            last_error: None,
            next_attempt_at: t,
            created_at: t,
            updated_at: t,
        })
        .execute(conn)?;
    Ok(true)
}

/// Reads a campaign under its row lock (PostgreSQL `FOR UPDATE`; on SQLite the write
/// transaction already excludes every other writer), so that what the caller decides from it
/// — a cancellation's release, an approval's earmark — is still true when it writes.
pub fn lock_campaign(conn: &mut DbConnection, id: &str) -> QueryResult<Option<CampaignRow>> {
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

/// The decision after `closing`: `succeeded` (the reservation becomes committed; a waitlisted
/// campaign succeeds with no match) or `failed` (released, donations refunded). Returns None if
/// another process decided it first.
pub fn decide(conn: &mut DbConnection, campaign_id: &str) -> QueryResult<Option<(String, Effect)>> {
    write_tx(conn, |conn| {
        let locked = diesel::update(campaigns::table.find(campaign_id))
            .filter(campaigns::status.eq("closing"))
            .set(campaigns::updated_at.eq(now()))
            .execute(conn)?;
        if locked == 0 {
            return Ok(None);
        }
        let campaign = load_campaign(conn, campaign_id)?;
        let fund = load_fund(conn, &campaign.fund_id)?;
        let succeeded = campaign.raised >= threshold_of(&campaign, &fund)?;
        let mut effect = Effect::default();
        let outcome = if succeeded {
            match MatchState::parse(&campaign.match_status) {
                MatchState::Reserved => {
                    let amount = campaign.match_amount;
                    if move_match(
                        conn,
                        &campaign,
                        MatchState::Reserved,
                        MatchState::Committed,
                        amount,
                        None,
                        &[],
                    )? {
                        if !ledger::transfer(
                            conn,
                            &fund.id,
                            &fund.currency,
                            ledger::Movement::Commit,
                            amount,
                            Some(&campaign.id),
                            "campaign succeeded",
                        )? {
                            return Err(books_disagree(
                                "commitment of more than the fund holds reserved",
                            ));
                        }
                        record(conn, &campaign, &fund, "commit", amount)?;
                    }
                }
                MatchState::Waitlisted if leave_queue(conn, &campaign)? => {
                    record(conn, &campaign, &fund, "no_budget", 0)?;
                }
                _ => {}
            }
            "succeeded"
        } else {
            effect = release_and_refund(conn, &campaign, &fund, "campaign failed")?;
            "failed"
        };
        diesel::update(campaigns::table.find(campaign_id))
            .set((
                campaigns::status.eq(outcome),
                campaigns::decided_at.eq(Some(now())),
            ))
            .execute(conn)?;
        let decided = load_campaign(conn, campaign_id)?;
        crate::notify::campaign_changed(conn, &decided, &fund, None, true)?;
        super::queries::audit_system(
            conn,
            &format!("campaign.{outcome}"),
            "campaign",
            campaign_id,
            Some(format!(
                "raised {} of threshold {}",
                campaign.raised,
                threshold_of(&campaign, &fund)?
            )),
        )?;
        Ok(Some((outcome.to_string(), effect)))
    })
}

/// Sets a fund's budget (never below what is promised) and writes the ledger entry. Returns
/// false when the budget would fall below reserved + committed + settled.
pub fn set_budget(conn: &mut DbConnection, fund: &FundRow, budget: i64) -> QueryResult<bool> {
    // Conditional update: a reservation landing between the caller's read and this write
    // cannot be undercut.
    let promised = funds::reserved + funds::committed + funds::settled;
    let changed = diesel::update(funds::table.find(&fund.id))
        .filter(promised.le(budget))
        .set(funds::budget.eq(budget))
        .execute(conn)?;
    if changed == 0 {
        return Ok(false);
    }
    let current: i64 = funds::table
        .find(&fund.id)
        .select(funds::budget)
        .first(conn)?;
    let before = ledger::balances(conn, &fund.id)?.budget;
    ledger::post(
        conn,
        &fund.id,
        &fund.currency,
        ledger::Movement::Budget,
        current - before,
        None,
        "budget changed by the finance office",
    )?;
    Ok(true)
}
