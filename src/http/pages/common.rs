//! What several pages share: campaign cards, labels, the areas and their map, form fields.

use super::i18n::Tr;
use crate::app::AppState;
use crate::app::console::AreaEntry;
use crate::domain::area::PreparedShape;
use crate::domain::campaign::CampaignStatus;
use crate::domain::chart::esc;
use crate::domain::map::{Projection, bar};
use crate::domain::money::{Currency, parse_amount};
use crate::http::controllers::campaigns::{self as campaigns, CampaignListParams, CampaignView};
use crate::http::error::ApiError;
use serde::Deserialize;

/// A campaign as a card or a page shows it.
pub struct Card {
    pub id: String,
    pub title: String,
    pub summary: String,
    pub area: String,
    pub figures: String,
    pub match_label: String,
    pub bar_label: String,
    pub raised_px: u32,
    pub match_px: u32,
    pub threshold_px: u32,
}

/// A form that carries nothing but its CSRF token.
#[derive(Deserialize)]
pub struct CsrfOnly {
    pub csrf_token: String,
}

pub(super) fn minor(amount: &str, currency: Currency) -> i64 {
    parse_amount(amount, currency).unwrap_or(0)
}

pub(super) fn status_label(t: &Tr, status: CampaignStatus) -> String {
    t.get(&format!("status-{}", status.as_str()))
}

pub(super) fn match_label(t: &Tr, status: &str) -> String {
    match status {
        "none" | "waitlisted" | "reserved" | "committed" | "settled" | "revoked" => {
            t.get(&format!("match-{status}"))
        }
        other => other.to_string(),
    }
}

/// A campaign's currency; one the service does not know is an error, never a default.
pub(super) fn currency_of(c: &CampaignView) -> Result<Currency, ApiError> {
    Currency::parse(&c.currency).map_err(|_| {
        ApiError::Internal(format!(
            "campaign {}: unknown currency {:?}",
            c.id, c.currency
        ))
    })
}

pub(super) fn card(t: &Tr, c: &CampaignView, area: &str) -> Result<Card, ApiError> {
    let currency = currency_of(c)?;
    let goal = minor(&c.goal, currency);
    let raised = minor(&c.raised, currency);
    let matched = minor(&c.match_.amount, currency);
    let threshold = minor(&c.threshold, currency);
    let raised_px = bar(raised, goal, 300);
    let match_px = bar(matched, goal, 300).min(300 - raised_px);
    let figures = t.count_with(
        "card-figures",
        c.donors.into(),
        &[
            ("raised", &t.amount(&c.raised, &c.currency)),
            ("goal", &t.amount(&c.goal, &c.currency)),
        ],
    );
    Ok(Card {
        id: c.id.clone(),
        title: c.title.clone(),
        summary: c.summary.chars().take(240).collect(),
        area: area.to_string(),
        bar_label: t.args(
            "bar-label",
            &[
                ("raised", &t.amount(&c.raised, &c.currency)),
                ("match", &t.amount(&c.match_.amount, &c.currency)),
                ("goal", &t.amount(&c.goal, &c.currency)),
            ],
        ),
        figures,
        match_label: match_label(t, &c.match_.status),
        raised_px,
        match_px,
        threshold_px: bar(threshold, goal, 300).min(299),
    })
}

/// The areas by name, with their shapes.
pub(super) async fn area_names(state: &AppState) -> Result<Vec<AreaEntry>, ApiError> {
    Ok(crate::app::console::areas(state).await?)
}

pub(super) fn name_of(areas: &[AreaEntry], id: &str) -> String {
    areas
        .iter()
        .find(|a| a.id == id)
        .map(|a| a.name.clone())
        .unwrap_or_default()
}

pub(super) async fn live_campaigns(
    state: &AppState,
    area_id: Option<String>,
) -> Result<Vec<CampaignView>, ApiError> {
    let page = campaigns::list_campaigns(
        state,
        None,
        CampaignListParams {
            status: Some(CampaignStatus::Live),
            fund_id: None,
            area_id,
            association_id: None,
            limit: Some(200),
            cursor: None,
        },
    )
    .await?;
    Ok(page.data)
}

/// An area's outer rings, (lon, lat) points.
type Rings = Vec<Vec<(f64, f64)>>;

/// The areas (and the campaigns given as pins) drawn as SVG: (the drawing, its projection).
pub(super) fn draw_map(
    t: &Tr,
    areas: &[AreaEntry],
    pins: &[CampaignView],
) -> (String, Option<Projection>) {
    let shapes: Vec<(String, Rings)> = areas
        .iter()
        .filter_map(|a| {
            PreparedShape::from_stored(&a.geometry)
                .ok()
                .map(|s| (a.name.clone(), s.outer_rings()))
        })
        .collect();
    let Some(p) = Projection::fit(
        shapes
            .iter()
            .flat_map(|(_, rings)| rings.iter().flatten().copied()),
        640.0,
    ) else {
        return (format!("<p>{}</p>", t.get("areas-none")), None);
    };
    let mut svg = format!(
        "<svg class=\"map\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w:.0} {h:.0}\" width=\"{w:.0}\" height=\"{h:.0}\" role=\"group\" aria-labelledby=\"map-title\"><title id=\"map-title\">{title}</title>",
        w = p.width,
        h = p.height,
        title = esc(&t.get("areas-map-title"))
    );
    // At most 20,000 vertices in all, however detailed the stored shapes are.
    let per_ring = (20_000 / shapes.iter().map(|(_, r)| r.len()).sum::<usize>().max(1)).max(8);
    for (name, rings) in &shapes {
        svg.push_str(&format!("<g><title>{}</title>", esc(name)));
        for ring in rings {
            svg.push_str(&format!(
                "<path class=\"area\" d=\"{}\"/>",
                p.path(ring, per_ring)
            ));
        }
        svg.push_str("</g>");
    }
    for c in pins {
        let (x, y) = p.project(c.location.lon, c.location.lat);
        svg.push_str(&format!(
            "<a href=\"/campaigns/{}\"><circle class=\"pin\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"7\"><title>{}</title></circle></a>",
            esc(&c.id),
            esc(&c.title)
        ));
    }
    svg.push_str("</svg>");
    (svg, Some(p))
}

/// A `datetime-local` field's value, read as UTC.
pub(super) fn local_time(field: &str, s: &str) -> Result<chrono::DateTime<chrono::Utc>, ApiError> {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
        .map(|t| t.and_utc())
        .map_err(|_| ApiError::validation(field, "a date and time such as 2026-12-01T09:00"))
}

/// An optional field left blank is absent.
pub(super) fn filled(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty())
}

/// A campaign in an association's list or the reviewers' queue.
pub struct OwnCampaign {
    pub id: String,
    pub title: String,
    pub status_label: String,
    pub raised: String,
    pub match_label: String,
    pub can_submit: bool,
    pub rejection: Option<String>,
}

pub fn own_line(t: &Tr, c: CampaignView) -> OwnCampaign {
    OwnCampaign {
        can_submit: matches!(c.status, CampaignStatus::Draft | CampaignStatus::Rejected),
        status_label: status_label(t, c.status),
        raised: t.amount(&c.raised, &c.currency),
        match_label: match_label(t, &c.match_.status),
        rejection: c.rejection_reason,
        id: c.id,
        title: c.title,
    }
}

/// The console's campaign lists: the first 200, in one status or any.
pub fn list_params(status: Option<CampaignStatus>) -> CampaignListParams {
    CampaignListParams {
        status,
        fund_id: None,
        area_id: None,
        association_id: None,
        limit: Some(200),
        cursor: None,
    }
}
