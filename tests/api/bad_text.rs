//! Text that can never be stored: a NUL character or bytes that are not UTF-8, in a path, a
//! query parameter, a JSON body, a form or a webhook, is refused with `422 invalid_text` (400
//! for a webhook) before any query, on both databases. The lists and the paths swept are read
//! from the OpenAPI document, so a new route is covered without touching this file.

use crate::helpers::*;
use serde_json::{Value, json};

/// Cursors PostgreSQL cannot store or compare, and bytes that are not UTF-8.
const BAD: [&str; 6] = ["%C2%80%C2%96%00x", "a%00b", "%00", "a%00", "%FF", "%C2"];

/// Every operation of the document as (method, path template, operation).
fn operations() -> Vec<(String, String, Value)> {
    let doc = serde_json::to_value(cofund::http::openapi()).unwrap();
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                ops.push((method.clone(), path.clone(), op.clone()));
            }
        }
    }
    ops
}

fn takes(op: &Value, name: &str, place: &str) -> bool {
    op["parameters"]
        .as_array()
        .is_some_and(|ps| ps.iter().any(|p| p["name"] == name && p["in"] == place))
}

/// `path` with every `{param}` replaced by `with`.
fn fill(path: &str, with: &str) -> String {
    path.split('/')
        .map(|s| if s.starts_with('{') { with } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

/// Tables a refused request might have written to.
const TABLES: [&str; 8] = [
    "partners",
    "users",
    "areas",
    "associations",
    "campaigns",
    "pledges",
    "provider_events",
    "audit_log",
];

async fn counts(app: &TestApp) -> Vec<i64> {
    let mut n = Vec::new();
    for t in TABLES {
        n.push(app.count(t).await);
    }
    n
}

#[track_caller]
fn assert_bad_text(res: &Response, field: &str, what: &str) {
    assert_eq!(res.status, 422, "{what}: {}", res.body);
    res.assert_problem(422, "invalid_text");
    assert_eq!(res.error_fields(), vec![field.to_string()], "{what}");
}

#[actix_web::test]
async fn every_list_cursor_refuses_nul_and_bad_utf8() {
    each_backend(|app| async move {
        let admin = app.admin().await;
        let (_, partner) = app.partner("Lists").await;
        let before = counts(&app).await;
        let lists: Vec<_> = operations()
            .into_iter()
            .filter(|(m, _, op)| m == "get" && takes(op, "cursor", "query"))
            .collect();
        assert!(lists.len() >= 12, "only {} lists found", lists.len());
        for (_, path, _) in &lists {
            let token = if path.starts_with("/v1/partners/me") {
                &partner
            } else {
                &admin
            };
            for bad in BAD {
                let url = format!("{}?limit=2&cursor={bad}", fill(path, "x1"));
                let res = app.get(&url, Some(token)).await;
                assert_bad_text(&res, "cursor", &url);
            }
        }
        // A good cursor still pages.
        let res = app
            .get("/v1/partners?cursor=%C2%80%C2%96x", Some(&admin))
            .await;
        assert_eq!(res.status, 200, "{}", res.body);
        assert_eq!(counts(&app).await, before, "a refused list wrote something");
    })
    .await;
}

#[actix_web::test]
async fn path_ids_refuse_nul_and_bad_utf8() {
    each_backend(|app| async move {
        let admin = app.admin().await;
        let before = counts(&app).await;
        let mut swept = 0;
        for (method, path, _) in operations() {
            if !path.contains('{') {
                continue;
            }
            for bad in ["cmp_%00x", "%FF", "plg_%C2", "%00"] {
                let url = app.url(&fill(&path, bad));
                let req = match method.as_str() {
                    "get" => app.client.get(&url),
                    "post" => app.client.post(&url),
                    "put" => app.client.put(&url),
                    "patch" => app.client.patch(&url),
                    _ => app.client.delete(&url),
                };
                let req = req
                    .bearer_auth(&admin)
                    .header("content-type", "application/json")
                    .body("{}");
                let res = app.send(req).await;
                assert_bad_text(&res, "path", &format!("{method} {url}"));
                swept += 1;
            }
        }
        assert!(swept >= 4 * 30, "only {swept} requests");
        assert_eq!(
            counts(&app).await,
            before,
            "a refused request wrote something"
        );
    })
    .await;
}

#[actix_web::test]
async fn json_bodies_refuse_nul_and_bad_utf8_and_store_nothing() {
    each_backend(|app| async move {
        let admin = app.admin().await;
        let before = counts(&app).await;
        let cases: Vec<(&str, String, &str)> = vec![
            ("/v1/partners", r#"{"name":"j\u0000x"}"#.into(), "name"),
            (
                "/v1/users",
                r#"{"username":"a\u0000","password":"a-long-password-1","role":"reviewer"}"#.into(),
                "username",
            ),
            (
                "/v1/areas",
                json!({"code": "Z1\u{0}", "name": "Zone", "geometry": square(45.0, 9.0, 0.01)})
                    .to_string(),
                "code",
            ),
            (
                "/v1/associations",
                r#"{"name":"Asso","tax_code":"x","iban":"y","contact":{"note":"\u0000"}}"#.into(),
                "contact.note",
            ),
            (
                "/v1/auth/token",
                r#"{"grant_type":"password","username":"admin\u0000","password":"x"}"#.into(),
                "username",
            ),
            // An escaped backslash then "u0000" is an escape again: NUL.
            ("/v1/partners", r#"{"name":"j\\\u0000x"}"#.into(), "name"),
            // A lone surrogate is no character.
            ("/v1/partners", r#"{"name":"j\ud800x"}"#.into(), "body"),
        ];
        for (path, body, field) in &cases {
            let res = app.post_raw(path, Some(&admin), body).await;
            assert_bad_text(&res, field, &format!("{path} {body}"));
        }
        // Bytes that are not UTF-8, and a raw NUL byte.
        for body in [&b"{\"name\":\"j\xffx\"}"[..], &b"{\"name\":\"j\xc2\"}"[..]] {
            let res = app
                .send(
                    app.client
                        .post(app.url("/v1/partners"))
                        .bearer_auth(&admin)
                        .header("content-type", "application/json")
                        .body(body.to_vec()),
                )
                .await;
            assert_bad_text(&res, "body", "invalid UTF-8");
        }
        let res = app
            .send(
                app.client
                    .post(app.url("/v1/partners"))
                    .bearer_auth(&admin)
                    .header("content-type", "application/json")
                    .body(b"{\"name\":\"j\0x\"}".to_vec()),
            )
            .await;
        res.assert_problem(422, "invalid_text");
        assert_eq!(counts(&app).await, before, "a refused body wrote something");
        // The text `\u0000` (an escaped backslash) is ordinary text.
        let res = app
            .post_raw("/v1/partners", Some(&admin), r#"{"name":"j\\u0000x"}"#)
            .await;
        assert_eq!(res.status, 201, "{}", res.body);
    })
    .await;
}

#[actix_web::test]
async fn pledges_refuse_nul_in_the_body() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let campaign = app.live_campaign(&c, json!({})).await;
        let (_, partner) = app.partner("Shop").await;
        let before = counts(&app).await;
        let body = json!({
            "amount": "10.00",
            "donor": {"name": "Ada\u{0}", "email": "ada@example.org"},
        });
        let res = app
            .send(
                app.client
                    .post(app.url(&format!("/v1/campaigns/{campaign}/pledges")))
                    .bearer_auth(&partner)
                    .header("Idempotency-Key", "nul-1")
                    .json(&body),
            )
            .await;
        assert_bad_text(&res, "donor.name", "pledge");
        assert_eq!(counts(&app).await, before);
    })
    .await;
}

#[actix_web::test]
async fn a_signed_webhook_with_nul_is_refused_not_a_500() {
    each_backend(|app| async move {
        let before = counts(&app).await;
        let event = json!({
            "id": "evt_nul\u{0}1",
            "type": "payment_intent.succeeded",
            "created": 1,
            "data": {"object": {"id": "pi_\u{0}", "object": "payment_intent", "amount": 100,
                "currency": "eur", "metadata": {"pledge_id": "plg_\u{0}"}}},
        });
        let res = app.webhook(&event).await;
        res.assert_problem(400, "invalid_text");
        assert_eq!(counts(&app).await, before);
    })
    .await;
}

#[actix_web::test]
async fn forms_and_page_queries_refuse_nul_and_bad_utf8() {
    each_backend(|app| async move {
        let before = counts(&app).await;
        for body in [
            "username=admin%00&password=x&csrf_token=x",
            "username=%FF&password=x&csrf_token=x",
            "username=a&password=%C2",
        ] {
            let res = app
                .send(
                    app.client
                        .post(app.url("/login"))
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(body),
                )
                .await;
            assert_eq!(res.status, 422, "{body}: {}", res.body);
            // A browser gets a page.
            let res = app
                .send(
                    app.client
                        .post(app.url("/login"))
                        .header("content-type", "application/x-www-form-urlencoded")
                        .header("accept", "text/html")
                        .body(body),
                )
                .await;
            assert_eq!(res.status, 422, "{body}");
            assert!(res.content_type.starts_with("text/html"), "{body}");
        }
        let res = app
            .send(
                app.client
                    .get(app.url("/transparency?q=%00"))
                    .header("accept", "text/html"),
            )
            .await;
        assert_eq!(res.status, 422);
        assert!(res.content_type.starts_with("text/html"));
        assert_eq!(counts(&app).await, before);
    })
    .await;
}
