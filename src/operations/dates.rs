//! A request has one effective date (and one resume date). The planner entry, the SEM pause
//! task, the checklist items' due dates and their overdue notices, the reminders, the client's
//! status history and an open reinstatement keep copies of it for their own pages and indexes;
//! moving the date moves every copy in the caller's transaction, with one audit record, so no
//! page or job is left on the old date.

use chrono::NaiveDate;
use serde_json::json;
use sqlx::PgConnection;

use super::db;
use crate::audit::{self, Actor};
use crate::change_requests::db as requests;
use crate::time::Clock;

/// The dates a request moves from and to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Move {
    pub effective_from: NaiveDate,
    pub effective_to: NaiveDate,
    pub resume_from: Option<NaiveDate>,
    pub resume_to: Option<NaiveDate>,
}

/// Moves request `request_id` (locked by the caller) to `m`'s dates and every copy with it;
/// records "effective date moved from … to …" on its timeline.
#[tracing::instrument(level = "debug", skip_all, fields(request = request_id))]
pub async fn move_dates(
    conn: &mut PgConnection,
    clock: &Clock,
    reminder_days: &[u32],
    actor: &Actor,
    request_id: i64,
    m: Move,
) -> sqlx::Result<()> {
    let (to, resume) = (m.effective_to, m.resume_to);
    requests::set_dates(conn, request_id, to, resume).await?;
    // A reinstatement on its way undoes this request as of the same date, on its own record.
    for reversal in requests::move_open_reversals(conn, request_id, to, resume).await? {
        let record = json!({ "with_request": request_id, "changes": m.changes() });
        audit::on_request(conn, actor, "change_request.dates_moved", reversal, record).await?;
    }
    if let Some(entry) = db::move_planner_entry(conn, request_id, to, resume).await? {
        super::reminders::schedule(conn, clock, entry, to, reminder_days).await?;
    }
    db::move_sem_task(conn, request_id, to).await?;
    crate::checklists::steps::move_due_dates(conn, clock, request_id, to).await?;
    crate::clients::db::move_status_history(conn, request_id, to).await?;
    let record = json!({ "changes": m.changes() });
    audit::on_request(
        conn,
        actor,
        "change_request.dates_moved",
        request_id,
        record,
    )
    .await
}

impl Move {
    /// The move as the audit record keeps it.
    fn changes(&self) -> serde_json::Value {
        json!({
            "effective_date": { "from": self.effective_from, "to": self.effective_to },
            "resume_date": { "from": self.resume_from, "to": self.resume_to },
        })
    }
}
