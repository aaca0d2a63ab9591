//! The profile page's two "User details" buttons: `GET /api/auth/user/` from the browser,
//! with and without the session's access token, showing the raw response.

use leptos::prelude::*;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Call {
    WithToken,
    WithoutToken,
}

#[island]
pub fn UserDetails() -> impl IntoView {
    let output = RwSignal::new(None::<String>);
    // How many responses were shown (lets tests and assistive tech tell repeats apart).
    let count = RwSignal::new(0u32);
    let busy = RwSignal::new(None::<Call>);
    let pre = NodeRef::<leptos::html::Pre>::new();
    // For browser tests: this island is live.
    Effect::new(move |_| {
        if let Some(el) = pre.get() {
            let _ = el.set_attribute("data-ready", "");
        }
    });

    let run = move |call: Call| {
        busy.set(Some(call));
        leptos::task::spawn_local(async move {
            output.set(Some(fetch_user(call).await));
            count.update(|n| *n += 1);
            busy.set(None);
        });
    };
    let label = move |call: Call, idle: &'static str| {
        move || {
            if busy.get() == Some(call) {
                "Loading…"
            } else {
                idle
            }
        }
    };

    view! {
        <div class="button-row">
            <button
                type="button"
                class="button"
                disabled=move || busy.get().is_some()
                aria-busy=move || (busy.get() == Some(Call::WithToken)).to_string()
                on:click=move |_| run(Call::WithToken)
            >
                {label(Call::WithToken, "User details (with token)")}
            </button>
            <button
                type="button"
                class="button secondary"
                disabled=move || busy.get().is_some()
                aria-busy=move || (busy.get() == Some(Call::WithoutToken)).to_string()
                on:click=move |_| run(Call::WithoutToken)
            >
                {label(Call::WithoutToken, "User details (without token)")}
            </button>
        </div>
        <pre node_ref=pre class="response" data-testid="details-output"
            data-count=move || count.get() aria-live="polite">
            {move || output.get().unwrap_or_else(|| {
                "Press a button: the response of GET /api/auth/user/ shows up here.".into()
            })}
        </pre>
    }
}

/// `HTTP <status>` and the body, or what went wrong on the way.
async fn fetch_user(call: Call) -> String {
    #[cfg(feature = "hydrate")]
    {
        use crate::session::{access_token, TokenGrant};
        let mut request = gloo_net::http::Request::get("/api/auth/user/");
        if call == Call::WithToken {
            match access_token().await {
                Ok(TokenGrant::Fresh { token, .. }) => {
                    request = request.header("Authorization", &format!("Bearer {token}"));
                }
                Ok(TokenGrant::SignedOut) => {
                    return "Your session has ended. Sign in again to get a token.".into();
                }
                Err(error) => return format!("Could not get a token: {error}"),
            }
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                format!("HTTP {status}\n{body}")
            }
            Err(error) => format!("The request failed: {error}"),
        }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = call;
        String::new()
    }
}
