//! How one match is divided among a fund's funders (`funding_split`). Pure: the funders' room
//! in, each funder's part out. The engine decides *how much* a campaign gets from what the
//! funders can cover together ([`coverable`]), then asks for the [`parts`] of that amount.
//!
//! - `priority`: funders are drawn in order (lowest `priority` first) until the amount is covered.
//! - `proportional`: each funder pays its share, rounded half-up to the cent; the remainder cent
//!   goes to the first funder. If one funder cannot pay its part, the funders cannot cover the
//!   amount at all (the fund's exhaustion policy then applies to the whole match).

use super::fund::FundingSplit;
use super::money::{Ratio, apply_ratio};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// One funder as the split sees it, in draw order (priority, then age).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Room {
    /// What the funder has neither held, reserved, committed nor settled.
    pub available: i64,
    /// Its share of every match (`proportional` only).
    pub share: Option<Ratio>,
}

/// Each funder's part of `amount` (same order as `funders`), or None when they cannot cover
/// it together. The parts always add up to `amount`.
pub fn parts(split: FundingSplit, amount: i64, funders: &[Room]) -> Option<Vec<i64>> {
    if amount < 0 {
        return None;
    }
    if amount == 0 {
        return Some(vec![0; funders.len()]);
    }
    match split {
        FundingSplit::Priority => {
            let mut left = amount;
            let parts: Vec<i64> = funders
                .iter()
                .map(|f| {
                    let part = left.min(f.available.max(0));
                    left -= part;
                    part
                })
                .collect();
            (left == 0).then_some(parts)
        }
        FundingSplit::Proportional => {
            let (first, rest) = funders.split_first()?;
            let mut parts = Vec::with_capacity(funders.len());
            parts.push(0);
            let mut others = 0i64;
            for f in rest {
                let part = apply_ratio(amount, f.share?.value());
                others = others.checked_add(part)?;
                parts.push(part);
            }
            parts[0] = amount.checked_sub(others)?;
            let fits = parts[0] >= 0
                && parts[0] <= first.available
                && rest.iter().zip(&parts[1..]).all(|(f, p)| *p <= f.available);
            fits.then_some(parts)
        }
    }
}

/// How far a scan looks above the guaranteed amount for the cents rounding may still allow.
const SCAN: i64 = 1_000;

/// The largest amount, at most `want`, whose [`parts`] the funders can pay (0 when none).
pub fn coverable(split: FundingSplit, want: i64, funders: &[Room]) -> i64 {
    if want <= 0 {
        return 0;
    }
    if parts(split, want, funders).is_some() {
        return want;
    }
    match split {
        FundingSplit::Priority => funders
            .iter()
            .map(|f| f.available.max(0))
            .fold(0i64, i64::saturating_add)
            .min(want),
        FundingSplit::Proportional => {
            // An amount x with round(x·sᵢ) ≤ availableᵢ for the others (true when
            // x ≤ availableᵢ / sᵢ: rounding never lifts a value above the integer bounding it)
            // and x·s₀ + n/2 ≤ available₀ for the first, who takes the remainder cents.
            let Some((first, rest)) = funders.split_first() else {
                return 0;
            };
            let n = funders.len() as i64;
            let bound = |available: i64, share: Option<Ratio>| -> i64 {
                match share {
                    Some(s) if s.value() > Decimal::ZERO => (Decimal::from(available.max(0))
                        / s.value())
                    .floor()
                    .to_i64()
                    .unwrap_or(i64::MAX),
                    _ => 0,
                }
            };
            let mut sure = bound((first.available - n).max(0), first.share).min(want);
            for f in rest {
                sure = sure.min(bound(f.available, f.share));
            }
            let sure = sure.max(0);
            let mut best = if parts(split, sure, funders).is_some() {
                sure
            } else {
                0
            };
            // Win back the cents the guarantee gave away.
            let top = want.min(sure.saturating_add(SCAN));
            let mut x = top;
            while x > best {
                if parts(split, x, funders).is_some() {
                    best = x;
                    break;
                }
                x -= 1;
            }
            best
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn share(s: &str) -> Option<Ratio> {
        Some(Ratio::parse(s).unwrap())
    }

    fn room(available: i64, s: &str) -> Room {
        Room {
            available,
            share: share(s),
        }
    }

    #[test]
    fn a_thousand_euros_and_a_cent_in_thirds_gives_the_odd_cent_to_the_first_funder() {
        // €1,000.01 / 3 = €333.3366…: the others get €333.34 (half-up), the first the rest.
        let f = [
            room(1_000_000, "0.3333"),
            room(1_000_000, "0.3333"),
            room(1_000_000, "0.3334"),
        ];
        // 100001 × 0.3333 = 33330.33 → 33330; × 0.3334 = 33340.33 → 33340; first 33331.
        assert_eq!(
            parts(FundingSplit::Proportional, 100_001, &f),
            Some(vec![33_331, 33_330, 33_340])
        );
        // Exact thirds are not a decimal share; a half/half split of an odd amount:
        let halves = [room(10_000, "0.5"), room(10_000, "0.5")];
        // 1 cent × 0.5 = 0.5 → 1 (half-up) for the second; the first gets 0.
        assert_eq!(
            parts(FundingSplit::Proportional, 1, &halves),
            Some(vec![0, 1])
        );
        // 3 cents: second 2 (1.5 → 2), first 1.
        assert_eq!(
            parts(FundingSplit::Proportional, 3, &halves),
            Some(vec![1, 2])
        );
    }

    #[test]
    fn priority_draws_in_order_until_covered() {
        let f = [
            Room {
                available: 300,
                share: None,
            },
            Room {
                available: 500,
                share: None,
            },
        ];
        assert_eq!(parts(FundingSplit::Priority, 700, &f), Some(vec![300, 400]));
        assert_eq!(parts(FundingSplit::Priority, 801, &f), None);
        assert_eq!(coverable(FundingSplit::Priority, 801, &f), 800);
        assert_eq!(coverable(FundingSplit::Priority, 100, &f), 100);
    }

    #[test]
    fn proportional_is_refused_when_one_funder_cannot_pay_its_part() {
        // The foundation (40%) has only €100 left: a €1,000 top-up needs €400 from it.
        let f = [room(1_000_000, "0.6"), room(10_000, "0.4")];
        assert_eq!(parts(FundingSplit::Proportional, 100_000, &f), None);
        // What they can still cover together: €250.01 (40% of it is €100.004, rounded to the
        // foundation's last €100.00; the city pays the other €150.01).
        assert_eq!(coverable(FundingSplit::Proportional, 100_000, &f), 25_001);
        assert_eq!(
            parts(FundingSplit::Proportional, 25_001, &f),
            Some(vec![15_001, 10_000])
        );
    }

    fn any_split() -> impl Strategy<Value = FundingSplit> {
        prop_oneof![
            Just(FundingSplit::Priority),
            Just(FundingSplit::Proportional)
        ]
    }

    /// Shares in thousandths that sum to exactly 1.
    fn funders() -> impl Strategy<Value = Vec<Room>> {
        prop::collection::vec((0i64..2_000_000, 1u32..50), 1..5).prop_map(|v| {
            let total: u32 = v.iter().map(|(_, w)| w).sum();
            let mut left = Decimal::ONE;
            let n = v.len();
            v.iter()
                .enumerate()
                .map(|(i, (available, w))| {
                    let s = if i + 1 == n {
                        left
                    } else {
                        (Decimal::from(*w) / Decimal::from(total)).round_dp(3)
                    };
                    left -= s;
                    Room {
                        available: *available,
                        share: (s > Decimal::ZERO)
                            .then(|| Ratio::parse(&s.normalize().to_string()).ok())
                            .flatten(),
                    }
                })
                .collect()
        })
    }

    proptest! {
        /// The parts add up to the amount and no funder pays more than it has.
        #[test]
        fn parts_add_up_and_fit(split in any_split(), amount in 0i64..5_000_000, f in funders()) {
            if let Some(p) = parts(split, amount, &f) {
                prop_assert_eq!(p.iter().sum::<i64>(), amount);
                for (part, room) in p.iter().zip(&f) {
                    prop_assert!(*part >= 0 && *part <= room.available.max(0));
                }
            }
        }

        /// What is coverable can be split, is never more than asked, and under `priority` is
        /// everything the funders have (up to the amount asked).
        #[test]
        fn the_coverable_amount_can_be_split(split in any_split(), want in 0i64..5_000_000, f in funders()) {
            let x = coverable(split, want, &f);
            prop_assert!(x >= 0 && x <= want);
            prop_assert!(parts(split, x, &f).is_some());
            if split == FundingSplit::Priority {
                prop_assert_eq!(x, want.min(f.iter().map(|r| r.available).sum()));
            }
            if parts(split, want, &f).is_some() {
                prop_assert_eq!(x, want);
            }
        }
    }
}
