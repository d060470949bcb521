//! A simulated, Stripe-shaped payment provider for running cofund offline. Its payments live in
//! the database (`simulated_payments`), so a restart or another replica can still refund them,
//! and it reports outcomes as *signed Stripe events*, which the service applies through the
//! very same webhook code path as real ones — never by a side door.

use super::{CreatedPayment, CreatedRefund, ProviderError, RetrievedPayment, signature};
use crate::db::schema::simulated_payments as sp;
use crate::db::{Db, DbConnection, DbError, write_tx};
use crate::domain::ids;
use crate::domain::pledge::SimulatedPaymentStatus as Status;
use diesel::prelude::*;
use serde_json::json;
use std::sync::Mutex;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sp)]
struct SimPayment {
    id: String,
    idempotency_key: String,
    pledge_id: String,
    amount: i64,
    currency: String,
    status: Status,
    refunded: i64,
    created_at: chrono::NaiveDateTime,
}

pub struct Simulated {
    secret: String,
    db: Db,
    /// Signed events emitted by this process and not yet delivered to the webhook endpoint.
    outbox: Mutex<Vec<(String, String)>>,
}

/// The outcome a developer asks the simulated provider to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SimOutcome {
    Succeed,
    Fail,
    Cancel,
    Dispute,
    DisputeWon,
    DisputeLost,
}

fn unavailable(e: DbError) -> ProviderError {
    ProviderError::Unavailable(format!("simulated provider: {e}"))
}

fn no_such_payment() -> ProviderError {
    ProviderError::Rejected {
        status: 404,
        message: "no such payment_intent".into(),
    }
}

fn load(conn: &mut DbConnection, id: &str) -> Result<Option<SimPayment>, DbError> {
    Ok(sp::table
        .find(id)
        .select(SimPayment::as_select())
        .first(conn)
        .optional()?)
}

/// [`load`] under the payment's row lock (PostgreSQL; on SQLite the write transaction already
/// excludes every other writer), so that two refunds of one payment cannot both pass the check
/// against what is left to refund.
fn lock(conn: &mut DbConnection, id: &str) -> Result<Option<SimPayment>, DbError> {
    match conn {
        DbConnection::Postgresql(c) => Ok(sp::table
            .find(id)
            .select(SimPayment::as_select())
            .for_no_key_update()
            .first(c)
            .optional()?),
        DbConnection::Sqlite(_) => load(conn, id),
    }
}

/// The status of a payment just created (the donor has not paid yet).
pub const NEW_STATUS: Status = Status::RequiresPaymentMethod;

/// A new simulated payment's id and client secret, not yet stored ([`insert_payment`]).
pub fn new_payment() -> CreatedPayment {
    let id = ids::random_secret("pi_sim", 12);
    CreatedPayment {
        client_secret: Some(format!("{id}_secret_simulated")),
        id,
        bank: None,
    }
}

/// Stores a payment made by [`new_payment`] for a pledge created in the caller's transaction:
/// its idempotency key is the new pledge's own, so no earlier payment can hold it (a
/// duplicate would be refused by the key's unique index, not answered twice).
pub fn insert_payment(
    conn: &mut DbConnection,
    payment: &CreatedPayment,
    pledge_id: &str,
    amount: i64,
    currency: &str,
    idempotency_key: &str,
) -> QueryResult<()> {
    let row = SimPayment {
        id: payment.id.clone(),
        idempotency_key: idempotency_key.to_string(),
        pledge_id: pledge_id.to_string(),
        amount,
        currency: currency.to_ascii_lowercase(),
        status: NEW_STATUS,
        refunded: 0,
        created_at: crate::clock::now(),
    };
    diesel::insert_into(sp::table)
        .values(&row)
        .execute(conn)
        .map(drop)
}

/// Creates a simulated payment in the caller's transaction (the simulated provider's payments
/// live in the service's database). The same idempotency key returns the same payment, as
/// Stripe does.
pub fn create_payment_in(
    conn: &mut DbConnection,
    pledge_id: &str,
    amount: i64,
    currency: &str,
    idempotency_key: &str,
) -> QueryResult<CreatedPayment> {
    let existing: Option<String> = sp::table
        .filter(sp::idempotency_key.eq(idempotency_key))
        .select(sp::id)
        .first(conn)
        .optional()?;
    match existing {
        Some(id) => Ok(CreatedPayment {
            client_secret: Some(format!("{id}_secret_simulated")),
            id,
            bank: None,
        }),
        None => {
            let payment = new_payment();
            insert_payment(conn, &payment, pledge_id, amount, currency, idempotency_key)?;
            Ok(payment)
        }
    }
}

impl Simulated {
    /// `secret` signs the events; it must be one of the webhook secrets the service verifies.
    pub fn new(secret: &str, db: Db) -> Simulated {
        Simulated {
            secret: secret.to_string(),
            db,
            outbox: Mutex::new(Vec::new()),
        }
    }

    pub async fn create_payment(
        &self,
        pledge_id: &str,
        amount: i64,
        currency: &str,
        idempotency_key: &str,
    ) -> Result<CreatedPayment, ProviderError> {
        let (pledge_id, currency, key) = (
            pledge_id.to_string(),
            currency.to_string(),
            idempotency_key.to_string(),
        );
        self.db
            .run(move |conn| -> Result<CreatedPayment, DbError> {
                write_tx(conn, |conn| {
                    Ok(create_payment_in(
                        conn, &pledge_id, amount, &currency, &key,
                    )?)
                })
            })
            .await
            .map_err(unavailable)
    }

    pub async fn retrieve(&self, id: &str) -> Result<RetrievedPayment, ProviderError> {
        let key = id.to_string();
        let p = self
            .db
            .run(move |conn| load(conn, &key))
            .await
            .map_err(unavailable)?
            .ok_or_else(no_such_payment)?;
        Ok(RetrievedPayment {
            id: id.to_string(),
            amount_received: if p.status == Status::Succeeded {
                p.amount
            } else {
                0
            },
            status: p.status.as_str().to_string(),
            currency: p.currency,
        })
    }

    /// Cancels a payment that has not succeeded (Stripe refuses to cancel a succeeded one).
    pub async fn cancel(&self, id: &str) -> Result<(), ProviderError> {
        let outcome = self
            .update(id, |p| match p.status {
                Status::Succeeded => Err(ProviderError::Rejected {
                    status: 400,
                    message: "a succeeded payment cannot be canceled".into(),
                }),
                Status::RequiresPaymentMethod | Status::Canceled => Ok(SimPayment {
                    status: Status::Canceled,
                    ..p
                }),
            })
            .await?;
        self.emit_payment("payment_intent.canceled", &outcome, 0);
        Ok(())
    }

    pub async fn refund(
        &self,
        payment_id: &str,
        amount: i64,
        idempotency_key: &str,
    ) -> Result<CreatedRefund, ProviderError> {
        let p = self
            .update(payment_id, move |p| {
                if p.status != Status::Succeeded || p.refunded + amount > p.amount {
                    return Err(ProviderError::Rejected {
                        status: 400,
                        message: "charge cannot be refunded".into(),
                    });
                }
                Ok(SimPayment {
                    refunded: p.refunded + amount,
                    ..p
                })
            })
            .await?;
        // Stable per refund request, like Stripe's answer to a retried idempotent call.
        let refund_id = format!("re_sim_{}", short_hash(idempotency_key));
        self.emit(json!({
            "type": "charge.refunded",
            "data": {"object": {
                "object": "charge", "id": format!("ch_{payment_id}"), "payment_intent": payment_id,
                "amount": p.amount, "amount_refunded": p.refunded, "currency": p.currency,
            }}
        }));
        self.emit(json!({
            "type": "refund.updated",
            "data": {"object": {
                "object": "refund", "id": refund_id, "payment_intent": payment_id,
                "amount": amount, "currency": p.currency, "status": "succeeded",
                "metadata": {"cofund_refund": idempotency_key},
            }}
        }));
        Ok(CreatedRefund {
            id: refund_id,
            status: "succeeded".into(),
        })
    }

    /// Produces an outcome for a payment, as its signed provider event. A payment that has been
    /// cancelled cannot succeed any more (as at Stripe).
    pub async fn trigger(
        &self,
        payment_id: &str,
        outcome: SimOutcome,
    ) -> Result<(), ProviderError> {
        let status = match outcome {
            SimOutcome::Succeed => Status::Succeeded,
            SimOutcome::Fail => Status::RequiresPaymentMethod,
            SimOutcome::Cancel => Status::Canceled,
            SimOutcome::Dispute | SimOutcome::DisputeWon | SimOutcome::DisputeLost => {
                Status::Succeeded
            }
        };
        let moves = matches!(
            outcome,
            SimOutcome::Succeed | SimOutcome::Fail | SimOutcome::Cancel
        );
        let p = self
            .update(payment_id, move |p| {
                if moves && p.status == Status::Canceled {
                    return Err(ProviderError::Rejected {
                        status: 400,
                        message: "this payment was canceled".into(),
                    });
                }
                if !moves && p.status != Status::Succeeded {
                    return Err(ProviderError::Rejected {
                        status: 400,
                        message: "only a succeeded payment can be disputed".into(),
                    });
                }
                Ok(SimPayment { status, ..p })
            })
            .await?;
        let dispute = |status: &str| {
            json!({
                "object": "dispute", "id": format!("dp_{payment_id}"), "charge": format!("ch_{payment_id}"),
                "payment_intent": payment_id, "amount": p.amount, "currency": p.currency, "status": status,
            })
        };
        match outcome {
            SimOutcome::Succeed => self.emit_payment("payment_intent.succeeded", &p, p.amount),
            SimOutcome::Fail => self.emit_payment("payment_intent.payment_failed", &p, 0),
            SimOutcome::Cancel => self.emit_payment("payment_intent.canceled", &p, 0),
            SimOutcome::Dispute => self.emit(json!({"type": "charge.dispute.created", "data": {"object": dispute("needs_response")}})),
            SimOutcome::DisputeWon => self.emit(json!({"type": "charge.dispute.closed", "data": {"object": dispute("won")}})),
            SimOutcome::DisputeLost => self.emit(json!({"type": "charge.dispute.closed", "data": {"object": dispute("lost")}})),
        }
        Ok(())
    }

    /// Loads a payment, lets `change` decide its new state (or refuse), and stores what changed,
    /// in one write transaction. The provider's own table is not cached: its write outdates
    /// nothing (the event it then delivers outdates what it changes, as a real provider's would).
    async fn update(
        &self,
        id: &str,
        change: impl FnOnce(SimPayment) -> Result<SimPayment, ProviderError> + Send + 'static,
    ) -> Result<SimPayment, ProviderError> {
        let key = id.to_string();
        self.db
            .run_for_campaigns(
                move |conn| -> Result<Result<SimPayment, ProviderError>, DbError> {
                    write_tx(conn, |conn| {
                        let Some(before) = lock(conn, &key)? else {
                            return Ok(Err(no_such_payment()));
                        };
                        let (status, refunded) = (before.status, before.refunded);
                        let after = match change(before) {
                            Ok(after) => after,
                            Err(refused) => return Ok(Err(refused)),
                        };
                        if after.status != status || after.refunded != refunded {
                            diesel::update(sp::table.find(&key))
                                .set((sp::status.eq(after.status), sp::refunded.eq(after.refunded)))
                                .execute(conn)?;
                        }
                        Ok(Ok(after))
                    })
                },
            )
            .await
            .map_err(unavailable)?
    }

    fn emit_payment(&self, kind: &str, p: &SimPayment, amount_received: i64) {
        self.emit(json!({"type": kind, "data": {"object": {
            "object": "payment_intent", "id": p.id, "status": p.status.as_str(), "amount": p.amount,
            "amount_received": amount_received, "currency": p.currency,
            "metadata": {"pledge_id": p.pledge_id},
        }}}));
    }

    fn emit(&self, mut event: serde_json::Value) {
        event["id"] = json!(ids::random_secret("evt_sim", 12));
        event["object"] = json!("event");
        event["created"] = json!(chrono::Utc::now().timestamp());
        let body = event.to_string();
        let header = signature::header(
            &self.secret,
            chrono::Utc::now().timestamp(),
            body.as_bytes(),
        );
        self.outbox
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((body, header));
    }

    /// Signed events waiting to be delivered to the webhook endpoint: (raw body, header).
    pub fn take_events(&self) -> Vec<(String, String)> {
        std::mem::take(&mut *self.outbox.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

fn short_hash(s: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(s.as_bytes())[..8])
}

/// The simulated provider's connected account for an association: active at once (there is
/// nobody to onboard), and the same account for the same association.
pub fn account(association_id: &str) -> super::ConnectedAccount {
    super::ConnectedAccount {
        id: format!("acct_sim_{}", short_hash(association_id)),
        status: crate::domain::crowd::PayoutAccountStatus::Active,
    }
}

/// A simulated transfer's id: the same for the same idempotency key, as at Stripe.
pub fn transfer_id(idempotency_key: &str) -> String {
    format!("tr_sim_{}", short_hash(idempotency_key))
}
