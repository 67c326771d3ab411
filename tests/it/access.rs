//! Every route × every role, written out by hand. A route the app serves that is missing here
//! fails the suite, so no new route escapes the check.

use offboarding_desk::auth::access::Access;
use offboarding_desk::auth::roles::Role;
use offboarding_desk::route_table;
use reqwest::Method;

use crate::support::{TestApp, client, location};

/// Who the table says may use a route.
#[derive(Clone, Copy, Debug)]
enum Who {
    Anyone,
    SignedIn,
    Only(&'static [Role]),
}

const ADMIN: Who = Who::Only(&[Role::Admin]);
/// Everyone at the agency: every role but the outside contractor.
const AGENCY: Who = Who::Only(&[
    Role::AccountManager,
    Role::Retention,
    Role::TeamLead,
    Role::DepartmentManager,
    Role::Approver,
    Role::Finance,
    Role::Accounting,
    Role::OpsLead,
    Role::DmLeadership,
    Role::SemSpecialist,
    Role::Admin,
]);
const CLIENT_EDITORS: Who = Who::Only(&[Role::Admin, Role::OpsLead]);
const OPS: Who = Who::Only(&[Role::OpsLead]);
/// Leadership, Retention, the Ops Lead and the admin; account managers see their own figures.
const REPORTS: Who = Who::Only(&[
    Role::DmLeadership,
    Role::Retention,
    Role::OpsLead,
    Role::Admin,
    Role::AccountManager,
]);

/// The expected answer for every route. Keep in step with the app: a route added there and not
/// here fails `every_route_is_in_the_table`.
const TABLE: &[(&str, &str, Who)] = &[
    ("GET", "/healthz", Who::Anyone),
    // Open to the guard; the address or the token decides inside (tests/it/metrics.rs).
    ("GET", "/metrics", Who::Anyone),
    ("GET", "/login", Who::Anyone),
    ("POST", "/login", Who::Anyone),
    ("GET", "/setup", Who::Anyone),
    ("POST", "/setup", Who::Anyone),
    ("POST", "/setup/reviewed/{step}", ADMIN),
    ("POST", "/logout", Who::SignedIn),
    // The company sign-in (tests/it/browser_company.rs); 404 where it is not configured.
    ("GET", "/auth/company", Who::Anyone),
    ("GET", "/auth/company/callback", Who::Anyone),
    ("GET", "/auth/company/sign-out", Who::Anyone),
    ("GET", "/admin/sign-in", ADMIN),
    ("POST", "/admin/sign-in", ADMIN),
    ("GET", "/", Who::SignedIn),
    ("GET", "/clients", AGENCY),
    ("GET", "/clients/import", CLIENT_EDITORS),
    ("POST", "/clients/import", CLIENT_EDITORS),
    ("GET", "/clients/import/{id}", CLIENT_EDITORS),
    ("POST", "/clients/import/{id}", CLIENT_EDITORS),
    ("GET", "/clients/new", CLIENT_EDITORS),
    ("POST", "/clients", CLIENT_EDITORS),
    ("GET", "/clients/{id}", AGENCY),
    ("GET", "/clients/{id}/edit", CLIENT_EDITORS),
    ("POST", "/clients/{id}", CLIENT_EDITORS),
    ("GET", "/requests", AGENCY),
    ("GET", "/clients/{id}/requests/new", AGENCY),
    ("POST", "/clients/{id}/requests", AGENCY),
    ("GET", "/requests/{id}", AGENCY),
    ("GET", "/requests/{id}/edit", AGENCY),
    ("POST", "/requests/{id}", AGENCY),
    ("POST", "/requests/{id}/withdraw", AGENCY),
    ("POST", "/requests/{id}/save-attempt", AGENCY),
    ("POST", "/requests/{id}/questions", AGENCY),
    ("POST", "/questions/{id}/answer", AGENCY),
    ("POST", "/requests/{id}/attachments", AGENCY),
    ("GET", "/attachments/{id}", AGENCY),
    ("POST", "/requests/{id}/comments", AGENCY),
    ("POST", "/requests/{id}/submit", AGENCY),
    ("POST", "/approvals/{id}/approve", AGENCY),
    ("POST", "/approvals/{id}/send-back", AGENCY),
    (
        "POST",
        "/requests/{id}/processed",
        Who::Only(&[Role::Accounting]),
    ),
    ("GET", "/tasks/{id}", AGENCY),
    ("GET", "/substitutes", Who::Only(&[Role::Approver])),
    ("POST", "/substitutes", Who::Only(&[Role::Approver])),
    (
        "POST",
        "/substitutes/{id}/end",
        Who::Only(&[Role::Approver]),
    ),
    ("POST", "/tasks/{id}/forward", OPS),
    ("POST", "/tasks/{id}/planner", OPS),
    ("POST", "/tasks/{id}/status", OPS),
    ("POST", "/tasks/{id}/done", OPS),
    (
        "POST",
        "/sem-tasks/{id}/done",
        Who::Only(&[Role::SemSpecialist]),
    ),
    ("POST", "/requests/{id}/reinstate", AGENCY),
    (
        "POST",
        "/checklist/{id}/done",
        Who::Only(&[Role::OpsLead, Role::Contractor, Role::SemSpecialist]),
    ),
    (
        "POST",
        "/checklist/{id}/undo",
        Who::Only(&[Role::OpsLead, Role::Contractor, Role::SemSpecialist]),
    ),
    (
        "POST",
        "/checklist/{id}/send-back",
        Who::Only(&[Role::SemSpecialist]),
    ),
    ("GET", "/offboarding", AGENCY),
    ("GET", "/offboarding.csv", AGENCY),
    ("GET", "/reports", REPORTS),
    ("GET", "/reports.csv", REPORTS),
    ("GET", "/planner", AGENCY),
    ("GET", "/planner.csv", AGENCY),
    ("GET", "/planner/calendar", AGENCY),
    ("POST", "/planner/{id}", OPS),
    ("GET", "/planner/feed", AGENCY),
    ("POST", "/planner/feed", AGENCY),
    ("POST", "/planner/feed/revoke", AGENCY),
    ("GET", "/calendar/{token}", Who::Anyone),
    // The addendum sent for signature: the request's account manager (or Retention on one it
    // converted) decides inside; the signer's pages are public, scoped by the link's token
    // (tests/it/signing_flow.rs).
    ("POST", "/clients/{id}/signer", AGENCY),
    ("GET", "/requests/{id}/addendum.pdf", AGENCY),
    ("POST", "/requests/{id}/signature", AGENCY),
    ("POST", "/requests/{id}/signature/resend", AGENCY),
    ("POST", "/requests/{id}/signature/void", AGENCY),
    ("GET", "/admin/addendum", ADMIN),
    ("POST", "/admin/addendum", ADMIN),
    ("GET", "/signing/verify", AGENCY),
    ("POST", "/signing/verify", AGENCY),
    ("GET", "/sign/{token}", Who::Anyone),
    ("GET", "/sign/{token}/addendum.pdf", Who::Anyone),
    ("POST", "/sign/{token}/code", Who::Anyone),
    ("POST", "/sign/{token}/sign", Who::Anyone),
    ("POST", "/sign/{token}/decline", Who::Anyone),
    ("GET", "/admin/checklist", ADMIN),
    ("POST", "/admin/checklist", ADMIN),
    ("POST", "/admin/checklist/{id}", ADMIN),
    ("POST", "/admin/checklist/{id}/retire", ADMIN),
    ("GET", "/admin/approvals", ADMIN),
    ("POST", "/admin/approvals/steps", ADMIN),
    ("POST", "/admin/approvals/steps/{id}", ADMIN),
    ("POST", "/admin/approvals/steps/{id}/retire", ADMIN),
    ("POST", "/admin/approval-steps/{id}/reassign", ADMIN),
    ("GET", "/admin/reasons", ADMIN),
    ("POST", "/admin/reasons", ADMIN),
    ("POST", "/admin/reasons/{id}", ADMIN),
    ("POST", "/admin/reasons/{id}/retire", ADMIN),
    ("POST", "/admin/reasons/{id}/restore", ADMIN),
    ("GET", "/admin/users", ADMIN),
    ("GET", "/admin/users/new", ADMIN),
    ("POST", "/admin/users", ADMIN),
    ("GET", "/admin/users/{id}", ADMIN),
    ("POST", "/admin/users/{id}", ADMIN),
    ("POST", "/admin/users/{id}/password", ADMIN),
    ("POST", "/admin/users/{id}/disable", ADMIN),
    ("POST", "/admin/users/{id}/enable", ADMIN),
    ("GET", "/admin/audit", ADMIN),
    ("GET", "/admin/mail", ADMIN),
    ("POST", "/admin/mail/test", ADMIN),
    ("GET", "/admin/mail/{id}", ADMIN),
    ("GET", "/admin/mail/{id}/html", ADMIN),
    ("POST", "/admin/mail/{id}/retry", ADMIN),
    ("GET", "/admin/jobs", ADMIN),
    ("GET", "/admin/distribution", ADMIN),
    ("POST", "/admin/distribution", ADMIN),
    ("POST", "/admin/distribution/{id}/remove", ADMIN),
    ("GET", "/admin/chat", ADMIN),
    ("POST", "/admin/chat", ADMIN),
    ("POST", "/admin/chat/{id}/remove", ADMIN),
];

fn expected(method: &str, path: &str) -> Option<Who> {
    TABLE
        .iter()
        .find(|(m, p, _)| *m == method && *p == path)
        .map(|(_, _, w)| *w)
}

#[tokio::test]
async fn every_route_is_in_the_table_and_the_table_names_only_real_routes() {
    let app = TestApp::spawn().await;
    let routes = route_table(app.state.clone());
    for r in &routes {
        assert!(
            expected(r.method.as_str(), r.path).is_some(),
            "route {} {} is missing from the route × role table in tests/it/access.rs",
            r.method,
            r.path
        );
    }
    for (m, p, _) in TABLE {
        assert!(
            routes
                .iter()
                .any(|r| r.method.as_str() == *m && r.path == *p),
            "the table lists {m} {p}, which the app does not serve"
        );
    }
}

#[tokio::test]
async fn every_route_answers_every_role_as_the_table_says() {
    // The company sign-in configured (its provider down), so its routes answer from their
    // handlers rather than 404.
    let app = TestApp::spawn_with(|c| {
        c.company = Some(offboarding_desk::auth::company::CompanyConfig {
            issuer: format!("http://127.0.0.1:{}", crate::shared::free_port()),
            client_id: "desk".into(),
            client_secret: offboarding_desk::config::Hidden("secret".into()),
            provider_name: "Agency Login".into(),
            allowed_domains: vec!["agency.test".into()],
            groups_claim: None,
            group_roles: Vec::new(),
        })
    })
    .await;
    // A person the admin routes act on, so no request touches the people making them.
    let target = app
        .user("target@agency.test", &[Role::AccountManager])
        .await;
    let mut people = Vec::new();
    for role in Role::ALL {
        let id = app
            .user(&format!("{}@agency.test", role.key()), &[role])
            .await;
        people.push((role, id));
    }
    let http = client();
    let routes = route_table(app.state.clone());
    let mut checked = 0;
    for r in &routes {
        let who = expected(r.method.as_str(), r.path).expect("checked by the other test");
        let path = r
            .path
            .replace("{id}", &target.to_string())
            .replace("{token}", "not-a-feed.ics");
        let method = Method::from_bytes(r.method.as_str().as_bytes()).unwrap();

        // Nobody signed in.
        let res = http
            .request(method.clone(), app.url(&path))
            .send()
            .await
            .unwrap();
        match who {
            Who::Anyone => assert_ne!(res.status(), 403, "anonymous {method} {path}"),
            _ => {
                assert_eq!(res.status(), 303, "anonymous {method} {path}");
                assert!(
                    location(&res).starts_with("/login"),
                    "anonymous {method} {path}"
                );
            }
        }

        // Each role, with its own fresh session (sign-out would end a shared one).
        for (role, id) in &people {
            let cookie = app.session_cookie(*id).await;
            let res = http
                .request(method.clone(), app.url(&path))
                .header("cookie", cookie)
                .send()
                .await
                .unwrap();
            let allowed = match who {
                Who::Anyone | Who::SignedIn => true,
                Who::Only(roles) => roles.contains(role),
            };
            if allowed {
                assert_ne!(res.status(), 403, "{role:?} {method} {path} refused");
                assert!(
                    // Signing out (of the desk, or of the provider: down here, so back to
                    // the sign-in page) ends at the sign-in page.
                    !location(&res).starts_with("/login")
                        || path == "/logout"
                        || path == "/auth/company/sign-out",
                    "{role:?} {method} {path} sent to sign in"
                );
                // The company sign-in's start says its provider (down here) is unreachable.
                let provider_down = path == "/auth/company" && res.status() == 502;
                assert!(
                    res.status().as_u16() < 500 || provider_down,
                    "{role:?} {method} {path}: {}",
                    res.status()
                );
            } else {
                assert_eq!(res.status(), 403, "{role:?} {method} {path} allowed");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, routes.len() * Role::ALL.len());
}

#[tokio::test]
async fn a_refused_access_is_recorded_with_who_and_where() {
    let app = TestApp::spawn().await;
    let contractor = app.user("juniper@agency.test", &[Role::Contractor]).await;
    let cookie = app.session_cookie(contractor).await;
    let res = app.get(&cookie, "/admin/users").await;
    assert_eq!(res.status(), 403);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("You don&#39;t have access") || body.contains("You don't have access"),
        "{body}"
    );
    let (actor, details): (Option<i64>, serde_json::Value) = sqlx::query_as(
        "SELECT actor_id, details FROM audit_events WHERE action = 'access.refused'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(actor, Some(contractor));
    assert_eq!(details["path"], "/admin/users");
    assert_eq!(details["method"], "GET");
}

#[tokio::test]
async fn the_navigation_shows_each_role_only_links_it_may_open() {
    let app = TestApp::spawn().await;
    let routes = route_table(app.state.clone());
    // Each link is shown to exactly those its GET route lets in.
    let links: Vec<(&str, &str, Access)> = offboarding_desk::app::NAV
        .iter()
        .map(|&(label, href)| {
            let def = routes
                .iter()
                .find(|r| r.method == "GET" && r.path == href)
                .unwrap_or_else(|| panic!("nav entry {label} opens {href}, not a GET route"));
            (label, href, def.access)
        })
        .collect();
    // Each role alone, and two people holding two roles.
    let mut cast: Vec<Vec<Role>> = Role::ALL.iter().map(|r| vec![*r]).collect();
    cast.push(vec![Role::AccountManager, Role::Approver]);
    cast.push(vec![Role::OpsLead, Role::Admin]);
    for roles in cast {
        let key: Vec<&str> = roles.iter().map(|r| r.key()).collect();
        let id = app
            .user(&format!("nav-{}@agency.test", key.join("-")), &roles)
            .await;
        let body = app.page(&app.session_cookie(id).await, "/").await;
        // Only the main navigation counts (a desk may link elsewhere on its own).
        let nav_start = body.find("<nav").expect("the page has a navigation");
        let nav = &body[nav_start..nav_start + body[nav_start..].find("</nav>").unwrap()];
        for (label, href, access) in &links {
            let may_open = match access {
                Access::Public | Access::SignedIn => true,
                Access::Roles(allowed) => roles.iter().any(|r| allowed.contains(r)),
            };
            assert_eq!(
                nav.contains(&format!("href=\"{href}\"")),
                may_open,
                "{roles:?} and the {label} link"
            );
        }
    }
}
