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

/// Pages of a list in its order (by id, or by columns then id), each reached by the id of the
/// line at its edge: `?before=` that id for the lines after it in the list's order ("Next",
/// older when the list is newest first), `?after=` for the lines before it ("Previous"). A
/// page deep in the list costs what the first does (an OFFSET reads and drops every line
/// before its page: on 100,000 requests, page 2,000 took 30-48 ms against 1-3 ms for the
/// first, 2026-12-03). The edge's place is read from its row when the page is asked for: a
/// line moved since (another date, another name) moves the place with it.
pub struct Keyset {
    pub per_page: i64,
    pub before: Option<i64>,
    pub after: Option<i64>,
    pub has_next: bool,
    pub has_prev: bool,
    first: Option<i64>,
    last: Option<i64>,
    /// Query string kept on the links (already encoded, starting with `&`).
    pub keep: String,
    /// The list's own address before the links' query, for a list also shown at another
    /// address (after a form on it failed); empty: the links are relative.
    pub path: &'static str,
}

impl Keyset {
    /// `before` wins when both are given; ids below 1 are no edge.
    pub fn new(before: Option<i64>, after: Option<i64>, per_page: i64) -> Self {
        let before = before.filter(|id| *id > 0);
        let after = after.filter(|id| *id > 0 && before.is_none());
        Keyset {
            per_page,
            before,
            after,
            has_next: false,
            has_prev: false,
            first: None,
            last: None,
            keep: String::new(),
            path: "",
        }
    }

    /// Reading back towards the list's start (the statement reads in the list's order
    /// reversed; `trim` turns the page round).
    pub fn backwards(&self) -> bool {
        self.after.is_some()
    }

    /// The id of the line at the page's edge, for the statement to bind.
    pub fn edge(&self) -> Option<i64> {
        self.before.or(self.after)
    }

    /// For a list sorted by `key` (some columns, then its id), `descending` or not: the filter
    /// that keeps the lines past the edge (`AND (key) < (…)`, the edge's own key read by
    /// `edge_key`, a `SELECT` of the same columns from the table aliased `e`, whose id is bound
    /// as `$param`; empty on the first page), and the direction the statement reads in (the
    /// other way when going back).
    pub fn range(
        &self,
        descending: bool,
        key: &str,
        edge_key: &str,
        param: usize,
    ) -> (String, &'static str) {
        let (past, order) = match (self.before, self.after, descending) {
            (Some(_), _, true) | (None, Some(_), false) => ("<", "DESC"),
            (Some(_), _, false) | (None, Some(_), true) => (">", "ASC"),
            (None, None, true) => return (String::new(), "DESC"),
            (None, None, false) => return (String::new(), "ASC"),
        };
        (
            format!("AND ({key}) {past} ({edge_key} WHERE e.id = ${param})"),
            order,
        )
    }

    /// Ask for one line more than a page; that line tells whether the list goes on.
    pub fn limit(&self) -> i64 {
        self.per_page + 1
    }

    /// The page's lines newest first (they come oldest first when reading backwards), the
    /// extra line dropped, and which way the list goes on.
    pub fn trim<T>(&mut self, mut rows: Vec<T>, id: impl Fn(&T) -> i64) -> Vec<T> {
        let more = rows.len() as i64 > self.per_page;
        rows.truncate(self.per_page as usize);
        if self.backwards() {
            rows.reverse();
            self.has_prev = more;
            self.has_next = !rows.is_empty();
        } else {
            self.has_next = more;
            self.has_prev = self.before.is_some() && !rows.is_empty();
        }
        self.first = rows.first().map(&id);
        self.last = rows.last().map(&id);
        rows
    }

    /// Not the first page: a link back to the newest lines is offered. Reading back to the
    /// list's start is the first page again; an empty page read back (its edge gone) is not.
    pub fn is_deep(&self) -> bool {
        match (self.before, self.after) {
            (Some(_), _) => true,
            (None, Some(_)) => self.has_prev || !self.has_next,
            (None, None) => false,
        }
    }

    pub fn prev_href(&self) -> String {
        format!(
            "{}?after={}{}",
            self.path,
            self.first.unwrap_or(0),
            self.keep
        )
    }

    pub fn next_href(&self) -> String {
        format!(
            "{}?before={}{}",
            self.path,
            self.last.unwrap_or(0),
            self.keep
        )
    }

    pub fn newest_href(&self) -> String {
        format!("{}?{}", self.path, self.keep.trim_start_matches('&'))
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

#[cfg(test)]
mod tests {
    use super::Keyset;

    #[test]
    fn a_keyset_page_knows_which_way_the_list_goes_on() {
        // The first page: newer lines none, older ones when a line more came.
        let mut k = Keyset::new(None, None, 3);
        assert_eq!(k.limit(), 4);
        assert_eq!(k.trim(vec![9, 8, 7, 6], |i| *i), [9, 8, 7]);
        assert!(k.has_next && !k.has_prev && !k.is_deep());
        assert_eq!(k.next_href(), "?before=7");
        // Older than 7: the last page.
        let mut k = Keyset::new(Some(7), None, 3);
        assert_eq!(k.trim(vec![6, 5], |i| *i), [6, 5]);
        assert!(!k.has_next && k.has_prev && k.is_deep());
        assert_eq!(k.prev_href(), "?after=6");
        // Newer than 6, read oldest first: shown newest first, newer still when a line more.
        let mut k = Keyset::new(None, Some(6), 3);
        assert!(k.backwards());
        assert_eq!(k.trim(vec![7, 8, 9, 10], |i| *i), [9, 8, 7]);
        assert!(k.has_prev && k.has_next);
        assert_eq!(
            (k.prev_href(), k.next_href()),
            ("?after=9".into(), "?before=7".into())
        );
        // Read back to the list's start: the first page again, no way to it offered.
        let mut k = Keyset::new(None, Some(6), 3);
        assert_eq!(k.trim(vec![7, 8], |i| *i), [8, 7]);
        assert!(!k.has_prev && k.has_next && !k.is_deep());
        // Read back from an edge that is gone: nothing, and the way to the first page.
        let mut k = Keyset::new(None, Some(6), 3);
        assert!(k.trim(Vec::<i64>::new(), |i| *i).is_empty());
        assert!(!k.has_prev && !k.has_next && k.is_deep());
        // Both given: `before` wins; nonsense edges are none.
        assert_eq!(Keyset::new(Some(5), Some(2), 3).after, None);
        assert_eq!(Keyset::new(Some(0), Some(-1), 3).before, None);
        assert!(!Keyset::new(None, Some(0), 3).is_deep());
        assert_eq!(Keyset::new(Some(-4), None, 3).before, None);
        // A page past either end is empty and offers no way on but the newest.
        // The filter and direction each way, for lists in either order.
        let key = ("d, id", "SELECT e.d, e.id FROM t e");
        let first = Keyset::new(None, None, 3);
        assert_eq!(first.range(true, key.0, key.1, 2), (String::new(), "DESC"));
        assert_eq!(first.range(false, key.0, key.1, 2), (String::new(), "ASC"));
        assert_eq!(first.edge(), None);
        let next = Keyset::new(Some(9), None, 3);
        assert_eq!(
            next.range(true, key.0, key.1, 2),
            (
                "AND (d, id) < (SELECT e.d, e.id FROM t e WHERE e.id = $2)".into(),
                "DESC"
            )
        );
        assert_eq!(next.range(false, key.0, key.1, 1).1, "ASC");
        assert!(next.range(false, key.0, key.1, 1).0.contains(") > ("));
        let back = Keyset::new(None, Some(9), 3);
        assert_eq!(back.edge(), Some(9));
        assert!(back.range(true, key.0, key.1, 2).0.contains(") > ("));
        assert_eq!(back.range(true, key.0, key.1, 2).1, "ASC");
        assert!(back.range(false, key.0, key.1, 2).0.contains(") < ("));
        assert_eq!(back.range(false, key.0, key.1, 2).1, "DESC");
        let mut k = Keyset::new(Some(1), None, 3);
        assert!(k.trim(Vec::<i64>::new(), |i| *i).is_empty());
        assert!(!k.has_next && !k.has_prev && k.is_deep());
        k.keep = "&state=draft".into();
        assert_eq!(k.newest_href(), "?state=draft");
    }
}
