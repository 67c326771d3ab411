//! The change task's and the pause task's statements. Each takes a connection so it works
//! inside the caller's transaction.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;

use super::rules::{self, TaskFacts};
use crate::change_requests::db::{self as requests, RequestRow};
use crate::change_requests::rules::Kind;

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

/// A planner line's request and kind, and whether the line was taken off the planner (a
/// reinstatement does that, and closes the request).
pub async fn planner_entry(
    conn: &mut PgConnection,
    entry_id: i64,
) -> sqlx::Result<Option<(i64, crate::change_requests::rules::Kind, bool)>> {
    sqlx::query_as(
        "SELECT change_request_id, kind, removed_at IS NOT NULL FROM planner_entries WHERE id = $1",
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

/// A change task with who did what.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct TaskRow {
    pub id: i64,
    pub change_request_id: i64,
    pub created_at: DateTime<Utc>,
    pub forwarded_to: Option<i64>,
    pub forwarded_to_name: Option<String>,
    pub forwarded_at: Option<DateTime<Utc>>,
    pub status_updated_at: Option<DateTime<Utc>>,
    pub status_updated_by_name: Option<String>,
    pub done_at: Option<DateTime<Utc>>,
    pub done_by_name: Option<String>,
    pub planner_entry_id: Option<i64>,
}

fn when(t: Option<DateTime<Utc>>) -> String {
    t.map(crate::time::local).unwrap_or_default()
}

impl TaskRow {
    pub fn created(&self) -> String {
        when(Some(self.created_at))
    }
    pub fn forwarded(&self) -> String {
        when(self.forwarded_at)
    }
    pub fn status_updated(&self) -> String {
        when(self.status_updated_at)
    }
    pub fn done(&self) -> String {
        when(self.done_at)
    }

    pub fn facts(&self, r: &RequestRow) -> TaskFacts {
        TaskFacts {
            kind: r.kind,
            reversal: r.reverses_id.is_some(),
            request_state: r.state,
            forwarded: self.forwarded_at.is_some(),
            on_planner: self.planner_entry_id.is_some(),
            status_updated: self.status_updated_at.is_some(),
            done: self.done_at.is_some(),
        }
    }
}

const TASK_SELECT: &str = "SELECT t.id, t.change_request_id, t.created_at, t.forwarded_to,
        f.display_name AS forwarded_to_name, t.forwarded_at, t.status_updated_at,
        s.display_name AS status_updated_by_name, t.done_at, d.display_name AS done_by_name,
        (SELECT p.id FROM planner_entries p
          WHERE p.change_request_id = t.change_request_id AND p.removed_at IS NULL) AS planner_entry_id
   FROM change_tasks t
   LEFT JOIN users f ON f.id = t.forwarded_to
   LEFT JOIN users s ON s.id = t.status_updated_by
   LEFT JOIN users d ON d.id = t.done_by";

/// Opens the change task of a request just approved; returns its id.
pub async fn open(conn: &mut PgConnection, request_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar("INSERT INTO change_tasks (change_request_id) VALUES ($1) RETURNING id")
        .bind(request_id)
        .fetch_one(conn)
        .await
}

pub async fn find(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<TaskRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{TASK_SELECT} WHERE t.id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// The SEM specialist's pause task, as pages show it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SemTaskRow {
    pub id: i64,
    pub change_request_id: i64,
    pub assignee: i64,
    pub assignee_name: String,
    pub due_on: NaiveDate,
    pub done_at: Option<DateTime<Utc>>,
    pub done_by_name: Option<String>,
    pub note: Option<String>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

impl SemTaskRow {
    pub fn due_now(&self) -> bool {
        self.done_at.is_none()
            && self.cancelled_at.is_none()
            && rules::due_now(self.due_on, crate::time::display_today())
    }
    pub fn done(&self) -> String {
        when(self.done_at)
    }
    /// Cancelled before it was done (a reinstatement undid its request): when.
    pub fn cancelled(&self) -> Option<String> {
        self.cancelled_at
            .filter(|_| self.done_at.is_none())
            .map(|at| when(Some(at)))
    }
}

pub async fn sem_task_for(
    conn: &mut PgConnection,
    request_id: i64,
) -> sqlx::Result<Option<SemTaskRow>> {
    sqlx::query_as(
        "SELECT t.id, t.change_request_id, t.assignee, a.display_name AS assignee_name, t.due_on,
                t.done_at, d.display_name AS done_by_name, t.note, t.cancelled_at
           FROM sem_tasks t JOIN users a ON a.id = t.assignee
           LEFT JOIN users d ON d.id = t.done_by
          WHERE t.change_request_id = $1",
    )
    .bind(request_id)
    .fetch_optional(conn)
    .await
}

/// A change task waiting on the Ops Lead, for their desk.
#[derive(Debug, sqlx::FromRow)]
pub struct OpenTask {
    pub id: i64,
    pub client_name: String,
    pub kind: Kind,
    pub effective_date: NaiveDate,
    pub created_at: DateTime<Utc>,
    /// The approved request this task's request undoes (a reinstatement).
    pub reverses_id: Option<i64>,
}

impl OpenTask {
    pub fn kind_label(&self) -> &'static str {
        self.kind.label_of(self.reverses_id)
    }
    pub fn waiting(&self) -> String {
        requests::waited(Utc::now() - self.created_at)
    }
}

pub async fn open_tasks(conn: &mut PgConnection, limit: i64) -> sqlx::Result<Vec<OpenTask>> {
    // Open tasks in order from their index, each request looked up by its key (the LIMIT 1
    // keeps the lookup per row), until the page is full. The page's length is written into
    // the statement: with no parameter left, PostgreSQL plans it once per connection instead
    // of on every execution (planning cost about as much as running it).
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT t.id, c.name AS client_name, r.kind, r.effective_date, t.created_at, r.reverses_id
           FROM change_tasks t
          CROSS JOIN LATERAL (SELECT r.kind, r.effective_date, r.client_id, r.reverses_id
                                FROM change_requests r
                               WHERE r.id = t.change_request_id AND r.state = 'approved'
                               LIMIT 1) r
           JOIN clients c ON c.id = r.client_id
          WHERE t.done_at IS NULL
          ORDER BY t.created_at, t.id
          LIMIT {limit}"
    )))
    .fetch_all(conn)
    .await
}

/// A pause task waiting on a specialist, for their desk.
#[derive(Debug, sqlx::FromRow)]
pub struct OpenSemTask {
    pub request_id: i64,
    pub client_name: String,
    pub kind: Kind,
    pub due_on: NaiveDate,
    pub reverses_id: Option<i64>,
}

impl OpenSemTask {
    pub fn kind_label(&self) -> &'static str {
        self.kind.label_of(self.reverses_id)
    }
    pub fn due_now(&self) -> bool {
        rules::due_now(self.due_on, crate::time::display_today())
    }
}

pub async fn open_sem_tasks(
    conn: &mut PgConnection,
    user: i64,
    limit: i64,
) -> sqlx::Result<Vec<OpenSemTask>> {
    sqlx::query_as(
        "SELECT r.id AS request_id, c.name AS client_name, r.kind, t.due_on, r.reverses_id
           FROM sem_tasks t
           JOIN change_requests r ON r.id = t.change_request_id
           JOIN clients c ON c.id = r.client_id
          WHERE t.assignee = $1 AND t.done_at IS NULL AND t.cancelled_at IS NULL
          ORDER BY t.due_on, t.id
          LIMIT $2",
    )
    .bind(user)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Moves the request's planner entry to its new dates; returns the entry, if it has one.
pub async fn move_planner_entry(
    conn: &mut PgConnection,
    request_id: i64,
    effective: NaiveDate,
    resume: Option<NaiveDate>,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "UPDATE planner_entries SET effective_date = $2, resume_date = $3
          WHERE change_request_id = $1 AND removed_at IS NULL
          RETURNING id",
    )
    .bind(request_id)
    .bind(effective)
    .bind(resume)
    .fetch_optional(conn)
    .await
}

/// Moves the request's open pause task to its new date.
pub async fn move_sem_task(
    conn: &mut PgConnection,
    request_id: i64,
    due_on: NaiveDate,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE sem_tasks SET due_on = $2
          WHERE change_request_id = $1 AND done_at IS NULL AND cancelled_at IS NULL",
    )
    .bind(request_id)
    .bind(due_on)
    .execute(conn)
    .await?;
    Ok(())
}

/// What moved from one specialist to another.
#[derive(Debug)]
pub struct SemWorkMoved {
    pub tasks: u64,
    pub items: u64,
    pub planner: u64,
    pub forwarded: u64,
}

impl SemWorkMoved {
    pub fn is_nothing(&self) -> bool {
        self.tasks + self.items + self.planner + self.forwarded == 0
    }
}

/// Moves the request's open SEM work resting on `from` to `to`: the pause task, the checklist's
/// SEM items, the planner entry and the change task's forward.
pub async fn move_sem_work(
    conn: &mut PgConnection,
    request_id: i64,
    from: i64,
    to: i64,
) -> sqlx::Result<SemWorkMoved> {
    let mut moved = [0u64; 4];
    let statements = [
        "UPDATE sem_tasks SET assignee = $3
          WHERE change_request_id = $1 AND assignee = $2 AND done_at IS NULL AND cancelled_at IS NULL",
        "UPDATE checklist_items SET assignee = $3
          WHERE change_request_id = $1 AND owner_role = 'sem_specialist' AND assignee = $2
            AND done_at IS NULL AND cancelled_at IS NULL",
        "UPDATE planner_entries SET sem_specialist_id = $3
          WHERE change_request_id = $1 AND sem_specialist_id = $2 AND removed_at IS NULL",
        "UPDATE change_tasks SET forwarded_to = $3 WHERE change_request_id = $1 AND forwarded_to = $2",
    ];
    for (count, statement) in moved.iter_mut().zip(statements) {
        *count = sqlx::query(statement)
            .bind(request_id)
            .bind(from)
            .bind(to)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    }
    let [tasks, items, planner, forwarded] = moved;
    Ok(SemWorkMoved {
        tasks,
        items,
        planner,
        forwarded,
    })
}

/// Whether the request's change task and its pause task are done.
pub async fn tasks_done(conn: &mut PgConnection, request_id: i64) -> sqlx::Result<(bool, bool)> {
    sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM change_tasks WHERE change_request_id = $1 AND done_at IS NOT NULL),
                EXISTS (SELECT 1 FROM sem_tasks WHERE change_request_id = $1 AND done_at IS NOT NULL)",
    )
    .bind(request_id)
    .fetch_one(conn)
    .await
}
