//! The roles people hold, as pure data: what each is called and where each lands.

use std::fmt;

/// One role. A user holds one or more.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    AccountManager,
    Retention,
    TeamLead,
    DepartmentManager,
    Approver,
    Finance,
    Accounting,
    OpsLead,
    DmLeadership,
    SemSpecialist,
    Contractor,
    Admin,
}

impl Role {
    /// Every role, in the order forms and lists show them.
    pub const ALL: [Role; 12] = [
        Role::AccountManager,
        Role::Retention,
        Role::TeamLead,
        Role::DepartmentManager,
        Role::Approver,
        Role::Finance,
        Role::Accounting,
        Role::OpsLead,
        Role::DmLeadership,
        Role::SemSpecialist,
        Role::Contractor,
        Role::Admin,
    ];

    /// The name stored in the database and used in forms.
    pub fn key(self) -> &'static str {
        match self {
            Role::AccountManager => "account_manager",
            Role::Retention => "retention",
            Role::TeamLead => "team_lead",
            Role::DepartmentManager => "department_manager",
            Role::Approver => "approver",
            Role::Finance => "finance",
            Role::Accounting => "accounting",
            Role::OpsLead => "ops_lead",
            Role::DmLeadership => "dm_leadership",
            Role::SemSpecialist => "sem_specialist",
            Role::Contractor => "contractor",
            Role::Admin => "admin",
        }
    }

    /// The name people read.
    pub fn label(self) -> &'static str {
        match self {
            Role::AccountManager => "Account manager",
            Role::Retention => "Retention Team",
            Role::TeamLead => "Team lead",
            Role::DepartmentManager => "Department manager",
            Role::Approver => "Approver",
            Role::Finance => "Finance",
            Role::Accounting => "Accounting",
            Role::OpsLead => "DM Operations Lead",
            Role::DmLeadership => "DM Leads and Managers",
            Role::SemSpecialist => "SEM specialist",
            Role::Contractor => "Contractor",
            Role::Admin => "Administrator",
        }
    }

    /// Parses a stored or submitted role name.
    pub fn from_key(key: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.key() == key)
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The person asking: who they are and the roles they hold.
#[derive(Clone, Copy, Debug)]
pub struct Who {
    pub id: i64,
    pub roles: RoleSet,
}

/// A set of roles, cheap to copy and to test.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct RoleSet(u16);

impl RoleSet {
    pub const EMPTY: RoleSet = RoleSet(0);

    pub fn contains(self, role: Role) -> bool {
        self.0 & role.bit() != 0
    }

    /// True when this set shares at least one role with `roles`.
    pub fn any_of(self, roles: &[Role]) -> bool {
        roles.iter().any(|r| self.contains(*r))
    }

    pub fn insert(&mut self, role: Role) {
        self.0 |= role.bit();
    }

    pub fn remove(&mut self, role: Role) {
        self.0 &= !role.bit();
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The roles in display order.
    pub fn iter(self) -> impl Iterator<Item = Role> {
        Role::ALL.into_iter().filter(move |r| self.contains(*r))
    }

    /// Stored form: the role keys. Unknown keys (from a newer version) are ignored.
    pub fn from_keys<S: AsRef<str>>(keys: &[S]) -> RoleSet {
        keys.iter()
            .filter_map(|k| Role::from_key(k.as_ref()))
            .collect()
    }

    pub fn keys(self) -> Vec<String> {
        self.iter().map(|r| r.key().to_string()).collect()
    }

    /// "Account manager, Administrator".
    pub fn labels(self) -> String {
        self.iter().map(Role::label).collect::<Vec<_>>().join(", ")
    }
}

/// Every set of one or two roles, for tests that try people holding two roles too.
#[cfg(test)]
pub fn one_or_two() -> Vec<RoleSet> {
    let mut sets = Vec::new();
    for (i, a) in Role::ALL.iter().enumerate() {
        sets.push([*a].into_iter().collect());
        for b in &Role::ALL[i + 1..] {
            sets.push([*a, *b].into_iter().collect());
        }
    }
    sets
}

impl FromIterator<Role> for RoleSet {
    fn from_iter<I: IntoIterator<Item = Role>>(iter: I) -> Self {
        let mut set = RoleSet::EMPTY;
        for r in iter {
            set.insert(r);
        }
        set
    }
}

impl fmt::Debug for RoleSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter().map(Role::key)).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_key_parses_back_to_its_role() {
        for r in Role::ALL {
            assert_eq!(Role::from_key(r.key()), Some(r));
        }
        assert_eq!(Role::from_key("superuser"), None);
        assert_eq!(Role::from_key(""), None);
    }

    #[test]
    fn role_keys_match_the_database_check_constraint() {
        let migration = include_str!("../../migrations/20261125000002_users_sessions_audit.sql");
        for r in Role::ALL {
            assert!(
                migration.contains(&format!("'{}'", r.key())),
                "{} missing from users.roles check",
                r.key()
            );
        }
    }

    #[test]
    fn a_role_set_holds_exactly_what_was_put_in() {
        for a in Role::ALL {
            for b in Role::ALL {
                let set: RoleSet = [a, b].into_iter().collect();
                for c in Role::ALL {
                    assert_eq!(set.contains(c), c == a || c == b);
                }
                let mut less = set;
                less.remove(a);
                assert!(!less.contains(a));
                assert_eq!(less.contains(b), a != b);
            }
        }
    }

    #[test]
    fn role_sets_round_trip_through_their_stored_keys_and_skip_unknown_ones() {
        let set: RoleSet = [Role::Admin, Role::Finance].into_iter().collect();
        assert_eq!(set.keys(), vec!["finance", "admin"]);
        assert_eq!(RoleSet::from_keys(&set.keys()), set);
        assert_eq!(
            RoleSet::from_keys(&["finance", "wizard"]).keys(),
            vec!["finance"]
        );
        assert!(RoleSet::from_keys::<&str>(&[]).is_empty());
        assert!(set.any_of(&[Role::Retention, Role::Admin]));
        assert!(!set.any_of(&[Role::Retention]));
        assert_eq!(set.labels(), "Finance, Administrator");
    }
}
