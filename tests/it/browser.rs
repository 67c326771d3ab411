//! Journeys in a real headless Chromium, clicking what a person clicks.

use offboarding_desk::demo;
use thirtyfour::prelude::*;

use crate::support::smtp::{self, header};
use crate::support::{TestApp, browser, mail_to};

async fn demo_app() -> TestApp {
    let app = TestApp::spawn_with(|c| c.demo = true).await;
    demo::seed(&app.db).await.expect("demo data");
    app
}

/// The demo, sending its email to a real SMTP server on loopback.
pub(crate) async fn demo_app_mailing(server: &smtp::SmtpServer) -> TestApp {
    let port = server.port;
    let app = TestApp::spawn_with(|c| {
        c.demo = true;
        mail_to(c, port);
    })
    .await;
    demo::seed(&app.db).await.expect("demo data");
    app
}

/// Delivers the outbox and returns the messages the server received for `to`.
pub(crate) async fn mail_for(app: &TestApp, server: &smtp::SmtpServer, to: &str) -> Vec<String> {
    app.deliver_mail().await;
    server
        .received()
        .into_iter()
        .filter(|m| header(m, "X-Envelope-To").is_some_and(|t| t.split(", ").any(|a| a == to)))
        .collect()
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
        let section = b.find(&format!("section[data-role=\"{role}\"] h2")).await;
        let expected = offboarding_desk::home::sections(
            offboarding_desk::auth::roles::RoleSet::from_keys(account.roles),
        );
        assert_eq!(section.text().await.unwrap(), expected[0].title);
        // Only administrators have the Admin menu, closed until opened, and its pages in it.
        let nav = b.text("nav .nav-links").await;
        assert_eq!(
            nav.contains("Admin"),
            role == "admin",
            "{}: {nav}",
            account.email
        );
        assert!(!nav.contains("Users"), "{}: {nav}", account.email);
        if role == "admin" {
            b.click("#admin-menu > summary").await;
            // Pico fades the open menu in: its text is seen once shown.
            let mut menu = String::new();
            for _ in 0..20 {
                menu = b.text("#admin-menu").await;
                if menu.contains("Users") {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            for page in ["Users", "Approval chain", "Mail log", "Audit log"] {
                assert!(menu.contains(page), "{page} in the open menu: {menu}");
            }
            // On one line with "Sign out" at a common laptop width.
            let (nav_top, out_top): (f64, f64) =
                (b.top("nav .nav-links").await, b.top("#sign-out").await);
            assert!((nav_top - out_top).abs() < 30.0, "{nav_top} vs {out_top}");
            // Open, it takes the next click anywhere to close (as a menu does).
            b.click("#admin-menu > summary").await;
        }
        b.click("#sign-out").await;
        assert!(b.text(".flash").await.contains("signed out"));
        assert_eq!(b.path().await, "/login");
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
    assert!(b.text("#login-error").await.contains("do not match"));
    assert_eq!(b.path().await, "/login");
    let email = b.find("#email").await;
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
    b.find("[data-testid=signed-in-as]").await;
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
    admin.click("#admin-menu > summary").await;
    admin.click("#admin-menu a[href=\"/admin/users\"]").await;
    admin.fill_search("Amy").await;
    admin.click("table a").await;
    assert_eq!(admin.text("h1").await, "Amy Reyes");
    admin.click("#disable-user").await;
    // The page asks to confirm (accept_confirm fails if it does not); the admin accepts.
    admin.accept_confirm().await;
    assert!(
        admin
            .text("#flash")
            .await
            .contains("disabled and signed out everywhere")
    );
    assert_eq!(admin.text("#user-status").await, "disabled");

    // Amy's tab is still open; her next click finds her signed out.
    amy.click("a.brand").await;
    amy.find("#sign-in").await;
    assert_eq!(amy.path().await, "/login");
    assert!(amy.text("p.flash").await.contains("Your session ended"));

    // And she cannot sign back in.
    amy.sign_in(&app.base, "retention@demo.test", demo::PASSWORD)
        .await;
    assert!(amy.text("#login-error").await.contains("do not match"));
    admin.close().await;
    amy.close().await;
}

pub(crate) trait Search {
    async fn fill_search(&self, text: &str);
}

impl Search for browser::Browser {
    async fn fill_search(&self, text: &str) {
        let field = self.find("input[name=q]").await;
        field.send_keys(text).await.unwrap();
        self.click("form[role=search] button").await;
    }
}

#[tokio::test]
async fn an_account_manager_files_a_cancellation_and_retention_saves_the_client_with_a_pause() {
    let Some(b) = browser::start("an_account_manager_files_a_cancellation_for_retention").await
    else {
        return;
    };
    let Some(server) = smtp::start("an_account_manager_files_a_cancellation_for_retention").await
    else {
        return;
    };
    let app = demo_app_mailing(&server).await;
    b.sign_in(&app.base, "am@demo.test", demo::PASSWORD).await;
    b.click("nav .nav-links a[href=\"/clients\"]").await;
    b.fill_search("Lakeside").await;
    b.click("table a").await;
    b.click("#file-request").await;
    b.click("input[name=kind][value=cancellation]").await;
    // Only the cancellation's own questions show once the kind is chosen.
    assert!(
        !b.driver
            .find(By::Id("new_budget"))
            .await
            .unwrap()
            .is_displayed()
            .await
            .unwrap()
    );
    b.click("input[name=cancel_scope][value=leave_platform]")
        .await;
    let date = (chrono::Utc::now().date_naive() + chrono::Duration::days(30))
        .format("%m%d%Y")
        .to_string();
    b.driver
        .find(By::Id("effective_date"))
        .await
        .unwrap()
        .send_keys(date)
        .await
        .unwrap();
    let reason = b
        .driver
        .find(By::Css("#reason_id option:nth-child(2)"))
        .await
        .unwrap();
    reason.click().await.unwrap();
    b.fill("product_notes", "Pause all Google Ads campaigns")
        .await;
    b.click("input[name=escalation][value=retention]").await;
    b.click("#save-request").await;
    assert!(
        b.path().await.starts_with("/requests/"),
        "landed on the request"
    );
    assert_eq!(b.text("#request-state").await, "With Retention");
    assert!(b.text("#flash").await.contains("Change request filed"));
    let request_path = b.path().await;
    // Both retention users are emailed, with a link to the request's page.
    for person in ["retention@demo.test", "retention2@demo.test"] {
        let mail = mail_for(&app, &server, person).await;
        assert_eq!(mail.len(), 1, "{person}: {mail:?}");
        assert!(
            header(&mail[0], "Subject")
                .unwrap()
                .starts_with("Lakeside RV Center: Cancellation escalated by")
        );
        assert!(mail[0].contains(&format!("{}{request_path}", app.base)));
    }
    b.click("#sign-out").await;
    b.find("#sign-in").await;

    b.sign_in(&app.base, "retention@demo.test", demo::PASSWORD)
        .await;
    b.click(&format!(
        "section[data-role=retention] a[href=\"{request_path}\"]"
    ))
    .await;
    assert!(b.text("h1").await.contains("Lakeside RV Center"));

    // Retention records the call: saved with a pause. The request becomes a pause.
    b.click("input[name=outcome][value=saved_pause]").await;
    assert!(
        b.find("#outcome_resume_date")
            .await
            .is_displayed()
            .await
            .unwrap()
    );
    b.fill("offered", "Pause for the winter").await;
    b.click("#record-outcome").await;
    assert!(b.text("#flash").await.contains("Retention call recorded"));
    assert!(b.text("h1").await.starts_with("Contract pause"));
    assert!(
        b.text("#save-outcome")
            .await
            .contains("Saved with a contract pause")
    );
    // The account manager hears of the call.
    let mail = mail_for(&app, &server, "am@demo.test").await;
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert_eq!(
        header(&mail[0], "Subject").unwrap(),
        "Lakeside RV Center: retention call recorded"
    );
    b.close().await;
}

#[tokio::test]
async fn an_account_manager_files_an_addendum_and_uploads_its_signed_pdf() {
    let Some(b) = browser::start("an_account_manager_files_an_addendum").await else {
        return;
    };
    let Some(server) = smtp::start("an_account_manager_files_an_addendum").await else {
        return;
    };
    let app = demo_app_mailing(&server).await;
    let signed = std::env::temp_dir().join(format!(
        "od-signed-addendum-{}.pdf",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(&signed, b"%PDF-1.4\n% signed by the dealer\n%%EOF\n").unwrap();
    let not_a_pdf = signed.with_extension("txt.pdf");
    std::fs::write(&not_a_pdf, b"just some text pretending").unwrap();

    b.sign_in(&app.base, "am@demo.test", demo::PASSWORD).await;
    b.click("nav .nav-links a[href=\"/clients\"]").await;
    b.fill_search("Summit").await;
    b.click("table a").await;
    b.click("#file-request").await;
    b.click("input[name=kind][value=addendum]").await;
    // An addendum is never escalated to Retention: the choice is not offered.
    assert!(
        !b.find("input[name=escalation][value=retention]")
            .await
            .is_enabled()
            .await
            .unwrap()
    );
    b.fill("current_budget", "2,750.00").await;
    b.fill("new_budget", "1,800.00").await;
    let date = (chrono::Utc::now().date_naive() + chrono::Duration::days(14))
        .format("%m%d%Y")
        .to_string();
    b.find("#effective_date")
        .await
        .send_keys(date)
        .await
        .unwrap();
    b.click("#reason_id option:nth-child(2)").await;
    b.click("input[name=escalation][value=department_manager]")
        .await;
    b.click("#escalated_to optgroup[label=\"Department managers\"] option")
        .await;
    b.click("#save-request").await;
    assert!(b.text("#flash").await.contains("Change request filed"));
    assert!(b.text("h1").await.starts_with("Addendum"));
    let request_path = b.path().await;
    assert!(
        b.text("#no-attachment")
            .await
            .contains("cannot be submitted without it")
    );

    // A text file named .pdf is refused beside the field; nothing is attached.
    b.find("#document")
        .await
        .send_keys(not_a_pdf.to_str().unwrap())
        .await
        .unwrap();
    b.click("#attach").await;
    assert!(
        b.text("#document-error")
            .await
            .contains("not a PDF, PNG or JPEG")
    );
    assert!(b.driver.find(By::Css("#attachments li")).await.is_err());

    // The real signed PDF is attached and listed for download.
    b.find("#document")
        .await
        .send_keys(signed.to_str().unwrap())
        .await
        .unwrap();
    b.click("#attach").await;
    assert!(b.text("#flash").await.contains("Attached"));
    assert_eq!(b.path().await, request_path);
    let link = b.find("#attachments li a").await;
    assert!(link.text().await.unwrap().ends_with(".pdf"));
    let href = link.attr("href").await.unwrap().unwrap();
    let bytes: Vec<u8> =
        sqlx::query_scalar("SELECT content FROM request_attachments WHERE id = $1")
            .bind(
                href.trim_start_matches("/attachments/")
                    .parse::<i64>()
                    .unwrap(),
            )
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(bytes, std::fs::read(&signed).unwrap());
    assert!(
        b.text(".timeline")
            .await
            .contains("Attached the signed document")
    );

    // The department manager was emailed with a link to the request.
    let mail = mail_for(&app, &server, "manager@demo.test").await;
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert!(
        header(&mail[0], "Subject")
            .unwrap()
            .starts_with("Summit Powersports: Addendum (budget change) escalated by")
    );
    assert!(mail[0].contains(&format!("{}{request_path}", app.base)));
    let _ = std::fs::remove_file(&signed);
    let _ = std::fs::remove_file(&not_a_pdf);
    b.close().await;
}
