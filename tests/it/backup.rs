//! Backups known to restore: a dump taken while the app works, loaded into an empty database,
//! holds every row of its moment and keeps the workflow's rules; an instance started on it
//! serves the requests, and sends nothing that was sent before the backup.

use offboarding_desk::db::backup;
use sqlx::Connection;

use crate::support::{TestApp, db::blank_database, fixtures};

/// Rows of each table the record is made of.
async fn counts(db: &sqlx::PgPool) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for table in [
        "users",
        "clients",
        "change_requests",
        "request_approvals",
        "audit_events",
        "outbox_messages",
        "scheduled_jobs",
    ] {
        let n: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
                .fetch_one(db)
                .await
                .unwrap();
        out.push((table.to_string(), n));
    }
    out
}

#[tokio::test]
async fn a_backup_taken_while_the_app_works_restores_whole_into_an_empty_database() {
    let c = fixtures::chain().await;
    let id = c.file(&[]).await;
    c.submit(&c.am_cookie, id).await;
    assert!(
        c.app.deliver_mail().await > 0,
        "the filing's emails are sent"
    );
    let url = c.app.state.config.database_url.clone().unwrap();
    let dir = std::env::temp_dir().join(format!("od-backup-{}", uuid::Uuid::new_v4().simple()));

    let taken = backup::backup(&url, &dir, 2).await.expect("backup");
    let before = counts(&c.app.db).await;
    // The app goes on after the backup: what it does next is not in it.
    c.app.user("later@agency.test", &[]).await;

    // A restore never mixes into a database already in use.
    let refused = backup::restore(&url, &taken.file).await.unwrap_err();
    assert!(format!("{refused:#}").contains("not empty"), "{refused:#}");

    let target = blank_database().await;
    backup::restore(&target, &taken.file)
        .await
        .expect("restore");
    // The app starts on it as it starts anywhere: migrations (none left to run) and grants as
    // the owner, then its pool as a role of its own, which cannot rewrite the record.
    let (role, password) = ("odtest_restored_app", "odtest-restored-password");
    let mut owner =
        sqlx::PgConnection::connect_with(&offboarding_desk::db::connect_options(&target).unwrap())
            .await
            .unwrap();
    offboarding_desk::db::roles::prepare(&mut owner, role, Some(password))
        .await
        .unwrap();
    owner.close().await.unwrap();
    let as_app = crate::support::db::as_user(&target, role, password);
    let mut config =
        offboarding_desk::config::Config::from_lookup(false, |_| None).expect("configuration");
    config.database_url = Some(as_app.clone());
    config.migration_database_url = Some(target.clone());
    let started = offboarding_desk::db::connect(&config)
        .await
        .expect("the app starts on the restore");
    let mut conn = started.acquire().await.unwrap();
    assert!(
        !offboarding_desk::db::roles::owns_the_audit_log(&mut conn)
            .await
            .unwrap()
    );
    drop(conn);
    started.close().await;
    let restored = TestApp::spawn_on_database(as_app).await;
    assert_eq!(counts(&restored.db).await, before);
    crate::model::invariants::check_records(&restored.db)
        .await
        .unwrap_or_else(|broken| panic!("the restored record breaks a rule: {broken}"));
    // The restored instance serves the request, and sends nothing already sent.
    let am = restored.session_cookie(c.am).await;
    let page = restored.page(&am, &format!("/requests/{id}")).await;
    assert!(page.contains("In approval"), "{page}");
    assert_eq!(restored.deliver_mail().await, 0);

    // Later backups keep the newest two.
    backup::backup(&url, &dir, 2).await.unwrap();
    let third = backup::backup(&url, &dir, 2).await.unwrap();
    assert_eq!(third.removed, vec![taken.file.clone()]);
    assert_eq!(backup::list(&dir).unwrap().len(), 2);
    std::fs::remove_dir_all(&dir).unwrap();
}
