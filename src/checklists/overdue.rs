//! Overdue checklist items email their owner once a day until done, through the scheduler: one
//! job per item and day, so several instances send each once.

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::json;
use sqlx::PgConnection;

use crate::auth::roles::Role;
use crate::notifications::jobs::{self, Job, JobHandler};

pub const KIND: &str = "checklist_overdue";

/// The first reminder of an item due `due_on`: the next day, at the reminders' hour in the
/// agency's `zone`.
pub fn first_due(due_on: NaiveDate, zone: chrono_tz::Tz) -> DateTime<Utc> {
    crate::time::at_local(zone, due_on + Duration::days(1), crate::time::REMINDER_TIME)
}

/// Schedules the `n`th daily reminder of `item` at `at`; `series` tells a fresh series (after
/// an undo or a send-back) from the first.
pub async fn schedule(
    conn: &mut PgConnection,
    item: i64,
    series: &str,
    n: u32,
    at: DateTime<Utc>,
) -> sqlx::Result<()> {
    jobs::schedule(
        conn,
        &format!("checklist-overdue:{item}:{series}:{n}"),
        KIND,
        at,
        json!({ "item_id": item, "series": series, "n": n }),
    )
    .await
}

pub struct OverdueHandler {
    pub config: std::sync::Arc<crate::config::Config>,
    pub zone: chrono_tz::Tz,
}

#[derive(sqlx::FromRow)]
struct Open {
    request_id: i64,
    client_name: String,
    title: String,
    owner_role: Role,
    assignee: Option<i64>,
    due_on: NaiveDate,
    open: bool,
}

impl OverdueHandler {
    async fn remind(&self, conn: &mut PgConnection, job: &Job) -> anyhow::Result<()> {
        let item = job.payload["item_id"].as_i64().unwrap_or(0);
        let series = job.payload["series"].as_str().unwrap_or("0").to_string();
        let n = job.payload["n"].as_u64().unwrap_or(1) as u32;
        let found: Option<Open> = sqlx::query_as(
            "SELECT i.change_request_id AS request_id, c.name AS client_name, i.title,
                    i.owner_role, i.assignee, i.due_on,
                    (i.done_at IS NULL AND i.cancelled_at IS NULL AND r.state = 'approved') AS open
               FROM checklist_items i
               JOIN change_requests r ON r.id = i.change_request_id
               JOIN clients c ON c.id = r.client_id
              WHERE i.id = $1",
        )
        .bind(item)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(found) = found.filter(|f| f.open) else {
            // Done, cancelled or gone: the daily reminders stop here.
            return Ok(());
        };
        if crate::time::day_in(self.zone, job.run_at) <= found.due_on {
            // Its date moved later since this notice was scheduled: not overdue yet. The
            // series waits for the day after the new due date.
            let at = first_due(found.due_on, self.zone);
            schedule(conn, item, &series, n + 1, at).await?;
            return Ok(());
        }
        let overdue = super::notify::Overdue {
            request_id: found.request_id,
            client_name: &found.client_name,
            title: &found.title,
            owner: found.owner_role,
            assignee: found.assignee,
            due_on: found.due_on,
        };
        super::notify::overdue(conn, &self.config, overdue).await?;
        // The next day at the reminders' hour there, whatever a clock change did to the night.
        let next = crate::time::at_local(
            self.zone,
            crate::time::day_in(self.zone, job.run_at) + Duration::days(1),
            crate::time::REMINDER_TIME,
        );
        schedule(conn, item, &series, n + 1, next).await?;
        Ok(())
    }
}

impl JobHandler for OverdueHandler {
    fn run<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        job: &'a Job,
    ) -> Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>> {
        Box::pin(self.remind(conn, job))
    }
}

/// Moves the item's pending overdue notice to `at`.
pub async fn move_pending(
    conn: &mut PgConnection,
    item: i64,
    at: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE scheduled_jobs SET run_at = $2 WHERE key LIKE $1 AND state = 'pending'")
        .bind(format!("checklist-overdue:{item}:%"))
        .bind(at)
        .execute(conn)
        .await?;
    Ok(())
}
