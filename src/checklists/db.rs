//! Checklist statements that other domains ask for (the rest still live beside their handlers
//! in mod.rs). Each takes the caller's connection.

use sqlx::PgConnection;

/// Whether the request's checklist is done (true when it has none).
pub async fn is_done(conn: &mut PgConnection, request_id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT NOT EXISTS (SELECT 1 FROM checklist_items
                             WHERE change_request_id = $1 AND done_at IS NULL AND cancelled_at IS NULL)",
    )
    .bind(request_id)
    .fetch_one(conn)
    .await
}
