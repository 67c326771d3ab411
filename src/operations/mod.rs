//! After approval: the change task the Ops Lead works, the SEM specialist's pause task, the
//! planner sheet with its reminders and calendar, and completion.

pub mod dates;
pub mod db;
pub mod feed;
mod handlers;
mod notify;
pub mod planner;
pub mod reinstate;
pub mod reminders;
pub mod rules;
pub mod sem_handover;
mod views;

pub use db::{OpenSemTask, OpenTask, open_sem_tasks, open_tasks};
pub use views::SemTaskPanel;

use serde_json::json;
use sqlx::PgConnection;

use crate::audit::{self, Actor};
use crate::auth::access::{self, Access};
use crate::change_requests::db as requests;
use crate::change_requests::rules::State;
use crate::web::Routes;

pub fn routes(request: Routes) -> Routes {
    let view = access::AGENCY_STAFF;
    request
        .get("/tasks/{id}", view, handlers::show)
        .post("/tasks/{id}/forward", access::OPS_LEAD, handlers::forward)
        .post(
            "/tasks/{id}/planner",
            access::OPS_LEAD,
            handlers::add_to_planner,
        )
        .post(
            "/tasks/{id}/status",
            access::OPS_LEAD,
            handlers::update_status,
        )
        .post("/tasks/{id}/done", access::OPS_LEAD, handlers::mark_done)
        .post(
            "/sem-tasks/{id}/done",
            access::SEM_SPECIALIST,
            handlers::tick_sem_task,
        )
        .post("/requests/{id}/reinstate", view, reinstate::file)
        .get("/planner", view, planner::page)
        .get("/planner.csv", view, planner::export)
        .get("/planner/calendar", view, planner::calendar)
        .post("/planner/{id}", access::OPS_LEAD, planner::move_dates)
        .get("/planner/feed", view, feed::page)
        .post("/planner/feed", view, feed::create)
        .post("/planner/feed/revoke", view, feed::revoke)
        .get("/calendar/{token}", Access::Public, feed::serve)
}

/// Completes the request if everything after its approval is done, in the caller's
/// transaction (the request already locked); says whether it did.
#[tracing::instrument(level = "debug", skip_all, fields(request = request_id))]
pub async fn complete_if_ready(
    conn: &mut PgConnection,
    actor: &Actor,
    request_id: i64,
) -> sqlx::Result<bool> {
    let Some(request) = requests::find(conn, request_id).await? else {
        return Ok(false);
    };
    let (task_done, sem_done): (bool, bool) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM change_tasks WHERE change_request_id = $1 AND done_at IS NOT NULL),
                EXISTS (SELECT 1 FROM sem_tasks WHERE change_request_id = $1 AND done_at IS NOT NULL)",
    )
    .bind(request_id)
    .fetch_one(&mut *conn)
    .await?;
    let facts = rules::CompletionFacts {
        kind: request.kind,
        reversal: request.reverses_id.is_some(),
        state: request.state,
        processed: request.processed_at.is_some(),
        task_done,
        sem_task_done: sem_done,
        checklist_done: crate::checklists::db::is_done(conn, request_id).await?,
    };
    if !rules::is_complete(facts) {
        return Ok(false);
    }
    requests::transition(conn, request_id, State::Approved, State::Completed).await?;
    sqlx::query("UPDATE change_requests SET completed_at = now() WHERE id = $1")
        .bind(request_id)
        .execute(&mut *conn)
        .await?;
    audit::on_request(
        conn,
        actor,
        "change_request.completed",
        request_id,
        json!({}),
    )
    .await?;
    Ok(true)
}
