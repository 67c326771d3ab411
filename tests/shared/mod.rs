//! What the integration tests (`tests/it`) and the benchmark and drills (`tests/bench`) share:
//! which PostgreSQL server they make their databases on, database URLs, free ports and an HTTP
//! client. Each includes this file as a module (`#[path = "../shared/mod.rs"]`).

#![allow(dead_code)]

use std::time::Duration;

use offboarding_desk::db::embedded;

/// The server to create databases on: `DATABASE_URL`'s (its role needs CREATEDB) or the app's
/// private cluster under `.data/` on `EMBEDDED_PG_PORT` (55432 unless set), started if needed.
pub fn admin_url() -> anyhow::Result<String> {
    if let Ok(url) = std::env::var("DATABASE_URL")
        && !url.trim().is_empty()
    {
        return Ok(url);
    }
    let data_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".data");
    let port = std::env::var("EMBEDDED_PG_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(55432);
    Ok(embedded::ensure_running(&data_dir, port)?.url("postgres"))
}

/// The same URL pointing at another database.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    }
}

/// A port nothing listens on (yet) on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// An HTTP client that does not follow redirects, so each answer is seen as sent.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client")
}
