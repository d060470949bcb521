//! Opaque, prefixed, time-ordered ids (`cmp_0193…`). The UUIDv7 body sorts by creation time,
//! which is what cursor pagination orders by.

pub const AREA: &str = "area";
pub const FUND: &str = "fund";
pub const ASSOCIATION: &str = "asso";
pub const CAMPAIGN: &str = "cmp";
pub const PLEDGE: &str = "plg";
pub const SETTLEMENT: &str = "stl";
pub const USER: &str = "usr";
pub const PARTNER: &str = "ptn";
pub const AUDIT: &str = "aud";

/// A new id such as `fund_0193b3c4d5e67f00a1b2c3d4e5f60718`.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

/// True when `id` looks like an id of this kind (cheap guard before touching the database).
pub fn has_prefix(id: &str, prefix: &str) -> bool {
    id.len() == prefix.len() + 33
        && id.starts_with(prefix)
        && id.as_bytes()[prefix.len()] == b'_'
        && id[prefix.len() + 1..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A random secret of `bytes` bytes, hex-encoded, with a readable prefix (`whsec_…`).
pub fn random_secret(prefix: &str, bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::fill(&mut buf[..]);
    let mut out = String::with_capacity(prefix.len() + 1 + bytes * 2);
    out.push_str(prefix);
    out.push('_');
    for b in buf {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_their_prefix_and_sort_by_creation() {
        let a = new_id(CAMPAIGN);
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new_id(CAMPAIGN);
        assert!(a.starts_with("cmp_"));
        assert!(has_prefix(&a, CAMPAIGN));
        assert!(!has_prefix(&a, FUND));
        assert!(a < b);
        assert!(!has_prefix("cmp_../../etc", CAMPAIGN));
    }
}
