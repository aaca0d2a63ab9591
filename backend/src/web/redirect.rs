//! The redirects that end every form POST (post/redirect/get).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::browser::flash::Flash;
use crate::state::AppState;

/// 303 See Other: after a POST, the browser follows with a GET. A location that is not a
/// valid header value (it never comes from input unchecked) falls back to `/`.
pub fn see_other(location: &str) -> Response {
    let location = HeaderValue::from_str(location).unwrap_or(HeaderValue::from_static("/"));
    let mut res = StatusCode::SEE_OTHER.into_response();
    res.headers_mut().insert(header::LOCATION, location);
    res
}

/// A redirect that carries `flash` to the page it lands on.
pub fn see_other_with(state: &AppState, location: &str, flash: &Flash) -> Response {
    let mut res = see_other(location);
    let browser = &state.browser;
    res.headers_mut().append(
        header::SET_COOKIE,
        browser.flash_key.set_cookie(&browser.cookies, flash),
    );
    res
}
