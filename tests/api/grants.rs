//! Grants: the committed match paid against the plan, reviewed when money leaves the
//! campaign after the decision, revoked and recovered — with figures computed by hand and
//! reconciliation clean after every step.

use crate::helpers::*;
use serde_json::{Value, json};

async fn give(app: &TestApp, partner: &str, campaign: &str, euros: i64, donor: &str) -> Value {
    let p = app
        .pledge(
            partner,
            campaign,
            &format!("{euros}.00"),
            &format!("{donor}@example.org"),
        )
        .await;
    app.post(
        &format!("/v1/simulated/payments/{}", pi(&p)),
        Some(partner),
        json!({"outcome": "succeed"}),
    )
    .await
    .ok();
    p
}

async fn end_all_campaigns(app: &TestApp) {
    let at = |m: i64| {
        (chrono::Utc::now() + chrono::Duration::minutes(m))
            .naive_utc()
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    app.sql(&format!(
        "UPDATE campaigns SET starts_at = '{}', ends_at = '{}' WHERE status = 'live'",
        at(-60 * 24 * 40),
        at(-1)
    ))
    .await;
    app.tick().await;
}

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
