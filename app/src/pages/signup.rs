use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::form::{Field, FormMessages, SubmitButton};
use crate::context::{email_required, Feedback};

#[component]
pub fn SignUpPage() -> impl IntoView {
    let feedback = Feedback::for_form("signup");
    view! {
        <Title text="Sign up · leptos-auth-starter"/>
        <section class="card narrow">
            <h1>"Create an account"</h1>
            <FormMessages feedback=feedback.clone()/>
            <form method="post" action="/signup" class="stack" data-testid="signup-form">
                <Field name="username" label="Username" autocomplete="username" required=true
                    hint="Letters, digits and @/./+/-/_ only; at most 150 characters."
                    value=feedback.value("username") errors=feedback.errors("username")/>
                <Field name="email" label="Email" kind="email" autocomplete="email"
                    required=email_required()
                    hint="We send a link to confirm it."
                    value=feedback.value("email") errors=feedback.errors("email")/>
                <Field name="password1" label="Password" kind="password"
                    autocomplete="new-password" required=true
                    hint="At least 8 characters, not too common, not all digits, not like your username."
                    errors=feedback.errors("password1")/>
                <Field name="password2" label="Confirm password" kind="password"
                    autocomplete="new-password" required=true
                    errors=feedback.errors("password2")/>
                <SubmitButton label="Create account" pending="Creating your account…"/>
            </form>
            <p class="muted">"Already registered? " <a href="/signin">"Sign in"</a></p>
        </section>
    }
}
