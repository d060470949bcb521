//! Crowd payouts: what donors gave a campaign reaches its association once the campaign
//! succeeded, all or nothing (spec "Crowd payouts"). The crowd ledger (`db::crowd::post`)
//! follows the campaign's counted money in the transaction that changes it; the payout job
//! sends what is payable (a provider transfer to an active connected account) and takes back
//! what donors got refunded after a payout (a transfer reversal; what cannot be reversed is
//! owed by the association). Associations without an active account are paid by bank batches
//! (`payout_batches`). ADR 0017.

use crate::app::AppState;
use crate::auth::Principal;
use crate::clock::now;
use crate::db::crowd::{
    self, EntryRefs, PayoutAccountRow, PayoutBatchRow, PayoutRow, PositionRow, ReversalRow,
};
use crate::db::models::{AssociationRow, CampaignRow};
use crate::db::schema::{
    associations, campaigns, crowd_positions, payout_accounts, payout_reversals, payouts,
};
use crate::db::{DbConnection, DbError, write_tx};
use crate::domain::campaign::CampaignStatus;
use crate::domain::crowd::{
    CrowdMovement, PayoutAccountStatus, PayoutBatchStatus, PayoutMethod, PayoutStatus,
    ReversalStatus,
};
use crate::domain::ids::PayoutBatchId;
use crate::domain::role::Role;
use crate::providers::{ProviderError, TransferRequest};
use diesel::prelude::*;
use diesel::result::Error as DieselError;

#[derive(Debug, thiserror::Error)]
pub enum PayoutError {
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("your role may not do this")]
    Forbidden,
    #[error("the request has invalid fields")]
    Invalid(Vec<crate::app::Invalid>),
    /// The state does not allow this now (409, with a machine-readable code).
    #[error("{1}")]
    Conflict(&'static str, String),
    /// Four eyes: the user who created a batch does not confirm it.
    #[error(
        "the user who created this batch cannot confirm it: another finance user (or an admin) must"
    )]
    SameUser,
    #[error("the payment provider is unavailable; try again")]
    ProviderUnavailable,
    #[error("the payment provider refused: {0}")]
    ProviderRefused(String),
    #[error("books disagree: {0}")]
    Books(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<DieselError> for PayoutError {
    fn from(e: DieselError) -> PayoutError {
        PayoutError::Db(DbError::Query(e))
    }
}

use crate::app::crowd::books;

// ---- the payout job ----

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PayoutsReport {
    pub paid: usize,
    pub failed: usize,
    pub reversed: usize,
    pub owed: usize,
}

/// At most this many payouts or reversals per pass (the next pass takes the rest).
const PER_PASS: i64 = 200;

/// One pass of the payout job: payable money of associations with an active account becomes
/// a provider transfer; pending transfers and reversals are made (or found made). Safe to run
/// on several replicas at once: each payout and reversal is claimed under its campaign's
/// position lock, and the provider's idempotency keys make a retried call move money once.
pub async fn run(state: &AppState) -> Result<PayoutsReport, DbError> {
    let mut report = PayoutsReport::default();
    state.db.run(crate::app::crowd::start_transfers).await?;
    let pending: Vec<PayoutRow> = state
        .db
        .run(|conn| {
            payouts::table
                .filter(payouts::status.eq(PayoutStatus::Pending))
                .filter(payouts::method.eq(PayoutMethod::ProviderTransfer))
                .order(payouts::created_at)
                .limit(PER_PASS)
                .select(PayoutRow::as_select())
                .load(conn)
                .map_err(DbError::from)
        })
        .await?;
    for p in pending {
        match send_transfer(state, p).await? {
            Some(true) => report.paid += 1,
            Some(false) => report.failed += 1,
            None => {}
        }
    }
    let reversals: Vec<ReversalRow> = state
        .db
        .run(|conn| {
            payout_reversals::table
                .filter(payout_reversals::status.eq(ReversalStatus::Pending))
                .order(payout_reversals::created_at)
                .limit(PER_PASS)
                .select(ReversalRow::as_select())
                .load(conn)
                .map_err(DbError::from)
        })
        .await?;
    for r in reversals {
        match work_reversal(state, r).await? {
            Some(ReversalStatus::Reversed) => report.reversed += 1,
            Some(ReversalStatus::Owed) => report.owed += 1,
            _ => {}
        }
    }
    Ok(report)
}

/// Makes (or finds made) a pending payout's transfer. Some(true) paid by this call,
/// Some(false) failed, None still pending (the provider is unavailable) or paid by another
/// replica.
async fn send_transfer(state: &AppState, p: PayoutRow) -> Result<Option<bool>, DbError> {
    // Within a process, a payout another pass is sending is left to it (across replicas the
    // job's lease and the attempt claim below do the same).
    let Some(_sending) = InFlight::enter(&p.id) else {
        return Ok(None);
    };
    // One pass works a payout at a time: a replica that claimed this attempt first has it.
    let (id, seen) = (p.id.to_string(), p.attempts);
    let claimed = state
        .db
        .run(move |conn| crowd::claim_attempt(conn, &id, seen).map_err(DbError::from))
        .await?;
    if !claimed {
        return Ok(None);
    }
    // A transfer tried before may have been made even though its answer was lost: ask first.
    if p.attempts > 0 {
        match state.provider.find_transfer(&p.campaign_id, &p.id).await {
            Ok(Some(transfer_id)) => {
                return Ok(finish_paid(state, &p, transfer_id).await?.then_some(true));
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(payout_id = %p.id, error = %e, "transfer read-back failed");
                return Ok(None);
            }
        }
    }
    let request = TransferRequest {
        payout_id: &p.id,
        amount: p.amount,
        currency: &p.currency,
        destination: &p.destination,
        transfer_group: &p.campaign_id,
    };
    match state.provider.transfer(&request).await {
        Ok(transfer_id) => Ok(finish_paid(state, &p, transfer_id).await?.then_some(true)),
        Err(ProviderError::Rejected { status, message }) => {
            tracing::warn!(payout_id = %p.id, status, "the provider refused a transfer");
            let why = format!("refused by the provider ({status}): {}", clip(&message));
            let id = p.id.to_string();
            state
                .db
                .run(move |conn| {
                    write_tx(conn, |conn| crate::app::crowd::fail_payout(conn, &id, &why))
                        .map_err(DbError::from)
                })
                .await?;
            Ok(Some(false))
        }
        Err(e) => {
            tracing::warn!(payout_id = %p.id, error = %e, "transfer not made; retried later");
            Ok(None)
        }
    }
}

/// Payouts this process is sending now.
struct InFlight(String);

static IN_FLIGHT: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

impl InFlight {
    fn enter(id: &str) -> Option<InFlight> {
        let mut set = IN_FLIGHT.lock().unwrap_or_else(|p| p.into_inner());
        if set.iter().any(|x| x == id) {
            return None;
        }
        set.push(id.to_string());
        Some(InFlight(id.to_string()))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut set = IN_FLIGHT.lock().unwrap_or_else(|p| p.into_inner());
        set.retain(|x| *x != self.0);
    }
}

fn clip(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(200).collect()
}

async fn finish_paid(state: &AppState, p: &PayoutRow, reference: String) -> Result<bool, DbError> {
    let id = p.id.to_string();
    state
        .db
        .run(move |conn| {
            // Another replica's identical call (same idempotency key) may have marked it.
            write_tx(conn, |conn| {
                crate::app::crowd::transfer_made(conn, &id, &reference)
            })
            .map_err(DbError::from)
        })
        .await
}

/// Takes a reversal one step: given a paid transfer to reverse (the newest with room), then
/// reversed at the provider; without such a transfer (paid by bank) it is owed.
async fn work_reversal(
    state: &AppState,
    r: ReversalRow,
) -> Result<Option<ReversalStatus>, DbError> {
    let id = r.id.to_string();
    let step = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| crate::app::crowd::reversal_step(conn, &id))
                .map_err(DbError::from)
        })
        .await?;
    let (r, transfer_id) = match step {
        crate::app::crowd::ReversalStep::Wait => return Ok(None),
        crate::app::crowd::ReversalStep::Done(s) => return Ok(Some(s)),
        crate::app::crowd::ReversalStep::Reverse(r, t) => (r, t),
    };
    match state
        .provider
        .reverse_transfer(&transfer_id, r.amount, &r.id)
        .await
    {
        Ok(reference) => {
            let status = state
                .db
                .run(move |conn| {
                    write_tx(conn, |conn| {
                        crate::app::crowd::reversal_done(
                            conn,
                            &r,
                            ReversalStatus::Reversed,
                            Some(&reference),
                            None,
                        )
                    })
                    .map_err(DbError::from)
                })
                .await?;
            Ok(Some(status))
        }
        Err(ProviderError::Rejected { status, message }) => {
            tracing::warn!(reversal_id = %r.id, status, "the provider refused a reversal: owed");
            let why = format!("refused by the provider ({status}): {}", clip(&message));
            let status = state
                .db
                .run(move |conn| {
                    write_tx(conn, |conn| {
                        crate::app::crowd::reversal_done(
                            conn,
                            &r,
                            ReversalStatus::Owed,
                            None,
                            Some(&why),
                        )
                    })
                    .map_err(DbError::from)
                })
                .await?;
            Ok(Some(status))
        }
        Err(e) => {
            tracing::warn!(reversal_id = %r.id, error = %e, "reversal not made; retried later");
            Ok(None)
        }
    }
}

// ---- payout accounts ----

/// An association's payout account as it is shown.
#[derive(Debug, Clone)]
pub struct AccountView {
    pub association_id: String,
    pub account: Option<PayoutAccountRow>,
    /// A one-time onboarding link (only when just asked for and the provider has one).
    pub onboarding: Option<crate::providers::OnboardingLink>,
}

/// Who may see an association's payout account: its members, finance and admins; another
/// association's member is told it does not exist.
fn account_reader(principal: &Principal, association_id: &str) -> Result<(), PayoutError> {
    match principal.role {
        Role::Admin | Role::Finance => Ok(()),
        Role::Association if principal.is_member_of(association_id) => Ok(()),
        Role::Association => Err(PayoutError::NotFound("association")),
        _ => Err(PayoutError::Forbidden),
    }
}

async fn association(state: &AppState, id: String) -> Result<AssociationRow, PayoutError> {
    state
        .db
        .run(move |conn| {
            associations::table
                .find(&id)
                .select(AssociationRow::as_select())
                .first(conn)
                .optional()
                .map_err(DbError::from)
        })
        .await?
        .ok_or(PayoutError::NotFound("association"))
}

pub async fn account(
    state: &AppState,
    principal: &Principal,
    association_id: String,
) -> Result<AccountView, PayoutError> {
    account_reader(principal, &association_id)?;
    let a = association(state, association_id).await?;
    let id = a.id.clone();
    let account = state
        .db
        .run(move |conn| crowd::account(conn, &id).map_err(DbError::from))
        .await?;
    Ok(AccountView {
        association_id: a.id,
        account,
        onboarding: None,
    })
}

/// Creates the association's connected account if it has none, and answers a one-time
/// onboarding link (the association and admins only).
pub async fn open_account(
    state: &AppState,
    principal: &Principal,
    association_id: String,
) -> Result<AccountView, PayoutError> {
    match principal.role {
        Role::Admin => {}
        Role::Association if principal.is_member_of(&association_id) => {}
        Role::Association => return Err(PayoutError::NotFound("association")),
        _ => return Err(PayoutError::Forbidden),
    }
    let a = association(state, association_id).await?;
    let id = a.id.clone();
    let existing = state
        .db
        .run(move |conn| crowd::account(conn, &id).map_err(DbError::from))
        .await?;
    let account = match existing {
        Some(row) => row,
        None => {
            let created = state
                .provider
                .create_account(&a.id, &a.email)
                .await
                .map_err(provider_error)?;
            let t = now();
            let row = PayoutAccountRow {
                association_id: a.id.clone(),
                provider: state.provider.name().to_string(),
                account_id: created.id,
                status: created.status,
                status_at: 0,
                created_at: t,
                updated_at: t,
            };
            let (insert, id) = (row.clone(), a.id.clone());
            state
                .db
                .run(move |conn| {
                    write_tx(conn, |conn| -> QueryResult<Option<PayoutAccountRow>> {
                        if crowd::insert_account(conn, &insert)? {
                            crate::db::queries::audit_system(
                                conn,
                                "payout_account.created",
                                "association",
                                &insert.association_id,
                                Some(insert.account_id.clone()),
                            )?;
                        }
                        crowd::account(conn, &id)
                    })
                    .map_err(DbError::from)
                })
                .await?
                .unwrap_or(row)
        }
    };
    let onboarding = if account.status == PayoutAccountStatus::Active {
        None
    } else {
        let page = format!("{}/console/payouts", state.config.public_url.as_str());
        state
            .provider
            .onboarding_link(&account.account_id, &format!("{page}?refresh=1"), &page)
            .await
            .map_err(provider_error)?
    };
    Ok(AccountView {
        association_id: a.id,
        account: Some(account),
        onboarding,
    })
}

fn provider_error(e: ProviderError) -> PayoutError {
    match e {
        ProviderError::Rejected { status, message } => {
            tracing::warn!(status, %message, "the provider refused an account request");
            PayoutError::ProviderRefused(format!("status {status}"))
        }
        ProviderError::Unavailable(_) => PayoutError::ProviderUnavailable,
    }
}

// ---- reads ----

#[derive(Debug, Clone, Default)]
pub struct PayoutFilter {
    pub association_id: Option<String>,
    pub campaign_id: Option<String>,
    pub status: Option<PayoutStatus>,
    pub batch_id: Option<String>,
    /// Cursor: ids after this one (newest first: ids are time-ordered).
    pub before: Option<String>,
    pub limit: i64,
}

/// Payouts newest first (finance and admins all; an association its own).
pub async fn list(
    state: &AppState,
    principal: &Principal,
    mut filter: PayoutFilter,
) -> Result<Vec<PayoutRow>, PayoutError> {
    match principal.role {
        Role::Admin | Role::Finance => {}
        Role::Association => {
            let own = principal.association_id.clone();
            if filter.association_id.is_some() && filter.association_id != own {
                return Err(PayoutError::NotFound("association"));
            }
            filter.association_id = own;
        }
        _ => return Err(PayoutError::Forbidden),
    }
    state
        .db
        .run(move |conn| {
            let mut q = payouts::table.select(PayoutRow::as_select()).into_boxed();
            if let Some(a) = filter.association_id {
                q = q.filter(payouts::association_id.eq(a));
            }
            if let Some(c) = filter.campaign_id {
                q = q.filter(payouts::campaign_id.eq(c));
            }
            if let Some(s) = filter.status {
                q = q.filter(payouts::status.eq(s));
            }
            if let Some(b) = filter.batch_id {
                q = q.filter(payouts::batch_id.eq(b));
            }
            if let Some(before) = filter.before {
                q = q.filter(payouts::id.lt(before));
            }
            q.order(payouts::id.desc())
                .limit(filter.limit)
                .load(conn)
                .map_err(DbError::from)
        })
        .await
        .map_err(PayoutError::from)
}

/// A campaign's crowd money as its association and finance see it.
#[derive(Debug, Clone)]
pub struct CrowdSummary {
    pub campaign: CampaignRow,
    pub position: Option<PositionRow>,
    /// Payable and waiting for a bank batch (no active account).
    pub awaiting_bank: bool,
    pub pending_reversal: i64,
}

/// The crowd money of every decided campaign of an association (or every association, for
/// finance and admins), newest decision first, at most 500.
pub async fn summaries(
    state: &AppState,
    principal: &Principal,
    association_id: Option<String>,
) -> Result<Vec<CrowdSummary>, PayoutError> {
    let association_id = match principal.role {
        Role::Admin | Role::Finance => association_id,
        Role::Association => {
            if association_id.is_some() && association_id != principal.association_id {
                return Err(PayoutError::NotFound("association"));
            }
            principal.association_id.clone()
        }
        _ => return Err(PayoutError::Forbidden),
    };
    state
        .db
        .run(move |conn| -> Result<Vec<CrowdSummary>, DbError> {
            let mut q = campaigns::table
                .filter(campaigns::status.eq_any([
                    CampaignStatus::Succeeded,
                    CampaignStatus::Failed,
                    CampaignStatus::Cancelled,
                ]))
                .select(CampaignRow::as_select())
                .into_boxed();
            if let Some(a) = association_id {
                q = q.filter(campaigns::association_id.eq(a));
            }
            let rows: Vec<CampaignRow> = q
                .order((campaigns::decided_at.desc(), campaigns::id.desc()))
                .limit(500)
                .load(conn)?;
            let mut out = Vec::with_capacity(rows.len());
            for c in rows {
                let position = crowd::position(conn, &c.id)?;
                let active = crowd::account(conn, &c.association_id)?
                    .is_some_and(|a| a.status == PayoutAccountStatus::Active);
                let pending_reversal = crowd::reversals_of_campaign(conn, &c.id)?
                    .iter()
                    .filter(|r| r.status == ReversalStatus::Pending)
                    .map(|r| r.amount)
                    .sum();
                out.push(CrowdSummary {
                    awaiting_bank: !active && position.as_ref().is_some_and(|p| p.payable > 0),
                    campaign: c,
                    position,
                    pending_reversal,
                });
            }
            Ok(out)
        })
        .await
        .map_err(PayoutError::from)
}

// ---- bank batches ----

/// A bank batch with its payouts.
#[derive(Debug, Clone)]
pub struct BatchDetails {
    pub batch: PayoutBatchRow,
    pub payouts: Vec<PayoutRow>,
    /// Association id → (name, IBAN, BIC).
    pub creditors: std::collections::BTreeMap<String, (String, String, Option<String>)>,
}

fn finance_only(principal: &Principal) -> Result<(), PayoutError> {
    match principal.role {
        Role::Admin | Role::Finance => Ok(()),
        _ => Err(PayoutError::Forbidden),
    }
}

fn load_batch(conn: &mut DbConnection, id: &str) -> Result<BatchDetails, PayoutError> {
    let batch = crowd::batch(conn, id)?.ok_or(PayoutError::NotFound("payout batch"))?;
    let payouts = crowd::batch_payouts(conn, id)?;
    let ids: Vec<&str> = payouts.iter().map(|p| p.association_id.as_str()).collect();
    let creditors = associations::table
        .filter(associations::id.eq_any(ids))
        .select(AssociationRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|a| (a.id, (a.name, a.iban, a.bic)))
        .collect();
    Ok(BatchDetails {
        batch,
        payouts,
        creditors,
    })
}

pub async fn batch(
    state: &AppState,
    principal: &Principal,
    id: String,
) -> Result<BatchDetails, PayoutError> {
    finance_only(principal)?;
    state.db.run(move |conn| load_batch(conn, &id)).await
}

pub async fn batches(
    state: &AppState,
    principal: &Principal,
    before: Option<String>,
    limit: i64,
) -> Result<Vec<PayoutBatchRow>, PayoutError> {
    use crate::db::schema::payout_batches;
    finance_only(principal)?;
    state
        .db
        .run(move |conn| {
            let mut q = payout_batches::table.into_boxed();
            if let Some(b) = before {
                q = q.filter(payout_batches::id.lt(b));
            }
            q.order(payout_batches::id.desc())
                .limit(limit)
                .select(PayoutBatchRow::as_select())
                .load(conn)
                .map_err(PayoutError::from)
        })
        .await
}

/// Gathers the payable crowd money of every association without an active account at the
/// provider into one draft bank batch (one line per campaign), in one currency. 409
/// `nothing_payable` when there is none.
pub async fn create_batch(
    state: &AppState,
    principal: &Principal,
    currency: Option<String>,
) -> Result<BatchDetails, PayoutError> {
    finance_only(principal)?;
    let by = principal.sub.clone();
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| -> Result<BatchDetails, PayoutError> {
                let mut q =
                    crowd_positions::table
                        .left_join(payout_accounts::table.on(
                            payout_accounts::association_id.eq(crowd_positions::association_id),
                        ))
                        .filter(crowd_positions::payable.gt(0))
                        .filter(
                            payout_accounts::status
                                .is_null()
                                .or(payout_accounts::status.ne(PayoutAccountStatus::Active)),
                        )
                        .select(crowd_positions::campaign_id)
                        .order(crowd_positions::campaign_id)
                        .limit(2000)
                        .into_boxed();
                if let Some(c) = &currency {
                    q = q.filter(crowd_positions::currency.eq(c.to_ascii_uppercase()));
                }
                let campaigns: Vec<String> = q.load(conn)?;
                let batch_id = PayoutBatchId::generate();
                let mut lines = Vec::new();
                let mut batch_currency: Option<String> = None;
                for campaign_id in campaigns {
                    let Some(pos) = crowd::lock_position(conn, &campaign_id)? else {
                        continue;
                    };
                    if pos.payable <= 0
                        || crate::app::crowd::has_pending_payout(conn, &campaign_id)?
                    {
                        continue;
                    }
                    match &batch_currency {
                        Some(c) if *c != pos.currency => continue,
                        None => batch_currency = Some(pos.currency.clone()),
                        _ => {}
                    }
                    let iban: String = associations::table
                        .find(&pos.association_id)
                        .select(associations::iban)
                        .first(conn)?;
                    let fee = crate::app::crowd::fee_not_yet_shown(conn, &pos)?;
                    let p = crowd::insert_payout(
                        conn,
                        &pos,
                        pos.payable,
                        fee,
                        PayoutMethod::BankBatch,
                        &iban,
                        Some(&batch_id),
                    )?;
                    crowd::post(
                        conn,
                        &pos,
                        &[(CrowdMovement::PayOut, pos.payable)],
                        EntryRefs {
                            payout: Some(p.id.as_str()),
                            reversal: None,
                        },
                    )?
                    .ok_or_else(|| books("payable moved under its lock"))?;
                    lines.push(p);
                }
                let Some(currency) = batch_currency else {
                    return Err(PayoutError::Conflict(
                        "nothing_payable",
                        "no crowd money is waiting for a bank transfer".into(),
                    ));
                };
                let t = now();
                crowd::insert_batch(
                    conn,
                    &PayoutBatchRow {
                        id: batch_id.clone(),
                        status: PayoutBatchStatus::Draft,
                        currency,
                        total: lines.iter().map(|p| p.amount).sum(),
                        item_count: lines.len() as i32,
                        message_id: format!(
                            "CP{}",
                            &uuid::Uuid::new_v4().simple().to_string()[..30]
                        ),
                        bank_reference: None,
                        paid_at: None,
                        created_by: by.clone(),
                        confirmed_by: None,
                        created_at: t,
                        confirmed_at: None,
                        cancelled_at: None,
                    },
                )?;
                crate::db::queries::audit_system(
                    conn,
                    "payout_batch.created",
                    "payout_batch",
                    &batch_id,
                    None,
                )?;
                load_batch(conn, &batch_id)
            })
        })
        .await
}

/// The bank paid the batch: its payouts are paid. Four eyes (not its creator: 403
/// `same_user`); the same reference again changes nothing, another one is 409.
pub async fn confirm_batch(
    state: &AppState,
    principal: &Principal,
    id: String,
    reference: String,
    paid_at: chrono::NaiveDateTime,
) -> Result<BatchDetails, PayoutError> {
    finance_only(principal)?;
    let by = principal.sub.clone();
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| -> Result<BatchDetails, PayoutError> {
                let b = crowd::batch(conn, &id)?.ok_or(PayoutError::NotFound("payout batch"))?;
                match b.status {
                    PayoutBatchStatus::Confirmed
                        if b.bank_reference.as_deref() == Some(&reference) =>
                    {
                        return load_batch(conn, &id);
                    }
                    PayoutBatchStatus::Confirmed => {
                        return Err(PayoutError::Conflict(
                            "confirmed_elsewhere",
                            "this batch was confirmed with another bank reference".into(),
                        ));
                    }
                    PayoutBatchStatus::Cancelled => {
                        return Err(PayoutError::Conflict(
                            "cancelled",
                            "this batch was cancelled".into(),
                        ));
                    }
                    PayoutBatchStatus::Draft => {}
                }
                if b.created_by == by {
                    return Err(PayoutError::SameUser);
                }
                if !crowd::close_batch(
                    conn,
                    &id,
                    PayoutBatchStatus::Confirmed,
                    &by,
                    Some((&reference, paid_at)),
                )? {
                    return Err(PayoutError::Conflict(
                        "moved",
                        "the batch changed; read it again".into(),
                    ));
                }
                for p in crowd::batch_payouts(conn, &id)? {
                    crowd::lock_position(conn, &p.campaign_id)?;
                    crowd::mark_paid(conn, &p.id, &reference, paid_at)?;
                }
                crate::db::queries::audit_system(
                    conn,
                    "payout_batch.confirmed",
                    "payout_batch",
                    &id,
                    Some(reference.clone()),
                )?;
                load_batch(conn, &id)
            })
        })
        .await
}

/// A draft batch cancelled: its money is payable again.
pub async fn cancel_batch(
    state: &AppState,
    principal: &Principal,
    id: String,
) -> Result<BatchDetails, PayoutError> {
    finance_only(principal)?;
    let by = principal.sub.clone();
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| -> Result<BatchDetails, PayoutError> {
                let b = crowd::batch(conn, &id)?.ok_or(PayoutError::NotFound("payout batch"))?;
                match b.status {
                    PayoutBatchStatus::Cancelled => return load_batch(conn, &id),
                    PayoutBatchStatus::Confirmed => {
                        return Err(PayoutError::Conflict(
                            "confirmed",
                            "a confirmed batch cannot be cancelled".into(),
                        ));
                    }
                    PayoutBatchStatus::Draft => {}
                }
                if !crowd::close_batch(conn, &id, PayoutBatchStatus::Cancelled, &by, None)? {
                    return Err(PayoutError::Conflict(
                        "moved",
                        "the batch changed; read it again".into(),
                    ));
                }
                for p in crowd::batch_payouts(conn, &id)? {
                    crate::app::crowd::fail_payout(conn, &p.id, "bank batch cancelled")?;
                }
                load_batch(conn, &id)
            })
        })
        .await
}

/// The batch's pain.001.001.03 file (the collection account is the debtor) and its name.
pub async fn batch_file(
    state: &AppState,
    principal: &Principal,
    id: String,
) -> Result<(String, String), PayoutError> {
    let d = batch(state, principal, id).await?;
    if d.batch.status == PayoutBatchStatus::Cancelled {
        return Err(PayoutError::Conflict(
            "cancelled",
            "this batch was cancelled".into(),
        ));
    }
    let c = &state.config.collection;
    let Some(iban) = &c.iban else {
        return Err(PayoutError::Conflict(
            "collection_account_not_configured",
            "the programme's collection account is not configured: set COFUND_COLLECTION_NAME, \
             COFUND_COLLECTION_IBAN (and COFUND_COLLECTION_BIC) before producing bank files"
                .into(),
        ));
    };
    let currency = crate::domain::money::Currency::parse(&d.batch.currency)
        .map_err(|_| PayoutError::Books("a batch in an unknown currency".into()))?;
    let titles: std::collections::HashMap<String, String> = {
        let ids: Vec<String> = d.payouts.iter().map(|p| p.campaign_id.clone()).collect();
        state
            .db
            .run(move |conn| {
                campaigns::table
                    .filter(campaigns::id.eq_any(ids))
                    .select((campaigns::id, campaigns::title))
                    .load::<(String, String)>(conn)
                    .map_err(DbError::from)
            })
            .await?
            .into_iter()
            .collect()
    };
    let file = crate::domain::sepa::Batch {
        message_id: d.batch.message_id.clone(),
        payment_info_id: format!("{}-1", d.batch.message_id),
        created_at: now(),
        execution_date: now().date(),
        currency,
        transfers: d
            .payouts
            .iter()
            .filter(|p| p.status != PayoutStatus::Failed)
            .map(|p| {
                let (name, iban, bic) = d
                    .creditors
                    .get(&p.association_id)
                    .cloned()
                    .unwrap_or_default();
                let title = titles.get(&p.campaign_id).cloned().unwrap_or_default();
                crate::domain::sepa::Transfer {
                    end_to_end_id: p
                        .id
                        .chars()
                        .filter(char::is_ascii_alphanumeric)
                        .take(35)
                        .collect(),
                    amount: p.amount,
                    creditor_name: name,
                    iban,
                    bic,
                    remittance: crate::domain::sepa::sepa_text(
                        &format!("Raccolta fondi {title} {}", p.campaign_id),
                        140,
                    ),
                }
            })
            .collect(),
    };
    let debtor = crate::domain::sepa::Debtor {
        name: c.name.clone(),
        iban: iban.as_str().to_string(),
        bic: c.bic.as_ref().map(|b| b.as_str().to_string()),
    };
    Ok((
        format!("{}.xml", d.batch.message_id),
        crate::domain::sepa::pain001(&debtor, &file),
    ))
}
