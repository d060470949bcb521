//! Pragmatic e-mail address check: catches typos and header-injection junk
//! without pretending to implement all of RFC 5322. Deliverability is
//! proven by a confirmation mail, not here.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Maximum length of a whole address (RFC 5321 forward path).
const MAX_LEN: usize = 254;
/// Maximum length of the local part (RFC 5321).
const MAX_LOCAL_LEN: usize = 64;
/// Maximum length of a DNS label.
const MAX_LABEL_LEN: usize = 63;

/// A syntactically plausible address: trimmed, domain lowercased (domains
/// are case-insensitive, local parts are not guaranteed to be).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

/// Why an address was rejected; deliberately a single variant so that the
/// API does not leak which rule matched.
#[derive(thiserror::Error, Debug, PartialEq, Eq, Clone)]
pub enum EmailError {
    #[error("not a valid e-mail address")]
    Invalid,
}

/// Local part: non-empty, at most 64 bytes, no whitespace, control or
/// RFC 5322 special characters (which would need quoting), and dots only
/// between other characters. Non-ASCII (RFC 6531) is allowed.
fn local_ok(local: &str) -> bool {
    !local.is_empty()
        && local.len() <= MAX_LOCAL_LEN
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && !local
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "\"(),:;<>[\\]@".contains(c))
}

/// Domain: at least two dot-separated labels of ASCII letters, digits and
/// '-', each 1-63 long and not starting or ending with '-'.
fn domain_ok(domain: &str) -> bool {
    let mut labels = 0;
    for label in domain.split('.') {
        labels += 1;
        let ok = !label.is_empty()
            && label.len() <= MAX_LABEL_LEN
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !ok {
            return false;
        }
    }
    labels >= 2
}

impl Email {
    /// Trims surrounding whitespace, checks length (≤ 254), exactly one '@',
    /// the local part and the domain, and lowercases the domain only.
    pub fn parse(s: &str) -> Result<Email, EmailError> {
        let s = s.trim();
        if s.len() > MAX_LEN {
            return Err(EmailError::Invalid);
        }
        let (local, domain) = s.split_once('@').ok_or(EmailError::Invalid)?;
        if !local_ok(local) || !domain_ok(domain) {
            return Err(EmailError::Invalid);
        }
        Ok(Email(format!("{local}@{}", domain.to_ascii_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Email {
    type Err = EmailError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Email::parse(s)
    }
}

impl TryFrom<String> for Email {
    type Error = EmailError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Email::parse(&s)
    }
}

impl From<Email> for String {
    fn from(email: Email) -> String {
        email.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::de::IntoDeserializer;
    use serde::de::value::{Error as DeError, StrDeserializer};

    #[test]
    fn accepts_common_addresses() {
        for s in [
            "anna@example.org",
            "anna.rossi+cofund@mail.example.co.uk",
            "x@a-b.it",
            "o'brien@example.ie",
            "utente@xn--comune-fza.it",
            "élodie@example.fr",
        ] {
            assert_eq!(Email::parse(s).unwrap().as_str(), s);
        }
    }

    #[test]
    fn trims_and_lowercases_domain_only() {
        let e = Email::parse("  Anna.Rossi@Example.ORG\n").unwrap();
        assert_eq!(e.as_str(), "Anna.Rossi@example.org");
        assert_eq!(e.to_string(), "Anna.Rossi@example.org");
    }

    #[test]
    fn rejects_invalid() {
        for bad in [
            "",
            "   ",
            "anna",
            "anna@",
            "@example.org",
            "anna@example",
            "anna@@example.org",
            "anna@b@example.org",
            "an na@example.org",
            "anna\t@example.org",
            "anna\r\nBcc: x@example.org",
            "<anna@example.org>",
            "anna@-example.org",
            "anna@example-.org",
            "anna@example..org",
            "anna@.example.org",
            "anna@example.org.",
            "anna@exa_mple.org",
            "anna@exämple.org",
            "anna@example.org extra",
            ".anna@example.org",
            "anna.@example.org",
            "an..na@example.org",
            "\"anna\"@example.org",
        ] {
            assert_eq!(Email::parse(bad), Err(EmailError::Invalid), "{bad:?}");
        }
    }

    #[test]
    fn length_limits() {
        let local64 = "a".repeat(64);
        assert!(Email::parse(&format!("{local64}@example.org")).is_ok());
        assert!(Email::parse(&format!("{local64}a@example.org")).is_err());
        let label63 = "b".repeat(63);
        assert!(Email::parse(&format!("a@{label63}.org")).is_ok());
        assert!(Email::parse(&format!("a@{label63}b.org")).is_err());
        // "a@" + 3 * (63 + ".") + 60 = 254 exactly, then one more character.
        let domain = format!("{label63}.{label63}.{label63}.{}", "c".repeat(60));
        let max = format!("a@{domain}");
        assert_eq!(max.len(), 254);
        assert!(Email::parse(&max).is_ok());
        assert!(Email::parse(&format!("aa@{domain}")).is_err());
    }

    #[test]
    fn serde_validates() {
        let de: StrDeserializer<'_, DeError> = "A@B.IT".into_deserializer();
        assert_eq!(Email::deserialize(de).unwrap().as_str(), "A@b.it");
        let de: StrDeserializer<'_, DeError> = "not-an-email".into_deserializer();
        assert!(Email::deserialize(de).is_err());
    }

    proptest! {
        #[test]
        fn generated_addresses_parse(
            local in "[A-Za-z0-9_+%-]{1,20}(\\.[A-Za-z0-9_+%-]{1,20}){0,2}",
            labels in proptest::collection::vec("[A-Za-z0-9]([A-Za-z0-9-]{0,10}[A-Za-z0-9])?", 2..5),
        ) {
            let domain = labels.join(".");
            let input = format!("{local}@{domain}");
            let email = Email::parse(&input).unwrap();
            prop_assert_eq!(email.as_str(), format!("{local}@{}", domain.to_lowercase()));
            // Parsing is idempotent.
            prop_assert_eq!(Email::parse(email.as_str()).unwrap(), email.clone());
        }

        #[test]
        fn no_at_sign_is_invalid(s in "[^@]{0,60}") {
            prop_assert_eq!(Email::parse(&s), Err(EmailError::Invalid));
        }

        #[test]
        fn parse_never_panics_and_output_is_valid(s in any::<String>()) {
            if let Ok(email) = Email::parse(&s) {
                prop_assert!(email.as_str().len() <= MAX_LEN);
                prop_assert_eq!(email.as_str().matches('@').count(), 1);
            }
        }
    }
}
