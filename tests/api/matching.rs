//! The matching engine end to end: crossings, revocations, the waitlist, decisions, refunds,
//! the ledger and reconciliation.

use crate::helpers::*;
use serde_json::{Value, json};

/// Pledges `amount` (whole euros) and has the (simulated) provider confirm it through a
/// signed webhook; returns the pledge.
async fn give(app: &TestApp, partner: &str, campaign: &str, euros: i64, donor: &str) -> Value {
    let p = app
        .pledge(
            partner,
            campaign,
            &format!("{euros}.00"),
            &format!("{donor}@example.org"),
        )
        .await;
    let res = app
        .post(
            &format!("/v1/simulated/payments/{}", pi(&p)),
            Some(partner),
            json!({"outcome": "succeed"}),
        )
        .await;
    assert_eq!(res.ok()["status"], "confirmed");
    p
}

async fn fund_figures(app: &TestApp, fund: &str) -> Value {
    app.get(&format!("/v1/funds/{fund}"), None)
        .await
        .ok()
        .clone()
}

async fn decisions(app: &TestApp, campaign: &str) -> Vec<String> {
    app.get(&format!("/v1/campaigns/{campaign}/match"), None)
        .await
        .ok()["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["decision"].as_str().unwrap().to_string())
        .collect()
}

#[actix_web::test]
async fn crossing_reserves_a_refund_revokes_and_crossing_again_reserves_again() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let cmp = app.live_campaign(&c, json!({})).await; // goal 40,000 → threshold 20,000
        let (_, partner) = app.partner("P").await;
        give(&app, &partner, &cmp, 9_000, "a").await;
        assert_eq!(app.campaign_view(&cmp).await["match"]["status"], "none");
        let p = give(&app, &partner, &cmp, 10_000, "b").await;
        assert_eq!(app.campaign_view(&cmp).await["match"]["status"], "none");
        let last = give(&app, &partner, &cmp, 1_000, "c").await;
        let view = app.campaign_view(&cmp).await;
        assert_eq!(view["raised"], "20000.00");
        assert_eq!(
            view["match"],
            json!({"status": "reserved", "amount": "20000.00"})
        );
        let f = fund_figures(&app, &c.fund).await;
        assert_eq!(
            (f["reserved"].as_str(), f["available"].as_str()),
            (Some("20000.00"), Some("580000.00"))
        );

        // A partial refund drops it below the threshold: revoked, the money goes back.
        app.webhook(&refunded("evt_ref_1", &pi(&last), 1))
            .await
            .ok();
        let view = app.campaign_view(&cmp).await;
        assert_eq!(view["raised"], "19999.99");
        assert_eq!(
            view["match"],
            json!({"status": "revoked", "amount": "0.00"})
        );
        assert_eq!(fund_figures(&app, &c.fund).await["reserved"], "0.00");

        // Crossing again reserves again.
        give(&app, &partner, &cmp, 5, "d").await;
        assert_eq!(app.campaign_view(&cmp).await["match"]["status"], "reserved");
        assert_eq!(
            decisions(&app, &cmp).await,
            vec!["reserve", "revoke", "reserve"]
        );
        let history = app.get(&format!("/v1/campaigns/{cmp}/match"), None).await;
        let first = &history.ok()["decisions"][0];
        assert_eq!(first["inputs"]["threshold"], 2_000_000);
        assert_eq!(first["inputs"]["raised"], 2_000_000);
        assert_eq!(first["inputs"]["available"], 60_000_000);
        assert_eq!(first["inputs"]["match_ratio"], "0.5");
        let _ = p;
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn min_donors_must_be_met_as_well() {
    each_backend(|app| async move {
        let c = city(&app, json!({"min_donors": 3})).await;
        let cmp = app.live_campaign(&c, json!({})).await;
        let (_, partner) = app.partner("P").await;
        give(&app, &partner, &cmp, 15_000, "a").await;
        give(&app, &partner, &cmp, 5_000, "a").await; // same donor again
        assert_eq!(app.campaign_view(&cmp).await["match"]["status"], "none");
        give(&app, &partner, &cmp, 10, "b").await;
        assert_eq!(app.campaign_view(&cmp).await["donors"], 2);
        give(&app, &partner, &cmp, 10, "c").await;
        assert_eq!(app.campaign_view(&cmp).await["match"]["status"], "reserved");
    })
    .await;
}

#[actix_web::test]
async fn the_waitlist_is_served_in_crossing_order_when_budget_frees_up() {
    each_backend(|app| async move {
        // €45,000 covers two €20,000 top-ups, not three.
        let c = city(&app, json!({"budget": "45000.00"})).await;
        let (_, partner) = app.partner("P").await;
        let mut cmps = Vec::new();
        for i in 0..4 {
            cmps.push(
                app.live_campaign(&c, json!({"title": format!("C{i}")}))
                    .await,
            );
        }
        let mut crossing = Vec::new();
        for (i, cmp) in cmps.iter().enumerate() {
            crossing.push(give(&app, &partner, cmp, 20_000, &format!("d{i}")).await);
        }
        let states: Vec<Value> = futures_states(&app, &cmps).await;
        assert_eq!(
            states,
            vec![
                json!("reserved"),
                json!("reserved"),
                json!("waitlisted"),
                json!("waitlisted")
            ]
        );
        assert_eq!(fund_figures(&app, &c.fund).await["available"], "5000.00");

        // The first campaign loses a donation: its €20,000 goes to the head of the queue (C2).
        app.webhook(&refunded("evt_r0", &pi(&crossing[0]), 100))
            .await
            .ok();
        let states = futures_states(&app, &cmps).await;
        assert_eq!(
            states,
            vec![
                json!("revoked"),
                json!("reserved"),
                json!("reserved"),
                json!("waitlisted")
            ]
        );

        // Finance raises the budget: C3 is served too.
        let finance = app.staff("finance").await;
        let res = app
            .post(
                &format!("/v1/funds/{}/budget", c.fund),
                Some(&finance),
                json!({"budget": "65000.00"}),
            )
            .await;
        assert_eq!(res.ok()["reserved"], "60000.00");
        assert_eq!(futures_states(&app, &cmps).await[3], json!("reserved"));
        // C0 is back above threshold but must queue now: the budget is spoken for.
        give(&app, &partner, &cmps[0], 1, "late").await;
        assert_eq!(futures_states(&app, &cmps).await[0], json!("waitlisted"));
        app.assert_reconciled().await;
    })
    .await;
}

async fn futures_states(app: &TestApp, cmps: &[String]) -> Vec<Value> {
    let mut out = Vec::new();
    for c in cmps {
        out.push(app.campaign_view(c).await["match"]["status"].clone());
    }
    out
}

#[actix_web::test]
async fn the_partial_policy_reserves_what_is_left() {
    each_backend(|app| async move {
        let c = city(
            &app,
            json!({"budget": "30000.00", "exhaustion_policy": "partial"}),
        )
        .await;
        let (_, partner) = app.partner("P").await;
        let a = app.live_campaign(&c, json!({})).await;
        let b = app.live_campaign(&c, json!({})).await;
        give(&app, &partner, &a, 20_000, "x").await;
        give(&app, &partner, &b, 20_000, "y").await;
        assert_eq!(
            app.campaign_view(&a).await["match"],
            json!({"status": "reserved", "amount": "20000.00"})
        );
        assert_eq!(
            app.campaign_view(&b).await["match"],
            json!({"status": "reserved", "amount": "10000.00"})
        );
        assert_eq!(decisions(&app, &b).await, vec!["partial"]);
        assert_eq!(fund_figures(&app, &c.fund).await["available"], "0.00");
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn a_successful_campaign_commits_its_match_and_a_failed_one_refunds_every_donor() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let (_, partner) = app.partner("P").await;
        let winner = app.live_campaign(&c, json!({})).await;
        let loser = app.live_campaign(&c, json!({})).await;
        give(&app, &partner, &winner, 25_000, "w").await;
        let l1 = give(&app, &partner, &loser, 300, "l1").await;
        let l2 = give(&app, &partner, &loser, 200, "l2").await;
        let pending = app
            .pledge(&partner, &loser, "50.00", "l3@example.org")
            .await;
        // Both campaigns reached their end a minute ago.
        let fmt = |d: chrono::Duration| {
            (chrono::Utc::now() + d)
                .naive_utc()
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        };
        app.sql(&format!(
            "UPDATE campaigns SET starts_at = '{}', ends_at = '{}'",
            fmt(chrono::Duration::days(-30)),
            fmt(chrono::Duration::minutes(-1))
        ))
        .await;
        let report = app.tick().await;
        assert_eq!(report.closed, 2);
        // The winner is decided; the loser waits for its pending pledge (grace period).
        assert_eq!(report.decided, 1);
        assert_eq!(app.campaign_view(&winner).await["status"], "succeeded");
        assert_eq!(
            app.campaign_view(&winner).await["match"],
            json!({"status": "committed", "amount": "20000.00"})
        );
        assert_eq!(app.campaign_view(&loser).await["status"], "closing");
        let f = fund_figures(&app, &c.fund).await;
        assert_eq!(
            (f["reserved"].as_str(), f["committed"].as_str()),
            (Some("0.00"), Some("20000.00"))
        );

        // The pending payment fails; the loser is decided and its donors refunded through the
        // provider (whose refund events come back through the webhook).
        app.post(
            &format!("/v1/simulated/payments/{}", pi(&pending)),
            Some(&partner),
            json!({"outcome": "fail"}),
        )
        .await
        .ok();
        let report = app.tick().await;
        assert_eq!(report.decided, 1);
        assert_eq!(report.refunds_done, 2);
        let view = app.campaign_view(&loser).await;
        assert_eq!(view["status"], "failed");
        assert_eq!(view["raised"], "0.00");
        for p in [&l1, &l2] {
            let r = app
                .get(
                    &format!("/v1/pledges/{}", p["id"].as_str().unwrap()),
                    Some(&partner),
                )
                .await;
            assert_eq!(r.ok()["status"], "refunded");
        }
        // Running the jobs again refunds nobody twice.
        assert_eq!(app.tick().await.refunds_done, 0);
        assert_eq!(app.count("refunds").await, 2);
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn an_admin_cancellation_releases_the_match_and_refunds() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let (_, partner) = app.partner("P").await;
        let cmp = app.live_campaign(&c, json!({})).await;
        give(&app, &partner, &cmp, 20_000, "a").await;
        assert_eq!(fund_figures(&app, &c.fund).await["reserved"], "20000.00");
        let admin = app.admin().await;
        let res = app
            .post_empty(&format!("/v1/campaigns/{cmp}/cancel"), Some(&admin))
            .await;
        assert_eq!(res.ok()["status"], "cancelled");
        assert_eq!(res.body["match"]["status"], "revoked");
        assert_eq!(fund_figures(&app, &c.fund).await["reserved"], "0.00");
        assert_eq!(app.count("refunds").await, 1);
        assert_eq!(app.tick().await.refunds_done, 1);
        assert_eq!(app.campaign_view(&cmp).await["raised"], "0.00");
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn fifty_concurrent_crossings_never_overspend() {
    each_backend(|app| async move {
        // Budget for exactly 20 top-ups of €10,000 (goal €20,000, threshold €10,000).
        let c = city(&app, json!({"budget": "200000.00"})).await;
        let (_, partner) = app.partner("P").await;
        let mut cmps = Vec::new();
        let mut events = Vec::new();
        for i in 0..50 {
            let cmp = app
                .live_campaign(&c, json!({"goal": "20000.00", "title": format!("C{i}")}))
                .await;
            let p = app
                .pledge(&partner, &cmp, "10000.00", &format!("d{i}@example.org"))
                .await;
            events.push(succeeded(&format!("evt_{i}"), &pi(&p), 1_000_000));
            cmps.push((cmp, p));
        }
        deliver_concurrently(&app, events, 16).await;
        let mut reserved = Vec::new();
        let mut waitlisted = 0;
        for (cmp, _) in &cmps {
            match app.campaign_view(cmp).await["match"]["status"]
                .as_str()
                .unwrap()
            {
                "reserved" => reserved.push(cmp.clone()),
                "waitlisted" => waitlisted += 1,
                other => panic!("unexpected match status {other}"),
            }
        }
        assert_eq!((reserved.len(), waitlisted), (20, 30));
        let f = fund_figures(&app, &c.fund).await;
        assert_eq!(
            (f["reserved"].as_str(), f["available"].as_str()),
            (Some("200000.00"), Some("0.00"))
        );
        app.assert_reconciled().await;

        // Refunds free budget: the waitlist is served oldest crossing first.
        let admin = app.admin().await;
        let mut queue_order: Vec<(chrono::DateTime<chrono::Utc>, String)> = Vec::new();
        for (cmp, _) in &cmps {
            let h = app
                .get(&format!("/v1/campaigns/{cmp}/match"), Some(&admin))
                .await;
            if let Some(at) = h.ok()["waitlisted_at"].as_str() {
                queue_order.push((at.parse().unwrap(), cmp.clone()));
            }
        }
        queue_order.sort();
        for (i, cmp) in reserved.iter().take(3).enumerate() {
            let p = &cmps.iter().find(|(c2, _)| c2 == cmp).unwrap().1;
            app.webhook(&refunded(&format!("evt_free_{i}"), &pi(p), 100))
                .await
                .ok();
        }
        for (_, cmp) in queue_order.iter().take(3) {
            assert_eq!(app.campaign_view(cmp).await["match"]["status"], "reserved");
        }
        for (_, cmp) in queue_order.iter().skip(3) {
            assert_eq!(
                app.campaign_view(cmp).await["match"]["status"],
                "waitlisted"
            );
        }
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn the_ledger_balances_and_only_finance_reads_it() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let (_, partner) = app.partner("P").await;
        let cmp = app.live_campaign(&c, json!({})).await;
        give(&app, &partner, &cmp, 20_000, "a").await;
        let finance = app.staff("finance").await;
        let ledger = app
            .get(&format!("/v1/funds/{}/ledger", c.fund), Some(&finance))
            .await;
        let entries = ledger.ok()["data"].as_array().unwrap().clone();
        let kinds: Vec<_> = entries
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, vec!["budget", "reserve"]);
        for e in &entries {
            let total: i64 = e["postings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    let s = p["amount"].as_str().unwrap().replace('.', "");
                    s.parse::<i64>().unwrap()
                })
                .sum();
            assert_eq!(total, 0);
        }
        app.get(&format!("/v1/funds/{}/ledger", c.fund), Some(&c.member_a))
            .await
            .assert_problem(403, "forbidden");
        app.get("/v1/reconciliation", Some(&partner))
            .await
            .assert_problem(403, "forbidden");
        app.get("/v1/reconciliation", None)
            .await
            .assert_problem(401, "unauthorized");
        // The journal is append-only, whatever the caller.
        let db = app.db.clone();
        let tampered = tokio::task::spawn_blocking(move || {
            use diesel::connection::SimpleConnection;
            let mut conn = db.get().unwrap();
            conn.batch_execute("UPDATE postings SET amount = amount + 1")
                .is_err()
                && conn.batch_execute("DELETE FROM journal_entries").is_err()
        })
        .await
        .unwrap();
        assert!(tampered, "the journal accepted an update or delete");

        // Reconciliation notices a tampered campaign total.
        app.sql(&format!(
            "UPDATE campaigns SET raised = raised + 1 WHERE id = '{cmp}'"
        ))
        .await;
        let report = app.get("/v1/reconciliation", Some(&finance)).await;
        assert_eq!(report.ok()["ok"], false);
        assert_eq!(report.body["violations"][0]["check"], "campaign_raised");

        // A pledge whose counted amount disagrees with its facts, and a journal entry that does
        // not balance (appending is all the journal allows), are found by the database's sums.
        app.sql(&format!(
            "UPDATE pledges SET counted_amount = counted_amount - 1 WHERE campaign_id = '{cmp}' AND counted_amount > 0"
        ))
        .await;
        app.sql(
            "INSERT INTO journal_entries (id, fund_id, campaign_id, kind, memo, reverses, created_at, funder_id) \
             SELECT 'je_tampered', fund_id, NULL, kind, 'tampered', NULL, created_at, funder_id FROM journal_entries LIMIT 1; \
             INSERT INTO postings (id, entry_id, fund_id, funder_id, account, amount, currency) \
             SELECT 'po_tampered', 'je_tampered', fund_id, funder_id, 'reserved', 5, currency FROM postings LIMIT 1",
        )
        .await;
        let report = app.get("/v1/reconciliation", Some(&finance)).await;
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
        assert!(found.contains(&("journal_balanced".into(), "je_tampered".into())), "{found:?}");
        assert!(found.contains(&("pledge_counted".into(), cmp.clone())), "{found:?}");
    })
    .await;
}

#[actix_web::test]
async fn the_badge_shows_progress_for_public_campaigns_only() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let (_, partner) = app.partner("P").await;
        let cmp = app
            .live_campaign(&c, json!({"title": "Orti & giardini <Aurora>"}))
            .await;
        give(&app, &partner, &cmp, 20_000, "a").await;
        let res = app
            .get(&format!("/v1/campaigns/{cmp}/badge.svg"), None)
            .await;
        assert_eq!(res.status, 200);
        assert_eq!(res.content_type, "image/svg+xml");
        assert!(
            res.headers["cache-control"]
                .to_str()
                .unwrap()
                .contains("max-age")
        );
        let svg = res.body.as_str().unwrap();
        // No language asked: the cities' own, with Italian money.
        assert!(
            svg.contains(
                "20.000,00\u{a0}€ raccolti + 20.000,00\u{a0}€ dal Comune su 40.000,00\u{a0}€"
            ),
            "{svg}"
        );
        assert_eq!(res.headers["vary"], "Accept-Language");
        let en = app
            .send(
                app.client
                    .get(app.url(&format!("/v1/campaigns/{cmp}/badge.svg")))
                    .header("Accept-Language", "en-GB,en;q=0.8"),
            )
            .await;
        let en_svg = en.body.as_str().unwrap();
        assert!(en_svg.contains(">€20,000.00 raised + €20,000.00 city match of €40,000.00</text>"));
        assert!(en_svg.contains(">live</text>"), "{en_svg}");
        let asked = app
            .get(&format!("/v1/campaigns/{cmp}/badge.svg?lang=en"), None)
            .await;
        assert_eq!(
            asked.body.as_str().unwrap(),
            en_svg,
            "?lang=en speaks English too"
        );
        assert!(svg.contains("Orti &amp; giardini &lt;Aurora&gt;"));
        assert!(!svg.contains("example.org"));
        let etag = res.headers["etag"].to_str().unwrap().to_string();
        let again = app
            .send(
                app.client
                    .get(app.url(&format!("/v1/campaigns/{cmp}/badge.svg")))
                    .header("If-None-Match", etag),
            )
            .await;
        assert_eq!(again.status, 304);
        let draft = app.campaign(&c.member_a, &c.fund, json!({})).await;
        app.get(
            &format!("/v1/campaigns/{}/badge.svg", draft["id"].as_str().unwrap()),
            None,
        )
        .await
        .assert_problem(404, "not_found");
    })
    .await;
}

#[actix_web::test]
async fn the_badge_shows_a_new_gift_at_once_though_it_is_cached() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let (_, partner) = app.partner("P").await;
        let cmp = app.live_campaign(&c, json!({})).await; // threshold 20,000
        let path = format!("/v1/campaigns/{cmp}/badge.svg");
        // What the badge says it raised, e.g. "€5,000.00".
        let badge_raised = || async {
            let svg = app.get(&format!("{path}?lang=en"), None).await.body;
            let text = svg.as_str().unwrap().to_string();
            let (_, after) = text.split_once("y=\"56\"").unwrap();
            let (_, line) = after.split_once('>').unwrap();
            line.split(" raised").next().unwrap().to_string()
        };
        give(&app, &partner, &cmp, 5_000, "a").await;
        assert_eq!(badge_raised().await, "€5,000.00");
        // Served from the public read cache this time.
        assert_eq!(badge_raised().await, "€5,000.00");
        give(&app, &partner, &cmp, 2_500, "b").await;
        assert_eq!(badge_raised().await, "€7,500.00");
        // The campaign's own page, cached beside it, agrees.
        let view = app.get(&format!("/v1/campaigns/{cmp}"), None).await.body;
        assert_eq!(view["raised"], "7500.00", "{view}");
    })
    .await;
}

#[actix_web::test]
async fn a_payment_event_shows_at_once_on_the_cached_pages_of_its_campaign() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let (_, partner) = app.partner("P").await;
        let cmp = app.live_campaign(&c, json!({})).await; // threshold 20,000
        let other = app.live_campaign(&c, json!({})).await;
        let public = |id: String| {
            let app = &app;
            async move {
                app.get(&format!("/v1/campaigns/{id}"), None)
                    .await
                    .ok()
                    .clone()
            }
        };
        let first = app
            .pledge(&partner, &cmp, "19000.00", "a@example.org")
            .await;
        let second = app.pledge(&partner, &cmp, "1000.00", "b@example.org").await;
        // Both pages are now in the public read cache.
        assert_eq!(public(cmp.clone()).await["raised"], "0.00");
        assert_eq!(public(other.clone()).await["raised"], "0.00");
        // Signed provider events, as Stripe sends them (not the simulated provider's own path).
        app.webhook(&succeeded("evt_ok_1", &pi(&first), 1_900_000))
            .await
            .ok();
        assert_eq!(public(cmp.clone()).await["raised"], "19000.00");
        app.webhook(&succeeded("evt_ok_2", &pi(&second), 100_000))
            .await
            .ok();
        let view = public(cmp.clone()).await;
        assert_eq!(view["raised"], "20000.00");
        assert_eq!(view["match"]["status"], "reserved", "{view}");
        assert_eq!(public(other.clone()).await["raised"], "0.00");
        // A refund takes the money and the match back, on the page at once.
        app.webhook(&refunded("evt_ref_1", &pi(&second), 100_000))
            .await
            .ok();
        let view = public(cmp.clone()).await;
        assert_eq!(view["raised"], "19000.00");
        assert_eq!(view["match"]["status"], "revoked", "{view}");
        let svg = app
            .get(&format!("/v1/campaigns/{cmp}/badge.svg?lang=en"), None)
            .await
            .body;
        assert!(svg.as_str().unwrap().contains("€19,000.00"), "{svg}");
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn a_crossing_whose_follow_up_was_lost_is_caught_up_by_the_scheduler() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let cmp = app.live_campaign(&c, json!({})).await; // threshold 20,000
        let (_, partner) = app.partner("P").await;
        give(&app, &partner, &cmp, 9_000, "a").await;
        // As if a replica committed a confirmation that crossed the threshold and died before
        // applying the matching rule.
        app.sql(&format!(
            "UPDATE campaigns SET raised = 2000000 WHERE id = '{cmp}'"
        ))
        .await;
        assert_eq!(app.campaign_view(&cmp).await["match"]["status"], "none");
        // The catch-up looks at every running campaign once a minute (the first tick, in
        // `live_campaign`, was this process's first).
        app.advance_clock(cofund::app::matching::MATCH_CATCH_UP_EVERY);
        app.tick().await;
        let view = app.campaign_view(&cmp).await;
        assert_eq!(view["match"]["status"], "reserved");
        assert_eq!(view["match"]["amount"], "20000.00");
        assert_eq!(decisions(&app, &cmp).await, vec!["reserve"]);
        // Idempotent: another pass changes nothing.
        app.advance_clock(cofund::app::matching::MATCH_CATCH_UP_EVERY);
        app.tick().await;
        assert_eq!(decisions(&app, &cmp).await, vec!["reserve"]);
    })
    .await;
}

#[actix_web::test]
async fn a_closing_campaign_whose_crossing_was_not_acted_on_commits_its_match_when_decided() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let cmp = app.live_campaign(&c, json!({})).await; // threshold 20,000
        let (_, partner) = app.partner("P").await;
        give(&app, &partner, &cmp, 9_000, "a").await;
        // An unpaid pledge keeps the decision waiting for its grace period.
        app.pledge(&partner, &cmp, "50.00", "late@example.org")
            .await;
        app.sql(&format!(
            "UPDATE campaigns SET ends_at = '{}' WHERE id = '{cmp}'",
            (chrono::Utc::now() - chrono::Duration::minutes(1))
                .naive_utc()
                .format("%Y-%m-%d %H:%M:%S")
        ))
        .await;
        assert_eq!(app.tick().await.closed, 1);
        assert_eq!(app.campaign_view(&cmp).await["status"], "closing");
        // As if the crossing's rule had not run, between two catch-ups.
        app.sql(&format!(
            "UPDATE campaigns SET raised = 2000000 WHERE id = '{cmp}'"
        ))
        .await;
        let report = app
            .db
            .run(|conn| cofund::jobs::run_matching(conn, std::time::Duration::ZERO, false))
            .await
            .unwrap();
        assert_eq!(report.decided, 1);
        let view = app.campaign_view(&cmp).await;
        assert_eq!(view["status"], "succeeded");
        assert_eq!(
            view["match"],
            json!({"status": "committed", "amount": "20000.00"})
        );
        assert_eq!(decisions(&app, &cmp).await, vec!["reserve", "commit"]);
        assert_eq!(fund_figures(&app, &c.fund).await["committed"], "20000.00");
    })
    .await;
}

#[actix_web::test]
async fn a_corrupt_stored_ratio_stops_the_crossing_instead_of_topping_up_in_full() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let cmp = app.live_campaign(&c, json!({})).await; // goal 40,000 → threshold 20,000
        let (_, partner) = app.partner("P").await;
        give(&app, &partner, &cmp, 19_000, "a").await;
        // A match ratio that no longer parses (written behind the API's back).
        app.sql(&format!(
            "UPDATE funds SET match_ratio = 'lots' WHERE id = '{}'",
            c.fund
        ))
        .await;
        let p = app.pledge(&partner, &cmp, "1000.00", "b@example.org").await;
        let event = succeeded("evt_corrupt_ratio", &pi(&p), 100_000);
        let res = app.webhook(&event).await;
        assert!(res.status.is_server_error(), "{}: {}", res.status, res.body);
        let raw = format!("{}", res.body);
        assert!(!raw.contains("lots"), "internal detail leaked: {raw}");
        // Nothing moved: no top-up was read as 100 %, the donation waits for the retry.
        assert_eq!(
            app.count(&format!(
                "campaigns WHERE id = '{cmp}' AND match_status = 'none' AND raised = 1900000"
            ))
            .await,
            1
        );
        assert_eq!(
            app.count(&format!("funds WHERE id = '{}' AND reserved = 0", c.fund))
                .await,
            1
        );
        // Repaired, the provider's retry applies with the fund's real rule (50 % of the goal).
        app.sql(&format!(
            "UPDATE funds SET match_ratio = '0.5' WHERE id = '{}'",
            c.fund
        ))
        .await;
        app.webhook(&event).await.ok();
        let view = app.campaign_view(&cmp).await;
        assert_eq!(view["raised"], "20000.00");
        assert_eq!(view["match"]["status"], "reserved");
        assert_eq!(view["match"]["amount"], "20000.00");
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn an_unknown_stored_state_is_an_error_never_a_default() {
    // The schema's CHECK constraints keep unknown states out of the tables; a value read from
    // the database that is not one of an enum's stored values (a newer version's state, a
    // column without a constraint) fails the read instead of becoming some default.
    each_backend(|app| async move {
        let db = app.db.clone();
        tokio::task::spawn_blocking(move || {
            use cofund::domain::campaign::CampaignStatus;
            use cofund::domain::matching::MatchState;
            use cofund::domain::money::Currency;
            use cofund::domain::pledge::Dispute;
            use diesel::RunQueryDsl;
            use diesel::dsl::sql;
            use diesel::sql_types::Text;
            let mut conn = db.get().unwrap();
            let read = |conn: &mut cofund::db::DbConnection, text: &str| {
                diesel::select(sql::<Text>(&format!("'{text}'"))).get_result::<MatchState>(conn)
            };
            assert_eq!(read(&mut conn, "reserved").unwrap(), MatchState::Reserved);
            let err = format!("{:?}", read(&mut conn, "half_reserved").unwrap_err());
            assert!(err.contains("unknown stored match status"), "{err}");
            assert!(
                diesel::select(sql::<Text>("'paused'"))
                    .get_result::<CampaignStatus>(&mut *conn)
                    .is_err()
            );
            assert!(
                diesel::select(sql::<Text>("'maybe'"))
                    .get_result::<Dispute>(&mut *conn)
                    .is_err()
            );
            // A currency is read as stored: exact code, no silent EUR.
            assert!(
                diesel::select(sql::<Text>("'eur'"))
                    .get_result::<Currency>(&mut *conn)
                    .is_err()
            );
        })
        .await
        .unwrap();
    })
    .await;
}
