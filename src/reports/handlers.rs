//! The Reports page and its CSV downloads.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, Postgres};

use std::sync::Arc;

use super::db::{self, At, Filter, Report};
use super::figures::{
    self, CohortRow, Lasting, Leader, MonthOutcomes, Period, ReasonLine, Slow, Tiles, Wait,
};
use super::views::{
    BOARD_COUNTS, Problem, ReportQuery, ReportsPage, lost_chart, note, outcomes_chart, presets,
    save_rate_chart, tile_sparklines,
};
use crate::auth::roles::Role;
use crate::change_requests::rules::Kind;
use crate::users::db::PersonOption;
use crate::web::ctx::Ctx;
use crate::web::error::{AppError, AppResult};
use crate::web::pages::Chrome;
use crate::web::{AppState, download};

/// Roles that see the whole department's figures; an account manager without one of them sees
/// only the requests they filed.
const WHOLE_DEPARTMENT: &[Role] = &[
    Role::DmLeadership,
    Role::Retention,
    Role::OpsLead,
    Role::Admin,
];

/// What a report covers, from the query: the period and the filter, and what was wrong.
struct Asked {
    period: Period,
    /// The typed period could not be used: this month and the eleven before are shown instead.
    fallback: bool,
    filter: Filter,
    own_only: bool,
    /// What could not be used, each about its field; the rest of the filter is applied.
    problems: Vec<Problem>,
    /// No period was typed: the default is shown, and links leave the period out.
    default_period: bool,
}

impl Asked {
    /// The filter as applied, as a query (for the CSV links): what could not be used is left
    /// out, as is an account manager's own filter.
    fn applied(&self) -> ReportQuery {
        let key = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        let day = |d: chrono::NaiveDate| {
            if self.default_period {
                String::new()
            } else {
                d.to_string()
            }
        };
        let f = &self.filter;
        ReportQuery {
            from: day(self.period.from),
            to: day(self.period.to),
            kind: f.kind.map(|k| k.key().to_string()).unwrap_or_default(),
            reason: key(f.reason),
            account_manager: if self.own_only {
                String::new()
            } else {
                key(f.account_manager)
            },
            retention_user: key(f.retention_user),
            sem_specialist: key(f.sem_specialist),
            table: String::new(),
        }
    }
}

/// What the filter's lists offer; an id they do not hold (typed into the address) is refused
/// like a typing slip rather than applied as a filter nothing matches.
struct Choices {
    reasons: Vec<crate::change_requests::db::ReasonOption>,
    account_managers: Vec<PersonOption>,
    retention_users: Vec<PersonOption>,
    sem_specialists: Vec<PersonOption>,
}

async fn choices(c: &mut PgConnection, asked: &Asked) -> sqlx::Result<Choices> {
    let people = crate::users::db::people_with_role;
    Ok(Choices {
        reasons: crate::change_requests::db::reasons(c, asked.filter.reason).await?,
        account_managers: people(c, Role::AccountManager.key()).await?,
        retention_users: people(c, Role::Retention.key()).await?,
        sem_specialists: people(c, Role::SemSpecialist.key()).await?,
    })
}

/// Leaves out of the filter each id its list does not offer, saying so beside its field.
fn refuse_unknown(asked: &mut Asked, choices: &Choices) {
    let person = |list: &[PersonOption], id: i64| list.iter().any(|p| p.id == id);
    let f = &mut asked.filter;
    let refused = [
        (
            "reason",
            "reason",
            refuse(&mut f.reason, |id| {
                choices.reasons.iter().any(|r| r.id == id)
            }),
        ),
        (
            "account_manager",
            "account manager",
            // An account manager's own filter is their id, whatever the list says.
            !asked.own_only
                && refuse(&mut f.account_manager, |id| {
                    person(&choices.account_managers, id)
                }),
        ),
        (
            "retention_user",
            "Retention user",
            refuse(&mut f.retention_user, |id| {
                person(&choices.retention_users, id)
            }),
        ),
        (
            "sem_specialist",
            "SEM specialist",
            refuse(&mut f.sem_specialist, |id| {
                person(&choices.sem_specialists, id)
            }),
        ),
    ];
    for (name, what, _) in refused.iter().filter(|r| r.2) {
        note(
            &mut asked.problems,
            name,
            format!("Choose the {what} from the list."),
        );
    }
}

/// Clears `chosen` when `offered` says no to it; whether it did.
fn refuse(chosen: &mut Option<i64>, offered: impl Fn(i64) -> bool) -> bool {
    let unknown = chosen.is_some_and(|id| !offered(id));
    if unknown {
        *chosen = None;
    }
    unknown
}

/// The report asked for by `q` (whose date fields are rewritten to the period applied, so the
/// form shows it), with the `problems` found in the address already.
fn asked(state: &AppState, ctx: &Ctx, q: &mut ReportQuery, mut problems: Vec<Problem>) -> Asked {
    let today = state.clock.today();
    let default_period = q.from.trim().is_empty() && q.to.trim().is_empty();
    let (period, fallback) = match Period::parse(&q.from, &q.to, today) {
        Ok(period) => {
            // The form shows the days applied: "2026-1-5" as 2026-01-05, a last day after
            // today as today, the default period's two days.
            q.from = period.from.to_string();
            q.to = period.to.to_string();
            (period, false)
        }
        Err(slips) => {
            for (field, problem) in slips {
                note(&mut problems, field, problem);
            }
            (Period::last_twelve_months(today), true)
        }
    };
    let own_only = !ctx.user.roles.any_of(WHOLE_DEPARTMENT);
    let kind = match q.kind.trim() {
        "" => None,
        key => Kind::from_key(key).or_else(|| {
            note(
                &mut problems,
                "kind",
                "Choose the kind from the list.".into(),
            );
            None
        }),
    };
    let mut id = |raw: &str, what: &str, name: &'static str| match raw.trim() {
        "" => None,
        raw => raw.parse::<i64>().ok().or_else(|| {
            note(
                &mut problems,
                name,
                format!("Choose the {what} from the list."),
            );
            None
        }),
    };
    let reason = id(&q.reason, "reason", "reason");
    let account_manager = if own_only {
        Some(ctx.user.id)
    } else {
        id(&q.account_manager, "account manager", "account_manager")
    };
    let retention_user = id(&q.retention_user, "Retention user", "retention_user");
    let sem_specialist = id(&q.sem_specialist, "SEM specialist", "sem_specialist");
    let zone = state.clock.zone();
    let midnight =
        |day: chrono::NaiveDate| Some(crate::time::at_local(zone, day, chrono::NaiveTime::MIN));
    let filter = Filter {
        from: midnight(period.from),
        to: midnight(period.to.succ_opt().unwrap_or(period.to)),
        kind,
        reason,
        account_manager,
        retention_user,
        sem_specialist,
    };
    Asked {
        period,
        fallback,
        filter,
        own_only,
        problems,
        default_period,
    }
}

/// The report `asked` for, computed once while the desk's record is unchanged (see
/// `web::memo`): the key holds the filter (an account manager's own id among it), the minute
/// (saves are followed up to now) and the latest audit record of a change. A write that leaves
/// no audit record (a test's, or a migration's) shows once the minute has turned, as does a
/// change whose audit record took its id before a later one's but committed after it. When
/// only the minute has turned (not the day), the last minute's report is shown while the new
/// one is computed in the background (a second or more on a large department, which everyone
/// asking would otherwise wait for); after a change, the one asking waits for the report that
/// shows it.
async fn report_for(
    state: &AppState,
    mut conn: PoolConnection<Postgres>,
    asked: &Asked,
) -> AppResult<Arc<Report>> {
    let at = At {
        now: state.clock.now(),
        today: state.clock.today(),
        zone: state.clock.zone(),
    };
    let latest = db::latest_change(&mut conn).await?;
    // The connection goes back before waiting: holding one each while waiting for the one
    // computation would empty the pool for every other page.
    drop(conn);
    // A new day waits for its report (its figures count days).
    let family = format!(
        "reports {:?} {:?} {latest} {}",
        asked.filter, asked.period, at.today
    );
    let key = format!("{family} {}", at.now.format("%Y-%m-%dT%H:%M"));
    let (pool, filter, period) = (state.db.clone(), asked.filter.clone(), asked.period);
    let report = state
        .memo
        .get_or_refresh(family, key, move || async move {
            let mut conn = pool.acquire().await?;
            db::report(&mut conn, &filter, period, at).await
        })
        .await?;
    Ok(report)
}

#[tracing::instrument(level = "debug", skip_all)]
pub(super) async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(pairs): Query<Vec<(String, String)>>,
) -> AppResult<Response> {
    let (mut query, problems) = ReportQuery::from_pairs(pairs);
    let mut asked = asked(&state, &ctx, &mut query, problems);
    let mut conn = state.db.acquire().await?;
    let c = &mut *conn;
    let choices = choices(c, &asked).await?;
    refuse_unknown(&mut asked, &choices);
    // The page draws no field for the CSV's table, nor an account manager's own: what was
    // wrong with them changes nothing shown.
    let own_only = asked.own_only;
    asked
        .problems
        .retain(|(field, _)| *field != "table" && !(own_only && *field == "account_manager"));
    let report = report_for(&state, conn, &asked).await?;
    let months = &report.months;
    let applied = asked.applied();
    let page = ReportsPage {
        outcomes_chart: outcomes_chart(months),
        save_rate_chart: save_rate_chart(months),
        lost_chart: lost_chart(months),
        sparklines: tile_sparklines(months, asked.period),
        chrome: Chrome::new(&state, &ctx, "/reports"),
        // The presets keep the filter as applied: a value refused is not carried on.
        presets: presets(&applied, state.clock.today(), asked.period),
        problems: std::mem::take(&mut asked.problems),
        fallback: asked.fallback,
        applied,
        period: asked.period,
        own_only: asked.own_only,
        kinds: Kind::ALL,
        reasons: choices.reasons,
        account_managers: choices.account_managers,
        retention_users: choices.retention_users,
        sem_specialists: choices.sem_specialists,
        nudge_days: state.config.approval_nudge_days,
        report,
        query,
    };
    let status = if !page.problems.is_empty() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, page).into_response())
}

/// One of the page's tables as CSV (`table` names it), with the page's filter; a filter that
/// cannot be used is refused (the page says why, beside its field).
pub(super) async fn csv(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(pairs): Query<Vec<(String, String)>>,
) -> AppResult<Response> {
    let (mut query, problems) = ReportQuery::from_pairs(pairs);
    let mut asked = asked(&state, &ctx, &mut query, problems);
    let mut conn = state.db.acquire().await?;
    let choices = choices(&mut conn, &asked).await?;
    refuse_unknown(&mut asked, &choices);
    if let Some((_, problem)) = asked.problems.first() {
        return Err(AppError::BadRequest(problem.clone()));
    }
    let r = report_for(&state, conn, &asked).await?;
    let rows = match query.table.as_str() {
        "tiles" => tile_rows(&r.tiles),
        "months" => month_rows(&r.months),
        "budget" => budget_rows(&r.months),
        "pauses" => vec![
            vec![
                "Pauses that reached their resume date".to_string(),
                "Resumed".to_string(),
                "Share".to_string(),
            ],
            vec![
                r.pauses_due.to_string(),
                r.pauses_resumed.to_string(),
                share(figures::rate(r.pauses_resumed, r.pauses_due)),
            ],
        ],
        "reasons" => reason_rows(&r.by_reason),
        "account_managers" => leader_rows(&r.account_managers_board, BOARD_COUNTS[0]),
        "retention" => leader_rows(&r.retention_board, BOARD_COUNTS[1]),
        "steps" => wait_rows(&r.step_waits, true),
        "stages" => wait_rows(&r.stage_waits, false),
        "lasting" => lasting_rows(&r.lasting),
        "cohorts" => cohort_table(&r.cohorts),
        "slowest" => slow_rows(&r.slowest),
        "open" => {
            let mut rows = vec![vec!["State".to_string(), "Requests".to_string()]];
            rows.extend(
                r.open
                    .iter()
                    .map(|(s, n)| vec![s.label().to_string(), n.to_string()]),
            );
            rows
        }
        _ => {
            return Err(AppError::BadRequest(
                "Choose one of the report's tables.".into(),
            ));
        }
    };
    let name = format!(
        "report-{}-{}-to-{}.csv",
        query.table, asked.period.from, asked.period.to
    );
    download::csv(&name, rows)
}

/// Dollars and cents as a spreadsheet reads them ("5000.00"): exact, never through a float.
fn dollars(cents: i64) -> String {
    crate::money::cents_for_input(cents)
}

fn share(s: Option<f64>) -> String {
    s.map(|s| format!("{:.4}", s)).unwrap_or_default()
}

/// The tiles as figure, value rows.
pub(super) fn tile_rows(t: &Tiles) -> Vec<Vec<String>> {
    let rows: [(&str, String); 14] = [
        ("Requests filed", t.filed.to_string()),
        ("Escalated to Retention", t.escalated.to_string()),
        ("Escalation rate", share(t.escalation_rate())),
        (
            "Calls (save attempts closed)",
            t.attempts_closed.to_string(),
        ),
        ("Saved, no change", t.saved_no_change.to_string()),
        ("Saved with a pause", t.saved_pause.to_string()),
        (
            "Saved with a budget change",
            t.saved_budget_change.to_string(),
        ),
        ("Save rate", share(t.save_rate())),
        ("Requests decided", t.decided.to_string()),
        ("Budget at risk", dollars(t.at_risk_cents)),
        ("Budget saved", dollars(t.saved_cents())),
        ("Budget lost", dollars(t.lost_cents)),
        ("Revenue save rate", share(t.revenue_save_rate())),
        ("Saves", t.saves().to_string()),
    ];
    let mut out = vec![vec!["Figure".to_string(), "Value".to_string()]];
    out.extend(rows.into_iter().map(|(k, v)| vec![k.to_string(), v]));
    out
}

/// The months' outcomes as rows, one per month: what became of the requests filed in it.
pub(super) fn month_rows(months: &[MonthOutcomes]) -> Vec<Vec<String>> {
    let header = [
        "Month",
        "Filed",
        "Escalated",
        "Saved, no change",
        "Saved, pause",
        "Saved, budget change",
        "Not saved",
        "Call not yet recorded",
        "Withdrawn before the call",
        "Not sent to Retention",
    ];
    let mut out = vec![header.iter().map(|h| h.to_string()).collect()];
    out.extend(months.iter().map(|m| {
        vec![
            m.month.format("%Y-%m").to_string(),
            m.filed.to_string(),
            m.escalated().to_string(),
            m.saved_no_change.to_string(),
            m.saved_pause.to_string(),
            m.saved_budget_change.to_string(),
            m.not_saved.to_string(),
            m.waiting.to_string(),
            m.withdrawn_early.to_string(),
            m.not_escalated.to_string(),
        ]
    }));
    out
}

/// The months' rates and money as rows, one per month.
pub(super) fn budget_rows(months: &[MonthOutcomes]) -> Vec<Vec<String>> {
    let header = [
        "Month",
        "Save rate",
        "Budget at risk",
        "Budget saved",
        "Budget lost",
        "Revenue save rate",
    ];
    let mut out = vec![header.iter().map(|h| h.to_string()).collect()];
    out.extend(months.iter().map(|m| {
        vec![
            m.month.format("%Y-%m").to_string(),
            share(m.save_rate()),
            dollars(m.at_risk_cents),
            dollars(m.saved_cents()),
            dollars(m.lost_cents),
            share(m.revenue_save_rate()),
        ]
    }));
    out
}

/// The reasons as rows.
pub(super) fn reason_rows(reasons: &[ReasonLine]) -> Vec<Vec<String>> {
    let header = [
        "Reason",
        "Retention can act on it",
        "Filed",
        "Budget at risk",
        "Calls",
        "Saves",
        "Save rate",
    ];
    let mut out = vec![header.iter().map(|h| h.to_string()).collect()];
    let total = figures::controllable_total(reasons);
    out.extend(reasons.iter().chain(Some(&total)).map(|r| {
        vec![
            r.label.clone(),
            if r.controllable { "yes" } else { "no" }.to_string(),
            r.filed.to_string(),
            dollars(r.at_risk_cents),
            r.attempts_closed.to_string(),
            r.saves.to_string(),
            share(r.save_rate()),
        ]
    }));
    out
}

/// A leaderboard as rows; `counts` heads its count column (see `views::BOARD_COUNTS`).
pub(super) fn leader_rows(leaders: &[Leader], counts: &str) -> Vec<Vec<String>> {
    let header = [
        "Person",
        counts,
        "Calls",
        "Saves",
        "Save rate",
        "Budget saved",
        "Too few to compare",
        "Too few calls to compare the save rate",
    ];
    let mut out = vec![header.iter().map(|h| h.to_string()).collect()];
    out.extend(leaders.iter().map(|l| {
        vec![
            l.name.clone(),
            l.filed.to_string(),
            l.attempts_closed.to_string(),
            l.saves.to_string(),
            share(l.save_rate()),
            dollars(l.saved_cents),
            if l.too_few() { "yes" } else { "no" }.to_string(),
            if l.too_few_calls() { "yes" } else { "no" }.to_string(),
        ]
    }));
    out
}

/// Waits as rows, hours to one decimal; "Waiting now" only where the page shows it (the
/// approval steps).
pub(super) fn wait_rows(waits: &[Wait], with_waiting: bool) -> Vec<Vec<String>> {
    let hours = |h: Option<f64>| h.map(|h| format!("{h:.1}")).unwrap_or_default();
    let count = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_default();
    // The approval steps' table says decisions and nudges; the stages' cases and lateness.
    let mut header = vec!["What"];
    if with_waiting {
        header.extend(["Decisions", "Waiting now"]);
    } else {
        header.push("Cases");
    }
    header.extend([
        "Median hours",
        "90th percentile hours",
        if with_waiting {
            "Past the nudge"
        } else {
            "Late"
        },
    ]);
    let mut out = vec![header.iter().map(|h| h.to_string()).collect()];
    out.extend(waits.iter().map(|w| {
        let mut row = vec![w.what.clone(), w.n.to_string()];
        if with_waiting {
            row.push(count(w.waiting));
        }
        row.extend([hours(w.median_hours), hours(w.p90_hours), count(w.late)]);
        row
    }));
    out
}

/// "Do saves last?" as rows.
pub(super) fn lasting_rows(lasting: &[Lasting]) -> Vec<Vec<String>> {
    let mut out = vec![
        [
            "Saves at least (days old)",
            "Saves",
            "Stayed that long",
            "Share",
        ]
        .iter()
        .map(|h| h.to_string())
        .collect::<Vec<_>>(),
    ];
    out.extend(lasting.iter().map(|l| {
        vec![
            l.days.to_string(),
            l.saves.to_string(),
            l.still_active.to_string(),
            share(l.rate()),
        ]
    }));
    out
}

/// The cohort table as rows: month saved, saves, then the share for each month since.
pub(super) fn cohort_table(rows: &[CohortRow]) -> Vec<Vec<String>> {
    let mut header = vec!["Saved in".to_string(), "Saves".to_string()];
    header.extend((1..=figures::COHORT_MONTHS).map(|k| match k {
        1 => "1 month later".to_string(),
        k => format!("{k} months later"),
    }));
    let mut out = vec![header];
    out.extend(rows.iter().map(|r| {
        let mut row = vec![r.month.format("%Y-%m").to_string(), r.saves.to_string()];
        row.extend(r.shares.iter().map(|s| share(*s)));
        row
    }));
    out
}

/// The slowest requests as rows.
pub(super) fn slow_rows(slow: &[Slow]) -> Vec<Vec<String>> {
    let mut out = vec![vec![
        "Request".to_string(),
        "Client".to_string(),
        "Hours from filing to approval, or to now".to_string(),
        "Still waiting in".to_string(),
    ]];
    out.extend(slow.iter().map(|s| {
        vec![
            s.request_id.to_string(),
            s.client_name.clone(),
            format!("{:.1}", s.hours),
            s.waiting_in
                .map(|w| w.label().to_string())
                .unwrap_or_default(),
        ]
    }));
    out
}
