//! Partner frontends: machine clients that create pledges. Secrets are shown once; the client
//! secret is stored as an argon2 hash. The webhook secret must sign outgoing webhooks, so it is
//! kept as is (like Stripe's endpoint secrets) and never returned again.

use crate::app::AppState;
use crate::auth::hash_secret;
use crate::db::models::PartnerRow;
use crate::db::queries::audit;
use crate::db::schema::partners;
use crate::db::write_tx;
use crate::domain::destination::{DEFAULT_PORTS, WebhookTarget};
use crate::domain::ids;
use crate::domain::role::Role;
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
    principal.require(&[Role::Admin])?;
    let mut errors = Vec::new();
    let name = body.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 {
        errors.push(FieldError::new("name", "1–200 characters"));
    }
    if let Some(url) = &body.webhook_url {
        // A literal special-purpose address or a port other than 443/80 is refused now; what a
        // host name resolves to is checked at every send.
        let ports = (!state.config.notify.allow_private_webhooks).then_some(&DEFAULT_PORTS[..]);
        if let Err(e) = WebhookTarget::parse(url, ports) {
            errors.push(FieldError::new("webhook_url", e.to_string()));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let client_secret = ids::random_secret("cs", 32);
    let created = CreatedPartner {
        id: ids::new_id(ids::PARTNER),
        name,
        client_id: ids::random_secret("ci", 12),
        webhook_secret: ids::random_secret("whsec", 32),
        webhook_url: body.webhook_url,
        client_secret,
    };
    let row = PartnerRow {
        id: created.id.clone(),
        name: created.name.clone(),
        client_id: created.client_id.clone(),
        client_secret_hash: hash_secret(&created.client_secret),
        webhook_url: created.webhook_url.clone(),
        webhook_secret: created.webhook_secret.clone(),
        created_at: now(),
    };
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| -> ApiResult<()> {
                diesel::insert_into(partners::table)
                    .values(&row)
                    .execute(conn)?;
                audit(conn, &principal, "partner.create", "partner", &row.id, None)?;
                Ok(())
            })
        })
        .await?;
    Ok(created)
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
    principal.require(&[Role::Admin])?;
    let params = params.into_inner();
    let limit = check_limit(params.limit)?;
    let cursor = params.cursor.unwrap_or_default();
    let rows = state
        .db
        .run(move |conn| -> ApiResult<Vec<PartnerRow>> {
            Ok(partners::table
                .filter(partners::id.gt(&cursor))
                .order(partners::id)
                .limit(limit + 1)
                .select(PartnerRow::as_select())
                .load(conn)?)
        })
        .await?;
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
    principal.require(&[Role::Admin])?;
    let target = id.clone();
    let at = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| -> ApiResult<chrono::NaiveDateTime> {
                let current: Option<Option<chrono::NaiveDateTime>> = partners::table
                    .find(&target)
                    .select(partners::disabled_at)
                    .first(conn)
                    .optional()?;
                match current {
                    None => Err(ApiError::NotFound("partner")),
                    Some(Some(at)) => Ok(at),
                    Some(None) => {
                        let at = now();
                        diesel::update(partners::table.find(&target))
                            .set(partners::disabled_at.eq(Some(at)))
                            .execute(conn)?;
                        audit(
                            conn,
                            &principal,
                            "partner.disable",
                            "partner",
                            &target,
                            None,
                        )?;
                        Ok(at)
                    }
                }
            })
        })
        .await?;
    state
        .revocations
        .revoke(&id, crate::auth::revocation::ALL_TOKENS);
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
    principal.require(&[Role::Admin])?;
    let id = id.into_inner();
    let secret = ids::random_secret("cs", 32);
    let hash = hash_secret(&secret);
    let target = id.clone();
    let (client_id, at) = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| -> ApiResult<(String, chrono::NaiveDateTime)> {
                let current: Option<(String, Option<chrono::NaiveDateTime>)> = partners::table
                    .find(&target)
                    .select((partners::client_id, partners::disabled_at))
                    .first(conn)
                    .optional()?;
                let client_id = match current {
                    None => return Err(ApiError::NotFound("partner")),
                    Some((_, Some(_))) => {
                        return Err(ApiError::conflict(
                            "partner_disabled",
                            "a disabled partner's secret is not rotated",
                        ));
                    }
                    Some((client_id, None)) => client_id,
                };
                let at = now();
                diesel::update(partners::table.find(&target))
                    .set((
                        partners::client_secret_hash.eq(&hash),
                        partners::secret_rotated_at.eq(Some(at)),
                    ))
                    .execute(conn)?;
                audit(
                    conn,
                    &principal,
                    "partner.rotate_secret",
                    "partner",
                    &target,
                    None,
                )?;
                Ok((client_id, at))
            })
        })
        .await?;
    // Tokens issued before this second stop working (a token's `iat` is in whole seconds).
    state.revocations.revoke(&id, at.and_utc().timestamp());
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(RotatedSecret {
            id,
            client_id,
            client_secret: secret,
        }))
}
