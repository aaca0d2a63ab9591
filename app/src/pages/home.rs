use leptos::prelude::*;
use leptos_meta::Title;

use crate::context::viewer;

#[component]
pub fn HomePage() -> impl IntoView {
    let body = match viewer() {
        Some(user) => view! {
            <h1>"Welcome back, " {user.username}</h1>
            <p data-testid="auth-state">"You are signed in."</p>
            <p><a class="button" href="/profile">"Go to your profile"</a></p>
        }
        .into_any(),
        None => view! {
            <h1>"Welcome"</h1>
            <p data-testid="auth-state">"You are not authenticated."</p>
            <p class="button-row">
                <a class="button" href="/signin">"Sign in"</a>
                <a class="button secondary" href="/signup">"Sign up"</a>
            </p>
        }
        .into_any(),
    };
    view! {
        <Title text="leptos-auth-starter"/>
        <section class="card narrow">{body}</section>
        <section class="card narrow muted">
            <p>
                "A full-stack Rust starter: server-rendered pages that work without \
                 JavaScript, a few hydrated islands, and a REST API compatible with \
                 dj-rest-auth and simplejwt, all in one binary."
            </p>
        </section>
    }
}
