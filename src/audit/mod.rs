//! The audit log: who did what to which record, when (UTC), and what changed. Every state change
//! calls [`record`] inside its own transaction; the table only accepts new rows.

use serde::Deserialize;
use sqlx::{PgConnection, PgPool};

use crate::auth::roles::Role;
use crate::auth::session::CurrentUser;
use crate::web::ctx::{Ctx, RequestMeta};
use crate::web::error::AppResult;
use crate::web::pages::Chrome;
use crate::web::{Access, AppState, Routes};

/// Who may read the audit log.
pub const ACCESS: Access = Access::Roles(&[Role::Admin]);

/// Who acted, and from where.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub label: String,
    pub ip: Option<String>,
    pub request_id: Option<String>,
}

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

    /// The application itself (demo seeding, scheduled work).
    pub fn system() -> Self {
        Actor {
            user_id: None,
            label: "system".into(),
            ip: None,
            request_id: None,
        }
    }
}

/// Appends one audit event on `conn`, which should be the transaction making the change.
pub async fn record(
    conn: &mut PgConnection,
    actor: &Actor,
    action: &str,
    entity_type: &str,
    entity_id: Option<String>,
    details: serde_json::Value,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO audit_events (actor_id, actor_label, action, entity_type, entity_id, details, ip, request_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(actor.user_id)
    .bind(&actor.label)
    .bind(action)
    .bind(entity_type)
    .bind(entity_id)
    .bind(details)
    .bind(&actor.ip)
    .bind(&actor.request_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records an event that changes nothing else (a refused access, a failed sign-in).
pub async fn record_now(
    pool: &PgPool,
    actor: &Actor,
    action: &str,
    entity_type: &str,
    entity_id: Option<String>,
    details: serde_json::Value,
) -> sqlx::Result<()> {
    let mut conn = pool.acquire().await?;
    record(&mut conn, actor, action, entity_type, entity_id, details).await
}

/// What an edit changed, field by field, as `{"field": [old, new]}` for the audit record.
#[derive(Debug, Default)]
pub struct Changes(serde_json::Map<String, serde_json::Value>);

impl Changes {
    /// Notes `field` when its value differs.
    pub fn field(
        &mut self,
        field: &str,
        old: impl serde::Serialize,
        new: impl serde::Serialize,
    ) -> &mut Self {
        let (old, new) = (serde_json::json!(old), serde_json::json!(new));
        if old != new {
            self.0
                .insert(field.to_string(), serde_json::json!([old, new]));
        }
        self
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_json(self) -> serde_json::Value {
        serde_json::Value::Object(self.0)
    }
}

/// One event as the log page shows it.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_note_only_the_fields_that_differ() {
        let mut c = Changes::default();
        c.field("name", "Amy", "Amy R.")
            .field("roles", vec!["a"], vec!["a"])
            .field("budget", 1, 2);
        assert_eq!(
            c.into_json(),
            serde_json::json!({ "name": ["Amy", "Amy R."], "budget": [1, 2] })
        );
        assert!(Changes::default().is_empty());
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct EventRow {
    pub id: i64,
    pub at: chrono::DateTime<chrono::Utc>,
    pub actor_label: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: Option<String>,
    pub details: serde_json::Value,
    pub ip: Option<String>,
}

impl EventRow {
    pub fn at_display(&self) -> String {
        crate::time::local_precise(self.at)
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
    let mut events: Vec<EventRow> = sqlx::query_as(
        "SELECT id, at, actor_label, action, entity_type, entity_id, details, ip
           FROM audit_events
          WHERE ($1::bigint IS NULL OR id < $1)
            AND ($2 = '' OR action = $2)
          ORDER BY id DESC
          LIMIT $3",
    )
    .bind(q.before)
    .bind(&action)
    .bind(PER_PAGE + 1)
    .fetch_all(&state.db)
    .await?;
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

pub fn routes(r: Routes) -> Routes {
    r.get("/admin/audit", ACCESS, log_page)
}
