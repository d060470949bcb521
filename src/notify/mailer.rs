//! The e-mail transport: SMTP, or a directory of `.eml` files when no SMTP server is set.

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
                .map_err(|e| format!("smtp: {e}")),
            Mailer::Files(t) => t
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| format!("mail dir: {e}")),
        }
    }
}
