//! Journeys in a real headless Chromium, clicking what a person clicks.

use offboarding_desk::demo;
use thirtyfour::prelude::*;

use crate::support::{TestApp, browser};

async fn demo_app() -> TestApp {
    let app = TestApp::spawn_with(|c| c.demo = true).await;
    demo::seed(&app.db).await.expect("demo data");
    app
}

#[tokio::test]
async fn each_demo_account_signs_in_and_lands_on_its_own_home() {
    let Some(b) = browser::start("each_demo_account_signs_in_and_lands_on_its_own_home").await
    else {
        return;
    };
    let app = demo_app().await;
    for account in demo::ACCOUNTS {
        b.sign_in(&app.base, account.email, demo::PASSWORD).await;
        assert_eq!(b.path().await, "/", "{} did not land home", account.email);
        assert_eq!(
            b.text("[data-testid=signed-in-as]").await,
            account.display_name
        );
        let role = account.roles[0];
        let section = b
            .driver
            .find(By::Css(format!("section[data-role=\"{role}\"] h2")))
            .await
            .unwrap_or_else(|_| panic!("{}: no {role} section", account.email));
        let expected = offboarding_desk::home::sections(
            offboarding_desk::auth::roles::RoleSet::from_keys(account.roles),
        );
        assert_eq!(section.text().await.unwrap(), expected[0].title);
        // Only administrators see the administration links in the navigation.
        let nav = b.text("nav .nav-links").await;
        assert_eq!(
            nav.contains("Users"),
            role == "admin",
            "{}: {nav}",
            account.email
        );
        b.click("#sign-out").await;
        assert_eq!(b.path().await, "/login");
        assert!(b.text(".flash").await.contains("signed out"));
    }
    b.close().await;
}

#[tokio::test]
async fn a_wrong_password_shows_the_error_and_keeps_the_email() {
    let Some(b) = browser::start("a_wrong_password_shows_the_error_and_keeps_the_email").await
    else {
        return;
    };
    let app = demo_app().await;
    b.sign_in(&app.base, "am@demo.test", "not-the-password")
        .await;
    assert_eq!(b.path().await, "/login");
    assert!(b.text("#login-error").await.contains("do not match"));
    let email = b.driver.find(By::Id("email")).await.unwrap();
    assert_eq!(
        email.value().await.unwrap().as_deref(),
        Some("am@demo.test")
    );
    assert_eq!(
        b.driver
            .find(By::Id("password"))
            .await
            .unwrap()
            .value()
            .await
            .unwrap()
            .as_deref(),
        Some("")
    );
    // Correcting the password signs in.
    b.fill("password", demo::PASSWORD).await;
    b.click("#sign-in").await;
    assert_eq!(b.path().await, "/");
    b.close().await;
}

#[tokio::test]
async fn an_admin_disables_a_user_and_that_users_open_session_ends_on_the_next_click() {
    let Some(admin) = browser::start("admin_disables_a_user (admin)").await else {
        return;
    };
    let Some(amy) = browser::start("admin_disables_a_user (amy)").await else {
        return;
    };
    let app = demo_app().await;

    amy.sign_in(&app.base, "retention@demo.test", demo::PASSWORD)
        .await;
    assert_eq!(amy.path().await, "/");

    admin
        .sign_in(&app.base, "admin@demo.test", demo::PASSWORD)
        .await;
    admin.click("nav .nav-links a[href=\"/admin/users\"]").await;
    admin.fill_search("Amy").await;
    admin.click("table a").await;
    assert_eq!(admin.text("h1").await, "Amy (Retention)");
    admin.click("#disable-user").await;
    // The page asks to confirm; the admin accepts.
    admin.driver.accept_alert().await.unwrap();
    assert!(
        admin
            .text("#flash")
            .await
            .contains("disabled and signed out everywhere")
    );
    assert_eq!(admin.text("#user-status").await, "disabled");

    // Amy's tab is still open; her next click finds her signed out.
    amy.click("a.brand").await;
    assert_eq!(amy.path().await, "/login");

    // And she cannot sign back in.
    amy.sign_in(&app.base, "retention@demo.test", demo::PASSWORD)
        .await;
    assert!(amy.text("#login-error").await.contains("do not match"));
    admin.close().await;
    amy.close().await;
}

trait Search {
    async fn fill_search(&self, text: &str);
}

impl Search for browser::Browser {
    async fn fill_search(&self, text: &str) {
        let field = self.driver.find(By::Css("input[name=q]")).await.unwrap();
        field.send_keys(text).await.unwrap();
        self.click("form[role=search] button").await;
    }
}
