//! What a recorded call does to its request.

use sqlx::PgConnection;

use super::{db, form};
use crate::change_requests::db as requests;
use crate::change_requests::rules::{Effect, Kind, State as RequestState};
use crate::web::error::{AppError, AppResult};

/// What the outcome does to `r` (locked): withdraws it, converts it to the pause or addendum
/// the client agreed to, or, for a correction to "not saved", makes it again what was filed.
/// A signed document no longer matching the terms is marked so. Returns the request after.
#[tracing::instrument(level = "debug", skip_all, fields(request = request.id))]
pub(super) async fn apply_outcome(
    conn: &mut PgConnection,
    request: &requests::RequestRow,
    call: &form::Parsed,
) -> AppResult<requests::RequestRow> {
    // What the request was filed as: a correction starts again from it.
    let filed_as = request.original_kind.unwrap_or(request.kind);
    match call.outcome.effect() {
        Effect::Withdraw => {
            requests::transition(conn, request.id, request.state, RequestState::Withdrawn).await?;
            db::note_saved_without_change(conn, request.id).await?;
        }
        Effect::Convert(kind) => {
            let to = db::Converted {
                kind,
                effective_date: call.effective_date.unwrap_or(request.effective_date),
                resume_date: call.resume_date.filter(|_| kind == Kind::Pause),
                current_budget_cents: call.current_budget_cents.filter(|_| kind == Kind::Addendum),
                new_budget_cents: call.new_budget_cents.filter(|_| kind == Kind::Addendum),
            };
            db::convert(conn, request.id, &to).await?;
        }
        Effect::Keep if request.kind != filed_as => db::restore_as_filed(conn, request.id).await?,
        Effect::Keep => {}
    }
    let after = requests::find(conn, request.id)
        .await?
        .ok_or(AppError::NotFound)?;
    // A signature is for the terms it was given.
    if request.signed_terms_differ(&after) {
        crate::change_requests::attachments::supersede(conn, request.id).await?;
    }
    Ok(after)
}
