//! Change requests' emails, one function each, queued in the caller's transaction.

use sqlx::PgConnection;

use super::form::Details;
use super::rules::Escalation;
use crate::auth::roles::Role;
use crate::config::Config;
use crate::notifications::emails::Notice;
use crate::notifications::{outbox, recipients};
use crate::web::error::AppResult;

/// A request just filed with an escalation: the Retention Team (a save attempt waits for
/// them) or the team lead or department manager chosen. No escalation, no email.
pub async fn escalated(
    conn: &mut PgConnection,
    config: &Config,
    request_id: i64,
    client_name: &str,
    details: &Details,
    filed_by_name: &str,
) -> AppResult<()> {
    let (to, intro) = match details.escalation {
        Escalation::Retention => (
            recipients::holders_of(conn, Role::Retention).await?,
            "A change request needs a retention call: a save attempt is waiting for you.",
        ),
        Escalation::TeamLead | Escalation::DepartmentManager => (
            match details.escalated_to {
                Some(p) => recipients::user(conn, p).await?.into_iter().collect(),
                None => Vec::new(),
            },
            "A change request has been escalated to you. Read it and add your comment.",
        ),
        Escalation::None => return Ok(()),
    };
    let notice = Notice {
        kind: "change_request.escalated",
        to,
        subject: format!(
            "{client_name}: {} escalated by {filed_by_name}",
            details.kind.label()
        ),
        intro,
        facts: vec![
            ("Client", client_name.to_string()),
            ("Request", details.kind.label().to_string()),
            ("Effective", crate::time::day(details.effective_date)),
            ("Account manager", filed_by_name.to_string()),
        ],
        path: format!("/requests/{request_id}"),
        link_label: "Open the change request",
        related: Some(("change_request", request_id.to_string())),
    };
    outbox::notice(conn, config, notice).await
}
