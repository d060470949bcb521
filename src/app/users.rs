//! Accounts: the rules every way of creating a user applies (`POST /v1/users`, an association's
//! members, `cofund admin create-user`), and the city staff's accounts (created and disabled
//! by an admin).

use super::AppState;
use crate::auth::{Forbidden, Principal, hash_secret};
use crate::clock::now;
use crate::db::models::UserRow;
use crate::db::queries::audit;
use crate::db::schema::users;
use crate::db::{DbConnection, DbError, write_tx};
use crate::domain::email::Email;
use crate::domain::ids;
use crate::domain::role::Role;
use chrono::NaiveDateTime;
use diesel::prelude::*;

pub const MIN_PASSWORD_LEN: usize = 12;

/// Why a user was not created.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// (field, message) for every input that is wrong.
    #[error("invalid fields")]
    Invalid(Vec<(&'static str, String)>),
    #[error("this username is already in use")]
    UsernameTaken,
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// Checks username, password and e-mail; returns the normalised e-mail.
pub fn check_credentials(
    username: &str,
    password: &str,
    email: Option<&str>,
) -> Result<Option<String>, UserError> {
    let mut errors = Vec::new();
    if !(3..=64).contains(&username.len())
        || !username
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-@".contains(&b))
    {
        errors.push((
            "username",
            "3–64 characters: lower-case letters, digits, '.', '_', '-' or '@'".to_string(),
        ));
    }
    let chars = password.chars().count();
    if !(MIN_PASSWORD_LEN..=1024).contains(&chars) {
        errors.push(("password", format!("{MIN_PASSWORD_LEN}–1024 characters")));
    }
    let email = match email.map(Email::parse) {
        None => None,
        Some(Ok(e)) => Some(e.as_str().to_string()),
        Some(Err(e)) => {
            errors.push(("email", e.to_string()));
            None
        }
    };
    if errors.is_empty() {
        Ok(email)
    } else {
        Err(UserError::Invalid(errors))
    }
}

/// Inserts a user; a taken username is [`UserError::UsernameTaken`].
pub fn insert_user(conn: &mut DbConnection, row: &UserRow) -> Result<(), UserError> {
    let taken = users::table
        .filter(users::username.eq(&row.username))
        .count()
        .get_result::<i64>(conn)?;
    if taken > 0 {
        return Err(UserError::UsernameTaken);
    }
    diesel::insert_into(users::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// A city staff account as an admin asks for it.
pub struct NewStaff {
    pub username: String,
    pub password: String,
    /// Admin, reviewer or finance (association members are added under their association).
    pub role: Role,
    pub email: Option<String>,
}

/// Why a staff account was not created or disabled.
#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// The role asked for is not a staff role (a `role` field error).
    #[error("must be admin, reviewer or finance; add association members under their association")]
    NotStaffRole,
    #[error(transparent)]
    User(#[from] UserError),
    #[error("no such user")]
    NotFound,
    #[error("an admin cannot disable their own account")]
    CannotDisableSelf,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for StaffError {
    fn from(e: diesel::result::Error) -> StaffError {
        StaffError::Db(e.into())
    }
}

/// Creates a city staff account (admin), audited.
pub async fn create_staff(
    state: &AppState,
    actor: Principal,
    new: NewStaff,
) -> Result<UserRow, StaffError> {
    actor.require(&[Role::Admin])?;
    if !matches!(new.role, Role::Admin | Role::Reviewer | Role::Finance) {
        return Err(StaffError::NotStaffRole);
    }
    let email = check_credentials(&new.username, &new.password, new.email.as_deref())?;
    let row = UserRow {
        id: ids::new_id(ids::USER),
        username: new.username,
        password_hash: hash_secret(&new.password),
        role: new.role,
        association_id: None,
        email,
        created_at: now(),
    };
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| -> Result<UserRow, StaffError> {
                insert_user(conn, &row)?;
                audit(
                    conn,
                    &actor,
                    "user.create",
                    "user",
                    &row.id,
                    Some(format!("role {}", row.role)),
                )?;
                Ok(row)
            })
        })
        .await
}

/// Disables a user (admin; not oneself), idempotently: they can no longer sign in and their
/// tokens are refused from now on. Returns when the account was disabled.
pub async fn disable(
    state: &AppState,
    actor: Principal,
    id: &str,
) -> Result<NaiveDateTime, StaffError> {
    actor.require(&[Role::Admin])?;
    if id == actor.sub {
        return Err(StaffError::CannotDisableSelf);
    }
    let target = id.to_string();
    let at = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| -> Result<NaiveDateTime, StaffError> {
                let current: Option<Option<NaiveDateTime>> = users::table
                    .find(&target)
                    .select(users::disabled_at)
                    .first(conn)
                    .optional()?;
                match current {
                    None => Err(StaffError::NotFound),
                    Some(Some(at)) => Ok(at),
                    Some(None) => {
                        let at = now();
                        diesel::update(users::table.find(&target))
                            .set(users::disabled_at.eq(Some(at)))
                            .execute(conn)?;
                        audit(conn, &actor, "user.disable", "user", &target, None)?;
                        Ok(at)
                    }
                }
            })
        })
        .await?;
    state
        .revocations
        .revoke(id, crate::auth::revocation::ALL_TOKENS);
    Ok(at)
}
