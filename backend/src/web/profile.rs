//! `POST /profile`: edit username, first and last name (the API's PATCH rules).

use axum::extract::State;
use axum::response::Response;
use tower_sessions::Session;

use super::flash::Flash;
use super::next::sign_in_url;
use super::{feedback, see_other, see_other_with, session, FormInput};
use crate::api::user::update_profile;
use crate::state::AppState;

pub async fn submit(State(state): State<AppState>, session: Session, form: FormInput) -> Response {
    let current = match session::current(&state, &session).await {
        Ok(Some(current)) => current,
        Ok(None) => return see_other(&sign_in_url("/profile")),
        Err(error) => {
            return see_other_with(&state, "/profile", &feedback::failure("profile", error))
        }
    };
    let kept = form.keep(&["username", "first_name", "last_name"]);
    let outcome = match form.into_fields() {
        Ok(fields) => update_profile(&state, current.user.id, &fields, true).await,
        Err(error) => Err(error),
    };
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
