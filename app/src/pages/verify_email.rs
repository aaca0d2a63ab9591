//! The page a verification (or address change) link opens: a button that confirms. The
//! GET changes nothing, so a mail scanner that follows the link verifies nothing.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::components::form::{FormMessages, SubmitButton};
use crate::context::{link_live, Feedback};

#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let feedback = Feedback::for_form("verify");
    let key = use_params_map().with_untracked(|p| p.get("key").unwrap_or_default());
    let body = if link_live() == Some(true) {
        view! {
            <p>"Confirm that this e-mail address is yours."</p>
            <FormMessages feedback=feedback.clone()/>
            <form method="post" action=format!("/verify-email/{key}") data-testid="verify-form">
                <SubmitButton label="Confirm" pending="Confirming…"/>
            </form>
        }
        .into_any()
    } else {
        view! {
            <FormMessages feedback=feedback.clone()/>
            <p class="alert error" role="alert" data-testid="link-invalid">
                "This link does not work: it may have expired or been used already. Sign in \
                 and ask for a new one from your profile."
            </p>
        }
        .into_any()
    };
    view! {
        <Title text="Confirm your address · leptos-auth-starter"/>
        <section class="card narrow">
            <h1>"Confirm your e-mail address"</h1>
            {body}
        </section>
    }
}
