use crate::helpers::*;
use serde_json::json;

#[actix_web::test]
async fn admin_creates_areas_and_the_public_finds_them_by_point() {
    each_backend(|app| async move {
        let admin = app.admin().await;
        let res = app
            .post(
                "/v1/areas",
                Some(&admin),
                json!({"code": "TO-AURORA", "name": "Aurora", "geometry": square(45.085, 7.69, 0.005)}),
            )
            .await;
        assert_eq!(res.status, 201);
        let aurora = res.body["id"].as_str().unwrap().to_string();
        assert!(aurora.starts_with("area_"));
        assert_eq!(res.body["geometry"]["type"], "Polygon");
        let vallette = app.area("TO-VALLETTE", 45.112, 7.635, 0.005).await;

        let inside = app.get("/v1/areas?contains=45.085,7.69", None).await;
        let ids: Vec<_> = inside.ok()["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(ids, vec![aurora.clone()]);
        let nowhere = app.get("/v1/areas?contains=41.9,12.5", None).await;
        assert_eq!(nowhere.ok()["data"].as_array().unwrap().len(), 0);

        let all = app.get("/v1/areas", None).await;
        assert_eq!(all.ok()["data"].as_array().unwrap().len(), 2);
        assert!(all.body["next_cursor"].is_null());
        let one = app.get(&format!("/v1/areas/{vallette}"), None).await;
        assert_eq!(one.ok()["code"], "TO-VALLETTE");
    })
    .await;
}

#[actix_web::test]
async fn invalid_geometry_is_422_and_creates_nothing() {
    each_backend(|app| async move {
        let admin = app.admin().await;
        let cases = [
            json!({"type": "Point", "coordinates": [7.68, 45.07]}),
            json!({"type": "Polygon", "coordinates": [[[7.6, 45.0], [7.7, 45.0], [7.7, 45.1], [7.6, 45.1]]]}),
            json!({"type": "Polygon", "coordinates": [[[0.0, 0.0], [1.0, 1.0], [1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]]}),
            json!({"type": "Polygon", "coordinates": [[[190.0, 45.0], [191.0, 45.0], [191.0, 46.0], [190.0, 45.0]]]}),
            json!({"type": "Polygon", "coordinates": "nope"}),
            json!("Polygon"),
        ];
        for geometry in cases {
            let res = app
                .post(
                    "/v1/areas",
                    Some(&admin),
                    json!({"code": "BAD", "name": "Bad", "geometry": geometry}),
                )
                .await;
            res.assert_problem(422, "validation_failed");
            assert_eq!(res.error_fields(), vec!["geometry"], "{}", res.body);
        }
        assert_eq!(app.count("areas").await, 0);
    })
    .await;
}

#[actix_web::test]
async fn only_admins_write_areas_and_codes_are_unique() {
    each_backend(|app| async move {
        let body =
            json!({"code": "TO-AURORA", "name": "Aurora", "geometry": square(45.085, 7.69, 0.005)});
        app.post("/v1/areas", None, body.clone())
            .await
            .assert_problem(401, "unauthorized");
        let reviewer = app.staff("reviewer").await;
        app.post("/v1/areas", Some(&reviewer), body.clone())
            .await
            .assert_problem(403, "forbidden");
        let admin = app.admin().await;
        assert_eq!(
            app.post("/v1/areas", Some(&admin), body.clone())
                .await
                .status,
            201
        );
        app.post("/v1/areas", Some(&admin), body.clone())
            .await
            .assert_problem(409, "area_code_taken");
        assert_eq!(app.count("areas").await, 1);
        app.get("/v1/areas?contains=45.1", None)
            .await
            .assert_problem(422, "validation_failed");
        app.get("/v1/areas?limit=500", None)
            .await
            .assert_problem(422, "validation_failed");
        app.get("/v1/areas?colour=red", None)
            .await
            .assert_problem(422, "validation_failed");
    })
    .await;
}

#[actix_web::test]
async fn feature_collection_import_is_all_or_nothing_and_updates_by_code() {
    each_backend(|app| async move {
        let admin = app.admin().await;
        let turin: serde_json::Value =
            serde_json::from_str(include_str!("../../src/demo/turin_areas.geojson")).unwrap();
        let res = app.post("/v1/areas/import", Some(&admin), turin.clone()).await;
        assert_eq!(res.ok()["created"], 5);
        assert_eq!(app.count("areas").await, 5);
        // San Salvario contains a point south of Porta Nuova; Aurora does not.
        let hits = app.get("/v1/areas?contains=45.0560,7.6829", None).await;
        let codes: Vec<_> = hits.ok()["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["code"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(codes, vec!["TO-SAN-SALVARIO"]);

        // Re-importing updates in place.
        let res = app.post("/v1/areas/import", Some(&admin), turin.clone()).await;
        assert_eq!(res.ok()["updated"], 5);
        assert_eq!(app.count("areas").await, 5);

        // One bad feature rejects the whole file.
        let bad = json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"code": "NEW-1", "name": "New"}, "geometry": square(45.0, 7.0, 0.01)},
            {"type": "Feature", "properties": {"name": "No code"}, "geometry": square(45.2, 7.2, 0.01)},
            {"type": "Feature", "properties": {"code": "NEW-3", "name": "Line"}, "geometry": {"type": "LineString", "coordinates": [[7.0, 45.0], [7.1, 45.1]]}}
        ]});
        let res = app.post("/v1/areas/import", Some(&admin), bad).await;
        res.assert_problem(422, "validation_failed");
        assert_eq!(
            res.error_fields(),
            vec!["features[1].properties.code", "features[2].geometry"]
        );
        assert_eq!(app.count("areas").await, 5);
        let reviewer = app.staff("reviewer").await;
        app.post("/v1/areas/import", Some(&reviewer), turin)
            .await
            .assert_problem(403, "forbidden");
    })
    .await;
}

#[actix_web::test]
async fn a_moved_area_is_found_at_its_new_place_at_once_on_every_replica() {
    each_backend(|app| async move {
        let admin = app.admin().await;
        let file = |lat: f64| {
            json!({"type": "FeatureCollection", "features": [
                {"type": "Feature", "properties": {"code": "TO-MOVE", "name": "Moving"}, "geometry": square(lat, 7.6, 0.01)}
            ]})
        };
        app.post("/v1/areas/import", Some(&admin), file(45.0))
            .await
            .ok();
        let found = |res: Response| -> Vec<String> {
            res.ok()["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["code"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(
            found(app.get("/v1/areas?contains=45.0,7.6", None).await),
            vec!["TO-MOVE"]
        );
        // Another replica's index, built before the move.
        let replica = std::sync::Arc::new(cofund::app::cache::AreaCatalog::new(
            cofund::db::WriteEpoch::default(),
        ));
        let point = cofund::domain::area::LatLon::new(45.0, 7.6).unwrap();
        let r = replica.clone();
        let before = app
            .db
            .read(move |conn| r.current(conn, cofund::http::controllers::areas::render_area).map(|i| i.containing(point).count()))
            .await
            .unwrap();
        assert_eq!(before, 1);

        // Re-imported two tenths of a degree north.
        let res = app.post("/v1/areas/import", Some(&admin), file(45.2)).await;
        assert_eq!(res.ok()["updated"], 1);
        assert!(found(app.get("/v1/areas?contains=45.0,7.6", None).await).is_empty());
        assert_eq!(
            found(app.get("/v1/areas?contains=45.2,7.6", None).await),
            vec!["TO-MOVE"]
        );
        let after = app
            .db
            .read(move |conn| replica.current(conn, cofund::http::controllers::areas::render_area).map(|i| i.containing(point).count()))
            .await
            .unwrap();
        assert_eq!(after, 0, "the other replica still answers from the old shape");

        // Served from the index, an area reads exactly as it does by id, and pages by cursor.
        let overlapping = json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"code": "TO-WIDE", "name": "Wide"}, "geometry": square(45.2, 7.6, 0.05)}
        ]});
        app.post("/v1/areas/import", Some(&admin), overlapping)
            .await
            .ok();
        let first = app.get("/v1/areas?contains=45.2,7.6&limit=1", None).await;
        let first = first.ok().clone();
        assert_eq!(first["data"].as_array().unwrap().len(), 1);
        let cursor = first["next_cursor"].as_str().expect("a second page").to_string();
        let second = app
            .get(&format!("/v1/areas?contains=45.2,7.6&limit=1&cursor={cursor}"), None)
            .await;
        let second = second.ok().clone();
        assert_eq!(second["data"].as_array().unwrap().len(), 1);
        assert!(second["next_cursor"].is_null());
        let mut codes = Vec::new();
        for item in [&first["data"][0], &second["data"][0]] {
            let by_id = app
                .get(&format!("/v1/areas/{}", item["id"].as_str().unwrap()), None)
                .await;
            assert_eq!(by_id.ok(), item);
            codes.push(item["code"].as_str().unwrap().to_string());
        }
        codes.sort();
        assert_eq!(codes, vec!["TO-MOVE", "TO-WIDE"]);
    })
    .await;
}
