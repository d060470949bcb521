//! Project updates: an association tells its donors what happened with the project. The
//! update is public on the campaign's page and e-mailed, in the same transaction, to every
//! donor who agreed to be contacted (one message per address).

use crate::app::{AppState, Invalid};
use crate::auth::Principal;
use crate::clock::now;
use crate::db::models::CampaignRow;
use crate::db::queries::audit;
use crate::db::schema::campaigns;
use crate::db::updates::{self as store, UpdateRow};
use crate::db::{DbConnection, DbError, write_tx};
use crate::domain::ids;
use crate::domain::role::Role;
use crate::domain::update::{PER_DAY, UpdateText};
use diesel::prelude::*;

/// Updates a list shows at most.
pub const LISTED: i64 = 50;

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("the request has invalid fields")]
    Invalid(Vec<Invalid>),
    /// Not now (409, with a machine-readable code).
    #[error("{1}")]
    Conflict(&'static str, String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for UpdateError {
    fn from(e: diesel::result::Error) -> UpdateError {
        UpdateError::Db(DbError::Query(e))
    }
}

fn campaign(conn: &mut DbConnection, id: &str) -> Result<CampaignRow, UpdateError> {
    campaigns::table
        .find(id)
        .select(CampaignRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(UpdateError::NotFound("campaign"))
}

/// Posts an update on the caller's own public campaign and queues it for consenting donors.
pub async fn post(
    state: &AppState,
    principal: Principal,
    campaign_id: String,
    title: String,
    body: String,
) -> Result<UpdateRow, UpdateError> {
    if principal.role != Role::Association {
        return Err(UpdateError::Forbidden(
            "only the association running the campaign posts its updates",
        ));
    }
    let text = UpdateText::parse(&title, &body).map_err(|problems| {
        UpdateError::Invalid(
            problems
                .into_iter()
                .map(|p| Invalid::new(p.field, p.reason))
                .collect(),
        )
    })?;
    let url = state
        .config
        .public_url
        .link(&format!("/campaigns/{campaign_id}"));
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let c = campaign(conn, &campaign_id)?;
                if !principal.is_member_of(&c.association_id) {
                    return Err(UpdateError::Forbidden(
                        "this campaign belongs to another association",
                    ));
                }
                if !c.status.is_public() {
                    return Err(UpdateError::Conflict(
                        "not_public",
                        "updates are for campaigns the public can see".into(),
                    ));
                }
                let t = now();
                if store::count_since(conn, &campaign_id, t - chrono::Duration::hours(24))?
                    >= PER_DAY
                {
                    return Err(UpdateError::Conflict(
                        "too_many_updates",
                        format!("at most {PER_DAY} updates a day: each one e-mails every donor"),
                    ));
                }
                let donors = store::consenting_donors(conn, &campaign_id)?;
                let row = UpdateRow {
                    id: ids::new_id(ids::UPDATE),
                    campaign_id: campaign_id.clone(),
                    title: text.title,
                    body: text.body,
                    author_id: principal.sub.clone(),
                    recipients: i32::try_from(donors.len()).unwrap_or(i32::MAX),
                    created_at: t,
                };
                store::insert(conn, &row)?;
                crate::notify::campaign_update(
                    conn, &donors, &c.title, &url, &row.title, &row.body,
                )?;
                audit(
                    conn,
                    &principal,
                    "campaign.update",
                    "campaign",
                    &campaign_id,
                    Some(format!("{} ({} donors)", row.id, row.recipients)),
                )?;
                Ok(row)
            })
        })
        .await
}

/// A public campaign's updates, newest first (anyone; the owner also before it is public).
pub async fn list(
    state: &AppState,
    principal: Option<Principal>,
    campaign_id: String,
) -> Result<Vec<UpdateRow>, UpdateError> {
    state
        .db
        .read(move |conn| {
            let c = campaign(conn, &campaign_id)?;
            let own = principal
                .as_ref()
                .is_some_and(|p| p.is_member_of(&c.association_id) || p.role.is_city_staff());
            if !c.status.is_public() && !own {
                return Err(UpdateError::NotFound("campaign"));
            }
            Ok(store::of_campaign(conn, &campaign_id, LISTED)?)
        })
        .await
}
