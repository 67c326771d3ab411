//! The offboarding checklist as pure rules: which items a cancellation gets from the templates,
//! and who may tick which item when.

use chrono::{Duration, NaiveDate};

use crate::auth::roles::Role;
use crate::auth::roles::Who;
use crate::change_requests::rules::{Kind, Refusal};

/// When a template item applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Condition {
    Always,
    LeavePlatform,
    /// The client has this ad product (its key: google_ads, microsoft_ads, facebook, fluency).
    Product(&'static str),
}

impl Condition {
    pub const PRODUCTS: [&'static str; 4] = ["google_ads", "microsoft_ads", "facebook", "fluency"];

    pub fn key(self) -> &'static str {
        match self {
            Condition::Always => "always",
            Condition::LeavePlatform => "leave_platform",
            Condition::Product(p) => p,
        }
    }

    pub fn from_key(key: &str) -> Option<Condition> {
        match key {
            "always" => Some(Condition::Always),
            "leave_platform" => Some(Condition::LeavePlatform),
            other => Self::PRODUCTS
                .into_iter()
                .find(|p| *p == other)
                .map(Condition::Product),
        }
    }

    pub fn holds(self, leaves_platform: bool, products: &[String]) -> bool {
        match self {
            Condition::Always => true,
            Condition::LeavePlatform => leaves_platform,
            Condition::Product(p) => products.iter().any(|have| have == p),
        }
    }
}

/// A template item.
#[derive(Clone, Debug)]
pub struct Template {
    pub id: i64,
    pub position: i32,
    pub title: String,
    pub owner: Role,
    pub condition: Condition,
    pub due_offset_days: i32,
}

/// An item as a checklist gets it; `verifies` is the index of the contractor item a
/// verification double-checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    pub template_id: Option<i64>,
    pub title: String,
    pub owner: Role,
    pub due_on: NaiveDate,
    pub verifies: Option<usize>,
}

/// Only cancellations get a checklist: a paused client keeps every tool.
pub fn gets_checklist(kind: Kind) -> bool {
    kind == Kind::Cancellation
}

/// The items for a cancellation, in template order, each contractor item followed by the SEM
/// specialist's verification of it.
pub fn generate(
    templates: &[Template],
    leaves_platform: bool,
    products: &[String],
    effective: NaiveDate,
) -> Vec<Planned> {
    let mut sorted: Vec<&Template> = templates.iter().collect();
    sorted.sort_by_key(|t| (t.position, t.id));
    let mut items = Vec::new();
    for t in sorted {
        if !t.condition.holds(leaves_platform, products) {
            continue;
        }
        let due_on = effective + Duration::days(t.due_offset_days as i64);
        items.push(Planned {
            template_id: Some(t.id),
            title: t.title.clone(),
            owner: t.owner,
            due_on,
            verifies: None,
        });
        if t.owner == Role::Contractor {
            let index = items.len() - 1;
            items.push(Planned {
                template_id: None,
                title: format!("Verify: {}", t.title),
                owner: Role::SemSpecialist,
                due_on,
                verifies: Some(index),
            });
        }
    }
    items
}

/// What ticking an item needs to know.
#[derive(Clone, Copy, Debug)]
pub struct TickFacts {
    pub owner: Role,
    pub assignee: Option<i64>,
    pub done: bool,
    pub cancelled: bool,
    /// For a verification: whether the contractor ticked the item it checks.
    pub verified_item_done: Option<bool>,
}

/// Ticking: a holder of the item's owner role (the SEM items: the specialist they are for),
/// once, and a verification only after the contractor's tick.
pub fn may_tick(who: Who, f: TickFacts) -> Result<(), Refusal> {
    if !who.roles.contains(f.owner) {
        return Err(Refusal("This item is someone else's."));
    }
    if f.owner == Role::SemSpecialist && f.assignee.is_some_and(|a| a != who.id) {
        return Err(Refusal("This item is for another SEM specialist."));
    }
    if f.cancelled {
        return Err(Refusal(
            "This item was cancelled (the client was reinstated).",
        ));
    }
    if f.done {
        return Err(Refusal("This item is already done."));
    }
    if f.verified_item_done == Some(false) {
        return Err(Refusal(
            "The contractor has not ticked this item yet; verify it after they do.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn templates() -> Vec<Template> {
        let rows: [(i32, &str, Role, &str); 13] = [
            (10, "Client Tracker", Role::OpsLead, "always"),
            (20, "DigMS Offboarding Sheet", Role::OpsLead, "always"),
            (30, "SEM QA Trello", Role::Contractor, "always"),
            (40, "NinjaCat", Role::Contractor, "leave_platform"),
            (50, "Google Ads access", Role::Contractor, "leave_platform"),
            (60, "Google Analytics", Role::Contractor, "leave_platform"),
            (
                70,
                "Google Search Console",
                Role::Contractor,
                "leave_platform",
            ),
            (80, "Google Tag Manager", Role::Contractor, "leave_platform"),
            (90, "Google Ads shutdown", Role::SemSpecialist, "google_ads"),
            (100, "Google Ads scripts", Role::SemSpecialist, "google_ads"),
            (110, "Microsoft Ads", Role::SemSpecialist, "microsoft_ads"),
            (120, "Facebook", Role::SemSpecialist, "facebook"),
            (130, "Fluency HOLD", Role::SemSpecialist, "fluency"),
        ];
        rows.iter()
            .enumerate()
            .map(|(i, (position, title, owner, condition))| Template {
                id: i as i64 + 1,
                position: *position,
                title: title.to_string(),
                owner: *owner,
                condition: Condition::from_key(condition).unwrap(),
                due_offset_days: 0,
            })
            .collect()
    }

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 15).unwrap()
    }

    fn count(items: &[Planned], role: Role) -> usize {
        items
            .iter()
            .filter(|i| i.owner == role && i.verifies.is_none())
            .count()
    }

    #[test]
    fn the_seeded_migration_matches_the_design_table() {
        let migration = include_str!("../../migrations/20261125000013_checklists.sql");
        for key in [
            "always",
            "leave_platform",
            "google_ads",
            "microsoft_ads",
            "facebook",
            "fluency",
        ] {
            assert!(Condition::from_key(key).is_some());
            assert!(migration.contains(&format!("'{key}')")), "{key} seeded");
        }
        assert_eq!(Condition::from_key("tiktok"), None);
    }

    #[test]
    fn every_scope_and_product_combination_gets_exactly_the_items_of_the_design_table() {
        for leaves in [false, true] {
            for mask in 0..16u8 {
                let products: Vec<String> = Condition::PRODUCTS
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| mask & (1 << i) != 0)
                    .map(|(_, p)| p.to_string())
                    .collect();
                let items = generate(&templates(), leaves, &products, day());
                let has = |p: &str| products.iter().any(|x| x == p);
                let contractor = if leaves { 6 } else { 1 };
                let sem = 2 * usize::from(has("google_ads"))
                    + usize::from(has("microsoft_ads"))
                    + usize::from(has("facebook"))
                    + usize::from(has("fluency"));
                assert_eq!(count(&items, Role::OpsLead), 2, "{leaves} {products:?}");
                assert_eq!(count(&items, Role::Contractor), contractor);
                assert_eq!(count(&items, Role::SemSpecialist), sem);
                // One verification per contractor item, right after it, by SEM.
                let verifications: Vec<&Planned> =
                    items.iter().filter(|i| i.verifies.is_some()).collect();
                assert_eq!(verifications.len(), contractor);
                for (i, item) in items.iter().enumerate() {
                    if let Some(v) = item.verifies {
                        assert_eq!(v, i - 1);
                        assert_eq!(items[v].owner, Role::Contractor);
                        assert_eq!(item.owner, Role::SemSpecialist);
                    }
                }
                assert!(items.iter().all(|i| i.due_on == day()));
            }
        }
    }

    #[test]
    fn due_dates_follow_each_templates_offset_and_order_follows_position() {
        let mut t = templates();
        t[0].due_offset_days = 3;
        t[1].due_offset_days = -2;
        t[1].position = 5;
        let items = generate(&t, false, &[], day());
        assert_eq!(items[0].title, "DigMS Offboarding Sheet");
        assert_eq!(items[0].due_on, day() - Duration::days(2));
        assert_eq!(items[1].due_on, day() + Duration::days(3));
    }

    #[test]
    fn only_cancellations_get_a_checklist() {
        assert!(gets_checklist(Kind::Cancellation));
        assert!(!gets_checklist(Kind::Pause));
        assert!(!gets_checklist(Kind::Addendum));
    }

    #[test]
    fn ticking_over_every_role_and_state_with_verification_after_the_contractor() {
        for owner in [Role::OpsLead, Role::Contractor, Role::SemSpecialist] {
            for role in Role::ALL {
                for id in [1, 2] {
                    for done in [false, true] {
                        for cancelled in [false, true] {
                            for verified in [None, Some(false), Some(true)] {
                                let f = TickFacts {
                                    owner,
                                    assignee: (owner == Role::SemSpecialist).then_some(1),
                                    done,
                                    cancelled,
                                    verified_item_done: verified,
                                };
                                let w = Who {
                                    id,
                                    roles: [role].into_iter().collect(),
                                };
                                let expected = role == owner
                                    && (owner != Role::SemSpecialist || id == 1)
                                    && !done
                                    && !cancelled
                                    && verified != Some(false);
                                assert_eq!(
                                    may_tick(w, f).is_ok(),
                                    expected,
                                    "{owner:?} {role:?} {id} {done} {cancelled} {verified:?}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}

/// What undoing a tick needs to know.
#[derive(Clone, Copy, Debug)]
pub struct UndoFacts {
    pub owner: Role,
    pub done_by: Option<i64>,
    /// For a contractor item: its verification is ticked.
    pub verification_done: bool,
    /// The request is completed: its checklist is closed.
    pub closed: bool,
}

/// Undoing a tick: the person who ticked it (still holding the owner role), with a reason,
/// while the request is open; a contractor item only once its verification is undone.
pub fn may_undo(who: Who, f: UndoFacts) -> Result<(), Refusal> {
    if f.done_by.is_none() {
        return Err(Refusal("This item is not ticked."));
    }
    if f.done_by != Some(who.id) || !who.roles.contains(f.owner) {
        return Err(Refusal("Only the person who ticked it undoes it."));
    }
    if f.closed {
        return Err(Refusal(
            "The request is completed; its checklist is closed.",
        ));
    }
    if f.verification_done {
        return Err(Refusal(
            "The SEM specialist has verified it; the verification is undone first.",
        ));
    }
    Ok(())
}

/// Sending a contractor item back (it was not really done): the SEM specialist its verification
/// is for, while the contractor's tick stands and the verification is not ticked.
pub fn may_send_back(
    who: Who,
    verification_assignee: Option<i64>,
    contractor_done: bool,
    verification_done: bool,
    closed: bool,
) -> Result<(), Refusal> {
    if !who.roles.contains(Role::SemSpecialist)
        || verification_assignee.is_some_and(|a| a != who.id)
    {
        return Err(Refusal("The SEM specialist who verifies it sends it back."));
    }
    if closed {
        return Err(Refusal(
            "The request is completed; its checklist is closed.",
        ));
    }
    if !contractor_done {
        return Err(Refusal(
            "The contractor has not ticked it; there is nothing to send back.",
        ));
    }
    if verification_done {
        return Err(Refusal(
            "It is verified already; undo the verification first.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod undo_tests {
    use super::*;

    #[test]
    fn only_who_ticked_undoes_and_a_verified_item_waits_for_its_verification() {
        for owner in [Role::OpsLead, Role::Contractor, Role::SemSpecialist] {
            for role in Role::ALL {
                for id in [1, 2] {
                    for done_by in [None, Some(1)] {
                        for verified in [false, true] {
                            for closed in [false, true] {
                                let f = UndoFacts {
                                    owner,
                                    done_by,
                                    verification_done: verified,
                                    closed,
                                };
                                let w = Who {
                                    id,
                                    roles: [role].into_iter().collect(),
                                };
                                let expected =
                                    done_by == Some(id) && role == owner && !verified && !closed;
                                assert_eq!(may_undo(w, f).is_ok(), expected);
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn the_verifying_specialist_sends_back_a_ticked_unverified_item() {
        for role in Role::ALL {
            for id in [1, 2] {
                for bits in 0..8u8 {
                    let (done, verified, closed) = (bits & 1 != 0, bits & 2 != 0, bits & 4 != 0);
                    let w = Who {
                        id,
                        roles: [role].into_iter().collect(),
                    };
                    let expected =
                        role == Role::SemSpecialist && id == 1 && done && !verified && !closed;
                    assert_eq!(
                        may_send_back(w, Some(1), done, verified, closed).is_ok(),
                        expected
                    );
                }
            }
        }
    }
}
