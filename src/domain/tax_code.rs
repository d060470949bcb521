//! Italian tax code of an association: partita IVA (11 digits, also used as
//! the numeric codice fiscale of legal entities) or a personal codice
//! fiscale (16 characters). Check characters catch typos before payouts.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A validated tax code, uppercase, without surrounding whitespace.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum TaxCode {
    /// 11 digits: partita IVA or numeric codice fiscale (same algorithm).
    PartitaIva(String),
    /// 16-character codice fiscale of a natural person.
    CodiceFiscale(String),
}

/// Why a tax code was rejected.
#[derive(thiserror::Error, Debug, PartialEq, Eq, Clone)]
pub enum TaxCodeError {
    #[error("must be an 11-digit partita IVA or a 16-character codice fiscale")]
    Format,
    #[error("check character does not match")]
    BadCheck,
}

/// Check digit over the first 10 digits of a partita IVA: odd positions as
/// is, even positions doubled (minus 9 above 9), then (10 - sum % 10) % 10.
fn partita_iva_check(digits: &[u8]) -> u8 {
    let sum: u32 = digits[..10]
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                d
            } else if d * 2 > 9 {
                d * 2 - 9
            } else {
                d * 2
            }
        })
        .sum();
    b'0' + ((10 - sum % 10) % 10) as u8
}

/// Letters that replace digits in a codice fiscale under omocodia
/// (L=0, M=1, N=2, P=3, Q=4, R=5, S=6, T=7, U=8, V=9).
const OMOCODIA: &[u8; 10] = b"LMNPQRSTUV";

/// Month letters of a codice fiscale (January..December).
const MONTHS: &[u8; 12] = b"ABCDEHLMPRST";

/// Values of characters in odd (1st, 3rd, ...) positions, indexed by digit
/// or letter ordinal; digits 0-9 share the values of letters A-J.
const ODD_VALUES: [u32; 26] = [
    1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23,
];

/// Official codice fiscale check letter over the first 15 characters
/// (uppercase alphanumeric).
fn codice_fiscale_check(chars: &[u8]) -> u8 {
    let sum: u32 = chars[..15]
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            let ordinal = if b.is_ascii_digit() {
                b - b'0'
            } else {
                b - b'A'
            };
            if i % 2 == 0 {
                ODD_VALUES[usize::from(ordinal)]
            } else {
                u32::from(ordinal)
            }
        })
        .sum();
    b'A' + (sum % 26) as u8
}

/// Shape LLLLLL DD L DD L DDD L, where any D may be an omocodia letter and
/// the month letter must be a real month.
fn codice_fiscale_shape_ok(b: &[u8]) -> bool {
    let digit_like = |c: u8| c.is_ascii_digit() || OMOCODIA.contains(&c);
    b.len() == 16
        && b.iter().enumerate().all(|(i, &c)| match i {
            0..=5 | 11 | 15 => c.is_ascii_uppercase(),
            8 => MONTHS.contains(&c),
            _ => digit_like(c),
        })
}

impl TaxCode {
    /// Trims surrounding whitespace and uppercases; 11 digits are checked as
    /// a partita IVA, 16 characters as a personal codice fiscale. Wrong shape
    /// is `Format`, a mismatching check character is `BadCheck`.
    pub fn parse(s: &str) -> Result<TaxCode, TaxCodeError> {
        let code = s.trim().to_ascii_uppercase();
        let b = code.as_bytes();
        if b.len() == 11 && b.iter().all(u8::is_ascii_digit) {
            if partita_iva_check(b) != b[10] {
                return Err(TaxCodeError::BadCheck);
            }
            return Ok(TaxCode::PartitaIva(code));
        }
        if codice_fiscale_shape_ok(b) {
            if codice_fiscale_check(b) != b[15] {
                return Err(TaxCodeError::BadCheck);
            }
            return Ok(TaxCode::CodiceFiscale(code));
        }
        Err(TaxCodeError::Format)
    }

    /// The normalised code.
    pub fn as_str(&self) -> &str {
        match self {
            TaxCode::PartitaIva(s) | TaxCode::CodiceFiscale(s) => s,
        }
    }
}

impl fmt::Display for TaxCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TaxCode {
    type Err = TaxCodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TaxCode::parse(s)
    }
}

impl TryFrom<String> for TaxCode {
    type Error = TaxCodeError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        TaxCode::parse(&s)
    }
}

impl From<TaxCode> for String {
    fn from(code: TaxCode) -> String {
        match code {
            TaxCode::PartitaIva(s) | TaxCode::CodiceFiscale(s) => s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::de::IntoDeserializer;
    use serde::de::value::{Error as DeError, StrDeserializer};

    #[test]
    fn partita_iva_valid() {
        for s in ["12345678903", "00743110157"] {
            assert_eq!(TaxCode::parse(s), Ok(TaxCode::PartitaIva(s.to_string())));
        }
        assert_eq!(
            TaxCode::parse(" 00743110157\n").unwrap().as_str(),
            "00743110157"
        );
    }

    #[test]
    fn partita_iva_bad_check() {
        assert_eq!(TaxCode::parse("12345678901"), Err(TaxCodeError::BadCheck));
        assert_eq!(TaxCode::parse("00743110158"), Err(TaxCodeError::BadCheck));
    }

    #[test]
    fn codice_fiscale_valid() {
        for s in ["RSSMRA85T10A562S", "MRTMTT25D09F205Z"] {
            assert_eq!(TaxCode::parse(s), Ok(TaxCode::CodiceFiscale(s.to_string())));
        }
        let lower = TaxCode::parse("  rssmra85t10a562s ").unwrap();
        assert_eq!(lower.as_str(), "RSSMRA85T10A562S");
        assert_eq!(lower.to_string(), "RSSMRA85T10A562S");
    }

    #[test]
    fn codice_fiscale_omocodia() {
        // Last digit 2 -> N: the check letter is recomputed for the new code.
        let base = b"RSSMRA85T10A56N";
        let check = codice_fiscale_check(base);
        let code = format!("{}{}", std::str::from_utf8(base).unwrap(), check as char);
        assert!(matches!(
            TaxCode::parse(&code),
            Ok(TaxCode::CodiceFiscale(_))
        ));
        // The original check letter no longer matches after substitution.
        assert_ne!(check, b'S');
        assert_eq!(
            TaxCode::parse("RSSMRA85T10A56NS"),
            Err(TaxCodeError::BadCheck)
        );
    }

    #[test]
    fn codice_fiscale_bad_check() {
        assert_eq!(
            TaxCode::parse("RSSMRA85T10A562T"),
            Err(TaxCodeError::BadCheck)
        );
        assert_eq!(
            TaxCode::parse("MRTMTT25D09F205A"),
            Err(TaxCodeError::BadCheck)
        );
    }

    #[test]
    fn format_errors() {
        for bad in [
            "",
            "1234567890",
            "123456789012",
            "1234567890A",
            "RSSMRA85T10A562",
            "RSSMRA85T10A562SX",
            "RSSMRA85Z10A562S", // Z is not a month letter
            "RSSMR185T10A562S", // digit in the surname/name part
            "RSSMRA8AT10A562S", // A is not an omocodia letter
            "RSSMRA85T10A5625", // check must be a letter
            "RSS MRA85T10A562S",
            "1234567890３",
        ] {
            assert_eq!(TaxCode::parse(bad), Err(TaxCodeError::Format), "{bad}");
        }
    }

    #[test]
    fn serde_normalises() {
        let de: StrDeserializer<'_, DeError> = "rssmra85t10a562s".into_deserializer();
        assert_eq!(
            TaxCode::deserialize(de).unwrap(),
            TaxCode::CodiceFiscale("RSSMRA85T10A562S".into())
        );
        let de: StrDeserializer<'_, DeError> = "12345678901".into_deserializer();
        assert!(TaxCode::deserialize(de).is_err());
    }

    fn arb_codice_fiscale_body() -> impl Strategy<Value = String> {
        "[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}"
    }

    proptest! {
        #[test]
        fn partita_iva_with_computed_check_parses(
            body in "[0-9]{10}",
            delta in 1u8..=9,
        ) {
            let check = partita_iva_check(body.as_bytes());
            let code = format!("{body}{}", check as char);
            prop_assert_eq!(TaxCode::parse(&code), Ok(TaxCode::PartitaIva(code.clone())));
            let flipped = b'0' + (check - b'0' + delta) % 10;
            let wrong = format!("{body}{}", flipped as char);
            prop_assert_eq!(TaxCode::parse(&wrong), Err(TaxCodeError::BadCheck));
        }

        #[test]
        fn partita_iva_detects_single_digit_change(
            body in "[0-9]{10}",
            pos in 0usize..10,
            delta in 1u8..=9,
        ) {
            let check = partita_iva_check(body.as_bytes());
            let mut bytes = format!("{body}{}", check as char).into_bytes();
            bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
            let mutated = String::from_utf8(bytes).unwrap();
            prop_assert_eq!(TaxCode::parse(&mutated), Err(TaxCodeError::BadCheck));
        }

        #[test]
        fn codice_fiscale_with_computed_check_parses(
            body in arb_codice_fiscale_body(),
            delta in 1u8..=25,
        ) {
            let check = codice_fiscale_check(body.as_bytes());
            let code = format!("{body}{}", check as char);
            prop_assert_eq!(
                TaxCode::parse(&code.to_lowercase()),
                Ok(TaxCode::CodiceFiscale(code.clone()))
            );
            let flipped = b'A' + (check - b'A' + delta) % 26;
            let wrong = format!("{body}{}", flipped as char);
            prop_assert_eq!(TaxCode::parse(&wrong), Err(TaxCodeError::BadCheck));
        }

        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = TaxCode::parse(&s);
        }

        #[test]
        fn parse_never_panics_on_code_like(s in "[0-9A-Za-z ]{9,18}") {
            if let Ok(code) = TaxCode::parse(&s) {
                prop_assert_eq!(code.as_str(), s.trim().to_ascii_uppercase());
            }
        }
    }
}
