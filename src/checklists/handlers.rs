//! The checklist's POST handlers: tick, undo, send back. Each checks, calls the rules and the
//! statements in `db`, records, and answers.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::Form;
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;

use super::db::{self, ItemRow};
use super::{notify, rules};
use crate::audit::{self, Actor};
use crate::auth::roles::Role;
use crate::change_requests::rules::{Refusal, State as RequestState};
use crate::web::AppState;
use crate::web::ctx::{Ctx, commit_and_go};
use crate::web::error::{AppError, AppResult};

#[derive(Debug, Deserialize)]
pub(crate) struct TickForm {
    #[serde(default)]
    note: String,
}

/// Ticks an item, with an optional note; the last one completes the request.
#[tracing::instrument(level = "debug", skip_all, fields(item = id))]
pub(super) async fn tick(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<TickForm>,
) -> AppResult<Response> {
    let note = match crate::web::text::paragraph(&form.note, 2000) {
        Ok(note) => note,
        Err(problem) => {
            let mut conn = state.db.acquire().await?;
            let request_id = db::request_of(&mut conn, id)
                .await?
                .ok_or(AppError::NotFound)?;
            drop(conn);
            return problem_page(&state, &ctx, id, request_id, "note", &problem, &form.note).await;
        }
    };
    let mut tx = state.db.begin().await?;
    let (request_id, item, _, client) = load_locked(&mut tx, id).await?;
    let facts = item.facts();
    if !ctx.user.roles.contains(facts.owner) {
        return refuse_foreign(tx, &ctx, id, "done").await;
    }
    let back = back_for(&ctx, request_id);
    if let Err(refusal) = rules::may_tick(ctx.who(), facts) {
        return refuse(tx, &ctx, &back, id, "done", refusal).await;
    }
    db::mark_done(&mut tx, id, ctx.user.id, &note).await?;
    let actor = Actor::from_ctx(&ctx);
    let what = json!({ "item_id": id, "title": item.title, "note": note });
    audit::on_request(&mut tx, &actor, "checklist.ticked", request_id, what).await?;
    let message =
        if crate::operations::completion::complete_if_ready(&mut tx, &actor, request_id).await? {
            format!(
                "Done: {} ({client}). That was the last of it: the request is completed.",
                item.title
            )
        } else {
            format!("Done: {} ({client}).", item.title)
        };
    commit_and_go(tx, &back, &message).await
}

/// Undoes a tick, by whoever made it, with a reason; the item's daily reminders start again.
#[tracing::instrument(level = "debug", skip_all, fields(item = id))]
pub(super) async fn undo(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<ReasonForm>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let (request_id, item, closed, client) = load_locked(&mut tx, id).await?;
    if !ctx.user.roles.contains(item.owner_role) {
        return refuse_foreign(tx, &ctx, id, "undo").await;
    }
    let reason = match reason_or_page(&state, &ctx, id, request_id, &form.reason).await? {
        Ok(reason) => reason,
        Err(response) => return Ok(response),
    };
    let facts = rules::UndoFacts {
        owner: item.owner_role,
        done_by: item.done_by,
        verification_done: db::verification_done(&mut tx, id).await?,
        closed,
    };
    let back = back_for(&ctx, request_id);
    if let Err(refusal) = rules::may_undo(ctx.who(), facts) {
        return refuse(tx, &ctx, &back, id, "undo", refusal).await;
    }
    db::reopen(&mut tx, &state.clock, id).await?;
    let what = json!({ "item_id": id, "title": item.title, "reason": reason });
    audit::on_request(
        &mut tx,
        &Actor::from_ctx(&ctx),
        "checklist.undone",
        request_id,
        what,
    )
    .await?;
    commit_and_go(tx, &back, &format!("Undone: {} ({client}).", item.title)).await
}

/// The SEM specialist sends a contractor item back (it was not really done), from the
/// verification item, with a reason; the contractor is emailed.
#[tracing::instrument(level = "debug", skip_all, fields(item = id))]
pub(super) async fn send_back(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<ReasonForm>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let (request_id, verification, closed, _) = load_locked(&mut tx, id).await?;
    let back = back_for(&ctx, request_id);
    // Whether it may be sent back comes first, so every refused attempt is on the record
    // (even one with no reason typed) and answers alike whatever the item is.
    let Some(contractor_item) = verification.verifies_id else {
        let refusal = Refusal("Only a contractor's item is sent back, from its verification.");
        return refuse(tx, &ctx, &back, id, "send-back", refusal).await;
    };
    let verified_done = verification.verified_item_done.unwrap_or(false);
    let done = verification.done_at.is_some();
    if let Err(refusal) = rules::may_send_back(
        ctx.who(),
        verification.assignee,
        verified_done,
        done,
        closed,
    ) {
        return refuse(tx, &ctx, &back, id, "send-back", refusal).await;
    }
    let reason = match reason_or_page(&state, &ctx, id, request_id, &form.reason).await? {
        Ok(reason) => reason,
        Err(response) => return Ok(response),
    };
    let (title, client_name) = db::title_and_client(&mut tx, contractor_item).await?;
    db::reopen(&mut tx, &state.clock, contractor_item).await?;
    let what = json!({ "item_id": contractor_item, "title": title, "reason": reason });
    audit::on_request(
        &mut tx,
        &Actor::from_ctx(&ctx),
        "checklist.sent_back",
        request_id,
        what,
    )
    .await?;
    notify::sent_back(
        &mut tx,
        &state.config,
        request_id,
        &client_name,
        &title,
        &reason,
    )
    .await?;
    let message = format!("Sent back to the contractor: {title} ({client_name}).");
    commit_and_go(tx, &back, &message).await
}

/// The item, its request locked first (every change to a request's checklist waits on the
/// request), and whether the request is closed to the checklist (no longer approved).
async fn load_locked(conn: &mut PgConnection, id: i64) -> AppResult<(i64, ItemRow, bool, String)> {
    let request_id = db::request_of(conn, id).await?.ok_or(AppError::NotFound)?;
    let request = crate::change_requests::db::lock(conn, request_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let item = db::item(conn, id).await?;
    let closed = request.state != RequestState::Approved;
    Ok((request_id, item, closed, request.client_name))
}

/// Where a person goes back to after acting on an item: the contractor works from their desk
/// and may not open the request.
fn back_for(ctx: &Ctx, request_id: i64) -> String {
    if ctx.user.roles.contains(Role::Contractor) {
        "/".to_string()
    } else {
        format!("/requests/{request_id}")
    }
}

/// Someone else's item (another role's): refused and on the record, like a refused route, and
/// nothing about the item said.
async fn refuse_foreign(
    mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
    ctx: &Ctx,
    id: i64,
    action: &str,
) -> AppResult<Response> {
    audit::record(
        &mut tx,
        &Actor::from_ctx(ctx),
        "access.refused",
        "checklist_item",
        Some(id.to_string()),
        json!({ "method": "POST", "path": format!("/checklist/{id}/{action}") }),
    )
    .await?;
    tx.commit().await?;
    Err(AppError::Forbidden)
}

/// An action on one's own kind of item that the rules refuse. The contractor, who may see
/// only its own work, is told nothing about the item's state, and the refusal is recorded.
async fn refuse(
    mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
    ctx: &Ctx,
    back: &str,
    id: i64,
    action: &str,
    refusal: Refusal,
) -> AppResult<Response> {
    if !ctx.user.roles.contains(Role::Contractor) {
        return commit_and_go(tx, back, &format!("Nothing changed. {refusal}")).await;
    }
    audit::record(
        &mut tx,
        &Actor::from_ctx(ctx),
        "checklist.refused",
        "checklist_item",
        Some(id.to_string()),
        json!({ "action": action, "why": refusal.0 }),
    )
    .await?;
    // Said without the item's state or its request's (which may have closed), but for what
    // was asked: a second tick or a second undo reads right.
    let message = match action {
        "undo" => {
            "Nothing changed: that item is not one of yours to reopen (it may be open already)."
        }
        "done" => {
            "Nothing changed: that item is not open for you to tick (it may be done already)."
        }
        _ => "Nothing changed: that item is not one you can send back.",
    };
    commit_and_go(tx, back, message).await
}

#[derive(Debug, Deserialize)]
pub(crate) struct ReasonForm {
    #[serde(default)]
    reason: String,
}

/// A reason, checked; or the page again with the message beside the item's reason field.
async fn reason_or_page(
    state: &AppState,
    ctx: &Ctx,
    item: i64,
    request_id: i64,
    typed: &str,
) -> AppResult<Result<String, Response>> {
    match crate::web::text::required(typed, 2000, "Say why.") {
        Ok(reason) => Ok(Ok(reason)),
        Err(problem) => Ok(Err(problem_page(
            state, ctx, item, request_id, "reason", &problem, typed,
        )
        .await?)),
    }
}

/// The request's page again with `problem` beside the item's `field` ("note" or "reason") and
/// what was typed in it; the contractor, who has no request page, is told on their desk.
async fn problem_page(
    state: &AppState,
    ctx: &Ctx,
    item: i64,
    request_id: i64,
    field: &'static str,
    problem: &str,
    typed: &str,
) -> AppResult<Response> {
    if ctx.user.roles.contains(Role::Contractor) {
        // The contractor has no request page: the desk says it, naming the item when it is
        // one the desk shows them (the same item stands on many clients' checklists), and
        // nothing about any other.
        let mut conn = state.db.acquire().await?;
        let message = match db::shown_to_contractor(&mut conn, item, ctx.user.id).await? {
            Some((title, client)) => format!("Nothing changed on {title} ({client}). {problem}"),
            None => format!("Nothing changed. {problem}"),
        };
        return Ok(crate::web::flash::redirect("/", message));
    }
    let mut page = crate::change_requests::views::show_page(state, ctx, request_id).await?;
    page.checklist.error_for = Some(item);
    page.checklist.error_field = field;
    page.checklist.error = problem.to_string();
    page.checklist.text = typed.to_string();
    Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}
