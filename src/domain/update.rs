//! A project update: what an association tells its donors. Plain text only; a web address in
//! it becomes a link when shown, and nothing else does (no HTML, no markup).

/// Characters of a title.
pub const TITLE_MAX: usize = 120;
/// Characters of a body.
pub const BODY_MAX: usize = 5000;
/// Updates a campaign may send in 24 hours: each one is an e-mail to every consenting donor.
pub const PER_DAY: i64 = 3;

/// A checked update: trimmed, within bounds, no control characters but line breaks and tabs
/// in the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateText {
    pub title: String,
    pub body: String,
}

/// Which field is wrong and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateInvalid {
    pub field: &'static str,
    pub reason: String,
}

impl UpdateText {
    pub fn parse(title: &str, body: &str) -> Result<UpdateText, Vec<UpdateInvalid>> {
        let mut problems = Vec::new();
        let title = title.trim();
        let body = body.trim();
        let mut check = |field: &'static str, text: &str, max: usize, lines: bool| {
            let n = text.chars().count();
            if n == 0 || n > max {
                problems.push(UpdateInvalid {
                    field,
                    reason: format!("1–{max} characters"),
                });
            } else if text
                .chars()
                .any(|c| c.is_control() && !(lines && (c == '\n' || c == '\t' || c == '\r')))
            {
                problems.push(UpdateInvalid {
                    field,
                    reason: "plain text without control characters".into(),
                });
            }
        };
        check("title", title, TITLE_MAX, false);
        check("body", body, BODY_MAX, true);
        if problems.is_empty() {
            Ok(UpdateText {
                title: title.to_string(),
                body: body.replace("\r\n", "\n"),
            })
        } else {
            Err(problems)
        }
    }
}

/// A piece of an update's text as a page shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    /// An `http://` or `https://` address, shown as a link that is marked user content.
    Link(String),
}

/// Characters that end a sentence rather than an address.
const TRAILING: &[char] = &['.', ',', ';', ':', '!', '?', ')', ']', '"', '\''];

/// Splits text into plain pieces and web addresses; joined back, the pieces are the text.
pub fn pieces(text: &str) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::new();
    let mut plain = String::new();
    let mut rest = text;
    while !rest.is_empty() {
        let next = ["https://", "http://"]
            .iter()
            .filter_map(|scheme| rest.find(scheme))
            .min();
        let Some(at) = next else {
            plain.push_str(rest);
            break;
        };
        // An address starts a word: "xhttp://" is text.
        let starts_word = rest[..at]
            .chars()
            .next_back()
            .is_none_or(|c| c.is_whitespace() || c == '(' || c == '"' || c == '\'');
        let end = rest[at..]
            .find(|c: char| c.is_whitespace() || c == '<' || c == '>' || c == '"')
            .map_or(rest.len(), |e| at + e);
        let mut address = &rest[at..end];
        while let Some(stripped) = address.strip_suffix(TRAILING) {
            address = stripped;
        }
        let scheme_only = address == "https://" || address == "http://";
        if !starts_word || scheme_only {
            // Not an address: keep the scheme's first character as text and look further.
            let step = at + 1;
            plain.push_str(&rest[..step]);
            rest = &rest[step..];
            continue;
        }
        plain.push_str(&rest[..at]);
        if !plain.is_empty() {
            out.push(Piece::Text(std::mem::take(&mut plain)));
        }
        out.push(Piece::Link(address.to_string()));
        rest = &rest[at + address.len()..];
    }
    if !plain.is_empty() {
        out.push(Piece::Text(plain));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn joined(p: &[Piece]) -> String {
        p.iter()
            .map(|p| match p {
                Piece::Text(t) | Piece::Link(t) => t.as_str(),
            })
            .collect()
    }

    #[test]
    fn addresses_become_links_and_punctuation_stays_text() {
        let p = pieces("Foto: https://esempio.it/orti?a=1&b=2. Grazie (http://x.org/y)!");
        assert_eq!(
            p,
            vec![
                Piece::Text("Foto: ".into()),
                Piece::Link("https://esempio.it/orti?a=1&b=2".into()),
                Piece::Text(". Grazie (".into()),
                Piece::Link("http://x.org/y".into()),
                Piece::Text(")!".into()),
            ]
        );
        assert_eq!(
            pieces("javascript:alert(1) xhttp://a.b https:// <b>"),
            vec![Piece::Text(
                "javascript:alert(1) xhttp://a.b https:// <b>".into()
            )]
        );
        assert_eq!(
            pieces("https://a.b\"onmouseover=x"),
            vec![
                Piece::Link("https://a.b".into()),
                Piece::Text("\"onmouseover=x".into())
            ]
        );
    }

    #[test]
    fn titles_and_bodies_are_bounded_plain_text() {
        let ok =
            UpdateText::parse("  Il cantiere è partito ", "Riga uno\r\nRiga due\tfine ").unwrap();
        assert_eq!(ok.title, "Il cantiere è partito");
        assert_eq!(ok.body, "Riga uno\nRiga due\tfine");
        let bad = UpdateText::parse("a\nb", "x\u{0}y").unwrap_err();
        assert_eq!(
            bad.iter().map(|p| p.field).collect::<Vec<_>>(),
            vec!["title", "body"]
        );
        let long =
            UpdateText::parse(&"é".repeat(TITLE_MAX + 1), &"b".repeat(BODY_MAX)).unwrap_err();
        assert_eq!(long.len(), 1);
        assert_eq!(long[0].field, "title");
        assert!(UpdateText::parse(" ", "x").is_err());
    }

    proptest! {
        /// Nothing is lost or added: the pieces joined are the text, every link is an http(s)
        /// address with no space or quote in it.
        #[test]
        fn pieces_keep_the_text(text in "[a-z :/.()\"<>]{0,40}(https?://[a-z./?=&]{0,12})?[a-z .,)]{0,20}") {
            let p = pieces(&text);
            prop_assert_eq!(joined(&p), text.clone());
            for piece in &p {
                if let Piece::Link(l) = piece {
                    prop_assert!(l.starts_with("http://") || l.starts_with("https://"));
                    prop_assert!(!l.contains(|c: char| c.is_whitespace() || c == '"' || c == '<'));
                    prop_assert!(l.len() > "https://".len() - 1);
                }
            }
        }
    }
}
