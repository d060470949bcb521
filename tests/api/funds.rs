use crate::helpers::*;
use serde_json::json;

#[actix_web::test]
async fn fund_keeps_every_parameter_and_shows_budget_figures() {
    each_backend(|app| async move {
        let area = app.area("TO-AURORA", IN_AREA.0, IN_AREA.1, 0.01).await;
        let fund = app
            .fund(&[&area], json!({"allocation": "on_approval", "exhaustion_policy": "partial", "min_donors": 25}))
            .await;
        let id = fund["id"].as_str().unwrap();
        assert!(id.starts_with("fund_"));
        let got = app.get(&format!("/v1/funds/{id}"), None).await;
        let f = got.ok();
        assert_eq!(f["budget"], "600000.00");
        assert_eq!(f["available"], "600000.00");
        assert_eq!(f["reserved"], "0.00");
        assert_eq!(f["committed"], "0.00");
        assert_eq!(f["settled"], "0.00");
        assert_eq!(f["threshold_ratio"], "0.5");
        assert_eq!(f["match_ratio"], "0.5");
        assert_eq!(f["max_match_per_campaign"], "50000.00");
        assert_eq!(f["min_goal"], "20000.00");
        assert_eq!(f["max_goal"], "100000.00");
        assert_eq!(f["min_donors"], 25);
        assert_eq!(f["allocation"], "on_approval");
        assert_eq!(f["exhaustion_policy"], "partial");
        assert_eq!(f["cup"], "C11J26000120007");
        assert_eq!(f["eligible_area_ids"], json!([area]));
        let listed = app.get("/v1/funds", None).await;
        assert_eq!(listed.ok()["data"][0]["id"], id);
    })
    .await;
}

#[actix_web::test]
async fn defaults_follow_the_spec() {
    each_backend(|app| async move {
        let area = app.area("A", IN_AREA.0, IN_AREA.1, 0.01).await;
        let admin = app.admin().await;
        let res = app
            .post(
                "/v1/funds",
                Some(&admin),
                json!({"name": "Minimal", "budget": "1000", "eligible_area_ids": [area],
                       "opens_at": "2026-01-01T00:00:00Z", "closes_at": "2027-01-01T00:00:00Z"}),
            )
            .await;
        let f = res.ok();
        assert_eq!(f["currency"], "EUR");
        assert_eq!(f["budget"], "1000.00");
        assert_eq!(f["threshold_ratio"], "0.5");
        assert_eq!(f["match_ratio"], "0.5");
        assert_eq!(f["min_donors"], 1);
        assert_eq!(f["allocation"], "on_threshold");
        assert_eq!(f["exhaustion_policy"], "waitlist");
        assert!(f["max_match_per_campaign"].is_null());
    })
    .await;
}

#[actix_web::test]
async fn invalid_fund_parameters_are_422_and_create_nothing() {
    each_backend(|app| async move {
        let area = app.area("A", IN_AREA.0, IN_AREA.1, 0.01).await;
        let admin = app.admin().await;
        let cases = [
            (json!({"budget": "10.001"}), "budget"),
            (json!({"budget": "-5.00"}), "budget"),
            (json!({"budget": "0"}), "budget"),
            (json!({"budget": "lots"}), "budget"),
            (json!({"threshold_ratio": "0"}), "threshold_ratio"),
            (json!({"match_ratio": "1.5"}), "match_ratio"),
            (json!({"currency": "XYZ"}), "currency"),
            (json!({"min_goal": "200000.00"}), "max_goal"),
            (
                json!({"closes_at": rfc3339(chrono::Duration::days(-20))}),
                "closes_at",
            ),
            (json!({"eligible_area_ids": []}), "eligible_area_ids"),
            (
                json!({"eligible_area_ids": ["area_unknown"]}),
                "eligible_area_ids",
            ),
            (json!({"cup": "too-short"}), "cup"),
            (json!({"allocation": "sometimes"}), "allocation"),
            (json!({"surprise": true}), "surprise"),
        ];
        for (patch, field) in cases {
            let mut body = fund_body(&[&area]);
            merge(&mut body, patch.clone());
            let res = app.post("/v1/funds", Some(&admin), body).await;
            res.assert_problem(422, "validation_failed");
            assert!(
                res.error_fields().contains(&field.to_string()),
                "{patch} → {}",
                res.body
            );
        }
        assert_eq!(app.count("funds").await, 0);
        assert_eq!(app.count("fund_areas").await, 0);
    })
    .await;
}

#[actix_web::test]
async fn finance_raises_and_lowers_the_budget_but_never_below_what_is_promised() {
    each_backend(|app| async move {
        let c = city(
            &app,
            json!({"allocation": "on_approval", "budget": "100000.00"}),
        )
        .await;
        let finance = app.staff("finance").await;
        let path = format!("/v1/funds/{}/budget", c.fund);
        let res = app
            .post(&path, Some(&finance), json!({"budget": "150000.00"}))
            .await;
        assert_eq!(res.ok()["budget"], "150000.00");
        assert_eq!(res.ok()["available"], "150000.00");

        // An approved campaign earmarks €20,000 (half of its €40,000 goal).
        let cmp = app.campaign(&c.member_a, &c.fund, json!({})).await;
        let id = cmp["id"].as_str().unwrap();
        app.post_empty(&format!("/v1/campaigns/{id}/submit"), Some(&c.member_a))
            .await
            .ok();
        let reviewer = app.staff("reviewer").await;
        app.post_empty(&format!("/v1/campaigns/{id}/approve"), Some(&reviewer))
            .await
            .ok();
        let f = app.get(&format!("/v1/funds/{}", c.fund), None).await;
        assert_eq!(f.ok()["reserved"], "20000.00");
        assert_eq!(f.ok()["available"], "130000.00");

        app.post(&path, Some(&finance), json!({"budget": "19999.99"}))
            .await
            .assert_problem(409, "budget_below_commitments");
        let res = app
            .post(&path, Some(&finance), json!({"budget": "20000.00"}))
            .await;
        assert_eq!(res.ok()["available"], "0.00");

        for bad in ["-1.00", "1.234", "abc"] {
            app.post(&path, Some(&finance), json!({"budget": bad}))
                .await
                .assert_problem(422, "validation_failed");
        }
        app.post(&path, Some(&c.member_a), json!({"budget": "999999.00"}))
            .await
            .assert_problem(403, "forbidden");
        app.post(&path, Some(&reviewer), json!({"budget": "999999.00"}))
            .await
            .assert_problem(403, "forbidden");
        app.post(
            "/v1/funds/fund_missing/budget",
            Some(&finance),
            json!({"budget": "1.00"}),
        )
        .await
        .assert_problem(404, "not_found");
        let f = app.get(&format!("/v1/funds/{}", c.fund), None).await;
        assert_eq!(f.ok()["budget"], "20000.00");
    })
    .await;
}

#[actix_web::test]
async fn only_admins_create_funds() {
    each_backend(|app| async move {
        let area = app.area("A", IN_AREA.0, IN_AREA.1, 0.01).await;
        let finance = app.staff("finance").await;
        app.post("/v1/funds", Some(&finance), fund_body(&[&area]))
            .await
            .assert_problem(403, "forbidden");
        app.post("/v1/funds", None, fund_body(&[&area]))
            .await
            .assert_problem(401, "unauthorized");
        assert_eq!(app.count("funds").await, 0);
    })
    .await;
}
