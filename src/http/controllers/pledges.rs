//! Pledges: partner frontends create them (with an Idempotency-Key), the provider's webhooks
//! confirm them. Donor personal data lives in its own table and can be erased.

use crate::app::AppState;
use crate::app::payments::deliver_simulated;
use crate::app::pledges::{
    self as app_pledges, Created, NewPledge, PledgeError, PledgeRequest, donor_key,
};
use crate::db::models::{CampaignRow, DonorRow, PledgeRow};
use crate::db::queries::audit;
use crate::db::schema::{campaigns, donors, pledges};
use crate::db::write_tx;
use crate::domain::email::Email;
use crate::domain::money::{Currency, parse_amount};
use crate::domain::pledge::PledgeStatus;
use crate::domain::role::Role;
use crate::domain::tax_code::TaxCode;
use crate::http::error::{ApiError, ApiResult, FieldError};
use crate::http::extract::{ApiJson, Page, Principal, check_limit};
use crate::http::views::{money, now, ts};
use crate::providers::simulated::SimOutcome;
use crate::providers::{CreatedPayment, PaymentProvider};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
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
}

#[derive(Debug, Serialize, Deserialize, ToSchema, Clone)]
pub struct PaymentInfo {
    /// `stripe` or `simulated`.
    pub provider: String,
    pub provider_payment_id: Option<String>,
    /// What the partner frontend hands to the provider's client library. No card data ever
    /// reaches cofund.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
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
    /// otherwise). `"0.00"` when the fund's budget is spent.
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

type PledgeWithDonor = (PledgeRow, Option<DonorRow>);

/// A page of pledges with their donors: the donors are read by the page's ids in a second
/// query. Joined in one, PostgreSQL merge-joins the donors from their first row, whatever the
/// cursor: deep pages of a large programme took a second (docs/benchmarks.md).
fn with_donors(
    conn: &mut crate::db::DbConnection,
    page: Vec<PledgeRow>,
) -> QueryResult<Vec<PledgeWithDonor>> {
    let ids: Vec<&str> = page.iter().map(|p| p.id.as_str()).collect();
    let mut donors: std::collections::HashMap<String, DonorRow> = donors::table
        .filter(donors::pledge_id.eq_any(&ids))
        .select(DonorRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|d: DonorRow| (d.pledge_id.clone(), d))
        .collect();
    Ok(page
        .into_iter()
        .map(|p| {
            let d = donors.remove(&p.id);
            (p, d)
        })
        .collect())
}

/// Per-donation matches by pledge id.
type Matches = std::collections::HashMap<String, crate::app::per_donation::PledgeMatch>;

fn pledge_view(p: PledgeRow, d: Option<DonorRow>, with_client_secret: bool) -> PledgeView {
    let c = p.currency;
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
            provider: p.provider.as_str().to_string(),
            provider_payment_id: p.provider_payment_id,
            client_secret: if with_client_secret {
                p.client_secret
            } else {
                None
            },
        },
        id: p.id,
        campaign_id: p.campaign_id,
        partner_id: p.partner_id,
        status: p.status.to_string(),
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

/// Validates the pledge against its campaign; returns (amount, donor row pieces).
fn validate(
    body: &CreatePledge,
    campaign: &CampaignRow,
    limits: crate::domain::money::PledgeLimits,
) -> ApiResult<(i64, String, String, Option<String>)> {
    let mut errors = Vec::new();
    let currency = campaign.currency;
    if let Some(c) = &body.currency
        && c != currency.code()
    {
        errors.push(FieldError::new(
            "currency",
            format!("must be the campaign's currency, {}", currency.code()),
        ));
    }
    let amount = match parse_amount(&body.amount, currency) {
        Ok(a) => {
            let (lo, hi) = limits.in_minor_units(currency);
            if a < lo || a > hi {
                errors.push(FieldError::new(
                    "amount",
                    format!(
                        "must be between {} and {} {}",
                        money(lo, &currency),
                        money(hi, &currency),
                        currency.code()
                    ),
                ));
            }
            a
        }
        Err(e) => {
            errors.push(FieldError::new("amount", e));
            0
        }
    };
    let name = body.donor.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        errors.push(FieldError::new("donor.name", "1–200 characters"));
    }
    let email = match Email::parse(&body.donor.email) {
        Ok(e) => e.as_str().to_lowercase(),
        Err(e) => {
            errors.push(FieldError::new("donor.email", e));
            String::new()
        }
    };
    let locale = body.donor.locale.clone().unwrap_or_else(|| "it".into());
    if !matches!(locale.as_str(), "it" | "en") {
        errors.push(FieldError::new("donor.locale", "must be it or en"));
    }
    if body
        .message
        .as_ref()
        .is_some_and(|m| m.chars().count() > 1000)
    {
        errors.push(FieldError::new("message", "at most 1000 characters"));
    }
    let tax_code = match body.donor.tax_code.as_deref().map(TaxCode::parse) {
        None => None,
        Some(Ok(t)) => Some(t.as_str().to_string()),
        Some(Err(e)) => {
            errors.push(FieldError::new("donor.tax_code", e));
            None
        }
    };
    if errors.is_empty() {
        Ok((amount, email, locale, tax_code))
    } else {
        Err(ApiError::Validation(errors))
    }
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
    principal.require(&[Role::Partner])?;
    let partner_id = principal
        .partner_id
        .clone()
        .ok_or(ApiError::Forbidden("no partner"))?;
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
    state
        .pledge_limiter
        .check(&partner_id)
        .map_err(ApiError::RateLimited)?;
    let hash = hex::encode(Sha256::digest(
        serde_json::to_string(&(&campaign_id, &body))
            .unwrap_or_default()
            .as_bytes(),
    ));
    let limits = state.config.payments.pledge_limits;
    let request = PledgeRequest {
        partner_id,
        idempotency_key: key,
        request_hash: hash,
        campaign_id,
    };
    let check = move |campaign: &CampaignRow| -> ApiResult<NewPledge> {
        let (amount, email, locale, tax_code) = validate(&body, campaign, limits)?;
        Ok(NewPledge {
            amount,
            donor_name: body.donor.name.trim().to_string(),
            donor_email: email,
            anonymous: body.donor.anonymous,
            contact_consent: body.donor.contact_consent,
            locale,
            message: body.message.clone().map(|m| m.trim().to_string()),
            donor_tax_code: tax_code,
        })
    };
    let answer =
        |pledge: &PledgeRow, payment: &CreatedPayment, held: Option<&app_pledges::Held>| {
            let response = PledgeCreated {
                id: pledge.id.clone(),
                campaign_id: pledge.campaign_id.clone(),
                status: PledgeStatus::Pending.as_str().into(),
                amount: money(pledge.amount, &pledge.currency),
                currency: pledge.currency.to_string(),
                payment: PaymentInfo {
                    provider: pledge.provider.as_str().to_string(),
                    provider_payment_id: Some(payment.id.clone()),
                    client_secret: payment.client_secret.clone(),
                },
                held_match: held.map(|h| HeldMatch {
                    amount: money(h.amount, &pledge.currency),
                    expires_at: ts(h.expires_at),
                }),
                created_at: ts(pledge.created_at),
            };
            serde_json::to_string(&response).unwrap_or_default()
        };
    app_pledges::create(state, request, check, answer)
        .await
        .map_err(pledge_error)
}

/// The answer to a pledge that was not created.
fn pledge_error(e: PledgeError<ApiError>) -> ApiError {
    match e {
        PledgeError::KeyReused => ApiError::conflict("idempotency_key_reused", e.to_string()),
        PledgeError::KeyInUse => ApiError::conflict("idempotency_key_in_use", e.to_string()),
        PledgeError::CampaignNotFound => ApiError::NotFound("campaign"),
        PledgeError::NotLive(_) => ApiError::conflict("campaign_not_live", e.to_string()),
        PledgeError::Invalid(e) => e,
        PledgeError::ProviderUnavailable => ApiError::ProviderUnavailable,
        PledgeError::Db(e) => e.into(),
    }
}

fn may_read_pledge(principal: &Principal, p: &PledgeRow) -> ApiResult<()> {
    match principal.role {
        Role::Admin | Role::Finance => Ok(()),
        Role::Partner if principal.partner_id.as_deref() == Some(p.partner_id.as_str()) => Ok(()),
        Role::Partner => Err(ApiError::Forbidden(
            "this pledge belongs to another partner",
        )),
        _ => Err(ApiError::Forbidden("your role may not read pledges")),
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
    let id = id.into_inner();
    let ((p, d), m) = state
        .db
        .run(move |conn| -> ApiResult<(PledgeWithDonor, Matches)> {
            let p: PledgeRow = pledges::table
                .find(&id)
                .select(PledgeRow::as_select())
                .first(conn)
                .optional()?
                .ok_or(ApiError::NotFound("pledge"))?;
            let d = donors::table
                .find(&id)
                .select(DonorRow::as_select())
                .first(conn)
                .optional()?;
            let m = crate::app::per_donation::matches_of(conn, &[id.as_str()])?;
            Ok(((p, d), m))
        })
        .await?;
    may_read_pledge(&principal, &p)?;
    let own = principal.role == Role::Partner;
    let c = p.currency;
    let found = m.get(&p.id).cloned();
    Ok(HttpResponse::Ok().json(with_match(pledge_view(p, d, own), found.as_ref(), &c)))
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
    principal.require(&[Role::Partner, Role::Admin, Role::Finance])?;
    let params = params.into_inner();
    let limit = check_limit(params.limit)?;
    let only_partner = principal.partner_id.clone();
    let cursor = params.cursor.unwrap_or_default();
    let rows = state
        .db
        .run(move |conn| -> ApiResult<(Vec<PledgeWithDonor>, Matches)> {
            let mut q = pledges::table
                .filter(pledges::id.gt(&cursor))
                .order(pledges::id)
                .limit(limit + 1)
                .select(PledgeRow::as_select())
                .into_boxed();
            if let Some(p) = only_partner {
                q = q.filter(pledges::partner_id.eq(p));
            }
            if let Some(c) = params.campaign_id {
                q = q.filter(pledges::campaign_id.eq(c));
            }
            if let Some(s) = params.status {
                q = q.filter(pledges::status.eq(s));
            }
            let page = q.load(conn)?;
            let rows = with_donors(conn, page)?;
            let ids: Vec<&str> = rows.iter().map(|(p, _)| p.id.as_str()).collect();
            let m = crate::app::per_donation::matches_of(conn, &ids)?;
            Ok((rows, m))
        })
        .await?;
    let (rows, matches) = rows;
    let own = principal.role == Role::Partner;
    Ok(HttpResponse::Ok().json(Page::from_rows(
        rows,
        limit,
        |(p, _)| p.id.clone(),
        |(p, d)| {
            let found = matches.get(&p.id);
            let c = p.currency;
            with_match(pledge_view(p, d, own), found, &c)
        },
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
    let campaign_id = id.into_inner();
    let (association_id, rows) = state
        .db
        .run(move |conn| -> ApiResult<(String, Vec<PledgeWithDonor>)> {
            let association_id: String = campaigns::table
                .find(&campaign_id)
                .select(campaigns::association_id)
                .first(conn)
                .optional()?
                .ok_or(ApiError::NotFound("campaign"))?;
            let page = pledges::table
                .filter(pledges::campaign_id.eq(&campaign_id))
                .filter(pledges::id.gt(&cursor))
                .order(pledges::id)
                .limit(limit + 1)
                .select(PledgeRow::as_select())
                .load(conn)?;
            let rows = with_donors(conn, page)?;
            Ok((association_id, rows))
        })
        .await?;
    // Donor data: the owning association, finance and admins; reviewers judge campaigns, not
    // donors.
    if !(matches!(principal.role, Role::Admin | Role::Finance)
        || principal.is_member_of(&association_id))
    {
        return Err(ApiError::Forbidden(
            "only the owning association, finance and admins read a campaign's donors",
        ));
    }
    Ok(HttpResponse::Ok().json(Page::from_rows(
        rows,
        limit,
        |(p, _)| p.id.clone(),
        |(p, d)| {
            let visible = d.as_ref().filter(|d| !d.anonymous && d.erased_at.is_none());
            CampaignPledge {
                donor_name: visible.and_then(|d| d.name.clone()),
                donor_email: visible
                    .filter(|d| d.contact_consent)
                    .and_then(|d| d.email.clone()),
                amount: money(p.amount, &p.currency),
                id: p.id,
                status: p.status.to_string(),
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
    principal.require(&[Role::Admin])?;
    let email = Email::parse(&body.into_inner().email)
        .map_err(|e| ApiError::validation("email", e))?
        .as_str()
        .to_lowercase();
    let erased_address = email.clone();
    let erased = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| -> ApiResult<usize> {
                // The e-mail's hash goes too: the pledges and counts filed under it move to a
                // random key before the address itself is wiped.
                crate::app::payment_events::rekey_donor(conn, &donor_key(&email))?;
                let theirs: Vec<String> = donors::table
                    .filter(donors::email.eq(&email))
                    .select(donors::pledge_id)
                    .load(conn)?;
                crate::app::payment_events::erase_donor_traces(conn, &email, &theirs)?;
                let n = diesel::update(donors::table.filter(donors::email.eq(&email)))
                    .set((
                        donors::name.eq(None::<String>),
                        donors::email.eq(None::<String>),
                        donors::tax_code.eq(None::<String>),
                        donors::erased_at.eq(Some(now())),
                    ))
                    .execute(conn)?;
                // The audit trail records that an erasure happened, not whose.
                audit(
                    conn,
                    &principal,
                    "donor.erase",
                    "donor",
                    "-",
                    Some(format!("{n} records")),
                )?;
                Ok(n)
            })
        })
        .await?;
    // The mail folder (the file transport, when no SMTP relay is configured) keeps a copy of
    // every message sent: those to this address go too.
    if state.config.notify.smtp_url.is_none() {
        let dir = state.config.notify.mail_dir.clone();
        let address = erased_address.clone();
        tokio::task::spawn_blocking(move || forget_mail_to(&dir, &address))
            .await
            .map_err(|_| ApiError::Internal("mail folder clean-up".into()))?
            .map_err(|e| ApiError::Internal(format!("mail folder clean-up: {e}")))?;
    }
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
    let pledge = simulate_payment(
        &state,
        &principal,
        payment_id.into_inner(),
        body.into_inner().outcome,
    )
    .await?;
    let id = pledge.id.clone();
    let ((p, d), m) = state
        .db
        .run(move |conn| -> ApiResult<(PledgeWithDonor, Matches)> {
            let p = pledges::table
                .find(&id)
                .select(PledgeRow::as_select())
                .first(conn)?;
            let d = donors::table
                .find(&id)
                .select(DonorRow::as_select())
                .first(conn)
                .optional()?;
            let m = crate::app::per_donation::matches_of(conn, &[id.as_str()])?;
            Ok(((p, d), m))
        })
        .await?;
    let c = p.currency;
    let found = m.get(&p.id).cloned();
    let view = pledge_view(p, d, principal.role == Role::Partner);
    Ok(HttpResponse::Ok().json(with_match(view, found.as_ref(), &c)))
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
    if !matches!(principal.role, Role::Admin | Role::Finance) {
        return Err(ApiError::Forbidden(
            "only the finance office or an admin may refund a flagged payment",
        ));
    }
    let id = id.into_inner();
    let (row, created, currency) = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| -> ApiResult<_> {
                use crate::app::payment_events::{FlaggedRefund, refund_flagged};
                match refund_flagged(conn, &id)? {
                    FlaggedRefund::NotFound => Err(ApiError::NotFound("pledge")),
                    FlaggedRefund::NotFlagged => Err(ApiError::conflict(
                        "not_flagged",
                        "this pledge has no flagged payment to refund",
                    )),
                    FlaggedRefund::OtherRefund => Err(ApiError::conflict(
                        "already_refunded",
                        "this pledge already has a refund",
                    )),
                    FlaggedRefund::Queued(row, created) => {
                        let (flagged, own): (Option<String>, Currency) = pledges::table
                            .find(&id)
                            .select((pledges::flagged_currency, pledges::currency))
                            .first(conn)?;
                        let currency = reported_currency(flagged.as_deref(), own);
                        if created {
                            audit(
                                conn,
                                &principal,
                                "pledge.refund_flagged",
                                "pledge",
                                &id,
                                Some(format!("refund {} of {}", row.id, row.amount)),
                            )?;
                        }
                        Ok((*row, created, currency))
                    }
                }
            })
        })
        .await?;
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

/// Deletes every message file in `dir` that mentions `address` (case-insensitively).
fn forget_mail_to(dir: &str, address: &str) -> std::io::Result<usize> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let needle = address.to_lowercase();
    let mut removed = 0;
    for entry in entries {
        let path = entry?.path();
        if !path.is_file() {
            continue;
        }
        let text = String::from_utf8_lossy(&std::fs::read(&path)?).to_lowercase();
        if text.contains(&needle) {
            std::fs::remove_file(&path)?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// The currency a provider reported for a flagged payment; one cofund does not know is shown
/// in the units of the pledge's own currency.
fn reported_currency(reported: Option<&str>, own: Currency) -> Currency {
    reported
        .and_then(|c| Currency::parse(&c.to_ascii_uppercase()).ok())
        .unwrap_or(own)
}

/// Has the simulated provider settle a payment and deliver its signed webhook (the partner
/// that created the pledge, or an admin): the API's and the reference checkout's path.
pub(crate) async fn simulate_payment(
    state: &AppState,
    principal: &Principal,
    payment_id: String,
    outcome: SimOutcome,
) -> ApiResult<PledgeRow> {
    let PaymentProvider::Simulated(sim) = &*state.provider else {
        return Err(ApiError::NotFound("route"));
    };
    // Only the payer's side may pay: the partner that created the pledge, or an admin trying
    // the flow. Finance and the other roles never make money appear.
    if !matches!(principal.role, Role::Admin | Role::Partner) {
        return Err(ApiError::Forbidden(
            "only the partner that created the pledge or an admin may simulate its payment",
        ));
    }
    let lookup = payment_id.clone();
    let pledge = state
        .db
        .run(move |conn| -> ApiResult<PledgeRow> {
            pledges::table
                .filter(pledges::provider_payment_id.eq(&lookup))
                .select(PledgeRow::as_select())
                .first(conn)
                .optional()?
                .ok_or(ApiError::NotFound("payment"))
        })
        .await?;
    if principal.role != Role::Admin {
        may_read_pledge(principal, &pledge)?;
    }
    sim.trigger(&payment_id, outcome)
        .await
        .map_err(|e| match e {
            crate::providers::ProviderError::Rejected { status: 404, .. } => {
                ApiError::NotFound("payment")
            }
            crate::providers::ProviderError::Rejected { message, .. } => {
                ApiError::conflict("payment_state", message)
            }
            crate::providers::ProviderError::Unavailable(_) => ApiError::ProviderUnavailable,
        })?;
    deliver_simulated(state).await?;
    Ok(pledge)
}
