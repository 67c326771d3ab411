//! The demo's present (`present.sql`), added once: requests standing at every point of the
//! process, dated back from today in the agency's zone, so each desk, the planner and the
//! offboarding sheet show what a Monday morning brings instead of "nothing waits on you".

use sqlx::PgConnection;

use crate::audit::{self, Actor};

/// The first present client's CRM id: there once the present is.
const MARKER: &str = "CRM-30101";

/// Adds the present unless it is there; says whether it added it. `zone` is the agency's, and
/// `base_url` the address its emails link to.
pub async fn seed(
    conn: &mut PgConnection,
    zone: chrono_tz::Tz,
    base_url: &str,
) -> sqlx::Result<bool> {
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
    dress_the_mail(&mut *conn, base_url).await?;
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

/// The script writes each email's subject and first sentence; here each gets the body the
/// workflow's notices have (the client, the request, its effective date, a link to it), from
/// the same template.
async fn dress_the_mail(conn: &mut PgConnection, base_url: &str) -> sqlx::Result<()> {
    type Row = (
        i64,
        String,
        String,
        i64,
        String,
        String,
        chrono::NaiveDate,
        Option<i64>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT o.id, o.subject, o.body_text, r.id, c.name, r.kind, r.effective_date, r.reverses_id
           FROM outbox_messages o
           JOIN change_requests r ON r.id = o.related_id::bigint
           JOIN clients c ON c.id = r.client_id
          WHERE o.message_id LIKE '<demo-%' AND o.related_type = 'change_request'
            AND c.crm_account_id LIKE 'CRM-301%'",
    )
    .fetch_all(&mut *conn)
    .await?;
    for (id, subject, intro, request, client, kind, effective, reverses) in rows {
        let kind = crate::change_requests::rules::Kind::from_key(&kind)
            .map_or(kind.clone(), |k| k.label_of(reverses).to_string());
        let notice = crate::notifications::emails::Notice {
            kind: "demo",
            to: Vec::new(),
            subject,
            intro: &intro,
            facts: vec![
                ("Client", client),
                ("Request", kind),
                ("Effective", crate::time::day(effective)),
            ],
            path: format!("/requests/{request}"),
            link_label: "Open the change request",
            related: None,
        };
        let email = crate::notifications::emails::notice(base_url, notice)
            .map_err(|e| sqlx::Error::Protocol(format!("a demo email did not render: {e}")))?;
        sqlx::query("UPDATE outbox_messages SET body_text = $2, body_html = $3 WHERE id = $1")
            .bind(id)
            .bind(&email.text)
            .bind(&email.html)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
