//! Trust at the edges (issue 37): the console's session ends on the server at sign-out, cookies
//! and HSTS follow `COFUND_PUBLIC_URL`, `/metrics` is private, links never come from request
//! headers, and a console form of nobody signed in is refused before its body is read.

use crate::funders::{CRT_IBAN, funded_city, give};
use crate::helpers::*;
use serde_json::json;

const PUBLIC_URL: &str = "https://crowd.example.it";

fn behind_https(c: &mut cofund::config::Config) {
    c.public_url = cofund::config::PublicUrl::parse(PUBLIC_URL).unwrap();
    c.cookie_secure = true;
}

/// A browser without JavaScript: keeps its cookie (or is handed one), follows no redirect.
struct Browser<'a> {
    app: &'a TestApp,
    base: String,
    client: reqwest::Client,
    cookie: std::sync::Mutex<Option<String>>,
}

struct Page {
    status: u16,
    location: Option<String>,
    set_cookie: Option<String>,
    hsts: Option<String>,
    body: String,
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Browser<'a> {
        Browser::at(app, app.base.clone())
    }

    /// A browser talking to another server (a replica) of the same service.
    fn at(app: &'a TestApp, base: String) -> Browser<'a> {
        Browser {
            app,
            base,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookie: std::sync::Mutex::new(None),
        }
    }

    fn cookie(&self) -> Option<String> {
        self.cookie.lock().unwrap().clone()
    }

    fn set_cookie(&self, cookie: Option<String>) {
        *self.cookie.lock().unwrap() = cookie;
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Page {
        let req = match self.cookie() {
            Some(c) => req.header("Cookie", c),
            None => req,
        };
        let res = req.send().await.unwrap();
        let header = |name: &str| {
            res.headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_string())
        };
        let set_cookie = header("set-cookie");
        if let Some(set) = &set_cookie {
            let pair = set.split(';').next().unwrap().to_string();
            *self.cookie.lock().unwrap() = Some(pair);
        }
        Page {
            status: res.status().as_u16(),
            location: header("location"),
            set_cookie,
            hsts: header("strict-transport-security"),
            body: res.text().await.unwrap(),
        }
    }

    async fn get(&self, path: &str) -> Page {
        self.send(self.client.get(format!("{}{path}", self.base)))
            .await
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send(self.client.post(format!("{}{path}", self.base)).form(form))
            .await
    }

    async fn csrf(&self, path: &str) -> String {
        let page = self.get(path).await;
        page.body
            .split("name=\"csrf_token\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("a form with a CSRF token")
            .to_string()
    }

    async fn sign_in(&self, username: &str, password: &str) {
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
        let console = self.get("/console").await;
        assert_eq!(console.status, 200, "signed in: {}", console.body);
        let _ = self.app;
    }

    async fn sign_out(&self) {
        let csrf = self.csrf("/console").await;
        let res = self.post("/logout", &[("csrf_token", &csrf)]).await;
        assert_eq!(res.status, 303, "{}", res.body);
    }
}

/// A second replica of `app`: its own process state (caches, revocation list) on the same
/// database and configuration. Returns its base URL and a handle to stop it.
fn replica(app: &TestApp) -> (String, actix_web::dev::ServerHandle) {
    let state = cofund::AppState::new((*app.state.config).clone(), app.db.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = actix_web::HttpServer::new(move || cofund::build_app(state.clone()))
        .workers(1)
        .listen(listener)
        .unwrap()
        .disable_signals()
        .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    (format!("http://127.0.0.1:{port}"), handle)
}

#[actix_web::test]
async fn a_copied_console_cookie_stops_working_at_sign_out_on_every_replica() {
    each_backend(|app| async move {
        let finance = app.staff("finance").await;
        let _ = finance;
        let (other_base, other) = replica(&app);

        let b = Browser::new(&app);
        b.sign_in("finance-user", "finance-password-123").await;
        let copied = b.cookie().expect("a session cookie");
        // The copy works while the session lasts, on this replica and the other one.
        let thief = Browser::at(&app, other_base.clone());
        thief.set_cookie(Some(copied.clone()));
        assert_eq!(thief.get("/console").await.status, 200);
        assert_eq!(app.count("console_sessions").await, 1);

        b.sign_out().await;
        assert_eq!(app.count("console_sessions").await, 0);
        for base in [app.base.clone(), other_base.clone()] {
            let thief = Browser::at(&app, base);
            thief.set_cookie(Some(copied.clone()));
            let res = thief.get("/console").await;
            assert_eq!(res.status, 303, "the copied cookie after sign-out");
            assert_eq!(res.location.as_deref(), Some("/login"));
            // Nor does it send a form.
            let res = thief
                .post("/console/settlements", &[("csrf_token", "x")])
                .await;
            assert_eq!(res.status, 401);
        }
        // The browser that signed out is signed out too.
        assert_eq!(b.get("/console").await.status, 303);

        // A user an admin disables is signed out at once, on every replica, as before.
        b.sign_in("finance-user", "finance-password-123").await;
        let copied = b.cookie().unwrap();
        let me = app.get("/v1/users/me", Some(&finance)).await;
        let id = me.ok()["sub"].as_str().unwrap().to_string();
        let admin = app.admin().await;
        app.post_empty(&format!("/v1/users/{id}/disable"), Some(&admin))
            .await
            .ok();
        for base in [app.base.clone(), other_base] {
            let thief = Browser::at(&app, base);
            thief.set_cookie(Some(copied.clone()));
            assert_eq!(thief.get("/console").await.status, 303);
        }
        other.stop(false).await;
    })
    .await;
}

#[actix_web::test]
async fn session_cookies_are_secure_and_hsts_is_sent_behind_https() {
    each_backend_with(behind_https, |app| async move {
        let b = Browser::new(&app);
        let page = b.get("/login").await;
        let cookie = page.set_cookie.expect("a session cookie").to_lowercase();
        for attribute in ["; secure", "; httponly", "; samesite=lax"] {
            assert!(cookie.contains(attribute), "{attribute}: {cookie}");
        }
        assert_eq!(page.hsts.as_deref(), Some("max-age=31536000"));
        // Every response, the API's too.
        let api = app.get("/v1/areas", None).await;
        assert_eq!(
            api.headers
                .get("strict-transport-security")
                .and_then(|v| v.to_str().ok()),
            Some("max-age=31536000")
        );
    })
    .await;
    // Plain http:// (the default, a try-out on this machine): no Secure, no HSTS.
    each_backend(|app| async move {
        let page = Browser::new(&app).get("/login").await;
        let cookie = page.set_cookie.expect("a session cookie").to_lowercase();
        assert!(!cookie.contains("; secure"), "{cookie}");
        assert!(cookie.contains("; httponly") && cookie.contains("; samesite=lax"));
        assert_eq!(page.hsts, None);
    })
    .await;
}

#[actix_web::test]
async fn metrics_answer_only_an_admin_token_on_the_public_listener() {
    each_backend(|app| async move {
        app.get("/metrics", None)
            .await
            .assert_problem(401, "unauthorized");
        let finance = app.staff("finance").await;
        app.get("/metrics", Some(&finance))
            .await
            .assert_problem(403, "forbidden");
        let (_, partner) = app.partner("P").await;
        app.get("/metrics", Some(&partner))
            .await
            .assert_problem(403, "forbidden");
        let admin = app.admin().await;
        let res = app.get("/metrics", Some(&admin)).await;
        assert_eq!(res.status, 200);
        assert!(res.body.as_str().unwrap().contains("cofund_"));
    })
    .await;
}

#[actix_web::test]
async fn forged_host_headers_never_change_the_links_the_service_writes() {
    each_backend_with(behind_https, |app| async move {
        let (c, _) = funded_city(
            &app,
            json!([
                {"name": "Città di Torino", "kind": "public", "tax_code": "00514490010", "budget": "10000.00", "share": "0.5"},
                {"name": "Fondazione CRT", "kind": "private", "tax_code": "97542550013", "iban": CRT_IBAN,
                 "budget": "10000.00", "share": "0.5"}
            ]),
            json!({"funding_split": "proportional"}),
        )
        .await;
        let (_, partner) = app.partner("P").await;
        let cmp = app
            .live_campaign(&c, json!({"goal": "1000.00", "title": "Orti"}))
            .await;
        give(&app, &partner, &cmp, "600.00", "x").await;
        end_all_campaigns(&app).await;

        let forged = |req: reqwest::RequestBuilder| {
            req.header("X-Forwarded-Host", "evil.example")
                .header("X-Forwarded-Proto", "http")
                .header("Forwarded", "host=evil.example;proto=http")
        };
        for req in [
            forged(app.client.get(app.url("/v1/transparency/awards"))),
            app.client
                .get(app.url("/v1/transparency/awards"))
                .header("Host", "evil.example"),
        ] {
            let register = app.send(req).await;
            let rows = register.ok()["data"].as_array().unwrap().clone();
            assert_eq!(rows.len(), 1, "{rows:?}");
            assert_eq!(
                rows[0]["campaign_url"],
                format!("{PUBLIC_URL}/v1/campaigns/{cmp}")
            );
        }
        // The CSV of the register too.
        let csv = app
            .send(
                forged(app.client.get(app.url("/v1/transparency/awards")))
                    .header("Accept", "text/csv"),
            )
            .await;
        let text = csv.body.as_str().unwrap().to_string();
        assert!(text.contains(&format!("{PUBLIC_URL}/v1/campaigns/{cmp}")), "{text}");
        assert!(!text.contains("evil.example"));

        // The badge snippet on the campaign page.
        let client = reqwest::Client::new();
        for req in [
            forged(client.get(app.url(&format!("/campaigns/{cmp}")))),
            client
                .get(app.url(&format!("/campaigns/{cmp}")))
                .header("Host", "evil.example"),
        ] {
            let page = req.send().await.unwrap();
            assert_eq!(page.status(), 200);
            let body = page.text().await.unwrap();
            assert!(!body.contains("evil.example"), "{body}");
            assert!(
                body.contains(&format!("{PUBLIC_URL}/campaigns/{cmp}"))
                    && body.contains(&format!("{PUBLIC_URL}/v1/campaigns/{cmp}/badge.svg")),
                "{body}"
            );
        }
    })
    .await;
}

/// A url-encoded areas form of about `size` bytes (a valid FeatureCollection padded with
/// spaces).
fn big_areas_form(csrf: &str, size: usize) -> String {
    let geojson = json!({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"code": "TO-VANCHIGLIA", "name": "Vanchiglia"},
        "geometry": square(45.07, 7.70, 0.01)}]})
    .to_string();
    let mut body = format!("csrf_token={csrf}&geojson=");
    body.push_str(&form_urlencoded::byte_serialize(geojson.as_bytes()).collect::<String>());
    // '+' is a space once decoded: a big, valid document.
    body.push_str(&"+".repeat(size.saturating_sub(body.len())));
    body
}

/// POSTs a raw url-encoded body; the server may answer before reading it and close, so a
/// failed upload still reads the answer.
async fn post_form(b: &Browser<'_>, path: &str, body: String) -> Page {
    b.send(
        b.client
            .post(format!("{}{path}", b.base))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body),
    )
    .await
}

#[actix_web::test]
async fn a_console_form_of_nobody_signed_in_is_refused_before_its_body() {
    each_backend(|app| async move {
        let areas_before = app.count("areas").await;
        let anonymous = Browser::new(&app);
        let csrf = anonymous.csrf("/login").await;
        // Within the form's limit, and over it (a body it would have refused as too large
        // after reading it): both are refused as unauthenticated.
        for size in [4 * 1024 * 1024 - 1024, 5 * 1024 * 1024] {
            let res = post_form(
                &anonymous,
                "/console/admin/areas",
                big_areas_form(&csrf, size),
            )
            .await;
            assert_eq!(res.status, 401, "{size} bytes: {}", res.body);
        }
        // Another console form with a body it cannot even parse: who is asking comes first.
        let res = post_form(&anonymous, "/console/campaigns", "%%%".repeat(10_000)).await;
        assert_eq!(res.status, 401);
        assert_eq!(app.count("areas").await, areas_before, "nothing written");

        // Signed in, but not an admin: 403, whatever the body.
        let _ = app.staff("finance").await;
        let finance = Browser::new(&app);
        finance
            .sign_in("finance-user", "finance-password-123")
            .await;
        let csrf = finance.csrf("/console").await;
        for size in [64 * 1024, 5 * 1024 * 1024] {
            let res = post_form(
                &finance,
                "/console/admin/areas",
                big_areas_form(&csrf, size),
            )
            .await;
            assert_eq!(res.status, 403, "{size} bytes: {}", res.body);
        }
        assert_eq!(app.count("areas").await, areas_before, "nothing written");

        // An admin's import still works.
        let admin = Browser::new(&app);
        admin.sign_in("admin", ADMIN_PASSWORD).await;
        let csrf = admin.csrf("/console").await;
        let res = post_form(
            &admin,
            "/console/admin/areas",
            big_areas_form(&csrf, 64 * 1024),
        )
        .await;
        assert_eq!(res.status, 303, "{}", res.body);
        assert_eq!(app.count("areas").await, areas_before + 1);
    })
    .await;
}
