use crate::helpers::*;
use serde_json::json;

#[actix_web::test]
async fn health_readiness_and_metrics() {
    each_backend(|app| async move {
        let res = app.get("/healthz", None).await;
        assert_eq!(res.ok()["status"], "ok");
        let res = app.get("/readyz", None).await;
        assert_eq!(res.ok()["migrations"], "applied");
        assert!(res.headers.contains_key("x-request-id"));
        app.get("/v1/areas", None).await;
        // On the public listener the counters are an admin's to read.
        let admin = app.admin().await;
        let res = app.get("/metrics", Some(&admin)).await;
        let text = res.body.as_str().unwrap().to_string();
        assert!(res.content_type.starts_with("text/plain"));
        assert!(text.contains("cofund_http_requests_total{status=\"2xx\"}"));
        assert!(text.contains("cofund_http_request_duration_seconds_count"));
    })
    .await;
}

#[actix_web::test]
async fn unknown_routes_answer_problem_json() {
    each_backend(|app| async move {
        app.get("/v1/nothing-here", None)
            .await
            .assert_problem(404, "not_found");
        app.get("/v1/campaigns/cmp_doesnotexist", None)
            .await
            .assert_problem(404, "not_found");
    })
    .await;
}

#[actix_web::test]
async fn served_openapi_matches_the_committed_file() {
    each_backend(|app| async move {
        let served = app.get("/openapi.json", None).await;
        let committed: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
                .expect("openapi/openapi.json is committed"),
        )
        .unwrap();
        assert_eq!(
            served.body, committed,
            "openapi/openapi.json is stale: run `cargo run -- openapi > openapi/openapi.json`"
        );
        assert_eq!(committed["openapi"], "3.1.0");
        assert!(committed["paths"]["/v1/campaigns/{id}/approve"]["post"].is_object());
        // The reference page and its script come from this server, nothing from another host.
        let docs = app.get("/docs/", None).await;
        assert!(docs.status.is_success(), "{}", docs.status);
        let page = docs.body.as_str().unwrap_or_default().to_string();
        assert!(page.contains("swagger-ui-bundle.js"), "{page}");
        for attr in ["src=\"http", "href=\"http", "src=\"//", "href=\"//"] {
            assert!(
                !page.contains(attr),
                "/docs loads from another host: {page}"
            );
        }
        // `/docs`, as a reader types it, reaches the same reference (a redirect to `/docs/`).
        let bare = app.get("/docs", None).await;
        if bare.status.is_redirection() {
            assert_eq!(bare.headers["location"], "/docs/");
        } else {
            assert!(bare.status.is_success(), "/docs answers {}", bare.status);
            assert!(
                bare.body
                    .as_str()
                    .unwrap_or_default()
                    .contains("swagger-ui-bundle.js")
            );
        }
        let script = app.get("/docs/swagger-ui-bundle.js", None).await;
        assert!(script.status.is_success(), "{}", script.status);
        let init = app.get("/docs/swagger-initializer.js", None).await;
        assert!(
            init.body
                .as_str()
                .unwrap_or_default()
                .contains("/openapi.json"),
            "{}",
            init.body
        );
    })
    .await;
}

#[actix_web::test]
async fn committed_openapi_file_is_byte_identical_to_the_generated_one() {
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .unwrap();
    assert!(
        committed == cofund::http::openapi_json(),
        "openapi/openapi.json is stale: run `cargo run -- openapi > openapi/openapi.json`"
    );
}

#[actix_web::test]
async fn database_outage_answers_503_not_a_panic() {
    // A database that cannot be reached: a SQLite file in a directory that does not exist, and
    // a PostgreSQL port nobody listens on.
    let mut urls = vec!["sqlite:///nonexistent-dir/cofund/x.db".to_string()];
    if std::env::var("COFUND_TEST_DATABASE_URL").is_ok() {
        urls.push("postgres://postgres@127.0.0.1:1/cofund".to_string());
    }
    for url in urls {
        let config = test_config(&url);
        let db =
            cofund::db::Db::connect_with_timeout(&url, 2, std::time::Duration::from_millis(300))
                .unwrap();
        let state = cofund::AppState::new(config, db);
        let app = actix_web::test::init_service(cofund::build_app(state)).await;
        let req = actix_web::test::TestRequest::get()
            .uri("/v1/areas")
            .to_request();
        let res = actix_web::test::call_service(&app, req).await;
        assert_eq!(res.status(), 503, "{url}");
        assert_eq!(
            res.headers().get("content-type").unwrap(),
            "application/problem+json",
            "{url}"
        );
        let body: serde_json::Value = actix_web::test::read_body_json(res).await;
        assert_eq!(body["code"], "database_unavailable");
        // No connection string or driver message leaks out.
        assert!(
            !body.to_string().contains("127.0.0.1") && !body.to_string().contains("nonexistent")
        );
        let req = actix_web::test::TestRequest::get()
            .uri("/readyz")
            .to_request();
        assert_eq!(actix_web::test::call_service(&app, req).await.status(), 503);
        let req = actix_web::test::TestRequest::get()
            .uri("/healthz")
            .to_request();
        assert_eq!(actix_web::test::call_service(&app, req).await.status(), 200);
    }
}

#[actix_web::test]
async fn a_caller_gone_while_waiting_for_a_connection_leaves_nothing_to_run() {
    use cofund::db::{Db, DbError};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;
    each_backend(|app| async move {
        // A pool of one connection, held by a first caller until it is told to let go.
        let db =
            Db::connect_with_timeout(&app.state.config.database_url, 1, Duration::from_secs(10))
                .unwrap();
        let (let_go, told) = std::sync::mpsc::channel::<()>();
        let (holding, held) = tokio::sync::oneshot::channel::<()>();
        let first = tokio::spawn({
            let db = db.clone();
            async move {
                db.read(move |_conn| -> Result<(), DbError> {
                    let _ = holding.send(());
                    let _ = told.recv();
                    Ok(())
                })
                .await
            }
        });
        held.await.unwrap();
        // A second caller (a request whose client hangs up) gives up while it waits.
        let ran = Arc::new(AtomicBool::new(false));
        let gave_up = tokio::time::timeout(
            Duration::from_millis(200),
            db.run({
                let ran = ran.clone();
                move |_conn| -> Result<(), DbError> {
                    ran.store(true, Ordering::SeqCst);
                    Ok(())
                }
            }),
        )
        .await;
        assert!(gave_up.is_err(), "the connection was still held");
        let_go.send(()).unwrap();
        first.await.unwrap().unwrap();
        // The connection goes on to the next caller, and the one that left never runs.
        db.read(|_conn| Ok::<_, DbError>(())).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            !ran.load(Ordering::SeqCst),
            "{}: work ran for a caller that had gone",
            app.backend_name
        );
    })
    .await;
}

#[actix_web::test]
async fn the_demo_city_is_valid_and_balanced() {
    each_backend(|app| async move {
        let (db, config) = (app.db.clone(), app.state.config.clone());
        tokio::task::spawn_blocking(move || cofund::demo::seed(&db, &config).unwrap())
            .await
            .unwrap();
        assert_eq!(app.count("areas").await, 5);
        // A programme in motion: gifts paid through the simulated provider's real path, each
        // with its receipt numbered.
        let live = app.get("/v1/campaigns?status=live&limit=200", None).await;
        let raised = |title: &str| {
            live.body["data"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["title"] == title)
                .map(|c| c["raised"].as_str().unwrap().to_string())
                .unwrap()
        };
        assert_eq!(raised("Cucina di comunità a San Salvario"), "395.00");
        assert_eq!(raised("Murales partecipato in Barriera"), "100.00");
        assert_eq!(raised("Ciclofficina di quartiere ad Aurora"), "250.00");
        assert_eq!(raised("Doposcuola in Barriera"), "0.00");
        assert_eq!(app.count("receipts").await, 24);
        // One campaign went the whole way, over five weeks: past its threshold, decided, its
        // match committed and paid in a batch confirmed by a second signer; its grant is open.
        let all = app
            .get("/v1/campaigns?limit=200", Some(&app.admin().await))
            .await;
        let done = all.ok()["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["title"] == "Sportello di quartiere a Mirafiori")
            .unwrap()
            .clone();
        assert_eq!(done["status"], "succeeded");
        assert_eq!(done["raised"], "10500.00");
        assert_eq!(done["match"]["status"], "settled");
        assert_eq!(app.count("grants").await, 1);
        let finance = app.staff("finance").await;
        let batches = app.get("/v1/settlements", Some(&finance)).await;
        assert_eq!(batches.ok()["data"][0]["status"], "confirmed");
        // A call for proposals run to its published ranking: two admitted, one below the mark.
        let status_of = |title: &str| {
            all.body["data"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["title"] == title)
                .map(|c| c["status"].as_str().unwrap().to_string())
                .unwrap()
        };
        assert_eq!(status_of("Portierato sociale in Barriera"), "approved");
        assert_eq!(status_of("Teatro di comunità a Mirafiori"), "approved");
        assert_eq!(status_of("Mercato contadino in Aurora"), "rejected");
        assert_eq!(app.count("rankings").await, 1);
        assert_eq!(app.count("scores").await, 6);
        // Gifts spread over the weeks before today: the charts have a history.
        let weeks_ago =
            (chrono::Utc::now() - chrono::Duration::days(30)).format("%Y-%m-%d %H:%M:%S");
        let old = app
            .count(&format!("pledges WHERE created_at < '{weeks_ago}'"))
            .await;
        assert!((1..24).contains(&old), "{old} gifts more than 30 days old");
        // The demo's associations pass the API's own validation.
        let admin = app.admin().await;
        let list = app.get("/v1/associations", Some(&admin)).await;
        for a in list.ok()["data"].as_array().unwrap() {
            assert!(cofund::domain::iban::Iban::parse(a["iban"].as_str().unwrap()).is_ok());
            assert!(
                cofund::domain::tax_code::TaxCode::parse(a["tax_code"].as_str().unwrap()).is_ok()
            );
        }
        // Every demo campaign sits inside the target area it names.
        let campaigns = app.get("/v1/campaigns", Some(&admin)).await;
        for c in campaigns.ok()["data"].as_array().unwrap() {
            let (lat, lon) = (
                c["location"]["lat"].as_f64().unwrap(),
                c["location"]["lon"].as_f64().unwrap(),
            );
            let hits = app
                .get(&format!("/v1/areas?contains={lat},{lon}"), None)
                .await;
            assert_eq!(hits.ok()["data"][0]["id"], c["area_id"]);
        }
        let funds = app.get("/v1/funds", None).await.ok()["data"].clone();
        let fund = funds[0].clone();
        assert_eq!(fund["budget"], "600000.00");
        assert_eq!(fund["max_match_per_campaign"], "50000.00");
        // The city and a foundation matching every gift one to one, half each.
        let one_to_one = funds[1].clone();
        assert_eq!(one_to_one["match_policy"], "per_donation");
        assert_eq!(one_to_one["funding_split"], "proportional");
        let names: Vec<&str> = one_to_one["funders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Città di Torino", "Fondazione CRT"]);
        for f in one_to_one["funders"].as_array().unwrap() {
            assert_eq!(f["budget"], "20000.00");
            assert!(
                cofund::domain::tax_code::TaxCode::parse(f["tax_code"].as_str().unwrap()).is_ok()
            );
        }
        // And a small quadratic round with two campaigns.
        assert_eq!(funds[2]["match_policy"], "quadratic");
        let round = app
            .get(
                &format!("/v1/funds/{}/quadratic", funds[2]["id"].as_str().unwrap()),
                None,
            )
            .await;
        assert_eq!(round.ok()["pool"], "10000.00");
        assert_eq!(round.body["campaigns"].as_array().unwrap().len(), 2);
        app.assert_reconciled().await;
        // Seeding twice is refused rather than duplicated.
        let (db, config) = (app.db.clone(), app.state.config.clone());
        assert!(
            tokio::task::spawn_blocking(move || cofund::demo::seed(&db, &config))
                .await
                .unwrap()
                .is_err()
        );
    })
    .await;
}

#[actix_web::test]
async fn each_job_runs_on_the_replica_holding_its_lease_and_moves_when_the_lease_lapses() {
    each_backend(|app| async move {
        let jobs = cofund::jobs::lease::Job::ALL.len() as i64;
        // A second replica on the same database: same configuration, its own name.
        let other = cofund::http::AppState::new((*app.state.config).clone(), app.db.clone());
        let (me, them) = (app.state.replica_id.to_string(), other.replica_id.to_string());
        assert_ne!(me, them);
        let c = city(&app, json!({})).await;
        // This replica's first pass (inside live_campaign) takes every job.
        app.live_campaign(&c, json!({})).await;
        assert_eq!(app.count(&format!("job_leases WHERE holder = '{me}'")).await, jobs);

        // A campaign due to start: the other replica's pass leaves it alone, the jobs are ours.
        let cmp = app.campaign(&c.member_a, &c.fund, json!({})).await;
        let cid = cmp["id"].as_str().unwrap().to_string();
        app.post_empty(&format!("/v1/campaigns/{cid}/submit"), Some(&c.member_a)).await.ok();
        let reviewer = app.staff("reviewer").await;
        app.post_empty(&format!("/v1/campaigns/{cid}/approve"), Some(&reviewer)).await.ok();
        let skipped = cofund::jobs::run_once(&other).await.unwrap();
        assert!(skipped.is_empty(), "{skipped:?}");
        assert_eq!(app.campaign_view(&cid).await["status"], "approved");
        let metrics = other.metrics.render(&[], (0, 0));
        assert!(metrics.contains(&format!("cofund_job_passes_skipped_total {jobs}")), "{metrics}");

        // This replica dies (stops renewing): once its leases have run out, the other takes
        // every job over and does the work.
        app.sql("UPDATE job_leases SET lease_until = '2000-01-01 00:00:00'").await;
        let report = cofund::jobs::run_once(&other).await.unwrap();
        assert_eq!(report.started, 1);
        assert_eq!(app.campaign_view(&cid).await["status"], "live");
        assert_eq!(
            app.count(&format!("job_leases WHERE holder = '{them}' AND takeovers = 1")).await,
            jobs
        );
        assert!(other.metrics.render(&[], (0, 0)).contains(&format!("cofund_job_takeovers_total {jobs}")));
        // Now ours are the skipped passes, even with work due.
        app.sql(&format!(
            "UPDATE campaigns SET starts_at = '2000-01-01 00:00:00', ends_at = '2000-02-01 00:00:00' WHERE id = '{cid}'"
        ))
        .await;
        assert!(app.tick().await.is_empty());
        assert_eq!(app.campaign_view(&cid).await["status"], "live");

        // A clean shutdown hands the jobs back at once.
        let db = app.db.clone();
        let released = db
            .run(move |conn| cofund::jobs::lease::release_all(conn, &them))
            .await
            .unwrap();
        assert_eq!(released as i64, jobs);
        let report = app.tick().await;
        assert_eq!((report.closed, report.decided), (1, 1));
        assert_eq!(app.count(&format!("job_leases WHERE holder = '{me}'")).await, jobs);
    })
    .await;
}

#[actix_web::test]
async fn with_an_admin_listener_metrics_leave_the_public_one() {
    each_backend_with(
        |c| c.admin_bind = Some("127.0.0.1:0".into()),
        |app| async move {
            app.get("/metrics", None)
                .await
                .assert_problem(401, "unauthorized");
            // The operators' listener, as `cofund serve` starts it.
            let state = app.state.clone();
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            let server =
                actix_web::HttpServer::new(move || cofund::http::build_admin_app(state.clone()))
                    .workers(1)
                    .listen(listener)
                    .unwrap()
                    .disable_signals()
                    .run();
            let handle = server.handle();
            actix_web::rt::spawn(server);
            let res = app
                .client
                .get(format!("http://127.0.0.1:{port}/metrics"))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            assert!(res.text().await.unwrap().contains("cofund_"));
            let other = app
                .client
                .get(format!("http://127.0.0.1:{port}/v1/areas"))
                .send()
                .await
                .unwrap();
            assert_eq!(other.status(), 404);
            handle.stop(false).await;
        },
    )
    .await;
}

/// The README as a newcomer reads it: every link inside the repository leads to a file that
/// exists, none leads outside it (a clone has nothing beside itself), and every address of the
/// running service it gives answers on a fresh server.
#[actix_web::test]
async fn the_readme_links_lead_somewhere() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    assert!(
        !readme.contains("../"),
        "the README points outside the repository"
    );
    let words = readme.split_whitespace().count();
    assert!(
        words <= 1200,
        "the README has {words} words (at most 1,200)"
    );
    let mut relative = Vec::new();
    let mut served = Vec::new();
    for (i, _) in readme.match_indices("](") {
        let rest = &readme[i + 2..];
        let target = &rest[..rest.find(')').expect("a closed link")];
        let target = target.split('#').next().unwrap_or_default();
        if let Some(path) = target
            .strip_prefix("http://127.0.0.1:8080")
            .or_else(|| target.strip_prefix("http://localhost:8080"))
        {
            served.push(if path.is_empty() { "/" } else { path }.to_string());
        } else {
            assert!(
                !target.contains("://") && !target.starts_with("//"),
                "the README links outside the repository: {target}"
            );
            if !target.is_empty() {
                relative.push(target.to_string());
            }
        }
    }
    // Addresses written out in the text (`http://127.0.0.1:8080/...`) count as links too.
    for (i, _) in readme.match_indices("http://127.0.0.1:8080") {
        let rest = &readme[i + "http://127.0.0.1:8080".len()..];
        let end = rest
            .find(|c: char| c.is_whitespace() || matches!(c, ')' | '>' | '`' | '"' | '\''))
            .unwrap_or(rest.len());
        let path = rest[..end].trim_end_matches(['.', ',', ';', ':']);
        served.push(if path.is_empty() { "/" } else { path }.to_string());
    }
    assert!(!relative.is_empty(), "the README links to no document");
    for target in &relative {
        assert!(
            std::path::Path::new(root).join(target).exists(),
            "the README links to {target}, which is not in the repository"
        );
    }
    served.sort();
    served.dedup();
    each_backend(|app| {
        let served = served.clone();
        async move {
            for path in &served {
                let res = app.get(path, None).await;
                assert!(
                    res.status.is_success() || res.status.is_redirection(),
                    "the README's {path} answers {}",
                    res.status
                );
            }
        }
    })
    .await;
}
