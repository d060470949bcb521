//! How a call changes a campaign's own lifecycle (used by `app::campaigns`): with a call, a
//! submission is an application, accepted only inside an open window and with a cost plan that
//! adds up to the goal; and the ranking, not a reviewer, approves or rejects it.

use crate::app::Invalid;
use crate::clock::now;
use crate::db::DbConnection;
use crate::db::calls::{self as store, ApplicationRow, CallRow};
use crate::db::models::CampaignRow;
use crate::domain::call::{Call, CostLine, Criterion, Window, cost_plan_adds_up};
use diesel::QueryResult;

/// Why a call refuses what a campaign's lifecycle asked.
#[derive(Debug)]
pub enum IntakeRefusal {
    Invalid(Vec<Invalid>),
    /// (code, detail) for a 409.
    Conflict(&'static str, String),
}

/// A stored call as the rules read it; `None` when a stored value does not parse.
pub fn parse_call(row: &CallRow) -> Option<Call> {
    let windows: Vec<Window> = serde_json::from_str(&row.windows).ok()?;
    let criteria: Vec<Criterion> = serde_json::from_str(&row.criteria).ok()?;
    Some(Call {
        windows,
        criteria,
        pass_mark: row.pass_mark.parse().ok()?,
        evaluators_per_application: u32::try_from(row.evaluators_per_application).ok()?,
    })
}

/// A stored cost plan.
pub fn parse_cost_plan(text: Option<&str>) -> Option<Vec<CostLine>> {
    text.and_then(|t| serde_json::from_str(t).ok())
}

/// On `submit` (in the submitting transaction): under a call, records the application in the
/// window open now, or says why it cannot be one.
pub fn on_submit(
    conn: &mut DbConnection,
    campaign: &CampaignRow,
) -> QueryResult<Result<(), IntakeRefusal>> {
    let Some(row) = store::call_of(conn, &campaign.fund_id)? else {
        return Ok(Ok(()));
    };
    let Some(call) = parse_call(&row) else {
        return Ok(Err(IntakeRefusal::Conflict(
            "call_unreadable",
            "the fund's call cannot be read; ask the city".into(),
        )));
    };
    let t = now();
    let Some(window) = call.window_at(t) else {
        return Ok(Err(IntakeRefusal::Conflict(
            "outside_window",
            "the call accepts applications only while one of its windows is open".into(),
        )));
    };
    let plan = parse_cost_plan(campaign.cost_plan.as_deref()).unwrap_or_default();
    if !cost_plan_adds_up(&plan, campaign.goal) {
        return Ok(Err(IntakeRefusal::Invalid(vec![Invalid::new(
            "cost_plan",
            "a fund with a call needs a cost plan whose lines add up to the goal",
        )])));
    }
    if store::latest_ranking(conn, &campaign.fund_id, window as i32)?.is_some() {
        return Ok(Err(IntakeRefusal::Conflict(
            "ranking_published",
            "this window's ranking is already published; wait for the next window".into(),
        )));
    }
    store::submit_application(
        conn,
        &ApplicationRow {
            campaign_id: campaign.id.clone(),
            fund_id: campaign.fund_id.clone(),
            window_number: window as i32,
            submitted_at: t,
            frozen: false,
            outcome: None,
            published_at: None,
        },
    )?;
    Ok(Ok(()))
}

/// A reviewer's approve or reject of an application under a call: refused, the ranking
/// decides (campaigns submitted before the call keep the old flow).
pub fn decided_by_ranking(conn: &mut DbConnection, campaign: &CampaignRow) -> QueryResult<bool> {
    Ok(store::call_of(conn, &campaign.fund_id)?.is_some()
        && store::application(conn, &campaign.id)?.is_some())
}
