//! [`MailContext`]: what the use cases that mail need to know about this deployment.

use std::time::Duration;

/// What messages need to know about this deployment: their product name, where links
/// point (`PUBLIC_URL` alone, never a request's `Host`), and how long links live.
#[derive(Clone, Copy, Debug)]
pub struct MailContext<'a> {
    /// `SITE_NAME`.
    pub site_name: &'a str,
    /// `PUBLIC_URL`, without a trailing slash: links are built from it alone.
    pub public_url: &'a str,
    /// `PASSWORD_RESET_TIMEOUT`.
    pub password_reset_timeout: Duration,
    /// `ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS`, as a duration.
    pub email_confirmation_timeout: Duration,
}

/// A [`MailContext`] that owns its text, for work that outlives the request.
#[derive(Clone, Debug)]
pub(crate) struct OwnedMailContext {
    site_name: String,
    public_url: String,
    password_reset_timeout: Duration,
    email_confirmation_timeout: Duration,
}

impl MailContext<'_> {
    pub(crate) fn to_owned(self) -> OwnedMailContext {
        OwnedMailContext {
            site_name: self.site_name.to_owned(),
            public_url: self.public_url.to_owned(),
            password_reset_timeout: self.password_reset_timeout,
            email_confirmation_timeout: self.email_confirmation_timeout,
        }
    }

    /// `PUBLIC_URL` + `path`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.public_url)
    }
}

impl OwnedMailContext {
    pub(crate) fn borrow(&self) -> MailContext<'_> {
        MailContext {
            site_name: &self.site_name,
            public_url: &self.public_url,
            password_reset_timeout: self.password_reset_timeout,
            email_confirmation_timeout: self.email_confirmation_timeout,
        }
    }
}
