//! Accounts: the rules every way of creating a user applies (`POST /v1/users`, an association's
//! members, `cofund admin create-user`).

use crate::db::DbConnection;
use crate::db::models::UserRow;
use crate::db::schema::users;
use crate::domain::email::Email;
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
