//! What happens on the chain, each a step of the caller's transaction with its audit record
//! and emails: a round starts, a step is reached, approved or sent back, the last approval
//! approves the request, a withdrawal ends the round, Accounting processes. Each returns the
//! sentence the person acting reads next.

use serde_json::json;
use sqlx::PgConnection;

use super::db::{self, StepRow};
use super::notify;
use super::routing::{self, Reached};
use super::rules::{self, AfterApproval, Approver, StepState, SubmitFacts};
use crate::audit::{self, Actor};
use crate::change_requests::db::{self as requests, RequestRow};
use crate::change_requests::rules::State as RequestState;
use crate::web::AppState;
use crate::web::ctx::Ctx;
use crate::web::error::{AppError, AppResult};

pub(super) fn submit_facts(request: &RequestRow) -> SubmitFacts {
    SubmitFacts {
        facts: request.facts(),
        kind: request.kind,
        has_signed_document: request.attachment_count > 0,
        call_recorded: request.call_recorded,
    }
}

/// Submits `r` (locked): a new round of the chain as configured now, its first step reached.
#[tracing::instrument(level = "debug", skip_all, fields(request = request.id))]
pub(super) async fn submit(
    conn: &mut PgConnection,
    state: &AppState,
    ctx: &Ctx,
    request: &RequestRow,
) -> AppResult<String> {
    if let Err(refusal) = rules::may_submit(ctx.who(), submit_facts(request)) {
        return Ok(format!("Nothing was submitted. {refusal}"));
    }
    let chain = db::config_chain(conn).await?;
    let planned = match rules::plan(&chain, request.credit_cents.is_some()) {
        Ok(p) => p,
        Err(refusal) => return Ok(format!("Nothing was submitted. {refusal}")),
    };
    let round = request.approval_round + 1;
    requests::transition(conn, request.id, request.state, RequestState::InApproval).await?;
    db::mark_submitted(conn, request.id, ctx.user.id, round).await?;
    let (pending, reached) = db::insert_round(conn, request.id, round, &planned).await?;
    let config = &state.config;
    super::nudges::schedule(
        conn,
        pending,
        reached,
        config.approval_nudge_days,
        1,
        state.clock.zone(),
    )
    .await?;
    let actor = Actor::from_ctx(ctx);
    // Submitted with a document signed elsewhere: a link still waiting is no longer needed.
    let voided = crate::signing::flow::void_and_tell(
        conn,
        &state.config,
        request,
        "the request was submitted with a document signed elsewhere",
        &actor,
        state.clock.now(),
    )
    .await?;
    let chain_json: Vec<_> = planned
        .iter()
        .map(|p| json!({"step": p.name, "state": p.state}))
        .collect();
    let details = json!({ "round": round, "from": request.state, "chain": chain_json });
    audit::on_request(
        conn,
        &actor,
        "change_request.submitted",
        request.id,
        details,
    )
    .await?;
    let first = planned
        .iter()
        .find(|p| p.state == StepState::Pending)
        .expect("a plan has a pending step");
    // The request as submitted (its state, round and submitter), for whoever decides first.
    let submitted = requests::find(conn, request.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut message = match turn_of(conn, state, &actor, &submitted, pending).await? {
        None => format!("Submitted for approval: {} decides first.", first.name),
        Some(note) => format!("Submitted for approval. {note}"),
    };
    if let Some(v) = voided {
        message.push_str(&format!(
            " The link waiting for {}'s signature is voided (they are told so): the attached document is the one submitted.",
            v.signer_name
        ));
    }
    Ok(message)
}

/// Step `step_id` of `request` (as it stands in this transaction) has just become pending:
/// routed if nobody may decide it, then announced to whoever may. Returns what the person
/// acting should be told beyond the usual.
#[tracing::instrument(level = "debug", skip_all, fields(request = request.id, step = step_id))]
pub(super) async fn turn_of(
    conn: &mut PgConnection,
    state: &AppState,
    actor: &Actor,
    request: &RequestRow,
    step_id: i64,
) -> AppResult<Option<String>> {
    let today = state.clock.today();
    let reached = routing::reach_for(conn, &state.config, actor, today, request, step_id).await?;
    let step = db::step(conn, step_id).await?.ok_or(AppError::NotFound)?;
    let note = match reached {
        Reached::Flagged(_) => {
            return Ok(Some(format!(
                "Nobody can decide “{}” as the chain stands, so the admin is asked to hand it on.",
                step.name
            )));
        }
        Reached::Rerouted { to_name, .. } => Some(format!(
            "“{}” went back to {to_name}: a substitute stands in for one person, not two.",
            step.name
        )),
        Reached::Decidable(_) => None,
    };
    notify::approval_needed(
        conn,
        &state.config,
        today,
        request,
        &step.name,
        step.approver(),
    )
    .await?;
    Ok(note)
}

/// An approval to record: the step (locked), its round as read for the decision, on whose
/// behalf and the comment.
pub(super) struct Approval<'a> {
    pub step: &'a StepRow,
    pub round: Vec<StepRow>,
    pub on_behalf_of: Option<i64>,
    pub comment: &'a str,
}

/// Approves a step of `request` (locked, the decision allowed): the next step is reached, or,
/// after the last, the request is approved.
#[tracing::instrument(level = "debug", skip_all, fields(request = request.id, step = approval.step.id))]
pub(super) async fn approve(
    conn: &mut PgConnection,
    state: &AppState,
    ctx: &Ctx,
    request: &RequestRow,
    approval: Approval<'_>,
) -> AppResult<String> {
    let Approval {
        step,
        round: mut steps,
        on_behalf_of,
        comment,
    } = approval;
    let actor = Actor::from_ctx(ctx);
    let details = json!({ "step": step.name, "round": step.round, "comment": comment, "on_behalf_of": on_behalf_of });
    audit::on_request(
        conn,
        &actor,
        "change_request.step_approved",
        request.id,
        details,
    )
    .await?;
    // The round as decided: only this step changed (the request is locked).
    let index = steps
        .iter()
        .position(|s| s.id == step.id)
        .expect("the step is in its round");
    steps[index].state = StepState::Approved;
    steps[index].decided_by = Some(ctx.user.id);
    let states: Vec<StepState> = steps.iter().map(|s| s.state).collect();
    let by = ctx.user.id;
    Ok(match rules::after_approval(&states, index) {
        AfterApproval::Next(i) => {
            let next = &steps[i];
            // The decision and the next step's turn in one statement.
            let reached =
                db::approve_and_reach(conn, step.id, by, on_behalf_of, comment, next.id).await?;
            let Some(reached) = reached else {
                // The request is locked and the step was read pending: not to happen.
                let why = format!(
                    "step {} or {} moved while the request was locked",
                    step.id, next.id
                );
                return Err(AppError::Internal(anyhow::anyhow!(why)));
            };
            let days = state.config.approval_nudge_days;
            super::nudges::schedule(conn, next.id, reached, days, 1, state.clock.zone()).await?;
            match turn_of(conn, state, &actor, request, next.id).await? {
                // Who, when the step names someone (a role's step is named after it).
                None => match next.approver() {
                    Approver::User(_) => {
                        format!(
                            "Approved. {} decides next ({}).",
                            next.name,
                            next.approver_label()
                        )
                    }
                    _ => format!("Approved. {} decides next.", next.name),
                },
                Some(note) => format!("Approved. {note}"),
            }
        }
        AfterApproval::Approved => {
            db::decide(
                conn,
                step.id,
                StepState::Approved,
                by,
                on_behalf_of,
                comment,
            )
            .await?;
            approved(conn, state, &actor, request).await?;
            "Approved: that was the last step. The request is approved; Accounting and the distribution list are told.".to_string()
        }
    })
}

/// The last step approved: in the same transaction the request is approved, its change task
/// opened, its checklist made (or the reinstatement applied), and everyone told.
#[tracing::instrument(level = "debug", skip_all, fields(request = request.id))]
async fn approved(
    conn: &mut PgConnection,
    state: &AppState,
    actor: &Actor,
    request: &RequestRow,
) -> AppResult<()> {
    if request.reverses_id.is_some() {
        // A reinstatement changes its client below. Its client is locked before the request
        // leaves the open states: someone filing for the client meanwhile waits on the client
        // (migration 27) rather than on the request, which would wait on them in turn.
        crate::clients::db::lock_people(conn, request.client_id).await?;
    }
    requests::transition(
        conn,
        request.id,
        RequestState::InApproval,
        RequestState::Approved,
    )
    .await?;
    db::mark_approved(conn, request.id).await?;
    let task = crate::operations::db::open(conn, request.id).await?;
    crate::checklists::steps::create(conn, request, state.clock.zone()).await?;
    if request.reverses_id.is_some() {
        crate::operations::reinstate::apply(conn, &state.config, actor, request).await?;
    }
    let details = json!({ "round": request.approval_round, "change_task_id": task });
    audit::on_request(conn, actor, "change_request.approved", request.id, details).await?;
    notify::approved(conn, &state.config, request, task).await
}

/// Sends `r` back from `step` (both locked, the decision allowed): the round ends, the request
/// returns to whoever fixes it, and they are told why.
#[tracing::instrument(level = "debug", skip_all, fields(request = request.id, step = step.id))]
pub(super) async fn send_back(
    conn: &mut PgConnection,
    state: &AppState,
    ctx: &Ctx,
    request: &RequestRow,
    step: &StepRow,
    on_behalf_of: Option<i64>,
    reason: &str,
) -> AppResult<String> {
    db::decide(
        conn,
        step.id,
        StepState::SentBack,
        ctx.user.id,
        on_behalf_of,
        reason,
    )
    .await?;
    db::cancel_round(conn, request.id, step.round).await?;
    requests::transition(
        conn,
        request.id,
        RequestState::InApproval,
        RequestState::ChangesRequested,
    )
    .await?;
    let details = json!({ "step": step.name, "round": step.round, "reason": reason, "on_behalf_of": on_behalf_of });
    audit::on_request(
        conn,
        &Actor::from_ctx(ctx),
        "change_request.sent_back",
        request.id,
        details,
    )
    .await?;
    notify::sent_back(conn, &state.config, request, &ctx.user.display_name, reason).await?;
    Ok("Sent back: the submitter is told why and can submit again.".to_string())
}

/// A request withdrawn while the approvers had it: the round ends and the approver whose turn
/// it was is told. Runs inside the withdrawal's own transaction.
#[tracing::instrument(level = "debug", skip_all, fields(request = request.id))]
pub async fn withdrawn_in_approval(
    conn: &mut PgConnection,
    state: &AppState,
    request: &RequestRow,
    reason: &str,
) -> AppResult<()> {
    let Some(pending) = db::cancel_round(conn, request.id, request.approval_round).await? else {
        return Ok(());
    };
    let today = state.clock.today();
    notify::withdrawn(
        conn,
        &state.config,
        today,
        request,
        pending.approver(),
        reason,
    )
    .await
}

/// Accounting marks `r` (locked) processed; the request completes if nothing else waits.
#[tracing::instrument(level = "debug", skip_all, fields(request = request.id))]
pub(super) async fn process(
    conn: &mut PgConnection,
    ctx: &Ctx,
    request: &RequestRow,
    note: &str,
) -> AppResult<String> {
    if let Err(refusal) =
        rules::may_process(ctx.who(), request.state, request.processed_at.is_some())
    {
        return Ok(match (&request.processed_by_name, request.processed_at) {
            (Some(by), Some(at)) => format!(
                "Nothing changed: {by} already marked it processed ({}).",
                crate::time::local(at)
            ),
            _ => format!("Nothing changed. {refusal}"),
        });
    }
    db::mark_processed(conn, request.id, ctx.user.id, note).await?;
    let actor = Actor::from_ctx(ctx);
    audit::on_request(
        conn,
        &actor,
        "change_request.processed",
        request.id,
        json!({ "note": note }),
    )
    .await?;
    Ok(
        if crate::operations::completion::complete_if_ready(conn, &actor, request.id).await? {
            "Marked processed. Everything else was done: the request is completed.".to_string()
        } else {
            "Marked processed.".to_string()
        },
    )
}
