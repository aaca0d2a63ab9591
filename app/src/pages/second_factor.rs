//! The second factor at sign-in, and the profile's set-up and recovery-code pages.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::form::{Field, FormMessages, SubmitButton};
use crate::components::passkey::PasskeyButton;
use crate::context::{
    fresh_recovery_codes, passkeys_enabled, second_factor_methods, totp_setup, Feedback,
};

/// `/signin/second-factor`: the code that completes a sign-in. The server shows this page
/// only between the two steps of a sign-in.
#[component]
pub fn SecondFactorPage() -> impl IntoView {
    let feedback = Feedback::for_form("second_factor");
    let methods = second_factor_methods();
    let has = |m: &str| methods.iter().any(|x| x == m);
    let passkey = (has("webauthn") && passkeys_enabled()).then(|| {
        view! { <PasskeyButton mode="second-factor" label="Use a passkey"/> }
    });
    let words = if has("totp") {
        "One more step: enter the six-digit code from your authenticator app, or one of \
         your recovery codes."
    } else {
        "One more step: use your passkey, or enter one of your recovery codes."
    };
    view! {
        <Title text="Two-factor sign-in · leptos-auth-starter"/>
        <section class="card narrow">
            <h1>"Two-factor sign-in"</h1>
            <p class="muted">{words}</p>
            <FormMessages feedback=feedback.clone()/>
            {passkey}
            <form method="post" action="/signin/second-factor" class="stack"
                data-testid="second-factor-form">
                <Field name="code" label="Code" autocomplete="one-time-code" required=true
                    hint="A recovery code works once; the profile says how many you have left."
                    errors=feedback.errors("code")/>
                <SubmitButton label="Sign in" pending="Checking…"/>
            </form>
            <form method="post" action="/signin/second-factor/cancel" class="inline">
                <button type="submit" class="link">"Start over"</button>
            </form>
        </section>
    }
}

/// `/profile/mfa/totp`: the QR code and secret of the set-up in progress, and the first
/// code that switches the app on.
#[component]
pub fn TotpSetupPage() -> impl IntoView {
    let feedback = Feedback::for_form("mfa");
    let Some(setup) = totp_setup() else {
        return view! {
            <Title text="Authenticator app · leptos-auth-starter"/>
            <section class="card narrow" data-testid="totp-setup-expired">
                <h1>"Set up an authenticator app"</h1>
                <p>"This set-up has expired or was finished. "
                    <a href="/profile">"Start again from your profile"</a> "."</p>
            </section>
        }
        .into_any();
    };
    view! {
        <Title text="Authenticator app · leptos-auth-starter"/>
        <section class="card narrow" data-testid="totp-setup">
            <h1>"Set up an authenticator app"</h1>
            <ol class="steps">
                <li>"Scan this code with your authenticator app (any app for one-time codes \
                     works), or type the key below into it."</li>
                <li>"Enter the six-digit code the app shows."</li>
            </ol>
            <div class="qr" role="img" aria-label="QR code for your authenticator app"
                inner_html=setup.qr_svg></div>
            <p>"Key: " <code class="secret" data-testid="totp-secret">{setup.secret}</code></p>
            <p class="muted"><a href=setup.otpauth_uri>"Open in an app on this device"</a></p>
            <FormMessages feedback=feedback.clone()/>
            <form method="post" action="/profile/mfa/totp/activate" class="stack"
                data-testid="totp-activate-form">
                <Field name="code" label="Code from the app" autocomplete="one-time-code"
                    required=true errors=feedback.errors("code")/>
                <SubmitButton label="Switch on" pending="Checking…"/>
            </form>
            <p class="muted"><a href="/profile">"Cancel"</a></p>
        </section>
    }
    .into_any()
}

/// `/profile/mfa/recovery-codes`: new recovery codes, shown this once.
#[component]
pub fn RecoveryCodesPage() -> impl IntoView {
    let body = match fresh_recovery_codes() {
        Some(codes) => view! {
            <p>
                "Keep these codes somewhere safe (a password manager, or printed). Each one \
                 signs you in once if you lose your authenticator app. They are shown only \
                 now."
            </p>
            <ol class="recovery-codes" data-testid="recovery-codes">
                {codes.into_iter().map(|c| view! { <li><code data-testid="recovery-code">{c}</code></li> }).collect_view()}
            </ol>
            <p><a class="button" href="/profile">"I have saved them"</a></p>
        }
        .into_any(),
        None => view! {
            <p data-testid="recovery-codes-gone">
                "Recovery codes are shown only once. If you lost them, make new ones on "
                <a href="/profile">"your profile"</a> "."
            </p>
        }
        .into_any(),
    };
    view! {
        <Title text="Recovery codes · leptos-auth-starter"/>
        <section class="card narrow">
            <h1>"Your recovery codes"</h1>
            {body}
        </section>
    }
}
