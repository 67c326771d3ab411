//! What a handler knows about who is asking: the signed-in user and the request's address,
//! id and browser, taken from the request once.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};

use crate::audit::Actor;
use crate::auth::roles::Who;
use crate::auth::session::CurrentUser;

/// Where the request came from and its id, for the audit log.
#[derive(Clone, Debug, Default)]
pub struct RequestMeta {
    pub ip: String,
    pub request_id: String,
    pub user_agent: String,
}

impl RequestMeta {
    pub fn from_parts(extensions: &Extensions, headers: &HeaderMap) -> Self {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        RequestMeta {
            ip: extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string())
                .unwrap_or_else(|| "unknown".into()),
            request_id: header("x-request-id"),
            user_agent: header("user-agent"),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestMeta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestMeta::from_parts(&parts.extensions, &parts.headers))
    }
}

/// A signed-in request: the user and the request's metadata. Routes are guarded before the
/// handler runs, so a missing user here only happens on a route declared public by mistake.
#[derive(Clone, Debug)]
pub struct Ctx {
    pub user: CurrentUser,
    pub meta: RequestMeta,
}

impl Ctx {
    /// The person asking, as the workflow's rules know them.
    pub fn who(&self) -> Who {
        Who {
            id: self.user.id,
            roles: self.user.roles,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let meta = RequestMeta::from_parts(&parts.extensions, &parts.headers);
        match parts.extensions.get::<CurrentUser>() {
            Some(user) => Ok(Ctx {
                user: user.clone(),
                meta,
            }),
            None => Err(Redirect::to("/login").into_response()),
        }
    }
}

/// Marks a request whose session cookie names a session that has ended.
#[derive(Debug, Clone, Copy)]
pub struct SessionEnded;

/// Sends someone who is not signed in to the sign-in page, coming back here afterwards when
/// "here" is a page; a form sent (never replayed) comes back to the page it was sent from, on
/// this host. The page says so when their session has ended.
pub fn login_redirect(req: &Request) -> Response {
    let mut query = Vec::new();
    if req.extensions().get::<SessionEnded>().is_some() {
        query.push("expired=1".to_string());
    }
    let path = if req.method() == axum::http::Method::GET {
        req.uri().path_and_query().map(|p| p.as_str().to_string())
    } else {
        page_sent_from(req)
    };
    if let Some(path) = path
        && path != "/"
    {
        query.push(format!("next={}", encode_component(&path)));
    }
    let target = if query.is_empty() {
        "/login".to_string()
    } else {
        format!("/login?{}", query.join("&"))
    };
    Redirect::to(&target).into_response()
}

/// The page a form was sent from (its `Referer`), when that page is on the host the form was
/// sent to.
fn page_sent_from(req: &Request) -> Option<String> {
    let host = req.headers().get(axum::http::header::HOST)?.to_str().ok()?;
    let referer: axum::http::Uri = req
        .headers()
        .get(axum::http::header::REFERER)?
        .to_str()
        .ok()?
        .parse()
        .ok()?;
    let path = referer.path_and_query()?.as_str();
    (referer.authority()?.as_str() == host && safe_next(Some(path)) == path)
        .then(|| path.to_string())
}

/// Percent-encodes everything but unreserved characters.
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A `next` target is followed only when it is a path on this site. Browsers drop tabs and
/// line breaks from an address and read `/\t/evil.example` as `//evil.example`, so any
/// whitespace or control character sends the person home instead (as a CR or LF would also
/// break the `Location` header).
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(|c| c.is_whitespace() || c.is_control()) =>
        {
            n
        }
        _ => "/",
    }
}

/// A transaction a handler holds.
pub type Tx = sqlx::Transaction<'static, sqlx::Postgres>;

/// Ends a change that answers with a message on the next page: the transaction commits and
/// the person is sent to `path`, where `message` is shown (`web::flash`).
pub async fn commit_and_go(
    tx: sqlx::Transaction<'_, sqlx::Postgres>,
    path: &str,
    message: &str,
) -> super::error::AppResult<axum::response::Response> {
    tx.commit().await?;
    Ok(super::flash::redirect(path, message))
}

/// The person behind a request, as the audit log records them.
impl Actor {
    pub fn user(user: &CurrentUser, meta: &RequestMeta) -> Self {
        Actor {
            user_id: Some(user.id),
            label: user.email.clone(),
            ip: Some(meta.ip.clone()),
            request_id: Some(meta.request_id.clone()),
        }
    }

    pub fn from_ctx(ctx: &Ctx) -> Self {
        Actor::user(&ctx.user, &ctx.meta)
    }

    /// Someone not (yet) signed in, named by what they typed.
    pub fn anonymous(label: &str, meta: &RequestMeta) -> Self {
        Actor {
            user_id: None,
            label: label.to_string(),
            ip: Some(meta.ip.clone()),
            request_id: Some(meta.request_id.clone()),
        }
    }

    /// The person `user_id` (`label`, their email) acting in this request before a session
    /// names them: signing in.
    pub fn signing_in(user_id: i64, label: &str, meta: &RequestMeta) -> Self {
        Actor {
            user_id: Some(user_id),
            ..Actor::anonymous(label, meta)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_only_follows_paths_on_this_site() {
        assert_eq!(
            safe_next(Some("/admin/users?page=2")),
            "/admin/users?page=2"
        );
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(None), "/");
        for sneaky in [
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\nSet-Cookie: x=1",
            "/ /evil.example",
            "/\u{0}x",
            "/\u{a0}/evil.example",
            "/\u{7f}",
        ] {
            assert_eq!(safe_next(Some(sneaky)), "/", "{sneaky:?}");
        }
        assert_eq!(
            safe_next(Some("/requests/7?history=all")),
            "/requests/7?history=all"
        );
    }

    #[test]
    fn components_are_percent_encoded() {
        assert_eq!(encode_component("/a b?c=d&e"), "/a%20b%3Fc%3Dd%26e");
    }
}
