//! A step must never wait on nobody. When a step's turn comes (at submit, after the step before
//! it, after the admin hands it on, or when the client changes hands while it waits), the
//! rules are asked who may decide it among everyone who could: its approver, whoever stands in
//! for them today, the holders of its role. When nobody may (the only candidate already
//! decided another step of the round, filed or submitted the request, is the client's account
//! manager, or is disabled), the desk does not leave it silent:
//!
//! - a step whose approver is excluded because they stood in for someone on an earlier step
//!   goes back to that absent approver (two different people still decide), and
//! - in every case the step is flagged onto the admin's desk and the admins are emailed, so
//!   someone who can hand it on sees it at once instead of after the nudge interval.
//!
//! A step its own approver cannot decide is routed so even when a substitute could decide it
//! today: the substitution ends, and the step would wait on nobody.

use chrono::NaiveDate;
use serde_json::json;
use sqlx::PgConnection;

use super::db::{self, StepRow};
use super::rules::{self, Approver, DecideFacts, StepState};
use crate::audit::{self, Actor};
use crate::auth::roles::Who;
use crate::auth::roles::{Role, RoleSet};
use crate::change_requests::db::RequestRow;
use crate::change_requests::rules::State;
use crate::config::Config;

/// What reaching a step came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reached {
    /// Someone may decide it; these people, by id.
    Decidable(Vec<i64>),
    /// Its approver could not decide it, so it went back to the approver they stood in for.
    Rerouted { to: i64, to_name: String },
    /// Nobody may decide it: it waits on the admin.
    Flagged(String),
}

#[derive(sqlx::FromRow)]
struct Candidate {
    id: i64,
    roles: Vec<Role>,
    /// The approvers they stand in for that day.
    stands_in_for: Vec<i64>,
}

/// The people who may decide `step` of `r` on `day`, as the rules see each candidate: its
/// named approver, their substitutes that day, every holder of its role; active only.
pub async fn deciders(
    conn: &mut PgConnection,
    r: &RequestRow,
    step: &StepRow,
    day: NaiveDate,
) -> sqlx::Result<Vec<i64>> {
    // Each candidate with whom they stand in for that day, in the one statement.
    let candidates: Vec<Candidate> = sqlx::query_as(
        "SELECT u.id, u.roles,
                ARRAY(SELECT s.approver_id FROM approval_substitutes s
                       WHERE s.substitute_id = u.id AND s.ended_at IS NULL
                         AND s.starts_on <= $3 AND s.ends_on >= $3) AS stands_in_for
           FROM users u
          WHERE u.disabled_at IS NULL
            AND (u.id = $1
                 OR u.id IN (SELECT substitute_id FROM approval_substitutes
                              WHERE approver_id = $1 AND ended_at IS NULL
                                AND starts_on <= $3 AND ends_on >= $3)
                 OR ($2::text IS NOT NULL AND $2 = ANY(u.roles)))
          ORDER BY u.id",
    )
    .bind(step.approver_user_id)
    .bind(step.approver_role)
    .bind(day)
    .fetch_all(&mut *conn)
    .await?;
    let round = db::round(conn, r.id, step.round).await?;
    let mut out = Vec::new();
    for c in candidates {
        let who = Who {
            id: c.id,
            roles: c.roles.iter().copied().collect(),
        };
        let facts = decide_facts(r, step, &round, c.id);
        if rules::may_decide(who, facts, &c.stands_in_for).is_ok() {
            out.push(c.id);
        }
    }
    Ok(out)
}

/// The facts the rules look at for `viewer` deciding `step` of `round`.
pub fn decide_facts(r: &RequestRow, step: &StepRow, round: &[StepRow], viewer: i64) -> DecideFacts {
    DecideFacts {
        request_state: r.state,
        step_state: step.state,
        approver: step.approver(),
        filed_by: r.filed_by,
        submitted_by: r.submitted_by,
        account_manager: r.client_account_manager_id,
        decided_another_step: round
            .iter()
            .any(|s| s.id != step.id && s.decided_by == Some(viewer)),
    }
}

/// Checks the step whose turn it now is (`step_id`, pending) of request `request_id` and, if
/// nobody may decide it, reroutes or flags it as the module says. Runs in the caller's
/// transaction; the request's row must show the state it will commit with. The request is
/// locked first, as every change to its steps does (a decision locks the request, then the
/// step: changing the step first would wait on it the other way round).
#[tracing::instrument(level = "debug", skip_all, fields(request = request_id, step = step_id))]
pub async fn reach(
    conn: &mut PgConnection,
    config: &Config,
    actor: &Actor,
    day: NaiveDate,
    request_id: i64,
    step_id: i64,
) -> anyhow::Result<Reached> {
    let Some(r) = crate::change_requests::db::lock(conn, request_id).await? else {
        anyhow::bail!("request {request_id} is gone");
    };
    reach_for(conn, config, actor, day, &r, step_id).await
}

/// [`reach`] for a caller that holds the request as it stands in its transaction (locked,
/// with every change made to it so far), which is then not read again.
pub async fn reach_for(
    conn: &mut PgConnection,
    config: &Config,
    actor: &Actor,
    day: NaiveDate,
    r: &RequestRow,
    step_id: i64,
) -> anyhow::Result<Reached> {
    let Some(step) = db::step(conn, step_id).await? else {
        anyhow::bail!("step {step_id} is gone");
    };
    if r.state != State::InApproval || step.state != StepState::Pending {
        return Ok(Reached::Decidable(Vec::new()));
    }
    let people = deciders(conn, r, &step, day).await?;
    // A step rests on its own approver (or its role's holders). One only a stand-in may
    // decide today is a dead end the day the stand-in's range ends: it is routed now.
    let approver_able = match step.approver() {
        Approver::User(u) => people.contains(&u),
        Approver::Role(_) => !people.is_empty(),
        Approver::Unassigned => false,
    };
    if approver_able {
        if step.flagged_at.is_some() {
            sqlx::query(
                "UPDATE request_approvals SET flagged_at = NULL, flagged_reason = NULL WHERE id = $1",
            )
            .bind(step_id)
            .execute(&mut *conn)
            .await?;
        }
        return Ok(Reached::Decidable(people));
    }
    // The approver stood in for someone on an earlier step of this round: the step goes back
    // to that person, if they may decide it.
    let round = db::round(conn, r.id, step.round).await?;
    if let Approver::User(approver) = step.approver()
        && let Some(absent) = round
            .iter()
            .filter(|s| s.id != step.id && s.decided_by == Some(approver))
            .find_map(|s| s.on_behalf_of)
    {
        let mut moved = step.clone();
        moved.approver_user_id = Some(absent);
        moved.approver_role = None;
        let absent_is_able = {
            let roles: Option<Vec<Role>> =
                sqlx::query_scalar("SELECT roles FROM users WHERE id = $1 AND disabled_at IS NULL")
                    .bind(absent)
                    .fetch_optional(&mut *conn)
                    .await?;
            roles.is_some_and(|roles| {
                let who = Who {
                    id: absent,
                    roles: roles.into_iter().collect(),
                };
                rules::may_decide(who, decide_facts(r, &moved, &round, absent), &[]).is_ok()
            })
        };
        if absent_is_able {
            let to_name: String =
                sqlx::query_scalar("SELECT display_name FROM users WHERE id = $1")
                    .bind(absent)
                    .fetch_one(&mut *conn)
                    .await?;
            let why = format!(
                "{} stood in for {to_name} on an earlier step and cannot decide this one too; it went back to {to_name}.",
                step.approver_name.clone().unwrap_or_default()
            );
            sqlx::query(
                "UPDATE request_approvals
                    SET approver_user_id = $2, approver_role = NULL, flagged_at = now(),
                        flagged_reason = $3
                  WHERE id = $1",
            )
            .bind(step_id)
            .bind(absent)
            .bind(&why)
            .execute(&mut *conn)
            .await?;
            audit::on_request(conn, actor, "change_request.step_rerouted", r.id, json!({ "step": step.name, "from": step.approver_label(), "to": to_name, "why": why }))
            .await?;
            super::notify::step_flagged(conn, config, r, &step.name, &why).await?;
            return Ok(Reached::Rerouted {
                to: absent,
                to_name,
            });
        }
    }
    let mut why = nobody_because(r, &step, &round);
    if !people.is_empty() {
        why.push_str(" Someone standing in for them may decide it until their range ends.");
    }
    sqlx::query(
        "UPDATE request_approvals SET flagged_at = now(), flagged_reason = $2 WHERE id = $1",
    )
    .bind(step_id)
    .bind(&why)
    .execute(&mut *conn)
    .await?;
    audit::on_request(
        conn,
        actor,
        "change_request.step_flagged",
        r.id,
        json!({ "step": step.name, "why": why }),
    )
    .await?;
    super::notify::step_flagged(conn, config, r, &step.name, &why).await?;
    Ok(Reached::Flagged(why))
}

/// Why nobody may decide `step`, in words for the admin.
pub fn nobody_because(r: &RequestRow, step: &StepRow, round: &[StepRow]) -> String {
    let who = match step.approver() {
        Approver::User(u) => {
            let name = step.approver_name.clone().unwrap_or_default();
            if round
                .iter()
                .any(|s| s.id != step.id && s.decided_by == Some(u))
            {
                format!("{name} already decided another step of this round")
            } else if u == r.filed_by || Some(u) == r.submitted_by {
                format!("{name} filed or submitted the request")
            } else if Some(u) == r.client_account_manager_id {
                format!("{name} is the client's account manager")
            } else {
                format!(
                    "{name} cannot decide it (disabled, no longer in an approving role, or excluded)"
                )
            }
        }
        Approver::Role(role) => format!(
            "nobody holding {} may decide it (each one is excluded or disabled)",
            role.label()
        ),
        Approver::Unassigned => "nobody is named for it".to_string(),
    };
    format!("Nobody may decide this step: {who}. Hand it to someone who can.")
}

/// Checks again the step waiting on request `request_id`, if any (after something that may
/// change who can decide it, such as the client changing hands).
pub async fn recheck(
    conn: &mut PgConnection,
    config: &Config,
    actor: &Actor,
    day: NaiveDate,
    request_id: i64,
) -> anyhow::Result<()> {
    let pending: Option<i64> = sqlx::query_scalar(
        "SELECT s.id FROM request_approvals s JOIN change_requests r ON r.id = s.change_request_id
          WHERE r.id = $1 AND r.state = 'in_approval' AND s.round = r.approval_round
            AND s.state = 'pending'",
    )
    .bind(request_id)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(step) = pending {
        reach(conn, config, actor, day, request_id, step).await?;
    }
    Ok(())
}

/// Checks again the steps that may have rested on `user` after their account was disabled or
/// their roles changed: those naming them or someone they stand in for, and, when nobody
/// active holds one of `roles` any more, the steps any holder of it decides.
pub async fn recheck_for_person(
    conn: &mut PgConnection,
    config: &Config,
    actor: &Actor,
    day: NaiveDate,
    user: i64,
    roles: RoleSet,
) -> anyhow::Result<()> {
    let mut orphaned: Vec<String> = Vec::new();
    for role in roles.iter() {
        let holders: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM users WHERE $1 = ANY(roles) AND disabled_at IS NULL",
        )
        .bind(role)
        .fetch_one(&mut *conn)
        .await?;
        if holders == 0 {
            orphaned.push(role.key().to_string());
        }
    }
    let requests: Vec<i64> = sqlx::query_scalar(
        "SELECT DISTINCT s.change_request_id FROM request_approvals s
          WHERE s.state = 'pending'
            AND (s.approver_user_id = $1
                 OR s.approver_user_id IN (SELECT approver_id FROM approval_substitutes
                                            WHERE substitute_id = $1 AND ended_at IS NULL)
                 OR s.approver_role = ANY($2))
          ORDER BY s.change_request_id",
    )
    .bind(user)
    .bind(&orphaned)
    .fetch_all(&mut *conn)
    .await?;
    for r in requests {
        recheck(conn, config, actor, day, r).await?;
    }
    Ok(())
}
