//! Documents an association uploads as evidence of its spending (receipts, invoices, photos):
//! what a file is, judged by its bytes alone (the name and the declared type are the client's
//! word and are never trusted), and names that are safe to store and to hand back in a
//! `Content-Disposition` header. Pure.

use std::fmt;

/// The largest document kept: 10 MiB (the schema's bound too).
pub const MAX_DOCUMENT_BYTES: usize = 10 * 1024 * 1024;

/// How many documents one grant may hold.
pub const MAX_DOCUMENTS_PER_GRANT: i64 = 50;

/// The longest stored filename, in characters.
pub const MAX_FILENAME_CHARS: usize = 200;

/// The name given to a file that arrived without a usable one.
pub const FALLBACK_FILENAME: &str = "document";

/// What a PDF's end-of-file marker must be within: its last KiB.
const PDF_TAIL: usize = 1024;

/// The kinds of document cofund keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    Pdf,
    Jpeg,
    Png,
}

impl DocumentKind {
    /// The media type stored and served (`Content-Type`).
    pub fn media_type(self) -> &'static str {
        match self {
            DocumentKind::Pdf => "application/pdf",
            DocumentKind::Jpeg => "image/jpeg",
            DocumentKind::Png => "image/png",
        }
    }
}

/// Why a file is not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Empty,
    TooLarge,
    /// An archive (zip, gzip, …): never opened, never kept.
    Archive,
    /// HTML, SVG, XML or script: text a browser would run.
    Markup,
    /// Starts like a PDF but is not one (no end-of-file marker, or markup inside its header).
    BrokenPdf,
    /// Starts like a PNG but is not one (no `IHDR` first, or no `IEND` at the end).
    BrokenPng,
    /// Starts like a JPEG but does not end like one.
    BrokenJpeg,
    /// None of the kinds cofund keeps.
    Unknown,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refusal::Empty => "the file is empty",
            Refusal::TooLarge => "the file is larger than 10 MB",
            Refusal::Archive => {
                "archives (zip, gzip, …) are not accepted: upload each PDF, JPEG or PNG file itself"
            }
            Refusal::Markup => {
                "HTML, SVG, XML and scripts are not accepted: upload a PDF, JPEG or PNG file"
            }
            Refusal::BrokenPdf => "the file starts like a PDF but is not a complete PDF document",
            Refusal::BrokenPng => "the file starts like a PNG but is not a complete PNG image",
            Refusal::BrokenJpeg => "the file starts like a JPEG but is not a complete JPEG image",
            Refusal::Unknown => "not a PDF, JPEG or PNG file",
        })
    }
}

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
/// The last chunk of every PNG: length 0, `IEND`, and its fixed CRC.
const PNG_IEND: [u8; 12] = [0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82];

fn starts_with_ci(bytes: &[u8], prefix: &[u8]) -> bool {
    bytes.len() >= prefix.len() && bytes[..prefix.len()].eq_ignore_ascii_case(prefix)
}

fn contains_ci(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Markup a browser would render or run, near the start of a file.
fn looks_like_markup(head: &[u8]) -> bool {
    const TAGS: [&[u8]; 8] = [
        b"<html",
        b"<!doctype",
        b"<script",
        b"<body",
        b"<svg",
        b"<?xml",
        b"<head",
        b"<iframe",
    ];
    TAGS.iter().any(|t| contains_ci(head, t))
}

fn pdf(bytes: &[u8]) -> Result<DocumentKind, Refusal> {
    // `%PDF-1.x` or `%PDF-2.x`: a version digit after the point.
    let versioned = (bytes.starts_with(b"%PDF-1.") || bytes.starts_with(b"%PDF-2."))
        && bytes.get(7).is_some_and(u8::is_ascii_digit);
    if !versioned {
        return Err(Refusal::BrokenPdf);
    }
    // A page that opens with a PDF header to fool a sniffer and goes on as HTML.
    let head = &bytes[..bytes.len().min(PDF_TAIL)];
    if looks_like_markup(head) {
        return Err(Refusal::BrokenPdf);
    }
    let tail = &bytes[bytes.len().saturating_sub(PDF_TAIL)..];
    if !tail.windows(5).any(|w| w == b"%%EOF") {
        return Err(Refusal::BrokenPdf);
    }
    Ok(DocumentKind::Pdf)
}

fn png(bytes: &[u8]) -> Result<DocumentKind, Refusal> {
    // Signature, then the IHDR chunk (length 13) first, then at least the IEND chunk.
    let ihdr_first =
        bytes.len() >= 8 + 25 + 12 && bytes[8..12] == [0, 0, 0, 13] && &bytes[12..16] == b"IHDR";
    if !ihdr_first || !bytes.ends_with(&PNG_IEND) {
        return Err(Refusal::BrokenPng);
    }
    let width = u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
    let height = u32::from_be_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]);
    if width == 0 || height == 0 {
        return Err(Refusal::BrokenPng);
    }
    Ok(DocumentKind::Png)
}

fn jpeg(bytes: &[u8]) -> Result<DocumentKind, Refusal> {
    if bytes.len() < 5 || !bytes.ends_with(&[0xFF, 0xD9]) {
        return Err(Refusal::BrokenJpeg);
    }
    Ok(DocumentKind::Jpeg)
}

/// What `bytes` are: a PDF (`%PDF-1.`/`%PDF-2.` with `%%EOF` in its last KiB), a PNG (the
/// signature, `IHDR` first, `IEND` last) or a JPEG (`FF D8 FF` … `FF D9`); anything else is
/// refused with the reason.
pub fn recognise(bytes: &[u8]) -> Result<DocumentKind, Refusal> {
    if bytes.is_empty() {
        return Err(Refusal::Empty);
    }
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(Refusal::TooLarge);
    }
    if bytes.starts_with(b"%PDF-") {
        return pdf(bytes);
    }
    if bytes.starts_with(&PNG_SIGNATURE) {
        return png(bytes);
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return jpeg(bytes);
    }
    // Zip (and the formats built on it), gzip, 7z, rar, bzip2, xz.
    const ARCHIVES: [&[u8]; 8] = [
        b"PK\x03\x04",
        b"PK\x05\x06",
        b"PK\x07\x08",
        b"\x1F\x8B",
        b"7z\xBC\xAF\x27\x1C",
        b"Rar!",
        b"BZh",
        b"\xFD7zXZ\x00",
    ];
    if ARCHIVES.iter().any(|m| bytes.starts_with(m)) {
        return Err(Refusal::Archive);
    }
    let head = &bytes[..bytes.len().min(PDF_TAIL)];
    let text = head
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(head)
        .trim_ascii_start();
    if starts_with_ci(text, b"<") || looks_like_markup(head) {
        return Err(Refusal::Markup);
    }
    Err(Refusal::Unknown)
}

/// Characters never kept in a name: controls, and the bidirectional overrides and isolates
/// that make `invoice<U+202E>fdp.exe` read as `invoiceexe.pdf`.
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        || matches!(c, '\u{FEFF}')
}

/// A filename safe to store and to show: the last path component only (`/` and `\`), without
/// control characters, quotes or bidirectional overrides, trimmed of spaces and leading dots,
/// at most [`MAX_FILENAME_CHARS`] characters (the extension kept when it is cut);
/// [`FALLBACK_FILENAME`] when nothing is left.
pub fn safe_filename(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !unsafe_char(*c))
        .map(|c| if c == '"' { '\'' } else { c })
        .collect();
    let trimmed = cleaned
        .trim_start_matches(|c: char| c == '.' || c.is_whitespace())
        .trim_end();
    if trimmed.is_empty() {
        return FALLBACK_FILENAME.to_string();
    }
    let count = trimmed.chars().count();
    if count <= MAX_FILENAME_CHARS {
        return trimmed.to_string();
    }
    // Keep a short extension (`.pdf`) when cutting a long name.
    let ext: Option<&str> = trimmed.rsplit_once('.').map(|(_, e)| e).filter(|e| {
        !e.is_empty() && e.chars().count() <= 10 && e.chars().all(char::is_alphanumeric)
    });
    let out = match ext {
        Some(ext) => {
            let keep = MAX_FILENAME_CHARS - ext.chars().count() - 1;
            let stem: String = trimmed.chars().take(keep).collect();
            format!("{}.{ext}", stem.trim_end())
        }
        None => trimmed.chars().take(MAX_FILENAME_CHARS).collect::<String>(),
    };
    let out = out.trim().to_string();
    if out.is_empty() {
        FALLBACK_FILENAME.to_string()
    } else {
        out
    }
}

/// The `Content-Disposition` of a download: always `attachment`, the name quoted as an ASCII
/// fallback (other characters as `_`, `"` and `\` never inside the quotes) and, when the name
/// is not plain ASCII, also as RFC 5987 `filename*=UTF-8''…`.
pub fn content_disposition(filename: &str) -> String {
    let name = safe_filename(filename);
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if ascii == name {
        return format!("attachment; filename=\"{ascii}\"");
    }
    let mut encoded = String::new();
    for b in name.bytes() {
        // RFC 5987 attr-char: ALPHA / DIGIT / "!#$&+-.^_`|~"
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn minimal_pdf() -> Vec<u8> {
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n".to_vec()
    }

    fn minimal_png() -> Vec<u8> {
        let mut v = PNG_SIGNATURE.to_vec();
        v.extend_from_slice(&[0, 0, 0, 13]);
        v.extend_from_slice(b"IHDR");
        v.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]);
        v.extend_from_slice(&[0x3A, 0x7E, 0x9B, 0x55]);
        v.extend_from_slice(&PNG_IEND);
        v
    }

    fn minimal_jpeg() -> Vec<u8> {
        vec![
            0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0, 0xFF, 0xD9,
        ]
    }

    #[test]
    fn the_three_kinds_are_recognised_by_their_bytes() {
        assert_eq!(recognise(&minimal_pdf()), Ok(DocumentKind::Pdf));
        assert_eq!(recognise(&minimal_png()), Ok(DocumentKind::Png));
        assert_eq!(recognise(&minimal_jpeg()), Ok(DocumentKind::Jpeg));
        assert_eq!(DocumentKind::Pdf.media_type(), "application/pdf");
        assert_eq!(DocumentKind::Png.media_type(), "image/png");
        assert_eq!(DocumentKind::Jpeg.media_type(), "image/jpeg");
        let mut pdf2 = minimal_pdf();
        pdf2[5] = b'2';
        assert_eq!(recognise(&pdf2), Ok(DocumentKind::Pdf));
    }

    #[test]
    fn lookalikes_are_refused_with_a_reason() {
        assert_eq!(recognise(b""), Err(Refusal::Empty));
        // HTML wearing a PDF header, with no end-of-file marker.
        assert_eq!(
            recognise(b"%PDF-1.4\n<html><script>alert(1)</script></html>"),
            Err(Refusal::BrokenPdf)
        );
        // Even with a marker: markup in the header is not a PDF.
        assert_eq!(
            recognise(b"%PDF-1.4\n<html><body>hi</body></html>\n%%EOF"),
            Err(Refusal::BrokenPdf)
        );
        assert_eq!(recognise(b"%PDF-3.0\n%%EOF"), Err(Refusal::BrokenPdf));
        assert_eq!(recognise(b"%PDF-1.x\n%%EOF"), Err(Refusal::BrokenPdf));
        // %%EOF too far from the end.
        let mut far = minimal_pdf();
        far.extend(std::iter::repeat_n(b' ', 2000));
        assert_eq!(recognise(&far), Err(Refusal::BrokenPdf));
        // An HTML page that mentions a PDF header further in.
        assert_eq!(
            recognise(b"<!DOCTYPE html><p>%PDF-1.4 ... %%EOF</p>"),
            Err(Refusal::Markup)
        );
        assert_eq!(
            recognise(b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script/></svg>"),
            Err(Refusal::Markup)
        );
        assert_eq!(
            recognise(b"\xEF\xBB\xBF  <?xml version=\"1.0\"?><svg/>"),
            Err(Refusal::Markup)
        );
        assert_eq!(recognise(b"PK\x03\x04\x14\0\0\0"), Err(Refusal::Archive));
        assert_eq!(recognise(b"\x1F\x8B\x08\0"), Err(Refusal::Archive));
        assert_eq!(recognise(b"just some text"), Err(Refusal::Unknown));
        // A PNG signature without its IEND, or without IHDR first.
        let png = minimal_png();
        assert_eq!(recognise(&png[..png.len() - 1]), Err(Refusal::BrokenPng));
        let mut no_ihdr = png.clone();
        no_ihdr[12] = b'X';
        assert_eq!(recognise(&no_ihdr), Err(Refusal::BrokenPng));
        let mut zero = png.clone();
        zero[16..20].copy_from_slice(&[0, 0, 0, 0]);
        assert_eq!(recognise(&zero), Err(Refusal::BrokenPng));
        // A JPEG start without its end.
        assert_eq!(
            recognise(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]),
            Err(Refusal::BrokenJpeg)
        );
        let huge = vec![0u8; MAX_DOCUMENT_BYTES + 1];
        assert_eq!(recognise(&huge), Err(Refusal::TooLarge));
    }

    #[test]
    fn filenames_are_made_safe() {
        assert_eq!(safe_filename("fattura.pdf"), "fattura.pdf");
        assert_eq!(safe_filename("../../etc/passwd"), "passwd");
        assert_eq!(
            safe_filename("C:\\Users\\x\\scontrino.jpg"),
            "scontrino.jpg"
        );
        assert_eq!(safe_filename("a\0b\r\nc.pdf"), "abc.pdf");
        assert_eq!(safe_filename("invoice\u{202E}fdp.exe"), "invoicefdp.exe");
        assert_eq!(safe_filename("say \"hi\".png"), "say 'hi'.png");
        assert_eq!(safe_filename(""), FALLBACK_FILENAME);
        assert_eq!(safe_filename("   "), FALLBACK_FILENAME);
        assert_eq!(safe_filename("dir/"), FALLBACK_FILENAME);
        assert_eq!(safe_filename(".."), FALLBACK_FILENAME);
        assert_eq!(safe_filename(".htaccess"), "htaccess");
        assert_eq!(safe_filename("ricevuta è già.pdf"), "ricevuta è già.pdf");
        let long = format!("{}.pdf", "a".repeat(500));
        let cut = safe_filename(&long);
        assert_eq!(cut.chars().count(), MAX_FILENAME_CHARS);
        assert!(cut.ends_with(".pdf"));
    }

    #[test]
    fn downloads_are_attachments_with_a_quoted_name() {
        assert_eq!(
            content_disposition("fattura.pdf"),
            "attachment; filename=\"fattura.pdf\""
        );
        assert_eq!(
            content_disposition("ricevuta è.pdf"),
            "attachment; filename=\"ricevuta _.pdf\"; filename*=UTF-8''ricevuta%20%C3%A8.pdf"
        );
        assert_eq!(
            content_disposition("a\"b\\c.pdf"),
            "attachment; filename=\"c.pdf\""
        );
        assert_eq!(
            content_disposition("x\"; filename=evil.html"),
            "attachment; filename=\"x'; filename=evil.html\""
        );
    }

    proptest! {
        #[test]
        fn recognition_never_panics_and_accepts_only_what_it_says(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            match recognise(&bytes) {
                Ok(DocumentKind::Pdf) => {
                    prop_assert!(bytes.starts_with(b"%PDF-1.") || bytes.starts_with(b"%PDF-2."));
                    let tail = &bytes[bytes.len().saturating_sub(1024)..];
                    prop_assert!(tail.windows(5).any(|w| w == b"%%EOF"));
                }
                Ok(DocumentKind::Png) => {
                    prop_assert!(bytes.starts_with(&PNG_SIGNATURE));
                    prop_assert!(bytes.ends_with(&PNG_IEND));
                }
                Ok(DocumentKind::Jpeg) => {
                    prop_assert!(bytes.starts_with(&[0xFF, 0xD8, 0xFF]) && bytes.ends_with(&[0xFF, 0xD9]));
                }
                Err(_) => {}
            }
        }

        #[test]
        fn anything_after_a_pdf_header_without_an_end_is_refused(body in "[ -~]{0,500}") {
            let bytes = format!("%PDF-1.7\n{}", body.replace("%%EOF", ""));
            prop_assert!(recognise(bytes.as_bytes()).is_err());
        }

        #[test]
        fn safe_names_are_safe(raw in any::<String>()) {
            let name = safe_filename(&raw);
            prop_assert!(!name.is_empty());
            prop_assert!(name.chars().count() <= MAX_FILENAME_CHARS);
            prop_assert!(!name.contains(['/', '\\', '"']));
            prop_assert!(!name.chars().any(unsafe_char));
            prop_assert_eq!(safe_filename(&name), name.clone());
            let cd = content_disposition(&raw);
            prop_assert!(cd.is_ascii());
            prop_assert!(cd.starts_with("attachment; filename=\""));
            // Exactly two quotes: the name can never close the quoted string early.
            prop_assert_eq!(cd.matches('"').count(), 2);
        }
    }
}
