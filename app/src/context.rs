//! What a page knows about its request: the signed-in user and the feedback of the form
//! posted just before. Worked out on the server by `backend::web::page_context` (which also
//! redirects protected pages) and read here while rendering.

use std::collections::BTreeMap;

/// The signed-in user, as the pages show them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Viewer {
    pub id: i64,
    pub username: String,
    pub email: Option<String>,
    /// Whether `email` is confirmed (a followed link, or a provider vouched for it).
    pub email_verified: bool,
    pub first_name: String,
    pub last_name: String,
    /// Already formatted (UTC), e.g. `24 Nov 2026, 05:24 UTC`.
    pub date_joined: String,
    /// False for accounts created through a social provider.
    pub has_password: bool,
    /// Whether the staff pages (`/admin`) are open to them.
    pub is_staff: bool,
}

/// One-shot feedback after a form post: field errors, values to show again, a notice.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Feedback {
    pub form: String,
    pub errors: BTreeMap<String, Vec<String>>,
    pub values: BTreeMap<String, String>,
    pub notice: Option<String>,
}

impl Feedback {
    /// The feedback addressed to `form` (empty otherwise).
    pub fn for_form(form: &str) -> Feedback {
        feedback().filter(|f| f.form == form).unwrap_or_default()
    }

    pub fn errors(&self, field: &str) -> Vec<String> {
        self.errors.get(field).cloned().unwrap_or_default()
    }

    pub fn value(&self, field: &str) -> Option<String> {
        self.values.get(field).cloned()
    }
}

#[cfg(feature = "ssr")]
pub(crate) fn page_context() -> Option<backend::web::PageContext> {
    let parts = leptos::prelude::use_context::<http::request::Parts>()?;
    parts.extensions.get::<backend::web::PageContext>().cloned()
}

/// The signed-in user, if any.
pub fn viewer() -> Option<Viewer> {
    #[cfg(feature = "ssr")]
    {
        let user = page_context()?.user?;
        Some(Viewer {
            id: user.id,
            username: user.username.clone(),
            email: user.email.clone().filter(|e| !e.is_empty()),
            email_verified: user.email_verified,
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            date_joined: user.date_joined.format("%-d %b %Y, %H:%M UTC").to_string(),
            has_password: user.password_hash.is_some(),
            is_staff: user.is_staff,
        })
    }
    // Pages render on the server only; islands get what they need as props.
    #[cfg(not(feature = "ssr"))]
    None
}

/// The previous form's feedback, if any.
pub fn feedback() -> Option<Feedback> {
    #[cfg(feature = "ssr")]
    {
        let flash = page_context()?.flash?;
        Some(Feedback {
            form: flash.form,
            errors: flash.errors,
            values: flash.values,
            notice: flash.notice,
        })
    }
    #[cfg(not(feature = "ssr"))]
    None
}

/// The configured social sign-in providers, `(id, label)`.
pub fn providers() -> Vec<(String, String)> {
    #[cfg(feature = "ssr")]
    {
        page_context().map(|c| c.providers).unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    Vec::new()
}

/// The providers linked to the signed-in user (profile page).
pub fn linked_providers() -> Vec<String> {
    #[cfg(feature = "ssr")]
    {
        page_context().map(|c| c.linked).unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    Vec::new()
}

/// On a mailed link's page: whether the link still works (`None` elsewhere).
pub fn link_live() -> Option<bool> {
    #[cfg(feature = "ssr")]
    {
        page_context()?.link_live
    }
    #[cfg(not(feature = "ssr"))]
    None
}

/// Whether sign-up requires an address (mandatory verification).
pub fn email_required() -> bool {
    #[cfg(feature = "ssr")]
    {
        page_context().is_some_and(|c| c.email_required)
    }
    #[cfg(not(feature = "ssr"))]
    false
}

/// One live sign-in of the viewer, as "Where you're signed in" lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignInRow {
    /// The sign-in's id (what the "Sign out" form posts).
    pub id: String,
    /// `Firefox on Linux`, `API client`, ...
    pub device: String,
    /// How it started: `Password`, `Sign-up`, the provider's label, ...
    pub method: String,
    /// `Browser` or `API`.
    pub channel: String,
    /// When it started, e.g. `24 Nov 2026, 05:24 UTC`.
    pub started: String,
    /// When it was last used, in words (`2 minutes ago`).
    pub last_used: String,
    /// The IP address at last use, and at sign-in when that differs.
    pub ip: String,
    /// Whether this is the browser showing the page.
    pub current: bool,
}

/// How long ago `then` was at `now` (Unix seconds), in words: `just now`, `5 minutes ago`,
/// `3 hours ago`, `2 days ago`.
pub fn ago(now: i64, then: i64) -> String {
    let secs = (now - then).max(0);
    let (n, unit) = match secs {
        0..=59 => return "just now".into(),
        60..=3_599 => (secs / 60, "minute"),
        3_600..=86_399 => (secs / 3_600, "hour"),
        _ => (secs / 86_400, "day"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

/// The viewer's live sign-ins, most recently used first (profile page).
pub fn sign_ins() -> Vec<SignInRow> {
    #[cfg(feature = "ssr")]
    {
        let Some(context) = page_context() else {
            return Vec::new();
        };
        let now = chrono::Utc::now().timestamp();
        let label = |method: &str| match method {
            "password" => "Password".to_owned(),
            "passkey" => "Passkey".to_owned(),
            "registration" => "Sign-up".to_owned(),
            "unknown" => "Unknown".to_owned(),
            provider => context
                .providers
                .iter()
                .find(|(id, _)| id == provider)
                .map_or_else(|| provider.to_owned(), |(_, label)| label.clone()),
        };
        context
            .sign_ins
            .iter()
            .map(|s| SignInRow {
                id: s.id.clone(),
                device: if s.user_agent.is_empty() {
                    "Unknown device".into()
                } else {
                    s.user_agent.clone()
                },
                method: label(&s.method),
                channel: match s.channel.as_str() {
                    "browser" => "Browser".into(),
                    "api" => "API".into(),
                    _ => "Unknown".into(),
                },
                started: s.created_at.format("%-d %b %Y, %H:%M UTC").to_string(),
                last_used: ago(now, s.last_used_at.timestamp()),
                ip: match (&s.ip, &s.created_ip) {
                    (Some(last), Some(first)) if last != first => {
                        format!("{last} (signed in from {first})")
                    }
                    (Some(ip), _) | (None, Some(ip)) => ip.clone(),
                    (None, None) => "unknown".into(),
                },
                current: context.current_sign_in.as_deref() == Some(s.id.as_str()),
            })
            .collect()
    }
    #[cfg(not(feature = "ssr"))]
    Vec::new()
}

/// Whether the viewer's sign-in proved who is behind it recently enough for sensitive
/// actions without the password (profile page).
pub fn reauth_recent() -> bool {
    #[cfg(feature = "ssr")]
    {
        page_context().is_some_and(|c| c.reauth_recent)
    }
    #[cfg(not(feature = "ssr"))]
    false
}

/// The viewer's second factors, as the profile shows them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MfaStatus {
    /// When the authenticator app was set up (`24 Nov 2026, 05:24 UTC`); `None`: no app.
    pub totp_since: Option<String>,
    /// When a code from it last signed in, in words; `None`: never.
    pub totp_last_used: Option<String>,
    /// Unused recovery codes; `None`: no set.
    pub recovery_codes_left: Option<usize>,
    /// The passkeys, oldest first.
    pub passkeys: Vec<PasskeyView>,
}

/// One passkey, as the profile lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasskeyView {
    /// What its remove form posts to.
    pub id: i64,
    /// Its owner's name for it.
    pub name: String,
    /// When it was added (`24 Nov 2026, 05:24 UTC`).
    pub added: String,
    /// When it last signed in, in words; `None`: never.
    pub last_used: Option<String>,
}

impl MfaStatus {
    /// Whether sign-in asks for a second factor.
    pub fn enabled(&self) -> bool {
        self.totp_since.is_some() || self.recovery_codes_left.is_some() || !self.passkeys.is_empty()
    }

    /// Second factors besides recovery codes: removing the last one switches MFA off.
    pub fn strong_factors(&self) -> usize {
        usize::from(self.totp_since.is_some()) + self.passkeys.len()
    }
}

/// Whether passkeys work on this deployment (`PUBLIC_URL` is a domain name).
pub fn passkeys_enabled() -> bool {
    #[cfg(feature = "ssr")]
    {
        page_context().is_some_and(|c| c.passkeys_enabled)
    }
    #[cfg(not(feature = "ssr"))]
    false
}

/// On the second sign-in page: the account's second factors (`totp`, `webauthn`,
/// `recovery_codes`).
pub fn second_factor_methods() -> Vec<String> {
    #[cfg(feature = "ssr")]
    {
        page_context()
            .map(|c| c.second_factor_methods)
            .unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    Vec::new()
}

/// The viewer's second factors (profile page).
pub fn mfa_status() -> MfaStatus {
    #[cfg(feature = "ssr")]
    {
        use chrono::TimeZone;
        let Some(overview) = page_context().and_then(|c| c.mfa) else {
            return MfaStatus::default();
        };
        let now = chrono::Utc::now().timestamp();
        let date = |secs: i64| {
            chrono::Utc
                .timestamp_opt(secs, 0)
                .single()
                .map(|t| t.format("%-d %b %Y, %H:%M UTC").to_string())
                .unwrap_or_default()
        };
        MfaStatus {
            totp_since: overview.totp.map(|(created, _)| date(created)),
            totp_last_used: overview
                .totp
                .and_then(|(_, used)| used)
                .map(|u| ago(now, u)),
            recovery_codes_left: overview.recovery_codes_left,
            passkeys: overview
                .passkeys
                .into_iter()
                .map(|p| PasskeyView {
                    id: p.id,
                    name: p.name,
                    added: date(p.created_at),
                    last_used: p.last_used_at.map(|u| ago(now, u)),
                })
                .collect(),
        }
    }
    #[cfg(not(feature = "ssr"))]
    MfaStatus::default()
}

/// An authenticator-app set-up in progress, as its page shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TotpSetupView {
    /// The secret, base32 in groups of four.
    pub secret: String,
    /// The `otpauth://` URI (a link for phones, where the app is on the same device).
    pub otpauth_uri: String,
    /// The QR code, an SVG document drawn by the server.
    pub qr_svg: String,
}

/// The set-up this browser started (its page only).
pub fn totp_setup() -> Option<TotpSetupView> {
    #[cfg(feature = "ssr")]
    {
        let setup = page_context()?.totp_setup?;
        Some(TotpSetupView {
            secret: setup.secret,
            otpauth_uri: setup.otpauth_uri,
            qr_svg: setup.qr_svg,
        })
    }
    #[cfg(not(feature = "ssr"))]
    None
}

/// Recovery codes just made, shown this once (their page only).
pub fn fresh_recovery_codes() -> Option<Vec<String>> {
    #[cfg(feature = "ssr")]
    {
        page_context()?.fresh_recovery_codes
    }
    #[cfg(not(feature = "ssr"))]
    None
}

/// One security event of the viewer, in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActivityRow {
    /// What happened: `Signed in with GitHub`, `Failed sign-in attempt (wrong password)`.
    pub what: String,
    /// From where: `Firefox on Linux, 203.0.113.7`; empty when no request caused it.
    pub from: String,
    /// When, in words (`2 minutes ago`).
    pub when: String,
    /// When, exactly (`24 Nov 2026, 05:24:09 UTC`).
    pub at: String,
}

/// What a security event `kind` with `detail` was, for people; `label` names a provider.
pub fn describe_event(kind: &str, detail: Option<&str>, label: &dyn Fn(&str) -> String) -> String {
    let detail = detail.unwrap_or_default();
    match kind {
        "signed_in" => match detail {
            "password" => "Signed in with a password".into(),
            "passkey" => "Signed in with a passkey".into(),
            "registration" => "Signed up and signed in".into(),
            "" | "unknown" => "Signed in".into(),
            provider => format!("Signed in with {}", label(provider)),
        },
        "sign_in_failed" => match detail {
            "inactive" => "Failed sign-in attempt (the account is deactivated)".into(),
            "not_verified" => "Failed sign-in attempt (the address is not confirmed)".into(),
            "second_factor" => "Failed sign-in attempt (wrong second-factor code)".into(),
            _ => "Failed sign-in attempt (wrong password)".into(),
        },
        "signed_out" if detail == "signed in again" => {
            "Signed out (signed in again in the same browser)".into()
        }
        "signed_out" => "Signed out".into(),
        "sign_in_ended" => "Signed out another device".into(),
        "other_sign_ins_ended" => match detail {
            "1" => "Signed out everywhere else (1 sign-in)".into(),
            n => format!("Signed out everywhere else ({n} sign-ins)"),
        },
        "refresh_token_reuse" => {
            "A copied sign-in token was used again: that sign-in was ended".into()
        }
        "rate_limited" => {
            "Too many sign-in attempts: further attempts were refused for a while".into()
        }
        "password_changed" => "Changed the password".into(),
        "password_reset" => "Reset the password with a mailed link".into(),
        "email_verified" => "Confirmed the e-mail address".into(),
        "email_change_requested" => "Asked to change the e-mail address".into(),
        "email_changed" => "Changed the e-mail address".into(),
        "identity_linked" => format!("Linked {}", label(detail)),
        "identity_unlinked" => format!("Unlinked {}", label(detail)),
        "account_activated" => "An administrator reactivated the account".into(),
        "account_deactivated" => "An administrator deactivated the account".into(),
        "account_deleted" => "The account was deleted".into(),
        "profile_changed" => format!(
            "An administrator changed the profile ({})",
            detail.replace('_', " ").replace(',', ", ")
        ),
        "staff_granted" => "An administrator made the account staff".into(),
        "staff_revoked" => "An administrator removed the account from staff".into(),
        "password_reset_sent" => "An administrator sent a password-reset link".into(),
        "all_sign_ins_ended" => match detail {
            "1" => "An administrator ended every sign-in (1 sign-in)".into(),
            n => format!("An administrator ended every sign-in ({n} sign-ins)"),
        },
        "mfa_reset" => "An administrator removed the second factors".into(),
        "second_factor_added" => match detail {
            "webauthn" => "Added a passkey".into(),
            _ => "Set up an authenticator app".into(),
        },
        "second_factor_removed" => match detail {
            "webauthn" => "Removed a passkey".into(),
            _ => "Removed the authenticator app".into(),
        },
        "recovery_codes_regenerated" => "Made new recovery codes".into(),
        "recovery_code_used" => match detail {
            "1" => "Signed in with a recovery code (1 left)".into(),
            n => format!("Signed in with a recovery code ({n} left)"),
        },
        other => other.replace('_', " "),
    }
}

/// The viewer's latest security events, newest first (profile page).
pub fn activity() -> Vec<ActivityRow> {
    #[cfg(feature = "ssr")]
    {
        let Some(context) = page_context() else {
            return Vec::new();
        };
        let now = chrono::Utc::now().timestamp();
        let label = |id: &str| {
            context
                .providers
                .iter()
                .find(|(provider, _)| provider == id)
                .map_or_else(|| id.to_owned(), |(_, label)| label.clone())
        };
        context
            .activity
            .iter()
            .map(|e| ActivityRow {
                what: match e.kind.as_str() {
                    "sign_in_ended" if e.by_staff => "An administrator ended a sign-in".into(),
                    kind => describe_event(kind, e.detail.as_deref(), &label),
                },
                from: [e.user_agent.clone(), e.ip.clone()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(", "),
                when: ago(now, e.at.timestamp()),
                at: e.at.format("%-d %b %Y, %H:%M:%S UTC").to_string(),
            })
            .collect()
    }
    #[cfg(not(feature = "ssr"))]
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::{ago, describe_event};

    #[test]
    fn events_read_as_sentences() {
        let label = |id: &str| {
            if id == "github" {
                "GitHub".to_owned()
            } else {
                id.to_owned()
            }
        };
        assert_eq!(
            describe_event("signed_in", Some("github"), &label),
            "Signed in with GitHub"
        );
        assert_eq!(
            describe_event("sign_in_failed", Some("bad_credentials"), &label),
            "Failed sign-in attempt (wrong password)"
        );
        assert_eq!(
            describe_event("identity_unlinked", Some("github"), &label),
            "Unlinked GitHub"
        );
        assert_eq!(
            describe_event("other_sign_ins_ended", Some("2"), &label),
            "Signed out everywhere else (2 sign-ins)"
        );
        assert_eq!(describe_event("future_kind", None, &label), "future kind");
    }

    #[test]
    fn ago_reads_like_a_person() {
        assert_eq!(ago(100, 90), "just now");
        assert_eq!(ago(100, 200), "just now");
        assert_eq!(ago(120, 60), "1 minute ago");
        assert_eq!(ago(3_600 * 5 + 10, 0), "5 hours ago");
        assert_eq!(ago(86_400 * 2, 0), "2 days ago");
    }
}
