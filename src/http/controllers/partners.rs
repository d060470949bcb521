//! Partner frontends: machine clients that create pledges. Secrets are shown once; the client
//! secret is stored as an argon2 hash. The webhook secret must sign outgoing webhooks, so it is
//! kept as is (like Stripe's endpoint secrets) and never returned again.

use crate::app::AppState;
use crate::app::partners::{self as app_partners, NewPartner, PartnerError};
use crate::http::error::{ApiError, ApiResult, FieldError};
use crate::http::extract::{ApiJson, Page, PageParams, Principal, check_limit};
use crate::http::views::ts;
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePartner {
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: String,
    /// Where cofund sends signed partner webhooks: an https (or http) URL on port 443 or 80
    /// whose host is not a private or special-purpose address (422 otherwise).
    #[schema(max_length = 2048, pattern = "^[Hh][Tt][Tt][Pp][Ss]?://")]
    pub webhook_url: Option<String>,
}

/// Returned once, at creation: store the secrets now.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedPartner {
    pub id: String,
    pub name: String,
    pub client_id: String,
    pub client_secret: String,
    pub webhook_secret: String,
    pub webhook_url: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PartnerView {
    pub id: String,
    pub name: String,
    pub client_id: String,
    pub webhook_url: Option<String>,
    pub created_at: DateTime<Utc>,
}

pub type PartnerPage = Page<PartnerView>;

/// The answer to a partner request that was refused.
fn to_api(e: PartnerError) -> ApiError {
    match e {
        PartnerError::Forbidden(e) => e.into(),
        PartnerError::Invalid(errors) => ApiError::Validation(
            errors
                .into_iter()
                .map(|i| FieldError::new(i.field, i.message))
                .collect(),
        ),
        PartnerError::NotFound => ApiError::NotFound("partner"),
        PartnerError::Disabled => ApiError::conflict("partner_disabled", e.to_string()),
        PartnerError::Db(e) => e.into(),
    }
}

/// Register a partner client (admin).
///
/// 422 when `webhook_url` is not an http(s) URL on an allowed port (443, 80) or names a private or
/// special-purpose address (loopback, private, link-local, NAT64, documentation, … ranges).
#[utoipa::path(
    tag = "partners",
    request_body = CreatePartner,
    security(("bearer" = [])),
    responses(
        (status = 201, body = CreatedPartner),
        (status = 403, body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[post("/partners")]
pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    body: ApiJson<CreatePartner>,
) -> ApiResult<HttpResponse> {
    let v = create_partner(&state, principal, body.into_inner()).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(v))
}

/// The use case behind the route, for the API and the console alike.
pub(crate) async fn create_partner(
    state: &AppState,
    principal: Principal,
    body: CreatePartner,
) -> ApiResult<CreatedPartner> {
    let new = NewPartner {
        name: body.name,
        webhook_url: body.webhook_url,
    };
    let registered = app_partners::register(state, principal, new)
        .await
        .map_err(to_api)?;
    let row = registered.row;
    Ok(CreatedPartner {
        id: row.id,
        name: row.name,
        client_id: row.client_id,
        client_secret: registered.client_secret,
        webhook_secret: row.webhook_secret,
        webhook_url: row.webhook_url,
    })
}

/// List partner clients, without secrets (admin).
#[utoipa::path(
    tag = "partners",
    params(PageParams),
    security(("bearer" = [])),
    responses((status = 200, body = Page<PartnerView>), (status = 403, body = crate::http::error::Problem))
)]
#[get("/partners")]
pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    params: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    app_partners::may_manage(&principal).map_err(to_api)?;
    let params = params.into_inner();
    let limit = check_limit(params.limit)?;
    let cursor = params.cursor.unwrap_or_default();
    let rows = app_partners::list(&state, &principal, cursor, limit)
        .await
        .map_err(to_api)?;
    Ok(HttpResponse::Ok().json(Page::from_rows(
        rows,
        limit,
        |r| r.id.clone(),
        |r| PartnerView {
            id: r.id,
            name: r.name,
            client_id: r.client_id,
            webhook_url: r.webhook_url,
            created_at: ts(r.created_at),
        },
    )))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PartnerDisabled {
    pub id: String,
    pub disabled_at: DateTime<Utc>,
}

/// Disable a partner client (admin): it can no longer get tokens, and its tokens stop working
/// at once on this replica and within one scheduler interval on the others. Idempotent.
#[utoipa::path(
    tag = "partners",
    params(("id" = String, Path, description = "Partner id (`ptn_…`)")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = PartnerDisabled),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
    )
)]
#[post("/partners/{id}/disable")]
pub async fn disable(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let v = disable_partner(&state, principal, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(v))
}

/// The use case behind the route, for the API and the console alike.
pub(crate) async fn disable_partner(
    state: &AppState,
    principal: Principal,
    id: String,
) -> ApiResult<PartnerDisabled> {
    let at = app_partners::disable(state, principal, &id)
        .await
        .map_err(to_api)?;
    Ok(PartnerDisabled {
        id,
        disabled_at: ts(at),
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RotatedSecret {
    pub id: String,
    pub client_id: String,
    /// Shown once: store it now.
    pub client_secret: String,
}

/// Rotate a partner's client secret (admin): the old secret stops working, and so do the
/// tokens issued with it. The new secret is shown once.
#[utoipa::path(
    tag = "partners",
    params(("id" = String, Path, description = "Partner id (`ptn_…`)")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = RotatedSecret),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, description = "The partner is disabled", body = crate::http::error::Problem),
    )
)]
#[post("/partners/{id}/rotate-secret")]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let rotated = app_partners::rotate_secret(&state, principal, &id)
        .await
        .map_err(to_api)?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(RotatedSecret {
            id,
            client_id: rotated.client_id,
            client_secret: rotated.client_secret,
        }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RotatedWebhookSecret {
    pub id: String,
    /// Shown once: store it now. It signs every delivery from now on.
    pub webhook_secret: String,
    /// Until then deliveries carry a second `v1` signature, made with the secret this one
    /// replaced; after it, only the new one.
    pub previous_valid_until: DateTime<Utc>,
}

/// Rotate a partner's webhook secret (admin).
///
/// The new secret is shown once. For an overlap window (`COFUND_WEBHOOK_SECRET_OVERLAP_SECS`,
/// 24 hours by default) every delivery carries two signatures,
/// `Cofund-Signature: t=…,v1=<new>,v1=<old>`, so the partner can switch its verification to
/// the new secret at any moment in the window; afterwards only the new secret signs. A second
/// rotation within the window drops the oldest secret.
#[utoipa::path(
    tag = "partners",
    params(("id" = String, Path, description = "Partner id (`ptn_…`)")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = RotatedWebhookSecret),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, description = "The partner is disabled", body = crate::http::error::Problem),
    )
)]
#[post("/partners/{id}/rotate-webhook-secret")]
pub async fn rotate_webhook_secret(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let rotated = app_partners::rotate_webhook_secret(&state, principal, &id)
        .await
        .map_err(to_api)?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(RotatedWebhookSecret {
            id,
            webhook_secret: rotated.webhook_secret,
            previous_valid_until: ts(rotated.previous_valid_until),
        }))
}
