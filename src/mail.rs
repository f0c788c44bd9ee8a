//! The mail transport: SMTP (`smtp://`, `smtps://`, with lettre's URL options such as
//! `?tls=required`) or a file outbox (`file://<dir>`, one `.eml` file a message), which is the
//! default so that a laptop needs no mail server.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::domain::letters::Letter;

pub struct Mailer {
    transport: Transport,
    from: Mailbox,
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(AsyncFileTransport<Tokio1Executor>, PathBuf),
}

/// Why a letter did not go out.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("composing the mail to {to}: {source}")]
    Compose {
        to: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("delivering the mail to {to}: {source}")]
    Deliver {
        to: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Mailer {
    /// The transport `url` names, sending from `from` (`Name <address>` or an address).
    pub fn new(url: &str, from: &str) -> Result<Mailer, String> {
        let from: Mailbox = from.parse().map_err(|e| format!("MAIL_FROM {from:?} is not a mail address: {e}"))?;
        let transport = if let Some(dir) = url.strip_prefix("file://") {
            let dir = PathBuf::from(dir);
            std::fs::create_dir_all(&dir).map_err(|e| format!("making the mail outbox {}: {e}", dir.display()))?;
            Transport::Outbox(AsyncFileTransport::new(&dir), dir)
        } else if url.starts_with("smtp://") || url.starts_with("smtps://") {
            let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                .map_err(|e| format!("MAIL_URL is not a usable SMTP URL: {e}"))?;
            Transport::Smtp(builder.timeout(Some(Duration::from_secs(10))).build())
        } else {
            return Err("MAIL_URL must start with smtp://, smtps:// or file://".into());
        };
        Ok(Mailer { transport, from })
    }

    /// The outbox folder of a file transport.
    pub fn outbox(&self) -> Option<&Path> {
        match &self.transport {
            Transport::Outbox(_, dir) => Some(dir),
            Transport::Smtp(_) => None,
        }
    }

    pub async fn send(&self, letter: &Letter) -> Result<(), MailError> {
        let to = letter.to.clone();
        let compose = |source: Box<dyn std::error::Error + Send + Sync>| MailError::Compose { to: to.clone(), source };
        let message = Message::builder()
            .from(self.from.clone())
            .to(letter.to.parse::<Mailbox>().map_err(|e| compose(e.into()))?)
            .subject(&letter.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(letter.body.clone())
            .map_err(|e| compose(e.into()))?;
        let deliver = |source: Box<dyn std::error::Error + Send + Sync>| MailError::Deliver { to: to.clone(), source };
        match &self.transport {
            Transport::Smtp(smtp) => smtp.send(message).await.map(drop).map_err(|e| deliver(e.into())),
            Transport::Outbox(outbox, _) => outbox.send(message).await.map(drop).map_err(|e| deliver(e.into())),
        }?;
        tracing::info!(to = %letter.to, subject = %letter.subject, "mail sent");
        Ok(())
    }
}
