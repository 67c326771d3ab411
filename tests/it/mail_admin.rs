//! The admin's mail log and distribution list over HTTP.

use offboarding_desk::auth::roles::Role;
use offboarding_desk::notifications::outbox::{self, OutgoingEmail};

use crate::support::{TestApp, client, location};

struct Admin {
    app: TestApp,
    cookie: String,
}

async fn admin() -> Admin {
    let app = TestApp::spawn().await;
    let id = app.user("admin@agency.test", &[Role::Admin]).await;
    let cookie = app.session_cookie(id).await;
    Admin { app, cookie }
}

impl Admin {
    async fn get(&self, path: &str) -> reqwest::Response {
        client()
            .get(self.app.url(path))
            .header("cookie", crate::shared::with_flash(&self.cookie))
            .send()
            .await
            .unwrap()
    }

    async fn page(&self, path: &str) -> String {
        self.get(path).await.text().await.unwrap()
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.app.post(&self.cookie, path, form).await
    }
}

async fn queued(app: &TestApp, subject: &str) -> i64 {
    let mut tx = app.db.begin().await.unwrap();
    let id = outbox::enqueue(
        &mut tx,
        &app.state.config.mail,
        &OutgoingEmail {
            kind: "test",
            to: vec!["amy@agency.test".into()],
            subject: subject.into(),
            text: "plain body".into(),
            html: "<p>html body</p>".into(),
            related: None,
        },
    )
    .await
    .unwrap()
    .unwrap();
    tx.commit().await.unwrap();
    id
}

#[tokio::test]
async fn the_mail_log_shows_each_message_with_its_state_and_error() {
    let a = admin().await;
    let sent = queued(&a.app, "Already sent").await;
    let retrying = queued(&a.app, "Retrying one").await;
    let failed = queued(&a.app, "Failed one").await;
    sqlx::query(
        "UPDATE outbox_messages SET state = 'sent', attempts = 1, sent_at = now() WHERE id = $1",
    )
    .bind(sent)
    .execute(&a.app.db)
    .await
    .unwrap();
    sqlx::query("UPDATE outbox_messages SET attempts = 2, last_error = 'connection refused', next_attempt_at = now() + interval '30 seconds' WHERE id = $1")
        .bind(retrying)
        .execute(&a.app.db)
        .await
        .unwrap();
    sqlx::query("UPDATE outbox_messages SET state = 'failed', attempts = 25, last_error = '550 no such user' WHERE id = $1")
        .bind(failed)
        .execute(&a.app.db)
        .await
        .unwrap();
    let log = a.page("/admin/mail").await;
    for text in [
        "Already sent",
        "Retrying one",
        "Failed one",
        "connection refused",
        "550 no such user",
        ">retrying<",
        ">failed<",
        ">sent<",
    ] {
        assert!(log.contains(text), "mail log lacks {text}");
    }
    assert!(
        log.contains("id=\"files-notice\""),
        "says where mail goes without a server"
    );
    let only_failed = a.page("/admin/mail?state=failed").await;
    assert!(only_failed.contains("Failed one") && !only_failed.contains("Retrying one"));
    let only_retrying = a.page("/admin/mail?state=retrying").await;
    assert!(only_retrying.contains("Retrying one") && !only_retrying.contains("Failed one"));

    let detail = a.page(&format!("/admin/mail/{failed}")).await;
    assert!(detail.contains("plain body") && detail.contains("id=\"retry\""));
    let html = a.get(&format!("/admin/mail/{failed}/html")).await;
    let csp = html
        .headers()
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.starts_with("sandbox"), "{csp}");
    assert!(html.text().await.unwrap().contains("<p>html body</p>"));
}

#[tokio::test]
async fn a_failed_message_is_queued_again_with_one_click_and_a_second_click_changes_nothing() {
    let a = admin().await;
    let id = queued(&a.app, "Failed one").await;
    sqlx::query("UPDATE outbox_messages SET state = 'failed', attempts = 25 WHERE id = $1")
        .bind(id)
        .execute(&a.app.db)
        .await
        .unwrap();
    let res = a.post(&format!("/admin/mail/{id}/retry"), &[]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), format!("/admin/mail/{id}"));
    let (state, attempts): (String, i32) =
        sqlx::query_as("SELECT state, attempts FROM outbox_messages WHERE id = $1")
            .bind(id)
            .fetch_one(&a.app.db)
            .await
            .unwrap();
    assert_eq!((state.as_str(), attempts), ("queued", 0));
    a.post(&format!("/admin/mail/{id}/retry"), &[]).await;
    assert_eq!(a.app.audit_count("mail.retried").await, 1);
    assert!(
        a.page(&format!("/admin/mail/{id}"))
            .await
            .contains("not failed; nothing changed")
    );
}

#[tokio::test]
async fn the_test_button_queues_a_message_to_the_admin_with_absolute_links() {
    let a = admin().await;
    let res = a.post("/admin/mail/test", &[]).await;
    assert_eq!(res.status(), 303);
    let (to, text, html): (Vec<String>, String, String) =
        sqlx::query_as("SELECT to_addrs, body_text, body_html FROM outbox_messages")
            .fetch_one(&a.app.db)
            .await
            .unwrap();
    assert_eq!(to, vec!["admin@agency.test"]);
    let link = format!("{}/admin/mail", a.app.base);
    assert!(text.contains(&link) && html.contains(&link));
    assert_eq!(a.app.audit_count("mail.test_queued").await, 1);
}

#[tokio::test]
async fn the_distribution_list_is_edited_with_checked_addresses_and_every_change_audited() {
    let a = admin().await;
    let res = a
        .post(
            "/admin/distribution",
            &[("email", "ops lead@agency"), ("name", "Ops")],
        )
        .await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.unwrap();
    assert!(body.contains("id=\"email-error\"") && body.contains("value=\"ops lead@agency\""));

    assert_eq!(
        a.post(
            "/admin/distribution",
            &[("email", "ops@agency.test"), ("name", "Ops Lead")]
        )
        .await
        .status(),
        303
    );
    let twin = a
        .post("/admin/distribution", &[("email", "OPS@agency.test")])
        .await;
    assert_eq!(twin.status(), 422);
    assert!(twin.text().await.unwrap().contains("already on the list"));
    assert!(
        a.page("/admin/distribution")
            .await
            .contains("ops@agency.test")
    );

    let mut conn = a.app.db.acquire().await.unwrap();
    let list = offboarding_desk::notifications::recipients::distribution_list(&mut conn)
        .await
        .unwrap();
    assert_eq!(list, vec!["ops@agency.test"]);

    let id: i64 = sqlx::query_scalar("SELECT id FROM distribution_list")
        .fetch_one(&a.app.db)
        .await
        .unwrap();
    assert_eq!(
        a.post(&format!("/admin/distribution/{id}/remove"), &[])
            .await
            .status(),
        303
    );
    a.post(&format!("/admin/distribution/{id}/remove"), &[])
        .await;
    assert_eq!(a.app.audit_count("distribution_list.added").await, 1);
    assert_eq!(a.app.audit_count("distribution_list.removed").await, 1);
}

#[tokio::test]
async fn recipients_skip_disabled_people() {
    let app = TestApp::spawn().await;
    let amy = app.user("amy@agency.test", &[Role::Retention]).await;
    app.user("anglee@agency.test", &[Role::Retention]).await;
    sqlx::query(
        "INSERT INTO distribution_list (email) VALUES ('amy@agency.test'), ('lead@agency.test')",
    )
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query("UPDATE users SET disabled_at = now() WHERE id = $1")
        .bind(amy)
        .execute(&app.db)
        .await
        .unwrap();
    let mut conn = app.db.acquire().await.unwrap();
    use offboarding_desk::notifications::recipients;
    assert_eq!(
        recipients::holders_of(&mut conn, Role::Retention)
            .await
            .unwrap(),
        vec!["anglee@agency.test"]
    );
    assert_eq!(
        recipients::distribution_list(&mut conn).await.unwrap(),
        vec!["lead@agency.test"]
    );
    assert_eq!(recipients::user(&mut conn, amy).await.unwrap(), None);
}
