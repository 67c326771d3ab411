//! The Retention Team's save attempt: record the call (date, what was offered, outcome, notes)
//! and apply its outcome to the request in the same transaction: withdraw it, convert it into a
//! pause or an addendum (remembering what it was), or let the cancellation go ahead.

pub mod db;
pub mod form;
mod handlers;
mod notify;
mod outcome;
pub mod views;

use crate::auth::access;
use crate::web::Routes;

pub fn routes(r: Routes) -> Routes {
    r.post(
        "/requests/{id}/save-attempt",
        access::AGENCY_STAFF,
        handlers::record,
    )
}
