//! Donation receipts (D.Lgs. 117/2017 art. 83): numbered without gaps per association and
//! calendar year, voided (never renumbered) when the money goes back to the donor.

use super::pledge::PledgeStatus;

/// The printed number, such as `2026/000042`.
pub fn number(year: i32, n: i32) -> String {
    format!("{year}/{n:06}")
}

/// A receipt stops certifying a gift once the donor has all of it back: refunded in full or
/// charged back. A partial refund keeps the receipt, for the amount the association kept.
pub fn voids(status: PledgeStatus) -> bool {
    matches!(status, PledgeStatus::Refunded | PledgeStatus::ChargedBack)
}

/// The causale a receipt states: a liberal donation for the named project.
pub fn causale(campaign_title: &str, lang: &str) -> String {
    match lang {
        "en" => {
            format!("Liberal donation (erogazione liberale) for the project \"{campaign_title}\"")
        }
        _ => format!("Erogazione liberale a sostegno del progetto \"{campaign_title}\""),
    }
}

/// The traceable payment method a receipt states, with the provider's payment reference (for
/// a bank transfer: the creditor reference, and the bank's own reference of the credit).
pub fn method(provider: &str, reference: Option<&str>, bank: Option<&str>, lang: &str) -> String {
    let reference = reference.unwrap_or("-");
    let bank = bank.unwrap_or("-");
    match (provider, lang) {
        ("bank_transfer", "en") => {
            format!(
                "Bank transfer (bonifico bancario), reference {reference}, bank reference {bank}"
            )
        }
        ("bank_transfer", _) => {
            format!("Bonifico bancario, riferimento {reference}, riferimento della banca {bank}")
        }
        ("stripe", "en") => {
            format!("Traceable electronic payment by card through Stripe (ref. {reference})")
        }
        ("stripe", _) => {
            format!("Pagamento elettronico tracciabile con carta tramite Stripe (rif. {reference})")
        }
        (_, "en") => format!("Traceable electronic payment (simulated provider, ref. {reference})"),
        (_, _) => {
            format!("Pagamento elettronico tracciabile (fornitore simulato, rif. {reference})")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_year_and_six_digits() {
        assert_eq!(number(2026, 42), "2026/000042");
        assert_eq!(number(2027, 1_234_567), "2027/1234567");
    }

    #[test]
    fn only_money_fully_returned_voids_a_receipt() {
        assert!(voids(PledgeStatus::Refunded));
        assert!(voids(PledgeStatus::ChargedBack));
        assert!(!voids(PledgeStatus::PartiallyRefunded));
        assert!(!voids(PledgeStatus::Disputed));
        assert!(!voids(PledgeStatus::Confirmed));
    }
}
