//! Stripe's REST API over reqwest (rustls): PaymentIntents, Refunds, and for the crowd's
//! payouts Connect Express accounts, account links, transfers and transfer reversals. Every mutating call
//! carries an idempotency key generated once and stored with the operation; network errors,
//! timeouts, 429 and 5xx are retried with backoff, 4xx are not.

use super::{
    ConnectedAccount, CreatedPayment, CreatedRefund, OnboardingLink, ProviderError,
    RetrievedPayment,
};
use serde_json::Value;
use std::time::Duration;

/// The API version cofund is written against, pinned so Stripe's upgrades do not change shapes.
pub const STRIPE_API_VERSION: &str = "2024-06-20";

pub struct StripeClient {
    base: String,
    secret_key: String,
    http: reqwest::Client,
    attempts: u32,
    backoff: Duration,
}

impl StripeClient {
    pub fn new(base: &str, secret_key: &str) -> StripeClient {
        crate::init_tls();
        StripeClient {
            base: base.trim_end_matches('/').to_string(),
            secret_key: secret_key.to_string(),
            http: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(5))
                .timeout(Duration::from_secs(20))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("HTTP client"),
            attempts: 4,
            backoff: Duration::from_millis(200),
        }
    }

    /// Shorter backoff for tests.
    pub fn with_backoff(mut self, backoff: Duration) -> StripeClient {
        self.backoff = backoff;
        self
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        form: &[(&str, String)],
        idempotency_key: Option<&str>,
    ) -> Result<Value, ProviderError> {
        let url = format!("{}{}", self.base, path);
        let mut last = String::new();
        for attempt in 0..self.attempts {
            if attempt > 0 {
                tokio::time::sleep(self.backoff * 2u32.pow(attempt - 1)).await;
            }
            let mut req = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(&self.secret_key)
                .header("Stripe-Version", STRIPE_API_VERSION);
            if let Some(key) = idempotency_key {
                req = req.header("Idempotency-Key", key);
            }
            if !form.is_empty() {
                req = req.form(form);
            }
            match req.send().await {
                Ok(res) => {
                    let status = res.status();
                    let body: Value = res.json().await.unwrap_or(Value::Null);
                    if status.is_success() {
                        return Ok(body);
                    }
                    let message = body["error"]["message"]
                        .as_str()
                        .unwrap_or("no message")
                        .to_string();
                    if status.is_server_error() || status.as_u16() == 429 {
                        last = format!("{status}: {message}");
                        tracing::warn!(%status, attempt, "stripe call failed; retrying");
                        continue;
                    }
                    return Err(ProviderError::Rejected {
                        status: status.as_u16(),
                        message,
                    });
                }
                Err(e) => {
                    last = if e.is_timeout() {
                        "timeout".to_string()
                    } else {
                        "network error".to_string()
                    };
                    tracing::warn!(error = %e, attempt, "stripe call failed; retrying");
                }
            }
        }
        Err(ProviderError::Unavailable(last))
    }

    pub async fn create_payment_intent(
        &self,
        pledge_id: &str,
        transfer_group: &str,
        amount: i64,
        currency: &str,
        idempotency_key: &str,
    ) -> Result<CreatedPayment, ProviderError> {
        let form = [
            ("amount", amount.to_string()),
            ("currency", currency.to_ascii_lowercase()),
            ("metadata[pledge_id]", pledge_id.to_string()),
            // The campaign: its charges are paid on to the association together.
            ("transfer_group", transfer_group.to_string()),
            ("automatic_payment_methods[enabled]", "true".to_string()),
        ];
        let v = self
            .call(
                reqwest::Method::POST,
                "/v1/payment_intents",
                &form,
                Some(idempotency_key),
            )
            .await?;
        Ok(CreatedPayment {
            id: v["id"]
                .as_str()
                .ok_or_else(|| ProviderError::Unavailable("response without id".into()))?
                .to_string(),
            client_secret: v["client_secret"].as_str().map(str::to_string),
            bank: None,
        })
    }

    pub async fn retrieve_payment_intent(
        &self,
        id: &str,
    ) -> Result<RetrievedPayment, ProviderError> {
        if !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(ProviderError::Rejected {
                status: 400,
                message: "invalid payment id".into(),
            });
        }
        let v = self
            .call(
                reqwest::Method::GET,
                &format!("/v1/payment_intents/{id}"),
                &[],
                None,
            )
            .await?;
        Ok(RetrievedPayment {
            id: id.to_string(),
            status: v["status"].as_str().unwrap_or_default().to_string(),
            amount_received: v["amount_received"].as_i64().unwrap_or(0),
            currency: v["currency"].as_str().unwrap_or_default().to_string(),
        })
    }

    /// `POST /v1/payment_intents/{id}/cancel`. Idempotent at Stripe: cancelling a cancelled
    /// PaymentIntent is refused with a 400 the caller may treat as done.
    pub async fn cancel_payment_intent(&self, id: &str) -> Result<(), ProviderError> {
        if !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(ProviderError::Rejected {
                status: 400,
                message: "invalid payment id".into(),
            });
        }
        let form = [("cancellation_reason", "abandoned".to_string())];
        self.call(
            reqwest::Method::POST,
            &format!("/v1/payment_intents/{id}/cancel"),
            &form,
            Some(&format!("cofund-cancel-{id}")),
        )
        .await
        .map(drop)
    }

    pub async fn refund(
        &self,
        payment_id: &str,
        amount: i64,
        idempotency_key: &str,
    ) -> Result<CreatedRefund, ProviderError> {
        let form = [
            ("payment_intent", payment_id.to_string()),
            ("amount", amount.to_string()),
            ("reason", "requested_by_customer".to_string()),
            ("metadata[cofund_refund]", idempotency_key.to_string()),
        ];
        let v = self
            .call(
                reqwest::Method::POST,
                "/v1/refunds",
                &form,
                Some(idempotency_key),
            )
            .await?;
        Ok(CreatedRefund {
            id: v["id"].as_str().unwrap_or_default().to_string(),
            status: v["status"].as_str().unwrap_or_default().to_string(),
        })
    }
}

/// An id Stripe gave us, checked before it goes into a URL path.
fn path_id(id: &str) -> Result<&str, ProviderError> {
    if !id.is_empty()
        && id.len() <= 255
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        Ok(id)
    } else {
        Err(ProviderError::Rejected {
            status: 400,
            message: "invalid id".into(),
        })
    }
}

fn id_of(v: &Value) -> Result<String, ProviderError> {
    v["id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| ProviderError::Unavailable("response without id".into()))
}

impl StripeClient {
    /// `POST /v1/accounts`: an Express connected account for an association, able to receive
    /// transfers. The key is the association's, so two requests at once make one account.
    pub async fn create_account(
        &self,
        association_id: &str,
        email: &str,
        country: &str,
    ) -> Result<ConnectedAccount, ProviderError> {
        let form = [
            ("type", "express".to_string()),
            ("country", country.to_string()),
            ("email", email.to_string()),
            ("business_type", "non_profit".to_string()),
            ("capabilities[transfers][requested]", "true".to_string()),
            ("metadata[association_id]", association_id.to_string()),
        ];
        let v = self
            .call(
                reqwest::Method::POST,
                "/v1/accounts",
                &form,
                Some(&format!("cofund-account-{association_id}")),
            )
            .await?;
        Ok(ConnectedAccount {
            id: id_of(&v)?,
            status: super::events::account_status(&v),
        })
    }

    /// `POST /v1/account_links`: a one-time onboarding link for the account.
    pub async fn create_account_link(
        &self,
        account_id: &str,
        refresh_url: &str,
        return_url: &str,
    ) -> Result<OnboardingLink, ProviderError> {
        let form = [
            ("account", path_id(account_id)?.to_string()),
            ("refresh_url", refresh_url.to_string()),
            ("return_url", return_url.to_string()),
            ("type", "account_onboarding".to_string()),
        ];
        let v = self
            .call(reqwest::Method::POST, "/v1/account_links", &form, None)
            .await?;
        Ok(OnboardingLink {
            url: v["url"]
                .as_str()
                .ok_or_else(|| ProviderError::Unavailable("account link without url".into()))?
                .to_string(),
            expires_at: v["expires_at"].as_i64(),
        })
    }

    /// `POST /v1/transfers` from the programme's balance to the connected account.
    pub async fn create_transfer(
        &self,
        transfer: &super::TransferRequest<'_>,
    ) -> Result<String, ProviderError> {
        let form = [
            ("amount", transfer.amount.to_string()),
            ("currency", transfer.currency.to_ascii_lowercase()),
            ("destination", path_id(transfer.destination)?.to_string()),
            ("transfer_group", transfer.transfer_group.to_string()),
            ("metadata[payout_id]", transfer.payout_id.to_string()),
        ];
        let v = self
            .call(
                reqwest::Method::POST,
                "/v1/transfers",
                &form,
                Some(&super::payout_key(transfer.payout_id)),
            )
            .await?;
        id_of(&v)
    }

    /// The transfer made for a payout, if any: read back before a payout is tried again, so a
    /// transfer whose answer was lost is not made twice even after the idempotency key expired.
    pub async fn find_transfer(
        &self,
        transfer_group: &str,
        payout_id: &str,
    ) -> Result<Option<String>, ProviderError> {
        let url = format!(
            "/v1/transfers?transfer_group={}&limit=100",
            path_id(transfer_group)?
        );
        let v = self.call(reqwest::Method::GET, &url, &[], None).await?;
        Ok(v["data"].as_array().and_then(|items| {
            items
                .iter()
                .find(|t| t["metadata"]["payout_id"].as_str() == Some(payout_id))
                .and_then(|t| t["id"].as_str().map(str::to_string))
        }))
    }

    /// `POST /v1/transfers/{id}/reversals`: takes `amount` back from the connected account.
    pub async fn reverse_transfer(
        &self,
        transfer_id: &str,
        amount: i64,
        reversal_id: &str,
    ) -> Result<String, ProviderError> {
        let form = [
            ("amount", amount.to_string()),
            ("metadata[reversal_id]", reversal_id.to_string()),
        ];
        let v = self
            .call(
                reqwest::Method::POST,
                &format!("/v1/transfers/{}/reversals", path_id(transfer_id)?),
                &form,
                Some(&super::reversal_key(reversal_id)),
            )
            .await?;
        id_of(&v)
    }
}
