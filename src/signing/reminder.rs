//! The one reminder a signer gets, three days after the link was sent if they have not signed,
//! declined, or been replaced: a scheduled job (so it is sent once, whichever instance runs
//! it), with a link of its own beside the first one.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use sqlx::PgConnection;

use super::chain::{self, EventKind};
use super::flow::short;
use super::rules::{self, REMIND_AFTER_DAYS, State};
use crate::config::Config;
use crate::notifications::emails::Notice;
use crate::notifications::jobs::{self, Job, JobHandler};
use crate::notifications::outbox;

pub const KIND: &str = "signing.remind";

/// Schedules the reminder of signature request `id`, sent at `sent_at`.
pub async fn schedule(
    conn: &mut PgConnection,
    id: i64,
    sent_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    let at = sent_at + Duration::days(REMIND_AFTER_DAYS);
    jobs::schedule(
        conn,
        &format!("signing.remind:{id}"),
        KIND,
        at,
        json!({"signature_request_id": id}),
    )
    .await
}

/// Cancels the reminder of signature request `id` (it ended: signed, declined, voided, expired).
pub async fn cancel(conn: &mut PgConnection, id: i64) -> sqlx::Result<()> {
    jobs::cancel(conn, &format!("signing.remind:{id}")).await?;
    Ok(())
}

pub struct ReminderHandler {
    pub config: Arc<Config>,
}

#[derive(sqlx::FromRow)]
struct Waiting {
    id: i64,
    change_request_id: i64,
    client_name: String,
    signer_name: String,
    signer_email: String,
    state: State,
    sent_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    reminded: bool,
    sender_name: String,
    document_sha256: Vec<u8>,
}

impl ReminderHandler {
    async fn remind(&self, conn: &mut PgConnection, job: &Job) -> anyhow::Result<()> {
        let id = job.payload["signature_request_id"]
            .as_i64()
            .ok_or_else(|| anyhow::anyhow!("a signing reminder without its request"))?;
        let row: Option<Waiting> = sqlx::query_as(
            "SELECT s.id, s.change_request_id, c.name AS client_name, s.signer_name,
                    s.signer_email, s.state, s.sent_at, s.expires_at,
                    s.reminded_at IS NOT NULL AS reminded, u.display_name AS sender_name,
                    d.sha256 AS document_sha256
               FROM signature_requests s
               JOIN change_requests r ON r.id = s.change_request_id
               JOIN clients c ON c.id = r.client_id
               JOIN users u ON u.id = s.sent_by
               JOIN addendum_documents d ON d.id = s.document_id
              WHERE s.id = $1
              FOR NO KEY UPDATE OF s NOWAIT",
        )
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
        // NOWAIT: a signer signing, declining or a void holds the link and then cancels this
        // job, whose row the runner holds; waiting here would wait on each other. The job
        // fails this once and runs again after its backoff (or finds itself cancelled).
        let Some(w) = row else { return Ok(()) };
        // Late (the worker was down) is still now: a link that lapsed meanwhile is not chased.
        let now = Utc::now().max(job.run_at);
        if !rules::reminder_due(w.state, w.sent_at, w.expires_at, w.reminded, now) {
            return Ok(());
        }
        let (token, hash) = rules::new_token();
        sqlx::query(
            "UPDATE signature_requests SET reminded_at = $2, reminder_token_hash = $3 WHERE id = $1",
        )
        .bind(w.id)
        .bind(now)
        .bind(&hash)
        .execute(&mut *conn)
        .await?;
        chain::append(
            conn,
            w.id,
            EventKind::Reminded,
            None,
            None,
            &json!({"to": w.signer_email}),
        )
        .await?;
        let config = &self.config;
        outbox::queued_client_notice(
            conn,
            config,
            Notice {
                kind: "signing.reminder",
                to: vec![w.signer_email.clone()],
                subject: format!(
                    "Reminder: please sign the addendum for {} from {}",
                    w.client_name, config.agency_name
                ),
                intro: &format!(
                    "{}, {} at {} sent you an addendum for {} to sign on {}. It is still waiting: \
                     open it with this link (or the one in the first email) until {}.",
                    w.signer_name,
                    w.sender_name,
                    config.agency_name,
                    w.client_name,
                    crate::time::local(w.sent_at),
                    crate::time::local(w.expires_at)
                ),
                facts: vec![(
                    "Document fingerprint",
                    short(&crate::auth::token::to_hex(&w.document_sha256)),
                )],
                path: format!("/sign/{token}"),
                link_label: "Read and sign the addendum",
                related: Some(("change_request", w.change_request_id.to_string())),
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(())
    }
}

impl JobHandler for ReminderHandler {
    fn run<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        job: &'a Job,
    ) -> Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>> {
        Box::pin(self.remind(conn, job))
    }
}
