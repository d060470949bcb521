//! Associations (the third-sector organisations that run campaigns) and their members.

use super::users::{UserView, check_credentials, insert_user};
use crate::app::AppState;
use crate::auth::hash_secret;
use crate::db::models::{AssociationRow, UserRow};
use crate::db::queries::audit;
use crate::db::schema::{associations, users};
use crate::db::write_tx;
use crate::domain::email::Email;
use crate::domain::iban::{Bic, Iban};
use crate::domain::ids;
use crate::domain::role::Role;
use crate::domain::tax_code::TaxCode;
use crate::http::error::{ApiError, ApiResult, FieldError};
use crate::http::extract::{ApiJson, Page, PageParams, Principal, check_limit};
use crate::http::views::{now, ts};
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAssociation {
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: String,
    /// 11-digit partita IVA or 16-character codice fiscale.
    #[schema(example = "97532760580")]
    pub tax_code: String,
    /// ISO 13616 IBAN (spaces allowed).
    #[schema(example = "IT60X0542811101000000123456")]
    pub iban: String,
    /// ISO 9362 BIC, 8 or 11 characters (any case).
    #[schema(pattern = r"^\s*[A-Za-z]{6}[A-Za-z0-9]{2}([A-Za-z0-9]{3})?\s*$")]
    pub bic: Option<String>,
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// Registration number in the RUNTS (Registro Unico Nazionale del Terzo Settore), printed
    /// on donors' tax receipts: 1–40 letters, digits, spaces, `/`, `-` or `.`.
    #[schema(
        min_length = 1,
        max_length = 40,
        pattern = r"^[A-Za-z0-9][A-Za-z0-9 /.\-]*$"
    )]
    pub runts_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AssociationView {
    pub id: String,
    pub name: String,
    pub tax_code: String,
    pub iban: String,
    pub bic: Option<String>,
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    pub runts_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<AssociationRow> for AssociationView {
    fn from(r: AssociationRow) -> AssociationView {
        AssociationView {
            id: r.id,
            name: r.name,
            tax_code: r.tax_code,
            iban: r.iban,
            bic: r.bic,
            email: r.email,
            runts_id: r.runts_id,
            created_at: ts(r.created_at),
        }
    }
}

pub type AssociationPage = Page<AssociationView>;

fn valid_runts_id(s: &str) -> bool {
    (1..=40).contains(&s.len())
        && s.as_bytes()[0].is_ascii_alphanumeric()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b' ' | b'/' | b'-' | b'.'))
}

/// Register an association (admin).
///
/// 422 when a check character is wrong: the IBAN's mod-97 checksum, the codice fiscale's check
/// letter or the partita IVA's check digit.
#[utoipa::path(
    tag = "associations",
    request_body = CreateAssociation,
    security(("bearer" = [])),
    responses(
        (status = 201, body = AssociationView),
        (status = 403, body = crate::http::error::Problem),
        (status = 409, description = "Tax code already registered", body = crate::http::error::Problem),
        (status = 422, description = "Bad IBAN, tax code, BIC or e-mail", body = crate::http::error::Problem),
    )
)]
#[post("/associations")]
pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    body: ApiJson<CreateAssociation>,
) -> ApiResult<HttpResponse> {
    let v = create_association(&state, principal, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(v))
}

/// The use case behind the route, for the API and the console alike.
pub(crate) async fn create_association(
    state: &AppState,
    principal: Principal,
    body: CreateAssociation,
) -> ApiResult<AssociationView> {
    principal.require(&[Role::Admin])?;
    let mut errors = Vec::new();
    let name = body.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 {
        errors.push(FieldError::new("name", "1–200 characters"));
    }
    let runts_id = body.runts_id.clone();
    if let Some(r) = &runts_id
        && !valid_runts_id(r)
    {
        errors.push(FieldError::new(
            "runts_id",
            "1–40 letters, digits, spaces, '/', '-' or '.', starting with a letter or digit",
        ));
    }
    let tax_code = TaxCode::parse(&body.tax_code)
        .map_err(|e| errors.push(FieldError::new("tax_code", e)))
        .ok();
    let iban = Iban::parse(&body.iban)
        .map_err(|e| errors.push(FieldError::new("iban", e)))
        .ok();
    let bic = match body.bic.as_deref().map(Bic::parse) {
        None => None,
        Some(Ok(b)) => Some(b.as_str().to_string()),
        Some(Err(e)) => {
            errors.push(FieldError::new("bic", e));
            None
        }
    };
    let email = Email::parse(&body.email)
        .map_err(|e| errors.push(FieldError::new("email", e)))
        .ok();
    let (Some(tax_code), Some(iban), Some(email), true) =
        (tax_code, iban, email, errors.is_empty())
    else {
        return Err(ApiError::Validation(errors));
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
    let row = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| -> ApiResult<AssociationRow> {
                let taken = associations::table
                    .filter(associations::tax_code.eq(&row.tax_code))
                    .count()
                    .get_result::<i64>(conn)?;
                if taken > 0 {
                    return Err(ApiError::conflict(
                        "tax_code_taken",
                        "an association with this tax code is already registered",
                    ));
                }
                diesel::insert_into(associations::table)
                    .values(&row)
                    .execute(conn)?;
                audit(
                    conn,
                    &principal,
                    "association.create",
                    "association",
                    &row.id,
                    None,
                )?;
                Ok(row)
            })
        })
        .await?;
    Ok(AssociationView::from(row))
}

/// List associations (city staff; an association member sees only their own).
#[utoipa::path(
    tag = "associations",
    params(PageParams),
    security(("bearer" = [])),
    responses((status = 200, body = Page<AssociationView>), (status = 403, body = crate::http::error::Problem))
)]
#[get("/associations")]
pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    params: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    principal.require(&[
        Role::Admin,
        Role::Reviewer,
        Role::Finance,
        Role::Association,
    ])?;
    let params = params.into_inner();
    let limit = check_limit(params.limit)?;
    let cursor = params.cursor.unwrap_or_default();
    let only = principal.association_id.clone();
    let rows = state
        .db
        .run(move |conn| -> ApiResult<Vec<AssociationRow>> {
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
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(
        rows,
        limit,
        |r| r.id.clone(),
        AssociationView::from,
    )))
}

fn may_read(principal: &Principal, association_id: &str) -> ApiResult<()> {
    if principal.role.is_city_staff() || principal.is_member_of(association_id) {
        Ok(())
    } else {
        Err(ApiError::Forbidden("not your association"))
    }
}

/// Read an association (city staff or its own members).
#[utoipa::path(
    tag = "associations",
    params(("id" = String, Path, description = "Association id (`asso_…`)")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = AssociationView),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
    )
)]
#[get("/associations/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let row = state
        .db
        .run(move |conn| -> ApiResult<Option<AssociationRow>> {
            Ok(associations::table
                .find(&id)
                .select(AssociationRow::as_select())
                .first(conn)
                .optional()?)
        })
        .await?
        .ok_or(ApiError::NotFound("association"))?;
    may_read(&principal, &row.id)?;
    Ok(HttpResponse::Ok().json(AssociationView::from(row)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMember {
    #[schema(pattern = "^[a-z0-9._@-]{3,64}$")]
    pub username: String,
    /// At least 12 characters.
    #[schema(min_length = 12, max_length = 1024)]
    pub password: String,
    #[schema(format = Email, max_length = 254)]
    pub email: String,
}

/// Add a member (a login) to an association (admin).
#[utoipa::path(
    tag = "associations",
    params(("id" = String, Path, description = "Association id")),
    request_body = CreateMember,
    security(("bearer" = [])),
    responses(
        (status = 201, body = UserView),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[post("/associations/{id}/members")]
pub async fn add_member(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: ApiJson<CreateMember>,
) -> ApiResult<HttpResponse> {
    let row = add_association_member(&state, principal, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Created().json(row))
}

/// The use case behind the route, for the API and the console alike.
pub(crate) async fn add_association_member(
    state: &AppState,
    principal: Principal,
    association_id: String,
    body: CreateMember,
) -> ApiResult<UserView> {
    principal.require(&[Role::Admin])?;
    if body.email.trim().is_empty() {
        return Err(ApiError::validation("email", "is required"));
    }
    let email = check_credentials(&body.username, &body.password, Some(&body.email))?;
    let row = UserRow {
        id: ids::new_id(ids::USER),
        username: body.username,
        password_hash: hash_secret(&body.password),
        role: Role::Association,
        association_id: Some(association_id.clone()),
        email,
        created_at: now(),
    };
    let row = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| -> ApiResult<UserRow> {
                let exists = associations::table
                    .find(&association_id)
                    .count()
                    .get_result::<i64>(conn)?;
                if exists == 0 {
                    return Err(ApiError::NotFound("association"));
                }
                insert_user(conn, &row)?;
                audit(
                    conn,
                    &principal,
                    "association.member.add",
                    "association",
                    &association_id,
                    Some(format!("user {}", row.id)),
                )?;
                Ok(row)
            })
        })
        .await?;
    Ok(UserView::from(row))
}

/// List an association's members (admin, or the association's own members).
#[utoipa::path(
    tag = "associations",
    params(("id" = String, Path, description = "Association id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<UserView>),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
    )
)]
#[get("/associations/{id}/members")]
pub async fn list_members(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let association_id = id.into_inner();
    if !(principal.role == Role::Admin || principal.is_member_of(&association_id)) {
        return Err(ApiError::Forbidden("not your association"));
    }
    let rows = state
        .db
        .run(move |conn| -> ApiResult<Option<Vec<UserRow>>> {
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
        })
        .await?
        .ok_or(ApiError::NotFound("association"))?;
    let views: Vec<UserView> = rows.into_iter().map(UserView::from).collect();
    Ok(HttpResponse::Ok().json(views))
}
