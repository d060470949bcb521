//! The finance office: commitments, settlement batches, SEPA files, reports and the audit trail.

use crate::helpers::*;
use crate::xsd;
use serde_json::json;

const XSD: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/pain.001.001.03.xsd"
));

/// Pledges `euros` and has the simulated provider confirm it.
struct Scene {
    c: City,
    winners: Vec<String>,
    loser: String,
}

/// Two associations (one with a name full of SEPA-hostile characters), three succeeded
/// campaigns with committed matches, one failed campaign.
async fn scene(app: &TestApp) -> Scene {
    let area = app.area("TO-AURORA", IN_AREA.0, IN_AREA.1, 0.01).await;
    let fund = app.fund(&[&area], json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (asso_a, member_a) = app
        .association("Associazione «Città Àperta» & <Amici>", "12345678903")
        .await;
    let (asso_b, member_b) = app
        .association("Cooperativa Mirafiori", "00743110157")
        .await;
    let c = City {
        area,
        fund,
        asso_a,
        member_a,
        asso_b,
        member_b,
    };
    let (_, partner) = app.partner("P").await;
    let w1 = app
        .live_campaign(&c, json!({"title": "Doposcuola & compiti"}))
        .await;
    let w2 = app
        .live_campaign(&c, json!({"title": "Orti condivisi", "goal": "60000.00"}))
        .await;
    let cmp_b = app
        .campaign(&c.member_b, &c.fund, json!({"title": "Biblioteca"}))
        .await;
    let w3 = cmp_b["id"].as_str().unwrap().to_string();
    app.post_empty(&format!("/v1/campaigns/{w3}/submit"), Some(&c.member_b))
        .await
        .ok();
    let reviewer = app.staff("reviewer").await;
    app.post_empty(&format!("/v1/campaigns/{w3}/approve"), Some(&reviewer))
        .await
        .ok();
    let loser = app.live_campaign(&c, json!({"title": "Palestra"})).await;
    app.tick().await;
    give(app, &partner, &w1, 20_000, "a").await;
    give(app, &partner, &w2, 30_000, "b").await;
    give(app, &partner, &w3, 25_000, "c").await;
    give(app, &partner, &loser, 100, "d").await;
    end_all_campaigns(app).await;
    for w in [&w1, &w2, &w3] {
        assert_eq!(app.campaign_view(w).await["match"]["status"], "committed");
    }
    assert_eq!(app.campaign_view(&loser).await["status"], "failed");
    Scene {
        c,
        winners: vec![w1, w2, w3],
        loser,
    }
}

#[actix_web::test]
async fn a_batch_pays_each_association_once_with_a_valid_sepa_file() {
    each_backend(|app| async move {
        let s = scene(&app).await;
        let finance = app.staff("finance").await;
        let commitments = app
            .get(
                &format!("/v1/funds/{}/commitments", s.c.fund),
                Some(&finance),
            )
            .await;
        assert_eq!(commitments.ok()["data"].as_array().unwrap().len(), 3);

        let res = app
            .post(
                "/v1/settlements",
                Some(&finance),
                json!({"fund_id": s.c.fund}),
            )
            .await;
        assert_eq!(res.status, 201, "{}", res.body);
        let batch = res.body.clone();
        let id = batch["id"].as_str().unwrap().to_string();
        assert!(id.starts_with("stl_"));
        assert_eq!(batch["status"], "draft");
        // Top-ups: €20,000 + €30,000 (association A) and €20,000 (B).
        assert_eq!(batch["total"], "70000.00");
        let items = batch["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        let a = items
            .iter()
            .find(|i| i["association_id"] == s.c.asso_a.as_str())
            .unwrap();
        assert_eq!(a["amount"], "50000.00");
        assert_eq!(a["commitments"].as_array().unwrap().len(), 2);
        assert_eq!(a["iban"], "IT60X0542811101000000123456");
        let listed = app
            .get(
                &format!("/v1/funds/{}/commitments", s.c.fund),
                Some(&finance),
            )
            .await;
        assert!(
            listed.ok()["data"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["status"] == "in_batch")
        );

        let xml = app
            .get(&format!("/v1/settlements/{id}/sepa.xml"), Some(&finance))
            .await;
        assert_eq!(xml.status, 200);
        assert!(xml.content_type.starts_with("application/xml"));
        let xml = xml.body.as_str().unwrap().to_string();
        xsd::validate(XSD, &xml).unwrap_or_else(|e| panic!("invalid pain.001: {e:#?}\n{xml}"));
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let text = |name: &str| {
            doc.descendants()
                .filter(|n| n.has_tag_name(name))
                .map(|n| n.text().unwrap_or("").to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(text("NbOfTxs"), vec!["2", "2"]);
        assert_eq!(text("CtrlSum"), vec!["70000.00", "70000.00"]);
        let amounts: Vec<String> = text("InstdAmt");
        assert_eq!(
            amounts
                .iter()
                .map(|a| a.replace('.', "").parse::<i64>().unwrap())
                .sum::<i64>(),
            7_000_000
        );
        assert!(
            text("Nm").contains(&"Associazione Citta Aperta + Amici".to_string()),
            "{:?}",
            text("Nm")
        );
        assert!(text("Nm").contains(&"Comune di Esempio".to_string()));
        let ustrd = text("Ustrd");
        assert!(
            ustrd
                .iter()
                .any(|u| u.contains("CUP C11J26000120007") && u.contains("Doposcuola + compiti")),
            "{ustrd:?}"
        );
        let e2e = text("EndToEndId");
        assert_eq!(e2e.len(), 2);
        assert_ne!(e2e[0], e2e[1]);

        let csv = app
            .get(&format!("/v1/settlements/{id}/items.csv"), Some(&finance))
            .await;
        let csv = csv.body.as_str().unwrap().to_string();
        assert_eq!(csv.lines().count(), 3);
        assert!(csv.contains("50000.00,EUR"));

        // Confirm (by a second finance user: four eyes): settled, ledger moved, idempotent.
        let checker = app.second_staff("finance").await;
        let body = json!({"bank_reference": "TRN-2026-0042", "paid_at": "2026-11-20T10:00:00Z"});
        let res = app
            .post(
                &format!("/v1/settlements/{id}/confirm"),
                Some(&checker),
                body.clone(),
            )
            .await;
        assert_eq!(res.ok()["status"], "confirmed");
        let again = app
            .post(
                &format!("/v1/settlements/{id}/confirm"),
                Some(&checker),
                body.clone(),
            )
            .await;
        assert_eq!(again.ok()["status"], "confirmed");
        app.post(
            &format!("/v1/settlements/{id}/confirm"),
            Some(&checker),
            json!({"bank_reference": "OTHER", "paid_at": "2026-11-20T10:00:00Z"}),
        )
        .await
        .assert_problem(409, "settlement_already_confirmed");
        app.post_empty(&format!("/v1/settlements/{id}/cancel"), Some(&finance))
            .await
            .assert_problem(409, "settlement_confirmed");
        let f = app.get(&format!("/v1/funds/{}", s.c.fund), None).await;
        assert_eq!(
            (f.ok()["committed"].as_str(), f.body["settled"].as_str()),
            (Some("0.00"), Some("70000.00"))
        );
        for w in &s.winners {
            assert_eq!(app.campaign_view(w).await["match"]["status"], "settled");
        }
        // Nothing is left to settle.
        app.post(
            "/v1/settlements",
            Some(&finance),
            json!({"fund_id": s.c.fund}),
        )
        .await
        .assert_problem(422, "validation_failed");
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn a_cancelled_draft_returns_its_commitments_and_cannot_be_confirmed() {
    each_backend(|app| async move {
        let s = scene(&app).await;
        let finance = app.staff("finance").await;
        let batch = app
            .post(
                "/v1/settlements",
                Some(&finance),
                json!({"fund_id": s.c.fund, "commitment_ids": [s.winners[0]]}),
            )
            .await
            .ok()
            .clone();
        let id = batch["id"].as_str().unwrap();
        assert_eq!(batch["total"], "20000.00");
        // The same commitment cannot go into a second open batch.
        app.post(
            "/v1/settlements",
            Some(&finance),
            json!({"fund_id": s.c.fund, "commitment_ids": [s.winners[0]]}),
        )
        .await
        .assert_problem(409, "commitment_not_payable");
        app.post(
            "/v1/settlements",
            Some(&finance),
            json!({"fund_id": s.c.fund, "commitment_ids": [s.loser]}),
        )
        .await
        .assert_problem(409, "commitment_not_payable");
        app.post(
            "/v1/settlements",
            Some(&finance),
            json!({"fund_id": s.c.fund, "commitment_ids": ["cmp_nope"]}),
        )
        .await
        .assert_problem(422, "validation_failed");
        let res = app
            .post_empty(&format!("/v1/settlements/{id}/cancel"), Some(&finance))
            .await;
        assert_eq!(res.ok()["status"], "cancelled");
        app.post(
            &format!("/v1/settlements/{id}/confirm"),
            Some(&finance),
            json!({"bank_reference": "X", "paid_at": "2026-11-20T10:00:00Z"}),
        )
        .await
        .assert_problem(409, "settlement_cancelled");
        app.get(&format!("/v1/settlements/{id}/sepa.xml"), Some(&finance))
            .await
            .assert_problem(409, "settlement_cancelled");
        // Back to payable: a new batch takes all three.
        let again = app
            .post(
                "/v1/settlements",
                Some(&finance),
                json!({"fund_id": s.c.fund}),
            )
            .await;
        assert_eq!(again.ok()["total"], "70000.00");
        let f = app.get(&format!("/v1/funds/{}", s.c.fund), None).await;
        assert_eq!(f.ok()["committed"], "70000.00");
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn concurrent_batch_creation_never_puts_a_commitment_in_two_batches() {
    each_backend(|app| async move {
        let s = scene(&app).await;
        let finance = app.staff("finance").await;
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let client = app.client.clone();
            let url = app.url("/v1/settlements");
            let token = finance.clone();
            let fund = s.c.fund.clone();
            tasks.push(tokio::spawn(async move {
                client
                    .post(url)
                    .bearer_auth(token)
                    .json(&json!({"fund_id": fund}))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }));
        }
        let mut codes = Vec::new();
        for t in tasks {
            codes.push(t.await.unwrap());
        }
        assert_eq!(codes.iter().filter(|c| **c == 201).count(), 1, "{codes:?}");
        assert!(
            codes.iter().all(|c| [201, 409, 422, 503].contains(c)),
            "{codes:?}"
        );
        assert_eq!(app.count("settlement_lines").await, 3);
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn the_report_ties_to_the_ledger_in_json_and_csv() {
    each_backend(|app| async move {
        let s = scene(&app).await;
        let finance = app.staff("finance").await;
        // One batch paid, one live campaign holding a reservation.
        let batch = app
            .post(
                "/v1/settlements",
                Some(&finance),
                json!({"fund_id": s.c.fund, "commitment_ids": [s.winners[1]]}),
            )
            .await;
        let id = batch.ok()["id"].as_str().unwrap().to_string();
        app.post(
            &format!("/v1/settlements/{id}/confirm"),
            Some(&app.second_staff("finance").await),
            json!({"bank_reference": "B1", "paid_at": "2026-11-20T10:00:00Z"}),
        )
        .await
        .ok();
        let (_, partner) = app.partner("P2").await;
        let live = app
            .live_campaign(&s.c, json!({"title": "Ancora aperta"}))
            .await;
        give(&app, &partner, &live, 20_000, "z").await;

        let report = app
            .get(&format!("/v1/funds/{}/report", s.c.fund), Some(&finance))
            .await;
        let r = report.ok().clone();
        assert_eq!(r["totals"]["match_reserved"], r["reserved"]);
        assert_eq!(r["totals"]["match_committed"], r["committed"]);
        assert_eq!(r["totals"]["match_settled"], r["settled"]);
        assert_eq!(r["reserved"], "20000.00");
        assert_eq!(r["committed"], "40000.00");
        assert_eq!(r["settled"], "30000.00");
        assert_eq!(r["totals"]["campaigns"], 5);
        // 20,000 + 30,000 + 25,000 + 20,000; the failed campaign's €100 was refunded.
        assert_eq!(r["totals"]["raised"], "95000.00");
        assert_eq!(r["areas"].as_array().unwrap().len(), 1);
        assert_eq!(r["areas"][0]["raised"], "95000.00");
        let failed = r["campaigns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["campaign_id"] == s.loser.as_str())
            .unwrap();
        assert_eq!(failed["status"], "failed");

        let csv = app
            .send(
                app.client
                    .get(app.url(&format!("/v1/funds/{}/report", s.c.fund)))
                    .bearer_auth(&finance)
                    .header("Accept", "text/csv"),
            )
            .await;
        assert!(csv.content_type.starts_with("text/csv"));
        let text = csv.body.as_str().unwrap().to_string();
        let total = text.lines().find(|l| l.starts_with("total,")).unwrap();
        assert!(
            total.contains(",95000.00,") && total.contains(",20000.00,40000.00,30000.00,EUR"),
            "{total}"
        );
        assert_eq!(
            text.lines().filter(|l| l.starts_with("campaign,")).count(),
            5
        );
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn only_finance_and_admin_see_money_and_the_audit_trail() {
    each_backend(|app| async move {
        let s = scene(&app).await;
        let finance = app.staff("finance").await;
        let reviewer = app.staff("reviewer").await;
        let (_, partner) = app.partner("P3").await;
        for token in [&s.c.member_a, &reviewer, &partner] {
            app.get(&format!("/v1/funds/{}/commitments", s.c.fund), Some(token))
                .await
                .assert_problem(403, "forbidden");
            app.post("/v1/settlements", Some(token), json!({"fund_id": s.c.fund}))
                .await
                .assert_problem(403, "forbidden");
            app.get("/v1/settlements", Some(token))
                .await
                .assert_problem(403, "forbidden");
            app.get("/v1/audit", Some(token))
                .await
                .assert_problem(403, "forbidden");
            app.get(&format!("/v1/funds/{}/report", s.c.fund), Some(token))
                .await
                .assert_problem(403, "forbidden");
        }
        assert_eq!(app.count("settlements").await, 0);
        let batch = app
            .post(
                "/v1/settlements",
                Some(&finance),
                json!({"fund_id": s.c.fund}),
            )
            .await;
        let id = batch.ok()["id"].as_str().unwrap().to_string();
        for token in [&s.c.member_a, &partner] {
            app.get(&format!("/v1/settlements/{id}/sepa.xml"), Some(token))
                .await
                .assert_problem(403, "forbidden");
            app.get(&format!("/v1/settlements/{id}/items.csv"), Some(token))
                .await
                .assert_problem(403, "forbidden");
        }
        let admin = app.admin().await;
        let trail = app
            .get(&format!("/v1/audit?object_id={id}"), Some(&admin))
            .await;
        let entries = trail.ok()["data"].as_array().unwrap().clone();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0]["action"], "settlement.create");
        assert_eq!(entries[0]["actor_role"], "finance");
        let budget_changes = app
            .get("/v1/audit?action=campaign.approve", Some(&finance))
            .await;
        assert_eq!(budget_changes.ok()["data"].as_array().unwrap().len(), 4);
    })
    .await;
}

#[actix_web::test]
async fn malformed_settlement_requests_are_refused_and_change_nothing() {
    each_backend(|app| async move {
        let s = scene(&app).await;
        let finance = app.staff("finance").await;
        let res = app
            .post(
                "/v1/settlements",
                Some(&finance),
                json!({"fund_id": s.c.fund, "pay_everyone": true}),
            )
            .await;
        res.assert_problem(422, "validation_failed");
        assert_eq!(res.error_fields(), vec!["pay_everyone"]);
        app.post_raw("/v1/settlements", Some(&finance), "{\"fund_id\":")
            .await
            .assert_problem(400, "bad_request");
        app.post(
            "/v1/settlements",
            Some(&finance),
            json!({"fund_id": "fund_nope"}),
        )
        .await
        .assert_problem(422, "validation_failed");
        assert_eq!(app.count("settlements").await, 0);

        let batch = app
            .post(
                "/v1/settlements",
                Some(&finance),
                json!({"fund_id": s.c.fund}),
            )
            .await;
        let id = batch.ok()["id"].as_str().unwrap().to_string();
        for body in [
            json!({"bank_reference": "", "paid_at": "2026-11-20T10:00:00Z"}),
            json!({"bank_reference": "B", "paid_at": "yesterday"}),
            json!({"bank_reference": "B"}),
            json!({"bank_reference": "B", "paid_at": "2999-01-01T00:00:00Z"}),
            json!({"bank_reference": "B", "paid_at": "2026-11-20T10:00:00Z", "amount": "1.00"}),
        ] {
            app.post(
                &format!("/v1/settlements/{id}/confirm"),
                Some(&finance),
                body.clone(),
            )
            .await
            .assert_problem(422, "validation_failed");
        }
        app.post(
            &format!("/v1/settlements/{id}/confirm"),
            Some(&s.c.member_a),
            json!({"bank_reference": "B", "paid_at": "2026-11-20T10:00:00Z"}),
        )
        .await
        .assert_problem(403, "forbidden");
        app.post(
            "/v1/settlements/stl_missing/confirm",
            Some(&finance),
            json!({"bank_reference": "B", "paid_at": "2026-11-20T10:00:00Z"}),
        )
        .await
        .assert_problem(404, "not_found");
        // Still a draft; the money has not moved.
        let batch = app
            .get(&format!("/v1/settlements/{id}"), Some(&finance))
            .await;
        assert_eq!(batch.ok()["status"], "draft");
        let f = app.get(&format!("/v1/funds/{}", s.c.fund), None).await;
        assert_eq!(f.ok()["settled"], "0.00");
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn no_sepa_file_is_made_with_the_example_debtor_account() {
    each_backend_with(
        |c| {
            c.debtor_iban =
                cofund::domain::iban::Iban::parse(cofund::config::EXAMPLE_DEBTOR_IBAN).unwrap()
        },
        |app| async move {
            let s = scene(&app).await;
            let finance = app.staff("finance").await;
            let batch = app
                .post(
                    "/v1/settlements",
                    Some(&finance),
                    json!({"fund_id": s.c.fund}),
                )
                .await
                .ok()
                .clone();
            let id = batch["id"].as_str().unwrap();
            let res = app
                .get(&format!("/v1/settlements/{id}/sepa.xml"), Some(&finance))
                .await;
            res.assert_problem(409, "debtor_not_configured");
            assert!(
                res.body["detail"]
                    .as_str()
                    .unwrap()
                    .contains("COFUND_DEBTOR_IBAN")
            );
            // The batch itself is unaffected.
            let csv = app
                .get(&format!("/v1/settlements/{id}/items.csv"), Some(&finance))
                .await;
            assert_eq!(csv.status, 200);
        },
    )
    .await;
}
