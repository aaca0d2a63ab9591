//! `POST /api/auth/register/`: create an account and sign it in.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use super::bodies::LoginBody;
use super::client_ip::ClientIp;
use super::current_user::MaybeUser;
use super::error::{ApiError, FieldErrors, NON_FIELD_ERRORS};
use super::fields::{Fields, Text};
use crate::auth::password::MAX_PASSWORD_BYTES;
use crate::auth::password_rules::{password_problems, similarity_problem};
use crate::state::AppState;
use crate::users::{self, NewUser, USERNAME_MAX_CHARS};

pub const INVALID_USERNAME: &str = "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.";

pub async fn register(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    _caller: MaybeUser,
    fields: Fields,
) -> Result<(StatusCode, Json<LoginBody>), ApiError> {
    if let Some(limits) = &state.rate_limits {
        limits.register(ip)?;
    }
    let mut errors = FieldErrors::new();
    let username = fields.text(
        "username",
        Text::REQUIRED.max(USERNAME_MAX_CHARS),
        &mut errors,
    );
    // Optional: absent and "" both mean "no email".
    let email = fields
        .text("email", Text::OPTIONAL, &mut errors)
        .filter(|e| !e.is_empty());
    let password1 = fields.text("password1", Text::PASSWORD, &mut errors);
    let password2 = fields.text("password2", Text::PASSWORD, &mut errors);

    if let Some(name) = &username {
        if !users::username_is_valid(name) {
            errors.add("username", INVALID_USERNAME);
        } else if users::username_taken(&state.db, name, None).await? {
            errors.add("username", "A user with that username already exists.");
        }
    }
    if let Some(address) = &email {
        if !users::email_is_valid(address) {
            errors.add("email", "Enter a valid email address.");
        } else if users::email_taken(&state.db, address).await? {
            errors.add(
                "email",
                "A user is already registered with this e-mail address.",
            );
        }
    }
    if let Some(password) = &password1 {
        if password.len() > MAX_PASSWORD_BYTES {
            errors.add(
                "password1",
                format!("Ensure this field has no more than {MAX_PASSWORD_BYTES} characters."),
            );
        } else {
            for problem in password_problems(password) {
                errors.add("password1", problem);
            }
        }
    }
    errors.into_result()?;
    let (Some(username), Some(password1), Some(password2)) = (username, password1, password2)
    else {
        unreachable!("required fields are present when there are no errors");
    };

    if password1 != password2 {
        return Err(ApiError::Validation(FieldErrors::single(
            NON_FIELD_ERRORS,
            "The two password fields didn't match.",
        )));
    }
    let attributes = [
        ("username", username.as_str()),
        ("email address", email.as_deref().unwrap_or_default()),
    ];
    if let Some(problem) = similarity_problem(&password1, &attributes) {
        return Err(ApiError::Validation(FieldErrors::single(
            NON_FIELD_ERRORS,
            problem,
        )));
    }

    let hash = state.passwords.hash(&password1).await?;
    let user = users::insert(
        &state.db,
        NewUser {
            username: &username,
            email: email.as_deref(),
            password_hash: Some(&hash),
            first_name: "",
            last_name: "",
            is_staff: false,
            is_superuser: false,
        },
    )
    .await?;
    users::record_login(&state.db, user.id, None).await?;
    let pair = state.tokens.sign_in(user.id).await?;
    tracing::info!(user_id = user.id, "user registered");
    Ok((StatusCode::CREATED, Json(LoginBody::new(pair, &user))))
}
