//! After approval, as pure rules: what the change task needs, who does each part, the status a
//! request leads to, the SEM specialist's pause task, reminders, and when a request is complete.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::auth::roles::Role;
use crate::auth::roles::Who;
use crate::change_requests::rules::{Kind, Refusal, State};
pub use crate::clients::status::Status;

/// The status a request leads to: a pause pauses, a cancellation cancels digital marketing or
/// the whole platform, an addendum keeps the client active with the new budget.
pub fn status_for(kind: Kind, leaves_platform: bool) -> Status {
    match kind {
        Kind::Pause => Status::Paused,
        Kind::Cancellation if leaves_platform => Status::LeftPlatform,
        Kind::Cancellation => Status::CancelledDms,
        Kind::Addendum => Status::Active,
    }
}

/// Cancellations and pauses go on the planner sheet and give SEM a task to pause the ads; an
/// addendum changes a budget and needs neither.
pub fn needs_planner(kind: Kind) -> bool {
    matches!(kind, Kind::Cancellation | Kind::Pause)
}

/// An entry's dates may be moved on the planner while its request is approved: a completed,
/// withdrawn or reinstated request's dates are history.
pub fn dates_movable(request_state: State) -> bool {
    request_state == State::Approved
}

/// Where a change task stands.
#[derive(Clone, Copy, Debug)]
pub struct TaskFacts {
    pub kind: Kind,
    /// A reinstatement: nothing goes on the planner, the status was restored on approval.
    pub reversal: bool,
    pub request_state: State,
    pub forwarded: bool,
    pub on_planner: bool,
    pub status_updated: bool,
    pub done: bool,
}

/// The parts of a change task still to do, in the order the page lists them.
pub fn remaining(f: TaskFacts) -> Vec<&'static str> {
    let mut left = Vec::new();
    if !f.forwarded {
        left.push("Forward to the SEM specialist");
    }
    if needs_planner(f.kind) && !f.reversal && !f.on_planner {
        left.push("Add to the planner sheet");
    }
    if !f.status_updated {
        left.push("Update the account status");
    }
    left
}

fn ops_lead(who: Who) -> Result<(), Refusal> {
    if who.roles.contains(Role::OpsLead) {
        Ok(())
    } else {
        Err(Refusal("The DM Operations Lead works the change tasks."))
    }
}

fn open_task(f: TaskFacts) -> Result<(), Refusal> {
    if f.done {
        return Err(Refusal("This change task is already done."));
    }
    if !matches!(f.request_state, State::Approved) {
        return Err(Refusal(
            "The request is no longer approved and waiting; the change task is closed.",
        ));
    }
    Ok(())
}

pub fn may_forward(who: Who, f: TaskFacts) -> Result<(), Refusal> {
    ops_lead(who)?;
    open_task(f)?;
    if f.forwarded {
        return Err(Refusal("It was already forwarded to the SEM specialist."));
    }
    Ok(())
}

pub fn may_add_to_planner(who: Who, f: TaskFacts) -> Result<(), Refusal> {
    ops_lead(who)?;
    open_task(f)?;
    if !needs_planner(f.kind) || f.reversal {
        return Err(Refusal(
            "Only cancellations and pauses go on the planner sheet.",
        ));
    }
    if f.on_planner {
        return Err(Refusal("The client is already on the planner sheet."));
    }
    Ok(())
}

pub fn may_update_status(who: Who, f: TaskFacts) -> Result<(), Refusal> {
    ops_lead(who)?;
    open_task(f)?;
    if f.status_updated {
        return Err(Refusal("The account status was already updated."));
    }
    Ok(())
}

pub fn may_mark_done(who: Who, f: TaskFacts) -> Result<(), Refusal> {
    ops_lead(who)?;
    open_task(f)?;
    if !remaining(f).is_empty() {
        return Err(Refusal(
            "Not everything is done yet: the page lists what remains.",
        ));
    }
    Ok(())
}

/// Ticking the pause task: the specialist it was given to, once.
pub fn may_tick_sem_task(
    who: Who,
    assignee: i64,
    done: bool,
    cancelled: bool,
) -> Result<(), Refusal> {
    if who.id != assignee || !who.roles.contains(Role::SemSpecialist) {
        return Err(Refusal("Only the SEM specialist it was given to ticks it."));
    }
    if cancelled {
        return Err(Refusal("This task was cancelled."));
    }
    if done {
        return Err(Refusal("This task is already done."));
    }
    Ok(())
}

/// The pause task is due now when its date is today or past.
pub fn due_now(due_on: NaiveDate, today: NaiveDate) -> bool {
    due_on <= today
}

/// What completing a request waits for.
#[derive(Clone, Copy, Debug)]
pub struct CompletionFacts {
    pub kind: Kind,
    pub reversal: bool,
    pub state: State,
    pub processed: bool,
    pub task_done: bool,
    pub sem_task_done: bool,
    pub checklist_done: bool,
}

/// Complete when Accounting processed it, its change task is done, its pause task is done
/// (cancellations and pauses) and its offboarding checklist is done (cancellations). A
/// reinstatement has neither task nor checklist.
pub fn is_complete(f: CompletionFacts) -> bool {
    f.state == State::Approved
        && f.processed
        && f.task_done
        && (f.reversal
            || ((!needs_planner(f.kind) || f.sem_task_done)
                && (f.kind != Kind::Cancellation || f.checklist_done)))
}

/// When each reminder `days` before `effective` is due, at the reminders' hour in the agency's
/// `zone`; those already past at `now` are left out, except that the day itself is always kept
/// while it is still that day in the agency.
pub fn reminder_times(
    effective: NaiveDate,
    days: &[u32],
    now: DateTime<Utc>,
    zone: Tz,
) -> Vec<(u32, DateTime<Utc>)> {
    let today = crate::time::day_in(zone, now);
    let mut out: Vec<(u32, DateTime<Utc>)> = days
        .iter()
        .map(|d| {
            let at = crate::time::at_local(
                zone,
                effective - Duration::days(*d as i64),
                crate::time::REMINDER_TIME,
            );
            (*d, at)
        })
        .filter(|(d, at)| *at > now || (*d == 0 && today <= effective))
        .map(|(d, at)| (d, at.max(now)))
        .collect();
    out.sort_by_key(|(d, _)| std::cmp::Reverse(*d));
    out.dedup_by_key(|(d, _)| *d);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(id: i64, role: Role) -> Who {
        Who {
            id,
            roles: [role].into_iter().collect(),
        }
    }

    fn facts(kind: Kind) -> TaskFacts {
        TaskFacts {
            kind,
            reversal: false,
            request_state: State::Approved,
            forwarded: false,
            on_planner: false,
            status_updated: false,
            done: false,
        }
    }

    #[test]
    fn each_kind_leads_to_its_status() {
        assert_eq!(status_for(Kind::Pause, false), Status::Paused);
        assert_eq!(status_for(Kind::Cancellation, false), Status::CancelledDms);
        assert_eq!(status_for(Kind::Cancellation, true), Status::LeftPlatform);
        assert_eq!(status_for(Kind::Addendum, false), Status::Active);
    }

    #[test]
    fn an_addendum_needs_no_planner_and_its_task_is_done_after_forward_and_status() {
        let mut f = facts(Kind::Addendum);
        assert_eq!(remaining(f).len(), 2);
        f.forwarded = true;
        f.status_updated = true;
        assert!(remaining(f).is_empty());
        assert!(may_mark_done(who(1, Role::OpsLead), f).is_ok());
        assert!(may_add_to_planner(who(1, Role::OpsLead), facts(Kind::Addendum)).is_err());
    }

    /// From DESIGN.md: the Ops Lead forwards the change task, puts cancellations and pauses
    /// (never addendums) on the planner, updates the status, each once, on an approved request,
    /// and marks it done when nothing remains.
    #[test]
    fn the_change_task_parts_follow_the_design_table() {
        let ops = who(1, Role::OpsLead);
        let fresh = |kind| facts(kind);
        let all_done = |kind| TaskFacts {
            forwarded: true,
            on_planner: true,
            status_updated: true,
            ..facts(kind)
        };
        // (case, who, facts, forward, planner, status, done)
        let cases = [
            (
                "a fresh cancellation",
                ops,
                fresh(Kind::Cancellation),
                true,
                true,
                true,
                false,
            ),
            (
                "a fresh pause",
                ops,
                fresh(Kind::Pause),
                true,
                true,
                true,
                false,
            ),
            (
                "a fresh addendum: no planner",
                ops,
                fresh(Kind::Addendum),
                true,
                false,
                true,
                false,
            ),
            (
                "a cancellation with every part done",
                ops,
                all_done(Kind::Cancellation),
                false,
                false,
                false,
                true,
            ),
            (
                "an addendum forwarded and updated",
                ops,
                TaskFacts {
                    forwarded: true,
                    status_updated: true,
                    ..facts(Kind::Addendum)
                },
                false,
                false,
                false,
                true,
            ),
            (
                "a pause not yet on the planner",
                ops,
                TaskFacts {
                    forwarded: true,
                    status_updated: true,
                    ..facts(Kind::Pause)
                },
                false,
                true,
                false,
                false,
            ),
            (
                "a task already done",
                ops,
                TaskFacts {
                    done: true,
                    ..all_done(Kind::Pause)
                },
                false,
                false,
                false,
                false,
            ),
            (
                "a request no longer approved",
                ops,
                TaskFacts {
                    request_state: State::Completed,
                    ..fresh(Kind::Pause)
                },
                false,
                false,
                false,
                false,
            ),
            (
                "a reinstatement: no planner",
                ops,
                TaskFacts {
                    reversal: true,
                    ..fresh(Kind::Cancellation)
                },
                true,
                false,
                true,
                false,
            ),
            (
                "a SEM specialist",
                who(1, Role::SemSpecialist),
                fresh(Kind::Cancellation),
                false,
                false,
                false,
                false,
            ),
            (
                "the admin",
                who(1, Role::Admin),
                all_done(Kind::Cancellation),
                false,
                false,
                false,
                false,
            ),
            (
                "an Ops Lead who is also admin",
                Who {
                    id: 1,
                    roles: [Role::OpsLead, Role::Admin].into_iter().collect(),
                },
                fresh(Kind::Cancellation),
                true,
                true,
                true,
                false,
            ),
        ];
        for (case, w, f, forward, planner, status, done) in cases {
            assert_eq!(may_forward(w, f).is_ok(), forward, "forward: {case}");
            assert_eq!(may_add_to_planner(w, f).is_ok(), planner, "planner: {case}");
            assert_eq!(may_update_status(w, f).is_ok(), status, "status: {case}");
            assert_eq!(may_mark_done(w, f).is_ok(), done, "done: {case}");
        }
    }

    /// Whoever asks, only the Ops Lead ever works a change task, and only an approved one.
    #[test]
    fn only_the_ops_lead_works_an_approved_change_task() {
        for roles in crate::auth::roles::one_or_two() {
            for state in State::ALL {
                for kind in Kind::ALL {
                    let w = Who { id: 1, roles };
                    let f = TaskFacts {
                        request_state: state,
                        ..facts(kind)
                    };
                    for ok in [
                        may_forward(w, f).is_ok(),
                        may_add_to_planner(w, f).is_ok(),
                        may_update_status(w, f).is_ok(),
                        may_mark_done(w, f).is_ok(),
                    ] {
                        if ok {
                            assert!(roles.contains(Role::OpsLead), "{roles:?}");
                            assert_eq!(state, State::Approved);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_reinstatement_needs_no_planner_no_pause_task_and_no_checklist() {
        let f = TaskFacts {
            reversal: true,
            ..facts(Kind::Cancellation)
        };
        assert_eq!(
            remaining(f),
            vec!["Forward to the SEM specialist", "Update the account status"]
        );
        assert!(may_add_to_planner(who(1, Role::OpsLead), f).is_err());
        let c = CompletionFacts {
            kind: Kind::Cancellation,
            reversal: true,
            state: State::Approved,
            processed: true,
            task_done: true,
            sem_task_done: false,
            checklist_done: false,
        };
        assert!(is_complete(c));
        assert!(!is_complete(CompletionFacts {
            reversal: false,
            ..c
        }));
    }

    #[test]
    fn only_its_specialist_ticks_the_pause_task_once() {
        let cases = [
            (
                "its specialist",
                who(5, Role::SemSpecialist),
                false,
                false,
                true,
            ),
            (
                "another specialist",
                who(6, Role::SemSpecialist),
                false,
                false,
                false,
            ),
            (
                "its specialist, a second time",
                who(5, Role::SemSpecialist),
                true,
                false,
                false,
            ),
            (
                "its specialist, the task cancelled",
                who(5, Role::SemSpecialist),
                false,
                true,
                false,
            ),
            ("the Ops Lead", who(5, Role::OpsLead), false, false, false),
        ];
        for (case, w, done, cancelled, allowed) in cases {
            assert_eq!(
                may_tick_sem_task(w, 5, done, cancelled).is_ok(),
                allowed,
                "{case}"
            );
        }
    }

    /// From DESIGN.md: completed when Accounting processed it, the change task is done, the
    /// pause task is done (cancellations and pauses) and the checklist is done (cancellations).
    #[test]
    fn completion_follows_the_design_table() {
        let all = |kind| CompletionFacts {
            kind,
            reversal: false,
            state: State::Approved,
            processed: true,
            task_done: true,
            sem_task_done: true,
            checklist_done: true,
        };
        let cases = [
            (
                "a cancellation with everything done",
                all(Kind::Cancellation),
                true,
            ),
            (
                "a cancellation, checklist open",
                CompletionFacts {
                    checklist_done: false,
                    ..all(Kind::Cancellation)
                },
                false,
            ),
            (
                "a cancellation, ads not paused",
                CompletionFacts {
                    sem_task_done: false,
                    ..all(Kind::Cancellation)
                },
                false,
            ),
            (
                "a pause, checklist irrelevant",
                CompletionFacts {
                    checklist_done: false,
                    ..all(Kind::Pause)
                },
                true,
            ),
            (
                "a pause, ads not paused",
                CompletionFacts {
                    sem_task_done: false,
                    ..all(Kind::Pause)
                },
                false,
            ),
            (
                "an addendum: no pause task, no checklist",
                CompletionFacts {
                    sem_task_done: false,
                    checklist_done: false,
                    ..all(Kind::Addendum)
                },
                true,
            ),
            (
                "not processed",
                CompletionFacts {
                    processed: false,
                    ..all(Kind::Addendum)
                },
                false,
            ),
            (
                "change task open",
                CompletionFacts {
                    task_done: false,
                    ..all(Kind::Pause)
                },
                false,
            ),
            (
                "already completed",
                CompletionFacts {
                    state: State::Completed,
                    ..all(Kind::Pause)
                },
                false,
            ),
            (
                "still in approval",
                CompletionFacts {
                    state: State::InApproval,
                    ..all(Kind::Pause)
                },
                false,
            ),
        ];
        for (case, f, complete) in cases {
            assert_eq!(is_complete(f), complete, "{case}");
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn chicago() -> Tz {
        "America/Chicago".parse().unwrap()
    }

    #[test]
    fn reminders_fall_on_their_days_at_nine_in_the_agency_and_past_ones_are_skipped() {
        let r = reminder_times(
            day("2026-12-10"),
            &[7, 1, 0],
            at("2026-11-25T10:00:00Z"),
            chicago(),
        );
        assert_eq!(
            r,
            vec![
                (7, at("2026-12-03T15:00:00Z")),
                (1, at("2026-12-09T15:00:00Z")),
                (0, at("2026-12-10T15:00:00Z")),
            ]
        );
        // Three days before: the 7-day reminder is past and dropped.
        let r = reminder_times(
            day("2026-12-10"),
            &[7, 1, 0],
            at("2026-12-07T10:00:00Z"),
            chicago(),
        );
        assert_eq!(r.iter().map(|(d, _)| *d).collect::<Vec<_>>(), vec![1, 0]);
        // On the day, after the hour: the day's reminder still goes, at once.
        let now = at("2026-12-10T18:00:00Z");
        assert_eq!(
            reminder_times(day("2026-12-10"), &[7, 1, 0], now, chicago()),
            vec![(0, now)]
        );
        // 9 p.m. on the day in Chicago is already the next day in UTC: still the day there.
        let evening = at("2026-12-11T03:00:00Z");
        assert_eq!(
            reminder_times(day("2026-12-10"), &[7, 1, 0], evening, chicago()),
            vec![(0, evening)]
        );
        assert!(
            reminder_times(day("2026-12-10"), &[0], evening, Tz::UTC).is_empty(),
            "in UTC the day is over"
        );
        // After the day: nothing.
        assert!(
            reminder_times(
                day("2026-12-10"),
                &[7, 1, 0],
                at("2026-12-11T09:00:00Z"),
                chicago()
            )
            .is_empty()
        );
    }

    #[test]
    fn the_pause_task_is_due_now_on_or_after_its_date() {
        assert!(due_now(day("2026-11-25"), day("2026-11-25")));
        assert!(due_now(day("2026-11-20"), day("2026-11-25")));
        assert!(!due_now(day("2026-11-26"), day("2026-11-25")));
    }
}

/// What reinstating an approved request needs to know.
#[derive(Clone, Copy, Debug)]
pub struct ReinstateFacts {
    pub kind: Kind,
    pub state: State,
    /// The client's account manager now.
    pub account_manager: Option<i64>,
    pub effective: NaiveDate,
    pub is_reversal: bool,
    pub already_reinstated: bool,
    /// A reversal of it is already on its way (open).
    pub reversal_open: bool,
}

/// Reinstating (the client changed their mind): the client's account manager, on an approved
/// cancellation or pause, before its effective date, once.
pub fn may_reinstate(who: Who, f: ReinstateFacts, today: NaiveDate) -> Result<(), Refusal> {
    if !(f.account_manager == Some(who.id) && who.roles.contains(Role::AccountManager)) {
        return Err(Refusal(
            "Only the client's account manager asks to reinstate the client.",
        ));
    }
    if f.is_reversal || !needs_planner(f.kind) {
        return Err(Refusal(
            "Only an approved cancellation or pause is reinstated.",
        ));
    }
    if !matches!(f.state, State::Approved | State::Completed) {
        return Err(Refusal("Only an approved request is reinstated."));
    }
    if f.already_reinstated {
        return Err(Refusal("This request was already reinstated."));
    }
    if f.reversal_open {
        return Err(Refusal(
            "A reinstatement of this request is already on its way.",
        ));
    }
    if today >= f.effective {
        return Err(Refusal(
            "The effective date has come: a reinstatement is asked for before it.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod reinstate_tests {
    use super::*;

    /// From DESIGN.md: before the effective date, the account manager asks to reinstate an
    /// approved (or completed ahead of its date) cancellation or pause, once.
    #[test]
    fn reinstating_follows_the_design_table() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        let am = Who {
            id: 1,
            roles: [Role::AccountManager].into_iter().collect(),
        };
        let f = |kind, state, days: i64| ReinstateFacts {
            kind,
            state,
            account_manager: Some(1),
            effective: today + Duration::days(days),
            is_reversal: false,
            already_reinstated: false,
            reversal_open: false,
        };
        let cases = [
            (
                "an approved cancellation tomorrow",
                am,
                f(Kind::Cancellation, State::Approved, 1),
                true,
            ),
            (
                "an approved pause next month",
                am,
                f(Kind::Pause, State::Approved, 30),
                true,
            ),
            (
                "a cancellation completed ahead of its date",
                am,
                f(Kind::Cancellation, State::Completed, 5),
                true,
            ),
            (
                "on the effective date itself",
                am,
                f(Kind::Cancellation, State::Approved, 0),
                false,
            ),
            (
                "after it",
                am,
                f(Kind::Cancellation, State::Approved, -1),
                false,
            ),
            (
                "an addendum",
                am,
                f(Kind::Addendum, State::Approved, 5),
                false,
            ),
            (
                "still in approval",
                am,
                f(Kind::Pause, State::InApproval, 5),
                false,
            ),
            (
                "a reinstatement itself",
                am,
                ReinstateFacts {
                    is_reversal: true,
                    ..f(Kind::Pause, State::Approved, 5)
                },
                false,
            ),
            (
                "already reinstated",
                am,
                ReinstateFacts {
                    already_reinstated: true,
                    ..f(Kind::Pause, State::Approved, 5)
                },
                false,
            ),
            (
                "a reinstatement on its way",
                am,
                ReinstateFacts {
                    reversal_open: true,
                    ..f(Kind::Pause, State::Approved, 5)
                },
                false,
            ),
            (
                "another account manager",
                Who { id: 2, ..am },
                f(Kind::Pause, State::Approved, 5),
                false,
            ),
            (
                "the client's id without the role",
                Who {
                    id: 1,
                    roles: [Role::Approver].into_iter().collect(),
                },
                f(Kind::Pause, State::Approved, 5),
                false,
            ),
        ];
        for (case, w, facts, allowed) in cases {
            assert_eq!(may_reinstate(w, facts, today).is_ok(), allowed, "{case}");
        }
    }
}
