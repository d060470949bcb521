//! Queries shared by several controllers.

use super::DbConnection;
use super::models::AuditRow;
use super::schema::{audit_log, fund_areas};
use crate::auth::Principal;
use crate::clock::now;
use crate::domain::ids;
use diesel::prelude::*;

/// Appends an audit record in the caller's transaction (who, role, what, when).
pub fn audit(
    conn: &mut DbConnection,
    actor: &Principal,
    action: &str,
    object_type: &str,
    object_id: &str,
    detail: Option<String>,
) -> QueryResult<()> {
    diesel::insert_into(audit_log::table)
        .values(AuditRow {
            id: ids::new_id(ids::AUDIT),
            actor_id: Some(actor.sub.clone()),
            actor_role: actor.role.as_str().to_string(),
            action: action.to_string(),
            object_type: object_type.to_string(),
            object_id: object_id.to_string(),
            detail,
            created_at: now(),
        })
        .execute(conn)?;
    Ok(())
}

/// Same, for changes the scheduler makes on its own.
pub fn audit_system(
    conn: &mut DbConnection,
    action: &str,
    object_type: &str,
    object_id: &str,
    detail: Option<String>,
) -> QueryResult<()> {
    diesel::insert_into(audit_log::table)
        .values(AuditRow {
            id: ids::new_id(ids::AUDIT),
            actor_id: None,
            actor_role: "system".to_string(),
            action: action.to_string(),
            object_type: object_type.to_string(),
            object_id: object_id.to_string(),
            detail,
            created_at: now(),
        })
        .execute(conn)?;
    Ok(())
}

/// The eligible area ids of a fund, in id order.
pub fn fund_area_ids(conn: &mut DbConnection, fund_id: &str) -> QueryResult<Vec<String>> {
    fund_areas::table
        .filter(fund_areas::fund_id.eq(fund_id))
        .select(fund_areas::area_id)
        .order(fund_areas::area_id)
        .load(conn)
}

/// The partners whose client secret was rotated, with its generation: their tokens of an
/// older generation are refused.
pub fn credential_generations(
    conn: &mut DbConnection,
) -> QueryResult<std::collections::HashMap<String, i64>> {
    use super::schema::partners;
    Ok(partners::table
        .filter(partners::secret_version.gt(0))
        .select((partners::id, partners::secret_version))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .collect())
}

/// Every revocation the database holds: disabled users and partners (all their tokens) and
/// partners' secret rotations (tokens issued before, as Unix seconds).
pub fn revocations(conn: &mut DbConnection) -> QueryResult<std::collections::HashMap<String, i64>> {
    use super::schema::{partners, users};
    use crate::auth::revocation::ALL_TOKENS;
    let mut all = std::collections::HashMap::new();
    let disabled_users: Vec<String> = users::table
        .filter(users::disabled_at.is_not_null())
        .select(users::id)
        .load(conn)?;
    let partner_rows: Vec<(
        String,
        Option<chrono::NaiveDateTime>,
        Option<chrono::NaiveDateTime>,
    )> = partners::table
        .filter(
            partners::disabled_at
                .is_not_null()
                .or(partners::secret_rotated_at.is_not_null()),
        )
        .select((
            partners::id,
            partners::disabled_at,
            partners::secret_rotated_at,
        ))
        .load(conn)?;
    for id in disabled_users {
        all.insert(id, ALL_TOKENS);
    }
    for (id, disabled, rotated) in partner_rows {
        let cutoff = match (disabled, rotated) {
            (Some(_), _) => ALL_TOKENS,
            (None, Some(t)) => t.and_utc().timestamp(),
            (None, None) => continue,
        };
        all.insert(id, cutoff);
    }
    Ok(all)
}
