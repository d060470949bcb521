//! CSV exports, written by the `csv` crate (quoting and escaping as RFC 4180 wants); every
//! cell is first neutralised, so that a spreadsheet never reads it as a formula.

use super::error::ApiError;
use std::borrow::Cow;

/// A cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, carriage return
/// first) gets a leading apostrophe; any other cell is left as it is.
pub fn neutralise(s: &str) -> Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{s}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// The caller asked for CSV (`Accept: text/csv`) rather than JSON.
pub fn wants_csv(req: &actix_web::HttpRequest) -> bool {
    req.headers()
        .get("Accept")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/csv"))
}

/// A CSV document being written: a header, then rows of the same width.
pub struct CsvOut {
    writer: csv::Writer<Vec<u8>>,
    failed: Option<csv::Error>,
}

impl CsvOut {
    pub fn new(header: &[&str]) -> CsvOut {
        let mut out = CsvOut {
            writer: csv::WriterBuilder::new()
                .terminator(csv::Terminator::Any(b'\n'))
                .from_writer(Vec::new()),
            failed: None,
        };
        out.row(header.iter().copied());
        out
    }

    /// Writes one row, each cell neutralised.
    pub fn row<I, S>(&mut self, cells: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        if self.failed.is_some() {
            return;
        }
        let cells: Vec<String> = cells
            .into_iter()
            .map(|c| neutralise(c.as_ref()).into_owned())
            .collect();
        if let Err(e) = self.writer.write_record(&cells) {
            self.failed = Some(e);
        }
    }

    /// The document, or an internal error if a row did not fit the header.
    pub fn finish(self) -> Result<String, ApiError> {
        if let Some(e) = self.failed {
            return Err(ApiError::Internal(format!("csv: {e}")));
        }
        let bytes = self
            .writer
            .into_inner()
            .map_err(|e| ApiError::Internal(format!("csv: {e}")))?;
        String::from_utf8(bytes).map_err(|e| ApiError::Internal(format!("csv: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(cells: &[&str]) -> String {
        let mut out = CsvOut::new(&["a", "b"]);
        out.row(cells.iter().copied());
        out.finish().unwrap().lines().nth(1).unwrap().to_string()
    }

    #[test]
    fn cells_are_quoted_where_needed_and_never_formulas() {
        assert_eq!(one(&["plain", "x"]), "plain,x");
        assert_eq!(one(&["a,b", "x"]), "\"a,b\",x");
        assert_eq!(one(&["say \"hi\"", "x"]), "\"say \"\"hi\"\"\",x");
        assert_eq!(
            one(&["=HYPERLINK(\"x\")", "x"]),
            "\"'=HYPERLINK(\"\"x\"\")\",x"
        );
        assert_eq!(one(&["-5", "@SUM(A1)"]), "'-5,'@SUM(A1)");
        assert_eq!(
            one(&["Città «Àperta» & <Amici>", "x"]),
            "Città «Àperta» & <Amici>,x"
        );
    }

    #[test]
    fn a_row_of_another_width_is_an_error_not_a_broken_file() {
        let mut out = CsvOut::new(&["a", "b"]);
        out.row(["only one"]);
        assert!(out.finish().is_err());
    }
}
