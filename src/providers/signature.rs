//! Stripe-style webhook signatures: `t=<unix>,v1=<hex hmac>[,v1=…]` over `"{t}.{body}"` with
//! HMAC-SHA256. Used to verify the payment provider's webhooks and to sign cofund's own.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Seconds a signature stays valid, either side of now.
pub const TOLERANCE_SECS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing signature header")]
    Missing,
    #[error("malformed signature header")]
    Malformed,
    #[error("signature timestamp outside the tolerance")]
    Stale,
    #[error("no signature matches")]
    NoMatch,
}

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    let mut m = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m
}

/// The hex signature of `body` at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
}

/// A complete header value: `t=…,v1=…`.
pub fn header(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!("t={timestamp},v1={}", sign(secret, timestamp, body))
}

/// A header signed with each of `secrets` in turn: `t=…,v1=<first>,v1=<second>…` (while a
/// secret is being rotated, the new one and the one it replaces).
pub fn header_all(secrets: &[&str], timestamp: i64, body: &[u8]) -> String {
    let mut h = format!("t={timestamp}");
    for secret in secrets {
        h.push_str(",v1=");
        h.push_str(&sign(secret, timestamp, body));
    }
    h
}

/// The most `v1` signatures a header may carry. Stripe sends one, two while it rotates a
/// secret; a header with more is refused before any MAC is computed.
pub const MAX_SIGNATURES: usize = 8;

/// Bodies MACed by [`verify`] in this process (each one a pass over the whole body): what a
/// forged request costs, for tests and `/metrics`.
static MACS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub fn macs_computed() -> u64 {
    MACS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Checks `header` against every secret (rotation) and every `v1` (the sender's rotation), in
/// constant time per comparison. Anything else than a fresh, matching signature is an error.
/// Costs at most one pass over the body per configured secret, whatever the header holds: the
/// header is parsed and bounded first, and each secret's MAC state is finished once per `v1`
/// (two hash blocks) rather than recomputed over the body.
fn verify_counting(
    header: Option<&str>,
    body: &[u8],
    secrets: &[String],
    now: i64,
) -> (Result<(), SignatureError>, u64) {
    let mut macs = 0;
    let result = (|| {
        let header = header.ok_or(SignatureError::Missing)?;
        let mut timestamp: Option<i64> = None;
        let mut signatures: Vec<Vec<u8>> = Vec::new();
        for part in header.split(',') {
            let (key, value) = part
                .trim()
                .split_once('=')
                .ok_or(SignatureError::Malformed)?;
            match key {
                "t" => {
                    if timestamp.is_some() {
                        return Err(SignatureError::Malformed);
                    }
                    timestamp = Some(value.parse().map_err(|_| SignatureError::Malformed)?);
                }
                "v1" => {
                    if signatures.len() == MAX_SIGNATURES || value.len() != 64 {
                        return Err(SignatureError::Malformed);
                    }
                    signatures.push(hex::decode(value).map_err(|_| SignatureError::Malformed)?)
                }
                // Other schemes (v0, …) are ignored, as Stripe's libraries do.
                _ => {}
            }
        }
        let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
        if signatures.is_empty() {
            return Err(SignatureError::Malformed);
        }
        if (now - timestamp).abs() > TOLERANCE_SECS {
            return Err(SignatureError::Stale);
        }
        for secret in secrets.iter().filter(|s| !s.is_empty()) {
            macs += 1;
            let over_body = mac(secret, timestamp, body);
            for sig in &signatures {
                if over_body.clone().verify_slice(sig).is_ok() {
                    return Ok(());
                }
            }
        }
        Err(SignatureError::NoMatch)
    })();
    (result, macs)
}

/// [`verify_counting`], counted in [`macs_computed`].
pub fn verify(
    header: Option<&str>,
    body: &[u8],
    secrets: &[String],
    now: i64,
) -> Result<(), SignatureError> {
    let (result, macs) = verify_counting(header, body, secrets, now);
    MACS.fetch_add(macs, std::sync::atomic::Ordering::Relaxed);
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NOW: i64 = 1_800_000_000;

    fn secrets(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn a_header_signed_by_two_secrets_verifies_with_either_and_not_with_a_third() {
        let body = br#"{"id":"evt_1"}"#;
        let h = header_all(&["whsec_new", "whsec_old"], NOW, body);
        assert_eq!(h.matches(",v1=").count(), 2);
        assert!(h.starts_with(&header("whsec_new", NOW, body)));
        for s in ["whsec_new", "whsec_old"] {
            assert_eq!(verify(Some(&h), body, &secrets(&[s]), NOW), Ok(()));
        }
        assert_eq!(
            verify(Some(&h), body, &secrets(&["whsec_other"]), NOW),
            Err(SignatureError::NoMatch)
        );
    }

    #[test]
    fn a_header_full_of_signatures_costs_at_most_one_mac_per_secret() {
        let body = vec![b'x'; 200_000];
        let two = secrets(&["whsec_a", "whsec_b"]);
        let forged = format!("t={NOW}{}", ",v1=".repeat(20_000));
        assert_eq!(
            verify_counting(Some(&forged), &body, &two, NOW),
            (Err(SignatureError::Malformed), 0)
        );
        let sig = format!(",v1={}", "ab".repeat(32));
        let nine = format!("t={NOW}{}", sig.repeat(9));
        assert_eq!(
            verify_counting(Some(&nine), &body, &two, NOW),
            (Err(SignatureError::Malformed), 0)
        );
        // Eight wrong signatures, two secrets: two passes over the body, not sixteen.
        let eight = format!("t={NOW}{}", sig.repeat(8));
        assert_eq!(
            verify_counting(Some(&eight), &body, &two, NOW),
            (Err(SignatureError::NoMatch), 2)
        );
        // The right one among them still matches.
        let right = format!("{eight},v1={}", sign("whsec_b", NOW, &body));
        let seven_and_right = right.replacen(&sig, "", 1);
        assert_eq!(
            verify_counting(Some(&seven_and_right), &body, &two, NOW),
            (Ok(()), 2)
        );
    }

    #[test]
    fn accepts_valid_and_rotated_signatures() {
        let body = br#"{"id":"evt_1"}"#;
        let h = header("whsec_a", NOW, body);
        assert_eq!(verify(Some(&h), body, &secrets(&["whsec_a"]), NOW), Ok(()));
        // The receiver rotates: old and new secrets both configured.
        assert_eq!(
            verify(Some(&h), body, &secrets(&["whsec_new", "whsec_a"]), NOW),
            Ok(())
        );
        // The sender rotates: two v1 values, one of them ours.
        let two = format!(
            "t={NOW},v1={},v1={}",
            sign("whsec_other", NOW, body),
            sign("whsec_a", NOW, body)
        );
        assert_eq!(
            verify(Some(&two), body, &secrets(&["whsec_a"]), NOW),
            Ok(())
        );
    }

    #[test]
    fn rejects_everything_else() {
        let body = br#"{"id":"evt_1"}"#;
        let h = header("whsec_a", NOW, body);
        let s = secrets(&["whsec_a"]);
        assert_eq!(
            verify(Some(&h), body, &secrets(&["whsec_b"]), NOW),
            Err(SignatureError::NoMatch)
        );
        assert_eq!(
            verify(Some(&h), br#"{"id":"evt_2"}"#, &s, NOW),
            Err(SignatureError::NoMatch)
        );
        assert_eq!(
            verify(Some(&h), body, &s, NOW + 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(Some(&h), body, &s, NOW - 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(verify(None, body, &s, NOW), Err(SignatureError::Missing));
        for garbled in [
            "",
            "t=abc,v1=00",
            "v1=00",
            &format!("t={NOW}"),
            &format!("t={NOW},v1=zz"),
            "nonsense",
        ] {
            assert_eq!(
                verify(Some(garbled), body, &s, NOW),
                Err(SignatureError::Malformed),
                "{garbled}"
            );
        }
        assert_eq!(
            verify(Some(&h), body, &secrets(&[""]), NOW),
            Err(SignatureError::NoMatch)
        );
    }

    proptest! {
        #[test]
        fn any_tampering_is_detected(body in proptest::collection::vec(any::<u8>(), 1..200), flip in any::<usize>()) {
            let h = header("whsec_a", NOW, &body);
            let mut tampered = body.clone();
            let i = flip % tampered.len();
            tampered[i] ^= 0x01;
            prop_assert_eq!(verify(Some(&h), &tampered, &secrets(&["whsec_a"]), NOW), Err(SignatureError::NoMatch));
            prop_assert_eq!(verify(Some(&h), &body, &secrets(&["whsec_a"]), NOW), Ok(()));
        }
    }
}
