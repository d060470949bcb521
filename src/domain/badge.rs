//! The embeddable progress badge: an SVG bar with the crowd's money, the city's match and the
//! goal. Pure string building; every text is XML-escaped.

use super::money::{Currency, format_amount};

pub struct BadgeInput<'a> {
    pub title: &'a str,
    pub status: &'a str,
    pub currency: Currency,
    pub goal: i64,
    pub raised: i64,
    pub match_amount: i64,
    pub match_status: &'a str,
}

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
    let code = b.currency.code();
    let amount = |m: i64| format!("{} {code}", format_amount(m, b.currency));
    // The city's match shows while it is promised or paid.
    let shown_match = match b.match_status {
        "reserved" | "committed" | "settled" => b.match_amount,
        _ => 0,
    };
    let crowd_w = width(b.raised, b.goal, BAR);
    let match_w = width(shown_match, b.goal, BAR).min(BAR - crowd_w);
    let title: String = b.title.chars().take(48).collect();
    let label = match b.status {
        "succeeded" => "funded",
        "failed" => "not funded",
        "cancelled" => "cancelled",
        "closing" => "closing",
        "live" => "live",
        other => other,
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
<text x="12" y="56" font-family="sans-serif" font-size="11" fill="#1f2328">{raised} raised + {matched} city match of {goal}</text>
</svg>
"##,
        aria = escape(&format!(
            "{}: {} raised, {} city match, goal {}",
            b.title,
            amount(b.raised),
            amount(shown_match),
            amount(b.goal)
        )),
        title = escape(&title),
        right = W - 12,
        label = escape(label),
        match_x = 12 + crowd_w,
        raised = escape(&amount(b.raised)),
        matched = escape(&amount(shown_match)),
        goal = escape(&amount(b.goal)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(raised: i64, m: i64, status: &str) -> BadgeInput<'static> {
        BadgeInput {
            title: "Doposcuola <Aurora> & \"amici\"",
            status: "live",
            currency: Currency::EUR,
            goal: 4_000_000,
            raised,
            match_amount: m,
            match_status: Box::leak(status.to_string().into_boxed_str()),
        }
    }

    #[test]
    fn shows_crowd_match_and_goal_and_escapes_text() {
        let svg = render(&input(2_000_000, 2_000_000, "reserved"));
        assert!(svg.contains("20000.00 EUR raised + 20000.00 EUR city match of 40000.00 EUR"));
        assert!(svg.contains("Doposcuola &lt;Aurora&gt; &amp; &quot;amici&quot;"));
        assert!(!svg.contains("<Aurora>"));
        assert!(svg.contains(r##"width="148" height="12" rx="3" fill="#1a7f37""##));
    }

    #[test]
    fn revoked_or_waitlisted_matches_are_not_shown_and_bars_never_overflow() {
        let svg = render(&input(5_000_000, 2_000_000, "waitlisted"));
        assert!(svg.contains("+ 0.00 EUR city match"));
        assert!(svg.contains(r##"width="296" height="12" rx="3" fill="#1a7f37""##));
        assert_eq!(width(10, 0, 296), 0);
        assert_eq!(width(i64::MAX, 1, 296), 296);
    }
}
