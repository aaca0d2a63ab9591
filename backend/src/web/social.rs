//! Social sign-in in the browser: `/auth/{provider}/start` → provider →
//! `/auth/{provider}/callback` (authorization code + PKCE S256, `state` bound to this
//! browser's session and single-use, `nonce` checked in the verified ID token), plus
//! unlinking from the profile page and the "sign in with your password to link" step. The
//! protocol work itself is `social`'s.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use oauth2::{CsrfToken, PkceCodeChallenge, Scope};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::feedback::{FormInput, TRY_AGAIN};
use super::next::{safe_next, sign_in_url, AFTER_SIGN_IN};
use super::profile::confirmed_fields;
use super::redirect::{see_other, see_other_with};
use super::WebError;
use crate::accounts;
use crate::auth::sign_ins::{Channel, SignInOrigin};
use crate::browser::flash::Flash;
use crate::client::Client;
use crate::social::identities::{self, Resolution, Unlink};
use crate::social::{self as domain, CodeGrant, ExternalProfile, Provider, SocialError};
use crate::state::AppState;
use crate::users::User;

const PENDING: &str = "social_pending";
const LINK_OFFER: &str = "social_link_offer";
/// How long the person may take at the provider.
const PENDING_TTL_SECS: i64 = 600;

/// One started flow, bound to this browser's session; taken (and so spent) by the callback.
#[derive(Serialize, Deserialize)]
struct Pending {
    provider: String,
    state: String,
    nonce: String,
    verifier: String,
    next: Option<String>,
    link_to: Option<i64>,
    /// `(user id, sign-in id)` of a signed-in user confirming who they are (accounts
    /// without a password, before a sensitive action).
    #[serde(default)]
    reauth: Option<(i64, String)>,
    started: i64,
}

/// A verified identity whose email belongs to a local account: linked once the person
/// signs in to that account with its password.
#[derive(Serialize, Deserialize)]
struct LinkOffer {
    provider: String,
    label: String,
    profile: ExternalProfile,
    offered: i64,
}

#[derive(Deserialize)]
pub struct StartQuery {
    next: Option<String>,
    #[serde(default)]
    link: Option<String>,
    /// Present: a signed-in user confirms who they are with a provider linked to them.
    #[serde(default)]
    reauth: Option<String>,
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

fn redirect_uri(state: &AppState, provider: &str) -> String {
    domain::redirect_uri(&state.config.public_url, provider)
}

fn failed(state: &AppState, to: &str, message: String) -> Response {
    crate::metrics::sign_in_refused("social", "failed");
    see_other_with(
        state,
        to,
        &Flash {
            form: "signin".into(),
            notice: Some(message),
            ..Flash::default()
        },
    )
}

/// `GET /auth/{provider}/start`: a link, not a form, so that the redirect to the provider
/// is not a cross-origin form submission (which the CSP's `form-action 'self'` forbids).
pub async fn start(
    State(state): State<AppState>,
    Path(provider_id): Path<String>,
    Query(query): Query<StartQuery>,
    session: Session,
) -> Response {
    let Some(provider) = state.social.get(&provider_id) else {
        return failed(&state, "/signin", SocialError::UnknownProvider.message(""));
    };
    let label = provider.config().label.clone();
    let (link_to, reauth) = if query.link.is_some() || query.reauth.is_some() {
        match state.browser.sessions.current(&session).await {
            // Only accounts without a password confirm with a provider: the others type it.
            Ok(Some(current)) if query.reauth.is_some() => {
                if current.user.password_hash.is_some() {
                    return see_other("/profile");
                }
                (None, Some((current.user.id, current.signed_in.sid)))
            }
            Ok(Some(current)) => (Some(current.user.id), None),
            _ => return see_other(&sign_in_url("/profile")),
        }
    } else {
        (None, None)
    };
    let client = match provider.client(&redirect_uri(&state, &provider_id)).await {
        Ok(client) => client,
        Err(error) => {
            tracing::warn!(provider = provider_id, %error, "social sign-in: cannot start");
            return failed(&state, "/signin", error.message(&label));
        }
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let nonce = CsrfToken::new_random();
    let mut request = client
        .authorize_url(CsrfToken::new_random)
        .set_pkce_challenge(challenge);
    for scope in provider.scopes() {
        request = request.add_scope(Scope::new((*scope).to_owned()));
    }
    if matches!(*provider, Provider::Oidc(_)) {
        request = request.add_extra_param("nonce", nonce.secret());
        if reauth.is_some() {
            // A proof of identity must be fresh: the provider asks again even when the
            // browser is still signed in there (OIDC Core 3.1.2.1).
            request = request
                .add_extra_param("prompt", "login")
                .add_extra_param("max_age", "0");
        }
    }
    let (url, csrf) = request.url();
    let pending = Pending {
        provider: provider_id,
        state: csrf.secret().clone(),
        nonce: nonce.secret().clone(),
        verifier: verifier.secret().clone(),
        next: safe_next(query.next.as_deref()).map(str::to_owned),
        link_to,
        reauth,
        started: Utc::now().timestamp(),
    };
    if let Err(error) = session.insert(PENDING, pending).await {
        tracing::error!(%error, "social sign-in: session store");
        return failed(&state, "/signin", SocialError::BadState.message(&label));
    }
    see_other(url.as_str())
}

/// Constant-time comparison of the `state` values.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// `GET /auth/{provider}/callback`.
pub async fn callback(
    State(state): State<AppState>,
    Path(provider_id): Path<String>,
    Query(query): Query<CallbackQuery>,
    client: Client,
    session: Session,
) -> Response {
    let Some(provider) = state.social.get(&provider_id) else {
        return failed(&state, "/signin", SocialError::UnknownProvider.message(""));
    };
    let label = provider.config().label.clone();
    // Taken whatever happens next: a state is good for one callback only.
    let pending: Option<Pending> = session.remove(PENDING).await.ok().flatten();
    let now = Utc::now().timestamp();
    let pending = pending.filter(|p| {
        p.provider == provider_id
            && now - p.started <= PENDING_TTL_SECS
            && query.state.as_deref().is_some_and(|s| same(s, &p.state))
    });
    let Some(pending) = pending else {
        tracing::warn!(
            provider = provider_id,
            "social sign-in: bad or missing state"
        );
        return failed(&state, "/signin", SocialError::BadState.message(&label));
    };
    let back = if pending.link_to.is_some() {
        "/profile"
    } else {
        "/signin"
    };
    if let Some(error) = &query.error {
        let error = SocialError::Denied(format!(
            "{error}: {}",
            query.error_description.as_deref().unwrap_or_default()
        ));
        tracing::info!(provider = provider_id, %error, "social sign-in: provider error");
        return failed(&state, back, error.message(&label));
    }
    let Some(code) = query.code.as_deref() else {
        return failed(&state, back, SocialError::BadState.message(&label));
    };
    let grant = CodeGrant {
        code,
        redirect_uri: &redirect_uri(&state, &pending.provider),
        pkce_verifier: Some(&pending.verifier),
        nonce: Some(&pending.nonce),
    };
    let profile = match state.social.exchange_code(&provider, grant).await {
        Ok(profile) => profile,
        Err(error) => {
            tracing::warn!(provider = provider_id, %error, "social sign-in refused");
            return failed(&state, back, error.message(&label));
        }
    };

    if let Some((user_id, sid)) = &pending.reauth {
        return confirm_identity(&state, &provider_id, &label, &profile, *user_id, sid).await;
    }
    // The provider's word on a second factor counts only for an identity linked before
    // this sign-in (by the account's owner), never for one linked by it.
    let already_linked = matches!(
        identities::owner(&state.db, &provider_id, &profile.subject).await,
        Ok(Some(_))
    );
    let resolution = identities::resolve(
        &state.db,
        &provider_id,
        &label,
        &profile,
        pending.link_to,
        &client,
    )
    .await;
    match resolution {
        Ok(Resolution::SignIn(user)) => {
            let origin = SignInOrigin::new(provider_id, Channel::Browser, &client)
                .with_provider_mfa(profile.mfa_asserted && already_linked);
            sign_in(&state, &session, &user, &origin, pending.next).await
        }
        Ok(Resolution::Linked(_)) => see_other_with(
            &state,
            "/profile",
            &Flash {
                form: "profile".into(),
                notice: Some(format!("{label} is now linked to your account.")),
                ..Flash::default()
            },
        ),
        Ok(Resolution::ConfirmWithPassword { email }) => {
            let offer = LinkOffer {
                provider: provider_id,
                label: label.clone(),
                profile,
                offered: now,
            };
            if session.insert(LINK_OFFER, offer).await.is_err() {
                return failed(&state, "/signin", SocialError::BadState.message(&label));
            }
            see_other_with(
                &state,
                "/signin",
                &Flash {
                    form: "signin".into(),
                    notice: Some(format!(
                        "An account with the email {email} already exists. Sign in with its \
                         password to link {label} to it."
                    )),
                    values: [("username".to_owned(), email)].into_iter().collect(),
                    ..Flash::default()
                },
            )
        }
        Ok(Resolution::Refused(message)) => failed(&state, back, message),
        Err(error) => {
            tracing::error!(%error, "social sign-in: database");
            failed(&state, back, TRY_AGAIN.into())
        }
    }
}

async fn sign_in(
    state: &AppState,
    session: &Session,
    user: &User,
    origin: &SignInOrigin,
    next: Option<String>,
) -> Response {
    let pair = match accounts::begin_sign_in(&state.db, &state.tokens, user, origin, None).await {
        Ok(accounts::SignInStep::Complete(pair)) => pair,
        Ok(accounts::SignInStep::SecondFactor(challenge)) => {
            return super::second_factor::ask(state, session, challenge, next).await
        }
        Err(error) => {
            tracing::error!(%error, "social sign-in: tokens");
            return failed(state, "/signin", TRY_AGAIN.into());
        }
    };
    if let Err(error) = state
        .browser
        .sessions
        .start(session, user.id, pair, &origin.client)
        .await
    {
        tracing::error!(%error, "social sign-in: session");
        return failed(state, "/signin", TRY_AGAIN.into());
    }
    see_other(next.as_deref().unwrap_or(AFTER_SIGN_IN))
}

/// The end of a social re-authentication: the provider's account must be the one linked to
/// the signed-in user; then their sign-in counts as freshly proved (`REAUTH_MAX_AGE`).
async fn confirm_identity(
    state: &AppState,
    provider_id: &str,
    label: &str,
    profile: &ExternalProfile,
    user_id: i64,
    sid: &str,
) -> Response {
    let owner = match identities::owner(&state.db, provider_id, &profile.subject).await {
        Ok(owner) => owner,
        Err(error) => {
            tracing::error!(%error, "social re-authentication: database");
            return failed(state, "/profile", TRY_AGAIN.into());
        }
    };
    if owner != Some(user_id) {
        let notice = format!("That {label} account is not the one linked to this account.");
        return see_other_with(state, "/profile", &Flash::notice(notice));
    }
    let now = Utc::now().timestamp();
    match accounts::mark_authenticated(&state.db, sid, user_id, now).await {
        Ok(true) => see_other_with(
            state,
            "/profile",
            &Flash {
                form: "reauth".into(),
                notice: Some(format!(
                    "Thank you. For the next {} you can make sensitive changes.",
                    super::account::reauth_window(state)
                )),
                ..Flash::default()
            },
        ),
        Ok(false) => see_other(&sign_in_url("/profile")),
        Err(error) => {
            tracing::error!(%error, "social re-authentication: database");
            failed(state, "/profile", TRY_AGAIN.into())
        }
    }
}

/// After a password sign-in: links the identity offered by a previous social sign-in when
/// the account signed into is the one with that email. Returns what to tell the user.
pub async fn accept_link_offer(
    state: &AppState,
    session: &Session,
    user: &User,
    client: &Client,
) -> Option<String> {
    let offer: LinkOffer = session.remove(LINK_OFFER).await.ok().flatten()?;
    let fresh = Utc::now().timestamp() - offer.offered <= PENDING_TTL_SECS;
    let same_email = match (&offer.profile.email, &user.email) {
        (Some(a), Some(b)) => crate::users::identity_key(a) == crate::users::identity_key(b),
        _ => false,
    };
    if !(fresh && same_email && offer.profile.email_verified) {
        return None;
    }
    match identities::link(&state.db, user.id, &offer.provider, &offer.profile, client).await {
        Ok(true) => Some(format!("{} is now linked to your account.", offer.label)),
        Ok(false) => Some(format!(
            "{} could not be linked: another account of yours is already linked.",
            offer.label
        )),
        Err(error) => {
            tracing::error!(%error, "linking after password sign-in");
            None
        }
    }
}

/// `POST /profile/identities/{provider}/unlink`.
pub async fn unlink(
    State(state): State<AppState>,
    Path(provider_id): Path<String>,
    client: Client,
    session: Session,
    form: FormInput,
) -> Response {
    let current = match state.browser.sessions.current(&session).await {
        Ok(Some(current)) => current,
        Ok(None) => return see_other(&sign_in_url("/profile")),
        Err(error) => return WebError::from(error).into_response(),
    };
    // A sensitive change: confirmed by the password sent with it, or a recent sign-in.
    if let Err(redirect) = confirmed_fields(&state, &client, &current, "profile", form).await {
        return redirect;
    }
    let label = state
        .social
        .get(&provider_id)
        .map(|p| p.config().label.clone())
        .unwrap_or_else(|| provider_id.clone());
    let notice = match identities::unlink(&state.db, &current.user, &provider_id, &client).await {
        Ok(Unlink::Done) => format!("{label} is no longer linked."),
        Ok(Unlink::NotLinked) => format!("{label} was not linked."),
        Ok(Unlink::LastWayIn) => format!(
            "{label} is the only way to sign in to this account; link another provider first."
        ),
        Err(error) => {
            tracing::error!(%error, "unlink");
            TRY_AGAIN.into()
        }
    };
    see_other_with(
        &state,
        "/profile",
        &Flash {
            form: "profile".into(),
            notice: Some(notice),
            ..Flash::default()
        },
    )
}
