//! The worker inside every app instance: claims due messages with `FOR UPDATE SKIP LOCKED`
//! (so instances never share one), sends them, and records the outcome; then runs due jobs.
//! A claim is a lease: if an instance dies mid-send, the message is claimed again once the
//! lease runs out, carrying the same Message-ID.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::watch;

use super::clock::Clock;
use super::jobs::JobRunner;
use super::mailer::{Claimed, Mailer};
use super::outbox::{MAX_ATTEMPTS, backoff_seconds};

/// How many messages one pass claims.
const BATCH: i64 = 10;

/// Sends the outbox and runs scheduled jobs.
pub struct Worker {
    db: PgPool,
    mailer: Arc<Mailer>,
    clock: Arc<dyn Clock>,
    jobs: JobRunner,
    instance: String,
    /// How long a claim holds: longer than one delivery may take.
    lease: chrono::Duration,
    /// Where each delivery's outcome is counted, when the app is measured.
    metrics: Option<Arc<crate::metrics::Metrics>>,
    /// Posts the messages for chat channels (none: they wait).
    chat: Option<crate::chat::Sender>,
}

impl Worker {
    pub fn new(
        db: PgPool,
        mailer: Arc<Mailer>,
        clock: Arc<dyn Clock>,
        jobs: JobRunner,
        smtp_timeout: Duration,
    ) -> Self {
        let lease = chrono::Duration::from_std(smtp_timeout * 4)
            .unwrap_or(chrono::Duration::minutes(5))
            + chrono::Duration::seconds(30);
        Worker {
            db,
            mailer,
            clock,
            jobs,
            instance: format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple()),
            lease,
            metrics: None,
            chat: None,
        }
    }

    /// Sends the chat channels' messages too, with `chat`.
    pub fn telling_chat(mut self, chat: crate::chat::Sender) -> Self {
        self.chat = Some(chat);
        self
    }

    /// Counts each delivery's outcome in `metrics` (`desk_mail_deliveries_total`).
    pub fn counting(mut self, metrics: Arc<crate::metrics::Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    fn count(&self, outcome: &'static str) {
        if let Some(m) = &self.metrics {
            m.delivery(outcome);
        }
    }

    /// This instance's name on its claims.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// One pass over the outbox: claim what is due, send it, record each outcome. Returns how
    /// many messages were handled.
    pub async fn send_due(&self) -> anyhow::Result<usize> {
        let now = self.clock.now();
        // Claims whose instance died are handed back first; then what is due is claimed. Each
        // question is answered by its own partial index, so the sent messages that pile up
        // over the years are never read.
        sqlx::query(
            "UPDATE outbox_messages
                SET state = 'queued', claimed_by = NULL, claimed_until = NULL
              WHERE state = 'sending' AND claimed_until < $1",
        )
        .bind(now)
        .execute(&self.db)
        .await?;
        let claimed: Vec<Claimed> = sqlx::query_as(
            "UPDATE outbox_messages
                SET state = 'sending', claimed_by = $2, claimed_until = $3, attempts = attempts + 1
              WHERE id IN (
                    SELECT id FROM outbox_messages
                     WHERE state = 'queued' AND next_attempt_at <= $1
                       AND ($5 OR chat_channel_id IS NULL)
                     ORDER BY next_attempt_at, id
                     LIMIT $4
                     FOR UPDATE SKIP LOCKED)
              RETURNING id, to_addrs, subject, body_text, body_html, message_id, attempts,
                        attachment_name, attachment_type, attachment, chat_channel_id",
        )
        .bind(now)
        .bind(&self.instance)
        .bind(now + self.lease)
        .bind(BATCH)
        .bind(self.chat.is_some())
        .fetch_all(&self.db)
        .await?;
        for m in &claimed {
            let outcome = match (m.chat_channel_id, &self.chat) {
                (Some(channel), Some(chat)) => chat.send(&self.db, channel, &m.body_text).await,
                _ => self.mailer.send(m).await,
            };
            let now = self.clock.now();
            match outcome {
                Ok(()) => {
                    sqlx::query(
                        "UPDATE outbox_messages
                            SET state = 'sent', sent_at = $3, last_error = NULL,
                                claimed_by = NULL, claimed_until = NULL,
                                -- A signing link or code is kept no longer than it is needed.
                                subject = signing_secrets_withheld(kind, subject),
                                body_text = signing_secrets_withheld(kind, body_text),
                                body_html = signing_secrets_withheld(kind, body_html)
                          WHERE id = $1 AND claimed_by = $2",
                    )
                    .bind(m.id)
                    .bind(&self.instance)
                    .bind(now)
                    .execute(&self.db)
                    .await?;
                    self.count("sent");
                    let what = if m.chat_channel_id.is_some() {
                        "chat message sent"
                    } else {
                        "email sent"
                    };
                    tracing::info!(outbox_id = m.id, message_id = %m.message_id, "{what}");
                }
                Err(e) => {
                    let give_up = e.permanent || m.attempts >= MAX_ATTEMPTS;
                    let next = now + chrono::Duration::seconds(backoff_seconds(m.attempts));
                    sqlx::query(
                        "UPDATE outbox_messages
                            SET state = CASE WHEN $3 THEN 'failed' ELSE 'queued' END,
                                next_attempt_at = $4, last_error = $5,
                                claimed_by = NULL, claimed_until = NULL
                          WHERE id = $1 AND claimed_by = $2",
                    )
                    .bind(m.id)
                    .bind(&self.instance)
                    .bind(give_up)
                    .bind(next)
                    .bind(&e.message)
                    .execute(&self.db)
                    .await?;
                    self.count(if give_up { "gave_up" } else { "failed" });
                    tracing::warn!(
                        outbox_id = m.id,
                        attempts = m.attempts,
                        gave_up = give_up,
                        error = %e.message,
                        chat = m.chat_channel_id.is_some(),
                        "message not sent"
                    );
                }
            }
        }
        Ok(claimed.len())
    }

    /// One pass over everything due: messages, then jobs.
    pub async fn run_once(&self) -> anyhow::Result<usize> {
        let sent = self.send_due().await?;
        let ran = self.jobs.run_due(&self.db, self.clock.now()).await?;
        Ok(sent + ran)
    }

    /// Hands back anything this instance still holds, for another to send.
    pub async fn release(&self) -> anyhow::Result<u64> {
        Ok(sqlx::query(
            "UPDATE outbox_messages
                SET state = 'queued', claimed_by = NULL, claimed_until = NULL,
                    attempts = greatest(attempts - 1, 0)
              WHERE state = 'sending' AND claimed_by = $1",
        )
        .bind(&self.instance)
        .execute(&self.db)
        .await?
        .rows_affected())
    }

    /// Runs until `shutdown` turns true: a pass, then a pause when there was nothing to do.
    /// A pass in progress finishes; what is still claimed afterwards is released.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>, pause: Duration) {
        loop {
            if *shutdown.borrow() {
                break;
            }
            let busy = match self.run_once().await {
                Ok(n) => n > 0,
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "worker pass failed; trying again shortly");
                    false
                }
            };
            if !busy {
                tokio::select! {
                    _ = shutdown.changed() => {},
                    _ = tokio::time::sleep(pause) => {},
                }
            }
        }
        match self.release().await {
            Ok(n) if n > 0 => tracing::info!(released = n, "worker released its claimed messages"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "worker could not release its claims"),
        }
        tracing::info!("worker stopped");
    }
}
