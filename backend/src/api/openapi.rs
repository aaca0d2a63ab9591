//! The OpenAPI 3.1 description of the REST API, generated from the code with `utoipa` and
//! served at `GET /api/openapi.json`. Request bodies are described here (the handlers read
//! [`Fields`](crate::input::Fields), which takes JSON, form-encoded and multipart bodies
//! alike); responses reuse the types the handlers serialise. A test checks that its paths
//! and methods are exactly the router's, so it cannot drift; `schemathesis` fuzzes the
//! running server against it in the test command.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::RefOr;
use utoipa::{Modify, OpenApi, ToSchema};

use super::bodies::{LoginBody, LoginOutcome};
use super::events::EventsPage;
use super::sessions::SignInBody;
use super::token::RefreshBody;
use crate::users::UserDetails;

/// A DRF `CharField`: a string, or a number taken as its text; never U+0000; `pattern`
/// for what else the string must match, `max` characters at most.
fn char_field(pattern: &str, max: Option<usize>) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Number]))
        .pattern(Some(pattern))
        .max_length(max)
        .into()
}

/// May be blank.
fn text() -> RefOr<Schema> {
    char_field("^[^\\u0000]*$", None)
}

/// Not blank once trimmed (DRF trims, then refuses `""`).
fn required_text() -> RefOr<Schema> {
    char_field("^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$", None)
}

/// A password: never trimmed, so only `""` is blank.
fn password() -> RefOr<Schema> {
    char_field("^[^\\u0000]+$", None)
}

/// A username: not blank, 150 characters at most (its other rules are in the description).
fn username() -> RefOr<Schema> {
    char_field(
        "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$",
        Some(crate::users::USERNAME_MAX_CHARS),
    )
}

/// A first or last name: may be blank, 150 characters at most.
fn name() -> RefOr<Schema> {
    char_field("^[^\\u0000]*$", Some(crate::users::NAME_MAX_CHARS))
}

/// `POST /api/auth/register/` (dj-rest-auth's `RegisterSerializer`).
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation only: the handler reads `Fields`.
pub struct RegisterRequest {
    /// 150 characters at most; letters, digits and `@.+-_`; stored in Unicode NFKC.
    #[schema(schema_with = username)]
    username: String,
    /// Optional, but not blank; an ASCII local part.
    #[schema(schema_with = required_text)]
    email: Option<String>,
    /// Django's password rules (8 characters, not common, not all digits, not like the
    /// username or email).
    #[schema(schema_with = password)]
    password1: String,
    /// The same password again.
    #[schema(schema_with = password)]
    password2: String,
}

/// `POST /api/auth/login/`: `username` (or an email address in it) or `email`, and the
/// password.
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation only: the handler reads `Fields`.
pub struct LoginRequest {
    /// A username or an email address.
    #[schema(schema_with = text)]
    username: Option<String>,
    /// An email address (used when `username` is absent or blank).
    #[schema(schema_with = text)]
    email: Option<String>,
    /// Never trimmed.
    #[schema(schema_with = password)]
    password: String,
}

/// `POST /api/auth/google/`: one of the three.
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation only: the handler reads `Fields`.
pub struct GoogleRequest {
    /// A Google ID token (a JWT) — the seeds' frontends send it here.
    #[schema(schema_with = text)]
    access_token: Option<String>,
    /// A Google ID token.
    #[schema(schema_with = text)]
    id_token: Option<String>,
    /// An authorization code for this server's redirect URI.
    #[schema(schema_with = text)]
    code: Option<String>,
}

/// `POST /api/auth/logout/`: the refresh token of the sign-in to end (else the Bearer
/// token's).
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation only: the handler reads `Fields`.
pub struct LogoutRequest {
    /// A refresh token.
    #[schema(schema_with = text)]
    refresh: Option<String>,
}

/// `PUT`/`PATCH /api/auth/user/` (dj-rest-auth's `UserDetailsSerializer`; all optional
/// with `PATCH`, `username` required with `PUT`).
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation only: the handler reads `Fields`.
pub struct UserUpdate {
    /// The new username (same rules as at sign-up).
    #[schema(schema_with = username)]
    username: Option<String>,
    /// 150 characters at most.
    #[schema(schema_with = name)]
    first_name: Option<String>,
    /// 150 characters at most.
    #[schema(schema_with = name)]
    last_name: Option<String>,
}

/// `POST /api/auth/password/change/` (the old password is required here).
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation only: the handler reads `Fields`.
pub struct PasswordChangeRequest {
    /// The current password.
    #[schema(schema_with = password)]
    old_password: String,
    /// The new password: Django's rules, 128 characters at most.
    #[schema(schema_with = password)]
    new_password1: String,
    /// The new password again.
    #[schema(schema_with = password)]
    new_password2: String,
}

/// `POST /api/auth/password/reset/` and `/register/resend-email/`.
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation only: the handler reads `Fields`.
pub struct EmailRequest {
    /// An e-mail address (required; an ASCII local part). Every address gets the same
    /// answer, whether or not an account has it.
    #[schema(schema_with = required_text)]
    email: String,
}

/// `POST /api/auth/password/reset/confirm/`: the two values of the mailed link, and the new
/// password twice.
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation only: the handler reads `Fields`.
pub struct PasswordResetConfirmRequest {
    /// The new password: Django's rules, 128 characters at most.
    #[schema(schema_with = password)]
    new_password1: String,
    /// The new password again.
    #[schema(schema_with = password)]
    new_password2: String,
    /// The link's `uid` (opaque).
    #[schema(schema_with = required_text)]
    uid: String,
    /// The link's `token` (opaque, single-use).
    #[schema(schema_with = required_text)]
    token: String,
}

/// `POST /api/auth/register/verify-email/`.
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation only: the handler reads `Fields`.
pub struct VerifyEmailRequest {
    /// The key from the mailed link (opaque, single-use).
    #[schema(schema_with = required_text)]
    key: String,
}

/// `POST /api/auth/token/verify/`.
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation only: the handler reads `Fields`.
pub struct VerifyRequest {
    /// An access or refresh token.
    #[schema(schema_with = required_text)]
    token: String,
}

/// `POST /api/auth/token/refresh/`.
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation only: the handler reads `Fields`.
pub struct RefreshRequest {
    /// The refresh token; without it, 401.
    #[schema(schema_with = required_text)]
    refresh: Option<String>,
}

/// DRF's validation errors, field name (or `non_field_errors`) → messages; an unreadable
/// body gets `{"detail": …}` instead.
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation only.
pub struct FieldErrorsBody(std::collections::HashMap<String, serde_json::Value>);

/// `{"detail": …}`, with simplejwt's `code` (and `messages`) on token errors.
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation only.
pub struct DetailBody {
    /// The message.
    detail: String,
    /// simplejwt's error code (`token_not_valid`, `user_not_found`, ...).
    code: Option<String>,
    /// simplejwt's per-token-class messages (bearer tokens only).
    messages: Option<Vec<serde_json::Value>>,
}

/// `{"detail": "Successfully logged out."}` and similar.
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation only.
pub struct MessageBody {
    /// The message.
    detail: String,
}

/// DRF's answer to `OPTIONS`: the view's name and what it renders and parses.
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation only.
pub struct OptionsBody {
    name: String,
    description: String,
    renders: Vec<String>,
    parses: Vec<String>,
}

/// The public keys that verify tokens (RFC 7517); empty with an HMAC algorithm.
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation only.
pub struct JwkSetBody {
    keys: Vec<serde_json::Value>,
}

/// `GET /api/example/protected/`.
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation only.
pub struct ProtectedBody {
    message: String,
    user: UserDetails,
}

/// `token/verify/`'s answer for a usable token: `{}`.
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation only.
pub struct EmptyBody {}

/// What every operation that reads a body may answer besides its own: a body that is too
/// large or of a type none of the parsers takes.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // Documentation only.
enum BodyErrors {
    /// Over the 2.5 MiB limit (Django's `DATA_UPLOAD_MAX_MEMORY_SIZE`).
    #[response(status = 413, description = "Body over 2.5 MiB")]
    TooLarge(MessageBody),
    /// Not JSON, form-encoded or multipart.
    #[response(status = 415, description = "Unsupported content type")]
    Unsupported(MessageBody),
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

#[utoipa::path(post, path = "/api/auth/register/", tag = "auth",
    request_body(content(
        (RegisterRequest = "application/json"),
        (RegisterRequest = "application/x-www-form-urlencoded"),
        (RegisterRequest = "multipart/form-data")
    )),
    responses(
        (status = 201, description = "Account created and signed in; under `ACCOUNT_EMAIL_VERIFICATION=mandatory` instead `{\"detail\": \"Verification e-mail sent.\"}` and nobody is signed in", body = LoginBody),
        (status = 400, description = "Field errors, or an unreadable body (`detail`)", body = FieldErrorsBody),
        (status = 401, description = "An invalid `Authorization: Bearer` header", body = DetailBody),
        BodyErrors,
        (status = 429, description = "Too many sign-ups from this address", body = MessageBody),
    ))]
#[allow(dead_code)]
fn register() {}

#[utoipa::path(post, path = "/api/auth/login/", tag = "auth",
    request_body(content(
        (LoginRequest = "application/json"),
        (LoginRequest = "application/x-www-form-urlencoded"),
        (LoginRequest = "multipart/form-data")
    )),
    responses(
        (status = 200, description = "Signed in; for an account with a second factor instead `mfa_required` and an `mfa_token` (no tokens yet: `mfa/authenticate/` completes the sign-in)", body = LoginOutcome),
        (status = 400, description = "Field errors or bad credentials (`non_field_errors`)", body = FieldErrorsBody),
        (status = 401, description = "An invalid `Authorization: Bearer` header", body = DetailBody),
        BodyErrors,
        (status = 429, description = "Too many attempts from this address or on this account", body = MessageBody),
    ))]
#[allow(dead_code)]
fn login() {}

#[utoipa::path(post, path = "/api/auth/google/", tag = "auth",
    request_body(content(
        (GoogleRequest = "application/json"),
        (GoogleRequest = "application/x-www-form-urlencoded"),
        (GoogleRequest = "multipart/form-data")
    )),
    responses(
        (status = 200, description = "Signed in (or up) with a verified Google identity; for an account with a second factor, `mfa_required` and an `mfa_token`", body = LoginOutcome),
        (status = 400, description = "Missing or unverifiable token, refused code", body = FieldErrorsBody),
        (status = 401, description = "An invalid `Authorization: Bearer` header", body = DetailBody),
        (status = 404, description = "Google sign-in is not configured", body = MessageBody),
        BodyErrors,
        (status = 429, description = "Too many sign-in attempts from this address", body = MessageBody),
        (status = 503, description = "Google could not be reached", body = MessageBody),
    ))]
#[allow(dead_code)]
fn google() {}

#[utoipa::path(post, path = "/api/auth/logout/", tag = "auth",
    request_body(content(
        (LogoutRequest = "application/json"),
        (LogoutRequest = "application/x-www-form-urlencoded"),
        (LogoutRequest = "multipart/form-data")
    )),
    responses(
        (status = 200, description = "The sign-in is ended (or there was none to end). A Bearer access token names the sign-in when no refresh token is sent.", body = MessageBody),
        (status = 400, description = "Field errors", body = FieldErrorsBody),
        (status = 401, description = "A refused refresh token or Bearer header", body = DetailBody),
        BodyErrors,
    ))]
#[allow(dead_code)]
fn logout() {}

#[utoipa::path(get, path = "/api/auth/user/", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The signed-in user", body = UserDetails),
        (status = 401, description = "No or a refused Bearer token", body = DetailBody),
    ))]
#[allow(dead_code)]
fn user_get() {}

#[utoipa::path(put, path = "/api/auth/user/", tag = "auth",
    request_body(content(
        (UserUpdate = "application/json"),
        (UserUpdate = "application/x-www-form-urlencoded"),
        (UserUpdate = "multipart/form-data")
    )),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = UserDetails),
        (status = 400, description = "Field errors", body = FieldErrorsBody),
        (status = 401, description = "No or a refused Bearer token", body = DetailBody),
        BodyErrors,
    ))]
#[allow(dead_code)]
fn user_put() {}

#[utoipa::path(patch, path = "/api/auth/user/", tag = "auth",
    request_body(content(
        (UserUpdate = "application/json"),
        (UserUpdate = "application/x-www-form-urlencoded"),
        (UserUpdate = "multipart/form-data")
    )),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = UserDetails),
        (status = 400, description = "Field errors", body = FieldErrorsBody),
        (status = 401, description = "No or a refused Bearer token", body = DetailBody),
        BodyErrors,
    ))]
#[allow(dead_code)]
fn user_patch() {}

/// `DELETE /api/auth/user/`: the password (accounts without one: nothing, and a sign-in
/// within `REAUTH_MAX_AGE`).
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation only: the handler reads `Fields`.
pub struct DeleteAccountRequest {
    /// The account's password; required when it has one.
    #[schema(schema_with = password)]
    password: Option<String>,
}

#[utoipa::path(delete, path = "/api/auth/user/", tag = "auth",
    request_body(content(
        (DeleteAccountRequest = "application/json"),
        (DeleteAccountRequest = "application/x-www-form-urlencoded"),
        (DeleteAccountRequest = "multipart/form-data")
    )),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The account and everything in it are deleted; every token of it stops working"),
        (status = 400, description = "Missing or wrong `password`, or the last superuser", body = FieldErrorsBody),
        (status = 401, description = "No or a refused Bearer token", body = DetailBody),
        (status = 403, description = "`reauthentication_required`: an account without a password whose sign-in is older than `REAUTH_MAX_AGE`", body = DetailBody),
        BodyErrors,
        (status = 429, description = "Too many password attempts on this account", body = MessageBody),
    ))]
#[allow(dead_code)]
fn user_delete() {}

#[utoipa::path(get, path = "/api/auth/user/export/", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Everything the server holds about the account: `exported_at`, `user`, `identities`, `sign_ins`, `security_activity`", body = serde_json::Value),
        (status = 401, description = "No or a refused Bearer token", body = DetailBody),
    ))]
#[allow(dead_code)]
fn user_export() {}

#[utoipa::path(post, path = "/api/auth/password/change/", tag = "auth",
    request_body(content(
        (PasswordChangeRequest = "application/json"),
        (PasswordChangeRequest = "application/x-www-form-urlencoded"),
        (PasswordChangeRequest = "multipart/form-data")
    )),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed; every other sign-in of the account is ended, this one stays", body = MessageBody),
        (status = 400, description = "Field errors (a wrong old password hides the others)", body = FieldErrorsBody),
        (status = 401, description = "No or a refused Bearer token", body = DetailBody),
        BodyErrors,
        (status = 429, description = "Too many attempts on this account", body = MessageBody),
    ))]
#[allow(dead_code)]
fn password_change() {}

#[utoipa::path(post, path = "/api/auth/password/reset/", tag = "account",
    request_body(content(
        (EmailRequest = "application/json"),
        (EmailRequest = "application/x-www-form-urlencoded"),
        (EmailRequest = "multipart/form-data")
    )),
    responses(
        (status = 200, description = "The same answer for every address; an active account's address gets a reset link", body = MessageBody),
        (status = 400, description = "Missing or malformed address", body = FieldErrorsBody),
        (status = 401, description = "An invalid `Authorization: Bearer` header", body = DetailBody),
        BodyErrors,
        (status = 429, description = "Too many requests from this client or for this address", body = MessageBody),
        (status = 503, description = "This server sends no e-mail (`EMAIL_URL=none`)", body = MessageBody),
    ))]
#[allow(dead_code)]
fn password_reset() {}

#[utoipa::path(post, path = "/api/auth/password/reset/confirm/", tag = "account",
    request_body(content(
        (PasswordResetConfirmRequest = "application/json"),
        (PasswordResetConfirmRequest = "application/x-www-form-urlencoded"),
        (PasswordResetConfirmRequest = "multipart/form-data")
    )),
    responses(
        (status = 200, description = "Password set; every sign-in of the account is ended", body = MessageBody),
        (status = 400, description = "Field errors; any bad link gives `{\"token\": [\"Invalid value\"]}`", body = FieldErrorsBody),
        (status = 401, description = "An invalid `Authorization: Bearer` header", body = DetailBody),
        BodyErrors,
        (status = 429, description = "Too many attempts from this client", body = MessageBody),
    ))]
#[allow(dead_code)]
fn password_reset_confirm() {}

#[utoipa::path(post, path = "/api/auth/register/verify-email/", tag = "account",
    request_body(content(
        (VerifyEmailRequest = "application/json"),
        (VerifyEmailRequest = "application/x-www-form-urlencoded"),
        (VerifyEmailRequest = "multipart/form-data")
    )),
    responses(
        (status = 200, description = "The address is verified (or, for an address change, is now the account's)", body = MessageBody),
        (status = 400, description = "No key; or the new address was taken meanwhile", body = FieldErrorsBody),
        (status = 401, description = "An invalid `Authorization: Bearer` header", body = DetailBody),
        (status = 404, description = "Unknown, expired or used key", body = MessageBody),
        BodyErrors,
        (status = 429, description = "Too many attempts from this client", body = MessageBody),
    ))]
#[allow(dead_code)]
fn verify_email() {}

#[utoipa::path(post, path = "/api/auth/register/resend-email/", tag = "account",
    request_body(content(
        (EmailRequest = "application/json"),
        (EmailRequest = "application/x-www-form-urlencoded"),
        (EmailRequest = "multipart/form-data")
    )),
    responses(
        (status = 200, description = "Always `ok`; an unverified account's address gets a new link", body = MessageBody),
        (status = 400, description = "Missing or malformed address", body = FieldErrorsBody),
        (status = 401, description = "An invalid `Authorization: Bearer` header", body = DetailBody),
        BodyErrors,
        (status = 429, description = "Too many requests from this client or for this address", body = MessageBody),
        (status = 503, description = "This server sends no e-mail (`EMAIL_URL=none`)", body = MessageBody),
    ))]
#[allow(dead_code)]
fn resend_email() {}

#[utoipa::path(post, path = "/api/auth/token/verify/", tag = "tokens",
    request_body(content(
        (VerifyRequest = "application/json"),
        (VerifyRequest = "application/x-www-form-urlencoded"),
        (VerifyRequest = "multipart/form-data")
    )),
    responses(
        (status = 200, description = "The token would be accepted where it is used", body = EmptyBody),
        (status = 400, description = "Field errors", body = FieldErrorsBody),
        (status = 401, description = "The token would be refused", body = DetailBody),
        BodyErrors,
    ))]
#[allow(dead_code)]
fn verify() {}

#[utoipa::path(post, path = "/api/auth/token/refresh/", tag = "tokens",
    request_body(content(
        (RefreshRequest = "application/json"),
        (RefreshRequest = "application/x-www-form-urlencoded"),
        (RefreshRequest = "multipart/form-data")
    )),
    responses(
        (status = 200, description = "A new access token (and, with rotation, refresh token)", body = RefreshBody),
        (status = 400, description = "Field errors", body = FieldErrorsBody),
        (status = 401, description = "No, or a refused, refresh token", body = DetailBody),
        BodyErrors,
        (status = 429, description = "Too many refreshes from this address", body = MessageBody),
    ))]
#[allow(dead_code)]
fn refresh() {}

#[utoipa::path(get, path = "/api/auth/sessions/", tag = "sign-ins",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's live sign-ins, most recently used first", body = Vec<SignInBody>),
        (status = 401, description = "No or a refused Bearer token", body = DetailBody),
    ))]
#[allow(dead_code)]
fn sessions_list() {}

#[utoipa::path(delete, path = "/api/auth/sessions/{id}/", tag = "sign-ins",
    params(("id" = String, Path, description = "A sign-in's id, from the list")),
    request_body(content(
        (ConfirmRequest = "application/json"),
        (ConfirmRequest = "application/x-www-form-urlencoded"),
        (ConfirmRequest = "multipart/form-data")
    )),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The sign-in is ended: its tokens stop working"),
        (status = 400, description = "A wrong `password`", body = FieldErrorsBody),
        (status = 401, description = "No or a refused Bearer token", body = DetailBody),
        (status = 403, description = "`reauthentication_required`: ending another sign-in, with a sign-in older than `REAUTH_MAX_AGE` and no password", body = DetailBody),
        (status = 404, description = "No live sign-in of the caller has this id (other users' ids included)", body = MessageBody),
        BodyErrors,
        (status = 429, description = "Too many password attempts on this account", body = MessageBody),
    ))]
#[allow(dead_code)]
fn session_end() {}

#[utoipa::path(get, path = "/api/auth/events/", tag = "sign-ins",
    params(("cursor" = Option<String>, Query, description = "From the previous page's `next`")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's security events, newest first, 20 a page", body = EventsPage),
        (status = 401, description = "No or a refused Bearer token", body = DetailBody),
        (status = 404, description = "`{\"detail\": \"Invalid cursor\"}`", body = MessageBody),
    ))]
#[allow(dead_code)]
fn events_list() {}

/// `POST /api/auth/sessions/revoke-others/`.
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation only.
pub struct RevokeOthersBody {
    /// `Every other sign-in was ended.`
    detail: String,
    /// How many sign-ins were ended.
    ended: u64,
}

/// `POST /api/auth/sessions/revoke-others/`: the password, unless the sign-in is recent.
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation only: the handler reads `Fields`.
pub struct ConfirmRequest {
    /// The account's password; may be left out within `REAUTH_MAX_AGE` of signing in.
    #[schema(schema_with = text)]
    password: Option<String>,
}

#[utoipa::path(post, path = "/api/auth/sessions/revoke-others/", tag = "sign-ins",
    request_body(content(
        (ConfirmRequest = "application/json"),
        (ConfirmRequest = "application/x-www-form-urlencoded"),
        (ConfirmRequest = "multipart/form-data")
    )),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every sign-in of the caller but this one is ended", body = RevokeOthersBody),
        (status = 400, description = "A wrong `password`", body = FieldErrorsBody),
        (status = 401, description = "No or a refused Bearer token", body = DetailBody),
        (status = 403, description = "`reauthentication_required`: the sign-in is older than `REAUTH_MAX_AGE` and no password was sent", body = DetailBody),
        BodyErrors,
        (status = 429, description = "Too many password attempts on this account", body = MessageBody),
    ))]
#[allow(dead_code)]
fn sessions_revoke_others() {}

/// `POST /api/auth/mfa/authenticate/`: the `mfa_token` from `login/` and a code.
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation only: the handler reads `Fields`.
pub struct MfaAuthenticateRequest {
    /// From `login/`'s (or `google/`'s) `mfa_required` answer.
    #[schema(schema_with = required_text)]
    mfa_token: String,
    /// Six digits from the authenticator app, or a recovery code (case, spaces and dashes
    /// do not matter); 64 characters at most. Not with a passkey.
    #[schema(schema_with = code)]
    code: Option<String>,
    /// With a passkey: from `mfa/authenticate/passkey/begin/`.
    #[schema(schema_with = required_text)]
    ceremony_token: Option<String>,
    /// With a passkey: the browser's answer, `PublicKeyCredential.toJSON()`.
    #[schema(value_type = Option<Object>)]
    credential: Option<serde_json::Value>,
}

/// `POST /api/auth/mfa/authenticate/passkey/begin/`.
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation only: the handler reads `Fields`.
pub struct MfaPasskeyBeginRequest {
    /// From the `mfa_required` answer.
    #[schema(schema_with = required_text)]
    mfa_token: String,
}

/// `POST /api/auth/mfa/passkeys/finish/`.
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation only: the handler reads `Fields`.
pub struct PasskeyFinishRequest {
    /// From `begin/`.
    #[schema(schema_with = required_text)]
    ceremony_token: String,
    /// Its owner's name for it; 64 characters at most.
    #[schema(schema_with = required_text)]
    name: String,
    /// The browser's answer, `PublicKeyCredential.toJSON()`.
    #[schema(value_type = Object)]
    credential: serde_json::Value,
}

/// `POST /api/auth/passkey/login/finish/`.
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation only: the handler reads `Fields`.
pub struct PasskeyLoginRequest {
    /// From `begin/`.
    #[schema(schema_with = required_text)]
    ceremony_token: String,
    /// The browser's answer, `PublicKeyCredential.toJSON()`.
    #[schema(value_type = Object)]
    credential: serde_json::Value,
}

#[utoipa::path(post, path = "/api/auth/mfa/authenticate/passkey/begin/", tag = "two-factor",
    request_body(content(
        (MfaPasskeyBeginRequest = "application/json"),
        (MfaPasskeyBeginRequest = "application/x-www-form-urlencoded"),
        (MfaPasskeyBeginRequest = "multipart/form-data")
    )),
    responses(
        (status = 200, description = "The options for `navigator.credentials.get()`, allowing the account's passkeys", body = super::passkeys::CeremonyBody),
        (status = 400, description = "`mfa_token` expired or unknown; the account has no passkey; passkeys are off here", body = FieldErrorsBody),
        (status = 401, description = "An invalid `Authorization: Bearer` header", body = DetailBody),
        BodyErrors,
    ))]
#[allow(dead_code)]
fn mfa_passkey_begin() {}

#[utoipa::path(post, path = "/api/auth/mfa/passkeys/begin/", tag = "two-factor",
    request_body(content(
        (ConfirmRequest = "application/json"),
        (ConfirmRequest = "application/x-www-form-urlencoded"),
        (ConfirmRequest = "multipart/form-data")
    )),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The options for `navigator.credentials.create()` (a discoverable credential)", body = super::passkeys::CeremonyBody),
        (status = 400, description = "A wrong `password`; passkeys are off here", body = FieldErrorsBody),
        (status = 401, description = "No or a refused Bearer token", body = DetailBody),
        (status = 403, description = "`reauthentication_required`", body = DetailBody),
        BodyErrors,
        (status = 429, description = "Too many password attempts on this account", body = MessageBody),
    ))]
#[allow(dead_code)]
fn passkey_register_begin() {}

#[utoipa::path(post, path = "/api/auth/mfa/passkeys/finish/", tag = "two-factor",
    request_body(content(
        (PasskeyFinishRequest = "application/json"),
        (PasskeyFinishRequest = "application/x-www-form-urlencoded"),
        (PasskeyFinishRequest = "multipart/form-data")
    )),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Added; the first second factor brings `recovery_codes`, shown this once", body = super::mfa::MfaChangedBody),
        (status = 400, description = "`ceremony_token` expired or not the caller's; `credential` does not verify or is registered already; `name` missing or too long", body = FieldErrorsBody),
        (status = 401, description = "No or a refused Bearer token", body = DetailBody),
        BodyErrors,
    ))]
#[allow(dead_code)]
fn passkey_register_finish() {}

#[utoipa::path(post, path = "/api/auth/passkey/login/begin/", tag = "auth",
    responses(
        (status = 200, description = "The options for `navigator.credentials.get()` (no credentials named: the browser offers its passkeys for this site)", body = super::passkeys::CeremonyBody),
        (status = 400, description = "Passkeys are off here", body = FieldErrorsBody),
        (status = 401, description = "An invalid `Authorization: Bearer` header", body = DetailBody),
        (status = 429, description = "Too many sign-in attempts from this address", body = MessageBody),
    ))]
#[allow(dead_code)]
fn passkey_login_begin() {}

#[utoipa::path(post, path = "/api/auth/passkey/login/finish/", tag = "auth",
    request_body(content(
        (PasskeyLoginRequest = "application/json"),
        (PasskeyLoginRequest = "application/x-www-form-urlencoded"),
        (PasskeyLoginRequest = "multipart/form-data")
    )),
    responses(
        (status = 200, description = "Signed in (a passkey is two factors in one)", body = LoginBody),
        (status = 400, description = "`ceremony_token` expired or spent; `credential` unknown or does not verify; under mandatory verification an unconfirmed address", body = FieldErrorsBody),
        (status = 401, description = "An invalid `Authorization: Bearer` header", body = DetailBody),
        BodyErrors,
        (status = 429, description = "Too many sign-in attempts from this address", body = MessageBody),
    ))]
#[allow(dead_code)]
fn passkey_login_finish() {}

/// A code: not blank, 64 characters at most.
fn code() -> RefOr<Schema> {
    char_field("^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$", Some(64))
}

#[utoipa::path(post, path = "/api/auth/mfa/authenticate/", tag = "two-factor",
    request_body(content(
        (MfaAuthenticateRequest = "application/json"),
        (MfaAuthenticateRequest = "application/x-www-form-urlencoded"),
        (MfaAuthenticateRequest = "multipart/form-data")
    )),
    responses(
        (status = 200, description = "Signed in", body = LoginBody),
        (status = 400, description = "`code`: `Incorrect code.`; `mfa_token`: expired, already used, or too many wrong codes (sign in again)", body = FieldErrorsBody),
        (status = 401, description = "An invalid `Authorization: Bearer` header", body = DetailBody),
        BodyErrors,
        (status = 429, description = "Too many attempts on this account", body = MessageBody),
    ))]
#[allow(dead_code)]
fn mfa_authenticate() {}

#[utoipa::path(get, path = "/api/auth/mfa/", tag = "two-factor",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's second factors", body = super::mfa::MfaBody),
        (status = 401, description = "No or a refused Bearer token", body = DetailBody),
    ))]
#[allow(dead_code)]
fn mfa_overview() {}

#[utoipa::path(post, path = "/api/auth/mfa/totp/setup/", tag = "two-factor",
    request_body(content(
        (ConfirmRequest = "application/json"),
        (ConfirmRequest = "application/x-www-form-urlencoded"),
        (ConfirmRequest = "multipart/form-data")
    )),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A new secret; nothing is switched on until `activate/`", body = super::mfa::TotpSetupBody),
        (status = 400, description = "A wrong `password`, or an app is already set up (`non_field_errors`)", body = FieldErrorsBody),
        (status = 401, description = "No or a refused Bearer token", body = DetailBody),
        (status = 403, description = "`reauthentication_required`: the sign-in is older than `REAUTH_MAX_AGE` and no password was sent", body = DetailBody),
        BodyErrors,
        (status = 429, description = "Too many password attempts on this account", body = MessageBody),
    ))]
#[allow(dead_code)]
fn mfa_totp_setup() {}

/// `POST /api/auth/mfa/totp/activate/`.
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation only: the handler reads `Fields`.
pub struct TotpActivateRequest {
    /// From `setup/`.
    #[schema(schema_with = required_text)]
    setup_token: String,
    /// The six digits the app shows.
    #[schema(schema_with = required_text)]
    code: String,
}

#[utoipa::path(post, path = "/api/auth/mfa/totp/activate/", tag = "two-factor",
    request_body(content(
        (TotpActivateRequest = "application/json"),
        (TotpActivateRequest = "application/x-www-form-urlencoded"),
        (TotpActivateRequest = "multipart/form-data")
    )),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Switched on; the first second factor brings `recovery_codes`, shown this once", body = super::mfa::MfaChangedBody),
        (status = 400, description = "`code`: `Incorrect code.`; `setup_token`: expired or not this account's; an app already set up", body = FieldErrorsBody),
        (status = 401, description = "No or a refused Bearer token", body = DetailBody),
        BodyErrors,
    ))]
#[allow(dead_code)]
fn mfa_totp_activate() {}

/// `POST /api/auth/mfa/totp/deactivate/`.
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation only: the handler reads `Fields`.
pub struct TotpDeactivateRequest {
    /// The account's password; may be left out within `REAUTH_MAX_AGE` of signing in.
    #[schema(schema_with = text)]
    password: Option<String>,
    /// `true` to switch two-factor sign-in off when this is the last second factor.
    confirm: Option<bool>,
}

#[utoipa::path(post, path = "/api/auth/mfa/totp/deactivate/", tag = "two-factor",
    request_body(content(
        (TotpDeactivateRequest = "application/json"),
        (TotpDeactivateRequest = "application/x-www-form-urlencoded"),
        (TotpDeactivateRequest = "multipart/form-data")
    )),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Removed (with the recovery codes, when it was the last second factor)", body = super::mfa::MfaChangedBody),
        (status = 400, description = "`confirm` needed (the last second factor) or not a boolean, a wrong `password`, or no app set up", body = FieldErrorsBody),
        (status = 401, description = "No or a refused Bearer token", body = DetailBody),
        (status = 403, description = "`reauthentication_required`", body = DetailBody),
        BodyErrors,
        (status = 429, description = "Too many password attempts on this account", body = MessageBody),
    ))]
#[allow(dead_code)]
fn mfa_totp_deactivate() {}

/// `POST /api/auth/mfa/passkeys/remove/`.
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation only: the handler reads `Fields`.
pub struct PasskeyRemoveRequest {
    /// The passkey's id, from `GET /api/auth/mfa/`.
    id: i64,
    /// The account's password; may be left out within `REAUTH_MAX_AGE` of signing in.
    #[schema(schema_with = text)]
    password: Option<String>,
    /// `true` to switch two-factor sign-in off when this is the last second factor.
    confirm: Option<bool>,
}

#[utoipa::path(post, path = "/api/auth/mfa/passkeys/remove/", tag = "two-factor",
    request_body(content(
        (PasskeyRemoveRequest = "application/json"),
        (PasskeyRemoveRequest = "application/x-www-form-urlencoded"),
        (PasskeyRemoveRequest = "multipart/form-data")
    )),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Removed (with the recovery codes, when it was the last second factor)", body = super::mfa::MfaChangedBody),
        (status = 400, description = "No such passkey of the caller, `confirm` needed or not a boolean, a wrong `password`, `id` not an integer", body = FieldErrorsBody),
        (status = 401, description = "No or a refused Bearer token", body = DetailBody),
        (status = 403, description = "`reauthentication_required`", body = DetailBody),
        BodyErrors,
        (status = 429, description = "Too many password attempts on this account", body = MessageBody),
    ))]
#[allow(dead_code)]
fn mfa_passkey_remove() {}

#[utoipa::path(post, path = "/api/auth/mfa/recovery-codes/", tag = "two-factor",
    request_body(content(
        (ConfirmRequest = "application/json"),
        (ConfirmRequest = "application/x-www-form-urlencoded"),
        (ConfirmRequest = "multipart/form-data")
    )),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A new set, shown this once; the old codes stop working", body = super::mfa::MfaChangedBody),
        (status = 400, description = "A wrong `password`, or no second factor (`non_field_errors`)", body = FieldErrorsBody),
        (status = 401, description = "No or a refused Bearer token", body = DetailBody),
        (status = 403, description = "`reauthentication_required`", body = DetailBody),
        BodyErrors,
        (status = 429, description = "Too many password attempts on this account", body = MessageBody),
    ))]
#[allow(dead_code)]
fn mfa_recovery_codes() {}

#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "tokens",
    responses((status = 200, description = "Public keys for EdDSA/RS256 tokens", body = JwkSetBody)))]
#[allow(dead_code)]
fn jwks() {}

#[utoipa::path(get, path = "/api/example/protected/", tag = "example",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A greeting for the signed-in user", body = ProtectedBody),
        (status = 401, description = "No or a refused Bearer token", body = DetailBody),
    ))]
#[allow(dead_code)]
fn protected() {}

#[utoipa::path(get, path = "/api/openapi.json", tag = "meta",
    responses((status = 200, description = "This document", body = serde_json::Value)))]
#[allow(dead_code)]
fn openapi_json() {}

/// The description: info, paths, schemas, the bearer scheme.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "leptos-auth-starter REST API",
        description = "dj-rest-auth + simplejwt compatible authentication API. Every route, body and message is explained in docs/api.md.",
    ),
    paths(register, login, google, logout, user_get, user_put, user_patch, user_delete, user_export, password_change, password_reset, password_reset_confirm, verify_email, resend_email, sessions_list, session_end, sessions_revoke_others, events_list, mfa_authenticate, mfa_passkey_begin, mfa_overview, passkey_register_begin, passkey_register_finish, passkey_login_begin, passkey_login_finish, mfa_totp_setup, mfa_totp_activate, mfa_totp_deactivate, mfa_passkey_remove, mfa_recovery_codes, verify, refresh, jwks, protected, openapi_json),
    components(schemas(OptionsBody, DetailBody)),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Sign-up, sign-in, sign-out and the user"),
        (name = "account", description = "Password reset and address verification by mail"),
        (name = "sign-ins", description = "Where the caller is signed in, ending those sign-ins, and the account's security activity"),
        (name = "two-factor", description = "Completing a sign-in with a second factor, and managing the caller's second factors"),
        (name = "tokens", description = "Token verification, refresh and keys"),
    )
)]
pub struct ApiDoc;

/// The whole description, as JSON: [`ApiDoc`] plus what every route shares, said once
/// here rather than on each operation:
/// - every `GET` also answers `HEAD` (same status and headers, no body);
/// - every route answers `OPTIONS` with DRF's metadata (`user/`, which authenticates
///   first, may answer 401);
/// - a multipart part's name cannot hold control characters (RFC 7578 section 4.2: it is a
///   quoted string in a header), so the multipart schemas say so;
/// - `logout/`, `sessions/revoke-others/`, `DELETE sessions/{id}/`, `PATCH user/` and
///   `DELETE user/` take an empty body.
pub fn document() -> serde_json::Value {
    use serde_json::json;
    let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("the description serialises");
    let Some(paths) = doc["paths"].as_object_mut() else {
        return doc;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        if let Some(get) = item.get("get") {
            let mut responses = serde_json::Map::new();
            for status in get["responses"]
                .as_object()
                .into_iter()
                .flat_map(|r| r.keys())
            {
                responses.insert(
                    status.clone(),
                    json!({"description": "As for GET, without a body"}),
                );
            }
            let mut head = json!({"summary": "GET's status and headers, without a body", "responses": responses});
            if let Some(security) = get.get("security") {
                head["security"] = security.clone();
            }
            item.insert("head".into(), head);
        }
        let mut options = json!({
            "summary": "DRF's metadata; the `Allow` header lists the methods",
            "responses": {"200": {
                "description": "The view's name, and what it renders and parses",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OptionsBody"}}},
            }},
        });
        if path == "/api/auth/user/" || path == "/api/auth/password/change/" {
            options["security"] = json!([{"bearer": []}]);
            options["responses"]["401"] = json!({
                "description": "A refused Bearer token (this view authenticates first)",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DetailBody"}}},
            });
        }
        // A templated path's parameters go with OPTIONS too.
        let parameters = item
            .values()
            .find_map(|operation| operation.get("parameters").cloned());
        if let (Some(parameters), Some(options)) = (parameters, options.as_object_mut()) {
            options.insert("parameters".into(), parameters);
        }
        item.insert("options".into(), options);
        for (method, operation) in item.iter_mut() {
            let Some(body) = operation.get_mut("requestBody") else {
                continue;
            };
            if let Some(schema) = body.pointer_mut("/content/multipart~1form-data/schema") {
                *schema = json!({
                    "allOf": [schema.clone()],
                    "propertyNames": {"pattern": "^[^\\u0000-\\u001f\\u007f]*$"},
                });
            }
            let optional = path == "/api/auth/logout/"
                || path.starts_with("/api/auth/sessions/")
                || matches!(
                    path.as_str(),
                    "/api/auth/mfa/totp/setup/"
                        | "/api/auth/mfa/totp/deactivate/"
                        | "/api/auth/mfa/recovery-codes/"
                        | "/api/auth/mfa/passkeys/begin/"
                )
                || (path == "/api/auth/user/" && matches!(method.as_str(), "patch" | "delete"));
            body["required"] = json!(!optional);
        }
    }
    doc
}

/// `GET /api/openapi.json`: the description, built once.
pub async fn serve() -> Response {
    static JSON: OnceLock<String> = OnceLock::new();
    let body = JSON.get_or_init(|| document().to_string());
    ([(header::CONTENT_TYPE, "application/json")], body.clone()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The description names exactly the routes the router serves, with exactly their
    /// methods: it cannot drift from the code.
    #[test]
    fn paths_and_methods_match_the_router() {
        let spec = document();
        assert_eq!(spec["openapi"], "3.1.0");
        // Body-reading operations declare the body errors (shared through `BodyErrors`).
        let register = &spec["paths"]["/api/auth/register/"]["post"]["responses"];
        for status in ["201", "400", "401", "413", "415", "429"] {
            assert!(register.get(status).is_some(), "register answers {status}");
        }
        // Every operation is an object whose request body, if any, is one too.
        for item in spec["paths"].as_object().unwrap().values() {
            for operation in item.as_object().unwrap().values() {
                if let Some(body) = operation.get("requestBody") {
                    assert!(body.is_object(), "{operation}");
                }
            }
        }
        let paths = spec["paths"].as_object().unwrap();
        let mut documented: Vec<(String, Vec<String>)> = paths
            .iter()
            .map(|(path, item)| {
                let mut methods: Vec<String> = item
                    .as_object()
                    .unwrap()
                    .keys()
                    .filter(|k| !matches!(k.as_str(), "parameters" | "summary" | "description"))
                    .map(|k| k.to_ascii_uppercase())
                    .collect();
                methods.sort();
                (path.clone(), methods)
            })
            .collect();
        documented.sort();
        let mut routed: Vec<(String, Vec<String>)> = super::super::endpoints()
            .into_iter()
            .map(|e| {
                // verify-email names HEAD in `Allow` as DRF does, yet answers it with 405:
                // the description lists what is served.
                let served =
                    |m: &&str| !(e.path == "/api/auth/register/verify-email/" && *m == "HEAD");
                let mut methods: Vec<String> = e
                    .allow
                    .split(", ")
                    .filter(served)
                    .map(str::to_owned)
                    .collect();
                methods.sort();
                (e.path.to_owned(), methods)
            })
            .collect();
        routed.sort();
        assert_eq!(documented, routed);
    }
}
