//! A campaign's life from the console (create, edit, submit, approve, reject) and a gift to
//! it through the reference checkout (the donation page).

use super::common::{area_names, draw_map, local_time};
use super::{
    Ctx, PageError, PageResult, check_csrf, context, html, redirect, signed_form, signed_in,
};
use crate::app::AppState;
use crate::domain::campaign::{Action, CampaignStatus};
use crate::domain::role::Role;
use crate::http::controllers::campaigns::{self as campaigns, CreateCampaign, Location};
use crate::http::controllers::pledges;
use crate::http::error::ApiError;
use crate::http::extract::Principal;
use actix_session::Session;
use actix_web::{HttpRequest, web};
use askama::Template;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct NewCampaignForm {
    pub csrf_token: String,
    pub fund_id: String,
    pub title: String,
    pub summary: String,
    pub goal: String,
    pub lat: Option<String>,
    pub lon: Option<String>,
    #[serde(rename = "map.x")]
    pub map_x: Option<f64>,
    #[serde(rename = "map.y")]
    pub map_y: Option<f64>,
    pub starts_at: String,
    pub ends_at: String,
    /// One cost per line: `category; description; amount`.
    #[serde(default)]
    pub cost_plan: String,
}

pub async fn create_campaign(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    form: web::Form<NewCampaignForm>,
) -> PageResult {
    let form = form.into_inner();
    let (ctx, principal) = signed_form(&state, &req, &session, &form.csrf_token)?;
    // A click on the map is the location; else the typed coordinates.
    let location = match (form.map_x, form.map_y) {
        (Some(x), Some(y)) => {
            let areas = area_names(&state).await.map_err(|e| ctx.fail(e))?;
            let (_, projection) = draw_map(&ctx.t, &areas, &[]);
            let p = projection.ok_or_else(|| {
                ctx.fail(ApiError::validation("location", "no areas to pick from"))
            })?;
            let (lon, lat) = p.unproject(x, y);
            Location { lat, lon }
        }
        _ => {
            let num = |field: &str, v: &Option<String>| -> Result<f64, ApiError> {
                v.as_deref()
                    .and_then(|s| s.trim().parse::<f64>().ok())
                    .filter(|f| f.is_finite())
                    .ok_or_else(|| {
                        ApiError::validation(field, "a number, or pick the place on the map")
                    })
            };
            Location {
                lat: num("location.lat", &form.lat).map_err(|e| ctx.fail(e))?,
                lon: num("location.lon", &form.lon).map_err(|e| ctx.fail(e))?,
            }
        }
    };
    let body = CreateCampaign {
        fund_id: form.fund_id,
        title: form.title,
        summary: form.summary,
        goal: form.goal,
        currency: None,
        location,
        starts_at: local_time("starts_at", &form.starts_at).map_err(|e| ctx.fail(e))?,
        ends_at: local_time("ends_at", &form.ends_at).map_err(|e| ctx.fail(e))?,
        cost_plan: cost_plan_lines(&form.cost_plan).map_err(|e| ctx.fail(e))?,
    };
    campaigns::create_campaign(&state, principal, body)
        .await
        .map_err(|e| ctx.fail(e))?;
    Ok(redirect("/console/campaigns?done=created"))
}

#[derive(Deserialize)]
pub struct ActionForm {
    pub csrf_token: String,
    pub reason: Option<String>,
}

pub async fn campaign_action(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    path: web::Path<(String, String)>,
    form: web::Form<ActionForm>,
) -> PageResult {
    let form = form.into_inner();
    let (ctx, principal) = signed_form(&state, &req, &session, &form.csrf_token)?;
    let (id, verb) = path.into_inner();
    let (action, done, back) = match verb.as_str() {
        "submit" => (Action::Submit, "submitted", "/console/campaigns"),
        "approve" => (Action::Approve, "approved", "/console/review"),
        "reject" => (Action::Reject, "rejected", "/console/review"),
        _ => return Err(ctx.fail(ApiError::NotFound("page"))),
    };
    let reason = match action {
        Action::Reject => {
            let r = form.reason.unwrap_or_default().trim().to_string();
            if r.is_empty() || r.chars().count() > 2000 {
                return Err(ctx.fail(ApiError::validation("reason", "1–2000 characters")));
            }
            Some(r)
        }
        _ => None,
    };
    campaigns::act(&state, principal, id, action, reason)
        .await
        .map_err(|e| ctx.fail(e))?;
    Ok(redirect(&format!("{back}?done={done}")))
}

#[derive(Deserialize)]
pub struct NewsForm {
    pub csrf_token: String,
    pub title: String,
    pub body: String,
}

/// A project update from the campaign's page (its association).
pub async fn post_news(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    id: web::Path<String>,
    form: web::Form<NewsForm>,
) -> PageResult {
    let form = form.into_inner();
    let (ctx, principal) = signed_form(&state, &req, &session, &form.csrf_token)?;
    let id = id.into_inner();
    crate::app::updates::post(&state, principal, id.clone(), form.title, form.body)
        .await
        .map_err(|e| ctx.fail(e.into()))?;
    Ok(redirect(&format!("/campaigns/{id}?posted=1")))
}

#[derive(Template)]
#[template(path = "edit.html")]
struct EditPage {
    ctx: Ctx,
    id: String,
    title: String,
    summary: String,
    goal: String,
    lat: String,
    lon: String,
    starts_at: String,
    ends_at: String,
}

/// The edit form of a draft or rejected campaign (its association only: the same check as the
/// API's, which refuses anyone else and any other state).
pub async fn edit_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    id: web::Path<String>,
) -> PageResult {
    let (ctx, principal) = signed_in(&state, &req, &session)?;
    let c = campaigns::get_campaign(&state, Some(principal.clone()), id.into_inner())
        .await
        .map_err(|e| ctx.fail(e))?;
    if principal.role != Role::Association || !principal.is_member_of(&c.association_id) {
        return Err(ctx.fail(ApiError::Forbidden(
            "only the association edits its campaign",
        )));
    }
    if !matches!(c.status, CampaignStatus::Draft | CampaignStatus::Rejected) {
        return Err(ctx.fail(ApiError::conflict(
            "not_editable",
            "only draft and rejected campaigns can be edited",
        )));
    }
    html(EditPage {
        id: c.id,
        title: c.title,
        summary: c.summary,
        goal: c.goal,
        lat: c.location.lat.to_string(),
        lon: c.location.lon.to_string(),
        starts_at: c.starts_at.format("%Y-%m-%dT%H:%M").to_string(),
        ends_at: c.ends_at.format("%Y-%m-%dT%H:%M").to_string(),
        ctx,
    })
}

#[derive(Deserialize)]
pub struct EditForm {
    pub csrf_token: String,
    pub title: String,
    pub summary: String,
    pub goal: String,
    pub lat: String,
    pub lon: String,
    pub starts_at: String,
    pub ends_at: String,
    /// One cost per line: `category; description; amount`.
    #[serde(default)]
    pub cost_plan: String,
}

pub async fn edit(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    id: web::Path<String>,
    form: web::Form<EditForm>,
) -> PageResult {
    let f = form.into_inner();
    let (ctx, principal) = signed_form(&state, &req, &session, &f.csrf_token)?;
    let num = |field: &str, v: &str| -> Result<f64, ApiError> {
        v.trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| ApiError::validation(field, "a number"))
    };
    let body = campaigns::UpdateCampaign {
        title: Some(f.title),
        summary: Some(f.summary),
        goal: Some(f.goal),
        location: Some(Location {
            lat: num("location.lat", &f.lat).map_err(|e| ctx.fail(e))?,
            lon: num("location.lon", &f.lon).map_err(|e| ctx.fail(e))?,
        }),
        starts_at: Some(local_time("starts_at", &f.starts_at).map_err(|e| ctx.fail(e))?),
        ends_at: Some(local_time("ends_at", &f.ends_at).map_err(|e| ctx.fail(e))?),
        cost_plan: cost_plan_lines(&f.cost_plan).map_err(|e| ctx.fail(e))?,
    };
    campaigns::update_campaign(&state, principal, id.into_inner(), body)
        .await
        .map_err(|e| ctx.fail(e))?;
    Ok(redirect("/console/campaigns?done=edited"))
}

#[derive(Template)]
#[template(path = "donate.html")]
struct DonatePage {
    ctx: Ctx,
    campaign_id: String,
    title: String,
    currency: String,
    key: String,
}

fn simulated_only(state: &AppState, ctx: &Ctx) -> Result<(), PageError> {
    match *state.provider {
        crate::providers::PaymentProvider::Simulated(_) => Ok(()),
        _ => Err(ctx.fail(ApiError::NotFound("page"))),
    }
}

pub async fn donate_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    id: web::Path<String>,
) -> PageResult {
    let (ctx, _) = context(&state, &req, &session);
    simulated_only(&state, &ctx)?;
    let c = campaigns::get_campaign(&state, None, id.into_inner())
        .await
        .map_err(|e| ctx.fail(e))?;
    if c.status != CampaignStatus::Live {
        return Err(ctx.fail(ApiError::conflict(
            "campaign_not_live",
            ctx.t.get("donate-not-live"),
        )));
    }
    html(DonatePage {
        campaign_id: c.id,
        title: c.title,
        currency: c.currency,
        // The form's own idempotency key: a double click pays once.
        key: uuid::Uuid::new_v4().to_string(),
        ctx,
    })
}

#[derive(Deserialize)]
pub struct DonateForm {
    pub csrf_token: String,
    pub key: String,
    pub amount: String,
    pub name: String,
    pub email: String,
    pub tax_code: Option<String>,
    pub anonymous: Option<String>,
    /// `card` (the default) or `bank_transfer`.
    pub method: Option<String>,
}

#[derive(Template)]
#[template(path = "transfer.html")]
struct TransferPage {
    ctx: Ctx,
    campaign_id: String,
    title: String,
    beneficiary: String,
    iban: String,
    amount: String,
    reference: String,
    expires: String,
}

/// The donor's instructions for a bank-transfer pledge (the same page for a replayed form).
async fn transfer_page(
    state: &AppState,
    ctx: Ctx,
    campaign_id: String,
    created: &str,
) -> PageResult {
    let p: pledges::PledgeCreated = serde_json::from_str(created)
        .map_err(|_| ctx.fail(ApiError::Internal("unreadable pledge answer".into())))?;
    let c = campaigns::get_campaign(state, None, campaign_id)
        .await
        .map_err(|e| ctx.fail(e))?;
    let pay = p.payment;
    let (Some(iban), Some(beneficiary), Some(reference), Some(expires)) = (
        pay.iban,
        pay.beneficiary,
        pay.reference_printed.or(pay.reference),
        pay.expires_at,
    ) else {
        return Err(ctx.fail(ApiError::Internal(
            "bank pledge without instructions".into(),
        )));
    };
    html(TransferPage {
        campaign_id: c.id,
        title: c.title,
        beneficiary,
        iban,
        amount: ctx.t.amount(&p.amount, &p.currency),
        reference,
        expires: ctx.t.date(expires.date_naive()),
        ctx,
    })
}

/// A gift from the donation page (anyone, signed in or not; the session's CSRF token still).
pub async fn donate(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    id: web::Path<String>,
    form: web::Form<DonateForm>,
) -> PageResult {
    let (ctx, _) = context(&state, &req, &session);
    simulated_only(&state, &ctx)?;
    let form = form.into_inner();
    check_csrf(&ctx, &form.csrf_token)?;
    if uuid::Uuid::parse_str(&form.key).is_err() {
        return Err(ctx.fail(ApiError::bad_request("malformed form")));
    }
    let bank = match form.method.as_deref() {
        None | Some("card") => false,
        Some("bank_transfer") => true,
        Some(_) => return Err(ctx.fail(ApiError::validation("method", "card or bank_transfer"))),
    };
    let campaign_id = id.into_inner();
    let partner_id = crate::app::console::reference_checkout_partner(&state)
        .await
        .map_err(|e| ctx.fail(e.into()))?;
    let body = pledges::CreatePledge {
        amount: form.amount.trim().to_string(),
        currency: None,
        donor: pledges::DonorInput {
            name: form.name,
            email: form.email,
            anonymous: form.anonymous.is_some(),
            locale: Some(ctx.lang.to_string()),
            contact_consent: false,
            tax_code: form.tax_code.filter(|t| !t.trim().is_empty()),
        },
        message: None,
        method: bank.then_some(pledges::PledgeMethodInput::BankTransfer),
    };
    // The partner path, as a partner frontend takes it: create the pledge, then pay at the
    // (simulated) provider, whose signed webhook moves the money.
    let created = pledges::create_pledge(
        &state,
        partner_id.clone(),
        form.key,
        campaign_id.clone(),
        body,
    )
    .await
    .map_err(|e| ctx.fail(e))?;
    let json = match created {
        crate::app::pledges::Created::New(b) | crate::app::pledges::Created::Replayed(b) => b,
    };
    if bank {
        // Nothing to pay here: the donor's bank sends the money.
        return transfer_page(&state, ctx, campaign_id, &json).await;
    }
    let payment_id = serde_json::from_str::<serde_json::Value>(&json)
        .ok()
        .and_then(|v| {
            v["payment"]["provider_payment_id"]
                .as_str()
                .map(str::to_string)
        })
        .ok_or_else(|| ctx.fail(ApiError::Internal("pledge without a payment".into())))?;
    let partner = Principal {
        sub: partner_id.clone(),
        role: Role::Partner,
        association_id: None,
        partner_id: Some(partner_id),
    };
    // A replayed form finds its payment already paid: that is the same donation, done.
    match pledges::simulate_payment(
        &state,
        &partner,
        payment_id,
        crate::providers::simulated::SimOutcome::Succeed,
    )
    .await
    {
        Ok(_) | Err(ApiError::Conflict { .. }) => {}
        Err(e) => return Err(ctx.fail(e)),
    }
    Ok(redirect(&format!("/campaigns/{campaign_id}?thanks=1")))
}

/// The console's cost plan: one line per cost, `category; description; amount` (none when the
/// field is empty).
fn cost_plan_lines(text: &str) -> Result<Option<Vec<campaigns::CostLineBody>>, ApiError> {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return Ok(None);
    }
    if lines.len() > crate::domain::call::MAX_COST_LINES {
        return Err(ApiError::validation("cost_plan", "at most 50 lines"));
    }
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let parts: Vec<&str> = line.splitn(3, ';').map(str::trim).collect();
            match parts[..] {
                [category, description, amount] => Ok(campaigns::CostLineBody {
                    category: category.to_lowercase(),
                    description: description.to_string(),
                    amount: amount.to_string(),
                }),
                _ => Err(ApiError::validation(
                    format!("cost_plan[{i}]"),
                    "write each cost as: category; description; amount",
                )),
            }
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}
