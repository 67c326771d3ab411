//! The admin's first-run list: what to set up, in order, each with its link and a tick when
//! done. Shown on the admin's desk in a real installation until every part is done or the first
//! request is filed (the desk is then in use); what is a
//! fact in the data (people in each role, the chain's approvers, the distribution list, clients,
//! a test message sent) is read from it, and the parts that ship with defaults (reasons, the
//! checklist) are ticked when the admin says they are right.

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::json;
use sqlx::PgConnection;

use crate::audit::{self, Actor};
use crate::auth::roles::{Role, RoleSet};
use crate::web::AppState;
use crate::web::ctx::{Ctx, commit_and_go};
use crate::web::error::AppResult;

/// The roles the process cannot run without, besides those the chain's steps and the
/// checklist's items are given to (Finance, the contractor, as configured).
pub const NEEDED_ROLES: [Role; 6] = [
    Role::AccountManager,
    Role::Retention,
    Role::Approver,
    Role::Accounting,
    Role::OpsLead,
    Role::SemSpecialist,
];

/// One part of setting up, as the desk lists it.
#[derive(Debug)]
pub struct Step {
    pub what: &'static str,
    pub href: &'static str,
    pub done: bool,
    /// What is missing, or how to tick it, in a few words.
    pub hint: String,
    /// The key of a part the admin ticks by saying it is right (reasons, checklist).
    pub reviewed_key: Option<&'static str>,
}

#[derive(sqlx::FromRow)]
struct Facts {
    roles: Vec<String>,
    /// The roles the chain's steps and the checklist's items are given to.
    given: Vec<String>,
    chain_named: bool,
    distribution: bool,
    reasons: bool,
    checklist: bool,
    clients: bool,
    mail: bool,
    /// A request has been filed.
    in_use: bool,
}

/// The parts of setting up, in order, with what is done (none once a request is filed); one
/// statement. `mail_server` says
/// whether a mail server is configured (without one, emails are written to files).
pub async fn steps(conn: &mut PgConnection, mail_server: bool) -> sqlx::Result<Vec<Step>> {
    let f: Facts = sqlx::query_as(
        "SELECT ARRAY(SELECT DISTINCT r FROM users, unnest(roles) r WHERE disabled_at IS NULL)
                    AS roles,
                ARRAY(SELECT approver_role FROM approval_chain_steps
                       WHERE retired_at IS NULL AND approver_role IS NOT NULL
                      UNION SELECT owner_role FROM checklist_templates WHERE retired_at IS NULL)
                    AS given,
                EXISTS (SELECT 1 FROM approval_chain_steps WHERE retired_at IS NULL)
                AND NOT EXISTS (
                    SELECT 1 FROM approval_chain_steps s
                      LEFT JOIN users u ON u.id = s.approver_user_id AND u.disabled_at IS NULL
                     WHERE s.retired_at IS NULL AND s.approver_role IS NULL AND u.id IS NULL)
                    AS chain_named,
                EXISTS (SELECT 1 FROM distribution_list) AS distribution,
                EXISTS (SELECT 1 FROM setup_steps WHERE step = 'reasons') AS reasons,
                EXISTS (SELECT 1 FROM setup_steps WHERE step = 'checklist') AS checklist,
                EXISTS (SELECT 1 FROM clients) AS clients,
                EXISTS (SELECT 1 FROM outbox_messages WHERE kind = 'test' AND state = 'sent')
                    AS mail,
                EXISTS (SELECT 1 FROM change_requests) AS in_use",
    )
    .fetch_one(conn)
    .await?;
    // Once a request is filed the desk is in use: setting up is over (and an installation
    // from before this list never sees it).
    if f.in_use {
        return Ok(Vec::new());
    }
    let held = RoleSet::from_keys(&f.roles);
    let mut needed = RoleSet::from_keys(&f.given);
    for role in NEEDED_ROLES {
        needed.insert(role);
    }
    let missing: Vec<&str> = needed
        .iter()
        .filter(|r| !held.contains(*r))
        .map(Role::label)
        .collect();
    let step = |what, href, done, hint: &str| Step {
        what,
        href,
        done,
        hint: hint.to_string(),
        reviewed_key: None,
    };
    Ok(vec![
        Step {
            hint: if missing.is_empty() {
                "Someone holds every role the process needs.".into()
            } else {
                format!("Nobody yet: {}.", missing.join(", "))
            },
            ..step(
                "Add the people and their roles",
                "/admin/users",
                missing.is_empty(),
                "",
            )
        },
        step(
            "Name the approvers of the approval chain",
            "/admin/approvals",
            f.chain_named,
            "Each step needs a person or a role to decide it.",
        ),
        step(
            "Add Operations and the leadership to the distribution list",
            "/admin/distribution",
            f.distribution,
            "They are emailed every approval.",
        ),
        Step {
            reviewed_key: Some("reasons"),
            ..step(
                "Check the reasons offered on requests",
                "/admin/reasons",
                f.reasons,
                "The desk ships with common ones; edit them, then say they are right.",
            )
        },
        Step {
            reviewed_key: Some("checklist"),
            ..step(
                "Check the offboarding checklist",
                "/admin/checklist",
                f.checklist,
                "The tools and ad platforms a cancelled client is taken out of.",
            )
        },
        step(
            "Add the clients, or import a CRM export",
            "/clients/import",
            f.clients,
            "A CSV from the CRM, previewed before anything is saved.",
        ),
        step(
            "Send a test message",
            "/admin/mail",
            mail_server && f.mail,
            if mail_server {
                "Ticked once a test message has gone out through the mail server."
            } else {
                "No mail server is set (SMTP_HOST): emails are only written to files."
            },
        ),
    ])
}

/// "These are right": ticks the reasons or the checklist.
pub(super) async fn reviewed(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(step): Path<String>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let Some(step) = ["reasons", "checklist"].into_iter().find(|s| *s == step) else {
        return commit_and_go(tx, "/", "Nothing changed: there is no such part to tick.").await;
    };
    let added = sqlx::query(
        "INSERT INTO setup_steps (step, done_by) VALUES ($1, $2) ON CONFLICT (step) DO NOTHING",
    )
    .bind(step)
    .bind(ctx.user.id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if added == 0 {
        return commit_and_go(tx, "/", "Nothing changed: that part is already ticked.").await;
    }
    audit::record(
        &mut tx,
        &Actor::from_ctx(&ctx),
        "setup.reviewed",
        "setup_step",
        Some(step.to_string()),
        json!({ "step": step }),
    )
    .await?;
    commit_and_go(tx, "/", "Ticked.").await
}
