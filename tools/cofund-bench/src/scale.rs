//! Programme-scale data (issue 24): a national programme's worth of campaigns and confirmed
//! pledges, then what finance and the public do with it, timed against the release binary.
//!
//! **Seeding goes through the service's own code.** Areas, the fund, associations, their
//! members, the partner and the campaigns are created over HTTP by the running service (create,
//! submit, approve; the scheduler turns them live). The pledges are then written in-process with
//! the service stopped, through the library functions the service itself runs:
//! `app::pledges::insert_answered` (the simulated provider's one transaction per pledge, as
//! `POST /v1/campaigns/{id}/pledges` runs it), and the confirmations as signed-event payloads parsed by
//! `providers::events::parse` and applied by `app::payment_events::process` (PostgreSQL's
//! group-commit statement, batched per campaign) or `apply_event_transactional` (SQLite). So
//! every pledge has its donor, receipt, campaign totals, donor count, and every threshold that
//! was crossed its match reserved in the ledger, exactly as if the donations had come through
//! the webhook. Only durability is relaxed while seeding on PostgreSQL
//! (`synchronous_commit = off` for the seeding connections; reset before measuring).
//!
//! Then, with the service running again on the seeded database: `cofund reconcile` and
//! `GET /v1/reconciliation` (time and peak RSS from `/proc`), the fund report in JSON and CSV,
//! every list walked page by page (keyset pagination) to its end or to a depth, `?contains=` and
//! the badge under 8 clients, webhook confirmations against `pgbench -N`, and a spot check of
//! campaigns' `raised` against the amounts the seeder gave them.

use super::{
    ADMIN_PASSWORD, Api, Args, MEMBER_PASSWORD, PgbenchKind, PhaseKind, ScratchPg, Server, Work,
    cents, cofund_command, create_admin, fmt_ms, interleave, make_pledges, percentile,
    pgbench_database, pgbench_tps, psql, rfc3339, run_phase, short_id, start_serve, str_field,
    temp_dir, wait_ready, with_database,
};
use anyhow::{Context, Result, anyhow, bail};
use chrono::{Duration as ChronoDuration, Utc};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Concurrent HTTP requests while creating the programme's campaigns.
const SETUP_CONCURRENCY: usize = 16;
/// Concurrent clients of the read phases (`?contains=`, badge).
pub(super) const READ_CLIENTS: usize = 8;

pub(super) async fn start_ready(args: &Args, db_url: &str, tmp: &Path) -> Result<(Server, Api)> {
    let (mut service, base) = start_serve(&args.cofund_bin, db_url, tmp, &[])?;
    let api = Api {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(300))
            .pool_max_idle_per_host(256)
            .build()?,
        base,
    };
    wait_ready(&api.http, &api.base, &mut service).await?;
    Ok((service, api))
}

// ---------------------------------------------------------------------------------------------
// Memory

/// (VmRSS, VmHWM) of a process in MiB.
pub(super) fn rss_mib(pid: u32) -> Option<(f64, f64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<f64> {
        let line = text.lines().find(|l| l.starts_with(name))?;
        let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb / 1024.0)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// Samples a process's RSS every 20 ms until stopped; the peak seen.
pub(super) struct RssWatch {
    stop: Arc<AtomicBool>,
    peak_kib: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RssWatch {
    pub(super) fn start(pid: u32) -> RssWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let peak_kib = Arc::new(AtomicU64::new(0));
        let (s, p) = (stop.clone(), peak_kib.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                if let Some((rss, hwm)) = rss_mib(pid) {
                    let kib = (rss.max(hwm) * 1024.0) as u64;
                    p.fetch_max(kib, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        RssWatch {
            stop,
            peak_kib,
            thread: Some(thread),
        }
    }

    pub(super) fn peak_mib(mut self) -> f64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.peak_kib.load(Ordering::Relaxed) as f64 / 1024.0
    }
}

// ---------------------------------------------------------------------------------------------
// Seeding

/// An 11-digit partita IVA with a valid check digit, from a serial number.
fn partita_iva(n: usize) -> String {
    let base = format!("{:010}", 1_000_000_000 + n);
    (0..10)
        .map(|d| format!("{base}{d}"))
        .find(|c| cofund::domain::tax_code::TaxCode::parse(c).is_ok())
        .expect("one of ten check digits is right")
}

/// The square of area `i` on a 20-wide grid near Turin: (west, south), 0.01° a side.
fn area_corner(i: usize) -> (f64, f64) {
    (
        7.50 + (i % 20) as f64 * 0.01,
        45.00 + (i / 20) as f64 * 0.01,
    )
}

pub(super) struct Programme {
    pub(super) admin: String,
    partner: String,
    pub(super) partner_id: String,
    partner_client_id: String,
    partner_client_secret: String,
    fund_id: String,
    /// (campaign id, association index, area index).
    pub(super) campaigns: Vec<(String, usize)>,
    /// The seeder's own account of each campaign's confirmed money (cents).
    expected_raised: BTreeMap<String, i64>,
    pledges: usize,
    seconds_structure: f64,
    seconds_pledges: f64,
}

/// Runs `f` over `items` with `n` concurrent tasks; results in item order.
pub(super) async fn concurrently<T, R, F, Fut>(items: Vec<T>, n: usize, f: F) -> Result<Vec<R>>
where
    T: Send + Sync + 'static,
    R: Send + 'static,
    F: Fn(Arc<Vec<T>>, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<R>> + Send + 'static,
{
    let items = Arc::new(items);
    let f = Arc::new(f);
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..n.max(1) {
        let (items, f, next) = (items.clone(), f.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= items.len() {
                    return Ok::<_, anyhow::Error>(out);
                }
                out.push((i, f(items.clone(), i).await?));
            }
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, r)| r).collect())
}

/// The goal of the `n`-th campaign (cents): from 1,000.00 to 7,000.00. With about 100 gifts
/// averaging 32.50 a campaign, roughly half cross their threshold (half the goal) and reserve a
/// match.
pub(super) fn campaign_goal_cents(n: usize) -> i64 {
    (1000 + (n * 7919) % 6000) as i64 * 100
}

/// Areas, fund, associations with a member each, a partner and the campaigns, over HTTP.
pub(super) async fn seed_structure(api: &Api, areas: usize, campaigns: usize) -> Result<Programme> {
    let now = Utc::now();
    let admin = api
        .token(json!({"grant_type":"password","username":"admin","password":ADMIN_PASSWORD}))
        .await
        .context("admin token")?;
    let a = api.clone();
    let adm = admin.clone();
    let area_ids = concurrently((0..areas).collect(), SETUP_CONCURRENCY, move |v, i| {
        let (api, admin) = (a.clone(), adm.clone());
        async move {
            let (x, y) = area_corner(v[i]);
            let ring = json!([
                [x, y],
                [x + 0.01, y],
                [x + 0.01, y + 0.01],
                [x, y + 0.01],
                [x, y]
            ]);
            let area = api
                .post(
                    "/v1/areas",
                    Some(&admin),
                    &json!({"code": format!("A{:03}", v[i]), "name": format!("Area {}", v[i]),
                        "geometry": {"type": "Polygon", "coordinates": [ring]}}),
                )
                .await?;
            str_field(&area, "id")
        }
    })
    .await
    .context("creating areas")?;
    let fund = api
        .post(
            "/v1/funds",
            Some(&admin),
            &json!({"name": "Programma nazionale", "budget": "500000000.00",
                "threshold_ratio": "0.5", "match_ratio": "0.5",
                "max_match_per_campaign": "50000.00", "min_goal": "1000.00",
                "max_goal": "100000.00", "eligible_area_ids": area_ids,
                "opens_at": rfc3339(now - ChronoDuration::days(1)),
                "closes_at": rfc3339(now + ChronoDuration::days(200)),
                "cup": "C11J26000120007",
                "legal_basis": "Avviso pubblico, Delibera G.C. n. 1 del 02/01/2026",
                "office": "Divisione Servizi Sociali",
                "responsible_official": "Dott.ssa Maria Bianchi",
                "selection_method": "Avviso pubblico con cofinanziamento civico",
                "siope_code": "U.1.04.04.01.001"}),
        )
        .await
        .context("creating the fund")?;
    let fund_id = str_field(&fund, "id")?;
    // One association per area, each with one member who writes its campaigns.
    let a = api.clone();
    let adm = admin.clone();
    let members = concurrently((0..areas).collect(), SETUP_CONCURRENCY, move |v, i| {
        let (api, admin) = (a.clone(), adm.clone());
        async move {
            let n = v[i];
            let assoc = api
                .post(
                    "/v1/associations",
                    Some(&admin),
                    &json!({"name": format!("APS {n}"), "tax_code": partita_iva(n),
                        "iban": "IT60X0542811101000000123456",
                        "email": format!("aps{n}@example.org")}),
                )
                .await?;
            let id = str_field(&assoc, "id")?;
            let username = format!("member{n}");
            api.post(
                &format!("/v1/associations/{id}/members"),
                Some(&admin),
                &json!({"username": username, "password": MEMBER_PASSWORD,
                    "email": format!("m{n}@example.org")}),
            )
            .await?;
            api.token(json!({"grant_type":"password","username":username,
                "password":MEMBER_PASSWORD}))
                .await
        }
    })
    .await
    .context("creating associations")?;
    let partner = api
        .post(
            "/v1/partners",
            Some(&admin),
            &json!({"name": "Scale partner"}),
        )
        .await?;
    let partner_id = str_field(&partner, "id")?;
    let partner_client_id = str_field(&partner, "client_id")?;
    let partner_client_secret = str_field(&partner, "client_secret")?;
    let partner_token = api
        .token(json!({"grant_type":"client_credentials",
            "client_id": partner_client_id, "client_secret": partner_client_secret}))
        .await?;
    let a = api.clone();
    let adm = admin.clone();
    let fid = fund_id.clone();
    let members = Arc::new(members);
    let created = concurrently((0..campaigns).collect(), SETUP_CONCURRENCY, move |v, i| {
        let (api, admin, fund_id, members) = (a.clone(), adm.clone(), fid.clone(), members.clone());
        async move {
            let n = v[i];
            let assoc = n % members.len();
            let (x, y) = area_corner(assoc);
            let goal = cofund::domain::money::format_stored(campaign_goal_cents(n), "EUR");
            let c = api
                .post(
                    "/v1/campaigns",
                    Some(&members[assoc]),
                    &json!({"fund_id": fund_id, "title": format!("Progetto {n}"),
                        "summary": "Un progetto del programma nazionale", "goal": goal,
                        "location": {"lat": y + 0.005, "lon": x + 0.005},
                        "starts_at": rfc3339(Utc::now() - ChronoDuration::hours(1)),
                        "ends_at": rfc3339(Utc::now() + ChronoDuration::days(60))}),
                )
                .await?;
            let id = str_field(&c, "id")?;
            api.post(
                &format!("/v1/campaigns/{id}/submit"),
                Some(&members[assoc]),
                &json!({}),
            )
            .await?;
            api.post(
                &format!("/v1/campaigns/{id}/approve"),
                Some(&admin),
                &json!({}),
            )
            .await?;
            Ok((id, assoc))
        }
    })
    .await
    .context("creating campaigns")?;
    // The scheduler turns approved campaigns live; count them through the public list.
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let live = walk(api, "/v1/campaigns?status=live&limit=200", None, usize::MAX)
            .await?
            .items;
        if live >= campaigns {
            break;
        }
        if Instant::now() > deadline {
            bail!("only {live} of {campaigns} campaigns live 10 minutes after approval");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Ok(Programme {
        admin,
        partner: partner_token,
        partner_id,
        partner_client_id,
        partner_client_secret,
        fund_id,
        campaigns: created,
        expected_raised: BTreeMap::new(),
        pledges: 0,
        seconds_structure: 0.0,
        seconds_pledges: 0.0,
    })
}

impl Programme {
    /// What `--scale-reuse` needs to measure these books again without seeding them.
    fn to_json(&self, backend: &str, db_url: &str, pg_db: Option<&str>) -> Value {
        json!({"backend": backend, "db_url": db_url, "pg_db": pg_db,
            "partner_id": self.partner_id, "partner_client_id": self.partner_client_id,
            "partner_client_secret": self.partner_client_secret, "fund_id": self.fund_id,
            "campaigns": self.campaigns.iter().map(|(id, a)| json!([id, a])).collect::<Vec<_>>(),
            "expected_raised": self.expected_raised, "pledges": self.pledges,
            "seconds_structure": self.seconds_structure, "seconds_pledges": self.seconds_pledges})
    }

    fn from_json(v: &Value) -> Result<Programme> {
        let campaigns = v["campaigns"]
            .as_array()
            .ok_or_else(|| anyhow!("no campaigns"))?
            .iter()
            .map(|c| {
                Ok((
                    c[0].as_str()
                        .ok_or_else(|| anyhow!("campaign id"))?
                        .to_string(),
                    c[1].as_u64().ok_or_else(|| anyhow!("association"))? as usize,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let expected_raised = v["expected_raised"]
            .as_object()
            .ok_or_else(|| anyhow!("no expected_raised"))?
            .iter()
            .map(|(k, n)| Ok((k.clone(), n.as_i64().ok_or_else(|| anyhow!("raised"))?)))
            .collect::<Result<BTreeMap<_, _>>>()?;
        Ok(Programme {
            admin: String::new(),
            partner: String::new(),
            partner_id: str_field(v, "partner_id")?,
            partner_client_id: str_field(v, "partner_client_id")?,
            partner_client_secret: str_field(v, "partner_client_secret")?,
            fund_id: str_field(v, "fund_id")?,
            campaigns,
            expected_raised,
            pledges: v["pledges"].as_u64().unwrap_or(0) as usize,
            seconds_structure: v["seconds_structure"].as_f64().unwrap_or(0.0),
            seconds_pledges: v["seconds_pledges"].as_f64().unwrap_or(0.0),
        })
    }
}

/// The amount of the `k`-th gift (cents): 5.00 to 60.00 in steps of 0.50, spread evenly.
fn gift(k: usize) -> i64 {
    500 + ((k * 2_654_435_761) % 111) as i64 * 50
}

fn event_payload(payment_id: &str, amount: i64) -> Vec<u8> {
    json!({
        "id": format!("evt_seed_{}", uuid::Uuid::new_v4().simple()),
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": Utc::now().timestamp(),
        "data": {"object": {"object": "payment_intent", "id": payment_id, "amount": amount,
            "amount_received": amount, "currency": "eur", "status": "succeeded"}}
    })
    .to_string()
    .into_bytes()
}

/// Writes and confirms `gifts` (serial number, cents) to one campaign through the service's own
/// functions (see the module's comment); each serial number is a distinct donor. Returns the
/// cents confirmed.
pub(super) fn seed_campaign(
    conn: &mut cofund::db::DbConnection,
    partner_id: &str,
    campaign_id: &str,
    gifts: impl ExactSizeIterator<Item = (usize, i64)>,
) -> Result<i64> {
    use cofund::app::payment_events;
    use cofund::app::pledges::{self, NewPledge, PledgeRequest};
    use cofund::db::group_commit::{Confirmation, Outcome, Request};
    let mut requests = Vec::with_capacity(gifts.len());
    let mut total = 0;
    for (k, amount) in gifts {
        let answer_json =
            cofund::db::write_tx(conn, |conn| -> Result<String, cofund::db::DbError> {
                let campaign = cofund::db::campaigns::load_campaign(conn, campaign_id)?;
                let request = PledgeRequest {
                    partner_id: partner_id.to_string(),
                    idempotency_key: format!("seed-{k}"),
                    request_hash: format!("seed-{k}"),
                    campaign_id: campaign_id.to_string(),
                };
                let new = NewPledge {
                    amount,
                    donor_name: format!("Donatore {k}"),
                    donor_email: format!("donor{k}@example.org"),
                    anonymous: k % 10 == 0,
                    contact_consent: k % 3 == 0,
                    locale: "it".into(),
                    message: None,
                    donor_tax_code: None,
                    // Seeded donors are distinct people; the seeded funds hold no match.
                    donor_key: pledges::legacy_donor_key(&format!("donor{k}@example.org")),
                    hold_caps: cofund::domain::per_donation::HoldCaps {
                        partner_share: None,
                        one_per_donor: false,
                    },
                    method: pledges::PledgeMethod::Provider,
                };
                pledges::insert_answered(
                    conn,
                    &request,
                    &campaign,
                    new,
                    cofund::config::ProviderKind::Simulated,
                    |p, payment, _| {
                        json!({"id": p.id, "campaign_id": p.campaign_id, "status": "pending",
                            "payment": {"provider": "simulated",
                                "provider_payment_id": payment.id,
                                "client_secret": payment.client_secret}})
                        .to_string()
                    },
                )?
                // Each seeded key is new: a taken one means the seeding went wrong.
                .ok_or_else(|| cofund::db::DbError::Unavailable("a seeded key was taken".into()))
            })?;
        let answer: Value = serde_json::from_str(&answer_json)?;
        let pid = answer
            .pointer("/payment/provider_payment_id")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("no payment id in {answer_json}"))?;
        let body = event_payload(pid, amount);
        let event = cofund::providers::events::parse(&body)
            .map_err(|e| anyhow!("seed event does not parse: {e}"))?;
        requests.push(Request {
            event,
            payload: cofund::providers::events::minimal_payload(&body),
        });
        total += amount;
    }
    match conn {
        cofund::db::DbConnection::Postgresql(_) => {
            // The group commit's statement, one campaign's gifts per batch, as under load.
            let refs: Vec<&Request> = requests.iter().collect();
            let outcomes = payment_events::process(conn, &refs, &mut || ())?;
            for o in outcomes {
                if !matches!(
                    o,
                    Confirmation::Planned {
                        outcome: Outcome::Applied(_),
                        ..
                    }
                ) {
                    bail!("a seeded confirmation was not applied in its batch");
                }
            }
        }
        _ => {
            for r in &requests {
                let applied =
                    payment_events::apply_event_transactional(conn, &r.event, &r.payload)?;
                if applied.outcome() != "applied" {
                    bail!("a seeded confirmation was {}", applied.outcome());
                }
            }
        }
    }
    Ok(total)
}

/// All the pledges, campaign by campaign, on `workers` connections (each its own associations,
/// so no two workers wait on one receipt counter). On PostgreSQL, the database at `vacuum_url`
/// is vacuumed every 100,000 pledges: every pledge passes through `pending_pledges`, and on a
/// server without autovacuum its dead rows slowed the last worker to ~33 pledges/s at 1.3
/// million.
async fn seed_pledges(
    db_url: &str,
    programme: &mut Programme,
    pledges: usize,
    workers: usize,
    vacuum_url: Option<String>,
) -> Result<()> {
    let db = cofund::db::Db::connect(db_url, workers as u32 + 1)?;
    let n = programme.campaigns.len();
    // Campaign i gets pledges/n gifts, the first pledges % n one more.
    let plan: Vec<(String, usize, usize, usize)> = {
        let mut first = 0;
        programme
            .campaigns
            .iter()
            .enumerate()
            .map(|(i, (id, assoc))| {
                let count = pledges / n + usize::from(i < pledges % n);
                let p = (id.clone(), *assoc, first, count);
                first += count;
                p
            })
            .collect()
    };
    let plan = Arc::new(plan);
    let done = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (db, plan, done) = (db.clone(), plan.clone(), done.clone());
        let partner_id = programme.partner_id.clone();
        let vacuum_url = vacuum_url.clone();
        tasks.push(tokio::spawn(async move {
            let mut raised = Vec::new();
            for (id, assoc, first, count) in plan.iter() {
                if assoc % workers != w {
                    continue;
                }
                let (pid, cid, first, count) = (partner_id.clone(), id.clone(), *first, *count);
                let total = db
                    .run(move |conn| {
                        let gifts = (first..first + count).map(|k| (k, gift(k)));
                        seed_campaign(conn, &pid, &cid, gifts)
                    })
                    .await?;
                raised.push((id.clone(), total));
                let d = done.fetch_add(count, Ordering::Relaxed) + count;
                if d / 100_000 != (d - count) / 100_000 {
                    println!(
                        "   seeded {d} pledges ({:.0}/s)",
                        d as f64 / started.elapsed().as_secs_f64()
                    );
                    if let Some(url) = vacuum_url.clone() {
                        tokio::task::spawn_blocking(move || {
                            psql(&url, "VACUUM ANALYZE pending_pledges, pledges, campaigns")
                        })
                        .await??;
                    }
                }
            }
            Ok::<_, anyhow::Error>(raised)
        }));
    }
    for t in tasks {
        for (id, total) in t.await?? {
            programme.expected_raised.insert(id, total);
        }
    }
    programme.pledges = pledges;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Measuring

/// Pages of each list timed at least: a short list is walked again until this many.
const PAGES_TIMED: usize = 1_000;

/// Walks a list, again and again while fewer than [`PAGES_TIMED`] pages were timed: the first
/// walk, every page's time over all walks, and how many walks.
async fn walk_timed(
    api: &Api,
    first: &str,
    token: Option<&str>,
    max_pages: usize,
) -> Result<(Walk, Vec<u64>, usize)> {
    let w = walk(api, first, token, max_pages).await?;
    let mut page_us = w.page_us.clone();
    let mut walks = 1;
    while page_us.len() < PAGES_TIMED && w.pages > 0 {
        page_us.extend(walk(api, first, token, max_pages).await?.page_us);
        walks += 1;
    }
    Ok((w, page_us, walks))
}

/// A list walked page by page.
struct Walk {
    pages: usize,
    items: usize,
    page_us: Vec<u64>,
    last_cursor: Option<String>,
}

async fn walk(api: &Api, first: &str, token: Option<&str>, max_pages: usize) -> Result<Walk> {
    let mut w = Walk {
        pages: 0,
        items: 0,
        page_us: Vec::new(),
        last_cursor: None,
    };
    let mut cursor: Option<String> = None;
    let sep = if first.contains('?') { '&' } else { '?' };
    while w.pages < max_pages {
        let path = match &cursor {
            Some(c) => format!("{first}{sep}cursor={c}"),
            None => first.to_string(),
        };
        let t = Instant::now();
        let page = api.get(&path, token).await?;
        w.page_us.push(t.elapsed().as_micros() as u64);
        w.pages += 1;
        w.items += page
            .get("data")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        cursor = page
            .get("next_cursor")
            .and_then(Value::as_str)
            .map(str::to_string);
        if cursor.is_none() {
            break;
        }
        w.last_cursor = cursor.clone();
    }
    Ok(w)
}

/// Closed loop of GETs from `clients` tasks for `duration`; (requests, p50 µs, p99 µs, errors).
pub(super) async fn hammer(
    api: &Api,
    paths: Arc<Vec<String>>,
    header: Option<(&'static str, String)>,
    clients: usize,
    duration: Duration,
) -> Result<(usize, u64, u64, usize)> {
    let deadline = Instant::now() + duration;
    let mut tasks = Vec::new();
    for t in 0..clients {
        let (api, paths, header) = (api.clone(), paths.clone(), header.clone());
        tasks.push(tokio::spawn(async move {
            let mut us = Vec::new();
            let mut errors = 0;
            let mut i = t * 7919;
            while Instant::now() < deadline {
                i = i.wrapping_add(104_729);
                let path = &paths[i % paths.len()];
                let t0 = Instant::now();
                let mut request = api.http.get(format!("{}{path}", api.base));
                if let Some((name, value)) = &header {
                    request = request.header(*name, value);
                }
                let ok = match request.send().await {
                    Ok(r) => {
                        let s = r.status().is_success();
                        r.bytes().await.is_ok() && s
                    }
                    Err(_) => false,
                };
                us.push(t0.elapsed().as_micros() as u64);
                errors += usize::from(!ok);
            }
            (us, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (us, e) = t.await?;
        all.extend(us);
        errors += e;
    }
    all.sort_unstable();
    Ok((
        all.len(),
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        errors,
    ))
}

pub(super) fn mark(met: bool) -> &'static str {
    if met { "✓" } else { "✗" }
}

/// One backend: seed (or reuse), measure, and the Markdown section.
async fn scale_backend(
    args: &Args,
    name: &str,
    db_url: &str,
    pg: Option<(&str, &str)>,
    tmp: &Path,
    reuse: Option<Programme>,
) -> Result<String> {
    let mut md = String::new();
    let mut programme;
    if let Some(p) = reuse {
        programme = p;
    } else {
        create_admin(&args.cofund_bin, db_url)?;
        println!("== {name}: seeding the structure over HTTP");
        let t = Instant::now();
        {
            let (_service, api) = start_ready(args, db_url, tmp).await?;
            programme = seed_structure(&api, args.scale_areas, args.scale_campaigns).await?;
        }
        programme.seconds_structure = t.elapsed().as_secs_f64();
        println!(
            "   {} areas, {} campaigns live in {:.0} s",
            args.scale_areas,
            programme.campaigns.len(),
            programme.seconds_structure
        );
        if let Some((admin_url, db)) = pg {
            psql(
                admin_url,
                &format!("ALTER DATABASE {db} SET synchronous_commit = off"),
            )?;
        }
        println!(
            "== {name}: seeding {} pledges in-process",
            args.scale_pledges
        );
        let t = Instant::now();
        let workers = if pg.is_some() { args.scale_workers } else { 1 };
        let vacuum_url = match pg {
            Some((admin_url, db)) => Some(with_database(admin_url, db)?),
            None => None,
        };
        seed_pledges(
            db_url,
            &mut programme,
            args.scale_pledges,
            workers,
            vacuum_url,
        )
        .await?;
        programme.seconds_pledges = t.elapsed().as_secs_f64();
        if let Some((admin_url, db)) = pg {
            psql(
                admin_url,
                &format!("ALTER DATABASE {db} RESET synchronous_commit"),
            )?;
            psql(&with_database(admin_url, db)?, "VACUUM ANALYZE")?;
        }
        println!(
            "   {} pledges in {:.0} s ({:.0}/s)",
            programme.pledges,
            programme.seconds_pledges,
            programme.pledges as f64 / programme.seconds_pledges
        );
        if args.scale_keep {
            let file = args.out.with_extension(format!("{name}.json"));
            let saved = programme.to_json(name, db_url, pg.map(|(_, db)| db));
            std::fs::write(&file, serde_json::to_vec_pretty(&saved)?)?;
            println!(
                "   kept: measure again with --scale-reuse {}",
                file.display()
            );
        }
        if args.scale_seed_only {
            return Ok(String::new());
        }
    }

    let (service, api) = start_ready(args, db_url, tmp).await?;
    let pid = service.child.id();
    // Tokens afresh: a kept programme's have expired.
    programme.admin = api
        .token(json!({"grant_type":"password","username":"admin","password":ADMIN_PASSWORD}))
        .await
        .context("admin token")?;
    programme.partner = api
        .token(json!({"grant_type":"client_credentials",
            "client_id": programme.partner_client_id,
            "client_secret": programme.partner_client_secret}))
        .await
        .context("partner token")?;
    let admin = programme.admin.clone();
    let _ = writeln!(md, "### {name}\n");
    let _ = writeln!(
        md,
        "Seeded {} areas, {} campaigns and {} confirmed pledges: the structure over HTTP in {:.0} s, the pledges in-process in {:.0} s ({:.0} pledges/s).\n",
        args.scale_areas,
        programme.campaigns.len(),
        programme.pledges,
        programme.seconds_structure,
        programme.seconds_pledges,
        programme.pledges as f64 / programme.seconds_pledges.max(1e-9)
    );
    md.push_str(&database_size(db_url, pg)?);
    let mut targets: Vec<(String, String, bool)> = Vec::new();
    let steady = rss_mib(pid).map_or(0.0, |r| r.0);

    // Spot check: campaigns' raised against what the seeder confirmed.
    let mut checked = 0;
    let mut wrong = Vec::new();
    for (id, expected) in programme
        .expected_raised
        .iter()
        .step_by((programme.expected_raised.len() / 50).max(2))
    {
        let v = api.get(&format!("/v1/campaigns/{id}"), None).await?;
        let raised = cents(&str_field(&v, "raised")?)?;
        checked += 1;
        if raised != *expected {
            wrong.push(format!("{id}: raised {raised} ≠ seeded {expected}"));
        }
    }
    let _ = writeln!(
        md,
        "Spot check: {checked} campaigns' `raised` equal the sum of the gifts the seeder confirmed for them: {}.\n",
        if wrong.is_empty() {
            "all equal".to_string()
        } else {
            format!("**{} differ** ({})", wrong.len(), wrong.join("; "))
        }
    );

    // Reconciliation, CLI.
    println!("== {name}: measuring");
    let t = Instant::now();
    let mut child = cofund_command(&args.cofund_bin, db_url)
        .arg("reconcile")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let watch = RssWatch::start(child.id());
    let mut out = String::new();
    if let Some(mut so) = child.stdout.take() {
        use std::io::Read;
        let _ = so.read_to_string(&mut out);
    }
    let status = child.wait()?;
    let cli_secs = t.elapsed().as_secs_f64();
    let cli_peak = watch.peak_mib();
    let cli_ok = status.success();
    targets.push((
        "`cofund reconcile` < 20 s, peak RSS < 300 MB".into(),
        format!(
            "{cli_secs:.1} s, peak RSS {cli_peak:.0} MiB, {}",
            if cli_ok { "books ok" } else { "**not ok**" }
        ),
        cli_secs < 20.0 && cli_peak < 300.0 && cli_ok,
    ));
    if !cli_ok {
        let _ = writeln!(
            md,
            "`cofund reconcile` output: {}\n",
            super::truncate(&out, 1500)
        );
    }

    // Reconciliation over HTTP.
    let watch = RssWatch::start(pid);
    let t = Instant::now();
    let rec = api.get("/v1/reconciliation", Some(&admin)).await?;
    let http_secs = t.elapsed().as_secs_f64();
    let http_peak = watch.peak_mib();
    let rec_ok = rec.get("ok").and_then(Value::as_bool) == Some(true);
    targets.push((
        "`GET /v1/reconciliation` < 20 s, service peak RSS < 300 MB".into(),
        format!(
            "{http_secs:.1} s, service RSS {steady:.0} MiB before, peak {http_peak:.0} MiB, {}",
            if rec_ok { "ok" } else { "**not ok**" }
        ),
        http_secs < 20.0 && http_peak < 300.0 && rec_ok,
    ));
    if !rec_ok {
        let _ = writeln!(
            md,
            "Reconciliation answer: {}\n",
            super::truncate(&rec.to_string(), 1500)
        );
    }

    // Fund report, JSON and CSV.
    for (label, accept) in [("JSON", "application/json"), ("CSV", "text/csv")] {
        let watch = RssWatch::start(pid);
        let t = Instant::now();
        let resp = api
            .http
            .get(format!(
                "{}/v1/funds/{}/report",
                api.base, programme.fund_id
            ))
            .bearer_auth(&admin)
            .header("accept", accept)
            .send()
            .await?;
        let ok = resp.status().is_success();
        let bytes = resp.bytes().await?.len();
        let secs = t.elapsed().as_secs_f64();
        let peak = watch.peak_mib();
        targets.push((
            format!("fund report {label} < 2 s"),
            format!(
                "{secs:.2} s, {:.1} MB, service peak RSS {peak:.0} MiB{}",
                bytes as f64 / 1e6,
                if ok { "" } else { ", **error**" }
            ),
            secs < 2.0 && ok,
        ));
    }

    // Lists walked page by page.
    let _ = writeln!(
        md,
        "Lists, walked with `limit=200` and `next_cursor` (keyset) from the first page; a list shorter than {PAGES_TIMED} pages is walked again until {PAGES_TIMED} pages were timed, so that its p99 is a percentile, not its slowest page:\n"
    );
    let _ = writeln!(
        md,
        "| list | pages | items | walks | p50 ms | p99 ms | max ms |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|");
    let some_campaign = programme
        .expected_raised
        .keys()
        .next()
        .cloned()
        .unwrap_or_default();
    let lists: Vec<(String, String, Option<&str>, usize)> = vec![
        (
            "public campaigns".into(),
            "/v1/campaigns?limit=200".into(),
            None,
            usize::MAX,
        ),
        (
            "partner's pledges (first 2,000 pages)".into(),
            "/v1/pledges?limit=200".into(),
            Some(&programme.partner),
            2000,
        ),
        (
            "one campaign's pledges".into(),
            format!("/v1/campaigns/{some_campaign}/pledges?limit=200"),
            Some(&admin),
            usize::MAX,
        ),
        (
            "transparency register".into(),
            "/v1/transparency/awards?limit=200".into(),
            None,
            usize::MAX,
        ),
        (
            "fund ledger".into(),
            format!("/v1/funds/{}/ledger?limit=200", programme.fund_id),
            Some(&admin),
            usize::MAX,
        ),
        (
            "areas".into(),
            "/v1/areas?limit=200".into(),
            None,
            usize::MAX,
        ),
        (
            "associations".into(),
            "/v1/associations?limit=200".into(),
            Some(&admin),
            usize::MAX,
        ),
    ];
    let mut worst_p99 = 0;
    for (label, path, token, max_pages) in &lists {
        match walk_timed(&api, path, *token, *max_pages).await {
            Ok((w, mut page_us, walks)) => {
                page_us.sort_unstable();
                let p99 = percentile(&page_us, 0.99);
                worst_p99 = worst_p99.max(p99);
                let _ = writeln!(
                    md,
                    "| {label} | {} | {} | {walks} | {} | {} | {} |",
                    w.pages,
                    w.items,
                    fmt_ms(percentile(&page_us, 0.5)),
                    fmt_ms(p99),
                    fmt_ms(page_us.last().copied().unwrap_or(0))
                );
            }
            Err(e) => {
                let _ = writeln!(
                    md,
                    "| {label} | error: {} | | | | | |",
                    super::truncate(&format!("{e:#}"), 200)
                );
                worst_p99 = u64::MAX;
            }
        }
    }
    let _ = writeln!(md);
    targets.push((
        "any list page p99 < 10 ms".into(),
        if worst_p99 == u64::MAX {
            "a list failed".into()
        } else {
            format!("worst list p99 {} ms", fmt_ms(worst_p99))
        },
        worst_p99 < 10_000,
    ));

    // ?contains= and badge under 8 clients.
    let duration = Duration::from_secs(args.duration_secs);
    let contains: Vec<String> = (0..args.scale_areas)
        .map(|i| {
            let (x, y) = area_corner(i);
            format!("/v1/areas?contains={:.4},{:.4}", y + 0.003, x + 0.007)
        })
        .collect();
    let badges: Vec<String> = programme
        .campaigns
        .iter()
        .map(|(id, _)| format!("/v1/campaigns/{id}/badge.svg"))
        .collect();
    for (label, paths) in [("`?contains=`", contains), ("badge", badges)] {
        let watch = RssWatch::start(pid);
        let (n, p50, p99, errors) =
            hammer(&api, Arc::new(paths), None, READ_CLIENTS, duration).await?;
        let peak = watch.peak_mib();
        targets.push((
            format!("{label} p99 < 5 ms ({READ_CLIENTS} clients)"),
            format!(
                "{:.0} req/s, p50 {} ms, p99 {} ms, {errors} errors, service RSS peak {peak:.0} MiB",
                n as f64 / duration.as_secs_f64(),
                fmt_ms(p50),
                fmt_ms(p99)
            ),
            p99 < 5_000 && errors == 0,
        ));
    }

    // Confirmations on the big books, against pgbench -N right around them.
    // Not the campaigns the spot check reads, so that a kept programme measured again still
    // matches the seeder's record.
    let spot_checked: std::collections::HashSet<&String> = programme
        .expected_raised
        .keys()
        .step_by((programme.expected_raised.len() / 50).max(2))
        .collect();
    let targets_campaigns: Vec<String> = programme
        .campaigns
        .iter()
        .filter(|(id, _)| !spot_checked.contains(id))
        .step_by((programme.campaigns.len() / 100).max(1))
        .map(|(id, _)| id.clone())
        .collect();
    let seq = Arc::new(AtomicUsize::new(10_000_000));
    let want = (3000.0 * duration.as_secs_f64()) as usize;
    let (mut ids, _) =
        make_pledges(&api, &programme.partner, &targets_campaigns, want, &seq).await?;
    interleave(&mut ids);
    let pgbench = match pg {
        Some(_) => Some(pgbench_database(args)?),
        None => None,
    };
    if let Some((admin_url, db)) = pg {
        psql(
            &with_database(admin_url, db)?,
            "VACUUM ANALYZE pledges, pending_pledges, campaigns, campaign_donors, provider_events",
        )?;
    }
    let before = match &pgbench {
        Some((_, url)) => Some(pgbench_tps(
            url,
            PgbenchKind::SimpleUpdate,
            8,
            args.duration_secs,
        )?),
        None => None,
    };
    let watch = RssWatch::start(pid);
    let r = run_phase(
        &api,
        PhaseKind::Webhooks,
        8,
        duration,
        0,
        Work::Events(Arc::new(ids)),
    )
    .await?;
    let peak = watch.peak_mib();
    let after = match &pgbench {
        Some((_, url)) => Some(pgbench_tps(
            url,
            PgbenchKind::SimpleUpdate,
            8,
            args.duration_secs,
        )?),
        None => None,
    };
    let rate = r.rate();
    let measured = match (before, after) {
        (Some(b), Some(a)) => format!(
            "{rate:.0}/s = {:.2} × pgbench -N ({b:.0}, {a:.0} tps around it), p99 {} ms, {} errors, service RSS peak {peak:.0} MiB",
            rate / ((a + b) / 2.0),
            fmt_ms(r.p99_us),
            r.errors
        ),
        _ => format!(
            "{rate:.0}/s, p99 {} ms, {} errors, service RSS peak {peak:.0} MiB",
            fmt_ms(r.p99_us),
            r.errors
        ),
    };
    targets.push((
        "confirmations at 8 clients on the big books (compare with the small-data run)".into(),
        measured,
        r.errors == 0,
    ));
    drop(pgbench);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rec = api.get("/v1/reconciliation", Some(&admin)).await?;
    let books = rec.get("ok").and_then(Value::as_bool) == Some(true);
    targets.push((
        "books after the confirmations".into(),
        if books {
            "reconciliation ok".into()
        } else {
            format!("**not ok**: {}", super::truncate(&rec.to_string(), 500))
        },
        books,
    ));
    let steady_after = rss_mib(pid).map_or(0.0, |r| r.0);
    let _ = writeln!(md, "| target | measured | met |");
    let _ = writeln!(md, "|---|---|:-:|");
    for (t, m, ok) in &targets {
        let _ = writeln!(md, "| {t} | {m} | {} |", mark(*ok));
    }
    let _ = writeln!(
        md,
        "\nService RSS: {steady:.0} MiB when started on the seeded books, {steady_after:.0} MiB at the end.\n"
    );
    drop(service);
    Ok(md)
}

/// `--scale`: programme-scale data on PostgreSQL then SQLite, as a Markdown section (`--scale`
/// writes it to `--out`).
pub async fn section(args: &Args) -> Result<String> {
    let mut md = report_heading(
        &format!(
            "Programme-scale data ({} areas, {} campaigns, {} confirmed pledges)",
            args.scale_areas, args.scale_campaigns, args.scale_pledges
        ),
        &format!(
            "cofund-bench --scale --scale-pledges {} --scale-campaigns {} --scale-areas {} --duration-secs {}",
            args.scale_pledges, args.scale_campaigns, args.scale_areas, args.duration_secs
        ),
    );
    if let Some(file) = &args.scale_reuse {
        let v: Value = serde_json::from_slice(&std::fs::read(file)?)?;
        let programme = Programme::from_json(&v)?;
        let backend = str_field(&v, "backend")?;
        let db_url = str_field(&v, "db_url")?;
        let pg_db = v["pg_db"].as_str().map(str::to_string);
        let tmp = temp_dir()?;
        let section = scale_backend(
            args,
            &backend,
            &db_url,
            pg_db.as_deref().map(|db| (args.pg_admin_url.as_str(), db)),
            &tmp.0,
            Some(programme),
        )
        .await?;
        md.push_str(&section);
    } else {
        seed_and_measure(args, &mut md).await?;
    }
    Ok(md)
}

/// "Database size: …" for the report: PostgreSQL's own count, or SQLite's main file.
pub(super) fn database_size(db_url: &str, pg: Option<(&str, &str)>) -> Result<String> {
    if let Some((admin_url, db)) = pg {
        let size = psql(
            admin_url,
            &format!("SELECT pg_size_pretty(pg_database_size('{db}'))"),
        )?;
        return Ok(format!("Database size: {size}.\n\n"));
    }
    let path = db_url.strip_prefix("sqlite://").unwrap_or(db_url);
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    Ok(format!(
        "Database size: {:.0} MiB (main file).\n\n",
        bytes as f64 / 1_048_576.0
    ))
}

/// The start of a report: its title and the command that reproduces it, stamped.
pub(super) fn report_heading(title: &str, command: &str) -> String {
    format!(
        "## {title}\n\n`{command}`, {}.\n\n",
        Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
    )
}

/// Ends a report with the whole run's time, prints it and writes it to `--out`.
pub(super) fn write_report(args: &Args, mut md: String, started: Instant) -> Result<()> {
    let _ = writeln!(md, "Whole run: {:.0} s.\n", started.elapsed().as_secs_f64());
    println!("\n{md}");
    std::fs::write(&args.out, &md).with_context(|| format!("writing {}", args.out.display()))?;
    println!("wrote {}", args.out.display());
    Ok(())
}

/// A new PostgreSQL database named `{prefix}_{random}`, dropped when the guard is; its URL.
pub(super) fn scratch_database(args: &Args, prefix: &str) -> Result<(ScratchPg, String)> {
    let name = format!("{prefix}_{}", short_id());
    psql(&args.pg_admin_url, &format!("CREATE DATABASE {name}"))?;
    let guard = ScratchPg {
        admin_url: args.pg_admin_url.clone(),
        name,
    };
    let url = with_database(&args.pg_admin_url, &guard.name)?;
    Ok((guard, url))
}

async fn seed_and_measure(args: &Args, md: &mut String) -> Result<()> {
    if !args.skip_postgres {
        let (guard, url) = scratch_database(args, "cofund_scale")?;
        let name = guard.name.clone();
        let tmp = temp_dir()?;
        let section = scale_backend(
            args,
            "PostgreSQL",
            &url,
            Some((&args.pg_admin_url, &name)),
            &tmp.0,
            None,
        )
        .await?;
        md.push_str(&section);
        if args.scale_keep {
            std::mem::forget(guard);
            println!("kept database {name}");
        }
    }
    if !args.skip_sqlite {
        let tmp = temp_dir()?;
        // A kept SQLite database lives beside the report, not in the temporary directory.
        let path = if args.scale_keep {
            std::path::absolute(args.out.with_extension(format!("{}.db", short_id())))?
        } else {
            tmp.0.join("scale.db")
        };
        let url = format!("sqlite://{}", path.display());
        let section = scale_backend(args, "SQLite", &url, None, &tmp.0, None).await?;
        md.push_str(&section);
    }
    Ok(())
}
