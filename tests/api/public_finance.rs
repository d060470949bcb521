//! Public-finance duties of an Italian city: the award register (D.Lgs. 33/2013), payment
//! orders for the treasury (OPI), donors' tax receipts (D.Lgs. 117/2017 art. 83) and the
//! associations' yearly lists.

use crate::funders::{CRT_IBAN, funded_city, give};
use crate::helpers::*;
use chrono::Datelike;
use serde_json::{Value, json};

/// The city and a private foundation paying half each.
fn city_and_foundation() -> Value {
    json!([
        {"name": "Città di Torino", "kind": "public", "tax_code": "00514490010", "budget": "10000.00", "share": "0.5"},
        {"name": "Fondazione CRT", "kind": "private", "tax_code": "97542550013", "iban": CRT_IBAN,
         "budget": "10000.00", "share": "0.5"}
    ])
}

/// A GET with an `Accept` header.
async fn get_as(app: &TestApp, path: &str, token: Option<&str>, accept: &str) -> Response {
    let mut req = app.client.get(app.url(path)).header("Accept", accept);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    app.send(req).await
}

fn text(r: &Response) -> String {
    match &r.body {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Parses CSV text into its header and rows.
fn parse_csv(s: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::ReaderBuilder::new().from_reader(s.as_bytes());
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

fn cents(s: &str) -> i64 {
    let (e, c) = s.split_once('.').unwrap();
    e.parse::<i64>().unwrap() * 100 + c.parse::<i64>().unwrap()
}

/// A campaign of `member`'s association in `fund`, submitted, approved and live.
async fn live(app: &TestApp, member: &str, fund: &str, extra: Value) -> String {
    let cmp = app.campaign(member, fund, extra).await;
    let id = cmp["id"].as_str().unwrap().to_string();
    app.post_empty(&format!("/v1/campaigns/{id}/submit"), Some(member))
        .await
        .ok();
    let reviewer = app.staff("reviewer").await;
    app.post_empty(&format!("/v1/campaigns/{id}/approve"), Some(&reviewer))
        .await
        .ok();
    app.tick().await;
    id
}

fn funder_id(fund: &Value, name: &str) -> String {
    fund["funders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[actix_web::test]
async fn committed_public_awards_are_published_and_private_grants_are_not() {
    each_backend(|app| async move {
        let (c, fund) = funded_city(
            &app,
            city_and_foundation(),
            json!({"funding_split": "proportional"}),
        )
        .await;
        let (_, partner) = app.partner("P").await;
        let a = app
            .live_campaign(&c, json!({"goal": "1000.00", "title": "Orti"}))
            .await;
        let b = live(
            &app,
            &c.member_b,
            &c.fund,
            json!({"goal": "2000.00", "title": "Biblioteca"}),
        )
        .await;
        // Nothing is published before a match is committed.
        let empty = app.get("/v1/transparency/awards", None).await;
        assert_eq!(empty.ok()["data"], json!([]));
        give(&app, &partner, &a, "600.00", "x").await;
        give(&app, &partner, &b, "1000.00", "y").await;
        end_all_campaigns(&app).await;

        let register = app.get("/v1/transparency/awards", None).await;
        let rows = register.ok()["data"].as_array().unwrap().clone();
        // One award per committed match, the city's half only; newest first.
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert!(rows.iter().all(|r| r["funder_name"] == "Città di Torino"));
        assert!(rows[0]["id"].as_str() > rows[1]["id"].as_str());
        let orti = rows
            .iter()
            .find(|r| r["campaign_id"] == a.as_str())
            .unwrap();
        assert_eq!(orti["amount"], "250.00");
        assert_eq!(orti["beneficiary"]["name"], "Barriera Solidale");
        assert_eq!(orti["beneficiary"]["tax_code"], "12345678903");
        assert_eq!(orti["office"], "Divisione Servizi Sociali");
        assert_eq!(orti["responsible_official"], "Dott.ssa Maria Bianchi");
        assert_eq!(
            orti["selection_method"],
            "Avviso pubblico con cofinanziamento civico"
        );
        assert!(
            orti["legal_basis"]
                .as_str()
                .unwrap()
                .contains("Delibera G.C. n. 123")
        );
        assert_eq!(orti["cup"], "C11J26000120007");
        assert!(
            orti["campaign_url"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/v1/campaigns/{a}"))
        );
        let year = chrono::Utc::now().year();
        assert_eq!(orti["year"], year);

        // Pages, filters, CSV.
        let first = app.get("/v1/transparency/awards?limit=1", None).await;
        let cursor = first.ok()["next_cursor"].as_str().unwrap().to_string();
        let second = app
            .get(
                &format!("/v1/transparency/awards?limit=1&cursor={cursor}"),
                None,
            )
            .await;
        assert_eq!(second.ok()["data"][0]["id"], rows[1]["id"]);
        assert_eq!(second.body["next_cursor"], Value::Null);
        let other_year = app
            .get(&format!("/v1/transparency/awards?year={}", year - 1), None)
            .await;
        assert_eq!(other_year.ok()["data"], json!([]));
        let other_fund = app
            .get(
                "/v1/transparency/awards?fund_id=fund_00000000000000000000000000000000",
                None,
            )
            .await;
        assert_eq!(other_fund.ok()["data"], json!([]));
        let by_fund = app
            .get(&format!("/v1/transparency/awards?fund_id={}", c.fund), None)
            .await;
        assert_eq!(by_fund.ok()["data"].as_array().unwrap().len(), 2);

        let csv = get_as(&app, "/v1/transparency/awards", None, "text/csv").await;
        assert_eq!(csv.status, 200);
        assert!(csv.content_type.starts_with("text/csv"));
        let (header, lines) = parse_csv(&text(&csv));
        assert_eq!(
            header,
            cofund::http::controllers::transparency::REGISTER_COLUMNS
        );
        assert_eq!(lines.len(), 2);
        let col = |name: &str| header.iter().position(|h| h == name).unwrap();
        let orti_line = lines.iter().find(|l| l[col("progetto")] == "Orti").unwrap();
        assert_eq!(orti_line[col("importo")], "250.00");
        assert_eq!(orti_line[col("codice_fiscale_beneficiario")], "12345678903");
        assert_eq!(orti_line[col("ente_erogatore")], "Città di Torino");
        assert!(
            !lines
                .iter()
                .any(|l| l.iter().any(|cell| cell.contains("Fondazione CRT")))
        );

        // Bad queries change nothing and say why.
        for q in [
            "year=1999",
            "limit=0",
            "limit=201",
            "year=next",
            "surprise=1",
        ] {
            let r = app.get(&format!("/v1/transparency/awards?{q}"), None).await;
            assert!(r.status == 422 || r.status == 400, "{q}: {}", r.status);
            assert!(r.content_type.starts_with("application/problem+json"));
        }
        let _ = fund;
    })
    .await;
}

#[actix_web::test]
async fn a_public_funder_cannot_pay_an_award_until_it_is_published() {
    each_backend(|app| async move {
        // Blank fields are no fields.
        let unpublished = json!({
            "legal_basis": "", "office": " ", "responsible_official": "",
            "selection_method": "",
        });
        let (c, fund) = funded_city(
            &app,
            json!([{"name": "Città di Torino", "kind": "public", "budget": "10000.00"}]),
            unpublished,
        )
        .await;
        assert_eq!(
            fund["transparency_missing"],
            json!([
                "legal_basis",
                "office",
                "responsible_official",
                "selection_method"
            ])
        );
        let (_, partner) = app.partner("P").await;
        let cmp = app.live_campaign(&c, json!({"goal": "1000.00"})).await;
        give(&app, &partner, &cmp, "600.00", "x").await;
        end_all_campaigns(&app).await;
        assert_eq!(
            app.campaign_view(&cmp).await["match"]["status"],
            "committed"
        );
        // Committed but not published: not in the register, not payable.
        let register = app.get("/v1/transparency/awards", None).await;
        assert_eq!(register.ok()["data"], json!([]));
        let finance = app.staff("finance").await;
        let batches = app.count("settlements").await;
        for body in [
            json!({"fund_id": c.fund}),
            json!({"fund_id": c.fund, "commitment_ids": [cmp]}),
        ] {
            let refused = app.post("/v1/settlements", Some(&finance), body).await;
            assert_eq!(refused.status, 409, "{}", refused.body);
            assert_eq!(refused.body["code"], "award_unpublished");
            assert!(
                refused.body["detail"]
                    .as_str()
                    .unwrap()
                    .contains("legal_basis")
            );
        }
        assert_eq!(app.count("settlements").await, batches);
        let commitments = app
            .get(&format!("/v1/funds/{}/commitments", c.fund), Some(&finance))
            .await;
        assert_eq!(
            commitments.ok()["data"][0]["parts"][0]["award"],
            "unpublished"
        );

        // Only the admin fills in the fields; bad ones are refused and change nothing.
        let fields = json!({
            "legal_basis": "Avviso pubblico 2026, Determinazione dirigenziale n. 45/2026",
            "office": "Divisione Welfare",
            "responsible_official": "Ing. Paolo Verdi",
            "selection_method": "Graduatoria dell'avviso pubblico",
            "siope_code": "U.1.04.04.01.001"
        });
        let path = format!("/v1/funds/{}/transparency", c.fund);
        let put = |token: Option<String>, body: Value| {
            let app = &app;
            let path = path.clone();
            async move {
                let mut req = app.client.put(app.url(&path)).json(&body);
                if let Some(t) = token {
                    req = req.bearer_auth(t);
                }
                app.send(req).await
            }
        };
        assert_eq!(put(Some(finance.clone()), fields.clone()).await.status, 403);
        assert_eq!(put(None, fields.clone()).await.status, 401);
        let admin = app.admin().await;
        let mut bad = fields.clone();
        bad["siope_code"] = json!("u.1; DROP");
        let r = put(Some(admin.clone()), bad).await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert_eq!(
            app.get("/v1/transparency/awards", None).await.ok()["data"],
            json!([])
        );
        let r = put(Some(admin.clone()), fields).await;
        assert_eq!(r.ok()["transparency_missing"], json!([]));
        assert_eq!(r.body["siope_code"], "U.1.04.04.01.001");

        // Published with the fields, and now payable.
        let register = app.get("/v1/transparency/awards", None).await;
        let rows = register.ok()["data"].as_array().unwrap().clone();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["office"], "Divisione Welfare");
        assert_eq!(rows[0]["amount"], "500.00");
        let batch = app
            .post(
                "/v1/settlements",
                Some(&finance),
                json!({"fund_id": c.fund}),
            )
            .await;
        assert_eq!(batch.status, 201, "{}", batch.body);
        assert_eq!(batch.body["total"], "500.00");
        let commitments = app
            .get(&format!("/v1/funds/{}/commitments", c.fund), Some(&finance))
            .await;
        assert_eq!(
            commitments.ok()["data"][0]["parts"][0]["award"],
            "published"
        );
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn the_treasury_export_ties_to_the_batch_and_the_ledger_with_hostile_names() {
    each_backend(|app| async move {
        let (c, fund) = funded_city(
            &app,
            city_and_foundation(),
            json!({"funding_split": "proportional", "name": "Fondo «Periferie» & Città"}),
        )
        .await;
        let (hostile, hostile_member) = app
            .association(
                "=HYPERLINK(\"http://x\") «Àperta» & \"Amici\"",
                "00774480016",
            )
            .await;
        let _ = hostile;
        let (_, partner) = app.partner("P").await;
        let long_title = "Città più verde: orti, caffè e biblioteche è già qui ".repeat(3);
        let a = app
            .live_campaign(&c, json!({"goal": "1000.00", "title": long_title.trim()}))
            .await;
        let b = live(
            &app,
            &hostile_member,
            &c.fund,
            json!({"goal": "3000.01", "title": "+Sport & \"Salute\""}),
        )
        .await;
        let d = live(
            &app,
            &c.member_b,
            &c.fund,
            json!({"goal": "1000.00", "title": "Doposcuola"}),
        )
        .await;
        give(&app, &partner, &a, "600.00", "x").await;
        give(&app, &partner, &b, "2000.00", "y").await;
        give(&app, &partner, &d, "900.00", "z").await;
        end_all_campaigns(&app).await;
        let finance = app.staff("finance").await;
        let city = funder_id(&fund, "Città di Torino");
        let crt = funder_id(&fund, "Fondazione CRT");
        let batch = app
            .post(
                "/v1/settlements",
                Some(&finance),
                json!({"fund_id": c.fund, "funder_id": city}),
            )
            .await;
        assert_eq!(batch.status, 201, "{}", batch.body);
        let id = batch.body["id"].as_str().unwrap().to_string();
        let total = cents(batch.body["total"].as_str().unwrap());

        let json = app
            .get(
                &format!("/v1/settlements/{id}/treasury.json"),
                Some(&finance),
            )
            .await;
        let export = json.ok().clone();
        let lines = export["lines"].as_array().unwrap();
        assert_eq!(export["numero_beneficiari"], 3);
        assert_eq!(lines.len(), 3);
        let sum: i64 = lines
            .iter()
            .map(|l| cents(l["importo_beneficiario"].as_str().unwrap()))
            .sum();
        assert_eq!(sum, total);
        assert_eq!(cents(export["importo_totale"].as_str().unwrap()), total);
        // The ledger: the city's committed money is what the batch pays.
        let funders = crate::funders::funders_by_name(&app, &c.fund).await;
        assert_eq!(
            cents(funders["Città di Torino"]["committed"].as_str().unwrap()),
            total
        );
        for l in lines {
            let causale = l["causale"].as_str().unwrap();
            assert!(causale.chars().count() <= 140, "{causale}");
            assert!(
                causale.starts_with("Contributo Fondo «Periferie» & Città CUP C11J26000120007")
            );
            assert_eq!(l["codice_cup"], "C11J26000120007");
            assert_eq!(l["codice_cgu"], "U.1.04.04.01.001");
            assert!(
                !l["motivo_esclusione_cig_siope"]
                    .as_str()
                    .unwrap()
                    .is_empty()
            );
            assert!(
                l["estremi_provvedimento_autorizzativo"]
                    .as_str()
                    .unwrap()
                    .contains("Delibera")
            );
            assert_eq!(l["id_attribuzioni"].as_array().unwrap().len(), 1);
        }
        let long = lines
            .iter()
            .find(|l| l["campaign_ids"][0] == a.as_str())
            .unwrap();
        assert!(long["causale"].as_str().unwrap().chars().count() >= 139);
        let hostile_line = lines
            .iter()
            .find(|l| l["codice_fiscale_beneficiario"] == "00774480016")
            .unwrap();
        assert_eq!(
            hostile_line["anagrafica_beneficiario"],
            "=HYPERLINK(\"http://x\") «Àperta» & \"Amici\""
        );

        let csv = app
            .get(
                &format!("/v1/settlements/{id}/treasury.csv"),
                Some(&finance),
            )
            .await;
        assert_eq!(csv.status, 200);
        assert!(csv.content_type.starts_with("text/csv"));
        let (header, rows) = parse_csv(&text(&csv));
        assert_eq!(
            header,
            cofund::http::controllers::settlements::TREASURY_COLUMNS
        );
        let col = |name: &str| header.iter().position(|h| h == name).unwrap();
        assert_eq!(rows.len(), 3);
        let csv_sum: i64 = rows
            .iter()
            .map(|r| cents(&r[col("importo_beneficiario")]))
            .sum();
        assert_eq!(csv_sum, total);
        let hostile_row = rows
            .iter()
            .find(|r| r[col("codice_fiscale_beneficiario")] == "00774480016")
            .unwrap();
        // A spreadsheet never runs it; the accents and quotes survive.
        assert_eq!(
            hostile_row[col("anagrafica_beneficiario")],
            "'=HYPERLINK(\"http://x\") «Àperta» & \"Amici\""
        );
        assert!(
            rows.iter()
                .all(|r| r[col("causale")].chars().count() <= 140)
        );

        // The foundation pays by SEPA, not through the city's treasury.
        let crt_batch = app
            .post(
                "/v1/settlements",
                Some(&finance),
                json!({"fund_id": c.fund, "funder_id": crt}),
            )
            .await;
        let crt_id = crt_batch.ok()["id"].as_str().unwrap().to_string();
        let refused = app
            .get(
                &format!("/v1/settlements/{crt_id}/treasury.json"),
                Some(&finance),
            )
            .await;
        assert_eq!(refused.status, 409);
        assert_eq!(refused.body["code"], "not_public_funder");

        // Only finance and admin.
        let reviewer = app.staff("reviewer").await;
        for (token, status) in [
            (Some(reviewer.as_str()), 403),
            (Some(c.member_a.as_str()), 403),
            (Some(partner.as_str()), 403),
            (None, 401),
        ] {
            for ext in ["csv", "json"] {
                let r = app
                    .get(&format!("/v1/settlements/{id}/treasury.{ext}"), token)
                    .await;
                assert_eq!(r.status, status, "{ext}");
            }
        }
        let missing = app
            .get(
                "/v1/settlements/stl_00000000000000000000000000000000/treasury.csv",
                Some(&finance),
            )
            .await;
        assert_eq!(missing.status, 404);
        app.assert_reconciled().await;
    })
    .await;
}

/// A valid codice fiscale: `stem` (15 characters) with its check letter.
fn codice_fiscale(stem: &str) -> String {
    ('A'..='Z')
        .map(|c| format!("{stem}{c}"))
        .find(|cf| cofund::domain::tax_code::TaxCode::parse(cf).is_ok())
        .unwrap()
}

async fn pledge_with(app: &TestApp, partner: &str, cmp: &str, donor: Value) -> Response {
    app.send(
        app.client
            .post(app.url(&format!("/v1/campaigns/{cmp}/pledges")))
            .bearer_auth(partner)
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .json(&json!({"amount": "50.00", "donor": donor})),
    )
    .await
}

async fn pay(app: &TestApp, partner: &str, p: &Value) {
    app.post(
        &format!("/v1/simulated/payments/{}", pi(p)),
        Some(partner),
        json!({"outcome": "succeed"}),
    )
    .await
    .ok();
}

#[actix_web::test]
async fn a_receipt_states_what_the_law_asks_and_the_donor_tax_code_is_erased_with_the_donor() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let admin = app.admin().await;
        // The association's RUNTS number, checked; a refused one writes nothing.
        let associations = app.count("associations").await;
        let bad = app
            .post(
                "/v1/associations",
                Some(&admin),
                json!({"name": "X", "tax_code": "97542550013", "iban": CRT_IBAN,
                       "email": "x@example.org", "runts_id": "<script>"}),
            )
            .await;
        assert_eq!(bad.status, 422);
        assert_eq!(bad.body["errors"][0]["field"], "runts_id");
        assert_eq!(app.count("associations").await, associations);
        let asso = app
            .post(
                "/v1/associations",
                Some(&admin),
                json!({"name": "Aurora APS", "tax_code": "97542550013", "iban": CRT_IBAN,
                       "email": "x@example.org", "runts_id": "RUNTS 123456"}),
            )
            .await;
        assert_eq!(asso.ok()["runts_id"], "RUNTS 123456");
        let asso_id = asso.body["id"].as_str().unwrap().to_string();
        app.post(
            &format!("/v1/associations/{asso_id}/members"),
            Some(&admin),
            json!({"username": "aurora", "password": "member-password-1", "email": "m@example.org"}),
        )
        .await
        .ok();
        let member = app.login("aurora", "member-password-1").await;
        let cmp = live(&app, &member, &c.fund, json!({"title": "Orti in Aurora"})).await;
        let (_, partner) = app.partner("P").await;

        // A wrong check letter is refused and nothing is created.
        let cf = codice_fiscale("RSSMRA85T10L219");
        let mut wrong = cf.clone();
        let last = wrong.pop().unwrap();
        wrong.push(if last == 'A' { 'B' } else { 'A' });
        let pledges = app.count("pledges").await;
        let r = pledge_with(
            &app,
            &partner,
            &cmp,
            json!({"name": "Mario Rossi", "email": "mario@example.org", "tax_code": wrong}),
        )
        .await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert_eq!(r.body["errors"][0]["field"], "donor.tax_code");
        assert_eq!(app.count("pledges").await, pledges);

        let p = pledge_with(
            &app,
            &partner,
            &cmp,
            json!({"name": "Mario Rossi", "email": "mario@example.org", "tax_code": cf.to_lowercase(), "locale": "en"}),
        )
        .await;
        let p = p.ok().clone();
        let id = p["id"].as_str().unwrap().to_string();
        // No receipt before the money is confirmed.
        let early = get_as(&app, &format!("/v1/pledges/{id}/receipt"), Some(&partner), "application/json").await;
        assert_eq!(early.status, 404);
        pay(&app, &partner, &p).await;

        let r = get_as(&app, &format!("/v1/pledges/{id}/receipt"), Some(&partner), "application/json").await;
        let receipt = r.ok().clone();
        let year = chrono::Utc::now().year();
        assert_eq!(receipt["number"], format!("{year}/000001"));
        assert_eq!(receipt["year"], year);
        assert_eq!(receipt["association"]["name"], "Aurora APS");
        assert_eq!(receipt["association"]["tax_code"], "97542550013");
        assert_eq!(receipt["association"]["runts_id"], "RUNTS 123456");
        assert_eq!(receipt["donor"]["name"], "Mario Rossi");
        assert_eq!(receipt["donor"]["tax_code"], cf.as_str());
        assert_eq!(receipt["amount"], "50.00");
        assert_eq!(receipt["voided"], false);
        assert!(receipt["method"].as_str().unwrap().contains(&pi(&p)));
        assert!(receipt["causale"].as_str().unwrap().contains("Erogazione liberale"));
        assert!(receipt["causale"].as_str().unwrap().contains("Orti in Aurora"));

        // The printable page, in Italian by default and English on request, escaped.
        let page = app.get(&format!("/v1/pledges/{id}/receipt"), Some(&member)).await;
        assert_eq!(page.status, 200);
        assert!(page.content_type.starts_with("text/html"));
        let html = text(&page);
        for needle in [
            "Ricevuta di erogazione liberale",
            &format!("{year}/000001"),
            "Aurora APS",
            "97542550013",
            "RUNTS 123456",
            "Mario Rossi",
            &cf,
            "50,00\u{a0}€",
            "art. 83 del D.Lgs. 117/2017",
        ] {
            assert!(html.contains(needle), "{needle} missing from the receipt page");
        }
        let en = app.get(&format!("/v1/pledges/{id}/receipt?lang=en"), Some(&member)).await;
        assert!(text(&en).contains("Receipt for a liberal donation"));
        let bad_lang = app.get(&format!("/v1/pledges/{id}/receipt?lang=fr"), Some(&member)).await;
        assert_eq!(bad_lang.status, 422);

        // The e-mail receipt carries the same number and facts.
        for _ in 0..3 {
            app.tick().await;
        }
        let mails: Vec<String> = std::fs::read_dir(&app.state.config.notify.mail_dir)
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .collect();
        let mail = mails
            .iter()
            .find(|m| m.contains(&format!("{year}/000001")))
            .expect("a receipt e-mail with the number");
        assert!(mail.contains("RUNTS 123456"));
        assert!(mail.contains(&cf));

        // Erasure takes the tax code too, everywhere.
        app.post("/v1/donors/erase", Some(&admin), json!({"email": "mario@example.org"}))
            .await
            .ok();
        assert_eq!(app.count("donors WHERE tax_code IS NOT NULL").await, 0);
        let left = std::fs::read_dir(&app.state.config.notify.mail_dir)
            .unwrap()
            .filter(|e| {
                std::fs::read_to_string(e.as_ref().unwrap().path())
                    .unwrap()
                    .contains(&cf)
            })
            .count();
        assert_eq!(left, 0, "no mail file keeps the donor's tax code");
        let after = get_as(&app, &format!("/v1/pledges/{id}/receipt"), Some(&partner), "application/json").await;
        assert_eq!(after.ok()["donor"], json!({"name": null, "tax_code": null}));
        assert_eq!(after.body["number"], format!("{year}/000001"));
        let page = app.get(&format!("/v1/pledges/{id}/receipt"), Some(&member)).await;
        assert!(!text(&page).contains(&cf));
        let csv = app
            .get(&format!("/v1/associations/{asso_id}/donations.csv?year={year}"), Some(&member))
            .await;
        assert!(!text(&csv).contains(&cf));
        assert!(!text(&csv).contains("Mario Rossi"));
    })
    .await;
}

#[actix_web::test]
async fn a_refunded_donation_keeps_its_number_voided_and_the_next_gift_takes_the_next_one() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let cmp = app.live_campaign(&c, json!({})).await;
        let (_, partner) = app.partner("P").await;
        let mut gifts = Vec::new();
        for who in ["a", "b", "c"] {
            let p = app
                .pledge(&partner, &cmp, "40.00", &format!("{who}@example.org"))
                .await;
            app.webhook(&succeeded(&format!("evt_ok_{who}"), &pi(&p), 4000))
                .await
                .ok();
            gifts.push(p);
        }
        // b is refunded in full, c in part.
        app.webhook(&refunded("evt_rf_b", &pi(&gifts[1]), 4000))
            .await
            .ok();
        app.webhook(&refunded("evt_rf_c", &pi(&gifts[2]), 1500))
            .await
            .ok();
        let year = chrono::Utc::now().year();
        let receipt = |p: &Value| {
            let id = p["id"].as_str().unwrap().to_string();
            let app = &app;
            let partner = partner.clone();
            async move {
                get_as(
                    app,
                    &format!("/v1/pledges/{id}/receipt"),
                    Some(&partner),
                    "application/json",
                )
                .await
                .ok()
                .clone()
            }
        };
        let b = receipt(&gifts[1]).await;
        assert_eq!(b["number"], format!("{year}/000002"));
        assert_eq!(b["voided"], true);
        assert!(b["voided_at"].is_string());
        let c_receipt = receipt(&gifts[2]).await;
        assert_eq!(c_receipt["voided"], false);
        assert_eq!(c_receipt["refunded"], "15.00");
        let page = app
            .get(
                &format!("/v1/pledges/{}/receipt", gifts[1]["id"].as_str().unwrap()),
                Some(&partner),
            )
            .await;
        assert!(text(&page).contains("RICEVUTA ANNULLATA"));
        let fine = app
            .get(
                &format!("/v1/pledges/{}/receipt", gifts[0]["id"].as_str().unwrap()),
                Some(&partner),
            )
            .await;
        assert!(!text(&fine).contains("ANNULLATA"));

        // The number is not reused.
        let d = app.pledge(&partner, &cmp, "10.00", "d@example.org").await;
        app.webhook(&succeeded("evt_ok_d", &pi(&d), 1000))
            .await
            .ok();
        assert_eq!(receipt(&d).await["number"], format!("{year}/000004"));
        // A replayed refund voids nothing twice and numbers nothing.
        app.webhook(&refunded("evt_rf_b", &pi(&gifts[1]), 4000))
            .await
            .ok();
        assert_eq!(receipt(&gifts[1]).await["voided_at"], b["voided_at"]);

        // The year's list shows every number, the voided one marked.
        let csv = app
            .get(
                &format!("/v1/associations/{}/donations.csv?year={year}", c.asso_a),
                Some(&c.member_a),
            )
            .await;
        let (header, rows) = parse_csv(&text(&csv));
        let col = |name: &str| header.iter().position(|h| h == name).unwrap();
        let numbers: Vec<&str> = rows
            .iter()
            .map(|r| r[col("numero_ricevuta")].as_str())
            .collect();
        assert_eq!(
            numbers,
            (1..=4)
                .map(|n| format!("{year}/{n:06}"))
                .collect::<Vec<_>>()
        );
        let voided: Vec<&str> = rows.iter().map(|r| r[col("annullata")].as_str()).collect();
        assert_eq!(voided, ["false", "true", "false", "false"]);
        assert_eq!(rows[2][col("importo_netto")], "25.00");
    })
    .await;
}

#[actix_web::test]
async fn receipt_numbers_have_no_gap_and_no_duplicate_under_a_hundred_concurrent_confirmations() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let a = app.live_campaign(&c, json!({})).await;
        let b = live(&app, &c.member_b, &c.fund, json!({"title": "Biblioteca"})).await;
        let (_, partner) = app.partner("P").await;
        let mut events = Vec::new();
        for i in 0..100 {
            // Four in five to A, the rest to B, interleaved.
            let cmp = if i % 5 == 4 { &b } else { &a };
            let p = app
                .pledge(&partner, cmp, "5.00", &format!("d{i}@example.org"))
                .await;
            events.push(succeeded(&format!("evt_storm_{i}"), &pi(&p), 500));
        }
        // Each event twice: duplicates must not take a number either.
        let mut twice = events.clone();
        twice.extend(events);
        let year = chrono::Utc::now().year();
        // Meanwhile both associations' lists are read, over and over: each read numbers what
        // is queued, racing the confirmations that queue more and the other list's numbering.
        let done = std::sync::atomic::AtomicBool::new(false);
        let storm = async {
            deliver_concurrently(&app, twice, 16).await;
            done.store(true, std::sync::atomic::Ordering::SeqCst);
        };
        let readers = async {
            let mut reads = 0;
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                for (asso, member) in [(&c.asso_a, &c.member_a), (&c.asso_b, &c.member_b)] {
                    let path = format!("/v1/associations/{asso}/donations.csv?year={year}");
                    assert_eq!(app.get(&path, Some(member)).await.status, 200);
                    reads += 1;
                }
            }
            reads
        };
        let ((), reads) = tokio::join!(storm, readers);
        assert!(reads > 0);
        for (asso, member, n) in [(&c.asso_a, &c.member_a, 80), (&c.asso_b, &c.member_b, 20)] {
            let csv = app
                .get(
                    &format!("/v1/associations/{asso}/donations.csv?year={year}"),
                    Some(member),
                )
                .await;
            assert_eq!(csv.status, 200);
            let (header, rows) = parse_csv(&text(&csv));
            let col = header.iter().position(|h| h == "numero_ricevuta").unwrap();
            let mut numbers: Vec<String> = rows.iter().map(|r| r[col].clone()).collect();
            numbers.sort();
            let expected: Vec<String> = (1..=n).map(|k| format!("{year}/{k:06}")).collect();
            assert_eq!(numbers, expected, "gapless and unique");
        }
        assert_eq!(app.count("receipts").await, 100);
        app.assert_reconciled().await;
    })
    .await;
}

/// Every column of `pledges`, to copy a confirmed pledge many times over in SQL.
const PLEDGE_COLUMNS: &str = "id, campaign_id, partner_id, amount, currency, status, paid, \
    failed, canceled, expired, refunded_amount, dispute, counted_amount, donor_key, message, \
    provider, provider_payment_id, client_secret, provider_idempotency_key, idempotency_key, \
    request_hash, creation_response, flagged_reason, created_at, updated_at, confirmed_at, \
    flagged_amount, flagged_currency, processing";

#[actix_web::test]
async fn a_backlog_of_receipts_larger_than_one_statement_is_numbered_and_the_mail_goes_out() {
    // One association's year with more donations waiting for their numbers than one statement
    // can carry: PostgreSQL takes 65,535 values a statement (8,191 receipts of 8), SQLite
    // 32,766 (the queued ids). This stopped every numbering, and the outbox job with it, for
    // good: the bench's load phases had left 16,827 waiting.
    const BACKLOG: usize = 33_000;
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let cmp = app.live_campaign(&c, json!({})).await;
        let (_, partner) = app.partner("P").await;
        let p = give(&app, &partner, &cmp, "20.00", "first").await;
        let id = p["id"].as_str().unwrap().to_string();
        assert_eq!(app.count("receipt_queue").await, 1);
        // The backlog: copies of the confirmed gift, queued for their receipts as their
        // confirmations would have queued them, after it (33,000 real donations would take
        // minutes here).
        app.sql(&format!(
            "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {BACKLOG}) \
             INSERT INTO pledges ({PLEDGE_COLUMNS}) \
             SELECT p.id || '_' || s.n, campaign_id, partner_id, amount, currency, status, paid, \
               failed, canceled, expired, refunded_amount, dispute, counted_amount, \
               donor_key || '_' || s.n, NULL, provider, provider_payment_id || '_' || s.n, NULL, \
               provider_idempotency_key || '_' || s.n, idempotency_key || '_' || s.n, \
               request_hash, NULL, NULL, created_at, updated_at, confirmed_at, NULL, NULL, \
               processing \
             FROM pledges p, s WHERE p.id = '{id}'; \
             INSERT INTO receipt_queue (pledge_id, association_id, campaign_id, year, amount, \
               currency, issued_at) \
             SELECT p.id, q.association_id, q.campaign_id, q.year, q.amount, q.currency, \
               q.issued_at \
             FROM pledges p, receipt_queue q WHERE q.pledge_id = '{id}' AND p.id LIKE '{id}_%';"
        ))
        .await;
        assert_eq!(app.count("receipt_queue").await, 1 + BACKLOG as i64);
        let mails = app.mails().len();

        // The outbox job claims the first donor's e-mail, numbers the queue and sends it.
        let report = app.tick().await;
        assert!(report.messages_sent >= 1, "{report:?}");
        assert!(app.mails().len() > mails, "no e-mail went out");
        assert_eq!(app.count("receipt_queue").await, 0);
        let all = 1 + BACKLOG as i64;
        assert_eq!(app.count("receipts").await, all);
        // Every number from 1 to the last, once.
        assert_eq!(
            app.count("(SELECT DISTINCT number FROM receipts) AS d")
                .await,
            all
        );
        assert_eq!(
            app.count(&format!("receipts WHERE number < 1 OR number > {all}"))
                .await,
            0
        );
        // The first gift, first in date order, has the first number.
        let year = chrono::Utc::now().year();
        let path = format!("/v1/pledges/{id}/receipt");
        let r = get_as(&app, &path, Some(&partner), "application/json").await;
        assert_eq!(r.ok()["number"], format!("{year}/000001"));
    })
    .await;
}

#[actix_web::test]
async fn receipts_and_association_lists_are_refused_to_everyone_else() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let cmp = app.live_campaign(&c, json!({})).await;
        let (_, partner) = app.partner("P").await;
        let (_, other_partner) = app.partner("Q").await;
        let p = give(&app, &partner, &cmp, "20.00", "x").await;
        let id = p["id"].as_str().unwrap().to_string();
        let reviewer = app.staff("reviewer").await;
        let finance = app.staff("finance").await;
        let admin = app.admin().await;
        let receipt = format!("/v1/pledges/{id}/receipt");
        // The confirmed gift's receipt waits for its number until it is first shown.
        assert_eq!(app.count("receipt_queue").await, 1);
        for (who, token, status) in [
            ("other partner", Some(other_partner.as_str()), 403),
            ("other association", Some(c.member_b.as_str()), 403),
            ("reviewer", Some(reviewer.as_str()), 403),
            ("nobody", None, 401),
            ("partner", Some(partner.as_str()), 200),
            ("association", Some(c.member_a.as_str()), 200),
            ("finance", Some(finance.as_str()), 200),
            ("admin", Some(admin.as_str()), 200),
        ] {
            let r = app.get(&receipt, token).await;
            assert_eq!(r.status, status, "{who}: {}", r.body);
            if status != 200 {
                // A refused reader changes nothing: the receipt is not numbered for them.
                assert_eq!(app.count("receipts").await, 0, "{who} had it numbered");
            } else {
                assert_eq!(app.count("receipts").await, 1, "{who} read it unnumbered");
            }
        }
        let unknown = app
            .get(
                "/v1/pledges/plg_00000000000000000000000000000000/receipt",
                Some(&admin),
            )
            .await;
        assert_eq!(unknown.status, 404);

        let year = chrono::Utc::now().year();
        for list in [
            format!("/v1/associations/{}/donations.csv?year={year}", c.asso_a),
            format!("/v1/associations/{}/public-funding?year={year}", c.asso_a),
        ] {
            for (who, token, status) in [
                ("other association", Some(c.member_b.as_str()), 403),
                ("reviewer", Some(reviewer.as_str()), 403),
                ("partner", Some(partner.as_str()), 403),
                ("nobody", None, 401),
                ("association", Some(c.member_a.as_str()), 200),
                ("finance", Some(finance.as_str()), 200),
                ("admin", Some(admin.as_str()), 200),
            ] {
                let r = app.get(&list, token).await;
                assert_eq!(r.status, status, "{list} {who}: {}", r.body);
            }
        }
        for bad in ["year=1999", "year=abc", "month=1"] {
            let r = app
                .get(
                    &format!("/v1/associations/{}/donations.csv?{bad}", c.asso_a),
                    Some(&finance),
                )
                .await;
            assert!(r.status == 422 || r.status == 400, "{bad}: {}", r.status);
        }
        let missing = app
            .get(
                "/v1/associations/asso_00000000000000000000000000000000/public-funding",
                Some(&finance),
            )
            .await;
        assert_eq!(missing.status, 404);
    })
    .await;
}

#[actix_web::test]
async fn an_association_sees_the_public_money_it_was_paid_and_not_the_foundations() {
    each_backend(|app| async move {
        let (c, fund) = funded_city(
            &app,
            city_and_foundation(),
            json!({"funding_split": "proportional"}),
        )
        .await;
        let (_, partner) = app.partner("P").await;
        let cmp = app.live_campaign(&c, json!({"goal": "1000.00"})).await;
        give(&app, &partner, &cmp, "600.00", "x").await;
        end_all_campaigns(&app).await;
        let finance = app.staff("finance").await;
        for name in ["Città di Torino", "Fondazione CRT"] {
            let batch = app
                .post(
                    "/v1/settlements",
                    Some(&finance),
                    json!({"fund_id": c.fund, "funder_id": funder_id(&fund, name)}),
                )
                .await;
            let id = batch.ok()["id"].as_str().unwrap().to_string();
            app.post(
                &format!("/v1/settlements/{id}/confirm"),
                Some(&app.second_staff("finance").await),
                json!({"bank_reference": "OPI-2026-0001", "paid_at": chrono::Utc::now().to_rfc3339()}),
            )
            .await
            .ok();
        }
        let year = chrono::Utc::now().year();
        let r = app
            .get(&format!("/v1/associations/{}/public-funding?year={year}", c.asso_a), Some(&c.member_a))
            .await;
        let funding = r.ok().clone();
        assert_eq!(funding["total"], "250.00");
        let lines = funding["lines"].as_array().unwrap();
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0]["funder_name"], "Città di Torino");
        assert_eq!(lines[0]["funder_tax_code"], "00514490010");
        assert_eq!(lines[0]["campaign_ids"], json!([cmp]));
        let before = app
            .get(&format!("/v1/associations/{}/public-funding?year={}", c.asso_a, year - 1), Some(&c.member_a))
            .await;
        assert_eq!(before.ok()["lines"], json!([]));
    })
    .await;
}

/// Takes migration `000010_public_finance` (and every later one) back out and
/// applies them again on the test database:
/// what a city upgrading with donations and commitments already on its books goes through.
async fn reapply_public_finance_migration(app: &TestApp) {
    use diesel_migrations::MigrationHarness;
    let db = app.db.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = db.get().unwrap();
        match &mut *conn {
            cofund::db::DbConnection::Sqlite(c) => {
                // The later migrations first, then 000010 itself.
                let mut undone: Vec<String> = Vec::new();
                while undone.last().map(String::as_str) != Some("20261130000010") {
                    assert!(undone.len() < 30, "000010 not found: {undone:?}");
                    undone.push(
                        c.revert_last_migration(cofund::db::SQLITE_MIGRATIONS)
                            .unwrap()
                            .to_string(),
                    );
                }
                c.run_pending_migrations(cofund::db::SQLITE_MIGRATIONS)
                    .unwrap();
            }
            cofund::db::DbConnection::Postgresql(c) => {
                // The later migrations first, then 000010 itself.
                let mut undone: Vec<String> = Vec::new();
                while undone.last().map(String::as_str) != Some("20261130000010") {
                    assert!(undone.len() < 30, "000010 not found: {undone:?}");
                    undone.push(
                        c.revert_last_migration(cofund::db::POSTGRES_MIGRATIONS)
                            .unwrap()
                            .to_string(),
                    );
                }
                c.run_pending_migrations(cofund::db::POSTGRES_MIGRATIONS)
                    .unwrap();
            }
        }
    })
    .await
    .unwrap();
}

#[actix_web::test]
async fn an_upgrade_gives_past_donations_their_receipts_and_past_commitments_their_awards() {
    each_backend(|app| async move {
        let (c, _) = funded_city(
            &app,
            city_and_foundation(),
            json!({"funding_split": "proportional"}),
        )
        .await;
        let (_, partner) = app.partner("P").await;
        let cmp = app.live_campaign(&c, json!({"goal": "1000.00"})).await;
        let first = give(&app, &partner, &cmp, "600.00", "a").await;
        let second = give(&app, &partner, &cmp, "30.00", "b").await;
        give(&app, &partner, &cmp, "20.00", "c").await;
        app.webhook(&refunded("evt_rf_b", &pi(&second), 3000))
            .await
            .ok();
        end_all_campaigns(&app).await;
        assert_eq!(app.count("receipts").await, 3);

        reapply_public_finance_migration(&app).await;

        // Every past donation has its receipt again, in payment order, the refunded one voided.
        assert_eq!(app.count("receipts").await, 3);
        let year = chrono::Utc::now().year();
        let csv = app
            .get(
                &format!("/v1/associations/{}/donations.csv?year={year}", c.asso_a),
                Some(&c.member_a),
            )
            .await;
        let (header, rows) = parse_csv(&text(&csv));
        let col = |name: &str| header.iter().position(|h| h == name).unwrap();
        let numbers: Vec<&str> = rows
            .iter()
            .map(|r| r[col("numero_ricevuta")].as_str())
            .collect();
        assert_eq!(
            numbers,
            (1..=3)
                .map(|n| format!("{year}/{n:06}"))
                .collect::<Vec<_>>()
        );
        let voided: Vec<(&str, &str)> = rows
            .iter()
            .map(|r| {
                (
                    r[col("id_donazione")].as_str(),
                    r[col("annullata")].as_str(),
                )
            })
            .collect();
        assert!(voided.contains(&(second["id"].as_str().unwrap(), "true")));
        assert!(voided.contains(&(first["id"].as_str().unwrap(), "false")));
        // The next donation continues the year's numbering.
        let other = app
            .live_campaign(&c, json!({"goal": "1000.00", "title": "Altro"}))
            .await;
        let next = give(&app, &partner, &other, "10.00", "d").await;
        let r = get_as(
            &app,
            &format!("/v1/pledges/{}/receipt", next["id"].as_str().unwrap()),
            Some(&partner),
            "application/json",
        )
        .await;
        assert_eq!(r.ok()["number"], format!("{year}/000004"));

        // The committed match has its grant again, paid on commitment as before, one part per
        // funder, nothing paid yet.
        let finance = app.staff("finance").await;
        let grants = app
            .get(&format!("/v1/grants?campaign_id={cmp}"), Some(&finance))
            .await;
        let g = &grants.ok()["data"][0];
        assert_eq!(g["payment_plan"], "on_commitment");
        assert_eq!(
            g["awarded"],
            app.campaign_view(&cmp).await["match"]["amount"]
        );
        assert_eq!(g["paid"], "0.00");
        assert_eq!(g["payable"], g["awarded"]);
        assert_eq!(g["parts"].as_array().unwrap().len(), 2);
        // The city's committed part is an award, waiting for the fund's register fields.
        assert_eq!(
            app.get("/v1/transparency/awards", None).await.ok()["data"],
            json!([])
        );
        let admin = app.admin().await;
        let published = app
            .send(
                app.client
                    .put(app.url(&format!("/v1/funds/{}/transparency", c.fund)))
                    .bearer_auth(&admin)
                    .json(&json!({
                        "legal_basis": "Delibera G.C. n. 7/2025", "office": "Welfare",
                        "responsible_official": "Dott. Neri", "selection_method": "Avviso pubblico"
                    })),
            )
            .await;
        assert_eq!(published.status, 200, "{}", published.body);
        let register = app.get("/v1/transparency/awards", None).await;
        let rows = register.ok()["data"].as_array().unwrap().clone();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["campaign_id"], cmp.as_str());
        assert_eq!(rows[0]["amount"], "250.00");
        assert_eq!(rows[0]["legal_basis"], "Delibera G.C. n. 7/2025");
        app.assert_reconciled().await;
    })
    .await;
}
