//! Addendums signed inside the desk: the documents it generates, the seal it puts on them,
//! the account manager's side (prepare, send, resend, void) and the client's (`/sign/<token>`).

pub mod addendum;
pub mod chain;
pub mod der;
pub mod flow;
mod handlers;
pub mod pdf;
pub mod pkcs12;
mod public;
pub mod reminder;
pub mod rules;
pub mod seal;
pub mod views;

use crate::auth::access::{self, Access};
use crate::web::Routes;

pub fn routes(r: Routes) -> Routes {
    r.get(
        "/requests/{id}/addendum.pdf",
        access::AGENCY_STAFF,
        handlers::preview,
    )
    .post(
        "/requests/{id}/signature",
        access::AGENCY_STAFF,
        handlers::send,
    )
    .post(
        "/requests/{id}/signature/resend",
        access::AGENCY_STAFF,
        handlers::resend,
    )
    .post(
        "/requests/{id}/signature/void",
        access::AGENCY_STAFF,
        handlers::void,
    )
    .get("/admin/addendum", access::ADMIN, handlers::wording_page)
    .post("/admin/addendum", access::ADMIN, handlers::save_wording)
    .get(
        "/signing/verify",
        access::AGENCY_STAFF,
        handlers::verify_page,
    )
    .post_limited(
        "/signing/verify",
        access::AGENCY_STAFF,
        crate::change_requests::attachments::BODY_LIMIT,
        handlers::verify,
    )
    .get("/sign/{token}", Access::Public, public::show)
    .get(
        "/sign/{token}/addendum.pdf",
        Access::Public,
        public::document,
    )
    .post("/sign/{token}/code", Access::Public, public::code)
    .post("/sign/{token}/sign", Access::Public, public::sign)
    .post("/sign/{token}/decline", Access::Public, public::decline)
}
