//! The award register: every part of a match a *public* funder commits is an award, written
//! in the transaction that commits it and published at once when the fund carries what the
//! register must show; otherwise it waits, unpublished and unpayable, until the fund's
//! transparency fields are filled in. Private funders' grants are not public acts and are
//! not listed.

use crate::clock::now;
use crate::db::DbConnection;
use crate::db::models::{AwardRow, CampaignRow, FundRow};
use crate::db::schema::{
    associations, awards, campaigns, funders, funds, grant_parts, grants, match_parts,
};
use crate::domain::fund::FunderKind;
use crate::domain::ids;
use crate::domain::transparency::RegisterFields;
use chrono::Datelike;
use diesel::prelude::*;
use std::collections::HashSet;

pub fn register_fields(fund: &FundRow) -> RegisterFields<'_> {
    RegisterFields {
        legal_basis: fund.legal_basis.as_deref(),
        office: fund.office.as_deref(),
        responsible_official: fund.responsible_official.as_deref(),
        selection_method: fund.selection_method.as_deref(),
    }
}

/// Writes the awards of a match just committed: one per public funder's part.
pub fn award_committed(
    conn: &mut DbConnection,
    campaign: &CampaignRow,
    fund: &FundRow,
) -> QueryResult<()> {
    let parts: Vec<(String, i64)> = match_parts::table
        .inner_join(funders::table)
        .filter(match_parts::campaign_id.eq(&campaign.id))
        .filter(match_parts::amount.gt(0))
        .filter(funders::kind.eq(FunderKind::Public))
        .select((match_parts::funder_id, match_parts::amount))
        .load(conn)?;
    if parts.is_empty() {
        return Ok(());
    }
    let (name, tax_code): (String, String) = associations::table
        .find(&campaign.association_id)
        .select((associations::name, associations::tax_code))
        .first(conn)?;
    // Read afresh: the fields may have been filled in since `fund` was cached.
    type Fields = (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let (legal_basis, office, responsible_official, selection_method): Fields = funds::table
        .find(&fund.id)
        .select((
            funds::legal_basis,
            funds::office,
            funds::responsible_official,
            funds::selection_method,
        ))
        .first(conn)?;
    let publish = RegisterFields {
        legal_basis: legal_basis.as_deref(),
        office: office.as_deref(),
        responsible_official: responsible_official.as_deref(),
        selection_method: selection_method.as_deref(),
    }
    .missing()
    .is_empty();
    let t = now();
    for (funder_id, amount) in parts {
        let row = AwardRow {
            id: ids::new_id("awd"),
            fund_id: fund.id.clone(),
            funder_id,
            campaign_id: campaign.id.clone(),
            association_id: campaign.association_id.clone(),
            amount,
            currency: fund.currency,
            year: t.year(),
            awarded_at: t,
            published_at: publish.then_some(t),
            beneficiary_name: name.clone(),
            beneficiary_tax_code: tax_code.clone(),
            legal_basis: legal_basis.clone(),
            office: office.clone(),
            responsible_official: responsible_official.clone(),
            selection_method: selection_method.clone(),
        };
        let insert = diesel::insert_into(awards::table)
            .values(row)
            .on_conflict_do_nothing();
        match conn {
            DbConnection::Postgresql(c) => insert.execute(c)?,
            DbConnection::Sqlite(c) => insert.execute(c)?,
        };
    }
    Ok(())
}

/// Publishes a fund's waiting awards with the fund's (now complete) fields. Returns how many.
pub fn publish_waiting(conn: &mut DbConnection, fund: &FundRow) -> QueryResult<usize> {
    if !register_fields(fund).missing().is_empty() {
        return Ok(0);
    }
    diesel::update(
        awards::table
            .filter(awards::fund_id.eq(&fund.id))
            .filter(awards::published_at.is_null()),
    )
    .set((
        awards::published_at.eq(Some(now())),
        awards::legal_basis.eq(&fund.legal_basis),
        awards::office.eq(&fund.office),
        awards::responsible_official.eq(&fund.responsible_official),
        awards::selection_method.eq(&fund.selection_method),
    ))
    .execute(conn)
}

/// Of `campaign_ids`, those whose award by `funder_id` is published.
pub fn published_for(
    conn: &mut DbConnection,
    funder_id: &str,
    campaign_ids: &[&str],
) -> QueryResult<HashSet<String>> {
    let mut found = HashSet::new();
    for chunk in campaign_ids.chunks(500) {
        let ids: Vec<String> = awards::table
            .filter(awards::funder_id.eq(funder_id))
            .filter(awards::campaign_id.eq_any(chunk))
            .filter(awards::published_at.is_not_null())
            .select(awards::campaign_id)
            .load(conn)?;
        found.extend(ids);
    }
    Ok(found)
}

/// One line of the register, with the names it shows.
pub struct RegisterLine {
    pub award: AwardRow,
    pub fund_name: String,
    pub cup: Option<String>,
    pub funder_name: String,
    pub campaign_title: String,
    /// The award now: `awarded`, `reduced` or `revoked` (its grant's).
    pub status: crate::domain::grant::AwardStatus,
    /// What this funder paid of it and was not paid back.
    pub paid: i64,
}

/// Published awards, newest first, after `cursor` (an award id), at most `limit + 1`.
pub fn register(
    conn: &mut DbConnection,
    year: Option<i32>,
    fund_id: Option<&str>,
    cursor: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<RegisterLine>> {
    let mut q = awards::table
        .inner_join(funds::table.on(funds::id.eq(awards::fund_id)))
        .inner_join(funders::table.on(funders::id.eq(awards::funder_id)))
        .inner_join(campaigns::table.on(campaigns::id.eq(awards::campaign_id)))
        .filter(awards::published_at.is_not_null())
        .select((
            AwardRow::as_select(),
            funds::name,
            funds::cup,
            funders::name,
            campaigns::title,
        ))
        .order(awards::id.desc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(y) = year {
        q = q.filter(awards::year.eq(y));
    }
    if let Some(f) = fund_id {
        q = q.filter(awards::fund_id.eq(f.to_string()));
    }
    if let Some(c) = cursor {
        q = q.filter(awards::id.lt(c.to_string()));
    }
    let rows: Vec<(AwardRow, String, Option<String>, String, String)> = q.load(conn)?;
    // Each award's grant: its status and what its funder paid (one query for the page).
    let grant_ids: Vec<String> = rows
        .iter()
        .map(|(a, ..)| crate::domain::grant::grant_id_of(&a.campaign_id))
        .collect();
    let standing: Vec<(String, crate::domain::grant::AwardStatus)> = grants::table
        .filter(grants::id.eq_any(&grant_ids))
        .select((grants::id, grants::award_status))
        .load(conn)?;
    let paid: Vec<(String, String, i64, i64)> = grant_parts::table
        .filter(grant_parts::grant_id.eq_any(&grant_ids))
        .select((
            grant_parts::grant_id,
            grant_parts::funder_id,
            grant_parts::paid,
            grant_parts::recovered,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(award, fund_name, cup, funder_name, campaign_title)| {
            let gid = crate::domain::grant::grant_id_of(&award.campaign_id);
            let status = standing
                .iter()
                .find(|(id, _)| *id == gid)
                .map(|(_, s)| *s)
                .unwrap_or(crate::domain::grant::AwardStatus::Awarded);
            let paid = paid
                .iter()
                .find(|(g, f, ..)| *g == gid && *f == award.funder_id)
                .map(|(_, _, p, r)| p - r)
                .unwrap_or(0);
            RegisterLine {
                award,
                fund_name,
                cup,
                funder_name,
                campaign_title,
                status,
                paid,
            }
        })
        .collect())
}
