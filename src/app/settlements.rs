//! Settling committed matches: the finance office confirms a drafted batch once the bank has
//! paid it (each commitment moves `committed → settled` through the ledger's door) or cancels
//! it (its commitments are free for another batch). Both run in the caller's transaction and
//! are idempotent: asked again, they answer as the first time.

use crate::app::Invalid;
use crate::auth::Principal;
use crate::clock::now;
use crate::db::models::{
    AssociationRow, CampaignRow, FundRow, FunderRow, MatchPartRow, SettlementItemRow,
    SettlementLineRow, SettlementRow,
};
use crate::db::queries::audit;
use crate::db::schema::{
    associations, campaigns, funds, match_parts, settlement_items, settlement_lines, settlements,
};
use crate::db::{DbConnection, DbError, funders, ledger};
use crate::domain::fund::FunderKind;
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
    // The funder's parts of committed matches: the commitments it pays.
    let wanted = body.commitment_ids.clone();
    let found: Vec<(CampaignRow, MatchPartRow)> = match &wanted {
        Some(ids) => {
            if ids.is_empty() {
                return Err(invalid("commitment_ids", "must not be empty"));
            }
            if ids.len() > 10_000 {
                return Err(invalid("commitment_ids", "at most 10000"));
            }
            let named: Vec<CampaignRow> = campaigns::table
                .filter(campaigns::fund_id.eq(&fund.id))
                .filter(campaigns::id.eq_any(ids.clone()))
                .order(campaigns::id)
                .select(CampaignRow::as_select())
                .load(conn)?;
            let unknown: Vec<Invalid> = ids
                .iter()
                .filter(|id| !named.iter().any(|c| &c.id == *id))
                .map(|id| {
                    Invalid::new("commitment_ids", format!("no commitment {id} in this fund"))
                })
                .collect();
            if !unknown.is_empty() {
                return Err(SettlementError::Invalid(unknown));
            }
            let parts: Vec<MatchPartRow> = match_parts::table
                .filter(match_parts::funder_id.eq(&funder.id))
                .filter(match_parts::campaign_id.eq_any(ids.clone()))
                .select(MatchPartRow::as_select())
                .load(conn)?;
            let mut found = Vec::with_capacity(named.len());
            for c in named {
                let part = parts.iter().find(|p| p.campaign_id == c.id && p.amount > 0);
                match part {
                    Some(p)
                        if c.match_status == MatchState::Committed
                            && p.settlement_id.is_none()
                            && !p.settled =>
                    {
                        found.push((c, p.clone()))
                    }
                    _ => {
                        return Err(SettlementError::NotPayable(format!(
                            "commitment {} is not payable by this funder (its match is {}, or this funder's part is paid or in an open batch)",
                            c.id, c.match_status
                        )));
                    }
                }
            }
            found
        }
        None => campaigns::table
            .inner_join(match_parts::table)
            .filter(campaigns::fund_id.eq(&fund.id))
            .filter(match_parts::funder_id.eq(&funder.id))
            .filter(match_parts::amount.gt(0))
            .filter(campaigns::match_status.eq(MatchState::Committed))
            .filter(match_parts::settlement_id.is_null())
            .filter(match_parts::settled.eq(false))
            .order(campaigns::id)
            .select((CampaignRow::as_select(), MatchPartRow::as_select()))
            .load(conn)?,
    };
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
    let mut by_association: BTreeMap<String, Vec<(&CampaignRow, i64)>> = BTreeMap::new();
    for (c, p) in &found {
        by_association
            .entry(c.association_id.clone())
            .or_default()
            .push((c, p.amount));
    }
    let total: i64 = found.iter().map(|(_, p)| p.amount).sum();
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
    let (batch_id, funder_id) = (
        SettlementId::from(settlement_id.as_str()),
        FunderId::from(&funder.id),
    );
    for (association_id, cs) in by_association {
        let a: AssociationRow = associations::table
            .find(&association_id)
            .select(AssociationRow::as_select())
            .first(conn)?;
        let item_id = ids::new_id("sti");
        let titles: Vec<String> = cs.iter().map(|(c, _)| c.title.clone()).collect();
        diesel::insert_into(settlement_items::table)
            .values(SettlementItemRow {
                id: item_id.clone(),
                settlement_id: settlement_id.clone(),
                association_id: a.id.clone(),
                creditor_name: a.name.clone(),
                iban: a.iban.clone(),
                bic: a.bic.clone(),
                amount: cs.iter().map(|(_, a)| a).sum(),
                end_to_end_id: short_id("E2E"),
                remittance: remittance(&fund, &titles),
                status: ItemStatus::Draft,
            })
            .execute(conn)?;
        for (c, amount) in cs {
            // The guard: only a part of a committed match outside any open batch
            // is taken.
            if !funders::put_part_in_batch(
                conn,
                &CampaignId::from(&c.id),
                &funder_id,
                amount,
                &batch_id,
            )? {
                return Err(SettlementError::NotPayable(format!(
                    "commitment {} was just put in another batch",
                    c.id
                )));
            }
            diesel::insert_into(settlement_lines::table)
                .values(SettlementLineRow {
                    settlement_id: settlement_id.clone(),
                    item_id: item_id.clone(),
                    campaign_id: c.id.clone(),
                    amount,
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
    let funder_id = FunderId::from(&s.funder_id);
    for line in &lines {
        let campaign_id = CampaignId::from(&line.campaign_id);
        // The funder's part is paid; the campaign's match is settled once every part is.
        if !funders::mark_part_paid(conn, &campaign_id, &funder_id, line.amount, id)? {
            return Err(SettlementError::Books(format!(
                "commitment {} left its batch",
                line.campaign_id
            )));
        }
        if funders::unpaid_parts(conn, &campaign_id)? == 0 {
            crate::db::campaigns::settle_match(conn, &campaign_id)?;
        }
        if !ledger::transfer(
            conn,
            &s.fund_id,
            &s.funder_id,
            s.currency,
            ledger::Movement::Settle,
            line.amount,
            Some(&line.campaign_id),
            &format!("paid in {} ({reference})", s.message_id),
        )? {
            return Err(SettlementError::Books(format!(
                "fund {} holds less committed than commitment {}",
                s.fund_id, line.campaign_id
            )));
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
