//! Persistence: one diesel codebase for SQLite and PostgreSQL.
//!
//! `DbConnection` is a diesel `MultiConnection`; the pool's connection manager picks the backend
//! from the URL scheme and prepares SQLite (WAL, foreign keys, busy timeout). Every query runs
//! through [`Db::run`], which moves the blocking diesel call off the async executor.

pub mod bank;
pub mod cached;
pub mod calls;
pub mod campaigns;
pub mod crowd;
pub mod errors;
pub mod funders;
pub mod grant_reports;
pub mod grants;
pub mod group_commit;
pub mod holds;
pub mod ledger;
pub mod models;
pub mod new_pledge;
pub mod queries;
pub mod receipt_links;
pub mod reconcile;
pub mod schema;
pub mod stored;
pub mod updates;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use crate::clock::Clock;

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// A database URL, parsed once: the scheme decides the backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseUrl {
    Postgres(String),
    /// A file path (or `:memory:`), with the `sqlite://` prefix removed.
    Sqlite(String),
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("unsupported database URL (expected postgres://, postgresql:// or sqlite://)")]
    BadUrl,
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
    #[error("migration failed: {0}")]
    Migration(String),
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<DatabaseUrl, DbError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DatabaseUrl::Postgres(url.to_string()))
        } else if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                return Err(DbError::BadUrl);
            }
            Ok(DatabaseUrl::Sqlite(path.to_string()))
        } else {
            Err(DbError::BadUrl)
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            DatabaseUrl::Postgres(_) => "postgres",
            DatabaseUrl::Sqlite(_) => "sqlite",
        }
    }
}

/// SQLite: the WAL size, in pages, at which a committing writer copies it back into the
/// database (SQLite's default is 1,000). That checkpoint holds the only write lock through two
/// `fsync`s (about 2 ms each on the benchmark's disk) and the copying: every writer queued
/// behind it waits, and at 1,000 pages those stalls made SQLite's confirmation p99 11–15 ms.
/// At 250 they are shorter and more frequent: p99 8.2–8.9 ms for about an eighth fewer
/// confirmations a second (ADR 0012). Checkpointing on a thread of its own gave more per second
/// but a p99 of 22–31 ms.
const WAL_CHECKPOINT_PAGES: u32 = 250;

/// r2d2 connection manager that opens the right backend for the configured URL.
pub struct ConnectionManager {
    url: DatabaseUrl,
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        match &self.url {
            DatabaseUrl::Postgres(url) => diesel::PgConnection::establish(url)
                .map(DbConnection::Postgresql)
                .map_err(diesel::r2d2::Error::ConnectionError),
            DatabaseUrl::Sqlite(path) => {
                let mut conn = diesel::SqliteConnection::establish(path)
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                // WAL lets readers work beside the writer; writers wait (busy_timeout) instead
                // of failing; foreign keys are off by default in SQLite.
                // The commit that takes the WAL past WAL_CHECKPOINT_PAGES copies it back.
                conn.batch_execute(&format!(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                     PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES};"
                ))
                .map_err(diesel::r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        // No round trip: diesel knows a connection whose transaction state or socket broke.
        diesel::r2d2::R2D2Connection::is_broken(conn)
    }
}

pub type Pool = r2d2::Pool<ConnectionManager>;

/// Moves forward after every committed write transaction and whenever a connection that may
/// have written is handed back. Read caches remember the epoch they loaded at and are valid
/// only while it has not moved, so no reader of this process sees data older than a write
/// this process completed. One per [`Db`] (its clones share it).
///
/// The hot writes of a rush (a pledge, a payment's confirmation) change no cached data but
/// campaign rows, so they move only those campaigns' counters ([`WriteEpoch::campaign`],
/// see [`Db::run_for_campaigns`]): moving the whole epoch on each of them emptied the cache
/// a thousand times a second and sent every read of the rush to the database (issue 43).
#[derive(Clone, Debug)]
pub struct WriteEpoch(Arc<Epochs>);

#[derive(Debug)]
struct Epochs {
    all: AtomicU64,
    /// One counter per stripe of campaign ids: two campaigns sharing a stripe only empty each
    /// other's entries, and the memory stays fixed however many campaigns there are.
    campaigns: Box<[AtomicU64]>,
}

/// Stripes of campaign counters (a power of two).
const CAMPAIGN_STRIPES: usize = 1024;

impl Default for WriteEpoch {
    fn default() -> WriteEpoch {
        WriteEpoch(Arc::new(Epochs {
            all: AtomicU64::new(0),
            campaigns: (0..CAMPAIGN_STRIPES).map(|_| AtomicU64::new(0)).collect(),
        }))
    }
}

/// What a cached campaign was loaded under: the whole epoch and its campaign's counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CampaignStamp {
    all: u64,
    campaign: u64,
}

impl WriteEpoch {
    pub fn current(&self) -> u64 {
        self.0.all.load(Ordering::Acquire)
    }

    /// Read before loading campaign `id`: the loaded rows may be served while
    /// [`WriteEpoch::campaign`] still returns the same stamp.
    pub fn campaign(&self, id: &str) -> CampaignStamp {
        CampaignStamp {
            all: self.current(),
            campaign: self.stripe(id).load(Ordering::Acquire),
        }
    }

    fn stripe(&self, id: &str) -> &AtomicU64 {
        use std::hash::{BuildHasher, BuildHasherDefault};
        let h =
            BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(id);
        &self.0.campaigns[(h as usize) & (CAMPAIGN_STRIPES - 1)]
    }

    fn bump(&self) {
        self.0.all.fetch_add(1, Ordering::AcqRel);
    }

    fn bump_campaign(&self, id: &str) {
        self.stripe(id).fetch_add(1, Ordering::AcqRel);
    }
}

/// Moves the write epoch of the [`Db`] whose closure this thread runs (see [`Db::run`]); in
/// a closure of [`Db::run_for_campaigns`], only the counters of the campaigns it changed.
pub(crate) fn bump_write_epoch() {
    SCOPE.with(|s| {
        let s = s.borrow();
        if let Some(epoch) = &s.epoch {
            match &s.changed_campaigns {
                Some(ids) => ids.iter().for_each(|id| epoch.bump_campaign(id)),
                None => epoch.bump(),
            }
        }
    });
}

/// Runs `f` (a group commit's batch, on its leader's thread) as [`Db::run_for_campaigns`]
/// runs a closure: afterwards the counters of the campaigns it changed move, the whole epoch
/// does not.
pub(crate) fn for_campaigns<R>(epoch: &WriteEpoch, f: impl FnOnce() -> R) -> R {
    let _scope = EnteredScope::enter(Scope {
        gate: None,
        epoch: Some(epoch.clone()),
        changed_campaigns: Some(Vec::new()),
    });
    let _outdate = OutdateWhenDone;
    f()
}

/// Makes a [`Scope`] this thread's until dropped, then restores the previous one.
struct EnteredScope(Scope);

impl EnteredScope {
    fn enter(scope: Scope) -> EnteredScope {
        EnteredScope(SCOPE.with(|s| s.replace(scope)))
    }
}

impl Drop for EnteredScope {
    fn drop(&mut self) {
        let previous = std::mem::take(&mut self.0);
        SCOPE.with(|s| *s.borrow_mut() = previous);
    }
}

/// Moves the write epoch of the scope it was made in when dropped (declared after the
/// [`EnteredScope`], it drops first): also when the closure failed or panicked, for what it
/// changed before.
struct OutdateWhenDone;

impl Drop for OutdateWhenDone {
    fn drop(&mut self) {
        bump_write_epoch();
    }
}

/// Every statement that changes a campaign's row names the row through this (the layers
/// check in `tools/layers/check.py` holds the code to it): inside [`Db::run_for_campaigns`]
/// the row's cached copy is then outdated when the closure's transaction commits. Elsewhere
/// it does nothing (the whole epoch moves).
pub fn changing_campaign<T: AsRef<str> + ?Sized>(id: &T) -> &T {
    SCOPE.with(|s| {
        if let Some(ids) = &mut s.borrow_mut().changed_campaigns {
            let id = id.as_ref();
            if !ids.iter().any(|known| known == id) {
                ids.push(id.to_string());
            }
        }
    });
    id
}

/// SQLite takes one writer at a time. Writers of one process that find the write lock taken
/// would wait in SQLite's busy handler, which sleeps 1, 2, 5, … up to 100 ms between tries:
/// under a rush most wait far longer than the lock is held (p99 above 100 ms in the
/// benchmark). So [`write_tx`] first queues on this gate, one per SQLite [`Db`], and the busy
/// timeout is left to writers of other processes (replicas, the CLI).
///
/// The gate hands itself to the writer that has waited longest (`unlock_fair`): a thread
/// woken to take a plain mutex often found it taken again by one that had just arrived, so a
/// few writers waited many turns (the p99 of SQLite's confirmations in issue 24).
///
/// The gate also holds the one connection its writers write on (ADR 0024): SQLite empties a
/// connection's page cache whenever another connection has written since its last
/// transaction, so a writer on a pooled connection read the index pages it was about to
/// change from the file again, inside the lock. On a connection that only the writer uses
/// they stay cached between writes.
type WriteGate = Arc<parking_lot::Mutex<Writer>>;

/// What the [`WriteGate`] guards: the writers' connection, opened on first use.
struct Writer {
    /// None for `:memory:` (every connection its own database): writers use their own.
    path: Option<String>,
    conn: Option<DbConnection>,
}

impl Writer {
    fn new(path: &str) -> Writer {
        Writer {
            path: (path != ":memory:").then(|| path.to_string()),
            conn: None,
        }
    }

    /// The writers' connection; None when it cannot be opened (the caller then writes on its
    /// own, which reports the database's trouble as it would have).
    fn connection(&mut self) -> Option<&mut DbConnection> {
        if self.conn.is_none() {
            let manager = ConnectionManager {
                url: DatabaseUrl::Sqlite(self.path.clone()?),
            };
            match r2d2::ManageConnection::connect(&manager) {
                Ok(conn) => self.conn = Some(conn),
                Err(e) => tracing::warn!(error = %e, "could not open SQLite's writer connection"),
            }
        }
        self.conn.as_mut()
    }

    /// Drops a connection left in a transaction or broken.
    fn check(&mut self) {
        if self
            .conn
            .as_mut()
            .is_some_and(diesel::r2d2::R2D2Connection::is_broken)
        {
            self.conn = None;
        }
    }
}

/// A writer's turn at the [`WriteGate`]; handed on, first come first served, when dropped,
/// without a connection a writer left in a transaction (one that panicked, say).
struct Turn<'a>(Option<parking_lot::MutexGuard<'a, Writer>>);

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        if let Some(mut guard) = self.0.take() {
            guard.check();
            parking_lot::MutexGuard::unlock_fair(guard);
        }
    }
}

/// What a thread running a [`Db`]'s closure works with (see [`Db::run`]): the database's
/// write gate and write epoch.
#[derive(Default)]
struct Scope {
    gate: Option<WriteGate>,
    epoch: Option<WriteEpoch>,
    /// In [`Db::run_for_campaigns`]: the campaigns whose rows the closure changed.
    changed_campaigns: Option<Vec<String>>,
}

thread_local! {
    static SCOPE: RefCell<Scope> = RefCell::new(Scope::default());
}

/// Makes a [`Db`]'s gate, epoch and clock this thread's until dropped, then restores the
/// previous ones.
struct DbScope(
    #[allow(dead_code)] EnteredScope,
    #[allow(dead_code)] crate::clock::ClockScope,
);

impl DbScope {
    fn enter(db: &Db) -> DbScope {
        Self::enter_with(db, None)
    }

    fn enter_with(db: &Db, changed_campaigns: Option<Vec<String>>) -> DbScope {
        let scope = EnteredScope::enter(Scope {
            gate: db.write_gate.clone(),
            epoch: Some(db.epoch.clone()),
            changed_campaigns,
        });
        DbScope(scope, db.clock.enter())
    }
}

/// A pooled connection that may write; see [`Db::get`].
pub struct Conn {
    inner: r2d2::PooledConnection<ConnectionManager>,
    epoch: WriteEpoch,
}

impl std::ops::Deref for Conn {
    type Target = DbConnection;
    fn deref(&self) -> &DbConnection {
        &self.inner
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.inner
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.epoch.bump();
    }
}

/// How a closure run by [`Db`] may use its connection (see [`Db::read`], [`Db::run`],
/// [`Db::run_quiet`]).
#[derive(Clone, Copy)]
enum Access {
    /// Reads only: the write epoch does not move.
    Read,
    /// May write: the write epoch moves when the connection is handed back.
    Write,
    /// Writes cached data only in `write_tx`, which moves the epoch when it commits.
    Quiet,
    /// Writes no cached data but campaign rows: their counters move when a `write_tx` commits
    /// and when the connection is handed back.
    CampaignRows,
}

/// The shared database handle: a pool plus the backend it talks to.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    backend: &'static str,
    /// PostgreSQL: batches concurrent payment confirmations (see [`group_commit`]).
    group: Option<std::sync::Arc<group_commit::GroupCommit>>,
    /// SQLite: the queue for its single writer (see [`WriteGate`]).
    write_gate: Option<WriteGate>,
    epoch: WriteEpoch,
    /// The clock every closure run on this database reads (see `crate::clock`).
    clock: Clock,
    /// One permit per pooled connection: a closure waits for its turn here, as a task, before
    /// it takes a blocking thread (see [`Db::blocking`]).
    turns: Arc<tokio::sync::Semaphore>,
    /// How long a closure waits for a connection before the caller answers 503.
    wait: Duration,
}

impl Db {
    /// Builds the pool. Connections are opened lazily so a service can start (and answer 503)
    /// while its database is down.
    pub fn connect(url: &str, pool_size: u32) -> Result<Db, DbError> {
        Self::connect_with_timeout(url, pool_size, Duration::from_secs(5))
    }

    /// Like [`Db::connect`], waiting at most `timeout` for a connection before answering 503.
    pub fn connect_with_timeout(
        url: &str,
        pool_size: u32,
        timeout: Duration,
    ) -> Result<Db, DbError> {
        let parsed = DatabaseUrl::parse(url)?;
        let backend = parsed.backend_name();
        let write_gate = match &parsed {
            DatabaseUrl::Sqlite(path) => Some(Arc::new(parking_lot::Mutex::new(Writer::new(path)))),
            DatabaseUrl::Postgres(_) => None,
        };
        let epoch = WriteEpoch::default();
        let clock = Clock::system();
        let group = matches!(parsed, DatabaseUrl::Postgres(_)).then(|| {
            group_commit::GroupCommit::new(
                ConnectionManager {
                    url: parsed.clone(),
                },
                timeout,
                epoch.clone(),
                clock.clone(),
            )
        });
        let pool = r2d2::Pool::builder()
            .max_size(pool_size)
            .min_idle(Some(0))
            // A `SELECT 1` on every checkout would be a round trip per request; broken
            // connections are recognised by `has_broken` and dropped instead.
            .test_on_check_out(false)
            .connection_timeout(timeout)
            .build_unchecked(ConnectionManager { url: parsed });
        Ok(Db {
            pool,
            backend,
            group,
            write_gate,
            epoch,
            clock,
            turns: Arc::new(tokio::sync::Semaphore::new(pool_size as usize)),
            wait: timeout,
        })
    }

    /// This database with `clock` as the clock of everything run on it (tests pass an
    /// adjustable one). Call before using it.
    pub fn with_clock(mut self, clock: Clock) -> Db {
        if let Some(group) = &self.group {
            self.group = Some(group.with_clock(clock.clone()));
        }
        self.clock = clock;
        self
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The write epoch read caches of this database check (see [`WriteEpoch`]).
    pub fn write_epoch(&self) -> &WriteEpoch {
        &self.epoch
    }

    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// Announces a payment confirmation on its way, so that a batch about to run may wait for
    /// it (see [`group_commit::GroupCommit::arriving`]); on SQLite, a no-op.
    pub fn arriving(&self) -> group_commit::Arriving {
        match &self.group {
            Some(group) => group.arriving(),
            None => group_commit::Arriving::none(),
        }
    }

    /// (open, idle) connections, for `/metrics`.
    pub fn pool_state(&self) -> (u32, u32) {
        let s = self.pool.state();
        (s.connections, s.idle_connections)
    }

    /// A pooled connection, for blocking contexts (CLI, jobs already off the executor). Whatever
    /// it wrote is assumed changed: the [`WriteEpoch`] moves when it is handed back.
    pub fn get(&self) -> Result<Conn, DbError> {
        Ok(Conn {
            inner: self.checkout()?,
            epoch: self.epoch.clone(),
        })
    }

    fn checkout(&self) -> Result<r2d2::PooledConnection<ConnectionManager>, DbError> {
        self.pool
            .get()
            .map_err(|e| DbError::Unavailable(e.to_string()))
    }

    /// Like [`Db::run`] for closures that only read: the [`WriteEpoch`] does not move, so
    /// cached reads stay valid. Never pass a closure that writes.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        self.blocking(Access::Read, f).await
    }

    /// Runs a blocking diesel closure on the blocking thread pool.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        self.blocking(Access::Write, f).await
    }

    /// Like [`Db::run`] for the jobs: the [`WriteEpoch`] moves when one of the closure's write
    /// transactions ([`write_tx`]) commits, not when the connection is handed back. Only for
    /// closures whose writes of anything a read cache serves are all inside `write_tx` (the
    /// calendar and matching passes); their other writes touch tables no cache reads (job
    /// leases, the outbox). A scheduler ticking every 200 ms otherwise emptied the read caches
    /// several times a tick, writes or not.
    pub async fn run_quiet<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        self.blocking(Access::Quiet, f).await
    }

    /// Like [`Db::run`] for the writes of a donation (a pledge, a payment event): only the
    /// cached copies of the campaigns whose rows it changed are outdated, not every cached
    /// read. Only for closures whose writes of anything a read cache serves (campaign rows,
    /// a fund's threshold, areas) are campaign rows, each named through [`changing_campaign`].
    pub async fn run_for_campaigns<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        self.blocking(Access::CampaignRows, f).await
    }

    /// Runs `f` on the blocking pool with a pooled connection, as `access` says.
    ///
    /// It first waits for a turn ([`Db::turns`], one per connection, first come first served)
    /// as a task. Waiting for the connection on a blocking thread instead let a rush start one
    /// thread per queued request (hundreds, each with its own allocator heap), and the memory
    /// and switching that cost kept the service behind once it fell behind (issue 43: the
    /// match-day rush went from 124 to 838 MiB and never caught up). A caller that goes away
    /// while it waits (a client that hung up) leaves nothing to run.
    async fn blocking<T, E, F>(&self, access: Access, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let turn = match tokio::time::timeout(self.wait, self.turns.clone().acquire_owned()).await {
            Ok(Ok(turn)) => turn,
            Ok(Err(_)) | Err(_) => {
                return Err(E::from(DbError::Unavailable(
                    "timed out waiting for a database connection".into(),
                )));
            }
        };
        let db = self.clone();
        match tokio::task::spawn_blocking(move || {
            let _turn = turn;
            match access {
                Access::Read => {
                    let _clock = db.clock.enter();
                    f(&mut *db.checkout()?)
                }
                Access::Write => {
                    let _scope = DbScope::enter(&db);
                    f(&mut *db.get()?)
                }
                Access::Quiet => {
                    let _scope = DbScope::enter(&db);
                    f(&mut *db.checkout()?)
                }
                Access::CampaignRows => {
                    let _scope = DbScope::enter_with(&db, Some(Vec::new()));
                    // Also what a failed closure changed before it failed, outside `write_tx`.
                    let _outdate = OutdateWhenDone;
                    f(&mut *db.checkout()?)
                }
            }
        })
        .await
        {
            Ok(result) => result,
            Err(join) => Err(E::from(DbError::Unavailable(format!(
                "database task failed: {join}"
            )))),
        }
    }

    /// Applies pending embedded migrations for this backend.
    pub fn migrate(&self) -> Result<Vec<String>, DbError> {
        let mut conn = self.get()?;
        run_migrations(&mut conn)
    }

    /// True when the database answers and no migration is pending.
    pub fn ready(&self) -> Result<bool, DbError> {
        // Only reads (a probe leaves the read caches valid).
        let mut conn = self.checkout()?;
        let pending = match &mut *conn {
            DbConnection::Postgresql(c) => c.has_pending_migration(POSTGRES_MIGRATIONS),
            DbConnection::Sqlite(c) => c.has_pending_migration(SQLITE_MIGRATIONS),
        }
        .map_err(|e| DbError::Migration(e.to_string()))?;
        Ok(!pending)
    }
}

pub fn run_migrations(conn: &mut DbConnection) -> Result<Vec<String>, DbError> {
    let applied = match conn {
        DbConnection::Postgresql(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS),
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS),
    }
    .map_err(|e| DbError::Migration(e.to_string()))?;
    Ok(applied.into_iter().map(|v| v.to_string()).collect())
}

/// Runs `f` in a write transaction. On SQLite it starts with `BEGIN IMMEDIATE` so that two
/// writers queue instead of failing when a read lock cannot be upgraded: behind the [`Db`]'s
/// write gate within a process (inside [`Db::run`]), on the busy timeout across processes.
pub fn write_tx<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    if !matches!(conn, DbConnection::Sqlite(_)) {
        let result = conn.transaction(f);
        bump_write_epoch();
        return result;
    }
    // Queue behind this process's other writers first, and write on their connection (see
    // `WriteGate`).
    let Some(gate) = SCOPE.with(|s| s.borrow().gate.clone()) else {
        return sqlite_tx(conn, f);
    };
    let mut turn = Turn(Some(gate.lock()));
    let writer = turn
        .0
        .as_mut()
        .expect("a turn holds the gate until dropped");
    match writer.connection() {
        Some(shared) => sqlite_tx(shared, f),
        None => sqlite_tx(conn, f),
    }
}

/// One SQLite write transaction on `conn`, begun `IMMEDIATE`.
fn sqlite_tx<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    let DbConnection::Sqlite(c) = conn else {
        unreachable!("only SQLite connections come here")
    };
    AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?;
    let result = f(conn);
    let DbConnection::Sqlite(c) = conn else {
        unreachable!("connection changed backend")
    };
    match result {
        Ok(value) => match AnsiTransactionManager::commit_transaction(c) {
            Ok(()) => {
                bump_write_epoch();
                Ok(value)
            }
            Err(e) => {
                let _ = AnsiTransactionManager::rollback_transaction(c);
                Err(e.into())
            }
        },
        Err(e) => {
            let _ = AnsiTransactionManager::rollback_transaction(c);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_donations_writes_outdate_only_the_campaigns_they_changed() {
        let epoch = WriteEpoch::default();
        let (a, b) = (epoch.campaign("cmp_a"), epoch.campaign("cmp_b"));
        for_campaigns(&epoch, || {
            changing_campaign("cmp_a");
            changing_campaign("cmp_a");
        });
        assert_ne!(
            epoch.campaign("cmp_a"),
            a,
            "the changed campaign's entry is outdated"
        );
        assert_eq!(
            epoch.campaign("cmp_b"),
            b,
            "another campaign's entry stays valid"
        );
        // Outside such a scope a write outdates everything.
        let (a, b) = (epoch.campaign("cmp_a"), epoch.campaign("cmp_b"));
        let mine = Scope {
            epoch: Some(epoch.clone()),
            ..Scope::default()
        };
        let previous = SCOPE.with(|s| s.replace(mine));
        changing_campaign("cmp_a");
        bump_write_epoch();
        SCOPE.with(|s| *s.borrow_mut() = previous);
        assert_ne!(epoch.campaign("cmp_a"), a);
        assert_ne!(epoch.campaign("cmp_b"), b);
    }

    #[test]
    fn a_batch_that_fails_still_outdates_what_it_named() {
        let epoch = WriteEpoch::default();
        let a = epoch.campaign("cmp_a");
        let result: Result<(), &str> = for_campaigns(&epoch, || {
            changing_campaign("cmp_a");
            Err("rolled back")
        });
        assert!(result.is_err());
        assert_ne!(epoch.campaign("cmp_a"), a);
        // The thread's scope is restored: a later write outside moves the whole epoch.
        assert!(SCOPE.with(|s| s.borrow().changed_campaigns.is_none()));
    }

    /// SQLite's writers share one connection (`WriteGate`): one that panics inside its
    /// transaction must not leave the next writer a connection still in that transaction.
    #[tokio::test]
    async fn a_writer_that_panics_leaves_the_next_writer_a_clean_connection() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join("w.db").display());
        let db = Db::connect(&url, 2).expect("SQLite opens");
        let create = "CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);";
        let panicked = db
            .run(move |conn| {
                write_tx(conn, |c| -> Result<(), DbError> {
                    c.batch_execute(create)?;
                    panic!("a writer fails midway");
                })
            })
            .await;
        assert!(matches!(panicked, Err(DbError::Unavailable(_))));
        // The panicked transaction was rolled back: the table can be made again.
        db.run(move |conn| {
            write_tx(conn, |c| -> Result<(), DbError> {
                Ok(c.batch_execute(create)?)
            })
        })
        .await
        .expect("the next writer writes");
        let rows: i64 = db
            .read(|conn| -> Result<i64, DbError> {
                Ok(
                    diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
                        "(SELECT COUNT(*) FROM t)",
                    ))
                    .get_result(conn)?,
                )
            })
            .await
            .expect("a reader on another connection sees the write");
        assert_eq!(rows, 1);
    }

    #[test]
    fn url_scheme_picks_the_backend() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://cofund.db").unwrap(),
            DatabaseUrl::Sqlite("cofund.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///var/lib/cofund/cofund.db").unwrap(),
            DatabaseUrl::Sqlite("/var/lib/cofund/cofund.db".into())
        );
        assert!(matches!(
            DatabaseUrl::parse("postgres://u@h/db").unwrap(),
            DatabaseUrl::Postgres(_)
        ));
        assert!(matches!(
            DatabaseUrl::parse("postgresql://u@h/db").unwrap(),
            DatabaseUrl::Postgres(_)
        ));
        assert!(DatabaseUrl::parse("mysql://x").is_err());
        assert!(DatabaseUrl::parse("cofund.db").is_err());
        assert!(DatabaseUrl::parse("sqlite://").is_err());
    }
}
