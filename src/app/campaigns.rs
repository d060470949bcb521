//! Campaigns: creation and edits against their fund's rules, the lifecycle actions of people
//! (submit, approve, reject, cancel) and of the calendar (live at `starts_at`, closing at
//! `ends_at`), each in one transaction: lock, `domain::campaign::transition`, the money
//! (`app::matching`: earmark on approval, release and refund on cancellation), the notifications
//! and the audit trail. The API, the console, the scheduler and the engine model all call these.

use crate::app::AppState;
pub use crate::app::Invalid;
use crate::app::cache::{AreaCatalog, AreaRender};
use crate::app::matching as engine;
use crate::auth::Principal;
use crate::clock::now;
use crate::db::models::{CampaignRow, FundRow};
use crate::db::queries::{audit, audit_system, fund_area_ids};
use crate::db::schema::{campaigns, funds, pledges};
use crate::db::{DbConnection, DbError, write_tx};
use crate::domain::area::LatLon;
use crate::domain::campaign::{Action, Actor, CampaignStatus, TransitionError, transition};
use crate::domain::ids::{self, CampaignId};
use crate::domain::matching::MatchState;
use crate::domain::money::{Currency, parse_amount};
use crate::domain::pledge::PledgeStatus;
use crate::domain::role::Role;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// Why a campaign use case did nothing.
#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    #[error("campaign not found")]
    NotFound,
    #[error("{0}")]
    Forbidden(&'static str),
    /// The action exists, not from the campaign's state.
    #[error("{0}")]
    IllegalState(String),
    #[error("the campaign changed while this request ran; read it again")]
    Concurrent,
    #[error("the fund's available budget cannot cover this campaign's top-up")]
    BudgetExhausted,
    #[error("the request has invalid fields")]
    Invalid(Vec<Invalid>),
    /// A rule of the fund's call refuses it now (409, with a machine-readable code).
    #[error("{1}")]
    Conflict(&'static str, String),
    /// A stored value that does not parse: corrupt data, never a default.
    #[error("stored {0} does not parse")]
    Corrupt(&'static str),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for CampaignError {
    fn from(e: diesel::result::Error) -> CampaignError {
        CampaignError::Db(DbError::Query(e))
    }
}

impl From<TransitionError> for CampaignError {
    fn from(e: TransitionError) -> CampaignError {
        match e {
            TransitionError::NotAllowed => CampaignError::Forbidden("your role may not do this"),
            e @ TransitionError::IllegalState { .. } => CampaignError::IllegalState(e.to_string()),
        }
    }
}

pub type CampaignResult<T> = Result<T, CampaignError>;

/// Where campaigns are placed: the catalogue of target areas and how the catalogue renders an
/// area for the public reads that share it.
#[derive(Clone, Copy)]
pub struct Areas<'a> {
    pub catalog: &'a AreaCatalog,
    pub render: AreaRender,
}

/// A campaign as asked for (already deserialised; checked here).
#[derive(Debug, Clone)]
pub struct NewCampaign {
    pub fund_id: String,
    pub title: String,
    pub summary: String,
    pub goal: String,
    pub currency: Option<String>,
    pub lat: f64,
    pub lon: f64,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub cost_plan: Option<Vec<CostLineInput>>,
}

/// A cost-plan line as asked for (checked here).
#[derive(Debug, Clone)]
pub struct CostLineInput {
    pub category: String,
    pub description: String,
    pub amount: String,
}

/// The fields an edit changes (the others stay).
#[derive(Debug, Clone, Default)]
pub struct CampaignEdit {
    pub title: Option<String>,
    pub summary: Option<String>,
    pub goal: Option<String>,
    pub location: Option<(f64, f64)>,
    pub starts_at: Option<NaiveDateTime>,
    pub ends_at: Option<NaiveDateTime>,
    pub cost_plan: Option<Vec<CostLineInput>>,
}

/// Checks a cost plan against the goal; the JSON stored on the campaign.
fn check_cost_plan(
    lines: &[CostLineInput],
    goal: i64,
    currency: Currency,
    errors: &mut Vec<Invalid>,
) -> Option<String> {
    use crate::domain::call::{CostCategory, CostLine, MAX_COST_LINES, cost_plan_adds_up};
    if lines.is_empty() || lines.len() > MAX_COST_LINES {
        errors.push(Invalid::new(
            "cost_plan",
            format!("1–{MAX_COST_LINES} lines"),
        ));
        return None;
    }
    let mut plan = Vec::with_capacity(lines.len());
    let before = errors.len();
    for (i, l) in lines.iter().enumerate() {
        let category = CostCategory::parse(&l.category);
        if category.is_none() {
            errors.push(Invalid::new(
                format!("cost_plan[{i}].category"),
                "personnel, goods, services, works or other",
            ));
        }
        let description = l.description.trim();
        if description.is_empty() || description.chars().count() > 500 {
            errors.push(Invalid::new(
                format!("cost_plan[{i}].description"),
                "1–500 characters",
            ));
        }
        let amount = match parse_amount(&l.amount, currency) {
            Ok(a) if a > 0 => a,
            Ok(_) => {
                errors.push(Invalid::new(
                    format!("cost_plan[{i}].amount"),
                    "must be positive",
                ));
                0
            }
            Err(e) => {
                errors.push(Invalid::new(format!("cost_plan[{i}].amount"), e));
                0
            }
        };
        if let Some(category) = category {
            plan.push(CostLine {
                category,
                description: description.to_string(),
                amount,
            });
        }
    }
    if errors.len() > before {
        return None;
    }
    if !cost_plan_adds_up(&plan, goal) {
        errors.push(Invalid::new(
            "cost_plan",
            format!(
                "the lines must add up to the goal, {}",
                money(goal, currency)
            ),
        ));
        return None;
    }
    serde_json::to_string(&plan).ok()
}

/// A campaign with its fund, as a use case leaves it.
pub struct CampaignWithFund {
    pub campaign: CampaignRow,
    pub fund: FundRow,
}

/// A campaign and its fund.
pub fn load_with_fund(conn: &mut DbConnection, id: &str) -> CampaignResult<CampaignWithFund> {
    campaigns::table
        .inner_join(funds::table)
        .filter(campaigns::id.eq(id))
        .select((CampaignRow::as_select(), FundRow::as_select()))
        .first(conn)
        .optional()?
        .map(|(campaign, fund)| CampaignWithFund { campaign, fund })
        .ok_or(CampaignError::NotFound)
}

/// Who `principal` is for `row`'s lifecycle.
pub fn actor_for(principal: &Principal, row: &CampaignRow) -> CampaignResult<Actor> {
    match principal.role {
        Role::Admin => Ok(Actor::Admin),
        Role::Reviewer => Ok(Actor::Reviewer),
        Role::Association if principal.is_member_of(&row.association_id) => Ok(Actor::Owner),
        // Another association's campaign: as for the public, one that is not public does not
        // exist; a public one may be seen, not changed.
        Role::Association if !row.status.is_public() => Err(CampaignError::NotFound),
        Role::Association => Err(CampaignError::Forbidden(
            "this campaign belongs to another association",
        )),
        _ => Err(CampaignError::Forbidden(
            "your role may not change campaigns",
        )),
    }
}

fn money(amount: i64, currency: Currency) -> String {
    crate::domain::money::format_amount(amount, currency)
}

/// Checks a campaign's content against its fund; returns the area that contains it.
#[allow(clippy::too_many_arguments)]
pub fn check_against_fund(
    conn: &mut DbConnection,
    areas: Areas<'_>,
    fund: &FundRow,
    goal: i64,
    (lat, lon): (f64, f64),
    (starts_at, ends_at): (NaiveDateTime, NaiveDateTime),
    errors: &mut Vec<Invalid>,
) -> CampaignResult<Option<String>> {
    let currency = fund.currency;
    if let Some(min) = fund.min_goal
        && goal < min
    {
        errors.push(Invalid::new(
            "goal",
            format!("must be at least {} for this fund", money(min, currency)),
        ));
    }
    if let Some(max) = fund.max_goal
        && goal > max
    {
        errors.push(Invalid::new(
            "goal",
            format!("must be at most {} for this fund", money(max, currency)),
        ));
    }
    if ends_at <= starts_at {
        errors.push(Invalid::new("ends_at", "must be after starts_at"));
    }
    if starts_at < fund.opens_at || starts_at > fund.closes_at {
        errors.push(Invalid::new(
            "starts_at",
            "must fall inside the fund's opens_at–closes_at window",
        ));
    }
    if ends_at > fund.closes_at || ends_at < fund.opens_at {
        errors.push(Invalid::new(
            "ends_at",
            "must fall inside the fund's opens_at–closes_at window",
        ));
    }
    let point = match LatLon::new(lat, lon) {
        Ok(p) => p,
        Err(e) => {
            errors.push(Invalid::new("location", e));
            return Ok(None);
        }
    };
    let eligible = fund_area_ids(conn, &fund.id)?;
    let index = areas.catalog.current(conn, areas.render)?;
    let area = index
        .containing(point)
        .find(|a| eligible.contains(&a.id))
        .map(|a| a.id.clone());
    if area.is_none() {
        errors.push(Invalid::new(
            "location",
            "is not inside any of the fund's eligible target areas",
        ));
    }
    Ok(area)
}

fn check_text(title: &str, summary: &str, errors: &mut Vec<Invalid>) {
    if title.trim().is_empty() || title.chars().count() > 200 {
        errors.push(Invalid::new("title", "1–200 characters"));
    }
    if summary.trim().is_empty() || summary.chars().count() > 10_000 {
        errors.push(Invalid::new("summary", "1–10000 characters"));
    }
}

/// Creates a draft campaign for the caller's association.
pub async fn create(
    state: &AppState,
    render: AreaRender,
    principal: Principal,
    body: NewCampaign,
) -> CampaignResult<CampaignWithFund> {
    if principal.role != Role::Association {
        return Err(CampaignError::Forbidden("your role may not do this"));
    }
    let association_id = principal
        .association_id
        .clone()
        .ok_or(CampaignError::Forbidden("no association"))?;
    let catalog = state.areas.clone();
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let areas = Areas {
                    catalog: &catalog,
                    render,
                };
                create_in(conn, areas, &principal, association_id, body)
            })
        })
        .await
}

fn create_in(
    conn: &mut DbConnection,
    areas: Areas<'_>,
    principal: &Principal,
    association_id: String,
    body: NewCampaign,
) -> CampaignResult<CampaignWithFund> {
    let fund: FundRow = funds::table
        .find(&body.fund_id)
        .select(FundRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| CampaignError::Invalid(vec![Invalid::new("fund_id", "unknown fund")]))?;
    let currency = fund.currency;
    let mut errors = Vec::new();
    check_text(&body.title, &body.summary, &mut errors);
    if let Some(c) = &body.currency
        && c != currency.code()
    {
        errors.push(Invalid::new(
            "currency",
            format!("must be the fund's currency, {}", currency.code()),
        ));
    }
    let goal = parse_amount(&body.goal, currency)
        .map_err(|e| errors.push(Invalid::new("goal", e)))
        .unwrap_or(0);
    if body.ends_at <= now() {
        errors.push(Invalid::new("ends_at", "must be in the future"));
    }
    let area = check_against_fund(
        conn,
        areas,
        &fund,
        goal,
        (body.lat, body.lon),
        (body.starts_at, body.ends_at),
        &mut errors,
    )?;
    let cost_plan = body
        .cost_plan
        .as_deref()
        .and_then(|lines| check_cost_plan(lines, goal, currency, &mut errors));
    let (Some(area_id), true) = (area, errors.is_empty()) else {
        return Err(CampaignError::Invalid(errors));
    };
    let t = now();
    let row = CampaignRow {
        id: ids::new_id(ids::CAMPAIGN),
        association_id,
        fund_id: fund.id.clone(),
        area_id,
        title: body.title.trim().to_string(),
        summary: body.summary.trim().to_string(),
        goal,
        currency,
        location_lat: body.lat,
        location_lon: body.lon,
        starts_at: body.starts_at,
        ends_at: body.ends_at,
        status: CampaignStatus::Draft,
        rejection_reason: None,
        raised: 0,
        donors: 0,
        match_status: MatchState::None,
        match_amount: 0,
        created_at: t,
        updated_at: t,
        waitlisted_at: None,
        decided_at: None,
        settlement_id: None,
        cost_plan,
    };
    diesel::insert_into(campaigns::table)
        .values(&row)
        .execute(conn)?;
    audit(
        conn,
        principal,
        "campaign.create",
        "campaign",
        &row.id,
        None,
    )?;
    Ok(CampaignWithFund {
        campaign: row,
        fund,
    })
}

/// Edits a draft or rejected campaign (its owner); a rejected one goes back to draft.
pub async fn update(
    state: &AppState,
    render: AreaRender,
    principal: Principal,
    id: String,
    edit: CampaignEdit,
) -> CampaignResult<CampaignWithFund> {
    let catalog = state.areas.clone();
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let areas = Areas {
                    catalog: &catalog,
                    render,
                };
                update_in(conn, areas, &principal, &id, edit)
            })
        })
        .await
}

fn update_in(
    conn: &mut DbConnection,
    areas: Areas<'_>,
    principal: &Principal,
    id: &str,
    edit: CampaignEdit,
) -> CampaignResult<CampaignWithFund> {
    let CampaignWithFund {
        campaign: row,
        fund,
    } = load_with_fund(conn, id)?;
    let actor = actor_for(principal, &row)?;
    let to = transition(row.status, Action::Edit, actor)?;
    let mut errors = Vec::new();
    let mut next = row.clone();
    if let Some(t) = edit.title {
        next.title = t.trim().to_string();
    }
    if let Some(s) = edit.summary {
        next.summary = s.trim().to_string();
    }
    check_text(&next.title, &next.summary, &mut errors);
    if let Some(g) = &edit.goal {
        match parse_amount(g, fund.currency) {
            Ok(v) => next.goal = v,
            Err(e) => errors.push(Invalid::new("goal", e)),
        }
    }
    if let Some((lat, lon)) = edit.location {
        next.location_lat = lat;
        next.location_lon = lon;
    }
    if let Some(s) = edit.starts_at {
        next.starts_at = s;
    }
    if let Some(e) = edit.ends_at {
        next.ends_at = e;
    }
    if edit.ends_at.is_some() && next.ends_at <= now() {
        errors.push(Invalid::new("ends_at", "must be in the future"));
    }
    let area = check_against_fund(
        conn,
        areas,
        &fund,
        next.goal,
        (next.location_lat, next.location_lon),
        (next.starts_at, next.ends_at),
        &mut errors,
    )?;
    if let Some(lines) = &edit.cost_plan {
        next.cost_plan = check_cost_plan(lines, next.goal, fund.currency, &mut errors);
    } else if edit.goal.is_some()
        && let Some(plan) = crate::app::call_intake::parse_cost_plan(next.cost_plan.as_deref())
        && !crate::domain::call::cost_plan_adds_up(&plan, next.goal)
    {
        errors.push(Invalid::new(
            "cost_plan",
            "the goal changed: send the cost plan again, adding up to the new goal",
        ));
    }
    let (Some(area_id), true) = (area, errors.is_empty()) else {
        return Err(CampaignError::Invalid(errors));
    };
    next.area_id = area_id;
    next.status = to;
    next.rejection_reason = None;
    next.updated_at = now();
    let changed = diesel::update(campaigns::table.find(crate::db::changing_campaign(&row.id)))
        .filter(campaigns::status.eq(row.status))
        .set(&next)
        .execute(conn)?;
    if changed == 0 {
        return Err(CampaignError::Concurrent);
    }
    audit(conn, principal, "campaign.edit", "campaign", &row.id, None)?;
    Ok(CampaignWithFund {
        campaign: next,
        fund,
    })
}

/// Moves `row` from its current status with a conditional update; `false` if someone else
/// moved it first.
fn move_status(
    conn: &mut DbConnection,
    row: &CampaignRow,
    to: CampaignStatus,
    reason: Option<String>,
) -> QueryResult<bool> {
    let changed = diesel::update(campaigns::table.find(crate::db::changing_campaign(&row.id)))
        .filter(campaigns::status.eq(row.status))
        .set((
            campaigns::status.eq(to),
            campaigns::rejection_reason.eq(reason),
            campaigns::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(changed == 1)
}

/// What a lifecycle action left: the campaign as it now is, and the fund whose budget it freed
/// (its waitlist is to be served once the transaction has committed).
pub struct Acted {
    pub campaign: CampaignRow,
    pub fund: FundRow,
    pub freed_fund: Option<String>,
}

/// Runs one lifecycle action of a person (`Submit`, `Approve`, `Reject`, `Cancel`) in the
/// caller's transaction. `areas` is needed to approve (the location is checked again).
pub fn act_in(
    conn: &mut DbConnection,
    areas: Option<Areas<'_>>,
    principal: &Principal,
    id: &str,
    action: Action,
    reason: Option<String>,
) -> CampaignResult<Acted> {
    // Under the campaign's row lock: a cancellation releases by the match state it reads, so
    // nothing may move that state between its read and its write.
    engine::lock_campaign(conn, &CampaignId::from(id))?.ok_or(CampaignError::NotFound)?;
    let CampaignWithFund {
        campaign: row,
        fund,
    } = load_with_fund(conn, id)?;
    let actor = actor_for(principal, &row)?;
    let from = row.status;
    let to = transition(from, action, actor)?;
    let mut freed = false;
    if matches!(action, Action::Approve | Action::Reject)
        && crate::app::call_intake::decided_by_ranking(conn, &row)?
    {
        return Err(CampaignError::Conflict(
            "decided_by_ranking",
            "this application is decided by the call's ranking, not one by one".into(),
        ));
    }
    if action == Action::Submit {
        use crate::app::call_intake::{IntakeRefusal, on_submit};
        match on_submit(conn, &row)? {
            Ok(()) => {}
            Err(IntakeRefusal::Invalid(errors)) => return Err(CampaignError::Invalid(errors)),
            Err(IntakeRefusal::Conflict(code, detail)) => {
                return Err(CampaignError::Conflict(code, detail));
            }
        }
    }
    match action {
        Action::Approve => {
            let areas = areas.ok_or(CampaignError::Forbidden("approval needs the area index"))?;
            approve_checks(conn, areas, &row, &fund)?
        }
        // Cancelling does what failure does: release and refund.
        Action::Cancel => {
            freed = engine::release_and_refund(conn, &row, &fund, "campaign cancelled")?.freed
        }
        _ => {}
    }
    let keep_reason = if action == Action::Reject {
        reason.clone()
    } else {
        None
    };
    if !move_status(conn, &row, to, keep_reason.clone())? {
        return Err(CampaignError::Concurrent);
    }
    let moved = engine::load_campaign(conn, &row.id)?;
    crate::notify::campaign_changed(
        conn,
        &moved,
        &fund,
        keep_reason.as_deref(),
        to.is_public() || from.is_public(),
    )?;
    audit(
        conn,
        principal,
        &format!("campaign.{}", format!("{action:?}").to_lowercase()),
        "campaign",
        &row.id,
        Some(match &reason {
            Some(r) => format!("{} -> {}: {r}", from.as_str(), to.as_str()),
            None => format!("{} -> {}", from.as_str(), to.as_str()),
        }),
    )?;
    let CampaignWithFund { campaign, fund } = load_with_fund(conn, id)?;
    Ok(Acted {
        campaign,
        freed_fund: freed.then(|| fund.id.clone()),
        fund,
    })
}

/// Runs one lifecycle action in its own transaction, then serves the waitlist of a fund whose
/// budget it freed.
pub async fn act(
    state: &AppState,
    render: AreaRender,
    principal: Principal,
    id: String,
    action: Action,
    reason: Option<String>,
) -> CampaignResult<CampaignWithFund> {
    let catalog = state.areas.clone();
    let acted = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let areas = Areas {
                    catalog: &catalog,
                    render,
                };
                act_in(conn, Some(areas), &principal, &id, action, reason)
            })
        })
        .await?;
    if let Some(fund_id) = acted.freed_fund {
        crate::app::serve_waitlist_now(state, fund_id).await;
    }
    Ok(CampaignWithFund {
        campaign: acted.campaign,
        fund: acted.fund,
    })
}

/// Approval re-checks the campaign against its fund and, for `on_approval` funds, earmarks the
/// top-up with a conditional update so the budget can never be overspent.
fn approve_checks(
    conn: &mut DbConnection,
    areas: Areas<'_>,
    row: &CampaignRow,
    fund: &FundRow,
) -> CampaignResult<()> {
    let mut errors = Vec::new();
    let area = check_against_fund(
        conn,
        areas,
        fund,
        row.goal,
        (row.location_lat, row.location_lon),
        (row.starts_at, row.ends_at),
        &mut errors,
    )?;
    if area.as_deref() != Some(row.area_id.as_str()) && errors.is_empty() {
        errors.push(Invalid::new(
            "location",
            "the campaign's area is no longer eligible for this fund",
        ));
    }
    if row.ends_at <= now() {
        errors.push(Invalid::new(
            "ends_at",
            "the campaign period is already over",
        ));
    }
    if !errors.is_empty() {
        return Err(CampaignError::Invalid(errors));
    }
    match engine::earmark(conn, row, fund)? {
        Ok(()) => Ok(()),
        Err(engine::EarmarkError::BudgetExhausted) => Err(CampaignError::BudgetExhausted),
        Err(engine::EarmarkError::Moved) => Err(CampaignError::Concurrent),
    }
}

/// What one pass of the calendar did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CalendarReport {
    pub started: usize,
    pub closed: usize,
}

/// The calendar: `approved → live` at `starts_at`, `live → closing` at `ends_at`, at most 500
/// campaigns of each a pass. Each move is one conditional update in its own transaction, so
/// replicas running the same pass cannot move a campaign twice.
pub fn run_calendar(conn: &mut DbConnection) -> Result<CalendarReport, DbError> {
    let t = now();
    let to_start: Vec<String> = campaigns::table
        .filter(campaigns::status.eq(CampaignStatus::Approved))
        .filter(campaigns::starts_at.le(t))
        .select(campaigns::id)
        .order(campaigns::id)
        .limit(500)
        .load(conn)?;
    let mut report = CalendarReport::default();
    for id in to_start {
        report.started += usize::from(calendar_move(conn, &id, Action::GoLive)?);
    }
    let to_close: Vec<String> = campaigns::table
        .filter(campaigns::status.eq(CampaignStatus::Live))
        .filter(campaigns::ends_at.le(t))
        .select(campaigns::id)
        .order(campaigns::id)
        .limit(500)
        .load(conn)?;
    for id in to_close {
        report.closed += usize::from(calendar_move(conn, &id, Action::Close)?);
    }
    Ok(report)
}

/// One move of the calendar (`GoLive` or `Close`) on one campaign, in its own transaction;
/// `false` when the campaign is no longer in the state the move starts from.
pub fn calendar_move(conn: &mut DbConnection, id: &str, action: Action) -> Result<bool, DbError> {
    let audit_action = match action {
        Action::GoLive => "campaign.go_live",
        Action::Close => "campaign.close",
        _ => return Ok(false),
    };
    write_tx(conn, |conn| -> Result<bool, DbError> {
        let Some(row) = campaigns::table
            .find(id)
            .select(CampaignRow::as_select())
            .first(conn)
            .optional()?
        else {
            return Ok(false);
        };
        let Ok(to) = transition(row.status, action, Actor::System) else {
            return Ok(false);
        };
        let changed = diesel::update(campaigns::table.find(crate::db::changing_campaign(id)))
            .filter(campaigns::status.eq(row.status))
            .set((campaigns::status.eq(to), campaigns::updated_at.eq(now())))
            .execute(conn)?;
        if changed == 1 {
            audit_system(
                conn,
                audit_action,
                "campaign",
                id,
                Some(format!("{} -> {}", row.status.as_str(), to.as_str())),
            )?;
            let campaign = engine::load_campaign(conn, id)?;
            let fund = engine::load_fund(conn, &campaign.fund_id)?;
            crate::notify::campaign_changed(conn, &campaign, &fund, None, true)?;
        }
        Ok(changed == 1)
    })
}

/// Which campaigns a list shows.
#[derive(Debug, Clone, Default)]
pub struct CampaignFilter {
    pub status: Option<CampaignStatus>,
    pub fund_id: Option<String>,
    pub area_id: Option<String>,
    pub association_id: Option<String>,
    /// Only the states the public may see.
    pub public_only: bool,
    /// After this id (cursor paging), in id order.
    pub after: String,
    pub limit: i64,
}

/// A page of campaigns with their fund's threshold ratio (`limit` rows at most).
pub async fn list(
    state: &AppState,
    filter: CampaignFilter,
) -> CampaignResult<Vec<(CampaignRow, crate::domain::money::Ratio)>> {
    let public: Vec<CampaignStatus> = crate::domain::campaign::ALL_STATUSES
        .into_iter()
        .filter(|s| s.is_public())
        .collect();
    state
        .db
        .run(move |conn| {
            let mut q = campaigns::table
                .inner_join(funds::table)
                .filter(campaigns::id.gt(&filter.after))
                .order(campaigns::id)
                .limit(filter.limit)
                .select((CampaignRow::as_select(), funds::threshold_ratio))
                .into_boxed();
            if filter.public_only {
                q = q.filter(campaigns::status.eq_any(public));
            }
            if let Some(s) = filter.status {
                q = q.filter(campaigns::status.eq(s));
            }
            if let Some(f) = filter.fund_id {
                q = q.filter(campaigns::fund_id.eq(f));
            }
            if let Some(a) = filter.area_id {
                q = q.filter(campaigns::area_id.eq(a));
            }
            if let Some(a) = filter.association_id {
                q = q.filter(campaigns::association_id.eq(a));
            }
            let rows: Vec<(CampaignRow, String)> = q.load(conn)?;
            rows.into_iter()
                .map(|(row, ratio)| {
                    // A stored ratio that does not parse is corrupt data: an error, not a default.
                    let ratio = crate::domain::money::Ratio::parse(&ratio)
                        .map_err(|_| CampaignError::Corrupt("threshold ratio"))?;
                    Ok((row, ratio))
                })
                .collect()
        })
        .await
}

/// A campaign with its fund, read outside any transaction.
pub async fn get(state: &AppState, id: String) -> CampaignResult<CampaignWithFund> {
    state.db.read(move |conn| load_with_fund(conn, &id)).await
}

/// A campaign and every match decision taken for it, oldest first.
pub async fn match_decisions(
    state: &AppState,
    id: String,
) -> CampaignResult<(CampaignRow, Vec<crate::db::models::MatchDecisionRow>)> {
    use crate::db::models::MatchDecisionRow;
    use crate::db::schema::match_decisions;
    state
        .db
        .run(move |conn| {
            let row = load_with_fund(conn, &id)?.campaign;
            let decisions = match_decisions::table
                .filter(match_decisions::campaign_id.eq(&id))
                .order(match_decisions::id)
                .select(MatchDecisionRow::as_select())
                .load(conn)?;
            Ok((row, decisions))
        })
        .await
}

/// Decides `closing` campaigns with no pending pledge left, or whose grace period has passed.
pub fn decide_closing(
    conn: &mut DbConnection,
    grace: std::time::Duration,
    fee_ratio: Option<rust_decimal::Decimal>,
) -> Result<(usize, Vec<String>), DbError> {
    let closing: Vec<(CampaignId, chrono::NaiveDateTime)> = campaigns::table
        .filter(campaigns::status.eq(CampaignStatus::Closing))
        .select((campaigns::id, campaigns::ends_at))
        .order(campaigns::id)
        .limit(200)
        .load(conn)?;
    let grace = chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::hours(72));
    let t = now();
    let mut decided = 0;
    let mut freed = Vec::new();
    for (id, ends_at) in closing {
        let pending: i64 = pledges::table
            .filter(pledges::campaign_id.eq(&id))
            .filter(pledges::status.eq(PledgeStatus::Pending))
            .count()
            .get_result(conn)?;
        if pending > 0 && ends_at + grace > t {
            continue;
        }
        // A crossing the rule has not acted on yet reserves (or queues) before the decision
        // reads the match: the periodic catch-up may not have reached it.
        let campaign = engine::load_campaign(conn, &id)?;
        if engine::needs_rematch(conn, &campaign)? {
            engine::rematch(conn, &id)?;
        }
        if let Some((_, effect)) = engine::decide_with_fee(conn, &id, fee_ratio)? {
            decided += 1;
            if effect.freed {
                freed.push(engine::load_campaign(conn, &id)?.fund_id);
            }
        }
    }
    Ok((decided, freed))
}
