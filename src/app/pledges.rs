//! Creating a pledge (a partner's call on behalf of a donor), idempotent per partner and
//! `Idempotency-Key`: the first request writes the pending pledge, its donor and its place
//! among pending pledges in one transaction, asks the provider for the payment, and stores the
//! answer it gave; the same key with the same request gets that stored answer again (or, if
//! the provider call never finished, tries it again with the same provider key); the same key
//! with another request is refused.
//!
//! Also: who reads which pledges (the partner that created them, finance, admins; a campaign's
//! donors for its association), the simulated provider's payments, and returning a flagged
//! payment.

use super::AppState;
use super::invalid::Invalid;
use super::payments::{DeliveryError, deliver_simulated};
use super::per_donation::PledgeMatch;
use crate::auth::{Forbidden, Principal};
use crate::db::models::{CampaignRow, DonorRow, PledgeRow, RefundRow};
use crate::db::queries::audit;
use crate::db::schema::{campaigns, donors, pledges};
use crate::db::{DbError, write_tx};
use crate::domain::campaign::CampaignStatus;
use crate::domain::email::Email;
use crate::domain::ids;
use crate::domain::money::{Currency, PledgeLimits, format_amount, parse_amount};
use crate::domain::pledge::{Dispute, PledgeStatus};
use crate::domain::role::Role;
use crate::domain::tax_code::TaxCode;
use crate::providers::simulated::SimOutcome;
use crate::providers::{CreatedPayment, PaymentProvider, ProviderError};
use std::collections::HashMap;
use std::time::Duration;

pub use super::per_donation::Held;
pub use crate::domain::bank_entry::PledgeMethod;
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
    /// The donor's identity as stored (`domain::donor_identity`): a keyed hash of the tax code,
    /// else of the normalised address.
    pub donor_key: String,
    /// The hoarding caps of the match held for it (`per_donation` funds).
    pub hold_caps: crate::domain::per_donation::HoldCaps,
    /// Through the provider, or by the donor's own bank transfer.
    pub method: PledgeMethod,
}

/// Who asks, with which key, for what.
pub struct PledgeRequest {
    pub partner_id: String,
    pub idempotency_key: String,
    /// A hash of the whole request: the same key must come with the same request.
    pub request_hash: String,
    pub campaign_id: String,
}

/// What an erased donor's pledges keep as their request hash: not hex, so no request ever
/// matches it again (a retry with the pledge's key answers 409, the key reused with another
/// request).
pub const ERASED_REQUEST_HASH: &str = "erased";

/// The label that keeps the request-hash key apart from anything else derived from the same
/// secret (the token-signing key is the secret itself).
const REQUEST_HASH_LABEL: &[u8] = b"cofund/pledge-request-hash/v1";

/// The request hash a pledge keeps for idempotency: HMAC-SHA256 of the request (campaign,
/// amount, donor's name, e-mail, tax code, message) under a key derived from the service's
/// signing secret (`COFUND_JWT_SECRET`). Without the key, the stored value cannot confirm a
/// guessed donor the way a plain hash of the body could.
pub fn request_hash(secret: &[u8], request: &[u8]) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    type HmacSha256 = Hmac<sha2::Sha256>;
    let mut derive = HmacSha256::new_from_slice(secret).expect("HMAC accepts any key length");
    derive.update(REQUEST_HASH_LABEL);
    let key = derive.finalize().into_bytes();
    let mut mac = HmacSha256::new_from_slice(&key).expect("HMAC accepts any key length");
    mac.update(request);
    hex::encode(mac.finalize().into_bytes())
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
    /// Only partners pledge.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// A partner's token without its partner.
    #[error("no partner")]
    NoPartner,
    /// The partner created too many pledges lately: retry after this long.
    #[error("too many requests; retry later")]
    RateLimited(Duration),
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
    let caps = new.hold_caps;
    let (row, donor) = pending_rows(request, campaign, new, provider);
    if !insert_rows(conn, &row, donor)? {
        return Ok(None);
    }
    let held = super::per_donation::hold_for_new_pledge(conn, campaign, &row, caps)?;
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
    if let crate::db::DbConnection::Postgresql(c) = conn {
        // One statement for the four rows (see `db::new_pledge`).
        let currency = row.currency.code().to_ascii_lowercase();
        let sim = crate::db::new_pledge::SimulatedPayment {
            currency: &currency,
            status: crate::providers::simulated::NEW_STATUS,
        };
        return Ok(crate::db::new_pledge::insert_simulated(c, &row, &donor, &sim)?.then_some(text));
    }
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

/// A new bank-transfer pledge: no provider is asked; the answer carries the association's
/// IBAN, its name and the pledge's own ISO 11649 creditor reference, and is written in the
/// pledge's transaction. None, having written nothing, when the key is already taken.
fn insert_bank_transfer<A>(
    conn: &mut crate::db::DbConnection,
    request: &PledgeRequest,
    campaign: &CampaignRow,
    new: NewPledge,
    days: u32,
    answer: A,
) -> QueryResult<Option<String>>
where
    A: FnOnce(&PledgeRow, &CreatedPayment, Option<&Held>) -> String,
{
    use crate::db::schema::associations;
    let (beneficiary, iban): (String, String) = associations::table
        .find(&campaign.association_id)
        .select((associations::name, associations::iban))
        .first(conn)?;
    let caps = new.hold_caps;
    let (mut row, donor) = pending_rows(
        request,
        campaign,
        new,
        crate::config::ProviderKind::BankTransfer,
    );
    let reference = crate::domain::rf_reference::RfReference::from_body(&random_reference_body())
        .expect("a random body of 16 letters and digits makes a reference");
    row.provider_payment_id = Some(reference.as_str().to_string());
    if !insert_rows(conn, &row, donor)? {
        return Ok(None);
    }
    let held = super::per_donation::hold_for_new_pledge(conn, campaign, &row, caps)?;
    let payment = CreatedPayment {
        id: reference.as_str().to_string(),
        client_secret: None,
        bank: Some(crate::providers::BankInstructions {
            iban,
            beneficiary,
            reference: reference.as_str().to_string(),
            expires_at: row.created_at + chrono::Duration::days(i64::from(days)),
        }),
    };
    let text = answer(&row, &payment, held.as_ref());
    store_answer(conn, &row.id, &payment, &text)?;
    Ok(Some(text))
}

/// 16 random letters and digits (about 82 bits): a reference nobody guesses.
fn random_reference_body() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut n = uuid::Uuid::new_v4().as_u128();
    (0..16)
        .map(|_| {
            let c = ALPHABET[(n % 36) as usize] as char;
            n /= 36;
            c
        })
        .collect()
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
        donor_key: new.donor_key,
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
        processing: false,
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

/// The key pledges written before donor identities were keyed (`domain::donor_identity`) were
/// filed under: an unsalted hash of the lower-cased address. Such pledges keep it (see
/// `docs/guide.md`); erasure looks for it too.
pub fn legacy_donor_key(email: &str) -> String {
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
    method: PledgeMethod,
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
    // A bank transfer asks no provider: its instructions are written with the pledge.
    let bank_transfer = method == PledgeMethod::BankTransfer;
    let in_database = bank_transfer || state.provider.creates_in_database();
    let bank_days = state.config.payments.bank_transfer_days;
    let mut answer = Some(answer);
    let mut answer_inside = if in_database { answer.take() } else { None };
    // A pledge changes no cached data but its campaign's row (a per-donation hold).
    let begin = state
        .db
        .run_for_campaigns(move |conn| {
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
                    Some(answer) if bank_transfer => {
                        insert_bank_transfer(conn, &request, &campaign, new, bank_days, answer)?
                            .map(Begin::Created)
                    }
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
            &pledge.campaign_id,
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
        .run_for_campaigns(move |conn| -> Result<usize, DbError> {
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

/// The partner a caller pledges as: only partners pledge.
pub fn paying_partner<E>(actor: &Principal) -> Result<String, PledgeError<E>> {
    actor.require(&[Role::Partner])?;
    actor.partner_id.clone().ok_or(PledgeError::NoPartner)
}

/// A pledge as the partner sent it, not yet checked.
pub struct PledgeInput {
    pub amount: String,
    /// Optional; must be the campaign's currency.
    pub currency: Option<String>,
    pub donor_name: String,
    pub donor_email: String,
    pub anonymous: bool,
    /// `it` or `en` (default `it`).
    pub locale: Option<String>,
    pub contact_consent: bool,
    pub tax_code: Option<String>,
    pub message: Option<String>,
    pub method: PledgeMethod,
}

/// Validates the pledge against its campaign; returns (amount, donor row pieces).
fn validate(
    input: &PledgeInput,
    campaign: &CampaignRow,
    limits: PledgeLimits,
) -> Result<(i64, String, String, Option<String>), Vec<Invalid>> {
    let mut errors = Vec::new();
    let currency = campaign.currency;
    if let Some(c) = &input.currency
        && c != currency.code()
    {
        errors.push(Invalid::new(
            "currency",
            format!("must be the campaign's currency, {}", currency.code()),
        ));
    }
    let amount = match parse_amount(&input.amount, currency) {
        Ok(a) => {
            let (lo, hi) = limits.in_minor_units(currency);
            if a < lo || a > hi {
                errors.push(Invalid::new(
                    "amount",
                    format!(
                        "must be between {} and {} {}",
                        format_amount(lo, currency),
                        format_amount(hi, currency),
                        currency.code()
                    ),
                ));
            }
            a
        }
        Err(e) => {
            errors.push(Invalid::new("amount", e));
            0
        }
    };
    let name = input.donor_name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        errors.push(Invalid::new("donor.name", "1–200 characters"));
    }
    let email = match Email::parse(&input.donor_email) {
        Ok(e) => e.as_str().to_lowercase(),
        Err(e) => {
            errors.push(Invalid::new("donor.email", e));
            String::new()
        }
    };
    let locale = input.locale.clone().unwrap_or_else(|| "it".into());
    if !matches!(locale.as_str(), "it" | "en") {
        errors.push(Invalid::new("donor.locale", "must be it or en"));
    }
    if input
        .message
        .as_ref()
        .is_some_and(|m| m.chars().count() > 1000)
    {
        errors.push(Invalid::new("message", "at most 1000 characters"));
    }
    let tax_code = match input.tax_code.as_deref().map(TaxCode::parse) {
        None => None,
        Some(Ok(t)) => Some(t.as_str().to_string()),
        Some(Err(e)) => {
            errors.push(Invalid::new("donor.tax_code", e));
            None
        }
    };
    if errors.is_empty() {
        Ok((amount, email, locale, tax_code))
    } else {
        Err(errors)
    }
}

/// The pledge-creation use case of a partner (the API's and the reference checkout's): rate
/// limit, validation against the campaign, then [`create`] (the provider's payment,
/// idempotency). `answer` writes what the partner gets (see [`create`]).
pub async fn create_for_partner<A>(
    state: &AppState,
    request: PledgeRequest,
    input: PledgeInput,
    answer: A,
) -> Result<Created, PledgeError<Vec<Invalid>>>
where
    A: FnOnce(&PledgeRow, &CreatedPayment, Option<&Held>) -> String + Send + 'static,
{
    state
        .pledge_limiter
        .check(&request.partner_id)
        .map_err(PledgeError::RateLimited)?;
    let limits = state.config.payments.pledge_limits;
    let identity = identity_key(state);
    let hold_caps = crate::domain::per_donation::HoldCaps {
        partner_share: Some(state.config.payments.partner_hold_share),
        one_per_donor: true,
    };
    let method = input.method;
    let check = move |campaign: &CampaignRow| -> Result<NewPledge, Vec<Invalid>> {
        let (amount, email, locale, tax_code) = validate(&input, campaign, limits)?;
        Ok(NewPledge {
            donor_key: identity.of(tax_code.as_deref(), &email),
            hold_caps,
            amount,
            donor_name: input.donor_name.trim().to_string(),
            donor_email: email,
            anonymous: input.anonymous,
            contact_consent: input.contact_consent,
            locale,
            message: input.message.clone().map(|m| m.trim().to_string()),
            donor_tax_code: tax_code,
            method,
        })
    };
    create(state, request, method, check, answer).await
}

/// The key donor identities are hashed with, derived from the token signing secret
/// (`COFUND_JWT_SECRET`): no variable of its own to set.
pub fn identity_key(state: &AppState) -> crate::domain::donor_identity::IdentityKey {
    crate::domain::donor_identity::IdentityKey::derive(&state.config.jwt.secret)
}

/// A pledge with its donor (none for pledges written before donors were) and its match in a
/// `per_donation` fund.
pub struct PledgeRecord {
    pub pledge: PledgeRow,
    pub donor: Option<DonorRow>,
    pub matched: Option<PledgeMatch>,
}

/// Why pledges were not shown.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    #[error("no such pledge")]
    PledgeNotFound,
    #[error("no such campaign")]
    CampaignNotFound,
    #[error("this pledge belongs to another partner")]
    OtherPartner,
    #[error("your role may not read pledges")]
    RoleMayNotRead,
    /// Donor data: the owning association, finance and admins; reviewers judge campaigns, not
    /// donors.
    #[error("only the owning association, finance and admins read a campaign's donors")]
    NotCampaignOwner,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for ReadError {
    fn from(e: diesel::result::Error) -> ReadError {
        ReadError::Db(e.into())
    }
}

/// Who reads a pledge: the partner that created it, finance and admins.
pub fn may_read(actor: &Principal, p: &PledgeRow) -> Result<(), ReadError> {
    match actor.role {
        Role::Admin | Role::Finance => Ok(()),
        Role::Partner if actor.partner_id.as_deref() == Some(p.partner_id.as_str()) => Ok(()),
        Role::Partner => Err(ReadError::OtherPartner),
        _ => Err(ReadError::RoleMayNotRead),
    }
}

type PledgeWithDonor = (PledgeRow, Option<DonorRow>);

/// A page of pledges with their donors: the donors are read by the page's ids in a second
/// query. Joined in one, PostgreSQL merge-joins the donors from their first row, whatever the
/// cursor: deep pages of a large programme took a second (docs/benchmarks.md).
fn with_donors(
    conn: &mut crate::db::DbConnection,
    page: Vec<PledgeRow>,
) -> QueryResult<Vec<PledgeWithDonor>> {
    let ids: Vec<&str> = page.iter().map(|p| p.id.as_str()).collect();
    let mut donors: HashMap<String, DonorRow> = donors::table
        .filter(donors::pledge_id.eq_any(&ids))
        .select(DonorRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|d: DonorRow| (d.pledge_id.clone(), d))
        .collect();
    Ok(page
        .into_iter()
        .map(|p| {
            let d = donors.remove(&p.id);
            (p, d)
        })
        .collect())
}

/// A pledge with its donor and match, or None.
fn load_record(conn: &mut crate::db::DbConnection, id: &str) -> QueryResult<Option<PledgeRecord>> {
    let Some(pledge) = pledges::table
        .find(id)
        .select(PledgeRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let donor = donors::table
        .find(id)
        .select(DonorRow::as_select())
        .first(conn)
        .optional()?;
    let mut m = super::per_donation::matches_of(conn, &[id])?;
    Ok(Some(PledgeRecord {
        matched: m.remove(id),
        pledge,
        donor,
    }))
}

/// One pledge (the partner that created it, admin, finance).
pub async fn get(
    state: &AppState,
    actor: &Principal,
    id: String,
) -> Result<PledgeRecord, ReadError> {
    let record = state
        .db
        .run(move |conn| -> Result<PledgeRecord, ReadError> {
            load_record(conn, &id)?.ok_or(ReadError::PledgeNotFound)
        })
        .await?;
    may_read(actor, &record.pledge)?;
    Ok(record)
}

/// Which pledges a list holds (besides the caller's own, for a partner).
pub struct PledgeFilter {
    pub campaign_id: Option<String>,
    /// A pledge status as stored; an unknown one matches no pledge.
    pub status: Option<String>,
}

/// Who lists pledges: partners (their own), admin and finance (all).
pub fn may_list(actor: &Principal) -> Result<(), ReadError> {
    Ok(actor.require(&[Role::Partner, Role::Admin, Role::Finance])?)
}

/// A page of pledges in id order after `cursor` (`limit + 1` records): a partner's own, or all
/// for admin and finance.
pub async fn list(
    state: &AppState,
    actor: &Principal,
    filter: PledgeFilter,
    cursor: String,
    limit: i64,
) -> Result<Vec<PledgeRecord>, ReadError> {
    may_list(actor)?;
    let status = match filter.status.as_deref().map(PledgeStatus::parse) {
        None => None,
        Some(Some(s)) => Some(s),
        // No pledge has a status that does not exist.
        Some(None) => return Ok(Vec::new()),
    };
    let only_partner = actor.partner_id.clone();
    let (rows, mut matches) = state
        .db
        .run(move |conn| -> Result<_, ReadError> {
            let mut q = pledges::table
                .filter(pledges::id.gt(&cursor))
                .order(pledges::id)
                .limit(limit + 1)
                .select(PledgeRow::as_select())
                .into_boxed();
            if let Some(p) = only_partner {
                q = q.filter(pledges::partner_id.eq(p));
            }
            if let Some(c) = filter.campaign_id {
                q = q.filter(pledges::campaign_id.eq(c));
            }
            match status {
                // Shown, not stored: a pending pledge the provider is clearing.
                Some(PledgeStatus::Processing) => {
                    q = q
                        .filter(pledges::status.eq(PledgeStatus::Pending))
                        .filter(pledges::processing.eq(true));
                }
                Some(PledgeStatus::Pending) => {
                    q = q
                        .filter(pledges::status.eq(PledgeStatus::Pending))
                        .filter(pledges::processing.eq(false));
                }
                Some(s) => q = q.filter(pledges::status.eq(s)),
                None => {}
            }
            let page = q.load(conn)?;
            let rows = with_donors(conn, page)?;
            let ids: Vec<&str> = rows.iter().map(|(p, _)| p.id.as_str()).collect();
            let m = super::per_donation::matches_of(conn, &ids)?;
            Ok((rows, m))
        })
        .await?;
    Ok(rows
        .into_iter()
        .map(|(pledge, donor)| PledgeRecord {
            matched: matches.remove(&pledge.id),
            pledge,
            donor,
        })
        .collect())
}

/// A campaign's pledge as its association sees it: the donor's name only when they did not
/// give anonymously (and were not erased), their e-mail only when they also agreed to be
/// contacted.
pub struct CampaignGift {
    pub pledge: PledgeRow,
    pub donor_name: Option<String>,
    pub donor_email: Option<String>,
}

/// A page of a campaign's pledges in id order after `cursor` (`limit + 1`), for the owning
/// association, finance and admins.
pub async fn for_campaign(
    state: &AppState,
    actor: &Principal,
    campaign_id: String,
    cursor: String,
    limit: i64,
) -> Result<Vec<CampaignGift>, ReadError> {
    let (association_id, rows) = state
        .db
        .run(
            move |conn| -> Result<(String, Vec<PledgeWithDonor>), ReadError> {
                let association_id: String = campaigns::table
                    .find(&campaign_id)
                    .select(campaigns::association_id)
                    .first(conn)
                    .optional()?
                    .ok_or(ReadError::CampaignNotFound)?;
                let page = pledges::table
                    .filter(pledges::campaign_id.eq(&campaign_id))
                    .filter(pledges::id.gt(&cursor))
                    .order(pledges::id)
                    .limit(limit + 1)
                    .select(PledgeRow::as_select())
                    .load(conn)?;
                let rows = with_donors(conn, page)?;
                Ok((association_id, rows))
            },
        )
        .await?;
    // Donor data: the owning association, finance and admins; reviewers judge campaigns, not
    // donors.
    if !(matches!(actor.role, Role::Admin | Role::Finance) || actor.is_member_of(&association_id)) {
        return Err(ReadError::NotCampaignOwner);
    }
    Ok(rows
        .into_iter()
        .map(|(p, d)| {
            let visible = d.as_ref().filter(|d| !d.anonymous && d.erased_at.is_none());
            CampaignGift {
                donor_name: visible.and_then(|d| d.name.clone()),
                donor_email: visible
                    .filter(|d| d.contact_consent)
                    .and_then(|d| d.email.clone()),
                pledge: p,
            }
        })
        .collect())
}

/// Why a simulated payment was not settled.
#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    /// The service runs another provider: there is nothing to simulate.
    #[error("the simulated provider is not in use")]
    NotSimulated,
    /// Finance and the other roles never make money appear.
    #[error("only the partner that created the pledge or an admin may simulate its payment")]
    Forbidden,
    #[error("no such payment")]
    PaymentNotFound,
    /// Another partner's pledge.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The payment cannot have this outcome now (the provider's reason).
    #[error("{0}")]
    PaymentState(String),
    #[error("the payment provider is unavailable")]
    ProviderUnavailable,
    #[error(transparent)]
    Delivery(#[from] DeliveryError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for SimulateError {
    fn from(e: diesel::result::Error) -> SimulateError {
        SimulateError::Db(e.into())
    }
}

/// Has the simulated provider settle a payment and deliver its signed webhook (the partner
/// that created the pledge, or an admin): the API's and the reference checkout's path.
/// Returns the pledge as it was before.
pub async fn simulate(
    state: &AppState,
    actor: &Principal,
    payment_id: String,
    outcome: SimOutcome,
) -> Result<PledgeRow, SimulateError> {
    let PaymentProvider::Simulated(sim) = &*state.provider else {
        return Err(SimulateError::NotSimulated);
    };
    // Only the payer's side may pay: the partner that created the pledge, or an admin trying
    // the flow. Finance and the other roles never make money appear.
    if !matches!(actor.role, Role::Admin | Role::Partner) {
        return Err(SimulateError::Forbidden);
    }
    let lookup = payment_id.clone();
    let pledge = state
        .db
        .read(move |conn| -> Result<PledgeRow, SimulateError> {
            pledges::table
                .filter(pledges::provider_payment_id.eq(&lookup))
                .filter(pledges::provider.ne(crate::config::ProviderKind::BankTransfer))
                .select(PledgeRow::as_select())
                .first(conn)
                .optional()?
                .ok_or(SimulateError::PaymentNotFound)
        })
        .await?;
    if actor.role != Role::Admin {
        may_read(actor, &pledge)?;
    }
    sim.trigger(&payment_id, outcome)
        .await
        .map_err(|e| match e {
            ProviderError::Rejected { status: 404, .. } => SimulateError::PaymentNotFound,
            ProviderError::Rejected { message, .. } => SimulateError::PaymentState(message),
            ProviderError::Unavailable(_) => SimulateError::ProviderUnavailable,
        })?;
    deliver_simulated(state).await?;
    Ok(pledge)
}

/// [`simulate`], then the pledge as it is now, with its donor and match.
pub async fn simulate_and_read(
    state: &AppState,
    actor: &Principal,
    payment_id: String,
    outcome: SimOutcome,
) -> Result<PledgeRecord, SimulateError> {
    let pledge = simulate(state, actor, payment_id, outcome).await?;
    let id = pledge.id;
    state
        .db
        .read(move |conn| -> Result<PledgeRecord, SimulateError> {
            Ok(load_record(conn, &id)?.ok_or(diesel::result::Error::NotFound)?)
        })
        .await
}

/// The currency a provider reported for a flagged payment; one cofund does not know is shown
/// in the units of the pledge's own currency.
pub fn reported_currency(reported: Option<&str>, own: Currency) -> Currency {
    reported
        .and_then(|c| Currency::parse(&c.to_ascii_uppercase()).ok())
        .unwrap_or(own)
}

/// A flagged payment's refund, and the currency its amount is in.
pub struct FlaggedRefundQueued {
    pub refund: RefundRow,
    /// False when an earlier request queued it (the same refund).
    pub created: bool,
    pub currency: Currency,
}

/// Why a flagged payment's refund was not queued.
#[derive(Debug, thiserror::Error)]
pub enum RefundError {
    #[error("only the finance office or an admin may refund a flagged payment")]
    Forbidden,
    #[error("no such pledge")]
    NotFound,
    #[error("this pledge has no flagged payment to refund")]
    NotFlagged,
    #[error("this pledge already has a refund")]
    AlreadyRefunded,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for RefundError {
    fn from(e: diesel::result::Error) -> RefundError {
        RefundError::Db(e.into())
    }
}

/// Returns a flagged payment to the donor (finance, admin), idempotently: queues its refund for
/// what the provider reported it brought in, audited once.
pub async fn refund_flagged(
    state: &AppState,
    actor: Principal,
    id: String,
) -> Result<FlaggedRefundQueued, RefundError> {
    if !matches!(actor.role, Role::Admin | Role::Finance) {
        return Err(RefundError::Forbidden);
    }
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| -> Result<FlaggedRefundQueued, RefundError> {
                use crate::app::payment_events::{FlaggedRefund, refund_flagged};
                match refund_flagged(conn, &id)? {
                    FlaggedRefund::NotFound => Err(RefundError::NotFound),
                    FlaggedRefund::NotFlagged => Err(RefundError::NotFlagged),
                    FlaggedRefund::OtherRefund => Err(RefundError::AlreadyRefunded),
                    FlaggedRefund::Queued(row, created) => {
                        let (flagged, own): (Option<String>, Currency) = pledges::table
                            .find(&id)
                            .select((pledges::flagged_currency, pledges::currency))
                            .first(conn)?;
                        let currency = reported_currency(flagged.as_deref(), own);
                        if created {
                            audit(
                                conn,
                                &actor,
                                "pledge.refund_flagged",
                                "pledge",
                                &id,
                                Some(format!("refund {} of {}", row.id, row.amount)),
                            )?;
                        }
                        Ok(FlaggedRefundQueued {
                            refund: *row,
                            created,
                            currency,
                        })
                    }
                }
            })
        })
        .await
}
