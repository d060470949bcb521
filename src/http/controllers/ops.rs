//! Liveness, readiness and Prometheus metrics.

use crate::app::AppState;
use crate::app::ops::{self as app_ops, Readiness as Ready};
use crate::http::error::{ApiError, ApiResult};
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
#[utoipa::path(
    tag = "ops",
    responses(
        (status = 200, content_type = "text/plain; version=0.0.4", body = String),
        (status = 404, description = "Served on COFUND_ADMIN_BIND only, when it is set", body = crate::http::error::Problem),
    )
)]
#[get("/metrics")]
pub async fn metrics(
    state: web::Data<AppState>,
    admin: Option<web::Data<crate::http::AdminListener>>,
) -> ApiResult<HttpResponse> {
    // With COFUND_ADMIN_BIND, the public listener does not expose the counters.
    if state.config.admin_bind.is_some() && admin.is_none() {
        return Err(ApiError::NotFound("route"));
    }
    let body = app_ops::metrics_text(&state).await;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(body))
}
