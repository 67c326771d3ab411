//! Reports: whether the department keeps its clients. Why clients leave, what Retention saves
//! and for how much budget, and what is open now, over a period and filters; each table also as
//! CSV. Figures are summed by the database (`db.rs`, over the `request_figures` view) and
//! defined in `figures.rs`.

pub mod db;
pub mod figures;
mod handlers;
pub mod views;

use crate::auth::access::Access;
use crate::auth::roles::Role;
use crate::web::Routes;

/// Leadership, Retention, the Ops Lead and the admin see the department's figures; an account
/// manager sees their own.
pub const REPORTS: Access = Access::Roles(&[
    Role::DmLeadership,
    Role::Retention,
    Role::OpsLead,
    Role::Admin,
    Role::AccountManager,
]);

pub fn routes(r: Routes) -> Routes {
    r.get("/reports", REPORTS, handlers::page)
        .get("/reports.csv", REPORTS, handlers::csv)
}
