use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::components::form::{Field, FormMessages, SubmitButton};
use crate::context::{providers, Feedback};

#[component]
pub fn SignInPage() -> impl IntoView {
    let feedback = Feedback::for_form("signin");
    let next = use_query_map().with_untracked(|q| q.get("next"));
    let signup_href = "/signup";
    let next_param = next
        .as_deref()
        .map(|n| format!("?next={}", encode_component(n)))
        .unwrap_or_default();
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
                {next.map(|next| view! { <input type="hidden" name="next" value=next/> })}
                <Field name="username" label="Username or email" autocomplete="username"
                    required=true value=feedback.value("username")
                    errors=feedback.errors("username")/>
                <Field name="password" label="Password" kind="password"
                    autocomplete="current-password" required=true
                    errors=feedback.errors("password")/>
                <SubmitButton label="Sign in" pending="Signing in…"/>
            </form>
            {social}
            <p class="muted">"New here? " <a href=signup_href>"Create an account"</a></p>
        </section>
    }
}

/// Percent-encodes a query value (keeps unreserved characters and `/`).
fn encode_component(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
