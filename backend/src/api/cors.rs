//! CORS for the API, as django-cors-headers answers it: only configured origins are echoed
//! (never `*`, since credentials are allowed), preflights are answered here, and a
//! disallowed origin gets no `access-control-*` header at all.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

const ALLOW_HEADERS: HeaderValue = HeaderValue::from_static(
    "accept, authorization, content-type, user-agent, x-csrftoken, x-requested-with",
);
const ALLOW_METHODS: HeaderValue =
    HeaderValue::from_static("DELETE, GET, OPTIONS, PATCH, POST, PUT");
const MAX_AGE: HeaderValue = HeaderValue::from_static("86400");

#[derive(Clone, Debug)]
pub struct AllowedOrigins(pub Arc<Vec<String>>);

pub async fn cors(State(allowed): State<AllowedOrigins>, req: Request, next: Next) -> Response {
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .filter(|o| {
            o.to_str()
                .is_ok_and(|o| allowed.0.iter().any(|a| a.eq_ignore_ascii_case(o)))
        })
        .cloned();
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);

    let mut response = if preflight {
        (StatusCode::OK, Body::empty()).into_response()
    } else {
        next.run(req).await
    };
    let headers = response.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("origin"));
    if let Some(origin) = origin {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        if preflight {
            headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOW_HEADERS);
            headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, ALLOW_METHODS);
            headers.insert(header::ACCESS_CONTROL_MAX_AGE, MAX_AGE);
        }
    }
    response
}
