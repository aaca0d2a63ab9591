use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::components::form::{Field, FormMessages, SubmitButton};
use crate::context::Feedback;

#[component]
pub fn SignInPage() -> impl IntoView {
    let feedback = Feedback::for_form("signin");
    let next = use_query_map().with_untracked(|q| q.get("next"));
    let signup_href = "/signup";
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
            <p class="muted">"New here? " <a href=signup_href>"Create an account"</a></p>
        </section>
    }
}
