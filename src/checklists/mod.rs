//! Offboarding checklists: made when a cancellation is approved, ticked by their owners (the
//! Ops Lead, the outside contractor, the SEM specialist, who also verifies each contractor
//! item), each tick on the request's timeline; the last one can complete the request.

pub mod db;
mod handlers;
mod notify;
pub mod overdue;
pub mod rules;
mod sheet;
pub mod steps;
pub mod templates;
pub mod views;

use crate::auth::access::{self, Access};
use crate::auth::roles::Role;
use crate::web::Routes;

crate::db::text_enum!(rules::Condition);

/// Ticking items: their owners.
pub const TICK: Access = Access::Roles(&[Role::OpsLead, Role::Contractor, Role::SemSpecialist]);

pub fn routes(r: Routes) -> Routes {
    let view = access::AGENCY_STAFF;
    r.post("/checklist/{id}/done", TICK, handlers::tick)
        .get("/offboarding", view, sheet::page)
        .get("/offboarding.csv", view, sheet::export)
        .get("/admin/checklist", access::ADMIN, templates::page)
        .post("/admin/checklist", access::ADMIN, templates::add)
        .post("/admin/checklist/{id}", access::ADMIN, templates::update)
        .post(
            "/admin/checklist/{id}/retire",
            access::ADMIN,
            templates::retire,
        )
        .post("/checklist/{id}/undo", TICK, handlers::undo)
        .post(
            "/checklist/{id}/send-back",
            Access::Roles(&[Role::SemSpecialist]),
            handlers::send_back,
        )
}
