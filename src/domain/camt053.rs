//! Reads the credits out of an ISO 20022 camt.053 bank-to-customer statement
//! (camt.053.001.02 to .08), so bank transfers from donors can be matched.
//! Pure: bytes in, plain values out. roxmltree refuses any DTD (its default),
//! which keeps entity expansion and external entities out.

use roxmltree::{Document, Node, ParsingOptions};
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

use crate::domain::money::{Currency, MAX_MINOR_UNITS};

/// More credits than this in one file is not a statement we import.
pub const MAX_CREDITS: usize = 100_000;

const NAMESPACE_PREFIX: &str = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.0";

/// The account's incoming, booked credits, one per transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Message version, 2..=8 (camt.053.001.0N).
    pub version: u8,
    /// The statement's account, upper case without spaces.
    pub iban: String,
    pub credits: Vec<Credit>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credit {
    /// Stable booking key: the same entry read from two overlapping
    /// statements gets the same key, so it is imported once.
    pub key: String,
    /// Minor units of `currency`.
    pub amount: i64,
    pub currency: String,
    pub booking_date: chrono::NaiveDate,
    pub bank_reference: Option<String>,
    pub structured_reference: Option<String>,
    pub text: Option<String>,
    pub debtor_name: Option<String>,
    pub debtor_iban: Option<String>,
}

/// Why a statement file was refused. Messages are shown to the user.
#[derive(Debug, thiserror::Error)]
pub enum StatementError {
    /// The detail is for logs only.
    #[error("the file is not a readable XML document")]
    NotXml(String),
    #[error("the file is not a camt.053 statement of a supported version (001.02 to 001.08)")]
    UnsupportedVersion,
    #[error("the file contains no statement")]
    NoStatement,
    #[error("the statement has no account IBAN")]
    NoAccountIban,
    #[error("the file holds statements of more than one account")]
    SeveralAccounts,
    #[error("the statement has an invalid amount: {0}")]
    BadAmount(String),
    #[error("the statement has an unsupported currency: {0}")]
    UnsupportedCurrency(String),
    #[error("the statement has an entry without a valid date")]
    BadDate,
    #[error("the statement has too many entries")]
    TooManyEntries,
}

/// Parses a camt.053 statement and returns its booked, non-reversed credits.
pub fn parse(xml: &[u8]) -> Result<Statement, StatementError> {
    parse_capped(xml, MAX_CREDITS)
}

/// `parse` with the credit cap as a parameter, so tests need no huge file.
fn parse_capped(xml: &[u8], max_credits: usize) -> Result<Statement, StatementError> {
    if xml.contains(&0) {
        return Err(StatementError::NotXml("NUL byte".into()));
    }
    let text = std::str::from_utf8(xml).map_err(|e| StatementError::NotXml(e.to_string()))?;
    // Default options: allow_dtd is false, so any DOCTYPE is an error.
    let doc = Document::parse_with_options(text, ParsingOptions::default())
        .map_err(|e| StatementError::NotXml(e.to_string()))?;
    let root = doc.root_element();
    let version = root
        .tag_name()
        .namespace()
        .and_then(|ns| ns.strip_prefix(NAMESPACE_PREFIX))
        .and_then(|n| n.parse::<u8>().ok())
        .filter(|n| (2..=8).contains(n) && root.tag_name().name() == "Document")
        .ok_or(StatementError::UnsupportedVersion)?;

    let statements: Vec<Node> = child(root, "BkToCstmrStmt")
        .map(|b| children(b, "Stmt").collect())
        .unwrap_or_default();
    if statements.is_empty() {
        return Err(StatementError::NoStatement);
    }
    let mut iban: Option<String> = None;
    for stmt in &statements {
        let this = text_at(*stmt, &["Acct", "Id", "IBAN"])
            .map(|s| normalize_iban(&s))
            .ok_or(StatementError::NoAccountIban)?;
        match &iban {
            Some(first) if *first != this => return Err(StatementError::SeveralAccounts),
            Some(_) => {}
            None => iban = Some(this),
        }
    }
    let iban = iban.ok_or(StatementError::NoStatement)?;

    let mut credits = Vec::new();
    for stmt in &statements {
        for entry in children(*stmt, "Ntry") {
            read_entry(entry, &iban, &mut credits)?;
            if credits.len() > max_credits {
                return Err(StatementError::TooManyEntries);
            }
        }
    }
    Ok(Statement {
        version,
        iban,
        credits,
    })
}

/// Appends the credits of one entry, if it is a booked, non-reversed credit.
fn read_entry(entry: Node, iban: &str, out: &mut Vec<Credit>) -> Result<(), StatementError> {
    if text_at(entry, &["CdtDbtInd"]).as_deref() != Some("CRDT")
        || is_true(text_at(entry, &["RvslInd"]))
        || !is_booked(entry)
    {
        return Ok(());
    }
    let booking_date = date_at(entry, "BookgDt")
        .or_else(|| date_at(entry, "ValDt"))
        .ok_or(StatementError::BadDate)?;
    let entry_ref = text_at(entry, &["AcctSvcrRef"]);
    let txs: Vec<Node> = children(entry, "NtryDtls")
        .flat_map(|d| children(d, "TxDtls"))
        // A debit leg inside a credit batch is not money in.
        .filter(|tx| text_at(*tx, &["CdtDbtInd"]).as_deref() != Some("DBIT"))
        .collect();

    if txs.is_empty() {
        let (amount, currency) = amount_of(child(entry, "Amt"))?;
        let fields = TxFields::default();
        push(
            out,
            iban,
            booking_date,
            amount,
            currency,
            (entry_ref.clone(), entry_ref.clone()),
            None,
            fields,
        )?;
        return Ok(());
    }

    let own_ref = |tx: Node| text_at(tx, &["Refs", "AcctSvcrRef"]);
    let uses_entry_ref =
        entry_ref.is_some() && txs.iter().filter(|tx| own_ref(**tx).is_none()).count() > 1;
    for (i, tx) in txs.iter().enumerate() {
        let amt = child(*tx, "Amt")
            .or_else(|| path(*tx, &["AmtDtls", "TxAmt", "Amt"]))
            .or_else(|| (txs.len() == 1).then(|| child(entry, "Amt")).flatten());
        let (amount, currency) = amount_of(amt)?;
        let fields = TxFields::read(*tx);
        let (bank_reference, suffix) = match own_ref(*tx) {
            Some(r) => (Some(r), None),
            None => (
                entry_ref.clone(),
                entry_ref.as_ref().and(uses_entry_ref.then_some(i)),
            ),
        };
        // The payer's EndToEndId is shown, never a booking key: two payers may send one.
        let shown = bank_reference
            .clone()
            .or_else(|| text_at(*tx, &["Refs", "EndToEndId"]).filter(|e| e != "NOTPROVIDED"));
        push(
            out,
            iban,
            booking_date,
            amount,
            currency,
            (bank_reference, shown),
            suffix,
            fields,
        )?;
    }
    Ok(())
}

/// What a transaction says about who paid and why.
#[derive(Default)]
struct TxFields {
    structured_reference: Option<String>,
    text: Option<String>,
    debtor_name: Option<String>,
    debtor_iban: Option<String>,
}

impl TxFields {
    fn read(tx: Node) -> TxFields {
        let rmt = child(tx, "RmtInf");
        let structured_reference =
            rmt.and_then(|r| children(r, "Strd").find_map(|s| text_at(s, &["CdtrRefInf", "Ref"])));
        let ustrd: Vec<String> = rmt
            .map(|r| {
                children(r, "Ustrd")
                    .filter_map(|u| trimmed(u.text()))
                    .collect()
            })
            .unwrap_or_default();
        let text = (!ustrd.is_empty()).then(|| ustrd.join(" "));
        // v02..v07 put the name right under Dbtr, v08 under Dbtr/Pty.
        let debtor_name = text_at(tx, &["RltdPties", "Dbtr", "Nm"])
            .or_else(|| text_at(tx, &["RltdPties", "Dbtr", "Pty", "Nm"]));
        let debtor_iban =
            text_at(tx, &["RltdPties", "DbtrAcct", "Id", "IBAN"]).map(|s| normalize_iban(&s));
        TxFields {
            structured_reference,
            text,
            debtor_name,
            debtor_iban,
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn push(
    out: &mut Vec<Credit>,
    iban: &str,
    booking_date: chrono::NaiveDate,
    amount: i64,
    currency: Currency,
    (bank_reference, shown): (Option<String>, Option<String>),
    suffix: Option<usize>,
    f: TxFields,
) -> Result<(), StatementError> {
    // A hard stop in case one entry holds very many transactions.
    if out.len() > MAX_CREDITS {
        return Err(StatementError::TooManyEntries);
    }
    // Nothing was credited: nothing to book.
    if amount <= 0 {
        return Ok(());
    }
    let currency = currency.code().to_string();
    let key = match (&bank_reference, suffix) {
        (Some(r), Some(i)) => format!("ref:{r}#{i}"),
        (Some(r), None) => format!("ref:{r}"),
        (None, _) => {
            // Only content the bank prints the same in every statement.
            let material = format!(
                "{iban}|{booking_date}|{amount}|{currency}|{}|{}|{}",
                f.structured_reference.as_deref().unwrap_or(""),
                f.text.as_deref().unwrap_or(""),
                f.debtor_iban.as_deref().unwrap_or(""),
            );
            format!("sum:{}", hex::encode(Sha256::digest(material.as_bytes())))
        }
    };
    out.push(Credit {
        key,
        amount,
        currency,
        booking_date,
        bank_reference: shown,
        structured_reference: f.structured_reference,
        text: f.text,
        debtor_name: f.debtor_name,
        debtor_iban: f.debtor_iban,
    });
    Ok(())
}

/// Booked: `<Sts>BOOK</Sts>` (.02–.04) or `<Sts><Cd>BOOK</Cd></Sts>` (later);
/// either form is accepted in any version.
fn is_booked(entry: Node) -> bool {
    child(entry, "Sts").is_some_and(|sts| {
        trimmed(sts.text()).as_deref() == Some("BOOK")
            || text_at(sts, &["Cd"]).as_deref() == Some("BOOK")
    })
}

fn is_true(value: Option<String>) -> bool {
    matches!(value.as_deref(), Some("true" | "1"))
}

/// `<X><Dt>` or the date part of `<X><DtTm>`.
fn date_at(entry: Node, name: &'static str) -> Option<chrono::NaiveDate> {
    let node = child(entry, name)?;
    let text = text_at(node, &["Dt"]).or_else(|| text_at(node, &["DtTm"]))?;
    let day = text.get(..10)?;
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()
}

fn amount_of(amt: Option<Node>) -> Result<(i64, Currency), StatementError> {
    let amt = amt.ok_or_else(|| StatementError::BadAmount("missing".into()))?;
    let code = amt
        .attribute("Ccy")
        .unwrap_or("")
        .trim()
        .to_ascii_uppercase();
    let currency =
        Currency::parse(&code).map_err(|_| StatementError::UnsupportedCurrency(code.clone()))?;
    let text = trimmed(amt.text()).unwrap_or_default();
    let minor = minor_units(&text, currency).ok_or(StatementError::BadAmount(text))?;
    Ok((minor, currency))
}

/// Exact decimal to minor units: "1234.5" EUR is 123450. Plain digits with
/// an optional fraction only; more decimals than the currency has is refused.
pub fn minor_units(text: &str, currency: Currency) -> Option<i64> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits(int) || !digits(frac) || text.ends_with('.') {
        return None;
    }
    let value = Decimal::from_str_exact(text).ok()?;
    let scale = value.scale();
    let decimals = currency.decimals();
    if scale > decimals {
        return None;
    }
    let minor = value.mantissa().checked_mul(10i128.pow(decimals - scale))?;
    i64::try_from(minor)
        .ok()
        .filter(|m| (0..=MAX_MINOR_UNITS).contains(m))
}

fn normalize_iban(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn trimmed(s: Option<&str>) -> Option<String> {
    s.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Elements are matched by local name; the version was checked on the root.
fn children<'a, 'i>(node: Node<'a, 'i>, name: &'static str) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

fn child<'a, 'i>(node: Node<'a, 'i>, name: &'static str) -> Option<Node<'a, 'i>> {
    children(node, name).next()
}

fn path<'a, 'i>(node: Node<'a, 'i>, names: &[&'static str]) -> Option<Node<'a, 'i>> {
    names.iter().try_fold(node, |n, name| child(n, name))
}

fn text_at(node: Node, names: &[&'static str]) -> Option<String> {
    trimmed(path(node, names)?.text())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const V02: &[u8] = include_bytes!("../../tests/fixtures/camt053/v02.xml");
    const V08: &[u8] = include_bytes!("../../tests/fixtures/camt053/v08.xml");
    const BILLION_LAUGHS: &[u8] = include_bytes!("../../tests/fixtures/camt053/billion_laughs.xml");
    const EXTERNAL_ENTITY: &[u8] =
        include_bytes!("../../tests/fixtures/camt053/external_entity.xml");
    const IBAN: &str = "IT60X0542811101000000123456";

    fn day(s: &str) -> chrono::NaiveDate {
        s.parse().unwrap()
    }

    fn s(v: &str) -> Option<String> {
        Some(v.to_string())
    }

    fn credit(key: &str, amount: i64, date: &str) -> Credit {
        Credit {
            key: key.to_string(),
            amount,
            currency: "EUR".into(),
            booking_date: day(date),
            bank_reference: None,
            structured_reference: None,
            text: None,
            debtor_name: None,
            debtor_iban: None,
        }
    }

    fn edit(xml: &[u8], from: &str, to: &str) -> Vec<u8> {
        let text = std::str::from_utf8(xml).unwrap();
        assert!(text.contains(from), "{from}");
        text.replacen(from, to, 1).into_bytes()
    }

    #[test]
    fn reads_v02() {
        let st = parse(V02).unwrap();
        assert_eq!(st.version, 2);
        assert_eq!(st.iban, IBAN);
        let want = vec![
            Credit {
                bank_reference: s("0542240315000101"),
                structured_reference: s("RF492024000123"),
                debtor_name: s("Mario Rossi"),
                debtor_iban: s("IT66A0306909606100000012345"),
                ..credit("ref:0542240315000101", 5000, "2024-03-15")
            },
            Credit {
                text: s("Donazione orto sociale RF26 DON2 024A B17 grazie e buon lavoro"),
                debtor_name: s("Giulia Bianchi"),
                debtor_iban: s("DE89370400440532013000"),
                // sha256 of the key material, computed outside this code.
                ..credit(
                    "sum:73c5ef6fb10580cd26491e86e0a384bb763062d2084f7d032fdcfcd284e0f233",
                    2550,
                    "2024-03-15",
                )
            },
            Credit {
                bank_reference: s("TX0542240318000207A"),
                structured_reference: s("RF8477001234"),
                debtor_name: s("Associazione Amici del Parco"),
                debtor_iban: s("IT12Q0200802435000104428964"),
                ..credit("ref:TX0542240318000207A", 10000, "2024-03-18")
            },
        ];
        assert_eq!(st.credits, want);
    }

    #[test]
    fn reads_v08() {
        let st = parse(V08).unwrap();
        assert_eq!(st.version, 8);
        assert_eq!(st.iban, IBAN);
        let want = vec![
            Credit {
                bank_reference: s("0542240402000311"),
                structured_reference: s("RF492024000123"),
                debtor_name: s("Mario Rossi"),
                debtor_iban: s("IT66A0306909606100000012345"),
                ..credit("ref:0542240402000311", 3500, "2024-04-02")
            },
            Credit {
                text: s("Donazione RF26 DON2 024A B17"),
                debtor_name: s("Giulia Bianchi"),
                debtor_iban: s("DE89370400440532013000"),
                ..credit(
                    "sum:c34ac0bda7d002603a90c793d0e7a490bd064cdfc2c6ca3137bce7ae3410b63a",
                    2000,
                    "2024-04-02",
                )
            },
            Credit {
                bank_reference: s("TX0542240403000207A"),
                structured_reference: s("RF8477001234"),
                debtor_name: s("Associazione Amici del Parco"),
                debtor_iban: s("IT12Q0200802435000104428964"),
                ..credit("ref:TX0542240403000207A", 7000, "2024-04-03")
            },
            Credit {
                bank_reference: s("0542240405000512"),
                text: s("rf61 don2 024c d42 Luca"),
                debtor_name: s("Luca Verdi"),
                debtor_iban: s("IT14K0760103200000012345678"),
                ..credit("ref:0542240405000512#0", 4000, "2024-04-05")
            },
            Credit {
                bank_reference: s("0542240405000512"),
                structured_reference: s("RF24DON2024EF05"),
                debtor_name: s("Anna Neri"),
                ..credit("ref:0542240405000512#1", 4000, "2024-04-05")
            },
        ];
        assert_eq!(st.credits, want);
    }

    #[test]
    fn fixture_references_are_valid() {
        use crate::domain::rf_reference::RfReference;
        for r in ["RF492024000123", "RF8477001234", "RF24DON2024EF05"] {
            RfReference::parse(r).unwrap();
        }
        let v02 = parse(V02).unwrap();
        let found = RfReference::find_in_text(v02.credits[1].text.as_deref().unwrap());
        assert_eq!(found, vec![RfReference::parse("RF26DON2024AB17").unwrap()]);
        let v08 = parse(V08).unwrap();
        let found = RfReference::find_in_text(v08.credits[3].text.as_deref().unwrap());
        assert_eq!(found, vec![RfReference::parse("RF61DON2024CD42").unwrap()]);
    }

    #[test]
    fn overlapping_statements_give_same_keys() {
        // The same file twice, as two Stmt of one document.
        let text = std::str::from_utf8(V02).unwrap();
        let start = text.find("<Stmt>").unwrap();
        let end = text.find("</Stmt>").unwrap() + "</Stmt>".len();
        let doubled = format!("{}{}{}", &text[..end], &text[start..end], &text[end..]);
        let st = parse(doubled.as_bytes()).unwrap();
        let once = parse(V02).unwrap();
        assert_eq!(st.credits.len(), 6);
        assert_eq!(st.credits[..3], once.credits[..]);
        assert_eq!(st.credits[3..], once.credits[..]);
    }

    #[test]
    fn only_booked_non_reversed_credits() {
        let pending = edit(V08, "<Cd>BOOK</Cd>", "<Cd>PDNG</Cd>");
        assert_eq!(parse(&pending).unwrap().credits.len(), 4);
        let pending = edit(V02, "<Sts>BOOK</Sts>", "<Sts>PDNG</Sts>");
        assert_eq!(parse(&pending).unwrap().credits.len(), 2);
        let reversed = edit(
            V02,
            "<CdtDbtInd>CRDT</CdtDbtInd>\n        <Sts>",
            "<CdtDbtInd>CRDT</CdtDbtInd>\n        <RvslInd>true</RvslInd>\n        <Sts>",
        );
        assert_eq!(parse(&reversed).unwrap().credits.len(), 2);
        // Either status form in any version.
        let v02_with_cd = edit(V02, "<Sts>BOOK</Sts>", "<Sts><Cd>BOOK</Cd></Sts>");
        assert_eq!(parse(&v02_with_cd).unwrap().credits.len(), 3);
    }

    #[test]
    fn entry_without_details_and_value_date() {
        let text = std::str::from_utf8(V02).unwrap();
        let start = text.find("<NtryDtls>").unwrap();
        let end = text.find("</NtryDtls>").unwrap() + "</NtryDtls>".len();
        let bare = format!("{}{}", &text[..start], &text[end..]);
        let bare = edit(
            bare.as_bytes(),
            "<BookgDt>\n          <Dt>2024-03-15</Dt>\n        </BookgDt>",
            "",
        );
        let st = parse(&bare).unwrap();
        assert_eq!(
            st.credits[0],
            Credit {
                bank_reference: s("0542240315000101"),
                ..credit("ref:0542240315000101", 5000, "2024-03-15")
            }
        );
    }

    #[test]
    fn refuses_hostile_and_broken_input() {
        assert!(matches!(
            parse(BILLION_LAUGHS),
            Err(StatementError::NotXml(_))
        ));
        assert!(matches!(
            parse(EXTERNAL_ENTITY),
            Err(StatementError::NotXml(_))
        ));
        let mut nul = V02.to_vec();
        nul.insert(200, 0);
        assert!(matches!(parse(&nul), Err(StatementError::NotXml(_))));
        assert!(matches!(
            parse(b"\xff\xfe<a/>"),
            Err(StatementError::NotXml(_))
        ));
        assert!(matches!(parse(b"not xml"), Err(StatementError::NotXml(_))));
        // The user-facing message says nothing about the parser.
        let msg = parse(BILLION_LAUGHS).unwrap_err().to_string();
        assert_eq!(msg, "the file is not a readable XML document");
    }

    #[test]
    fn version_and_structure_errors() {
        let v09 = edit(V08, "camt.053.001.08", "camt.053.001.09");
        assert!(matches!(
            parse(&v09),
            Err(StatementError::UnsupportedVersion)
        ));
        let camt054 = edit(V02, "camt.053.001.02", "camt.054.001.02");
        assert!(matches!(
            parse(&camt054),
            Err(StatementError::UnsupportedVersion)
        ));
        let no_ns = edit(
            V02,
            " xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\"",
            "",
        );
        assert!(matches!(
            parse(&no_ns),
            Err(StatementError::UnsupportedVersion)
        ));
        for v in 2..=8 {
            let other = edit(V02, "camt.053.001.02", &format!("camt.053.001.0{v}"));
            assert_eq!(parse(&other).unwrap().version, v);
        }
        let empty = b"<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\"><BkToCstmrStmt/></Document>";
        assert!(matches!(parse(empty), Err(StatementError::NoStatement)));
        let no_iban = edit(
            V02,
            "<IBAN>IT60X0542811101000000123456</IBAN>",
            "<Othr><Id>123</Id></Othr>",
        );
        assert!(matches!(
            parse(&no_iban),
            Err(StatementError::NoAccountIban)
        ));
        let text = std::str::from_utf8(V02).unwrap();
        let start = text.find("<Stmt>").unwrap();
        let end = text.find("</Stmt>").unwrap() + "</Stmt>".len();
        let other = text[start..end].replace(IBAN, "IT66A0306909606100000012345");
        let two = format!("{}{}{}", &text[..end], other, &text[end..]);
        assert!(matches!(
            parse(two.as_bytes()),
            Err(StatementError::SeveralAccounts)
        ));
        // Same account written with spaces and lower case is one account.
        let spaced = text[start..end].replace(IBAN, "it60 x054 2811 1010 0000 0123 456");
        let two = format!("{}{}{}", &text[..end], spaced, &text[end..]);
        assert_eq!(parse(two.as_bytes()).unwrap().credits.len(), 6);
    }

    #[test]
    fn amount_errors() {
        let tx_amt = "<Amt Ccy=\"EUR\">50.00</Amt>\n              </TxAmt>";
        let three = edit(V02, tx_amt, "<Amt Ccy=\"EUR\">50.001</Amt></TxAmt>");
        assert!(matches!(parse(&three), Err(StatementError::BadAmount(_))));
        let negative = edit(V02, tx_amt, "<Amt Ccy=\"EUR\">-50.00</Amt></TxAmt>");
        assert!(matches!(
            parse(&negative),
            Err(StatementError::BadAmount(_))
        ));
        let usd = edit(
            V02,
            "<Amt Ccy=\"EUR\">50.00</Amt>\n        <CdtDbtInd>",
            "<Amt Ccy=\"XXX\">50.00</Amt>\n        <CdtDbtInd>",
        );
        // The entry's own Amt is not used when its TxDtls has one.
        assert!(parse(&usd).is_ok());
        let xxx = edit(
            V02,
            "<Amt Ccy=\"EUR\">50.00</Amt>\n              </TxAmt>",
            "<Amt Ccy=\"XXX\">50.00</Amt>\n              </TxAmt>",
        );
        assert!(matches!(
            parse(&xxx),
            Err(StatementError::UnsupportedCurrency(_))
        ));
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(minor_units("1500", jpy), Some(1500));
        assert_eq!(minor_units("1500.5", jpy), None);
        for bad in [
            "",
            ".5",
            "5.",
            "1e3",
            "+1",
            "1_000",
            "1,50",
            " 1",
            "1.2.3",
            "99999999999999",
        ] {
            assert_eq!(minor_units(bad, Currency::EUR), None, "{bad}");
        }
    }

    #[test]
    fn too_many_credits() {
        let st = parse_capped(V08, 5).unwrap();
        assert_eq!(st.credits.len(), 5);
        assert!(matches!(
            parse_capped(V08, 4),
            Err(StatementError::TooManyEntries)
        ));
    }

    proptest! {
        #[test]
        fn amounts_are_exact(units in 0i64..10_000_000_000, frac_digits in 0usize..=2, trailing in any::<bool>()) {
            // units is in cents; write it with 0, 1 or 2 decimals where exact.
            let text = match frac_digits {
                0 => format!("{}", units / 100),
                1 => format!("{}.{}", units / 100, (units % 100) / 10),
                _ => format!("{}.{:02}", units / 100, units % 100),
            };
            let want = match frac_digits {
                0 => units / 100 * 100,
                1 => units / 100 * 100 + (units % 100) / 10 * 10,
                _ => units,
            };
            prop_assert_eq!(minor_units(&text, Currency::EUR), Some(want));
            if trailing {
                prop_assert_eq!(minor_units(&format!("{text}{}0", if frac_digits == 0 { "." } else { "" }), Currency::EUR), (frac_digits < 2).then_some(want));
            }
        }
    }

    #[test]
    fn amount_examples() {
        assert_eq!(minor_units("1234.5", Currency::EUR), Some(123450));
        assert_eq!(minor_units("0.01", Currency::EUR), Some(1));
        assert_eq!(minor_units("12345678.90", Currency::EUR), Some(1234567890));
        assert_eq!(minor_units("007", Currency::EUR), Some(700));
    }
}
