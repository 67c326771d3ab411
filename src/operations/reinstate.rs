//! Reinstatement: before the effective date, the account manager files a reversal of an
//! approved cancellation or pause. It goes through the approval chain like any request; once
//! approved, in the same transaction, the original's reminders, pause task and planner entry
//! are cancelled, the client's status before it is restored, and the original is closed.

use serde_json::json;
use sqlx::PgConnection;

use super::rules::{self, ReinstateFacts};
use crate::audit::{self, Actor};
use crate::auth::roles::Who;
use crate::change_requests::db::{self as requests, RequestRow};
use crate::change_requests::form::Details;
use crate::change_requests::rules::{Escalation, State as RequestState};
use crate::web::error::{AppError, AppResult};

/// The reinstatement part of a request's page: whether the viewer may ask for it, and the
/// reason as typed when it needs another look.
#[derive(Debug, Default)]
pub struct ReinstatePanel {
    pub may: bool,
    /// The reinstatement of this request in flight, if any: the page points to it.
    pub pending: Option<i64>,
    pub text: String,
    pub error: String,
}

impl ReinstatePanel {
    /// `reversal_open`: whether a reinstatement of `request` is open (the page's probe read it).
    pub fn new(
        request: &RequestRow,
        reversal_open: bool,
        viewer: Who,
        today: chrono::NaiveDate,
    ) -> Self {
        ReinstatePanel {
            may: rules::may_reinstate(viewer, facts_of(request, reversal_open), today).is_ok(),
            pending: request.reversal_id.filter(|_| reversal_open),
            ..Default::default()
        }
    }
}

/// The facts the rule looks at, for `request`.
pub async fn facts(conn: &mut PgConnection, request: &RequestRow) -> sqlx::Result<ReinstateFacts> {
    let reversal_open: bool = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT EXISTS (SELECT 1 FROM change_requests
                         WHERE reverses_id = $1 AND state IN {})",
        requests::OPEN_STATES
    )))
    .bind(request.id)
    .fetch_one(conn)
    .await?;
    Ok(facts_of(request, reversal_open))
}

/// The facts the rule looks at, for `request`, whose reinstatement is open or not.
fn facts_of(request: &RequestRow, reversal_open: bool) -> ReinstateFacts {
    ReinstateFacts {
        kind: request.kind,
        state: request.state,
        account_manager: request.client_account_manager_id,
        effective: request.effective_date,
        is_reversal: request.reverses_id.is_some(),
        already_reinstated: request.reinstated_at.is_some(),
        reversal_open,
    }
}

/// The reinstatement of `request`: the same terms, as a draft with no escalation, with why.
pub(super) fn reversal_of(request: &RequestRow, reason: &str) -> Details {
    Details {
        kind: request.kind,
        cancel_scope: request.cancel_scope,
        effective_date: request.effective_date,
        resume_date: request.resume_date,
        current_budget_cents: request.current_budget_cents,
        new_budget_cents: request.new_budget_cents,
        reason_id: request.reason_id,
        reason_text: reason.to_string(),
        product_notes: format!(
            "Reinstate the client: undo request #{} ({}).",
            request.id,
            request.kind_label().to_lowercase()
        ),
        credit_cents: None,
        credit_reason: None,
        escalation: Escalation::None,
        escalated_to: None,
    }
}

/// Undoes the original once its reversal is approved, inside the approval's transaction.
pub async fn apply(
    conn: &mut PgConnection,
    config: &crate::config::Config,
    actor: &Actor,
    reversal: &RequestRow,
) -> AppResult<()> {
    let Some(original_id) = reversal.reverses_id else {
        return Ok(());
    };
    let original = requests::lock(conn, original_id)
        .await?
        .ok_or(AppError::NotFound)?;
    // Reminders and the planner entry.
    let entry: Option<i64> = sqlx::query_scalar(
        "UPDATE planner_entries SET removed_at = now()
          WHERE change_request_id = $1 AND removed_at IS NULL RETURNING id",
    )
    .bind(original_id)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(entry) = entry {
        super::reminders::cancel_all(conn, entry, &config.reminder_days).await?;
    }
    // The pause task, if still open.
    let tasks_cancelled = sqlx::query(
        "UPDATE sem_tasks SET cancelled_at = now()
          WHERE change_request_id = $1 AND done_at IS NULL AND cancelled_at IS NULL",
    )
    .bind(original_id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    // The status the client had before the original's change task changed it.
    let before: Option<(Option<crate::clients::status::Status>, Option<i64>)> = sqlx::query_as(
        "SELECT status_before, budget_before_cents FROM change_tasks WHERE change_request_id = $1",
    )
    .bind(original_id)
    .fetch_optional(&mut *conn)
    .await?;
    let mut restored = None;
    if let Some((Some(status), Some(budget))) = before {
        let change = crate::clients::db::StatusChange {
            client_id: original.client_id,
            status,
            budget_cents: budget,
            changed_by: actor.user_id,
            change_request_id: reversal.id,
            note: format!("Reinstated: request #{original_id} undone"),
            effective_date: None,
        };
        crate::clients::db::set_status(conn, change).await?;
        restored = Some(status);
    }
    // Its offboarding checklist, if it had one: what is still open is cancelled.
    crate::checklists::db::cancel_open(conn, original_id).await?;
    // The original is closed, on the record as reinstated.
    requests::transition(conn, original_id, original.state, RequestState::Withdrawn).await?;
    sqlx::query(
        "UPDATE change_requests SET reinstated_at = now(), withdrawn_reason = $2 WHERE id = $1",
    )
    .bind(original_id)
    .bind(format!("Reinstated by request #{}", reversal.id))
    .execute(&mut *conn)
    .await?;
    audit::on_request(
        conn,
        actor,
        "change_request.reinstated",
        original_id,
        json!({
            "reversal_id": reversal.id,
            "planner_entry_removed": entry,
            "pause_tasks_cancelled": tasks_cancelled,
            "status_restored": restored,
        }),
    )
    .await?;
    // The status is already as it was: the reversal's change task need not ask for it.
    sqlx::query("UPDATE change_tasks SET status_updated_at = now() WHERE change_request_id = $1")
        .bind(reversal.id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
