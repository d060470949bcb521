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
    /// For a bank transfer: what the donor's bank needs.
    pub bank: Option<BankInstructions>,
}

/// How a donor pays a bank-transfer pledge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankInstructions {
    /// The association's account and name.
    pub iban: String,
    pub beneficiary: String,
    /// The pledge's ISO 11649 creditor reference (`RF…`).
    pub reference: String,
    /// When the pledge stops waiting (later money is late money).
    pub expires_at: chrono::NaiveDateTime,
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

/// An association's connected account at the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectedAccount {
    pub id: String,
    pub status: crate::domain::crowd::PayoutAccountStatus,
}

/// A one-time link where the association completes its account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnboardingLink {
    pub url: String,
    /// Unix time.
    pub expires_at: Option<i64>,
}

/// A crowd payout as a transfer to a connected account.
#[derive(Debug, Clone, Copy)]
pub struct TransferRequest<'a> {
    pub payout_id: &'a str,
    pub amount: i64,
    pub currency: &'a str,
    pub destination: &'a str,
    /// The campaign (its charges' `transfer_group`).
    pub transfer_group: &'a str,
}

/// The provider's idempotency key of a payout's transfer: one per payout, for ever.
pub fn payout_key(payout_id: &str) -> String {
    format!("cofund-payout-{payout_id}")
}

/// The provider's idempotency key of a reversal.
pub fn reversal_key(reversal_id: &str) -> String {
    format!("cofund-reversal-{reversal_id}")
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
        campaign_id: &str,
        amount: i64,
        currency: &str,
        idempotency_key: &str,
    ) -> Result<CreatedPayment, ProviderError> {
        match self {
            PaymentProvider::Stripe(s) => {
                s.create_payment_intent(pledge_id, campaign_id, amount, currency, idempotency_key)
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

    /// Creates the association's connected account (the same one for the same association).
    pub async fn create_account(
        &self,
        association_id: &str,
        email: &str,
    ) -> Result<ConnectedAccount, ProviderError> {
        match self {
            PaymentProvider::Stripe(s) => s.create_account(association_id, email, "IT").await,
            PaymentProvider::Simulated(_) => Ok(simulated::account(association_id)),
        }
    }

    /// A one-time onboarding link; None when there is nothing to complete (simulated).
    pub async fn onboarding_link(
        &self,
        account_id: &str,
        refresh_url: &str,
        return_url: &str,
    ) -> Result<Option<OnboardingLink>, ProviderError> {
        match self {
            PaymentProvider::Stripe(s) => s
                .create_account_link(account_id, refresh_url, return_url)
                .await
                .map(Some),
            PaymentProvider::Simulated(_) => Ok(None),
        }
    }

    /// Transfers a payout to the connected account; returns the provider's transfer id.
    pub async fn transfer(&self, t: &TransferRequest<'_>) -> Result<String, ProviderError> {
        match self {
            PaymentProvider::Stripe(s) => s.create_transfer(t).await,
            PaymentProvider::Simulated(_) => Ok(simulated::transfer_id(&payout_key(t.payout_id))),
        }
    }

    /// The transfer already made for a payout, if the provider has one.
    pub async fn find_transfer(
        &self,
        transfer_group: &str,
        payout_id: &str,
    ) -> Result<Option<String>, ProviderError> {
        match self {
            PaymentProvider::Stripe(s) => s.find_transfer(transfer_group, payout_id).await,
            PaymentProvider::Simulated(_) => Ok(None),
        }
    }

    /// Takes `amount` of a transfer back; returns the reversal's id.
    pub async fn reverse_transfer(
        &self,
        transfer_id: &str,
        amount: i64,
        reversal_id: &str,
    ) -> Result<String, ProviderError> {
        match self {
            PaymentProvider::Stripe(s) => {
                s.reverse_transfer(transfer_id, amount, reversal_id).await
            }
            PaymentProvider::Simulated(_) => {
                Ok(simulated::transfer_id(&reversal_key(reversal_id)).replacen("tr_", "trr_", 1))
            }
        }
    }
}
