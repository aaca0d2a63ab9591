//! Counts every request and times it to the response head, by method, matched route
//! pattern and status (`backend::metrics`). The route is the pattern (`/api/auth/user/`,
//! `/profile/sign-ins/{id}/end`), never the path, so labels stay few; what no route
//! matched (static files, unknown paths) is `other`.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use backend::metrics::{HTTP_DURATION, HTTP_REQUESTS};

pub async fn record(request: Request, next: Next) -> Response {
    let started = Instant::now();
    // Clients may send any method name: a fixed set keeps the labels few.
    let method: &'static str = match *request.method() {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    };
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "other".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!(HTTP_DURATION, "method" => method, "route" => route.clone())
        .record(started.elapsed().as_secs_f64());
    metrics::counter!(HTTP_REQUESTS, "method" => method, "route" => route, "status" => status)
        .increment(1);
    response
}
