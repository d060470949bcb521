//! Who a donor is, for counting distinct donors (quadratic rounds, `min_donors`, the campaign's
//! donor count) and for the per-donor hold cap of `per_donation` funds: the donor's tax code when
//! the gift carries one, else the e-mail address normalised so that one mailbox is one donor
//! (case, `+tags`, and Gmail's ignored dots do not make new people).
//!
//! What is stored is never the identity itself but a keyed hash of it ([`IdentityKey`]): a copy
//! of the database alone cannot confirm a guessed address. The key tells which kind of identity
//! it stands for (`t:` a tax code, `e:` an address), so a fund that counts only gifts with a tax
//! code can tell them apart without reading personal data.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Prefix of a stored key made from a tax code.
pub const TAX_CODE_PREFIX: &str = "t:";
/// Prefix of a stored key made from an e-mail address.
pub const EMAIL_PREFIX: &str = "e:";

/// A tax code as an identity: trimmed and uppercase (its format is checked where it is taken).
pub fn normalise_tax_code(code: &str) -> String {
    code.trim().to_ascii_uppercase()
}

/// An e-mail address as an identity: trimmed and lowercase, the `+tag` of the local part
/// removed, and for Gmail (`gmail.com`, `googlemail.com`, one mailbox) the dots of the local
/// part removed and the domain written `gmail.com`.
pub fn normalise_email(email: &str) -> String {
    let email = email.trim().to_lowercase();
    let Some((local, domain)) = email.rsplit_once('@') else {
        return email;
    };
    let local = local.split('+').next().unwrap_or_default();
    let (local, domain) = match domain {
        "gmail.com" | "googlemail.com" => (local.replace('.', ""), "gmail.com"),
        _ => (local.to_string(), domain),
    };
    if local.is_empty() {
        // `+tag@host` alone: nothing left to collapse, keep the address as given.
        return email;
    }
    format!("{local}@{domain}")
}

/// A donor's identity: the tax code when given, else the normalised address.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Identity {
    TaxCode(String),
    Email(String),
}

impl Identity {
    /// The identity of a gift's donor (a blank tax code counts as none).
    pub fn of(tax_code: Option<&str>, email: &str) -> Identity {
        match tax_code.map(normalise_tax_code).filter(|c| !c.is_empty()) {
            Some(code) => Identity::TaxCode(code),
            None => Identity::Email(normalise_email(email)),
        }
    }
}

/// The secret a stored identity is hashed with.
#[derive(Clone)]
pub struct IdentityKey([u8; 32]);

impl std::fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdentityKey(<redacted>)")
    }
}

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut m = HmacSha256::new_from_slice(key).expect("HMAC accepts any key length");
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

impl IdentityKey {
    /// A key of its own derived from a service secret (the token signing secret): the secret
    /// itself never hashes personal data, and the derived key signs nothing.
    pub fn derive(secret: &[u8]) -> IdentityKey {
        IdentityKey(hmac(secret, &[b"cofund donor identity v1"]))
    }

    /// The stored form of an identity: its kind's prefix and the hex HMAC-SHA256.
    pub fn stored(&self, identity: &Identity) -> String {
        let (prefix, kind, value) = match identity {
            Identity::TaxCode(c) => (TAX_CODE_PREFIX, b"t\0", c),
            Identity::Email(e) => (EMAIL_PREFIX, b"e\0", e),
        };
        format!(
            "{prefix}{}",
            hex::encode(hmac(&self.0, &[kind, value.as_bytes()]))
        )
    }

    /// The stored key of a gift's donor.
    pub fn of(&self, tax_code: Option<&str>, email: &str) -> String {
        self.stored(&Identity::of(tax_code, email))
    }
}

/// True when a stored key stands for a tax code (a fund with `quadratic_identity: tax_code`
/// counts only these).
pub fn is_tax_code_key(stored: &str) -> bool {
    stored.starts_with(TAX_CODE_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn case_tags_and_gmail_dots_collapse() {
        for (a, b) in [
            ("Sybil.Mail+1@Example.org", "sybil.mail@example.org"),
            (
                "  sybil.mail+anything@EXAMPLE.ORG ",
                "sybil.mail@example.org",
            ),
            ("J.O.H.N.Doe+x@GoogleMail.com", "johndoe@gmail.com"),
            ("john.doe@gmail.com", "johndoe@gmail.com"),
            ("+tag@example.org", "+tag@example.org"),
        ] {
            assert_eq!(normalise_email(a), b, "{a}");
        }
        // Dots matter outside Gmail.
        assert_ne!(
            normalise_email("john.doe@example.org"),
            normalise_email("johndoe@example.org")
        );
    }

    #[test]
    fn a_tax_code_wins_over_the_address() {
        assert_eq!(
            Identity::of(Some(" rssmra85t10a562s "), "x@example.org"),
            Identity::TaxCode("RSSMRA85T10A562S".into())
        );
        assert_eq!(
            Identity::of(Some("  "), "X@Example.org"),
            Identity::Email("x@example.org".into())
        );
        let k = IdentityKey::derive(b"secret");
        assert!(is_tax_code_key(
            &k.of(Some("RSSMRA85T10A562S"), "x@example.org")
        ));
        assert!(!is_tax_code_key(&k.of(None, "x@example.org")));
    }

    #[test]
    fn the_stored_key_depends_on_the_secret_and_never_shows_the_identity() {
        let a = IdentityKey::derive(b"one");
        let b = IdentityKey::derive(b"two");
        let id = Identity::of(None, "giulia@example.org");
        assert_ne!(a.stored(&id), b.stored(&id));
        assert!(!a.stored(&id).contains("giulia"));
        // An address and a tax code with the same text are not the same donor.
        assert_ne!(
            a.stored(&Identity::Email("X".into())),
            a.stored(&Identity::TaxCode("X".into()))
        );
    }

    fn local() -> impl Strategy<Value = String> {
        "[a-z0-9]{1,6}(\\.[a-z0-9]{1,6}){0,2}"
    }

    fn domain() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("gmail.com".to_string()),
            Just("googlemail.com".to_string()),
            "[a-z]{2,8}\\.(org|it|com)",
        ]
    }

    /// Gmail's two domain names, one mailbox.
    fn is_gmail(domain: &str) -> bool {
        domain == "gmail.com" || domain == "googlemail.com"
    }

    /// Uppercases some letters of `s` (by the mask's bits).
    fn recase(s: &str, mask: u64) -> String {
        s.chars()
            .enumerate()
            .map(|(i, c)| {
                if mask >> (i % 64) & 1 == 1 {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect()
    }

    proptest! {
        #[test]
        fn normalising_is_idempotent(raw in "[ A-Za-z0-9.+@_-]{0,30}") {
            let once = normalise_email(&raw);
            prop_assert_eq!(normalise_email(&once), once.clone());
            let code = normalise_tax_code(&raw);
            prop_assert_eq!(normalise_tax_code(&code), code);
        }

        #[test]
        fn variants_of_one_mailbox_are_one_donor(
            local in local(),
            domain in domain(),
            tag in "[a-z0-9]{0,8}",
            mask in any::<u64>(),
        ) {
            let plain = format!("{local}@{domain}");
            let variant = recase(&format!("{local}+{tag}@{domain}"), mask);
            prop_assert_eq!(normalise_email(&variant), normalise_email(&plain));
            if is_gmail(&domain) {
                let undotted = format!("{}@gmail.com", local.replace('.', ""));
                prop_assert_eq!(normalise_email(&variant), normalise_email(&undotted));
            }
            let k = IdentityKey::derive(b"k");
            prop_assert_eq!(k.of(None, &variant), k.of(None, &plain));
        }

        #[test]
        fn different_mailboxes_stay_different(
            a in "[a-z0-9]{1,8}",
            b in "[a-z0-9]{1,8}",
            da in domain(),
            db in domain(),
        ) {
            let same_mailbox = a == b && (da == db || (is_gmail(&da) && is_gmail(&db)));
            let k = IdentityKey::derive(b"k");
            let (x, y) = (format!("{a}@{da}"), format!("{b}@{db}"));
            prop_assert_eq!(normalise_email(&x) == normalise_email(&y), same_mailbox);
            prop_assert_eq!(k.of(None, &x) == k.of(None, &y), same_mailbox);
        }
    }
}
