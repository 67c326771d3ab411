//! Retention's email: the account manager hears what the call achieved.

use sqlx::PgConnection;

use crate::change_requests::db::RequestRow;
use crate::change_requests::rules::Outcome;
use crate::config::Config;
use crate::notifications::emails::Notice;
use crate::notifications::{outbox, recipients};
use crate::web::error::AppResult;

/// The client's account manager: the call on their request was recorded, or corrected, and
/// what the request is now (`after`).
pub async fn outcome_recorded(
    conn: &mut PgConnection,
    config: &Config,
    after: &RequestRow,
    outcome: Outcome,
    corrected: bool,
) -> AppResult<()> {
    let Some(am) = after.client_account_manager_id else {
        return Ok(());
    };
    let to: Vec<String> = recipients::user(conn, am).await?.into_iter().collect();
    let (subject, intro) = if corrected {
        (
            format!("{}: retention call corrected", after.client_name),
            "The Retention Team corrected the outcome of the call on your change request.",
        )
    } else {
        (
            format!("{}: retention call recorded", after.client_name),
            "The Retention Team recorded the call on your change request.",
        )
    };
    let notice = Notice {
        kind: "change_request.retention_outcome",
        to,
        subject,
        intro,
        facts: vec![
            ("Client", after.client_name.clone()),
            ("Outcome", outcome.label().to_string()),
            (
                "Request now",
                format!("{} ({})", after.kind_label(), after.state_label()),
            ),
        ],
        path: format!("/requests/{}", after.id),
        link_label: "Open the change request",
        related: Some(("change_request", after.id.to_string())),
    };
    outbox::notice(conn, config, notice).await
}
