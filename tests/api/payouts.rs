//! Crowd payouts with the simulated provider: a succeeded campaign's crowd money reaches its
//! association once, refunds after the payout are taken back, late money follows, a failed
//! campaign pays nothing, and associations without an account are paid by bank batches.

use crate::helpers::*;
use crate::xsd;
use serde_json::{Value, json};
use std::time::Duration;

const XSD: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/pain.001.001.03.xsd"
));

/// A collection account, so bank batches can produce files.
fn with_collection(c: &mut cofund::config::Config) {
    c.collection.iban =
        Some(cofund::domain::iban::Iban::parse("IT82X0306909606100000071234").unwrap());
    c.collection.name = "Rete del Dono Civico".into();
}

async fn payouts_of(app: &TestApp, query: &str) -> Vec<Value> {
    let finance = app.staff("finance").await;
    app.get(&format!("/v1/payouts?{query}"), Some(&finance))
        .await
        .ok()["data"]
        .as_array()
        .unwrap()
        .clone()
}

async fn crowd_money(app: &TestApp, association: &str, campaign: &str) -> Value {
    let admin = app.admin().await;
    let rows = app
        .get(
            &format!("/v1/associations/{association}/crowd-money"),
            Some(&admin),
        )
        .await;
    rows.ok()
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["campaign_id"] == campaign)
        .cloned()
        .unwrap_or_else(|| panic!("no crowd money row for {campaign}: {}", rows.body))
}

/// Opens association A's payout account (active at once with the simulated provider).
async fn open_account(app: &TestApp, c: &City) -> Value {
    let res = app
        .post_empty(
            &format!("/v1/associations/{}/payout-account", c.asso_a),
            Some(&c.member_a),
        )
        .await;
    res.ok().clone()
}

#[actix_web::test]
async fn a_succeeded_campaign_is_paid_out_once_even_when_the_job_runs_twice_at_once() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let (_, partner) = app.partner("P").await;
        let cmp = app.live_campaign(&c, json!({"goal": "20000.00"})).await;
        for (i, euros) in [4000, 3500, 2600].into_iter().enumerate() {
            give(&app, &partner, &cmp, euros, &format!("donor{i}")).await;
        }
        // Nothing leaves before the decision.
        app.tick().await;
        assert!(payouts_of(&app, "").await.is_empty());
        end_all_campaigns(&app).await;
        assert_eq!(app.campaign_view(&cmp).await["status"], "succeeded");
        // The account is opened after the decision: the money waited for it.
        assert!(payouts_of(&app, "").await.is_empty());
        let account = open_account(&app, &c).await;
        assert_eq!(account["status"], "active", "{account}");
        assert!(account["account_id"].as_str().unwrap().starts_with("acct_"));
        // Two replicas run the payout job at the same moment, then it runs again.
        let (a, b) = tokio::join!(
            cofund::app::payouts::run(&app.state),
            cofund::app::payouts::run(&app.state)
        );
        assert_eq!(a.unwrap().paid + b.unwrap().paid, 1);
        app.tick().await;
        app.tick().await;
        let paid = payouts_of(&app, &format!("campaign_id={cmp}")).await;
        assert_eq!(paid.len(), 1, "{paid:?}");
        let p = &paid[0];
        assert_eq!(p["amount"], "10100.00");
        assert_eq!(p["fee"], "0.00");
        assert_eq!(p["status"], "paid");
        assert_eq!(p["method"], "provider_transfer");
        assert!(p["id"].as_str().unwrap().starts_with("pay_"));
        assert!(p["provider_reference"].as_str().unwrap().starts_with("tr_"));
        let money = crowd_money(&app, &c.asso_a, &cmp).await;
        assert_eq!(money["raised"], "10100.00");
        assert_eq!(money["paid_out"], "10100.00");
        assert_eq!(money["payable"], "0.00");
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn the_platform_fee_is_kept_and_shown_on_the_payout() {
    each_backend_with(
        |c| c.payments.platform_fee_ratio = Some("0.015".parse().unwrap()),
        |app| async move {
            let c = city(&app, json!({})).await;
            let (_, partner) = app.partner("P").await;
            open_account(&app, &c).await;
            let cmp = app.live_campaign(&c, json!({"goal": "20000.00"})).await;
            give(&app, &partner, &cmp, 10001, "a").await;
            end_all_campaigns(&app).await;
            app.tick().await;
            let p = &payouts_of(&app, "").await[0];
            // 1.5 % of 10,001.00 € is 150.015 €: 150.02 € half-up.
            assert_eq!(p["fee"], "150.02");
            assert_eq!(p["amount"], "9850.98");
            let money = crowd_money(&app, &c.asso_a, &cmp).await;
            assert_eq!(money["fee"], "150.02");
            app.assert_reconciled().await;
        },
    )
    .await;
}

#[actix_web::test]
async fn a_lost_dispute_after_the_payout_is_taken_back_from_the_association() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let (_, partner) = app.partner("P").await;
        open_account(&app, &c).await;
        let cmp = app.live_campaign(&c, json!({"goal": "20000.00"})).await;
        give(&app, &partner, &cmp, 9000, "a").await;
        let disputed = give(&app, &partner, &cmp, 1500, "b").await;
        end_all_campaigns(&app).await;
        app.tick().await;
        assert_eq!(payouts_of(&app, "status=paid").await.len(), 1);
        for outcome in ["dispute", "dispute_lost"] {
            app.post(
                &format!("/v1/simulated/payments/{}", pi(&disputed)),
                Some(&partner),
                json!({"outcome": outcome}),
            )
            .await
            .ok();
        }
        // Between the loss and the reversal the books already say what is owed back.
        let money = crowd_money(&app, &c.asso_a, &cmp).await;
        assert_eq!(money["being_reversed"], "1500.00", "{money}");
        app.assert_reconciled().await;
        let report = app.tick().await;
        assert_eq!(report.reversals_done, 1);
        let p = &payouts_of(&app, "").await[0];
        assert_eq!(p["amount"], "10500.00");
        assert_eq!(p["reversed"], "1500.00");
        let money = crowd_money(&app, &c.asso_a, &cmp).await;
        assert_eq!(money["raised"], "9000.00");
        assert_eq!(money["paid_out"], "9000.00");
        assert_eq!(money["being_reversed"], "0.00");
        assert_eq!(money["owed"], "0.00");
        // Nothing more happens on later passes.
        let again = app.tick().await;
        assert_eq!((again.reversals_done, again.payouts_paid), (0, 0));
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn late_money_on_a_succeeded_campaign_is_paid_in_a_follow_up() {
    each_backend_with(
        |c| c.closing_grace = Duration::ZERO,
        |app| async move {
            let c = city(&app, json!({})).await;
            let (_, partner) = app.partner("P").await;
            open_account(&app, &c).await;
            let cmp = app.live_campaign(&c, json!({"goal": "20000.00"})).await;
            give(&app, &partner, &cmp, 10000, "a").await;
            // A donor still paying when the campaign is decided.
            let late = app
                .pledge(&partner, &cmp, "250.00", "late@example.org")
                .await;
            end_all_campaigns(&app).await;
            assert_eq!(app.campaign_view(&cmp).await["status"], "succeeded");
            app.tick().await;
            app.post(
                &format!("/v1/simulated/payments/{}", pi(&late)),
                Some(&partner),
                json!({"outcome": "succeed"}),
            )
            .await
            .ok();
            app.tick().await;
            let all = payouts_of(&app, &format!("campaign_id={cmp}")).await;
            let mut amounts: Vec<&str> =
                all.iter().map(|p| p["amount"].as_str().unwrap()).collect();
            amounts.sort();
            assert_eq!(amounts, ["10000.00", "250.00"], "{all:?}");
            assert!(all.iter().all(|p| p["status"] == "paid"));
            app.assert_reconciled().await;
        },
    )
    .await;
}

#[actix_web::test]
async fn a_failed_campaign_pays_nothing_out() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let (_, partner) = app.partner("P").await;
        open_account(&app, &c).await;
        let cmp = app.live_campaign(&c, json!({"goal": "20000.00"})).await;
        give(&app, &partner, &cmp, 100, "a").await;
        end_all_campaigns(&app).await;
        assert_eq!(app.campaign_view(&cmp).await["status"], "failed");
        app.tick().await;
        app.tick().await;
        assert!(payouts_of(&app, "").await.is_empty());
        let money = crowd_money(&app, &c.asso_a, &cmp).await;
        assert_eq!(money["paid_out"], "0.00");
        assert_eq!(money["payable"], "0.00");
        let finance = app.staff("finance").await;
        app.post("/v1/payouts/batches", Some(&finance), json!({}))
            .await
            .assert_problem(409, "nothing_payable");
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn an_association_without_an_account_is_paid_by_a_bank_batch_with_four_eyes() {
    each_backend_with(with_collection, |app| async move {
        let c = city(&app, json!({})).await;
        let (_, partner) = app.partner("P").await;
        let cmp = app.live_campaign(&c, json!({"goal": "20000.00"})).await;
        give(&app, &partner, &cmp, 12000, "a").await;
        end_all_campaigns(&app).await;
        app.tick().await;
        // No account: no transfer, the money waits for the bank.
        assert!(payouts_of(&app, "").await.is_empty());
        let money = crowd_money(&app, &c.asso_a, &cmp).await;
        assert_eq!(money["payable"], "12000.00");
        assert_eq!(money["awaiting_bank_batch"], true);
        let finance = app.staff("finance").await;
        let batch = app
            .post("/v1/payouts/batches", Some(&finance), json!({}))
            .await;
        let batch = batch.ok().clone();
        assert_eq!(batch["status"], "draft");
        assert_eq!(batch["total"], "12000.00");
        assert_eq!(batch["payouts"].as_array().unwrap().len(), 1);
        assert_eq!(batch["payouts"][0]["method"], "bank_batch");
        assert_eq!(batch["payouts"][0]["iban"], "IT60X0542811101000000123456");
        let id = batch["id"].as_str().unwrap();
        // The same money is in one batch only.
        app.post("/v1/payouts/batches", Some(&finance), json!({}))
            .await
            .assert_problem(409, "nothing_payable");
        let res = app
            .get(
                &format!("/v1/payouts/batches/{id}/sepa.xml"),
                Some(&finance),
            )
            .await;
        assert_eq!(res.status, 200);
        assert!(res.content_type.starts_with("application/xml"));
        let xml = res.body.as_str().unwrap().to_string();
        xsd::validate(XSD, &xml).unwrap_or_else(|e| panic!("invalid pain.001: {e:#?}\n{xml}"));
        assert!(
            xml.contains("<IBAN>IT82X0306909606100000071234</IBAN>"),
            "{xml}"
        );
        assert!(
            xml.contains("<InstdAmt Ccy=\"EUR\">12000.00</InstdAmt>"),
            "{xml}"
        );
        // Four eyes: its creator cannot confirm it.
        let body =
            json!({"bank_reference": "CRO-2026-77", "paid_at": rfc3339(chrono::Duration::zero())});
        app.post(
            &format!("/v1/payouts/batches/{id}/confirm"),
            Some(&finance),
            body.clone(),
        )
        .await
        .assert_problem(403, "same_user");
        assert_eq!(payouts_of(&app, "status=pending").await.len(), 1);
        let other = app.second_staff("finance").await;
        let done = app
            .post(
                &format!("/v1/payouts/batches/{id}/confirm"),
                Some(&other),
                body.clone(),
            )
            .await;
        assert_eq!(done.ok()["status"], "confirmed");
        // Again with the same reference: nothing changes; with another: 409.
        app.post(
            &format!("/v1/payouts/batches/{id}/confirm"),
            Some(&other),
            body,
        )
        .await
        .ok();
        app.post(
            &format!("/v1/payouts/batches/{id}/confirm"),
            Some(&other),
            json!({"bank_reference": "CRO-OTHER", "paid_at": rfc3339(chrono::Duration::zero())}),
        )
        .await
        .assert_problem(409, "confirmed_elsewhere");
        let paid = payouts_of(&app, "status=paid").await;
        assert_eq!(paid.len(), 1);
        assert_eq!(paid[0]["provider_reference"], "CRO-2026-77");
        // Opening an account afterwards pays nothing twice.
        open_account(&app, &c).await;
        app.tick().await;
        assert_eq!(payouts_of(&app, "").await.len(), 1);
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn a_cancelled_batch_makes_its_money_payable_again() {
    each_backend_with(with_collection, |app| async move {
        let c = city(&app, json!({})).await;
        let (_, partner) = app.partner("P").await;
        let cmp = app.live_campaign(&c, json!({"goal": "20000.00"})).await;
        give(&app, &partner, &cmp, 12000, "a").await;
        end_all_campaigns(&app).await;
        let finance = app.staff("finance").await;
        let batch = app
            .post("/v1/payouts/batches", Some(&finance), json!({}))
            .await;
        let id = batch.ok()["id"].as_str().unwrap().to_string();
        let cancelled = app
            .post_empty(&format!("/v1/payouts/batches/{id}/cancel"), Some(&finance))
            .await;
        assert_eq!(cancelled.ok()["status"], "cancelled");
        assert_eq!(payouts_of(&app, "status=failed").await.len(), 1);
        assert_eq!(
            crowd_money(&app, &c.asso_a, &cmp).await["payable"],
            "12000.00"
        );
        app.assert_reconciled().await;
        // Paid by the provider once the association has an account.
        open_account(&app, &c).await;
        app.tick().await;
        let paid = payouts_of(&app, "status=paid").await;
        assert_eq!(paid.len(), 1);
        assert_eq!(paid[0]["amount"], "12000.00");
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn a_refund_after_a_bank_payout_is_owed_by_the_association() {
    each_backend_with(with_collection, |app| async move {
        let c = city(&app, json!({})).await;
        let (_, partner) = app.partner("P").await;
        let cmp = app.live_campaign(&c, json!({"goal": "20000.00"})).await;
        give(&app, &partner, &cmp, 12000, "a").await;
        let disputed = give(&app, &partner, &cmp, 1000, "b").await;
        end_all_campaigns(&app).await;
        let finance = app.staff("finance").await;
        let other = app.second_staff("finance").await;
        let id = app
            .post("/v1/payouts/batches", Some(&finance), json!({}))
            .await
            .ok()["id"]
            .as_str()
            .unwrap()
            .to_string();
        app.post(
            &format!("/v1/payouts/batches/{id}/confirm"),
            Some(&other),
            json!({"bank_reference": "CRO-1", "paid_at": rfc3339(chrono::Duration::zero())}),
        )
        .await
        .ok();
        for outcome in ["dispute", "dispute_lost"] {
            app.post(
                &format!("/v1/simulated/payments/{}", pi(&disputed)),
                Some(&partner),
                json!({"outcome": outcome}),
            )
            .await
            .ok();
        }
        let report = app.tick().await;
        assert_eq!(report.reversals_owed, 1);
        let money = crowd_money(&app, &c.asso_a, &cmp).await;
        assert_eq!(money["owed"], "1000.00");
        assert_eq!(money["paid_out"], "12000.00");
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn a_payout_account_and_its_payouts_belong_to_their_association_alone() {
    each_backend_with(with_collection, |app| async move {
        let c = city(&app, json!({})).await;
        let (_, partner) = app.partner("P").await;
        let reviewer = app.staff("reviewer").await;
        let path = format!("/v1/associations/{}/payout-account", c.asso_a);
        // Another association's member: it does not exist for them.
        app.post_empty(&path, Some(&c.member_b))
            .await
            .assert_problem(404, "not_found");
        app.get(&path, Some(&c.member_b))
            .await
            .assert_problem(404, "not_found");
        for token in [&partner, &reviewer] {
            app.post_empty(&path, Some(token))
                .await
                .assert_problem(403, "forbidden");
        }
        app.post_empty(&path, None)
            .await
            .assert_problem(401, "unauthorized");
        // Nothing was created by the refused requests.
        let finance = app.staff("finance").await;
        assert_eq!(app.get(&path, Some(&finance)).await.ok()["status"], "none");
        // The member's own: created once, whoever asks again.
        let first = open_account(&app, &c).await;
        let admin = app.admin().await;
        let again = app.post_empty(&path, Some(&admin)).await.ok().clone();
        assert_eq!(first["account_id"], again["account_id"]);
        // Payouts: B sees none of A's, and may not ask for them.
        let cmp = app.live_campaign(&c, json!({"goal": "20000.00"})).await;
        give(&app, &partner, &cmp, 10000, "a").await;
        end_all_campaigns(&app).await;
        app.tick().await;
        assert_eq!(
            app.get("/v1/payouts", Some(&c.member_a)).await.ok()["data"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert!(
            app.get("/v1/payouts", Some(&c.member_b)).await.ok()["data"]
                .as_array()
                .unwrap()
                .is_empty()
        );
        app.get(
            &format!("/v1/payouts?association_id={}", c.asso_a),
            Some(&c.member_b),
        )
        .await
        .assert_problem(404, "not_found");
        app.get("/v1/payouts", Some(&partner))
            .await
            .assert_problem(403, "forbidden");
        app.get(
            &format!("/v1/associations/{}/crowd-money", c.asso_a),
            Some(&c.member_b),
        )
        .await
        .assert_problem(404, "not_found");
        // Bank batches are finance's.
        for token in [&c.member_a, &partner, &reviewer] {
            app.post("/v1/payouts/batches", Some(token), json!({}))
                .await
                .assert_problem(403, "forbidden");
        }
        app.get("/v1/payouts?status=lost", Some(&finance))
            .await
            .assert_problem(422, "validation_failed");
        app.post(
            "/v1/payouts/batches",
            Some(&finance),
            json!({"currency": "E\u{0}R"}),
        )
        .await
        .assert_problem(422, "invalid_text");
        app.post(
            "/v1/payouts/batches",
            Some(&finance),
            json!({"currency": "EURO"}),
        )
        .await
        .assert_problem(422, "validation_failed");
    })
    .await;
}

/// Retries a request the busy database refused (503), as a client would.
async fn insist(app: &TestApp, make: impl Fn() -> reqwest::RequestBuilder) -> Response {
    for _ in 0..100 {
        let res = app.send(make()).await;
        if res.status != 503 {
            return res;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the database stayed busy");
}

/// Success, late money, lost disputes and two replicas running the payout job at once: every
/// cent the association is owed is paid out once, what went back is taken back once, and the
/// books reconcile after every wave.
#[actix_web::test]
async fn a_storm_of_late_money_disputes_and_two_payout_jobs_pays_every_cent_once() {
    each_backend_with(
        |c| {
            c.closing_grace = Duration::ZERO;
            c.payments.platform_fee_ratio = Some("0.02".parse().unwrap());
        },
        |app| async move {
            let c = city(&app, json!({})).await;
            let (_, partner) = app.partner("P").await;
            open_account(&app, &c).await;
            let cmp = app.live_campaign(&c, json!({"goal": "20000.00"})).await;
            // 16 gifts of 777.77 € paid before the end, 8 still being paid at the decision.
            let mut paid = Vec::new();
            for i in 0..16 {
                let p = app
                    .pledge(&partner, &cmp, "777.77", &format!("early{i}@example.org"))
                    .await;
                app.post(
                    &format!("/v1/simulated/payments/{}", pi(&p)),
                    Some(&partner),
                    json!({"outcome": "succeed"}),
                )
                .await
                .ok();
                paid.push(p);
            }
            let mut late = Vec::new();
            for i in 0..8 {
                late.push(
                    app.pledge(&partner, &cmp, "777.77", &format!("late{i}@example.org"))
                        .await,
                );
            }
            end_all_campaigns(&app).await;
            assert_eq!(app.campaign_view(&cmp).await["status"], "succeeded");
            app.assert_reconciled().await;

            let outcome = |payment: String, outcome: &'static str| {
                let (app, partner) = (&app, &partner);
                async move {
                    let url = app.url(&format!("/v1/simulated/payments/{payment}"));
                    insist(app, || {
                        app.client
                            .post(&url)
                            .bearer_auth(partner)
                            .json(&json!({"outcome": outcome}))
                    })
                    .await
                    .ok();
                }
            };
            let jobs = |passes: usize| {
                let app = &app;
                async move {
                    for _ in 0..passes {
                        cofund::app::payouts::run(&app.state).await.unwrap();
                    }
                }
            };
            // Wave 1: late money arrives and six gifts are disputed while two replicas pay out.
            let mut wave = Vec::new();
            for p in &late {
                wave.push(Box::pin(outcome(pi(p), "succeed"))
                    as std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>);
            }
            for p in &paid[..6] {
                wave.push(Box::pin(outcome(pi(p), "dispute")));
            }
            wave.push(Box::pin(jobs(5)));
            wave.push(Box::pin(jobs(5)));
            futures_util::future::join_all(wave).await;
            app.assert_reconciled().await;
            // Wave 2: four disputes are lost, two won, while both replicas keep paying out.
            let mut wave = Vec::new();
            for (i, p) in paid[..6].iter().enumerate() {
                let o = if i < 4 { "dispute_lost" } else { "dispute_won" };
                wave.push(Box::pin(outcome(pi(p), o))
                    as std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>);
            }
            wave.push(Box::pin(jobs(5)));
            wave.push(Box::pin(jobs(5)));
            futures_util::future::join_all(wave).await;
            app.assert_reconciled().await;
            // Until nothing is left to do.
            for _ in 0..3 {
                app.tick().await;
            }
            app.assert_reconciled().await;

            // 16 + 8 gifts, 4 lost: 20 × 777.77 € = 15,555.40 €; 2 % fee = 311.108 → 311.11 €.
            let view = app.campaign_view(&cmp).await;
            assert_eq!(view["raised"], "15555.40");
            let money = crowd_money(&app, &c.asso_a, &cmp).await;
            assert_eq!(money["raised"], "15555.40");
            assert_eq!(money["fee"], "311.11");
            assert_eq!(money["paid_out"], "15244.29");
            assert_eq!(money["payable"], "0.00");
            assert_eq!(money["being_reversed"], "0.00");
            assert_eq!(money["owed"], "0.00");
            let all = payouts_of(&app, &format!("campaign_id={cmp}&limit=200")).await;
            // "1234.56" → 123456 (every amount here has two decimals).
            let cents =
                |s: &Value| -> i64 { s.as_str().unwrap().replace('.', "").parse().unwrap() };
            let sent: i64 = all
                .iter()
                .filter(|p| p["status"] == "paid")
                .map(|p| cents(&p["amount"]))
                .sum();
            let back: i64 = all.iter().map(|p| cents(&p["reversed"])).sum();
            assert_eq!(sent - back, 1_524_429, "{all:?}");
            // Each payout shows the fee kept on the money it paid; the fee of money that went
            // back later went back with it (the campaign's fee above is what is kept).
            let fees: i64 = all
                .iter()
                .filter(|p| p["status"] == "paid")
                .map(|p| cents(&p["fee"]))
                .sum();
            assert!(fees >= 31_111, "fees shown {fees}");
            let mut refs: Vec<&str> = all
                .iter()
                .filter_map(|p| p["provider_reference"].as_str())
                .collect();
            let n = refs.len();
            refs.sort();
            refs.dedup();
            assert_eq!(refs.len(), n, "a transfer counted for two payouts");
        },
    )
    .await;
}

#[actix_web::test]
async fn a_batch_confirmation_with_bad_fields_is_refused_and_changes_nothing() {
    each_backend_with(with_collection, |app| async move {
        let c = city(&app, json!({})).await;
        let (_, partner) = app.partner("P").await;
        let cmp = app.live_campaign(&c, json!({"goal": "20000.00"})).await;
        give(&app, &partner, &cmp, 12000, "a").await;
        end_all_campaigns(&app).await;
        let finance = app.staff("finance").await;
        let other = app.second_staff("finance").await;
        let id = app
            .post("/v1/payouts/batches", Some(&finance), json!({}))
            .await
            .ok()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let confirm = format!("/v1/payouts/batches/{id}/confirm");
        let now = rfc3339(chrono::Duration::zero());
        app.post(
            &confirm,
            Some(&other),
            json!({"bank_reference": "CRO\u{0}1", "paid_at": now}),
        )
        .await
        .assert_problem(422, "invalid_text");
        app.post(
            &confirm,
            Some(&other),
            json!({"bank_reference": "  ", "paid_at": now}),
        )
        .await
        .assert_problem(422, "validation_failed");
        app.post(
            &confirm,
            Some(&other),
            json!({"bank_reference": "x".repeat(141), "paid_at": now}),
        )
        .await
        .assert_problem(422, "validation_failed");
        app.post(
            &confirm,
            Some(&other),
            json!({"bank_reference": "CRO-1", "paid_at": rfc3339(chrono::Duration::days(3))}),
        )
        .await
        .assert_problem(422, "validation_failed");
        app.post(&confirm, Some(&other), json!({"bank_reference": "CRO-1"}))
            .await
            .assert_problem(422, "validation_failed");
        app.post(
            &confirm,
            Some(&other),
            json!({"bank_reference": "CRO-1", "paid_at": now, "extra": 1}),
        )
        .await
        .assert_problem(422, "validation_failed");
        app.post(
            "/v1/payouts/batches/pbt_nope/confirm",
            Some(&other),
            json!({"bank_reference": "CRO-1", "paid_at": now}),
        )
        .await
        .assert_problem(404, "not_found");
        // Nothing changed: the batch is a draft, its payout pending, the money not paid.
        let batch = app
            .get(&format!("/v1/payouts/batches/{id}"), Some(&finance))
            .await;
        assert_eq!(batch.ok()["status"], "draft");
        assert_eq!(payouts_of(&app, "status=pending").await.len(), 1);
        assert!(payouts_of(&app, "status=paid").await.is_empty());
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn without_a_collection_account_no_bank_file_is_produced() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let (_, partner) = app.partner("P").await;
        let cmp = app.live_campaign(&c, json!({"goal": "20000.00"})).await;
        give(&app, &partner, &cmp, 12000, "a").await;
        end_all_campaigns(&app).await;
        let finance = app.staff("finance").await;
        let id = app
            .post("/v1/payouts/batches", Some(&finance), json!({}))
            .await
            .ok()["id"]
            .as_str()
            .unwrap()
            .to_string();
        app.get(
            &format!("/v1/payouts/batches/{id}/sepa.xml"),
            Some(&finance),
        )
        .await
        .assert_problem(409, "collection_account_not_configured");
    })
    .await;
}
