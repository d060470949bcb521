//! The e-mail transport: SMTP, or a directory of `.eml` files when no SMTP server is set.
//! What a failed send answers never quotes an address: an SMTP server's reply often names the
//! recipient ("550 5.1.1 <maria@example.org>: user unknown"), and that text is logged and kept
//! in the outbox.

use lettre::message::header::ContentType;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

pub enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>),
}

impl Mailer {
    pub fn from_config(cfg: &crate::config::NotifyConfig) -> Result<Mailer, String> {
        match &cfg.smtp_url {
            Some(url) => AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                .map(|b| Mailer::Smtp(b.timeout(Some(Duration::from_secs(20))).build()))
                .map_err(|_| "COFUND_SMTP_URL is not a valid smtp:// or smtps:// URL".to_string()),
            None => {
                std::fs::create_dir_all(&cfg.mail_dir)
                    .map_err(|e| format!("cannot create COFUND_MAIL_DIR: {e}"))?;
                Ok(Mailer::Files(AsyncFileTransport::new(&cfg.mail_dir)))
            }
        }
    }

    pub async fn send(
        &self,
        from: &str,
        to: &str,
        subject: &str,
        body: String,
    ) -> Result<(), String> {
        let message = Message::builder()
            .from(
                from.parse()
                    .map_err(|_| "invalid sender address".to_string())?,
            )
            .to(to
                .parse()
                .map_err(|_| "invalid recipient address".to_string())?)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| format!("cannot build the message: {e}"))?;
        match self {
            Mailer::Smtp(t) => t
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| redact_addresses(&format!("smtp: {e}"))),
            Mailer::Files(t) => t
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| redact_addresses(&format!("mail dir: {e}"))),
        }
    }
}

/// What replaces an e-mail address in an error text.
pub const REDACTED_ADDRESS: &str = "<address>";

/// Characters of an address's local part (unquoted, RFC 5322 atext and dots; any non-ASCII
/// letter, RFC 6531).
fn local_char(c: char) -> bool {
    c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c)
}

/// Characters of an address's domain (labels, dots, an address literal's brackets and colons).
fn domain_char(c: char) -> bool {
    c.is_alphanumeric() || "-._[]:".contains(c)
}

/// `text` with every e-mail address in it (anything of the form `local@domain`) replaced by
/// [`REDACTED_ADDRESS`]: for error texts that are logged or stored.
pub fn redact_addresses(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '@' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // The local part is what `out` ends with; the domain what follows.
        let local = out.chars().rev().take_while(|c| local_char(*c)).count();
        let domain = chars[i + 1..]
            .iter()
            .take_while(|c| domain_char(**c))
            .count();
        if local == 0 || domain == 0 {
            out.push('@');
            i += 1;
            continue;
        }
        let keep = out.chars().count() - local;
        out = out.chars().take(keep).collect();
        out.push_str(REDACTED_ADDRESS);
        i += 1 + domain;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_in_an_smtp_reply_are_redacted() {
        assert_eq!(
            redact_addresses(
                "smtp: permanent error (550): 5.1.1 <Maria.Rossi+x@Example.org>: Recipient address rejected"
            ),
            "smtp: permanent error (550): 5.1.1 <<address>>: Recipient address rejected"
        );
        assert_eq!(
            redact_addresses("to a@b.it and é.ü@dömain.example, then c_d@[192.0.2.1]"),
            "to <address> and <address>, then <address>"
        );
        assert_eq!(
            redact_addresses("mailbox x@localhost full"),
            "mailbox <address> full"
        );
    }

    #[test]
    fn text_without_an_address_is_kept() {
        for t in [
            "smtp: connection refused",
            "a lone @ sign",
            "trailing@",
            "@leading",
            "timeout",
            "",
        ] {
            assert_eq!(redact_addresses(t), t);
        }
    }

    #[test]
    fn no_address_survives_whatever_surrounds_it() {
        for (before, after) in [("", ""), ("<", ">"), ("RCPT TO:", " "), ("\"", "\"")] {
            for address in ["donor@example.org", "x.y-z+tag@sub.example.co.uk", "u@h"] {
                let text = format!("error {before}{address}{after} end");
                let redacted = redact_addresses(&text);
                assert!(!redacted.contains('@'), "{redacted}");
                assert!(redacted.contains(REDACTED_ADDRESS), "{redacted}");
            }
        }
    }
}
