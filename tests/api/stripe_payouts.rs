//! Crowd payouts against a wiremock fake of Stripe, on both databases: the exact requests for an
//! association's Connect Express account and its onboarding links, `account.updated` reports,
//! one transfer per payout (whatever runs at once, whatever answer was lost), refused
//! transfers, and transfer reversals after refunds and lost disputes. The books reconcile after
//! every step.

use crate::helpers::*;
use cofund::providers::PaymentProvider;
use cofund::providers::stripe::{STRIPE_API_VERSION, StripeClient};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wiremock::matchers::{method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const SECRET_KEY: &str = "sk_test_cofund";
const PUBLIC_URL: &str = "https://cofund.example.org";
/// What the fake answers for `POST /v1/accounts`.
const ACCOUNT: &str = "acct_fake_1";

fn stripe(uri: &str) -> PaymentProvider {
    PaymentProvider::Stripe(
        StripeClient::new(uri, SECRET_KEY).with_backoff(Duration::from_millis(5)),
    )
}

fn public_url(c: &mut cofund::config::Config) {
    c.public_url = cofund::config::PublicUrl::parse(PUBLIC_URL).unwrap();
}

// ---- reading what the fake received ----

/// A request's form body (Stripe takes `application/x-www-form-urlencoded`).
fn form(r: &Request) -> HashMap<String, String> {
    form_urlencoded::parse(&r.body).into_owned().collect()
}

fn header_of(r: &Request, name: &str) -> Option<String> {
    r.headers.get(name).map(|v| v.to_str().unwrap().to_string())
}

/// The requests the fake received with this method and path, in order.
async fn calls(server: &MockServer, verb: &str, at: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == verb && r.url.path() == at)
        .collect()
}

/// Bearer auth with the secret key, the pinned API version, and this idempotency key (or none).
#[track_caller]
fn assert_stripe_call(r: &Request, key: Option<&str>) {
    assert_eq!(
        header_of(r, "authorization").as_deref(),
        Some(format!("Bearer {SECRET_KEY}").as_str())
    );
    assert_eq!(
        header_of(r, "stripe-version").as_deref(),
        Some(STRIPE_API_VERSION)
    );
    assert_eq!(header_of(r, "idempotency-key").as_deref(), key);
    if r.method.as_str() == "POST" {
        assert_eq!(
            header_of(r, "content-type").as_deref(),
            Some("application/x-www-form-urlencoded")
        );
    }
}

// ---- the fake ----

/// `POST /v1/account_links`: a new one-time link per call.
struct NewAccountLink(AtomicUsize);

impl Respond for NewAccountLink {
    fn respond(&self, r: &Request) -> ResponseTemplate {
        let n = self.0.fetch_add(1, Ordering::SeqCst);
        let account = form(r).remove("account").unwrap_or_default();
        ResponseTemplate::new(200).set_body_json(json!({
            "object": "account_link",
            "created": 1_900_000_000 + n,
            "expires_at": 1_900_000_300 + n,
            "url": format!("https://connect.stripe.com/setup/e/{account}/link{n}")
        }))
    }
}

/// Stripe Connect: account creation (a new Express account, onboarding not finished) and
/// onboarding links. Exactly one account is expected.
async fn fake_connect(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/v1/accounts"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": ACCOUNT, "object": "account", "type": "express",
            "details_submitted": false, "charges_enabled": false, "payouts_enabled": false,
            "capabilities": {"transfers": "inactive"}
        })))
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/account_links"))
        .respond_with(NewAccountLink(AtomicUsize::new(0)))
        .mount(server)
        .await;
}

/// A transfer the fake made: its idempotency key, the form it was made with, the object.
struct Made {
    key: String,
    body: Vec<u8>,
    transfer: Value,
}

#[derive(Default)]
struct Ledger {
    made: Vec<Made>,
    /// The next so many POSTs answer 500 before making anything (Stripe down).
    outage: usize,
    /// The next so many POSTs make (or replay) the transfer, then answer 500 (answer lost).
    lose_answers: usize,
}

/// `POST /v1/transfers` and `GET /v1/transfers?transfer_group=…` over one ledger, with
/// Stripe's idempotency: the same key with the same parameters is the same transfer, with
/// other parameters a 400; a new key makes a new transfer (`tr_fake_N`).
#[derive(Clone, Default)]
struct FakeTransfers(Arc<Mutex<Ledger>>);

impl FakeTransfers {
    fn made(&self) -> Vec<Value> {
        let l = self.0.lock().unwrap();
        l.made.iter().map(|m| m.transfer.clone()).collect()
    }

    fn outage(&self, n: usize) {
        self.0.lock().unwrap().outage = n;
    }

    fn lose_answers(&self, n: usize) {
        self.0.lock().unwrap().lose_answers = n;
    }

    /// A transfer made by someone else in the group (another payout's).
    fn seed(&self, transfer: Value) {
        self.0.lock().unwrap().made.push(Made {
            key: String::new(),
            body: Vec::new(),
            transfer,
        });
    }

    async fn mount(&self, server: &MockServer) {
        Mock::given(path("/v1/transfers"))
            .respond_with(self.clone())
            .mount(server)
            .await;
    }
}

impl Respond for FakeTransfers {
    fn respond(&self, r: &Request) -> ResponseTemplate {
        let mut l = self.0.lock().unwrap();
        if r.method.as_str() == "GET" {
            let query: HashMap<String, String> = r.url.query_pairs().into_owned().collect();
            let group = query.get("transfer_group").cloned().unwrap_or_default();
            let data: Vec<Value> = l
                .made
                .iter()
                .rev()
                .map(|m| m.transfer.clone())
                .filter(|t| t["transfer_group"] == group.as_str())
                .collect();
            return ResponseTemplate::new(200).set_body_json(
                json!({"object": "list", "url": "/v1/transfers", "has_more": false, "data": data}),
            );
        }
        if l.outage > 0 {
            l.outage -= 1;
            return ResponseTemplate::new(500)
                .set_body_json(json!({"error": {"type": "api_error", "message": "outage"}}));
        }
        let key = header_of(r, "idempotency-key").unwrap_or_default();
        let transfer = match l.made.iter().find(|m| !key.is_empty() && m.key == key) {
            Some(m) if m.body != r.body => {
                return ResponseTemplate::new(400).set_body_json(json!({"error": {
                    "type": "idempotency_error",
                    "message": "Keys for idempotent requests can only be used with the same parameters they were first used with."
                }}));
            }
            Some(m) => m.transfer.clone(),
            None => {
                let f = form(r);
                let transfer = json!({
                    "id": format!("tr_fake_{}", l.made.len()),
                    "object": "transfer",
                    "amount": f["amount"].parse::<i64>().unwrap(),
                    "currency": f["currency"],
                    "destination": f["destination"],
                    "transfer_group": f["transfer_group"],
                    "metadata": {"payout_id": f["metadata[payout_id]"]},
                    "reversed": false
                });
                l.made.push(Made {
                    key,
                    body: r.body.clone(),
                    transfer: transfer.clone(),
                });
                transfer
            }
        };
        if l.lose_answers > 0 {
            l.lose_answers -= 1;
            return ResponseTemplate::new(500)
                .set_body_json(json!({"error": {"type": "api_error", "message": "lost"}}));
        }
        ResponseTemplate::new(200).set_body_json(transfer)
    }
}

/// `POST /v1/transfers/{id}/reversals`.
async fn fake_reversals(server: &MockServer, answer: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path_regex("^/v1/transfers/[A-Za-z0-9_]+/reversals$"))
        .respond_with(answer)
        .mount(server)
        .await;
}

// ---- events ----

fn account_updated(event_id: &str, account: &str, created: i64, state: Value) -> Value {
    let mut object = json!({"id": account, "object": "account", "type": "express",
                            "email": "info@example.org", "country": "IT"});
    merge(&mut object, state);
    json!({"id": event_id, "object": "event", "type": "account.updated", "created": created,
           "data": {"object": object}})
}

fn onboarding_unfinished() -> Value {
    json!({"details_submitted": false, "charges_enabled": false, "payouts_enabled": false,
           "capabilities": {"transfers": "inactive"}, "requirements": {"disabled_reason": null}})
}

fn transfers_active() -> Value {
    json!({"details_submitted": true, "charges_enabled": true, "payouts_enabled": true,
           "capabilities": {"transfers": "active"}, "requirements": {"disabled_reason": null}})
}

fn disabled() -> Value {
    json!({"details_submitted": true, "charges_enabled": false, "payouts_enabled": false,
           "capabilities": {"transfers": "inactive"},
           "requirements": {"disabled_reason": "requirements.past_due"}})
}

fn dispute(event_id: &str, kind: &str, payment_id: &str, status: &str, amount: i64) -> Value {
    json!({"id": event_id, "object": "event", "type": kind,
           "data": {"object": {"object": "dispute", "id": format!("dp_{payment_id}"),
                               "payment_intent": payment_id, "amount": amount,
                               "currency": "eur", "status": status}}})
}

// ---- the service ----

async fn account_of(app: &TestApp, c: &City) -> Value {
    let path = format!("/v1/associations/{}/payout-account", c.asso_a);
    app.get(&path, Some(&c.member_a)).await.ok().clone()
}

async fn open_account(app: &TestApp, c: &City) -> Value {
    let path = format!("/v1/associations/{}/payout-account", c.asso_a);
    app.post_empty(&path, Some(&c.member_a)).await.ok().clone()
}

/// Opens association A's account and has Stripe report it can receive transfers.
async fn activate(app: &TestApp, c: &City) {
    let account = open_account(app, c).await;
    assert_eq!(account["account_id"], ACCOUNT);
    let ack = app
        .webhook(&account_updated(
            "evt_acct_active",
            ACCOUNT,
            chrono::Utc::now().timestamp(),
            transfers_active(),
        ))
        .await;
    assert_eq!(ack.ok()["outcome"], "account_reported");
    assert_eq!(account_of(app, c).await["status"], "active");
}

/// A succeeded campaign of association A whose donors paid through the fake Stripe (one
/// pledge per amount, in whole euros); returns its id and the pledges.
async fn succeeded_campaign(
    app: &TestApp,
    c: &City,
    partner: &str,
    euros: &[i64],
) -> (String, Vec<Value>) {
    let cmp = app.live_campaign(c, json!({"goal": "20000.00"})).await;
    let mut pledges = Vec::new();
    for (i, e) in euros.iter().enumerate() {
        let p = app
            .pledge(
                partner,
                &cmp,
                &format!("{e}.00"),
                &format!("donor{i}@example.org"),
            )
            .await;
        let ack = app
            .webhook(&succeeded(&format!("evt_paid_{i}_{cmp}"), &pi(&p), e * 100))
            .await;
        assert_eq!(ack.ok()["outcome"], "applied");
        pledges.push(p);
    }
    app.assert_reconciled().await;
    end_all_campaigns(app).await;
    assert_eq!(app.campaign_view(&cmp).await["status"], "succeeded");
    app.assert_reconciled().await;
    (cmp, pledges)
}

async fn payouts_of(app: &TestApp, campaign: &str) -> Vec<Value> {
    let finance = app.staff("finance").await;
    app.get(
        &format!("/v1/payouts?campaign_id={campaign}"),
        Some(&finance),
    )
    .await
    .ok()["data"]
        .as_array()
        .unwrap()
        .clone()
}

/// The campaign's only payout.
async fn payout(app: &TestApp, campaign: &str) -> Value {
    let all = payouts_of(app, campaign).await;
    assert_eq!(all.len(), 1, "{all:?}");
    all[0].clone()
}

async fn crowd_money(app: &TestApp, c: &City, campaign: &str) -> Value {
    let res = app
        .get(
            &format!("/v1/associations/{}/crowd-money", c.asso_a),
            Some(&c.member_a),
        )
        .await;
    res.ok()
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["campaign_id"] == campaign)
        .cloned()
        .unwrap_or_else(|| panic!("no crowd money row for {campaign}: {}", res.body))
}

async fn run_payouts(app: &TestApp) -> cofund::app::payouts::PayoutsReport {
    cofund::app::payouts::run(&app.state).await.unwrap()
}

/// The one transfer request the payout job must send for `payout` of `campaign`.
#[track_caller]
fn assert_transfer_request(r: &Request, campaign: &str, payout: &Value, minor: i64) {
    let id = payout["id"].as_str().unwrap();
    assert!(id.starts_with("pay_"), "{id}");
    assert_stripe_call(r, Some(&format!("cofund-payout-{id}")));
    let f = form(r);
    let expected: HashMap<String, String> = [
        ("amount", minor.to_string()),
        ("currency", "eur".to_string()),
        ("destination", ACCOUNT.to_string()),
        ("transfer_group", campaign.to_string()),
        ("metadata[payout_id]", id.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(f, expected);
}

// ---- the tests ----

#[actix_web::test]
async fn opening_a_payout_account_creates_one_express_account_and_a_link_each_time() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let server = &server;
    each_backend_full(
        public_url,
        || Some(stripe(&uri)),
        |app| async move {
            server.reset().await;
            fake_connect(server).await;
            let c = city(&app, json!({})).await;
            assert_eq!(account_of(&app, &c).await["status"], "none");
            let first = open_account(&app, &c).await;
            assert_eq!(first["status"], "pending", "{first}");
            assert_eq!(first["account_id"], ACCOUNT);
            assert_eq!(first["association_id"], c.asso_a.as_str());
            let url = format!("https://connect.stripe.com/setup/e/{ACCOUNT}/link0");
            assert_eq!(first["onboarding_url"], url.as_str());
            let expires = chrono::DateTime::parse_from_rfc3339(
                first["onboarding_expires_at"].as_str().unwrap(),
            )
            .unwrap();
            assert_eq!(expires.timestamp(), 1_900_000_300);
            // The account: Express, in Italy, for transfers, keyed by the association.
            let accounts = calls(server, "POST", "/v1/accounts").await;
            assert_eq!(accounts.len(), 1);
            assert_stripe_call(&accounts[0], Some(&format!("cofund-account-{}", c.asso_a)));
            let f = form(&accounts[0]);
            assert_eq!(f["type"], "express");
            assert_eq!(f["country"], "IT");
            assert_eq!(f["email"], "info@example.org");
            assert_eq!(f["business_type"], "non_profit");
            assert_eq!(f["capabilities[transfers][requested]"], "true");
            assert_eq!(f["metadata[association_id]"], c.asso_a);
            assert_eq!(f.len(), 6, "nothing else is sent: {f:?}");
            // The link: onboarding, back to the console under COFUND_PUBLIC_URL.
            let links = calls(server, "POST", "/v1/account_links").await;
            assert_eq!(links.len(), 1);
            assert_stripe_call(&links[0], None);
            let f = form(&links[0]);
            assert_eq!(f["account"], ACCOUNT);
            assert_eq!(f["type"], "account_onboarding");
            assert_eq!(f["return_url"], format!("{PUBLIC_URL}/console/payouts"));
            assert_eq!(
                f["refresh_url"],
                format!("{PUBLIC_URL}/console/payouts?refresh=1")
            );
            assert_eq!(f.len(), 4, "{f:?}");
            // Asked again (the link expired, or was used): the same account, a new link.
            let admin = app.admin().await;
            let again = app
                .post_empty(
                    &format!("/v1/associations/{}/payout-account", c.asso_a),
                    Some(&admin),
                )
                .await;
            let again = again.ok();
            assert_eq!(again["account_id"], ACCOUNT);
            assert_eq!(again["status"], "pending");
            assert_eq!(
                again["onboarding_url"],
                format!("https://connect.stripe.com/setup/e/{ACCOUNT}/link1").as_str()
            );
            assert_eq!(calls(server, "POST", "/v1/accounts").await.len(), 1);
            let links = calls(server, "POST", "/v1/account_links").await;
            assert_eq!(links.len(), 2);
            assert_eq!(form(&links[1])["account"], ACCOUNT);
            // Reading it makes no link.
            let read = account_of(&app, &c).await;
            assert_eq!(read["status"], "pending");
            assert!(read["onboarding_url"].is_null(), "{read}");
            assert_eq!(calls(server, "POST", "/v1/account_links").await.len(), 2);
            app.assert_reconciled().await;
            server.verify().await;
        },
    )
    .await;
}

#[actix_web::test]
async fn account_updated_events_keep_the_accounts_status_and_never_go_back_in_time() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let server = &server;
    each_backend_full(
        public_url,
        || Some(stripe(&uri)),
        |app| async move {
            server.reset().await;
            fake_connect(server).await;
            let c = city(&app, json!({})).await;
            assert_eq!(open_account(&app, &c).await["status"], "pending");
            let t = chrono::Utc::now().timestamp();
            // Onboarding finished: transfers active.
            let done = account_updated("evt_acct_2", ACCOUNT, t, transfers_active());
            let ack = app.webhook(&done).await;
            assert_eq!(ack.ok()["outcome"], "account_reported");
            assert_eq!(account_of(&app, &c).await["status"], "active");
            // The same event again: a duplicate, nothing stored twice.
            let ack = app.webhook(&done).await;
            assert_eq!(ack.ok()["outcome"], "duplicate");
            assert_eq!(account_of(&app, &c).await["status"], "active");
            assert_eq!(
                app.count("provider_events WHERE id = 'evt_acct_2'").await,
                1
            );
            // An older report (onboarding not finished yet) delivered late: kept, not applied.
            let older = account_updated("evt_acct_1", ACCOUNT, t - 60, onboarding_unfinished());
            let ack = app.webhook(&older).await;
            assert_eq!(ack.ok()["outcome"], "account_reported");
            assert_eq!(account_of(&app, &c).await["status"], "active");
            // Stripe disables transfers: restricted, and no active account for payouts.
            let restricted = account_updated("evt_acct_3", ACCOUNT, t + 60, disabled());
            let ack = app.webhook(&restricted).await;
            assert_eq!(ack.ok()["outcome"], "account_reported");
            assert_eq!(account_of(&app, &c).await["status"], "restricted");
            // Replaying the older "active" report changes nothing.
            assert_eq!(app.webhook(&done).await.ok()["outcome"], "duplicate");
            assert_eq!(account_of(&app, &c).await["status"], "restricted");
            // A newer report restores it.
            let fixed = account_updated("evt_acct_4", ACCOUNT, t + 120, transfers_active());
            app.webhook(&fixed).await.ok();
            assert_eq!(account_of(&app, &c).await["status"], "active");
            // Another platform's account is acknowledged and changes nothing here.
            let other = account_updated("evt_acct_5", "acct_other", t + 180, disabled());
            assert_eq!(
                app.webhook(&other).await.ok()["outcome"],
                "account_reported"
            );
            assert_eq!(account_of(&app, &c).await["status"], "active");
            // Nothing of the account's e-mail is kept in the event log.
            assert_eq!(
                app.count("provider_events WHERE payload LIKE '%info@example.org%'")
                    .await,
                0
            );
            app.assert_reconciled().await;
            server.verify().await;
        },
    )
    .await;
}

#[actix_web::test]
async fn a_succeeded_campaign_is_transferred_once_to_the_associations_account() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let server = &server;
    each_backend_full(
        public_url,
        || Some(stripe(&uri)),
        |app| async move {
            server.reset().await;
            fake_stripe_payments(server).await;
            fake_connect(server).await;
            let transfers = FakeTransfers::default();
            transfers.mount(server).await;
            let c = city(&app, json!({})).await;
            let (_, partner) = app.partner("P").await;
            let (cmp, pledges) = succeeded_campaign(&app, &c, &partner, &[6000, 4500]).await;
            // Each PaymentIntent names the campaign as its transfer group.
            let intents = calls(server, "POST", "/v1/payment_intents").await;
            assert_eq!(intents.len(), 2);
            for (r, (p, minor)) in intents.iter().zip(pledges.iter().zip([600_000, 450_000])) {
                let f = form(r);
                assert_eq!(f["transfer_group"], cmp, "{f:?}");
                assert_eq!(f["amount"], minor.to_string());
                assert_eq!(f["currency"], "eur");
                assert_eq!(f["metadata[pledge_id]"], p["id"].as_str().unwrap());
            }
            // No account yet: nothing leaves, the money waits.
            assert!(calls(server, "POST", "/v1/transfers").await.is_empty());
            assert_eq!(crowd_money(&app, &c, &cmp).await["payable"], "10500.00");
            activate(&app, &c).await;
            // Two replicas run the payout job at the same moment.
            let (a, b) = tokio::join!(run_payouts(&app), run_payouts(&app));
            assert_eq!(a.paid + b.paid, 1, "{a:?} {b:?}");
            app.assert_reconciled().await;
            let posts = calls(server, "POST", "/v1/transfers").await;
            assert_eq!(posts.len(), 1, "one POST /v1/transfers");
            let p = payout(&app, &cmp).await;
            assert_transfer_request(&posts[0], &cmp, &p, 1_050_000);
            assert_eq!(p["status"], "paid");
            assert_eq!(p["method"], "provider_transfer");
            assert_eq!(p["amount"], "10500.00");
            assert_eq!(p["provider_reference"], "tr_fake_0");
            assert!(p["paid_at"].is_string());
            // Later passes send nothing more.
            assert_eq!(run_payouts(&app).await, Default::default());
            app.tick().await;
            assert_eq!(calls(server, "POST", "/v1/transfers").await.len(), 1);
            assert_eq!(transfers.made().len(), 1);
            assert!(
                calls(server, "GET", "/v1/transfers").await.is_empty(),
                "a first attempt needs no read-back"
            );
            let money = crowd_money(&app, &c, &cmp).await;
            assert_eq!(money["raised"], "10500.00");
            assert_eq!(money["paid_out"], "10500.00");
            assert_eq!(money["payable"], "0.00");
            app.assert_reconciled().await;
            server.verify().await;
        },
    )
    .await;
}

#[actix_web::test]
async fn a_transfer_whose_answer_was_lost_is_found_by_read_back_not_made_again() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let server = &server;
    each_backend_full(
        public_url,
        || Some(stripe(&uri)),
        |app| async move {
            server.reset().await;
            fake_stripe_payments(server).await;
            fake_connect(server).await;
            let transfers = FakeTransfers::default();
            transfers.mount(server).await;
            let c = city(&app, json!({})).await;
            let (_, partner) = app.partner("P").await;
            let (cmp, _) = succeeded_campaign(&app, &c, &partner, &[6000, 4500]).await;
            activate(&app, &c).await;
            // Stripe makes the transfer, but every answer (four tries) is lost.
            transfers.lose_answers(4);
            let report = run_payouts(&app).await;
            assert_eq!((report.paid, report.failed), (0, 0));
            let posts = calls(server, "POST", "/v1/transfers").await;
            assert_eq!(posts.len(), 4);
            let p = payout(&app, &cmp).await;
            assert_eq!(p["status"], "pending");
            for r in &posts {
                assert_transfer_request(r, &cmp, &p, 1_050_000);
            }
            assert_eq!(transfers.made().len(), 1, "idempotent at Stripe");
            // Sent, as far as the books know: the association's money is not payable twice.
            let money = crowd_money(&app, &c, &cmp).await;
            assert_eq!(
                (money["paid_out"].as_str(), money["payable"].as_str()),
                (Some("10500.00"), Some("0.00"))
            );
            app.assert_reconciled().await;
            // The next pass asks Stripe first, finds it, and sends nothing.
            let report = run_payouts(&app).await;
            assert_eq!(report.paid, 1);
            let gets = calls(server, "GET", "/v1/transfers").await;
            assert_eq!(gets.len(), 1);
            assert_stripe_call(&gets[0], None);
            let query: HashMap<String, String> = gets[0].url.query_pairs().into_owned().collect();
            assert_eq!(query["transfer_group"], cmp);
            assert_eq!(query["limit"], "100");
            assert_eq!(calls(server, "POST", "/v1/transfers").await.len(), 4);
            let p = payout(&app, &cmp).await;
            assert_eq!(p["status"], "paid");
            assert_eq!(p["provider_reference"], "tr_fake_0");
            assert_eq!(crowd_money(&app, &c, &cmp).await["paid_out"], "10500.00");
            app.assert_reconciled().await;
            // Nothing more on later passes.
            run_payouts(&app).await;
            assert_eq!(calls(server, "GET", "/v1/transfers").await.len(), 1);
            assert_eq!(calls(server, "POST", "/v1/transfers").await.len(), 4);
            assert_eq!(transfers.made().len(), 1);
            server.verify().await;
        },
    )
    .await;
}

#[actix_web::test]
async fn a_transfer_never_made_is_sent_again_with_the_same_key_after_the_read_back() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let server = &server;
    each_backend_full(
        public_url,
        || Some(stripe(&uri)),
        |app| async move {
            server.reset().await;
            fake_stripe_payments(server).await;
            fake_connect(server).await;
            let transfers = FakeTransfers::default();
            let c = city(&app, json!({})).await;
            let (_, partner) = app.partner("P").await;
            let (cmp, _) = succeeded_campaign(&app, &c, &partner, &[10_000, 20]).await;
            activate(&app, &c).await;
            // Another payout's transfer in the same group (the read-back matches by payout id).
            transfers.seed(
                json!({"id": "tr_other", "object": "transfer", "amount": 100,
                "currency": "eur", "destination": ACCOUNT, "transfer_group": cmp,
                "metadata": {"payout_id": "pay_someone_else"}}),
            );
            // While the read-back itself fails, nothing is sent blind.
            Mock::given(method("GET"))
                .and(path("/v1/transfers"))
                .and(query_param("transfer_group", cmp.as_str()))
                .respond_with(ResponseTemplate::new(503))
                .up_to_n_times(4)
                .with_priority(1)
                .mount(server)
                .await;
            transfers.mount(server).await;
            // Stripe is down for the first attempt: nothing made.
            transfers.outage(4);
            assert_eq!(run_payouts(&app).await, Default::default());
            assert_eq!(calls(server, "POST", "/v1/transfers").await.len(), 4);
            assert_eq!(transfers.made().len(), 1, "only the other payout's");
            app.assert_reconciled().await;
            assert_eq!(run_payouts(&app).await, Default::default());
            assert_eq!(calls(server, "GET", "/v1/transfers").await.len(), 4);
            assert_eq!(calls(server, "POST", "/v1/transfers").await.len(), 4);
            assert_eq!(payout(&app, &cmp).await["status"], "pending");
            // The read-back answers: not made, so it is sent again, with the same key.
            let report = run_payouts(&app).await;
            assert_eq!(report.paid, 1);
            assert_eq!(calls(server, "GET", "/v1/transfers").await.len(), 5);
            let posts = calls(server, "POST", "/v1/transfers").await;
            assert_eq!(posts.len(), 5);
            let p = payout(&app, &cmp).await;
            for r in &posts {
                assert_transfer_request(r, &cmp, &p, 1_002_000);
            }
            assert_eq!(p["status"], "paid");
            assert_eq!(p["amount"], "10020.00");
            assert_eq!(p["provider_reference"], "tr_fake_1");
            assert_eq!(transfers.made().len(), 2);
            app.assert_reconciled().await;
            server.verify().await;
        },
    )
    .await;
}

#[actix_web::test]
async fn a_refused_transfer_fails_the_payout_and_the_money_is_payable_again() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let server = &server;
    each_backend_full(
        public_url,
        || Some(stripe(&uri)),
        |app| async move {
            server.reset().await;
            fake_stripe_payments(server).await;
            fake_connect(server).await;
            Mock::given(method("POST"))
                .and(path("/v1/transfers"))
                .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
                    "type": "invalid_request_error",
                    "message": "account cannot receive transfers"
                }})))
                .mount(server)
                .await;
            let c = city(&app, json!({})).await;
            let (_, partner) = app.partner("P").await;
            let (cmp, _) = succeeded_campaign(&app, &c, &partner, &[6000, 4500]).await;
            activate(&app, &c).await;
            let report = run_payouts(&app).await;
            assert_eq!((report.paid, report.failed), (0, 1));
            // A 4xx is not retried.
            let posts = calls(server, "POST", "/v1/transfers").await;
            assert_eq!(posts.len(), 1);
            let p = payout(&app, &cmp).await;
            assert_transfer_request(&posts[0], &cmp, &p, 1_050_000);
            assert_eq!(p["status"], "failed");
            assert!(p["provider_reference"].is_null());
            let failure = p["failure"].as_str().unwrap();
            assert!(
                failure.contains("400") && failure.contains("account cannot receive transfers"),
                "{failure}"
            );
            let money = crowd_money(&app, &c, &cmp).await;
            assert_eq!(money["payable"], "10500.00", "{money}");
            assert_eq!(money["paid_out"], "0.00");
            assert_eq!(money["raised"], "10500.00");
            app.assert_reconciled().await;
            server.verify().await;
        },
    )
    .await;
}

#[actix_web::test]
async fn a_lost_dispute_after_the_payout_is_reversed_at_stripe() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let server = &server;
    each_backend_full(
        public_url,
        || Some(stripe(&uri)),
        |app| async move {
            server.reset().await;
            fake_stripe_payments(server).await;
            fake_connect(server).await;
            FakeTransfers::default().mount(server).await;
            fake_reversals(
                server,
                ResponseTemplate::new(200).set_body_json(json!({
                    "id": "trr_fake_1", "object": "transfer_reversal", "amount": 150_000,
                    "currency": "eur", "transfer": "tr_fake_0"
                })),
            )
            .await;
            let c = city(&app, json!({})).await;
            let (_, partner) = app.partner("P").await;
            // Active before the decision: the deciding pass pays it.
            activate(&app, &c).await;
            let (cmp, pledges) = succeeded_campaign(&app, &c, &partner, &[9000, 1500]).await;
            let p = payout(&app, &cmp).await;
            assert_eq!(
                (p["status"].as_str(), p["amount"].as_str()),
                (Some("paid"), Some("10500.00"))
            );
            assert_eq!(p["provider_reference"], "tr_fake_0");
            // The donor of 1,500 € disputes the charge and wins.
            let disputed = pi(&pledges[1]);
            for (id, kind, status) in [
                ("evt_dp_1", "charge.dispute.created", "needs_response"),
                ("evt_dp_2", "charge.dispute.closed", "lost"),
            ] {
                app.webhook(&dispute(id, kind, &disputed, status, 150_000))
                    .await
                    .ok();
                app.assert_reconciled().await;
            }
            let money = crowd_money(&app, &c, &cmp).await;
            assert_eq!(money["being_reversed"], "1500.00", "{money}");
            // The next pass takes it back from the transfer (two replicas at once: once).
            let (a, b) = tokio::join!(run_payouts(&app), run_payouts(&app));
            assert_eq!(a.reversed + b.reversed, 1, "{a:?} {b:?}");
            let path = "/v1/transfers/tr_fake_0/reversals";
            let reversals = calls(server, "POST", path).await;
            // The second pass may ask too while the first one's call is out; with the same
            // key and parameters, Stripe makes one reversal.
            assert!((1..=2).contains(&reversals.len()), "{}", reversals.len());
            let f = form(&reversals[0]);
            assert_eq!(f["amount"], "150000");
            let reversal_id = f["metadata[reversal_id]"].clone();
            assert!(reversal_id.starts_with("prv_"), "{reversal_id}");
            assert_eq!(f.len(), 2, "{f:?}");
            for r in &reversals {
                assert_stripe_call(r, Some(&format!("cofund-reversal-{reversal_id}")));
                assert_eq!(r.body, reversals[0].body);
            }
            let sent = reversals.len();
            let p = payout(&app, &cmp).await;
            assert_eq!(p["reversed"], "1500.00");
            assert_eq!(p["amount"], "10500.00");
            let stored = format!(
                "payout_reversals WHERE id = '{reversal_id}' AND status = 'reversed' \
                 AND provider_reference = 'trr_fake_1'"
            );
            assert_eq!(app.count(&stored).await, 1);
            let money = crowd_money(&app, &c, &cmp).await;
            assert_eq!(money["raised"], "9000.00");
            assert_eq!(money["paid_out"], "9000.00");
            assert_eq!(money["being_reversed"], "0.00");
            assert_eq!(money["owed"], "0.00");
            app.assert_reconciled().await;
            // Nothing more on later passes.
            run_payouts(&app).await;
            app.tick().await;
            assert_eq!(calls(server, "POST", path).await.len(), sent);
            assert_eq!(calls(server, "POST", "/v1/transfers").await.len(), 1);
            app.assert_reconciled().await;
            server.verify().await;
        },
    )
    .await;
}

#[actix_web::test]
async fn a_refund_after_the_payout_that_stripe_cannot_reverse_is_owed() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let server = &server;
    each_backend_full(
        public_url,
        || Some(stripe(&uri)),
        |app| async move {
            server.reset().await;
            fake_stripe_payments(server).await;
            fake_connect(server).await;
            FakeTransfers::default().mount(server).await;
            // Stripe is down for the first reversal attempt (four tries), then refuses it.
            Mock::given(method("POST"))
                .and(path_regex("^/v1/transfers/[A-Za-z0-9_]+/reversals$"))
                .respond_with(ResponseTemplate::new(500))
                .up_to_n_times(4)
                .with_priority(1)
                .mount(server)
                .await;
            fake_reversals(
                server,
                ResponseTemplate::new(400).set_body_json(json!({"error": {
                    "type": "invalid_request_error",
                    "message": "insufficient funds in the connected account"
                }})),
            )
            .await;
            let c = city(&app, json!({})).await;
            let (_, partner) = app.partner("P").await;
            let (cmp, pledges) = succeeded_campaign(&app, &c, &partner, &[9000, 1500]).await;
            activate(&app, &c).await;
            assert_eq!(run_payouts(&app).await.paid, 1);
            app.assert_reconciled().await;
            // 400 € of the 1,500 € gift refunded at Stripe after the payout.
            let ack = app
                .webhook(&refunded("evt_rf_1", &pi(&pledges[1]), 40_000))
                .await;
            ack.ok();
            app.assert_reconciled().await;
            let money = crowd_money(&app, &c, &cmp).await;
            assert_eq!(money["being_reversed"], "400.00", "{money}");
            let path = "/v1/transfers/tr_fake_0/reversals";
            assert_eq!(run_payouts(&app).await, Default::default());
            assert_eq!(calls(server, "POST", path).await.len(), 4);
            assert_eq!(
                crowd_money(&app, &c, &cmp).await["being_reversed"],
                "400.00"
            );
            app.assert_reconciled().await;
            // Tried again on the next pass, with the same key: refused, so it is owed.
            let report = run_payouts(&app).await;
            assert_eq!((report.reversed, report.owed), (0, 1));
            let reversals = calls(server, "POST", path).await;
            assert_eq!(reversals.len(), 5, "a 4xx is not retried");
            let f = form(&reversals[0]);
            assert_eq!(f["amount"], "40000");
            assert!(f["metadata[reversal_id]"].starts_with("prv_"), "{f:?}");
            for r in &reversals {
                assert_stripe_call(
                    r,
                    Some(&format!("cofund-reversal-{}", f["metadata[reversal_id]"])),
                );
                assert_eq!(r.body, reversals[0].body);
            }
            let money = crowd_money(&app, &c, &cmp).await;
            assert_eq!(money["owed"], "400.00", "{money}");
            assert_eq!(money["being_reversed"], "0.00");
            assert_eq!(money["raised"], "10100.00");
            assert_eq!(payout(&app, &cmp).await["reversed"], "0.00");
            app.assert_reconciled().await;
            run_payouts(&app).await;
            assert_eq!(calls(server, "POST", path).await.len(), 5);
            app.assert_reconciled().await;
            server.verify().await;
        },
    )
    .await;
}
