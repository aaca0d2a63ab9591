use leptos::prelude::*;

use crate::components::form::SubmitButton;
use crate::context::{feedback, viewer};

/// Brand and navigation; who is signed in, with the sign-out button.
#[component]
pub fn SiteHeader() -> impl IntoView {
    let nav = match viewer() {
        Some(user) => view! {
            <span class="nav-user" data-testid="nav-user">{user.username}</span>
            {user.is_staff.then(|| view! { <a href="/admin" data-testid="nav-admin">"Admin"</a> })}
            <a href="/profile">"Profile"</a>
            <form method="post" action="/signout" class="inline">
                <SubmitButton label="Sign out" pending="Signing out…" secondary=true/>
            </form>
        }
        .into_any(),
        None => view! {
            <a href="/signin">"Sign in"</a>
            <a class="button small" href="/signup">"Sign up"</a>
        }
        .into_any(),
    };
    view! {
        <header class="site-header">
            <a class="brand" href="/">"leptos-auth-starter"</a>
            <nav aria-label="Account">{nav}</nav>
        </header>
    }
}

/// A notice that belongs to no form ("You have signed out.").
#[component]
pub fn GlobalNotice() -> impl IntoView {
    feedback()
        .filter(|f| f.form.is_empty())
        .and_then(|f| f.notice)
        .map(|notice| {
            view! {
                <p class="notice" role="status" data-testid="notice">{notice}</p>
            }
        })
}
