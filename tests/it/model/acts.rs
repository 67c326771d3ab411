//! What people do, as the model drives it: each act is a person (by index into the cast)
//! doing one thing to a request (by its place in filing order), a client, or the clock. An
//! act never names a database id, so a sequence replays (and shrinks) on a fresh database:
//! an act that no longer fits what exists is simply refused, and must change nothing.

use chrono::Duration;

use super::world::{Outcome, World};

/// One thing a person does.
#[derive(Clone, Debug)]
pub enum Act {
    File {
        who: usize,
        client: usize,
        kind: u8,
        escalation: u8,
        credit: bool,
        days: i64,
    },
    Record {
        who: usize,
        slot: usize,
        outcome: u8,
        stale: bool,
    },
    Edit {
        who: usize,
        slot: usize,
        kind: u8,
        days: i64,
        stale: bool,
    },
    Attach {
        who: usize,
        slot: usize,
    },
    Submit {
        who: usize,
        slot: usize,
    },
    Approve {
        who: usize,
        slot: usize,
    },
    SendBack {
        who: usize,
        slot: usize,
    },
    Withdraw {
        who: usize,
        slot: usize,
    },
    NameSubstitute {
        who: usize,
        substitute: usize,
        days: i64,
    },
    EndSubstitute {
        who: usize,
    },
    ReassignStep {
        slot: usize,
        to: usize,
    },
    HandClient {
        client: usize,
        to: usize,
    },
    /// The admin disables someone (when each of their roles has another active holder).
    Leave {
        who: usize,
    },
    /// The admin enables someone disabled.
    Return {
        who: usize,
    },
    Move {
        who: usize,
        slot: usize,
        days: i64,
    },
    Forward {
        who: usize,
        slot: usize,
        sem: usize,
    },
    Plan {
        who: usize,
        slot: usize,
    },
    Status {
        who: usize,
        slot: usize,
    },
    TaskDone {
        who: usize,
        slot: usize,
    },
    Process {
        who: usize,
        slot: usize,
    },
    TickSem {
        who: usize,
        slot: usize,
    },
    Tick {
        who: usize,
        slot: usize,
        item: usize,
    },
    Undo {
        who: usize,
        slot: usize,
        item: usize,
    },
    Reinstate {
        who: usize,
        slot: usize,
    },
    Advance {
        days: i64,
    },
}

const KINDS: [&str; 3] = ["cancellation", "pause", "addendum"];
const ESCALATIONS: [&str; 3] = ["none", "retention", "team_lead"];
const OUTCOMES: [&str; 4] = [
    "not_saved",
    "saved_pause",
    "saved_budget_change",
    "saved_no_change",
];

impl Act {
    /// The act's name, for the tally.
    pub fn name(&self) -> &'static str {
        match self {
            Act::File { .. } => "file",
            Act::Record { .. } => "record outcome",
            Act::Edit { .. } => "edit",
            Act::Attach { .. } => "attach",
            Act::Submit { .. } => "submit",
            Act::Approve { .. } => "approve",
            Act::SendBack { .. } => "send back",
            Act::Withdraw { .. } => "withdraw",
            Act::NameSubstitute { .. } => "name substitute",
            Act::EndSubstitute { .. } => "end substitute",
            Act::ReassignStep { .. } => "hand step on",
            Act::HandClient { .. } => "hand client on",
            Act::Leave { .. } => "disable someone",
            Act::Return { .. } => "enable again",
            Act::Move { .. } => "move date",
            Act::Forward { .. } => "forward",
            Act::Plan { .. } => "add to planner",
            Act::Status { .. } => "update status",
            Act::TaskDone { .. } => "change task done",
            Act::Process { .. } => "process",
            Act::TickSem { .. } => "ads paused",
            Act::Tick { .. } => "tick item",
            Act::Undo { .. } => "undo item",
            Act::Reinstate { .. } => "reinstate",
            Act::Advance { .. } => "days pass",
        }
    }

    /// Does it, as that person would through the app; says whether anything was done.
    pub async fn run(&self, w: &World) -> Outcome {
        match *self {
            Act::File {
                who,
                client,
                kind,
                escalation,
                credit,
                days,
            } => {
                let client_id = w.client(client);
                let kind = KINDS[kind as usize % 3];
                let mut form: Vec<(&str, String)> = vec![
                    ("kind", kind.into()),
                    (
                        "cancel_scope",
                        if days % 2 == 0 {
                            "services_only"
                        } else {
                            "leave_platform"
                        }
                        .into(),
                    ),
                    ("effective_date", w.day(days)),
                    ("reason_id", w.reason.to_string()),
                    ("product_notes", "Pause every campaign".into()),
                    ("escalation", ESCALATIONS[escalation as usize % 3].into()),
                    ("escalated_to", w.team_lead().to_string()),
                ];
                if kind == "pause" {
                    form.push(("resume_date", w.day(days + 30)));
                }
                if kind == "addendum" {
                    form.push(("current_budget", "2500".into()));
                    form.push(("new_budget", "1500".into()));
                }
                if credit {
                    form.push(("credit", "250".into()));
                    form.push(("credit_reason", "Goodwill".into()));
                }
                w.post(who, &format!("/clients/{client_id}/requests"), &form)
                    .await
            }
            Act::Record {
                who,
                slot,
                outcome,
                stale,
            } => {
                let Some(r) = w.request(slot).await else {
                    return Outcome::Skipped;
                };
                let recorded = if stale {
                    String::new()
                } else {
                    w.recorded_outcome(r).await
                };
                let form = vec![
                    ("call_date", w.day(0)),
                    ("outcome", OUTCOMES[outcome as usize % 4].to_string()),
                    ("effective_date", w.day(20)),
                    ("resume_date", w.day(60)),
                    ("current_budget", "2500".into()),
                    ("new_budget", "1200".into()),
                    ("recorded", recorded),
                ];
                w.post(who, &format!("/requests/{r}/save-attempt"), &form)
                    .await
            }
            Act::Edit {
                who,
                slot,
                kind,
                days,
                stale,
            } => {
                let Some(r) = w.request(slot).await else {
                    return Outcome::Skipped;
                };
                let version = w.version(r).await - i32::from(stale);
                let kind = KINDS[kind as usize % 3];
                let mut form: Vec<(&str, String)> = vec![
                    ("kind", kind.into()),
                    ("cancel_scope", "services_only".into()),
                    ("effective_date", w.day(days)),
                    ("reason_id", w.reason.to_string()),
                    ("product_notes", format!("Edited with {days} days")),
                    ("version", version.to_string()),
                ];
                if kind == "addendum" {
                    form.push(("current_budget", "2500".into()));
                    form.push(("new_budget", format!("{}", 1000 + days)));
                }
                w.post(who, &format!("/requests/{r}"), &form).await
            }
            Act::Attach { who, slot } => {
                let Some(r) = w.request(slot).await else {
                    return Outcome::Skipped;
                };
                w.attach(who, r).await
            }
            Act::Submit { who, slot } => {
                let Some(r) = w.request(slot).await else {
                    return Outcome::Skipped;
                };
                w.post(who, &format!("/requests/{r}/submit"), &[]).await
            }
            Act::Approve { who, slot } | Act::SendBack { who, slot } => {
                let Some(r) = w.request(slot).await else {
                    return Outcome::Skipped;
                };
                let Some(step) = w.current_step(r).await else {
                    return Outcome::Skipped;
                };
                let (action, comment) = match self {
                    Act::Approve { .. } => ("approve", ""),
                    _ => ("send-back", "The dates do not match the client's letter"),
                };
                w.post(
                    who,
                    &format!("/approvals/{step}/{action}"),
                    &[("comment", comment.to_string())],
                )
                .await
            }
            Act::Withdraw { who, slot } => {
                let Some(r) = w.request(slot).await else {
                    return Outcome::Skipped;
                };
                w.post(
                    who,
                    &format!("/requests/{r}/withdraw"),
                    &[("reason", "Filed by mistake".to_string())],
                )
                .await
            }
            Act::NameSubstitute {
                who,
                substitute,
                days,
            } => {
                let form = vec![
                    ("substitute", w.person(substitute).id.to_string()),
                    ("starts_on", w.day(0)),
                    ("ends_on", w.day(days)),
                ];
                w.post(who, "/substitutes", &form).await
            }
            Act::EndSubstitute { who } => {
                let id: Option<i64> = sqlx::query_scalar(
                    "SELECT id FROM approval_substitutes WHERE approver_id = $1 AND ended_at IS NULL
                      ORDER BY id LIMIT 1",
                )
                .bind(w.person(who).id)
                .fetch_optional(&w.app.db)
                .await
                .unwrap();
                match id {
                    Some(id) => w.post(who, &format!("/substitutes/{id}/end"), &[]).await,
                    None => Outcome::Skipped,
                }
            }
            Act::ReassignStep { slot, to } => {
                let Some(r) = w.request(slot).await else {
                    return Outcome::Skipped;
                };
                let Some(step) = w.current_step(r).await else {
                    return Outcome::Skipped;
                };
                let choices = [
                    format!("user:{}", w.by_key("jeremy").id),
                    format!("user:{}", w.by_key("dustin").id),
                    format!("user:{}", w.by_key("pat").id),
                    format!("user:{}", w.by_key("amy_approver").id),
                    "role:finance".to_string(),
                    "role:approver".to_string(),
                    "role:accounting".to_string(),
                ];
                let admin = w.index_of("admin");
                w.post(
                    admin,
                    &format!("/admin/approval-steps/{step}/reassign"),
                    &[("approver", choices[to % choices.len()].clone())],
                )
                .await
            }
            Act::HandClient { client, to } => w.hand_client(client, to).await,
            Act::Leave { who } => w.disable(who).await,
            Act::Return { who } => w.enable(who).await,
            Act::Move { who, slot, days } => {
                let Some(r) = w.request(slot).await else {
                    return Outcome::Skipped;
                };
                let entry: Option<i64> = sqlx::query_scalar(
                    "SELECT id FROM planner_entries WHERE change_request_id = $1 AND removed_at IS NULL",
                )
                .bind(r)
                .fetch_optional(&w.app.db)
                .await
                .unwrap();
                let Some(entry) = entry else {
                    return Outcome::Skipped;
                };
                let form = vec![
                    ("effective_date", w.day(days)),
                    ("resume_date", w.day(days + 45)),
                ];
                w.post(who, &format!("/planner/{entry}"), &form).await
            }
            Act::Forward { who, slot, sem } => {
                let Some(task) = w.task_of_slot(slot).await else {
                    return Outcome::Skipped;
                };
                let sem = w.sem(sem);
                w.post(
                    who,
                    &format!("/tasks/{task}/forward"),
                    &[("sem_specialist", sem.to_string())],
                )
                .await
            }
            Act::Plan { who, slot } => {
                let Some(task) = w.task_of_slot(slot).await else {
                    return Outcome::Skipped;
                };
                w.post(who, &format!("/tasks/{task}/planner"), &[]).await
            }
            Act::Status { who, slot } => {
                let Some(r) = w.request(slot).await else {
                    return Outcome::Skipped;
                };
                let Some(task) = w.task_of(r).await else {
                    return Outcome::Skipped;
                };
                let (kind, scope, effective, new_budget): (
                    String,
                    Option<String>,
                    chrono::NaiveDate,
                    Option<i64>,
                ) = sqlx::query_as(
                    "SELECT kind, cancel_scope, effective_date, new_budget_cents
                       FROM change_requests WHERE id = $1",
                )
                .bind(r)
                .fetch_one(&w.app.db)
                .await
                .unwrap();
                let status = match (kind.as_str(), scope.as_deref()) {
                    ("pause", _) => "paused",
                    ("addendum", _) => "active",
                    (_, Some("leave_platform")) => "left_platform",
                    _ => "cancelled_dms",
                };
                let form = vec![
                    ("status", status.to_string()),
                    ("effective_date", effective.to_string()),
                    (
                        "new_budget",
                        format!("{:.2}", new_budget.unwrap_or(100_000) as f64 / 100.0),
                    ),
                ];
                w.post(who, &format!("/tasks/{task}/status"), &form).await
            }
            Act::TaskDone { who, slot } => {
                let Some(task) = w.task_of_slot(slot).await else {
                    return Outcome::Skipped;
                };
                w.post(who, &format!("/tasks/{task}/done"), &[]).await
            }
            Act::Process { who, slot } => {
                let Some(r) = w.request(slot).await else {
                    return Outcome::Skipped;
                };
                w.post(
                    who,
                    &format!("/requests/{r}/processed"),
                    &[("note", "Records updated".to_string())],
                )
                .await
            }
            Act::TickSem { who, slot } => {
                let Some(r) = w.request(slot).await else {
                    return Outcome::Skipped;
                };
                let task: Option<i64> =
                    sqlx::query_scalar("SELECT id FROM sem_tasks WHERE change_request_id = $1")
                        .bind(r)
                        .fetch_optional(&w.app.db)
                        .await
                        .unwrap();
                let Some(task) = task else {
                    return Outcome::Skipped;
                };
                w.post(
                    who,
                    &format!("/sem-tasks/{task}/done"),
                    &[("note", "Paused".to_string())],
                )
                .await
            }
            Act::Tick { who, slot, item } | Act::Undo { who, slot, item } => {
                let Some(r) = w.request(slot).await else {
                    return Outcome::Skipped;
                };
                let items: Vec<i64> = sqlx::query_scalar(
                    "SELECT id FROM checklist_items WHERE change_request_id = $1 ORDER BY position, id",
                )
                .bind(r)
                .fetch_all(&w.app.db)
                .await
                .unwrap();
                if items.is_empty() {
                    return Outcome::Skipped;
                }
                let item = items[item % items.len()];
                match self {
                    Act::Tick { .. } => {
                        w.post(
                            who,
                            &format!("/checklist/{item}/done"),
                            &[("note", String::new())],
                        )
                        .await
                    }
                    _ => {
                        w.post(
                            who,
                            &format!("/checklist/{item}/undo"),
                            &[("reason", "Ticked by mistake".to_string())],
                        )
                        .await
                    }
                }
            }
            Act::Reinstate { who, slot } => {
                let Some(r) = w.request(slot).await else {
                    return Outcome::Skipped;
                };
                w.post(
                    who,
                    &format!("/requests/{r}/reinstate"),
                    &[("reason", "The client changed their mind".to_string())],
                )
                .await
            }
            Act::Advance { days } => {
                w.app.state.clock.advance(Duration::days(days));
                let runner = offboarding_desk::server::job_runner(&w.app.state.config);
                runner
                    .run_due(&w.app.db, w.app.state.clock.now())
                    .await
                    .unwrap();
                Outcome::Done
            }
        }
    }
}
