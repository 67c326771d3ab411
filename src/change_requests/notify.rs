//! Change requests' emails, one function each, queued in the caller's transaction.

use sqlx::PgConnection;

use super::db::RequestRow;
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

/// The client's SEM specialist (`to`): an account manager asks them something.
pub async fn question_asked(
    conn: &mut PgConnection,
    config: &Config,
    r: &RequestRow,
    to: i64,
    asked_by_name: &str,
    question: &str,
) -> AppResult<()> {
    let to = recipients::add_people(conn, Vec::new(), [Some(to)]).await?;
    let notice = Notice {
        kind: "change_request.question",
        to,
        subject: format!("{}: a question from {asked_by_name}", r.client_name),
        intro: "An account manager needs information from you for a change request.",
        facts: vec![
            ("Client", r.client_name.clone()),
            ("Request", r.kind_label().to_string()),
            ("Question", question.to_string()),
        ],
        path: format!("/requests/{}", r.id),
        link_label: "Answer on the change request",
        related: Some(("change_request", r.id.to_string())),
    };
    outbox::notice(conn, config, notice).await
}

/// Whoever asked and, if the client has changed hands since, its account manager now: the
/// SEM specialist answered.
pub async fn question_answered(
    conn: &mut PgConnection,
    config: &Config,
    r: &RequestRow,
    asked_by: i64,
    answered_by_name: &str,
    answer: &str,
) -> AppResult<()> {
    let people = [Some(asked_by), r.client_account_manager_id];
    let to = recipients::add_people(conn, Vec::new(), people).await?;
    let notice = Notice {
        kind: "change_request.answer",
        to,
        subject: format!(
            "{}: {answered_by_name} answered your question",
            r.client_name
        ),
        intro: "The SEM specialist answered your question on a change request.",
        facts: vec![
            ("Client", r.client_name.clone()),
            ("Answer", answer.to_string()),
        ],
        path: format!("/requests/{}", r.id),
        link_label: "Open the change request",
        related: Some(("change_request", r.id.to_string())),
    };
    outbox::notice(conn, config, notice).await
}

/// The other side of an escalation's conversation (`to`): a new comment.
pub async fn commented(
    conn: &mut PgConnection,
    config: &Config,
    r: &RequestRow,
    to: i64,
    author_name: &str,
    body: &str,
) -> AppResult<()> {
    let to = recipients::add_people(conn, Vec::new(), [Some(to)]).await?;
    let notice = Notice {
        kind: "change_request.comment",
        to,
        subject: format!(
            "{}: {author_name} commented on the {}",
            r.client_name,
            r.kind_label().to_lowercase()
        ),
        intro: "There is a new comment on a change request you are part of.",
        facts: vec![
            ("Client", r.client_name.clone()),
            ("Request", r.kind_label().to_string()),
            ("Comment", body.to_string()),
        ],
        path: format!("/requests/{}", r.id),
        link_label: "Open the change request",
        related: Some(("change_request", r.id.to_string())),
    };
    outbox::notice(conn, config, notice).await
}

/// On a request Retention converted, Retention submits it: the team hears the signed document
/// is in, and the account manager too when they did not attach it; never the person who did.
pub async fn document_attached(
    conn: &mut PgConnection,
    config: &Config,
    r: &RequestRow,
    attached_by: i64,
    attached_by_email: &str,
    attached_by_name: &str,
) -> AppResult<()> {
    let retention = recipients::holders_of(conn, Role::Retention).await?;
    let am = r.client_account_manager_id.filter(|am| *am != attached_by);
    let mut to = recipients::add_people(conn, retention, [am]).await?;
    to.retain(|a| !a.eq_ignore_ascii_case(attached_by_email));
    let notice = Notice {
        kind: "change_request.document_attached",
        to,
        subject: format!("{}: the signed addendum is attached", r.client_name),
        intro: "The client's signed addendum is on the request Retention converted. Retention can now submit it for approval.",
        facts: vec![
            ("Client", r.client_name.clone()),
            (
                "Monthly budget",
                format!("{} → {}", r.current_budget(), r.new_budget()),
            ),
            ("Attached by", attached_by_name.to_string()),
        ],
        path: format!("/requests/{}", r.id),
        link_label: "Open the request to submit it",
        related: Some(("change_request", r.id.to_string())),
    };
    outbox::notice(conn, config, notice).await
}

/// The new account manager (`to`) of a client handed over with its open change request.
pub async fn account_manager_changed(
    conn: &mut PgConnection,
    config: &Config,
    r: &RequestRow,
    to: i64,
    before_name: &str,
) -> AppResult<()> {
    let to = recipients::add_people(conn, Vec::new(), [Some(to)]).await?;
    let notice = Notice {
        kind: "change_request.account_manager_changed",
        to,
        subject: format!(
            "{}: the client and its change request are now yours",
            r.client_name
        ),
        intro: "The client was handed to you, and its open change request with it: it is on your desk, and you take it on from here.",
        facts: vec![
            ("Client", r.client_name.clone()),
            ("Request", r.kind_label().to_string()),
            ("Where it stands", r.state_label().to_string()),
            ("Account manager before", before_name.to_string()),
        ],
        path: format!("/requests/{}", r.id),
        link_label: "Open the change request",
        related: Some(("change_request", r.id.to_string())),
    };
    outbox::notice(conn, config, notice).await
}
