//! Grants: the committed match paid against the plan, reviewed when money leaves the
//! campaign after the decision, revoked and recovered — with figures computed by hand and
//! reconciliation clean after every step.

use crate::helpers::*;
use serde_json::{Value, json};

struct Won {
    c: City,
    partner: String,
    campaign: String,
    grant: String,
    pledges: Vec<Value>,
}

/// Goal 40,000.00, threshold 20,000.00, top-up 20,000.00; two gifts of 10,000.00 cross the
/// threshold and the campaign succeeds with its match committed.
async fn won(app: &TestApp, fund_extra: Value) -> Won {
    let c = city(app, fund_extra).await;
    let (_, partner) = app.partner("P").await;
    let campaign = app.live_campaign(&c, json!({})).await;
    let a = give(app, &partner, &campaign, 10_000, "a").await;
    let b = give(app, &partner, &campaign, 10_000, "b").await;
    end_all_campaigns(app).await;
    let view = app.campaign_view(&campaign).await;
    assert_eq!(view["status"], "succeeded");
    assert_eq!(view["match"]["status"], "committed");
    let grant = format!("grt_{}", campaign.split_once('_').unwrap().1);
    Won {
        c,
        partner,
        campaign,
        grant,
        pledges: vec![a, b],
    }
}

async fn grant(app: &TestApp, token: &str, id: &str) -> Value {
    app.get(&format!("/v1/grants/{id}"), Some(token))
        .await
        .ok()
        .clone()
}

async fn fund(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/v1/funds/{id}"), None).await.ok().clone()
}

/// Drafts a batch (one finance user) and confirms it (the other): four eyes.
async fn pay(app: &TestApp, fund_id: &str, reference: &str) -> Value {
    let finance = app.staff("finance").await;
    let res = app
        .post(
            "/v1/settlements",
            Some(&finance),
            json!({"fund_id": fund_id}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    let batch = res.body.clone();
    let other = app.second_staff("finance").await;
    app.post(
        &format!("/v1/settlements/{}/confirm", batch["id"].as_str().unwrap()),
        Some(&other),
        json!({"bank_reference": reference, "paid_at": rfc3339(chrono::Duration::hours(-1))}),
    )
    .await
    .ok();
    batch
}

#[actix_web::test]
async fn a_match_committed_on_commitment_opens_a_grant_paid_in_full_once() {
    each_backend(|app| async move {
        let w = won(&app, json!({})).await;
        let finance = app.staff("finance").await;
        let g = grant(&app, &finance, &w.grant).await;
        assert_eq!(g["status"], "open");
        assert_eq!(g["payment_plan"], "on_commitment");
        assert_eq!(g["awarded"], "20000.00");
        assert_eq!(g["payable"], "20000.00");
        assert_eq!(g["paid"], "0.00");
        assert_eq!(g["due"], Value::Null);
        assert_eq!(g["tranches"][0]["kind"], "full");
        // The owner reads it; another association does not see it; partners may not ask.
        grant(&app, &w.c.member_a, &w.grant).await;
        app.get(&format!("/v1/grants/{}", w.grant), Some(&w.c.member_b))
            .await
            .assert_problem(404, "not_found");
        let listed = app.get("/v1/grants", Some(&w.c.member_b)).await;
        assert_eq!(listed.ok()["data"].as_array().unwrap().len(), 0);
        app.get("/v1/grants", Some(&w.partner))
            .await
            .assert_problem(403, "forbidden");

        let batch = pay(&app, &w.c.fund, "BANK-1").await;
        let line = &batch["items"][0]["commitments"][0];
        assert_eq!(line["tranche"], "full");
        assert_eq!(line["grant_id"], w.grant.as_str());
        let g = grant(&app, &finance, &w.grant).await;
        assert_eq!(g["paid"], "20000.00");
        assert_eq!(g["payable"], "0.00");
        assert_eq!(g["tranches"][0]["status"], "paid");
        // Nothing left to pay: a second batch finds nothing.
        app.post(
            "/v1/settlements",
            Some(&finance),
            json!({"fund_id": w.c.fund}),
        )
        .await
        .assert_problem(422, "validation_failed");
        assert_eq!(fund(&app, &w.c.fund).await["settled"], "20000.00");
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn a_fund_in_tranches_pays_the_advance_and_holds_the_balance_until_the_report() {
    each_backend(|app| async move {
        let w = won(
            &app,
            json!({"payment_plan": "tranches", "advance_ratio": "0.4", "reporting_days": 90}),
        )
        .await;
        let finance = app.staff("finance").await;
        let g = grant(&app, &finance, &w.grant).await;
        assert_eq!(g["payment_plan"], "tranches");
        assert_eq!(g["payable"], "8000.00");
        assert_eq!(g["not_yet_payable"], "12000.00");
        assert_eq!(g["tranches"][0]["kind"], "advance");
        let batch = pay(&app, &w.c.fund, "ADV-1").await;
        assert_eq!(batch["total"], "8000.00");
        assert_eq!(batch["items"][0]["commitments"][0]["tranche"], "advance");
        let g = grant(&app, &finance, &w.grant).await;
        assert_eq!(g["paid"], "8000.00");
        assert_eq!(g["not_yet_payable"], "12000.00");
        // The balance is not payable before the report is approved.
        app.post(
            "/v1/settlements",
            Some(&finance),
            json!({"fund_id": w.c.fund}),
        )
        .await
        .assert_problem(422, "validation_failed");
        // Approving with no report submitted is refused, and changes nothing.
        app.post_empty(
            &format!("/v1/grants/{}/approve-report", w.grant),
            Some(&finance),
        )
        .await
        .assert_problem(409, "report_not_submitted");
        let f = fund(&app, &w.c.fund).await;
        assert_eq!(f["committed"], "12000.00");
        assert_eq!(f["settled"], "8000.00");
        // The report is due 90 days after the decision.
        let due =
            chrono::DateTime::parse_from_rfc3339(g["report_due_at"].as_str().unwrap()).unwrap();
        let days = (due.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_days();
        assert!((88..=90).contains(&days), "{days}");
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn money_lost_after_the_decision_puts_the_grant_under_review_and_nothing_is_paid() {
    each_backend(|app| async move {
        let w = won(&app, json!({})).await;
        let finance = app.staff("finance").await;
        let admin = app.admin().await;
        // One gift is lost in a dispute: raised 10,000.00 < threshold 20,000.00.
        for outcome in ["dispute", "dispute_lost"] {
            app.post(
                &format!("/v1/simulated/payments/{}", pi(&w.pledges[0])),
                Some(&admin),
                json!({"outcome": outcome}),
            )
            .await
            .ok();
        }
        assert_eq!(app.campaign_view(&w.campaign).await["raised"], "10000.00");
        let g = grant(&app, &finance, &w.grant).await;
        assert_eq!(g["status"], "under_review");
        assert_eq!(g["payable"], "0.00");
        // Nothing of it can be paid.
        app.post(
            "/v1/settlements",
            Some(&finance),
            json!({"fund_id": w.c.fund}),
        )
        .await
        .assert_problem(422, "validation_failed");
        app.post(
            "/v1/settlements",
            Some(&finance),
            json!({"fund_id": w.c.fund, "commitment_ids": [w.campaign]}),
        )
        .await
        .assert_problem(409, "commitment_not_payable");
        // A reviewer may not decide; a reduction above the award is refused.
        let reviewer = app.staff("reviewer").await;
        let url = format!("/v1/grants/{}/review", w.grant);
        app.post(
            &url,
            Some(&reviewer),
            json!({"outcome": "confirm", "reason": "ok"}),
        )
        .await
        .assert_problem(403, "forbidden");
        app.post(
            &url,
            Some(&finance),
            json!({"outcome": "reduce", "amount": "20000.00", "reason": "x"}),
        )
        .await
        .assert_problem(422, "validation_failed");
        app.post(
            &url,
            Some(&finance),
            json!({"outcome": "reduce", "amount": "10.001", "reason": "x"}),
        )
        .await
        .assert_problem(422, "validation_failed");
        assert_eq!(
            grant(&app, &finance, &w.grant).await["status"],
            "under_review"
        );
        // Finance reduces the award to 10,000.00: the rest goes back to the fund.
        let available_before = fund(&app, &w.c.fund).await["available"].clone();
        let res = app
            .post(
                &url,
                Some(&finance),
                json!({"outcome": "reduce", "amount": "10000.00", "reason": "half the crowd left"}),
            )
            .await;
        let g = res.ok().clone();
        assert_eq!(g["status"], "open");
        assert_eq!(g["award"], "10000.00");
        assert_eq!(g["award_status"], "reduced");
        assert_eq!(g["released"], "10000.00");
        assert_eq!(g["payable"], "10000.00");
        let f = fund(&app, &w.c.fund).await;
        assert_eq!(f["committed"], "10000.00");
        let before: f64 = available_before.as_str().unwrap().parse().unwrap();
        let after: f64 = f["available"].as_str().unwrap().parse().unwrap();
        assert_eq!((after - before).round() as i64, 10_000);
        // Deciding again is refused: it is no longer under review.
        app.post(
            &url,
            Some(&finance),
            json!({"outcome": "confirm", "reason": "x"}),
        )
        .await
        .assert_problem(409, "grant_not_under_review");
        let batch = pay(&app, &w.c.fund, "RED-1").await;
        assert_eq!(batch["total"], "10000.00");
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn a_revocation_after_the_advance_asks_it_back_and_a_recovery_returns_it_to_the_fund() {
    each_backend(|app| async move {
        let w = won(&app, json!({"payment_plan": "tranches", "advance_ratio": "0.4"})).await;
        let finance = app.staff("finance").await;
        let admin = app.admin().await;
        pay(&app, &w.c.fund, "ADV-1").await;
        let url = format!("/v1/grants/{}/revoke", w.grant);
        app.post(&url, Some(&finance), json!({"reason": "project not carried out"}))
            .await
            .assert_problem(403, "forbidden");
        app.post(&url, Some(&admin), json!({"reason": "   "}))
            .await
            .assert_problem(422, "validation_failed");
        let g = app
            .post(&url, Some(&admin), json!({"reason": "project not carried out"}))
            .await
            .ok()
            .clone();
        assert_eq!(g["status"], "revoked");
        assert_eq!(g["award_status"], "revoked");
        assert_eq!(g["released"], "12000.00");
        assert_eq!(g["recoverable"], "8000.00");
        assert_eq!(g["payable"], "0.00");
        let f = fund(&app, &w.c.fund).await;
        assert_eq!(f["committed"], "0.00");
        assert_eq!(f["settled"], "0.00");
        assert_eq!(f["recoverable"], "8000.00");
        app.post(&url, Some(&admin), json!({"reason": "again"}))
            .await
            .assert_problem(409, "grant_revoked");
        app.assert_reconciled().await;

        let rec = format!("/v1/grants/{}/recoveries", w.grant);
        let body = |amount: &str, reference: &str| {
            json!({"amount": amount, "received_at": rfc3339(chrono::Duration::hours(-2)), "bank_reference": reference})
        };
        app.post(&rec, Some(&finance), body("8000.01", "R-0"))
            .await
            .assert_problem(409, "more_than_recoverable");
        app.post(&rec, Some(&finance), body("10.001", "R-0"))
            .await
            .assert_problem(422, "validation_failed");
        app.post(&rec, Some(&w.c.member_a), body("100.00", "R-0"))
            .await
            .assert_problem(403, "forbidden");
        let g = app
            .post(&rec, Some(&finance), body("5000.00", "R-1"))
            .await
            .ok()
            .clone();
        assert_eq!(g["recoverable"], "3000.00");
        assert_eq!(g["recovered"], "5000.00");
        // The same bank entry is never counted twice.
        app.post(&rec, Some(&finance), body("3000.00", "R-1"))
            .await
            .assert_problem(409, "recovery_recorded");
        app.post(&rec, Some(&finance), body("3000.00", "R-2"))
            .await
            .ok();
        let f = fund(&app, &w.c.fund).await;
        assert_eq!(f["recoverable"], "0.00");
        assert_eq!(f["settled"], "0.00");
        assert_eq!(f["available"], f["budget"]);
        app.assert_reconciled().await;
    })
    .await;
}

/// POSTs until the database is not busy (503 is the only answer retried).
async fn post_insist(app: &TestApp, path: &str, token: &str, body: Value) -> Response {
    for _ in 0..200 {
        let res = app.post(path, Some(token), body.clone()).await;
        if res.status != 503 {
            return res;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the database stayed busy");
}

#[actix_web::test]
async fn chargebacks_revocations_and_recoveries_racing_batches_pay_every_cent_once() {
    each_backend(|app| async move {
        const CAMPAIGNS: usize = 6;
        let c = city(&app, json!({"payment_plan": "tranches", "advance_ratio": "0.5"})).await;
        let (_, partner) = app.partner("P").await;
        let admin = app.admin().await;
        let fin_a = app.staff("finance").await;
        let fin_b = app.second_staff("finance").await;
        let mut won = Vec::new();
        for k in 0..CAMPAIGNS {
            let cmp = app.live_campaign(&c, json!({"title": format!("Progetto {k}")})).await;
            let a = give(&app, &partner, &cmp, 10_000, &format!("a{k}")).await;
            give(&app, &partner, &cmp, 10_000, &format!("b{k}")).await;
            won.push((cmp, a));
        }
        end_all_campaigns(&app).await;
        // Round 1: two finance users draft batches while half the campaigns lose a gift in a
        // dispute and an admin revokes two grants, all at once.
        let mut tasks = Vec::new();
        for (k, (cmp, gift)) in won.iter().enumerate() {
            let grant = format!("grt_{}", cmp.split_once('_').unwrap().1);
            if k % 2 == 0 {
                let (app, admin, p) = (&app, admin.clone(), pi(gift));
                tasks.push(Box::pin(async move {
                    for outcome in ["dispute", "dispute_lost"] {
                        post_insist(app, &format!("/v1/simulated/payments/{p}"), &admin, json!({"outcome": outcome})).await;
                    }
                }) as std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>);
            }
            if k % 3 == 0 {
                let (app, admin) = (&app, admin.clone());
                tasks.push(Box::pin(async move {
                    post_insist(app, &format!("/v1/grants/{grant}/revoke"), &admin, json!({"reason": "storm"})).await;
                }));
            }
        }
        for token in [&fin_a, &fin_b] {
            let (app, token, fund) = (&app, token.clone(), c.fund.clone());
            tasks.push(Box::pin(async move {
                post_insist(app, "/v1/settlements", &token, json!({"fund_id": fund})).await;
            }));
        }
        futures_util::future::join_all(tasks).await;
        app.assert_reconciled().await;
        // Every draft is confirmed by the other user, or refused (a grant under review or
        // revoked) and then cancelled.
        let drafts = app.get(&format!("/v1/settlements?fund_id={}", c.fund), Some(&fin_a)).await;
        for b in drafts.ok()["data"].as_array().unwrap() {
            if b["status"] != "draft" {
                continue;
            }
            let id = b["id"].as_str().unwrap();
            let mut confirmed = false;
            for token in [&fin_a, &fin_b] {
                let res = post_insist(
                    &app,
                    &format!("/v1/settlements/{id}/confirm"),
                    token,
                    json!({"bank_reference": format!("B-{id}"), "paid_at": rfc3339(chrono::Duration::hours(-1))}),
                )
                .await;
                if res.status == 200 {
                    confirmed = true;
                    break;
                }
            }
            if !confirmed {
                post_insist(&app, &format!("/v1/settlements/{id}/cancel"), &fin_a, json!({})).await.ok();
            }
        }
        app.assert_reconciled().await;
        // Each grant: what its confirmed batches paid is its `paid`, never more than awarded;
        // a revoked grant asks back all it paid; a grant under review has nothing payable.
        let batches = app.get(&format!("/v1/settlements?fund_id={}&limit=200", c.fund), Some(&fin_a)).await;
        let mut paid_by_grant: std::collections::HashMap<String, f64> = Default::default();
        for b in batches.ok()["data"].as_array().unwrap() {
            if b["status"] != "confirmed" {
                continue;
            }
            for item in b["items"].as_array().unwrap() {
                for line in item["commitments"].as_array().unwrap() {
                    *paid_by_grant.entry(line["grant_id"].as_str().unwrap().to_string()).or_default() +=
                        line["amount"].as_str().unwrap().parse::<f64>().unwrap();
                }
            }
        }
        for (cmp, _) in &won {
            let id = format!("grt_{}", cmp.split_once('_').unwrap().1);
            let g = grant(&app, &fin_a, &id).await;
            let paid: f64 = g["paid"].as_str().unwrap().parse().unwrap();
            assert_eq!(paid, paid_by_grant.get(&id).copied().unwrap_or(0.0), "{g}");
            assert!(paid <= 20_000.0);
            match g["status"].as_str().unwrap() {
                "revoked" => assert_eq!(g["recoverable"], g["paid"], "{g}"),
                "under_review" => assert_eq!(g["payable"], "0.00", "{g}"),
                _ => {}
            }
        }
        // Round 2: the same repayment recorded twice at once, and two repayments of everything
        // owed: one of each is refused.
        let revoked = format!("grt_{}", won[3].0.split_once('_').unwrap().1);
        let owed = grant(&app, &fin_a, &revoked).await["recoverable"].clone();
        if owed != "0.00" {
            let url = format!("/v1/grants/{revoked}/recoveries");
            let body = |r: &str| json!({"amount": owed, "received_at": rfc3339(chrono::Duration::hours(-1)), "bank_reference": r});
            let (x, y) = futures_util::future::join(
                post_insist(&app, &url, &fin_a, body("SAME")),
                post_insist(&app, &url, &fin_b, body("SAME")),
            )
            .await;
            let mut codes = [x.status.as_u16(), y.status.as_u16()];
            codes.sort();
            assert_eq!(codes, [200, 409], "{} {}", x.body, y.body);
            let again = post_insist(&app, &url, &fin_a, body("OTHER")).await;
            again.assert_problem(409, "more_than_recoverable");
            let g = grant(&app, &fin_a, &revoked).await;
            assert_eq!(g["recoverable"], "0.00");
            assert_eq!(g["recovered"], owed);
        }
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn a_report_not_submitted_in_time_makes_the_grant_overdue_and_revokes_nothing() {
    each_backend(|app| async move {
        let w = won(&app, json!({"reporting_days": 30})).await;
        let finance = app.staff("finance").await;
        let before = app.count("outbox").await;
        // Within 30 days of the due date the association is reminded, once.
        app.tick().await;
        let reminded = app.count("outbox").await;
        assert!(reminded > before);
        app.tick().await;
        assert_eq!(app.count("outbox").await, reminded);
        app.advance_clock(chrono::TimeDelta::days(31));
        app.tick().await;
        let g = grant(&app, &finance, &w.grant).await;
        assert_eq!(g["status"], "overdue");
        assert_eq!(g["award_status"], "awarded");
        assert_eq!(g["payable"], "20000.00");
        let listed = app.get("/v1/grants?status=overdue", Some(&finance)).await;
        assert_eq!(listed.ok()["data"].as_array().unwrap().len(), 1);
        app.get("/v1/grants?status=nonsense", Some(&finance))
            .await
            .assert_problem(422, "validation_failed");
        app.assert_reconciled().await;
    })
    .await;
}

/// An expense line of `euros` backed by document `doc`.
async fn spend(app: &TestApp, token: &str, grant: &str, euros: &str, doc: &str) -> String {
    let today = chrono::Utc::now().date_naive();
    let res = app
        .post(
            &format!("/v1/grants/{grant}/expenses"),
            Some(token),
            json!({
                "category": "Educatori", "supplier": "Cooperativa Aurora", "document_number": format!("F-{euros}"),
                "document_date": (today - chrono::Days::new(20)).to_string(), "amount": euros,
                "paid_at": (today - chrono::Days::new(10)).to_string(), "payment_method": "bank_transfer",
                "document_ids": [doc],
            }),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    res.body["id"].as_str().unwrap().to_string()
}

#[actix_web::test]
async fn a_report_below_the_cost_with_a_line_rejected_gets_the_balance_due_by_the_rule_paid_once() {
    each_backend(|app| async move {
        // Goal 40,000.00, award 20,000.00, advance 40 %: 8,000.00 paid at once.
        let w = won(
            &app,
            json!({"payment_plan": "tranches", "advance_ratio": "0.4"}),
        )
        .await;
        let finance = app.staff("finance").await;
        let reviewer = app.staff("reviewer").await;
        pay(&app, &w.c.fund, "ADV-1").await;
        let up = crate::grant_reports::upload(
            &app,
            &w.c.member_a,
            &w.grant,
            "fattura.pdf",
            &crate::grant_reports::pdf(),
        )
        .await;
        assert_eq!(up.status, 201, "{}", up.body);
        let doc = up.body["id"].as_str().unwrap().to_string();
        let a = spend(&app, &w.c.member_a, &w.grant, "15000.00", &doc).await;
        let b = spend(&app, &w.c.member_a, &w.grant, "5000.00", &doc).await;
        let c = spend(&app, &w.c.member_a, &w.grant, "10000.00", &doc).await;
        app.post(
            &format!("/v1/grants/{}/report", w.grant),
            Some(&w.c.member_a),
            json!({"summary": "Fatto."}),
        )
        .await
        .ok();
        let approve = format!("/v1/grants/{}/approve-report", w.grant);
        // Lines still unchecked: refused, nothing changes.
        app.post_empty(&approve, Some(&finance))
            .await
            .assert_problem(409, "expenses_unchecked");
        app.post_empty(&format!("/v1/expenses/{a}/accept"), Some(&reviewer))
            .await
            .ok();
        app.post(
            &format!("/v1/expenses/{b}/reject"),
            Some(&reviewer),
            json!({"reason": "not in the cost plan"}),
        )
        .await
        .ok();
        app.post_empty(&format!("/v1/expenses/{c}/accept"), Some(&finance))
            .await
            .ok();
        // A reviewer checks lines but does not approve.
        app.post_empty(&approve, Some(&reviewer))
            .await
            .assert_problem(403, "forbidden");
        let g = app.post_empty(&approve, Some(&finance)).await.ok().clone();
        // Accepted 25,000.00 of 40,000.00: due 20,000.00 × 25,000 ÷ 40,000 = 12,500.00;
        // balance 12,500.00 − 8,000.00 = 4,500.00; 7,500.00 back to the fund.
        assert_eq!(g["status"], "approved");
        assert_eq!(g["accepted_expenses"], "25000.00");
        assert_eq!(g["due"], "12500.00");
        assert_eq!(g["payable"], "4500.00");
        assert_eq!(g["released"], "7500.00");
        assert_eq!(g["recoverable"], "0.00");
        assert_eq!(g["award_status"], "reduced");
        let f = fund(&app, &w.c.fund).await;
        assert_eq!(f["committed"], "4500.00");
        assert_eq!(f["available"], "587500.00");
        app.post_empty(&approve, Some(&finance))
            .await
            .assert_problem(409, "grant_not_reported");
        let batch = pay(&app, &w.c.fund, "BAL-1").await;
        assert_eq!(batch["total"], "4500.00");
        assert_eq!(batch["items"][0]["commitments"][0]["tranche"], "balance");
        let g = grant(&app, &finance, &w.grant).await;
        assert_eq!(g["status"], "closed");
        assert_eq!(g["paid"], "12500.00");
        // Paid once: nothing more to put in a batch.
        app.post(
            "/v1/settlements",
            Some(&finance),
            json!({"fund_id": w.c.fund}),
        )
        .await
        .assert_problem(422, "validation_failed");
        assert_eq!(fund(&app, &w.c.fund).await["settled"], "12500.00");
        assert_eq!(
            app.campaign_view(&w.campaign).await["match"]["status"],
            "settled"
        );
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn less_spent_than_the_advance_makes_the_difference_recoverable() {
    each_backend(|app| async move {
        let w = won(&app, json!({"payment_plan": "tranches", "advance_ratio": "0.4"})).await;
        let finance = app.staff("finance").await;
        pay(&app, &w.c.fund, "ADV-1").await;
        let doc = crate::grant_reports::upload(&app, &w.c.member_a, &w.grant, "ricevuta.pdf", &crate::grant_reports::pdf()).await.body["id"]
            .as_str()
            .unwrap()
            .to_string();
        let a = spend(&app, &w.c.member_a, &w.grant, "10000.00", &doc).await;
        app.post(&format!("/v1/grants/{}/report", w.grant), Some(&w.c.member_a), json!({"summary": "Ridotto."}))
            .await
            .ok();
        app.post_empty(&format!("/v1/expenses/{a}/accept"), Some(&finance)).await.ok();
        let g = app
            .post_empty(&format!("/v1/grants/{}/approve-report", w.grant), Some(&finance))
            .await
            .ok()
            .clone();
        // Due 20,000.00 × 10,000 ÷ 40,000 = 5,000.00 < 8,000.00 paid: 3,000.00 recoverable,
        // the 12,000.00 never paid goes back.
        assert_eq!(g["due"], "5000.00");
        assert_eq!(g["recoverable"], "3000.00");
        assert_eq!(g["released"], "12000.00");
        assert_eq!(g["payable"], "0.00");
        assert_eq!(g["status"], "approved");
        app.post(
            &format!("/v1/grants/{}/recoveries", w.grant),
            Some(&finance),
            json!({"amount": "3000.00", "received_at": rfc3339(chrono::Duration::hours(-1)), "bank_reference": "RIMB-1"}),
        )
        .await
        .ok();
        let g = grant(&app, &finance, &w.grant).await;
        assert_eq!(g["status"], "closed");
        assert_eq!(fund(&app, &w.c.fund).await["settled"], "5000.00");
        app.assert_reconciled().await;
    })
    .await;
}
