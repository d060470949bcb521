//! The accounts of a fund's double-entry journal and the movements between them. Pure: which
//! account each movement debits and credits. The one door that applies a movement to the books
//! is `db::ledger::transfer`.

use super::stored::stored_enum;

stored_enum! {
    /// An account of a fund's journal.
    pub enum Account: "ledger account" {
        /// The funder's appropriation; negative by the budget.
        BudgetSource = "budget_source",
        Available = "available",
        /// Held for a pledge being paid (`per_donation`).
        Held = "held",
        Reserved = "reserved",
        Committed = "committed",
        Settled = "settled",
    }
}

stored_enum! {
    /// The movements the matching engine and the finance office make (a journal entry's kind).
    pub enum Movement: "ledger movement" {
        /// A budget appropriated (or cut, with a negative amount).
        Budget = "budget",
        /// available → reserved (a reservation or an on_approval earmark).
        Reserve = "reserve",
        /// available → held (a `per_donation` match held while the donor pays).
        Hold = "hold",
        /// held → available (the payment failed or expired, or the hold lapsed).
        Unhold = "unhold",
        /// held → reserved (the held donation was paid).
        ReserveHeld = "reserve_held",
        /// reserved → available (revocation, failure, cancellation).
        Release = "release",
        /// reserved → committed (the campaign succeeded).
        Commit = "commit",
        /// committed → settled (the bank transfer was made).
        Settle = "settle",
    }
}

impl Movement {
    /// The entry's two postings: `amount` leaves the first account and enters the second.
    pub fn legs(self, amount: i64) -> [(Account, i64); 2] {
        let (from, to) = match self {
            Movement::Budget => (Account::BudgetSource, Account::Available),
            Movement::Reserve => (Account::Available, Account::Reserved),
            Movement::Hold => (Account::Available, Account::Held),
            Movement::Unhold => (Account::Held, Account::Available),
            Movement::ReserveHeld => (Account::Held, Account::Reserved),
            Movement::Release => (Account::Reserved, Account::Available),
            Movement::Commit => (Account::Reserved, Account::Committed),
            Movement::Settle => (Account::Committed, Account::Settled),
        };
        [(from, -amount), (to, amount)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn every_entry_balances(amount in -1_000_000_000_000i64..1_000_000_000_000) {
            for m in Movement::ALL {
                let [(a, x), (b, y)] = m.legs(amount);
                prop_assert_eq!(x + y, 0);
                prop_assert_ne!(a, b);
            }
        }
    }
}
