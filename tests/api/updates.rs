//! Project updates: an association tells its donors what happened; only the donors who agreed
//! to be contacted get the e-mail (once per address), the page shows it as plain text.

use crate::helpers::*;
use crate::pages::Browser;
use serde_json::{Value, json};

/// A paid pledge from `email`, with or without consent to be contacted.
async fn paid(
    app: &TestApp,
    partner: &str,
    cmp: &str,
    email: &str,
    locale: &str,
    consent: bool,
) -> Value {
    let res = app
        .send(
            app.client
                .post(app.url(&format!("/v1/campaigns/{cmp}/pledges")))
                .bearer_auth(partner)
                .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
                .json(
                    &json!({"amount": "30.00", "donor": {"name": "Donor", "email": email,
                               "locale": locale, "contact_consent": consent}}),
                ),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    let p = res.body;
    app.post(
        &format!("/v1/simulated/payments/{}", pi(&p)),
        Some(partner),
        json!({"outcome": "succeed"}),
    )
    .await
    .ok();
    p
}

/// The update e-mails sent to `address`.
fn updates_to(app: &TestApp, address: &str) -> Vec<String> {
    app.mails()
        .into_iter()
        .filter(|m| m.contains(&format!("To: {address}")) && m.contains("Cantiere aperto"))
        .collect()
}

#[actix_web::test]
async fn an_update_reaches_only_consenting_donors_once_each_and_shows_as_plain_text() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let (_, partner) = app.partner("P").await;
        let cmp = app.live_campaign(&c, json!({"title": "Orti condivisi"})).await;
        paid(&app, &partner, &cmp, "anna@example.org", "it", true).await;
        paid(&app, &partner, &cmp, "ANNA@example.org", "it", true).await; // the same address
        paid(&app, &partner, &cmp, "bob@example.org", "en", true).await;
        paid(&app, &partner, &cmp, "carla@example.org", "it", false).await;
        // Consented, but never paid: not a donor.
        app.pledge(&partner, &cmp, "10.00", "dario@example.org").await;
        app.tick().await; // the receipts go out first
        let before = app.mails().len();

        let body = "Foto: https://esempio.it/orti?a=1&b=2.\nGrazie! <script>alert(1)</script>";
        let res = app
            .post(
                &format!("/v1/campaigns/{cmp}/updates"),
                Some(&c.member_a),
                json!({"title": "Cantiere aperto", "body": body}),
            )
            .await;
        assert_eq!(res.status, 201, "{}", res.body);
        assert_eq!(res.body["recipients"], 2, "anna once, bob; not carla, not dario");
        assert!(res.body["id"].as_str().unwrap().starts_with("upd_"));
        app.tick().await;
        assert_eq!(app.mails().len(), before + 2);
        let anna = updates_to(&app, "anna@example.org");
        assert_eq!(anna.len(), 1, "one e-mail per address");
        assert!(anna[0].contains("Gentile Donor"), "Italian for anna: {}", anna[0]);
        let bob = updates_to(&app, "bob@example.org");
        assert_eq!(bob.len(), 1);
        assert!(bob[0].contains("News from"), "{}", bob[0]);
        assert!(bob[0].contains(&format!("/campaigns/{cmp}")), "the link to the project");
        assert!(updates_to(&app, "carla@example.org").is_empty());
        assert!(updates_to(&app, "dario@example.org").is_empty());

        // Anyone reads it; the page shows text, the address as a link, never markup.
        let list = app.get(&format!("/v1/campaigns/{cmp}/updates"), None).await;
        assert_eq!(list.status, 200);
        assert_eq!(list.body["data"][0]["title"], "Cantiere aperto");
        assert_eq!(list.body["data"][0]["body"], body);
        let page = Browser::new(&app).get(&format!("/campaigns/{cmp}?lang=en")).await;
        assert!(page.body.contains("News from the project") && page.body.contains("Cantiere aperto"));
        assert!(page.body.contains(
            r#"<a href="https://esempio.it/orti?a=1&#38;b=2" rel="nofollow ugc noopener noreferrer">"#
        ) || page.body.contains(
            r#"<a href="https://esempio.it/orti?a=1&amp;b=2" rel="nofollow ugc noopener noreferrer">"#
        ), "{}", page.body);
        assert!(!page.body.contains("<script>"));
        let audit = app.get("/v1/audit?action=campaign.update", Some(&app.admin().await)).await;
        assert!(audit.body.to_string().contains("campaign.update"), "{}", audit.body);
    })
    .await;
}

#[actix_web::test]
async fn bad_updates_wrong_authors_and_a_flood_change_nothing() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let cmp = app.live_campaign(&c, json!({})).await;
        let path = format!("/v1/campaigns/{cmp}/updates");
        let ok = json!({"title": "Notizie", "body": "Tutto bene."});
        let reviewer = app.staff("reviewer").await;
        // Another association, city staff, nobody.
        app.post(&path, Some(&c.member_b), ok.clone())
            .await
            .assert_problem(403, "forbidden");
        app.post(&path, Some(&reviewer), ok.clone())
            .await
            .assert_problem(403, "forbidden");
        assert_eq!(app.post(&path, None, ok.clone()).await.status, 401);
        // Malformed: a line break in the title, a NUL or a control character in the body,
        // empty or too long, unknown fields.
        for bad in [
            json!({"title": "a\nb", "body": "x"}),
            json!({"title": "a", "body": "x\u{0}y"}),
            json!({"title": "a", "body": "x\u{7}y"}),
            json!({"title": "  ", "body": "x"}),
            json!({"title": "a", "body": "b".repeat(5001)}),
            json!({"title": "a", "body": "b", "html": true}),
        ] {
            let res = app.post(&path, Some(&c.member_a), bad.clone()).await;
            assert!(
                matches!(res.status.as_u16(), 400 | 422),
                "{bad}: {}",
                res.body
            );
        }
        // Not a public campaign yet.
        let draft = app.campaign(&c.member_a, &c.fund, json!({})).await;
        app.post(
            &format!("/v1/campaigns/{}/updates", draft["id"].as_str().unwrap()),
            Some(&c.member_a),
            ok.clone(),
        )
        .await
        .assert_problem(409, "not_public");
        assert_eq!(app.count("campaign_updates").await, 0);
        let outbox = app.count("outbox").await;
        // Three a day; the fourth waits for tomorrow.
        for _ in 0..3 {
            assert_eq!(
                app.post(&path, Some(&c.member_a), ok.clone()).await.status,
                201
            );
        }
        app.post(&path, Some(&c.member_a), ok.clone())
            .await
            .assert_problem(409, "too_many_updates");
        assert_eq!(app.count("campaign_updates").await, 3);
        assert_eq!(app.count("outbox").await, outbox, "no donors, no e-mail");
        app.advance_clock(chrono::Duration::hours(25));
        assert_eq!(
            app.post(&path, Some(&c.member_a), ok.clone()).await.status,
            201
        );
        // Unknown campaign; another association's draft is not there for the public.
        app.get(
            "/v1/campaigns/cmp_00000000000000000000000000000000/updates",
            None,
        )
        .await
        .assert_problem(404, "not_found");
        app.get(
            &format!("/v1/campaigns/{}/updates", draft["id"].as_str().unwrap()),
            None,
        )
        .await
        .assert_problem(404, "not_found");
    })
    .await;
}

#[actix_web::test]
async fn the_association_posts_an_update_from_its_campaign_page() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let cmp = app.live_campaign(&c, json!({})).await;
        let stranger = Browser::new(&app);
        let page = stranger.get(&format!("/campaigns/{cmp}")).await;
        assert!(!page.body.contains("/news\""), "no form for the public");
        let other = Browser::new(&app);
        other.sign_in("member-007431", "member-password-1").await;
        assert!(
            !other
                .get(&format!("/campaigns/{cmp}"))
                .await
                .body
                .contains("/news\"")
        );
        let b = Browser::new(&app);
        b.sign_in("member-123456", "member-password-1").await;
        let csrf = b.csrf(&format!("/campaigns/{cmp}")).await;
        let form = format!("/console/campaigns/{cmp}/news");
        // Another association's member cannot post through the form either.
        let other_csrf = other.csrf("/console").await;
        let refused = other
            .post(
                &form,
                &[("csrf_token", &other_csrf), ("title", "X"), ("body", "Y")],
            )
            .await;
        assert_eq!(refused.status, 403, "{}", refused.body);
        let bad = b
            .post(
                &form,
                &[("csrf_token", &csrf), ("title", ""), ("body", "Y")],
            )
            .await;
        assert_eq!(bad.status, 422);
        assert_eq!(app.count("campaign_updates").await, 0);
        let done = b
            .post(
                &form,
                &[
                    ("csrf_token", &csrf),
                    ("title", "Primo giorno"),
                    ("body", "Si parte."),
                ],
            )
            .await;
        assert_eq!(done.status, 303, "{}", done.body);
        assert_eq!(done.location, Some(format!("/campaigns/{cmp}?posted=1")));
        let page = b.get(&format!("/campaigns/{cmp}?posted=1")).await;
        assert!(page.body.contains("Primo giorno") && page.body.contains("role=\"status\""));
    })
    .await;
}
