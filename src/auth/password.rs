//! argon2id hashes for user passwords and partner client secrets.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use std::sync::OnceLock;

/// Hashes a secret into a PHC string (`$argon2id$v=19$…`) with a random salt.
pub fn hash_secret(secret: &str) -> String {
    Argon2::default()
        .hash_password(secret.as_bytes())
        .expect("argon2 hashing with default parameters cannot fail")
        .to_string()
}

/// Verifies `secret` against a stored hash. Pass `None` when the account does not exist: a
/// dummy hash is checked so that unknown usernames take as long as wrong passwords.
pub fn verify_secret(secret: &str, stored: Option<&str>) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash_secret("cofund-dummy-password-for-timing"));
    let (hash, exists) = match stored {
        Some(h) => (h, true),
        None => (dummy.as_str(), false),
    };
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    Argon2::default()
        .verify_password(secret.as_bytes(), &parsed)
        .is_ok()
        && exists
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_are_salted() {
        let a = hash_secret("correct horse battery staple");
        let b = hash_secret("correct horse battery staple");
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b);
        assert!(verify_secret("correct horse battery staple", Some(&a)));
        assert!(!verify_secret("wrong", Some(&a)));
        assert!(!verify_secret("cofund-dummy-password-for-timing", None));
        assert!(!verify_secret("x", Some("not a hash")));
    }
}
