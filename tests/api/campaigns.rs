use crate::helpers::*;
use serde_json::json;

fn id(v: &serde_json::Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

#[actix_web::test]
async fn a_campaign_goes_from_draft_to_live_to_closing() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let cmp = app.campaign(&c.member_a, &c.fund, json!({})).await;
        let cid = id(&cmp);
        assert!(cid.starts_with("cmp_"));
        assert_eq!(cmp["status"], "draft");
        assert_eq!(cmp["area_id"], c.area.as_str());
        assert_eq!(cmp["association_id"], c.asso_a.as_str());
        assert_eq!(cmp["goal"], "40000.00");
        assert_eq!(cmp["currency"], "EUR");
        assert_eq!(cmp["threshold"], "20000.00");
        assert_eq!(cmp["raised"], "0.00");
        assert_eq!(cmp["donors"], 0);
        assert_eq!(cmp["progress"], "0.0000");
        assert_eq!(cmp["match"], json!({"status": "none", "amount": "0.00"}));

        // Drafts are private.
        app.get(&format!("/v1/campaigns/{cid}"), None).await.assert_problem(404, "not_found");

        let res = app.post_empty(&format!("/v1/campaigns/{cid}/submit"), Some(&c.member_a)).await;
        assert_eq!(res.ok()["status"], "submitted");
        let reviewer = app.staff("reviewer").await;
        let res = app.post_empty(&format!("/v1/campaigns/{cid}/approve"), Some(&reviewer)).await;
        assert_eq!(res.ok()["status"], "approved");
        // on_threshold funds reserve nothing at approval.
        assert_eq!(res.body["match"]["status"], "none");

        let public = app.get(&format!("/v1/campaigns/{cid}"), None).await;
        assert_eq!(public.ok()["status"], "approved");

        let report = app.tick().await;
        assert_eq!(report.started, 1);
        let live = app.get(&format!("/v1/campaigns/{cid}"), None).await;
        assert_eq!(live.ok()["status"], "live");
        // A second tick (or a second replica) changes nothing.
        assert_eq!(app.tick().await.started, 0);

        app.sql(&format!(
            "UPDATE campaigns SET starts_at = '2000-01-01 00:00:00', ends_at = '2000-02-01 00:00:00' WHERE id = '{cid}'"
        ))
        .await;
        // Closed, and with no pending pledge it is decided at once: nobody gave, so it failed.
        let report = app.tick().await;
        assert_eq!((report.closed, report.decided), (1, 1));
        let decided = app.get(&format!("/v1/campaigns/{cid}"), None).await;
        assert_eq!(decided.ok()["status"], "failed");
        // Every step is in the audit trail: create, submit, approve, go live, close, decide.
        assert_eq!(
            app.count(&format!("audit_log WHERE object_id = '{cid}'")).await,
            6
        );
    })
    .await;
}

#[actix_web::test]
async fn another_associations_member_sees_what_the_public_sees_and_changes_nothing() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let cmp = app.campaign(&c.member_a, &c.fund, json!({})).await;
        let cid = id(&cmp);
        let b = Some(c.member_b.as_str());
        // A's draft does not exist for B, as for the public.
        app.get(&format!("/v1/campaigns/{cid}"), b)
            .await
            .assert_problem(404, "not_found");
        app.patch(
            &format!("/v1/campaigns/{cid}"),
            b,
            json!({"title": "Mine now"}),
        )
        .await
        .assert_problem(404, "not_found");
        app.post_empty(&format!("/v1/campaigns/{cid}/submit"), b)
            .await
            .assert_problem(404, "not_found");
        app.post_empty(&format!("/v1/campaigns/{cid}/cancel"), b)
            .await
            .assert_problem(404, "not_found");
        let listed = app
            .get(&format!("/v1/campaigns?association_id={}", c.asso_a), b)
            .await;
        assert_eq!(listed.ok()["data"].as_array().unwrap().len(), 0);
        // B's own listing does not include A's campaign.
        let mine = app.get("/v1/campaigns", b).await;
        assert_eq!(mine.ok()["data"].as_array().unwrap().len(), 0);
        // Nothing changed.
        let same = app
            .get(&format!("/v1/campaigns/{cid}"), Some(&c.member_a))
            .await;
        assert_eq!(same.ok()["title"], cmp["title"]);
        assert_eq!(same.body["status"], "draft");

        // Once A's campaign is live, B reads it exactly as the public does, and still cannot
        // change it or read its donors.
        let live = app.live_campaign(&c, json!({})).await;
        let public = app.get(&format!("/v1/campaigns/{live}"), None).await;
        let seen = app.get(&format!("/v1/campaigns/{live}"), b).await;
        assert_eq!(seen.ok(), public.ok());
        let listed = app
            .get(&format!("/v1/campaigns?association_id={}", c.asso_a), b)
            .await;
        let ids: Vec<&str> = listed.ok()["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, vec![live.as_str()]);
        app.post_empty(&format!("/v1/campaigns/{live}/cancel"), b)
            .await
            .assert_problem(403, "forbidden");
        app.get(&format!("/v1/campaigns/{live}/pledges"), b)
            .await
            .assert_problem(403, "forbidden");
        assert_eq!(app.campaign_view(&live).await["status"], "live");
    })
    .await;
}

#[actix_web::test]
async fn roles_that_may_not_act_get_403() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let cid = id(&app.campaign(&c.member_a, &c.fund, json!({})).await);
        let finance = app.staff("finance").await;
        let reviewer = app.staff("reviewer").await;
        let (_, partner) = app.partner("P").await;
        // Only association members create campaigns.
        for token in [&finance, &reviewer, &partner] {
            app.post("/v1/campaigns", Some(token), campaign_body(&c.fund))
                .await
                .assert_problem(403, "forbidden");
        }
        app.post("/v1/campaigns", None, campaign_body(&c.fund))
            .await
            .assert_problem(401, "unauthorized");
        app.post_empty(&format!("/v1/campaigns/{cid}/submit"), Some(&c.member_a))
            .await
            .ok();
        // Owners cannot approve their own campaign; finance cannot approve either.
        app.post_empty(&format!("/v1/campaigns/{cid}/approve"), Some(&c.member_a))
            .await
            .assert_problem(403, "forbidden");
        app.post_empty(&format!("/v1/campaigns/{cid}/approve"), Some(&finance))
            .await
            .assert_problem(403, "forbidden");
        app.post_empty(&format!("/v1/campaigns/{cid}/cancel"), Some(&reviewer))
            .await
            .assert_problem(403, "forbidden");
        // Partners see only public campaigns: a submitted one does not exist for them.
        app.get(&format!("/v1/campaigns/{cid}"), Some(&partner))
            .await
            .assert_problem(404, "not_found");
        let s = app
            .get(&format!("/v1/campaigns/{cid}"), Some(&finance))
            .await;
        assert_eq!(s.ok()["status"], "submitted");
    })
    .await;
}

#[actix_web::test]
async fn invalid_campaigns_are_422_and_create_nothing() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let cases = [
            (json!({"location": {"lat": 41.9, "lon": 12.5}}), "location"),
            (json!({"location": {"lat": 95.0, "lon": 7.68}}), "location"),
            (json!({"goal": "10000.00"}), "goal"),
            (json!({"goal": "200000.00"}), "goal"),
            (json!({"goal": "40000.001"}), "goal"),
            (json!({"goal": "0"}), "goal"),
            (json!({"goal": "-40000.00"}), "goal"),
            (json!({"goal": "forty"}), "goal"),
            (json!({"starts_at": rfc3339(chrono::Duration::days(-30))}), "starts_at"),
            (json!({"ends_at": rfc3339(chrono::Duration::days(400))}), "ends_at"),
            (json!({"ends_at": rfc3339(chrono::Duration::days(-1)), "starts_at": rfc3339(chrono::Duration::days(-2))}), "ends_at"),
            (json!({"title": ""}), "title"),
            (json!({"currency": "USD"}), "currency"),
            (json!({"fund_id": "fund_missing"}), "fund_id"),
            (json!({"colour": "blue"}), "colour"),
            (json!({"title": null}), "title"),
        ];
        for (patch, field) in cases {
            let mut body = campaign_body(&c.fund);
            merge(&mut body, patch.clone());
            let res = app.post("/v1/campaigns", Some(&c.member_a), body).await;
            res.assert_problem(422, "validation_failed");
            assert!(res.error_fields().contains(&field.to_string()), "{patch} → {}", res.body);
        }
        app.post_raw("/v1/campaigns", Some(&c.member_a), "{\"fund_id\": ")
            .await
            .assert_problem(400, "bad_request");
        let res = app
            .send(
                app.client
                    .post(app.url("/v1/campaigns"))
                    .bearer_auth(&c.member_a)
                    .header("content-type", "text/plain")
                    .body("hello"),
            )
            .await;
        res.assert_problem(415, "unsupported_media_type");
        assert_eq!(app.count("campaigns").await, 0);
    })
    .await;
}

#[actix_web::test]
async fn the_area_is_found_among_the_funds_eligible_areas_only() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        // An area that exists but is not eligible for this fund.
        app.area("TO-ELSEWHERE", 45.2, 7.9, 0.01).await;
        let mut body = campaign_body(&c.fund);
        body["location"] = json!({"lat": 45.2, "lon": 7.9});
        let res = app.post("/v1/campaigns", Some(&c.member_a), body).await;
        res.assert_problem(422, "validation_failed");
        assert_eq!(res.error_fields(), vec!["location"]);
    })
    .await;
}

#[actix_web::test]
async fn illegal_transitions_are_409_and_change_nothing() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let reviewer = app.staff("reviewer").await;
        let admin = app.admin().await;
        let cid = id(&app.campaign(&c.member_a, &c.fund, json!({})).await);
        let path = |a: &str| format!("/v1/campaigns/{cid}/{a}");
        app.post_empty(&path("approve"), Some(&reviewer))
            .await
            .assert_problem(409, "illegal_state_transition");
        app.post(&path("reject"), Some(&reviewer), json!({"reason": "no"}))
            .await
            .assert_problem(409, "illegal_state_transition");
        app.post_empty(&path("submit"), Some(&c.member_a))
            .await
            .ok();
        app.post_empty(&path("submit"), Some(&c.member_a))
            .await
            .assert_problem(409, "illegal_state_transition");
        app.patch(
            &format!("/v1/campaigns/{cid}"),
            Some(&c.member_a),
            json!({"title": "x"}),
        )
        .await
        .assert_problem(409, "illegal_state_transition");
        app.post_empty(&path("approve"), Some(&reviewer)).await.ok();
        // The owner can no longer withdraw an approved campaign.
        app.post_empty(&path("cancel"), Some(&c.member_a))
            .await
            .assert_problem(409, "illegal_state_transition");
        app.post_empty(&path("approve"), Some(&admin))
            .await
            .assert_problem(409, "illegal_state_transition");
        let now = app.get(&format!("/v1/campaigns/{cid}"), None).await;
        assert_eq!(now.ok()["status"], "approved");
        // An admin may cancel until the close.
        app.tick().await;
        let res = app.post_empty(&path("cancel"), Some(&admin)).await;
        assert_eq!(res.ok()["status"], "cancelled");
        app.post_empty(&path("cancel"), Some(&admin))
            .await
            .assert_problem(409, "illegal_state_transition");
    })
    .await;
}

#[actix_web::test]
async fn rejected_campaigns_return_to_draft_when_edited() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let reviewer = app.staff("reviewer").await;
        let cid = id(&app.campaign(&c.member_a, &c.fund, json!({})).await);
        app.post_empty(&format!("/v1/campaigns/{cid}/submit"), Some(&c.member_a))
            .await
            .ok();
        app.post(
            &format!("/v1/campaigns/{cid}/reject"),
            Some(&reviewer),
            json!({"reason": ""}),
        )
        .await
        .assert_problem(422, "validation_failed");
        let res = app
            .post(
                &format!("/v1/campaigns/{cid}/reject"),
                Some(&reviewer),
                json!({"reason": "Budget plan missing"}),
            )
            .await;
        assert_eq!(res.ok()["status"], "rejected");
        assert_eq!(res.body["rejection_reason"], "Budget plan missing");
        let seen = app
            .get(&format!("/v1/campaigns/{cid}"), Some(&c.member_a))
            .await;
        assert_eq!(seen.ok()["rejection_reason"], "Budget plan missing");

        // A bad edit changes nothing.
        app.patch(
            &format!("/v1/campaigns/{cid}"),
            Some(&c.member_a),
            json!({"goal": "1.999"}),
        )
        .await
        .assert_problem(422, "validation_failed");
        let still = app
            .get(&format!("/v1/campaigns/{cid}"), Some(&c.member_a))
            .await;
        assert_eq!(still.ok()["status"], "rejected");

        let res = app
            .patch(
                &format!("/v1/campaigns/{cid}"),
                Some(&c.member_a),
                json!({"goal": "50000.00", "summary": "With a budget plan."}),
            )
            .await;
        let edited = res.ok();
        assert_eq!(edited["status"], "draft");
        assert_eq!(edited["goal"], "50000.00");
        assert_eq!(edited["threshold"], "25000.00");
        assert_eq!(edited["summary"], "With a budget plan.");
        assert!(edited.get("rejection_reason").is_none());
        app.patch(
            &format!("/v1/campaigns/{cid}"),
            Some(&c.member_a),
            json!({"association_id": "asso_x"}),
        )
        .await
        .assert_problem(422, "validation_failed");
    })
    .await;
}

#[actix_web::test]
async fn owners_may_withdraw_before_approval() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let cid = id(&app.campaign(&c.member_a, &c.fund, json!({})).await);
        app.post_empty(&format!("/v1/campaigns/{cid}/submit"), Some(&c.member_a))
            .await
            .ok();
        let res = app
            .post_empty(&format!("/v1/campaigns/{cid}/cancel"), Some(&c.member_a))
            .await;
        assert_eq!(res.ok()["status"], "cancelled");
    })
    .await;
}

#[actix_web::test]
async fn on_approval_funds_earmark_the_top_up_or_refuse_approval() {
    each_backend(|app| async move {
        // Budget €45,000: one €40,000 campaign earmarks €20,000, a €60,000 one needs €30,000.
        let c = city(
            &app,
            json!({"allocation": "on_approval", "budget": "45000.00"}),
        )
        .await;
        let reviewer = app.staff("reviewer").await;
        let admin = app.admin().await;
        let first = id(&app.campaign(&c.member_a, &c.fund, json!({})).await);
        let second = id(&app
            .campaign(&c.member_b, &c.fund, json!({"goal": "60000.00"}))
            .await);
        for (cid, token) in [(&first, &c.member_a), (&second, &c.member_b)] {
            app.post_empty(&format!("/v1/campaigns/{cid}/submit"), Some(token))
                .await
                .ok();
        }
        let res = app
            .post_empty(&format!("/v1/campaigns/{first}/approve"), Some(&reviewer))
            .await;
        assert_eq!(
            res.ok()["match"],
            json!({"status": "reserved", "amount": "20000.00"})
        );
        app.post_empty(&format!("/v1/campaigns/{second}/approve"), Some(&reviewer))
            .await
            .assert_problem(409, "budget_exhausted");
        let s = app
            .get(&format!("/v1/campaigns/{second}"), Some(&admin))
            .await;
        assert_eq!(s.ok()["status"], "submitted");
        assert_eq!(s.body["match"]["status"], "none");
        let f = app.get(&format!("/v1/funds/{}", c.fund), None).await;
        assert_eq!(f.ok()["reserved"], "20000.00");
        assert_eq!(f.body["available"], "25000.00");

        // Cancelling the first releases its earmark; the second now fits.
        app.post_empty(&format!("/v1/campaigns/{first}/cancel"), Some(&admin))
            .await
            .ok();
        let f = app.get(&format!("/v1/funds/{}", c.fund), None).await;
        assert_eq!(f.ok()["reserved"], "0.00");
        let res = app
            .post_empty(&format!("/v1/campaigns/{second}/approve"), Some(&reviewer))
            .await;
        assert_eq!(
            res.ok()["match"],
            json!({"status": "reserved", "amount": "30000.00"})
        );
        let f = app.get(&format!("/v1/funds/{}", c.fund), None).await;
        assert_eq!(f.ok()["available"], "15000.00");
    })
    .await;
}

#[actix_web::test]
async fn lists_filter_and_page_with_cursors() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let reviewer = app.staff("reviewer").await;
        let mut ids = Vec::new();
        for i in 0..5 {
            let cid = id(&app
                .campaign(
                    &c.member_a,
                    &c.fund,
                    json!({"title": format!("Campaign {i}")}),
                )
                .await);
            app.post_empty(&format!("/v1/campaigns/{cid}/submit"), Some(&c.member_a))
                .await
                .ok();
            app.post_empty(&format!("/v1/campaigns/{cid}/approve"), Some(&reviewer))
                .await
                .ok();
            ids.push(cid);
        }
        // One private draft that the public must never see.
        let draft = id(&app.campaign(&c.member_b, &c.fund, json!({})).await);

        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(cur) => format!("/v1/campaigns?limit=2&cursor={cur}"),
                None => "/v1/campaigns?limit=2".to_string(),
            };
            let page = app.get(&path, None).await;
            let body = page.ok().clone();
            let data = body["data"].as_array().unwrap();
            assert!(data.len() <= 2);
            seen.extend(data.iter().map(id));
            match body["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_string()),
                None => break,
            }
        }
        assert_eq!(seen, ids);
        assert!(!seen.contains(&draft));

        let staff = app.get("/v1/campaigns?status=draft", Some(&reviewer)).await;
        let drafts: Vec<_> = staff.ok()["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(id)
            .collect();
        assert_eq!(drafts, vec![draft.clone()]);
        let public_drafts = app.get("/v1/campaigns?status=draft", None).await;
        assert_eq!(public_drafts.ok()["data"].as_array().unwrap().len(), 0);
        let by_asso = app
            .get(
                &format!("/v1/campaigns?association_id={}", c.asso_b),
                Some(&reviewer),
            )
            .await;
        assert_eq!(by_asso.ok()["data"].as_array().unwrap().len(), 1);
        let by_area = app
            .get(
                &format!("/v1/campaigns?area_id={}&fund_id={}", c.area, c.fund),
                None,
            )
            .await;
        assert_eq!(by_area.ok()["data"].as_array().unwrap().len(), 5);
        app.get("/v1/campaigns?status=bogus", None)
            .await
            .assert_problem(422, "validation_failed");
        app.get("/v1/campaigns?limit=0", None)
            .await
            .assert_problem(422, "validation_failed");
    })
    .await;
}

#[actix_web::test]
async fn public_campaign_views_carry_no_personal_or_internal_data() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let reviewer = app.staff("reviewer").await;
        let cid = id(&app.campaign(&c.member_a, &c.fund, json!({})).await);
        app.post_empty(&format!("/v1/campaigns/{cid}/submit"), Some(&c.member_a))
            .await
            .ok();
        app.post_empty(&format!("/v1/campaigns/{cid}/approve"), Some(&reviewer))
            .await
            .ok();
        let public = app.get(&format!("/v1/campaigns/{cid}"), None).await;
        let text = public.ok().to_string();
        for forbidden in [
            "m@example.org",
            "info@example.org",
            "IT60X0542811101000000123456",
            "password",
            "rejection_reason",
        ] {
            assert!(!text.contains(forbidden), "{forbidden} leaked: {text}");
        }
    })
    .await;
}

#[actix_web::test]
async fn the_background_scheduler_starts_campaigns_on_its_own() {
    each_backend_with(
        |c| c.scheduler_interval = std::time::Duration::from_millis(50),
        |app| async move {
            let c = city(&app, json!({})).await;
            let reviewer = app.staff("reviewer").await;
            let cid = id(&app.campaign(&c.member_a, &c.fund, json!({})).await);
            app.post_empty(&format!("/v1/campaigns/{cid}/submit"), Some(&c.member_a))
                .await
                .ok();
            app.post_empty(&format!("/v1/campaigns/{cid}/approve"), Some(&reviewer))
                .await
                .ok();
            let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
            let job =
                actix_web::rt::spawn(cofund::jobs::scheduler::run(app.state.clone(), stop_rx));
            let mut status = String::new();
            for _ in 0..100 {
                status = app.get(&format!("/v1/campaigns/{cid}"), None).await.body["status"]
                    .as_str()
                    .unwrap()
                    .to_string();
                if status == "live" {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            assert_eq!(status, "live");
            stop_tx.send(true).unwrap();
            job.await.unwrap();
        },
    )
    .await;
}

#[actix_web::test]
async fn public_reads_never_lag_a_write_the_service_acknowledged() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let cmp = app.live_campaign(&c, json!({})).await;
        let (_, partner) = app.partner("P").await;
        let path = format!("/v1/campaigns/{cmp}");
        // Read twice so the second answer can come from memory.
        app.get(&path, None).await.ok();
        assert_eq!(app.get(&path, None).await.ok()["raised"], "0.00");
        for (n, raised) in ["5.00", "10.00", "15.00"].iter().enumerate() {
            let p = app
                .pledge(&partner, &cmp, "5.00", &format!("d{n}@example.org"))
                .await;
            let res = app
                .post(
                    &format!("/v1/simulated/payments/{}", pi(&p)),
                    Some(&partner),
                    json!({"outcome": "succeed"}),
                )
                .await;
            assert_eq!(res.ok()["status"], "confirmed");
            let public = app.get(&path, None).await.ok().clone();
            assert_eq!(public["raised"], *raised);
            assert_eq!(public["donors"], n + 1);
            assert_eq!(app.campaign_view(&cmp).await["raised"], *raised);
        }
        // The city cancels: the public loses sight of it at once.
        let admin = app.admin().await;
        app.post_empty(&format!("/v1/campaigns/{cmp}/cancel"), Some(&admin))
            .await
            .ok();
        assert_eq!(app.get(&path, None).await.status, 404);
        assert_eq!(app.campaign_view(&cmp).await["status"], "cancelled");
    })
    .await;
}
