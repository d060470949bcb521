//! `TestApp`: a real cofund server on a loopback port, on its own fresh database.
//!
//! Every test runs through [`each_backend`]: once on a new SQLite file, and again on a new
//! PostgreSQL database when `COFUND_TEST_DATABASE_URL` is set (CI sets it).
#![allow(dead_code)]

use cofund::config::Config;
use cofund::db::Db;
use cofund::{AppState, build_app};
use diesel::Connection;
use diesel::connection::SimpleConnection;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123456789";
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";
pub const WEBHOOK_SECRET: &str = "whsec_test_0123456789abcdef";

#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite,
    Postgres(String),
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub db: Db,
    pub state: AppState,
    pub backend_name: &'static str,
    handle: actix_web::dev::ServerHandle,
    tokens: Mutex<HashMap<String, String>>,
    _dir: tempfile::TempDir,
    cleanup: Option<(String, String)>,
}

pub struct Response {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Response {
    /// Asserts an RFC 9457 problem with this status and code.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, code: &str) -> &Self {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(
            self.content_type, "application/problem+json",
            "body: {}",
            self.body
        );
        assert_eq!(self.body["status"], status);
        assert_eq!(self.body["code"], code, "body: {}", self.body);
        assert!(self.body["title"].is_string() && self.body["detail"].is_string());
        assert!(
            self.body["type"]
                .as_str()
                .unwrap()
                .starts_with("urn:cofund:problem:")
        );
        self
    }

    /// The fields named in a validation problem.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| e["field"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    #[track_caller]
    pub fn ok(&self) -> &Value {
        assert!(self.status.is_success(), "{}: {}", self.status, self.body);
        &self.body
    }
}

/// Runs `test` on SQLite, then on PostgreSQL when `COFUND_TEST_DATABASE_URL` is set.
pub async fn each_backend<F, Fut>(test: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    each_backend_with(|_| {}, test).await
}

/// Like [`each_backend`], with a configuration tweak.
pub async fn each_backend_with<F, Fut>(tweak: impl Fn(&mut Config), test: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    each_backend_full(tweak, || None, test).await
}

/// Like [`each_backend_with`], with a payment provider made for each backend's app.
pub async fn each_backend_full<F, Fut>(
    tweak: impl Fn(&mut Config),
    provider: impl Fn() -> Option<cofund::providers::PaymentProvider>,
    test: F,
) where
    F: Fn(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut backends = vec![Backend::Sqlite];
    if let Ok(url) = std::env::var("COFUND_TEST_DATABASE_URL")
        && !url.is_empty()
    {
        backends.push(Backend::Postgres(url));
    }
    for backend in backends {
        let app = TestApp::spawn_with(backend, &tweak, provider()).await;
        let cleanup = app.cleanup.clone();
        test(app).await;
        if let Some((admin_url, name)) = cleanup {
            drop_pg_database(&admin_url, &name);
        }
    }
}

fn pg_url_with_db(url: &str, db: &str) -> String {
    // postgres://user@host:port/dbname?params → the same with another dbname
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let root = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{root}/{db}?{q}"),
        None => format!("{root}/{db}"),
    }
}

fn drop_pg_database(admin_url: &str, name: &str) {
    if let Ok(mut conn) = diesel::PgConnection::establish(admin_url) {
        let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    }
}

pub fn test_config(database_url: &str) -> Config {
    let mut c = Config::from_lookup(|k| match k {
        "COFUND_JWT_SECRET" => Some(JWT_SECRET.to_string()),
        "COFUND_TOKEN_RATE_LIMIT_PER_MIN" => Some("1000".to_string()),
        _ => None,
    })
    .expect("test config");
    c.database_url = database_url.to_string();
    // A configured city account (the example one is refused for SEPA files).
    c.debtor_iban = cofund::domain::iban::Iban::parse("IT65X0306909606100000063004").unwrap();
    c.db_pool_size = 8;
    c.payments.webhook_secrets = vec![WEBHOOK_SECRET.to_string()];
    // Big single gifts keep the matching scenarios short.
    c.payments.pledge_limits =
        cofund::domain::money::PledgeLimits::parse("1.00", "50000.00").unwrap();
    c
}

impl TestApp {
    pub async fn spawn(backend: Backend, tweak: &impl Fn(&mut Config)) -> TestApp {
        Self::spawn_with(backend, tweak, None).await
    }

    /// Spawns with a given payment provider (e.g. Stripe pointed at a wiremock server).
    pub async fn spawn_with(
        backend: Backend,
        tweak: &impl Fn(&mut Config),
        provider: Option<cofund::providers::PaymentProvider>,
    ) -> TestApp {
        cofund::init_tls();
        let dir = tempfile::tempdir().expect("temp dir");
        let (url, cleanup, backend_name) = match &backend {
            Backend::Sqlite => (
                format!("sqlite://{}", dir.path().join("cofund.db").display()),
                None,
                "sqlite",
            ),
            Backend::Postgres(admin_url) => {
                let name = format!("cofund_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn =
                    diesel::PgConnection::establish(admin_url).expect("connect to PostgreSQL");
                conn.batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("create test database");
                (
                    pg_url_with_db(admin_url, &name),
                    Some((admin_url.clone(), name)),
                    "postgres",
                )
            }
        };
        let mut config = test_config(&url);
        config.notify.mail_dir = dir.path().join("mail").display().to_string();
        tweak(&mut config);
        // Tests move time with this clock instead of rewriting stored timestamps.
        let db = Db::connect(&config.database_url, config.db_pool_size)
            .expect("pool")
            .with_clock(cofund::clock::Clock::adjustable());
        db.migrate().expect("migrations");
        cofund::cli::admin::create_user(&db, "admin", ADMIN_PASSWORD, "admin", None, None)
            .expect("bootstrap admin");
        let state = match provider {
            Some(p) => AppState::with_provider(config, db.clone(), p),
            None => AppState::new(config, db.clone()),
        };
        let server_state = state.clone();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().unwrap().port();
        let server = actix_web::HttpServer::new(move || build_app(server_state.clone()))
            .workers(2)
            .listen(listener)
            .expect("listen")
            .disable_signals()
            .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        TestApp {
            base: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
            db,
            state,
            backend_name,
            handle,
            tokens: Mutex::new(HashMap::new()),
            _dir: dir,
            cleanup,
        }
    }

    /// Moves the service's clock forward: every job and rule run on this app's database sees
    /// the later time from now on.
    pub fn advance_clock(&self, by: chrono::TimeDelta) {
        self.db.clock().advance(by);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Response {
        let res = req.send().await.expect("request");
        let status = res.status();
        let headers = res.headers().clone();
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let text = res.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Response {
            status,
            content_type,
            body,
            headers,
        }
    }

    fn with_token(
        &self,
        req: reqwest::RequestBuilder,
        token: Option<&str>,
    ) -> reqwest::RequestBuilder {
        match token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.send(self.with_token(self.client.get(self.url(path)), token))
            .await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.send(self.with_token(self.client.post(self.url(path)).json(&body), token))
            .await
    }

    /// POST without a body (lifecycle actions).
    pub async fn post_empty(&self, path: &str, token: Option<&str>) -> Response {
        self.send(self.with_token(self.client.post(self.url(path)), token))
            .await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.send(self.with_token(self.client.put(self.url(path)).json(&body), token))
            .await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.send(self.with_token(self.client.patch(self.url(path)).json(&body), token))
            .await
    }

    pub async fn post_raw(&self, path: &str, token: Option<&str>, body: &str) -> Response {
        self.send(
            self.with_token(
                self.client
                    .post(self.url(path))
                    .header("content-type", "application/json")
                    .body(body.to_string()),
                token,
            ),
        )
        .await
    }

    /// A password-grant token, cached per username.
    pub async fn login(&self, username: &str, password: &str) -> String {
        if let Some(t) = self.tokens.lock().unwrap().get(username) {
            return t.clone();
        }
        let res = self
            .post(
                "/v1/auth/token",
                None,
                json!({"grant_type": "password", "username": username, "password": password}),
            )
            .await;
        let token = res.ok()["access_token"].as_str().unwrap().to_string();
        self.tokens
            .lock()
            .unwrap()
            .insert(username.to_string(), token.clone());
        token
    }

    pub async fn admin(&self) -> String {
        self.login("admin", ADMIN_PASSWORD).await
    }

    /// A city staff account of `role` (reviewer, finance, admin), logged in.
    pub async fn staff(&self, role: &str) -> String {
        let username = format!("{role}-user");
        let password = format!("{role}-password-123");
        if !self.tokens.lock().unwrap().contains_key(&username) {
            let admin = self.admin().await;
            self.post(
                "/v1/users",
                Some(&admin),
                json!({"username": username, "password": password, "role": role}),
            )
            .await
            .ok();
        }
        self.login(&username, &password).await
    }

    /// A second city staff account of `role`, logged in: another person than [`Self::staff`]'s
    /// (four eyes: a settlement batch is confirmed by someone other than its creator).
    pub async fn second_staff(&self, role: &str) -> String {
        let username = format!("{role}-second");
        let password = format!("{role}-second-password-123");
        if !self.tokens.lock().unwrap().contains_key(&username) {
            let admin = self.admin().await;
            self.post(
                "/v1/users",
                Some(&admin),
                json!({"username": username, "password": password, "role": role}),
            )
            .await
            .ok();
        }
        self.login(&username, &password).await
    }

    /// A partner client, logged in with client credentials; returns (partner id, token).
    pub async fn partner(&self, name: &str) -> (String, String) {
        let admin = self.admin().await;
        let created = self
            .post("/v1/partners", Some(&admin), json!({"name": name}))
            .await;
        let p = created.ok().clone();
        let res = self
            .post(
                "/v1/auth/token",
                None,
                json!({"grant_type": "client_credentials", "client_id": p["client_id"], "client_secret": p["client_secret"]}),
            )
            .await;
        (
            p["id"].as_str().unwrap().to_string(),
            res.ok()["access_token"].as_str().unwrap().to_string(),
        )
    }

    /// A square target area around (lat, lon) with half-size `half` degrees.
    pub async fn area(&self, code: &str, lat: f64, lon: f64, half: f64) -> String {
        let admin = self.admin().await;
        let res = self
            .post(
                "/v1/areas",
                Some(&admin),
                json!({"code": code, "name": format!("Area {code}"), "geometry": square(lat, lon, half)}),
            )
            .await;
        res.ok()["id"].as_str().unwrap().to_string()
    }

    /// A fund over `areas` with Milan-like rules; `extra` overrides fields.
    pub async fn fund(&self, areas: &[&str], extra: Value) -> Value {
        let admin = self.admin().await;
        let mut body = fund_body(areas);
        merge(&mut body, extra);
        self.post("/v1/funds", Some(&admin), body)
            .await
            .ok()
            .clone()
    }

    /// An association with one member; returns (association id, member token).
    pub async fn association(&self, name: &str, tax_code: &str) -> (String, String) {
        let admin = self.admin().await;
        let res = self
            .post(
                "/v1/associations",
                Some(&admin),
                json!({"name": name, "tax_code": tax_code, "iban": "IT60X0542811101000000123456", "email": "info@example.org"}),
            )
            .await;
        let id = res.ok()["id"].as_str().unwrap().to_string();
        let username = format!("member-{}", &tax_code[..6]).to_lowercase();
        self.post(
            &format!("/v1/associations/{id}/members"),
            Some(&admin),
            json!({"username": username, "password": "member-password-1", "email": "m@example.org"}),
        )
        .await
        .ok();
        let token = self.login(&username, "member-password-1").await;
        (id, token)
    }

    /// A draft campaign in `fund_id`; `extra` overrides fields.
    pub async fn campaign(&self, token: &str, fund_id: &str, extra: Value) -> Value {
        let mut body = campaign_body(fund_id);
        merge(&mut body, extra);
        self.post("/v1/campaigns", Some(token), body)
            .await
            .ok()
            .clone()
    }

    /// Runs one pass of every background job, as the scheduler would.
    pub async fn tick(&self) -> cofund::jobs::JobsReport {
        cofund::jobs::run_once(&self.state).await.unwrap()
    }

    /// Posts a provider event signed with the webhook secret.
    pub async fn webhook(&self, event: &Value) -> Response {
        let body = event.to_string();
        let header = cofund::providers::signature::header(
            WEBHOOK_SECRET,
            chrono::Utc::now().timestamp(),
            body.as_bytes(),
        );
        self.send(
            self.client
                .post(self.url("/v1/webhooks/stripe"))
                .header("Stripe-Signature", header)
                .header("content-type", "application/json")
                .body(body),
        )
        .await
    }

    /// A pledge by a partner; returns the 201 body.
    pub async fn pledge(
        &self,
        partner: &str,
        campaign_id: &str,
        amount: &str,
        email: &str,
    ) -> Value {
        let res = self
            .send(
                self.client
                    .post(self.url(&format!("/v1/campaigns/{campaign_id}/pledges")))
                    .bearer_auth(partner)
                    .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
                    .json(&json!({"amount": amount, "donor": {"name": "Donor", "email": email, "locale": "it"}})),
            )
            .await;
        assert_eq!(res.status, 201, "{}", res.body);
        res.body
    }

    /// A live campaign by association A in the city's fund; returns its id.
    pub async fn live_campaign(&self, c: &City, extra: Value) -> String {
        let cmp = self.campaign(&c.member_a, &c.fund, extra).await;
        let id = cmp["id"].as_str().unwrap().to_string();
        self.post_empty(&format!("/v1/campaigns/{id}/submit"), Some(&c.member_a))
            .await
            .ok();
        let reviewer = self.staff("reviewer").await;
        self.post_empty(&format!("/v1/campaigns/{id}/approve"), Some(&reviewer))
            .await
            .ok();
        self.tick().await;
        id
    }

    /// A campaign as the public sees it.
    pub async fn campaign_view(&self, id: &str) -> Value {
        let admin = self.admin().await;
        self.get(&format!("/v1/campaigns/{id}"), Some(&admin))
            .await
            .ok()
            .clone()
    }

    /// The reconciliation report (asserting it is clean).
    pub async fn assert_reconciled(&self) {
        let admin = self.admin().await;
        let report = self.get("/v1/reconciliation", Some(&admin)).await;
        assert_eq!(report.ok()["ok"], true, "{}", report.body);
    }

    /// Runs raw SQL against the test database (to simulate the passing of time).
    pub async fn sql(&self, statement: &str) {
        let db = self.db.clone();
        let statement = statement.to_string();
        tokio::task::spawn_blocking(move || {
            let mut conn = db.get().unwrap();
            conn.batch_execute(&statement).unwrap();
        })
        .await
        .unwrap()
    }

    /// The e-mails in the mail folder, quoted-printable soft line breaks joined.
    pub fn mails(&self) -> Vec<String> {
        std::fs::read_dir(&self.state.config.notify.mail_dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| {
                        String::from_utf8_lossy(&std::fs::read(e.path()).unwrap_or_default())
                            .replace("=\r\n", "")
                            .replace("=\n", "")
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Counts rows of a table (to prove a rejected request wrote nothing).
    pub async fn count(&self, table: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let db = self.db.clone();
        let q = format!("SELECT COUNT(*) AS n FROM {table}");
        tokio::task::spawn_blocking(move || {
            use diesel::RunQueryDsl;
            let mut conn = db.get().unwrap();
            match &mut *conn {
                cofund::db::DbConnection::Postgresql(c) => {
                    diesel::sql_query(&q).get_result::<N>(c).unwrap().n
                }
                cofund::db::DbConnection::Sqlite(c) => {
                    diesel::sql_query(&q).get_result::<N>(c).unwrap().n
                }
            }
        })
        .await
        .unwrap()
    }
}

impl TestApp {
    /// Stops the server and drops a PostgreSQL test database (for tests that spawn by hand).
    pub async fn cleanup(self) {
        let cleanup = self.cleanup.clone();
        drop(self);
        if let Some((admin_url, name)) = cleanup {
            drop_pg_database(&admin_url, &name);
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop the server; the pool closes with the last clone of `db`.
        drop(self.handle.stop(false));
    }
}

pub fn square(lat: f64, lon: f64, half: f64) -> Value {
    json!({"type": "Polygon", "coordinates": [[
        [lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half],
        [lon - half, lat + half], [lon - half, lat - half]
    ]]})
}

pub fn merge(base: &mut Value, extra: Value) {
    if let (Value::Object(b), Value::Object(e)) = (base, extra) {
        for (k, v) in e {
            if v.is_null() {
                b.remove(&k);
            } else {
                b.insert(k, v);
            }
        }
    }
}

pub fn rfc3339(offset: chrono::Duration) -> String {
    (chrono::Utc::now() + offset).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub fn fund_body(areas: &[&str]) -> Value {
    json!({
        "name": "Crowdfunding civico 2026",
        "currency": "EUR",
        "budget": "600000.00",
        "threshold_ratio": "0.5",
        "match_ratio": "0.5",
        "max_match_per_campaign": "50000.00",
        "min_goal": "20000.00",
        "max_goal": "100000.00",
        "min_donors": 1,
        "eligible_area_ids": areas,
        "opens_at": rfc3339(chrono::Duration::days(-10)),
        "closes_at": rfc3339(chrono::Duration::days(120)),
        "cup": "C11J26000120007",
        "legal_basis": "Avviso pubblico Crowdfunding civico 2026, Delibera G.C. n. 123 del 12/03/2026",
        "office": "Divisione Servizi Sociali",
        "responsible_official": "Dott.ssa Maria Bianchi",
        "selection_method": "Avviso pubblico con cofinanziamento civico",
        "siope_code": "U.1.04.04.01.001"
    })
}

/// Inside the default test area (centred on 45.08, 7.68).
pub const IN_AREA: (f64, f64) = (45.08, 7.68);

pub fn campaign_body(fund_id: &str) -> Value {
    json!({
        "fund_id": fund_id,
        "title": "Doposcuola in Barriera",
        "summary": "After-school help for 60 children.",
        "goal": "40000.00",
        "location": {"lat": IN_AREA.0, "lon": IN_AREA.1},
        "starts_at": rfc3339(chrono::Duration::hours(-1)),
        "ends_at": rfc3339(chrono::Duration::days(45))
    })
}

/// A city with one area, one fund and two associations: the usual starting point.
pub struct City {
    pub area: String,
    pub fund: String,
    pub asso_a: String,
    pub member_a: String,
    pub asso_b: String,
    pub member_b: String,
}

pub async fn city(app: &TestApp, fund_extra: Value) -> City {
    let area = app.area("TO-AURORA", IN_AREA.0, IN_AREA.1, 0.01).await;
    let fund = app.fund(&[&area], fund_extra).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (asso_a, member_a) = app.association("Barriera Solidale", "12345678903").await;
    let (asso_b, member_b) = app.association("Mirafiori & Dintorni", "00743110157").await;
    City {
        area,
        fund,
        asso_a,
        member_a,
        asso_b,
        member_b,
    }
}

/// A Stripe `payment_intent.succeeded` event.
pub fn succeeded(event_id: &str, payment_id: &str, amount: i64) -> Value {
    json!({"id": event_id, "object": "event", "type": "payment_intent.succeeded",
           "data": {"object": {"object": "payment_intent", "id": payment_id, "amount": amount,
                               "amount_received": amount, "currency": "eur", "status": "succeeded"}}})
}

/// A Stripe `charge.refunded` event (cumulative amount).
pub fn refunded(event_id: &str, payment_id: &str, amount_refunded: i64) -> Value {
    json!({"id": event_id, "object": "event", "type": "charge.refunded",
           "data": {"object": {"object": "charge", "id": format!("ch_{payment_id}"), "payment_intent": payment_id,
                               "amount_refunded": amount_refunded, "currency": "eur"}}})
}

/// The provider payment id of a pledge's 201 body.
pub fn pi(p: &Value) -> String {
    p["payment"]["provider_payment_id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Delivers signed events from `senders` concurrent tasks; a 503 (busy database) is retried,
/// as the provider would.
pub async fn deliver_concurrently(app: &TestApp, events: Vec<Value>, senders: usize) {
    let queue = std::sync::Arc::new(Mutex::new(events));
    let mut tasks = Vec::new();
    for _ in 0..senders {
        let queue = queue.clone();
        let client = app.client.clone();
        let url = app.url("/v1/webhooks/stripe");
        tasks.push(tokio::spawn(async move {
            loop {
                let Some(ev) = queue.lock().unwrap().pop() else {
                    break;
                };
                let body = ev.to_string();
                let h = cofund::providers::signature::header(
                    WEBHOOK_SECRET,
                    chrono::Utc::now().timestamp(),
                    body.as_bytes(),
                );
                let mut delivered = false;
                for _ in 0..50 {
                    let res = client
                        .post(&url)
                        .header("Stripe-Signature", &h)
                        .body(body.clone())
                        .send()
                        .await
                        .unwrap();
                    if res.status().is_success() {
                        delivered = true;
                        break;
                    }
                    assert_eq!(
                        res.status(),
                        503,
                        "only a busy database may refuse an event"
                    );
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                assert!(delivered, "an event was never accepted");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

/// Pledges `euros` whole euros and has the simulated provider confirm the payment.
pub async fn give(app: &TestApp, partner: &str, campaign: &str, euros: i64, donor: &str) -> Value {
    let p = app
        .pledge(
            partner,
            campaign,
            &format!("{euros}.00"),
            &format!("{donor}@example.org"),
        )
        .await;
    app.post(
        &format!("/v1/simulated/payments/{}", pi(&p)),
        Some(partner),
        json!({"outcome": "succeed"}),
    )
    .await
    .ok();
    p
}

/// Moves every live campaign past its end and runs the jobs: they close and are decided.
pub async fn end_all_campaigns(app: &TestApp) {
    let at = |minutes: i64| {
        (chrono::Utc::now() + chrono::Duration::minutes(minutes))
            .naive_utc()
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    app.sql(&format!(
        "UPDATE campaigns SET starts_at = '{}', ends_at = '{}' WHERE status = 'live'",
        at(-60 * 24 * 40),
        at(-1)
    ))
    .await;
    app.tick().await;
}

/// A fake Stripe `POST /v1/payment_intents`: a new PaymentIntent (`pi_fake_N`) per call.
pub struct NewPaymentIntent(pub std::sync::atomic::AtomicUsize);

impl wiremock::Respond for NewPaymentIntent {
    fn respond(&self, _: &wiremock::Request) -> wiremock::ResponseTemplate {
        let n = self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        wiremock::ResponseTemplate::new(200).set_body_json(
            json!({"id": format!("pi_fake_{n}"), "client_secret": format!("pi_fake_{n}_secret")}),
        )
    }
}

/// Mounts [`NewPaymentIntent`] on a fake Stripe.
pub async fn fake_stripe_payments(server: &wiremock::MockServer) {
    use wiremock::matchers::{method, path};
    wiremock::Mock::given(method("POST"))
        .and(path("/v1/payment_intents"))
        .respond_with(NewPaymentIntent(std::sync::atomic::AtomicUsize::new(0)))
        .mount(server)
        .await;
}
