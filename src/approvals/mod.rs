//! The approval chain: submit, approve or send back in order, Finance only for credits,
//! Accounting processes, the distribution list is told. Every decision is one transaction with
//! its audit record and its emails; a decision that is no longer possible changes nothing.

/// The roles an approval step can be handed to (the chain page and the admin's hand-over offer
/// these): their holders may be asked to decide.
pub const DECIDER_ROLES: &[crate::auth::roles::Role] = &[
    crate::auth::roles::Role::Approver,
    crate::auth::roles::Role::Finance,
    crate::auth::roles::Role::Accounting,
    crate::auth::roles::Role::DmLeadership,
    crate::auth::roles::Role::DepartmentManager,
];

pub mod admin;
pub mod db;
pub mod nudges;
mod pages;
pub mod routing;
pub mod rules;
pub mod substitutes;

pub use pages::{ApprovalPanel, panel, withdrawn_in_approval};

use crate::auth::roles::Role;
use crate::web::{Access, Routes};

/// Marking approved requests processed.
pub const ACCOUNTING: Access = Access::Roles(&[Role::Accounting]);

pub fn routes(r: Routes) -> Routes {
    let view = crate::change_requests::VIEW;
    r.post("/requests/{id}/submit", view, pages::submit)
        .post("/approvals/{id}/approve", view, pages::approve)
        .post("/approvals/{id}/send-back", view, pages::send_back)
        .post("/requests/{id}/processed", ACCOUNTING, pages::process)
        .get("/substitutes", substitutes::ACCESS, substitutes::page)
        .post("/substitutes", substitutes::ACCESS, substitutes::add)
        .post(
            "/substitutes/{id}/end",
            substitutes::ACCESS,
            substitutes::end,
        )
        .get("/admin/approvals", admin::ACCESS, admin::page)
        .post("/admin/approvals/steps", admin::ACCESS, admin::add_step)
        .post(
            "/admin/approvals/steps/{id}",
            admin::ACCESS,
            admin::update_step,
        )
        .post(
            "/admin/approvals/steps/{id}/retire",
            admin::ACCESS,
            admin::retire_step,
        )
        .post(
            "/admin/approval-steps/{id}/reassign",
            admin::ACCESS,
            admin::reassign,
        )
}
