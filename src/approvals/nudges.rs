//! Nudges: a step still waiting after the configured number of business days emails its
//! approver, and again after each further interval, through the scheduler (so each nudge is
//! sent once, whatever the number of app instances).

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;
use serde_json::json;
use sqlx::PgConnection;

use super::db;
use crate::notifications::jobs::{self, Job, JobHandler};

/// The kind of the scheduled nudge jobs.
pub const KIND: &str = "approval_nudge";

/// `date` moved forward by `n` business days (Monday to Friday).
pub fn add_business_days(date: NaiveDate, n: u32) -> NaiveDate {
    let mut day = date;
    let mut left = n;
    while left > 0 {
        day = day.succ_opt().expect("a later date");
        if day.weekday().number_from_monday() <= 5 {
            left -= 1;
        }
    }
    day
}

/// When the `n`th nudge after `from` is due: `days` business days later in the agency's
/// `zone`, at the same time of day there.
pub fn due_after(from: DateTime<Utc>, days: u32, zone: Tz) -> DateTime<Utc> {
    let local = from.with_timezone(&zone);
    let date = add_business_days(local.date_naive(), days);
    crate::time::at_local(zone, date, local.time())
}

/// Schedules the next nudge of a step that just became someone's turn (or was nudged).
pub async fn schedule(
    conn: &mut PgConnection,
    step_id: i64,
    from: DateTime<Utc>,
    days: u32,
    n: u32,
    zone: Tz,
) -> sqlx::Result<()> {
    jobs::schedule(
        conn,
        &format!("approval-nudge:{step_id}:{n}"),
        KIND,
        due_after(from, days, zone),
        json!({ "step_id": step_id, "n": n }),
    )
    .await
}

/// Sends a due nudge if the step is still waiting, and schedules the next.
pub struct NudgeHandler {
    pub config: std::sync::Arc<crate::config::Config>,
    pub days: u32,
    pub zone: Tz,
}

impl NudgeHandler {
    async fn nudge(&self, conn: &mut PgConnection, job: &Job) -> anyhow::Result<()> {
        let step_id = job.payload["step_id"].as_i64().unwrap_or(0);
        let n = job.payload["n"].as_u64().unwrap_or(1) as u32;
        let Some(step) = db::step(conn, step_id).await? else {
            return Ok(());
        };
        if !step.is_current() {
            // Decided, sent back or withdrawn since: nothing to remind anyone of.
            return Ok(());
        }
        let r = crate::change_requests::db::find(conn, step.change_request_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("request {} is gone", step.change_request_id))?;
        let day = crate::time::day_in(self.zone, job.run_at);
        let reached = crate::time::day_in(self.zone, step.reached_at.unwrap_or(job.run_at));
        let waited = super::rules::business_days_between(reached, day);
        super::notify::nudge(conn, &self.config, day, &r, &step, waited).await?;
        sqlx::query("UPDATE request_approvals SET nudged_at = $2 WHERE id = $1")
            .bind(step_id)
            .bind(job.run_at)
            .execute(&mut *conn)
            .await?;
        schedule(conn, step_id, job.run_at, self.days, n + 1, self.zone).await?;
        Ok(())
    }
}

impl JobHandler for NudgeHandler {
    fn run<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        job: &'a Job,
    ) -> Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>> {
        Box::pin(self.nudge(conn, job))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn business_days_are_counted_over_weekends() {
        // 2026-11-25 is a Wednesday.
        assert_eq!(add_business_days(d("2026-11-25"), 0), d("2026-11-25"));
        assert_eq!(add_business_days(d("2026-11-25"), 2), d("2026-11-27"));
        assert_eq!(add_business_days(d("2026-11-25"), 3), d("2026-11-30"));
        // From a Saturday, the first business day is Monday.
        assert_eq!(add_business_days(d("2026-11-28"), 1), d("2026-11-30"));
        assert_eq!(add_business_days(d("2026-11-27"), 5), d("2026-12-04"));
    }

    #[test]
    fn a_nudge_keeps_the_time_of_day() {
        let from = DateTime::parse_from_rfc3339("2026-11-27T15:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            due_after(from, 1, Tz::UTC).to_rfc3339(),
            "2026-11-30T15:30:00+00:00"
        );
    }

    #[test]
    fn business_days_are_the_agencys() {
        // Friday 2026-11-27 at 9 p.m. in Chicago is already Saturday in UTC: one business day
        // later is Monday at 9 p.m. there.
        let chicago: Tz = "America/Chicago".parse().unwrap();
        let from = DateTime::parse_from_rfc3339("2026-11-28T03:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            due_after(from, 1, chicago).to_rfc3339(),
            "2026-12-01T03:00:00+00:00"
        );
        assert_eq!(
            due_after(from, 1, Tz::UTC).to_rfc3339(),
            "2026-11-30T03:00:00+00:00",
            "read in UTC it was Saturday, and Monday comes a day early"
        );
    }
}
