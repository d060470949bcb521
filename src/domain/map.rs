//! Drawing the target areas without map tiles: an equirectangular projection fitted to the
//! areas' bounds (longitudes shrunk by the cosine of the middle latitude, so a city looks as it
//! does on a map), to SVG coordinates and back (a click on the map becomes a location).

/// A projection of a lon/lat box onto a `width` × `height` drawing with a margin.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Projection {
    min_lon: f64,
    max_lat: f64,
    scale: f64,
    shrink: f64,
    margin: f64,
    pub width: f64,
    pub height: f64,
}

impl Projection {
    /// Fits `points` (lon, lat) into a drawing `width` wide; the height follows the shape.
    /// None without points.
    pub fn fit(points: impl IntoIterator<Item = (f64, f64)>, width: f64) -> Option<Projection> {
        let mut it = points.into_iter().peekable();
        it.peek()?;
        let (mut min_lon, mut max_lon, mut min_lat, mut max_lat) = (180.0, -180.0, 90.0, -90.0);
        for (lon, lat) in it {
            min_lon = f64::min(min_lon, lon);
            max_lon = f64::max(max_lon, lon);
            min_lat = f64::min(min_lat, lat);
            max_lat = f64::max(max_lat, lat);
        }
        let shrink = ((min_lat + max_lat) / 2.0).to_radians().cos();
        let margin = 10.0;
        let span_x = ((max_lon - min_lon) * shrink).max(1e-6);
        let span_y = (max_lat - min_lat).max(1e-6);
        let scale = (width - 2.0 * margin) / span_x;
        let height = (span_y * scale + 2.0 * margin).clamp(60.0, 4.0 * width);
        Some(Projection {
            min_lon,
            max_lat,
            scale,
            shrink,
            margin,
            width,
            height,
        })
    }

    /// SVG coordinates of a point.
    pub fn project(&self, lon: f64, lat: f64) -> (f64, f64) {
        (
            self.margin + (lon - self.min_lon) * self.shrink * self.scale,
            self.margin + (self.max_lat - lat) * self.scale,
        )
    }

    /// The point drawn at SVG coordinates (x, y).
    pub fn unproject(&self, x: f64, y: f64) -> (f64, f64) {
        (
            self.min_lon + (x - self.margin) / (self.shrink * self.scale),
            self.max_lat - (y - self.margin) / self.scale,
        )
    }

    /// An SVG path (`M … L … Z`) for a ring, keeping at most `max_points` of its vertices.
    pub fn path(&self, ring: &[(f64, f64)], max_points: usize) -> String {
        let step = ring.len().div_ceil(max_points.max(3)).max(1);
        let mut d = String::new();
        for (i, (lon, lat)) in ring.iter().step_by(step).enumerate() {
            let (x, y) = self.project(*lon, *lat);
            d.push_str(if i == 0 { "M" } else { " L" });
            d.push_str(&format!("{x:.1},{y:.1}"));
        }
        d.push_str(" Z");
        d
    }
}

/// The width in pixels of a progress bar `width` wide showing `part` of `whole` (capped).
pub fn bar(part: i64, whole: i64, width: u32) -> u32 {
    if whole <= 0 || part <= 0 {
        return 0;
    }
    let w = (part as f64 / whole as f64 * f64::from(width)).round();
    w.clamp(0.0, f64::from(width)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TURIN: [(f64, f64); 4] = [(7.60, 45.02), (7.74, 45.02), (7.74, 45.12), (7.60, 45.12)];

    #[test]
    fn the_box_fills_the_drawing_inside_its_margin() {
        let p = Projection::fit(TURIN, 600.0).unwrap();
        let (x0, y0) = p.project(7.60, 45.12);
        let (x1, y1) = p.project(7.74, 45.02);
        assert!((x0 - 10.0).abs() < 1e-9 && (y0 - 10.0).abs() < 1e-9);
        assert!((x1 - 590.0).abs() < 1e-9);
        assert!((y1 - (p.height - 10.0)).abs() < 1e-6);
        // North is up: a higher latitude is drawn higher.
        assert!(p.project(7.65, 45.10).1 < p.project(7.65, 45.05).1);
        assert!(Projection::fit(std::iter::empty(), 600.0).is_none());
    }

    #[test]
    fn paths_are_closed_and_thinned() {
        let p = Projection::fit(TURIN, 600.0).unwrap();
        let d = p.path(&TURIN, 100);
        assert!(d.starts_with("M10.0,") && d.ends_with(" Z"));
        let long: Vec<(f64, f64)> = (0..1000)
            .map(|i| (7.6 + f64::from(i) * 1e-4, 45.05))
            .collect();
        assert!(p.path(&long, 50).matches('L').count() < 50);
    }

    #[test]
    fn bars_are_proportional_and_capped() {
        assert_eq!(bar(50, 100, 300), 150);
        assert_eq!(bar(500, 100, 300), 300);
        assert_eq!(bar(10, 0, 300), 0);
        assert_eq!(bar(-5, 100, 300), 0);
    }

    proptest! {
        #[test]
        fn a_click_finds_the_point_that_was_drawn(lon in 7.60f64..7.74, lat in 45.02f64..45.12) {
            let p = Projection::fit(TURIN, 640.0).unwrap();
            let (x, y) = p.project(lon, lat);
            let (lon2, lat2) = p.unproject(x, y);
            prop_assert!((lon - lon2).abs() < 1e-9 && (lat - lat2).abs() < 1e-9);
        }
    }
}
