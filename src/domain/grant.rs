//! Grants: what the city owes an association once a match is committed, and what it pays, keeps
//! back or asks back as the association reports its spending. Pure: the stored states, the
//! contribution due, and the one planning function every decision goes through ([`plan`]): from
//! a grant's facts and each funder's position, the complete plan — what each funder releases to
//! its budget, what of its paid money becomes recoverable, and the one tranche it may pay now.

use super::stored::stored_enum;
use serde::{Deserialize, Serialize};

/// The prefix of grant ids; a grant's id is its campaign's with this prefix (one per campaign).
pub const GRANT: &str = "grt";

/// The grant id of a campaign: `grt_` and the campaign id's body.
pub fn grant_id_of(campaign_id: &str) -> String {
    let body = campaign_id
        .split_once('_')
        .map(|(_, b)| b)
        .unwrap_or(campaign_id);
    format!("{GRANT}_{body}")
}

stored_enum! {
    /// When a fund's award is paid (`payment_plan`).
    #[derive(Serialize, Deserialize, utoipa::ToSchema, Default)]
    #[serde(rename_all = "snake_case")]
    pub enum PaymentPlan: "payment plan" {
        /// The whole award is payable when the match is committed.
        #[default]
        OnCommitment = "on_commitment",
        /// An advance (`advance_ratio` of the award) at commitment, the balance once the final
        /// report is approved.
        Tranches = "tranches",
    }
}

stored_enum! {
    /// A grant's state.
    #[derive(Serialize, Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum GrantStatus: "grant status" {
        /// Committed; the association reports its spending.
        Open = "open",
        /// The final report is submitted; no more expenses.
        Reported = "reported",
        /// Finance approved the report: the contribution due is fixed.
        Approved = "approved",
        /// Everything due is paid and nothing is owed back.
        Closed = "closed",
        /// The report was not submitted in time (nothing is revoked by this alone).
        Overdue = "overdue",
        /// Money left the campaign after the decision: nothing is payable until finance decides.
        UnderReview = "under_review",
        /// Revoked: nothing more is paid, everything paid is recoverable.
        Revoked = "revoked",
    }
}

stored_enum! {
    /// The award as the transparency register shows it.
    #[derive(Serialize, Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum AwardStatus: "award status" {
        Awarded = "awarded",
        Reduced = "reduced",
        Revoked = "revoked",
    }
}

stored_enum! {
    /// Which part of a grant a tranche pays.
    #[derive(Serialize, Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum TrancheKind: "tranche kind" {
        Advance = "advance",
        Balance = "balance",
        Full = "full",
    }
}

stored_enum! {
    /// A tranche: `payable` (in a batch once a draft batch takes it), `paid`, or `cancelled`
    /// (replaced by a later decision before any batch took it).
    pub enum TrancheStatus: "tranche status" {
        Payable = "payable",
        Paid = "paid",
        Cancelled = "cancelled",
    }
}

stored_enum! {
    /// An expense line of a report.
    #[derive(Serialize, Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum ExpenseStatus: "expense status" {
        Submitted = "submitted",
        Accepted = "accepted",
        Rejected = "rejected",
    }
}

stored_enum! {
    /// How an expense was paid (bank and card payments are traceable; cash is listed as such).
    #[derive(Serialize, Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum PaymentMethod: "payment method" {
        BankTransfer = "bank_transfer",
        Card = "card",
        Cash = "cash",
        Cheque = "cheque",
        Other = "other",
    }
}

impl GrantStatus {
    /// States in which the award may still be paid (tranches payable).
    pub fn pays(self) -> bool {
        matches!(
            self,
            GrantStatus::Open
                | GrantStatus::Reported
                | GrantStatus::Approved
                | GrantStatus::Overdue
        )
    }

    /// States in which expenses can be added and the report submitted.
    pub fn takes_reports(self) -> bool {
        matches!(self, GrantStatus::Open | GrantStatus::Overdue)
    }

    /// States in which reviewers may check expense lines.
    pub fn takes_checks(self) -> bool {
        matches!(
            self,
            GrantStatus::Open
                | GrantStatus::Overdue
                | GrantStatus::Reported
                | GrantStatus::UnderReview
        )
    }
}

/// The contribution due on approval: `min(award, award × accepted ÷ goal)`, half-up to the
/// minor unit, exactly (integers, no floats): the fund pays its share of the project's real
/// cost and never more than the award.
pub fn contribution_due(award: i64, accepted: i64, goal: i64) -> i64 {
    if award <= 0 || accepted <= 0 || goal <= 0 {
        return 0;
    }
    let (a, x, g) = (award as i128, accepted as i128, goal as i128);
    // half-up: floor((2·a·x + g) / (2·g)).
    let share = (2 * a * x + g) / (2 * g);
    share.min(a) as i64
}

/// `total` divided among `weights` in proportion, by the largest remainder (Hamilton): the
/// parts add up to `total`; ties in the remainder go to the earlier weight. All-zero weights
/// put everything on the first. `total` and the weights are non-negative.
pub fn split_largest_remainder(total: i64, weights: &[i64]) -> Vec<i64> {
    let sum: i128 = weights.iter().map(|w| (*w).max(0) as i128).sum();
    if weights.is_empty() {
        return Vec::new();
    }
    if sum == 0 {
        let mut out = vec![0; weights.len()];
        out[0] = total;
        return out;
    }
    let mut parts = Vec::with_capacity(weights.len());
    let mut rems = Vec::with_capacity(weights.len());
    let mut given: i128 = 0;
    for (i, w) in weights.iter().enumerate() {
        let exact = total as i128 * (*w).max(0) as i128;
        parts.push((exact / sum) as i64);
        rems.push((exact % sum, i));
        given += exact / sum;
    }
    let mut left = total as i128 - given;
    rems.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in rems {
        if left == 0 {
            break;
        }
        parts[i] += 1;
        left -= 1;
    }
    parts
}

/// `total` divided in proportion to `weights` (largest remainder), no part above its `cap`:
/// what a capped part cannot take goes to the others with room, in order. Returns None when
/// the caps together hold less than `total`.
pub fn split_capped(total: i64, weights: &[i64], caps: &[i64]) -> Option<Vec<i64>> {
    let room: i64 = caps.iter().map(|c| (*c).max(0)).sum();
    if total > room || total < 0 {
        return None;
    }
    let mut parts = split_largest_remainder(total, weights);
    let mut spill = 0;
    for (p, cap) in parts.iter_mut().zip(caps) {
        if *p > *cap {
            spill += *p - *cap;
            *p = *cap;
        }
    }
    for (p, cap) in parts.iter_mut().zip(caps) {
        let take = (cap - *p).min(spill);
        *p += take;
        spill -= take;
    }
    Some(parts)
}

/// A grant as a decision sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GrantFacts {
    pub plan: PaymentPlan,
    /// The state the grant is in once the decision is taken.
    pub status: GrantStatus,
    /// The award after reductions (0 once revoked).
    pub award_limit: i64,
    /// The contribution due, once the report is approved.
    pub due: Option<i64>,
}

/// One funder's position in a grant: what it awarded, its share of the advance, what it paid,
/// released, asked back and got back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Position {
    pub awarded: i64,
    pub advance: i64,
    pub paid: i64,
    pub released: i64,
    pub recoverable: i64,
    pub recovered: i64,
}

impl Position {
    /// Awarded and neither paid nor released: the funder's committed money for this grant.
    pub fn committed(&self) -> i64 {
        self.awarded - self.released - self.paid
    }
}

/// What one funder does under a decision: each amount ≥ 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PartPlan {
    /// Committed money given back to the funder's budget (committed → available).
    pub release: i64,
    /// Paid money the association now owes back (settled → recoverable).
    pub reclaim: i64,
    /// The one tranche payable now (any earlier payable tranche not in a batch is replaced).
    pub payable: Option<(TrancheKind, i64)>,
}

/// The plan of a decision over every funder of a grant (same order as `parts`): the grant's
/// ceiling (the contribution due once approved, else the award after reductions) divided
/// among the funders in proportion to what they awarded; what each has committed beyond its
/// share is released; what it paid beyond it is recoverable; what it may pay now is a tranche.
/// None when the positions cannot carry the decision (they do not, unless the books disagree).
pub fn plan(grant: &GrantFacts, parts: &[Position]) -> Option<Vec<PartPlan>> {
    let ceiling = match grant.status {
        GrantStatus::Revoked => 0,
        _ => grant
            .due
            .unwrap_or(grant.award_limit)
            .min(grant.award_limit),
    };
    let weights: Vec<i64> = parts.iter().map(|p| p.awarded).collect();
    // A funder's share can never exceed what it has not released: paid or still committed.
    let caps: Vec<i64> = parts.iter().map(|p| p.paid + p.committed()).collect();
    let targets = split_capped(ceiling.max(0), &weights, &caps)?;
    let mut out = Vec::with_capacity(parts.len());
    for (p, target) in parts.iter().zip(targets) {
        if p.committed() < 0 || p.recoverable < 0 || p.recovered < 0 {
            return None;
        }
        let keep = (target - p.paid).max(0);
        let release = p.committed() - keep;
        let owed = (p.paid - target).max(0);
        let reclaim = (owed - p.recoverable - p.recovered).max(0);
        let payable = if keep == 0 || !grant.status.pays() {
            None
        } else {
            match grant.plan {
                PaymentPlan::OnCommitment => Some((TrancheKind::Full, keep)),
                PaymentPlan::Tranches if grant.due.is_some() => Some((TrancheKind::Balance, keep)),
                PaymentPlan::Tranches => {
                    let advance_left = (p.advance - p.paid).max(0).min(keep);
                    (advance_left > 0).then_some((TrancheKind::Advance, advance_left))
                }
            }
        };
        out.push(PartPlan {
            release,
            reclaim,
            payable,
        });
    }
    Some(out)
}

/// Each funder's share of the advance: `awarded × advance_ratio` half-up, divided in
/// proportion to their awards.
pub fn advances(awarded: &[i64], advance_ratio: rust_decimal::Decimal) -> Vec<i64> {
    let total: i64 = awarded.iter().sum();
    let advance = super::money::apply_ratio(total, advance_ratio).clamp(0, total);
    split_largest_remainder(advance, awarded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn open(plan: PaymentPlan, limit: i64) -> GrantFacts {
        GrantFacts {
            plan,
            status: GrantStatus::Open,
            award_limit: limit,
            due: None,
        }
    }

    #[test]
    fn the_contribution_due_is_the_share_of_the_real_cost_never_more_than_the_award() {
        // Goal 4,000.00, award 2,000.00: 3,000.00 accepted → 1,500.00 due.
        assert_eq!(contribution_due(200_000, 300_000, 400_000), 150_000);
        // More than the goal spent: the award, not more.
        assert_eq!(contribution_due(200_000, 500_000, 400_000), 200_000);
        // Half-up: 1,000.00 × 0.01 ÷ 3.00 = 3.333… → 3.33; 0.05 × 1 ÷ 2 → 0.03.
        assert_eq!(contribution_due(100_000, 1, 300), 333);
        assert_eq!(contribution_due(5, 1, 2), 3);
        assert_eq!(contribution_due(200_000, 0, 400_000), 0);
    }

    #[test]
    fn largest_remainder_gives_the_cents_to_the_largest_fractions() {
        assert_eq!(split_largest_remainder(100, &[1, 1, 1]), vec![34, 33, 33]);
        assert_eq!(split_largest_remainder(10, &[2, 3, 5]), vec![2, 3, 5]);
        assert_eq!(split_largest_remainder(7, &[1, 2]), vec![2, 5]);
        assert_eq!(split_largest_remainder(5, &[0, 0]), vec![5, 0]);
    }

    #[test]
    fn a_fund_in_tranches_pays_the_advance_then_the_balance_of_what_is_due() {
        // Award 2,000.00, advance 40 %: 800.00 payable at commitment.
        let parts = [Position {
            awarded: 200_000,
            advance: 80_000,
            ..Default::default()
        }];
        let p = plan(&open(PaymentPlan::Tranches, 200_000), &parts).unwrap();
        assert_eq!(p[0].payable, Some((TrancheKind::Advance, 80_000)));
        assert_eq!(p[0].release, 0);
        // Advance paid; report approved with 1,500.00 due: balance 700.00, 500.00 released.
        let paid = [Position {
            paid: 80_000,
            ..parts[0]
        }];
        let approved = GrantFacts {
            plan: PaymentPlan::Tranches,
            status: GrantStatus::Approved,
            award_limit: 200_000,
            due: Some(150_000),
        };
        let p = plan(&approved, &paid).unwrap();
        assert_eq!(p[0].payable, Some((TrancheKind::Balance, 70_000)));
        assert_eq!(p[0].release, 50_000);
        assert_eq!(p[0].reclaim, 0);
    }

    #[test]
    fn a_revocation_after_the_advance_releases_the_rest_and_asks_the_advance_back() {
        let parts = [Position {
            awarded: 200_000,
            advance: 80_000,
            paid: 80_000,
            ..Default::default()
        }];
        let revoked = GrantFacts {
            plan: PaymentPlan::Tranches,
            status: GrantStatus::Revoked,
            award_limit: 0,
            due: Some(0),
        };
        let p = plan(&revoked, &parts).unwrap();
        assert_eq!(
            p[0],
            PartPlan {
                release: 120_000,
                reclaim: 80_000,
                payable: None
            }
        );
        // Asked again once it is recoverable: nothing more.
        let again = [Position {
            released: 120_000,
            recoverable: 80_000,
            ..parts[0]
        }];
        assert_eq!(plan(&revoked, &again).unwrap()[0], PartPlan::default());
    }

    #[test]
    fn under_review_nothing_is_payable() {
        let parts = [Position {
            awarded: 200_000,
            ..Default::default()
        }];
        let review = GrantFacts {
            status: GrantStatus::UnderReview,
            ..open(PaymentPlan::OnCommitment, 200_000)
        };
        assert_eq!(plan(&review, &parts).unwrap()[0], PartPlan::default());
    }

    fn position() -> impl Strategy<Value = Position> {
        (0i64..1_000_000, 0u8..=100, 0u8..=100, 0u8..=100, 0u8..=100).prop_map(
            |(awarded, adv, paid, rel, rec)| {
                let advance = awarded * adv as i64 / 100;
                let paid = awarded * paid as i64 / 100;
                let released = (awarded - paid) * rel as i64 / 100;
                let recoverable = paid * rec as i64 / 200;
                Position {
                    awarded,
                    advance,
                    paid,
                    released,
                    recoverable,
                    recovered: 0,
                }
            },
        )
    }

    proptest! {
        #[test]
        fn splits_add_up_and_respect_caps(
            total in 0i64..10_000_000,
            weights in proptest::collection::vec(0i64..1_000_000, 1..6),
        ) {
            let parts = split_largest_remainder(total, &weights);
            prop_assert_eq!(parts.iter().sum::<i64>(), total);
            let caps: Vec<i64> = weights.iter().map(|w| w * 2).collect();
            if let Some(capped) = split_capped(total, &weights, &caps) {
                prop_assert_eq!(capped.iter().sum::<i64>(), total);
                for (p, c) in capped.iter().zip(&caps) {
                    prop_assert!(*p <= *c && *p >= 0);
                }
            } else {
                prop_assert!(total > caps.iter().sum::<i64>());
            }
        }

        #[test]
        fn a_plan_never_moves_money_that_is_not_there_and_keeps_the_identity(
            parts in proptest::collection::vec(position(), 1..4),
            status in proptest::sample::select(GrantStatus::ALL.to_vec()),
            tranches in any::<bool>(),
            limit_pct in 0u8..=100,
            due_pct in proptest::option::of(0u8..=100),
        ) {
            let open: i64 = parts.iter().map(|p| p.paid + p.committed()).sum();
            let limit = open * limit_pct as i64 / 100;
            let grant = GrantFacts {
                plan: if tranches { PaymentPlan::Tranches } else { PaymentPlan::OnCommitment },
                status,
                award_limit: limit,
                due: due_pct.map(|d| limit * d as i64 / 100),
            };
            let plans = plan(&grant, &parts).unwrap();
            for (p, pl) in parts.iter().zip(&plans) {
                // Released out of committed money; a payable tranche out of what is left.
                prop_assert!(pl.release >= 0 && pl.release <= p.committed());
                let left = p.committed() - pl.release;
                if let Some((_, amount)) = pl.payable {
                    prop_assert!(amount > 0 && amount <= left);
                    prop_assert!(grant.status.pays());
                }
                // Asked back only out of what was paid and not yet asked back.
                prop_assert!(pl.reclaim >= 0);
                prop_assert!(p.recoverable + p.recovered + pl.reclaim <= p.paid.max(p.recoverable + p.recovered));
                // The identity: awarded = released + paid + still committed.
                prop_assert_eq!(p.awarded, p.released + pl.release + p.paid + left);
            }
            // Together the funders keep exactly the ceiling, or what they have already paid.
            let ceiling = if status == GrantStatus::Revoked { 0 } else { grant.due.unwrap_or(limit).min(limit) };
            let kept: i64 = parts.iter().zip(&plans).map(|(p, pl)| p.paid + p.committed() - pl.release).sum();
            let paid: i64 = parts.iter().map(|p| p.paid).sum();
            prop_assert!(kept >= ceiling.min(open));
            // Each funder keeps its share of the ceiling or what it already paid, if more.
            prop_assert!(kept <= ceiling + paid);
            if paid == 0 {
                prop_assert_eq!(kept, ceiling.min(open));
            }
        }

        #[test]
        fn the_due_never_exceeds_the_award_and_grows_with_spending(
            award in 0i64..10_000_000, goal in 1i64..10_000_000,
            a in 0i64..20_000_000, b in 0i64..20_000_000,
        ) {
            let (lo, hi) = (a.min(b), a.max(b));
            prop_assert!(contribution_due(award, hi, goal) <= award);
            prop_assert!(contribution_due(award, lo, goal) <= contribution_due(award, hi, goal));
        }
    }
}
