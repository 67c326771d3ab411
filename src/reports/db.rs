//! The Reports page's statements: one per panel, each adding up the `request_figures` view
//! (migration 20) over the filter's requests.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::figures::{
    self, CohortRow, Lasting, Leader, MonthOutcomes, Period, ReasonLine, Slow, Tiles, Wait,
};
use crate::change_requests::rules::{Kind, State};

/// Which requests a report adds up: filed in `[from, to)`, and the optional cuts.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub kind: Option<Kind>,
    pub reason: Option<i64>,
    pub account_manager: Option<i64>,
    pub retention_user: Option<i64>,
    pub sem_specialist: Option<i64>,
}

/// The filter's cuts other than the period, over `request_figures f`, binding $3 to $7.
macro_rules! cuts {
    () => {
        "($3::text IS NULL OR f.filed_kind = $3)
    AND ($4::bigint IS NULL OR f.reason_id = $4)
    AND ($5::bigint IS NULL OR f.filed_by = $5)
    AND ($6::bigint IS NULL OR f.retention_user = $6)
    AND ($7::bigint IS NULL OR f.sem_specialist_id = $7)"
    };
}

/// The filter's WHERE clause over `request_figures f` for the panels that count requests filed
/// and their money (a reinstatement brings a client back: it is none of those), binding $1 to
/// $7 in `bind_filter`'s order.
const WHERE: &str = concat!(
    "NOT f.reinstatement AND f.created_at >= $1 AND f.created_at < $2 AND ",
    cuts!()
);

/// The same over every request, reinstatements too: they wait in the approval chain like any.
const EVERY: &str = concat!("f.created_at >= $1 AND f.created_at < $2 AND ", cuts!());

macro_rules! bind_filter {
    ($query:expr, $filter:expr) => {
        $query
            .bind($filter.from)
            .bind($filter.to)
            .bind($filter.kind)
            .bind($filter.reason)
            .bind($filter.account_manager)
            .bind($filter.retention_user)
            .bind($filter.sem_specialist)
    };
}

/// Every panel of one report: what the page shows and each CSV holds.
#[derive(Clone, Debug)]
pub struct Report {
    pub tiles: Tiles,
    /// Every month of the period, a month with nothing filed reading zero.
    pub months: Vec<MonthOutcomes>,
    pub by_reason: Vec<ReasonLine>,
    pub account_managers_board: Vec<Leader>,
    pub retention_board: Vec<Leader>,
    pub step_waits: Vec<Wait>,
    pub stage_waits: Vec<Wait>,
    pub slowest: Vec<Slow>,
    pub lasting: Vec<Lasting>,
    pub cohorts: Vec<CohortRow>,
    /// Pauses whose resume date has come, and how many of those clients are active again.
    pub pauses_due: i64,
    pub pauses_resumed: i64,
    /// The filter's requests open now (whatever the period), by state.
    pub open: Vec<(State, i64)>,
}

/// When a report is computed: now, today, and the agency's zone that days are cut in.
#[derive(Clone, Copy, Debug)]
pub struct At {
    pub now: DateTime<Utc>,
    pub today: chrono::NaiveDate,
    pub zone: chrono_tz::Tz,
}

/// How many of the slowest requests a report lists.
const SLOWEST: i64 = 10;

/// Runs each panel's statement (twelve) for `filter` over `period`.
pub async fn report(
    conn: &mut PgConnection,
    filter: &Filter,
    period: Period,
    at: At,
) -> sqlx::Result<Report> {
    let (pauses_due, pauses_resumed) = pauses_resumed(conn, filter, at.today, at.zone).await?;
    Ok(Report {
        tiles: tiles(conn, filter).await?,
        months: figures::every_month(period, months(conn, filter, at.zone).await?),
        by_reason: reasons(conn, filter).await?,
        account_managers_board: leaderboard(conn, filter, By::AccountManager).await?,
        retention_board: leaderboard(conn, filter, By::Retention).await?,
        step_waits: step_waits(conn, filter).await?,
        stage_waits: stage_waits(conn, filter, at.zone).await?,
        slowest: slowest(conn, filter, SLOWEST, at.now).await?,
        lasting: saves_lasting(conn, filter, at.now).await?,
        cohorts: figures::cohort_rows(&save_cohorts(conn, filter, at.zone, at.now).await?),
        pauses_due,
        pauses_resumed,
        open: open_by_state(conn, filter).await?,
    })
}

/// The latest audit record of a change: every change the desk makes writes one, so a report
/// computed when it was the latest still holds while it is. Sign-ins, sign-outs and refused
/// pages are recorded too but change nothing a report reads.
pub async fn latest_change(conn: &mut PgConnection) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT COALESCE(max(id), 0) FROM audit_events
          WHERE action NOT LIKE 'auth.%' AND action <> 'access.refused'",
    )
    .fetch_one(conn)
    .await
}

/// The headline figures.
pub async fn tiles(conn: &mut PgConnection, filter: &Filter) -> sqlx::Result<Tiles> {
    let query = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) AS filed,
                count(*) FILTER (WHERE f.escalated) AS escalated,
                count(*) FILTER (WHERE f.outcome IS NOT NULL) AS attempts_closed,
                count(*) FILTER (WHERE f.outcome = 'saved_no_change') AS saved_no_change,
                count(*) FILTER (WHERE f.outcome = 'saved_pause') AS saved_pause,
                count(*) FILTER (WHERE f.outcome = 'saved_budget_change') AS saved_budget_change,
                count(*) FILTER (WHERE f.decided) AS decided,
                COALESCE(sum(f.at_risk_cents) FILTER (WHERE f.decided), 0)::bigint AS at_risk_cents,
                COALESCE(sum(f.lost_cents) FILTER (WHERE f.decided), 0)::bigint AS lost_cents
           FROM request_figures f
          WHERE {WHERE}"
    )));
    bind_filter!(query, filter).fetch_one(conn).await
}

/// Each month's outcomes, by the month the request was filed in the agency's zone.
pub async fn months(
    conn: &mut PgConnection,
    filter: &Filter,
    zone: chrono_tz::Tz,
) -> sqlx::Result<Vec<MonthOutcomes>> {
    let query = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT date_trunc('month', f.created_at AT TIME ZONE $8)::date AS month,
                count(*) AS filed,
                count(*) FILTER (WHERE f.outcome = 'saved_no_change') AS saved_no_change,
                count(*) FILTER (WHERE f.outcome = 'saved_pause') AS saved_pause,
                count(*) FILTER (WHERE f.outcome = 'saved_budget_change') AS saved_budget_change,
                count(*) FILTER (WHERE f.outcome = 'not_saved') AS not_saved,
                count(*) FILTER (WHERE NOT f.escalated) AS not_escalated,
                count(*) FILTER (WHERE f.escalated AND f.outcome IS NULL AND NOT f.decided)
                    AS waiting,
                count(*) FILTER (WHERE f.escalated AND f.outcome IS NULL AND f.decided)
                    AS withdrawn_early,
                COALESCE(sum(f.at_risk_cents) FILTER (WHERE f.decided), 0)::bigint AS at_risk_cents,
                COALESCE(sum(f.lost_cents) FILTER (WHERE f.decided), 0)::bigint AS lost_cents
           FROM request_figures f
          WHERE {WHERE}
          GROUP BY 1
          ORDER BY 1"
    )));
    bind_filter!(query, filter)
        .bind(zone.name())
        .fetch_all(conn)
        .await
}

/// Requests and budget at risk by reason, with each reason's saves.
pub async fn reasons(conn: &mut PgConnection, filter: &Filter) -> sqlx::Result<Vec<ReasonLine>> {
    let query = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT c.id AS reason_id, c.label, c.controllable, x.filed, x.at_risk_cents,
                x.attempts_closed, x.saves
           FROM (SELECT f.reason_id,
                        count(*) AS filed,
                        COALESCE(sum(f.at_risk_cents) FILTER (WHERE f.decided), 0)::bigint
                            AS at_risk_cents,
                        count(*) FILTER (WHERE f.outcome IS NOT NULL) AS attempts_closed,
                        count(*) FILTER (WHERE f.outcome LIKE 'saved%') AS saves
                   FROM request_figures f
                  WHERE {WHERE}
                  GROUP BY f.reason_id) x
           JOIN change_reasons c ON c.id = x.reason_id
          ORDER BY x.filed DESC, c.position, c.id"
    )));
    bind_filter!(query, filter).fetch_all(conn).await
}

/// How many of the filter's requests are open in each state now, whatever the period ($1 and
/// $2 are bound but not used).
pub async fn open_by_state(
    conn: &mut PgConnection,
    filter: &Filter,
) -> sqlx::Result<Vec<(State, i64)>> {
    let query = sqlx::query_as(concat!(
        "SELECT f.state, count(*) FROM request_figures f
          WHERE f.state IN ('draft', 'with_retention', 'in_approval', 'changes_requested', 'approved')
            AND ($1::timestamptz IS NULL OR true) AND ($2::timestamptz IS NULL OR true) AND ",
        cuts!(),
        " GROUP BY f.state"
    ));
    bind_filter!(query, filter).fetch_all(conn).await
}

/// Whose figures a leaderboard lines up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum By {
    /// The account manager who filed the request.
    AccountManager,
    /// The Retention user who recorded the call.
    Retention,
}

/// Each person's requests: filed, calls recorded, saves and budget saved.
pub async fn leaderboard(
    conn: &mut PgConnection,
    filter: &Filter,
    by: By,
) -> sqlx::Result<Vec<Leader>> {
    let person = match by {
        By::AccountManager => "f.filed_by",
        By::Retention => "f.retention_user",
    };
    let query = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT u.id AS person_id, u.display_name AS name, x.filed, x.attempts_closed, x.saves,
                x.saved_cents
           FROM (SELECT {person} AS person,
                        count(*) AS filed,
                        count(*) FILTER (WHERE f.outcome IS NOT NULL) AS attempts_closed,
                        count(*) FILTER (WHERE f.outcome LIKE 'saved%') AS saves,
                        COALESCE(sum(f.saved_cents) FILTER (WHERE f.decided), 0)::bigint
                            AS saved_cents
                   FROM request_figures f
                  WHERE {WHERE} AND {person} IS NOT NULL
                  GROUP BY 1) x
           JOIN users u ON u.id = x.person
          ORDER BY x.saves DESC, x.filed DESC, lower(u.display_name), u.id"
    )));
    bind_filter!(query, filter).fetch_all(conn).await
}

/// How long each approval step waited for its decision, by step and approver (who decided it, a
/// substitute or a Finance member included; who it waits on while it waits): over the steps
/// decided, the median and the 90th percentile in hours; the steps still waiting now; and how
/// many of either waited past the nudge interval (the approver was nudged: the nudge goes out
/// once the interval has passed undecided). A step of a round that ended early (sent back or
/// withdrawn before its turn was over) is in neither.
pub async fn step_waits(conn: &mut PgConnection, filter: &Filter) -> sqlx::Result<Vec<Wait>> {
    // A step waiting on a role reads as the request page says it ("Any of Finance"): the
    // roles' labels, written into the statement (a fixed text, so its plan is kept).
    let roles = crate::auth::roles::Role::ALL
        .iter()
        .map(|r| format!("('{}', '{}')", r.key(), r.label().replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(", ");
    let query = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT a.name || ': ' || COALESCE(u.display_name, 'Any of ' || rl.label, 'nobody named')
                    AS what,
                count(*) FILTER (WHERE a.decided_at IS NOT NULL) AS n,
                count(*) FILTER (WHERE a.state = 'pending') AS waiting,
                percentile_cont(0.5) WITHIN GROUP (ORDER BY w.hours) AS median_hours,
                percentile_cont(0.9) WITHIN GROUP (ORDER BY w.hours) AS p90_hours,
                count(*) FILTER (WHERE a.nudged_at IS NOT NULL) AS late
           FROM request_approvals a
           JOIN request_figures f ON f.id = a.change_request_id
           LEFT JOIN users u ON u.id = COALESCE(a.decided_by, a.approver_user_id)
           LEFT JOIN (VALUES {roles}) rl (key, label) ON rl.key = a.approver_role
          CROSS JOIN LATERAL (
                SELECT extract(epoch FROM a.decided_at - a.reached_at) / 3600.0 AS hours) w
          WHERE a.reached_at IS NOT NULL AND (a.decided_at IS NOT NULL OR a.state = 'pending')
            AND {EVERY}
          GROUP BY a.position, a.name, what
          ORDER BY a.position, what"
    )));
    bind_filter!(query, filter).fetch_all(conn).await
}

/// How long each stage of the process took: the median and the 90th percentile in hours, and
/// how many of a stage's cases were late (for the checklist, items done after their due day).
/// A day's stage starts at its midnight in the agency's `zone`.
pub async fn stage_waits(
    conn: &mut PgConnection,
    filter: &Filter,
    zone: chrono_tz::Tz,
) -> sqlx::Result<Vec<Wait>> {
    let query = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "WITH f AS (SELECT f.* FROM request_figures f WHERE {EVERY}),
              stages AS (
                SELECT 1 AS at, 'Filed → Retention call recorded' AS what,
                       extract(epoch FROM f.call_recorded_at - f.created_at) / 3600.0 AS hours,
                       NULL::boolean AS late
                  FROM f WHERE f.call_recorded_at IS NOT NULL
                UNION ALL
                SELECT 2, 'Filed → approved', extract(epoch FROM f.approved_at - f.created_at) / 3600.0,
                       NULL
                  FROM f WHERE f.approved_at IS NOT NULL
                UNION ALL
                SELECT 3, 'Approved → change task done',
                       extract(epoch FROM t.done_at - f.approved_at) / 3600.0, NULL
                  FROM f JOIN change_tasks t ON t.change_request_id = f.id
                 WHERE t.done_at IS NOT NULL AND f.approved_at IS NOT NULL
                UNION ALL
                SELECT 4, 'Effective date → ads paused',
                       extract(epoch FROM t.done_at - (f.effective_date::timestamp AT TIME ZONE $8)) / 3600.0,
                       (t.done_at AT TIME ZONE $8)::date > t.due_on
                  FROM f JOIN sem_tasks t ON t.change_request_id = f.id
                 WHERE t.done_at IS NOT NULL
                UNION ALL
                SELECT 5, 'Checklist item due → done',
                       extract(epoch FROM i.done_at - (i.due_on::timestamp AT TIME ZONE $8)) / 3600.0,
                       (i.done_at AT TIME ZONE $8)::date > i.due_on
                  FROM f JOIN checklist_items i ON i.change_request_id = f.id
                 WHERE i.done_at IS NOT NULL)
         SELECT what, count(*) AS n, NULL::bigint AS waiting,
                percentile_cont(0.5) WITHIN GROUP (ORDER BY hours) AS median_hours,
                percentile_cont(0.9) WITHIN GROUP (ORDER BY hours) AS p90_hours,
                CASE WHEN bool_or(late IS NOT NULL) THEN count(*) FILTER (WHERE late) END AS late
           FROM stages GROUP BY at, what ORDER BY at"
    )));
    bind_filter!(query, filter)
        .bind(zone.name())
        .fetch_all(conn)
        .await
}

/// The requests that took longest from filing to approval, with their client: the approved
/// ones, and the ones on their way (with Retention, in approval, sent back) counted up to `now`.
pub async fn slowest(
    conn: &mut PgConnection,
    filter: &Filter,
    limit: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<Slow>> {
    let query = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT f.id AS request_id, c.name AS client_name,
                (extract(epoch FROM COALESCE(f.approved_at, $9) - f.created_at) / 3600.0)::float8
                    AS hours,
                CASE WHEN f.approved_at IS NULL THEN f.state END AS waiting_in
           FROM request_figures f
           JOIN clients c ON c.id = f.client_id
          WHERE (f.approved_at IS NOT NULL
                 OR f.state IN ('with_retention', 'in_approval', 'changes_requested'))
            AND {EVERY}
          ORDER BY COALESCE(f.approved_at, $9) - f.created_at DESC, f.id
          LIMIT $8"
    )));
    bind_filter!(query, filter)
        .bind(limit)
        .bind(now)
        .fetch_all(conn)
        .await
}

/// The saves of the filter's requests, each with when the client left afterwards (a later
/// cancellation filed, or a cancelled status in its history), if it did.
const SAVES: &str = "saves AS (
    SELECT f.id, f.client_id, f.call_recorded_at AS saved_at,
           (SELECT min(x.at) FROM (
                SELECT r2.created_at AS at FROM change_requests r2
                 WHERE r2.client_id = f.client_id AND r2.created_at > f.call_recorded_at
                   AND COALESCE(r2.original_kind, r2.kind) = 'cancellation' AND r2.reverses_id IS NULL
                   AND r2.id <> f.id
                UNION ALL
                SELECT h.at FROM client_status_history h
                 WHERE h.client_id = f.client_id AND h.at > f.call_recorded_at
                   AND h.status IN ('cancelled_dms', 'left_platform')) x) AS left_at
      FROM request_figures f
     WHERE f.outcome LIKE 'saved%'";

/// Of the saves made at least `days` ago (30, 90, 180) before `now`, how many clients are still
/// with the agency that long after: no cancellation filed and no cancelled status since.
pub async fn saves_lasting(
    conn: &mut PgConnection,
    filter: &Filter,
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<Lasting>> {
    let query = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "WITH {SAVES} AND {WHERE})
         SELECT d.days::bigint AS days,
                count(s.id) AS saves,
                count(s.id) FILTER (WHERE s.left_at IS NULL
                                    OR s.left_at > s.saved_at + make_interval(days => d.days))
                    AS still_active
           FROM unnest(ARRAY[30, 90, 180]) AS d(days)
           LEFT JOIN saves s ON s.saved_at + make_interval(days => d.days) <= $8
          GROUP BY d.days
          ORDER BY d.days"
    )));
    bind_filter!(query, filter).bind(now).fetch_all(conn).await
}

/// The saves by the month they were made, and for each month since (1 to 6, as far as time
/// has gone), how many clients were still with the agency.
pub async fn save_cohorts(
    conn: &mut PgConnection,
    filter: &Filter,
    zone: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<figures::CohortCell>> {
    let query = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "WITH {SAVES} AND {WHERE})
         SELECT date_trunc('month', s.saved_at AT TIME ZONE $8)::date AS month,
                k.months::bigint AS months_since,
                count(*) AS saves,
                count(*) FILTER (WHERE s.left_at IS NULL
                                    OR s.left_at > s.saved_at + make_interval(months => k.months))
                    AS still_active
           FROM saves s
          CROSS JOIN generate_series(1, 6) AS k(months)
          WHERE s.saved_at + make_interval(months => k.months) <= $9
          GROUP BY 1, 2
          ORDER BY 1, 2"
    )));
    bind_filter!(query, filter)
        .bind(zone.name())
        .bind(now)
        .fetch_all(conn)
        .await
}

/// Of the pauses whose resume date has come by `today` (and not undone by a reinstatement), how
/// many clients are active again (an active status recorded since the resume date, in the
/// agency's `zone`, or active now).
pub async fn pauses_resumed(
    conn: &mut PgConnection,
    filter: &Filter,
    today: chrono::NaiveDate,
    zone: chrono_tz::Tz,
) -> sqlx::Result<(i64, i64)> {
    let query = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) AS due,
                count(*) FILTER (WHERE c.status = 'active' OR EXISTS (
                    SELECT 1 FROM client_status_history h
                     WHERE h.client_id = f.client_id AND h.status = 'active'
                       AND (h.at AT TIME ZONE $9)::date >= f.resume_date)) AS resumed
           FROM request_figures f
           JOIN clients c ON c.id = f.client_id
          WHERE f.final_kind = 'pause' AND f.state IN ('approved', 'completed')
            AND f.resume_date <= $8 AND f.reinstated_at IS NULL AND {WHERE}"
    )));
    bind_filter!(query, filter)
        .bind(today)
        .bind(zone.name())
        .fetch_one(conn)
        .await
}
