//! Retention's handler: record (or correct) the call.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::Form;
use serde_json::json;

use super::db::{self, SaveAttempt};
use super::form::{self, OutcomeForm};
use super::notify;
use crate::audit::{self, Actor};
use crate::change_requests::db as requests;
use crate::change_requests::rules;
use crate::web::AppState;
use crate::web::ctx::{Ctx, commit_and_go};
use crate::web::error::{AppError, AppResult};
use crate::web::fields::FieldErrors;

/// Retention records (or corrects) the call: the outcome is applied to the request in the same
/// transaction, and the account manager is told.
#[tracing::instrument(level = "debug", skip_all, fields(request = id))]
pub(super) async fn record(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(input): Form<OutcomeForm>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let request = requests::lock(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let attempt = db::find(&mut tx, id).await?;
    let back = format!("/requests/{id}");
    let who = ctx.who();
    // A call already recorded is being corrected: the timeline keeps both.
    let previous = attempt.as_ref().and_then(|a| a.outcome);
    if let Err(refusal) = rules::may_record_outcome(who, request.facts()) {
        return commit_and_go(tx, &back, &format!("Nothing changed. {refusal}")).await;
    }
    // A second click, or a tab opened before someone else recorded the call, must not
    // overwrite what they recorded: only a correction of what the form showed goes ahead.
    if input.recorded.trim() != previous.map(rules::Outcome::key).unwrap_or("") {
        let message = recorded_meanwhile(&attempt.expect("an outcome was recorded"));
        return commit_and_go(tx, &back, &message).await;
    }
    let parsed = match form::parse(&input, state.clock.today(), &request) {
        Ok(parsed) => parsed,
        Err(errors) => {
            drop(tx);
            return again(&state, &ctx, id, input, errors).await;
        }
    };
    db::record_call(&mut tx, id, &parsed, ctx.user.id).await?;
    let after = super::outcome::apply_outcome(&mut tx, &request, &parsed).await?;
    let details = json!({
        "outcome": parsed.outcome,
        "corrected_from": previous,
        "from_kind": request.kind,
        "to_kind": after.kind,
        "state": after.state,
        "call_date": parsed.call_date,
    });
    let actor = Actor::from_ctx(&ctx);
    // A link waiting for a signature is for the terms it was sent with (or, withdrawn, for
    // nothing).
    let now = state.clock.now();
    let voided = if after.state.is_editable() {
        crate::signing::flow::void_if_terms_changed(&mut tx, &state.config, &after, &actor, now)
            .await?
    } else {
        let why = "the request was withdrawn";
        crate::signing::flow::void_and_tell(&mut tx, &state.config, &after, why, &actor, now)
            .await?
            .map(|_| "Its signature request is voided and the signer told so.".to_string())
    };
    audit::on_request(
        &mut tx,
        &actor,
        "change_request.retention_outcome",
        id,
        details,
    )
    .await?;
    let corrected = previous.is_some();
    notify::outcome_recorded(&mut tx, &state.config, &after, parsed.outcome, corrected).await?;
    let verb = if corrected { "corrected" } else { "recorded" };
    let mut message = format!("Retention call {verb}: {}.", parsed.outcome.label());
    if let Some(voided) = voided {
        message.push(' ');
        message.push_str(&voided);
    }
    commit_and_go(tx, &back, &message).await
}

/// Someone recorded the call after the form was opened: say who and what.
fn recorded_meanwhile(attempt: &SaveAttempt) -> String {
    format!(
        "Nothing changed: {} recorded the call meanwhile ({}). Correct it below if it needs it.",
        attempt.recorder(),
        attempt.outcome_label()
    )
}

/// The request's page again, the call's form as typed with what needs another look.
async fn again(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    input: OutcomeForm,
    errors: FieldErrors,
) -> AppResult<Response> {
    let mut page = crate::change_requests::views::show_page(state, ctx, id).await?;
    page.retention.form = input;
    page.retention.errors = errors;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}
