//! The matching rule's arithmetic: the crowd's threshold and the city's top-up for a goal.
//! Exact: integer minor units in, `rust_decimal` ratios, half-up rounding to the minor unit.

use super::campaign::CampaignStatus;
use super::fund::Allocation;
use super::money::{Ratio, apply_ratio};
use super::stored::stored_enum;
use rust_decimal::Decimal;

/// goal × threshold_ratio, rounded half-up to the minor unit.
pub fn threshold(goal: i64, threshold_ratio: Ratio) -> i64 {
    apply_ratio(goal, threshold_ratio.value())
}

/// min(goal × match_ratio, max_match_per_campaign).
pub fn top_up(goal: i64, match_ratio: Ratio, max_match_per_campaign: Option<i64>) -> i64 {
    let full = apply_ratio(goal, match_ratio.value());
    match max_match_per_campaign {
        Some(cap) => full.min(cap),
        None => full,
    }
}

/// raised / goal with four decimals, rounded half-up (0 when the goal is not positive).
pub fn progress(raised: i64, goal: i64) -> Decimal {
    if goal <= 0 {
        return Decimal::ZERO;
    }
    (Decimal::from(raised) / Decimal::from(goal))
        .round_dp_with_strategy(4, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
}

/// What happens to a campaign's match when its confirmed donations change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchAction {
    /// Reserve `amount` from the fund now.
    Reserve(i64),
    /// Queue the campaign (FIFO by crossing time) until budget frees up.
    Waitlist,
    /// Give the reservation back: the campaign fell below its threshold.
    Revoke,
    /// Leave the queue: the campaign fell below its threshold while waiting.
    Unqueue,
    Nothing,
}

stored_enum! {
    /// Where a campaign's match stands.
    pub enum MatchState: "match status" {
        None = "none",
        Waitlisted = "waitlisted",
        Reserved = "reserved",
        Committed = "committed",
        Settled = "settled",
        Revoked = "revoked",
    }
}

stored_enum! {
    /// What a recorded match decision did (`match_decisions.decision`).
    pub enum Decision: "match decision" {
        /// The full top-up reserved.
        Reserve = "reserve",
        /// Less than the top-up reserved: all that was left (`partial` policy).
        Partial = "partial",
        /// Queued until budget frees up.
        Waitlist = "waitlist",
        /// Left the queue: fell below the threshold while waiting.
        Unqueue = "unqueue",
        /// The reservation given back: fell below the threshold.
        Revoke = "revoke",
        /// The reservation given back: the campaign failed or was cancelled.
        Release = "release",
        /// The reservation committed: the campaign succeeded.
        Commit = "commit",
        /// Succeeded while still queued: no match.
        NoBudget = "no_budget",
        /// The top-up earmarked at approval (`on_approval`).
        Earmark = "earmark",
        /// A quadratic round's share committed (or nothing, when the share is 0).
        Distribute = "distribute",
    }
}

/// Everything an `on_threshold` decision is taken from (recorded with the decision).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatchInputs {
    pub raised: i64,
    pub donors: i64,
    pub goal: i64,
    pub threshold: i64,
    pub top_up: i64,
    pub min_donors: i64,
    pub available: i64,
    pub partial: bool,
}

impl MatchInputs {
    pub fn qualifies(&self) -> bool {
        self.raised >= self.threshold && self.donors >= self.min_donors
    }
}

/// How much a qualifying campaign can have reserved now: all of its top-up when the budget
/// covers it, what is left under the `partial` policy, or nothing (it waits).
fn reservation(inputs: &MatchInputs) -> Option<i64> {
    if inputs.available >= inputs.top_up {
        Some(inputs.top_up)
    } else if inputs.partial && inputs.available > 0 {
        Some(inputs.available)
    } else {
        None
    }
}

/// How a reservation of `amount` is recorded: `partial` when it is less than the top-up.
pub fn reserve_decision(amount: i64, inputs: &MatchInputs) -> Decision {
    if amount < inputs.top_up {
        Decision::Partial
    } else {
        Decision::Reserve
    }
}

/// Whether the crowd rule applies to a campaign at all: only while it runs (`live`, `closing`)
/// and only in an `on_threshold` fund (an `on_approval` fund earmarks at approval instead).
pub fn crowd_rule_applies(status: CampaignStatus, allocation: Allocation) -> bool {
    matches!(status, CampaignStatus::Live | CampaignStatus::Closing)
        && allocation == Allocation::OnThreshold
}

/// The `on_threshold` rule: reserve on crossing (all of the top-up, or what is left under the
/// `partial` policy), queue when the budget cannot cover it (`waitlist`), revoke or unqueue when
/// refunds or lost disputes drop the campaign below its threshold.
pub fn on_threshold(state: MatchState, inputs: &MatchInputs) -> MatchAction {
    match (state, inputs.qualifies()) {
        (MatchState::None | MatchState::Revoked, true) => {
            if inputs.top_up <= 0 {
                MatchAction::Nothing
            } else {
                reservation(inputs).map_or(MatchAction::Waitlist, MatchAction::Reserve)
            }
        }
        (MatchState::Reserved, false) => MatchAction::Revoke,
        (MatchState::Waitlisted, false) => MatchAction::Unqueue,
        _ => MatchAction::Nothing,
    }
}

/// What serving a fund's waitlist does with the campaign at the head of the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServeAction {
    /// Reserve `amount` and leave the queue.
    Reserve(i64),
    /// It no longer qualifies: leave the queue without a match.
    Unqueue,
    /// The budget cannot cover it yet: it waits, and so does everyone behind it (FIFO).
    Wait,
}

/// The waitlist rule for the queue's head: the same reservation as a crossing.
pub fn serve_head(inputs: &MatchInputs) -> ServeAction {
    if !inputs.qualifies() {
        return ServeAction::Unqueue;
    }
    reservation(inputs).map_or(ServeAction::Wait, ServeAction::Reserve)
}

/// What becomes of a campaign's match when it is decided after `closing`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// `succeeded`: a reservation of `match_amount` is committed; a queued campaign leaves the
    /// queue with no match (`no_budget`).
    Succeeded,
    /// `failed`: the reservation is released and every counted donation refunded.
    Failed,
}

/// The decision after `closing`: succeeded when the crowd raised the threshold.
pub fn on_close(raised: i64, threshold: i64) -> Verdict {
    if raised >= threshold {
        Verdict::Succeeded
    } else {
        Verdict::Failed
    }
}

/// The `on_approval` earmark: the whole top-up, or a refusal when the budget cannot cover it
/// (approval then fails). None when there is nothing to earmark.
pub fn earmark(top_up: i64, available: i64) -> Result<Option<i64>, EarmarkRefused> {
    if top_up <= 0 {
        Ok(None)
    } else if available >= top_up {
        Ok(Some(top_up))
    } else {
        Err(EarmarkRefused)
    }
}

/// The fund cannot cover an `on_approval` top-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EarmarkRefused;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn r(s: &str) -> Ratio {
        Ratio::parse(s).unwrap()
    }

    #[test]
    fn milan_rules() {
        // €60,000 goal: the crowd must raise €30,000, the city adds €30,000.
        assert_eq!(threshold(6_000_000, r("0.5")), 3_000_000);
        assert_eq!(top_up(6_000_000, r("0.5"), Some(5_000_000)), 3_000_000);
        // €100,000 goal: 50% would be €50,000 — exactly the cap.
        assert_eq!(top_up(10_000_000, r("0.5"), Some(5_000_000)), 5_000_000);
        // A cap below half the goal wins.
        assert_eq!(top_up(10_000_000, r("0.5"), Some(4_000_000)), 4_000_000);
    }

    #[test]
    fn rounds_half_up_to_the_cent() {
        // €200.01 × 0.5 = €100.005 → €100.01
        assert_eq!(threshold(20_001, r("0.5")), 10_001);
        // €100.00 × 0.333 = €33.30
        assert_eq!(top_up(10_000, r("0.333"), None), 3_330);
        // €0.03 × 0.5 = 0.015 → 0.02
        assert_eq!(threshold(3, r("0.5")), 2);
        assert_eq!(progress(2_500, 10_000), Decimal::new(25, 2));
        assert_eq!(progress(1, 3), Decimal::new(3333, 4));
        assert_eq!(progress(5, 0), Decimal::ZERO);
    }

    fn inputs(raised: i64, available: i64, partial: bool) -> MatchInputs {
        MatchInputs {
            raised,
            donors: 3,
            goal: 6_000_000,
            threshold: 3_000_000,
            top_up: 3_000_000,
            min_donors: 1,
            available,
            partial,
        }
    }

    #[test]
    fn crossing_reserves_waitlists_or_partially_matches() {
        use MatchAction as A;
        use MatchState as M;
        assert_eq!(
            on_threshold(M::None, &inputs(2_999_999, 9_000_000, false)),
            A::Nothing
        );
        assert_eq!(
            on_threshold(M::None, &inputs(3_000_000, 9_000_000, false)),
            A::Reserve(3_000_000)
        );
        assert_eq!(
            on_threshold(M::None, &inputs(3_000_000, 1_000_000, false)),
            A::Waitlist
        );
        assert_eq!(
            on_threshold(M::None, &inputs(3_000_000, 1_000_000, true)),
            A::Reserve(1_000_000)
        );
        assert_eq!(
            on_threshold(M::None, &inputs(3_000_000, 0, true)),
            A::Waitlist
        );
        assert_eq!(
            on_threshold(M::Revoked, &inputs(3_500_000, 9_000_000, false)),
            A::Reserve(3_000_000)
        );
        assert_eq!(
            on_threshold(M::Reserved, &inputs(3_500_000, 0, false)),
            A::Nothing
        );
        assert_eq!(
            on_threshold(M::Reserved, &inputs(2_000_000, 0, false)),
            A::Revoke
        );
        assert_eq!(
            on_threshold(M::Waitlisted, &inputs(2_000_000, 0, false)),
            A::Unqueue
        );
        assert_eq!(on_threshold(M::Committed, &inputs(0, 0, false)), A::Nothing);
        let mut few_donors = inputs(3_000_000, 9_000_000, false);
        few_donors.min_donors = 5;
        assert_eq!(on_threshold(M::None, &few_donors), A::Nothing);
    }

    proptest! {
        #[test]
        fn a_reservation_never_exceeds_what_is_available_or_the_top_up(
            raised in 0i64..10_000_000, available in 0i64..10_000_000, top_up in 1i64..5_000_000, partial in any::<bool>()
        ) {
            let i = MatchInputs { raised, donors: 1, goal: 2 * top_up, threshold: top_up, top_up, min_donors: 1, available, partial };
            if let MatchAction::Reserve(x) = on_threshold(MatchState::None, &i) {
                prop_assert!(x <= available && x <= top_up && x > 0);
                prop_assert!(i.qualifies());
            }
        }

        #[test]
        fn top_up_never_exceeds_cap_or_goal(goal in 1i64..10_000_000_000, m in 1u32..=1000, cap in proptest::option::of(1i64..10_000_000_000)) {
            let ratio = Ratio::parse(&(Decimal::from(m) / Decimal::from(1000)).normalize().to_string()).unwrap();
            let t = top_up(goal, ratio, cap);
            prop_assert!(t <= goal);
            prop_assert!(t >= 0);
            if let Some(c) = cap { prop_assert!(t <= c); }
        }

        #[test]
        fn threshold_is_within_half_a_cent_of_exact(goal in 1i64..10_000_000_000, m in 1u32..=1000) {
            let ratio_dec = Decimal::from(m) / Decimal::from(1000);
            let ratio = Ratio::parse(&ratio_dec.normalize().to_string()).unwrap();
            let exact = Decimal::from(goal) * ratio_dec;
            let diff = (Decimal::from(threshold(goal, ratio)) - exact).abs();
            prop_assert!(diff <= Decimal::new(5, 1));
        }
    }

    fn any_inputs() -> impl Strategy<Value = MatchInputs> {
        (
            0i64..10_000_000,
            0i64..50,
            1i64..10_000_000,
            0i64..10_000_000,
            0i64..5_000_000,
            0i64..10,
            0i64..10_000_000,
            any::<bool>(),
        )
            .prop_map(
                |(raised, donors, goal, threshold, top_up, min_donors, available, partial)| {
                    MatchInputs {
                        raised,
                        donors,
                        goal,
                        threshold,
                        top_up,
                        min_donors,
                        available,
                        partial,
                    }
                },
            )
    }

    proptest! {
        /// The waitlist and a crossing reserve the same amount from the same inputs, never
        /// more than is available nor more than the top-up.
        #[test]
        fn serving_the_queue_reserves_what_a_crossing_would(i in any_inputs()) {
            let crossing = on_threshold(MatchState::None, &i);
            match serve_head(&i) {
                ServeAction::Reserve(amount) => {
                    prop_assert!(amount > 0 && amount <= i.available && amount <= i.top_up);
                    if i.top_up > 0 {
                        prop_assert_eq!(crossing, MatchAction::Reserve(amount));
                    }
                    prop_assert_eq!(
                        reserve_decision(amount, &i) == Decision::Partial,
                        amount < i.top_up
                    );
                }
                ServeAction::Wait => {
                    prop_assert!(i.qualifies());
                    if i.top_up > 0 {
                        prop_assert_eq!(crossing, MatchAction::Waitlist);
                    }
                }
                ServeAction::Unqueue => prop_assert!(!i.qualifies()),
            }
        }

        #[test]
        fn an_earmark_is_the_whole_top_up_or_a_refusal(top_up in 0i64..1_000, available in 0i64..1_000) {
            match earmark(top_up, available) {
                Ok(Some(amount)) => prop_assert!(amount == top_up && amount <= available),
                Ok(None) => prop_assert_eq!(top_up, 0),
                Err(EarmarkRefused) => prop_assert!(top_up > available),
            }
        }

        #[test]
        fn a_campaign_succeeds_exactly_when_the_crowd_reached_the_threshold(
            raised in 0i64..1_000, threshold in 0i64..1_000
        ) {
            prop_assert_eq!(on_close(raised, threshold) == Verdict::Succeeded, raised >= threshold);
        }
    }

    #[test]
    fn the_crowd_rule_applies_to_running_on_threshold_campaigns_only() {
        use CampaignStatus as S;
        for s in crate::domain::campaign::ALL_STATUSES {
            let running = matches!(s, S::Live | S::Closing);
            assert_eq!(crowd_rule_applies(s, Allocation::OnThreshold), running);
            assert!(!crowd_rule_applies(s, Allocation::OnApproval));
        }
    }
}
