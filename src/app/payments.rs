//! The payment-provider event use case: verify, parse, apply once, then serve the waitlist if
//! budget came back. Shared by `POST /v1/webhooks/stripe`, the simulated provider's deliveries
//! and the jobs that ask the provider about pledges.

use super::AppState;
use crate::app::payment_events::{self as payments, Applied};
use crate::db::DbError;
use crate::providers::PaymentProvider;
use crate::providers::events;
use crate::providers::signature::{self, SignatureError};

/// Why an event was not applied.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The signature does not verify: nothing was read further.
    #[error("webhook signature rejected: {0}")]
    Signature(SignatureError),
    /// Signed, but not an event this service can read.
    #[error("malformed event: {0}")]
    Malformed(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Verifies, parses and applies one provider event.
pub async fn deliver(
    state: &AppState,
    body: &[u8],
    header: Option<&str>,
) -> Result<Applied, DeliveryError> {
    // On its way to a batched confirmation: a batch about to run may wait for it briefly.
    let arriving = state.db.arriving();
    let now = chrono::Utc::now().timestamp();
    signature::verify(header, body, &state.config.payments.webhook_secrets, now).map_err(|e| {
        tracing::warn!(reason = %e, "webhook signature rejected");
        DeliveryError::Signature(e)
    })?;
    let event = events::parse(body).map_err(|e| DeliveryError::Malformed(e.to_string()))?;
    // Only what the money path reads is stored (no billing details, no e-mail addresses).
    let payload = events::minimal_payload(body);
    let applied = payments::apply_arriving_event(&state.db, event, payload, arriving).await?;
    if let Applied::Applied {
        freed_fund: Some(fund_id),
        ..
    } = &applied
    {
        super::serve_waitlist_now(state, fund_id.clone()).await;
    }
    Ok(applied)
}

/// Delivers whatever the simulated provider has emitted (no-op for Stripe).
pub async fn deliver_simulated(state: &AppState) -> Result<(), DeliveryError> {
    if let PaymentProvider::Simulated(sim) = &*state.provider {
        for (body, header) in sim.take_events() {
            deliver(state, body.as_bytes(), Some(&header)).await?;
        }
    }
    Ok(())
}
