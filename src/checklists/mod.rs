//! Offboarding checklists: made when a cancellation is approved, ticked by their owners (the
//! Ops Lead, the outside contractor, the SEM specialist, who also verifies each contractor
//! item), each tick on the request's timeline; the last one can complete the request.

pub mod db;
mod notify;
pub mod overdue;
pub mod rules;
mod sheet;
pub mod templates;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::Form;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;

use crate::audit::{self, Actor};
use crate::auth::access::{self, Access};
use crate::auth::roles::Role;
use crate::auth::session;
use crate::change_requests::db::RequestRow;
use crate::change_requests::rules::{CancelScope, Who};
use crate::web::ctx::{Ctx, commit_and_go};
use crate::web::error::{AppError, AppResult};
use crate::web::{AppState, Routes};

crate::db::text_enum!(rules::Condition);

/// Ticking items: their owners.
pub const TICK: Access = Access::Roles(&[Role::OpsLead, Role::Contractor, Role::SemSpecialist]);

pub fn routes(r: Routes) -> Routes {
    let view = access::AGENCY_STAFF;
    r.post("/checklist/{id}/done", TICK, tick)
        .get("/offboarding", view, sheet::page)
        .get("/offboarding.csv", view, sheet::export)
        .get("/admin/checklist", access::ADMIN, templates::page)
        .post("/admin/checklist", access::ADMIN, templates::add)
        .post("/admin/checklist/{id}", access::ADMIN, templates::update)
        .post(
            "/admin/checklist/{id}/retire",
            access::ADMIN,
            templates::retire,
        )
        .post("/checklist/{id}/undo", TICK, undo)
        .post(
            "/checklist/{id}/send-back",
            Access::Roles(&[Role::SemSpecialist]),
            send_back,
        )
}

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
    let rows: Vec<(i64, i32, String, Role, rules::Condition, i32)> = sqlx::query_as(
        "SELECT id, position, title, owner_role, condition, due_offset_days
           FROM checklist_templates WHERE retired_at IS NULL",
    )
    .fetch_all(&mut *conn)
    .await?;
    let templates: Vec<rules::Template> = rows
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
        .collect();
    let products: Vec<String> = sqlx::query_scalar("SELECT ad_products FROM clients WHERE id = $1")
        .bind(r.client_id)
        .fetch_one(&mut *conn)
        .await?;
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
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO checklist_items
                 (change_request_id, template_id, position, title, owner_role, assignee, due_on,
                  verifies_id, due_offset_days)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $7 - $9::date) RETURNING id",
        )
        .bind(r.id)
        .bind(p.template_id)
        .bind(position as i32)
        .bind(&p.title)
        .bind(p.owner)
        .bind(assignee)
        .bind(p.due_on)
        .bind(p.verifies.map(|i| ids[i]))
        .bind(r.effective_date)
        .fetch_one(&mut *conn)
        .await?;
        overdue::schedule(conn, id, "0", 1, overdue::first_due(p.due_on, zone)).await?;
        ids.push(id);
    }
    Ok(ids.len())
}

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

    pub fn due(&self) -> String {
        crate::time::day(self.due_on)
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

/// The checklist part of a request's page: its items and what the viewer may do with each.
#[derive(Debug)]
pub struct ChecklistPanel {
    pub items: Vec<ItemRow>,
    viewer: Who,
    /// The request is no longer approved: nothing is ticked or undone any more.
    closed: bool,
    /// The item whose note (ticking) or reason (undo, send back) needs another look, which of
    /// the two fields (`"note"` or `"reason"`), the message and what was typed.
    pub error_for: Option<i64>,
    pub error_field: &'static str,
    pub error: String,
    pub text: String,
}

impl ChecklistPanel {
    /// The checklist of `r` as `viewer` sees it.
    pub async fn load(conn: &mut PgConnection, r: &RequestRow, viewer: Who) -> sqlx::Result<Self> {
        Ok(ChecklistPanel {
            items: for_request(conn, r.id).await?,
            viewer,
            closed: r.state != crate::change_requests::rules::State::Approved,
            error_for: None,
            error_field: "",
            error: String::new(),
            text: String::new(),
        })
    }

    pub fn done(&self) -> usize {
        self.items.iter().filter(|i| i.done_at.is_some()).count()
    }

    pub fn total(&self) -> usize {
        self.items
            .iter()
            .filter(|i| i.cancelled_at.is_none())
            .count()
    }

    pub fn may_tick(&self, item: &ItemRow) -> bool {
        item.may_tick(self.viewer)
    }

    /// Whether the viewer may undo `item`'s tick (the verification, if any, not yet ticked).
    pub fn may_undo(&self, item: &ItemRow) -> bool {
        let verified = self
            .items
            .iter()
            .any(|v| v.verifies_id == Some(item.id) && v.done_at.is_some());
        let facts = rules::UndoFacts {
            owner: item.owner_role,
            done_by: item.done_by,
            verification_done: verified,
            closed: self.closed,
        };
        rules::may_undo(self.viewer, facts).is_ok()
    }

    /// Whether the viewer may send a contractor's tick back (from its verification item).
    pub fn may_send_back(&self, item: &ItemRow) -> bool {
        item.verifies_id.is_some()
            && rules::may_send_back(
                self.viewer,
                item.assignee,
                item.verified_item_done.unwrap_or(false),
                item.done_at.is_some(),
                self.closed,
            )
            .is_ok()
    }

    /// The message for `item`'s `field`, when that is the one to look at again.
    pub fn error_in(&self, item: &ItemRow, field: &str) -> &str {
        if self.error_for == Some(item.id) && self.error_field == field {
            &self.error
        } else {
            ""
        }
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
    pub fn due(&self) -> String {
        crate::time::day(self.due_on)
    }
    pub fn overdue(&self) -> bool {
        self.due_on < crate::time::display_today()
    }
}

/// The open items a person owns, soonest due first: every open item of their role (Ops Lead,
/// contractor), or those for them (SEM specialist). Verifications show once ready.
pub async fn desk(
    conn: &mut PgConnection,
    role: Role,
    user: i64,
    limit: i64,
) -> sqlx::Result<Vec<DeskItem>> {
    // An SEM specialist sees the items assigned to them and the unassigned ones; everyone
    // else all of their role's. Two statements, so each plan walks its own index.
    let mine = if role == Role::SemSpecialist {
        "AND (i.assignee = $2 OR i.assignee IS NULL)"
    } else {
        ""
    };
    // The page is cut before the requests, clients and verified items are joined.
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT q.id, q.change_request_id AS request_id, c.name AS client_name, q.title, q.due_on,
                (q.verifies_id IS NULL OR v.done_at IS NOT NULL) AS ready
           FROM (SELECT i.id, i.change_request_id, i.title, i.due_on, i.verifies_id
                   FROM checklist_items i
                  WHERE i.owner_role = $1 AND i.done_at IS NULL AND i.cancelled_at IS NULL {mine}
                  ORDER BY i.due_on, i.id
                  LIMIT $3) q
           JOIN change_requests r ON r.id = q.change_request_id
           JOIN clients c ON c.id = r.client_id
           LEFT JOIN checklist_items v ON v.id = q.verifies_id
          ORDER BY q.due_on, q.id"
    )))
    .bind(role)
    .bind(user)
    .bind(limit)
    .fetch_all(conn)
    .await
}

#[derive(Debug, Deserialize)]
pub(crate) struct TickForm {
    #[serde(default)]
    note: String,
}

async fn tick(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<TickForm>,
) -> AppResult<Response> {
    let note = match crate::web::text::paragraph(&form.note, 2000) {
        Ok(note) => note,
        Err(problem) => {
            let request_id: i64 =
                sqlx::query_scalar("SELECT change_request_id FROM checklist_items WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&state.db)
                    .await?
                    .ok_or(AppError::NotFound)?;
            return problem_page(&state, &ctx, id, request_id, "note", &problem, &form.note).await;
        }
    };
    let mut tx = state.db.begin().await?;
    let request_id: i64 =
        sqlx::query_scalar("SELECT change_request_id FROM checklist_items WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(AppError::NotFound)?;
    crate::change_requests::db::lock(&mut tx, request_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let item: ItemRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{ITEM_SELECT} WHERE i.id = $1"
    )))
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    let who = Who {
        id: ctx.user.id,
        roles: ctx.user.roles,
    };
    // The contractor works from their desk and may not open the request.
    let back = if ctx.user.roles.contains(Role::Contractor) {
        "/".to_string()
    } else {
        format!("/requests/{request_id}")
    };
    let facts = item.facts();
    if !who.roles.contains(facts.owner) {
        return refuse_foreign(tx, &ctx, id, "done").await;
    }
    if let Err(refusal) = rules::may_tick(who, facts) {
        return refuse(tx, &ctx, &back, id, "done", refusal).await;
    }
    sqlx::query(
        "UPDATE checklist_items SET done_at = now(), done_by = $2, note = NULLIF($3, '') WHERE id = $1",
    )
    .bind(id)
    .bind(ctx.user.id)
    .bind(&note)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        &Actor::from_ctx(&ctx),
        "checklist.ticked",
        "change_request",
        Some(request_id.to_string()),
        json!({ "item_id": id, "title": item.title, "note": note }),
    )
    .await?;
    let completed =
        crate::operations::complete_if_ready(&mut tx, &Actor::from_ctx(&ctx), request_id).await?;
    let message = if completed {
        format!(
            "Done: {}. That was the last of it: the request is completed.",
            item.title
        )
    } else {
        format!("Done: {}.", item.title)
    };
    commit_and_go(tx, &ctx, &back, &message).await
}

/// Someone else's item (another role's): refused and on the record, like a refused route, and
/// nothing about the item said.
async fn refuse_foreign(
    mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
    ctx: &Ctx,
    id: i64,
    action: &str,
) -> AppResult<Response> {
    audit::record(
        &mut tx,
        &Actor::from_ctx(ctx),
        "access.refused",
        "checklist_item",
        Some(id.to_string()),
        json!({ "method": "POST", "path": format!("/checklist/{id}/{action}") }),
    )
    .await?;
    tx.commit().await?;
    Err(AppError::Forbidden)
}

/// An action on one's own kind of item that the rules refuse. The contractor, who may see
/// only its own work, is told nothing about the item's state, and the refusal is recorded.
async fn refuse(
    mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
    ctx: &Ctx,
    back: &str,
    id: i64,
    action: &str,
    refusal: crate::change_requests::rules::Refusal,
) -> AppResult<Response> {
    if !ctx.user.roles.contains(Role::Contractor) {
        return commit_and_go(tx, ctx, back, &format!("Nothing changed. {refusal}")).await;
    }
    audit::record(
        &mut tx,
        &Actor::from_ctx(ctx),
        "checklist.refused",
        "checklist_item",
        Some(id.to_string()),
        json!({ "action": action, "why": refusal.0 }),
    )
    .await?;
    commit_and_go(
        tx,
        ctx,
        back,
        "Nothing changed: that is not an open item of yours you can do this to.",
    )
    .await
}

#[derive(Debug, Deserialize)]
pub(crate) struct ReasonForm {
    #[serde(default)]
    reason: String,
}

/// Where a person goes back to after acting on an item.
fn back_for(ctx: &Ctx, request_id: i64) -> String {
    if ctx.user.roles.contains(Role::Contractor) {
        "/".to_string()
    } else {
        format!("/requests/{request_id}")
    }
}

/// A reason, checked; or the page again with the message beside the item's reason field.
async fn reason_or_page(
    state: &AppState,
    ctx: &Ctx,
    item: i64,
    request_id: i64,
    typed: &str,
) -> AppResult<Result<String, Response>> {
    match crate::web::text::required(typed, 2000, "Say why.") {
        Ok(reason) => Ok(Ok(reason)),
        Err(problem) => Ok(Err(problem_page(
            state, ctx, item, request_id, "reason", &problem, typed,
        )
        .await?)),
    }
}

/// The request's page again with `problem` beside the item's `field` ("note" or "reason") and
/// what was typed in it; the contractor, who has no request page, is told on their desk.
async fn problem_page(
    state: &AppState,
    ctx: &Ctx,
    item: i64,
    request_id: i64,
    field: &'static str,
    problem: &str,
    typed: &str,
) -> AppResult<Response> {
    if ctx.user.roles.contains(Role::Contractor) {
        // The contractor has no request page: the desk says it.
        let mut tx = state.db.begin().await?;
        session::set_flash(
            &mut tx,
            &ctx.user.session_hash,
            &format!("Nothing changed. {problem}"),
        )
        .await?;
        tx.commit().await?;
        return Ok(Redirect::to("/").into_response());
    }
    let mut page = crate::change_requests::show_page(state, ctx, request_id).await?;
    page.checklist.error_for = Some(item);
    page.checklist.error_field = field;
    page.checklist.error = problem.to_string();
    page.checklist.text = typed.to_string();
    Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

async fn load_locked(conn: &mut PgConnection, id: i64) -> AppResult<(i64, ItemRow, bool)> {
    let request_id: i64 =
        sqlx::query_scalar("SELECT change_request_id FROM checklist_items WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(AppError::NotFound)?;
    let r = crate::change_requests::db::lock(conn, request_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let item: ItemRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{ITEM_SELECT} WHERE i.id = $1"
    )))
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    let closed = r.state != crate::change_requests::rules::State::Approved;
    Ok((request_id, item, closed))
}

/// Undoes a tick, by whoever made it, with a reason; the item's daily reminders start again.
async fn undo(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<ReasonForm>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let (request_id, item, closed) = load_locked(&mut tx, id).await?;
    let owner = item.owner_role;
    if !ctx.user.roles.contains(owner) {
        return refuse_foreign(tx, &ctx, id, "undo").await;
    }
    let reason = match reason_or_page(&state, &ctx, id, request_id, &form.reason).await? {
        Ok(r) => r,
        Err(response) => return Ok(response),
    };
    let done_by: Option<i64> =
        sqlx::query_scalar("SELECT done_by FROM checklist_items WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
    let verification_done: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM checklist_items WHERE verifies_id = $1 AND done_at IS NOT NULL)",
    )
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    let who = Who {
        id: ctx.user.id,
        roles: ctx.user.roles,
    };
    let facts = rules::UndoFacts {
        owner,
        done_by,
        verification_done,
        closed,
    };
    let back = back_for(&ctx, request_id);
    if let Err(refusal) = rules::may_undo(who, facts) {
        return refuse(tx, &ctx, &back, id, "undo", refusal).await;
    }
    reopen(&mut tx, &state.clock, id).await?;
    audit::record(
        &mut tx,
        &Actor::from_ctx(&ctx),
        "checklist.undone",
        "change_request",
        Some(request_id.to_string()),
        json!({ "item_id": id, "title": item.title, "reason": reason }),
    )
    .await?;
    commit_and_go(tx, &ctx, &back, &format!("Undone: {}.", item.title)).await
}

/// Marks an item not done again and, if it is past due, restarts its daily reminders.
async fn reopen(conn: &mut PgConnection, clock: &crate::time::Clock, id: i64) -> sqlx::Result<()> {
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

/// The SEM specialist sends a contractor item back (it was not really done), from the
/// verification item, with a reason; the contractor is emailed.
async fn send_back(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<ReasonForm>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let (request_id, verification, closed) = load_locked(&mut tx, id).await?;
    let who = Who {
        id: ctx.user.id,
        roles: ctx.user.roles,
    };
    let back = back_for(&ctx, request_id);
    // Whether it may be sent back comes first, so every refused attempt is on the record
    // (even one with no reason typed) and answers alike whatever the item is.
    let Some(contractor_item) = verification.verifies_id else {
        let refusal = crate::change_requests::rules::Refusal(
            "Only a contractor's item is sent back, from its verification.",
        );
        return refuse(tx, &ctx, &back, id, "send-back", refusal).await;
    };
    if let Err(refusal) = rules::may_send_back(
        who,
        verification.assignee,
        verification.verified_item_done.unwrap_or(false),
        verification.done_at.is_some(),
        closed,
    ) {
        return refuse(tx, &ctx, &back, id, "send-back", refusal).await;
    }
    let reason = match reason_or_page(&state, &ctx, id, request_id, &form.reason).await? {
        Ok(r) => r,
        Err(response) => return Ok(response),
    };
    let (title, client_name): (String, String) = sqlx::query_as(
        "SELECT i.title, c.name FROM checklist_items i
           JOIN change_requests r ON r.id = i.change_request_id
           JOIN clients c ON c.id = r.client_id
          WHERE i.id = $1",
    )
    .bind(contractor_item)
    .fetch_one(&mut *tx)
    .await?;
    reopen(&mut tx, &state.clock, contractor_item).await?;
    audit::record(
        &mut tx,
        &Actor::from_ctx(&ctx),
        "checklist.sent_back",
        "change_request",
        Some(request_id.to_string()),
        json!({ "item_id": contractor_item, "title": title, "reason": reason }),
    )
    .await?;
    let config = &state.config;
    notify::sent_back(&mut tx, config, request_id, &client_name, &title, &reason).await?;
    commit_and_go(
        tx,
        &ctx,
        &back,
        &format!("Sent back to the contractor: {title}."),
    )
    .await
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
