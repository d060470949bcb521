//! A payment provider's event as cofund reads it, whichever provider sent it (Stripe's webhook,
//! the simulated provider, or an answer to a question the service asked). Parsing each
//! provider's format is the provider adapter's job (`providers::events`).

use super::pledge::PaymentEvent;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderEvent {
    pub id: String,
    pub kind: String,
    /// The PaymentIntent the event is about.
    pub payment_id: Option<String>,
    /// `metadata.pledge_id`, when the event carries it.
    pub pledge_hint: Option<String>,
    /// None for event types cofund does not act on (they are stored and acknowledged).
    pub event: Option<PaymentEvent>,
    /// What the provider says became of a refund (`refund.updated`, `refund.failed`,
    /// `charge.refund.updated`).
    pub refund: Option<RefundReport>,
    /// What the provider says of an association's connected account (`account.updated`).
    pub account: Option<AccountReport>,
}

/// A connected account's state as the provider reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountReport {
    pub account_id: String,
    pub status: super::crowd::PayoutAccountStatus,
    /// The event's time (Unix seconds): an older report never overwrites a newer one.
    pub created: i64,
}

/// A refund's state as the provider reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundReport {
    /// The provider's refund id (`re_…`).
    pub refund_id: String,
    /// `pending`, `requires_action`, `succeeded`, `failed` or `canceled`.
    pub status: String,
    /// Our idempotency key, from the refund's `metadata.cofund_refund`.
    pub key: Option<String>,
}
