//! The payment provider: Stripe over its REST API, or a simulated provider that lets a newcomer
//! run the whole flow offline. Both confirm payments only through signed webhooks.

pub mod events;
pub mod signature;
pub mod simulated;
pub mod stripe;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The provider answered 4xx: retrying the same request will not help.
    #[error("the payment provider refused the request ({status}): {message}")]
    Rejected { status: u16, message: String },
    /// Network errors, timeouts, 5xx and 429 after every retry.
    #[error("the payment provider is unavailable: {0}")]
    Unavailable(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedPayment {
    pub id: String,
    pub client_secret: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrievedPayment {
    pub id: String,
    /// Stripe's PaymentIntent status (`succeeded`, `canceled`, `requires_payment_method`, …).
    pub status: String,
    pub amount_received: i64,
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedRefund {
    pub id: String,
    pub status: String,
}

pub enum PaymentProvider {
    Stripe(stripe::StripeClient),
    Simulated(simulated::Simulated),
}

impl PaymentProvider {
    pub fn name(&self) -> &'static str {
        self.kind().as_str()
    }

    pub fn kind(&self) -> crate::config::ProviderKind {
        match self {
            PaymentProvider::Stripe(_) => crate::config::ProviderKind::Stripe,
            PaymentProvider::Simulated(_) => crate::config::ProviderKind::Simulated,
        }
    }

    /// Whether payments are created in the service's own database (the simulated provider), so
    /// a pledge and its payment can be written in one transaction.
    pub fn creates_in_database(&self) -> bool {
        matches!(self, PaymentProvider::Simulated(_))
    }

    /// Creates the payment for a pledge. `idempotency_key` is generated once per pledge, so a
    /// retried creation returns the same payment.
    pub async fn create_payment(
        &self,
        pledge_id: &str,
        amount: i64,
        currency: &str,
        idempotency_key: &str,
    ) -> Result<CreatedPayment, ProviderError> {
        match self {
            PaymentProvider::Stripe(s) => {
                s.create_payment_intent(pledge_id, amount, currency, idempotency_key)
                    .await
            }
            PaymentProvider::Simulated(s) => {
                s.create_payment(pledge_id, amount, currency, idempotency_key)
                    .await
            }
        }
    }

    pub async fn retrieve_payment(&self, id: &str) -> Result<RetrievedPayment, ProviderError> {
        match self {
            PaymentProvider::Stripe(s) => s.retrieve_payment_intent(id).await,
            PaymentProvider::Simulated(s) => s.retrieve(id).await,
        }
    }

    pub async fn refund(
        &self,
        payment_id: &str,
        amount: i64,
        idempotency_key: &str,
    ) -> Result<CreatedRefund, ProviderError> {
        match self {
            PaymentProvider::Stripe(s) => s.refund(payment_id, amount, idempotency_key).await,
            PaymentProvider::Simulated(s) => s.refund(payment_id, amount, idempotency_key).await,
        }
    }

    /// Cancels a payment that has not succeeded (an expired pledge's). A payment that already
    /// succeeded is refused (`Rejected`): its success event brings the money in, and the rules
    /// for late money apply.
    pub async fn cancel_payment(&self, payment_id: &str) -> Result<(), ProviderError> {
        match self {
            PaymentProvider::Stripe(s) => s.cancel_payment_intent(payment_id).await,
            PaymentProvider::Simulated(s) => s.cancel(payment_id).await,
        }
    }
}
