//! Issue 37, findings 8 and 10: personal data that outlived an erasure or leaked to the public
//! (request hashes, SMTP errors, a private funder's codice fiscale), and secrets that could not
//! be rotated exactly (a partner's client secret, its webhook secret).

use crate::helpers::*;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The stored request hash of the pledge with this id.
async fn stored_request_hash(app: &TestApp, pledge_id: &str) -> String {
    let db = app.db.clone();
    let id = pledge_id.to_string();
    tokio::task::spawn_blocking(move || {
        use cofund::db::schema::pledges;
        use diesel::prelude::*;
        let mut conn = db.get().unwrap();
        let conn: &mut cofund::db::DbConnection = &mut conn;
        pledges::table
            .find(&id)
            .select(pledges::request_hash)
            .first::<String>(conn)
            .unwrap()
    })
    .await
    .unwrap()
}

async fn pledge_with_key(
    app: &TestApp,
    partner: &str,
    cmp: &str,
    key: &str,
    body: &Value,
) -> Response {
    app.send(
        app.client
            .post(app.url(&format!("/v1/campaigns/{cmp}/pledges")))
            .bearer_auth(partner)
            .header("Idempotency-Key", key)
            .json(body),
    )
    .await
}

#[actix_web::test]
async fn an_erased_donors_request_hash_cannot_confirm_a_guess() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let (_, partner) = app.partner("P").await;
        let cmp = app.live_campaign(&c, json!({})).await;
        let body = json!({"amount": "25.00", "message": "Forza!",
                          "donor": {"name": "Maria Rossi", "email": "maria.rossi@example.org",
                                    "tax_code": "RSSMRA85T10A562S"}});
        let first = pledge_with_key(&app, &partner, &cmp, "guess-me", &body).await;
        assert_eq!(first.status, 201, "{}", first.body);
        let id = first.body["id"].as_str().unwrap().to_string();
        // What the service hashes: the campaign and the body as it reads it.
        let read: cofund::http::controllers::pledges::CreatePledge =
            serde_json::from_value(body.clone()).unwrap();
        let canonical = serde_json::to_string(&(&cmp, &read)).unwrap();
        let plain = hex::encode(Sha256::digest(canonical.as_bytes()));
        let keyed = cofund::app::pledges::request_hash(JWT_SECRET.as_bytes(), canonical.as_bytes());
        let stored = stored_request_hash(&app, &id).await;
        // Not a plain hash of the body: whoever reads it cannot test a guessed donor.
        assert_ne!(stored, plain);
        assert_eq!(stored, keyed);
        // The same key with the same body is still an idempotent retry.
        let again = pledge_with_key(&app, &partner, &cmp, "guess-me", &body).await;
        assert_eq!(again.status, 201, "{}", again.body);
        assert_eq!(again.headers["idempotent-replayed"], "true");
        assert_eq!(again.body["id"], id.as_str());

        let admin = app.admin().await;
        app.post(
            "/v1/donors/erase",
            Some(&admin),
            json!({"email": "maria.rossi@example.org"}),
        )
        .await
        .ok();
        let after = stored_request_hash(&app, &id).await;
        assert_ne!(after, plain);
        assert_ne!(after, keyed);
        assert_eq!(after, cofund::app::pledges::ERASED_REQUEST_HASH);
        // A retry of her pledge's key is now the key reused with another request.
        pledge_with_key(&app, &partner, &cmp, "guess-me", &body)
            .await
            .assert_problem(409, "idempotency_key_reused");
        // Another donor's retries are untouched.
        let other =
            json!({"amount": "10.00", "donor": {"name": "Luca", "email": "luca@example.org"}});
        let o1 = pledge_with_key(&app, &partner, &cmp, "other", &other).await;
        assert_eq!(o1.status, 201, "{}", o1.body);
        let o2 = pledge_with_key(&app, &partner, &cmp, "other", &other).await;
        assert_eq!(o2.status, 201, "{}", o2.body);
        assert_eq!(o2.body["id"], o1.body["id"]);
    })
    .await;
}

/// An SMTP server on loopback that refuses every recipient, quoting the address back as real
/// servers do.
async fn refusing_smtp_server() -> u16 {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 refuser ESMTP\r\n").await;
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    let reply = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        "250-refuser\r\n250 8BITMIME\r\n".to_string()
                    } else if upper.starts_with("RCPT TO:") {
                        let to = line[8..].trim().trim_matches(['<', '>']).to_string();
                        format!(
                            "550 5.1.1 <{to}>: Recipient address rejected: user {to} unknown\r\n"
                        )
                    } else if upper == "QUIT" {
                        let _ = write.write_all(b"221 bye\r\n").await;
                        break;
                    } else {
                        "250 OK\r\n".to_string()
                    };
                    if write.write_all(reply.as_bytes()).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}

#[derive(diesel::QueryableByName)]
struct LastError {
    #[diesel(sql_type = diesel::sql_types::Text)]
    last_error: String,
}

#[actix_web::test]
async fn an_smtp_refusal_is_stored_without_the_recipients_address() {
    let port = refusing_smtp_server().await;
    each_backend_with(
        move |c| c.notify.smtp_url = Some(format!("smtp://127.0.0.1:{port}")),
        |app| async move {
            let c = city(&app, json!({})).await;
            let cmp = app.live_campaign(&c, json!({})).await;
            let (_, partner) = app.partner("P").await;
            let p = app
                .pledge(&partner, &cmp, "10.00", "Giulia.Verdi+cofund@Example.org")
                .await;
            app.post(
                &format!("/v1/simulated/payments/{}", pi(&p)),
                Some(&partner),
                json!({"outcome": "succeed"}),
            )
            .await
            .ok();
            let report = app.tick().await;
            assert!(report.messages_failed >= 1, "{report:?}");
            let db = app.db.clone();
            let errors: Vec<String> = tokio::task::spawn_blocking(move || {
                use diesel::RunQueryDsl;
                let mut conn = db.get().unwrap();
                let conn: &mut cofund::db::DbConnection = &mut conn;
                let q = "SELECT last_error FROM outbox WHERE channel = 'email' \
                         AND last_error IS NOT NULL";
                let rows: Vec<LastError> = match conn {
                    cofund::db::DbConnection::Postgresql(c) => {
                        diesel::sql_query(q).load(c).unwrap()
                    }
                    cofund::db::DbConnection::Sqlite(c) => diesel::sql_query(q).load(c).unwrap(),
                };
                rows.into_iter().map(|r| r.last_error).collect()
            })
            .await
            .unwrap();
            // The donor's receipt (and the association's notices) were refused by the server.
            assert!(!errors.is_empty());
            assert!(errors.iter().any(|e| e.contains("550")), "{errors:?}");
            for e in &errors {
                assert!(!e.contains('@'), "an address in a stored error: {e}");
                assert!(
                    !e.to_lowercase().contains("giulia.verdi"),
                    "the donor's address in a stored error: {e}"
                );
            }
            app.cleanup().await;
        },
    )
    .await;
}

#[actix_web::test]
async fn a_private_persons_codice_fiscale_is_not_public() {
    each_backend(|app| async move {
        let area = app.area("TO-AURORA", IN_AREA.0, IN_AREA.1, 0.01).await;
        let admin = app.admin().await;
        let mut body = fund_body(&[&area]);
        merge(
            &mut body,
            json!({"funders": [
                {"name": "Città di Torino", "kind": "public", "tax_code": "00514490010",
                 "budget": "10000.00"},
                {"name": "Mario Rossi", "kind": "private", "tax_code": "RSSMRA85T10A562S",
                 "iban": "IT60X0542811101000000123456", "budget": "5000.00"},
                {"name": "Fondazione CRT", "kind": "private", "tax_code": "97542550013",
                 "iban": "IT61X0306909606100000012345", "budget": "5000.00"}
            ]}),
        );
        body.as_object_mut().unwrap().remove("budget");
        let created = app.post("/v1/funds", Some(&admin), body).await;
        assert_eq!(created.status, 201, "{}", created.body);
        let fund = created.body["id"].as_str().unwrap().to_string();
        let by_name = |list: &Value| -> std::collections::HashMap<String, Value> {
            list.as_array()
                .unwrap()
                .iter()
                .map(|f| (f["name"].as_str().unwrap().to_string(), f.clone()))
                .collect()
        };

        // The public: no codice fiscale anywhere; the legal entities' codes stay.
        let public = app.get(&format!("/v1/funds/{fund}/funders"), None).await;
        let f = by_name(public.ok());
        assert_eq!(f["Mario Rossi"]["tax_code"], Value::Null);
        assert_eq!(f["Città di Torino"]["tax_code"], "00514490010");
        assert_eq!(f["Fondazione CRT"]["tax_code"], "97542550013");
        for path in [
            format!("/v1/funds/{fund}/funders"),
            format!("/v1/funds/{fund}"),
            "/v1/funds".to_string(),
        ] {
            let res = app.get(&path, None).await;
            assert!(res.status.is_success(), "{path}: {}", res.body);
            assert!(
                !res.body.to_string().contains("RSSMRA85T10A562S"),
                "{path}: {}",
                res.body
            );
        }
        // Nor to an association or a partner.
        let (_, member) = app.association("Barriera Solidale", "12345678903").await;
        let (_, partner) = app.partner("P").await;
        for token in [&member, &partner] {
            let res = app
                .get(&format!("/v1/funds/{fund}/funders"), Some(token))
                .await;
            assert_eq!(by_name(res.ok())["Mario Rossi"]["tax_code"], Value::Null);
        }
        // Finance and admin see it.
        let finance = app.staff("finance").await;
        for token in [&finance, &admin] {
            let res = app
                .get(&format!("/v1/funds/{fund}/funders"), Some(token))
                .await;
            assert_eq!(
                by_name(res.ok())["Mario Rossi"]["tax_code"],
                "RSSMRA85T10A562S"
            );
        }
    })
    .await;
}

/// A partner's registration: (id, client id, client secret).
async fn registered_partner(app: &TestApp, name: &str) -> (String, String, String) {
    let admin = app.admin().await;
    let p = app
        .post("/v1/partners", Some(&admin), json!({"name": name}))
        .await
        .ok()
        .clone();
    (
        p["id"].as_str().unwrap().to_string(),
        p["client_id"].as_str().unwrap().to_string(),
        p["client_secret"].as_str().unwrap().to_string(),
    )
}

async fn client_token(app: &TestApp, client_id: &str, secret: &str) -> Response {
    app.post(
        "/v1/auth/token",
        None,
        json!({"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}),
    )
    .await
}

#[actix_web::test]
async fn a_token_issued_against_a_rotated_secret_is_refused_whatever_its_issue_time() {
    each_backend(|app| async move {
        let (id, client_id, secret) = registered_partner(&app, "P").await;
        let token = client_token(&app, &client_id, &secret).await.ok()["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            app.get("/v1/pledges", Some(&token))
                .await
                .status
                .is_success()
        );
        // The rotation is recorded at a time before the token's `iat` (as it is when both fall
        // in the same second, or when the token's check read the old hash before the rotation
        // and finished after it): a cutoff in time cannot tell, the secret's generation can.
        app.advance_clock(chrono::Duration::seconds(-30));
        let admin = app.admin().await;
        let rotated = app
            .post_empty(&format!("/v1/partners/{id}/rotate-secret"), Some(&admin))
            .await;
        let new_secret = rotated.ok()["client_secret"].as_str().unwrap().to_string();
        app.get("/v1/pledges", Some(&token))
            .await
            .assert_problem(401, "unauthorized");
        client_token(&app, &client_id, &secret)
            .await
            .assert_problem(401, "unauthorized");
        let fresh = client_token(&app, &client_id, &new_secret).await.ok()["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            app.get("/v1/pledges", Some(&fresh))
                .await
                .status
                .is_success()
        );
    })
    .await;
}

#[actix_web::test]
async fn no_token_obtained_with_the_old_secret_during_a_rotation_outlives_it() {
    each_backend(|app| async move {
        let app = Arc::new(app);
        let (id, client_id, secret) = registered_partner(&app, "Storm").await;
        let issued = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let (app, client_id, secret, issued) = (
                app.clone(),
                client_id.clone(),
                secret.clone(),
                issued.clone(),
            );
            tasks.push(actix_web::rt::spawn(async move {
                let mut tokens = Vec::new();
                // Until the old secret stops working (bounded, should the rotation never come).
                for _ in 0..200 {
                    let res = client_token(&app, &client_id, &secret).await;
                    if !res.status.is_success() {
                        break;
                    }
                    tokens.push(res.body["access_token"].as_str().unwrap().to_string());
                    issued.fetch_add(1, Ordering::SeqCst);
                }
                tokens
            }));
        }
        // Rotate while the requests are in flight.
        while issued.load(Ordering::SeqCst) < 4 {
            tokio::task::yield_now().await;
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let admin = app.admin().await;
        let rotated = app
            .post_empty(&format!("/v1/partners/{id}/rotate-secret"), Some(&admin))
            .await;
        let new_secret = rotated.ok()["client_secret"].as_str().unwrap().to_string();
        let mut tokens = Vec::new();
        for t in tasks {
            tokens.extend(t.await.unwrap());
        }
        assert!(tokens.len() >= 4);
        for t in &tokens {
            app.get("/v1/pledges", Some(t))
                .await
                .assert_problem(401, "unauthorized");
        }
        // The failures with the old secret slowed the client down: the new secret works once
        // that back-off is over.
        app.state
            .sign_in_backoff
            .succeeded(&format!("client|{client_id}"));
        let fresh = client_token(&app, &client_id, &new_secret).await.ok()["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            app.get("/v1/pledges", Some(&fresh))
                .await
                .status
                .is_success()
        );
    })
    .await;
}

/// Approves a fresh campaign of association A: every partner with a webhook hears of it.
async fn approve_one(app: &TestApp, c: &City) {
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

fn verifies(req: &wiremock::Request, secret: &str) -> bool {
    let header = req
        .headers
        .get("cofund-signature")
        .unwrap()
        .to_str()
        .unwrap();
    cofund::providers::signature::verify(
        Some(header),
        &req.body,
        &[secret.to_string()],
        chrono::Utc::now().timestamp(),
    )
    .is_ok()
}

#[actix_web::test]
async fn a_rotated_webhook_secret_signs_beside_the_old_one_for_the_overlap_only() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let server = &server;
    each_backend_with(
        |c| c.notify.allow_private_webhooks = true,
        |app| {
            let uri = uri.clone();
            async move {
                server.reset().await;
                Mock::given(method("POST"))
                    .and(path("/hooks"))
                    .respond_with(ResponseTemplate::new(200))
                    .mount(server)
                    .await;
                let admin = app.admin().await;
                let created = app
                    .post(
                        "/v1/partners",
                        Some(&admin),
                        json!({"name": "Rete", "webhook_url": format!("{uri}/hooks")}),
                    )
                    .await
                    .ok()
                    .clone();
                let id = created["id"].as_str().unwrap().to_string();
                let old = created["webhook_secret"].as_str().unwrap().to_string();
                let c = city(&app, json!({})).await;
                approve_one(&app, &c).await;
                app.tick().await;
                let before = server.received_requests().await.unwrap();
                let last = before.last().expect("a delivery");
                assert!(verifies(last, &old));

                // Only an admin rotates; an unknown partner is a 404.
                let finance = app.staff("finance").await;
                app.post_empty(
                    &format!("/v1/partners/{id}/rotate-webhook-secret"),
                    Some(&finance),
                )
                .await
                .assert_problem(403, "forbidden");
                app.post_empty(
                    "/v1/partners/ptn_nobody/rotate-webhook-secret",
                    Some(&admin),
                )
                .await
                .assert_problem(404, "not_found");
                app.post_empty(&format!("/v1/partners/{id}/rotate-webhook-secret"), None)
                    .await
                    .assert_problem(401, "unauthorized");
                // The refusals changed nothing: no second secret, nothing audited.
                let unrotated = "partners WHERE webhook_secret_previous IS NULL";
                assert_eq!(app.count(unrotated).await, app.count("partners").await);
                assert_eq!(
                    app.count("audit_log WHERE action = 'partner.rotate_webhook_secret'")
                        .await,
                    0
                );
                let rotated = app
                    .post_empty(
                        &format!("/v1/partners/{id}/rotate-webhook-secret"),
                        Some(&admin),
                    )
                    .await;
                assert_eq!(rotated.headers["cache-control"], "no-store");
                let body = rotated.ok().clone();
                let new = body["webhook_secret"].as_str().unwrap().to_string();
                assert!(new.starts_with("whsec_") && new != old, "{body}");
                let until = chrono::DateTime::parse_from_rfc3339(
                    body["previous_valid_until"].as_str().unwrap(),
                )
                .unwrap();
                assert!(until > chrono::Utc::now() + chrono::Duration::hours(23));
                assert_eq!(
                    app.count("audit_log WHERE action = 'partner.rotate_webhook_secret'")
                        .await,
                    1
                );

                // In the overlap: two signatures, one per secret.
                approve_one(&app, &c).await;
                app.tick().await;
                let during = server.received_requests().await.unwrap();
                assert!(during.len() > before.len());
                let last = during.last().unwrap();
                let header = last
                    .headers
                    .get("cofund-signature")
                    .unwrap()
                    .to_str()
                    .unwrap();
                assert_eq!(header.matches("v1=").count(), 2, "{header}");
                assert!(verifies(last, &new));
                assert!(verifies(last, &old));

                // After it: the new secret only.
                app.advance_clock(chrono::Duration::hours(25));
                approve_one(&app, &c).await;
                app.tick().await;
                let after = server.received_requests().await.unwrap();
                assert!(after.len() > during.len());
                let last = after.last().unwrap();
                let header = last
                    .headers
                    .get("cofund-signature")
                    .unwrap()
                    .to_str()
                    .unwrap();
                assert_eq!(header.matches("v1=").count(), 1, "{header}");
                assert!(verifies(last, &new));
                assert!(!verifies(last, &old));

                // A disabled partner's secret is not rotated: 409, and nothing written.
                app.post_empty(&format!("/v1/partners/{id}/disable"), Some(&admin))
                    .await
                    .ok();
                app.post_empty(
                    &format!("/v1/partners/{id}/rotate-webhook-secret"),
                    Some(&admin),
                )
                .await
                .assert_problem(409, "partner_disabled");
                assert_eq!(
                    app.count("audit_log WHERE action = 'partner.rotate_webhook_secret'")
                        .await,
                    1
                );
            }
        },
    )
    .await;
}
