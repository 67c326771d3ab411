//! The chain's HTTP handlers: submit, approve, send back, process. Each reads the form, locks
//! the request in a transaction, calls `chain`, and answers with the request's page (a text to
//! fix, beside its field) or a redirect to it with what happened.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::Form;
use serde::Deserialize;
use sqlx::PgConnection;

use super::chain;
use super::db::{self, StepRow};
use super::rules::{self, StepState};
use crate::change_requests::db::{self as requests, RequestRow};
use crate::change_requests::rules::Refusal;
use crate::web::AppState;
use crate::web::ctx::{Ctx, commit_and_go};
use crate::web::error::{AppError, AppResult};

/// Longest approval comment, send-back reason or processing note, in characters.
const MAX_COMMENT: usize = 2000;

use crate::web::ctx::Tx;

/// Commits `tx`, keeps `message` for the next page and sends the person back to the request.
async fn back_to_request(tx: Tx, request_id: i64, message: &str) -> AppResult<Response> {
    commit_and_go(tx, &format!("/requests/{request_id}"), message).await
}

#[tracing::instrument(level = "debug", skip_all, fields(request = id))]
pub(super) async fn submit(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let request = requests::lock(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let message = chain::submit(&mut tx, &state, &ctx, &request).await?;
    back_to_request(tx, id, &message).await
}

#[derive(Debug, Deserialize)]
pub(super) struct DecisionForm {
    #[serde(default)]
    comment: String,
}

#[tracing::instrument(level = "debug", skip_all, fields(step = step_id))]
pub(super) async fn approve(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(step_id): Path<i64>,
    Form(form): Form<DecisionForm>,
) -> AppResult<Response> {
    decide(&state, &ctx, step_id, form.comment, StepState::Approved).await
}

#[tracing::instrument(level = "debug", skip_all, fields(step = step_id))]
pub(super) async fn send_back(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(step_id): Path<i64>,
    Form(form): Form<DecisionForm>,
) -> AppResult<Response> {
    decide(&state, &ctx, step_id, form.comment, StepState::SentBack).await
}

/// Approves or sends back step `step_id` with `text` (the comment, or the reason it goes back).
async fn decide(
    state: &AppState,
    ctx: &Ctx,
    step_id: i64,
    text: String,
    decision: StepState,
) -> AppResult<Response> {
    let sending_back = decision == StepState::SentBack;
    let mut d = match begin_decision(state, ctx, step_id, text, sending_back).await? {
        Ok(d) => d,
        Err(response) => return Ok(response),
    };
    let (tx, request, step) = (&mut d.tx, &d.request, &d.step);
    let message = if sending_back {
        chain::send_back(tx, state, ctx, request, step, d.on_behalf_of, &d.text).await?
    } else {
        let approval = chain::Approval {
            step,
            round: std::mem::take(&mut d.round),
            on_behalf_of: d.on_behalf_of,
            comment: &d.text,
        };
        chain::approve(tx, state, ctx, request, approval).await?
    };
    back_to_request(d.tx, d.request.id, &message).await
}

/// A decision that may go ahead: its transaction (the request locked), the step, on whose
/// behalf, and the comment or reason as checked.
struct Decision {
    tx: Tx,
    request: RequestRow,
    step: StepRow,
    /// The step's round as it was read for the decision.
    round: Vec<StepRow>,
    on_behalf_of: Option<i64>,
    text: String,
}

/// Checks the decision and its text. A decision no longer possible commits nothing and says
/// why; a text to fix comes back on the request's page, beside its field, as typed.
async fn begin_decision(
    state: &AppState,
    ctx: &Ctx,
    step_id: i64,
    text: String,
    sending_back: bool,
) -> AppResult<Result<Decision, Response>> {
    let mut tx = state.db.begin().await?;
    let (request, step, round, allowed) =
        load_decision(&mut tx, ctx, step_id, state.clock.today()).await?;
    let on_behalf_of = match allowed {
        Ok(b) => b,
        Err(message) => return Ok(Err(back_to_request(tx, request.id, &message).await?)),
    };
    match check_comment(&text, sending_back) {
        Ok(checked) => Ok(Ok(Decision {
            tx,
            request,
            step,
            round,
            on_behalf_of,
            text: checked,
        })),
        Err(message) => {
            drop(tx);
            let mut page = crate::change_requests::views::show_page(state, ctx, request.id).await?;
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

/// The request and the step, locked in that order (every decision on a request queues behind
/// the one before), and whether `ctx` may decide it: on whose behalf, or why not.
async fn load_decision(
    tx: &mut PgConnection,
    ctx: &Ctx,
    step_id: i64,
    today: chrono::NaiveDate,
) -> AppResult<(
    RequestRow,
    StepRow,
    Vec<StepRow>,
    Result<Option<i64>, String>,
)> {
    let (request, step) = db::locked(tx, step_id).await?.ok_or(AppError::NotFound)?;
    let round = db::round(tx, request.id, step.round).await?;
    let subs = db::substituting_for(tx, ctx.user.id, today).await?;
    let facts = super::routing::decide_facts(&request, &step, &round, ctx.user.id);
    let allowed = rules::may_decide(ctx.who(), facts, &subs)
        .map_err(|refusal| no_longer(&step, &request, refusal));
    Ok((request, step, round, allowed))
}

/// Why a decision on `step` changed nothing, in the words of what happened.
fn no_longer(step: &StepRow, request: &RequestRow, refusal: Refusal) -> String {
    match step.state {
        StepState::Approved | StepState::SentBack => format!(
            "Nothing changed: {} was already {} by {} ({}).",
            step.name,
            if step.state == StepState::Approved {
                "approved"
            } else {
                "sent back"
            },
            step.decider(),
            step.decided()
        ),
        StepState::Cancelled => format!(
            "Nothing changed: this round of approval ended; the request is {}.",
            request.state_label().to_lowercase()
        ),
        _ => format!("Nothing changed. {refusal}"),
    }
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

#[derive(Debug, Deserialize)]
pub(super) struct ProcessForm {
    #[serde(default)]
    note: String,
}

#[tracing::instrument(level = "debug", skip_all, fields(request = id))]
pub(super) async fn process(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<ProcessForm>,
) -> AppResult<Response> {
    let note = match check_comment(&form.note, false) {
        Ok(n) => n,
        Err(message) => {
            let mut page = crate::change_requests::views::show_page(&state, &ctx, id).await?;
            page.approval.process_note = form.note;
            page.approval.process_error = message;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let mut tx = state.db.begin().await?;
    let request = requests::lock(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let message = chain::process(&mut tx, &ctx, &request, &note).await?;
    back_to_request(tx, id, &message).await
}
