//! Pledges: partner frontends create them (with an Idempotency-Key), the provider's webhooks
//! confirm them. Donor personal data lives in its own table and can be erased.

use crate::app::AppState;
use crate::app::donors::{self as app_donors, ErasureError};
use crate::app::invalid::Invalid;
use crate::app::pledges::{
    self as app_pledges, Created, PledgeError, PledgeFilter, PledgeInput, PledgeRecord,
    PledgeRequest, ReadError, RefundError, SimulateError, reported_currency,
};
use crate::db::models::PledgeRow;
use crate::domain::pledge::PledgeStatus;
use crate::domain::role::Role;
use crate::http::error::{ApiError, ApiResult, FieldError};
use crate::http::extract::{ApiJson, Page, Principal, check_limit};
use crate::http::views::{money, ts};
use crate::providers::CreatedPayment;
use crate::providers::simulated::SimOutcome;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DonorInput {
    pub name: String,
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// Hide the name from the association and the public (default false).
    #[serde(default)]
    pub anonymous: bool,
    /// `it` or `en` (default `it`): the language of the donor's e-mails.
    pub locale: Option<String>,
    /// The donor agrees that the association may contact them (default false).
    #[serde(default)]
    pub contact_consent: bool,
    /// The donor's codice fiscale (16 characters) or partita IVA (11 digits), checked with its
    /// check character, printed on the tax receipt and sent with the association's yearly
    /// donations list; erased with the donor.
    #[schema(min_length = 11, max_length = 16, pattern = "^[A-Za-z0-9]{11,16}$")]
    pub tax_code: Option<String>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePledge {
    #[schema(example = "25.00")]
    pub amount: String,
    /// Optional; must be the campaign's currency.
    pub currency: Option<String>,
    pub donor: DonorInput,
    pub message: Option<String>,
    /// `provider` (default: the donor pays at the payment provider) or `bank_transfer` (the
    /// donor sends a bank transfer to the association with the pledge's creditor reference;
    /// no provider is asked, and the pledge is confirmed when the association's bank
    /// statement shows the money).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<PledgeMethodInput>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PledgeMethodInput {
    Provider,
    BankTransfer,
}

#[derive(Debug, Serialize, Deserialize, ToSchema, Clone)]
pub struct PaymentInfo {
    /// `stripe`, `simulated` or `bank_transfer`.
    pub provider: String,
    /// The provider's payment id; for a bank transfer, its creditor reference.
    pub provider_payment_id: Option<String>,
    /// What the partner frontend hands to the provider's client library. No card data ever
    /// reaches cofund.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Bank transfer: the association's account to send the money to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iban: Option<String>,
    /// Bank transfer: the account holder (the association).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beneficiary: Option<String>,
    /// Bank transfer: the ISO 11649 creditor reference (`RF` + 2 check digits + up to 21
    /// characters) the donor must give as the transfer's reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^RF[0-9]{2}[0-9A-Z]{1,21}$")]
    pub reference: Option<String>,
    /// Bank transfer: the same reference printed in groups of four, as a donor types it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_printed: Option<String>,
    /// Bank transfer: the pledge waits for the money until then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

impl PaymentInfo {
    fn provider(provider: String, id: Option<String>, client_secret: Option<String>) -> Self {
        PaymentInfo {
            provider,
            provider_payment_id: id,
            client_secret,
            iban: None,
            beneficiary: None,
            reference: None,
            reference_printed: None,
            expires_at: None,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PledgeCreated {
    pub id: String,
    pub campaign_id: String,
    pub status: String,
    pub amount: String,
    pub currency: String,
    pub payment: PaymentInfo,
    /// The match held for this gift while the donor pays (`per_donation` funds only; absent
    /// otherwise). `"0.00"` when the fund's budget is spent, or when a cap against hoarded
    /// holds applies (then with its `reason`).
    #[serde(rename = "match", skip_serializing_if = "Option::is_none")]
    pub held_match: Option<HeldMatch>,
    pub created_at: DateTime<Utc>,
}

/// A match held for a pledge until `expires_at`: it becomes the campaign's when the payment
/// succeeds in time, and lapses otherwise.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HeldMatch {
    #[schema(example = "50.00")]
    pub amount: String,
    pub expires_at: DateTime<Utc>,
    /// Present when a cap against hoarded holds cut the match (to `"0.00"`, or to what was left
    /// under the partner's cap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<HoldReason>,
}

/// Why a held match was cut: `partner_hold_limit` (the unpaid pledges of this partner already
/// hold `COFUND_PARTNER_HOLD_SHARE` of the fund's budget) or `donor_hold_limit` (this donor, by
/// identity, already has a live hold on the campaign).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HoldReason {
    PartnerHoldLimit,
    DonorHoldLimit,
}

impl From<crate::domain::per_donation::HoldLimit> for HoldReason {
    fn from(l: crate::domain::per_donation::HoldLimit) -> HoldReason {
        match l {
            crate::domain::per_donation::HoldLimit::Partner => HoldReason::PartnerHoldLimit,
            crate::domain::per_donation::HoldLimit::Donor => HoldReason::DonorHoldLimit,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DonorView {
    pub name: Option<String>,
    pub email: Option<String>,
    pub anonymous: bool,
    pub locale: String,
    pub contact_consent: bool,
    /// The codice fiscale given for the tax receipt (null if none, or erased).
    pub tax_code: Option<String>,
    pub erased: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PledgeView {
    pub id: String,
    pub campaign_id: String,
    pub partner_id: String,
    pub status: String,
    pub amount: String,
    pub currency: String,
    /// Refunded so far (cumulative).
    pub refunded: String,
    /// What this pledge adds to the campaign's `raised`.
    pub counted: String,
    /// Set when the provider reported another amount or currency: not counted.
    pub flagged_reason: Option<String>,
    /// What a flagged payment brought in, as the provider reported it (minor units written
    /// with two decimals), and in which currency.
    pub flagged_amount: Option<String>,
    pub flagged_currency: Option<String>,
    pub message: Option<String>,
    pub donor: Option<DonorView>,
    pub payment: PaymentInfo,
    /// The gift's match in a `per_donation` fund (absent in other funds): `held` until the
    /// payment succeeds or `expires_at` passes, `reserved` once paid (the campaign's),
    /// `released` when given back (failed, expired, lapsed, refunded; amount 0.00).
    #[serde(rename = "match", skip_serializing_if = "Option::is_none")]
    pub pledge_match: Option<PledgeMatchView>,
    pub created_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PledgeMatchView {
    pub amount: String,
    /// `held`, `reserved` or `released`.
    pub status: String,
    pub expires_at: DateTime<Utc>,
}

fn with_match(
    mut view: PledgeView,
    m: Option<&crate::app::per_donation::PledgeMatch>,
    c: &crate::domain::money::Currency,
) -> PledgeView {
    view.pledge_match = m.map(|m| PledgeMatchView {
        amount: money(m.amount, c),
        status: m.status.as_str().to_string(),
        expires_at: ts(m.expires_at),
    });
    view
}

pub type PledgePage = Page<PledgeView>;

/// The answer to refused field values.
fn invalid_fields(errors: Vec<Invalid>) -> ApiError {
    ApiError::Validation(
        errors
            .into_iter()
            .map(|i| FieldError::new(i.field, i.message))
            .collect(),
    )
}

/// The answer to pledges that are not shown.
fn read_error(e: ReadError) -> ApiError {
    match e {
        ReadError::Forbidden(e) => e.into(),
        ReadError::PledgeNotFound => ApiError::NotFound("pledge"),
        ReadError::CampaignNotFound => ApiError::NotFound("campaign"),
        ReadError::OtherPartner => ApiError::Forbidden("this pledge belongs to another partner"),
        ReadError::RoleMayNotRead => ApiError::Forbidden("your role may not read pledges"),
        ReadError::NotCampaignOwner => ApiError::Forbidden(
            "only the owning association, finance and admins read a campaign's donors",
        ),
        ReadError::Db(e) => e.into(),
    }
}

/// A pledge as its reader sees it: the client secret only for the partner.
fn record_view(r: PledgeRecord, with_client_secret: bool) -> PledgeView {
    let c = r.pledge.currency;
    let view = pledge_view(r.pledge, r.donor, with_client_secret);
    with_match(view, r.matched.as_ref(), &c)
}

fn pledge_view(
    p: PledgeRow,
    d: Option<crate::db::models::DonorRow>,
    with_client_secret: bool,
) -> PledgeView {
    let c = p.currency;
    let status = shown_status(&p);
    PledgeView {
        amount: money(p.amount, &c),
        refunded: money(p.refunded_amount, &c),
        counted: money(p.counted_amount, &c),
        donor: d.map(|d| DonorView {
            erased: d.erased_at.is_some(),
            name: d.name,
            email: d.email,
            anonymous: d.anonymous,
            locale: d.locale,
            contact_consent: d.contact_consent,
            tax_code: d.tax_code,
        }),
        payment: PaymentInfo {
            reference: p
                .provider_payment_id
                .clone()
                .filter(|_| p.provider == crate::config::ProviderKind::BankTransfer),
            ..PaymentInfo::provider(
                p.provider.as_str().to_string(),
                p.provider_payment_id,
                if with_client_secret {
                    p.client_secret
                } else {
                    None
                },
            )
        },
        id: p.id,
        campaign_id: p.campaign_id,
        status: status.to_string(),
        partner_id: p.partner_id,
        currency: p.currency.to_string(),
        flagged_reason: p.flagged_reason,
        flagged_amount: p
            .flagged_amount
            .map(|a| money(a, &reported_currency(p.flagged_currency.as_deref(), c))),
        flagged_currency: p.flagged_currency,
        message: p.message,
        created_at: ts(p.created_at),
        confirmed_at: p.confirmed_at.map(ts),
        pledge_match: None,
    }
}

/// A pending pledge whose payment the provider is clearing reads `processing`.
fn shown_status(p: &PledgeRow) -> PledgeStatus {
    match p.status {
        PledgeStatus::Pending if p.processing => PledgeStatus::Processing,
        s => s,
    }
}

fn idempotency_key(req: &HttpRequest) -> ApiResult<String> {
    let key = req
        .headers()
        .get("Idempotency-Key")
        .ok_or_else(|| ApiError::BadRequest {
            code: "idempotency_key_required",
            detail: "the Idempotency-Key header is required".into(),
        })?
        .to_str()
        .map_err(|_| ApiError::bad_request("Idempotency-Key must be visible ASCII"))?
        .trim()
        .to_string();
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::bad_request(
            "Idempotency-Key must be 1–255 visible ASCII characters",
        ));
    }
    Ok(key)
}

/// Pledge to a live campaign (partner clients).
///
/// Requires an `Idempotency-Key` header: the same key with the same body returns the same
/// response; with another body, 409. The response carries what the partner frontend needs to
/// let the donor pay at the provider; the pledge is confirmed only by the provider's webhook.
#[utoipa::path(
    tag = "payments",
    params(
        ("id" = String, Path, description = "Campaign id"),
        ("Idempotency-Key" = String, Header, description = "Unique per pledge attempt, 1–255 characters"),
    ),
    request_body = CreatePledge,
    security(("bearer" = [])),
    responses(
        (status = 201, body = PledgeCreated),
        (status = 400, description = "Missing Idempotency-Key or malformed body", body = crate::http::error::Problem),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, description = "Campaign not live, or key reused with another body", body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
        (status = 429, body = crate::http::error::Problem),
        (status = 502, description = "Payment provider unavailable; retry with the same key", body = crate::http::error::Problem),
    )
)]
#[post("/campaigns/{id}/pledges")]
pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    req: HttpRequest,
    id: web::Path<String>,
    body: ApiJson<CreatePledge>,
) -> ApiResult<HttpResponse> {
    let partner_id = app_pledges::paying_partner(&principal).map_err(pledge_error)?;
    let key = idempotency_key(&req)?;
    let created =
        create_pledge(&state, partner_id, key, id.into_inner(), body.into_inner()).await?;
    let mut reply = HttpResponse::Created();
    reply.content_type("application/json");
    Ok(match created {
        Created::Replayed(body) => reply
            .insert_header(("Idempotent-Replayed", "true"))
            .body(body),
        Created::New(body) => reply.body(body),
    })
}

/// The pledge-creation use case of a partner (the API's and the reference checkout's): rate
/// limit, validation, the provider's payment, idempotency. Answers the JSON body it stored.
pub(crate) async fn create_pledge(
    state: &AppState,
    partner_id: String,
    key: String,
    campaign_id: String,
    body: CreatePledge,
) -> ApiResult<Created> {
    // The same key must come with the same request: its campaign and body.
    // Keyed: the stored hash cannot confirm a guessed donor.
    let hash = app_pledges::request_hash(
        &state.config.jwt.secret,
        serde_json::to_string(&(&campaign_id, &body))
            .unwrap_or_default()
            .as_bytes(),
    );
    let request = PledgeRequest {
        partner_id,
        idempotency_key: key,
        request_hash: hash,
        campaign_id,
    };
    let input = PledgeInput {
        amount: body.amount,
        currency: body.currency,
        donor_name: body.donor.name,
        donor_email: body.donor.email,
        anonymous: body.donor.anonymous,
        locale: body.donor.locale,
        contact_consent: body.donor.contact_consent,
        tax_code: body.donor.tax_code,
        message: body.message,
        method: match body.method {
            Some(PledgeMethodInput::BankTransfer) => app_pledges::PledgeMethod::BankTransfer,
            _ => app_pledges::PledgeMethod::Provider,
        },
    };
    let answer =
        |pledge: &PledgeRow, payment: &CreatedPayment, held: Option<&app_pledges::Held>| {
            let response = PledgeCreated {
                id: pledge.id.clone(),
                campaign_id: pledge.campaign_id.clone(),
                status: PledgeStatus::Pending.as_str().into(),
                amount: money(pledge.amount, &pledge.currency),
                currency: pledge.currency.to_string(),
                payment: match &payment.bank {
                    None => PaymentInfo::provider(
                        pledge.provider.as_str().to_string(),
                        Some(payment.id.clone()),
                        payment.client_secret.clone(),
                    ),
                    Some(bank) => PaymentInfo {
                        iban: Some(bank.iban.clone()),
                        beneficiary: Some(bank.beneficiary.clone()),
                        reference: Some(bank.reference.clone()),
                        reference_printed: crate::domain::rf_reference::RfReference::parse(
                            &bank.reference,
                        )
                        .ok()
                        .map(|r| r.grouped()),
                        expires_at: Some(ts(bank.expires_at)),
                        ..PaymentInfo::provider(
                            pledge.provider.as_str().to_string(),
                            Some(payment.id.clone()),
                            None,
                        )
                    },
                },
                held_match: held.map(|h| HeldMatch {
                    amount: money(h.amount, &pledge.currency),
                    expires_at: ts(h.expires_at),
                    reason: h.reason.map(HoldReason::from),
                }),
                created_at: ts(pledge.created_at),
            };
            serde_json::to_string(&response).unwrap_or_default()
        };
    app_pledges::create_for_partner(state, request, input, answer)
        .await
        .map_err(pledge_error)
}

/// The answer to a pledge that was not created.
fn pledge_error(e: PledgeError<Vec<Invalid>>) -> ApiError {
    match e {
        PledgeError::KeyReused => ApiError::conflict("idempotency_key_reused", e.to_string()),
        PledgeError::KeyInUse => ApiError::conflict("idempotency_key_in_use", e.to_string()),
        PledgeError::CampaignNotFound => ApiError::NotFound("campaign"),
        PledgeError::NotLive(_) => ApiError::conflict("campaign_not_live", e.to_string()),
        PledgeError::Invalid(errors) => invalid_fields(errors),
        PledgeError::ProviderUnavailable => ApiError::ProviderUnavailable,
        PledgeError::Forbidden(e) => e.into(),
        PledgeError::NoPartner => ApiError::Forbidden("no partner"),
        PledgeError::RateLimited(retry) => ApiError::RateLimited(retry),
        PledgeError::Db(e) => e.into(),
    }
}

/// Read a pledge (the partner that created it, admin, finance).
#[utoipa::path(
    tag = "payments",
    params(("id" = String, Path, description = "Pledge id (`plg_…`)")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = PledgeView),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
    )
)]
#[get("/pledges/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let record = app_pledges::get(&state, &principal, id.into_inner())
        .await
        .map_err(read_error)?;
    let own = principal.role == Role::Partner;
    Ok(HttpResponse::Ok().json(record_view(record, own)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PledgeListParams {
    pub campaign_id: Option<String>,
    pub status: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// List pledges: a partner sees its own; admin and finance see all.
#[utoipa::path(
    tag = "payments",
    params(PledgeListParams),
    security(("bearer" = [])),
    responses((status = 200, body = Page<PledgeView>), (status = 403, body = crate::http::error::Problem))
)]
#[get("/pledges")]
pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    params: web::Query<PledgeListParams>,
) -> ApiResult<HttpResponse> {
    app_pledges::may_list(&principal).map_err(read_error)?;
    let params = params.into_inner();
    let limit = check_limit(params.limit)?;
    let cursor = params.cursor.unwrap_or_default();
    let filter = PledgeFilter {
        campaign_id: params.campaign_id,
        status: params.status,
    };
    let records = app_pledges::list(&state, &principal, filter, cursor, limit)
        .await
        .map_err(read_error)?;
    let own = principal.role == Role::Partner;
    Ok(HttpResponse::Ok().json(Page::from_rows(
        records,
        limit,
        |r| r.pledge.id.clone(),
        |r| record_view(r, own),
    )))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignPledge {
    pub id: String,
    pub status: String,
    pub amount: String,
    pub currency: String,
    /// Only for donors who are not anonymous.
    pub donor_name: Option<String>,
    /// Only for donors who are not anonymous and agreed to be contacted.
    pub donor_email: Option<String>,
    pub message: Option<String>,
    pub created_at: DateTime<Utc>,
}

pub type CampaignPledgePage = Page<CampaignPledge>;

/// A campaign's pledges for its association (and city staff): donor contact only for
/// non-anonymous donors who consented.
#[utoipa::path(
    tag = "payments",
    params(("id" = String, Path, description = "Campaign id"), crate::http::extract::PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Page<CampaignPledge>),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
    )
)]
#[get("/campaigns/{id}/pledges")]
pub async fn for_campaign(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    params: web::Query<crate::http::extract::PageParams>,
) -> ApiResult<HttpResponse> {
    let params = params.into_inner();
    let limit = check_limit(params.limit)?;
    let cursor = params.cursor.unwrap_or_default();
    let gifts = app_pledges::for_campaign(&state, &principal, id.into_inner(), cursor, limit)
        .await
        .map_err(read_error)?;
    Ok(HttpResponse::Ok().json(Page::from_rows(
        gifts,
        limit,
        |g| g.pledge.id.clone(),
        |g| {
            let p = g.pledge;
            CampaignPledge {
                donor_name: g.donor_name,
                donor_email: g.donor_email,
                amount: money(p.amount, &p.currency),
                status: shown_status(&p).to_string(),
                id: p.id,
                currency: p.currency.to_string(),
                message: p.message,
                created_at: ts(p.created_at),
            }
        },
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EraseDonor {
    #[schema(format = Email, max_length = 254)]
    pub email: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Erased {
    /// Donor records whose personal data was erased.
    pub erased: usize,
}

/// Erase a donor's personal data (GDPR art. 17); the accounting records stay (admin).
///
/// Name and e-mail are wiped from every pledge of that address, and the pledges and
/// distinct-donor counts filed under the address's hash move to a random key, so nothing left
/// can be matched against it. Campaign totals and donor counts do not change; a later pledge from the
/// same address counts as a new donor.
#[utoipa::path(
    tag = "payments",
    request_body = EraseDonor,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Erased),
        (status = 403, body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[post("/donors/erase")]
pub async fn erase(
    state: web::Data<AppState>,
    principal: Principal,
    body: ApiJson<EraseDonor>,
) -> ApiResult<HttpResponse> {
    let erased = app_donors::erase(&state, principal, &body.into_inner().email)
        .await
        .map_err(|e| match e {
            ErasureError::Forbidden(e) => e.into(),
            ErasureError::Invalid(i) => ApiError::validation(i.field, i.message),
            ErasureError::Db(e) => e.into(),
            e @ (ErasureError::MailCleanUp | ErasureError::MailFolder(_)) => {
                ApiError::Internal(e.to_string())
            }
        })?;
    Ok(HttpResponse::Ok().json(Erased { erased }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulateBody {
    pub outcome: SimOutcome,
}

/// Simulated provider only: make a payment succeed, fail, be cancelled or disputed. The outcome
/// arrives as a signed provider event through the webhook code path. The partner that created
/// the pledge or an admin may call it; with the Stripe provider it does not exist (404).
#[utoipa::path(
    tag = "payments",
    params(("payment_id" = String, Path, description = "provider_payment_id of a simulated payment")),
    request_body = SimulateBody,
    security(("bearer" = [])),
    responses(
        (status = 200, body = PledgeView),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, description = "The payment cannot have this outcome now (cancelled, or not succeeded for a dispute)", body = crate::http::error::Problem),
    )
)]
#[post("/simulated/payments/{payment_id}")]
pub async fn simulate(
    state: web::Data<AppState>,
    principal: Principal,
    payment_id: web::Path<String>,
    body: ApiJson<SimulateBody>,
) -> ApiResult<HttpResponse> {
    let record = app_pledges::simulate_and_read(
        &state,
        &principal,
        payment_id.into_inner(),
        body.into_inner().outcome,
    )
    .await
    .map_err(simulate_error)?;
    Ok(HttpResponse::Ok().json(record_view(record, principal.role == Role::Partner)))
}

/// A refund cofund asked (or will ask) of the payment provider.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefundView {
    pub id: String,
    pub pledge_id: String,
    pub amount: String,
    pub reason: String,
    /// `pending` (to send, or sent and not yet reported done), `succeeded`, or
    /// `needs_attention` (refused or failed at the provider).
    pub status: crate::domain::pledge::RefundStatus,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Return a flagged payment to the donor (finance, admin). A flagged payment is one whose
/// amount or currency did not match its pledge: it was never counted, and this queues its
/// refund, for what the provider reported it brought in. Idempotent: asked again, the same
/// refund is returned (200 instead of 202). 409 when the pledge has no flagged payment or
/// already has another refund.
#[utoipa::path(
    tag = "payments",
    params(("id" = String, Path, description = "Pledge id (`plg_…`)")),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Refund queued", body = RefundView),
        (status = 200, description = "Already queued: the same refund", body = RefundView),
        (status = 401, body = crate::http::error::Problem),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, description = "Not a flagged payment, or already refunded otherwise", body = crate::http::error::Problem),
    )
)]
#[post("/pledges/{id}/refund")]
pub async fn refund(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let queued = app_pledges::refund_flagged(&state, principal, id.into_inner())
        .await
        .map_err(|e| match e {
            RefundError::Forbidden => ApiError::Forbidden(
                "only the finance office or an admin may refund a flagged payment",
            ),
            RefundError::NotFound => ApiError::NotFound("pledge"),
            RefundError::NotFlagged => ApiError::conflict("not_flagged", e.to_string()),
            RefundError::AlreadyRefunded => ApiError::conflict("already_refunded", e.to_string()),
            RefundError::Db(e) => e.into(),
        })?;
    let (row, created, currency) = (queued.refund, queued.created, queued.currency);
    let view = RefundView {
        amount: money(row.amount, &currency),
        status: row.status,
        id: row.id,
        pledge_id: row.pledge_id,
        reason: row.reason,
        last_error: row.last_error,
        created_at: ts(row.created_at),
    };
    Ok(match created {
        true => HttpResponse::Accepted().json(view),
        false => HttpResponse::Ok().json(view),
    })
}

/// The answer to a simulated payment that was not settled.
fn simulate_error(e: SimulateError) -> ApiError {
    match e {
        SimulateError::NotSimulated => ApiError::NotFound("route"),
        SimulateError::Forbidden => ApiError::Forbidden(
            "only the partner that created the pledge or an admin may simulate its payment",
        ),
        SimulateError::PaymentNotFound => ApiError::NotFound("payment"),
        SimulateError::Read(e) => read_error(e),
        SimulateError::PaymentState(message) => ApiError::conflict("payment_state", message),
        SimulateError::ProviderUnavailable => ApiError::ProviderUnavailable,
        SimulateError::Delivery(e) => e.into(),
        SimulateError::Db(e) => e.into(),
    }
}

/// Has the simulated provider settle a payment and deliver its signed webhook (the partner
/// that created the pledge, or an admin): the API's and the reference checkout's path.
pub(crate) async fn simulate_payment(
    state: &AppState,
    principal: &Principal,
    payment_id: String,
    outcome: SimOutcome,
) -> ApiResult<PledgeRow> {
    app_pledges::simulate(state, principal, payment_id, outcome)
        .await
        .map_err(simulate_error)
}
