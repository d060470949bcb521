//! JWT access tokens: HS256 pinned, `iss`/`aud`/`exp` required and checked.

use crate::config::JwtConfig;
use crate::domain::role::Role;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub exp: i64,
    pub iat: i64,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub association_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<String>,
    /// The generation of the credential the token was issued against (a partner's client
    /// secret; 0 for users): a rotation raises it, and older tokens are refused
    /// ([`crate::auth::revocation::Revocations::is_outdated`]).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cv: i64,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

#[derive(Clone)]
pub struct TokenIssuer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    config: JwtConfig,
}

/// The subject of a token, as the rest of the service sees it.
pub struct Subject {
    pub sub: String,
    pub role: Role,
    pub association_id: Option<String>,
    pub partner_id: Option<String>,
}

impl TokenIssuer {
    pub fn new(config: &JwtConfig) -> TokenIssuer {
        // Only HS256 is accepted, whatever the token's header claims.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 30;
        TokenIssuer {
            encoding: EncodingKey::from_secret(&config.secret),
            decoding: DecodingKey::from_secret(&config.secret),
            validation,
            config: config.clone(),
        }
    }

    pub fn ttl_secs(&self) -> u64 {
        self.config.ttl.as_secs()
    }

    pub fn issue(&self, subject: Subject) -> String {
        self.issue_for_generation(subject, 0)
    }

    /// A token issued against generation `credential` of the subject's credential: read in
    /// the same statement as the secret hash it was checked against, so a token checked
    /// against a replaced secret carries the replaced generation.
    pub fn issue_for_generation(&self, subject: Subject, credential: i64) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            iss: self.config.issuer.clone(),
            aud: self.config.audience.clone(),
            sub: subject.sub,
            exp: now + self.config.ttl.as_secs() as i64,
            iat: now,
            role: subject.role,
            association_id: subject.association_id,
            partner_id: subject.partner_id,
            cv: credential,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing of plain claims cannot fail")
    }

    pub fn verify(&self, token: &str) -> Option<Claims> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()?
            .claims;
        // A token must carry the scope its role needs.
        let consistent = match claims.role {
            Role::Association => claims.association_id.is_some() && claims.partner_id.is_none(),
            Role::Partner => claims.partner_id.is_some() && claims.association_id.is_none(),
            _ => claims.association_id.is_none() && claims.partner_id.is_none(),
        };
        consistent.then_some(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn config(secret: &str) -> JwtConfig {
        JwtConfig {
            secret: secret.as_bytes().to_vec(),
            issuer: "cofund".into(),
            audience: "cofund-api".into(),
            ttl: Duration::from_secs(3600),
        }
    }

    fn subject() -> Subject {
        Subject {
            sub: "usr_1".into(),
            role: Role::Admin,
            association_id: None,
            partner_id: None,
        }
    }

    #[test]
    fn round_trip_and_wrong_key() {
        let a = TokenIssuer::new(&config("0123456789abcdef0123456789abcdef"));
        let b = TokenIssuer::new(&config("fedcba9876543210fedcba9876543210"));
        let t = a.issue(subject());
        assert_eq!(a.verify(&t).unwrap().role, Role::Admin);
        assert!(b.verify(&t).is_none());
        assert!(a.verify("garbage").is_none());
    }

    #[test]
    fn the_credential_generation_travels_in_the_token() {
        let a = TokenIssuer::new(&config("0123456789abcdef0123456789abcdef"));
        assert_eq!(a.verify(&a.issue(subject())).unwrap().cv, 0);
        let t = a.issue_for_generation(subject(), 7);
        assert_eq!(a.verify(&t).unwrap().cv, 7);
    }

    #[test]
    fn rejects_alg_none_other_audience_and_expired() {
        let cfg = config("0123456789abcdef0123456789abcdef");
        let a = TokenIssuer::new(&cfg);
        let now = chrono::Utc::now().timestamp();
        let mut claims = Claims {
            iss: "cofund".into(),
            aud: "cofund-api".into(),
            sub: "usr_1".into(),
            exp: now + 60,
            iat: now,
            role: Role::Admin,
            association_id: None,
            partner_id: None,
            cv: 0,
        };
        // alg=none: header + payload with an empty signature.
        use base64_like::encode;
        let unsigned = format!(
            "{}.{}.",
            encode(br#"{"alg":"none","typ":"JWT"}"#),
            encode(serde_json::to_string(&claims).unwrap().as_bytes())
        );
        assert!(a.verify(&unsigned).is_none());
        let key = EncodingKey::from_secret(&cfg.secret);
        claims.aud = "someone-else".into();
        let t = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).unwrap();
        assert!(a.verify(&t).is_none());
        claims.aud = "cofund-api".into();
        claims.exp = now - 3600;
        let t = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).unwrap();
        assert!(a.verify(&t).is_none());
        claims.exp = now + 60;
        claims.role = Role::Association; // association role without an association
        let t = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).unwrap();
        assert!(a.verify(&t).is_none());
    }

    /// Minimal base64url (no padding) for building a forged token in the test.
    mod base64_like {
        pub fn encode(input: &[u8]) -> String {
            const A: &[u8; 64] =
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let mut out = String::new();
            for chunk in input.chunks(3) {
                let b = [
                    chunk[0],
                    *chunk.get(1).unwrap_or(&0),
                    *chunk.get(2).unwrap_or(&0),
                ];
                let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
                for i in 0..=chunk.len() {
                    out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
                }
            }
            out
        }
    }
}
