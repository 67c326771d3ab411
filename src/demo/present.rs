//! The demo's present (`present.sql`), added once: requests standing at every point of the
//! process, dated back from today in the agency's zone, so each desk, the planner and the
//! offboarding sheet show what a Monday morning brings instead of "nothing waits on you".

use sqlx::PgConnection;

/// The first present client's CRM id: there once the present is.
const MARKER: &str = "CRM-30101";

/// Adds the present unless it is there; says whether it added it. `zone` is the agency's.
pub async fn seed(conn: &mut PgConnection, zone: chrono_tz::Tz) -> sqlx::Result<bool> {
    if super::has_client(&mut *conn, MARKER).await? {
        return Ok(false);
    }
    // For this transaction only: the script reads "today" and local times in this zone.
    sqlx::query("SELECT set_config('demo.zone', $1, true)")
        .bind(zone.name())
        .execute(&mut *conn)
        .await?;
    sqlx::raw_sql(include_str!("present.sql"))
        .execute(&mut *conn)
        .await?;
    Ok(true)
}
