//! Signing in and out, sessions, passwords, roles and sign-in throttling.

pub mod access;
pub mod company;
pub mod password;
pub mod roles;
pub mod session;
pub mod session_cache;
pub(crate) mod sign_in;
pub mod throttle;
pub mod token;

use crate::web::Routes;
use access::Access;

pub fn routes(r: Routes) -> Routes {
    let r = company::routes(r);
    r.get("/login", Access::Public, sign_in::login_page)
        .post("/login", Access::Public, sign_in::login)
        .post("/logout", Access::SignedIn, sign_in::logout)
}
