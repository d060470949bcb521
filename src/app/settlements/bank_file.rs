//! A batch's credit-transfer file for the bank (ISO 20022 pain.001.001.03), from the funder's
//! own account or, for the city without one, from the configured account.

use super::SettlementError;
use super::reads::{batch, funder_of};
use crate::app::AppState;
use crate::clock::now;
use crate::domain::sepa;
use crate::domain::settlement::{ItemStatus, SettlementStatus};

/// The batch's pain.001 file and its name. Refused for a cancelled batch, and for the city's
/// batch while its account is the built-in example (a bank would reject the file at best; at
/// worst it debits somebody else's account).
pub async fn pain001(state: &AppState, id: String) -> Result<(String, String), SettlementError> {
    let b = batch(state, id).await?;
    if b.settlement.status == SettlementStatus::Cancelled {
        return Err(SettlementError::Cancelled);
    }
    let funder = funder_of(state, &b).await?;
    let cfg = &state.config;
    // A funder with its own account is the debtor; the city without one pays from the
    // configured account.
    let debtor = match &funder.iban {
        Some(iban) => sepa::Debtor {
            name: funder.name.clone(),
            iban: iban.clone(),
            bic: funder.bic.clone(),
        },
        None => sepa::Debtor {
            name: cfg.debtor_name.clone(),
            iban: cfg.debtor_iban.as_str().to_string(),
            bic: cfg.debtor_bic.as_ref().map(|b| b.as_str().to_string()),
        },
    };
    if funder.iban.is_none() && cfg.debtor_iban.as_str() == crate::config::EXAMPLE_DEBTOR_IBAN {
        return Err(SettlementError::DebtorNotConfigured);
    }
    let s = b.settlement;
    let file = sepa::Batch {
        message_id: s.message_id.clone(),
        payment_info_id: format!("{}-1", s.message_id),
        created_at: now(),
        execution_date: now().date(),
        currency: s.currency,
        transfers: b
            .items
            .into_iter()
            .filter(|i| i.status != ItemStatus::Cancelled)
            .map(|i| sepa::Transfer {
                end_to_end_id: i.end_to_end_id,
                amount: i.amount,
                creditor_name: i.creditor_name,
                iban: i.iban,
                bic: i.bic,
                remittance: i.remittance,
            })
            .collect(),
    };
    let xml = sepa::pain001(&debtor, &file);
    Ok((format!("{}.xml", s.message_id), xml))
}
