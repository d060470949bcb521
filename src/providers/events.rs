//! Stripe events as cofund understands them (pure parsing, no I/O).

use crate::domain::pledge::PaymentEvent;
use serde_json::Value;

use crate::domain::crowd::PayoutAccountStatus;
pub use crate::domain::provider_event::{AccountReport, ProviderEvent, RefundReport};

/// A Stripe account object's state for payouts: `active` when transfers can reach it,
/// `pending` while the association has not finished onboarding, `restricted` otherwise.
pub fn account_status(account: &Value) -> PayoutAccountStatus {
    let transfers_active = account["capabilities"]["transfers"].as_str() == Some("active");
    let disabled = account["requirements"]["disabled_reason"].is_string();
    if transfers_active && !disabled && account["payouts_enabled"].as_bool() != Some(false) {
        PayoutAccountStatus::Active
    } else if account["details_submitted"].as_bool() != Some(true) && !disabled {
        PayoutAccountStatus::Pending
    } else {
        PayoutAccountStatus::Restricted
    }
}

/// What cofund keeps of a provider event: its id, type and time, and of its object only the
/// fields the money path reads (ids, status, amounts, currency, our metadata). Billing details,
/// receipt e-mails, card data and anything else a provider sends are never stored, so nothing
/// personal outlives a donor's erasure in the event log. Falls back to `{}` for a body that is
/// not JSON (it was refused before being stored anyway).
pub fn minimal_payload(body: &[u8]) -> String {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return "{}".to_string();
    };
    const KEPT: [&str; 13] = [
        "id",
        "object",
        "status",
        "amount",
        "amount_received",
        "amount_refunded",
        "currency",
        "payment_intent",
        "charge",
        "reason",
        "charges_enabled",
        "payouts_enabled",
        "details_submitted",
    ];
    let object = &v["data"]["object"];
    let mut kept = serde_json::Map::new();
    for key in KEPT {
        if let Some(x) = object.get(key).filter(|x| !x.is_object() && !x.is_array()) {
            kept.insert(key.to_string(), x.clone());
        }
    }
    let mut metadata = serde_json::Map::new();
    for key in ["pledge_id", "cofund_refund"] {
        if let Some(x) = object["metadata"].get(key).filter(|x| x.is_string()) {
            metadata.insert(key.to_string(), x.clone());
        }
    }
    if !metadata.is_empty() {
        kept.insert("metadata".into(), Value::Object(metadata));
    }
    // A connected account's state (an association's, never a donor's).
    if let Some(t) = object["capabilities"]["transfers"].as_str() {
        kept.insert("capabilities".into(), serde_json::json!({"transfers": t}));
    }
    if let Some(r) = object["requirements"]["disabled_reason"].as_str() {
        kept.insert(
            "requirements".into(),
            serde_json::json!({"disabled_reason": r}),
        );
    }
    serde_json::json!({
        "id": v["id"],
        "type": v["type"],
        "created": v["created"],
        "data": {"object": kept},
    })
    .to_string()
}

/// Parses a Stripe event body. Errors only on something that is not an event at all.
pub fn parse(body: &[u8]) -> Result<ProviderEvent, &'static str> {
    let v: Value = serde_json::from_slice(body).map_err(|_| "body is not JSON")?;
    let id = v["id"]
        .as_str()
        .filter(|s| !s.is_empty() && s.len() <= 255)
        .ok_or("event without id")?
        .to_string();
    let kind = v["type"].as_str().ok_or("event without type")?.to_string();
    let object = &v["data"]["object"];
    if !object.is_object() {
        return Err("event without data.object");
    }
    let text = |x: &Value| x.as_str().map(str::to_string);
    let (payment_id, event) = match kind.as_str() {
        "payment_intent.succeeded" => (
            text(&object["id"]),
            Some(PaymentEvent::Succeeded {
                amount: object["amount_received"]
                    .as_i64()
                    .or_else(|| object["amount"].as_i64())
                    .unwrap_or(-1),
                currency: object["currency"].as_str().unwrap_or_default().to_string(),
            }),
        ),
        "payment_intent.payment_failed" => (text(&object["id"]), Some(PaymentEvent::Failed)),
        "payment_intent.processing" => (text(&object["id"]), Some(PaymentEvent::Processing)),
        "payment_intent.canceled" => (text(&object["id"]), Some(PaymentEvent::Canceled)),
        "charge.refunded" => (
            text(&object["payment_intent"]),
            object["amount_refunded"]
                .as_i64()
                .map(|amount_refunded| PaymentEvent::Refunded { amount_refunded }),
        ),
        "charge.dispute.created" => (
            text(&object["payment_intent"]),
            Some(PaymentEvent::DisputeOpened),
        ),
        "charge.dispute.closed" => (
            text(&object["payment_intent"]),
            match object["status"].as_str() {
                Some("won") => Some(PaymentEvent::DisputeClosed { won: true }),
                Some("lost") => Some(PaymentEvent::DisputeClosed { won: false }),
                _ => None,
            },
        ),
        _ => (None, None),
    };
    let refund = match kind.as_str() {
        "refund.updated" | "refund.failed" | "charge.refund.updated" => {
            match (text(&object["id"]), text(&object["status"])) {
                (Some(refund_id), Some(status)) if refund_id.len() <= 255 => Some(RefundReport {
                    refund_id,
                    // `refund.failed` is a failure whatever the object's status says.
                    status: if kind == "refund.failed" {
                        "failed".to_string()
                    } else {
                        status
                    },
                    key: text(&object["metadata"]["cofund_refund"]),
                }),
                _ => None,
            }
        }
        _ => None,
    };
    let payment_id = match &refund {
        Some(_) => text(&object["payment_intent"]),
        None => payment_id,
    };
    let pledge_hint = text(&object["metadata"]["pledge_id"]);
    let account = match (kind.as_str(), text(&object["id"])) {
        ("account.updated", Some(account_id)) if account_id.len() <= 255 => Some(AccountReport {
            account_id,
            status: account_status(object),
            created: v["created"].as_i64().unwrap_or(0),
        }),
        _ => None,
    };
    Ok(ProviderEvent {
        id,
        kind,
        payment_id,
        pledge_hint,
        event,
        refund,
        account,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_the_handled_event_types() {
        let e = parse(json!({"id": "evt_1", "type": "payment_intent.succeeded", "data": {"object": {"id": "pi_1", "amount": 2500, "amount_received": 2500, "currency": "eur", "metadata": {"pledge_id": "plg_1"}}}}).to_string().as_bytes()).unwrap();
        assert_eq!(e.payment_id.as_deref(), Some("pi_1"));
        assert_eq!(e.pledge_hint.as_deref(), Some("plg_1"));
        assert_eq!(
            e.event,
            Some(PaymentEvent::Succeeded {
                amount: 2500,
                currency: "eur".into()
            })
        );
        let e = parse(json!({"id": "evt_2", "type": "charge.refunded", "data": {"object": {"id": "ch_1", "payment_intent": "pi_1", "amount_refunded": 700}}}).to_string().as_bytes()).unwrap();
        assert_eq!(
            e.event,
            Some(PaymentEvent::Refunded {
                amount_refunded: 700
            })
        );
        let e = parse(json!({"id": "evt_3", "type": "charge.dispute.closed", "data": {"object": {"payment_intent": "pi_1", "status": "lost"}}}).to_string().as_bytes()).unwrap();
        assert_eq!(e.event, Some(PaymentEvent::DisputeClosed { won: false }));
        let e = parse(
            json!({"id": "evt_4", "type": "customer.created", "data": {"object": {"id": "cus_1"}}})
                .to_string()
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(e.event, None);
        let e = parse(json!({"id": "evt_5", "type": "refund.failed", "data": {"object": {"id": "re_1", "object": "refund", "payment_intent": "pi_1", "status": "pending", "metadata": {"cofund_refund": "cofund-refund-plg_1"}}}}).to_string().as_bytes()).unwrap();
        assert_eq!(e.payment_id.as_deref(), Some("pi_1"));
        assert_eq!(
            e.refund,
            Some(RefundReport {
                refund_id: "re_1".into(),
                status: "failed".into(),
                key: Some("cofund-refund-plg_1".into())
            })
        );
        assert_eq!(e.event, None);
    }

    #[test]
    fn stored_payloads_keep_what_the_money_path_reads_and_nothing_personal() {
        let body = json!({"id": "evt_1", "type": "payment_intent.succeeded", "created": 1,
            "data": {"object": {"id": "pi_1", "object": "payment_intent", "amount": 2500,
                "amount_received": 2500, "currency": "eur", "status": "succeeded",
                "receipt_email": "maria.rossi@example.org",
                "metadata": {"pledge_id": "plg_1", "note": "Maria Rossi"},
                "charges": {"data": [{"billing_details": {"email": "maria.rossi@example.org",
                    "name": "Maria Rossi", "address": {"line1": "Via Roma 1"}}}]},
                "shipping": {"name": "Maria Rossi"}}}});
        let kept = minimal_payload(body.to_string().as_bytes());
        assert!(
            !kept.contains("maria") && !kept.contains("Maria") && !kept.contains("Roma"),
            "{kept}"
        );
        let kept: Value = serde_json::from_str(&kept).unwrap();
        assert_eq!(kept["data"]["object"]["amount_received"], 2500);
        assert_eq!(kept["data"]["object"]["metadata"]["pledge_id"], "plg_1");
        assert_eq!(kept["id"], "evt_1");
        // What parses the original parses what is kept the same way.
        assert_eq!(
            parse(kept.to_string().as_bytes()).unwrap(),
            parse(body.to_string().as_bytes()).unwrap()
        );
    }

    #[test]
    fn reads_an_accounts_state_from_account_updated() {
        let event = |object: serde_json::Value| {
            parse(
                json!({"id": "evt_a", "type": "account.updated", "created": 1700000000,
                         "data": {"object": object}})
                .to_string()
                .as_bytes(),
            )
            .unwrap()
            .account
            .unwrap()
        };
        let a = event(
            json!({"id": "acct_1", "object": "account", "details_submitted": false,
                             "capabilities": {"transfers": "inactive"}}),
        );
        assert_eq!(a.status, PayoutAccountStatus::Pending);
        assert_eq!(a.created, 1700000000);
        let a = event(
            json!({"id": "acct_1", "details_submitted": true, "payouts_enabled": true,
                             "capabilities": {"transfers": "active"}}),
        );
        assert_eq!(a.status, PayoutAccountStatus::Active);
        let a = event(json!({"id": "acct_1", "details_submitted": true,
                             "capabilities": {"transfers": "active"},
                             "requirements": {"disabled_reason": "rejected.fraud"}}));
        assert_eq!(a.status, PayoutAccountStatus::Restricted);
        // What is stored of it reads the same.
        let body = json!({"id": "evt_b", "type": "account.updated", "created": 5,
            "data": {"object": {"id": "acct_1", "details_submitted": true, "email": "info@asso.example",
                                "capabilities": {"transfers": "active", "card_payments": "active"}}}});
        let kept = minimal_payload(body.to_string().as_bytes());
        assert!(!kept.contains("asso.example"), "{kept}");
        assert_eq!(
            parse(kept.as_bytes()).unwrap().account,
            parse(body.to_string().as_bytes()).unwrap().account
        );
    }

    #[test]
    fn rejects_what_is_not_an_event() {
        assert!(parse(b"not json").is_err());
        assert!(parse(br#"{"type":"x","data":{"object":{}}}"#).is_err());
        assert!(parse(br#"{"id":"evt_1","type":"x"}"#).is_err());
    }
}
