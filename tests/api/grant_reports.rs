//! A grant's report: the association's documents (recognised by their bytes, served only as
//! attachments to those who may read the grant), its expense lines and final report, and the
//! reviewers' checks that add up to the grant's accepted expenses.

use crate::helpers::*;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Pledges `euros` and has the simulated provider confirm it.
fn grant_of(campaign_id: &str) -> String {
    format!("grt_{}", campaign_id.split_once('_').unwrap().1)
}

struct Scene {
    c: City,
    partner: String,
    /// Association A's grant and association B's.
    grant_a: String,
    grant_b: String,
}

/// Two succeeded campaigns with committed matches, one per association: two open grants.
async fn scene(app: &TestApp) -> Scene {
    let c = city(app, json!({})).await;
    let (_, partner) = app.partner("P").await;
    let a = app.live_campaign(&c, json!({"title": "Doposcuola"})).await;
    let b = app
        .campaign(&c.member_b, &c.fund, json!({"title": "Biblioteca"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.post_empty(&format!("/v1/campaigns/{b}/submit"), Some(&c.member_b))
        .await
        .ok();
    let reviewer = app.staff("reviewer").await;
    app.post_empty(&format!("/v1/campaigns/{b}/approve"), Some(&reviewer))
        .await
        .ok();
    app.tick().await;
    give(app, &partner, &a, 20_000, "a").await;
    give(app, &partner, &b, 25_000, "b").await;
    end_all_campaigns(app).await;
    for id in [&a, &b] {
        assert_eq!(app.campaign_view(id).await["match"]["status"], "committed");
    }
    let (grant_a, grant_b) = (grant_of(&a), grant_of(&b));
    for g in [&grant_a, &grant_b] {
        assert_eq!(
            app.count(&format!("grants WHERE id = '{g}' AND status = 'open'"))
                .await,
            1,
            "grant {g} is open"
        );
    }
    Scene {
        c,
        partner,
        grant_a,
        grant_b,
    }
}

// --- files -------------------------------------------------------------------------------

pub(crate) fn pdf() -> Vec<u8> {
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\nxref\n0 3\n0000000000 65535 f \n0000000009 00000 n \n0000000058 00000 n \ntrailer\n<< /Size 3 /Root 1 0 R >>\nstartxref\n110\n%%EOF\n".to_vec()
}

/// A 1×1 RGB PNG (valid CRCs).
fn png() -> Vec<u8> {
    vec![
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90,
        0x77, 0x53, 0xde, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8,
        0xcf, 0xc0, 0x00, 0x00, 0x03, 0x01, 0x01, 0x00, 0xc9, 0xfe, 0x92, 0xef, 0x00, 0x00, 0x00,
        0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
    ]
}

/// A 1×1 greyscale JPEG (JFIF, arithmetic coding).
fn jpeg() -> Vec<u8> {
    let mut v = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x01, 0x00,
        0x48, 0x00, 0x48, 0x00, 0x00, 0xFF, 0xDB, 0x00, 0x43, 0x00,
    ];
    v.extend_from_slice(&[
        0x03, 0x02, 0x02, 0x02, 0x02, 0x02, 0x03, 0x02, 0x02, 0x02, 0x03, 0x03, 0x03, 0x03, 0x04,
        0x06, 0x04, 0x04, 0x04, 0x04, 0x04, 0x08, 0x06, 0x06, 0x05, 0x06, 0x09, 0x08, 0x0A, 0x0A,
        0x09, 0x08, 0x09, 0x09, 0x0A, 0x0C, 0x0F, 0x0C, 0x0A, 0x0B, 0x0E, 0x0B, 0x09, 0x09, 0x0D,
        0x11, 0x0D, 0x0E, 0x0F, 0x10, 0x10, 0x11, 0x10, 0x0A, 0x0C, 0x12, 0x13, 0x12, 0x10, 0x13,
        0x0F, 0x10, 0x10, 0x10,
    ]);
    v.extend_from_slice(&[
        0xFF, 0xC9, 0x00, 0x0B, 0x08, 0x00, 0x01, 0x00, 0x01, 0x01, 0x01, 0x11, 0x00, 0xFF, 0xCC,
        0x00, 0x06, 0x00, 0x10, 0x10, 0x05, 0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F,
        0x00, 0xD2, 0xCF, 0x20, 0xFF, 0xD9,
    ]);
    v
}

const BOUNDARY: &str = "cofund-test-boundary-7d0f3a";

/// A multipart/form-data body of `parts` (name, filename, bytes).
fn form(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, filename, bytes) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let disposition = match filename {
            Some(f) => {
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n")
            }
            None => format!("Content-Disposition: form-data; name=\"{name}\"\r\n"),
        };
        body.extend_from_slice(disposition.as_bytes());
        // The declared type is ignored: say PDF whatever is sent.
        body.extend_from_slice(b"Content-Type: application/pdf\r\n\r\n");
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn post_form(app: &TestApp, token: &str, grant: &str, body: Vec<u8>) -> Response {
    app.send(
        app.client
            .post(app.url(&format!("/v1/grants/{grant}/documents")))
            .bearer_auth(token)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(body),
    )
    .await
}

pub(crate) async fn upload(
    app: &TestApp,
    token: &str,
    grant: &str,
    filename: &str,
    bytes: &[u8],
) -> Response {
    post_form(app, token, grant, form(&[("file", Some(filename), bytes)])).await
}

async fn documents(app: &TestApp, token: &str, grant: &str) -> Vec<Value> {
    app.get(
        &format!("/v1/grants/{grant}/documents?limit=200"),
        Some(token),
    )
    .await
    .ok()["data"]
        .as_array()
        .unwrap()
        .clone()
}

async fn download(app: &TestApp, token: Option<&str>, id: &str) -> reqwest::Response {
    let mut req = app.client.get(app.url(&format!("/v1/documents/{id}")));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

#[actix_web::test]
async fn documents_are_recognised_by_their_bytes_and_served_only_as_attachments() {
    each_backend(|app| async move {
        let s = scene(&app).await;
        let member = s.c.member_a.clone();
        let g = s.grant_a.clone();
        let reviewer = app.staff("reviewer").await;
        let finance = app.staff("finance").await;
        let admin = app.admin().await;

        // A PDF, a PNG and a JPEG, each declared as a PDF: the bytes decide.
        let mut ids = Vec::new();
        for (name, bytes, media) in [
            ("fattura è n.1.pdf", pdf(), "application/pdf"),
            ("../../foto\t.png", png(), "image/png"),
            ("scontrino.jpg", jpeg(), "image/jpeg"),
        ] {
            let res = upload(&app, &member, &g, name, &bytes).await;
            assert_eq!(res.status, 201, "{}", res.body);
            let d = &res.body;
            assert!(d["id"].as_str().unwrap().starts_with("doc_"));
            assert_eq!(d["media_type"], media);
            assert_eq!(d["size"], bytes.len());
            assert_eq!(d["sha256"], hex::encode(Sha256::digest(&bytes)));
            assert!(d["created_at"].is_string());
            ids.push((d["id"].as_str().unwrap().to_string(), bytes, media));
        }
        let listed = documents(&app, &member, &g).await;
        assert_eq!(listed.len(), 3);
        assert_eq!(listed[0]["filename"], "fattura è n.1.pdf");
        assert_eq!(listed[1]["filename"], "foto.png", "no path, no control character");

        // The same bytes back, as an attachment that no browser sniffs or caches.
        for (id, bytes, media) in &ids {
            for token in [&member, &reviewer, &finance, &admin] {
                let res = download(&app, Some(token), id).await;
                assert_eq!(res.status(), 200);
                let h = res.headers().clone();
                assert_eq!(h["content-type"], *media);
                assert_eq!(h["x-content-type-options"], "nosniff");
                assert_eq!(h["cache-control"], "private, no-store");
                let cd = h["content-disposition"].to_str().unwrap().to_string();
                assert!(cd.starts_with("attachment; filename=\""), "{cd}");
                assert_eq!(res.bytes().await.unwrap().as_ref(), bytes.as_slice());
            }
        }
        let res = download(&app, Some(&member), &ids[0].0).await;
        assert_eq!(
            res.headers()["content-disposition"],
            "attachment; filename=\"fattura _ n.1.pdf\"; filename*=UTF-8''fattura%20%C3%A8%20n.1.pdf"
        );
        // Never public; another association's member does not see it exists.
        assert_eq!(download(&app, None, &ids[0].0).await.status(), 401);
        assert_eq!(download(&app, Some(&s.c.member_b), &ids[0].0).await.status(), 404);
        assert_eq!(download(&app, Some(&s.partner), &ids[0].0).await.status(), 403);
        assert_eq!(download(&app, Some(&member), "doc_nope").await.status(), 404);
        app.get(&format!("/v1/grants/{g}/documents"), Some(&s.c.member_b))
            .await
            .assert_problem(404, "not_found");

        // Refusals, each writing nothing.
        let stored = app.count("grant_documents").await;
        let mut html = b"%PDF-1.7\n<html><body><script>alert(document.cookie)</script>".to_vec();
        html.extend(std::iter::repeat_n(b' ', 2000));
        let zip = b"PK\x03\x04\x14\x00\x00\x00\x08\x00aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".to_vec();
        let svg = br#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#.to_vec();
        for (what, bytes) in [
            ("html behind a PDF header", html),
            ("a zip", zip),
            ("an SVG", svg),
            ("nothing", Vec::new()),
        ] {
            let res = upload(&app, &member, &g, "x.pdf", &bytes).await;
            res.assert_problem(422, "validation_failed");
            assert_eq!(res.error_fields(), ["file"], "{what}: {}", res.body);
        }
        // Over 10 MB: 413, however it is announced.
        let big = vec![b'%'; 10 * 1024 * 1024 + 1];
        upload(&app, &member, &g, "big.pdf", &big)
            .await
            .assert_problem(413, "payload_too_large");
        let bigger = vec![b'%'; 11 * 1024 * 1024];
        upload(&app, &member, &g, "big.pdf", &bigger)
            .await
            .assert_problem(413, "payload_too_large");
        // Exactly one part, named `file`.
        let pdf = pdf();
        let res = post_form(
            &app,
            &member,
            &g,
            form(&[("file", Some("a.pdf"), &pdf), ("file", Some("b.pdf"), &pdf)]),
        )
        .await;
        res.assert_problem(422, "validation_failed");
        let res = post_form(&app, &member, &g, form(&[("note", None, b"hi")])).await;
        res.assert_problem(422, "validation_failed");
        let res = post_form(&app, &member, &g, form(&[])).await;
        assert!(matches!(res.status.as_u16(), 400 | 422), "{}", res.body);
        // Part headers are bounded; a long name is cut, not refused.
        let res = upload(&app, &member, &g, &"n".repeat(9 * 1024), &pdf).await;
        res.assert_problem(400, "bad_multipart");
        let mut endless = format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n"
        )
        .into_bytes();
        for i in 0..2000 {
            endless.extend_from_slice(format!("X-Pad-{i}: {}\r\n", "p".repeat(40)).as_bytes());
        }
        let res = post_form(&app, &member, &g, endless).await;
        res.assert_problem(400, "bad_multipart");
        // Not multipart at all.
        let res = app
            .send(
                app.client
                    .post(app.url(&format!("/v1/grants/{g}/documents")))
                    .bearer_auth(&member)
                    .header("content-type", "application/pdf")
                    .body(pdf.clone()),
            )
            .await;
        res.assert_problem(415, "unsupported_media_type");
        // Another association's grant does not exist for it; other roles may not upload.
        upload(&app, &s.c.member_b, &g, "a.pdf", &pdf)
            .await
            .assert_problem(404, "not_found");
        for token in [&reviewer, &finance, &admin, &s.partner] {
            upload(&app, token, &g, "a.pdf", &pdf)
                .await
                .assert_problem(403, "forbidden");
        }
        assert_eq!(app.count("grant_documents").await, stored);
        assert_eq!(documents(&app, &member, &g).await.len(), 3);

        // Fifty documents per grant.
        for i in 3..50 {
            let res = upload(&app, &member, &g, &format!("p{i}.png"), &png()).await;
            assert_eq!(res.status, 201, "{i}: {}", res.body);
        }
        upload(&app, &member, &g, "p50.png", &png())
            .await
            .assert_problem(409, "too_many_documents");
        assert_eq!(documents(&app, &member, &g).await.len(), 50);
        // Paged like the other lists.
        let page = app
            .get(&format!("/v1/grants/{g}/documents?limit=20"), Some(&reviewer))
            .await;
        assert_eq!(page.ok()["data"].as_array().unwrap().len(), 20);
        assert!(page.body["next_cursor"].is_string());
        // The other grant is untouched.
        assert_eq!(documents(&app, &s.c.member_b, &s.grant_b).await.len(), 0);
    })
    .await;
}

fn expense(document_ids: &[&str]) -> Value {
    let today = chrono::Utc::now().date_naive();
    json!({
        "category": "Materiali didattici",
        "supplier": "Cartoleria Rossi",
        "supplier_tax_code": "12345678903",
        "document_number": "F-12/2026",
        "document_date": (today - chrono::Days::new(10)).to_string(),
        "amount": "120.50",
        "paid_at": (today - chrono::Days::new(5)).to_string(),
        "payment_method": "bank_transfer",
        "document_ids": document_ids,
    })
}

async fn expenses(app: &TestApp, token: &str, grant: &str) -> Vec<Value> {
    app.get(
        &format!("/v1/grants/{grant}/expenses?limit=200"),
        Some(token),
    )
    .await
    .ok()["data"]
        .as_array()
        .unwrap()
        .clone()
}

async fn accepted(app: &TestApp, grant: &str, minor: i64) -> bool {
    app.count(&format!(
        "grants WHERE id = '{grant}' AND accepted_expenses = {minor}"
    ))
    .await
        == 1
}

#[actix_web::test]
async fn expense_lines_are_checked_once_and_accepted_amounts_add_up() {
    each_backend(|app| async move {
        let s = scene(&app).await;
        let member = s.c.member_a.clone();
        let g = s.grant_a.clone();
        let reviewer = app.staff("reviewer").await;
        let finance = app.staff("finance").await;
        let admin = app.admin().await;
        let doc = upload(&app, &member, &g, "fattura.pdf", &pdf()).await;
        let doc = doc.ok()["id"].as_str().unwrap().to_string();
        let foreign = upload(&app, &s.c.member_b, &s.grant_b, "b.pdf", &pdf()).await;
        let foreign = foreign.ok()["id"].as_str().unwrap().to_string();

        let res = app
            .post(
                &format!("/v1/grants/{g}/expenses"),
                Some(&member),
                expense(&[&doc]),
            )
            .await;
        assert_eq!(res.status, 201, "{}", res.body);
        let e1 = res.body.clone();
        assert!(e1["id"].as_str().unwrap().starts_with("exp_"));
        assert_eq!(e1["status"], "submitted");
        assert_eq!(e1["amount"], "120.50");
        assert_eq!(e1["document_ids"], json!([doc]));
        assert_eq!(e1["payment_method"], "bank_transfer");

        // Refusals, each writing nothing.
        let before = app.count("grant_expenses").await;
        let links = app.count("grant_expense_documents").await;
        let future = (chrono::Utc::now().date_naive() + chrono::Days::new(2)).to_string();
        let cases: Vec<(Value, &str)> = vec![
            (json!({"amount": "10.001"}), "amount"),
            (json!({"amount": "0"}), "amount"),
            (json!({"amount": "-5.00"}), "amount"),
            (json!({"document_date": future}), "document_date"),
            (json!({"paid_at": future}), "paid_at"),
            (json!({"paid_at": "5/12/2026"}), "paid_at"),
            (json!({"payment_method": "crypto"}), "payment_method"),
            (
                json!({"supplier_tax_code": "12345678901"}),
                "supplier_tax_code",
            ),
            (json!({"category": "   "}), "category"),
            (json!({"supplier": "x".repeat(201)}), "supplier"),
            (json!({"document_ids": [foreign]}), "document_ids[0]"),
            (
                json!({"document_ids": [doc, "doc_nope"]}),
                "document_ids[1]",
            ),
            (json!({"document_ids": [doc, doc]}), "document_ids[1]"),
            (
                json!({"document_ids": (0..21).map(|i| format!("doc_{i}")).collect::<Vec<_>>()}),
                "document_ids",
            ),
        ];
        for (change, field) in cases {
            let mut body = expense(&[&doc]);
            merge(&mut body, change.clone());
            let res = app
                .post(&format!("/v1/grants/{g}/expenses"), Some(&member), body)
                .await;
            res.assert_problem(422, "validation_failed");
            assert!(
                res.error_fields().contains(&field.to_string()),
                "{change}: {}",
                res.body
            );
        }
        // A NUL character in a string: refused before anything is read.
        let mut nul = expense(&[]);
        nul["supplier"] = json!("Rossi\u{0}srl");
        app.post(&format!("/v1/grants/{g}/expenses"), Some(&member), nul)
            .await
            .assert_problem(422, "invalid_text");
        app.post(
            &format!("/v1/grants/{g}/expenses"),
            Some(&s.c.member_b),
            expense(&[]),
        )
        .await
        .assert_problem(404, "not_found");
        for token in [&reviewer, &finance, &admin] {
            app.post(
                &format!("/v1/grants/{g}/expenses"),
                Some(token),
                expense(&[]),
            )
            .await
            .assert_problem(403, "forbidden");
        }
        assert_eq!(app.count("grant_expenses").await, before);
        assert_eq!(app.count("grant_expense_documents").await, links);

        // Two more lines (no document, and three documents-free cents).
        let mut second = expense(&[]);
        second["amount"] = json!("79.50");
        second["payment_method"] = json!("card");
        second["supplier_tax_code"] = Value::Null;
        let e2 = app
            .post(&format!("/v1/grants/{g}/expenses"), Some(&member), second)
            .await;
        let e2 = e2.ok().clone();
        let mut third = expense(&[]);
        third["amount"] = json!("1000");
        let e3 = app
            .post(&format!("/v1/grants/{g}/expenses"), Some(&member), third)
            .await;
        let e3 = e3.ok().clone();
        let (id1, id2, id3) = (
            e1["id"].as_str().unwrap(),
            e2["id"].as_str().unwrap(),
            e3["id"].as_str().unwrap(),
        );
        // Everyone who may read the grant sees the lines, paged; the other association does not.
        for token in [&member, &reviewer, &finance, &admin] {
            assert_eq!(expenses(&app, token, &g).await.len(), 3);
        }
        let page = app
            .get(&format!("/v1/grants/{g}/expenses?limit=2"), Some(&member))
            .await;
        assert_eq!(page.ok()["data"].as_array().unwrap().len(), 2);
        let cursor = page.body["next_cursor"].as_str().unwrap().to_string();
        let rest = app
            .get(
                &format!("/v1/grants/{g}/expenses?limit=2&cursor={cursor}"),
                Some(&member),
            )
            .await;
        assert_eq!(rest.ok()["data"].as_array().unwrap().len(), 1);
        assert!(rest.body["next_cursor"].is_null());
        app.get(&format!("/v1/grants/{g}/expenses?limit=0"), Some(&member))
            .await
            .assert_problem(422, "validation_failed");
        app.get(&format!("/v1/grants/{g}/expenses"), Some(&s.c.member_b))
            .await
            .assert_problem(404, "not_found");

        // Only reviewers and finance check; nothing moves on a refusal.
        for token in [&member, &admin, &s.partner] {
            app.post(
                &format!("/v1/expenses/{id1}/accept"),
                Some(token),
                json!({}),
            )
            .await
            .assert_problem(403, "forbidden");
        }
        app.post("/v1/expenses/exp_nope/accept", Some(&reviewer), json!({}))
            .await
            .assert_problem(404, "not_found");
        app.post(
            &format!("/v1/expenses/{id2}/reject"),
            Some(&reviewer),
            json!({}),
        )
        .await
        .assert_problem(422, "validation_failed");
        app.post(
            &format!("/v1/expenses/{id2}/reject"),
            Some(&reviewer),
            json!({"reason": "x".repeat(1001)}),
        )
        .await
        .assert_problem(422, "validation_failed");
        assert!(accepted(&app, &g, 0).await);
        assert_eq!(
            app.count("grant_expenses WHERE status <> 'submitted'")
                .await,
            0
        );

        let res = app
            .post(
                &format!("/v1/expenses/{id1}/accept"),
                Some(&reviewer),
                json!({}),
            )
            .await;
        assert_eq!(res.ok()["status"], "accepted");
        assert!(res.body["checked_at"].is_string());
        assert!(accepted(&app, &g, 12050).await);
        // Twice: 409, and the total does not move.
        app.post(
            &format!("/v1/expenses/{id1}/accept"),
            Some(&finance),
            json!({}),
        )
        .await
        .assert_problem(409, "expense_checked");
        app.post(
            &format!("/v1/expenses/{id1}/reject"),
            Some(&finance),
            json!({"reason": "changed my mind"}),
        )
        .await
        .assert_problem(409, "expense_checked");
        assert!(accepted(&app, &g, 12050).await);
        let res = app
            .post(
                &format!("/v1/expenses/{id2}/reject"),
                Some(&finance),
                json!({"reason": "  not an eligible cost  "}),
            )
            .await;
        assert_eq!(res.ok()["status"], "rejected");
        assert_eq!(res.body["reason"], "not an eligible cost");
        assert!(accepted(&app, &g, 12050).await);
        let res = app
            .post(
                &format!("/v1/expenses/{id3}/accept"),
                Some(&finance),
                json!({"reason": "ok"}),
            )
            .await;
        assert_eq!(res.ok()["status"], "accepted");
        assert!(accepted(&app, &g, 12050 + 100_000).await);
        // The other grant is untouched; every check is in the audit trail.
        assert!(accepted(&app, &s.grant_b, 0).await);
        assert_eq!(
            app.count("audit_log WHERE action IN ('expense.accept', 'expense.reject')")
                .await,
            3
        );
        let listed = expenses(&app, &reviewer, &g).await;
        let statuses: Vec<&str> = listed
            .iter()
            .map(|e| e["status"].as_str().unwrap())
            .collect();
        let mut sorted = statuses.clone();
        sorted.sort();
        assert_eq!(sorted, ["accepted", "accepted", "rejected"]);
    })
    .await;
}

#[actix_web::test]
async fn the_final_report_closes_the_door_to_new_lines_but_not_to_checks() {
    each_backend(|app| async move {
        let s = scene(&app).await;
        let member = s.c.member_a.clone();
        let g = s.grant_a.clone();
        let reviewer = app.staff("reviewer").await;
        let doc = upload(&app, &member, &g, "fattura.pdf", &pdf()).await;
        let doc = doc.ok()["id"].as_str().unwrap().to_string();
        let e = app
            .post(
                &format!("/v1/grants/{g}/expenses"),
                Some(&member),
                expense(&[&doc]),
            )
            .await;
        let e = e.ok()["id"].as_str().unwrap().to_string();

        let report = format!("/v1/grants/{g}/report");
        app.post(&report, Some(&member), json!({"summary": "   "}))
            .await
            .assert_problem(422, "validation_failed");
        app.post(&report, Some(&member), json!({"summary": "x".repeat(5001)}))
            .await
            .assert_problem(422, "validation_failed");
        app.post(&report, Some(&member), json!({"summary": "a\u{0}b"}))
            .await
            .assert_problem(422, "invalid_text");
        app.post(&report, Some(&reviewer), json!({"summary": "Done."}))
            .await
            .assert_problem(403, "forbidden");
        app.post(&report, Some(&s.c.member_b), json!({"summary": "Done."}))
            .await
            .assert_problem(404, "not_found");
        assert_eq!(app.count("grants WHERE status = 'reported'").await, 0);

        let res = app
            .post(
                &report,
                Some(&member),
                json!({"summary": "60 children followed twice a week.\nAll materials bought."}),
            )
            .await;
        assert_eq!(res.ok()["status"], "reported");
        assert!(res.body["reported_at"].is_string());
        app.post(&report, Some(&member), json!({"summary": "Again."}))
            .await
            .assert_problem(409, "report_submitted");

        // No more lines or documents once reported.
        let (lines, docs) = (
            app.count("grant_expenses").await,
            app.count("grant_documents").await,
        );
        app.post(
            &format!("/v1/grants/{g}/expenses"),
            Some(&member),
            expense(&[]),
        )
        .await
        .assert_problem(409, "report_submitted");
        upload(&app, &member, &g, "late.pdf", &pdf())
            .await
            .assert_problem(409, "report_submitted");
        assert_eq!(app.count("grant_expenses").await, lines);
        assert_eq!(app.count("grant_documents").await, docs);
        // The documents stay readable and the lines checkable.
        assert_eq!(documents(&app, &reviewer, &g).await.len(), 1);
        let res = app
            .post(
                &format!("/v1/expenses/{e}/accept"),
                Some(&reviewer),
                json!({}),
            )
            .await;
        assert_eq!(res.ok()["status"], "accepted");
        assert!(accepted(&app, &g, 12050).await);

        // A revoked grant takes no checks.
        let mut other = expense(&[]);
        other["amount"] = json!("10.00");
        let b_line = app
            .post(
                &format!("/v1/grants/{}/expenses", s.grant_b),
                Some(&s.c.member_b),
                other,
            )
            .await;
        let b_line = b_line.ok()["id"].as_str().unwrap().to_string();
        app.sql(&format!(
            "UPDATE grants SET status = 'revoked' WHERE id = '{}'",
            s.grant_b
        ))
        .await;
        app.post(
            &format!("/v1/expenses/{b_line}/accept"),
            Some(&reviewer),
            json!({}),
        )
        .await
        .assert_problem(409, "grant_not_checkable");
        app.post(
            &format!("/v1/grants/{}/expenses", s.grant_b),
            Some(&s.c.member_b),
            expense(&[]),
        )
        .await
        .assert_problem(409, "grant_not_reporting");
        assert!(accepted(&app, &s.grant_b, 0).await);
    })
    .await;
}
