//! Matching policies beside the threshold top-up: `per_donation` (each gift matched, the match
//! held while the donor pays) and `quadratic` (a pool shared at the end of the round by
//! (Σ√cᵢ)² − Σcᵢ), checked against tables worked out by hand.

use crate::funders::{funded_city, give};
use crate::helpers::*;
use serde_json::{Value, json};
use std::time::Duration;

fn one_funder(budget: &str) -> Value {
    json!([{"name": "Città di Torino", "kind": "public", "budget": budget}])
}

async fn fund_view(app: &TestApp, fund: &str) -> Value {
    app.get(&format!("/v1/funds/{fund}"), None)
        .await
        .ok()
        .clone()
}

/// A pledge with its own Idempotency-Key; 503 (a busy database) is retried with the same key.
async fn pledge_insisting(
    app: &TestApp,
    partner: &str,
    campaign: &str,
    amount: &str,
    email: &str,
) -> Value {
    let key = uuid::Uuid::new_v4().to_string();
    for _ in 0..200 {
        let res = app
            .send(
                app.client
                    .post(app.url(&format!("/v1/campaigns/{campaign}/pledges")))
                    .bearer_auth(partner)
                    .header("Idempotency-Key", &key)
                    .json(&json!({"amount": amount, "donor": {"name": "Donor", "email": email, "locale": "it"}})),
            )
            .await;
        if res.status == 201 {
            return res.body;
        }
        assert!(
            matches!(res.status.as_u16(), 503 | 409),
            "{}: {}",
            res.status,
            res.body
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the database stayed busy");
}

async fn pay(app: &TestApp, partner: &str, pledge: &Value) {
    app.post(
        &format!("/v1/simulated/payments/{}", pi(pledge)),
        Some(partner),
        json!({"outcome": "succeed"}),
    )
    .await
    .ok();
}

#[actix_web::test]
async fn a_pledge_is_told_its_held_match_and_the_hold_lapses_on_time() {
    each_backend_with(one_partner_may_hold_everything, |app| async move {
        let (c, fund) = funded_city(
            &app,
            one_funder("120.00"),
            json!({"match_policy": "per_donation", "match_ratio": "1", "threshold_ratio": "0.001",
                   "max_match_per_donation": "50.00", "match_hold_secs": 600}),
        )
        .await;
        assert_eq!(fund["match_ratio"], "1");
        assert_eq!(fund["match_hold_secs"], 600);
        let cmp = app.live_campaign(&c, json!({})).await;
        let (_, partner) = app.partner("P").await;
        // €80 one to one, capped at €50 a gift: €50 held for ten minutes.
        let p1 = app.pledge(&partner, &cmp, "80.00", "a@example.org").await;
        assert_eq!(p1["match"]["amount"], "50.00");
        let expires: chrono::DateTime<chrono::Utc> =
            p1["match"]["expires_at"].as_str().unwrap().parse().unwrap();
        let in_ten = chrono::Utc::now() + chrono::Duration::seconds(600);
        assert!((expires - in_ten).num_seconds().abs() < 30, "{expires}");
        let p2 = app.pledge(&partner, &cmp, "30.00", "b@example.org").await;
        assert_eq!(p2["match"]["amount"], "30.00");
        // €40 left of €120.
        let p3 = app.pledge(&partner, &cmp, "100.00", "c@example.org").await;
        assert_eq!(p3["match"]["amount"], "40.00");
        // Spent: still accepted, with no match promised.
        let p4 = app.pledge(&partner, &cmp, "10.00", "d@example.org").await;
        assert_eq!(p4["status"], "pending");
        assert_eq!(p4["match"]["amount"], "0.00");
        let f = fund_view(&app, &c.fund).await;
        assert_eq!(f["held"], "120.00");
        assert_eq!(f["available"], "0.00");
        app.assert_reconciled().await;

        // Paid in time: the held €30 becomes the campaign's reserved match.
        pay(&app, &partner, &p2).await;
        let view = app.campaign_view(&cmp).await;
        assert_eq!(view["match"]["status"], "reserved");
        assert_eq!(view["match"]["amount"], "30.00");
        let f = fund_view(&app, &c.fund).await;
        assert_eq!(
            (f["held"].as_str(), f["reserved"].as_str()),
            (Some("90.00"), Some("30.00"))
        );
        // The partner reads each gift's match with the pledge.
        let read = |p: &Value| format!("/v1/pledges/{}", p["id"].as_str().unwrap());
        let seen = app.get(&read(&p2), Some(&partner)).await;
        assert_eq!(seen.ok()["match"]["status"], "reserved");
        assert_eq!(seen.body["match"]["amount"], "30.00");
        let seen = app.get(&read(&p3), Some(&partner)).await;
        assert_eq!(seen.ok()["match"]["status"], "held");

        // Ten minutes pass with no request at all: the job releases the lapsed holds.
        app.advance_clock(chrono::Duration::seconds(601));
        let report = app.tick().await;
        assert_eq!(report.holds_released, 2);
        let f = fund_view(&app, &c.fund).await;
        assert_eq!(f["held"], "0.00");
        assert_eq!(f["available"], "90.00");
        let seen = app.get(&read(&p3), Some(&partner)).await;
        assert_eq!(seen.ok()["match"]["status"], "released");
        assert_eq!(seen.body["match"]["amount"], "0.00");

        // Paid after its hold lapsed: matched only from what is left. A new gift takes
        // €50 first, so the late €80 gets the remaining €40.
        let p5 = app.pledge(&partner, &cmp, "50.00", "e@example.org").await;
        assert_eq!(p5["match"]["amount"], "50.00");
        pay(&app, &partner, &p1).await;
        let view = app.campaign_view(&cmp).await;
        assert_eq!(view["match"]["amount"], "70.00");
        let f = fund_view(&app, &c.fund).await;
        assert_eq!(
            (f["held"].as_str(), f["available"].as_str()),
            (Some("50.00"), Some("0.00"))
        );
        // And a late one with nothing left is not matched.
        pay(&app, &partner, &p3).await;
        assert_eq!(app.campaign_view(&cmp).await["match"]["amount"], "70.00");
        app.assert_reconciled().await;

        // A refund gives the gift's match back to the fund.
        app.webhook(&refunded("evt_refund_p2", &pi(&p2), 3_000))
            .await
            .ok();
        let view = app.campaign_view(&cmp).await;
        assert_eq!(view["match"]["amount"], "40.00");
        let f = fund_view(&app, &c.fund).await;
        assert_eq!(f["available"], "30.00");
        // A failed payment releases its hold at once.
        app.post(
            &format!("/v1/simulated/payments/{}", pi(&p5)),
            Some(&partner),
            json!({"outcome": "fail"}),
        )
        .await
        .ok();
        let f = fund_view(&app, &c.fund).await;
        assert_eq!(
            (f["held"].as_str(), f["available"].as_str()),
            (Some("0.00"), Some("80.00"))
        );
        app.assert_reconciled().await;

        // Success commits the reserved match (the last pending gift fails first, so the
        // campaign is decided without waiting out its grace period).
        app.post(
            &format!("/v1/simulated/payments/{}", pi(&p4)),
            Some(&partner),
            json!({"outcome": "fail"}),
        )
        .await
        .ok();
        end_all_campaigns(&app).await;
        let view = app.campaign_view(&cmp).await;
        assert_eq!(view["status"], "succeeded");
        assert_eq!(view["match"]["status"], "committed");
        assert_eq!(view["match"]["amount"], "40.00");
        let f = fund_view(&app, &c.fund).await;
        assert_eq!(f["committed"], "40.00");
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn two_hundred_concurrent_pledges_never_hold_more_than_the_budget() {
    each_backend_with(one_partner_may_hold_everything, |app| async move {
        // €500 at €10 a gift: exactly fifty holds, whatever the interleaving.
        let (c, _) = funded_city(
            &app,
            json!([
                {"name": "Città di Torino", "kind": "public", "budget": "300.00", "share": "0.6"},
                {"name": "Fondazione CRT", "kind": "private", "tax_code": "97542550013",
                 "iban": crate::funders::CRT_IBAN, "budget": "200.00", "share": "0.4"}
            ]),
            json!({"match_policy": "per_donation", "funding_split": "proportional",
                   "max_match_per_donation": "10.00"}),
        )
        .await;
        let a = app.live_campaign(&c, json!({})).await;
        let b = app.live_campaign(&c, json!({})).await;
        let (_, partner) = app.partner("P").await;
        let app = std::sync::Arc::new(app);
        let mut tasks = Vec::new();
        for k in 0..200 {
            let app = app.clone();
            let partner = partner.clone();
            let cmp = if k % 2 == 0 { a.clone() } else { b.clone() };
            tasks.push(tokio::spawn(async move {
                pledge_insisting(&app, &partner, &cmp, "25.00", &format!("d{k}@example.org")).await
            }));
        }
        let mut held = 0;
        let mut matched = 0;
        for t in tasks {
            let p = t.await.unwrap();
            match p["match"]["amount"].as_str().unwrap() {
                "10.00" => held += 1,
                "0.00" => {}
                other => panic!("unexpected hold {other}"),
            }
            matched += 1;
        }
        assert_eq!((matched, held), (200, 50));
        let f = fund_view(&app, &c.fund).await;
        assert_eq!(
            (f["held"].as_str(), f["available"].as_str()),
            (Some("500.00"), Some("0.00"))
        );
        let funders = crate::funders::funders_by_name(&app, &c.fund).await;
        assert_eq!(funders["Città di Torino"]["held"], "300.00");
        assert_eq!(funders["Fondazione CRT"]["held"], "200.00");
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn payments_racing_the_lapse_of_their_holds_move_each_match_once() {
    each_backend_with(one_partner_may_hold_everything, |app| async move {
        // €500 at €10 a gift: fifty holds, ten pledges without one. All holds are past their
        // time; sixty payments arrive while the expiry job runs again and again.
        let (c, _) = funded_city(
            &app,
            one_funder("500.00"),
            json!({"match_policy": "per_donation", "match_ratio": "1", "threshold_ratio": "0.001",
                   "max_match_per_donation": "10.00", "match_hold_secs": 60}),
        )
        .await;
        let cmp = app.live_campaign(&c, json!({})).await;
        let (_, partner) = app.partner("P").await;
        let mut events = Vec::new();
        for k in 0..60 {
            let p = app
                .pledge(&partner, &cmp, "10.00", &format!("d{k}@example.org"))
                .await;
            events.push(succeeded(&format!("evt_race_{k}"), &pi(&p), 1_000));
        }
        assert_eq!(fund_view(&app, &c.fund).await["held"], "500.00");
        app.advance_clock(chrono::Duration::seconds(61));
        let replay = events[0].clone();
        tokio::join!(deliver_concurrently(&app, events, 8), async {
            for _ in 0..10 {
                app.tick().await;
            }
        });
        app.tick().await;
        // Every gift paid, every euro of the budget matched once: nothing held, nothing lost.
        let f = fund_view(&app, &c.fund).await;
        assert_eq!(
            (
                f["held"].as_str(),
                f["reserved"].as_str(),
                f["available"].as_str()
            ),
            (Some("0.00"), Some("500.00"), Some("0.00"))
        );
        let view = app.campaign_view(&cmp).await;
        assert_eq!(view["match"]["amount"], "500.00");
        assert_eq!(view["raised"], "600.00");
        assert_eq!(
            app.count("match_holds WHERE status = 'reserved' AND amount > 1000")
                .await,
            0
        );
        app.assert_reconciled().await;
        // A replayed payment event changes nothing.
        let entries = app.count("journal_entries").await;
        assert!(app.webhook(&replay).await.status.is_success());
        assert_eq!(app.count("journal_entries").await, entries);
        assert_eq!(app.campaign_view(&cmp).await["match"]["amount"], "500.00");
        app.assert_reconciled().await;
    })
    .await;
}

/// Rounds one and two: A has four donors of €1, B one of €4, C one of €1 and one of €4.
const ROUND_ONE_GIFTS: &[(usize, &str, &str)] = &[
    (0, "1.00", "a1"),
    (0, "1.00", "a2"),
    (0, "1.00", "a3"),
    (0, "1.00", "a4"),
    (1, "4.00", "b1"),
    (2, "1.00", "c1"),
    (2, "4.00", "c2"),
];

/// A quadratic round: a fund over small campaigns whose crowd threshold is €1.
async fn round(app: &TestApp, pool: &str, extra: Value) -> (City, String) {
    let mut body = json!({"match_policy": "quadratic", "threshold_ratio": "0.001"});
    merge(&mut body, extra);
    let (c, _) = funded_city(app, one_funder(pool), body).await;
    let (_, partner) = app.partner("P").await;
    (c, partner)
}

/// Gifts per campaign: (campaign index, euros, donor).
async fn gifts(
    app: &TestApp,
    partner: &str,
    campaigns: &[String],
    list: &[(usize, &str, &str)],
) -> Vec<Value> {
    let mut out = Vec::new();
    for (k, amount, donor) in list {
        out.push(give(app, partner, &campaigns[*k], amount, donor).await);
    }
    out
}

async fn shares(app: &TestApp, fund: &str) -> Vec<String> {
    let q = app.get(&format!("/v1/funds/{fund}/quadratic"), None).await;
    q.ok()["campaigns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["share"].as_str().unwrap().to_string())
        .collect()
}

#[actix_web::test]
async fn quadratic_round_one_many_small_donors_weigh_more_than_one_large() {
    each_backend(|app| async move {
        // Pool €100. A: four donors of €1 → (4·√100)² − 400 = 1200. B: one donor of €4 → 0.
        // C: €1 and €4 → (10 + 20)² − 500 = 400. Shares of 1600: A 75 %, B 0, C 25 %.
        let (c, partner) = round(&app, "100.00", json!({})).await;
        let mut cs = Vec::new();
        for _ in 0..3 {
            cs.push(app.live_campaign(&c, json!({"goal": "1000.00"})).await);
        }
        gifts(&app, &partner, &cs, ROUND_ONE_GIFTS).await;
        // The live estimate, with its inputs.
        let q = app
            .get(&format!("/v1/funds/{}/quadratic", c.fund), None)
            .await;
        let lines = q.ok()["campaigns"].as_array().unwrap().clone();
        assert_eq!(q.body["pool"], "100.00");
        assert_eq!(q.body["distributed_at"], Value::Null);
        let w: Vec<&str> = lines
            .iter()
            .map(|l| l["weight"].as_str().unwrap())
            .collect();
        assert_eq!(w, ["1200.00", "0.00", "400.00"]);
        assert_eq!(lines[0]["donors_counted"], 4);
        assert_eq!(lines[0]["sum_sqrt"], "40.000000");
        assert_eq!(shares(&app, &c.fund).await, ["75.00", "0.00", "25.00"]);
        // Not while the campaigns still run.
        let finance = app.staff("finance").await;
        let path = format!("/v1/funds/{}/distribute", c.fund);
        app.post_empty(&path, Some(&finance))
            .await
            .assert_problem(409, "round_running");
        end_all_campaigns(&app).await;
        let first = app.post_empty(&path, Some(&finance)).await;
        let first = first.ok().clone();
        assert!(first["distributed_at"].is_string());
        for (k, amount) in [(0, "75.00"), (1, "0.00"), (2, "25.00")] {
            let v = app.campaign_view(&cs[k]).await;
            assert_eq!(v["match"]["amount"], amount);
        }
        assert_eq!(
            app.campaign_view(&cs[0]).await["match"]["status"],
            "committed"
        );
        // Run again: the same answer, nothing moves twice.
        let entries = app.count("journal_entries").await;
        let again = app.post_empty(&path, Some(&finance)).await;
        assert_eq!(again.ok(), &first);
        assert_eq!(app.count("journal_entries").await, entries);
        // One explainable decision per campaign.
        assert_eq!(
            app.count("match_decisions WHERE decision = 'distribute'")
                .await,
            3
        );
        let admin = app.admin().await;
        let h = app
            .get(&format!("/v1/campaigns/{}/match", cs[0]), Some(&admin))
            .await;
        let d = h.ok()["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["decision"] == "distribute")
            .cloned()
            .unwrap();
        assert_eq!(d["amount"], "75.00");
        assert_eq!(d["inputs"]["weight"], "1200.00");
        assert_eq!(d["inputs"]["pool"], 10_000);
        let f = fund_view(&app, &c.fund).await;
        assert_eq!(
            (f["committed"].as_str(), f["available"].as_str()),
            (Some("100.00"), Some("0.00"))
        );
        // Bad paths: the public cannot share a round; another policy has no round.
        app.post_empty(&path, None)
            .await
            .assert_problem(401, "unauthorized");
        app.post_empty(&path, Some(&c.member_a))
            .await
            .assert_problem(403, "forbidden");
        let plain = app.fund(&[&c.area], json!({})).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        app.post_empty(&format!("/v1/funds/{plain}/distribute"), Some(&finance))
            .await
            .assert_problem(409, "not_quadratic");
        app.get("/v1/funds/fund_nope/quadratic", None)
            .await
            .assert_problem(404, "not_found");
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn quadratic_round_two_a_capped_share_flows_to_the_others() {
    each_backend(|app| async move {
        // Round one's donors with a €60 cap: A's €75 is cut to €60 and its €15 goes to C,
        // the only other campaign with a weight: A 60, B 0, C 40.
        let (c, partner) = round(&app, "100.00", json!({"max_match_per_campaign": "60.00"})).await;
        let mut cs = Vec::new();
        for _ in 0..3 {
            cs.push(app.live_campaign(&c, json!({"goal": "1000.00"})).await);
        }
        gifts(&app, &partner, &cs, ROUND_ONE_GIFTS).await;
        assert_eq!(shares(&app, &c.fund).await, ["60.00", "0.00", "40.00"]);
        end_all_campaigns(&app).await;
        let finance = app.staff("finance").await;
        let q = app
            .post_empty(&format!("/v1/funds/{}/distribute", c.fund), Some(&finance))
            .await;
        let lines = q.ok()["campaigns"].as_array().unwrap().clone();
        assert_eq!(lines[0]["capped"], true);
        assert_eq!(lines[0]["uncapped_share"], "75.00");
        assert_eq!(app.campaign_view(&cs[2]).await["match"]["amount"], "40.00");
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn quadratic_round_three_counts_donors_not_pledges_after_refunds_and_the_minimum() {
    each_backend(|app| async move {
        // Pool €90, minimum €2 per donor's total.
        // A: donor x gives four pledges of €1 (one donor of €4, √ = 20: each pledge alone is
        //    under the minimum, the donor is not) and y one of €4:
        //    (20 + 20)² − 800 = 800 (counted by pledge it would be 0 or 2800).
        // B: p €9 and q €4, r €1 (under the minimum): (30 + 20)² − 1300 = 1200.
        // C: s €9 and t €1, but t's €1 is refunded before the distribution: s alone → 0.
        // Shares of 2000: A 9000 × 800/2000 = €36, B €54, C €0.
        let (c, partner) = round(&app, "90.00", json!({"min_contribution": "2.00"})).await;
        let mut cs = Vec::new();
        for _ in 0..3 {
            cs.push(app.live_campaign(&c, json!({"goal": "1000.00"})).await);
        }
        let given = gifts(
            &app,
            &partner,
            &cs,
            &[
                (0, "1.00", "x"),
                (0, "1.00", "x"),
                (0, "1.00", "x"),
                (0, "1.00", "x"),
                (0, "4.00", "y"),
                (1, "9.00", "p"),
                (1, "4.00", "q"),
                (1, "1.00", "r"),
                (2, "9.00", "s"),
                (2, "1.00", "t"),
            ],
        )
        .await;
        let t = &given[9];
        app.webhook(&refunded("evt_refund_t", &pi(t), 100))
            .await
            .ok();
        let q = app
            .get(&format!("/v1/funds/{}/quadratic", c.fund), None)
            .await;
        let lines = q.ok()["campaigns"].as_array().unwrap().clone();
        let w: Vec<&str> = lines
            .iter()
            .map(|l| l["weight"].as_str().unwrap())
            .collect();
        assert_eq!(w, ["800.00", "1200.00", "0.00"]);
        assert_eq!(lines[0]["donors_counted"], 2);
        assert_eq!(lines[0]["contributions"], "8.00");
        assert_eq!(lines[1]["donors_counted"], 2);
        assert_eq!(lines[1]["contributions"], "13.00");
        assert_eq!(lines[2]["donors_counted"], 1);
        end_all_campaigns(&app).await;
        let finance = app.staff("finance").await;
        app.post_empty(&format!("/v1/funds/{}/distribute", c.fund), Some(&finance))
            .await
            .ok();
        for (k, amount) in [(0, "36.00"), (1, "54.00"), (2, "0.00")] {
            assert_eq!(app.campaign_view(&cs[k]).await["match"]["amount"], amount);
        }
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn quadratic_round_four_the_last_cent_goes_by_largest_remainder_and_the_job_shares_at_close()
{
    each_backend(|app| async move {
        // Pool €100 among three equal campaigns (two €1 donors each: weight 200): €33.33
        // each and one cent left, given to the first (lowest id) of the tie: 33.34.
        let (c, partner) = round(&app, "100.00", json!({})).await;
        let mut cs = Vec::new();
        for _ in 0..3 {
            cs.push(app.live_campaign(&c, json!({"goal": "1000.00"})).await);
        }
        gifts(
            &app,
            &partner,
            &cs,
            &[
                (0, "1.00", "a"),
                (0, "1.00", "b"),
                (1, "1.00", "c"),
                (1, "1.00", "d"),
                (2, "1.00", "e"),
                (2, "1.00", "f"),
            ],
        )
        .await;
        assert_eq!(shares(&app, &c.fund).await, ["33.34", "33.33", "33.33"]);
        end_all_campaigns(&app).await;
        // The round closes: the job shares it with nobody asking.
        app.advance_clock(chrono::Duration::days(121));
        let report = app.tick().await;
        assert_eq!(report.rounds_shared, 1);
        let mut sum = 0i64;
        for cmp in &cs {
            let v = app.campaign_view(cmp).await;
            assert_eq!(v["match"]["status"], "committed");
            let a = v["match"]["amount"].as_str().unwrap().replace('.', "");
            sum += a.parse::<i64>().unwrap();
        }
        assert_eq!(sum, 10_000);
        assert_eq!(app.tick().await.rounds_shared, 0);
        app.assert_reconciled().await;
    })
    .await;
}

/// These tests are about the budget, the lapse and races, not hoarding: one partner stands for
/// many, so its share of the fund is the whole fund (tests/api/edges_money.rs checks the caps).
fn one_partner_may_hold_everything(config: &mut cofund::config::Config) {
    config.payments.partner_hold_share = cofund::domain::money::Ratio::parse("1").unwrap();
}
