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
        .run(move |conn| {
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
        .run(move |conn| {
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
