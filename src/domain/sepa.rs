//! ISO 20022 pain.001.001.03 customer credit transfer initiation (SEPA), built as text. Pure.
//! Every free text is reduced to the SEPA Latin character set and XML-escaped; amounts are
//! written from integer minor units.

use super::money::{Currency, format_amount};
use chrono::{NaiveDate, NaiveDateTime};

pub struct Debtor {
    pub name: String,
    pub iban: String,
    pub bic: Option<String>,
}

pub struct Transfer {
    pub end_to_end_id: String,
    pub amount: i64,
    pub creditor_name: String,
    pub iban: String,
    pub bic: Option<String>,
    pub remittance: String,
}

pub struct Batch {
    pub message_id: String,
    pub payment_info_id: String,
    pub created_at: NaiveDateTime,
    pub execution_date: NaiveDate,
    pub currency: Currency,
    pub transfers: Vec<Transfer>,
}

/// Reduces text to the SEPA character set (a-z A-Z 0-9 / - ? : ( ) . , ' + space):
/// accents are dropped, `&` becomes `+`, anything else becomes a space; at most `max` chars.
pub fn sepa_text(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let mapped: &str = match c {
            'a'..='z'
            | 'A'..='Z'
            | '0'..='9'
            | '/'
            | '-'
            | '?'
            | ':'
            | '('
            | ')'
            | '.'
            | ','
            | '\''
            | '+' => {
                out.push(c);
                continue;
            }
            'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' | 'ā' => "a",
            'À' | 'Á' | 'Â' | 'Ä' | 'Ã' | 'Å' | 'Ā' => "A",
            'è' | 'é' | 'ê' | 'ë' | 'ē' => "e",
            'È' | 'É' | 'Ê' | 'Ë' | 'Ē' => "E",
            'ì' | 'í' | 'î' | 'ï' | 'ī' => "i",
            'Ì' | 'Í' | 'Î' | 'Ï' | 'Ī' => "I",
            'ò' | 'ó' | 'ô' | 'ö' | 'õ' | 'ø' | 'ō' => "o",
            'Ò' | 'Ó' | 'Ô' | 'Ö' | 'Õ' | 'Ø' | 'Ō' => "O",
            'ù' | 'ú' | 'û' | 'ü' | 'ū' => "u",
            'Ù' | 'Ú' | 'Û' | 'Ü' | 'Ū' => "U",
            'ç' => "c",
            'Ç' => "C",
            'ñ' => "n",
            'Ñ' => "N",
            'ß' => "ss",
            'æ' => "ae",
            'Æ' => "AE",
            'œ' => "oe",
            'Œ' => "OE",
            '&' => "+",
            '’' | '‘' | '`' | '´' => "'",
            '–' | '—' => "-",
            _ => " ",
        };
        out.push_str(mapped);
    }
    let collapsed = out.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed
        .chars()
        .take(max)
        .collect::<String>()
        .trim()
        .to_string()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&apos;")
        .replace('"', "&quot;")
}

fn agent(bic: &Option<String>) -> String {
    match bic {
        Some(b) => format!("<FinInstnId><BIC>{}</BIC></FinInstnId>", esc(b)),
        // SEPA allows IBAN-only transfers; the schema still wants an agent.
        None => "<FinInstnId><Othr><Id>NOTPROVIDED</Id></Othr></FinInstnId>".to_string(),
    }
}

/// Sum of the transfers, in minor units.
pub fn control_sum(batch: &Batch) -> i64 {
    batch.transfers.iter().map(|t| t.amount).sum()
}

pub fn pain001(debtor: &Debtor, batch: &Batch) -> String {
    let n = batch.transfers.len();
    let sum = format_amount(control_sum(batch), batch.currency);
    let debtor_name = esc(&sepa_text(&debtor.name, 70));
    let mut x = String::new();
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.001.001.03\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n");
    x.push_str("  <CstmrCdtTrfInitn>\n");
    x.push_str(&format!(
        "    <GrpHdr>\n      <MsgId>{}</MsgId>\n      <CreDtTm>{}</CreDtTm>\n      <NbOfTxs>{n}</NbOfTxs>\n      <CtrlSum>{sum}</CtrlSum>\n      <InitgPty><Nm>{debtor_name}</Nm></InitgPty>\n    </GrpHdr>\n",
        esc(&sepa_text(&batch.message_id, 35)),
        batch.created_at.format("%Y-%m-%dT%H:%M:%S"),
    ));
    x.push_str(&format!(
        "    <PmtInf>\n      <PmtInfId>{}</PmtInfId>\n      <PmtMtd>TRF</PmtMtd>\n      <BtchBookg>true</BtchBookg>\n      <NbOfTxs>{n}</NbOfTxs>\n      <CtrlSum>{sum}</CtrlSum>\n      <PmtTpInf><SvcLvl><Cd>SEPA</Cd></SvcLvl></PmtTpInf>\n      <ReqdExctnDt>{}</ReqdExctnDt>\n      <Dbtr><Nm>{debtor_name}</Nm></Dbtr>\n      <DbtrAcct><Id><IBAN>{}</IBAN></Id></DbtrAcct>\n      <DbtrAgt>{}</DbtrAgt>\n      <ChrgBr>SLEV</ChrgBr>\n",
        esc(&sepa_text(&batch.payment_info_id, 35)),
        batch.execution_date.format("%Y-%m-%d"),
        esc(&debtor.iban),
        agent(&debtor.bic),
    ));
    for t in &batch.transfers {
        x.push_str(&format!(
            "      <CdtTrfTxInf>\n        <PmtId><EndToEndId>{}</EndToEndId></PmtId>\n        <Amt><InstdAmt Ccy=\"{}\">{}</InstdAmt></Amt>\n        <CdtrAgt>{}</CdtrAgt>\n        <Cdtr><Nm>{}</Nm></Cdtr>\n        <CdtrAcct><Id><IBAN>{}</IBAN></Id></CdtrAcct>\n        <RmtInf><Ustrd>{}</Ustrd></RmtInf>\n      </CdtTrfTxInf>\n",
            esc(&sepa_text(&t.end_to_end_id, 35)),
            batch.currency.code(),
            format_amount(t.amount, batch.currency),
            agent(&t.bic),
            esc(&sepa_text(&t.creditor_name, 70)),
            esc(&t.iban),
            esc(&sepa_text(&t.remittance, 140)),
        ));
    }
    x.push_str("    </PmtInf>\n  </CstmrCdtTrfInitn>\n</Document>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sepa_text_transliterates_and_limits() {
        assert_eq!(
            sepa_text("Cooperativa Sociale Mirafiori & Dintorni", 70),
            "Cooperativa Sociale Mirafiori + Dintorni"
        );
        assert_eq!(
            sepa_text("Associazione «Città Àperta» <script>", 70),
            "Associazione Citta Aperta script"
        );
        assert_eq!(sepa_text("  a \n\t b  ", 70), "a b");
        assert_eq!(sepa_text("abcdef", 3), "abc");
        assert_eq!(sepa_text("Zoë’s café", 70), "Zoe's cafe");
    }

    proptest! {
        #[test]
        fn sepa_text_only_ever_yields_the_sepa_charset(s in "\\PC{0,200}", max in 1usize..140) {
            let out = sepa_text(&s, max);
            prop_assert!(out.chars().count() <= max);
            prop_assert!(out.chars().all(|c| c.is_ascii_alphanumeric() || "/-?:().,'+ ".contains(c)));
        }
    }

    #[test]
    fn control_sum_and_counts_match_the_transfers() {
        let batch = Batch {
            message_id: "COFUND-1".into(),
            payment_info_id: "COFUND-1-P".into(),
            created_at: NaiveDate::from_ymd_opt(2026, 11, 22)
                .unwrap()
                .and_hms_opt(10, 0, 0)
                .unwrap(),
            execution_date: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
            currency: Currency::EUR,
            transfers: vec![
                Transfer {
                    end_to_end_id: "E1".into(),
                    amount: 2_000_000,
                    creditor_name: "A & B".into(),
                    iban: "IT60X0542811101000000123456".into(),
                    bic: None,
                    remittance: "CUP X".into(),
                },
                Transfer {
                    end_to_end_id: "E2".into(),
                    amount: 1_234_567,
                    creditor_name: "C".into(),
                    iban: "DE89370400440532013000".into(),
                    bic: Some("COBADEFFXXX".into()),
                    remittance: "r".into(),
                },
            ],
        };
        let xml = pain001(
            &Debtor {
                name: "Comune di Torino".into(),
                iban: "IT60X0542811101000000123456".into(),
                bic: None,
            },
            &batch,
        );
        assert_eq!(xml.matches("<NbOfTxs>2</NbOfTxs>").count(), 2);
        assert_eq!(xml.matches("<CtrlSum>32345.67</CtrlSum>").count(), 2);
        assert!(xml.contains("<InstdAmt Ccy=\"EUR\">12345.67</InstdAmt>"));
        assert!(xml.contains("<Nm>A + B</Nm>"));
        assert!(xml.contains("<Id>NOTPROVIDED</Id>"));
    }
}
