//! The change task's and the pause task's handlers: the Ops Lead forwards the task to the SEM
//! specialist, adds it to the planner sheet, updates the account status and marks it done; the
//! specialist ticks the pause task. Each action is one transaction with its audit record and
//! emails.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::Form;
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;

use super::db::{self, TaskRow};
use super::rules::{self, Status};
use super::views::{StatusForm, TaskPage, task_page};
use crate::audit::{self, Actor};
use crate::auth::roles::Role;
use crate::change_requests::db::{self as requests, Filed, RequestRow};
use crate::change_requests::rules::State as RequestState;
use crate::clients::db as clients;
use crate::web::AppState;
use crate::web::ctx::{Ctx, commit_and_go};
use crate::web::error::{AppError, AppResult};

/// The task and its request, the request locked first (as every workflow change does).
async fn lock(conn: &mut PgConnection, id: i64) -> AppResult<(TaskRow, RequestRow)> {
    let request_id = db::request_of_task(conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let request = requests::lock(conn, request_id)
        .await?
        .ok_or(AppError::NotFound)?;
    db::lock_task(conn, id).await?;
    let task = db::find(conn, id).await?.ok_or(AppError::NotFound)?;
    Ok((task, request))
}

#[tracing::instrument(level = "debug", skip_all, fields(task = id))]
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
    task_id: i64,
    message: &str,
) -> AppResult<Response> {
    commit_and_go(tx, &format!("/tasks/{task_id}"), message).await
}

#[derive(Debug, Deserialize)]
pub(super) struct ForwardForm {
    #[serde(default)]
    sem_specialist: String,
}

/// The Ops Lead forwards the task to a SEM specialist, who owns the request's SEM work from
/// then on and gets everything they need by email.
#[tracing::instrument(level = "debug", skip_all, fields(task = id))]
pub(super) async fn forward(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<ForwardForm>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let (task, request) = lock(&mut tx, id).await?;
    if let Err(refusal) = rules::may_forward(ctx.who(), task.facts(&request)) {
        return back_to_task(tx, id, &format!("Nothing changed. {refusal}")).await;
    }
    let specialists =
        crate::users::db::people_with_role(&mut tx, Role::SemSpecialist.key()).await?;
    let chosen = form.sem_specialist.trim().parse::<i64>().ok();
    let Some(specialist) = specialists.iter().find(|p| Some(p.id) == chosen) else {
        let message = "Nothing was forwarded: choose a SEM specialist from the list.";
        return back_to_task(tx, id, message).await;
    };
    db::forward(&mut tx, id, specialist.id, ctx.user.id).await?;
    db::give_sem_work(&mut tx, request.id, specialist.id).await?;
    // Cancellations and pauses give the specialist a task to pause the ads by the date.
    if rules::needs_planner(request.kind) && request.reverses_id.is_none() {
        db::open_sem_task(&mut tx, request.id, specialist.id, request.effective_date).await?;
    }
    let details =
        json!({ "change_task_id": id, "to": specialist.id, "to_name": specialist.display_name });
    let actor = Actor::from_ctx(&ctx);
    audit::on_request(
        &mut tx,
        &actor,
        "change_task.forwarded",
        request.id,
        details,
    )
    .await?;
    super::notify::forwarded(&mut tx, &state.config, &request, id, specialist.id).await?;
    let message = format!("Forwarded to {}.", specialist.display_name);
    back_to_task(tx, id, &message).await
}

#[tracing::instrument(level = "debug", skip_all, fields(task = id))]
pub(super) async fn add_to_planner(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let (task, request) = lock(&mut tx, id).await?;
    if let Err(refusal) = rules::may_add_to_planner(ctx.who(), task.facts(&request)) {
        return back_to_task(tx, id, &format!("Nothing changed. {refusal}")).await;
    }
    let entry = db::add_planner_entry(&mut tx, &request, id, ctx.user.id).await?;
    let days = &state.config.reminder_days;
    super::reminders::schedule(&mut tx, &state.clock, entry, request.effective_date, days).await?;
    let details = json!({ "change_task_id": id, "planner_entry_id": entry, "effective_date": request.effective_date });
    let actor = Actor::from_ctx(&ctx);
    audit::on_request(
        &mut tx,
        &actor,
        "change_task.planner_added",
        request.id,
        details,
    )
    .await?;
    let message = "Added to the planner sheet; the SEM team will be reminded as the date comes.";
    back_to_task(tx, id, message).await
}

/// The Ops Lead updates the client's account: the status the request leads to, on the
/// request's date, with the request's new budget for an addendum (one date and one budget,
/// never typed again here).
#[tracing::instrument(level = "debug", skip_all, fields(task = id))]
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
    let (task, request) = lock(&mut tx, id).await?;
    if let Err(refusal) = rules::may_update_status(ctx.who(), task.facts(&request)) {
        return back_to_task(tx, id, &format!("Nothing changed. {refusal}")).await;
    }
    let (before_status, before_budget) = clients::lock_status(&mut tx, request.client_id).await?;
    let new_budget = match status {
        Status::Active => request.new_budget_cents.unwrap_or(before_budget),
        _ => before_budget,
    };
    let change = clients::StatusChange {
        client_id: request.client_id,
        status,
        budget_cents: new_budget,
        changed_by: Some(ctx.user.id),
        change_request_id: request.id,
        note: format!("Change request #{}", request.id),
        effective_date: Some(request.effective_date),
    };
    clients::set_status(&mut tx, change).await?;
    db::mark_status_updated(&mut tx, id, ctx.user.id, before_status, before_budget).await?;
    let details = json!({
        "change_task_id": id,
        "client_id": request.client_id,
        "from": before_status,
        "to": status,
        "budget_cents": { "from": before_budget, "to": new_budget },
        "effective_date": request.effective_date,
    });
    let actor = Actor::from_ctx(&ctx);
    audit::on_request(
        &mut tx,
        &actor,
        "change_task.status_updated",
        request.id,
        details,
    )
    .await?;
    let status = status.task_label().to_lowercase();
    let client = &request.client_name;
    let message = if request.effective_date > state.clock.today() {
        let day = crate::time::day(request.effective_date);
        format!("{client} is now recorded as {status}, effective {day}.")
    } else {
        format!("{client} is now: {status}.")
    };
    back_to_task(tx, id, &message).await
}

#[tracing::instrument(level = "debug", skip_all, fields(task = id))]
pub(super) async fn mark_done(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let (task, request) = lock(&mut tx, id).await?;
    if let Err(refusal) = rules::may_mark_done(ctx.who(), task.facts(&request)) {
        return back_to_task(tx, id, &format!("Nothing changed. {refusal}")).await;
    }
    db::mark_task_done(&mut tx, id, ctx.user.id).await?;
    let actor = Actor::from_ctx(&ctx);
    let details = json!({ "change_task_id": id });
    audit::on_request(&mut tx, &actor, "change_task.done", request.id, details).await?;
    let message = if super::completion::complete_if_ready(&mut tx, &actor, request.id).await? {
        "Change task done, and with it the whole request: it is completed."
    } else {
        "Change task done."
    };
    back_to_task(tx, id, message).await
}

#[derive(Debug, Deserialize)]
pub(super) struct TickForm {
    #[serde(default)]
    note: String,
}

/// The SEM specialist ticks the pause task.
#[tracing::instrument(level = "debug", skip_all, fields(task = id))]
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
            let mut page =
                crate::change_requests::views::show_page(&state, &ctx, request_id).await?;
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
    let task = db::sem_task_for(&mut tx, request_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let back = format!("/requests/{request_id}");
    let (done, cancelled) = (task.done_at.is_some(), task.cancelled_at.is_some());
    if let Err(refusal) = rules::may_tick_sem_task(ctx.who(), task.assignee, done, cancelled) {
        return commit_and_go(tx, &back, &format!("Nothing changed. {refusal}")).await;
    }
    db::tick_sem_task(&mut tx, id, ctx.user.id, &note).await?;
    let actor = Actor::from_ctx(&ctx);
    let details = json!({ "sem_task_id": id, "note": note });
    audit::on_request(&mut tx, &actor, "sem_task.done", request_id, details).await?;
    let message = if super::completion::complete_if_ready(&mut tx, &actor, request_id).await? {
        "Ads paused: ticked. The request is now completed."
    } else {
        "Ads paused: ticked."
    };
    commit_and_go(tx, &back, message).await
}

#[derive(Debug, Deserialize)]
pub(super) struct ReinstateForm {
    #[serde(default)]
    reason: String,
}

/// Files the reinstatement of a completed or approved request: the same terms, undone once
/// approved.
#[tracing::instrument(level = "debug", skip_all, fields(task = id))]
pub(super) async fn file_reinstatement(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<ReinstateForm>,
) -> AppResult<Response> {
    let reason =
        match crate::web::text::required(&form.reason, 2000, "Say what the client decided.") {
            Ok(reason) => reason,
            Err(message) => {
                let mut page = crate::change_requests::views::show_page(&state, &ctx, id).await?;
                page.reinstate.text = form.reason;
                page.reinstate.error = message;
                return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
            }
        };
    let back = format!("/requests/{id}");
    let mut tx = state.db.begin().await?;
    let request = requests::lock(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let f = super::reinstate::facts(&mut tx, &request).await?;
    if let Err(refusal) = rules::may_reinstate(ctx.who(), f, state.clock.today()) {
        return commit_and_go(tx, &back, &format!("Nothing was filed. {refusal}")).await;
    }
    let details = super::reinstate::reversal_of(&request, &reason);
    let filed = requests::insert(
        &mut tx,
        request.client_id,
        ctx.user.id,
        &details,
        RequestState::Draft,
    );
    let new_id = match filed.await? {
        Filed::Ok(new_id) => new_id,
        Filed::AlreadyOpen => {
            drop(tx);
            let message = "Nothing was filed: the client already has an open change request. Finish or withdraw it first.";
            return commit_and_go(state.db.begin().await?, &back, message).await;
        }
    };
    requests::set_reverses(&mut tx, new_id, id).await?;
    let actor = Actor::from_ctx(&ctx);
    let record = json!({ "client_id": request.client_id, "kind": request.kind, "reverses": id, "state": "draft" });
    audit::on_request(&mut tx, &actor, "change_request.filed", new_id, record).await?;
    let record = json!({ "reversal_id": new_id, "reason": reason });
    audit::on_request(
        &mut tx,
        &actor,
        "change_request.reinstatement_filed",
        id,
        record,
    )
    .await?;
    commit_and_go(tx, &format!("/requests/{new_id}"), "Reinstatement filed. Submit it: it goes through the approval chain, and once approved the original is undone.").await
}
