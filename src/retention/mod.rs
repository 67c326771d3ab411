//! The Retention Team's save attempt: record the call (date, what was offered, outcome, notes)
//! and apply its outcome to the request in the same transaction: withdraw it, convert it into a
//! pause or an addendum (remembering what it was), or let the cancellation go ahead.

pub mod db;
pub mod form;
mod notify;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::Form;
use chrono::NaiveDate;
use serde_json::json;
use sqlx::PgConnection;

use crate::audit::{self, Actor};
use crate::auth::access;
use crate::change_requests::db as requests;
use crate::change_requests::rules::{self, Effect, Kind, State as RequestState, Who};
use crate::web::ctx::{Ctx, commit_and_go};
use crate::web::error::{AppError, AppResult};
use crate::web::{AppState, Routes};
use form::OutcomeForm;

pub fn routes(r: Routes) -> Routes {
    r.post("/requests/{id}/save-attempt", access::AGENCY_STAFF, record)
}

/// A save attempt as the request's page shows it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SaveAttempt {
    pub call_date: Option<NaiveDate>,
    pub offered: String,
    pub outcome: Option<rules::Outcome>,
    pub notes: String,
    pub recorded_by: Option<String>,
}

impl SaveAttempt {
    pub fn outcome_label(&self) -> &'static str {
        self.outcome
            .map(rules::Outcome::label)
            .unwrap_or("Waiting for the retention call")
    }

    pub fn call(&self) -> String {
        self.call_date.map(crate::time::day).unwrap_or_default()
    }

    pub fn recorder(&self) -> &str {
        self.recorded_by.as_deref().unwrap_or("")
    }
}

/// The save attempt part of a request's page: the call as recorded, and the form that records
/// or corrects it.
#[derive(Debug)]
pub struct RetentionPanel {
    pub attempt: Option<SaveAttempt>,
    pub may_record: bool,
    pub outcomes: [rules::Outcome; 4],
    /// The form as typed (with its messages) when it needs another look; otherwise today's
    /// call and the request's terms, or, when correcting, what was recorded.
    pub form: OutcomeForm,
    /// The call is already recorded: the form corrects it.
    pub correcting: bool,
    pub errors: crate::web::fields::FieldErrors,
}

impl RetentionPanel {
    pub async fn load(
        conn: &mut PgConnection,
        r: &requests::RequestRow,
        viewer: Who,
        today: NaiveDate,
    ) -> sqlx::Result<Self> {
        let attempt = find(conn, r.id).await?;
        let recorded = attempt.as_ref().and_then(|a| a.outcome);
        let key = |o: Option<rules::Outcome>| o.map(|o| o.key().to_string()).unwrap_or_default();
        let form = OutcomeForm {
            call_date: attempt
                .as_ref()
                .and_then(|a| a.call_date)
                .unwrap_or(today)
                .to_string(),
            offered: attempt
                .as_ref()
                .map(|a| a.offered.clone())
                .unwrap_or_default(),
            outcome: key(recorded),
            notes: attempt
                .as_ref()
                .map(|a| a.notes.clone())
                .unwrap_or_default(),
            effective_date: r.effective_date.to_string(),
            resume_date: r.resume_date.map(|d| d.to_string()).unwrap_or_default(),
            // A cancellation has no budget of its own yet: the client's, as filing prefills.
            current_budget: crate::money::cents_for_input(
                r.current_budget_cents.unwrap_or(r.client_budget_cents),
            ),
            new_budget: r
                .new_budget_cents
                .map(crate::money::cents_for_input)
                .unwrap_or_default(),
            recorded: key(recorded),
        };
        Ok(RetentionPanel {
            may_record: rules::may_record_outcome(viewer, r.facts()).is_ok(),
            outcomes: rules::Outcome::ALL,
            form,
            correcting: recorded.is_some(),
            errors: Default::default(),
            attempt,
        })
    }

    pub fn outcome_is(&self, key: &str) -> bool {
        self.form.outcome == key
    }
}

pub use db::{find, open};

/// Retention records (or corrects) the call: the outcome is applied to the request in the same
/// transaction, and the account manager is told.
async fn record(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(input): Form<OutcomeForm>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let r = requests::lock(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let attempt = find(&mut tx, id).await?;
    let back = format!("/requests/{id}");
    let who = Who {
        id: ctx.user.id,
        roles: ctx.user.roles,
    };
    // A call already recorded is being corrected: the timeline keeps both.
    let previous = attempt.as_ref().and_then(|a| a.outcome);
    if let Err(refusal) = rules::may_record_outcome(who, r.facts()) {
        return commit_and_go(tx, &ctx, &back, &format!("Nothing changed. {refusal}")).await;
    }
    // A second click, or a tab opened before someone else recorded the call, must not
    // overwrite what they recorded: only a correction of what the form showed goes ahead.
    if input.recorded.trim() != previous.map(rules::Outcome::key).unwrap_or("") {
        let a = attempt.expect("an outcome was recorded");
        let message = format!(
            "Nothing changed: {} recorded the call meanwhile ({}). Correct it below if it needs it.",
            a.recorder(),
            a.outcome_label()
        );
        return commit_and_go(tx, &ctx, &back, &message).await;
    }
    let parsed = match form::parse(&input, state.clock.today(), &r) {
        Ok(p) => p,
        Err(errors) => {
            drop(tx);
            let mut page = crate::change_requests::show_page(&state, &ctx, id).await?;
            page.retention.form = input;
            page.retention.errors = errors;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    db::record_call(&mut tx, id, &parsed, ctx.user.id).await?;
    let after = apply_outcome(&mut tx, &r, &parsed).await?;
    let details = json!({
        "outcome": parsed.outcome,
        "corrected_from": previous,
        "from_kind": r.kind,
        "to_kind": after.kind,
        "state": after.state,
        "call_date": parsed.call_date,
    });
    let actor = Actor::from_ctx(&ctx);
    let entity = Some(id.to_string());
    audit::record(
        &mut tx,
        &actor,
        "change_request.retention_outcome",
        "change_request",
        entity,
        details,
    )
    .await?;
    let corrected = previous.is_some();
    notify::outcome_recorded(&mut tx, &state.config, &after, parsed.outcome, corrected).await?;
    let verb = if corrected { "corrected" } else { "recorded" };
    let message = format!("Retention call {verb}: {}.", parsed.outcome.label());
    commit_and_go(tx, &ctx, &back, &message).await
}

/// What the outcome does to `r` (locked): withdraws it, converts it to the pause or addendum
/// the client agreed to, or, for a correction to "not saved", makes it again what was filed.
/// A signed document no longer matching the terms is marked so. Returns the request after.
#[tracing::instrument(level = "debug", skip_all, fields(request = r.id))]
async fn apply_outcome(
    conn: &mut PgConnection,
    r: &requests::RequestRow,
    call: &form::Parsed,
) -> AppResult<requests::RequestRow> {
    // What the request was filed as: a correction starts again from it.
    let filed_as = r.original_kind.unwrap_or(r.kind);
    match call.outcome.effect() {
        Effect::Withdraw => {
            requests::transition(conn, r.id, r.state, RequestState::Withdrawn).await?;
            db::note_saved_without_change(conn, r.id).await?;
        }
        Effect::Convert(kind) => {
            let to = db::Converted {
                kind,
                effective_date: call.effective_date.unwrap_or(r.effective_date),
                resume_date: call.resume_date.filter(|_| kind == Kind::Pause),
                current_budget_cents: call.current_budget_cents.filter(|_| kind == Kind::Addendum),
                new_budget_cents: call.new_budget_cents.filter(|_| kind == Kind::Addendum),
            };
            db::convert(conn, r.id, &to).await?;
        }
        Effect::Keep if r.kind != filed_as => db::restore_as_filed(conn, r.id).await?,
        Effect::Keep => {}
    }
    let after = requests::find(conn, r.id)
        .await?
        .ok_or(AppError::NotFound)?;
    // A signature is for the terms it was given.
    if r.signed_terms_differ(&after) {
        crate::change_requests::attachments::supersede(conn, r.id).await?;
    }
    Ok(after)
}
