#![recursion_limit = "256"]
//! cofund — civic crowdfunding with public match funding.
//!
//! Layout: `domain` is pure logic (money, validation, state machines), `db` is persistence on
//! SQLite or PostgreSQL through one diesel codebase, `http` maps requests to both, `jobs` runs
//! the scheduler, `auth` issues and checks tokens.

pub mod app;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod http;
pub mod jobs;
pub mod locale;
pub mod notify;
pub mod providers;
pub mod telemetry;

pub use config::Config;
pub use http::{AppState, build_app};

/// Installs rustls's ring crypto provider (once), before any HTTPS client is built. ring builds
/// with a plain C compiler, unlike the default aws-lc, which keeps the "Rust + cc" promise.
pub fn init_tls() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
