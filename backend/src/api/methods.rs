//! What DRF answers for methods a route does not serve, and for `OPTIONS`.

use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::error::ApiError;

/// DRF's metadata answer to a plain `OPTIONS` request.
pub fn options(name: &str, allow: &'static str) -> Response {
    let mut res = (
        StatusCode::OK,
        Json(json!({
            "name": name,
            "description": "",
            "renders": ["application/json"],
            "parses": [
                "application/json",
                "application/x-www-form-urlencoded",
                "multipart/form-data"
            ],
        })),
    )
        .into_response();
    res.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    res
}

/// A method router fallback: `OPTIONS` gets metadata, anything else a 405 with `Allow`.
pub fn fallback(
    name: &'static str,
    allow: &'static str,
) -> impl Fn(Method) -> std::future::Ready<Response> + Clone + Send + Sync + 'static {
    move |method: Method| {
        std::future::ready(if method == Method::OPTIONS {
            options(name, allow)
        } else {
            ApiError::MethodNotAllowed(method, allow).into_response()
        })
    }
}
