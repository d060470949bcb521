//! Configuration from the environment (`COFUND_*`), with defaults that run a newcomer's
//! service on an embedded SQLite file.

use std::time::Duration;

/// The placeholder debtor IBAN a try-out runs with; no SEPA file is ever made with it.
pub const EXAMPLE_DEBTOR_IBAN: &str = "IT60X0542811101000000123456";

#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: String,
    pub bind: String,
    /// When set, `/metrics` is served only on this address (an operators' network), not on
    /// `bind`.
    pub admin_bind: Option<String>,
    pub auto_migrate: bool,
    pub db_pool_size: u32,
    pub jwt: JwtConfig,
    pub scheduler_interval: Duration,
    /// How long a replica's claim on a background job lasts without renewal (a dead replica's
    /// jobs are taken over after this).
    pub job_lease: Duration,
    /// How long a public campaign read may be served from memory when no write of this process
    /// intervened (bounds how stale another replica's write can look); zero disables the cache.
    pub read_cache_ttl: Duration,
    pub closing_grace: Duration,
    /// Failed sign-ins an account may have before each further one is delayed (2 s, doubling,
    /// at most 5 min); a source address may make ten times as many attempts per minute.
    pub token_rate_limit_per_min: u32,
    /// Reverse proxies whose `X-Forwarded-For` is believed (`COFUND_TRUSTED_PROXIES`: addresses
    /// or CIDR ranges, comma-separated). Empty: the peer address is the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The address people and partners reach the service at (`COFUND_PUBLIC_URL`): the base of
    /// every absolute link it writes; request headers never change it.
    pub public_url: PublicUrl,
    /// The console's session cookie carries `Secure`: whenever `public_url` is `https://`.
    pub cookie_secure: bool,
    pub log_format: LogFormat,
    pub payments: PaymentsConfig,
    /// The city, as the debtor of SEPA settlement files.
    pub debtor_name: String,
    pub debtor_iban: crate::domain::iban::Iban,
    pub debtor_bic: Option<crate::domain::iban::Bic>,
    /// The programme's collection account (`COFUND_COLLECTION_NAME`, `_IBAN`, `_BIC`): the
    /// debtor of the bank batches that pay associations their crowd money. No IBAN: no file.
    pub collection: CollectionAccount,
    pub notify: NotifyConfig,
}

#[derive(Clone, Debug)]
pub struct CollectionAccount {
    pub name: String,
    pub iban: Option<crate::domain::iban::Iban>,
    pub bic: Option<crate::domain::iban::Bic>,
}

/// `COFUND_PUBLIC_URL`, checked at start: an absolute `http://` or `https://` URL with a host,
/// no credentials, query or fragment; kept without its trailing slash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicUrl {
    base: String,
    https: bool,
}

impl PublicUrl {
    pub const DEFAULT: &'static str = "http://127.0.0.1:8080";

    pub fn parse(s: &str) -> Result<PublicUrl, String> {
        let s = s.trim();
        let url = reqwest::Url::parse(s).map_err(|_| format!("{s} is not an absolute URL"))?;
        let https = match url.scheme() {
            "https" => true,
            "http" => false,
            _ => return Err(format!("{s} must start with http:// or https://")),
        };
        if url.host_str().is_none_or(str::is_empty) {
            return Err(format!("{s} has no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!("{s} must not carry credentials"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!("{s} must not have a query or a fragment"));
        }
        Ok(PublicUrl {
            base: url.as_str().trim_end_matches('/').to_string(),
            https,
        })
    }

    /// The absolute link to `path` (which starts with `/`).
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Reached over HTTPS: Secure cookies and HSTS.
    pub fn is_https(&self) -> bool {
        self.https
    }

    pub fn as_str(&self) -> &str {
        &self.base
    }
}

#[derive(Clone)]
pub struct NotifyConfig {
    /// `smtp://`, `smtps://` or `smtp://…?tls=required`; None writes `.eml` files instead.
    pub smtp_url: Option<String>,
    pub mail_dir: String,
    pub mail_from: String,
    /// Tests only: allow partner webhooks to loopback/private addresses.
    pub allow_private_webhooks: bool,
    pub email_per_recipient_per_hour: u32,
    pub email_per_minute: u32,
    /// How long a partner's replaced webhook secret still signs deliveries beside the new one
    /// (`COFUND_WEBHOOK_SECRET_OVERLAP_SECS`, default 24 h).
    pub webhook_secret_overlap: Duration,
}

impl std::fmt::Debug for NotifyConfig {
    // The SMTP URL may carry a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotifyConfig")
            .field("smtp_url", &self.smtp_url.as_ref().map(|_| "<redacted>"))
            .field("mail_dir", &self.mail_dir)
            .field("mail_from", &self.mail_from)
            .field("allow_private_webhooks", &self.allow_private_webhooks)
            .finish()
    }
}

/// Who takes the donors' money.
#[derive(Clone, Copy, Debug, PartialEq, Eq, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum ProviderKind {
    Stripe,
    /// Moves no real money; its payments live in the database.
    Simulated,
    /// A pledge the donor pays by bank transfer to the association (never the service's
    /// provider: the configuration refuses it).
    BankTransfer,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Stripe => "stripe",
            ProviderKind::Simulated => "simulated",
            ProviderKind::BankTransfer => "bank_transfer",
        }
    }

    pub fn parse(s: &str) -> Option<ProviderKind> {
        [
            ProviderKind::Stripe,
            ProviderKind::Simulated,
            ProviderKind::BankTransfer,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }
}

crate::domain::stored::stored_as_text!(
    ProviderKind,
    "payment provider",
    ProviderKind::parse,
    |p| p.as_str().to_string()
);

#[derive(Clone)]
pub struct PaymentsConfig {
    pub provider: ProviderKind,
    /// `COFUND_PAYMENT_PROVIDER` was set (not a default).
    pub provider_explicit: bool,
    pub stripe_api_base: String,
    pub stripe_secret_key: Option<String>,
    /// Every secret a webhook may be signed with (rotation).
    pub webhook_secrets: Vec<String>,
    /// Smallest and largest pledge, in the campaign's currency.
    pub pledge_limits: crate::domain::money::PledgeLimits,
    /// A pending pledge expires after this long.
    pub pledge_ttl: Duration,
    /// A bank-transfer pledge waits this long for its money (`COFUND_BANK_TRANSFER_DAYS`).
    pub bank_transfer_days: u32,
    /// The provider is asked about pledges pending for longer than this (lost webhooks).
    pub reconcile_after: Duration,
    pub pledge_rate_limit_per_min: u32,
    /// `per_donation` funds: the most the unpaid pledges of one partner may hold of a fund's
    /// budget at once (`COFUND_PARTNER_HOLD_SHARE`, 0 < r ≤ 1, default 0.2).
    pub partner_hold_share: crate::domain::money::Ratio,
    /// The programme's share of a succeeded campaign's crowd money (`COFUND_PLATFORM_FEE_RATIO`,
    /// 0 ≤ r < 1, default 0: none).
    pub platform_fee_ratio: Option<rust_decimal::Decimal>,
    /// Provider events (their minimised payloads) are deleted after this long. Re-applying an
    /// event older than that changes nothing: pledge facts only move forward.
    pub event_retention: Duration,
}

impl std::fmt::Debug for PaymentsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaymentsConfig")
            .field("provider", &self.provider)
            .field("stripe_api_base", &self.stripe_api_base)
            .field(
                "stripe_secret_key",
                &self.stripe_secret_key.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "webhook_secrets",
                &format!("<{} redacted>", self.webhook_secrets.len()),
            )
            .field("pledge_limits", &self.pledge_limits)
            .field("pledge_ttl", &self.pledge_ttl)
            .field("bank_transfer_days", &self.bank_transfer_days)
            .field("reconcile_after", &self.reconcile_after)
            .finish()
    }
}

#[derive(Clone)]
pub struct JwtConfig {
    pub secret: Vec<u8>,
    pub issuer: String,
    pub audience: String,
    pub ttl: Duration,
}

impl std::fmt::Debug for JwtConfig {
    // The signing key never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtConfig")
            .field("secret", &"<redacted>")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("ttl", &self.ttl)
            .finish()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

/// Where the JWT secret comes from when none is configured: a fresh random key per process,
/// so a newcomer's `cargo run` works, but tokens die with the process and replicas disagree.
pub const EPHEMERAL_SECRET_NOTE: &str = "COFUND_JWT_SECRET is not set: using a random signing key for this process only (tokens will not survive a restart; set it in production)";

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the configuration through `lookup` (tests pass their own map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |k: &str, default: &str| lookup(k).unwrap_or_else(|| default.to_string());
        let parse_u64 = |k: &str, default: u64| -> Result<u64, ConfigError> {
            match lookup(k) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse()
                    .map_err(|_| ConfigError(format!("{k} must be a non-negative integer"))),
            }
        };
        let parse_bool = |k: &str, default: bool| -> Result<bool, ConfigError> {
            match lookup(k).as_deref().map(str::trim) {
                None => Ok(default),
                Some("true" | "1" | "yes") => Ok(true),
                Some("false" | "0" | "no") => Ok(false),
                Some(_) => Err(ConfigError(format!("{k} must be true or false"))),
            }
        };

        let secret = match lookup("COFUND_JWT_SECRET") {
            Some(s) => {
                if s.len() < 32 {
                    return Err(ConfigError(
                        "COFUND_JWT_SECRET must be at least 32 bytes".into(),
                    ));
                }
                if s.starts_with("CHANGE_ME") {
                    return Err(ConfigError(
                        "COFUND_JWT_SECRET still holds the example placeholder".into(),
                    ));
                }
                s.into_bytes()
            }
            None => {
                use rand::RngExt;
                let mut key = vec![0u8; 48];
                rand::rng().fill(&mut key[..]);
                key
            }
        };
        let ttl = parse_u64("COFUND_TOKEN_TTL_SECS", 3600)?;
        if ttl == 0 || ttl > 3600 {
            return Err(ConfigError(
                "COFUND_TOKEN_TTL_SECS must be between 1 and 3600".into(),
            ));
        }
        let pool = parse_u64("COFUND_DB_POOL_SIZE", 10)?;
        if pool == 0 || pool > 1000 {
            return Err(ConfigError(
                "COFUND_DB_POOL_SIZE must be between 1 and 1000".into(),
            ));
        }
        let interval = parse_u64("COFUND_SCHEDULER_INTERVAL_MS", 1000)?;
        if interval == 0 {
            return Err(ConfigError(
                "COFUND_SCHEDULER_INTERVAL_MS must be positive".into(),
            ));
        }
        let job_lease = parse_u64("COFUND_JOB_LEASE_MS", 30_000)?;
        if job_lease <= interval.saturating_mul(2) {
            return Err(ConfigError(
                "COFUND_JOB_LEASE_MS must be more than twice COFUND_SCHEDULER_INTERVAL_MS".into(),
            ));
        }
        let log_format = match get("COFUND_LOG_FORMAT", "pretty").as_str() {
            "pretty" => LogFormat::Pretty,
            "json" => LogFormat::Json,
            _ => {
                return Err(ConfigError(
                    "COFUND_LOG_FORMAT must be pretty or json".into(),
                ));
            }
        };
        let stripe_secret_key = lookup("COFUND_STRIPE_SECRET_KEY").filter(|k| !k.is_empty());
        let database_url = get("COFUND_DATABASE_URL", "sqlite://cofund.db");
        let explicit_provider = lookup("COFUND_PAYMENT_PROVIDER").filter(|p| !p.trim().is_empty());
        let provider = match explicit_provider.as_deref().map(str::trim) {
            Some("stripe") => ProviderKind::Stripe,
            Some("simulated") => ProviderKind::Simulated,
            None if stripe_secret_key.is_some() => ProviderKind::Stripe,
            None => ProviderKind::Simulated,
            Some(_) => {
                return Err(ConfigError(
                    "COFUND_PAYMENT_PROVIDER must be stripe or simulated".into(),
                ));
            }
        };
        if provider == ProviderKind::Stripe && stripe_secret_key.is_none() {
            return Err(ConfigError(
                "COFUND_PAYMENT_PROVIDER=stripe needs COFUND_STRIPE_SECRET_KEY".into(),
            ));
        }
        let mut webhook_secrets: Vec<String> = lookup("COFUND_STRIPE_WEBHOOK_SECRETS")
            .unwrap_or_default()
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        if webhook_secrets.is_empty() {
            if provider == ProviderKind::Stripe {
                return Err(ConfigError(
                    "COFUND_STRIPE_WEBHOOK_SECRETS is required with the stripe provider".into(),
                ));
            }
            // The simulated provider signs with a per-process secret.
            webhook_secrets.push(crate::domain::ids::random_secret("whsec_sim", 24));
        }
        let payments = PaymentsConfig {
            provider,
            provider_explicit: explicit_provider.is_some(),
            stripe_api_base: get("COFUND_STRIPE_API_BASE", "https://api.stripe.com"),
            stripe_secret_key,
            webhook_secrets,
            pledge_limits: crate::domain::money::PledgeLimits::parse(
                &get("COFUND_PLEDGE_MIN", "1.00"),
                &get("COFUND_PLEDGE_MAX", "10000.00"),
            )
            .map_err(|(which, e)| {
                ConfigError(format!(
                    "{}: {e}",
                    ["COFUND_PLEDGE_MIN", "COFUND_PLEDGE_MAX"][which]
                ))
            })?,
            pledge_ttl: Duration::from_secs(parse_u64("COFUND_PLEDGE_TTL_SECS", 3600)?),
            bank_transfer_days: match parse_u64("COFUND_BANK_TRANSFER_DAYS", 10)? {
                d @ 1..=90 => d as u32,
                _ => {
                    return Err(ConfigError(
                        "COFUND_BANK_TRANSFER_DAYS must be between 1 and 90".into(),
                    ));
                }
            },
            reconcile_after: Duration::from_secs(parse_u64(
                "COFUND_PLEDGE_RECONCILE_AFTER_SECS",
                600,
            )?),
            pledge_rate_limit_per_min: parse_u64("COFUND_PLEDGE_RATE_LIMIT_PER_MIN", 600)? as u32,
            partner_hold_share: crate::domain::money::Ratio::parse(
                get("COFUND_PARTNER_HOLD_SHARE", "0.2").trim(),
            )
            .map_err(|e| {
                ConfigError(format!(
                    "COFUND_PARTNER_HOLD_SHARE: {e} (a decimal ratio such as 0.2)"
                ))
            })?,
            platform_fee_ratio: {
                let raw = get("COFUND_PLATFORM_FEE_RATIO", "0");
                let raw = raw.trim();
                let bad = |e: &dyn std::fmt::Display| {
                    ConfigError(format!(
                        "COFUND_PLATFORM_FEE_RATIO: {e} (a decimal ratio from 0 to below 1, such as 0.02)"
                    ))
                };
                // "0", "0.0": no fee; anything else is a ratio 0 < r < 1.
                if !raw.is_empty()
                    && raw.bytes().all(|b| b == b'0' || b == b'.')
                    && raw.matches('.').count() <= 1
                {
                    None
                } else {
                    let r = crate::domain::money::Ratio::parse(raw).map_err(|e| bad(&e))?;
                    if r == crate::domain::money::Ratio::ONE {
                        return Err(bad(&"must be below 1"));
                    }
                    Some(r.value())
                }
            },
            event_retention: {
                let days = parse_u64("COFUND_PROVIDER_EVENT_RETENTION_DAYS", 90)?;
                // Stripe retries a delivery for three days: a shorter log could count one twice
                // in theory (it would not: facts are idempotent), and a longer one keeps data.
                if !(7..=3650).contains(&days) {
                    return Err(ConfigError(
                        "COFUND_PROVIDER_EVENT_RETENTION_DAYS must be between 7 and 3650".into(),
                    ));
                }
                Duration::from_secs(days * 86_400)
            },
        };
        let debtor_iban =
            crate::domain::iban::Iban::parse(&get("COFUND_DEBTOR_IBAN", EXAMPLE_DEBTOR_IBAN))
                .map_err(|e| ConfigError(format!("COFUND_DEBTOR_IBAN: {e}")))?;
        let debtor_bic = match lookup("COFUND_DEBTOR_BIC").filter(|b| !b.is_empty()) {
            None => None,
            Some(b) => Some(
                crate::domain::iban::Bic::parse(&b)
                    .map_err(|e| ConfigError(format!("COFUND_DEBTOR_BIC: {e}")))?,
            ),
        };
        let collection = CollectionAccount {
            name: get("COFUND_COLLECTION_NAME", "cofund - raccolta fondi"),
            iban: match lookup("COFUND_COLLECTION_IBAN").filter(|b| !b.trim().is_empty()) {
                None => None,
                Some(i) => Some(
                    crate::domain::iban::Iban::parse(&i)
                        .map_err(|e| ConfigError(format!("COFUND_COLLECTION_IBAN: {e}")))?,
                ),
            },
            bic: match lookup("COFUND_COLLECTION_BIC").filter(|b| !b.trim().is_empty()) {
                None => None,
                Some(b) => Some(
                    crate::domain::iban::Bic::parse(&b)
                        .map_err(|e| ConfigError(format!("COFUND_COLLECTION_BIC: {e}")))?,
                ),
            },
        };
        let overlap = parse_u64("COFUND_WEBHOOK_SECRET_OVERLAP_SECS", 24 * 3600)?;
        if overlap > 30 * 24 * 3600 {
            return Err(ConfigError(
                "COFUND_WEBHOOK_SECRET_OVERLAP_SECS must be at most 2592000 (30 days)".into(),
            ));
        }
        let notify = NotifyConfig {
            smtp_url: lookup("COFUND_SMTP_URL").filter(|u| !u.is_empty()),
            mail_dir: get("COFUND_MAIL_DIR", "mail"),
            mail_from: get("COFUND_MAIL_FROM", "cofund <noreply@cofund.invalid>"),
            allow_private_webhooks: parse_bool("COFUND_ALLOW_PRIVATE_WEBHOOKS", false)?,
            email_per_recipient_per_hour: parse_u64("COFUND_EMAIL_PER_RECIPIENT_PER_HOUR", 20)?
                as u32,
            email_per_minute: parse_u64("COFUND_EMAIL_PER_MINUTE", 600)? as u32,
            webhook_secret_overlap: Duration::from_secs(overlap),
        };
        let public_url = PublicUrl::parse(&get("COFUND_PUBLIC_URL", PublicUrl::DEFAULT))
            .map_err(|e| ConfigError(format!("COFUND_PUBLIC_URL: {e}")))?;
        // The old switch is gone: whether cookies are Secure follows COFUND_PUBLIC_URL. Refused
        // rather than ignored, so nobody who set it loses Secure cookies without noticing.
        if lookup("COFUND_COOKIE_SECURE").is_some() {
            return Err(ConfigError(
                "COFUND_COOKIE_SECURE was replaced by COFUND_PUBLIC_URL: remove it and set \
                 COFUND_PUBLIC_URL to the address people use (cookies are Secure when it is \
                 https://)"
                    .into(),
            ));
        }
        Ok(Config {
            notify,
            debtor_name: get("COFUND_DEBTOR_NAME", "Comune di Esempio"),
            debtor_iban,
            debtor_bic,
            collection,
            payments,
            database_url,
            bind: get("COFUND_BIND", "127.0.0.1:8080"),
            admin_bind: lookup("COFUND_ADMIN_BIND").filter(|b| !b.trim().is_empty()),
            auto_migrate: parse_bool("COFUND_AUTO_MIGRATE", true)?,
            cookie_secure: public_url.is_https(),
            public_url,
            db_pool_size: pool as u32,
            jwt: JwtConfig {
                secret,
                issuer: get("COFUND_JWT_ISSUER", "cofund"),
                audience: get("COFUND_JWT_AUDIENCE", "cofund-api"),
                ttl: Duration::from_secs(ttl),
            },
            scheduler_interval: Duration::from_millis(interval),
            job_lease: Duration::from_millis(job_lease),
            read_cache_ttl: Duration::from_millis(parse_u64("COFUND_READ_CACHE_MS", 1000)?),
            closing_grace: Duration::from_secs(parse_u64("COFUND_CLOSING_GRACE_SECS", 72 * 3600)?),
            token_rate_limit_per_min: parse_u64("COFUND_TOKEN_RATE_LIMIT_PER_MIN", 10)? as u32,
            trusted_proxies: lookup("COFUND_TRUSTED_PROXIES")
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| {
                    p.parse::<ipnet::IpNet>()
                        .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                        .map_err(|_| {
                            ConfigError(format!(
                                "COFUND_TRUSTED_PROXIES: {p} is not an address or CIDR range"
                            ))
                        })
                })
                .collect::<Result<_, _>>()?,
            log_format,
        })
    }

    /// True when no `COFUND_JWT_SECRET` was given and a per-process key is in use.
    /// What `cofund serve` requires beyond a readable configuration: on PostgreSQL an explicit
    /// payment provider (a default is a convenience for the embedded try-out only; a production
    /// database must say which provider takes the donors' money). The other commands (migrate,
    /// admin, reconcile) take no payment, so they do not ask.
    pub fn check_serve(&self) -> Result<(), ConfigError> {
        if !self.payments.provider_explicit && !self.database_url.starts_with("sqlite:") {
            return Err(ConfigError(
                "COFUND_PAYMENT_PROVIDER must be set (stripe or simulated) when the database is \
                 PostgreSQL; the simulated provider is the default only on the embedded SQLite \
                 database"
                    .into(),
            ));
        }
        Ok(())
    }

    pub fn jwt_secret_is_ephemeral(lookup: impl Fn(&str) -> Option<String>) -> bool {
        lookup("COFUND_JWT_SECRET").is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_run_on_embedded_sqlite() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.database_url, "sqlite://cofund.db");
        assert_eq!(c.bind, "127.0.0.1:8080");
        assert!(c.auto_migrate);
        assert_eq!(c.jwt.ttl, Duration::from_secs(3600));
        assert_eq!(c.closing_grace, Duration::from_secs(72 * 3600));
        assert_eq!(c.job_lease, Duration::from_secs(30));
    }

    #[test]
    fn a_job_lease_must_outlast_two_scheduler_ticks() {
        let short = [
            ("COFUND_SCHEDULER_INTERVAL_MS", "1000"),
            ("COFUND_JOB_LEASE_MS", "2000"),
        ];
        let err = cfg(&short).unwrap_err();
        assert!(err.0.contains("COFUND_JOB_LEASE_MS"), "{}", err.0);
        let ok = cfg(&[
            ("COFUND_SCHEDULER_INTERVAL_MS", "100"),
            ("COFUND_JOB_LEASE_MS", "2000"),
        ])
        .unwrap();
        assert_eq!(ok.job_lease, Duration::from_millis(2000));
    }

    #[test]
    fn rejects_weak_or_placeholder_secrets_and_long_ttls() {
        assert!(cfg(&[("COFUND_JWT_SECRET", "short")]).is_err());
        assert!(
            cfg(&[(
                "COFUND_JWT_SECRET",
                "CHANGE_ME_generate_with_openssl_rand_base64_48"
            )])
            .is_err()
        );
        assert!(cfg(&[("COFUND_TOKEN_TTL_SECS", "7200")]).is_err());
        assert!(cfg(&[("COFUND_AUTO_MIGRATE", "maybe")]).is_err());
    }

    #[test]
    fn provider_defaults_to_simulated_without_a_stripe_key() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.payments.provider, ProviderKind::Simulated);
        assert_eq!(c.payments.webhook_secrets.len(), 1);
        let c = cfg(&[
            ("COFUND_STRIPE_SECRET_KEY", "sk_test_x"),
            ("COFUND_STRIPE_WEBHOOK_SECRETS", "whsec_a, whsec_b"),
        ])
        .unwrap();
        assert_eq!(c.payments.provider, ProviderKind::Stripe);
        assert_eq!(c.payments.webhook_secrets, vec!["whsec_a", "whsec_b"]);
        assert!(cfg(&[("COFUND_STRIPE_SECRET_KEY", "sk_test_x")]).is_err());
        assert!(cfg(&[("COFUND_PAYMENT_PROVIDER", "stripe")]).is_err());
    }

    #[test]
    fn pledge_limits_are_checked_at_start() {
        let c = cfg(&[("COFUND_PLEDGE_MIN", "2.50")]).unwrap();
        assert_eq!(
            c.payments
                .pledge_limits
                .in_minor_units(crate::domain::money::Currency::EUR),
            (250, 1_000_000)
        );
        let err = cfg(&[("COFUND_PLEDGE_MIN", "one euro")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("COFUND_PLEDGE_MIN"), "{err}");
        let err = cfg(&[("COFUND_PLEDGE_MAX", "0")]).unwrap_err().to_string();
        assert!(err.contains("COFUND_PLEDGE_MAX"), "{err}");
        let err = cfg(&[("COFUND_PLEDGE_MIN", "500"), ("COFUND_PLEDGE_MAX", "100")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("larger than the maximum"), "{err}");
    }

    #[test]
    fn postgres_needs_an_explicit_provider() {
        let pg = ("COFUND_DATABASE_URL", "postgres://db.internal/cofund");
        let err = cfg(&[pg]).unwrap().check_serve().unwrap_err().to_string();
        assert!(err.contains("COFUND_PAYMENT_PROVIDER"), "{err}");
        // Not even a Stripe key stands in for the choice.
        let keyed = cfg(&[
            pg,
            ("COFUND_STRIPE_SECRET_KEY", "sk_test_x"),
            ("COFUND_STRIPE_WEBHOOK_SECRETS", "whsec_a"),
        ])
        .unwrap();
        assert!(keyed.check_serve().is_err());
        let c = cfg(&[pg, ("COFUND_PAYMENT_PROVIDER", "simulated")]).unwrap();
        assert!(c.check_serve().is_ok());
        // The embedded database keeps its try-out default.
        assert!(cfg(&[]).unwrap().check_serve().is_ok());
        assert_eq!(c.payments.provider, ProviderKind::Simulated);
        let printed = format!(
            "{:?}",
            cfg(&[
                ("COFUND_STRIPE_SECRET_KEY", "sk_test_x"),
                ("COFUND_STRIPE_WEBHOOK_SECRETS", "whsec_zz")
            ])
            .unwrap()
        );
        assert!(!printed.contains("sk_test_x") && !printed.contains("whsec_zz"));
    }

    #[test]
    fn the_public_url_is_checked_at_start_and_decides_secure_cookies() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.public_url.as_str(), "http://127.0.0.1:8080");
        assert!(!c.cookie_secure && !c.public_url.is_https());
        let c = cfg(&[("COFUND_PUBLIC_URL", "https://crowd.example.it/")]).unwrap();
        assert!(c.cookie_secure && c.public_url.is_https());
        assert_eq!(
            c.public_url.link("/campaigns/cmp_1"),
            "https://crowd.example.it/campaigns/cmp_1"
        );
        let c = cfg(&[("COFUND_PUBLIC_URL", "https://comune.example.it/cofund")]).unwrap();
        assert_eq!(
            c.public_url.link("/v1/campaigns/cmp_1"),
            "https://comune.example.it/cofund/v1/campaigns/cmp_1"
        );
        for bad in [
            "crowd.example.it",
            "/campaigns",
            "ftp://crowd.example.it",
            "https://crowd.example.it/?a=1",
            "https://crowd.example.it/#top",
            "https://user:pw@crowd.example.it",
            "http://",
        ] {
            let err = cfg(&[("COFUND_PUBLIC_URL", bad)]).unwrap_err().0;
            assert!(err.contains("COFUND_PUBLIC_URL"), "{bad}: {err}");
        }
        let err = cfg(&[("COFUND_COOKIE_SECURE", "true")]).unwrap_err().0;
        assert!(err.contains("COFUND_PUBLIC_URL"), "{err}");
    }

    #[test]
    fn secret_is_never_printed() {
        let c = cfg(&[(
            "COFUND_JWT_SECRET",
            "a-very-long-secret-value-that-is-long-enough",
        )])
        .unwrap();
        let printed = format!("{c:?}");
        assert!(!printed.contains("a-very-long-secret"));
    }
}
