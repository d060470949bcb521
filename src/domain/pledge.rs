//! The pledge state machine. A pledge stores *facts* learnt from the payment provider (paid,
//! failed, cancelled, expired, cumulative refunded amount, dispute state). Every fact only ever
//! moves forward, so events may arrive in any order, late or twice, and the status derived from
//! the facts never regresses. Only confirmed money counts towards a campaign.

use super::stored::{stored_as_text, stored_enum};
use serde::{Deserialize, Serialize};

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    diesel::AsExpression,
    diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(rename_all = "snake_case")]
pub enum PledgeStatus {
    Pending,
    Confirmed,
    Failed,
    Expired,
    Refunded,
    PartiallyRefunded,
    Disputed,
    ChargedBack,
    /// Shown, never stored: a pending pledge whose provider reported the payment
    /// `processing` (SEPA Direct Debit and the like). Stored as `pending` with the
    /// `processing` fact, so that everything waiting for pending pledges waits for it too.
    Processing,
}

impl PledgeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PledgeStatus::Pending => "pending",
            PledgeStatus::Confirmed => "confirmed",
            PledgeStatus::Failed => "failed",
            PledgeStatus::Expired => "expired",
            PledgeStatus::Refunded => "refunded",
            PledgeStatus::PartiallyRefunded => "partially_refunded",
            PledgeStatus::Disputed => "disputed",
            PledgeStatus::ChargedBack => "charged_back",
            PledgeStatus::Processing => "processing",
        }
    }

    pub fn parse(s: &str) -> Option<PledgeStatus> {
        use PledgeStatus::*;
        [
            Pending,
            Confirmed,
            Failed,
            Expired,
            Refunded,
            PartiallyRefunded,
            Disputed,
            ChargedBack,
            Processing,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }
}

stored_enum! {
    /// A payment's dispute, as the provider last reported it.
    pub enum Dispute: "dispute state" {
        None = "none",
        Open = "open",
        Won = "won",
        Lost = "lost",
    }
}

stored_enum! {
    /// A payment's state at the simulated provider (`simulated_payments.status`), named as
    /// Stripe names a PaymentIntent's.
    pub enum SimulatedPaymentStatus: "simulated payment status" {
        /// Created, or its attempt failed: the donor has not paid.
        RequiresPaymentMethod = "requires_payment_method",
        Succeeded = "succeeded",
        Canceled = "canceled",
    }
}

stored_enum! {
    /// What a stored provider event did (`provider_events.outcome`).
    pub enum EventOutcome: "event outcome" {
        /// The pledge moved.
        Applied = "applied",
        /// The pledge already knew this fact.
        NoChange = "no_change",
        /// Amount or currency did not match the pledge: not counted.
        Flagged = "flagged",
        /// No pledge for this payment.
        UnknownPayment = "unknown_payment",
        /// An event type cofund does not act on.
        Ignored = "ignored",
        /// The provider reported what became of a refund.
        RefundReported = "refund_reported",
        /// The provider reported an association's connected account's state.
        AccountReported = "account_reported",
    }
}

/// A refund cofund asked of the provider. It is done only when the provider reports it
/// succeeded; a refusal or a failure reported by the provider leaves it for finance.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    serde::Serialize,
    utoipa::ToSchema,
    diesel::AsExpression,
    diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    /// To be sent, or sent and not yet reported done.
    Pending,
    Succeeded,
    /// Refused or failed at the provider: listed by reconciliation until someone acts.
    NeedsAttention,
}

impl RefundStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RefundStatus::Pending => "pending",
            RefundStatus::Succeeded => "succeeded",
            RefundStatus::NeedsAttention => "needs_attention",
        }
    }

    /// A stored status; an unknown value is an error, never a default.
    pub fn parse(s: &str) -> Option<RefundStatus> {
        [
            RefundStatus::Pending,
            RefundStatus::Succeeded,
            RefundStatus::NeedsAttention,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

stored_as_text!(PledgeStatus, "pledge status", PledgeStatus::parse, |v| v
    .as_str()
    .to_string());
stored_as_text!(RefundStatus, "refund status", RefundStatus::parse, |v| v
    .as_str()
    .to_string());
super::stored::display_as_str!(PledgeStatus, RefundStatus);

/// What the provider told us (or the service decided, for expiry).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PaymentEvent {
    /// The payment succeeded for `amount` minor units in `currency` (lower- or upper-case).
    Succeeded {
        amount: i64,
        currency: String,
    },
    Failed,
    Canceled,
    /// Cumulative refunded amount of the charge (Stripe's `amount_refunded`).
    Refunded {
        amount_refunded: i64,
    },
    DisputeOpened,
    DisputeClosed {
        won: bool,
    },
    /// The service gave up waiting for the payment.
    Expired,
    /// The provider accepted the payment and is clearing it (asynchronous methods): the
    /// pledge waits for the verdict and does not expire meanwhile.
    Processing,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PledgeFacts {
    pub amount: i64,
    pub paid: bool,
    pub failed: bool,
    pub canceled: bool,
    pub expired: bool,
    pub refunded: i64,
    pub dispute: Dispute,
    pub processing: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    /// A success whose amount or currency differs from the pledge: never counted, flagged.
    #[error(
        "payment of {got_amount} {got_currency} does not match the pledge's {want_amount} {want_currency}"
    )]
    Mismatch {
        want_amount: i64,
        want_currency: String,
        got_amount: i64,
        got_currency: String,
    },
}

impl PledgeFacts {
    pub fn new(amount: i64) -> PledgeFacts {
        PledgeFacts {
            amount,
            paid: false,
            failed: false,
            canceled: false,
            expired: false,
            refunded: 0,
            dispute: Dispute::None,
            processing: false,
        }
    }

    /// The facts after `event`. Applying the same event twice changes nothing.
    pub fn apply(&self, event: &PaymentEvent, currency: &str) -> Result<PledgeFacts, Rejected> {
        let mut next = *self;
        match event {
            PaymentEvent::Succeeded {
                amount,
                currency: got,
            } => {
                if *amount != self.amount || !got.eq_ignore_ascii_case(currency) {
                    return Err(Rejected::Mismatch {
                        want_amount: self.amount,
                        want_currency: currency.to_string(),
                        got_amount: *amount,
                        got_currency: got.to_ascii_uppercase(),
                    });
                }
                next.paid = true;
            }
            PaymentEvent::Failed => next.failed = true,
            PaymentEvent::Canceled => next.canceled = true,
            // A payment the provider is clearing is not given up on: its verdict decides.
            PaymentEvent::Expired => {
                next.expired = self.expired || (!self.paid && !self.processing);
            }
            PaymentEvent::Processing => {
                next.processing = self.processing || !(self.paid || self.failed || self.canceled);
            }
            // Money that is gone stays gone: a refund after a lost dispute, or a dispute after
            // a full refund, cannot change what the pledge is worth (and must not move a
            // final status).
            PaymentEvent::Refunded { amount_refunded } => {
                if self.dispute != Dispute::Lost {
                    next.refunded = self.refunded.max((*amount_refunded).clamp(0, self.amount));
                }
            }
            PaymentEvent::DisputeOpened => {
                if self.dispute == Dispute::None && !self.fully_refunded() {
                    next.dispute = Dispute::Open;
                }
            }
            PaymentEvent::DisputeClosed { won } => {
                if matches!(self.dispute, Dispute::None | Dispute::Open) && !self.fully_refunded() {
                    next.dispute = if *won { Dispute::Won } else { Dispute::Lost };
                }
            }
        }
        Ok(next)
    }

    /// The status a reader is shown: `processing` for a pending pledge being cleared.
    pub fn shown_status(&self) -> PledgeStatus {
        match self.status() {
            PledgeStatus::Pending if self.processing => PledgeStatus::Processing,
            s => s,
        }
    }

    fn fully_refunded(&self) -> bool {
        self.refunded >= self.amount
    }

    pub fn status(&self) -> PledgeStatus {
        if self.paid {
            match self.dispute {
                Dispute::Lost => PledgeStatus::ChargedBack,
                Dispute::Open => PledgeStatus::Disputed,
                _ if self.refunded >= self.amount => PledgeStatus::Refunded,
                _ if self.refunded > 0 => PledgeStatus::PartiallyRefunded,
                _ => PledgeStatus::Confirmed,
            }
        } else if self.expired {
            // The service gave up on it and cancelled its payment: the provider's report of
            // that cancellation (or of an earlier failed attempt) does not make it `failed`.
            PledgeStatus::Expired
        } else if self.failed || self.canceled {
            PledgeStatus::Failed
        } else {
            PledgeStatus::Pending
        }
    }

    /// What the pledge adds to its campaign's `raised`: confirmed money net of refunds, and
    /// nothing once a dispute is lost. A dispute still open keeps counting until it is decided.
    pub fn counted(&self) -> i64 {
        if self.paid && self.dispute != Dispute::Lost {
            self.amount - self.refunded.min(self.amount)
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PledgeStatus as S;
    use proptest::prelude::*;

    fn run(amount: i64, events: &[PaymentEvent]) -> PledgeFacts {
        events.iter().fold(PledgeFacts::new(amount), |f, e| {
            f.apply(e, "EUR").unwrap_or(f)
        })
    }

    fn ok(amount: i64) -> PaymentEvent {
        PaymentEvent::Succeeded {
            amount,
            currency: "eur".into(),
        }
    }

    #[test]
    fn success_counts_and_refunds_reduce() {
        let f = run(2500, &[ok(2500)]);
        assert_eq!((f.status(), f.counted()), (S::Confirmed, 2500));
        let f = run(
            2500,
            &[
                ok(2500),
                PaymentEvent::Refunded {
                    amount_refunded: 1000,
                },
            ],
        );
        assert_eq!((f.status(), f.counted()), (S::PartiallyRefunded, 1500));
        let f = run(
            2500,
            &[
                ok(2500),
                PaymentEvent::Refunded {
                    amount_refunded: 2500,
                },
            ],
        );
        assert_eq!((f.status(), f.counted()), (S::Refunded, 0));
    }

    #[test]
    fn refund_before_success_ends_refunded() {
        let f = run(
            2500,
            &[
                PaymentEvent::Refunded {
                    amount_refunded: 2500,
                },
                ok(2500),
            ],
        );
        assert_eq!((f.status(), f.counted()), (S::Refunded, 0));
        // Cumulative amounts delivered out of order never go back.
        let f = run(
            2500,
            &[
                ok(2500),
                PaymentEvent::Refunded {
                    amount_refunded: 2000,
                },
                PaymentEvent::Refunded {
                    amount_refunded: 500,
                },
            ],
        );
        assert_eq!(f.counted(), 500);
    }

    #[test]
    fn disputes_count_until_lost() {
        let f = run(2500, &[ok(2500), PaymentEvent::DisputeOpened]);
        assert_eq!((f.status(), f.counted()), (S::Disputed, 2500));
        let won = run(
            2500,
            &[
                ok(2500),
                PaymentEvent::DisputeOpened,
                PaymentEvent::DisputeClosed { won: true },
            ],
        );
        assert_eq!((won.status(), won.counted()), (S::Confirmed, 2500));
        let lost = run(
            2500,
            &[
                PaymentEvent::DisputeClosed { won: false },
                PaymentEvent::DisputeOpened,
                ok(2500),
            ],
        );
        assert_eq!((lost.status(), lost.counted()), (S::ChargedBack, 0));
    }

    #[test]
    fn mismatched_success_is_rejected() {
        let f = PledgeFacts::new(2500);
        assert!(f.apply(&ok(2400), "EUR").is_err());
        assert!(
            f.apply(
                &PaymentEvent::Succeeded {
                    amount: 2500,
                    currency: "usd".into()
                },
                "EUR"
            )
            .is_err()
        );
    }

    #[test]
    fn late_success_after_failure_or_expiry_still_counts() {
        let f = run(
            2500,
            &[PaymentEvent::Failed, PaymentEvent::Expired, ok(2500)],
        );
        assert_eq!((f.status(), f.counted()), (S::Confirmed, 2500));
        let f = run(2500, &[PaymentEvent::Expired]);
        assert_eq!(f.status(), S::Expired);
    }

    #[test]
    fn a_payment_being_cleared_waits_for_its_verdict_and_never_expires() {
        let f = run(2500, &[PaymentEvent::Processing, PaymentEvent::Expired]);
        assert_eq!((f.status(), f.shown_status()), (S::Pending, S::Processing));
        let paid = run(
            2500,
            &[PaymentEvent::Processing, PaymentEvent::Expired, ok(2500)],
        );
        assert_eq!((paid.shown_status(), paid.counted()), (S::Confirmed, 2500));
        let failed = run(2500, &[PaymentEvent::Processing, PaymentEvent::Failed]);
        assert_eq!(failed.shown_status(), S::Failed);
        // A late `processing` report changes nothing once the verdict is known.
        assert!(!run(2500, &[ok(2500), PaymentEvent::Processing]).processing);
        // Without it, the same wait expires.
        assert_eq!(
            run(2500, &[PaymentEvent::Expired]).shown_status(),
            S::Expired
        );
    }

    fn any_event(amount: i64) -> impl Strategy<Value = PaymentEvent> {
        prop_oneof![
            Just(ok(amount)),
            (1i64..5).prop_map(|d| PaymentEvent::Succeeded {
                amount: d,
                currency: "eur".into()
            }),
            Just(PaymentEvent::Failed),
            Just(PaymentEvent::Canceled),
            Just(PaymentEvent::Expired),
            Just(PaymentEvent::Processing),
            (0..=amount + 10).prop_map(|r| PaymentEvent::Refunded { amount_refunded: r }),
            Just(PaymentEvent::DisputeOpened),
            any::<bool>().prop_map(|won| PaymentEvent::DisputeClosed { won }),
        ]
    }

    /// The spec's edges (plus a late success after failure or expiry, and a refund or dispute
    /// that arrived before the success), closed transitively.
    fn allowed(from: S, to: S) -> bool {
        let after_payment = [
            S::Confirmed,
            S::Refunded,
            S::PartiallyRefunded,
            S::Disputed,
            S::ChargedBack,
        ];
        match from {
            S::Pending | S::Failed | S::Expired => {
                after_payment.contains(&to) || matches!(to, S::Failed | S::Expired)
            }
            S::Confirmed => matches!(
                to,
                S::Refunded | S::PartiallyRefunded | S::Disputed | S::ChargedBack
            ),
            S::PartiallyRefunded => matches!(to, S::Refunded | S::Disputed | S::ChargedBack),
            S::Disputed => matches!(
                to,
                S::Confirmed | S::PartiallyRefunded | S::Refunded | S::ChargedBack
            ),
            // Never a stored status (`shown_status` only).
            S::Refunded | S::ChargedBack | S::Processing => false,
        }
    }

    proptest! {
        #[test]
        fn any_sequence_stays_in_the_allowed_states(
            (amount, events) in (100i64..100_000).prop_flat_map(|a| (Just(a), proptest::collection::vec(any_event(a), 0..30)))
        ) {
            let mut f = PledgeFacts::new(amount);
            for e in &events {
                let next = f.apply(e, "EUR").unwrap_or(f);
                if next.status() != f.status() {
                    prop_assert!(allowed(f.status(), next.status()), "{:?} -> {:?} on {:?}", f.status(), next.status(), e);
                }
                // Facts only move forward.
                prop_assert!(next.paid >= f.paid && next.refunded >= f.refunded);
                f = next;
            }
        }

        #[test]
        fn counted_is_confirmed_minus_refunded_or_lost(events in proptest::collection::vec(any_event(1000), 0..30)) {
            let f = run(1000, &events);
            // Reference, in money terms: the largest refund reported before a lost dispute,
            // and a dispute lost (its first close) before the charge was fully refunded.
            let paid = events.iter().any(|e| *e == ok(1000));
            let (mut refunded, mut lost, mut closed) = (0i64, false, false);
            for e in &events {
                match e {
                    PaymentEvent::Refunded { amount_refunded } if !lost => refunded = refunded.max((*amount_refunded).clamp(0, 1000)),
                    PaymentEvent::DisputeClosed { won } if !closed && refunded < 1000 => {
                        closed = true;
                        lost = !won;
                    }
                    _ => {}
                }
            }
            let expected = if paid && !lost { 1000 - refunded } else { 0 };
            prop_assert_eq!(f.counted(), expected);
            prop_assert!(f.counted() >= 0 && f.counted() <= 1000);
            // Applying the whole sequence again changes nothing (duplicates are harmless).
            prop_assert_eq!(events.iter().fold(f, |g, e| g.apply(e, "EUR").unwrap_or(g)), f);
        }
    }
}
