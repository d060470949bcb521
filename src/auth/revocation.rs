//! Tokens that must stop working before they expire: those of a disabled user or partner, and
//! a partner's tokens issued before its client secret was rotated. Checked on every request
//! from memory; each replica reloads the list from the database on every scheduler interval,
//! and the replica that disables or rotates applies it at once.
//!
//! A rotation is exact: each token carries the generation of the secret it was checked against
//! (`cv`, read with the secret hash in one statement), a rotation raises the partner's
//! generation in the same update that replaces the hash, and a token of an older generation is
//! refused, whenever it was issued (in the rotation's second, or after it by a check that read
//! the old hash). Generations only grow, so a reload never lowers one.

use std::collections::HashMap;
use std::sync::RwLock;

/// Per principal, the least value a token must carry (its `iat`, or its `cv`); raising it
/// keeps the higher of the two values.
#[derive(Default)]
struct Floors(RwLock<HashMap<String, i64>>);

impl Floors {
    fn refuses(&self, sub: &str, value: i64) -> bool {
        self.0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(sub)
            .is_some_and(|floor| value < *floor)
    }

    fn raise(&self, all: impl IntoIterator<Item = (String, i64)>) {
        let mut map = self.0.write().unwrap_or_else(|p| p.into_inner());
        for (sub, floor) in all {
            let entry = map.entry(sub).or_insert(floor);
            *entry = (*entry).max(floor);
        }
    }

    fn replace(&self, all: HashMap<String, i64>) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = all;
    }
}

#[derive(Default)]
pub struct Revocations {
    /// Principal id → tokens issued (`iat`, Unix seconds) before this are refused.
    cutoff: Floors,
    /// Principal id → the credential generation (`cv`) a token must carry at least.
    generation: Floors,
}

/// The cutoff of a disabled principal: every token.
pub const ALL_TOKENS: i64 = i64::MAX;

impl Revocations {
    pub fn is_revoked(&self, sub: &str, issued_at: i64) -> bool {
        self.cutoff.refuses(sub, issued_at)
    }

    /// Refuses `sub`'s tokens issued before `cutoff` (keeps the later of two cutoffs).
    pub fn revoke(&self, sub: &str, cutoff: i64) {
        self.cutoff.raise([(sub.to_string(), cutoff)]);
    }

    /// Replaces the whole list with what the database says.
    pub fn replace(&self, all: HashMap<String, i64>) {
        self.cutoff.replace(all);
    }

    /// True when `sub`'s credential has been replaced since the token's generation `cv`.
    pub fn is_outdated(&self, sub: &str, cv: i64) -> bool {
        self.generation.refuses(sub, cv)
    }

    /// Refuses `sub`'s tokens of a generation below `generation` (never lowers it).
    pub fn require_generation(&self, sub: &str, generation: i64) {
        self.generation.raise([(sub.to_string(), generation)]);
    }

    /// Takes in the generations the database holds. A reload read before a rotation committed
    /// cannot undo the rotation this replica already applied: each generation keeps the higher
    /// of the two.
    pub fn merge_generations(&self, all: HashMap<String, i64>) {
        self.generation.raise(all);
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

    #[test]
    fn a_rotation_refuses_every_older_generation_and_a_stale_reload_cannot_undo_it() {
        let r = Revocations::default();
        assert!(!r.is_outdated("ptn_1", 0));
        r.require_generation("ptn_1", 1);
        assert!(r.is_outdated("ptn_1", 0));
        assert!(!r.is_outdated("ptn_1", 1));
        // A reload that read the database before the rotation committed.
        r.merge_generations(HashMap::from([("ptn_1".to_string(), 0)]));
        assert!(r.is_outdated("ptn_1", 0));
        r.merge_generations(HashMap::from([("ptn_1".to_string(), 3)]));
        assert!(r.is_outdated("ptn_1", 2));
        assert!(!r.is_outdated("ptn_1", 3));
        assert!(!r.is_outdated("ptn_2", 0));
    }
}
