//! City staff accounts (admin) and `GET /v1/users/me`.

use crate::app::AppState;
use crate::app::users::{self as app_users, NewStaff, StaffError};
use crate::db::models::UserRow;
use crate::domain::role::Role;
use crate::http::error::{ApiError, ApiResult, FieldError};
use crate::http::extract::ApiJson;
use crate::http::extract::Principal;
use crate::http::views::ts;
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    #[schema(pattern = "^[a-z0-9._@-]{3,64}$")]
    pub username: String,
    /// At least 12 characters.
    #[schema(min_length = 12, max_length = 1024)]
    pub password: String,
    /// `admin`, `reviewer` or `finance` (association members are added under their association).
    #[schema(value_type = String, pattern = "^(admin|reviewer|finance)$")]
    pub role: Role,
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub role: String,
    pub association_id: Option<String>,
    pub email: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<UserRow> for UserView {
    fn from(r: UserRow) -> UserView {
        UserView {
            id: r.id,
            username: r.username,
            role: r.role.to_string(),
            association_id: r.association_id,
            email: r.email,
            created_at: ts(r.created_at),
        }
    }
}

pub use crate::app::users::{MIN_PASSWORD_LEN, UserError, check_credentials, insert_user};

impl From<UserError> for ApiError {
    fn from(e: UserError) -> ApiError {
        match e {
            UserError::Invalid(errors) => ApiError::Validation(
                errors
                    .into_iter()
                    .map(|(field, message)| FieldError::new(field, message))
                    .collect(),
            ),
            UserError::UsernameTaken => {
                ApiError::conflict("username_taken", "this username is already in use")
            }
            UserError::Db(e) => e.into(),
        }
    }
}

/// The answer to a staff account that was not created or disabled.
fn to_api(e: StaffError) -> ApiError {
    match e {
        StaffError::Forbidden(e) => e.into(),
        StaffError::NotStaffRole => ApiError::validation("role", e),
        StaffError::User(e) => e.into(),
        StaffError::NotFound => ApiError::NotFound("user"),
        StaffError::CannotDisableSelf => ApiError::conflict("cannot_disable_self", e.to_string()),
        StaffError::Db(e) => e.into(),
    }
}

/// Create a city staff account (admin).
#[utoipa::path(
    tag = "users",
    request_body = CreateUser,
    security(("bearer" = [])),
    responses(
        (status = 201, body = UserView),
        (status = 403, body = crate::http::error::Problem),
        (status = 409, body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[post("/users")]
pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    body: ApiJson<CreateUser>,
) -> ApiResult<HttpResponse> {
    let v = create_user(&state, principal, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(v))
}

/// The use case behind the route, for the API and the console alike.
pub(crate) async fn create_user(
    state: &AppState,
    principal: Principal,
    body: CreateUser,
) -> ApiResult<UserView> {
    let new = NewStaff {
        username: body.username,
        password: body.password,
        role: body.role,
        email: body.email,
    };
    app_users::create_staff(state, principal, new)
        .await
        .map(UserView::from)
        .map_err(to_api)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub sub: String,
    pub role: Role,
    pub association_id: Option<String>,
    pub partner_id: Option<String>,
}

/// Who the bearer token belongs to.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = crate::http::error::Problem))
)]
#[get("/users/me")]
pub async fn me(principal: Principal) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(Me {
        sub: principal.sub,
        role: principal.role,
        association_id: principal.association_id,
        partner_id: principal.partner_id,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Disabled {
    pub id: String,
    pub disabled_at: DateTime<Utc>,
}

/// Disable a user (admin): they can no longer sign in, and their tokens stop working at once
/// on this replica and within one scheduler interval on the others. Idempotent. An admin cannot
/// disable themselves (409).
#[utoipa::path(
    tag = "users",
    params(("id" = String, Path, description = "User id (`usr_…`)")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Disabled),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, description = "Disabling yourself", body = crate::http::error::Problem),
    )
)]
#[post("/users/{id}/disable")]
pub async fn disable(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let v = disable_user(&state, principal, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(v))
}

/// The use case behind the route, for the API and the console alike.
pub(crate) async fn disable_user(
    state: &AppState,
    principal: Principal,
    id: String,
) -> ApiResult<Disabled> {
    let at = app_users::disable(state, principal, &id)
        .await
        .map_err(to_api)?;
    Ok(Disabled {
        id,
        disabled_at: ts(at),
    })
}
