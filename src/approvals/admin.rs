//! The admin's approval page: the chain's steps (who approves each and when it applies), and
//! the steps stalled on someone, which the admin can hand to another approver.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::Form;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;

use super::db::{self, ChainRow};
use super::rules::{self, Approver, Condition, StepState};
use crate::audit::{self, Actor};
use crate::auth::roles::Role;
use crate::change_requests::db::RequestRow;
use crate::change_requests::rules::State as RequestState;
use crate::web::AppState;
use crate::web::ctx::{Ctx, Tx, commit_and_go};
use crate::web::error::{AppError, AppResult};
use crate::web::fields::FieldErrors;
use crate::web::pages::Chrome;

/// A choice in the approver list.
#[derive(Clone, Debug)]
pub struct ApproverOption {
    pub value: String,
    pub label: String,
}

/// The form value of an approver: `user:<id>`, `role:<key>`, or empty for nobody.
pub fn approver_value(a: Approver) -> String {
    match a {
        Approver::User(u) => format!("user:{u}"),
        Approver::Role(r) => format!("role:{}", r.key()),
        Approver::Unassigned => String::new(),
    }
}

/// Reads an approver choice; `None` when it is not one of the offered values.
pub fn parse_approver(value: &str, offered: &[ApproverOption]) -> Option<Approver> {
    let v = value.trim();
    if !offered.iter().any(|o| o.value == v) && !v.is_empty() {
        return None;
    }
    if v.is_empty() {
        return Some(Approver::Unassigned);
    }
    if let Some(id) = v.strip_prefix("user:") {
        return id.parse().ok().map(Approver::User);
    }
    v.strip_prefix("role:")
        .and_then(Role::from_key)
        .map(Approver::Role)
}

/// People who may be named (active holders of the approver or Finance role), then roles.
async fn approver_options(conn: &mut PgConnection) -> sqlx::Result<Vec<ApproverOption>> {
    let people: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, display_name FROM users
          WHERE disabled_at IS NULL AND roles && ARRAY['approver', 'finance', 'department_manager', 'dm_leadership']
          ORDER BY lower(display_name), id",
    )
    .fetch_all(conn)
    .await?;
    let mut options: Vec<ApproverOption> = people
        .into_iter()
        .map(|(id, name)| ApproverOption {
            value: format!("user:{id}"),
            label: name,
        })
        .collect();
    for role in [
        Role::Finance,
        Role::Accounting,
        Role::DmLeadership,
        Role::Approver,
    ] {
        options.push(ApproverOption {
            value: format!("role:{}", role.key()),
            label: format!("Any of {}", role.label()),
        });
    }
    Ok(options)
}

/// A step waiting too long, for the admin.
#[derive(Debug, sqlx::FromRow)]
pub struct Stalled {
    pub step_id: i64,
    pub request_id: i64,
    pub client_name: String,
    pub step_name: String,
    pub approver_user_id: Option<i64>,
    pub approver_role: Option<Role>,
    pub approver_name: Option<String>,
    pub reached_at: DateTime<Utc>,
    /// Why nobody could decide it when it was reached (flagged at once, not after the nudge
    /// interval).
    pub flagged_reason: Option<String>,
    #[sqlx(skip)]
    pub business_days: i64,
}

impl Stalled {
    pub fn approver_label(&self) -> String {
        match Approver::from_columns(self.approver_user_id, self.approver_role) {
            Approver::User(_) => self.approver_name.clone().unwrap_or_default(),
            Approver::Role(r) => format!("Any of {}", r.label()),
            Approver::Unassigned => "Nobody named".into(),
        }
    }
}

const STALLED_SELECT: &str = "SELECT s.id AS step_id, r.id AS request_id, c.name AS client_name,
        s.name AS step_name, s.approver_user_id, s.approver_role, u.display_name AS approver_name,
        s.reached_at, s.flagged_reason
   FROM request_approvals s
   JOIN change_requests r ON r.id = s.change_request_id
   JOIN clients c ON c.id = r.client_id
   LEFT JOIN users u ON u.id = s.approver_user_id";

/// Steps nobody could decide when they were reached, oldest first: they wait on the admin.
pub async fn flagged(conn: &mut PgConnection, limit: i64) -> sqlx::Result<Vec<Stalled>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{STALLED_SELECT}
          WHERE s.state = 'pending' AND s.flagged_at IS NOT NULL
          ORDER BY s.flagged_at, s.id
          LIMIT $1"
    )))
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// The steps that need the admin: those flagged when reached, then those waiting at least
/// `days` business days; oldest first within each.
pub async fn stalled(
    conn: &mut PgConnection,
    days: u32,
    clock: &crate::time::Clock,
) -> sqlx::Result<Vec<Stalled>> {
    let mut rows = flagged(conn, 500).await?;
    // Calendar days bound business days from above: a cheap first cut the index serves.
    let mut waiting: Vec<Stalled> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{STALLED_SELECT}
          WHERE s.state = 'pending' AND s.flagged_at IS NULL
            AND s.reached_at <= now() - make_interval(days => $1)
          ORDER BY s.reached_at, s.id
          LIMIT 500"
    )))
    .bind(days as i32)
    .fetch_all(&mut *conn)
    .await?;
    let today = clock.today();
    for r in rows.iter_mut().chain(waiting.iter_mut()) {
        r.business_days =
            rules::business_days_between(crate::time::day_in(clock.zone(), r.reached_at), today);
    }
    waiting.retain(|r| r.business_days >= days as i64);
    rows.extend(waiting);
    Ok(rows)
}

#[derive(Debug, Default, Deserialize)]
pub struct StepForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    position: String,
    #[serde(default)]
    approver: String,
    #[serde(default)]
    condition: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "approvals/admin.html")]
pub(super) struct AdminPage {
    chrome: Chrome,
    steps: Vec<ChainRow>,
    options: Vec<ApproverOption>,
    conditions: [Condition; 2],
    stalled: Vec<Stalled>,
    nudge_days: u32,
    /// The step whose form needs another look (None: the add form).
    editing: Option<i64>,
    form: StepForm,
    errors: FieldErrors,
}

impl AdminPage {
    fn value<'a>(&'a self, step: Option<&'a ChainRow>, field: &str) -> String {
        match step {
            Some(s) if self.editing != Some(s.id) => match field {
                "name" => s.name.clone(),
                "position" => s.position.to_string(),
                "approver" => approver_value(s.approver()),
                "condition" => s.condition.key().to_string(),
                _ => String::new(),
            },
            Some(_) => self.typed(field),
            None if self.editing.is_none() => self.typed(field),
            None => String::new(),
        }
    }

    fn typed(&self, field: &str) -> String {
        match field {
            "name" => self.form.name.clone(),
            "position" => self.form.position.clone(),
            "approver" => self.form.approver.clone(),
            "condition" => self.form.condition.clone(),
            _ => String::new(),
        }
    }

    fn error(&self, step: Option<&ChainRow>, field: &str) -> String {
        if step.map(|s| s.id) == self.editing {
            self.errors.msg(field).to_string()
        } else {
            String::new()
        }
    }
}

async fn render(
    state: &AppState,
    ctx: &Ctx,
    editing: Option<i64>,
    form: StepForm,
    errors: FieldErrors,
) -> AppResult<AdminPage> {
    let mut conn = state.db.acquire().await?;
    Ok(AdminPage {
        chrome: Chrome::new(state, ctx, "/admin/approvals"),
        steps: db::chain_rows(&mut conn).await?,
        options: approver_options(&mut conn).await?,
        conditions: Condition::ALL,
        stalled: stalled(&mut conn, state.config.approval_nudge_days, &state.clock).await?,
        nudge_days: state.config.approval_nudge_days,
        editing,
        form,
        errors,
    })
}

pub(super) async fn page(State(state): State<AppState>, ctx: Ctx) -> AppResult<AdminPage> {
    render(
        &state,
        &ctx,
        None,
        StepForm::default(),
        FieldErrors::default(),
    )
    .await
}

struct Checked {
    name: String,
    position: i32,
    approver: Approver,
    condition: Condition,
}

fn check(form: &StepForm, options: &[ApproverOption]) -> Result<Checked, FieldErrors> {
    let mut errors = FieldErrors::default();
    let name = crate::web::text::label(&form.name, 80, "Name the step.").unwrap_or_else(|m| {
        errors.add("name", m);
        String::new()
    });
    let position = match form.position.trim().parse::<i32>() {
        Ok(p) if (1..=99).contains(&p) => p,
        _ => {
            errors.add("position", "A whole number from 1 to 99.");
            0
        }
    };
    let approver = parse_approver(&form.approver, options).unwrap_or_else(|| {
        errors.add("approver", "Choose someone from the list.");
        Approver::Unassigned
    });
    let condition = Condition::from_key(form.condition.trim()).unwrap_or_else(|| {
        errors.add("condition", "Choose when the step applies.");
        Condition::Always
    });
    if errors.is_empty() {
        Ok(Checked {
            name,
            position,
            approver,
            condition,
        })
    } else {
        Err(errors)
    }
}

fn columns(a: Approver) -> (Option<i64>, Option<&'static str>) {
    match a {
        Approver::User(u) => (Some(u), None),
        Approver::Role(r) => (None, Some(r.key())),
        Approver::Unassigned => (None, None),
    }
}

pub(super) async fn add_step(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<StepForm>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let options = approver_options(&mut tx).await?;
    let c = match check(&form, &options) {
        Ok(c) => c,
        Err(errors) => {
            drop(tx);
            let page = render(&state, &ctx, None, form, errors).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let (user, role) = columns(c.approver);
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO approval_chain_steps (position, name, approver_user_id, approver_role, condition)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(c.position)
    .bind(&c.name)
    .bind(user)
    .bind(role)
    .bind(c.condition)
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        &Actor::from_ctx(&ctx),
        "approval_chain.step_added",
        "approval_chain_step",
        Some(id.to_string()),
        json!({ "name": c.name, "position": c.position, "approver": approver_value(c.approver), "condition": c.condition.key() }),
    )
    .await?;
    commit_and_go(
        tx,
        "/admin/approvals",
        &format!(
            "Added the step “{}”. Requests already submitted keep their chain.",
            c.name
        ),
    )
    .await
}

pub(super) async fn update_step(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<StepForm>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let before = db::lock_chain_step(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let options = approver_options(&mut tx).await?;
    let step = match check(&form, &options) {
        Ok(step) => step,
        Err(errors) => {
            drop(tx);
            let page = render(&state, &ctx, Some(id), form, errors).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let (user, role) = columns(step.approver);
    let (name, position, condition) = (&step.name, step.position, step.condition);
    db::update_chain_step(&mut tx, id, name, position, user, role, condition).await?;
    let mut changes = audit::Changes::default();
    let approver = (
        approver_value(before.approver()),
        approver_value(step.approver),
    );
    changes
        .field("name", &before.name, &step.name)
        .field("position", before.position, step.position)
        .field("approver", approver.0, approver.1)
        .field("condition", before.condition, step.condition.key());
    if changes.is_empty() {
        return commit_and_go(tx, "/admin/approvals", "Nothing changed.").await;
    }
    let (actor, entity) = (Actor::from_ctx(&ctx), Some(id.to_string()));
    let record = json!({ "changes": changes.into_json() });
    let action = "approval_chain.step_edited";
    audit::record(
        &mut tx,
        &actor,
        action,
        "approval_chain_step",
        entity,
        record,
    )
    .await?;
    let message = format!(
        "Saved “{}”. Requests already submitted keep the chain they were given.",
        step.name
    );
    commit_and_go(tx, "/admin/approvals", &message).await
}

pub(super) async fn retire_step(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let what = crate::web::retire::Retirement {
        table: "approval_chain_steps",
        label: "name",
        action: "approval_chain.step_retired",
        entity: "approval_chain_step",
        back: "/admin/approvals",
        already: "Nothing changed: that step was already removed.",
    };
    crate::web::retire::retire(&state, &ctx, id, &what, |name| {
        format!("Removed “{name}” from the chain for requests submitted from now on.")
    })
    .await
}

#[derive(Debug, Deserialize)]
pub(super) struct ReassignForm {
    #[serde(default)]
    approver: String,
}

/// Hands a step not yet decided to another approver; if it is that step's turn, they are
/// emailed. On the request's timeline.
pub(super) async fn reassign(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(step_id): Path<i64>,
    Form(form): Form<ReassignForm>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let (request, step) = db::locked(&mut tx, step_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let options = approver_options(&mut tx).await?;
    let chosen = parse_approver(&form.approver, &options).filter(|a| *a != Approver::Unassigned);
    let Some(approver) = chosen else {
        return back_to_approvals(tx, "Nothing changed: choose who takes the step.").await;
    };
    let (name, on) = (&step.name, &request.client_name);
    let waiting = matches!(step.state, StepState::Pending | StepState::Waiting);
    if !waiting || request.state != RequestState::InApproval {
        let was = step.state_label().to_lowercase();
        let message = format!("Nothing changed: “{name}” on {on} is no longer waiting ({was}).");
        return back_to_approvals(tx, &message).await;
    }
    let to_label = label_of(&options, approver);
    let (user, role) = columns(approver);
    db::hand_to(&mut tx, step_id, user, role).await?;
    let reached = step.state == StepState::Pending;
    if reached
        && let Some(why) = cannot_decide(&mut tx, &state, &request, step_id, approver).await?
    {
        drop(tx);
        let message = format!("Nothing changed: “{name}” on {on} cannot go to {to_label}. {why}");
        return back_to_approvals(state.db.begin().await?, &message).await;
    }
    let actor = Actor::from_ctx(&ctx);
    let record = json!({ "step": step.name, "from": step.approver_label(), "to": to_label });
    let action = "change_request.step_reassigned";
    audit::on_request(&mut tx, &actor, action, request.id, record).await?;
    let mut message = format!("“{name}” on {on} now goes to {to_label}.");
    if reached
        && let Some(note) =
            super::chain::turn_of(&mut tx, &state, &actor, &request, step_id).await?
    {
        // Handed to someone who may not decide it after all: say where it went instead.
        let now = db::step(&mut tx, step_id)
            .await?
            .ok_or(AppError::NotFound)?;
        message = if now.approver() == approver {
            format!("“{name}” on {on} now goes to {to_label}, who may not decide it: {note}")
        } else {
            format!(
                "“{name}” on {on} could not go to {to_label}, who already decided another step of this round for someone they stood in for. {note}"
            )
        };
    }
    back_to_approvals(tx, &message).await
}

/// The label the admin's list gives `approver`.
fn label_of(options: &[ApproverOption], approver: Approver) -> String {
    options
        .iter()
        .find(|o| o.value == approver_value(approver))
        .map(|o| o.label.clone())
        .unwrap_or_default()
}

/// Why the pending step, just handed to `approver`, cannot be decided by them (they decided
/// another step of this round, filed or submitted it, the client is theirs, or nobody holding
/// the role may); `None` when it can.
async fn cannot_decide(
    conn: &mut PgConnection,
    state: &AppState,
    request: &RequestRow,
    step_id: i64,
    approver: Approver,
) -> AppResult<Option<String>> {
    let now = db::step(conn, step_id).await?.ok_or(AppError::NotFound)?;
    let round = db::round(conn, request.id, now.round).await?;
    let people = super::routing::deciders(conn, request, &now, state.clock.today()).await?;
    let able = match approver {
        Approver::User(u) => people.contains(&u),
        _ => !people.is_empty(),
    };
    Ok((!able).then(|| super::routing::nobody_because(request, &now, &round)))
}

async fn back_to_approvals(tx: Tx, message: &str) -> AppResult<Response> {
    commit_and_go(tx, "/admin/approvals", message).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered() -> Vec<ApproverOption> {
        ["user:7", "role:finance"]
            .into_iter()
            .map(|v| ApproverOption {
                value: v.into(),
                label: v.into(),
            })
            .collect()
    }

    #[test]
    fn an_approver_choice_is_read_only_from_what_was_offered() {
        let o = offered();
        assert_eq!(parse_approver("user:7", &o), Some(Approver::User(7)));
        assert_eq!(
            parse_approver("role:finance", &o),
            Some(Approver::Role(Role::Finance))
        );
        assert_eq!(parse_approver("", &o), Some(Approver::Unassigned));
        assert_eq!(parse_approver("user:8", &o), None, "not offered");
        assert_eq!(parse_approver("role:admin", &o), None);
        assert_eq!(parse_approver("user:x", &o), None);
        for a in [
            Approver::User(7),
            Approver::Role(Role::Finance),
            Approver::Unassigned,
        ] {
            assert_eq!(parse_approver(&approver_value(a), &o), Some(a));
        }
    }

    #[test]
    fn a_step_needs_a_name_a_position_and_a_known_condition() {
        let o = offered();
        let form = StepForm {
            name: "  Finance  review ".into(),
            position: "3".into(),
            approver: "role:finance".into(),
            condition: "credit".into(),
        };
        let c = check(&form, &o).unwrap();
        assert_eq!(c.name, "Finance review");
        assert_eq!(c.condition, Condition::Credit);
        let bad = StepForm {
            name: " ".into(),
            position: "0".into(),
            approver: "user:99".into(),
            condition: "sometimes".into(),
        };
        let e = check(&bad, &o).err().unwrap();
        for field in ["name", "position", "approver", "condition"] {
            assert!(e.has(field), "{field}");
        }
    }
}
