//! The change task's page and the pause task's panel on the request's page.

use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;
use sqlx::PgConnection;

use super::db::{self, SemTaskRow, TaskRow};
use super::rules::{self, Status};
use crate::approvals::db::StepRow;
use crate::auth::roles::Role;
use crate::auth::roles::Who;
use crate::change_requests::db::{self as requests, RequestRow};
use crate::change_requests::rules::{CancelScope, Kind};
use crate::clients::db as clients;
use crate::users::db::PersonOption;
use crate::web::AppState;
use crate::web::ctx::Ctx;
use crate::web::error::{AppError, AppResult};
use crate::web::fields::FieldErrors;
use crate::web::filters;
use crate::web::pages::Chrome;

/// The pause task part of a request's page.
#[derive(Debug)]
pub struct SemTaskPanel {
    pub task: Option<SemTaskRow>,
    pub may_tick: bool,
    /// The note, when it needs another look, and what was typed.
    pub note_error: String,
    pub note_text: String,
}

impl SemTaskPanel {
    /// `any`: whether the request has a SEM task (the page's probe read it); none, no statement.
    pub async fn load(
        conn: &mut PgConnection,
        request_id: i64,
        any: bool,
        viewer: Who,
    ) -> sqlx::Result<Self> {
        let task = if any {
            db::sem_task_for(conn, request_id).await?
        } else {
            None
        };
        let may_tick = task.as_ref().is_some_and(|t| {
            let (done, cancelled) = (t.done_at.is_some(), t.cancelled_at.is_some());
            rules::may_tick_sem_task(viewer, t.assignee, done, cancelled).is_ok()
        });
        Ok(SemTaskPanel {
            task,
            may_tick,
            note_error: String::new(),
            note_text: String::new(),
        })
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    pub(super) status: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "operations/task.html")]
pub struct TaskPage {
    chrome: Chrome,
    t: TaskRow,
    r: RequestRow,
    save_attempt: Option<crate::retention::db::SaveAttempt>,
    attachments: Vec<crate::change_requests::attachments::AttachmentRow>,
    steps: Vec<StepRow>,
    sem_task: Option<SemTaskRow>,
    remaining: Vec<&'static str>,
    needs_planner: bool,
    may_forward: bool,
    may_plan: bool,
    may_status: bool,
    may_done: bool,
    specialists: Vec<PersonOption>,
    statuses: [Status; 4],
    suggested_status: &'static str,
    pub status_form: StatusForm,
    pub status_errors: FieldErrors,
    client_status: Status,
    /// The status was recorded here and takes effect later: the day it does.
    status_from: Option<chrono::NaiveDate>,
}

impl TaskPage {
    fn specialist_chosen(&self, id: &i64) -> bool {
        Some(*id) == self.r.client_sem_specialist_id
    }
    fn status_chosen(&self, key: &str) -> bool {
        self.status_form.status == key
    }
}

pub async fn task_page(state: &AppState, ctx: &Ctx, task_id: i64) -> AppResult<TaskPage> {
    let mut conn = state.db.acquire().await?;
    let t = db::find(&mut conn, task_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let r = requests::find(&mut conn, t.change_request_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let save_attempt = crate::retention::db::find(&mut conn, r.id).await?;
    let attachments = crate::change_requests::attachments::for_request(&mut conn, r.id).await?;
    let steps = crate::approvals::db::round(&mut conn, r.id, r.approval_round).await?;
    let sem_task = db::sem_task_for(&mut conn, r.id).await?;
    let specialists =
        crate::users::db::people_with_role(&mut conn, Role::SemSpecialist.key()).await?;
    let client_status = clients::status_of(&mut conn, r.client_id).await?;
    let status_from = (t.status_updated_at.is_some() && r.effective_date > state.clock.today())
        .then_some(r.effective_date);
    let facts = t.facts(&r);
    let suggested = rules::status_for(r.kind, r.cancel_scope == Some(CancelScope::LeavePlatform));
    let me = ctx.who();
    Ok(TaskPage {
        chrome: Chrome::new(state, ctx, "/tasks"),
        remaining: rules::remaining(facts),
        needs_planner: rules::needs_planner(r.kind) && r.reverses_id.is_none(),
        may_forward: rules::may_forward(me, facts).is_ok(),
        may_plan: rules::may_add_to_planner(me, facts).is_ok(),
        may_status: rules::may_update_status(me, facts).is_ok(),
        may_done: rules::may_mark_done(me, facts).is_ok(),
        specialists,
        statuses: Status::ALL,
        suggested_status: suggested.key(),
        status_form: StatusForm {
            status: suggested.key().to_string(),
        },
        status_errors: FieldErrors::default(),
        client_status,
        status_from,
        t,
        r,
        save_attempt,
        attachments,
        steps,
        sem_task,
    })
}
