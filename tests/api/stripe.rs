//! The Stripe client and the Stripe-backed flow against a wiremock fake of Stripe's API.

use crate::helpers::*;
use cofund::providers::stripe::StripeClient;
use cofund::providers::{PaymentProvider, ProviderError};
use serde_json::json;
use std::time::Duration;
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client(server: &MockServer) -> StripeClient {
    StripeClient::new(&server.uri(), "sk_test_cofund").with_backoff(Duration::from_millis(5))
}

fn stripe(uri: &str) -> PaymentProvider {
    PaymentProvider::Stripe(
        StripeClient::new(uri, "sk_test_cofund").with_backoff(Duration::from_millis(5)),
    )
}

#[actix_web::test]
async fn creates_payment_intents_with_the_right_shape_and_idempotency_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/payment_intents"))
        .and(header("authorization", "Bearer sk_test_cofund"))
        .and(header("idempotency-key", "cofund-plg_1"))
        .and(header("stripe-version", "2024-06-20"))
        .and(body_string_contains("amount=2500"))
        .and(body_string_contains("currency=eur"))
        .and(body_string_contains("metadata%5Bpledge_id%5D=plg_1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "pi_123", "client_secret": "pi_123_secret_x", "status": "requires_payment_method"})))
        .expect(1)
        .mount(&server)
        .await;
    let created = client(&server)
        .create_payment_intent("plg_1", "cmp_1", 2500, "EUR", "cofund-plg_1")
        .await
        .unwrap();
    assert_eq!(created.id, "pi_123");
    assert_eq!(created.client_secret.as_deref(), Some("pi_123_secret_x"));
}

#[actix_web::test]
async fn retries_server_errors_with_the_same_idempotency_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .and(header("idempotency-key", "cofund-refund-plg_9"))
        .respond_with(
            ResponseTemplate::new(500).set_body_json(json!({"error": {"message": "boom"}})),
        )
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .and(header("idempotency-key", "cofund-refund-plg_9"))
        .and(body_string_contains("payment_intent=pi_9"))
        .and(body_string_contains("amount=700"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": "re_1", "status": "succeeded"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let refund = client(&server)
        .refund("pi_9", 700, "cofund-refund-plg_9")
        .await
        .unwrap();
    assert_eq!(refund.id, "re_1");
}

#[actix_web::test]
async fn does_not_retry_client_errors() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/payment_intents"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"error": {"message": "Invalid currency"}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .create_payment_intent("plg_2", "cmp_2", 100, "XXX", "k")
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ProviderError::Rejected {
            status: 400,
            message: "Invalid currency".into()
        }
    );
}

#[actix_web::test]
async fn gives_up_after_repeated_outages() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/payment_intents/pi_5"))
        .respond_with(ResponseTemplate::new(503))
        .expect(4)
        .mount(&server)
        .await;
    let err = client(&server)
        .retrieve_payment_intent("pi_5")
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Unavailable(_)));
}

#[actix_web::test]
async fn pledges_use_stripe_and_a_provider_outage_is_502_then_retried_with_the_same_key() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let server = &server;
    each_backend_full(
        |_| {},
        || Some(stripe(&uri)),
        |app| async move {
            // Stripe is down for one pledge attempt (4 tries), then answers.
            server.reset().await;
            Mock::given(method("POST"))
                .and(path("/v1/payment_intents"))
                .respond_with(ResponseTemplate::new(503))
                .up_to_n_times(4)
                .mount(server)
                .await;
            Mock::given(method("POST"))
                .and(path("/v1/payment_intents"))
                .respond_with(
                    ResponseTemplate::new(200)
                        .set_body_json(json!({"id": "pi_abc", "client_secret": "pi_abc_secret"})),
                )
                .mount(server)
                .await;
            let c = city(&app, json!({})).await;
            let cmp = app.live_campaign(&c, json!({})).await;
            let (_, partner) = app.partner("P").await;
            let send = || {
                app.send(
                    app.client
                        .post(app.url(&format!("/v1/campaigns/{cmp}/pledges")))
                        .bearer_auth(&partner)
                        .header("Idempotency-Key", "same-key")
                        .json(&json!({"amount": "25.00", "donor": {"name": "N", "email": "n@example.org"}})),
                )
            };
            send().await.assert_problem(502, "payment_provider_unavailable");
            let ok = send().await;
            assert_eq!(ok.status, 201, "{}", ok.body);
            assert_eq!(ok.body["payment"]["provider"], "stripe");
            assert_eq!(ok.body["payment"]["provider_payment_id"], "pi_abc");
            assert_eq!(app.count("pledges").await, 1);
            // All five calls (4 failed + 1) carried the pledge's one provider idempotency key.
            let keys: std::collections::HashSet<String> = server
                .received_requests()
                .await
                .unwrap()
                .iter()
                .filter_map(|r| r.headers.get("idempotency-key").map(|v| v.to_str().unwrap().to_string()))
                .collect();
            assert_eq!(server.received_requests().await.unwrap().len(), 5);
            assert_eq!(keys.len(), 1);
        },
    )
    .await;
}

#[actix_web::test]
async fn a_lost_webhook_is_recovered_by_asking_stripe() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/payment_intents"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "pi_lost", "client_secret": "s"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/payment_intents/pi_lost"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "pi_lost", "status": "succeeded", "amount_received": 4000, "currency": "eur"})))
        .mount(&server)
        .await;
    let uri = server.uri();
    each_backend_full(
        |c| c.payments.reconcile_after = Duration::ZERO,
        || Some(stripe(&uri)),
        |app| async move {
            let c = city(&app, json!({})).await;
            let cmp = app.live_campaign(&c, json!({})).await;
            let (_, partner) = app.partner("P").await;
            app.pledge(&partner, &cmp, "40.00", "l@example.org").await;
            let report = app.tick().await;
            assert_eq!(report.reconciled, 1);
            assert_eq!(app.campaign_view(&cmp).await["raised"], "40.00");
            assert_eq!(app.tick().await.reconciled, 0);
            app.assert_reconciled().await;
        },
    )
    .await;
}

#[actix_web::test]
async fn an_unpaid_pledge_is_asked_about_once_per_period_not_on_every_pass() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let server = &server;
    each_backend_full(
        |c| c.payments.reconcile_after = Duration::from_secs(600),
        || Some(stripe(&uri)),
        |app| async move {
            server.reset().await;
            Mock::given(method("POST"))
                .and(path("/v1/payment_intents"))
                .respond_with(
                    ResponseTemplate::new(200)
                        .set_body_json(json!({"id": "pi_open", "client_secret": "s"})),
                )
                .mount(server)
                .await;
            Mock::given(method("GET"))
                .and(path("/v1/payment_intents/pi_open"))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "pi_open", "status": "requires_payment_method", "amount_received": 0, "currency": "eur"})))
                .mount(server)
                .await;
            let asked = || async {
                server
                    .received_requests()
                    .await
                    .unwrap()
                    .iter()
                    .filter(|r| r.method.as_str() == "GET")
                    .count()
            };
            let c = city(&app, json!({})).await;
            let cmp = app.live_campaign(&c, json!({})).await;
            let (_, partner) = app.partner("P").await;
            let p = app.pledge(&partner, &cmp, "40.00", "slow@example.org").await;
            app.tick().await;
            assert_eq!(asked().await, 0, "not stale yet");
            // Ten minutes on, the donor still has not paid: one question, however many passes.
            app.advance_clock(chrono::Duration::seconds(601));
            for _ in 0..3 {
                assert_eq!(app.tick().await.reconciled, 0);
            }
            assert_eq!(asked().await, 1);
            app.advance_clock(chrono::Duration::seconds(601));
            app.tick().await;
            app.tick().await;
            assert_eq!(asked().await, 2);
            let id = p["id"].as_str().unwrap();
            assert_eq!(
                app.get(&format!("/v1/pledges/{id}"), Some(&partner)).await.ok()["status"],
                "pending"
            );
            app.assert_reconciled().await;
        },
    )
    .await;
}

#[actix_web::test]
async fn a_failed_campaign_refunds_every_donor_through_stripe_retrying_until_it_works() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let server = &server;
    each_backend_full(
        |c| c.closing_grace = Duration::ZERO,
        || Some(stripe(&uri)),
        |app| async move {
            server.reset().await;
            Mock::given(method("POST"))
                .and(path("/v1/payment_intents"))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "pi_fail_1", "client_secret": "s"})))
                .up_to_n_times(1)
                .mount(server)
                .await;
            Mock::given(method("POST"))
                .and(path("/v1/payment_intents"))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "pi_fail_2", "client_secret": "s"})))
                .mount(server)
                .await;
            // Stripe is down for the whole first refund attempt (4 tries) of one refund.
            Mock::given(method("POST"))
                .and(path("/v1/refunds"))
                .respond_with(ResponseTemplate::new(500))
                .up_to_n_times(4)
                .mount(server)
                .await;
            Mock::given(method("POST"))
                .and(path("/v1/refunds"))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "re_ok", "status": "succeeded"})))
                .mount(server)
                .await;
            let c = city(&app, json!({})).await;
            let cmp = app.live_campaign(&c, json!({})).await;
            let (_, partner) = app.partner("P").await;
            let p1 = app.pledge(&partner, &cmp, "30.00", "x@example.org").await;
            let p2 = app.pledge(&partner, &cmp, "20.00", "y@example.org").await;
            for (i, (p, amount)) in [(&p1, 3000), (&p2, 2000)].iter().enumerate() {
                let ev = json!({"id": format!("evt_pay_{i}"), "type": "payment_intent.succeeded",
                    "data": {"object": {"id": p["payment"]["provider_payment_id"], "amount_received": amount, "currency": "eur"}}});
                app.webhook(&ev).await.ok();
            }
            app.sql(&format!("UPDATE campaigns SET starts_at = '2000-01-01 00:00:00', ends_at = '2000-02-01 00:00:00' WHERE id = '{cmp}'")).await;
            let first = app.tick().await;
            assert_eq!(first.decided, 1);
            assert_eq!((first.refunds_done, first.refunds_failed), (1, 1));
            // The failed one waits for its backoff; two hours later it is due again.
            app.advance_clock(chrono::Duration::hours(2));
            let second = app.tick().await;
            assert_eq!((second.refunds_done, second.refunds_failed), (1, 0));
            let refund_calls: Vec<_> = server
                .received_requests()
                .await
                .unwrap()
                .into_iter()
                .filter(|r| r.url.path() == "/v1/refunds")
                .collect();
            assert_eq!(refund_calls.len(), 6);
            let keys: std::collections::HashSet<String> = refund_calls
                .iter()
                .map(|r| r.headers.get("idempotency-key").unwrap().to_str().unwrap().to_string())
                .collect();
            assert_eq!(keys.len(), 2, "one idempotency key per refund, reused on retries");
            // Stripe then reports the refunds; the campaign's raised falls to zero.
            for (i, p) in [&p1, &p2].iter().enumerate() {
                let ev = json!({"id": format!("evt_ref_{i}"), "type": "charge.refunded",
                    "data": {"object": {"payment_intent": p["payment"]["provider_payment_id"], "amount_refunded": if i == 0 { 3000 } else { 2000 }}}});
                app.webhook(&ev).await.ok();
            }
            let view = app.campaign_view(&cmp).await;
            assert_eq!((view["status"].as_str(), view["raised"].as_str()), (Some("failed"), Some("0.00")));
            app.assert_reconciled().await;
        },
    )
    .await;
}
