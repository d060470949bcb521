//! Target-area geometry: GeoJSON Polygon / MultiPolygon in WGS84, validated once on the way in
//! and queried by point-in-polygon.

use geo::{BoundingRect, Contains, Intersects, Validation};
use geo::{MultiPolygon, Point, Rect};
use geojson::{GeometryValue, Position};

/// The most vertices (positions over all rings) one area may have: a detailed neighbourhood
/// boundary has a few thousand; validity checking grows with the square of the count.
pub const MAX_VERTICES: usize = 50_000;

/// A validated area shape. Keeps the normalised GeoJSON it was built from.
#[derive(Clone, Debug)]
pub struct AreaGeometry {
    shape: MultiPolygon<f64>,
    geojson: serde_json::Value,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GeometryError {
    #[error("geometry must be a GeoJSON object")]
    NotGeoJson,
    #[error("geometry type must be Polygon or MultiPolygon, not {0}")]
    WrongType(String),
    #[error("{0}")]
    Invalid(String),
}

/// A WGS84 point (`lat`, `lon`) as the API writes it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LatLon {
    pub lat: f64,
    pub lon: f64,
}

impl LatLon {
    pub fn new(lat: f64, lon: f64) -> Result<LatLon, GeometryError> {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(GeometryError::Invalid(
                "lat must be between -90 and 90".into(),
            ));
        }
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            return Err(GeometryError::Invalid(
                "lon must be between -180 and 180".into(),
            ));
        }
        Ok(LatLon { lat, lon })
    }

    /// Parses the `?contains=LAT,LON` form.
    pub fn parse_pair(s: &str) -> Result<LatLon, GeometryError> {
        let (lat, lon) = s
            .split_once(',')
            .ok_or_else(|| GeometryError::Invalid("expected LAT,LON".into()))?;
        let parse = |v: &str| {
            v.trim()
                .parse::<f64>()
                .map_err(|_| GeometryError::Invalid("expected LAT,LON as decimal degrees".into()))
        };
        LatLon::new(parse(lat)?, parse(lon)?)
    }
}

impl AreaGeometry {
    /// Validates a GeoJSON geometry object: type, closed rings of at least four positions,
    /// coordinates within WGS84 bounds, and no self-intersection (OGC validity).
    pub fn from_geojson(value: &serde_json::Value) -> Result<AreaGeometry, GeometryError> {
        if !value.is_object() {
            return Err(GeometryError::NotGeoJson);
        }
        let geometry: geojson::Geometry = serde_json::from_value(value.clone()).map_err(|_| {
            match value.get("type").and_then(|t| t.as_str()) {
                Some(t) if t != "Polygon" && t != "MultiPolygon" => {
                    GeometryError::WrongType(t.to_string())
                }
                _ => GeometryError::Invalid("malformed GeoJSON coordinates".into()),
            }
        })?;
        let polygons: Vec<&Vec<Vec<Position>>> = match &geometry.value {
            GeometryValue::Polygon { coordinates } => vec![coordinates],
            GeometryValue::MultiPolygon { coordinates } => coordinates.iter().collect(),
            other => return Err(GeometryError::WrongType(other.type_name().to_string())),
        };
        if polygons.is_empty() {
            return Err(GeometryError::Invalid(
                "a MultiPolygon needs at least one polygon".into(),
            ));
        }
        let vertices: usize = polygons
            .iter()
            .flat_map(|polygon| polygon.iter())
            .map(Vec::len)
            .sum();
        if vertices > MAX_VERTICES {
            return Err(GeometryError::Invalid(format!(
                "an area may have at most {MAX_VERTICES} vertices; this one has {vertices}"
            )));
        }
        for polygon in &polygons {
            if polygon.is_empty() {
                return Err(GeometryError::Invalid(
                    "a polygon needs an exterior ring".into(),
                ));
            }
            for ring in polygon.iter() {
                check_ring(ring)?;
            }
        }
        let shape: MultiPolygon<f64> = match &geometry.value {
            GeometryValue::Polygon { .. } => {
                let p: geo::Polygon<f64> = geo::Polygon::try_from(&geometry.value)
                    .map_err(|_| GeometryError::Invalid("malformed polygon".into()))?;
                MultiPolygon(vec![p])
            }
            _ => MultiPolygon::try_from(&geometry.value)
                .map_err(|_| GeometryError::Invalid("malformed multipolygon".into()))?,
        };
        if !shape.is_valid() {
            return Err(GeometryError::Invalid(
                "polygon is not valid: rings self-intersect or overlap".into(),
            ));
        }
        let geojson = serde_json::to_value(geojson::Geometry::new(geometry.value))
            .map_err(|_| GeometryError::NotGeoJson)?;
        Ok(AreaGeometry { shape, geojson })
    }

    /// True when the point lies inside the area or on its border.
    pub fn contains(&self, point: LatLon) -> bool {
        let p = Point::new(point.lon, point.lat);
        self.shape.contains(&p) || self.shape.intersects(&p)
    }

    pub fn to_geojson(&self) -> &serde_json::Value {
        &self.geojson
    }
}

/// An area's shape ready for point queries: parsed once, with its bounding box, so a lookup
/// costs a box test for most areas and a ring walk for the few whose box holds the point.
#[derive(Clone, Debug)]
pub struct PreparedShape {
    shape: MultiPolygon<f64>,
    bbox: Option<Rect<f64>>,
}

impl PreparedShape {
    /// Parses a geometry that was validated when it was written ([`AreaGeometry::from_geojson`]):
    /// no validity check here, which is the quadratic part.
    pub fn from_stored(geometry: &str) -> Result<PreparedShape, GeometryError> {
        let geometry: geojson::Geometry = serde_json::from_str(geometry)
            .map_err(|_| GeometryError::Invalid("stored geometry is not GeoJSON".into()))?;
        let shape = match &geometry.value {
            GeometryValue::Polygon { .. } => geo::Polygon::try_from(&geometry.value)
                .map(|p| MultiPolygon(vec![p]))
                .map_err(|_| GeometryError::Invalid("malformed stored polygon".into()))?,
            GeometryValue::MultiPolygon { .. } => MultiPolygon::try_from(&geometry.value)
                .map_err(|_| GeometryError::Invalid("malformed stored multipolygon".into()))?,
            other => return Err(GeometryError::WrongType(other.type_name().to_string())),
        };
        let bbox = shape.bounding_rect();
        Ok(PreparedShape { shape, bbox })
    }

    /// The outer rings as (lon, lat) points, for drawing the area.
    pub fn outer_rings(&self) -> Vec<Vec<(f64, f64)>> {
        self.shape
            .0
            .iter()
            .map(|p| p.exterior().0.iter().map(|c| (c.x, c.y)).collect())
            .collect()
    }

    /// True when the point lies inside the area or on its border.
    pub fn contains(&self, point: LatLon) -> bool {
        let p = Point::new(point.lon, point.lat);
        let in_box = self.bbox.is_some_and(|b| {
            let (min, max) = (b.min(), b.max());
            (min.x..=max.x).contains(&p.x()) && (min.y..=max.y).contains(&p.y())
        });
        in_box && (self.shape.contains(&p) || self.shape.intersects(&p))
    }
}

fn check_ring(ring: &[Position]) -> Result<(), GeometryError> {
    if ring.len() < 4 {
        return Err(GeometryError::Invalid(
            "each ring needs at least four positions".into(),
        ));
    }
    for pos in ring {
        let c = pos.as_slice();
        if c.len() < 2 || c.len() > 3 {
            return Err(GeometryError::Invalid(
                "each position is [lon, lat] (optionally with an altitude)".into(),
            ));
        }
        LatLon::new(c[1], c[0])?;
    }
    if ring.first().map(|p| &p.as_slice()[..2]) != ring.last().map(|p| &p.as_slice()[..2]) {
        return Err(GeometryError::Invalid(
            "rings must be closed (first position equals last)".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod vertex_limit {
    use super::*;

    fn ring(n: usize) -> serde_json::Value {
        // A convex polygon of n distinct vertices (closed: n + 1 positions).
        let mut coords: Vec<[f64; 2]> = (0..n)
            .map(|i| {
                let a = i as f64 / n as f64 * std::f64::consts::TAU;
                [7.68 + 0.01 * a.cos(), 45.08 + 0.01 * a.sin()]
            })
            .collect();
        coords.push(coords[0]);
        serde_json::json!({"type": "Polygon", "coordinates": [coords]})
    }

    #[test]
    fn more_than_the_limit_is_refused_before_any_validity_check() {
        let err = AreaGeometry::from_geojson(&ring(MAX_VERTICES)).unwrap_err();
        assert!(err.to_string().contains("at most 50000 vertices"), "{err}");
        assert!(AreaGeometry::from_geojson(&ring(2_000)).is_ok());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn square(x0: f64, y0: f64, size: f64) -> serde_json::Value {
        json!({"type": "Polygon", "coordinates": [[[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]]})
    }

    #[test]
    fn polygon_contains_inner_point_only() {
        let g = AreaGeometry::from_geojson(&square(7.6, 45.0, 0.1)).unwrap();
        assert!(g.contains(LatLon::new(45.05, 7.65).unwrap()));
        assert!(!g.contains(LatLon::new(45.2, 7.65).unwrap()));
    }

    #[test]
    fn multipolygon_is_accepted() {
        let v = json!({"type": "MultiPolygon", "coordinates": [
            [[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]]],
            [[[5.0, 5.0], [6.0, 5.0], [6.0, 6.0], [5.0, 6.0], [5.0, 5.0]]]
        ]});
        let g = AreaGeometry::from_geojson(&v).unwrap();
        assert!(g.contains(LatLon::new(5.5, 5.5).unwrap()));
        assert!(!g.contains(LatLon::new(3.0, 3.0).unwrap()));
    }

    #[test]
    fn bad_geometries_are_rejected() {
        let point = json!({"type": "Point", "coordinates": [7.0, 45.0]});
        assert_eq!(
            AreaGeometry::from_geojson(&point).unwrap_err(),
            GeometryError::WrongType("Point".into())
        );
        let open = json!({"type": "Polygon", "coordinates": [[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]]});
        assert!(AreaGeometry::from_geojson(&open).is_err());
        let bowtie = json!({"type": "Polygon", "coordinates": [[[0.0, 0.0], [1.0, 1.0], [1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]]});
        assert!(AreaGeometry::from_geojson(&bowtie).is_err());
        let out_of_range = square(200.0, 45.0, 1.0);
        assert!(AreaGeometry::from_geojson(&out_of_range).is_err());
        assert!(AreaGeometry::from_geojson(&json!("Polygon")).is_err());
        assert!(
            AreaGeometry::from_geojson(&json!({"type": "Polygon", "coordinates": "x"})).is_err()
        );
    }

    #[test]
    fn contains_parameter_parses_lat_lon() {
        assert_eq!(
            LatLon::parse_pair("45.07,7.68").unwrap(),
            LatLon {
                lat: 45.07,
                lon: 7.68
            }
        );
        assert!(LatLon::parse_pair("45.07").is_err());
        assert!(LatLon::parse_pair("95,7").is_err());
        assert!(LatLon::parse_pair("a,b").is_err());
    }

    #[test]
    fn a_stored_shape_answers_like_the_validated_one() {
        let v = json!({"type": "MultiPolygon", "coordinates": [
            [[[0.0, 0.0], [4.0, 0.0], [4.0, 4.0], [0.0, 4.0], [0.0, 0.0]],
             [[1.0, 1.0], [1.0, 2.0], [2.0, 2.0], [2.0, 1.0], [1.0, 1.0]]],
            [[[5.0, 5.0], [6.0, 5.0], [6.0, 6.0], [5.0, 6.0], [5.0, 5.0]]]
        ]});
        let validated = AreaGeometry::from_geojson(&v).unwrap();
        let stored = PreparedShape::from_stored(&validated.to_geojson().to_string()).unwrap();
        for (lat, lon) in [
            (0.5, 0.5),
            (1.5, 1.5),
            (5.5, 5.5),
            (4.5, 4.5),
            (0.0, 2.0),
            (7.0, 7.0),
        ] {
            let p = LatLon::new(lat, lon).unwrap();
            assert_eq!(stored.contains(p), validated.contains(p), "at {lat},{lon}");
        }
        // The hole is outside; the border counts as inside.
        assert!(!stored.contains(LatLon::new(1.5, 1.5).unwrap()));
        assert!(stored.contains(LatLon::new(2.0, 0.0).unwrap()));
        assert!(PreparedShape::from_stored("{\"type\":\"Point\",\"coordinates\":[1,2]}").is_err());
        assert!(PreparedShape::from_stored("not json").is_err());
    }

    proptest! {
        #[test]
        fn squares_contain_their_centre_and_not_outside(x in -170.0f64..170.0, y in -80.0f64..80.0, size in 0.001f64..5.0) {
            let g = AreaGeometry::from_geojson(&square(x, y, size)).unwrap();
            prop_assert!(g.contains(LatLon::new(y + size / 2.0, x + size / 2.0).unwrap()));
            prop_assert!(!g.contains(LatLon::new(y + size * 1.5, x + size / 2.0).unwrap()));
            let stored = PreparedShape::from_stored(&g.to_geojson().to_string()).unwrap();
            prop_assert!(stored.contains(LatLon::new(y + size / 2.0, x + size / 2.0).unwrap()));
            prop_assert!(!stored.contains(LatLon::new(y + size * 1.5, x + size / 2.0).unwrap()));
        }
    }
}
