//! A request has one effective date (and one resume date). The planner entry, the SEM pause
//! task, the checklist items' due dates and their overdue notices, the reminders, the client's
//! status history and an open reinstatement keep copies of it for their own pages and indexes;
//! moving the date moves every copy in the caller's transaction, with one audit record, so no
//! page or job is left on the old date.

use chrono::NaiveDate;
use serde_json::json;
use sqlx::PgConnection;

use crate::audit::{self, Actor};
use crate::time::Clock;

/// The dates a request moves from and to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Move {
    pub effective_from: NaiveDate,
    pub effective_to: NaiveDate,
    pub resume_from: Option<NaiveDate>,
    pub resume_to: Option<NaiveDate>,
}

/// Moves request `request_id` (locked by the caller) to `m`'s dates and every copy with it;
/// records "effective date moved from … to …" on its timeline.
#[tracing::instrument(level = "debug", skip_all, fields(request = request_id))]
pub async fn move_dates(
    conn: &mut PgConnection,
    clock: &Clock,
    reminder_days: &[u32],
    actor: &Actor,
    request_id: i64,
    m: Move,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE change_requests SET effective_date = $2, resume_date = $3, version = version + 1
          WHERE id = $1",
    )
    .bind(request_id)
    .bind(m.effective_to)
    .bind(m.resume_to)
    .execute(&mut *conn)
    .await?;
    // A reinstatement on its way undoes this request as of the same date, on its own record.
    let reversals: Vec<i64> = sqlx::query_scalar(
        "UPDATE change_requests SET effective_date = $2, resume_date = $3, version = version + 1
          WHERE reverses_id = $1
            AND state IN ('draft', 'with_retention', 'in_approval', 'changes_requested')
          RETURNING id",
    )
    .bind(request_id)
    .bind(m.effective_to)
    .bind(m.resume_to)
    .fetch_all(&mut *conn)
    .await?;
    for reversal in reversals {
        audit::record(
            conn,
            actor,
            "change_request.dates_moved",
            "change_request",
            Some(reversal.to_string()),
            json!({
                "with_request": request_id,
                "changes": {
                    "effective_date": { "from": m.effective_from, "to": m.effective_to },
                    "resume_date": { "from": m.resume_from, "to": m.resume_to },
                }
            }),
        )
        .await?;
    }
    let entry: Option<i64> = sqlx::query_scalar(
        "UPDATE planner_entries SET effective_date = $2, resume_date = $3
          WHERE change_request_id = $1 AND removed_at IS NULL
          RETURNING id",
    )
    .bind(request_id)
    .bind(m.effective_to)
    .bind(m.resume_to)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(entry) = entry {
        super::reminders::schedule(conn, clock, entry, m.effective_to, reminder_days).await?;
    }
    sqlx::query(
        "UPDATE sem_tasks SET due_on = $2
          WHERE change_request_id = $1 AND done_at IS NULL AND cancelled_at IS NULL",
    )
    .bind(request_id)
    .bind(m.effective_to)
    .execute(&mut *conn)
    .await?;
    // Each open item keeps its distance from the date; its pending overdue notice moves to the
    // day after its new due date (at once if that is past).
    let items: Vec<(i64, NaiveDate)> = sqlx::query_as(
        "UPDATE checklist_items SET due_on = $2 + due_offset_days
          WHERE change_request_id = $1 AND done_at IS NULL AND cancelled_at IS NULL
          RETURNING id, due_on",
    )
    .bind(request_id)
    .bind(m.effective_to)
    .fetch_all(&mut *conn)
    .await?;
    for (item, due_on) in items {
        let at = crate::checklists::overdue::first_due(due_on, clock.zone()).max(clock.now());
        sqlx::query(
            "UPDATE scheduled_jobs SET run_at = $2
              WHERE key LIKE $1 AND state = 'pending'",
        )
        .bind(format!("checklist-overdue:{item}:%"))
        .bind(at)
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query(
        "UPDATE client_status_history SET effective_date = $2 WHERE change_request_id = $1",
    )
    .bind(request_id)
    .bind(m.effective_to)
    .execute(&mut *conn)
    .await?;
    audit::record(
        conn,
        actor,
        "change_request.dates_moved",
        "change_request",
        Some(request_id.to_string()),
        json!({
            "changes": {
                "effective_date": { "from": m.effective_from, "to": m.effective_to },
                "resume_date": { "from": m.resume_from, "to": m.resume_to },
            }
        }),
    )
    .await?;
    Ok(())
}
