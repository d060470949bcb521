//! The console as work queues: each role opens on what waits for it (counted only over what it
//! may act on), moves between its sections by a navigation that marks where it is, is refused
//! the sections of other roles, and reads long lists a page at a time, filtered.

use crate::helpers::*;
use crate::pages::Browser;
use serde_json::json;

/// The navigation's links, in order, and the one marked current.
fn nav(body: &str) -> (Vec<String>, Option<String>) {
    let nav = body
        .split("<nav class=\"console\"")
        .nth(1)
        .and_then(|rest| rest.split("</nav>").next())
        .expect("a console navigation");
    let mut links = Vec::new();
    let mut current = None;
    for piece in nav.split("<a href=\"").skip(1) {
        let href = piece.split('"').next().unwrap().to_string();
        if piece
            .split('>')
            .next()
            .unwrap()
            .contains("aria-current=\"page\"")
        {
            current = Some(href.clone());
        }
        links.push(href);
    }
    (links, current)
}

#[actix_web::test]
async fn each_role_opens_on_its_own_queue_and_every_section_it_is_offered_opens() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        // A has two drafts and one submitted campaign; B has one draft.
        for title in ["Orto di A", "Cinema di A"] {
            app.campaign(&c.member_a, &c.fund, json!({"title": title}))
                .await;
        }
        let sent = app
            .campaign(&c.member_a, &c.fund, json!({"title": "Biblioteca di A"}))
            .await["id"]
            .as_str()
            .unwrap()
            .to_string();
        app.post_empty(&format!("/v1/campaigns/{sent}/submit"), Some(&c.member_a))
            .await
            .ok();
        app.campaign(&c.member_b, &c.fund, json!({"title": "Bozza di B"}))
            .await;
        app.staff("reviewer").await;
        app.staff("finance").await;

        let a = Browser::new(&app);
        a.sign_in("member-123456", "member-password-1").await;
        let queue = a.get("/console?lang=en").await;
        assert_eq!(queue.status, 200);
        assert!(
            queue
                .body
                .contains("2 draft campaigns to complete and submit"),
            "{}",
            queue.body
        );
        assert!(
            queue
                .body
                .contains("0 campaigns sent back by the reviewers")
        );
        assert!(
            !queue.body.contains("to review"),
            "not an association's queue"
        );
        let (links, current) = nav(&queue.body);
        assert_eq!(current.as_deref(), Some("/console"));
        assert!(links.contains(&"/console/campaigns/new".to_string()));
        assert!(!links.contains(&"/console/funds".to_string()));

        let r = Browser::new(&app);
        r.sign_in("reviewer-user", "reviewer-password-123").await;
        let queue = r.get("/console?lang=en").await.body;
        assert!(queue.contains("One campaign to review"), "{queue}");
        assert!(queue.contains("0 applications to score"));
        assert!(!queue.contains("draft campaigns"));

        let f = Browser::new(&app);
        f.sign_in("finance-user", "finance-password-123").await;
        let queue = f.get("/console?lang=en").await.body;
        for line in [
            "0 grant reports to approve",
            "0 batches to confirm as paid",
            "0 tranches payable, in no batch yet",
            "every invariant holds",
        ] {
            assert!(queue.contains(line), "{line}: {queue}");
        }

        let admin = Browser::new(&app);
        admin.sign_in("admin", ADMIN_PASSWORD).await;
        // Every section each role is offered opens, and is the one marked current.
        for who in [&a, &r, &f, &admin] {
            let (links, _) = nav(&who.get("/console?lang=it").await.body);
            assert!(links.len() >= 4, "{links:?}");
            for href in links {
                let page = who.get(&href).await;
                assert_eq!(page.status, 200, "{href}: {}", page.body);
                assert_eq!(nav(&page.body).1.as_deref(), Some(href.as_str()), "{href}");
            }
        }
        // A grant's or a fund's page belongs to its section.
        let fund = admin
            .get(&format!("/console/funds/{}?lang=en", c.fund))
            .await;
        assert_eq!(fund.status, 200, "{}", fund.body);
        // No money has moved yet: said in words, not drawn as blank axes.
        assert!(
            fund.body
                .contains("No money of this fund has been reserved")
        );
        assert!(!fund.body.contains("<svg class=\"chart\""));
        assert_eq!(nav(&fund.body).1.as_deref(), Some("/console/funds"));
        assert_eq!(admin.get("/console/funds/fnd_unknown").await.status, 404);
    })
    .await;
}

#[actix_web::test]
async fn a_section_of_another_role_is_refused_and_a_stranger_is_sent_to_sign_in() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        app.staff("reviewer").await;
        let a = Browser::new(&app);
        a.sign_in("member-123456", "member-password-1").await;
        let r = Browser::new(&app);
        r.sign_in("reviewer-user", "reviewer-password-123").await;
        let fund = format!("/console/funds/{}", c.fund);
        for path in [
            "/console/review",
            "/console/funds",
            fund.as_str(),
            "/console/settlements",
            "/console/admin",
            "/console/admin/users",
            "/console/admin/partners",
            "/console/admin/funds",
        ] {
            let page = a.get(&format!("{path}?lang=en")).await;
            assert_eq!(page.status, 403, "association on {path}");
            assert!(page.content_type.starts_with("text/html"));
        }
        for path in [
            "/console/campaigns",
            "/console/campaigns/new",
            "/console/donations",
            "/console/funds",
            "/console/admin",
        ] {
            assert_eq!(r.get(path).await.status, 403, "reviewer on {path}");
        }
        let nobody = Browser::new(&app);
        for path in [
            "/console",
            "/console/review",
            "/console/campaigns",
            "/console/admin",
        ] {
            let page = nobody.get(path).await;
            assert_eq!(page.status, 303, "{path}");
            assert_eq!(page.location.as_deref(), Some("/login"));
        }
    })
    .await;
}

#[actix_web::test]
async fn long_lists_come_a_page_at_a_time_and_filter_by_status_and_text() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        for i in 1..=23 {
            app.campaign(
                &c.member_a,
                &c.fund,
                json!({"title": format!("Progetto numero {i:02}")}),
            )
            .await;
        }
        let a = Browser::new(&app);
        a.sign_in("member-123456", "member-password-1").await;
        let rows = |body: &str| body.matches("<tr>").count() - 1; // less the header
        let first = a.get("/console/campaigns?lang=en").await.body;
        assert_eq!(rows(&first), 20);
        assert!(first.contains("Page 1 of 2"));
        let next = first
            .split("rel=\"next\"")
            .next()
            .and_then(|before| before.rsplit("href=\"").next())
            .and_then(|rest| rest.split('"').next())
            .expect("a link to the next page")
            .replace("&#38;", "&");
        let second = a.get(&next).await.body;
        assert_eq!(rows(&second), 3, "{next}");
        assert!(second.contains("Page 2 of 2"));
        assert!(second.contains("rel=\"prev\""));
        // Out of range is the last page; a filter by text keeps only what it names.
        assert_eq!(rows(&a.get("/console/campaigns?page=99").await.body), 3);
        let found = a.get("/console/campaigns?q=numero+07&lang=en").await.body;
        assert_eq!(rows(&found), 1);
        assert!(found.contains("Progetto numero 07"));
        assert!(!found.contains("Page 1"), "one page has no pager");
        let none = a.get("/console/campaigns?status=live&lang=en").await.body;
        assert!(none.contains("Nothing matches this filter."));
        let drafts = a.get("/console/campaigns?status=draft").await.body;
        assert_eq!(rows(&drafts), 20);
        // A status that is none is a clear error page, not a silent empty list.
        let bad = a.get("/console/campaigns?status=nonsense&lang=en").await;
        assert_eq!(bad.status, 422, "{}", bad.body);
        assert!(bad.body.contains("status"));
        // A NUL in a filter is refused like anywhere else; a very long one is cut to 100.
        let nul = a.get("/console/campaigns?q=a%00b").await;
        assert_eq!(nul.status, 422, "{}", nul.body);
        let long = a
            .get(&format!("/console/campaigns?q={}", "x".repeat(5000)))
            .await;
        assert_eq!(long.status, 200);
        assert!(
            long.body
                .contains(&format!("value=\"{}\"", "x".repeat(100)))
        );
        assert!(!long.body.contains(&"x".repeat(101)));
    })
    .await;
}
