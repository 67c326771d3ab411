//! Completion: a request is completed once everything after its approval is done.

use serde_json::json;
use sqlx::PgConnection;

use super::{db, rules};
use crate::audit::{self, Actor};
use crate::change_requests::db as requests;
use crate::change_requests::rules::State;

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
    let (task_done, sem_done) = db::tasks_done(conn, request_id).await?;
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
    requests::mark_completed(conn, request_id).await?;
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
