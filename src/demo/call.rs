//! The demo's call for proposals, run to its published ranking: a fund whose campaigns enter
//! by a call, three applications submitted in its window three weeks ago, each scored by the
//! city's evaluator, and the ranking published after the window closed (two admitted, one below
//! the pass mark) — the same use cases the API and the console call.

use crate::app::calls::{
    CallInput, ScoreInput, declare, publish, put_scores, set_call, set_evaluators,
};
use crate::auth::Principal;
use crate::config::Config;
use crate::db::Db;
use crate::db::models::AreaRow;
use crate::db::schema::{campaigns, funds, users};
use crate::domain::call::{Criterion, Window};
use crate::domain::campaign::Action;
use crate::domain::role::Role;
use chrono::TimeDelta;
use diesel::prelude::*;

/// The call's fund.
pub const FUND: &str = "Bando Quartieri Vivi 2027";

/// The applications: (title, points for quality out of 60, for impact out of 40).
pub const APPLICATIONS: [(&str, u32, u32); 3] = [
    ("Portierato sociale in Barriera", 50, 35),
    ("Teatro di comunità a Mirafiori", 40, 25),
    ("Mercato contadino in Aurora", 30, 20),
];

/// The areas as the public reads them do not matter to the demo's own, discarded state.
fn unrendered(_: AreaRow) -> actix_web::web::Bytes {
    actix_web::web::Bytes::new()
}

/// A use case's refusal, as the demo reports it.
fn fail<E: std::fmt::Debug>(what: &'static str) -> impl FnOnce(E) -> anyhow::Error {
    move |e| anyhow::anyhow!("demo call, {what}: {e:?}")
}

/// Sets [`FUND`]'s call, submits [`APPLICATIONS`], scores them and publishes the ranking.
pub fn run(config: &Config, db: &Db) -> anyhow::Result<()> {
    let (state, clock, runtime) = super::on_own_clock(config, db)?;
    runtime.block_on(async move {
        let (admin_id, reviewer_id, fund_id, applications) = state
            .db
            .run(|conn| -> anyhow::Result<_> {
                let fund_id: String = funds::table
                    .filter(funds::name.eq(FUND))
                    .select(funds::id)
                    .first(conn)?;
                // Each application: the campaign, its association and that association's member.
                let mut applications = Vec::new();
                for (title, quality, impact) in APPLICATIONS {
                    let (campaign, association): (String, String) = campaigns::table
                        .filter(campaigns::title.eq(title))
                        .select((campaigns::id, campaigns::association_id))
                        .first(conn)?;
                    let member: String = users::table
                        .filter(users::association_id.eq(&association))
                        .select(users::id)
                        .first(conn)?;
                    applications.push((campaign, association, member, quality, impact));
                }
                Ok((
                    super::user_id(conn, "admin")?,
                    super::user_id(conn, "reviewer")?,
                    fund_id,
                    applications,
                ))
            })
            .await?;
        let person = |sub: &str, role: Role, association: Option<&str>| Principal {
            sub: sub.to_string(),
            role,
            association_id: association.map(str::to_string),
            partner_id: None,
        };
        let admin = person(&admin_id, Role::Admin, None);
        let reviewer = person(&reviewer_id, Role::Reviewer, None);
        // Three weeks ago the call opened, for twelve days.
        clock.advance(-TimeDelta::days(21));
        let opened = state.db.clock().now();
        set_call(
            &state,
            admin.clone(),
            fund_id.clone(),
            CallInput {
                windows: vec![Window {
                    opens_at: opened - TimeDelta::hours(1),
                    closes_at: opened + TimeDelta::days(12),
                }],
                criteria: vec![
                    Criterion {
                        code: "quality".into(),
                        label: "Qualità del progetto".into(),
                        max_points: 60,
                    },
                    Criterion {
                        code: "impact".into(),
                        label: "Impatto sociale nel quartiere".into(),
                        max_points: 40,
                    },
                ],
                pass_mark: "60".into(),
                evaluators_per_application: Some(1),
            },
        )
        .await
        .map_err(fail("the call"))?;
        for (id, association, member, quality, impact) in applications {
            clock.advance(TimeDelta::days(1));
            let association_principal = person(&member, Role::Association, Some(&association));
            crate::app::campaigns::act(
                &state,
                unrendered,
                association_principal,
                id.clone(),
                Action::Submit,
                None,
            )
            .await
            .map_err(fail("an application"))?;
            set_evaluators(&state, admin.clone(), id.clone(), vec![reviewer_id.clone()])
                .await
                .map_err(fail("the evaluator"))?;
            declare(&state, reviewer.clone(), id.clone(), false, None)
                .await
                .map_err(fail("the declaration"))?;
            let points = |criterion: &str, points: u32| ScoreInput {
                criterion: criterion.into(),
                points: points.to_string(),
                comment: None,
            };
            put_scores(
                &state,
                reviewer.clone(),
                id.clone(),
                vec![points("quality", quality), points("impact", impact)],
            )
            .await
            .map_err(fail("the scores"))?;
        }
        // The window closed; the ranking is published a few days later.
        clock.advance(TimeDelta::days(13));
        publish(&state, admin, fund_id, 1)
            .await
            .map_err(fail("the ranking"))?;
        Ok(())
    })
}
