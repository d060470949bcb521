//! Liveness, readiness and Prometheus metrics.

use crate::app::AppState;
use crate::db::schema::campaigns;
use crate::http::error::{ApiError, ApiResult};
use actix_web::{HttpResponse, get, web};
use diesel::dsl::count_star;
use diesel::prelude::*;
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
    let db = state.db.clone();
    let result = tokio::task::spawn_blocking(move || db.ready()).await;
    match result {
        Ok(Ok(true)) => HttpResponse::Ok().json(Readiness {
            status: "ready",
            database: "ok",
            migrations: "applied",
        }),
        Ok(Ok(false)) => HttpResponse::ServiceUnavailable().json(Readiness {
            status: "not_ready",
            database: "ok",
            migrations: "pending",
        }),
        _ => HttpResponse::ServiceUnavailable().json(Readiness {
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
    // A database outage must not hide the process's own counters. Only reads: a scrape
    // leaves the read caches valid.
    let by_status = state
        .db
        .read(|conn| -> Result<Vec<(String, i64)>, ApiError> {
            Ok(campaigns::table
                .group_by(campaigns::status)
                .select((campaigns::status, count_star()))
                .order(campaigns::status)
                .load(conn)?)
        })
        .await
        .unwrap_or_default();
    let body = state.metrics.render(&by_status, state.db.pool_state());
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(body))
}
