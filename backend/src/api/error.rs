//! The API's one error type, rendered as Django REST framework renders its errors.

use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::json;

use crate::auth::jwt::JwtError;
use crate::auth::password::PasswordError;
use crate::auth::tokens::TokenError;
use crate::db::DbError;
use crate::users::UserError;

/// Field-keyed validation messages, in the order the fields are checked.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(Vec<(String, Vec<String>)>);

pub const NON_FIELD_ERRORS: &str = "non_field_errors";

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn single(field: &str, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, message);
        errors
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        let message = message.into();
        match self.0.iter_mut().find(|(f, _)| f == field) {
            Some((_, messages)) => messages.push(message),
            None => self.0.push((field.to_owned(), vec![message])),
        }
    }

    pub fn has(&self, field: &str) -> bool {
        self.0.iter().any(|(f, _)| f == field)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Field → messages, for the web forms.
    pub fn into_map(self) -> std::collections::BTreeMap<String, Vec<String>> {
        self.0.into_iter().collect()
    }

    /// `Ok(())` when there is nothing to report.
    pub fn into_result(self) -> Result<(), ApiError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self))
        }
    }
}

impl Serialize for FieldErrors {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (field, messages) in &self.0 {
            map.serialize_entry(field, messages)?;
        }
        map.end()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("validation failed")]
    Validation(FieldErrors),
    #[error("{1}")]
    Detail(StatusCode, String),
    #[error("authentication credentials were not provided")]
    NotAuthenticated,
    #[error("malformed Authorization header")]
    BadAuthorizationHeader,
    /// A bad bearer token on an endpoint that authenticates.
    #[error("bearer token not valid: {0}")]
    BearerNotValid(JwtError),
    /// A bad token given to `token/verify/` or `token/refresh/` (or logout).
    #[error("token not valid: {0}")]
    TokenNotValid(JwtError),
    #[error("user not found")]
    UserNotFound,
    #[error("user is inactive")]
    UserInactive,
    #[error("no active account")]
    NoActiveAccount,
    #[error("method {0} not allowed")]
    MethodNotAllowed(Method, &'static str),
    #[error("unsupported media type {0:?}")]
    UnsupportedMediaType(String),
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn bad_request(detail: impl Into<String>) -> Self {
        ApiError::Detail(StatusCode::BAD_REQUEST, detail.into())
    }
}

/// Every 401 says how to authenticate, as DRF does.
const WWW_AUTHENTICATE: HeaderValue = HeaderValue::from_static("Bearer realm=\"api\"");

fn unauthorized(body: serde_json::Value) -> Response {
    let mut res = (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    res.headers_mut()
        .insert(header::WWW_AUTHENTICATE, WWW_AUTHENTICATE);
    res
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Validation(errors) => (StatusCode::BAD_REQUEST, Json(errors)).into_response(),
            ApiError::Detail(status, detail) => {
                (status, Json(json!({ "detail": detail }))).into_response()
            }
            ApiError::NotAuthenticated => unauthorized(json!({
                "detail": "Authentication credentials were not provided."
            })),
            ApiError::BadAuthorizationHeader => unauthorized(json!({
                "detail": "Authorization header must contain two space-delimited values",
                "code": "bad_authorization_header",
            })),
            ApiError::BearerNotValid(reason) => unauthorized(json!({
                "detail": "Given token not valid for any token type",
                "code": "token_not_valid",
                "messages": [{
                    "token_class": "AccessToken",
                    "token_type": "access",
                    "message": reason.to_string(),
                }],
            })),
            ApiError::TokenNotValid(reason) => unauthorized(json!({
                "detail": reason.to_string(),
                "code": "token_not_valid",
            })),
            ApiError::UserNotFound => unauthorized(json!({
                "detail": "User not found",
                "code": "user_not_found",
            })),
            ApiError::UserInactive => unauthorized(json!({
                "detail": "User is inactive",
                "code": "user_inactive",
            })),
            ApiError::NoActiveAccount => unauthorized(json!({
                "detail": "No active account found with the given credentials",
                "code": "no_active_account",
            })),
            ApiError::MethodNotAllowed(method, allow) => {
                let mut res = (
                    StatusCode::METHOD_NOT_ALLOWED,
                    Json(json!({ "detail": format!("Method \"{method}\" not allowed.") })),
                )
                    .into_response();
                res.headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static(allow));
                res
            }
            ApiError::UnsupportedMediaType(media_type) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Json(json!({
                    "detail": format!("Unsupported media type \"{media_type}\" in request.")
                })),
            )
                .into_response(),
            ApiError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                Json(json!({ "detail": "Request body is too large." })),
            )
                .into_response(),
            ApiError::RateLimited { retry_after_secs } => {
                let mut res = (
                    StatusCode::TOO_MANY_REQUESTS,
                    Json(json!({
                        "detail": format!(
                            "Request was throttled. Expected available in {retry_after_secs} second{}.",
                            if retry_after_secs == 1 { "" } else { "s" }
                        )
                    })),
                )
                    .into_response();
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
                res
            }
            ApiError::Internal(error) => {
                // The cause goes to the log (tagged with the request id), never to the client.
                tracing::error!("internal error: {error:#}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Json(json!({ "detail": "A server error occurred." })),
                )
                    .into_response()
            }
        }
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        ApiError::Internal(e.into())
    }
}

impl From<PasswordError> for ApiError {
    fn from(e: PasswordError) -> Self {
        ApiError::Internal(e.into())
    }
}

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Jwt(reason) => ApiError::TokenNotValid(reason),
            TokenError::NoActiveAccount => ApiError::NoActiveAccount,
            TokenError::Db(db) => db.into(),
        }
    }
}

impl From<crate::accounts::CreateError> for ApiError {
    fn from(e: crate::accounts::CreateError) -> Self {
        match e {
            crate::accounts::CreateError::Password(e) => e.into(),
            crate::accounts::CreateError::User(e) => e.into(),
        }
    }
}

impl From<UserError> for ApiError {
    fn from(e: UserError) -> Self {
        match e {
            UserError::UsernameTaken => ApiError::Validation(FieldErrors::single(
                "username",
                crate::accounts::USERNAME_TAKEN,
            )),
            UserError::EmailTaken => {
                ApiError::Validation(FieldErrors::single("email", crate::accounts::EMAIL_TAKEN))
            }
            UserError::Db(db) => db.into(),
        }
    }
}
