use crate::helpers::*;
use serde_json::json;

fn asso(iban: &str, tax_code: &str) -> serde_json::Value {
    json!({"name": "Associazione Àurora & Co.", "tax_code": tax_code, "iban": iban, "email": "info@aurora.example"})
}

#[actix_web::test]
async fn admin_registers_associations_with_valid_bank_and_tax_details() {
    each_backend(|app| async move {
        let admin = app.admin().await;
        let res = app
            .post(
                "/v1/associations",
                Some(&admin),
                json!({"name": "Aurora APS", "tax_code": "rssmra85t10a562s", "iban": "it60 x054 2811 1010 0000 0123 456", "bic": "bppiitrrxxx", "email": "info@aurora.example"}),
            )
            .await;
        assert_eq!(res.status, 201);
        let a = res.ok();
        assert!(a["id"].as_str().unwrap().starts_with("asso_"));
        // Stored normalised.
        assert_eq!(a["iban"], "IT60X0542811101000000123456");
        assert_eq!(a["tax_code"], "RSSMRA85T10A562S");
        assert_eq!(a["bic"], "BPPIITRRXXX");
    })
    .await;
}

#[actix_web::test]
async fn bad_iban_tax_code_or_email_is_422_and_creates_nothing() {
    each_backend(|app| async move {
        let admin = app.admin().await;
        let cases = [
            (asso("IT60X0542811101000000123457", "12345678903"), "iban"),
            (asso("IT60X05428111010000001234", "12345678903"), "iban"),
            (asso("not an iban", "12345678903"), "iban"),
            (
                asso("IT60X0542811101000000123456", "12345678904"),
                "tax_code",
            ),
            (asso("IT60X0542811101000000123456", "ABC"), "tax_code"),
            (
                asso("IT60X0542811101000000123456", "RSSMRA85T10A562X"),
                "tax_code",
            ),
        ];
        for (body, field) in cases {
            let res = app
                .post("/v1/associations", Some(&admin), body.clone())
                .await;
            res.assert_problem(422, "validation_failed");
            assert_eq!(res.error_fields(), vec![field], "{body}");
        }
        let mut body = asso("IT60X0542811101000000123456", "12345678903");
        body["email"] = json!("not-an-email");
        let res = app.post("/v1/associations", Some(&admin), body).await;
        assert_eq!(res.error_fields(), vec!["email"]);
        assert_eq!(app.count("associations").await, 0);
    })
    .await;
}

#[actix_web::test]
async fn tax_codes_are_unique_and_only_admins_register() {
    each_backend(|app| async move {
        let admin = app.admin().await;
        let body = asso("IT60X0542811101000000123456", "12345678903");
        assert_eq!(
            app.post("/v1/associations", Some(&admin), body.clone())
                .await
                .status,
            201
        );
        app.post("/v1/associations", Some(&admin), body.clone())
            .await
            .assert_problem(409, "tax_code_taken");
        let finance = app.staff("finance").await;
        app.post("/v1/associations", Some(&finance), body.clone())
            .await
            .assert_problem(403, "forbidden");
        assert_eq!(app.count("associations").await, 1);
    })
    .await;
}

#[actix_web::test]
async fn members_log_in_and_see_only_their_own_association() {
    each_backend(|app| async move {
        let (a, member_a) = app.association("A APS", "12345678903").await;
        let (b, _member_b) = app.association("B APS", "00743110157").await;
        let me = app.get("/v1/users/me", Some(&member_a)).await;
        assert_eq!(me.ok()["role"], "association");
        assert_eq!(me.body["association_id"], a.as_str());

        assert_eq!(app.get(&format!("/v1/associations/{a}"), Some(&member_a)).await.ok()["id"], a.as_str());
        app.get(&format!("/v1/associations/{b}"), Some(&member_a))
            .await
            .assert_problem(403, "forbidden");
        let listed = app.get("/v1/associations", Some(&member_a)).await;
        let ids: Vec<_> = listed.ok()["data"].as_array().unwrap().iter().map(|x| x["id"].clone()).collect();
        assert_eq!(ids, vec![json!(a)]);
        let members = app.get(&format!("/v1/associations/{a}/members"), Some(&member_a)).await;
        assert_eq!(members.ok().as_array().unwrap().len(), 1);
        assert!(members.body[0].get("password_hash").is_none());
        app.get(&format!("/v1/associations/{b}/members"), Some(&member_a))
            .await
            .assert_problem(403, "forbidden");

        // Members cannot add members, even to their own association.
        app.post(
            &format!("/v1/associations/{a}/members"),
            Some(&member_a),
            json!({"username": "intruder", "password": "long-enough-pass", "email": "x@example.org"}),
        )
        .await
        .assert_problem(403, "forbidden");
        // Anonymous callers see no associations.
        app.get("/v1/associations", None).await.assert_problem(401, "unauthorized");
        let reviewer = app.staff("reviewer").await;
        let all = app.get("/v1/associations", Some(&reviewer)).await;
        assert_eq!(all.ok()["data"].as_array().unwrap().len(), 2);
    })
    .await;
}

#[actix_web::test]
async fn adding_a_member_validates_and_needs_an_existing_association() {
    each_backend(|app| async move {
        let admin = app.admin().await;
        let (a, _) = app.association("A APS", "12345678903").await;
        let users_before = app.count("users").await;
        app.post(
            "/v1/associations/asso_missing/members",
            Some(&admin),
            json!({"username": "newbie", "password": "long-enough-pass", "email": "n@example.org"}),
        )
        .await
        .assert_problem(404, "not_found");
        let res = app
            .post(
                &format!("/v1/associations/{a}/members"),
                Some(&admin),
                json!({"username": "Bad Name!", "password": "short", "email": "nope"}),
            )
            .await;
        res.assert_problem(422, "validation_failed");
        assert_eq!(res.error_fields(), vec!["username", "password", "email"]);
        assert_eq!(app.count("users").await, users_before);
    })
    .await;
}

#[actix_web::test]
async fn partner_secrets_are_shown_once_and_stored_hashed() {
    each_backend(|app| async move {
        let admin = app.admin().await;
        let res = app
            .post(
                "/v1/partners",
                Some(&admin),
                json!({"name": "Rete del Dono", "webhook_url": "https://partner.example/hooks"}),
            )
            .await;
        assert_eq!(res.status, 201);
        let secret = res.body["client_secret"].as_str().unwrap().to_string();
        assert!(
            res.body["webhook_secret"]
                .as_str()
                .unwrap()
                .starts_with("whsec_")
        );
        let listed = app.get("/v1/partners", Some(&admin)).await;
        let text = listed.ok().to_string();
        assert!(!text.contains(&secret));
        assert!(!text.contains("client_secret"));
        assert!(!text.contains("webhook_secret"));
        app.post(
            "/v1/partners",
            Some(&admin),
            json!({"name": "X", "webhook_url": "ftp://x"}),
        )
        .await
        .assert_problem(422, "validation_failed");
        let finance = app.staff("finance").await;
        app.post("/v1/partners", Some(&finance), json!({"name": "X"}))
            .await
            .assert_problem(403, "forbidden");
        app.get("/v1/partners", Some(&finance))
            .await
            .assert_problem(403, "forbidden");
    })
    .await;
}
