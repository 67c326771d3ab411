//! The database: where it is (configured or private), the pool, and the migrations.

pub mod backup;
pub mod embedded;
pub mod roles;
mod text_enum;

pub(crate) use text_enum::text_enum;

use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};

use crate::config::Config;

/// The schema, embedded in the binary; applied at every start-up.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// Name of the database the app uses on its private cluster.
pub const EMBEDDED_DATABASE: &str = "offboarding_desk";

/// Finds or starts the database, applies migrations as the schema's owner, grants the app's
/// role its rights (`roles`) and returns the app's pool, connected as that role.
pub async fn connect(config: &Config) -> anyhow::Result<PgPool> {
    let at = addresses(config).await?;
    // Two addresses naming two databases are refused before either is touched (and checked
    // again once connected, for a name left to the server's default).
    let (owner_options, app_options) = (connect_options(&at.owner)?, connect_options(&at.app)?);
    if let (Some(o), Some(a)) = (owner_options.get_database(), app_options.get_database()) {
        anyhow::ensure!(
            o == a,
            "MIGRATION_DATABASE_URL ({o}) and DATABASE_URL ({a}) name different databases"
        );
    }
    // Migrations may take their time on a first start: without printing their whole SQL.
    let mut owner = PgConnection::connect_with(&quiet(&at.owner)?)
        .await
        .context("cannot connect to the database")?;
    MIGRATOR
        .run(&mut owner)
        .await
        .map_err(|e| migration_failed(at.cluster_dir.as_deref(), e))?;
    if let Some(role) = &at.app_role {
        roles::prepare(&mut owner, role, at.new_role_password.as_deref()).await?;
    }
    let owner_database: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&mut owner)
        .await?;
    owner.close().await?;
    let pool = serving_pool_options()
        .connect_with(connect_options(&at.app)?)
        .await
        .context("cannot connect to the database")?;
    warm(&pool);
    let app_database: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&pool)
        .await?;
    anyhow::ensure!(
        app_database == owner_database,
        "MIGRATION_DATABASE_URL ({owner_database}) and DATABASE_URL ({app_database}) name \
         different databases"
    );
    if at.app_role.is_none() && roles::owns_the_audit_log(&mut *pool.acquire().await?).await? {
        tracing::warn!(
            "the app connects as the owner of its tables, so it could disable the audit log's \
             guard: set MIGRATION_DATABASE_URL to the owner and DATABASE_URL to a role of its \
             own (README, \"Running against an existing PostgreSQL\")"
        );
    }
    Ok(pool)
}

/// Why the migrations could not be applied, with what to do when the database is the private
/// one (its cluster in `cluster_dir`) and was made by another version of the desk (a migration
/// it applied differs from this build's, or this build does not know it).
fn migration_failed(
    cluster_dir: Option<&std::path::Path>,
    e: sqlx::migrate::MigrateError,
) -> anyhow::Error {
    use sqlx::migrate::MigrateError::{VersionMismatch, VersionMissing};
    let other_version = matches!(e, VersionMismatch(_) | VersionMissing(_));
    let what = match cluster_dir {
        Some(dir) if other_version => {
            let dir = dir.display();
            format!(
                "cannot apply the database migrations: the private database (its cluster in \
                 {dir}) was made by another version of the desk. Run the version that made it; \
                 or, to start afresh (what is in it is lost), stop the app and the cluster \
                 (`runuser -u postgres -- pg_ctl stop -D {dir}`, README \"The private \
                 cluster\"), then remove {dir} only (the backups and mail beside it are kept)"
            )
        }
        _ => "cannot apply the database migrations".to_string(),
    };
    anyhow::Error::new(e).context(what)
}

/// Where the app's database is, as the schema's owner and as the app.
struct Addresses {
    /// Migrations, grants, backups and restores.
    owner: String,
    /// The app's pool.
    app: String,
    /// The app's own role, when it has one.
    app_role: Option<String>,
    /// The password to create that role with (the private cluster's), when the app makes it.
    new_role_password: Option<String>,
    /// The private cluster's folder, when the database is there.
    cluster_dir: Option<std::path::PathBuf>,
}

async fn addresses(config: &Config) -> anyhow::Result<Addresses> {
    match (&config.database_url, &config.migration_database_url) {
        (Some(app), Some(owner)) => {
            let role = connect_options(app)?.get_username().to_string();
            Ok(Addresses {
                owner: owner.clone(),
                app: app.clone(),
                app_role: Some(role),
                new_role_password: None,
                cluster_dir: None,
            })
        }
        (Some(url), None) => Ok(Addresses {
            owner: url.clone(),
            app: url.clone(),
            app_role: None,
            new_role_password: None,
            cluster_dir: None,
        }),
        (None, _) => {
            let server = private_cluster(config).await?;
            Ok(Addresses {
                owner: server.url(EMBEDDED_DATABASE),
                app: server.url_as(roles::EMBEDDED_APP_ROLE, EMBEDDED_DATABASE),
                app_role: Some(roles::EMBEDDED_APP_ROLE.to_string()),
                new_role_password: Some(server.app_password.clone()),
                cluster_dir: Some(server.cluster_dir.clone()),
            })
        }
    }
}

/// The private cluster, started, with the app's database created, when need be.
async fn private_cluster(config: &Config) -> anyhow::Result<embedded::EmbeddedServer> {
    let data_dir = config.data_dir.clone();
    let port = config.embedded_pg_port;
    let server =
        tokio::task::spawn_blocking(move || embedded::ensure_running(&data_dir, port)).await??;
    create_database_if_missing(&server.url("postgres"), EMBEDDED_DATABASE).await?;
    Ok(server)
}

/// The database's address as its owner (`MIGRATION_DATABASE_URL`, else `DATABASE_URL`, else
/// the private cluster's): for backups and restores.
pub async fn url(config: &Config) -> anyhow::Result<String> {
    Ok(addresses(config).await?.owner)
}

/// Drops the app's database on the private cluster (`DATABASE_URL` unset), closing what is
/// connected to it: the next `connect` creates it empty. Only for a stale demo.
pub async fn drop_embedded_database(config: &Config) -> anyhow::Result<()> {
    anyhow::ensure!(
        config.database_url.is_none() && config.demo,
        "only a demo's private database is ever dropped"
    );
    let (data_dir, port) = (config.data_dir.clone(), config.embedded_pg_port);
    let server =
        tokio::task::spawn_blocking(move || embedded::ensure_running(&data_dir, port)).await??;
    let mut conn = PgConnection::connect_with(&quiet(&server.url("postgres"))?).await?;
    let sql = format!("DROP DATABASE IF EXISTS \"{EMBEDDED_DATABASE}\" WITH (FORCE)");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(())
}

/// The most connections a pool of the app holds.
const POOL_SIZE: u32 = 16;

/// Pool settings shared by the app and the tests: a request waits at most a few seconds for a
/// connection, so a database outage turns into a quick 503, never a hang. Connections are
/// opened as requests need them (a test's pool stays small).
pub fn pool_options() -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(POOL_SIZE)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(3))
}

/// [`pool_options`] for serving: a connection, once opened, is kept (not closed after ten idle
/// minutes nor at thirty minutes of age, sqlx's defaults). A connection opened for a request
/// costs the requests waiting the sign-in (SCRAM), a new server process and the planning of
/// each statement it then runs for the first time (README, "The tail: the pool"); a kept one
/// holds at most the statements its cache keeps (`statement_cache_capacity`). No minimum is
/// kept: with one, sqlx opens the minimum before the pool is handed out and, after an outage,
/// keeps a task retrying to refill it for minutes; a connection the server closed is found by
/// the check sqlx makes before lending it, and replaced when a request needs one.
pub fn serving_pool_options() -> PgPoolOptions {
    pool_options()
        .min_connections(0)
        .idle_timeout(None)
        .max_lifetime(None)
}

/// Opens the rest of `pool`'s connections at once, in the background, so that the first
/// requests after a start do not wait on them; they are held only until the last is open.
/// A failure is left to the requests (they open what they need).
pub fn warm(pool: &PgPool) {
    let pool = pool.clone();
    tokio::spawn(async move {
        let mut opening = tokio::task::JoinSet::new();
        // One for every connection the pool may hold: those open already are taken as they
        // are, the others opened.
        for _ in 0..POOL_SIZE {
            let pool = pool.clone();
            opening.spawn(async move { pool.acquire().await });
        }
        // Each connection is held until all are open, so that none is lent twice.
        let held = opening.join_all().await;
        if let Some(Err(error)) = held.iter().find(|c| c.is_err()) {
            tracing::debug!(%error, "the pool's warm-up did not open every connection");
        }
    });
}

/// Parses a URL, quietening sqlx's per-statement logging (the request log says enough).
pub fn connect_options(url: &str) -> anyhow::Result<PgConnectOptions> {
    Ok(url
        .parse::<PgConnectOptions>()
        .context("DATABASE_URL is not a PostgreSQL URL")?
        // Each request's queries are small and indexed: starting parallel workers for them
        // costs more than it saves and, under load, takes cores from other requests. The same
        // holds for compiling a statement to machine code (JIT), which PostgreSQL starts on its
        // cost estimate alone: on the Reports page it took 0.6 s of a 1.8 s statement.
        .options([("max_parallel_workers_per_gather", "0"), ("jit", "off")])
        // Statements that write a month, a page's place or a day into their text (so that
        // PostgreSQL keeps their plan) are one prepared statement per value: room for those
        // while the desks' own statements stay prepared.
        .statement_cache_capacity(500)
        .log_statements(log::LevelFilter::Debug)
        .log_slow_statements(log::LevelFilter::Warn, Duration::from_millis(500)))
}

/// Options for a connection whose slow statements are expected (migrations, creating or
/// dropping a database, making the app's role): its statements are not logged at all.
fn quiet(url: &str) -> anyhow::Result<PgConnectOptions> {
    Ok(connect_options(url)?
        .log_statements(log::LevelFilter::Off)
        .log_slow_statements(log::LevelFilter::Off, Duration::from_secs(1)))
}

/// Creates `name` on the server behind `admin_url` unless it exists.
pub async fn create_database_if_missing(admin_url: &str, name: &str) -> anyhow::Result<()> {
    let mut conn = PgConnection::connect_with(&quiet(admin_url)?).await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(&mut conn)
            .await?;
    if !exists {
        // Names cannot be bound as parameters; callers pass only fixed, known names.
        let sql = format!("CREATE DATABASE \"{}\"", name.replace('"', ""));
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut conn)
            .await?;
    }
    conn.close().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::migrate::MigrateError;

    #[test]
    fn a_private_database_of_another_version_says_what_to_do() {
        let cluster = std::path::Path::new("/tmp/offboarding-desk-00ff/pg");
        for e in [
            MigrateError::VersionMismatch(20261215000032),
            MigrateError::VersionMissing(20270101000001),
        ] {
            let said = format!("{:#}", migration_failed(Some(cluster), e));
            assert!(
                said.contains(
                    "the private database (its cluster in /tmp/offboarding-desk-00ff/pg) was \
                     made by another version"
                ) && said.contains("pg_ctl stop -D /tmp/offboarding-desk-00ff/pg")
                    && said.contains("remove /tmp/offboarding-desk-00ff/pg only"),
                "{said}"
            );
        }
        // A server of one's own is not the desk's to remove; another failure is not a version's.
        let said = format!(
            "{:#}",
            migration_failed(None, MigrateError::VersionMismatch(20261215000032))
        );
        assert!(!said.contains("start afresh"), "{said}");
        let said = format!(
            "{:#}",
            migration_failed(Some(cluster), MigrateError::Dirty(20261215000032))
        );
        assert!(!said.contains("start afresh"), "{said}");
    }
}
