//! Text that can never be stored: a NUL byte (PostgreSQL's `text` refuses it) or bytes that are
//! not UTF-8. Refused at the edge with `422 invalid_text`, before any query, in one place per
//! kind of input: the path and query string of every request ([`guard_request`], a middleware),
//! every JSON body ([`check_json`], inside `extract::parse_json`), every url-encoded form
//! ([`checked_form_payload`], a stream the form extractors read through) and webhook bodies.

use super::error::ApiError;
use actix_web::dev::{Payload, ServiceRequest};
use actix_web::error::PayloadError;
use actix_web::web::Bytes;
use futures_util::Stream;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Why a piece of text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadText {
    Nul,
    NotUtf8,
}

impl BadText {
    pub fn message(self) -> &'static str {
        match self {
            BadText::Nul => "must not contain a NUL character",
            BadText::NotUtf8 => "must be valid UTF-8",
        }
    }

    /// The 422 problem naming `field`.
    pub fn error(self, field: impl Into<String>) -> ApiError {
        ApiError::InvalidText {
            field: field.into(),
            message: self.message(),
        }
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes `raw` (a malformed escape stays literal, as the url-encoded readers do).
fn percent_decode(raw: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if !raw.contains(&b'%') {
        return raw.into();
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%'
            && i + 2 < raw.len()
            && let (Some(h), Some(l)) = (hex(raw[i + 1]), hex(raw[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(raw[i]);
        i += 1;
    }
    out.into()
}

/// Checks decoded bytes.
pub fn check_bytes(bytes: &[u8]) -> Result<(), BadText> {
    if bytes.contains(&0) {
        return Err(BadText::Nul);
    }
    std::str::from_utf8(bytes).map_err(|_| BadText::NotUtf8)?;
    Ok(())
}

/// Checks a percent-encoded piece of a URL (a path segment, a query name or value).
pub fn check_encoded(raw: &[u8]) -> Result<(), BadText> {
    check_bytes(&percent_decode(raw))
}

/// The first bad piece of a request's path or query string, named: `path`, or the query
/// parameter's name.
pub fn check_uri(path: &str, query: &str) -> Result<(), (String, BadText)> {
    check_encoded(path.as_bytes()).map_err(|e| ("path".to_string(), e))?;
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let named = |e| {
            let decoded = percent_decode(name.as_bytes());
            let name = String::from_utf8_lossy(&decoded).replace('\0', "");
            (
                if name.is_empty() {
                    "query".into()
                } else {
                    name
                },
                e,
            )
        };
        check_encoded(name.as_bytes()).map_err(named)?;
        check_encoded(value.as_bytes()).map_err(named)?;
    }
    Ok(())
}

/// The middleware's check: the request's path and query string, as sent.
pub fn guard_request(req: &ServiceRequest) -> Result<(), ApiError> {
    let uri = req.uri();
    check_uri(uri.path(), uri.query().unwrap_or("")).map_err(|(field, bad)| bad.error(field))
}

/// Checks a JSON document's text without parsing it: UTF-8, no raw NUL byte, and no `\u0000`
/// escape in a string (an escaped backslash before `u0000` is text, not an escape). One pass
/// over the bytes; the parser does the rest. Lone surrogate escapes are refused by the parser
/// and reported as bad text by `extract::parse_json`.
pub fn check_json(bytes: &[u8]) -> Result<(), BadText> {
    check_bytes(bytes)?;
    let mut rest = bytes;
    while let Some(i) = rest.iter().position(|b| *b == b'\\') {
        let escape = &rest[i + 1..];
        let skip = match unit(escape) {
            Some(0) => return Err(BadText::Nul),
            // A high surrogate must be followed by a low one: together one character.
            Some(0xD800..=0xDBFF) => match escape.get(5..).and_then(|e| e.strip_prefix(b"\\")) {
                Some(next) if matches!(unit(next), Some(0xDC00..=0xDFFF)) => 11,
                _ => return Err(BadText::NotUtf8),
            },
            Some(0xDC00..=0xDFFF) => return Err(BadText::NotUtf8),
            // Any other escape: the escaped character (`\\` is one escape, so backslash
            // parity takes care of itself).
            _ => 1,
        };
        rest = escape.get(skip..).unwrap_or_default();
    }
    Ok(())
}

/// The code unit of a `uXXXX` escape (after its backslash).
fn unit(escape: &[u8]) -> Option<u16> {
    let digits = escape.strip_prefix(b"u")?.get(..4)?;
    digits
        .iter()
        .try_fold(0u16, |acc, b| Some(acc * 16 + u16::from(hex(*b)?)))
}

/// The marker a form's payload stream fails with on bad text (see `pages::form_error`).
pub const FORM_MARKER: &str = "cofund: invalid text in a url-encoded body";

/// Whether a payload error is the marker of [`checked_form_payload`].
pub fn is_bad_form_text(err: &PayloadError) -> bool {
    matches!(err, PayloadError::Io(e) if e.kind() == std::io::ErrorKind::InvalidData
        && e.to_string() == FORM_MARKER)
}

/// A url-encoded body checked as it streams in: the form extractors read through it and fail
/// (with [`FORM_MARKER`]) on a `%00` or bytes that do not decode to UTF-8, whatever the field.
struct CheckedForm {
    inner: Payload,
    /// Undecoded bytes held back at a chunk's end: the start of a `%xx` escape.
    raw_tail: Vec<u8>,
    /// Decoded bytes held back: the start of a UTF-8 sequence.
    utf8_tail: Vec<u8>,
    failed: bool,
}

impl CheckedForm {
    fn fail(&mut self) -> Poll<Option<Result<Bytes, PayloadError>>> {
        self.failed = true;
        Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            FORM_MARKER,
        )))))
    }

    /// Feeds a chunk (or, with `end`, the end of the body); false on bad text.
    fn feed(&mut self, chunk: &[u8], end: bool) -> bool {
        let mut raw = std::mem::take(&mut self.raw_tail);
        raw.extend_from_slice(chunk);
        // Hold back an escape cut by the chunk's end.
        let cut = if end {
            raw.len()
        } else {
            match raw.iter().rposition(|b| *b == b'%') {
                Some(p) if raw.len() - p < 3 => p,
                _ => raw.len(),
            }
        };
        self.raw_tail = raw.split_off(cut);
        let mut decoded = std::mem::take(&mut self.utf8_tail);
        // `+` is a space and `&`/`=` are ASCII: neither affects the check.
        decoded.extend_from_slice(&percent_decode(&raw));
        if decoded.contains(&0) {
            return false;
        }
        match std::str::from_utf8(&decoded) {
            Ok(_) => true,
            // An incomplete sequence at the end waits for the next chunk.
            Err(e) if e.error_len().is_none() && !end => {
                self.utf8_tail = decoded.split_off(e.valid_up_to());
                true
            }
            Err(_) => false,
        }
    }
}

impl Stream for CheckedForm {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.failed {
            return Poll::Ready(None);
        }
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                if self.feed(&chunk, false) {
                    Poll::Ready(Some(Ok(chunk)))
                } else {
                    self.fail()
                }
            }
            Poll::Ready(None) => {
                if self.feed(&[], true) {
                    Poll::Ready(None)
                } else {
                    self.fail()
                }
            }
            other => other,
        }
    }
}

/// Puts a url-encoded request's body behind the check of [`CheckedForm`]; other bodies are
/// left alone.
pub fn checked_form_payload(req: &mut ServiceRequest) {
    let form = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !form {
        return;
    }
    let inner = actix_web::HttpMessage::take_payload(req);
    let checked = CheckedForm {
        inner,
        raw_tail: Vec::new(),
        utf8_tail: Vec::new(),
        failed: false,
    };
    req.set_payload(Payload::Stream {
        payload: Box::pin(checked),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_with_nul_or_bad_utf8_are_named() {
        assert!(check_uri("/v1/partners", "cursor=%C2%80%C2%96x&limit=2").is_ok());
        assert_eq!(
            check_uri("/v1/partners", "cursor=%C2%80%C2%96%00x"),
            Err(("cursor".into(), BadText::Nul))
        );
        assert_eq!(
            check_uri("/v1/audit", "limit=1&cursor=%FF"),
            Err(("cursor".into(), BadText::NotUtf8))
        );
        assert_eq!(
            check_uri("/v1/audit", "cursor=%C2"),
            Err(("cursor".into(), BadText::NotUtf8))
        );
        assert_eq!(
            check_uri("/v1/campaigns/cmp_%00", ""),
            Err(("path".into(), BadText::Nul))
        );
        // A malformed escape is literal text.
        assert!(check_uri("/v1/a%zz", "q=%2").is_ok());
    }

    #[test]
    fn json_nul_escapes_honour_backslash_parity() {
        assert!(check_json(br#"{"name":"a\\u0000"}"#).is_ok());
        assert_eq!(check_json(br#"{"name":"a\u0000"}"#), Err(BadText::Nul));
        assert_eq!(check_json(br#"{"name":"a\\\u0000"}"#), Err(BadText::Nul));
        assert!(check_json(br#"{"name":"a\u00e9\n\"x\\"}"#).is_ok());
        assert_eq!(check_json(b"{\"name\":\"a\0\"}"), Err(BadText::Nul));
        assert_eq!(check_json(b"{\"name\":\"a\xff\"}"), Err(BadText::NotUtf8));
        assert!(check_json(br#"{"name":"trailing\"#).is_ok());
        assert!(check_json(br#"{"name":"\ud83d\ude00 \u00e9"}"#).is_ok());
        assert_eq!(check_json(br#"{"name":"\ud800x"}"#), Err(BadText::NotUtf8));
        assert_eq!(check_json(br#"{"name":"\udc00"}"#), Err(BadText::NotUtf8));
        assert_eq!(
            check_json(br#"{"name":"\ud800\u0041"}"#),
            Err(BadText::NotUtf8)
        );
        assert!(check_json(br#"{"name":"\\ud800"}"#).is_ok());
    }

    #[test]
    fn forms_are_checked_across_chunks() {
        let run = |chunks: &[&[u8]]| {
            let mut f = CheckedForm {
                inner: Payload::None,
                raw_tail: Vec::new(),
                utf8_tail: Vec::new(),
                failed: false,
            };
            chunks.iter().all(|c| f.feed(c, false)) && f.feed(&[], true)
        };
        assert!(run(&[b"a=%C3", b"%A9&b=x"]));
        assert!(run(&[b"a=%C", b"3%A9"]));
        assert!(run(&[b"a=\xc3", b"\xa9"]));
        assert!(!run(&[b"a=%0", b"0"]));
        assert!(!run(&[b"a=%C3"]));
        assert!(!run(&[b"a=%FF&b=1"]));
        assert!(run(&[b"a=%zz%"]));
    }
}
