//! The grants in the console and on the public campaign page, through a real server as a
//! browser without JavaScript uses them: finance approves a report, decides a review and
//! records money paid back with the forms (CSRF-checked), an admin revokes; reviewers and the
//! association read without any money form; another association's grant does not exist; the
//! public sees the grant's state and the spending accepted, never a document or an expense.
//! The association reports (upload, expense line, final report) and a reviewer checks lines
//! through the console's forms too.

use crate::helpers::*;
use crate::pages::Browser;
use serde_json::{Value, json};

struct Won {
    c: City,
    campaign: String,
    grant: String,
    pledges: Vec<Value>,
}

/// Goal 40,000.00, threshold 20,000.00, match 20,000.00: two gifts of 10,000.00 and the
/// campaign succeeds with its match committed and its grant open.
async fn won(app: &TestApp, fund_extra: Value) -> Won {
    let c = city(app, fund_extra).await;
    let (_, partner) = app.partner("P").await;
    let campaign = app
        .live_campaign(&c, json!({"title": "Orti del quartiere"}))
        .await;
    let a = crate::funders::give(app, &partner, &campaign, "10000.00", "a").await;
    let b = crate::funders::give(app, &partner, &campaign, "10000.00", "b").await;
    end_all_campaigns(app).await;
    assert_eq!(
        app.campaign_view(&campaign).await["match"]["status"],
        "committed"
    );
    let grant = format!("grt_{}", campaign.split_once('_').unwrap().1);
    Won {
        c,
        campaign,
        grant,
        pledges: vec![a, b],
    }
}

/// The association's document and one expense line of `amount` citing it, accepted by a
/// reviewer, through the API's use cases; the document's id.
async fn accepted_spending(app: &TestApp, w: &Won, amount: &str) -> String {
    let res = crate::grant_reports::upload(
        app,
        &w.c.member_a,
        &w.grant,
        "fattura-riservata-42.pdf",
        &crate::grant_reports::pdf(),
    )
    .await;
    assert_eq!(res.status, 201, "{}", res.body);
    let doc = res.body["id"].as_str().unwrap().to_string();
    let day = (chrono::Utc::now() - chrono::Duration::days(5))
        .format("%Y-%m-%d")
        .to_string();
    let res = app
        .post(
            &format!("/v1/grants/{}/expenses", w.grant),
            Some(&w.c.member_a),
            json!({"category": "materials", "supplier": "Falegnameria Nascosta",
                   "document_number": "FT-777-RISERVATO", "document_date": day,
                   "amount": amount, "paid_at": day, "payment_method": "bank_transfer",
                   "document_ids": [doc]}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    let reviewer = app.staff("reviewer").await;
    app.post_empty(
        &format!("/v1/expenses/{}/accept", res.body["id"].as_str().unwrap()),
        Some(&reviewer),
    )
    .await
    .ok();
    doc
}

async fn api_grant(app: &TestApp, id: &str) -> Value {
    let finance = app.staff("finance").await;
    app.get(&format!("/v1/grants/{id}"), Some(&finance))
        .await
        .ok()
        .clone()
}

/// Drafts a batch (one finance user) and confirms it (the other).
async fn pay(app: &TestApp, fund_id: &str, reference: &str) {
    let finance = app.staff("finance").await;
    let res = app
        .post(
            "/v1/settlements",
            Some(&finance),
            json!({"fund_id": fund_id}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    let other = app.second_staff("finance").await;
    app.post(
        &format!(
            "/v1/settlements/{}/confirm",
            res.body["id"].as_str().unwrap()
        ),
        Some(&other),
        json!({"bank_reference": reference, "paid_at": rfc3339(chrono::Duration::hours(-1))}),
    )
    .await
    .ok();
}

/// Whether a page carries a form posting to one of the grant's decisions.
fn money_forms(body: &str) -> Vec<&'static str> {
    // The forms' targets, each with its closing quote (links elsewhere on the page do not count).
    let actions: Vec<String> = body
        .split("action=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|target| format!("{target}\""))
        .collect();
    [
        "/approve-report\"",
        "/review\"",
        "/recoveries\"",
        "/revoke\"",
    ]
    .into_iter()
    .filter(|a| actions.iter().any(|target| target.ends_with(a)))
    .collect()
}

#[actix_web::test]
async fn finance_lists_filters_and_approves_a_report_from_the_console() {
    each_backend(|app| async move {
        let w = won(
            &app,
            json!({"payment_plan": "tranches", "advance_ratio": "0.4"}),
        )
        .await;
        // 30,000.00 of the 40,000.00 goal accepted; the report is in.
        accepted_spending(&app, &w, "30000.00").await;
        app.post(
            &format!("/v1/grants/{}/report", w.grant),
            Some(&w.c.member_a),
            json!({"summary": "Orti costruiti."}),
        )
        .await
        .ok();
        app.staff("finance").await;
        let f = Browser::new(&app);
        f.sign_in("finance-user", "finance-password-123").await;
        let console = f.get("/console?lang=en").await;
        assert!(
            console
                .body
                .contains("href=\"/console/grants?status=reported\"")
        );

        let list = f.get("/console/grants?status=reported").await;
        assert_eq!(list.status, 200, "{}", list.body);
        let link = format!("href=\"/console/grants/{}\"", w.grant);
        assert!(list.body.contains(&link));
        assert!(list.body.contains("Orti del quartiere"));
        assert!(list.body.contains("<td>report submitted</td>"));
        assert!(list.body.contains("<td class=\"num\">€20,000.00</td>"));
        assert!(
            list.body.contains("<td class=\"num\">€8,000.00</td>"),
            "the advance is payable"
        );
        let other = f.get("/console/grants?status=closed").await;
        assert!(!other.body.contains(&link));
        assert!(other.body.contains("No grant in this status."));
        assert!(other.body.contains("<option value=\"closed\" selected>"));
        let bad = f.get("/console/grants?status=paid").await;
        assert_eq!(bad.status, 422);
        assert!(bad.content_type.starts_with("text/html"));

        let url = format!("/console/grants/{}", w.grant);
        let approve = format!("{url}/approve-report");
        let page = f.get(&url).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert_eq!(money_forms(&page.body), ["/approve-report\""]);
        assert!(page.body.contains("€30,000.00") && page.body.contains("€40,000.00"));
        assert!(page.body.contains("<td>advance</td>"));

        // A forged token, or a reviewer: refused, and nothing changes.
        let res = f.post(&approve, &[("csrf_token", "forged")]).await;
        assert_eq!(res.status, 403);
        app.staff("reviewer").await;
        let r = Browser::new(&app);
        r.sign_in("reviewer-user", "reviewer-password-123").await;
        let seen = r.get(&format!("{url}?lang=en")).await;
        assert_eq!(seen.status, 200);
        assert!(seen.body.contains("report submitted"));
        assert!(
            money_forms(&seen.body).is_empty(),
            "a reviewer has no money form"
        );
        let csrf = r.csrf(&url).await;
        let res = r.post(&approve, &[("csrf_token", &csrf)]).await;
        assert_eq!(res.status, 403, "{}", res.body);
        assert!(res.content_type.starts_with("text/html"));
        let g = api_grant(&app, &w.grant).await;
        assert_eq!(g["status"], "reported");
        assert_eq!(g["due"], Value::Null);

        // Finance approves: due = 20,000.00 × 30,000.00 ÷ 40,000.00 = 15,000.00.
        let csrf = f.csrf(&url).await;
        let res = f.post(&approve, &[("csrf_token", &csrf)]).await;
        assert_eq!(res.status, 303, "{}", res.body);
        let done = res.location.unwrap();
        assert_eq!(done, format!("{url}?done=approved"));
        let page = f.get(&done).await;
        assert!(
            page.body
                .contains("Report approved: the contribution due is fixed.")
        );
        assert!(
            page.body
                .contains("<span class=\"status\">report approved</span>")
        );
        assert!(page.body.contains("€15,000.00"));
        assert!(money_forms(&page.body).is_empty(), "nothing left to decide");
        let g = api_grant(&app, &w.grant).await;
        assert_eq!(g["status"], "approved");
        assert_eq!(g["due"], "15000.00");
        assert_eq!(g["released"], "5000.00");
        assert_eq!(g["payable"], "15000.00");
        let approved = f.get("/console/grants?status=approved").await;
        assert!(approved.body.contains(&link));

        // Approving twice is refused as a page; nothing moves.
        let res = f.post(&approve, &[("csrf_token", &csrf)]).await;
        assert_eq!(res.status, 409, "{}", res.body);
        assert!(res.content_type.starts_with("text/html"));
        assert_eq!(api_grant(&app, &w.grant).await["due"], "15000.00");
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn a_review_a_repayment_and_a_revocation_through_the_forms_each_role_its_own() {
    each_backend(|app| async move {
        let w = won(&app, json!({})).await;
        pay(&app, &w.c.fund, "FULL-1").await;
        let admin = app.admin().await;
        // One gift is lost in a dispute: the grant goes under review.
        for outcome in ["dispute", "dispute_lost"] {
            app.post(
                &format!("/v1/simulated/payments/{}", pi(&w.pledges[0])),
                Some(&admin),
                json!({"outcome": outcome}),
            )
            .await
            .ok();
        }
        assert_eq!(api_grant(&app, &w.grant).await["status"], "under_review");
        let url = format!("/console/grants/{}", w.grant);
        let (review, recoveries, revoke) = (
            format!("{url}/review"),
            format!("{url}/recoveries"),
            format!("{url}/revoke"),
        );

        // The association reads its grant, with no form; its console links to it.
        let a = Browser::new(&app);
        a.sign_in("member-123456", "member-password-1").await;
        let console = a.get("/console/grants?lang=en").await;
        assert!(console.body.contains(&format!("href=\"{url}\"")));
        assert!(console.body.contains("<td>under review</td>"));
        let own = a.get(&url).await;
        assert_eq!(own.status, 200, "{}", own.body);
        assert!(own.body.contains("€20,000.00"));
        assert!(money_forms(&own.body).is_empty());
        let csrf = a.csrf(&url).await;
        let res = a
            .post(
                &review,
                &[("csrf_token", &csrf), ("outcome", "confirm"), ("reason", "ok")],
            )
            .await;
        assert_eq!(res.status, 403);
        // Another association: no such grant, to read or to decide.
        let b = Browser::new(&app);
        b.sign_in("member-007431", "member-password-1").await;
        assert_eq!(b.get(&url).await.status, 404);
        assert!(!b.get("/console/grants").await.body.contains(&w.grant));
        assert!(!b.get("/console").await.body.contains(&w.grant));
        // Its role may decide nothing: refused alike whether the grant exists or not.
        let csrf = b.csrf("/console").await;
        for path in [
            review.clone(),
            "/console/grants/grt_00000000000000000000000000000000/review".to_string(),
        ] {
            let res = b
                .post(
                    &path,
                    &[("csrf_token", &csrf), ("outcome", "confirm"), ("reason", "ok")],
                )
                .await;
            assert_eq!(res.status, 403, "{path}");
            assert!(!res.body.contains("Orti del quartiere"));
        }
        // A reviewer reads, and may not decide.
        app.staff("reviewer").await;
        let r = Browser::new(&app);
        r.sign_in("reviewer-user", "reviewer-password-123").await;
        assert!(money_forms(&r.get(&url).await.body).is_empty());
        let csrf = r.csrf(&url).await;
        let res = r
            .post(
                &review,
                &[("csrf_token", &csrf), ("outcome", "confirm"), ("reason", "ok")],
            )
            .await;
        assert_eq!(res.status, 403);

        // Finance: the review form; bad input refused and nothing changes.
        app.staff("finance").await;
        let f = Browser::new(&app);
        f.sign_in("finance-user", "finance-password-123").await;
        let page = f.get(&format!("{url}?lang=en")).await;
        assert_eq!(money_forms(&page.body), ["/review\""]);
        let csrf = f.csrf(&url).await;
        for (form, status) in [
            (vec![("outcome", "reduce"), ("amount", ""), ("reason", "x")], 422),
            (vec![("outcome", "reduce"), ("amount", "10.001"), ("reason", "x")], 422),
            (vec![("outcome", "reduce"), ("amount", "20000.00"), ("reason", "x")], 422),
            (vec![("outcome", "reduce"), ("amount", "100.00"), ("reason", "  ")], 422),
            (vec![("outcome", "maybe"), ("reason", "x")], 422),
            (vec![("outcome", "confirm"), ("reason", "a\u{0}b")], 422),
        ] {
            let mut fields = vec![("csrf_token", csrf.as_str())];
            fields.extend(form.iter().copied());
            let res = f.post(&review, &fields).await;
            assert_eq!(res.status, status, "{form:?}: {}", res.body);
        }
        let g = api_grant(&app, &w.grant).await;
        assert_eq!((g["status"].as_str(), g["award"].as_str()), (Some("under_review"), Some("20000.00")));

        // Finance reduces the award to 10,000.00: half of what was paid is owed back.
        let res = f
            .post(
                &review,
                &[
                    ("csrf_token", &csrf),
                    ("outcome", "reduce"),
                    ("amount", "10000.00"),
                    ("reason", "half the crowd left"),
                ],
            )
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
        assert_eq!(res.location.unwrap(), format!("{url}?done=reviewed"));
        let page = f.get(&format!("{url}?done=reviewed")).await;
        assert!(page.body.contains("Review decided."));
        assert!(page.body.contains("half the crowd left"));
        assert_eq!(money_forms(&page.body), ["/recoveries\""]);
        assert!(page.body.contains("Still to be paid back: €10,000.00"));
        let g = api_grant(&app, &w.grant).await;
        assert_eq!(g["award"], "10000.00");
        assert_eq!(g["award_status"], "reduced");
        assert_eq!(g["recoverable"], "10000.00");

        // A repayment through the form: the future, too much, then one that counts, once.
        let tomorrow = (chrono::Utc::now() + chrono::Duration::days(3))
            .format("%Y-%m-%d")
            .to_string();
        let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
        for (amount, date, reference, status) in [
            ("100.00", tomorrow.as_str(), "RC-0", 422),
            ("100.00", "01/12/2026", "RC-0", 422),
            ("100.00", today.as_str(), " ", 422),
            ("10000.01", today.as_str(), "RC-0", 409),
            ("4000.00", today.as_str(), "RC-1", 303),
            ("1000.00", today.as_str(), "RC-1", 409),
        ] {
            let res = f
                .post(
                    &recoveries,
                    &[
                        ("csrf_token", &csrf),
                        ("amount", amount),
                        ("received_on", date),
                        ("bank_reference", reference),
                    ],
                )
                .await;
            assert_eq!(res.status, status, "{amount} {date} {reference}: {}", res.body);
        }
        let g = api_grant(&app, &w.grant).await;
        assert_eq!(g["recoverable"], "6000.00");
        assert_eq!(g["recovered"], "4000.00");
        // One through the API: the page shows both.
        let finance = app.staff("finance").await;
        app.post(
            &format!("/v1/grants/{}/recoveries", w.grant),
            Some(&finance),
            json!({"amount": "1000.00", "received_at": rfc3339(chrono::Duration::hours(-2)), "bank_reference": "RC-2"}),
        )
        .await
        .ok();
        let page = f.get(&url).await;
        assert!(page.body.contains("€5,000.00") && page.body.contains("Still to be paid back: €5,000.00"));
        // The association's own page shows what it owes, still without a form.
        let own = a.get(&url).await;
        assert!(own.body.contains("€5,000.00"));
        assert!(money_forms(&own.body).is_empty());

        // Only an admin revokes.
        let res = f
            .post(&revoke, &[("csrf_token", &csrf), ("reason", "not carried out")])
            .await;
        assert_eq!(res.status, 403);
        let ad = Browser::new(&app);
        ad.sign_in("admin", ADMIN_PASSWORD).await;
        let page = ad.get(&format!("{url}?lang=en")).await;
        assert_eq!(money_forms(&page.body), ["/revoke\""]);
        let csrf = ad.csrf(&url).await;
        let res = ad
            .post(&revoke, &[("csrf_token", &csrf), ("reason", "   ")])
            .await;
        assert_eq!(res.status, 422);
        assert_eq!(api_grant(&app, &w.grant).await["status"], "open");
        let res = ad
            .post(&revoke, &[("csrf_token", &csrf), ("reason", "not carried out")])
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
        let page = ad.get(&res.location.unwrap()).await;
        assert!(page.body.contains("Grant revoked."));
        assert!(page.body.contains("<span class=\"status\">revoked</span>"));
        assert!(money_forms(&page.body).is_empty());
        let g = api_grant(&app, &w.grant).await;
        assert_eq!(g["status"], "revoked");
        assert_eq!(g["award"], "0.00");
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn the_public_campaign_page_shows_the_grant_and_the_spending_accepted_and_no_document() {
    each_backend(|app| async move {
        let w = won(&app, json!({})).await;
        let b = Browser::new(&app);
        let page = b.get(&format!("/campaigns/{}?lang=en", w.campaign)).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("The project is under way"));
        assert!(page.body.contains("Accepted spending: €0.00 of €40,000.00"));
        assert!(
            page.body
                .contains("Paid by the city so far: €0.00 of €20,000.00.")
        );

        let doc = accepted_spending(&app, &w, "30000.00").await;
        pay(&app, &w.c.fund, "FULL-1").await;
        let page = b.get(&format!("/campaigns/{}", w.campaign)).await;
        assert!(
            page.body
                .contains("Accepted spending: €30,000.00 of €40,000.00")
        );
        assert!(
            page.body
                .contains("Paid by the city so far: €20,000.00 of €20,000.00.")
        );
        // A bar like the others: 30,000 of 40,000 is 225 of 300 pixels.
        assert!(
            page.body
                .contains("<rect class=\"accepted\" x=\"0\" y=\"0\" width=\"225\"")
        );
        for secret in [
            "fattura-riservata-42",
            "Falegnameria Nascosta",
            "FT-777-RISERVATO",
            doc.as_str(),
            "/console/grants",
        ] {
            assert!(!page.body.contains(secret), "{secret} is not public");
        }
        let it = b.get(&format!("/campaigns/{}?lang=it", w.campaign)).await;
        assert!(
            it.body
                .contains("Spese ammesse: 30.000,00\u{a0}€ su 40.000,00\u{a0}€")
        );
        assert!(it.body.contains("Il contributo del Comune"));

        // Revoked: said in plain words, with no award left to measure payments against.
        let admin = app.admin().await;
        app.post(
            &format!("/v1/grants/{}/revoke", w.grant),
            Some(&admin),
            json!({"reason": "project not carried out"}),
        )
        .await
        .ok();
        let page = b.get(&format!("/campaigns/{}?lang=en", w.campaign)).await;
        assert!(
            page.body
                .contains("The city revoked its contribution to this project.")
        );
        assert!(!page.body.contains("Paid by the city so far"));
        assert!(
            !page.body.contains("project not carried out"),
            "the reason is not public"
        );

        // A campaign still live has no grant to show.
        let live = app.live_campaign(&w.c, json!({})).await;
        let page = b.get(&format!("/campaigns/{live}")).await;
        assert!(!page.body.contains("Spese ammesse"));
    })
    .await;
}

/// A `multipart/form-data` body as the console's form sends it: the token, then the file.
fn file_form(csrf: &str, filename: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "console-upload-boundary-51c2";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{csrf}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
         Content-Type: application/pdf\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload_form(b: &Browser<'_>, grant: &str, csrf: &str) -> crate::pages::Page {
    let (ct, body) = file_form(csrf, "fattura-ottobre.pdf", &crate::grant_reports::pdf());
    b.send(
        b.client
            .post(b.app.url(&format!("/console/grants/{grant}/documents")))
            .header("content-type", ct)
            .body(body),
    )
    .await
}

#[actix_web::test]
async fn the_association_reports_through_the_console_a_reviewer_accepts_and_finance_approves() {
    each_backend(|app| async move {
        let w = won(&app, json!({})).await;
        let url = format!("/console/grants/{}", w.grant);
        let a = Browser::new(&app);
        a.sign_in("member-123456", "member-password-1").await;
        let page = a.get(&format!("{url}?lang=en")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("enctype=\"multipart/form-data\""));
        assert!(page.body.contains("Submit the final report"));
        let csrf = a.csrf(&url).await;

        // Another association: the grant does not exist for it, whatever its token.
        let other = Browser::new(&app);
        other.sign_in("member-007431", "member-password-1").await;
        assert_eq!(other.get(&url).await.status, 404);
        let other_csrf = other.csrf("/console").await;
        assert_eq!(upload_form(&other, &w.grant, &other_csrf).await.status, 404);
        let res = other
            .post(
                &format!("{url}/expenses"),
                &[("csrf_token", &other_csrf), ("category", "x")],
            )
            .await;
        assert_eq!(res.status, 404, "{}", res.body);
        let res = other
            .post(
                &format!("{url}/report"),
                &[("csrf_token", &other_csrf), ("summary", "nostro")],
            )
            .await;
        assert_eq!(res.status, 404, "{}", res.body);
        // A forged token, or none: refused before the file is read.
        assert_eq!(upload_form(&a, &w.grant, "forged").await.status, 403);
        let (ct, body) = file_form(&csrf, "x.pdf", &crate::grant_reports::pdf());
        let body = String::from_utf8(body)
            .unwrap()
            .replace("name=\"csrf_token\"", "name=\"other\"");
        let res = a
            .send(
                a.client
                    .post(app.url(&format!("{url}/documents")))
                    .header("content-type", ct)
                    .body(body),
            )
            .await;
        assert_eq!(res.status, 403, "{}", res.body);
        assert_eq!(app.count("grant_documents").await, 0);

        // The association uploads its invoice.
        let res = upload_form(&a, &w.grant, &csrf).await;
        assert_eq!(res.status, 303, "{}", res.body);
        assert_eq!(res.location.unwrap(), format!("{url}?done=uploaded"));
        let docs = app
            .get(
                &format!("/v1/grants/{}/documents", w.grant),
                Some(&w.c.member_a),
            )
            .await;
        let doc = docs.ok()["data"][0]["id"].as_str().unwrap().to_string();
        let page = a.get(&format!("{url}?done=uploaded")).await;
        assert!(page.body.contains("Document uploaded."));
        assert!(page.body.contains("fattura-ottobre.pdf"));
        assert!(page.body.contains("application/pdf"));
        assert!(
            page.body
                .contains(&format!("href=\"/console/documents/{doc}\""))
        );
        let file = a.get(&format!("/console/documents/{doc}")).await;
        assert_eq!(file.status, 200);
        assert_eq!(file.content_type, "application/pdf");
        assert_eq!(file.body.as_bytes(), crate::grant_reports::pdf().as_slice());
        assert_eq!(
            other.get(&format!("/console/documents/{doc}")).await.status,
            404
        );

        // An expense line citing it: 30,000.00 of the 40,000.00 goal.
        let day = (chrono::Utc::now() - chrono::Duration::days(5))
            .format("%Y-%m-%d")
            .to_string();
        let line = |token: &str| {
            vec![
                ("csrf_token".to_string(), token.to_string()),
                ("category".into(), "materiali".into()),
                ("supplier".into(), "Falegnameria Rossi".into()),
                ("supplier_tax_code".into(), "12345678903".into()),
                ("document_number".into(), "FT-2026-18".into()),
                ("document_date".into(), day.clone()),
                ("amount".into(), "30000.00".into()),
                ("paid_at".into(), day.clone()),
                ("payment_method".into(), "bank_transfer".into()),
                ("document_ids".into(), doc.clone()),
            ]
        };
        let post_line = |token: &str| {
            let pairs = line(token);
            let req = a
                .client
                .post(app.url(&format!("{url}/expenses")))
                .form(&pairs);
            a.send(req)
        };
        assert_eq!(post_line("forged").await.status, 403);
        assert_eq!(app.count("grant_expenses").await, 0);
        let res = post_line(&csrf).await;
        assert_eq!(res.status, 303, "{}", res.body);
        let page = a.get(&res.location.unwrap()).await;
        assert!(page.body.contains("Expense line added."));
        assert!(page.body.contains("Falegnameria Rossi"));
        assert!(page.body.contains("<td class=\"num\">€30,000.00</td>"));
        assert!(page.body.contains("<td>to be checked</td>"));
        assert!(page.body.contains("<td>bank transfer</td>"));

        // The final report.
        let report = format!("{url}/report");
        let res = a
            .post(&report, &[("csrf_token", "forged"), ("summary", "Fatto")])
            .await;
        assert_eq!(res.status, 403);
        assert_eq!(api_grant(&app, &w.grant).await["status"], "open");
        let res = a
            .post(
                &report,
                &[
                    ("csrf_token", &csrf),
                    ("summary", "Orti costruiti e seminati."),
                ],
            )
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
        let page = a.get(&res.location.unwrap()).await;
        assert!(page.body.contains("Final report submitted."));
        assert!(page.body.contains("Orti costruiti e seminati."));
        assert!(
            !page.body.contains("multipart/form-data"),
            "no more uploads"
        );
        assert!(!page.body.contains("/report\""), "no second report");
        assert_eq!(api_grant(&app, &w.grant).await["status"], "reported");

        // A reviewer accepts the line; the association may not.
        let exp = app
            .get(
                &format!("/v1/grants/{}/expenses", w.grant),
                Some(&w.c.member_a),
            )
            .await
            .ok()["data"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let accept = format!("/console/expenses/{exp}/accept");
        assert!(!page.body.contains(&accept));
        let res = a.post(&accept, &[("csrf_token", &csrf)]).await;
        assert_eq!(res.status, 403, "{}", res.body);
        app.staff("reviewer").await;
        let r = Browser::new(&app);
        r.sign_in("reviewer-user", "reviewer-password-123").await;
        let page = r.get(&format!("{url}?lang=en")).await;
        assert!(page.body.contains(&format!("action=\"{accept}\"")));
        assert!(
            page.body
                .contains(&format!("action=\"/console/expenses/{exp}/reject\""))
        );
        let res = r.post(&accept, &[("csrf_token", "forged")]).await;
        assert_eq!(res.status, 403);
        assert_eq!(api_grant(&app, &w.grant).await["accepted_expenses"], "0.00");
        let rcsrf = r.csrf(&url).await;
        // A rejection needs a reason: 422 as a page, the line still to be checked.
        let res = r
            .post(
                &format!("/console/expenses/{exp}/reject"),
                &[("csrf_token", &rcsrf), ("reason", "  ")],
            )
            .await;
        assert_eq!(res.status, 422, "{}", res.body);
        assert!(res.content_type.starts_with("text/html"));
        let line = app
            .get(
                &format!("/v1/grants/{}/expenses", w.grant),
                Some(&w.c.member_a),
            )
            .await;
        assert_eq!(line.ok()["data"][0]["status"], "submitted");
        let res = r.post(&accept, &[("csrf_token", &rcsrf)]).await;
        assert_eq!(res.status, 303, "{}", res.body);
        assert_eq!(
            res.location.as_deref(),
            Some(format!("{url}?done=checked").as_str())
        );
        let page = r.get(&res.location.unwrap()).await;
        assert!(page.body.contains("Expense line checked."));
        assert!(page.body.contains("<td>accepted</td>"));
        assert!(!page.body.contains(&accept), "checked once");
        assert_eq!(
            api_grant(&app, &w.grant).await["accepted_expenses"],
            "30000.00"
        );

        // Finance approves with the existing form: due 20,000.00 × 30,000 ÷ 40,000.
        app.staff("finance").await;
        let f = Browser::new(&app);
        f.sign_in("finance-user", "finance-password-123").await;
        let fcsrf = f.csrf(&url).await;
        let res = f
            .post(&format!("{url}/approve-report"), &[("csrf_token", &fcsrf)])
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
        let g = api_grant(&app, &w.grant).await;
        assert_eq!(g["status"], "approved");
        assert_eq!(g["due"], "15000.00");
        let page = f.get(&format!("{url}?lang=en")).await;
        for (label, field) in [
            ("Accepted spending", "accepted_expenses"),
            ("Contribution due", "due"),
            ("Paid", "paid"),
            ("Payable now", "payable"),
            ("Returned to the funders", "released"),
        ] {
            let row = format!(
                "<th scope=\"row\">{label}</th><td class=\"num\">{}</td>",
                // The API's figure, as an English page writes money.
                cofund::locale::api_amount(
                    cofund::locale::Lang::En,
                    g[field].as_str().unwrap(),
                    "EUR"
                )
            );
            assert!(page.body.contains(&row), "{row}");
        }
        assert_eq!(app.count("grant_documents").await, 1);
        assert_eq!(app.count("grant_expenses").await, 1);
        app.assert_reconciled().await;
    })
    .await;
}
