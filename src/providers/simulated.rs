//! A simulated, Stripe-shaped payment provider for running cofund offline. It keeps its
//! payments in memory and reports outcomes as *signed Stripe events*, which the service applies
//! through the very same webhook code path as real ones — never by a side door.

use super::{CreatedPayment, CreatedRefund, ProviderError, RetrievedPayment, signature};
use crate::domain::ids;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug, Clone)]
struct SimPayment {
    pledge_id: String,
    amount: i64,
    currency: String,
    status: String,
    refunded: i64,
}

pub struct Simulated {
    secret: String,
    payments: Mutex<HashMap<String, SimPayment>>,
    by_key: Mutex<HashMap<String, String>>,
    outbox: Mutex<Vec<(String, String)>>,
}

/// The outcome a developer asks the simulated provider to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SimOutcome {
    Succeed,
    Fail,
    Cancel,
    Dispute,
    DisputeWon,
    DisputeLost,
}

impl Simulated {
    /// `secret` signs the events; it must be one of the webhook secrets the service verifies.
    pub fn new(secret: &str) -> Simulated {
        Simulated {
            secret: secret.to_string(),
            payments: Mutex::new(HashMap::new()),
            by_key: Mutex::new(HashMap::new()),
            outbox: Mutex::new(Vec::new()),
        }
    }

    pub fn create_payment(
        &self,
        pledge_id: &str,
        amount: i64,
        currency: &str,
        idempotency_key: &str,
    ) -> CreatedPayment {
        let mut keys = self.by_key.lock().unwrap_or_else(|p| p.into_inner());
        let id = keys
            .entry(idempotency_key.to_string())
            .or_insert_with(|| ids::random_secret("pi_sim", 12))
            .clone();
        self.payments
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(id.clone())
            .or_insert(SimPayment {
                pledge_id: pledge_id.to_string(),
                amount,
                currency: currency.to_ascii_lowercase(),
                status: "requires_payment_method".into(),
                refunded: 0,
            });
        CreatedPayment {
            client_secret: Some(format!("{id}_secret_simulated")),
            id,
        }
    }

    pub fn retrieve(&self, id: &str) -> Result<RetrievedPayment, ProviderError> {
        let payments = self.payments.lock().unwrap_or_else(|p| p.into_inner());
        let p = payments.get(id).ok_or(ProviderError::Rejected {
            status: 404,
            message: "no such payment_intent".into(),
        })?;
        Ok(RetrievedPayment {
            id: id.to_string(),
            status: p.status.clone(),
            amount_received: if p.status == "succeeded" { p.amount } else { 0 },
            currency: p.currency.clone(),
        })
    }

    pub fn refund(
        &self,
        payment_id: &str,
        amount: i64,
        _idempotency_key: &str,
    ) -> Result<CreatedRefund, ProviderError> {
        let mut payments = self.payments.lock().unwrap_or_else(|p| p.into_inner());
        let p = payments
            .get_mut(payment_id)
            .ok_or(ProviderError::Rejected {
                status: 404,
                message: "no such payment_intent".into(),
            })?;
        if p.status != "succeeded" || p.refunded + amount > p.amount {
            return Err(ProviderError::Rejected {
                status: 400,
                message: "charge cannot be refunded".into(),
            });
        }
        p.refunded += amount;
        let event = json!({
            "type": "charge.refunded",
            "data": {"object": {
                "object": "charge", "id": format!("ch_{payment_id}"), "payment_intent": payment_id,
                "amount": p.amount, "amount_refunded": p.refunded, "currency": p.currency,
            }}
        });
        self.emit(event);
        Ok(CreatedRefund {
            id: ids::random_secret("re_sim", 12),
            status: "succeeded".into(),
        })
    }

    /// Produces an outcome for a payment, as its signed provider event.
    pub fn trigger(&self, payment_id: &str, outcome: SimOutcome) -> Result<(), ProviderError> {
        let mut payments = self.payments.lock().unwrap_or_else(|p| p.into_inner());
        let p = payments
            .get_mut(payment_id)
            .ok_or(ProviderError::Rejected {
                status: 404,
                message: "no such payment_intent".into(),
            })?;
        let pi = |status: &str, amount_received: i64| {
            json!({
                "object": "payment_intent", "id": payment_id, "status": status, "amount": p.amount,
                "amount_received": amount_received, "currency": p.currency,
                "metadata": {"pledge_id": p.pledge_id},
            })
        };
        let dispute = |status: &str| {
            json!({
                "object": "dispute", "id": format!("dp_{payment_id}"), "charge": format!("ch_{payment_id}"),
                "payment_intent": payment_id, "amount": p.amount, "currency": p.currency, "status": status,
            })
        };
        let (kind, object, status) = match outcome {
            SimOutcome::Succeed => (
                "payment_intent.succeeded",
                pi("succeeded", p.amount),
                "succeeded",
            ),
            SimOutcome::Fail => (
                "payment_intent.payment_failed",
                pi("requires_payment_method", 0),
                "requires_payment_method",
            ),
            SimOutcome::Cancel => ("payment_intent.canceled", pi("canceled", 0), "canceled"),
            SimOutcome::Dispute => (
                "charge.dispute.created",
                dispute("needs_response"),
                "succeeded",
            ),
            SimOutcome::DisputeWon => ("charge.dispute.closed", dispute("won"), "succeeded"),
            SimOutcome::DisputeLost => ("charge.dispute.closed", dispute("lost"), "succeeded"),
        };
        p.status = status.to_string();
        drop(payments);
        self.emit(json!({"type": kind, "data": {"object": object}}));
        Ok(())
    }

    fn emit(&self, mut event: serde_json::Value) {
        event["id"] = json!(ids::random_secret("evt_sim", 12));
        event["object"] = json!("event");
        event["created"] = json!(chrono::Utc::now().timestamp());
        let body = event.to_string();
        let header = signature::header(
            &self.secret,
            chrono::Utc::now().timestamp(),
            body.as_bytes(),
        );
        self.outbox
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((body, header));
    }

    /// Signed events waiting to be delivered to the webhook endpoint: (raw body, header).
    pub fn take_events(&self) -> Vec<(String, String)> {
        std::mem::take(&mut *self.outbox.lock().unwrap_or_else(|p| p.into_inner()))
    }
}
