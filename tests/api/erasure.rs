//! Erasure means erased everywhere: after `POST /v1/donors/erase` no row of any table and no
//! file in the mail folder contains the donor's address.

use crate::helpers::*;
use serde_json::json;

#[derive(diesel::QueryableByName)]
struct Column {
    #[diesel(sql_type = diesel::sql_types::Text)]
    table_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    column_name: String,
}

#[derive(diesel::QueryableByName)]
struct N {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Every `table.column` of the database whose text contains `needle` (case-insensitive).
async fn columns_containing(app: &TestApp, needle: &str) -> Vec<String> {
    let db = app.db.clone();
    let needle = needle.to_lowercase();
    tokio::task::spawn_blocking(move || {
        use diesel::RunQueryDsl;
        let mut conn = db.get().unwrap();
        let conn: &mut cofund::db::DbConnection = &mut conn;
        let columns: Vec<Column> = match conn {
            cofund::db::DbConnection::Postgresql(c) => diesel::sql_query(
                "SELECT table_name::text AS table_name, column_name::text AS column_name \
                 FROM information_schema.columns WHERE table_schema = 'public'",
            )
            .load(c)
            .unwrap(),
            cofund::db::DbConnection::Sqlite(c) => diesel::sql_query(
                "SELECT m.name AS table_name, p.name AS column_name \
                 FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table'",
            )
            .load(c)
            .unwrap(),
        };
        assert!(columns.len() > 50, "the scan sees every table");
        let mut found = Vec::new();
        for c in columns {
            let q = format!(
                "SELECT COUNT(*) AS n FROM \"{}\" WHERE lower(CAST(\"{}\" AS TEXT)) LIKE '%{needle}%'",
                c.table_name, c.column_name
            );
            let n = match conn {
                cofund::db::DbConnection::Postgresql(pg) => {
                    diesel::sql_query(&q).get_result::<N>(pg).unwrap().n
                }
                cofund::db::DbConnection::Sqlite(s) => {
                    diesel::sql_query(&q).get_result::<N>(s).unwrap().n
                }
            };
            if n > 0 {
                found.push(format!("{}.{}", c.table_name, c.column_name));
            }
        }
        found.sort();
        found
    })
    .await
    .unwrap()
}

/// E-mails in the mail folder that contain `needle` (case-insensitive).
fn mail_containing(app: &TestApp, needle: &str) -> usize {
    let needle = needle.to_lowercase();
    app.mails()
        .iter()
        .filter(|m| m.to_lowercase().contains(&needle))
        .count()
}

#[actix_web::test]
async fn an_erased_donor_leaves_no_row_and_no_file_with_their_address() {
    each_backend(|app| async move {
        let address = "Maria.Rossi@Example.org";
        let c = city(&app, json!({})).await;
        let (_, partner) = app.partner("P").await;
        let cmp = app.live_campaign(&c, json!({})).await;
        let res = app
            .send(
                app.client
                    .post(app.url(&format!("/v1/campaigns/{cmp}/pledges")))
                    .bearer_auth(&partner)
                    .header("Idempotency-Key", "erase-me")
                    .json(
                        &json!({"amount": "25.00", "message": "Forza! maria.rossi@example.org",
                                  "donor": {"name": "Maria Rossi", "email": address,
                                            "contact_consent": true}}),
                    ),
            )
            .await;
        assert_eq!(res.status, 201, "{}", res.body);
        let p = res.body;
        // The provider's event carries her billing details, as Stripe's do.
        let mut paid = succeeded("evt_erase_1", &pi(&p), 2_500);
        paid["data"]["object"]["receipt_email"] = json!(address);
        paid["data"]["object"]["charges"] = json!({"data": [{"billing_details":
            {"email": address, "name": "Maria Rossi"}}]});
        app.webhook(&paid).await.ok();
        // Her receipt is sent (to the mail folder, as no SMTP relay is configured).
        app.tick().await;
        assert!(mail_containing(&app, address) >= 1);
        let before = columns_containing(&app, address).await;
        assert!(before.contains(&"donors.email".to_string()), "{before:?}");
        assert!(
            before.contains(&"outbox.recipient".to_string()),
            "{before:?}"
        );
        assert!(
            before.contains(&"pledges.message".to_string()),
            "{before:?}"
        );

        let admin = app.admin().await;
        let erased = app
            .post("/v1/donors/erase", Some(&admin), json!({"email": address}))
            .await;
        assert_eq!(erased.ok()["erased"], 1);
        assert_eq!(
            columns_containing(&app, address).await,
            Vec::<String>::new()
        );
        assert_eq!(
            columns_containing(&app, "Maria Rossi").await,
            Vec::<String>::new()
        );
        assert_eq!(mail_containing(&app, address), 0);
        // The money is untouched.
        assert_eq!(app.campaign_view(&cmp).await["raised"], "25.00");
        app.assert_reconciled().await;
    })
    .await;
}

#[actix_web::test]
async fn provider_events_are_forgotten_after_the_retention_period() {
    each_backend(|app| async move {
        for n in 0..3 {
            app.webhook(&json!({"id": format!("evt_old_{n}"), "type": "customer.created",
                                "data": {"object": {}}}))
                .await
                .ok();
        }
        app.webhook(&json!({"id": "evt_recent", "type": "customer.created", "data": {"object": {}}}))
            .await
            .ok();
        app.sql(
            "UPDATE provider_events SET received_at = '2020-01-01 00:00:00' WHERE id LIKE 'evt_old_%'",
        )
        .await;
        app.tick().await;
        assert_eq!(app.count("provider_events").await, 1);
        assert_eq!(app.count("provider_events WHERE id = 'evt_recent'").await, 1);
    })
    .await;
}
