//! The embeddable progress badge: an SVG bar with the crowd's money, the city's match and the
//! goal. Pure string building; every text is XML-escaped.

/// The figures of a badge, and its words in the reader's language (the caller formats them:
/// the domain draws, it does not translate).
pub struct BadgeInput<'a> {
    pub title: &'a str,
    /// The campaign's state in words ("live", "in corso").
    pub label: &'a str,
    /// The line under the bar: raised, city match and goal.
    pub line: &'a str,
    /// What a screen reader says for the whole badge.
    pub aria: &'a str,
    pub goal: i64,
    pub raised: i64,
    /// The city's match while it is promised or paid ([`shown_match`]).
    pub shown_match: i64,
}

/// The city's match shows while it is promised or paid.
pub fn shown_match(match_status: &str, match_amount: i64) -> i64 {
    match match_status {
        "reserved" | "committed" | "settled" => match_amount,
        _ => 0,
    }
}

/// Characters that fit the line under the bar at 11 px; a longer line is squeezed to fit.
const LINE_FITS: usize = 48;

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' => {}
            c => out.push(c),
        }
    }
    out
}

/// Width in pixels (of `total`) for `part`, clamped to the bar; integer arithmetic only.
fn width(part: i64, total: i64, bar: i64) -> i64 {
    if total <= 0 || part <= 0 {
        return 0;
    }
    (i128::from(part) * i128::from(bar) / i128::from(total)).clamp(0, i128::from(bar)) as i64
}

pub fn render(b: &BadgeInput) -> String {
    const W: i64 = 320;
    const BAR: i64 = 296;
    let shown_match = b.shown_match;
    let crowd_w = width(b.raised, b.goal, BAR);
    let match_w = width(shown_match, b.goal, BAR).min(BAR - crowd_w);
    let title: String = b.title.chars().take(48).collect();
    let fit = if b.line.chars().count() > LINE_FITS {
        format!(r#" textLength="{BAR}" lengthAdjust="spacingAndGlyphs""#)
    } else {
        String::new()
    };
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="64" viewBox="0 0 {W} 64" role="img" aria-label="{aria}">
<title>{aria}</title>
<rect width="{W}" height="64" rx="6" fill="#ffffff" stroke="#d0d7de"/>
<text x="12" y="20" font-family="sans-serif" font-size="12" font-weight="bold" fill="#1f2328">{title}</text>
<text x="{right}" y="20" font-family="sans-serif" font-size="11" text-anchor="end" fill="#57606a">{label}</text>
<rect x="12" y="28" width="{BAR}" height="12" rx="3" fill="#eaeef2"/>
<rect x="12" y="28" width="{crowd_w}" height="12" rx="3" fill="#1a7f37"/>
<rect x="{match_x}" y="28" width="{match_w}" height="12" fill="#0969da"/>
<text x="12" y="56" font-family="sans-serif" font-size="11" fill="#1f2328"{fit}>{line}</text>
</svg>
"##,
        aria = escape(b.aria),
        title = escape(&title),
        right = W - 12,
        label = escape(b.label),
        match_x = 12 + crowd_w,
        line = escape(b.line),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(raised: i64, shown: i64, line: &'a str) -> BadgeInput<'a> {
        BadgeInput {
            title: "Doposcuola <Aurora> & \"amici\"",
            label: "in corso",
            line,
            aria: "Doposcuola <Aurora>: 20.000,00 € raccolti",
            goal: 4_000_000,
            raised,
            shown_match: shown,
        }
    }

    #[test]
    fn shows_the_words_given_escaped_and_bars_in_proportion() {
        let svg = render(&input(2_000_000, 1_000_000, "20.000,00 € + 10.000,00 €"));
        assert!(svg.contains(">20.000,00 € + 10.000,00 €</text>"));
        assert!(svg.contains("Doposcuola &lt;Aurora&gt; &amp; &quot;amici&quot;"));
        assert!(svg.contains(r#"aria-label="Doposcuola &lt;Aurora&gt;: 20.000,00 € raccolti""#));
        assert!(!svg.contains("<Aurora>"));
        assert!(svg.contains(r##"width="148" height="12" rx="3" fill="#1a7f37""##));
        assert!(svg.contains(r##"x="160" y="28" width="74" height="12" fill="#0969da""##));
        assert!(
            !svg.contains("textLength"),
            "a short line keeps its natural width"
        );
    }

    #[test]
    fn a_long_line_is_squeezed_into_the_badge_and_bars_never_overflow() {
        let long = "1.234.567,00 € raccolti + 20.000,00 € dal Comune su 40.000,00 €";
        let svg = render(&input(5_000_000, 2_000_000, long));
        assert!(svg.contains(r#"textLength="296" lengthAdjust="spacingAndGlyphs""#));
        assert!(svg.contains(r##"width="296" height="12" rx="3" fill="#1a7f37""##));
        assert!(svg.contains(r##"width="0" height="12" fill="#0969da""##));
        assert_eq!(width(10, 0, 296), 0);
        assert_eq!(width(i64::MAX, 1, 296), 296);
    }

    #[test]
    fn only_a_promised_or_paid_match_is_shown() {
        for (status, shown) in [
            ("reserved", 7),
            ("committed", 7),
            ("settled", 7),
            ("waitlisted", 0),
            ("revoked", 0),
            ("none", 0),
        ] {
            assert_eq!(shown_match(status, 7), shown, "{status}");
        }
    }
}
