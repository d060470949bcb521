//! Row types, one per table. Stored states are text columns read into enums (an unknown
//! stored value fails the load: see `db::stored`).

use super::schema::*;
use crate::domain::campaign::CampaignStatus;
use crate::domain::delivery::{Channel, DeliveryStatus};
use crate::domain::ledger::{Account, Movement};
use crate::domain::matching::{Decision, MatchState};
use crate::domain::money::{Currency, Ratio};
use crate::domain::pledge::{Dispute, EventOutcome, PledgeStatus, RefundStatus};
use crate::domain::settlement::{ItemStatus, SettlementStatus};
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = associations)]
pub struct AssociationRow {
    pub id: String,
    pub name: String,
    pub tax_code: String,
    pub iban: String,
    pub bic: Option<String>,
    pub email: String,
    pub created_at: NaiveDateTime,
    /// Registration in the Registro Unico Nazionale del Terzo Settore, printed on receipts.
    pub runts_id: Option<String>,
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: String,
    pub username: String,
    pub password_hash: String,
    pub role: crate::domain::role::Role,
    pub association_id: Option<String>,
    pub email: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = partners)]
pub struct PartnerRow {
    pub id: String,
    pub name: String,
    pub client_id: String,
    pub client_secret_hash: String,
    pub webhook_url: Option<String>,
    pub webhook_secret: String,
    pub created_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = areas)]
pub struct AreaRow {
    pub id: String,
    pub code: String,
    pub name: String,
    pub geometry: String,
    pub created_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = funds)]
pub struct FundRow {
    pub id: String,
    pub name: String,
    pub currency: Currency,
    pub budget: i64,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub threshold_ratio: Ratio,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub match_ratio: Ratio,
    pub max_match_per_campaign: Option<i64>,
    pub min_goal: Option<i64>,
    pub max_goal: Option<i64>,
    pub min_donors: i32,
    pub opens_at: NaiveDateTime,
    pub closes_at: NaiveDateTime,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub allocation: crate::domain::fund::Allocation,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub exhaustion_policy: crate::domain::fund::ExhaustionPolicy,
    pub cup: Option<String>,
    pub reserved: i64,
    pub committed: i64,
    pub settled: i64,
    pub created_at: NaiveDateTime,
    /// Held for pledges being paid (`per_donation`).
    pub held: i64,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub funding_split: crate::domain::fund::FundingSplit,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub match_policy: crate::domain::fund::MatchPolicy,
    pub max_match_per_donation: Option<i64>,
    pub match_hold_secs: i32,
    pub min_contribution: i64,
    /// When a `quadratic` round's pool was shared.
    pub distributed_at: Option<NaiveDateTime>,
    /// The call and the act that adopted it (transparency register).
    pub legal_basis: Option<String>,
    /// The office in charge of the procedure.
    pub office: Option<String>,
    pub responsible_official: Option<String>,
    pub selection_method: Option<String>,
    /// SIOPE code of the expense (`codice_cgu` on the treasury's payment order).
    pub siope_code: Option<String>,
    /// Which gifts a quadratic round counts (`donor`, `tax_code`).
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub quadratic_identity: crate::domain::fund::QuadraticIdentity,
    /// When the award is paid (`on_commitment`, `tranches`).
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub payment_plan: crate::domain::grant::PaymentPlan,
    /// The share of the award paid at commitment (`tranches`).
    pub advance_ratio: Option<String>,
    /// How long after the decision the final report is due.
    pub reporting_days: i32,
    /// Paid money associations owe back.
    pub recoverable: i64,
}

/// One funder of a fund: its own budget, figures and ledger accounts.
#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = funders)]
pub struct FunderRow {
    pub id: String,
    pub fund_id: String,
    pub name: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub kind: crate::domain::fund::FunderKind,
    pub tax_code: Option<String>,
    pub iban: Option<String>,
    pub bic: Option<String>,
    pub priority: i32,
    pub share: Option<String>,
    pub budget: i64,
    pub held: i64,
    pub reserved: i64,
    pub committed: i64,
    pub settled: i64,
    pub created_at: NaiveDateTime,
    /// Paid money owed back to this funder.
    pub recoverable: i64,
}

impl FunderRow {
    /// What is neither held, reserved, committed, settled nor owed back.
    pub fn available(&self) -> i64 {
        self.budget - self.held - self.reserved - self.committed - self.settled - self.recoverable
    }

    /// The funder as the split sees it (a stored share that does not parse counts as none).
    pub fn room(&self) -> crate::domain::funding::Room {
        crate::domain::funding::Room {
            available: self.available(),
            share: self.share.as_deref().and_then(|s| Ratio::parse(s).ok()),
        }
    }
}

/// A funder's part of a campaign's match.
#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = match_parts)]
pub struct MatchPartRow {
    pub campaign_id: String,
    pub funder_id: String,
    pub fund_id: String,
    pub amount: i64,
    pub settlement_id: Option<String>,
    pub settled: bool,
}

/// A funder's part of the match held for one pledge (`per_donation`).
#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = match_holds)]
pub struct MatchHoldRow {
    pub pledge_id: String,
    pub funder_id: String,
    pub campaign_id: String,
    pub fund_id: String,
    pub amount: i64,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: crate::domain::per_donation::HoldStatus,
    pub expires_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

impl FundRow {
    /// The crowd's threshold for a campaign of `goal` in this fund.
    pub fn threshold_for(&self, goal: i64) -> i64 {
        crate::domain::matching::threshold(goal, self.threshold_ratio)
    }

    /// The top-up a campaign of `goal` would get in this fund.
    pub fn top_up_for(&self, goal: i64) -> i64 {
        crate::domain::matching::top_up(goal, self.match_ratio, self.max_match_per_campaign)
    }

    /// What is neither held, reserved, committed, settled nor owed back.
    pub fn available(&self) -> i64 {
        self.budget - self.held - self.reserved - self.committed - self.settled - self.recoverable
    }
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = fund_areas)]
pub struct FundAreaRow {
    pub fund_id: String,
    pub area_id: String,
}

#[derive(Queryable, QueryableByName, Selectable, Insertable, AsChangeset, Clone, Debug)]
#[diesel(table_name = campaigns)]
pub struct CampaignRow {
    pub id: String,
    pub association_id: String,
    pub fund_id: String,
    pub area_id: String,
    pub title: String,
    pub summary: String,
    pub goal: i64,
    pub currency: Currency,
    pub location_lat: f64,
    pub location_lon: f64,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub status: CampaignStatus,
    pub rejection_reason: Option<String>,
    pub raised: i64,
    pub donors: i32,
    pub match_status: MatchState,
    pub match_amount: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub waitlisted_at: Option<NaiveDateTime>,
    pub decided_at: Option<NaiveDateTime>,
    pub settlement_id: Option<String>,
    /// The project's cost plan (JSON, see `domain::call::CostPlan`).
    pub cost_plan: Option<String>,
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = settlements)]
pub struct SettlementRow {
    pub id: String,
    pub fund_id: String,
    pub status: SettlementStatus,
    pub currency: Currency,
    pub total: i64,
    pub item_count: i32,
    pub message_id: String,
    pub bank_reference: Option<String>,
    pub paid_at: Option<NaiveDateTime>,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub confirmed_at: Option<NaiveDateTime>,
    pub cancelled_at: Option<NaiveDateTime>,
    /// The funder that pays this batch.
    pub funder_id: String,
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = settlement_items)]
pub struct SettlementItemRow {
    pub id: String,
    pub settlement_id: String,
    pub association_id: String,
    pub creditor_name: String,
    pub iban: String,
    pub bic: Option<String>,
    pub amount: i64,
    pub end_to_end_id: String,
    pub remittance: String,
    pub status: ItemStatus,
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = settlement_lines)]
pub struct SettlementLineRow {
    pub settlement_id: String,
    pub item_id: String,
    pub campaign_id: String,
    pub amount: i64,
    /// The grant tranche this line pays.
    pub tranche_id: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub tranche: crate::domain::grant::TrancheKind,
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = pledges)]
pub struct PledgeRow {
    pub id: String,
    pub campaign_id: String,
    pub partner_id: String,
    pub amount: i64,
    pub currency: Currency,
    pub status: PledgeStatus,
    pub paid: bool,
    pub failed: bool,
    pub canceled: bool,
    pub expired: bool,
    pub refunded_amount: i64,
    pub dispute: Dispute,
    pub counted_amount: i64,
    pub donor_key: String,
    pub message: Option<String>,
    pub provider: crate::config::ProviderKind,
    pub provider_payment_id: Option<String>,
    pub client_secret: Option<String>,
    pub provider_idempotency_key: String,
    pub idempotency_key: String,
    pub request_hash: String,
    pub creation_response: Option<String>,
    pub flagged_reason: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub confirmed_at: Option<NaiveDateTime>,
    /// What a flagged payment brought in, as the provider reported it.
    pub flagged_amount: Option<i64>,
    pub flagged_currency: Option<String>,
    /// The provider reported the payment `processing` (SEPA Direct Debit and the like).
    pub processing: bool,
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = donors)]
pub struct DonorRow {
    pub pledge_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub anonymous: bool,
    pub contact_consent: bool,
    pub locale: String,
    pub erased_at: Option<NaiveDateTime>,
    /// Codice fiscale given for the tax receipt; erased with the donor.
    pub tax_code: Option<String>,
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = provider_events)]
pub struct ProviderEventRow {
    pub id: String,
    pub type_: String,
    pub payment_id: Option<String>,
    pub pledge_id: Option<String>,
    pub outcome: EventOutcome,
    pub payload: String,
    pub received_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = refunds)]
pub struct RefundRow {
    pub id: String,
    pub pledge_id: String,
    pub amount: i64,
    pub reason: String,
    pub status: RefundStatus,
    pub attempts: i32,
    pub idempotency_key: String,
    pub provider_refund_id: Option<String>,
    pub last_error: Option<String>,
    pub next_attempt_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = match_decisions)]
pub struct MatchDecisionRow {
    pub id: String,
    pub campaign_id: String,
    pub fund_id: String,
    pub decision: Decision,
    pub amount: i64,
    pub inputs: String,
    pub created_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = journal_entries)]
pub struct JournalEntryRow {
    pub id: String,
    pub fund_id: String,
    pub campaign_id: Option<String>,
    pub kind: Movement,
    pub memo: String,
    pub reverses: Option<String>,
    pub created_at: NaiveDateTime,
    pub funder_id: String,
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = postings)]
pub struct PostingRow {
    pub id: String,
    pub entry_id: String,
    pub fund_id: String,
    pub funder_id: String,
    pub account: Account,
    pub amount: i64,
    pub currency: Currency,
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = audit_log)]
pub struct AuditRow {
    pub id: String,
    pub actor_id: Option<String>,
    pub actor_role: String,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub detail: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    pub id: String,
    pub channel: Channel,
    pub recipient: String,
    pub topic: String,
    pub locale: String,
    pub payload: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub lease_until: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
}

/// One public funder's part of a committed match, as the transparency register shows it.
#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = awards)]
pub struct AwardRow {
    pub id: String,
    pub fund_id: String,
    pub funder_id: String,
    pub campaign_id: String,
    pub association_id: String,
    pub amount: i64,
    pub currency: Currency,
    pub year: i32,
    pub awarded_at: NaiveDateTime,
    /// None until the fund has everything the register must show.
    pub published_at: Option<NaiveDateTime>,
    pub beneficiary_name: String,
    pub beneficiary_tax_code: String,
    pub legal_basis: Option<String>,
    pub office: Option<String>,
    pub responsible_official: Option<String>,
    pub selection_method: Option<String>,
}

/// A donation's tax receipt: its number per association and year.
#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = receipts)]
pub struct ReceiptRow {
    pub pledge_id: String,
    pub association_id: String,
    pub campaign_id: String,
    pub year: i32,
    pub number: i32,
    pub amount: i64,
    pub currency: Currency,
    pub issued_at: NaiveDateTime,
    pub voided_at: Option<NaiveDateTime>,
}

/// A campaign's grant: the committed match as the city pays it (see `domain::grant`).
#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = grants)]
pub struct GrantRow {
    pub id: String,
    pub campaign_id: String,
    pub fund_id: String,
    pub association_id: String,
    pub currency: Currency,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub payment_plan: crate::domain::grant::PaymentPlan,
    pub advance_ratio: Option<String>,
    /// The campaign's goal: the project's cost the contribution due is measured against.
    pub goal: i64,
    /// The committed match.
    pub awarded: i64,
    /// The award after reductions (0 once revoked).
    pub award_limit: i64,
    pub due: Option<i64>,
    pub accepted_expenses: i64,
    pub paid: i64,
    pub released: i64,
    /// Paid money asked back and not yet received.
    pub recoverable: i64,
    pub recovered: i64,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: crate::domain::grant::GrantStatus,
    /// The state a grant under review returns to when confirmed.
    pub review_from: Option<String>,
    /// The campaign's confirmed money when finance last decided a review.
    pub reviewed_raised: Option<i64>,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub award_status: crate::domain::grant::AwardStatus,
    pub report_due_at: NaiveDateTime,
    pub summary: Option<String>,
    pub reported_at: Option<NaiveDateTime>,
    pub approved_at: Option<NaiveDateTime>,
    pub decision_reason: Option<String>,
    pub reminded_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// One funder's part of a grant.
#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = grant_parts)]
pub struct GrantPartRow {
    pub grant_id: String,
    pub funder_id: String,
    pub fund_id: String,
    pub awarded: i64,
    pub advance: i64,
    pub paid: i64,
    pub released: i64,
    pub recoverable: i64,
    pub recovered: i64,
}

/// What one funder pays of a grant in one transfer.
#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = grant_tranches)]
pub struct GrantTrancheRow {
    pub id: String,
    pub grant_id: String,
    pub campaign_id: String,
    pub fund_id: String,
    pub funder_id: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub kind: crate::domain::grant::TrancheKind,
    pub amount: i64,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: crate::domain::grant::TrancheStatus,
    pub settlement_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub paid_at: Option<NaiveDateTime>,
}

/// A document of a grant's report, without its bytes.
#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = grant_documents)]
pub struct GrantDocumentMeta {
    pub id: String,
    pub grant_id: String,
    pub association_id: String,
    pub filename: String,
    pub media_type: String,
    pub size: i64,
    pub sha256: String,
    pub uploaded_by: String,
    pub created_at: NaiveDateTime,
}

/// A document of a grant's report, as stored.
#[derive(Insertable, Clone, Debug)]
#[diesel(table_name = grant_documents)]
pub struct NewGrantDocument {
    pub id: String,
    pub grant_id: String,
    pub association_id: String,
    pub filename: String,
    pub media_type: String,
    pub size: i64,
    pub sha256: String,
    pub content: Vec<u8>,
    pub uploaded_by: String,
    pub created_at: NaiveDateTime,
}

/// An expense line of a grant's report.
#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = grant_expenses)]
pub struct GrantExpenseRow {
    pub id: String,
    pub grant_id: String,
    pub category: String,
    pub supplier: String,
    pub supplier_tax_code: Option<String>,
    pub document_number: String,
    pub document_date: chrono::NaiveDate,
    pub amount: i64,
    pub paid_at: chrono::NaiveDate,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub payment_method: crate::domain::grant::PaymentMethod,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: crate::domain::grant::ExpenseStatus,
    pub reason: Option<String>,
    pub checked_by: Option<String>,
    pub checked_at: Option<NaiveDateTime>,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}
