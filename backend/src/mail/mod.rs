//! Outgoing mail: messages rendered from templates kept in `backend/templates/mail/`
//! ([`templates`]), written to an outbox table in the same transaction as the change that
//! caused them ([`outbox`]), and delivered by a background worker with retries
//! ([`worker`]) over SMTP with `lettre` (tokio, rustls), or to the log in development.
//! A request never waits for, or fails because of, a mail server.

pub mod outbox;
pub mod templates;
pub mod worker;

use crate::secret::Secret;

/// How mail leaves this application (`EMAIL_URL`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transport {
    /// No `EMAIL_URL` in development: each message is written to the log as one block,
    /// link included (Django's console backend).
    Console,
    /// `EMAIL_URL=none`: no mail at all; flows that need it refuse with a clear error.
    Disabled,
    /// An SMTP server.
    Smtp(SmtpSettings),
}

/// How the connection to the SMTP server is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// `smtp://`: STARTTLS when the server offers it, plain otherwise.
    Opportunistic,
    /// `smtp://…?tls=required`: STARTTLS or no delivery.
    Required,
    /// `smtps://`: TLS from the first byte (port 465).
    Implicit,
}

/// An `EMAIL_URL` taken apart. The password is a [`Secret`] (never in logs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpSettings {
    /// Host name (for TLS, the name the certificate must carry).
    pub host: String,
    /// Port: from the URL, else 587 (`smtp`) or 465 (`smtps`).
    pub port: u16,
    /// How the connection is secured.
    pub security: Security,
    /// Login name and password, when the URL has them (percent-decoded).
    pub credentials: Option<(String, Secret)>,
}

/// Why an `EMAIL_URL` was refused (the URL itself is never shown: it may hold a password).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MailConfigError {
    /// Not `none`, `smtp://…` or `smtps://…`.
    #[error("EMAIL_URL must be smtp://…, smtps://… or none")]
    Scheme,
    /// The URL does not parse, or names no host.
    #[error("EMAIL_URL is not a valid URL with a host")]
    Url,
    /// A `tls=` value other than `required`.
    #[error("EMAIL_URL: the only tls= value is required")]
    TlsParameter,
}

impl Transport {
    /// Reads `EMAIL_URL`: `None` is the development console.
    pub fn from_url(url: Option<&str>) -> Result<Transport, MailConfigError> {
        let Some(url) = url.map(str::trim).filter(|u| !u.is_empty()) else {
            return Ok(Transport::Console);
        };
        if url.eq_ignore_ascii_case("none") {
            return Ok(Transport::Disabled);
        }
        let parsed = reqwest::Url::parse(url).map_err(|_| MailConfigError::Url)?;
        let mut security = match parsed.scheme() {
            "smtp" => Security::Opportunistic,
            "smtps" => Security::Implicit,
            _ => return Err(MailConfigError::Scheme),
        };
        for (key, value) in parsed.query_pairs() {
            if key == "tls" {
                if value != "required" {
                    return Err(MailConfigError::TlsParameter);
                }
                if security == Security::Opportunistic {
                    security = Security::Required;
                }
            }
        }
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or(MailConfigError::Url)?
            .to_owned();
        let port = parsed.port().unwrap_or(match security {
            Security::Implicit => 465,
            _ => 587,
        });
        let credentials = (!parsed.username().is_empty()).then(|| {
            (
                percent_decode(parsed.username()),
                Secret::new(percent_decode(parsed.password().unwrap_or_default())),
            )
        });
        Ok(Transport::Smtp(SmtpSettings {
            host,
            port,
            security,
            credentials,
        }))
    }
}

/// `%XX` sequences decoded (URL user info); anything malformed is kept as it is.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Some(b) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `address` as SMTP without the SMTPUTF8 extension can carry it: an internationalised
/// domain in its ASCII form (IDNA, `bücher.example` → `xn--bcher-kva.example`). The local
/// part is left alone (account addresses have ASCII local parts). `None` when the domain
/// has no ASCII form.
pub fn ascii_address(address: &str) -> Option<String> {
    let (local, domain) = address.rsplit_once('@')?;
    if domain.is_ascii() {
        return Some(address.to_owned());
    }
    let domain = idna::domain_to_ascii(domain).ok()?;
    Some(format!("{local}@{domain}"))
}

/// A rendered message, ready for the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The recipient's address, as stored for the account.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internationalised_domains_travel_as_ascii() {
        assert_eq!(
            ascii_address("jose@bücher.example").as_deref(),
            Some("jose@xn--bcher-kva.example")
        );
        assert_eq!(
            ascii_address("ann@example.com").as_deref(),
            Some("ann@example.com")
        );
        assert_eq!(ascii_address("no-at-sign"), None);
    }

    #[test]
    fn email_urls() {
        assert_eq!(Transport::from_url(None), Ok(Transport::Console));
        assert_eq!(Transport::from_url(Some("none")), Ok(Transport::Disabled));
        let Ok(Transport::Smtp(smtp)) =
            Transport::from_url(Some("smtp://ann%40x.org:p%3Ass@mail.example.com"))
        else {
            panic!("smtp URL");
        };
        assert_eq!(
            (smtp.host.as_str(), smtp.port, smtp.security),
            ("mail.example.com", 587, Security::Opportunistic)
        );
        let (user, password) = smtp.credentials.unwrap();
        assert_eq!(
            (user.as_str(), password.expose()),
            ("ann@x.org", &b"p:ss"[..])
        );
        let Ok(Transport::Smtp(smtps)) = Transport::from_url(Some("smtps://mx.example.com")) else {
            panic!("smtps URL");
        };
        assert_eq!((smtps.port, smtps.security), (465, Security::Implicit));
        let Ok(Transport::Smtp(required)) =
            Transport::from_url(Some("smtp://127.0.0.1:2525?tls=required"))
        else {
            panic!("tls=required");
        };
        assert_eq!(
            (required.port, required.security),
            (2525, Security::Required)
        );
        assert_eq!(
            Transport::from_url(Some("http://x")),
            Err(MailConfigError::Scheme)
        );
        assert_eq!(
            Transport::from_url(Some("smtp://x?tls=maybe")),
            Err(MailConfigError::TlsParameter)
        );
        assert!(!format!(
            "{:?}",
            Transport::from_url(Some("smtp://u:hunter2@h")).unwrap()
        )
        .contains("hunter2"));
    }
}
