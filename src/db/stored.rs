//! Stored states as text columns on both backends: `FromSql` parses (an unknown value is a
//! deserialisation error naming it: the row does not load), `ToSql` writes the stored text.
//! The types derive diesel's `AsExpression` and `FromSqlRow` for `Text` where they are
//! declared, so row types hold them and queries compare columns with them directly.

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;

macro_rules! text_column {
    ($($ty:ty => $show:expr),+ $(,)?) => {$(
        impl<DB> FromSql<Text, DB> for $ty
        where
            DB: Backend,
            String: FromSql<Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                let text = <String as FromSql<Text, DB>>::from_sql(bytes)?;
                <$ty>::try_from(text).map_err(Into::into)
            }
        }

        impl<DB> ToSql<Text, DB> for $ty
        where
            DB: Backend,
            str: ToSql<Text, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
                let show: fn(&$ty) -> &'static str = $show;
                <str as ToSql<Text, DB>>::to_sql(show(self), out)
            }
        }
    )+};
}

use crate::config::ProviderKind;
use crate::domain::bank_entry::BankEntryStatus;
use crate::domain::campaign::CampaignStatus;
use crate::domain::crowd::{
    CrowdAccount, CrowdMovement, PayoutAccountStatus, PayoutBatchStatus, PayoutMethod,
    PayoutStatus, ReversalStatus,
};
use crate::domain::delivery::{Channel, DeliveryStatus};
use crate::domain::fund::{FunderKind, MatchPolicy};
use crate::domain::grant::{
    AwardStatus, ExpenseStatus, GrantStatus, PaymentMethod, PaymentPlan, TrancheKind, TrancheStatus,
};
use crate::domain::ledger::{Account, Movement};
use crate::domain::matching::{Decision, MatchState};
use crate::domain::money::Currency;
use crate::domain::per_donation::HoldStatus;
use crate::domain::pledge::{
    Dispute, EventOutcome, PledgeStatus, RefundStatus, SimulatedPaymentStatus,
};
use crate::domain::role::Role;
use crate::domain::settlement::{ItemStatus, SettlementStatus};

text_column! {
    BankEntryStatus => |v| v.as_str(),
    CrowdAccount => |v| v.as_str(),
    CrowdMovement => |v| v.as_str(),
    PayoutAccountStatus => |v| v.as_str(),
    PayoutBatchStatus => |v| v.as_str(),
    PayoutMethod => |v| v.as_str(),
    PayoutStatus => |v| v.as_str(),
    ReversalStatus => |v| v.as_str(),
    GrantStatus => |v| v.as_str(),
    AwardStatus => |v| v.as_str(),
    TrancheKind => |v| v.as_str(),
    TrancheStatus => |v| v.as_str(),
    ExpenseStatus => |v| v.as_str(),
    PaymentMethod => |v| v.as_str(),
    PaymentPlan => |v| v.as_str(),
    CampaignStatus => |v| v.as_str(),
    MatchState => |v| v.as_str(),
    Decision => |v| v.as_str(),
    PledgeStatus => |v| v.as_str(),
    RefundStatus => |v| v.as_str(),
    Dispute => |v| v.as_str(),
    SimulatedPaymentStatus => |v| v.as_str(),
    EventOutcome => |v| v.as_str(),
    SettlementStatus => |v| v.as_str(),
    ItemStatus => |v| v.as_str(),
    Movement => |v| v.as_str(),
    Account => |v| v.as_str(),
    Channel => |v| v.as_str(),
    DeliveryStatus => |v| v.as_str(),
    Role => |v| v.as_str(),
    ProviderKind => |v| v.as_str(),
    Currency => |c| c.code(),
    HoldStatus => |v| v.as_str(),
    FunderKind => |v| v.as_str(),
    MatchPolicy => |v| v.as_str(),
}

/// Typed ids (`domain::ids`) are stored as the text they hold.
macro_rules! id_column {
    ($($ty:ty),+ $(,)?) => {$(
        impl<DB> FromSql<Text, DB> for $ty
        where
            DB: Backend,
            String: FromSql<Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                <String as FromSql<Text, DB>>::from_sql(bytes).map(<$ty>::from)
            }
        }

        impl<DB> ToSql<Text, DB> for $ty
        where
            DB: Backend,
            str: ToSql<Text, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
                <str as ToSql<Text, DB>>::to_sql(self.as_str(), out)
            }
        }
    )+};
}

use crate::domain::ids::{
    AssociationId, CampaignId, FundId, FunderId, PayoutBatchId, PayoutId, PledgeId, ReversalId,
    SettlementId,
};

id_column!(
    CampaignId,
    FundId,
    FunderId,
    PledgeId,
    AssociationId,
    SettlementId,
    PayoutId,
    PayoutBatchId,
    ReversalId
);
