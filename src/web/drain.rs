//! The last moments before a graceful stop. Between SIGTERM and closing the listener the app
//! still answers every request, but closes each connection after its answer and tells health
//! checks it is going away. A request a client had already sent on an idle keep-alive
//! connection is then answered instead of meeting a closed socket, and a load balancer in
//! front stops sending people here before the port goes dark.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, Version, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Whether the app is on its way out.
#[derive(Debug, Default)]
pub struct Drain(AtomicBool);

impl Drain {
    pub fn start(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Middleware: while draining, `/healthz` answers 503 and every HTTP/1 answer closes its
/// connection (HTTP/2 has no `Connection` header; its streams end with the server).
pub async fn close_connections(
    State(drain): State<Arc<Drain>>,
    req: Request,
    next: Next,
) -> Response {
    if !drain.is_draining() {
        return next.run(req).await;
    }
    let http1 = req.version() <= Version::HTTP_11;
    let mut res = if req.uri().path() == "/healthz" {
        (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response()
    } else {
        next.run(req).await
    };
    if http1 {
        res.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::middleware::from_fn_with_state;
    use axum::routing::get;
    use tower::ServiceExt;

    fn app(drain: Arc<Drain>) -> Router {
        Router::new()
            .route("/healthz", get(|| async { "ok\n" }))
            .route("/page", get(|| async { "page" }))
            .layer(from_fn_with_state(drain, close_connections))
    }

    async fn call(app: Router, path: &str) -> (StatusCode, Option<String>, String) {
        let res = app
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let connection = res
            .headers()
            .get(header::CONNECTION)
            .map(|v| v.to_str().unwrap().to_string());
        let body = axum::body::to_bytes(res.into_body(), 1024).await.unwrap();
        (
            status,
            connection,
            String::from_utf8(body.to_vec()).unwrap(),
        )
    }

    #[tokio::test]
    async fn before_the_signal_answers_are_untouched() {
        let drain = Arc::new(Drain::default());
        assert_eq!(
            call(app(drain.clone()), "/page").await,
            (StatusCode::OK, None, "page".into())
        );
        assert_eq!(
            call(app(drain), "/healthz").await,
            (StatusCode::OK, None, "ok\n".into())
        );
    }

    #[tokio::test]
    async fn while_draining_pages_are_served_and_close_their_connection() {
        let drain = Arc::new(Drain::default());
        drain.start();
        assert!(drain.is_draining());
        assert_eq!(
            call(app(drain.clone()), "/page").await,
            (StatusCode::OK, Some("close".into()), "page".into())
        );
        assert_eq!(
            call(app(drain), "/healthz").await,
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Some("close".into()),
                "shutting down\n".into()
            )
        );
    }
}
