//! Calls for proposals: a call with windows and criteria, a commission that declares and
//! scores, a ranking computed by hand and published, an appeal upheld and republished as a new
//! version, *scorrimento* after an admitted application drops out — and the bad paths, which
//! change nothing.

use crate::helpers::*;
use crate::pages::Browser;
use serde_json::{Value, json};

const CRITERIA: [&str; 2] = ["quality", "impact"];

fn call_body() -> Value {
    json!({
        "windows": [
            {"opens_at": rfc3339(chrono::Duration::days(-1)), "closes_at": rfc3339(chrono::Duration::days(1))},
            {"opens_at": rfc3339(chrono::Duration::days(20)), "closes_at": rfc3339(chrono::Duration::days(30))}
        ],
        "criteria": [
            {"code": "quality", "label": "Qualità del progetto", "max_points": 50},
            {"code": "impact", "label": "Impatto sociale", "max_points": 50}
        ],
        "pass_mark": "60",
        "evaluators_per_application": 2
    })
}

fn cost_plan() -> Value {
    json!([
        {"category": "personnel", "description": "Educatori", "amount": "30000.00"},
        {"category": "goods", "description": "Materiali didattici", "amount": "10000.00"}
    ])
}

/// A reviewer account; returns (user id, token).
async fn reviewer(app: &TestApp, name: &str) -> (String, String) {
    let admin = app.admin().await;
    let password = format!("{name}-password-123");
    let res = app
        .post(
            "/v1/users",
            Some(&admin),
            json!({"username": name, "password": password, "role": "reviewer", "email": format!("{name}@comune.example")}),
        )
        .await;
    let id = res.ok()["id"].as_str().unwrap().to_string();
    (id, app.login(name, &password).await)
}

/// An application: a draft with a cost plan, submitted.
async fn apply(app: &TestApp, c: &City, member: &str, title: &str) -> String {
    let id = app
        .campaign(
            member,
            &c.fund,
            json!({"title": title, "cost_plan": cost_plan()}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let res = app
        .post_empty(&format!("/v1/campaigns/{id}/submit"), Some(member))
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    id
}

async fn assign(app: &TestApp, campaign: &str, users: &[&str]) -> Response {
    let admin = app.admin().await;
    app.post(
        &format!("/v1/campaigns/{campaign}/evaluators"),
        Some(&admin),
        json!({"user_ids": users}),
    )
    .await
}

async fn declare(app: &TestApp, token: &str, campaign: &str, conflict: bool) -> Response {
    app.post(
        &format!("/v1/campaigns/{campaign}/declaration"),
        Some(token),
        json!({"conflict": conflict}),
    )
    .await
}

async fn score(app: &TestApp, token: &str, campaign: &str, points: [i64; 2]) -> Response {
    app.put(
        &format!("/v1/campaigns/{campaign}/scores"),
        Some(token),
        json!({"scores": [
            {"criterion": CRITERIA[0], "points": points[0], "comment": "ok"},
            {"criterion": CRITERIA[1], "points": points[1]}
        ]}),
    )
    .await
}

fn line<'a>(ranking: &'a Value, campaign: &str) -> &'a Value {
    ranking["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["campaign_id"] == campaign)
        .unwrap_or_else(|| panic!("{campaign} in {ranking}"))
}

fn summary(ranking: &Value, ids: &[(&str, &str)]) -> Vec<(String, String, i64, String)> {
    ranking["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let name = ids
                .iter()
                .find(|(_, id)| l["campaign_id"] == *id)
                .map(|(n, _)| n.to_string())
                .unwrap();
            (
                name,
                l["score"].as_str().unwrap().to_string(),
                l["rank"].as_i64().unwrap(),
                l["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn row(name: &str, score: &str, rank: i64, outcome: &str) -> (String, String, i64, String) {
    (name.into(), score.into(), rank, outcome.into())
}

#[actix_web::test]
async fn a_call_ranked_by_hand_published_appealed_and_scrolled() {
    each_backend(|app| async move {
        // Budget 50,000.00; each goal 40,000.00 gets at most a 20,000.00 top-up: two fit.
        let c = city(&app, json!({"budget": "50000.00"})).await;
        let admin = app.admin().await;
        let res = app
            .put(
                &format!("/v1/funds/{}/call", c.fund),
                Some(&admin),
                call_body(),
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.body);
        assert_eq!(res.body["windows"][1]["number"], 2);
        assert_eq!(res.body["max_score"], 100);
        // The call is public.
        let public = app.get(&format!("/v1/funds/{}/call", c.fund), None).await;
        assert_eq!(public.ok()["criteria"][0]["code"], "quality");

        // A submission without a cost plan is not an application.
        let bare = app.campaign(&c.member_a, &c.fund, json!({})).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        app.post_empty(&format!("/v1/campaigns/{bare}/submit"), Some(&c.member_a))
            .await
            .assert_problem(422, "validation_failed");
        assert_eq!(app.campaign_view(&bare).await["status"], "draft");

        let a = apply(&app, &c, &c.member_a, "A").await;
        let b = apply(&app, &c, &c.member_a, "B").await;
        let cc = apply(&app, &c, &c.member_b, "C").await;
        let d = apply(&app, &c, &c.member_b, "D").await;
        let names = [
            ("A", a.as_str()),
            ("B", b.as_str()),
            ("C", cc.as_str()),
            ("D", d.as_str()),
        ];
        // The cost plan is public with the campaign.
        assert_eq!(
            app.campaign_view(&a).await["cost_plan"][0]["amount"],
            "30000.00"
        );
        // A reviewer cannot approve an application one by one: the ranking decides.
        let (r1, t1) = reviewer(&app, "valutatore-uno").await;
        let (r2, t2) = reviewer(&app, "valutatore-due").await;
        let (r3, t3) = reviewer(&app, "valutatore-tre").await;
        app.post_empty(&format!("/v1/campaigns/{a}/approve"), Some(&t1))
            .await
            .assert_problem(409, "decided_by_ranking");

        for id in [&a, &b, &cc, &d] {
            assert_eq!(assign(&app, id, &[&r1, &r2]).await.status, 200);
        }
        // Only reviewers evaluate.
        let finance = app.staff("finance").await;
        let me = app.get("/v1/users/me", Some(&finance)).await.ok()["sub"]
            .as_str()
            .unwrap()
            .to_string();
        let bad = assign(&app, &a, &[&r1, &me]).await;
        bad.assert_problem(422, "validation_failed");
        assert_eq!(bad.error_fields(), vec!["user_ids[1]"]);

        // Only the admin names evaluators; associations read no scores; nothing written.
        app.post(
            &format!("/v1/campaigns/{a}/evaluators"),
            Some(&t1),
            json!({"user_ids": [&r1]}),
        )
        .await
        .assert_problem(403, "forbidden");
        app.get(&format!("/v1/campaigns/{a}/scores"), Some(&c.member_a))
            .await
            .assert_problem(403, "forbidden");
        // Scoring before declaring, unassigned, over the maximum, a criterion twice.
        score(&app, &t1, &a, [40, 30])
            .await
            .assert_problem(409, "declaration_missing");
        score(&app, &t3, &a, [40, 30])
            .await
            .assert_problem(403, "forbidden");
        for id in [&a, &b, &cc] {
            for t in [&t1, &t2] {
                assert_eq!(declare(&app, t, id, false).await.status, 200);
            }
        }
        declare(&app, &t1, &a, true)
            .await
            .assert_problem(409, "already_declared");
        score(&app, &t1, &a, [51, 30])
            .await
            .assert_problem(422, "validation_failed");
        let twice = app
            .put(
                &format!("/v1/campaigns/{a}/scores"),
                Some(&t1),
                json!({"scores": [
                    {"criterion": "quality", "points": 10},
                    {"criterion": "quality", "points": 20},
                    {"criterion": "impact", "points": 20}
                ]}),
            )
            .await;
        twice.assert_problem(422, "validation_failed");
        assert_eq!(
            app.get(&format!("/v1/campaigns/{a}/scores"), Some(&t1))
                .await
                .ok()["data"],
            json!([])
        );

        // D: the first evaluator declares a conflict, cannot score, and is replaced.
        assert_eq!(declare(&app, &t1, &d, true).await.ok()["conflict"], true);
        score(&app, &t1, &d, [50, 50])
            .await
            .assert_problem(403, "forbidden");
        assert_eq!(declare(&app, &t2, &d, false).await.status, 200);
        assert_eq!(assign(&app, &d, &[&r2, &r3]).await.status, 200);
        assert_eq!(declare(&app, &t3, &d, false).await.status, 200);

        for (id, s1, s2) in [
            (&a, [40, 30], [35, 30]),  // 70, 65 → 67.50
            (&b, [30, 35], [36, 34]),  // 65, 70 → 67.50
            (&cc, [33, 34], [34, 34]), // 67, 68 → 67.50
        ] {
            assert_eq!(score(&app, &t1, id, s1).await.status, 200);
            assert_eq!(score(&app, &t2, id, s2).await.status, 200);
        }
        assert_eq!(score(&app, &t2, &d, [30, 29]).await.status, 200); // 59

        // Publishing with a score missing changes nothing.
        let publish = |window: i64| {
            let app = &app;
            let admin = admin.clone();
            let fund = c.fund.clone();
            async move {
                app.post(
                    &format!("/v1/funds/{fund}/ranking/publish"),
                    Some(&admin),
                    json!({"window": window}),
                )
                .await
            }
        };
        publish(1).await.assert_problem(409, "scores_missing");
        app.get(&format!("/v1/funds/{}/ranking", c.fund), None)
            .await
            .assert_problem(404, "not_found");
        assert_eq!(score(&app, &t3, &d, [30, 30]).await.status, 200); // 60 → 59.50

        // A reviewer reads only their own sheet before publication.
        let mine = app
            .get(&format!("/v1/campaigns/{a}/scores"), Some(&t2))
            .await;
        assert_eq!(mine.ok()["data"].as_array().unwrap().len(), 1);
        assert_eq!(mine.body["data"][0]["user_id"], r2.as_str());

        // The draft, as the city sees it, then the publication.
        let draft = app
            .get(&format!("/v1/funds/{}/ranking?window=1", c.fund), Some(&t1))
            .await;
        assert_eq!(draft.ok()["version"], Value::Null);
        let v1 = publish(1).await;
        assert_eq!(v1.status, 200, "{}", v1.body);
        assert_eq!(
            summary(&v1.body, &names),
            vec![
                row("A", "67.50", 1, "admitted"),
                row("B", "67.50", 2, "admitted"),
                row("C", "67.50", 3, "eligible_not_funded"),
                row("D", "59.50", 4, "below_pass_mark"),
            ]
        );
        assert_eq!(line(&v1.body, &a)["criteria"]["quality"], "37.50");
        assert_eq!(v1.body["version"], 1);
        assert_eq!(
            v1.body["evaluators"],
            json!(["valutatore-due", "valutatore-tre", "valutatore-uno"])
        );
        assert_eq!(app.campaign_view(&a).await["status"], "approved");
        assert_eq!(app.campaign_view(&b).await["status"], "approved");
        let c_view = app
            .get(&format!("/v1/campaigns/{cc}"), Some(&c.member_b))
            .await;
        assert_eq!(c_view.ok()["status"], "rejected");
        assert_eq!(c_view.body["rejection_reason"], "eligible_not_funded");

        // Published: public, as CSV too; scores frozen; no second publication.
        let public = app
            .get(&format!("/v1/funds/{}/ranking", c.fund), None)
            .await;
        assert_eq!(public.ok()["data"][0]["campaign_id"], a.as_str());
        let csv = app
            .send(
                app.client
                    .get(app.url(&format!("/v1/funds/{}/ranking?window=1", c.fund)))
                    .header("Accept", "text/csv"),
            )
            .await;
        let text = csv.body.as_str().unwrap().to_string();
        assert!(
            text.starts_with("rank,campaign_id,title,association_id,score,outcome"),
            "{text}"
        );
        assert!(text.contains(",59.50,below_pass_mark,"), "{text}");
        score(&app, &t1, &a, [50, 50])
            .await
            .assert_problem(409, "scores_frozen");
        publish(1).await.assert_problem(409, "already_published");

        // An appeal: not by another association; upheld; D scored again; a new version.
        let appeal_path = format!("/v1/campaigns/{d}/appeal");
        app.post(
            &appeal_path,
            Some(&c.member_a),
            json!({"text": "Non è nostro"}),
        )
        .await
        .assert_problem(403, "forbidden");
        let appeal = app
            .post(
                &appeal_path,
                Some(&c.member_b),
                json!({"text": "Il punteggio sull'impatto ignora il partenariato."}),
            )
            .await;
        assert_eq!(appeal.status, 201, "{}", appeal.body);
        let appeal_id = appeal.body["id"].as_str().unwrap().to_string();
        app.post(&appeal_path, Some(&c.member_b), json!({"text": "again"}))
            .await
            .assert_problem(409, "appeal_pending");
        // Only the admin decides, and only once; nothing changes on a refusal.
        let decide_path = format!("/v1/appeals/{appeal_id}/decide");
        let ruling =
            json!({"outcome": "upheld", "reason": "Il partenariato non era stato considerato."});
        app.post(&decide_path, Some(&t1), ruling.clone())
            .await
            .assert_problem(403, "forbidden");
        app.post(&decide_path, Some(&c.member_b), ruling.clone())
            .await
            .assert_problem(403, "forbidden");
        app.post(
            &decide_path,
            Some(&admin),
            json!({"outcome": "maybe", "reason": "x"}),
        )
        .await
        .assert_problem(422, "validation_failed");
        score(&app, &t3, &d, [40, 40])
            .await
            .assert_problem(409, "scores_frozen");
        let decided = app.post(&decide_path, Some(&admin), ruling.clone()).await;
        assert_eq!(decided.ok()["status"], "upheld");
        app.post(&decide_path, Some(&admin), ruling)
            .await
            .assert_problem(409, "appeal_decided");
        let listed = app
            .get("/v1/appeals?status=upheld", Some(&c.member_a))
            .await;
        assert_eq!(
            listed.ok()["data"],
            json!([]),
            "another association's appeal is not listed"
        );
        assert_eq!(score(&app, &t3, &d, [40, 40]).await.status, 200); // 80 → 69.50
        let v2 = publish(1).await;
        assert_eq!(v2.status, 200, "{}", v2.body);
        assert_eq!(v2.body["version"], 2);
        // A and B keep their admission: D now leads but 10,000.00 is left for a 20,000.00 top-up.
        assert_eq!(
            summary(&v2.body, &names),
            vec![
                row("D", "69.50", 1, "eligible_not_funded"),
                row("A", "67.50", 2, "admitted"),
                row("B", "67.50", 3, "admitted"),
                row("C", "67.50", 4, "eligible_not_funded"),
            ]
        );
        let old = app
            .get(
                &format!("/v1/funds/{}/ranking?window=1&version=1", c.fund),
                None,
            )
            .await;
        assert_eq!(line(old.ok(), &d)["outcome"], "below_pass_mark");

        // Nothing fits yet; then B drops out before going live and D, next in rank, is admitted.
        let advance = || {
            let app = &app;
            let admin = admin.clone();
            let fund = c.fund.clone();
            async move {
                app.post(
                    &format!("/v1/funds/{fund}/ranking/advance"),
                    Some(&admin),
                    json!({"window": 1}),
                )
                .await
            }
        };
        advance().await.assert_problem(409, "nothing_fits");
        let cancelled = app
            .post_empty(&format!("/v1/campaigns/{b}/cancel"), Some(&admin))
            .await;
        assert_eq!(cancelled.ok()["status"], "cancelled");
        let v3 = advance().await;
        assert_eq!(v3.status, 200, "{}", v3.body);
        assert_eq!(v3.body["version"], 3);
        assert_eq!(line(&v3.body, &d)["outcome"], "admitted");
        assert_eq!(line(&v3.body, &cc)["outcome"], "eligible_not_funded");
        assert_eq!(app.campaign_view(&d).await["status"], "approved");
        app.assert_reconciled().await;

        // An admitted applicant may appeal its rank too: upheld, republished once, admission kept.
        let own = app
            .post(
                &format!("/v1/campaigns/{a}/appeal"),
                Some(&c.member_a),
                json!({"text": "Il rango"}),
            )
            .await;
        assert_eq!(own.status, 201, "{}", own.body);
        let decided = app
            .post(
                &format!("/v1/appeals/{}/decide", own.body["id"].as_str().unwrap()),
                Some(&admin),
                json!({"outcome": "upheld", "reason": "Riesame"}),
            )
            .await;
        assert_eq!(decided.status, 200, "{}", decided.body);
        let v4 = publish(1).await;
        assert_eq!(v4.status, 200, "{}", v4.body);
        assert_eq!(line(&v4.body, &a)["outcome"], "admitted");
        publish(1).await.assert_problem(409, "already_published");
        score(&app, &t1, &a, [1, 1])
            .await
            .assert_problem(409, "scores_frozen");

        // Every step is in the audit trail.
        for wanted in [
            "call.set",
            "application.declare",
            "application.score",
            "ranking.publish",
            "ranking.advance",
            "appeal.uphold",
            "campaign.admit",
        ] {
            let trail = app
                .get(&format!("/v1/audit?action={wanted}"), Some(&admin))
                .await;
            assert!(
                !trail.ok()["data"].as_array().unwrap().is_empty(),
                "{wanted} audited"
            );
        }

        // Outside every window, no submission; after 30 days, no appeal.
        app.advance_clock(chrono::Duration::days(2));
        let late = app
            .campaign(
                &c.member_a,
                &c.fund,
                json!({"title": "Late", "cost_plan": cost_plan()}),
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_string();
        app.post_empty(&format!("/v1/campaigns/{late}/submit"), Some(&c.member_a))
            .await
            .assert_problem(409, "outside_window");
        app.advance_clock(chrono::Duration::days(30));
        app.post(
            &format!("/v1/campaigns/{cc}/appeal"),
            Some(&c.member_b),
            json!({"text": "Tardi"}),
        )
        .await
        .assert_problem(409, "appeal_too_late");
    })
    .await;
}

#[actix_web::test]
async fn bad_calls_and_bad_scores_change_nothing() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let admin = app.admin().await;
        let path = format!("/v1/funds/{}/call", c.fund);
        let mut bad = call_body();
        bad["windows"][0]["closes_at"] = bad["windows"][0]["opens_at"].clone();
        bad["criteria"][1]["code"] = json!("quality");
        bad["pass_mark"] = json!("101");
        let res = app.put(&path, Some(&admin), bad).await;
        res.assert_problem(422, "validation_failed");
        let fields = res.error_fields();
        for f in ["windows[0].closes_at", "criteria[1].code", "pass_mark"] {
            assert!(fields.contains(&f.to_string()), "{f} in {fields:?}");
        }
        app.put(&path, Some(&c.member_a), call_body())
            .await
            .assert_problem(403, "forbidden");
        app.get(&path, None).await.assert_problem(404, "not_found");
        assert_eq!(app.count("calls").await, 0);

        assert_eq!(app.put(&path, Some(&admin), call_body()).await.status, 200);
        let a = apply(&app, &c, &c.member_a, "A").await;
        // The call's criteria stay once applications exist; a window may be added.
        let mut changed = call_body();
        changed["criteria"][0]["max_points"] = json!(40);
        app.put(&path, Some(&admin), changed)
            .await
            .assert_problem(409, "call_in_use");
        // Closing window 1 before A came in is refused; closing it early (in an hour) with
        // window 2 opening then is not: A stays in window 1, the next application goes to 2.
        let mut moved = call_body();
        moved["windows"][0]["closes_at"] = json!(rfc3339(chrono::Duration::hours(-23)));
        app.put(&path, Some(&admin), moved.clone())
            .await
            .assert_problem(409, "call_in_use");
        let switch = rfc3339(chrono::Duration::hours(1));
        moved["windows"][0]["closes_at"] = json!(switch);
        moved["windows"][1] = json!({"opens_at": switch, "closes_at": rfc3339(chrono::Duration::days(3))});
        assert_eq!(app.put(&path, Some(&admin), moved).await.status, 200);
        app.advance_clock(chrono::Duration::hours(2));
        let next = apply(&app, &c, &c.member_b, "B").await;
        let w2 = app
            .get(&format!("/v1/funds/{}/ranking?window=2", c.fund), Some(&admin))
            .await;
        w2.assert_problem(409, "scores_missing");
        let detail = w2.body["detail"].as_str().unwrap();
        assert!(detail.contains(&next) && !detail.contains(&a), "{detail}");
        let (r1, t1) = reviewer(&app, "valutatore-uno").await;
        assert_eq!(assign(&app, &a, &[&r1]).await.status, 200);
        assert_eq!(declare(&app, &t1, &a, false).await.status, 200);
        let nul = app
            .put(
                &format!("/v1/campaigns/{a}/scores"),
                Some(&t1),
                json!({"scores": [
                    {"criterion": "quality", "points": 10, "comment": "a\u{0}b"},
                    {"criterion": "impact", "points": 10}
                ]}),
            )
            .await;
        nul.assert_problem(422, "invalid_text");
        let unknown = app
            .put(
                &format!("/v1/campaigns/{a}/scores"),
                Some(&t1),
                json!({"scores": [{"criterion": "beauty", "points": 1}, {"criterion": "impact", "points": 1.234}]}),
            )
            .await;
        unknown.assert_problem(422, "validation_failed");
        assert_eq!(app.count("scores").await, 0);
        // Points may be sent as decimal strings too. Publishing needs the evaluators the call
        // asks for (two).
        let as_text = app
            .put(
                &format!("/v1/campaigns/{a}/scores"),
                Some(&t1),
                json!({"scores": [{"criterion": "quality", "points": "10.5"}, {"criterion": "impact", "points": "10"}]}),
            )
            .await;
        assert_eq!(as_text.ok()["scores"][0]["points"], "10.5", "{}", as_text.body);
        app.post(
            &format!("/v1/funds/{}/ranking/publish", c.fund),
            Some(&admin),
            json!({"window": 1}),
        )
        .await
        .assert_problem(409, "scores_missing");
        app.post(
            &format!("/v1/funds/{}/ranking/advance", c.fund),
            Some(&admin),
            json!({"window": 1}),
        )
        .await
        .assert_problem(409, "not_published");
        assert_eq!(app.count("rankings").await, 0);
        let own = app.get(&format!("/v1/campaigns/{a}"), Some(&c.member_a)).await;
        assert_eq!(own.ok()["status"], "submitted");
    })
    .await;
}

/// Publications and scores race: exactly one publication wins, a score accepted before it is
/// the one published, and every score after it is refused.
#[actix_web::test]
async fn one_publication_wins_and_later_scores_are_refused() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let admin = app.admin().await;
        let mut body = call_body();
        body["evaluators_per_application"] = json!(1);
        assert_eq!(
            app.put(&format!("/v1/funds/{}/call", c.fund), Some(&admin), body)
                .await
                .status,
            200
        );
        let a = apply(&app, &c, &c.member_a, "A").await;
        let (r1, t1) = reviewer(&app, "valutatore-uno").await;
        assert_eq!(assign(&app, &a, &[&r1]).await.status, 200);
        assert_eq!(declare(&app, &t1, &a, false).await.status, 200);
        assert_eq!(score(&app, &t1, &a, [10, 10]).await.status, 200);

        let mut tasks = Vec::new();
        for i in 0..12i64 {
            let app = &app;
            let (admin, t1, a, fund) = (admin.clone(), t1.clone(), a.clone(), c.fund.clone());
            tasks.push(async move {
                if i % 3 == 0 {
                    let r = app
                        .post(
                            &format!("/v1/funds/{fund}/ranking/publish"),
                            Some(&admin),
                            json!({"window": 1}),
                        )
                        .await;
                    ("publish", r.status.as_u16(), r.body)
                } else {
                    let r = score(app, &t1, &a, [20 + i, 30 + i]).await;
                    ("score", r.status.as_u16(), r.body)
                }
            });
        }
        let results = futures_util::future::join_all(tasks).await;
        let published: Vec<_> = results
            .iter()
            .filter(|(k, s, _)| *k == "publish" && *s == 200)
            .collect();
        assert_eq!(published.len(), 1, "{results:?}");
        for (kind, status, body) in &results {
            match (*kind, *status) {
                ("publish", 409) => assert_eq!(body["code"], "already_published"),
                ("score", 409) => assert_eq!(body["code"], "scores_frozen"),
                (_, 200) => {}
                other => panic!("{other:?}: {body}"),
            }
        }
        // What was published is what the evaluator's sheet holds now.
        let sheet = app
            .get(&format!("/v1/campaigns/{a}/scores"), Some(&admin))
            .await;
        let total: i64 = sheet.ok()["data"][0]["scores"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["points"].as_str().unwrap().parse::<i64>().unwrap())
            .sum();
        let ranking = &published[0].2;
        assert_eq!(ranking["data"][0]["score"], format!("{total}.00"));
        score(&app, &t1, &a, [1, 1])
            .await
            .assert_problem(409, "scores_frozen");
        assert_eq!(app.count("rankings").await, 1);
    })
    .await;
}

/// The console as each role uses it without JavaScript: an evaluator sees only their own
/// assignment, declares and scores with its forms; the admin publishes; the public page shows
/// the call and the published ranking; the association appeals from its list.
#[actix_web::test]
async fn the_call_in_the_console_and_on_its_public_page() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let admin = app.admin().await;
        let mut body = call_body();
        body["evaluators_per_application"] = json!(1);
        assert_eq!(
            app.put(&format!("/v1/funds/{}/call", c.fund), Some(&admin), body)
                .await
                .status,
            200
        );
        let a = apply(&app, &c, &c.member_a, "Orti condivisi").await;
        let other = apply(&app, &c, &c.member_b, "Biblioteca di strada").await;
        let (r1, _) = reviewer(&app, "valutatore-uno").await;
        let (r2, _) = reviewer(&app, "valutatore-due").await;
        assert_eq!(assign(&app, &a, &[&r1]).await.status, 200);
        assert_eq!(assign(&app, &other, &[&r2]).await.status, 200);

        let ev = Browser::new(&app);
        ev.sign_in("valutatore-uno", "valutatore-uno-password-123")
            .await;
        // The evaluator's console opens on their one assignment (not the other evaluator's).
        let queue = ev.get("/console?lang=en").await.body;
        assert!(queue.contains("One application to score"), "{queue}");
        let page = ev.get("/console/calls?lang=en").await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("Orti condivisi"));
        assert!(
            !page.body.contains("Biblioteca di strada"),
            "another evaluator's assignment"
        );
        let csrf = ev.csrf("/console/calls").await;
        let declared = ev
            .post(
                &format!("/console/calls/{a}/declaration"),
                &[("csrf_token", &csrf), ("conflict", "no")],
            )
            .await;
        assert_eq!(declared.status, 303, "{}", declared.body);
        let refused = ev
            .post(
                &format!("/console/calls/{a}/scores"),
                &[
                    ("csrf_token", &csrf),
                    ("points_quality", "70"),
                    ("points_impact", "20"),
                ],
            )
            .await;
        assert_eq!(refused.status, 422, "over the maximum: {}", refused.body);
        let scored = ev
            .post(
                &format!("/console/calls/{a}/scores"),
                &[
                    ("csrf_token", &csrf),
                    ("points_quality", "40,5"),
                    ("points_impact", "30"),
                    ("comment_impact", "Buona rete"),
                ],
            )
            .await;
        assert_eq!(scored.status, 303, "{}", scored.body);
        let queue = ev.get("/console?lang=en").await.body;
        assert!(queue.contains("0 applications to score"), "{queue}");
        // The other evaluator's form on an application not theirs is refused.
        let not_mine = ev
            .post(
                &format!("/console/calls/{other}/declaration"),
                &[("csrf_token", &csrf), ("conflict", "no")],
            )
            .await;
        assert_eq!(not_mine.status, 403);

        let t2 = app
            .login("valutatore-due", "valutatore-due-password-123")
            .await;
        assert_eq!(declare(&app, &t2, &other, false).await.status, 200);
        assert_eq!(score(&app, &t2, &other, [10, 10]).await.status, 200);

        let ad = Browser::new(&app);
        ad.sign_in("admin", crate::helpers::ADMIN_PASSWORD).await;
        let overview = ad
            .get(&format!("/console/calls?fund_id={}&lang=en", c.fund))
            .await;
        assert_eq!(overview.status, 200, "{}", overview.body);
        assert!(
            overview
                .body
                .contains("valutatore-uno — no conflict of interest, scored")
        );
        let csrf = ad.csrf("/console/calls").await;
        let published = ad
            .post(
                &format!("/console/calls/funds/{}/publish", c.fund),
                &[("csrf_token", &csrf), ("window", "1")],
            )
            .await;
        assert_eq!(published.status, 303, "{}", published.body);

        let public = Browser::new(&app)
            .get(&format!("/calls/{}?lang=en", c.fund))
            .await;
        assert_eq!(public.status, 200);
        assert!(public.body.contains("Qualità del progetto"));
        assert!(public.body.contains("70.50"), "{}", public.body);
        assert!(public.body.contains("Below the pass mark"));
        assert!(public.body.contains("valutatore-uno"));
        assert!(
            !public.body.contains("Buona rete"),
            "comments are not published"
        );

        let asso = Browser::new(&app);
        asso.sign_in("member-123456", "member-password-1").await;
        let own = asso.get("/console/calls?lang=en").await;
        assert!(
            own.body.contains("Orti condivisi") && own.body.contains("Admitted"),
            "{}",
            own.body
        );
        let b = Browser::new(&app);
        b.sign_in("member-007431", "member-password-1").await;
        let csrf = b.csrf("/console/calls").await;
        let appealed = b
            .post(
                &format!("/console/calls/{other}/appeal"),
                &[("csrf_token", &csrf), ("text", "Rivedete l'impatto")],
            )
            .await;
        assert_eq!(appealed.status, 303, "{}", appealed.body);
        let wrong = b
            .post(
                &format!("/console/calls/{a}/appeal"),
                &[("csrf_token", &csrf), ("text", "Non nostra")],
            )
            .await;
        assert_eq!(wrong.status, 403);
        assert_eq!(app.count("appeals").await, 1);
    })
    .await;
}
