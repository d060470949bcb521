//! An outbox message's channel and delivery state.

use super::stored::stored_enum;

stored_enum! {
    pub enum Channel: "outbox channel" {
        /// An e-mail to a donor, an association or the city.
        Email = "email",
        /// A signed webhook to a partner.
        Webhook = "webhook",
    }
}

stored_enum! {
    pub enum DeliveryStatus: "delivery status" {
        /// Waiting for its (next) attempt.
        Pending = "pending",
        Sent = "sent",
        /// Given up on: refused permanently or too old to deliver.
        Dead = "dead",
    }
}
