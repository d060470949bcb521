//! Project updates over HTTP: an association posts what happened with its project; anyone
//! reads a public campaign's updates.

use crate::app::AppState;
use crate::app::updates::{self as uc, UpdateError};
use crate::db::updates::UpdateRow;
use crate::http::error::{ApiError, ApiResult, FieldError};
use crate::http::extract::{ApiJson, MaybePrincipal, Principal};
use crate::http::views::ts;
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

impl From<UpdateError> for ApiError {
    fn from(e: UpdateError) -> ApiError {
        match e {
            UpdateError::NotFound(what) => ApiError::NotFound(what),
            UpdateError::Forbidden(why) => ApiError::Forbidden(why),
            UpdateError::Invalid(errors) => ApiError::Validation(
                errors
                    .into_iter()
                    .map(|i| FieldError::new(i.field, i.message))
                    .collect(),
            ),
            UpdateError::Conflict(code, detail) => ApiError::conflict(code, detail),
            UpdateError::Db(e) => e.into(),
        }
    }
}

/// A project update. Plain text: no HTML is ever rendered from it; web addresses in the body
/// become links on the campaign page.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUpdate {
    /// One line, 1–120 characters.
    #[schema(
        min_length = 1,
        max_length = 120,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub title: String,
    /// 1–5000 characters; line breaks kept.
    #[schema(
        min_length = 1,
        max_length = 5000,
        pattern = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"
    )]
    pub body: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UpdateView {
    /// `upd_…`
    pub id: String,
    pub campaign_id: String,
    pub title: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    /// Donors it was e-mailed to (distinct addresses that agreed to be contacted).
    pub recipients: i32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UpdateList {
    /// Newest first, at most 50.
    pub data: Vec<UpdateView>,
}

fn view(u: UpdateRow) -> UpdateView {
    UpdateView {
        id: u.id,
        campaign_id: u.campaign_id,
        title: u.title,
        body: u.body,
        created_at: ts(u.created_at),
        recipients: u.recipients,
    }
}

/// Post a project update (the campaign's association, on a public campaign; at most 3 in
/// 24 hours). It shows on the campaign's page and is e-mailed, in Italian or English, to every
/// donor who agreed to be contacted.
#[utoipa::path(
    tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id")),
    request_body = NewUpdate,
    security(("bearer" = [])),
    responses(
        (status = 201, body = UpdateView),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, description = "`not_public`, `too_many_updates`", body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[post("/campaigns/{id}/updates")]
pub async fn post_update(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: ApiJson<NewUpdate>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let u = uc::post(&state, principal, id.into_inner(), b.title, b.body).await?;
    Ok(HttpResponse::Created().json(view(u)))
}

/// A campaign's project updates, newest first (public campaigns: anyone).
#[utoipa::path(
    tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id")),
    responses(
        (status = 200, body = UpdateList),
        (status = 404, body = crate::http::error::Problem),
    )
)]
#[get("/campaigns/{id}/updates")]
pub async fn list_updates(
    state: web::Data<AppState>,
    principal: MaybePrincipal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let rows = uc::list(&state, principal.0, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(UpdateList {
        data: rows.into_iter().map(view).collect(),
    }))
}
