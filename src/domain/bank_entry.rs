//! A credit on an association's bank account, as cofund books it from a statement.

use super::stored::stored_enum;

stored_enum! {
    /// What became of a booked credit.
    pub enum BankEntryStatus: "bank entry status" {
        /// Its reference named a bank-transfer pledge, whose payment it confirmed.
        Matched = "matched",
        /// Its reference named a pledge but the amount or currency differs: not counted.
        Flagged = "flagged",
        /// No waiting pledge for it (no reference, an unknown one, or a pledge already paid):
        /// finance may assign it; otherwise the association returns it to the sender.
        Unmatched = "unmatched",
        /// Finance assigned it to a pledge, whose payment it confirmed.
        Assigned = "assigned",
    }
}

/// How a pledge is paid: through the service's payment provider, or by the donor's own bank
/// transfer to the association.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PledgeMethod {
    #[default]
    Provider,
    BankTransfer,
}

/// A debtor's account as kept: the country and the last four characters, enough for the
/// association to recognise the sender, not to reuse the account.
pub fn masked_account(iban: &str) -> String {
    let clean: String = iban.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let n = clean.chars().count();
    if n <= 6 {
        return "****".into();
    }
    let head: String = clean.chars().take(2).collect();
    let tail: String = clean.chars().skip(n - 4).collect();
    format!("{head}** **** {tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_kept_masked() {
        assert_eq!(
            masked_account("IT60 X054 2811 1010 0000 0123 456"),
            "IT** **** 3456"
        );
        assert_eq!(masked_account("IT6"), "****");
    }

    #[test]
    fn statuses_round_trip() {
        for s in BankEntryStatus::ALL {
            assert_eq!(BankEntryStatus::parse(s.as_str()), Some(*s));
        }
    }
}
