//! The approval chain as pure rules: who submits, which steps a submission needs, whose turn
//! it is, who may decide a step, and what follows a decision. No database here.

use crate::auth::roles::Who;
use crate::auth::roles::{Role, RoleSet};
use crate::change_requests::rules::{Facts, Kind, Refusal, State, is_submitter};

/// When a configured step applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Condition {
    Always,
    /// Only when the request carries a credit (Finance).
    Credit,
}

impl Condition {
    pub const ALL: [Condition; 2] = [Condition::Always, Condition::Credit];

    pub fn key(self) -> &'static str {
        match self {
            Condition::Always => "always",
            Condition::Credit => "credit",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Condition::Always => "Always",
            Condition::Credit => "Only when there is a credit",
        }
    }

    pub fn from_key(key: &str) -> Option<Condition> {
        Self::ALL.into_iter().find(|c| c.key() == key)
    }
}

/// Who decides a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Approver {
    /// One named person.
    User(i64),
    /// Any holder of the role.
    Role(Role),
    /// Nobody named yet (the chain is not fully set up).
    Unassigned,
}

impl Approver {
    pub fn from_columns(user: Option<i64>, role: Option<Role>) -> Approver {
        match (user, role) {
            (Some(u), _) => Approver::User(u),
            (None, Some(r)) => Approver::Role(r),
            (None, None) => Approver::Unassigned,
        }
    }
}

/// A step of the configured chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigStep {
    pub position: i32,
    pub name: String,
    pub approver: Approver,
    pub condition: Condition,
}

/// A step's state on a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepState {
    /// An earlier step has not approved yet.
    Waiting,
    /// Its turn.
    Pending,
    Approved,
    SentBack,
    /// Not needed for this request (a credit-only step on a request without a credit).
    NotRequired,
    /// The round ended before this step's turn (sent back earlier, or withdrawn).
    Cancelled,
}

impl StepState {
    pub const ALL: [StepState; 6] = [
        StepState::Waiting,
        StepState::Pending,
        StepState::Approved,
        StepState::SentBack,
        StepState::NotRequired,
        StepState::Cancelled,
    ];

    pub fn key(self) -> &'static str {
        match self {
            StepState::Waiting => "waiting",
            StepState::Pending => "pending",
            StepState::Approved => "approved",
            StepState::SentBack => "sent_back",
            StepState::NotRequired => "not_required",
            StepState::Cancelled => "cancelled",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            StepState::Waiting => "Waiting for the step before",
            StepState::Pending => "Waiting for a decision",
            StepState::Approved => "Approved",
            StepState::SentBack => "Sent back",
            StepState::NotRequired => "Not required: no credit",
            StepState::Cancelled => "Not reached",
        }
    }

    pub fn from_key(key: &str) -> Option<StepState> {
        Self::ALL.into_iter().find(|s| s.key() == key)
    }
}

/// A step as a submission copies it onto the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedStep {
    pub position: i32,
    pub name: String,
    pub approver: Approver,
    pub state: StepState,
}

/// The chain for a submission: every configured step, in order, the ones the request does not
/// need marked so (never silently absent), the first needed one pending. Refused when a needed
/// step has nobody to decide it, or nothing needs deciding at all.
pub fn plan(chain: &[ConfigStep], has_credit: bool) -> Result<Vec<PlannedStep>, Refusal> {
    let mut steps: Vec<&ConfigStep> = chain.iter().collect();
    steps.sort_by_key(|s| s.position);
    let mut planned = Vec::with_capacity(steps.len());
    let mut first = true;
    for s in steps {
        let required = match s.condition {
            Condition::Always => true,
            Condition::Credit => has_credit,
        };
        if required && s.approver == Approver::Unassigned {
            return Err(Refusal(
                "The approval chain has a step with no approver named. An admin sets it on the approval chain page.",
            ));
        }
        let state = if !required {
            StepState::NotRequired
        } else if first {
            first = false;
            StepState::Pending
        } else {
            StepState::Waiting
        };
        planned.push(PlannedStep {
            position: s.position,
            name: s.name.clone(),
            approver: s.approver,
            state,
        });
    }
    if first {
        return Err(Refusal(
            "The approval chain has no step that applies. An admin sets it on the approval chain page.",
        ));
    }
    Ok(planned)
}

/// What the submit button needs to know beyond the request's facts.
#[derive(Clone, Copy, Debug)]
pub struct SubmitFacts {
    pub facts: Facts,
    pub kind: Kind,
    pub has_signed_document: bool,
    /// Retention has recorded the call (only asked when a save attempt exists).
    pub call_recorded: bool,
}

/// Submitting: Retention when a save attempt exists (the account manager may not), otherwise
/// the account manager who filed it; from a draft, Retention, or after a send-back; an addendum
/// only with its signed document; with Retention, only once the call is recorded.
pub fn may_submit(who: Who, f: SubmitFacts) -> Result<(), Refusal> {
    match f.facts.state {
        s if s.is_editable() => {}
        State::InApproval => {
            return Err(Refusal("This request is already with the approvers."));
        }
        _ => return Err(Refusal("This request is closed; it cannot be submitted.")),
    }
    if !is_submitter(who, f.facts) {
        return Err(if f.facts.has_save_attempt {
            Refusal("Retention was involved, so the Retention Team submits this request.")
        } else {
            Refusal("Only the client's account manager submits this request.")
        });
    }
    if f.facts.has_save_attempt && !f.call_recorded {
        return Err(Refusal("Record the retention call before submitting."));
    }
    if f.kind == Kind::Addendum && !f.has_signed_document {
        return Err(Refusal(
            "Have the client sign the addendum (send it for signature, or attach the document they signed) before submitting.",
        ));
    }
    Ok(())
}

/// What deciding a step needs to know.
#[derive(Clone, Copy, Debug)]
pub struct DecideFacts {
    pub request_state: State,
    pub step_state: StepState,
    pub approver: Approver,
    pub filed_by: i64,
    pub submitted_by: Option<i64>,
    /// The client's account manager now (the request is theirs).
    pub account_manager: Option<i64>,
    /// The person already decided another step of this round (for themselves or for someone).
    pub decided_another_step: bool,
}

/// Approving or sending back a step: its turn, the request in approval, by its approver (or a
/// holder of its role, or the approver's substitute today), never by whoever filed or submitted
/// the request or is the client's account manager, and never by someone who decided another step of the same round (each step is
/// another pair of eyes). `substituting_for` are the approvers `who` stands in for today. On success,
/// says on whose behalf the decision is made, if not their own.
pub fn may_decide(
    who: Who,
    f: DecideFacts,
    substituting_for: &[i64],
) -> Result<Option<i64>, Refusal> {
    if f.request_state != State::InApproval || f.step_state != StepState::Pending {
        return Err(Refusal("This step is not waiting for a decision."));
    }
    if who.id == f.filed_by || Some(who.id) == f.submitted_by || Some(who.id) == f.account_manager {
        return Err(Refusal(
            "You filed or submitted this request, or its client is yours; someone else must approve it.",
        ));
    }
    if f.decided_another_step {
        return Err(Refusal(
            "You already decided another step of this request; each step needs someone else.",
        ));
    }
    let named = match f.approver {
        Approver::User(u) => u == who.id || substituting_for.contains(&u),
        _ => false,
    };
    if named && !who.roles.any_of(super::DECIDER_ROLES) {
        // Someone named on a step who no longer holds a role that decides (their roles were
        // changed) is not asked: the step is handed on, as for a disabled approver.
        return Err(Refusal(
            "You no longer hold a role that approves; an admin hands this step on.",
        ));
    }
    match f.approver {
        Approver::User(u) if u == who.id => Ok(None),
        Approver::User(u) if substituting_for.contains(&u) => Ok(Some(u)),
        Approver::Role(r) if who.roles.contains(r) => Ok(None),
        Approver::Unassigned => Err(Refusal(
            "Nobody is named for this step; an admin reassigns it.",
        )),
        _ => Err(Refusal("This step is someone else's to decide.")),
    }
}

/// Naming `substitute` to stand in for `approver`: refused when the substitute is named on
/// another step of the chain (they would decide the approver's step, then be refused their own
/// as someone who already decided a step of the round, and the request would wait on nobody).
/// When they hold the role of a step any holder decides, it goes ahead with a note: another
/// holder decides that step.
/// `already_for` are the approvers the substitute already stands in for on some of the same
/// days: standing in for two approvers of the chain is standing in for two steps.
pub fn may_stand_in(
    approver: i64,
    substitute: i64,
    substitute_roles: RoleSet,
    already_for: &[i64],
    chain: &[ConfigStep],
) -> Result<Option<String>, Refusal> {
    if substitute == approver {
        return Err(Refusal("Choose someone else to stand in for you."));
    }
    let on_chain = |u: i64| chain.iter().any(|s| s.approver == Approver::User(u));
    if on_chain(substitute) {
        return Err(Refusal(
            "They approve another step of the chain, and a substitute stands in for one person, never for two steps. Choose someone who is not on the chain, or ask an admin to hand that step on while you are away.",
        ));
    }
    if already_for.iter().any(|u| *u != approver && on_chain(*u)) {
        return Err(Refusal(
            "They already stand in for another approver of the chain on some of those days, and a substitute stands in for one person, never for two steps. Choose someone else.",
        ));
    }
    let shared: Vec<&str> = chain
        .iter()
        .filter_map(|s| match s.approver {
            Approver::Role(r) if substitute_roles.contains(r) => Some(s.name.as_str()),
            _ => None,
        })
        .collect();
    Ok((!shared.is_empty()).then(|| {
        format!(
            "they may also decide “{}” as a holder of its role; when they stand in for you on a request, another holder decides that step.",
            shared.join("”, “")
        )
    }))
}

/// What follows an approval of the step at `index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterApproval {
    /// The step at this index is next.
    Next(usize),
    /// That was the last needed step: the request is approved.
    Approved,
}

pub fn after_approval(states: &[StepState], index: usize) -> AfterApproval {
    states
        .iter()
        .enumerate()
        .skip(index + 1)
        .find(|(_, s)| **s == StepState::Waiting)
        .map(|(i, _)| AfterApproval::Next(i))
        .unwrap_or(AfterApproval::Approved)
}

/// Whether a substitution covers `day`.
pub fn covers(
    starts_on: chrono::NaiveDate,
    ends_on: chrono::NaiveDate,
    day: chrono::NaiveDate,
) -> bool {
    starts_on <= day && day <= ends_on
}

/// Business days (Monday to Friday) from `from` to `to`, not counting `from`'s own day.
pub fn business_days_between(from: chrono::NaiveDate, to: chrono::NaiveDate) -> i64 {
    use chrono::Datelike;
    let mut day = from;
    let mut n = 0;
    while day < to {
        day = day.succ_opt().expect("a date after");
        if day.weekday().number_from_monday() <= 5 {
            n += 1;
        }
    }
    n
}

/// Who may mark an approved request processed: Accounting, once.
pub fn may_process(who: Who, state: State, processed: bool) -> Result<(), Refusal> {
    if !who.roles.contains(Role::Accounting) {
        return Err(Refusal("The Accounting Team marks requests processed."));
    }
    if !matches!(state, State::Approved | State::Completed) {
        return Err(Refusal("Only approved requests are processed."));
    }
    if processed {
        return Err(Refusal("This request is already marked processed."));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    const FILER: i64 = 1;
    const JEREMY: i64 = 10;
    const DUSTIN: i64 = 11;

    fn who(id: i64, roles: &[Role]) -> Who {
        Who {
            id,
            roles: roles.iter().copied().collect(),
        }
    }

    fn seeded() -> Vec<ConfigStep> {
        vec![
            ConfigStep {
                position: 2,
                name: "Second".into(),
                approver: Approver::User(DUSTIN),
                condition: Condition::Always,
            },
            ConfigStep {
                position: 1,
                name: "First".into(),
                approver: Approver::User(JEREMY),
                condition: Condition::Always,
            },
            ConfigStep {
                position: 3,
                name: "Finance".into(),
                approver: Approver::Role(Role::Finance),
                condition: Condition::Credit,
            },
        ]
    }

    fn states(plan: &[PlannedStep]) -> Vec<StepState> {
        plan.iter().map(|p| p.state).collect()
    }

    #[test]
    fn keys_round_trip_and_match_the_database() {
        let migration = include_str!("../../migrations/20261125000010_approvals.sql");
        for s in StepState::ALL {
            assert_eq!(StepState::from_key(s.key()), Some(s));
            assert!(migration.contains(&format!("'{}'", s.key())), "{s:?}");
        }
        for c in Condition::ALL {
            assert_eq!(Condition::from_key(c.key()), Some(c));
            assert!(migration.contains(&format!("'{}'", c.key())), "{c:?}");
        }
    }

    #[test]
    fn a_credit_brings_finance_in_and_no_credit_marks_it_not_required() {
        let with = plan(&seeded(), true).unwrap();
        assert_eq!(
            with.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            ["First", "Second", "Finance"],
            "in order of position"
        );
        assert_eq!(
            states(&with),
            [StepState::Pending, StepState::Waiting, StepState::Waiting]
        );
        let without = plan(&seeded(), false).unwrap();
        assert_eq!(
            states(&without),
            [
                StepState::Pending,
                StepState::Waiting,
                StepState::NotRequired
            ]
        );
        assert_eq!(StepState::NotRequired.label(), "Not required: no credit");
    }

    #[test]
    fn a_needed_step_without_an_approver_or_an_empty_chain_refuses_to_plan() {
        let mut chain = seeded();
        chain[0].approver = Approver::Unassigned;
        assert!(plan(&chain, false).is_err());
        // An unassigned step that does not apply does not stop anything.
        let mut chain = seeded();
        chain[2].approver = Approver::Unassigned;
        assert!(plan(&chain, false).is_ok());
        assert!(plan(&chain, true).is_err());
        assert!(plan(&[], true).is_err());
        let only_credit = vec![seeded().remove(2)];
        assert!(plan(&only_credit, false).is_err());
        assert_eq!(
            states(&plan(&only_credit, true).unwrap()),
            [StepState::Pending]
        );
    }

    /// From DESIGN.md, "Who submits": Retention once a save attempt exists (after the call is
    /// recorded), otherwise the client's account manager; from a draft, Retention or a
    /// send-back; an addendum only with its signed document.
    #[test]
    fn submitting_follows_the_design_table() {
        use Role::*;
        let sub = |state, save: bool, kind, doc: bool, call: bool| SubmitFacts {
            facts: Facts {
                state,
                account_manager: Some(FILER),
                has_save_attempt: save,
            },
            kind,
            has_signed_document: doc,
            call_recorded: call,
        };
        let am = who(FILER, &[AccountManager]);
        let amy = who(3, &[Retention]);
        let cases = [
            (
                "the account manager's draft cancellation",
                am,
                sub(State::Draft, false, Kind::Cancellation, false, false),
                Ok(()),
            ),
            (
                "the account manager's draft pause",
                am,
                sub(State::Draft, false, Kind::Pause, false, false),
                Ok(()),
            ),
            (
                "an addendum without its signed document",
                am,
                sub(State::Draft, false, Kind::Addendum, false, false),
                Err(
                    "Have the client sign the addendum (send it for signature, or attach the document they signed) before submitting.",
                ),
            ),
            (
                "an addendum with it",
                am,
                sub(State::Draft, false, Kind::Addendum, true, false),
                Ok(()),
            ),
            (
                "the account manager once Retention is involved",
                am,
                sub(State::WithRetention, true, Kind::Cancellation, false, true),
                Err("Retention was involved, so the Retention Team submits this request."),
            ),
            (
                "Retention before the call is recorded",
                amy,
                sub(State::WithRetention, true, Kind::Cancellation, false, false),
                Err("Record the retention call before submitting."),
            ),
            (
                "Retention after the call",
                amy,
                sub(State::WithRetention, true, Kind::Cancellation, false, true),
                Ok(()),
            ),
            (
                "Retention, a converted addendum without the document",
                amy,
                sub(State::WithRetention, true, Kind::Addendum, false, true),
                Err(
                    "Have the client sign the addendum (send it for signature, or attach the document they signed) before submitting.",
                ),
            ),
            (
                "Retention, a converted addendum with it",
                amy,
                sub(State::WithRetention, true, Kind::Addendum, true, true),
                Ok(()),
            ),
            (
                "Retention on a request never escalated",
                amy,
                sub(State::Draft, false, Kind::Cancellation, false, false),
                Err("Only the client's account manager submits this request."),
            ),
            (
                "the account manager, sent back",
                am,
                sub(
                    State::ChangesRequested,
                    false,
                    Kind::Cancellation,
                    false,
                    false,
                ),
                Ok(()),
            ),
            (
                "Retention, sent back to them",
                amy,
                sub(State::ChangesRequested, true, Kind::Pause, false, true),
                Ok(()),
            ),
            (
                "already with the approvers",
                am,
                sub(State::InApproval, false, Kind::Cancellation, false, false),
                Err("This request is already with the approvers."),
            ),
            (
                "approved",
                am,
                sub(State::Approved, false, Kind::Cancellation, false, false),
                Err("This request is closed; it cannot be submitted."),
            ),
            (
                "withdrawn",
                amy,
                sub(State::Withdrawn, true, Kind::Cancellation, false, true),
                Err("This request is closed; it cannot be submitted."),
            ),
            (
                "another account manager",
                who(2, &[AccountManager]),
                sub(State::Draft, false, Kind::Cancellation, false, false),
                Err("Only the client's account manager submits this request."),
            ),
            (
                "an approver",
                who(JEREMY, &[Approver]),
                sub(State::Draft, false, Kind::Cancellation, false, false),
                Err("Only the client's account manager submits this request."),
            ),
            (
                "an account manager of other clients who is also on Retention",
                who(2, &[AccountManager, Retention]),
                sub(State::WithRetention, true, Kind::Cancellation, false, true),
                Ok(()),
            ),
            (
                "the client's account manager who also approves",
                who(FILER, &[AccountManager, Approver]),
                sub(State::Draft, false, Kind::Cancellation, false, false),
                Ok(()),
            ),
        ];
        for (case, w, f, expected) in cases {
            assert_eq!(may_submit(w, f).map_err(|r| r.0), expected, "{case}");
        }
    }

    #[test]
    fn the_account_manager_may_not_submit_once_retention_is_involved() {
        let f = SubmitFacts {
            facts: Facts {
                state: State::WithRetention,
                account_manager: Some(FILER),
                has_save_attempt: true,
            },
            kind: Kind::Cancellation,
            has_signed_document: false,
            call_recorded: true,
        };
        let refusal = may_submit(who(FILER, &[Role::AccountManager]), f).unwrap_err();
        assert!(refusal.0.contains("Retention Team submits"));
    }

    fn decide(step: StepState, approver: Approver) -> DecideFacts {
        DecideFacts {
            request_state: State::InApproval,
            step_state: step,
            approver,
            filed_by: FILER,
            submitted_by: Some(2),
            account_manager: Some(FILER),
            decided_another_step: false,
        }
    }

    /// From DESIGN.md: each step's approver (a person, anyone holding its role, or the
    /// person's substitute today) decides it, while it is its turn; never whoever filed or
    /// submitted the request or is its client's account manager, never someone who decided
    /// another step of the round.
    #[test]
    fn deciding_follows_the_design_table() {
        use Role::{AccountManager, Admin, Finance};
        let pending = |approver| decide(StepState::Pending, approver);
        let jeremy_step = pending(Approver::User(JEREMY));
        let finance_step = pending(Approver::Role(Finance));
        /// (case, who, facts, whom they stand in for today, allowed and on whose behalf)
        type Case = (
            &'static str,
            Who,
            DecideFacts,
            &'static [i64],
            Result<Option<i64>, &'static str>,
        );
        let cases: Vec<Case> = vec![
            (
                "the named approver",
                who(JEREMY, &[Role::Approver]),
                jeremy_step,
                &[],
                Ok(None),
            ),
            (
                "another approver",
                who(DUSTIN, &[Role::Approver]),
                jeremy_step,
                &[],
                Err("This step is someone else's to decide."),
            ),
            (
                "his substitute today",
                who(DUSTIN, &[Role::Approver]),
                jeremy_step,
                &[JEREMY],
                Ok(Some(JEREMY)),
            ),
            (
                "a substitute for someone else",
                who(DUSTIN, &[Role::Approver]),
                jeremy_step,
                &[99],
                Err("This step is someone else's to decide."),
            ),
            (
                "the substitute who decided another step",
                who(DUSTIN, &[Role::Approver]),
                DecideFacts {
                    decided_another_step: true,
                    ..jeremy_step
                },
                &[JEREMY],
                Err(
                    "You already decided another step of this request; each step needs someone else.",
                ),
            ),
            (
                "the approver who filed it",
                who(JEREMY, &[Role::Approver]),
                DecideFacts {
                    filed_by: JEREMY,
                    ..jeremy_step
                },
                &[],
                Err(
                    "You filed or submitted this request, or its client is yours; someone else must approve it.",
                ),
            ),
            (
                "the approver who submitted it",
                who(JEREMY, &[Role::Approver]),
                DecideFacts {
                    submitted_by: Some(JEREMY),
                    ..jeremy_step
                },
                &[],
                Err(
                    "You filed or submitted this request, or its client is yours; someone else must approve it.",
                ),
            ),
            (
                "the approver whose client it is",
                who(JEREMY, &[Role::Approver, AccountManager]),
                DecideFacts {
                    account_manager: Some(JEREMY),
                    ..jeremy_step
                },
                &[],
                Err(
                    "You filed or submitted this request, or its client is yours; someone else must approve it.",
                ),
            ),
            (
                "a step still waiting for the one before",
                who(JEREMY, &[Role::Approver]),
                decide(StepState::Waiting, Approver::User(JEREMY)),
                &[],
                Err("This step is not waiting for a decision."),
            ),
            (
                "a step already approved",
                who(JEREMY, &[Role::Approver]),
                decide(StepState::Approved, Approver::User(JEREMY)),
                &[],
                Err("This step is not waiting for a decision."),
            ),
            (
                "a request sent back",
                who(JEREMY, &[Role::Approver]),
                DecideFacts {
                    request_state: State::ChangesRequested,
                    ..jeremy_step
                },
                &[],
                Err("This step is not waiting for a decision."),
            ),
            (
                "a Finance member, the Finance step",
                who(30, &[Finance]),
                finance_step,
                &[],
                Ok(None),
            ),
            (
                "an approver without Finance, the Finance step",
                who(JEREMY, &[Role::Approver]),
                finance_step,
                &[],
                Err("This step is someone else's to decide."),
            ),
            (
                "an approver who is also in Finance",
                who(31, &[Role::Approver, Finance]),
                finance_step,
                &[],
                Ok(None),
            ),
            (
                "a Finance member who submitted it",
                who(2, &[Finance]),
                finance_step,
                &[],
                Err(
                    "You filed or submitted this request, or its client is yours; someone else must approve it.",
                ),
            ),
            (
                "nobody named",
                who(JEREMY, &[Role::Approver]),
                pending(Approver::Unassigned),
                &[],
                Err("Nobody is named for this step; an admin reassigns it."),
            ),
            (
                "the admin",
                who(40, &[Admin]),
                jeremy_step,
                &[],
                Err("This step is someone else's to decide."),
            ),
            (
                "the named approver, moved out of every approving role",
                who(JEREMY, &[Role::TeamLead]),
                jeremy_step,
                &[],
                Err("You no longer hold a role that approves; an admin hands this step on."),
            ),
            (
                "a substitute with no approving role",
                who(DUSTIN, &[Role::TeamLead]),
                jeremy_step,
                &[JEREMY],
                Err("You no longer hold a role that approves; an admin hands this step on."),
            ),
        ];
        for (case, w, f, subs, expected) in cases {
            assert_eq!(may_decide(w, f, subs).map_err(|r| r.0), expected, "{case}");
        }
    }

    /// Properties over every combination, without restating the rule: a decision is only
    /// ever made on a request in approval at the step whose turn it is, never by someone who
    /// decided another step of the round or is the filer, submitter or account manager, and a
    /// decision "on behalf of" is always for the step's own approver whom the person stands in
    /// for.
    #[test]
    fn no_decision_is_ever_made_out_of_turn_twice_or_on_ones_own_request() {
        for request_state in State::ALL {
            for step in StepState::ALL {
                for approver in [
                    Approver::User(JEREMY),
                    Approver::Role(Role::Finance),
                    Approver::Unassigned,
                ] {
                    for decided in [false, true] {
                        for roles in crate::auth::roles::one_or_two() {
                            for id in [FILER, 2, JEREMY, DUSTIN] {
                                for subs in [&[][..], &[JEREMY][..]] {
                                    let f = DecideFacts {
                                        request_state,
                                        decided_another_step: decided,
                                        ..decide(step, approver)
                                    };
                                    let w = Who { id, roles };
                                    let Ok(behalf) = may_decide(w, f, subs) else {
                                        continue;
                                    };
                                    assert_eq!(request_state, State::InApproval);
                                    assert_eq!(step, StepState::Pending);
                                    assert!(!decided, "two steps of one round");
                                    assert!(![FILER, 2].contains(&id), "their own request");
                                    assert!(
                                        roles
                                            .iter()
                                            .any(|r| crate::approvals::DECIDER_ROLES.contains(&r)),
                                        "someone in no approving role decided: {roles:?}"
                                    );
                                    // Whoever decides is the step's approver, someone they
                                    // stand in for, or a holder of its role.
                                    match (approver, behalf) {
                                        (Approver::User(u), None) => assert_eq!(u, id),
                                        (Approver::User(u), Some(b)) => {
                                            assert_eq!(u, b);
                                            assert!(subs.contains(&u));
                                        }
                                        (Approver::Role(r), None) => assert!(roles.contains(r)),
                                        other => panic!("decided {other:?}"),
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn nobody_approves_what_they_filed_or_submitted_even_holding_the_role() {
        let finance_step = decide(StepState::Pending, Approver::Role(Role::Finance));
        assert!(may_decide(who(FILER, &[Role::Finance]), finance_step, &[]).is_err());
        assert!(may_decide(who(2, &[Role::Finance]), finance_step, &[]).is_err());
        assert!(may_decide(who(3, &[Role::Finance]), finance_step, &[]).is_ok());
        let jeremy_filed = DecideFacts {
            filed_by: JEREMY,
            ..decide(StepState::Pending, Approver::User(JEREMY))
        };
        assert!(may_decide(who(JEREMY, &[Role::Approver]), jeremy_filed, &[]).is_err());
    }

    #[test]
    fn a_substitute_stands_in_for_one_person_never_for_two_steps() {
        // The seeded chain: Jeremy, then Dustin, then any of Finance when there is a credit.
        let chain = seeded();
        const SAM: i64 = 12;
        let roles = |r: &[Role]| r.iter().copied().collect::<RoleSet>();
        // Dustin approves the second step: he cannot stand in for Jeremy, nor Jeremy for him.
        assert!(may_stand_in(JEREMY, DUSTIN, roles(&[Role::Approver]), &[], &chain).is_err());
        assert!(may_stand_in(DUSTIN, JEREMY, roles(&[Role::Approver]), &[], &chain).is_err());
        // Sam is not on the chain: he may stand in for either, but not for both at once.
        assert_eq!(
            may_stand_in(JEREMY, SAM, roles(&[Role::Approver]), &[], &chain),
            Ok(None)
        );
        assert!(may_stand_in(DUSTIN, SAM, roles(&[Role::Approver]), &[JEREMY], &chain).is_err());
        // Standing in again for the same person (a second range) is fine.
        assert_eq!(
            may_stand_in(JEREMY, SAM, roles(&[Role::Approver]), &[JEREMY], &chain),
            Ok(None)
        );
        // Nobody stands in for themselves.
        assert!(may_stand_in(JEREMY, JEREMY, roles(&[Role::Approver]), &[], &chain).is_err());
        // Holding Finance, whose step any holder decides: allowed, with a note.
        let note = may_stand_in(
            JEREMY,
            SAM,
            roles(&[Role::Approver, Role::Finance]),
            &[],
            &chain,
        )
        .unwrap()
        .expect("a note");
        assert!(note.contains("another holder decides"), "{note}");
    }

    #[test]
    fn one_person_decides_at_most_one_step_of_a_round() {
        let f = DecideFacts {
            decided_another_step: true,
            ..decide(StepState::Pending, Approver::Role(Role::Finance))
        };
        assert!(may_decide(who(3, &[Role::Finance]), f, &[]).is_err());
        let f = DecideFacts {
            decided_another_step: true,
            ..decide(StepState::Pending, Approver::User(JEREMY))
        };
        assert!(may_decide(who(DUSTIN, &[Role::Approver]), f, &[JEREMY]).is_err());
    }

    #[test]
    fn a_substitute_decides_on_behalf_of_the_approver_they_stand_in_for() {
        let f = decide(StepState::Pending, Approver::User(JEREMY));
        assert_eq!(
            may_decide(who(DUSTIN, &[Role::Approver]), f, &[JEREMY]),
            Ok(Some(JEREMY))
        );
        assert_eq!(may_decide(who(JEREMY, &[Role::Approver]), f, &[]), Ok(None));
        assert!(may_decide(who(DUSTIN, &[Role::Approver]), f, &[42]).is_err());
        // A substitute for a role step does not exist: the role is the pool.
        let finance = decide(StepState::Pending, Approver::Role(Role::Finance));
        assert!(may_decide(who(DUSTIN, &[Role::Approver]), finance, &[JEREMY]).is_err());
    }

    #[test]
    fn after_an_approval_the_next_waiting_step_or_the_end() {
        use StepState::*;
        assert_eq!(
            after_approval(&[Approved, Waiting, Waiting], 0),
            AfterApproval::Next(1)
        );
        assert_eq!(
            after_approval(&[Approved, Approved, Waiting], 1),
            AfterApproval::Next(2)
        );
        assert_eq!(
            after_approval(&[Approved, Approved, NotRequired], 1),
            AfterApproval::Approved
        );
        assert_eq!(
            after_approval(&[Approved, NotRequired, Waiting], 0),
            AfterApproval::Next(2)
        );
        assert_eq!(after_approval(&[Approved], 0), AfterApproval::Approved);
    }

    #[test]
    fn business_days_skip_weekends() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        // 2026-11-20 is a Friday.
        assert_eq!(business_days_between(d("2026-11-20"), d("2026-11-20")), 0);
        assert_eq!(business_days_between(d("2026-11-20"), d("2026-11-22")), 0);
        assert_eq!(business_days_between(d("2026-11-20"), d("2026-11-23")), 1);
        assert_eq!(business_days_between(d("2026-11-16"), d("2026-11-23")), 5);
        assert_eq!(business_days_between(d("2026-11-23"), d("2026-11-20")), 0);
        assert!(covers(d("2026-11-20"), d("2026-11-23"), d("2026-11-23")));
        assert!(!covers(d("2026-11-20"), d("2026-11-23"), d("2026-11-24")));
    }

    #[test]
    fn accounting_processes_an_approved_request_once() {
        let cases = [
            (
                "Accounting, approved",
                Role::Accounting,
                State::Approved,
                false,
                true,
            ),
            (
                "Accounting, completed early",
                Role::Accounting,
                State::Completed,
                false,
                true,
            ),
            (
                "Accounting, a second time",
                Role::Accounting,
                State::Approved,
                true,
                false,
            ),
            (
                "Accounting, still in approval",
                Role::Accounting,
                State::InApproval,
                false,
                false,
            ),
            (
                "Accounting, withdrawn",
                Role::Accounting,
                State::Withdrawn,
                false,
                false,
            ),
            ("Finance", Role::Finance, State::Approved, false, false),
            ("the Ops Lead", Role::OpsLead, State::Approved, false, false),
        ];
        for (case, role, state, processed, allowed) in cases {
            assert_eq!(
                may_process(who(5, &[role]), state, processed).is_ok(),
                allowed,
                "{case}"
            );
        }
    }
}
