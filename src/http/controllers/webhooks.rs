//! `POST /v1/webhooks/stripe`: the only way money enters cofund. The raw body's signature is
//! verified before anything is parsed; each event id is applied at most once.

use crate::app::AppState;
use crate::app::payments::{DeliveryError, deliver};
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{BodyPreamble, read_body};
use crate::providers::signature::SignatureError;
use actix_web::{HttpRequest, HttpResponse, post, web};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAck {
    pub received: bool,
    /// `applied`, `no_change`, `duplicate`, `flagged`, `unknown_payment` or `ignored`.
    pub outcome: String,
}

impl From<DeliveryError> for ApiError {
    fn from(e: DeliveryError) -> ApiError {
        match e {
            DeliveryError::Signature(e) => ApiError::BadRequest {
                code: "invalid_signature",
                detail: match e {
                    SignatureError::Missing => "missing Stripe-Signature header",
                    SignatureError::Malformed => "malformed Stripe-Signature header",
                    SignatureError::Stale => "signature timestamp outside the 300 s tolerance",
                    SignatureError::NoMatch => "no signature matches",
                }
                .to_string(),
            },
            DeliveryError::Malformed(detail) => ApiError::BadRequest {
                code: "malformed_event",
                detail,
            },
            DeliveryError::Db(e) => e.into(),
        }
    }
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
        (status = 400, description = "Bad signature, or not an event (also: a NUL character or bytes that are not UTF-8); nothing applied", body = crate::http::error::Problem),
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
    // No event carries a NUL character or bytes that are not UTF-8: not an event (400), and
    // nothing of it reaches the database.
    if let Err(bad) = crate::http::text::check_json(&body) {
        return Err(ApiError::BadRequest {
            code: "invalid_text",
            detail: format!("the event {}", bad.message()),
        });
    }
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
