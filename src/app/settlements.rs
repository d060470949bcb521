//! Settling committed matches: the finance office confirms a drafted batch once the bank has
//! paid it (each commitment moves `committed → settled` through the ledger's door) or cancels
//! it (its commitments are free for another batch). Both run in the caller's transaction and
//! are idempotent: asked again, they answer as the first time.

use crate::app::Invalid;
use crate::auth::Principal;
use crate::clock::now;
use crate::db::models::{
    AssociationRow, CampaignRow, FundRow, FunderRow, GrantTrancheRow, SettlementItemRow,
    SettlementLineRow, SettlementRow,
};
use crate::db::queries::audit;
use crate::db::schema::{
    associations, campaigns, funds, grant_tranches, grants, settlement_items, settlement_lines,
    settlements,
};
use crate::db::{DbConnection, DbError, funders};
use crate::domain::fund::FunderKind;
use crate::domain::grant::{TrancheKind, TrancheStatus};
use crate::domain::ids::{self, CampaignId, FundId, FunderId, SettlementId};
use crate::domain::matching::MatchState;
use crate::domain::money::Currency;
use crate::domain::sepa;
use crate::domain::settlement::{ItemStatus, SettlementStatus};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use std::collections::BTreeMap;

pub mod bank_file;
pub mod reads;
pub mod treasury;

/// Why a batch did not move.
#[derive(Debug, thiserror::Error)]
pub enum SettlementError {
    #[error("no such settlement")]
    NotFound,
    #[error("this batch was confirmed with another bank reference")]
    ConfirmedElsewhere,
    #[error("this batch was cancelled")]
    Cancelled,
    #[error("a confirmed batch cannot be cancelled")]
    Confirmed,
    #[error("the batch changed; read it again")]
    Moved,
    /// Four eyes: the user who created a batch does not confirm it.
    #[error(
        "the user who created this batch cannot confirm it: another finance user (or an admin) must"
    )]
    SameUser,
    /// The books and the batch disagree: nothing applied (reconciliation shows why).
    #[error("books disagree: {0}")]
    Books(String),
    #[error("the request has invalid fields")]
    Invalid(Vec<Invalid>),
    /// A commitment that cannot go in this batch (not committed, paid, or in an open batch).
    #[error("{0}")]
    NotPayable(String),
    /// A public funder's award not yet published in the transparency register.
    #[error("{0}")]
    Unpublished(String),
    #[error("no such fund")]
    FundNotFound,
    #[error("no such funder")]
    FunderNotFound,
    #[error("treasury payment orders are for public funders' batches; use sepa.xml")]
    NotPublicFunder,
    #[error(
        "the city's account is not configured: set COFUND_DEBTOR_NAME, COFUND_DEBTOR_IBAN \
         (and COFUND_DEBTOR_BIC) before producing SEPA files"
    )]
    DebtorNotConfigured,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for SettlementError {
    fn from(e: diesel::result::Error) -> SettlementError {
        SettlementError::Db(DbError::Query(e))
    }
}

/// A batch with its items (one per association) and lines (one per commitment).
pub struct Batch {
    pub settlement: SettlementRow,
    pub items: Vec<SettlementItemRow>,
    pub lines: Vec<SettlementLineRow>,
}

/// A batch, its items in id order and its lines in campaign order.
pub fn load_batch(conn: &mut DbConnection, id: &SettlementId) -> Result<Batch, SettlementError> {
    let settlement = load(conn, id)?;
    let items = settlement_items::table
        .filter(settlement_items::settlement_id.eq(id))
        .order(settlement_items::id)
        .select(SettlementItemRow::as_select())
        .load(conn)?;
    let lines = settlement_lines::table
        .filter(settlement_lines::settlement_id.eq(id))
        .order(settlement_lines::campaign_id)
        .select(SettlementLineRow::as_select())
        .load(conn)?;
    Ok(Batch {
        settlement,
        items,
        lines,
    })
}

fn invalid(field: &str, message: impl std::fmt::Display) -> SettlementError {
    SettlementError::Invalid(vec![Invalid::new(field, message)])
}

/// A batch as the finance office asks for it.
#[derive(Debug, Clone)]
pub struct NewBatch {
    pub fund_id: String,
    /// The funder that pays; may be left out when the fund has one funder.
    pub funder_id: Option<String>,
    /// Commitments (campaign ids) to pay; default: every payable one of the funder.
    pub commitment_ids: Option<Vec<String>>,
}

/// Drafts a batch of one funder's parts of committed matches, in the caller's transaction:
/// the commitments it may pay (committed, not in an open batch, not paid; for a public funder,
/// published in the transparency register), one item per association, each part claimed for
/// the batch by a conditional update so two batches can never take the same part. Returns the
/// batch's id.
pub fn create(
    conn: &mut DbConnection,
    principal: &Principal,
    body: NewBatch,
) -> Result<String, SettlementError> {
    let fund: FundRow = funds::table
        .find(&body.fund_id)
        .select(FundRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| invalid("fund_id", "unknown fund"))?;
    if fund.currency != Currency::EUR {
        return Err(invalid("fund_id", "SEPA credit transfers are in EUR only"));
    }
    let funder = resolve_funder(conn, &fund, body.funder_id.as_deref())?;
    // The funder's payable tranches of grants that may be paid: the commitments it pays.
    let wanted = body.commitment_ids.clone();
    if let Some(ids) = &wanted {
        if ids.is_empty() {
            return Err(invalid("commitment_ids", "must not be empty"));
        }
        if ids.len() > 10_000 {
            return Err(invalid("commitment_ids", "at most 10000"));
        }
        let named: Vec<String> = campaigns::table
            .filter(campaigns::fund_id.eq(&fund.id))
            .filter(campaigns::id.eq_any(ids.clone()))
            .select(campaigns::id)
            .load(conn)?;
        let unknown: Vec<Invalid> = ids
            .iter()
            .filter(|id| !named.contains(id))
            .map(|id| Invalid::new("commitment_ids", format!("no commitment {id} in this fund")))
            .collect();
        if !unknown.is_empty() {
            return Err(SettlementError::Invalid(unknown));
        }
    }
    let payable = payable_tranches(conn, &fund.id, &funder.id, wanted.as_deref())?;
    if let Some(ids) = &wanted {
        for id in ids {
            if !payable.iter().any(|(c, _)| &c.id == id) {
                let (status, grant) = campaigns::table
                    .find(id)
                    .left_join(grants::table)
                    .select((campaigns::match_status, grants::status.nullable()))
                    .first::<(MatchState, Option<String>)>(conn)?;
                return Err(SettlementError::NotPayable(format!(
                    "commitment {id} has nothing payable by this funder now (its match is {status}{}; a tranche may be paid, in an open batch, or not yet due)",
                    grant
                        .map(|g| format!(", its grant {g}"))
                        .unwrap_or_default()
                )));
            }
        }
    }
    let found = payable;
    // A public funder pays published awards only: publication is what makes a
    // grant of public money take effect (D.Lgs. 33/2013 art. 26).
    let found = if funder.kind == FunderKind::Public && !found.is_empty() {
        let ids: Vec<&str> = found.iter().map(|(c, _)| c.id.as_str()).collect();
        let published = crate::app::transparency::published_for(conn, &funder.id, &ids)?;
        let unpublished: Vec<&str> = ids
            .iter()
            .copied()
            .filter(|id| !published.contains(*id))
            .collect();
        if !unpublished.is_empty() && (wanted.is_some() || published.is_empty()) {
            let missing = crate::app::transparency::register_fields(&fund)
                .missing()
                .join(", ");
            return Err(SettlementError::Unpublished(format!(
                "the award for {} is not published in the transparency register, so it cannot be paid yet{}",
                unpublished.join(", "),
                if missing.is_empty() {
                    String::new()
                } else {
                    format!(" (the fund lacks: {missing})")
                }
            )));
        }
        found
            .into_iter()
            .filter(|(c, _)| published.contains(&c.id))
            .collect()
    } else {
        found
    };
    if found.is_empty() {
        return Err(invalid(
            "fund_id",
            "this funder has no committed match to settle in this fund",
        ));
    }
    let settlement_id = ids::new_id(ids::SETTLEMENT);
    let t = now();
    let mut by_association: BTreeMap<String, Vec<(&CampaignRow, &GrantTrancheRow)>> =
        BTreeMap::new();
    for (c, t) in &found {
        by_association
            .entry(c.association_id.clone())
            .or_default()
            .push((c, t));
    }
    let total: i64 = found.iter().map(|(_, t)| t.amount).sum();
    diesel::insert_into(settlements::table)
        .values(SettlementRow {
            id: settlement_id.clone(),
            fund_id: fund.id.clone(),
            status: SettlementStatus::Draft,
            currency: fund.currency,
            total,
            item_count: by_association.len() as i32,
            message_id: short_id("CF"),
            bank_reference: None,
            paid_at: None,
            created_by: Some(principal.sub.clone()),
            created_at: t,
            confirmed_at: None,
            cancelled_at: None,
            funder_id: funder.id.clone(),
        })
        .execute(conn)?;
    let batch_id = SettlementId::from(settlement_id.as_str());
    for (association_id, cs) in by_association {
        let a: AssociationRow = associations::table
            .find(&association_id)
            .select(AssociationRow::as_select())
            .first(conn)?;
        let item_id = ids::new_id("sti");
        let titles: Vec<String> = cs
            .iter()
            .map(|(c, t)| format!("{} {}", c.title, tranche_label(t.kind)))
            .collect();
        diesel::insert_into(settlement_items::table)
            .values(SettlementItemRow {
                id: item_id.clone(),
                settlement_id: settlement_id.clone(),
                association_id: a.id.clone(),
                creditor_name: a.name.clone(),
                iban: a.iban.clone(),
                bic: a.bic.clone(),
                amount: cs.iter().map(|(_, t)| t.amount).sum(),
                end_to_end_id: short_id("E2E"),
                remittance: remittance(&fund, &titles),
                status: ItemStatus::Draft,
            })
            .execute(conn)?;
        for (c, t) in cs {
            // The guard: only a payable tranche outside any open batch is taken.
            if !crate::db::grants::put_tranche_in_batch(conn, &t.id, t.amount, &batch_id)? {
                return Err(SettlementError::NotPayable(format!(
                    "commitment {} was just put in another batch",
                    c.id
                )));
            }
            funders::mirror_part_batch(conn, &c.id, &t.funder_id, Some(&batch_id))?;
            diesel::insert_into(settlement_lines::table)
                .values(SettlementLineRow {
                    settlement_id: settlement_id.clone(),
                    item_id: item_id.clone(),
                    campaign_id: c.id.clone(),
                    amount: t.amount,
                    tranche_id: t.id.clone(),
                    tranche: t.kind,
                })
                .execute(conn)?;
        }
    }
    audit(
        conn,
        principal,
        "settlement.create",
        "settlement",
        &settlement_id,
        Some(format!(
            "{} commitments, total {}",
            found.len(),
            crate::domain::money::format_amount(total, fund.currency)
        )),
    )?;
    Ok(settlement_id)
}

/// The funder's payable tranches in `fund`, with their campaigns (of `only` when given),
/// whose grants may be paid now (not under review, not revoked), in campaign order. The grants
/// are read under their row locks, so a grant put under review or revoked meanwhile is left
/// out rather than paid.
fn payable_tranches(
    conn: &mut DbConnection,
    fund_id: &str,
    funder_id: &str,
    only: Option<&[String]>,
) -> Result<Vec<(CampaignRow, GrantTrancheRow)>, SettlementError> {
    let mut rows: Vec<(CampaignRow, GrantTrancheRow)> = grant_tranches::table
        .inner_join(campaigns::table.on(campaigns::id.eq(grant_tranches::campaign_id)))
        .filter(grant_tranches::fund_id.eq(fund_id))
        .filter(grant_tranches::funder_id.eq(funder_id))
        .filter(grant_tranches::status.eq(TrancheStatus::Payable))
        .filter(grant_tranches::settlement_id.is_null())
        .order((campaigns::id, grant_tranches::id))
        .select((CampaignRow::as_select(), GrantTrancheRow::as_select()))
        .load(conn)?;
    if let Some(ids) = only {
        rows.retain(|(c, _)| ids.contains(&c.id));
    }
    let mut ok = std::collections::HashSet::new();
    for (_, t) in &rows {
        if ok.contains(&t.grant_id) {
            continue;
        }
        if let Some(g) = crate::db::grants::lock(conn, &t.grant_id)?
            && g.status.pays()
        {
            ok.insert(t.grant_id.clone());
        }
    }
    Ok(rows
        .into_iter()
        .filter(|(_, t)| ok.contains(&t.grant_id))
        .collect())
}

/// How a batch names a tranche in its remittance text.
fn tranche_label(kind: TrancheKind) -> &'static str {
    match kind {
        TrancheKind::Advance => "(anticipo)",
        TrancheKind::Balance => "(saldo)",
        TrancheKind::Full => "",
    }
}

/// The funder a batch is for: the one named (it must be the fund's), or the fund's only one.
fn resolve_funder(
    conn: &mut DbConnection,
    fund: &FundRow,
    funder_id: Option<&str>,
) -> Result<FunderRow, SettlementError> {
    match funder_id {
        Some(id) => {
            crate::db::funders::load_funder(conn, &FundId::from(&fund.id), &FunderId::from(id))?
                .ok_or_else(|| invalid("funder_id", "not a funder of this fund"))
        }
        None => {
            let mut all = crate::db::funders::load_funders(conn, &fund.id)?;
            if all.len() == 1 {
                Ok(all.remove(0))
            } else {
                Err(invalid(
                    "funder_id",
                    format!(
                        "this fund has {} funders: name the one that pays",
                        all.len()
                    ),
                ))
            }
        }
    }
}

fn short_id(prefix: &str) -> String {
    // SEPA identifiers are at most 35 characters.
    format!(
        "{prefix}{}",
        &uuid::Uuid::new_v4().simple().to_string()[..30]
    )
}

/// Remittance text naming the campaigns and the fund's CUP (at most 140 SEPA characters).
fn remittance(fund: &FundRow, titles: &[String]) -> String {
    let head = match &fund.cup {
        Some(cup) => format!("CUP {cup} cofinanziamento "),
        None => "Cofinanziamento ".to_string(),
    };
    sepa::sepa_text(&format!("{head}{}", titles.join("; ")), 140)
}

fn load(conn: &mut DbConnection, id: &str) -> Result<SettlementRow, SettlementError> {
    settlements::table
        .find(id)
        .select(SettlementRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(SettlementError::NotFound)
}

/// Confirms batch `id` as paid by the bank with `reference` on `paid_at`: the batch and its
/// items move to confirmed/settled, each campaign's match from `committed` to `settled`, and
/// each commitment's money through [`ledger::transfer`]; the associations are told.
pub fn confirm(
    conn: &mut DbConnection,
    actor: &Principal,
    id: &SettlementId,
    reference: &str,
    paid_at: NaiveDateTime,
) -> Result<(), SettlementError> {
    let s = load(conn, id)?;
    // Four eyes: whoever drafted the batch is not the one who says it was paid (nor may they
    // replay someone else's confirmation).
    let creator = s.created_by.as_deref() == Some(actor.sub.as_str());
    match s.status {
        SettlementStatus::Confirmed if s.bank_reference.as_deref() == Some(reference) => {
            return if creator {
                Err(SettlementError::SameUser)
            } else {
                Ok(())
            };
        }
        SettlementStatus::Confirmed => return Err(SettlementError::ConfirmedElsewhere),
        SettlementStatus::Cancelled => return Err(SettlementError::Cancelled),
        SettlementStatus::Draft if creator => return Err(SettlementError::SameUser),
        SettlementStatus::Draft => {}
    }
    let moved = diesel::update(settlements::table.find(id))
        .filter(settlements::status.eq(SettlementStatus::Draft))
        .set((
            settlements::status.eq(SettlementStatus::Confirmed),
            settlements::bank_reference.eq(Some(reference)),
            settlements::paid_at.eq(Some(paid_at)),
            settlements::confirmed_at.eq(Some(now())),
        ))
        .execute(conn)?;
    if moved == 0 {
        return Err(SettlementError::Moved);
    }
    diesel::update(settlement_items::table.filter(settlement_items::settlement_id.eq(id)))
        .set(settlement_items::status.eq(ItemStatus::Settled))
        .execute(conn)?;
    let lines: Vec<SettlementLineRow> = settlement_lines::table
        .filter(settlement_lines::settlement_id.eq(id))
        .order(settlement_lines::campaign_id)
        .select(SettlementLineRow::as_select())
        .load(conn)?;
    for line in &lines {
        let campaign_id = CampaignId::from(&line.campaign_id);
        // The tranche is paid: the grant's part, its totals and the money move together; the
        // campaign's match is settled once nothing of the grant is left committed.
        let grant = crate::app::grants::tranche_paid(
            conn,
            &line.tranche_id,
            line.amount,
            id,
            paid_at,
            &format!("{} paid in {} ({reference})", line.tranche, s.message_id),
        )
        .map_err(|e| match e {
            crate::app::grants::GrantError::Conflict(_, m) => SettlementError::NotPayable(m),
            crate::app::grants::GrantError::Db(d) => SettlementError::Db(d),
            other => SettlementError::Books(other.to_string()),
        })?;
        let part_done = crate::app::grants::fully_paid(conn, &grant.id)?;
        funders::mirror_part_paid(conn, &campaign_id, &s.funder_id, part_done)?;
        if part_done {
            crate::db::campaigns::settle_match(conn, &campaign_id)?;
        }
    }
    crate::notify::settlement_paid(conn, id, reference)?;
    audit(
        conn,
        actor,
        "settlement.confirm",
        "settlement",
        id,
        Some(format!("draft -> confirmed; bank reference {reference}")),
    )?;
    Ok(())
}

/// Cancels draft batch `id`: its items are cancelled and its commitments leave it (they stay
/// `committed`, free for another batch). No money moves.
pub fn cancel(
    conn: &mut DbConnection,
    actor: &Principal,
    id: &SettlementId,
) -> Result<(), SettlementError> {
    match load(conn, id)?.status {
        SettlementStatus::Cancelled => return Ok(()),
        SettlementStatus::Confirmed => return Err(SettlementError::Confirmed),
        SettlementStatus::Draft => {}
    }
    let moved = diesel::update(settlements::table.find(id))
        .filter(settlements::status.eq(SettlementStatus::Draft))
        .set((
            settlements::status.eq(SettlementStatus::Cancelled),
            settlements::cancelled_at.eq(Some(now())),
        ))
        .execute(conn)?;
    if moved == 0 {
        return Err(SettlementError::Moved);
    }
    diesel::update(settlement_items::table.filter(settlement_items::settlement_id.eq(id)))
        .set(settlement_items::status.eq(ItemStatus::Cancelled))
        .execute(conn)?;
    funders::release_batch_parts(conn, id)?;
    crate::db::grants::release_batch_tranches(conn, id)?;
    audit(
        conn,
        actor,
        "settlement.cancel",
        "settlement",
        id,
        Some("draft -> cancelled".into()),
    )?;
    Ok(())
}

/// Drafts a batch ([`create`]) in a transaction of its own and returns it.
pub async fn create_batch(
    state: &crate::app::AppState,
    principal: Principal,
    body: NewBatch,
) -> Result<Batch, SettlementError> {
    state
        .db
        .run(move |conn| {
            crate::db::write_tx(conn, |conn| {
                let id = SettlementId::from(create(conn, &principal, body)?);
                load_batch(conn, &id)
            })
        })
        .await
}

/// Confirms a batch ([`confirm`]) in a transaction of its own and returns it.
pub async fn confirm_batch(
    state: &crate::app::AppState,
    principal: Principal,
    id: String,
    reference: String,
    paid_at: NaiveDateTime,
) -> Result<Batch, SettlementError> {
    let id = SettlementId::from(id);
    state
        .db
        .run(move |conn| {
            crate::db::write_tx(conn, |conn| {
                confirm(conn, &principal, &id, &reference, paid_at)?;
                load_batch(conn, &id)
            })
        })
        .await
}

/// Cancels a batch ([`cancel`]) in a transaction of its own and returns it.
pub async fn cancel_batch(
    state: &crate::app::AppState,
    principal: Principal,
    id: String,
) -> Result<Batch, SettlementError> {
    let id = SettlementId::from(id);
    state
        .db
        .run(move |conn| {
            crate::db::write_tx(conn, |conn| {
                cancel(conn, &principal, &id)?;
                load_batch(conn, &id)
            })
        })
        .await
}
