//! User administration over HTTP: every change saved whole with its audit record, bad input
//! answered beside the field, and stale forms refused.

use offboarding_desk::auth::roles::Role;

use crate::support::{PASSWORD, TestApp, client, location, session_from};

struct Admin {
    app: TestApp,
    id: i64,
    cookie: String,
}

async fn admin() -> Admin {
    let app = TestApp::spawn().await;
    let id = app.user("admin@agency.test", &[Role::Admin]).await;
    let cookie = app.session_cookie(id).await;
    Admin { app, id, cookie }
}

impl Admin {
    async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.app.post(&self.cookie, path, form).await
    }

    async fn get(&self, path: &str) -> String {
        self.app.page(&self.cookie, path).await
    }

    async fn version(&self, id: i64) -> i32 {
        sqlx::query_scalar("SELECT version FROM users WHERE id = $1")
            .bind(id)
            .fetch_one(&self.app.db)
            .await
            .unwrap()
    }
}

async fn count_users(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_admin_creates_a_user_who_can_then_sign_in() {
    let a = admin().await;
    let res = a
        .post(
            "/admin/users",
            &[
                ("email", "new.person@agency.test"),
                ("display_name", "New Person"),
                ("roles", "retention"),
                ("roles", "team_lead"),
                ("password", "a long enough passphrase"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let (id, roles, hash): (i64, Vec<String>, String) = sqlx::query_as(
        "SELECT id, roles, password_hash FROM users WHERE email = 'new.person@agency.test'",
    )
    .fetch_one(&a.app.db)
    .await
    .unwrap();
    assert_eq!(location(&res), format!("/admin/users/{id}"));
    assert_eq!(roles, vec!["retention", "team_lead"]);
    assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    let details: serde_json::Value = sqlx::query_scalar(
        "SELECT details FROM audit_events WHERE action = 'user.created' AND actor_id = $1",
    )
    .bind(a.id)
    .fetch_one(&a.app.db)
    .await
    .unwrap();
    assert_eq!(details["email"], "new.person@agency.test");
    assert!(
        !details.to_string().contains("passphrase"),
        "no password in the log"
    );
    assert!(
        a.get(&format!("/admin/users/{id}"))
            .await
            .contains("New Person can now sign in.")
    );
    let signed_in = client()
        .post(a.app.url("/login"))
        .form(&[
            ("email", "new.person@agency.test"),
            ("password", "a long enough passphrase"),
        ])
        .send()
        .await
        .unwrap();
    assert!(session_from(&signed_in).is_some());
}

#[tokio::test]
async fn bad_input_is_answered_beside_each_field_and_saves_nothing() {
    let a = admin().await;
    let before = count_users(&a.app).await;
    let res = a
        .post(
            "/admin/users",
            &[
                ("email", "not-an-email"),
                ("display_name", "Kept Name"),
                ("password", "password1"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.unwrap();
    assert!(body.contains("id=\"email-error\""), "email message");
    assert!(body.contains("id=\"roles-error\""), "roles message");
    assert!(body.contains("id=\"password-error\""), "password message");
    assert!(
        body.contains("value=\"not-an-email\"") && body.contains("value=\"Kept Name\""),
        "typed values kept"
    );
    assert!(!body.contains("password1"), "the password is never echoed");
    assert_eq!(count_users(&a.app).await, before);
}

#[tokio::test]
async fn common_and_short_passwords_are_refused() {
    let a = admin().await;
    for (password, message) in [("Password123", "too common"), ("short", "at least 8")] {
        let res = a
            .post(
                "/admin/users",
                &[
                    ("email", "x@agency.test"),
                    ("display_name", "X"),
                    ("roles", "finance"),
                    ("password", password),
                ],
            )
            .await;
        assert_eq!(res.status(), 422);
        assert!(res.text().await.unwrap().contains(message), "{password}");
    }
}

#[tokio::test]
async fn an_email_already_in_use_in_any_case_is_refused_beside_the_field() {
    let a = admin().await;
    let res = a
        .post(
            "/admin/users",
            &[
                ("email", "ADMIN@agency.test"),
                ("display_name", "Twin"),
                ("roles", "finance"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Another account already uses this email.")
    );
    assert_eq!(count_users(&a.app).await, 1);
}

#[tokio::test]
async fn an_admin_edits_name_email_and_roles_and_the_change_is_audited() {
    let a = admin().await;
    let id = a.app.user("amy@agency.test", &[Role::Retention]).await;
    let version = a.version(id).await.to_string();
    let res = a
        .post(
            &format!("/admin/users/{id}"),
            &[
                ("email", "amy.r@agency.test"),
                ("display_name", "Amy R."),
                ("roles", "retention"),
                ("roles", "approver"),
                ("version", &version),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let (email, name, roles): (String, String, Vec<String>) =
        sqlx::query_as("SELECT email, display_name, roles FROM users WHERE id = $1")
            .bind(id)
            .fetch_one(&a.app.db)
            .await
            .unwrap();
    assert_eq!(
        (email.as_str(), name.as_str()),
        ("amy.r@agency.test", "Amy R.")
    );
    assert_eq!(roles, vec!["retention", "approver"]);
    let changes: serde_json::Value = sqlx::query_scalar(
        "SELECT details->'changes' FROM audit_events WHERE action = 'user.updated'",
    )
    .fetch_one(&a.app.db)
    .await
    .unwrap();
    assert_eq!(
        changes["email"],
        serde_json::json!(["amy@agency.test", "amy.r@agency.test"])
    );
    assert_eq!(
        changes["roles"],
        serde_json::json!([["retention"], ["retention", "approver"]])
    );
}

#[tokio::test]
async fn a_form_opened_before_someone_elses_save_changes_nothing_and_says_so() {
    let a = admin().await;
    let id = a.app.user("amy@agency.test", &[Role::Retention]).await;
    let stale = a.version(id).await.to_string();
    let first = a
        .post(
            &format!("/admin/users/{id}"),
            &[
                ("email", "amy@agency.test"),
                ("display_name", "Amy First"),
                ("roles", "retention"),
                ("version", &stale),
            ],
        )
        .await;
    assert_eq!(first.status(), 303);
    let second = a
        .post(
            &format!("/admin/users/{id}"),
            &[
                ("email", "amy@agency.test"),
                ("display_name", "Amy Second"),
                ("roles", "retention"),
                ("version", &stale),
            ],
        )
        .await;
    assert_eq!(second.status(), 422);
    let body = second.text().await.unwrap();
    assert!(body.contains("Someone else changed this user"));
    assert!(
        body.contains("value=\"Amy Second\""),
        "what was typed is kept"
    );
    let name: String = sqlx::query_scalar("SELECT display_name FROM users WHERE id = $1")
        .bind(id)
        .fetch_one(&a.app.db)
        .await
        .unwrap();
    assert_eq!(name, "Amy First");
    assert_eq!(a.app.audit_count("user.updated").await, 1);
}

#[tokio::test]
async fn an_admin_cannot_lock_themselves_out() {
    let a = admin().await;
    let version = a.version(a.id).await.to_string();
    let res = a
        .post(
            &format!("/admin/users/{}", a.id),
            &[
                ("email", "admin@agency.test"),
                ("display_name", "Admin"),
                ("roles", "finance"),
                ("version", &version),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("your own administrator role")
    );
    let res = a.post(&format!("/admin/users/{}/disable", a.id), &[]).await;
    assert_eq!(res.status(), 303);
    let disabled: bool =
        sqlx::query_scalar("SELECT disabled_at IS NOT NULL FROM users WHERE id = $1")
            .bind(a.id)
            .fetch_one(&a.app.db)
            .await
            .unwrap();
    assert!(!disabled);
    assert!(
        a.get(&format!("/admin/users/{}", a.id))
            .await
            .contains("You cannot disable your own account.")
    );
}

#[tokio::test]
async fn disabling_a_user_ends_their_sessions_at_once_and_a_second_click_changes_nothing() {
    let a = admin().await;
    let id = a.app.user("amy@agency.test", &[Role::Retention]).await;
    // Someone else keeps the Retention Team's work reachable.
    a.app.user("anglee@agency.test", &[Role::Retention]).await;
    let amy = a.app.session_cookie(id).await;
    let home = |cookie: String| {
        let url = a.app.url("/");
        async move {
            client()
                .get(url)
                .header("cookie", cookie)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(home(amy.clone()).await, 200);
    assert_eq!(
        a.post(&format!("/admin/users/{id}/disable"), &[])
            .await
            .status(),
        303
    );
    assert_eq!(home(amy.clone()).await, 303, "the open session is gone");
    assert_eq!(
        a.post(&format!("/admin/users/{id}/disable"), &[])
            .await
            .status(),
        303
    );
    assert_eq!(
        a.app.audit_count("user.disabled").await,
        1,
        "the double click did nothing"
    );
    let ended: i64 = sqlx::query_scalar(
        "SELECT (details->>'sessions_ended')::bigint FROM audit_events WHERE action = 'user.disabled'",
    )
    .fetch_one(&a.app.db)
    .await
    .unwrap();
    assert_eq!(ended, 1);
    assert!(
        a.get(&format!("/admin/users/{id}"))
            .await
            .contains("already disabled")
    );
    assert_eq!(
        a.post(&format!("/admin/users/{id}/enable"), &[])
            .await
            .status(),
        303
    );
    assert_eq!(a.app.audit_count("user.enabled").await, 1);
}

#[tokio::test]
async fn a_new_password_replaces_the_old_one_and_signs_the_person_out_elsewhere() {
    let a = admin().await;
    let id = a.app.user("amy@agency.test", &[Role::Retention]).await;
    let amy = a.app.session_cookie(id).await;
    let refused = a
        .post(
            &format!("/admin/users/{id}/password"),
            &[("password", "qwertyuiop")],
        )
        .await;
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("too common"));
    let res = a
        .post(
            &format!("/admin/users/{id}/password"),
            &[("password", "new and long enough")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let status = client()
        .get(a.app.url("/"))
        .header("cookie", amy)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 303);
    let login = |password: &'static str| {
        let url = a.app.url("/login");
        async move {
            client()
                .post(url)
                .form(&[("email", "amy@agency.test"), ("password", password)])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(login(PASSWORD).await, 401);
    assert_eq!(login("new and long enough").await, 303);
    assert_eq!(a.app.audit_count("user.password_set").await, 1);
}

#[tokio::test]
async fn the_user_list_is_searchable_and_paginated() {
    let a = admin().await;
    for i in 0..30 {
        a.app
            .user(&format!("person{i:02}@agency.test"), &[Role::SemSpecialist])
            .await;
    }
    let first = a.get("/admin/users").await;
    assert!(first.contains("id=\"page-after\"") && !first.contains("id=\"page-before\""));
    let last = first
        .rsplit("<a href=\"/admin/users/")
        .next()
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    let second = a.get(&format!("/admin/users?before={last}")).await;
    assert!(second.contains("person29@agency.test") && !second.contains("person00@agency.test"));
    assert!(second.contains("id=\"page-before\"") && !second.contains("id=\"page-after\""));
    let found = a.get("/admin/users?q=person07").await;
    assert!(found.contains("person07@agency.test"));
    assert!(!found.contains("person08@agency.test"));
    let none = a.get("/admin/users?q=%25").await;
    assert!(
        none.contains("No users match."),
        "a % is searched literally"
    );
    let missing = client()
        .get(a.app.url("/admin/users/999999"))
        .header("cookie", &a.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

/// The Retention Team's calls, Accounting's processing, the Ops Lead's change tasks and the
/// contractor's items wait on whoever holds the role: the desk never leaves such a role with
/// nobody active, neither by disabling its last holder nor by taking the role away.
#[tokio::test]
async fn the_last_active_holder_of_a_role_whose_work_waits_on_any_holder_is_kept() {
    let a = admin().await;
    let ops = a.app.user("ops@agency.test", &[Role::OpsLead]).await;
    let res = a.post(&format!("/admin/users/{ops}/disable"), &[]).await;
    assert_eq!(res.status(), 303);
    let flash = crate::support::flash(&a.get(&format!("/admin/users/{ops}")).await);
    assert!(flash.starts_with("Nothing changed"), "{flash}");
    assert!(flash.contains("the only one active in the role"), "{flash}");
    assert_eq!(a.app.audit_count("user.disabled").await, 0);

    let version = a.version(ops).await.to_string();
    let res = a
        .post(
            &format!("/admin/users/{ops}"),
            &[
                ("email", "ops@agency.test"),
                ("display_name", "Ops"),
                ("roles", "team_lead"),
                ("version", &version),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("give the role to someone else first")
    );
    let roles: Vec<String> = sqlx::query_scalar("SELECT roles FROM users WHERE id = $1")
        .bind(ops)
        .fetch_one(&a.app.db)
        .await
        .unwrap();
    assert_eq!(roles, ["ops_lead"], "nothing saved");

    // With a second Ops Lead, the first may go.
    a.app.user("ops2@agency.test", &[Role::OpsLead]).await;
    a.post(&format!("/admin/users/{ops}/disable"), &[]).await;
    assert_eq!(a.app.audit_count("user.disabled").await, 1);
}
