//! What must hold after every act, checked against the database and the desks people see.
//! Who may move a request on is worked out here from the design (DESIGN.md), in SQL and
//! plain code of its own, not by asking the app's rules: where the two disagree, the model
//! says so.

use std::collections::HashMap;

use offboarding_desk::auth::roles::Role;
use sqlx::PgPool;

use super::world::World;

/// A fingerprint of everything an act may change (not the audit log, sessions or the mail
/// already queued): equal before and after means the act changed nothing.
pub async fn snapshot(db: &PgPool) -> String {
    sqlx::query_scalar(
        "SELECT md5(concat_ws('|',
            (SELECT string_agg(concat_ws(',', id, client_id, state, kind, cancel_scope, version,
                    effective_date, resume_date, current_budget_cents, new_budget_cents,
                    credit_cents, approval_round, submitted_by, processed_at IS NOT NULL,
                    withdrawn_reason, reinstated_at IS NOT NULL, original_kind, escalated_to,
                    reason_id, reason_text, product_notes), ';' ORDER BY id)
               FROM change_requests),
            (SELECT string_agg(concat_ws(',', id, state, approver_user_id, approver_role,
                    decided_by, on_behalf_of, flagged_at IS NOT NULL, flagged_reason), ';' ORDER BY id)
               FROM request_approvals),
            (SELECT string_agg(concat_ws(',', id, outcome, call_date, offered), ';' ORDER BY id)
               FROM save_attempts),
            (SELECT string_agg(concat_ws(',', id, forwarded_to, status_updated_at IS NOT NULL,
                    done_at IS NOT NULL), ';' ORDER BY id) FROM change_tasks),
            (SELECT string_agg(concat_ws(',', id, assignee, due_on, done_at IS NOT NULL,
                    cancelled_at IS NOT NULL), ';' ORDER BY id) FROM sem_tasks),
            (SELECT string_agg(concat_ws(',', id, assignee, due_on, done_by,
                    cancelled_at IS NOT NULL), ';' ORDER BY id) FROM checklist_items),
            (SELECT string_agg(concat_ws(',', id, effective_date, resume_date, sem_specialist_id,
                    account_manager_id, removed_at IS NOT NULL), ';' ORDER BY id) FROM planner_entries),
            (SELECT string_agg(concat_ws(',', id, substitute_id, ends_on, ended_at IS NOT NULL),
                    ';' ORDER BY id) FROM approval_substitutes),
            (SELECT string_agg(concat_ws(',', id, account_manager_id, status,
                    monthly_budget_cents, version), ';' ORDER BY id) FROM clients),
            (SELECT count(*) FROM client_status_history),
            (SELECT string_agg(concat_ws(',', id, superseded_at IS NOT NULL), ';' ORDER BY id)
               FROM request_attachments),
            (SELECT string_agg(concat_ws(',', key, run_at, state), ';' ORDER BY key)
               FROM scheduled_jobs WHERE state = 'pending'),
            (SELECT count(*) FROM outbox_messages)))",
    )
    .fetch_one(db)
    .await
    .unwrap()
}

/// Every invariant; the first broken one, in words.
pub async fn check(w: &World) -> Result<(), String> {
    check_records(&w.app.db).await?;
    everything_open_waits_on_someone_who_has_it_on_their_desk(w).await?;
    Ok(())
}

pub use crate::shared::records::check_records;

/// The step waiting on request `r` (its id and whether it is flagged for the admin) and the
/// people who may decide it, as the design says: its named approver, their substitutes today,
/// or its role's holders; never whoever filed or submitted the request, the client's account
/// manager, or someone who decided another step of the round.
pub async fn deciders(w: &World, r: i64) -> Option<(i64, bool, Vec<i64>)> {
    let db = &w.app.db;
    #[derive(sqlx::FromRow)]
    struct Waiting {
        id: i64,
        round: i32,
        approver_user_id: Option<i64>,
        approver_role: Option<String>,
        flagged: bool,
        filed_by: i64,
        submitted_by: Option<i64>,
        account_manager: Option<i64>,
    }
    let step: Option<Waiting> = sqlx::query_as(
        "SELECT s.id, s.round, s.approver_user_id, s.approver_role,
                s.flagged_at IS NOT NULL AS flagged, r.filed_by, r.submitted_by,
                c.account_manager_id AS account_manager
           FROM request_approvals s
           JOIN change_requests r ON r.id = s.change_request_id
           JOIN clients c ON c.id = r.client_id
          WHERE r.id = $1 AND r.state = 'in_approval' AND s.round = r.approval_round
            AND s.state = 'pending'",
    )
    .bind(r)
    .fetch_optional(db)
    .await
    .unwrap();
    let step = step?;
    let decided: Vec<i64> = sqlx::query_scalar(
        "SELECT decided_by FROM request_approvals
          WHERE change_request_id = $1 AND round = $2 AND decided_by IS NOT NULL",
    )
    .bind(r)
    .bind(step.round)
    .fetch_all(db)
    .await
    .unwrap();
    let mut candidates: Vec<i64> = Vec::new();
    if let Some(u) = step.approver_user_id {
        candidates.push(u);
        let subs: Vec<i64> = sqlx::query_scalar(
            "SELECT substitute_id FROM approval_substitutes
              WHERE approver_id = $1 AND ended_at IS NULL AND starts_on <= $2 AND ends_on >= $2",
        )
        .bind(u)
        .bind(w.app.state.clock.today())
        .fetch_all(db)
        .await
        .unwrap();
        candidates.extend(subs);
    }
    if let Some(role) = step.approver_role.as_deref().and_then(Role::from_key) {
        candidates.extend(w.holders(role).into_iter().map(|i| w.people[i].id));
    }
    let excluded = |u: i64| {
        u == step.filed_by
            || Some(u) == step.submitted_by
            || Some(u) == step.account_manager
            || decided.contains(&u)
    };
    candidates.retain(|u| !excluded(*u) && w.is_active(*u));
    candidates.sort_unstable();
    candidates.dedup();
    Some((step.id, step.flagged, candidates))
}

/// Whether the design lets person `who` submit request `r` now: from a draft, Retention or
/// a send-back; Retention once a save attempt exists (and its call is recorded), otherwise the
/// client's account manager; an addendum only with a signed document that still matches.
pub async fn may_submit(w: &World, r: i64, who: usize) -> bool {
    #[derive(sqlx::FromRow)]
    struct Facts {
        state: String,
        kind: String,
        account_manager: Option<i64>,
        has_save_attempt: bool,
        call_recorded: bool,
        documents: i64,
    }
    let f: Facts = sqlx::query_as(
        "SELECT r.state, r.kind, c.account_manager_id AS account_manager,
                EXISTS (SELECT 1 FROM save_attempts s WHERE s.change_request_id = r.id) AS has_save_attempt,
                EXISTS (SELECT 1 FROM save_attempts s WHERE s.change_request_id = r.id
                          AND s.outcome IS NOT NULL) AS call_recorded,
                (SELECT count(*) FROM request_attachments a WHERE a.change_request_id = r.id
                   AND a.superseded_at IS NULL) AS documents
           FROM change_requests r JOIN clients c ON c.id = r.client_id WHERE r.id = $1",
    )
    .bind(r)
    .fetch_one(&w.app.db)
    .await
    .unwrap();
    let p = w.person(who);
    let submitter = if f.has_save_attempt {
        p.roles.contains(&Role::Retention)
    } else {
        f.account_manager == Some(p.id) && p.roles.contains(&Role::AccountManager)
    };
    matches!(
        f.state.as_str(),
        "draft" | "with_retention" | "changes_requested"
    ) && submitter
        && (!f.has_save_attempt || f.call_recorded)
        && (f.kind != "addendum" || f.documents > 0)
}

/// Whether the design lets person `who` withdraw request `r` now: an open request, by its
/// client's account manager or (once involved) Retention; while in approval, by whoever may
/// submit it.
pub async fn may_withdraw(w: &World, r: i64, who: usize) -> bool {
    let (state, account_manager, has_save_attempt): (String, Option<i64>, bool) = sqlx::query_as(
        "SELECT r.state, c.account_manager_id,
                EXISTS (SELECT 1 FROM save_attempts s WHERE s.change_request_id = r.id)
           FROM change_requests r JOIN clients c ON c.id = r.client_id WHERE r.id = $1",
    )
    .bind(r)
    .fetch_one(&w.app.db)
    .await
    .unwrap();
    let p = w.person(who);
    let am = account_manager == Some(p.id) && p.roles.contains(&Role::AccountManager);
    let retention = has_save_attempt && p.roles.contains(&Role::Retention);
    match state.as_str() {
        "draft" | "with_retention" | "changes_requested" => am || retention,
        "in_approval" => {
            if has_save_attempt {
                retention
            } else {
                am
            }
        }
        _ => false,
    }
}

/// Whether the design lets person `who` record (or correct) the retention call on request
/// `r` with a form that showed `recorded` as the outcome already recorded: Retention, while
/// the request is in their hands (with them, or sent back to them), the form not stale.
pub async fn may_record(w: &World, r: i64, who: usize, recorded: &str) -> bool {
    let (state, outcome, has_save_attempt): (String, Option<String>, bool) = sqlx::query_as(
        "SELECT r.state, s.outcome, s.id IS NOT NULL
           FROM change_requests r LEFT JOIN save_attempts s ON s.change_request_id = r.id
          WHERE r.id = $1",
    )
    .bind(r)
    .fetch_one(&w.app.db)
    .await
    .unwrap();
    w.person(who).roles.contains(&Role::Retention)
        && has_save_attempt
        && matches!(state.as_str(), "with_retention" | "changes_requested")
        && outcome.as_deref().unwrap_or("") == recorded
}

/// Who may move an open (or approved, not yet completed) request on, and what their desk
/// shows for it.
struct Mover {
    person: usize,
    /// Text the person's desk contains for it.
    mark: String,
    why: &'static str,
}

async fn everything_open_waits_on_someone_who_has_it_on_their_desk(
    w: &World,
) -> Result<(), String> {
    let db = &w.app.db;
    #[derive(sqlx::FromRow)]
    struct Open {
        id: i64,
        state: String,
        account_manager: Option<i64>,
        has_save_attempt: bool,
        processed: bool,
        reversal: bool,
    }
    let open: Vec<Open> = sqlx::query_as(
        "SELECT r.id, r.state, c.account_manager_id AS account_manager,
                EXISTS (SELECT 1 FROM save_attempts s WHERE s.change_request_id = r.id) AS has_save_attempt,
                r.processed_at IS NOT NULL AS processed, r.reverses_id IS NOT NULL AS reversal
           FROM change_requests r JOIN clients c ON c.id = r.client_id
          WHERE r.state NOT IN ('completed', 'withdrawn')
          ORDER BY r.id",
    )
    .fetch_all(db)
    .await
    .unwrap();
    let holders = |role: Role| w.holders(role);
    let index_of_id = |id: i64| w.people.iter().position(|p| p.id == id);
    struct Step {
        id: i64,
        flagged: bool,
    }
    let mut desks: HashMap<usize, String> = HashMap::new();
    for r in open {
        let link = format!("/requests/{}\"", r.id);
        let mut movers: Vec<Mover> = Vec::new();
        let am_movers = |movers: &mut Vec<Mover>| {
            if let Some(i) = r.account_manager.and_then(index_of_id)
                && w.people[i].roles.contains(&Role::AccountManager)
                && w.people[i].is_active()
            {
                movers.push(Mover {
                    person: i,
                    mark: link.clone(),
                    why: "the client's account manager",
                });
            } else {
                for i in holders(Role::Admin) {
                    movers.push(Mover {
                        person: i,
                        mark: link.clone(),
                        why: "the admin, for a client whose account manager cannot act",
                    });
                }
            }
        };
        match r.state.as_str() {
            "draft" => am_movers(&mut movers),
            "with_retention" => {
                for i in holders(Role::Retention) {
                    movers.push(Mover {
                        person: i,
                        mark: link.clone(),
                        why: "the Retention Team",
                    });
                }
            }
            "changes_requested" if r.has_save_attempt => {
                for i in holders(Role::Retention) {
                    movers.push(Mover {
                        person: i,
                        mark: link.clone(),
                        why: "the Retention Team, who submit it again",
                    });
                }
            }
            "changes_requested" => am_movers(&mut movers),
            "in_approval" => {
                let (step, flagged, deciders) = deciders(w, r.id).await.expect("a step waits");
                for u in deciders {
                    if let Some(i) = index_of_id(u) {
                        movers.push(Mover {
                            person: i,
                            mark: link.clone(),
                            why: "who may decide the step waiting",
                        });
                    }
                }
                let step = Step { id: step, flagged };
                if movers.is_empty() {
                    if !step.flagged {
                        return Err(format!(
                            "request {}: nobody may decide step {} and it is not flagged for the admin",
                            r.id, step.id
                        ));
                    }
                    for i in holders(Role::Admin) {
                        movers.push(Mover {
                            person: i,
                            mark: link.clone(),
                            why: "the admin, for a step nobody may decide",
                        });
                    }
                }
            }
            "approved" => {
                if !r.processed {
                    for i in holders(Role::Accounting) {
                        movers.push(Mover {
                            person: i,
                            mark: link.clone(),
                            why: "Accounting, to process it",
                        });
                    }
                }
                let task: Option<(i64, bool)> = sqlx::query_as(
                    "SELECT id, done_at IS NOT NULL FROM change_tasks WHERE change_request_id = $1",
                )
                .bind(r.id)
                .fetch_optional(db)
                .await
                .unwrap();
                if let Some((task, false)) = task {
                    for i in holders(Role::OpsLead) {
                        movers.push(Mover {
                            person: i,
                            mark: format!("/tasks/{task}\""),
                            why: "the Ops Lead, for the change task",
                        });
                    }
                }
                if !r.reversal {
                    let sem: Option<i64> = sqlx::query_scalar(
                        "SELECT assignee FROM sem_tasks WHERE change_request_id = $1
                           AND done_at IS NULL AND cancelled_at IS NULL",
                    )
                    .bind(r.id)
                    .fetch_optional(db)
                    .await
                    .unwrap();
                    if let Some(i) = sem.and_then(index_of_id) {
                        if w.people[i].is_active() {
                            movers.push(Mover {
                                person: i,
                                mark: link.clone(),
                                why: "the SEM specialist, to pause the ads",
                            });
                        } else {
                            for i in holders(Role::Admin) {
                                movers.push(Mover {
                                    person: i,
                                    mark: link.clone(),
                                    why: "the admin, for a pause task resting on someone disabled",
                                });
                            }
                        }
                    }
                    let items: Vec<(i64, String, Option<i64>)> = sqlx::query_as(
                        "SELECT id, owner_role, assignee FROM checklist_items
                          WHERE change_request_id = $1 AND done_at IS NULL AND cancelled_at IS NULL",
                    )
                    .bind(r.id)
                    .fetch_all(db)
                    .await
                    .unwrap();
                    for (item, owner, assignee) in items {
                        let owners: Vec<usize> = match (Role::from_key(&owner), assignee) {
                            (Some(Role::SemSpecialist), Some(a)) => {
                                match index_of_id(a) {
                                    Some(i) if w.people[i].is_active() => vec![i],
                                    Some(_) => {
                                        // Resting on someone disabled: the admin's.
                                        for i in holders(Role::Admin) {
                                            movers.push(Mover {
                                                person: i,
                                                mark: link.clone(),
                                                why: "the admin, for SEM items resting on someone disabled",
                                            });
                                        }
                                        Vec::new()
                                    }
                                    None => Vec::new(),
                                }
                            }
                            (Some(role), _) => holders(role),
                            (None, _) => Vec::new(),
                        };
                        for i in owners {
                            movers.push(Mover {
                                person: i,
                                mark: format!("data-item=\"{item}\""),
                                why: "an offboarding item's owner",
                            });
                        }
                    }
                }
                if movers.is_empty() {
                    return Err(format!(
                        "request {}: approved with nothing left to do, yet not completed",
                        r.id
                    ));
                }
            }
            other => return Err(format!("request {}: unknown state {other}", r.id)),
        }
        // People may be disabled (never the last active holder of a role); everyone keeps
        // the roles they were given.
        if movers.is_empty() {
            return Err(format!(
                "request {} ({}): nobody may move it on",
                r.id, r.state
            ));
        }
        for m in movers {
            if let std::collections::hash_map::Entry::Vacant(e) = desks.entry(m.person) {
                e.insert(w.app.page(&w.people[m.person].cookie, "/").await);
            }
            if !desks[&m.person].contains(&m.mark) {
                return Err(format!(
                    "request {} ({}): not on the desk of {} ({}), who may move it on",
                    r.id, r.state, w.people[m.person].key, m.why
                ));
            }
        }
    }
    Ok(())
}
