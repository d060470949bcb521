//! The states of a settlement batch and of its items. A batch is drafted, then confirmed by the
//! finance office with the bank's reference (its items settled) or cancelled (its campaigns
//! freed for another batch).

use super::stored::stored_enum;

stored_enum! {
    pub enum SettlementStatus: "settlement status" {
        Draft = "draft",
        Confirmed = "confirmed",
        Cancelled = "cancelled",
    }
}

stored_enum! {
    pub enum ItemStatus: "settlement item status" {
        Draft = "draft",
        Settled = "settled",
        Cancelled = "cancelled",
    }
}
