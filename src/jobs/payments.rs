//! Payment jobs: refunds the service owes (retried until they succeed), pledges whose webhook
//! never came (asked of the provider), and pledges that waited too long (expired).

use crate::app::AppState;
use crate::app::payment_events::{self as payments, apply_to_pledge};
use crate::app::payments::deliver_simulated;
use crate::clock::now;
use crate::config::ProviderKind;
use crate::db::models::RefundRow;
use crate::db::schema::{pending_pledges, pledges, refunds};
use crate::db::{DbError, write_tx};
use crate::domain::pledge::{PaymentEvent, RefundStatus};
use crate::providers::ProviderError;
use crate::providers::events::ProviderEvent;
use diesel::prelude::*;

/// How long a claimed refund is left alone before another replica may retry it.
const LEASE_SECS: i64 = 300;

fn backoff(attempts: i32) -> chrono::Duration {
    let secs = 5i64.saturating_mul(1i64 << attempts.clamp(0, 10)).min(3600);
    chrono::Duration::seconds(secs)
}

/// What to do with a refund after the provider answered.
fn refund_outcome(
    result: &Result<Option<crate::providers::CreatedRefund>, ProviderError>,
) -> (RefundStatus, Option<String>) {
    match result {
        // No payment was ever made for the pledge: nothing to give back.
        Ok(None) => (RefundStatus::Succeeded, None),
        Ok(Some(r)) => match r.status.as_str() {
            "succeeded" => (RefundStatus::Succeeded, None),
            "failed" | "canceled" => (
                RefundStatus::NeedsAttention,
                Some(format!("the provider reports the refund {}", r.status)),
            ),
            // pending / requires_action: the provider reports the outcome later
            // (`refund.updated`); meanwhile it is asked again, with the same idempotency key.
            other => (
                RefundStatus::Pending,
                Some(format!("the provider reports the refund {other}")),
            ),
        },
        // A permanent refusal: retrying the same request will not help. Finance acts.
        Err(ProviderError::Rejected { status, message }) => (
            RefundStatus::NeedsAttention,
            Some(format!(
                "the provider refused the refund ({status}): {}",
                message.chars().take(200).collect::<String>()
            )),
        ),
        Err(ProviderError::Unavailable(_)) => (
            RefundStatus::Pending,
            Some("the provider was unavailable; retrying".to_string()),
        ),
    }
}

/// What a refund of a bank transfer says: the association returns the money itself.
pub const BANK_REFUND: &str =
    "a bank transfer: the association returns it by its own transfer to the sender's account";

/// Asks the provider for a refund: what it became, why, and the provider's refund id.
async fn send_refund(
    state: &AppState,
    refund: &RefundRow,
    payment_id: Option<&str>,
) -> (RefundStatus, Option<String>, Option<String>) {
    let result = match payment_id {
        Some(pi) => state
            .provider
            .refund(pi, refund.amount, &refund.idempotency_key)
            .await
            .map(Some),
        None => Ok(None),
    };
    let (status, error) = refund_outcome(&result);
    (status, error, result.ok().flatten().map(|r| r.id))
}

/// Sends due refunds to the provider. A refund is done only when the provider says it
/// succeeded (in its answer or by `refund.updated` / `charge.refunded`); a permanent refusal or
/// a reported failure leaves it `needs_attention`; anything else is asked again with backoff.
/// Returns (done, not done this pass).
pub async fn process_refunds(state: &AppState) -> Result<(usize, usize), DbError> {
    let due: Vec<(RefundRow, Option<String>, ProviderKind)> = state
        .db
        .run_quiet(|conn| -> Result<_, DbError> {
            let t = now();
            let due: Vec<(RefundRow, Option<String>, ProviderKind)> = refunds::table
                .inner_join(pledges::table)
                .filter(refunds::status.eq(RefundStatus::Pending))
                .filter(refunds::next_attempt_at.le(t))
                .select((
                    RefundRow::as_select(),
                    pledges::provider_payment_id,
                    pledges::provider,
                ))
                .order(refunds::id)
                .limit(50)
                .load(conn)?;
            // Claim each with a lease: only one replica sends a given refund at a time.
            let mut claimed = Vec::new();
            for (r, pi, provider) in due {
                let n = diesel::update(refunds::table.find(&r.id))
                    .filter(refunds::status.eq(RefundStatus::Pending))
                    .filter(refunds::next_attempt_at.eq(r.next_attempt_at))
                    .set((
                        refunds::next_attempt_at.eq(t + chrono::Duration::seconds(LEASE_SECS)),
                        refunds::attempts.eq(refunds::attempts + 1),
                    ))
                    .execute(conn)?;
                if n == 1 {
                    claimed.push((r, pi, provider));
                }
            }
            Ok(claimed)
        })
        .await?;
    let (mut done, mut not_done) = (0, 0);
    for (refund, payment_id, provider) in due {
        let (status, error, provider_refund_id) = if provider == ProviderKind::BankTransfer {
            // The money reached the association's own account: it goes back by the
            // association's own transfer to the sender, listed until someone records it.
            (
                RefundStatus::NeedsAttention,
                Some(BANK_REFUND.to_string()),
                None,
            )
        } else {
            send_refund(state, &refund, payment_id.as_deref()).await
        };
        match status {
            RefundStatus::Succeeded => done += 1,
            RefundStatus::NeedsAttention => {
                not_done += 1;
                tracing::warn!(refund_id = %refund.id, error = ?error, "refund needs attention");
            }
            RefundStatus::Pending => {
                not_done += 1;
                tracing::info!(refund_id = %refund.id, error = ?error, "refund not done yet; will ask again");
            }
        }
        let id = refund.id.clone();
        let attempts = refund.attempts + 1;
        state
            .db
            .run(move |conn| -> Result<usize, DbError> {
                // Only a refund still pending moves: a webhook may have reported it meanwhile.
                let pending = refunds::table
                    .find(&id)
                    .filter(refunds::status.eq(RefundStatus::Pending));
                Ok(diesel::update(pending)
                    .set((
                        refunds::status.eq(status),
                        refunds::provider_refund_id.eq(provider_refund_id),
                        refunds::last_error.eq(error),
                        refunds::next_attempt_at.eq(now() + backoff(attempts)),
                        refunds::updated_at.eq(now()),
                    ))
                    .execute(conn)?)
            })
            .await?;
    }
    // The simulated provider reports refunds as signed events, like Stripe would.
    deliver_simulated(state)
        .await
        .map_err(|e| DbError::Unavailable(e.to_string()))?;
    Ok((done, not_done))
}

/// Asks the provider about pledges pending for too long, applies what it says through the
/// same state machine, then expires those still pending past their time-to-live.
pub async fn reconcile_pending(state: &AppState) -> Result<(usize, usize), DbError> {
    let cfg = &state.config.payments;
    let ask_before = state.db.clock().now()
        - chrono::Duration::from_std(cfg.reconcile_after).unwrap_or_default();
    // Each pledge is asked about once per `reconcile_after` (its creation counts as the first
    // time): marked before the provider is called, whatever it answers, so that a donor who
    // never pays costs one call per period, not one per pass.
    // Read first: an idle pass (nothing stale) opens no write transaction, which would take
    // SQLite's one writer and move the read caches' epoch on every tick.
    let stale: Vec<(String, String)> = state
        .db
        .read(move |conn| -> Result<_, DbError> {
            Ok(pending_pledges::table
                .inner_join(pledges::table)
                .filter(pending_pledges::checked_at.le(ask_before))
                .filter(pledges::provider_payment_id.is_not_null())
                // A bank transfer is learnt from the association's statements, not asked.
                .filter(pledges::provider.ne(ProviderKind::BankTransfer))
                .select((pledges::id, pledges::provider_payment_id.assume_not_null()))
                .order((pending_pledges::checked_at, pending_pledges::pledge_id))
                .limit(50)
                .load(conn)?)
        })
        .await?;
    if stale.is_empty() {
        return finish_pending_pass(state, 0).await;
    }
    let ids: Vec<String> = stale.iter().map(|(id, _)| id.clone()).collect();
    state
        .db
        .run_quiet(move |conn| -> Result<_, DbError> {
            // A write like any other: on SQLite it queues at the write gate.
            write_tx(conn, |conn| -> Result<_, DbError> {
                Ok(diesel::update(
                    pending_pledges::table.filter(pending_pledges::pledge_id.eq_any(&ids)),
                )
                .set(pending_pledges::checked_at.eq(now()))
                .execute(conn)?)
            })
        })
        .await?;
    let mut reconciled = 0;
    for (pledge_id, pi) in stale {
        let Ok(found) = state.provider.retrieve_payment(&pi).await else {
            continue;
        };
        if apply_found(state, &pledge_id, &pi, found).await? {
            reconciled += 1;
            tracing::info!(payment = %pi, "reconciled a pledge whose webhook was lost");
        }
    }
    finish_pending_pass(state, reconciled).await
}

/// The rest of a pending-payments pass: expiries and the provider events' retention.
async fn finish_pending_pass(
    state: &AppState,
    reconciled: usize,
) -> Result<(usize, usize), DbError> {
    let expired = expire_pending(state).await?;
    forget_old_events(state).await?;
    Ok((reconciled, expired))
}

/// Deletes provider events older than the retention period, a bounded batch per pass.
pub async fn forget_old_events(state: &AppState) -> Result<usize, DbError> {
    let before = state.db.clock().now()
        - chrono::Duration::from_std(state.config.payments.event_retention).unwrap_or_default();
    state
        .db
        .run(move |conn| -> Result<usize, DbError> {
            use crate::db::schema::provider_events as pe;
            let old: Vec<String> = pe::table
                .filter(pe::received_at.lt(before))
                .select(pe::id)
                .limit(1000)
                .load(conn)?;
            if old.is_empty() {
                return Ok(0);
            }
            Ok(diesel::delete(pe::table.filter(pe::id.eq_any(&old))).execute(conn)?)
        })
        .await
}

/// Expires pledges pending past their time-to-live. Each one's payment is cancelled at the
/// provider first, so that the donor can no longer pay it; if the provider refuses because
/// the payment already succeeded, that success is applied (the rules for late money decide
/// what becomes of it). A provider that cannot be reached leaves the pledge for the next pass.
async fn expire_pending(state: &AppState) -> Result<usize, DbError> {
    let cfg = &state.config.payments;
    let t = state.db.clock().now();
    let expire_before = t - chrono::Duration::from_std(cfg.pledge_ttl).unwrap_or_default();
    let bank_before = t - chrono::Duration::days(i64::from(cfg.bank_transfer_days));
    let due: Vec<(String, Option<String>, ProviderKind)> = state
        .db
        .read(move |conn| -> Result<_, DbError> {
            let bank = ProviderKind::BankTransfer;
            Ok(pending_pledges::table
                .inner_join(pledges::table)
                .filter(pending_pledges::created_at.le(expire_before.max(bank_before)))
                .filter(
                    // A payment the provider is clearing waits for its verdict; a bank
                    // transfer waits `COFUND_BANK_TRANSFER_DAYS`.
                    pledges::provider
                        .ne(bank)
                        .and(pledges::processing.eq(false))
                        .and(pending_pledges::created_at.le(expire_before))
                        .or(pledges::provider
                            .eq(bank)
                            .and(pending_pledges::created_at.le(bank_before))),
                )
                .select((pledges::id, pledges::provider_payment_id, pledges::provider))
                .order(pending_pledges::created_at)
                .limit(200)
                .load(conn)?)
        })
        .await?;
    let mut expired = 0;
    for (pledge_id, payment_id, provider) in due {
        // A bank transfer has nothing to cancel: money that still comes is late money.
        let payment_id = payment_id.filter(|_| provider != ProviderKind::BankTransfer);
        if let Some(pi) = &payment_id {
            match state.provider.cancel_payment(pi).await {
                Ok(()) => {}
                Err(ProviderError::Unavailable(e)) => {
                    tracing::warn!(pledge_id, error = %e, "could not cancel an expiring payment; will retry");
                    continue;
                }
                Err(ProviderError::Rejected { .. }) => {
                    // Already cancelled, or already paid: ask which.
                    if let Ok(found) = state.provider.retrieve_payment(pi).await
                        && found.status == "succeeded"
                    {
                        apply_found(state, &pledge_id, pi, found).await?;
                    }
                }
            }
        }
        let id = pledge_id.clone();
        state
            .db
            .run(move |conn| -> Result<_, DbError> {
                // A pledge that moved meanwhile (paid, failed) keeps what it learnt: the
                // expiry fact never overrides a payment.
                write_tx(conn, |conn| {
                    apply_to_pledge(conn, &id, &PaymentEvent::Expired, None)
                })?;
                Ok(())
            })
            .await?;
        expired += 1;
    }
    // The simulated provider reports the cancellations as signed events.
    deliver_simulated(state)
        .await
        .map_err(|e| DbError::Unavailable(e.to_string()))?;
    Ok(expired)
}

/// Applies what the provider says of a payment (a lost webhook) through the state machine.
async fn apply_found(
    state: &AppState,
    pledge_id: &str,
    pi: &str,
    found: crate::providers::RetrievedPayment,
) -> Result<bool, DbError> {
    let event = match found.status.as_str() {
        "succeeded" => PaymentEvent::Succeeded {
            amount: found.amount_received,
            currency: found.currency.clone(),
        },
        "canceled" => PaymentEvent::Canceled,
        _ => return Ok(false),
    };
    let ev = ProviderEvent {
        id: format!("reconcile:{pi}:{}", found.status),
        kind: format!("reconcile.payment_intent.{}", found.status),
        payment_id: Some(pi.to_string()),
        pledge_hint: Some(pledge_id.to_string()),
        event: Some(event),
        refund: None,
        account: None,
    };
    let payload = serde_json::json!({"source": "reconciliation", "payment_intent": pi}).to_string();
    let applied = state
        .db
        .run(move |conn| payments::apply_event(conn, &ev, &payload))
        .await?;
    if let payments::Applied::Applied {
        freed_fund: Some(fund_id),
        ..
    } = &applied
    {
        let fund_id = crate::domain::ids::FundId::from(fund_id);
        let _ = state
            .db
            .run(move |conn| {
                crate::app::matching::serve_waitlist(conn, &fund_id).map_err(DbError::from)
            })
            .await;
    }
    Ok(applied.stored_outcome() == Some(crate::domain::pledge::EventOutcome::Applied))
}
