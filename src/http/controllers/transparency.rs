//! The transparency register (D.Lgs. 33/2013 art. 26-27): the public funders' awards, public,
//! as JSON or as CSV with stable Italian column names (documented in `docs/public-finance.md`).

use crate::app::AppState;
use crate::app::transparency::{self, RegisterLine};
use crate::http::csv_out::CsvOut;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Page, check_limit};
use crate::http::views::{money, ts};
use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RegisterParams {
    /// Only awards of this year.
    #[param(minimum = 2000, maximum = 2200)]
    pub year: Option<i32>,
    /// Only awards of this fund.
    pub fund_id: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Beneficiary {
    pub name: String,
    pub tax_code: String,
}

/// One published award.
#[derive(Debug, Serialize, ToSchema)]
pub struct AwardView {
    pub id: String,
    pub year: i32,
    /// When the match was committed.
    pub date: DateTime<Utc>,
    pub published_at: DateTime<Utc>,
    pub beneficiary: Beneficiary,
    pub amount: String,
    pub currency: String,
    pub legal_basis: String,
    pub office: String,
    pub responsible_official: String,
    pub selection_method: String,
    pub fund_id: String,
    pub fund_name: String,
    pub cup: Option<String>,
    /// The public body that pays.
    pub funder_id: String,
    pub funder_name: String,
    pub campaign_id: String,
    pub campaign_title: String,
    /// The funded project.
    pub campaign_url: String,
    /// `awarded`, `reduced` (less is due than was awarded) or `revoked`.
    pub status: crate::domain::grant::AwardStatus,
    /// Paid to the beneficiary so far, net of anything paid back.
    pub paid: String,
}

pub type AwardPage = Page<AwardView>;

/// The CSV columns, in order (stable: other offices' tools read them).
pub const REGISTER_COLUMNS: [&str; 19] = [
    "id_attribuzione",
    "anno",
    "data_attribuzione",
    "data_pubblicazione",
    "beneficiario",
    "codice_fiscale_beneficiario",
    "importo",
    "valuta",
    "norma_titolo_attribuzione",
    "ufficio",
    "responsabile_procedimento",
    "modalita_individuazione_beneficiario",
    "fondo",
    "codice_cup",
    "ente_erogatore",
    "progetto",
    "link_progetto",
    "stato",
    "pagato",
];

fn view(line: RegisterLine, base: &str) -> AwardView {
    let a = line.award;
    AwardView {
        campaign_url: format!("{base}/v1/campaigns/{}", a.campaign_id),
        status: line.status,
        paid: money(line.paid, &a.currency),
        amount: money(a.amount, &a.currency),
        currency: a.currency.to_string(),
        id: a.id,
        year: a.year,
        date: ts(a.awarded_at),
        published_at: ts(a.published_at.unwrap_or(a.awarded_at)),
        beneficiary: Beneficiary {
            name: a.beneficiary_name,
            tax_code: a.beneficiary_tax_code,
        },
        legal_basis: a.legal_basis.unwrap_or_default(),
        office: a.office.unwrap_or_default(),
        responsible_official: a.responsible_official.unwrap_or_default(),
        selection_method: a.selection_method.unwrap_or_default(),
        fund_id: a.fund_id,
        fund_name: line.fund_name,
        cup: line.cup,
        funder_id: a.funder_id,
        funder_name: line.funder_name,
        campaign_id: a.campaign_id,
        campaign_title: line.campaign_title,
    }
}

/// The published awards of public funders, newest first (public). JSON by default; CSV with
/// `Accept: text/csv` (one page per request, same `limit` and `cursor`; the next page's cursor
/// in the `Cofund-Next-Cursor` header). Private funders' grants are not listed.
#[utoipa::path(
    tag = "transparency",
    params(RegisterParams),
    responses(
        (status = 200, description = "Published awards: JSON, or CSV with `Accept: text/csv`", content(
            (Page<AwardView> = "application/json"),
            (String = "text/csv"),
        )),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[get("/transparency/awards")]
pub async fn awards(
    state: web::Data<AppState>,
    req: HttpRequest,
    params: web::Query<RegisterParams>,
) -> ApiResult<HttpResponse> {
    let params = params.into_inner();
    let limit = check_limit(params.limit)?;
    if params.year.is_some_and(|y| !(2000..=2200).contains(&y)) {
        return Err(ApiError::validation(
            "year",
            "must be between 2000 and 2200",
        ));
    }
    let (year, fund_id, cursor) = (params.year, params.fund_id, params.cursor);
    let rows = state
        .db
        .read(move |conn| -> ApiResult<Vec<RegisterLine>> {
            Ok(transparency::register(
                conn,
                year,
                fund_id.as_deref(),
                cursor.as_deref(),
                limit,
            )?)
        })
        .await?;
    // Links come from COFUND_PUBLIC_URL only: no request header (Host, X-Forwarded-*) moves
    // them, so a forged one cannot put another site's address in the public register.
    let base = state.config.public_url.as_str();
    let page = Page::from_rows(rows, limit, |l| l.award.id.clone(), |l| view(l, base));
    let wants_csv = crate::http::csv_out::wants_csv(&req);
    if !wants_csv {
        return Ok(HttpResponse::Ok().json(page));
    }
    let mut out = CsvOut::new(&REGISTER_COLUMNS);
    for a in &page.data {
        out.row([
            a.id.clone(),
            a.year.to_string(),
            a.date.format("%Y-%m-%d").to_string(),
            a.published_at.format("%Y-%m-%d").to_string(),
            a.beneficiary.name.clone(),
            a.beneficiary.tax_code.clone(),
            a.amount.clone(),
            a.currency.clone(),
            a.legal_basis.clone(),
            a.office.clone(),
            a.responsible_official.clone(),
            a.selection_method.clone(),
            a.fund_name.clone(),
            a.cup.clone().unwrap_or_default(),
            a.funder_name.clone(),
            a.campaign_title.clone(),
            a.campaign_url.clone(),
            a.status.to_string(),
            a.paid.clone(),
        ]);
    }
    let mut response = HttpResponse::Ok();
    response.content_type("text/csv; charset=utf-8");
    if let Some(next) = &page.next_cursor {
        response.insert_header(("Cofund-Next-Cursor", next.clone()));
    }
    Ok(response.body(out.finish()?))
}
