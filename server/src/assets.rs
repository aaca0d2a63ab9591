//! The router's fallback: the site's static files (JS, WASM, CSS, favicon), else the app's
//! own 404 page.
//!
//! With the `embed` feature the files are baked into the binary at build time, so the
//! binary can be deployed alone; without it they are read from `LEPTOS_SITE_ROOT`, which is
//! what `cargo leptos watch` rebuilds while developing.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, Uri};
use axum::response::Response;
use leptos::prelude::provide_context;

use crate::server_state::ServerState;

/// Assets are not content-hashed, so browsers must revalidate (cheap, thanks to the ETag or
/// Last-Modified) rather than cache blindly and run yesterday's WASM against today's server.
const ASSET_CACHE_CONTROL: HeaderValue = HeaderValue::from_static("no-cache");

pub async fn static_or_not_found(State(state): State<ServerState>, req: Request) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        let (method, uri, headers) = (req.method(), req.uri(), req.headers());
        if let Some(mut response) = serve_static(&state, method, uri, headers).await {
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, ASSET_CACHE_CONTROL);
            return response;
        }
    }
    // Not an asset: the 404 page, whose header still shows who is signed in.
    let mut req = req;
    if let Some(session) = req.extensions().get::<tower_sessions::Session>().cloned() {
        let user = state
            .app
            .browser
            .sessions
            .current(&session)
            .await
            .ok()
            .flatten()
            .map(|current| current.user);
        req.extensions_mut().insert(backend::web::PageContext {
            user,
            ..Default::default()
        });
    }
    let app_state = state.app.clone();
    let options = state.leptos.clone();
    let render = leptos_axum::render_app_to_stream_with_context(
        move || provide_context(app_state.clone()),
        move || app::shell(options.clone()),
    );
    render(req).await
}

#[cfg(not(feature = "embed"))]
async fn serve_static(
    state: &ServerState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Option<Response> {
    use axum::http::StatusCode;
    use tower::ServiceExt;
    use tower_http::services::ServeDir;

    let mut probe = Request::new(Body::empty());
    *probe.method_mut() = method.clone();
    *probe.uri_mut() = uri.clone();
    *probe.headers_mut() = headers.clone();
    let response = ServeDir::new(&state.app.config.site_root)
        .precompressed_br()
        .precompressed_gzip()
        .append_index_html_on_directories(false)
        .oneshot(probe)
        .await
        .ok()?;
    (response.status() != StatusCode::NOT_FOUND).then(|| response.map(Body::new))
}

#[cfg(feature = "embed")]
#[derive(rust_embed::Embed)]
#[folder = "../target/site/"]
// TypeScript declarations are for editors, not browsers.
#[exclude = "*.d.ts"]
#[exclude = "*.d.ts.*"]
struct Site;

#[cfg(feature = "embed")]
async fn serve_static(
    _state: &ServerState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Option<Response> {
    use axum::http::StatusCode;

    let path = uri.path().trim_start_matches('/');
    if path.is_empty() || path.ends_with(".br") || path.ends_with(".gz") {
        return None;
    }
    let accepted = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    // Prefer a precompressed variant (`cargo leptos build --precompress`) the client accepts.
    let (file, encoding) = [("br", "br"), ("gzip", "gz")]
        .into_iter()
        .filter(|(coding, _)| accepts_encoding(accepted, coding))
        .find_map(|(coding, ext)| Site::get(&format!("{path}.{ext}")).map(|f| (f, Some(coding))))
        .or_else(|| Site::get(path).map(|f| (f, None)))?;

    let etag = format!(
        "\"{}{}\"",
        file.metadata.sha256_hash()[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>(),
        encoding.map(|e| format!("-{e}")).unwrap_or_default()
    );
    let mut builder = Response::builder()
        .header(header::ETAG, &etag)
        .header(header::VARY, "accept-encoding");
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes());
    if not_modified {
        return builder
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
            .ok();
    }
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    builder = builder
        .header(header::CONTENT_TYPE, mime.as_ref())
        .header(header::CONTENT_LENGTH, file.data.len());
    if let Some(coding) = encoding {
        builder = builder.header(header::CONTENT_ENCODING, coding);
    }
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(file.data.into_owned())
    };
    builder.body(body).ok()
}

/// Whether an `Accept-Encoding` value allows `coding` (`q=0` means "not this one").
#[cfg_attr(not(feature = "embed"), allow(dead_code))]
fn accepts_encoding(header_value: &str, coding: &str) -> bool {
    header_value.split(',').any(|item| {
        let mut parts = item.split(';').map(str::trim);
        let name = parts.next().unwrap_or_default();
        let refused = parts.any(|p| {
            p.strip_prefix("q=")
                .and_then(|q| q.parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        (name.eq_ignore_ascii_case(coding) || name == "*") && !refused
    })
}

#[cfg(test)]
mod tests {
    use super::accepts_encoding;

    #[test]
    fn accept_encoding_parsing() {
        assert!(accepts_encoding("gzip, deflate, br, zstd", "br"));
        assert!(accepts_encoding("gzip;q=0.5", "gzip"));
        assert!(!accepts_encoding("gzip;q=0, br", "gzip"));
        assert!(!accepts_encoding("identity", "br"));
        assert!(accepts_encoding("*", "br"));
        assert!(!accepts_encoding("", "gzip"));
    }
}
