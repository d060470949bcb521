//! Grants at scale (issue 43, `--grants-only`): a programme's grants with their reports, and how
//! fast a grant's page answers on them.
//!
//! **Seeding goes through the service's own code**, as `scale.rs` seeds pledges. Areas, the
//! fund, one association (and member) per area, the partner and the campaigns are made over
//! HTTP by the running service. Then, with the service stopped, in-process: each campaign gets
//! one confirmed gift above its threshold (`app::pledges::insert_answered` and the confirmation's
//! own code); a clock moved past the campaigns' end runs the calendar and the closing decisions
//! (`app::campaigns::run_calendar`, `decide_closing`), so every match is committed and opens its
//! grant as in production; then each grant's association member uploads its documents
//! (`app::grant_reports::add_document`: small PDFs, recognised by content as at the door) and
//! writes its expense lines (`add_expense`, each citing one of the grant's documents).
//!
//! Then, the service running again on those books, under 8 clients for `--duration-secs` each,
//! on grants picked across the whole programme: the grant (`GET /v1/grants/{id}`), its expense
//! lines and documents (`/expenses`, `/documents`), and the console's grant page
//! (`/console/grants/{id}`, signed in as finance: the grant, its tranches, the documents and
//! every expense line with its documents).

use super::scale::{
    Programme, READ_CLIENTS, campaign_goal_cents, database_size, hammer, mark, report_heading,
    scratch_database, seed_campaign, seed_structure, start_ready,
};
use super::{
    Api, Args, MEMBER_PASSWORD, create_admin, fmt_ms, psql, str_field, temp_dir, with_database,
};
use anyhow::{Context, Result, anyhow, bail};
use chrono::{TimeDelta, Utc};
use cofund::app::AppState;
use cofund::auth::Principal;
use cofund::domain::role::Role;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const FINANCE_PASSWORD: &str = "bench-finance-password";
/// The grant page's target (issue 43): p99 under 50 ms.
const PAGE_P99_MS: f64 = 50.0;

/// The grants section (Markdown) on each backend (`--grants-only` writes it to `--out`).
pub async fn section(args: &Args) -> Result<String> {
    let mut md = report_heading(
        &format!(
            "Grants at scale ({} grants, {} expense lines and {} documents each)",
            args.grants, args.grant_expenses, args.grant_documents
        ),
        &format!(
            "cofund-bench --grants-only --grants {} --grant-expenses {} --grant-documents {} --scale-areas {} --duration-secs {}",
            args.grants,
            args.grant_expenses,
            args.grant_documents,
            args.scale_areas,
            args.duration_secs
        ),
    );
    if !args.skip_postgres {
        let (guard, url) = scratch_database(args, "cofund_grants")?;
        let tmp = temp_dir()?;
        let pg = Some((args.pg_admin_url.as_str(), guard.name.as_str()));
        md.push_str(&backend(args, "PostgreSQL", &url, pg, &tmp.0).await?);
    }
    if !args.skip_sqlite {
        let tmp = temp_dir()?;
        let url = format!("sqlite://{}", tmp.0.join("grants.db").display());
        md.push_str(&backend(args, "SQLite", &url, None, &tmp.0).await?);
    }
    Ok(md)
}

/// A timed request: its label, what follows `/v1/grants/{id}` (`console`: the console's page
/// instead), and the header that signs it in.
type Phase = (&'static str, &'static str, Option<(&'static str, String)>);

/// An association's member, as the service knows them.
#[derive(Clone)]
struct Member {
    association: usize,
    principal: Principal,
}

async fn backend(
    args: &Args,
    name: &str,
    db_url: &str,
    pg: Option<(&str, &str)>,
    tmp: &Path,
) -> Result<String> {
    create_admin(&args.cofund_bin, db_url)?;
    println!("== {name}: the programme over HTTP");
    let t = Instant::now();
    let (programme, members) = {
        let (_service, api) = start_ready(args, db_url, tmp).await?;
        let programme = seed_structure(&api, args.scale_areas, args.grants).await?;
        api.post(
            "/v1/users",
            Some(&programme.admin),
            &json!({"username": "finance", "password": FINANCE_PASSWORD, "role": "finance",
                "email": "finance@example.org"}),
        )
        .await
        .context("creating the finance user")?;
        let members = members(&api, args.scale_areas).await?;
        (programme, members)
    };
    let structure_s = t.elapsed().as_secs_f64();
    println!(
        "   {} campaigns live in {structure_s:.0} s",
        programme.campaigns.len()
    );
    if let Some((admin_url, db)) = pg {
        psql(
            admin_url,
            &format!("ALTER DATABASE {db} SET synchronous_commit = off"),
        )?;
    }
    let workers = if pg.is_some() { args.scale_workers } else { 1 };
    let config = cofund::config::Config::from_lookup(|k| {
        (k == "COFUND_DATABASE_URL").then(|| db_url.to_string())
    })
    .map_err(|e| anyhow!("config: {e}"))?;
    let clock = cofund::clock::Clock::adjustable();
    let db = cofund::db::Db::connect(db_url, workers as u32 + 1)?.with_clock(clock.clone());
    let state = AppState::new(config, db);

    println!("== {name}: one gift above each campaign's threshold, in-process");
    let t = Instant::now();
    gifts(&state, &programme, workers).await?;
    let gifts_s = t.elapsed().as_secs_f64();

    println!("== {name}: the campaigns end; the engine decides them");
    let t = Instant::now();
    clock.advance(TimeDelta::days(61));
    let decided = close_all(&state).await?;
    let decide_s = t.elapsed().as_secs_f64();
    println!("   {decided} campaigns decided in {decide_s:.0} s");

    println!(
        "== {name}: {} documents and {} expense lines a grant, in-process",
        args.grant_documents, args.grant_expenses
    );
    let t = Instant::now();
    let grant_ids = reports(&state, &members, args, workers).await?;
    let reports_s = t.elapsed().as_secs_f64();
    if grant_ids.len() != args.grants {
        bail!(
            "{} grants opened for {} campaigns: every campaign was given enough to qualify",
            grant_ids.len(),
            args.grants
        );
    }
    drop(state);
    if let Some((admin_url, db)) = pg {
        psql(
            admin_url,
            &format!("ALTER DATABASE {db} RESET synchronous_commit"),
        )?;
        psql(&with_database(admin_url, db)?, "VACUUM ANALYZE")?;
    }

    let mut md = String::new();
    let _ = writeln!(md, "### {name}\n");
    let _ = writeln!(
        md,
        "Seeded over HTTP in {structure_s:.0} s ({} areas and associations, {} campaigns); in-process: a gift to each in {gifts_s:.0} s, {decided} closing decisions in {decide_s:.0} s, {} documents and {} expense lines in {reports_s:.0} s.\n",
        args.scale_areas,
        programme.campaigns.len(),
        grant_ids.len() * args.grant_documents,
        grant_ids.len() * args.grant_expenses,
    );
    md.push_str(&database_size(db_url, pg)?);

    let (_service, api) = start_ready(args, db_url, tmp).await?;
    let finance = api
        .token(json!({"grant_type":"password","username":"finance",
            "password": FINANCE_PASSWORD}))
        .await
        .context("finance token")?;
    check_sizes(&api, &finance, &grant_ids, args).await?;
    let cookie = console_session(&api, "finance", FINANCE_PASSWORD).await?;
    // Grants across the whole programme, in a fixed spread order (not id order).
    let picked: Vec<&String> = (0..grant_ids.len().min(5_000))
        .map(|i| &grant_ids[(i * 7919) % grant_ids.len()])
        .collect();
    let bearer = Some(("authorization", format!("Bearer {finance}")));
    let duration = Duration::from_secs(args.duration_secs);
    let _ = writeln!(
        md,
        "{READ_CLIENTS} clients for {} s each, on {} grants spread over the programme, signed in as finance.\n",
        args.duration_secs,
        picked.len()
    );
    let _ = writeln!(
        md,
        "| request | requests/s | p50 | p99 | errors | p99 < {PAGE_P99_MS:.0} ms |\n|---|--:|--:|--:|--:|:-:|"
    );
    let phases: [Phase; 4] = [
        ("the grant: `GET /v1/grants/{id}`", "", bearer.clone()),
        (
            "its expense lines: `GET /v1/grants/{id}/expenses`",
            "/expenses",
            bearer.clone(),
        ),
        (
            "its documents: `GET /v1/grants/{id}/documents`",
            "/documents",
            bearer,
        ),
        (
            "the console's grant page: `GET /console/grants/{id}`",
            "console",
            Some(("cookie", cookie)),
        ),
    ];
    let mut failures = Vec::new();
    for (label, suffix, header) in phases {
        let paths: Vec<String> = picked
            .iter()
            .map(|id| match suffix {
                "console" => format!("/console/grants/{id}"),
                s => format!("/v1/grants/{id}{s}"),
            })
            .collect();
        let (n, p50, p99, errors) =
            hammer(&api, Arc::new(paths), header, READ_CLIENTS, duration).await?;
        let met = errors == 0 && (p99 as f64) < PAGE_P99_MS * 1000.0;
        let _ = writeln!(
            md,
            "| {label} | {:.0} | {} | {} | {errors} | {} |",
            n as f64 / duration.as_secs_f64(),
            fmt_ms(p50),
            fmt_ms(p99),
            mark(met)
        );
        println!(
            "   {label}: p50 {} p99 {} errors {errors}",
            fmt_ms(p50),
            fmt_ms(p99)
        );
        if errors > 0 {
            failures.push(format!("{name}: {label}: {errors} failed requests"));
        }
    }
    md.push('\n');
    if !failures.is_empty() {
        bail!("{}", failures.join("; "));
    }
    Ok(md)
}

/// Each association's member (`member{n}` of `scale::seed_structure`): who they are to the
/// service, read back through `GET /v1/users/me`.
async fn members(api: &Api, associations: usize) -> Result<Vec<Member>> {
    let mut out = Vec::with_capacity(associations);
    for n in 0..associations {
        let token = api
            .token(
                json!({"grant_type":"password","username": format!("member{n}"),
                "password": MEMBER_PASSWORD}),
            )
            .await?;
        let me = api.get("/v1/users/me", Some(&token)).await?;
        out.push(Member {
            association: n,
            principal: Principal {
                sub: str_field(&me, "sub")?,
                role: Role::Association,
                association_id: Some(str_field(&me, "association_id")?),
                partner_id: None,
            },
        });
    }
    Ok(out)
}

/// One confirmed gift to each campaign, 60 % of its goal (its threshold is half), on `workers`
/// connections, each its own associations (as `scale::seed_pledges`).
async fn gifts(state: &AppState, programme: &Programme, workers: usize) -> Result<()> {
    let campaigns = Arc::new(programme.campaigns.clone());
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (db, campaigns, partner) = (
            state.db.clone(),
            campaigns.clone(),
            programme.partner_id.clone(),
        );
        tasks.push(tokio::spawn(async move {
            for (n, (id, assoc)) in campaigns.iter().enumerate() {
                if assoc % workers != w {
                    continue;
                }
                let amount = campaign_goal_cents(n) * 6 / 10;
                let (partner, id) = (partner.clone(), id.clone());
                db.run(move |conn| seed_campaign(conn, &partner, &id, [(n, amount)].into_iter()))
                    .await?;
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}

/// Runs the calendar and the closing decisions until every ended campaign is decided; how many
/// were decided.
async fn close_all(state: &AppState) -> Result<usize> {
    let mut decided = 0;
    loop {
        let (closed, n) = state
            .db
            .run(|conn| -> Result<(usize, usize), cofund::db::DbError> {
                let calendar = cofund::app::campaigns::run_calendar(conn)?;
                let (n, _) = cofund::app::campaigns::decide_closing(conn, Duration::ZERO, None)?;
                Ok((calendar.closed, n))
            })
            .await?;
        decided += n;
        if closed == 0 && n == 0 {
            return Ok(decided);
        }
    }
}

/// A small PDF, distinct for each grant and document.
fn pdf(grant: &str, k: usize) -> Vec<u8> {
    format!(
        "%PDF-1.4\n% cofund bench: receipt {k} of grant {grant}\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    )
    .into_bytes()
}

/// Every grant's documents and expense lines, written by its association's member through the
/// use cases; the ids of all grants.
async fn reports(
    state: &AppState,
    members: &[Member],
    args: &Args,
    workers: usize,
) -> Result<Vec<String>> {
    let members = Arc::new(members.to_vec());
    let (documents, expenses) = (args.grant_documents, args.grant_expenses);
    // Dates the grants' expenses were paid: before the campaigns even ended.
    let day = (Utc::now() - TimeDelta::days(3))
        .format("%Y-%m-%d")
        .to_string();
    let done = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (state, members, day, done) =
            (state.clone(), members.clone(), day.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for m in members.iter().filter(|m| m.association % workers == w) {
                let mut after = String::new();
                loop {
                    let page = cofund::app::grant_decisions::list(
                        &state,
                        m.principal.clone(),
                        cofund::app::grants::GrantFilter {
                            fund_id: None,
                            campaign_id: None,
                            association_id: None,
                            status: None,
                            after: after.clone(),
                            limit: 200,
                        },
                    )
                    .await
                    .map_err(|e| anyhow!("listing grants: {e:?}"))?;
                    let Some(last) = page.last() else { break };
                    after = last.grant.id.clone();
                    for g in page {
                        let id = g.grant.id;
                        report(&state, &m.principal, &id, documents, expenses, &day).await?;
                        ids.push(id);
                        let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                        if d % 2_000 == 0 {
                            println!(
                                "   {d} grants reported ({:.0}/s)",
                                d as f64 / started.elapsed().as_secs_f64()
                            );
                        }
                    }
                }
            }
            Ok::<_, anyhow::Error>(ids)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    all.sort();
    Ok(all)
}

async fn report(
    state: &AppState,
    member: &Principal,
    grant: &str,
    documents: usize,
    expenses: usize,
    day: &str,
) -> Result<()> {
    use cofund::app::grant_reports::{NewExpense, add_document, add_expense};
    let mut docs = Vec::with_capacity(documents);
    for k in 0..documents {
        let d = add_document(
            state,
            member.clone(),
            grant.to_string(),
            Some(format!("fattura-{k}.pdf")),
            pdf(grant, k),
        )
        .await
        .map_err(|e| anyhow!("document {k} of {grant}: {e:?}"))?;
        docs.push(d.id);
    }
    for k in 0..expenses {
        let cents = 1_000 + (k as i64 * 7_919) % 50_000;
        add_expense(
            state,
            member.clone(),
            grant.to_string(),
            NewExpense {
                category: if k % 3 == 0 { "personnel" } else { "goods" }.into(),
                supplier: format!("Fornitore {k} S.r.l."),
                supplier_tax_code: None,
                document_number: format!("FT {k}/2026"),
                document_date: day.to_string(),
                amount: cofund::domain::money::format_stored(cents, "EUR"),
                paid_at: day.to_string(),
                payment_method: "bank_transfer".into(),
                document_ids: docs
                    .get(k % documents.max(1))
                    .cloned()
                    .into_iter()
                    .collect(),
            },
        )
        .await
        .map_err(|e| anyhow!("expense {k} of {grant}: {e:?}"))?;
    }
    Ok(())
}

/// The books hold what the seeding says: a sample of grants, read back over HTTP, each with
/// its expense lines and documents.
async fn check_sizes(api: &Api, finance: &str, grants: &[String], args: &Args) -> Result<()> {
    for id in grants.iter().step_by((grants.len() / 20).max(1)) {
        let expenses = api
            .get(
                &format!("/v1/grants/{id}/expenses?limit=200"),
                Some(finance),
            )
            .await?;
        let documents = api
            .get(
                &format!("/v1/grants/{id}/documents?limit=200"),
                Some(finance),
            )
            .await?;
        let count = |v: &Value| v["data"].as_array().map_or(0, Vec::len);
        if count(&expenses) != args.grant_expenses || count(&documents) != args.grant_documents {
            bail!(
                "grant {id}: {} expense lines and {} documents read back, {} and {} written",
                count(&expenses),
                count(&documents),
                args.grant_expenses,
                args.grant_documents
            );
        }
    }
    Ok(())
}

/// Signs in to the console as `username` (the login form's CSRF token and cookie, then the
/// form); the session cookie (`name=value`).
async fn console_session(api: &Api, username: &str, password: &str) -> Result<String> {
    let cookie_of = |r: &reqwest::Response| -> Result<String> {
        let set = r
            .headers()
            .get("set-cookie")
            .ok_or_else(|| anyhow!("no session cookie"))?
            .to_str()?;
        Ok(set.split(';').next().unwrap_or_default().to_string())
    };
    // Redirects are answers here: the sign-in's `303` carries the session's cookie.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let form = http.get(format!("{}/login", api.base)).send().await?;
    let cookie = cookie_of(&form)?;
    let html = form.text().await?;
    let csrf = html
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .ok_or_else(|| anyhow!("no CSRF token on the login form"))?
        .to_string();
    let signed_in = http
        .post(format!("{}/login", api.base))
        .header("cookie", &cookie)
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await?;
    if !signed_in.status().is_redirection() {
        bail!("console sign-in answered {}", signed_in.status());
    }
    cookie_of(&signed_in)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seeded documents pass the service's own door: recognised as PDFs by their bytes,
    /// and no two alike (each is a document of its own, with its own SHA-256).
    #[test]
    fn seeded_documents_are_pdfs_the_service_accepts() {
        let a = pdf("grt_1", 0);
        let b = pdf("grt_1", 1);
        for d in [&a, &b] {
            assert_eq!(
                cofund::domain::document::recognise(d).map(|k| k.media_type()),
                Ok("application/pdf")
            );
        }
        assert_ne!(a, b);
    }
}
