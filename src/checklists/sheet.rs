//! The offboarding sheet: every cancelled client with where its checklist stands, as a page and
//! a CSV, in place of the hand-kept DigMS Offboarding Sheet.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use sqlx::PgConnection;

use crate::change_requests::rules::{CancelScope, State as RequestState};
use crate::web::ctx::Ctx;
use crate::web::error::AppResult;
use crate::web::filters;
use crate::web::pages::{Chrome, Keyset};
use crate::web::{AppState, download};

#[derive(Debug, sqlx::FromRow)]
pub struct SheetLine {
    pub request_id: i64,
    pub client_id: i64,
    pub client_name: String,
    pub crm_account_id: String,
    pub cancel_scope: Option<CancelScope>,
    pub effective_date: NaiveDate,
    pub state: RequestState,
    pub done: i64,
    pub total: i64,
    pub overdue: i64,
    pub last_done_at: Option<chrono::DateTime<Utc>>,
}

impl SheetLine {
    pub fn scope(&self) -> &'static str {
        match self.cancel_scope {
            Some(CancelScope::LeavePlatform) => "Leaving the platform",
            _ => "Digital marketing only",
        }
    }
    pub fn state_label(&self) -> &'static str {
        self.state.label()
    }
    pub fn last_done(&self) -> String {
        self.last_done_at
            .map(|t| crate::time::day(crate::time::day_in(crate::time::display_zone(), t)))
            .unwrap_or_default()
    }
    pub fn finished(&self) -> bool {
        self.total > 0 && self.done == self.total
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct SheetQuery {
    #[serde(default)]
    pub show: String,
    pub before: Option<i64>,
    pub after: Option<i64>,
}

async fn lines(
    conn: &mut PgConnection,
    open_only: bool,
    today: chrono::NaiveDate,
    pager: &Keyset,
) -> sqlx::Result<Vec<SheetLine>> {
    // Walks the cancellations in the sheet's order (an index of their own) and counts each
    // one's items only until the page is full. A completed request has no open item. Which
    // requests, and the page's place, are written into the statement (numbers and a choice of
    // two): only today's date is left as a parameter, which does not change the plan, so
    // PostgreSQL keeps one plan per connection rather than planning on every execution.
    let open = if open_only {
        "AND r.state = 'approved' AND items.open > 0"
    } else {
        ""
    };
    // A page is one range of the sheet's index from the edge's place in the order (its date
    // and id, read from the edge's own row), however deep: no OFFSET reading the lines before.
    let (from, order) = pager.range(
        true,
        "r.effective_date, r.id",
        "SELECT e.effective_date, e.id FROM change_requests e",
        2,
    );
    let limit = pager.limit();
    let query = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT r.id AS request_id, c.id AS client_id, c.name AS client_name, c.crm_account_id,
                r.cancel_scope, r.effective_date, r.state,
                items.done, items.total, items.overdue, items.last_done_at
           FROM change_requests r
           JOIN clients c ON c.id = r.client_id
          CROSS JOIN LATERAL (
                SELECT count(*) AS all_items,
                       count(*) FILTER (WHERE i.done_at IS NOT NULL) AS done,
                       count(*) FILTER (WHERE i.cancelled_at IS NULL) AS total,
                       count(*) FILTER (WHERE i.done_at IS NULL AND i.cancelled_at IS NULL) AS open,
                       count(*) FILTER (WHERE i.done_at IS NULL AND i.cancelled_at IS NULL
                                          AND i.due_on < $1) AS overdue,
                       max(i.done_at) AS last_done_at
                  FROM checklist_items i
                 WHERE i.change_request_id = r.id) items
          WHERE r.kind = 'cancellation' AND r.state IN ('approved', 'completed')
            AND items.all_items > 0 {open} {from}
          ORDER BY r.effective_date {order}, r.id {order}
          LIMIT {limit}"
    )))
    .bind(today);
    match pager.edge() {
        Some(id) => query.bind(id).fetch_all(conn).await,
        None => query.fetch_all(conn).await,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "checklists/sheet.html")]
pub(super) struct SheetPage {
    chrome: Chrome,
    lines: Vec<SheetLine>,
    open_only: bool,
    pager: Keyset,
}

pub(super) async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<SheetQuery>,
) -> AppResult<SheetPage> {
    let open_only = q.show != "all";
    let mut pager = Keyset::new(q.before, q.after, 50);
    pager.keep = format!("&show={}", if open_only { "" } else { "all" });
    let mut conn = state.db.acquire().await?;
    let rows = lines(&mut conn, open_only, state.clock.today(), &pager).await?;
    Ok(SheetPage {
        chrome: Chrome::new(&state, &ctx, "/offboarding"),
        lines: pager.trim(rows, |l| l.request_id),
        open_only,
        pager,
    })
}

pub(super) async fn export(
    State(state): State<AppState>,
    _ctx: Ctx,
    Query(q): Query<SheetQuery>,
) -> AppResult<Response> {
    let mut conn = state.db.acquire().await?;
    let rows = lines(
        &mut conn,
        q.show != "all",
        state.clock.today(),
        &Keyset::new(None, None, 50_000),
    )
    .await?;
    let header = [
        "Client",
        "Account id",
        "Scope",
        "Effective date",
        "Items done",
        "Items",
        "Overdue",
        "Request state",
        "Request",
    ];
    let records = rows.iter().map(|l| {
        vec![
            l.client_name.clone(),
            l.crm_account_id.clone(),
            l.scope().to_string(),
            l.effective_date.to_string(),
            l.done.to_string(),
            l.total.to_string(),
            l.overdue.to_string(),
            l.state_label().to_string(),
            format!("{}/requests/{}", state.config.base_url, l.request_id),
        ]
    });
    let name = format!("offboarding-{}.csv", state.clock.today());
    download::csv(
        &name,
        std::iter::once(header.map(String::from).to_vec()).chain(records),
    )
}
