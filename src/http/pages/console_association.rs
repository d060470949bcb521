//! The console's section for an association: its campaigns, the funds it may apply to, the
//! year's donations with their receipts and its grants.

use super::common::{OwnCampaign, list_params, own_line};
use super::console_grants::{GrantLine, read_lines};
use super::i18n::Tr;
use crate::app::AppState;
use crate::app::console::{DonorFacts, donors_of, fund_choices, receipts_of_year};
use crate::http::controllers::campaigns;
use crate::http::error::ApiError;
use crate::http::extract::Principal;
use chrono::Datelike;

pub struct DonationLine {
    pub pledge_id: String,
    /// The donor's e-mail, only when they agreed to be contacted.
    pub contact: String,
    pub number: String,
    pub date: String,
    pub donor: String,
    pub campaign: String,
    pub amount: String,
    pub voided: bool,
}

pub(super) struct AssociationSection {
    pub own: Vec<OwnCampaign>,
    /// (id, name)
    pub funds: Vec<(String, String)>,
    /// The latest 200 of the year, newest first.
    pub donations: Vec<DonationLine>,
    /// The grants of its succeeded campaigns.
    pub grants: Vec<GrantLine>,
}

impl AssociationSection {
    pub(super) async fn read(
        state: &AppState,
        principal: &Principal,
        t: &Tr,
    ) -> Result<AssociationSection, ApiError> {
        let own =
            campaigns::list_campaigns(state, Some(principal.clone()), list_params(None)).await?;
        let own = own.data.into_iter().map(|c| own_line(t, c)).collect();
        let funds = fund_choices(state)
            .await?
            .into_iter()
            .map(|f| (f.id, f.name))
            .collect();
        let association = principal.association_id.clone().unwrap_or_default();
        let year = crate::clock::now().year();
        let receipts = receipts_of_year(state, association, year).await?;
        let pledge_ids: Vec<String> = receipts
            .iter()
            .map(|r| r.receipt.pledge_id.clone())
            .collect();
        // Who gave anonymously, and the contact of those who agreed to be contacted.
        let donors: Vec<DonorFacts> = donors_of(state, pledge_ids).await?;
        let anonymous: Vec<&str> = donors
            .iter()
            .filter(|d| d.anonymous)
            .map(|d| d.pledge_id.as_str())
            .collect();
        let contact = |pledge: &str| {
            donors
                .iter()
                .find(|d| d.pledge_id == pledge && !d.anonymous && d.contact_consent)
                .and_then(|d| d.email.clone())
        };
        let donations = receipts
            .into_iter()
            .rev()
            .take(200)
            .map(|f| {
                let r = &f.receipt;
                DonationLine {
                    number: crate::domain::receipt::number(r.year, r.number),
                    date: t.date(r.issued_at.date()),
                    contact: contact(&r.pledge_id).unwrap_or_default(),
                    donor: if anonymous.contains(&r.pledge_id.as_str()) {
                        t.get("donor-anonymous")
                    } else {
                        f.donor_name
                            .clone()
                            .unwrap_or_else(|| t.get("donor-erased"))
                    },
                    campaign: f.campaign_title.clone(),
                    amount: t.money(r.amount, &r.currency),
                    voided: r.voided_at.is_some(),
                    pledge_id: r.pledge_id.clone(),
                }
            })
            .collect();
        let grants = read_lines(state, principal, t, None).await?;
        Ok(AssociationSection {
            own,
            funds,
            donations,
            grants,
        })
    }
}
