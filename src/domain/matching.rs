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

    proptest! {
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
