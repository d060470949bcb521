//! Row types, one per table, exactly as stored.

use super::schema::*;
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
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: String,
    pub username: String,
    pub password_hash: String,
    pub role: String,
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
    pub currency: String,
    pub budget: i64,
    pub threshold_ratio: String,
    pub match_ratio: String,
    pub max_match_per_campaign: Option<i64>,
    pub min_goal: Option<i64>,
    pub max_goal: Option<i64>,
    pub min_donors: i32,
    pub opens_at: NaiveDateTime,
    pub closes_at: NaiveDateTime,
    pub allocation: String,
    pub exhaustion_policy: String,
    pub cup: Option<String>,
    pub reserved: i64,
    pub committed: i64,
    pub settled: i64,
    pub created_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = fund_areas)]
pub struct FundAreaRow {
    pub fund_id: String,
    pub area_id: String,
}

#[derive(Queryable, Selectable, Insertable, AsChangeset, Clone, Debug)]
#[diesel(table_name = campaigns)]
pub struct CampaignRow {
    pub id: String,
    pub association_id: String,
    pub fund_id: String,
    pub area_id: String,
    pub title: String,
    pub summary: String,
    pub goal: i64,
    pub currency: String,
    pub location_lat: f64,
    pub location_lon: f64,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub status: String,
    pub rejection_reason: Option<String>,
    pub raised: i64,
    pub donors: i32,
    pub match_status: String,
    pub match_amount: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
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
