//! The matching rule's arithmetic: the crowd's threshold and the city's top-up for a goal.
//! Exact: integer minor units in, `rust_decimal` ratios, half-up rounding to the minor unit.

use super::money::{Ratio, apply_ratio};
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchState {
    None,
    Waitlisted,
    Reserved,
    Committed,
    Settled,
    Revoked,
}

impl MatchState {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchState::None => "none",
            MatchState::Waitlisted => "waitlisted",
            MatchState::Reserved => "reserved",
            MatchState::Committed => "committed",
            MatchState::Settled => "settled",
            MatchState::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> MatchState {
        match s {
            "waitlisted" => MatchState::Waitlisted,
            "reserved" => MatchState::Reserved,
            "committed" => MatchState::Committed,
            "settled" => MatchState::Settled,
            "revoked" => MatchState::Revoked,
            _ => MatchState::None,
        }
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

/// The `on_threshold` rule: reserve on crossing (all of the top-up, or what is left under the
/// `partial` policy), queue when the budget cannot cover it (`waitlist`), revoke or unqueue when
/// refunds or lost disputes drop the campaign below its threshold.
pub fn on_threshold(state: MatchState, inputs: &MatchInputs) -> MatchAction {
    match (state, inputs.qualifies()) {
        (MatchState::None | MatchState::Revoked, true) => {
            if inputs.top_up <= 0 {
                MatchAction::Nothing
            } else if inputs.available >= inputs.top_up {
                MatchAction::Reserve(inputs.top_up)
            } else if inputs.partial && inputs.available > 0 {
                MatchAction::Reserve(inputs.available)
            } else {
                MatchAction::Waitlist
            }
        }
        (MatchState::Reserved, false) => MatchAction::Revoke,
        (MatchState::Waitlisted, false) => MatchAction::Unqueue,
        _ => MatchAction::Nothing,
    }
}

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
}
