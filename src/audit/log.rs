//! The audit log page: the admin reads every event, newest first, filtered by action.

use serde::Deserialize;

use crate::auth::access;
use crate::web::ctx::Ctx;
use crate::web::error::AppResult;
use crate::web::pages::Chrome;
use crate::web::{AppState, Routes};

pub fn routes(r: Routes) -> Routes {
    r.get("/admin/audit", access::ADMIN, log_page)
}

/// One event as the log page shows it.
#[derive(Debug, sqlx::FromRow)]
pub struct EventRow {
    pub id: i64,
    pub at: chrono::DateTime<chrono::Utc>,
    pub actor_label: String,
    pub actor_name: Option<String>,
    pub actor_roles: Option<Vec<String>>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: Option<String>,
    pub details: serde_json::Value,
    pub ip: Option<String>,
    /// What happened, in the words the request's timeline uses (told once the page's names
    /// are known).
    #[sqlx(skip)]
    pub what: String,
}

impl EventRow {
    pub fn at_display(&self) -> String {
        crate::time::local_precise(self.at)
    }

    pub fn who(&self) -> String {
        super::sentences::who(
            &self.actor_label,
            self.actor_name.as_deref(),
            self.actor_roles.as_deref(),
        )
    }

    pub fn details_display(&self) -> String {
        match &self.details {
            serde_json::Value::Object(m) if m.is_empty() => String::new(),
            other => other.to_string(),
        }
    }
}

const PER_PAGE: i64 = 50;

#[derive(Debug, Deserialize)]
pub struct LogQuery {
    /// Show events older than this id (keyset pagination: the log grows to millions of rows).
    pub before: Option<i64>,
    pub action: Option<String>,
}

#[derive(askama::Template, askama_web::WebTemplate)]
#[template(path = "audit/log.html")]
struct LogPage {
    chrome: Chrome,
    events: Vec<EventRow>,
    action: String,
    older_href: Option<String>,
}

async fn log_page(
    axum::extract::State(state): axum::extract::State<AppState>,
    ctx: Ctx,
    axum::extract::Query(q): axum::extract::Query<LogQuery>,
) -> AppResult<LogPage> {
    let action = crate::web::text::search(&q.action.unwrap_or_default());
    // Only the filters in use, and the page's length written in: with `$1 IS NULL OR ...`
    // PostgreSQL planned the statement again on every execution.
    let mut query = sqlx::QueryBuilder::new(
        "SELECT a.id, a.at, a.actor_label, u.display_name AS actor_name, u.roles AS actor_roles,
                a.action, a.entity_type, a.entity_id, a.details, a.ip
           FROM audit_events a LEFT JOIN users u ON u.id = a.actor_id WHERE TRUE",
    );
    if let Some(before) = q.before {
        query.push(" AND a.id < ").push_bind(before);
    }
    if !action.is_empty() {
        query.push(" AND a.action = ").push_bind(&action);
    }
    query.push(format!(" ORDER BY a.id DESC LIMIT {}", PER_PAGE + 1));
    let mut events: Vec<EventRow> = query.build_query_as().fetch_all(&state.db).await?;
    let names = super::sentences::Names::load(&state.db, events.iter().map(|e| &e.details)).await?;
    for e in &mut events {
        e.what = super::sentences::sentence(&e.action, &e.details, &names);
    }
    let older_href = if events.len() as i64 > PER_PAGE {
        events.truncate(PER_PAGE as usize);
        events.last().map(|e| {
            format!(
                "?before={}&action={}",
                e.id,
                crate::web::ctx::encode_component(&action)
            )
        })
    } else {
        None
    };
    Ok(LogPage {
        chrome: Chrome::new(&state, &ctx, "/admin/audit"),
        events,
        action,
        older_href,
    })
}
