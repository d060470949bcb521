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
    GrantReportDue,
    GrantOverdue,
    GrantApproved,
    GrantRecoveryRequested,
    EvaluationAssigned,
    AppealFiled,
    AppealDecided,
    CampaignUpdate,
    ReceiptLink,
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
            Template::GrantReportDue => "grant_report_due",
            Template::GrantOverdue => "grant_overdue",
            Template::GrantApproved => "grant_approved",
            Template::GrantRecoveryRequested => "grant_recovery_requested",
            Template::EvaluationAssigned => "evaluation_assigned",
            Template::AppealFiled => "appeal_filed",
            Template::AppealDecided => "appeal_decided",
            Template::CampaignUpdate => "campaign_update",
            Template::ReceiptLink => "receipt_link",
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
            GrantReportDue,
            GrantOverdue,
            GrantApproved,
            GrantRecoveryRequested,
            EvaluationAssigned,
            AppealFiled,
            AppealDecided,
            CampaignUpdate,
            ReceiptLink,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }
}

/// The askama text templates, one file per e-mail with both languages
/// (`templates/email/*.txt`: the subject, a `---` line, the body). Text templates are not
/// HTML-escaped; every value is the data the e-mail was queued with.
macro_rules! mail_templates {
    ($($kind:ident => $file:literal),* $(,)?) => {
        mod compiled {
            use serde_json::Value;
            $(
                #[derive(askama::Template)]
                #[template(path = $file, escape = "none")]
                pub struct $kind<'a> {
                    pub en: bool,
                    pub d: &'a Value,
                }

                impl $kind<'_> {
                    fn s(&self, key: &str) -> String {
                        match &self.d[key] {
                            Value::String(s) => s.clone(),
                            Value::Null => String::new(),
                            other => other.to_string(),
                        }
                    }

                    fn lang(&self) -> crate::locale::Lang {
                        if self.en { crate::locale::Lang::En } else { crate::locale::Lang::It }
                    }

                    /// The amount `key` in the message's currency, as the reader writes money.
                    #[allow(dead_code)]
                    fn money(&self, key: &str) -> String {
                        let currency = match self.s("currency") {
                            c if c.is_empty() => "EUR".to_string(),
                            c => c,
                        };
                        crate::locale::api_amount(self.lang(), &self.s(key), &currency)
                    }

                    /// The ISO day `key` as the reader writes dates.
                    #[allow(dead_code)]
                    fn day(&self, key: &str) -> String {
                        crate::locale::api_date(self.lang(), &self.s(key))
                    }
                }
            )*
        }

        fn render_text(template: Template, en: bool, d: &Value) -> Result<String, askama::Error> {
            use askama::Template as _;
            match template {
                $(Template::$kind => compiled::$kind { en, d }.render(),)*
            }
        }
    };
}

mail_templates! {
    DonorReceipt => "email/donor_receipt.txt",
    RefundNotice => "email/refund_notice.txt",
    CampaignApproved => "email/campaign_approved.txt",
    CampaignRejected => "email/campaign_rejected.txt",
    MatchReserved => "email/match_reserved.txt",
    CampaignSucceeded => "email/campaign_succeeded.txt",
    CampaignFailed => "email/campaign_failed.txt",
    SettlementPaid => "email/settlement_paid.txt",
    BudgetExhausted => "email/budget_exhausted.txt",
    GrantReportDue => "email/grant_report_due.txt",
    GrantOverdue => "email/grant_overdue.txt",
    GrantApproved => "email/grant_approved.txt",
    GrantRecoveryRequested => "email/grant_recovery_requested.txt",
    EvaluationAssigned => "email/evaluation_assigned.txt",
    AppealFiled => "email/appeal_filed.txt",
    AppealDecided => "email/appeal_decided.txt",
    CampaignUpdate => "email/campaign_update.txt",
    ReceiptLink => "email/receipt_link.txt",
}

/// (subject, plain-text body) for `template` in `locale` (`it` unless `en`).
pub fn render(template: Template, locale: &str, d: &Value) -> (String, String) {
    let text = render_text(template, locale == "en", d).unwrap_or_else(|e| {
        // Templates are checked at compile time; rendering plain strings cannot fail.
        tracing::error!(error = %e, "e-mail template");
        String::from("cofund\n---\n")
    });
    let (subject, body) = text
        .split_once("\n---\n")
        .unwrap_or(("cofund", text.as_str()));
    (subject.trim().to_string(), format!("{}\n", body.trim_end()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_mail_has_a_subject_and_a_body_in_both_languages_and_is_not_html_escaped() {
        let keys = [
            "donor_name",
            "amount",
            "currency",
            "campaign_title",
            "association_name",
            "association_tax_code",
            "association_runts_id",
            "donor_tax_code",
            "receipt_number",
            "date",
            "method",
            "causale",
            "refunded",
            "starts_at",
            "reason",
            "raised",
            "match",
            "threshold",
            "iban",
            "bank_reference",
            "campaigns",
            "fund_name",
            "available",
            "grant_id",
            "campaign_title",
            "due",
            "paid",
            "balance",
            "recoverable",
            "report_due_at",
            "update_title",
            "update_body",
            "campaign_url",
            "link",
        ];
        let d: serde_json::Map<String, Value> = keys
            .iter()
            .map(|k| (k.to_string(), json!(format!("<{k}> & \"x\""))))
            .collect();
        let d = Value::Object(d);
        use Template::*;
        for t in [
            DonorReceipt,
            RefundNotice,
            CampaignApproved,
            CampaignRejected,
            MatchReserved,
            CampaignSucceeded,
            CampaignFailed,
            SettlementPaid,
            BudgetExhausted,
            GrantReportDue,
            GrantOverdue,
            GrantApproved,
            GrantRecoveryRequested,
            EvaluationAssigned,
            AppealFiled,
            AppealDecided,
            CampaignUpdate,
            ReceiptLink,
        ] {
            let (it_subject, it_body) = render(t, "it", &d);
            let (en_subject, en_body) = render(t, "en", &d);
            assert!(!it_subject.is_empty() && !en_subject.is_empty(), "{t:?}");
            assert!(
                !it_subject.contains('\n') && !en_subject.contains("---"),
                "{t:?}"
            );
            assert_ne!(it_body, en_body, "{t:?} speaks both languages");
            assert!(
                it_body.contains("& \"x\"") && !it_body.contains("&amp;"),
                "{t:?}"
            );
            assert!(en_body.ends_with('\n'), "{t:?}");
        }
    }

    #[test]
    fn receipts_speak_the_donors_language_and_carry_the_figures() {
        let d = json!({"donor_name": "Anna", "amount": "12500.00", "currency": "EUR", "campaign_title": "Orti", "association_name": "Aurora APS", "association_tax_code": "12345678903", "receipt_number": "CF-2026-ABC", "date": "2026-11-22"});
        let (subject, body) = render(Template::DonorReceipt, "it", &d);
        assert!(subject.contains("Ricevuta") && subject.contains("CF-2026-ABC"));
        assert!(
            body.contains("12.500,00\u{a0}€")
                && body.contains("Data: 22 novembre 2026")
                && body.contains("Orti")
                && body.contains("12345678903")
        );
        let (subject, body) = render(Template::DonorReceipt, "en", &d);
        assert!(subject.starts_with("Your donation receipt"));
        assert!(body.contains("Receipt number: CF-2026-ABC"));
        assert!(body.contains("Amount: €12,500.00") && body.contains("Date: 22 November 2026"));
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
