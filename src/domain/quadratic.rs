//! Quadratic funding (as Gitcoin / clr.fund): a matching pool shared among campaigns in
//! proportion to their weight (Σᵢ √cᵢ)² − Σᵢ cᵢ, so that many small donors count for more than
//! one large donor. `cᵢ` is one donor's total to the campaign (aggregated and net of refunds by
//! the caller); donors below `min_contribution`, and non-positive totals, are not counted.
//!
//! # Precision (no floats anywhere)
//!
//! √cᵢ is fixed point: floored to 10⁻¹⁸ √cent ([`SQRT_DIGITS`]), computed exactly with integer
//! square roots. A weight is therefore in units of 10⁻³⁶ cent, held in 256 bits, and never
//! overflows for any `i64` input (saturation only beyond 2³⁷ donors in one campaign). It is
//! exact when every counted cᵢ is a perfect square, exactly 0 for a lone donor, and otherwise
//! *below* the true (irrational) weight by a relative error under 4·10⁻¹⁸ (two or more donors of
//! at least one cent: the loss is < 2·n·Σ√cᵢ units, the weight ≥ (n−1)·10¹⁸·Σ√cᵢ units).
//!
//! The split is exact for those weights, in 128-bit integers: pool × weight ÷ Σ weights, floored
//! to the cent. When pool × Σ weights would not fit, every weight is first shifted right by the
//! same number of bits (see [`split_weights`]); that moves no share by more than
//! (campaigns + 1) · 2^(2·bits(pool) − 126) cents (≈ 4·10⁻¹² cent per campaign for a pool of
//! 10¹³ cents). Both errors are far below a cent, but a share whose exact value lies that close
//! to a cent boundary may round the other way; the result is deterministic all the same.
//!
//! # Cap and cents
//!
//! A share above `cap` is cut to the cap and the excess is shared again among the uncapped
//! campaigns by weight, until no share exceeds the cap. The floored shares are then topped up
//! one cent at a time by largest remainder (ties: lowest campaign id, then input position), so
//! the amounts add up to the pool exactly — except when every campaign with a positive weight
//! is capped, or no campaign has one: then the total is less than the pool and **the rest stays
//! in the fund**. A leftover cent never goes to a share that sits on its cap.

use rust_decimal::Decimal;
use std::cmp::Ordering;
use std::fmt;

/// Decimal digits of each √cᵢ: √cᵢ is held as ⌊√cᵢ · 10^SQRT_DIGITS⌋ (see the module docs).
pub const SQRT_DIGITS: u32 = 18;
/// 10^SQRT_DIGITS: one √cent in [`Share::sum_sqrt`] units.
pub const SQRT_ONE: u128 = 10u128.pow(SQRT_DIGITS);
/// One cent in weight units (10^(2·SQRT_DIGITS)).
const WEIGHT_ONE: u128 = SQRT_ONE * SQRT_ONE;

/// One campaign's donors as the matching round sees them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contributions<K> {
    pub campaign_id: K,
    /// One total per distinct donor, in cents, net of refunds.
    pub by_donor: Vec<i64>,
}

/// A campaign's quadratic weight, (Σ√cᵢ)² − Σcᵢ, in units of 10⁻³⁶ cent (exact fixed point;
/// see the module docs). Ordered like the numbers it stands for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Weight(U256);

impl Weight {
    pub const ZERO: Weight = Weight(U256::ZERO);

    pub fn is_zero(&self) -> bool {
        self.0 == U256::ZERO
    }

    /// The weight in cents with two decimals, rounded half-up (display and records only: the
    /// split uses the full precision). None if it does not fit a `Decimal` (over ~7.9·10²⁶ cents,
    /// far beyond any real round).
    pub fn to_decimal(&self) -> Option<Decimal> {
        let hundredths = self.hundredths();
        if hundredths.hi != 0 {
            return None;
        }
        let n = i128::try_from(hundredths.lo).ok()?;
        Decimal::try_from_i128_with_scale(n, 2).ok()
    }

    /// ⌊weight / 10⁻² cent + ½⌋.
    fn hundredths(&self) -> U256 {
        const UNIT: u128 = WEIGHT_ONE / 100;
        self.0
            .saturating_add(U256::from_u128(UNIT / 2))
            .div_rem(UNIT)
            .0
    }
}

/// Cents with two decimals, rounded half-up: "1200.00".
impl fmt::Display for Weight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.hundredths().to_decimal_string();
        let digits = format!("{digits:0>3}");
        let (whole, frac) = digits.split_at(digits.len() - 2);
        write!(f, "{whole}.{frac}")
    }
}

/// One campaign's result, with what it was decided from (so a person can check it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Share<K> {
    pub campaign_id: K,
    pub weight: Weight,
    /// Σ√cᵢ over the counted donors, in units of 10⁻¹⁸ √cent ([`SQRT_ONE`] = one √cent), each
    /// root floored (saturates at `u128::MAX`, beyond 2³⁷ donors).
    pub sum_sqrt: u128,
    /// Σcᵢ over the counted donors, in cents (saturates at `i64::MAX`).
    pub contributions_counted: i64,
    pub donors_counted: usize,
    /// The proportional share before any cap, floored to the cent.
    pub uncapped: i64,
    /// What the campaign receives.
    pub amount: i64,
    /// The share was cut to the cap (its excess went to the other campaigns, or stayed in the fund).
    pub capped: bool,
}

impl<K> Share<K> {
    /// The weight in cents with two decimals, rounded half-up: "1200.00".
    pub fn weight_display(&self) -> String {
        self.weight.to_string()
    }
}

/// Shares `pool` (cents) among `campaigns` by quadratic weight; same order as the input.
///
/// `cap` is the most any one campaign receives (a negative cap counts as 0). The amounts add up
/// to `pool`, except when every campaign with a positive weight is capped or none has a positive
/// weight: the rest then stays in the fund. A non-positive pool gives every campaign 0.
/// Campaign ids are expected to be distinct (they break ties; equal ids fall back to input order).
pub fn distribute<K: Clone + Ord>(
    pool: i64,
    min_contribution: i64,
    cap: Option<i64>,
    campaigns: &[Contributions<K>],
) -> Vec<Share<K>> {
    let tallies: Vec<Tally> = campaigns
        .iter()
        .map(|c| Tally::of(&c.by_donor, min_contribution))
        .collect();
    let weights: Vec<U256> = tallies.iter().map(Tally::weight).collect();
    let pool_u = u128::try_from(pool).unwrap_or(0);
    let plan = split(pool_u, cap, &weights, |a, b| {
        campaigns[a]
            .campaign_id
            .cmp(&campaigns[b].campaign_id)
            .then(a.cmp(&b))
    });
    campaigns
        .iter()
        .zip(tallies)
        .zip(weights)
        .zip(plan)
        .map(|(((c, t), w), p)| Share {
            campaign_id: c.campaign_id.clone(),
            weight: Weight(w),
            sum_sqrt: t.sum_sqrt,
            contributions_counted: t.counted,
            donors_counted: t.donors,
            uncapped: to_cents(p.uncapped),
            amount: to_cents(p.amount),
            capped: p.capped,
        })
        .collect()
}

/// Amounts never exceed the pool, itself an `i64`.
fn to_cents(x: u128) -> i64 {
    i64::try_from(x).unwrap_or(i64::MAX)
}

/// The counted donors of one campaign.
struct Tally {
    sum_sqrt: u128,
    /// Σcᵢ in weight units (cents · 10³⁶).
    sum_scaled: U256,
    counted: i64,
    donors: usize,
}

impl Tally {
    fn of(by_donor: &[i64], min_contribution: i64) -> Tally {
        let mut t = Tally {
            sum_sqrt: 0,
            sum_scaled: U256::ZERO,
            counted: 0,
            donors: 0,
        };
        for &c in by_donor {
            if c <= 0 || c < min_contribution {
                continue;
            }
            let c = c.unsigned_abs();
            t.sum_sqrt = t.sum_sqrt.saturating_add(sqrt_fixed(c));
            t.sum_scaled = t
                .sum_scaled
                .saturating_add(U256::mul_wide(u128::from(c), WEIGHT_ONE));
            t.counted = t.counted.saturating_add_unsigned(c);
            t.donors += 1;
        }
        t
    }

    /// (Σ√cᵢ)² − Σcᵢ, clamped at 0 (the floored roots make a lone donor's difference ≤ 0).
    fn weight(&self) -> U256 {
        U256::mul_wide(self.sum_sqrt, self.sum_sqrt).saturating_sub(self.sum_scaled)
    }
}

/// ⌊√c · 10¹⁸⌋ = ⌊√(c · 10³⁶)⌋, exactly. c · 10³⁶ needs up to 183 bits, so a 128-bit root at
/// 10⁹ gives the bracket and a binary search on 256-bit squares the last nine digits.
fn sqrt_fixed(c: u64) -> u128 {
    const HALF: u128 = 10u128.pow(SQRT_DIGITS / 2);
    let c = u128::from(c);
    let target = U256::mul_wide(c, WEIGHT_ONE);
    // c < 2⁶⁴ and 10¹⁸ < 2⁶⁰: the product fits. a = ⌊√c · 10⁹⌋, so the answer is in
    // [a · 10⁹, (a + 1) · 10⁹).
    let a = (c * SQRT_ONE).isqrt();
    let mut lo = a * HALF;
    let mut hi = lo + HALF - 1;
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if U256::mul_wide(mid, mid) <= target {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}

/// One campaign's part of the plan, in cents.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Planned {
    uncapped: u128,
    amount: u128,
    capped: bool,
}

/// The weights brought to 128 bits for the split: all shifted right by the same number of bits,
/// just enough that pool × Σ weights < 2¹²⁷. Equal weights stay equal, zero stays zero, and a
/// weight of at least 2·10³⁶ (two one-cent donors) stays positive up to 2²⁰³ in total.
fn split_weights(pool: u128, weights: &[U256]) -> Vec<u128> {
    let total = weights
        .iter()
        .fold(U256::ZERO, |acc, w| acc.saturating_add(*w));
    let room = 127 - (128 - pool.leading_zeros());
    let shift = total.bits().saturating_sub(room);
    // Every weight ≤ total < 2^(room + shift), so the shifted value fits in `room` bits.
    weights.iter().map(|w| w.shr(shift).lo).collect()
}

/// Shares `pool` by `weights` under `cap`; `tie` orders campaigns whose remainders are equal.
/// All products are below 2¹²⁷: pool × Σ weights is by [`split_weights`], and the cap is
/// clamped to the pool (a larger cap binds no one).
fn split(
    pool: u128,
    cap: Option<i64>,
    weights: &[U256],
    tie: impl Fn(usize, usize) -> Ordering,
) -> Vec<Planned> {
    let mut plan = vec![Planned::default(); weights.len()];
    if pool == 0 {
        return plan;
    }
    let w = split_weights(pool, weights);
    let total: u128 = w.iter().sum();
    if total == 0 {
        return plan;
    }
    for (p, &wi) in plan.iter_mut().zip(&w) {
        p.uncapped = pool * wi / total;
    }
    let cap = cap.map(|c| u128::try_from(c).unwrap_or(0).min(pool));

    // Water-filling: cut every share over the cap at once and share the rest again. Those cut
    // stay cut: the rest per unit of weight only grows, since each cap was below its share.
    let mut active: Vec<usize> = (0..w.len()).filter(|&i| w[i] > 0).collect();
    let mut remaining = pool;
    let mut active_total = total;
    if let Some(cap) = cap {
        loop {
            let (over, under): (Vec<usize>, Vec<usize>) = active
                .iter()
                .partition(|&&i| remaining * w[i] > cap * active_total);
            if over.is_empty() {
                break;
            }
            for &i in &over {
                plan[i].amount = cap;
                plan[i].capped = true;
                remaining -= cap;
                active_total -= w[i];
            }
            active = under;
        }
    }
    if active.is_empty() || active_total == 0 {
        // Every positive weight is capped: what is left stays in the fund.
        return plan;
    }

    // Floor, then largest remainder. The leftover is the sum of the fractions, so it is smaller
    // than the number of campaigns with a non-zero fraction: a cent only goes to a share below
    // its exact value, which is at most the cap, so never over it.
    let mut rema: Vec<(usize, u128)> = Vec::with_capacity(active.len());
    let mut given = 0u128;
    for &i in &active {
        let x = remaining * w[i];
        plan[i].amount = x / active_total;
        given += plan[i].amount;
        rema.push((i, x % active_total));
    }
    rema.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| tie(a.0, b.0)));
    let leftover = usize::try_from(remaining - given).unwrap_or(usize::MAX);
    for &(i, _) in rema.iter().take(leftover) {
        plan[i].amount += 1;
    }
    plan
}

/// A 256-bit unsigned integer, just what the weights need. Field order makes the derived `Ord`
/// numeric.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct U256 {
    hi: u128,
    lo: u128,
}

impl U256 {
    const ZERO: U256 = U256 { hi: 0, lo: 0 };
    const MAX: U256 = U256 {
        hi: u128::MAX,
        lo: u128::MAX,
    };

    const fn from_u128(lo: u128) -> U256 {
        U256 { hi: 0, lo }
    }

    /// a × b, which always fits.
    fn mul_wide(a: u128, b: u128) -> U256 {
        const M: u128 = u64::MAX as u128;
        let (a1, a0) = (a >> 64, a & M);
        let (b1, b0) = (b >> 64, b & M);
        let ll = a0 * b0;
        let hl = a1 * b0;
        let lh = a0 * b1;
        let hh = a1 * b1;
        // < 2⁶⁴ + 2⁶⁴ + (2⁶⁴ − 1)²: fits.
        let cross = (ll >> 64) + (hl & M) + lh;
        U256 {
            hi: hh + (hl >> 64) + (cross >> 64),
            lo: (cross << 64) | (ll & M),
        }
    }

    fn saturating_add(self, o: U256) -> U256 {
        let (lo, carry) = self.lo.overflowing_add(o.lo);
        match self
            .hi
            .checked_add(o.hi)
            .and_then(|h| h.checked_add(u128::from(carry)))
        {
            Some(hi) => U256 { hi, lo },
            None => U256::MAX,
        }
    }

    fn saturating_sub(self, o: U256) -> U256 {
        if self <= o {
            return U256::ZERO;
        }
        let (lo, borrow) = self.lo.overflowing_sub(o.lo);
        U256 {
            hi: self.hi - o.hi - u128::from(borrow),
            lo,
        }
    }

    /// Significant bits (0 for zero).
    fn bits(self) -> u32 {
        if self.hi != 0 {
            256 - self.hi.leading_zeros()
        } else {
            128 - self.lo.leading_zeros()
        }
    }

    fn shr(self, n: u32) -> U256 {
        match n {
            0 => self,
            1..128 => U256 {
                hi: self.hi >> n,
                lo: (self.lo >> n) | (self.hi << (128 - n)),
            },
            128..256 => U256::from_u128(self.hi >> (n - 128)),
            _ => U256::ZERO,
        }
    }

    /// (self ÷ d, self mod d) by long division, one bit at a time; d must not be 0.
    fn div_rem(self, d: u128) -> (U256, u128) {
        debug_assert!(d != 0);
        let mut q = U256::ZERO;
        let mut r = 0u128;
        for i in (0..256u32).rev() {
            let bit = if i >= 128 {
                (self.hi >> (i - 128)) & 1
            } else {
                (self.lo >> i) & 1
            };
            // r < d before the shift; if its top bit was set, 2r + bit ≥ 2¹²⁸ > d and the
            // wrapping subtraction gives the true (smaller than d) difference.
            let carried = r >> 127 == 1;
            r = (r << 1) | bit;
            if carried || r >= d {
                r = r.wrapping_sub(d);
                if i >= 128 {
                    q.hi |= 1 << (i - 128);
                } else {
                    q.lo |= 1 << i;
                }
            }
        }
        (q, r)
    }

    fn to_decimal_string(self) -> String {
        const CHUNK: u128 = 10u128.pow(19);
        let mut chunks = Vec::new();
        let mut x = self;
        loop {
            let (q, r) = x.div_rem(CHUNK);
            chunks.push(r);
            x = q;
            if x == U256::ZERO {
                break;
            }
        }
        let mut out = String::new();
        for (n, c) in chunks.iter().rev().enumerate() {
            if n == 0 {
                out.push_str(&c.to_string());
            } else {
                out.push_str(&format!("{c:019}"));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn c(id: &str, by_donor: &[i64]) -> Contributions<String> {
        Contributions {
            campaign_id: id.to_string(),
            by_donor: by_donor.to_vec(),
        }
    }

    fn amounts(out: &[Share<String>]) -> Vec<i64> {
        out.iter().map(|s| s.amount).collect()
    }

    #[test]
    fn round_1_many_small_donors_weigh_more() {
        // Pool €100.00 = 10_000 cents, no cap, no minimum.
        // A: four donors of €1.00 → (10 + 10 + 10 + 10)² − 400 = 1_600 − 400 = 1_200
        // B: one donor of €4.00  → 20² − 400 = 0 (a lone donor is never matched)
        // C: €1.00 and €4.00     → (10 + 20)² − 500 = 900 − 500 = 400
        // Σ = 1_600: A = 10_000 · 1_200 / 1_600 = 7_500, B = 0, C = 10_000 · 400 / 1_600 = 2_500.
        let out = distribute(
            10_000,
            0,
            None,
            &[
                c("a", &[100, 100, 100, 100]),
                c("b", &[400]),
                c("c", &[100, 400]),
            ],
        );
        assert_eq!(amounts(&out), [7_500, 0, 2_500]);
        assert_eq!(
            out.iter().map(|s| s.uncapped).collect::<Vec<_>>(),
            [7_500, 0, 2_500]
        );
        let shown: Vec<String> = out.iter().map(Share::weight_display).collect();
        assert_eq!(shown, ["1200.00", "0.00", "400.00"]);
        assert_eq!(out[0].weight.to_decimal(), Some(Decimal::new(120_000, 2)));
        assert!(out[1].weight.is_zero());
        assert_eq!(
            out.iter().map(|s| s.sum_sqrt).collect::<Vec<_>>(),
            [40 * SQRT_ONE, 20 * SQRT_ONE, 30 * SQRT_ONE]
        );
        assert_eq!(
            out.iter()
                .map(|s| s.contributions_counted)
                .collect::<Vec<_>>(),
            [400, 400, 500]
        );
        assert_eq!(
            out.iter().map(|s| s.donors_counted).collect::<Vec<_>>(),
            [4, 1, 2]
        );
        assert!(out.iter().all(|s| !s.capped));
        assert_eq!(out[2].campaign_id, "c");
    }

    #[test]
    fn round_2_the_excess_over_the_cap_flows_to_the_others() {
        // Pool 10_000, cap 5_000.
        // A: four donors of 100 → 1_200;  C: 100 and 400 → 400;  D: two of 100 → 20² − 200 = 200.
        // Σ = 1_800. Before the cap: A = 12_000_000 / 1_800 = 6_666.67 → 6_666,
        // C = 4_000_000 / 1_800 = 2_222.2 → 2_222, D = 2_000_000 / 1_800 = 1_111.1 → 1_111.
        // A is over 5_000: it gets 5_000, and 5_000 is shared by C and D (Σ = 600):
        // C = 5_000 · 400 / 600 = 2_000_000 / 600 = 3_333 rest 200,
        // D = 5_000 · 200 / 600 = 1_000_000 / 600 = 1_666 rest 400.
        // 3_333 + 1_666 = 4_999: the last cent goes to the largest remainder, D (400 > 200).
        let out = distribute(
            10_000,
            0,
            Some(5_000),
            &[
                c("a", &[100, 100, 100, 100]),
                c("c", &[100, 400]),
                c("d", &[100, 100]),
            ],
        );
        assert_eq!(amounts(&out), [5_000, 3_333, 1_667]);
        assert_eq!(
            out.iter().map(|s| s.uncapped).collect::<Vec<_>>(),
            [6_666, 2_222, 1_111]
        );
        assert_eq!(
            out.iter().map(|s| s.capped).collect::<Vec<_>>(),
            [true, false, false]
        );
        assert_eq!(out[2].weight_display(), "200.00");
    }

    #[test]
    fn round_3_minimum_and_a_tie_for_the_last_cent() {
        // Pool 10_000, minimum 100 cents.
        // G: 100, 100, 0, −30 → the 0 and the −30 are ignored: 20² − 200 = 200
        // F: 100, 100         → 200
        // E: 100, 100, 50     → 50 is under the minimum: 200
        // H: 99, 99, 99       → nobody counted: 0
        // Σ = 600: each of E, F, G gets 2_000_000 / 600 = 3_333 rest 200; 3 · 3_333 = 9_999.
        // The last cent: equal remainders, so the lowest id, "e" (though it comes last but one).
        let out = distribute(
            10_000,
            100,
            None,
            &[
                c("g", &[100, 100, 0, -30]),
                c("f", &[100, 100]),
                c("e", &[100, 100, 50]),
                c("h", &[99, 99, 99]),
            ],
        );
        assert_eq!(amounts(&out), [3_333, 3_333, 3_334, 0]);
        assert_eq!(
            out.iter().map(|s| s.donors_counted).collect::<Vec<_>>(),
            [2, 2, 2, 0]
        );
        assert_eq!(
            out.iter()
                .map(|s| s.contributions_counted)
                .collect::<Vec<_>>(),
            [200, 200, 200, 0]
        );
        assert!(out[3].weight.is_zero());
        assert_eq!(out[3].sum_sqrt, 0);
    }

    #[test]
    fn round_4_all_capped_the_rest_stays_in_the_fund() {
        // Pool 10_000, cap 3_000. A: 1_200, B: 0 (lone donor), C: 400 (as in round 1).
        // First pass (Σ = 1_600): A = 7_500 > 3_000 → 3_000; C = 2_500 is under the cap.
        // Second pass: 7_000 left for C alone → 7_000 > 3_000 → 3_000.
        // Nobody is left to take the remaining 10_000 − 6_000 = 4_000: it stays in the fund.
        let out = distribute(
            10_000,
            0,
            Some(3_000),
            &[
                c("a", &[100, 100, 100, 100]),
                c("b", &[400]),
                c("c", &[100, 400]),
            ],
        );
        assert_eq!(amounts(&out), [3_000, 0, 3_000]);
        assert_eq!(
            out.iter().map(|s| s.uncapped).collect::<Vec<_>>(),
            [7_500, 0, 2_500]
        );
        assert_eq!(
            out.iter().map(|s| s.capped).collect::<Vec<_>>(),
            [true, false, true]
        );
    }

    #[test]
    fn non_square_contributions() {
        // One donor of 2: √2 floored, squared, is below 2, so the weight clamps to exactly 0.
        // 1 and 2: 2·√2 = 2.8284… → "2.83". 2 and 2: (2√2)² − 4 = 4, computed a hair below
        // (10⁻³⁶-cent units) and rounded back to "4.00". 1 and 4: (1 + 2)² − 5 = 4, exact.
        let out = distribute(
            1_000,
            0,
            None,
            &[
                c("x", &[2]),
                c("y", &[1, 2]),
                c("z", &[2, 2]),
                c("w", &[1, 4]),
            ],
        );
        assert!(out[0].weight.is_zero());
        assert_eq!(out[1].weight_display(), "2.83");
        assert_eq!(out[1].weight.to_decimal(), Some(Decimal::new(283, 2)));
        assert_eq!(out[2].weight_display(), "4.00");
        assert!(out[2].weight < out[3].weight);
        assert_eq!(out[3].weight_display(), "4.00");
        // √2 to 18 decimals: 1.414213562373095048…
        assert_eq!(out[0].sum_sqrt, 1_414_213_562_373_095_048);
        assert_eq!(out.iter().map(|s| s.amount).sum::<i64>(), 1_000);
    }

    #[test]
    fn nothing_to_share() {
        let cs = [c("a", &[100, 100]), c("b", &[400])];
        assert_eq!(amounts(&distribute(0, 0, None, &cs)), [0, 0]);
        assert_eq!(amounts(&distribute(-5, 0, None, &cs)), [0, 0]);
        // Only lone donors: all weights 0, every share 0, the pool stays in the fund.
        assert_eq!(
            amounts(&distribute(10_000, 0, None, &[c("a", &[100]), c("b", &[])])),
            [0, 0]
        );
        // A cap of 0 (or below) holds everything back.
        let out = distribute(10_000, 0, Some(-1), &cs);
        assert_eq!(amounts(&out), [0, 0]);
        assert!(out[0].capped && !out[1].capped);
        assert!(distribute::<String>(10_000, 0, None, &[]).is_empty());
    }

    #[test]
    fn documented_limits_do_not_overflow() {
        // Pool 10¹³, contributions 10¹¹, 100_000 donors: no panic, and the pool is spent.
        let big = vec![100_000_000_000i64; 100_000];
        let out = distribute(
            10_000_000_000_000,
            1,
            Some(6_000_000_000_000),
            &[c("a", &big), c("b", &big[..50_000]), c("c", &[i64::MAX; 3])],
        );
        assert_eq!(
            out.iter().map(|s| s.amount).sum::<i64>(),
            10_000_000_000_000
        );
        assert!(out[0].capped);
        assert_eq!(out[0].amount, 6_000_000_000_000);
        // a: n²·c − n·c = 10¹⁰·10¹¹ − 10¹⁶ cents (√10¹¹ is irrational: computed a fraction of a
        // hundredth of a cent below, which the half-up display absorbs).
        assert_eq!(out[0].weight_display(), "999990000000000000000.00");
        assert_eq!(out[0].contributions_counted, 10_000_000_000_000_000);
        assert_eq!(out[2].contributions_counted, i64::MAX);
        // Far beyond: the largest pool and contributions still do not overflow.
        let out = distribute(
            i64::MAX,
            0,
            Some(i64::MAX),
            &[c("a", &[i64::MAX; 1_000]), c("b", &[1, 1])],
        );
        assert_eq!(out.iter().map(|s| s.amount).sum::<i64>(), i64::MAX);
    }

    #[test]
    fn u256_arithmetic() {
        let m = U256::mul_wide(u128::MAX, u128::MAX);
        assert_eq!(
            m,
            U256 {
                hi: u128::MAX - 1,
                lo: 1
            }
        );
        assert_eq!(U256::mul_wide(1 << 64, 1 << 64), U256 { hi: 1, lo: 0 });
        assert_eq!(m.bits(), 256);
        assert_eq!(m.shr(128), U256::from_u128(u128::MAX - 1));
        assert_eq!(m.saturating_add(m), U256::MAX);
        assert_eq!(U256::from_u128(3).saturating_sub(m), U256::ZERO);
        assert_eq!(U256::MAX.div_rem(u128::MAX), (U256 { hi: 1, lo: 1 }, 0));
        assert_eq!(
            U256::MAX.to_decimal_string(),
            "115792089237316195423570985008687907853269984665640564039457584007913129639935"
        );
        assert_eq!(U256::ZERO.to_decimal_string(), "0");
    }

    fn donor() -> impl Strategy<Value = i64> {
        prop_oneof![
            3 => 1i64..10_000,
            2 => Just(100i64),
            1 => Just(400i64),
            1 => 1i64..100_000_000_000,
            1 => -100i64..=0,
        ]
    }

    fn campaigns() -> impl Strategy<Value = Vec<Contributions<String>>> {
        prop::collection::vec(prop::collection::vec(donor(), 0..8), 1..7).prop_map(|cs| {
            cs.into_iter()
                .enumerate()
                .map(|(i, by_donor)| Contributions {
                    campaign_id: format!("c{i:02}"),
                    by_donor,
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn sqrt_fixed_is_the_floor(x in 1u64..=u64::MAX) {
            let s = sqrt_fixed(x);
            let target = U256::mul_wide(u128::from(x), WEIGHT_ONE);
            prop_assert!(U256::mul_wide(s, s) <= target);
            prop_assert!(U256::mul_wide(s + 1, s + 1) > target);
        }

        #[test]
        fn the_pool_is_spent_unless_every_share_is_capped(
            cs in campaigns(), pool in 0i64..100_000_000, min in 0i64..1_000,
            cap in proptest::option::of(0i64..50_000_000),
        ) {
            let out = distribute(pool, min, cap, &cs);
            let total: i64 = out.iter().map(|s| s.amount).sum();
            prop_assert!(total <= pool);
            let positive = out.iter().filter(|s| !s.weight.is_zero()).count() as i64;
            let cap_room = cap.is_none_or(|c| c * positive >= pool);
            if positive > 0 && cap_room {
                prop_assert_eq!(total, pool);
            }
            if total < pool && positive > 0 {
                prop_assert!(out.iter().all(|s| s.weight.is_zero() || s.capped));
            }
        }

        #[test]
        fn shares_stay_within_zero_and_the_cap(
            cs in campaigns(), pool in 0i64..100_000_000, min in 0i64..1_000,
            cap in proptest::option::of(0i64..50_000_000),
        ) {
            for s in distribute(pool, min, cap, &cs) {
                prop_assert!(s.amount >= 0);
                prop_assert!(s.uncapped >= 0 && s.uncapped <= pool.max(0));
                if let Some(c) = cap { prop_assert!(s.amount <= c); }
                if s.weight.is_zero() { prop_assert_eq!(s.amount, 0); }
                if s.capped { prop_assert_eq!(Some(s.amount), cap); }
            }
        }

        #[test]
        fn a_new_donor_never_lowers_a_campaign(
            cs in campaigns(), pick in any::<prop::sample::Index>(), extra in donor(),
            pool in 1i64..100_000_000, min in 0i64..1_000,
        ) {
            // Counted: positive and at least the minimum.
            let extra = extra.max(min).max(1);
            let i = pick.index(cs.len());
            let mut more = cs.clone();
            more[i].by_donor.push(extra);
            let before = distribute(pool, min, None, &cs);
            let after = distribute(pool, min, None, &more);
            prop_assert!(after[i].weight >= before[i].weight);
            prop_assert!(after[i].uncapped >= before[i].uncapped);
            prop_assert!(after[i].amount + 1 >= before[i].amount);
            prop_assert_eq!(after[i].donors_counted, before[i].donors_counted + 1);
        }

        #[test]
        fn the_order_of_campaigns_does_not_matter(
            (cs, shuffled) in campaigns().prop_flat_map(|cs| (Just(cs.clone()), Just(cs).prop_shuffle())),
            pool in 0i64..100_000_000, min in 0i64..1_000,
            cap in proptest::option::of(0i64..50_000_000),
        ) {
            let by_id = |v: Vec<Share<String>>| -> BTreeMap<String, Share<String>> {
                v.into_iter().map(|s| (s.campaign_id.clone(), s)).collect()
            };
            let a = distribute(pool, min, cap, &cs);
            let b = distribute(pool, min, cap, &shuffled);
            for (s, input) in b.iter().zip(&shuffled) {
                prop_assert_eq!(&s.campaign_id, &input.campaign_id);
            }
            prop_assert_eq!(by_id(a), by_id(b));
        }
    }
}
