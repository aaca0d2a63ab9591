//! `POST /profile`: edit username, first and last name (the API's PATCH rules).

use axum::extract::State;
use axum::response::Response;
use tower_sessions::Session;

use super::feedback::{self, FormInput};
use super::next::sign_in_url;
use super::redirect::{see_other, see_other_with};
use crate::accounts;
use crate::browser::flash::Flash;
use crate::state::AppState;

pub async fn submit(State(state): State<AppState>, session: Session, form: FormInput) -> Response {
    let current = match state.browser.sessions.current(&session).await {
        Ok(Some(current)) => current,
        Ok(None) => return see_other(&sign_in_url("/profile")),
        Err(error) => {
            return see_other_with(
                &state,
                "/profile",
                &feedback::failure("profile", error.into()),
            )
        }
    };
    let kept = form.keep(&["username", "first_name", "last_name"]);
    let fields = match form.into_fields("profile", kept.clone()) {
        Ok(fields) => fields,
        Err(flash) => return see_other_with(&state, "/profile", &flash),
    };
    let outcome =
        accounts::update_profile(&state.db, &state.user_cache, current.user.id, &fields, true)
            .await;
    let flash = match outcome {
        Ok(_) => Flash {
            form: "profile".into(),
            notice: Some("Your profile was saved.".into()),
            ..Flash::default()
        },
        Err(error) => feedback::rejected("profile", error, kept),
    };
    see_other_with(&state, "/profile", &flash)
}
