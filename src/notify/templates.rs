//! E-mail texts in Italian and English, chosen by the recipient's locale. Pure.

use serde_json::Value;

/// The e-mails cofund sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Template {
    DonorReceipt,
    RefundNotice,
    CampaignApproved,
    CampaignRejected,
    MatchReserved,
    CampaignSucceeded,
    CampaignFailed,
    SettlementPaid,
    BudgetExhausted,
}

impl Template {
    pub fn as_str(self) -> &'static str {
        match self {
            Template::DonorReceipt => "donor_receipt",
            Template::RefundNotice => "refund_notice",
            Template::CampaignApproved => "campaign_approved",
            Template::CampaignRejected => "campaign_rejected",
            Template::MatchReserved => "match_reserved",
            Template::CampaignSucceeded => "campaign_succeeded",
            Template::CampaignFailed => "campaign_failed",
            Template::SettlementPaid => "settlement_paid",
            Template::BudgetExhausted => "budget_exhausted",
        }
    }

    pub fn parse(s: &str) -> Option<Template> {
        use Template::*;
        [
            DonorReceipt,
            RefundNotice,
            CampaignApproved,
            CampaignRejected,
            MatchReserved,
            CampaignSucceeded,
            CampaignFailed,
            SettlementPaid,
            BudgetExhausted,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }
}

/// (subject, plain-text body) for `template` in `locale` (`it` unless `en`).
pub fn render(template: Template, locale: &str, d: &Value) -> (String, String) {
    let s = |k: &str| d[k].as_str().unwrap_or("").to_string();
    let en = locale == "en";
    let (subject, body) = match template {
        Template::DonorReceipt => {
            if en {
                (
                    format!("Your donation receipt {}", s("receipt_number")),
                    format!(
                        "Dear {name},\n\nthank you for your donation of {amount} {cur} to \"{campaign}\" by {asso}.\n\nReceipt number: {receipt}\nIssued by: {asso}, tax code {tax}, RUNTS registration {runts}\nDonor: {name}, tax code {donor_tax}\nAmount: {amount} {cur}\nDate: {date}\nPayment method: {method}\nPurpose: {causale}\n\nLiberal donation under art. 83 of Legislative Decree 117/2017, made with a traceable means of payment. Keep this e-mail for your tax records.\n",
                        runts = s("association_runts_id"),
                        donor_tax = s("donor_tax_code"),
                        method = s("method"),
                        causale = s("causale"),
                        name = s("donor_name"),
                        amount = s("amount"),
                        cur = s("currency"),
                        campaign = s("campaign_title"),
                        asso = s("association_name"),
                        tax = s("association_tax_code"),
                        receipt = s("receipt_number"),
                        date = s("date"),
                    ),
                )
            } else {
                (
                    format!("Ricevuta della tua donazione {}", s("receipt_number")),
                    format!(
                        "Gentile {name},\n\ngrazie per la tua donazione di {amount} {cur} a \"{campaign}\" di {asso}.\n\nRicevuta n. {receipt}\nEnte: {asso}, codice fiscale {tax}, iscrizione RUNTS {runts}\nDonatore: {name}, codice fiscale {donor_tax}\nImporto: {amount} {cur}\nData: {date}\nModalità di pagamento: {method}\nCausale: {causale}\n\nErogazione liberale ai sensi dell'art. 83 del D.Lgs. 117/2017, effettuata con mezzo di pagamento tracciabile. Conserva questa e-mail per la tua dichiarazione dei redditi.\n",
                        runts = s("association_runts_id"),
                        donor_tax = s("donor_tax_code"),
                        method = s("method"),
                        causale = s("causale"),
                        name = s("donor_name"),
                        amount = s("amount"),
                        cur = s("currency"),
                        campaign = s("campaign_title"),
                        asso = s("association_name"),
                        tax = s("association_tax_code"),
                        receipt = s("receipt_number"),
                        date = s("date"),
                    ),
                )
            }
        }
        Template::RefundNotice => {
            if en {
                (
                    format!("Refund of your donation to \"{}\"", s("campaign_title")),
                    format!(
                        "Dear {},\n\n{} {} of your donation (receipt {}) has been refunded to your payment method.\n",
                        s("donor_name"),
                        s("refunded"),
                        s("currency"),
                        s("receipt_number")
                    ),
                )
            } else {
                (
                    format!("Rimborso della tua donazione a \"{}\"", s("campaign_title")),
                    format!(
                        "Gentile {},\n\nti abbiamo rimborsato {} {} della tua donazione (ricevuta {}) sul metodo di pagamento usato.\n",
                        s("donor_name"),
                        s("refunded"),
                        s("currency"),
                        s("receipt_number")
                    ),
                )
            }
        }
        Template::CampaignApproved => {
            if en {
                (
                    format!("Campaign approved: {}", s("campaign_title")),
                    format!(
                        "Your campaign \"{}\" was approved. It goes live on {}.\n",
                        s("campaign_title"),
                        s("starts_at")
                    ),
                )
            } else {
                (
                    format!("Campagna approvata: {}", s("campaign_title")),
                    format!(
                        "La vostra campagna \"{}\" è stata approvata. Sarà online dal {}.\n",
                        s("campaign_title"),
                        s("starts_at")
                    ),
                )
            }
        }
        Template::CampaignRejected => {
            if en {
                (
                    format!("Campaign not approved: {}", s("campaign_title")),
                    format!(
                        "Your campaign \"{}\" was not approved.\n\nReason: {}\n\nYou may edit it and submit it again.\n",
                        s("campaign_title"),
                        s("reason")
                    ),
                )
            } else {
                (
                    format!("Campagna non approvata: {}", s("campaign_title")),
                    format!(
                        "La vostra campagna \"{}\" non è stata approvata.\n\nMotivo: {}\n\nPotete modificarla e inviarla di nuovo.\n",
                        s("campaign_title"),
                        s("reason")
                    ),
                )
            }
        }
        Template::MatchReserved => {
            if en {
                (
                    format!("Threshold reached: {}", s("campaign_title")),
                    format!(
                        "\"{}\" reached its threshold with {} {} raised. The city has reserved a match of {} {}.\n",
                        s("campaign_title"),
                        s("raised"),
                        s("currency"),
                        s("match"),
                        s("currency")
                    ),
                )
            } else {
                (
                    format!("Soglia raggiunta: {}", s("campaign_title")),
                    format!(
                        "\"{}\" ha raggiunto la soglia con {} {} raccolti. Il Comune ha riservato un cofinanziamento di {} {}.\n",
                        s("campaign_title"),
                        s("raised"),
                        s("currency"),
                        s("match"),
                        s("currency")
                    ),
                )
            }
        }
        Template::CampaignSucceeded => {
            if en {
                (
                    format!("Campaign succeeded: {}", s("campaign_title")),
                    format!(
                        "\"{}\" closed with {} {} raised. The city's match of {} {} is committed and will be paid by bank transfer.\n",
                        s("campaign_title"),
                        s("raised"),
                        s("currency"),
                        s("match"),
                        s("currency")
                    ),
                )
            } else {
                (
                    format!("Campagna riuscita: {}", s("campaign_title")),
                    format!(
                        "\"{}\" si è chiusa con {} {} raccolti. Il cofinanziamento del Comune di {} {} è confermato e sarà pagato con bonifico.\n",
                        s("campaign_title"),
                        s("raised"),
                        s("currency"),
                        s("match"),
                        s("currency")
                    ),
                )
            }
        }
        Template::CampaignFailed => {
            if en {
                (
                    format!("Campaign not funded: {}", s("campaign_title")),
                    format!(
                        "\"{}\" closed with {} {} raised, below its threshold of {} {}. Every donation is being refunded.\n",
                        s("campaign_title"),
                        s("raised"),
                        s("currency"),
                        s("threshold"),
                        s("currency")
                    ),
                )
            } else {
                (
                    format!("Campagna non finanziata: {}", s("campaign_title")),
                    format!(
                        "\"{}\" si è chiusa con {} {} raccolti, sotto la soglia di {} {}. Tutte le donazioni vengono rimborsate.\n",
                        s("campaign_title"),
                        s("raised"),
                        s("currency"),
                        s("threshold"),
                        s("currency")
                    ),
                )
            }
        }
        Template::SettlementPaid => {
            if en {
                (
                    format!("Match paid: {} {}", s("amount"), s("currency")),
                    format!(
                        "The city has paid {} {} to {} (bank reference {}) for: {}.\n",
                        s("amount"),
                        s("currency"),
                        s("iban"),
                        s("bank_reference"),
                        s("campaigns")
                    ),
                )
            } else {
                (
                    format!("Cofinanziamento pagato: {} {}", s("amount"), s("currency")),
                    format!(
                        "Il Comune ha pagato {} {} su {} (riferimento bancario {}) per: {}.\n",
                        s("amount"),
                        s("currency"),
                        s("iban"),
                        s("bank_reference"),
                        s("campaigns")
                    ),
                )
            }
        }
        Template::BudgetExhausted => {
            if en {
                (
                    format!("Fund budget exhausted: {}", s("fund_name")),
                    format!(
                        "The fund \"{}\" cannot cover the match of \"{}\": {} {} available. Campaigns are waiting for budget.\n",
                        s("fund_name"),
                        s("campaign_title"),
                        s("available"),
                        s("currency")
                    ),
                )
            } else {
                (
                    format!("Budget del fondo esaurito: {}", s("fund_name")),
                    format!(
                        "Il fondo \"{}\" non può coprire il cofinanziamento di \"{}\": {} {} disponibili. Ci sono campagne in attesa di budget.\n",
                        s("fund_name"),
                        s("campaign_title"),
                        s("available"),
                        s("currency")
                    ),
                )
            }
        }
    };
    (subject, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn receipts_speak_the_donors_language_and_carry_the_figures() {
        let d = json!({"donor_name": "Anna", "amount": "25.00", "currency": "EUR", "campaign_title": "Orti", "association_name": "Aurora APS", "association_tax_code": "12345678903", "receipt_number": "CF-2026-ABC", "date": "2026-11-22"});
        let (subject, body) = render(Template::DonorReceipt, "it", &d);
        assert!(subject.contains("Ricevuta") && subject.contains("CF-2026-ABC"));
        assert!(
            body.contains("25.00 EUR") && body.contains("Orti") && body.contains("12345678903")
        );
        let (subject, body) = render(Template::DonorReceipt, "en", &d);
        assert!(subject.starts_with("Your donation receipt"));
        assert!(body.contains("Receipt number: CF-2026-ABC"));
        for t in [
            "donor_receipt",
            "refund_notice",
            "campaign_approved",
            "campaign_rejected",
            "match_reserved",
            "campaign_succeeded",
            "campaign_failed",
            "settlement_paid",
            "budget_exhausted",
        ] {
            assert_eq!(Template::parse(t).unwrap().as_str(), t);
        }
    }
}
