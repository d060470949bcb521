//! Liveness, readiness and Prometheus metrics.

use crate::app::AppState;
use crate::app::ops::{self as app_ops, Readiness as Ready};
use crate::domain::role::Role;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::MaybePrincipal;
use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
}

/// Liveness: the process answers.
#[utoipa::path(tag = "ops", responses((status = 200, body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    pub status: &'static str,
    pub database: &'static str,
    pub migrations: &'static str,
}

/// Readiness: the database answers and every migration is applied.
#[utoipa::path(
    tag = "ops",
    responses((status = 200, body = Readiness), (status = 503, body = Readiness))
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match app_ops::readiness(&state).await {
        Ready::Ready => HttpResponse::Ok().json(Readiness {
            status: "ready",
            database: "ok",
            migrations: "applied",
        }),
        Ready::MigrationsPending => HttpResponse::ServiceUnavailable().json(Readiness {
            status: "not_ready",
            database: "ok",
            migrations: "pending",
        }),
        Ready::DatabaseUnavailable => HttpResponse::ServiceUnavailable().json(Readiness {
            status: "not_ready",
            database: "unavailable",
            migrations: "unknown",
        }),
    }
}

/// Prometheus text exposition.
///
/// On the operators' listener (`COFUND_ADMIN_BIND`) to whoever reaches it; on the public one
/// to an admin's bearer token only (the counters show drafts).
#[utoipa::path(
    tag = "ops",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The counters, in Prometheus text format", content_type = "text/plain; version=0.0.4", body = String),
        (status = 401, description = "No admin token (on the public listener)", body = crate::http::error::Problem),
        (status = 403, description = "The token is not an admin's", body = crate::http::error::Problem),
    )
)]
#[get("/metrics")]
pub async fn metrics(
    state: web::Data<AppState>,
    admin: Option<web::Data<crate::http::AdminListener>>,
    caller: MaybePrincipal,
) -> ApiResult<HttpResponse> {
    if admin.is_none() {
        let caller = caller.0.ok_or(ApiError::Unauthorized)?;
        caller.require(&[Role::Admin])?;
    }
    let body = app_ops::metrics_text(&state).await;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(body))
}
