//! A small SVG line chart for the finance console (a fund's money over time): step lines, one
//! per series, on a shared time axis from zero to the largest value. Hand-drawn because it is
//! a few dozen lines; pure and tested.

/// One line: its legend, its CSS class, and (time in seconds, amount in minor units) points in
/// time order.
pub struct Series<'a> {
    pub label: &'a str,
    pub class: &'a str,
    pub points: Vec<(i64, i64)>,
}

/// Text escaped for SVG/XML content and attribute values.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The chart as SVG `width` × `height`, titled `title` (its accessible name); `max_label` and
/// the time labels are printed on the axes as given.
pub fn line_chart(
    title: &str,
    series: &[Series<'_>],
    axis: (&str, &str, &str),
    width: f64,
    height: f64,
) -> String {
    // Room on the left for the top amount as a reader writes it ("600.000,00 €").
    let (left, right, top, bottom) = (100.0, 10.0, 10.0, 40.0);
    let (plot_w, plot_h) = (width - left - right, height - top - bottom);
    let all = series.iter().flat_map(|s| s.points.iter());
    let (t0, t1) = all
        .clone()
        .fold(None, |acc: Option<(i64, i64)>, (t, _)| match acc {
            None => Some((*t, *t)),
            Some((a, b)) => Some((a.min(*t), b.max(*t))),
        })
        .unwrap_or((0, 1));
    let top_value = all.map(|(_, v)| *v).max().unwrap_or(0).max(1);
    let span = t1.saturating_sub(t0).max(1) as f64;
    let x = |t: i64| left + (t - t0) as f64 / span * plot_w;
    let y = |v: i64| top + plot_h - (v.max(0) as f64 / top_value as f64) * plot_h;
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {width:.0} {height:.0}\" width=\"{width:.0}\" height=\"{height:.0}\" role=\"img\" aria-label=\"{}\">",
        esc(title)
    );
    svg.push_str(&format!(
        "<line class=\"axis\" x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{b:.0}\"/><line class=\"axis\" x1=\"{left}\" y1=\"{b:.0}\" x2=\"{r:.0}\" y2=\"{b:.0}\"/>",
        b = top + plot_h,
        r = left + plot_w
    ));
    let (max_label, from_label, to_label) = axis;
    svg.push_str(&format!(
        "<text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"end\">{}</text><text x=\"{left}\" y=\"{:.0}\">{}</text><text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"end\">{}</text>",
        left - 4.0,
        top + 10.0,
        esc(max_label),
        height - 24.0,
        esc(from_label),
        left + plot_w,
        height - 24.0,
        esc(to_label)
    ));
    for (i, s) in series.iter().enumerate() {
        if !s.points.is_empty() {
            let mut d = String::new();
            let mut last: Option<i64> = None;
            for (t, v) in &s.points {
                match last {
                    None => d.push_str(&format!("M{:.1},{:.1}", x(*t), y(*v))),
                    // A step: the value holds until it changes.
                    Some(prev) => d.push_str(&format!(
                        " L{:.1},{:.1} L{:.1},{:.1}",
                        x(*t),
                        y(prev),
                        x(*t),
                        y(*v)
                    )),
                }
                last = Some(*v);
            }
            if let Some(v) = last {
                d.push_str(&format!(" L{:.1},{:.1}", left + plot_w, y(v)));
            }
            svg.push_str(&format!("<path class=\"{}\" d=\"{d}\"/>", esc(s.class)));
        }
        let lx = left + (i as f64) * 130.0;
        svg.push_str(&format!(
            "<rect class=\"{}\" x=\"{lx:.0}\" y=\"{:.0}\" width=\"12\" height=\"12\"/><text x=\"{:.0}\" y=\"{:.0}\">{}</text>",
            esc(s.class),
            height - 12.0,
            lx + 16.0,
            height - 2.0,
            esc(s.label)
        ));
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coords(svg: &str) -> Vec<(f64, f64)> {
        svg.split("<path")
            .skip(1)
            .flat_map(|p| {
                let d = p
                    .split("d=\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap()
                    .to_string();
                d.split(['M', 'L'])
                    .filter(|c| !c.trim().is_empty())
                    .map(|c| {
                        let (a, b) = c.trim().split_once(',').unwrap();
                        (a.parse().unwrap(), b.parse().unwrap())
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn every_point_lies_in_the_plot_and_the_largest_value_touches_its_top() {
        let series = [
            Series {
                label: "Reserved",
                class: "reserved",
                points: vec![(0, 0), (100, 5_000), (200, 2_000)],
            },
            Series {
                label: "Committed",
                class: "committed",
                points: vec![(150, 3_000)],
            },
        ];
        let svg = line_chart(
            "Fund <1>",
            &series,
            ("50.00", "1 Nov", "30 Nov"),
            640.0,
            240.0,
        );
        assert!(svg.contains("aria-label=\"Fund &lt;1&gt;\""));
        let points = coords(&svg);
        assert!(
            points
                .iter()
                .all(|(x, y)| (70.0..=630.0).contains(x) && (10.0..=200.0).contains(y))
        );
        assert!(
            points.iter().any(|(_, y)| (*y - 10.0).abs() < 1e-6),
            "5,000 is the top"
        );
        assert_eq!(svg.matches("<path").count(), 2);
    }

    #[test]
    fn no_points_draw_axes_and_legend_only() {
        let series = [Series {
            label: "Paid",
            class: "settled",
            points: vec![],
        }];
        let svg = line_chart("Empty", &series, ("0", "", ""), 640.0, 240.0);
        assert_eq!(svg.matches("<path").count(), 0);
        assert!(svg.contains(">Paid</text>"));
    }
}
