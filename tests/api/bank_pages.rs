//! Bank transfers in the console and the checkout, through a real server as a browser without
//! JavaScript uses them: the association imports a statement with the upload form (CSRF part
//! first) and reads its credits; another association's member and other roles are refused;
//! finance assigns an unmatched credit with its form and sees the app's refusals; a donor who
//! picks the bank transfer at the checkout gets the IBAN and the reference in groups of four.

use crate::bank_transfers::{IBAN, Line, bank_pledge, credit, import, reference, statement};
use crate::helpers::*;
use crate::pages::{Browser, Page};
use cofund::domain::rf_reference::RfReference;
use serde_json::json;

/// The statement form's body: the token, then the file.
async fn upload(b: &Browser<'_>, csrf: &str, xml: &str) -> Page {
    let boundary = "bank-statement-boundary-7f3a";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{csrf}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"estratto.xml\"\r\n\
         Content-Type: application/xml\r\n\r\n{xml}\r\n--{boundary}--\r\n"
    );
    b.send(
        b.client
            .post(b.app.url("/console/bank-transfers/statements"))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body),
    )
    .await
}

async fn pledge_status(app: &TestApp, id: &str) -> String {
    let finance = app.staff("finance").await;
    app.get(&format!("/v1/pledges/{id}"), Some(&finance))
        .await
        .ok()["status"]
        .as_str()
        .unwrap()
        .to_string()
}

#[actix_web::test]
async fn the_association_imports_a_statement_in_the_console_and_sees_its_credits_only() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let (_, partner) = app.partner("P").await;
        let cmp = app.live_campaign(&c, json!({})).await;
        let p = bank_pledge(&app, &partner, &cmp, "250.00", "mario@example.org").await;
        let rf = reference(&p);

        let a = Browser::new(&app);
        a.sign_in("member-123456", "member-password-1").await;
        let home = a.get("/console?lang=en").await;
        assert!(home.body.contains("href=\"/console/bank-transfers\""));
        let page = a.get("/console/bank-transfers").await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("enctype=\"multipart/form-data\""));
        assert!(page.body.contains("No credit booked yet."));
        assert!(!page.body.contains("<script"));
        let csrf = a.csrf("/console/bank-transfers").await;

        let xml = statement(
            2,
            IBAN,
            &[
                Line {
                    structured: Some(rf.clone()),
                    ..credit("250.00", "BNK-0001")
                },
                credit("80.00", "BNK-0002"),
            ],
        );
        // A forged token: refused before the file is read, nothing booked.
        assert_eq!(upload(&a, "forged", &xml).await.status, 403);
        assert_eq!(app.count("bank_entries").await, 0);

        let res = upload(&a, &csrf, &xml).await;
        assert_eq!(res.status, 303, "{}", res.body);
        let to = res.location.unwrap();
        assert_eq!(
            to,
            "/console/bank-transfers?booked=2&already_booked=0&matched=1&flagged=0&unmatched=1"
        );
        let page = a.get(&to).await;
        assert!(
            page.body.contains(
                "Statement imported: 2 credits booked, 0 already booked; 1 matched, 0 flagged, 1 unmatched."
            ),
            "{}",
            page.body
        );
        assert!(page.body.contains(&rf));
        assert!(page.body.contains("€250.00"), "{}", page.body);
        assert!(page.body.contains("Mario Rossi"));
        assert!(page.body.contains("<td>matched</td>"));
        assert_eq!(pledge_status(&app, p["id"].as_str().unwrap()).await, "confirmed");
        // The same file again books nothing twice.
        let res = upload(&a, &csrf, &xml).await;
        assert!(
            res.location
                .unwrap()
                .contains("booked=0&already_booked=2")
        );
        // Filtered by status.
        let unmatched = a.get("/console/bank-transfers?status=unmatched").await;
        assert!(unmatched.body.contains("€80.00"));
        assert!(!unmatched.body.contains("€250.00"));
        assert_eq!(a.get("/console/bank-transfers?status=lost").await.status, 422);

        // Another association's member sees its own (empty) books, never these credits, and
        // may not use finance's page or form.
        let b = Browser::new(&app);
        b.sign_in("member-007431", "member-password-1").await;
        let page = b.get("/console/bank-transfers?lang=en").await;
        assert_eq!(page.status, 200);
        assert!(!page.body.contains(&rf) && !page.body.contains("€80.00"));
        let page = b
            .get(&format!("/console/bank-entries?association_id={}", c.asso_a))
            .await;
        assert_eq!(page.status, 403);
        assert!(!page.body.contains("80.00"));
        let entry = app
            .get(
                &format!("/v1/associations/{}/bank-entries?status=unmatched", c.asso_a),
                Some(&c.member_a),
            )
            .await
            .ok()["data"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let b_csrf = b.csrf("/console").await;
        let res = b
            .post(
                &format!("/console/bank-entries/{entry}/assign"),
                &[("csrf_token", &b_csrf), ("pledge_id", p["id"].as_str().unwrap())],
            )
            .await;
        assert_eq!(res.status, 403, "{}", res.body);
        // Staff have no association's statement page.
        app.staff("reviewer").await;
        let r = Browser::new(&app);
        r.sign_in("reviewer-user", "reviewer-password-123").await;
        assert_eq!(r.get("/console/bank-transfers").await.status, 403);
        let r_csrf = r.csrf("/console").await;
        assert_eq!(upload(&r, &r_csrf, &xml).await.status, 403);
        // Nobody signed in: refused unread.
        let anon = Browser::new(&app);
        assert_eq!(upload(&anon, "x", &xml).await.status, 401);
        assert_eq!(app.count("bank_entries").await, 2);
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn finance_assigns_an_unmatched_credit_with_the_console_form() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let (_, partner) = app.partner("P").await;
        let cmp = app.live_campaign(&c, json!({})).await;
        let p = bank_pledge(&app, &partner, &cmp, "80.00", "anna@example.org").await;
        let pledge = p["id"].as_str().unwrap().to_string();
        // The donor forgot the reference: both credits are unmatched.
        let xml = statement(
            8,
            IBAN,
            &[credit("80.00", "BNK-0101"), credit("30.00", "BNK-0102")],
        );
        let res = import(&app, &c.asso_a, &c.member_a, &xml).await;
        assert_eq!(res.ok()["unmatched"], 2);
        let entries = app
            .get(
                &format!("/v1/associations/{}/bank-entries", c.asso_a),
                Some(&c.member_a),
            )
            .await;
        let id_of = |amount: &str| {
            entries.ok()["data"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["amount"] == amount)
                .unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        };
        let (right, wrong) = (id_of("80.00"), id_of("30.00"));

        app.staff("finance").await;
        let f = Browser::new(&app);
        f.sign_in("finance-user", "finance-password-123").await;
        let home = f.get("/console?lang=en").await;
        assert!(home.body.contains("href=\"/console/bank-entries\""));
        let page = f.get("/console/bank-entries").await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(
            page.body
                .contains(&format!("<option value=\"{}\"", c.asso_a))
        );
        assert!(page.body.contains("Mirafiori &#38; Dintorni"));
        let url = format!("/console/bank-entries?association_id={}", c.asso_a);
        let page = f.get(&url).await;
        assert!(
            page.body
                .contains(&format!("/console/bank-entries/{right}/assign"))
        );
        assert!(
            page.body
                .contains(&format!("/console/bank-entries/{wrong}/assign"))
        );
        let csrf = f.csrf(&url).await;
        let assign = |entry: String, token: String| {
            let f = &f;
            let pledge = pledge.clone();
            async move {
                f.post(
                    &format!("/console/bank-entries/{entry}/assign"),
                    &[
                        ("csrf_token", token.as_str()),
                        ("pledge_id", pledge.as_str()),
                    ],
                )
                .await
            }
        };
        // A forged token changes nothing.
        assert_eq!(assign(right.clone(), "forged".into()).await.status, 403);
        // Another amount: the app's refusal, as a page.
        let res = assign(wrong.clone(), csrf.clone()).await;
        assert_eq!(res.status, 409, "{}", res.body);
        assert!(
            res.body.contains("amount or currency differs"),
            "{}",
            res.body
        );
        assert!(res.body.contains("class=\"error\""));
        assert_eq!(pledge_status(&app, &pledge).await, "pending");

        let res = assign(right.clone(), csrf.clone()).await;
        assert_eq!(res.status, 303, "{}", res.body);
        let to = res.location.unwrap();
        assert_eq!(to, format!("{url}&done=assigned"));
        let page = f.get(&to).await;
        assert!(
            page.body
                .contains("Credit assigned: the donation is confirmed.")
        );
        assert!(
            !page
                .body
                .contains(&format!("/console/bank-entries/{right}/assign"))
        );
        assert_eq!(pledge_status(&app, &pledge).await, "confirmed");
        assert_eq!(app.campaign_view(&cmp).await["raised"], "80.00");
        // Twice: the credit is no longer unmatched.
        let res = assign(right.clone(), csrf.clone()).await;
        assert_eq!(res.status, 409);
        assert!(res.body.contains("not unmatched"), "{}", res.body);
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn the_checkout_with_a_bank_transfer_shows_the_iban_and_the_grouped_reference() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let cmp = app.live_campaign(&c, json!({})).await;
        let d = Browser::new(&app);
        let url = format!("/campaigns/{cmp}/donate");
        let form = d.get(&url).await.body;
        assert!(form.contains("Carta (pagamento simulato)") && form.contains("Bonifico bancario"));
        assert!(form.contains("value=\"card\" checked"));
        let field = |name: &str| {
            form.split(&format!("name=\"{name}\" value=\""))
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .to_string()
        };
        let (csrf, key) = (field("csrf_token"), field("key"));
        let fields = [
            ("csrf_token", csrf.as_str()),
            ("key", key.as_str()),
            ("amount", "45.00"),
            ("name", "Luca Bianchi"),
            ("email", "luca@example.org"),
            ("method", "bank_transfer"),
        ];
        let page = d.post(&url, &fields).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains(IBAN));
        assert!(page.body.contains("Barriera Solidale"));
        assert!(page.body.contains("45,00\u{a0}€"), "{}", page.body);
        assert!(page.body.contains("causale"));
        let printed = page
            .body
            .split("<code>RF")
            .nth(1)
            .and_then(|r| r.split("</code>").next())
            .map(|r| format!("RF{r}"))
            .expect("the reference");
        let rf = RfReference::parse(&printed.replace(' ', "")).expect("a valid reference");
        assert_eq!(printed, rf.grouped());
        assert!(printed.contains(' '), "{printed}");
        // "16 dicembre 2026": the page speaks Italian.
        let expires = cofund::locale::date(
            cofund::locale::Lang::It,
            (chrono::Utc::now() + chrono::Duration::days(10)).date_naive(),
        );
        assert!(page.body.contains(&expires), "{}", page.body);
        // Waiting for the money, not paid; a double submit is the same pledge.
        assert_eq!(app.campaign_view(&cmp).await["raised"], "0.00");
        let again = d.post(&url, &fields).await;
        assert!(again.body.contains(&printed));
        assert_eq!(app.count("pledges").await, 1);
        // An unknown method is refused.
        let mut bad = fields;
        bad[1].1 = "00000000-0000-4000-8000-000000000001";
        bad[5].1 = "cash";
        assert_eq!(d.post(&url, &bad).await.status, 422);
        assert_eq!(app.count("pledges").await, 1);
    })
    .await;
}
