//! After approval: the change task the Ops Lead works, the SEM specialist's pause task, the
//! planner sheet with its reminders and calendar, and completion.

pub mod completion;
pub mod dates;
pub mod db;
pub mod feed;
mod handlers;
mod notify;
pub mod planner;
pub mod reinstate;
pub mod reminders;
pub mod rules;
pub mod sem_handover;
pub mod views;

use crate::auth::access::{self, Access};
use crate::web::Routes;

pub fn routes(r: Routes) -> Routes {
    let view = access::AGENCY_STAFF;
    r.get("/tasks/{id}", view, handlers::show)
        .post("/tasks/{id}/forward", access::OPS_LEAD, handlers::forward)
        .post(
            "/tasks/{id}/planner",
            access::OPS_LEAD,
            handlers::add_to_planner,
        )
        .post(
            "/tasks/{id}/status",
            access::OPS_LEAD,
            handlers::update_status,
        )
        .post("/tasks/{id}/done", access::OPS_LEAD, handlers::mark_done)
        .post(
            "/sem-tasks/{id}/done",
            access::SEM_SPECIALIST,
            handlers::tick_sem_task,
        )
        .post(
            "/requests/{id}/reinstate",
            view,
            handlers::file_reinstatement,
        )
        .get("/planner", view, planner::page)
        .get("/planner.csv", view, planner::export)
        .get("/planner/calendar", view, planner::calendar)
        .post("/planner/{id}", access::OPS_LEAD, planner::move_dates)
        .get("/planner/feed", view, feed::page)
        .post("/planner/feed", view, feed::create)
        .post("/planner/feed/revoke", view, feed::revoke)
        .get("/calendar/{token}", Access::Public, feed::serve)
}
