use leptos::prelude::*;
use leptos_meta::Title;

use crate::status::{CheckServer, StatusReport};

#[component]
pub fn HomePage() -> impl IntoView {
    let check = ServerAction::<CheckServer>::new();
    let pending = check.pending();

    let outcome = move || {
        check.value().get().map(|result| match result {
            Ok(StatusReport {
                version,
                database_reachable: true,
                database_latency_ms,
            }) => format!(
                "Server {version} is up; database reachable in {database_latency_ms:.1} ms."
            ),
            Ok(StatusReport { version, .. }) => {
                format!("Server {version} is up, but the database is unreachable.")
            }
            Err(_) => "The server could not be reached. Try again in a moment.".to_owned(),
        })
    };

    view! {
        <Title text="leptos-auth-starter"/>
        <section class="card narrow">
            <h1>"Welcome"</h1>
            <p data-testid="auth-state">"You are not authenticated."</p>
            <p class="muted">
                "A full-stack Rust starter: this page was rendered on the server and works \
                 without JavaScript; with JavaScript it is hydrated into a live app."
            </p>
        </section>
        <section class="card narrow">
            <h2>"Server check"</h2>
            <p class="muted">"Calls a server function that pings the database."</p>
            <ActionForm action=check>
                <button type="submit" class="button" disabled=move || pending.get()>
                    {move || if pending.get() { "Checking…" } else { "Check the server" }}
                </button>
            </ActionForm>
            <p class="status" role="status" aria-live="polite" data-testid="server-status">
                {outcome}
            </p>
        </section>
    }
}
