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
        "password_changed.txt",
        include_str!("../../templates/mail/password_changed.txt"),
    ),
    (
        "password_changed.html",
        include_str!("../../templates/mail/password_changed.html"),
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

/// "Your password was changed" (after a change on the profile or through the API).
#[derive(Serialize)]
pub struct PasswordChanged<'a> {
    /// The product's name (`SITE_NAME`).
    pub site_name: &'a str,
    /// The account's username.
    pub username: &'a str,
    /// The sign-in page, from `PUBLIC_URL`.
    pub sign_in_url: &'a str,
}

impl PasswordChanged<'_> {
    /// The message to `to`.
    pub fn message(&self, to: &str) -> Result<Message, minijinja::Error> {
        let subject = format!("[{}] Your password was changed", self.site_name);
        render("password_changed", to, subject, self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_changed_says_why_and_what_to_do() {
        let message = PasswordChanged {
            site_name: "Acme <Auth>",
            username: "ada",
            sign_in_url: "https://auth.example.com/signin",
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
