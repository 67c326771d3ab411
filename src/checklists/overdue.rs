//! Overdue checklist items email their owner once a day until done, through the scheduler: one
//! job per item and day, so several instances send each once.

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::json;
use sqlx::PgConnection;

use crate::auth::roles::Role;
use crate::config::MailConfig;
use crate::notifications::jobs::{self, Job, JobHandler};
use crate::notifications::{emails, outbox, recipients};

pub const KIND: &str = "checklist_overdue";

/// The first reminder of an item due `due_on`: the next day, at the reminders' hour in the
/// agency's `zone`.
pub fn first_due(due_on: NaiveDate, zone: chrono_tz::Tz) -> DateTime<Utc> {
    crate::time::at_local(zone, due_on + Duration::days(1), crate::time::REMINDER_TIME)
}

/// Schedules the `n`th daily reminder of `item` at `at`; `series` tells a fresh series (after
/// an undo or a send-back) from the first.
pub async fn schedule(
    conn: &mut PgConnection,
    item: i64,
    series: &str,
    n: u32,
    at: DateTime<Utc>,
) -> sqlx::Result<()> {
    jobs::schedule(
        conn,
        &format!("checklist-overdue:{item}:{series}:{n}"),
        KIND,
        at,
        json!({ "item_id": item, "series": series, "n": n }),
    )
    .await
}

pub struct OverdueHandler {
    pub base_url: String,
    pub mail: MailConfig,
    pub zone: chrono_tz::Tz,
}

#[derive(sqlx::FromRow)]
struct Open {
    request_id: i64,
    client_name: String,
    title: String,
    owner_role: Role,
    assignee: Option<i64>,
    due_on: NaiveDate,
    open: bool,
}

impl OverdueHandler {
    async fn remind(&self, conn: &mut PgConnection, job: &Job) -> anyhow::Result<()> {
        let item = job.payload["item_id"].as_i64().unwrap_or(0);
        let series = job.payload["series"].as_str().unwrap_or("0").to_string();
        let n = job.payload["n"].as_u64().unwrap_or(1) as u32;
        let found: Option<Open> = sqlx::query_as(
            "SELECT i.change_request_id AS request_id, c.name AS client_name, i.title,
                    i.owner_role, i.assignee, i.due_on,
                    (i.done_at IS NULL AND i.cancelled_at IS NULL AND r.state = 'approved') AS open
               FROM checklist_items i
               JOIN change_requests r ON r.id = i.change_request_id
               JOIN clients c ON c.id = r.client_id
              WHERE i.id = $1",
        )
        .bind(item)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(found) = found.filter(|f| f.open) else {
            // Done, cancelled or gone: the daily reminders stop here.
            return Ok(());
        };
        if crate::time::day_in(self.zone, job.run_at) <= found.due_on {
            // Its date moved later since this notice was scheduled: not overdue yet. The
            // series waits for the day after the new due date.
            let at = first_due(found.due_on, self.zone);
            schedule(conn, item, &series, n + 1, at).await?;
            return Ok(());
        }
        let owner = found.owner_role;
        let to = match (owner, found.assignee) {
            (Role::SemSpecialist, Some(user)) => {
                recipients::user(conn, user).await?.into_iter().collect()
            }
            (role, _) => recipients::holders_of(conn, role).await?,
        };
        if !to.is_empty() {
            // The contractor works from its desk; everyone else from the request's page.
            let path = if owner == Role::Contractor {
                "/".to_string()
            } else {
                format!("/requests/{}", found.request_id)
            };
            let email = emails::notice(
                &self.base_url,
                emails::Notice {
                    kind: "checklist.overdue",
                    to,
                    subject: format!("{}: overdue offboarding item", found.client_name),
                    intro: "An offboarding item you own is past its due date. You will be reminded daily until it is done.",
                    facts: vec![
                        ("Client", found.client_name.clone()),
                        ("Item", found.title.clone()),
                        ("Was due", crate::time::day(found.due_on)),
                    ],
                    path,
                    link_label: "Open your offboarding items",
                    related: Some(("change_request", found.request_id.to_string())),
                },
            )?;
            outbox::enqueue(conn, &self.mail, &email).await?;
        }
        // The next day at the reminders' hour there, whatever a clock change did to the night.
        let next = crate::time::at_local(
            self.zone,
            crate::time::day_in(self.zone, job.run_at) + Duration::days(1),
            crate::time::REMINDER_TIME,
        );
        schedule(conn, item, &series, n + 1, next).await?;
        Ok(())
    }
}

impl JobHandler for OverdueHandler {
    fn run<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        job: &'a Job,
    ) -> Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>> {
        Box::pin(self.remind(conn, job))
    }
}
