//! Tokens that must stop working before they expire: those of a disabled user or partner, and
//! a partner's tokens issued before its client secret was rotated. Checked on every request
//! from memory; each replica reloads the list from the database on every scheduler interval,
//! and the replica that disables or rotates applies it at once.

use std::collections::HashMap;
use std::sync::RwLock;

#[derive(Default)]
pub struct Revocations {
    /// Principal id → tokens issued (`iat`, Unix seconds) before this are refused.
    cutoff: RwLock<HashMap<String, i64>>,
}

/// The cutoff of a disabled principal: every token.
pub const ALL_TOKENS: i64 = i64::MAX;

impl Revocations {
    pub fn is_revoked(&self, sub: &str, issued_at: i64) -> bool {
        self.cutoff
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(sub)
            .is_some_and(|cutoff| issued_at < *cutoff)
    }

    /// Refuses `sub`'s tokens issued before `cutoff` (keeps the later of two cutoffs).
    pub fn revoke(&self, sub: &str, cutoff: i64) {
        let mut map = self.cutoff.write().unwrap_or_else(|p| p.into_inner());
        let entry = map.entry(sub.to_string()).or_insert(cutoff);
        *entry = (*entry).max(cutoff);
    }

    /// Replaces the whole list with what the database says.
    pub fn replace(&self, all: HashMap<String, i64>) {
        *self.cutoff.write().unwrap_or_else(|p| p.into_inner()) = all;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disabled_refuses_every_token_and_rotation_the_older_ones() {
        let r = Revocations::default();
        r.revoke("ptn_1", 1_000);
        assert!(r.is_revoked("ptn_1", 999));
        assert!(!r.is_revoked("ptn_1", 1_000));
        r.revoke("ptn_1", ALL_TOKENS);
        assert!(r.is_revoked("ptn_1", 5_000));
        r.revoke("ptn_1", 2_000);
        assert!(r.is_revoked("ptn_1", 5_000), "the later cutoff is kept");
        assert!(!r.is_revoked("usr_2", 0));
    }
}
