//! The change task's and the pause task's statements. Each takes a connection so it works
//! inside the caller's transaction.

use chrono::NaiveDate;
use sqlx::PgConnection;

use crate::change_requests::db::RequestRow;

/// The request a change task belongs to.
pub async fn request_of_task(conn: &mut PgConnection, task_id: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT change_request_id FROM change_tasks WHERE id = $1")
        .bind(task_id)
        .fetch_optional(conn)
        .await
}

/// Locks a change task (after its request: every workflow change locks the request first).
pub async fn lock_task(conn: &mut PgConnection, task_id: i64) -> sqlx::Result<()> {
    sqlx::query("SELECT 1 FROM change_tasks WHERE id = $1 FOR UPDATE")
        .bind(task_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The Ops Lead forwards the task to a SEM specialist.
pub async fn forward(conn: &mut PgConnection, task_id: i64, to: i64, by: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE change_tasks SET forwarded_to = $2, forwarded_by = $3, forwarded_at = now()
          WHERE id = $1",
    )
    .bind(task_id)
    .bind(to)
    .bind(by)
    .execute(conn)
    .await?;
    Ok(())
}

/// The specialist a request is forwarded to owns its SEM work from then on: the open shutdown
/// items and verifications (and so their overdue notices) and the planner line (and so its
/// reminders), whoever the client's specialist was when they were made.
pub async fn give_sem_work(conn: &mut PgConnection, request_id: i64, to: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE checklist_items SET assignee = $2
          WHERE change_request_id = $1 AND owner_role = 'sem_specialist'
            AND done_at IS NULL AND cancelled_at IS NULL",
    )
    .bind(request_id)
    .bind(to)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE planner_entries SET sem_specialist_id = $2
          WHERE change_request_id = $1 AND removed_at IS NULL",
    )
    .bind(request_id)
    .bind(to)
    .execute(conn)
    .await?;
    Ok(())
}

/// Gives `assignee` the task of pausing the ads by `due_on` (once per request).
pub async fn open_sem_task(
    conn: &mut PgConnection,
    request_id: i64,
    assignee: i64,
    due_on: NaiveDate,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO sem_tasks (change_request_id, assignee, due_on) VALUES ($1, $2, $3)
         ON CONFLICT (change_request_id) DO NOTHING",
    )
    .bind(request_id)
    .bind(assignee)
    .bind(due_on)
    .execute(conn)
    .await?;
    Ok(())
}

/// Puts `r` on the planner sheet, with the specialist its task went to (or the client's);
/// returns the line's id.
pub async fn add_planner_entry(
    conn: &mut PgConnection,
    r: &RequestRow,
    task_id: i64,
    by: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO planner_entries (change_request_id, client_id, kind, effective_date,
                                      resume_date, sem_specialist_id, account_manager_id, added_by)
         VALUES ($1, $2, $3, $4, $5,
                 COALESCE((SELECT forwarded_to FROM change_tasks WHERE id = $6), $7), $8, $9)
         RETURNING id",
    )
    .bind(r.id)
    .bind(r.client_id)
    .bind(r.kind)
    .bind(r.effective_date)
    .bind(r.resume_date)
    .bind(task_id)
    .bind(r.client_sem_specialist_id)
    .bind(r.client_account_manager_id)
    .bind(by)
    .fetch_one(conn)
    .await
}

/// Notes the account's update on the task, with what the account held before (a
/// reinstatement restores it).
pub async fn mark_status_updated(
    conn: &mut PgConnection,
    task_id: i64,
    by: i64,
    status_before: crate::clients::status::Status,
    budget_before_cents: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE change_tasks
            SET status_updated_by = $2, status_updated_at = now(), status_before = $3,
                budget_before_cents = $4
          WHERE id = $1",
    )
    .bind(task_id)
    .bind(by)
    .bind(status_before)
    .bind(budget_before_cents)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn mark_task_done(conn: &mut PgConnection, task_id: i64, by: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE change_tasks SET done_by = $2, done_at = now() WHERE id = $1")
        .bind(task_id)
        .bind(by)
        .execute(conn)
        .await?;
    Ok(())
}

/// The request a pause task belongs to.
pub async fn request_of_sem_task(
    conn: &mut PgConnection,
    sem_task_id: i64,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT change_request_id FROM sem_tasks WHERE id = $1")
        .bind(sem_task_id)
        .fetch_optional(conn)
        .await
}

/// The specialist ticks the pause task, with an optional note.
pub async fn tick_sem_task(
    conn: &mut PgConnection,
    sem_task_id: i64,
    by: i64,
    note: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE sem_tasks SET done_at = now(), done_by = $2, note = NULLIF($3, '') WHERE id = $1",
    )
    .bind(sem_task_id)
    .bind(by)
    .bind(note)
    .execute(conn)
    .await?;
    Ok(())
}

/// A planner line's request and kind, unless the line was removed.
pub async fn planner_entry(
    conn: &mut PgConnection,
    entry_id: i64,
) -> sqlx::Result<Option<(i64, crate::change_requests::rules::Kind)>> {
    sqlx::query_as(
        "SELECT change_request_id, kind FROM planner_entries WHERE id = $1 AND removed_at IS NULL",
    )
    .bind(entry_id)
    .fetch_optional(conn)
    .await
}

/// The SEM specialist on a planner line.
pub async fn planner_specialist(
    conn: &mut PgConnection,
    entry_id: i64,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT sem_specialist_id FROM planner_entries WHERE id = $1")
        .bind(entry_id)
        .fetch_one(conn)
        .await
}
