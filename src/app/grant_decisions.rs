//! Grants as the adapters use them: each decision in a transaction of its own, followed once
//! committed by the fund's waitlist (released money may fund a queued campaign); the reads.

use crate::app::grants::{GrantDetails, GrantError, GrantFilter, details};
use crate::auth::Principal;
use crate::db::models::GrantRow;
use crate::db::schema::grants;
use crate::db::{DbConnection, write_tx};
use crate::domain::role::Role;
use diesel::prelude::*;

/// Runs a grant decision in a write transaction of its own; the funds' waitlists are served
/// after it commits (released money may fund a queued campaign).
pub async fn decide<F>(state: &crate::app::AppState, f: F) -> Result<GrantRow, GrantError>
where
    F: FnOnce(&mut DbConnection) -> Result<GrantRow, GrantError> + Send + 'static,
{
    let g = state.db.run(move |conn| write_tx(conn, f)).await?;
    crate::app::serve_waitlist_now(state, g.fund_id.clone()).await;
    Ok(g)
}

/// One grant the caller may read.
pub async fn get(
    state: &crate::app::AppState,
    principal: Principal,
    id: String,
) -> Result<GrantDetails, GrantError> {
    state
        .db
        .read(move |conn| {
            let g = crate::app::grants::visible(conn, &principal, &id, false)?;
            Ok(details(conn, g)?)
        })
        .await
}

/// Grants in id order after `filter.after`: an association's members see their own only.
pub async fn list(
    state: &crate::app::AppState,
    principal: Principal,
    mut filter: GrantFilter,
) -> Result<Vec<GrantDetails>, GrantError> {
    match principal.role {
        Role::Admin | Role::Reviewer | Role::Finance => {}
        Role::Association => {
            let own = principal.association_id.clone().unwrap_or_default();
            if filter.association_id.as_ref().is_some_and(|a| *a != own) {
                return Ok(Vec::new());
            }
            filter.association_id = Some(own);
        }
        Role::Partner => return Err(GrantError::Forbidden),
    }
    state
        .db
        .read(move |conn| {
            let mut q = grants::table
                .filter(grants::id.gt(&filter.after))
                .order(grants::id)
                .limit(filter.limit)
                .select(GrantRow::as_select())
                .into_boxed();
            if let Some(v) = filter.fund_id {
                q = q.filter(grants::fund_id.eq(v));
            }
            if let Some(v) = filter.campaign_id {
                q = q.filter(grants::campaign_id.eq(v));
            }
            if let Some(v) = filter.association_id {
                q = q.filter(grants::association_id.eq(v));
            }
            if let Some(v) = filter.status {
                q = q.filter(grants::status.eq(v));
            }
            let rows: Vec<GrantRow> = q.load(conn)?;
            let mut out = Vec::with_capacity(rows.len());
            for g in rows {
                out.push(details(conn, g)?);
            }
            Ok(out)
        })
        .await
}

/// What a grant's pages show next to its ids: campaign titles, association and funder names.
#[derive(Debug, Default)]
pub struct GrantNames {
    pub campaigns: std::collections::HashMap<String, String>,
    pub associations: std::collections::HashMap<String, String>,
    pub funders: std::collections::HashMap<String, String>,
}

impl GrantNames {
    /// The name under `id` in `map`, else the id itself.
    pub fn of(map: &std::collections::HashMap<String, String>, id: &str) -> String {
        map.get(id).cloned().unwrap_or_else(|| id.to_string())
    }
}

/// The names of the campaigns, associations and funders of grants the caller already read.
pub async fn names(
    state: &crate::app::AppState,
    grants: &[GrantDetails],
) -> Result<GrantNames, GrantError> {
    use crate::db::schema::{associations, campaigns, funders};
    let campaign_ids: Vec<String> = grants.iter().map(|d| d.grant.campaign_id.clone()).collect();
    let association_ids: Vec<String> = grants
        .iter()
        .map(|d| d.grant.association_id.clone())
        .collect();
    let funder_ids: Vec<String> = grants
        .iter()
        .flat_map(|d| d.parts.iter().map(|p| p.funder_id.clone()))
        .collect();
    if campaign_ids.is_empty() {
        return Ok(GrantNames::default());
    }
    state
        .db
        .read(move |conn| {
            let pairs = |rows: Vec<(String, String)>| rows.into_iter().collect();
            Ok(GrantNames {
                campaigns: pairs(
                    campaigns::table
                        .filter(campaigns::id.eq_any(&campaign_ids))
                        .select((campaigns::id, campaigns::title))
                        .load(conn)?,
                ),
                associations: pairs(
                    associations::table
                        .filter(associations::id.eq_any(&association_ids))
                        .select((associations::id, associations::name))
                        .load(conn)?,
                ),
                funders: pairs(
                    funders::table
                        .filter(funders::id.eq_any(&funder_ids))
                        .select((funders::id, funders::name))
                        .load(conn)?,
                ),
            })
        })
        .await
}

/// What anyone may know of a campaign's grant: its state, the award, what was paid and the
/// spending accepted against the goal. Never a document, an expense line or a reason.
#[derive(Debug, Clone)]
pub struct PublicGrant {
    pub status: crate::domain::grant::GrantStatus,
    pub currency: crate::domain::money::Currency,
    pub goal: i64,
    pub accepted_expenses: i64,
    pub award: i64,
    pub paid: i64,
}

/// The public facts of a campaign's grant, if its match was committed.
pub async fn public_of_campaign(
    state: &crate::app::AppState,
    campaign_id: String,
) -> Result<Option<PublicGrant>, GrantError> {
    state
        .db
        .read(move |conn| {
            let id = crate::domain::grant::grant_id_of(&campaign_id);
            Ok(crate::db::grants::load(conn, &id)?.map(|g| PublicGrant {
                status: g.status,
                currency: g.currency,
                goal: g.goal,
                accepted_expenses: g.accepted_expenses,
                award: g.award_limit,
                paid: g.paid,
            }))
        })
        .await
}
