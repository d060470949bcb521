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
        /// Paid money the association owes back (a grant reduced or revoked after payment).
        Recoverable = "recoverable",
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
        /// committed → available (a grant's award no longer due: reduced, revoked).
        Decommit = "decommit",
        /// settled → recoverable (paid money the association now owes back).
        Reclaim = "reclaim",
        /// recoverable → available (the money came back).
        Recover = "recover",
    }
}

/// The figure a movement takes its amount from: the money must be there before it moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// budget − held − reserved − committed − settled.
    Available,
    Held,
    Reserved,
    Committed,
    Settled,
    Recoverable,
}

impl Movement {
    /// What moving one unit does to a fund's (or funder's) `[held, reserved, committed,
    /// settled, recoverable]` figures, and where the unit comes from. `Budget` moves none.
    pub fn effect(self) -> ([i64; 5], Source) {
        match self {
            Movement::Budget => ([0, 0, 0, 0, 0], Source::Available),
            Movement::Hold => ([1, 0, 0, 0, 0], Source::Available),
            Movement::Unhold => ([-1, 0, 0, 0, 0], Source::Held),
            Movement::ReserveHeld => ([-1, 1, 0, 0, 0], Source::Held),
            Movement::Reserve => ([0, 1, 0, 0, 0], Source::Available),
            Movement::Release => ([0, -1, 0, 0, 0], Source::Reserved),
            Movement::Commit => ([0, -1, 1, 0, 0], Source::Reserved),
            Movement::Settle => ([0, 0, -1, 1, 0], Source::Committed),
            Movement::Decommit => ([0, 0, -1, 0, 0], Source::Committed),
            Movement::Reclaim => ([0, 0, 0, -1, 1], Source::Settled),
            Movement::Recover => ([0, 0, 0, 0, -1], Source::Recoverable),
        }
    }

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
            Movement::Decommit => (Account::Committed, Account::Available),
            Movement::Reclaim => (Account::Settled, Account::Recoverable),
            Movement::Recover => (Account::Recoverable, Account::Available),
        };
        [(from, -amount), (to, amount)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_movements_effect_is_its_postings_seen_from_the_figures() {
        // The figures are the accounts but `available` and the budget: each movement's
        // effect on them is its legs on those accounts, and it comes from the account its
        // first leg debits.
        for m in Movement::ALL {
            let (effect, source) = m.effect();
            let mut from_legs = [0i64; 5];
            for (account, amount) in m.legs(1) {
                match account {
                    Account::Held => from_legs[0] += amount,
                    Account::Reserved => from_legs[1] += amount,
                    Account::Committed => from_legs[2] += amount,
                    Account::Settled => from_legs[3] += amount,
                    Account::Recoverable => from_legs[4] += amount,
                    Account::Available | Account::BudgetSource => {}
                }
            }
            assert_eq!(effect, from_legs, "{m}");
            let debited = m.legs(1)[0].0;
            let expected = match debited {
                Account::Held => Source::Held,
                Account::Reserved => Source::Reserved,
                Account::Committed => Source::Committed,
                Account::Settled => Source::Settled,
                Account::Recoverable => Source::Recoverable,
                _ => Source::Available,
            };
            assert_eq!(source, expected, "{m}");
        }
    }

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
