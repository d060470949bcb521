//! Group commit for PostgreSQL confirmations: concurrent confirmations in this process are
//! read by one statement and written by one statement ([`PG_CONFIRM`]) instead of two each,
//! in one transaction with what the rules then do (a crossing's reservation, a late payment's
//! refund: see `app::payment_events::follow_up`). The leader reads the batch's pledges, plans each confirmation from its pledge
//! as read (`app::payment_events::plan_confirmation`, the same domain code as the transactional path),
//! and the write applies every confirmation whose pledge still has the facts that were read:
//! it stores the provider events, queues their outbox messages, counts donors and adds to each
//! campaign's `raised` once. So under a rush one commit (one WAL flush) and one update of a
//! hot campaign's row serve many events, and that row stays locked only while the batch commits.
//!
//! No thread of its own: a caller whose request is queued while fewer than [`MAX_LEADERS`]
//! batches run, and no leader is still reading its batch, becomes a leader, waits (at most
//! 0.15 ms) for confirmations already on their way to join, takes what is queued and runs it
//! on one of the group's leader connections; the others wait for their result, each on its own
//! condvar. If a batch fails (say, a duplicate event id), nothing of it was written and every
//! caller in it runs its confirmation alone, on its own connection, which reports its own error.

use super::DbConnection;
use super::models::{CampaignRow, OutboxRow};
use crate::domain::pledge::{Dispute, PledgeStatus};
use crate::domain::provider_event::ProviderEvent;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamp};
use std::cell::Cell;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// A verified provider event that may confirm a pledge, as the webhook submits it.
#[derive(Debug, Clone)]
pub struct Request {
    pub event: ProviderEvent,
    pub payload: String,
}

/// What became of a [`Request`].
#[derive(Debug)]
pub enum Confirmation {
    /// Not a plain confirmation of a known pledge: the transactional path handles it.
    NotApplicable,
    /// Planned from the pledge as read, with what became of the plan.
    Planned {
        pledge_id: String,
        status: PledgeStatus,
        outcome: Outcome,
    },
}

/// One confirmation, computed from the pledge as read (see `payments::plan_confirmation`).
#[derive(Debug, Clone)]
pub struct ConfirmJob {
    pub pledge_id: String,
    pub status: PledgeStatus,
    /// New facts: paid, failed, canceled, expired.
    pub facts: [bool; 4],
    /// The pledge's amount (its receipt's).
    pub amount: i64,
    pub refunded: i64,
    pub dispute: Dispute,
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
    pub was_dispute: Dispute,
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
    // The statement's `UPDATE campaigns` changes these rows (see `super::changing_campaign`).
    for job in jobs {
        super::changing_campaign(&job.campaign_id);
    }
    let rows: Vec<Row> = Batch::new(jobs).load(pg)?;
    Ok(rows
        .into_iter()
        .map(|r| (r.applied_pledge, r.campaign))
        .collect())
}

/// Group commit for one PostgreSQL database: its queue of confirmations and the connections
/// its leaders run batches on. One per [`super::Db`], so batches never mix databases.
///
/// Submitters wait asynchronously (no thread, no pooled connection while they wait). A leader
/// is a blocking task that gathers, takes a batch, reads and plans it, lets a second leader
/// start, writes and commits, replies, and goes on with the next batch while there is one.
pub struct GroupCommit {
    state: Mutex<QueueState>,
    /// Wakes a leader that gathers: a request joined the queue, or an announced one withdrew.
    gather: Condvar,
    /// Confirmations announced and not yet queued (see [`GroupCommit::arriving`]).
    arriving: AtomicUsize,
    /// [`MAX_LEADERS`] connections kept for the leaders. Each caches one plan per batch size
    /// and forces generic plans: on the callers' pooled connections every (connection, batch
    /// size) pair was planned six times over (five custom plans, then the generic one), and
    /// in the benchmark planning was a fifth of PostgreSQL's CPU.
    leader_conns: r2d2::Pool<super::ConnectionManager>,
    /// Its database's write epoch and clock (leaders run on threads of their own).
    epoch: super::WriteEpoch,
    clock: crate::clock::Clock,
}

/// Prepares a leader's connection.
#[derive(Debug)]
struct LeaderSettings;

impl r2d2::CustomizeConnection<DbConnection, diesel::r2d2::Error> for LeaderSettings {
    fn on_acquire(&self, conn: &mut DbConnection) -> Result<(), diesel::r2d2::Error> {
        use diesel::connection::SimpleConnection;
        // A leader runs key lookups only, written for one generic plan (see PG_CONFIRM);
        // without sequential scans that plan uses the keys even when it was made while a
        // table was small.
        conn.batch_execute("SET plan_cache_mode = force_generic_plan; SET enable_seqscan = off")
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Reads, plans and writes a batch of requests (`app::payment_events::process`): given by the
/// submitter, so this module holds the queue and the statement and no rule. It calls its third
/// argument once every request is planned (the next leader may then start reading).
pub type Process =
    fn(&mut DbConnection, &[&Request], &mut dyn FnMut()) -> QueryResult<Vec<Confirmation>>;

/// What a submitter gets back; `Err(())` when the batch failed as a whole (nothing of it was
/// written): the submitter then runs its confirmation alone, which reports its own error.
pub type Reply = Result<Confirmation, ()>;

impl GroupCommit {
    pub(super) fn new(
        manager: super::ConnectionManager,
        timeout: Duration,
        epoch: super::WriteEpoch,
        clock: crate::clock::Clock,
    ) -> Arc<GroupCommit> {
        Arc::new(GroupCommit {
            epoch,
            clock,
            state: Mutex::new(QueueState::default()),
            gather: Condvar::new(),
            arriving: AtomicUsize::new(0),
            leader_conns: r2d2::Pool::builder()
                .max_size(MAX_LEADERS as u32)
                .min_idle(Some(0))
                .test_on_check_out(false)
                .connection_timeout(timeout)
                .connection_customizer(Box::new(LeaderSettings))
                .build_unchecked(manager),
        })
    }

    /// The same group reading `clock` (before any use).
    pub(super) fn with_clock(&self, clock: crate::clock::Clock) -> Arc<GroupCommit> {
        Arc::new(GroupCommit {
            state: Mutex::new(QueueState::default()),
            gather: Condvar::new(),
            arriving: AtomicUsize::new(0),
            leader_conns: self.leader_conns.clone(),
            epoch: self.epoch.clone(),
            clock,
        })
    }

    /// Announces a confirmation on its way (its request is being received). While any is, a
    /// leader waits for it briefly before running its batch, so that under load batches grow
    /// instead of each request paying for statements and a commit of its own. Dropping the
    /// guard (when the request is queued, or turns out not to be a plain confirmation)
    /// withdraws it.
    pub fn arriving(self: &Arc<Self>) -> Arriving {
        self.arriving.fetch_add(1, Ordering::SeqCst);
        Arriving {
            group: Some(self.clone()),
            queued: false,
        }
    }

    /// Queues `request` and waits for the batch that carries it, run by `process`.
    pub async fn submit(
        self: &Arc<Self>,
        request: Request,
        process: Process,
        mut arriving: Arriving,
    ) -> Reply {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return Err(());
        };
        let (reply, answer) = tokio::sync::oneshot::channel();
        let leader = {
            let mut state = self.lock();
            state.requests.push(Waiting {
                request,
                process,
                reply,
            });
            arriving.queued(self);
            self.gather.notify_all();
            self.next_leader(&mut state, &runtime)
        };
        Ticket::start(leader);
        answer.await.unwrap_or(Err(()))
    }

    /// A place for a new leader if there is work, fewer than [`MAX_LEADERS`] run and none is
    /// reading its batch (what arrives meanwhile makes the next one). Start it with
    /// [`Ticket::start`] once the state is unlocked.
    fn next_leader(
        self: &Arc<Self>,
        state: &mut QueueState,
        runtime: &tokio::runtime::Handle,
    ) -> Option<Ticket> {
        if state.requests.is_empty() || state.leaders >= MAX_LEADERS || state.reading {
            return None;
        }
        state.leaders += 1;
        state.reading = true;
        Some(Ticket {
            group: self.clone(),
            reading: Cell::new(true),
            runtime: runtime.clone(),
            ran: false,
        })
    }

    fn lock(&self) -> MutexGuard<'_, QueueState> {
        lock(&self.state)
    }
}

/// A confirmation announced to a [`GroupCommit`], or to none (it will run alone).
pub struct Arriving {
    group: Option<Arc<GroupCommit>>,
    queued: bool,
}

impl Arriving {
    /// For a confirmation that is not batched (SQLite, or a caller without a group).
    pub fn none() -> Arriving {
        Arriving {
            group: None,
            queued: false,
        }
    }

    /// The group it was announced to.
    pub fn group(&self) -> Option<Arc<GroupCommit>> {
        self.group.clone()
    }

    /// Marks it queued: no longer counted as on its way.
    fn queued(&mut self, group: &GroupCommit) {
        if !self.queued {
            self.queued = true;
            group.arriving.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl Drop for Arriving {
    fn drop(&mut self) {
        if let Some(group) = &self.group
            && !self.queued
        {
            group.arriving.fetch_sub(1, Ordering::SeqCst);
            group.gather.notify_all();
        }
    }
}

/// How long a leader waits at most for announced confirmations (commit_delay, adaptively).
const GATHER: Duration = Duration::from_micros(150);

/// A running leader's place (counted in `QueueState::leaders`). Dropping it, also when
/// unwinding, frees the place and starts the next leader if work is queued.
struct Ticket {
    group: Arc<GroupCommit>,
    /// This leader is reading and planning its batch.
    reading: Cell<bool>,
    runtime: tokio::runtime::Handle,
    /// The leader ran (a ticket whose task was dropped unrun, as a runtime shuts down, only
    /// frees its place).
    ran: bool,
}

impl Ticket {
    /// Runs the leader on the blocking pool.
    fn start(ticket: Option<Ticket>) {
        if let Some(ticket) = ticket {
            let runtime = ticket.runtime.clone();
            runtime.spawn_blocking(move || ticket.lead());
        }
    }

    /// Runs batches while there are some and no other leader is reading.
    fn lead(mut self) {
        self.ran = true;
        let group = self.group.clone();
        let group = &*group;
        let _clock = group.clock.enter();
        loop {
            let batch = {
                let mut state = group.lock();
                // Give the confirmations already on their way a moment to join.
                let deadline = Instant::now() + GATHER;
                while group.arriving.load(Ordering::SeqCst) > 0 && state.requests.len() < MAX_BATCH
                {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    state = group
                        .gather
                        .wait_timeout(state, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
                take_batch(&mut state.requests)
            };
            if batch.is_empty() {
                return;
            }
            let requests: Vec<&Request> = batch.iter().map(|w| &w.request).collect();
            let process = batch[0].process;
            // A batch changes no cached data but its campaigns' rows.
            let results = super::for_campaigns(&group.epoch, || match group.leader_conns.get() {
                Ok(mut conn) => process(&mut conn, &requests, &mut || self.done_reading()).ok(),
                Err(_) => None,
            });
            let mut results = results.map(Vec::into_iter);
            for waiting in batch {
                let reply = results.as_mut().and_then(Iterator::next).ok_or(());
                let _ = waiting.reply.send(reply);
            }
            // Go on with what is queued, unless another leader is reading it.
            let mut state = group.lock();
            if self.reading.get() {
                // The batch failed before it was planned.
                continue;
            }
            if state.requests.is_empty() || state.reading {
                return;
            }
            state.reading = true;
            self.reading.set(true);
        }
    }

    /// Lets the next leader start (once per batch).
    fn done_reading(&self) {
        if self.reading.replace(false) {
            let next = {
                let mut state = self.group.lock();
                state.reading = false;
                self.group.next_leader(&mut state, &self.runtime)
            };
            Ticket::start(next);
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let next = {
            let mut state = self.group.lock();
            if self.reading.replace(false) {
                state.reading = false;
            }
            state.leaders -= 1;
            match self.ran {
                true => self.group.next_leader(&mut state, &self.runtime),
                false => None,
            }
        };
        Ticket::start(next);
    }
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

const MAX_BATCH: usize = 64;

/// Batches of one process in flight at once. Two: while one writes and commits (holding a hot
/// campaign's row), the next reads and plans, then writes its pledges, events and messages and
/// waits only for that row. (The next starts only once the previous one has read its pledges,
/// so the requests that arrive during that read make one batch, not several small ones: in
/// the benchmark that was worth about a tenth more events per second.)
/// They cannot deadlock: every batch locks pledges, then donors, then campaigns, each by id.
const MAX_LEADERS: usize = 2;

#[derive(Default)]
struct QueueState {
    requests: Vec<Waiting>,
    /// Leaders running.
    leaders: usize,
    /// A leader is reading its batch's pledges: the next one waits for that, so that requests
    /// arriving meanwhile join its batch.
    reading: bool,
}

/// A queued request and where its answer goes.
struct Waiting {
    request: Request,
    process: Process,
    reply: tokio::sync::oneshot::Sender<Reply>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Takes queued requests, oldest first, at most one per payment and per event id (a second
/// one waits for the next batch, where it will find the pledge moved or the event stored).
fn take_batch(queue: &mut Vec<Waiting>) -> Vec<Waiting> {
    let mut payments = HashSet::new();
    let mut events = HashSet::new();
    let mut batch = Vec::new();
    let mut rest = Vec::new();
    for slot in queue.drain(..) {
        let ev = &slot.request.event;
        let payment = ev.payment_id.as_ref().or(ev.pledge_hint.as_ref());
        if batch.len() < MAX_BATCH
            && payments.insert(payment.cloned())
            && events.insert(ev.id.clone())
        {
            batch.push(slot);
        } else {
            rest.push(slot);
        }
    }
    *queue = rest;
    batch
}

/// The confirmations of a batch, after the jobs `j` ([`JOB_COLUMNS`]): `$1` the time, `$2`–`$8`
/// the outbox messages as arrays (with their pledge's id). For each job whose pledge still has
/// the facts and the donor key that were read (an erasure re-keys donors, see
/// `payments::rekey_donor`): the new facts, its removal from `pending_pledges` once it leaves
/// `pending`, the provider event (unique id: a duplicate aborts the statement), its outbox
/// messages and the donor count; then each touched campaign's row once, last. (`c` reads `ev`,
/// `ob` and `pp` so that they run before it: sub-statements nothing reads would run after it,
/// under the row locks.)
/// It decides nothing: every value it writes (status, facts, counted amount, delta, whether
/// the donor is new, the messages) was computed by `app::payment_events::plan_confirmation`,
/// the same Rust code as the transactional path; SQL only applies each plan where its pledge
/// is unchanged and sums the deltas per campaign.
///
/// The plan is cached per connection, possibly from when `pledges` was nearly empty, so the
/// joins are written to leave PostgreSQL one sensible plan whatever its statistics say: `= ANY
/// (ARRAY[..])` and `IS NOT DISTINCT FROM` cannot be hashed or merged, so each job's pledge
/// (and each campaign) is found through its primary key in a nested loop. (With plain `=`, a
/// plan made on a small table hash-joined a sequential scan of every pledge into each batch.)
/// Rows are locked in a fixed order (jobs sorted by pledge id, then donors and campaigns
/// sorted by id), so batches of different replicas cannot deadlock on each other.
const PG_CONFIRM: &str = "p AS (\
    UPDATE pledges SET status = j.status, paid = j.paid, failed = j.failed, \
    canceled = j.canceled, expired = j.expired, refunded_amount = j.refunded, \
    dispute = j.dispute, counted_amount = j.counted, confirmed_at = j.confirmed_at, \
    provider_payment_id = j.payment_id, updated_at = $1 \
    FROM j WHERE pledges.id = ANY(ARRAY[j.pledge_id]) \
    AND pledges.paid IS NOT DISTINCT FROM j.was_paid \
    AND pledges.failed IS NOT DISTINCT FROM j.was_failed \
    AND pledges.canceled IS NOT DISTINCT FROM j.was_canceled \
    AND pledges.expired IS NOT DISTINCT FROM j.was_expired \
    AND pledges.refunded_amount IS NOT DISTINCT FROM j.was_refunded \
    AND pledges.dispute IS NOT DISTINCT FROM j.was_dispute \
    AND pledges.donor_key = j.donor_key \
    RETURNING pledges.id, j.status, j.campaign_id, j.donor_key, j.new_donor, j.delta, \
    j.event_id, j.event_type, j.event_payment, j.event_payload), \
pp AS (\
    DELETE FROM pending_pledges USING p \
    WHERE pending_pledges.pledge_id = ANY(ARRAY[p.id]) AND p.status <> 'pending' RETURNING 1), \
ev AS (\
    INSERT INTO provider_events (id, type, payment_id, pledge_id, outcome, payload, received_at) \
    SELECT p.event_id, p.event_type, p.event_payment, p.id, 'applied', p.event_payload, $1 \
    FROM p RETURNING 1), \
ob AS (\
    INSERT INTO outbox (id, channel, recipient, topic, locale, payload, status, attempts, \
    next_attempt_at, created_at) \
    SELECT m.id, m.channel, m.recipient, m.topic, m.locale, m.payload, 'pending', 0, $1, $1 \
    FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], \
    $8::text[]) AS m(pledge_id, id, channel, recipient, topic, locale, payload) \
    WHERE m.pledge_id IN (SELECT p.id FROM p) RETURNING 1), \
d AS (\
    INSERT INTO campaign_donors (campaign_id, donor_key, pledges) \
    SELECT p.campaign_id, p.donor_key, count(*) FROM p WHERE p.new_donor \
    GROUP BY p.campaign_id, p.donor_key ORDER BY p.campaign_id, p.donor_key \
    ON CONFLICT (campaign_id, donor_key) \
    DO UPDATE SET pledges = campaign_donors.pledges + excluded.pledges \
    RETURNING campaign_id, (xmax = 0) AS inserted), \
t AS (SELECT p.campaign_id, sum(p.delta)::int8 AS delta FROM p GROUP BY p.campaign_id \
    ORDER BY p.campaign_id), \
c AS (\
    UPDATE campaigns SET raised = raised + t.delta, donors = donors + \
    (SELECT count(*) FROM d WHERE d.inserted AND d.campaign_id = t.campaign_id)::integer \
    FROM t WHERE campaigns.id = ANY(ARRAY[t.campaign_id]) \
    AND (SELECT count(*) FROM ev) >= 0 AND (SELECT count(*) FROM ob) >= 0 \
    AND (SELECT count(*) FROM pp) >= 0 \
    RETURNING campaigns.*) \
SELECT p.id AS applied_pledge, c.* FROM p JOIN c ON c.id = p.campaign_id";

/// The columns of `j`, one row per job (a `VALUES` list written before [`PG_CONFIRM`]).
const JOB_COLUMNS: &str = "WITH j (pledge_id, status, paid, failed, canceled, expired, refunded, \
    dispute, counted, confirmed_at, payment_id, event_id, event_type, event_payment, \
    event_payload, campaign_id, donor_key, new_donor, delta, was_paid, was_failed, was_canceled, \
    was_expired, was_refunded, was_dispute) AS (VALUES ";

/// [`PG_CONFIRM`] with its parameters. The jobs are a `VALUES` list rather than arrays, so
/// that PostgreSQL knows how many there are even in a generic plan: its cached plan for a
/// batch of n then costs what a fresh one would, and it stops planning the statement on every
/// execution (with arrays it judged a custom plan cheaper each time and spent a third of its
/// CPU planning). One prepared statement per batch size and connection, cached by its text.
struct Batch<'a> {
    jobs: Vec<&'a ConfirmJob>,
    now: chrono::NaiveDateTime,
    /// Outbox columns: pledge id, id, channel, recipient, topic, locale, payload.
    outbox: [Vec<String>; 7],
}

impl<'a> Batch<'a> {
    fn new(jobs: &[&'a ConfirmJob]) -> Batch<'a> {
        let mut jobs = jobs.to_vec();
        jobs.sort_by(|a, b| a.pledge_id.cmp(&b.pledge_id));
        let messages: Vec<(&str, &OutboxRow)> = jobs
            .iter()
            .flat_map(|j| j.messages.iter().map(|m| (j.pledge_id.as_str(), m)))
            .collect();
        let mcol = |f: fn(&OutboxRow) -> &str| -> Vec<String> {
            messages.iter().map(|(_, m)| f(m).to_string()).collect()
        };
        let outbox = [
            messages.iter().map(|(p, _)| p.to_string()).collect(),
            mcol(|m| m.id.as_str()),
            mcol(|m| m.channel.as_str()),
            mcol(|m| m.recipient.as_str()),
            mcol(|m| m.topic.as_str()),
            mcol(|m| m.locale.as_str()),
            mcol(|m| m.payload.as_str()),
        ];
        Batch {
            jobs,
            now: crate::clock::now(),
            outbox,
        }
    }
}

impl diesel::query_builder::QueryId for Batch<'_> {
    type QueryId = ();
    // Cached by SQL text instead: one statement per batch size.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl RunQueryDsl<diesel::PgConnection> for Batch<'_> {}

impl diesel::query_builder::Query for Batch<'_> {
    type SqlType = diesel::sql_types::Untyped;
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for Batch<'_> {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        out.push_sql(JOB_COLUMNS);
        for (i, j) in self.jobs.iter().enumerate() {
            out.push_sql(if i == 0 { "(" } else { ", (" });
            out.push_bind_param::<Text, _>(&j.pledge_id)?;
            out.push_sql(", ");
            out.push_bind_param::<Text, _>(&j.status)?;
            for flag in &j.facts {
                out.push_sql(", ");
                out.push_bind_param::<Bool, _>(flag)?;
            }
            out.push_sql(", ");
            out.push_bind_param::<BigInt, _>(&j.refunded)?;
            out.push_sql(", ");
            out.push_bind_param::<Text, _>(&j.dispute)?;
            out.push_sql(", ");
            out.push_bind_param::<BigInt, _>(&j.counted)?;
            out.push_sql(", ");
            out.push_bind_param::<Nullable<Timestamp>, _>(&j.confirmed_at)?;
            out.push_sql(", ");
            out.push_bind_param::<Nullable<Text>, _>(&j.payment_id)?;
            out.push_sql(", ");
            out.push_bind_param::<Text, _>(&j.event_id)?;
            out.push_sql(", ");
            out.push_bind_param::<Text, _>(&j.event_type)?;
            out.push_sql(", ");
            out.push_bind_param::<Nullable<Text>, _>(&j.event_payment)?;
            out.push_sql(", ");
            out.push_bind_param::<Text, _>(&j.event_payload)?;
            out.push_sql(", ");
            out.push_bind_param::<Text, _>(&j.campaign_id)?;
            out.push_sql(", ");
            out.push_bind_param::<Text, _>(&j.donor_key)?;
            out.push_sql(", ");
            out.push_bind_param::<Bool, _>(&j.new_donor)?;
            out.push_sql(", ");
            out.push_bind_param::<BigInt, _>(&j.delta)?;
            for flag in &j.was {
                out.push_sql(", ");
                out.push_bind_param::<Bool, _>(flag)?;
            }
            out.push_sql(", ");
            out.push_bind_param::<BigInt, _>(&j.was_refunded)?;
            out.push_sql(", ");
            out.push_bind_param::<Text, _>(&j.was_dispute)?;
            out.push_sql(")");
        }
        out.push_sql("), ");
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
                1 => out.push_bind_param::<Timestamp, _>(&self.now)?,
                2..=8 => out.push_bind_param::<Array<Text>, _>(&self.outbox[n - 2])?,
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
