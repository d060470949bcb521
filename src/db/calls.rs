//! Calls for proposals in the database: the call, its applications, evaluators, scores,
//! published ranking versions and appeals. One writer per table; `app::calls` decides.

use crate::db::DbConnection;
use crate::db::schema::{appeals, applications, calls, evaluators, rankings, scores};
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Queryable, Selectable, Insertable, AsChangeset, Clone, Debug)]
#[diesel(table_name = calls)]
pub struct CallRow {
    pub fund_id: String,
    /// JSON `[{"opens_at","closes_at"}]`.
    pub windows: String,
    /// JSON `[{"code","label","max_points"}]`.
    pub criteria: String,
    pub pass_mark: String,
    pub evaluators_per_application: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = applications)]
pub struct ApplicationRow {
    pub campaign_id: String,
    pub fund_id: String,
    pub window_number: i32,
    pub submitted_at: NaiveDateTime,
    pub frozen: bool,
    pub outcome: Option<String>,
    pub published_at: Option<NaiveDateTime>,
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = evaluators)]
pub struct EvaluatorRow {
    pub campaign_id: String,
    pub user_id: String,
    pub conflict: Option<bool>,
    pub note: Option<String>,
    pub declared_at: Option<NaiveDateTime>,
    pub assigned_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = scores)]
pub struct ScoreRow {
    pub campaign_id: String,
    pub user_id: String,
    pub criterion: String,
    pub points: String,
    pub comment: Option<String>,
    pub scored_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = rankings)]
pub struct RankingRow {
    pub fund_id: String,
    pub window_number: i32,
    pub version: i32,
    pub reason: String,
    pub published_at: NaiveDateTime,
    pub published_by: String,
    /// JSON: the lines as published.
    pub entries: String,
    /// JSON: the names of the commission.
    pub evaluators: String,
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = appeals)]
pub struct AppealRow {
    pub id: String,
    pub campaign_id: String,
    pub association_id: String,
    pub fund_id: String,
    pub window_number: i32,
    pub text: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: crate::domain::call::AppealStatus,
    pub reason: Option<String>,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub decided_by: Option<String>,
    pub decided_at: Option<NaiveDateTime>,
}

pub fn call_of(conn: &mut DbConnection, fund_id: &str) -> QueryResult<Option<CallRow>> {
    calls::table
        .find(fund_id)
        .select(CallRow::as_select())
        .first(conn)
        .optional()
}

/// The call, locked: publication, scrolling, appeals' decisions and changes to the call of one
/// fund run one at a time.
pub fn lock_call(conn: &mut DbConnection, fund_id: &str) -> QueryResult<Option<CallRow>> {
    match conn {
        DbConnection::Postgresql(c) => calls::table
            .find(fund_id)
            .select(CallRow::as_select())
            .for_update()
            .first(c)
            .optional(),
        DbConnection::Sqlite(c) => calls::table
            .find(fund_id)
            .select(CallRow::as_select())
            .first(c)
            .optional(),
    }
}

pub fn save_call(conn: &mut DbConnection, row: &CallRow) -> QueryResult<()> {
    let updated = diesel::update(calls::table.find(&row.fund_id))
        .set((
            calls::windows.eq(&row.windows),
            calls::criteria.eq(&row.criteria),
            calls::pass_mark.eq(&row.pass_mark),
            calls::evaluators_per_application.eq(row.evaluators_per_application),
            calls::updated_at.eq(row.updated_at),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(calls::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

pub fn application(
    conn: &mut DbConnection,
    campaign_id: &str,
) -> QueryResult<Option<ApplicationRow>> {
    applications::table
        .find(campaign_id)
        .select(ApplicationRow::as_select())
        .first(conn)
        .optional()
}

pub fn applications_in(
    conn: &mut DbConnection,
    fund_id: &str,
    window: i32,
) -> QueryResult<Vec<ApplicationRow>> {
    applications::table
        .filter(applications::fund_id.eq(fund_id))
        .filter(applications::window_number.eq(window))
        .order((applications::submitted_at, applications::campaign_id))
        .limit(10_000)
        .select(ApplicationRow::as_select())
        .load(conn)
}

pub fn applications_of_fund(
    conn: &mut DbConnection,
    fund_id: &str,
) -> QueryResult<Vec<ApplicationRow>> {
    applications::table
        .filter(applications::fund_id.eq(fund_id))
        .limit(100_000)
        .select(ApplicationRow::as_select())
        .load(conn)
}

/// A submission under a call: a new application, or a fresh start for a campaign submitted
/// again (its earlier evaluators and scores are dropped; published rankings keep their copy).
pub fn submit_application(conn: &mut DbConnection, row: &ApplicationRow) -> QueryResult<()> {
    diesel::delete(scores::table.filter(scores::campaign_id.eq(&row.campaign_id))).execute(conn)?;
    diesel::delete(evaluators::table.filter(evaluators::campaign_id.eq(&row.campaign_id)))
        .execute(conn)?;
    diesel::delete(applications::table.find(&row.campaign_id)).execute(conn)?;
    diesel::insert_into(applications::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Records a published outcome: the scores are frozen.
pub fn record_outcome(
    conn: &mut DbConnection,
    campaign_id: &str,
    outcome: crate::domain::call::Outcome,
    published_at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(applications::table.find(campaign_id))
        .set((
            applications::frozen.eq(true),
            applications::outcome.eq(Some(outcome.as_str())),
            applications::published_at.eq(Some(published_at)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Publication freezes every application of the window it ranks (also those it leaves out:
/// withdrawn or cancelled ones), so nothing stays open to a later "publish again".
pub fn freeze_window(conn: &mut DbConnection, fund_id: &str, window: i32) -> QueryResult<()> {
    diesel::update(
        applications::table
            .filter(applications::fund_id.eq(fund_id))
            .filter(applications::window_number.eq(window)),
    )
    .set(applications::frozen.eq(true))
    .execute(conn)?;
    Ok(())
}

/// An upheld appeal: the application's evaluators may score it again.
pub fn unfreeze(conn: &mut DbConnection, campaign_id: &str) -> QueryResult<()> {
    diesel::update(applications::table.find(campaign_id))
        .set(applications::frozen.eq(false))
        .execute(conn)?;
    Ok(())
}

pub fn evaluators_of(conn: &mut DbConnection, campaign_id: &str) -> QueryResult<Vec<EvaluatorRow>> {
    evaluators::table
        .filter(evaluators::campaign_id.eq(campaign_id))
        .order(evaluators::user_id)
        .select(EvaluatorRow::as_select())
        .load(conn)
}

/// Replaces an application's evaluators: the removed lose their declaration and scores.
pub fn set_evaluators(
    conn: &mut DbConnection,
    campaign_id: &str,
    user_ids: &[String],
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::delete(
        scores::table
            .filter(scores::campaign_id.eq(campaign_id))
            .filter(scores::user_id.ne_all(user_ids)),
    )
    .execute(conn)?;
    diesel::delete(
        evaluators::table
            .filter(evaluators::campaign_id.eq(campaign_id))
            .filter(evaluators::user_id.ne_all(user_ids)),
    )
    .execute(conn)?;
    let present: Vec<String> = evaluators::table
        .filter(evaluators::campaign_id.eq(campaign_id))
        .select(evaluators::user_id)
        .load(conn)?;
    let new: Vec<EvaluatorRow> = user_ids
        .iter()
        .filter(|u| !present.contains(u))
        .map(|u| EvaluatorRow {
            campaign_id: campaign_id.to_string(),
            user_id: u.clone(),
            conflict: None,
            note: None,
            declared_at: None,
            assigned_at: at,
        })
        .collect();
    for row in &new {
        diesel::insert_into(evaluators::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

/// Records a declaration once: `false` if the evaluator had already declared.
pub fn declare(
    conn: &mut DbConnection,
    campaign_id: &str,
    user_id: &str,
    conflict: bool,
    note: Option<&str>,
    at: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        evaluators::table
            .find((campaign_id, user_id))
            .filter(evaluators::conflict.is_null()),
    )
    .set((
        evaluators::conflict.eq(Some(conflict)),
        evaluators::note.eq(note),
        evaluators::declared_at.eq(Some(at)),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Replaces one evaluator's scores of one application.
pub fn put_scores(
    conn: &mut DbConnection,
    campaign_id: &str,
    user_id: &str,
    rows: &[ScoreRow],
) -> QueryResult<()> {
    diesel::delete(
        scores::table
            .filter(scores::campaign_id.eq(campaign_id))
            .filter(scores::user_id.eq(user_id)),
    )
    .execute(conn)?;
    for row in rows {
        diesel::insert_into(scores::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

pub fn scores_of(conn: &mut DbConnection, campaign_ids: &[String]) -> QueryResult<Vec<ScoreRow>> {
    scores::table
        .filter(scores::campaign_id.eq_any(campaign_ids))
        .order((scores::campaign_id, scores::user_id, scores::criterion))
        .select(ScoreRow::as_select())
        .load(conn)
}

pub fn evaluators_of_all(
    conn: &mut DbConnection,
    campaign_ids: &[String],
) -> QueryResult<Vec<EvaluatorRow>> {
    evaluators::table
        .filter(evaluators::campaign_id.eq_any(campaign_ids))
        .order((evaluators::campaign_id, evaluators::user_id))
        .select(EvaluatorRow::as_select())
        .load(conn)
}

pub fn latest_ranking(
    conn: &mut DbConnection,
    fund_id: &str,
    window: i32,
) -> QueryResult<Option<RankingRow>> {
    rankings::table
        .filter(rankings::fund_id.eq(fund_id))
        .filter(rankings::window_number.eq(window))
        .order(rankings::version.desc())
        .select(RankingRow::as_select())
        .first(conn)
        .optional()
}

pub fn ranking_version(
    conn: &mut DbConnection,
    fund_id: &str,
    window: i32,
    version: i32,
) -> QueryResult<Option<RankingRow>> {
    rankings::table
        .find((fund_id, window, version))
        .select(RankingRow::as_select())
        .first(conn)
        .optional()
}

pub fn insert_ranking(conn: &mut DbConnection, row: &RankingRow) -> QueryResult<()> {
    diesel::insert_into(rankings::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn insert_appeal(conn: &mut DbConnection, row: &AppealRow) -> QueryResult<()> {
    diesel::insert_into(appeals::table)
        .values(row.clone())
        .execute(conn)?;
    Ok(())
}

pub fn appeal(conn: &mut DbConnection, id: &str) -> QueryResult<Option<AppealRow>> {
    appeals::table
        .find(id)
        .select(AppealRow::as_select())
        .first(conn)
        .optional()
}

pub fn appeals_of_campaign(
    conn: &mut DbConnection,
    campaign_id: &str,
) -> QueryResult<Vec<AppealRow>> {
    appeals::table
        .filter(appeals::campaign_id.eq(campaign_id))
        .order(appeals::created_at)
        .limit(100)
        .select(AppealRow::as_select())
        .load(conn)
}

/// Decides a pending appeal once: `false` if it was already decided.
pub fn decide_appeal(
    conn: &mut DbConnection,
    id: &str,
    status: crate::domain::call::AppealStatus,
    reason: &str,
    by: &str,
    at: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        appeals::table
            .find(id)
            .filter(appeals::status.eq(crate::domain::call::AppealStatus::Pending.as_str())),
    )
    .set((
        appeals::status.eq(status.as_str()),
        appeals::reason.eq(Some(reason)),
        appeals::decided_by.eq(Some(by)),
        appeals::decided_at.eq(Some(at)),
    ))
    .execute(conn)?;
    Ok(n == 1)
}
