//! Associations (the third-sector organisations that run campaigns) and their members.

use super::users::UserView;
use crate::app::AppState;
use crate::app::associations::{self as app_associations, AssociationError};
use crate::app::associations::{NewAssociation, NewMember};
use crate::db::models::AssociationRow;
use crate::http::error::{ApiError, ApiResult, FieldError};
use crate::http::extract::{ApiJson, Page, PageParams, Principal, check_limit};
use crate::http::views::ts;
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
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

/// The answer to an association request that was refused.
fn to_api(e: AssociationError) -> ApiError {
    match e {
        AssociationError::Forbidden(e) => e.into(),
        AssociationError::NotYours => ApiError::Forbidden("not your association"),
        AssociationError::Invalid(errors) => ApiError::Validation(
            errors
                .into_iter()
                .map(|i| FieldError::new(i.field, i.message))
                .collect(),
        ),
        AssociationError::NotFound => ApiError::NotFound("association"),
        AssociationError::TaxCodeTaken => ApiError::conflict("tax_code_taken", e.to_string()),
        AssociationError::Member(e) => e.into(),
        AssociationError::Db(e) => e.into(),
    }
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
    let new = NewAssociation {
        name: body.name,
        tax_code: body.tax_code,
        iban: body.iban,
        bic: body.bic,
        email: body.email,
        runts_id: body.runts_id,
    };
    app_associations::register(state, principal, new)
        .await
        .map(AssociationView::from)
        .map_err(to_api)
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
    app_associations::may_list(&principal).map_err(to_api)?;
    let params = params.into_inner();
    let limit = check_limit(params.limit)?;
    let cursor = params.cursor.unwrap_or_default();
    let rows = app_associations::list(&state, &principal, cursor, limit)
        .await
        .map_err(to_api)?;
    Ok(HttpResponse::Ok().json(Page::from_rows(
        rows,
        limit,
        |r| r.id.clone(),
        AssociationView::from,
    )))
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
    let row = app_associations::get(&state, &principal, id.into_inner())
        .await
        .map_err(to_api)?;
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
    let new = NewMember {
        username: body.username,
        password: body.password,
        email: body.email,
    };
    app_associations::add_member(state, principal, association_id, new)
        .await
        .map(UserView::from)
        .map_err(to_api)
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
    let rows = app_associations::members(&state, &principal, id.into_inner())
        .await
        .map_err(to_api)?;
    let views: Vec<UserView> = rows.into_iter().map(UserView::from).collect();
    Ok(HttpResponse::Ok().json(views))
}
