//! Settlement batches: the finance office pays committed match funds. A draft batch holds one
//! item per association (IBAN and amount); a commitment is in at most one open batch, enforced
//! by a conditional update, so concurrent batch creation cannot take it twice.

use crate::app::AppState;
use crate::app::settlements::{self as app_settlements, Batch, bank_file, reads, treasury};
use crate::db::models::MatchPartRow;
use crate::domain::matching::MatchState;
use crate::domain::role::Role;
use crate::http::error::{ApiError, ApiResult, FieldError};
use crate::http::extract::{ApiJson, Page, Principal, check_limit};
use crate::http::views::{from_client, money, ts};
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, ToSchema)]
pub struct CommitmentView {
    /// The commitment's id is its campaign's id.
    pub id: String,
    pub campaign_id: String,
    pub campaign_title: String,
    pub association_id: String,
    pub association_name: String,
    pub amount: String,
    pub currency: String,
    /// `committed` (payable), `in_batch` (every unpaid part in a draft batch) or `settled`.
    pub status: String,
    /// The batch of the first funder's part (with one funder: the commitment's batch).
    pub settlement_id: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    /// Each funder's part: who pays what, and in which batch.
    pub parts: Vec<CommitmentPartView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommitmentPartView {
    pub funder_id: String,
    pub amount: String,
    pub settlement_id: Option<String>,
    pub settled: bool,
    /// A public funder's part: its award in the transparency register (`published` parts are
    /// payable; `unpublished` ones wait for the fund's register fields). Null for private
    /// funders.
    pub award: Option<String>,
}

pub type CommitmentPage = Page<CommitmentView>;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CommitmentParams {
    /// `committed` (default: payable, in a batch or not), `settled`, or `all`.
    #[param(pattern = "^(committed|settled|all)$")]
    pub status: Option<String>,
    pub association_id: Option<String>,
    /// Only commitments with a part paid by this funder.
    pub funder_id: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Match commitments of a fund (finance, admin).
#[utoipa::path(
    tag = "finance",
    params(("id" = String, Path, description = "Fund id"), CommitmentParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Page<CommitmentView>),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[get("/funds/{id}/commitments")]
pub async fn commitments(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    params: web::Query<CommitmentParams>,
) -> ApiResult<HttpResponse> {
    let page = list_commitments(&state, principal, id.into_inner(), params.into_inner()).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// A fund's commitments with their funders' parts, for the API and the console alike.
pub(crate) async fn list_commitments(
    state: &AppState,
    principal: Principal,
    fund_id: String,
    params: CommitmentParams,
) -> ApiResult<Page<CommitmentView>> {
    principal.require(&[Role::Finance, Role::Admin])?;
    let limit = check_limit(params.limit)?;
    let states = match params.status.as_deref().unwrap_or("committed") {
        "committed" => vec![MatchState::Committed],
        "settled" => vec![MatchState::Settled],
        "all" => vec![MatchState::Committed, MatchState::Settled],
        _ => {
            return Err(ApiError::validation(
                "status",
                "must be committed, settled or all",
            ));
        }
    };
    let filter = reads::CommitmentFilter {
        fund_id,
        states,
        association_id: params.association_id,
        funder_id: params.funder_id,
        after: params.cursor.unwrap_or_default(),
        limit: limit + 1,
    };
    let rows = reads::commitments(state, filter)
        .await
        .map_err(settlement_error)?;
    Ok(Page::from_rows(
        rows,
        limit,
        |c| c.campaign.id.clone(),
        |reads::Commitment {
             campaign: c,
             association_name,
             parts,
             awards,
         }| {
            let mine: Vec<&MatchPartRow> = parts.iter().filter(|p| p.amount > 0).collect();
            let all_in_batches = mine.iter().all(|p| p.settled || p.settlement_id.is_some());
            CommitmentView {
                status: match c.match_status {
                    MatchState::Committed if !mine.is_empty() && all_in_batches => {
                        "in_batch".into()
                    }
                    s => s.to_string(),
                },
                settlement_id: mine.first().and_then(|p| p.settlement_id.clone()),
                parts: mine
                    .iter()
                    .map(|p| CommitmentPartView {
                        funder_id: p.funder_id.clone(),
                        amount: money(p.amount, &c.currency),
                        settlement_id: p.settlement_id.clone(),
                        settled: p.settled,
                        award: awards.iter().find(|(fid, _)| *fid == p.funder_id).map(
                            |(_, published)| {
                                if *published {
                                    "published"
                                } else {
                                    "unpublished"
                                }
                                .to_string()
                            },
                        ),
                    })
                    .collect(),
                amount: money(c.match_amount, &c.currency),
                id: c.id.clone(),
                campaign_id: c.id,
                campaign_title: c.title,
                association_id: c.association_id,
                association_name,
                currency: c.currency.to_string(),
                decided_at: c.decided_at.map(ts),
            }
        },
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSettlement {
    pub fund_id: String,
    /// The funder that pays the batch; may be left out when the fund has one funder.
    pub funder_id: Option<String>,
    /// Commitments (campaign ids) to pay; default: every committed match of the funder not in
    /// a batch.
    #[schema(max_items = 10000)]
    pub commitment_ids: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SettlementLineView {
    pub campaign_id: String,
    /// The grant this line pays a tranche of.
    pub grant_id: String,
    /// `advance`, `balance` or `full`.
    pub tranche: crate::domain::grant::TrancheKind,
    pub amount: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SettlementItemView {
    pub id: String,
    pub association_id: String,
    pub creditor_name: String,
    pub iban: String,
    pub bic: Option<String>,
    pub amount: String,
    pub end_to_end_id: String,
    pub remittance: String,
    pub status: String,
    pub commitments: Vec<SettlementLineView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SettlementView {
    pub id: String,
    pub fund_id: String,
    /// The funder that pays the batch (its debtor account).
    pub funder_id: String,
    /// `draft`, `confirmed` or `cancelled`.
    pub status: String,
    pub currency: String,
    pub total: String,
    pub message_id: String,
    pub bank_reference: Option<String>,
    pub paid_at: Option<DateTime<Utc>>,
    pub items: Vec<SettlementItemView>,
    pub created_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

pub type SettlementPage = Page<SettlementView>;

fn view(batch: Batch) -> SettlementView {
    let Batch {
        settlement: s,
        items,
        lines,
    } = batch;
    let c = s.currency;
    SettlementView {
        items: items
            .into_iter()
            .map(|i| SettlementItemView {
                commitments: lines
                    .iter()
                    .filter(|l| l.item_id == i.id)
                    .map(|l| SettlementLineView {
                        campaign_id: l.campaign_id.clone(),
                        grant_id: crate::domain::grant::grant_id_of(&l.campaign_id),
                        tranche: l.tranche,
                        amount: money(l.amount, &c),
                    })
                    .collect(),
                amount: money(i.amount, &c),
                id: i.id,
                association_id: i.association_id,
                creditor_name: i.creditor_name,
                iban: i.iban,
                bic: i.bic,
                end_to_end_id: i.end_to_end_id,
                remittance: i.remittance,
                status: i.status.to_string(),
            })
            .collect(),
        total: money(s.total, &c),
        id: s.id,
        fund_id: s.fund_id,
        funder_id: s.funder_id,
        status: s.status.to_string(),
        currency: s.currency.to_string(),
        message_id: s.message_id,
        bank_reference: s.bank_reference,
        paid_at: s.paid_at.map(ts),
        created_at: ts(s.created_at),
        confirmed_at: s.confirmed_at.map(ts),
        cancelled_at: s.cancelled_at.map(ts),
    }
}

/// Create a draft settlement batch of one funder's parts of committed matches (finance, admin).
///
/// A batch belongs to one funder: `funder_id` may be left out only when the fund has one. 422
/// when `fund_id` names no fund, `funder_id` is not one of its funders (or is missing), or
/// `commitment_ids` names campaigns that are not the fund's; 409 when a named commitment has
/// no unpaid part of this funder outside an open batch. A public funder's batch takes only
/// awards published in the transparency register: 409 `award_unpublished` when a named
/// commitment's award (or, by default, every payable one) is not published yet.
#[utoipa::path(
    tag = "finance",
    request_body = CreateSettlement,
    security(("bearer" = [])),
    responses(
        (status = 201, body = SettlementView),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, description = "A commitment is not payable, already in an open batch, or (public funders) its award is not published", body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[post("/settlements")]
pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    body: ApiJson<CreateSettlement>,
) -> ApiResult<HttpResponse> {
    let v = create_settlement(&state, principal, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(v))
}

/// The batch-creation use case (`app::settlements::create`), for the API and the console.
pub(crate) async fn create_settlement(
    state: &AppState,
    principal: Principal,
    body: CreateSettlement,
) -> ApiResult<SettlementView> {
    principal.require(&[Role::Finance, Role::Admin])?;
    let batch = app_settlements::NewBatch {
        fund_id: body.fund_id,
        funder_id: body.funder_id,
        commitment_ids: body.commitment_ids,
    };
    let created = app_settlements::create_batch(state, principal, batch)
        .await
        .map_err(settlement_error)?;
    Ok(view(created))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SettlementListParams {
    pub fund_id: Option<String>,
    /// Only the batches this funder pays.
    pub funder_id: Option<String>,
    pub status: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// List settlement batches (finance, admin).
#[utoipa::path(
    tag = "finance",
    params(SettlementListParams),
    security(("bearer" = [])),
    responses((status = 200, body = Page<SettlementView>), (status = 403, body = crate::http::error::Problem))
)]
#[get("/settlements")]
pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    params: web::Query<SettlementListParams>,
) -> ApiResult<HttpResponse> {
    principal.require(&[Role::Finance, Role::Admin])?;
    let params = params.into_inner();
    let limit = check_limit(params.limit)?;
    let filter = reads::BatchFilter {
        fund_id: params.fund_id,
        funder_id: params.funder_id,
        status: params.status,
        after: params.cursor.unwrap_or_default(),
        limit: limit + 1,
    };
    let loaded = reads::batches(&state, filter)
        .await
        .map_err(settlement_error)?;
    Ok(HttpResponse::Ok().json(Page::from_rows(
        loaded,
        limit,
        |b| b.settlement.id.clone(),
        view,
    )))
}

/// Read a settlement batch (finance, admin).
#[utoipa::path(
    tag = "finance",
    params(("id" = String, Path, description = "Settlement id (`stl_…`)")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = SettlementView),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
    )
)]
#[get("/settlements/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    principal.require(&[Role::Finance, Role::Admin])?;
    let id = id.into_inner();
    let loaded = reads::batch(&state, id).await.map_err(settlement_error)?;
    Ok(HttpResponse::Ok().json(view(loaded)))
}

/// The batch as an ISO 20022 pain.001.001.03 SEPA credit-transfer file (finance, admin), with
/// the batch's funder as the debtor: a funder's own account, or for a public funder without
/// one the configured city account. Not available for cancelled batches.
#[utoipa::path(
    tag = "finance",
    params(("id" = String, Path, description = "Settlement id")),
    security(("bearer" = [])),
    responses(
        (status = 200, content_type = "application/xml", body = String),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, description = "The batch was cancelled, or the city's debtor account is still the example one", body = crate::http::error::Problem),
    )
)]
#[get("/settlements/{id}/sepa.xml")]
pub async fn sepa_xml(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    principal.require(&[Role::Finance, Role::Admin])?;
    let (name, xml) = sepa_file(&state, id.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/xml; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{name}\""),
        ))
        .body(xml))
}

/// A batch's pain.001 file and its name: for the API and the console alike (the caller has
/// checked the role).
pub(crate) async fn sepa_file(state: &AppState, id: String) -> ApiResult<(String, String)> {
    bank_file::pain001(state, id)
        .await
        .map_err(settlement_error)
}

/// The batch's items as CSV (finance, admin).
#[utoipa::path(
    tag = "finance",
    params(("id" = String, Path, description = "Settlement id")),
    security(("bearer" = [])),
    responses(
        (status = 200, content_type = "text/csv", body = String),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
    )
)]
#[get("/settlements/{id}/items.csv")]
pub async fn items_csv(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    principal.require(&[Role::Finance, Role::Admin])?;
    let id = id.into_inner();
    let Batch {
        settlement: s,
        items,
        lines,
    } = reads::batch(&state, id).await.map_err(settlement_error)?;
    let mut out = crate::http::csv_out::CsvOut::new(&[
        "item_id",
        "association_id",
        "creditor_name",
        "iban",
        "bic",
        "amount",
        "currency",
        "end_to_end_id",
        "status",
        "campaign_ids",
        "remittance",
    ]);
    for i in items {
        let campaigns: Vec<&str> = lines
            .iter()
            .filter(|l| l.item_id == i.id)
            .map(|l| l.campaign_id.as_str())
            .collect();
        let row = [
            i.id.clone(),
            i.association_id.clone(),
            i.creditor_name.clone(),
            i.iban.clone(),
            i.bic.clone().unwrap_or_default(),
            money(i.amount, &s.currency),
            s.currency.to_string(),
            i.end_to_end_id.clone(),
            i.status.to_string(),
            campaigns.join(" "),
            i.remittance.clone(),
        ];
        out.row(row);
    }
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .body(out.finish()?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmSettlement {
    /// The bank's reference for the transfer (1–140 characters).
    #[schema(min_length = 1, max_length = 140, pattern = "\\S")]
    pub bank_reference: String,
    pub paid_at: DateTime<Utc>,
}

/// Mark a batch paid: its commitments become `settled` and the ledger moves committed →
/// settled. Idempotent: confirming a confirmed batch returns it unchanged (finance, admin).
/// Four eyes: the user who created the batch cannot confirm it (403 `same_user`).
///
/// 422 when `paid_at` is in the future.
#[utoipa::path(
    tag = "finance",
    params(("id" = String, Path, description = "Settlement id")),
    request_body = ConfirmSettlement,
    security(("bearer" = [])),
    responses(
        (status = 200, body = SettlementView),
        (status = 403, description = "Not finance or admin (`forbidden`), or the batch's own creator (`same_user`: four eyes)", body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, description = "Cancelled, or confirmed with another bank reference", body = crate::http::error::Problem),
        (status = 422, body = crate::http::error::Problem),
    )
)]
#[post("/settlements/{id}/confirm")]
pub async fn confirm(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: ApiJson<ConfirmSettlement>,
) -> ApiResult<HttpResponse> {
    let v = confirm_settlement(&state, principal, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(v))
}

/// The batch-confirmation use case, for the API and the console alike.
pub(crate) async fn confirm_settlement(
    state: &AppState,
    principal: Principal,
    id: String,
    body: ConfirmSettlement,
) -> ApiResult<SettlementView> {
    principal.require(&[Role::Finance, Role::Admin])?;
    let reference = body.bank_reference.trim().to_string();
    if reference.is_empty() || reference.chars().count() > 140 {
        return Err(ApiError::validation("bank_reference", "1–140 characters"));
    }
    if body.paid_at > Utc::now() + chrono::Duration::days(1) {
        return Err(ApiError::validation("paid_at", "must not be in the future"));
    }
    let confirmed =
        app_settlements::confirm_batch(state, principal, id, reference, from_client(body.paid_at))
            .await
            .map_err(settlement_error)?;
    Ok(view(confirmed))
}

/// Cancel a draft batch: its commitments return to `committed` (finance, admin).
#[utoipa::path(
    tag = "finance",
    params(("id" = String, Path, description = "Settlement id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = SettlementView),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, description = "Already confirmed", body = crate::http::error::Problem),
    )
)]
#[post("/settlements/{id}/cancel")]
pub async fn cancel(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    principal.require(&[Role::Finance, Role::Admin])?;
    let cancelled = app_settlements::cancel_batch(&state, principal, id.into_inner())
        .await
        .map_err(settlement_error)?;
    Ok(HttpResponse::Ok().json(view(cancelled)))
}

/// The answer to a batch that did not move.
fn settlement_error(e: app_settlements::SettlementError) -> ApiError {
    use app_settlements::SettlementError as E;
    match e {
        E::NotFound => ApiError::NotFound("settlement"),
        E::ConfirmedElsewhere => ApiError::conflict("settlement_already_confirmed", e.to_string()),
        E::Cancelled => ApiError::conflict("settlement_cancelled", e.to_string()),
        E::Confirmed => ApiError::conflict("settlement_confirmed", e.to_string()),
        E::Moved => ApiError::conflict("concurrent_update", e.to_string()),
        e @ E::SameUser => ApiError::refused("same_user", e.to_string()),
        E::Books(what) => ApiError::Internal(what),
        E::Invalid(errors) => ApiError::Validation(
            errors
                .into_iter()
                .map(|i| FieldError::new(i.field, i.message))
                .collect(),
        ),
        E::NotPayable(detail) => ApiError::conflict("commitment_not_payable", detail),
        E::Unpublished(detail) => ApiError::conflict("award_unpublished", detail),
        E::FundNotFound => ApiError::NotFound("fund"),
        E::FunderNotFound => ApiError::NotFound("funder"),
        e @ E::NotPublicFunder => ApiError::conflict("not_public_funder", e.to_string()),
        e @ E::DebtorNotConfigured => ApiError::conflict("debtor_not_configured", e.to_string()),
        E::Db(e) => e.into(),
    }
}

/// One beneficiary of a public funder's batch, with the fields of a *mandato di pagamento*
/// named after the OPI ones (mapping in `docs/public-finance.md`).
#[derive(Debug, Serialize, ToSchema)]
pub struct TreasuryLine {
    /// 1, 2, … in the batch.
    pub progressivo_beneficiario: i32,
    pub anagrafica_beneficiario: String,
    pub codice_fiscale_beneficiario: String,
    pub iban: String,
    pub bic: Option<String>,
    /// Decimal with a dot, two places: `1234.50`.
    pub importo_beneficiario: String,
    /// At most 140 characters: the fund, its CUP, the campaigns.
    pub causale: String,
    pub codice_cup: Option<String>,
    /// The fund's SIOPE code.
    pub codice_cgu: Option<String>,
    pub motivo_esclusione_cig_siope: String,
    /// The act the awards rest on (the fund's legal basis as published).
    pub estremi_provvedimento_autorizzativo: String,
    /// The awards in the transparency register this payment settles.
    pub id_attribuzioni: Vec<String>,
    pub data_esecuzione_pagamento: chrono::NaiveDate,
    /// The SEPA end-to-end id of the same payment, for reconciling the treasurer's report.
    pub identificativo_end_to_end: String,
    pub campaign_ids: Vec<String>,
}

/// A public funder's batch as its treasury's payment orders need it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TreasuryExport {
    pub settlement_id: String,
    pub fund_id: String,
    pub funder_id: String,
    /// The paying body.
    pub ente: String,
    pub currency: String,
    pub numero_beneficiari: i32,
    /// The sum of the lines: the batch's total.
    pub importo_totale: String,
    pub lines: Vec<TreasuryLine>,
}

pub const TREASURY_COLUMNS: [&str; 16] = [
    "progressivo_beneficiario",
    "anagrafica_beneficiario",
    "codice_fiscale_beneficiario",
    "iban",
    "bic",
    "importo_beneficiario",
    "causale",
    "codice_cup",
    "codice_cgu",
    "motivo_esclusione_cig_siope",
    "estremi_provvedimento_autorizzativo",
    "id_attribuzioni",
    "data_esecuzione_pagamento",
    "identificativo_end_to_end",
    "campaign_ids",
    "valuta",
];

async fn treasury_export(state: &AppState, id: String) -> ApiResult<TreasuryExport> {
    let t = state
        .db
        .read(move |conn| treasury::orders(conn, &id))
        .await
        .map_err(settlement_error)?;
    let c = t.settlement.currency;
    let lines = t
        .orders
        .into_iter()
        .enumerate()
        .map(|(n, o)| {
            let names: Vec<&str> = o.titles.iter().map(String::as_str).collect();
            TreasuryLine {
                progressivo_beneficiario: n as i32 + 1,
                anagrafica_beneficiario: o.item.creditor_name,
                codice_fiscale_beneficiario: o.tax_code,
                iban: o.item.iban,
                bic: o.item.bic,
                importo_beneficiario: money(o.item.amount, &c),
                causale: crate::domain::treasury::causale(
                    &t.fund.name,
                    t.fund.cup.as_deref(),
                    &names,
                ),
                codice_cup: t.fund.cup.clone(),
                codice_cgu: t.fund.siope_code.clone(),
                motivo_esclusione_cig_siope: crate::domain::treasury::CIG_EXCLUSION_GRANT
                    .to_string(),
                estremi_provvedimento_autorizzativo: o.acts.join("; "),
                id_attribuzioni: o.award_ids,
                data_esecuzione_pagamento: t.execution_date,
                identificativo_end_to_end: o.item.end_to_end_id,
                campaign_ids: o.campaign_ids,
            }
        })
        .collect::<Vec<_>>();
    Ok(TreasuryExport {
        numero_beneficiari: lines.len() as i32,
        importo_totale: money(t.total, &c),
        settlement_id: t.settlement.id,
        fund_id: t.settlement.fund_id,
        funder_id: t.settlement.funder_id,
        ente: t.funder.name,
        currency: c.to_string(),
        lines,
    })
}

/// A public funder's batch as payment-order lines for the city's treasury (finance, admin):
/// one line per beneficiary with the OPI fields. 409 for a private funder's batch (use
/// `sepa.xml`) or a cancelled one.
#[utoipa::path(
    tag = "finance",
    params(("id" = String, Path, description = "Settlement id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = TreasuryExport),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, description = "A private funder's batch, or a cancelled one", body = crate::http::error::Problem),
    )
)]
#[get("/settlements/{id}/treasury.json")]
pub async fn treasury_json(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    principal.require(&[Role::Finance, Role::Admin])?;
    let id = id.into_inner();
    let export = treasury_export(&state, id).await?;
    Ok(HttpResponse::Ok().json(export))
}

/// The same lines as `treasury.json`, as CSV for the accounting software's import (finance,
/// admin). Column names follow the OPI fields; amounts are decimals with a dot.
#[utoipa::path(
    tag = "finance",
    params(("id" = String, Path, description = "Settlement id")),
    security(("bearer" = [])),
    responses(
        (status = 200, content_type = "text/csv", body = String),
        (status = 403, body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 409, description = "A private funder's batch, or a cancelled one", body = crate::http::error::Problem),
    )
)]
#[get("/settlements/{id}/treasury.csv")]
pub async fn treasury_csv(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    principal.require(&[Role::Finance, Role::Admin])?;
    let id = id.into_inner();
    let csv = treasury_csv_file(&state, id.clone()).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"treasury-{id}.csv\""),
        ))
        .body(csv))
}

/// A public funder's batch as treasury CSV: for the API and the console alike (the caller has
/// checked the role).
pub(crate) async fn treasury_csv_file(state: &AppState, id: String) -> ApiResult<String> {
    let export = treasury_export(state, id).await?;
    let mut out = crate::http::csv_out::CsvOut::new(&TREASURY_COLUMNS);
    for l in &export.lines {
        out.row([
            l.progressivo_beneficiario.to_string(),
            l.anagrafica_beneficiario.clone(),
            l.codice_fiscale_beneficiario.clone(),
            l.iban.clone(),
            l.bic.clone().unwrap_or_default(),
            l.importo_beneficiario.clone(),
            l.causale.clone(),
            l.codice_cup.clone().unwrap_or_default(),
            l.codice_cgu.clone().unwrap_or_default(),
            l.motivo_esclusione_cig_siope.clone(),
            l.estremi_provvedimento_autorizzativo.clone(),
            l.id_attribuzioni.join(" "),
            l.data_esecuzione_pagamento.format("%Y-%m-%d").to_string(),
            l.identificativo_end_to_end.clone(),
            l.campaign_ids.join(" "),
            export.currency.clone(),
        ]);
    }
    out.finish()
}
