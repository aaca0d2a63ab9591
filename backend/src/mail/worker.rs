//! The delivery worker: claims due messages from the outbox and sends them (SMTP through
//! `lettre`, or the log), marking each delivered, or failed with its retry time. One runs
//! in every instance; claims keep them from sending a message twice.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tokio::sync::Notify;

use super::outbox::{self, Claimed};
use super::{Security, SmtpSettings, Transport};
use crate::db::Db;

/// How often the worker looks at the outbox when nobody wakes it (other instances'
/// messages, retries).
const POLL: Duration = Duration::from_secs(5);

/// Messages claimed at a time: one, so a claim never outlives its lease while earlier
/// messages of a batch are sent.
const BATCH: i64 = 1;

/// How long one delivery may take, connection and conversation together (lettre's own
/// timeout covers the connection only); well inside the outbox's lease.
const SEND_TIMEOUT: Duration = Duration::from_secs(60);

/// Why the mail settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MailerError {
    /// `EMAIL_FROM` is not an address (with an optional display name).
    #[error("EMAIL_FROM is not a valid mailbox: {0}")]
    From(String),
    /// The TLS settings for the SMTP host could not be built.
    #[error("EMAIL_URL: {0}")]
    Tls(String),
}

/// Why one delivery failed; `permanent` when trying again cannot help (an address the
/// server refuses for good, a message that cannot be built).
struct SendError {
    message: String,
    permanent: bool,
}

enum Sender {
    Console,
    Disabled,
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

/// Delivers the outbox. Cheap to share; [`Mailer::wake`] after queueing a message sends it
/// at once instead of at the next poll.
pub struct Mailer {
    db: Db,
    from: Mailbox,
    sender: Sender,
    wake: Notify,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

fn smtp_transport(smtp: &SmtpSettings) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailerError> {
    let tls = || TlsParameters::new(smtp.host.clone()).map_err(|e| MailerError::Tls(e.to_string()));
    let tls = match smtp.security {
        Security::Opportunistic => Tls::Opportunistic(tls()?),
        Security::Required => Tls::Required(tls()?),
        Security::Implicit => Tls::Wrapper(tls()?),
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
        .port(smtp.port)
        .tls(tls)
        .timeout(Some(Duration::from_secs(15)));
    if let Some((user, password)) = &smtp.credentials {
        builder = builder.credentials(Credentials::new(
            user.clone(),
            String::from_utf8_lossy(password.expose()).into_owned(),
        ));
    }
    Ok(builder.build())
}

impl Mailer {
    /// A mailer for `transport`, sending as `from` (`EMAIL_FROM`).
    pub fn new(db: Db, transport: &Transport, from: &str) -> Result<Mailer, MailerError> {
        let from: Mailbox = from
            .parse()
            .map_err(|_| MailerError::From(from.to_owned()))?;
        let sender = match transport {
            Transport::Console => Sender::Console,
            Transport::Disabled => Sender::Disabled,
            Transport::Smtp(smtp) => Sender::Smtp(smtp_transport(smtp)?),
        };
        Ok(Mailer {
            db,
            from,
            sender,
            wake: Notify::new(),
        })
    }

    /// Whether mail can be sent at all (`EMAIL_URL=none` says no).
    pub fn is_enabled(&self) -> bool {
        !matches!(self.sender, Sender::Disabled)
    }

    /// Asks the worker to look at the outbox now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Runs the worker for the life of the process.
    pub fn spawn(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let mailer = Arc::clone(self);
        tokio::spawn(async move {
            let mut last_prune = tokio::time::Instant::now();
            loop {
                tokio::select! {
                    () = mailer.wake.notified() => {}
                    () = tokio::time::sleep(POLL) => {}
                }
                // With mail off nothing is claimed: messages other instances queued wait
                // for one that can send them.
                if !mailer.is_enabled() {
                    continue;
                }
                if let Err(error) = mailer.deliver_due().await {
                    tracing::warn!(%error, "mail outbox: could not claim messages");
                }
                if last_prune.elapsed() > Duration::from_secs(3600) {
                    if let Err(error) = outbox::prune(&mailer.db).await {
                        tracing::warn!(%error, "mail outbox: could not prune");
                    }
                    last_prune = tokio::time::Instant::now();
                }
            }
        })
    }

    /// Claims and delivers every due message, batch by batch.
    pub async fn deliver_due(&self) -> Result<(), crate::db::DbError> {
        loop {
            let batch = outbox::claim(&self.db, BATCH).await?;
            if batch.is_empty() {
                return Ok(());
            }
            for message in batch {
                let sent = tokio::time::timeout(SEND_TIMEOUT, self.send(&message))
                    .await
                    .unwrap_or_else(|_| {
                        Err(SendError {
                            message: "no answer from the mail server in time".into(),
                            permanent: false,
                        })
                    });
                let Err(SendError {
                    message: error,
                    permanent,
                }) = sent
                else {
                    outbox::delivered(&self.db, &message).await?;
                    continue;
                };
                let gave_up = outbox::failed(&self.db, &message, &error, permanent).await?;
                metrics::counter!(
                    crate::metrics::MAIL_FAILURES,
                    "gave_up" => if gave_up { "true" } else { "false" }
                )
                .increment(1);
                if gave_up {
                    tracing::error!(
                        id = message.id,
                        attempts = message.attempts,
                        %error,
                        "mail outbox: message is dead"
                    );
                } else {
                    tracing::warn!(
                        id = message.id,
                        attempts = message.attempts,
                        %error,
                        "mail outbox: delivery failed; will retry"
                    );
                }
            }
        }
    }

    async fn send(&self, message: &Claimed) -> Result<(), SendError> {
        let permanent = |message: String| SendError {
            message,
            permanent: true,
        };
        match &self.sender {
            // The worker does not run with mail off; nothing is claimed.
            Sender::Disabled => Err(SendError {
                message: "mail is switched off (EMAIL_URL=none)".into(),
                permanent: false,
            }),
            Sender::Console => {
                // One readable block (the log escapes line breaks, so not through it),
                // as Django's console backend writes it.
                tracing::info!(to = %message.recipient, "mail written to the log (no EMAIL_URL)");
                println!(
                    "---------- mail ----------\nFrom: {}\nTo: {}\nSubject: {}\n\n{}\n--------------------------",
                    self.from, message.recipient, message.subject, message.text_body
                );
                Ok(())
            }
            Sender::Smtp(transport) => {
                // An internationalised domain travels in its ASCII form: many relays do not
                // offer SMTPUTF8, and the address would otherwise never be delivered.
                let to: Mailbox = super::ascii_address(&message.recipient)
                    .ok_or_else(|| permanent("recipient: a domain with no ASCII form".into()))?
                    .parse()
                    .map_err(|e| permanent(format!("recipient: {e}")))?;
                // RFC 5322 section 3.6.4: every message should carry a unique Message-ID
                // (some receivers refuse mail without one).
                let mut random = [0u8; 16];
                rand::RngCore::fill_bytes(&mut rand::rng(), &mut random);
                let message_id = format!("<{}@{}>", hex::encode(random), self.from.email.domain());
                let email = lettre::Message::builder()
                    .from(self.from.clone())
                    .to(to)
                    .message_id(Some(message_id))
                    .subject(&message.subject)
                    .multipart(
                        MultiPart::alternative()
                            .singlepart(
                                SinglePart::builder()
                                    .header(ContentType::TEXT_PLAIN)
                                    .body(message.text_body.clone()),
                            )
                            .singlepart(
                                SinglePart::builder()
                                    .header(ContentType::TEXT_HTML)
                                    .body(message.html_body.clone()),
                            ),
                    )
                    .map_err(|e| permanent(format!("message: {e}")))?;
                transport
                    .send(email)
                    .await
                    .map(drop)
                    .map_err(|e| SendError {
                        permanent: e.is_permanent(),
                        message: e.to_string(),
                    })
            }
        }
    }
}
