//! Issue 37, money at the edges: one person cannot be many donors in a quadratic round (donor
//! identity), one partner or donor cannot hoard a `per_donation` fund's holds (hold caps), and
//! the user who created a settlement batch cannot confirm it (four eyes).

use crate::funders::{funded_city, give};
use crate::helpers::*;
use serde_json::{Value, json};
use std::time::Duration;

fn one_funder(budget: &str) -> Value {
    json!([{"name": "Città di Torino", "kind": "public", "budget": budget}])
}

/// A valid partita IVA (11 digits with its check digit) made from `n`.
fn partita_iva(n: u32) -> String {
    let body = format!("{:010}", 1_000_000_000 + n);
    let d: Vec<u32> = body.chars().map(|c| c.to_digit(10).unwrap()).collect();
    let mut sum = 0;
    for (i, x) in d.iter().enumerate() {
        if i % 2 == 0 {
            sum += x;
        } else {
            let y = x * 2;
            sum += if y > 9 { y - 9 } else { y };
        }
    }
    format!("{body}{}", (10 - sum % 10) % 10)
}

/// A pledge with its own Idempotency-Key and the given donor; 503 (a busy database) and 409
/// (the key in use) are retried with the same key. Returns the 201 body.
async fn pledge_as(
    app: &TestApp,
    partner: &str,
    campaign: &str,
    amount: &str,
    donor: Value,
) -> Value {
    let key = uuid::Uuid::new_v4().to_string();
    for _ in 0..300 {
        let res = app
            .send(
                app.client
                    .post(app.url(&format!("/v1/campaigns/{campaign}/pledges")))
                    .bearer_auth(partner)
                    .header("Idempotency-Key", &key)
                    .json(&json!({"amount": amount, "donor": donor})),
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

fn donor(email: &str) -> Value {
    json!({"name": "Donor", "email": email, "locale": "it"})
}

fn donor_with_tax_code(email: &str, tax_code: &str) -> Value {
    json!({"name": "Donor", "email": email, "locale": "it", "tax_code": tax_code})
}

async fn pay(app: &TestApp, partner: &str, pledge: &Value, outcome: &str) {
    app.post(
        &format!("/v1/simulated/payments/{}", pi(pledge)),
        Some(partner),
        json!({"outcome": outcome}),
    )
    .await
    .ok();
}

async fn quadratic_lines(app: &TestApp, fund: &str) -> Vec<Value> {
    app.get(&format!("/v1/funds/{fund}/quadratic"), None)
        .await
        .ok()["campaigns"]
        .as_array()
        .unwrap()
        .clone()
}

/// A quadratic round with a €100 pool and `n` live campaigns.
async fn round(app: &TestApp, n: usize, extra: Value) -> (City, String, Vec<String>) {
    let mut body = json!({"match_policy": "quadratic", "threshold_ratio": "0.001"});
    merge(&mut body, extra);
    let (c, _) = funded_city(app, one_funder("100.00"), body).await;
    let (_, partner) = app.partner("P").await;
    let mut cs = Vec::new();
    for _ in 0..n {
        cs.push(app.live_campaign(&c, json!({"goal": "1000.00"})).await);
    }
    (c, partner, cs)
}

#[actix_web::test]
async fn plus_tags_case_and_gmail_dots_are_one_donor_in_a_quadratic_round() {
    each_backend(|app| async move {
        let (c, partner, cs) = round(&app, 2, json!({})).await;
        for k in 1..=12 {
            let p = pledge_as(
                &app,
                &partner,
                &cs[0],
                "1.00",
                donor(&format!("Sybil.Mail+{k}@Example.org")),
            )
            .await;
            pay(&app, &partner, &p, "succeed").await;
        }
        for email in [
            "john.doe@gmail.com",
            "JohnDoe+news@googlemail.com",
            "j.o.h.n.d.o.e@GMAIL.com",
        ] {
            let p = pledge_as(&app, &partner, &cs[1], "1.00", donor(email)).await;
            pay(&app, &partner, &p, "succeed").await;
        }
        let lines = quadratic_lines(&app, &c.fund).await;
        assert_eq!(lines[0]["donors_counted"], 1, "{}", lines[0]);
        assert_eq!(lines[1]["donors_counted"], 1, "{}", lines[1]);
        // The campaign's own donor count (and so `min_donors`) agrees.
        assert_eq!(app.campaign_view(&cs[0]).await["donors"], 1);
        assert_eq!(app.campaign_view(&cs[0]).await["raised"], "12.00");
        // Dots count outside Gmail: two people.
        let p = pledge_as(
            &app,
            &partner,
            &cs[1],
            "1.00",
            donor("john.doe@example.org"),
        )
        .await;
        pay(&app, &partner, &p, "succeed").await;
        let p = pledge_as(&app, &partner, &cs[1], "1.00", donor("johndoe@example.org")).await;
        pay(&app, &partner, &p, "succeed").await;
        assert_eq!(quadratic_lines(&app, &c.fund).await[1]["donors_counted"], 3);
        // Nothing stored reads as the address (nor its plain hash, as before).
        let fund = app.get(&format!("/v1/funds/{}", c.fund), None).await;
        assert_eq!(fund.ok()["quadratic_identity"], "donor");
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn a_hundred_plus_addressed_one_euro_donors_cannot_capture_the_pool() {
    each_backend(|app| async move {
        let (c, partner, cs) = round(&app, 2, json!({})).await;
        for k in 1..=100 {
            let p = pledge_as(
                &app,
                &partner,
                &cs[0],
                "1.00",
                donor(&format!("x+{k}@example.org")),
            )
            .await;
            pay(&app, &partner, &p, "succeed").await;
        }
        for name in ["anna", "bruno", "carla"] {
            let p = pledge_as(
                &app,
                &partner,
                &cs[1],
                "10.00",
                donor(&format!("{name}@example.org")),
            )
            .await;
            pay(&app, &partner, &p, "succeed").await;
        }
        // One donor weighs nothing; three real ones take the whole pool.
        let lines = quadratic_lines(&app, &c.fund).await;
        assert_eq!(lines[0]["donors_counted"], 1);
        assert_eq!(lines[1]["donors_counted"], 3);
        assert_eq!(
            (lines[0]["share"].as_str(), lines[1]["share"].as_str()),
            (Some("0.00"), Some("100.00"))
        );
        end_all_campaigns(&app).await;
        let finance = app.staff("finance").await;
        app.post_empty(&format!("/v1/funds/{}/distribute", c.fund), Some(&finance))
            .await
            .ok();
        assert_eq!(app.campaign_view(&cs[0]).await["match"]["amount"], "0.00");
        assert_eq!(app.campaign_view(&cs[1]).await["match"]["amount"], "100.00");
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn a_tax_code_round_counts_only_gifts_with_a_tax_code() {
    each_backend(|app| async move {
        // Refused: an identity the service does not know.
        let admin = app.admin().await;
        let area = app.area("TO-VANCHIGLIA", 45.10, 7.70, 0.01).await;
        let mut body = fund_body(&[&area]);
        merge(
            &mut body,
            json!({"match_policy": "quadratic", "quadratic_identity": "email"}),
        );
        app.post("/v1/funds", Some(&admin), body)
            .await
            .assert_problem(422, "validation_failed");

        let (c, partner, cs) = round(&app, 2, json!({"quadratic_identity": "tax_code"})).await;
        let fund = app.get(&format!("/v1/funds/{}", c.fund), None).await;
        assert_eq!(fund.ok()["quadratic_identity"], "tax_code");
        // Campaign 0: two people with tax codes (one gives twice, under two addresses), and
        // five gifts without any. Campaign 1: no tax code at all.
        let (a, b) = (partita_iva(1), partita_iva(2));
        for (email, code) in [
            ("a@example.org", &a),
            ("other@example.org", &a),
            ("b@example.org", &b),
        ] {
            let p = pledge_as(
                &app,
                &partner,
                &cs[0],
                "4.00",
                donor_with_tax_code(email, code),
            )
            .await;
            pay(&app, &partner, &p, "succeed").await;
        }
        for k in 0..5 {
            for cmp in &cs {
                let p = pledge_as(
                    &app,
                    &partner,
                    cmp,
                    "1.00",
                    donor(&format!("n{k}@example.org")),
                )
                .await;
                pay(&app, &partner, &p, "succeed").await;
            }
        }
        let q = app
            .get(&format!("/v1/funds/{}/quadratic", c.fund), None)
            .await;
        assert_eq!(q.ok()["quadratic_identity"], "tax_code");
        let lines = quadratic_lines(&app, &c.fund).await;
        assert_eq!(lines[0]["donors_counted"], 2, "{}", lines[0]);
        assert_eq!(lines[0]["contributions"], "12.00", "{}", lines[0]);
        assert_eq!(lines[1]["donors_counted"], 0, "{}", lines[1]);
        assert_eq!(
            (lines[0]["share"].as_str(), lines[1]["share"].as_str()),
            (Some("100.00"), Some("0.00"))
        );
        app.assert_reconciled().await;
    })
    .await;
}

/// A `per_donation` fund of €1,000 matching one to one, and a live campaign in it.
async fn per_donation_city(app: &TestApp, campaigns: usize) -> (City, Vec<String>) {
    let (c, _) = funded_city(
        app,
        one_funder("1000.00"),
        json!({"match_policy": "per_donation", "match_ratio": "1", "threshold_ratio": "0.001"}),
    )
    .await;
    let mut cs = Vec::new();
    for _ in 0..campaigns {
        cs.push(app.live_campaign(&c, json!({})).await);
    }
    (c, cs)
}

async fn fund_figures(app: &TestApp, fund: &str) -> Value {
    app.get(&format!("/v1/funds/{fund}"), None)
        .await
        .ok()
        .clone()
}

#[actix_web::test]
async fn one_partner_holds_at_most_its_share_and_a_real_donor_still_gets_a_match() {
    each_backend(|app| async move {
        let (c, cs) = per_donation_city(&app, 1).await;
        let (_, flood) = app.partner("Flood").await;
        let (_, honest) = app.partner("Honest").await;
        let mut unpaid = Vec::new();
        for k in 0..8 {
            unpaid.push(
                pledge_as(
                    &app,
                    &flood,
                    &cs[0],
                    "100.00",
                    donor(&format!("bot{k}@example.org")),
                )
                .await,
            );
        }
        let amounts: Vec<&str> = unpaid
            .iter()
            .map(|p| p["match"]["amount"].as_str().unwrap())
            .collect();
        assert_eq!(
            amounts,
            [
                "100.00", "100.00", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00"
            ]
        );
        assert!(unpaid[0]["match"].get("reason").is_none(), "{}", unpaid[0]);
        for p in &unpaid[2..] {
            assert_eq!(p["match"]["reason"], "partner_hold_limit", "{p}");
        }
        assert_eq!(fund_figures(&app, &c.fund).await["held"], "200.00");
        // A real donor through another partner is matched.
        let real = pledge_as(&app, &honest, &cs[0], "100.00", donor("giulia@example.org")).await;
        assert_eq!(real["match"]["amount"], "100.00");
        assert!(real["match"].get("reason").is_none());
        // A paid pledge's hold is reserved, no longer unpaid: the partner may hold again.
        pay(&app, &flood, &unpaid[0], "succeed").await;
        let f = fund_figures(&app, &c.fund).await;
        assert_eq!(
            (f["held"].as_str(), f["reserved"].as_str()),
            (Some("200.00"), Some("100.00"))
        );
        let again = pledge_as(&app, &flood, &cs[0], "100.00", donor("bot8@example.org")).await;
        assert_eq!(again["match"]["amount"], "100.00");
        let capped = pledge_as(&app, &flood, &cs[0], "100.00", donor("bot9@example.org")).await;
        assert_eq!(capped["match"]["amount"], "0.00");
        assert_eq!(capped["match"]["reason"], "partner_hold_limit");
        // A failed payment releases its hold: room again.
        pay(&app, &flood, &unpaid[1], "fail").await;
        let after_release =
            pledge_as(&app, &flood, &cs[0], "100.00", donor("bot10@example.org")).await;
        assert_eq!(after_release["match"]["amount"], "100.00");
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn one_donor_holds_once_per_campaign_until_that_hold_ends() {
    each_backend(|app| async move {
        let (_, cs) = per_donation_city(&app, 2).await;
        let (_, partner) = app.partner("P").await;
        let first = pledge_as(
            &app,
            &partner,
            &cs[0],
            "50.00",
            donor("Marta.Rossi@example.org"),
        )
        .await;
        assert_eq!(first["match"]["amount"], "50.00");
        // The same person (a tagged variant of the address) on the same campaign: no second hold.
        let second = pledge_as(
            &app,
            &partner,
            &cs[0],
            "50.00",
            donor("marta.rossi+2@example.org"),
        )
        .await;
        assert_eq!(second["match"]["amount"], "0.00");
        assert_eq!(second["match"]["reason"], "donor_hold_limit");
        // Another campaign: a hold of its own.
        let elsewhere = pledge_as(
            &app,
            &partner,
            &cs[1],
            "50.00",
            donor("marta.rossi@example.org"),
        )
        .await;
        assert_eq!(elsewhere["match"]["amount"], "50.00");
        // Once the first is paid (reserved, no longer a live hold), the donor may hold again.
        pay(&app, &partner, &first, "succeed").await;
        let third = pledge_as(
            &app,
            &partner,
            &cs[0],
            "50.00",
            donor("marta.rossi@example.org"),
        )
        .await;
        assert_eq!(third["match"]["amount"], "50.00");
        assert!(third["match"].get("reason").is_none());
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn a_storm_of_one_partners_pledges_never_holds_more_than_its_cap() {
    each_backend(|app| async move {
        // Four campaigns: the cap is the fund's, not one campaign's.
        let (c, cs) = per_donation_city(&app, 4).await;
        let (_, flood) = app.partner("Flood").await;
        let storm = (0..40).map(|k| {
            let (app, flood, cmp) = (&app, flood.clone(), cs[k % 4].clone());
            async move {
                pledge_as(
                    app,
                    &flood,
                    &cmp,
                    "30.00",
                    donor(&format!("storm{k}@example.org")),
                )
                .await
            }
        });
        let answers = futures_util::future::join_all(storm).await;
        let promised: i64 = answers
            .iter()
            .map(|p| {
                let a = p["match"]["amount"].as_str().unwrap();
                let (e, cents) = a.split_once('.').unwrap();
                e.parse::<i64>().unwrap() * 100 + cents.parse::<i64>().unwrap()
            })
            .sum();
        // 20 % of €1,000: €200, in holds of €30 (six whole ones and €20 of a seventh).
        assert_eq!(promised, 20_000);
        assert_eq!(fund_figures(&app, &c.fund).await["held"], "200.00");
        assert!(
            answers
                .iter()
                .filter(|p| p["match"]["reason"] == "partner_hold_limit")
                .count()
                >= 33
        );
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn the_partner_hold_share_is_checked_at_start() {
    let with = |v: &'static str| {
        cofund::config::Config::from_lookup(move |k| {
            (k == "COFUND_PARTNER_HOLD_SHARE").then(|| v.to_string())
        })
    };
    for bad in ["0", "1.5", "-0.2", "abc", "20%"] {
        assert!(with(bad).is_err(), "{bad}");
    }
    let ok = with("0.35").unwrap();
    assert_eq!(
        ok.payments.partner_hold_share.to_string_normalized(),
        "0.35"
    );
    let default = cofund::config::Config::from_lookup(|_| None).unwrap();
    assert_eq!(
        default.payments.partner_hold_share.to_string_normalized(),
        "0.2"
    );
}

#[actix_web::test]
async fn the_creator_of_a_batch_cannot_confirm_it() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let cmp = app.live_campaign(&c, json!({})).await;
        let (_, partner) = app.partner("P").await;
        give(&app, &partner, &cmp, "20000.00", "x").await;
        end_all_campaigns(&app).await;
        assert_eq!(
            app.campaign_view(&cmp).await["match"]["status"],
            "committed"
        );
        let maker = app.staff("finance").await;
        let checker = app.second_staff("finance").await;
        let batch = app
            .post("/v1/settlements", Some(&maker), json!({"fund_id": c.fund}))
            .await;
        let id = batch.ok()["id"].as_str().unwrap().to_string();
        let path = format!("/v1/settlements/{id}/confirm");
        let body = json!({"bank_reference": "TRN-1", "paid_at": "2026-11-20T10:00:00Z"});
        let entries = app.count("journal_entries").await;
        let refused = app.post(&path, Some(&maker), body.clone()).await;
        refused.assert_problem(403, "same_user");
        assert!(refused.content_type.starts_with("application/problem+json"));
        // Nothing changed.
        let draft = app
            .get(&format!("/v1/settlements/{id}"), Some(&maker))
            .await;
        assert_eq!(draft.ok()["status"], "draft");
        assert_eq!(app.count("journal_entries").await, entries);
        assert_eq!(
            app.campaign_view(&cmp).await["match"]["status"],
            "committed"
        );
        // Another finance user confirms; the creator cannot replay it either.
        assert_eq!(
            app.post(&path, Some(&checker), body.clone()).await.ok()["status"],
            "confirmed"
        );
        app.post(&path, Some(&maker), body.clone())
            .await
            .assert_problem(403, "same_user");
        assert_eq!(
            app.post(&path, Some(&checker), body).await.ok()["status"],
            "confirmed"
        );
        assert_eq!(app.campaign_view(&cmp).await["match"]["status"], "settled");
        app.assert_reconciled().await;
    })
    .await;
}
