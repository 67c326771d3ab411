//! Submit, approve, send back, process, and the change task page.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::Form;
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;

use super::db::{self, StepRow};
use super::rules::{self, AfterApproval, StepState, SubmitFacts};
use crate::audit::{self, Actor};
use crate::auth::roles::Role;
use crate::change_requests::db::{self as requests, RequestRow};
use crate::change_requests::rules::{Kind, Refusal, State as RequestState, Who, is_submitter};
use crate::notifications::{emails, outbox, recipients};
use crate::web::AppState;
use crate::web::ctx::Ctx;
use crate::web::error::{AppError, AppResult};

fn who(ctx: &Ctx) -> Who {
    Who {
        id: ctx.user.id,
        roles: ctx.user.roles,
    }
}

/// Longest approval comment or send-back reason, in characters.
const MAX_COMMENT: usize = 2000;

/// The approval part of a request's page.
#[derive(Debug, Default)]
pub struct ApprovalPanel {
    /// The current round's steps, in order.
    pub steps: Vec<StepRow>,
    /// The viewer submits this request (the button shows).
    pub show_submit: bool,
    /// Why the button cannot be used yet; empty when it can.
    pub submit_blocked: String,
    /// The step the viewer may decide now.
    pub decide: Option<StepRow>,
    /// The approver the viewer stands in for on that step.
    pub on_behalf_of: Option<String>,
    pub comment_text: String,
    pub comment_error: String,
    pub send_back_text: String,
    pub send_back_error: String,
    pub may_process: bool,
    pub process_note: String,
    pub process_error: String,
}

impl ApprovalPanel {
    pub fn decide_id(&self) -> i64 {
        self.decide.as_ref().map(|s| s.id).unwrap_or(0)
    }

    pub fn decide_name(&self) -> &str {
        self.decide.as_ref().map(|s| s.name.as_str()).unwrap_or("")
    }
}

/// What the viewer may do about the chain on `r`, and where it stands.
pub async fn panel(
    conn: &mut PgConnection,
    viewer: Who,
    r: &RequestRow,
    today: chrono::NaiveDate,
) -> AppResult<ApprovalPanel> {
    let steps = if r.approval_round > 0 {
        db::round(conn, r.id, r.approval_round).await?
    } else {
        Vec::new()
    };
    let facts = r.facts();
    let show_submit = is_submitter(viewer, facts)
        && matches!(
            facts.state,
            RequestState::Draft | RequestState::WithRetention | RequestState::ChangesRequested
        );
    let submit_blocked = match rules::may_submit(viewer, submit_facts(r)) {
        Ok(()) => String::new(),
        Err(refusal) => refusal.0.to_string(),
    };
    let mut decide = None;
    let mut on_behalf_of = None;
    if let Some(pending) = steps.iter().find(|s| s.is_current()) {
        let subs = db::substituting_for(conn, viewer.id, today).await?;
        if let Ok(behalf) = rules::may_decide(
            viewer,
            super::routing::decide_facts(r, pending, &steps, viewer.id),
            &subs,
        ) {
            decide = Some(pending.clone());
            on_behalf_of = behalf.and(pending.approver_name.clone());
        }
    }
    Ok(ApprovalPanel {
        steps,
        show_submit,
        submit_blocked,
        decide,
        on_behalf_of,
        may_process: rules::may_process(viewer, r.state, r.processed_at.is_some()).is_ok(),
        ..Default::default()
    })
}

fn submit_facts(r: &RequestRow) -> SubmitFacts {
    SubmitFacts {
        facts: r.facts(),
        kind: r.kind,
        has_signed_document: r.attachment_count > 0,
        call_recorded: r.call_recorded,
    }
}

/// Saves `message` for the next page and sends the person back to the request.
async fn done(
    tx: sqlx::Transaction<'_, sqlx::Postgres>,
    ctx: &Ctx,
    request_id: i64,
    message: &str,
) -> AppResult<Response> {
    crate::web::ctx::commit_and_go(tx, ctx, &format!("/requests/{request_id}"), message).await
}

/// The request's facts as approval emails list them.
fn request_facts(r: &RequestRow) -> Vec<(&'static str, String)> {
    let mut facts = vec![
        ("Client", r.client_name.clone()),
        ("Request", r.kind_label().to_string()),
        ("Effective date", r.effective()),
    ];
    if r.kind == Kind::Addendum {
        facts.push((
            "Monthly budget",
            format!("{} → {}", r.current_budget(), r.new_budget()),
        ));
    }
    if let Some(why) = &r.credit_reason {
        facts.push(("Credit", format!("{}: {why}", r.credit())));
    }
    facts
}

/// Tells a step's approver (and anyone standing in for them) that it is their turn.
pub(super) async fn announce_step(
    conn: &mut PgConnection,
    state: &AppState,
    r: &RequestRow,
    name: &str,
    approver: rules::Approver,
) -> AppResult<()> {
    let to = db::step_recipients(conn, approver, state.clock.today()).await?;
    if to.is_empty() {
        return Ok(());
    }
    let mut facts = request_facts(r);
    facts.push(("Step", name.to_string()));
    let email = emails::notice(
        &state.config.base_url,
        emails::Notice {
            kind: "change_request.approval_needed",
            to,
            subject: format!(
                "{}: your approval is needed ({})",
                r.client_name,
                r.kind_label().to_lowercase()
            ),
            intro: "A change request has reached your step of the approval chain. Read it, then approve it or send it back on its page.",
            facts,
            path: format!("/requests/{}", r.id),
            link_label: "Open the request to decide",
            related: Some(("change_request", r.id.to_string())),
        },
    )?;
    outbox::enqueue(conn, &state.config.mail, &email).await?;
    Ok(())
}

/// Step `step_id` of `r` has just become pending: routed if nobody may decide it, then
/// announced to whoever may. Returns what the person acting should be told beyond the usual.
pub(super) async fn turn_of(
    conn: &mut PgConnection,
    state: &AppState,
    actor: &Actor,
    r: &RequestRow,
    step_id: i64,
) -> AppResult<Option<String>> {
    let reached = super::routing::reach(
        conn,
        &state.config,
        actor,
        state.clock.today(),
        r.id,
        step_id,
    )
    .await?;
    let step = db::step(conn, step_id).await?.ok_or(AppError::NotFound)?;
    Ok(match reached {
        super::routing::Reached::Flagged(_) => Some(format!(
            "Nobody can decide “{}” as the chain stands, so the admin is asked to hand it on.",
            step.name
        )),
        super::routing::Reached::Rerouted { to_name, .. } => {
            announce_step(conn, state, r, &step.name, step.approver()).await?;
            Some(format!(
                "“{}” went back to {to_name}: a substitute stands in for one person, not two.",
                step.name
            ))
        }
        super::routing::Reached::Decidable(_) => {
            announce_step(conn, state, r, &step.name, step.approver()).await?;
            None
        }
    })
}

pub(super) async fn submit(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let r = requests::lock(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if let Err(refusal) = rules::may_submit(who(&ctx), submit_facts(&r)) {
        return done(tx, &ctx, id, &format!("Nothing was submitted. {refusal}")).await;
    }
    let chain = db::config_chain(&mut tx).await?;
    let planned = match rules::plan(&chain, r.credit_cents.is_some()) {
        Ok(p) => p,
        Err(refusal) => {
            return done(tx, &ctx, id, &format!("Nothing was submitted. {refusal}")).await;
        }
    };
    let round = r.approval_round + 1;
    requests::transition(&mut tx, id, r.state, RequestState::InApproval).await?;
    sqlx::query(
        "UPDATE change_requests SET submitted_by = $2, submitted_at = now(), approval_round = $3
          WHERE id = $1",
    )
    .bind(id)
    .bind(ctx.user.id)
    .bind(round)
    .execute(&mut *tx)
    .await?;
    let (pending, reached) = db::insert_round(&mut tx, id, round, &planned).await?;
    super::nudges::schedule(
        &mut tx,
        pending,
        reached,
        state.config.approval_nudge_days,
        1,
        state.clock.zone(),
    )
    .await?;
    audit::record(
        &mut tx,
        &Actor::from_ctx(&ctx),
        "change_request.submitted",
        "change_request",
        Some(id.to_string()),
        json!({
            "round": round,
            "from": r.state,
            "chain": planned.iter().map(|p| json!({"step": p.name, "state": p.state.key()})).collect::<Vec<_>>(),
        }),
    )
    .await?;
    let first = planned
        .iter()
        .find(|p| p.state == StepState::Pending)
        .expect("a plan has a pending step");
    let message = match turn_of(&mut tx, &state, &Actor::from_ctx(&ctx), &r, pending).await? {
        None => format!("Submitted for approval: {} decides first.", first.name),
        Some(note) => format!("Submitted for approval. {note}"),
    };
    done(tx, &ctx, id, &message).await
}

#[derive(Debug, Deserialize)]
pub(super) struct DecisionForm {
    #[serde(default)]
    comment: String,
}

/// Why a decision on `step` changed nothing, in the words of what happened.
fn no_longer(step: &StepRow, r: &RequestRow, refusal: Refusal) -> String {
    match step.state {
        StepState::Approved | StepState::SentBack => format!(
            "Nothing changed: {} was already {} by {} at {}.",
            step.name,
            if step.state == StepState::Approved {
                "approved"
            } else {
                "sent back"
            },
            step.decider(),
            step.decided()
        ),
        StepState::Cancelled => {
            format!(
                "Nothing changed: this round of approval ended; the request is {}.",
                r.state_label().to_lowercase()
            )
        }
        _ => format!("Nothing changed. {refusal}"),
    }
}

/// The request and the step, locked in that order (every decision on a request queues behind
/// the one before), and whether `ctx` may decide it.
async fn load_decision(
    tx: &mut PgConnection,
    ctx: &Ctx,
    step_id: i64,
    today: chrono::NaiveDate,
) -> AppResult<(RequestRow, StepRow, Result<Option<i64>, String>)> {
    let request_id = db::request_of(tx, step_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let r = requests::lock(tx, request_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let step = db::step(tx, step_id).await?.ok_or(AppError::NotFound)?;
    let round = db::round(tx, request_id, step.round).await?;
    let subs = db::substituting_for(tx, ctx.user.id, today).await?;
    let allowed = rules::may_decide(
        who(ctx),
        super::routing::decide_facts(&r, &step, &round, ctx.user.id),
        &subs,
    )
    .map_err(|refusal| no_longer(&step, &r, refusal));
    Ok((r, step, allowed))
}

fn check_comment(text: &str, required: bool) -> Result<String, String> {
    if required {
        crate::web::text::required(
            text,
            MAX_COMMENT,
            "Say why it goes back: the submitter reads this to fix the request.",
        )
    } else {
        crate::web::text::paragraph(text, MAX_COMMENT)
    }
}

/// A decision that may go ahead: its transaction (the request locked), the step, on whose
/// behalf, and the comment or reason as checked.
struct Decision<'c> {
    tx: sqlx::Transaction<'c, sqlx::Postgres>,
    r: RequestRow,
    step: StepRow,
    on_behalf_of: Option<i64>,
    text: String,
}

/// Checks the text and the decision; a refusal or a text to fix comes back as the response.
async fn begin_decision(
    state: &AppState,
    ctx: &Ctx,
    step_id: i64,
    text: String,
    sending_back: bool,
) -> AppResult<Result<Decision<'static>, Response>> {
    let mut tx = state.db.begin().await?;
    let (r, step, allowed) = load_decision(&mut tx, ctx, step_id, state.clock.today()).await?;
    let on_behalf_of = match allowed {
        Ok(b) => b,
        Err(message) => return Ok(Err(done(tx, ctx, r.id, &message).await?)),
    };
    match check_comment(&text, sending_back) {
        Ok(checked) => Ok(Ok(Decision {
            tx,
            r,
            step,
            on_behalf_of,
            text: checked,
        })),
        Err(message) => {
            drop(tx);
            let mut page = crate::change_requests::show_page(state, ctx, r.id).await?;
            if sending_back {
                page.approval.send_back_text = text;
                page.approval.send_back_error = message;
            } else {
                page.approval.comment_text = text;
                page.approval.comment_error = message;
            }
            Ok(Err((StatusCode::UNPROCESSABLE_ENTITY, page).into_response()))
        }
    }
}

pub(super) async fn approve(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(step_id): Path<i64>,
    Form(form): Form<DecisionForm>,
) -> AppResult<Response> {
    let Decision {
        mut tx,
        r,
        step,
        on_behalf_of,
        text: comment,
    } = match begin_decision(&state, &ctx, step_id, form.comment, false).await? {
        Ok(d) => d,
        Err(response) => return Ok(response),
    };
    sqlx::query(
        "UPDATE request_approvals
            SET state = 'approved', decided_by = $2, on_behalf_of = $3, decided_at = now(),
                comment = NULLIF($4, '')
          WHERE id = $1 AND state = 'pending'",
    )
    .bind(step_id)
    .bind(ctx.user.id)
    .bind(on_behalf_of)
    .bind(&comment)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        &Actor::from_ctx(&ctx),
        "change_request.step_approved",
        "change_request",
        Some(r.id.to_string()),
        json!({ "step": step.name, "round": step.round, "comment": comment, "on_behalf_of": on_behalf_of }),
    )
    .await?;
    let steps = db::round(&mut tx, r.id, step.round).await?;
    let states: Vec<StepState> = steps.iter().map(|s| s.state).collect();
    let index = steps
        .iter()
        .position(|s| s.id == step_id)
        .expect("the step is in its round");
    let message = match rules::after_approval(&states, index) {
        AfterApproval::Next(i) => {
            let next = &steps[i];
            let reached: chrono::DateTime<Utc> = sqlx::query_scalar(
                "UPDATE request_approvals SET state = 'pending', reached_at = now() WHERE id = $1
                 RETURNING reached_at",
            )
            .bind(next.id)
            .fetch_one(&mut *tx)
            .await?;
            super::nudges::schedule(
                &mut tx,
                next.id,
                reached,
                state.config.approval_nudge_days,
                1,
                state.clock.zone(),
            )
            .await?;
            match turn_of(&mut tx, &state, &Actor::from_ctx(&ctx), &r, next.id).await? {
                None => format!("Approved. {} decides next.", next.name),
                Some(note) => format!("Approved. {note}"),
            }
        }
        AfterApproval::Approved => {
            approved(&mut tx, &state, &ctx, &r).await?;
            "Approved: that was the last step. The request is approved; Accounting and the distribution list are told.".to_string()
        }
    };
    done(tx, &ctx, r.id, &message).await
}

/// The last step approved: in the same transaction the request is approved, its change task
/// made, Accounting asked to process it, and the distribution list and the submitter told.
async fn approved(
    conn: &mut PgConnection,
    state: &AppState,
    ctx: &Ctx,
    r: &RequestRow,
) -> AppResult<()> {
    requests::transition(conn, r.id, RequestState::InApproval, RequestState::Approved).await?;
    sqlx::query("UPDATE change_requests SET approved_at = now() WHERE id = $1")
        .bind(r.id)
        .execute(&mut *conn)
        .await?;
    let task: i64 =
        sqlx::query_scalar("INSERT INTO change_tasks (change_request_id) VALUES ($1) RETURNING id")
            .bind(r.id)
            .fetch_one(&mut *conn)
            .await?;
    crate::checklists::create(conn, r, state.clock.zone()).await?;
    if r.reverses_id.is_some() {
        crate::operations::reinstate::apply(conn, &state.config, &Actor::from_ctx(ctx), r).await?;
    }
    audit::record(
        conn,
        &Actor::from_ctx(ctx),
        "change_request.approved",
        "change_request",
        Some(r.id.to_string()),
        json!({ "round": r.approval_round, "change_task_id": task }),
    )
    .await?;
    let mut facts = request_facts(r);
    if !r.product_notes.is_empty() {
        facts.push(("Product change notes", r.product_notes.clone()));
    }
    let list = recipients::distribution_list(conn).await?;
    if !list.is_empty() {
        let email = emails::notice(
            &state.config.base_url,
            emails::Notice {
                kind: "change_request.approved",
                to: list,
                subject: match r.reverses_id {
                    Some(original) => {
                        format!("{}: reinstated (request #{original} undone)", r.client_name)
                    }
                    None => format!(
                        "{}: {} approved",
                        r.client_name,
                        r.kind_label().to_lowercase()
                    ),
                },
                intro: "A change request is approved. Its change task holds everything Operations needs.",
                facts: facts.clone(),
                path: format!("/tasks/{task}"),
                link_label: "Open the change task",
                related: Some(("change_request", r.id.to_string())),
            },
        )?;
        outbox::enqueue(conn, &state.config.mail, &email).await?;
    }
    let accounting = recipients::holders_of(conn, Role::Accounting).await?;
    if !accounting.is_empty() {
        let email = emails::notice(
            &state.config.base_url,
            emails::Notice {
                kind: "change_request.to_process",
                to: accounting,
                subject: format!("{}: approved, to process", r.client_name),
                intro: "An approved change request is waiting for Accounting to process it.",
                facts: facts.clone(),
                path: format!("/requests/{}", r.id),
                link_label: "Open the request",
                related: Some(("change_request", r.id.to_string())),
            },
        )?;
        outbox::enqueue(conn, &state.config.mail, &email).await?;
    }
    // Whoever submitted it, and the client's account manager when Retention submitted it.
    let mut to = Vec::new();
    for person in [r.submitted_by, r.client_account_manager_id]
        .into_iter()
        .flatten()
    {
        if let Some(address) = recipients::user(conn, person).await?
            && !to.contains(&address)
        {
            to.push(address);
        }
    }
    if !to.is_empty() {
        let email = emails::notice(
            &state.config.base_url,
            emails::Notice {
                kind: "change_request.approved_submitter",
                to,
                subject: format!("{}: the change request is approved", r.client_name),
                intro: "The change request has passed every approval step.",
                facts,
                path: format!("/requests/{}", r.id),
                link_label: "Open the request",
                related: Some(("change_request", r.id.to_string())),
            },
        )?;
        outbox::enqueue(conn, &state.config.mail, &email).await?;
    }
    Ok(())
}

pub(super) async fn send_back(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(step_id): Path<i64>,
    Form(form): Form<DecisionForm>,
) -> AppResult<Response> {
    let Decision {
        mut tx,
        r,
        step,
        on_behalf_of,
        text: reason,
    } = match begin_decision(&state, &ctx, step_id, form.comment, true).await? {
        Ok(d) => d,
        Err(response) => return Ok(response),
    };
    sqlx::query(
        "UPDATE request_approvals
            SET state = 'sent_back', decided_by = $2, on_behalf_of = $3, decided_at = now(),
                comment = $4
          WHERE id = $1 AND state = 'pending'",
    )
    .bind(step_id)
    .bind(ctx.user.id)
    .bind(on_behalf_of)
    .bind(&reason)
    .execute(&mut *tx)
    .await?;
    db::cancel_round(&mut tx, r.id, step.round).await?;
    requests::transition(
        &mut tx,
        r.id,
        RequestState::InApproval,
        RequestState::ChangesRequested,
    )
    .await?;
    audit::record(
        &mut tx,
        &Actor::from_ctx(&ctx),
        "change_request.sent_back",
        "change_request",
        Some(r.id.to_string()),
        json!({ "step": step.name, "round": step.round, "reason": reason, "on_behalf_of": on_behalf_of }),
    )
    .await?;
    // Everyone who may submit it again (the whole Retention Team once Retention is involved,
    // otherwise the client's account manager), whoever submitted it, and the account manager.
    let mut to = if r.has_save_attempt {
        recipients::holders_of(&mut tx, Role::Retention).await?
    } else {
        Vec::new()
    };
    for person in [r.submitted_by, r.client_account_manager_id]
        .into_iter()
        .flatten()
    {
        if let Some(address) = recipients::user(&mut tx, person).await?
            && !to.contains(&address)
        {
            to.push(address);
        }
    }
    if to.is_empty() {
        // Nobody who may fix it can be told (they were disabled meanwhile): the request waits
        // on the admin's desk, and the admins are told instead.
        to = recipients::holders_of(&mut tx, Role::Admin).await?;
    }
    if !to.is_empty() {
        let mut facts = request_facts(&r);
        facts.push(("Sent back by", ctx.user.display_name.clone()));
        facts.push(("Reason", reason.clone()));
        let email = emails::notice(
            &state.config.base_url,
            emails::Notice {
                kind: "change_request.sent_back",
                to,
                subject: format!("{}: sent back by {}", r.client_name, ctx.user.display_name),
                intro: if r.has_save_attempt {
                    "An approver sent the change request back. The Retention Team edits it as the reason asks, then submits it again; the approval chain starts over."
                } else {
                    "An approver sent the change request back. Edit it as the reason asks, then submit it again; the approval chain starts over."
                },
                facts,
                path: format!("/requests/{}", r.id),
                link_label: "Open the request",
                related: Some(("change_request", r.id.to_string())),
            },
        )?;
        outbox::enqueue(&mut tx, &state.config.mail, &email).await?;
    }
    done(
        tx,
        &ctx,
        r.id,
        "Sent back: the submitter is told why and can submit again.",
    )
    .await
}

/// A request withdrawn while the approvers had it: the round ends and the approver whose turn
/// it was is told. Runs inside the withdrawal's own transaction.
pub async fn withdrawn_in_approval(
    conn: &mut PgConnection,
    state: &AppState,
    r: &RequestRow,
    reason: &str,
) -> AppResult<()> {
    let Some(pending) = db::cancel_round(conn, r.id, r.approval_round).await? else {
        return Ok(());
    };
    let to = db::step_recipients(conn, pending.approver(), state.clock.today()).await?;
    if to.is_empty() {
        return Ok(());
    }
    let mut facts = request_facts(r);
    facts.push(("Reason", reason.to_string()));
    let email = emails::notice(
        &state.config.base_url,
        emails::Notice {
            kind: "change_request.withdrawn",
            to,
            subject: format!("{}: withdrawn, no decision needed", r.client_name),
            intro: "A change request waiting for your approval was withdrawn. Nothing is needed from you.",
            facts,
            path: format!("/requests/{}", r.id),
            link_label: "Open the request",
            related: Some(("change_request", r.id.to_string())),
        },
    )?;
    outbox::enqueue(conn, &state.config.mail, &email).await?;
    Ok(())
}

#[derive(Debug, Deserialize)]
pub(super) struct ProcessForm {
    #[serde(default)]
    note: String,
}

pub(super) async fn process(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<ProcessForm>,
) -> AppResult<Response> {
    let note = match check_comment(&form.note, false) {
        Ok(n) => n,
        Err(message) => {
            let mut page = crate::change_requests::show_page(&state, &ctx, id).await?;
            page.approval.process_note = form.note;
            page.approval.process_error = message;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let mut tx = state.db.begin().await?;
    let r = requests::lock(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if let Err(refusal) = rules::may_process(who(&ctx), r.state, r.processed_at.is_some()) {
        let message = match (&r.processed_by_name, r.processed_at) {
            (Some(by), Some(at)) => format!(
                "Nothing changed: {by} already marked it processed at {}.",
                crate::time::local(at)
            ),
            _ => format!("Nothing changed. {refusal}"),
        };
        return done(tx, &ctx, id, &message).await;
    }
    sqlx::query(
        "UPDATE change_requests
            SET processed_by = $2, processed_at = now(), processed_note = NULLIF($3, '')
          WHERE id = $1",
    )
    .bind(id)
    .bind(ctx.user.id)
    .bind(&note)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        &Actor::from_ctx(&ctx),
        "change_request.processed",
        "change_request",
        Some(id.to_string()),
        json!({ "note": note }),
    )
    .await?;
    let completed =
        crate::operations::complete_if_ready(&mut tx, &Actor::from_ctx(&ctx), id).await?;
    done(
        tx,
        &ctx,
        id,
        if completed {
            "Marked processed. Everything else was done: the request is completed."
        } else {
            "Marked processed."
        },
    )
    .await
}
