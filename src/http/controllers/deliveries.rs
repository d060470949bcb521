//! Outbox views: a partner's recent webhook deliveries (and replay), the admin's dead letters.

use crate::app::AppState;
use crate::db::models::OutboxRow;
use crate::db::queries::audit;
use crate::db::schema::outbox;
use crate::domain::delivery::{Channel, DeliveryStatus};
use crate::domain::role::Role;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Page, Principal, check_limit};
use crate::http::views::{now, ts};
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
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
    principal.require(&[Role::Partner])?;
    let partner_id = principal
        .partner_id
        .clone()
        .ok_or(ApiError::Forbidden("no partner"))?;
    let params = params.into_inner();
    let limit = check_limit(params.limit)?;
    let cursor = params.cursor;
    let rows = state
        .db
        .run(move |conn| -> ApiResult<Vec<OutboxRow>> {
            let mut q = outbox::table
                .filter(outbox::channel.eq("webhook"))
                .filter(outbox::recipient.eq(&partner_id))
                .order(outbox::id.desc())
                .limit(limit + 1)
                .select(OutboxRow::as_select())
                .into_boxed();
            if let Some(c) = cursor {
                q = q.filter(outbox::id.lt(c));
            }
            if let Some(s) = params.status {
                q = q.filter(outbox::status.eq(s));
            }
            Ok(q.load(conn)?)
        })
        .await?;
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
    principal.require(&[Role::Partner])?;
    let partner_id = principal
        .partner_id
        .clone()
        .ok_or(ApiError::Forbidden("no partner"))?;
    // Each replay makes the outbox call the partner's endpoint again: bounded per partner, so a
    // partner (or a stolen token) cannot keep the outbox busy.
    state
        .replay_limiter
        .check(&partner_id)
        .map_err(ApiError::RateLimited)?;
    let id = id.into_inner();
    let row = state
        .db
        .run(move |conn| -> ApiResult<OutboxRow> {
            let n = diesel::update(outbox::table.find(&id))
                .filter(outbox::channel.eq("webhook"))
                .filter(outbox::recipient.eq(&partner_id))
                .set((
                    outbox::status.eq(DeliveryStatus::Pending),
                    outbox::next_attempt_at.eq(now()),
                    outbox::lease_until.eq(None::<chrono::NaiveDateTime>),
                    // A replay gets a fresh day of retries.
                    outbox::created_at.eq(now()),
                ))
                .execute(conn)?;
            if n == 0 {
                // Another partner's event looks exactly like a missing one.
                return Err(ApiError::NotFound("delivery"));
            }
            audit(conn, &principal, "webhook.replay", "event", &id, None)?;
            Ok(outbox::table
                .find(&id)
                .select(OutboxRow::as_select())
                .first(conn)?)
        })
        .await?;
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
    principal.require(&[Role::Admin])?;
    let params = params.into_inner();
    let limit = check_limit(params.limit)?;
    let rows = state
        .db
        .run(move |conn| -> ApiResult<Vec<OutboxRow>> {
            let mut q = outbox::table
                .order(outbox::id.desc())
                .limit(limit + 1)
                .select(OutboxRow::as_select())
                .into_boxed();
            if let Some(c) = params.cursor {
                q = q.filter(outbox::id.lt(c));
            }
            if let Some(s) = params.status {
                q = q.filter(outbox::status.eq(s));
            }
            Ok(q.load(conn)?)
        })
        .await?;
    // E-mail payloads carry donor data: admins see the delivery facts, not the contents.
    Ok(HttpResponse::Ok().json(Page::from_rows(
        rows,
        limit,
        |r| r.id.clone(),
        |r| {
            let webhook = r.channel == Channel::Webhook;
            view(r, webhook)
        },
    )))
}
