//! The application assembled: every domain's routes, the navigation, and the layers around
//! them. The one file that names every domain; `web` below it names none.

use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, Method, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::csrf::CsrfLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::web::error::AppError;
use crate::web::middleware;
use crate::web::pages::NavLink;
use crate::web::{AppState, RouteDef, Routes};

/// The navigation in its order: a label and the page it opens. Each link takes the access of
/// the GET route at its address, so nobody is shown a link they would be refused; an address
/// that is not a GET route stops the app at start-up.
pub const NAV: &[(&str, &str)] = &[
    ("Home", "/"),
    ("Clients", "/clients"),
    ("Requests", "/requests"),
    ("Planner", "/planner"),
    ("Offboarding", "/offboarding"),
    ("Reports", "/reports"),
    ("Substitutes", "/substitutes"),
];

/// The admin's pages, under one "Admin" menu at the end of the navigation (nine links in a
/// row pushed "Sign out" onto a second line at common laptop widths).
pub const ADMIN_MENU: &[(&str, &str)] = &[
    ("Users", "/admin/users"),
    ("Sign-in", "/admin/sign-in"),
    ("Distribution list", "/admin/distribution"),
    ("Approval chain", "/admin/approvals"),
    ("Checklist", "/admin/checklist"),
    ("Reasons", "/admin/reasons"),
    ("Addendum wording", "/admin/addendum"),
    ("Chat channels", "/admin/chat"),
    ("Mail log", "/admin/mail"),
    ("Audit log", "/admin/audit"),
];

/// The navigation links with their routes' access.
fn navigation(defs: &[RouteDef]) -> Vec<NavLink> {
    NAV.iter()
        .map(|&(label, href)| (label, href, false))
        .chain(ADMIN_MENU.iter().map(|&(label, href)| (label, href, true)))
        .map(|(label, href, in_menu)| {
            let route = defs
                .iter()
                .find(|d| d.method == Method::GET && d.path == href)
                .unwrap_or_else(|| panic!("the {label} link opens {href}, which is no GET route"));
            NavLink {
                label,
                href,
                access: route.access,
                in_menu,
            }
        })
        .collect()
}

/// A path as the log keeps it: a client's signing link (`/sign/<token>`) without its token,
/// which is a secret for 14 days.
fn logged_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path.strip_prefix("/sign/") {
        Some(rest) => {
            let after = rest.find('/').map_or("", |i| &rest[i..]);
            format!("/sign/(token){after}").into()
        }
        None => path.into(),
    }
}

/// Each request's span: its id, method, route (as declared) and address; the signed-in
/// user's id once known, then its status and time. Its line in the log is written when it
/// closes, with all of them.
fn request_span<B>(req: &axum::http::Request<B>) -> tracing::Span {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        route = crate::metrics::route_of(req),
        path = %logged_path(req.uri().path()),
        user_id = tracing::field::Empty,
        status = tracing::field::Empty,
        duration_ms = tracing::field::Empty,
    )
}

/// Puts the answer's status and time into the request's span.
fn answered<B>(res: &axum::http::Response<B>, latency: Duration, span: &tracing::Span) {
    span.record("status", res.status().as_u16());
    // To the tenth of a millisecond: enough to tell a fast page from a slow one.
    span.record(
        "duration_ms",
        (latency.as_secs_f64() * 10_000.0).round() / 10.0,
    );
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
    let routes = crate::metrics::routes(routes);
    let routes = crate::auth::routes(routes);
    let routes = crate::home::routes(routes);
    let routes = crate::clients::routes(routes);
    let routes = crate::change_requests::routes(routes);
    let routes = crate::retention::routes(routes);
    let routes = crate::approvals::routes(routes);
    let routes = crate::operations::routes(routes);
    let routes = crate::checklists::routes(routes);
    let routes = crate::signing::routes(routes);
    let routes = crate::chat::routes(routes);
    let routes = crate::users::routes(routes);
    let routes = crate::notifications::routes(routes);
    let routes = crate::audit::log::routes(routes);
    let routes = crate::reports::routes(routes);
    let routes = crate::setup::routes(routes);
    let (router, defs) = routes.finish();
    // Set once: building the app again on the same state (the route table) finds it set.
    let _ = state.nav.set(navigation(&defs));

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
        .fallback(|| async { AppError::NotFound })
        .with_state(state.clone())
        .layer(
            ServiceBuilder::new()
                // The request's id is always the app's own: one sent in could repeat another
                // request's, or write words of its choosing into the log line.
                .layer(from_fn(middleware::drop_request_id))
                .layer(SetRequestIdLayer::new(
                    x_request_id.clone(),
                    MakeRequestUuid,
                ))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(request_span)
                        .on_response(answered),
                )
                .layer(PropagateRequestIdLayer::new(x_request_id))
                .layer(from_fn_with_state(
                    state.config.secure_cookies(),
                    middleware::security_headers,
                ))
                .layer(from_fn(middleware::render_errors))
                .layer(from_fn_with_state(state.clone(), crate::metrics::count))
                .layer(CatchPanicLayer::new())
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::REQUEST_TIMEOUT,
                    Duration::from_secs(30),
                ))
                .layer(csrf),
        );
    (router, defs)
}

#[cfg(test)]
mod tests {
    use super::logged_path;

    #[test]
    fn the_log_keeps_no_signing_token() {
        let token = "ab".repeat(32);
        assert_eq!(logged_path(&format!("/sign/{token}")), "/sign/(token)");
        assert_eq!(
            logged_path(&format!("/sign/{token}/addendum.pdf")),
            "/sign/(token)/addendum.pdf"
        );
        assert_eq!(logged_path("/requests/7"), "/requests/7");
    }
}
