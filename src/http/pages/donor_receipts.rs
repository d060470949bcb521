//! Donors' own receipts: `/receipts` asks for the address and sends a one-time link; the link's
//! page asks for a click (mail scanners open links; only a person's click spends it) and then
//! shows every receipt, printable.

use super::{Ctx, PageResult, check_csrf, context, html};
use crate::app::AppState;
use crate::app::receipt_links::{self as uc, LinkError};
use crate::app::receipts::ReceiptFacts;
use crate::http::error::{ApiError, FieldError};
use actix_session::Session;
use actix_web::{HttpRequest, web};
use askama::Template;
use serde::Deserialize;

/// One receipt as the donor's page prints it.
pub struct DonorReceipt {
    pub number: String,
    pub date: String,
    pub association: String,
    pub association_tax_code: String,
    pub runts_id: String,
    pub donor: String,
    pub donor_tax_code: String,
    pub campaign: String,
    pub amount: String,
    pub refunded: String,
    pub method: String,
    pub causale: String,
    pub voided: bool,
}

#[derive(Template)]
#[template(path = "my_receipts.html")]
struct MyReceiptsPage {
    ctx: Ctx,
    /// `ask`, `sent`, `confirm`, `list` or `gone`.
    step: &'static str,
    token: String,
    receipts: Vec<DonorReceipt>,
}

fn page(ctx: Ctx, step: &'static str, token: String, receipts: Vec<DonorReceipt>) -> PageResult {
    html(MyReceiptsPage {
        ctx,
        step,
        token,
        receipts,
    })
}

fn link_error(e: LinkError) -> ApiError {
    match e {
        LinkError::Invalid(errors) => ApiError::Validation(
            errors
                .into_iter()
                .map(|i| FieldError::new(i.field, i.message))
                .collect(),
        ),
        LinkError::Gone => ApiError::NotFound("link"),
        LinkError::Db(e) => e.into(),
    }
}

pub async fn ask(state: web::Data<AppState>, req: HttpRequest, session: Session) -> PageResult {
    let (ctx, _) = context(&state, &req, &session);
    page(ctx, "ask", String::new(), Vec::new())
}

#[derive(Deserialize)]
pub struct AskForm {
    pub csrf_token: String,
    pub email: String,
}

pub async fn send_link(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    form: web::Form<AskForm>,
) -> PageResult {
    let (ctx, _) = context(&state, &req, &session);
    let form = form.into_inner();
    check_csrf(&ctx, &form.csrf_token)?;
    let ip = crate::http::extract::client_key(&req, &state.config.trusted_proxies);
    if let Err(retry) = state.receipt_link_limiter.check(&ip) {
        return Err(ctx.fail(ApiError::RateLimited(retry)));
    }
    uc::request(&state, form.email)
        .await
        .map_err(|e| ctx.fail(link_error(e)))?;
    // The same answer whether the address gave or not.
    page(ctx, "sent", String::new(), Vec::new())
}

pub async fn confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    token: web::Path<String>,
) -> PageResult {
    let (ctx, _) = context(&state, &req, &session);
    page(ctx, "confirm", token.into_inner(), Vec::new())
}

#[derive(Deserialize)]
pub struct OpenForm {
    pub csrf_token: String,
}

fn shown(ctx: &Ctx, f: ReceiptFacts) -> DonorReceipt {
    let t = &ctx.t;
    let r = &f.receipt;
    let dash = |s: Option<String>| s.unwrap_or_else(|| "—".to_string());
    DonorReceipt {
        number: crate::domain::receipt::number(r.year, r.number),
        date: t.date(r.issued_at.date()),
        association: f.association_name.clone(),
        association_tax_code: f.association_tax_code.clone(),
        runts_id: dash(f.association_runts_id.clone()),
        donor: dash(f.donor_name.clone()),
        donor_tax_code: dash(f.donor_tax_code.clone()),
        campaign: f.campaign_title.clone(),
        amount: t.money(r.amount, &r.currency),
        refunded: if f.refunded > 0 {
            t.money(f.refunded_part(), &r.currency)
        } else {
            String::new()
        },
        method: crate::domain::receipt::method(
            &f.provider,
            f.provider_payment_id.as_deref(),
            f.bank_reference.as_deref(),
            t.lang,
        ),
        causale: crate::domain::receipt::causale(&f.campaign_title, t.lang),
        voided: r.voided_at.is_some(),
    }
}

pub async fn open(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    token: web::Path<String>,
    form: web::Form<OpenForm>,
) -> PageResult {
    let (ctx, _) = context(&state, &req, &session);
    check_csrf(&ctx, &form.into_inner().csrf_token)?;
    match uc::open(&state, token.into_inner()).await {
        Ok(list) => {
            let receipts = list.into_iter().map(|f| shown(&ctx, f)).collect();
            page(ctx, "list", String::new(), receipts)
        }
        Err(LinkError::Gone) => {
            let mut res = page(ctx, "gone", String::new(), Vec::new())?;
            *res.status_mut() = actix_web::http::StatusCode::GONE;
            Ok(res)
        }
        Err(e) => Err(ctx.fail(link_error(e))),
    }
}
