use crate::helpers::*;
use serde_json::{Value, json};

fn dispute(event_id: &str, kind: &str, payment_id: &str, status: &str) -> Value {
    json!({"id": event_id, "object": "event", "type": kind,
           "data": {"object": {"object": "dispute", "payment_intent": payment_id, "status": status}}})
}

async fn setup(app: &TestApp) -> (City, String, String) {
    let c = city(app, json!({})).await;
    let cmp = app.live_campaign(&c, json!({})).await;
    let (_, partner) = app.partner("Rete del Dono").await;
    (c, cmp, partner)
}

#[actix_web::test]
async fn a_pledge_is_confirmed_only_by_a_signed_provider_event() {
    each_backend(|app| async move {
        let (_, cmp, partner) = setup(&app).await;
        let p = app
            .pledge(&partner, &cmp, "25.00", "anna@example.org")
            .await;
        assert_eq!(p["status"], "pending");
        assert_eq!(p["amount"], "25.00");
        assert_eq!(p["currency"], "EUR");
        assert_eq!(p["payment"]["provider"], "simulated");
        assert!(p["payment"]["client_secret"].is_string());
        assert!(p["id"].as_str().unwrap().starts_with("plg_"));
        assert_eq!(app.campaign_view(&cmp).await["raised"], "0.00");

        // The simulated provider confirms through the signed-webhook path.
        let res = app
            .post(
                &format!("/v1/simulated/payments/{}", pi(&p)),
                Some(&partner),
                json!({"outcome": "succeed"}),
            )
            .await;
        assert_eq!(res.ok()["status"], "confirmed");
        let view = app.campaign_view(&cmp).await;
        assert_eq!(view["raised"], "25.00");
        assert_eq!(view["donors"], 1);
        assert_eq!(app.count("provider_events").await, 1);
        let read = app
            .get(
                &format!("/v1/pledges/{}", p["id"].as_str().unwrap()),
                Some(&partner),
            )
            .await;
        assert_eq!(read.ok()["status"], "confirmed");
        assert_eq!(read.body["counted"], "25.00");
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn idempotency_key_replays_the_same_response_and_refuses_another_body() {
    each_backend(|app| async move {
        let (_, cmp, partner) = setup(&app).await;
        let body = json!({"amount": "30.00", "donor": {"name": "Bea", "email": "bea@example.org"}});
        let send = |b: Value| {
            app.send(
                app.client
                    .post(app.url(&format!("/v1/campaigns/{cmp}/pledges")))
                    .bearer_auth(&partner)
                    .header("Idempotency-Key", "order-42")
                    .json(&b),
            )
        };
        let first = send(body.clone()).await;
        assert_eq!(first.status, 201);
        let again = send(body.clone()).await;
        assert_eq!(again.status, 201);
        assert_eq!(again.body, first.body);
        assert_eq!(again.headers["idempotent-replayed"], "true");
        let mut other = body.clone();
        other["amount"] = json!("31.00");
        send(other)
            .await
            .assert_problem(409, "idempotency_key_reused");
        assert_eq!(app.count("pledges").await, 1);
        // Another partner may use the same key for its own pledge.
        let (_, other_partner) = app.partner("Other").await;
        let res = app
            .send(
                app.client
                    .post(app.url(&format!("/v1/campaigns/{cmp}/pledges")))
                    .bearer_auth(&other_partner)
                    .header("Idempotency-Key", "order-42")
                    .json(&body),
            )
            .await;
        assert_eq!(res.status, 201);
        assert_ne!(res.body["id"], first.body["id"]);

        // The campaign stops taking pledges: the same request still gets its first answer,
        // another request with the key is still told the key is taken.
        app.sql(&format!(
            "UPDATE campaigns SET status = 'closing' WHERE id = '{cmp}'"
        ))
        .await;
        let late = send(body.clone()).await;
        assert_eq!(late.status, 201, "{}", late.body);
        assert_eq!(late.body, first.body);
        let mut other = body.clone();
        other["amount"] = json!("32.00");
        send(other)
            .await
            .assert_problem(409, "idempotency_key_reused");
        assert_eq!(app.count("pledges").await, 2);
    })
    .await;
}

#[actix_web::test]
async fn one_key_sent_many_times_at_once_makes_one_pledge_and_one_answer() {
    each_backend(|app| async move {
        let (_, cmp, partner) = setup(&app).await;
        let body = json!({"amount": "12.00", "donor": {"name": "Ugo", "email": "ugo@example.org"}});
        let sends = (0..12).map(|_| {
            app.send(
                app.client
                    .post(app.url(&format!("/v1/campaigns/{cmp}/pledges")))
                    .bearer_auth(&partner)
                    .header("Idempotency-Key", "double-click")
                    .json(&body),
            )
        });
        let answers = futures_util::future::join_all(sends).await;
        let created: Vec<&Value> = answers
            .iter()
            .filter(|r| r.status == 201)
            .map(|r| &r.body)
            .collect();
        // A request that lost the race may be asked to retry (409 or a busy 503), never
        // given a second pledge.
        for r in &answers {
            assert!(
                [201, 409, 503].contains(&r.status.as_u16()),
                "{}: {}",
                r.status,
                r.body
            );
            if r.status == 409 {
                assert_eq!(r.body["code"], "idempotency_key_in_use");
            }
        }
        assert!(!created.is_empty());
        assert!(created.iter().all(|b| *b == created[0]), "{created:?}");
        assert_eq!(app.count("pledges").await, 1);
        assert_eq!(app.count("donors").await, 1);
        assert_eq!(app.count("pending_pledges").await, 1);
        assert_eq!(app.count("simulated_payments").await, 1);
        // A retry after the race gets the one answer.
        let again = app
            .send(
                app.client
                    .post(app.url(&format!("/v1/campaigns/{cmp}/pledges")))
                    .bearer_auth(&partner)
                    .header("Idempotency-Key", "double-click")
                    .json(&body),
            )
            .await;
        assert_eq!(again.status, 201);
        assert_eq!(&again.body, created[0]);
    })
    .await;
}

#[actix_web::test]
async fn bad_pledges_are_refused_and_create_nothing() {
    each_backend(|app| async move {
        let (c, cmp, partner) = setup(&app).await;
        let post = |campaign: String, body: Value, key: Option<&'static str>| {
            let mut req = app
                .client
                .post(app.url(&format!("/v1/campaigns/{campaign}/pledges")))
                .bearer_auth(&partner)
                .json(&body);
            if let Some(k) = key {
                req = req.header("Idempotency-Key", k);
            }
            app.send(req)
        };
        let donor = json!({"name": "Carla", "email": "carla@example.org"});
        for (i, amount) in [
            "25.001",
            "0",
            "0.00",
            "-5.00",
            "1e3",
            "abc",
            "99999999999999.00",
            "0.50",
            "50000.01",
        ]
        .iter()
        .enumerate()
        {
            let key: &'static str = Box::leak(format!("bad-{i}").into_boxed_str());
            let res = post(
                cmp.clone(),
                json!({"amount": amount, "donor": donor}),
                Some(key),
            )
            .await;
            res.assert_problem(422, "validation_failed");
            assert_eq!(res.error_fields(), vec!["amount"], "{amount}");
        }
        let res = post(
            cmp.clone(),
            json!({"amount": "10.00", "currency": "USD", "donor": donor}),
            Some("k1"),
        )
        .await;
        assert_eq!(res.error_fields(), vec!["currency"]);
        let res = post(
            cmp.clone(),
            json!({"amount": "10.00", "donor": {"name": "", "email": "nope", "locale": "fr"}}),
            Some("k2"),
        )
        .await;
        assert_eq!(
            res.error_fields(),
            vec!["donor.name", "donor.email", "donor.locale"]
        );
        let res = post(
            cmp.clone(),
            json!({"amount": "10.00", "donor": donor, "card_number": "4242424242424242"}),
            Some("k3"),
        )
        .await;
        res.assert_problem(422, "validation_failed");
        assert_eq!(res.error_fields(), vec!["card_number"]);
        post(
            cmp.clone(),
            json!({"amount": "10.00", "donor": donor}),
            None,
        )
        .await
        .assert_problem(400, "idempotency_key_required");

        // Only live campaigns accept pledges.
        let approved = app
            .campaign(
                &c.member_b,
                &c.fund,
                json!({"starts_at": rfc3339(chrono::Duration::days(5))}),
            )
            .await;
        let aid = approved["id"].as_str().unwrap().to_string();
        app.post_empty(&format!("/v1/campaigns/{aid}/submit"), Some(&c.member_b))
            .await
            .ok();
        let reviewer = app.staff("reviewer").await;
        app.post_empty(&format!("/v1/campaigns/{aid}/approve"), Some(&reviewer))
            .await
            .ok();
        post(aid, json!({"amount": "10.00", "donor": donor}), Some("k4"))
            .await
            .assert_problem(409, "campaign_not_live");
        let draft = app.campaign(&c.member_b, &c.fund, json!({})).await;
        post(
            draft["id"].as_str().unwrap().to_string(),
            json!({"amount": "10.00", "donor": donor}),
            Some("k5"),
        )
        .await
        .assert_problem(404, "not_found");
        assert_eq!(app.count("pledges").await, 0);
        assert_eq!(app.count("donors").await, 0);

        // Only partners pledge.
        let res = app
            .send(
                app.client
                    .post(app.url(&format!("/v1/campaigns/{cmp}/pledges")))
                    .bearer_auth(&c.member_a)
                    .header("Idempotency-Key", "k6")
                    .json(&json!({"amount": "10.00", "donor": donor})),
            )
            .await;
        res.assert_problem(403, "forbidden");
    })
    .await;
}

#[actix_web::test]
async fn partners_read_only_their_own_pledges() {
    each_backend(|app| async move {
        let (c, cmp, partner) = setup(&app).await;
        let (_, other) = app.partner("Other frontend").await;
        let p = app
            .pledge(&partner, &cmp, "12.00", "dora@example.org")
            .await;
        let path = format!("/v1/pledges/{}", p["id"].as_str().unwrap());
        app.get(&path, Some(&other))
            .await
            .assert_problem(403, "forbidden");
        app.get(&path, Some(&c.member_a))
            .await
            .assert_problem(403, "forbidden");
        app.get(&path, None)
            .await
            .assert_problem(401, "unauthorized");
        let finance = app.staff("finance").await;
        assert_eq!(app.get(&path, Some(&finance)).await.ok()["amount"], "12.00");
        let mine = app.get("/v1/pledges", Some(&partner)).await;
        assert_eq!(mine.ok()["data"].as_array().unwrap().len(), 1);
        let theirs = app.get("/v1/pledges", Some(&other)).await;
        assert_eq!(theirs.ok()["data"].as_array().unwrap().len(), 0);
        // Nor can another partner drive its payment in the simulator.
        app.post(
            &format!("/v1/simulated/payments/{}", pi(&p)),
            Some(&other),
            json!({"outcome": "succeed"}),
        )
        .await
        .assert_problem(403, "forbidden");
        assert_eq!(
            app.get(&path, Some(&partner)).await.ok()["status"],
            "pending"
        );
    })
    .await;
}

#[actix_web::test]
async fn every_bad_signature_is_400_and_changes_nothing() {
    each_backend(|app| async move {
        let (_, cmp, partner) = setup(&app).await;
        let p = app.pledge(&partner, &cmp, "25.00", "e@example.org").await;
        let body = succeeded("evt_sig", &pi(&p), 2500).to_string();
        let now = chrono::Utc::now().timestamp();
        use cofund::providers::signature::{header, sign};
        let cases: Vec<Option<String>> = vec![
            Some(header("whsec_wrong", now, body.as_bytes())),
            Some(header(WEBHOOK_SECRET, now, b"{\"id\":\"evt_other\"}")),
            // Outside the 300 s tolerance with some slack: a loaded machine can take a second
            // or more between `now` here and the server's clock read (at +301 that flaked).
            Some(header(WEBHOOK_SECRET, now - 310, body.as_bytes())),
            Some(header(WEBHOOK_SECRET, now + 310, body.as_bytes())),
            None,
            Some("garbage".into()),
            Some(format!("t={now}")),
            Some(format!(
                "t=notanumber,v1={}",
                sign(WEBHOOK_SECRET, now, body.as_bytes())
            )),
        ];
        for h in cases {
            let mut req = app
                .client
                .post(app.url("/v1/webhooks/stripe"))
                .header("content-type", "application/json")
                .body(body.clone());
            if let Some(h) = &h {
                req = req.header("Stripe-Signature", h);
            }
            app.send(req).await.assert_problem(400, "invalid_signature");
        }
        // A tampered body under a valid header.
        let h = header(WEBHOOK_SECRET, now, body.as_bytes());
        let tampered = body.replace("2500", "2501");
        let res = app
            .send(
                app.client
                    .post(app.url("/v1/webhooks/stripe"))
                    .header("Stripe-Signature", h)
                    .body(tampered),
            )
            .await;
        res.assert_problem(400, "invalid_signature");
        assert_eq!(app.count("provider_events").await, 0);
        assert_eq!(app.campaign_view(&cmp).await["raised"], "0.00");
        // The genuine one is applied.
        assert_eq!(
            app.webhook(&succeeded("evt_sig", &pi(&p), 2500)).await.ok()["outcome"],
            "applied"
        );
        assert_eq!(app.campaign_view(&cmp).await["raised"], "25.00");
    })
    .await;
}

#[actix_web::test]
async fn rotated_webhook_secrets_are_all_accepted() {
    each_backend_with(
        |c| c.payments.webhook_secrets = vec!["whsec_new_one".into(), WEBHOOK_SECRET.into()],
        |app| async move {
            let (_, cmp, partner) = setup(&app).await;
            let p = app.pledge(&partner, &cmp, "10.00", "f@example.org").await;
            for (i, secret) in ["whsec_new_one", WEBHOOK_SECRET].iter().enumerate() {
                let body = refunded(&format!("evt_rot_{i}"), &pi(&p), 0).to_string();
                let h = cofund::providers::signature::header(
                    secret,
                    chrono::Utc::now().timestamp(),
                    body.as_bytes(),
                );
                let res = app
                    .send(
                        app.client
                            .post(app.url("/v1/webhooks/stripe"))
                            .header("Stripe-Signature", h)
                            .body(body),
                    )
                    .await;
                assert!(res.status.is_success(), "{}", res.body);
            }
        },
    )
    .await;
}

#[actix_web::test]
async fn a_duplicated_event_counts_once() {
    each_backend(|app| async move {
        let (_, cmp, partner) = setup(&app).await;
        let p = app.pledge(&partner, &cmp, "25.00", "g@example.org").await;
        let ev = succeeded("evt_dup", &pi(&p), 2500);
        let mut outcomes = Vec::new();
        for _ in 0..5 {
            outcomes.push(
                app.webhook(&ev).await.ok()["outcome"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
        assert_eq!(
            outcomes,
            vec![
                "applied",
                "duplicate",
                "duplicate",
                "duplicate",
                "duplicate"
            ]
        );
        let view = app.campaign_view(&cmp).await;
        assert_eq!(view["raised"], "25.00");
        assert_eq!(view["donors"], 1);
        // Even under another event id, the same fact changes nothing.
        assert_eq!(
            app.webhook(&succeeded("evt_dup_2", &pi(&p), 2500))
                .await
                .ok()["outcome"],
            "no_change"
        );
        assert_eq!(app.campaign_view(&cmp).await["raised"], "25.00");
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn out_of_order_refunds_and_disputes_end_in_the_right_state() {
    each_backend(|app| async move {
        let (_, cmp, partner) = setup(&app).await;
        let status = |p: &Value| format!("/v1/pledges/{}", p["id"].as_str().unwrap());
        // Refund before success: refunded, nothing counted.
        let a = app.pledge(&partner, &cmp, "20.00", "a@example.org").await;
        app.webhook(&refunded("evt_a1", &pi(&a), 2000)).await.ok();
        app.webhook(&succeeded("evt_a2", &pi(&a), 2000)).await.ok();
        assert_eq!(
            app.get(&status(&a), Some(&partner)).await.body["status"],
            "refunded"
        );
        // Partial refund.
        let b = app.pledge(&partner, &cmp, "50.00", "b@example.org").await;
        app.webhook(&succeeded("evt_b1", &pi(&b), 5000)).await.ok();
        app.webhook(&refunded("evt_b2", &pi(&b), 1500)).await.ok();
        app.webhook(&refunded("evt_b3", &pi(&b), 1000)).await.ok(); // older, cumulative: ignored
        assert_eq!(
            app.get(&status(&b), Some(&partner)).await.body["status"],
            "partially_refunded"
        );
        // Dispute lost: charged back, no longer counted.
        let c = app.pledge(&partner, &cmp, "30.00", "c@example.org").await;
        app.webhook(&succeeded("evt_c1", &pi(&c), 3000)).await.ok();
        app.webhook(&dispute(
            "evt_c2",
            "charge.dispute.created",
            &pi(&c),
            "needs_response",
        ))
        .await
        .ok();
        assert_eq!(
            app.get(&status(&c), Some(&partner)).await.body["status"],
            "disputed"
        );
        assert_eq!(app.campaign_view(&cmp).await["raised"], "65.00"); // 35 + 30 (dispute open still counts)
        app.webhook(&dispute("evt_c3", "charge.dispute.closed", &pi(&c), "lost"))
            .await
            .ok();
        assert_eq!(
            app.get(&status(&c), Some(&partner)).await.body["status"],
            "charged_back"
        );
        // Dispute won, closed before its creation arrived: confirmed.
        let d = app.pledge(&partner, &cmp, "40.00", "d@example.org").await;
        app.webhook(&dispute("evt_d1", "charge.dispute.closed", &pi(&d), "won"))
            .await
            .ok();
        app.webhook(&succeeded("evt_d2", &pi(&d), 4000)).await.ok();
        app.webhook(&dispute(
            "evt_d3",
            "charge.dispute.created",
            &pi(&d),
            "needs_response",
        ))
        .await
        .ok();
        assert_eq!(
            app.get(&status(&d), Some(&partner)).await.body["status"],
            "confirmed"
        );
        // A success that is not what was pledged: flagged, not confirmed.
        let e = app.pledge(&partner, &cmp, "15.00", "e@example.org").await;
        assert_eq!(
            app.webhook(&succeeded("evt_e1", &pi(&e), 1400)).await.ok()["outcome"],
            "flagged"
        );
        let read = app.get(&status(&e), Some(&partner)).await;
        assert_eq!(read.body["status"], "pending");
        assert!(read.body["flagged_reason"].is_string());

        let view = app.campaign_view(&cmp).await;
        assert_eq!(view["raised"], "75.00"); // b 35 + d 40
        assert_eq!(view["donors"], 2);
        // Everything balances; the only thing reconciliation reports is the flagged money.
        let admin = app.admin().await;
        let report = app.get("/v1/reconciliation", Some(&admin)).await;
        let found: Vec<(String, String)> = report.ok()["violations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["check"].as_str().unwrap().to_string(),
                    v["subject"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            found,
            vec![(
                "flagged_payment".to_string(),
                e["id"].as_str().unwrap().to_string()
            )]
        );
    })
    .await;
}

/// The provider's webhook can arrive before cofund wrote the payment id on the pledge: the
/// event's `metadata.pledge_id` then names it, unless that pledge belongs to another payment.
#[actix_web::test]
async fn an_event_can_name_its_pledge_by_metadata_but_not_another_payments_pledge() {
    each_backend(|app| async move {
        let (_, cmp, partner) = setup(&app).await;
        let p = app.pledge(&partner, &cmp, "25.00", "late@example.org").await;
        let q = app.pledge(&partner, &cmp, "30.00", "other@example.org").await;
        let id = |v: &Value| v["id"].as_str().unwrap().to_string();
        let (p_id, q_id) = (id(&p), id(&q));
        app.sql(&format!(
            "UPDATE pledges SET provider_payment_id = NULL WHERE id = '{p_id}'"
        ))
        .await;
        let with_hint = |event_id: &str, payment_id: &str, pledge_id: &str, amount: i64| {
            let mut ev = succeeded(event_id, payment_id, amount);
            ev["data"]["object"]["metadata"] = json!({"pledge_id": pledge_id});
            ev
        };

        // q has its own payment: an event of another payment naming q is not q's.
        let res = app.webhook(&with_hint("evt_foreign", "pi_foreign", &q_id, 3000)).await;
        assert_eq!(res.ok()["outcome"], "unknown_payment");
        assert_eq!(app.campaign_view(&cmp).await["raised"], "0.00");

        // p has none yet: the metadata finds it, and the payment id is recorded.
        let res = app.webhook(&with_hint("evt_late", "pi_late", &p_id, 2500)).await;
        assert_eq!(res.ok()["outcome"], "applied");
        assert_eq!(
            app.count(&format!(
                "pledges WHERE id = '{p_id}' AND provider_payment_id = 'pi_late' AND status = 'confirmed'"
            ))
            .await,
            1
        );
        // Later events of that payment find the pledge by its id alone.
        let res = app.webhook(&succeeded("evt_late_again", "pi_late", 2500)).await;
        assert_eq!(res.ok()["outcome"], "no_change");
        let view = app.campaign_view(&cmp).await;
        assert_eq!(view["raised"], "25.00");
        assert_eq!(view["donors"], 1);
        assert_eq!(
            app.count(&format!("pledges WHERE id = '{q_id}' AND status = 'pending'"))
                .await,
            1
        );
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn events_for_unknown_payments_are_stored_and_acknowledged() {
    each_backend(|app| async move {
        let res = app.webhook(&succeeded("evt_unknown", "pi_nobody", 100)).await;
        assert_eq!(res.ok()["outcome"], "unknown_payment");
        let res = app
            .webhook(&json!({"id": "evt_other_type", "type": "customer.created", "data": {"object": {"id": "cus_1"}}}))
            .await;
        assert_eq!(res.ok()["outcome"], "ignored");
        assert_eq!(app.count("provider_events").await, 2);
        assert_eq!(app.webhook(&succeeded("evt_unknown", "pi_nobody", 100)).await.ok()["outcome"], "duplicate");
        let res = app.webhook(&json!({"no": "id"})).await;
        res.assert_problem(400, "malformed_event");
    })
    .await;
}

#[actix_web::test]
async fn concurrent_deliveries_leave_raised_equal_to_confirmed_pledges() {
    each_backend(|app| async move {
        let (_, cmp, partner) = setup(&app).await;
        let mut pledges = Vec::new();
        for i in 0..24 {
            pledges.push(
                app.pledge(
                    &partner,
                    &cmp,
                    &format!("{}.00", 10 + i),
                    &format!("donor{}@example.org", i % 7),
                )
                .await,
            );
        }
        // Every pledge succeeds; every third is then partly refunded; every event is sent three
        // times; all of it from 16 concurrent senders in shuffled order.
        let mut events = Vec::new();
        for (i, p) in pledges.iter().enumerate() {
            let amount = (10 + i as i64) * 100;
            events.push(succeeded(&format!("evt_s{i}"), &pi(p), amount));
            if i % 3 == 0 {
                events.push(refunded(&format!("evt_r{i}"), &pi(p), 500));
            }
        }
        let mut deliveries: Vec<Value> = events
            .iter()
            .cloned()
            .chain(events.iter().cloned())
            .chain(events.iter().cloned())
            .collect();
        // Deterministic shuffle.
        let n = deliveries.len();
        for i in 0..n {
            deliveries.swap(i, (i * 7919 + 13) % n);
        }
        deliver_concurrently(&app, deliveries, 16).await;
        let expected: i64 = (0..24)
            .map(|i: i64| (10 + i) * 100 - if i % 3 == 0 { 500 } else { 0 })
            .sum();
        let view = app.campaign_view(&cmp).await;
        assert_eq!(
            view["raised"],
            format!("{}.{:02}", expected / 100, expected % 100)
        );
        assert_eq!(view["donors"], 7);
        assert_eq!(app.count("provider_events").await, events.len() as i64);
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn associations_see_donor_contact_only_when_allowed_and_erasure_keeps_the_money() {
    each_backend(|app| async move {
        let (c, cmp, partner) = setup(&app).await;
        let donors = [
            json!({"name": "Open Olga", "email": "olga@example.org", "contact_consent": true}),
            json!({"name": "Quiet Quinn", "email": "quinn@example.org"}),
            json!({"name": "Anon Ada", "email": "ada@example.org", "anonymous": true, "contact_consent": true}),
        ];
        for (i, d) in donors.iter().enumerate() {
            let res = app
                .send(
                    app.client
                        .post(app.url(&format!("/v1/campaigns/{cmp}/pledges")))
                        .bearer_auth(&partner)
                        .header("Idempotency-Key", format!("d{i}"))
                        .json(&json!({"amount": "10.00", "donor": d})),
                )
                .await;
            let p = res.ok().clone();
            app.webhook(&succeeded(&format!("evt_d{i}"), &pi(&p), 1000)).await.ok();
        }
        let list = app.get(&format!("/v1/campaigns/{cmp}/pledges"), Some(&c.member_a)).await;
        let rows = list.ok()["data"].as_array().unwrap().clone();
        assert_eq!(rows[0]["donor_name"], "Open Olga");
        assert_eq!(rows[0]["donor_email"], "olga@example.org");
        assert_eq!(rows[1]["donor_name"], "Quiet Quinn");
        assert!(rows[1]["donor_email"].is_null());
        assert!(rows[2]["donor_name"].is_null() && rows[2]["donor_email"].is_null());
        app.get(&format!("/v1/campaigns/{cmp}/pledges"), Some(&c.member_b))
            .await
            .assert_problem(403, "forbidden");
        // Reviewers judge campaigns: no donor data, no ledger. Finance reads both.
        let reviewer = app.staff("reviewer").await;
        app.get(&format!("/v1/campaigns/{cmp}/pledges"), Some(&reviewer))
            .await
            .assert_problem(403, "forbidden");
        app.get(&format!("/v1/funds/{}/ledger", c.fund), Some(&reviewer))
            .await
            .assert_problem(403, "forbidden");
        let finance = app.staff("finance").await;
        let seen = app.get(&format!("/v1/campaigns/{cmp}/pledges"), Some(&finance)).await;
        assert_eq!(seen.ok()["data"].as_array().unwrap().len(), 3);
        // The public campaign view carries no donor data at all.
        let public = app.get(&format!("/v1/campaigns/{cmp}"), None).await.ok().to_string();
        assert!(!public.contains("Olga") && !public.contains("example.org"));

        let admin = app.admin().await;
        app.post("/v1/donors/erase", Some(&c.member_a), json!({"email": "olga@example.org"}))
            .await
            .assert_problem(403, "forbidden");
        let res = app.post("/v1/donors/erase", Some(&admin), json!({"email": "Olga@example.org"})).await;
        assert_eq!(res.ok()["erased"], 1);
        let list = app.get(&format!("/v1/campaigns/{cmp}/pledges"), Some(&c.member_a)).await;
        assert!(list.ok()["data"][0]["donor_name"].is_null());
        assert_eq!(app.campaign_view(&cmp).await["raised"], "30.00");
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn erasure_leaves_nothing_matchable_to_the_address_and_keeps_the_donor_count() {
    each_backend(|app| async move {
        use sha2::Digest;
        let (c, cmp, partner) = setup(&app).await;
        let paid = app
            .pledge(&partner, &cmp, "10.00", "olga@example.org")
            .await;
        app.webhook(&succeeded("evt_olga_1", &pi(&paid), 1000))
            .await
            .ok();
        // A second pledge of hers, still pending when she is erased.
        let pending = app.pledge(&partner, &cmp, "5.00", "Olga@Example.org").await;
        // Her identity as stored: the keyed hash of her normalised address (and, for pledges
        // written before identities were keyed, the plain hash of the address).
        let hash = cofund::app::pledges::identity_key(&app.state).of(None, "olga@example.org");
        let legacy = hex::encode(sha2::Sha256::digest(b"olga@example.org"));
        assert_ne!(hash, legacy);
        let under_hash = |table: &str| format!("{table} WHERE donor_key = '{hash}'");
        assert_eq!(app.count(&under_hash("pledges")).await, 2);
        assert_eq!(app.count(&under_hash("campaign_donors")).await, 1);
        assert_eq!(app.campaign_view(&cmp).await["donors"], 1);

        // Refused requests erase nothing and re-key nothing.
        let admin = app.admin().await;
        let olga = || json!({"email": "olga@example.org"});
        for (token, body, status, code) in [
            (Some(c.member_a.as_str()), olga(), 403, "forbidden"),
            (Some(partner.as_str()), olga(), 403, "forbidden"),
            (None, olga(), 401, "unauthorized"),
            (
                Some(admin.as_str()),
                json!({"email": "not-an-address"}),
                422,
                "validation_failed",
            ),
            (Some(admin.as_str()), json!({}), 422, "validation_failed"),
            (
                Some(admin.as_str()),
                json!({"email": "olga@example.org", "all": true}),
                422,
                "validation_failed",
            ),
        ] {
            app.post("/v1/donors/erase", token, body)
                .await
                .assert_problem(status, code);
        }
        assert_eq!(app.count(&under_hash("pledges")).await, 2);
        assert_eq!(app.count(&under_hash("campaign_donors")).await, 1);
        assert_eq!(app.count("donors WHERE email IS NOT NULL").await, 2);

        let res = app
            .post(
                "/v1/donors/erase",
                Some(&admin),
                json!({"email": "olga@example.org"}),
            )
            .await;
        assert_eq!(res.ok()["erased"], 2);
        // Nothing left can be matched against her address, not even its hash.
        assert_eq!(app.count(&under_hash("pledges")).await, 0);
        assert_eq!(app.count(&under_hash("campaign_donors")).await, 0);
        assert_eq!(app.count("donors WHERE email IS NOT NULL").await, 0);
        app.assert_reconciled().await;

        // Her pending pledge still counts as hers: the same donor, not a second one.
        app.webhook(&succeeded("evt_olga_2", &pi(&pending), 500))
            .await
            .ok();
        let view = app.campaign_view(&cmp).await;
        assert_eq!(
            (view["raised"].as_str(), view["donors"].as_i64()),
            (Some("15.00"), Some(1))
        );
        // Giving again after erasure makes a new donor (nothing links her to the old one).
        let again = app.pledge(&partner, &cmp, "2.00", "olga@example.org").await;
        app.webhook(&succeeded("evt_olga_3", &pi(&again), 200))
            .await
            .ok();
        let view = app.campaign_view(&cmp).await;
        assert_eq!(
            (view["raised"].as_str(), view["donors"].as_i64()),
            (Some("17.00"), Some(2))
        );
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn pending_pledges_expire() {
    each_backend_with(
        |c| c.payments.pledge_ttl = std::time::Duration::ZERO,
        |app| async move {
            let (_, cmp, partner) = setup(&app).await;
            let p = app
                .pledge(&partner, &cmp, "10.00", "late@example.org")
                .await;
            // A pledge paid in time is not expired, however old: paying took it off the list
            // of pending pledges the expiry job reads.
            let paid = app
                .pledge(&partner, &cmp, "7.00", "prompt@example.org")
                .await;
            assert_eq!(app.count("pending_pledges").await, 2);
            app.webhook(&succeeded("evt_prompt", &pi(&paid), 700))
                .await
                .ok();
            assert_eq!(app.count("pending_pledges").await, 1);
            let report = app.tick().await;
            assert_eq!(report.expired, 1);
            assert_eq!(app.count("pending_pledges").await, 0);
            let read = app
                .get(
                    &format!("/v1/pledges/{}", paid["id"].as_str().unwrap()),
                    Some(&partner),
                )
                .await;
            assert_eq!(read.ok()["status"], "confirmed");
            let read = app
                .get(
                    &format!("/v1/pledges/{}", p["id"].as_str().unwrap()),
                    Some(&partner),
                )
                .await;
            assert_eq!(read.ok()["status"], "expired");
            // A success that still arrives counts: the money is real.
            app.webhook(&succeeded("evt_late", &pi(&p), 1000))
                .await
                .ok();
            assert_eq!(app.campaign_view(&cmp).await["raised"], "17.00");
            app.assert_reconciled().await;

            // Reconciliation notices a pledge that is pending but not listed (it would never
            // expire).
            let stuck = app
                .pledge(&partner, &cmp, "3.00", "stuck@example.org")
                .await;
            app.sql("DELETE FROM pending_pledges").await;
            let finance = app.staff("finance").await;
            let report = app.get("/v1/reconciliation", Some(&finance)).await;
            assert_eq!(report.ok()["ok"], false);
            assert_eq!(report.body["violations"][0]["check"], "pending_listed");
            assert_eq!(report.body["violations"][0]["subject"], stuck["id"]);
        },
    )
    .await;
}

#[actix_web::test]
async fn pledge_creation_is_rate_limited_per_partner() {
    each_backend_with(
        |c| c.payments.pledge_rate_limit_per_min = 3,
        |app| async move {
            let (_, cmp, partner) = setup(&app).await;
            let (_, other) = app.partner("Other").await;
            for i in 0..3 {
                app.pledge(&partner, &cmp, "5.00", &format!("r{i}@example.org")).await;
            }
            let res = app
                .send(
                    app.client
                        .post(app.url(&format!("/v1/campaigns/{cmp}/pledges")))
                        .bearer_auth(&partner)
                        .header("Idempotency-Key", "one-too-many")
                        .json(&json!({"amount": "5.00", "donor": {"name": "N", "email": "n@example.org"}})),
                )
                .await;
            res.assert_problem(429, "rate_limited");
            assert_eq!(app.count("pledges").await, 3);
            // Another partner is not slowed down.
            app.pledge(&other, &cmp, "5.00", "o@example.org").await;
        },
    )
    .await;
}
