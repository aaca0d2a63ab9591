//! Who is calling: the extractors a handler adds to require (or accept) a signed-in user.
//!
//! ```ignore
//! async fn dashboard(CurrentUser { user, .. }: CurrentUser) -> String {
//!     format!("Hello, {}!", user.username)
//! }
//! ```
//!
//! `CurrentUser` rejects the request with the contract's 401 bodies when there is no valid
//! access token, the token's session was revoked, or the user is gone or inactive.
//! `MaybeUser` lets anonymous requests through, but still refuses an invalid token (as DRF
//! does: a client sending a bad token should learn about it).

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use std::net::IpAddr;

use super::error::ApiError;
use crate::auth::jwt::{Claims, JwtError};
use crate::auth::tokens::TokenError;
use crate::client_ip::ClientIp;
use crate::state::AppState;
use crate::users::User;

/// The signed-in caller of an endpoint that requires one.
#[derive(Clone, Debug)]
pub struct CurrentUser {
    /// The caller's row, read through the user cache (so up to `USER_CACHE_TTL_MS` old if
    /// another instance changed it); always active.
    pub user: User,
    /// The access token's claims (`sid` names the sign-in session).
    pub claims: Claims,
}

/// The caller, if the request carries credentials (a bad token is still refused).
#[derive(Clone, Debug)]
pub struct MaybeUser(pub Option<CurrentUser>);

/// The bearer token of an `Authorization` header, simplejwt's way: another scheme (or no
/// header) means "no credentials", `Bearer` alone or with extra parts is malformed.
pub fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    // Bytes, as simplejwt reads them: a header that is not ASCII is still a Bearer
    // header, and its token simply is not valid.
    let mut parts = value
        .as_bytes()
        .split(u8::is_ascii_whitespace)
        .filter(|part| !part.is_empty());
    if parts.next() != Some(&b"Bearer"[..]) {
        return Ok(None);
    }
    match (parts.next(), parts.next()) {
        (Some(token), None) => match std::str::from_utf8(token) {
            Ok(token) if token.is_ascii() => Ok(Some(token)),
            _ => Err(ApiError::BearerNotValid(JwtError::Invalid)),
        },
        _ => Err(ApiError::BadAuthorizationHeader),
    }
}

/// Checks `token` and records the use of its sign-in by the client at `ip` (at most one
/// write a minute per sign-in).
async fn authenticate(state: &AppState, token: &str, ip: IpAddr) -> Result<CurrentUser, ApiError> {
    let (claims, user) = state
        .tokens
        .authenticate(token)
        .await
        .map_err(|error| match error {
            TokenError::Jwt(reason) => ApiError::BearerNotValid(reason),
            other => other.into(),
        })?;
    state.tokens.record_use(&claims.sid, ip).await;
    Ok(CurrentUser {
        user: User::clone(&user),
        claims,
    })
}

impl<S> FromRequestParts<S> for CurrentUser
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let Ok(ClientIp(ip)) = ClientIp::from_request_parts(parts, &state).await;
        match bearer_token(&parts.headers)? {
            Some(token) => authenticate(&state, token, ip).await,
            None => Err(ApiError::NotAuthenticated),
        }
    }
}

impl<S> FromRequestParts<S> for MaybeUser
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let Ok(ClientIp(ip)) = ClientIp::from_request_parts(parts, &state).await;
        match bearer_token(&parts.headers)? {
            Some(token) => Ok(MaybeUser(Some(authenticate(&state, token, ip).await?))),
            None => Ok(MaybeUser(None)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, value.parse().unwrap());
        h
    }

    #[test]
    fn parses_like_simplejwt() {
        assert_eq!(bearer_token(&HeaderMap::new()).unwrap(), None);
        assert_eq!(bearer_token(&headers("Bearer abc")).unwrap(), Some("abc"));
        assert_eq!(bearer_token(&headers("Token abc")).unwrap(), None);
        assert_eq!(bearer_token(&headers("bearer abc")).unwrap(), None);
        assert!(bearer_token(&headers("Bearer")).is_err());
        assert!(bearer_token(&headers("Bearer a b")).is_err());
        // Not ASCII: still a Bearer header, with a token that is not valid.
        let mut h = HeaderMap::new();
        let value = axum::http::HeaderValue::from_bytes(b"Bearer abc\xc3\xa9").unwrap();
        h.insert(header::AUTHORIZATION, value);
        assert!(matches!(bearer_token(&h), Err(ApiError::BearerNotValid(_))));
    }
}
