//! Sign-in throttling: too many failures for one email, or from one address, within a window
//! pause sign-in for it. Keyed by what was typed, so the answer is the same whether or not the
//! account exists.

use sqlx::PgConnection;

/// Failures counted over this many minutes.
pub const WINDOW_MINUTES: i32 = 15;
/// Failures allowed per email within the window.
pub const PER_EMAIL: i64 = 5;
/// Failures allowed per client address within the window (several people may share one).
pub const PER_ADDRESS: i64 = 30;

/// True when sign-in is paused for this email or this address.
pub async fn is_throttled(conn: &mut PgConnection, email: &str, ip: &str) -> sqlx::Result<bool> {
    let (by_email, by_ip): (i64, i64) = sqlx::query_as(
        "SELECT
            (SELECT count(*) FROM sign_in_failures
              WHERE email = $1 AND at > now() - make_interval(mins => $3)),
            (SELECT count(*) FROM sign_in_failures
              WHERE ip = $2 AND at > now() - make_interval(mins => $3))",
    )
    .bind(normalise(email))
    .bind(ip)
    .bind(WINDOW_MINUTES)
    .fetch_one(conn)
    .await?;
    Ok(by_email >= PER_EMAIL || by_ip >= PER_ADDRESS)
}

/// Counts one failure.
pub async fn record_failure(conn: &mut PgConnection, email: &str, ip: &str) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO sign_in_failures (email, ip) VALUES ($1, $2)")
        .bind(normalise(email))
        .bind(ip)
        .execute(conn)
        .await?;
    Ok(())
}

/// A successful sign-in forgives that account's failures.
pub async fn clear(conn: &mut PgConnection, email: &str) -> sqlx::Result<()> {
    sqlx::query(
        "DELETE FROM sign_in_failures WHERE email = $1 OR at < now() - make_interval(mins => $2)",
    )
    .bind(normalise(email))
    .bind(WINDOW_MINUTES)
    .execute(conn)
    .await?;
    Ok(())
}

fn normalise(email: &str) -> String {
    email.trim().to_lowercase()
}
