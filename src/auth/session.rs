//! Server-side sessions in PostgreSQL: the cookie carries a random secret, the table keeps its
//! SHA-256, and a request looks the session up with its user in one query, unless this
//! instance loaded it lately and nothing changed since (`session_cache`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::{PgConnection, PgPool};

use super::roles::RoleSet;
use super::session_cache::SessionCache;
use super::token;

/// The cookie's name. With HTTPS the `__Host-` prefix pins it to this host and path `/`.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-od_session"
    } else {
        "od_session"
    }
}

/// A `Set-Cookie` value that removes the session cookie from the browser.
pub fn clear_cookie(secure: bool) -> axum::http::HeaderValue {
    let value = format!(
        "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
        cookie_name(secure),
        if secure { "; Secure" } else { "" }
    );
    axum::http::HeaderValue::from_str(&value).expect("a cookie of fixed characters")
}

/// The person behind a request, as loaded with their session.
#[derive(Clone, Debug)]
pub struct CurrentUser {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub roles: RoleSet,
    /// Hash of this session's secret, to end or annotate it.
    pub session_hash: Vec<u8>,
    /// A message left by the previous request, shown once (`web::flash`).
    pub flash: Option<String>,
    /// Set when a page shows [`flash`](CurrentUser::flash), so the message is then removed.
    pub flash_shown: Arc<AtomicBool>,
}

impl CurrentUser {
    /// The message for this page, marked as shown.
    pub fn show_flash(&self) -> Option<String> {
        self.flash_shown.store(true, Ordering::Relaxed);
        self.flash.clone()
    }
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: i64,
    email: String,
    display_name: String,
    roles: Vec<crate::auth::roles::Role>,
    /// Seconds left before the absolute limit, as the database reckons them.
    lifetime: f64,
    stale: bool,
}

/// How a session began.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignInMethod {
    Password,
    /// The company account (OpenID Connect).
    Company,
}

impl SignInMethod {
    pub fn key(self) -> &'static str {
        match self {
            SignInMethod::Password => "password",
            SignInMethod::Company => "company",
        }
    }

    /// The method a stored key names (the column's check allows only the two).
    fn from_key(key: &str) -> SignInMethod {
        if key == SignInMethod::Company.key() {
            SignInMethod::Company
        } else {
            SignInMethod::Password
        }
    }
}

/// Starts a session for `user_id` signed in with a password; returns the secret for the cookie.
pub async fn create(
    conn: &mut PgConnection,
    user_id: i64,
    absolute: Duration,
    ip: &str,
    user_agent: &str,
) -> sqlx::Result<String> {
    create_with(
        conn,
        user_id,
        absolute,
        ip,
        user_agent,
        SignInMethod::Password,
    )
    .await
}

/// As [`create`], for a session begun by `method`.
pub async fn create_with(
    conn: &mut PgConnection,
    user_id: i64,
    absolute: Duration,
    ip: &str,
    user_agent: &str,
    method: SignInMethod,
) -> sqlx::Result<String> {
    let secret = token::random_hex(32);
    sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, absolute_expires_at, ip, user_agent, method)
         VALUES ($1, $2, now() + make_interval(secs => $3), $4, $5, $6)",
    )
    .bind(token::digest(&secret))
    .bind(user_id)
    .bind(absolute.as_secs_f64())
    .bind(ip)
    .bind(user_agent.chars().take(300).collect::<String>())
    .bind(method.key())
    .execute(conn)
    .await?;
    Ok(secret)
}

/// How the session `session_hash` began (a password when it is gone).
pub async fn method(conn: &mut PgConnection, session_hash: &[u8]) -> sqlx::Result<SignInMethod> {
    let method: Option<String> =
        sqlx::query_scalar("SELECT method FROM sessions WHERE id_hash = $1")
            .bind(session_hash)
            .fetch_optional(conn)
            .await?;
    Ok(method
        .as_deref()
        .map_or(SignInMethod::Password, SignInMethod::from_key))
}

/// Finds the live session for a cookie's secret: kept in `cache` when this instance loaded it
/// lately and nothing changed since, else from the database (and then kept). A session past
/// its idle or absolute limit, or whose user is disabled, is not found. Marks the session used
/// when the database is asked and it was last marked longer ago than the cache keeps an entry
/// (a minute, or a quarter of the idle limit), so an active session's "last seen" stays within
/// half its idle limit of its use.
pub async fn load(
    pool: &PgPool,
    cache: &SessionCache,
    secret: &str,
    idle: Duration,
) -> sqlx::Result<Option<CurrentUser>> {
    let hash = token::digest(secret);
    if let Some(user) = cache.get(&hash) {
        return Ok(Some(user));
    }
    let generation = cache.generation();
    let row: Option<SessionRow> = sqlx::query_as(
        "SELECT u.id, u.email, u.display_name, u.roles,
                extract(epoch FROM s.absolute_expires_at - now())::float8 AS lifetime,
                s.last_seen_at < now() - make_interval(secs => $3) AS stale
           FROM sessions s JOIN users u ON u.id = s.user_id
          WHERE s.id_hash = $1
            AND u.disabled_at IS NULL
            AND s.absolute_expires_at > now()
            AND s.last_seen_at > now() - make_interval(secs => $2)",
    )
    .bind(&hash)
    .bind(idle.as_secs_f64())
    .bind(cache.ttl().as_secs_f64())
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    if row.stale {
        sqlx::query("UPDATE sessions SET last_seen_at = now() WHERE id_hash = $1")
            .bind(&hash)
            .execute(pool)
            .await?;
    }
    let user = CurrentUser {
        id: row.id,
        email: row.email,
        display_name: row.display_name,
        roles: row.roles.into_iter().collect(),
        session_hash: hash,
        flash: None,
        flash_shown: Arc::default(),
    };
    let lifetime = Duration::try_from_secs_f64(row.lifetime).unwrap_or_default();
    cache.keep(&user, lifetime, generation);
    Ok(Some(user))
}

/// Ends one session; says how it had begun (`None` when it was already gone).
pub async fn delete(
    conn: &mut PgConnection,
    session_hash: &[u8],
) -> sqlx::Result<Option<SignInMethod>> {
    let method: Option<String> =
        sqlx::query_scalar("DELETE FROM sessions WHERE id_hash = $1 RETURNING method")
            .bind(session_hash)
            .fetch_optional(conn)
            .await?;
    Ok(method.as_deref().map(SignInMethod::from_key))
}

/// Ends every session of a user (on disable or a new password); returns how many.
pub async fn delete_for_user(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(conn)
        .await?
        .rows_affected())
}

/// Removes sessions that can no longer be used, and company sign-ins never finished (ten
/// minutes old); run now and then.
pub async fn purge_expired(pool: &PgPool, idle: Duration) -> sqlx::Result<u64> {
    crate::auth::company::purge_unfinished(pool).await?;
    Ok(sqlx::query(
        "DELETE FROM sessions
          WHERE absolute_expires_at <= now() OR last_seen_at <= now() - make_interval(secs => $1)",
    )
    .bind(idle.as_secs_f64())
    .execute(pool)
    .await?
    .rows_affected())
}
