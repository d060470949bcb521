//! The roles of the spec's "Users and roles" table.

use super::stored::stored_as_text;
use serde::{Deserialize, Serialize};

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    diesel::AsExpression,
    diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Reviewer,
    Finance,
    Association,
    Partner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Reviewer => "reviewer",
            Role::Finance => "finance",
            Role::Association => "association",
            Role::Partner => "partner",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "admin" => Role::Admin,
            "reviewer" => Role::Reviewer,
            "finance" => Role::Finance,
            "association" => Role::Association,
            "partner" => Role::Partner,
            _ => return None,
        })
    }

    /// City staff may read every campaign, in every state.
    pub fn is_city_staff(self) -> bool {
        matches!(self, Role::Admin | Role::Reviewer | Role::Finance)
    }
}

stored_as_text!(Role, "role", Role::parse, |v| v.as_str().to_string());

super::stored::display_as_str!(Role);
