//! A fresh database per test, cloned from a migrated template so each test starts in
//! milliseconds. The server is `DATABASE_URL`'s when set (its role needs CREATEDB), otherwise
//! the same private cluster the app uses.

use std::sync::OnceLock;

use offboarding_desk::db::{self, MIGRATOR};

use crate::shared::with_database;
use sqlx::{Connection, PgConnection, PgPool};

struct Server {
    /// URL of a database on the server to run CREATE DATABASE from.
    admin_url: String,
    template: String,
}

static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();

fn server() -> &'static Server {
    let result = SERVER.get_or_init(|| {
        // The set-up is async but must outlive any one test's runtime, so it gets its own.
        std::thread::spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(prepare())
                .map_err(|e| format!("{e:#}"))
        })
        .join()
        .expect("database set-up thread")
    });
    match result {
        Ok(s) => s,
        Err(e) => panic!("the test database server could not be prepared: {e}"),
    }
}

async fn prepare() -> anyhow::Result<Server> {
    let admin_url = crate::shared::admin_url()?;
    let mut conn = PgConnection::connect_with(&db::connect_options(&admin_url)?).await?;

    // Databases left by earlier runs go first; those another run is using right now (a long
    // model run beside `cargo test`, say) stay.
    let stale: Vec<String> = sqlx::query_scalar(
        "SELECT d.datname FROM pg_database d
          WHERE d.datname LIKE 'odtest\\_db\\_%'
            AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)",
    )
    .fetch_all(&mut conn)
    .await?;
    for name in stale {
        // One that another run connects to meanwhile is left for next time.
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS \"{name}\""
        )))
        .execute(&mut conn)
        .await;
    }

    // The template's name follows the migrations, so a schema change makes a new one.
    let key = MIGRATOR
        .iter()
        .flat_map(|m| m.checksum.iter().copied())
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
    let template = format!("odtest_tpl_{key:016x}");
    // Templates of earlier schemas go once no run has used them for a day (each run marks its
    // own when it starts: another checkout's run may be using an older one right now, cloning
    // it without connecting to it).
    let old_templates: Vec<String> = sqlx::query_scalar(
        "SELECT d.datname FROM pg_database d
          WHERE d.datname LIKE 'odtest\\_tpl\\_%' AND d.datname <> $1
            AND d.datname NOT LIKE '%\\_building'
            AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)
            AND coalesce(substring(shobj_description(d.oid, 'pg_database')
                                   FROM '^used ([0-9]+)$')::bigint, 0)
                < extract(epoch FROM now())::bigint - 86400",
    )
    .bind(&template)
    .fetch_all(&mut conn)
    .await?;
    for name in old_templates {
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS \"{name}\""
        )))
        .execute(&mut conn)
        .await;
    }
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&template)
            .fetch_one(&mut conn)
            .await?;
    if !exists {
        // Built under another name and renamed, so a run stopped half-way leaves no bad template.
        let building = format!("{template}_building");
        for sql in [
            format!("DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"),
            format!("CREATE DATABASE \"{building}\""),
        ] {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut conn)
                .await?;
        }
        let url = with_database(&admin_url, &building);
        let pool = PgPool::connect_with(db::connect_options(&url)?).await?;
        MIGRATOR.run(&pool).await?;
        pool.close().await;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "ALTER DATABASE \"{building}\" RENAME TO \"{template}\""
        )))
        .execute(&mut conn)
        .await?;
    }
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "COMMENT ON DATABASE \"{template}\" IS 'used {}'",
        chrono::Utc::now().timestamp()
    )))
    .execute(&mut conn)
    .await?;
    conn.close().await?;
    Ok(Server {
        admin_url,
        template,
    })
}

/// `url` with its user and password replaced.
pub fn as_user(url: &str, user: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let host = rest.split_once('@').map_or(rest, |(_, host)| host);
    format!("{scheme}://{user}:{password}@{host}")
}

/// A new database with no schema at all (for a test that migrates it itself); its URL.
pub async fn blank_database() -> String {
    let server = server();
    let name = format!("odtest_db_{}", uuid::Uuid::new_v4().simple());
    let mut conn = PgConnection::connect_with(&db::connect_options(&server.admin_url).unwrap())
        .await
        .expect("connect to the test server");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut conn)
        .await
        .expect("create a test database");
    conn.close().await.ok();
    with_database(&server.admin_url, &name)
}

/// A new, migrated, empty database; returns its URL.
pub async fn fresh_database() -> String {
    let server = server();
    let name = format!("odtest_db_{}", uuid::Uuid::new_v4().simple());
    let mut conn = PgConnection::connect_with(&db::connect_options(&server.admin_url).unwrap())
        .await
        .expect("connect to the test server");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE DATABASE \"{name}\" TEMPLATE \"{}\"",
        server.template
    )))
    .execute(&mut conn)
    .await
    .expect("create a test database");
    conn.close().await.ok();
    with_database(&server.admin_url, &name)
}

#[test]
fn database_urls_are_rewritten_to_another_database() {
    assert_eq!(
        with_database("postgres://u:p@127.0.0.1:5432/postgres", "x"),
        "postgres://u:p@127.0.0.1:5432/x"
    );
    assert_eq!(
        with_database("postgres://u@h/db?sslmode=disable", "x"),
        "postgres://u@h/x?sslmode=disable"
    );
    assert_eq!(with_database("postgres://h:1", "x"), "postgres://h:1/x");
}
