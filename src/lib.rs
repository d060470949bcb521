//! cofund — civic crowdfunding with public match funding.
//!
//! Layout: `domain` is pure logic (money, validation, state machines), `db` is persistence on
//! SQLite or PostgreSQL through one diesel codebase, `http` maps requests to both, `jobs` runs
//! the scheduler, `auth` issues and checks tokens.

pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod http;
pub mod jobs;
pub mod telemetry;

pub use config::Config;
pub use http::{AppState, build_app};
