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
    /// The record it is about, in words, and its page when it has one.
    #[sqlx(skip)]
    pub record: (String, Option<String>),
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

/// What an event is about, as the log names it: a person or client by name with a link, a
/// request by number, else its kind in words ("approval chain step #3").
fn record(
    entity: &str,
    id: Option<&str>,
    names: &super::sentences::Names,
) -> (String, Option<String>) {
    let number = id.and_then(|id| id.parse::<i64>().ok());
    match (entity, number) {
        ("user", Some(n)) => (names.person(n), Some(format!("/admin/users/{n}"))),
        ("client", Some(n)) => (format!("Client #{n}"), Some(format!("/clients/{n}"))),
        ("change_request", Some(n)) => (format!("Request #{n}"), Some(format!("/requests/{n}"))),
        (entity, _) => {
            let words = entity.replace('_', " ");
            match id {
                Some(id) => (format!("{words} #{id}"), None),
                None => (words, None),
            }
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
    if action.contains('.') {
        query.push(" AND a.action = ").push_bind(&action);
    } else if !action.is_empty() {
        // A family of actions: "user" is every user.* action.
        query
            .push(" AND a.action LIKE ")
            .push_bind(format!("{}.%", action.replace(['%', '\\'], "")));
    }
    query.push(format!(" ORDER BY a.id DESC LIMIT {}", PER_PAGE + 1));
    let mut events: Vec<EventRow> = query.build_query_as().fetch_all(&state.db).await?;
    let users = events
        .iter()
        .filter(|e| e.entity_type == "user")
        .filter_map(|e| e.entity_id.as_deref()?.parse().ok());
    let details = events.iter().map(|e| &e.details);
    let names = super::sentences::Names::load_with(&state.db, details, users).await?;
    for e in &mut events {
        e.what = super::sentences::sentence(&e.action, &e.details, &names);
        e.record = record(&e.entity_type, e.entity_id.as_deref(), &names);
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
