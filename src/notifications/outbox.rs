//! The outbox: a state change writes its emails here inside its own transaction, so they are
//! sent if and only if the change commits.

use sqlx::PgConnection;

pub use super::emails::OutgoingEmail;
use super::emails::{self, Notice};
use crate::config::{Config, MailConfig};
use crate::web::error::AppResult;

/// Renders `notice` and queues it on `conn` (the caller's transaction); a notice addressed to
/// nobody is skipped.
#[tracing::instrument(level = "debug", skip_all, fields(kind = notice.kind))]
pub async fn notice(conn: &mut PgConnection, config: &Config, notice: Notice<'_>) -> AppResult<()> {
    queued_notice(conn, config, notice).await?;
    Ok(())
}

/// As [`notice`], returning the outbox id of the message queued (`None`: nobody to send to).
pub async fn queued_notice(
    conn: &mut PgConnection,
    config: &Config,
    notice: Notice<'_>,
) -> AppResult<Option<i64>> {
    if notice.to.is_empty() {
        return Ok(None);
    }
    let email = emails::notice(&config.base_url, notice)?;
    Ok(enqueue(conn, &config.mail, &email).await?)
}

/// As [`queued_notice`], to someone outside the agency (a client's signer), framed as the
/// agency's (`AGENCY_NAME`).
pub async fn queued_client_notice(
    conn: &mut PgConnection,
    config: &Config,
    notice: Notice<'_>,
) -> AppResult<Option<i64>> {
    if notice.to.is_empty() {
        return Ok(None);
    }
    let email = emails::client_notice(&config.base_url, &config.agency_name, notice)?;
    Ok(enqueue(conn, &config.mail, &email).await?)
}

/// Gives queued message `id` a file to carry (one per message).
pub async fn attach(
    conn: &mut PgConnection,
    id: i64,
    name: &str,
    content_type: &str,
    bytes: &[u8],
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE outbox_messages SET attachment_name = $2, attachment_type = $3, attachment = $4
          WHERE id = $1",
    )
    .bind(id)
    .bind(name)
    .bind(content_type)
    .bind(bytes)
    .execute(conn)
    .await?;
    Ok(())
}

/// Queues `email` on `conn` (the caller's transaction). Returns the outbox id, or `None` when
/// there is nobody to send it to.
pub async fn enqueue(
    conn: &mut PgConnection,
    mail: &MailConfig,
    email: &OutgoingEmail,
) -> sqlx::Result<Option<i64>> {
    let mut to: Vec<String> = email.to.iter().map(|a| a.trim().to_string()).collect();
    to.retain(|a| !a.is_empty());
    to.sort_by_key(|a| a.to_lowercase());
    to.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    if to.is_empty() {
        tracing::warn!(
            kind = email.kind,
            "an email had no recipients and was not queued"
        );
        return Ok(None);
    }
    let message_id = format!(
        "<{}@{}>",
        uuid::Uuid::new_v4().simple(),
        mail.from.email.domain()
    );
    let (related_type, related_id) = match &email.related {
        Some((t, id)) => (Some(*t), Some(id.as_str())),
        None => (None, None),
    };
    let id = sqlx::query_scalar(
        "INSERT INTO outbox_messages
            (kind, to_addrs, subject, body_text, body_html, message_id, related_type, related_id,
             next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now(), now())
         RETURNING id",
    )
    .bind(email.kind)
    .bind(&to)
    .bind(&email.subject)
    .bind(&email.text)
    .bind(&email.html)
    .bind(&message_id)
    .bind(related_type)
    .bind(related_id)
    .fetch_one(conn)
    .await?;
    Ok(Some(id))
}

/// Seconds to wait before the next try after `attempts` failed ones: 15 s doubling, at most
/// five minutes, so mail flows again within minutes of the server coming back.
pub fn backoff_seconds(attempts: i32) -> i64 {
    let exp = attempts.clamp(1, 16) - 1;
    (15_i64 << exp).min(300)
}

/// Tries before a message is marked failed (about two hours of trying).
pub const MAX_ATTEMPTS: i32 = 25;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_fifteen_seconds_up_to_five_minutes() {
        let waits: Vec<i64> = (1..=8).map(backoff_seconds).collect();
        assert_eq!(waits, vec![15, 30, 60, 120, 240, 300, 300, 300]);
        assert_eq!(backoff_seconds(0), 15);
        assert_eq!(backoff_seconds(i32::MAX), 300);
        let total: i64 = (1..MAX_ATTEMPTS).map(backoff_seconds).sum();
        assert!(
            total > 3600,
            "a message is retried for over an hour: {total}s"
        );
    }
}
