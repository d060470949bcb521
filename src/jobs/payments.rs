//! Payment jobs: refunds the service owes (retried until they succeed), pledges whose webhook
//! never came (asked of the provider), and pledges that waited too long (expired).

use crate::db::models::RefundRow;
use crate::db::payments::{self, apply_to_pledge};
use crate::db::schema::{pending_pledges, pledges, refunds};
use crate::db::{DbError, write_tx};
use crate::domain::pledge::PaymentEvent;
use crate::http::AppState;
use crate::http::controllers::webhooks::deliver_simulated;
use crate::http::views::now;
use crate::providers::ProviderError;
use crate::providers::events::ProviderEvent;
use diesel::prelude::*;

/// How long a claimed refund is left alone before another replica may retry it.
const LEASE_SECS: i64 = 300;

fn backoff(attempts: i32) -> chrono::Duration {
    let secs = 5i64.saturating_mul(1i64 << attempts.clamp(0, 10)).min(3600);
    chrono::Duration::seconds(secs)
}

/// Sends due refunds to the provider. Returns (done, failed this pass).
pub async fn process_refunds(state: &AppState) -> Result<(usize, usize), DbError> {
    let due: Vec<(RefundRow, Option<String>)> = state
        .db
        .run(|conn| -> Result<_, DbError> {
            let t = now();
            let due: Vec<(RefundRow, Option<String>)> = refunds::table
                .inner_join(pledges::table)
                .filter(refunds::status.eq("pending"))
                .filter(refunds::next_attempt_at.le(t))
                .select((RefundRow::as_select(), pledges::provider_payment_id))
                .order(refunds::id)
                .limit(50)
                .load(conn)?;
            // Claim each with a lease: only one replica sends a given refund at a time.
            let mut claimed = Vec::new();
            for (r, pi) in due {
                let n = diesel::update(refunds::table.find(&r.id))
                    .filter(refunds::status.eq("pending"))
                    .filter(refunds::next_attempt_at.eq(r.next_attempt_at))
                    .set((
                        refunds::next_attempt_at.eq(t + chrono::Duration::seconds(LEASE_SECS)),
                        refunds::attempts.eq(refunds::attempts + 1),
                    ))
                    .execute(conn)?;
                if n == 1 {
                    claimed.push((r, pi));
                }
            }
            Ok(claimed)
        })
        .await?;
    let (mut done, mut failed) = (0, 0);
    for (refund, payment_id) in due {
        let result = match &payment_id {
            Some(pi) => state
                .provider
                .refund(pi, refund.amount, &refund.idempotency_key)
                .await
                .map(|r| Some(r.id)),
            None => Ok(None),
        };
        let id = refund.id.clone();
        let attempts = refund.attempts + 1;
        match result {
            Ok(provider_refund_id) => {
                done += 1;
                state
                    .db
                    .run(move |conn| -> Result<usize, DbError> {
                        Ok(diesel::update(refunds::table.find(&id))
                            .set((
                                refunds::status.eq("done"),
                                refunds::provider_refund_id.eq(provider_refund_id),
                                refunds::last_error.eq(None::<String>),
                                refunds::updated_at.eq(now()),
                            ))
                            .execute(conn)?)
                    })
                    .await?;
            }
            Err(e) => {
                failed += 1;
                tracing::warn!(refund_id = %refund.id, error = %e, "refund failed; will retry");
                let message = match e {
                    ProviderError::Rejected { status, .. } => {
                        format!("provider refused ({status})")
                    }
                    ProviderError::Unavailable(_) => "provider unavailable".to_string(),
                };
                state
                    .db
                    .run(move |conn| -> Result<usize, DbError> {
                        Ok(diesel::update(refunds::table.find(&id))
                            .set((
                                refunds::next_attempt_at.eq(now() + backoff(attempts)),
                                refunds::last_error.eq(Some(message)),
                                refunds::updated_at.eq(now()),
                            ))
                            .execute(conn)?)
                    })
                    .await?;
            }
        }
    }
    // The simulated provider reports refunds as signed events, like Stripe would.
    deliver_simulated(state)
        .await
        .map_err(|e| DbError::Unavailable(e.to_string()))?;
    Ok((done, failed))
}

/// Asks the provider about pledges pending for too long, applies what it says through the
/// same state machine, then expires those still pending past their time-to-live.
pub async fn reconcile_pending(state: &AppState) -> Result<(usize, usize), DbError> {
    let cfg = &state.config.payments;
    let ask_before = now() - chrono::Duration::from_std(cfg.reconcile_after).unwrap_or_default();
    let stale: Vec<(String, String)> = state
        .db
        .run(move |conn| -> Result<_, DbError> {
            Ok(pending_pledges::table
                .inner_join(pledges::table)
                .filter(pending_pledges::created_at.le(ask_before))
                .filter(pledges::provider_payment_id.is_not_null())
                .select((pledges::id, pledges::provider_payment_id.assume_not_null()))
                .order(pending_pledges::created_at)
                .limit(50)
                .load(conn)?)
        })
        .await?;
    let mut reconciled = 0;
    for (pledge_id, pi) in stale {
        let Ok(found) = state.provider.retrieve_payment(&pi).await else {
            continue;
        };
        let event = match found.status.as_str() {
            "succeeded" => PaymentEvent::Succeeded {
                amount: found.amount_received,
                currency: found.currency.clone(),
            },
            "canceled" => PaymentEvent::Canceled,
            _ => continue,
        };
        let ev = ProviderEvent {
            id: format!("reconcile:{pi}:{}", found.status),
            kind: format!("reconcile.payment_intent.{}", found.status),
            payment_id: Some(pi.clone()),
            pledge_hint: Some(pledge_id),
            event: Some(event),
        };
        let payload = format!(r#"{{"source":"reconciliation","payment_intent":"{pi}"}}"#);
        let applied = state
            .db
            .run(move |conn| payments::apply_event(conn, &ev, &payload))
            .await?;
        if applied.outcome() == "applied" {
            reconciled += 1;
            tracing::info!(payment = %pi, "reconciled a pledge whose webhook was lost");
        }
    }
    let expire_before = now() - chrono::Duration::from_std(cfg.pledge_ttl).unwrap_or_default();
    let expired = state
        .db
        .run(move |conn| -> Result<usize, DbError> {
            let ids: Vec<String> = pending_pledges::table
                .filter(pending_pledges::created_at.le(expire_before))
                .select(pending_pledges::pledge_id)
                .order(pending_pledges::created_at)
                .limit(200)
                .load(conn)?;
            let mut n = 0;
            for id in ids {
                write_tx(conn, |conn| {
                    apply_to_pledge(conn, &id, &PaymentEvent::Expired, None)
                })?;
                n += 1;
            }
            Ok(n)
        })
        .await?;
    Ok((reconciled, expired))
}
