//! Target areas: the neighbourhoods a programme is aimed at, as GeoJSON polygons. An admin
//! creates one, or imports a city's open-data file of them; everyone reads them, by id, page
//! by page, or those containing a point (from the prepared index, [`super::cache::AreaCatalog`]).

use super::AppState;
use super::cache::AreaRender;
use crate::auth::{Forbidden, Principal};
use crate::clock::now;
use crate::db::models::AreaRow;
use crate::db::queries::audit;
use crate::db::schema::areas;
use crate::db::{DbError, write_tx};
use crate::domain::area::{AreaGeometry, GeometryError, LatLon};
use crate::domain::ids;
use crate::domain::role::Role;
use actix_web::web::Bytes;
use diesel::prelude::*;

pub use crate::app::Invalid;

/// Why an area was not created, imported or read.
#[derive(Debug, thiserror::Error)]
pub enum AreaError {
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// Every input that is wrong.
    #[error("invalid fields")]
    Invalid(Vec<Invalid>),
    #[error("an area with this code already exists")]
    CodeTaken,
    #[error("no such area")]
    NotFound,
    /// The geometry check on the blocking pool did not finish.
    #[error("validation task failed: {0}")]
    Task(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for AreaError {
    fn from(e: diesel::result::Error) -> AreaError {
        AreaError::Db(e.into())
    }
}

impl AreaError {
    fn invalid(field: impl Into<String>, message: impl std::fmt::Display) -> AreaError {
        AreaError::Invalid(vec![Invalid::new(field, message)])
    }
}

/// An area as asked for.
#[derive(Debug)]
pub struct NewArea {
    pub code: String,
    pub name: String,
    /// GeoJSON Polygon or MultiPolygon (WGS84, [lon, lat]), not yet checked.
    pub geometry: serde_json::Value,
}

/// A city's file of areas: a GeoJSON FeatureCollection, not yet checked.
#[derive(Debug)]
pub struct AreaFile {
    /// Must be `FeatureCollection`.
    pub kind: String,
    pub features: Vec<serde_json::Value>,
}

/// What an import did.
#[derive(Debug)]
pub struct Imported {
    pub created: usize,
    pub updated: usize,
    /// Every area of the file as now stored, in the file's order.
    pub rows: Vec<AreaRow>,
}

/// The code (1–64 letters, digits, '-' or '_') and the name (1–200 characters, not blank) of
/// an area; `prefix` goes before each field name.
fn check_code_and_name(code: &str, name: &str, prefix: &str) -> Vec<Invalid> {
    let mut errors = Vec::new();
    if code.is_empty()
        || code.len() > 64
        || !code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        errors.push(Invalid::new(
            format!("{prefix}code"),
            "1–64 characters: letters, digits, '-' or '_'",
        ));
    }
    if name.trim().is_empty() || name.chars().count() > 200 {
        errors.push(Invalid::new(format!("{prefix}name"), "1–200 characters"));
    }
    errors
}

/// Creates a target area (admin). Invalid when the geometry is not a valid GeoJSON Polygon or
/// MultiPolygon (see [`AreaGeometry::from_geojson`]); a code already used is
/// [`AreaError::CodeTaken`].
pub async fn create(
    state: &AppState,
    principal: Principal,
    new: NewArea,
) -> Result<AreaRow, AreaError> {
    principal.require(&[Role::Admin])?;
    let mut errors = check_code_and_name(&new.code, &new.name, "");
    // Validity checking grows with the square of the vertex count: off the async workers.
    let (new, checked) = off_the_workers(move || {
        let checked = AreaGeometry::from_geojson(&new.geometry);
        (new, checked)
    })
    .await?;
    let geometry = match checked {
        Ok(g) => Some(g),
        Err(e) => {
            errors.push(Invalid::new("geometry", e));
            None
        }
    };
    let (Some(geometry), true) = (geometry, errors.is_empty()) else {
        return Err(AreaError::Invalid(errors));
    };
    let row = AreaRow {
        id: ids::new_id(ids::AREA),
        code: new.code,
        name: new.name.trim().to_string(),
        geometry: geometry.to_geojson().to_string(),
        created_at: now(),
    };
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| -> Result<AreaRow, AreaError> {
                let taken = areas::table
                    .filter(areas::code.eq(&row.code))
                    .count()
                    .get_result::<i64>(conn)?;
                if taken > 0 {
                    return Err(AreaError::CodeTaken);
                }
                diesel::insert_into(areas::table)
                    .values(&row)
                    .execute(conn)?;
                audit(conn, &principal, "area.create", "area", &row.id, None)?;
                Ok(row)
            })
        })
        .await
}

/// Imports a city's open-data FeatureCollection of neighbourhoods (admin): each feature needs
/// `code` and `name` properties and a Polygon or MultiPolygon geometry. Areas whose code
/// already exists are updated (name and geometry). All or nothing: one bad feature rejects the
/// whole file.
pub async fn import(
    state: &AppState,
    principal: Principal,
    file: AreaFile,
) -> Result<Imported, AreaError> {
    principal.require(&[Role::Admin])?;
    if file.kind != "FeatureCollection" {
        return Err(AreaError::invalid("type", "must be FeatureCollection"));
    }
    if file.features.is_empty() {
        return Err(AreaError::invalid("features", "must not be empty"));
    }
    // Validity checking grows with the square of the vertex count: off the async workers.
    let parsed = off_the_workers(move || check_features(&file.features)).await??;
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| -> Result<Imported, AreaError> {
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
                Ok(Imported {
                    created,
                    updated,
                    rows,
                })
            })
        })
        .await
}

/// Checks every feature of an import: code and name properties, unique codes, valid geometry.
/// Returns (code, name, normalised GeoJSON) per feature, or every problem found.
fn check_features(
    features: &[serde_json::Value],
) -> Result<Vec<(String, String, String)>, AreaError> {
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
            errors.push(Invalid::new(
                format!("{prefix}properties.code"),
                "duplicate code in this file",
            ));
        }
        match feature
            .get("geometry")
            .ok_or(GeometryError::NotGeoJson)
            .and_then(AreaGeometry::from_geojson)
        {
            Ok(g) => parsed.push((code, name.trim().to_string(), g.to_geojson().to_string())),
            Err(e) => errors.push(Invalid::new(format!("{prefix}geometry"), e)),
        }
    }
    if errors.is_empty() {
        Ok(parsed)
    } else {
        Err(AreaError::Invalid(errors))
    }
}

/// Runs CPU-heavy validation on the blocking pool.
async fn off_the_workers<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AreaError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AreaError::Task(e.to_string()))
}

/// A page of the areas containing a point, each as `render` wrote it for the area index.
pub struct Containing {
    /// At most `limit` areas after the cursor, in id order.
    pub views: Vec<Bytes>,
    /// The last area's id when more follow.
    pub next_cursor: Option<String>,
}

/// The areas containing `point` whose id comes after `after`, at most `limit`, from the
/// prepared in-memory index: no polygon parsed, no area serialised per request. The index is
/// checked against the database only when this process wrote since, or when the last check is
/// older than the read cache's TTL.
pub async fn containing(
    state: &AppState,
    point: LatLon,
    after: String,
    limit: i64,
    render: AreaRender,
) -> Result<Containing, AreaError> {
    let index = match state.areas.recent(state.config.read_cache_ttl) {
        Some(index) => index,
        None => {
            let catalog = state.areas.clone();
            state
                .db
                .read(move |conn| catalog.current(conn, render))
                .await?
        }
    };
    let mut hits: Vec<&super::cache::IndexedArea> = index
        .containing(point)
        .filter(|a| a.id > after)
        .take(limit as usize + 1)
        .collect();
    let more = hits.len() > limit as usize;
    hits.truncate(limit as usize);
    let next_cursor = if more {
        hits.last().map(|a| a.id.clone())
    } else {
        None
    };
    Ok(Containing {
        views: hits.into_iter().map(|a| a.view_json.clone()).collect(),
        next_cursor,
    })
}

/// Areas in id order after `after`: at most `limit + 1` rows (the extra one tells a page that
/// more follow).
pub async fn list(state: &AppState, after: String, limit: i64) -> Result<Vec<AreaRow>, AreaError> {
    state
        .db
        .read(move |conn| -> Result<Vec<AreaRow>, AreaError> {
            Ok(areas::table
                .filter(areas::id.gt(&after))
                .order(areas::id)
                .select(AreaRow::as_select())
                .limit(limit + 1)
                .load(conn)?)
        })
        .await
}

/// One area; [`AreaError::NotFound`] when there is none with this id.
pub async fn get(state: &AppState, id: String) -> Result<AreaRow, AreaError> {
    state
        .db
        .run(move |conn| -> Result<Option<AreaRow>, AreaError> {
            Ok(areas::table
                .find(&id)
                .select(AreaRow::as_select())
                .first(conn)
                .optional()?)
        })
        .await?
        .ok_or(AreaError::NotFound)
}
