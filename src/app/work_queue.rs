//! What needs a console user now: the counts behind each role's opening page. One read, each
//! count an indexed `COUNT(*)` scoped to what the caller may act on (an association counts only
//! its own campaigns, grants and bank credits; an evaluator only the applications assigned to
//! them), so the page costs the same at any size of the programme.

use super::AppState;
use crate::auth::Principal;
use crate::db::schema::{
    bank_entries, campaigns, evaluators, grant_tranches, grants, scores, settlements,
};
use crate::db::{DbConnection, DbError};
use crate::domain::bank_entry::BankEntryStatus;
use crate::domain::grant::{GrantStatus, TrancheStatus};
use crate::domain::role::Role;
use crate::domain::settlement::SettlementStatus;
use diesel::dsl::{count_star, exists, not};
use diesel::prelude::*;

/// Counts of the work waiting for one console user; a count the role does not act on is `None`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkCounts {
    /// An association's campaigns still in draft.
    pub drafts: Option<i64>,
    /// An association's campaigns sent back by a reviewer.
    pub rejected: Option<i64>,
    /// An association's grants whose spending report is still to file (open or overdue).
    pub reports_due: Option<i64>,
    /// Bank credits of an association that matched no pledge, or matched one with another amount.
    pub credits_to_match: Option<i64>,
    /// Campaigns submitted for review.
    pub to_review: Option<i64>,
    /// Applications assigned to this evaluator with no score of theirs yet.
    pub to_score: Option<i64>,
    /// Grant reports submitted and waiting for finance's approval.
    pub reports_to_approve: Option<i64>,
    /// Grants whose money moved after the decision, waiting for finance.
    pub grants_under_review: Option<i64>,
    /// Tranches payable and in no batch yet.
    pub tranches_payable: Option<i64>,
    /// Draft batches waiting for a second person to confirm them paid.
    pub batches_to_confirm: Option<i64>,
    /// Bank credits, of any association, that no pledge claimed.
    pub credits_unclaimed: Option<i64>,
}

/// The counts for `principal`'s role.
pub async fn work_counts(state: &AppState, principal: &Principal) -> Result<WorkCounts, DbError> {
    let role = principal.role;
    let user = principal.sub.clone();
    let association = principal.association_id.clone();
    state
        .db
        .read(move |conn| -> Result<WorkCounts, DbError> {
            let mut w = WorkCounts::default();
            if let (Role::Association, Some(a)) = (role, association.as_deref()) {
                let own = |status: &str, conn: &mut DbConnection| -> QueryResult<i64> {
                    campaigns::table
                        .filter(campaigns::association_id.eq(a))
                        .filter(campaigns::status.eq(status))
                        .select(count_star())
                        .first(conn)
                };
                w.drafts = Some(own("draft", conn)?);
                w.rejected = Some(own("rejected", conn)?);
                w.reports_due =
                    Some(
                        grants::table
                            .filter(grants::association_id.eq(a))
                            .filter(grants::status.eq_any([
                                GrantStatus::Open.as_str(),
                                GrantStatus::Overdue.as_str(),
                            ]))
                            .select(count_star())
                            .first(conn)?,
                    );
                w.credits_to_match = Some(
                    bank_entries::table
                        .filter(bank_entries::association_id.eq(a))
                        .filter(bank_entries::status.eq_any([
                            BankEntryStatus::Unmatched.as_str(),
                            BankEntryStatus::Flagged.as_str(),
                        ]))
                        .select(count_star())
                        .first(conn)?,
                );
            }
            if matches!(role, Role::Reviewer | Role::Admin) {
                w.to_review = Some(
                    campaigns::table
                        .filter(campaigns::status.eq("submitted"))
                        .select(count_star())
                        .first(conn)?,
                );
            }
            if role == Role::Reviewer {
                let mine = scores::table
                    .filter(scores::campaign_id.eq(evaluators::campaign_id))
                    .filter(scores::user_id.eq(&user));
                w.to_score = Some(
                    evaluators::table
                        .filter(evaluators::user_id.eq(&user))
                        .filter(
                            evaluators::conflict
                                .is_null()
                                .or(evaluators::conflict.eq(false)),
                        )
                        .filter(not(exists(mine)))
                        .select(count_star())
                        .first(conn)?,
                );
            }
            if matches!(role, Role::Finance | Role::Admin) {
                let grants_in =
                    |status: GrantStatus, conn: &mut DbConnection| -> QueryResult<i64> {
                        grants::table
                            .filter(grants::status.eq(status.as_str()))
                            .select(count_star())
                            .first(conn)
                    };
                w.reports_to_approve = Some(grants_in(GrantStatus::Reported, conn)?);
                w.grants_under_review = Some(grants_in(GrantStatus::UnderReview, conn)?);
                w.tranches_payable = Some(
                    grant_tranches::table
                        .filter(grant_tranches::status.eq(TrancheStatus::Payable.as_str()))
                        .filter(grant_tranches::settlement_id.is_null())
                        .select(count_star())
                        .first(conn)?,
                );
                w.batches_to_confirm = Some(
                    settlements::table
                        .filter(settlements::status.eq(SettlementStatus::Draft.as_str()))
                        .select(count_star())
                        .first(conn)?,
                );
                w.credits_unclaimed = Some(
                    bank_entries::table
                        .filter(bank_entries::status.eq_any([
                            BankEntryStatus::Unmatched.as_str(),
                            BankEntryStatus::Flagged.as_str(),
                        ]))
                        .select(count_star())
                        .first(conn)?,
                );
            }
            Ok(w)
        })
        .await
}
