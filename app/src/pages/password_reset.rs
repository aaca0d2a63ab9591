//! "Forgot password?": the page asking for the address, and the page a reset link opens
//! (which only shows the new-password form; nothing is spent until it is sent).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::components::form::{Field, FormMessages, SubmitButton};
use crate::context::{link_live, Feedback};

#[component]
pub fn PasswordResetPage() -> impl IntoView {
    let feedback = Feedback::for_form("reset");
    view! {
        <Title text="Forgot password · leptos-auth-starter"/>
        <section class="card narrow">
            <h1>"Forgot your password?"</h1>
            <p class="muted">
                "Enter your account's e-mail address and we will send you a link to choose a \
                 new password."
            </p>
            <FormMessages feedback=feedback.clone()/>
            <form method="post" action="/password-reset" class="stack" data-testid="reset-form">
                <Field name="email" label="Email" kind="email" autocomplete="email"
                    required=true value=feedback.value("email") errors=feedback.errors("email")/>
                <SubmitButton label="Send the link" pending="Sending…"/>
            </form>
            <p class="muted"><a href="/signin">"Back to sign in"</a></p>
        </section>
    }
}

#[component]
pub fn PasswordResetConfirmPage() -> impl IntoView {
    let feedback = Feedback::for_form("reset_confirm");
    let params = use_params_map();
    let (uid, token) = params.with_untracked(|p| {
        (
            p.get("uid").unwrap_or_default(),
            p.get("token").unwrap_or_default(),
        )
    });
    let action = format!("/password-reset/confirm/{uid}/{token}");
    let body = if link_live() == Some(true) {
        view! {
            <FormMessages feedback=feedback.clone()/>
            <form method="post" action=action class="stack" data-testid="reset-confirm-form">
                <Field name="new_password1" label="New password" kind="password"
                    autocomplete="new-password" required=true
                    hint="At least 8 characters, not too common, not all digits, not like your username."
                    errors=feedback.errors("new_password1")/>
                <Field name="new_password2" label="New password (again)" kind="password"
                    autocomplete="new-password" required=true
                    hint="Every device signed in to your account is signed out."
                    errors=feedback.errors("new_password2")/>
                <SubmitButton label="Set the new password" pending="Saving…"/>
            </form>
        }
        .into_any()
    } else {
        view! {
            <p class="alert error" role="alert" data-testid="link-invalid">
                "This link does not work: it may have expired, been used already, or been \
                 replaced by a newer one."
            </p>
            <p><a class="button" href="/password-reset">"Send a new link"</a></p>
        }
        .into_any()
    };
    view! {
        <Title text="Choose a new password · leptos-auth-starter"/>
        <section class="card narrow">
            <h1>"Choose a new password"</h1>
            {body}
        </section>
    }
}
