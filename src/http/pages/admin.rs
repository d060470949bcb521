//! The admin console's forms: associations and their members, staff, partners, areas, funds
//! and funders, and disabling an account.

use super::common::{CsrfOnly, filled, local_time};
use super::{Ctx, PageResult, html, redirect, signed_form};
use crate::app::AppState;
use crate::domain::role::Role;
use crate::http::controllers::{areas, associations, funders, funds, partners, users};
use crate::http::error::ApiError;
use actix_session::Session;
use actix_web::{HttpRequest, web};
use askama::Template;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct AssociationForm {
    pub csrf_token: String,
    pub name: String,
    pub tax_code: String,
    pub iban: String,
    pub bic: Option<String>,
    pub email: String,
    pub runts_id: Option<String>,
}

pub async fn admin_association(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    form: web::Form<AssociationForm>,
) -> PageResult {
    let f = form.into_inner();
    let (ctx, principal) = signed_form(&state, &req, &session, &f.csrf_token)?;
    let body = associations::CreateAssociation {
        name: f.name,
        tax_code: f.tax_code,
        iban: f.iban,
        bic: filled(f.bic),
        email: f.email,
        runts_id: filled(f.runts_id),
    };
    associations::create_association(&state, principal, body)
        .await
        .map_err(|e| ctx.fail(e))?;
    Ok(redirect("/console/admin?done=association"))
}

#[derive(Deserialize)]
pub struct UserForm {
    pub csrf_token: String,
    pub username: String,
    pub password: String,
    pub role: String,
    pub email: Option<String>,
}

pub async fn admin_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    form: web::Form<UserForm>,
) -> PageResult {
    let f = form.into_inner();
    let (ctx, principal) = signed_form(&state, &req, &session, &f.csrf_token)?;
    let role = Role::parse(&f.role)
        .ok_or_else(|| ctx.fail(ApiError::validation("role", "admin, reviewer or finance")))?;
    let body = users::CreateUser {
        username: f.username,
        password: f.password,
        role,
        email: filled(f.email),
    };
    users::create_user(&state, principal, body)
        .await
        .map_err(|e| ctx.fail(e))?;
    Ok(redirect("/console/admin/users?done=user"))
}

#[derive(Deserialize)]
pub struct PartnerForm {
    pub csrf_token: String,
    pub name: String,
    pub webhook_url: Option<String>,
}

#[derive(Template)]
#[template(path = "secrets.html")]
struct SecretsPage {
    ctx: Ctx,
    name: String,
    client_id: String,
    client_secret: String,
    webhook_secret: String,
}

pub async fn admin_partner(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    form: web::Form<PartnerForm>,
) -> PageResult {
    let f = form.into_inner();
    let (ctx, principal) = signed_form(&state, &req, &session, &f.csrf_token)?;
    let body = partners::CreatePartner {
        name: f.name,
        webhook_url: filled(f.webhook_url),
    };
    let created = partners::create_partner(&state, principal, body)
        .await
        .map_err(|e| ctx.fail(e))?;
    // Shown once, never stored in the clear: the page is not cached.
    html(SecretsPage {
        ctx,
        name: created.name,
        client_id: created.client_id,
        client_secret: created.client_secret,
        webhook_secret: created.webhook_secret,
    })
}

#[derive(Deserialize)]
pub struct AreasForm {
    pub csrf_token: String,
    pub geojson: String,
}

pub async fn admin_areas(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    form: web::Form<AreasForm>,
) -> PageResult {
    let f = form.into_inner();
    let (ctx, principal) = signed_form(&state, &req, &session, &f.csrf_token)?;
    let body: areas::FeatureCollectionBody = serde_json::from_str(&f.geojson).map_err(|e| {
        ctx.fail(ApiError::validation(
            "geojson",
            format!("not a GeoJSON FeatureCollection: {e}"),
        ))
    })?;
    areas::import_areas(&state, principal, body)
        .await
        .map_err(|e| ctx.fail(e))?;
    Ok(redirect("/console/admin/funds?done=areas"))
}

/// The fund form as sent: url-encoded with one `area` per eligible area (repeated keys, which
/// `web::Form` does not read), so it is read with `form_urlencoded`.
struct FundForm {
    csrf_token: String,
    areas: Vec<String>,
    /// The other fields in the order sent, trimmed.
    fields: Vec<(String, String)>,
}

impl FundForm {
    fn parse(body: &[u8]) -> FundForm {
        let mut form = FundForm {
            csrf_token: String::new(),
            areas: Vec::new(),
            fields: Vec::new(),
        };
        for (key, value) in form_urlencoded::parse(body) {
            let value = value.trim().to_string();
            match key.as_ref() {
                "csrf_token" => form.csrf_token = value,
                "area" => form.areas.push(value),
                _ => form.fields.push((key.into_owned(), value)),
            }
        }
        form
    }

    /// The API's `CreateFund`: the dates read as UTC, blank fields absent.
    fn create_fund(self) -> Result<funds::CreateFund, ApiError> {
        let mut fields = serde_json::Map::new();
        for (key, value) in self.fields {
            match key.as_str() {
                "opens_at" | "closes_at" => {
                    let at = local_time(&key, &value)?;
                    fields.insert(key, serde_json::json!(at));
                }
                "name"
                | "budget"
                | "threshold_ratio"
                | "match_ratio"
                | "max_match_per_campaign"
                | "cup"
                | "legal_basis"
                | "office"
                | "responsible_official"
                | "selection_method"
                | "siope_code"
                    if !value.is_empty() =>
                {
                    fields.insert(key, serde_json::Value::String(value));
                }
                _ => {}
            }
        }
        let areas = self
            .areas
            .into_iter()
            .map(serde_json::Value::String)
            .collect();
        fields.insert("eligible_area_ids".into(), serde_json::Value::Array(areas));
        serde_json::from_value(serde_json::Value::Object(fields))
            .map_err(|e| ApiError::validation("fund", e))
    }
}

/// Opens a fund from the admin console, through the API's `CreateFund`.
pub async fn admin_fund(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    body: web::Bytes,
) -> PageResult {
    let f = FundForm::parse(&body);
    let (ctx, principal) = signed_form(&state, &req, &session, &f.csrf_token)?;
    let body = f.create_fund().map_err(|e| ctx.fail(e))?;
    funds::create_fund(&state, principal, body)
        .await
        .map_err(|e| ctx.fail(e))?;
    Ok(redirect("/console/admin/funds?done=fund"))
}

#[derive(Deserialize)]
pub struct FunderForm {
    pub csrf_token: String,
    pub fund_id: String,
    pub name: String,
    pub kind: String,
    pub tax_code: Option<String>,
    pub iban: Option<String>,
    pub budget: String,
}

pub async fn admin_funder(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    form: web::Form<FunderForm>,
) -> PageResult {
    let f = form.into_inner();
    let (ctx, principal) = signed_form(&state, &req, &session, &f.csrf_token)?;
    let body: funders::CreateFunder = serde_json::from_value(serde_json::json!({
        "name": f.name,
        "kind": f.kind,
        "tax_code": filled(f.tax_code),
        "iban": filled(f.iban),
        "budget": f.budget.trim(),
    }))
    .map_err(|e| ctx.fail(ApiError::validation("funder", e)))?;
    funders::add_funder(&state, principal, f.fund_id, body)
        .await
        .map_err(|e| ctx.fail(e))?;
    Ok(redirect("/console/admin/funds?done=funder"))
}

#[derive(Deserialize)]
pub struct MemberForm {
    pub csrf_token: String,
    pub association_id: String,
    pub username: String,
    pub password: String,
    pub email: String,
}

pub async fn admin_member(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    form: web::Form<MemberForm>,
) -> PageResult {
    let f = form.into_inner();
    let (ctx, principal) = signed_form(&state, &req, &session, &f.csrf_token)?;
    let body = associations::CreateMember {
        username: f.username,
        password: f.password,
        email: f.email,
    };
    associations::add_association_member(&state, principal, f.association_id, body)
        .await
        .map_err(|e| ctx.fail(e))?;
    Ok(redirect("/console/admin?done=member"))
}

/// Disables a user or a partner from the admin console: their tokens and sessions stop at once.
pub async fn admin_disable(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    path: web::Path<(String, String)>,
    form: web::Form<CsrfOnly>,
) -> PageResult {
    let (ctx, principal) = signed_form(&state, &req, &session, &form.csrf_token)?;
    let (kind, id) = path.into_inner();
    match kind.as_str() {
        "users" => {
            users::disable_user(&state, principal, id)
                .await
                .map_err(|e| ctx.fail(e))?;
        }
        "partners" => {
            partners::disable_partner(&state, principal, id)
                .await
                .map_err(|e| ctx.fail(e))?;
        }
        _ => return Err(ctx.fail(ApiError::NotFound("page"))),
    }
    Ok(redirect(&format!("/console/admin/{kind}?done=disabled")))
}
