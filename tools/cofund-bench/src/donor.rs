//! The donor's side under load (issue 24): pledge creation measured like the other phases, on
//! the simulated provider and through a fake Stripe API, a per-donation rush that spends a
//! fund's budget halfway through, and an open-loop match-day rush of complete donations. Every
//! one is a measurement (never a pass/fail test); the books are checked after each.
//!
//! - **Pledge creation (simulated provider):** closed loop, C clients, each request a
//!   `POST /v1/campaigns/{id}/pledges` (partner token, a fresh `Idempotency-Key`, 5.00) spread
//!   over the campaigns of a threshold fund of its own. Compared with `pgbench -N` right around
//!   it. Target at 8 clients on PostgreSQL: ≥ 0.8 × pgbench -N, p99 < 10 ms.
//! - **Pledge creation through a fake Stripe:** the same phase against a second service started
//!   with `COFUND_PAYMENT_PROVIDER=stripe` on a fresh database, its `COFUND_STRIPE_API_BASE`
//!   pointing at a fake Stripe API served by this process (actix-web, answering at once, the
//!   same PaymentIntent for the same `Idempotency-Key`). The pledges made are then confirmed by
//!   signed webhooks, to check the Stripe-backed books.
//! - **Per-donation rush:** a `per_donation` fund (one to one, at most 5.00 a gift, held 600 s)
//!   whose budget runs out about halfway through the phase, sized from the creation rate: every
//!   second pledge is paid (its signed webhook right after creation, in the same client loop),
//!   the others stay pending. The fund is read every 200 ms (held + reserved ≤ budget); after
//!   the phase the pending payments fail (the simulated provider) and the books must add up.
//! - **Match-day rush (open loop):** donations arrive at fixed rates, each one a task started at
//!   its scheduled time (no coordinated omission): create the pledge, its signed success
//!   webhook, five campaign reads and one badge. Each request's latency counts from when it
//!   should have been sent. Steps stop at the first whose request p99 passes 50 ms, which has
//!   errors, or which completes < 95 % of its rate. Goal: ≥ 1,000 complete donations/s on
//!   PostgreSQL.

use super::{
    Api, Args, BackendReport, MEMBER_PASSWORD, PLEDGE_AMOUNT, PgbenchKind, Sampler, ScratchPg,
    Usage, WEBHOOK_SECRET, bootstrap_and_start_with, cents, clock_ticks_per_sec, event_body,
    fmt_ms, log_tail, make_pledges, percentile, pgbench_tps, proc_ticks, psql, rfc3339, seed,
    short_id, str_field, truncate, wait_ready, with_database,
};
use anyhow::{Context, Result, anyhow, bail};
use chrono::{Duration as ChronoDuration, Utc};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The client count the targets are defined at.
const TARGET_CLIENTS: usize = 8;
/// Pledges created (not measured) before the first measured creation phase on a service.
const WARMUP_PLEDGES: usize = 500;
/// Pledges confirmed by webhook after the Stripe phases (the Stripe-backed books check).
const STRIPE_CONFIRMATIONS: usize = 2000;
/// Match-day rates (complete donations per second), tried in order.
const MATCH_DAY_RATES: [u32; 9] = [50, 100, 200, 400, 600, 800, 1000, 1200, 1500];
/// A match-day step whose request p99 passes this is not sustained.
const MATCH_DAY_P99_US: u64 = 50_000;
/// Match-day goals (complete donations/s): PostgreSQL, with a whole donation's p99 under
/// `MATCH_DAY_P99_US` too; SQLite's single writer.
const MATCH_DAY_GOAL_PG: u32 = 400;
const MATCH_DAY_GOAL_SQLITE: u32 = 600;
/// Donations in flight at once in the open loop; beyond, a donation is an error ("bench
/// saturated"), so the load generator cannot explode.
const INFLIGHT_CAP: usize = 4096;
/// Concurrency of the unmeasured set-up and clean-up requests.
const SETUP_CONCURRENCY: usize = 32;
const STRIPE_KEY: &str = "sk_test_bench";
/// The donor phases' own area (far from the seeded one and the surface phases' areas).
const AREA_LAT: f64 = 40.5;
const AREA_LON: f64 = 12.5;

/// What `bench_backend` hands over.
pub struct Env<'a> {
    pub args: &'a Args,
    pub clients: &'a [usize],
    pub name: &'a str,
    pub api: &'a Api,
    pub sampler: &'a Sampler,
    pub service_pid: u32,
    /// The service's PostgreSQL database (None on SQLite).
    pub pg_db: Option<&'a str>,
    pub pgbench_url: Option<&'a str>,
    pub tmp: &'a Path,
    pub admin: &'a str,
    pub partner: &'a str,
}

/// A running service the phases talk to.
struct Target<'a> {
    api: &'a Api,
    sampler: &'a Sampler,
    pid: u32,
    pg_db: Option<String>,
    admin: String,
    partner: String,
    member: String,
}

/// Runs every donor phase on the backend; Markdown goes into `report.donor`, broken books into
/// `report.failures`. An error stops the donor phases (recorded as a failure), not the run.
pub async fn run(env: &Env<'_>, report: &mut BackendReport) {
    println!("== {}: donor phases (issue 24)", env.name);
    let mut out = Out::default();
    let result = phases(env, &mut out, &mut report.failures).await;
    if let Err(e) = &result {
        // A service that died says why in its log (the scratch directory goes with the run).
        let state = std::fs::read_to_string(format!("/proc/{}/stat", env.service_pid))
            .ok()
            .and_then(|s| {
                s.rsplit(')')
                    .next()?
                    .split_whitespace()
                    .next()
                    .map(str::to_string)
            });
        let dead = matches!(state.as_deref(), None | Some("Z" | "X"));
        let why = if dead {
            eprintln!(
                "   the service process has exited; the end of its log:\n{}",
                log_tail(&env.tmp.join("server.log"))
            );
            " (the service process had exited; the end of its log is on the bench's stderr)"
        } else {
            ""
        };
        eprintln!("   donor phases stopped: {e:#}{why}");
        report
            .failures
            .push(format!("{}: donor phases stopped: {e:#}{why}", env.name));
        out.notes
            .push(format!("**The donor phases stopped early:** {e:#}{why}"));
    }
    report.donor = out.render(env.pg_db.is_some());
}

async fn phases(env: &Env<'_>, out: &mut Out, failures: &mut Vec<String>) -> Result<()> {
    let duration = Duration::from_secs(env.args.duration_secs);
    let member = member_token(env.api).await?;
    let main = Target {
        api: env.api,
        sampler: env.sampler,
        pid: env.service_pid,
        pg_db: env.pg_db.map(str::to_string),
        admin: env.admin.to_string(),
        partner: env.partner.to_string(),
        member,
    };
    // Donor e-mails d{k}@example.org, apart from the other phases' donors.
    let seq = Arc::new(AtomicUsize::new(10_000_000));
    let area = create_area(&main).await?;
    if env.args.match_day_only {
        return match_day(&main, env, &area, &seq, out, failures).await;
    }

    // 1. Pledge creation, simulated provider.
    let t = Instant::now();
    let (_, camps) = create_fund(&main, &area, "Donor phases: creation", json!({}), env).await?;
    let camps = Arc::new(camps);
    make_pledges(main.api, &main.partner, &camps, WARMUP_PLEDGES, &seq).await?;
    println!(
        "   creation fund: {} campaigns and {WARMUP_PLEDGES} warm-up pledges in {:.1} s (not measured)",
        camps.len(),
        t.elapsed().as_secs_f64()
    );
    let mut creation_rate: BTreeMap<usize, f64> = BTreeMap::new();
    for &c in env.clients {
        let (lo, around) = measure(&main, env, Some(c), async {
            pledge_loop(
                main.api,
                &main.partner,
                &camps,
                c,
                duration,
                Mode::Create,
                &seq,
            )
            .await
        })
        .await?;
        let row = Row::new("pledge creation (simulated)", c, &lo, around, String::new());
        row.print();
        creation_rate.insert(c, row.rate());
        out.target_creation(&row, "pledge creation");
        out.rows.push(row);
        books(
            &main,
            &format!("pledge creation, {c} clients"),
            env,
            out,
            failures,
        )
        .await?;
    }

    // 2. Pledge creation through a fake Stripe API (a second service on a fresh database).
    stripe_phases(env, &seq, out, failures).await?;

    // 3. Per-donation rush, at the target client count.
    let c = if env.clients.contains(&TARGET_CLIENTS) {
        TARGET_CLIENTS
    } else {
        env.clients[0]
    };
    let rate = creation_rate.get(&c).copied().unwrap_or(100.0);
    rush(&main, env, &area, c, rate, &seq, out, failures).await?;

    // 4. Match-day rush, open loop.
    match_day(&main, env, &area, &seq, out, failures).await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Set-up over HTTP

async fn member_token(api: &Api) -> Result<String> {
    api.token(json!({"grant_type":"password","username":"benchmember","password":MEMBER_PASSWORD}))
        .await
        .context("member token")
}

async fn create_area(t: &Target<'_>) -> Result<String> {
    let (lat, lon) = (AREA_LAT, AREA_LON);
    let ring = json!([
        [lon - 0.5, lat - 0.5],
        [lon + 0.5, lat - 0.5],
        [lon + 0.5, lat + 0.5],
        [lon - 0.5, lat + 0.5],
        [lon - 0.5, lat - 0.5]
    ]);
    let area = t
        .api
        .post(
            "/v1/areas",
            Some(&t.admin),
            &json!({"code":"BENCH-DONOR","name":"Bench donor phases",
                "geometry":{"type":"Polygon","coordinates":[ring]}}),
        )
        .await
        .context("creating the donor phases' area")?;
    str_field(&area, "id")
}

/// A fund (`extra` merged into a plain threshold fund of 100,000,000.00) with `--campaigns`
/// live campaigns of goal 1,000,000.00; returns its id and the campaigns' ids.
async fn create_fund(
    t: &Target<'_>,
    area: &str,
    name: &str,
    extra: Value,
    env: &Env<'_>,
) -> Result<(String, Vec<String>)> {
    let now = Utc::now();
    let mut body = json!({"name": name, "budget": "100000000.00", "eligible_area_ids": [area],
        "opens_at": rfc3339(now - ChronoDuration::days(1)),
        "closes_at": rfc3339(now + ChronoDuration::days(100))});
    if let (Some(b), Value::Object(extra)) = (body.as_object_mut(), extra) {
        b.extend(extra);
    }
    let fund = t
        .api
        .post("/v1/funds", Some(&t.admin), &body)
        .await
        .with_context(|| format!("creating the fund {name:?}"))?;
    let fund_id = str_field(&fund, "id")?;
    let n = env.args.campaigns.max(1);
    let made: Vec<Result<String>> = futures_util::stream::iter(0..n)
        .map(|i| {
            let fund_id = fund_id.clone();
            async move {
                let c = t
                    .api
                    .post(
                        "/v1/campaigns",
                        Some(&t.member),
                        &json!({"fund_id":fund_id,"title":format!("{name} {i}"),"summary":"s",
                            "goal":"1000000.00","location":{"lat":AREA_LAT,"lon":AREA_LON},
                            "starts_at": rfc3339(now - ChronoDuration::hours(1)),
                            "ends_at": rfc3339(now + ChronoDuration::days(30))}),
                    )
                    .await?;
                let id = str_field(&c, "id")?;
                t.api
                    .post(
                        &format!("/v1/campaigns/{id}/submit"),
                        Some(&t.member),
                        &json!({}),
                    )
                    .await?;
                t.api
                    .post(
                        &format!("/v1/campaigns/{id}/approve"),
                        Some(&t.admin),
                        &json!({}),
                    )
                    .await?;
                Ok(id)
            }
        })
        .buffered(8)
        .collect()
        .await;
    let ids = made.into_iter().collect::<Result<Vec<_>>>()?;
    // The scheduler turns approved campaigns whose start has passed live.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut pending = ids.clone();
    while !pending.is_empty() {
        let mut still = Vec::new();
        for id in &pending {
            let v = t.api.get(&format!("/v1/campaigns/{id}"), None).await?;
            if v.get("status").and_then(Value::as_str) != Some("live") {
                still.push(id.clone());
            }
        }
        pending = still;
        if pending.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            bail!("{} campaign(s) not live 30 s after approval", pending.len());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok((fund_id, ids))
}

// ---------------------------------------------------------------------------------------------
// Requests

fn pledge_request(api: &Api, partner: &str, campaign: &str, k: usize) -> reqwest::RequestBuilder {
    api.http
        .post(format!("{}/v1/campaigns/{campaign}/pledges", api.base))
        .bearer_auth(partner)
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .json(&json!({"amount": PLEDGE_AMOUNT,
            "donor": {"name": "D", "email": format!("d{k}@example.org")}}))
}

/// A signed `payment_intent.succeeded` event (5.00) for `payment_id`.
fn webhook_request(api: &Api, payment_id: &str) -> reqwest::RequestBuilder {
    let now = Utc::now().timestamp();
    let body = event_body(payment_id, now);
    let sig = cofund::providers::signature::header(WEBHOOK_SECRET, now, body.as_bytes());
    api.http
        .post(format!("{}/v1/webhooks/stripe", api.base))
        .header("Stripe-Signature", sig)
        .header("content-type", "application/json")
        .body(body)
}

/// Status and body, or what went wrong on the way (without the URL, so errors group).
async fn send(req: reqwest::RequestBuilder) -> Result<(u16, String), String> {
    let classify = |e: reqwest::Error| {
        if e.is_timeout() {
            "timeout".to_string()
        } else if e.is_connect() {
            "connection refused or reset".to_string()
        } else {
            "transport error".to_string()
        }
    };
    match req.send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            r.text().await.map(|b| (status, b)).map_err(classify)
        }
        Err(e) => Err(classify(e)),
    }
}

fn ok(status: u16) -> bool {
    (200..300).contains(&status)
}

fn applied(body: &str) -> bool {
    body.contains("\"applied\"")
}

/// The provider payment id and the held match (cents; None outside `per_donation` funds) of
/// a created pledge's answer.
fn created(body: &str) -> Result<(String, Option<i64>), String> {
    let v: Value = serde_json::from_str(body).map_err(|_| "create: answer is not JSON")?;
    let pid = v
        .pointer("/payment/provider_payment_id")
        .and_then(Value::as_str)
        .ok_or("create: no payment.provider_payment_id")?;
    let held = v
        .pointer("/match/amount")
        .and_then(Value::as_str)
        .and_then(|s| cents(s).ok());
    Ok((pid.to_string(), held))
}

fn bump(errors: &mut BTreeMap<String, usize>, e: String) {
    *errors.entry(e).or_default() += 1;
}

/// Runs `f` over `items`, `SETUP_CONCURRENCY` at a time; counts the outcomes it names.
async fn each<F, Fut>(items: Vec<String>, f: F) -> BTreeMap<String, usize>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = String>,
{
    futures_util::stream::iter(items)
        .map(f)
        .buffer_unordered(SETUP_CONCURRENCY)
        .fold(BTreeMap::new(), |mut m, o| async move {
            bump(&mut m, o);
            m
        })
        .await
}

fn outcomes(m: &BTreeMap<String, usize>) -> String {
    m.iter()
        .map(|(k, v)| format!("{k} × {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------------------------------------
// Closed loop of pledge creations

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Pledges only.
    Create,
    /// Pledges, and every second one paid by its signed webhook right after creation.
    Rush,
}

/// A pledge made in a closed loop.
struct Made {
    pid: String,
    /// The held match (per_donation funds).
    held: Option<i64>,
    paid: bool,
    /// When its creation was answered, from the start of the phase.
    at: Duration,
}

#[derive(Default)]
struct LoopOut {
    create_us: Vec<u64>,
    webhook_us: Vec<u64>,
    errors: BTreeMap<String, usize>,
    made: Vec<Made>,
    elapsed: Duration,
}

impl LoopOut {
    fn requests(&self) -> usize {
        self.create_us.len() + self.webhook_us.len()
    }

    fn errors(&self) -> usize {
        self.errors.values().sum()
    }
}

async fn pledge_loop(
    api: &Api,
    partner: &str,
    campaigns: &Arc<Vec<String>>,
    clients: usize,
    duration: Duration,
    mode: Mode,
    seq: &Arc<AtomicUsize>,
) -> Result<LoopOut> {
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let api = api.clone();
        let partner = partner.to_string();
        let campaigns = campaigns.clone();
        let seq = seq.clone();
        tasks.push(tokio::spawn(async move {
            let mut o = LoopOut::default();
            while Instant::now() < deadline {
                let k = seq.fetch_add(1, Ordering::Relaxed);
                let cid = &campaigns[k % campaigns.len()];
                let t0 = Instant::now();
                let res = send(pledge_request(&api, &partner, cid, k)).await;
                o.create_us.push(t0.elapsed().as_micros() as u64);
                let (pid, held) = match res {
                    Ok((s, body)) if ok(s) => match created(&body) {
                        Ok(x) => x,
                        Err(e) => {
                            bump(&mut o.errors, e);
                            continue;
                        }
                    },
                    Ok((s, body)) => {
                        bump(
                            &mut o.errors,
                            format!("create {s}: {}", truncate(&body, 120)),
                        );
                        continue;
                    }
                    Err(e) => {
                        bump(&mut o.errors, format!("create: {e}"));
                        continue;
                    }
                };
                let mut made = Made {
                    pid,
                    held,
                    paid: false,
                    at: started.elapsed(),
                };
                if mode == Mode::Rush {
                    if held.is_none() {
                        bump(&mut o.errors, "create: no match in the answer".into());
                    }
                    if k.is_multiple_of(2) {
                        let t1 = Instant::now();
                        let res = send(webhook_request(&api, &made.pid)).await;
                        o.webhook_us.push(t1.elapsed().as_micros() as u64);
                        match res {
                            Ok((s, body)) if ok(s) && applied(&body) => made.paid = true,
                            Ok((s, body)) => bump(
                                &mut o.errors,
                                format!("webhook {s}: {}", truncate(&body, 120)),
                            ),
                            Err(e) => bump(&mut o.errors, format!("webhook: {e}")),
                        }
                    }
                }
                o.made.push(made);
            }
            o
        }));
    }
    let mut all = LoopOut::default();
    for t in tasks {
        let o = t.await?;
        all.create_us.extend(o.create_us);
        all.webhook_us.extend(o.webhook_us);
        all.made.extend(o.made);
        for (k, v) in o.errors {
            *all.errors.entry(k).or_default() += v;
        }
    }
    all.elapsed = started.elapsed();
    all.create_us.sort_unstable();
    all.webhook_us.sort_unstable();
    Ok(all)
}

// ---------------------------------------------------------------------------------------------
// Measuring around a phase: pgbench, CPU, RSS

#[derive(Clone, Copy, Default)]
struct Rss {
    /// Median and largest VmRSS seen, kB.
    steady_kb: u64,
    peak_kb: u64,
    samples: usize,
}

impl Rss {
    fn show(&self) -> String {
        if self.samples == 0 {
            return "—".into();
        }
        format!(
            "{:.0} / {:.0}",
            self.steady_kb as f64 / 1024.0,
            self.peak_kb as f64 / 1024.0
        )
    }
}

fn vm_rss_kb(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The service's VmRSS, read every 100 ms by a thread of its own.
struct RssWatch {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Vec<u64>>,
}

impl RssWatch {
    fn start(pid: u32) -> RssWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut v = Vec::new();
            loop {
                if let Some(kb) = vm_rss_kb(pid) {
                    v.push(kb);
                }
                if flag.load(Ordering::Relaxed) {
                    return v;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        RssWatch { stop, thread }
    }

    fn finish(self) -> Rss {
        self.stop.store(true, Ordering::Relaxed);
        let mut v = self.thread.join().unwrap_or_default();
        v.sort_unstable();
        Rss {
            steady_kb: v.get(v.len() / 2).copied().unwrap_or(0),
            peak_kb: v.last().copied().unwrap_or(0),
            samples: v.len(),
        }
    }
}

/// CPU ticks of this process's threads that serve the fake Stripe (actix's).
fn fake_stripe_ticks() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    dir.flatten()
        .filter(|e| {
            std::fs::read_to_string(e.path().join("comm"))
                .map(|c| c.starts_with("actix") || c.starts_with("fake-stripe"))
                .unwrap_or(false)
        })
        .filter_map(|e| proc_ticks(&e.path().join("stat")))
        .sum()
}

/// CPU ticks by process at one moment.
struct Cpu {
    service: u64,
    bench: u64,
    /// PostgreSQL processes working for the service's database, by pid (see [`pg_ticks`]).
    pg: HashMap<u32, u64>,
    /// The whole machine from `/proc/stat`: (busy, all), every CPU.
    machine: (u64, u64),
}

/// CPU ticks of the PostgreSQL processes that work for `db`, by pid: its backends and the
/// server's own processes (postmaster, checkpointer, WAL writer, …). Backends of other
/// databases (pgbench's, anyone else's tests) are left out, and so, by taking differences per
/// pid, are processes that exit during the phase (a sum over all `postgres` processes drops
/// when one exits).
fn pg_ticks(db: &str) -> HashMap<u32, u64> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return HashMap::new();
    };
    dir.flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let comm = std::fs::read_to_string(e.path().join("comm")).ok()?;
            if comm.trim() != "postgres" {
                return None;
            }
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            let client = cmdline.contains('(') || cmdline.contains("[local]");
            let ours = cmdline.split_whitespace().any(|w| w == db);
            if client && !ours {
                return None;
            }
            Some((pid, proc_ticks(&e.path().join("stat"))?))
        })
        .collect()
}

fn machine_ticks() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let f: Vec<u64> = text
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .take(8)
        .filter_map(|v| v.parse().ok())
        .collect();
    if f.len() < 8 {
        return (0, 0);
    }
    // user nice system idle iowait irq softirq steal
    let busy = f[0] + f[1] + f[2] + f[5] + f[6] + f[7];
    (busy, busy + f[3] + f[4])
}

fn cpu_now(t: &Target<'_>) -> Cpu {
    Cpu {
        service: proc_ticks(Path::new(&format!("/proc/{}/stat", t.pid))).unwrap_or(0),
        bench: proc_ticks(Path::new("/proc/self/stat")).unwrap_or(0),
        pg: t.pg_db.as_deref().map(pg_ticks).unwrap_or_default(),
        machine: machine_ticks(),
    }
}

struct Around {
    adjacent: Option<(f64, f64)>,
    usage: Usage,
    rss: Rss,
    /// Share of the whole machine's CPU time that was busy during the phase (any process).
    machine_busy: f64,
}

/// Runs `phase` between pgbench runs (`clients`: same client count and duration, PostgreSQL
/// only), `VACUUM ANALYZE` of the service's database (as autovacuum would), CPU snapshots and
/// the service's RSS, as `bench_backend` measures its phases.
async fn measure<T>(
    t: &Target<'_>,
    env: &Env<'_>,
    clients: Option<usize>,
    phase: impl Future<Output = Result<T>>,
) -> Result<(T, Around)> {
    let pgbench = |c: usize| -> Result<Option<f64>> {
        match env.pgbench_url {
            Some(url) => Ok(Some(pgbench_tps(
                url,
                PgbenchKind::SimpleUpdate,
                c,
                env.args.duration_secs,
            )?)),
            None => Ok(None),
        }
    };
    let before = match clients {
        Some(c) => pgbench(c)?,
        None => None,
    };
    if let Some(db) = &t.pg_db {
        psql(
            &with_database(&env.args.pg_admin_url, db)?,
            "VACUUM ANALYZE",
        )?;
    }
    let pg = t.pg_db.is_some();
    // Let PostgreSQL flush its statistics before the snapshot.
    tokio::time::sleep(Duration::from_millis(if pg { 1100 } else { 100 })).await;
    let s0 = t.sampler.snapshot();
    let c0 = cpu_now(t);
    let rss = RssWatch::start(t.pid);
    let result = phase.await;
    let c1 = cpu_now(t);
    let rss = rss.finish();
    let result = result?;
    if pg {
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    // Commits, rows and batches from the sampler (after PostgreSQL flushed its statistics);
    // CPU over the phase alone, PostgreSQL's per process of the service's database.
    let mut usage = t.sampler.usage(s0, t.sampler.snapshot());
    let ms = |a: u64, b: u64| b.saturating_sub(a) as f64 * 1000.0 / t.sampler.hz;
    usage.service_ms = ms(c0.service, c1.service);
    usage.bench_ms = ms(c0.bench, c1.bench);
    usage.postgres_ms = c1
        .pg
        .iter()
        .map(|(pid, b)| ms(c0.pg.get(pid).copied().unwrap_or(0), *b))
        .fold(0.0, |a, b| a + b);
    let (busy, all) = (
        c1.machine.0.saturating_sub(c0.machine.0),
        c1.machine.1.saturating_sub(c0.machine.1),
    );
    let machine_busy = if all > 0 {
        busy as f64 / all as f64
    } else {
        0.0
    };
    let adjacent = match (clients, before) {
        (Some(c), Some(b)) => pgbench(c)?.map(|a| (b, a)),
        _ => None,
    };
    Ok((
        result,
        Around {
            adjacent,
            usage,
            rss,
            machine_busy,
        },
    ))
}

// ---------------------------------------------------------------------------------------------
// Results

/// One closed-loop phase's row.
struct Row {
    phase: String,
    clients: usize,
    requests: usize,
    elapsed: Duration,
    p50_us: u64,
    p99_us: u64,
    errors: usize,
    error_detail: BTreeMap<String, usize>,
    around: Around,
    note: String,
}

impl Row {
    fn new(phase: &str, clients: usize, lo: &LoopOut, around: Around, note: String) -> Row {
        let mut all: Vec<u64> = lo.create_us.iter().chain(&lo.webhook_us).copied().collect();
        all.sort_unstable();
        Row {
            phase: phase.to_string(),
            clients,
            requests: lo.requests(),
            elapsed: lo.elapsed,
            p50_us: percentile(&all, 0.50),
            p99_us: percentile(&all, 0.99),
            errors: lo.errors(),
            error_detail: lo.errors.clone(),
            around,
            note,
        }
    }

    fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn pgbench(&self) -> Option<f64> {
        self.around.adjacent.map(|(b, a)| (b + a) / 2.0)
    }

    fn ratio(&self) -> Option<f64> {
        self.pgbench().filter(|t| *t > 0.0).map(|t| self.rate() / t)
    }

    fn print(&self) {
        println!(
            "   {} clients, {}: {} requests in {:.2} s = {:.0} req/s, p50 {} ms, p99 {} ms, {} errors{}",
            self.clients,
            self.phase,
            self.requests,
            self.elapsed.as_secs_f64(),
            self.rate(),
            fmt_ms(self.p50_us),
            fmt_ms(self.p99_us),
            self.errors,
            match (self.around.adjacent, self.ratio()) {
                (Some((b, a)), Some(r)) =>
                    format!("; pgbench -N {b:.0} / {a:.0} tps, ratio {r:.2}"),
                _ => String::new(),
            }
        );
        for (k, v) in &self.error_detail {
            println!("      {v} × {k}");
        }
    }

    fn markdown(&self, pg: bool) -> String {
        let u = &self.around.usage;
        let n = self.requests.max(1) as f64;
        let (tps, ratio) = match (self.pgbench(), self.around.adjacent, self.ratio()) {
            (Some(m), Some((b, a)), Some(r)) => {
                (format!("{m:.0} ({b:.0}, {a:.0})"), format!("{r:.2}"))
            }
            _ => ("—".into(), "—".into()),
        };
        format!(
            "| {} | {} | {} | {:.0} | {} | {} | {} | {} | {} | {:.3} / {} / {:.3} | {:.0} % ({:.0} %) | {} | {} |",
            self.clients,
            self.phase,
            self.requests,
            self.rate(),
            fmt_ms(self.p50_us),
            fmt_ms(self.p99_us),
            self.errors,
            tps,
            ratio,
            u.service_ms / n,
            if pg {
                format!("{:.3}", u.postgres_ms / n)
            } else {
                "—".into()
            },
            u.bench_ms / n,
            busy(u, self.elapsed) * 100.0,
            self.around.machine_busy * 100.0,
            u.pg_commits
                .map_or("—".into(), |c| format!("{:.1}", c as f64 / n)),
            self.around.rss.show(),
        )
    }
}

fn ncpu() -> f64 {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1) as f64
}

/// Share of the machine's CPU time the three parties used over `elapsed`.
fn busy(u: &Usage, elapsed: Duration) -> f64 {
    (u.service_ms + u.postgres_ms + u.bench_ms) / (elapsed.as_secs_f64() * 1000.0 * ncpu())
}

#[derive(Default)]
struct Out {
    rows: Vec<Row>,
    /// (target, measured, met).
    targets: Vec<(String, String, bool)>,
    match_day: Vec<String>,
    notes: Vec<String>,
}

impl Out {
    /// The creation target (defined at 8 clients on PostgreSQL).
    fn target_creation(&mut self, r: &Row, what: &str) {
        let Some(ratio) = r.ratio() else { return };
        self.targets.push((
            format!(
                "{} clients: {what} ≥ 0.8 × pgbench -N, p99 < 10 ms{}",
                r.clients,
                if r.clients == TARGET_CLIENTS {
                    ""
                } else {
                    " (defined at 8 clients; for reference)"
                }
            ),
            format!(
                "{ratio:.2} × ({:.0} req/s), p99 {} ms, {} errors",
                r.rate(),
                fmt_ms(r.p99_us),
                r.errors
            ),
            ratio >= 0.8 && r.p99_us < 10_000 && r.errors == 0,
        ));
    }

    fn render(&self, pg: bool) -> Vec<String> {
        let mut s = Vec::new();
        if !self.rows.is_empty() {
            s.push(format!(
                "Closed-loop phases (times in ms; CPU time per request from /proc over the \
                     phase: {} and the bench process; CPU busy: those three, and in \
                     parentheses every process of the machine; the service's RSS sampled every \
                     100 ms during the phase, median / peak):",
                if pg {
                    "the service, PostgreSQL (the backends of the service's database and the \
                     server's own processes)"
                } else {
                    "the service (SQLite runs inside it)"
                }
            ));
            s.push(String::new());
            s.push(
                "| clients | phase | requests | req/s | p50 | p99 | errors | pgbench -N tps right around it (mean; before, after) | ratio | CPU ms/req service / postgres / bench | CPU busy: these three (whole machine) | PG commits/req | service RSS MiB steady / peak |"
                    .into(),
            );
            s.push("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|".into());
            for r in &self.rows {
                s.push(r.markdown(pg));
            }
            s.push(String::new());
            let notes: Vec<&Row> = self.rows.iter().filter(|r| !r.note.is_empty()).collect();
            for r in notes {
                s.push(format!("- {} clients, {}: {}", r.clients, r.phase, r.note));
            }
            let errs: Vec<&Row> = self.rows.iter().filter(|r| r.errors > 0).collect();
            for r in errs {
                for (k, v) in &r.error_detail {
                    s.push(format!(
                        "- errors, {} clients, {}: {v} × `{}`",
                        r.clients,
                        r.phase,
                        k.replace('`', "'")
                    ));
                }
            }
            s.push(String::new());
        }
        if !self.match_day.is_empty() {
            s.extend(self.match_day.iter().cloned());
            s.push(String::new());
        }
        if !self.targets.is_empty() {
            s.push(format!(
                "Targets of the donor phases ({}):",
                if pg { "PostgreSQL" } else { "SQLite" }
            ));
            s.push(String::new());
            s.push("| target | measured | met |".into());
            s.push("|---|---|:-:|".into());
            for (t, m, ok) in &self.targets {
                s.push(format!("| {t} | {m} | {} |", if *ok { "✓" } else { "✗" }));
            }
            s.push(String::new());
        }
        if !self.notes.is_empty() {
            s.push("Donor phases, details and books:".into());
            s.push(String::new());
            for n in &self.notes {
                s.push(format!("- {n}"));
            }
            s.push(String::new());
        }
        s
    }
}

/// `GET /v1/reconciliation` after a phase: recorded, and a failure when not ok.
async fn books(
    t: &Target<'_>,
    after: &str,
    env: &Env<'_>,
    out: &mut Out,
    failures: &mut Vec<String>,
) -> Result<bool> {
    let started = Instant::now();
    let rec = t.api.get("/v1/reconciliation", Some(&t.admin)).await?;
    let took = started.elapsed().as_secs_f64();
    let ok = rec.get("ok").and_then(Value::as_bool) == Some(true);
    if ok {
        out.notes.push(format!(
            "`GET /v1/reconciliation` after {after}: ok ({} fund(s), {} campaign(s); {took:.2} s).",
            rec.get("checked_funds").unwrap_or(&Value::Null),
            rec.get("checked_campaigns").unwrap_or(&Value::Null),
        ));
    } else {
        let msg = format!(
            "`GET /v1/reconciliation` after {after} is NOT ok: {}",
            truncate(&rec.to_string(), 1500)
        );
        out.notes.push(format!("**{msg}**"));
        failures.push(format!("{}: {msg}", env.name));
    }
    println!(
        "   reconciliation after {after}: {} ({took:.2} s)",
        if ok { "ok" } else { "NOT OK" }
    );
    Ok(ok)
}

// ---------------------------------------------------------------------------------------------
// The fake Stripe API

#[derive(Default)]
struct FakeState {
    /// Idempotency-Key → PaymentIntent id.
    intents: Mutex<HashMap<String, String>>,
    next: AtomicU64,
    requests: AtomicU64,
    created: AtomicU64,
    replayed: AtomicU64,
    /// Anything but PaymentIntent creation (retrievals, cancels, refunds, unknown paths).
    other: AtomicU64,
    unauthorized: AtomicU64,
}

/// A Stripe API stand-in on 127.0.0.1, served by actix-web on a thread of its own; answers at
/// once.
struct FakeStripe {
    base: String,
    state: Arc<FakeState>,
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn stripe_error(status: actix_web::http::StatusCode, message: &str) -> actix_web::HttpResponse {
    actix_web::HttpResponse::build(status)
        .json(json!({"error": {"type": "invalid_request_error", "message": message}}))
}

fn authorized(req: &actix_web::HttpRequest, state: &FakeState) -> bool {
    state.requests.fetch_add(1, Ordering::Relaxed);
    let expected = format!("Bearer {STRIPE_KEY}");
    let ok = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        == Some(expected.as_str());
    if !ok {
        state.unauthorized.fetch_add(1, Ordering::Relaxed);
    }
    ok
}

async fn fake_create(
    req: actix_web::HttpRequest,
    form: actix_web::web::Form<HashMap<String, String>>,
    state: actix_web::web::Data<FakeState>,
) -> actix_web::HttpResponse {
    use actix_web::http::StatusCode;
    if !authorized(&req, &state) {
        return stripe_error(StatusCode::UNAUTHORIZED, "Invalid API Key provided");
    }
    let Some(amount) = form.get("amount").and_then(|a| a.parse::<i64>().ok()) else {
        return stripe_error(StatusCode::BAD_REQUEST, "Missing required param: amount.");
    };
    let currency = form.get("currency").cloned().unwrap_or_default();
    let key = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let fresh = || format!("pi_bench{}", state.next.fetch_add(1, Ordering::Relaxed) + 1);
    let id = match key {
        Some(k) => {
            let mut m = state.intents.lock().unwrap_or_else(|p| p.into_inner());
            match m.get(&k) {
                Some(id) => {
                    state.replayed.fetch_add(1, Ordering::Relaxed);
                    id.clone()
                }
                None => {
                    let id = fresh();
                    m.insert(k, id.clone());
                    state.created.fetch_add(1, Ordering::Relaxed);
                    id
                }
            }
        }
        None => {
            state.created.fetch_add(1, Ordering::Relaxed);
            fresh()
        }
    };
    actix_web::HttpResponse::Ok().json(json!({
        "id": id, "object": "payment_intent", "amount": amount, "amount_received": 0,
        "currency": currency, "status": "requires_payment_method",
        "client_secret": format!("{id}_secret_bench"),
        "metadata": {"pledge_id": form.get("metadata[pledge_id]")},
    }))
}

/// Retrievals, cancels and refunds: answered plausibly (the phases do not need them).
async fn fake_other(
    req: actix_web::HttpRequest,
    state: actix_web::web::Data<FakeState>,
) -> actix_web::HttpResponse {
    use actix_web::http::StatusCode;
    if !authorized(&req, &state) {
        return stripe_error(StatusCode::UNAUTHORIZED, "Invalid API Key provided");
    }
    state.other.fetch_add(1, Ordering::Relaxed);
    let path = req.path().to_string();
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (req.method().as_str(), segs.as_slice()) {
        ("GET", ["v1", "payment_intents", id]) => actix_web::HttpResponse::Ok().json(json!({
            "id": id, "object": "payment_intent", "status": "requires_payment_method",
            "amount_received": 0, "currency": "eur"})),
        ("POST", ["v1", "payment_intents", id, "cancel"]) => actix_web::HttpResponse::Ok()
            .json(json!({
                "id": id, "object": "payment_intent", "status": "canceled"})),
        ("POST", ["v1", "refunds"]) => actix_web::HttpResponse::Ok().json(json!({
            "id": format!("re_bench{}", state.next.fetch_add(1, Ordering::Relaxed) + 1),
            "object": "refund", "status": "succeeded"})),
        _ => stripe_error(StatusCode::NOT_FOUND, "Unrecognized request URL"),
    }
}

impl FakeStripe {
    fn start() -> Result<FakeStripe> {
        use actix_web::{App, HttpServer, web};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").context("fake Stripe: bind")?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(FakeState::default());
        let data = web::Data::from(state.clone());
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("fake-stripe".into())
            .spawn(move || {
                actix_web::rt::System::new().block_on(async move {
                    let server = HttpServer::new(move || {
                        App::new()
                            .app_data(data.clone())
                            .route("/v1/payment_intents", web::post().to(fake_create))
                            .default_service(web::to(fake_other))
                    })
                    .workers(1)
                    .disable_signals()
                    .listen(listener);
                    match server {
                        Ok(s) => {
                            let s = s.run();
                            let _ = tx.send(Ok(s.handle()));
                            let _ = s.await;
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e.to_string()));
                        }
                    }
                })
            })
            .context("fake Stripe: thread")?;
        let handle = rx
            .recv()
            .map_err(|_| anyhow!("fake Stripe: the server thread ended"))?
            .map_err(|e| anyhow!("fake Stripe: {e}"))?;
        Ok(FakeStripe {
            base: format!("http://127.0.0.1:{port}"),
            state,
            handle,
            thread: Some(thread),
        })
    }

    /// (requests, PaymentIntents created, replays of an Idempotency-Key, other, unauthorized).
    fn counts(&self) -> [u64; 5] {
        let s = &self.state;
        [
            s.requests.load(Ordering::Relaxed),
            s.created.load(Ordering::Relaxed),
            s.replayed.load(Ordering::Relaxed),
            s.other.load(Ordering::Relaxed),
            s.unauthorized.load(Ordering::Relaxed),
        ]
    }

    async fn stop(mut self) {
        self.handle.stop(false).await;
        if let Some(t) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Phase 2: pledge creation through the fake Stripe

async fn stripe_phases(
    env: &Env<'_>,
    seq: &Arc<AtomicUsize>,
    out: &mut Out,
    failures: &mut Vec<String>,
) -> Result<()> {
    let duration = Duration::from_secs(env.args.duration_secs);
    let fake = FakeStripe::start()?;
    // A fresh database of the same kind.
    let tmp: PathBuf = env.tmp.join(format!("stripe-{}", short_id()));
    std::fs::create_dir_all(&tmp)?;
    let (guard, db_url, pg_db) = match env.pg_db {
        Some(_) => {
            let name = format!("cofund_bench_stripe_{}", short_id());
            psql(&env.args.pg_admin_url, &format!("CREATE DATABASE {name}"))
                .context("creating the Stripe phase's database")?;
            let guard = ScratchPg {
                admin_url: env.args.pg_admin_url.clone(),
                name: name.clone(),
            };
            let url = with_database(&env.args.pg_admin_url, &name)?;
            (Some(guard), url, Some(name))
        }
        None => (
            None,
            format!("sqlite://{}", tmp.join("stripe.db").display()),
            None,
        ),
    };
    let (mut server, base) = bootstrap_and_start_with(
        &env.args.cofund_bin,
        &db_url,
        &tmp,
        &[
            ("COFUND_PAYMENT_PROVIDER", "stripe"),
            ("COFUND_STRIPE_SECRET_KEY", STRIPE_KEY),
            ("COFUND_STRIPE_API_BASE", &fake.base),
        ],
    )?;
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
        service_addr: api.base.trim_start_matches("http://").to_string(),
        pg: pg_db
            .as_ref()
            .map(|d| (env.args.pg_admin_url.clone(), d.clone())),
        hz: clock_ticks_per_sec(),
    };
    let seeded = seed(&api, 0).await.context("seeding the Stripe service")?;
    let t = Target {
        api: &api,
        sampler: &sampler,
        pid: server.child.id(),
        pg_db,
        admin: seeded.admin.clone(),
        partner: seeded.partner.clone(),
        member: member_token(&api).await?,
    };
    let area = create_area(&t).await?;
    let (_, camps) = create_fund(&t, &area, "Donor phases: Stripe", json!({}), env).await?;
    let camps = Arc::new(camps);
    make_pledges(&api, &t.partner, &camps, WARMUP_PLEDGES, seq).await?;
    println!(
        "   Stripe service ready (fake Stripe at {}); {WARMUP_PLEDGES} warm-up pledges made",
        fake.base
    );
    let mut pids = Vec::new();
    for &c in env.clients {
        let before = fake.counts();
        let ticks0 = fake_stripe_ticks();
        let (lo, around) = measure(&t, env, Some(c), async {
            pledge_loop(&api, &t.partner, &camps, c, duration, Mode::Create, seq).await
        })
        .await?;
        let fake_ms = fake_stripe_ticks().saturating_sub(ticks0) as f64 * 1000.0 / sampler.hz;
        let after = fake.counts();
        let d: Vec<u64> = after.iter().zip(before).map(|(a, b)| a - b).collect();
        let note = format!(
            "the fake Stripe answered {} requests ({} PaymentIntents created, {} replays of an \
             Idempotency-Key, {} other, {} unauthorized) and used {:.3} ms CPU per request, \
             counted in the bench's column; a fresh service and database (`COFUND_PAYMENT_PROVIDER=stripe`)",
            d[0],
            d[1],
            d[2],
            d[3],
            d[4],
            fake_ms / lo.requests().max(1) as f64
        );
        let row = Row::new("pledge creation (fake Stripe)", c, &lo, around, note);
        row.print();
        pids.extend(lo.made.into_iter().map(|m| m.pid));
        out.rows.push(row);
        books(
            &t,
            &format!("Stripe pledge creation, {c} clients"),
            env,
            out,
            failures,
        )
        .await?;
    }
    // The Stripe-backed books: confirm some of the pledges by signed webhooks and find them in
    // the campaigns' `raised`.
    pids.truncate(STRIPE_CONFIRMATIONS);
    let n = pids.len();
    let confirmed = each(pids, |pid| {
        let api = api.clone();
        async move {
            match send(webhook_request(&api, &pid)).await {
                Ok((s, body)) if ok(s) && applied(&body) => "applied".to_string(),
                Ok((s, body)) => format!("{s}: {}", truncate(&body, 100)),
                Err(e) => e,
            }
        }
    })
    .await;
    let applied_n = confirmed.get("applied").copied().unwrap_or(0);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut raised = 0i64;
    for id in camps.iter() {
        let v = api.get(&format!("/v1/campaigns/{id}"), None).await?;
        raised += cents(&str_field(&v, "raised")?)?;
    }
    let expected = applied_n as i64 * 500;
    let msg = format!(
        "Stripe service: {n} of the pledges made confirmed by signed `payment_intent.succeeded` \
         webhooks ({}); sum of `raised` over the fund's campaigns {:.2}, expected {:.2}.",
        outcomes(&confirmed),
        raised as f64 / 100.0,
        expected as f64 / 100.0
    );
    println!("   {msg}");
    if raised == expected && applied_n == n {
        out.notes.push(msg);
    } else {
        out.notes.push(format!("**{msg}**"));
        failures.push(format!("{}: {msg}", env.name));
    }
    books(&t, "the Stripe confirmations", env, out, failures).await?;
    drop(server);
    fake.stop().await;
    drop(guard);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Phase 3: the per-donation rush

#[derive(Default)]
struct FundWatch {
    samples: usize,
    /// Largest held + reserved seen.
    max_used: i64,
    /// Samples where held + reserved passed the budget.
    over: usize,
    /// The first sample with nothing available, from the start of the phase.
    first_empty: Option<Duration>,
    errors: usize,
}

fn money_of(v: &Value, key: &str) -> Result<i64> {
    cents(&str_field(v, key)?)
}

async fn watch_fund(
    api: Api,
    admin: String,
    fund: String,
    budget: i64,
    started: Instant,
    stop: Arc<AtomicBool>,
) -> FundWatch {
    let mut w = FundWatch::default();
    while !stop.load(Ordering::Relaxed) {
        match api.get(&format!("/v1/funds/{fund}"), Some(&admin)).await {
            Ok(v) => {
                let (Ok(held), Ok(reserved), Ok(available)) = (
                    money_of(&v, "held"),
                    money_of(&v, "reserved"),
                    money_of(&v, "available"),
                ) else {
                    w.errors += 1;
                    continue;
                };
                w.samples += 1;
                w.max_used = w.max_used.max(held + reserved);
                if held + reserved > budget {
                    w.over += 1;
                }
                if available == 0 && w.first_empty.is_none() {
                    w.first_empty = Some(started.elapsed());
                }
            }
            Err(_) => w.errors += 1,
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    w
}

fn eur(c: i64) -> String {
    format!(
        "{}{}.{:02}",
        if c < 0 { "-" } else { "" },
        c.abs() / 100,
        c.abs() % 100
    )
}

/// Has the simulated provider fail `pids` (their holds go back at once); counts the outcomes.
async fn fail_payments(t: &Target<'_>, pids: Vec<String>) -> BTreeMap<String, usize> {
    each(pids, |pid| {
        let api = t.api.clone();
        let partner = t.partner.clone();
        async move {
            let req = api
                .http
                .post(format!("{}/v1/simulated/payments/{pid}", api.base))
                .bearer_auth(&partner)
                .json(&json!({"outcome": "fail"}));
            match send(req).await {
                Ok((s, _)) if ok(s) => "failed".to_string(),
                Ok((s, body)) => format!("{s}: {}", truncate(&body, 100)),
                Err(e) => e,
            }
        }
    })
    .await
}

/// The per-donation fund's parameters (`budget` added by the caller).
fn per_donation_fund(budget: i64) -> Value {
    json!({"budget": eur(budget), "match_policy":"per_donation","match_ratio":"1",
        "threshold_ratio":"0.001","max_match_per_donation":"5.00","match_hold_secs":600})
}

#[allow(clippy::too_many_arguments)]
async fn rush(
    main: &Target<'_>,
    env: &Env<'_>,
    area: &str,
    c: usize,
    creation_rate: f64,
    seq: &Arc<AtomicUsize>,
    out: &mut Out,
    failures: &mut Vec<String>,
) -> Result<()> {
    let duration = Duration::from_secs(env.args.duration_secs);
    // The budget must run out about halfway: 5.00 × the rush's pledge rate × duration / 2. The
    // rush makes pledges more slowly than the creation phase (every second one is paid in the
    // same loop, and each hold moves the fund's money), so its own rate is measured first, in
    // an unmeasured calibration on a fund of its own whose budget cannot run out.
    let calibration = Duration::from_secs_f64((duration.as_secs_f64() / 3.0).max(1.0));
    let (_, cal_camps) = create_fund(
        main,
        area,
        "Donor phases: rush calibration",
        per_donation_fund(10_000_000_000),
        env,
    )
    .await?;
    let cal = pledge_loop(
        main.api,
        &main.partner,
        &Arc::new(cal_camps),
        c,
        calibration,
        Mode::Rush,
        seq,
    )
    .await?;
    let rush_rate = cal.made.len() as f64 / cal.elapsed.as_secs_f64().max(1e-9);
    let cal_failed = fail_payments(
        main,
        cal.made
            .iter()
            .filter(|m| !m.paid)
            .map(|m| m.pid.clone())
            .collect(),
    )
    .await;
    // In whole gifts.
    let gifts = ((rush_rate * duration.as_secs_f64() / 2.0).round() as i64).max(20);
    let budget = gifts * 500;
    let sizing = format!(
        "budget {} = {gifts} gifts of 5.00, sized from the rush's own rate in an unmeasured \
         {:.1} s calibration ({rush_rate:.0} pledges/s, {} errors; its pending payments then \
         failed: {}) × {} s / 2 (the creation phase's {creation_rate:.0} pledges/s would have \
         given {})",
        eur(budget),
        calibration.as_secs_f64(),
        cal.errors(),
        outcomes(&cal_failed),
        duration.as_secs(),
        eur(((creation_rate * duration.as_secs_f64() / 2.0).round() as i64).max(20) * 500),
    );
    let (fund, camps) = create_fund(
        main,
        area,
        "Donor phases: per-donation rush",
        per_donation_fund(budget),
        env,
    )
    .await?;
    let camps = Arc::new(camps);
    println!("   per-donation fund: {sizing}");
    let ((lo, watch), around) = measure(main, env, Some(c), async {
        let stop = Arc::new(AtomicBool::new(false));
        let w = tokio::spawn(watch_fund(
            main.api.clone(),
            main.admin.clone(),
            fund.clone(),
            budget,
            Instant::now(),
            stop.clone(),
        ));
        let lo = pledge_loop(
            main.api,
            &main.partner,
            &camps,
            c,
            duration,
            Mode::Rush,
            seq,
        )
        .await;
        stop.store(true, Ordering::Relaxed);
        let w = w.await?;
        Ok::<_, anyhow::Error>((lo?, w))
    })
    .await?;
    let pledges = lo.made.len();
    let matched: Vec<&Made> = lo.made.iter().filter(|m| m.held.unwrap_or(0) > 0).collect();
    let held_total: i64 = matched.iter().map(|m| m.held.unwrap_or(0)).sum();
    let ran_out = lo
        .made
        .iter()
        .filter(|m| m.held == Some(0))
        .map(|m| m.at)
        .min();
    let paid = lo.made.iter().filter(|m| m.paid).count();
    let reserved_expected: i64 = lo
        .made
        .iter()
        .filter(|m| m.paid)
        .map(|m| m.held.unwrap_or(0))
        .sum();
    let note = format!(
        "{pledges} pledges ({:.0}/s; creation p99 {} ms), {paid} paid by webhook in the loop \
         (webhook p99 {} ms); {sizing}; {} pledges got a held match ({}), \
         the budget ran out {}; fund read {} times every 200 ms: max held + reserved {} of {} \
         ({} samples over the budget{}), nothing available from {}",
        pledges as f64 / lo.elapsed.as_secs_f64().max(1e-9),
        fmt_ms(percentile(&lo.create_us, 0.99)),
        fmt_ms(percentile(&lo.webhook_us, 0.99)),
        matched.len(),
        eur(held_total),
        match ran_out {
            Some(t) => format!(
                "{:.2} s into the {} s phase",
                t.as_secs_f64(),
                duration.as_secs()
            ),
            None => "NOT during the phase (no pledge was answered with match 0.00)".into(),
        },
        watch.samples,
        eur(watch.max_used),
        eur(budget),
        watch.over,
        if watch.errors > 0 {
            format!("; {} reads failed", watch.errors)
        } else {
            String::new()
        },
        watch
            .first_empty
            .map_or("no sample".into(), |t| format!("{:.2} s", t.as_secs_f64())),
    );
    let row = Row::new("per-donation rush", c, &lo, around, note);
    row.print();
    println!("      {}", row.note);
    out.targets.push((
        format!("{c} clients: per-donation rush, held + reserved ≤ budget at every read"),
        format!(
            "max {} of {} over {} reads",
            eur(watch.max_used),
            eur(budget),
            watch.samples
        ),
        watch.over == 0 && watch.max_used <= budget,
    ));
    if watch.over > 0 {
        failures.push(format!(
            "{}: per-donation rush: held + reserved passed the budget {} in {} reads (max {})",
            env.name,
            eur(budget),
            watch.over,
            eur(watch.max_used)
        ));
    }
    out.rows.push(row);

    // The pending ones fail: their holds go back at once.
    let pending: Vec<String> = lo
        .made
        .iter()
        .filter(|m| !m.paid)
        .map(|m| m.pid.clone())
        .collect();
    let n_pending = pending.len();
    let t = Instant::now();
    let failed = fail_payments(main, pending).await;
    // Wait for the scheduler, then read the books.
    let deadline = Instant::now() + Duration::from_secs(30);
    let fund_view = loop {
        tokio::time::sleep(Duration::from_millis(400)).await;
        let v = main
            .api
            .get(&format!("/v1/funds/{fund}"), Some(&main.admin))
            .await?;
        if money_of(&v, "held")? == 0 || Instant::now() > deadline {
            break v;
        }
    };
    let get = |k: &str| money_of(&fund_view, k);
    let (budget_v, held, reserved, committed, settled, available) = (
        get("budget")?,
        get("held")?,
        get("reserved")?,
        get("committed")?,
        get("settled")?,
        get("available")?,
    );
    let sums = budget_v == held + reserved + committed + settled + available;
    let mut problems = Vec::new();
    if held != 0 {
        problems.push(format!(
            "held is {} after every pending payment failed",
            eur(held)
        ));
    }
    if budget_v != budget || !sums {
        problems.push(format!(
            "budget {} ≠ held + reserved + committed + settled + available",
            eur(budget_v)
        ));
    }
    if reserved + committed != reserved_expected {
        problems.push(format!(
            "reserved + committed {} ≠ the paid pledges' held matches {}",
            eur(reserved + committed),
            eur(reserved_expected)
        ));
    }
    if ran_out.is_some() && matched.len() as i64 != gifts {
        problems.push(format!(
            "{} pledges got a match, the budget holds {gifts} (no hold lapsed or failed during \
             the phase, so they should be equal)",
            matched.len()
        ));
    }
    let not_failed: usize = failed
        .iter()
        .filter(|(k, _)| *k != "failed")
        .map(|(_, v)| v)
        .sum();
    if not_failed > 0 {
        problems.push(format!(
            "failing the pending payments: {}",
            outcomes(&failed)
        ));
    }
    let verdict = format!(
        "Per-donation rush, books after the {n_pending} pending payments failed ({:.1} s, {}): \
         budget {}, held {}, reserved {}, committed {}, settled {}, available {} (= budget − \
         reserved: {}); reserved = the {paid} paid pledges' held matches {}; {} of {} pledges \
         matched = budget / 5.00: {}.",
        t.elapsed().as_secs_f64(),
        outcomes(&failed),
        eur(budget_v),
        eur(held),
        eur(reserved),
        eur(committed),
        eur(settled),
        eur(available),
        if sums { "adds up" } else { "does NOT add up" },
        eur(reserved_expected),
        matched.len(),
        pledges,
        if matched.len() as i64 == gifts {
            "yes"
        } else if ran_out.is_none() {
            "no, the budget was not spent during the phase (fewer pledges than sized for)"
        } else {
            "NO"
        },
    );
    println!("   {verdict}");
    let rec_ok = books(main, "the per-donation rush", env, out, failures).await?;
    out.targets.push((
        format!("{c} clients: per-donation rush, the books after it"),
        if problems.is_empty() {
            format!(
                "held 0.00, budget adds up, reserved {} = paid matches, reconciliation {}",
                eur(reserved),
                if rec_ok { "ok" } else { "NOT ok" }
            )
        } else {
            problems.join("; ")
        },
        problems.is_empty() && rec_ok,
    ));
    if problems.is_empty() {
        out.notes.push(verdict);
    } else {
        out.notes
            .push(format!("**{verdict} Problems: {}**", problems.join("; ")));
        failures.push(format!(
            "{}: per-donation rush books: {}",
            env.name,
            problems.join("; ")
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Phase 4: the match-day rush, open loop

#[derive(Clone, Copy)]
enum Kind {
    Create = 0,
    Webhook = 1,
    Read = 2,
    Badge = 3,
}

const KINDS: [&str; 4] = ["create", "webhook", "read", "badge"];

/// One donation: its requests' latencies (each from when it should have been sent).
struct Donation {
    /// Each request: its kind, latency, and when it was due.
    lat: Vec<(Kind, u64, Instant)>,
    error: Option<String>,
    total_us: u64,
    end: Instant,
}

async fn donation(
    api: Api,
    partner: Arc<str>,
    campaigns: Arc<Vec<String>>,
    k: usize,
    at: Instant,
    _permit: tokio::sync::OwnedSemaphorePermit,
) -> Donation {
    let mut d = Donation {
        lat: Vec::with_capacity(8),
        error: None,
        total_us: 0,
        end: at,
    };
    let mut prev = at;
    let mut step = |d: &mut Donation, kind: Kind, res: Result<(u16, String), String>| {
        let now = Instant::now();
        d.lat.push((
            kind,
            now.saturating_duration_since(prev).as_micros() as u64,
            prev,
        ));
        prev = now;
        d.end = now;
        let name = KINDS[kind as usize];
        match res {
            Ok((s, body)) if ok(s) => {
                if matches!(kind, Kind::Webhook) && !applied(&body) {
                    d.error = Some(format!("{name} {s}: not applied: {}", truncate(&body, 80)));
                    None
                } else {
                    Some(body)
                }
            }
            Ok((s, body)) => {
                d.error = Some(format!("{name} {s}: {}", truncate(&body, 100)));
                None
            }
            Err(e) => {
                d.error = Some(format!("{name}: {e}"));
                None
            }
        }
    };
    let cid = &campaigns[k % campaigns.len()];
    let res = send(pledge_request(&api, &partner, cid, k)).await;
    let Some(body) = step(&mut d, Kind::Create, res) else {
        return d;
    };
    let pid = match created(&body) {
        Ok((pid, _)) => pid,
        Err(e) => {
            d.error = Some(e);
            return d;
        }
    };
    let res = send(webhook_request(&api, &pid)).await;
    if step(&mut d, Kind::Webhook, res).is_none() {
        return d;
    }
    // splitmix64 of the donation's number picks the campaigns read.
    let mut x = (k as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    for _ in 0..5 {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let id = &campaigns[(z % campaigns.len() as u64) as usize];
        let res = send(api.http.get(format!("{}/v1/campaigns/{id}", api.base))).await;
        if step(&mut d, Kind::Read, res).is_none() {
            return d;
        }
    }
    let res = send(
        api.http
            .get(format!("{}/v1/campaigns/{cid}/badge.svg", api.base)),
    )
    .await;
    if step(&mut d, Kind::Badge, res).is_none() {
        return d;
    }
    d.total_us = d.end.saturating_duration_since(at).as_micros() as u64;
    d
}

struct Step {
    rate: u32,
    scheduled: usize,
    complete: usize,
    /// From the first scheduled donation to the last answer (at least the step's duration).
    span: Duration,
    errors: BTreeMap<String, usize>,
    kind_us: [Vec<u64>; 4],
    all_us: Vec<u64>,
    total_us: Vec<u64>,
    /// Requests slower than `SLOW_US`: when they were due (ms after the step began), µs.
    slow: Vec<(u64, u64)>,
    around: Option<Around>,
}

/// A request this slow is listed by when it was due, to tell a stall (many at once) from
/// scattered queueing.
const SLOW_US: u64 = 20_000;

impl Step {
    /// Slow requests per 100 ms window of the step: the first `n` windows in time, then the
    /// `n` busiest.
    fn stalls(&self, n: usize) -> String {
        let mut windows: BTreeMap<u64, (usize, u64)> = BTreeMap::new();
        for &(at_ms, us) in &self.slow {
            let w = windows.entry(at_ms / 100).or_default();
            w.0 += 1;
            w.1 = w.1.max(us);
        }
        let show = |v: &[(u64, (usize, u64))]| {
            v.iter()
                .map(|(w, (c, max))| {
                    format!("{:.1} s: {c} (max {} ms)", *w as f64 / 10.0, fmt_ms(*max))
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        let mut v: Vec<_> = windows.into_iter().collect();
        let first = show(&v[..n.min(v.len())]);
        v.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(&b.0)));
        v.truncate(n);
        format!("first: {first}; busiest: {}", show(&v))
    }

    fn achieved(&self) -> f64 {
        self.complete as f64 / self.span.as_secs_f64().max(1e-9)
    }

    fn error_count(&self) -> usize {
        self.errors.values().sum()
    }

    fn p99(&self) -> u64 {
        percentile(&self.all_us, 0.99)
    }

    /// None when sustained; otherwise why not.
    fn shortfall(&self) -> Option<String> {
        let mut why = Vec::new();
        if self.p99() > MATCH_DAY_P99_US {
            why.push(format!("request p99 {} ms > 50 ms", fmt_ms(self.p99())));
        }
        if self.error_count() > 0 {
            why.push(format!("{} errors", self.error_count()));
        }
        if self.achieved() < 0.95 * f64::from(self.rate) {
            why.push(format!(
                "{:.0} complete/s < 95 % of {}",
                self.achieved(),
                self.rate
            ));
        }
        (!why.is_empty()).then(|| why.join(", "))
    }
}

async fn open_loop_step(
    api: &Api,
    partner: &Arc<str>,
    campaigns: &Arc<Vec<String>>,
    rate: u32,
    duration: Duration,
    seq: &Arc<AtomicUsize>,
) -> Result<Step> {
    let sem = Arc::new(tokio::sync::Semaphore::new(INFLIGHT_CAP));
    let n = (f64::from(rate) * duration.as_secs_f64()).round() as usize;
    let t0 = Instant::now() + Duration::from_millis(20);
    let mut handles = Vec::with_capacity(n);
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    for i in 0..n {
        let at = t0 + Duration::from_secs_f64(i as f64 / f64::from(rate));
        if at > Instant::now() {
            tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
        }
        match sem.clone().try_acquire_owned() {
            Ok(permit) => handles.push(tokio::spawn(donation(
                api.clone(),
                partner.clone(),
                campaigns.clone(),
                seq.fetch_add(1, Ordering::Relaxed),
                at,
                permit,
            ))),
            Err(_) => bump(
                &mut errors,
                format!("bench saturated ({INFLIGHT_CAP} donations in flight)"),
            ),
        }
    }
    let mut step = Step {
        rate,
        scheduled: n,
        complete: 0,
        span: duration,
        errors,
        kind_us: Default::default(),
        all_us: Vec::with_capacity(n * 8),
        total_us: Vec::with_capacity(n),
        slow: Vec::new(),
        around: None,
    };
    let mut last = t0;
    for h in handles {
        let d = h.await?;
        last = last.max(d.end);
        for (k, us, due) in d.lat {
            step.kind_us[k as usize].push(us);
            step.all_us.push(us);
            if us > SLOW_US {
                let at_ms = due.saturating_duration_since(t0).as_millis() as u64;
                step.slow.push((at_ms, us));
            }
        }
        match d.error {
            Some(e) => bump(&mut step.errors, e),
            None => {
                step.complete += 1;
                step.total_us.push(d.total_us);
            }
        }
    }
    step.span = duration.max(last.saturating_duration_since(t0));
    for v in step.kind_us.iter_mut() {
        v.sort_unstable();
    }
    step.all_us.sort_unstable();
    step.total_us.sort_unstable();
    Ok(step)
}

async fn match_day(
    main: &Target<'_>,
    env: &Env<'_>,
    area: &str,
    seq: &Arc<AtomicUsize>,
    out: &mut Out,
    failures: &mut Vec<String>,
) -> Result<()> {
    let duration = Duration::from_secs(env.args.duration_secs);
    let (_, camps) = create_fund(main, area, "Donor phases: match day", json!({}), env).await?;
    let camps = Arc::new(camps);
    // Its own client, with a pool as large as the donations that may be in flight.
    let api = Api {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(INFLIGHT_CAP)
            .build()?,
        base: main.api.base.clone(),
    };
    let partner: Arc<str> = main.partner.as_str().into();
    let pg = main.pg_db.is_some();
    let mut steps: Vec<Step> = Vec::new();
    for rate in MATCH_DAY_RATES {
        let (mut step, around) = measure(main, env, None, async {
            open_loop_step(&api, &partner, &camps, rate, duration, seq).await
        })
        .await?;
        step.around = Some(around);
        let u = step.around.as_ref().map(|a| a.usage).unwrap_or_default();
        println!(
            "   match day {rate}/s: {} of {} complete ({:.0}/s), request p99 {} ms, donation p99 {} ms, {} errors, machine CPU busy {:.0} % (service {:.0} %, postgres {:.0} %, bench {:.0} %){}",
            step.complete,
            step.scheduled,
            step.achieved(),
            fmt_ms(step.p99()),
            fmt_ms(percentile(&step.total_us, 0.99)),
            step.error_count(),
            step.around.as_ref().map_or(0.0, |a| a.machine_busy) * 100.0,
            share(u.service_ms, step.span),
            share(u.postgres_ms, step.span),
            share(u.bench_ms, step.span),
            step.shortfall()
                .map_or(String::new(), |w| format!(" — not sustained: {w}"))
        );
        for (k, v) in &step.errors {
            println!("      {v} × {k}");
        }
        if !step.slow.is_empty() {
            println!(
                "      {} requests over {} ms, by 100 ms window due — {}",
                step.slow.len(),
                SLOW_US / 1000,
                step.stalls(8)
            );
        }
        let stop = step.shortfall().is_some();
        steps.push(step);
        if stop {
            break;
        }
    }
    // Report.
    let mut s = vec![
        format!(
            "Match-day rush, open loop ({} s per step; each donation = pledge, signed success \
             webhook, 5 campaign reads, 1 badge; latency from when each request should have been \
             sent; CPU as % of the machine's {} CPUs, the machine's busy share counting every \
             process; times in ms):",
            duration.as_secs(),
            ncpu()
        ),
        String::new(),
        "| target donations/s | scheduled | complete donations/s | request p99 | create / webhook / read / badge p99 | donation p99 | errors | CPU busy: machine (service / postgres / bench) | CPU ms per donation: service / postgres / bench | service RSS MiB steady / peak | sustained |".into(),
        "|---:|---:|---:|---:|---|---:|---:|---|---:|---:|:-:|".into(),
    ];
    for st in &steps {
        let u = st.around.as_ref().map(|a| a.usage).unwrap_or_default();
        s.push(format!(
            "| {} | {} | {:.0} | {} | {} | {} | {} | {:.0} % ({:.0} / {:.0} / {:.0} %) | {:.2} / {} / {:.2} | {} | {} |",
            st.rate,
            st.scheduled,
            st.achieved(),
            fmt_ms(st.p99()),
            st.kind_us
                .iter()
                .map(|v| fmt_ms(percentile(v, 0.99)))
                .collect::<Vec<_>>()
                .join(" / "),
            fmt_ms(percentile(&st.total_us, 0.99)),
            st.error_count(),
            st.around.as_ref().map_or(0.0, |a| a.machine_busy) * 100.0,
            share(u.service_ms, st.span),
            share(u.postgres_ms, st.span),
            share(u.bench_ms, st.span),
            u.service_ms / st.complete.max(1) as f64,
            if pg {
                format!("{:.2}", u.postgres_ms / st.complete.max(1) as f64)
            } else {
                "—".into()
            },
            u.bench_ms / st.complete.max(1) as f64,
            st.around.as_ref().map_or("—".into(), |a| a.rss.show()),
            match st.shortfall() {
                None => "✓".to_string(),
                Some(w) => format!("✗ ({w})"),
            }
        ));
    }
    s.push(String::new());
    for st in &steps {
        for (k, v) in &st.errors {
            s.push(format!(
                "- errors at {}/s: {v} × `{}`",
                st.rate,
                k.replace('`', "'")
            ));
        }
    }
    let best = steps.iter().rev().find(|st| st.shortfall().is_none());
    let first_short = steps.iter().find(|st| st.shortfall().is_some());
    let limit = match first_short {
        Some(st) => {
            let u = st.around.as_ref().map(|a| a.usage).unwrap_or_default();
            let parties = [
                ("the service", share(u.service_ms, st.span)),
                ("PostgreSQL", share(u.postgres_ms, st.span)),
                ("the bench (load generator)", share(u.bench_ms, st.span)),
            ];
            let top = parties
                .iter()
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .map_or("?", |p| p.0);
            let machine = st.around.as_ref().map_or(0.0, |a| a.machine_busy) * 100.0;
            let others = (machine - busy(&u, st.span) * 100.0).max(0.0);
            format!(
                "At {}/s ({}), the machine's CPUs were {machine:.0} % busy: service {:.0} %, \
                 PostgreSQL {:.0} %, bench {:.0} %, other processes {others:.0} % — {}.",
                st.rate,
                st.shortfall().unwrap_or_default(),
                parties[0].1,
                parties[1].1,
                parties[2].1,
                if others > 15.0 {
                    "other processes took a large share of the CPUs: the measurement is disturbed, \
                     run it again on a quiet machine"
                        .to_string()
                } else if machine >= 85.0 {
                    format!("the machine is CPU-bound, most of it burnt by {top}")
                } else {
                    format!(
                        "the CPUs were not saturated (the largest share is {top}'s): the limit is \
                         latency (locks, queueing in the pool or the group commit), not CPU"
                    )
                }
            )
        }
        None => format!(
            "Every step up to {}/s was sustained.",
            MATCH_DAY_RATES[MATCH_DAY_RATES.len() - 1]
        ),
    };
    let sustained = best.map_or(0, |b| b.rate);
    s.push(format!(
        "- Highest sustained rate: **{}** complete donations/s ({}). {limit}",
        if sustained > 0 {
            format!("{sustained}")
        } else {
            "none".into()
        },
        best.map_or("no step sustained".into(), |b| format!(
            "{:.0} achieved, request p99 {} ms, donation p99 {} ms",
            b.achieved(),
            fmt_ms(b.p99()),
            fmt_ms(percentile(&b.total_us, 0.99))
        ))
    ));
    println!("   match day: highest sustained rate {sustained}/s. {limit}");
    out.match_day = s;
    out.targets.push(match_day_target(&steps, pg, sustained));
    books(main, "the match-day rush", env, out, failures).await?;
    Ok(())
}

/// CPU ms as % of the machine over `span`.
/// The match-day target of the backend, judged on the step at its goal rate: sustained (request
/// p99 ≤ 50 ms, no errors, ≥ 95 % of the rate) and, on PostgreSQL, a whole donation's p99 (its
/// eight requests one after another) ≤ 50 ms too.
fn match_day_target(steps: &[Step], pg: bool, sustained: u32) -> (String, String, bool) {
    let goal = if pg {
        MATCH_DAY_GOAL_PG
    } else {
        MATCH_DAY_GOAL_SQLITE
    };
    let target = if pg {
        format!(
            "match day: {goal} complete donations/s sustained, donation p99 < 50 ms (request p99 \
             ≤ 50 ms, no errors, ≥ 95 % of the rate)"
        )
    } else {
        format!(
            "match day: {goal} complete donations/s sustained by the single writer (request p99 \
             ≤ 50 ms, no errors, ≥ 95 % of the rate)"
        )
    };
    let Some(st) = steps.iter().find(|st| st.rate == goal) else {
        return (
            target,
            format!("the rush stopped before {goal}/s; highest sustained {sustained}/s"),
            false,
        );
    };
    let donation_p99 = percentile(&st.total_us, 0.99);
    let met = st.shortfall().is_none() && (!pg || donation_p99 <= MATCH_DAY_P99_US);
    (
        target,
        format!(
            "{:.0}/s complete, request p99 {} ms, donation p99 {} ms, {} errors{}; highest \
             sustained {sustained}/s",
            st.achieved(),
            fmt_ms(st.p99()),
            fmt_ms(donation_p99),
            st.error_count(),
            st.shortfall()
                .map_or(String::new(), |w| format!(" (not sustained: {w})"))
        ),
        met,
    )
}

fn share(ms: f64, span: Duration) -> f64 {
    ms / (span.as_secs_f64() * 1000.0 * ncpu()) * 100.0
}

/// The donor phases' method, for the report's Method section.
pub const METHOD: &str = "\
- **Donor phases** (`tools/cofund-bench/src/donor.rs`, issue 24; `--skip-donor-phases` leaves \
them out, `--donor-only` runs only them), each on funds and campaigns of its own (not the seeded \
ones), after the phases above; each is followed by `GET /v1/reconciliation`. \
**Pledge creation (simulated)**: closed loop, C clients, `POST /v1/campaigns/{id}/pledges` \
(partner token, a fresh `Idempotency-Key`, 5.00, a new donor e-mail) over the campaigns of a \
threshold fund, after 500 unmeasured pledges; compared with `pgbench -N` right around it like the \
event phases (target at 8 clients: ≥ 0.8 × and p99 < 10 ms). **Pledge creation (fake Stripe)**: \
the same against a second `cofund serve` on a fresh database with `COFUND_PAYMENT_PROVIDER=stripe` \
and `COFUND_STRIPE_API_BASE` pointing at a fake Stripe API in the bench process (actix-web, \
answering at once, one PaymentIntent per `Idempotency-Key`); up to 2000 of the pledges are then \
confirmed by signed webhooks and found in the campaigns' `raised`. **Per-donation rush** (at 8 \
clients): a `per_donation` fund (one to one, at most 5.00 a gift, held 600 s) whose budget is \
5.00 × the rush's own pledge rate × the duration / 2, so that it runs out about halfway (the \
rate is measured first in an unmeasured calibration of a third of the duration on another such \
fund: the rush is much slower than plain creation); every second pledge is paid by its signed webhook \
right after creation in the same client loop, the fund is read every 200 ms (held + reserved ≤ \
budget); then the pending payments fail (simulated provider) and the books must add up (held \
0.00, budget = held + reserved + committed + settled + available, reserved = the paid pledges' \
held matches, matched pledges = budget / 5.00). **Match-day rush**: open loop at 50, 100, 200, \
400, 600, 800, 1000, 1200, 1500 donations/s, each step the phase duration, each donation a task \
started at its scheduled time (pledge, signed success webhook, five `GET /v1/campaigns/{random \
id}`, one badge), each request's latency counted from when it should have been sent (the first \
from the schedule, the next from the previous answer); at most 4096 donations in flight (beyond: \
an error, \"bench saturated\"); the steps stop at the first whose request p99 passes 50 ms, that \
has errors or that completes < 95 % of its rate (targets: 400/s on PostgreSQL with a whole donation's p99 < 50 ms, 600/s on SQLite). Every donor \
phase reports the CPU time per request over the phase of the service, PostgreSQL (per process, \
the backends of the service's database and the server's own processes only, so other databases' \
load and exiting processes do not count) and the bench (which includes the fake Stripe), the \
whole machine's busy share (any process: a disturbed run shows), and the service's RSS \
(`VmRSS`, read every 100 ms: median and peak).\n";
