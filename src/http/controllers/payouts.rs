//! Crowd payouts: the association's payout account at the provider, the payouts of its
//! campaigns' crowd money, what each campaign's crowd money became, and the bank batches that
//! pay associations without an account.

use crate::app::AppState;
use crate::app::payouts::{
    self as uc, AccountView, BatchDetails, CrowdSummary, PayoutError, PayoutFilter,
};
use crate::db::crowd::{PayoutBatchRow, PayoutRow};
use crate::domain::crowd::{PayoutBatchStatus, PayoutMethod, PayoutStatus};
use crate::domain::money::Currency;
use crate::http::error::{ApiError, ApiResult, FieldError};
use crate::http::extract::{ApiJson, OptionalJson, Page, Principal, check_limit};
use crate::http::views::{from_client, ts};
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

fn money(minor: i64, currency: &str) -> String {
    match Currency::parse(currency) {
        Ok(c) => crate::http::views::money(minor, &c),
        Err(_) => minor.to_string(),
    }
}

pub fn payout_error(e: PayoutError) -> ApiError {
    match e {
        PayoutError::NotFound(what) => ApiError::NotFound(what),
        PayoutError::Forbidden => ApiError::Forbidden("your role may not do this"),
        PayoutError::Invalid(errors) => ApiError::Validation(
            errors
                .into_iter()
                .map(|i| FieldError::new(i.field, i.message))
                .collect(),
        ),
        PayoutError::Conflict(code, detail) => ApiError::conflict(code, detail),
        e @ PayoutError::SameUser => ApiError::refused("same_user", e.to_string()),
        PayoutError::ProviderUnavailable => ApiError::ProviderUnavailable,
        e @ PayoutError::ProviderRefused(_) => {
            ApiError::conflict("provider_refused", e.to_string())
        }
        PayoutError::Books(what) => ApiError::Internal(what),
        PayoutError::Db(e) => e.into(),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PayoutAccountView {
    pub association_id: String,
    /// `none` (no account yet), `pending` (onboarding not finished), `active` (can receive
    /// transfers) or `restricted` (the provider disabled transfers).
    #[schema(pattern = "^(none|pending|active|restricted)$")]
    pub status: String,
    /// The connected account at the provider (`acct_…`).
    pub account_id: Option<String>,
    /// A one-time link where the association completes its account (only in the answer to
    /// `POST`, and only while the account is not active).
    pub onboarding_url: Option<String>,
    pub onboarding_expires_at: Option<DateTime<Utc>>,
}

fn account_view(v: AccountView) -> PayoutAccountView {
    PayoutAccountView {
        association_id: v.association_id,
        status: v
            .account
            .as_ref()
            .map_or("none".to_string(), |a| a.status.to_string()),
        account_id: v.account.map(|a| a.account_id),
        onboarding_expires_at: v
            .onboarding
            .as_ref()
            .and_then(|o| o.expires_at)
            .and_then(|t| DateTime::<Utc>::from_timestamp(t, 0)),
        onboarding_url: v.onboarding.map(|o| o.url),
    }
}

/// The association's payout account (its members, finance, admin).
#[utoipa::path(
    tag = "payouts",
    params(("id" = String, Path, description = "Association id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = PayoutAccountView),
        (status = 401, body = crate::http::error::Problem),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
    )
)]
#[get("/associations/{id}/payout-account")]
pub async fn get_account(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let v = uc::account(&state, &principal, id.into_inner())
        .await
        .map_err(payout_error)?;
    Ok(HttpResponse::Ok().json(account_view(v)))
}

/// Creates the association's connected account at the provider (Stripe Connect Express) if it
/// has none, and answers a one-time onboarding link (the association, admin). With the
/// simulated provider the account is active at once and there is no link.
#[utoipa::path(
    tag = "payouts",
    params(("id" = String, Path, description = "Association id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = PayoutAccountView),
        (status = 401, body = crate::http::error::Problem),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, description = "The provider refused the account (`provider_refused`)", body = crate::http::error::Problem),
        (status = 502, description = "The provider is unavailable: try again", body = crate::http::error::Problem),
    )
)]
#[post("/associations/{id}/payout-account")]
pub async fn open_account(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let v = uc::open_account(&state, &principal, id.into_inner())
        .await
        .map_err(payout_error)?;
    Ok(HttpResponse::Ok().json(account_view(v)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PayoutView {
    pub id: String,
    pub campaign_id: String,
    pub association_id: String,
    /// What the association receives.
    #[schema(example = "19700.00")]
    pub amount: String,
    /// The programme's fee kept of the crowd money this payout pays.
    #[schema(example = "300.00")]
    pub fee: String,
    pub currency: String,
    pub method: PayoutMethod,
    pub status: PayoutStatus,
    /// The provider's transfer id, or the bank's reference of a bank batch.
    pub provider_reference: Option<String>,
    /// Taken back from it after refunds (provider transfers only).
    pub reversed: String,
    pub batch_id: Option<String>,
    /// Why it failed.
    pub failure: Option<String>,
    pub created_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
}

pub fn payout_view(p: PayoutRow) -> PayoutView {
    let c = p.currency.clone();
    PayoutView {
        id: p.id.to_string(),
        campaign_id: p.campaign_id,
        association_id: p.association_id,
        amount: money(p.amount, &c),
        fee: money(p.fee, &c),
        method: p.method,
        status: p.status,
        provider_reference: p.provider_reference,
        reversed: money(p.reversed, &c),
        batch_id: p.batch_id,
        failure: p.failure,
        created_at: ts(p.created_at),
        paid_at: p.paid_at.map(ts),
        currency: c,
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PayoutParams {
    pub association_id: Option<String>,
    pub campaign_id: Option<String>,
    /// `pending`, `paid` or `failed`.
    #[param(pattern = "^(pending|paid|failed)$")]
    pub status: Option<String>,
    pub batch_id: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Crowd payouts, newest first (finance, admin; an association its own).
#[utoipa::path(
    tag = "payouts",
    params(PayoutParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Page<PayoutView>),
        (status = 401, body = crate::http::error::Problem),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[get("/payouts")]
pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    params: web::Query<PayoutParams>,
) -> ApiResult<HttpResponse> {
    let p = params.into_inner();
    let limit = check_limit(p.limit)?;
    let status = match p.status.as_deref() {
        None => None,
        Some(s) => Some(
            PayoutStatus::parse(s)
                .ok_or_else(|| ApiError::validation("status", "pending, paid or failed"))?,
        ),
    };
    let filter = PayoutFilter {
        association_id: p.association_id,
        campaign_id: p.campaign_id,
        status,
        batch_id: p.batch_id,
        before: p.cursor,
        limit: limit + 1,
    };
    let rows = uc::list(&state, &principal, filter)
        .await
        .map_err(payout_error)?;
    Ok(HttpResponse::Ok().json(Page::from_rows(
        rows,
        limit,
        |p| p.id.to_string(),
        payout_view,
    )))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CrowdMoneyView {
    pub campaign_id: String,
    pub title: String,
    /// `succeeded`, `failed` or `cancelled`.
    pub campaign_status: String,
    pub currency: String,
    /// What donors gave through the provider, net of refunds and lost disputes, as the crowd
    /// books count it (nothing for a campaign that did not succeed: its donations are refunded).
    pub raised: String,
    /// Kept by the programme (`COFUND_PLATFORM_FEE_RATIO`).
    pub fee: String,
    /// Sent or being sent to the association, net of what was taken back.
    pub paid_out: String,
    /// Owed to the association, not yet sent.
    pub payable: String,
    /// Payable, waiting for a bank batch (the association has no active payout account).
    pub awaiting_bank_batch: bool,
    /// Being taken back at the provider after refunds.
    pub being_reversed: String,
    /// Could not be taken back: the association owes it to the programme.
    pub owed: String,
    /// Refunded to donors after the decision.
    pub refunded_after_decision: String,
}

fn crowd_view(s: CrowdSummary) -> CrowdMoneyView {
    let c = s.campaign.currency.code().to_string();
    let p = s.position.map(|p| p.position()).unwrap_or_default();
    CrowdMoneyView {
        campaign_id: s.campaign.id,
        title: s.campaign.title,
        campaign_status: s.campaign.status.to_string(),
        raised: money(p.net(), &c),
        fee: money(p.fees, &c),
        paid_out: money(p.paid_out, &c),
        payable: money(p.payable, &c),
        awaiting_bank_batch: s.awaiting_bank,
        being_reversed: money(p.reversing, &c),
        owed: money(p.owed, &c),
        refunded_after_decision: money(p.refunded, &c),
        currency: c,
    }
}

/// What each decided campaign's crowd money became: raised, fee, paid out, payable, being
/// reversed, owed (the association's members, finance, admin). At most 500 campaigns, newest
/// decision first.
#[utoipa::path(
    tag = "payouts",
    params(("id" = String, Path, description = "Association id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<CrowdMoneyView>),
        (status = 401, body = crate::http::error::Problem),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
    )
)]
#[get("/associations/{id}/crowd-money")]
pub async fn crowd_money(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let rows = uc::summaries(&state, &principal, Some(id.into_inner()))
        .await
        .map_err(payout_error)?;
    Ok(HttpResponse::Ok().json(rows.into_iter().map(crowd_view).collect::<Vec<_>>()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PayoutBatchView {
    pub id: String,
    pub status: PayoutBatchStatus,
    pub currency: String,
    pub total: String,
    pub item_count: i32,
    /// The pain.001 file's message id.
    pub message_id: String,
    pub bank_reference: Option<String>,
    pub paid_at: Option<DateTime<Utc>>,
    pub created_by: String,
    pub confirmed_by: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The batch's payouts (one per campaign), with each association's IBAN.
    pub payouts: Vec<PayoutBatchLineView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PayoutBatchLineView {
    #[serde(flatten)]
    pub payout: PayoutView,
    pub creditor_name: String,
    pub iban: String,
}

fn batch_row_view(b: PayoutBatchRow, payouts: Vec<PayoutBatchLineView>) -> PayoutBatchView {
    PayoutBatchView {
        id: b.id.to_string(),
        status: b.status,
        total: money(b.total, &b.currency),
        currency: b.currency,
        item_count: b.item_count,
        message_id: b.message_id,
        bank_reference: b.bank_reference,
        paid_at: b.paid_at.map(ts),
        created_by: b.created_by,
        confirmed_by: b.confirmed_by,
        created_at: ts(b.created_at),
        payouts,
    }
}

pub fn batch_view(d: BatchDetails) -> PayoutBatchView {
    let lines = d
        .payouts
        .into_iter()
        .map(|p| {
            let (name, iban, _) = d
                .creditors
                .get(&p.association_id)
                .cloned()
                .unwrap_or_default();
            PayoutBatchLineView {
                payout: payout_view(p),
                creditor_name: name,
                iban,
            }
        })
        .collect();
    batch_row_view(d.batch, lines)
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CreatePayoutBatch {
    /// Only money in this currency (default: the first payable campaign's).
    #[schema(pattern = "^[A-Z]{3}$")]
    pub currency: Option<String>,
}

/// Gathers the payable crowd money of every association without an active payout account into
/// a draft bank batch, one line per campaign, paid from the programme's collection account
/// (finance, admin). 409 `nothing_payable` when there is none.
#[utoipa::path(
    tag = "payouts",
    request_body(content = Option<CreatePayoutBatch>),
    security(("bearer" = [])),
    responses(
        (status = 201, body = PayoutBatchView),
        (status = 401, body = crate::http::error::Problem),
        (status = 403, body = crate::http::error::Problem),
        (status = 409, body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[post("/payouts/batches")]
pub async fn create_batch(
    state: web::Data<AppState>,
    principal: Principal,
    body: OptionalJson<CreatePayoutBatch>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let currency = match body.currency {
        None => None,
        Some(c) => Some(
            Currency::parse(&c)
                .map_err(|_| ApiError::validation("currency", "an ISO 4217 code such as EUR"))?
                .code()
                .to_string(),
        ),
    };
    let d = uc::create_batch(&state, &principal, currency)
        .await
        .map_err(payout_error)?;
    Ok(HttpResponse::Created().json(batch_view(d)))
}

/// Bank batches of crowd payouts, newest first (finance, admin).
#[utoipa::path(
    tag = "payouts",
    params(crate::http::extract::PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Page<PayoutBatchView>),
        (status = 401, body = crate::http::error::Problem),
        (status = 403, body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[get("/payouts/batches")]
pub async fn list_batches(
    state: web::Data<AppState>,
    principal: Principal,
    params: web::Query<crate::http::extract::PageParams>,
) -> ApiResult<HttpResponse> {
    let p = params.into_inner();
    let limit = check_limit(p.limit)?;
    let rows = uc::batches(&state, &principal, p.cursor, limit + 1)
        .await
        .map_err(payout_error)?;
    Ok(HttpResponse::Ok().json(Page::from_rows(
        rows,
        limit,
        |b| b.id.to_string(),
        |b| batch_row_view(b, Vec::new()),
    )))
}

/// One bank batch with its lines (finance, admin).
#[utoipa::path(
    tag = "payouts",
    params(("id" = String, Path, description = "Payout batch id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = PayoutBatchView),
        (status = 401, body = crate::http::error::Problem),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
    )
)]
#[get("/payouts/batches/{id}")]
pub async fn get_batch(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let d = uc::batch(&state, &principal, id.into_inner())
        .await
        .map_err(payout_error)?;
    Ok(HttpResponse::Ok().json(batch_view(d)))
}

/// The batch as an ISO 20022 pain.001.001.03 credit-transfer file with the programme's
/// collection account as the debtor (finance, admin). 409 for a cancelled batch or when the
/// collection account is not configured.
#[utoipa::path(
    tag = "payouts",
    params(("id" = String, Path, description = "Payout batch id")),
    security(("bearer" = [])),
    responses(
        (status = 200, content_type = "application/xml", body = String),
        (status = 401, body = crate::http::error::Problem),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, body = crate::http::error::Problem),
    )
)]
#[get("/payouts/batches/{id}/sepa.xml")]
pub async fn batch_sepa_xml(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let (name, xml) = uc::batch_file(&state, &principal, id.into_inner())
        .await
        .map_err(payout_error)?;
    Ok(HttpResponse::Ok()
        .content_type("application/xml; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{name}\""),
        ))
        .body(xml))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmPayoutBatch {
    /// The bank's reference for the transfers (1–140 characters).
    #[schema(min_length = 1, max_length = 140, pattern = "\\S")]
    pub bank_reference: String,
    pub paid_at: DateTime<Utc>,
}

/// The bank paid the batch: its payouts are `paid` (finance, admin). Four eyes: the user who
/// created the batch cannot confirm it (403 `same_user`). Confirming again with the same
/// reference changes nothing; with another, 409.
#[utoipa::path(
    tag = "payouts",
    params(("id" = String, Path, description = "Payout batch id")),
    request_body = ConfirmPayoutBatch,
    security(("bearer" = [])),
    responses(
        (status = 200, body = PayoutBatchView),
        (status = 401, body = crate::http::error::Problem),
        (status = 403, description = "Not finance or admin, or the batch's own creator (`same_user`)", body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[post("/payouts/batches/{id}/confirm")]
pub async fn confirm_batch(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: ApiJson<ConfirmPayoutBatch>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let reference = body.bank_reference.trim().to_string();
    if reference.is_empty() || reference.chars().count() > 140 {
        return Err(ApiError::validation("bank_reference", "1–140 characters"));
    }
    if body.paid_at > Utc::now() + chrono::Duration::days(1) {
        return Err(ApiError::validation("paid_at", "must not be in the future"));
    }
    let d = uc::confirm_batch(
        &state,
        &principal,
        id.into_inner(),
        reference,
        from_client(body.paid_at),
    )
    .await
    .map_err(payout_error)?;
    Ok(HttpResponse::Ok().json(batch_view(d)))
}

/// Cancel a draft batch: its money is payable again (finance, admin).
#[utoipa::path(
    tag = "payouts",
    params(("id" = String, Path, description = "Payout batch id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = PayoutBatchView),
        (status = 401, body = crate::http::error::Problem),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, body = crate::http::error::Problem),
    )
)]
#[post("/payouts/batches/{id}/cancel")]
pub async fn cancel_batch(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let d = uc::cancel_batch(&state, &principal, id.into_inner())
        .await
        .map_err(payout_error)?;
    Ok(HttpResponse::Ok().json(batch_view(d)))
}
