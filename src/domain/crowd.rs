//! The crowd's money: what donors gave a campaign through the provider, from the programme's
//! account at the provider to the association. Pure: the crowd accounts, the movements
//! between them, the platform fee, and the plan that brings a succeeded campaign's accounts
//! in line with what its donors gave. The door that applies a movement is
//! `db::crowd::post`.

use super::stored::stored_enum;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

stored_enum! {
    /// A campaign's crowd account. `donors` is the world outside (cards, banks).
    pub enum CrowdAccount: "crowd account" {
        Donors = "donors",
        /// At the provider, on the programme's account, not yet allotted.
        Clearing = "clearing",
        /// Kept by the programme (`COFUND_PLATFORM_FEE_RATIO`).
        Fees = "fees",
        /// Owed to the association, not yet sent.
        Payable = "payable",
        /// Sent (or being sent) to the association.
        PaidOut = "paid_out",
        /// Paid-out money being taken back at the provider.
        Reversing = "reversing",
        /// Paid-out money the provider could not take back: the association owes it.
        Owed = "owed",
    }
}

stored_enum! {
    /// A crowd journal entry's kind.
    pub enum CrowdMovement: "crowd movement" {
        /// donors → clearing: donations counted on a succeeded campaign.
        Collect = "collect",
        /// clearing → donors: a refund or lost dispute after the decision.
        Refund = "refund",
        /// clearing → fees.
        Fee = "fee",
        /// fees → clearing (the fee of money that went back).
        FeeBack = "fee_back",
        /// clearing → payable.
        MakePayable = "make_payable",
        /// payable → clearing (money that went back before it was sent).
        TakeBack = "take_back",
        /// payable → paid_out: a payout made.
        PayOut = "pay_out",
        /// paid_out → payable: a payout the provider or the bank refused.
        PayoutFailed = "payout_failed",
        /// paid_out → reversing: a reversal asked.
        Reverse = "reverse",
        /// reversing → clearing: the reversal done (or no longer needed).
        Reversed = "reversed",
        /// reversing → owed: the provider could not take it back.
        Owe = "owe",
    }
}

stored_enum! {
    /// How a payout reaches the association.
    #[derive(Serialize, Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum PayoutMethod: "payout method" {
        /// A transfer to the association's connected account at the provider.
        ProviderTransfer = "provider_transfer",
        /// A line of a pain.001 file from the programme's collection account.
        BankBatch = "bank_batch",
    }
}

stored_enum! {
    #[derive(Serialize, Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum PayoutStatus: "payout status" {
        Pending = "pending",
        Paid = "paid",
        Failed = "failed",
    }
}

stored_enum! {
    #[derive(Serialize, Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum ReversalStatus: "reversal status" {
        Pending = "pending",
        Reversed = "reversed",
        /// Could not be taken back: the association owes it.
        Owed = "owed",
        /// The payout it was for never left.
        Cancelled = "cancelled",
    }
}

stored_enum! {
    /// The association's connected account at the provider.
    #[derive(Serialize, Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum PayoutAccountStatus: "payout account status" {
        /// Created; the association has not finished onboarding.
        Pending = "pending",
        /// Can receive transfers.
        Active = "active",
        /// The provider disabled transfers (missing or rejected information).
        Restricted = "restricted",
    }
}

stored_enum! {
    #[derive(Serialize, Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum PayoutBatchStatus: "payout batch status" {
        Draft = "draft",
        Confirmed = "confirmed",
        Cancelled = "cancelled",
    }
}

impl CrowdMovement {
    /// The account the amount leaves and the one it enters.
    pub fn legs(self) -> (CrowdAccount, CrowdAccount) {
        use CrowdAccount::*;
        match self {
            CrowdMovement::Collect => (Donors, Clearing),
            CrowdMovement::Refund => (Clearing, Donors),
            CrowdMovement::Fee => (Clearing, Fees),
            CrowdMovement::FeeBack => (Fees, Clearing),
            CrowdMovement::MakePayable => (Clearing, Payable),
            CrowdMovement::TakeBack => (Payable, Clearing),
            CrowdMovement::PayOut => (Payable, PaidOut),
            CrowdMovement::PayoutFailed => (PaidOut, Payable),
            CrowdMovement::Reverse => (PaidOut, Reversing),
            CrowdMovement::Reversed => (Reversing, Clearing),
            CrowdMovement::Owe => (Reversing, Owed),
        }
    }
}

/// A campaign's crowd balances (`crowd_positions`). `collected − refunded` is what the donors
/// gave net; every other field is an account's balance. Only `clearing` may be negative: the
/// programme advanced a refund the association has not yet given back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Position {
    pub collected: i64,
    pub refunded: i64,
    pub clearing: i64,
    pub fees: i64,
    pub payable: i64,
    pub paid_out: i64,
    pub reversing: i64,
    pub owed: i64,
}

impl Position {
    /// The position after `amount` (> 0) moves; None if an account other than clearing would go
    /// below zero (the money is not there).
    pub fn after(self, movement: CrowdMovement, amount: i64) -> Option<Position> {
        if amount <= 0 {
            return None;
        }
        let mut p = self;
        let (from, to) = movement.legs();
        for (account, delta) in [(from, -amount), (to, amount)] {
            let slot = match account {
                CrowdAccount::Donors => {
                    if delta < 0 {
                        &mut p.collected
                    } else {
                        &mut p.refunded
                    }
                }
                CrowdAccount::Clearing => &mut p.clearing,
                CrowdAccount::Fees => &mut p.fees,
                CrowdAccount::Payable => &mut p.payable,
                CrowdAccount::PaidOut => &mut p.paid_out,
                CrowdAccount::Reversing => &mut p.reversing,
                CrowdAccount::Owed => &mut p.owed,
            };
            *slot = if account == CrowdAccount::Donors {
                slot.checked_add(amount)?
            } else {
                slot.checked_add(delta)?
            };
            if account != CrowdAccount::Clearing && *slot < 0 {
                return None;
            }
        }
        Some(p)
    }

    /// What the donors gave, net of refunds and lost disputes, as the crowd journal knows it.
    pub fn net(&self) -> i64 {
        self.collected - self.refunded
    }

    /// The association's share of the net: paid out, being sent, or payable.
    pub fn association_share(&self) -> i64 {
        self.payable + self.paid_out + self.reversing + self.owed
    }
}

/// The programme's fee on `net` crowd money (half-up to the cent); zero for no ratio.
pub fn fee_of(net: i64, ratio: Option<Decimal>) -> i64 {
    match ratio {
        Some(r) if net > 0 => super::money::apply_ratio(net, r).clamp(0, net),
        _ => 0,
    }
}

/// The movements that bring a succeeded campaign's crowd accounts in line with `raised` (its
/// provider-paid donations, net): counted money collected or refunded, the fee on the net
/// taken or given back, and the association's share made payable, or — when money went
/// back — taken back from what is still payable and, beyond that, asked back of what was
/// paid out (`Reverse`). Afterwards `net == raised`, `fees == fee_of(raised)` and
/// `clearing == −(reversing + owed)`: nothing is left unallotted.
pub fn plan(p: Position, raised: i64, fee_ratio: Option<Decimal>) -> Vec<(CrowdMovement, i64)> {
    let mut out = Vec::new();
    let raised = raised.max(0);
    let delta = raised - p.net();
    if delta > 0 {
        out.push((CrowdMovement::Collect, delta));
    } else if delta < 0 {
        out.push((CrowdMovement::Refund, -delta));
    }
    let fee_delta = fee_of(raised, fee_ratio) - p.fees;
    if fee_delta > 0 {
        out.push((CrowdMovement::Fee, fee_delta));
    } else if fee_delta < 0 {
        out.push((CrowdMovement::FeeBack, -fee_delta));
    }
    // Clearing after the two steps above, against its target −(reversing + owed).
    let clearing = p.clearing + delta - fee_delta;
    let excess = clearing + p.reversing + p.owed;
    if excess > 0 {
        out.push((CrowdMovement::MakePayable, excess));
    } else if excess < 0 {
        let need = -excess;
        let from_payable = need.min(p.payable);
        if from_payable > 0 {
            out.push((CrowdMovement::TakeBack, from_payable));
        }
        if need > from_payable {
            out.push((CrowdMovement::Reverse, need - from_payable));
        }
    }
    out
}

/// Applies movements in order; None if one of them is not covered.
pub fn apply(p: Position, movements: &[(CrowdMovement, i64)]) -> Option<Position> {
    movements.iter().try_fold(p, |p, &(m, a)| p.after(m, a))
}

#[cfg(test)]
#[allow(clippy::inconsistent_digit_grouping)] // euros_cents reads as money
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn dec(s: &str) -> Option<Decimal> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn a_success_is_collected_less_the_fee_and_made_payable() {
        let moves = plan(Position::default(), 20_000_00, dec("0.015"));
        assert_eq!(
            moves,
            vec![
                (CrowdMovement::Collect, 20_000_00),
                (CrowdMovement::Fee, 300_00),
                (CrowdMovement::MakePayable, 19_700_00)
            ]
        );
        let p = apply(Position::default(), &moves).unwrap();
        assert_eq!(p.payable, 19_700_00);
        assert_eq!(p.clearing, 0);
        // Nothing changed: nothing to do.
        assert!(plan(p, 20_000_00, dec("0.015")).is_empty());
    }

    #[test]
    fn a_refund_after_the_payout_is_asked_back_from_the_association() {
        let p = apply(
            Position::default(),
            &plan(Position::default(), 100_00, None),
        )
        .unwrap();
        let p = p.after(CrowdMovement::PayOut, 100_00).unwrap();
        let moves = plan(p, 70_00, None);
        assert_eq!(
            moves,
            vec![
                (CrowdMovement::Refund, 30_00),
                (CrowdMovement::Reverse, 30_00)
            ]
        );
        let p = apply(p, &moves).unwrap();
        assert_eq!(
            (p.paid_out, p.reversing, p.clearing),
            (70_00, 30_00, -30_00)
        );
        let p = p.after(CrowdMovement::Reversed, 30_00).unwrap();
        assert_eq!(p.clearing, 0);
        assert!(plan(p, 70_00, None).is_empty());
    }

    #[test]
    fn money_still_payable_is_taken_back_before_anything_is_reversed() {
        // 100 € raised, 60 € paid out, then 50 € refunded: 40 € come off what is payable, 10 €
        // are asked back.
        let p = apply(
            Position::default(),
            &plan(Position::default(), 100_00, None),
        )
        .unwrap();
        let p = p.after(CrowdMovement::PayOut, 60_00).unwrap();
        let moves = plan(p, 50_00, None);
        assert_eq!(
            moves,
            vec![
                (CrowdMovement::Refund, 50_00),
                (CrowdMovement::TakeBack, 40_00),
                (CrowdMovement::Reverse, 10_00)
            ]
        );
    }

    #[test]
    fn the_fee_follows_the_net() {
        // 0.333 of 10.01 € is 3.33333 → 3.33 €; of 10.00 € → 3.33 €; of 10.02 € → 3.34 €.
        assert_eq!(fee_of(10_01, dec("0.333")), 3_33);
        assert_eq!(fee_of(10_02, dec("0.333")), 3_34);
        assert_eq!(fee_of(0, dec("0.333")), 0);
        assert_eq!(fee_of(5_00, None), 0);
        let p = apply(
            Position::default(),
            &plan(Position::default(), 10_02, dec("0.333")),
        )
        .unwrap();
        let moves = plan(p, 10_01, dec("0.333"));
        assert_eq!(
            moves,
            vec![
                (CrowdMovement::Refund, 1),
                (CrowdMovement::FeeBack, 1),
                // 1 cent refunded, 1 cent of fee given back: the payable share is unchanged.
            ]
        );
    }

    #[derive(Debug, Clone)]
    enum Step {
        Raised(i64),
        PayAll,
        PayoutFails(i64),
        ReversalDone,
        ReversalFails,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (0i64..50_000).prop_map(Step::Raised),
            Just(Step::PayAll),
            (1i64..50_000).prop_map(Step::PayoutFails),
            Just(Step::ReversalDone),
            Just(Step::ReversalFails),
        ]
    }

    proptest! {
        /// Whatever donors give and take back, and whatever becomes of payouts and reversals,
        /// after each plan every cent the donors gave net is the fee, or the association's
        /// (payable, paid out, being reversed, owed): never counted twice, never lost.
        #[test]
        fn every_plan_leaves_every_cent_allotted_once(
            steps in proptest::collection::vec(step(), 1..30),
            ratio in prop_oneof![Just(None), Just(dec("0.05")), Just(dec("0.333"))],
        ) {
            let mut p = Position::default();
            let mut raised = 0i64;
            for s in steps {
                match s {
                    Step::Raised(r) => raised = r,
                    Step::PayAll if p.payable > 0 => p = p.after(CrowdMovement::PayOut, p.payable).unwrap(),
                    Step::PayoutFails(a) => {
                        let a = a.min(p.paid_out);
                        if a > 0 { p = p.after(CrowdMovement::PayoutFailed, a).unwrap(); }
                    }
                    Step::ReversalDone if p.reversing > 0 => p = p.after(CrowdMovement::Reversed, p.reversing).unwrap(),
                    Step::ReversalFails if p.reversing > 0 => p = p.after(CrowdMovement::Owe, p.reversing).unwrap(),
                    _ => {}
                }
                let moves = plan(p, raised, ratio);
                p = apply(p, &moves).expect("every planned movement is covered");
                prop_assert_eq!(p.net(), raised);
                prop_assert_eq!(p.fees, fee_of(raised, ratio));
                prop_assert_eq!(p.clearing, -(p.reversing + p.owed));
                prop_assert_eq!(p.fees + p.association_share() + p.clearing, raised);
                prop_assert!(plan(p, raised, ratio).is_empty());
            }
        }
    }
}
