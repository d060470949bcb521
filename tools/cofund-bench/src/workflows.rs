//! The new workflows at scale (issue 43, `--workflows`): a call for proposals with many
//! applications and evaluators ranked, bank statements of 10,000 entries imported one after
//! another, and reconciliation over every entry they booked. Everything is made over HTTP by
//! the running service, as a city and its associations would: the call, the evaluators, the
//! applications (drafts with a cost plan, submitted in the window), the assignments, each
//! evaluator's declaration and scores; the statements are camt.053 files posted by the
//! association's member.
//!
//! Grants at scale (20,000 grants with 500,000 expense lines and 100,000 documents) have their
//! own mode, `--grants-only` (`grants.rs`): they need campaigns decided, which HTTP alone cannot
//! bring about in a bench's time.

use super::{ADMIN_PASSWORD, Api, MEMBER_PASSWORD, fmt_ms, percentile, rfc3339, str_field};
use anyhow::{Context, Result, bail};
use chrono::{Duration as ChronoDuration, Utc};
use serde_json::json;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Concurrent requests while setting up.
const SETUP_CONCURRENCY: usize = 16;
/// Times the ranking is read (computed) to take its median and worst.
const RANKING_READS: usize = 10;
const IBAN: &str = "IT60X0542811101000000123456";

pub struct Sizes {
    pub applications: usize,
    pub evaluators: usize,
    pub statements: usize,
    pub entries_per_statement: usize,
}

/// Runs every workflow; Markdown rows (| workflow | target | measured | met |) and failures.
pub async fn run(
    api: &Api,
    backend: &str,
    sizes: &Sizes,
    service_pid: u32,
) -> (Vec<String>, Vec<String>) {
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    match call(api, sizes).await {
        Ok(r) => rows.extend(r),
        Err(e) => failures.push(format!("{backend}: the call at scale: {e:#}")),
    }
    match statements(api, sizes, service_pid).await {
        Ok(r) => rows.extend(r),
        Err(e) => failures.push(format!("{backend}: statements at scale: {e:#}")),
    }
    (rows, failures)
}

fn row(what: String, target: &str, measured: String, met: bool) -> String {
    format!(
        "| {what} | {target} | {measured} | {} |",
        if met { "✓" } else { "✗" }
    )
}

/// `n` calls of `f(i)`, `SETUP_CONCURRENCY` at a time; the first error stops them.
async fn each<F, Fut, T>(n: usize, f: F) -> Result<Vec<T>>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<T>> + Send,
    T: Send + 'static,
{
    let f = Arc::new(f);
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..SETUP_CONCURRENCY.min(n.max(1)) {
        let f = f.clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok::<_, anyhow::Error>(out);
                }
                out.push((i, f(i).await?));
            }
        }));
    }
    let mut all = Vec::with_capacity(n);
    for t in tasks {
        all.extend(t.await??);
    }
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, v)| v).collect())
}

async fn admin_token(api: &Api) -> Result<String> {
    api.token(json!({"grant_type":"password","username":"admin","password":ADMIN_PASSWORD}))
        .await
        .context("admin token")
}

/// A valid Italian VAT number (partita IVA) from ten digits: the check digit the service's own
/// parser accepts, appended.
fn partita_iva(base: u64) -> String {
    let stem = format!("{:010}", base % 10_000_000_000);
    (0..10)
        .map(|d| format!("{stem}{d}"))
        .find(|v| cofund::domain::tax_code::TaxCode::parse(v).is_ok())
        .expect("one check digit of ten is right")
}

/// An area, an association with a member; returns (area id, association id, member token).
async fn association(
    api: &Api,
    admin: &str,
    code: &str,
    vat_base: u64,
) -> Result<(String, String, String)> {
    let area = api
        .post(
            "/v1/areas",
            Some(admin),
            &json!({"code": code, "name": code, "geometry": {"type": "Polygon",
                "coordinates": [[[9.0,44.0],[10.0,44.0],[10.0,45.0],[9.0,45.0],[9.0,44.0]]]}}),
        )
        .await?;
    let assoc = api
        .post(
            "/v1/associations",
            Some(admin),
            &json!({"name": format!("APS {code}"), "tax_code": partita_iva(vat_base),
                "iban": IBAN, "email": "w@example.org"}),
        )
        .await?;
    let assoc_id = str_field(&assoc, "id")?;
    let username = format!("member-{}", code.to_lowercase());
    api.post(
        &format!("/v1/associations/{assoc_id}/members"),
        Some(admin),
        &json!({"username": username, "password": MEMBER_PASSWORD, "email": "wm@example.org"}),
    )
    .await?;
    let member = api
        .token(json!({"grant_type":"password","username":username,"password":MEMBER_PASSWORD}))
        .await?;
    Ok((str_field(&area, "id")?, assoc_id, member))
}

async fn call(api: &Api, sizes: &Sizes) -> Result<Vec<String>> {
    let (n, e) = (sizes.applications, sizes.evaluators);
    println!("   workflows: a call with {n} applications, {e} evaluators each");
    let t = Instant::now();
    let admin = admin_token(api).await?;
    let (area, _, member) = association(api, &admin, "CALL", 2_345_678_901).await?;
    let now = Utc::now();
    let fund_id = super::open_fund(api, &admin, "Bando scale", &area).await?;
    let call = json!({
        "windows": [{"opens_at": rfc3339(now - ChronoDuration::days(1)),
                     "closes_at": rfc3339(now + ChronoDuration::days(1))}],
        "criteria": [
            {"code": "quality", "label": "Qualità", "max_points": 50},
            {"code": "impact", "label": "Impatto", "max_points": 50}
        ],
        "pass_mark": "60",
        "evaluators_per_application": e
    });
    api.call(
        reqwest::Method::PUT,
        &format!("/v1/funds/{fund_id}/call"),
        Some(&admin),
        Some(&call),
        &[],
    )
    .await
    .context("setting the call")?;
    let mut evaluators = Vec::new();
    for i in 0..e {
        let name = format!("evaluator-{i}");
        let password = format!("{name}-password-123");
        let u = api
            .post(
                "/v1/users",
                Some(&admin),
                &json!({"username": name, "password": password, "role": "reviewer",
                    "email": format!("{name}@comune.example")}),
            )
            .await?;
        let token = api
            .token(json!({"grant_type":"password","username":name,"password":password}))
            .await?;
        evaluators.push((str_field(&u, "id")?, token));
    }
    let ids: Vec<String> = {
        let api = api.clone();
        let member = member.clone();
        let fund_id = fund_id.clone();
        each(n, move |i| {
            let (api, member, fund_id) = (api.clone(), member.clone(), fund_id.clone());
            async move {
                let c = api
                    .post(
                        "/v1/campaigns",
                        Some(&member),
                        &json!({"fund_id": fund_id, "title": format!("Domanda {i}"), "summary": "s",
                            "goal": "40000.00", "location": {"lat": 44.5, "lon": 9.5},
                            "starts_at": rfc3339(Utc::now() + ChronoDuration::days(10)),
                            "ends_at": rfc3339(Utc::now() + ChronoDuration::days(40)),
                            "cost_plan": [
                                {"category": "personnel", "description": "Educatori", "amount": "30000.00"},
                                {"category": "goods", "description": "Materiali", "amount": "10000.00"}]}),
                    )
                    .await?;
                let id = str_field(&c, "id")?;
                api.post(&format!("/v1/campaigns/{id}/submit"), Some(&member), &json!({}))
                    .await?;
                Ok(id)
            }
        })
        .await?
    };
    let user_ids: Vec<String> = evaluators.iter().map(|(id, _)| id.clone()).collect();
    {
        let (api, admin, ids) = (api.clone(), admin.clone(), Arc::new(ids.clone()));
        each(n, move |i| {
            let (api, admin, ids, users) =
                (api.clone(), admin.clone(), ids.clone(), user_ids.clone());
            async move {
                api.post(
                    &format!("/v1/campaigns/{}/evaluators", ids[i]),
                    Some(&admin),
                    &json!({"user_ids": users}),
                )
                .await
                .map(drop)
            }
        })
        .await?;
    }
    {
        let (api, ids) = (api.clone(), Arc::new(ids.clone()));
        let tokens: Arc<Vec<String>> =
            Arc::new(evaluators.iter().map(|(_, t)| t.clone()).collect());
        each(n * e, move |k| {
            let (api, ids, tokens) = (api.clone(), ids.clone(), tokens.clone());
            async move {
                let (i, j) = (k / e, k % e);
                let (id, token) = (&ids[i], &tokens[j]);
                api.post(
                    &format!("/v1/campaigns/{id}/declaration"),
                    Some(token),
                    &json!({"conflict": false}),
                )
                .await?;
                // Scores spread so that the ranking has ties to break and a pass mark to apply.
                let q = ((i * 7 + j * 3) % 51) as i64;
                let m = ((i * 11 + j) % 51) as i64;
                api.call(
                    reqwest::Method::PUT,
                    &format!("/v1/campaigns/{id}/scores"),
                    Some(token),
                    Some(&json!({"scores": [
                        {"criterion": "quality", "points": q},
                        {"criterion": "impact", "points": m}]})),
                    &[],
                )
                .await
                .map(drop)
            }
        })
        .await?;
    }
    println!(
        "   workflows: call set up in {:.1} s ({} requests)",
        t.elapsed().as_secs_f64(),
        n * (2 + 1 + 2 * e)
    );
    let mut times = Vec::new();
    let mut lines = 0;
    for _ in 0..RANKING_READS {
        let t = Instant::now();
        let r = api
            .get(&format!("/v1/funds/{fund_id}/ranking"), Some(&admin))
            .await?;
        times.push(t.elapsed().as_micros() as u64);
        lines = r["data"].as_array().map(Vec::len).unwrap_or(0);
    }
    if lines != n {
        bail!("the ranking has {lines} lines for {n} applications");
    }
    times.sort_unstable();
    let worst = *times.last().unwrap_or(&0);
    println!(
        "   workflows: ranking of {n} × {e}: median {}, worst {}",
        fmt_ms(percentile(&times, 0.5)),
        fmt_ms(worst)
    );
    Ok(vec![row(
        format!(
            "ranking of a call, {n} applications × {e} evaluators (`GET /v1/funds/{{id}}/ranking`, {RANKING_READS} reads)"
        ),
        "< 2 s",
        format!(
            "median {} ms, worst {} ms",
            fmt_ms(percentile(&times, 0.5)),
            fmt_ms(worst)
        ),
        worst < 2_000_000,
    )])
}

/// A camt.053.001.08 statement of `entries` credits, each with its own bank reference and a
/// remittance text naming no pledge (so each is booked as an unmatched credit).
fn statement(no: usize, entries: usize) -> String {
    let mut s = String::with_capacity(entries * 400 + 1000);
    let _ = write!(
        s,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\"><BkToCstmrStmt>\
         <GrpHdr><MsgId>BENCH-{no}</MsgId><CreDtTm>2026-12-04T06:00:00</CreDtTm></GrpHdr>\
         <Stmt><Id>BENCH-{no}-1</Id><CreDtTm>2026-12-04T06:00:00</CreDtTm>\
         <Acct><Id><IBAN>{IBAN}</IBAN></Id><Ccy>EUR</Ccy></Acct>"
    );
    for k in 0..entries {
        let _ = write!(
            s,
            "<Ntry><Amt Ccy=\"EUR\">{}.{:02}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>\
             <BookgDt><Dt>2026-12-03</Dt></BookgDt><AcctSvcrRef>B{no}-{k}</AcctSvcrRef>\
             <NtryDtls><TxDtls><RmtInf><Ustrd>Donazione {no}-{k}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>",
            5 + k % 50,
            k % 100
        );
    }
    s.push_str("</Stmt></BkToCstmrStmt></Document>");
    s
}

async fn statements(api: &Api, sizes: &Sizes, service_pid: u32) -> Result<Vec<String>> {
    let (files, per) = (sizes.statements, sizes.entries_per_statement);
    println!("   workflows: {files} statements of {per} entries");
    let admin = admin_token(api).await?;
    let (_, assoc, member) = association(api, &admin, "BANK", 3_456_789_012).await?;
    let mut times = Vec::new();
    for no in 0..files {
        let xml = statement(no, per);
        let t = Instant::now();
        let r = api
            .http
            .post(format!(
                "{}/v1/associations/{assoc}/bank-statements",
                api.base
            ))
            .bearer_auth(&member)
            .header("content-type", "application/xml")
            .body(xml)
            .send()
            .await?;
        let status = r.status();
        let body = r.text().await?;
        times.push(t.elapsed().as_micros() as u64);
        if status.as_u16() != 201 {
            bail!(
                "statement {no} answered {status}: {}",
                super::truncate(&body, 300)
            );
        }
        if no == 0 || (no + 1) % 10 == 0 {
            println!(
                "      statement {} imported in {}",
                no + 1,
                fmt_ms(*times.last().unwrap_or(&0))
            );
        }
    }
    let worst = times.iter().copied().max().unwrap_or(0);
    let first = times.first().copied().unwrap_or(0);
    let last = times.last().copied().unwrap_or(0);
    let mut rows = vec![row(
        format!("import of a camt.053 statement of {per} entries ({files} in a row)"),
        "< 10 s",
        format!(
            "first {} ms, last {} ms, worst {} ms",
            fmt_ms(first),
            fmt_ms(last),
            fmt_ms(worst)
        ),
        worst < 10_000_000,
    )];
    // Its resident memory before, then the most it held while reconciling: its high-water mark
    // (VmHWM) is reset first (`clear_refs` 5), so the imports' peaks do not count.
    let before = super::scale::rss_mib(service_pid).map_or(0.0, |r| r.0);
    std::fs::write(format!("/proc/{service_pid}/clear_refs"), "5")
        .context("resetting the service's peak RSS")?;
    let watch = super::scale::RssWatch::start(service_pid);
    let t = Instant::now();
    let r = api.get("/v1/reconciliation", Some(&admin)).await?;
    let took = t.elapsed().as_micros() as u64;
    let peak = watch.peak_mib();
    let ok = r["ok"].as_bool() == Some(true);
    rows.push(row(
        format!(
            "`GET /v1/reconciliation` over {} bank entries (and the rest of the books)",
            files * per
        ),
        "< 20 s, < 300 MB, books ok",
        format!(
            "{} ms, service RSS {before:.0} MiB before, peak {peak:.0} MiB while reconciling, books ok: {ok}",
            fmt_ms(took)
        ),
        took < 20_000_000 && peak < 300.0 && ok,
    ));
    Ok(rows)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_vat_numbers_carry_their_check_digit() {
        // The one the rest of the bench uses, checked by the service.
        assert_eq!(super::partita_iva(1_234_567_890), "12345678903");
    }
}
