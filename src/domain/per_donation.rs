//! The `per_donation` policy (Big Give, ioby): every donation is matched at `match_ratio` up to
//! `max_match_per_donation` and what the campaign may still receive under
//! `max_match_per_campaign`, held when the pledge is created so the donor is told what the gift
//! becomes. Pure: how much to hold. The service never promises money it cannot keep: when the
//! funders cannot cover the whole match, what they can cover is held (down to nothing).

use super::money::{Ratio, apply_ratio};
use super::stored::stored_enum;

stored_enum! {
    /// Where a pledge's held match stands.
    pub enum HoldStatus: "hold status" {
        /// Promised while the donor pays; lapses at `expires_at`.
        Held = "held",
        /// The donation was paid: part of the campaign's reserved match.
        Reserved = "reserved",
        /// Given back (payment failed or expired, hold lapsed, donation refunded).
        Released = "released",
    }
}

/// Everything a hold is decided from (recorded with the decision).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HoldInputs {
    /// The pledge's amount.
    pub amount: i64,
    pub match_ratio: Ratio,
    pub max_match_per_donation: Option<i64>,
    pub max_match_per_campaign: Option<i64>,
    /// What the campaign already has held, reserved, committed or settled.
    pub campaign_matched: i64,
}

impl HoldInputs {
    /// The match the donation would get with an unlimited budget.
    pub fn wanted(&self) -> i64 {
        let mut want = apply_ratio(self.amount, self.match_ratio.value()).max(0);
        if let Some(cap) = self.max_match_per_donation {
            want = want.min(cap);
        }
        if let Some(cap) = self.max_match_per_campaign {
            want = want.min((cap - self.campaign_matched).max(0));
        }
        want
    }
}

/// Why a pledge's match was cut by the hoarding caps (`reason` in the pledge's `match`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoldLimit {
    /// The partner's unpaid pledges already hold its share of the fund's budget.
    Partner,
    /// The donor already has a live hold on this campaign.
    Donor,
}

impl HoldLimit {
    pub fn as_str(self) -> &'static str {
        match self {
            HoldLimit::Partner => "partner_hold_limit",
            HoldLimit::Donor => "donor_hold_limit",
        }
    }
}

/// The caps that keep holds from being hoarded: what one partner's unpaid pledges may hold of a
/// fund's budget at once, and whether one donor may hold only once per campaign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HoldCaps {
    /// `COFUND_PARTNER_HOLD_SHARE`; None: no partner cap.
    pub partner_share: Option<Ratio>,
    pub one_per_donor: bool,
}

impl HoldCaps {
    /// What one partner may hold at once of a fund whose funders' budgets sum to `budget`:
    /// the share, floored to the cent (never more than the share).
    pub fn partner_cap(&self, budget: i64) -> i64 {
        match self.partner_share {
            None => i64::MAX,
            Some(share) => {
                let cap = (rust_decimal::Decimal::from(budget.max(0)) * share.value()).floor();
                i64::try_from(cap).unwrap_or(i64::MAX)
            }
        }
    }

    /// The match to hold once the caps apply to `want`, given what the partner's unpaid
    /// pledges already hold in the fund and whether the donor has a live hold on the campaign;
    /// with the cap that cut it, if one did.
    pub fn apply(
        &self,
        want: i64,
        budget: i64,
        partner_held: i64,
        donor_has_hold: bool,
    ) -> (i64, Option<HoldLimit>) {
        let want = want.max(0);
        if want == 0 {
            return (0, None);
        }
        if self.one_per_donor && donor_has_hold {
            return (0, Some(HoldLimit::Donor));
        }
        if self.partner_share.is_none() {
            return (want, None);
        }
        let room = self
            .partner_cap(budget)
            .saturating_sub(partner_held.max(0))
            .max(0);
        if want > room {
            (room, Some(HoldLimit::Partner))
        } else {
            (want, None)
        }
    }
}

/// The amount to hold, given what the funders can cover of what is wanted
/// (`funding::coverable` of [`HoldInputs::wanted`]).
pub fn hold(inputs: &HoldInputs, coverable: i64) -> i64 {
    inputs.wanted().min(coverable.max(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn caps(share: &str) -> HoldCaps {
        HoldCaps {
            partner_share: Some(Ratio::parse(share).unwrap()),
            one_per_donor: true,
        }
    }

    #[test]
    fn a_partner_holds_at_most_its_share_and_a_donor_once() {
        let c = caps("0.2");
        // 1,000.00 budget: 200.00 per partner.
        assert_eq!(c.apply(10_000, 100_000, 0, false), (10_000, None));
        assert_eq!(c.apply(10_000, 100_000, 10_000, false), (10_000, None));
        assert_eq!(
            c.apply(10_000, 100_000, 20_000, false),
            (0, Some(HoldLimit::Partner))
        );
        assert_eq!(
            c.apply(10_000, 100_000, 15_000, false),
            (5_000, Some(HoldLimit::Partner))
        );
        assert_eq!(
            c.apply(10_000, 100_000, 0, true),
            (0, Some(HoldLimit::Donor))
        );
        // Nothing wanted: no cap to speak of.
        assert_eq!(c.apply(0, 100_000, 20_000, true), (0, None));
        // The cap is floored: a third of 1.00 is 0.33.
        assert_eq!(caps("0.333333").partner_cap(100), 33);
        let none = HoldCaps {
            partner_share: None,
            one_per_donor: false,
        };
        assert_eq!(none.apply(10_000, 0, i64::MAX, true), (10_000, None));
    }

    proptest! {
        #[test]
        fn capped_holds_never_pass_the_cap(
            want in 0i64..1_000_000_000,
            budget in 0i64..1_000_000_000_000,
            held in 0i64..1_000_000_000_000,
            n in 1u32..=1_000_000,
            donor in any::<bool>(),
        ) {
            let share = Ratio::parse(&format!("{}.{:06}", n / 1_000_000, n % 1_000_000)).unwrap();
            let c = HoldCaps { partner_share: Some(share), one_per_donor: true };
            let (amount, why) = c.apply(want, budget, held, donor);
            prop_assert!(amount >= 0 && amount <= want);
            prop_assert_eq!(why.is_none(), amount == want);
            if amount > 0 {
                prop_assert!(held + amount <= c.partner_cap(budget));
                prop_assert!(!donor);
            }
        }
    }

    fn inputs(
        amount: i64,
        ratio: &str,
        per_donation: Option<i64>,
        per_campaign: Option<i64>,
        matched: i64,
    ) -> HoldInputs {
        HoldInputs {
            amount,
            match_ratio: Ratio::parse(ratio).unwrap(),
            max_match_per_donation: per_donation,
            max_match_per_campaign: per_campaign,
            campaign_matched: matched,
        }
    }

    #[test]
    fn one_to_one_within_the_caps_and_the_budget() {
        // €50 one to one: €50.
        assert_eq!(hold(&inputs(5_000, "1", None, None, 0), i64::MAX), 5_000);
        // Capped at €25 a donation.
        assert_eq!(
            hold(&inputs(5_000, "1", Some(2_500), None, 0), i64::MAX),
            2_500
        );
        // The campaign has €990 of its €1,000 cap: €10 left.
        assert_eq!(
            hold(&inputs(5_000, "1", None, Some(100_000), 99_000), i64::MAX),
            1_000
        );
        // The funders have €12.34 left.
        assert_eq!(hold(&inputs(5_000, "1", None, None, 0), 1_234), 1_234);
        // Spent: the pledge is still accepted, with no match.
        assert_eq!(hold(&inputs(5_000, "1", None, None, 0), 0), 0);
        // Half match, half-up: €0.03 × 0.5 = 0.015 → €0.02.
        assert_eq!(hold(&inputs(3, "0.5", None, None, 0), i64::MAX), 2);
    }

    proptest! {
        #[test]
        fn a_hold_never_exceeds_any_limit(
            amount in 1i64..10_000_000, m in 1u32..=1000, per_donation in proptest::option::of(1i64..1_000_000),
            per_campaign in proptest::option::of(1i64..10_000_000), matched in 0i64..10_000_000, coverable in 0i64..10_000_000
        ) {
            let ratio = Ratio::parse(&(rust_decimal::Decimal::from(m) / rust_decimal::Decimal::from(1000)).normalize().to_string()).unwrap();
            let i = HoldInputs { amount, match_ratio: ratio, max_match_per_donation: per_donation, max_match_per_campaign: per_campaign, campaign_matched: matched };
            let h = hold(&i, coverable);
            prop_assert!(h >= 0 && h <= coverable && h <= amount);
            if let Some(c) = per_donation { prop_assert!(h <= c); }
            if let Some(c) = per_campaign { prop_assert!(matched + h <= c.max(matched)); }
        }
    }
}
