//! Operations' emails, one function each, queued in the caller's transaction.

use chrono::NaiveDate;
use sqlx::PgConnection;

use super::rules;
use crate::auth::roles::Role;
use crate::change_requests::db::RequestRow;
use crate::change_requests::rules::Kind;
use crate::config::Config;
use crate::notifications::emails::Notice;
use crate::notifications::{outbox, recipients};
use crate::web::error::AppResult;

/// The SEM specialist a change task was forwarded to: everything they need, in the email.
pub async fn forwarded(
    conn: &mut PgConnection,
    config: &Config,
    r: &RequestRow,
    task_id: i64,
    specialist: i64,
) -> AppResult<()> {
    let Some(to) = recipients::user(conn, specialist).await? else {
        return Ok(());
    };
    let save = crate::retention::db::find(conn, r.id).await?;
    let attachments = crate::change_requests::attachments::for_request(conn, r.id).await?;
    let change = if r.scope_label().is_empty() {
        r.kind_label().to_string()
    } else {
        format!("{}: {}", r.kind_label(), r.scope_label())
    };
    let mut facts: Vec<(&str, String)> = vec![
        ("Client", r.client_name.clone()),
        ("Change", change),
        ("Effective date", crate::time::day(r.effective_date)),
    ];
    if r.kind == Kind::Pause {
        facts.push(("Resume date", r.resume()));
    }
    if r.kind == Kind::Addendum {
        facts.push((
            "Monthly budget",
            format!("{} → {}", r.current_budget(), r.new_budget()),
        ));
    }
    let notes = if r.product_notes.is_empty() {
        "None".to_string()
    } else {
        r.product_notes.clone()
    };
    facts.push(("Product change notes", notes));
    if let Some(s) = &save {
        facts.push(("Save attempt", s.outcome_label().to_string()));
    }
    if r.reverses_id.is_some() {
        facts.push((
            "Your task",
            "The client is reinstated: undo the pause or cancellation and keep the ads running"
                .to_string(),
        ));
    } else if rules::needs_planner(r.kind) {
        facts.push((
            "Your task",
            format!("Pause the ads by {}", crate::time::day(r.effective_date)),
        ));
    }
    for a in attachments.iter().filter(|a| a.superseded_at.is_none()) {
        let link = format!("{}/attachments/{}", config.base_url, a.id);
        facts.push(("Signed addendum", format!("{} ({link})", a.original_name)));
    }
    let notice = Notice {
        kind: "change_task.forwarded",
        to: vec![to],
        subject: format!(
            "{}: {} effective {}",
            r.client_name,
            r.kind_label().to_lowercase(),
            crate::time::day(r.effective_date)
        ),
        intro: "The DM Operations Lead forwarded you an approved change request. Everything you need is below and on the change task.",
        facts,
        path: format!("/tasks/{task_id}"),
        link_label: "Open the change task",
        related: Some(("change_request", r.id.to_string())),
    };
    outbox::notice(conn, config, notice).await
}

/// The SEM specialist on the planner line and the client's account manager: the Ops Lead moved
/// the effective date (and what moved with it).
pub async fn dates_moved(
    conn: &mut PgConnection,
    config: &Config,
    r: &RequestRow,
    specialist: Option<i64>,
    effective: NaiveDate,
    resume: Option<NaiveDate>,
) -> AppResult<()> {
    let people = [specialist, r.client_account_manager_id];
    let to = recipients::add_people(conn, Vec::new(), people).await?;
    let mut facts = vec![
        ("Client", r.client_name.clone()),
        ("Change", r.kind_label().to_string()),
        ("Effective date", crate::time::day(effective)),
        ("Was", crate::time::day(r.effective_date)),
    ];
    if let Some(resume) = resume {
        facts.push(("Resume date", crate::time::day(resume)));
    }
    let notice = Notice {
        kind: "planner.dates_moved",
        to,
        subject: format!(
            "{}: now effective {}",
            r.client_name,
            crate::time::day(effective)
        ),
        intro: "The DM Operations Lead moved the effective date on the planner sheet. The pause task, the offboarding items and the reminders moved with it.",
        facts,
        path: format!("/requests/{}", r.id),
        link_label: "Open the request",
        related: Some(("change_request", r.id.to_string())),
    };
    outbox::notice(conn, config, notice).await
}

/// An effective date on the planner coming up, `days` from today, and what is still undone.
pub struct Reminder<'a> {
    pub request_id: i64,
    pub client_name: &'a str,
    pub kind: Kind,
    pub effective_date: NaiveDate,
    /// The specialist on the planner line.
    pub specialist: Option<i64>,
    pub ads_paused: bool,
    pub status_updated: bool,
    /// The offboarding items still open, in the checklist's order.
    pub open_items: Option<&'a str>,
    pub days: u64,
}

/// The SEM team and the line's specialist: a date on the planner is coming up.
pub async fn reminder(conn: &mut PgConnection, config: &Config, d: Reminder<'_>) -> AppResult<()> {
    if d.days == 1 {
        crate::chat::queue(conn, &[crate::chat::Event::EffectiveTomorrow], d.request_id).await?;
    }
    let team = recipients::holders_of(conn, Role::SemSpecialist).await?;
    let to = recipients::add_people(conn, team, [d.specialist]).await?;
    let mut undone = Vec::new();
    if !d.ads_paused {
        undone.push("ads not yet paused".to_string());
    }
    if !d.status_updated {
        undone.push("account status not yet updated".to_string());
    }
    if let Some(items) = d.open_items {
        undone.push(format!("offboarding items open: {items}"));
    }
    let when = match d.days {
        0 => "today".to_string(),
        1 => "tomorrow".to_string(),
        n => format!("in {n} days"),
    };
    let kind = d.kind.label();
    let still_to_do = if undone.is_empty() {
        "Nothing: all done".to_string()
    } else {
        undone.join("; ")
    };
    let notice = Notice {
        kind: "planner.reminder",
        to,
        subject: format!(
            "{}: {} effective {when}",
            d.client_name,
            kind.to_lowercase()
        ),
        intro: "An effective date on the planner sheet is coming up.",
        facts: vec![
            ("Client", d.client_name.to_string()),
            ("Change", kind.to_string()),
            ("Effective date", crate::time::day(d.effective_date)),
            ("Still to do", still_to_do),
        ],
        path: format!("/requests/{}", d.request_id),
        link_label: "Open the request",
        related: Some(("change_request", d.request_id.to_string())),
    };
    outbox::notice(conn, config, notice).await
}

/// The specialist SEM work of an approved request was handed to (`to`), from `from_name`.
pub async fn sem_work_handed_over(
    conn: &mut PgConnection,
    config: &Config,
    r: &RequestRow,
    to: i64,
    from_name: &str,
) -> AppResult<()> {
    let to = recipients::add_people(conn, Vec::new(), [Some(to)]).await?;
    let notice = Notice {
        kind: "change_request.sem_work_handed_over",
        to,
        subject: format!("{}: its SEM work is now yours", r.client_name),
        intro: "The SEM work of this approved request was handed to you: it is on your desk.",
        facts: vec![
            ("Client", r.client_name.clone()),
            ("Request", r.kind_label().to_string()),
            ("Effective", crate::time::day(r.effective_date)),
            ("Before, with", from_name.to_string()),
        ],
        path: format!("/requests/{}", r.id),
        link_label: "Open the change request",
        related: Some(("change_request", r.id.to_string())),
    };
    outbox::notice(conn, config, notice).await
}
