//! Donors' own receipts: a donor gives an address and, if it gave, gets a one-time link (valid
//! 24 hours) to a page with every receipt of it. The answer is the same whether the address is
//! known or not; neither the address nor the link is stored in clear.

use crate::app::receipts::{ReceiptFacts, number_for_pledge, of_pledge};
use crate::app::{AppState, Invalid};
use crate::clock::now;
use crate::db::receipt_links::{self as store, ReceiptLinkRow};
use crate::db::{DbError, write_tx};
use crate::domain::email::Email;
use crate::domain::ids;
use sha2::{Digest, Sha256};

/// Hours a link opens the receipts.
pub const VALID_HOURS: i64 = 24;
/// Links an address may ask for in 24 hours (each is an e-mail to it).
pub const PER_ADDRESS_PER_DAY: i64 = 3;
/// Receipts one link opens at most (the newest).
pub const LISTED: i64 = 100;

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("the request has invalid fields")]
    Invalid(Vec<Invalid>),
    /// Unknown, already used or expired: all the same to the holder.
    #[error("this link is used, expired or unknown")]
    Gone,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for LinkError {
    fn from(e: diesel::result::Error) -> LinkError {
        LinkError::Db(DbError::Query(e))
    }
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Asks for a link for `email`. Ok for every well-formed address: a known one (a donor that
/// paid and is not erased) gets an e-mail, within the per-address limit; an unknown one gets
/// nothing, and counts toward the same limit.
pub async fn request(state: &AppState, email: String) -> Result<(), LinkError> {
    let email = Email::parse(&email)
        .map_err(|_| LinkError::Invalid(vec![Invalid::new("email", "an e-mail address")]))?;
    let key = crate::app::pledges::identity_key(state).of(None, email.as_str());
    let token = ids::random_secret("rcl", 32);
    let hash = token_hash(&token);
    let url = state.config.public_url.link(&format!("/receipts/{token}"));
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| -> Result<(), LinkError> {
                let t = now();
                if store::asked_since(conn, &key, t - chrono::Duration::hours(24))?
                    >= PER_ADDRESS_PER_DAY
                {
                    return Ok(());
                }
                let pledges = store::pledges_of_address(conn, email.as_str(), LISTED)?;
                store::insert(
                    conn,
                    &ReceiptLinkRow {
                        token_hash: hash,
                        email_key: key,
                        pledge_ids: serde_json::to_string(&pledges).unwrap_or_default(),
                        created_at: t,
                        expires_at: t + chrono::Duration::hours(VALID_HOURS),
                        // Nothing to open: the row only counts toward the limit.
                        used_at: pledges.is_empty().then_some(t),
                    },
                )?;
                if let Some(first) = pledges.first() {
                    crate::notify::receipt_link(conn, first, &url)?;
                }
                Ok(())
            })
        })
        .await
}

/// Opens a link once: the receipts it names whose donor is still there, numbered if they were
/// still queued. A second opening, or one after 24 hours, is [`LinkError::Gone`].
pub async fn open(state: &AppState, token: String) -> Result<Vec<ReceiptFacts>, LinkError> {
    if token.len() > 100 {
        return Err(LinkError::Gone);
    }
    let hash = token_hash(&token);
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| -> Result<Vec<ReceiptFacts>, LinkError> {
                let ids = store::spend(conn, &hash, now())?.ok_or(LinkError::Gone)?;
                let ids: Vec<String> = serde_json::from_str(&ids).unwrap_or_default();
                let mut shown = Vec::new();
                for id in ids.iter().take(LISTED as usize) {
                    number_for_pledge(conn, id)?;
                    if let Some(f) = of_pledge(conn, id)?
                        && f.donor_name.is_some()
                    {
                        shown.push(f);
                    }
                }
                Ok(shown)
            })
        })
        .await
}
