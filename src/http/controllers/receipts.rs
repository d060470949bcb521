//! Donors' tax receipts (D.Lgs. 117/2017 art. 83) and the yearly lists an association needs:
//! its receipts (for the Agenzia delle Entrate's pre-filled returns) and the public money it
//! received (which L. 124/2017 asks it to publish).

use crate::app::AppState;
use crate::app::receipts::{self, ReceiptError, ReceiptFacts, ShownDonor};
use crate::domain::role::Role;
use crate::http::csv_out::CsvOut;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::Principal;
use crate::http::views::{money, ts};
use crate::locale::{self, Lang};
use actix_web::{HttpRequest, HttpResponse, get, web};
use askama::Template;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReceiptParams {
    /// `it` or `en`; default from `Accept-Language`, else Italian.
    #[param(pattern = "^(it|en)$")]
    pub lang: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptAssociation {
    pub id: String,
    pub name: String,
    pub tax_code: String,
    /// RUNTS registration number (null if the association has not recorded it).
    pub runts_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptDonor {
    /// Null once the donor's data was erased, or for the association when the donor gave
    /// anonymously.
    pub name: Option<String>,
    pub tax_code: Option<String>,
}

/// A donation's receipt.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptView {
    /// Gapless per association and year, such as `2026/000042`.
    #[schema(example = "2026/000042")]
    pub number: String,
    pub year: i32,
    pub pledge_id: String,
    pub campaign_id: String,
    pub association: ReceiptAssociation,
    pub donor: ReceiptDonor,
    /// The donated amount.
    pub amount: String,
    /// Given back to the donor so far (a partial refund leaves the receipt valid for the rest).
    pub refunded: String,
    pub currency: String,
    /// When the payment was confirmed.
    pub date: DateTime<Utc>,
    /// The traceable payment method and its reference.
    pub method: String,
    pub causale: String,
    /// True once the money went back to the donor (refund or chargeback); the number is not
    /// reused.
    pub voided: bool,
    pub voided_at: Option<DateTime<Utc>>,
}

impl From<ShownDonor> for ReceiptDonor {
    fn from(d: ShownDonor) -> ReceiptDonor {
        ReceiptDonor {
            name: d.name,
            tax_code: d.tax_code,
        }
    }
}

fn to_api(e: ReceiptError) -> ApiError {
    match e {
        ReceiptError::NotFound => ApiError::NotFound("receipt"),
        ReceiptError::AssociationNotFound => ApiError::NotFound("association"),
        ReceiptError::NotYours => ApiError::Forbidden(
            "this receipt belongs to another partner's or association's donation",
        ),
        ReceiptError::OtherAssociation => ApiError::Forbidden("this is another association's"),
        ReceiptError::RoleMayNotRead => {
            ApiError::Forbidden("your role may not read an association's donations")
        }
        ReceiptError::Invalid(errors) => errors.into(),
        ReceiptError::TooMany => {
            ApiError::conflict("too_many", "more receipts than one list holds; ask support")
        }
        ReceiptError::Db(e) => e.into(),
    }
}

fn method(f: &ReceiptFacts, lang: &str) -> String {
    crate::domain::receipt::method(
        &f.provider,
        f.provider_payment_id.as_deref(),
        f.bank_reference.as_deref(),
        lang,
    )
}

fn view(f: &ReceiptFacts, donor: ReceiptDonor, lang: &str) -> ReceiptView {
    let r = &f.receipt;
    let c = r.currency;
    ReceiptView {
        number: crate::domain::receipt::number(r.year, r.number),
        year: r.year,
        pledge_id: r.pledge_id.clone(),
        campaign_id: r.campaign_id.clone(),
        association: ReceiptAssociation {
            id: r.association_id.clone(),
            name: f.association_name.clone(),
            tax_code: f.association_tax_code.clone(),
            runts_id: f.association_runts_id.clone(),
        },
        donor,
        amount: money(r.amount, &c),
        refunded: money(f.refunded, &c),
        currency: c.to_string(),
        date: ts(r.issued_at),
        method: method(f, lang),
        causale: crate::domain::receipt::causale(&f.campaign_title, lang),
        voided: r.voided_at.is_some(),
        voided_at: r.voided_at.map(ts),
    }
}

/// Labels of the printed receipt, per language.
struct Labels {
    title: &'static str,
    number: &'static str,
    voided: &'static str,
    issuer: &'static str,
    donor: &'static str,
    donation: &'static str,
    name: &'static str,
    tax_code: &'static str,
    runts: &'static str,
    amount: &'static str,
    refunded: &'static str,
    date: &'static str,
    method: &'static str,
    causale: &'static str,
    law: &'static str,
}

const IT: Labels = Labels {
    title: "Ricevuta di erogazione liberale",
    number: "Ricevuta n.",
    voided: "RICEVUTA ANNULLATA: la donazione è stata restituita al donatore. Questa ricevuta non è valida ai fini fiscali.",
    issuer: "Ente del Terzo Settore",
    donor: "Donatore",
    donation: "Erogazione",
    name: "Denominazione / nome",
    tax_code: "Codice fiscale",
    runts: "Iscrizione RUNTS",
    amount: "Importo",
    refunded: "Di cui rimborsato",
    date: "Data",
    method: "Modalità di pagamento",
    causale: "Causale",
    law: "Erogazione liberale ai sensi dell'art. 83 del D.Lgs. 117/2017, effettuata con mezzo di pagamento tracciabile.",
};

const EN: Labels = Labels {
    title: "Receipt for a liberal donation",
    number: "Receipt no.",
    voided: "RECEIPT VOIDED: the donation was returned to the donor. This receipt is not valid for tax purposes.",
    issuer: "Third-sector organisation",
    donor: "Donor",
    donation: "Donation",
    name: "Name",
    tax_code: "Tax code",
    runts: "RUNTS registration",
    amount: "Amount",
    refunded: "Of which refunded",
    date: "Date",
    method: "Payment method",
    causale: "Purpose",
    law: "Liberal donation under art. 83 of Legislative Decree 117/2017, made with a traceable means of payment.",
};

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage<'a> {
    lang: &'a str,
    t: &'a Labels,
    number: String,
    voided: bool,
    association_name: String,
    association_tax_code: String,
    runts_id: String,
    donor_name: String,
    donor_tax_code: String,
    amount: String,
    refunded: String,
    date: String,
    method: String,
    causale: String,
}

/// The receipt's language: `?lang=`, else the browser's, as the pages choose it.
fn language(req: &HttpRequest, asked: Option<&str>) -> &'static str {
    let accept = req
        .headers()
        .get("Accept-Language")
        .and_then(|v| v.to_str().ok());
    crate::http::pages::i18n::negotiate(asked, accept)
}

fn wants_json(req: &HttpRequest) -> bool {
    req.headers()
        .get("Accept")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"))
}

/// A donation's tax receipt (the partner that took the pledge, the association that received
/// it, finance, admin): an HTML page fit to print, or JSON with `Accept: application/json`.
/// 404 until the donation is confirmed. A receipt whose money went back to the donor says it
/// is voided.
#[utoipa::path(
    tag = "receipts",
    params(("id" = String, Path, description = "Pledge id (`plg_…`)"), ReceiptParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The receipt: a printable page, or JSON with `Accept: application/json`", content(
            (String = "text/html"),
            (ReceiptView = "application/json"),
        )),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[get("/pledges/{id}/receipt")]
pub async fn receipt(
    state: web::Data<AppState>,
    principal: Principal,
    req: HttpRequest,
    id: web::Path<String>,
    params: web::Query<ReceiptParams>,
) -> ApiResult<HttpResponse> {
    principal.require(&[Role::Partner, Role::Association, Role::Finance, Role::Admin])?;
    let asked = params.into_inner().lang;
    if asked.as_deref().is_some_and(|l| !matches!(l, "it" | "en")) {
        return Err(ApiError::validation("lang", "must be it or en"));
    }
    let lang = language(&req, asked.as_deref());
    let id = id.into_inner();
    let receipts::ShownReceipt { facts, donor, .. } = receipts::receipt(&state, principal, id)
        .await
        .map_err(to_api)?;
    let v = view(&facts, donor.into(), lang);
    if wants_json(&req) {
        return Ok(HttpResponse::Ok().json(v));
    }
    let dash = |s: Option<String>| s.unwrap_or_else(|| "—".to_string());
    let page = ReceiptPage {
        lang,
        t: if lang == "en" { &EN } else { &IT },
        number: v.number,
        voided: v.voided,
        association_name: v.association.name,
        association_tax_code: v.association.tax_code,
        runts_id: dash(v.association.runts_id),
        donor_name: dash(v.donor.name),
        donor_tax_code: dash(v.donor.tax_code),
        amount: locale::money(
            Lang::from_code(lang),
            facts.receipt.amount,
            facts.receipt.currency,
        ),
        refunded: if facts.refunded > 0 {
            locale::money(
                Lang::from_code(lang),
                facts.refunded,
                facts.receipt.currency,
            )
        } else {
            String::new()
        },
        date: locale::date(Lang::from_code(lang), v.date.date_naive()),
        method: v.method,
        causale: v.causale,
    };
    let html = page
        .render()
        .map_err(|e| ApiError::Internal(format!("receipt page: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'",
        ))
        .body(html))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct YearParams {
    /// The calendar year (default: this year).
    #[param(minimum = 2000, maximum = 2200)]
    pub year: Option<i32>,
}

pub const DONATION_COLUMNS: [&str; 14] = [
    "numero_ricevuta",
    "anno",
    "data",
    "codice_fiscale_donatore",
    "donatore",
    "anonimo",
    "importo",
    "importo_rimborsato",
    "importo_netto",
    "valuta",
    "annullata",
    "modalita_pagamento",
    "progetto",
    "id_donazione",
];

/// The year's receipts of an association, by number (the association, finance, admin): what
/// it sends to the Agenzia delle Entrate for its donors' pre-filled tax returns. Voided receipts
/// stay listed, marked, so the numbering shows no gap. Anonymous donors' names and tax codes
/// are left empty for the association.
#[utoipa::path(
    tag = "receipts",
    params(("id" = String, Path, description = "Association id"), YearParams),
    security(("bearer" = [])),
    responses(
        (status = 200, content_type = "text/csv", body = String),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[get("/associations/{id}/donations.csv")]
pub async fn donations_csv(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    params: web::Query<YearParams>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let list = receipts::donations(&state, principal, id.clone(), params.into_inner().year)
        .await
        .map_err(to_api)?;
    let year = list.year;
    let mut out = CsvOut::new(&DONATION_COLUMNS);
    for shown in list.receipts {
        let (f, donor) = (&shown.facts, shown.donor);
        let r = &f.receipt;
        let c = r.currency;
        out.row([
            crate::domain::receipt::number(r.year, r.number),
            r.year.to_string(),
            r.issued_at.format("%Y-%m-%d").to_string(),
            donor.tax_code.unwrap_or_default(),
            donor.name.unwrap_or_default(),
            shown.anonymous.to_string(),
            money(r.amount, &c),
            money(f.refunded_part(), &c),
            money(f.net_amount(), &c),
            c.to_string(),
            r.voided_at.is_some().to_string(),
            method(f, "it"),
            f.campaign_title.clone(),
            r.pledge_id.clone(),
        ]);
    }
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"donations-{id}-{year}.csv\""),
        ))
        .body(out.finish()?))
}

/// One payment of public money the association received.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicFundingLine {
    /// The public body that paid.
    pub funder_name: String,
    pub funder_tax_code: Option<String>,
    pub fund_id: String,
    pub fund_name: String,
    pub cup: Option<String>,
    pub amount: String,
    pub paid_at: DateTime<Utc>,
    pub causale: String,
    pub settlement_id: String,
    pub campaign_ids: Vec<String>,
}

/// The public money an association received in a year (cash basis), for the publication L.
/// 124/2017 art. 1 c. 125 asks of the association itself.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicFunding {
    pub association_id: String,
    pub year: i32,
    pub currency: String,
    pub total: String,
    pub lines: Vec<PublicFundingLine>,
}

/// Public money paid to an association in a year (the association, finance, admin): each
/// confirmed payment by a public funder, with the paying body, the fund and the date.
#[utoipa::path(
    tag = "receipts",
    params(("id" = String, Path, description = "Association id"), YearParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = PublicFunding),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[get("/associations/{id}/public-funding")]
pub async fn public_funding(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    params: web::Query<YearParams>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let funding = receipts::public_funding(&state, principal, id.clone(), params.into_inner().year)
        .await
        .map_err(to_api)?;
    let currency = funding.currency;
    Ok(HttpResponse::Ok().json(PublicFunding {
        association_id: id,
        year: funding.year,
        currency: currency.to_string(),
        total: money(funding.total, &currency),
        lines: funding
            .payments
            .into_iter()
            .map(|p| PublicFundingLine {
                campaign_ids: p.campaign_ids,
                amount: money(p.amount, &currency),
                causale: p.causale,
                paid_at: ts(p.paid_at),
                funder_name: p.funder_name,
                funder_tax_code: p.funder_tax_code,
                fund_id: p.fund_id,
                fund_name: p.fund_name,
                cup: p.cup,
                settlement_id: p.settlement_id,
            })
            .collect(),
    }))
}
