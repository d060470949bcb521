//! Signing in: a user's password or a partner client's credentials checked, under the sign-in
//! back-off and the per-address limit, for an access token. The one door for the API's token
//! endpoint and the console's login form.

use super::AppState;
use crate::auth::token::Subject;
use crate::auth::verify_secret;
use crate::db::DbError;
use crate::db::schema::{partners, users};
use crate::domain::role::Role;
use diesel::prelude::*;
use std::time::Duration;

/// What a caller offers for a token.
pub enum Grant {
    Password { username: String, password: String },
    Client { client_id: String, secret: String },
}

/// Why no token was issued.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Too many failed attempts for this name, or too many attempts from this address: retry
    /// after this long.
    #[error("too many attempts; retry later")]
    RateLimited(Duration),
    /// Unknown or disabled name, or the wrong secret (the caller cannot tell which).
    #[error("wrong credentials")]
    WrongCredentials,
    /// The secret check on the blocking pool did not finish.
    #[error("password check")]
    CheckFailed,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for AuthError {
    fn from(e: diesel::result::Error) -> AuthError {
        AuthError::Db(e.into())
    }
}

/// The stored secret hash of the account a grant names, who it is, and the generation of that
/// secret (read together).
type Found = (String, Subject, i64);

/// Checks a grant under the sign-in back-off (per username or client id; only failures count)
/// and the per-address limit, and issues a token for the user or partner it names.
pub async fn sign_in(state: &AppState, ip: &str, grant: Grant) -> Result<String, AuthError> {
    let ip = ip.to_string();
    let name = match &grant {
        Grant::Password { username, .. } => format!("user|{username}"),
        Grant::Client { client_id, .. } => format!("client|{client_id}"),
    };
    state
        .sign_in_backoff
        .check(&name)
        .map_err(AuthError::RateLimited)?;
    state
        .token_ip_limiter
        .check(&ip)
        .map_err(AuthError::RateLimited)?;

    // The stored hash is read on a pooled connection; the (deliberately slow) hash check runs
    // after the connection went back to the pool. The hash and its generation are read in one
    // statement: a token checked against a secret that is being replaced carries the replaced
    // generation, and is refused once the rotation is applied.
    let (secret, found) = state
        .db
        .run(move |conn| -> Result<(String, Option<Found>), AuthError> {
            Ok(match grant {
                Grant::Password { username, password } => {
                    let user: Option<(String, String, String, Option<String>)> = users::table
                        .filter(users::username.eq(&username))
                        .filter(users::disabled_at.is_null())
                        .select((
                            users::id,
                            users::password_hash,
                            users::role,
                            users::association_id,
                        ))
                        .first(conn)
                        .optional()?;
                    let found = user.and_then(|(id, hash, role, association_id)| {
                        Role::parse(&role).map(|role| {
                            (
                                hash,
                                Subject {
                                    sub: id,
                                    role,
                                    association_id,
                                    partner_id: None,
                                },
                                0,
                            )
                        })
                    });
                    (password, found)
                }
                Grant::Client { client_id, secret } => {
                    let partner: Option<(String, String, i64)> = partners::table
                        .filter(partners::client_id.eq(&client_id))
                        .filter(partners::disabled_at.is_null())
                        .select((
                            partners::id,
                            partners::client_secret_hash,
                            partners::secret_version,
                        ))
                        .first(conn)
                        .optional()?;
                    let found = partner.map(|(id, hash, generation)| {
                        (
                            hash,
                            Subject {
                                sub: id.clone(),
                                role: Role::Partner,
                                association_id: None,
                                partner_id: Some(id),
                            },
                            generation,
                        )
                    });
                    (secret, found)
                }
            })
        })
        .await?;
    let subject = tokio::task::spawn_blocking(move || {
        // Unknown names are checked against a dummy hash too: the answer takes as long.
        let ok = verify_secret(&secret, found.as_ref().map(|(hash, _, _)| hash.as_str()));
        found
            .filter(|_| ok)
            .map(|(_, subject, generation)| (subject, generation))
    })
    .await
    .map_err(|_| AuthError::CheckFailed)?;
    let Some((subject, generation)) = subject else {
        state.sign_in_backoff.failed(&name);
        tracing::info!("token request with wrong credentials");
        return Err(AuthError::WrongCredentials);
    };
    state.sign_in_backoff.succeeded(&name);
    Ok(state.tokens.issue_for_generation(subject, generation))
}
