//! Project updates: one writer for `campaign_updates`, and the donors an update goes to.

use crate::db::DbConnection;
use crate::db::schema::{campaign_updates, donors, pledges};
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = campaign_updates)]
pub struct UpdateRow {
    pub id: String,
    pub campaign_id: String,
    pub title: String,
    pub body: String,
    pub author_id: String,
    pub recipients: i32,
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, row: &UpdateRow) -> QueryResult<()> {
    diesel::insert_into(campaign_updates::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// A campaign's updates, newest first.
pub fn of_campaign(
    conn: &mut DbConnection,
    campaign_id: &str,
    limit: i64,
) -> QueryResult<Vec<UpdateRow>> {
    campaign_updates::table
        .filter(campaign_updates::campaign_id.eq(campaign_id))
        .order((
            campaign_updates::created_at.desc(),
            campaign_updates::id.desc(),
        ))
        .limit(limit)
        .select(UpdateRow::as_select())
        .load(conn)
}

pub fn count_since(
    conn: &mut DbConnection,
    campaign_id: &str,
    since: NaiveDateTime,
) -> QueryResult<i64> {
    campaign_updates::table
        .filter(campaign_updates::campaign_id.eq(campaign_id))
        .filter(campaign_updates::created_at.gt(since))
        .count()
        .get_result(conn)
}

/// One pledge per address among the campaign's paying donors who agreed to be contacted and
/// are not erased (the address is looked up again when the e-mail is sent).
pub fn consenting_donors(conn: &mut DbConnection, campaign_id: &str) -> QueryResult<Vec<String>> {
    let rows: Vec<(String, Option<String>)> = pledges::table
        .inner_join(donors::table)
        .filter(pledges::campaign_id.eq(campaign_id))
        .filter(pledges::paid.eq(true))
        .filter(donors::contact_consent.eq(true))
        .filter(donors::erased_at.is_null())
        .filter(donors::email.is_not_null())
        .order(pledges::id.asc())
        .select((pledges::id, donors::email))
        .load(conn)?;
    let mut seen = std::collections::HashSet::new();
    Ok(rows
        .into_iter()
        .filter_map(|(id, email)| {
            let key = email?.trim().to_lowercase();
            seen.insert(key).then_some(id)
        })
        .collect())
}
