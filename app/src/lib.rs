//! The Leptos application: routes, pages and the server functions they call. Compiled
//! twice: with `ssr` into the server (where pages render and server functions run, and may
//! use `backend`), with `hydrate` into the WASM bundle.
//!
//! Islands architecture: every page is plain server-rendered HTML whose forms post to the
//! server (so the whole app works without JavaScript); only the few interactive parts are
//! `#[island]`s, and only they are compiled into the WASM bundle and hydrated.

pub mod components;
pub mod context;
pub mod examples;
pub mod pages;
pub mod session;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{ParamSegment, SsrMode, StaticSegment};

use crate::components::layout::{GlobalNotice, SiteHeader};
use crate::pages::{
    admin::{AdminActivityPage, AdminHomePage, AdminUserPage, AdminUsersPage},
    home::HomePage,
    not_found::NotFound,
    password_reset::{PasswordResetConfirmPage, PasswordResetPage},
    profile::ProfilePage,
    second_factor::{RecoveryCodesPage, SecondFactorPage, TotpSetupPage},
    signin::SignInPage,
    signup::SignUpPage,
    verify_email::VerifyEmailPage,
};

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options islands=true/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    #[cfg(feature = "ssr")]
    set_content_security_policy();

    // Async rendering: a page is sent once it is complete, so its status and headers (a
    // 404, the flash cookie's removal) can still be set while it renders.
    view! {
        <Stylesheet id="leptos" href="/pkg/leptos-auth-starter.css"/>
        <Title text="leptos-auth-starter"/>
        <Router>
            <a class="skip-link" href="#main">"Skip to content"</a>
            <SiteHeader/>
            <main class="site-main" id="main">
                <GlobalNotice/>
                <Routes fallback=NotFound>
                    <Route path=StaticSegment("") view=HomePage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("signin") view=SignInPage ssr=SsrMode::Async/>
                    <Route path=(StaticSegment("signin"), StaticSegment("second-factor"))
                        view=SecondFactorPage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("signup") view=SignUpPage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("profile") view=ProfilePage ssr=SsrMode::Async/>
                    <Route path=(StaticSegment("profile"), StaticSegment("mfa"), StaticSegment("totp"))
                        view=TotpSetupPage ssr=SsrMode::Async/>
                    <Route
                        path=(
                            StaticSegment("profile"),
                            StaticSegment("mfa"),
                            StaticSegment("recovery-codes"),
                        )
                        view=RecoveryCodesPage
                        ssr=SsrMode::Async
                    />
                    <Route path=StaticSegment("password-reset") view=PasswordResetPage
                        ssr=SsrMode::Async/>
                    <Route
                        path=(
                            StaticSegment("password-reset"),
                            StaticSegment("confirm"),
                            ParamSegment("uid"),
                            ParamSegment("token"),
                        )
                        view=PasswordResetConfirmPage
                        ssr=SsrMode::Async
                    />
                    <Route path=(StaticSegment("verify-email"), ParamSegment("key"))
                        view=VerifyEmailPage ssr=SsrMode::Async/>
                    // Staff only: the server's gate answers anyone else with the 404 page.
                    <Route path=StaticSegment("admin") view=AdminHomePage ssr=SsrMode::Async/>
                    <Route path=(StaticSegment("admin"), StaticSegment("users"))
                        view=AdminUsersPage ssr=SsrMode::Async/>
                    <Route path=(StaticSegment("admin"), StaticSegment("users"), ParamSegment("id"))
                        view=AdminUserPage ssr=SsrMode::Async/>
                    <Route path=(StaticSegment("admin"), StaticSegment("activity"))
                        view=AdminActivityPage ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}

/// A strict Content-Security-Policy for every page: scripts only from this origin and the
/// per-response nonce Leptos puts on its inline hydration script, WASM compilation allowed,
/// nothing framed, forms posting only here. An injected `<script>` does not run.
#[cfg(feature = "ssr")]
fn set_content_security_policy() {
    use http::header::{HeaderValue, CONTENT_SECURITY_POLICY};

    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response.insert_header(CONTENT_SECURITY_POLICY, value);
    }
}
