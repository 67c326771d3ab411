//! Change requests: filed by an account manager for a client, escalated, edited while a draft
//! or with Retention, withdrawn; each step one transaction with its audit record and emails.

pub mod attachments;
pub mod comments;
pub mod db;
pub mod form;
mod handlers;
pub mod handover;
mod notify;
pub mod questions;
pub mod reasons;
pub mod rules;
pub mod timeline;
pub mod views;

use crate::auth::access;
use crate::web::Routes;

/// Filing and editing are checked by the rules against the record; the route only needs a
/// signed-in agency member.
pub fn routes(r: Routes) -> Routes {
    r.get("/requests", access::AGENCY_STAFF, handlers::list)
        .get(
            "/clients/{id}/requests/new",
            access::AGENCY_STAFF,
            handlers::new_page,
        )
        .post(
            "/clients/{id}/requests",
            access::AGENCY_STAFF,
            handlers::file,
        )
        .get("/requests/{id}", access::AGENCY_STAFF, handlers::show)
        .get(
            "/requests/{id}/edit",
            access::AGENCY_STAFF,
            handlers::edit_page,
        )
        .post("/requests/{id}", access::AGENCY_STAFF, handlers::update)
        .post(
            "/requests/{id}/withdraw",
            access::AGENCY_STAFF,
            handlers::withdraw,
        )
        .post(
            "/requests/{id}/questions",
            access::AGENCY_STAFF,
            handlers::questions::ask,
        )
        .post(
            "/questions/{id}/answer",
            access::AGENCY_STAFF,
            handlers::questions::answer,
        )
        .post_limited(
            "/requests/{id}/attachments",
            access::AGENCY_STAFF,
            attachments::BODY_LIMIT,
            handlers::attachments::upload,
        )
        .get(
            "/attachments/{id}",
            access::AGENCY_STAFF,
            handlers::attachments::download,
        )
        .post(
            "/requests/{id}/comments",
            access::AGENCY_STAFF,
            handlers::comments::add,
        )
        .get("/admin/reasons", access::ADMIN, reasons::list)
        .post("/admin/reasons", access::ADMIN, reasons::add)
        .post("/admin/reasons/{id}", access::ADMIN, reasons::update)
        .post("/admin/reasons/{id}/retire", access::ADMIN, reasons::retire)
        .post(
            "/admin/reasons/{id}/restore",
            access::ADMIN,
            reasons::restore,
        )
}
