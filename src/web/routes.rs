//! Routes are declared with who may use them, and the declaration both builds the router and
//! lists the routes, so the tests can check every route against every role and fail on a route
//! nobody wrote an expectation for.

use axum::Router;
use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodFilter;

use super::AppState;
use super::ctx::{RequestMeta, login_redirect};
use super::error::AppError;
use crate::audit;
use crate::auth::access::{Access, Decision};
use crate::auth::session::CurrentUser;

/// One declared route.
#[derive(Clone, Debug)]
pub struct RouteDef {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
}

/// Collects routes with their access rule.
pub struct Routes {
    router: Router<AppState>,
    defs: Vec<RouteDef>,
    state: AppState,
}

impl Routes {
    pub fn new(state: AppState) -> Self {
        Routes {
            router: Router::new(),
            defs: Vec::new(),
            state,
        }
    }

    pub fn get<H, T>(self, path: &'static str, access: Access, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(Method::GET, path, access, None, handler)
    }

    pub fn post<H, T>(self, path: &'static str, access: Access, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(Method::POST, path, access, None, handler)
    }

    /// A POST taking a larger body than the default 2 MB (uploads); `limit` bytes at most.
    pub fn post_limited<H, T>(
        self,
        path: &'static str,
        access: Access,
        limit: usize,
        handler: H,
    ) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(Method::POST, path, access, Some(limit), handler)
    }

    fn add<H, T>(
        mut self,
        method: Method,
        path: &'static str,
        access: Access,
        body_limit: Option<usize>,
        handler: H,
    ) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).expect("GET and POST are filters");
        let mut route = axum::routing::on(filter, handler);
        if let Some(limit) = body_limit {
            route = route.layer(axum::extract::DefaultBodyLimit::max(limit));
        }
        let route = route.route_layer(middleware::from_fn_with_state(
            (self.state.clone(), access),
            guard,
        ));
        self.router = self.router.route(path, route);
        self.defs.push(RouteDef {
            method,
            path,
            access,
        });
        self
    }

    /// The router and the list of what it serves.
    pub fn finish(self) -> (Router<AppState>, Vec<RouteDef>) {
        (self.router, self.defs)
    }
}

/// Runs before every handler: sends the anonymous to sign in and refuses (and records) the rest.
async fn guard(
    State((state, access)): State<(AppState, Access)>,
    req: Request,
    next: Next,
) -> Response {
    let user = req.extensions().get::<CurrentUser>();
    match access.allows(user) {
        Decision::Allow => next.run(req).await,
        Decision::SignIn => login_redirect(&req),
        Decision::Refuse => {
            let user = user.cloned().expect("refused only when signed in");
            let meta = RequestMeta::from_parts(req.extensions(), req.headers());
            let details = serde_json::json!({
                "method": req.method().as_str(),
                "path": req.uri().path(),
            });
            let actor = audit::Actor::user(&user, &meta);
            if let Err(e) =
                audit::record_now(&state.db, &actor, "access.refused", "route", None, details).await
            {
                tracing::warn!(error = %e, "could not record a refused access");
            }
            AppError::Forbidden.into_response()
        }
    }
}
