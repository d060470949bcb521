//! The application layer: the service's shared state (what every use case, request handler
//! and background job needs) and its in-memory caches. Nothing here imports `http`.

pub mod areas;
pub mod associations;
pub mod auth;
pub mod bank_transfers;
pub mod cache;
pub mod call_intake;
pub mod calls;
pub mod campaigns;
pub mod console;
pub mod crowd;
pub mod deliveries;
pub mod donors;
pub mod funds;
pub mod grant_decisions;
pub mod grant_reports;
pub mod grants;
pub mod invalid;
pub mod match_money;
pub mod matching;
pub mod ops;
pub mod partners;
pub mod payment_events;
pub mod payments;
pub mod payouts;
pub mod per_donation;
pub mod pledges;
pub mod quadratic;
pub mod receipt_links;
pub mod receipts;
pub mod reports;
pub mod sessions;
pub mod settlements;
pub mod transparency;
pub mod updates;
pub mod users;
pub mod work_queue;

use crate::auth::{RateLimiter, TokenIssuer};
use crate::config::Config;
use crate::db::Db;
use crate::providers::PaymentProvider;
use crate::providers::simulated::Simulated;
use crate::providers::stripe::StripeClient;
use crate::telemetry::Metrics;
use std::sync::Arc;
use std::time::Duration;

pub use invalid::Invalid;

/// Everything a use case, request handler or job needs, shared by all workers.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub tokens: TokenIssuer,
    /// Tokens refused before they expire (disabled principals, rotated secrets).
    pub revocations: Arc<crate::auth::revocation::Revocations>,
    /// Failed sign-ins per username / client id (only failures count).
    pub sign_in_backoff: Arc<crate::auth::FailureBackoff>,
    /// Token attempts per source address (ten times looser).
    pub token_ip_limiter: Arc<RateLimiter>,
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
    pub provider: Arc<PaymentProvider>,
    /// Webhook replays per partner.
    pub replay_limiter: Arc<RateLimiter>,
    /// Pledge creations per partner.
    pub pledge_limiter: Arc<RateLimiter>,
    /// Donors' requests for a receipts link, per source address.
    pub receipt_link_limiter: Arc<RateLimiter>,
    pub mailer: Arc<crate::notify::mailer::Mailer>,
    /// E-mails per minute, whoever the recipient (a burst must not become a flood).
    pub email_limiter: Arc<RateLimiter>,
    /// Public campaign reads served from memory until a write or the TTL outdates them.
    pub campaign_cache: Arc<cache::CampaignCache>,
    /// Target areas prepared for point-in-area queries.
    pub areas: Arc<cache::AreaCatalog>,
    /// This process's name in `job_leases` (see [`replica_id`]).
    pub replica_id: Arc<str>,
    /// When the matching job last looked at every running campaign.
    pub match_catch_up: Arc<matching::CatchUp>,
}

impl AppState {
    pub fn new(config: Config, db: Db) -> AppState {
        crate::init_tls();
        let provider = match config.payments.provider {
            crate::config::ProviderKind::Stripe => PaymentProvider::Stripe(StripeClient::new(
                &config.payments.stripe_api_base,
                config
                    .payments
                    .stripe_secret_key
                    .as_deref()
                    .unwrap_or_default(),
            )),
            crate::config::ProviderKind::Simulated => PaymentProvider::Simulated(Simulated::new(
                &config.payments.webhook_secrets[0],
                db.clone(),
            )),
            crate::config::ProviderKind::BankTransfer => {
                unreachable!("the configuration never makes bank transfers the provider")
            }
        };
        AppState::with_provider(config, db, provider)
    }

    /// Like [`AppState::new`] with a given payment provider (tests point Stripe at a fake).
    pub fn with_provider(config: Config, db: Db, provider: PaymentProvider) -> AppState {
        let mailer = crate::notify::mailer::Mailer::from_config(&config.notify)
            .unwrap_or_else(|e| panic!("mail configuration: {e}"));
        AppState {
            mailer: Arc::new(mailer),
            email_limiter: Arc::new(RateLimiter::new(
                config.notify.email_per_minute,
                Duration::from_secs(60),
            )),
            provider: Arc::new(provider),
            campaign_cache: Arc::new(cache::CampaignCache::new(
                config.read_cache_ttl,
                db.write_epoch().clone(),
            )),
            areas: Arc::new(cache::AreaCatalog::new(db.write_epoch().clone())),
            replica_id: replica_id().into(),
            match_catch_up: Arc::default(),
            replay_limiter: Arc::new(RateLimiter::new(60, Duration::from_secs(60))),
            receipt_link_limiter: Arc::new(RateLimiter::new(10, Duration::from_secs(3600))),
            pledge_limiter: Arc::new(RateLimiter::new(
                config.payments.pledge_rate_limit_per_min,
                Duration::from_secs(60),
            )),
            tokens: TokenIssuer::new(&config.jwt),
            revocations: Arc::new(Default::default()),
            sign_in_backoff: Arc::new(crate::auth::FailureBackoff::new(
                config.token_rate_limit_per_min,
                Duration::from_secs(2),
                Duration::from_secs(300),
            )),
            token_ip_limiter: Arc::new(RateLimiter::new(
                config.token_rate_limit_per_min.saturating_mul(10),
                Duration::from_secs(60),
            )),
            db,
            config: Arc::new(config),
            metrics: Arc::new(Metrics::default()),
        }
    }
}

/// Budget went back to a fund: serve its waitlist now. Best effort: the scheduler's matching
/// job serves every waitlist again on its next run if this fails.
pub async fn serve_waitlist_now(state: &AppState, fund_id: String) {
    let fund_id = crate::domain::ids::FundId::from(fund_id);
    let served = state
        .db
        .run(move |conn| -> Result<usize, crate::db::DbError> {
            Ok(crate::app::matching::serve_waitlist(conn, &fund_id)?)
        })
        .await;
    if let Err(e) = served {
        tracing::warn!(error = %e, "serving the waitlist failed; the scheduler will retry");
    }
}

/// A name for this process in `job_leases.holder`: host (the pod name on Kubernetes), process id
/// and a random suffix, so a restarted process never inherits its predecessor's leases.
pub fn replica_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string());
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}:{}:{}", std::process::id(), &suffix[..8])
}
