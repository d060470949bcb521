//! The matching engine: applies the decisions of `domain::matching` (the rules, pure) to the
//! books. Money moves only through `db::ledger::transfer` (conditional on availability); a
//! campaign's match moves only through `db::campaigns::move_match` (conditional on the state it
//! was read in), so two transactions that read the same state can never both act on it. Each
//! movement writes a decision record with its inputs, and its notifications, in the same
//! transaction.

use crate::clock::now;
use crate::db::campaigns::move_match;
pub use crate::db::campaigns::{load_campaign, load_fund, lock_campaign};
use crate::db::funders::{add_to_part, clear_parts, load_funders, load_parts};
use crate::db::models::{CampaignRow, FundRow, FunderRow, RefundRow};
use crate::db::schema::{campaigns, pledges, refunds};
use crate::db::{DbConnection, ledger, write_tx};
use crate::domain::campaign::CampaignStatus;
use crate::domain::ids::{self, CampaignId, FundId};
use crate::domain::matching::{
    self, Decision, MatchAction, MatchInputs, MatchState, ServeAction, Verdict,
};
use crate::domain::pledge::{Dispute, RefundStatus};
use diesel::prelude::*;
use serde_json::json;

pub use super::match_money::{Part, coverable_of, fund_params, record_with, take_from_funders};

pub fn threshold_of(campaign: &CampaignRow, fund: &FundRow) -> i64 {
    fund.threshold_for(campaign.goal)
}

pub fn top_up_of(campaign: &CampaignRow, fund: &FundRow) -> i64 {
    fund.top_up_for(campaign.goal)
}

/// The inputs of a decision: `available` is what the funders can cover of this campaign's
/// top-up under the fund's split (with one funder or `priority`, the fund's available budget up
/// to the top-up).
pub fn inputs_of(campaign: &CampaignRow, fund: &FundRow, funders: &[FunderRow]) -> MatchInputs {
    let top_up = top_up_of(campaign, fund);
    let mut inputs = unlimited_inputs(campaign, fund);
    inputs.available = coverable_of(fund, funders, top_up);
    inputs
}

/// The inputs as if the budget were unlimited: whether the rule would act at all.
fn unlimited_inputs(campaign: &CampaignRow, fund: &FundRow) -> MatchInputs {
    MatchInputs {
        raised: campaign.raised,
        donors: i64::from(campaign.donors),
        goal: campaign.goal,
        threshold: threshold_of(campaign, fund),
        top_up: top_up_of(campaign, fund),
        min_donors: i64::from(fund.min_donors),
        available: i64::MAX,
        partial: fund.exhaustion_policy == crate::domain::fund::ExhaustionPolicy::Partial,
    }
}

fn inputs_json(i: &MatchInputs, fund: &FundRow, funders: &[FunderRow], parts: &[Part]) -> String {
    let funder_lines: Vec<serde_json::Value> = funders
        .iter()
        .map(|f| {
            json!({
                "funder_id": f.id,
                "name": f.name,
                "priority": f.priority,
                "share": f.share,
                "available": f.available(),
                "part": parts.iter().filter(|p| p.funder_id == f.id).map(|p| p.amount).sum::<i64>(),
            })
        })
        .collect();
    json!({
        "raised": i.raised,
        "donors": i.donors,
        "goal": i.goal,
        "threshold": i.threshold,
        "top_up": i.top_up,
        "min_donors": i.min_donors,
        "available": funders.iter().map(FunderRow::available).sum::<i64>(),
        "coverable": i.available,
        "budget": funders.iter().map(|f| f.budget).sum::<i64>(),
        "threshold_ratio": fund.threshold_ratio,
        "match_ratio": fund.match_ratio,
        "max_match_per_campaign": fund.max_match_per_campaign,
        "allocation": fund.allocation.as_str(),
        "exhaustion_policy": fund.exhaustion_policy.as_str(),
        "match_policy": fund.match_policy.as_str(),
        "funding_split": fund.funding_split.as_str(),
        "funders": funder_lines,
    })
    .to_string()
}

/// Records a decision with its inputs and each funder's part of it. The funders' figures are
/// read after the movement and shown as they were when the decision was taken (a reservation's
/// parts added back, a release's taken off).
pub fn record(
    conn: &mut DbConnection,
    campaign: &CampaignRow,
    fund: &FundRow,
    decision: Decision,
    amount: i64,
    parts: &[Part],
) -> QueryResult<()> {
    let mut funders = load_funders(conn, &fund.id)?;
    let sign = match decision {
        Decision::Reserve | Decision::Partial | Decision::Earmark => 1,
        Decision::Revoke | Decision::Release => -1,
        _ => 0,
    };
    for f in &mut funders {
        let part: i64 = parts
            .iter()
            .filter(|p| p.funder_id == f.id)
            .map(|p| p.amount)
            .sum();
        // Shown through `held` so that `available()` is the figure before the movement.
        f.held -= sign * part;
    }
    let inputs = inputs_of(campaign, fund, &funders);
    record_with(
        conn,
        campaign,
        fund,
        decision,
        amount,
        inputs_json(&inputs, fund, &funders, parts),
    )
}

/// Reserves `amount` for a campaign from its fund's funders and records each funder's part.
pub fn try_reserve(
    conn: &mut DbConnection,
    fund: &FundRow,
    campaign_id: &str,
    amount: i64,
    memo: &str,
) -> QueryResult<Option<Vec<Part>>> {
    let parts = take_from_funders(
        conn,
        fund,
        campaign_id,
        ledger::Movement::Reserve,
        amount,
        memo,
    )?;
    if let Some(parts) = &parts {
        for p in parts {
            add_to_part(conn, campaign_id, &p.funder_id, &fund.id, p.amount)?;
        }
    }
    Ok(parts)
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
const RUNNING: [CampaignStatus; 2] = [CampaignStatus::Live, CampaignStatus::Closing];

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

/// Moves each of a campaign's funder parts (`movement` Release or Commit) through the ledger's
/// door; the campaign says the money is there, so finding it missing means the books disagree.
/// Returns the parts moved.
fn move_parts(
    conn: &mut DbConnection,
    fund: &FundRow,
    campaign: &CampaignRow,
    movement: ledger::Movement,
    memo: &str,
) -> QueryResult<Vec<Part>> {
    let parts = load_parts(conn, &CampaignId::from(&campaign.id))?;
    let total: i64 = parts.iter().map(|p| p.amount).sum();
    if total != campaign.match_amount {
        return Err(books_disagree(
            "funder parts differ from the campaign's match",
        ));
    }
    let mut moved = Vec::with_capacity(parts.len());
    for p in parts {
        if !ledger::transfer(
            conn,
            &fund.id,
            &p.funder_id,
            fund.currency,
            movement,
            p.amount,
            Some(&campaign.id),
            memo,
        )? {
            return Err(books_disagree(movement.as_str()));
        }
        moved.push(Part {
            funder_id: p.funder_id,
            amount: p.amount,
        });
    }
    Ok(moved)
}

/// Gives a campaign's reservation (or earmark) back to its fund, once: the campaign leaves
/// `reserved` and the fund's `reserved` goes down together, or neither does. Returns whether
/// there was a reservation to give back.
fn release_reservation(
    conn: &mut DbConnection,
    campaign: &CampaignRow,
    fund: &FundRow,
    memo: &str,
    decision: Decision,
) -> QueryResult<bool> {
    if campaign.match_status != MatchState::Reserved
        || !move_match(
            conn,
            campaign,
            MatchState::Reserved,
            MatchState::Revoked,
            0,
            None,
            &[],
        )?
    {
        return Ok(false);
    }
    let amount = campaign.match_amount;
    let parts = move_parts(conn, fund, campaign, ledger::Movement::Release, memo)?;
    let campaign_id = CampaignId::from(&campaign.id);
    clear_parts(conn, &campaign_id)?;
    crate::db::holds::release_reserved(conn, &campaign_id)?;
    record(conn, campaign, fund, decision, amount, &parts)?;
    Ok(true)
}

/// Reserves `amount` for a campaign in `from` (crossing or served from the queue): the fund's
/// money and the campaign's match move together. Returns false, having changed nothing, when
/// the budget was taken in the meantime.
fn reserve(
    conn: &mut DbConnection,
    campaign: &CampaignRow,
    fund: &FundRow,
    inputs: &MatchInputs,
    amount: i64,
    memo: &str,
) -> QueryResult<bool> {
    let Some(parts) = try_reserve(conn, fund, &campaign.id, amount, memo)? else {
        return Ok(false);
    };
    let from = campaign.match_status;
    if !move_match(
        conn,
        campaign,
        from,
        MatchState::Reserved,
        amount,
        None,
        &RUNNING,
    )? {
        return Err(books_disagree("campaign moved under its row lock"));
    }
    record(
        conn,
        campaign,
        fund,
        matching::reserve_decision(amount, inputs),
        amount,
        &parts,
    )?;
    crate::notify::match_reserved(conn, &campaign.id)?;
    Ok(true)
}

/// Queues a campaign (once) and tells the city its budget ran out.
fn queue(conn: &mut DbConnection, campaign: &CampaignRow, fund: &FundRow) -> QueryResult<()> {
    if move_match(
        conn,
        campaign,
        campaign.match_status,
        MatchState::Waitlisted,
        0,
        Some(now()),
        &RUNNING,
    )? {
        record(conn, campaign, fund, Decision::Waitlist, 0, &[])?;
        crate::notify::budget_exhausted(conn, fund, campaign)?;
    }
    Ok(())
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
    if !RUNNING.contains(&campaign.status) {
        return Ok(false);
    }
    let params = fund_params(conn, &campaign.fund_id)?;
    if !matching::crowd_rule_applies(campaign.status, params.allocation) {
        return Ok(false);
    }
    if params.match_policy != crate::domain::fund::MatchPolicy::ThresholdTopUp {
        return Ok(false);
    }
    let unlimited = unlimited_inputs(campaign, &params);
    Ok(matching::on_threshold(campaign.match_status, &unlimited) != MatchAction::Nothing)
}

/// Applies the `on_threshold` rule to one campaign in a transaction of its own, under the
/// campaign's row lock, from its current row. Idempotent: the follow-up of a `raised` change
/// committed by a single statement (PostgreSQL's confirmation path) and the catch-up of
/// [`rematch_all`].
pub fn rematch(conn: &mut DbConnection, campaign_id: &CampaignId) -> QueryResult<Effect> {
    write_tx(conn, |conn| {
        let campaign: CampaignRow =
            diesel::update(campaigns::table.find(crate::db::changing_campaign(campaign_id)))
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
        .filter(campaigns::status.eq_any(RUNNING))
        .select(CampaignRow::as_select())
        .load(conn)?;
    let mut freed = Vec::new();
    for campaign in running {
        if needs_rematch(conn, &campaign)? && rematch(conn, &CampaignId::from(&campaign.id))?.freed
        {
            freed.push(campaign.fund_id);
        }
    }
    Ok(freed)
}

/// Applies the `on_threshold` rule to a campaign whose `raised`/`donors` just changed. Runs in
/// the caller's transaction, after the caller's UPDATE locked the campaign row.
pub fn after_raised_change(conn: &mut DbConnection, campaign: &CampaignRow) -> QueryResult<Effect> {
    if campaign.status == CampaignStatus::Succeeded {
        // Money that leaves after the decision: the grant is reviewed, not the match.
        let fund = load_fund(conn, &campaign.fund_id)?;
        crate::app::grants::after_money_left(conn, campaign, threshold_of(campaign, &fund))?;
        crate::app::crowd::after_money_changed(conn, campaign)?;
        return Ok(Effect::default());
    }
    if !needs_rematch(conn, campaign)? {
        return Ok(Effect::default());
    }
    let state = campaign.match_status;
    let fund = load_fund(conn, &campaign.fund_id)?;
    let funders = load_funders(conn, &fund.id)?;
    let inputs = inputs_of(campaign, &fund, &funders);
    match matching::on_threshold(state, &inputs) {
        MatchAction::Reserve(amount) => {
            // Another crossing may have taken the budget between our read and our update.
            if !reserve(conn, campaign, &fund, &inputs, amount, "threshold reached")? {
                queue(conn, campaign, &fund)?;
            }
        }
        MatchAction::Waitlist => queue(conn, campaign, &fund)?,
        MatchAction::Revoke => {
            let freed = release_reservation(
                conn,
                campaign,
                &fund,
                "fell below threshold",
                Decision::Revoke,
            )?;
            return Ok(Effect { freed });
        }
        MatchAction::Unqueue => {
            if leave_queue(conn, campaign)? {
                record(conn, campaign, &fund, Decision::Unqueue, 0, &[])?;
            }
        }
        MatchAction::Nothing => {}
    }
    Ok(Effect::default())
}

/// Serves a fund's waitlist, oldest crossing first, while the budget covers the head of the
/// queue (or, under `partial`, while anything is left). One short transaction per campaign.
pub fn serve_waitlist(conn: &mut DbConnection, fund_id: &FundId) -> QueryResult<usize> {
    let mut served = 0;
    loop {
        let head: Option<String> = campaigns::table
            .filter(campaigns::fund_id.eq(fund_id))
            .filter(campaigns::match_status.eq(MatchState::Waitlisted))
            .filter(campaigns::status.eq_any(RUNNING))
            .order((campaigns::waitlisted_at.asc(), campaigns::id.asc()))
            .select(campaigns::id)
            .first(conn)
            .optional()?;
        let Some(head) = head else { break };
        let outcome = write_tx(conn, |conn| -> QueryResult<bool> {
            // Lock the campaign first (same order as the pledge path: campaign, then fund).
            let locked = diesel::update(campaigns::table.find(crate::db::changing_campaign(&head)))
                .filter(campaigns::match_status.eq(MatchState::Waitlisted))
                .filter(campaigns::status.eq_any(RUNNING))
                .set(campaigns::updated_at.eq(now()))
                .execute(conn)?;
            if locked == 0 {
                return Ok(true); // someone else served or unqueued it; look again
            }
            let campaign = load_campaign(conn, &head)?;
            let fund = load_fund(conn, fund_id)?;
            let funders = load_funders(conn, fund_id)?;
            let inputs = inputs_of(&campaign, &fund, &funders);
            match matching::serve_head(&inputs) {
                ServeAction::Unqueue => {
                    if leave_queue(conn, &campaign)? {
                        record(conn, &campaign, &fund, Decision::Unqueue, 0, &[])?;
                    }
                    Ok(true)
                }
                // FIFO: the head waits, so does everyone behind it.
                ServeAction::Wait => Ok(false),
                ServeAction::Reserve(amount) => reserve(
                    conn,
                    &campaign,
                    &fund,
                    &inputs,
                    amount,
                    "served from the waitlist",
                ),
            }
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
    match campaign.match_status {
        MatchState::Reserved => {
            effect.freed = release_reservation(conn, campaign, fund, reason, Decision::Release)?;
        }
        MatchState::Waitlisted if leave_queue(conn, campaign)? => {
            record(conn, campaign, fund, Decision::Unqueue, 0, &[])?;
        }
        _ => {}
    }
    queue_refunds(conn, &campaign.id, reason)?;
    Ok(effect)
}

/// The `on_approval` earmark, when the campaign is approved: the whole top-up reserved, or
/// `Err(EarmarkRefused)` (changing nothing) when the budget cannot cover it. Caller holds the
/// campaign row; the campaign must still be `submitted`.
pub fn earmark(
    conn: &mut DbConnection,
    campaign: &CampaignRow,
    fund: &FundRow,
) -> QueryResult<Result<(), EarmarkError>> {
    if fund.allocation != crate::domain::fund::Allocation::OnApproval {
        return Ok(Ok(()));
    }
    let top_up = top_up_of(campaign, fund);
    let funders = load_funders(conn, &fund.id)?;
    let available = coverable_of(fund, &funders, top_up);
    let amount = match matching::earmark(top_up, available) {
        Ok(Some(amount)) => amount,
        Ok(None) => return Ok(Ok(())),
        Err(matching::EarmarkRefused) => return Ok(Err(EarmarkError::BudgetExhausted)),
    };
    let Some(parts) = try_reserve(conn, fund, &campaign.id, amount, "earmarked at approval")?
    else {
        return Ok(Err(EarmarkError::BudgetExhausted));
    };
    let from = campaign.match_status;
    if !matches!(from, MatchState::None | MatchState::Revoked)
        || !move_match(
            conn,
            campaign,
            from,
            MatchState::Reserved,
            amount,
            None,
            &[CampaignStatus::Submitted],
        )?
    {
        // The caller's error rolls the reservation back with it.
        return Ok(Err(EarmarkError::Moved));
    }
    record(conn, campaign, fund, Decision::Earmark, amount, &parts)?;
    Ok(Ok(()))
}

/// Why an earmark was not made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EarmarkError {
    /// The fund's available budget cannot cover the top-up.
    BudgetExhausted,
    /// The campaign's match moved while this ran.
    Moved,
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
        .filter(pledges::dispute.ne(Dispute::Open))
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
            status: RefundStatus::Pending,
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

/// The decision after `closing`: `succeeded` (the reservation becomes committed; a waitlisted
/// campaign succeeds with no match) or `failed` (released, donations refunded). Returns None if
/// another process decided it first.
pub fn decide(
    conn: &mut DbConnection,
    campaign_id: &CampaignId,
) -> QueryResult<Option<(CampaignStatus, Effect)>> {
    decide_with_fee(conn, campaign_id, None)
}

/// [`decide`], a success keeping `fee_ratio` of the campaign's crowd money as the platform's
/// fee (`COFUND_PLATFORM_FEE_RATIO`; the rest is paid to the association).
pub fn decide_with_fee(
    conn: &mut DbConnection,
    campaign_id: &CampaignId,
    fee_ratio: Option<rust_decimal::Decimal>,
) -> QueryResult<Option<(CampaignStatus, Effect)>> {
    write_tx(conn, |conn| {
        let locked =
            diesel::update(campaigns::table.find(crate::db::changing_campaign(campaign_id)))
                .filter(campaigns::status.eq(CampaignStatus::Closing))
                .set(campaigns::updated_at.eq(now()))
                .execute(conn)?;
        if locked == 0 {
            return Ok(None);
        }
        let campaign = load_campaign(conn, campaign_id)?;
        let fund = load_fund(conn, &campaign.fund_id)?;
        let threshold = threshold_of(&campaign, &fund);
        let mut effect = Effect::default();
        let outcome = match matching::on_close(campaign.raised, threshold) {
            Verdict::Succeeded => {
                match campaign.match_status {
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
                            let parts = move_parts(
                                conn,
                                &fund,
                                &campaign,
                                ledger::Movement::Commit,
                                "campaign succeeded",
                            )?;
                            record(conn, &campaign, &fund, Decision::Commit, amount, &parts)?;
                            crate::app::transparency::award_committed(conn, &campaign, &fund)?;
                            crate::app::grants::open_for_commitment(conn, &campaign, &fund)?;
                        }
                    }
                    MatchState::Waitlisted if leave_queue(conn, &campaign)? => {
                        record(conn, &campaign, &fund, Decision::NoBudget, 0, &[])?;
                    }
                    _ => {}
                }
                CampaignStatus::Succeeded
            }
            Verdict::Failed => {
                effect = release_and_refund(conn, &campaign, &fund, "campaign failed")?;
                CampaignStatus::Failed
            }
        };
        diesel::update(campaigns::table.find(crate::db::changing_campaign(campaign_id)))
            .set((
                campaigns::status.eq(outcome),
                campaigns::decided_at.eq(Some(now())),
            ))
            .execute(conn)?;
        let decided = load_campaign(conn, campaign_id)?;
        if outcome == CampaignStatus::Succeeded {
            // The crowd's money becomes the association's (less the fee), all at once.
            crate::app::crowd::campaign_succeeded(conn, &decided, fee_ratio)?;
        }
        crate::notify::campaign_changed(conn, &decided, &fund, None, true)?;
        crate::db::queries::audit_system(
            conn,
            &format!("campaign.{outcome}"),
            "campaign",
            campaign_id,
            Some(format!(
                "raised {} of threshold {threshold}",
                campaign.raised
            )),
        )?;
        Ok(Some((outcome, effect)))
    })
}

/// Serves the waitlist of every fund that has one.
pub fn serve_waitlists(conn: &mut DbConnection) -> QueryResult<usize> {
    let funds: Vec<FundId> = campaigns::table
        .filter(campaigns::match_status.eq(MatchState::Waitlisted))
        .select(campaigns::fund_id)
        .distinct()
        .load(conn)?;
    let mut served = 0;
    for fund in funds {
        served += serve_waitlist(conn, &fund)?;
    }
    Ok(served)
}

/// How often the matching job looks at every running campaign for a crossing the rule has not
/// acted on. Every change of `raised` applies the rule in its own transaction, so this is only
/// a safety net; run on every tick it read every running campaign several times a second,
/// which at a programme's 20,000 campaigns competed with the confirmations themselves.
pub const MATCH_CATCH_UP_EVERY: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// When this process's matching job last caught up every running campaign (by the injected
/// clock). A process's first pass always catches up: a replica taking the job over from a dead
/// one looks at everything at once.
#[derive(Debug, Default)]
pub struct CatchUp {
    last: std::sync::Mutex<Option<chrono::NaiveDateTime>>,
}

impl CatchUp {
    /// Whether a catch-up is due at `t`; if so, it counts as done from `t`.
    pub fn due(&self, t: chrono::NaiveDateTime) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        match *last {
            Some(at) if t < at + MATCH_CATCH_UP_EVERY => false,
            _ => {
                *last = Some(t);
                true
            }
        }
    }
}
