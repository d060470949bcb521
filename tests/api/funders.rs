//! Co-funders: a city and foundations in one fund, each with its own budget, figures, ledger
//! accounts and settlement batches; `priority` and `proportional` splits with odd cents; a
//! funder running dry mid-rush and a funder joining an exhausted fund.

use crate::helpers::*;
use crate::xsd;
use serde_json::{Value, json};

const XSD: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/pain.001.001.03.xsd"
));

pub const CRT_IBAN: &str = "IT60X0542811101000000123456";
pub const CSP_IBAN: &str = "IT61X0306909606100000012345";

/// A fund paid by `funders`, with small goals allowed; returns the city and the fund body.
pub async fn funded_city(app: &TestApp, funders: Value, extra: Value) -> (City, Value) {
    let mut fund_extra = json!({
        "budget": null,
        "funders": funders,
        "min_goal": "100.00",
        "max_match_per_campaign": null,
    });
    merge(&mut fund_extra, extra);
    let area = app.area("TO-AURORA", IN_AREA.0, IN_AREA.1, 0.01).await;
    let admin = app.admin().await;
    let mut body = fund_body(&[&area]);
    merge(&mut body, fund_extra);
    if let Some(o) = body.as_object_mut() {
        o.retain(|_, v| !v.is_null());
    }
    let fund = app.post("/v1/funds", Some(&admin), body).await;
    assert_eq!(fund.status, 201, "{}", fund.body);
    let fund = fund.body.clone();
    let (asso_a, member_a) = app.association("Barriera Solidale", "12345678903").await;
    let (asso_b, member_b) = app.association("Mirafiori & Dintorni", "00743110157").await;
    (
        City {
            area,
            fund: fund["id"].as_str().unwrap().to_string(),
            asso_a,
            member_a,
            asso_b,
            member_b,
        },
        fund,
    )
}

/// Pledges `amount` and has the simulated provider confirm it.
pub async fn give(
    app: &TestApp,
    partner: &str,
    campaign: &str,
    amount: &str,
    donor: &str,
) -> Value {
    let p = app
        .pledge(partner, campaign, amount, &format!("{donor}@example.org"))
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

/// The fund's funders as the public sees them, by name.
pub async fn funders_by_name(
    app: &TestApp,
    fund: &str,
) -> std::collections::HashMap<String, Value> {
    app.get(&format!("/v1/funds/{fund}/funders"), None)
        .await
        .ok()
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap().to_string(), f.clone()))
        .collect()
}

fn three_thirds() -> Value {
    json!([
        {"name": "Città di Torino", "kind": "public", "budget": "10000.00", "share": "0.333333"},
        {"name": "Fondazione CRT", "kind": "private", "tax_code": "97542550013", "iban": CRT_IBAN,
         "bic": "BPMOIT22XXX", "budget": "10000.00", "share": "0.333333"},
        {"name": "Compagnia di San Paolo", "kind": "private", "tax_code": "00774480016",
         "iban": CSP_IBAN, "budget": "10000.00", "share": "0.333334"}
    ])
}

#[actix_web::test]
async fn a_thousand_euros_and_a_cent_split_in_thirds_leaves_the_remainder_to_the_first_funder() {
    each_backend(|app| async move {
        let (c, fund) = funded_city(
            &app,
            three_thirds(),
            json!({"funding_split": "proportional"}),
        )
        .await;
        assert_eq!(fund["budget"], "30000.00");
        assert_eq!(fund["funding_split"], "proportional");
        assert_eq!(fund["funders"].as_array().unwrap().len(), 3);
        // Goal €2,000.02: threshold and top-up €1,000.01.
        let cmp = app
            .live_campaign(&c, json!({"goal": "2000.02"}))
            .await;
        let (_, partner) = app.partner("P").await;
        give(&app, &partner, &cmp, "1000.01", "a").await;
        let view = app.campaign_view(&cmp).await;
        assert_eq!(view["match"]["status"], "reserved");
        assert_eq!(view["match"]["amount"], "1000.01");
        // Half-up for the others: 100001 × 0.333333 = 33333.63… → €333.34; 100001 × 0.333334
        // = 33333.73… → €333.34; the city, first, takes what remains: €333.33.
        let f = funders_by_name(&app, &c.fund).await;
        assert_eq!(f["Città di Torino"]["reserved"], "333.33", "{f:#?}");
        assert_eq!(f["Fondazione CRT"]["reserved"], "333.34");
        assert_eq!(f["Compagnia di San Paolo"]["reserved"], "333.34");
        assert_eq!(f["Fondazione CRT"]["available"], "9666.66");
        let fund = app.get(&format!("/v1/funds/{}", c.fund), None).await;
        assert_eq!(fund.ok()["reserved"], "1000.01");
        assert_eq!(fund.body["available"], "28999.99");
        // The decision shows each funder's part.
        let admin = app.admin().await;
        let history = app
            .get(&format!("/v1/campaigns/{cmp}/match"), Some(&admin))
            .await;
        let reserve = history.ok()["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["decision"] == "reserve")
            .cloned()
            .unwrap_or_else(|| panic!("no reserve decision in {}", history.body));
        let parts: Vec<String> = reserve["inputs"]["funders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| format!("{}={}", f["name"].as_str().unwrap(), f["part"]))
            .collect();
        assert_eq!(
            parts,
            [
                "Città di Torino=33333",
                "Fondazione CRT=33334",
                "Compagnia di San Paolo=33334"
            ]
        );

        // Succeeded: each funder's part is committed; each funder pays its own batch.
        end_all_campaigns(&app).await;
        let f = funders_by_name(&app, &c.fund).await;
        assert_eq!(f["Fondazione CRT"]["committed"], "333.34");
        let finance = app.staff("finance").await;
        app.post("/v1/settlements", Some(&finance), json!({"fund_id": c.fund}))
            .await
            .assert_problem(422, "validation_failed");
        let crt = f["Fondazione CRT"]["id"].as_str().unwrap().to_string();
        let batch = app
            .post(
                "/v1/settlements",
                Some(&finance),
                json!({"fund_id": c.fund, "funder_id": crt}),
            )
            .await;
        assert_eq!(batch.status, 201, "{}", batch.body);
        assert_eq!(batch.body["total"], "333.34");
        assert_eq!(batch.body["funder_id"], crt.as_str());
        let id = batch.body["id"].as_str().unwrap().to_string();
        // Batches and commitments read per funder.
        let listed = app
            .get(&format!("/v1/settlements?funder_id={crt}"), Some(&finance))
            .await;
        assert_eq!(listed.ok()["data"].as_array().unwrap().len(), 1);
        let city_id = f["Città di Torino"]["id"].as_str().unwrap().to_string();
        let listed = app
            .get(&format!("/v1/settlements?funder_id={city_id}"), Some(&finance))
            .await;
        assert_eq!(listed.ok()["data"].as_array().unwrap().len(), 0);
        let commitments = app
            .get(
                &format!("/v1/funds/{}/commitments?funder_id={crt}", c.fund),
                Some(&finance),
            )
            .await;
        let parts = commitments.ok()["data"][0]["parts"].as_array().unwrap().clone();
        assert_eq!(parts.len(), 3);
        let crt_part = parts.iter().find(|p| p["funder_id"] == crt.as_str()).unwrap();
        assert_eq!(crt_part["amount"], "333.34");
        assert_eq!(crt_part["settlement_id"], id.as_str());
        let xml = app
            .get(&format!("/v1/settlements/{id}/sepa.xml"), Some(&finance))
            .await;
        let xml = xml.body.as_str().unwrap_or_default().to_string();
        xsd::validate(XSD, &xml).unwrap_or_else(|e| panic!("invalid pain.001: {e:#?}\n{xml}"));
        // The foundation is the debtor, not the city.
        let debtor = xml.split("<Dbtr>").nth(1).unwrap_or_default();
        assert!(debtor.contains("Fondazione CRT"), "{xml}");
        assert!(xml.contains(&format!("<IBAN>{CRT_IBAN}</IBAN>")), "{xml}");
        assert!(!xml.contains("IT65X0306909606100000063004"), "{xml}");
        assert!(xml.contains("<InstdAmt Ccy=\"EUR\">333.34</InstdAmt>"), "{xml}");
        // The same commitment cannot go into a second batch of that funder.
        app.post(
            "/v1/settlements",
            Some(&finance),
            json!({"fund_id": c.fund, "funder_id": crt, "commitment_ids": [cmp]}),
        )
        .await
        .assert_problem(409, "commitment_not_payable");
        let checker = app.second_staff("finance").await;
        app.post(
            &format!("/v1/settlements/{id}/confirm"),
            Some(&checker),
            json!({"bank_reference": "CRT-2026-001", "paid_at": rfc3339(chrono::Duration::zero())}),
        )
        .await
        .ok();
        let f = funders_by_name(&app, &c.fund).await;
        assert_eq!(f["Fondazione CRT"]["settled"], "333.34");
        assert_eq!(f["Fondazione CRT"]["committed"], "0.00");
        assert_eq!(f["Città di Torino"]["committed"], "333.33");
        // Paid by one funder of three: the match is not settled yet.
        assert_eq!(app.campaign_view(&cmp).await["match"]["status"], "committed");
        for name in ["Città di Torino", "Compagnia di San Paolo"] {
            let funder = f[name]["id"].as_str().unwrap().to_string();
            let b = app
                .post(
                    "/v1/settlements",
                    Some(&finance),
                    json!({"fund_id": c.fund, "funder_id": funder}),
                )
                .await;
            let bid = b.ok()["id"].as_str().unwrap().to_string();
            app.post(
                &format!("/v1/settlements/{bid}/confirm"),
                Some(&checker),
                json!({"bank_reference": format!("REF-{name}"), "paid_at": rfc3339(chrono::Duration::zero())}),
            )
            .await
            .ok();
        }
        assert_eq!(app.campaign_view(&cmp).await["match"]["status"], "settled");
        let fund = app.get(&format!("/v1/funds/{}", c.fund), None).await;
        assert_eq!(fund.ok()["settled"], "1000.01");
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn priority_draws_the_city_first_and_a_foundation_for_the_rest() {
    each_backend(|app| async move {
        let (c, _) = funded_city(
            &app,
            json!([
                {"name": "Città di Torino", "kind": "public", "budget": "500.00", "priority": 1},
                {"name": "Fondazione CRT", "kind": "private", "tax_code": "97542550013",
                 "iban": CRT_IBAN, "budget": "10000.00", "priority": 2}
            ]),
            json!({}),
        )
        .await;
        let (_, partner) = app.partner("P").await;
        let first = app.live_campaign(&c, json!({"goal": "2000.00"})).await;
        let second = app.live_campaign(&c, json!({"goal": "2000.00"})).await;
        let first_gift = give(&app, &partner, &first, "1000.00", "a").await;
        let f = funders_by_name(&app, &c.fund).await;
        assert_eq!(f["Città di Torino"]["reserved"], "500.00");
        assert_eq!(f["Città di Torino"]["available"], "0.00");
        assert_eq!(f["Fondazione CRT"]["reserved"], "500.00");
        give(&app, &partner, &second, "1000.00", "b").await;
        let f = funders_by_name(&app, &c.fund).await;
        assert_eq!(f["Città di Torino"]["reserved"], "500.00");
        assert_eq!(f["Fondazione CRT"]["reserved"], "1500.00");
        // A refund below the threshold gives each funder its part back.
        app.webhook(&refunded("evt_refund_first", &pi(&first_gift), 10_000))
            .await
            .ok();
        let f = funders_by_name(&app, &c.fund).await;
        assert_eq!(f["Città di Torino"]["reserved"], "0.00");
        assert_eq!(f["Fondazione CRT"]["reserved"], "1000.00");
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn a_foundation_short_of_its_share_holds_the_whole_top_up_back_until_it_can_pay() {
    each_backend(|app| async move {
        let (c, _) = funded_city(
            &app,
            json!([
                {"name": "Città di Torino", "kind": "public", "budget": "10000.00", "share": "0.5"},
                {"name": "Fondazione CRT", "kind": "private", "tax_code": "97542550013",
                 "iban": CRT_IBAN, "budget": "300.00", "share": "0.5"}
            ]),
            json!({"funding_split": "proportional"}),
        )
        .await;
        let (_, partner) = app.partner("P").await;
        let cmp = app.live_campaign(&c, json!({"goal": "2000.00"})).await;
        give(&app, &partner, &cmp, "1000.00", "a").await;
        // The foundation's half (€500) is more than it has: the whole top-up waits.
        assert_eq!(
            app.campaign_view(&cmp).await["match"]["status"],
            "waitlisted"
        );
        let f = funders_by_name(&app, &c.fund).await;
        assert_eq!(f["Città di Torino"]["reserved"], "0.00");
        // Finance raises the foundation's budget: the waitlist is served at once.
        let finance = app.staff("finance").await;
        let crt = f["Fondazione CRT"]["id"].as_str().unwrap().to_string();
        let res = app
            .post(
                &format!("/v1/funds/{}/funders/{crt}/budget", c.fund),
                Some(&finance),
                json!({"budget": "500.00"}),
            )
            .await;
        assert_eq!(res.ok()["budget"], "500.00");
        let view = app.campaign_view(&cmp).await;
        assert_eq!(view["match"]["status"], "reserved");
        assert_eq!(view["match"]["amount"], "1000.00");
        let f = funders_by_name(&app, &c.fund).await;
        assert_eq!(f["Fondazione CRT"]["available"], "0.00");
        assert_eq!(f["Città di Torino"]["reserved"], "500.00");
        // Never below what the funder promised.
        app.post(
            &format!("/v1/funds/{}/funders/{crt}/budget", c.fund),
            Some(&finance),
            json!({"budget": "499.99"}),
        )
        .await
        .assert_problem(409, "budget_below_commitments");
        // A proportional fund's shares are fixed: no funder joins it.
        let admin = app.admin().await;
        app.post(
            &format!("/v1/funds/{}/funders", c.fund),
            Some(&admin),
            json!({"name": "Comune", "kind": "public", "budget": "10.00"}),
        )
        .await
        .assert_problem(409, "shares_fixed");
        // The fund-wide budget route names the funders' route instead.
        app.post(
            &format!("/v1/funds/{}/budget", c.fund),
            Some(&finance),
            json!({"budget": "100000.00"}),
        )
        .await
        .assert_problem(409, "several_funders");
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn a_funder_runs_dry_mid_rush_and_one_joining_the_exhausted_fund_serves_the_waitlist() {
    each_backend(|app| async move {
        let (c, _) = funded_city(
            &app,
            json!([
                {"name": "Città di Torino", "kind": "public", "budget": "1000.00"},
                {"name": "Fondazione CRT", "kind": "private", "tax_code": "97542550013",
                 "iban": CRT_IBAN, "budget": "1500.00"}
            ]),
            json!({}),
        )
        .await;
        let (_, partner) = app.partner("P").await;
        // Five campaigns, each crossing with one gift: top-ups of €1,000 against €2,500.
        let mut events = Vec::new();
        let mut campaigns = Vec::new();
        for k in 0..5 {
            let cmp = app.live_campaign(&c, json!({"goal": "2000.00"})).await;
            let p = app
                .pledge(&partner, &cmp, "1000.00", &format!("d{k}@example.org"))
                .await;
            events.push(succeeded(&format!("evt_rush_{k}"), &pi(&p), 100_000));
            campaigns.push(cmp);
        }
        deliver_concurrently(&app, events, 5).await;
        let mut reserved = 0;
        let mut waiting = 0;
        for cmp in &campaigns {
            match app.campaign_view(cmp).await["match"]["status"].as_str().unwrap() {
                "reserved" => reserved += 1,
                "waitlisted" => waiting += 1,
                other => panic!("unexpected match {other}"),
            }
        }
        assert_eq!((reserved, waiting), (2, 3));
        let f = funders_by_name(&app, &c.fund).await;
        assert_eq!(f["Città di Torino"]["reserved"], "1000.00");
        assert_eq!(f["Fondazione CRT"]["reserved"], "1000.00");
        assert_eq!(f["Fondazione CRT"]["available"], "500.00");
        app.assert_reconciled().await;

        // Compagnia di San Paolo joins with €2,000: with the foundation's €500 left, two more
        // campaigns are served at once, oldest crossing first; one still waits.
        let admin = app.admin().await;
        let joined = app
            .post(
                &format!("/v1/funds/{}/funders", c.fund),
                Some(&admin),
                json!({"name": "Compagnia di San Paolo", "kind": "private", "tax_code": "00774480016",
                       "iban": CSP_IBAN, "budget": "2000.00"}),
            )
            .await;
        assert_eq!(joined.status, 201, "{}", joined.body);
        assert_eq!(joined.body["priority"], 3);
        let mut reserved = 0;
        for cmp in &campaigns {
            if app.campaign_view(cmp).await["match"]["status"] == "reserved" {
                reserved += 1;
            }
        }
        assert_eq!(reserved, 4);
        let f = funders_by_name(&app, &c.fund).await;
        assert_eq!(f["Fondazione CRT"]["available"], "0.00");
        assert_eq!(f["Compagnia di San Paolo"]["reserved"], "1500.00");
        assert_eq!(f["Compagnia di San Paolo"]["available"], "500.00");
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn funders_are_checked_and_only_admins_add_them() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let admin = app.admin().await;
        let finance = app.staff("finance").await;
        // Today's API: a plain budget is one public funder, the city.
        let fund = app.get(&format!("/v1/funds/{}", c.fund), None).await;
        let funders = fund.ok()["funders"].as_array().unwrap().clone();
        assert_eq!(funders.len(), 1);
        assert_eq!(funders[0]["kind"], "public");
        assert_eq!(funders[0]["budget"], "600000.00");
        let path = format!("/v1/funds/{}/funders", c.fund);
        let crt = json!({"name": "Fondazione CRT", "kind": "private", "tax_code": "97542550013",
                         "iban": CRT_IBAN, "budget": "1000.00"});
        app.post(&path, Some(&finance), crt.clone())
            .await
            .assert_problem(403, "forbidden");
        app.post(&path, None, crt.clone())
            .await
            .assert_problem(401, "unauthorized");
        app.post("/v1/funds/fund_nope/funders", Some(&admin), crt.clone())
            .await
            .assert_problem(404, "not_found");
        let bad = app
            .post(
                &path,
                Some(&admin),
                json!({"name": " ", "kind": "private", "iban": "IT00X0000", "budget": "-1"}),
            )
            .await;
        bad.assert_problem(422, "validation_failed");
        let fields = bad.error_fields();
        for f in ["name", "iban", "tax_code", "budget"] {
            assert!(fields.contains(&f.to_string()), "{fields:?}");
        }
        app.post(
            &path,
            Some(&admin),
            json!({"name": "X", "kind": "bank", "budget": "1.00"}),
        )
        .await
        .assert_problem(422, "validation_failed");
        app.post_raw(&path, Some(&admin), "{\"name\": \"X\", ")
            .await
            .assert_problem(400, "bad_request");
        // Nothing was added by the refused requests.
        assert_eq!(
            app.count(&format!("funders WHERE fund_id = '{}'", c.fund))
                .await,
            1
        );
        let ok = app.post(&path, Some(&admin), crt).await;
        assert_eq!(ok.status, 201, "{}", ok.body);
        let fund = app.get(&format!("/v1/funds/{}", c.fund), None).await;
        assert_eq!(fund.ok()["budget"], "601000.00");
        // Shares must add up to 1 under proportional; either budget or funders.
        let area = c.area.clone();
        let mut body = fund_body(&[&area]);
        merge(
            &mut body,
            json!({"funding_split": "proportional", "funders": [
                {"name": "A", "kind": "public", "budget": "1.00", "share": "0.5"},
                {"name": "B", "kind": "public", "budget": "1.00", "share": "0.4"}
            ]}),
        );
        app.post("/v1/funds", Some(&admin), body.clone())
            .await
            .assert_problem(422, "validation_failed");
        body.as_object_mut().unwrap().remove("budget");
        let res = app.post("/v1/funds", Some(&admin), body).await;
        res.assert_problem(422, "validation_failed");
        assert!(res.error_fields().contains(&"funders".to_string()));
        // The funder budget route: finance only, the fund's own funders only.
        let other = city_fund(&app, &area).await;
        let funder = funders[0]["id"].as_str().unwrap().to_string();
        app.post(
            &format!("/v1/funds/{other}/funders/{funder}/budget"),
            Some(&finance),
            json!({"budget": "1.00"}),
        )
        .await
        .assert_problem(404, "not_found");
        app.post(
            &format!("/v1/funds/{}/funders/{funder}/budget", c.fund),
            Some(&c.member_a),
            json!({"budget": "1.00"}),
        )
        .await
        .assert_problem(403, "forbidden");
        app.post(
            &format!("/v1/funds/{}/funders/{funder}/budget", c.fund),
            Some(&finance),
            json!({"budget": "lots"}),
        )
        .await
        .assert_problem(422, "validation_failed");
        app.assert_reconciled().await;
    })
    .await;
}

async fn city_fund(app: &TestApp, area: &str) -> String {
    app.fund(&[area], json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[actix_web::test]
async fn a_rush_of_crossings_and_budget_changes_never_commits_a_funder_beyond_its_budget() {
    each_backend(|app| async move {
        // Three funders in proportion; 30 campaigns cross at once (top-ups of €1,000.01, odd
        // cents in every split) while finance moves the foundations' budgets up and down.
        let (c, _) = funded_city(
            &app,
            json!([
                {"name": "Città di Torino", "kind": "public", "budget": "9000.00", "share": "0.5"},
                {"name": "Fondazione CRT", "kind": "private", "tax_code": "97542550013",
                 "iban": CRT_IBAN, "budget": "4000.00", "share": "0.3"},
                {"name": "Compagnia di San Paolo", "kind": "private", "tax_code": "00774480016",
                 "iban": CSP_IBAN, "budget": "3000.00", "share": "0.2"}
            ]),
            json!({"funding_split": "proportional"}),
        )
        .await;
        let (_, partner) = app.partner("P").await;
        let mut events = Vec::new();
        for k in 0..30 {
            let cmp = app.live_campaign(&c, json!({"goal": "2000.02"})).await;
            let p = app
                .pledge(&partner, &cmp, "1000.01", &format!("d{k}@example.org"))
                .await;
            events.push(succeeded(&format!("evt_storm_{k}"), &pi(&p), 100_001));
        }
        let f = funders_by_name(&app, &c.fund).await;
        let crt = f["Fondazione CRT"]["id"].as_str().unwrap().to_string();
        let csp = f["Compagnia di San Paolo"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let finance = app.staff("finance").await;
        let budgets = {
            let app_url = app.url("");
            let client = app.client.clone();
            let fund = c.fund.clone();
            tokio::spawn(async move {
                let mut refused = 0;
                for round in 0..20 {
                    for (funder, amount) in [
                        (&crt, if round % 2 == 0 { "2500.00" } else { "4500.00" }),
                        (&csp, if round % 3 == 0 { "1000.00" } else { "3500.00" }),
                    ] {
                        let res = client
                            .post(format!("{app_url}/v1/funds/{fund}/funders/{funder}/budget"))
                            .bearer_auth(&finance)
                            .json(&json!({"budget": amount}))
                            .send()
                            .await
                            .unwrap();
                        match res.status().as_u16() {
                            200 => {}
                            409 | 503 => refused += 1,
                            other => panic!("budget change answered {other}"),
                        }
                    }
                }
                refused
            })
        };
        deliver_concurrently(&app, events, 8).await;
        budgets.await.unwrap();
        app.tick().await;
        // Every funder within its budget, the books clean, the parts of each reservation in
        // proportion (the city's part carries the odd cents).
        let f = funders_by_name(&app, &c.fund).await;
        let cents = |v: &Value| -> i64 { v.as_str().unwrap().replace('.', "").parse().unwrap() };
        for (name, funder) in &f {
            let promised = cents(&funder["held"])
                + cents(&funder["reserved"])
                + cents(&funder["committed"])
                + cents(&funder["settled"]);
            assert!(promised <= cents(&funder["budget"]), "{name}: {funder}");
            assert!(cents(&funder["available"]) >= 0, "{name}: {funder}");
        }
        let reserved = cents(&f["Città di Torino"]["reserved"])
            + cents(&f["Fondazione CRT"]["reserved"])
            + cents(&f["Compagnia di San Paolo"]["reserved"]);
        assert_eq!(reserved % 100_001, 0, "whole top-ups only: {reserved}");
        let n = reserved / 100_001;
        assert!(n >= 3, "at least the first crossings were matched: {n}");
        // 100001 × 0.3 = 30000.3 → 30000; × 0.2 = 20000.2 → 20000; the city 50001.
        assert_eq!(cents(&f["Fondazione CRT"]["reserved"]), n * 30_000);
        assert_eq!(cents(&f["Compagnia di San Paolo"]["reserved"]), n * 20_000);
        assert_eq!(cents(&f["Città di Torino"]["reserved"]), n * 50_001);
        // Whoever still waits does so because some funder cannot pay its part.
        let waiting = app
            .count(&format!(
                "campaigns WHERE fund_id = '{}' AND match_status = 'waitlisted'",
                c.fund
            ))
            .await;
        assert_eq!(waiting, 30 - n);
        if waiting > 0 {
            assert!(
                cents(&f["Città di Torino"]["available"]) < 50_001
                    || cents(&f["Fondazione CRT"]["available"]) < 30_000
                    || cents(&f["Compagnia di San Paolo"]["available"]) < 20_000,
                "a campaign waits while every funder could pay its part: {f:?}"
            );
        }
        app.assert_reconciled().await;
    })
    .await;
}
