//! Target areas: the neighbourhoods a programme is aimed at, as GeoJSON polygons.

use crate::app::AppState;
use crate::app::areas::{self as app_areas, AreaError, AreaFile, NewArea};
use crate::db::models::AreaRow;
use crate::domain::area::LatLon;
use crate::http::error::{ApiError, ApiResult, FieldError};
use crate::http::extract::{ApiJson, Page, Principal, check_limit};
use crate::http::views::ts;
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
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

/// The HTTP answer to an area use case's error.
fn to_api(e: AreaError) -> ApiError {
    match e {
        AreaError::Forbidden(e) => e.into(),
        AreaError::Invalid(errors) => ApiError::Validation(
            errors
                .into_iter()
                .map(|e| FieldError::new(e.field, e.message))
                .collect(),
        ),
        AreaError::CodeTaken => {
            ApiError::conflict("area_code_taken", "an area with this code already exists")
        }
        AreaError::NotFound => ApiError::NotFound("area"),
        AreaError::Task(_) => ApiError::Internal(e.to_string()),
        AreaError::Db(e) => e.into(),
    }
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
    let body = body.into_inner();
    let new = NewArea {
        code: body.code,
        name: body.name,
        geometry: body.geometry,
    };
    let row = app_areas::create(&state, principal, new)
        .await
        .map_err(to_api)?;
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

/// The route's door to [`app_areas::import`], for the API and the console alike.
pub(crate) async fn import_areas(
    state: &AppState,
    principal: Principal,
    body: FeatureCollectionBody,
) -> ApiResult<ImportResult> {
    let file = AreaFile {
        kind: body.type_,
        features: body.features,
    };
    let imported = app_areas::import(state, principal, file)
        .await
        .map_err(to_api)?;
    Ok(ImportResult {
        created: imported.created,
        updated: imported.updated,
        data: imported.rows.into_iter().map(AreaView::from).collect(),
    })
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
        let found = app_areas::containing(&state, point, cursor, limit, render_area)
            .await
            .map_err(to_api)?;
        return Ok(HttpResponse::Ok()
            .content_type("application/json")
            .body(page_json(&found.views, found.next_cursor.as_deref())));
    }
    let rows = app_areas::list(&state, cursor, limit)
        .await
        .map_err(to_api)?;
    let page: AreaPage = Page::from_rows(rows, limit, |r| r.id.clone(), AreaView::from);
    Ok(HttpResponse::Ok().json(page))
}

/// A [`Page`] of areas written from their serialised views (the same JSON as `Page<AreaView>`).
fn page_json(views: &[actix_web::web::Bytes], next_cursor: Option<&str>) -> Vec<u8> {
    let size: usize = views.iter().map(|v| v.len() + 1).sum();
    let mut body = Vec::with_capacity(size + 96);
    body.extend_from_slice(b"{\"data\":[");
    for (i, v) in views.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(v);
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
    let row = app_areas::get(&state, id.into_inner())
        .await
        .map_err(to_api)?;
    Ok(HttpResponse::Ok().json(AreaView::from(row)))
}
