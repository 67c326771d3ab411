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
pub mod chain;
pub mod db;
mod handlers;
mod notify;
pub mod nudges;
pub mod routing;
pub mod rules;
pub mod substitutes;
pub mod views;

use crate::auth::access;
use crate::web::Routes;

pub fn routes(r: Routes) -> Routes {
    let view = access::AGENCY_STAFF;
    r.post("/requests/{id}/submit", view, handlers::submit)
        .post("/approvals/{id}/approve", view, handlers::approve)
        .post("/approvals/{id}/send-back", view, handlers::send_back)
        .post(
            "/requests/{id}/processed",
            access::ACCOUNTING,
            handlers::process,
        )
        .get("/substitutes", access::APPROVERS, substitutes::page)
        .post("/substitutes", access::APPROVERS, substitutes::add)
        .post("/substitutes/{id}/end", access::APPROVERS, substitutes::end)
        .get("/admin/approvals", access::ADMIN, admin::page)
        .post("/admin/approvals/steps", access::ADMIN, admin::add_step)
        .post(
            "/admin/approvals/steps/{id}",
            access::ADMIN,
            admin::update_step,
        )
        .post(
            "/admin/approvals/steps/{id}/retire",
            access::ADMIN,
            admin::retire_step,
        )
        .post(
            "/admin/approval-steps/{id}/reassign",
            access::ADMIN,
            admin::reassign,
        )
}
