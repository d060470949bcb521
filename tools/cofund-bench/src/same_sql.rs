//! The same-SQL limit (issue 43): what PostgreSQL does with exactly the statements cofund sends
//! for one pledge creation and one confirmation, replayed by `pgbench` on the same data.
//!
//! 1. **Trace.** `log_statement = 'all'` is set on the bench's database and a second `cofund
//!    serve` (its own, freshly opened connections; scheduler idle) is started on it. One client
//!    creates [`TRACED`] pledges and then confirms them by signed webhooks, one at a time, with a
//!    marker statement sent from `psql` between requests. The server log (read through
//!    `pg_read_file`, from `pg_current_logfile()` or the backend's own stderr) then holds each
//!    request's statements between two markers, with their parameters.
//! 2. **Template.** Statements that appear in at least 80 % of the requests are the request's
//!    (the rest are a fresh connection's settings or background jobs). The latest request with
//!    the common sequence is the template. Each parameter that changes between requests becomes
//!    a per-transaction variable: a value the request was aimed at (the campaign; the pledge
//!    confirmed, and its columns) is read from a pool table of real rows; another identifier is
//!    fresh (`gen_random_uuid()`, or random text); a time stays as traced. Parameters that never
//!    change are written in as literals.
//! 3. **Replay.** One `pgbench -M prepared` script per kind: the pool read (`\gset`: one indexed
//!    read per transaction that cofund does not make, so the limit is slightly understated), then
//!    the service's statements in its order, `BEGIN` and `COMMIT` included. pgbench runs right
//!    before and right after cofund's own closed loop of the same kind, same clients and
//!    duration, on the same database; the ratio is cofund ÷ the mean of the two.
//!
//! A confirmation at 1 client is one statement batch per event; under load the service
//! group-commits several events per transaction ([ADR 0002]), which the replay (one event per
//! transaction, as traced) does not: a confirmation ratio above 1 is that batching.

use super::{
    Api, PLEDGE_AMOUNT, PhaseKind, WEBHOOK_SECRET, Work, event_body, make_pledges, pgbench, psql,
    run_phase, start_serve, truncate, wait_ready, with_database,
};
use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};

/// Requests of each kind traced one at a time.
const TRACED: usize = 30;
/// A statement is the request's when it appears in at least this share of the traced requests.
const COMMON_SHARE: f64 = 0.8;
/// How the same-SQL limit is measured (for the report).
pub const METHOD: &str = "The statements cofund sent for one pledge creation and one confirmation \
(traced with `log_statement = 'all'`, one request at a time) are replayed as a `pgbench -M prepared` \
script on the same database, right before and right after cofund's own phase of the same kind \
(same clients); the ratio is cofund's rate ÷ the mean of the two. Each replayed transaction first \
reads the row it is aimed at from a pool table (an indexed read cofund does not make). A \
confirmation is replayed one event a transaction, as traced; under load cofund group-commits \
several, so its ratio can pass 1.\n";
const MARK: &str = "cofund-bench-mark";

pub struct Env<'a> {
    pub admin_url: &'a str,
    pub db: &'a str,
    pub bin: &'a Path,
    pub tmp: &'a Path,
    pub api: &'a Api,
    pub partner: &'a str,
    pub campaigns: &'a [String],
    pub clients: usize,
    pub duration: Duration,
}

/// One statement as the server logged it.
#[derive(Debug, Clone)]
struct Logged {
    sql: String,
    params: Vec<Option<String>>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Creation,
    Confirmation,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Creation => "pledge creation",
            Kind::Confirmation => "confirmation (signed webhook)",
        }
    }
    fn tag(self) -> &'static str {
        match self {
            Kind::Creation => "create",
            Kind::Confirmation => "confirm",
        }
    }
}

/// What the bench knows about one traced request: values in it that point at existing rows
/// (pool columns, by name).
struct Traced {
    aimed_at: HashMap<String, String>,
}

pub struct Outcome {
    pub markdown: Vec<String>,
    pub failures: Vec<String>,
}

pub async fn run(env: &Env<'_>) -> Outcome {
    let mut out = Outcome {
        markdown: Vec::new(),
        failures: Vec::new(),
    };
    if let Err(e) = phases(env, &mut out).await {
        out.failures
            .push(format!("PostgreSQL same-SQL limit: {e:#}"));
        out.markdown
            .push(format!("The same-SQL measurement failed: {e:#}"));
    }
    out
}

async fn phases(env: &Env<'_>, out: &mut Outcome) -> Result<()> {
    let db_url = with_database(env.admin_url, env.db)?;
    println!("   same-SQL: tracing {TRACED} creations and {TRACED} confirmations");
    let (traces, logged) = trace(env, &db_url).await?;
    let mut rows = Vec::new();
    for kind in [Kind::Creation, Kind::Confirmation] {
        let segments: Vec<&Vec<Logged>> = logged
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, s)| s)
            .collect();
        let known: Vec<&Traced> = traces
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, t)| t)
            .collect();
        let template = template(&segments, &known)
            .with_context(|| format!("the {} template", kind.label()))?;
        let script = template.script(env.clients);
        let path = env.tmp.join(format!("same-sql-{}.sql", kind.tag()));
        std::fs::write(&path, &script)?;
        println!(
            "   same-SQL {}: {} statements a request ({} round trips), script {}",
            kind.label(),
            template.statements.len(),
            template.statements.len(),
            path.display()
        );
        out.markdown.push(format!(
            "<details><summary>The {} script replayed ({} statements)</summary>\n\n```sql\n{}```\n\n</details>\n",
            kind.label(),
            template.statements.len(),
            script
        ));
        rows.push(measure(env, &db_url, kind, &template, &path).await?);
    }
    let mut table = String::from(
        "| phase (PostgreSQL) | clients | cofund /s | p99 | same SQL by pgbench (before, after) | cofund ÷ same SQL | target |\n|---|---:|---:|---:|---|---:|---|\n",
    );
    for r in &rows {
        let met = r.ratio >= 0.7 && r.p99_us < 20_000;
        let _ = writeln!(
            table,
            "| {} | {} | {:.0} | {:.2} ms | {:.0}, {:.0} tps | {:.2} × | ≥ 0.7 ×, p99 < 20 ms {} |",
            r.kind.label(),
            env.clients,
            r.rate,
            r.p99_us as f64 / 1000.0,
            r.before,
            r.after,
            r.ratio,
            if met { "✓" } else { "✗" }
        );
    }
    out.markdown.insert(0, table);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Trace

type Segments = Vec<(Kind, Vec<Logged>)>;

async fn trace(env: &Env<'_>, db_url: &str) -> Result<(Vec<(Kind, Traced)>, Segments)> {
    let log = ServerLog::locate(env.admin_url)?;
    psql(
        env.admin_url,
        &format!("ALTER DATABASE {} SET log_statement = 'all'", env.db),
    )?;
    let result = trace_with_logging(env, db_url, &log).await;
    psql(
        env.admin_url,
        &format!("ALTER DATABASE {} RESET log_statement", env.db),
    )?;
    let (traces, from, to) = result?;
    let text = log.read(env.admin_url, from, to)?;
    let statements = parse_log(&text, env.db);
    let mut segments: Segments = Vec::new();
    let mut current: Option<(Kind, Vec<Logged>)> = None;
    for s in statements {
        if let Some(rest) = s.sql.strip_prefix(&format!("SELECT '{MARK} ")) {
            if let Some(c) = current.take() {
                segments.push(c);
            }
            current = if rest.starts_with("create") {
                Some((Kind::Creation, Vec::new()))
            } else if rest.starts_with("confirm") {
                Some((Kind::Confirmation, Vec::new()))
            } else {
                None
            };
            continue;
        }
        if let Some((_, v)) = current.as_mut() {
            v.push(s);
        }
    }
    if segments.len() != traces.len() {
        bail!(
            "the server log holds {} traced requests, the bench sent {} (is log_statement honoured, and the log readable?)",
            segments.len(),
            traces.len()
        );
    }
    Ok((traces, segments))
}

async fn trace_with_logging(
    env: &Env<'_>,
    db_url: &str,
    log: &ServerLog,
) -> Result<(Vec<(Kind, Traced)>, u64, u64)> {
    // Its own service: connections opened after `log_statement` was set, jobs idle.
    let dir = env.tmp.join("same-sql");
    std::fs::create_dir_all(&dir)?;
    let (mut server, base) = start_serve(
        env.bin,
        db_url,
        &dir,
        &[
            ("COFUND_SCHEDULER_INTERVAL_MS", "3600000"),
            ("COFUND_JOB_LEASE_MS", "7200001"),
        ],
    )?;
    let api = Api {
        http: env.api.http.clone(),
        base,
    };
    wait_ready(&api.http, &api.base, &mut server).await?;
    // Warm the pool's connections (their first statements are settings, not the request's).
    for i in 0..4 {
        let c = &env.campaigns[i % env.campaigns.len()];
        api.get(&format!("/v1/campaigns/{c}"), None).await?;
    }
    let from = log.size(env.admin_url)?;
    let mark = |what: String| psql(db_url, &format!("SELECT '{MARK} {what}'"));
    let mut traces = Vec::new();
    let mut intents = Vec::new();
    for i in 0..TRACED {
        let campaign = &env.campaigns[i % env.campaigns.len()];
        mark(format!("create {i}"))?;
        let v = api
            .call(
                reqwest::Method::POST,
                &format!("/v1/campaigns/{campaign}/pledges"),
                Some(env.partner),
                Some(&json!({"amount": PLEDGE_AMOUNT,
                    "donor": {"name": "Traced donor", "email": format!("trace{i}-{}@example.org", super::short_id())}})),
                &[("Idempotency-Key", uuid::Uuid::new_v4().to_string())],
            )
            .await
            .context("a traced pledge")?;
        let intent = v
            .pointer("/payment/provider_payment_id")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("pledge without a payment id: {v}"))?
            .to_string();
        traces.push((
            Kind::Creation,
            Traced {
                aimed_at: HashMap::from([("campaign_id".to_string(), campaign.clone())]),
            },
        ));
        intents.push(intent);
    }
    for (i, intent) in intents.iter().enumerate() {
        // The rows the confirmation is aimed at, as they stand before it.
        let row = psql(
            db_url,
            &format!(
                "SELECT row_to_json(p) FROM pledges p WHERE provider_payment_id = '{}'",
                intent.replace('\'', "''")
            ),
        )?;
        let row: Value = serde_json::from_str(&row).context("the traced pledge's row")?;
        let aimed_at = row
            .as_object()
            .map(|o| {
                o.iter()
                    .filter_map(|(k, v)| match v {
                        Value::String(s) => Some((k.clone(), s.clone())),
                        Value::Number(n) => Some((k.clone(), n.to_string())),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        mark(format!("confirm {i}"))?;
        let now = chrono::Utc::now().timestamp();
        let body = event_body(intent, now);
        let sig = cofund::providers::signature::header(WEBHOOK_SECRET, now, body.as_bytes());
        let r = api
            .http
            .post(format!("{}/v1/webhooks/stripe", api.base))
            .header("Stripe-Signature", sig)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?;
        let status = r.status();
        let text = r.text().await?;
        if !status.is_success() || !text.contains("applied") {
            bail!(
                "a traced confirmation answered {status}: {}",
                truncate(&text, 200)
            );
        }
        traces.push((Kind::Confirmation, Traced { aimed_at }));
    }
    mark("end".into())?;
    let to = log.size(env.admin_url)?;
    drop(server);
    Ok((traces, from, to))
}

/// Where PostgreSQL writes its log, read through SQL (a superuser's `pg_read_file`).
struct ServerLog {
    path: String,
}

impl ServerLog {
    fn locate(admin_url: &str) -> Result<ServerLog> {
        let current = psql(
            admin_url,
            "SELECT coalesce(pg_current_logfile('stderr'), '')",
        )?;
        let path = if current.is_empty() {
            // No logging collector: the backend's stderr is the log (Debian's pg_ctlcluster).
            "/proc/self/fd/2".to_string()
        } else if current.starts_with('/') {
            current
        } else {
            let dir = psql(admin_url, "SHOW data_directory")?;
            format!("{dir}/{current}")
        };
        let log = ServerLog { path };
        log.size(admin_url)
            .context("reading the PostgreSQL server log's size (needs a superuser)")?;
        Ok(log)
    }

    fn size(&self, admin_url: &str) -> Result<u64> {
        let s = psql(
            admin_url,
            &format!("SELECT (pg_stat_file('{}')).size", self.path),
        )?;
        s.parse().with_context(|| format!("log size {s:?}"))
    }

    fn read(&self, admin_url: &str, from: u64, to: u64) -> Result<String> {
        let len = to.saturating_sub(from);
        if len > 256 << 20 {
            bail!("{len} bytes of server log during the trace: too much to read");
        }
        psql(
            admin_url,
            &format!("SELECT pg_read_file('{}', {from}, {len})", self.path),
        )
    }
}

/// The statements of database `db` in a log written with Debian's default
/// `log_line_prefix = '%m [%p] %q%u@%d '`: `execute <name>: SQL` or `statement: SQL`, each
/// followed by its `DETAIL:  parameters: $1 = '…', $2 = NULL`; continuation lines start with a
/// tab.
fn parse_log(text: &str, db: &str) -> Vec<Logged> {
    // Join continuation lines to their record first.
    let mut records: Vec<String> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix('\t') {
            if let Some(last) = records.last_mut() {
                last.push('\n');
                last.push_str(rest);
            }
        } else {
            records.push(line.to_string());
        }
    }
    let wanted = format!("@{db} ");
    let mut out: Vec<Logged> = Vec::new();
    for r in records {
        let Some(at) = r.find(&wanted) else { continue };
        let body = &r[at + wanted.len()..];
        if let Some(stmt) = body.strip_prefix("LOG:  ") {
            let sql = if let Some(s) = stmt.strip_prefix("statement: ") {
                s
            } else if let Some(s) = stmt.strip_prefix("execute ") {
                match s.split_once(": ") {
                    Some((_, sql)) => sql,
                    None => continue,
                }
            } else {
                continue;
            };
            out.push(Logged {
                sql: sql.split_whitespace().collect::<Vec<_>>().join(" "),
                params: Vec::new(),
            });
        } else if let Some(p) = body.strip_prefix("DETAIL:  parameters: ")
            && let Some(last) = out.last_mut()
        {
            last.params = parse_params(p);
        }
    }
    out
}

/// `$1 = 'a''b', $2 = NULL` → `[Some("a'b"), None]`.
fn parse_params(s: &str) -> Vec<Option<String>> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(eq) = rest.find(" = ") {
        rest = &rest[eq + 3..];
        if let Some(r) = rest.strip_prefix("NULL") {
            out.push(None);
            rest = r;
        } else if let Some(r) = rest.strip_prefix('\'') {
            let mut value = String::new();
            let mut chars = r.char_indices().peekable();
            let mut end = r.len();
            while let Some((i, c)) = chars.next() {
                if c == '\'' {
                    if let Some((_, '\'')) = chars.peek() {
                        value.push('\'');
                        chars.next();
                        continue;
                    }
                    end = i + 1;
                    break;
                }
                value.push(c);
            }
            out.push(Some(value));
            rest = &r[end..];
        } else {
            break;
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Template

#[derive(Debug, Clone, PartialEq)]
enum Param {
    Null,
    Literal(String),
    /// A pool column (the row the request is aimed at); `true`: as a one-element array.
    Pool(String, bool),
    FreshUuid(usize, bool),
    FreshText(usize, bool),
}

struct Template {
    kind_pool: Vec<String>,
    statements: Vec<(String, Vec<Param>)>,
    fresh: usize,
}

fn is_uuid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok() && s.len() == 36
}

fn is_time(s: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(&s.replace(' ', "T")).is_ok()
        || (s.len() >= 19 && s.as_bytes()[4] == b'-' && s.as_bytes()[10] == b' ')
}

fn template(segments: &[&Vec<Logged>], known: &[&Traced]) -> Result<Template> {
    let n = segments.len();
    if n == 0 {
        bail!("no traced request");
    }
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for seg in segments {
        let mut distinct: Vec<&str> = seg.iter().map(|s| s.sql.as_str()).collect();
        distinct.sort_unstable();
        distinct.dedup();
        for s in distinct {
            *seen.entry(s).or_default() += 1;
        }
    }
    let common = |sql: &str| seen.get(sql).copied().unwrap_or(0) as f64 >= COMMON_SHARE * n as f64;
    let kept: Vec<Vec<&Logged>> = segments
        .iter()
        .map(|seg| seg.iter().filter(|s| common(&s.sql)).collect())
        .collect();
    let shape = |v: &Vec<&Logged>| v.iter().map(|s| s.sql.clone()).collect::<Vec<_>>();
    let mut shapes: BTreeMap<Vec<String>, usize> = BTreeMap::new();
    for k in &kept {
        *shapes.entry(shape(k)).or_default() += 1;
    }
    let modal = shapes
        .iter()
        .max_by_key(|(_, c)| **c)
        .map(|(s, _)| s.clone())
        .ok_or_else(|| anyhow!("no common statement"))?;
    let same: Vec<usize> = (0..n).filter(|i| shape(&kept[*i]) == modal).collect();
    let pick = *same.last().expect("the modal shape has a request");
    let other = same.iter().rev().nth(1).copied();
    let base = &kept[pick];
    let aimed = &known[pick].aimed_at;
    let mut pool: Vec<String> = Vec::new();
    let mut fresh: HashMap<String, usize> = HashMap::new();
    let mut statements = Vec::new();
    for (j, s) in base.iter().enumerate() {
        let mut params = Vec::new();
        for (p, v) in s.params.iter().enumerate() {
            let Some(v) = v else {
                params.push(Param::Null);
                continue;
            };
            let varies = other.is_some_and(|o| kept[o][j].params.get(p) != Some(&Some(v.clone())));
            // A one-element array (the group commit's batch of one): its element decides.
            let (element, array) = match v.strip_prefix('{').and_then(|x| x.strip_suffix('}')) {
                Some(inner) if !inner.contains(',') => (inner.trim_matches('"').to_string(), true),
                _ => (v.clone(), false),
            };
            let aimed_col = aimed
                .iter()
                .find(|(_, val)| **val == element)
                .map(|(k, _)| k.clone());
            let param = if let Some(col) = aimed_col.filter(|_| varies || is_uuid(&element)) {
                if !pool.contains(&col) {
                    pool.push(col.clone());
                }
                Param::Pool(col, array)
            } else if !varies
                || is_time(&element)
                || element.parse::<i64>().is_ok()
                // A longer array, or a JSON object: kept as traced.
                || (!array && v.starts_with('{'))
            {
                Param::Literal(v.clone())
            } else {
                let next = fresh.len();
                let f = fresh.entry(element.clone()).or_insert(next);
                if is_uuid(&element) {
                    Param::FreshUuid(*f, array)
                } else {
                    Param::FreshText(*f, array)
                }
            };
            params.push(param);
        }
        statements.push((s.sql.clone(), params));
    }
    Ok(Template {
        kind_pool: pool,
        statements,
        fresh: fresh.len(),
    })
}

impl Template {
    /// The pgbench script. Pool rows are numbered from 1; transaction `k` of client `c` takes
    /// row `(k - 1) × clients + c + 1`, so no two transactions share one.
    fn script(&self, clients: usize) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "\\set n (:k * {clients}) + :client_id + 1");
        let _ = writeln!(s, "\\set k :k + 1");
        let mut cols: Vec<String> = self
            .kind_pool
            .iter()
            .enumerate()
            .map(|(i, c)| format!("p.{c}::text AS p{i}, '{{' || p.{c}::text || '}}' AS p{i}a"))
            .collect();
        // Every fresh value in both shapes (the script uses the one it needs), made once.
        let mut made = vec!["1 AS one".to_string()];
        for i in 0..self.fresh {
            made.push(format!(
                "gen_random_uuid()::text AS u{i}, md5(random()::text) AS t{i}"
            ));
            cols.push(format!(
                "f.u{i} AS f{i}u, '{{' || f.u{i} || '}}' AS f{i}ua, f.t{i} AS f{i}t, '{{' || f.t{i} || '}}' AS f{i}ta"
            ));
        }
        if cols.is_empty() {
            cols.push("1 AS nothing".into());
        }
        let _ = writeln!(
            s,
            "SELECT {} FROM bench_same_sql_pool p, (SELECT {}) f WHERE p.n = :n \\gset",
            cols.join(", "),
            made.join(", ")
        );
        for (sql, params) in &self.statements {
            let _ = writeln!(s, "{};", substitute(sql, params, &self.kind_pool));
        }
        s
    }
}

/// The type cofund sent a literal parameter as, guessed from its shape: the log shows values,
/// not types, and an untyped `'t'` in a `VALUES` list would be text where cofund sent a boolean.
fn cast_for(v: &str) -> &'static str {
    let (inner, array) = match v.strip_prefix('{').and_then(|x| x.strip_suffix('}')) {
        Some(i) => (i, true),
        None => (v, false),
    };
    let elements: Vec<&str> = inner.split(',').map(|e| e.trim_matches('"')).collect();
    let all = |f: &dyn Fn(&str) -> bool| !inner.is_empty() && elements.iter().all(|e| f(e));
    let scalar = if all(&|e| e == "t" || e == "f") {
        "boolean"
    } else if all(&|e| e.parse::<i64>().is_ok()) {
        "bigint"
    } else if all(&|e| is_time(e) && (e.ends_with("+00") || e.ends_with('Z'))) {
        "timestamptz"
    } else if all(&is_time) {
        "timestamp"
    } else {
        return "";
    };
    match (scalar, array) {
        ("boolean", false) => "::boolean",
        ("boolean", true) => "::boolean[]",
        ("bigint", false) => "::bigint",
        ("bigint", true) => "::bigint[]",
        ("timestamptz", false) => "::timestamptz",
        ("timestamptz", true) => "::timestamptz[]",
        ("timestamp", false) => "::timestamp",
        _ => "::timestamp[]",
    }
}

/// `sql` with each `$i` replaced by its parameter (highest numbers first, so `$1` does not eat
/// `$10`).
fn substitute(sql: &str, params: &[Param], pool: &[String]) -> String {
    let mut out = sql.to_string();
    for (i, p) in params.iter().enumerate().rev() {
        let with = match p {
            Param::Null => "NULL".to_string(),
            Param::Literal(v) => format!("'{}'{}", v.replace('\'', "''"), cast_for(v)),
            Param::Pool(c, arr) => format!(
                ":p{}{}",
                pool.iter().position(|x| x == c).unwrap_or_default(),
                if *arr { "a" } else { "" }
            ),
            Param::FreshUuid(f, arr) => format!(":f{f}u{}", if *arr { "a" } else { "" }),
            Param::FreshText(f, arr) => format!(":f{f}t{}", if *arr { "a" } else { "" }),
        };
        out = out.replace(&format!("${}", i + 1), &with);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Measure: pgbench on the script, cofund, pgbench again

struct Row {
    kind: Kind,
    rate: f64,
    p99_us: u64,
    before: f64,
    after: f64,
    ratio: f64,
}

async fn measure(
    env: &Env<'_>,
    db_url: &str,
    kind: Kind,
    t: &Template,
    script: &Path,
) -> Result<Row> {
    let secs = env.duration.as_secs().max(1);
    let seq = Arc::new(AtomicUsize::new(1_000_000));
    // Enough rows for a fast replay of the whole duration (each replay uses rows once).
    let rows = (3000 * secs as usize).max(5000);
    let r = Replay {
        env,
        db_url,
        kind,
        t,
        script,
        rows,
        seq: &seq,
    };
    let _ = r.run("warm-up").await?;
    let before = r.run("before").await?;
    psql(db_url, "VACUUM ANALYZE")?;
    let (rate, p99_us) = match kind {
        Kind::Creation => {
            let started = Instant::now();
            let lat = creation_loop(env).await?;
            let rate = lat.len() as f64 / started.elapsed().as_secs_f64();
            (rate, super::percentile(&lat, 0.99))
        }
        Kind::Confirmation => {
            let want = (3000 * secs as usize).max(5000);
            let (ids, _) = make_pledges(env.api, env.partner, env.campaigns, want, &seq).await?;
            psql(db_url, "VACUUM ANALYZE")?;
            let r = run_phase(
                env.api,
                PhaseKind::Webhooks,
                env.clients,
                env.duration,
                0,
                Work::Events(Arc::new(ids)),
            )
            .await?;
            if r.errors > 0 {
                bail!("{} errors in cofund's confirmations", r.errors);
            }
            (r.rate(), r.p99_us)
        }
    };
    println!(
        "      cofund {}: {rate:.0}/s, p99 {:.2} ms",
        kind.label(),
        p99_us as f64 / 1000.0
    );
    let after = r.run("after").await?;
    Ok(Row {
        kind,
        rate,
        p99_us,
        before,
        after,
        ratio: rate / ((before + after) / 2.0).max(1e-9),
    })
}

struct Replay<'a> {
    env: &'a Env<'a>,
    db_url: &'a str,
    kind: Kind,
    t: &'a Template,
    script: &'a Path,
    rows: usize,
    seq: &'a Arc<AtomicUsize>,
}

impl Replay<'_> {
    /// pgbench on the script, each transaction on a row of a fresh pool; its tps.
    async fn run(&self, label: &str) -> Result<f64> {
        pool(
            self.env,
            self.db_url,
            self.kind,
            self.t,
            self.rows,
            self.seq,
        )
        .await?;
        let cs = self.env.clients.to_string();
        let tx = (self.rows / self.env.clients).to_string();
        let file = self.script.display().to_string();
        let a = [
            "-n",
            "-M",
            "prepared",
            "-c",
            &cs,
            "-j",
            "2",
            "-D",
            "k=0",
            "-t",
            &tx,
            "-f",
            &file,
            self.db_url,
        ];
        // The replay must do the work, not find nothing to do: every transaction a new pledge,
        // or a pending one confirmed.
        let count = match self.kind {
            Kind::Creation => "SELECT count(*) FROM pledges",
            Kind::Confirmation => "SELECT count(*) FROM pledges WHERE status = 'confirmed'",
        };
        let before: usize = psql(self.db_url, count)?.parse()?;
        let out = pgbench(&a)?;
        let tps = super::parse_tps(&out)?;
        let after: usize = psql(self.db_url, count)?.parse()?;
        let transactions = self.rows / self.env.clients * self.env.clients;
        if after - before != transactions {
            bail!(
                "the {} replay ran {transactions} transactions but changed {} pledges",
                self.kind.label(),
                after - before
            );
        }
        println!("      same SQL by pgbench ({label}): {tps:.0} tps");
        Ok(tps)
    }
}

/// The rows the replay's transactions are aimed at, numbered from 1.
async fn pool(
    env: &Env<'_>,
    db_url: &str,
    kind: Kind,
    t: &Template,
    rows: usize,
    seq: &Arc<AtomicUsize>,
) -> Result<()> {
    let cols: Vec<String> = t.kind_pool.iter().map(|c| format!("p.{c}")).collect();
    let cols = if cols.is_empty() {
        "1 AS nothing".to_string()
    } else {
        cols.join(", ")
    };
    let from = match kind {
        Kind::Creation => {
            let ids: Vec<String> = env
                .campaigns
                .iter()
                .map(|c| format!("'{}'", c.replace('\'', "''")))
                .collect();
            // Campaign rows, repeated to fill the pool.
            format!(
                "(SELECT c.id AS campaign_id FROM campaigns c, generate_series(1, {}) WHERE c.id::text IN ({})) p",
                rows / env.campaigns.len() + 1,
                ids.join(",")
            )
        }
        Kind::Confirmation => {
            // Fresh pending pledges, made over HTTP as the confirmation phase's are.
            make_pledges(env.api, env.partner, env.campaigns, rows, seq).await?;
            format!(
                "(SELECT * FROM pledges WHERE id IN (SELECT pledge_id FROM pending_pledges) ORDER BY created_at DESC LIMIT {rows}) p"
            )
        }
    };
    psql(
        db_url,
        &format!(
            "DROP TABLE IF EXISTS bench_same_sql_pool; \
             CREATE TABLE bench_same_sql_pool AS SELECT row_number() OVER () AS n, {cols} FROM {from}; \
             CREATE UNIQUE INDEX ON bench_same_sql_pool (n); ANALYZE bench_same_sql_pool"
        ),
    )?;
    Ok(())
}

/// cofund's own creation phase: `clients` partners' loops for the duration; latencies sorted.
async fn creation_loop(env: &Env<'_>) -> Result<Vec<u64>> {
    let deadline = Instant::now() + env.duration;
    let campaigns = Arc::new(env.campaigns.to_vec());
    let mut tasks = Vec::new();
    for c in 0..env.clients {
        let api = env.api.clone();
        let partner = env.partner.to_string();
        let campaigns = campaigns.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut k = c;
            while Instant::now() < deadline {
                let cid = &campaigns[k % campaigns.len()];
                k += 7;
                let t0 = Instant::now();
                api.call(
                    reqwest::Method::POST,
                    &format!("/v1/campaigns/{cid}/pledges"),
                    Some(&partner),
                    Some(&json!({"amount": PLEDGE_AMOUNT,
                        "donor": {"name": "D", "email": format!("s{c}-{k}@example.org")}})),
                    &[("Idempotency-Key", uuid::Uuid::new_v4().to_string())],
                )
                .await?;
                lat.push(t0.elapsed().as_micros() as u64);
            }
            Ok::<_, anyhow::Error>(lat)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    all.sort_unstable();
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_read_as_logged() {
        assert_eq!(
            parse_params("$1 = 'a''b', $2 = NULL, $3 = '5'"),
            vec![Some("a'b".into()), None, Some("5".into())]
        );
    }

    #[test]
    fn a_log_yields_the_databases_statements_with_their_parameters() {
        let log = "2026-12-07 06:00:00.1 UTC [7] postgres@other LOG:  statement: SELECT 1\n\
            2026-12-07 06:00:00.2 UTC [8] postgres@db LOG:  execute <unnamed>: INSERT INTO t\n\
            \tVALUES ($1)\n\
            2026-12-07 06:00:00.2 UTC [8] postgres@db DETAIL:  parameters: $1 = 'x'\n\
            2026-12-07 06:00:00.3 UTC [8] postgres@db LOG:  statement: COMMIT\n";
        let s = parse_log(log, "db");
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].sql, "INSERT INTO t VALUES ($1)");
        assert_eq!(s[0].params, vec![Some("x".to_string())]);
        assert_eq!(s[1].sql, "COMMIT");
    }

    #[test]
    fn substitution_does_not_confuse_one_and_ten() {
        let mut params = vec![Param::Literal("a".into()); 10];
        params[0] = Param::FreshUuid(0, false);
        assert_eq!(substitute("($1, $10)", &params, &[]), "(:f0u, 'a')");
    }
}
