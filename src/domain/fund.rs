//! A fund's stored policies: when its top-up is set aside, and what happens when its budget runs
//! out. Stored as text; an unknown stored value is an error, never a default.

use super::stored::stored_enum;
use serde::{Deserialize, Serialize};

stored_enum! {
    /// The rule that decides a fund's matches (`match_policy`).
    #[derive(Serialize, Deserialize, utoipa::ToSchema, Default)]
    #[serde(rename_all = "snake_case")]
    pub enum MatchPolicy: "match policy" {
        /// The city tops a campaign up when the crowd reaches its threshold (Milan, Turin).
        #[default]
        ThresholdTopUp = "threshold_top_up",
        /// Every donation matched at `match_ratio`, held while the donor pays (Big Give, ioby).
        PerDonation = "per_donation",
        /// The budget is a pool shared at the end of the round by quadratic funding.
        Quadratic = "quadratic",
    }
}

stored_enum! {
    /// How each match is divided among a fund's funders (`funding_split`).
    #[derive(Serialize, Deserialize, utoipa::ToSchema, Default)]
    #[serde(rename_all = "snake_case")]
    pub enum FundingSplit: "funding split" {
        /// Funders drawn in `priority` order until the match is covered.
        #[default]
        Priority = "priority",
        /// Each funder pays its `share` of every match.
        Proportional = "proportional",
    }
}

stored_enum! {
    /// Which gifts a quadratic round counts, and as whose (`quadratic_identity`).
    #[derive(Serialize, Deserialize, utoipa::ToSchema, Default)]
    #[serde(rename_all = "snake_case")]
    pub enum QuadraticIdentity: "quadratic identity" {
        /// Every gift, each donor by identity: the tax code when given, else the normalised
        /// e-mail address.
        #[default]
        Donor = "donor",
        /// Only gifts that carry a valid tax code, each donor by tax code.
        TaxCode = "tax_code",
    }
}

stored_enum! {
    /// Who a funder is: the public body runs the call; private funders co-fund it.
    #[derive(Serialize, Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum FunderKind: "funder kind" {
        Public = "public",
        Private = "private",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Allocation {
    /// The top-up is reserved when the campaign reaches its threshold.
    #[default]
    OnThreshold,
    /// The top-up is earmarked at approval; approval fails with 409 if the budget cannot cover it.
    OnApproval,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum ExhaustionPolicy {
    /// Queue campaigns FIFO by crossing time until budget frees up.
    #[default]
    Waitlist,
    /// Reserve whatever is still available.
    Partial,
}

impl Allocation {
    pub fn as_str(self) -> &'static str {
        match self {
            Allocation::OnThreshold => "on_threshold",
            Allocation::OnApproval => "on_approval",
        }
    }
}

impl ExhaustionPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            ExhaustionPolicy::Waitlist => "waitlist",
            ExhaustionPolicy::Partial => "partial",
        }
    }
}

impl TryFrom<String> for Allocation {
    type Error = String;
    fn try_from(s: String) -> Result<Allocation, String> {
        match s.as_str() {
            "on_threshold" => Ok(Allocation::OnThreshold),
            "on_approval" => Ok(Allocation::OnApproval),
            _ => Err(format!("unknown stored allocation {s:?}")),
        }
    }
}

impl TryFrom<String> for ExhaustionPolicy {
    type Error = String;
    fn try_from(s: String) -> Result<ExhaustionPolicy, String> {
        match s.as_str() {
            "waitlist" => Ok(ExhaustionPolicy::Waitlist),
            "partial" => Ok(ExhaustionPolicy::Partial),
            _ => Err(format!("unknown stored exhaustion policy {s:?}")),
        }
    }
}

impl From<Allocation> for String {
    fn from(a: Allocation) -> String {
        a.as_str().to_string()
    }
}

impl From<ExhaustionPolicy> for String {
    fn from(p: ExhaustionPolicy) -> String {
        p.as_str().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_values_round_trip_and_unknown_ones_are_errors() {
        for a in [Allocation::OnThreshold, Allocation::OnApproval] {
            assert_eq!(Allocation::try_from(String::from(a)), Ok(a));
        }
        for p in [ExhaustionPolicy::Waitlist, ExhaustionPolicy::Partial] {
            assert_eq!(ExhaustionPolicy::try_from(String::from(p)), Ok(p));
        }
        assert!(Allocation::try_from("On_Threshold".to_string()).is_err());
        assert!(ExhaustionPolicy::try_from(String::new()).is_err());
    }
}
