//! Creating a pledge (a partner's call on behalf of a donor), idempotent per partner and
//! `Idempotency-Key`: the first request writes the pending pledge, its donor and its place
//! among pending pledges in one transaction, asks the provider for the payment, and stores the
//! answer it gave; the same key with the same request gets that stored answer again (or, if
//! the provider call never finished, tries it again with the same provider key); the same key
//! with another request is refused.

use super::AppState;
use crate::db::models::{CampaignRow, DonorRow, PledgeRow};
use crate::db::schema::{campaigns, donors, pledges};
use crate::db::{DbError, write_tx};
use crate::domain::campaign::CampaignStatus;
use crate::domain::ids;
use crate::domain::pledge::{Dispute, PledgeStatus};
use crate::providers::CreatedPayment;

pub use super::per_donation::Held;
use diesel::prelude::*;

/// A pledge request as the partner sent it, checked against its campaign.
pub struct NewPledge {
    pub amount: i64,
    pub donor_name: String,
    pub donor_email: String,
    pub anonymous: bool,
    pub contact_consent: bool,
    pub locale: String,
    pub message: Option<String>,
    /// The donor's codice fiscale (or partita IVA), validated, for the tax receipt.
    pub donor_tax_code: Option<String>,
}

/// Who asks, with which key, for what.
pub struct PledgeRequest {
    pub partner_id: String,
    pub idempotency_key: String,
    /// A hash of the whole request: the same key must come with the same request.
    pub request_hash: String,
    pub campaign_id: String,
}

/// What the partner gets.
pub enum Created {
    /// A new pledge (or one whose provider call is finished now): the answer to send.
    New(String),
    /// The answer given the first time to this key and request.
    Replayed(String),
}

/// Why no pledge was created. `Invalid` carries the caller's own validation error.
#[derive(Debug, thiserror::Error)]
pub enum PledgeError<E> {
    #[error("this Idempotency-Key was used with another request")]
    KeyReused,
    #[error("a request with this Idempotency-Key is being processed; retry")]
    KeyInUse,
    #[error("no such campaign")]
    CampaignNotFound,
    #[error("only live campaigns accept pledges; this one is {0}")]
    NotLive(CampaignStatus),
    #[error("invalid pledge")]
    Invalid(E),
    #[error("the payment provider is unavailable")]
    ProviderUnavailable,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl<E> From<diesel::result::Error> for PledgeError<E> {
    fn from(e: diesel::result::Error) -> PledgeError<E> {
        PledgeError::Db(e.into())
    }
}

enum Begin {
    Replay(String),
    /// The pledge, its payment and the stored answer were written in one transaction.
    Created(String),
    /// The pledge is written; the provider's payment is still to be asked for.
    Create(Box<PledgeRow>, Option<Held>),
}

/// Writes a new pending pledge for `campaign` (live, checked by the caller): the pledge, its
/// place among pending pledges, its donor, and the match held for it where the fund matches
/// each donation. In the caller's transaction; the provider's payment is not asked for here.
/// None, having written nothing, when the partner's idempotency key is already taken.
pub fn insert_pending(
    conn: &mut crate::db::DbConnection,
    request: &PledgeRequest,
    campaign: &CampaignRow,
    new: NewPledge,
    provider: crate::config::ProviderKind,
) -> QueryResult<Option<(PledgeRow, Option<Held>)>> {
    let (row, donor) = pending_rows(request, campaign, new, provider);
    if !insert_rows(conn, &row, donor)? {
        return Ok(None);
    }
    let held = super::per_donation::hold_for_new_pledge(conn, campaign, &row)?;
    Ok(Some((row, held)))
}

/// For a provider that keeps its payments in this database (the simulated one): writes a new
/// pending pledge (as [`insert_pending`]), its payment and the answer, in the caller's
/// transaction. Where no match is held for the pledge, the answer is known before anything is
/// written and the pledge is stored with it: one pledge row written once, not written and then
/// rewritten with the answer (every one of its indexes twice).
pub fn insert_answered<A>(
    conn: &mut crate::db::DbConnection,
    request: &PledgeRequest,
    campaign: &CampaignRow,
    new: NewPledge,
    provider: crate::config::ProviderKind,
    answer: A,
) -> QueryResult<Option<String>>
where
    A: FnOnce(&PledgeRow, &CreatedPayment, Option<&Held>) -> String,
{
    let fund = super::matching::fund_params(conn, &campaign.fund_id)?;
    if fund.match_policy == crate::domain::fund::MatchPolicy::PerDonation {
        let Some((row, held)) = insert_pending(conn, request, campaign, new, provider)? else {
            return Ok(None);
        };
        return answer_in_database(conn, &row, held, answer).map(Some);
    }
    let (mut row, donor) = pending_rows(request, campaign, new, provider);
    let payment = crate::providers::simulated::new_payment();
    let text = answer(&row, &payment, None);
    row.provider_payment_id = Some(payment.id.clone());
    row.client_secret = payment.client_secret.clone();
    row.creation_response = Some(text.clone());
    if !insert_rows(conn, &row, donor)? {
        return Ok(None);
    }
    crate::providers::simulated::insert_payment(
        conn,
        &payment,
        &row.id,
        row.amount,
        row.currency.code(),
        &row.provider_idempotency_key,
    )?;
    Ok(Some(text))
}

/// The rows of a new pending pledge and its donor.
fn pending_rows(
    request: &PledgeRequest,
    campaign: &CampaignRow,
    new: NewPledge,
    provider: crate::config::ProviderKind,
) -> (PledgeRow, DonorRow) {
    let t = crate::clock::now();
    let pledge_id = ids::new_id(ids::PLEDGE);
    let row = PledgeRow {
        provider_idempotency_key: format!("cofund-{pledge_id}"),
        id: pledge_id,
        campaign_id: campaign.id.clone(),
        partner_id: request.partner_id.clone(),
        amount: new.amount,
        currency: campaign.currency,
        status: PledgeStatus::Pending,
        paid: false,
        failed: false,
        canceled: false,
        expired: false,
        refunded_amount: 0,
        dispute: Dispute::None,
        counted_amount: 0,
        donor_key: donor_key(&new.donor_email),
        message: new.message,
        provider,
        provider_payment_id: None,
        client_secret: None,
        idempotency_key: request.idempotency_key.clone(),
        request_hash: request.request_hash.clone(),
        creation_response: None,
        flagged_reason: None,
        created_at: t,
        updated_at: t,
        confirmed_at: None,
        flagged_amount: None,
        flagged_currency: None,
    };
    let donor = DonorRow {
        pledge_id: row.id.clone(),
        name: Some(new.donor_name),
        email: Some(new.donor_email),
        anonymous: new.anonymous,
        contact_consent: new.contact_consent,
        locale: new.locale,
        erased_at: None,
        tax_code: new.donor_tax_code,
    };
    (row, donor)
}

/// The pledge, its place among pending pledges, its donor. False, having written nothing,
/// when the partner's idempotency key is already taken.
fn insert_rows(
    conn: &mut crate::db::DbConnection,
    row: &PledgeRow,
    donor: DonorRow,
) -> QueryResult<bool> {
    use crate::db::DbConnection;
    let insert = diesel::insert_into(pledges::table)
        .values(row)
        .on_conflict((pledges::partner_id, pledges::idempotency_key))
        .do_nothing();
    let inserted = match conn {
        DbConnection::Postgresql(c) => insert.execute(c)?,
        DbConnection::Sqlite(c) => insert.execute(c)?,
    };
    if inserted == 0 {
        return Ok(false);
    }
    super::payment_events::list_pending(conn, &row.id, row.created_at)?;
    diesel::insert_into(donors::table)
        .values(donor)
        .execute(conn)?;
    Ok(true)
}

/// For a provider that keeps its payments in this database (the simulated one): creates the
/// payment and stores the answer in the caller's transaction.
pub fn answer_in_database<A>(
    conn: &mut crate::db::DbConnection,
    pledge: &PledgeRow,
    held: Option<Held>,
    answer: A,
) -> QueryResult<String>
where
    A: FnOnce(&PledgeRow, &CreatedPayment, Option<&Held>) -> String,
{
    let payment = crate::providers::simulated::create_payment_in(
        conn,
        &pledge.id,
        pledge.amount,
        pledge.currency.code(),
        &pledge.provider_idempotency_key,
    )?;
    let text = answer(pledge, &payment, held.as_ref());
    store_answer(conn, &pledge.id, &payment, &text)?;
    Ok(text)
}

/// Stores the provider's payment and the answer given, once.
fn store_answer(
    conn: &mut crate::db::DbConnection,
    pledge_id: &str,
    payment: &CreatedPayment,
    text: &str,
) -> QueryResult<usize> {
    diesel::update(pledges::table.find(pledge_id))
        .filter(pledges::creation_response.is_null())
        .set((
            pledges::provider_payment_id.eq(Some(&payment.id)),
            pledges::client_secret.eq(payment.client_secret.as_deref()),
            pledges::creation_response.eq(Some(text)),
        ))
        .execute(conn)
}

/// A stable donor identity for counting distinct donors: a hash of the normalised address,
/// not the address.
pub fn donor_key(email: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(email.trim().to_lowercase().as_bytes()))
}

/// What a request whose key is already taken gets: the first answer (the same request), a
/// refusal (another request), or, when the provider call did not finish last time, another
/// try with the same provider key. None when the key is not taken.
fn earlier_request<E, A>(
    conn: &mut crate::db::DbConnection,
    request: &PledgeRequest,
    answer_inside: &mut Option<A>,
) -> Result<Option<Begin>, PledgeError<E>>
where
    A: FnOnce(&PledgeRow, &CreatedPayment, Option<&Held>) -> String,
{
    let Some(p) = pledges::table
        .filter(pledges::partner_id.eq(&request.partner_id))
        .filter(pledges::idempotency_key.eq(&request.idempotency_key))
        .select(PledgeRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    if p.request_hash != request.request_hash {
        return Err(PledgeError::KeyReused);
    }
    Ok(Some(match p.creation_response {
        Some(r) => Begin::Replay(r),
        // The provider call did not finish last time: try again.
        None => {
            let campaign = crate::db::campaigns::load_campaign(conn, &p.campaign_id)?;
            let held = super::per_donation::held_for(conn, &p.id, &campaign.fund_id)?;
            match answer_inside.take() {
                Some(answer) => Begin::Created(answer_in_database(conn, &p, held, answer)?),
                None => Begin::Create(Box::new(p), held),
            }
        }
    }))
}

/// Creates (or replays) a pledge. `check` turns the request into a [`NewPledge`] given the
/// campaign (its currency, the service's limits), or refuses it with the caller's error;
/// `answer` writes what the partner gets for the pledge, its payment and the match held for it
/// (`per_donation` funds; stored, and replayed to a repeated request).
pub async fn create<E, C, A>(
    state: &AppState,
    request: PledgeRequest,
    check: C,
    answer: A,
) -> Result<Created, PledgeError<E>>
where
    E: Send + 'static,
    C: FnOnce(&CampaignRow) -> Result<NewPledge, E> + Send + 'static,
    A: FnOnce(&PledgeRow, &CreatedPayment, Option<&Held>) -> String + Send + 'static,
{
    let provider = state.provider.kind();
    // The simulated provider keeps its payments in this database: its payment is created and
    // the answer stored in the pledge's own transaction, one commit for the donor's click.
    // A real provider is called between two transactions, never inside one.
    let in_database = state.provider.creates_in_database();
    let mut answer = Some(answer);
    let mut answer_inside = if in_database { answer.take() } else { None };
    let begin = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| -> Result<Begin, PledgeError<E>> {
                // A fresh key, the common case, is not looked up first: the pledge's insert
                // finds a key already taken (its unique index, ON CONFLICT DO NOTHING), and any
                // refusal looks the key up before refusing, so a repeated request gets the
                // first answer whatever its campaign has become since.
                let campaign: Option<CampaignRow> = campaigns::table
                    .find(&request.campaign_id)
                    .select(CampaignRow::as_select())
                    .first(conn)
                    .optional()?;
                let checked = match campaign.filter(|c| c.status.is_public()) {
                    None => Err(PledgeError::CampaignNotFound),
                    Some(c) if c.status != CampaignStatus::Live => {
                        Err(PledgeError::NotLive(c.status))
                    }
                    Some(c) => match check(&c) {
                        Ok(new) => Ok((c, new)),
                        Err(e) => Err(PledgeError::Invalid(e)),
                    },
                };
                let (campaign, new) = match checked {
                    Ok(checked) => checked,
                    Err(refusal) => {
                        return match earlier_request(conn, &request, &mut answer_inside)? {
                            Some(begin) => Ok(begin),
                            None => Err(refusal),
                        };
                    }
                };
                let begin = match answer_inside.take() {
                    Some(answer) => {
                        insert_answered(conn, &request, &campaign, new, provider, answer)?
                            .map(Begin::Created)
                    }
                    None => insert_pending(conn, &request, &campaign, new, provider)?
                        .map(|(row, held)| Begin::Create(Box::new(row), held)),
                };
                match begin {
                    Some(begin) => Ok(begin),
                    // The key was taken (by a request that committed while this one ran).
                    None => match earlier_request(conn, &request, &mut answer_inside)? {
                        // Its provider call is unfinished and this request's answer was spent
                        // on the insert that found the key taken: the partner retries.
                        Some(Begin::Create(..)) if in_database => Err(PledgeError::KeyInUse),
                        Some(begin) => Ok(begin),
                        None => Err(PledgeError::KeyInUse),
                    },
                }
            })
        })
        .await
        .map_err(|e| match e {
            // Two requests with one key raced: the loser is told to retry.
            PledgeError::Db(DbError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ))) => PledgeError::KeyInUse,
            other => other,
        })?;
    let (pledge, held) = match begin {
        Begin::Replay(response) => return Ok(Created::Replayed(response)),
        Begin::Created(response) => return Ok(Created::New(response)),
        Begin::Create(p, held) => (*p, held),
    };
    let Some(answer) = answer else {
        unreachable!("the answer is written inside the transaction only when it was taken there")
    };
    let payment = state
        .provider
        .create_payment(
            &pledge.id,
            pledge.amount,
            pledge.currency.code(),
            &pledge.provider_idempotency_key,
        )
        .await
        .map_err(|e| {
            tracing::warn!(pledge_id = %pledge.id, error = %e, "payment creation failed");
            PledgeError::ProviderUnavailable
        })?;
    let text = answer(&pledge, &payment, held.as_ref());
    let stored = text.clone();
    let pledge_id = pledge.id;
    state
        .db
        .run(move |conn| -> Result<usize, DbError> {
            Ok(store_answer(conn, &pledge_id, &payment, &stored)?)
        })
        .await?;
    Ok(Created::New(text))
}

/// The partner the built-in reference checkout (`/campaigns/{id}/donate`, simulated provider
/// only) pledges as: found by name, made once with random secrets nobody holds.
pub fn reference_checkout_partner(conn: &mut crate::db::DbConnection) -> QueryResult<String> {
    use crate::db::schema::partners;
    const NAME: &str = "cofund reference checkout";
    if let Some(id) = partners::table
        .filter(partners::name.eq(NAME))
        .select(partners::id)
        .first::<String>(conn)
        .optional()?
    {
        return Ok(id);
    }
    let id = crate::domain::ids::new_id(crate::domain::ids::PARTNER);
    let unusable = crate::auth::hash_secret(&crate::domain::ids::random_secret("x", 32));
    diesel::insert_into(partners::table)
        .values((
            partners::id.eq(&id),
            partners::name.eq(NAME),
            partners::client_id.eq(crate::domain::ids::random_secret("checkout", 16)),
            partners::client_secret_hash.eq(unusable),
            partners::webhook_secret.eq(crate::domain::ids::random_secret("whsec", 32)),
            partners::created_at.eq(crate::clock::now()),
        ))
        .execute(conn)?;
    Ok(id)
}
