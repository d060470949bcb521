//! Storms: hundreds of rounds of a cancellation racing a refund's revocation, a cancellation
//! racing a crossing, a decision racing a crossing, and a budget change, all at once on one
//! fund with too little budget for everyone, through the HTTP API and the matching job. A
//! bounded loop, not timed. Afterwards every invariant holds: reconciliation is clean, the
//! journal shows no reservation released twice, the fund's figures are its campaigns' matches,
//! and every donor of a cancelled or failed campaign got their money back; and every
//! reconciliation report read while the storm blew was clean.

use crate::helpers::*;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

const ROUNDS: usize = 100;
/// Goal €20,000: threshold €10,000, top-up €10,000. The budget covers two top-ups.
const GOAL: &str = "20000.00";
const GIFT: &str = "10000.00";
const GIFT_MINOR: i64 = 1_000_000;

/// Sends a request until the database is not busy (503 is the only refusal retried).
async fn insist(app: &TestApp, make: impl Fn() -> reqwest::RequestBuilder) -> Response {
    for _ in 0..100 {
        let res = app.send(make()).await;
        if res.status != 503 {
            return res;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the database stayed busy");
}

struct Round {
    /// Reserved (or queued), then cancelled while its only gift is refunded.
    cancel_vs_revoke: String,
    revoked_gift: Value,
    /// Cancelled while its crossing gift is paid.
    cancel_vs_cross: String,
    crossing_gift: Value,
    /// Decided while its crossing gift is paid.
    decide_vs_cross: String,
    deciding_gift: Value,
}

#[derive(diesel::QueryableByName, Debug)]
struct Entry {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    campaign_id: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    kind: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    amount: i64,
}

/// Every journal entry's campaign, kind and amount (the `reserved`/`committed` leg).
async fn journal(app: &TestApp) -> Vec<Entry> {
    let db = app.db.clone();
    tokio::task::spawn_blocking(move || {
        use diesel::RunQueryDsl;
        let mut conn = db.get().unwrap();
        let q = "SELECT e.campaign_id, e.kind, p.amount FROM journal_entries e \
                 JOIN postings p ON p.entry_id = e.id \
                 WHERE p.amount > 0 ORDER BY e.created_at, e.id";
        match &mut *conn {
            cofund::db::DbConnection::Postgresql(c) => diesel::sql_query(q).load(c).unwrap(),
            cofund::db::DbConnection::Sqlite(c) => diesel::sql_query(q).load(c).unwrap(),
        }
    })
    .await
    .unwrap()
}

#[actix_web::test]
async fn cancels_refunds_crossings_budget_changes_and_decisions_never_break_the_books() {
    each_backend_with(
        |c| c.closing_grace = Duration::ZERO,
        |app| async move {
            let c = city(&app, json!({"budget": "20000.00"})).await;
            let (_, partner) = app.partner("P").await;
            let admin = app.admin().await;
            let finance = app.staff("finance").await;
            let reviewer = app.staff("reviewer").await;

            // Setup: three approved campaigns per round, all going live at once.
            let mut ids = Vec::new();
            for n in 0..ROUNDS * 3 {
                let cmp = app
                    .campaign(
                        &c.member_a,
                        &c.fund,
                        json!({"goal": GOAL, "title": format!("C{n}")}),
                    )
                    .await["id"]
                    .as_str()
                    .unwrap()
                    .to_string();
                app.post_empty(&format!("/v1/campaigns/{cmp}/submit"), Some(&c.member_a))
                    .await
                    .ok();
                app.post_empty(&format!("/v1/campaigns/{cmp}/approve"), Some(&reviewer))
                    .await
                    .ok();
                ids.push(cmp);
            }
            assert_eq!(app.tick().await.started, ROUNDS * 3);
            let mut rounds = Vec::new();
            for (n, trio) in ids.chunks(3).enumerate() {
                let gift = |cmp: &str, who: &str| {
                    let (app, partner) = (&app, &partner);
                    let cmp = cmp.to_string();
                    let email = format!("{who}{n}@example.org");
                    async move { app.pledge(partner, &cmp, GIFT, &email).await }
                };
                rounds.push(Round {
                    revoked_gift: gift(&trio[0], "r").await,
                    cancel_vs_revoke: trio[0].clone(),
                    crossing_gift: gift(&trio[1], "x").await,
                    cancel_vs_cross: trio[1].clone(),
                    deciding_gift: gift(&trio[2], "d").await,
                    decide_vs_cross: trio[2].clone(),
                });
            }

            let simulate = |payment: String| {
                let app = &app;
                let partner = &partner;
                async move {
                    let url = app.url(&format!("/v1/simulated/payments/{payment}"));
                    let res = insist(app, || {
                        app.client
                            .post(&url)
                            .bearer_auth(partner)
                            .json(&json!({"outcome": "succeed"}))
                    })
                    .await;
                    res.ok();
                }
            };
            // While the rounds run, the finance office reads the reconciliation report again
            // and again: every report is of one committed moment, so it is clean every time
            // (read across two moments, a reservation made between two of its checks shows
            // as a fund whose figures disagree with its ledger).
            let storm_over = std::sync::atomic::AtomicBool::new(false);
            let audit = async {
                let url = app.url("/v1/reconciliation");
                let mut reports = 0;
                while !storm_over.load(std::sync::atomic::Ordering::Relaxed) {
                    let res = insist(&app, || app.client.get(&url).bearer_auth(&finance)).await;
                    assert_eq!(res.ok()["ok"], true, "report {reports}: {}", res.body);
                    reports += 1;
                }
                reports
            };
            let storm = async {
                for (n, r) in rounds.iter().enumerate() {
                    // Before the round: the first campaign crosses (reserved, or queued when the
                    // budget is taken), the third reaches its end with its gift still pending.
                    simulate(pi(&r.revoked_gift)).await;
                    app.sql(&format!(
                        "UPDATE campaigns SET status = 'closing' WHERE id = '{}'",
                        r.decide_vs_cross
                    ))
                    .await;
                    let cancel = |cmp: String| {
                        let (app, admin) = (&app, &admin);
                        async move {
                            let url = app.url(&format!("/v1/campaigns/{cmp}/cancel"));
                            let res =
                                insist(app, || app.client.post(&url).bearer_auth(admin)).await;
                            assert!(
                                res.status == 200 || res.status == 409,
                                "{}: {}",
                                res.status,
                                res.body
                            );
                        }
                    };
                    let revoke = async {
                        let ev = refunded(
                            &format!("evt_storm_refund_{n}"),
                            &pi(&r.revoked_gift),
                            GIFT_MINOR,
                        );
                        deliver_concurrently(&app, vec![ev], 1).await;
                    };
                    let decide = async {
                        app.db
                            .run(|conn| cofund::jobs::run_matching(conn, Duration::ZERO, true))
                            .await
                            .unwrap();
                    };
                    let budget = async {
                        // Up and down by one top-up: a cut below what is promised is refused.
                        let figures = app
                            .get(&format!("/v1/funds/{}", c.fund), None)
                            .await
                            .ok()
                            .clone();
                        let now: i64 = figures["budget"]
                            .as_str()
                            .unwrap()
                            .replace('.', "")
                            .parse()
                            .unwrap();
                        let target = if n % 2 == 0 {
                            now + GIFT_MINOR
                        } else {
                            now - GIFT_MINOR
                        };
                        let target = target.max(GIFT_MINOR);
                        let url = app.url(&format!("/v1/funds/{}/budget", c.fund));
                        let body =
                            json!({"budget": format!("{}.{:02}", target / 100, target % 100)});
                        let res = insist(&app, || {
                            app.client.post(&url).bearer_auth(&finance).json(&body)
                        })
                        .await;
                        assert!(
                            matches!(res.status.as_u16(), 200 | 409 | 422),
                            "{}: {}",
                            res.status,
                            res.body
                        );
                    };
                    tokio::join!(
                        cancel(r.cancel_vs_revoke.clone()),
                        revoke,
                        cancel(r.cancel_vs_cross.clone()),
                        simulate(pi(&r.crossing_gift)),
                        simulate(pi(&r.deciding_gift)),
                        decide,
                        budget,
                    );
                }
                storm_over.store(true, std::sync::atomic::Ordering::Relaxed);
            };
            let ((), reports) = tokio::join!(storm, audit);
            assert!(reports > 0, "the reconciliation was read during the storm");

            // Afterwards: the jobs catch up (refunds sent and reported, waitlists served).
            for _ in 0..30 {
                if app.tick().await.is_empty() {
                    break;
                }
            }
            app.assert_reconciled().await;
            let all_refunds = app.count("refunds").await;
            assert_eq!(
                app.count("refunds WHERE status = 'succeeded'").await,
                all_refunds,
                "every refund went through"
            );

            // The journal: per campaign, what was reserved minus what was released or
            // committed is what the campaign holds now; nothing was released twice.
            let mut held: HashMap<String, (i64, i64, usize, usize)> = HashMap::new();
            for e in journal(&app).await {
                let Some(cmp) = e.campaign_id else { continue };
                let h = held.entry(cmp).or_default();
                match e.kind.as_str() {
                    "reserve" => {
                        h.0 += e.amount;
                        h.2 += 1;
                    }
                    "release" => {
                        h.0 -= e.amount;
                        h.3 += 1;
                    }
                    "commit" => {
                        h.0 -= e.amount;
                        h.1 += e.amount;
                    }
                    _ => {}
                }
            }
            for r in &rounds {
                for cmp in [&r.cancel_vs_revoke, &r.cancel_vs_cross] {
                    let view = app.campaign_view(cmp).await;
                    assert_eq!(view["status"], "cancelled");
                    assert!(
                        matches!(view["match"]["status"].as_str(), Some("none" | "revoked")),
                        "{view}"
                    );
                    assert_eq!(view["raised"], "0.00", "every donor was refunded: {view}");
                    let (reserved, committed, reserves, releases) =
                        held.get(cmp.as_str()).copied().unwrap_or_default();
                    assert_eq!((reserved, committed), (0, 0), "{cmp} still holds money");
                    assert_eq!(reserves, releases, "{cmp}: each reservation released once");
                }
                let view = app.campaign_view(&r.decide_vs_cross).await;
                let (reserved, committed, _, _) = held
                    .get(r.decide_vs_cross.as_str())
                    .copied()
                    .unwrap_or_default();
                assert_eq!(reserved, 0, "a decided campaign holds no reservation");
                match view["status"].as_str().unwrap() {
                    "succeeded" => {
                        // Decided after its crossing: its match was reserved with the crossing
                        // (or it was queued for lack of budget), never lost in between.
                        let decisions = app
                            .get(&format!("/v1/campaigns/{}/match", r.decide_vs_cross), None)
                            .await
                            .ok()["decisions"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|d| d["decision"].as_str().unwrap().to_string())
                            .collect::<Vec<_>>();
                        match view["match"]["status"].as_str().unwrap() {
                            "committed" => assert_eq!(committed, 1_000_000),
                            "none" => assert!(
                                decisions.contains(&"waitlist".to_string()),
                                "succeeded without a match and never queued: {decisions:?}"
                            ),
                            other => panic!("a succeeded campaign's match is {other}"),
                        }
                    }
                    "failed" => {
                        // Decided before its crossing: the late gift went back.
                        assert_eq!(view["raised"], "0.00", "{view}");
                        assert_eq!(committed, 0);
                    }
                    other => panic!("undecided campaign: {other}"),
                }
            }
        },
    )
    .await;
}

/// Refunds of one payment racing each other at the simulated provider (the demo's and these
/// tests' stand-in for Stripe) give back at most what was paid: of eight refunds of 60 % each,
/// one goes through and seven are refused, round after round, on both databases.
#[actix_web::test]
async fn racing_refunds_of_one_simulated_payment_never_give_back_more_than_it_paid() {
    each_backend(|app| async move {
        let c = city(&app, json!({})).await;
        let (_, partner) = app.partner("Racing Partner").await;
        let campaign = app.live_campaign(&c, json!({})).await;
        for round in 0..10 {
            let p = app
                .pledge(
                    &partner,
                    &campaign,
                    "10.00",
                    &format!("racer{round}@example.org"),
                )
                .await;
            let payment = pi(&p);
            app.post(
                &format!("/v1/simulated/payments/{payment}"),
                Some(&partner),
                json!({"outcome": "succeed"}),
            )
            .await
            .ok();
            let racers = (0..8).map(|n| {
                let provider = app.state.provider.clone();
                let payment = payment.clone();
                tokio::spawn(async move {
                    provider
                        .refund(&payment, 600, &format!("race-{n}-{payment}"))
                        .await
                        .is_ok()
                })
            });
            let mut accepted = 0;
            for racer in racers.collect::<Vec<_>>() {
                accepted += usize::from(racer.await.expect("a racer panicked"));
            }
            assert_eq!(
                accepted, 1,
                "round {round}: refunds of 6.00 from 10.00 accepted"
            );
            let refunded_once = app
                .count(&format!(
                    "simulated_payments WHERE id = '{payment}' AND refunded = 600"
                ))
                .await;
            assert_eq!(
                refunded_once, 1,
                "round {round}: the provider's refunded total"
            );
        }
    })
    .await;
}
