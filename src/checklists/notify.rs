//! The checklists' emails, one function each, queued in the caller's transaction.

use chrono::NaiveDate;
use sqlx::PgConnection;

use crate::auth::roles::Role;
use crate::config::Config;
use crate::notifications::emails::Notice;
use crate::notifications::{outbox, recipients};
use crate::web::error::AppResult;

/// The contractor: the SEM specialist checked an item it marked done and sent it back.
pub async fn sent_back(
    conn: &mut PgConnection,
    config: &Config,
    request_id: i64,
    client_name: &str,
    title: &str,
    reason: &str,
) -> AppResult<()> {
    let to = recipients::holders_of(conn, Role::Contractor).await?;
    let notice = Notice {
        kind: "checklist.sent_back",
        to,
        subject: format!("{client_name}: an offboarding item was sent back"),
        intro: "The SEM specialist checked an item you marked done and found it is not done yet.",
        facts: vec![
            ("Client", client_name.to_string()),
            ("Item", title.to_string()),
            ("Why", reason.to_string()),
        ],
        path: "/".into(),
        link_label: "Open your offboarding items",
        related: Some(("change_request", request_id.to_string())),
    };
    outbox::notice(conn, config, notice).await
}

/// An item past its due date: its specialist, or every holder of its owner's role.
pub struct Overdue<'a> {
    pub request_id: i64,
    pub client_name: &'a str,
    pub title: &'a str,
    pub owner: Role,
    pub assignee: Option<i64>,
    pub due_on: NaiveDate,
}

/// The owner of an overdue item, reminded daily until it is done. The contractor works from
/// its desk; everyone else from the request's page.
pub async fn overdue(conn: &mut PgConnection, config: &Config, o: Overdue<'_>) -> AppResult<()> {
    let to = match (o.owner, o.assignee) {
        (Role::SemSpecialist, Some(user)) => {
            recipients::add_people(conn, Vec::new(), [Some(user)]).await?
        }
        (role, _) => recipients::holders_of(conn, role).await?,
    };
    let path = if o.owner == Role::Contractor {
        "/".to_string()
    } else {
        format!("/requests/{}", o.request_id)
    };
    let notice = Notice {
        kind: "checklist.overdue",
        to,
        subject: format!("{}: overdue offboarding item", o.client_name),
        intro: "An offboarding item you own is past its due date. You will be reminded daily until it is done.",
        facts: vec![
            ("Client", o.client_name.to_string()),
            ("Item", o.title.to_string()),
            ("Was due", crate::time::day(o.due_on)),
        ],
        path,
        link_label: "Open your offboarding items",
        related: Some(("change_request", o.request_id.to_string())),
    };
    outbox::notice(conn, config, notice).await
}
