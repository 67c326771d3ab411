//! Scheduled jobs: work that runs at a given time (reminders, nudges). Each job has a unique
//! key, so scheduling the same thing twice keeps one job and scheduling it again at another
//! time moves it. A job runs inside one transaction with its own "done" mark: whatever it
//! writes (emails into the outbox, say) commits exactly once or not at all.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sqlx::{Acquire, PgConnection, PgPool};

use super::outbox::backoff_seconds;

/// A job as its handler sees it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Job {
    pub id: i64,
    pub key: String,
    pub kind: String,
    pub payload: serde_json::Value,
    pub run_at: DateTime<Utc>,
    pub attempts: i32,
}

/// Tries before a job is marked failed.
pub const MAX_ATTEMPTS: i32 = 10;

/// What a kind of job does. Runs on the job's transaction; an error rolls back its writes and
/// the job is tried again later.
pub trait JobHandler: Send + Sync + 'static {
    fn run<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        job: &'a Job,
    ) -> Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>>;
}

/// Schedules `kind` under `key` at `run_at`. Scheduling a key again moves its time and
/// payload; a job already done at that same time stays done (it is not run twice).
pub async fn schedule(
    conn: &mut PgConnection,
    key: &str,
    kind: &str,
    run_at: DateTime<Utc>,
    payload: serde_json::Value,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO scheduled_jobs (key, kind, payload, run_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (key) DO UPDATE
            SET kind = EXCLUDED.kind,
                payload = EXCLUDED.payload,
                state = CASE WHEN scheduled_jobs.state = 'done'
                              AND scheduled_jobs.run_at = EXCLUDED.run_at
                             THEN 'done' ELSE 'pending' END,
                attempts = CASE WHEN scheduled_jobs.state = 'done'
                                 AND scheduled_jobs.run_at = EXCLUDED.run_at
                                THEN scheduled_jobs.attempts ELSE 0 END,
                last_error = CASE WHEN scheduled_jobs.state = 'done'
                                   AND scheduled_jobs.run_at = EXCLUDED.run_at
                                  THEN scheduled_jobs.last_error ELSE NULL END,
                run_at = EXCLUDED.run_at",
    )
    .bind(key)
    .bind(kind)
    .bind(payload)
    .bind(run_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Cancels a pending job; returns whether there was one.
pub async fn cancel(conn: &mut PgConnection, key: &str) -> sqlx::Result<bool> {
    Ok(sqlx::query(
        "UPDATE scheduled_jobs SET state = 'cancelled' WHERE key = $1 AND state = 'pending'",
    )
    .bind(key)
    .execute(conn)
    .await?
    .rows_affected()
        > 0)
}

/// The handlers for each kind of job, and the pass that runs what is due.
#[derive(Clone, Default)]
pub struct JobRunner {
    handlers: HashMap<&'static str, Arc<dyn JobHandler>>,
}

impl JobRunner {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers the handler of `kind`.
    pub fn with(mut self, kind: &'static str, handler: impl JobHandler) -> Self {
        self.handlers.insert(kind, Arc::new(handler));
        self
    }

    /// Runs every job due at `now`, one transaction each; returns how many were tried.
    pub async fn run_due(&self, db: &PgPool, now: DateTime<Utc>) -> anyhow::Result<usize> {
        let mut tried = 0;
        loop {
            let mut tx = db.begin().await?;
            // SKIP LOCKED: a job another instance is running is not waited for, nor run twice.
            let job: Option<Job> = sqlx::query_as(
                "SELECT id, key, kind, payload, run_at, attempts FROM scheduled_jobs
                  WHERE state = 'pending' AND run_at <= $1
                  ORDER BY run_at, id
                  LIMIT 1
                  FOR UPDATE SKIP LOCKED",
            )
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(job) = job else { break };
            tried += 1;
            let outcome = match self.handlers.get(job.kind.as_str()) {
                None => Err(anyhow::anyhow!(
                    "no handler for jobs of kind `{}`",
                    job.kind
                )),
                Some(handler) => {
                    let mut savepoint = tx.begin().await?;
                    match handler.run(&mut savepoint, &job).await {
                        Ok(()) => {
                            savepoint.commit().await?;
                            Ok(())
                        }
                        Err(e) => {
                            savepoint.rollback().await?;
                            Err(e)
                        }
                    }
                }
            };
            let attempts = job.attempts + 1;
            match outcome {
                Ok(()) => {
                    sqlx::query(
                        "UPDATE scheduled_jobs SET state = 'done', done_at = $2, attempts = $3,
                                last_error = NULL
                          WHERE id = $1",
                    )
                    .bind(job.id)
                    .bind(now)
                    .bind(attempts)
                    .execute(&mut *tx)
                    .await?;
                }
                Err(e) => {
                    let give_up = attempts >= MAX_ATTEMPTS;
                    tracing::warn!(job = %job.key, attempts, gave_up = give_up, error = %format!("{e:#}"), "job failed");
                    sqlx::query(
                        "UPDATE scheduled_jobs
                            SET state = CASE WHEN $3 THEN 'failed' ELSE 'pending' END,
                                attempts = $2, last_error = $4, run_at = $5
                          WHERE id = $1",
                    )
                    .bind(job.id)
                    .bind(attempts)
                    .bind(give_up)
                    .bind(format!("{e:#}"))
                    .bind(now + chrono::Duration::seconds(backoff_seconds(attempts)))
                    .execute(&mut *tx)
                    .await?;
                }
            }
            tx.commit().await?;
        }
        Ok(tried)
    }
}
