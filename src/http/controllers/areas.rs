//! Target areas: the neighbourhoods a programme is aimed at, as GeoJSON polygons.

use crate::app::AppState;
use crate::db::models::AreaRow;
use crate::db::queries::audit;
use crate::db::schema::areas;
use crate::db::write_tx;
use crate::domain::area::{AreaGeometry, LatLon};
use crate::domain::ids;
use crate::domain::role::Role;
use crate::http::error::{ApiError, ApiResult, FieldError};
use crate::http::extract::{ApiJson, Page, Principal, check_limit};
use crate::http::views::{now, ts};
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateArea {
    /// Short unique code, e.g. `TO-AURORA`.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub code: String,
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: String,
    /// GeoJSON Polygon or MultiPolygon (WGS84, [lon, lat]).
    #[schema(value_type = Object)]
    pub geometry: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AreaView {
    pub id: String,
    pub code: String,
    pub name: String,
    /// GeoJSON Polygon or MultiPolygon, as validated when it was written.
    #[schema(value_type = Object)]
    pub geometry: Box<serde_json::value::RawValue>,
    pub created_at: DateTime<Utc>,
}

impl From<AreaRow> for AreaView {
    fn from(r: AreaRow) -> AreaView {
        AreaView {
            // Served as stored (we wrote it, normalised): no parse into a tree and back.
            geometry: serde_json::value::RawValue::from_string(r.geometry)
                .unwrap_or_else(|_| serde_json::value::to_raw_value(&()).expect("null")),
            id: r.id,
            code: r.code,
            name: r.name,
            created_at: ts(r.created_at),
        }
    }
}

pub type AreaPage = Page<AreaView>;

/// An area as the public reads it, serialised: what the area index serves.
pub fn render_area(row: AreaRow) -> actix_web::web::Bytes {
    actix_web::web::Bytes::from(
        serde_json::to_vec(&AreaView::from(row)).expect("an area serialises"),
    )
}

fn check_code_and_name(code: &str, name: &str, prefix: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if code.is_empty()
        || code.len() > 64
        || !code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        errors.push(FieldError::new(
            format!("{prefix}code"),
            "1–64 characters: letters, digits, '-' or '_'",
        ));
    }
    if name.trim().is_empty() || name.chars().count() > 200 {
        errors.push(FieldError::new(format!("{prefix}name"), "1–200 characters"));
    }
    errors
}

/// Create a target area (admin).
///
/// 422 when the geometry is not a valid GeoJSON Polygon or MultiPolygon: rings closed and of at
/// least four positions, no self-intersection, WGS84 bounds, at most 50,000 vertices.
#[utoipa::path(
    tag = "areas",
    request_body = CreateArea,
    security(("bearer" = [])),
    responses(
        (status = 201, body = AreaView),
        (status = 403, description = "Not an admin", body = crate::http::error::Problem),
        (status = 409, description = "Code already used", body = crate::http::error::Problem),
        (status = 422, description = "Invalid geometry or fields", body = crate::http::error::Problem),
    )
)]
#[post("/areas")]
pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    body: ApiJson<CreateArea, IMPORT_LIMIT>,
) -> ApiResult<HttpResponse> {
    principal.require(&[Role::Admin])?;
    let body = body.into_inner();
    let mut errors = check_code_and_name(&body.code, &body.name, "");
    // Validity checking grows with the square of the vertex count: off the async workers.
    let (body, checked) = off_the_workers(move || {
        let checked = AreaGeometry::from_geojson(&body.geometry);
        (body, checked)
    })
    .await?;
    let geometry = match checked {
        Ok(g) => Some(g),
        Err(e) => {
            errors.push(FieldError::new("geometry", e));
            None
        }
    };
    let (Some(geometry), true) = (geometry, errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    let row = AreaRow {
        id: ids::new_id(ids::AREA),
        code: body.code,
        name: body.name.trim().to_string(),
        geometry: geometry.to_geojson().to_string(),
        created_at: now(),
    };
    let row = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| -> ApiResult<AreaRow> {
                let taken = areas::table
                    .filter(areas::code.eq(&row.code))
                    .count()
                    .get_result::<i64>(conn)?;
                if taken > 0 {
                    return Err(ApiError::conflict(
                        "area_code_taken",
                        "an area with this code already exists",
                    ));
                }
                diesel::insert_into(areas::table)
                    .values(&row)
                    .execute(conn)?;
                audit(conn, &principal, "area.create", "area", &row.id, None)?;
                Ok(row)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(AreaView::from(row)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct FeatureCollectionBody {
    /// Always `FeatureCollection`.
    #[serde(rename = "type")]
    #[schema(pattern = "^FeatureCollection$")]
    pub type_: String,
    #[schema(value_type = Vec<Object>)]
    pub features: Vec<serde_json::Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResult {
    pub created: usize,
    pub updated: usize,
    pub data: Vec<AreaView>,
}

/// The largest neighbourhood file an import takes (a whole city's open-data file).
pub const IMPORT_LIMIT: usize = 16 * 1024 * 1024;

/// Import a city's open-data FeatureCollection of neighbourhoods (admin).
///
/// Each feature needs `code` and `name` properties and a Polygon or MultiPolygon geometry.
/// Areas whose code already exists are updated (name and geometry). All or nothing: one bad
/// feature rejects the whole file.
#[utoipa::path(
    tag = "areas",
    request_body(content = FeatureCollectionBody, description = "GeoJSON FeatureCollection (at most 16 MiB; at most 50,000 vertices per area)"),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ImportResult),
        (status = 413, description = "Body larger than 16 MiB", body = crate::http::error::Problem),
        (status = 403, body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[post("/areas/import")]
pub async fn import(
    state: web::Data<AppState>,
    principal: Principal,
    body: ApiJson<FeatureCollectionBody, IMPORT_LIMIT>,
) -> ApiResult<HttpResponse> {
    let v = import_areas(&state, principal, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(v))
}

/// The use case behind the route, for the API and the console alike.
pub(crate) async fn import_areas(
    state: &AppState,
    principal: Principal,
    body: FeatureCollectionBody,
) -> ApiResult<ImportResult> {
    principal.require(&[Role::Admin])?;
    if body.type_ != "FeatureCollection" {
        return Err(ApiError::validation("type", "must be FeatureCollection"));
    }
    if body.features.is_empty() {
        return Err(ApiError::validation("features", "must not be empty"));
    }
    // Validity checking grows with the square of the vertex count: off the async workers.
    let parsed = off_the_workers(move || check_features(&body.features)).await??;
    let (created, updated, rows) = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| -> ApiResult<(usize, usize, Vec<AreaRow>)> {
                let (mut created, mut updated, mut rows) = (0, 0, Vec::new());
                for (code, name, geometry) in parsed {
                    let existing: Option<AreaRow> = areas::table
                        .filter(areas::code.eq(&code))
                        .select(AreaRow::as_select())
                        .first(conn)
                        .optional()?;
                    let row = match existing {
                        Some(mut row) => {
                            diesel::update(areas::table.find(&row.id))
                                .set((
                                    areas::name.eq(&name),
                                    areas::geometry.eq(&geometry),
                                    // Tells every replica's area index it is stale.
                                    areas::revision.eq(areas::revision + 1),
                                ))
                                .execute(conn)?;
                            updated += 1;
                            row.name = name;
                            row.geometry = geometry;
                            row
                        }
                        None => {
                            let row = AreaRow {
                                id: ids::new_id(ids::AREA),
                                code,
                                name,
                                geometry,
                                created_at: now(),
                            };
                            diesel::insert_into(areas::table)
                                .values(&row)
                                .execute(conn)?;
                            created += 1;
                            row
                        }
                    };
                    rows.push(row);
                }
                audit(
                    conn,
                    &principal,
                    "area.import",
                    "area",
                    "*",
                    Some(format!("created {created}, updated {updated}")),
                )?;
                Ok((created, updated, rows))
            })
        })
        .await?;
    Ok(ImportResult {
        created,
        updated,
        data: rows.into_iter().map(AreaView::from).collect(),
    })
}

/// Checks every feature of an import: code and name properties, unique codes, valid geometry.
/// Returns (code, name, normalised GeoJSON) per feature, or every problem found.
fn check_features(features: &[serde_json::Value]) -> ApiResult<Vec<(String, String, String)>> {
    let mut errors = Vec::new();
    let mut parsed: Vec<(String, String, String)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, feature) in features.iter().enumerate() {
        let prefix = format!("features[{i}].");
        let props = feature.get("properties");
        let text = |k: &str| {
            props
                .and_then(|p| p.get(k))
                .and_then(|v| match v {
                    serde_json::Value::String(s) => Some(s.clone()),
                    serde_json::Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .unwrap_or_default()
        };
        let (code, name) = (text("code"), text("name"));
        let field_errors = check_code_and_name(&code, &name, &format!("{prefix}properties."));
        let no_errors = field_errors.is_empty();
        errors.extend(field_errors);
        if no_errors && !seen.insert(code.clone()) {
            errors.push(FieldError::new(
                format!("{prefix}properties.code"),
                "duplicate code in this file",
            ));
        }
        match feature
            .get("geometry")
            .ok_or(crate::domain::area::GeometryError::NotGeoJson)
            .and_then(AreaGeometry::from_geojson)
        {
            Ok(g) => parsed.push((code, name.trim().to_string(), g.to_geojson().to_string())),
            Err(e) => errors.push(FieldError::new(format!("{prefix}geometry"), e)),
        }
    }
    if errors.is_empty() {
        Ok(parsed)
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// Runs CPU-heavy validation on the blocking pool.
async fn off_the_workers<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(format!("validation task failed: {e}")))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AreaListParams {
    /// `LAT,LON`: only the areas containing this point.
    #[param(
        pattern = r"^-?([0-8]?[0-9](\.[0-9]{1,12})?|90(\.0{1,12})?),-?((1[0-7][0-9]|[0-9]?[0-9])(\.[0-9]{1,12})?|180(\.0{1,12})?)$",
        example = "45.08,7.68"
    )]
    pub contains: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// List target areas (public).
#[utoipa::path(
    tag = "areas",
    params(AreaListParams),
    responses((status = 200, body = Page<AreaView>), (status = 422, body = crate::http::error::Problem))
)]
#[get("/areas")]
pub async fn list(
    state: web::Data<AppState>,
    params: web::Query<AreaListParams>,
) -> ApiResult<HttpResponse> {
    let params = params.into_inner();
    let limit = check_limit(params.limit)?;
    let point = params
        .contains
        .as_deref()
        .map(LatLon::parse_pair)
        .transpose()
        .map_err(|e| ApiError::validation("contains", e))?;
    let cursor = params.cursor.unwrap_or_default();
    if let Some(point) = point {
        // Point in area from the prepared in-memory index: no polygon parsed, no area
        // serialised per request.
        let index = match state.areas.recent(state.config.read_cache_ttl) {
            Some(index) => index,
            None => {
                let catalog = state.areas.clone();
                state
                    .db
                    .read(move |conn| catalog.current(conn, render_area))
                    .await?
            }
        };
        let mut hits: Vec<&crate::app::cache::IndexedArea> = index
            .containing(point)
            .filter(|a| a.id > cursor)
            .take(limit as usize + 1)
            .collect();
        let more = hits.len() > limit as usize;
        hits.truncate(limit as usize);
        let next_cursor = if more {
            hits.last().map(|a| a.id.as_str())
        } else {
            None
        };
        return Ok(HttpResponse::Ok()
            .content_type("application/json")
            .body(page_json(&hits, next_cursor)));
    }
    let page = state
        .db
        .read(move |conn| -> ApiResult<AreaPage> {
            let rows = areas::table
                .filter(areas::id.gt(&cursor))
                .order(areas::id)
                .select(AreaRow::as_select())
                .limit(limit + 1)
                .load(conn)?;
            Ok(Page::from_rows(
                rows,
                limit,
                |r| r.id.clone(),
                AreaView::from,
            ))
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// A [`Page`] of areas written from their serialised views (the same JSON as `Page<AreaView>`).
fn page_json(hits: &[&crate::app::cache::IndexedArea], next_cursor: Option<&str>) -> Vec<u8> {
    let size: usize = hits.iter().map(|a| a.view_json.len() + 1).sum();
    let mut body = Vec::with_capacity(size + 96);
    body.extend_from_slice(b"{\"data\":[");
    for (i, a) in hits.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(&a.view_json);
    }
    body.extend_from_slice(b"],\"next_cursor\":");
    serde_json::to_writer(&mut body, &next_cursor).expect("a cursor serialises");
    body.push(b'}');
    body
}

/// Read one target area (public).
#[utoipa::path(
    tag = "areas",
    params(("id" = String, Path, description = "Area id (`area_…`)")),
    responses((status = 200, body = AreaView), (status = 404, body = crate::http::error::Problem))
)]
#[get("/areas/{id}")]
pub async fn get(state: web::Data<AppState>, id: web::Path<String>) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let row = state
        .db
        .run(move |conn| -> ApiResult<Option<AreaRow>> {
            Ok(areas::table
                .find(&id)
                .select(AreaRow::as_select())
                .first(conn)
                .optional()?)
        })
        .await?
        .ok_or(ApiError::NotFound("area"))?;
    Ok(HttpResponse::Ok().json(AreaView::from(row)))
}
