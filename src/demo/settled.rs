//! The demo's finished campaign: the one whose gifts crossed its threshold ends, the matching
//! engine commits its match (which opens its grant), the finance office drafts the city's batch
//! and a second signer confirms it paid — the same use cases the console calls, a day ago by
//! the demo's clock, so the finance charts show the whole path.

use crate::app::settlements::{NewBatch, confirm_batch, create_batch};
use crate::auth::Principal;
use crate::config::Config;
use crate::db::Db;
use crate::db::schema::campaigns;
use crate::domain::role::Role;
use chrono::TimeDelta;
use diesel::prelude::*;

/// The campaign the demo takes to a paid match.
pub const SETTLED: &str = "Sportello di quartiere a Mirafiori";

/// Ends [`SETTLED`], decides it, and pays the city's part in a confirmed batch.
pub fn finish(config: &Config, db: &Db, campaign_ids: &[(String, String)]) -> anyhow::Result<()> {
    let Some((_, campaign_id)) = campaign_ids.iter().find(|(t, _)| t == SETTLED) else {
        return Ok(());
    };
    let (state, clock, runtime) = super::on_own_clock(config, db)?;
    let campaign_id = campaign_id.clone();
    runtime.block_on(async move {
        // It ended a day ago: the calendar closes it and the engine decides it.
        clock.advance(-TimeDelta::hours(23));
        let (fund_id, finance, treasurer) = state
            .db
            .run(move |conn| -> anyhow::Result<(String, String, String)> {
                crate::app::campaigns::run_calendar(conn)?;
                crate::app::campaigns::decide_closing(conn, std::time::Duration::ZERO, None)?;
                let fund_id: String = campaigns::table
                    .find(&campaign_id)
                    .select(campaigns::fund_id)
                    .first(conn)?;
                Ok((
                    fund_id,
                    super::user_id(conn, "finance")?,
                    super::user_id(conn, "treasurer")?,
                ))
            })
            .await?;
        let staff = |sub: String| Principal {
            sub,
            role: Role::Finance,
            association_id: None,
            partner_id: None,
        };
        clock.advance(TimeDelta::hours(3));
        let batch = create_batch(
            &state,
            staff(finance),
            NewBatch {
                fund_id,
                funder_id: None,
                commitment_ids: None,
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("demo batch: {e:?}"))?;
        // Four eyes: the second signer confirms it, with the treasury's payment order.
        clock.advance(TimeDelta::hours(4));
        let paid_at = state.db.clock().now();
        confirm_batch(
            &state,
            staff(treasurer),
            batch.settlement.id.to_string(),
            "OPI 2026/0412".into(),
            paid_at,
        )
        .await
        .map_err(|e| anyhow::anyhow!("demo batch confirmation: {e:?}"))?;
        Ok(())
    })
}
