//! Tokens, password hashing and rate limiting.

pub mod backoff;
pub mod password;
pub mod principal;
pub mod rate_limit;
pub mod revocation;
pub mod token;

pub use backoff::FailureBackoff;
pub use password::{hash_secret, verify_secret};
pub use principal::{Forbidden, Principal};
pub use rate_limit::RateLimiter;
pub use token::{Claims, TokenIssuer};
