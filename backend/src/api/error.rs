//! The API's one error type, rendered as Django REST framework (and simplejwt) render
//! their errors: the bodies and statuses of `docs/api.md`. Every error of the layers below
//! maps into it here, and nowhere else.

use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::accounts::AccountError;
use crate::auth::jwt::JwtError;
use crate::auth::rate_limit::RateLimited;
use crate::auth::tokens::TokenError;
use crate::db::DbError;
use crate::input::{BodyError, FieldErrors};

/// The 403 body's words for [`ApiError::ReauthenticationRequired`].
pub const REAUTH_REQUIRED: &str = "Confirm it is you: send your password with this request \
    (accounts without a password: sign in again, then retry within a few minutes).";

/// An API refusal; see [`IntoResponse`] below for the status and body of each.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 with the field messages (`{"field": ["message"]}`).
    #[error("validation failed")]
    Validation(FieldErrors),
    /// Any status with `{"detail": message}`.
    #[error("{1}")]
    Detail(StatusCode, String),
    /// 401 `Authentication credentials were not provided.`: the endpoint requires a user and
    /// the request has no `Bearer` credentials.
    #[error("authentication credentials were not provided")]
    NotAuthenticated,
    /// 401 `bad_authorization_header`: `Bearer` with no token, or with more than one.
    #[error("malformed Authorization header")]
    BadAuthorizationHeader,
    /// A bad bearer token on an endpoint that authenticates.
    #[error("bearer token not valid: {0}")]
    BearerNotValid(JwtError),
    /// A bad token given to `token/verify/` or `token/refresh/` (or logout).
    #[error("token not valid: {0}")]
    TokenNotValid(JwtError),
    /// 401 `user_not_found`: a valid access token whose user no longer exists (also a profile
    /// edit whose account was deleted meanwhile).
    #[error("user not found")]
    UserNotFound,
    /// `token/refresh/` without a `refresh` field (dj-rest-auth's answer).
    #[error("no refresh token")]
    NoRefreshToken,
    /// 401 `user_inactive`: a valid access token whose user has been deactivated.
    #[error("user is inactive")]
    UserInactive,
    /// 401 `no_active_account`: a refresh for a user who was deleted or deactivated (or a
    /// session this server does not know).
    #[error("no active account")]
    NoActiveAccount,
    /// 403 `reauthentication_required`: a sensitive action whose sign-in last proved
    /// itself longer ago than `REAUTH_MAX_AGE` (`docs/api.md`, Re-authentication).
    #[error("re-authentication required")]
    ReauthenticationRequired,
    /// 405 `Method "X" not allowed.`; the second field is the `Allow` header value, such as
    /// `"POST, OPTIONS"`.
    #[error("method {0} not allowed")]
    MethodNotAllowed(Method, &'static str),
    /// 415 with the `Content-Type` as the client sent it.
    #[error("unsupported media type {0:?}")]
    UnsupportedMediaType(String),
    /// 413: the body is over `MAX_BODY_BYTES` (Django's `DATA_UPLOAD_MAX_MEMORY_SIZE`).
    #[error("request body too large")]
    PayloadTooLarge,
    /// 429 with `Retry-After`, and the wait in words in `detail` (DRF's throttled message).
    #[error("rate limited")]
    RateLimited {
        /// Seconds until the next attempt can pass, as sent in `Retry-After`.
        retry_after_secs: u64,
    },
    /// 500 `A server error occurred.`; the cause is logged, never sent.
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

/// Every 401 says how to authenticate, as DRF does.
const WWW_AUTHENTICATE: HeaderValue = HeaderValue::from_static("Bearer realm=\"api\"");
/// ... and, when a token was presented and refused, why (RFC 6750 section 3.1).
const WWW_AUTHENTICATE_REFUSED: HeaderValue =
    HeaderValue::from_static("Bearer realm=\"api\", error=\"invalid_token\"");

/// A 401 with `body`; `token_refused` when the request carried a token that was refused.
fn unauthorized(body: serde_json::Value, token_refused: bool) -> Response {
    let mut res = (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    let challenge = if token_refused {
        WWW_AUTHENTICATE_REFUSED
    } else {
        WWW_AUTHENTICATE
    };
    res.headers_mut()
        .insert(header::WWW_AUTHENTICATE, challenge);
    res
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Validation(errors) => (StatusCode::BAD_REQUEST, Json(errors)).into_response(),
            ApiError::Detail(status, detail) => {
                (status, Json(json!({ "detail": detail }))).into_response()
            }
            ApiError::ReauthenticationRequired => (
                StatusCode::FORBIDDEN,
                Json(json!({
                    "detail": REAUTH_REQUIRED,
                    "code": "reauthentication_required",
                })),
            )
                .into_response(),
            ApiError::NotAuthenticated => unauthorized(
                json!({
                    "detail": "Authentication credentials were not provided."
                }),
                false,
            ),
            ApiError::BadAuthorizationHeader => unauthorized(
                json!({
                    "detail": "Authorization header must contain two space-delimited values",
                    "code": "bad_authorization_header",
                }),
                false,
            ),
            ApiError::BearerNotValid(reason) => unauthorized(
                json!({
                    "detail": "Given token not valid for any token type",
                    "code": "token_not_valid",
                    "messages": [{
                        "token_class": "AccessToken",
                        "token_type": "access",
                        "message": reason.to_string(),
                    }],
                }),
                true,
            ),
            ApiError::TokenNotValid(reason) => unauthorized(
                json!({
                    "detail": reason.to_string(),
                    "code": "token_not_valid",
                }),
                true,
            ),
            ApiError::NoRefreshToken => unauthorized(
                json!({
                    "detail": "No valid refresh token found.",
                    "code": "token_not_valid",
                }),
                false,
            ),
            ApiError::UserNotFound => unauthorized(
                json!({
                    "detail": "User not found",
                    "code": "user_not_found",
                }),
                true,
            ),
            ApiError::UserInactive => unauthorized(
                json!({
                    "detail": "User is inactive",
                    "code": "user_inactive",
                }),
                true,
            ),
            ApiError::NoActiveAccount => unauthorized(
                json!({
                    "detail": "No active account found with the given credentials",
                    "code": "no_active_account",
                }),
                true,
            ),
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

impl From<FieldErrors> for ApiError {
    fn from(errors: FieldErrors) -> Self {
        ApiError::Validation(errors)
    }
}

impl From<BodyError> for ApiError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::Malformed(detail) => ApiError::Detail(StatusCode::BAD_REQUEST, detail),
            BodyError::NotAnObject(errors) => ApiError::Validation(errors),
            BodyError::UnsupportedMediaType(media_type) => {
                ApiError::UnsupportedMediaType(media_type)
            }
            BodyError::TooLarge => ApiError::PayloadTooLarge,
        }
    }
}

/// An unreadable body, when an API handler extracts [`crate::input::Fields`].
impl IntoResponse for BodyError {
    fn into_response(self) -> Response {
        ApiError::from(self).into_response()
    }
}

impl From<RateLimited> for ApiError {
    fn from(RateLimited { retry_after_secs }: RateLimited) -> Self {
        ApiError::RateLimited { retry_after_secs }
    }
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Invalid(errors) => ApiError::Validation(errors),
            AccountError::RateLimited(limited) => limited.into(),
            AccountError::NotFound => ApiError::UserNotFound,
            AccountError::LinkNotValid => {
                ApiError::Detail(StatusCode::NOT_FOUND, "Not found.".into())
            }
            AccountError::ReauthenticationRequired => ApiError::ReauthenticationRequired,
            // What the same request gets once the revocation is known: the token's 401.
            AccountError::SignInEnded => ApiError::BearerNotValid(JwtError::Invalid),
            AccountError::MailUnavailable => ApiError::Detail(
                StatusCode::SERVICE_UNAVAILABLE,
                "This server sends no e-mail, so this cannot be done here.".into(),
            ),
            AccountError::Internal(error) => ApiError::Internal(error),
        }
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        ApiError::Internal(e.into())
    }
}

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Jwt(reason) => ApiError::TokenNotValid(reason),
            TokenError::NoActiveAccount => ApiError::NoActiveAccount,
            TokenError::UserNotFound => ApiError::UserNotFound,
            TokenError::UserInactive => ApiError::UserInactive,
            TokenError::Db(db) => db.into(),
        }
    }
}
