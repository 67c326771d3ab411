//! Retiring a row of an admin-kept list (a chain step, a checklist item): it stops applying to
//! what is made afterwards, on the record, and a second click changes nothing and says so.

use axum::response::Response;
use serde_json::json;

use super::AppState;
use super::ctx::{Ctx, commit_and_go};
use super::error::AppResult;
use crate::audit::{self, Actor};

/// What is retired, named by fixed strings (never by anything typed).
pub struct Retirement {
    /// The table, with `id` and `retired_at` columns.
    pub table: &'static str,
    /// The column that names the row for people.
    pub label: &'static str,
    pub action: &'static str,
    pub entity: &'static str,
    /// The page to go back to.
    pub back: &'static str,
    /// Said when the row was already retired.
    pub already: &'static str,
}

/// Retires row `id`; `done` words the message from the row's label.
pub async fn retire(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    what: &Retirement,
    done: impl FnOnce(&str) -> String,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let label: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "UPDATE {} SET retired_at = now() WHERE id = $1 AND retired_at IS NULL RETURNING {}",
        what.table, what.label
    )))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let message = match label {
        Some(label) => {
            audit::record(
                &mut tx,
                &Actor::from_ctx(ctx),
                what.action,
                what.entity,
                Some(id.to_string()),
                json!({ what.label: label }),
            )
            .await?;
            done(&label)
        }
        None => what.already.to_string(),
    };
    commit_and_go(tx, what.back, &message).await
}
