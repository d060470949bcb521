//! What every console page shares: the navigation between its sections (built for the signed-in
//! role, the current one marked with `aria-current`), the notices a form's redirect asks for,
//! and the pager and text filter of its lists.

use super::i18n::Tr;
use super::{Ctx, PageError};
use crate::domain::role::Role;
use crate::http::error::ApiError;
use crate::http::extract::Principal;

/// One link of the console's navigation.
pub struct NavItem {
    pub href: &'static str,
    pub label: String,
    pub current: bool,
}

/// The sections a role works in, in the order its navigation lists them (`href`, message key).
fn sections(role: Role) -> &'static [(&'static str, &'static str)] {
    match role {
        Role::Association => &[
            ("/console", "cnav-queue"),
            ("/console/campaigns", "cnav-campaigns"),
            ("/console/campaigns/new", "cnav-new-campaign"),
            ("/console/donations", "cnav-donations"),
            ("/console/grants", "cnav-grants"),
            ("/console/bank-transfers", "cnav-bank-transfers"),
            ("/console/calls", "cnav-calls"),
        ],
        Role::Reviewer => &[
            ("/console", "cnav-queue"),
            ("/console/review", "cnav-review"),
            ("/console/calls", "cnav-calls"),
            ("/console/grants", "cnav-grants"),
        ],
        Role::Finance => &[
            ("/console", "cnav-queue"),
            ("/console/funds", "cnav-funds"),
            ("/console/settlements", "cnav-settlements"),
            ("/console/grants", "cnav-grants"),
            ("/console/bank-entries", "cnav-bank-entries"),
        ],
        Role::Admin => &[
            ("/console", "cnav-queue"),
            ("/console/review", "cnav-review"),
            ("/console/calls", "cnav-calls"),
            ("/console/funds", "cnav-funds"),
            ("/console/settlements", "cnav-settlements"),
            ("/console/grants", "cnav-grants"),
            ("/console/bank-entries", "cnav-bank-entries"),
            ("/console/admin", "cnav-associations"),
            ("/console/admin/users", "cnav-staff"),
            ("/console/admin/partners", "cnav-partners"),
            ("/console/admin/funds", "cnav-setup"),
        ],
        // Partners and donors have no console.
        _ => &[],
    }
}

/// The console's navigation for `role` on `path`: the section whose link is the longest prefix
/// of the path is the current one (a grant's page belongs to "Grants"); outside the console,
/// nothing.
pub fn console_nav(t: &Tr, role: Role, path: &str) -> Vec<NavItem> {
    if path != "/console" && !path.starts_with("/console/") {
        return Vec::new();
    }
    let within = |href: &str| {
        path == href
            || (href != "/console"
                && path.starts_with(href)
                && path.as_bytes().get(href.len()) == Some(&b'/'))
    };
    let current = sections(role)
        .iter()
        .filter(|(href, _)| within(href))
        .map(|(href, _)| href.len())
        .max();
    sections(role)
        .iter()
        .map(|(href, key)| NavItem {
            href,
            label: t.get(key),
            current: Some(href.len()) == current && within(href),
        })
        .collect()
}

/// The notice a form's redirect may ask for (`?done=`); anything else shows nothing.
pub(super) fn notice(t: &Tr, done: Option<String>) -> Option<String> {
    const KNOWN: [&str; 14] = [
        "created",
        "submitted",
        "approved",
        "rejected",
        "batch",
        "paid",
        "association",
        "user",
        "areas",
        "edited",
        "fund",
        "funder",
        "member",
        "disabled",
    ];
    done.filter(|d| KNOWN.contains(&d.as_str()))
        .map(|d| t.get(&format!("done-{d}")))
}

/// How many lines a console table shows at once.
pub(super) const PAGE_SIZE: usize = 20;
/// How many cards (each with its forms) a console list shows at once.
pub(super) const CARDS_PER_PAGE: usize = 8;

/// A list's pages: where this one is and the links to its neighbours (which keep the filters).
pub struct Pager {
    /// "Page 2 of 5"
    pub position: String,
    pub prev: Option<String>,
    pub next: Option<String>,
    pub pages: usize,
}

/// Takes page `page` (1-based; out of range means the last) of `items`, `per` to a page, and
/// the pager for it; `link(n)` is the address of page `n` with the list's filters.
pub(super) fn paged<T>(
    t: &Tr,
    items: Vec<T>,
    (page, per): (Option<usize>, usize),
    link: impl Fn(usize) -> String,
) -> (Vec<T>, Pager) {
    let pages = items.len().div_ceil(per).max(1);
    let page = page.unwrap_or(1).clamp(1, pages);
    let shown = items.into_iter().skip((page - 1) * per).take(per).collect();
    let pager = Pager {
        position: t.args(
            "pager-position",
            &[
                ("page", &t.number(page as i64)),
                ("pages", &t.number(pages as i64)),
            ],
        ),
        prev: (page > 1).then(|| link(page - 1)),
        next: (page < pages).then(|| link(page + 1)),
        pages,
    };
    (shown, pager)
}

/// The signed-in user if their role is one of `roles`; `None` when nobody is signed in (the
/// page sends them to sign in); a 403 page naming `why` for any other role.
pub(super) fn allowed(
    ctx: &Ctx,
    principal: Option<Principal>,
    roles: &[Role],
    why: &'static str,
) -> Result<Option<Principal>, PageError> {
    match principal {
        None => Ok(None),
        Some(p) if roles.contains(&p.role) => Ok(Some(p)),
        Some(_) => Err(ctx.fail(ApiError::Forbidden(why))),
    }
}

/// The items of `items` whose `fields` hold every word of `text`, page `page` of them, and the
/// pager whose links go to `base` with the same filter.
pub(super) fn filtered_page<T>(
    t: &Tr,
    items: Vec<T>,
    (text, fields): (&str, impl for<'a> Fn(&'a T) -> Vec<&'a str>),
    page: Option<usize>,
    base: &str,
) -> (Vec<T>, Pager) {
    let kept = items
        .into_iter()
        .filter(|item| matches_text(text, &fields(item)))
        .collect();
    paged(t, kept, (page, PAGE_SIZE), |n| {
        format!("{base}?q={}&page={n}", query_value(text))
    })
}

/// A list's free-text filter: every word of `q` appears in one of `fields`, in any letter case.
pub(super) fn matches_text(q: &str, fields: &[&str]) -> bool {
    let hay: Vec<String> = fields.iter().map(|f| f.to_lowercase()).collect();
    q.split_whitespace()
        .map(str::to_lowercase)
        .all(|word| hay.iter().any(|h| h.contains(&word)))
}

/// The filter as typed, without control characters, trimmed and bounded (a filter longer than
/// 100 characters is cut).
pub(super) fn filter_text(q: Option<String>) -> String {
    let text: String = q
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect();
    text.trim().to_string()
}

/// `value` for a query string.
pub(super) fn query_value(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_section_is_the_longest_prefix() {
        let t = Tr::new("en");
        let current = |path: &str| -> Vec<&'static str> {
            console_nav(&t, Role::Admin, path)
                .into_iter()
                .filter(|n| n.current)
                .map(|n| n.href)
                .collect()
        };
        assert_eq!(current("/console"), ["/console"]);
        assert_eq!(current("/console/grants/grt_1"), ["/console/grants"]);
        assert_eq!(current("/console/admin/users"), ["/console/admin/users"]);
        assert_eq!(current("/console/admin"), ["/console/admin"]);
        assert!(current("/console/unknown").is_empty());
        assert!(console_nav(&t, Role::Admin, "/campaigns").is_empty());
        assert!(console_nav(&t, Role::Admin, "/consoleX").is_empty());
        let association: Vec<_> = console_nav(&t, Role::Association, "/console/campaigns/new")
            .into_iter()
            .filter(|n| n.current)
            .map(|n| n.href)
            .collect();
        assert_eq!(association, ["/console/campaigns/new"]);
    }

    #[test]
    fn pages_keep_their_size_and_end_at_the_last() {
        let t = Tr::new("en");
        let (shown, pager) = paged(&t, (1..=45).collect::<Vec<_>>(), (Some(3), 20), |n| {
            format!("?page={n}")
        });
        assert_eq!(shown, vec![41, 42, 43, 44, 45]);
        assert_eq!(pager.pages, 3);
        assert_eq!(pager.prev.as_deref(), Some("?page=2"));
        assert_eq!(pager.next, None);
        let (shown, pager) = paged(&t, (1..=45).collect::<Vec<_>>(), (Some(99), 20), |n| {
            n.to_string()
        });
        assert_eq!(shown.len(), 5);
        assert_eq!(pager.position, "Page 3 of 3");
        let (shown, pager) = paged(&t, Vec::<u8>::new(), (Some(0), 20), |n| n.to_string());
        assert!(shown.is_empty());
        assert_eq!((pager.pages, pager.prev, pager.next), (1, None, None));
    }

    #[test]
    fn the_filter_wants_every_word_in_any_case() {
        assert!(matches_text("barriera DOPO", &["Doposcuola in Barriera"]));
        assert!(matches_text("", &["anything"]));
        assert!(!matches_text(
            "barriera murales",
            &["Doposcuola in Barriera"]
        ));
        assert!(matches_text("0077", &["Circolo", "00774480016"]));
    }
}
