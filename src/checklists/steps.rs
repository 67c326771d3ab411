//! The checklist's part of other domains' steps: made when a cancellation is approved, moved
//! when its date moves. Each runs in the caller's transaction.

use sqlx::PgConnection;

use super::{db, overdue, rules};
use crate::auth::roles::Role;
use crate::change_requests::db::RequestRow;
use crate::change_requests::rules::CancelScope;

/// Makes the checklist of an approved cancellation, in the approval's transaction.
#[tracing::instrument(level = "debug", skip_all, fields(request = r.id))]
pub async fn create(
    conn: &mut PgConnection,
    r: &RequestRow,
    zone: chrono_tz::Tz,
) -> sqlx::Result<usize> {
    if !rules::gets_checklist(r.kind) || r.reverses_id.is_some() {
        return Ok(0);
    }
    let templates = db::templates_in_use(conn).await?;
    let products = db::client_products(conn, r.client_id).await?;
    let planned = rules::generate(
        &templates,
        r.cancel_scope == Some(CancelScope::LeavePlatform),
        &products,
        r.effective_date,
    );
    let mut ids: Vec<i64> = Vec::with_capacity(planned.len());
    for (position, p) in planned.iter().enumerate() {
        let assignee = (p.owner == Role::SemSpecialist)
            .then_some(r.client_sem_specialist_id)
            .flatten();
        let new = db::NewItem {
            request_id: r.id,
            position: position as i32,
            planned: p,
            assignee,
            verifies_id: p.verifies.map(|i| ids[i]),
            effective_date: r.effective_date,
        };
        let id = db::insert_item(conn, new).await?;
        overdue::schedule(conn, id, "0", 1, overdue::first_due(p.due_on, zone)).await?;
        ids.push(id);
    }
    Ok(ids.len())
}

/// Moves the request's open items to its new date (the planner's move), each at its distance
/// from it; each pending overdue notice moves to the day after its new due date (at once if
/// that is past).
pub async fn move_due_dates(
    conn: &mut PgConnection,
    clock: &crate::time::Clock,
    request_id: i64,
    effective: chrono::NaiveDate,
) -> sqlx::Result<()> {
    for (item, due_on) in db::move_open_items(conn, request_id, effective).await? {
        let at = overdue::first_due(due_on, clock.zone()).max(clock.now());
        overdue::move_pending(conn, item, at).await?;
    }
    Ok(())
}
