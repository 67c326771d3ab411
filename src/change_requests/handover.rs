//! A client handed to another account manager: its requests still going go with it. The new
//! account manager edits, withdraws and (without Retention) submits the open one, reinstates
//! an approved one, has them on their desk and the planner; the hand-over is on each one's
//! timeline, and the new account manager is told by email.

use serde_json::json;
use sqlx::PgConnection;

use crate::audit::{self, Actor};
use crate::config::Config;

/// Records the hand-over of `client_id` from one account manager to another on its requests
/// still going, if any, and tells the new one (of the latest). Runs in the caller's
/// transaction, after the client row is updated. Returns the requests that went along.
pub async fn client_handed_over(
    conn: &mut PgConnection,
    config: &Config,
    actor: &Actor,
    day: chrono::NaiveDate,
    client_id: i64,
    from: Option<i64>,
    to: Option<i64>,
) -> anyhow::Result<Vec<i64>> {
    if from == to {
        return Ok(Vec::new());
    }
    // The planner's copy of who the account manager is.
    sqlx::query(
        "UPDATE planner_entries SET account_manager_id = $2 WHERE client_id = $1 AND removed_at IS NULL",
    )
    .bind(client_id)
    .bind(to)
    .execute(&mut *conn)
    .await?;
    // Every request still going: the open one, and approved ones not yet completed (the new
    // account manager is who reinstates the client).
    let going: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM change_requests
          WHERE client_id = $1
            AND state IN ('draft', 'with_retention', 'in_approval', 'changes_requested', 'approved')
          ORDER BY id",
    )
    .bind(client_id)
    .fetch_all(&mut *conn)
    .await?;
    let Some(&request_id) = going.last() else {
        return Ok(going);
    };
    let names = crate::users::db::names(conn, &[from, to]).await?;
    let name_of = |id: Option<i64>| match names.of(id) {
        "" => "nobody",
        name => name,
    };
    for id in &going {
        audit::on_request(
            conn,
            actor,
            "change_request.account_manager_changed",
            *id,
            json!({ "from": from, "to": to, "from_name": name_of(from), "to_name": name_of(to) }),
        )
        .await?;
        // The new account manager may not approve their own client's request: the step
        // waiting, if any, is checked again.
        crate::approvals::routing::recheck(conn, config, actor, day, *id).await?;
    }
    let Some(to_user) = to else { return Ok(going) };
    let r = super::db::find(conn, request_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("request {request_id} is gone"))?;
    super::notify::account_manager_changed(conn, config, &r, to_user, name_of(from)).await?;
    Ok(going)
}
