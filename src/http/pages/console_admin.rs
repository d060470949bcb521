//! The console's section for the admin: the areas and funds its forms offer, the associations,
//! the users and the partners.

use super::common::area_names;
use super::i18n::Tr;
use crate::app::AppState;
use crate::app::console::{accounts, associations, fund_choices};
use crate::http::error::ApiError;

/// A user or partner in the admin's lists.
pub struct Account {
    pub id: String,
    pub name: String,
    pub detail: String,
    pub disabled: bool,
}

pub(super) struct AdminSection {
    /// (id, name) of every area a fund may cover.
    pub area_choices: Vec<(String, String)>,
    /// (id, name)
    pub funds: Vec<(String, String)>,
    /// "name (tax code)"
    pub associations: Vec<String>,
    /// (id, name)
    pub association_choices: Vec<(String, String)>,
    pub users: Vec<Account>,
    pub partners: Vec<Account>,
}

impl AdminSection {
    pub(super) async fn read(state: &AppState, t: &Tr) -> Result<AdminSection, ApiError> {
        let area_choices = area_names(state)
            .await?
            .into_iter()
            .map(|a| (a.id, a.name))
            .collect();
        let funds = fund_choices(state)
            .await?
            .into_iter()
            .map(|f| (f.id, f.name))
            .collect();
        let all = associations(state).await?;
        let (users, partners) = accounts(state).await?;
        Ok(AdminSection {
            area_choices,
            funds,
            associations: all
                .iter()
                .map(|a| format!("{} ({})", a.name, a.tax_code))
                .collect(),
            association_choices: all.into_iter().map(|a| (a.id, a.name)).collect(),
            users: users
                .into_iter()
                .map(|u| Account {
                    detail: t.get(&format!("role-{}", u.role.as_str())),
                    id: u.id,
                    name: u.username,
                    disabled: u.disabled,
                })
                .collect(),
            partners: partners
                .into_iter()
                .map(|p| Account {
                    id: p.id,
                    name: p.name,
                    detail: p.client_id,
                    disabled: p.disabled,
                })
                .collect(),
        })
    }
}
