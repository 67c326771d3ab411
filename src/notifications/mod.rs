//! Email that is never lost: the outbox written inside each change's transaction, the worker
//! that sends it over SMTP (or to files), scheduled jobs on the same machinery, recipients,
//! email templates, and the admin's mail log and distribution list.

pub mod clock;
pub mod distribution;
pub mod emails;
pub mod jobs;
pub mod mail_log;
pub mod mailer;
pub mod outbox;
pub mod recipients;
pub mod worker;

use crate::auth::access;
use crate::web::Routes;

pub fn routes(r: Routes) -> Routes {
    r.get("/admin/mail", access::ADMIN, mail_log::log_page)
        .post("/admin/mail/test", access::ADMIN, mail_log::send_test)
        .get("/admin/mail/{id}", access::ADMIN, mail_log::message_page)
        .get(
            "/admin/mail/{id}/html",
            access::ADMIN,
            mail_log::message_html,
        )
        .post("/admin/mail/{id}/retry", access::ADMIN, mail_log::retry)
        .get("/admin/jobs", access::ADMIN, mail_log::jobs_page)
        .get("/admin/distribution", access::ADMIN, distribution::list)
        .post("/admin/distribution", access::ADMIN, distribution::add)
        .post(
            "/admin/distribution/{id}/remove",
            access::ADMIN,
            distribution::remove,
        )
}
