//! `POST /v1/webhooks/stripe`: the only way money enters cofund. The raw body's signature is
//! verified before anything is parsed; each event id is applied at most once.

use crate::db::matching as engine;
use crate::db::payments::{self, Applied};
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{BodyPreamble, read_body};
use crate::providers::PaymentProvider;
use crate::providers::events;
use crate::providers::signature::{self, SignatureError};
use actix_web::{HttpRequest, HttpResponse, post, web};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAck {
    pub received: bool,
    /// `applied`, `no_change`, `duplicate`, `flagged`, `unknown_payment` or `ignored`.
    pub outcome: String,
}

/// Verifies, parses and applies one provider event; shared by the HTTP endpoint and the
/// simulated provider's deliveries.
pub async fn deliver(state: &AppState, body: &[u8], header: Option<&str>) -> ApiResult<Applied> {
    // On its way to a batched confirmation: a batch about to run may wait for it briefly.
    let arriving = state.db.arriving();
    let now = chrono::Utc::now().timestamp();
    signature::verify(header, body, &state.config.payments.webhook_secrets, now).map_err(|e| {
        tracing::warn!(reason = %e, "webhook signature rejected");
        ApiError::BadRequest {
            code: "invalid_signature",
            detail: match e {
                SignatureError::Missing => "missing Stripe-Signature header",
                SignatureError::Malformed => "malformed Stripe-Signature header",
                SignatureError::Stale => "signature timestamp outside the 300 s tolerance",
                SignatureError::NoMatch => "no signature matches",
            }
            .to_string(),
        }
    })?;
    let event = events::parse(body).map_err(|e| ApiError::BadRequest {
        code: "malformed_event",
        detail: e.to_string(),
    })?;
    // Only what the money path reads is stored (no billing details, no e-mail addresses).
    let payload = events::minimal_payload(body);
    let applied = payments::apply_arriving_event(&state.db, event, payload, arriving).await?;
    if let Applied::Applied {
        freed_fund: Some(fund_id),
        ..
    } = &applied
    {
        let fund_id = fund_id.clone();
        // Budget came back: serve the waitlist now (the scheduler retries if this fails).
        let _ = state
            .db
            .run(move |conn| -> ApiResult<usize> { Ok(engine::serve_waitlist(conn, &fund_id)?) })
            .await;
    }
    Ok(applied)
}

/// Delivers whatever the simulated provider has emitted (no-op for Stripe).
pub async fn deliver_simulated(state: &AppState) -> ApiResult<()> {
    if let PaymentProvider::Simulated(sim) = &*state.provider {
        for (body, header) in sim.take_events() {
            deliver(state, body.as_bytes(), Some(&header)).await?;
        }
    }
    Ok(())
}

/// The largest webhook body accepted (the spec's cap; Stripe's events are a few kilobytes).
pub const WEBHOOK_BODY_LIMIT: usize = 256 * 1024;

/// Receive a payment-provider event (Stripe-compatible). The body is at most 256 KB and is
/// never decompressed; the signature costs one MAC per configured secret whatever the header
/// holds (at most 8 `v1` values).
#[utoipa::path(
    tag = "payments",
    request_body(content = Object, description = "A Stripe event, verified with the Stripe-Signature header"),
    params(("Stripe-Signature" = String, Header, description = "t=…,v1=…")),
    responses(
        (status = 200, body = WebhookAck),
        (status = 400, description = "Bad signature or not an event; nothing applied", body = crate::http::error::Problem),
        (status = 413, description = "Body larger than 256 KB; nothing read beyond it", body = crate::http::error::Problem),
        (status = 415, description = "Compressed body; nothing applied", body = crate::http::error::Problem),
        (status = 503, description = "Database unavailable; the provider will retry", body = crate::http::error::Problem),
    )
)]
#[post("/webhooks/stripe")]
pub async fn stripe(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    // Bounded before a byte of the body is read, and never decompressed (Stripe sends plain
    // JSON well under this).
    let body = read_body(BodyPreamble::of(&req), payload, WEBHOOK_BODY_LIMIT).await?;
    let header = req
        .headers()
        .get("Stripe-Signature")
        .and_then(|h| h.to_str().ok());
    let applied = deliver(&state, &body, header).await?;
    Ok(HttpResponse::Ok().json(WebhookAck {
        received: true,
        outcome: applied.outcome().to_string(),
    }))
}
