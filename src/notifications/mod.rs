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

use crate::auth::roles::Role;
use crate::web::{Access, Routes};

/// Who may read the mail log and edit the distribution list.
pub const ACCESS: Access = Access::Roles(&[Role::Admin]);

pub fn routes(r: Routes) -> Routes {
    r.get("/admin/mail", ACCESS, mail_log::log_page)
        .post("/admin/mail/test", ACCESS, mail_log::send_test)
        .get("/admin/mail/{id}", ACCESS, mail_log::message_page)
        .get("/admin/mail/{id}/html", ACCESS, mail_log::message_html)
        .post("/admin/mail/{id}/retry", ACCESS, mail_log::retry)
        .get("/admin/jobs", ACCESS, mail_log::jobs_page)
        .get("/admin/distribution", ACCESS, distribution::list)
        .post("/admin/distribution", ACCESS, distribution::add)
        .post(
            "/admin/distribution/{id}/remove",
            ACCESS,
            distribution::remove,
        )
}
