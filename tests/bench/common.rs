//! What the benchmark and the fault drills share: the database server, a database of their own,
//! the app as a separate process (the release binary Cargo built beside them), and signing in.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use offboarding_desk::db;

#[path = "../shared/mod.rs"]
pub mod shared;
pub use shared::{admin_url, client, free_port, with_database};
use sqlx::{Connection, PgConnection};

/// The password of every account the bench and drills create.
pub const PASSWORD: &str = "bench-password-1";

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Drops and creates `name`, applies the migrations and returns its URL.
pub async fn fresh_database(admin_url: &str, name: &str) -> anyhow::Result<String> {
    let mut conn = PgConnection::connect_with(&db::connect_options(admin_url)?).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    let url = with_database(admin_url, name);
    let mut conn = PgConnection::connect_with(&db::connect_options(&url)?).await?;
    db::MIGRATOR.run(&mut conn).await?;
    conn.close().await?;
    Ok(url)
}

/// A fresh database `name` filled by the generator (tests/bench/seed.sql) with `clients`
/// clients, ten change requests each; every account's password is [`PASSWORD`].
pub async fn seeded(
    admin_url: &str,
    name: &str,
    clients: u32,
) -> anyhow::Result<(String, sqlx::PgPool)> {
    let url = fresh_database(admin_url, name).await?;
    let hash = offboarding_desk::auth::password::hash(PASSWORD)?;
    let seed = include_str!("seed.sql")
        .replace("{{HASH}}", &hash)
        .replace("{{CLIENTS}}", &clients.to_string());
    let pool = db::pool_options()
        .max_connections(4)
        .connect_with(db::connect_options(&url)?)
        .await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(seed))
        .execute(&pool)
        .await?;
    // As autovacuum leaves a department's older records: their pages marked all-visible (so an
    // index answers alone) and pruned, rather than as the bulk load left them.
    sqlx::raw_sql("VACUUM (ANALYZE)").execute(&pool).await?;
    Ok((url, pool))
}

/// The app, running as its own process.
pub struct App {
    pub child: Child,
    pub port: u16,
    pub base: String,
    /// From spawning the process to the first 200 from `/healthz`.
    pub startup: Duration,
}

impl App {
    /// Starts the release binary on `database_url` with `env` and waits until it answers. A
    /// free port can be taken before the app binds it; then the app exits and another is tried.
    pub async fn start(database_url: &str, env: &[(&str, String)]) -> anyhow::Result<App> {
        let mut exits = Vec::new();
        for _ in 0..3 {
            match Self::start_on(free_port(), database_url, env).await? {
                Ok(app) => return Ok(app),
                Err(exit) => exits.push(exit),
            }
        }
        anyhow::bail!("the app exited before it was ready, three times: {exits:?}")
    }

    /// Starts the app on `port`; the inner error is its exit status when it quit before it
    /// was ready.
    async fn start_on(
        port: u16,
        database_url: &str,
        env: &[(&str, String)],
    ) -> anyhow::Result<Result<App, String>> {
        let base = format!("http://127.0.0.1:{port}");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_offboarding-desk"));
        cmd.env("DATABASE_URL", database_url)
            .env("BIND_ADDR", format!("127.0.0.1:{port}"))
            .env("BASE_URL", &base)
            .env("RUST_LOG", "warn")
            .env(
                "MAIL_DIR",
                std::env::temp_dir().join("offboarding-bench-mail"),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let started = Instant::now();
        let mut child = cmd.spawn()?;
        shared::tls();
        let http = reqwest::Client::new();
        loop {
            if let Ok(res) = http.get(format!("{base}/healthz")).send().await
                && res.status().is_success()
            {
                break;
            }
            if let Some(status) = child.try_wait()? {
                return Ok(Err(format!("port {port}: {status}")));
            }
            if started.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
                anyhow::bail!("the app was not ready within 60 s");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(Ok(App {
            startup: started.elapsed(),
            child,
            port,
            base,
        }))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory now and at its peak, in MiB, from `/proc`.
    pub fn memory_mib(&self) -> (f64, f64) {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|kb| kb.parse::<f64>().ok())
                .map(|kb| kb / 1024.0)
                .unwrap_or(f64::NAN)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// Sends SIGTERM and waits for the exit; returns how long it took, or None after `limit`
    /// (the process is then killed).
    pub async fn terminate(&mut self, limit: Duration) -> Option<Duration> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let asked = Instant::now();
        while asked.elapsed() < limit {
            if let Ok(Some(_)) = self.child.try_wait() {
                return Some(asked.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.kill();
        None
    }

    /// `kill -9`: no chance to finish anything.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for App {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill();
        }
    }
}

/// Signs in through the sign-in form and returns the session cookie as a `Cookie` header.
pub async fn sign_in(base: &str, email: &str) -> anyhow::Result<String> {
    let res = client()
        .post(format!("{base}/login"))
        .form(&[("email", email), ("password", PASSWORD)])
        .send()
        .await?;
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| {
            c.strip_prefix("od_session=")
                .map(|rest| rest.split(';').next().unwrap_or("").to_string())
        });
    match cookie {
        Some(secret) if !secret.is_empty() => Ok(format!("od_session={secret}")),
        _ => anyhow::bail!("{email} could not sign in ({})", res.status()),
    }
}
