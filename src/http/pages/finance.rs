//! The finance office's forms and files: a funder's batch, its confirmation, its files.

use super::{PageResult, redirect, signed_form, signed_in};
use crate::app::AppState;
use crate::domain::role::Role;
use crate::http::controllers::settlements::{self, ConfirmSettlement, CreateSettlement};
use crate::http::error::ApiError;
use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct BatchForm {
    pub csrf_token: String,
    pub fund_id: String,
    pub funder_id: String,
}

/// A draft batch of one funder's committed matches, from the finance console.
pub async fn create_batch(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    form: web::Form<BatchForm>,
) -> PageResult {
    let f = form.into_inner();
    let (ctx, principal) = signed_form(&state, &req, &session, &f.csrf_token)?;
    let body = CreateSettlement {
        fund_id: f.fund_id,
        funder_id: Some(f.funder_id),
        commitment_ids: None,
    };
    settlements::create_settlement(&state, principal, body)
        .await
        .map_err(|e| ctx.fail(e))?;
    Ok(redirect("/console/settlements?done=batch"))
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    pub csrf_token: String,
    pub bank_reference: String,
    pub paid_on: String,
}

/// Marks a batch paid, from the finance console.
pub async fn confirm_batch(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    id: web::Path<String>,
    form: web::Form<ConfirmForm>,
) -> PageResult {
    let f = form.into_inner();
    let (ctx, principal) = signed_form(&state, &req, &session, &f.csrf_token)?;
    let paid_at = chrono::NaiveDate::parse_from_str(f.paid_on.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| ctx.fail(ApiError::validation("paid_at", "a date such as 2026-12-01")))?;
    let body = ConfirmSettlement {
        bank_reference: f.bank_reference,
        paid_at,
    };
    settlements::confirm_settlement(&state, principal, id.into_inner(), body)
        .await
        .map_err(|e| ctx.fail(e))?;
    Ok(redirect("/console/settlements?done=paid"))
}

/// A settlement file for the finance office, through the API's own generators.
pub async fn settlement_file(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    path: web::Path<(String, String)>,
) -> PageResult {
    let (ctx, principal) = signed_in(&state, &req, &session)?;
    principal
        .require(&[Role::Finance, Role::Admin])
        .map_err(|e| ctx.fail(e.into()))?;
    let (id, file) = path.into_inner();
    let (content_type, name, body) = match file.as_str() {
        "sepa.xml" => {
            let (name, xml) = settlements::sepa_file(&state, id)
                .await
                .map_err(|e| ctx.fail(e))?;
            ("application/xml; charset=utf-8", name, xml)
        }
        "treasury.csv" => {
            let csv = settlements::treasury_csv_file(&state, id.clone())
                .await
                .map_err(|e| ctx.fail(e))?;
            ("text/csv; charset=utf-8", format!("treasury-{id}.csv"), csv)
        }
        _ => return Err(ctx.fail(ApiError::NotFound("file"))),
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{name}\""),
        ))
        .body(body))
}
