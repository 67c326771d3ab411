//! Retention's panel on the request's page.

use chrono::NaiveDate;
use sqlx::PgConnection;

use super::db::{SaveAttempt, find};
use super::form::OutcomeForm;
use crate::auth::roles::Who;
use crate::change_requests::db as requests;
use crate::change_requests::rules;

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
        let attempt = if r.has_save_attempt {
            find(conn, r.id).await?
        } else {
            None
        };
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
