//! Every statement of the checklists: the items as pages show them, the desks' queues, and the
//! writes a tick, an undo and a send-back make. Each takes the caller's connection.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;

use super::{overdue, rules};
use crate::auth::roles::Role;
use crate::auth::roles::Who;

/// An item as the request's page shows it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ItemRow {
    pub id: i64,
    pub title: String,
    pub owner_role: Role,
    pub assignee: Option<i64>,
    pub assignee_name: Option<String>,
    pub due_on: NaiveDate,
    pub verifies_id: Option<i64>,
    pub verified_item_done: Option<bool>,
    pub done_at: Option<DateTime<Utc>>,
    pub done_by: Option<i64>,
    pub done_by_name: Option<String>,
    pub note: Option<String>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

impl ItemRow {
    pub fn owner_label(&self) -> String {
        match (self.owner_role, &self.assignee_name) {
            (Role::SemSpecialist, Some(name)) => name.clone(),
            (role, _) => role.label().to_string(),
        }
    }

    pub fn overdue(&self) -> bool {
        self.done_at.is_none()
            && self.cancelled_at.is_none()
            && self.due_on < crate::time::display_today()
    }

    pub fn done(&self) -> String {
        self.done_at.map(crate::time::local).unwrap_or_default()
    }

    pub fn facts(&self) -> rules::TickFacts {
        rules::TickFacts {
            owner: self.owner_role,
            assignee: self.assignee,
            done: self.done_at.is_some(),
            cancelled: self.cancelled_at.is_some(),
            verified_item_done: self
                .verifies_id
                .map(|_| self.verified_item_done.unwrap_or(false)),
        }
    }

    pub fn may_tick(&self, who: Who) -> bool {
        rules::may_tick(who, self.facts()).is_ok()
    }
}

const ITEM_SELECT: &str =
    "SELECT i.id, i.title, i.owner_role, i.assignee, a.display_name AS assignee_name,
        i.due_on, i.verifies_id, (v.done_at IS NOT NULL) AS verified_item_done, i.done_at,
        i.done_by, d.display_name AS done_by_name, i.note, i.cancelled_at
   FROM checklist_items i
   LEFT JOIN users a ON a.id = i.assignee
   LEFT JOIN users d ON d.id = i.done_by
   LEFT JOIN checklist_items v ON v.id = i.verifies_id";

pub async fn for_request(conn: &mut PgConnection, request_id: i64) -> sqlx::Result<Vec<ItemRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{ITEM_SELECT} WHERE i.change_request_id = $1 ORDER BY i.position, i.id"
    )))
    .bind(request_id)
    .fetch_all(conn)
    .await
}

/// Cancels the items still open (the client was reinstated).
pub async fn cancel_open(conn: &mut PgConnection, request_id: i64) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "UPDATE checklist_items SET cancelled_at = now()
          WHERE change_request_id = $1 AND done_at IS NULL AND cancelled_at IS NULL",
    )
    .bind(request_id)
    .execute(conn)
    .await?
    .rows_affected())
}

/// An open item on someone's desk: only what they need to do it (for the contractor: the
/// client's name, what to remove, the due date; nothing else).
#[derive(Debug, sqlx::FromRow)]
pub struct DeskItem {
    pub id: i64,
    pub request_id: i64,
    pub client_name: String,
    pub title: String,
    pub due_on: NaiveDate,
    pub ready: bool,
}

impl DeskItem {
    pub fn overdue(&self) -> bool {
        self.due_on < crate::time::display_today()
    }
}

/// The open items a person owns, soonest due first: every open item of their role (Ops Lead,
/// contractor), or those for them (SEM specialist: assigned to them, or to no one yet).
/// Verifications show once ready.
pub async fn desk(
    conn: &mut PgConnection,
    role: Role,
    user: i64,
    limit: i64,
) -> sqlx::Result<Vec<DeskItem>> {
    // The role, the page's length and the specialist's id are written into the statement (a
    // role's key is one of a fixed few, the id a number from the session, never typed), so with
    // no parameter left PostgreSQL plans it once per connection and keeps the plan: bound, it
    // was planned again on every execution, which cost more than running it. (A bound person's
    // id kept it re-planning: the plan for one specialist's known count of items looked cheaper
    // than the plan for anyone's, so PostgreSQL never settled on the latter. Each specialist
    // now has a statement of their own, a few per connection.)
    let mine = if role == Role::SemSpecialist {
        format!("AND (i.assignee = {user} OR i.assignee IS NULL)")
    } else {
        String::new()
    };
    let role = role.key();
    // The page is cut before the requests, clients and verified items are joined.
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT q.id, q.change_request_id AS request_id, c.name AS client_name, q.title, q.due_on,
                (q.verifies_id IS NULL OR v.done_at IS NOT NULL) AS ready
           FROM (SELECT i.id, i.change_request_id, i.title, i.due_on, i.verifies_id
                   FROM checklist_items i
                  WHERE i.owner_role = '{role}' AND i.done_at IS NULL AND i.cancelled_at IS NULL
                        {mine}
                  ORDER BY i.due_on, i.id
                  LIMIT {limit}) q
           JOIN change_requests r ON r.id = q.change_request_id
           JOIN clients c ON c.id = r.client_id
           LEFT JOIN checklist_items v ON v.id = q.verifies_id
          ORDER BY q.due_on, q.id"
    )))
    .fetch_all(conn)
    .await
}

/// The request an item belongs to.
pub async fn request_of(conn: &mut PgConnection, item: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT change_request_id FROM checklist_items WHERE id = $1")
        .bind(item)
        .fetch_optional(conn)
        .await
}

/// One item as pages show it.
pub async fn item(conn: &mut PgConnection, id: i64) -> sqlx::Result<ItemRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{ITEM_SELECT} WHERE i.id = $1"
    )))
    .bind(id)
    .fetch_one(conn)
    .await
}

/// The checklist templates in use, in their order.
pub async fn templates_in_use(conn: &mut PgConnection) -> sqlx::Result<Vec<rules::Template>> {
    let rows: Vec<(i64, i32, String, Role, rules::Condition, i32)> = sqlx::query_as(
        "SELECT id, position, title, owner_role, condition, due_offset_days
           FROM checklist_templates WHERE retired_at IS NULL",
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, position, title, owner, condition, due_offset_days)| rules::Template {
                id,
                position,
                title,
                owner,
                condition,
                due_offset_days,
            },
        )
        .collect())
}

/// The ad products of the client, which decide the platform items.
pub async fn client_products(conn: &mut PgConnection, client: i64) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT ad_products FROM clients WHERE id = $1")
        .bind(client)
        .fetch_one(conn)
        .await
}

/// A new item of a request's checklist: due on `planned.due_on`, kept as its distance from the
/// request's effective date so it moves with the date.
pub struct NewItem<'a> {
    pub request_id: i64,
    pub position: i32,
    pub planned: &'a rules::Planned,
    pub assignee: Option<i64>,
    pub verifies_id: Option<i64>,
    pub effective_date: NaiveDate,
}

pub async fn insert_item(conn: &mut PgConnection, new: NewItem<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO checklist_items
             (change_request_id, template_id, position, title, owner_role, assignee, due_on,
              verifies_id, due_offset_days)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $7 - $9::date) RETURNING id",
    )
    .bind(new.request_id)
    .bind(new.planned.template_id)
    .bind(new.position)
    .bind(&new.planned.title)
    .bind(new.planned.owner)
    .bind(new.assignee)
    .bind(new.planned.due_on)
    .bind(new.verifies_id)
    .bind(new.effective_date)
    .fetch_one(conn)
    .await
}

/// Ticks an item, by `user`, with an optional note.
pub async fn mark_done(
    conn: &mut PgConnection,
    id: i64,
    user: i64,
    note: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE checklist_items SET done_at = now(), done_by = $2, note = NULLIF($3, '') WHERE id = $1",
    )
    .bind(id)
    .bind(user)
    .bind(note)
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether the item's verification (the SEM specialist's check of a contractor item) is ticked.
pub async fn verification_done(conn: &mut PgConnection, id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM checklist_items WHERE verifies_id = $1 AND done_at IS NOT NULL)",
    )
    .bind(id)
    .fetch_one(conn)
    .await
}

/// An item's title and its client's name, for the email that sends it back.
pub async fn title_and_client(conn: &mut PgConnection, id: i64) -> sqlx::Result<(String, String)> {
    sqlx::query_as(
        "SELECT i.title, c.name FROM checklist_items i
           JOIN change_requests r ON r.id = i.change_request_id
           JOIN clients c ON c.id = r.client_id
          WHERE i.id = $1",
    )
    .bind(id)
    .fetch_one(conn)
    .await
}

/// An item's title and client, when the contractor's desk shows it to `user`: a contractor's
/// item, open on an approved request or ticked by them (and not cancelled).
pub async fn shown_to_contractor(
    conn: &mut PgConnection,
    id: i64,
    user: i64,
) -> sqlx::Result<Option<(String, String)>> {
    sqlx::query_as(
        "SELECT i.title, c.name FROM checklist_items i
           JOIN change_requests r ON r.id = i.change_request_id
           JOIN clients c ON c.id = r.client_id
          WHERE i.id = $1 AND i.owner_role = 'contractor' AND i.cancelled_at IS NULL
            AND ((i.done_at IS NULL AND r.state = 'approved') OR i.done_by = $2)",
    )
    .bind(id)
    .bind(user)
    .fetch_optional(conn)
    .await
}

/// Marks an item not done again and, if it is past due, restarts its daily reminders.
pub async fn reopen(
    conn: &mut PgConnection,
    clock: &crate::time::Clock,
    id: i64,
) -> sqlx::Result<()> {
    // Open again as if it had never been ticked: due at its distance from the request's date
    // as it is now (the date may have moved meanwhile), and an SEM item ticked before the
    // change task was forwarded is the work of the specialist it was forwarded to, who owns
    // the request's SEM work from then on.
    let due_on: NaiveDate = sqlx::query_scalar(
        "UPDATE checklist_items i
            SET done_at = NULL, done_by = NULL, note = NULL,
                due_on = r.effective_date + i.due_offset_days,
                assignee = CASE WHEN i.owner_role = 'sem_specialist'
                                THEN COALESCE((SELECT t.forwarded_to FROM change_tasks t
                                                WHERE t.change_request_id = i.change_request_id),
                                              i.assignee)
                                ELSE i.assignee END
           FROM change_requests r
          WHERE i.id = $1 AND r.id = i.change_request_id
          RETURNING i.due_on",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    // A reminder still pending carries on by itself; a series that stopped (it found the item
    // done) starts again.
    let pending: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM scheduled_jobs
                         WHERE key LIKE $1 AND state = 'pending')",
    )
    .bind(format!("checklist-overdue:{id}:%"))
    .fetch_one(&mut *conn)
    .await?;
    if pending {
        return Ok(());
    }
    let now = clock.now();
    let at = overdue::first_due(due_on, clock.zone()).max(now);
    overdue::schedule(conn, id, &now.timestamp().to_string(), 1, at).await
}

/// Items the person ticked lately, for undoing from their desk.
pub async fn recently_done(
    conn: &mut PgConnection,
    user: i64,
    limit: i64,
) -> sqlx::Result<Vec<DeskItem>> {
    sqlx::query_as(
        // The person's ticks walked newest first, each request's state looked up by its key,
        // until the page is full; a join would read every tick of the fortnight.
        "SELECT q.id, q.change_request_id AS request_id, c.name AS client_name, q.title, q.due_on,
                true AS ready
           FROM (SELECT i.id, i.change_request_id, i.title, i.due_on, i.done_at
                   FROM checklist_items i
                  WHERE i.done_by = $1 AND i.done_at > now() - interval '14 days'
                    AND (SELECT r.state = 'approved' FROM change_requests r
                          WHERE r.id = i.change_request_id)
                  ORDER BY i.done_at DESC, i.id
                  LIMIT $2) q
           JOIN change_requests r ON r.id = q.change_request_id
           JOIN clients c ON c.id = r.client_id
          ORDER BY q.done_at DESC, q.id",
    )
    .bind(user)
    .bind(limit)
    .fetch_all(conn)
    .await
}

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

/// Moves the request's open items to its new date, each at its distance; returns them with
/// their new due dates.
pub async fn move_open_items(
    conn: &mut PgConnection,
    request_id: i64,
    effective: NaiveDate,
) -> sqlx::Result<Vec<(i64, NaiveDate)>> {
    sqlx::query_as(
        "UPDATE checklist_items SET due_on = $2 + due_offset_days
          WHERE change_request_id = $1 AND done_at IS NULL AND cancelled_at IS NULL
          RETURNING id, due_on",
    )
    .bind(request_id)
    .bind(effective)
    .fetch_all(conn)
    .await
}

/// Approved requests whose open checklist items are owned by a role nobody active holds (no
/// contractor yet, the only Ops Lead disabled): nobody can tick them, so they wait on the admin
/// to give someone that role. Nearly always none: first the roles without a holder that own open
/// items (a probe of the open-item index each), and the requests only when there are any.
pub async fn waiting_on_a_role(
    conn: &mut PgConnection,
    limit: i64,
) -> sqlx::Result<Vec<crate::change_requests::db::QueueLine>> {
    let roles: Vec<String> = sqlx::query_scalar(
        "SELECT array(SELECT r FROM unnest(ARRAY['ops_lead', 'contractor', 'sem_specialist']) r
                       WHERE NOT EXISTS (SELECT 1 FROM users u
                                          WHERE r = ANY (u.roles) AND u.disabled_at IS NULL)
                         AND EXISTS (SELECT 1 FROM checklist_items i
                                      WHERE i.owner_role = r AND i.done_at IS NULL
                                        AND i.cancelled_at IS NULL))",
    )
    .fetch_one(&mut *conn)
    .await?;
    if roles.is_empty() {
        return Ok(Vec::new());
    }
    let labels: Vec<&str> = roles
        .iter()
        .map(|r| Role::from_key(r).map_or("an offboarding", Role::label))
        .collect();
    // Each request names the role its own open items wait on.
    sqlx::query_as(
        "SELECT r.id, c.name AS client_name, r.kind, r.state, r.effective_date,
                r.state_changed_at,
                format('its offboarding items wait on the %s role, which nobody holds: give someone that role',
                       ($3::text[])[array_position($1::text[],
                           (SELECT min(i.owner_role) FROM checklist_items i
                             WHERE i.change_request_id = r.id AND i.owner_role = ANY ($1)
                               AND i.done_at IS NULL AND i.cancelled_at IS NULL))]) AS step,
                r.reverses_id
           FROM change_requests r
           JOIN clients c ON c.id = r.client_id
          WHERE r.state = 'approved'
            AND EXISTS (SELECT 1 FROM checklist_items i
                         WHERE i.change_request_id = r.id AND i.owner_role = ANY ($1)
                           AND i.done_at IS NULL AND i.cancelled_at IS NULL)
          ORDER BY r.state_changed_at, r.id
          LIMIT $2",
    )
    .bind(&roles)
    .bind(limit)
    .bind(&labels)
    .fetch_all(conn)
    .await
}
