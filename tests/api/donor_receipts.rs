//! Donors' own receipts: `/receipts` sends a one-time link to an address that gave (the same
//! answer for one that did not); the link's page needs a click, works once, within 24 hours.

use crate::helpers::*;
use crate::pages::Browser;
use serde_json::json;

/// The receipts links e-mailed to `address`, oldest first in no particular order.
fn links_to(app: &TestApp, address: &str) -> Vec<String> {
    app.mails()
        .iter()
        .filter(|m| m.contains(&format!("To: {address}")))
        .filter_map(|m| {
            let at = m.find("/receipts/rcl_")?;
            let rest = &m[at..];
            let end = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
            Some(rest[..end].to_string())
        })
        .collect()
}

async fn ask(b: &Browser<'_>, email: &str) -> crate::pages::Page {
    let csrf = b.csrf("/receipts?lang=en").await;
    b.post("/receipts", &[("csrf_token", &csrf), ("email", email)])
        .await
}

#[actix_web::test]
async fn a_donor_gets_a_one_time_link_to_their_receipts_and_strangers_learn_nothing() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let (_, partner) = app.partner("P").await;
        let cmp = app
            .live_campaign(&c, json!({"title": "Orti condivisi"}))
            .await;
        give(&app, &partner, &cmp, 30, "anna").await;
        give(&app, &partner, &cmp, 45, "anna").await;
        give(&app, &partner, &cmp, 20, "bruno").await;
        app.tick().await;
        let before = app.mails().len();

        let b = Browser::new(&app);
        let known = ask(&b, "ANNA@example.org").await;
        assert_eq!(known.status, 200, "{}", known.body);
        let unknown = ask(&b, "nobody@example.org").await;
        assert_eq!(unknown.status, 200);
        assert_eq!(known.body, unknown.body, "the same answer, known or not");
        assert!(known.body.contains("If this address has donated"));
        let bad = ask(&b, "not an address").await;
        assert_eq!(bad.status, 422);
        app.tick().await;
        assert_eq!(app.mails().len(), before + 1, "one e-mail: to anna only");
        let link = links_to(&app, "anna@example.org")
            .pop()
            .expect("anna's link");

        // Opening the link asks for a click first: a mail scanner's GET spends nothing.
        for _ in 0..2 {
            let page = b.get(&format!("{link}?lang=en")).await;
            assert_eq!(page.status, 200);
            assert!(page.body.contains("Show my receipts"));
        }
        let csrf = b.csrf(&link).await;
        let shown = b.post(&link, &[("csrf_token", &csrf)]).await;
        assert_eq!(shown.status, 200, "{}", shown.body);
        assert!(
            shown.body.contains("€30.00") && shown.body.contains("€45.00"),
            "{}",
            shown.body
        );
        assert!(shown.body.contains("Orti condivisi"));
        assert!(
            !shown.body.contains("€20.00"),
            "bruno's receipt is not anna's"
        );
        assert_eq!(shown.body.matches("<section class=\"receipt\"").count(), 2);
        // Once only.
        let again = b.post(&link, &[("csrf_token", &csrf)]).await;
        assert_eq!(again.status, 410);
        // Another browser, without this session's token, cannot spend a link either.
        let other = Browser::new(&app);
        let forged = other.post(&link, &[("csrf_token", "forged")]).await;
        assert_eq!(forged.status, 403, "{}", forged.body);
    })
    .await;
}

#[actix_web::test]
async fn links_expire_are_limited_per_address_and_go_with_an_erased_donor() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let (_, partner) = app.partner("P").await;
        let cmp = app.live_campaign(&c, json!({})).await;
        give(&app, &partner, &cmp, 30, "carla").await;
        app.tick().await;
        let b = Browser::new(&app);
        for _ in 0..4 {
            assert_eq!(ask(&b, "carla@example.org").await.status, 200);
        }
        app.tick().await;
        let links = links_to(&app, "carla@example.org");
        assert_eq!(
            links.len(),
            3,
            "three links a day for one address, then the same answer and no e-mail"
        );
        // A day later, none of them opens anything.
        app.advance_clock(chrono::Duration::hours(25));
        let csrf = b.csrf(&links[0]).await;
        assert_eq!(
            b.post(&links[0], &[("csrf_token", &csrf)]).await.status,
            410
        );
        assert_eq!(
            b.post("/receipts/rcl_nonsense", &[("csrf_token", &csrf)])
                .await
                .status,
            410
        );
        // Erased: the links that would open her receipts go, and asking again sends nothing.
        assert!(app.count("receipt_links").await > 0);
        let admin = app.admin().await;
        let erased = app
            .post(
                "/v1/donors/erase",
                Some(&admin),
                json!({"email": "carla@example.org"}),
            )
            .await;
        assert_eq!(erased.ok()["erased"], 1);
        assert_eq!(app.count("receipt_links WHERE used_at IS NULL").await, 0);
        let before = app.mails().len();
        assert_eq!(ask(&b, "carla@example.org").await.status, 200);
        app.tick().await;
        assert_eq!(app.mails().len(), before);
    })
    .await;
}
