//! HTTP glue shared by every domain: state, route declaration with access rules, the request
//! context, errors, layers and page chrome. No business rules live here.

pub mod ctx;
pub mod drain;
pub mod error;
pub mod fields;
pub mod middleware;
pub mod outage;
pub mod pages;
pub mod retire;
pub mod routes;
pub mod text;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state};
use sqlx::PgPool;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::csrf::CsrfLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
pub use routes::{Access, RouteDef, Routes};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub config: Arc<Config>,
    /// Whether the database was unreachable a moment ago (requests then fail fast).
    pub outage: Arc<outage::Outage>,
    /// Now and today, in the agency's time zone.
    pub clock: crate::time::Clock,
}

impl AppState {
    /// The state of an app on `db` with `config`; pages show times in its zone.
    pub fn new(db: PgPool, config: Arc<Config>) -> Self {
        crate::time::set_display_zone(config.time_zone);
        AppState {
            clock: crate::time::Clock::new(config.time_zone),
            db,
            config,
            outage: Default::default(),
        }
    }
}

/// The whole application as a router.
pub fn app(state: AppState) -> Router {
    build(state).0
}

/// Every declared route with its access rule (for the route × role tests).
pub fn route_table(state: AppState) -> Vec<RouteDef> {
    build(state).1
}

fn build(state: AppState) -> (Router, Vec<RouteDef>) {
    let routes = Routes::new(state.clone());
    let routes = crate::health::routes(routes);
    let routes = crate::auth::routes(routes);
    let routes = crate::home::routes(routes);
    let routes = crate::clients::routes(routes);
    let routes = crate::change_requests::routes(routes);
    let routes = crate::retention::routes(routes);
    let routes = crate::approvals::routes(routes);
    let routes = crate::operations::routes(routes);
    let routes = crate::checklists::routes(routes);
    let routes = crate::users::routes(routes);
    let routes = crate::notifications::routes(routes);
    let routes = crate::audit::routes(routes);
    let (router, defs) = routes.finish();

    // Same-origin requests pass by Sec-Fetch-Site or Origin = Host; the configured public
    // address is trusted too, for proxies that rewrite Host.
    let csrf = CsrfLayer::new()
        .add_trusted_origin(&state.config.base_url)
        .unwrap_or_else(|_| CsrfLayer::new());
    let x_request_id = HeaderName::from_static("x-request-id");
    let static_files = ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::overriding(
            axum::http::header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("public, max-age=3600"),
        ))
        .service(ServeDir::new(&state.config.static_dir));

    let router = router
        .layer(from_fn_with_state(state.clone(), middleware::load_user))
        .layer(from_fn(middleware::no_store))
        .nest_service("/static", static_files)
        .fallback(|| async { crate::web::error::AppError::NotFound })
        .with_state(state.clone())
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(x_request_id.clone(), MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                        let id = req
                            .headers()
                            .get("x-request-id")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("");
                        tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
                    }),
                )
                .layer(PropagateRequestIdLayer::new(x_request_id))
                .layer(from_fn_with_state(
                    state.config.secure_cookies(),
                    middleware::security_headers,
                ))
                .layer(from_fn(middleware::render_errors))
                .layer(CatchPanicLayer::new())
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::REQUEST_TIMEOUT,
                    Duration::from_secs(30),
                ))
                .layer(csrf),
        );
    (router, defs)
}
