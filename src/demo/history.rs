//! The demo's past year of requests (`history.sql`), added once: Reports then shows saves,
//! losses, lasting saves and waits on a fresh start instead of empty charts.

use sqlx::PgConnection;

/// The first past client's CRM id: present once the history is.
const MARKER: &str = "CRM-20001";

/// Adds the past year unless it is there; says whether it added it.
pub async fn seed(conn: &mut PgConnection) -> sqlx::Result<bool> {
    if super::has_client(&mut *conn, MARKER).await? {
        return Ok(false);
    }
    sqlx::raw_sql(include_str!("history.sql"))
        .execute(&mut *conn)
        .await?;
    Ok(true)
}
