//! Notifications: e-mails over a real SMTP conversation, signed partner webhooks, retries,
//! dead letters, SSRF refusal, crash safety and the outbox's transactional guarantee.

use crate::helpers::*;
use crate::smtp_sink::SmtpSink;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn pledge_as(
    app: &TestApp,
    partner: &str,
    campaign: &str,
    amount: &str,
    email: &str,
    locale: &str,
) -> Value {
    let res = app
        .send(
            app.client
                .post(app.url(&format!("/v1/campaigns/{campaign}/pledges")))
                .bearer_auth(partner)
                .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
                .json(&json!({"amount": amount, "donor": {"name": "Giulia Bianchi", "email": email, "locale": locale}})),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    res.body
}

/// A partner "Rete" whose webhooks go to `url`: what it was told when created, and its token.
async fn partner_with_webhook(app: &TestApp, url: &str) -> (Value, String) {
    let admin = app.admin().await;
    let created = app
        .post(
            "/v1/partners",
            Some(&admin),
            json!({"name": "Rete", "webhook_url": url}),
        )
        .await
        .ok()
        .clone();
    let token = app
        .post("/v1/auth/token", None, json!({"grant_type": "client_credentials", "client_id": created["client_id"], "client_secret": created["client_secret"]}))
        .await
        .ok()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    (created, token)
}

async fn pay(app: &TestApp, partner: &str, p: &Value) {
    let pi = p["payment"]["provider_payment_id"].as_str().unwrap();
    app.post(
        &format!("/v1/simulated/payments/{pi}"),
        Some(partner),
        json!({"outcome": "succeed"}),
    )
    .await
    .ok();
}

#[actix_web::test]
async fn donors_get_receipts_in_their_language_over_smtp() {
    let port = free_port();
    let sink = SmtpSink::start(port).await;
    let sink = &sink;
    each_backend_with(
        move |c| c.notify.smtp_url = Some(format!("smtp://127.0.0.1:{port}")),
        |app| async move {
            sink.messages.lock().unwrap().clear();
            let c = city(&app, json!({})).await;
            let cmp = app
                .live_campaign(&c, json!({"title": "Orti condivisi"}))
                .await;
            let (_, partner) = app.partner("P").await;
            let it = pledge_as(&app, &partner, &cmp, "25.00", "giulia@example.org", "it").await;
            let en = pledge_as(&app, &partner, &cmp, "40.00", "john@example.org", "en").await;
            pay(&app, &partner, &it).await;
            pay(&app, &partner, &en).await;
            // Nothing is sent on the request path.
            assert!(
                sink.received()
                    .iter()
                    .all(|m| !m.to.contains(&"giulia@example.org".to_string()))
            );
            let report = app.tick().await;
            assert!(report.messages_sent >= 2, "{report:?}");
            let year = chrono::Datelike::year(&chrono::Utc::now());
            let got = sink.received();
            let to_giulia = got
                .iter()
                .find(|m| m.to == vec!["giulia@example.org"])
                .expect("receipt to giulia");
            assert!(
                to_giulia.data.contains(&format!(
                    "Subject: Ricevuta della tua donazione {year}/000001"
                )),
                "{}",
                to_giulia.data
            );
            assert!(to_giulia.data.contains("25,00"), "{}", to_giulia.data);
            assert!(to_giulia.data.contains("Orti condivisi"));
            assert!(
                to_giulia.data.contains("12345678903"),
                "the association's tax code is on the receipt"
            );
            let to_john = got
                .iter()
                .find(|m| m.to == vec!["john@example.org"])
                .expect("receipt to john");
            // Numbered without gaps per association and year, in payment order.
            assert!(
                to_john
                    .data
                    .contains(&format!("Subject: Your donation receipt {year}/000002"))
            );
            // "€40.00" in quoted-printable.
            assert!(
                to_john.data.contains("Amount: =E2=82=AC40.00"),
                "{}",
                to_john.data
            );
            assert_eq!(to_john.from, "noreply@cofund.invalid");
            // Sent once: another pass sends nothing again.
            app.tick().await;
            assert_eq!(
                sink.received()
                    .iter()
                    .filter(|m| m.to == vec!["giulia@example.org"])
                    .count(),
                1
            );
        },
    )
    .await;
}

#[actix_web::test]
async fn smtp_down_means_retried_later_not_lost() {
    let mut backends = vec![Backend::Sqlite];
    if let Ok(url) = std::env::var("COFUND_TEST_DATABASE_URL") {
        backends.push(Backend::Postgres(url));
    }
    for backend in backends {
        // A port nobody listens on (yet): the SMTP server is down.
        let port = free_port();
        let app = TestApp::spawn(backend, &move |c: &mut cofund::Config| {
            c.notify.smtp_url = Some(format!("smtp://127.0.0.1:{port}"))
        })
        .await;
        let c = city(&app, json!({})).await;
        let cmp = app.live_campaign(&c, json!({})).await;
        let (_, partner) = app.partner("P").await;
        let p = pledge_as(&app, &partner, &cmp, "10.00", "down@example.org", "it").await;
        pay(&app, &partner, &p).await;
        let report = app.tick().await;
        assert_eq!(report.messages_sent, 0);
        assert!(report.messages_failed >= 1);
        assert_eq!(
            app.count("outbox WHERE status = 'pending' AND last_error IS NOT NULL")
                .await,
            app.count("outbox WHERE channel = 'email'").await
        );
        // The server comes back; once the backoff is over (at most an hour) the message goes out.
        let sink = SmtpSink::start(port).await;
        app.advance_clock(chrono::Duration::hours(2));
        app.tick().await;
        assert!(
            sink.received()
                .iter()
                .any(|m| m.to == vec!["down@example.org"])
        );
        let left = app
            .get("/v1/outbox?status=pending", Some(&app.admin().await))
            .await;
        assert_eq!(
            left.ok()["data"].as_array().unwrap().len(),
            0,
            "{}",
            left.body
        );
        drop(sink);
        app.cleanup().await;
    }
}

#[actix_web::test]
async fn partner_webhooks_are_signed_retried_and_keep_their_event_ids() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let server = &server;
    each_backend_with(
        |c| c.notify.allow_private_webhooks = true,
        |app| {
            let uri = uri.clone();
            async move {
                server.reset().await;
                // The partner is down once, then answers.
                Mock::given(method("POST"))
                    .and(path("/hooks"))
                    .respond_with(ResponseTemplate::new(500))
                    .up_to_n_times(1)
                    .mount(server)
                    .await;
                Mock::given(method("POST"))
                    .and(path("/hooks"))
                    .respond_with(ResponseTemplate::new(200))
                    .mount(server)
                    .await;
                let (created, token) = partner_with_webhook(&app, &format!("{uri}/hooks")).await;
                let secret = created["webhook_secret"].as_str().unwrap().to_string();
                let c = city(&app, json!({})).await;
                let cmp = app.live_campaign(&c, json!({})).await;
                let p = pledge_as(&app, &token, &cmp, "20000.00", "big@example.org", "it").await;
                pay(&app, &token, &p).await;
                app.tick().await;
                app.advance_clock(chrono::Duration::hours(2));
                app.tick().await;
                let received = server.received_requests().await.unwrap();
                assert!(!received.is_empty());
                let mut delivered_ids = Vec::new();
                let mut types = Vec::new();
                for r in &received {
                    let header = r.headers.get("cofund-signature").unwrap().to_str().unwrap();
                    cofund::providers::signature::verify(
                        Some(header),
                        &r.body,
                        std::slice::from_ref(&secret),
                        chrono::Utc::now().timestamp(),
                    )
                    .expect("verifiable with the partner's webhook secret");
                    let ev: Value = serde_json::from_slice(&r.body).unwrap();
                    delivered_ids.push(ev["id"].as_str().unwrap().to_string());
                    types.push(ev["type"].as_str().unwrap().to_string());
                }
                assert!(types.contains(&"pledge.updated".to_string()), "{types:?}");
                assert!(
                    types.contains(&"campaign.threshold_reached".to_string()),
                    "{types:?}"
                );
                // One retry of the first event, with the same id; no other duplicates.
                let distinct: std::collections::HashSet<&String> = delivered_ids.iter().collect();
                assert_eq!(delivered_ids.len(), distinct.len() + 1, "{delivered_ids:?}");
                assert_eq!(
                    app.count("outbox WHERE channel = 'webhook' AND status <> 'sent'")
                        .await,
                    0
                );

                // The partner sees its deliveries and can replay one.
                let list = app.get("/v1/partners/me/deliveries", Some(&token)).await;
                let first = list.ok()["data"][0]["id"].as_str().unwrap().to_string();
                let res = app
                    .post_empty(
                        &format!("/v1/partners/me/deliveries/{first}/replay"),
                        Some(&token),
                    )
                    .await;
                assert_eq!(res.status, 202);
                app.tick().await;
                let again = server.received_requests().await.unwrap();
                let last: Value = serde_json::from_slice(&again.last().unwrap().body).unwrap();
                assert_eq!(last["id"], first.as_str());
                // Another partner cannot replay it.
                let (_, other) = app.partner("Other").await;
                app.post_empty(
                    &format!("/v1/partners/me/deliveries/{first}/replay"),
                    Some(&other),
                )
                .await
                .assert_problem(404, "not_found");
                // Replays are bounded per partner: 60 a minute (one is spent above).
                for _ in 0..59 {
                    let res = app
                        .post_empty(
                            &format!("/v1/partners/me/deliveries/{first}/replay"),
                            Some(&token),
                        )
                        .await;
                    assert_eq!(res.status, 202, "{}", res.body);
                }
                app.post_empty(
                    &format!("/v1/partners/me/deliveries/{first}/replay"),
                    Some(&token),
                )
                .await
                .assert_problem(429, "rate_limited");
                // Another partner's replays are counted apart (its 404 above spent one of its own).
                app.post_empty(
                    &format!("/v1/partners/me/deliveries/{first}/replay"),
                    Some(&other),
                )
                .await
                .assert_problem(404, "not_found");
            }
        },
    )
    .await;
}

#[actix_web::test]
async fn private_destinations_are_refused_and_dead_lettered() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let uri = &uri;
    let server = &server;
    each_backend(|app| async move {
        let admin = app.admin().await;
        // Literal private addresses are refused at registration (see `limits.rs`); host names
        // that resolve to one are refused at every send.
        app.post(
            "/v1/partners",
            Some(&admin),
            json!({"name": "Sneaky", "webhook_url": format!("{uri}/hooks")}),
        )
        .await
        .assert_problem(422, "validation_failed");
        for target in [
            "http://localhost/hooks",
            "https://localhost/latest/meta-data",
        ] {
            app.post(
                "/v1/partners",
                Some(&admin),
                json!({"name": "Sneaky", "webhook_url": target}),
            )
            .await
            .ok();
        }
        let c = city(&app, json!({})).await;
        // approved, then live: campaign.updated to both partners, dispatched by the same ticks.
        app.live_campaign(&c, json!({})).await;
        app.tick().await;
        assert_eq!(
            app.count("outbox WHERE channel = 'webhook' AND status = 'dead'")
                .await,
            4
        );
        assert!(server.received_requests().await.unwrap().is_empty());
        let dead = app.get("/v1/outbox?status=dead", Some(&admin)).await;
        let rows = dead.ok()["data"].as_array().unwrap().clone();
        assert!(rows.iter().all(|r| {
            r["last_error"]
                .as_str()
                .unwrap()
                .contains("destination refused")
        }));
        app.get("/v1/outbox?status=dead", Some(&c.member_a))
            .await
            .assert_problem(403, "forbidden");
    })
    .await;
}

#[actix_web::test]
async fn a_send_interrupted_by_a_crash_is_sent_after_restart_and_rollbacks_send_nothing() {
    each_backend(|app| async move {
        let c = city(&app, json!({"allocation": "on_approval", "budget": "10000.00"})).await;
        let reviewer = app.staff("reviewer").await;
        let cmp = app.campaign(&c.member_a, &c.fund, json!({})).await;
        let id = cmp["id"].as_str().unwrap();
        app.post_empty(&format!("/v1/campaigns/{id}/submit"), Some(&c.member_a)).await.ok();
        // The approval fails (the earmark does not fit): its e-mail must not exist either.
        app.post_empty(&format!("/v1/campaigns/{id}/approve"), Some(&reviewer))
            .await
            .assert_problem(409, "budget_exhausted");
        assert_eq!(app.count("outbox").await, 0);

        let finance = app.staff("finance").await;
        app.post(&format!("/v1/funds/{}/budget", c.fund), Some(&finance), json!({"budget": "50000.00"})).await.ok();
        app.post_empty(&format!("/v1/campaigns/{id}/approve"), Some(&reviewer)).await.ok();
        assert_eq!(app.count("outbox WHERE topic = 'campaign_approved'").await, 1);
        // A replica claimed it and died mid-send: the lease is held, nothing was marked sent.
        app.sql("UPDATE outbox SET lease_until = '2999-01-01 00:00:00', attempts = 1 WHERE topic = 'campaign_approved'").await;
        assert_eq!(app.tick().await.messages_sent, 0);
        // After the lease runs out, the message is sent (at least once).
        app.sql("UPDATE outbox SET lease_until = '2000-01-01 00:00:00' WHERE topic = 'campaign_approved'").await;
        assert_eq!(app.tick().await.messages_sent, 1);
        assert_eq!(app.count("outbox WHERE topic = 'campaign_approved' AND status = 'sent'").await, 1);
        let files = std::fs::read_dir(&app.state.config.notify.mail_dir).unwrap().count();
        assert_eq!(files, 1, "one .eml file in COFUND_MAIL_DIR");
    })
    .await;
}

#[actix_web::test]
async fn erased_donors_get_no_mail_and_bursts_are_throttled_per_recipient() {
    each_backend_with(
        |c| c.notify.email_per_recipient_per_hour = 2,
        |app| async move {
            let c = city(&app, json!({})).await;
            let cmp = app.live_campaign(&c, json!({})).await;
            let (_, partner) = app.partner("P").await;
            for _ in 0..3 {
                let p = pledge_as(&app, &partner, &cmp, "5.00", "burst@example.org", "it").await;
                pay(&app, &partner, &p).await;
            }
            let report = app.tick().await;
            assert_eq!(report.messages_sent, 2, "{report:?}");
            // The third receipt waits for the hour to pass; nothing is dropped.
            assert_eq!(
                app.count("outbox WHERE recipient = 'burst@example.org' AND status = 'sent'")
                    .await,
                2
            );
            assert_eq!(
                app.count("outbox WHERE topic = 'donor_receipt' AND status = 'pending'")
                    .await,
                1
            );

            let admin = app.admin().await;
            let p = pledge_as(&app, &partner, &cmp, "7.00", "forget-me@example.org", "it").await;
            app.post(
                "/v1/donors/erase",
                Some(&admin),
                json!({"email": "forget-me@example.org"}),
            )
            .await
            .ok();
            pay(&app, &partner, &p).await;
            app.tick().await;
            // The receipt's intent was recorded, but nothing goes to an erased donor.
            assert_eq!(
                app.count("outbox WHERE recipient = 'forget-me@example.org'")
                    .await,
                0
            );
            let id = p["id"].as_str().unwrap();
            assert_eq!(
                app.count(&format!(
                    "outbox WHERE recipient = 'donor:{id}' AND last_error LIKE 'not sent: donor data erased%'"
                ))
                .await,
                1
            );
        },
    )
    .await;
}

#[actix_web::test]
async fn a_spent_global_email_budget_leaves_the_rest_queued_untouched() {
    each_backend_with(
        |c| c.notify.email_per_minute = 3,
        |app| async move {
            let c = city(&app, json!({})).await;
            let cmp = app.live_campaign(&c, json!({})).await;
            let (_, partner) = app.partner("P").await;
            for i in 0..5 {
                let p = pledge_as(&app, &partner, &cmp, "5.00", &format!("d{i}@example.org"), "it")
                    .await;
                pay(&app, &partner, &p).await;
            }
            app.tick().await;
            // Three e-mails a minute, whatever they are (the association's approval mail too).
            assert_eq!(app.count("outbox WHERE channel = 'email' AND status = 'sent'").await, 3);
            let waiting = "outbox WHERE topic = 'donor_receipt' AND status = 'pending'";
            let left = app.count(waiting).await;
            assert!(left >= 2, "{left} receipts waiting");
            assert_eq!(
                app.count("outbox WHERE topic = 'donor_receipt' AND status = 'sent'").await + left,
                5
            );
            assert_eq!(app.count(&format!("{waiting} AND attempts = 1")).await, left);
            app.sql("UPDATE outbox SET next_attempt_at = '2000-01-01 00:00:00' WHERE status = 'pending'")
                .await;
            assert_eq!(app.tick().await.messages_sent, 0);
            assert_eq!(app.tick().await.messages_sent, 0);
            assert_eq!(app.count(&format!("{waiting} AND attempts = 1")).await, left);
        },
    )
    .await;
}

#[actix_web::test]
async fn partners_webhooks_go_out_while_the_email_budget_is_spent() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let server = &server;
    each_backend_with(
        |c| {
            c.notify.allow_private_webhooks = true;
            c.notify.email_per_minute = 1;
        },
        |app| {
            let uri = uri.clone();
            async move {
                server.reset().await;
                Mock::given(method("POST"))
                    .and(path("/hooks"))
                    .respond_with(ResponseTemplate::new(200))
                    .mount(server)
                    .await;
                let (_, token) = partner_with_webhook(&app, &format!("{uri}/hooks")).await;
                let c = city(&app, json!({})).await;
                // Its approval e-mail spends the minute's one e-mail.
                let cmp = app.live_campaign(&c, json!({})).await;
                assert_eq!(app.count("outbox WHERE channel = 'email' AND status = 'sent'").await, 1);
                for i in 0..4 {
                    let p = pledge_as(&app, &token, &cmp, "5.00", &format!("d{i}@example.org"), "it")
                        .await;
                    pay(&app, &token, &p).await;
                }
                // The pass claims webhooks only, past the receipts waiting for the next minute.
                app.tick().await;
                let receipts_untouched = app
                    .count("outbox WHERE topic = 'donor_receipt' AND status = 'pending' AND attempts = 0")
                    .await;
                assert_eq!(receipts_untouched, 4);
                let webhooks = app.count("outbox WHERE channel = 'webhook'").await;
                assert!(webhooks >= 4, "{webhooks} webhooks queued");
                assert_eq!(
                    app.count("outbox WHERE channel = 'webhook' AND status = 'sent'").await,
                    webhooks
                );
                assert_eq!(
                    server.received_requests().await.unwrap().len() as i64,
                    webhooks
                );
            }
        },
    )
    .await;
}

#[actix_web::test]
async fn a_slow_partner_does_not_hold_up_the_calendar() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let server = &server;
    each_backend_with(
        |c| {
            c.notify.allow_private_webhooks = true;
            c.scheduler_interval = std::time::Duration::from_millis(200);
            c.job_lease = std::time::Duration::from_secs(30);
        },
        |app| {
            let uri = uri.clone();
            async move {
                server.reset().await;
                // The partner takes 20 s to answer each webhook.
                Mock::given(method("POST"))
                    .and(path("/slow"))
                    .respond_with(
                        ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(20)),
                    )
                    .mount(server)
                    .await;
                let admin = app.admin().await;
                app.post(
                    "/v1/partners",
                    Some(&admin),
                    json!({"name": "Slow", "webhook_url": format!("{uri}/slow")}),
                )
                .await
                .ok();
                let c = city(&app, json!({})).await;
                // Approved now, starting in two seconds: the approval's webhook to the slow
                // partner is queued first.
                let cmp = app
                    .campaign(
                        &c.member_a,
                        &c.fund,
                        json!({"starts_at": rfc3339(chrono::Duration::seconds(2))}),
                    )
                    .await["id"]
                    .as_str()
                    .unwrap()
                    .to_string();
                app.post_empty(&format!("/v1/campaigns/{cmp}/submit"), Some(&c.member_a))
                    .await
                    .ok();
                let reviewer = app.staff("reviewer").await;
                app.post_empty(&format!("/v1/campaigns/{cmp}/approve"), Some(&reviewer))
                    .await
                    .ok();
                let (stop, stopped) = tokio::sync::watch::channel(false);
                let scheduler =
                    actix_web::rt::spawn(cofund::jobs::scheduler::run(app.state.clone(), stopped));
                // The campaign goes live on its own schedule while the outbox waits for the
                // partner (whose first answer is 20 s away).
                // (Within about six seconds; the partner's requests time out after ten.)
                let mut live = false;
                for _ in 0..60 {
                    if app.campaign_view(&cmp).await["status"] == "live" {
                        live = true;
                        break;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                let partner_calls = server.received_requests().await.unwrap().len();
                let _ = stop.send(true);
                let _ = scheduler.await;
                assert!(
                    live,
                    "the campaign did not go live while the partner was slow"
                );
                assert!(
                    partner_calls >= 1,
                    "the outbox was busy with the slow partner"
                );
            }
        },
    )
    .await;
}

/// Registers `partners` partners with webhooks to `url`, then approves a campaign: one webhook
/// per partner is queued.
async fn partners_hear_of_an_approval(app: &TestApp, partners: usize, url: &str) {
    let admin = app.admin().await;
    for i in 0..partners {
        app.post(
            "/v1/partners",
            Some(&admin),
            json!({"name": format!("Partner {i}"), "webhook_url": url}),
        )
        .await
        .ok();
    }
    let c = city(app, json!({})).await;
    let cmp = app.campaign(&c.member_a, &c.fund, json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.post_empty(&format!("/v1/campaigns/{cmp}/submit"), Some(&c.member_a))
        .await
        .ok();
    let reviewer = app.staff("reviewer").await;
    app.post_empty(&format!("/v1/campaigns/{cmp}/approve"), Some(&reviewer))
        .await
        .ok();
}

#[actix_web::test]
async fn one_pass_sends_to_slow_partners_side_by_side_within_its_bound() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let server = &server;
    each_backend_with(
        |c| c.notify.allow_private_webhooks = true,
        |app| {
            let uri = uri.clone();
            async move {
                server.reset().await;
                // Every partner takes two seconds to answer.
                Mock::given(method("POST"))
                    .and(path("/slow"))
                    .respond_with(
                        ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(2)),
                    )
                    .mount(server)
                    .await;
                let partners = cofund::jobs::outbox::CONCURRENT_SENDS + 2;
                partners_hear_of_an_approval(&app, partners, &format!("{uri}/slow")).await;
                let queued = app
                    .count("outbox WHERE channel = 'webhook' AND status = 'pending'")
                    .await;
                assert!(queued >= partners as i64, "{queued} webhooks queued");
                let all = app.count("outbox WHERE status = 'pending'").await;
                let state = app.state.clone();
                let pass = actix_web::rt::spawn(async move {
                    cofund::jobs::outbox::dispatch(&state).await.unwrap()
                });
                // Before the first answer: as many requests in flight as the bound, no more.
                let mut in_flight = 0;
                for _ in 0..15 {
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    in_flight = server.received_requests().await.unwrap().len();
                    assert!(in_flight <= cofund::jobs::outbox::CONCURRENT_SENDS);
                    if in_flight == cofund::jobs::outbox::CONCURRENT_SENDS {
                        break;
                    }
                }
                assert_eq!(
                    in_flight,
                    cofund::jobs::outbox::CONCURRENT_SENDS,
                    "the pass sends one message at a time"
                );
                let report = pass.await.unwrap();
                assert_eq!(report.sent as i64, all, "{report:?}");
                // Each message went out once.
                assert_eq!(
                    server.received_requests().await.unwrap().len() as i64,
                    queued
                );
                assert_eq!(
                    app.count("outbox WHERE channel = 'webhook' AND status <> 'sent'")
                        .await,
                    0
                );
            }
        },
    )
    .await;
}

#[actix_web::test]
async fn a_pass_starts_no_send_it_could_not_finish_inside_its_lease() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let server = &server;
    each_backend_with(
        |c| c.notify.allow_private_webhooks = true,
        |app| {
            let uri = uri.clone();
            async move {
                server.reset().await;
                // The partners never answer in time.
                Mock::given(method("POST"))
                    .and(path("/stuck"))
                    .respond_with(
                        ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(30)),
                    )
                    .mount(server)
                    .await;
                let partners = cofund::jobs::outbox::CONCURRENT_SENDS + 2;
                partners_hear_of_an_approval(&app, partners, &format!("{uri}/stuck")).await;
                let queued = app
                    .count("outbox WHERE channel = 'webhook' AND status = 'pending'")
                    .await;
                // A 4 s lease, sends cut at 1 s, and a send may start only in the first 0.5 s:
                // the first eight start at once and time out; the rest would start at 1 s.
                let limits = cofund::jobs::outbox::PassLimits {
                    lease: std::time::Duration::from_secs(4),
                    send_timeout: std::time::Duration::from_secs(1),
                    margin: std::time::Duration::from_millis(3500),
                };
                let report = cofund::jobs::outbox::dispatch_within(&app.state, limits)
                    .await
                    .unwrap();
                let started = cofund::jobs::outbox::CONCURRENT_SENDS as i64;
                // (The association's e-mail goes out in its own lane.)
                assert_eq!(report.failed as i64, started, "{report:?}");
                assert_eq!(report.released as i64, queued - started, "{report:?}");
                assert_eq!(
                    server.received_requests().await.unwrap().len() as i64,
                    started
                );
                // Nothing is left claimed: the timed-out ones wait for their retry, the others
                // are back as they were (no attempt spent), ready for the next pass.
                assert_eq!(app.count("outbox WHERE lease_until IS NOT NULL").await, 0);
                assert_eq!(
                    app.count("outbox WHERE channel = 'webhook' AND status = 'pending' AND attempts = 1 AND last_error = 'timeout'")
                        .await,
                    started
                );
                assert_eq!(
                    app.count("outbox WHERE channel = 'webhook' AND status = 'pending' AND attempts = 0")
                        .await,
                    queued - started
                );
            }
        },
    )
    .await;
}
