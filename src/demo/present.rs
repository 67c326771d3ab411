//! The demo's present (`present.sql`), added once: requests standing at every point of the
//! process, dated back from today in the agency's zone, so each desk, the planner and the
//! offboarding sheet show what a Monday morning brings instead of "nothing waits on you".

use sqlx::PgConnection;

use crate::audit::{self, Actor};

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
    // The present is dated from this moment: `dated_before` reads it.
    let record = serde_json::json!({ "zone": zone.name() });
    audit::record(conn, &Actor::system(), SEEDED, "demo", None, record).await?;
    Ok(true)
}

/// The audit action recording when the present was dated.
const SEEDED: &str = "demo.present_seeded";

/// Whether the present was dated on a day before `day` (in the agency's zone): on a later day
/// its effective dates, nudges and "today"s are stale. A present from before its dating was
/// recorded counts as stale; no present at all does not.
pub async fn dated_before(
    conn: &mut PgConnection,
    zone: chrono_tz::Tz,
    day: chrono::NaiveDate,
) -> sqlx::Result<bool> {
    if !super::has_client(&mut *conn, MARKER).await? {
        return Ok(false);
    }
    let dated: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT max(at) FROM audit_events WHERE action = $1")
            .bind(SEEDED)
            .fetch_one(&mut *conn)
            .await?;
    Ok(dated.is_none_or(|at| at.with_timezone(&zone).date_naive() < day))
}
