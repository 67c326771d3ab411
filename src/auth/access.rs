//! Who may use a route, and the policies routes share, named once: a domain's route says
//! `access::AGENCY_STAFF` or `access::ADMIN`, never another domain's constant.
//!
//! The guard (`web::routes`) asks [`Access::allows`] before every handler; the navigation shows
//! a link only to those its route allows.

use super::roles::Role;
use super::session::CurrentUser;

/// Who may use a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not.
    Public,
    /// Anyone signed in.
    SignedIn,
    /// Anyone signed in holding at least one of these roles.
    Roles(&'static [Role]),
}

impl Access {
    /// Pure decision: may someone with `user` (or nobody) use the route?
    pub fn allows(self, user: Option<&CurrentUser>) -> Decision {
        match (self, user) {
            (Access::Public, _) => Decision::Allow,
            (_, None) => Decision::SignIn,
            (Access::SignedIn, Some(_)) => Decision::Allow,
            (Access::Roles(roles), Some(u)) if u.roles.any_of(roles) => Decision::Allow,
            (Access::Roles(_), Some(_)) => Decision::Refuse,
        }
    }
}

/// What the guard does with a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    SignIn,
    Refuse,
}

/// Everyone at the agency: every role but the outside contractor, who sees only its own
/// checklist items.
pub const AGENCY_STAFF: Access = Access::Roles(&[
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
    Role::Admin,
]);

/// The administrators: people, the distribution list, the chain, the checklist, the reasons,
/// the mail and audit logs.
pub const ADMIN: Access = Access::Roles(&[Role::Admin]);

/// The DM Operations Lead's work: change tasks, the planner's writes.
pub const OPS_LEAD: Access = Access::Roles(&[Role::OpsLead]);

/// The SEM specialist's own work (pause tasks).
pub const SEM_SPECIALIST: Access = Access::Roles(&[Role::SemSpecialist]);

/// Accounting, who processes approved requests.
pub const ACCOUNTING: Access = Access::Roles(&[Role::Accounting]);

/// Named approvers (their substitutes).
pub const APPROVERS: Access = Access::Roles(&[Role::Approver]);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::roles::RoleSet;
    use crate::auth::session::CurrentUser;

    fn user(roles: &[Role]) -> CurrentUser {
        CurrentUser {
            id: 1,
            email: "a@b.c".into(),
            display_name: "A".into(),
            roles: roles.iter().copied().collect::<RoleSet>(),
            session_hash: vec![],
            flash: None,
            flash_shown: Default::default(),
        }
    }

    #[test]
    fn public_routes_allow_everyone() {
        assert_eq!(Access::Public.allows(None), Decision::Allow);
        assert_eq!(Access::Public.allows(Some(&user(&[]))), Decision::Allow);
    }

    #[test]
    fn the_anonymous_are_sent_to_sign_in_everywhere_else() {
        assert_eq!(Access::SignedIn.allows(None), Decision::SignIn);
        assert_eq!(Access::Roles(&[Role::Admin]).allows(None), Decision::SignIn);
    }

    #[test]
    fn role_routes_allow_exactly_the_holders_of_a_listed_role() {
        for held in Role::ALL {
            for required in Role::ALL {
                let required_only: &'static [Role] = Box::leak(Box::new([required]));
                let decision = Access::Roles(required_only).allows(Some(&user(&[held])));
                let expected = if held == required {
                    Decision::Allow
                } else {
                    Decision::Refuse
                };
                assert_eq!(decision, expected, "{held:?} on a {required:?} route");
            }
            assert_eq!(
                Access::SignedIn.allows(Some(&user(&[held]))),
                Decision::Allow
            );
        }
        let several = Access::Roles(&[Role::Finance, Role::Accounting]);
        assert_eq!(
            several.allows(Some(&user(&[Role::Accounting]))),
            Decision::Allow
        );
        assert_eq!(
            several.allows(Some(&user(&[Role::Contractor]))),
            Decision::Refuse
        );
        assert_eq!(several.allows(Some(&user(&[]))), Decision::Refuse);
    }

    #[test]
    fn agency_staff_is_everyone_but_the_contractor() {
        for role in Role::ALL {
            let expected = if role == Role::Contractor {
                Decision::Refuse
            } else {
                Decision::Allow
            };
            assert_eq!(
                AGENCY_STAFF.allows(Some(&user(&[role]))),
                expected,
                "{role:?}"
            );
        }
    }
}
