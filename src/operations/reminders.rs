//! Effective-date reminders: as a planner entry's date comes close, its SEM specialist and the
//! SEM team are emailed on each configured day before it. Each reminder is a scheduled job with
//! its own key, so it is sent once whatever the number of instances; moving the date moves the
//! jobs; a withdrawn, reinstated or completed request sends no more.

use std::future::Future;
use std::pin::Pin;

use chrono::NaiveDate;
use serde_json::json;
use sqlx::PgConnection;

use super::rules;
use crate::notifications::jobs::{self, Job, JobHandler};

pub const KIND: &str = "effective_date_reminder";

fn key(entry: i64, days: u32) -> String {
    format!("reminder:{entry}:{days}")
}

/// (Re)schedules a planner entry's reminders for `effective`: each configured day still ahead
/// gets its job (moved if it existed), and the days now past are cancelled.
pub async fn schedule(
    conn: &mut PgConnection,
    clock: &crate::time::Clock,
    entry: i64,
    effective: NaiveDate,
    days: &[u32],
) -> sqlx::Result<()> {
    let times = rules::reminder_times(effective, days, clock.now(), clock.zone());
    for d in days {
        match times.iter().find(|(day, _)| day == d) {
            Some((_, at)) => {
                jobs::schedule(
                    conn,
                    &key(entry, *d),
                    KIND,
                    *at,
                    json!({ "entry_id": entry, "days": d, "effective_date": effective }),
                )
                .await?
            }
            None => {
                jobs::cancel(conn, &key(entry, *d)).await?;
            }
        }
    }
    Ok(())
}

/// Cancels every reminder of an entry still to come.
pub async fn cancel_all(conn: &mut PgConnection, entry: i64, days: &[u32]) -> sqlx::Result<()> {
    for d in days {
        jobs::cancel(conn, &key(entry, *d)).await?;
    }
    Ok(())
}

pub struct ReminderHandler {
    pub config: std::sync::Arc<crate::config::Config>,
    pub zone: chrono_tz::Tz,
}

#[derive(sqlx::FromRow)]
struct Due {
    request_id: i64,
    client_name: String,
    kind: crate::change_requests::rules::Kind,
    effective_date: NaiveDate,
    state: crate::change_requests::rules::State,
    removed: bool,
    sem_specialist_id: Option<i64>,
    ads_paused: bool,
    status_updated: bool,
    /// The offboarding items still open, in the checklist's order.
    open_items: Option<String>,
}

impl ReminderHandler {
    async fn remind(&self, conn: &mut PgConnection, job: &Job) -> anyhow::Result<()> {
        let entry = job.payload["entry_id"].as_i64().unwrap_or(0);
        let days = job.payload["days"].as_u64().unwrap_or(0);
        let due: Option<Due> = sqlx::query_as(
            "SELECT r.id AS request_id, c.name AS client_name, p.kind, p.effective_date, r.state,
                    p.removed_at IS NOT NULL AS removed, p.sem_specialist_id,
                    EXISTS (SELECT 1 FROM sem_tasks s WHERE s.change_request_id = r.id
                              AND s.done_at IS NOT NULL) AS ads_paused,
                    EXISTS (SELECT 1 FROM change_tasks t WHERE t.change_request_id = r.id
                              AND t.status_updated_at IS NOT NULL) AS status_updated,
                    (SELECT string_agg(i.title, '; ' ORDER BY i.position, i.id)
                       FROM checklist_items i
                      WHERE i.change_request_id = r.id AND i.done_at IS NULL
                        AND i.cancelled_at IS NULL) AS open_items
               FROM planner_entries p
               JOIN change_requests r ON r.id = p.change_request_id
               JOIN clients c ON c.id = p.client_id
              WHERE p.id = $1",
        )
        .bind(entry)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(due) = due else { return Ok(()) };
        // Only an approved request still waiting for its date is worth a reminder; a job for a
        // date since moved is stale (the move scheduled its own).
        let scheduled_for = job.payload["effective_date"].as_str().unwrap_or("");
        if due.removed
            || due.state != crate::change_requests::rules::State::Approved
            || scheduled_for != due.effective_date.to_string()
        {
            return Ok(());
        }
        let reminder = super::notify::Reminder {
            request_id: due.request_id,
            client_name: &due.client_name,
            kind: due.kind,
            effective_date: due.effective_date,
            specialist: due.sem_specialist_id,
            ads_paused: due.ads_paused,
            status_updated: due.status_updated,
            open_items: due.open_items.as_deref(),
            days,
        };
        super::notify::reminder(conn, &self.config, reminder).await?;
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
