//! Opaque, prefixed, time-ordered ids (`cmp_0193…`). The UUIDv7 body sorts by creation time,
//! which is what cursor pagination orders by.

pub const AREA: &str = "area";
pub const FUND: &str = "fund";
pub const ASSOCIATION: &str = "asso";
pub const CAMPAIGN: &str = "cmp";
pub const PLEDGE: &str = "plg";
pub const SETTLEMENT: &str = "stl";
pub const FUNDER: &str = "fdr";
pub const USER: &str = "usr";
pub const PARTNER: &str = "ptn";
pub const AUDIT: &str = "aud";
pub const PAYOUT: &str = "pay";
pub const PAYOUT_BATCH: &str = "pbt";
pub const REVERSAL: &str = "prv";
pub const CROWD_ENTRY: &str = "cen";
pub const BANK_STATEMENT: &str = "bst";
pub const BANK_ENTRY: &str = "ben";
pub const APPEAL: &str = "apl";
pub const UPDATE: &str = "upd";

/// Declares a typed id: a `String` inside (the prefixed id as stored), compared, hashed and
/// ordered as that string, stored as a `Text` column on both backends (`db::stored`), and
/// readable as a `&str` anywhere a `&str` is wanted (`Deref`, `AsRef`, `Borrow`, `as_str`).
macro_rules! typed_id {
    ($($(#[$doc:meta])* $name:ident => $prefix:ident;)+) => {$(
        $(#[$doc])*
        #[derive(
            Clone,
            Debug,
            PartialEq,
            Eq,
            Hash,
            PartialOrd,
            Ord,
            diesel::AsExpression,
            diesel::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub struct $name(String);

        impl $name {
            /// A new id of this kind (`new_id` with its prefix).
            pub fn generate() -> Self {
                Self(new_id($prefix))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }

            /// True when the text inside looks like an id of this kind.
            pub fn is_well_formed(&self) -> bool {
                has_prefix(&self.0, $prefix)
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_string())
            }
        }

        impl From<&String> for $name {
            fn from(s: &String) -> Self {
                Self(s.clone())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }
    )+};
}

typed_id! {
    /// A campaign's id (`cmp_…`).
    CampaignId => CAMPAIGN;
    /// A fund's id (`fund_…`).
    FundId => FUND;
    /// A funder's id (`fdr_…`).
    FunderId => FUNDER;
    /// A pledge's id (`plg_…`).
    PledgeId => PLEDGE;
    /// An association's id (`asso_…`).
    AssociationId => ASSOCIATION;
    /// A settlement batch's id (`stl_…`).
    SettlementId => SETTLEMENT;
    /// A crowd payout's id (`pay_…`).
    PayoutId => PAYOUT;
    /// A crowd payout bank batch's id (`pbt_…`).
    PayoutBatchId => PAYOUT_BATCH;
    /// A payout reversal's id (`prv_…`).
    ReversalId => REVERSAL;
}

/// A new id such as `fund_0193b3c4d5e67f00a1b2c3d4e5f60718`.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

/// True when `id` looks like an id of this kind (cheap guard before touching the database).
pub fn has_prefix(id: &str, prefix: &str) -> bool {
    id.len() == prefix.len() + 33
        && id.starts_with(prefix)
        && id.as_bytes()[prefix.len()] == b'_'
        && id[prefix.len() + 1..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A random secret of `bytes` bytes, hex-encoded, with a readable prefix (`whsec_…`).
pub fn random_secret(prefix: &str, bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::fill(&mut buf[..]);
    let mut out = String::with_capacity(prefix.len() + 1 + bytes * 2);
    out.push_str(prefix);
    out.push('_');
    for b in buf {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_their_prefix_and_sort_by_creation() {
        let a = new_id(CAMPAIGN);
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new_id(CAMPAIGN);
        assert!(a.starts_with("cmp_"));
        assert!(has_prefix(&a, CAMPAIGN));
        assert!(!has_prefix(&a, FUND));
        assert!(a < b);
        assert!(!has_prefix("cmp_../../etc", CAMPAIGN));
    }

    #[test]
    fn typed_ids_read_as_the_text_they_hold() {
        let id = CampaignId::generate();
        assert!(id.is_well_formed());
        assert_eq!(id.as_str(), &*id);
        assert_eq!(id.to_string(), id.as_str());
        assert_eq!(CampaignId::from(id.as_str()), id);
        assert_eq!(CampaignId::from(id.to_string()), id);
        let set: std::collections::HashSet<CampaignId> = [id.clone()].into();
        assert!(set.contains(id.as_str()));
        assert_eq!(String::from(id.clone()), id.as_str());
        assert!(!FundId::from("cmp_x").is_well_formed());
    }
}
