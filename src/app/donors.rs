//! Erasing a donor's personal data (GDPR art. 17): the accounting records stay.
//!
//! Name, e-mail and tax code are wiped from every pledge of the address, the traces the
//! address left elsewhere (messages, queued e-mails) go, and the pledges and distinct-donor
//! counts filed under the address's hash move to a random key, so nothing left can be matched
//! against it. Campaign totals and donor counts do not change; a later pledge from the same
//! address counts as a new donor. The mail folder (the file transport) loses every message to
//! the address too. The pledges' request hashes (kept for idempotent retries) are overwritten
//! with a value no request matches: a retry of an erased donor's pledge answers 409.

use super::AppState;
use super::invalid::Invalid;
use super::pledges::{ERASED_REQUEST_HASH, legacy_donor_key};
use crate::auth::{Forbidden, Principal};
use crate::clock::now;
use crate::db::queries::audit;
use crate::db::schema::{donors, pledges};
use crate::db::{DbError, write_tx};
use crate::domain::email::Email;
use crate::domain::role::Role;
use diesel::prelude::*;

/// Why a donor was not erased.
#[derive(Debug, thiserror::Error)]
pub enum ErasureError {
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// The address is not an e-mail address.
    #[error("invalid e-mail address")]
    Invalid(Invalid),
    #[error(transparent)]
    Db(#[from] DbError),
    /// The mail folder's clean-up did not run to its end.
    #[error("mail folder clean-up")]
    MailCleanUp,
    #[error("mail folder clean-up: {0}")]
    MailFolder(std::io::Error),
}

impl From<diesel::result::Error> for ErasureError {
    fn from(e: diesel::result::Error) -> ErasureError {
        ErasureError::Db(e.into())
    }
}

/// Erases the personal data of the donor with this e-mail address everywhere (admin), audited
/// without the address. Returns how many donor records were erased.
pub async fn erase(state: &AppState, actor: Principal, email: &str) -> Result<usize, ErasureError> {
    actor.require(&[Role::Admin])?;
    let email = Email::parse(email)
        .map_err(|e| ErasureError::Invalid(Invalid::new("email", e)))?
        .as_str()
        .to_lowercase();
    let erased_address = email.clone();
    let erased = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| -> Result<usize, ErasureError> {
                let theirs: Vec<String> = donors::table
                    .filter(donors::email.eq(&email))
                    .select(donors::pledge_id)
                    .load(conn)?;
                // The identity's keyed hash goes too (and the unkeyed hash older pledges were
                // filed under): the pledges and counts filed under them move to a random key
                // before the address itself is wiped.
                let mut keys: Vec<String> = pledges::table
                    .filter(pledges::id.eq_any(&theirs))
                    .select(pledges::donor_key)
                    .distinct()
                    .load(conn)?;
                keys.push(legacy_donor_key(&email));
                keys.sort();
                keys.dedup();
                for key in keys.iter().filter(|k| !k.contains("erased-")) {
                    crate::app::payment_events::rekey_donor(conn, key)?;
                }
                crate::app::payment_events::erase_donor_traces(conn, &email, &theirs)?;
                // The request hash (keyed, but a hash of her name, address and tax code all
                // the same) goes too: a retry of her pledge's key is refused from now on.
                diesel::update(pledges::table.filter(pledges::id.eq_any(&theirs)))
                    .set(pledges::request_hash.eq(ERASED_REQUEST_HASH))
                    .execute(conn)?;
                let n = diesel::update(donors::table.filter(donors::email.eq(&email)))
                    .set((
                        donors::name.eq(None::<String>),
                        donors::email.eq(None::<String>),
                        donors::tax_code.eq(None::<String>),
                        donors::erased_at.eq(Some(now())),
                    ))
                    .execute(conn)?;
                // The audit trail records that an erasure happened, not whose.
                audit(
                    conn,
                    &actor,
                    "donor.erase",
                    "donor",
                    "-",
                    Some(format!("{n} records")),
                )?;
                Ok(n)
            })
        })
        .await?;
    // The mail folder (the file transport, when no SMTP relay is configured) keeps a copy of
    // every message sent: those to this address go too.
    if state.config.notify.smtp_url.is_none() {
        let dir = state.config.notify.mail_dir.clone();
        let address = erased_address.clone();
        tokio::task::spawn_blocking(move || forget_mail_to(&dir, &address))
            .await
            .map_err(|_| ErasureError::MailCleanUp)?
            .map_err(ErasureError::MailFolder)?;
    }
    Ok(erased)
}

/// Deletes every message file in `dir` that mentions `address` (case-insensitively).
fn forget_mail_to(dir: &str, address: &str) -> std::io::Result<usize> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let needle = address.to_lowercase();
    let mut removed = 0;
    for entry in entries {
        let path = entry?.path();
        if !path.is_file() {
            continue;
        }
        let text = String::from_utf8_lossy(&std::fs::read(&path)?).to_lowercase();
        if text.contains(&needle) {
            std::fs::remove_file(&path)?;
            removed += 1;
        }
    }
    Ok(removed)
}
