//! The Retention Team's save attempt: record the call (date, what was offered, outcome, notes)
//! and apply its outcome to the request in the same transaction: withdraw it, convert it into a
//! pause or an addendum (remembering what it was), or let the cancellation go ahead.

pub mod form;

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
use crate::notifications::{emails, outbox, recipients};
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

pub async fn find(conn: &mut PgConnection, request_id: i64) -> sqlx::Result<Option<SaveAttempt>> {
    sqlx::query_as(
        "SELECT s.call_date, s.offered, s.outcome, s.notes, u.display_name AS recorded_by
           FROM save_attempts s LEFT JOIN users u ON u.id = s.recorded_by
          WHERE s.change_request_id = $1",
    )
    .bind(request_id)
    .fetch_optional(conn)
    .await
}

/// Adds the save attempt of a request escalated to Retention (inside the filing transaction).
pub async fn open(conn: &mut PgConnection, request_id: i64) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO save_attempts (change_request_id) VALUES ($1)")
        .bind(request_id)
        .execute(conn)
        .await?;
    Ok(())
}

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
    let who = Who {
        id: ctx.user.id,
        roles: ctx.user.roles,
    };
    // A call already recorded is being corrected: the timeline keeps both.
    let previous = attempt.as_ref().and_then(|a| a.outcome);
    if let Err(refusal) = rules::may_record_outcome(who, r.facts()) {
        return commit_and_go(
            tx,
            &ctx,
            &format!("/requests/{id}"),
            &format!("Nothing changed. {refusal}"),
        )
        .await;
    }
    // A second click, or a tab opened before someone else recorded the call, must not
    // overwrite what they recorded: only a correction of what the form showed goes ahead.
    if input.recorded.trim() != previous.map(rules::Outcome::key).unwrap_or("") {
        let a = attempt.expect("an outcome was recorded");
        return commit_and_go(
            tx,
            &ctx,
            &format!("/requests/{id}"),
            &format!(
                "Nothing changed: {} recorded the call meanwhile ({}). Correct it below if it needs it.",
                a.recorder(),
                a.outcome_label()
            ),
        )
        .await;
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
    sqlx::query(
        "UPDATE save_attempts SET call_date = $2, offered = $3, outcome = $4, notes = $5,
                recorded_by = $6, recorded_at = now()
          WHERE change_request_id = $1",
    )
    .bind(id)
    .bind(parsed.call_date)
    .bind(&parsed.offered)
    .bind(parsed.outcome)
    .bind(&parsed.notes)
    .bind(ctx.user.id)
    .execute(&mut *tx)
    .await?;
    let from_kind = r.kind;
    // What the request was filed as: a correction starts again from it.
    let filed_as = r.original_kind.unwrap_or(r.kind);
    match parsed.outcome.effect() {
        Effect::Withdraw => {
            requests::transition(&mut tx, id, r.state, RequestState::Withdrawn).await?;
            sqlx::query("UPDATE change_requests SET withdrawn_reason = 'Client saved by Retention, no change' WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        Effect::Convert(kind) => {
            // The original reason stays; the request remembers what it was filed as.
            sqlx::query(
                "UPDATE change_requests
                    SET kind = $2, original_cancel_scope = COALESCE(original_cancel_scope, cancel_scope),
                        original_effective_date = CASE WHEN original_kind IS NULL
                                                       THEN effective_date ELSE original_effective_date END,
                        original_resume_date = CASE WHEN original_kind IS NULL
                                                    THEN resume_date ELSE original_resume_date END,
                        cancel_scope = NULL, effective_date = $3, resume_date = $4,
                        current_budget_cents = $5, new_budget_cents = $6,
                        original_kind = COALESCE(original_kind, kind), version = version + 1
                  WHERE id = $1",
            )
            .bind(id)
            .bind(kind)
            .bind(parsed.effective_date.unwrap_or(r.effective_date))
            .bind(if kind == Kind::Pause {
                parsed.resume_date
            } else {
                None
            })
            .bind(if kind == Kind::Addendum {
                parsed.current_budget_cents
            } else {
                None
            })
            .bind(if kind == Kind::Addendum {
                parsed.new_budget_cents
            } else {
                None
            })
            .execute(&mut *tx)
            .await?;
        }
        Effect::Keep if r.kind != filed_as => {
            // Corrected to "not saved" after a conversion: the request is again what was filed.
            sqlx::query(
                "UPDATE change_requests
                    SET kind = original_kind,
                        cancel_scope = CASE WHEN original_kind = 'cancellation'
                                            THEN COALESCE(original_cancel_scope, 'services_only') END,
                        effective_date = COALESCE(original_effective_date, effective_date),
                        resume_date = CASE WHEN original_kind = 'pause' THEN original_resume_date END,
                        current_budget_cents = NULL, new_budget_cents = NULL,
                        original_kind = NULL, original_cancel_scope = NULL,
                        original_effective_date = NULL, original_resume_date = NULL,
                        version = version + 1
                  WHERE id = $1",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        Effect::Keep => {}
    }
    let after = requests::find(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    // A signature is for the terms it was given.
    if r.attachment_count > 0
        && (after.kind != r.kind
            || after.effective_date != r.effective_date
            || after.current_budget_cents != r.current_budget_cents
            || after.new_budget_cents != r.new_budget_cents)
    {
        crate::change_requests::attachments::supersede(&mut tx, id).await?;
    }
    audit::record(
        &mut tx,
        &Actor::from_ctx(&ctx),
        "change_request.retention_outcome",
        "change_request",
        Some(id.to_string()),
        json!({
            "outcome": parsed.outcome.key(),
            "corrected_from": previous,
            "from_kind": from_kind,
            "to_kind": after.kind,
            "state": after.state,
            "call_date": parsed.call_date,
        }),
    )
    .await?;
    if let Some(am) = match r.client_account_manager_id {
        Some(am) => recipients::user(&mut tx, am).await?,
        None => None,
    } {
        let email = emails::notice(
            &state.config.base_url,
            emails::Notice {
                kind: "change_request.retention_outcome",
                to: vec![am],
                subject: if previous.is_some() {
                    format!("{}: retention call corrected", r.client_name)
                } else {
                    format!("{}: retention call recorded", r.client_name)
                },
                intro: if previous.is_some() {
                    "The Retention Team corrected the outcome of the call on your change request."
                } else {
                    "The Retention Team recorded the call on your change request."
                },
                facts: vec![
                    ("Client", r.client_name.clone()),
                    ("Outcome", parsed.outcome.label().to_string()),
                    (
                        "Request now",
                        format!("{} ({})", after.kind_label(), after.state_label()),
                    ),
                ],
                path: format!("/requests/{id}"),
                link_label: "Open the change request",
                related: Some(("change_request", id.to_string())),
            },
        )?;
        outbox::enqueue(&mut tx, &state.config.mail, &email).await?;
    }
    let verb = if previous.is_some() {
        "corrected"
    } else {
        "recorded"
    };
    commit_and_go(
        tx,
        &ctx,
        &format!("/requests/{id}"),
        &format!("Retention call {verb}: {}.", parsed.outcome.label()),
    )
    .await
}
