//! Group commit for PostgreSQL confirmations: concurrent confirmations in this process are
//! written by one autocommitted statement ([`PG_CONFIRM`]) instead of one each. The statement
//! applies every confirmation whose pledge still has the facts that were read, and for them
//! stores the provider events, queues their outbox messages, counts donors and adds to each
//! campaign's `raised` once. So under a rush one commit (one WAL flush) and one update of a
//! hot campaign's row serve many events, and that row stays locked only while the batch commits.
//!
//! No thread of its own: the first caller to find its lane idle becomes the leader, takes
//! what is queued and runs it on its own connection; the others wait for their result. Lanes
//! are chosen by campaign, so two batches of this process never touch the same campaign row.
//! If a batch fails (a duplicate event id, a deadlock with another replica), nothing of it was
//! written and every caller runs its confirmation alone, which reports its own error.

use super::models::{CampaignRow, OutboxRow};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamp};
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// One confirmation, computed from the pledge as read (see `payments::confirm_in_one_statement`).
#[derive(Debug, Clone)]
pub struct ConfirmJob {
    pub pledge_id: String,
    pub status: &'static str,
    /// New facts: paid, failed, canceled, expired.
    pub facts: [bool; 4],
    pub refunded: i64,
    pub dispute: &'static str,
    pub counted: i64,
    pub confirmed_at: Option<chrono::NaiveDateTime>,
    pub payment_id: Option<String>,
    pub event_id: String,
    pub event_type: String,
    pub event_payment: Option<String>,
    pub event_payload: String,
    pub campaign_id: String,
    pub donor_key: String,
    pub new_donor: bool,
    pub delta: i64,
    /// The facts as read: paid, failed, canceled, expired; refunded; dispute.
    pub was: [bool; 4],
    pub was_refunded: i64,
    pub was_dispute: &'static str,
    pub messages: Vec<OutboxRow>,
}

/// What became of one job.
#[derive(Debug)]
pub enum Outcome {
    /// Applied; the campaign row after the whole batch.
    Applied(Box<CampaignRow>),
    /// The pledge had moved since it was read: nothing written for it.
    Raced,
}

/// Applies the confirmations in one statement. Jobs missing from the answer had raced.
fn run_batch(
    pg: &mut diesel::PgConnection,
    jobs: &[&ConfirmJob],
) -> QueryResult<Vec<(String, CampaignRow)>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        applied_pledge: String,
        #[diesel(embed)]
        campaign: CampaignRow,
    }
    let rows: Vec<Row> = Batch::new(jobs).load(pg)?;
    Ok(rows
        .into_iter()
        .map(|r| (r.applied_pledge, r.campaign))
        .collect())
}

/// Runs `job`, batched with the confirmations other threads submit meanwhile.
pub fn confirm(pg: &mut diesel::PgConnection, job: ConfirmJob) -> QueryResult<Outcome> {
    let lane = lane_of(&job.campaign_id);
    let slot = Arc::new(Slot {
        job,
        result: Mutex::new(None),
    });
    let mut state = lock(&lane.state);
    state.queue.push(slot.clone());
    loop {
        if let Some(result) = lock(&slot.result).take() {
            drop(state);
            return match result {
                Ok(outcome) => Ok(outcome),
                // The batch failed as a whole: alone, this job reports its own error.
                Err(()) => alone(pg, &slot.job),
            };
        }
        if state.busy {
            state = lane.ready.wait(state).unwrap_or_else(|p| p.into_inner());
            continue;
        }
        state.busy = true;
        let batch = take_batch(&mut state.queue);
        drop(state);
        Leader {
            lane,
            batch: &batch,
        }
        .run(pg);
        state = lock(&lane.state);
    }
}

/// A confirmation on its own (a batch of one), with its error if it fails.
fn alone(pg: &mut diesel::PgConnection, job: &ConfirmJob) -> QueryResult<Outcome> {
    Ok(confirm_together(pg, &[job])?.remove(0))
}

/// Runs `jobs` as one batch, here and now: what became of each, in order. All or nothing if
/// the statement fails. (What a leader does; public so the statement can be tested directly.)
pub fn confirm_together(
    pg: &mut diesel::PgConnection,
    jobs: &[&ConfirmJob],
) -> QueryResult<Vec<Outcome>> {
    let rows = run_batch(pg, jobs)?;
    BATCHES.fetch_add(1, Ordering::Relaxed);
    BATCHED.fetch_add(jobs.len() as u64, Ordering::Relaxed);
    Ok(jobs
        .iter()
        .map(|job| match rows.iter().find(|(p, _)| *p == job.pledge_id) {
            Some((_, campaign)) => Outcome::Applied(Box::new(campaign.clone())),
            None => Outcome::Raced,
        })
        .collect())
}

static BATCHES: AtomicU64 = AtomicU64::new(0);
static BATCHED: AtomicU64 = AtomicU64::new(0);

/// (statements run, confirmations they carried) in this process, for `/metrics`.
pub fn stats() -> (u64, u64) {
    (
        BATCHES.load(Ordering::Relaxed),
        BATCHED.load(Ordering::Relaxed),
    )
}

const LANES: usize = 4;
const MAX_BATCH: usize = 64;

struct Lane {
    state: Mutex<LaneState>,
    ready: Condvar,
}

#[derive(Default)]
struct LaneState {
    queue: Vec<Arc<Slot>>,
    /// A leader is running a batch of this lane.
    busy: bool,
}

struct Slot {
    job: ConfirmJob,
    /// `Err(())`: the batch failed; the job's thread retries it alone.
    result: Mutex<Option<Result<Outcome, ()>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn lane_of(campaign_id: &str) -> &'static Lane {
    static LANE: std::sync::LazyLock<Vec<Lane>> = std::sync::LazyLock::new(|| {
        (0..LANES)
            .map(|_| Lane {
                state: Mutex::new(LaneState::default()),
                ready: Condvar::new(),
            })
            .collect()
    });
    let mut h = std::collections::hash_map::DefaultHasher::new();
    campaign_id.hash(&mut h);
    &LANE[(h.finish() as usize) % LANES]
}

/// Takes queued jobs, oldest first, at most one per pledge and per event id (a second one
/// waits for the next batch, where it will find the pledge moved or the event stored).
fn take_batch(queue: &mut Vec<Arc<Slot>>) -> Vec<Arc<Slot>> {
    let mut pledges = HashSet::new();
    let mut events = HashSet::new();
    let mut batch = Vec::new();
    let mut rest = Vec::new();
    for slot in queue.drain(..) {
        if batch.len() < MAX_BATCH
            && pledges.insert(slot.job.pledge_id.clone())
            && events.insert(slot.job.event_id.clone())
        {
            batch.push(slot);
        } else {
            rest.push(slot);
        }
    }
    *queue = rest;
    batch
}

/// Runs one batch; on drop (also when unwinding) frees the lane and wakes the waiters, giving
/// any job left without a result the "failed" answer so its thread retries it alone.
struct Leader<'a> {
    lane: &'static Lane,
    batch: &'a [Arc<Slot>],
}

impl Leader<'_> {
    fn run(self, pg: &mut diesel::PgConnection) {
        let jobs: Vec<&ConfirmJob> = self.batch.iter().map(|s| &s.job).collect();
        if let Ok(outcomes) = confirm_together(pg, &jobs) {
            for (slot, outcome) in self.batch.iter().zip(outcomes) {
                *lock(&slot.result) = Some(Ok(outcome));
            }
        }
    }
}

impl Drop for Leader<'_> {
    fn drop(&mut self) {
        for slot in self.batch {
            let mut result = lock(&slot.result);
            if result.is_none() {
                *result = Some(Err(()));
            }
        }
        lock(&self.lane.state).busy = false;
        self.lane.ready.notify_all();
    }
}

/// The confirmations of a batch, one array element per job (`$1`–`$26`, outbox `$27`–`$33`),
/// `$12` the time. For each job whose pledge still has the facts that were read: the new facts,
/// the provider event (unique id: a duplicate aborts the statement), its outbox messages and the
/// donor count; then each touched campaign's row once, last. (`c` reads `ev` and `ob` so that
/// they run before it: sub-statements nothing reads would run after it, under the row locks.)
/// Equivalent to the portable path in `payments::apply_recording` for `delta > 0`,
/// `donor_change >= 0`.
const PG_CONFIRM: &str = "WITH j AS (\
    SELECT * FROM unnest($1::text[], $2::text[], $3::bool[], $4::bool[], $5::bool[], \
    $6::bool[], $7::int8[], $8::text[], $9::int8[], $10::timestamp[], $11::text[], $13::text[], \
    $14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::bool[], $20::int8[], \
    $21::bool[], $22::bool[], $23::bool[], $24::bool[], $25::int8[], $26::text[]) \
    AS j(pledge_id, status, paid, failed, canceled, expired, refunded, dispute, counted, \
    confirmed_at, payment_id, event_id, event_type, event_payment, event_payload, campaign_id, \
    donor_key, new_donor, delta, was_paid, was_failed, was_canceled, was_expired, was_refunded, \
    was_dispute)), \
p AS (\
    UPDATE pledges SET status = j.status, paid = j.paid, failed = j.failed, \
    canceled = j.canceled, expired = j.expired, refunded_amount = j.refunded, \
    dispute = j.dispute, counted_amount = j.counted, confirmed_at = j.confirmed_at, \
    provider_payment_id = j.payment_id, updated_at = $12 \
    FROM j WHERE pledges.id = j.pledge_id AND pledges.paid = j.was_paid \
    AND pledges.failed = j.was_failed AND pledges.canceled = j.was_canceled \
    AND pledges.expired = j.was_expired AND pledges.refunded_amount = j.was_refunded \
    AND pledges.dispute = j.was_dispute \
    RETURNING pledges.id, j.campaign_id, j.donor_key, j.new_donor, j.delta, j.event_id, \
    j.event_type, j.event_payment, j.event_payload), \
ev AS (\
    INSERT INTO provider_events (id, type, payment_id, pledge_id, outcome, payload, received_at) \
    SELECT p.event_id, p.event_type, p.event_payment, p.id, 'applied', p.event_payload, $12 \
    FROM p RETURNING 1), \
ob AS (\
    INSERT INTO outbox (id, channel, recipient, topic, locale, payload, status, attempts, \
    next_attempt_at, created_at) \
    SELECT m.id, m.channel, m.recipient, m.topic, m.locale, m.payload, 'pending', 0, $12, $12 \
    FROM unnest($27::text[], $28::text[], $29::text[], $30::text[], $31::text[], $32::text[], \
    $33::text[]) AS m(pledge_id, id, channel, recipient, topic, locale, payload) \
    WHERE m.pledge_id IN (SELECT p.id FROM p) RETURNING 1), \
d AS (\
    INSERT INTO campaign_donors (campaign_id, donor_key, pledges) \
    SELECT p.campaign_id, p.donor_key, count(*) FROM p WHERE p.new_donor \
    GROUP BY p.campaign_id, p.donor_key \
    ON CONFLICT (campaign_id, donor_key) \
    DO UPDATE SET pledges = campaign_donors.pledges + excluded.pledges \
    RETURNING campaign_id, (xmax = 0) AS inserted), \
t AS (SELECT p.campaign_id, sum(p.delta)::int8 AS delta FROM p GROUP BY p.campaign_id \
    ORDER BY p.campaign_id), \
c AS (\
    UPDATE campaigns SET raised = raised + t.delta, donors = donors + \
    (SELECT count(*) FROM d WHERE d.inserted AND d.campaign_id = t.campaign_id)::integer \
    FROM t WHERE campaigns.id = t.campaign_id \
    AND (SELECT count(*) FROM ev) >= 0 AND (SELECT count(*) FROM ob) >= 0 \
    RETURNING campaigns.*) \
SELECT p.id AS applied_pledge, c.* FROM p JOIN c ON c.id = p.campaign_id";

/// [`PG_CONFIRM`] with its parameters. A query type of its own (rather than `sql_query`) so
/// that diesel keeps it as a prepared statement per connection: PostgreSQL then parses and
/// plans it once instead of on every batch.
struct Batch {
    pledge_id: Vec<String>,
    status: Vec<&'static str>,
    facts: [Vec<bool>; 4],
    refunded: Vec<i64>,
    dispute: Vec<&'static str>,
    counted: Vec<i64>,
    confirmed_at: Vec<Option<chrono::NaiveDateTime>>,
    payment_id: Vec<Option<String>>,
    now: chrono::NaiveDateTime,
    event_id: Vec<String>,
    event_type: Vec<String>,
    event_payment: Vec<Option<String>>,
    event_payload: Vec<String>,
    campaign_id: Vec<String>,
    donor_key: Vec<String>,
    new_donor: Vec<bool>,
    delta: Vec<i64>,
    was: [Vec<bool>; 4],
    was_refunded: Vec<i64>,
    was_dispute: Vec<&'static str>,
    /// Outbox columns: pledge id, id, channel, recipient, topic, locale, payload.
    outbox: [Vec<String>; 7],
}

impl Batch {
    fn new(jobs: &[&ConfirmJob]) -> Batch {
        let col = |f: &dyn Fn(&ConfirmJob) -> String| jobs.iter().map(|j| f(j)).collect();
        let flags = |f: &dyn Fn(&ConfirmJob) -> [bool; 4]| -> [Vec<bool>; 4] {
            std::array::from_fn(|i| jobs.iter().map(|j| f(j)[i]).collect())
        };
        let messages: Vec<(&str, &OutboxRow)> = jobs
            .iter()
            .flat_map(|j| j.messages.iter().map(|m| (j.pledge_id.as_str(), m)))
            .collect();
        let mcol = |f: fn(&OutboxRow) -> &String| -> Vec<String> {
            messages.iter().map(|(_, m)| f(m).clone()).collect()
        };
        Batch {
            pledge_id: col(&|j| j.pledge_id.clone()),
            status: jobs.iter().map(|j| j.status).collect(),
            facts: flags(&|j| j.facts),
            refunded: jobs.iter().map(|j| j.refunded).collect(),
            dispute: jobs.iter().map(|j| j.dispute).collect(),
            counted: jobs.iter().map(|j| j.counted).collect(),
            confirmed_at: jobs.iter().map(|j| j.confirmed_at).collect(),
            payment_id: jobs.iter().map(|j| j.payment_id.clone()).collect(),
            now: crate::http::views::now(),
            event_id: col(&|j| j.event_id.clone()),
            event_type: col(&|j| j.event_type.clone()),
            event_payment: jobs.iter().map(|j| j.event_payment.clone()).collect(),
            event_payload: col(&|j| j.event_payload.clone()),
            campaign_id: col(&|j| j.campaign_id.clone()),
            donor_key: col(&|j| j.donor_key.clone()),
            new_donor: jobs.iter().map(|j| j.new_donor).collect(),
            delta: jobs.iter().map(|j| j.delta).collect(),
            was: flags(&|j| j.was),
            was_refunded: jobs.iter().map(|j| j.was_refunded).collect(),
            was_dispute: jobs.iter().map(|j| j.was_dispute).collect(),
            outbox: [
                messages.iter().map(|(p, _)| p.to_string()).collect(),
                mcol(|m| &m.id),
                mcol(|m| &m.channel),
                mcol(|m| &m.recipient),
                mcol(|m| &m.topic),
                mcol(|m| &m.locale),
                mcol(|m| &m.payload),
            ],
        }
    }
}

impl diesel::query_builder::QueryId for Batch {
    type QueryId = Batch;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl RunQueryDsl<diesel::PgConnection> for Batch {}

impl diesel::query_builder::Query for Batch {
    type SqlType = diesel::sql_types::Untyped;
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for Batch {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        // The placeholders are numbered in PG_CONFIRM; diesel numbers binds in push order.
        static PIECES: std::sync::LazyLock<(&str, Vec<(usize, &str)>)> =
            std::sync::LazyLock::new(|| {
                let mut parts = PG_CONFIRM.split('$');
                let head = parts.next().unwrap_or_default();
                let rest = parts
                    .map(|part| {
                        let digits = part.chars().take_while(char::is_ascii_digit).count();
                        (part[..digits].parse().unwrap_or(0), &part[digits..])
                    })
                    .collect();
                (head, rest)
            });
        let (head, rest) = &*PIECES;
        out.push_sql(head);
        for &(n, tail) in rest {
            match n {
                1 => out.push_bind_param::<Array<Text>, _>(&self.pledge_id)?,
                2 => out.push_bind_param::<Array<Text>, _>(&self.status)?,
                3..=6 => out.push_bind_param::<Array<Bool>, _>(&self.facts[n - 3])?,
                7 => out.push_bind_param::<Array<BigInt>, _>(&self.refunded)?,
                8 => out.push_bind_param::<Array<Text>, _>(&self.dispute)?,
                9 => out.push_bind_param::<Array<BigInt>, _>(&self.counted)?,
                10 => out.push_bind_param::<Array<Nullable<Timestamp>>, _>(&self.confirmed_at)?,
                11 => out.push_bind_param::<Array<Nullable<Text>>, _>(&self.payment_id)?,
                12 => out.push_bind_param::<Timestamp, _>(&self.now)?,
                13 => out.push_bind_param::<Array<Text>, _>(&self.event_id)?,
                14 => out.push_bind_param::<Array<Text>, _>(&self.event_type)?,
                15 => out.push_bind_param::<Array<Nullable<Text>>, _>(&self.event_payment)?,
                16 => out.push_bind_param::<Array<Text>, _>(&self.event_payload)?,
                17 => out.push_bind_param::<Array<Text>, _>(&self.campaign_id)?,
                18 => out.push_bind_param::<Array<Text>, _>(&self.donor_key)?,
                19 => out.push_bind_param::<Array<Bool>, _>(&self.new_donor)?,
                20 => out.push_bind_param::<Array<BigInt>, _>(&self.delta)?,
                21..=24 => out.push_bind_param::<Array<Bool>, _>(&self.was[n - 21])?,
                25 => out.push_bind_param::<Array<BigInt>, _>(&self.was_refunded)?,
                26 => out.push_bind_param::<Array<Text>, _>(&self.was_dispute)?,
                27..=33 => out.push_bind_param::<Array<Text>, _>(&self.outbox[n - 27])?,
                _ => {
                    return Err(diesel::result::Error::QueryBuilderError(
                        "unknown placeholder in PG_CONFIRM".into(),
                    ));
                }
            }
            out.push_sql(tail);
        }
        Ok(())
    }
}
