//! The save attempt as pages show it, and its statements. Each takes a connection so it works
//! inside the caller's transaction.

use chrono::NaiveDate;
use sqlx::PgConnection;

use super::form::Parsed;
use crate::change_requests::rules::{self, Kind};

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

/// Records (or corrects) the call on request `id`'s save attempt; when it was first recorded
/// stays (Reports time the first call from it).
pub async fn record_call(
    conn: &mut PgConnection,
    id: i64,
    call: &Parsed,
    by: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE save_attempts SET call_date = $2, offered = $3, outcome = $4, notes = $5,
                recorded_by = $6, recorded_at = now(),
                first_recorded_at = COALESCE(first_recorded_at, now())
          WHERE change_request_id = $1",
    )
    .bind(id)
    .bind(call.call_date)
    .bind(&call.offered)
    .bind(call.outcome)
    .bind(&call.notes)
    .bind(by)
    .execute(conn)
    .await?;
    Ok(())
}

/// Why a request the client was saved from without a change is withdrawn.
pub async fn note_saved_without_change(conn: &mut PgConnection, id: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE change_requests SET withdrawn_reason = 'Client saved by Retention, no change'
          WHERE id = $1",
    )
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// The terms a saved client agreed to: a pause (with its dates) or an addendum (with its
/// budgets). The request becomes that kind and keeps its reason.
pub struct Converted {
    pub kind: Kind,
    pub effective_date: NaiveDate,
    pub resume_date: Option<NaiveDate>,
    pub current_budget_cents: Option<i64>,
    pub new_budget_cents: Option<i64>,
}

/// Converts request `id` to `to`, remembering what it was filed as (kind, scope and dates) the
/// first time, so a correction can go back to it.
pub async fn convert(conn: &mut PgConnection, id: i64, to: &Converted) -> sqlx::Result<()> {
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
    .bind(to.kind)
    .bind(to.effective_date)
    .bind(to.resume_date)
    .bind(to.current_budget_cents)
    .bind(to.new_budget_cents)
    .execute(conn)
    .await?;
    Ok(())
}

/// Makes a converted request again what was filed (a correction to "not saved").
pub async fn restore_as_filed(conn: &mut PgConnection, id: i64) -> sqlx::Result<()> {
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
    .execute(conn)
    .await?;
    Ok(())
}
