//! The audit log only grows.

use offboarding_desk::audit::{self, Actor};
use offboarding_desk::auth::roles::Role;

use crate::support::TestApp;

#[tokio::test]
async fn audit_rows_cannot_be_changed_or_removed_by_the_app() {
    let app = TestApp::spawn().await;
    let mut conn = app.db.acquire().await.unwrap();
    audit::record(
        &mut conn,
        &Actor::system(),
        "test.event",
        "thing",
        Some("1".into()),
        serde_json::json!({"a": 1}),
    )
    .await
    .unwrap();
    for sql in [
        "UPDATE audit_events SET action = 'rewritten'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
    ] {
        let err = sqlx::query(sql).execute(&mut *conn).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(app.audit_count("test.event").await, 1);
}

#[tokio::test]
async fn an_event_rolled_back_with_its_change_leaves_no_trace() {
    let app = TestApp::spawn().await;
    let mut tx = app.db.begin().await.unwrap();
    audit::record(
        &mut tx,
        &Actor::system(),
        "test.event",
        "thing",
        None,
        serde_json::json!({}),
    )
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(app.audit_count("test.event").await, 0);
}

#[tokio::test]
async fn the_admin_reads_the_log_newest_first_and_pages_back() {
    let app = TestApp::spawn().await;
    let id = app.user("admin@agency.test", &[Role::Admin]).await;
    let mut conn = app.db.acquire().await.unwrap();
    for i in 0..60 {
        audit::record(
            &mut conn,
            &Actor::system(),
            "test.event",
            "thing",
            Some(i.to_string()),
            serde_json::json!({}),
        )
        .await
        .unwrap();
    }
    let cookie = app.session_cookie(id).await;
    let page = app.page(&cookie, "/admin/audit?action=test.event").await;
    assert!(page.contains("thing #59"));
    assert!(!page.contains("thing #9<"));
    let older = page
        .split("href=\"?before=")
        .nth(1)
        .expect("an older page link");
    let before: String = older.chars().take_while(char::is_ascii_digit).collect();
    let page2 = app
        .page(
            &cookie,
            &format!("/admin/audit?before={before}&action=test.event"),
        )
        .await;
    assert!(page2.contains("thing #9<") && page2.contains("thing #0<"));
    assert!(!page2.contains("thing #59"));

    // A family of actions by its first word; a record about a person names them, linked.
    let page = app.page(&cookie, "/admin/audit?action=test").await;
    assert!(page.contains("thing #59"));
    let record = serde_json::json!({ "sessions_ended": 0 });
    let about = Some(id.to_string());
    audit::record(
        &mut conn,
        &Actor::system(),
        "user.disabled",
        "user",
        about,
        record,
    )
    .await
    .unwrap();
    let page = app.page(&cookie, "/admin/audit?action=user").await;
    assert!(
        page.contains(&format!("<a href=\"/admin/users/{id}\">")),
        "{page}"
    );
    assert!(page.contains("Disabled the user") && !page.contains("thing #"));
}

#[tokio::test]
async fn as_its_own_role_the_app_works_but_cannot_rewrite_or_unguard_the_audit_log() {
    use offboarding_desk::db::roles;
    use sqlx::Connection;
    // As the app starts: migrations (the template's) as the owner, then its role and rights.
    let owner_url = crate::support::db::fresh_database().await;
    let mut owner = sqlx::PgConnection::connect_with(
        &offboarding_desk::db::connect_options(&owner_url).unwrap(),
    )
    .await
    .unwrap();
    let (role, password) = ("odtest_app", "odtest-app-password");
    roles::prepare(&mut owner, role, Some(password))
        .await
        .unwrap();
    // Again, as every start does: nothing changes, nothing fails.
    roles::prepare(&mut owner, role, Some(password))
        .await
        .unwrap();
    assert!(roles::owns_the_audit_log(&mut owner).await.unwrap());
    // The owner (a superuser here) is refused as the app's role.
    let owner_role: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&mut owner)
        .await
        .unwrap();
    let refused = roles::prepare(&mut owner, &owner_role, None)
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("the owner of the tables"),
        "{refused}"
    );
    // So are roles that could make themselves the owner: one that may create roles, one that
    // is a member of the owner without inheriting its rights (it may SET ROLE).
    for (mighty, attributes) in [
        ("odtest_creates_roles", "LOGIN CREATEROLE"),
        ("odtest_member", "LOGIN NOINHERIT"),
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP ROLE IF EXISTS {mighty}; CREATE ROLE {mighty} {attributes}"
        )))
        .execute(&mut owner)
        .await
        .unwrap();
    }
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "GRANT \"{owner_role}\" TO odtest_member"
    )))
    .execute(&mut owner)
    .await
    .unwrap();
    for mighty in ["odtest_creates_roles", "odtest_member"] {
        let refused = roles::prepare(&mut owner, mighty, None).await.unwrap_err();
        assert!(
            refused.to_string().contains("may create roles"),
            "{mighty}: {refused}"
        );
    }
    let app =
        TestApp::spawn_on_database(crate::support::db::as_user(&owner_url, role, password)).await;

    // The app works as that role: an admin adds a user through the page, and it is recorded.
    let admin = app.user("admin@agency.test", &[Role::Admin]).await;
    let cookie = app.session_cookie(admin).await;
    let res = app
        .post(
            &cookie,
            "/admin/users",
            &[
                ("email", "new.person@agency.test"),
                ("display_name", "New Person"),
                ("roles", "retention"),
                ("password", "a long enough passphrase"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(app.audit_count("user.created").await, 1);
    let page = app.page(&cookie, "/admin/audit?action=user").await;
    assert!(page.contains("Added the user New Person"), "{page}");

    // A step changed as the app's role keeps its work item (written with the owner's rights,
    // migration 27: the role may only read work items).
    let seed = include_str!("../bench/seed.sql")
        .replace("{{HASH}}", "not-a-password-hash")
        .replace("{{CLIENTS}}", "3");
    sqlx::raw_sql(sqlx::AssertSqlSafe(seed))
        .execute(&mut owner)
        .await
        .unwrap();
    let (step, reached): (i64, chrono::DateTime<chrono::Utc>) = sqlx::query_as(
        "UPDATE request_approvals SET reached_at = reached_at - interval '1 hour'
          WHERE id = (SELECT min(id) FROM request_approvals WHERE state = 'pending')
         RETURNING id, reached_at",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    let since: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT since FROM work_items WHERE item_id = $1")
            .bind(step)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(since, reached);

    // What it cannot do to the record of who did what, even with the guard's trigger gone.
    let mut conn = app.db.acquire().await.unwrap();
    assert!(!roles::owns_the_audit_log(&mut conn).await.unwrap());
    for sql in [
        "UPDATE audit_events SET action = 'rewritten'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
        "ALTER TABLE audit_events DISABLE TRIGGER USER",
        "DROP TRIGGER audit_events_no_update_delete ON audit_events",
        "ALTER TABLE audit_events OWNER TO odtest_app",
        "CREATE TABLE audit_copy (id bigint)",
        "DELETE FROM _sqlx_migrations",
        "SELECT setval(pg_get_serial_sequence('audit_events', 'id'), 1)",
        // Nor write a work item the triggers did not.
        "UPDATE work_items SET barred = '{}'",
        "DELETE FROM work_items",
        "INSERT INTO work_items (kind, item_id, request_id, since, barred, client_id,
                                 request_kind, title, effective_date)
         VALUES ('approval_step', 0, 0, now(), '{}', 0, 'cancellation', 'forged', current_date)",
    ] {
        let refused = sqlx::raw_sql(sql)
            .execute(&mut *conn)
            .await
            .expect_err(sql)
            .to_string();
        assert!(
            refused.contains("permission denied") || refused.contains("must be owner"),
            "{sql}: {refused}"
        );
    }
    assert_eq!(app.audit_count("user.created").await, 1);
}
