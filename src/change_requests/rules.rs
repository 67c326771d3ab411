//! The rules of change requests as pure code: kinds, states, who may file, edit and withdraw.
//! No database and no HTTP here; handlers ask these and then write.

use crate::auth::roles::{Role, RoleSet};

/// What the client wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Cancellation,
    Pause,
    Addendum,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Cancellation, Kind::Pause, Kind::Addendum];

    pub fn key(self) -> &'static str {
        match self {
            Kind::Cancellation => "cancellation",
            Kind::Pause => "pause",
            Kind::Addendum => "addendum",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::Cancellation => "Cancellation",
            Kind::Pause => "Contract pause",
            Kind::Addendum => "Addendum (budget change)",
        }
    }

    pub fn from_key(key: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.key() == key)
    }
}

/// Where the account manager sends the request first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Escalation {
    None,
    Retention,
    TeamLead,
    DepartmentManager,
}

impl Escalation {
    pub const ALL: [Escalation; 4] = [
        Escalation::Retention,
        Escalation::TeamLead,
        Escalation::DepartmentManager,
        Escalation::None,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Escalation::None => "none",
            Escalation::Retention => "retention",
            Escalation::TeamLead => "team_lead",
            Escalation::DepartmentManager => "department_manager",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Escalation::None => "No escalation",
            Escalation::Retention => "Retention Team (adds a save attempt)",
            Escalation::TeamLead => "A team lead",
            Escalation::DepartmentManager => "The department manager",
        }
    }

    pub fn from_key(key: &str) -> Option<Escalation> {
        Escalation::ALL.into_iter().find(|e| e.key() == key)
    }

    /// The role of the person chosen, for escalations to a person.
    pub fn person_role(self) -> Option<Role> {
        match self {
            Escalation::TeamLead => Some(Role::TeamLead),
            Escalation::DepartmentManager => Some(Role::DepartmentManager),
            _ => None,
        }
    }
}

/// Where a request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Draft,
    WithRetention,
    InApproval,
    ChangesRequested,
    Approved,
    Completed,
    Withdrawn,
}

impl State {
    pub const ALL: [State; 7] = [
        State::Draft,
        State::WithRetention,
        State::InApproval,
        State::ChangesRequested,
        State::Approved,
        State::Completed,
        State::Withdrawn,
    ];

    pub fn key(self) -> &'static str {
        match self {
            State::Draft => "draft",
            State::WithRetention => "with_retention",
            State::InApproval => "in_approval",
            State::ChangesRequested => "changes_requested",
            State::Approved => "approved",
            State::Completed => "completed",
            State::Withdrawn => "withdrawn",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            State::Draft => "Draft",
            State::WithRetention => "With Retention",
            State::InApproval => "In approval",
            State::ChangesRequested => "Sent back",
            State::Approved => "Approved",
            State::Completed => "Completed",
            State::Withdrawn => "Withdrawn",
        }
    }

    pub fn from_key(key: &str) -> Option<State> {
        State::ALL.into_iter().find(|s| s.key() == key)
    }

    /// Open: not yet approved, withdrawn or completed. A client has at most one.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            State::Draft | State::WithRetention | State::InApproval | State::ChangesRequested
        )
    }
}

/// The facts about a request that the rules look at.
#[derive(Clone, Copy, Debug)]
pub struct Facts {
    pub state: State,
    /// The client's account manager now: whoever filed it, the request is theirs once the
    /// client is handed to them.
    pub account_manager: Option<i64>,
    /// Retention is involved: a save attempt exists.
    pub has_save_attempt: bool,
}

/// The person asking.
#[derive(Clone, Copy, Debug)]
pub struct Who {
    pub id: i64,
    pub roles: RoleSet,
}

/// Why something is not allowed, in words for the person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal(pub &'static str);

/// Filing: an account manager, for one of their own clients.
pub fn may_file(who: Who, client_account_manager: Option<i64>) -> Result<(), Refusal> {
    if !who.roles.contains(Role::AccountManager) {
        return Err(Refusal("Only account managers file change requests."));
    }
    if client_account_manager != Some(who.id) {
        return Err(Refusal(
            "This client belongs to another account manager; only they can file for it.",
        ));
    }
    Ok(())
}

/// An addendum is filed with its signed document in hand: there is nobody left to save.
pub fn may_escalate(kind: Kind, escalation: Escalation) -> Result<(), Refusal> {
    if kind == Kind::Addendum && escalation == Escalation::Retention {
        return Err(Refusal(
            "An addendum is not escalated to the Retention Team (it has no save attempt).",
        ));
    }
    Ok(())
}

/// Editing: while a draft, with Retention or sent back by an approver, by its account manager,
/// or by Retention once they are involved.
pub fn may_edit(who: Who, facts: Facts) -> Result<(), Refusal> {
    if !matches!(
        facts.state,
        State::Draft | State::WithRetention | State::ChangesRequested
    ) {
        return Err(Refusal(
            "This request can no longer be edited: it is with the approvers or closed.",
        ));
    }
    if is_owner(who, facts) {
        Ok(())
    } else {
        Err(Refusal(
            "Only the request's account manager, or Retention once involved, can edit it.",
        ))
    }
}

/// Withdrawing (client saved, or filed by mistake): an open request, by its account manager or
/// by Retention once involved; while in approval, by whoever submitted it.
pub fn may_withdraw(who: Who, facts: Facts) -> Result<(), Refusal> {
    if facts.state == State::InApproval {
        return if is_submitter(who, facts) {
            Ok(())
        } else {
            Err(Refusal(
                "While the approvers have it, only whoever submitted it can withdraw it.",
            ))
        };
    }
    if !matches!(
        facts.state,
        State::Draft | State::WithRetention | State::ChangesRequested
    ) {
        return Err(Refusal(
            "This request is closed; it can no longer be withdrawn.",
        ));
    }
    if is_owner(who, facts) {
        Ok(())
    } else {
        Err(Refusal(
            "Only the request's account manager, or Retention once involved, can withdraw it.",
        ))
    }
}

/// Who submits (and so resubmits, or withdraws from the approvers): Retention when a save
/// attempt exists, otherwise the client's account manager.
pub fn is_submitter(who: Who, facts: Facts) -> bool {
    if facts.has_save_attempt {
        who.roles.contains(Role::Retention)
    } else {
        is_account_manager(who, facts)
    }
}

/// `who` is the client's account manager now.
pub fn is_account_manager(who: Who, facts: Facts) -> bool {
    facts.account_manager == Some(who.id) && who.roles.contains(Role::AccountManager)
}

fn is_owner(who: Who, facts: Facts) -> bool {
    is_account_manager(who, facts)
        || (facts.has_save_attempt && who.roles.contains(Role::Retention))
}

/// The state a newly filed request starts in.
pub fn initial_state(escalation: Escalation) -> State {
    if escalation == Escalation::Retention {
        State::WithRetention
    } else {
        State::Draft
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILER: i64 = 1;

    fn who(id: i64, roles: &[Role]) -> Who {
        Who {
            id,
            roles: roles.iter().copied().collect(),
        }
    }

    fn facts(state: State, has_save_attempt: bool) -> Facts {
        Facts {
            state,
            account_manager: Some(FILER),
            has_save_attempt,
        }
    }

    #[test]
    fn keys_round_trip() {
        for k in Kind::ALL {
            assert_eq!(Kind::from_key(k.key()), Some(k));
        }
        for e in Escalation::ALL {
            assert_eq!(Escalation::from_key(e.key()), Some(e));
        }
        for s in State::ALL {
            assert_eq!(State::from_key(s.key()), Some(s));
        }
        assert_eq!(Kind::from_key("refund"), None);
        assert_eq!(State::from_key("open"), None);
    }

    #[test]
    fn keys_match_the_database_checks() {
        let migration = include_str!("../../migrations/20261125000006_change_requests.sql");
        for key in Kind::ALL
            .map(Kind::key)
            .into_iter()
            .chain(Escalation::ALL.map(Escalation::key))
            .chain(State::ALL.map(State::key))
        {
            assert!(migration.contains(&format!("'{key}'")), "{key}");
        }
    }

    #[test]
    fn open_means_not_yet_approved_withdrawn_or_completed() {
        let open: Vec<State> = State::ALL.into_iter().filter(|s| s.is_open()).collect();
        assert_eq!(
            open,
            vec![
                State::Draft,
                State::WithRetention,
                State::InApproval,
                State::ChangesRequested
            ]
        );
    }

    #[test]
    fn only_the_clients_own_account_manager_files() {
        assert!(may_file(who(FILER, &[Role::AccountManager]), Some(FILER)).is_ok());
        assert!(may_file(who(FILER, &[Role::AccountManager]), Some(2)).is_err());
        assert!(may_file(who(FILER, &[Role::AccountManager]), None).is_err());
        for role in Role::ALL.into_iter().filter(|r| *r != Role::AccountManager) {
            assert!(
                may_file(who(FILER, &[role]), Some(FILER)).is_err(),
                "{role:?}"
            );
        }
    }

    #[test]
    fn an_addendum_is_never_escalated_to_retention() {
        for kind in Kind::ALL {
            for e in Escalation::ALL {
                let allowed = may_escalate(kind, e).is_ok();
                assert_eq!(
                    allowed,
                    !(kind == Kind::Addendum && e == Escalation::Retention),
                    "{kind:?} {e:?}"
                );
            }
        }
    }

    #[test]
    fn escalating_to_retention_starts_with_retention_and_everything_else_as_a_draft() {
        assert_eq!(initial_state(Escalation::Retention), State::WithRetention);
        for e in [
            Escalation::None,
            Escalation::TeamLead,
            Escalation::DepartmentManager,
        ] {
            assert_eq!(initial_state(e), State::Draft);
        }
        assert_eq!(Escalation::TeamLead.person_role(), Some(Role::TeamLead));
        assert_eq!(
            Escalation::DepartmentManager.person_role(),
            Some(Role::DepartmentManager)
        );
        assert_eq!(Escalation::Retention.person_role(), None);
    }

    #[test]
    fn edit_and_withdraw_over_every_state_role_and_involvement() {
        for state in State::ALL {
            for save_attempt in [false, true] {
                for role in Role::ALL {
                    for id in [FILER, 2] {
                        let w = who(id, &[role]);
                        let f = facts(state, save_attempt);
                        let owner = (id == FILER && role == Role::AccountManager)
                            || (save_attempt && role == Role::Retention);
                        let submitter = if save_attempt {
                            role == Role::Retention
                        } else {
                            id == FILER && role == Role::AccountManager
                        };
                        let editable = matches!(
                            state,
                            State::Draft | State::WithRetention | State::ChangesRequested
                        );
                        let withdrawable = match state {
                            State::Draft | State::WithRetention | State::ChangesRequested => owner,
                            State::InApproval => submitter,
                            _ => false,
                        };
                        assert_eq!(
                            may_edit(w, f).is_ok(),
                            owner && editable,
                            "edit {state:?} {save_attempt} {role:?} {id}"
                        );
                        assert_eq!(
                            may_withdraw(w, f).is_ok(),
                            withdrawable,
                            "withdraw {state:?} {save_attempt} {role:?} {id}"
                        );
                        assert_eq!(is_submitter(w, f), submitter);
                    }
                }
            }
        }
    }
}

/// What the retention call achieved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    SavedNoChange,
    SavedPause,
    SavedBudgetChange,
    NotSaved,
}

impl Outcome {
    pub const ALL: [Outcome; 4] = [
        Outcome::SavedNoChange,
        Outcome::SavedPause,
        Outcome::SavedBudgetChange,
        Outcome::NotSaved,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Outcome::SavedNoChange => "saved_no_change",
            Outcome::SavedPause => "saved_pause",
            Outcome::SavedBudgetChange => "saved_budget_change",
            Outcome::NotSaved => "not_saved",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Outcome::SavedNoChange => "Saved, no change (the request is withdrawn)",
            Outcome::SavedPause => "Saved with a contract pause",
            Outcome::SavedBudgetChange => "Saved with a budget change (addendum)",
            Outcome::NotSaved => "Not saved (the cancellation goes ahead)",
        }
    }

    pub fn from_key(key: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.key() == key)
    }

    /// What the request becomes: withdrawn, converted to another kind, or left as it is.
    pub fn effect(self) -> Effect {
        match self {
            Outcome::SavedNoChange => Effect::Withdraw,
            Outcome::SavedPause => Effect::Convert(Kind::Pause),
            Outcome::SavedBudgetChange => Effect::Convert(Kind::Addendum),
            Outcome::NotSaved => Effect::Keep,
        }
    }
}

/// The consequence of an outcome for the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    Withdraw,
    Convert(Kind),
    Keep,
}

/// Recording the call: Retention, while the request is with them. Once recorded, the outcome
/// can be corrected the same way while the request is in their hands: before it is submitted,
/// or after an approver sent it back (the timeline keeps both).
pub fn may_record_outcome(who: Who, facts: Facts) -> Result<(), Refusal> {
    if !who.roles.contains(Role::Retention) {
        return Err(Refusal(
            "Only the Retention Team records the retention call.",
        ));
    }
    if !facts.has_save_attempt {
        return Err(Refusal("This request has no save attempt."));
    }
    if !matches!(facts.state, State::WithRetention | State::ChangesRequested) {
        return Err(Refusal(
            "The request is no longer with Retention: the call's outcome is recorded or corrected before it is submitted, or after an approver sends it back.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod outcome_tests {
    use super::*;

    #[test]
    fn each_outcome_has_its_effect() {
        assert_eq!(Outcome::SavedNoChange.effect(), Effect::Withdraw);
        assert_eq!(Outcome::SavedPause.effect(), Effect::Convert(Kind::Pause));
        assert_eq!(
            Outcome::SavedBudgetChange.effect(),
            Effect::Convert(Kind::Addendum)
        );
        assert_eq!(Outcome::NotSaved.effect(), Effect::Keep);
        for o in Outcome::ALL {
            assert_eq!(Outcome::from_key(o.key()), Some(o));
        }
        let migration = include_str!("../../migrations/20261125000007_save_attempts.sql");
        for o in Outcome::ALL {
            assert!(migration.contains(&format!("'{}'", o.key())));
        }
    }

    #[test]
    fn only_retention_records_or_corrects_the_call_while_the_request_is_with_them() {
        for state in State::ALL {
            for role in Role::ALL {
                for has in [false, true] {
                    let w = Who {
                        id: 5,
                        roles: [role].into_iter().collect(),
                    };
                    let f = Facts {
                        state,
                        account_manager: Some(1),
                        has_save_attempt: has,
                    };
                    let expected = role == Role::Retention
                        && has
                        && matches!(state, State::WithRetention | State::ChangesRequested);
                    assert_eq!(
                        may_record_outcome(w, f).is_ok(),
                        expected,
                        "{state:?} {role:?} {has}"
                    );
                }
            }
        }
    }
}

/// Asking the client's SEM specialist: the request's account manager, while it is open.
pub fn may_ask(who: Who, facts: Facts, sem_specialist: Option<i64>) -> Result<(), Refusal> {
    if !is_account_manager(who, facts) {
        return Err(Refusal(
            "Only the request's account manager asks the SEM specialist.",
        ));
    }
    if !facts.state.is_open() {
        return Err(Refusal(
            "The request is closed; questions are for open requests.",
        ));
    }
    if sem_specialist.is_none() {
        return Err(Refusal(
            "The client has no SEM specialist; an admin or the Ops Lead can assign one.",
        ));
    }
    Ok(())
}

/// Answering: the SEM specialist asked, once.
pub fn may_answer(who: Who, asked_to: i64, answered: bool) -> Result<(), Refusal> {
    if who.id != asked_to || !who.roles.contains(Role::SemSpecialist) {
        return Err(Refusal("Only the SEM specialist who was asked answers."));
    }
    if answered {
        return Err(Refusal("This question is already answered."));
    }
    Ok(())
}

#[cfg(test)]
mod question_tests {
    use super::*;

    #[test]
    fn only_the_filer_asks_on_an_open_request_of_a_client_with_a_specialist() {
        for state in State::ALL {
            for role in Role::ALL {
                for id in [1, 2] {
                    for sem in [None, Some(9)] {
                        let w = Who {
                            id,
                            roles: [role].into_iter().collect(),
                        };
                        let f = Facts {
                            state,
                            account_manager: Some(1),
                            has_save_attempt: false,
                        };
                        let expected = id == 1
                            && role == Role::AccountManager
                            && state.is_open()
                            && sem.is_some();
                        assert_eq!(
                            may_ask(w, f, sem).is_ok(),
                            expected,
                            "{state:?} {role:?} {id} {sem:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn only_the_specialist_asked_answers_and_only_once() {
        for role in Role::ALL {
            for id in [9, 10] {
                for answered in [false, true] {
                    let w = Who {
                        id,
                        roles: [role].into_iter().collect(),
                    };
                    let expected = role == Role::SemSpecialist && id == 9 && !answered;
                    assert_eq!(
                        may_answer(w, 9, answered).is_ok(),
                        expected,
                        "{role:?} {id} {answered}"
                    );
                }
            }
        }
    }
}

/// Attaching the client's signed addendum: on an addendum not yet submitted, by its account
/// manager, or by Retention on one they converted (an addendum with a save attempt can only be
/// a converted cancellation: addendums are never escalated to Retention).
pub fn may_attach(who: Who, facts: Facts, kind: Kind) -> Result<(), Refusal> {
    if kind != Kind::Addendum {
        return Err(Refusal("Signed documents are attached to addendums."));
    }
    if !matches!(
        facts.state,
        State::Draft | State::WithRetention | State::ChangesRequested
    ) {
        return Err(Refusal(
            "The request has been submitted; documents are attached before submitting.",
        ));
    }
    if is_owner(who, facts) {
        Ok(())
    } else {
        Err(Refusal(
            "Only the request's account manager, or Retention on a request they converted, attaches its signed addendum.",
        ))
    }
}

/// Commenting: the team lead or department manager the request was escalated to, and the
/// request's account manager in reply, while the request is open.
pub fn may_comment(who: Who, facts: Facts, escalated_to: Option<i64>) -> Result<(), Refusal> {
    let Some(person) = escalated_to else {
        return Err(Refusal(
            "Comments are for requests escalated to a team lead or the department manager.",
        ));
    };
    let escalated_here = who.id == person
        && (who.roles.contains(Role::TeamLead) || who.roles.contains(Role::DepartmentManager));
    if !(escalated_here || is_account_manager(who, facts)) {
        return Err(Refusal(
            "Only the person the request was escalated to and its account manager comment on it.",
        ));
    }
    if !facts.state.is_open() {
        return Err(Refusal(
            "The request is closed; comments are for open requests.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod attach_and_comment_tests {
    use super::*;

    #[test]
    fn the_owner_attaches_to_an_addendum_before_it_is_submitted() {
        for state in State::ALL {
            for role in Role::ALL {
                for id in [1, 2] {
                    for has in [false, true] {
                        for kind in Kind::ALL {
                            let w = Who {
                                id,
                                roles: [role].into_iter().collect(),
                            };
                            let f = Facts {
                                state,
                                account_manager: Some(1),
                                has_save_attempt: has,
                            };
                            let owner = (id == 1 && role == Role::AccountManager)
                                || (has && role == Role::Retention);
                            let expected = kind == Kind::Addendum
                                && matches!(
                                    state,
                                    State::Draft | State::WithRetention | State::ChangesRequested
                                )
                                && owner;
                            assert_eq!(
                                may_attach(w, f, kind).is_ok(),
                                expected,
                                "{state:?} {role:?} {id} {has} {kind:?}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn the_escalated_person_and_the_filer_comment_on_an_open_request() {
        for state in State::ALL {
            for role in Role::ALL {
                for id in [1, 5, 7] {
                    for escalated_to in [None, Some(5)] {
                        let w = Who {
                            id,
                            roles: [role].into_iter().collect(),
                        };
                        let f = Facts {
                            state,
                            account_manager: Some(1),
                            has_save_attempt: false,
                        };
                        let person =
                            id == 5 && matches!(role, Role::TeamLead | Role::DepartmentManager);
                        let filer = id == 1 && role == Role::AccountManager;
                        let expected =
                            escalated_to.is_some() && (person || filer) && state.is_open();
                        assert_eq!(
                            may_comment(w, f, escalated_to).is_ok(),
                            expected,
                            "{state:?} {role:?} {id} {escalated_to:?}"
                        );
                    }
                }
            }
        }
    }
}
