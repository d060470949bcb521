//! Money integrity: money that arrives too late goes back, expired payments are cancelled at
//! the provider, flagged payments are listed and returned, refunds end as the provider reports
//! them, and only the payer's side can make simulated money.

use crate::helpers::*;
use cofund::providers::PaymentProvider;
use cofund::providers::stripe::StripeClient;
use serde_json::{Value, json};
use std::time::Duration;
use wiremock::matchers::{header, method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn stripe(uri: &str) -> PaymentProvider {
    PaymentProvider::Stripe(
        StripeClient::new(uri, "sk_test_cofund").with_backoff(Duration::from_millis(5)),
    )
}

/// A stored timestamp `d` from now, as the SQL tests write it.
fn at(d: chrono::Duration) -> String {
    (chrono::Utc::now() + d)
        .naive_utc()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

async fn simulate(app: &TestApp, token: &str, payment: &str, outcome: &str) -> Response {
    app.post(
        &format!("/v1/simulated/payments/{payment}"),
        Some(token),
        json!({"outcome": outcome}),
    )
    .await
}

async fn fund_figures(app: &TestApp, fund: &str) -> Value {
    app.get(&format!("/v1/funds/{fund}"), None)
        .await
        .ok()
        .clone()
}

async fn pledge_as_admin(app: &TestApp, id: &str) -> Value {
    let admin = app.admin().await;
    app.get(&format!("/v1/pledges/{id}"), Some(&admin))
        .await
        .ok()
        .clone()
}

/// The reconciliation report's violations of one check.
async fn violations(app: &TestApp, check: &str) -> Vec<Value> {
    let admin = app.admin().await;
    let report = app.get("/v1/reconciliation", Some(&admin)).await;
    report.ok()["violations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["check"] == check)
        .cloned()
        .collect()
}

/// (status, amount) of every refund, oldest first.
async fn refunds(app: &TestApp) -> Vec<(String, i64)> {
    #[derive(diesel::QueryableByName)]
    struct R {
        #[diesel(sql_type = diesel::sql_types::Text)]
        status: String,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        amount: i64,
    }
    let db = app.db.clone();
    tokio::task::spawn_blocking(move || {
        use diesel::RunQueryDsl;
        let mut conn = db.get().unwrap();
        let q = "SELECT status, amount FROM refunds ORDER BY created_at, id";
        let rows: Vec<R> = match &mut *conn {
            cofund::db::DbConnection::Postgresql(c) => diesel::sql_query(q).load(c).unwrap(),
            cofund::db::DbConnection::Sqlite(c) => diesel::sql_query(q).load(c).unwrap(),
        };
        rows.into_iter().map(|r| (r.status, r.amount)).collect()
    })
    .await
    .unwrap()
}

#[actix_web::test]
async fn money_paid_after_a_cancellation_is_refunded_and_changes_no_match() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let (_, partner) = app.partner("P").await;
        let cmp = app.live_campaign(&c, json!({})).await;
        let p = app
            .pledge(&partner, &cmp, "20000.00", "late@example.org")
            .await;
        let admin = app.admin().await;
        let cancelled = app
            .post_empty(&format!("/v1/campaigns/{cmp}/cancel"), Some(&admin))
            .await;
        assert_eq!(cancelled.ok()["status"], "cancelled");
        // The donor pays anyway: the money is counted (it arrived) and queued for refund in
        // the same transaction; the campaign gets no match.
        let paid = simulate(&app, &partner, &pi(&p), "succeed").await;
        assert_eq!(paid.ok()["status"], "confirmed");
        assert_eq!(refunds(&app).await, vec![("pending".into(), 2_000_000)]);
        let view = app.campaign_view(&cmp).await;
        assert_eq!(view["match"]["status"], "none");
        assert_eq!(fund_figures(&app, &c.fund).await["reserved"], "0.00");
        app.assert_reconciled().await;
        // The refund job gives it back and the provider's report settles it.
        assert_eq!(app.tick().await.refunds_done, 1);
        assert_eq!(refunds(&app).await, vec![("succeeded".into(), 2_000_000)]);
        let id = p["id"].as_str().unwrap();
        assert_eq!(pledge_as_admin(&app, id).await["status"], "refunded");
        assert_eq!(app.campaign_view(&cmp).await["raised"], "0.00");
        // The donor is told.
        assert!(app.count("outbox WHERE topic = 'refund_notice'").await >= 1);
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn late_successes_after_a_cancellation_and_after_a_failure_are_refunded_at_stripe() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let server = &server;
    each_backend_full(
        |c| c.closing_grace = Duration::ZERO,
        || Some(stripe(&uri)),
        |app| async move {
            server.reset().await;
            fake_stripe_payments(server).await;
            Mock::given(method("POST"))
                .and(path_regex("^/v1/payment_intents/pi_fake_[0-9]+/cancel$"))
                .respond_with(
                    ResponseTemplate::new(200).set_body_json(json!({"status": "canceled"})),
                )
                .mount(server)
                .await;
            Mock::given(method("POST"))
                .and(path("/v1/refunds"))
                .respond_with(
                    ResponseTemplate::new(200)
                        .set_body_json(json!({"id": "re_late", "status": "succeeded"})),
                )
                .mount(server)
                .await;
            let c = city(&app, json!({})).await;
            let (_, partner) = app.partner("P").await;
            let admin = app.admin().await;
            // A campaign cancelled while its donor was paying.
            let cancelled = app.live_campaign(&c, json!({"title": "Cancelled"})).await;
            let p1 = app
                .pledge(&partner, &cancelled, "20000.00", "a@example.org")
                .await;
            app.post_empty(&format!("/v1/campaigns/{cancelled}/cancel"), Some(&admin))
                .await
                .ok();
            // A campaign that closed with a payment still pending and failed after the grace.
            let failed = app.live_campaign(&c, json!({"title": "Failed"})).await;
            let p2 = app
                .pledge(&partner, &failed, "30.00", "b@example.org")
                .await;
            app.sql(&format!(
                "UPDATE campaigns SET starts_at = '{}', ends_at = '{}' WHERE id = '{failed}'",
                at(chrono::Duration::days(-30)),
                at(chrono::Duration::minutes(-1))
            ))
            .await;
            app.tick().await;
            assert_eq!(app.campaign_view(&failed).await["status"], "failed");
            // Both payments succeed afterwards (signed events, as Stripe sends them).
            for (n, p, amount) in [(1, &p1, 2_000_000), (2, &p2, 3_000)] {
                let ack = app
                    .webhook(&succeeded(&format!("evt_late_{n}"), &pi(p), amount))
                    .await;
                assert_eq!(ack.ok()["outcome"], "applied");
            }
            let report = app.tick().await;
            assert_eq!(report.refunds_done, 2);
            let refund_calls: Vec<String> = server
                .received_requests()
                .await
                .unwrap()
                .iter()
                .filter(|r| r.url.path() == "/v1/refunds")
                .map(|r| {
                    r.headers
                        .get("idempotency-key")
                        .unwrap()
                        .to_str()
                        .unwrap()
                        .to_string()
                })
                .collect();
            let mut expected = vec![
                format!("cofund-refund-{}", p1["id"].as_str().unwrap()),
                format!("cofund-refund-{}", p2["id"].as_str().unwrap()),
            ];
            expected.sort();
            let mut got = refund_calls.clone();
            got.sort();
            assert_eq!(
                got, expected,
                "one refund per late payment, with its idempotency key"
            );
            assert!(
                refunds(&app)
                    .await
                    .iter()
                    .all(|(status, _)| status == "succeeded")
            );
            // Stripe's charge.refunded reports arrive: nothing counts any more.
            for (n, p, amount) in [(1, &p1, 2_000_000), (2, &p2, 3_000)] {
                app.webhook(&refunded(&format!("evt_back_{n}"), &pi(p), amount))
                    .await
                    .ok();
            }
            assert_eq!(app.campaign_view(&cancelled).await["raised"], "0.00");
            assert_eq!(app.campaign_view(&failed).await["raised"], "0.00");
            app.assert_reconciled().await;
        },
    )
    .await;
}

#[actix_web::test]
async fn money_paid_late_to_a_succeeded_campaign_counts_and_changes_no_match() {
    each_backend_with(
        |c| c.closing_grace = Duration::ZERO,
        |app| async move {
            let c = city(&app, json!({})).await;
            let (_, partner) = app.partner("P").await;
            let cmp = app.live_campaign(&c, json!({})).await;
            let first = app
                .pledge(&partner, &cmp, "20000.00", "a@example.org")
                .await;
            simulate(&app, &partner, &pi(&first), "succeed").await.ok();
            let late = app.pledge(&partner, &cmp, "50.00", "b@example.org").await;
            app.sql(&format!(
                "UPDATE campaigns SET starts_at = '{}', ends_at = '{}'",
                at(chrono::Duration::days(-30)),
                at(chrono::Duration::minutes(-1))
            ))
            .await;
            app.tick().await;
            let decided = app.campaign_view(&cmp).await;
            assert_eq!(decided["status"], "succeeded");
            assert_eq!(decided["match"]["amount"], "20000.00");
            simulate(&app, &partner, &pi(&late), "succeed").await.ok();
            let after = app.campaign_view(&cmp).await;
            assert_eq!(after["raised"], "20050.00");
            assert_eq!(after["match"], decided["match"]);
            assert_eq!(app.count("refunds").await, 0);
            app.assert_reconciled().await;
        },
    )
    .await;
}

#[actix_web::test]
async fn an_expired_pledge_has_its_payment_cancelled_and_cannot_be_paid_any_more() {
    each_backend_with(
        |c| c.payments.pledge_ttl = Duration::ZERO,
        |app| async move {
            let c = city(&app, json!({})).await;
            let (_, partner) = app.partner("P").await;
            let cmp = app.live_campaign(&c, json!({})).await;
            let p = app.pledge(&partner, &cmp, "25.00", "x@example.org").await;
            assert_eq!(app.tick().await.expired, 1);
            let id = p["id"].as_str().unwrap();
            // Expired, then the provider's cancellation reported: the pledge ends failed.
            let read = pledge_as_admin(&app, id).await;
            assert!(
                matches!(read["status"].as_str(), Some("expired" | "failed")),
                "{read}"
            );
            let paid = simulate(&app, &partner, &pi(&p), "succeed").await;
            paid.assert_problem(409, "payment_state");
            assert_eq!(app.campaign_view(&cmp).await["raised"], "0.00");
            app.assert_reconciled().await;
        },
    )
    .await;
}

#[actix_web::test]
async fn expiry_cancels_at_stripe_and_a_payment_that_beat_it_is_counted() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let server = &server;
    each_backend_full(
        |c| c.payments.pledge_ttl = Duration::ZERO,
        || Some(stripe(&uri)),
        |app| async move {
            server.reset().await;
            fake_stripe_payments(server).await;
            // pi_fake_0 is cancelled; pi_fake_1 was paid just before its expiry.
            Mock::given(method("POST"))
                .and(path("/v1/payment_intents/pi_fake_0/cancel"))
                .and(header("idempotency-key", "cofund-cancel-pi_fake_0"))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "pi_fake_0", "status": "canceled"})))
                .expect(1)
                .mount(server)
                .await;
            Mock::given(method("POST"))
                .and(path("/v1/payment_intents/pi_fake_1/cancel"))
                .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {"message": "You cannot cancel this PaymentIntent because it has a status of succeeded."}})))
                .mount(server)
                .await;
            Mock::given(method("GET"))
                .and(path("/v1/payment_intents/pi_fake_1"))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "pi_fake_1", "status": "succeeded", "amount_received": 4000, "currency": "eur"})))
                .mount(server)
                .await;
            let c = city(&app, json!({})).await;
            let (_, partner) = app.partner("P").await;
            let cmp = app.live_campaign(&c, json!({})).await;
            let abandoned = app.pledge(&partner, &cmp, "25.00", "x@example.org").await;
            let paid = app.pledge(&partner, &cmp, "40.00", "y@example.org").await;
            assert_eq!(pi(&abandoned), "pi_fake_0");
            app.tick().await;
            let a = pledge_as_admin(&app, abandoned["id"].as_str().unwrap()).await;
            assert_eq!(a["status"], "expired");
            let b = pledge_as_admin(&app, paid["id"].as_str().unwrap()).await;
            assert_eq!(b["status"], "confirmed");
            assert_eq!(app.campaign_view(&cmp).await["raised"], "40.00");
            app.assert_reconciled().await;
        },
    )
    .await;
}

#[actix_web::test]
async fn a_flagged_payment_is_listed_and_finance_returns_it_once() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let server = &server;
    each_backend_full(
        |c| c.payments.pledge_ttl = Duration::from_secs(3600),
        || Some(stripe(&uri)),
        |app| async move {
            server.reset().await;
            fake_stripe_payments(server).await;
            Mock::given(method("POST"))
                .and(path("/v1/refunds"))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "re_flag", "status": "succeeded"})))
                .mount(server)
                .await;
            let c = city(&app, json!({})).await;
            let (_, partner) = app.partner("P").await;
            let cmp = app.live_campaign(&c, json!({})).await;
            let p = app.pledge(&partner, &cmp, "25.00", "x@example.org").await;
            let ok = app.pledge(&partner, &cmp, "10.00", "y@example.org").await;
            let id = p["id"].as_str().unwrap().to_string();
            // Stripe reports 30.00 for a 25.00 pledge: flagged, not counted.
            let ack = app.webhook(&succeeded("evt_flag", &pi(&p), 3_000)).await;
            assert_eq!(ack.ok()["outcome"], "flagged");
            let read = pledge_as_admin(&app, &id).await;
            assert_eq!(read["status"], "pending");
            assert_eq!(read["flagged_amount"], "30.00");
            assert_eq!(app.campaign_view(&cmp).await["raised"], "0.00");
            // It expires (a day later), and still reconciliation shows the captured money.
            app.advance_clock(chrono::Duration::days(1));
            Mock::given(method("POST"))
                .and(path_regex("^/v1/payment_intents/pi_fake_[0-9]+/cancel$"))
                .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {"message": "succeeded"}})))
                .mount(server)
                .await;
            Mock::given(method("GET"))
                .and(path(format!("/v1/payment_intents/{}", pi(&p))))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "succeeded", "amount_received": 3000, "currency": "eur"})))
                .mount(server)
                .await;
            Mock::given(method("GET"))
                .and(path(format!("/v1/payment_intents/{}", pi(&ok))))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "requires_payment_method", "amount_received": 0, "currency": "eur"})))
                .mount(server)
                .await;
            app.tick().await;
            assert_eq!(pledge_as_admin(&app, &id).await["status"], "expired");
            let listed = violations(&app, "flagged_payment").await;
            assert_eq!(listed.len(), 1, "{listed:?}");
            assert_eq!(listed[0]["subject"], id.as_str());
            let detail = listed[0]["detail"].as_str().unwrap();
            assert!(detail.contains("expected 2500 EUR, received 3000 EUR"), "{detail}");

            // Who may not refund it, and what cannot be refunded: nothing changes.
            let url = format!("/v1/pledges/{id}/refund");
            let reviewer = app.staff("reviewer").await;
            app.post_empty(&url, Some(&reviewer))
                .await
                .assert_problem(403, "forbidden");
            app.post_empty(&url, Some(&partner))
                .await
                .assert_problem(403, "forbidden");
            app.post_empty(&url, None)
                .await
                .assert_problem(401, "unauthorized");
            let finance = app.staff("finance").await;
            app.post_empty(
                &format!("/v1/pledges/{}/refund", ok["id"].as_str().unwrap()),
                Some(&finance),
            )
            .await
            .assert_problem(409, "not_flagged");
            app.post_empty("/v1/pledges/plg_unknown/refund", Some(&finance))
                .await
                .assert_problem(404, "not_found");
            assert_eq!(app.count("refunds").await, 0);

            // Finance returns it: queued once, audited once, the same refund when asked again.
            let first = app.post_empty(&url, Some(&finance)).await;
            assert_eq!(first.status, 202, "{}", first.body);
            assert_eq!(first.body["amount"], "30.00");
            assert_eq!(first.body["status"], "pending");
            let again = app.post_empty(&url, Some(&finance)).await;
            assert_eq!(again.status, 200, "{}", again.body);
            assert_eq!(again.body["id"], first.body["id"]);
            assert_eq!(app.count("refunds").await, 1);
            assert_eq!(
                app.count("audit_log WHERE action = 'pledge.refund_flagged'").await,
                1
            );
            assert_eq!(app.tick().await.refunds_done, 1);
            let body = server
                .received_requests()
                .await
                .unwrap()
                .into_iter()
                .find(|r| r.url.path() == "/v1/refunds")
                .map(|r| String::from_utf8(r.body).unwrap())
                .unwrap();
            assert!(body.contains("amount=3000"), "{body}");
            assert!(violations(&app, "flagged_payment").await.is_empty());
            app.assert_reconciled().await;
        },
    )
    .await;
}

#[actix_web::test]
async fn refunds_end_as_stripe_reports_them() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let server = &server;
    each_backend_full(
        |_| {},
        || Some(stripe(&uri)),
        |app| async move {
            server.reset().await;
            fake_stripe_payments(server).await;
            // pi_fake_0's refund is accepted but pending; pi_fake_1's is refused for good;
            // pi_fake_2's is accepted, then reported failed.
            for (pi, status, body) in [
                ("pi_fake_0", 200, json!({"id": "re_0", "status": "pending"})),
                ("pi_fake_1", 400, json!({"error": {"message": "charge_disputed"}})),
                ("pi_fake_2", 200, json!({"id": "re_2", "status": "pending"})),
            ] {
                Mock::given(method("POST"))
                    .and(path("/v1/refunds"))
                    .and(wiremock::matchers::body_string_contains(format!("payment_intent={pi}")))
                    .respond_with(ResponseTemplate::new(status).set_body_json(body))
                    .mount(server)
                    .await;
            }
            let c = city(&app, json!({})).await;
            let (_, partner) = app.partner("P").await;
            let cmp = app.live_campaign(&c, json!({})).await;
            let mut ps = Vec::new();
            for n in 0..3 {
                let p = app
                    .pledge(&partner, &cmp, "100.00", &format!("d{n}@example.org"))
                    .await;
                app.webhook(&succeeded(&format!("evt_ok_{n}"), &pi(&p), 10_000))
                    .await
                    .ok();
                ps.push(p);
            }
            let admin = app.admin().await;
            app.post_empty(&format!("/v1/campaigns/{cmp}/cancel"), Some(&admin))
                .await
                .ok();
            let report = app.tick().await;
            assert_eq!(report.refunds_done, 0);
            let mut statuses: Vec<String> =
                refunds(&app).await.into_iter().map(|(s, _)| s).collect();
            statuses.sort();
            assert_eq!(statuses, ["needs_attention", "pending", "pending"]);
            let attention = violations(&app, "refund_needs_attention").await;
            assert_eq!(attention.len(), 1);
            assert!(attention[0]["detail"].as_str().unwrap().contains("400"));
            // A refund the provider keeps refusing is not sent again.
            app.advance_clock(chrono::Duration::hours(2));
            app.tick().await;
            let sent_for_1 = server
                .received_requests()
                .await
                .unwrap()
                .iter()
                .filter(|r| {
                    r.url.path() == "/v1/refunds"
                        && String::from_utf8_lossy(&r.body).contains("pi_fake_1")
                })
                .count();
            assert_eq!(sent_for_1, 1);
            // Stripe reports the outcomes of the two pending ones.
            let report = |n: usize, status: &str| {
                json!({"id": format!("evt_refund_{n}_{status}"), "object": "event",
                       "type": if status == "failed" { "refund.failed" } else { "refund.updated" },
                       "data": {"object": {"object": "refund", "id": format!("re_{n}"),
                                           "payment_intent": format!("pi_fake_{n}"), "status": status,
                                           "amount": 10_000}}})
            };
            assert_eq!(
                app.webhook(&report(0, "succeeded")).await.ok()["outcome"],
                "refund_reported"
            );
            app.webhook(&report(2, "failed")).await.ok();
            // The same event delivered again is acknowledged and changes nothing.
            assert_eq!(
                app.webhook(&report(0, "succeeded")).await.ok()["outcome"],
                "duplicate"
            );
            // A late, stale report does not undo an outcome.
            app.webhook(&report(0, "pending")).await.ok();
            let mut statuses: Vec<String> =
                refunds(&app).await.into_iter().map(|(s, _)| s).collect();
            statuses.sort();
            assert_eq!(statuses, ["needs_attention", "needs_attention", "succeeded"]);
            assert_eq!(violations(&app, "refund_needs_attention").await.len(), 2);
        },
    )
    .await;
}

#[actix_web::test]
async fn only_the_owning_partner_or_an_admin_can_make_simulated_money() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let (_, owner) = app.partner("Owner").await;
        let (_, other) = app.partner("Other").await;
        let cmp = app.live_campaign(&c, json!({})).await;
        let p = app.pledge(&owner, &cmp, "20000.00", "d@example.org").await;
        let finance = app.staff("finance").await;
        let reviewer = app.staff("reviewer").await;
        let member = c.member_a.clone();
        for token in [&finance, &reviewer, &member, &other] {
            let res = simulate(&app, token, &pi(&p), "succeed").await;
            res.assert_problem(403, "forbidden");
        }
        simulate(&app, "not-a-token", &pi(&p), "succeed")
            .await
            .assert_problem(401, "unauthorized");
        // Nothing moved: no money, no match.
        let id = p["id"].as_str().unwrap();
        assert_eq!(pledge_as_admin(&app, id).await["status"], "pending");
        let view = app.campaign_view(&cmp).await;
        assert_eq!(view["raised"], "0.00");
        assert_eq!(view["match"]["status"], "none");
        assert_eq!(app.count("provider_events").await, 0);
        // The owner and an admin may.
        simulate(&app, &owner, &pi(&p), "succeed").await.ok();
        assert_eq!(app.campaign_view(&cmp).await["raised"], "20000.00");
        let admin = app.admin().await;
        simulate(&app, &admin, &pi(&p), "dispute").await.ok();
        assert_eq!(pledge_as_admin(&app, id).await["status"], "disputed");
    })
    .await;
}

#[actix_web::test]
async fn simulated_payments_survive_a_restart_and_another_replica_refunds_them() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let (_, partner) = app.partner("P").await;
        let cmp = app.live_campaign(&c, json!({})).await;
        let p = app.pledge(&partner, &cmp, "300.00", "d@example.org").await;
        simulate(&app, &partner, &pi(&p), "succeed").await.ok();
        let admin = app.admin().await;
        app.post_empty(&format!("/v1/campaigns/{cmp}/cancel"), Some(&admin))
            .await
            .ok();
        // A second process on the same database (a restarted or another replica), with its
        // own simulated provider, runs the refund.
        app.sql("UPDATE job_leases SET lease_until = '2000-01-01 00:00:00'")
            .await;
        let other = cofund::AppState::new((*app.state.config).clone(), app.db.clone());
        let report = cofund::jobs::run_once(&other).await.unwrap();
        assert_eq!(report.refunds_done, 1);
        let id = p["id"].as_str().unwrap();
        assert_eq!(pledge_as_admin(&app, id).await["status"], "refunded");
        app.assert_reconciled().await;
    })
    .await;
}
