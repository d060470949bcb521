//! Outbox views: a partner's recent webhook deliveries (and replay), the admin's dead letters.

use crate::app::AppState;
use crate::app::deliveries::{self as app_deliveries, DeliveryError, DeliveryQuery};
use crate::db::models::OutboxRow;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Page, Principal, check_limit};
use crate::http::views::ts;
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    /// For webhooks, the event's stable id.
    pub id: String,
    /// `email` or `webhook`.
    pub channel: String,
    /// Template or event type.
    pub topic: String,
    /// `pending`, `sent` or `dead`.
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    /// The webhook body as delivered (webhooks only).
    #[schema(value_type = Option<Object>)]
    pub payload: Option<serde_json::Value>,
}

pub type DeliveryPage = Page<DeliveryView>;

fn view(r: OutboxRow, with_payload: bool) -> DeliveryView {
    DeliveryView {
        payload: if with_payload {
            serde_json::from_str(&r.payload).ok()
        } else {
            None
        },
        id: r.id,
        channel: r.channel.to_string(),
        topic: r.topic,
        status: r.status.to_string(),
        attempts: r.attempts,
        last_error: r.last_error,
        next_attempt_at: ts(r.next_attempt_at),
        created_at: ts(r.created_at),
        sent_at: r.sent_at.map(ts),
    }
}

/// The HTTP answer to a delivery use case's error.
fn to_api(e: DeliveryError) -> ApiError {
    match e {
        DeliveryError::Forbidden(e) => e.into(),
        DeliveryError::NoPartner => ApiError::Forbidden("no partner"),
        DeliveryError::RateLimited(retry) => ApiError::RateLimited(retry),
        DeliveryError::NotFound => ApiError::NotFound("delivery"),
        DeliveryError::Db(e) => e.into(),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryParams {
    pub status: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// The calling partner's webhook deliveries, newest first.
#[utoipa::path(
    tag = "partners",
    params(DeliveryParams),
    security(("bearer" = [])),
    responses((status = 200, body = Page<DeliveryView>), (status = 403, body = crate::http::error::Problem))
)]
#[get("/partners/me/deliveries")]
pub async fn my_deliveries(
    state: web::Data<AppState>,
    principal: Principal,
    params: web::Query<DeliveryParams>,
) -> ApiResult<HttpResponse> {
    let caller = app_deliveries::partner(&principal).map_err(to_api)?;
    let params = params.into_inner();
    let query = DeliveryQuery {
        limit: check_limit(params.limit)?,
        before: params.cursor,
        status: params.status,
    };
    let limit = query.limit;
    let rows = app_deliveries::partner_deliveries(&state, &caller, query)
        .await
        .map_err(to_api)?;
    Ok(HttpResponse::Ok().json(Page::from_rows(
        rows,
        limit,
        |r| r.id.clone(),
        |r| view(r, true),
    )))
}

/// Deliver one of the calling partner's webhook events again (same event id and body).
#[utoipa::path(
    tag = "partners",
    params(("id" = String, Path, description = "Event id (`evt_…`)")),
    security(("bearer" = [])),
    responses(
        (status = 202, body = DeliveryView),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 429, description = "More than 60 replays in a minute", body = crate::http::error::Problem),
    )
)]
#[post("/partners/me/deliveries/{id}/replay")]
pub async fn replay(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let row = app_deliveries::replay(&state, principal, id.into_inner())
        .await
        .map_err(to_api)?;
    Ok(HttpResponse::Accepted().json(view(row, true)))
}

/// Messages of the outbox (admin): `?status=dead` lists the dead letters.
#[utoipa::path(
    tag = "ops",
    params(DeliveryParams),
    security(("bearer" = [])),
    responses((status = 200, body = Page<DeliveryView>), (status = 403, body = crate::http::error::Problem))
)]
#[get("/outbox")]
pub async fn outbox_list(
    state: web::Data<AppState>,
    principal: Principal,
    params: web::Query<DeliveryParams>,
) -> ApiResult<HttpResponse> {
    let caller = app_deliveries::admin(&principal).map_err(to_api)?;
    let params = params.into_inner();
    let query = DeliveryQuery {
        limit: check_limit(params.limit)?,
        before: params.cursor,
        status: params.status,
    };
    let limit = query.limit;
    let rows = app_deliveries::outbox_messages(&state, caller, query)
        .await
        .map_err(to_api)?;
    // E-mail payloads carry donor data: admins see the delivery facts, not the contents.
    Ok(HttpResponse::Ok().json(Page::from_rows(
        rows,
        limit,
        |r| r.id.clone(),
        |r| {
            let shown = app_deliveries::payload_shown(&r);
            view(r, shown)
        },
    )))
}
