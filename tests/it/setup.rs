//! A real installation's first hour: the first administrator from the one-time link the
//! server prints, and the admin's setting-up list, ticked as each part is set up.

use offboarding_desk::auth::roles::Role;
use offboarding_desk::demo;
use reqwest::StatusCode;

use crate::support::{TestApp, client, location, mail_to, smtp};

async fn users(app: &TestApp) -> Vec<(String, Vec<String>)> {
    sqlx::query_as("SELECT email, roles FROM users ORDER BY id")
        .fetch_all(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_first_administrator_comes_from_the_printed_link_and_only_once() {
    let app = TestApp::spawn().await;
    assert!(
        offboarding_desk::setup::needs_first_admin(&app.db)
            .await
            .unwrap()
    );
    // What the server does when it starts with nobody: issue the link's token (and print it).
    let token = offboarding_desk::setup::issue(&app.db).await.unwrap();

    // Without the token the page says where the link is, and shows no form.
    let page = app.page("", "/setup").await;
    assert!(page.contains("id=\"setup-link-needed\"") && !page.contains("id=\"create-admin\""));
    let page = app.page("", "/setup?token=wrong").await;
    assert!(!page.contains("id=\"create-admin\""));
    // A NUL byte is no token: the same page, not an error.
    let res = client()
        .get(app.url("/setup?token=ab%00cd"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("id=\"setup-link-needed\"")
    );
    let page = app.page("", &format!("/setup?token={token}")).await;
    assert!(page.contains("id=\"create-admin\""));
    // Another instance behind the same database accepts the link another printed.
    let beside = TestApp::spawn_beside(&app).await;
    let page = beside.page("", &format!("/setup?token={token}")).await;
    assert!(page.contains("id=\"create-admin\""));

    // A guessed token creates nobody, and is on the record.
    let res = app
        .post(
            "",
            "/setup",
            &[
                ("token", "0123456789abcdef0123456789abcdef0123456789abcdef"),
                ("display_name", "Mallory"),
                ("email", "mallory@example.test"),
                ("password", "a long enough passphrase"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(users(&app).await.is_empty());
    assert_eq!(app.audit_count("setup.refused").await, 1);
    // What was typed is recorded without its control characters (a NUL byte included).
    let res = app
        .post(
            "",
            "/setup",
            &[
                ("token", "gu\u{0}ess"),
                ("email", "mal\u{0}lory@example.test\r\n"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let label: String = sqlx::query_scalar(
        "SELECT actor_label FROM audit_events WHERE action = 'setup.refused' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(label, "mallory@example.test");

    // Bad input is answered beside the field and the form keeps what was typed.
    let res = app
        .post(
            "",
            "/setup",
            &[
                ("token", &token),
                ("display_name", "Dana Ortiz"),
                ("email", "dana@agency\u{0}.test"),
                ("password", "password"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap();
    assert!(body.contains("id=\"email-error\"") && body.contains("id=\"password-error\""));
    assert!(body.contains("value=\"Dana Ortiz\""));
    assert!(users(&app).await.is_empty());
    // A password nobody could type again (a NUL byte), a name with a byte that is not text:
    // refused, not saved as sent.
    let res = app
        .post(
            "",
            "/setup",
            &[
                ("token", &token),
                ("display_name", "Pat\u{FFFD}Boss"),
                ("email", "dana@agency.test"),
                ("password", "correct\u{0}horse-battery"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap();
    assert!(body.contains("id=\"display_name-error\"") && body.contains("id=\"password-error\""));
    assert!(users(&app).await.is_empty());

    let res = app
        .post(
            "",
            "/setup",
            &[
                ("token", &token),
                ("display_name", "Dana Ortiz"),
                ("email", "dana@agency.test"),
                ("password", "a long enough passphrase"),
            ],
        )
        .await;
    assert_eq!(location(&res), "/login?ready=1");
    assert_eq!(
        users(&app).await,
        [("dana@agency.test".to_string(), vec!["admin".to_string()])]
    );
    let page = app.page("", "/login?ready=1").await;
    assert!(page.contains("account is ready"));
    let (by, created): (String, serde_json::Value) = sqlx::query_as(
        "SELECT actor_label, details FROM audit_events WHERE action = 'user.created'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(
        (by.as_str(), &created["roles"]),
        ("setup", &serde_json::json!(["admin"]))
    );

    // The link is spent: the same token creates nobody else, and the page goes to the desk.
    let res = app
        .post(
            "",
            "/setup",
            &[
                ("token", &token),
                ("display_name", "Second"),
                ("email", "second@agency.test"),
                ("password", "a long enough passphrase"),
            ],
        )
        .await;
    assert_eq!(location(&res), "/");
    assert_eq!(users(&app).await.len(), 1);
    let links: i64 = sqlx::query_scalar("SELECT count(*) FROM setup_tokens")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(links, 0, "every link is spent");
    assert_eq!(
        location(&client().get(app.url("/setup")).send().await.unwrap()),
        "/"
    );
}

/// How many parts of the setting-up list on `page` are ticked, and how many it has.
fn ticks(page: &str) -> (usize, usize) {
    let Some(start) = page.find("id=\"first-run\"") else {
        return (0, 0);
    };
    let list = &page[start..start + page[start..].find("</ol>").unwrap()];
    (
        list.matches("data-done=\"true\"").count(),
        list.matches("data-done=").count(),
    )
}

#[tokio::test]
async fn the_admins_setting_up_list_ticks_each_part_as_it_is_set_up_then_goes() {
    let Some(server) =
        smtp::start("the_admins_setting_up_list_ticks_each_part_as_it_is_set_up_then_goes").await
    else {
        return;
    };
    let port = server.port;
    let app = TestApp::spawn_with(|c| mail_to(c, port)).await;
    let admin = app.user("admin@agency.test", &[Role::Admin]).await;
    let cookie = app.session_cookie(admin).await;
    let desk = || {
        let (app, cookie) = (&app, &cookie);
        async move { app.page(cookie, "/").await }
    };
    assert_eq!(ticks(&desk().await), (0, 7), "nothing set up yet");

    // People in every role the process needs: the six it cannot run without, and those the
    // chain (Finance decides credits) and the checklist (the contractor) give work to. Those
    // missing are named.
    let page = desk().await;
    assert!(
        page.contains("Finance") && page.contains("Contractor"),
        "{page}"
    );
    for (email, role) in [
        ("am@agency.test", Role::AccountManager),
        ("retention@agency.test", Role::Retention),
        ("approver@agency.test", Role::Approver),
        ("finance@agency.test", Role::Finance),
        ("accounting@agency.test", Role::Accounting),
        ("ops@agency.test", Role::OpsLead),
        ("contractor@agency.test", Role::Contractor),
    ] {
        app.user(email, &[role]).await;
    }
    let page = desk().await;
    assert_eq!(ticks(&page), (0, 7));
    assert!(page.contains("Nobody yet: SEM specialist."), "{page}");
    let sem = app.user("sem@agency.test", &[Role::SemSpecialist]).await;
    assert_eq!(ticks(&desk().await), (1, 7), "people");

    // The chain's first two steps name their approvers.
    let approver2 = app.user("approver2@agency.test", &[Role::Approver]).await;
    sqlx::query(
        "UPDATE approval_chain_steps SET approver_user_id = CASE position WHEN 1 THEN
                (SELECT id FROM users WHERE email = 'approver@agency.test') ELSE $1 END
          WHERE position IN (1, 2)",
    )
    .bind(approver2)
    .execute(&app.db)
    .await
    .unwrap();
    assert_eq!(ticks(&desk().await), (2, 7), "the chain");

    let res = app
        .post(
            &cookie,
            "/admin/distribution",
            &[("email", "ops@agency.test"), ("name", "Operations")],
        )
        .await;
    assert!(res.status().is_redirection(), "{}", res.status());
    assert_eq!(ticks(&desk().await), (3, 7), "the distribution list");

    for part in ["reasons", "checklist"] {
        app.post(&cookie, &format!("/setup/reviewed/{part}"), &[])
            .await;
    }
    assert_eq!(ticks(&desk().await), (5, 7), "reasons and checklist");
    // Said twice, it changes nothing and says so.
    let res = app.post(&cookie, "/setup/reviewed/reasons", &[]).await;
    assert!(res.status().is_redirection());
    assert_eq!(app.audit_count("setup.reviewed").await, 2);

    sqlx::query(
        "INSERT INTO clients (name, crm_account_id, sem_specialist_id) VALUES ('First', 'C-1', $1)",
    )
    .bind(sem)
    .execute(&app.db)
    .await
    .unwrap();
    assert_eq!(ticks(&desk().await), (6, 7), "clients");

    // A test message queued is not yet a test message sent.
    app.post(&cookie, "/admin/mail/test", &[]).await;
    assert_eq!(ticks(&desk().await), (6, 7));
    assert_eq!(app.deliver_mail().await, 1);
    assert_eq!(server.received().len(), 1, "through the mail server");
    // Everything done: the list makes way for the desk.
    let page = desk().await;
    assert!(!page.contains("id=\"first-run\""), "{page}");

    // Nobody else is shown it, and the demo never is.
    let am = app.cookie_for("am@agency.test").await;
    assert!(!app.page(&am, "/").await.contains("id=\"first-run\""));
    let demo_app = TestApp::spawn_with(|c| c.demo = true).await;
    demo::seed(&demo_app.db).await.expect("demo data");
    let admin = demo_app.cookie_for("admin@demo.test").await;
    assert!(
        !demo_app
            .page(&admin, "/")
            .await
            .contains("id=\"first-run\"")
    );
}

#[tokio::test]
async fn without_a_mail_server_the_test_message_is_not_ticked() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin@agency.test", &[Role::Admin]).await;
    let cookie = app.session_cookie(admin).await;
    app.post(&cookie, "/admin/mail/test", &[]).await;
    assert_eq!(app.deliver_mail().await, 1, "written to a file");
    let page = app.page(&cookie, "/").await;
    assert!(page.contains("No mail server is set"), "{page}");
    assert_eq!(ticks(&page), (0, 7));
}

#[tokio::test]
async fn the_list_goes_once_the_first_request_is_filed() {
    // An installation in use (or upgraded from before the list) is past setting up, whatever
    // is left unticked.
    let c = crate::support::fixtures::chain().await;
    let admin = c.app.user("setup-admin@agency.test", &[Role::Admin]).await;
    let cookie = c.app.session_cookie(admin).await;
    let page = c.app.page(&cookie, "/").await;
    assert_eq!(ticks(&page).1, 7, "{page}");
    assert!(ticks(&page).0 < 7);
    c.file(&[]).await;
    assert_eq!(ticks(&c.app.page(&cookie, "/").await), (0, 0));
}
