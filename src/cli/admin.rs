//! `cofund admin create-user`: blocking, with the same account rules as `POST /v1/users`
//! ([`crate::app::users`]).

use crate::app::users::{UserError, check_credentials, insert_user};
use crate::auth::hash_secret;
use crate::clock::now;
use crate::db::models::UserRow;
use crate::db::{Db, write_tx};
use crate::domain::ids;
use crate::domain::role::Role;

/// Creates a user of any role; validates like the API does.
pub fn create_user(
    db: &Db,
    username: &str,
    password: &str,
    role: &str,
    association_id: Option<&str>,
    email: Option<&str>,
) -> anyhow::Result<String> {
    let role = Role::parse(role)
        .filter(|r| *r != Role::Partner)
        .ok_or_else(|| anyhow::anyhow!("role must be admin, reviewer, finance or association"))?;
    if (role == Role::Association) != association_id.is_some() {
        anyhow::bail!("--association-id is required for (and only for) the association role");
    }
    let email = check_credentials(username, password, email).map_err(describe)?;
    let row = UserRow {
        id: ids::new_id(ids::USER),
        username: username.to_string(),
        password_hash: hash_secret(password),
        role,
        association_id: association_id.map(str::to_string),
        email,
        created_at: now(),
    };
    let mut conn = db.get()?;
    write_tx(&mut conn, |conn| insert_user(conn, &row)).map_err(describe)?;
    Ok(row.id)
}

fn describe(e: UserError) -> anyhow::Error {
    match e {
        UserError::Invalid(errors) => anyhow::anyhow!(
            "{}",
            errors
                .iter()
                .map(|(field, message)| format!("{field}: {message}"))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        other => anyhow::anyhow!("{other}"),
    }
}
