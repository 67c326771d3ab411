//! The audit log: who did what to which record, when (UTC), and what changed. Every state change
//! calls [`record`] inside its own transaction; the table only accepts new rows.

pub mod log;
pub mod sentences;

use sqlx::{PgConnection, PgPool};

/// Who acted, and from where. A person acting through a request is made in `web::ctx`
/// (`Actor::from_ctx`), where the request is known.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub label: String,
    pub ip: Option<String>,
    pub request_id: Option<String>,
}

impl Actor {
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

/// Records an event on a change request's timeline.
pub async fn on_request(
    conn: &mut PgConnection,
    actor: &Actor,
    action: &str,
    request_id: i64,
    details: serde_json::Value,
) -> sqlx::Result<()> {
    let entity = Some(request_id.to_string());
    // The chat channels that chose what this record tells of hear of it in the same
    // transaction.
    let events = crate::chat::Event::of_audit(action, &details);
    record(conn, actor, action, "change_request", entity, details).await?;
    crate::chat::queue(conn, &events, request_id).await
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
