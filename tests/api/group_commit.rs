//! PostgreSQL's group commit: the statement that writes a batch of confirmations, driven
//! directly so that each case (two pledges of one donor, two campaigns, a stale read, a
//! duplicate event) is in one batch for certain. Concurrent deliveries through HTTP, which
//! form such batches by themselves, are covered in `pledges.rs` and `matching.rs`.

use crate::helpers::*;
use cofund::app::payment_events::facts_of;
use cofund::db::DbConnection;
use cofund::db::group_commit::{ConfirmJob, Outcome, confirm_together};
use cofund::db::models::PledgeRow;
use cofund::db::schema::pledges;
use cofund::domain::pledge::PaymentEvent;
use diesel::prelude::*;
use serde_json::json;

/// The job the webhook would submit for `payment_intent.succeeded` on this pending pledge.
fn job(p: &PledgeRow, event_id: &str) -> ConfirmJob {
    let before = facts_of(p);
    let after = before
        .apply(
            &PaymentEvent::Succeeded {
                amount: p.amount,
                currency: p.currency.code().to_string(),
            },
            p.currency.code(),
        )
        .unwrap();
    ConfirmJob {
        pledge_id: p.id.clone(),
        status: after.status(),
        facts: [after.paid, after.failed, after.canceled, after.expired],
        amount: p.amount,
        refunded: after.refunded,
        dispute: after.dispute,
        counted: after.counted(),
        confirmed_at: Some(cofund::http::views::now()),
        payment_id: p.provider_payment_id.clone(),
        event_id: event_id.to_string(),
        event_type: "payment_intent.succeeded".into(),
        event_payment: p.provider_payment_id.clone(),
        event_payload: json!({"id": event_id}).to_string(),
        campaign_id: p.campaign_id.clone(),
        donor_key: p.donor_key.clone(),
        new_donor: true,
        delta: after.counted(),
        was: [before.paid, before.failed, before.canceled, before.expired],
        was_refunded: before.refunded,
        was_dispute: before.dispute,
        messages: cofund::notify::pledge_change_messages(p, &before, &after, false),
    }
}

async fn run(app: &TestApp, jobs: Vec<ConfirmJob>) -> Result<Vec<Outcome>, String> {
    let db = app.db.clone();
    db.run(move |conn| {
        use diesel::Connection;
        let refs: Vec<&ConfirmJob> = jobs.iter().collect();
        // As `payment_events::process` runs a batch: the statement, then what the rules do
        // after it (matches, late money, receipts), in one transaction.
        let result = conn.transaction(|conn| -> diesel::QueryResult<Vec<Outcome>> {
            let DbConnection::Postgresql(pg) = conn else {
                unreachable!("PostgreSQL only")
            };
            let outcomes = confirm_together(pg, &refs)?;
            cofund::app::payment_events::follow_up(conn, &refs, &outcomes)?;
            Ok(outcomes)
        });
        Ok::<_, cofund::db::DbError>(result.map_err(|e| e.to_string()))
    })
    .await
    .unwrap()
}

async fn pledge_rows(app: &TestApp, ids: &[String]) -> Vec<PledgeRow> {
    let (db, ids) = (app.db.clone(), ids.to_vec());
    db.run(move |conn| {
        let mut rows: Vec<PledgeRow> = pledges::table
            .filter(pledges::id.eq_any(&ids))
            .select(PledgeRow::as_select())
            .load(conn)?;
        rows.sort_by_key(|r| ids.iter().position(|i| *i == r.id));
        Ok::<_, cofund::db::DbError>(rows)
    })
    .await
    .unwrap()
}

#[actix_web::test]
async fn one_statement_confirms_a_batch_exactly_as_one_by_one_would() {
    each_backend(|app| async move {
        if app.backend_name != "postgres" {
            return; // SQLite writes each confirmation in its own transaction.
        }
        let c = city(&app, json!({})).await;
        let a = app.live_campaign(&c, json!({})).await;
        let b = app.live_campaign(&c, json!({})).await;
        let (_, partner) = app.partner("P").await;
        let mut ids = Vec::new();
        for (campaign, amount, email) in [
            (&a, "10.00", "x@example.org"),
            (&a, "20.00", "x@example.org"),
            (&a, "30.00", "y@example.org"),
            (&b, "40.00", "z@example.org"),
            (&a, "50.00", "w@example.org"),
            (&a, "60.00", "v@example.org"),
        ] {
            ids.push(
                app.pledge(&partner, campaign, amount, email).await["id"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
        let rows = pledge_rows(&app, &ids).await;
        let mut jobs: Vec<ConfirmJob> = rows
            .iter()
            .enumerate()
            .map(|(i, p)| job(p, &format!("evt_batch_{i}")))
            .collect();
        // Jobs 0 and 1 are two pledges of donor x: the batch must count x once as a donor.
        // Read before another delivery moved it: stale facts, so nothing may be written for it.
        jobs[4].was[0] = true;
        let (first, rest) = jobs.split_at(5);
        let outcomes = run(&app, first.to_vec()).await.unwrap();
        let applied: Vec<bool> = outcomes
            .iter()
            .map(|o| matches!(o, Outcome::Applied(_)))
            .collect();
        assert_eq!(applied, [true, true, true, true, false]);
        // Each job sees its campaign after the whole batch.
        let Outcome::Applied(after_a) = &outcomes[0] else {
            unreachable!()
        };
        assert_eq!(after_a.raised, 6000);
        assert_eq!(after_a.donors, 2);
        let Outcome::Applied(after_b) = &outcomes[3] else {
            unreachable!()
        };
        assert_eq!((after_b.raised, after_b.donors), (4000, 1));

        let view = app.campaign_view(&a).await;
        assert_eq!(
            (view["raised"].as_str(), view["donors"].as_i64()),
            (Some("60.00"), Some(2))
        );
        assert_eq!(app.campaign_view(&b).await["raised"], "40.00");
        assert_eq!(
            app.count(&format!(
                "campaign_donors WHERE campaign_id = '{a}' AND pledges = 2"
            ))
            .await,
            1
        );
        assert_eq!(
            app.count("provider_events WHERE id LIKE 'evt_batch_%'")
                .await,
            4
        );
        assert_eq!(
            app.count("provider_events WHERE id = 'evt_batch_4'").await,
            0
        );
        // One receipt per confirmed pledge, none for the stale one.
        for (i, id) in ids.iter().enumerate().take(5) {
            let queued = app
                .count(&format!(
                    "outbox WHERE topic = 'donor_receipt' AND payload LIKE '%{id}%'"
                ))
                .await;
            assert_eq!(queued, i64::from(i != 4), "receipts for pledge {i}");
        }
        assert_eq!(
            app.count(&format!(
                "pledges WHERE id = '{}' AND status = 'pending'",
                ids[4]
            ))
            .await,
            1
        );
        app.assert_reconciled().await;

        // All or nothing: one event id already stored fails the whole batch, and the other
        // confirmation in it is not written either.
        let fresh = job(&pledge_rows(&app, &ids[4..5]).await[0], "evt_batch_fresh");
        let mut replayed = rest[0].clone();
        replayed.event_id = "evt_batch_0".into();
        let err = run(&app, vec![fresh, replayed]).await.unwrap_err();
        assert!(err.contains("provider_events"), "{err}");
        assert_eq!(app.count("pledges WHERE status = 'pending'").await, 2);
        assert_eq!(app.campaign_view(&a).await["raised"], "60.00");
        assert_eq!(
            app.count("provider_events WHERE id LIKE 'evt_batch_%'")
                .await,
            4
        );
        app.assert_reconciled().await;
    })
    .await;
}

/// Runs one provider event through the statement path exactly as a leader does (a batch of one).
async fn confirm_as_leader(app: &TestApp, event: serde_json::Value) {
    let body = event.to_string();
    let db = app.db.clone();
    db.run(move |conn| {
        let request = cofund::db::group_commit::Request {
            event: cofund::providers::events::parse(body.as_bytes()).unwrap(),
            payload: body,
        };
        let confirmed = cofund::app::payment_events::confirm_alone(conn, &request)?;
        assert!(
            matches!(
                confirmed,
                cofund::db::group_commit::Confirmation::Planned {
                    outcome: Outcome::Applied(_),
                    ..
                }
            ),
            "{confirmed:?}"
        );
        Ok::<_, cofund::db::DbError>(())
    })
    .await
    .unwrap();
}

#[actix_web::test]
async fn a_batched_crossing_reserves_and_late_money_is_refunded_in_the_batch_transaction() {
    each_backend(|app| async move {
        if app.backend_name != "postgres" {
            return; // SQLite confirms through the transactional path only.
        }
        let c = city(&app, json!({})).await;
        let live = app.live_campaign(&c, json!({})).await;
        let gone = app.live_campaign(&c, json!({})).await;
        let (_, partner) = app.partner("P").await;
        let crossing = app
            .pledge(&partner, &live, "20000.00", "a@example.org")
            .await;
        let late = app.pledge(&partner, &gone, "25.00", "b@example.org").await;
        let admin = app.admin().await;
        app.post_empty(&format!("/v1/campaigns/{gone}/cancel"), Some(&admin))
            .await
            .ok();
        // When the statement's transaction commits, the crossing's match is already reserved:
        // no decision can come between the confirmation and its reservation.
        confirm_as_leader(&app, succeeded("evt_cross", &pi(&crossing), 2_000_000)).await;
        let view = app.campaign_view(&live).await;
        assert_eq!(
            view["match"],
            json!({"status": "reserved", "amount": "20000.00"})
        );
        // Money for the cancelled campaign is counted and queued for refund in the same
        // transaction.
        confirm_as_leader(&app, succeeded("evt_late", &pi(&late), 2_500)).await;
        assert_eq!(
            app.count(&format!(
                "refunds WHERE pledge_id = '{}' AND amount = 2500 AND status = 'pending'",
                late["id"].as_str().unwrap()
            ))
            .await,
            1
        );
        app.assert_reconciled().await;
    })
    .await;
}
