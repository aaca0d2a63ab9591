use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::components::form::{Field, FormMessages, SubmitButton};
use crate::components::passkey::PasskeyButton;
use crate::context::{passkeys_enabled, providers, Feedback};

#[component]
pub fn SignInPage() -> impl IntoView {
    let feedback = Feedback::for_form("signin");
    let next = use_query_map().with_untracked(|q| q.get("next"));
    let signup_href = "/signup";
    let next_param = next
        .as_deref()
        .map(|n| format!("?next={}", encode_next(n)))
        .unwrap_or_default();
    // Sign-in waits for a confirmed address: offer the link again, with the address if
    // that is what was typed.
    let unverified = feedback
        .errors("non_field_errors")
        .iter()
        .any(|e| e == NOT_VERIFIED);
    let typed = feedback.value("username").filter(|u| u.contains('@'));
    let resend_feedback = Feedback::for_form("resend");
    let resend = (unverified || resend_feedback != Feedback::default()).then(|| {
        let email = resend_feedback.value("email").or(typed);
        view! {
            <section class="stack" data-testid="resend-verification">
                <h2>"Confirm your address"</h2>
                <p class="muted">"Didn't get the link, or did it expire? We can send a new one."</p>
                <FormMessages feedback=resend_feedback.clone()/>
                <form method="post" action="/verify-email/resend" class="stack">
                    <Field name="email" label="Email" kind="email" autocomplete="email"
                        required=true value=email errors=resend_feedback.errors("email")/>
                    <SubmitButton label="Send the link again" pending="Sending…" secondary=true/>
                </form>
            </section>
        }
        .into_any()
    });
    let social = providers();
    let social = (!social.is_empty()).then(|| {
        view! {
            <div class="social" data-testid="social-buttons">
                <p class="divider"><span>"or"</span></p>
                {social
                    .into_iter()
                    .map(|(id, label)| {
                        let href = format!("/auth/{id}/start{next_param}");
                        view! {
                            <a class=format!("button secondary social-{id}") href=href>
                                {format!("Continue with {label}")}
                            </a>
                        }
                    })
                    .collect_view()}
            </div>
        }
    });
    view! {
        <Title text="Sign in · leptos-auth-starter"/>
        <section class="card narrow">
            <h1>"Sign in"</h1>
            <FormMessages feedback=feedback.clone()/>
            <form method="post" action="/signin" class="stack" data-testid="signin-form">
                {next.clone().map(|next| view! { <input type="hidden" name="next" value=next/> })}
                // `webauthn`: the browser may offer this site's passkeys as suggestions here.
                <Field name="username" label="Username or email" autocomplete="username webauthn"
                    required=true value=feedback.value("username")
                    errors=feedback.errors("username")/>
                <Field name="password" label="Password" kind="password"
                    autocomplete="current-password" required=true
                    errors=feedback.errors("password")/>
                <SubmitButton label="Sign in" pending="Signing in…"/>
            </form>
            {passkeys_enabled().then(|| view! {
                <PasskeyButton mode="sign-in" label="Sign in with a passkey"
                    next=next.clone().unwrap_or_default()/>
            }.into_any())}
            <p class="muted"><a href="/password-reset" data-testid="forgot-password">"Forgot your password?"</a></p>
            {resend}
            {social}
            <p class="muted">"New here? " <a href=signup_href>"Create an account"</a></p>
        </section>
    }
}

/// The same encoding the server uses for `next` in its own redirects. This page renders on
/// the server only; the browser build never calls it.
#[cfg(feature = "ssr")]
use backend::web::next::encode as encode_next;
#[cfg(not(feature = "ssr"))]
fn encode_next(value: &str) -> String {
    value.to_owned()
}

/// allauth's words when sign-in waits for a confirmed address.
#[cfg(feature = "ssr")]
use backend::accounts::NOT_VERIFIED;
#[cfg(not(feature = "ssr"))]
const NOT_VERIFIED: &str = "";
