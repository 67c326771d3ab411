//! Layers every response passes through: security headers, error pages, and loading the
//! signed-in user.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::AppState;
use super::error::{AppError, ErrorMark};
use super::flash;
use super::pages::ErrorPage;
use crate::auth::session;

/// The Content-Security-Policy: only this site's own files, no inline script, no framing.
pub const CSP: &str = "default-src 'self'; object-src 'none'; base-uri 'none'; \
                       frame-ancestors 'none'; form-action 'self'";

/// Adds the security headers to every response, error pages and static files included.
pub async fn security_headers(State(hsts): State<bool>, req: Request, next: Next) -> Response {
    // A client's signing link (`/sign/<token>`) never leaks through a referrer nor lands in a
    // search index, whatever answers it (its pages, a refused form, an error).
    let signing = req.uri().path().starts_with("/sign/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if signing {
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        h.insert(
            "x-robots-tag",
            HeaderValue::from_static("noindex, nofollow"),
        );
    }
    // A response may bring a stricter policy of its own (the sandboxed email preview; the
    // signing pages, which send no referrer at all).
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(CSP));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("same-origin"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if hsts {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    res
}

/// Pages carrying someone's data are never stored by browsers or proxies.
pub async fn no_store(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    res.headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    res
}

/// Turns bare error responses (and those marked by [`AppError`]) into a page that shows the
/// request id, and logs what went wrong once, inside the request's span.
pub async fn render_errors(req: Request, next: Next) -> Response {
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let mark = res.extensions().get::<ErrorMark>().cloned();
    let bare = !res.headers().contains_key(header::CONTENT_TYPE);
    // A form or address the extractors could not read answers in plain text (the framework's
    // words, such as "Failed to deserialize query string"): a page with a sentence instead.
    let unreadable = matches!(
        status,
        StatusCode::BAD_REQUEST
            | StatusCode::PAYLOAD_TOO_LARGE
            | StatusCode::UNSUPPORTED_MEDIA_TYPE
            | StatusCode::UNPROCESSABLE_ENTITY
    ) && res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    if mark.is_none() && !bare && !unreadable {
        return res;
    }
    let mark = mark.unwrap_or(ErrorMark {
        detail: None,
        message: (unreadable && status != StatusCode::PAYLOAD_TOO_LARGE).then(|| {
            "The desk could not read what was sent: a field or an address holds a value it does not expect. Go back, check what you typed and send it again.".to_string()
        }),
    });
    if let Some(detail) = &mark.detail {
        if status.is_server_error() {
            tracing::error!(%status, detail, "request failed");
        } else {
            tracing::warn!(%status, detail, "request refused");
        }
    }
    let mut page = ErrorPage::new(status, request_id, mark.message).into_response();
    *page.status_mut() = status;
    if let Some(allow) = res.headers().get(header::ALLOW) {
        page.headers_mut().insert(header::ALLOW, allow.clone());
    }
    // Cookies the answer set or cleared still go (an ended session's, say).
    for cookie in res.headers().get_all(header::SET_COOKIE) {
        page.headers_mut()
            .append(header::SET_COOKIE, cookie.clone());
    }
    page
}

/// Whether `res` sets (or clears) the cookie `name`.
fn sets_cookie(res: &Response, name: &str) -> bool {
    res.headers().get_all(header::SET_COOKIE).iter().any(|v| {
        v.as_bytes()
            .strip_prefix(name.as_bytes())
            .is_some_and(|rest| rest.starts_with(b"="))
    })
}

/// Removes an `X-Request-Id` the request came with, so the next layer makes a fresh one.
pub async fn drop_request_id(mut req: Request, next: Next) -> Response {
    req.headers_mut().remove("x-request-id");
    next.run(req).await
}

/// Loads the session named by the cookie and, when it is live, puts its user in the request.
pub async fn load_user(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if super::outage::ALWAYS_ANSWERED.contains(&req.uri().path()) {
        return next.run(req).await;
    }
    // While the database is away, answer at once rather than each request waiting out the
    // pool's timeout (one request at a time still tries it).
    let ticket = state.outage.admit();
    if ticket.refused() {
        return AppError::Unavailable("the database was unreachable a moment ago".into())
            .into_response();
    }
    if ticket.is_probe() {
        match sqlx::query("SELECT 1").execute(&state.db).await {
            Ok(_) => ticket.reachable(),
            Err(e) => {
                ticket.unreachable();
                return AppError::from(e).into_response();
            }
        }
    }
    let response = load_user_and_run(&state, req, next).await;
    if response.status() == axum::http::StatusCode::SERVICE_UNAVAILABLE {
        ticket.unreachable();
    }
    response
}

async fn load_user_and_run(state: &AppState, mut req: Request, next: Next) -> Response {
    let secure = state.config.secure_cookies();
    let jar = CookieJar::from_headers(req.headers());
    // The session's secret keys its message's tag; whether a page showed the message.
    let mut signed_in: Option<(String, Arc<AtomicBool>)> = None;
    let mut flash_sent = false;
    let mut ended = false;
    if let Some(cookie) = jar.get(session::cookie_name(secure)) {
        match session::load(
            &state.db,
            &state.sessions,
            cookie.value(),
            state.config.session_idle,
        )
        .await
        {
            Ok(Some(mut user)) => {
                // The message the previous answer left, if this session's tag vouches for it.
                if let Some(c) = jar.get(flash::cookie_name(secure)) {
                    user.flash = flash::read(cookie.value().as_bytes(), c.value());
                    flash_sent = true;
                }
                let shown = Arc::new(AtomicBool::new(false));
                user.flash_shown = shown.clone();
                signed_in = Some((cookie.value().to_string(), shown));
                tracing::Span::current().record("user_id", user.id);
                req.extensions_mut().insert(user);
            }
            // The cookie names a session that has ended (signed out elsewhere, expired, the
            // account disabled or changed): the sign-in page says so.
            Ok(None) => {
                req.extensions_mut().insert(super::ctx::SessionEnded);
                ended = true;
            }
            Err(e) => return AppError::from(e).into_response(),
        }
    }
    let mut res = next.run(req).await;
    // The ended session's cookie goes with this answer (said once; a bookmark opened days later
    // does not say it again), unless the answer signs someone in.
    if ended && !sets_cookie(&res, crate::auth::session::cookie_name(secure)) {
        res.headers_mut().append(
            header::SET_COOKIE,
            crate::auth::session::clear_cookie(secure),
        );
    }
    let message = res.extensions_mut().remove::<flash::Flash>();
    match (message, signed_in) {
        (Some(flash::Flash(message)), Some((secret, _))) => {
            res.headers_mut().append(
                header::SET_COOKIE,
                flash::set_cookie(secure, secret.as_bytes(), &message),
            );
        }
        // A page's chrome showed the message, or the cookie holds none for this session: gone.
        (None, Some((_, shown))) if flash_sent && shown.load(Ordering::Relaxed) => {
            res.headers_mut()
                .append(header::SET_COOKIE, flash::clear_cookie(secure));
        }
        _ => {}
    }
    res
}
