//! Change requests: filed by an account manager for a client, escalated, edited while a draft
//! or with Retention, withdrawn; each step one transaction with its audit record and emails.

pub mod attachments;
pub mod comments;
pub mod db;
pub mod form;
pub mod handover;
mod notify;
mod pages;
pub mod questions;
pub mod reasons;

pub use pages::{ShowPage, show_page};
pub mod rules;

use crate::auth::access;
use crate::web::Routes;

/// Filing and editing are checked by the rules against the record; the route only needs a
/// signed-in agency member.
pub fn routes(r: Routes) -> Routes {
    r.get("/requests", access::AGENCY_STAFF, pages::list)
        .get(
            "/clients/{id}/requests/new",
            access::AGENCY_STAFF,
            pages::new_page,
        )
        .post("/clients/{id}/requests", access::AGENCY_STAFF, pages::file)
        .get("/requests/{id}", access::AGENCY_STAFF, pages::show)
        .get(
            "/requests/{id}/edit",
            access::AGENCY_STAFF,
            pages::edit_page,
        )
        .post("/requests/{id}", access::AGENCY_STAFF, pages::update)
        .post(
            "/requests/{id}/withdraw",
            access::AGENCY_STAFF,
            pages::withdraw,
        )
        .post(
            "/requests/{id}/questions",
            access::AGENCY_STAFF,
            questions::ask,
        )
        .post(
            "/questions/{id}/answer",
            access::AGENCY_STAFF,
            questions::answer,
        )
        .post_limited(
            "/requests/{id}/attachments",
            access::AGENCY_STAFF,
            attachments::BODY_LIMIT,
            attachments::upload,
        )
        .get(
            "/attachments/{id}",
            access::AGENCY_STAFF,
            attachments::download,
        )
        .post(
            "/requests/{id}/comments",
            access::AGENCY_STAFF,
            comments::add,
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
