//! The console's sessions, kept on the server: the browser's cookie carries only a random id,
//! the database its SHA-256, the user and when it ends. Every replica reads the same table, so
//! signing out (the row deleted) or an admin disabling the user ends the session at once
//! everywhere; a copy of the cookie taken before is worth nothing after. The API's bearer
//! tokens are not involved: their check stays a signature and the in-memory revocation list.

use super::AppState;
use crate::auth::Principal;
use crate::db::schema::{console_sessions, users};
use crate::db::{DbError, write_tx};
use crate::domain::role::Role;
use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use sha2::{Digest, Sha256};

/// What the table keeps of a session id: its SHA-256, in hex.
fn id_hash(id: &str) -> String {
    Sha256::digest(id.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Opens a session for `user_id` (whose sign-in was just checked) lasting `ttl`, and returns
/// its id, for the cookie only. Expired sessions of anyone are deleted on the way.
pub async fn open(state: &AppState, user_id: String, ttl: TimeDelta) -> Result<String, DbError> {
    let id = crate::domain::ids::random_secret("ses", 32);
    let hash = id_hash(&id);
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| -> Result<(), DbError> {
                let now = crate::clock::now();
                diesel::delete(
                    console_sessions::table.filter(console_sessions::expires_at.le(now)),
                )
                .execute(conn)?;
                diesel::insert_into(console_sessions::table)
                    .values((
                        console_sessions::id_hash.eq(&hash),
                        console_sessions::user_id.eq(&user_id),
                        console_sessions::created_at.eq(now),
                        console_sessions::expires_at.eq(now + ttl),
                    ))
                    .execute(conn)?;
                Ok(())
            })
        })
        .await?;
    Ok(id)
}

/// Who a session id stands for: a session that exists, has not expired, of a user who is not
/// disabled and whose tokens issued when it opened are not revoked. None otherwise.
pub async fn principal(state: &AppState, id: &str) -> Result<Option<Principal>, DbError> {
    let hash = id_hash(id);
    let found = state
        .db
        .read(move |conn| -> Result<Option<_>, DbError> {
            let now = crate::clock::now();
            let session: Option<(String, NaiveDateTime)> = console_sessions::table
                .filter(console_sessions::id_hash.eq(&hash))
                .filter(console_sessions::expires_at.gt(now))
                .select((console_sessions::user_id, console_sessions::created_at))
                .first(conn)
                .optional()?;
            let Some((user_id, created_at)) = session else {
                return Ok(None);
            };
            let user: Option<(String, Option<String>)> = users::table
                .filter(users::id.eq(&user_id))
                .filter(users::disabled_at.is_null())
                .select((users::role, users::association_id))
                .first(conn)
                .optional()?;
            Ok(user.map(|(role, association_id)| (user_id, created_at, role, association_id)))
        })
        .await?;
    let Some((sub, created_at, role, association_id)) = found else {
        return Ok(None);
    };
    // The same cutoffs as the user's tokens (a disabled user on a replica that has not yet read
    // the database is refused by the query above anyway).
    if state
        .revocations
        .is_revoked(&sub, created_at.and_utc().timestamp())
    {
        return Ok(None);
    }
    let Some(role) = Role::parse(&role) else {
        return Ok(None);
    };
    if (role == Role::Association) != association_id.is_some() {
        return Ok(None);
    }
    Ok(Some(Principal {
        sub,
        role,
        association_id,
        partner_id: None,
    }))
}

/// Ends a session: its row is deleted, so its id opens nothing on any replica.
pub async fn close(state: &AppState, id: &str) -> Result<(), DbError> {
    let hash = id_hash(id);
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| -> Result<(), DbError> {
                diesel::delete(console_sessions::table.filter(console_sessions::id_hash.eq(&hash)))
                    .execute(conn)?;
                Ok(())
            })
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_hash_is_kept_and_it_is_stable() {
        let h = id_hash("ses_abc");
        assert_eq!(h.len(), 64);
        assert_eq!(h, id_hash("ses_abc"));
        assert_ne!(h, id_hash("ses_abd"));
        assert!(!h.contains("abc"));
    }
}
