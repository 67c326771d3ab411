//! The SEM work of an approved request (its pause task, its SEM checklist items and
//! verifications, its planner line and so its reminders) rests on one specialist. When that
//! person can no longer do it (disabled, or no longer an SEM specialist) it goes to the
//! client's SEM specialist; when the client has none who can, the request waits on the admin's
//! desk until the admin sets the client's specialist, which hands the work over. A client
//! handed to another specialist brings its work along too. Each hand-over is on the request's
//! timeline and the new specialist is told by email.

use serde_json::json;
use sqlx::PgConnection;

use crate::audit::{self, Actor};
use crate::change_requests::db::QueueLine;
use crate::config::Config;

/// Whether user `u` may do SEM work: active and an SEM specialist.
macro_rules! able {
    () => {
        "u.disabled_at IS NULL AND 'sem_specialist' = ANY(u.roles)"
    };
}

/// The SEM work of a request and who holds each part: its open pause task, its open SEM
/// items, its planner line (reminders) and whom its change task was forwarded to (an item
/// undone later goes to them), for approved requests. `(request, holder)` pairs.
macro_rules! held_by {
    () => {
        "SELECT t.change_request_id, t.assignee AS holder FROM sem_tasks t
          WHERE t.done_at IS NULL AND t.cancelled_at IS NULL
         UNION
         SELECT i.change_request_id, i.assignee FROM checklist_items i
          WHERE i.owner_role = 'sem_specialist' AND i.assignee IS NOT NULL
            AND i.done_at IS NULL AND i.cancelled_at IS NULL
         UNION
         SELECT p.change_request_id, p.sem_specialist_id FROM planner_entries p
          WHERE p.removed_at IS NULL AND p.sem_specialist_id IS NOT NULL
         UNION
         SELECT k.change_request_id, k.forwarded_to FROM change_tasks k
          WHERE k.forwarded_to IS NOT NULL"
    };
}

/// The approved requests with SEM work resting on `user`.
async fn resting_on(conn: &mut PgConnection, user: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(concat!(
        "SELECT DISTINCT w.change_request_id FROM (",
        held_by!(),
        ") w JOIN change_requests r ON r.id = w.change_request_id
          WHERE w.holder = $1 AND r.state = 'approved'
          ORDER BY 1"
    ))
    .bind(user)
    .fetch_all(conn)
    .await
}

/// Hands the SEM work of request `request_id` from `from` to `to`: the open pause task, the
/// open SEM items, the planner line and the change task's record of whom it was forwarded to
/// (so an item undone later goes to `to` as well). Records it and tells `to`. Returns whether
/// anything was handed over.
pub async fn hand_over(
    conn: &mut PgConnection,
    config: &Config,
    actor: &Actor,
    request_id: i64,
    from: i64,
    to: i64,
) -> anyhow::Result<bool> {
    if from == to {
        return Ok(false);
    }
    let moved = super::db::move_sem_work(conn, request_id, from, to).await?;
    if moved.is_nothing() {
        return Ok(false);
    }
    let names = crate::users::db::names(conn, &[Some(from), Some(to)]).await?;
    let (from_name, to_name) = (names.of(Some(from)), names.of(Some(to)));
    let record = json!({ "from": from, "to": to, "from_name": from_name, "to_name": to_name,
                         "tasks": moved.tasks, "items": moved.items });
    let action = "change_request.sem_work_handed_over";
    audit::on_request(conn, actor, action, request_id, record).await?;
    let r = crate::change_requests::db::find(conn, request_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("request {request_id} is gone"))?;
    super::notify::sem_work_handed_over(conn, config, &r, to, from_name).await?;
    Ok(true)
}

/// After `user` was disabled, enabled or had their roles changed. If they can no longer do SEM
/// work, what rests on them goes to each client's specialist where that is someone else who
/// can; the rest waits on the admin (see [`waiting_on_admin`]). If they can, the clients they
/// are specialist of take back work resting on someone who cannot act. Runs in the caller's
/// transaction.
pub async fn for_person(
    conn: &mut PgConnection,
    config: &Config,
    actor: &Actor,
    user: i64,
) -> anyhow::Result<()> {
    let able: bool = sqlx::query_scalar(concat!(
        "SELECT EXISTS (SELECT 1 FROM users u WHERE u.id = $1 AND ",
        able!(),
        ")"
    ))
    .bind(user)
    .fetch_one(&mut *conn)
    .await?;
    if able {
        // Enabled again, or given the role back: the clients they are specialist of take back
        // the work that went nowhere meanwhile (it rested on someone who cannot act).
        let clients: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM clients WHERE sem_specialist_id = $1 ORDER BY id")
                .bind(user)
                .fetch_all(&mut *conn)
                .await?;
        for client in clients {
            client_handed_over(conn, config, actor, client, None, Some(user)).await?;
        }
        return Ok(());
    }
    for request_id in resting_on(conn, user).await? {
        let specialist: Option<i64> = sqlx::query_scalar(concat!(
            "SELECT u.id FROM change_requests r
               JOIN clients c ON c.id = r.client_id
               JOIN users u ON u.id = c.sem_specialist_id
              WHERE r.id = $1 AND u.id <> $2 AND ",
            able!(),
            ""
        ))
        .bind(request_id)
        .bind(user)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(to) = specialist {
            hand_over(conn, config, actor, request_id, user, to).await?;
        }
    }
    Ok(())
}

/// A client handed from specialist `from` to `to`: its approved requests' open SEM work that
/// rested on `from`, or on anyone who can no longer do it, goes to `to` (when `to` can).
pub async fn client_handed_over(
    conn: &mut PgConnection,
    config: &Config,
    actor: &Actor,
    client_id: i64,
    from: Option<i64>,
    to: Option<i64>,
) -> anyhow::Result<()> {
    let Some(to) = to else { return Ok(()) };
    let approved: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM change_requests WHERE client_id = $1 AND state = 'approved' ORDER BY id",
    )
    .bind(client_id)
    .fetch_all(&mut *conn)
    .await?;
    if approved.is_empty() {
        return Ok(());
    }
    let holders: Vec<(i64, i64)> = sqlx::query_as(concat!(
        "SELECT DISTINCT w.change_request_id, w.holder FROM (",
        held_by!(),
        ") w
           JOIN change_requests r ON r.id = w.change_request_id
           JOIN users u ON u.id = w.holder
          WHERE w.change_request_id = ANY($1) AND r.state = 'approved' AND w.holder <> $3
            AND (w.holder = $2 OR NOT (",
        able!(),
        "))
            AND EXISTS (SELECT 1 FROM users n WHERE n.id = $3 AND n.disabled_at IS NULL
                                                AND 'sem_specialist' = ANY(n.roles))
          ORDER BY 1, 2"
    ))
    .bind(&approved)
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    for (request_id, holder) in holders {
        hand_over(conn, config, actor, request_id, holder, to).await?;
    }
    Ok(())
}

/// Approved requests whose SEM work rests on someone who can no longer do it, oldest first:
/// they wait on the admin to set the client's SEM specialist.
pub async fn waiting_on_admin(conn: &mut PgConnection, limit: i64) -> sqlx::Result<Vec<QueueLine>> {
    // Nearly always nobody: first the few people who cannot do SEM work yet hold some (a probe
    // of the open-work indexes each); the requests are read only when there are any.
    let unable: Vec<i64> = sqlx::query_scalar(concat!("SELECT array(SELECT u.id FROM users u
                       WHERE NOT (", able!(), ")
                         AND (EXISTS (SELECT 1 FROM sem_tasks t
                                       WHERE t.assignee = u.id AND t.done_at IS NULL
                                         AND t.cancelled_at IS NULL)
                              OR EXISTS (SELECT 1 FROM checklist_items i
                                          WHERE i.owner_role = 'sem_specialist' AND i.assignee = u.id
                                            AND i.done_at IS NULL AND i.cancelled_at IS NULL)))"))
    .fetch_one(&mut *conn)
    .await?;
    if unable.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_as(
        "SELECT r.id, c.name AS client_name, r.kind, r.state, r.effective_date,
                r.state_changed_at,
                'its SEM work waits on someone who can no longer do it: set the client''s SEM specialist'::text AS step,
                r.reverses_id
           FROM change_requests r
           JOIN clients c ON c.id = r.client_id
          WHERE r.state = 'approved'
            AND (EXISTS (SELECT 1 FROM sem_tasks t
                          WHERE t.change_request_id = r.id AND t.assignee = ANY($1)
                            AND t.done_at IS NULL AND t.cancelled_at IS NULL)
                 OR EXISTS (SELECT 1 FROM checklist_items i
                             WHERE i.change_request_id = r.id AND i.owner_role = 'sem_specialist'
                               AND i.assignee = ANY($1)
                               AND i.done_at IS NULL AND i.cancelled_at IS NULL))
          ORDER BY r.state_changed_at, r.id
          LIMIT $2",
    )
    .bind(&unable)
    .bind(limit)
    .fetch_all(conn)
    .await
}
