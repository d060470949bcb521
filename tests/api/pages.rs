//! The pages through a real server, as a browser without JavaScript uses them: sessions,
//! CSRF, object checks (BOLA), errors as pages, the reference checkout. (Chromium walks the
//! whole demo in `tests/browser/`, run by `.ci/browser`.)

use crate::helpers::*;
use serde_json::json;

/// A cookie-keeping client that does not follow redirects.
pub(crate) struct Browser<'a> {
    pub(crate) app: &'a TestApp,
    pub(crate) client: reqwest::Client,
    cookie: std::sync::Mutex<Option<String>>,
}

pub(crate) struct Page {
    pub(crate) status: u16,
    pub(crate) location: Option<String>,
    pub(crate) content_type: String,
    pub(crate) csp: Option<String>,
    pub(crate) body: String,
}

impl<'a> Browser<'a> {
    pub(crate) fn new(app: &'a TestApp) -> Browser<'a> {
        Browser {
            app,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookie: std::sync::Mutex::new(None),
        }
    }

    pub(crate) async fn send(&self, req: reqwest::RequestBuilder) -> Page {
        let cookie = self.cookie.lock().unwrap().clone();
        let req = match cookie {
            Some(c) => req.header("Cookie", c),
            None => req,
        };
        let res = req.send().await.unwrap();
        if let Some(set) = res.headers().get("set-cookie") {
            let pair = set.to_str().unwrap().split(';').next().unwrap().to_string();
            *self.cookie.lock().unwrap() = Some(pair);
        }
        let header = |name: &str| {
            res.headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_string())
        };
        Page {
            status: res.status().as_u16(),
            location: header("location"),
            content_type: header("content-type").unwrap_or_default(),
            csp: header("content-security-policy"),
            body: res.text().await.unwrap(),
        }
    }

    pub(crate) async fn get(&self, path: &str) -> Page {
        self.send(self.client.get(self.app.url(path))).await
    }

    pub(crate) async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send(self.client.post(self.app.url(path)).form(form))
            .await
    }

    /// The CSRF token of the page at `path`.
    pub(crate) async fn csrf(&self, path: &str) -> String {
        let page = self.get(path).await;
        page.body
            .split("name=\"csrf_token\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("a form with a CSRF token")
            .to_string()
    }

    pub(crate) async fn sign_in(&self, username: &str, password: &str) {
        let csrf = self.csrf("/login").await;
        let res = self
            .post(
                "/login",
                &[
                    ("csrf_token", &csrf),
                    ("username", username),
                    ("password", password),
                ],
            )
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
        assert_eq!(res.location.as_deref(), Some("/console"));
    }
}

#[actix_web::test]
async fn public_pages_render_in_both_languages_with_a_strict_policy_and_nothing_from_elsewhere() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let cmp = app
            .live_campaign(&c, json!({"title": "Orti <b>condivisi</b>"}))
            .await;
        let b = Browser::new(&app);
        for path in [
            "/".to_string(),
            format!("/campaigns/{cmp}"),
            "/areas".to_string(),
            "/transparency".to_string(),
            "/login".to_string(),
            format!("/campaigns/{cmp}/donate"),
        ] {
            let page = b.get(&path).await;
            assert_eq!(page.status, 200, "{path}: {}", page.body);
            assert!(page.content_type.starts_with("text/html"), "{path}");
            let csp = page.csp.unwrap_or_default();
            assert!(
                csp.contains("default-src 'none'") && !csp.contains("script-src"),
                "{path}"
            );
            assert!(!page.body.contains("<script"), "{path} runs no script");
            for attr in ["src=\"http", "href=\"http", "src=\"//", "href=\"//"] {
                assert!(!page.body.contains(attr), "{path} loads from another host");
            }
            assert!(page.body.contains("<html lang=\"it\">"));
        }
        let home = b.get("/").await;
        // Titles are escaped, never markup.
        assert!(
            home.body.contains("Orti &#60;b&#62;condivisi&#60;/b&#62;")
                || home.body.contains("Orti &lt;b&gt;condivisi&lt;/b&gt;")
        );
        assert!(home.body.contains("Campagne attive"));
        let en = b.get("/?lang=en").await;
        assert!(en.body.contains("<html lang=\"en\">") && en.body.contains("Live campaigns"));
        // The choice sticks for the session.
        assert!(b.get("/areas").await.body.contains("Target areas"));
        let map = b.get("/areas").await;
        assert!(
            map.body.contains("<svg class=\"map\"")
                && map.body.contains(&format!("/campaigns/{cmp}"))
        );

        // Errors are pages too.
        let missing = b
            .get("/campaigns/cmp_00000000000000000000000000000000")
            .await;
        assert_eq!(missing.status, 404);
        assert!(missing.content_type.starts_with("text/html"));
        let nowhere = b
            .send(
                b.client
                    .get(app.url("/no/such/page"))
                    .header("Accept", "text/html"),
            )
            .await;
        assert_eq!(nowhere.status, 404);
        assert!(nowhere.content_type.starts_with("text/html"));
        // The icon every browser asks for, and the one the pages name.
        let ico = app
            .client
            .get(app.url("/favicon.ico"))
            .send()
            .await
            .unwrap();
        assert_eq!(ico.status(), 200);
        assert_eq!(ico.headers()["content-type"], "image/x-icon");
        let bytes = ico.bytes().await.unwrap();
        assert_eq!(&bytes[..4], &[0, 0, 1, 0], "an ICO file");
        assert!(
            home.body
                .contains(r#"<link rel="icon" href="/static/favicon.svg""#)
        );
        let svg = b.get("/static/favicon.svg").await;
        assert_eq!(
            (svg.status, svg.content_type.as_str()),
            (200, "image/svg+xml")
        );
        // The API keeps answering problem+json.
        let api = app.get("/v1/no-such-route", None).await;
        assert_eq!(api.status, 404);
        assert!(api.content_type.starts_with("application/problem+json"));
    })
    .await;
}

#[actix_web::test]
async fn forms_without_the_session_csrf_token_are_refused_and_change_nothing() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let draft = app.campaign(&c.member_a, &c.fund, json!({})).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let b = Browser::new(&app);
        // No token, or another session's token: refused.
        let other = Browser::new(&app);
        let foreign = other.csrf("/login").await;
        for token in ["", foreign.as_str()] {
            b.csrf("/login").await;
            let res = b
                .post(
                    "/login",
                    &[
                        ("csrf_token", token),
                        ("username", "member-123456"),
                        ("password", "member-password-1"),
                    ],
                )
                .await;
            assert_eq!(res.status, 403, "{}", res.body);
            assert!(res.content_type.starts_with("text/html"));
        }
        assert_eq!(b.get("/console").await.status, 303, "still signed out");
        b.sign_in("member-123456", "member-password-1").await;
        let res = b
            .post(
                &format!("/console/campaigns/{draft}/submit"),
                &[("csrf_token", "forged")],
            )
            .await;
        assert_eq!(res.status, 403);
        assert_eq!(app.campaign_view(&draft).await["status"], "draft");
        // With the session's token it works.
        let csrf = b.csrf("/console").await;
        let res = b
            .post(
                &format!("/console/campaigns/{draft}/submit"),
                &[("csrf_token", &csrf)],
            )
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
        assert_eq!(app.campaign_view(&draft).await["status"], "submitted");
        // Wrong password: the form again, 401, no session.
        let stranger = Browser::new(&app);
        let csrf = stranger.csrf("/login").await;
        let res = stranger
            .post(
                "/login",
                &[
                    ("csrf_token", &csrf),
                    ("username", "member-123456"),
                    ("password", "nope"),
                ],
            )
            .await;
        assert_eq!(res.status, 401);
        assert_eq!(stranger.get("/console").await.status, 303);
    })
    .await;
}

#[actix_web::test]
async fn an_association_never_sees_or_moves_another_associations_campaign_through_a_page() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let a_draft = app
            .campaign(&c.member_a, &c.fund, json!({"title": "Segreto di A"}))
            .await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let b = Browser::new(&app);
        b.sign_in("member-007431", "member-password-1").await;
        // Association B (tax code 00743110157) signed in.
        let page = b.get(&format!("/campaigns/{a_draft}")).await;
        assert_eq!(page.status, 404);
        for section in [
            "/console",
            "/console/campaigns",
            "/console/campaigns?status=draft",
        ] {
            let console = b.get(section).await;
            assert_eq!(console.status, 200);
            assert!(!console.body.contains("Segreto di A"));
        }
        let csrf = b.csrf("/console").await;
        for action in ["submit", "approve", "reject"] {
            let res = b
                .post(
                    &format!("/console/campaigns/{a_draft}/{action}"),
                    &[("csrf_token", &csrf), ("reason", "x")],
                )
                .await;
            assert!(
                res.status == 403 || res.status == 404,
                "{action}: {}",
                res.status
            );
        }
        assert_eq!(app.campaign_view(&a_draft).await["status"], "draft");
        assert_eq!(
            b.get(&format!("/console/campaigns/{a_draft}/edit"))
                .await
                .status,
            404
        );
        let res = b
            .post(
                &format!("/console/campaigns/{a_draft}/edit"),
                &[
                    ("csrf_token", &csrf),
                    ("title", "Preso da B"),
                    ("summary", "x"),
                    ("goal", "40000.00"),
                    ("lat", "45.08"),
                    ("lon", "7.68"),
                    ("starts_at", "2026-12-01T09:00"),
                    ("ends_at", "2027-01-15T18:00"),
                ],
            )
            .await;
        assert!(res.status == 403 || res.status == 404, "{}", res.status);
        assert_eq!(app.campaign_view(&a_draft).await["title"], "Segreto di A");
        // A's own member sees it and edits it.
        let a = Browser::new(&app);
        a.sign_in("member-123456", "member-password-1").await;
        assert_eq!(a.get(&format!("/campaigns/{a_draft}")).await.status, 200);
        assert!(
            a.get("/console/campaigns")
                .await
                .body
                .contains("Segreto di A")
        );
        let form = a.get(&format!("/console/campaigns/{a_draft}/edit")).await;
        assert_eq!(form.status, 200);
        let value = |name: &str| {
            form.body
                .split(&format!("name=\"{name}\""))
                .nth(1)
                .and_then(|r| r.split("value=\"").nth(1))
                .and_then(|r| r.split('"').next())
                .unwrap()
                .to_string()
        };
        let csrf = value("csrf_token");
        let (goal, lat, lon, starts, ends) = (
            value("goal"),
            value("lat"),
            value("lon"),
            value("starts_at"),
            value("ends_at"),
        );
        let res = a
            .post(
                &format!("/console/campaigns/{a_draft}/edit"),
                &[
                    ("csrf_token", csrf.as_str()),
                    ("title", "Segreto di A, rivisto"),
                    ("summary", "Nuovo testo"),
                    ("goal", goal.as_str()),
                    ("lat", lat.as_str()),
                    ("lon", lon.as_str()),
                    ("starts_at", starts.as_str()),
                    ("ends_at", ends.as_str()),
                ],
            )
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
        assert_eq!(
            app.campaign_view(&a_draft).await["title"],
            "Segreto di A, rivisto"
        );
        // Settlement files are the finance office's.
        let res = a
            .get("/console/settlements/stl_00000000000000000000000000000000/sepa.xml")
            .await;
        assert_eq!(res.status, 403);
    })
    .await;
}

#[actix_web::test]
async fn a_reviewer_approves_from_the_queue_and_a_donor_gives_through_the_reference_checkout() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let cmp = app
            .campaign(
                &c.member_a,
                &c.fund,
                json!({"title": "Biblioteca di quartiere"}),
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_string();
        app.post_empty(&format!("/v1/campaigns/{cmp}/submit"), Some(&c.member_a))
            .await
            .ok();
        app.staff("reviewer").await;
        let r = Browser::new(&app);
        r.sign_in("reviewer-user", "reviewer-password-123").await;
        // The reviewer's console opens on what waits, and the list holds it.
        let queue = r.get("/console?lang=en").await;
        assert!(queue.body.contains("One campaign to review"));
        assert!(queue.body.contains("href=\"/console/review\""));
        let queue = r.get("/console/review").await;
        assert!(queue.body.contains("Biblioteca di quartiere"));
        let csrf = r.csrf("/console").await;
        let res = r
            .post(
                &format!("/console/campaigns/{cmp}/approve"),
                &[("csrf_token", &csrf)],
            )
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
        assert_eq!(app.campaign_view(&cmp).await["status"], "approved");
        app.tick().await;
        assert_eq!(app.campaign_view(&cmp).await["status"], "live");

        // A donor, signed out, gives through the checkout; a double submit pays once.
        let d = Browser::new(&app);
        let form = d.get(&format!("/campaigns/{cmp}/donate")).await.body;
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
            ("amount", "120.00"),
            ("name", "Giulia Verdi"),
            ("email", "giulia@example.org"),
        ];
        for _ in 0..2 {
            let res = d.post(&format!("/campaigns/{cmp}/donate"), &fields).await;
            assert_eq!(res.status, 303, "{}", res.body);
            assert_eq!(res.location, Some(format!("/campaigns/{cmp}?thanks=1")));
        }
        let view = app.campaign_view(&cmp).await;
        assert_eq!(view["raised"], "120.00");
        assert_eq!(view["donors"], 1);
        let page = d.get(&format!("/campaigns/{cmp}?thanks=1")).await;
        assert!(page.body.contains("120,00\u{a0}€"), "{}", page.body);
        // Bad input is a page that says what to fix, and nothing is paid.
        let bad = d
            .post(
                &format!("/campaigns/{cmp}/donate"),
                &[
                    ("csrf_token", &csrf),
                    ("key", &uuid::Uuid::new_v4().to_string()),
                    ("amount", "-5"),
                    ("name", "X"),
                    ("email", "not-an-email"),
                ],
            )
            .await;
        assert_eq!(bad.status, 422);
        assert!(bad.body.contains("donor.email"));
        assert_eq!(app.campaign_view(&cmp).await["raised"], "120.00");
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn the_finance_office_batches_downloads_both_files_and_confirms_from_the_console() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let cmp = app.live_campaign(&c, json!({})).await;
        let (_, partner) = app.partner("P").await;
        crate::funders::give(&app, &partner, &cmp, "20000.00", "x").await;
        end_all_campaigns(&app).await;
        assert_eq!(
            app.campaign_view(&cmp).await["match"]["status"],
            "committed"
        );
        let funder = app
            .get(&format!("/v1/funds/{}/funders", c.fund), None)
            .await
            .ok()[0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        app.staff("finance").await;
        let f = Browser::new(&app);
        f.sign_in("finance-user", "finance-password-123").await;
        let console = f.get(&format!("/console/funds/{}?lang=en", c.fund)).await;
        assert!(console.body.contains("Create a batch of committed matches"));
        // The commitment, payable and published in the register.
        assert!(console.body.contains("<caption>Commitments</caption>"));
        assert!(console.body.contains("<td>payable</td><td>published</td>"));
        // The fund's history: the reservation, then its commitment.
        assert!(console.body.contains("<svg class=\"chart\""));
        assert!(
            console.body.contains("<path class=\"reserved\"")
                && console.body.contains("<path class=\"committed\"")
        );
        let csrf = f.csrf("/console").await;
        let res = f
            .post(
                "/console/settlements",
                &[
                    ("csrf_token", &csrf),
                    ("fund_id", &c.fund),
                    ("funder_id", &funder),
                ],
            )
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
        assert_eq!(
            res.location.as_deref(),
            Some("/console/settlements?done=batch")
        );
        let console = f.get(res.location.as_deref().unwrap()).await;
        assert!(console.body.contains("Draft batch created"));
        // The finance office's console now opens on the batch waiting for a second person.
        let queue = f.get("/console?lang=en").await.body;
        assert!(queue.contains("One batch to confirm as paid"), "{queue}");
        assert!(queue.contains("every invariant holds"), "{queue}");
        let id = console
            .body
            .split("/console/settlements/")
            .nth(1)
            .unwrap()
            .split('/')
            .next()
            .unwrap()
            .to_string();
        let sepa = f.get(&format!("/console/settlements/{id}/sepa.xml")).await;
        assert_eq!(sepa.status, 200, "{}", sepa.body);
        assert!(sepa.content_type.starts_with("application/xml"));
        assert!(sepa.body.contains("pain.001.001.03"));
        let treasury = f
            .get(&format!("/console/settlements/{id}/treasury.csv"))
            .await;
        assert_eq!(treasury.status, 200, "{}", treasury.body);
        assert!(treasury.body.starts_with("progressivo_beneficiario,"));
        // Four eyes: the batch's creator is refused, with the reason on the page.
        let form = [
            ("csrf_token", csrf.as_str()),
            ("bank_reference", "OPI 2026/123"),
            ("paid_on", "2026-11-30"),
        ];
        let res = f
            .post(&format!("/console/settlements/{id}/confirm"), &form)
            .await;
        assert_eq!(res.status, 403, "{}", res.body);
        assert!(
            res.body
                .contains("the user who created this batch cannot confirm it"),
            "{}",
            res.body
        );
        app.second_staff("finance").await;
        let g = Browser::new(&app);
        g.sign_in("finance-second", "finance-second-password-123")
            .await;
        let csrf = g.csrf("/console").await;
        let res = g
            .post(
                &format!("/console/settlements/{id}/confirm"),
                &[
                    ("csrf_token", &csrf),
                    ("bank_reference", "OPI 2026/123"),
                    ("paid_on", "2026-11-30"),
                ],
            )
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
        let finance = app.staff("finance").await;
        let batch = app
            .get(&format!("/v1/settlements/{id}"), Some(&finance))
            .await;
        assert_eq!(batch.ok()["status"], "confirmed");
        assert_eq!(app.campaign_view(&cmp).await["match"]["status"], "settled");
        // An association's session may not batch.
        let a = Browser::new(&app);
        a.sign_in("member-123456", "member-password-1").await;
        let csrf = a.csrf("/console").await;
        let res = a
            .post(
                "/console/settlements",
                &[
                    ("csrf_token", &csrf),
                    ("fund_id", &c.fund),
                    ("funder_id", &funder),
                ],
            )
            .await;
        assert_eq!(res.status, 403);
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn the_admin_registers_associations_staff_partners_and_areas_from_the_console() {
    each_backend(|app| async move {
        app.admin().await;
        let admin = Browser::new(&app);
        admin.sign_in("admin", ADMIN_PASSWORD).await;
        let csrf = admin.csrf("/console?lang=en").await;
        let res = admin
            .post(
                "/console/admin/associations",
                &[
                    ("csrf_token", &csrf),
                    ("name", "Aurora APS"),
                    ("tax_code", "97542550013"),
                    ("iban", "IT60X0542811101000000123456"),
                    ("bic", ""),
                    ("email", "info@aurora.example"),
                    ("runts_id", "RUNTS 42"),
                ],
            )
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
        assert_eq!(
            res.location.as_deref(),
            Some("/console/admin?done=association")
        );
        assert!(
            admin
                .get("/console/admin?q=aurora")
                .await
                .body
                .contains("Aurora APS (97542550013)")
        );
        // A wrong check digit is a page that says so; nothing is written.
        let before = app.count("associations").await;
        let bad = admin
            .post(
                "/console/admin/associations",
                &[
                    ("csrf_token", &csrf),
                    ("name", "X"),
                    ("tax_code", "97542550014"),
                    ("iban", "IT60X0542811101000000123456"),
                    ("email", "x@example.org"),
                ],
            )
            .await;
        assert_eq!(bad.status, 422);
        assert!(bad.body.contains("tax_code"));
        assert_eq!(app.count("associations").await, before);

        // A member for it, who can then sign in.
        let aurora = app
            .get("/v1/associations", Some(&app.admin().await))
            .await
            .ok()["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "Aurora APS")
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let res = admin
            .post(
                "/console/admin/members",
                &[
                    ("csrf_token", &csrf),
                    ("association_id", &aurora),
                    ("username", "aurora-socia"),
                    ("password", "a-long-password-2"),
                    ("email", "socia@aurora.example"),
                ],
            )
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
        let m = Browser::new(&app);
        m.sign_in("aurora-socia", "a-long-password-2").await;
        let queue = m.get("/console?lang=en").await.body;
        assert!(queue.contains("0 draft campaigns to complete and submit"));
        assert!(queue.contains("href=\"/console/campaigns/new\""));
        let res = admin
            .post(
                "/console/admin/users",
                &[
                    ("csrf_token", &csrf),
                    ("username", "valutatrice"),
                    ("password", "a-long-password-1"),
                    ("role", "reviewer"),
                    ("email", ""),
                ],
            )
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
        let r = Browser::new(&app);
        r.sign_in("valutatrice", "a-long-password-1").await;
        assert_eq!(r.get("/console").await.status, 200);
        // Disabled from the console: the open session ends at once.
        let console = admin.get("/console/admin/users?q=valutatrice").await.body;
        let user_id = console
            .split("<tr>")
            .find(|row| row.contains("<td>valutatrice</td>"))
            .and_then(|row| row.split("/console/admin/users/").nth(1))
            .and_then(|rest| rest.split('/').next())
            .expect("a disable button for the new user")
            .to_string();
        let res = admin
            .post(
                &format!("/console/admin/users/{user_id}/disable"),
                &[("csrf_token", &csrf)],
            )
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
        assert_eq!(r.get("/console").await.status, 303, "signed out");

        let secrets = admin
            .post(
                "/console/admin/partners",
                &[
                    ("csrf_token", &csrf),
                    ("name", "Rete del Dono"),
                    ("webhook_url", ""),
                ],
            )
            .await;
        assert_eq!(secrets.status, 200, "{}", secrets.body);
        assert!(secrets.body.contains("client_secret") && secrets.body.contains("cs_"));

        let geojson = json!({"type": "FeatureCollection", "features": [{
            "type": "Feature", "properties": {"code": "TO-VANCHIGLIA", "name": "Vanchiglia"},
            "geometry": square(45.07, 7.70, 0.01)}]})
        .to_string();
        let res = admin
            .post(
                "/console/admin/areas",
                &[("csrf_token", &csrf), ("geojson", &geojson)],
            )
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
        assert!(
            Browser::new(&app)
                .get("/areas")
                .await
                .body
                .contains("Vanchiglia")
        );

        // A fund over that area, then a foundation beside the city.
        let area = app.get("/v1/areas", None).await.ok()["data"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let res = admin
            .post(
                "/console/admin/funds",
                &[
                    ("csrf_token", &csrf),
                    ("name", "Bando Vanchiglia 2027"),
                    ("budget", "50000.00"),
                    ("threshold_ratio", "0.5"),
                    ("match_ratio", "0.5"),
                    ("max_match_per_campaign", ""),
                    ("opens_at", "2026-12-01T00:00"),
                    ("closes_at", "2027-12-01T00:00"),
                    ("area", &area),
                    ("cup", ""),
                    ("legal_basis", "Delibera n. 1/2027"),
                    ("office", "Welfare"),
                    ("responsible_official", "Dott. Neri"),
                    ("selection_method", "Avviso pubblico"),
                    ("siope_code", "U.1.04.04.01.001"),
                ],
            )
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
        let funds = app.get("/v1/funds", None).await.ok()["data"].clone();
        let fund = funds
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == "Bando Vanchiglia 2027")
            .unwrap()
            .clone();
        assert_eq!(fund["eligible_area_ids"], json!([area]));
        assert_eq!(fund["budget"], "50000.00");
        assert_eq!(fund["transparency_missing"], json!([]));
        let fund_id = fund["id"].as_str().unwrap().to_string();
        let res = admin
            .post(
                "/console/admin/funders",
                &[
                    ("csrf_token", &csrf),
                    ("fund_id", &fund_id),
                    ("name", "Fondazione CRT"),
                    ("kind", "private"),
                    ("tax_code", "97542550013"),
                    ("iban", "IT61X0306909606100000012345"),
                    ("budget", "20000.00"),
                ],
            )
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
        let funders = app.get(&format!("/v1/funds/{fund_id}/funders"), None).await;
        assert_eq!(funders.ok().as_array().unwrap().len(), 2);
        // A fund with no area is refused and not opened.
        let before = app.count("funds").await;
        let bad = admin
            .post(
                "/console/admin/funds",
                &[
                    ("csrf_token", &csrf),
                    ("name", "Senza aree"),
                    ("budget", "1.00"),
                    ("opens_at", "2026-12-01T00:00"),
                    ("closes_at", "2027-12-01T00:00"),
                ],
            )
            .await;
        assert_eq!(bad.status, 422, "{}", bad.body);
        assert_eq!(app.count("funds").await, before);

        // Other roles may not.
        app.staff("finance").await;
        let f = Browser::new(&app);
        f.sign_in("finance-user", "finance-password-123").await;
        let csrf = f.csrf("/console").await;
        let res = f
            .post(
                "/console/admin/partners",
                &[
                    ("csrf_token", &csrf),
                    ("name", "Sneaky"),
                    ("webhook_url", ""),
                ],
            )
            .await;
        assert_eq!(res.status, 403);
    })
    .await;
}

#[actix_web::test]
async fn a_click_on_the_map_places_the_new_campaign_without_javascript() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let a = Browser::new(&app);
        a.sign_in("member-123456", "member-password-1").await;
        // The map the form shows as its image button: the city's one area.
        let map = a.get("/areas/map.svg").await;
        assert_eq!(map.status, 200);
        assert!(map.content_type.starts_with("image/svg+xml"));
        let d = map
            .body
            .split("class=\"area\" d=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string();
        let points: Vec<(f64, f64)> = d
            .split(['M', 'L', 'Z'])
            .filter(|p| !p.trim().is_empty())
            .map(|p| {
                let (x, y) = p.trim().split_once(',').unwrap();
                (x.parse().unwrap(), y.parse().unwrap())
            })
            .collect();
        // The ring closes on its first point: count each corner once.
        let points = &points[..points.len() - 1];
        let n = points.len() as f64;
        let (x, y) = points
            .iter()
            .fold((0.0, 0.0), |(sx, sy), (x, y)| (sx + x / n, sy + y / n));
        let csrf = a.csrf("/console").await;
        let (mx, my) = (format!("{x:.0}"), format!("{y:.0}"));
        let res = a
            .post(
                "/console/campaigns",
                &[
                    ("csrf_token", csrf.as_str()),
                    ("fund_id", c.fund.as_str()),
                    ("title", "Piazza ritrovata"),
                    ("summary", "Una piazza per tutti."),
                    ("goal", "30000.00"),
                    ("lat", ""),
                    ("lon", ""),
                    ("map.x", mx.as_str()),
                    ("map.y", my.as_str()),
                    ("starts_at", "2026-12-01T09:00"),
                    ("ends_at", "2027-01-15T18:00"),
                ],
            )
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
        let mine = app
            .get(
                &format!("/v1/campaigns?association_id={}", c.asso_a),
                Some(&c.member_a),
            )
            .await;
        let created = mine.ok()["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["title"] == "Piazza ritrovata")
            .unwrap()
            .clone();
        assert_eq!(created["area_id"], c.area.as_str());
        assert_eq!(created["status"], "draft");
        // Near the area's centre (45.08, 7.68), within the map's pixel precision.
        assert!((created["location"]["lat"].as_f64().unwrap() - 45.08).abs() < 0.002);
        assert!((created["location"]["lon"].as_f64().unwrap() - 7.68).abs() < 0.002);
        // Neither typed nor clicked: the form says what is missing and nothing is created.
        let before = app.count("campaigns").await;
        let res = a
            .post(
                "/console/campaigns",
                &[
                    ("csrf_token", csrf.as_str()),
                    ("fund_id", c.fund.as_str()),
                    ("title", "X"),
                    ("summary", "Y"),
                    ("goal", "30000.00"),
                    ("lat", ""),
                    ("lon", ""),
                    ("starts_at", "2026-12-01T09:00"),
                    ("ends_at", "2027-01-15T18:00"),
                ],
            )
            .await;
        assert_eq!(res.status, 422);
        assert!(res.body.contains("location.lat"));
        assert_eq!(app.count("campaigns").await, before);
    })
    .await;
}
