//! The finance office's reads of fund money: a fund's journal, the reconciliation of every
//! invariant, a fund's programme report (per target area and per campaign) and the audit trail.

use crate::app::AppState;
use crate::db::models::{
    AuditRow, CampaignRow, FundRow, FunderRow, JournalEntryRow, MatchPartRow, PostingRow,
};
use crate::db::reconcile::{self, Report};
use crate::db::schema::{
    areas, associations, audit_log, campaigns, funds, journal_entries, match_parts, postings,
};
use crate::db::{DbError, ledger};
use crate::domain::campaign::CampaignStatus;
use crate::domain::ids::FundId;
use crate::domain::matching::MatchState;
use diesel::prelude::*;
use std::collections::{BTreeMap, HashMap};

/// Why a report was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("no such fund")]
    FundNotFound,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for ReportError {
    fn from(e: diesel::result::Error) -> ReportError {
        ReportError::Db(DbError::Query(e))
    }
}

/// A journal entry with its postings (in posting id order).
#[derive(Debug, Clone)]
pub struct JournalEntry {
    pub entry: JournalEntryRow,
    pub postings: Vec<PostingRow>,
}

/// Up to `limit + 1` entries of a fund's journal after `cursor`, oldest first (the extra one
/// only says there is more).
pub async fn ledger(
    state: &AppState,
    fund_id: String,
    limit: i64,
    cursor: String,
) -> Result<Vec<JournalEntry>, ReportError> {
    state
        .db
        .run(move |conn| -> Result<Vec<JournalEntry>, ReportError> {
            let exists: i64 = funds::table.find(&fund_id).count().get_result(conn)?;
            if exists == 0 {
                return Err(ReportError::FundNotFound);
            }
            let entries: Vec<JournalEntryRow> = journal_entries::table
                .filter(journal_entries::fund_id.eq(&fund_id))
                .filter(journal_entries::id.gt(&cursor))
                .order(journal_entries::id)
                .limit(limit + 1)
                .select(JournalEntryRow::as_select())
                .load(conn)?;
            let ids: Vec<String> = entries.iter().map(|e| e.id.clone()).collect();
            let legs: Vec<PostingRow> = postings::table
                .filter(postings::entry_id.eq_any(&ids))
                .order(postings::id)
                .select(PostingRow::as_select())
                .load(conn)?;
            Ok(entries
                .into_iter()
                .map(|entry| JournalEntry {
                    postings: legs
                        .iter()
                        .filter(|p| p.entry_id == entry.id)
                        .cloned()
                        .collect(),
                    entry,
                })
                .collect())
        })
        .await
}

/// Checks every invariant (see [`reconcile::run`]); violations are logged as errors.
pub async fn reconciliation(state: &AppState) -> Result<Report, ReportError> {
    let report = state
        .db
        .run(|conn| -> Result<Report, ReportError> { Ok(reconcile::run(conn)?) })
        .await?;
    if !report.ok {
        tracing::error!(
            violations = report.violations.len(),
            "reconciliation found violations"
        );
    }
    Ok(report)
}

/// Sums over campaigns: how many, their goals, what they raised, their donors and their match
/// by where it stands.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sums {
    pub campaigns: i64,
    pub goal: i64,
    pub raised: i64,
    pub donors: i64,
    pub reserved: i64,
    pub committed: i64,
    pub settled: i64,
}

/// A campaign's match by where its funders' parts stand: (reserved, committed, settled). With
/// several funders a committed match can be partly paid (one funder's batch confirmed).
type MatchSplit = (i64, i64, i64);

/// Each campaign's committed and settled match, summed from its funders' parts once (a
/// programme has tens of thousands of campaigns: no scan of every part per campaign).
fn parts_by_campaign(parts: &[MatchPartRow]) -> HashMap<&str, (i64, i64)> {
    let mut by = HashMap::<&str, (i64, i64)>::new();
    for p in parts {
        let e = by.entry(p.campaign_id.as_str()).or_default();
        if p.settled {
            e.1 += p.amount;
        } else {
            e.0 += p.amount;
        }
    }
    by
}

fn match_split(c: &CampaignRow, parts: &HashMap<&str, (i64, i64)>) -> MatchSplit {
    match c.match_status {
        MatchState::Reserved => (c.match_amount, 0, 0),
        MatchState::Committed | MatchState::Settled => {
            let (committed, settled) = parts.get(c.id.as_str()).copied().unwrap_or_default();
            (0, committed, settled)
        }
        _ => (0, 0, 0),
    }
}

impl Sums {
    fn add(&mut self, c: &CampaignRow, (r, cm, st): MatchSplit) {
        self.campaigns += 1;
        self.goal += c.goal;
        self.raised += c.raised;
        self.donors += i64::from(c.donors);
        self.reserved += r;
        self.committed += cm;
        self.settled += st;
    }
}

/// One campaign of a programme report.
#[derive(Debug, Clone)]
pub struct CampaignLine {
    pub campaign: CampaignRow,
    pub association_name: String,
    /// None when the campaign's area is unknown.
    pub area_code: Option<String>,
    pub reserved: i64,
    pub committed: i64,
    pub settled: i64,
}

/// One target area of a programme report (areas with campaigns only), in area id order.
#[derive(Debug, Clone)]
pub struct AreaLine {
    pub area_id: String,
    /// None when the area is unknown.
    pub area_code: Option<String>,
    pub area_name: Option<String>,
    pub sums: Sums,
}

/// The programme report of a fund. Campaigns that never reached approval are left out.
#[derive(Debug, Clone)]
pub struct ProgrammeReport {
    pub fund: FundRow,
    /// The fund's figures from the ledger.
    pub balances: ledger::Balances,
    /// Each funder's figures from its own ledger accounts (they add up to the fund's).
    pub funders: Vec<FunderRow>,
    /// In campaign id order.
    pub campaigns: Vec<CampaignLine>,
    pub areas: Vec<AreaLine>,
    /// Sums over the campaigns; the match totals equal the ledger's figures.
    pub totals: Sums,
}

/// Statuses of campaigns that never reached approval.
const NEVER_APPROVED: [CampaignStatus; 3] = [
    CampaignStatus::Draft,
    CampaignStatus::Submitted,
    CampaignStatus::Rejected,
];

/// The programme report of a fund, per target area and per campaign.
pub async fn fund_report(
    state: &AppState,
    fund_id: String,
) -> Result<ProgrammeReport, ReportError> {
    type AreaName = (String, String, String);
    type Data = (
        FundRow,
        ledger::Balances,
        Vec<(CampaignRow, String)>,
        Vec<AreaName>,
        Vec<MatchPartRow>,
        Vec<FunderRow>,
    );
    let (fund, balances, rows, area_rows, parts, funders) = state
        .db
        .run(move |conn| -> Result<Data, ReportError> {
            let fund = crate::db::campaigns::load_fund(conn, &fund_id)
                .optional()?
                .ok_or(ReportError::FundNotFound)?;
            let balances = ledger::balances(conn, &FundId::from(&fund_id))?;
            let rows = campaigns::table
                .inner_join(associations::table)
                .filter(campaigns::fund_id.eq(&fund_id))
                .filter(campaigns::status.ne_all(NEVER_APPROVED))
                .order(campaigns::id)
                .select((CampaignRow::as_select(), associations::name))
                .load(conn)?;
            // Names only: the geometries are not needed here.
            let area_rows = areas::table
                .order(areas::code)
                .select((areas::id, areas::code, areas::name))
                .load(conn)?;
            let parts = match_parts::table
                .filter(match_parts::fund_id.eq(&fund_id))
                .select(MatchPartRow::as_select())
                .load(conn)?;
            let funders = crate::app::funds::funders_with_figures(conn, &fund)?;
            Ok((fund, balances, rows, area_rows, parts, funders))
        })
        .await?;
    let parts = parts_by_campaign(&parts);
    let areas_by_id: HashMap<&str, (&str, &str)> = area_rows
        .iter()
        .map(|(id, code, name)| (id.as_str(), (code.as_str(), name.as_str())))
        .collect();
    let area_of = |id: &str| areas_by_id.get(id).copied();
    let mut totals = Sums::default();
    let mut per_area: BTreeMap<String, Sums> = Default::default();
    for (row, _) in &rows {
        let split = match_split(row, &parts);
        totals.add(row, split);
        per_area
            .entry(row.area_id.clone())
            .or_default()
            .add(row, split);
    }
    let areas = per_area
        .into_iter()
        .map(|(area_id, sums)| AreaLine {
            area_code: area_of(&area_id).map(|a| a.0.to_string()),
            area_name: area_of(&area_id).map(|a| a.1.to_string()),
            area_id,
            sums,
        })
        .collect();
    let campaigns = rows
        .into_iter()
        .map(|(campaign, association_name)| {
            let (reserved, committed, settled) = match_split(&campaign, &parts);
            CampaignLine {
                area_code: area_of(&campaign.area_id).map(|a| a.0.to_string()),
                campaign,
                association_name,
                reserved,
                committed,
                settled,
            }
        })
        .collect();
    Ok(ProgrammeReport {
        fund,
        balances,
        funders,
        campaigns,
        areas,
        totals,
    })
}

/// Which audit records to read (every given filter applies).
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub actor_id: Option<String>,
    pub action: Option<String>,
}

/// Up to `limit + 1` audit records after `cursor`, in id order (the extra one only says there
/// is more).
pub async fn audit_trail(
    state: &AppState,
    filter: AuditFilter,
    limit: i64,
    cursor: String,
) -> Result<Vec<AuditRow>, ReportError> {
    state
        .db
        .run(move |conn| -> Result<Vec<AuditRow>, ReportError> {
            let mut q = audit_log::table
                .filter(audit_log::id.gt(&cursor))
                .order(audit_log::id)
                .limit(limit + 1)
                .select(AuditRow::as_select())
                .into_boxed();
            if let Some(v) = filter.object_type {
                q = q.filter(audit_log::object_type.eq(v));
            }
            if let Some(v) = filter.object_id {
                q = q.filter(audit_log::object_id.eq(v));
            }
            if let Some(v) = filter.actor_id {
                q = q.filter(audit_log::actor_id.eq(v));
            }
            if let Some(v) = filter.action {
                q = q.filter(audit_log::action.eq(v));
            }
            Ok(q.load(conn)?)
        })
        .await
}
