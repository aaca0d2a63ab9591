//! The messages' templates, kept as files in `backend/templates/mail/` (`<name>.txt` and
//! `<name>.html`, rendered with `minijinja`; the HTML part is auto-escaped) and compiled
//! into the binary, so a deployment is still one file.

use std::sync::OnceLock;

use minijinja::Environment;
use serde::Serialize;

use super::Message;

/// Every template, by file name.
const TEMPLATES: &[(&str, &str)] = &[
    (
        "second_factor_changed.txt",
        include_str!("../../templates/mail/second_factor_changed.txt"),
    ),
    (
        "second_factor_changed.html",
        include_str!("../../templates/mail/second_factor_changed.html"),
    ),
    (
        "password_changed.txt",
        include_str!("../../templates/mail/password_changed.txt"),
    ),
    (
        "password_changed.html",
        include_str!("../../templates/mail/password_changed.html"),
    ),
    (
        "password_reset.txt",
        include_str!("../../templates/mail/password_reset.txt"),
    ),
    (
        "password_reset.html",
        include_str!("../../templates/mail/password_reset.html"),
    ),
    (
        "verify_email.txt",
        include_str!("../../templates/mail/verify_email.txt"),
    ),
    (
        "verify_email.html",
        include_str!("../../templates/mail/verify_email.html"),
    ),
    (
        "email_changed.txt",
        include_str!("../../templates/mail/email_changed.txt"),
    ),
    (
        "email_changed.html",
        include_str!("../../templates/mail/email_changed.html"),
    ),
    (
        "email_change_requested.txt",
        include_str!("../../templates/mail/email_change_requested.txt"),
    ),
    (
        "email_change_requested.html",
        include_str!("../../templates/mail/email_change_requested.html"),
    ),
    (
        "address_in_use.txt",
        include_str!("../../templates/mail/address_in_use.txt"),
    ),
    (
        "address_in_use.html",
        include_str!("../../templates/mail/address_in_use.html"),
    ),
];

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .expect("the bundled mail templates parse");
        }
        env
    })
}

/// Renders `<name>.txt` and `<name>.html` with `context` into a message to `to`.
///
/// Errors: a template that refers to something `context` lacks (a bug, caught by the
/// unit tests of each message).
pub fn render(
    name: &str,
    to: &str,
    subject: String,
    context: impl Serialize,
) -> Result<Message, minijinja::Error> {
    let env = environment();
    let context = minijinja::Value::from_serialize(&context);
    let text = env.get_template(&format!("{name}.txt"))?.render(&context)?;
    let html = env
        .get_template(&format!("{name}.html"))?
        .render(&context)?;
    Ok(Message {
        to: to.to_owned(),
        subject,
        text,
        html,
    })
}

/// A duration in words for a message ("1 hour", "3 days", "90 minutes").
pub fn in_words(duration: std::time::Duration) -> String {
    let secs = duration.as_secs();
    let (n, unit) = if secs.is_multiple_of(86_400) && secs >= 86_400 {
        (secs / 86_400, "day")
    } else if secs.is_multiple_of(3600) && secs >= 3600 {
        (secs / 3600, "hour")
    } else {
        (secs.div_ceil(60).max(1), "minute")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// "Your password was changed" (after a change on the profile, through the API, or a reset).
#[derive(Serialize)]
pub struct PasswordChanged<'a> {
    /// The product's name (`SITE_NAME`).
    pub site_name: &'a str,
    /// The account's username.
    pub username: &'a str,
    /// The "forgot your password" page, from `PUBLIC_URL`.
    pub reset_url: &'a str,
}

impl PasswordChanged<'_> {
    /// The message to `to`.
    pub fn message(&self, to: &str) -> Result<Message, minijinja::Error> {
        let subject = format!("[{}] Your password was changed", self.site_name);
        render("password_changed", to, subject, self)
    }
}

/// "Two-factor sign-in changed": a second factor added or removed, a recovery code used,
/// new recovery codes made.
#[derive(Serialize)]
pub struct SecondFactorChanged<'a> {
    /// The product's name (`SITE_NAME`).
    pub site_name: &'a str,
    /// The account's username.
    pub username: &'a str,
    /// What happened, as the end of a sentence: `an authenticator app was added`.
    pub change: &'a str,
    /// The "forgot your password" page, from `PUBLIC_URL`.
    pub reset_url: &'a str,
    /// The profile page, where the factors are listed.
    pub profile_url: &'a str,
}

impl SecondFactorChanged<'_> {
    /// The message to `to`.
    pub fn message(&self, to: &str) -> Result<Message, minijinja::Error> {
        let subject = format!("[{}] Two-factor sign-in changed", self.site_name);
        render("second_factor_changed", to, subject, self)
    }
}

/// The password reset link.
#[derive(Serialize)]
pub struct PasswordReset<'a> {
    /// The product's name (`SITE_NAME`).
    pub site_name: &'a str,
    /// The account's username.
    pub username: &'a str,
    /// `PUBLIC_URL/password-reset/confirm/{uid}/{token}/`.
    pub reset_url: &'a str,
    /// How long the link works, in words (see [`in_words`]).
    pub valid_for: &'a str,
}

impl PasswordReset<'_> {
    /// The message to `to`.
    pub fn message(&self, to: &str) -> Result<Message, minijinja::Error> {
        let subject = format!("[{}] Reset your password", self.site_name);
        render("password_reset", to, subject, self)
    }
}

/// The link that verifies an address: the account's own (`change: false`), or the one it
/// is moving to (`change: true`).
#[derive(Serialize)]
pub struct VerifyEmail<'a> {
    /// The product's name (`SITE_NAME`).
    pub site_name: &'a str,
    /// The account's username.
    pub username: &'a str,
    /// `PUBLIC_URL/verify-email/{key}`.
    pub confirm_url: &'a str,
    /// How long the link works, in words (see [`in_words`]).
    pub valid_for: &'a str,
    /// Whether the address is to replace the account's current one.
    pub change: bool,
}

impl VerifyEmail<'_> {
    /// The message to `to`.
    pub fn message(&self, to: &str) -> Result<Message, minijinja::Error> {
        let subject = format!("[{}] Please confirm your e-mail address", self.site_name);
        render("verify_email", to, subject, self)
    }
}

/// To the previous address, after the account moved to a new one.
#[derive(Serialize)]
pub struct EmailChanged<'a> {
    /// The product's name (`SITE_NAME`).
    pub site_name: &'a str,
    /// The account's username.
    pub username: &'a str,
    /// The account's address now.
    pub new_email: &'a str,
    /// The sign-in page, from `PUBLIC_URL`.
    pub sign_in_url: &'a str,
}

impl EmailChanged<'_> {
    /// The message to `to` (the previous address).
    pub fn message(&self, to: &str) -> Result<Message, minijinja::Error> {
        let subject = format!("[{}] Your e-mail address was changed", self.site_name);
        render("email_changed", to, subject, self)
    }
}

/// To the current address, when a change to another one is asked for (before it happens).
#[derive(Serialize)]
pub struct EmailChangeRequested<'a> {
    /// The product's name (`SITE_NAME`).
    pub site_name: &'a str,
    /// The account's username.
    pub username: &'a str,
    /// The address the account is to move to.
    pub new_email: &'a str,
    /// The "forgot your password" page, from `PUBLIC_URL` (a reset cancels the change).
    pub reset_url: &'a str,
}

impl EmailChangeRequested<'_> {
    /// The message to `to` (the current address).
    pub fn message(&self, to: &str) -> Result<Message, minijinja::Error> {
        let subject = format!(
            "[{}] A change of your e-mail address was requested",
            self.site_name
        );
        render("email_change_requested", to, subject, self)
    }
}

/// To an account's address, when someone tried to sign up with it, or to move another
/// account to it (`change`): sent instead of an answer that would reveal the account.
#[derive(Serialize)]
pub struct AddressInUse<'a> {
    /// The product's name (`SITE_NAME`).
    pub site_name: &'a str,
    /// The username of the account that has the address.
    pub username: &'a str,
    /// The sign-in page, from `PUBLIC_URL`.
    pub sign_in_url: &'a str,
    /// The "forgot your password" page, from `PUBLIC_URL`.
    pub reset_url: &'a str,
    /// An address change rather than a sign-up.
    pub change: bool,
}

impl AddressInUse<'_> {
    /// The message to `to`.
    pub fn message(&self, to: &str) -> Result<Message, minijinja::Error> {
        let what = if self.change {
            "Someone tried to use your address"
        } else {
            "Your address was used to sign up"
        };
        let subject = format!("[{}] {what}", self.site_name);
        render("address_in_use", to, subject, self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_words() {
        use std::time::Duration;
        assert_eq!(in_words(Duration::from_secs(3600)), "1 hour");
        assert_eq!(in_words(Duration::from_secs(3 * 86_400)), "3 days");
        assert_eq!(in_words(Duration::from_secs(5400)), "90 minutes");
        assert_eq!(in_words(Duration::from_secs(61)), "2 minutes");
    }

    #[test]
    fn every_message_renders_its_link_and_reason() {
        let link = "https://auth.example.com/x/abc/";
        let messages = [
            PasswordReset {
                site_name: "Acme",
                username: "ada",
                reset_url: link,
                valid_for: "1 hour",
            }
            .message("ada@example.com")
            .unwrap(),
            VerifyEmail {
                site_name: "Acme",
                username: "ada",
                confirm_url: link,
                valid_for: "3 days",
                change: false,
            }
            .message("ada@example.com")
            .unwrap(),
            VerifyEmail {
                site_name: "Acme",
                username: "ada",
                confirm_url: link,
                valid_for: "3 days",
                change: true,
            }
            .message("new@example.com")
            .unwrap(),
            AddressInUse {
                site_name: "Acme",
                username: "ada",
                sign_in_url: link,
                reset_url: link,
                change: false,
            }
            .message("ada@example.com")
            .unwrap(),
            EmailChanged {
                site_name: "Acme",
                username: "ada",
                new_email: "new@example.com",
                sign_in_url: link,
            }
            .message("ada@example.com")
            .unwrap(),
            EmailChangeRequested {
                site_name: "Acme",
                username: "ada",
                new_email: "new@example.com",
                reset_url: link,
            }
            .message("ada@example.com")
            .unwrap(),
        ];
        for message in messages {
            assert!(
                message.subject.starts_with("[Acme] "),
                "{}",
                message.subject
            );
            assert!(message.text.contains(link), "{}", message.text);
            assert!(message.text.contains("You received this message because"));
            assert!(message
                .html
                .contains("href=\"https:&#x2f;&#x2f;auth.example.com"));
        }
    }

    #[test]
    fn second_factor_change_says_what_and_what_to_do() {
        let message = SecondFactorChanged {
            site_name: "Acme",
            username: "ada",
            change: "an authenticator app was added",
            reset_url: "https://auth.example.com/password-reset",
            profile_url: "https://auth.example.com/profile",
        }
        .message("ada@example.com")
        .unwrap();
        assert_eq!(message.subject, "[Acme] Two-factor sign-in changed");
        assert!(message
            .text
            .contains("changed: an authenticator app was added."));
        assert!(message.text.contains("https://auth.example.com/profile"));
        assert!(message.html.contains("an authenticator app was added"));
    }

    #[test]
    fn password_changed_says_why_and_what_to_do() {
        let message = PasswordChanged {
            site_name: "Acme <Auth>",
            username: "ada",
            reset_url: "https://auth.example.com/signin",
        }
        .message("ada@example.com")
        .unwrap();
        assert_eq!(message.subject, "[Acme <Auth>] Your password was changed");
        assert!(message.text.contains("Hello ada,"));
        assert!(message.text.contains("https://auth.example.com/signin"));
        assert!(message.text.contains("If it was not you"));
        // The HTML part escapes what it shows.
        assert!(
            message.html.contains("Acme &lt;Auth&gt;"),
            "{}",
            message.html
        );
        // (minijinja's HTML escaping also writes `/` as `&#x2f;`; browsers read it back.)
        assert!(
            message
                .html
                .contains("href=\"https:&#x2f;&#x2f;auth.example.com&#x2f;signin\""),
            "{}",
            message.html
        );
    }
}
