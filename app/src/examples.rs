//! How a server function finds out who is calling: the same `CurrentUser` / `MaybeUser`
//! extractors the REST handlers use, through `leptos_axum::extract_with_state`.

use leptos::prelude::*;

/// The caller's username, or `None` when the request carries no valid credentials.
#[server(endpoint = "whoami")]
pub async fn whoami() -> Result<Option<String>, ServerFnError> {
    use backend::api::MaybeUser;

    let state = expect_context::<backend::AppState>();
    // A bad token reads as "nobody": this function has nothing to protect, and a
    // rejection here would surface as a server error rather than the API's 401 body.
    let caller = leptos_axum::extract_with_state::<MaybeUser, _>(&state)
        .await
        .ok()
        .and_then(|MaybeUser(user)| user);
    Ok(caller.map(|current| current.user.username))
}
