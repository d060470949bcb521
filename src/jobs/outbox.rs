//! The outbox dispatcher: claims due messages with a lease (so a replica that dies mid-send
//! leaves them to be retried: at least once), sends them, and retries with exponential backoff
//! until a maximum age, after which a message is dead-lettered for an admin to see.

use crate::app::AppState;
use crate::clock::now;
use crate::db::DbError;
use crate::db::models::OutboxRow;
use crate::db::schema::{outbox, partners};
use crate::domain::delivery::{Channel, DeliveryStatus};
use crate::domain::destination::{DEFAULT_PORTS, WebhookTarget, is_special_purpose};
use crate::notify::templates::{self, Template};
use crate::providers::signature;
use diesel::prelude::*;
use futures_util::stream::{self, StreamExt};
use std::time::Duration;

const BATCH: i64 = 50;
/// Messages of one pass in flight at once: a slow partner holds one slot, not the pass.
pub const CONCURRENT_SENDS: usize = 8;

/// How long a pass owns what it claimed, and how it stays inside that.
#[derive(Clone, Copy, Debug)]
pub struct PassLimits {
    /// The claim on a message: another replica may take it once this has passed.
    pub lease: Duration,
    /// Longest one send may take (SMTP, or a partner's connect + answer) before it counts as a
    /// failed attempt.
    pub send_timeout: Duration,
    /// A send starts only while the lease has at least this long left (the timeout plus time to
    /// write the outcome), so every send ends and is recorded before the lease runs out and no
    /// other replica can send the same message a second time. Messages not started in time are
    /// handed back.
    pub margin: Duration,
}

impl Default for PassLimits {
    fn default() -> PassLimits {
        PassLimits {
            lease: Duration::from_secs(120),
            send_timeout: Duration::from_secs(30),
            margin: Duration::from_secs(45),
        }
    }
}

#[derive(Debug)]
enum Failure {
    /// Worth retrying.
    Retry(String),
    /// Never going to work (e.g. a forbidden destination): dead-letter now.
    Permanent(String),
}

/// Posts a signed partner webhook. The destination is resolved once, checked, and pinned, so
/// a DNS answer cannot switch to a private address between the check and the request.
async fn post_webhook(
    url: &str,
    secrets: &[&str],
    body: &str,
    allow_private: bool,
) -> Result<(), Failure> {
    let ports = (!allow_private).then_some(&DEFAULT_PORTS[..]);
    let target = WebhookTarget::parse(url, ports)
        .map_err(|e| Failure::Permanent(format!("webhook URL refused: {e}")))?;
    let parsed =
        reqwest::Url::parse(url).map_err(|_| Failure::Permanent("invalid webhook URL".into()))?;
    let host = parsed.host_str().unwrap_or_default().to_string();
    let addrs: Vec<std::net::SocketAddr> =
        tokio::net::lookup_host((target.host.as_str(), target.port))
            .await
            .map_err(|_| Failure::Retry("cannot resolve the webhook host".into()))?
            .collect();
    let Some(addr) = addrs.first().copied() else {
        return Err(Failure::Retry("the webhook host has no address".into()));
    };
    // Every address the name resolves to, not only the one used: a round-robin answer must not
    // smuggle an internal address in.
    if !allow_private && addrs.iter().any(|a| is_special_purpose(a.ip())) {
        return Err(Failure::Permanent(
            "destination refused: the host resolves to a private or special-purpose address".into(),
        ));
    }
    let client = reqwest::Client::builder()
        // Never through a proxy from the environment: the address checked is the one reached.
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .resolve(&host, addr)
        .build()
        .map_err(|_| Failure::Retry("http client".into()))?;
    let t = chrono::Utc::now().timestamp();
    let res = client
        .post(parsed)
        .header("content-type", "application/json")
        .header(
            "Cofund-Signature",
            signature::header_all(secrets, t, body.as_bytes()),
        )
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| {
            Failure::Retry(if e.is_timeout() {
                "timeout".into()
            } else {
                "connection failed".into()
            })
        })?;
    if res.status().is_success() {
        Ok(())
    } else {
        Err(Failure::Retry(format!(
            "partner answered {}",
            res.status().as_u16()
        )))
    }
}

fn backoff(attempts: i32) -> chrono::Duration {
    chrono::Duration::seconds(
        10i64
            .saturating_mul(1i64 << attempts.clamp(0, 12))
            .min(3600),
    )
}

fn max_age(channel: Channel) -> chrono::Duration {
    match channel {
        Channel::Webhook => chrono::Duration::hours(24),
        Channel::Email => chrono::Duration::hours(72),
    }
}

#[derive(diesel::QueryableByName)]
struct ClaimedId {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
}

/// PostgreSQL: one statement claims a batch, skipping rows another replica is claiming right
/// now (`FOR UPDATE SKIP LOCKED`), so replicas never wait on each other. (SQLite serialises
/// writers, so the per-row conditional update above is enough there.)
fn claim_skip_locked(
    pg: &mut diesel::PgConnection,
    t: chrono::NaiveDateTime,
    lease_until: chrono::NaiveDateTime,
    emails: bool,
) -> Result<Vec<OutboxRow>, DbError> {
    use diesel::sql_types::{BigInt, Timestamp};
    // Two statements, not one with a flag: only a statement that names the channel is planned
    // on `outbox_due_by_channel`, and without it a webhooks-only claim walks every pending
    // e-mail.
    const ANY_CHANNEL: &str = "UPDATE outbox SET lease_until = $2, attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $1 \
                      AND (lease_until IS NULL OR lease_until < $1) \
                      ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) \
         RETURNING id";
    const WEBHOOKS_ONLY: &str = "UPDATE outbox SET lease_until = $2, attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM outbox WHERE channel = 'webhook' AND status = 'pending' \
                      AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until < $1) \
                      ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) \
         RETURNING id";
    let ids: Vec<ClaimedId> = diesel::sql_query(if emails { ANY_CHANNEL } else { WEBHOOKS_ONLY })
        .bind::<Timestamp, _>(t)
        .bind::<Timestamp, _>(lease_until)
        .bind::<BigInt, _>(BATCH)
        .load(pg)?;
    let ids: Vec<String> = ids.into_iter().map(|c| c.id).collect();
    let mut rows: Vec<OutboxRow> = outbox::table
        .filter(outbox::id.eq_any(&ids))
        .select(OutboxRow::as_select())
        .load(pg)?;
    // The rows were read after the claim: report the attempt number from before it.
    for r in &mut rows {
        r.attempts -= 1;
    }
    Ok(rows)
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DispatchReport {
    pub sent: usize,
    pub failed: usize,
    pub dead: usize,
    pub postponed: usize,
    pub suppressed: usize,
    /// Claimed too late in the lease to start; handed back for the next pass.
    pub released: usize,
}

/// Claims and sends due messages.
pub async fn dispatch(state: &AppState) -> Result<DispatchReport, DbError> {
    dispatch_within(state, PassLimits::default()).await
}

/// [`dispatch`] with explicit lease limits.
pub async fn dispatch_within(
    state: &AppState,
    limits: PassLimits,
) -> Result<DispatchReport, DbError> {
    let lease = chrono::Duration::from_std(limits.lease).unwrap_or(chrono::Duration::MAX);
    // While the global e-mail budget is spent, e-mails stay where they are: claiming them only
    // to postpone them would cost a few writes per message during a rush.
    let emails = !state.email_limiter.is_exhausted("global");
    // The leases run from before the claim: numbering receipts after it must not eat into them.
    let claimed_at = std::time::Instant::now();
    let claimed: Vec<OutboxRow> = state
        .db
        .run_quiet(move |conn| -> Result<Vec<OutboxRow>, DbError> {
            let t = now();
            let claimed = claim(conn, t, lease, emails)?;
            // Donations counted before these messages were written have their receipts queued
            // (same transaction): number them now, so that donor e-mails carry their number.
            if claimed
                .iter()
                .any(|r| r.recipient.starts_with(crate::notify::DONOR_PREFIX))
            {
                crate::app::receipts::number_queued(conn)?;
            }
            Ok(claimed)
        })
        .await?;
    dispatch_claimed(state, claimed, claimed_at, limits).await
}

/// Claims the outbox messages due at `t` (e-mails only when `emails`): on PostgreSQL in one
/// statement that skips rows another replica holds; elsewhere row by row.
fn claim(
    conn: &mut crate::db::DbConnection,
    t: chrono::NaiveDateTime,
    lease: chrono::Duration,
    emails: bool,
) -> Result<Vec<OutboxRow>, DbError> {
    if let crate::db::DbConnection::Postgresql(pg) = conn {
        return claim_skip_locked(pg, t, t + lease, emails);
    }
    let mut due = outbox::table.into_boxed();
    if !emails {
        // Equality, so that `outbox_due_by_channel` serves it (see `claim_skip_locked`).
        due = due.filter(outbox::channel.eq(Channel::Webhook));
    }
    let due: Vec<OutboxRow> = due
        .filter(outbox::status.eq(DeliveryStatus::Pending))
        .filter(outbox::next_attempt_at.le(t))
        .filter(outbox::lease_until.is_null().or(outbox::lease_until.lt(t)))
        .order(outbox::next_attempt_at)
        .limit(BATCH)
        .select(OutboxRow::as_select())
        .load(conn)?;
    let mut mine = Vec::new();
    for row in due {
        // The claim: whoever moves the lease first sends it.
        let n = diesel::update(outbox::table.find(&row.id))
            .filter(outbox::status.eq(DeliveryStatus::Pending))
            .filter(outbox::lease_until.is_null().or(outbox::lease_until.lt(t)))
            .set((
                outbox::lease_until.eq(Some(t + lease)),
                outbox::attempts.eq(outbox::attempts + 1),
            ))
            .execute(conn)?;
        if n == 1 {
            mine.push(row);
        }
    }
    Ok(mine)
}

/// Sends what [`dispatch_within`] claimed.
async fn dispatch_claimed(
    state: &AppState,
    claimed: Vec<OutboxRow>,
    claimed_at: std::time::Instant,
    limits: PassLimits,
) -> Result<DispatchReport, DbError> {
    let start_before = claimed_at + limits.lease.saturating_sub(limits.margin);
    // E-mails form one lane, sent one after another: the per-recipient limit counts what was
    // already sent, and they share one relay. Each webhook is a lane of its own, so a slow
    // partner holds one slot. At most CONCURRENT_SENDS lanes run at once.
    let (emails, others): (Vec<OutboxRow>, Vec<OutboxRow>) = claimed
        .into_iter()
        .partition(|r| r.channel == Channel::Email);
    let lanes: Vec<Vec<OutboxRow>> = Some(emails)
        .filter(|e| !e.is_empty())
        .into_iter()
        .chain(others.into_iter().map(|row| vec![row]))
        .collect();
    let outcomes: Vec<Outcome> = stream::iter(lanes)
        .map(|lane| async move {
            let mut outcomes = Vec::with_capacity(lane.len());
            for row in lane {
                if std::time::Instant::now() >= start_before {
                    // Too late in the lease to start: handed back untouched for the next pass.
                    release(state, row).await?;
                    outcomes.push(Outcome::Released);
                    continue;
                }
                let sent = tokio::time::timeout(limits.send_timeout, send_one(state, &row))
                    .await
                    .unwrap_or_else(|_| Err(Failure::Retry("timeout".into())));
                outcomes.push(record(state, row, sent).await?);
            }
            Ok::<_, DbError>(outcomes)
        })
        .buffer_unordered(CONCURRENT_SENDS)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<Vec<Outcome>>, DbError>>()?
        .into_iter()
        .flatten()
        .collect();
    let mut report = DispatchReport::default();
    for outcome in outcomes {
        match outcome {
            Outcome::Sent => report.sent += 1,
            Outcome::Suppressed => report.suppressed += 1,
            Outcome::Postponed => report.postponed += 1,
            Outcome::Dead => report.dead += 1,
            Outcome::Failed => report.failed += 1,
            Outcome::Released => report.released += 1,
        }
    }
    Ok(report)
}

enum Outcome {
    Sent,
    Suppressed,
    Postponed,
    Dead,
    Failed,
    Released,
}

/// Gives a claimed message back without an attempt (its claim counted one).
async fn release(state: &AppState, row: OutboxRow) -> Result<(), DbError> {
    state
        .db
        .run_quiet(move |conn| -> Result<(), DbError> {
            diesel::update(outbox::table.find(&row.id))
                .filter(outbox::status.eq(DeliveryStatus::Pending))
                .set((
                    outbox::lease_until.eq(None::<chrono::NaiveDateTime>),
                    outbox::attempts.eq(row.attempts),
                ))
                .execute(conn)?;
            Ok(())
        })
        .await
}

/// Writes what one send did: sent, postponed by a limit, retried later with backoff, or dead.
async fn record(
    state: &AppState,
    row: OutboxRow,
    sent: Result<Sent, Failure>,
) -> Result<Outcome, DbError> {
    let id = row.id.clone();
    let attempts = row.attempts + 1;
    let at = state.db.clock().now();
    let expired = at - row.created_at > max_age(row.channel);
    let mut resolved = None;
    let (status, next, error, outcome) = match sent {
        Ok(Sent::Done) => (DeliveryStatus::Sent, None, None, Outcome::Sent),
        Ok(Sent::To(to)) => {
            resolved = Some(to);
            (DeliveryStatus::Sent, None, None, Outcome::Sent)
        }
        Ok(Sent::Suppressed(why)) => (
            DeliveryStatus::Sent,
            None,
            Some(format!("not sent: {why}")),
            Outcome::Suppressed,
        ),
        Ok(Sent::Later(after)) => (
            DeliveryStatus::Pending,
            Some(at + after),
            None,
            Outcome::Postponed,
        ),
        Err(Failure::Permanent(e)) => (DeliveryStatus::Dead, None, Some(e), Outcome::Dead),
        Err(Failure::Retry(e)) if expired => (DeliveryStatus::Dead, None, Some(e), Outcome::Dead),
        Err(Failure::Retry(e)) => (
            DeliveryStatus::Pending,
            Some(at + backoff(attempts)),
            Some(e),
            Outcome::Failed,
        ),
    };
    // No error text quotes an address, in the log or in the outbox (an SMTP reply often names
    // the recipient).
    let error = error.map(|e| crate::notify::mailer::redact_addresses(&e));
    if let Some(e) = &error {
        tracing::warn!(message_id = %id, channel = %row.channel, error = %e, %status, "delivery failed");
    }
    state
        .db
        .run_quiet(move |conn| -> Result<usize, DbError> {
            let t = now();
            let row = outbox::table.find(&id);
            let fields = (
                outbox::status.eq(status),
                outbox::lease_until.eq(None::<chrono::NaiveDateTime>),
                outbox::next_attempt_at.eq(next.unwrap_or(t)),
                outbox::last_error.eq(error),
                outbox::sent_at.eq(if status == DeliveryStatus::Sent {
                    Some(t)
                } else {
                    None
                }),
            );
            // The address it went to is kept, so per-recipient limits see it.
            Ok(match resolved {
                Some(to) => diesel::update(row)
                    .set((fields, outbox::recipient.eq(to)))
                    .execute(conn)?,
                None => diesel::update(row).set(fields).execute(conn)?,
            })
        })
        .await?;
    Ok(outcome)
}

enum Sent {
    Done,
    /// Sent to this resolved address (recorded, so per-recipient limits see it).
    To(String),
    /// Deliberately not sent (e.g. the donor's data was erased); kept as a record.
    Suppressed(String),
    /// Held back by a sending limit; try again after this long.
    Later(chrono::Duration),
}

async fn send_one(state: &AppState, row: &OutboxRow) -> Result<Sent, Failure> {
    let cfg = &state.config.notify;
    match row.channel.as_str() {
        "email" => {
            let template = Template::parse(&row.topic)
                .ok_or_else(|| Failure::Permanent(format!("unknown template {}", row.topic)))?;
            let data: serde_json::Value = serde_json::from_str(&row.payload)
                .map_err(|_| Failure::Permanent("unreadable payload".into()))?;
            // Donor e-mails name the pledge; the donor is looked up now (erased: not sent). Then
            // the e-mails this address got in the last hour, in the same round of statements.
            let recipient = row.recipient.clone();
            let locale = row.locale.clone();
            let since = now() - chrono::Duration::hours(1);
            let found = state
                .db
                .read(move |conn| -> Result<_, DbError> {
                    let resolved = match recipient.strip_prefix(crate::notify::DONOR_PREFIX) {
                        Some(pledge_id) => {
                            let refunded = data["refunded"].as_str().unwrap_or("0.00");
                            // The donor's figures, then what the message itself carries (a
                            // project update's text) where the donor's do not say.
                            crate::notify::donor_email(conn, pledge_id, refunded)?.map(
                                |(to, locale, mut resolved)| {
                                    if let (Some(r), Some(queued)) =
                                        (resolved.as_object_mut(), data.as_object())
                                    {
                                        for (k, v) in queued {
                                            r.entry(k.clone()).or_insert_with(|| v.clone());
                                        }
                                    }
                                    (to, locale, resolved)
                                },
                            )
                        }
                        None => Some((recipient, locale, data)),
                    };
                    let Some((to, locale, data)) = resolved else {
                        return Ok(None);
                    };
                    let recent: i64 = outbox::table
                        .filter(outbox::recipient.eq(&to))
                        .filter(outbox::sent_at.gt(since))
                        .count()
                        .get_result(conn)?;
                    Ok(Some((to, locale, data, recent)))
                })
                .await
                .map_err(|e| Failure::Retry(e.to_string()))?;
            let Some((to, locale, data, recent)) = found else {
                return Ok(Sent::Suppressed("donor data erased".into()));
            };
            if recent >= i64::from(cfg.email_per_recipient_per_hour) {
                return Ok(Sent::Later(chrono::Duration::minutes(10)));
            }
            if state.email_limiter.check("global").is_err() {
                return Ok(Sent::Later(chrono::Duration::seconds(60)));
            }
            let (subject, body) = templates::render(template, &locale, &data);
            state
                .mailer
                .send(&cfg.mail_from, &to, &subject, body)
                .await
                .map(|_| Sent::To(to))
                .map_err(Failure::Retry)
        }
        "webhook" => {
            let partner = row.recipient.clone();
            type Target = (
                Option<String>,
                String,
                Option<String>,
                Option<chrono::NaiveDateTime>,
            );
            let target: Option<Target> = state
                .db
                .read(move |conn| -> Result<_, DbError> {
                    Ok(partners::table
                        .find(&partner)
                        .select((
                            partners::webhook_url,
                            partners::webhook_secret,
                            partners::webhook_secret_previous,
                            partners::webhook_secret_previous_until,
                        ))
                        .first(conn)
                        .optional()?)
                })
                .await
                .map_err(|e| Failure::Retry(e.to_string()))?;
            let Some((Some(url), secret, previous, until)) = target else {
                return Err(Failure::Permanent("the partner has no webhook_url".into()));
            };
            // The new secret signs first; the one it replaced signs too until its overlap ends.
            let mut secrets = vec![secret.as_str()];
            if let (Some(previous), Some(until)) = (&previous, until)
                && state.db.clock().now() < until
            {
                secrets.push(previous);
            }
            post_webhook(&url, &secrets, &row.payload, cfg.allow_private_webhooks)
                .await
                .map(|_| Sent::Done)
        }
        other => Err(Failure::Permanent(format!("unknown channel {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(0), chrono::Duration::seconds(10));
        assert_eq!(backoff(1), chrono::Duration::seconds(20));
        assert_eq!(backoff(20), chrono::Duration::seconds(3600));
    }
}
