use crate::helpers::*;
use serde_json::json;

#[actix_web::test]
async fn password_and_client_credentials_grants_issue_bearer_tokens() {
    each_backend(|app| async move {
        let res = app
            .post(
                "/v1/auth/token",
                None,
                json!({"grant_type": "password", "username": "admin", "password": ADMIN_PASSWORD}),
            )
            .await;
        let body = res.ok();
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 3600);
        let token = body["access_token"].as_str().unwrap();
        let me = app.get("/v1/users/me", Some(token)).await;
        assert_eq!(me.ok()["role"], "admin");

        let (partner_id, partner_token) = app.partner("Rete del Dono").await;
        let me = app.get("/v1/users/me", Some(&partner_token)).await;
        assert_eq!(me.ok()["role"], "partner");
        assert_eq!(me.body["partner_id"], partner_id.as_str());
    })
    .await;
}

#[actix_web::test]
async fn wrong_credentials_get_401_problem() {
    each_backend(|app| async move {
        for body in [
            json!({"grant_type": "password", "username": "admin", "password": "wrong-password"}),
            json!({"grant_type": "password", "username": "nobody", "password": ADMIN_PASSWORD}),
            json!({"grant_type": "client_credentials", "client_id": "ci_nope", "client_secret": "cs_nope"}),
        ] {
            let res = app.post("/v1/auth/token", None, body).await;
            res.assert_problem(401, "unauthorized");
            assert!(res.body.get("access_token").is_none());
        }
        // A partner's secret is checked, not just its id.
        let admin = app.admin().await;
        let p = app
            .post("/v1/partners", Some(&admin), json!({"name": "P"}))
            .await
            .ok()
            .clone();
        app.post(
            "/v1/auth/token",
            None,
            json!({"grant_type": "client_credentials", "client_id": p["client_id"], "client_secret": "cs_wrong"}),
        )
        .await
        .assert_problem(401, "unauthorized");
    })
    .await;
}

#[actix_web::test]
async fn malformed_token_requests_are_rejected() {
    each_backend(|app| async move {
        app.post("/v1/auth/token", None, json!({"grant_type": "implicit"}))
            .await
            .assert_problem(422, "validation_failed");
        let res = app
            .post(
                "/v1/auth/token",
                None,
                json!({"grant_type": "password", "username": "admin"}),
            )
            .await;
        res.assert_problem(422, "validation_failed");
        assert_eq!(res.error_fields(), vec!["password"]);
        let res = app
            .post(
                "/v1/auth/token",
                None,
                json!({"grant_type": "password", "username": "admin", "password": "x", "scope": "all"}),
            )
            .await;
        res.assert_problem(422, "validation_failed");
        assert_eq!(res.error_fields(), vec!["scope"]);
        app.post_raw("/v1/auth/token", None, "{\"grant_type\":")
            .await
            .assert_problem(400, "bad_request");
    })
    .await;
}

#[actix_web::test]
async fn bad_bearer_tokens_get_401_on_protected_and_public_endpoints() {
    each_backend(|app| async move {
        app.get("/v1/users/me", None)
            .await
            .assert_problem(401, "unauthorized");
        let res = app.get("/v1/users/me", Some("not-a-jwt")).await;
        res.assert_problem(401, "unauthorized");
        assert_eq!(res.headers["www-authenticate"], "Bearer");
        // A public endpoint answers anonymous callers but refuses a forged token.
        assert!(app.get("/v1/campaigns", None).await.status.is_success());
        app.get("/v1/campaigns", Some("forged.token.value"))
            .await
            .assert_problem(401, "unauthorized");
        // A token signed with another key.
        let other = cofund::auth::TokenIssuer::new(&cofund::config::JwtConfig {
            secret: b"another-secret-another-secret-another-secret".to_vec(),
            issuer: "cofund".into(),
            audience: "cofund-api".into(),
            ttl: std::time::Duration::from_secs(600),
        });
        let forged = other.issue(cofund::auth::token::Subject {
            sub: "usr_x".into(),
            role: cofund::domain::role::Role::Admin,
            association_id: None,
            partner_id: None,
        });
        app.post("/v1/areas", Some(&forged), json!({}))
            .await
            .assert_problem(401, "unauthorized");
    })
    .await;
}

#[actix_web::test]
async fn token_endpoint_is_rate_limited_per_client() {
    each_backend_with(
        |c| c.token_rate_limit_per_min = 3,
        |app| async move {
            let wrong =
                json!({"grant_type": "password", "username": "admin", "password": "guess-guess"});
            for _ in 0..3 {
                app.post("/v1/auth/token", None, wrong.clone())
                    .await
                    .assert_problem(401, "unauthorized");
            }
            let res = app.post("/v1/auth/token", None, wrong.clone()).await;
            res.assert_problem(429, "rate_limited");
            assert!(res.headers.contains_key("retry-after"));
            // Even the right password waits out the window for this username...
            app.post(
                "/v1/auth/token",
                None,
                json!({"grant_type": "password", "username": "admin", "password": ADMIN_PASSWORD}),
            )
            .await
            .assert_problem(429, "rate_limited");
            // ...while other clients are unaffected.
            app.post(
                "/v1/auth/token",
                None,
                json!({"grant_type": "password", "username": "someone-else", "password": "x-x-x-x-x-x"}),
            )
            .await
            .assert_problem(401, "unauthorized");
        },
    )
    .await;
}

#[actix_web::test]
async fn only_admins_create_users_and_weak_passwords_are_refused() {
    each_backend(|app| async move {
        let admin = app.admin().await;
        let reviewer = app.staff("reviewer").await;
        app.post(
            "/v1/users",
            Some(&reviewer),
            json!({"username": "eve", "password": "long-enough-pass", "role": "admin"}),
        )
        .await
        .assert_problem(403, "forbidden");
        let res = app
            .post(
                "/v1/users",
                Some(&admin),
                json!({"username": "bob", "password": "short", "role": "finance"}),
            )
            .await;
        res.assert_problem(422, "validation_failed");
        assert_eq!(res.error_fields(), vec!["password"]);
        app.post(
            "/v1/users",
            Some(&admin),
            json!({"username": "bob", "password": "long-enough-pass", "role": "partner"}),
        )
        .await
        .assert_problem(422, "validation_failed");
        app.post(
            "/v1/users",
            Some(&admin),
            json!({"username": "reviewer-user", "password": "long-enough-pass", "role": "finance"}),
        )
        .await
        .assert_problem(409, "username_taken");
    })
    .await;
}

#[actix_web::test]
async fn only_failed_sign_ins_count_towards_an_accounts_delay() {
    each_backend_with(
        |c| c.token_rate_limit_per_min = 3,
        |app| async move {
            let right =
                json!({"grant_type": "password", "username": "admin", "password": ADMIN_PASSWORD});
            // The owner signs in as often as they like.
            for _ in 0..8 {
                app.post("/v1/auth/token", None, right.clone()).await.ok();
            }
            // Two failures, then a success: the success clears them, so two more failures
            // still leave the owner free.
            let wrong =
                json!({"grant_type": "password", "username": "admin", "password": "guess-guess"});
            for _ in 0..2 {
                app.post("/v1/auth/token", None, wrong.clone())
                    .await
                    .assert_problem(401, "unauthorized");
            }
            app.post("/v1/auth/token", None, right.clone()).await.ok();
            for _ in 0..2 {
                app.post("/v1/auth/token", None, wrong.clone())
                    .await
                    .assert_problem(401, "unauthorized");
            }
            app.post("/v1/auth/token", None, right.clone()).await.ok();
        },
    )
    .await;
}

#[actix_web::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_address_limit() {
    each_backend_with(
        |c| {
            c.token_rate_limit_per_min = 1; // ten attempts per address and minute
            c.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
        },
        |app| async move {
            let attempt = |n: usize, forwarded: String| {
                let app = &app;
                async move {
                    app.send(
                        app.client
                            .post(app.url("/v1/auth/token"))
                            .header("x-forwarded-for", forwarded)
                            .json(&json!({"grant_type": "password",
                                          "username": format!("nobody-{n}"),
                                          "password": "wrong-wrong"})),
                    )
                    .await
                }
            };
            // What a client writes itself (the leftmost values) is not believed: the proxy's
            // own entry (the rightmost) is the client.
            for n in 0..10 {
                attempt(n, format!("10.0.0.{n}, 203.0.113.5"))
                    .await
                    .assert_problem(401, "unauthorized");
            }
            attempt(10, "10.9.9.9, 203.0.113.5".into())
                .await
                .assert_problem(429, "rate_limited");
            // Another client behind the same proxy is unaffected.
            attempt(11, "198.51.100.9".into())
                .await
                .assert_problem(401, "unauthorized");
        },
    )
    .await;
}

#[actix_web::test]
async fn disabled_users_and_partners_and_rotated_secrets_stop_working() {
    each_backend(|app| async move {
        let admin = app.admin().await;
        let finance = app.staff("finance").await;
        let me = app.get("/v1/users/me", Some(&finance)).await.ok().clone();
        let finance_id = me["sub"].as_str().unwrap().to_string();
        // Only admins disable, and not themselves.
        app.post_empty(&format!("/v1/users/{finance_id}/disable"), Some(&finance))
            .await
            .assert_problem(403, "forbidden");
        let admin_id = app.get("/v1/users/me", Some(&admin)).await.ok()["sub"]
            .as_str()
            .unwrap()
            .to_string();
        app.post_empty(&format!("/v1/users/{admin_id}/disable"), Some(&admin))
            .await
            .assert_problem(409, "cannot_disable_self");
        app.post_empty("/v1/users/usr_nobody/disable", Some(&admin))
            .await
            .assert_problem(404, "not_found");
        // Disabled: the token in hand stops working, and no new one is issued.
        app.post_empty(&format!("/v1/users/{finance_id}/disable"), Some(&admin))
            .await
            .ok();
        app.get("/v1/users/me", Some(&finance))
            .await
            .assert_problem(401, "unauthorized");
        app.post(
            "/v1/auth/token",
            None,
            json!({"grant_type": "password", "username": "finance-user", "password": "finance-password-123"}),
        )
        .await
        .assert_problem(401, "unauthorized");
        assert_eq!(app.count("audit_log WHERE action = 'user.disable'").await, 1);

        // A partner's secret rotated: the old secret and the tokens it got stop working.
        let created = app
            .post("/v1/partners", Some(&admin), json!({"name": "Rete"}))
            .await
            .ok()
            .clone();
        let id = created["id"].as_str().unwrap().to_string();
        // Only admins disable or rotate a partner; a refused request changes nothing.
        for token in [&finance_2(&app).await, &app.staff("reviewer").await] {
            app.post_empty(&format!("/v1/partners/{id}/disable"), Some(token))
                .await
                .assert_problem(403, "forbidden");
            app.post_empty(&format!("/v1/partners/{id}/rotate-secret"), Some(token))
                .await
                .assert_problem(403, "forbidden");
        }
        app.post_empty("/v1/partners/ptn_nobody/rotate-secret", Some(&admin))
            .await
            .assert_problem(404, "not_found");
        app.post_empty("/v1/partners/ptn_nobody/disable", Some(&admin))
            .await
            .assert_problem(404, "not_found");
        assert_eq!(
            app.count("audit_log WHERE action LIKE 'partner.%' AND action <> 'partner.create'")
                .await,
            0
        );
        let token_with = |secret: String| {
            let app = &app;
            let client_id = created["client_id"].clone();
            async move {
                app.post(
                    "/v1/auth/token",
                    None,
                    json!({"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}),
                )
                .await
            }
        };
        let old_secret = created["client_secret"].as_str().unwrap().to_string();
        let old_token = token_with(old_secret.clone()).await.ok()["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        // Tokens carry their issue time in whole seconds: let this one be from an earlier second.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let rotated = app
            .post_empty(&format!("/v1/partners/{id}/rotate-secret"), Some(&admin))
            .await;
        let new_secret = rotated.ok()["client_secret"].as_str().unwrap().to_string();
        assert_ne!(new_secret, old_secret);
        app.get("/v1/pledges", Some(&old_token))
            .await
            .assert_problem(401, "unauthorized");
        token_with(old_secret).await.assert_problem(401, "unauthorized");
        let new_token = token_with(new_secret.clone()).await.ok()["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        app.get("/v1/pledges", Some(&new_token)).await.ok();
        // Disabled: its current token and its secret stop working too.
        app.post_empty(&format!("/v1/partners/{id}/disable"), Some(&admin))
            .await
            .ok();
        app.get("/v1/pledges", Some(&new_token))
            .await
            .assert_problem(401, "unauthorized");
        token_with(new_secret).await.assert_problem(401, "unauthorized");
        app.post_empty(&format!("/v1/partners/{id}/rotate-secret"), Some(&admin))
            .await
            .assert_problem(409, "partner_disabled");
    })
    .await;
}

/// A second finance account (the first one is disabled in the test that uses this).
async fn finance_2(app: &TestApp) -> String {
    let admin = app.admin().await;
    app.post(
        "/v1/users",
        Some(&admin),
        json!({"username": "finance-two", "password": "finance-two-password", "role": "finance"}),
    )
    .await
    .ok();
    app.login("finance-two", "finance-two-password").await
}
