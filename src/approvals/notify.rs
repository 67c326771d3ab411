//! The approval chain's emails, one function each. Each queues in the caller's transaction, so
//! it goes out if and only if the change it tells of commits; an email to nobody is skipped.

use chrono::NaiveDate;
use sqlx::PgConnection;

use super::db;
use super::rules::Approver;
use crate::auth::roles::Role;
use crate::change_requests::db::RequestRow;
use crate::change_requests::rules::Kind;
use crate::config::Config;
use crate::notifications::emails::Notice;
use crate::notifications::{outbox, recipients};
use crate::web::error::AppResult;

/// The request's facts as approval emails list them.
fn request_facts(r: &RequestRow) -> Vec<(&'static str, String)> {
    let mut facts = vec![
        ("Client", r.client_name.clone()),
        ("Request", r.kind_label().to_string()),
        ("Effective date", crate::time::day(r.effective_date)),
    ];
    if r.kind == Kind::Addendum {
        facts.push((
            "Monthly budget",
            format!("{} → {}", r.current_budget(), r.new_budget()),
        ));
    }
    if let Some(why) = &r.credit_reason {
        facts.push(("Credit", format!("{}: {why}", r.credit())));
    }
    facts
}

/// Tells a step's approver (and anyone standing in for them on `today`) that it is their turn.
pub async fn approval_needed(
    conn: &mut PgConnection,
    config: &Config,
    today: NaiveDate,
    r: &RequestRow,
    step_name: &str,
    approver: Approver,
) -> AppResult<()> {
    let to = db::step_recipients(conn, approver, today).await?;
    let mut facts = request_facts(r);
    facts.push(("Step", step_name.to_string()));
    let notice = Notice {
        kind: "change_request.approval_needed",
        to,
        subject: format!(
            "{}: your approval is needed ({})",
            r.client_name,
            r.kind_label().to_lowercase()
        ),
        intro: "A change request has reached your step of the approval chain. Read it, then approve it or send it back on its page.",
        facts,
        path: format!("/requests/{}", r.id),
        link_label: "Open the request to decide",
        related: Some(("change_request", r.id.to_string())),
    };
    outbox::notice(conn, config, notice).await
}

/// The last step approved: the distribution list gets the change task, Accounting is asked
/// to process, and the submitter (and the account manager) hear it passed.
pub async fn approved(
    conn: &mut PgConnection,
    config: &Config,
    r: &RequestRow,
    task_id: i64,
) -> AppResult<()> {
    let mut facts = request_facts(r);
    if !r.product_notes.is_empty() {
        facts.push(("Product change notes", r.product_notes.clone()));
    }
    approved_to_distribution(conn, config, r, task_id, facts.clone()).await?;
    approved_to_accounting(conn, config, r, facts.clone()).await?;
    approved_to_submitter(conn, config, r, facts).await
}

/// Operations and leadership: the change task holds what they need.
async fn approved_to_distribution(
    conn: &mut PgConnection,
    config: &Config,
    r: &RequestRow,
    task_id: i64,
    facts: Vec<(&'static str, String)>,
) -> AppResult<()> {
    let to = recipients::distribution_list(conn).await?;
    let subject = match r.reverses_id {
        Some(original) => format!("{}: reinstated (request #{original} undone)", r.client_name),
        None => format!(
            "{}: {} approved",
            r.client_name,
            r.kind_label().to_lowercase()
        ),
    };
    let notice = Notice {
        kind: "change_request.approved",
        to,
        subject,
        intro: "A change request is approved. Its change task holds everything Operations needs.",
        facts,
        path: format!("/tasks/{task_id}"),
        link_label: "Open the change task",
        related: Some(("change_request", r.id.to_string())),
    };
    outbox::notice(conn, config, notice).await
}

/// Accounting: an approved request to process.
async fn approved_to_accounting(
    conn: &mut PgConnection,
    config: &Config,
    r: &RequestRow,
    facts: Vec<(&'static str, String)>,
) -> AppResult<()> {
    let to = recipients::holders_of(conn, Role::Accounting).await?;
    let notice = Notice {
        kind: "change_request.to_process",
        to,
        subject: format!("{}: approved, to process", r.client_name),
        intro: "An approved change request is waiting for Accounting to process it.",
        facts,
        path: format!("/requests/{}", r.id),
        link_label: "Open the request",
        related: Some(("change_request", r.id.to_string())),
    };
    outbox::notice(conn, config, notice).await
}

/// Whoever submitted it, and the client's account manager when Retention submitted it.
async fn approved_to_submitter(
    conn: &mut PgConnection,
    config: &Config,
    r: &RequestRow,
    facts: Vec<(&'static str, String)>,
) -> AppResult<()> {
    let to = recipients::add_people(
        conn,
        Vec::new(),
        [r.submitted_by, r.client_account_manager_id],
    )
    .await?;
    let notice = Notice {
        kind: "change_request.approved_submitter",
        to,
        subject: format!("{}: the change request is approved", r.client_name),
        intro: "The change request has passed every approval step.",
        facts,
        path: format!("/requests/{}", r.id),
        link_label: "Open the request",
        related: Some(("change_request", r.id.to_string())),
    };
    outbox::notice(conn, config, notice).await
}

/// Sent back by `by_name` for `reason`: everyone who may submit it again (the whole Retention
/// Team once Retention is involved, otherwise the client's account manager), whoever submitted
/// it, and the account manager. When none of them can be told (disabled meanwhile) the request
/// waits on the admin's desk, and the admins are told instead.
pub async fn sent_back(
    conn: &mut PgConnection,
    config: &Config,
    r: &RequestRow,
    by_name: &str,
    reason: &str,
) -> AppResult<()> {
    let retention = if r.has_save_attempt {
        recipients::holders_of(conn, Role::Retention).await?
    } else {
        Vec::new()
    };
    let mut to = recipients::add_people(
        conn,
        retention,
        [r.submitted_by, r.client_account_manager_id],
    )
    .await?;
    if to.is_empty() {
        to = recipients::holders_of(conn, Role::Admin).await?;
    }
    let mut facts = request_facts(r);
    facts.push(("Sent back by", by_name.to_string()));
    facts.push(("Reason", reason.to_string()));
    let notice = Notice {
        kind: "change_request.sent_back",
        to,
        subject: format!("{}: sent back by {by_name}", r.client_name),
        intro: if r.has_save_attempt {
            "An approver sent the change request back. The Retention Team edits it as the reason asks, then submits it again; the approval chain starts over."
        } else {
            "An approver sent the change request back. Edit it as the reason asks, then submit it again; the approval chain starts over."
        },
        facts,
        path: format!("/requests/{}", r.id),
        link_label: "Open the request",
        related: Some(("change_request", r.id.to_string())),
    };
    outbox::notice(conn, config, notice).await
}

/// The approver whose turn it was (and their substitutes on `today`): the request was
/// withdrawn, no decision is needed.
pub async fn withdrawn(
    conn: &mut PgConnection,
    config: &Config,
    today: NaiveDate,
    r: &RequestRow,
    approver: Approver,
    reason: &str,
) -> AppResult<()> {
    let to = db::step_recipients(conn, approver, today).await?;
    let mut facts = request_facts(r);
    facts.push(("Reason", reason.to_string()));
    let notice = Notice {
        kind: "change_request.withdrawn",
        to,
        subject: format!("{}: withdrawn, no decision needed", r.client_name),
        intro: "A change request waiting for your approval was withdrawn. Nothing is needed from you.",
        facts,
        path: format!("/requests/{}", r.id),
        link_label: "Open the request",
        related: Some(("change_request", r.id.to_string())),
    };
    outbox::notice(conn, config, notice).await
}

/// A step still waiting after the nudge interval: its approver (and their substitutes on
/// `today`) are reminded, with how many business days it has waited.
pub async fn nudge(
    conn: &mut PgConnection,
    config: &Config,
    today: NaiveDate,
    r: &RequestRow,
    step: &db::StepRow,
    waited: i64,
) -> AppResult<()> {
    crate::chat::queue(conn, &[crate::chat::Event::Stalled], r.id).await?;
    let to = db::step_recipients(conn, step.approver(), today).await?;
    let notice = Notice {
        kind: "change_request.approval_nudge",
        to,
        subject: format!(
            "{}: still waiting for your approval ({waited} business days)",
            r.client_name
        ),
        intro: "A change request has been waiting at your step of the approval chain. Please approve it or send it back.",
        facts: vec![
            ("Client", r.client_name.clone()),
            ("Request", r.kind_label().to_string()),
            ("Effective date", crate::time::day(r.effective_date)),
            ("Step", step.name.clone()),
        ],
        path: format!("/requests/{}", r.id),
        link_label: "Open the request to decide",
        related: Some(("change_request", r.id.to_string())),
    };
    outbox::notice(conn, config, notice).await
}

/// The substitute an approver named: their steps come to them from `starts` to `ends`.
pub async fn substitute_named(
    conn: &mut PgConnection,
    config: &Config,
    substitute: i64,
    approver_name: &str,
    starts: NaiveDate,
    ends: NaiveDate,
) -> AppResult<()> {
    let to = recipients::add_people(conn, Vec::new(), [Some(substitute)]).await?;
    let notice = Notice {
        kind: "approval_substitute.named",
        to,
        subject: format!("You stand in for {approver_name} on approvals"),
        intro: "While they are away, their approval steps come to you; your decisions are recorded on their behalf.",
        facts: vec![
            ("For", approver_name.to_string()),
            ("From", crate::time::day(starts)),
            ("To", crate::time::day(ends)),
        ],
        path: "/".into(),
        link_label: "Open your desk",
        related: None,
    };
    outbox::notice(conn, config, notice).await
}

/// The admins: a step was reached that nobody may decide (`why`); it waits on their desk.
pub async fn step_flagged(
    conn: &mut PgConnection,
    config: &Config,
    r: &RequestRow,
    step: &str,
    why: &str,
) -> AppResult<()> {
    let to = recipients::holders_of(conn, Role::Admin).await?;
    let notice = Notice {
        kind: "change_request.step_flagged",
        to,
        subject: format!("{}: an approval step needs you ({step})", r.client_name),
        intro: "An approval step was reached that its approver cannot decide. It is on your desk and on the approval chain page, where you can hand it to someone else.",
        facts: vec![
            ("Client", r.client_name.clone()),
            ("Request", r.kind_label().to_string()),
            ("Step", step.to_string()),
            ("Why", why.to_string()),
        ],
        path: "/admin/approvals".into(),
        link_label: "Open the approval chain page",
        related: Some(("change_request", r.id.to_string())),
    };
    outbox::notice(conn, config, notice).await
}
