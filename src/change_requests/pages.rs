//! The change request pages: file, read, edit, withdraw, list.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::Form;
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;

use super::db::{self, Filed, QueueLine, ReasonOption, RequestRow};
use super::form::{self, RequestForm};
use super::rules::{self, CancelScope, Escalation, Kind, State as RequestState, Who};
use crate::audit::{self, Actor};
use crate::auth::roles::Role;
use crate::auth::session;
use crate::users::db::PersonOption;
use crate::web::AppState;
use crate::web::ctx::{Ctx, commit_and_go};
use crate::web::error::{AppError, AppResult};
use crate::web::fields::FieldErrors;
use crate::web::pages::{Chrome, Pager};

fn who(ctx: &Ctx) -> Who {
    Who {
        id: ctx.user.id,
        roles: ctx.user.roles,
    }
}

/// The filing and editing form.
#[derive(Template, WebTemplate)]
#[template(path = "change_requests/form.html")]
pub(super) struct FormPage {
    chrome: Chrome,
    client_id: i64,
    client_name: String,
    /// None when filing.
    request_id: Option<i64>,
    form: RequestForm,
    errors: FieldErrors,
    conflict: Option<String>,
    warning: Option<String>,
    reasons: Vec<ReasonOption>,
    team_leads: Vec<PersonOption>,
    department_managers: Vec<PersonOption>,
    kinds: [Kind; 3],
    escalations: [Escalation; 4],
}

impl FormPage {
    fn is(&self, field: &str, value: &str) -> bool {
        let v = match field {
            "kind" => &self.form.kind,
            "cancel_scope" => &self.form.cancel_scope,
            "reason_id" => &self.form.reason_id,
            "escalation" => &self.form.escalation,
            "escalated_to" => &self.form.escalated_to,
            _ => return false,
        };
        v.trim() == value
    }
}

struct Lists {
    reasons: Vec<ReasonOption>,
    team_leads: Vec<PersonOption>,
    department_managers: Vec<PersonOption>,
}

async fn lists(conn: &mut PgConnection, keep_reason: Option<i64>) -> AppResult<Lists> {
    Ok(Lists {
        reasons: db::reasons(conn, keep_reason).await?,
        team_leads: crate::users::db::people_with_role(conn, Role::TeamLead.key()).await?,
        department_managers: crate::users::db::people_with_role(
            conn,
            Role::DepartmentManager.key(),
        )
        .await?,
    })
}

fn page(
    state: &AppState,
    ctx: &Ctx,
    client: (i64, String),
    request_id: Option<i64>,
    form: RequestForm,
    lists: Lists,
) -> FormPage {
    FormPage {
        chrome: Chrome::new(state, ctx, "/requests"),
        client_id: client.0,
        client_name: client.1,
        request_id,
        form,
        errors: FieldErrors::default(),
        conflict: None,
        warning: None,
        reasons: lists.reasons,
        team_leads: lists.team_leads,
        department_managers: lists.department_managers,
        kinds: Kind::ALL,
        escalations: Escalation::ALL,
    }
}

fn parse(
    page: &FormPage,
    fixed: Option<(Escalation, Option<i64>)>,
    today: chrono::NaiveDate,
) -> Result<form::Details, FieldErrors> {
    let reasons: Vec<i64> = page.reasons.iter().map(|r| r.id).collect();
    let tl: Vec<i64> = page.team_leads.iter().map(|p| p.id).collect();
    let dm: Vec<i64> = page.department_managers.iter().map(|p| p.id).collect();
    form::parse(
        &page.form,
        &form::Choices {
            today,
            reasons: &reasons,
            team_leads: &tl,
            department_managers: &dm,
            fixed_escalation: fixed,
        },
    )
}

/// The client, if `ctx` may file for it; otherwise why not.
async fn client_for_filing(
    conn: &mut PgConnection,
    ctx: &Ctx,
    client_id: i64,
) -> AppResult<crate::clients::db::ClientRow> {
    let client = crate::clients::db::find(conn, client_id)
        .await?
        .ok_or(AppError::NotFound)?;
    rules::may_file(who(ctx), client.account_manager_id)
        .map_err(|r| AppError::Refused(r.0.into()))?;
    Ok(client)
}

async fn overlap_warning(
    conn: &mut PgConnection,
    client_id: i64,
    today: chrono::NaiveDate,
) -> AppResult<Option<String>> {
    Ok(db::approved_pending(conn, client_id, today).await?.map(|(id, date)| {
        format!(
            "Approved change request #{id} for this client takes effect on {}: a new request overlaps it.",
            crate::time::day(date)
        )
    }))
}

pub(super) async fn new_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(client_id): Path<i64>,
) -> AppResult<Response> {
    let mut conn = state.db.acquire().await?;
    let client = client_for_filing(&mut conn, &ctx, client_id).await?;
    if let Some(open) = db::open_for_client(&mut conn, client_id).await? {
        session::set_flash(
            &mut conn,
            &ctx.user.session_hash,
            &format!(
                "{} already has an open change request; here it is.",
                client.name
            ),
        )
        .await?;
        return Ok(Redirect::to(&format!("/requests/{open}")).into_response());
    }
    let form = RequestForm {
        current_budget: crate::money::cents_for_input(client.monthly_budget_cents),
        escalation: "retention".into(),
        ..Default::default()
    };
    let lists = lists(&mut conn, None).await?;
    let mut p = page(&state, &ctx, (client.id, client.name), None, form, lists);
    p.warning = overlap_warning(&mut conn, client_id, state.clock.today()).await?;
    Ok(p.into_response())
}

pub(super) async fn file(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(client_id): Path<i64>,
    Form(form): Form<RequestForm>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let client = client_for_filing(&mut tx, &ctx, client_id).await?;
    let lists = lists(&mut tx, None).await?;
    let mut p = page(
        &state,
        &ctx,
        (client.id, client.name.clone()),
        None,
        form,
        lists,
    );
    let details = match parse(&p, None, state.clock.today()) {
        Ok(d) => d,
        Err(errors) => {
            p.errors = errors;
            p.warning = overlap_warning(&mut tx, client_id, state.clock.today()).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response());
        }
    };
    let initial = rules::initial_state(details.escalation);
    let id = match db::insert(&mut tx, client_id, ctx.user.id, &details, initial).await? {
        Filed::Ok(id) => id,
        Filed::AlreadyOpen => {
            // Someone filed for this client a moment ago: show theirs, keep nothing half-made.
            drop(tx);
            return show_the_open_one(&state, &ctx, client_id, &client.name).await;
        }
    };
    if details.escalation == Escalation::Retention {
        crate::retention::open(&mut tx, id).await?;
    }
    let record = json!({ "client_id": client_id, "kind": details.kind, "escalation": details.escalation, "state": initial });
    let actor = Actor::from_ctx(&ctx);
    let entity = Some(id.to_string());
    audit::record(
        &mut tx,
        &actor,
        "change_request.filed",
        "change_request",
        entity,
        record,
    )
    .await?;
    // The escalation's emails go out with the filing or not at all.
    let by = &ctx.user.display_name;
    super::notify::escalated(&mut tx, &state.config, id, &client.name, &details, by).await?;
    let mut message = format!("Change request filed for {}.", client.name);
    if let Some(w) = overlap_warning(&mut tx, client_id, state.clock.today()).await? {
        message = format!("{message} Note: {w}");
    }
    commit_and_go(tx, &ctx, &format!("/requests/{id}"), &message).await
}

/// Sends the person to the client's open request, saying why.
async fn show_the_open_one(
    state: &AppState,
    ctx: &Ctx,
    client_id: i64,
    client_name: &str,
) -> AppResult<Response> {
    let mut conn = state.db.acquire().await?;
    let open = db::open_for_client(&mut conn, client_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let message = format!("{client_name} already has an open change request; here it is.");
    session::set_flash(&mut conn, &ctx.user.session_hash, &message).await?;
    Ok(Redirect::to(&format!("/requests/{open}")).into_response())
}

/// One timeline entry.
#[derive(Debug, sqlx::FromRow)]
pub struct Event {
    /// How many entries the whole timeline has.
    pub total: i64,
    pub at: chrono::DateTime<Utc>,
    pub actor_label: String,
    pub action: String,
    pub details: serde_json::Value,
}

impl Event {
    pub fn when(&self) -> String {
        crate::time::local(self.at)
    }

    pub fn what(&self) -> String {
        match self.action.as_str() {
            "change_request.filed" => "Filed".into(),
            "change_request.edited" => {
                let mut fields: Vec<String> = self.details["changes"]
                    .as_object()
                    .map(|m| m.keys().map(|k| k.replace('_', " ")).collect())
                    .unwrap_or_default();
                fields.sort();
                format!("Edited: {}", fields.join(", "))
            }
            "change_request.withdrawn" => format!(
                "Withdrawn: {}",
                self.details["reason"].as_str().unwrap_or("")
            ),
            "change_request.question_asked" => "Asked the SEM specialist a question".into(),
            "change_request.question_answered" => "The SEM specialist answered".into(),
            "change_request.document_attached" => format!(
                "Attached the signed document {}",
                self.details["name"].as_str().unwrap_or("")
            ),
            "change_request.commented" => "Commented".into(),
            "change_request.submitted" => match self.details["round"].as_i64() {
                Some(n) if n > 1 => format!("Submitted again for approval (submission {n})"),
                _ => "Submitted for approval".into(),
            },
            "change_request.step_approved" => {
                let step = self.details["step"].as_str().unwrap_or("");
                match self.details["comment"].as_str().filter(|c| !c.is_empty()) {
                    Some(c) => format!("Approved {step}: “{c}”"),
                    None => format!("Approved {step}"),
                }
            }
            "change_request.sent_back" => format!(
                "Sent back at {}: “{}”",
                self.details["step"].as_str().unwrap_or(""),
                self.details["reason"].as_str().unwrap_or("")
            ),
            "change_request.approved" => "Approved by every step; the change task is open".into(),
            "change_request.processed" => "Processed by Accounting".into(),
            "change_request.reinstatement_filed" => format!(
                "Asked to reinstate the client (request #{})",
                self.details["reversal_id"]
            ),
            "checklist.ticked" => format!(
                "Offboarding: {}{}",
                self.details["title"].as_str().unwrap_or(""),
                self.details["note"]
                    .as_str()
                    .filter(|n| !n.is_empty())
                    .map(|n| format!(" (“{n}”)"))
                    .unwrap_or_default()
            ),
            "checklist.undone" => format!(
                "Offboarding: undid “{}”: {}",
                self.details["title"].as_str().unwrap_or(""),
                self.details["reason"].as_str().unwrap_or("")
            ),
            "checklist.sent_back" => format!(
                "Offboarding: sent “{}” back to the contractor: {}",
                self.details["title"].as_str().unwrap_or(""),
                self.details["reason"].as_str().unwrap_or("")
            ),
            "change_request.dates_moved" | "planner.dates_moved" => {
                let changes = &self.details["changes"];
                let day = |v: &serde_json::Value| {
                    v.as_str()
                        .and_then(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
                        .map(crate::time::day)
                };
                let mut sentence = format!(
                    "Moved the effective date from {} to {}",
                    day(&changes["effective_date"]["from"]).unwrap_or_default(),
                    day(&changes["effective_date"]["to"]).unwrap_or_default()
                );
                let (from, to) = (
                    day(&changes["resume_date"]["from"]),
                    day(&changes["resume_date"]["to"]),
                );
                if from != to {
                    sentence.push_str(&format!(
                        "; the resume date from {} to {}",
                        from.unwrap_or_else(|| "none".into()),
                        to.unwrap_or_else(|| "none".into())
                    ));
                }
                sentence
            }
            "change_request.step_flagged" => format!(
                "{} waits on the admin: {}",
                self.details["step"].as_str().unwrap_or(""),
                self.details["why"].as_str().unwrap_or("")
            ),
            "change_request.step_rerouted" => format!(
                "{} went back to {}: {}",
                self.details["step"].as_str().unwrap_or(""),
                self.details["to"].as_str().unwrap_or(""),
                self.details["why"].as_str().unwrap_or("")
            ),
            "change_task.forwarded" => format!(
                "Forwarded the change task to {}",
                self.details["to_name"]
                    .as_str()
                    .unwrap_or("the SEM specialist")
            ),
            "change_task.planner_added" => "Added the client to the planner sheet".into(),
            "change_task.status_updated" => format!(
                "Updated the account status to {}",
                self.details["to"]
                    .as_str()
                    .and_then(crate::operations::rules::Status::from_key)
                    .map(|s| s.task_label().to_lowercase())
                    .unwrap_or_default()
            ),
            "change_task.done" => "Marked the change task done".into(),
            "sem_task.done" => "Ticked “ads paused”".into(),
            "change_request.completed" => "Completed: everything after approval is done".into(),
            "change_request.account_manager_changed" => format!(
                "The client was handed from {} to {}: the request is theirs now",
                self.details["from_name"].as_str().unwrap_or(""),
                self.details["to_name"].as_str().unwrap_or("")
            ),
            "change_request.sem_work_handed_over" => format!(
                "The SEM work was handed from {} (who can no longer do it, or no longer has the client) to {}",
                self.details["from_name"].as_str().unwrap_or(""),
                self.details["to_name"].as_str().unwrap_or("")
            ),
            "change_request.reinstated" => format!(
                "Reinstated: undone by request #{}",
                self.details["reversal_id"]
            ),
            "change_request.step_reassigned" => format!(
                "Handed {} from {} to {}",
                self.details["step"].as_str().unwrap_or(""),
                self.details["from"].as_str().unwrap_or(""),
                self.details["to"].as_str().unwrap_or("")
            ),
            "change_request.retention_outcome" if !self.details["corrected_from"].is_null() => {
                format!(
                    "Retention call corrected: {} (was: {})",
                    self.details["outcome"]
                        .as_str()
                        .and_then(rules::Outcome::from_key)
                        .map(rules::Outcome::label)
                        .unwrap_or(""),
                    self.details["corrected_from"]
                        .as_str()
                        .and_then(rules::Outcome::from_key)
                        .map(rules::Outcome::label)
                        .unwrap_or("")
                )
            }
            "change_request.retention_outcome" => format!(
                "Retention call recorded: {}",
                self.details["outcome"]
                    .as_str()
                    .and_then(rules::Outcome::from_key)
                    .map(rules::Outcome::label)
                    .unwrap_or("")
            ),
            other => other
                .trim_start_matches("change_request.")
                .replace('_', " "),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "change_requests/show.html")]
pub struct ShowPage {
    chrome: Chrome,
    r: RequestRow,
    may_edit: bool,
    /// Each part of the page, owned by its domain (its struct beside its rules, its partial
    /// template in the domain's folder).
    pub approval: crate::approvals::ApprovalPanel,
    pub sem: crate::operations::tasks::SemTaskPanel,
    pub checklist: crate::checklists::ChecklistPanel,
    pub retention: crate::retention::RetentionPanel,
    pub questions: super::questions::QuestionsPanel,
    pub attachments: super::attachments::AttachmentsPanel,
    pub comments: super::comments::CommentsPanel,
    pub reinstate: crate::operations::reinstate::ReinstatePanel,
    pub withdraw: WithdrawPanel,
    pub timeline: Timeline,
}

/// Withdrawing, for the request's owner, with the reason as typed when it needs another look.
#[derive(Debug, Default)]
pub struct WithdrawPanel {
    pub may: bool,
    pub text: String,
    pub error: String,
}

/// The latest part of the request's timeline.
#[derive(Debug)]
pub struct Timeline {
    pub events: Vec<Event>,
    /// Entries older than those shown (0 when the whole timeline is shown).
    pub earlier: i64,
}

impl Timeline {
    /// The latest `shown` entries of request `id`'s timeline (all with `None`).
    async fn load(conn: &mut PgConnection, id: i64, shown: Option<i64>) -> sqlx::Result<Self> {
        let events: Vec<Event> = sqlx::query_as(
            "SELECT total, at, actor_label, action, details FROM (
                SELECT id, count(*) OVER () AS total, at, actor_label, action, details
                  FROM audit_events
                 WHERE entity_type = 'change_request' AND entity_id = $1
                 ORDER BY id DESC LIMIT $2) latest
              ORDER BY id",
        )
        .bind(id.to_string())
        .bind(shown)
        .fetch_all(conn)
        .await?;
        let earlier = events.first().map_or(0, |e| e.total - events.len() as i64);
        Ok(Timeline { events, earlier })
    }
}

/// How many of the latest timeline entries a request's page shows; the rest are a click away.
const TIMELINE_SHOWN: i64 = 100;

/// The request's page, with the latest part of its timeline.
pub async fn show_page(state: &AppState, ctx: &Ctx, id: i64) -> AppResult<ShowPage> {
    page_with_history(state, ctx, id, Some(TIMELINE_SHOWN)).await
}

/// The request's page with the latest `shown` timeline entries (all with `None`).
#[tracing::instrument(level = "debug", skip_all, fields(request = id))]
async fn page_with_history(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    shown: Option<i64>,
) -> AppResult<ShowPage> {
    let mut conn = state.db.acquire().await?;
    let r = db::find(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    let (viewer, today) = (who(ctx), state.clock.today());
    let c = &mut *conn;
    Ok(ShowPage {
        chrome: Chrome::new(state, ctx, "/requests"),
        may_edit: rules::may_edit(viewer, r.facts()).is_ok(),
        timeline: Timeline::load(c, id, shown).await?,
        retention: crate::retention::RetentionPanel::load(c, &r, viewer, today).await?,
        questions: super::questions::QuestionsPanel::load(c, &r, viewer).await?,
        attachments: super::attachments::AttachmentsPanel::load(c, &r, viewer).await?,
        comments: super::comments::CommentsPanel::load(c, &r, viewer).await?,
        approval: crate::approvals::panel(c, viewer, &r, today).await?,
        sem: crate::operations::tasks::SemTaskPanel::load(c, id, viewer).await?,
        reinstate: crate::operations::reinstate::ReinstatePanel::load(c, &r, viewer, today).await?,
        checklist: crate::checklists::ChecklistPanel::load(c, &r, viewer).await?,
        withdraw: WithdrawPanel {
            may: rules::may_withdraw(viewer, r.facts()).is_ok(),
            ..Default::default()
        },
        r,
    })
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ShowQuery {
    #[serde(default)]
    history: String,
}

pub(super) async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Query(q): Query<ShowQuery>,
) -> AppResult<ShowPage> {
    let shown = (q.history != "all").then_some(TIMELINE_SHOWN);
    page_with_history(&state, &ctx, id, shown).await
}

fn form_of(r: &RequestRow) -> RequestForm {
    RequestForm {
        kind: r.kind.key().to_string(),
        cancel_scope: r
            .cancel_scope
            .map(CancelScope::key)
            .unwrap_or_default()
            .to_string(),
        effective_date: r.effective_date.to_string(),
        resume_date: r.resume_date.map(|d| d.to_string()).unwrap_or_default(),
        current_budget: r
            .current_budget_cents
            .map(crate::money::cents_for_input)
            .unwrap_or_default(),
        new_budget: r
            .new_budget_cents
            .map(crate::money::cents_for_input)
            .unwrap_or_default(),
        reason_id: r.reason_id.to_string(),
        reason_text: r.reason_text.clone(),
        product_notes: r.product_notes.clone(),
        credit: r
            .credit_cents
            .map(crate::money::cents_for_input)
            .unwrap_or_default(),
        credit_reason: r.credit_reason.clone().unwrap_or_default(),
        escalation: r.escalation.key().to_string(),
        escalated_to: r.escalated_to.map(|i| i.to_string()).unwrap_or_default(),
        confirm_date: None,
        version: r.version,
    }
}

pub(super) async fn edit_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> AppResult<FormPage> {
    let mut conn = state.db.acquire().await?;
    let r = db::find(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    rules::may_edit(who(&ctx), r.facts()).map_err(|e| AppError::Refused(e.0.into()))?;
    let lists = lists(&mut conn, Some(r.reason_id)).await?;
    Ok(page(
        &state,
        &ctx,
        (r.client_id, r.client_name.clone()),
        Some(id),
        form_of(&r),
        lists,
    ))
}

pub(super) async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<RequestForm>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let before = db::lock(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    if let Err(r) = rules::may_edit(who(&ctx), before.facts()) {
        return commit_and_go(
            tx,
            &ctx,
            &format!("/requests/{id}"),
            &format!("Nothing was saved. {r}"),
        )
        .await;
    }
    let version = form.version;
    let lists = lists(&mut tx, Some(before.reason_id)).await?;
    let mut p = page(
        &state,
        &ctx,
        (before.client_id, before.client_name.clone()),
        Some(id),
        form,
        lists,
    );
    // The escalation was acted on when filed; editing keeps it.
    let details = match parse(
        &p,
        Some((before.escalation, before.escalated_to)),
        state.clock.today(),
    ) {
        Ok(d) => d,
        Err(errors) => {
            p.errors = errors;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response());
        }
    };
    if let Err(errors) = super::form::check_edit(before.settled(), details.terms()) {
        p.errors = errors;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response());
    }
    let Some(new_version) = db::update_details(&mut tx, id, version, &details).await? else {
        p.conflict = Some("Someone else changed this request while you were editing. What they saved is on the request's page; your changes are below. Save again to apply them.".into());
        p.form.version = before.version;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response());
    };
    let after = db::find(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let changes = changes(&before, &after);
    // A signature is for the terms it was given: new budgets or a new date need a new one.
    let superseded = if before.signed_terms_differ(&after) {
        super::attachments::supersede(&mut tx, id).await?
    } else {
        0
    };
    if changes.is_empty() {
        // Saved as it was: the version stays, so nobody editing meanwhile meets a conflict.
        tx.rollback().await?;
        let tx = state.db.begin().await?;
        return commit_and_go(tx, &ctx, &format!("/requests/{id}"), "Nothing changed.").await;
    }
    audit::record(
        &mut tx,
        &Actor::from_ctx(&ctx),
        "change_request.edited",
        "change_request",
        Some(id.to_string()),
        json!({
            "changes": changes.into_json(),
            "version": new_version,
            "signed_document_superseded": superseded > 0,
        }),
    )
    .await?;
    let message = if superseded > 0 {
        "Change request saved. The signed addendum no longer matches the new terms: attach one the client signed for them before submitting."
    } else {
        "Change request saved."
    };
    commit_and_go(tx, &ctx, &format!("/requests/{id}"), message).await
}

/// What an edit changed, field by field, for the audit record.
fn changes(before: &RequestRow, after: &RequestRow) -> audit::Changes {
    let mut changes = audit::Changes::default();
    changes
        .field("kind", before.kind, after.kind)
        .field("cancel_scope", before.cancel_scope, after.cancel_scope)
        .field(
            "effective_date",
            before.effective_date,
            after.effective_date,
        )
        .field("resume_date", before.resume_date, after.resume_date)
        .field(
            "current_budget_cents",
            before.current_budget_cents,
            after.current_budget_cents,
        )
        .field(
            "new_budget_cents",
            before.new_budget_cents,
            after.new_budget_cents,
        )
        .field("reason", &before.reason, &after.reason)
        .field("reason_text", &before.reason_text, &after.reason_text)
        .field("product_notes", &before.product_notes, &after.product_notes)
        .field("credit_cents", before.credit_cents, after.credit_cents)
        .field("credit_reason", &before.credit_reason, &after.credit_reason);
    changes
}

#[derive(Debug, Deserialize)]
pub(super) struct WithdrawForm {
    #[serde(default)]
    reason: String,
}

pub(super) async fn withdraw(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<WithdrawForm>,
) -> AppResult<Response> {
    let reason =
        match crate::web::text::required(&form.reason, 2000, "Say why the request is withdrawn.") {
            Ok(r) => r,
            Err(message) => {
                let mut p = show_page(&state, &ctx, id).await?;
                p.withdraw.text = form.reason;
                p.withdraw.error = message;
                return Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response());
            }
        };
    let mut tx = state.db.begin().await?;
    let r = db::lock(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let message = match rules::may_withdraw(who(&ctx), r.facts()) {
        Err(refusal) => format!(
            "Nothing changed: the request is {}. {}",
            r.state_label().to_lowercase(),
            refusal.0
        ),
        Ok(()) => {
            db::transition(&mut tx, id, r.state, RequestState::Withdrawn).await?;
            if r.state == RequestState::InApproval {
                crate::approvals::withdrawn_in_approval(&mut tx, &state, &r, &reason).await?;
            }
            sqlx::query("UPDATE change_requests SET withdrawn_reason = $2 WHERE id = $1")
                .bind(id)
                .bind(&reason)
                .execute(&mut *tx)
                .await?;
            audit::record(
                &mut tx,
                &Actor::from_ctx(&ctx),
                "change_request.withdrawn",
                "change_request",
                Some(id.to_string()),
                json!({ "reason": reason, "from": r.state }),
            )
            .await?;
            "Change request withdrawn.".to_string()
        }
    };
    commit_and_go(tx, &ctx, &format!("/requests/{id}"), &message).await
}

#[derive(Debug, Deserialize)]
pub(super) struct ListQuery {
    state: Option<String>,
    page: Option<i64>,
}

#[derive(Template, WebTemplate)]
#[template(path = "change_requests/list.html")]
pub(super) struct ListPage {
    chrome: Chrome,
    requests: Vec<QueueLine>,
    state: String,
    states: [RequestState; 7],
    pager: Pager,
}

pub(super) async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<ListQuery>,
) -> AppResult<ListPage> {
    let filter = q.state.as_deref().and_then(RequestState::from_key);
    let mut pager = Pager::new(q.page, 50);
    pager.keep = format!("&state={}", filter.map(RequestState::key).unwrap_or(""));
    let mut conn = state.db.acquire().await?;
    let rows = db::page(&mut conn, filter, pager.limit(), pager.offset()).await?;
    Ok(ListPage {
        chrome: Chrome::new(&state, &ctx, "/requests"),
        requests: pager.trim(rows),
        state: filter.map(RequestState::key).unwrap_or("").to_string(),
        states: RequestState::ALL,
        pager,
    })
}
