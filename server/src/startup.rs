//! Builds the application: database, router, listener. `main` and the integration tests
//! both go through [`Application::build`], so tests exercise exactly what ships.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use app::{shell, App};
use axum::http::{HeaderName, Request};
use axum::routing::get;
use axum::Router;
use backend::{AppState, Config, Db};
use leptos::config::{get_configuration, LeptosOptions};
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::server_state::ServerState;
use crate::{admin_gate, assets, csrf, http_metrics, routes, security_headers};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
}

impl Application {
    /// Connects to (and migrates) the database and binds the listener. Binding to port 0
    /// picks a free port, which is how the tests run several servers side by side.
    pub async fn build(mut config: Config) -> anyhow::Result<Application> {
        if config.metrics_token.is_some() {
            backend::metrics::install();
        }
        let db = Db::connect(&config.database_url, config.database_max_connections)
            .await
            .with_context(|| format!("database {}", config.database_display()))?;
        backend::users::migrate_data(&db)
            .await
            .context("migrating data")?;
        let listener = TcpListener::bind(config.site_addr)
            .await
            .with_context(|| format!("cannot listen on {}", config.site_addr))?;
        if config.public_url_is_derived {
            config.public_url = backend::config::default_public_url(listener.local_addr()?);
        }
        let state = AppState::new(config, db).await?;
        // Revocations made before this instance started must count from the first request.
        state
            .tokens
            .revocations()
            .sync(&state.db, chrono::Utc::now().timestamp())
            .await
            .context("loading session revocations")?;
        let router = router(state.clone())?;
        Ok(Application {
            listener,
            router,
            state,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let background = self.state.spawn_background_tasks();
        let upkeep = self
            .state
            .config
            .metrics_token
            .is_some()
            .then(backend::metrics::spawn_upkeep);
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        let result = axum::serve(self.listener, service)
            .with_graceful_shutdown(shutdown)
            .await;
        background.abort();
        if let Some(upkeep) = upkeep {
            upkeep.abort();
        }
        self.state.db.close().await;
        result
    }
}

pub fn router(state: AppState) -> anyhow::Result<Router> {
    let metered = state.config.metrics_token.is_some();
    let leptos = leptos_options(&state.config)?;
    let server_state = ServerState {
        app: state.clone(),
        leptos: leptos.clone(),
    };
    let routes = generate_route_list(App);

    let api = backend::api::router(state.clone());
    let public_origin = csrf::PublicOrigin(state.config.public_url.as_str().into());
    let session_layer = backend::web::session_layer(&state);
    let page_context =
        axum::middleware::from_fn_with_state(state.clone(), backend::web::page_context);
    let forms = backend::web::router().with_state(state.clone());
    let router = Router::new()
        .leptos_routes_with_context(
            &server_state,
            routes,
            move || provide_context(state.clone()),
            move || shell(leptos.clone()),
        )
        // Pages (and server functions) see the signed-in user; protected pages redirect.
        .route_layer(page_context)
        .route("/healthz", get(routes::health::healthz))
        .route("/metrics", get(backend_metrics))
        .route("/readyz", get(routes::health::readyz))
        .fallback(assets::static_or_not_found)
        .with_state(server_state.clone())
        .merge(forms)
        // Staff pages and forms: the ordinary 404 page for everyone else.
        .layer(axum::middleware::from_fn_with_state(
            server_state,
            admin_gate::gate,
        ))
        // Lazy: the cookie is parsed on every request, the store is read only when a
        // handler asks for the session.
        .layer(session_layer)
        .merge(api);

    // Both wrap each route (so the route pattern is known); metrics outside CSRF, so that
    // its refusals are counted too. Without METRICS_TOKEN nothing is recorded, so requests
    // skip the layer altogether.
    let router = router.layer(axum::middleware::from_fn_with_state(
        public_origin,
        csrf::protect,
    ));
    let router = if metered {
        router.layer(axum::middleware::from_fn(http_metrics::record))
    } else {
        router
    };
    let router = router
        .layer(axum::middleware::map_response(security_headers::add))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|req: &Request<_>| {
                            let id = req
                                .headers()
                                .get(REQUEST_ID)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("-");
                            // The path only: query strings can carry OAuth codes and tokens,
                            // and a mailed link's path its token.
                            tracing::info_span!(
                                "request",
                                request_id = %id,
                                method = %req.method(),
                                path = %crate::telemetry::loggable_path(req.uri().path()),
                            )
                        })
                        .on_response(DefaultOnResponse::new().level(Level::INFO)),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID)),
        );
    // Outside every route (a `Router::layer` is not): axum adds `Allow` to what a route
    // answers for a method it lacks, after the route's own layers, so the admin gate's 404
    // (and any other 404) would still say which methods the path has.
    Ok(Router::new()
        .fallback_service(router)
        .layer(axum::middleware::map_response(without_allow_on_404)))
}

/// A 404 names no methods: the page does not exist, whatever the method (and a staff
/// page must look like any unknown address).
async fn without_allow_on_404(mut res: axum::response::Response) -> axum::response::Response {
    if res.status() == axum::http::StatusCode::NOT_FOUND {
        res.headers_mut().remove(axum::http::header::ALLOW);
    }
    res
}

/// `GET /metrics` (only with `METRICS_TOKEN`; see `backend::metrics`).
async fn backend_metrics(
    axum::extract::State(state): axum::extract::State<ServerState>,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    backend::metrics::scrape(axum::extract::State(state.app), headers).await
}

/// Leptos's own options: taken from the `LEPTOS_*` environment that `cargo leptos` sets
/// (reload port, watch mode), with the address and site root from our [`Config`].
fn leptos_options(config: &Config) -> anyhow::Result<LeptosOptions> {
    let mut options = get_configuration(None)
        .context("invalid LEPTOS_* environment variable")?
        .leptos_options;
    options.site_addr = config.site_addr;
    options.site_root = config.site_root.to_string_lossy().as_ref().into();
    Ok(options)
}

/// Resolves on Ctrl-C or SIGTERM (what `docker stop` and Kubernetes send). The handlers
/// are installed when this is called, not when the future is first polled, so a signal
/// that arrives right after start-up is not lost to the default action (instant death).
pub fn shutdown_signal() -> impl Future<Output = ()> + Send {
    #[cfg(unix)]
    let wait = {
        use tokio::signal::unix::{signal, SignalKind};
        let terminate = signal(SignalKind::terminate());
        let interrupt = signal(SignalKind::interrupt());
        async move {
            match (terminate, interrupt) {
                (Ok(mut terminate), Ok(mut interrupt)) => {
                    tokio::select! {
                        _ = terminate.recv() => {},
                        _ = interrupt.recv() => {},
                    }
                }
                _ => std::future::pending::<()>().await,
            }
        }
    };
    #[cfg(not(unix))]
    let wait = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    async move {
        wait.await;
        tracing::info!("shutdown signal received; finishing in-flight requests");
    }
}

/// How long in-flight requests get after a shutdown signal before the process exits anyway.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
