//! Associations (the third-sector organisations that run campaigns) and their members: an
//! admin registers them and adds their logins; city staff read them all, a member only their
//! own.

use super::AppState;
use super::invalid::Invalid;
use super::users::{UserError, check_credentials, insert_user};
use crate::auth::{Forbidden, Principal, hash_secret};
use crate::clock::now;
use crate::db::models::{AssociationRow, UserRow};
use crate::db::queries::audit;
use crate::db::schema::{associations, users};
use crate::db::{DbError, write_tx};
use crate::domain::email::Email;
use crate::domain::iban::{Bic, Iban};
use crate::domain::ids;
use crate::domain::role::Role;
use crate::domain::tax_code::TaxCode;
use diesel::prelude::*;

/// An association as an admin registers it (unchecked).
pub struct NewAssociation {
    pub name: String,
    pub tax_code: String,
    pub iban: String,
    pub bic: Option<String>,
    pub email: String,
    pub runts_id: Option<String>,
}

/// A member (a login) as an admin adds it to an association (unchecked).
pub struct NewMember {
    pub username: String,
    pub password: String,
    pub email: String,
}

/// Why an association or member was not registered, or not shown.
#[derive(Debug, thiserror::Error)]
pub enum AssociationError {
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    #[error("not your association")]
    NotYours,
    #[error("invalid fields")]
    Invalid(Vec<Invalid>),
    #[error("no such association")]
    NotFound,
    #[error("an association with this tax code is already registered")]
    TaxCodeTaken,
    /// The member's credentials, or a username already taken.
    #[error(transparent)]
    Member(#[from] UserError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for AssociationError {
    fn from(e: diesel::result::Error) -> AssociationError {
        AssociationError::Db(e.into())
    }
}

fn valid_runts_id(s: &str) -> bool {
    (1..=40).contains(&s.len())
        && s.as_bytes()[0].is_ascii_alphanumeric()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b' ' | b'/' | b'-' | b'.'))
}

/// City staff read every association; a member reads their own.
fn may_read(actor: &Principal, association_id: &str) -> Result<(), AssociationError> {
    if actor.role.is_city_staff() || actor.is_member_of(association_id) {
        Ok(())
    } else {
        Err(AssociationError::NotYours)
    }
}

/// Registers an association (admin), audited: name, RUNTS number, tax code, IBAN, BIC and
/// e-mail are checked (every wrong field reported), and a tax code is registered once.
pub async fn register(
    state: &AppState,
    actor: Principal,
    new: NewAssociation,
) -> Result<AssociationRow, AssociationError> {
    actor.require(&[Role::Admin])?;
    let mut errors = Vec::new();
    let name = new.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 {
        errors.push(Invalid::new("name", "1–200 characters"));
    }
    let runts_id = new.runts_id;
    if let Some(r) = &runts_id
        && !valid_runts_id(r)
    {
        errors.push(Invalid::new(
            "runts_id",
            "1–40 letters, digits, spaces, '/', '-' or '.', starting with a letter or digit",
        ));
    }
    let tax_code = TaxCode::parse(&new.tax_code)
        .map_err(|e| errors.push(Invalid::new("tax_code", e)))
        .ok();
    let iban = Iban::parse(&new.iban)
        .map_err(|e| errors.push(Invalid::new("iban", e)))
        .ok();
    let bic = match new.bic.as_deref().map(Bic::parse) {
        None => None,
        Some(Ok(b)) => Some(b.as_str().to_string()),
        Some(Err(e)) => {
            errors.push(Invalid::new("bic", e));
            None
        }
    };
    let email = Email::parse(&new.email)
        .map_err(|e| errors.push(Invalid::new("email", e)))
        .ok();
    let (Some(tax_code), Some(iban), Some(email), true) =
        (tax_code, iban, email, errors.is_empty())
    else {
        return Err(AssociationError::Invalid(errors));
    };
    let row = AssociationRow {
        id: ids::new_id(ids::ASSOCIATION),
        name,
        tax_code: tax_code.as_str().to_string(),
        iban: iban.as_str().to_string(),
        bic,
        email: email.as_str().to_string(),
        created_at: now(),
        runts_id,
    };
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| -> Result<AssociationRow, AssociationError> {
                let taken = associations::table
                    .filter(associations::tax_code.eq(&row.tax_code))
                    .count()
                    .get_result::<i64>(conn)?;
                if taken > 0 {
                    return Err(AssociationError::TaxCodeTaken);
                }
                diesel::insert_into(associations::table)
                    .values(&row)
                    .execute(conn)?;
                audit(
                    conn,
                    &actor,
                    "association.create",
                    "association",
                    &row.id,
                    None,
                )?;
                Ok(row)
            })
        })
        .await
}

/// Who lists associations: city staff (all of them) and association members (their own).
pub fn may_list(actor: &Principal) -> Result<(), AssociationError> {
    Ok(actor.require(&[
        Role::Admin,
        Role::Reviewer,
        Role::Finance,
        Role::Association,
    ])?)
}

/// A page of associations in id order after `cursor` (`limit + 1` rows); a member's holds
/// only their own.
pub async fn list(
    state: &AppState,
    actor: &Principal,
    cursor: String,
    limit: i64,
) -> Result<Vec<AssociationRow>, AssociationError> {
    may_list(actor)?;
    let only = actor.association_id.clone();
    state
        .db
        .run(
            move |conn| -> Result<Vec<AssociationRow>, AssociationError> {
                let mut q = associations::table
                    .filter(associations::id.gt(&cursor))
                    .order(associations::id)
                    .limit(limit + 1)
                    .select(AssociationRow::as_select())
                    .into_boxed();
                if let Some(own) = only {
                    q = q.filter(associations::id.eq(own));
                }
                Ok(q.load(conn)?)
            },
        )
        .await
}

/// One association (city staff, or its own members).
pub async fn get(
    state: &AppState,
    actor: &Principal,
    id: String,
) -> Result<AssociationRow, AssociationError> {
    let row = state
        .db
        .run(
            move |conn| -> Result<Option<AssociationRow>, AssociationError> {
                Ok(associations::table
                    .find(&id)
                    .select(AssociationRow::as_select())
                    .first(conn)
                    .optional()?)
            },
        )
        .await?
        .ok_or(AssociationError::NotFound)?;
    may_read(actor, &row.id)?;
    Ok(row)
}

/// Adds a member (a login with the association role) to an association (admin), audited.
pub async fn add_member(
    state: &AppState,
    actor: Principal,
    association_id: String,
    new: NewMember,
) -> Result<UserRow, AssociationError> {
    actor.require(&[Role::Admin])?;
    if new.email.trim().is_empty() {
        return Err(AssociationError::Invalid(vec![Invalid::new(
            "email",
            "is required",
        )]));
    }
    let email = check_credentials(&new.username, &new.password, Some(&new.email))?;
    let row = UserRow {
        id: ids::new_id(ids::USER),
        username: new.username,
        password_hash: hash_secret(&new.password),
        role: Role::Association,
        association_id: Some(association_id.clone()),
        email,
        created_at: now(),
    };
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| -> Result<UserRow, AssociationError> {
                let exists = associations::table
                    .find(&association_id)
                    .count()
                    .get_result::<i64>(conn)?;
                if exists == 0 {
                    return Err(AssociationError::NotFound);
                }
                insert_user(conn, &row)?;
                audit(
                    conn,
                    &actor,
                    "association.member.add",
                    "association",
                    &association_id,
                    Some(format!("user {}", row.id)),
                )?;
                Ok(row)
            })
        })
        .await
}

/// An association's members in id order (admin, or the association's own members).
pub async fn members(
    state: &AppState,
    actor: &Principal,
    association_id: String,
) -> Result<Vec<UserRow>, AssociationError> {
    if !(actor.role == Role::Admin || actor.is_member_of(&association_id)) {
        return Err(AssociationError::NotYours);
    }
    state
        .db
        .run(
            move |conn| -> Result<Option<Vec<UserRow>>, AssociationError> {
                let exists = associations::table
                    .find(&association_id)
                    .count()
                    .get_result::<i64>(conn)?;
                if exists == 0 {
                    return Ok(None);
                }
                Ok(Some(
                    users::table
                        .filter(users::association_id.eq(&association_id))
                        .order(users::id)
                        .select(UserRow::as_select())
                        .load(conn)?,
                ))
            },
        )
        .await?
        .ok_or(AssociationError::NotFound)
}
