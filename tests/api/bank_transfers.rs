//! Bank transfers: a pledge paid by the donor's own transfer to the association, confirmed when
//! the association's camt.053 statement shows the money (once, whatever is imported again),
//! unmatched credits assigned by finance, hostile files refused, and asynchronous provider
//! methods (`payment_intent.processing`) left waiting instead of expiring.

use crate::helpers::*;
use cofund::domain::rf_reference::RfReference;
use serde_json::{Value, json};

pub(crate) const IBAN: &str = "IT60X0542811101000000123456";

/// One credit (or debit) line of a statement written for the test.
#[derive(Clone, Default)]
pub(crate) struct Line {
    pub(crate) amount: &'static str,
    pub(crate) bank_ref: Option<String>,
    pub(crate) structured: Option<String>,
    pub(crate) text: Option<String>,
    pub(crate) debit: bool,
}

pub(crate) fn credit(amount: &'static str, bank_ref: &str) -> Line {
    Line {
        amount,
        bank_ref: Some(bank_ref.into()),
        ..Line::default()
    }
}

/// A camt.053.001.0`version` statement of `iban` with `lines`, written as Italian banks do
/// (version 2 and 8 layouts differ in the status and the debtor's party).
pub(crate) fn statement(version: u8, iban: &str, lines: &[Line]) -> String {
    let ns = format!("urn:iso:std:iso:20022:tech:xsd:camt.053.001.0{version}");
    let status = if version >= 5 {
        "<Sts><Cd>BOOK</Cd></Sts>"
    } else {
        "<Sts>BOOK</Sts>"
    };
    let mut entries = String::new();
    for l in lines {
        let debtor = if version >= 8 {
            "<Dbtr><Pty><Nm>Mario Rossi</Nm></Pty></Dbtr>"
        } else {
            "<Dbtr><Nm>Mario Rossi</Nm></Dbtr>"
        };
        let mut rmt = String::new();
        if let Some(t) = &l.text {
            rmt.push_str(&format!("<Ustrd>{t}</Ustrd>"));
        }
        if let Some(r) = &l.structured {
            rmt.push_str(&format!(
                "<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry><Issr>ISO</Issr></Tp><Ref>{r}</Ref></CdtrRefInf></Strd>"
            ));
        }
        let acct_ref = l
            .bank_ref
            .as_ref()
            .map(|r| format!("<AcctSvcrRef>{r}</AcctSvcrRef>"))
            .unwrap_or_default();
        entries.push_str(&format!(
            "<Ntry><Amt Ccy=\"EUR\">{amount}</Amt><CdtDbtInd>{ind}</CdtDbtInd>{status}\
             <BookgDt><Dt>2026-12-03</Dt></BookgDt><ValDt><Dt>2026-12-03</Dt></ValDt>{acct_ref}\
             <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>\
             <NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>\
             <RltdPties>{debtor}<DbtrAcct><Id><IBAN>IT02L1234512345123456789012</IBAN></Id></DbtrAcct></RltdPties>\
             <RmtInf>{rmt}</RmtInf></TxDtls></NtryDtls></Ntry>",
            amount = l.amount,
            ind = if l.debit { "DBIT" } else { "CRDT" },
        ));
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <Document xmlns=\"{ns}\"><BkToCstmrStmt>\
         <GrpHdr><MsgId>STMT-2026-12-04</MsgId><CreDtTm>2026-12-04T06:00:00</CreDtTm></GrpHdr>\
         <Stmt><Id>STMT-2026-12-04-1</Id><CreDtTm>2026-12-04T06:00:00</CreDtTm>\
         <Acct><Id><IBAN>{iban}</IBAN></Id><Ccy>EUR</Ccy></Acct>\
         <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"EUR\">1000.00</Amt>\
         <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-12-03</Dt></Dt></Bal>\
         {entries}</Stmt></BkToCstmrStmt></Document>"
    )
}

/// A bank-transfer pledge; returns the 201 body.
pub(crate) async fn bank_pledge(
    app: &TestApp,
    partner: &str,
    campaign: &str,
    amount: &str,
    email: &str,
) -> Value {
    let res = app
        .send(
            app.client
                .post(app.url(&format!("/v1/campaigns/{campaign}/pledges")))
                .bearer_auth(partner)
                .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
                .json(&json!({"amount": amount, "method": "bank_transfer",
                              "donor": {"name": "Mario Rossi", "email": email, "locale": "it"}})),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    res.body.clone()
}

pub(crate) fn reference(p: &Value) -> String {
    p["payment"]["reference"].as_str().unwrap().to_string()
}

pub(crate) async fn import(app: &TestApp, association: &str, token: &str, xml: &str) -> Response {
    app.send(
        app.client
            .post(app.url(&format!("/v1/associations/{association}/bank-statements")))
            .bearer_auth(token)
            .header("content-type", "application/xml")
            .body(xml.to_string()),
    )
    .await
}

async fn entries(app: &TestApp, association: &str, query: &str) -> Vec<Value> {
    let finance = app.staff("finance").await;
    let res = app
        .get(
            &format!("/v1/associations/{association}/bank-entries?{query}"),
            Some(&finance),
        )
        .await;
    res.ok()["data"].as_array().unwrap().clone()
}

async fn pledge_view(app: &TestApp, id: &str) -> Value {
    let finance = app.staff("finance").await;
    app.get(&format!("/v1/pledges/{id}"), Some(&finance))
        .await
        .ok()
        .clone()
}

#[actix_web::test]
async fn a_bank_transfer_is_confirmed_by_the_statement_once_however_often_it_is_imported() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let (_, partner) = app.partner("P").await;
        let cmp = app.live_campaign(&c, json!({})).await;
        let p = bank_pledge(&app, &partner, &cmp, "250.00", "mario@example.org").await;
        // The donor's instructions: the association's account and the pledge's own reference.
        assert_eq!(p["status"], "pending");
        assert_eq!(p["payment"]["provider"], "bank_transfer");
        assert_eq!(p["payment"]["iban"], IBAN);
        assert_eq!(p["payment"]["beneficiary"], "Barriera Solidale");
        assert!(p["payment"].get("client_secret").is_none());
        let rf = reference(&p);
        let parsed = RfReference::parse(&rf).expect("a valid ISO 11649 reference");
        assert_eq!(parsed.as_str(), rf);
        assert_eq!(p["payment"]["reference_printed"], parsed.grouped());
        let expires =
            chrono::DateTime::parse_from_rfc3339(p["payment"]["expires_at"].as_str().unwrap())
                .unwrap();
        let days = (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_hours();
        assert!((239..=240).contains(&days), "expires in {days} h");
        // No provider was asked: nothing to pay through the simulated provider.
        let sim = app
            .post(
                &format!("/v1/simulated/payments/{rf}"),
                Some(&partner),
                json!({"outcome": "succeed"}),
            )
            .await;
        assert_eq!(sim.status, 404, "{}", sim.body);

        let xml = statement(
            2,
            IBAN,
            &[
                Line {
                    structured: Some(rf.clone()),
                    ..credit("250.00", "BNK-0001")
                },
                credit("80.00", "BNK-0002"),
                Line {
                    debit: true,
                    ..credit("12.50", "BNK-0003")
                },
            ],
        );
        let res = import(&app, &c.asso_a, &c.member_a, &xml).await;
        assert_eq!(res.status, 201, "{}", res.body);
        let r = res.body.clone();
        assert_eq!(
            (
                r["version"].as_u64(),
                r["credits"].as_u64(),
                r["booked"].as_u64()
            ),
            (Some(2), Some(2), Some(2))
        );
        assert_eq!(
            (r["matched"].as_u64(), r["unmatched"].as_u64()),
            (Some(1), Some(1))
        );
        let v = pledge_view(&app, p["id"].as_str().unwrap()).await;
        assert_eq!(v["status"], "confirmed", "{v}");
        assert_eq!(app.campaign_view(&cmp).await["raised"], "250.00");

        // The same statement again, and an overlapping one a day later: nothing twice.
        let again = import(&app, &c.asso_a, &c.member_a, &xml).await;
        assert_eq!(again.ok()["booked"], 0);
        assert_eq!(again.ok()["already_booked"], 2);
        let overlapping = statement(
            8,
            IBAN,
            &[
                Line {
                    structured: Some(rf.clone()),
                    ..credit("250.00", "BNK-0001")
                },
                credit("80.00", "BNK-0002"),
                credit("15.00", "BNK-0004"),
            ],
        );
        let r = import(&app, &c.asso_a, &c.member_a, &overlapping).await;
        assert_eq!(
            (r.ok()["booked"].as_u64(), r.ok()["already_booked"].as_u64()),
            (Some(1), Some(2))
        );
        assert_eq!(app.campaign_view(&cmp).await["raised"], "250.00");
        assert_eq!(app.count("bank_entries").await, 3);
        let matched = entries(&app, &c.asso_a, "status=matched").await;
        assert_eq!(matched.len(), 1);
        assert_eq!(matched[0]["pledge_id"], p["id"]);
        assert_eq!(matched[0]["reference"], rf.as_str());
        assert_eq!(matched[0]["debtor_account"], "IT** **** 9012");
        assert_eq!(entries(&app, &c.asso_a, "status=unmatched").await.len(), 2);
        // The receipt names the method and the reference.
        app.tick().await;
        let receipt = app
            .get(
                &format!("/v1/pledges/{}/receipt", p["id"].as_str().unwrap()),
                Some(&partner),
            )
            .await;
        let text = receipt.body.to_string();
        assert!(
            text.contains("bonifico bancario") && text.contains(&rf),
            "{text}"
        );
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn references_in_free_text_short_amounts_and_unknown_references() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let (_, partner) = app.partner("P").await;
        let cmp = app.live_campaign(&c, json!({})).await;
        let grouped = bank_pledge(&app, &partner, &cmp, "40.00", "a@example.org").await;
        let short = bank_pledge(&app, &partner, &cmp, "100.00", "b@example.org").await;
        let waiting = bank_pledge(&app, &partner, &cmp, "75.00", "c@example.org").await;
        let printed = RfReference::parse(&reference(&grouped)).unwrap().grouped();
        // A reference with its last character changed never matches. The change is one that
        // breaks the check digits: when a letter becomes a digit the number ISO 11649 checks
        // changes length, and 1 such change in 97 passes (this test once drew one).
        let right = reference(&waiting);
        let (stem, last) = right.split_at(right.len() - 1);
        let wrong = ('0'..='9')
            .chain('A'..='Z')
            .map(|c| format!("{stem}{c}"))
            .filter(|w| !w.ends_with(last))
            .find(|w| RfReference::parse(w).is_err())
            .expect("most one-character changes break the check digits");
        let xml = statement(
            8,
            IBAN,
            &[
                Line {
                    text: Some(format!("Donazione {printed} grazie")),
                    ..credit("40.00", "B-1")
                },
                Line {
                    structured: Some(reference(&short)),
                    ..credit("60.00", "B-2")
                },
                Line {
                    text: Some(format!("Donazione {wrong}")),
                    ..credit("75.00", "B-3")
                },
            ],
        );
        let r = import(&app, &c.asso_a, &c.member_a, &xml).await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(
            (
                r.ok()["matched"].as_u64(),
                r.ok()["flagged"].as_u64(),
                r.ok()["unmatched"].as_u64()
            ),
            (Some(1), Some(1), Some(1))
        );
        assert_eq!(
            pledge_view(&app, grouped["id"].as_str().unwrap()).await["status"],
            "confirmed"
        );
        // 60 € for a 100 € pledge: flagged, not counted.
        let s = pledge_view(&app, short["id"].as_str().unwrap()).await;
        assert_eq!(s["status"], "pending", "{s}");
        assert_eq!(s["flagged_amount"], "60.00");
        assert_eq!(app.campaign_view(&cmp).await["raised"], "40.00");

        // Finance assigns the unmatched credit to the pledge it was meant for.
        let unmatched = entries(&app, &c.asso_a, "status=unmatched").await;
        assert_eq!(unmatched.len(), 1);
        let entry = unmatched[0]["id"].as_str().unwrap();
        let finance = app.staff("finance").await;
        let path = format!("/v1/bank-entries/{entry}/assign");
        // Not the association, and not to a pledge of another amount.
        app.post(
            &path,
            Some(&c.member_a),
            json!({"pledge_id": waiting["id"]}),
        )
        .await
        .assert_problem(403, "forbidden");
        app.post(&path, Some(&finance), json!({"pledge_id": short["id"]}))
            .await
            .assert_problem(409, "amount_mismatch");
        let card = app.pledge(&partner, &cmp, "75.00", "d@example.org").await;
        app.post(&path, Some(&finance), json!({"pledge_id": card["id"]}))
            .await
            .assert_problem(409, "not_a_bank_transfer");
        app.post(&path, Some(&finance), json!({"pledge_id": "plg_nope"}))
            .await
            .assert_problem(404, "not_found");
        let done = app
            .post(&path, Some(&finance), json!({"pledge_id": waiting["id"]}))
            .await;
        assert_eq!(done.ok()["status"], "assigned", "{}", done.body);
        assert_eq!(
            pledge_view(&app, waiting["id"].as_str().unwrap()).await["status"],
            "confirmed"
        );
        assert_eq!(app.campaign_view(&cmp).await["raised"], "115.00");
        // Twice: refused, nothing more counted.
        app.post(&path, Some(&finance), json!({"pledge_id": waiting["id"]}))
            .await
            .assert_problem(409, "entry_not_unmatched");
        assert_eq!(app.campaign_view(&cmp).await["raised"], "115.00");
        // The short payment is listed until it is returned to its sender.
        let admin = app.admin().await;
        let report = app.get("/v1/reconciliation", Some(&admin)).await;
        let violations = report.ok()["violations"].as_array().unwrap().clone();
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(violations[0]["check"], "flagged_payment");
        assert_eq!(violations[0]["subject"], short["id"]);
    })
    .await;
}

#[actix_web::test]
async fn hostile_malformed_and_foreign_statements_are_refused_and_book_nothing() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let (_, partner) = app.partner("P").await;
        let cmp = app.live_campaign(&c, json!({})).await;
        let p = bank_pledge(&app, &partner, &cmp, "25.00", "a@example.org").await;
        let good = statement(2, IBAN, &[Line { structured: Some(reference(&p)), ..credit("25.00", "X-1") }]);
        let laughs = format!(
            "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\"><!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">]>{}",
            good.trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>").replace("X-1", "&lol3;")
        );
        let external = format!(
            "<?xml version=\"1.0\"?><!DOCTYPE d [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>{}",
            good.trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>").replace("X-1", "&xxe;")
        );
        let cases: Vec<(&str, String)> = vec![
            ("billion laughs", laughs),
            ("external entity", external),
            ("another account", statement(2, "IT02L1234512345123456789012", &[Line { structured: Some(reference(&p)), ..credit("25.00", "X-1") }])),
            ("not a statement", "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.052.001.02\"/>".into()),
            ("version 9", statement(9, IBAN, &[credit("25.00", "X-1")])),
            ("not XML", "%PDF-1.7 not a statement".into()),
            ("cut short", good[..good.len() / 2].to_string()),
            ("a NUL byte", good.replace("X-1", "X\u{0}1")),
            ("an amount with three decimals", statement(2, IBAN, &[credit("25.001", "X-1")])),
        ];
        for (what, xml) in cases {
            let res = import(&app, &c.asso_a, &c.member_a, &xml).await;
            assert_eq!(res.status, 422, "{what}: {}", res.body);
            assert_eq!(res.content_type, "application/problem+json", "{what}");
            let detail = res.body["detail"].as_str().unwrap_or_default().to_string()
                + &res.body["errors"].to_string();
            assert!(!detail.contains("roxmltree") && !detail.contains("/etc/passwd") && !detail.contains("root:"), "{what}: {detail}");
        }
        // Over 5 MB: 413 before it is parsed.
        let big = format!("{}{}", good, " ".repeat(5 * 1024 * 1024));
        assert_eq!(import(&app, &c.asso_a, &c.member_a, &big).await.status, 413);
        // Recognised by its content, whatever type it was sent as.
        let res = app
            .send(app.client.post(app.url(&format!("/v1/associations/{}/bank-statements", c.asso_a)))
                .bearer_auth(&c.member_a).header("content-type", "application/json").body("{}"))
            .await;
        assert_eq!(res.status, 422, "{}", res.body);
        assert_eq!(app.count("bank_entries").await, 0);
        assert_eq!(app.count("bank_statements").await, 0);
        assert_eq!(pledge_view(&app, p["id"].as_str().unwrap()).await["status"], "pending");
        // Whose statement: another association's member is told nothing exists; a partner and
        // a reviewer may not; finance may.
        import(&app, &c.asso_a, &c.member_b, &good).await.assert_problem(404, "not_found");
        import(&app, &c.asso_a, &partner, &good).await.assert_problem(403, "forbidden");
        let reviewer = app.staff("reviewer").await;
        import(&app, &c.asso_a, &reviewer, &good).await.assert_problem(403, "forbidden");
        app.get(&format!("/v1/associations/{}/bank-entries", c.asso_a), Some(&c.member_b))
            .await
            .assert_problem(404, "not_found");
        let finance = app.staff("finance").await;
        assert_eq!(import(&app, &c.asso_a, &finance, &good).await.ok()["matched"], 1);
        // The statement's multipart form works too.
        let boundary = "cofund-statement-boundary";
        let body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"estratto.xml\"\r\n\
             Content-Type: text/xml\r\n\r\n{}\r\n--{boundary}--\r\n",
            statement(2, IBAN, &[credit("9.00", "X-2")])
        );
        let res = app
            .send(app.client.post(app.url(&format!("/v1/associations/{}/bank-statements", c.asso_a)))
                .bearer_auth(&c.member_a)
                .header("content-type", format!("multipart/form-data; boundary={boundary}"))
                .body(body))
            .await;
        assert_eq!(res.ok()["unmatched"], 1);
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn a_transfer_crossing_the_threshold_reserves_the_match_once_under_concurrent_imports() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let (_, partner) = app.partner("P").await;
        // Goal 20,000 €: the threshold is 10,000 €.
        let cmp = app.live_campaign(&c, json!({"goal": "20000.00"})).await;
        give(&app, &partner, &cmp, 6000, "card").await;
        let p = bank_pledge(&app, &partner, &cmp, "4000.00", "bank@example.org").await;
        let xml = statement(
            5,
            IBAN,
            &[Line {
                structured: Some(reference(&p)),
                ..credit("4000.00", "T-1")
            }],
        );
        let finance = app.staff("finance").await;
        let (a, b, d) = tokio::join!(
            import(&app, &c.asso_a, &c.member_a, &xml),
            import(&app, &c.asso_a, &finance, &xml),
            import(&app, &c.asso_a, &c.member_a, &xml)
        );
        let booked: u64 = [a, b, d]
            .iter()
            .map(|r| {
                assert_eq!(r.status, 201, "{}", r.body);
                r.body["booked"].as_u64().unwrap()
            })
            .sum();
        assert_eq!(booked, 1);
        let view = app.campaign_view(&cmp).await;
        assert_eq!(view["raised"], "10000.00");
        assert_eq!(view["match"]["status"], "reserved", "{view}");
        assert_eq!(view["match"]["amount"], "10000.00");
        let history = app
            .get(&format!("/v1/campaigns/{cmp}/match"), Some(&finance))
            .await;
        let reserved = history.ok()["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["decision"] == "reserve")
            .count();
        assert_eq!(reserved, 1, "{}", history.body);
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn late_transfers_count_on_a_live_campaign_and_are_returned_by_hand_on_a_failed_one() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let (_, partner) = app.partner("P").await;
        let cmp = app.live_campaign(&c, json!({})).await;
        let p = bank_pledge(&app, &partner, &cmp, "30.00", "late@example.org").await;
        let id = p["id"].as_str().unwrap();
        // A card pledge's hour is not a bank transfer's ten days.
        app.advance_clock(chrono::TimeDelta::days(2));
        app.tick().await;
        assert_eq!(pledge_view(&app, id).await["status"], "pending");
        app.advance_clock(chrono::TimeDelta::days(9));
        app.tick().await;
        assert_eq!(pledge_view(&app, id).await["status"], "expired");
        // The money comes after all: it still counts.
        let xml = statement(
            2,
            IBAN,
            &[Line {
                structured: Some(reference(&p)),
                ..credit("30.00", "L-1")
            }],
        );
        assert_eq!(
            import(&app, &c.asso_a, &c.member_a, &xml).await.ok()["matched"],
            1
        );
        assert_eq!(pledge_view(&app, id).await["status"], "confirmed");
        assert_eq!(app.campaign_view(&cmp).await["raised"], "30.00");

        // On a campaign that failed, late money is listed for the association to return.
        let late = bank_pledge(&app, &partner, &cmp, "20.00", "later@example.org").await;
        end_all_campaigns(&app).await;
        assert_eq!(app.campaign_view(&cmp).await["status"], "failed");
        let xml = statement(
            2,
            IBAN,
            &[Line {
                structured: Some(reference(&late)),
                ..credit("20.00", "L-2")
            }],
        );
        assert_eq!(
            import(&app, &c.asso_a, &c.member_a, &xml).await.ok()["matched"],
            1
        );
        app.tick().await;
        app.tick().await;
        let admin = app.admin().await;
        let report = app.get("/v1/reconciliation", Some(&admin)).await;
        let text = report.body.to_string();
        assert!(text.contains("returns it by its own transfer"), "{text}");
    })
    .await;
}

#[actix_web::test]
async fn a_payment_the_provider_is_clearing_waits_instead_of_expiring() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let (_, partner) = app.partner("P").await;
        let cmp = app.live_campaign(&c, json!({})).await;
        let p = app.pledge(&partner, &cmp, "50.00", "sdd@example.org").await;
        let id = p["id"].as_str().unwrap();
        let processing = json!({"id": "evt_proc_1", "object": "event", "type": "payment_intent.processing",
            "data": {"object": {"object": "payment_intent", "id": pi(&p), "amount": 5000, "currency": "eur", "status": "processing"}}});
        assert!(app.webhook(&processing).await.status.is_success());
        assert_eq!(pledge_view(&app, id).await["status"], "processing");
        let finance = app.staff("finance").await;
        let listed = app.get("/v1/pledges?status=processing", Some(&finance)).await;
        assert_eq!(listed.ok()["data"][0]["id"], id, "{}", listed.body);
        let pending = app.get("/v1/pledges?status=pending", Some(&finance)).await;
        assert!(pending.ok()["data"].as_array().unwrap().is_empty(), "{}", pending.body);
        // Days later, past the pledge's time to live: still waiting for the bank's verdict,
        // and it counts as pending for the closing grace.
        app.advance_clock(chrono::TimeDelta::days(3));
        app.tick().await;
        assert_eq!(pledge_view(&app, id).await["status"], "processing");
        assert!(app.webhook(&succeeded("evt_proc_2", &pi(&p), 5000)).await.status.is_success());
        assert_eq!(pledge_view(&app, id).await["status"], "confirmed");
        assert_eq!(app.campaign_view(&cmp).await["raised"], "50.00");
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn bank_transfer_money_is_never_paid_out_again_and_its_debtor_is_erased_with_the_donor() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let (_, partner) = app.partner("P").await;
        let cmp = app.live_campaign(&c, json!({"goal": "20000.00"})).await;
        give(&app, &partner, &cmp, 9000, "card").await;
        let p = bank_pledge(&app, &partner, &cmp, "2000.00", "erase-me@example.org").await;
        let xml = statement(
            2,
            IBAN,
            &[Line {
                structured: Some(reference(&p)),
                text: Some("Mario Rossi dono".into()),
                ..credit("2000.00", "E-1")
            }],
        );
        assert_eq!(
            import(&app, &c.asso_a, &c.member_a, &xml).await.ok()["matched"],
            1
        );
        end_all_campaigns(&app).await;
        assert_eq!(app.campaign_view(&cmp).await["status"], "succeeded");
        app.post_empty(
            &format!("/v1/associations/{}/payout-account", c.asso_a),
            Some(&c.member_a),
        )
        .await
        .ok();
        app.tick().await;
        app.tick().await;
        let finance = app.staff("finance").await;
        let payouts = app
            .get(&format!("/v1/payouts?campaign_id={cmp}"), Some(&finance))
            .await;
        let paid: Vec<&Value> = payouts.ok()["data"].as_array().unwrap().iter().collect();
        assert_eq!(paid.len(), 1, "{}", payouts.body);
        // Only what came through the provider: the 2,000 € reached the association's bank.
        assert_eq!(paid[0]["amount"], "9000.00");
        app.assert_reconciled().await;
        // The donor is erased: the credit keeps no name, account or text of theirs.
        let admin = app.admin().await;
        let res = app
            .post(
                "/v1/donors/erase",
                Some(&admin),
                json!({"email": "erase-me@example.org"}),
            )
            .await;
        assert!(res.status.is_success(), "{}", res.body);
        let entry = &entries(&app, &c.asso_a, "status=matched").await[0];
        assert!(
            entry["debtor_name"].is_null()
                && entry["debtor_account"].is_null()
                && entry["remittance"].is_null(),
            "{entry}"
        );
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn a_pledge_paid_twice_at_once_counts_once_and_lists_the_second_credit() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let (_, partner) = app.partner("P").await;
        let cmp = app.live_campaign(&c, json!({})).await;
        let p = bank_pledge(&app, &partner, &cmp, "120.00", "twice@example.org").await;
        let other = bank_pledge(&app, &partner, &cmp, "120.00", "other@example.org").await;
        // A credit with no reference, for finance to assign to the same pledge meanwhile.
        let loose = statement(2, IBAN, &[credit("120.00", "S-0")]);
        import(&app, &c.asso_a, &c.member_a, &loose).await.ok();
        let loose_id = entries(&app, &c.asso_a, "status=unmatched").await[0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        // Four statements, each with its own credit naming the pledge (the donor paid from
        // several banks), imported at once while finance assigns the loose credit to it.
        let finance = app.staff("finance").await;
        let files: Vec<String> = (1..=4)
            .map(|i| {
                statement(
                    2,
                    IBAN,
                    &[Line {
                        structured: Some(reference(&p)),
                        ..credit("120.00", ["S-1", "S-2", "S-3", "S-4"][i - 1])
                    }],
                )
            })
            .collect();
        let assign_path = format!("/v1/bank-entries/{loose_id}/assign");
        let (imports, assigned) = tokio::join!(
            futures_util::future::join_all(files.iter().map(|x| import(
                &app,
                &c.asso_a,
                &c.member_a,
                x
            ))),
            app.post(&assign_path, Some(&finance), json!({"pledge_id": p["id"]}))
        );
        let matched: u64 = imports
            .iter()
            .map(|r| {
                assert_eq!(r.status, 201, "{}", r.body);
                r.body["matched"].as_u64().unwrap()
            })
            .sum();
        let assigned_ok = assigned.status == 200;
        if !assigned_ok {
            assert_eq!(
                assigned.body["code"], "pledge_not_waiting",
                "{}",
                assigned.body
            );
        }
        // Exactly one credit paid it.
        assert_eq!(matched + u64::from(assigned_ok), 1);
        assert_eq!(app.campaign_view(&cmp).await["raised"], "120.00");
        let notes: Vec<Value> = entries(&app, &c.asso_a, "status=unmatched").await;
        let already = notes
            .iter()
            .filter(|e| e["note"].as_str().unwrap_or("").contains("already paid"))
            .count();
        assert_eq!(already, 4 - matched as usize, "{notes:?}");
        // The other pledge was untouched.
        assert_eq!(
            pledge_view(&app, other["id"].as_str().unwrap()).await["status"],
            "pending"
        );
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn bad_assignments_and_replayed_processing_events_change_nothing() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let (_, partner) = app.partner("P").await;
        let cmp = app.live_campaign(&c, json!({})).await;
        // A live campaign of association B, with a bank-transfer pledge of the same amount.
        let theirs = app.campaign(&c.member_b, &c.fund, json!({})).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        app.post_empty(&format!("/v1/campaigns/{theirs}/submit"), Some(&c.member_b))
            .await
            .ok();
        let reviewer = app.staff("reviewer").await;
        app.post_empty(&format!("/v1/campaigns/{theirs}/approve"), Some(&reviewer))
            .await
            .ok();
        app.tick().await;
        let foreign = bank_pledge(&app, &partner, &theirs, "30.00", "b@example.org").await;
        import(&app, &c.asso_a, &c.member_a, &statement(2, IBAN, &[credit("30.00", "N-1")]))
            .await
            .ok();
        let entry = entries(&app, &c.asso_a, "status=unmatched").await[0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let finance = app.staff("finance").await;
        let path = format!("/v1/bank-entries/{entry}/assign");
        app.post(&path, Some(&finance), json!({"pledge_id": foreign["id"]}))
            .await
            .assert_problem(409, "another_association");
        app.post(&path, Some(&finance), json!({"pledge_id": foreign["id"], "note": "x"}))
            .await
            .assert_problem(422, "validation_failed");
        app.post(&path, Some(&finance), json!({"pledge_id": ""}))
            .await
            .assert_problem(422, "validation_failed");
        app.post(&path, Some(&partner), json!({"pledge_id": foreign["id"]}))
            .await
            .assert_problem(403, "forbidden");
        app.post("/v1/bank-entries/ben_nope/assign", Some(&finance), json!({"pledge_id": foreign["id"]}))
            .await
            .assert_problem(404, "not_found");
        app.get(&format!("/v1/associations/{}/bank-entries?status=lost", c.asso_a), Some(&finance))
            .await
            .assert_problem(422, "validation_failed");
        // Nothing moved: the credit waits, B's pledge waits, nothing was raised.
        assert_eq!(entries(&app, &c.asso_a, "status=unmatched").await.len(), 1);
        assert_eq!(pledge_view(&app, foreign["id"].as_str().unwrap()).await["status"], "pending");
        assert_eq!(app.campaign_view(&theirs).await["raised"], "0.00");

        // A `processing` event delivered twice, then after the success: the pledge ends confirmed.
        let p = app.pledge(&partner, &cmp, "50.00", "sdd@example.org").await;
        let processing = json!({"id": "evt_proc_r", "object": "event", "type": "payment_intent.processing",
            "data": {"object": {"object": "payment_intent", "id": pi(&p), "amount": 5000, "currency": "eur", "status": "processing"}}});
        assert!(app.webhook(&processing).await.status.is_success());
        assert!(app.webhook(&processing).await.status.is_success());
        assert!(app.webhook(&succeeded("evt_proc_s", &pi(&p), 5000)).await.status.is_success());
        let late = json!({"id": "evt_proc_late", "object": "event", "type": "payment_intent.processing",
            "data": {"object": {"object": "payment_intent", "id": pi(&p), "amount": 5000, "currency": "eur", "status": "processing"}}});
        assert!(app.webhook(&late).await.status.is_success());
        assert_eq!(pledge_view(&app, p["id"].as_str().unwrap()).await["status"], "confirmed");
        assert_eq!(app.campaign_view(&cmp).await["raised"], "50.00");
        app.assert_reconciled().await;
    })
    .await;
}
