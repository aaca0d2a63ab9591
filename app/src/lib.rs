//! The Leptos application: routes, pages and the server functions they call. Compiled
//! twice: with `ssr` into the server (where server functions run and may use `backend`),
//! with `hydrate` into the WASM bundle (where they become HTTP calls).

pub mod examples;
pub mod pages;
pub mod status;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::StaticSegment;

use crate::pages::{home::HomePage, not_found::NotFound};

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
                <HydrationScripts options/>
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

    view! {
        <Stylesheet id="leptos" href="/pkg/leptos-auth-starter.css"/>
        <Title text="leptos-auth-starter"/>
        <Router>
            <header class="site-header">
                <a class="brand" href="/">"leptos-auth-starter"</a>
            </header>
            <main class="site-main">
                <Routes fallback=NotFound>
                    <Route path=StaticSegment("") view=HomePage/>
                </Routes>
            </main>
        </Router>
    }
}
