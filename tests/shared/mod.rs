//! What the integration tests (`tests/it`) and the benchmark and drills (`tests/bench`) share:
//! which PostgreSQL server they make their databases on, database URLs, free ports and an HTTP
//! client. Each includes this file as a module (`#[path = "../shared/mod.rs"]`).

#![allow(dead_code)]

pub mod records;

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

/// An HTTP client that does not follow redirects, so each answer is seen as sent. The tests
/// send the session cookie by hand; the message a change leaves for the next page comes back
/// in a cookie of its own, which every client puts in [`FLASHES`] for [`with_flash`] to send
/// along, as a browser would.
pub fn client() -> reqwest::Client {
    tls();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .cookie_provider(FLASHES.clone())
        .build()
        .expect("HTTP client")
}

/// Installs ring as the process's TLS provider: the desk's chat sender builds its HTTPS client
/// with ring, and reqwest then wants every client to find a provider (ours speak plain HTTP).
pub fn tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Every message cookie an answer set and no page has shown yet, from any test's client. Each
/// is bound to its session (`web::flash`), so [`with_flash`] finds a session's own.
pub static FLASHES: std::sync::LazyLock<std::sync::Arc<FlashJar>> =
    std::sync::LazyLock::new(Default::default);

#[derive(Default)]
pub struct FlashJar(std::sync::Mutex<Vec<String>>);

impl reqwest::cookie::CookieStore for FlashJar {
    fn set_cookies(
        &self,
        headers: &mut dyn Iterator<Item = &reqwest::header::HeaderValue>,
        _url: &reqwest::Url,
    ) {
        for h in headers {
            if let Some(value) = flash_value(h) {
                self.0.lock().unwrap().push(value);
            }
        }
    }

    fn cookies(&self, _url: &reqwest::Url) -> Option<reqwest::header::HeaderValue> {
        None
    }
}

/// The value of a `Set-Cookie: od_flash=...` that sets a message (not one that clears it).
fn flash_value(h: &reqwest::header::HeaderValue) -> Option<String> {
    let value = h
        .to_str()
        .ok()?
        .strip_prefix("od_flash=")?
        .split(';')
        .next()?;
    (!value.is_empty()).then(|| value.to_string())
}

/// The session's secret in a `Cookie` header the tests send.
pub fn session_secret(cookie: &str) -> Option<&str> {
    cookie
        .split(';')
        .find_map(|c| c.trim().strip_prefix("od_session="))
}

/// `cookie` with the message cookie its session was last given, if a page has not shown it
/// yet (taken from [`FLASHES`]: the next page shows it).
pub fn with_flash(cookie: &str) -> String {
    let Some(secret) = session_secret(cookie) else {
        return cookie.to_string();
    };
    let key = secret.as_bytes();
    let mut jar = FLASHES.0.lock().unwrap();
    // The latest one this session's tag vouches for.
    let Some(at) = jar
        .iter()
        .rposition(|v| offboarding_desk::web::flash::read(key, v).is_some())
    else {
        return cookie.to_string();
    };
    let value = jar.remove(at);
    jar.retain(|v| offboarding_desk::web::flash::read(key, v).is_none());
    format!("{cookie}; od_flash={value}")
}

/// The message an answer left for the next page of the session whose secret is
/// `session_secret`, read from its cookie when that session's tag vouches for it.
pub fn flash_set_by(headers: &reqwest::header::HeaderMap, session_secret: &str) -> Option<String> {
    headers
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(flash_value)
        .find_map(|v| offboarding_desk::web::flash::read(session_secret.as_bytes(), &v))
}
