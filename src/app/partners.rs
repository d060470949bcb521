//! Partner frontends: machine clients that create pledges. Their client secret is stored as an
//! argon2 hash and shown once; the webhook secret signs outgoing webhooks, so it is kept as is
//! and never shown again. Disabling a partner or rotating its secret revokes its tokens.
//! Rotating its webhook secret keeps the old one signing beside the new one for an overlap
//! window (`COFUND_WEBHOOK_SECRET_OVERLAP_SECS`), so the partner can switch without a gap.

use super::AppState;
use super::invalid::Invalid;
use crate::auth::{Forbidden, Principal, hash_secret};
use crate::clock::now;
use crate::db::models::PartnerRow;
use crate::db::queries::audit;
use crate::db::schema::partners;
use crate::db::{DbError, write_tx};
use crate::domain::destination::{DEFAULT_PORTS, WebhookTarget};
use crate::domain::ids;
use crate::domain::role::Role;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// A partner as an admin registers it.
pub struct NewPartner {
    pub name: String,
    pub webhook_url: Option<String>,
}

/// A registered partner with its client secret, which only this answer carries.
pub struct Registered {
    pub row: PartnerRow,
    pub client_secret: String,
}

/// A partner's new client secret (shown once).
pub struct Rotated {
    pub client_id: String,
    pub client_secret: String,
}

/// A partner's new webhook secret (shown once), and until when the old one signs too.
pub struct RotatedWebhookSecret {
    pub webhook_secret: String,
    pub previous_valid_until: NaiveDateTime,
}

/// Why a partner was not registered, listed, disabled or given a new secret.
#[derive(Debug, thiserror::Error)]
pub enum PartnerError {
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    #[error("invalid fields")]
    Invalid(Vec<Invalid>),
    #[error("no such partner")]
    NotFound,
    #[error("a disabled partner's secret is not rotated")]
    Disabled,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for PartnerError {
    fn from(e: diesel::result::Error) -> PartnerError {
        PartnerError::Db(e.into())
    }
}

/// Only admins manage partners.
pub fn may_manage(actor: &Principal) -> Result<(), PartnerError> {
    Ok(actor.require(&[Role::Admin])?)
}

/// Registers a partner (admin), audited: its secrets are made here.
pub async fn register(
    state: &AppState,
    actor: Principal,
    new: NewPartner,
) -> Result<Registered, PartnerError> {
    may_manage(&actor)?;
    let mut errors = Vec::new();
    let name = new.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 {
        errors.push(Invalid::new("name", "1–200 characters"));
    }
    if let Some(url) = &new.webhook_url {
        // A literal special-purpose address or a port other than 443/80 is refused now; what a
        // host name resolves to is checked at every send.
        let ports = (!state.config.notify.allow_private_webhooks).then_some(&DEFAULT_PORTS[..]);
        if let Err(e) = WebhookTarget::parse(url, ports) {
            errors.push(Invalid::new("webhook_url", e.to_string()));
        }
    }
    if !errors.is_empty() {
        return Err(PartnerError::Invalid(errors));
    }
    let client_secret = ids::random_secret("cs", 32);
    let row = PartnerRow {
        id: ids::new_id(ids::PARTNER),
        name,
        client_id: ids::random_secret("ci", 12),
        client_secret_hash: hash_secret(&client_secret),
        webhook_url: new.webhook_url,
        webhook_secret: ids::random_secret("whsec", 32),
        created_at: now(),
    };
    let row = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| -> Result<PartnerRow, PartnerError> {
                diesel::insert_into(partners::table)
                    .values(&row)
                    .execute(conn)?;
                audit(conn, &actor, "partner.create", "partner", &row.id, None)?;
                Ok(row)
            })
        })
        .await?;
    Ok(Registered { row, client_secret })
}

/// A page of partners in id order after `cursor`: `limit + 1` rows (admin).
pub async fn list(
    state: &AppState,
    actor: &Principal,
    cursor: String,
    limit: i64,
) -> Result<Vec<PartnerRow>, PartnerError> {
    may_manage(actor)?;
    state
        .db
        .run(move |conn| -> Result<Vec<PartnerRow>, PartnerError> {
            Ok(partners::table
                .filter(partners::id.gt(&cursor))
                .order(partners::id)
                .limit(limit + 1)
                .select(PartnerRow::as_select())
                .load(conn)?)
        })
        .await
}

/// When the partner was disabled (None: it is not); `NotFound` when there is no such partner.
fn disabled_at(
    conn: &mut crate::db::DbConnection,
    id: &str,
) -> Result<Option<NaiveDateTime>, PartnerError> {
    partners::table
        .find(id)
        .select(partners::disabled_at)
        .first(conn)
        .optional()?
        .ok_or(PartnerError::NotFound)
}

/// Disables a partner (admin), idempotently: it gets no more tokens and its tokens are refused
/// from now on. Returns when it was disabled.
pub async fn disable(
    state: &AppState,
    actor: Principal,
    id: &str,
) -> Result<NaiveDateTime, PartnerError> {
    may_manage(&actor)?;
    let target = id.to_string();
    let at = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| -> Result<NaiveDateTime, PartnerError> {
                match disabled_at(conn, &target)? {
                    Some(at) => Ok(at),
                    None => {
                        let at = now();
                        diesel::update(partners::table.find(&target))
                            .set(partners::disabled_at.eq(Some(at)))
                            .execute(conn)?;
                        audit(conn, &actor, "partner.disable", "partner", &target, None)?;
                        Ok(at)
                    }
                }
            })
        })
        .await?;
    state
        .revocations
        .revoke(id, crate::auth::revocation::ALL_TOKENS);
    Ok(at)
}

/// Gives a partner a new client secret (admin; not a disabled partner): the old secret and the
/// tokens issued with it stop working.
pub async fn rotate_secret(
    state: &AppState,
    actor: Principal,
    id: &str,
) -> Result<Rotated, PartnerError> {
    may_manage(&actor)?;
    let secret = ids::random_secret("cs", 32);
    let hash = hash_secret(&secret);
    let target = id.to_string();
    let (client_id, at, generation) = state
        .db
        .run(move |conn| {
            write_tx(
                conn,
                |conn| -> Result<(String, NaiveDateTime, i64), PartnerError> {
                    let current: Option<(String, Option<NaiveDateTime>)> = partners::table
                        .find(&target)
                        .select((partners::client_id, partners::disabled_at))
                        .first(conn)
                        .optional()?;
                    let client_id = match current {
                        None => return Err(PartnerError::NotFound),
                        Some((_, Some(_))) => return Err(PartnerError::Disabled),
                        Some((client_id, None)) => client_id,
                    };
                    let at = now();
                    // The hash and its generation change in one statement (the sign-in reads
                    // both in one too).
                    let generation: i64 = diesel::update(partners::table.find(&target))
                        .set((
                            partners::client_secret_hash.eq(&hash),
                            partners::secret_rotated_at.eq(Some(at)),
                            partners::secret_version.eq(partners::secret_version + 1),
                        ))
                        .returning(partners::secret_version)
                        .get_result(conn)?;
                    audit(
                        conn,
                        &actor,
                        "partner.rotate_secret",
                        "partner",
                        &target,
                        None,
                    )?;
                    Ok((client_id, at, generation))
                },
            )
        })
        .await?;
    // Every token of an older generation stops working, whenever it was issued; and, for
    // tokens from before generations were recorded, those issued before this second.
    state.revocations.require_generation(id, generation);
    state.revocations.revoke(id, at.and_utc().timestamp());
    Ok(Rotated {
        client_id,
        client_secret: secret,
    })
}

/// Gives a partner a new webhook secret (admin; not a disabled partner), audited. Deliveries
/// are signed with both the new and the replaced secret until the overlap window
/// (`COFUND_WEBHOOK_SECRET_OVERLAP_SECS`) has passed, then with the new one only. A second
/// rotation inside the window drops the oldest secret: only the last two ever sign.
pub async fn rotate_webhook_secret(
    state: &AppState,
    actor: Principal,
    id: &str,
) -> Result<RotatedWebhookSecret, PartnerError> {
    may_manage(&actor)?;
    let secret = ids::random_secret("whsec", 32);
    let overlap = chrono::Duration::from_std(state.config.notify.webhook_secret_overlap)
        .unwrap_or(chrono::Duration::days(30));
    let target = id.to_string();
    let new_secret = secret.clone();
    let until = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| -> Result<NaiveDateTime, PartnerError> {
                if disabled_at(conn, &target)?.is_some() {
                    return Err(PartnerError::Disabled);
                }
                let until = now() + overlap;
                // The previous secret is the one the row holds when it is written (not one
                // read before): of two rotations at once, the second keeps the first's secret.
                diesel::update(partners::table.find(&target))
                    .set((
                        partners::webhook_secret_previous.eq(partners::webhook_secret.nullable()),
                        partners::webhook_secret.eq(&new_secret),
                        partners::webhook_secret_previous_until.eq(Some(until)),
                    ))
                    .execute(conn)?;
                audit(
                    conn,
                    &actor,
                    "partner.rotate_webhook_secret",
                    "partner",
                    &target,
                    None,
                )?;
                Ok(until)
            })
        })
        .await?;
    Ok(RotatedWebhookSecret {
        webhook_secret: secret,
        previous_valid_until: until,
    })
}
