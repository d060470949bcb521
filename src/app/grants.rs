//! Grants: the committed match as the city pays it. A grant is opened in the transaction that
//! commits the match; every later decision — a payment, the report's approval, a review after
//! money left the campaign, a revocation, a recovery — reads the grant under its row lock,
//! asks `domain::grant::plan` for the complete plan, and applies it: each funder's money
//! through the ledger's door (`Decommit`, `Reclaim`, `Recover`, `Settle`), its part and its one
//! payable tranche, and the grant's totals, in one transaction.

use crate::app::invalid::Invalid;
use crate::auth::Principal;
use crate::clock::now;
use crate::db::grants::{self as store, GrantChanges};
use crate::db::models::{CampaignRow, FundRow, GrantPartRow, GrantRow, GrantTrancheRow};
use crate::db::queries::audit;
use crate::db::schema::{grant_expenses, grants, match_parts};
use crate::db::{DbConnection, DbError, ledger, write_tx};
use crate::domain::grant::{
    self, AwardStatus, ExpenseStatus, GrantFacts, GrantStatus, PaymentPlan, Position, TrancheStatus,
};
use crate::domain::ids::{self, SettlementId};
use crate::domain::role::Role;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// Why a grant did not move.
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    #[error("no such grant")]
    NotFound,
    #[error("your role may not do this")]
    Forbidden,
    #[error("the request has invalid fields")]
    Invalid(Vec<Invalid>),
    /// The grant's state does not allow this now (409, with a machine-readable code).
    #[error("{1}")]
    Conflict(&'static str, String),
    /// The books and the grant disagree: nothing applied.
    #[error("books disagree: {0}")]
    Books(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for GrantError {
    fn from(e: diesel::result::Error) -> GrantError {
        GrantError::Db(DbError::Query(e))
    }
}

fn conflict(code: &'static str, message: impl Into<String>) -> GrantError {
    GrantError::Conflict(code, message.into())
}

/// Who may read a grant: its association's members, reviewers, finance and admins.
pub fn may_read(principal: &Principal, grant: &GrantRow) -> bool {
    matches!(principal.role, Role::Admin | Role::Reviewer | Role::Finance)
        || principal.is_member_of(&grant.association_id)
}

/// A grant the caller may read (404 for anyone else: another association's grant does not
/// exist for it), locked when `lock`.
pub fn visible(
    conn: &mut DbConnection,
    principal: &Principal,
    id: &str,
    lock: bool,
) -> Result<GrantRow, GrantError> {
    if principal.role == Role::Partner {
        return Err(GrantError::Forbidden);
    }
    let row = if lock {
        store::lock(conn, id)?
    } else {
        store::load(conn, id)?
    };
    match row {
        Some(g) if may_read(principal, &g) => Ok(g),
        _ => Err(GrantError::NotFound),
    }
}

/// Opens the grant of a match just committed, in the committing transaction: one part per
/// funder's share of the match, the advance (`tranches`) or the whole award
/// (`on_commitment`) payable at once. Nothing when the match is zero or the grant exists.
pub fn open_for_commitment(
    conn: &mut DbConnection,
    campaign: &CampaignRow,
    fund: &FundRow,
) -> QueryResult<()> {
    let shares: Vec<(String, i64)> = match_parts::table
        .filter(match_parts::campaign_id.eq(&campaign.id))
        .filter(match_parts::amount.gt(0))
        .order(match_parts::funder_id)
        .select((match_parts::funder_id, match_parts::amount))
        .load(conn)?;
    let awarded: i64 = shares.iter().map(|(_, a)| a).sum();
    if awarded == 0 {
        return Ok(());
    }
    let amounts: Vec<i64> = shares.iter().map(|(_, a)| *a).collect();
    let advances = match (fund.payment_plan, fund.advance_ratio.as_deref()) {
        (PaymentPlan::Tranches, Some(r)) => {
            let ratio: rust_decimal::Decimal = r.parse().unwrap_or_default();
            grant::advances(&amounts, ratio)
        }
        _ => vec![0; amounts.len()],
    };
    let t = now();
    let decided = campaign.decided_at.unwrap_or(t);
    let row = GrantRow {
        id: store::grant_id_of(&campaign.id),
        campaign_id: campaign.id.clone(),
        fund_id: fund.id.clone(),
        association_id: campaign.association_id.clone(),
        currency: fund.currency,
        payment_plan: fund.payment_plan,
        advance_ratio: fund.advance_ratio.clone(),
        goal: campaign.goal,
        awarded,
        award_limit: awarded,
        due: None,
        accepted_expenses: 0,
        paid: 0,
        released: 0,
        recoverable: 0,
        recovered: 0,
        status: GrantStatus::Open,
        review_from: None,
        award_status: AwardStatus::Awarded,
        report_due_at: decided + chrono::TimeDelta::days(fund.reporting_days as i64),
        summary: None,
        reported_at: None,
        approved_at: None,
        decision_reason: None,
        reminded_at: None,
        created_at: t,
        updated_at: t,
    };
    let parts: Vec<GrantPartRow> = shares
        .iter()
        .zip(&advances)
        .map(|((funder_id, amount), advance)| GrantPartRow {
            grant_id: row.id.clone(),
            funder_id: funder_id.clone(),
            fund_id: fund.id.clone(),
            awarded: *amount,
            advance: *advance,
            paid: 0,
            released: 0,
            recoverable: 0,
            recovered: 0,
        })
        .collect();
    if !store::insert(conn, &row, &parts)? {
        return Ok(());
    }
    apply(
        conn,
        &row,
        GrantStatus::Open,
        GrantChanges::default(),
        "grant opened",
    )
    .map_err(|e| match e {
        GrantError::Db(DbError::Query(q)) => q,
        other => diesel::result::Error::QueryBuilderError(other.to_string().into()),
    })
}

fn position(p: &GrantPartRow) -> Position {
    Position {
        awarded: p.awarded,
        advance: p.advance,
        paid: p.paid,
        released: p.released,
        recoverable: p.recoverable,
        recovered: p.recovered,
    }
}

/// Applies a decision to a locked grant: the grant moves to `status` with `changes`; each
/// funder releases, asks back and may pay exactly what the plan says.
fn apply(
    conn: &mut DbConnection,
    grant: &GrantRow,
    status: GrantStatus,
    changes: GrantChanges,
    memo: &str,
) -> Result<(), GrantError> {
    let parts = store::parts(conn, &grant.id)?;
    let facts = GrantFacts {
        plan: grant.payment_plan,
        status,
        award_limit: changes.award_limit.unwrap_or(grant.award_limit),
        due: changes.due.or(grant.due),
    };
    let positions: Vec<Position> = parts.iter().map(position).collect();
    let plans = grant::plan(&facts, &positions)
        .ok_or_else(|| GrantError::Books(format!("grant {} cannot carry its plan", grant.id)))?;
    let t = now();
    for (part, plan) in parts.iter().zip(plans) {
        store::cancel_open_tranches(conn, &grant.id, &part.funder_id)?;
        move_money(
            conn,
            grant,
            part,
            ledger::Movement::Decommit,
            plan.release,
            memo,
        )?;
        move_money(
            conn,
            grant,
            part,
            ledger::Movement::Reclaim,
            plan.reclaim,
            memo,
        )?;
        if let Some((kind, amount)) = plan.payable {
            store::insert_tranche(
                conn,
                &GrantTrancheRow {
                    id: ids::new_id(store::TRANCHE),
                    grant_id: grant.id.clone(),
                    campaign_id: grant.campaign_id.clone(),
                    fund_id: grant.fund_id.clone(),
                    funder_id: part.funder_id.clone(),
                    kind,
                    amount,
                    status: TrancheStatus::Payable,
                    settlement_id: None,
                    created_at: t,
                    paid_at: None,
                },
            )?;
        }
        if plan.release > 0 || plan.reclaim > 0 {
            let after = GrantPartRow {
                released: part.released + plan.release,
                recoverable: part.recoverable + plan.reclaim,
                ..part.clone()
            };
            if !store::update_part(conn, part, &after)? {
                return Err(GrantError::Books(format!(
                    "grant {} part of {} moved under the grant's lock",
                    grant.id, part.funder_id
                )));
            }
        }
    }
    store::write_totals(conn, &grant.id, status, changes)?;
    Ok(())
}

fn move_money(
    conn: &mut DbConnection,
    grant: &GrantRow,
    part: &GrantPartRow,
    movement: ledger::Movement,
    amount: i64,
    memo: &str,
) -> Result<(), GrantError> {
    if amount == 0 {
        return Ok(());
    }
    if !ledger::transfer(
        conn,
        &grant.fund_id,
        &part.funder_id,
        grant.currency,
        movement,
        amount,
        Some(&grant.campaign_id),
        &format!("grant {}: {memo}", grant.id),
    )? {
        return Err(GrantError::Books(format!(
            "funder {} lacks the money to {movement} {amount} for grant {}",
            part.funder_id, grant.id
        )));
    }
    Ok(())
}

/// Every decision that lowers what a grant may pay waits for its open batch: a tranche in a
/// draft batch is either paid (confirm) or freed (cancel) first.
fn no_open_batch(conn: &mut DbConnection, grant: &GrantRow) -> Result<(), GrantError> {
    if store::tranches_in_batch(conn, &grant.id)? > 0 {
        return Err(conflict(
            "grant_in_batch",
            "a draft settlement batch holds a tranche of this grant: confirm or cancel it first",
        ));
    }
    Ok(())
}

/// A grant approved (or revoked) with nothing left to pay and nothing owed back is closed.
fn close_if_done(conn: &mut DbConnection, grant_id: &str) -> Result<(), GrantError> {
    let g = store::load(conn, grant_id)?.ok_or(GrantError::NotFound)?;
    if g.status == GrantStatus::Approved {
        let parts = store::parts(conn, grant_id)?;
        if parts
            .iter()
            .all(|p| position(p).committed() == 0 && p.recoverable == 0)
        {
            store::move_status(
                conn,
                grant_id,
                &[GrantStatus::Approved],
                GrantStatus::Closed,
            )?;
        }
    }
    Ok(())
}

/// Finance approves the final report: every expense checked, no tranche in an open batch.
/// The contribution due is fixed by the rule; the part of the award no longer due goes back
/// to the funders; the balance is payable; what was paid beyond the due is recoverable.
pub fn approve_report(
    conn: &mut DbConnection,
    actor: &Principal,
    id: &str,
) -> Result<GrantRow, GrantError> {
    actor
        .require(&[Role::Finance])
        .map_err(|_| GrantError::Forbidden)?;
    let g = visible(conn, actor, id, true)?;
    match g.status {
        GrantStatus::Reported => {}
        GrantStatus::Open | GrantStatus::Overdue => {
            return Err(conflict(
                "report_not_submitted",
                "the association has not submitted its final report",
            ));
        }
        GrantStatus::UnderReview => {
            return Err(conflict(
                "grant_under_review",
                "the grant is under review: decide the review first",
            ));
        }
        other => {
            return Err(conflict(
                "grant_not_reported",
                format!("the grant is {other}: there is no report to approve"),
            ));
        }
    }
    let unchecked: i64 = grant_expenses::table
        .filter(grant_expenses::grant_id.eq(&g.id))
        .filter(grant_expenses::status.eq(ExpenseStatus::Submitted))
        .count()
        .get_result(conn)?;
    if unchecked > 0 {
        return Err(conflict(
            "expenses_unchecked",
            format!("{unchecked} expense lines are not checked yet: accept or reject each first"),
        ));
    }
    no_open_batch(conn, &g)?;
    let due = grant::contribution_due(g.award_limit, g.accepted_expenses, g.goal);
    let changes = GrantChanges {
        due: Some(due),
        approved_at: Some(now()),
        award_status: (due < g.award_limit).then_some(AwardStatus::Reduced),
        ..Default::default()
    };
    apply(conn, &g, GrantStatus::Approved, changes, "report approved")?;
    close_if_done(conn, &g.id)?;
    let after = store::load(conn, &g.id)?.ok_or(GrantError::NotFound)?;
    crate::notify::grant_approved(conn, &after)?;
    audit(
        conn,
        actor,
        "grant.approve_report",
        "grant",
        &g.id,
        Some(format!(
            "accepted {} of goal {}; due {}",
            g.accepted_expenses, g.goal, due
        )),
    )?;
    Ok(after)
}

/// How finance decides a grant under review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewOutcome {
    Confirm,
    /// The new award.
    Reduce(i64),
    Revoke,
}

/// Finance decides a grant put under review by money leaving its campaign.
pub fn review(
    conn: &mut DbConnection,
    actor: &Principal,
    id: &str,
    outcome: ReviewOutcome,
    reason: &str,
) -> Result<GrantRow, GrantError> {
    actor
        .require(&[Role::Finance])
        .map_err(|_| GrantError::Forbidden)?;
    let g = visible(conn, actor, id, true)?;
    if g.status != GrantStatus::UnderReview {
        return Err(conflict(
            "grant_not_under_review",
            format!("the grant is {}, not under review", g.status),
        ));
    }
    let back = g
        .review_from
        .as_deref()
        .and_then(GrantStatus::parse)
        .unwrap_or(GrantStatus::Open);
    match outcome {
        ReviewOutcome::Confirm => {
            apply(
                conn,
                &g,
                back,
                GrantChanges {
                    review_from: Some(None),
                    reason: Some(reason.to_string()),
                    ..Default::default()
                },
                "review: award confirmed",
            )?;
        }
        ReviewOutcome::Reduce(amount) => {
            if amount >= g.award_limit {
                return Err(GrantError::Invalid(vec![Invalid::new(
                    "amount",
                    "a reduction is below the current award",
                )]));
            }
            no_open_batch(conn, &g)?;
            let due = g
                .due
                .map(|_| grant::contribution_due(amount, g.accepted_expenses, g.goal));
            apply(
                conn,
                &g,
                back,
                GrantChanges {
                    award_limit: Some(amount),
                    due,
                    award_status: Some(AwardStatus::Reduced),
                    review_from: Some(None),
                    reason: Some(reason.to_string()),
                    ..Default::default()
                },
                "review: award reduced",
            )?;
        }
        ReviewOutcome::Revoke => {
            no_open_batch(conn, &g)?;
            revoke_locked(conn, &g, reason)?;
        }
    }
    close_if_done(conn, &g.id)?;
    let after = store::load(conn, &g.id)?.ok_or(GrantError::NotFound)?;
    if after.recoverable > g.recoverable {
        crate::notify::grant_recovery_requested(conn, &after)?;
    }
    audit(
        conn,
        actor,
        "grant.review",
        "grant",
        &g.id,
        Some(format!("{outcome:?}: {reason}")),
    )?;
    Ok(after)
}

fn revoke_locked(conn: &mut DbConnection, g: &GrantRow, reason: &str) -> Result<(), GrantError> {
    apply(
        conn,
        g,
        GrantStatus::Revoked,
        GrantChanges {
            award_limit: Some(0),
            due: Some(0),
            award_status: Some(AwardStatus::Revoked),
            review_from: Some(None),
            reason: Some(reason.to_string()),
            ..Default::default()
        },
        "grant revoked",
    )
}

/// An admin revokes a grant: the unpaid award goes back to the funders, everything paid is
/// recoverable.
pub fn revoke(
    conn: &mut DbConnection,
    actor: &Principal,
    id: &str,
    reason: &str,
) -> Result<GrantRow, GrantError> {
    actor
        .require(&[Role::Admin])
        .map_err(|_| GrantError::Forbidden)?;
    let g = visible(conn, actor, id, true)?;
    if g.status == GrantStatus::Revoked {
        return Err(conflict("grant_revoked", "the grant is already revoked"));
    }
    no_open_batch(conn, &g)?;
    revoke_locked(conn, &g, reason)?;
    let after = store::load(conn, &g.id)?.ok_or(GrantError::NotFound)?;
    if after.recoverable > 0 {
        crate::notify::grant_recovery_requested(conn, &after)?;
    }
    audit(
        conn,
        actor,
        "grant.revoke",
        "grant",
        &g.id,
        Some(reason.to_string()),
    )?;
    Ok(after)
}

/// Finance records money an association paid back: at most what is recoverable, each bank
/// reference once per grant; it returns to the funders' available budgets in proportion to
/// what each is owed.
pub fn record_recovery(
    conn: &mut DbConnection,
    actor: &Principal,
    id: &str,
    amount: i64,
    received_at: NaiveDateTime,
    bank_reference: &str,
) -> Result<GrantRow, GrantError> {
    actor
        .require(&[Role::Finance])
        .map_err(|_| GrantError::Forbidden)?;
    let g = visible(conn, actor, id, true)?;
    if amount > g.recoverable {
        return Err(conflict(
            "more_than_recoverable",
            format!(
                "only {} is recoverable from this grant",
                crate::domain::money::format_amount(g.recoverable, g.currency)
            ),
        ));
    }
    if !store::insert_recovery(conn, &g.id, amount, received_at, bank_reference, &actor.sub)? {
        return Err(conflict(
            "recovery_recorded",
            "a recovery with this bank reference is already recorded for this grant",
        ));
    }
    let parts = store::parts(conn, &g.id)?;
    let owed: Vec<i64> = parts.iter().map(|p| p.recoverable).collect();
    let shares = grant::split_capped(amount, &owed, &owed)
        .ok_or_else(|| GrantError::Books(format!("grant {} owes less than it says", g.id)))?;
    for (part, share) in parts.iter().zip(shares) {
        if share == 0 {
            continue;
        }
        move_money(
            conn,
            &g,
            part,
            ledger::Movement::Recover,
            share,
            "money paid back",
        )?;
        let after = GrantPartRow {
            recoverable: part.recoverable - share,
            recovered: part.recovered + share,
            ..part.clone()
        };
        if !store::update_part(conn, part, &after)? {
            return Err(GrantError::Books(format!("grant {} part moved", g.id)));
        }
    }
    store::write_totals(conn, &g.id, g.status, GrantChanges::default())?;
    close_if_done(conn, &g.id)?;
    audit(
        conn,
        actor,
        "grant.recovery",
        "grant",
        &g.id,
        Some(format!("{amount} received, reference {bank_reference}")),
    )?;
    store::load(conn, &g.id)?.ok_or(GrantError::NotFound)
}

/// Money left a decided campaign (a refund or a lost dispute) and its confirmed net fell
/// below its threshold: its grant goes under review, nothing payable until finance decides.
/// In the transaction that moved `raised`.
pub fn after_money_left(
    conn: &mut DbConnection,
    campaign: &CampaignRow,
    threshold: i64,
) -> QueryResult<()> {
    if campaign.raised >= threshold {
        return Ok(());
    }
    let id = store::grant_id_of(&campaign.id);
    let Some(g) = store::lock(conn, &id)? else {
        return Ok(());
    };
    if matches!(g.status, GrantStatus::UnderReview | GrantStatus::Revoked) {
        return Ok(());
    }
    let from = g.status;
    let r = apply(
        conn,
        &g,
        GrantStatus::UnderReview,
        GrantChanges {
            review_from: Some(Some(from)),
            ..Default::default()
        },
        "money left the campaign after the decision",
    );
    match r {
        Ok(()) => {}
        Err(GrantError::Db(DbError::Query(e))) => return Err(e),
        Err(other) => {
            return Err(diesel::result::Error::QueryBuilderError(
                other.to_string().into(),
            ));
        }
    }
    crate::db::queries::audit_system(
        conn,
        "grant.under_review",
        "grant",
        &g.id,
        Some(format!(
            "raised {} fell below the threshold {threshold} after the decision",
            campaign.raised
        )),
    )?;
    Ok(())
}

/// A tranche a batch paid: the funder's part and the grant's totals, the money
/// `committed → settled`. In the confirming transaction, the grant locked.
pub fn tranche_paid(
    conn: &mut DbConnection,
    tranche_id: &str,
    amount: i64,
    settlement: &SettlementId,
    paid_at: NaiveDateTime,
    memo: &str,
) -> Result<GrantRow, GrantError> {
    use crate::db::schema::grant_tranches;
    let grant_id: String = grant_tranches::table
        .find(tranche_id)
        .select(grant_tranches::grant_id)
        .first(conn)?;
    let g = store::lock(conn, &grant_id)?.ok_or(GrantError::NotFound)?;
    if !g.status.pays() && g.status != GrantStatus::Closed {
        return Err(conflict(
            "grant_not_payable",
            format!(
                "grant {} is {}: cancel this batch (nothing of the grant is payable until finance decides)",
                g.id, g.status
            ),
        ));
    }
    if !store::mark_tranche_paid(conn, tranche_id, amount, settlement, paid_at)? {
        return Err(GrantError::Books(format!(
            "tranche {tranche_id} left its batch"
        )));
    }
    let funder_id: String = grant_tranches::table
        .find(tranche_id)
        .select(grant_tranches::funder_id)
        .first(conn)?;
    let part = store::parts(conn, &g.id)?
        .into_iter()
        .find(|p| p.funder_id == funder_id)
        .ok_or_else(|| GrantError::Books(format!("tranche {tranche_id} has no part")))?;
    if position(&part).committed() < amount {
        return Err(GrantError::Books(format!(
            "tranche {tranche_id} pays more than grant {} has committed",
            g.id
        )));
    }
    move_money(conn, &g, &part, ledger::Movement::Settle, amount, memo)?;
    let after = GrantPartRow {
        paid: part.paid + amount,
        ..part.clone()
    };
    if !store::update_part(conn, &part, &after)? {
        return Err(GrantError::Books(format!("grant {} part moved", g.id)));
    }
    store::write_totals(conn, &g.id, g.status, GrantChanges::default())?;
    close_if_done(conn, &g.id)?;
    store::load(conn, &g.id)?.ok_or(GrantError::NotFound)
}

/// Whether every funder's committed money of a grant is paid (its match is then `settled`).
pub fn fully_paid(conn: &mut DbConnection, grant_id: &str) -> QueryResult<bool> {
    Ok(store::parts(conn, grant_id)?
        .iter()
        .all(|p| position(p).committed() == 0))
}

/// How long before its due date an association is reminded of its final report.
pub const REPORT_REMINDER: chrono::TimeDelta = chrono::TimeDelta::days(30);

/// Open grants whose report falls due within [`REPORT_REMINDER`] and whose association has not
/// been reminded: reminded once. Returns how many.
pub fn remind_reports_due(conn: &mut DbConnection) -> QueryResult<usize> {
    let t = now();
    let soon: Vec<GrantRow> = grants::table
        .filter(grants::status.eq(GrantStatus::Open))
        .filter(grants::reminded_at.is_null())
        .filter(grants::report_due_at.lt(t + REPORT_REMINDER))
        .filter(grants::report_due_at.ge(t))
        .order(grants::id)
        .limit(500)
        .select(GrantRow::as_select())
        .load(conn)?;
    let mut sent = 0;
    for g in soon {
        let done = write_tx(conn, |conn| -> QueryResult<bool> {
            if store::mark_reminded(conn, &g.id)? {
                crate::notify::grant_report_due(conn, &g)?;
                Ok(true)
            } else {
                Ok(false)
            }
        })?;
        sent += usize::from(done);
    }
    Ok(sent)
}

/// Grants whose report is past due become `overdue` (nothing is revoked); returns them.
pub fn mark_overdue(conn: &mut DbConnection) -> QueryResult<Vec<GrantRow>> {
    let t = now();
    let late: Vec<GrantRow> = grants::table
        .filter(grants::status.eq(GrantStatus::Open))
        .filter(grants::report_due_at.lt(t))
        .order(grants::id)
        .limit(500)
        .select(GrantRow::as_select())
        .load(conn)?;
    let mut moved = Vec::new();
    for g in late {
        let done = write_tx(conn, |conn| -> QueryResult<bool> {
            if store::move_status(conn, &g.id, &[GrantStatus::Open], GrantStatus::Overdue)? {
                crate::notify::grant_overdue(conn, &g)?;
                crate::db::queries::audit_system(
                    conn,
                    "grant.overdue",
                    "grant",
                    &g.id,
                    Some("the final report was not submitted in time".into()),
                )?;
                Ok(true)
            } else {
                Ok(false)
            }
        })?;
        if done {
            moved.push(g);
        }
    }
    Ok(moved)
}

/// A grant as read: its row, its funders' parts and its tranches.
pub struct GrantDetails {
    pub grant: GrantRow,
    pub parts: Vec<GrantPartRow>,
    pub tranches: Vec<GrantTrancheRow>,
}

/// Which grants a list asks for.
#[derive(Debug, Clone, Default)]
pub struct GrantFilter {
    pub fund_id: Option<String>,
    pub campaign_id: Option<String>,
    pub association_id: Option<String>,
    pub status: Option<GrantStatus>,
    pub after: String,
    pub limit: i64,
}

pub fn details(conn: &mut DbConnection, grant: GrantRow) -> QueryResult<GrantDetails> {
    let parts = store::parts(conn, &grant.id)?;
    let tranches = store::tranches(conn, &grant.id)?;
    Ok(GrantDetails {
        grant,
        parts,
        tranches,
    })
}
