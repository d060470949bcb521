//! A new pledge paid through the simulated provider, written on PostgreSQL in one statement:
//! the pledge (with its answer), its place among pending pledges, its donor and its simulated
//! payment. The same four rows as `app::pledges` writes one INSERT at a time on SQLite; here
//! the data-modifying CTEs make it one round trip instead of four (issue 43), and the three
//! dependent rows are written only when the pledge was (`FROM p`: nothing when the partner's
//! idempotency key is already taken).

use crate::db::models::{DonorRow, PledgeRow};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamp};

#[derive(QueryableByName)]
struct Written {
    #[diesel(sql_type = BigInt)]
    written: i64,
}

/// The simulated payment written beside the pledge.
pub struct SimulatedPayment<'a> {
    /// Lower case, as the simulated provider keeps it.
    pub currency: &'a str,
    pub status: crate::domain::pledge::SimulatedPaymentStatus,
}

/// Writes the four rows; false, having written nothing, when `(partner_id, idempotency_key)`
/// is already taken. `row` is a new pending pledge (`status`, `dispute` and the amounts it has
/// not yet are written as such).
pub fn insert_simulated(
    conn: &mut PgConnection,
    row: &PledgeRow,
    donor: &DonorRow,
    payment: &SimulatedPayment<'_>,
) -> QueryResult<bool> {
    debug_assert!(row.status == crate::domain::pledge::PledgeStatus::Pending);
    debug_assert!(row.counted_amount == 0 && row.refunded_amount == 0);
    let written: Written = diesel::sql_query(
        "WITH p AS (INSERT INTO pledges (id, campaign_id, partner_id, amount, currency, status, \
           paid, failed, canceled, expired, refunded_amount, dispute, counted_amount, donor_key, \
           message, provider, provider_payment_id, client_secret, provider_idempotency_key, \
           idempotency_key, request_hash, creation_response, created_at, updated_at, processing) \
         VALUES ($1, $2, $3, $4, $5, 'pending', FALSE, FALSE, FALSE, FALSE, 0, 'none', 0, $6, $7, \
           $8, $9, $10, $11, $12, $13, $14, $15, $15, FALSE) \
         ON CONFLICT (partner_id, idempotency_key) DO NOTHING RETURNING id, created_at), \
         pp AS (INSERT INTO pending_pledges (pledge_id, created_at, checked_at) \
           SELECT id, created_at, created_at FROM p), \
         d AS (INSERT INTO donors (pledge_id, name, email, anonymous, contact_consent, locale, \
           tax_code) SELECT id, $16, $17, $18, $19, $20, $21 FROM p), \
         s AS (INSERT INTO simulated_payments (id, idempotency_key, pledge_id, amount, currency, \
           status, refunded, created_at) SELECT $9, $11, id, $4, $22, $23, 0, created_at FROM p) \
         SELECT count(*) AS written FROM p",
    )
    .bind::<Text, _>(&row.id)
    .bind::<Text, _>(&row.campaign_id)
    .bind::<Text, _>(&row.partner_id)
    .bind::<BigInt, _>(row.amount)
    .bind::<Text, _>(row.currency)
    .bind::<Text, _>(&row.donor_key)
    .bind::<Nullable<Text>, _>(&row.message)
    .bind::<Text, _>(row.provider)
    .bind::<Nullable<Text>, _>(&row.provider_payment_id)
    .bind::<Nullable<Text>, _>(&row.client_secret)
    .bind::<Text, _>(&row.provider_idempotency_key)
    .bind::<Text, _>(&row.idempotency_key)
    .bind::<Text, _>(&row.request_hash)
    .bind::<Nullable<Text>, _>(&row.creation_response)
    .bind::<Timestamp, _>(row.created_at)
    .bind::<Nullable<Text>, _>(&donor.name)
    .bind::<Nullable<Text>, _>(&donor.email)
    .bind::<Bool, _>(donor.anonymous)
    .bind::<Bool, _>(donor.contact_consent)
    .bind::<Text, _>(&donor.locale)
    .bind::<Nullable<Text>, _>(&donor.tax_code)
    .bind::<Text, _>(payment.currency)
    .bind::<Text, _>(payment.status)
    .get_result(conn)?;
    Ok(written.written == 1)
}
