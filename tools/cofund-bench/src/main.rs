//! `cofund-bench`: an end-to-end load benchmark of the `cofund` service, compared with `pgbench`
//! on the same machine.
//!
//! For each backend (PostgreSQL, then SQLite) it creates a fresh database, starts the release
//! `cofund serve` binary as a child process, seeds a fund with campaigns over HTTP, and measures
//! three closed-loop phases per client count: signed `payment_intent.succeeded` webhooks spread
//! over many campaigns, the same webhooks all for one "hot" campaign, and anonymous campaign
//! reads. Pending pledges to confirm are created before each phase, outside the timing. At the end
//! it checks the ledger (`GET /v1/reconciliation`) and writes a Markdown report.
//!
//! Run: `cargo build --release -p cofund -p cofund-bench && target/release/cofund-bench`.

mod donor;
mod grants;
mod same_sql;
mod scale;
mod surface;
mod workflows;

use anyhow::{Context, Result, anyhow, bail};
use chrono::{Duration as ChronoDuration, SecondsFormat, Utc};
use clap::Parser;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const WEBHOOK_SECRET: &str = "whsec_bench_secret";
const ADMIN_PASSWORD: &str = "bench-admin-password";
const JWT_SECRET: &str = "cofund-bench-jwt-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
const MEMBER_PASSWORD: &str = "bench-member-pw";
const PLEDGE_AMOUNT: &str = "5.00";
const PLEDGE_CENTS: i64 = 500;
const HOT_GOAL: &str = "20000.00";
/// Pledges of 5.00 the hot campaign needs to reach its threshold (half of 20000.00).
const HOT_THRESHOLD_PLEDGES: usize = 2000;
/// Webhook events sent before the first measured phase, not measured (see `bench_backend`).
const WARMUP_EVENTS: usize = 1000;

/// Concurrency used to create the pending pledges before a phase (not measured).
const SETUP_CONCURRENCY: usize = 32;

#[derive(Parser, Debug, Clone)]
#[command(
    name = "cofund-bench",
    about = "Load benchmark of cofund (webhooks, hot campaign, public reads) against pgbench"
)]
struct Args {
    /// PostgreSQL URL of a role allowed to CREATE DATABASE (scratch databases are made beside it).
    #[arg(
        long,
        env = "COFUND_TEST_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pg_admin_url: String,
    /// Length of each measured phase, per client count.
    #[arg(long, default_value_t = 10)]
    duration_secs: u64,
    /// Comma-separated concurrent client counts.
    #[arg(long, default_value = "8,32")]
    clients: String,
    /// Normal campaigns to seed (one extra "hot" campaign is always added).
    #[arg(long, default_value_t = 100)]
    campaigns: usize,
    /// Where to write the Markdown report.
    #[arg(long, default_value = "docs/benchmarks.md")]
    out: PathBuf,
    /// Only benchmark PostgreSQL.
    #[arg(long)]
    skip_sqlite: bool,
    /// Only benchmark SQLite (no pgbench, psql or PostgreSQL needed).
    #[arg(long, conflicts_with = "skip_sqlite")]
    skip_postgres: bool,
    /// The release service binary.
    #[arg(long, default_value = "target/release/cofund")]
    cofund_bin: PathBuf,
    /// Upper bound on the pledges pre-created for one event phase; a phase that uses them all up
    /// stops early and its rate is computed over the time it actually ran.
    #[arg(long, default_value_t = 40_000)]
    max_events_per_phase: usize,
    /// Only the public surface under abuse (abusive webhooks, point in area): no load phases,
    /// no pgbench.
    #[arg(long)]
    surface_only: bool,
    /// Leave out the donor phases (pledge creation, fake Stripe, per-donation and match-day
    /// rushes; see `donor.rs`).
    #[arg(long, conflicts_with = "donor_only")]
    skip_donor_phases: bool,
    /// Only the donor phases: no webhook, hot-campaign, read or surface phases.
    #[arg(long, conflicts_with = "surface_only")]
    donor_only: bool,
    /// With `--donor-only`: the match-day rush alone (to profile it).
    #[arg(long, requires = "donor_only")]
    match_day_only: bool,
    /// PostgreSQL only: the same-SQL limit alone (trace the statements of a pledge creation and
    /// a confirmation, replay them with pgbench around cofund's own phases; see `same_sql.rs`).
    /// The full run measures it too, at the first client count.
    #[arg(long, conflicts_with_all = ["surface_only", "donor_only", "skip_postgres"])]
    same_sql_only: bool,
    /// Only the new workflows at scale (see `workflows.rs`): a call ranked, bank statements
    /// imported, reconciliation over their entries; on each backend.
    #[arg(long, conflicts_with_all = ["surface_only", "donor_only", "same_sql_only"])]
    workflows: bool,
    /// `--workflows`: applications to the call.
    #[arg(long, default_value_t = 2_000)]
    workflow_applications: usize,
    /// `--workflows`: evaluators per application.
    #[arg(long, default_value_t = 6)]
    workflow_evaluators: usize,
    /// `--workflows`: camt.053 statements imported one after another (100 × 10,000: the
    /// 1,000,000 bank entries reconciliation is timed over).
    #[arg(long, default_value_t = 100)]
    workflow_statements: usize,
    /// `--workflows`: credits in each statement.
    #[arg(long, default_value_t = 10_000)]
    workflow_entries: usize,
    /// One report with every target: the full run, plus the new workflows (as `--workflows`, on
    /// a fresh database of each backend), plus grants at scale; plus programme scale when
    /// `--scale-reuse` names books seeded earlier (seeding them takes half an hour a database).
    #[arg(
        long,
        conflicts_with_all = ["surface_only", "donor_only", "same_sql_only", "workflows", "scale",
            "grants_only", "skip_donor_phases"]
    )]
    every_target: bool,
    /// Programme-scale data only (issue 24): seed areas, campaigns and confirmed pledges through
    /// the service's own code, then time reconciliation, the fund report, lists and reads on them.
    #[arg(long)]
    scale: bool,
    /// `--scale`: target areas (one association each).
    #[arg(long, default_value_t = 200)]
    scale_areas: usize,
    /// `--scale`: campaigns, spread over the areas.
    #[arg(long, default_value_t = 20_000)]
    scale_campaigns: usize,
    /// `--scale`: confirmed pledges, spread over the campaigns.
    #[arg(long, default_value_t = 2_000_000)]
    scale_pledges: usize,
    /// `--scale`: keep the PostgreSQL database afterwards (its name is printed).
    #[arg(long)]
    scale_keep: bool,
    /// `--scale`: measure the books kept by an earlier `--scale-keep` run (the JSON file it
    /// wrote beside `--out`) instead of seeding new ones.
    #[arg(long)]
    scale_reuse: Option<PathBuf>,
    /// `--scale`: seed (with `--scale-keep`) and stop; measure later with `--scale-reuse`, on a
    /// quiet machine.
    #[arg(long, requires = "scale_keep")]
    scale_seed_only: bool,
    /// `--scale`: connections seeding pledges in parallel on PostgreSQL (SQLite: always 1).
    #[arg(long, default_value_t = 3)]
    scale_workers: usize,
    /// Grants at scale only (see `grants.rs`): campaigns decided into grants, their documents and
    /// expense lines seeded through the service's own code, then the grant page timed. Uses
    /// `--scale-areas` associations and `--scale-workers`.
    #[arg(long, conflicts_with = "scale")]
    grants_only: bool,
    /// `--grants-only`: grants (one campaign each).
    #[arg(long, default_value_t = 20_000)]
    grants: usize,
    /// `--grants-only`: expense lines a grant.
    #[arg(long, default_value_t = 25)]
    grant_expenses: usize,
    /// `--grants-only`: documents a grant (each expense line cites one).
    #[arg(long, default_value_t = 5)]
    grant_documents: usize,
}

// ---------------------------------------------------------------------------------------------
// Results

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PhaseKind {
    Webhooks,
    Hot,
    Reads,
}

impl PhaseKind {
    fn label(self) -> &'static str {
        match self {
            PhaseKind::Webhooks => "webhook events",
            PhaseKind::Hot => "hot campaign events",
            PhaseKind::Reads => "public reads",
        }
    }
}

#[derive(Debug, Clone)]
struct PhaseResult {
    clients: usize,
    kind: PhaseKind,
    requests: usize,
    elapsed: Duration,
    p50_us: u64,
    p99_us: u64,
    errors: usize,
    error_detail: BTreeMap<String, usize>,
    /// Events were pre-made: true when they ran out before the duration elapsed.
    ran_out: bool,
    prepared: usize,
    usage: Option<Usage>,
    /// PostgreSQL only: the matching pgbench (`-N` for events, `-S -M prepared` for reads,
    /// same client count and duration) run right before and right after this phase, in tps.
    adjacent: Option<(f64, f64)>,
}

/// CPU time (ms) burnt during a phase by each party, and PostgreSQL activity in the bench
/// database (from `pg_stat_database`, which PostgreSQL flushes lazily: approximate).
#[derive(Debug, Clone, Copy, Default)]
struct Usage {
    service_ms: f64,
    postgres_ms: f64,
    bench_ms: f64,
    pg_commits: Option<i64>,
    pg_rows_written: Option<i64>,
    /// Confirmation statements the service ran and the confirmations they carried (its
    /// `/metrics`; PostgreSQL's group commit).
    batches: Option<(u64, u64)>,
}

impl PhaseResult {
    /// The pgbench tps this phase is compared with: the mean of the runs right around it.
    fn pgbench_tps(&self) -> Option<f64> {
        self.adjacent.map(|(before, after)| (before + after) / 2.0)
    }

    /// The phase's rate ÷ [`PhaseResult::pgbench_tps`].
    fn ratio(&self) -> Option<f64> {
        self.pgbench_tps()
            .filter(|b| *b > 0.0)
            .map(|b| self.rate() / b)
    }

    fn rate(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.requests as f64 / secs
        } else {
            0.0
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct PgbenchTps {
    /// The mean of the runs before and after the service's phases.
    write_n: f64,
    select_s: f64,
    /// Each run: (before, after).
    write_n_runs: (f64, f64),
    select_s_runs: (f64, f64),
}

/// pgbench's figures from runs before and after the service's phases, averaged: this machine's
/// speed drifts over minutes, and the mean of runs on both sides of the phases tracks it better
/// than one run after them.
fn bracket(
    before: BTreeMap<usize, PgbenchTps>,
    mut after: BTreeMap<usize, PgbenchTps>,
) -> BTreeMap<usize, PgbenchTps> {
    before
        .into_iter()
        .filter_map(|(c, b)| {
            let a = after.remove(&c)?;
            Some((
                c,
                PgbenchTps {
                    write_n: (b.write_n + a.write_n) / 2.0,
                    select_s: (b.select_s + a.select_s) / 2.0,
                    write_n_runs: (b.write_n, a.write_n),
                    select_s_runs: (b.select_s, a.select_s),
                },
            ))
        })
        .collect()
}

#[derive(Debug, Default)]
struct BackendReport {
    name: String,
    phases: Vec<PhaseResult>,
    notes: Vec<String>,
    failures: Vec<String>,
    pgbench: BTreeMap<usize, PgbenchTps>,
    /// Events applied by the unmeasured warm-up (they count in the books check).
    warmup_applied: usize,
    /// The public surface under abuse (Markdown), see [`surface`].
    surface: Vec<String>,
    /// The donor phases (Markdown), see [`donor`].
    donor: Vec<String>,
    /// The same-SQL limit (Markdown), see [`same_sql`].
    same_sql: Vec<String>,
    /// The new workflows at scale (Markdown table rows), see [`workflows`].
    workflows: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Child processes and scratch databases, cleaned up on drop (also on error)

struct Server {
    child: Child,
    log: PathBuf,
    /// host:port of its operators' listener (`COFUND_ADMIN_BIND`), where `/metrics` is read.
    admin_addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct ScratchPg {
    admin_url: String,
    name: String,
}

impl Drop for ScratchPg {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = psql(&self.admin_url, &sql) {
            eprintln!("warning: could not drop database {}: {e:#}", self.name);
        }
    }
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn psql(url: &str, sql: &str) -> Result<String> {
    let out = Command::new("psql")
        .arg(url)
        .args(["-v", "ON_ERROR_STOP=1", "-X", "-q", "-t", "-A", "-c", sql])
        .output()
        .context("running psql (is the PostgreSQL client installed?)")?;
    if !out.status.success() {
        bail!(
            "psql -c {sql:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `url` with its database name replaced by `db` (query parameters kept).
fn with_database(url: &str, db: &str) -> Result<String> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base
        .find("://")
        .ok_or_else(|| anyhow!("not a URL: {url}"))?
        + 3;
    let authority_end = base[scheme_end..]
        .find('/')
        .map(|i| scheme_end + i)
        .unwrap_or(base.len());
    let mut out = format!("{}/{db}", &base[..authority_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    Ok(out)
}

fn short_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(l.local_addr()?.port())
}

fn cofund_command(bin: &Path, db_url: &str) -> Command {
    let mut cmd = Command::new(bin);
    // Nothing from the caller's COFUND_* environment may leak into the service.
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("COFUND_") {
            cmd.env_remove(&k);
        }
    }
    cmd.env("COFUND_DATABASE_URL", db_url)
        .env("COFUND_JWT_SECRET", JWT_SECRET)
        .env("RUST_LOG", "warn");
    cmd
}

fn bootstrap_and_start(bin: &Path, db_url: &str, tmp: &Path) -> Result<(Server, String)> {
    bootstrap_and_start_with(bin, db_url, tmp, &[])
}

/// [`bootstrap_and_start`] with environment variables for `serve` set over the defaults (e.g.
/// another payment provider).
fn bootstrap_and_start_with(
    bin: &Path,
    db_url: &str,
    tmp: &Path,
    extra_env: &[(&str, &str)],
) -> Result<(Server, String)> {
    create_admin(bin, db_url)?;
    start_serve(bin, db_url, tmp, extra_env)
}

/// The bench's admin, made through the CLI as an operator would.
fn create_admin(bin: &Path, db_url: &str) -> Result<()> {
    let out = cofund_command(bin, db_url)
        .args([
            "admin",
            "create-user",
            "--username",
            "admin",
            "--role",
            "admin",
        ])
        .env("COFUND_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .stdin(Stdio::null())
        .output()
        .context("running cofund admin create-user")?;
    if !out.status.success() {
        bail!(
            "cofund admin create-user failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// `cofund serve` on a free port with the bench's settings (`extra_env` over them).
fn start_serve(
    bin: &Path,
    db_url: &str,
    tmp: &Path,
    extra_env: &[(&str, &str)],
) -> Result<(Server, String)> {
    let port = free_port()?;
    let admin_addr = format!("127.0.0.1:{}", free_port()?);
    let mail_dir = tmp.join("mail");
    std::fs::create_dir_all(&mail_dir)?;
    let log = tmp.join("server.log");
    let log_file = std::fs::File::create(&log)?;
    let child = cofund_command(bin, db_url)
        .arg("serve")
        .env("COFUND_BIND", format!("127.0.0.1:{port}"))
        // `/metrics` is private on the public listener: the sampler reads it here.
        .env("COFUND_ADMIN_BIND", &admin_addr)
        .env("COFUND_PAYMENT_PROVIDER", "simulated")
        .env("COFUND_STRIPE_WEBHOOK_SECRETS", WEBHOOK_SECRET)
        .env("COFUND_PLEDGE_RATE_LIMIT_PER_MIN", "100000000")
        .env("COFUND_TOKEN_RATE_LIMIT_PER_MIN", "100000")
        .env("COFUND_PLEDGE_MAX", "100000.00")
        // The bench's one partner stands for all of a city's partners: its pledges may hold the
        // whole of a per-donation budget (the default 0.2 left most rush pledges unheld at
        // creation and matched at confirmation, which the rush's books check does not expect).
        .env("COFUND_PARTNER_HOLD_SHARE", "1")
        .env("COFUND_SCHEDULER_INTERVAL_MS", "200")
        .env("COFUND_MAIL_DIR", &mail_dir)
        .env("COFUND_DB_POOL_SIZE", "16")
        .envs(extra_env.iter().copied())
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        .spawn()
        .context("starting cofund serve")?;
    Ok((
        Server {
            child,
            log,
            admin_addr,
        },
        format!("http://127.0.0.1:{port}"),
    ))
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

async fn wait_ready(http: &reqwest::Client, base: &str, server: &mut Server) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = server.child.try_wait()? {
            bail!(
                "cofund serve exited early ({status}); its log:\n{}",
                log_tail(&server.log)
            );
        }
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await
            && r.status().as_u16() == 200
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "cofund serve was not ready after 30 s; its log:\n{}",
                log_tail(&server.log)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers

#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, String)],
    ) -> Result<Value> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("{method} {path}"))?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        if !status.is_success() {
            bail!("{method} {path} answered {status}: {text}");
        }
        if text.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).with_context(|| format!("{method} {path}: not JSON: {text}"))
    }

    async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Result<Value> {
        self.call(reqwest::Method::POST, path, token, Some(body), &[])
            .await
    }

    async fn get(&self, path: &str, token: Option<&str>) -> Result<Value> {
        self.call(reqwest::Method::GET, path, token, None, &[])
            .await
    }

    async fn token(&self, body: Value) -> Result<String> {
        let v = self.post("/v1/auth/token", None, &body).await?;
        str_field(&v, "access_token")
    }
}

fn str_field(v: &Value, key: &str) -> Result<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| anyhow!("no string field {key:?} in {v}"))
}

fn rfc3339(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// "1234.56" (or "-3.5") as integer cents.
fn cents(s: &str) -> Result<i64> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if frac.len() > 2 {
        bail!("more than two decimals in {s:?}");
    }
    let int: i64 = int.parse().with_context(|| format!("money {s:?}"))?;
    let frac_cents: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<2}")
            .parse()
            .with_context(|| format!("money {s:?}"))?
    };
    let v = int * 100 + frac_cents;
    Ok(if neg { -v } else { v })
}

// ---------------------------------------------------------------------------------------------
// Seeding

struct Seeded {
    admin: String,
    partner: String,
    fund_id: String,
    campaigns: Vec<String>,
    hot: String,
}

/// A fund of 100,000,000.00 for `area_id`, open since yesterday for 100 days; its id.
async fn open_fund(api: &Api, admin: &str, name: &str, area_id: &str) -> Result<String> {
    let now = Utc::now();
    let fund = api
        .post(
            "/v1/funds",
            Some(admin),
            &json!({"name": name, "budget": "100000000.00", "eligible_area_ids": [area_id],
                "opens_at": rfc3339(now - ChronoDuration::days(1)),
                "closes_at": rfc3339(now + ChronoDuration::days(100))}),
        )
        .await?;
    str_field(&fund, "id")
}

async fn seed(api: &Api, campaigns: usize) -> Result<Seeded> {
    let now = Utc::now();
    let admin = api
        .token(json!({"grant_type":"password","username":"admin","password":ADMIN_PASSWORD}))
        .await
        .context("admin token")?;
    let area = api
        .post(
            "/v1/areas",
            Some(&admin),
            &json!({"code":"BENCH","name":"Bench","geometry":{"type":"Polygon",
                "coordinates":[[[7.0,45.0],[8.0,45.0],[8.0,46.0],[7.0,46.0],[7.0,45.0]]]}}),
        )
        .await?;
    let area_id = str_field(&area, "id")?;
    let fund_id = open_fund(api, &admin, "Bench fund", &area_id).await?;
    let assoc = api
        .post(
            "/v1/associations",
            Some(&admin),
            &json!({"name":"Bench APS","tax_code":"12345678903",
                "iban":"IT60X0542811101000000123456","email":"b@example.org"}),
        )
        .await?;
    let assoc_id = str_field(&assoc, "id")?;
    api.post(
        &format!("/v1/associations/{assoc_id}/members"),
        Some(&admin),
        &json!({"username":"benchmember","password":MEMBER_PASSWORD,"email":"m@example.org"}),
    )
    .await?;
    let member = api
        .token(json!({"grant_type":"password","username":"benchmember","password":MEMBER_PASSWORD}))
        .await
        .context("member token")?;
    let partner = api
        .post(
            "/v1/partners",
            Some(&admin),
            &json!({"name":"Bench partner"}),
        )
        .await?;
    let partner_token = api
        .token(json!({"grant_type":"client_credentials",
            "client_id": str_field(&partner, "client_id")?,
            "client_secret": str_field(&partner, "client_secret")?}))
        .await
        .context("partner token")?;

    let mut ids = Vec::with_capacity(campaigns + 1);
    for i in 0..=campaigns {
        let goal = if i == campaigns {
            HOT_GOAL
        } else {
            "1000000.00"
        };
        let c = api
            .post(
                "/v1/campaigns",
                Some(&member),
                &json!({"fund_id":fund_id,"title":format!("C{i}"),"summary":"s","goal":goal,
                    "location":{"lat":45.5,"lon":7.5},
                    "starts_at": rfc3339(now - ChronoDuration::hours(1)),
                    "ends_at": rfc3339(now + ChronoDuration::days(30))}),
            )
            .await?;
        let id = str_field(&c, "id")?;
        api.post(
            &format!("/v1/campaigns/{id}/submit"),
            Some(&member),
            &json!({}),
        )
        .await?;
        api.post(
            &format!("/v1/campaigns/{id}/approve"),
            Some(&admin),
            &json!({}),
        )
        .await?;
        ids.push(id);
    }
    // The scheduler turns approved campaigns whose start has passed live.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut pending: Vec<String> = ids.clone();
    while !pending.is_empty() {
        let mut still = Vec::new();
        for id in &pending {
            let v = api.get(&format!("/v1/campaigns/{id}"), None).await?;
            if v.get("status").and_then(Value::as_str) != Some("live") {
                still.push(id.clone());
            }
        }
        pending = still;
        if pending.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "{} campaign(s) not live 30 s after approval (e.g. {})",
                pending.len(),
                pending[0]
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let hot = ids.pop().expect("the hot campaign");
    Ok(Seeded {
        admin,
        partner: partner_token,
        fund_id,
        campaigns: ids,
        hot,
    })
}

/// Creates `n` pending pledges of 5.00, round-robin over `campaigns`, with 32 concurrent
/// requests; returns their provider payment ids and the creation rate (pledges/s).
async fn make_pledges(
    api: &Api,
    partner: &str,
    campaigns: &[String],
    n: usize,
    donor_seq: &Arc<AtomicUsize>,
) -> Result<(Vec<String>, f64)> {
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let campaigns = Arc::new(campaigns.to_vec());
    let mut tasks = Vec::new();
    for _ in 0..SETUP_CONCURRENCY.min(n.max(1)) {
        let api = api.clone();
        let partner = partner.to_string();
        let next = next.clone();
        let campaigns = campaigns.clone();
        let donor_seq = donor_seq.clone();
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok::<_, anyhow::Error>(out);
                }
                let k = donor_seq.fetch_add(1, Ordering::Relaxed);
                let cid = &campaigns[i % campaigns.len()];
                let v = api
                    .call(
                        reqwest::Method::POST,
                        &format!("/v1/campaigns/{cid}/pledges"),
                        Some(&partner),
                        Some(&json!({"amount":PLEDGE_AMOUNT,
                            "donor":{"name":"D","email":format!("d{k}@example.org")}})),
                        &[("Idempotency-Key", uuid::Uuid::new_v4().to_string())],
                    )
                    .await
                    .context("creating a pledge")?;
                let pid = v
                    .pointer("/payment/provider_payment_id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| anyhow!("pledge without payment.provider_payment_id: {v}"))?;
                out.push(pid.to_string());
            }
        }));
    }
    let mut all = Vec::with_capacity(n);
    for t in tasks {
        all.extend(t.await??);
    }
    let rate = all.len() as f64 / started.elapsed().as_secs_f64().max(1e-9);
    Ok((all, rate))
}

// ---------------------------------------------------------------------------------------------
// Measured closed loop

enum Work {
    Events(Arc<Vec<String>>),
    Reads(Arc<Vec<String>>),
}

struct TaskStats {
    latencies_us: Vec<u64>,
    errors: BTreeMap<String, usize>,
    ran_out: bool,
}

fn event_body(payment_id: &str, created: i64) -> String {
    json!({
        "id": format!("evt_{}", uuid::Uuid::new_v4().simple()),
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": created,
        "data": {"object": {
            "object": "payment_intent",
            "id": payment_id,
            "amount": PLEDGE_CENTS,
            "amount_received": PLEDGE_CENTS,
            "currency": "eur",
            "status": "succeeded"
        }}
    })
    .to_string()
}

async fn run_phase(
    api: &Api,
    kind: PhaseKind,
    clients: usize,
    duration: Duration,
    min_requests: usize,
    work: Work,
) -> Result<PhaseResult> {
    let work = Arc::new(work);
    let prepared = match &*work {
        Work::Events(e) => e.len(),
        Work::Reads(_) => 0,
    };
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for t in 0..clients {
        let api = api.clone();
        let work = work.clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut stats = TaskStats {
                latencies_us: Vec::with_capacity(1 << 14),
                errors: BTreeMap::new(),
                ran_out: false,
            };
            // xorshift64 for picking campaigns to read; seeded per task.
            let mut rng: u64 = 0x9E37_79B9_7F4A_7C15 ^ ((t as u64 + 1) * 0xBF58_476D_1CE4_E5B9);
            loop {
                if Instant::now() >= deadline && next.load(Ordering::Relaxed) >= min_requests {
                    break;
                }
                let req = match &*work {
                    Work::Events(ids) => {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(pid) = ids.get(i) else {
                            stats.ran_out = true;
                            break;
                        };
                        let now = Utc::now().timestamp();
                        let body = event_body(pid, now);
                        let sig = cofund::providers::signature::header(
                            WEBHOOK_SECRET,
                            now,
                            body.as_bytes(),
                        );
                        api.http
                            .post(format!("{}/v1/webhooks/stripe", api.base))
                            .header("Stripe-Signature", sig)
                            .header("content-type", "application/json")
                            .body(body)
                    }
                    Work::Reads(ids) => {
                        rng ^= rng << 13;
                        rng ^= rng >> 7;
                        rng ^= rng << 17;
                        let id = &ids[(rng % ids.len() as u64) as usize];
                        api.http.get(format!("{}/v1/campaigns/{id}", api.base))
                    }
                };
                let t0 = Instant::now();
                let outcome = match req.send().await {
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        match resp.bytes().await {
                            Ok(b) => Ok((status, b)),
                            Err(e) => Err(e),
                        }
                    }
                    Err(e) => Err(e),
                };
                stats.latencies_us.push(t0.elapsed().as_micros() as u64);
                match outcome {
                    Ok((status, body)) if (200..300).contains(&status) => {
                        if matches!(&*work, Work::Events(_))
                            && !body.windows(9).any(|w| w == b"\"applied\"")
                        {
                            let text = String::from_utf8_lossy(&body);
                            *stats
                                .errors
                                .entry(format!("{status} not applied: {}", truncate(&text, 80)))
                                .or_default() += 1;
                        }
                    }
                    Ok((status, body)) => {
                        let text = String::from_utf8_lossy(&body);
                        *stats
                            .errors
                            .entry(format!("{status}: {}", truncate(&text, 120)))
                            .or_default() += 1;
                    }
                    Err(e) => {
                        *stats
                            .errors
                            .entry(format!("transport: {}", truncate(&e.to_string(), 120)))
                            .or_default() += 1;
                    }
                }
            }
            stats
        }));
    }
    let mut latencies = Vec::new();
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    let mut ran_out = false;
    for t in tasks {
        let s = t.await?;
        latencies.extend(s.latencies_us);
        for (k, v) in s.errors {
            *errors.entry(k).or_default() += v;
        }
        ran_out |= s.ran_out;
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    Ok(PhaseResult {
        clients,
        kind,
        requests: latencies.len(),
        elapsed,
        p50_us: percentile(&latencies, 0.50),
        p99_us: percentile(&latencies, 0.99),
        errors: errors.values().sum(),
        error_detail: errors,
        ran_out,
        prepared,
        usage: None,
        adjacent: None,
    })
}

fn truncate(s: &str, n: usize) -> String {
    let s = s.trim();
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

// ---------------------------------------------------------------------------------------------
// Resource accounting

/// utime + stime of a process, in clock ticks.
fn proc_ticks(stat_path: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(stat_path).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// Summed CPU ticks of every process whose name is `postgres`.
fn postgres_ticks() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter(|e| {
            std::fs::read_to_string(e.path().join("comm"))
                .map(|c| c.trim() == "postgres")
                .unwrap_or(false)
        })
        .filter_map(|e| proc_ticks(&e.path().join("stat")))
        .sum()
}

fn clock_ticks_per_sec() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

#[derive(Clone, Copy)]
struct Snapshot {
    service: u64,
    postgres: u64,
    bench: u64,
    pg_stats: Option<(i64, i64)>,
    batches: Option<(u64, u64)>,
}

/// (statements, confirmations) from the service's group-commit counters.
fn batch_counters(addr: &str) -> Option<(u64, u64)> {
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(addr).ok()?;
    conn.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(conn, "GET /metrics HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut text = String::new();
    conn.read_to_string(&mut text).ok()?;
    let counter = |name: &str| -> Option<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))?
            .trim()
            .parse()
            .ok()
    };
    Some((
        counter("cofund_confirmation_batches_total")?,
        counter("cofund_confirmations_batched_total")?,
    ))
}

/// (commits, rows inserted + updated + deleted) of one database.
fn pg_db_stats(admin_url: &str, db: &str) -> Option<(i64, i64)> {
    let out = psql(
        admin_url,
        &format!(
            "SELECT xact_commit, tup_inserted + tup_updated + tup_deleted \
             FROM pg_stat_database WHERE datname = '{db}'"
        ),
    )
    .ok()?;
    let (a, b) = out.split_once('|')?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}

struct Sampler {
    service_pid: u32,
    /// host:port of the service's operators' listener (`/metrics`).
    service_addr: String,
    pg: Option<(String, String)>,
    hz: f64,
}

impl Sampler {
    fn snapshot(&self) -> Snapshot {
        Snapshot {
            service: proc_ticks(&PathBuf::from(format!("/proc/{}/stat", self.service_pid)))
                .unwrap_or(0),
            postgres: if self.pg.is_some() {
                postgres_ticks()
            } else {
                0
            },
            bench: proc_ticks(Path::new("/proc/self/stat")).unwrap_or(0),
            pg_stats: self.pg.as_ref().and_then(|(url, db)| pg_db_stats(url, db)),
            batches: batch_counters(&self.service_addr),
        }
    }

    fn usage(&self, a: Snapshot, b: Snapshot) -> Usage {
        let ms = |x: u64, y: u64| y.saturating_sub(x) as f64 * 1000.0 / self.hz;
        let (commits, rows) = match (a.pg_stats, b.pg_stats) {
            (Some(x), Some(y)) => (Some(y.0 - x.0), Some(y.1 - x.1)),
            _ => (None, None),
        };
        Usage {
            service_ms: ms(a.service, b.service),
            postgres_ms: ms(a.postgres, b.postgres),
            bench_ms: ms(a.bench, b.bench),
            pg_commits: commits,
            pg_rows_written: rows,
            batches: match (a.batches, b.batches) {
                (Some(x), Some(y)) => Some((y.0 - x.0, y.1 - x.1)),
                _ => None,
            },
        }
    }
}

// ---------------------------------------------------------------------------------------------
// One backend

async fn bench_backend(
    args: &Args,
    clients: &[usize],
    name: &str,
    db_url: &str,
    pg_db: Option<&str>,
    pgbench_url: Option<&str>,
    tmp: &Path,
) -> Result<BackendReport> {
    let mut report = BackendReport {
        name: name.to_string(),
        ..Default::default()
    };
    println!("== {name}: bootstrapping");
    let (mut server, base) = bootstrap_and_start(&args.cofund_bin, db_url, tmp)?;
    let api = Api {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(256)
            .build()?,
        base,
    };
    wait_ready(&api.http, &api.base, &mut server).await?;
    let sampler = Sampler {
        service_pid: server.child.id(),
        service_addr: server.admin_addr.clone(),
        pg: pg_db.map(|d| (args.pg_admin_url.clone(), d.to_string())),
        hz: clock_ticks_per_sec(),
    };
    let t = Instant::now();
    let seeded = seed(&api, args.campaigns).await.context("seeding")?;
    println!(
        "   seeded 1 fund and {} campaigns (+1 hot) in {:.1} s",
        seeded.campaigns.len(),
        t.elapsed().as_secs_f64()
    );

    let duration = Duration::from_secs(args.duration_secs);
    if args.surface_only {
        surface_phases(&api, &seeded, name, duration, &mut report).await?;
        drop(server);
        return Ok(report);
    }
    if args.workflows {
        let (rows, failures) =
            workflows::run(&api, name, &workflow_sizes(args), server.child.id()).await;
        report.workflows = rows;
        report.failures.extend(failures);
        drop(server);
        return Ok(report);
    }
    if args.same_sql_only {
        same_sql_phase(args, clients, pg_db, &api, &seeded, tmp, &mut report).await;
        drop(server);
        return Ok(report);
    }
    let donor_seq = Arc::new(AtomicUsize::new(0));
    // Best estimate so far of the event rate (events/s), to size the pre-made pledge pools.
    let mut event_rate_estimate: f64 = 0.0;
    let mut hot_crossed_note: Option<String> = None;
    // Warm-up, not measured: a fresh service opens its group commit's leader connections and
    // prepares the batch statement once per batch size on each, and fresh backends load their
    // catalog caches. Those one-off costs landed in the first phase's p99 (pgbench's own
    // figures exclude its connection time too).
    if !args.donor_only {
        let (ids, _) = make_pledges(
            &api,
            &seeded.partner,
            &seeded.campaigns,
            WARMUP_EVENTS,
            &donor_seq,
        )
        .await?;
        let c = clients.first().copied().unwrap_or(8);
        let w = run_phase(
            &api,
            PhaseKind::Webhooks,
            c,
            duration,
            0,
            Work::Events(Arc::new(ids)),
        )
        .await?;
        println!(
            "   warm-up (not measured): {} webhook events at {:.0}/s, {} errors",
            w.requests,
            w.rate(),
            w.errors
        );
        report.warmup_applied = w.requests - w.errors;
        // The first phase's pool is sized from this rate: pledge creation is slower than
        // confirmation, so sizing it from creation made the pool run out on a fast machine.
        // A cold warm-up understates the warm rate, hence the margin.
        event_rate_estimate = w.rate() * 1.5;
        // Statistics for the tables the warm-up filled, as autovacuum would have them: plans
        // cached while they were empty (this server runs with autovacuum off) would otherwise
        // stay, and the partner's idempotency lookup cached on an empty `pledges` scans every
        // pledge of the partner (pre-creation fell to ~250 pledges/s).
        if let Some(db) = pg_db {
            psql(&with_database(&args.pg_admin_url, db)?, "ANALYZE")?;
        }
    }
    // `--donor-only`: none of the event and read phases.
    let measured: &[usize] = if args.donor_only { &[] } else { clients };
    for (ci, &c) in measured.iter().enumerate() {
        for kind in [PhaseKind::Webhooks, PhaseKind::Hot, PhaseKind::Reads] {
            let work = match kind {
                PhaseKind::Reads => {
                    let mut all = seeded.campaigns.clone();
                    all.push(seeded.hot.clone());
                    Work::Reads(Arc::new(all))
                }
                PhaseKind::Webhooks | PhaseKind::Hot => {
                    let targets: Vec<String> = if kind == PhaseKind::Hot {
                        vec![seeded.hot.clone()]
                    } else {
                        seeded.campaigns.clone()
                    };
                    let min = if kind == PhaseKind::Hot && ci == 0 {
                        HOT_THRESHOLD_PLEDGES + 500
                    } else {
                        1000
                    };
                    let t = Instant::now();
                    let want = ((event_rate_estimate * 1.5 * duration.as_secs_f64()) as usize)
                        .clamp(min, args.max_events_per_phase.max(min));
                    let (mut ids, creation_rate) =
                        make_pledges(&api, &seeded.partner, &targets, want, &donor_seq).await?;
                    // Confirm pledges in a different order from creation.
                    interleave(&mut ids);
                    println!(
                        "   {c} clients, {}: pre-created {} pending pledges in {:.1} s ({:.0}/s, not measured)",
                        kind.label(),
                        ids.len(),
                        t.elapsed().as_secs_f64(),
                        creation_rate
                    );
                    Work::Events(Arc::new(ids))
                }
            };
            // The first hot phase runs past the duration if needed, until enough events were sent
            // for the threshold to be crossed inside the measured window.
            let min_requests = if kind == PhaseKind::Hot && ci == 0 {
                HOT_THRESHOLD_PLEDGES + 100
            } else {
                0
            };
            // pgbench right before and right after the phase (the service idles meanwhile;
            // before the pause below, so that its backends have exited before the CPU snapshot):
            // this machine's speed drifts within minutes (pgbench -N moved from 1622 to 2608 tps
            // within one run), so the phase is compared with what PostgreSQL did around it.
            let pgbench_kind = match kind {
                PhaseKind::Reads => PgbenchKind::SelectOnly,
                _ => PgbenchKind::SimpleUpdate,
            };
            let adjacent_before = match pgbench_url {
                Some(url) => Some(pgbench_tps(url, pgbench_kind, c, args.duration_secs)?),
                None => None,
            };
            // The setup just bulk-inserted pending pledges: vacuum and analyze them now, outside
            // the timing, as autovacuum would in production (some servers, this one included,
            // run with autovacuum off, and plans cached on a then-small table would stay).
            if let Some(db) = pg_db {
                psql(&with_database(&args.pg_admin_url, db)?, "VACUUM ANALYZE")?;
            }
            // Let PostgreSQL flush its statistics from the setup before the snapshot.
            tokio::time::sleep(Duration::from_millis(if pg_db.is_some() {
                1100
            } else {
                100
            }))
            .await;
            let before = sampler.snapshot();
            let mut r = run_phase(&api, kind, c, duration, min_requests, work).await?;
            if pg_db.is_some() {
                tokio::time::sleep(Duration::from_millis(1100)).await;
            }
            r.usage = Some(sampler.usage(before, sampler.snapshot()));
            if let (Some(url), Some(b)) = (pgbench_url, adjacent_before) {
                let a = pgbench_tps(url, pgbench_kind, c, args.duration_secs)?;
                r.adjacent = Some((b, a));
            }
            println!(
                "   {c} clients, {}: {} requests in {:.2} s = {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors{}",
                kind.label(),
                r.requests,
                r.elapsed.as_secs_f64(),
                r.rate(),
                r.p50_us as f64 / 1000.0,
                r.p99_us as f64 / 1000.0,
                r.errors,
                if r.ran_out {
                    " (pre-made events ran out)"
                } else {
                    ""
                }
            );
            for (k, v) in &r.error_detail {
                println!("      {v} × {k}");
            }
            if let (Some((b, a)), Some(ratio)) = (r.adjacent, r.ratio()) {
                println!("      pgbench around it: {b:.0} and {a:.0} tps; ratio {ratio:.2}");
            }
            if kind != PhaseKind::Reads {
                let rate = r.rate();
                event_rate_estimate = event_rate_estimate.max(rate);
            }
            if kind == PhaseKind::Hot && hot_crossed_note.is_none() {
                let v = api
                    .get(&format!("/v1/campaigns/{}", seeded.hot), None)
                    .await?;
                let status = v
                    .pointer("/match/status")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_string();
                let raised = v.get("raised").and_then(Value::as_str).unwrap_or("?");
                let threshold = v.get("threshold").and_then(Value::as_str).unwrap_or("?");
                let crossed = status == "reserved";
                hot_crossed_note = Some(format!(
                    "Hot campaign (goal {HOT_GOAL}, threshold {threshold}) after the {c}-client hot phase: raised {raised}, match.status `{status}` — threshold {} during the run.",
                    if crossed { "crossed" } else { "NOT crossed" }
                ));
                println!("   {}", hot_crossed_note.as_deref().unwrap_or_default());
                if !crossed {
                    report.failures.push(format!(
                        "{name}: the hot campaign did not reach match.status reserved (it is {status}, raised {raised})"
                    ));
                }
            }
            report.phases.push(r);
        }
    }
    if let Some(n) = hot_crossed_note {
        report.notes.push(n);
    }

    // Verification.
    let applied: usize = report
        .phases
        .iter()
        .filter(|p| p.kind != PhaseKind::Reads)
        .map(|p| p.requests - p.errors)
        .sum::<usize>()
        + report.warmup_applied;
    // The donor phases use funds and campaigns of their own: the seeded ones stay as `verify`
    // expects them.
    if !args.skip_donor_phases {
        let env = donor::Env {
            args,
            clients,
            name,
            api: &api,
            sampler: &sampler,
            service_pid: server.child.id(),
            pg_db,
            pgbench_url,
            tmp,
            admin: &seeded.admin,
            partner: &seeded.partner,
        };
        donor::run(&env, &mut report).await;
    }
    verify(&api, &seeded, applied, &mut report).await?;
    // After the books are checked: the replay confirms pledges behind the service's back.
    if !args.donor_only {
        same_sql_phase(args, clients, pg_db, &api, &seeded, tmp, &mut report).await;
    }
    if !args.donor_only {
        surface_phases(&api, &seeded, name, duration, &mut report).await?;
    }
    drop(server);
    Ok(report)
}

fn workflow_sizes(args: &Args) -> workflows::Sizes {
    workflows::Sizes {
        applications: args.workflow_applications,
        evaluators: args.workflow_evaluators,
        statements: args.workflow_statements,
        entries_per_statement: args.workflow_entries,
    }
}

/// The same-SQL limit on PostgreSQL (nothing on SQLite), at the first client count.
async fn same_sql_phase(
    args: &Args,
    clients: &[usize],
    pg_db: Option<&str>,
    api: &Api,
    seeded: &Seeded,
    tmp: &Path,
    report: &mut BackendReport,
) {
    let Some(db) = pg_db else { return };
    let env = same_sql::Env {
        admin_url: &args.pg_admin_url,
        db,
        bin: &args.cofund_bin,
        tmp,
        api,
        partner: &seeded.partner,
        campaigns: &seeded.campaigns,
        clients: clients.first().copied().unwrap_or(8),
        duration: Duration::from_secs(args.duration_secs),
    };
    let out = same_sql::run(&env).await;
    report.same_sql = out.markdown;
    report.failures.extend(out.failures);
}

async fn surface_phases(
    api: &Api,
    seeded: &Seeded,
    name: &str,
    duration: Duration,
    report: &mut BackendReport,
) -> Result<()> {
    println!("== {name}: the public surface under abuse");
    report
        .surface
        .extend(surface::abusive_webhooks(api, duration).await?);
    report
        .surface
        .extend(surface::point_in_area(api, &seeded.admin, duration).await?);
    Ok(())
}

/// Spreads consecutive ids apart (a deterministic shuffle: stride through the list).
fn interleave(ids: &mut Vec<String>) {
    let n = ids.len();
    if n < 3 {
        return;
    }
    let mut stride = 7919 % n;
    while stride == 0 || gcd(stride, n) != 1 {
        stride += 1;
    }
    let out: Vec<String> = (0..n).map(|i| ids[(i * stride) % n].clone()).collect();
    *ids = out;
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

async fn verify(
    api: &Api,
    seeded: &Seeded,
    applied_events: usize,
    report: &mut BackendReport,
) -> Result<()> {
    let name = report.name.clone();
    // Let the scheduler finish anything in flight.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rec = api.get("/v1/reconciliation", Some(&seeded.admin)).await?;
    if rec.get("ok").and_then(Value::as_bool) == Some(true) {
        report.notes.push(format!(
            "`GET /v1/reconciliation` after the run: ok (checked {} fund(s), {} campaign(s)).",
            rec.get("checked_funds").unwrap_or(&Value::Null),
            rec.get("checked_campaigns").unwrap_or(&Value::Null)
        ));
    } else {
        report.failures.push(format!(
            "{name}: GET /v1/reconciliation is not ok: {}",
            truncate(&rec.to_string(), 2000)
        ));
    }
    let fund = api
        .get(
            &format!("/v1/funds/{}", seeded.fund_id),
            Some(&seeded.admin),
        )
        .await?;
    let available = str_field(&fund, "available")?;
    if cents(&available)? < 0 {
        report
            .failures
            .push(format!("{name}: fund available is negative: {available}"));
    } else {
        report.notes.push(format!(
            "Fund after the run: available {available}, reserved {}.",
            fund.get("reserved").and_then(Value::as_str).unwrap_or("?")
        ));
    }
    // Every 2xx "applied" event must show in some campaign's `raised`.
    let mut raised_total = 0i64;
    for id in seeded.campaigns.iter().chain(std::iter::once(&seeded.hot)) {
        let v = api.get(&format!("/v1/campaigns/{id}"), None).await?;
        raised_total += cents(&str_field(&v, "raised")?)?;
    }
    let expected = applied_events as i64 * PLEDGE_CENTS;
    if raised_total == expected {
        report.notes.push(format!(
            "Sum of `raised` over all campaigns = {applied_events} applied events × 5.00 = {:.2}.",
            expected as f64 / 100.0
        ));
    } else {
        report.failures.push(format!(
            "{name}: sum of raised is {:.2}, expected {:.2} ({applied_events} applied events × 5.00)",
            raised_total as f64 / 100.0,
            expected as f64 / 100.0
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// pgbench

/// A scratch database initialised for pgbench (scale 10), dropped with the guard.
fn pgbench_database(args: &Args) -> Result<(ScratchPg, String)> {
    let name = format!("cofund_pgbench_{}", short_id());
    psql(&args.pg_admin_url, &format!("CREATE DATABASE {name}"))?;
    let guard = ScratchPg {
        admin_url: args.pg_admin_url.clone(),
        name: name.clone(),
    };
    let url = with_database(&args.pg_admin_url, &name)?;
    println!("== pgbench: initialising scale 10 in {name}");
    pgbench(&["-i", "-s", "10", "-q", &url])?;
    Ok((guard, url))
}

#[derive(Debug, Clone, Copy)]
enum PgbenchKind {
    /// `-N`: simple update (one committed write transaction per request).
    SimpleUpdate,
    /// `-S -M prepared`: select only.
    SelectOnly,
}

/// One pgbench run's tps (without initial connection time).
fn pgbench_tps(url: &str, kind: PgbenchKind, clients: usize, secs: u64) -> Result<f64> {
    let cs = clients.to_string();
    let dur = secs.to_string();
    let mut a = match kind {
        PgbenchKind::SimpleUpdate => vec!["-N"],
        PgbenchKind::SelectOnly => vec!["-S", "-M", "prepared"],
    };
    a.extend(["-c", &cs, "-j", "2", "-T", &dur, url]);
    parse_tps(&pgbench(&a)?)
}

/// pgbench at every client count, the machine to itself (before and after the service runs).
fn run_pgbench(args: &Args, url: &str, clients: &[usize]) -> Result<BTreeMap<usize, PgbenchTps>> {
    let mut out = BTreeMap::new();
    for &c in clients {
        let n = pgbench_tps(url, PgbenchKind::SimpleUpdate, c, args.duration_secs)?;
        let s = pgbench_tps(url, PgbenchKind::SelectOnly, c, args.duration_secs)?;
        println!("   {c} clients: pgbench -N {n:.0} tps, pgbench -S -M prepared {s:.0} tps");
        out.insert(
            c,
            PgbenchTps {
                write_n: n,
                select_s: s,
                write_n_runs: (n, n),
                select_s_runs: (s, s),
            },
        );
    }
    Ok(out)
}

fn pgbench(a: &[&str]) -> Result<String> {
    let out = Command::new("pgbench")
        .args(a)
        .output()
        .context("running pgbench (is it installed?)")?;
    if !out.status.success() {
        bail!(
            "pgbench {} failed: {}",
            a.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).to_string())
}

fn parse_tps(out: &str) -> Result<f64> {
    for line in out.lines() {
        if let Some(rest) = line.trim().strip_prefix("tps = ")
            && line.contains("without initial connection time")
        {
            let num = rest.split_whitespace().next().unwrap_or("");
            return num
                .parse()
                .with_context(|| format!("pgbench tps line {line:?}"));
        }
    }
    bail!("no `tps = … (without initial connection time)` line in pgbench output:\n{out}")
}

// ---------------------------------------------------------------------------------------------
// Report

struct Machine {
    cpus: String,
    model: String,
    mem: String,
    pg_version: String,
}

fn machine(args: &Args) -> Machine {
    let cpus = Command::new("nproc")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "?".into());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| "?".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| {
            let kb: f64 = v
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0.0);
            format!("{:.1} GiB", kb / 1024.0 / 1024.0)
        })
        .unwrap_or_else(|| "?".into());
    let pg_version =
        psql(&args.pg_admin_url, "SELECT version()").unwrap_or_else(|e| format!("unknown ({e})"));
    Machine {
        cpus,
        model,
        mem,
        pg_version,
    }
}

fn fmt_ms(us: u64) -> String {
    format!("{:.2}", us as f64 / 1000.0)
}

fn render(
    args: &Args,
    clients: &[usize],
    m: &Machine,
    reports: &[BackendReport],
    started: chrono::DateTime<Utc>,
    total: Duration,
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Benchmarks\n");
    let _ = writeln!(
        s,
        "Generated by `tools/cofund-bench/src/main.rs`: an end-to-end load test of the release `cofund` \
         binary over HTTP on loopback, compared with `pgbench` on the same machine. This is a \
         measurement, not a tuned result.\n"
    );
    let _ = writeln!(s, "## How to run\n");
    let mut cmd = format!(
        "cargo build --release --bin cofund --bin cofund-bench && target/release/cofund-bench --duration-secs {}",
        args.duration_secs
    );
    if args.clients != "8,32" {
        let _ = write!(cmd, " --clients {}", args.clients);
    }
    if args.campaigns != 100 {
        let _ = write!(cmd, " --campaigns {}", args.campaigns);
    }
    if args.skip_sqlite {
        cmd.push_str(" --skip-sqlite");
    }
    if args.skip_postgres {
        cmd.push_str(" --skip-postgres");
    }
    if args.skip_donor_phases {
        cmd.push_str(" --skip-donor-phases");
    }
    if args.donor_only {
        cmd.push_str(" --donor-only");
    }
    if args.same_sql_only {
        cmd.push_str(" --same-sql-only");
    }
    if args.workflows {
        cmd.push_str(" --workflows");
    }
    if args.every_target {
        cmd.push_str(" --every-target");
    }
    let _ = writeln!(s, "```sh\n{cmd}\n```\n");
    let _ = writeln!(
        s,
        "Options: `--pg-admin-url` (default `$COFUND_TEST_DATABASE_URL` or \
         `postgres://postgres@127.0.0.1:5432/postgres`; needs CREATE DATABASE), `--duration-secs` \
         (10), `--clients` (`8,32`), `--campaigns` (100), `--out` (`docs/benchmarks.md`), \
         `--skip-sqlite`, `--skip-postgres`, `--cofund-bin` (`target/release/cofund`), \
         `--max-events-per-phase` (40000), `--skip-donor-phases` (leave out the donor phases), \
         `--donor-only` (only the donor phases: no event, read or surface phases). `psql` and \
         `pgbench` must be on the PATH.\n"
    );
    let _ = writeln!(s, "## This run\n");
    let _ = writeln!(
        s,
        "- Date: {} (whole run {:.0} s)",
        started.to_rfc3339_opts(SecondsFormat::Secs, true),
        total.as_secs_f64()
    );
    let _ = writeln!(
        s,
        "- Machine: {} CPU(s), {}, {} RAM",
        m.cpus, m.model, m.mem
    );
    let _ = writeln!(s, "- PostgreSQL: {}", m.pg_version);
    let _ = writeln!(
        s,
        "- Phase duration: {} s per phase and client count; clients: {}; {} normal campaigns + 1 hot campaign",
        args.duration_secs,
        clients
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        args.campaigns
    );
    let _ = writeln!(
        s,
        "- Service: `cofund serve` with the simulated payment provider, `COFUND_DB_POOL_SIZE=16`, \
         `RUST_LOG=warn`, scheduler every 200 ms. The load generator (reqwest, closed loop), the \
         service and PostgreSQL share the same CPUs, as does pgbench with PostgreSQL.\n"
    );
    let _ = writeln!(s, "## Method\n");
    let _ = writeln!(
        s,
        "- Closed loop: C tokio tasks, each sending its next request as soon as the previous one \
         was answered (HTTP/1.1 keep-alive), for the phase duration. Latency is measured per \
         request on the client, from send to the full response body; p50/p99 are over every \
         request of the phase.\n\
         - **webhook events**: one signed `payment_intent.succeeded` event (`Stripe-Signature`, \
         5.00 each) per pending pledge, pledges spread round-robin over the normal campaigns. \
         The pending pledges are created over HTTP by a partner (`POST /v1/campaigns/{{id}}/pledges`, \
         32 concurrent) right before the phase, excluded from the timing; on PostgreSQL the bench \
         then runs `VACUUM ANALYZE` on its database, as autovacuum would (this server has it \
         off). The pool is sized from \
         the rate seen so far (capped at `--max-events-per-phase`); if a phase uses up its pool \
         before the duration, it stops and req/s is computed over the time it actually ran \
         (marked † below).\n\
         - **hot campaign events**: the same, but every pledge belongs to one campaign with goal \
         20000.00 (threshold 10000.00 = 2000 pledges), so every event contends on one campaign \
         row. At the first client count the phase has more than 2000 events and, if needed, runs \
         past the duration until 2100 events were sent, so the threshold is crossed (match \
         reserved) inside the measured window; later client counts hit an already-funded \
         campaign.\n\
         - **public reads**: `GET /v1/campaigns/{{random id}}` without a token.\n\
         - Warm-up: before the first measured phase, {w} webhook events (normal campaigns, first \
         client count) are sent and not measured, so that one-off costs of a fresh process (its \
         leader connections, the batch statement prepared once per batch size on each, fresh \
         backends' catalog caches) stay out of the first phase's p99, as pgbench's tps excludes \
         its connection time. They count in the books check.\n\
         - An error is any non-2xx answer, a transport error, or (events) a 2xx whose outcome is \
         not `applied`.\n\
         - pgbench: a separate scratch database, `pgbench -i -s 10`, then \
         `pgbench -N -c C -j 2 -T {d}` (simple update) or `pgbench -S -M prepared -c C -j 2 -T {d}` \
         (select only), tps without initial connection time. **Each phase is compared with the \
         matching pgbench run right before it and right after it** (same client count and \
         duration; the service is up but idle meanwhile): ratio = events/s ÷ mean `-N` tps, \
         reads/s ÷ mean `-S` tps. This machine's speed drifts within minutes (in one run \
         pgbench -N gave 1622 tps before the service's phases and 2608 after them), so a \
         phase is compared with what PostgreSQL did around it rather than minutes away. For \
         reference, every client count is also run once before the service starts and once \
         after it stopped (the machine to itself), and the last column of the table divides by \
         the mean of those two.\n",
        d = args.duration_secs,
        w = WARMUP_EVENTS
    );
    let _ = writeln!(s, "{}", donor::METHOD);
    for r in reports {
        let pg = !r.pgbench.is_empty();
        let _ = writeln!(s, "## {}\n", r.name);
        let _ = writeln!(
            s,
            "| clients | phase | requests | req/s | p50 ms | p99 ms | errors | pgbench tps right around it (mean; before, after) | ratio | ratio to the run-wide pgbench mean |"
        );
        let _ = writeln!(s, "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        for p in &r.phases {
            let flag = if p.kind == PhaseKind::Reads {
                "-S"
            } else {
                "-N"
            };
            let (tps, ratio) = match (p.pgbench_tps(), p.adjacent, p.ratio()) {
                (Some(m), Some((b, a)), Some(ratio)) => (
                    format!("{m:.0} ({flag}; {b:.0}, {a:.0})"),
                    format!("{ratio:.2}"),
                ),
                _ => ("—".into(), "—".into()),
            };
            let run_wide = r
                .pgbench
                .get(&p.clients)
                .map(|t| match p.kind {
                    PhaseKind::Reads => t.select_s,
                    _ => t.write_n,
                })
                .filter(|b| *b > 0.0)
                .map_or("—".into(), |b| format!("{:.2}", p.rate() / b));
            let _ = writeln!(
                s,
                "| {} | {} | {} | {:.0}{} | {} | {} | {} | {} | {} | {} |",
                p.clients,
                p.kind.label(),
                p.requests,
                p.rate(),
                if p.ran_out {
                    format!(
                        " † (all {} events in {:.1} s)",
                        p.prepared,
                        p.elapsed.as_secs_f64()
                    )
                } else {
                    String::new()
                },
                fmt_ms(p.p50_us),
                fmt_ms(p.p99_us),
                p.errors,
                tps,
                ratio,
                run_wide
            );
        }
        let _ = writeln!(s);
        let errs: Vec<&PhaseResult> = r.phases.iter().filter(|p| p.errors > 0).collect();
        if !errs.is_empty() {
            let _ = writeln!(s, "Errors:\n");
            for p in errs {
                for (k, v) in &p.error_detail {
                    let _ = writeln!(
                        s,
                        "- {} clients, {}: {v} × `{}`",
                        p.clients,
                        p.kind.label(),
                        k.replace('`', "'")
                    );
                }
            }
            let _ = writeln!(s);
        }
        let _ = writeln!(
            s,
            "Where the CPU went (CPU time per request, from /proc; {}):\n",
            if pg {
                "PostgreSQL = all `postgres` processes; commits and rows written from \
                 `pg_stat_database` of the bench database, approximate"
            } else {
                "SQLite runs inside the service process"
            }
        );
        let _ = writeln!(
            s,
            "| clients | phase | service ms/req | postgres ms/req | bench client ms/req | CPU busy | PG commits/req | PG rows written/req | confirmations per statement |"
        );
        let _ = writeln!(s, "|---:|---|---:|---:|---:|---:|---:|---:|---:|");
        let ncpu = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1) as f64;
        for p in &r.phases {
            let Some(u) = p.usage else { continue };
            let n = p.requests.max(1) as f64;
            let per =
                |v: Option<i64>| v.map_or("—".to_string(), |v| format!("{:.1}", v as f64 / n));
            let busy = (u.service_ms + u.postgres_ms + u.bench_ms)
                / (p.elapsed.as_secs_f64() * 1000.0 * ncpu);
            let _ = writeln!(
                s,
                "| {} | {} | {:.3} | {} | {:.3} | {:.0} % | {} | {} | {} |",
                p.clients,
                p.kind.label(),
                u.service_ms / n,
                if pg {
                    format!("{:.3}", u.postgres_ms / n)
                } else {
                    "—".into()
                },
                u.bench_ms / n,
                busy * 100.0,
                per(u.pg_commits),
                per(u.pg_rows_written),
                match u.batches {
                    Some((n, jobs)) if n > 0 => format!("{:.1}", jobs as f64 / n as f64),
                    _ => "—".into(),
                },
            );
        }
        let _ = writeln!(s);
        if pg {
            let _ = writeln!(
                s,
                "pgbench with the machine to itself, before the service started and after it \
                 stopped (the run-wide reference):\n"
            );
            let _ = writeln!(
                s,
                "| clients | pgbench -N tps (mean; before, after) | pgbench -S -M prepared tps (mean; before, after) |"
            );
            let _ = writeln!(s, "|---:|---:|---:|");
            for (c, t) in &r.pgbench {
                let _ = writeln!(
                    s,
                    "| {c} | {:.0} ({:.0}, {:.0}) | {:.0} ({:.0}, {:.0}) |",
                    t.write_n,
                    t.write_n_runs.0,
                    t.write_n_runs.1,
                    t.select_s,
                    t.select_s_runs.0,
                    t.select_s_runs.1
                );
            }
            let _ = writeln!(s);
            let _ = writeln!(s, "Targets (PostgreSQL):\n");
            let _ = writeln!(s, "| clients | target | measured | met |");
            let _ = writeln!(s, "|---:|---|---|:-:|");
            for p in &r.phases {
                let Some(ratio) = p.ratio() else {
                    continue;
                };
                let (target, ok, measured) = match p.kind {
                    PhaseKind::Webhooks => (
                        "webhooks ≥ 0.7 × pgbench -N, p99 < 10 ms".to_string(),
                        ratio >= 0.7 && p.p99_us < 10_000 && p.errors == 0,
                        format!(
                            "{ratio:.2} ×, p99 {} ms, {} errors",
                            fmt_ms(p.p99_us),
                            p.errors
                        ),
                    ),
                    PhaseKind::Hot => (
                        "hot ≥ 0.45 × pgbench -N".to_string(),
                        ratio >= 0.45 && p.errors == 0,
                        format!("{ratio:.2} ×, {} errors", p.errors),
                    ),
                    PhaseKind::Reads => (
                        "reads ≥ 0.5 × pgbench -S -M prepared".to_string(),
                        ratio >= 0.5 && p.errors == 0,
                        format!("{ratio:.2} ×, {} errors", p.errors),
                    ),
                };
                let _ = writeln!(
                    s,
                    "| {} | {target}{} | {measured} | {} |",
                    p.clients,
                    if p.clients == 8 {
                        ""
                    } else {
                        " (defined at 8 clients; for reference)"
                    },
                    if ok { "✓" } else { "✗" }
                );
            }
            let _ = writeln!(s);
        }
        if !r.surface.is_empty() {
            let _ = writeln!(s, "### The public surface under abuse\n");
            for line in &r.surface {
                let _ = writeln!(s, "{line}");
            }
        }
        if !r.workflows.is_empty() {
            let _ = writeln!(s, "### The new workflows at scale ({})\n", r.name);
            let _ = writeln!(
                s,
                "| workflow | target | measured | met |\n|---|---|---|:-:|"
            );
            for line in &r.workflows {
                let _ = writeln!(s, "{line}");
            }
            let _ = writeln!(s);
        }
        if !r.same_sql.is_empty() {
            let _ = writeln!(s, "### The same-SQL limit ({})\n", r.name);
            let _ = writeln!(s, "{}", same_sql::METHOD);
            for line in &r.same_sql {
                let _ = writeln!(s, "{line}");
            }
        }
        if !r.donor.is_empty() {
            let _ = writeln!(s, "### Donor phases ({})\n", r.name);
            for line in &r.donor {
                let _ = writeln!(s, "{line}");
            }
        }
        if !r.notes.is_empty() || !r.failures.is_empty() {
            let _ = writeln!(s, "Checks:\n");
            for n in &r.notes {
                let _ = writeln!(s, "- {n}");
            }
            for f in &r.failures {
                let _ = writeln!(s, "- **FAILED**: {f}");
            }
            let _ = writeln!(s);
        }
    }
    s
}

// ---------------------------------------------------------------------------------------------

fn parse_clients(s: &str) -> Result<Vec<usize>> {
    let v: Vec<usize> = s
        .split(',')
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| anyhow!("--clients: {p:?} is not a positive integer"))
        })
        .collect::<Result<_>>()?;
    if v.is_empty() {
        bail!("--clients is empty");
    }
    Ok(v)
}

async fn run(args: Args) -> Result<Vec<BackendReport>> {
    let clients = parse_clients(&args.clients)?;
    let mut reports = Vec::new();

    if !args.skip_postgres {
        // pgbench with the machine to itself, before and after the service's phases (and, on
        // the same scratch database, right around each phase).
        let (pgbench_guard, pgbench_url) = pgbench_database(&args)?;
        let before = if args.surface_only || args.workflows {
            BTreeMap::new()
        } else {
            run_pgbench(&args, &pgbench_url, &clients)?
        };
        let name = format!("cofund_bench_{}", short_id());
        psql(&args.pg_admin_url, &format!("CREATE DATABASE {name}"))
            .context("creating the PostgreSQL benchmark database")?;
        let guard = ScratchPg {
            admin_url: args.pg_admin_url.clone(),
            name: name.clone(),
        };
        let url = with_database(&args.pg_admin_url, &name)?;
        let tmp = temp_dir()?;
        let mut report = bench_backend(
            &args,
            &clients,
            "PostgreSQL",
            &url,
            Some(&name),
            Some(&pgbench_url),
            &tmp.0,
        )
        .await?;
        drop(guard);
        // The service is stopped and its database dropped: pgbench gets the machine alone.
        if !args.surface_only && !args.workflows {
            report.pgbench = bracket(before, run_pgbench(&args, &pgbench_url, &clients)?);
        }
        drop(pgbench_guard);
        reports.push(report);
    }
    if !args.skip_sqlite {
        let tmp = temp_dir()?;
        let url = format!("sqlite://{}", tmp.0.join("bench.db").display());
        let report = bench_backend(&args, &clients, "SQLite", &url, None, None, &tmp.0).await?;
        reports.push(report);
    }
    if args.every_target {
        // As `--workflows` runs them: on a fresh database and service, so that the memory the
        // reconciliation is judged by is not what the load phases left behind.
        let mut only = args.clone();
        only.every_target = false;
        only.workflows = true;
        for report in reports.iter_mut() {
            let fresh = fresh_workflows(&only, &clients, &report.name).await?;
            report.workflows = fresh.workflows;
            report.failures.extend(fresh.failures);
        }
    }
    Ok(reports)
}

/// `--workflows` on a new database of `backend` (`args.workflows` set).
async fn fresh_workflows(args: &Args, clients: &[usize], backend: &str) -> Result<BackendReport> {
    let tmp = temp_dir()?;
    if backend == "SQLite" {
        let url = format!("sqlite://{}", tmp.0.join("workflows.db").display());
        return bench_backend(args, clients, "SQLite", &url, None, None, &tmp.0).await;
    }
    let (guard, url) = scale::scratch_database(args, "cofund_workflows")?;
    let name = guard.name.clone();
    bench_backend(args, clients, "PostgreSQL", &url, Some(&name), None, &tmp.0).await
}

fn temp_dir() -> Result<TempDir> {
    let p = std::env::temp_dir().join(format!("cofund-bench-{}", short_id()));
    std::fs::create_dir_all(&p).with_context(|| format!("creating {}", p.display()))?;
    Ok(TempDir(p))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    if !args.cofund_bin.is_file() {
        eprintln!(
            "error: {} not found: build it with cargo build --release --bin cofund (or pass --cofund-bin)",
            args.cofund_bin.display()
        );
        return std::process::ExitCode::from(2);
    }
    cofund::init_tls();
    if args.grants_only || args.scale {
        let started = Instant::now();
        let section = if args.grants_only {
            grants::section(&args).await
        } else {
            scale::section(&args).await
        };
        return match section.and_then(|md| scale::write_report(&args, md, started)) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let started_at = Utc::now();
    let started = Instant::now();
    let m = machine(&args);
    let reports = match run(args.clone()).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e:#}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let clients = parse_clients(&args.clients).unwrap_or_default();
    let mut failures: Vec<String> = reports.iter().flat_map(|r| r.failures.clone()).collect();
    let mut more = String::new();
    if args.every_target {
        match grants::section(&args).await {
            Ok(md) => more.push_str(&md),
            Err(e) => {
                more.push_str(&format!("## Grants at scale\n\nFailed: {e:#}\n\n"));
                failures.push(format!("grants at scale: {e:#}"));
            }
        }
        if args.scale_reuse.is_some() {
            match scale::section(&args).await {
                Ok(md) => more.push_str(&md),
                Err(e) => {
                    more.push_str(&format!("## Programme-scale data\n\nFailed: {e:#}\n\n"));
                    failures.push(format!("programme scale: {e:#}"));
                }
            }
        } else {
            more.push_str(
                "## Programme-scale data\n\nNot in this run (2,000,000 pledges take about half an \
                 hour a database to seed): seed with `--scale --scale-keep --scale-seed-only`, then \
                 pass `--scale-reuse <file>` to a later `--every-target` or `--scale` run.\n\n",
            );
        }
    }
    let mut doc = render(&args, &clients, &m, &reports, started_at, started.elapsed());
    doc.push_str(&more);
    println!("\n{doc}");
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty())
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        eprintln!("error: creating {}: {e}", dir.display());
        return std::process::ExitCode::FAILURE;
    }
    if let Err(e) = std::fs::write(&args.out, &doc) {
        eprintln!("error: writing {}: {e}", args.out.display());
        return std::process::ExitCode::FAILURE;
    }
    println!("wrote {}", args.out.display());
    if !failures.is_empty() {
        eprintln!("\nVERIFICATION FAILED:");
        for f in failures {
            eprintln!("- {f}");
        }
        return std::process::ExitCode::FAILURE;
    }
    std::process::ExitCode::SUCCESS
}
