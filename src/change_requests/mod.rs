//! Change requests: filed by an account manager for a client, escalated, edited while a draft
//! or with Retention, withdrawn; each step one transaction with its audit record and emails.

pub mod attachments;
pub mod comments;
pub mod db;
pub mod form;
pub mod handover;
mod pages;
pub mod questions;
pub mod reasons;

pub use pages::{ShowPage, show_page};
pub mod rules;

use crate::web::Routes;

/// Who may read change requests: everyone at the agency (not the outside contractor).
pub const VIEW: crate::web::Access = crate::clients::VIEW;

/// Filing and editing are checked by the rules against the record; the route only needs a
/// signed-in agency member.
pub fn routes(r: Routes) -> Routes {
    r.get("/requests", VIEW, pages::list)
        .get("/clients/{id}/requests/new", VIEW, pages::new_page)
        .post("/clients/{id}/requests", VIEW, pages::file)
        .get("/requests/{id}", VIEW, pages::show)
        .get("/requests/{id}/edit", VIEW, pages::edit_page)
        .post("/requests/{id}", VIEW, pages::update)
        .post("/requests/{id}/withdraw", VIEW, pages::withdraw)
        .post("/requests/{id}/questions", VIEW, questions::ask)
        .post("/questions/{id}/answer", VIEW, questions::answer)
        .post_limited(
            "/requests/{id}/attachments",
            VIEW,
            attachments::BODY_LIMIT,
            attachments::upload,
        )
        .get("/attachments/{id}", VIEW, attachments::download)
        .post("/requests/{id}/comments", VIEW, comments::add)
        .get("/admin/reasons", reasons::ACCESS, reasons::list)
        .post("/admin/reasons", reasons::ACCESS, reasons::add)
        .post("/admin/reasons/{id}", reasons::ACCESS, reasons::update)
        .post(
            "/admin/reasons/{id}/retire",
            reasons::ACCESS,
            reasons::retire,
        )
        .post(
            "/admin/reasons/{id}/restore",
            reasons::ACCESS,
            reasons::restore,
        )
}
