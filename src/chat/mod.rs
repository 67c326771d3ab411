//! The team's chat channels: a Slack incoming webhook or a Microsoft Teams workflow webhook the
//! admin adds, told of the events it chose. A message is a row of the outbox (`chat_channel_id`
//! set), written in the transaction of the change it tells of, and sent by the worker with the
//! email's retries, backoff and delivery log; its text is made when it is sent, from what the
//! change recorded.

mod handlers;
pub mod message;

use serde_json::Value;
use sqlx::PgConnection;

use crate::auth::access;
use crate::web::routes::Routes;

pub fn routes(r: Routes) -> Routes {
    r.get("/admin/chat", access::ADMIN, handlers::page)
        .post("/admin/chat", access::ADMIN, handlers::add)
        .post("/admin/chat/{id}/remove", access::ADMIN, handlers::remove)
}

/// What a channel may be told of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    Filed,
    Escalated,
    Saved,
    Submitted,
    Approved,
    SentBack,
    EffectiveTomorrow,
    Completed,
    Stalled,
}

impl Event {
    pub const ALL: [Event; 9] = [
        Event::Filed,
        Event::Escalated,
        Event::Saved,
        Event::Submitted,
        Event::Approved,
        Event::SentBack,
        Event::EffectiveTomorrow,
        Event::Completed,
        Event::Stalled,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Event::Filed => "filed",
            Event::Escalated => "escalated",
            Event::Saved => "saved",
            Event::Submitted => "submitted",
            Event::Approved => "approved",
            Event::SentBack => "sent_back",
            Event::EffectiveTomorrow => "effective_tomorrow",
            Event::Completed => "completed",
            Event::Stalled => "stalled",
        }
    }

    /// As the admin chooses it.
    pub fn label(self) -> &'static str {
        match self {
            Event::Filed => "A request is filed",
            Event::Escalated => "A request goes to the Retention Team",
            Event::Saved => "Retention saves a client",
            Event::Submitted => "A request is submitted for approval",
            Event::Approved => "A request is approved (with its change task)",
            Event::SentBack => "A request is sent back",
            Event::EffectiveTomorrow => "A change takes effect tomorrow",
            Event::Completed => "A request is completed",
            Event::Stalled => "An approval waits too long",
        }
    }

    /// As a message's first words.
    pub fn headline(self) -> &'static str {
        match self {
            Event::Filed => "Filed",
            Event::Escalated => "To the Retention Team",
            Event::Saved => "Saved by Retention",
            Event::Submitted => "Submitted for approval",
            Event::Approved => "Approved",
            Event::SentBack => "Sent back",
            Event::EffectiveTomorrow => "Effective tomorrow",
            Event::Completed => "Completed",
            Event::Stalled => "Approval waiting",
        }
    }

    pub fn from_key(key: &str) -> Option<Event> {
        Event::ALL.into_iter().find(|e| e.key() == key)
    }

    /// The events an audit record of a change request tells of (none for most).
    pub fn of_audit(action: &str, details: &Value) -> Vec<Event> {
        match action {
            "change_request.filed" => {
                let mut events = vec![Event::Filed];
                if details["escalation"].as_str() == Some("retention") {
                    events.push(Event::Escalated);
                }
                events
            }
            // A correction of a call already saved is not news.
            "change_request.retention_outcome"
                if details["outcome"]
                    .as_str()
                    .is_some_and(|o| o.starts_with("saved"))
                    && !details["corrected_from"]
                        .as_str()
                        .is_some_and(|o| o.starts_with("saved")) =>
            {
                vec![Event::Saved]
            }
            "change_request.submitted" => vec![Event::Submitted],
            "change_request.approved" => vec![Event::Approved],
            "change_request.sent_back" => vec![Event::SentBack],
            "change_request.completed" => vec![Event::Completed],
            _ => Vec::new(),
        }
    }
}

/// Queues, on `conn` (the change's transaction), a message for each live channel that chose
/// one of `events`, about request `request_id` as it stands now: one statement, whatever the
/// channels.
pub async fn queue(conn: &mut PgConnection, events: &[Event], request_id: i64) -> sqlx::Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let keys: Vec<&str> = events.iter().map(|e| e.key()).collect();
    sqlx::query(
        "INSERT INTO outbox_messages
            (kind, to_addrs, subject, body_text, body_html, message_id, related_type, related_id,
             next_attempt_at, created_at, chat_channel_id)
         SELECT 'chat.' || e.key, ARRAY[ch.name || ' (' || ch.kind || ')'],
                initcap(replace(e.key, '_', ' ')) || ': request #' || r.id || ', ' || c.name,
                json_build_object(
                    'event', e.key, 'request_id', r.id, 'client', c.name, 'kind', r.kind,
                    'reverses_id', r.reverses_id, 'effective_date', r.effective_date,
                    -- Budgets are not even kept for a channel that may not show them.
                    'current_budget_cents',
                        CASE WHEN ch.show_money THEN r.current_budget_cents END,
                    'new_budget_cents', CASE WHEN ch.show_money THEN r.new_budget_cents END,
                    'task_id', (SELECT max(t.id) FROM change_tasks t
                                 WHERE t.change_request_id = r.id))::text,
                '', gen_random_uuid()::text, 'change_request', r.id::text, now(), now(), ch.id
           FROM chat_channels ch
          CROSS JOIN unnest($1::text[]) AS e(key)
           JOIN change_requests r ON r.id = $2
           JOIN clients c ON c.id = r.client_id
          WHERE ch.removed_at IS NULL AND e.key = ANY (ch.events)
          ORDER BY ch.id, e.key",
    )
    .bind(&keys)
    .bind(request_id)
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_event_reads_back_from_its_key() {
        for e in Event::ALL {
            assert_eq!(Event::from_key(e.key()), Some(e));
        }
        assert_eq!(Event::from_key("nothing"), None);
    }

    #[test]
    fn audit_records_tell_of_their_events_and_most_of_none() {
        assert_eq!(
            Event::of_audit("change_request.filed", &json!({"escalation": "none"})),
            vec![Event::Filed]
        );
        assert_eq!(
            Event::of_audit("change_request.filed", &json!({"escalation": "retention"})),
            vec![Event::Filed, Event::Escalated]
        );
        assert_eq!(
            Event::of_audit(
                "change_request.retention_outcome",
                &json!({"outcome": "saved_no_change"})
            ),
            vec![Event::Saved]
        );
        assert!(
            Event::of_audit(
                "change_request.retention_outcome",
                &json!({"outcome": "not_saved"})
            )
            .is_empty()
        );
        assert!(
            Event::of_audit(
                "change_request.retention_outcome",
                &json!({"outcome": "saved_no_change", "corrected_from": "saved_budget_change"})
            )
            .is_empty(),
            "a correction of a save is not a second save"
        );
        assert_eq!(
            Event::of_audit("change_request.approved", &json!({})),
            vec![Event::Approved]
        );
        assert!(Event::of_audit("change_request.commented", &json!({})).is_empty());
    }
}

/// Posts chat messages: an HTTPS client (rustls with ring, the Mozilla roots lettre uses) and
/// the desk's address for the links.
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    base_url: String,
}

impl Sender {
    pub fn new(base_url: &str, timeout: std::time::Duration) -> anyhow::Result<Sender> {
        let client = crate::web::https::client(timeout)?;
        Ok(Sender {
            client,
            base_url: base_url.to_string(),
        })
    }

    /// Sends outbox message `id`'s recorded `body` to `channel`: a channel removed meanwhile,
    /// or one that refuses the message, is a permanent failure; a channel that cannot be
    /// reached, is busy (429) or fails (5xx) is tried again later.
    pub async fn send(
        &self,
        db: &sqlx::PgPool,
        channel: i64,
        body: &str,
    ) -> Result<(), crate::notifications::mailer::SendError> {
        use crate::notifications::mailer::SendError;
        let transient = |message: String| SendError {
            permanent: false,
            message,
        };
        let permanent = |message: String| SendError {
            permanent: true,
            message,
        };
        let found: Option<(String, String, bool, bool)> = sqlx::query_as(
            "SELECT kind, url, show_money, removed_at IS NOT NULL FROM chat_channels WHERE id = $1",
        )
        .bind(channel)
        .fetch_optional(db)
        .await
        .map_err(|e| transient(format!("the database: {e}")))?;
        let Some((kind, url, show_money, removed)) = found else {
            return Err(permanent("the channel no longer exists".into()));
        };
        if removed {
            return Err(permanent("the channel was removed".into()));
        }
        let recorded: message::Recorded = serde_json::from_str(body)
            .map_err(|e| permanent(format!("the message could not be read: {e}")))?;
        let parts = message::Parts::of(&recorded, &self.base_url, show_money);
        let payload = if kind == "teams" {
            parts.teams()
        } else {
            parts.slack()
        };
        let answer = self
            .client
            .post(&url)
            .header("content-type", "application/json")
            .body(payload.to_string())
            .send()
            .await
            .map_err(|e| {
                // The error names the address, a secret: say only what happened.
                let what = if e.is_timeout() {
                    "the channel did not answer in time"
                } else if e.is_connect() {
                    "the channel could not be reached"
                } else {
                    "the message could not be sent"
                };
                transient(what.to_string())
            })?;
        let status = answer.status();
        if status.is_success() {
            return Ok(());
        }
        let said: String = answer
            .text()
            .await
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        let message = format!("the channel answered {status}: {said}");
        if status.as_u16() == 429 || status.is_server_error() {
            Err(transient(message))
        } else {
            Err(permanent(message))
        }
    }
}
