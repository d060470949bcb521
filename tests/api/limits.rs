//! Bounded input: every body has a limit that is enforced before it is read, nothing is
//! decompressed, and a forged webhook signature costs nothing to refuse.

use crate::helpers::*;
use serde_json::json;

/// Posts raw bytes with the given extra headers.
async fn post_bytes(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Response {
    let mut req = app
        .client
        .post(app.url(path))
        .header("content-type", "application/json")
        .body(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    app.send(req).await
}

/// A convex ring of `n` distinct vertices around the default test area.
fn polygon(n: usize) -> serde_json::Value {
    let mut coords: Vec<[f64; 2]> = (0..n)
        .map(|i| {
            let a = i as f64 / n as f64 * std::f64::consts::TAU;
            [IN_AREA.1 + 0.01 * a.cos(), IN_AREA.0 + 0.01 * a.sin()]
        })
        .collect();
    coords.push(coords[0]);
    json!({"type": "Polygon", "coordinates": [coords]})
}

#[actix_web::test]
async fn abusive_webhooks_are_refused_before_any_work_and_store_nothing() {
    each_backend(|app| async move {
        let now = chrono::Utc::now().timestamp();
        // 20,000 empty signatures: refused as malformed.
        let forged = format!("t={now}{}", ",v1=".repeat(20_000));
        let res = post_bytes(
            &app,
            "/v1/webhooks/stripe",
            None,
            &[("stripe-signature", &forged)],
            br#"{"id":"evt_x","type":"payment_intent.succeeded","data":{"object":{}}}"#.to_vec(),
        )
        .await;
        assert_eq!(res.status, 400, "{}", res.body);
        // A body over 256 KB, however well signed: 413.
        let big = format!(
            r#"{{"id":"evt_big","type":"customer.created","data":{{"object":{{"pad":"{}"}}}}}}"#,
            "x".repeat(300 * 1024)
        );
        let header = cofund::providers::signature::header(WEBHOOK_SECRET, now, big.as_bytes());
        let res = post_bytes(
            &app,
            "/v1/webhooks/stripe",
            None,
            &[("stripe-signature", &header)],
            big.into_bytes(),
        )
        .await;
        res.assert_problem(413, "payload_too_large");
        // A compressed body is never inflated: 415, even when what it carries is signed.
        let event =
            json!({"id": "evt_gz", "type": "customer.created", "data": {"object": {}}}).to_string();
        let header = cofund::providers::signature::header(WEBHOOK_SECRET, now, event.as_bytes());
        let res = post_bytes(
            &app,
            "/v1/webhooks/stripe",
            None,
            &[("stripe-signature", &header), ("content-encoding", "gzip")],
            event.into_bytes(),
        )
        .await;
        res.assert_problem(415, "unsupported_media_type");
        assert_eq!(app.count("provider_events").await, 0);
        // A genuine event still goes through.
        let ok = app
            .webhook(&json!({"id": "evt_fine", "type": "customer.created", "data": {"object": {}}}))
            .await;
        assert_eq!(ok.ok()["outcome"], "ignored");
    })
    .await;
}

#[actix_web::test]
async fn json_bodies_are_bounded_per_route_and_areas_by_their_vertices() {
    each_backend(|app| async move {
        let admin = app.admin().await;
        // An ordinary route takes 64 KB.
        let padded = format!(
            r#"{{"name":"P","webhook_url":null{}}}"#,
            " ".repeat(70 * 1024)
        );
        let res = post_bytes(&app, "/v1/partners", Some(&admin), &[], padded.into_bytes()).await;
        res.assert_problem(413, "payload_too_large");
        assert_eq!(app.count("partners").await, 0);
        // A compressed JSON body: 415.
        let res = post_bytes(
            &app,
            "/v1/partners",
            Some(&admin),
            &[("content-encoding", "gzip")],
            br#"{"name":"P"}"#.to_vec(),
        )
        .await;
        res.assert_problem(415, "unsupported_media_type");
        // The area routes take a whole city's file: a detailed area is fine, over 16 MiB is not.
        let detailed = json!({"code": "BIG", "name": "Detailed", "geometry": polygon(5_000)});
        let body = detailed.to_string();
        assert!(body.len() > 128 * 1024, "{}", body.len());
        let res = post_bytes(&app, "/v1/areas", Some(&admin), &[], body.into_bytes()).await;
        assert_eq!(res.status, 201, "{}", res.body);
        let too_many = json!({"code": "HUGE", "name": "Too detailed", "geometry": polygon(50_001)});
        let res = post_bytes(
            &app,
            "/v1/areas",
            Some(&admin),
            &[],
            too_many.to_string().into_bytes(),
        )
        .await;
        res.assert_problem(422, "validation_failed");
        assert!(res.body.to_string().contains("at most 50000 vertices"));
        let huge = format!(
            r#"{{"type":"FeatureCollection","features":[]{}}}"#,
            " ".repeat(17 * 1024 * 1024)
        );
        let res = post_bytes(
            &app,
            "/v1/areas/import",
            Some(&admin),
            &[],
            huge.into_bytes(),
        )
        .await;
        res.assert_problem(413, "payload_too_large");
        assert_eq!(app.count("areas").await, 1);
    })
    .await;
}

#[actix_web::test]
async fn partner_webhooks_to_special_purpose_addresses_or_odd_ports_are_refused() {
    each_backend(|app| async move {
        let admin = app.admin().await;
        for url in [
            "http://[64:ff9b::a9fe:a9fe]/h",
            "http://[::a9fe:a9fe]/h",
            "http://[fec0::1]/h",
            "http://240.0.0.1/h",
            "http://198.18.0.1/h",
            "http://192.0.0.8/h",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::ffff:169.254.169.254]/h",
            "http://10.1.2.3/h",
            "http://127.0.0.1/h",
            "http://2130706433/h",
            "http://0.0.0.0/h",
            "http://[::1]/h",
            "http://100.64.0.1/h",
            "https://partner.example:8443/h",
            "https://user:secret@partner.example/h",
        ] {
            let res = app
                .post(
                    "/v1/partners",
                    Some(&admin),
                    json!({"name": "P", "webhook_url": url}),
                )
                .await;
            res.assert_problem(422, "validation_failed");
            assert_eq!(res.error_fields(), ["webhook_url"], "{url}");
        }
        assert_eq!(app.count("partners").await, 0);
        let ok = app
            .post(
                "/v1/partners",
                Some(&admin),
                json!({"name": "P", "webhook_url": "https://partner.example/hooks"}),
            )
            .await;
        assert_eq!(ok.status, 201, "{}", ok.body);
    })
    .await;
}

#[actix_web::test]
async fn undeclared_methods_on_known_paths_are_405_with_the_allowed_ones() {
    each_backend(|app| async move {
        let trace = app
            .send(
                app.client
                    .request(reqwest::Method::TRACE, app.url("/v1/areas")),
            )
            .await;
        trace.assert_problem(405, "method_not_allowed");
        let allow = trace.headers["allow"].to_str().unwrap().to_string();
        assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
        let delete = app
            .send(app.client.delete(app.url("/v1/campaigns/cmp_anything")))
            .await;
        delete.assert_problem(405, "method_not_allowed");
        assert!(delete.headers["allow"].to_str().unwrap().contains("PATCH"));
        app.get("/v1/no-such-thing", None)
            .await
            .assert_problem(404, "not_found");
    })
    .await;
}
