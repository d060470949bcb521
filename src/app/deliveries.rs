//! The outbox as its readers see it: a partner's recent webhook deliveries (and replaying one),
//! the admin's view of every message (the dead letters among them).

use super::AppState;
use crate::auth::{Forbidden, Principal};
use crate::clock::now;
use crate::db::DbError;
use crate::db::models::OutboxRow;
use crate::db::queries::audit;
use crate::db::schema::outbox;
use crate::domain::delivery::{Channel, DeliveryStatus};
use crate::domain::role::Role;
use diesel::prelude::*;
use std::time::Duration;

/// Why deliveries were not listed or replayed.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// A partner's token without a partner.
    #[error("no partner")]
    NoPartner,
    /// Too many replays by this partner: retry after this long.
    #[error("too many replays; retry later")]
    RateLimited(Duration),
    /// No such event among the partner's webhooks.
    #[error("no such delivery")]
    NotFound,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for DeliveryError {
    fn from(e: diesel::result::Error) -> DeliveryError {
        DeliveryError::Db(e.into())
    }
}

/// A partner allowed to read its own deliveries (see [`partner`]).
#[derive(Debug, Clone)]
pub struct PartnerCaller {
    partner_id: String,
}

/// An admin allowed to read the whole outbox (see [`admin`]).
#[derive(Debug, Clone, Copy)]
pub struct AdminCaller(());

/// The caller as a partner reading its deliveries: a partner's token naming its partner.
pub fn partner(principal: &Principal) -> Result<PartnerCaller, DeliveryError> {
    principal.require(&[Role::Partner])?;
    let partner_id = principal
        .partner_id
        .clone()
        .ok_or(DeliveryError::NoPartner)?;
    Ok(PartnerCaller { partner_id })
}

/// The caller as an admin reading the outbox.
pub fn admin(principal: &Principal) -> Result<AdminCaller, DeliveryError> {
    principal.require(&[Role::Admin])?;
    Ok(AdminCaller(()))
}

/// Which messages, newest first.
#[derive(Debug, Clone)]
pub struct DeliveryQuery {
    /// Only messages in this stored state (`pending`, `sent`, `dead`; anything else matches
    /// nothing).
    pub status: Option<String>,
    /// Only messages whose id comes before this one.
    pub before: Option<String>,
    /// The page size (checked by the caller).
    pub limit: i64,
}

/// The partner's webhook deliveries, newest first: at most `limit + 1` rows (the extra one
/// tells a page that more follow).
pub async fn partner_deliveries(
    state: &AppState,
    caller: &PartnerCaller,
    query: DeliveryQuery,
) -> Result<Vec<OutboxRow>, DeliveryError> {
    let partner_id = caller.partner_id.clone();
    state
        .db
        .run(move |conn| -> Result<Vec<OutboxRow>, DeliveryError> {
            let mut q = outbox::table
                .filter(outbox::channel.eq(Channel::Webhook))
                .filter(outbox::recipient.eq(&partner_id))
                .order(outbox::id.desc())
                .limit(query.limit + 1)
                .select(OutboxRow::as_select())
                .into_boxed();
            if let Some(c) = query.before {
                q = q.filter(outbox::id.lt(c));
            }
            if let Some(s) = query.status {
                q = q.filter(outbox::status.eq(s));
            }
            Ok(q.load(conn)?)
        })
        .await
}

/// Delivers one of the calling partner's webhook events again (same event id and body), with
/// a fresh day of retries. Each replay makes the outbox call the partner's endpoint again: at
/// most 60 a minute per partner, so a partner (or a stolen token) cannot keep the outbox busy.
/// Another partner's event is [`DeliveryError::NotFound`], as a missing one.
pub async fn replay(
    state: &AppState,
    principal: Principal,
    event_id: String,
) -> Result<OutboxRow, DeliveryError> {
    let PartnerCaller { partner_id } = partner(&principal)?;
    state
        .replay_limiter
        .check(&partner_id)
        .map_err(DeliveryError::RateLimited)?;
    let id = event_id;
    state
        .db
        .run(move |conn| -> Result<OutboxRow, DeliveryError> {
            let n = diesel::update(outbox::table.find(&id))
                .filter(outbox::channel.eq(Channel::Webhook))
                .filter(outbox::recipient.eq(&partner_id))
                .set((
                    outbox::status.eq(DeliveryStatus::Pending),
                    outbox::next_attempt_at.eq(now()),
                    outbox::lease_until.eq(None::<chrono::NaiveDateTime>),
                    // A replay gets a fresh day of retries.
                    outbox::created_at.eq(now()),
                ))
                .execute(conn)?;
            if n == 0 {
                // Another partner's event looks exactly like a missing one.
                return Err(DeliveryError::NotFound);
            }
            audit(conn, &principal, "webhook.replay", "event", &id, None)?;
            Ok(outbox::table
                .find(&id)
                .select(OutboxRow::as_select())
                .first(conn)?)
        })
        .await
}

/// Every message of the outbox, newest first: at most `limit + 1` rows (the extra one tells a
/// page that more follow).
pub async fn outbox_messages(
    state: &AppState,
    _caller: AdminCaller,
    query: DeliveryQuery,
) -> Result<Vec<OutboxRow>, DeliveryError> {
    state
        .db
        .run(move |conn| -> Result<Vec<OutboxRow>, DeliveryError> {
            let mut q = outbox::table
                .order(outbox::id.desc())
                .limit(query.limit + 1)
                .select(OutboxRow::as_select())
                .into_boxed();
            if let Some(c) = query.before {
                q = q.filter(outbox::id.lt(c));
            }
            if let Some(s) = query.status {
                q = q.filter(outbox::status.eq(s));
            }
            Ok(q.load(conn)?)
        })
        .await
}

/// Whether the reader may see a message's contents: webhook bodies yes; e-mail payloads carry
/// donor data, so an admin sees the delivery facts, not the contents.
pub fn payload_shown(row: &OutboxRow) -> bool {
    row.channel == Channel::Webhook
}
