//! Checks every invariant the spec lists and reports violations (`GET /v1/reconciliation`,
//! `cofund reconcile`). Read-only.

use super::DbConnection;
use super::ledger;
use super::models::{CampaignRow, FundRow, FunderRow, MatchPartRow};
use super::schema::{
    campaigns, funders, funds, match_holds, match_parts, pending_pledges, pledges, refunds,
};
use crate::domain::campaign::CampaignStatus;
use crate::domain::matching::MatchState;
use crate::domain::per_donation::HoldStatus;
use crate::domain::pledge::{PledgeStatus, RefundStatus};
use diesel::prelude::*;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct Violation {
    /// Which invariant: `journal_balanced`, `fund_figures`, `fund_overspent`,
    /// `fund_is_its_funders` (a fund's figures are the sums of its funders'), `funder_figures`,
    /// `funder_overspent`, `campaign_raised`, `campaign_donors`, `pledge_counted`,
    /// `pending_listed`, `match_parts` (a campaign's funder parts add up to its match),
    /// `match_held`, `match_reserved`, `match_committed`, `match_settled` (per funder: its
    /// figures are its parts of the campaigns' matches), `match_orphaned` (a reservation held by a campaign
    /// that is not approved/live/closing, or a commitment by one that did not succeed),
    /// `late_money` (money counted for a failed or cancelled campaign with no refund queued), `flagged_payment` (a payment that did not match its pledge and is not yet
    /// refunded: expected and received amounts in the detail), `refund_needs_attention`
    /// (the provider refused or failed a refund), `receipt_missing` (a counted donation without its
    /// tax receipt), `receipt_numbering` (an association's year of receipts is not numbered
    /// 1..n with its counter at n), `receipt_voided` (a receipt voided while the donation stands,
    /// or standing while its money went back), `award_missing` (a public funder's committed part
    /// without its award in the register, or with another amount), `crowd_books` (a campaign's
    /// crowd balances are not the sums of its crowd journal, or a balance is negative),
    /// `crowd_raised` (what the crowd books count is not what the succeeded campaign raised),
    /// `crowd_fee`, `crowd_unallotted` (crowd money neither the fee nor the association's),
    /// `crowd_payouts` (payouts and reversals disagree with what the books say was paid out),
    /// `crowd_paid_failed` (crowd money of a campaign that did not succeed paid out),
    /// `bank_entry` (a bank credit counted for a pledge that is not a paid bank-transfer pledge
    /// of that amount, or two credits counted for one pledge).
    pub check: String,
    /// The fund, campaign, pledge or journal entry concerned.
    pub subject: String,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Report {
    pub ok: bool,
    pub violations: Vec<Violation>,
    pub checked_funds: usize,
    pub checked_campaigns: usize,
    pub checked_at: chrono::DateTime<chrono::Utc>,
}

/// What a pledge adds to its campaign, from its facts (as `PledgeFacts::counted`): confirmed
/// money net of refunds, nothing once a dispute is lost.
const NET: &str = "(CASE WHEN paid AND dispute <> 'lost' THEN \
    (CASE WHEN refunded_amount < amount THEN amount - refunded_amount ELSE 0 END) ELSE 0 END)";

#[derive(diesel::QueryableByName)]
struct Unbalanced {
    #[diesel(sql_type = diesel::sql_types::Text)]
    entry_id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    currency: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    total: i64,
}

#[derive(diesel::QueryableByName)]
struct Miscounted {
    #[diesel(sql_type = diesel::sql_types::Text)]
    campaign_id: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    counted: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    net: i64,
}

#[derive(diesel::QueryableByName)]
struct CampaignSums {
    #[diesel(sql_type = diesel::sql_types::Text)]
    campaign_id: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    raised: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    donors: i64,
}

/// Runs a fixed aggregate query on either backend.
fn load_by_name<T>(conn: &mut DbConnection, sql: &str) -> QueryResult<Vec<T>>
where
    T: diesel::QueryableByName<diesel::pg::Pg>
        + diesel::QueryableByName<diesel::sqlite::Sqlite>
        + 'static,
{
    match conn {
        DbConnection::Postgresql(c) => diesel::sql_query(sql).load(c),
        DbConnection::Sqlite(c) => diesel::sql_query(sql).load(c),
    }
}

/// Every bank credit that paid a pledge paid a bank-transfer pledge of its amount, which is
/// paid, and no pledge was paid by two credits.
fn bank_credits_add_up(
    conn: &mut DbConnection,
    violations: &mut Vec<Violation>,
) -> QueryResult<()> {
    use super::schema::bank_entries;
    use crate::config::ProviderKind;
    use crate::domain::bank_entry::BankEntryStatus;
    /// A counted credit and the pledge it paid.
    type Counted = (String, String, i64, String, i64, String, bool, ProviderKind);
    let counted: Vec<Counted> = bank_entries::table
        .inner_join(pledges::table)
        .filter(bank_entries::status.eq_any([BankEntryStatus::Matched, BankEntryStatus::Assigned]))
        .select((
            bank_entries::id,
            pledges::id,
            bank_entries::amount,
            bank_entries::currency,
            pledges::amount,
            pledges::currency,
            pledges::paid,
            pledges::provider,
        ))
        .order(bank_entries::id)
        .load(conn)?;
    let mut paid_by = std::collections::HashMap::new();
    for (entry, pledge, amount, currency, want, want_currency, paid, provider) in counted {
        if provider != ProviderKind::BankTransfer
            || !paid
            || amount != want
            || currency != want_currency
        {
            violations.push(v(
                "bank_entry",
                &entry,
                format!("credit of {amount} {currency} counted for pledge {pledge} ({want} {want_currency}, paid: {paid}, {})", provider.as_str()),
            ));
        }
        if let Some(first) = paid_by.insert(pledge.clone(), entry.clone()) {
            violations.push(v(
                "bank_entry",
                &entry,
                format!("pledge {pledge} was already paid by credit {first}"),
            ));
        }
    }
    Ok(())
}

fn v(check: &str, subject: &str, detail: String) -> Violation {
    Violation {
        check: check.into(),
        subject: subject.into(),
        detail,
    }
}

/// Runs every check on one snapshot of the books: the checks are many statements, and under
/// READ COMMITTED a match reserved between two of them would look like a mismatch that never
/// existed. PostgreSQL: a REPEATABLE READ, READ ONLY transaction; SQLite: a (deferred) read
/// transaction, which in WAL mode reads one snapshot. Inside a caller's transaction, that one.
pub fn run(conn: &mut DbConnection) -> QueryResult<Report> {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    let begin = match conn {
        DbConnection::Postgresql(_) => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        DbConnection::Sqlite(_) => "BEGIN DEFERRED",
    };
    macro_rules! in_snapshot {
        ($c:expr) => {{
            let depth =
                AnsiTransactionManager::transaction_manager_status_mut($c).transaction_depth()?;
            if depth.is_some() {
                return check(conn);
            }
            AnsiTransactionManager::begin_transaction_sql($c, begin)?;
        }};
    }
    match conn {
        DbConnection::Postgresql(c) => in_snapshot!(c),
        DbConnection::Sqlite(c) => in_snapshot!(c),
    }
    let result = check(conn);
    // Read only: nothing to keep, so the snapshot ends with a rollback whatever happened.
    match conn {
        DbConnection::Postgresql(c) => AnsiTransactionManager::rollback_transaction(c)?,
        DbConnection::Sqlite(c) => AnsiTransactionManager::rollback_transaction(c)?,
    }
    result
}

fn check(conn: &mut DbConnection) -> QueryResult<Report> {
    let mut violations = Vec::new();

    // 1. Every journal entry balances per currency (summed in the database: the journal is
    // never loaded into memory).
    for unbalanced in load_by_name::<Unbalanced>(
        conn,
        "SELECT entry_id, currency, CAST(SUM(amount) AS BIGINT) AS total FROM postings \
         GROUP BY entry_id, currency HAVING SUM(amount) <> 0 ORDER BY entry_id LIMIT 1000",
    )? {
        violations.push(v(
            "journal_balanced",
            &unbalanced.entry_id,
            format!(
                "postings sum to {} {}",
                unbalanced.total, unbalanced.currency
            ),
        ));
    }

    // 2. Fund and funder figures equal the ledger, a fund's are the sums of its funders';
    // 3. no funder (hence no fund) is overspent.
    let all_funds: Vec<FundRow> = funds::table.select(FundRow::as_select()).load(conn)?;
    let all_funders: Vec<FunderRow> = funders::table.select(FunderRow::as_select()).load(conn)?;
    for f in &all_funds {
        let b = ledger::balances(conn, &crate::domain::ids::FundId::from(&f.id))?;
        let row = (
            f.budget,
            f.held,
            f.reserved,
            f.committed,
            f.settled,
            f.recoverable,
        );
        let led = (
            b.budget,
            b.held,
            b.reserved,
            b.committed,
            b.settled,
            b.recoverable,
        );
        if row != led {
            violations.push(v(
                "fund_figures",
                &f.id,
                format!(
                    "fund row {row:?} but ledger {led:?} (budget, held, reserved, committed, settled, recoverable)"
                ),
            ));
        }
        if b.held + b.reserved + b.committed + b.settled + b.recoverable > b.budget
            || b.available < 0
        {
            violations.push(v(
                "fund_overspent",
                &f.id,
                format!(
                    "held {} + reserved {} + committed {} + settled {} > budget {}",
                    b.held, b.reserved, b.committed, b.settled, b.budget
                ),
            ));
        }
        let mine: Vec<&FunderRow> = all_funders.iter().filter(|x| x.fund_id == f.id).collect();
        let sums = mine.iter().fold((0, 0, 0, 0, 0, 0), |a, x| {
            (
                a.0 + x.budget,
                a.1 + x.held,
                a.2 + x.reserved,
                a.3 + x.committed,
                a.4 + x.settled,
                a.5 + x.recoverable,
            )
        });
        if sums != row {
            violations.push(v(
                "fund_is_its_funders",
                &f.id,
                format!("fund row {row:?} but its funders sum to {sums:?}"),
            ));
        }
        let books = ledger::funder_balances(conn, &f.id, None)?;
        for x in &mine {
            let b = books
                .iter()
                .find(|(id, _)| *id == x.id)
                .map(|(_, b)| *b)
                .unwrap_or_default();
            let row = (
                x.budget,
                x.held,
                x.reserved,
                x.committed,
                x.settled,
                x.recoverable,
            );
            let led = (
                b.budget,
                b.held,
                b.reserved,
                b.committed,
                b.settled,
                b.recoverable,
            );
            if row != led {
                violations.push(v(
                    "funder_figures",
                    &x.id,
                    format!("funder row {row:?} but its ledger accounts {led:?}"),
                ));
            }
            if b.held + b.reserved + b.committed + b.settled + b.recoverable > b.budget
                || b.available < 0
            {
                violations.push(v(
                    "funder_overspent",
                    &x.id,
                    format!(
                        "held {} + reserved {} + committed {} + settled {} > budget {}",
                        b.held, b.reserved, b.committed, b.settled, b.budget
                    ),
                ));
            }
        }
        for (id, _) in &books {
            if !mine.iter().any(|x| x.id == *id) {
                violations.push(v(
                    "funder_figures",
                    id,
                    format!("postings of fund {} name a funder it does not have", f.id),
                ));
            }
        }
    }

    // 4. Campaign raised = sum of its confirmed pledges (net), donors = distinct counted donors.
    let all_campaigns: Vec<CampaignRow> = campaigns::table
        .select(CampaignRow::as_select())
        .load(conn)?;
    // Recomputed from each pledge's facts, not from its cached counted amount, and summed in
    // the database: the pledges are never loaded into memory.
    for wrong in load_by_name::<Miscounted>(
        conn,
        &format!(
            "SELECT campaign_id, counted_amount AS counted, {NET} AS net FROM pledges \
             WHERE counted_amount <> {NET} ORDER BY id LIMIT 1000"
        ),
    )? {
        violations.push(v(
            "pledge_counted",
            &wrong.campaign_id,
            format!(
                "a pledge counts {} but its facts say {}",
                wrong.counted, wrong.net
            ),
        ));
    }
    let mut raised: HashMap<String, i64> = HashMap::new();
    let mut donors: HashMap<String, i64> = HashMap::new();
    for c in load_by_name::<CampaignSums>(
        conn,
        &format!(
            "SELECT campaign_id, CAST(SUM(net) AS BIGINT) AS raised, \
             COUNT(DISTINCT CASE WHEN net > 0 THEN donor_key END) AS donors \
             FROM (SELECT campaign_id, donor_key, {NET} AS net FROM pledges) counted \
             GROUP BY campaign_id"
        ),
    )? {
        raised.insert(c.campaign_id.clone(), c.raised);
        donors.insert(c.campaign_id, c.donors);
    }
    for c in &all_campaigns {
        let expected = raised.get(&c.id).copied().unwrap_or(0);
        if c.raised != expected {
            violations.push(v(
                "campaign_raised",
                &c.id,
                format!(
                    "raised {} but confirmed pledges sum to {expected}",
                    c.raised
                ),
            ));
        }
        let expected_donors = donors.get(&c.id).copied().unwrap_or(0);
        if i64::from(c.donors) != expected_donors {
            violations.push(v(
                "campaign_donors",
                &c.id,
                format!(
                    "donors {} but {expected_donors} distinct donors have confirmed pledges",
                    c.donors
                ),
            ));
        }
    }
    // 5. Each funder's reserved/committed/settled figures are exactly its parts of the
    // campaigns' matches, its held figure its live holds; a campaign's parts add up to its match.
    let parts: Vec<MatchPartRow> = match_parts::table
        .select(MatchPartRow::as_select())
        .load(conn)?;
    let mut by_funder: HashMap<String, (i64, i64, i64)> = HashMap::new();
    let mut by_campaign: HashMap<String, i64> = HashMap::new();
    let status_of: HashMap<&str, &CampaignRow> =
        all_campaigns.iter().map(|c| (c.id.as_str(), c)).collect();
    for p in &parts {
        *by_campaign.entry(p.campaign_id.clone()).or_default() += p.amount;
        let e = by_funder.entry(p.funder_id.clone()).or_default();
        match status_of
            .get(p.campaign_id.as_str())
            .map(|c| c.match_status)
        {
            Some(MatchState::Reserved) => e.0 += p.amount,
            // A committed match is its grant's: the grant's parts say what is paid.
            Some(MatchState::Committed | MatchState::Settled) => {}
            _ => {
                if p.amount != 0 {
                    violations.push(v(
                        "match_parts",
                        &p.campaign_id,
                        format!(
                            "funder {} holds a part of {} of no live match",
                            p.funder_id, p.amount
                        ),
                    ));
                }
            }
        }
    }
    for c in &all_campaigns {
        let live = matches!(
            c.match_status,
            MatchState::Reserved | MatchState::Committed | MatchState::Settled
        );
        let sum = by_campaign.get(&c.id).copied().unwrap_or(0);
        if live && sum != c.match_amount {
            violations.push(v(
                "match_parts",
                &c.id,
                format!(
                    "match {} but its funders' parts sum to {sum}",
                    c.match_amount
                ),
            ));
        }
    }
    let holds: Vec<(String, i64)> = match_holds::table
        .filter(match_holds::status.eq(HoldStatus::Held))
        .select((match_holds::funder_id, match_holds::amount))
        .load(conn)?;
    let mut held_by_funder: HashMap<String, i64> = HashMap::new();
    for (f, a) in holds {
        *held_by_funder.entry(f).or_default() += a;
    }
    let recoverable_by_funder =
        grants_add_up(conn, &all_campaigns, &mut by_funder, &mut violations)?;
    crowd_adds_up(conn, &all_campaigns, &mut violations)?;
    for x in &all_funders {
        let (r, cm, st) = by_funder.get(&x.id).copied().unwrap_or_default();
        for (check, row, parts) in [
            ("match_reserved", x.reserved, r),
            ("match_committed", x.committed, cm),
            ("match_settled", x.settled, st),
            (
                "match_recoverable",
                x.recoverable,
                recoverable_by_funder.get(&x.id).copied().unwrap_or(0),
            ),
            (
                "match_held",
                x.held,
                held_by_funder.get(&x.id).copied().unwrap_or(0),
            ),
        ] {
            if row != parts {
                violations.push(v(
                    check,
                    &x.id,
                    format!(
                        "funder {} of fund {} has {row} but its campaigns' parts hold {parts}",
                        x.name, x.fund_id
                    ),
                ));
            }
        }
    }
    // 5. A pledge is listed in `pending_pledges` exactly while it is pending (the expiry and
    // payment reconciliation jobs find pending pledges there).
    let unlisted: Vec<String> = pledges::table
        .left_join(pending_pledges::table)
        .filter(pledges::status.eq(PledgeStatus::Pending))
        .filter(pending_pledges::pledge_id.nullable().is_null())
        .select(pledges::id)
        .load(conn)?;
    let stale: Vec<String> = pending_pledges::table
        .inner_join(pledges::table)
        .filter(pledges::status.ne(PledgeStatus::Pending))
        .select(pledges::id)
        .load(conn)?;
    for id in unlisted {
        violations.push(v(
            "pending_listed",
            &id,
            "a pending pledge is missing from pending_pledges".into(),
        ));
    }
    for id in stale {
        violations.push(v(
            "pending_listed",
            &id,
            "a pledge that is no longer pending is still in pending_pledges".into(),
        ));
    }
    money_owed_back(conn, &all_campaigns, &mut violations)?;
    bank_credits_add_up(conn, &mut violations)?;
    public_duties(conn, &mut violations)?;
    Ok(Report {
        ok: violations.is_empty(),
        violations,
        checked_funds: all_funds.len(),
        checked_campaigns: all_campaigns.len(),
        checked_at: chrono::Utc::now(),
    })
}

/// Money the service owes back or must look at: reservations left on campaigns that can no
/// longer use them, late money kept, flagged payments, refunds the provider refused.
/// Each grant's identity and its funders' figures: `awarded = released + paid + payable +
/// in a batch + not yet payable` with nothing payable beyond what is committed; the grant's
/// totals are its parts'; its award is the committed match; what it paid beyond its ceiling
/// (the due once approved, the award after reductions, nothing once revoked) is recoverable or
/// recovered. Adds each funder's committed and settled money to `by_funder` and returns what
/// each is owed back.
fn grants_add_up(
    conn: &mut DbConnection,
    all_campaigns: &[CampaignRow],
    by_funder: &mut HashMap<String, (i64, i64, i64)>,
    violations: &mut Vec<Violation>,
) -> QueryResult<HashMap<String, i64>> {
    use super::models::{GrantPartRow, GrantRow};
    use super::schema::{grant_parts, grant_tranches, grants};
    use crate::domain::grant::{GrantStatus, TrancheStatus};
    let all: Vec<GrantRow> = grants::table.select(GrantRow::as_select()).load(conn)?;
    let parts: Vec<GrantPartRow> = grant_parts::table
        .select(GrantPartRow::as_select())
        .load(conn)?;
    let open: Vec<(String, String, i64)> = grant_tranches::table
        .filter(grant_tranches::status.eq(TrancheStatus::Payable))
        .select((
            grant_tranches::grant_id,
            grant_tranches::funder_id,
            grant_tranches::amount,
        ))
        .load(conn)?;
    let mut open_by_part: HashMap<(String, String), i64> = HashMap::new();
    for (g, f, a) in open {
        *open_by_part.entry((g, f)).or_default() += a;
    }
    let campaign: HashMap<&str, &CampaignRow> =
        all_campaigns.iter().map(|c| (c.id.as_str(), c)).collect();
    let mut owed: HashMap<String, i64> = HashMap::new();
    let mut with_grant = HashSet::new();
    for g in &all {
        with_grant.insert(g.campaign_id.clone());
        let mine: Vec<&GrantPartRow> = parts.iter().filter(|p| p.grant_id == g.id).collect();
        let sum = |f: fn(&GrantPartRow) -> i64| mine.iter().map(|p| f(p)).sum::<i64>();
        let totals = (g.awarded, g.paid, g.released, g.recoverable, g.recovered);
        let summed = (
            sum(|p| p.awarded),
            sum(|p| p.paid),
            sum(|p| p.released),
            sum(|p| p.recoverable),
            sum(|p| p.recovered),
        );
        if totals != summed {
            violations.push(v(
                "grant_parts",
                &g.id,
                format!("grant {totals:?} but its funders' parts sum to {summed:?} (awarded, paid, released, recoverable, recovered)"),
            ));
        }
        if let Some(c) = campaign.get(g.campaign_id.as_str())
            && c.match_amount != g.awarded
        {
            violations.push(v(
                "grant_awarded",
                &g.id,
                format!(
                    "awarded {} but the committed match is {}",
                    g.awarded, c.match_amount
                ),
            ));
        }
        for p in &mine {
            let committed = p.awarded - p.released - p.paid;
            let open = open_by_part
                .get(&(g.id.clone(), p.funder_id.clone()))
                .copied()
                .unwrap_or(0);
            if committed < 0 || open > committed {
                violations.push(v(
                    "grant_identity",
                    &g.id,
                    format!(
                        "funder {}: awarded {} = released {} + paid {} + payable or in a batch {} + not yet payable {}",
                        p.funder_id,
                        p.awarded,
                        p.released,
                        p.paid,
                        open,
                        committed - open
                    ),
                ));
            }
            let e = by_funder.entry(p.funder_id.clone()).or_default();
            e.1 += committed;
            e.2 += p.paid - p.recoverable - p.recovered;
            *owed.entry(p.funder_id.clone()).or_default() += p.recoverable;
        }
        let ceiling = match g.status {
            GrantStatus::Revoked => 0,
            _ => g.due.unwrap_or(g.award_limit).min(g.award_limit),
        };
        if (g.paid - ceiling).max(0) != g.recoverable + g.recovered && g.paid - ceiling > 0 {
            violations.push(v(
                "grant_recoverable",
                &g.id,
                format!(
                    "paid {} beyond the ceiling {ceiling}, but recoverable {} + recovered {}",
                    g.paid, g.recoverable, g.recovered
                ),
            ));
        }
    }
    for c in all_campaigns {
        if matches!(c.match_status, MatchState::Committed | MatchState::Settled)
            && c.match_amount > 0
            && !with_grant.contains(&c.id)
        {
            violations.push(v(
                "grant_missing",
                &c.id,
                format!("a committed match of {} without its grant", c.match_amount),
            ));
        }
    }
    Ok(owed)
}

fn money_owed_back(
    conn: &mut DbConnection,
    all_campaigns: &[CampaignRow],
    violations: &mut Vec<Violation>,
) -> QueryResult<()> {
    let mut refunding = HashSet::new();
    for c in all_campaigns {
        let held = match c.match_status {
            MatchState::Reserved => !matches!(
                c.status,
                CampaignStatus::Approved | CampaignStatus::Live | CampaignStatus::Closing
            ),
            MatchState::Committed | MatchState::Settled => c.status != CampaignStatus::Succeeded,
            _ => false,
        };
        if held {
            violations.push(v(
                "match_orphaned",
                &c.id,
                format!(
                    "a {} campaign holds a {} match of {}",
                    c.status, c.match_status, c.match_amount
                ),
            ));
        }
        if c.status.refunds_arriving_money() {
            refunding.insert(c.id.clone());
        }
    }
    // Refunds by pledge: (status, amount).
    let refund_rows: Vec<(String, String)> = refunds::table
        .select((refunds::pledge_id, refunds::status))
        .load(conn)?;
    let refund_of: HashMap<String, String> = refund_rows.into_iter().collect();
    let counted: Vec<(String, String, i64, String)> = pledges::table
        .filter(pledges::counted_amount.gt(0))
        .filter(pledges::campaign_id.eq_any(refunding.iter().cloned().collect::<Vec<_>>()))
        .select((
            pledges::id,
            pledges::campaign_id,
            pledges::counted_amount,
            pledges::dispute,
        ))
        .load(conn)?;
    for (pledge, campaign, amount, dispute) in counted {
        // A refund that needs attention is reported as such (below), not twice.
        let under_way = refund_of.contains_key(&pledge);
        if !under_way && dispute != "open" {
            violations.push(v(
                "late_money",
                &pledge,
                format!("{amount} counted for campaign {campaign}, which can no longer use it, and no refund is queued"),
            ));
        }
    }
    /// A flagged pledge: id, amount and currency expected, amount and currency received.
    type Flagged = (String, i64, String, Option<i64>, Option<String>);
    let flagged: Vec<Flagged> = pledges::table
        .filter(pledges::flagged_reason.is_not_null())
        .select((
            pledges::id,
            pledges::amount,
            pledges::currency,
            pledges::flagged_amount,
            pledges::flagged_currency,
        ))
        .load(conn)?;
    for (pledge, expected, currency, received, received_currency) in flagged {
        let refund = refund_of.get(&pledge).map(String::as_str);
        if refund == Some("succeeded") {
            continue;
        }
        violations.push(v(
            "flagged_payment",
            &pledge,
            format!(
                "expected {expected} {currency}, received {} {}; refund: {}",
                received
                    .map(|r| r.to_string())
                    .unwrap_or_else(|| "?".into()),
                received_currency.unwrap_or_else(|| "?".into()),
                refund.unwrap_or("none (POST /v1/pledges/{id}/refund)")
            ),
        ));
    }
    let attention: Vec<(String, String, Option<String>)> = refunds::table
        .filter(refunds::status.eq(RefundStatus::NeedsAttention))
        .select((refunds::id, refunds::pledge_id, refunds::last_error))
        .load(conn)?;
    for (refund, pledge, error) in attention {
        violations.push(v(
            "refund_needs_attention",
            &refund,
            format!(
                "refund of pledge {pledge}: {}",
                error.unwrap_or_else(|| "failed at the provider".into())
            ),
        ));
    }
    Ok(())
}

/// The public-finance duties: every counted donation has its receipt, numbered without gaps,
/// voided exactly when its money went back; every public funder's committed part has its award.
fn public_duties(conn: &mut DbConnection, violations: &mut Vec<Violation>) -> QueryResult<()> {
    use super::schema::{awards, receipt_counters, receipt_queue, receipts};
    use crate::domain::fund::FunderKind;
    use diesel::dsl::{count_star, max};
    // A receipt still queued for its number counts as issued (`app::receipts`).
    let unreceipted: Vec<String> = pledges::table
        .left_join(receipts::table)
        .left_join(receipt_queue::table)
        .filter(pledges::paid.eq(true))
        .filter(receipts::pledge_id.nullable().is_null())
        .filter(receipt_queue::pledge_id.nullable().is_null())
        .select(pledges::id)
        .limit(1000)
        .load(conn)?;
    for id in unreceipted {
        violations.push(v(
            "receipt_missing",
            &id,
            "a counted donation has no receipt".into(),
        ));
    }
    let years: Vec<(String, i32, i64, Option<i32>)> = receipts::table
        .group_by((receipts::association_id, receipts::year))
        .select((
            receipts::association_id,
            receipts::year,
            count_star(),
            max(receipts::number),
        ))
        .load(conn)?;
    let counters: HashMap<(String, i32), i32> = receipt_counters::table
        .select((
            receipt_counters::association_id,
            receipt_counters::year,
            receipt_counters::last_number,
        ))
        .load::<(String, i32, i32)>(conn)?
        .into_iter()
        .map(|(a, y, n)| ((a, y), n))
        .collect();
    for (association, year, n, top) in years {
        let counter = counters.get(&(association.clone(), year)).copied();
        if top != Some(n as i32) || counter != Some(n as i32) {
            violations.push(v(
                "receipt_numbering",
                &association,
                format!("{year}: {n} receipts, highest number {top:?}, counter at {counter:?}"),
            ));
        }
    }
    let returned = ["refunded", "charged_back"];
    let wrongly_standing: Vec<String> = receipts::table
        .inner_join(pledges::table)
        .filter(pledges::status.eq_any(returned))
        .filter(receipts::voided_at.is_null())
        .select(receipts::pledge_id)
        .limit(1000)
        .load(conn)?;
    let wrongly_voided: Vec<String> = receipts::table
        .inner_join(pledges::table)
        .filter(pledges::status.ne_all(returned))
        .filter(receipts::voided_at.is_not_null())
        .select(receipts::pledge_id)
        .limit(1000)
        .load(conn)?;
    for id in wrongly_standing {
        violations.push(v(
            "receipt_voided",
            &id,
            "the donation went back to the donor but its receipt stands".into(),
        ));
    }
    for id in wrongly_voided {
        violations.push(v(
            "receipt_voided",
            &id,
            "the receipt is voided but the donation stands".into(),
        ));
    }
    let parts: Vec<(String, String, i64, Option<i64>)> = match_parts::table
        .inner_join(funders::table)
        .inner_join(campaigns::table)
        .left_join(
            awards::table.on(awards::campaign_id
                .eq(match_parts::campaign_id)
                .and(awards::funder_id.eq(match_parts::funder_id))),
        )
        .filter(funders::kind.eq(FunderKind::Public))
        .filter(match_parts::amount.gt(0))
        .filter(campaigns::match_status.eq_any([MatchState::Committed, MatchState::Settled]))
        .select((
            match_parts::campaign_id,
            match_parts::funder_id,
            match_parts::amount,
            awards::amount.nullable(),
        ))
        .load(conn)?;
    for (campaign, funder, amount, awarded) in parts {
        if awarded != Some(amount) {
            violations.push(v(
                "award_missing",
                &campaign,
                format!("funder {funder}: part {amount}, award {awarded:?}"),
            ));
        }
    }
    Ok(())
}

/// Every campaign's crowd money (spec "Crowd payouts"): for a succeeded campaign, what its
/// books count is what it raised, the fee is its ratio of that, and the rest is the
/// association's (payable, paid out, being reversed or owed) with nothing left unallotted; the
/// balances are the sums of the journal; what was paid out is what the payouts and reversals
/// say. A campaign that did not succeed has no crowd books and no payout.
fn crowd_adds_up(
    conn: &mut DbConnection,
    all_campaigns: &[CampaignRow],
    violations: &mut Vec<Violation>,
) -> QueryResult<()> {
    use super::crowd::{CrowdEntryRow, PayoutRow, PositionRow, ReversalRow};
    use super::schema::{crowd_entries, crowd_positions, payout_reversals, payouts};
    use crate::domain::crowd::{CrowdAccount, PayoutStatus, Position, ReversalStatus};
    let positions: Vec<PositionRow> = crowd_positions::table
        .select(PositionRow::as_select())
        .load(conn)?;
    let entries: Vec<CrowdEntryRow> = crowd_entries::table
        .select(CrowdEntryRow::as_select())
        .load(conn)?;
    let all_payouts: Vec<PayoutRow> = payouts::table.select(PayoutRow::as_select()).load(conn)?;
    let reversals: Vec<ReversalRow> = payout_reversals::table
        .select(ReversalRow::as_select())
        .load(conn)?;
    let campaign: HashMap<&str, &CampaignRow> =
        all_campaigns.iter().map(|c| (c.id.as_str(), c)).collect();
    let mut summed: HashMap<&str, Position> = HashMap::new();
    for e in &entries {
        let p = summed.entry(e.campaign_id.as_str()).or_default();
        for (account, delta) in [(e.debit.as_str(), -e.amount), (e.credit.as_str(), e.amount)] {
            match CrowdAccount::parse(account) {
                Some(CrowdAccount::Donors) if delta < 0 => p.collected += e.amount,
                Some(CrowdAccount::Donors) => p.refunded += e.amount,
                Some(CrowdAccount::Clearing) => p.clearing += delta,
                Some(CrowdAccount::Fees) => p.fees += delta,
                Some(CrowdAccount::Payable) => p.payable += delta,
                Some(CrowdAccount::PaidOut) => p.paid_out += delta,
                Some(CrowdAccount::Reversing) => p.reversing += delta,
                Some(CrowdAccount::Owed) => p.owed += delta,
                None => violations.push(v(
                    "crowd_books",
                    &e.campaign_id,
                    format!("entry {} names an unknown account {account}", e.id),
                )),
            }
        }
    }
    let mut with_position = HashSet::new();
    for row in &positions {
        let id = row.campaign_id.as_str();
        with_position.insert(id);
        let p = row.position();
        let from_journal = summed.get(id).copied().unwrap_or_default();
        if p != from_journal {
            violations.push(v(
                "crowd_books",
                id,
                format!("balances {p:?}, journal {from_journal:?}"),
            ));
        }
        let Some(c) = campaign.get(id) else {
            continue;
        };
        if c.status != CampaignStatus::Succeeded {
            if p.paid_out + p.payable + p.reversing + p.owed != 0 {
                violations.push(v(
                    "crowd_paid_failed",
                    id,
                    format!(
                        "a {} campaign has crowd money allotted to its association",
                        c.status
                    ),
                ));
            }
            continue;
        }
        let raised = super::crowd::crowd_raised(conn, c)?;
        if p.net() != raised {
            violations.push(v(
                "crowd_raised",
                id,
                format!("crowd books count {} of {} raised", p.net(), raised),
            ));
        }
        let fee = crate::domain::crowd::fee_of(p.net(), row.fee_ratio());
        if p.fees != fee {
            violations.push(v(
                "crowd_fee",
                id,
                format!("fees {} where the ratio gives {fee}", p.fees),
            ));
        }
        if p.clearing != -(p.reversing + p.owed) {
            violations.push(v(
                "crowd_unallotted",
                id,
                format!(
                    "{} of the crowd money is neither the fee nor the association's",
                    p.clearing + p.reversing + p.owed
                ),
            ));
        }
        let sent: i64 = all_payouts
            .iter()
            .filter(|x| x.campaign_id == id && x.status != PayoutStatus::Failed)
            .map(|x| x.amount)
            .sum();
        let back: i64 = reversals
            .iter()
            .filter(|r| r.campaign_id == id && r.status == ReversalStatus::Reversed)
            .map(|r| r.amount)
            .sum();
        let open: i64 = reversals
            .iter()
            .filter(|r| r.campaign_id == id && r.status == ReversalStatus::Pending)
            .map(|r| r.amount)
            .sum();
        let owed: i64 = reversals
            .iter()
            .filter(|r| r.campaign_id == id && r.status == ReversalStatus::Owed)
            .map(|r| r.amount)
            .sum();
        if p.paid_out + p.reversing + p.owed != sent - back || p.reversing != open || p.owed != owed
        {
            violations.push(v(
                "crowd_payouts",
                id,
                format!(
                    "books: paid out {}, reversing {}, owed {}; payouts sent {sent}, reversed {back}, \
                     reversals open {open}, owed {owed}",
                    p.paid_out, p.reversing, p.owed
                ),
            ));
        }
    }
    for x in &all_payouts {
        if !with_position.contains(x.campaign_id.as_str()) {
            violations.push(v(
                "crowd_payouts",
                &x.campaign_id,
                format!("payout {} without crowd books", x.id),
            ));
        }
        if let Some(c) = campaign.get(x.campaign_id.as_str())
            && c.status != CampaignStatus::Succeeded
            && x.status != PayoutStatus::Failed
        {
            violations.push(v(
                "crowd_paid_failed",
                &x.campaign_id,
                format!("payout {} of a {} campaign", x.id, c.status),
            ));
        }
    }
    Ok(())
}
