//! A public funder's batch as payment orders for the city's treasury: one order per
//! beneficiary with the fields of a *mandato di pagamento* (named after OPI's; mapping in
//! `docs/public-finance.md`).

use super::{SettlementError, load_batch};
use crate::clock::now;
use crate::db::DbConnection;
use crate::db::models::{FundRow, FunderRow, SettlementItemRow, SettlementRow};
use crate::db::schema::{associations, awards, campaigns, funds};
use crate::domain::fund::FunderKind;
use crate::domain::ids::{FundId, FunderId, SettlementId};
use crate::domain::settlement::{ItemStatus, SettlementStatus};
use chrono::NaiveDate;
use diesel::prelude::*;
use std::collections::BTreeMap;

/// One beneficiary's payment order.
pub struct Order {
    pub item: SettlementItemRow,
    pub tax_code: String,
    /// The campaigns it pays, and their titles.
    pub campaign_ids: Vec<String>,
    pub titles: Vec<String>,
    /// The awards it pays, and the acts that granted them.
    pub award_ids: Vec<String>,
    pub acts: Vec<String>,
}

/// The orders of a batch, in item order, with their funder and fund.
pub struct TreasuryOrders {
    pub settlement: SettlementRow,
    pub funder: FunderRow,
    pub fund: FundRow,
    pub execution_date: NaiveDate,
    pub orders: Vec<Order>,
    /// What the orders add up to (always the batch's total).
    pub total: i64,
}

/// The payment orders of a public funder's batch. Refused for a private funder's batch (its
/// bank file is `pain.001`) and for a cancelled one.
pub fn orders(conn: &mut DbConnection, id: &str) -> Result<TreasuryOrders, SettlementError> {
    let batch = load_batch(conn, &SettlementId::from(id))?;
    let s = batch.settlement;
    if s.status == SettlementStatus::Cancelled {
        return Err(SettlementError::Cancelled);
    }
    let funder = crate::db::funders::load_funder(
        conn,
        &FundId::from(&s.fund_id),
        &FunderId::from(&s.funder_id),
    )?
    .ok_or(SettlementError::FunderNotFound)?;
    if funder.kind != FunderKind::Public {
        return Err(SettlementError::NotPublicFunder);
    }
    let fund: FundRow = funds::table
        .find(&s.fund_id)
        .select(FundRow::as_select())
        .first(conn)?;
    let lines = batch.lines;
    let campaign_ids: Vec<&str> = lines.iter().map(|l| l.campaign_id.as_str()).collect();
    let titles: BTreeMap<String, String> = campaigns::table
        .filter(campaigns::id.eq_any(&campaign_ids))
        .select((campaigns::id, campaigns::title))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let awarded: Vec<(String, String, Option<String>)> = awards::table
        .filter(awards::funder_id.eq(&funder.id))
        .filter(awards::campaign_id.eq_any(&campaign_ids))
        .select((awards::campaign_id, awards::id, awards::legal_basis))
        .load(conn)?;
    let tax_codes: BTreeMap<String, String> = associations::table
        .filter(associations::id.eq_any(batch.items.iter().map(|i| i.association_id.as_str())))
        .select((associations::id, associations::tax_code))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let mut orders = Vec::new();
    let mut total = 0;
    for item in batch
        .items
        .into_iter()
        .filter(|i| i.status != ItemStatus::Cancelled)
    {
        let mine: Vec<&str> = lines
            .iter()
            .filter(|l| l.item_id == item.id)
            .map(|l| l.campaign_id.as_str())
            .collect();
        let awards_of: Vec<&(String, String, Option<String>)> = awarded
            .iter()
            .filter(|(cid, _, _)| mine.contains(&cid.as_str()))
            .collect();
        let mut acts: Vec<String> = awards_of.iter().filter_map(|a| a.2.clone()).collect();
        acts.dedup();
        total += item.amount;
        orders.push(Order {
            tax_code: tax_codes
                .get(&item.association_id)
                .cloned()
                .unwrap_or_default(),
            // Each title names the tranche it pays (advance, balance), as the bank file does.
            titles: lines
                .iter()
                .filter(|l| l.item_id == item.id)
                .map(|l| {
                    let title = titles
                        .get(&l.campaign_id)
                        .map_or(l.campaign_id.as_str(), String::as_str);
                    match super::tranche_label(l.tranche) {
                        "" => title.to_string(),
                        label => format!("{title} {label}"),
                    }
                })
                .collect(),
            campaign_ids: mine.iter().map(|id| id.to_string()).collect(),
            award_ids: awards_of.iter().map(|a| a.1.clone()).collect(),
            acts,
            item,
        });
    }
    if total != s.total {
        // The batch's items always add up to its total; a difference is a bug to look at,
        // never a file to send to the treasurer.
        return Err(SettlementError::Books(format!(
            "settlement {} items add up to {total}, its total is {}",
            s.id, s.total
        )));
    }
    Ok(TreasuryOrders {
        execution_date: s.paid_at.unwrap_or_else(now).date(),
        settlement: s,
        funder,
        fund,
        orders,
        total,
    })
}
