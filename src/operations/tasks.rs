//! The change task: one page consolidating an approved request, where the Ops Lead forwards it
//! to the SEM specialist, adds it to the planner sheet, updates the account status, and marks
//! it done. Each action is one transaction with its audit record and emails.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::Form;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;

use super::db;
use super::rules::{self, Status, TaskFacts};
use crate::approvals::db::StepRow;
use crate::audit::{self, Actor};
use crate::auth::roles::Role;
use crate::change_requests::db::{self as requests, RequestRow};
use crate::change_requests::rules::{CancelScope, Kind, Who};
use crate::clients::db as clients;
use crate::users::db::PersonOption;
use crate::web::AppState;
use crate::web::ctx::{Ctx, commit_and_go};
use crate::web::error::{AppError, AppResult};
use crate::web::fields::FieldErrors;
use crate::web::pages::Chrome;

fn who(ctx: &Ctx) -> Who {
    Who {
        id: ctx.user.id,
        roles: ctx.user.roles,
    }
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

/// The task and its request, the request locked first (as every workflow change does).
async fn lock(conn: &mut PgConnection, id: i64) -> AppResult<(TaskRow, RequestRow)> {
    let request_id = db::request_of_task(conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let r = requests::lock(conn, request_id)
        .await?
        .ok_or(AppError::NotFound)?;
    db::lock_task(conn, id).await?;
    let t = find(conn, id).await?.ok_or(AppError::NotFound)?;
    Ok((t, r))
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
    pub fn due(&self) -> String {
        crate::time::day(self.due_on)
    }
    pub fn due_now(&self) -> bool {
        self.done_at.is_none() && rules::due_now(self.due_on, crate::time::display_today())
    }
    pub fn done(&self) -> String {
        when(self.done_at)
    }
}

/// The pause task part of a request's page.
#[derive(Debug)]
pub struct SemTaskPanel {
    pub task: Option<SemTaskRow>,
    pub may_tick: bool,
    /// The note, when it needs another look, and what was typed.
    pub note_error: String,
    pub note_text: String,
}

impl SemTaskPanel {
    pub async fn load(conn: &mut PgConnection, request_id: i64, viewer: Who) -> sqlx::Result<Self> {
        let task = sem_task_for(conn, request_id).await?;
        let may_tick = task.as_ref().is_some_and(|t| {
            let (done, cancelled) = (t.done_at.is_some(), t.cancelled_at.is_some());
            rules::may_tick_sem_task(viewer, t.assignee, done, cancelled).is_ok()
        });
        Ok(SemTaskPanel {
            task,
            may_tick,
            note_error: String::new(),
            note_text: String::new(),
        })
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

#[derive(Debug, Default, Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    status: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "operations/task.html")]
pub struct TaskPage {
    chrome: Chrome,
    t: TaskRow,
    r: RequestRow,
    save_attempt: Option<crate::retention::SaveAttempt>,
    attachments: Vec<crate::change_requests::attachments::AttachmentRow>,
    steps: Vec<StepRow>,
    sem_task: Option<SemTaskRow>,
    remaining: Vec<&'static str>,
    needs_planner: bool,
    may_forward: bool,
    may_plan: bool,
    may_status: bool,
    may_done: bool,
    specialists: Vec<PersonOption>,
    statuses: [Status; 4],
    suggested_status: &'static str,
    pub status_form: StatusForm,
    pub status_errors: FieldErrors,
    client_status: Status,
}

impl TaskPage {
    fn specialist_chosen(&self, id: &i64) -> bool {
        Some(*id) == self.r.client_sem_specialist_id
    }
    fn status_chosen(&self, key: &str) -> bool {
        self.status_form.status == key
    }
}

pub async fn task_page(state: &AppState, ctx: &Ctx, task_id: i64) -> AppResult<TaskPage> {
    let mut conn = state.db.acquire().await?;
    let t = find(&mut conn, task_id).await?.ok_or(AppError::NotFound)?;
    let r = requests::find(&mut conn, t.change_request_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let save_attempt = crate::retention::find(&mut conn, r.id).await?;
    let attachments = crate::change_requests::attachments::for_request(&mut conn, r.id).await?;
    let steps = crate::approvals::db::round(&mut conn, r.id, r.approval_round).await?;
    let sem_task = sem_task_for(&mut conn, r.id).await?;
    let specialists =
        crate::users::db::people_with_role(&mut conn, Role::SemSpecialist.key()).await?;
    let client_status: Status = sqlx::query_scalar("SELECT status FROM clients WHERE id = $1")
        .bind(r.client_id)
        .fetch_one(&mut *conn)
        .await?;
    let facts = t.facts(&r);
    let suggested = rules::status_for(r.kind, r.cancel_scope == Some(CancelScope::LeavePlatform));
    let me = who(ctx);
    Ok(TaskPage {
        chrome: Chrome::new(state, ctx, "/tasks"),
        remaining: rules::remaining(facts),
        needs_planner: rules::needs_planner(r.kind) && r.reverses_id.is_none(),
        may_forward: rules::may_forward(me, facts).is_ok(),
        may_plan: rules::may_add_to_planner(me, facts).is_ok(),
        may_status: rules::may_update_status(me, facts).is_ok(),
        may_done: rules::may_mark_done(me, facts).is_ok(),
        specialists,
        statuses: Status::ALL,
        suggested_status: suggested.key(),
        status_form: StatusForm {
            status: suggested.key().to_string(),
        },
        status_errors: FieldErrors::default(),
        client_status,
        t,
        r,
        save_attempt,
        attachments,
        steps,
        sem_task,
    })
}

pub(super) async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> AppResult<TaskPage> {
    task_page(&state, &ctx, id).await
}

/// Commits `tx`, keeps `message` for the next page and returns to the change task.
async fn back_to_task(
    tx: sqlx::Transaction<'_, sqlx::Postgres>,
    ctx: &Ctx,
    task_id: i64,
    message: &str,
) -> AppResult<Response> {
    commit_and_go(tx, ctx, &format!("/tasks/{task_id}"), message).await
}

#[derive(Debug, Deserialize)]
pub(super) struct ForwardForm {
    #[serde(default)]
    sem_specialist: String,
}

/// The Ops Lead forwards the task to a SEM specialist, who owns the request's SEM work from
/// then on and gets everything they need by email.
pub(super) async fn forward(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<ForwardForm>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let (t, r) = lock(&mut tx, id).await?;
    if let Err(refusal) = rules::may_forward(who(&ctx), t.facts(&r)) {
        return back_to_task(tx, &ctx, id, &format!("Nothing changed. {refusal}")).await;
    }
    let specialists =
        crate::users::db::people_with_role(&mut tx, Role::SemSpecialist.key()).await?;
    let chosen = form.sem_specialist.trim().parse::<i64>().ok();
    let Some(specialist) = specialists.iter().find(|p| Some(p.id) == chosen) else {
        let message = "Nothing was forwarded: choose a SEM specialist from the list.";
        return back_to_task(tx, &ctx, id, message).await;
    };
    db::forward(&mut tx, id, specialist.id, ctx.user.id).await?;
    db::give_sem_work(&mut tx, r.id, specialist.id).await?;
    // Cancellations and pauses give the specialist a task to pause the ads by the date.
    if rules::needs_planner(r.kind) && r.reverses_id.is_none() {
        db::open_sem_task(&mut tx, r.id, specialist.id, r.effective_date).await?;
    }
    let details =
        json!({ "change_task_id": id, "to": specialist.id, "to_name": specialist.display_name });
    let entity = Some(r.id.to_string());
    let actor = Actor::from_ctx(&ctx);
    audit::record(
        &mut tx,
        &actor,
        "change_task.forwarded",
        "change_request",
        entity,
        details,
    )
    .await?;
    super::notify::forwarded(&mut tx, &state.config, &r, id, specialist.id).await?;
    let message = format!("Forwarded to {}.", specialist.display_name);
    back_to_task(tx, &ctx, id, &message).await
}

pub(super) async fn add_to_planner(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let (t, r) = lock(&mut tx, id).await?;
    if let Err(refusal) = rules::may_add_to_planner(who(&ctx), t.facts(&r)) {
        return back_to_task(tx, &ctx, id, &format!("Nothing changed. {refusal}")).await;
    }
    let entry = db::add_planner_entry(&mut tx, &r, id, ctx.user.id).await?;
    let days = &state.config.reminder_days;
    super::reminders::schedule(&mut tx, &state.clock, entry, r.effective_date, days).await?;
    let details = json!({ "change_task_id": id, "planner_entry_id": entry, "effective_date": r.effective_date });
    let entity = Some(r.id.to_string());
    let actor = Actor::from_ctx(&ctx);
    audit::record(
        &mut tx,
        &actor,
        "change_task.planner_added",
        "change_request",
        entity,
        details,
    )
    .await?;
    let message = "Added to the planner sheet; the SEM team will be reminded as the date comes.";
    back_to_task(tx, &ctx, id, message).await
}

/// The Ops Lead updates the client's account: the status the request leads to, on the
/// request's date, with the request's new budget for an addendum (one date and one budget,
/// never typed again here).
pub(super) async fn update_status(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<StatusForm>,
) -> AppResult<Response> {
    let Some(status) = Status::from_key(form.status.trim()) else {
        let mut page = task_page(&state, &ctx, id).await?;
        page.status_form = form;
        page.status_errors.add("status", "Choose the new status.");
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let mut tx = state.db.begin().await?;
    let (t, r) = lock(&mut tx, id).await?;
    if let Err(refusal) = rules::may_update_status(who(&ctx), t.facts(&r)) {
        return back_to_task(tx, &ctx, id, &format!("Nothing changed. {refusal}")).await;
    }
    let (before_status, before_budget) = clients::lock_status(&mut tx, r.client_id).await?;
    let new_budget = match status {
        Status::Active => r.new_budget_cents.unwrap_or(before_budget),
        _ => before_budget,
    };
    let change = clients::StatusChange {
        client_id: r.client_id,
        status,
        budget_cents: new_budget,
        changed_by: Some(ctx.user.id),
        change_request_id: r.id,
        note: format!("Change request #{}", r.id),
        effective_date: Some(r.effective_date),
    };
    clients::set_status(&mut tx, change).await?;
    db::mark_status_updated(&mut tx, id, ctx.user.id, before_status, before_budget).await?;
    let details = json!({
        "change_task_id": id,
        "client_id": r.client_id,
        "from": before_status,
        "to": status,
        "budget_cents": { "from": before_budget, "to": new_budget },
        "effective_date": r.effective_date,
    });
    let entity = Some(r.id.to_string());
    let actor = Actor::from_ctx(&ctx);
    audit::record(
        &mut tx,
        &actor,
        "change_task.status_updated",
        "change_request",
        entity,
        details,
    )
    .await?;
    let message = format!(
        "{} is now: {}.",
        r.client_name,
        status.task_label().to_lowercase()
    );
    back_to_task(tx, &ctx, id, &message).await
}

pub(super) async fn mark_done(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let (t, r) = lock(&mut tx, id).await?;
    if let Err(refusal) = rules::may_mark_done(who(&ctx), t.facts(&r)) {
        return back_to_task(tx, &ctx, id, &format!("Nothing changed. {refusal}")).await;
    }
    db::mark_task_done(&mut tx, id, ctx.user.id).await?;
    let actor = Actor::from_ctx(&ctx);
    let entity = Some(r.id.to_string());
    let details = json!({ "change_task_id": id });
    audit::record(
        &mut tx,
        &actor,
        "change_task.done",
        "change_request",
        entity,
        details,
    )
    .await?;
    let message = if super::complete_if_ready(&mut tx, &actor, r.id).await? {
        "Change task done, and with it the whole request: it is completed."
    } else {
        "Change task done."
    };
    back_to_task(tx, &ctx, id, message).await
}

#[derive(Debug, Deserialize)]
pub(super) struct TickForm {
    #[serde(default)]
    note: String,
}

/// The SEM specialist ticks the pause task.
pub(super) async fn tick_sem_task(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<TickForm>,
) -> AppResult<Response> {
    let note = match crate::web::text::paragraph(&form.note, 2000) {
        Ok(note) => note,
        Err(problem) => {
            let mut conn = state.db.acquire().await?;
            let request_id = db::request_of_sem_task(&mut conn, id)
                .await?
                .ok_or(AppError::NotFound)?;
            drop(conn);
            let mut page = crate::change_requests::show_page(&state, &ctx, request_id).await?;
            page.sem.note_error = problem;
            page.sem.note_text = form.note;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let mut tx = state.db.begin().await?;
    let request_id = db::request_of_sem_task(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    requests::lock(&mut tx, request_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let task = sem_task_for(&mut tx, request_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let back = format!("/requests/{request_id}");
    let (done, cancelled) = (task.done_at.is_some(), task.cancelled_at.is_some());
    if let Err(refusal) = rules::may_tick_sem_task(who(&ctx), task.assignee, done, cancelled) {
        return commit_and_go(tx, &ctx, &back, &format!("Nothing changed. {refusal}")).await;
    }
    db::tick_sem_task(&mut tx, id, ctx.user.id, &note).await?;
    let actor = Actor::from_ctx(&ctx);
    let entity = Some(request_id.to_string());
    let details = json!({ "sem_task_id": id, "note": note });
    audit::record(
        &mut tx,
        &actor,
        "sem_task.done",
        "change_request",
        entity,
        details,
    )
    .await?;
    let message = if super::complete_if_ready(&mut tx, &actor, request_id).await? {
        "Ads paused: ticked. The request is now completed."
    } else {
        "Ads paused: ticked."
    };
    commit_and_go(tx, &ctx, &back, message).await
}

/// A change task waiting on the Ops Lead, for their desk.
#[derive(Debug, sqlx::FromRow)]
pub struct OpenTask {
    pub id: i64,
    pub client_name: String,
    pub kind: Kind,
    pub effective_date: NaiveDate,
    pub created_at: DateTime<Utc>,
}

impl OpenTask {
    pub fn kind_label(&self) -> &'static str {
        self.kind.label()
    }
    pub fn effective(&self) -> String {
        crate::time::day(self.effective_date)
    }
    pub fn waiting(&self) -> String {
        requests::waited(Utc::now() - self.created_at)
    }
}

pub async fn open_tasks(conn: &mut PgConnection, limit: i64) -> sqlx::Result<Vec<OpenTask>> {
    sqlx::query_as(
        // Open tasks in order from their index, each request looked up by its key (the
        // LIMIT keeps the lookup per row), until the page is full.
        "SELECT t.id, c.name AS client_name, r.kind, r.effective_date, t.created_at
           FROM change_tasks t
          CROSS JOIN LATERAL (SELECT r.kind, r.effective_date, r.client_id FROM change_requests r
                               WHERE r.id = t.change_request_id AND r.state = 'approved'
                               LIMIT 1) r
           JOIN clients c ON c.id = r.client_id
          WHERE t.done_at IS NULL
          ORDER BY t.created_at, t.id
          LIMIT $1",
    )
    .bind(limit)
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
}

impl OpenSemTask {
    pub fn kind_label(&self) -> &'static str {
        self.kind.label()
    }
    pub fn due(&self) -> String {
        crate::time::day(self.due_on)
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
        "SELECT r.id AS request_id, c.name AS client_name, r.kind, t.due_on
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
