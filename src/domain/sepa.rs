//! ISO 20022 pain.001.001.03 customer credit transfer initiation (SEPA). Pure. Every free text
//! is reduced to the SEPA Latin character set; the document is written with quick-xml's writer,
//! which escapes every text and attribute; amounts are written from integer minor units.

use super::money::{Currency, format_amount};
use chrono::{NaiveDate, NaiveDateTime};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};
use std::io;

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

/// Sum of the transfers, in minor units.
pub fn control_sum(batch: &Batch) -> i64 {
    batch.transfers.iter().map(|t| t.amount).sum()
}

type Xml = Writer<Vec<u8>>;

/// `<name>text</name>`, the text escaped by the writer.
fn leaf(w: &mut Xml, name: &str, text: &str) -> io::Result<()> {
    w.create_element(name)
        .write_text_content(BytesText::new(text))?;
    Ok(())
}

/// A financial institution: its BIC, or the "not provided" form SEPA allows for IBAN-only
/// transfers (the schema still wants an agent).
fn agent(w: &mut Xml, name: &str, bic: &Option<String>) -> io::Result<()> {
    w.create_element(name).write_inner_content(|w| {
        w.create_element("FinInstnId")
            .write_inner_content(|w| match bic {
                Some(b) => leaf(w, "BIC", b),
                None => {
                    w.create_element("Othr")
                        .write_inner_content(|w| leaf(w, "Id", "NOTPROVIDED"))?;
                    Ok(())
                }
            })?;
        Ok(())
    })?;
    Ok(())
}

/// `<name><Id><IBAN>iban</IBAN></Id></name>`.
fn account(w: &mut Xml, name: &str, iban: &str) -> io::Result<()> {
    w.create_element(name).write_inner_content(|w| {
        w.create_element("Id")
            .write_inner_content(|w| leaf(w, "IBAN", iban))?;
        Ok(())
    })?;
    Ok(())
}

/// `<name><Nm>text</Nm></name>`.
fn named(w: &mut Xml, name: &str, text: &str) -> io::Result<()> {
    w.create_element(name)
        .write_inner_content(|w| leaf(w, "Nm", text))?;
    Ok(())
}

/// The batch as a pain.001.001.03 document, written with quick-xml (every text and attribute
/// escaped by the writer; free texts reduced to the SEPA character set first).
pub fn pain001(debtor: &Debtor, batch: &Batch) -> String {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    write_pain001(&mut w, debtor, batch).expect("writing to memory cannot fail");
    let mut xml = String::from_utf8(w.into_inner()).expect("the writer wrote UTF-8");
    xml.push('\n');
    xml
}

fn write_pain001(w: &mut Xml, debtor: &Debtor, batch: &Batch) -> io::Result<()> {
    let n = batch.transfers.len().to_string();
    let sum = format_amount(control_sum(batch), batch.currency);
    let debtor_name = sepa_text(&debtor.name, 70);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    w.create_element("Document")
        .with_attribute(("xmlns", "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"))
        .with_attribute(("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"))
        .write_inner_content(|w| {
            w.create_element("CstmrCdtTrfInitn")
                .write_inner_content(|w| {
                    w.create_element("GrpHdr").write_inner_content(|w| {
                        leaf(w, "MsgId", &sepa_text(&batch.message_id, 35))?;
                        leaf(
                            w,
                            "CreDtTm",
                            &batch.created_at.format("%Y-%m-%dT%H:%M:%S").to_string(),
                        )?;
                        leaf(w, "NbOfTxs", &n)?;
                        leaf(w, "CtrlSum", &sum)?;
                        named(w, "InitgPty", &debtor_name)
                    })?;
                    w.create_element("PmtInf").write_inner_content(|w| {
                        leaf(w, "PmtInfId", &sepa_text(&batch.payment_info_id, 35))?;
                        leaf(w, "PmtMtd", "TRF")?;
                        leaf(w, "BtchBookg", "true")?;
                        leaf(w, "NbOfTxs", &n)?;
                        leaf(w, "CtrlSum", &sum)?;
                        w.create_element("PmtTpInf").write_inner_content(|w| {
                            w.create_element("SvcLvl")
                                .write_inner_content(|w| leaf(w, "Cd", "SEPA"))?;
                            Ok(())
                        })?;
                        leaf(
                            w,
                            "ReqdExctnDt",
                            &batch.execution_date.format("%Y-%m-%d").to_string(),
                        )?;
                        named(w, "Dbtr", &debtor_name)?;
                        account(w, "DbtrAcct", &debtor.iban)?;
                        agent(w, "DbtrAgt", &debtor.bic)?;
                        leaf(w, "ChrgBr", "SLEV")?;
                        for t in &batch.transfers {
                            transfer(w, batch.currency, t)?;
                        }
                        Ok(())
                    })?;
                    Ok(())
                })?;
            Ok(())
        })?;
    Ok(())
}

fn transfer(w: &mut Xml, currency: Currency, t: &Transfer) -> io::Result<()> {
    w.create_element("CdtTrfTxInf").write_inner_content(|w| {
        w.create_element("PmtId")
            .write_inner_content(|w| leaf(w, "EndToEndId", &sepa_text(&t.end_to_end_id, 35)))?;
        w.create_element("Amt").write_inner_content(|w| {
            w.create_element("InstdAmt")
                .with_attribute(("Ccy", currency.code()))
                .write_text_content(BytesText::new(&format_amount(t.amount, currency)))?;
            Ok(())
        })?;
        agent(w, "CdtrAgt", &t.bic)?;
        named(w, "Cdtr", &sepa_text(&t.creditor_name, 70))?;
        account(w, "CdtrAcct", &t.iban)?;
        w.create_element("RmtInf")
            .write_inner_content(|w| leaf(w, "Ustrd", &sepa_text(&t.remittance, 140)))?;
        Ok(())
    })?;
    Ok(())
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
