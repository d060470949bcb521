//! Calls for proposals: the call on a fund, the commission (evaluators, declarations of
//! conflict, scores), the ranking published per window with what it approves and rejects,
//! *scorrimento* and appeals. Each use case runs in one transaction; publication, scrolling and
//! an appeal's decision hold the call's lock, and every write to an application's scores holds
//! the campaign's, so one publication wins and scores after it are refused.

use crate::app::call_intake::parse_call;
use crate::app::matching as engine;
use crate::app::{AppState, Invalid};
use crate::auth::Principal;
use crate::clock::now;
use crate::db::calls::{self as store, AppealRow, ApplicationRow, CallRow, EvaluatorRow, ScoreRow};
use crate::db::models::{CampaignRow, FundRow};
use crate::db::queries::audit;
use crate::db::schema::{campaigns, users};
use crate::db::{DbConnection, DbError, write_tx};
use crate::domain::call::{
    APPEAL_DAYS, AppealStatus, Call, Candidate, Criterion, Outcome, Ranked, Standing, Window,
    check_call, parse_points, rank,
};
use crate::domain::campaign::{Action, Actor, CampaignStatus, transition};
use crate::domain::ids::{self, CampaignId};
use crate::domain::role::Role;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};

/// Why a call use case did nothing.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("the request has invalid fields")]
    Invalid(Vec<Invalid>),
    /// Not now, in this state (409, with a machine-readable code).
    #[error("{1}")]
    Conflict(&'static str, String),
    #[error("stored {0} does not parse")]
    Corrupt(&'static str),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for CallError {
    fn from(e: diesel::result::Error) -> CallError {
        CallError::Db(DbError::Query(e))
    }
}

type CallResult<T> = Result<T, CallError>;

fn conflict<T>(code: &'static str, detail: impl Into<String>) -> CallResult<T> {
    Err(CallError::Conflict(code, detail.into()))
}

fn invalid<T>(field: impl Into<String>, message: impl std::fmt::Display) -> CallResult<T> {
    Err(CallError::Invalid(vec![Invalid::new(field, message)]))
}

fn admin_only(principal: &Principal) -> CallResult<()> {
    if principal.role == Role::Admin {
        Ok(())
    } else {
        Err(CallError::Forbidden("only an administrator may do this"))
    }
}

fn load_fund(conn: &mut DbConnection, fund_id: &str) -> CallResult<FundRow> {
    engine::load_fund(conn, fund_id)
        .optional()?
        .ok_or(CallError::NotFound("fund"))
}

fn call_of(row: &CallRow) -> CallResult<Call> {
    parse_call(row).ok_or(CallError::Corrupt("call"))
}

/// A call as asked for.
#[derive(Debug, Clone)]
pub struct CallInput {
    pub windows: Vec<Window>,
    pub criteria: Vec<Criterion>,
    pub pass_mark: String,
    pub evaluators_per_application: Option<u32>,
}

/// A fund's call as read back.
#[derive(Debug, Clone)]
pub struct CallDetails {
    pub fund: FundRow,
    pub call: Call,
    pub updated_at: NaiveDateTime,
}

/// Sets a fund's call (admin). Once applications exist, the windows, criteria and pass mark
/// they were submitted under stay; windows may be added after the last.
pub async fn set_call(
    state: &AppState,
    principal: Principal,
    fund_id: String,
    input: CallInput,
) -> CallResult<CallDetails> {
    admin_only(&principal)?;
    let pass_mark = match input.pass_mark.trim().parse::<Decimal>() {
        Ok(d) if d.scale() <= 2 => d.normalize(),
        _ => return invalid("pass_mark", "a number with at most two decimals"),
    };
    let call = Call {
        windows: input.windows,
        criteria: input
            .criteria
            .into_iter()
            .map(|c| Criterion {
                label: c.label.trim().to_string(),
                ..c
            })
            .collect(),
        pass_mark,
        evaluators_per_application: input.evaluators_per_application.unwrap_or(2),
    };
    let mut errors: Vec<Invalid> = check_call(&call)
        .into_iter()
        .map(|(f, m)| Invalid::new(f, m))
        .collect();
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let fund = load_fund(conn, &fund_id)?;
                for (i, w) in call.windows.iter().enumerate() {
                    if w.closes_at > fund.closes_at {
                        errors.push(Invalid::new(
                            format!("windows[{i}].closes_at"),
                            "must not be after the fund's closes_at",
                        ));
                    }
                }
                if !errors.is_empty() {
                    return Err(CallError::Invalid(errors));
                }
                let old = store::lock_call(conn, &fund_id)?;
                if let Some(old) = &old {
                    let submitted: Vec<(u32, NaiveDateTime)> =
                        store::applications_of_fund(conn, &fund_id)?
                            .iter()
                            .map(|a| (a.window_number as u32, a.submitted_at))
                            .collect();
                    if !submitted.is_empty()
                        && !call_of(old)?.keeps_what_applicants_relied_on(&call, &submitted)
                    {
                        return conflict(
                            "call_in_use",
                            "applications were submitted under this call: its criteria and pass \
                             mark stay, and every application must stay inside the window it \
                             came in (windows may be extended, closed early or added)",
                        );
                    }
                }
                let t = now();
                let row = CallRow {
                    fund_id: fund_id.clone(),
                    windows: serde_json::to_string(&call.windows).unwrap_or_default(),
                    criteria: serde_json::to_string(&call.criteria).unwrap_or_default(),
                    pass_mark: call.pass_mark.to_string(),
                    evaluators_per_application: call.evaluators_per_application as i32,
                    created_at: old.as_ref().map(|o| o.created_at).unwrap_or(t),
                    updated_at: t,
                };
                store::save_call(conn, &row)?;
                audit(conn, &principal, "call.set", "fund", &fund_id, None)?;
                Ok(CallDetails {
                    fund,
                    call,
                    updated_at: t,
                })
            })
        })
        .await
}

/// A fund's call (public).
pub async fn get_call(state: &AppState, fund_id: String) -> CallResult<CallDetails> {
    state
        .db
        .run(move |conn| {
            let fund = load_fund(conn, &fund_id)?;
            let row = store::call_of(conn, &fund_id)?.ok_or(CallError::NotFound("call"))?;
            Ok(CallDetails {
                call: call_of(&row)?,
                fund,
                updated_at: row.updated_at,
            })
        })
        .await
}

/// An application with its call, the campaign locked.
struct Locked {
    campaign: CampaignRow,
    application: ApplicationRow,
    call: Call,
}

fn lock_application(conn: &mut DbConnection, campaign_id: &str) -> CallResult<Locked> {
    let campaign = engine::lock_campaign(conn, &CampaignId::from(campaign_id))?
        .ok_or(CallError::NotFound("campaign"))?;
    let Some(application) = store::application(conn, campaign_id)? else {
        return conflict(
            "not_an_application",
            "this campaign was not submitted under a call",
        );
    };
    let row = store::call_of(conn, &campaign.fund_id)?.ok_or(CallError::NotFound("call"))?;
    Ok(Locked {
        campaign,
        application,
        call: call_of(&row)?,
    })
}

/// One evaluator of an application, as the admin sees the commission.
#[derive(Debug, Clone)]
pub struct EvaluatorStatus {
    pub user_id: String,
    pub username: String,
    /// `None` until declared.
    pub conflict: Option<bool>,
    pub declared_at: Option<NaiveDateTime>,
    pub scored: bool,
}

fn statuses(
    conn: &mut DbConnection,
    campaign_id: &str,
    only: Option<&str>,
) -> CallResult<Vec<EvaluatorStatus>> {
    let rows: Vec<EvaluatorRow> = store::evaluators_of(conn, campaign_id)?
        .into_iter()
        .filter(|e| only.is_none_or(|u| e.user_id == u))
        .collect();
    let ids: Vec<String> = rows.iter().map(|e| e.user_id.clone()).collect();
    let names: HashMap<String, String> = users::table
        .filter(users::id.eq_any(&ids))
        .select((users::id, users::username))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let scored: Vec<ScoreRow> = store::scores_of(conn, &[campaign_id.to_string()])?;
    Ok(rows
        .into_iter()
        .map(|e| EvaluatorStatus {
            scored: scored.iter().any(|s| s.user_id == e.user_id),
            username: names.get(&e.user_id).cloned().unwrap_or_default(),
            user_id: e.user_id,
            conflict: e.conflict,
            declared_at: e.declared_at,
        })
        .collect())
}

/// Sets an application's evaluators (admin): the list replaces the previous one, and a
/// removed evaluator's declaration and scores are dropped.
pub async fn set_evaluators(
    state: &AppState,
    principal: Principal,
    campaign_id: String,
    user_ids: Vec<String>,
) -> CallResult<Vec<EvaluatorStatus>> {
    admin_only(&principal)?;
    if user_ids.is_empty() || user_ids.len() > 10 {
        return invalid("user_ids", "1–10 reviewers");
    }
    if (1..user_ids.len()).any(|i| user_ids[..i].contains(&user_ids[i])) {
        return invalid("user_ids", "a reviewer appears twice");
    }
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let l = lock_application(conn, &campaign_id)?;
                if l.application.frozen {
                    return conflict(
                        "scores_frozen",
                        "the published ranking holds this application's scores",
                    );
                }
                let found: Vec<(String, String, Option<NaiveDateTime>, Option<String>)> =
                    users::table
                        .filter(users::id.eq_any(&user_ids))
                        .select((users::id, users::role, users::disabled_at, users::email))
                        .load(conn)?;
                let mut errors = Vec::new();
                for (i, u) in user_ids.iter().enumerate() {
                    let ok = found.iter().any(|(id, role, disabled, _)| {
                        id == u && role == Role::Reviewer.as_str() && disabled.is_none()
                    });
                    if !ok {
                        errors.push(Invalid::new(
                            format!("user_ids[{i}]"),
                            "not an active reviewer",
                        ));
                    }
                }
                if !errors.is_empty() {
                    return Err(CallError::Invalid(errors));
                }
                let before: Vec<String> = store::evaluators_of(conn, &campaign_id)?
                    .into_iter()
                    .map(|e| e.user_id)
                    .collect();
                store::set_evaluators(conn, &campaign_id, &user_ids, now())?;
                for (id, _, _, email) in &found {
                    if !before.contains(id)
                        && let Some(to) = email
                    {
                        crate::notify::evaluation_assigned(conn, to, &l.campaign)?;
                    }
                }
                audit(
                    conn,
                    &principal,
                    "application.evaluators",
                    "campaign",
                    &campaign_id,
                    Some(user_ids.join(",")),
                )?;
                statuses(conn, &campaign_id, None)
            })
        })
        .await
}

/// The commission of one application: the admin sees everyone; a reviewer only themself.
pub async fn evaluators(
    state: &AppState,
    principal: Principal,
    campaign_id: String,
) -> CallResult<Vec<EvaluatorStatus>> {
    state
        .db
        .run(move |conn| {
            let only = match principal.role {
                Role::Admin => None,
                Role::Reviewer => Some(principal.sub.clone()),
                _ => return Err(CallError::Forbidden("your role may not do this")),
            };
            if store::application(conn, &campaign_id)?.is_none() {
                return Err(CallError::NotFound("application"));
            }
            let all = statuses(conn, &campaign_id, only.as_deref())?;
            if only.is_some() && all.is_empty() {
                return Err(CallError::Forbidden(
                    "you are not an evaluator of this application",
                ));
            }
            Ok(all)
        })
        .await
}

fn assigned(
    conn: &mut DbConnection,
    principal: &Principal,
    campaign_id: &str,
) -> CallResult<EvaluatorRow> {
    if principal.role != Role::Reviewer {
        return Err(CallError::Forbidden("evaluators are reviewers"));
    }
    store::evaluators_of(conn, campaign_id)?
        .into_iter()
        .find(|e| e.user_id == principal.sub)
        .ok_or(CallError::Forbidden(
            "you are not an evaluator of this application",
        ))
}

/// An evaluator declares, once, whether they have a conflict of interest (art. 6-bis
/// L. 241/1990) with an application, before any score.
pub async fn declare(
    state: &AppState,
    principal: Principal,
    campaign_id: String,
    conflict_declared: bool,
    note: Option<String>,
) -> CallResult<EvaluatorStatus> {
    if note.as_ref().is_some_and(|n| n.chars().count() > 2000) {
        return invalid("note", "at most 2000 characters");
    }
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let l = lock_application(conn, &campaign_id)?;
                let me = assigned(conn, &principal, &campaign_id)?;
                if l.application.frozen {
                    return conflict(
                        "scores_frozen",
                        "the published ranking holds this application's scores",
                    );
                }
                if me.conflict.is_some() {
                    return conflict("already_declared", "you have already declared");
                }
                let note = note.as_deref().map(str::trim).filter(|n| !n.is_empty());
                if !store::declare(
                    conn,
                    &campaign_id,
                    &principal.sub,
                    conflict_declared,
                    note,
                    now(),
                )? {
                    return conflict("already_declared", "you have already declared");
                }
                audit(
                    conn,
                    &principal,
                    "application.declare",
                    "campaign",
                    &campaign_id,
                    Some(
                        if conflict_declared {
                            "conflict"
                        } else {
                            "no conflict"
                        }
                        .into(),
                    ),
                )?;
                let mine = statuses(conn, &campaign_id, Some(&principal.sub))?;
                mine.into_iter()
                    .next()
                    .ok_or(CallError::NotFound("evaluator"))
            })
        })
        .await
}

/// One score as asked for.
#[derive(Debug, Clone)]
pub struct ScoreInput {
    pub criterion: String,
    pub points: String,
    pub comment: Option<String>,
}

/// One evaluator's sheet for one application.
#[derive(Debug, Clone)]
pub struct Sheet {
    pub user_id: String,
    pub scores: Vec<ScoreRow>,
}

fn sheets(
    conn: &mut DbConnection,
    campaign_id: &str,
    only: Option<&str>,
) -> CallResult<Vec<Sheet>> {
    let mut out: Vec<Sheet> = Vec::new();
    for s in store::scores_of(conn, &[campaign_id.to_string()])? {
        if only.is_some_and(|u| u != s.user_id) {
            continue;
        }
        match out.iter_mut().find(|x| x.user_id == s.user_id) {
            Some(sheet) => sheet.scores.push(s),
            None => out.push(Sheet {
                user_id: s.user_id.clone(),
                scores: vec![s],
            }),
        }
    }
    Ok(out)
}

/// An evaluator's scores of an application: every criterion once, `0 ≤ points ≤ max`,
/// replacing their earlier ones. Only an assigned evaluator who declared no conflict, and only
/// until the ranking is published.
pub async fn put_scores(
    state: &AppState,
    principal: Principal,
    campaign_id: String,
    input: Vec<ScoreInput>,
) -> CallResult<Sheet> {
    if principal.role != Role::Reviewer {
        return Err(CallError::Forbidden("evaluators are reviewers"));
    }
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let l = lock_application(conn, &campaign_id)?;
                let me = assigned(conn, &principal, &campaign_id)?;
                match me.conflict {
                    Some(true) => {
                        return Err(CallError::Forbidden(
                            "you declared a conflict of interest with this application",
                        ));
                    }
                    None => {
                        return conflict(
                            "declaration_missing",
                            "declare whether you have a conflict of interest first",
                        );
                    }
                    Some(false) => {}
                }
                if l.application.frozen {
                    return conflict(
                        "scores_frozen",
                        "the ranking is published: its scores can no longer change",
                    );
                }
                let mut errors = Vec::new();
                let mut rows: Vec<ScoreRow> = Vec::new();
                let t = now();
                for (i, s) in input.iter().enumerate() {
                    let Some(criterion) = l.call.criterion(&s.criterion) else {
                        errors.push(Invalid::new(
                            format!("scores[{i}].criterion"),
                            "not a criterion of this call",
                        ));
                        continue;
                    };
                    if input[..i].iter().any(|o| o.criterion == s.criterion) {
                        errors.push(Invalid::new(
                            format!("scores[{i}].criterion"),
                            "scored twice in one request",
                        ));
                        continue;
                    }
                    match parse_points(&s.points) {
                        Some(p) if p <= Decimal::from(criterion.max_points) => {
                            rows.push(ScoreRow {
                                campaign_id: campaign_id.clone(),
                                user_id: principal.sub.clone(),
                                criterion: s.criterion.clone(),
                                points: p.to_string(),
                                comment: s
                                    .comment
                                    .as_deref()
                                    .map(str::trim)
                                    .filter(|c| !c.is_empty())
                                    .map(str::to_string),
                                scored_at: t,
                            })
                        }
                        _ => errors.push(Invalid::new(
                            format!("scores[{i}].points"),
                            format!(
                                "from 0 to {} with at most two decimals",
                                criterion.max_points
                            ),
                        )),
                    }
                    if s.comment.as_ref().is_some_and(|c| c.chars().count() > 2000) {
                        errors.push(Invalid::new(
                            format!("scores[{i}].comment"),
                            "at most 2000 characters",
                        ));
                    }
                }
                for c in &l.call.criteria {
                    if !input.iter().any(|s| s.criterion == c.code) {
                        errors.push(Invalid::new(
                            "scores",
                            format!("criterion `{}` has no score", c.code),
                        ));
                    }
                }
                if !errors.is_empty() {
                    return Err(CallError::Invalid(errors));
                }
                store::put_scores(conn, &campaign_id, &principal.sub, &rows)?;
                audit(
                    conn,
                    &principal,
                    "application.score",
                    "campaign",
                    &campaign_id,
                    None,
                )?;
                Ok(Sheet {
                    user_id: principal.sub.clone(),
                    scores: rows,
                })
            })
        })
        .await
}

/// Scores of an application: an evaluator reads only their own sheet (never another's); the
/// admin reads every sheet.
pub async fn scores(
    state: &AppState,
    principal: Principal,
    campaign_id: String,
) -> CallResult<Vec<Sheet>> {
    state
        .db
        .run(move |conn| {
            if store::application(conn, &campaign_id)?.is_none() {
                return Err(CallError::NotFound("application"));
            }
            match principal.role {
                Role::Admin => sheets(conn, &campaign_id, None),
                Role::Reviewer => {
                    assigned(conn, &principal, &campaign_id)?;
                    sheets(conn, &campaign_id, Some(&principal.sub))
                }
                _ => Err(CallError::Forbidden("your role may not do this")),
            }
        })
        .await
}

/// One assignment of an evaluator.
#[derive(Debug, Clone)]
pub struct Assignment {
    pub campaign_id: String,
    pub title: String,
    pub fund_id: String,
    pub window: i32,
    pub conflict: Option<bool>,
    pub scored: bool,
    pub frozen: bool,
}

/// The applications a reviewer evaluates (their own assignments only).
pub async fn assignments(state: &AppState, principal: Principal) -> CallResult<Vec<Assignment>> {
    if principal.role != Role::Reviewer {
        return Err(CallError::Forbidden("evaluators are reviewers"));
    }
    state
        .db
        .run(move |conn| {
            use crate::db::schema::{applications, evaluators};
            let rows: Vec<(EvaluatorRow, ApplicationRow, String)> = evaluators::table
                .inner_join(
                    applications::table.on(applications::campaign_id.eq(evaluators::campaign_id)),
                )
                .inner_join(campaigns::table.on(campaigns::id.eq(evaluators::campaign_id)))
                .filter(evaluators::user_id.eq(&principal.sub))
                .order((
                    applications::fund_id,
                    applications::window_number,
                    applications::submitted_at,
                ))
                .limit(500)
                .select((
                    EvaluatorRow::as_select(),
                    ApplicationRow::as_select(),
                    campaigns::title,
                ))
                .load(conn)?;
            let ids: Vec<String> = rows.iter().map(|(e, _, _)| e.campaign_id.clone()).collect();
            let scored: Vec<ScoreRow> = store::scores_of(conn, &ids)?;
            Ok(rows
                .into_iter()
                .map(|(e, a, title)| Assignment {
                    scored: scored
                        .iter()
                        .any(|s| s.campaign_id == e.campaign_id && s.user_id == principal.sub),
                    campaign_id: e.campaign_id,
                    title,
                    fund_id: a.fund_id,
                    window: a.window_number,
                    conflict: e.conflict,
                    frozen: a.frozen,
                })
                .collect())
        })
        .await
}

/// One line of a ranking, as computed or as published.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RankingLine {
    pub campaign_id: String,
    pub title: String,
    pub association_id: String,
    pub score: String,
    pub criteria: BTreeMap<String, String>,
    pub rank: u32,
    pub outcome: Outcome,
}

/// A window's ranking: a published version, or (for the city) the draft of the next one.
#[derive(Debug, Clone)]
pub struct Ranking {
    pub fund_id: String,
    pub window: i32,
    pub version: Option<i32>,
    pub published_at: Option<NaiveDateTime>,
    pub lines: Vec<RankingLine>,
    /// The commission's names (published beside the ranking; individual scores are not).
    pub evaluators: Vec<String>,
}

/// Where one application stands, and its sheets, ready for `domain::call::rank`.
struct Entry {
    campaign: CampaignRow,
    application: ApplicationRow,
    candidate: Candidate,
}

/// Computes a window's ranking from the stored scores (the caller holds the call's lock when
/// it will act on it): the lines, the entries, and the evaluators' ids.
fn compute(
    conn: &mut DbConnection,
    fund: &FundRow,
    call: &Call,
    window: i32,
) -> CallResult<(Vec<Ranked>, Vec<Entry>, Vec<String>)> {
    let apps = store::applications_in(conn, &fund.id, window)?;
    let ids: Vec<String> = apps.iter().map(|a| a.campaign_id.clone()).collect();
    let mut rows: HashMap<String, CampaignRow> = campaigns::table
        .filter(campaigns::id.eq_any(&ids))
        .select(CampaignRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|c| (c.id.clone(), c))
        .collect();
    let all_scores = store::scores_of(conn, &ids)?;
    let all_evaluators = store::evaluators_of_all(conn, &ids)?;
    let mut missing = Vec::new();
    let mut entries = Vec::new();
    let mut counted: Vec<String> = Vec::new();
    for a in apps {
        let Some(c) = rows.remove(&a.campaign_id) else {
            continue;
        };
        let outcome = a.outcome.as_deref().and_then(Outcome::parse);
        use CampaignStatus as S;
        let standing = match (outcome, c.status) {
            (Some(Outcome::Admitted), S::Approved | S::Live | S::Closing) => Standing::Held {
                consumes: fund.top_up_for(c.goal),
            },
            (Some(Outcome::Admitted), S::Succeeded) => Standing::Held {
                consumes: c.match_amount,
            },
            (_, S::Submitted | S::Rejected) if outcome != Some(Outcome::Admitted) => Standing::Open,
            (Some(o), _) => Standing::Out { outcome: o },
            // Withdrawn before it was ever ranked.
            (None, _) => continue,
        };
        let mut sheets = Vec::new();
        let mine: Vec<&EvaluatorRow> = all_evaluators
            .iter()
            .filter(|e| e.campaign_id == c.id && e.conflict != Some(true))
            .collect();
        let mut complete = mine.len() >= call.evaluators_per_application as usize;
        for e in &mine {
            let sheet: BTreeMap<String, Decimal> = all_scores
                .iter()
                .filter(|s| s.campaign_id == c.id && s.user_id == e.user_id)
                .filter_map(|s| Some((s.criterion.clone(), s.points.parse::<Decimal>().ok()?)))
                .collect();
            if e.conflict.is_none() || call.criteria.iter().any(|k| !sheet.contains_key(&k.code)) {
                complete = false;
            }
            if !counted.contains(&e.user_id) {
                counted.push(e.user_id.clone());
            }
            sheets.push(sheet);
        }
        if !complete {
            missing.push(c.id.clone());
        }
        entries.push(Entry {
            candidate: Candidate {
                id: c.id.clone(),
                submitted_at: a.submitted_at,
                sheets,
                top_up: fund.top_up_for(c.goal),
                standing,
            },
            campaign: c,
            application: a,
        });
    }
    if !missing.is_empty() {
        return conflict(
            "scores_missing",
            format!(
                "every assigned evaluator without a conflict must declare and score every \
                 criterion first (at least {} per application); missing for: {}",
                call.evaluators_per_application,
                missing.join(", ")
            ),
        );
    }
    let room = room_for(conn, fund, window, &entries)?;
    let candidates: Vec<Candidate> = entries.iter().map(|e| e.candidate.clone()).collect();
    let ranked = rank(&candidates, call.pass_mark, room);
    Ok((ranked, entries, counted))
}

/// The budget a window's ranking may admit within: what the fund has available, plus what this
/// window's admitted applications already hold of it, less what applications admitted in other
/// windows may still take.
fn room_for(
    conn: &mut DbConnection,
    fund: &FundRow,
    window: i32,
    entries: &[Entry],
) -> CallResult<i64> {
    let held_here: i64 = entries
        .iter()
        .filter(|e| matches!(e.candidate.standing, Standing::Held { .. }))
        .map(|e| e.campaign.match_amount)
        .sum();
    let others: Vec<ApplicationRow> = store::applications_of_fund(conn, &fund.id)?
        .into_iter()
        .filter(|a| a.window_number != window && a.outcome.as_deref() == Some("admitted"))
        .collect();
    let ids: Vec<String> = others.iter().map(|a| a.campaign_id.clone()).collect();
    let promised: i64 = campaigns::table
        .filter(campaigns::id.eq_any(&ids))
        .filter(campaigns::status.eq_any(["approved", "live", "closing"]))
        .select(CampaignRow::as_select())
        .load(conn)?
        .iter()
        .map(|c| (fund.top_up_for(c.goal) - c.match_amount).max(0))
        .sum();
    Ok(fund.available() + held_here - promised)
}

fn lines_of(ranked: &[Ranked], entries: &[Entry]) -> Vec<RankingLine> {
    ranked
        .iter()
        .filter_map(|r| {
            let e = entries.iter().find(|e| e.campaign.id == r.id)?;
            Some(RankingLine {
                campaign_id: r.id.clone(),
                title: e.campaign.title.clone(),
                association_id: e.campaign.association_id.clone(),
                score: crate::domain::call::fixed2(r.score),
                criteria: r
                    .criteria
                    .iter()
                    .map(|(k, v)| (k.clone(), crate::domain::call::fixed2(*v)))
                    .collect(),
                rank: r.rank,
                outcome: r.outcome,
            })
        })
        .collect()
}

fn names_of(conn: &mut DbConnection, user_ids: &[String]) -> CallResult<Vec<String>> {
    let mut names: Vec<String> = users::table
        .filter(users::id.eq_any(user_ids))
        .select(users::username)
        .load(conn)?;
    names.sort();
    Ok(names)
}

fn window_number(call: &Call, window: Option<i32>) -> CallResult<i32> {
    match window {
        Some(w) if w >= 1 && (w as usize) <= call.windows.len() => Ok(w),
        Some(_) => invalid(
            "window",
            format!("a window of this call, 1–{}", call.windows.len()),
        ),
        None => {
            // The latest window that has opened (the first before any).
            let t = now();
            Ok(call
                .windows
                .iter()
                .rposition(|w| w.opens_at <= t)
                .map(|i| i as i32 + 1)
                .unwrap_or(1))
        }
    }
}

fn published(row: crate::db::calls::RankingRow) -> CallResult<Ranking> {
    Ok(Ranking {
        fund_id: row.fund_id,
        window: row.window_number,
        version: Some(row.version),
        published_at: Some(row.published_at),
        lines: serde_json::from_str(&row.entries).map_err(|_| CallError::Corrupt("ranking"))?,
        evaluators: serde_json::from_str(&row.evaluators)
            .map_err(|_| CallError::Corrupt("ranking"))?,
    })
}

/// A window's ranking. Anyone reads a published version (the latest, or `version`); the admin
/// and reviewers also read the draft while the window has scores not yet published.
pub async fn ranking(
    state: &AppState,
    principal: Option<Principal>,
    fund_id: String,
    window: Option<i32>,
    version: Option<i32>,
) -> CallResult<Ranking> {
    state
        .db
        .run(move |conn| {
            let fund = load_fund(conn, &fund_id)?;
            let row = store::call_of(conn, &fund_id)?.ok_or(CallError::NotFound("call"))?;
            let call = call_of(&row)?;
            let staff = principal
                .as_ref()
                .is_some_and(|p| matches!(p.role, Role::Admin | Role::Reviewer));
            let window = match (window, staff) {
                (None, false) => {
                    // The latest window with a published ranking.
                    let mut found = None;
                    for w in (1..=call.windows.len() as i32).rev() {
                        if store::latest_ranking(conn, &fund_id, w)?.is_some() {
                            found = Some(w);
                            break;
                        }
                    }
                    found.ok_or(CallError::NotFound("published ranking"))?
                }
                (w, _) => window_number(&call, w)?,
            };
            if let Some(v) = version {
                return published(
                    store::ranking_version(conn, &fund_id, window, v)?
                        .ok_or(CallError::NotFound("ranking version"))?,
                );
            }
            let latest = store::latest_ranking(conn, &fund_id, window)?;
            let pending = store::applications_in(conn, &fund_id, window)?
                .iter()
                .any(|a| !a.frozen);
            match (latest, staff) {
                (Some(row), false) => published(row),
                (Some(row), true) if !pending => published(row),
                (None, false) => Err(CallError::NotFound("published ranking")),
                (_, true) => {
                    let (ranked, entries, _) = compute(conn, &fund, &call, window)?;
                    Ok(Ranking {
                        fund_id: fund_id.clone(),
                        window,
                        version: None,
                        published_at: None,
                        lines: lines_of(&ranked, &entries),
                        evaluators: Vec::new(),
                    })
                }
            }
        })
        .await
}

/// Why a ranking version is published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    Publish,
    Advance,
}

/// Publishes a window's ranking (admin): freezes the scores, approves the admitted
/// applications (earmarking their top-up where the fund sets it aside on approval) and rejects
/// the others with their outcome as the reason. After an upheld appeal, publishing again
/// records a new version; an admission already made is never withdrawn.
pub async fn publish(
    state: &AppState,
    principal: Principal,
    fund_id: String,
    window: i32,
) -> CallResult<Ranking> {
    act_on_ranking(state, principal, fund_id, window, Reason::Publish).await
}

/// *Scorrimento* (admin): admits, in rank order, the eligible applications left out by the
/// budget that now fit (an admitted one dropped out, or the budget rose). A new version.
pub async fn advance(
    state: &AppState,
    principal: Principal,
    fund_id: String,
    window: i32,
) -> CallResult<Ranking> {
    act_on_ranking(state, principal, fund_id, window, Reason::Advance).await
}

async fn act_on_ranking(
    state: &AppState,
    principal: Principal,
    fund_id: String,
    window: i32,
    reason: Reason,
) -> CallResult<Ranking> {
    admin_only(&principal)?;
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let row = store::lock_call(conn, &fund_id)?.ok_or(CallError::NotFound("call"))?;
                let call = call_of(&row)?;
                let window = window_number(&call, Some(window))?;
                let apps = store::applications_in(conn, &fund_id, window)?;
                let latest = store::latest_ranking(conn, &fund_id, window)?;
                let pending = apps.iter().any(|a| !a.frozen);
                match reason {
                    Reason::Publish if apps.is_empty() => {
                        return conflict("nothing_to_publish", "no application in this window");
                    }
                    Reason::Publish if !pending => {
                        return conflict(
                            "already_published",
                            "this window's ranking is published and no appeal reopened it",
                        );
                    }
                    Reason::Advance if latest.is_none() => {
                        return conflict("not_published", "publish this window's ranking first");
                    }
                    Reason::Advance if pending => {
                        return conflict(
                            "republish_first",
                            "an upheld appeal reopened this window: publish it again first",
                        );
                    }
                    _ => {}
                }
                let mut ids: Vec<&String> = apps.iter().map(|a| &a.campaign_id).collect();
                ids.sort();
                for id in ids {
                    engine::lock_campaign(conn, &CampaignId::from(id.as_str()))?;
                }
                let fund = load_fund(conn, &fund_id)?;
                let (ranked, entries, evaluator_ids) = compute(conn, &fund, &call, window)?;
                let t = now();
                store::freeze_window(conn, &fund_id, window)?;
                let mut admitted_now = 0;
                for r in &ranked {
                    let Some(e) = entries.iter().find(|e| e.campaign.id == r.id) else {
                        continue;
                    };
                    if e.candidate.standing != Standing::Open {
                        continue;
                    }
                    let before = e.application.outcome.as_deref().and_then(Outcome::parse);
                    if reason == Reason::Advance && before == Some(r.outcome) {
                        continue;
                    }
                    if r.outcome == Outcome::Admitted {
                        admitted_now += 1;
                        admit(conn, &principal, &e.campaign, &fund)?;
                    } else {
                        turn_down(conn, &principal, &e.campaign, &fund, r.outcome, before)?;
                    }
                    store::record_outcome(conn, &r.id, r.outcome, t)?;
                }
                if reason == Reason::Advance && admitted_now == 0 {
                    return conflict(
                        "nothing_fits",
                        "no eligible application left out by the budget fits it now",
                    );
                }
                let lines = lines_of(&ranked, &entries);
                let evaluators = names_of(conn, &evaluator_ids)?;
                let version = latest.map(|l| l.version + 1).unwrap_or(1);
                store::insert_ranking(
                    conn,
                    &crate::db::calls::RankingRow {
                        fund_id: fund_id.clone(),
                        window_number: window,
                        version,
                        reason: match reason {
                            Reason::Publish => "publish",
                            Reason::Advance => "advance",
                        }
                        .into(),
                        published_at: t,
                        published_by: principal.sub.clone(),
                        entries: serde_json::to_string(&lines).unwrap_or_default(),
                        evaluators: serde_json::to_string(&evaluators).unwrap_or_default(),
                    },
                )?;
                audit(
                    conn,
                    &principal,
                    match reason {
                        Reason::Publish => "ranking.publish",
                        Reason::Advance => "ranking.advance",
                    },
                    "fund",
                    &fund_id,
                    Some(format!("window {window}, version {version}")),
                )?;
                Ok(Ranking {
                    fund_id: fund_id.clone(),
                    window,
                    version: Some(version),
                    published_at: Some(t),
                    lines,
                    evaluators,
                })
            })
        })
        .await
}

/// Moves a campaign with a conditional update on the status it was read with.
fn move_to(
    conn: &mut DbConnection,
    c: &CampaignRow,
    to: CampaignStatus,
    reason: Option<&str>,
) -> CallResult<()> {
    let n = diesel::update(campaigns::table.find(crate::db::changing_campaign(&c.id)))
        .filter(campaigns::status.eq(c.status))
        .set((
            campaigns::status.eq(to),
            campaigns::rejection_reason.eq(reason),
            campaigns::updated_at.eq(now()),
        ))
        .execute(conn)?;
    if n == 1 {
        Ok(())
    } else {
        conflict(
            "concurrent_update",
            "an application changed while the ranking was published; try again",
        )
    }
}

/// An admitted application is approved: its top-up earmarked where the fund sets it aside on
/// approval; the association hears it.
fn admit(
    conn: &mut DbConnection,
    principal: &Principal,
    c: &CampaignRow,
    fund: &FundRow,
) -> CallResult<()> {
    let to = transition(c.status, Action::Admit, Actor::Admin)
        .map_err(|e| CallError::Conflict("illegal_state_transition", e.to_string()))?;
    match engine::earmark(conn, c, fund)? {
        Ok(()) => {}
        Err(engine::EarmarkError::BudgetExhausted) => {
            return conflict(
                "budget_exhausted",
                "the funders cannot cover an admitted application's top-up",
            );
        }
        Err(engine::EarmarkError::Moved) => {
            return conflict(
                "concurrent_update",
                "an application's match moved; try again",
            );
        }
    }
    move_to(conn, c, to, None)?;
    let moved = engine::load_campaign(conn, &c.id)?;
    crate::notify::campaign_changed(conn, &moved, fund, None, true)?;
    audit(
        conn,
        principal,
        "campaign.admit",
        "campaign",
        &c.id,
        Some(format!(
            "{} -> {}: admitted by the ranking",
            c.status.as_str(),
            to.as_str()
        )),
    )?;
    Ok(())
}

/// An application not admitted is rejected with its outcome as the reason (or keeps its
/// rejection, with the new outcome, when a new version changes it).
fn turn_down(
    conn: &mut DbConnection,
    principal: &Principal,
    c: &CampaignRow,
    fund: &FundRow,
    outcome: Outcome,
    before: Option<Outcome>,
) -> CallResult<()> {
    let to = match c.status {
        CampaignStatus::Rejected => CampaignStatus::Rejected,
        from => transition(from, Action::Reject, Actor::Admin)
            .map_err(|e| CallError::Conflict("illegal_state_transition", e.to_string()))?,
    };
    if c.status == to && before == Some(outcome) {
        return Ok(());
    }
    move_to(conn, c, to, Some(outcome.as_str()))?;
    let moved = engine::load_campaign(conn, &c.id)?;
    crate::notify::campaign_changed(conn, &moved, fund, Some(outcome.as_str()), false)?;
    audit(
        conn,
        principal,
        "campaign.reject",
        "campaign",
        &c.id,
        Some(format!(
            "{} -> rejected: {}",
            c.status.as_str(),
            outcome.as_str()
        )),
    )?;
    Ok(())
}

/// An application's appeal against its published outcome (its association, within 30 days).
pub async fn appeal(
    state: &AppState,
    principal: Principal,
    campaign_id: String,
    text: String,
) -> CallResult<AppealRow> {
    if principal.role != Role::Association {
        return Err(CallError::Forbidden(
            "only the applicant association may appeal",
        ));
    }
    let text = text.trim().to_string();
    if text.is_empty() || text.chars().count() > 5000 {
        return invalid("text", "1–5000 characters");
    }
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let c = engine::lock_campaign(conn, &CampaignId::from(campaign_id.as_str()))?
                    .ok_or(CallError::NotFound("campaign"))?;
                if !principal.is_member_of(&c.association_id) {
                    return Err(CallError::Forbidden(
                        "this application belongs to another association",
                    ));
                }
                let a = store::application(conn, &campaign_id)?;
                let Some((a, published_at)) = a.and_then(|a| a.published_at.map(|p| (a, p))) else {
                    return conflict(
                        "not_ranked",
                        "no published ranking has ranked this application",
                    );
                };
                if now() > published_at + chrono::Duration::days(APPEAL_DAYS) {
                    return conflict(
                        "appeal_too_late",
                        format!("an appeal is possible within {APPEAL_DAYS} days of publication"),
                    );
                }
                if store::appeals_of_campaign(conn, &campaign_id)?
                    .iter()
                    .any(|x| x.status == AppealStatus::Pending)
                {
                    return conflict("appeal_pending", "an appeal of this application is pending");
                }
                let row = AppealRow {
                    id: ids::new_id(ids::APPEAL),
                    campaign_id: campaign_id.clone(),
                    association_id: c.association_id.clone(),
                    fund_id: a.fund_id.clone(),
                    window_number: a.window_number,
                    text,
                    status: AppealStatus::Pending,
                    reason: None,
                    created_by: principal.sub.clone(),
                    created_at: now(),
                    decided_by: None,
                    decided_at: None,
                };
                store::insert_appeal(conn, &row)?;
                crate::notify::appeal_filed(conn, &row, &c.title)?;
                audit(
                    conn,
                    &principal,
                    "appeal.file",
                    "appeal",
                    &row.id,
                    Some(campaign_id.clone()),
                )?;
                Ok(row)
            })
        })
        .await
}

/// Decides an appeal (admin). Upheld: the application's evaluators may score it again, and
/// publishing the window again records a new version of the ranking.
pub async fn decide_appeal(
    state: &AppState,
    principal: Principal,
    appeal_id: String,
    upheld: bool,
    reason: String,
) -> CallResult<AppealRow> {
    admin_only(&principal)?;
    let reason = reason.trim().to_string();
    if reason.is_empty() || reason.chars().count() > 2000 {
        return invalid("reason", "1–2000 characters");
    }
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let a = store::appeal(conn, &appeal_id)?.ok_or(CallError::NotFound("appeal"))?;
                store::lock_call(conn, &a.fund_id)?;
                let status = if upheld {
                    AppealStatus::Upheld
                } else {
                    AppealStatus::Dismissed
                };
                if !store::decide_appeal(conn, &appeal_id, status, &reason, &principal.sub, now())?
                {
                    return conflict("appeal_decided", "this appeal is already decided");
                }
                if upheld {
                    store::unfreeze(conn, &a.campaign_id)?;
                }
                let decided =
                    store::appeal(conn, &appeal_id)?.ok_or(CallError::NotFound("appeal"))?;
                let title: String = campaigns::table
                    .find(&a.campaign_id)
                    .select(campaigns::title)
                    .first(conn)?;
                crate::notify::appeal_decided(conn, &decided, &title)?;
                audit(
                    conn,
                    &principal,
                    if upheld {
                        "appeal.uphold"
                    } else {
                        "appeal.dismiss"
                    },
                    "appeal",
                    &appeal_id,
                    Some(reason.clone()),
                )?;
                Ok(decided)
            })
        })
        .await
}

/// Appeals: the admin reads them all; an association only its own.
pub async fn appeals(
    state: &AppState,
    principal: Principal,
    status: Option<AppealStatus>,
    campaign_id: Option<String>,
) -> CallResult<Vec<AppealRow>> {
    use crate::db::schema::appeals;
    let own = match principal.role {
        Role::Admin | Role::Reviewer => None,
        Role::Association => Some(principal.association_id.clone().unwrap_or_default()),
        _ => return Err(CallError::Forbidden("your role may not do this")),
    };
    state
        .db
        .run(move |conn| {
            let mut q = appeals::table
                .order(appeals::created_at.desc())
                .limit(200)
                .select(AppealRow::as_select())
                .into_boxed();
            if let Some(a) = own {
                q = q.filter(appeals::association_id.eq(a));
            }
            if let Some(s) = status {
                q = q.filter(appeals::status.eq(s.as_str()));
            }
            if let Some(c) = campaign_id {
                q = q.filter(appeals::campaign_id.eq(c));
            }
            Ok(q.load(conn)?)
        })
        .await
}

/// One application as its association follows it.
#[derive(Debug, Clone)]
pub struct OwnApplication {
    pub campaign_id: String,
    pub title: String,
    pub fund_id: String,
    pub window: i32,
    pub outcome: Option<Outcome>,
    pub published_at: Option<NaiveDateTime>,
    /// The latest appeal's status.
    pub appeal: Option<AppealStatus>,
}

/// An association's applications, newest first (at most 200).
pub async fn applications_of_association(
    state: &AppState,
    association_id: String,
) -> CallResult<Vec<OwnApplication>> {
    use crate::db::schema::{appeals, applications};
    state
        .db
        .run(move |conn| {
            let rows: Vec<(ApplicationRow, String)> = applications::table
                .inner_join(campaigns::table.on(campaigns::id.eq(applications::campaign_id)))
                .filter(campaigns::association_id.eq(&association_id))
                .order(applications::submitted_at.desc())
                .limit(200)
                .select((ApplicationRow::as_select(), campaigns::title))
                .load(conn)?;
            let ids: Vec<String> = rows.iter().map(|(a, _)| a.campaign_id.clone()).collect();
            let appeal_rows: Vec<AppealRow> = appeals::table
                .filter(appeals::campaign_id.eq_any(&ids))
                .order(appeals::created_at)
                .select(AppealRow::as_select())
                .load(conn)?;
            Ok(rows
                .into_iter()
                .map(|(a, title)| OwnApplication {
                    appeal: appeal_rows
                        .iter()
                        .rfind(|x| x.campaign_id == a.campaign_id)
                        .map(|x| x.status),
                    outcome: a.outcome.as_deref().and_then(Outcome::parse),
                    campaign_id: a.campaign_id,
                    title,
                    fund_id: a.fund_id,
                    window: a.window_number,
                    published_at: a.published_at,
                })
                .collect())
        })
        .await
}

/// One application of a fund's call, as the admin assigns its commission.
#[derive(Debug, Clone)]
pub struct CallApplication {
    pub campaign_id: String,
    pub title: String,
    pub window: i32,
    pub frozen: bool,
    pub outcome: Option<Outcome>,
    pub evaluators: Vec<EvaluatorStatus>,
}

/// A fund's applications with their commissions, the reviewers who may be assigned, and the
/// pending appeals (admin).
pub async fn overview(
    state: &AppState,
    principal: Principal,
    fund_id: String,
) -> CallResult<(Vec<CallApplication>, Vec<(String, String)>, Vec<AppealRow>)> {
    admin_only(&principal)?;
    use crate::db::schema::appeals;
    state
        .db
        .run(move |conn| {
            let mut apps = store::applications_of_fund(conn, &fund_id)?;
            apps.sort_by(|a, b| {
                (a.window_number, a.submitted_at).cmp(&(b.window_number, b.submitted_at))
            });
            apps.truncate(500);
            let mut out = Vec::with_capacity(apps.len());
            for a in apps {
                let title: String = campaigns::table
                    .find(&a.campaign_id)
                    .select(campaigns::title)
                    .first(conn)?;
                out.push(CallApplication {
                    evaluators: statuses(conn, &a.campaign_id, None)?,
                    title,
                    window: a.window_number,
                    frozen: a.frozen,
                    outcome: a.outcome.as_deref().and_then(Outcome::parse),
                    campaign_id: a.campaign_id,
                });
            }
            let reviewers: Vec<(String, String)> = users::table
                .filter(users::role.eq(Role::Reviewer.as_str()))
                .filter(users::disabled_at.is_null())
                .order(users::username)
                .limit(200)
                .select((users::id, users::username))
                .load(conn)?;
            let pending: Vec<AppealRow> = appeals::table
                .filter(appeals::fund_id.eq(&fund_id))
                .filter(appeals::status.eq(AppealStatus::Pending.as_str()))
                .order(appeals::created_at)
                .limit(200)
                .select(AppealRow::as_select())
                .load(conn)?;
            Ok((out, reviewers, pending))
        })
        .await
}

/// The funds that run a call, by name (for the console's choice).
pub async fn funds_with_calls(state: &AppState) -> CallResult<Vec<(String, String)>> {
    use crate::db::schema::{calls, funds};
    state
        .db
        .run(move |conn| {
            Ok(calls::table
                .inner_join(funds::table.on(funds::id.eq(calls::fund_id)))
                .order(funds::name)
                .limit(200)
                .select((funds::id, funds::name))
                .load(conn)?)
        })
        .await
}
