//! What every page shares: the chrome around it (who is signed in, the navigation their roles
//! may use, the one-shot message), pagination, and the error page.

use askama::Template;
use askama_web::WebTemplate;
use axum::http::StatusCode;

use super::AppState;
use super::ctx::Ctx;
use crate::auth::access::{Access, Decision};

/// One entry in the navigation bar, as a page shows it.
#[derive(Clone, Debug)]
pub struct NavItem {
    pub label: &'static str,
    pub href: &'static str,
    pub active: bool,
}

/// A navigation link with the access of the route it opens (assembled by `crate::app`).
#[derive(Clone, Copy, Debug)]
pub struct NavLink {
    pub label: &'static str,
    pub href: &'static str,
    pub access: Access,
    /// Under the "Admin" menu rather than in the bar.
    pub in_menu: bool,
}

/// The frame of a signed-in page.
#[derive(Clone, Debug)]
pub struct Chrome {
    pub user_name: String,
    pub user_email: String,
    pub role_labels: String,
    pub nav: Vec<NavItem>,
    /// The admin's pages this person may open, under one menu (empty: no menu).
    pub admin_menu: Vec<NavItem>,
    pub flash: Option<String>,
    pub demo: bool,
}

impl Chrome {
    /// Whether the page shown is one of the admin menu's.
    pub fn admin_active(&self) -> bool {
        self.admin_menu.iter().any(|item| item.active)
    }

    /// The chrome for `ctx`'s user, with `current` (a path) marked in the navigation.
    pub fn new(state: &AppState, ctx: &Ctx, current: &str) -> Self {
        let (admin_menu, nav): (Vec<_>, Vec<_>) = state
            .nav
            .get()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter(|link| link.access.allows(Some(&ctx.user)) == Decision::Allow)
            .partition(|link| link.in_menu);
        let items = |links: Vec<&NavLink>| -> Vec<NavItem> {
            links
                .into_iter()
                .map(|link| NavItem {
                    label: link.label,
                    href: link.href,
                    active: if link.href == "/" {
                        current == "/"
                    } else {
                        current.starts_with(link.href)
                    },
                })
                .collect()
        };
        Chrome {
            user_name: ctx.user.display_name.clone(),
            user_email: ctx.user.email.clone(),
            role_labels: ctx.user.roles.labels(),
            nav: items(nav),
            admin_menu: items(admin_menu),
            flash: ctx.user.show_flash(),
            demo: state.config.demo,
        }
    }
}

/// Offset pagination for short lists (people, not events).
#[derive(Clone, Debug)]
pub struct Pager {
    pub page: i64,
    pub per_page: i64,
    pub has_next: bool,
    /// Query string kept on the previous/next links (already encoded, without `page`).
    pub keep: String,
}

impl Pager {
    pub fn new(page: Option<i64>, per_page: i64) -> Self {
        Pager {
            page: page.unwrap_or(1).clamp(1, 100_000),
            per_page,
            has_next: false,
            keep: String::new(),
        }
    }

    pub fn offset(&self) -> i64 {
        (self.page - 1) * self.per_page
    }

    /// Ask for one row more than a page; that row tells whether there is a next page.
    pub fn limit(&self) -> i64 {
        self.per_page + 1
    }

    /// Trims the extra row and records whether it was there.
    pub fn trim<T>(&mut self, mut rows: Vec<T>) -> Vec<T> {
        self.has_next = rows.len() as i64 > self.per_page;
        rows.truncate(self.per_page as usize);
        rows
    }

    pub fn has_prev(&self) -> bool {
        self.page > 1
    }

    pub fn prev_href(&self) -> String {
        format!("?page={}{}", self.page - 1, self.keep)
    }

    pub fn next_href(&self) -> String {
        format!("?page={}{}", self.page + 1, self.keep)
    }
}

/// The page shown for any error: what happened in plain words and the id to quote.
#[derive(Template, WebTemplate)]
#[template(path = "errors/error.html")]
pub struct ErrorPage {
    pub status: u16,
    pub title: &'static str,
    pub explanation: String,
    pub request_id: String,
}

impl ErrorPage {
    pub fn new(status: StatusCode, request_id: String, message: Option<String>) -> Self {
        let (title, explanation) = match status {
            StatusCode::FORBIDDEN => (
                "You don't have access to this",
                "Your roles do not include this page or action. If you need it, ask an administrator.",
            ),
            StatusCode::NOT_FOUND => (
                "Page not found",
                "There is nothing at this address. It may have been moved, or the link is mistyped.",
            ),
            StatusCode::METHOD_NOT_ALLOWED => (
                "That action is not available here",
                "The page does not accept this kind of request.",
            ),
            StatusCode::PAYLOAD_TOO_LARGE => (
                "Too large",
                "What was sent is larger than this page accepts.",
            ),
            StatusCode::SERVICE_UNAVAILABLE => (
                "Temporarily unavailable",
                "The desk cannot reach its database right now. Nothing you saved is lost; try again in a moment.",
            ),
            StatusCode::REQUEST_TIMEOUT => (
                "That took too long",
                "The request was stopped before it finished. Try again.",
            ),
            s if s.is_client_error() => (
                "That request could not be used",
                "Something in the request was not as expected. Go back and try again.",
            ),
            _ => (
                "Something went wrong",
                "The desk hit an unexpected problem and has recorded it. Try again; if it keeps happening, quote the reference below.",
            ),
        };
        ErrorPage {
            status: status.as_u16(),
            title,
            explanation: message.unwrap_or_else(|| explanation.to_string()),
            request_id,
        }
    }
}
