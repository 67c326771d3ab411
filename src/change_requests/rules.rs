//! The rules of change requests as pure code: kinds, states, who may file, edit and withdraw.
//! No database and no HTTP here; handlers ask these and then write.

use crate::auth::roles::{Role, Who};

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

    /// The label of a request of this kind, or of one undoing (`reinstates`) an approved
    /// request of this kind: it carries the original's kind, and reads as what it is.
    pub fn label_of(self, reinstates: Option<i64>) -> &'static str {
        match (reinstates, self) {
            (None, kind) => kind.label(),
            (Some(_), Kind::Cancellation) => "Reinstatement (undoes a cancellation)",
            (Some(_), Kind::Pause) => "Reinstatement (undoes a contract pause)",
            (Some(_), Kind::Addendum) => "Reinstatement (undoes an addendum)",
        }
    }

    pub fn from_key(key: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.key() == key)
    }
}

/// What a cancellation ends: the agency's digital marketing services only, or everything
/// (the client leaves the platform, and the checklist takes it out of every tool).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CancelScope {
    ServicesOnly,
    LeavePlatform,
}

impl CancelScope {
    pub const ALL: [CancelScope; 2] = [CancelScope::ServicesOnly, CancelScope::LeavePlatform];

    pub fn key(self) -> &'static str {
        match self {
            CancelScope::ServicesOnly => "services_only",
            CancelScope::LeavePlatform => "leave_platform",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            CancelScope::ServicesOnly => "Digital marketing services only",
            CancelScope::LeavePlatform => "Leaving the platform entirely",
        }
    }

    pub fn from_key(key: &str) -> Option<CancelScope> {
        CancelScope::ALL.into_iter().find(|s| s.key() == key)
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

    /// Editable: a draft, with Retention, or sent back by an approver. Its terms may change,
    /// documents may be attached, it may be submitted or withdrawn by its owner.
    pub fn is_editable(self) -> bool {
        matches!(
            self,
            State::Draft | State::WithRetention | State::ChangesRequested
        )
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

/// Why something is not allowed, in words for the person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal(pub &'static str);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

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
    if !facts.state.is_editable() {
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
    if !facts.state.is_editable() {
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

    /// From DESIGN.md: a request's terms change, documents are attached and it is submitted
    /// or withdrawn by its owner while it is a draft, with Retention or sent back; it is open
    /// until approved, completed or withdrawn.
    #[test]
    fn editable_and_open_states_follow_the_design_table() {
        let table = [
            (State::Draft, true, true),
            (State::WithRetention, true, true),
            (State::InApproval, false, true),
            (State::ChangesRequested, true, true),
            (State::Approved, false, false),
            (State::Completed, false, false),
            (State::Withdrawn, false, false),
        ];
        assert_eq!(table.len(), State::ALL.len());
        for (state, editable, open) in table {
            assert_eq!(state.is_editable(), editable, "{state:?} editable");
            assert_eq!(state.is_open(), open, "{state:?} open");
        }
    }

    #[test]
    fn a_refusal_reads_as_its_words() {
        assert_eq!(
            format!("Nothing changed. {}", Refusal("It is closed.")),
            "Nothing changed. It is closed."
        );
    }

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
        for s in CancelScope::ALL {
            assert_eq!(CancelScope::from_key(s.key()), Some(s));
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
            .chain(CancelScope::ALL.map(CancelScope::key))
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
        // DESIGN.md: "A request filed as an addendum is never escalated to Retention"; every
        // other kind may go anywhere, and an addendum anywhere else.
        use Escalation::*;
        let refused = [(Kind::Addendum, Retention)];
        let allowed = [
            (Kind::Cancellation, Retention),
            (Kind::Cancellation, TeamLead),
            (Kind::Cancellation, DepartmentManager),
            (Kind::Cancellation, None),
            (Kind::Pause, Retention),
            (Kind::Pause, TeamLead),
            (Kind::Pause, DepartmentManager),
            (Kind::Pause, None),
            (Kind::Addendum, TeamLead),
            (Kind::Addendum, DepartmentManager),
            (Kind::Addendum, None),
        ];
        assert_eq!(refused.len() + allowed.len(), 12, "every pair, once");
        for (kind, e) in refused {
            assert!(may_escalate(kind, e).is_err(), "{kind:?} {e:?}");
        }
        for (kind, e) in allowed {
            assert!(may_escalate(kind, e).is_ok(), "{kind:?} {e:?}");
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

    /// A row of the ownership table: who, in which state, with Retention involved or not, and
    /// whether the design lets them edit and withdraw.
    struct Own {
        case: &'static str,
        who: Who,
        state: State,
        save_attempt: bool,
        edit: bool,
        withdraw: bool,
    }

    const AMY: i64 = 3;
    const OTHER: i64 = 2;

    /// Written from DESIGN.md ("edited while a draft, with Retention or sent back, by its
    /// account manager or by Retention once involved; withdrawn while open; while in approval
    /// only by whoever submits it"), not from the code.
    fn ownership() -> Vec<Own> {
        use Role::*;
        let row = |case, who, state, save_attempt, edit, withdraw| Own {
            case,
            who,
            state,
            save_attempt,
            edit,
            withdraw,
        };
        vec![
            row(
                "the account manager's draft",
                who(FILER, &[AccountManager]),
                State::Draft,
                false,
                true,
                true,
            ),
            row(
                "another account manager",
                who(OTHER, &[AccountManager]),
                State::Draft,
                false,
                false,
                false,
            ),
            row(
                "Retention on a request never escalated",
                who(AMY, &[Retention]),
                State::Draft,
                false,
                false,
                false,
            ),
            row(
                "the account manager, with Retention",
                who(FILER, &[AccountManager]),
                State::WithRetention,
                true,
                true,
                true,
            ),
            row(
                "Retention, with Retention",
                who(AMY, &[Retention]),
                State::WithRetention,
                true,
                true,
                true,
            ),
            row(
                "the account manager, sent back",
                who(FILER, &[AccountManager]),
                State::ChangesRequested,
                false,
                true,
                true,
            ),
            row(
                "Retention, sent back after they submitted",
                who(AMY, &[Retention]),
                State::ChangesRequested,
                true,
                true,
                true,
            ),
            row(
                "the account manager who submitted, in approval",
                who(FILER, &[AccountManager]),
                State::InApproval,
                false,
                false,
                true,
            ),
            row(
                "the account manager, in approval after Retention submitted",
                who(FILER, &[AccountManager]),
                State::InApproval,
                true,
                false,
                false,
            ),
            row(
                "Retention, in approval after they submitted",
                who(AMY, &[Retention]),
                State::InApproval,
                true,
                false,
                true,
            ),
            row(
                "the account manager, approved",
                who(FILER, &[AccountManager]),
                State::Approved,
                false,
                false,
                false,
            ),
            row(
                "Retention, approved",
                who(AMY, &[Retention]),
                State::Approved,
                true,
                false,
                false,
            ),
            row(
                "the account manager, completed",
                who(FILER, &[AccountManager]),
                State::Completed,
                false,
                false,
                false,
            ),
            row(
                "the account manager, withdrawn",
                who(FILER, &[AccountManager]),
                State::Withdrawn,
                false,
                false,
                false,
            ),
            row(
                "a team lead it was escalated to",
                who(5, &[TeamLead]),
                State::Draft,
                false,
                false,
                false,
            ),
            row(
                "an approver",
                who(10, &[Approver]),
                State::Draft,
                false,
                false,
                false,
            ),
            row(
                "the admin",
                who(9, &[Admin]),
                State::ChangesRequested,
                false,
                false,
                false,
            ),
            row(
                "the account manager who also approves",
                who(FILER, &[AccountManager, Approver]),
                State::Draft,
                false,
                true,
                true,
            ),
            row(
                "an account manager of other clients who is also on Retention",
                who(OTHER, &[AccountManager, Retention]),
                State::WithRetention,
                true,
                true,
                true,
            ),
            row(
                "the same, without Retention involved",
                who(OTHER, &[AccountManager, Retention]),
                State::Draft,
                false,
                false,
                false,
            ),
            row(
                "the client's id without the account manager role",
                who(FILER, &[Finance]),
                State::Draft,
                false,
                false,
                false,
            ),
        ]
    }

    #[test]
    fn edit_and_withdraw_follow_the_design_table() {
        for c in ownership() {
            let f = facts(c.state, c.save_attempt);
            assert_eq!(may_edit(c.who, f).is_ok(), c.edit, "edit: {}", c.case);
            assert_eq!(
                may_withdraw(c.who, f).is_ok(),
                c.withdraw,
                "withdraw: {}",
                c.case
            );
        }
    }

    #[test]
    fn a_client_without_an_account_manager_has_no_owner_but_retention() {
        let nobody = Facts {
            state: State::Draft,
            account_manager: None,
            has_save_attempt: false,
        };
        assert!(may_edit(who(FILER, &[Role::AccountManager]), nobody).is_err());
        let with_retention = Facts {
            state: State::WithRetention,
            has_save_attempt: true,
            ..nobody
        };
        assert!(may_edit(who(AMY, &[Role::Retention]), with_retention).is_ok());
    }

    /// Properties that hold whoever asks, without restating the rule: closed requests are
    /// never edited or withdrawn; nothing is edited while the approvers have it; only an
    /// account manager or Retention ever may.
    #[test]
    fn nobody_edits_a_closed_request_or_one_in_approval_and_only_owners_ever_may() {
        for state in State::ALL {
            for save in [false, true] {
                for roles in crate::auth::roles::one_or_two() {
                    for id in [FILER, OTHER, AMY] {
                        let w = Who { id, roles };
                        let f = facts(state, save);
                        let owner_role = roles.any_of(&[Role::AccountManager, Role::Retention]);
                        if may_edit(w, f).is_ok() {
                            assert!(state.is_open() && state != State::InApproval);
                            assert!(owner_role, "{roles:?}");
                        }
                        if may_withdraw(w, f).is_ok() {
                            assert!(state.is_open(), "{state:?}");
                            assert!(owner_role, "{roles:?}");
                        }
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
            Outcome::NotSaved => "Not saved (the request goes ahead as filed)",
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

    /// From DESIGN.md and the correction rule: Retention records the call while the request
    /// is with them, and corrects it while it is in their hands (not yet submitted, or sent
    /// back to them).
    #[test]
    fn retention_records_and_corrects_the_call_while_it_is_in_their_hands() {
        let w = |roles: &[Role]| Who {
            id: 5,
            roles: roles.iter().copied().collect(),
        };
        let f = |state, has_save_attempt| Facts {
            state,
            account_manager: Some(1),
            has_save_attempt,
        };
        let cases = [
            (
                "Retention, with them",
                w(&[Role::Retention]),
                f(State::WithRetention, true),
                true,
            ),
            (
                "Retention, sent back to them",
                w(&[Role::Retention]),
                f(State::ChangesRequested, true),
                true,
            ),
            (
                "Retention, with the approvers",
                w(&[Role::Retention]),
                f(State::InApproval, true),
                false,
            ),
            (
                "Retention, approved",
                w(&[Role::Retention]),
                f(State::Approved, true),
                false,
            ),
            (
                "Retention, withdrawn",
                w(&[Role::Retention]),
                f(State::Withdrawn, true),
                false,
            ),
            (
                "Retention, no save attempt",
                w(&[Role::Retention]),
                f(State::Draft, false),
                false,
            ),
            (
                "Retention, sent back, never involved",
                w(&[Role::Retention]),
                f(State::ChangesRequested, false),
                false,
            ),
            (
                "the account manager",
                w(&[Role::AccountManager]),
                f(State::WithRetention, true),
                false,
            ),
            (
                "a team lead",
                w(&[Role::TeamLead]),
                f(State::WithRetention, true),
                false,
            ),
            (
                "an account manager also on Retention",
                w(&[Role::AccountManager, Role::Retention]),
                f(State::WithRetention, true),
                true,
            ),
        ];
        for (case, who, facts, allowed) in cases {
            assert_eq!(may_record_outcome(who, facts).is_ok(), allowed, "{case}");
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

/// Attaching the client's signed addendum: on an addendum not yet submitted, by its account
/// manager, or by Retention on one they converted (an addendum with a save attempt can only be
/// a converted cancellation: addendums are never escalated to Retention).
pub fn may_attach(who: Who, facts: Facts, kind: Kind) -> Result<(), Refusal> {
    if kind != Kind::Addendum {
        return Err(Refusal("Signed documents are attached to addendums."));
    }
    if !facts.state.is_editable() {
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

    fn who(id: i64, roles: &[Role]) -> Who {
        Who {
            id,
            roles: roles.iter().copied().collect(),
        }
    }

    fn facts(state: State, save: bool) -> Facts {
        Facts {
            state,
            account_manager: Some(1),
            has_save_attempt: save,
        }
    }

    /// From DESIGN.md: the signed addendum is attached to an addendum before it is submitted,
    /// by its account manager or by Retention on one they converted.
    #[test]
    fn the_signed_addendum_is_attached_as_the_design_says() {
        use Role::*;
        let cases = [
            (
                "the account manager, a draft addendum",
                who(1, &[AccountManager]),
                State::Draft,
                false,
                Kind::Addendum,
                true,
            ),
            (
                "the account manager, sent back",
                who(1, &[AccountManager]),
                State::ChangesRequested,
                false,
                Kind::Addendum,
                true,
            ),
            (
                "Retention, on one they converted",
                who(3, &[Retention]),
                State::WithRetention,
                true,
                Kind::Addendum,
                true,
            ),
            (
                "the account manager, on one Retention converted",
                who(1, &[AccountManager]),
                State::WithRetention,
                true,
                Kind::Addendum,
                true,
            ),
            (
                "Retention, never involved",
                who(3, &[Retention]),
                State::Draft,
                false,
                Kind::Addendum,
                false,
            ),
            (
                "a cancellation",
                who(1, &[AccountManager]),
                State::Draft,
                false,
                Kind::Cancellation,
                false,
            ),
            (
                "a pause",
                who(1, &[AccountManager]),
                State::Draft,
                false,
                Kind::Pause,
                false,
            ),
            (
                "already with the approvers",
                who(1, &[AccountManager]),
                State::InApproval,
                false,
                Kind::Addendum,
                false,
            ),
            (
                "approved",
                who(1, &[AccountManager]),
                State::Approved,
                false,
                Kind::Addendum,
                false,
            ),
            (
                "another account manager",
                who(2, &[AccountManager]),
                State::Draft,
                false,
                Kind::Addendum,
                false,
            ),
            (
                "an approver",
                who(10, &[Approver]),
                State::Draft,
                false,
                Kind::Addendum,
                false,
            ),
        ];
        for (case, w, state, save, kind, allowed) in cases {
            assert_eq!(
                may_attach(w, facts(state, save), kind).is_ok(),
                allowed,
                "{case}"
            );
        }
    }

    /// From DESIGN.md: the team lead or department manager a request is escalated to comments,
    /// and its account manager replies, while it is open.
    #[test]
    fn comments_are_between_the_person_escalated_to_and_the_account_manager() {
        use Role::*;
        let cases = [
            (
                "the team lead it went to",
                who(5, &[TeamLead]),
                State::Draft,
                Some(5),
                true,
            ),
            (
                "the department manager it went to",
                who(5, &[DepartmentManager]),
                State::Draft,
                Some(5),
                true,
            ),
            (
                "the account manager replying",
                who(1, &[AccountManager]),
                State::ChangesRequested,
                Some(5),
                true,
            ),
            (
                "another team lead",
                who(6, &[TeamLead]),
                State::Draft,
                Some(5),
                false,
            ),
            (
                "the person it went to, lacking the role now",
                who(5, &[Approver]),
                State::Draft,
                Some(5),
                false,
            ),
            (
                "not escalated to anyone",
                who(1, &[AccountManager]),
                State::Draft,
                None,
                false,
            ),
            (
                "closed",
                who(5, &[TeamLead]),
                State::Approved,
                Some(5),
                false,
            ),
            (
                "withdrawn",
                who(1, &[AccountManager]),
                State::Withdrawn,
                Some(5),
                false,
            ),
            (
                "another account manager",
                who(2, &[AccountManager]),
                State::Draft,
                Some(5),
                false,
            ),
        ];
        for (case, w, state, to, allowed) in cases {
            assert_eq!(
                may_comment(w, facts(state, false), to).is_ok(),
                allowed,
                "{case}"
            );
        }
    }

    /// From DESIGN.md: the account manager asks the client's SEM specialist, who answers once.
    #[test]
    fn the_account_manager_asks_and_the_specialist_asked_answers_once() {
        use Role::*;
        let asks = [
            (
                "the account manager, open",
                who(1, &[AccountManager]),
                State::Draft,
                Some(9),
                true,
            ),
            (
                "in approval is still open",
                who(1, &[AccountManager]),
                State::InApproval,
                Some(9),
                true,
            ),
            (
                "closed",
                who(1, &[AccountManager]),
                State::Completed,
                Some(9),
                false,
            ),
            (
                "no specialist to ask",
                who(1, &[AccountManager]),
                State::Draft,
                None,
                false,
            ),
            (
                "Retention",
                who(3, &[Retention]),
                State::WithRetention,
                Some(9),
                false,
            ),
            (
                "another account manager",
                who(2, &[AccountManager]),
                State::Draft,
                Some(9),
                false,
            ),
        ];
        for (case, w, state, sem, allowed) in asks {
            assert_eq!(
                may_ask(w, facts(state, false), sem).is_ok(),
                allowed,
                "{case}"
            );
        }
        assert!(may_answer(who(9, &[SemSpecialist]), 9, false).is_ok());
        assert!(
            may_answer(who(9, &[SemSpecialist]), 9, true).is_err(),
            "once"
        );
        assert!(
            may_answer(who(10, &[SemSpecialist]), 9, false).is_err(),
            "another specialist"
        );
        assert!(
            may_answer(who(9, &[AccountManager]), 9, false).is_err(),
            "no longer a specialist"
        );
    }
}
