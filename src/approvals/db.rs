//! The approval chain's storage: the configured chain, the steps copied onto each submission,
//! substitutes, and the queues of who waits on whom.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;

use super::rules::{Approver, Condition, ConfigStep, PlannedStep, StepState};
use crate::auth::roles::{Role, RoleSet};
use crate::change_requests::db::RequestRow;
use crate::change_requests::rules::Kind;
use crate::notifications::recipients;

crate::db::text_enum!(StepState, Condition);

/// A step of the configured chain as stored.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ChainRow {
    pub id: i64,
    pub position: i32,
    pub name: String,
    pub approver_user_id: Option<i64>,
    pub approver_role: Option<Role>,
    pub approver_name: Option<String>,
    pub condition: Condition,
}

impl ChainRow {
    pub fn approver(&self) -> Approver {
        Approver::from_columns(self.approver_user_id, self.approver_role)
    }

    pub fn to_config(&self) -> ConfigStep {
        ConfigStep {
            position: self.position,
            name: self.name.clone(),
            approver: self.approver(),
            condition: self.condition,
        }
    }
}

/// The configured chain as stored, in order (retired steps left out).
pub async fn chain_rows(conn: &mut PgConnection) -> sqlx::Result<Vec<ChainRow>> {
    sqlx::query_as(
        "SELECT s.id, s.position, s.name, s.approver_user_id, s.approver_role,
                u.display_name AS approver_name, s.condition
           FROM approval_chain_steps s LEFT JOIN users u ON u.id = s.approver_user_id
          WHERE s.retired_at IS NULL ORDER BY s.position, s.id",
    )
    .fetch_all(conn)
    .await
}

/// A step of the configured chain, locked for editing (None once retired).
pub async fn lock_chain_step(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<ChainRow>> {
    sqlx::query_as(
        "SELECT s.id, s.position, s.name, s.approver_user_id, s.approver_role,
                NULL::text AS approver_name, s.condition
           FROM approval_chain_steps s WHERE s.id = $1 AND s.retired_at IS NULL FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Edits a step of the configured chain (requests already submitted keep theirs).
pub async fn update_chain_step(
    conn: &mut PgConnection,
    id: i64,
    name: &str,
    position: i32,
    user: Option<i64>,
    role: Option<&str>,
    condition: Condition,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE approval_chain_steps
            SET name = $2, position = $3, approver_user_id = $4, approver_role = $5, condition = $6
          WHERE id = $1",
    )
    .bind(id)
    .bind(name)
    .bind(position)
    .bind(user)
    .bind(role)
    .bind(condition)
    .execute(conn)
    .await?;
    Ok(())
}

/// The configured chain, in order (retired steps left out).
pub async fn config_chain(conn: &mut PgConnection) -> sqlx::Result<Vec<ConfigStep>> {
    Ok(chain_rows(conn)
        .await?
        .iter()
        .map(ChainRow::to_config)
        .collect())
}

fn approver_columns(a: Approver) -> (Option<i64>, Option<&'static str>) {
    match a {
        Approver::User(u) => (Some(u), None),
        Approver::Role(r) => (None, Some(r.key())),
        Approver::Unassigned => (None, None),
    }
}

/// Copies a planned chain onto the request as round `round`; returns the id of the step whose
/// turn it is and when that turn began.
pub async fn insert_round(
    conn: &mut PgConnection,
    request_id: i64,
    round: i32,
    steps: &[PlannedStep],
) -> sqlx::Result<(i64, DateTime<Utc>)> {
    let mut pending = (0, Utc::now());
    for s in steps {
        let (user, role) = approver_columns(s.approver);
        let (id, reached): (i64, Option<DateTime<Utc>>) = sqlx::query_as(
            "INSERT INTO request_approvals
                 (change_request_id, round, position, name, approver_user_id, approver_role,
                  state, reached_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $7 = 'pending' THEN now() END)
             RETURNING id, reached_at",
        )
        .bind(request_id)
        .bind(round)
        .bind(s.position)
        .bind(&s.name)
        .bind(user)
        .bind(role)
        .bind(s.state)
        .fetch_one(&mut *conn)
        .await?;
        if let (StepState::Pending, Some(at)) = (s.state, reached) {
            pending = (id, at);
        }
    }
    Ok(pending)
}

/// A step on a request, with the names the page shows.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct StepRow {
    pub id: i64,
    pub change_request_id: i64,
    pub round: i32,
    pub position: i32,
    pub name: String,
    pub approver_user_id: Option<i64>,
    pub approver_role: Option<Role>,
    pub approver_name: Option<String>,
    pub state: StepState,
    pub reached_at: Option<DateTime<Utc>>,
    pub decided_by: Option<i64>,
    pub decided_by_name: Option<String>,
    pub on_behalf_of: Option<i64>,
    pub on_behalf_of_name: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub comment: Option<String>,
    /// When the step was reached with nobody able to decide it, and why (for the admin).
    pub flagged_at: Option<DateTime<Utc>>,
    pub flagged_reason: Option<String>,
}

impl StepRow {
    pub fn approver(&self) -> Approver {
        Approver::from_columns(self.approver_user_id, self.approver_role)
    }

    pub fn state_label(&self) -> &'static str {
        self.state.label()
    }

    /// Who decides, in words.
    pub fn approver_label(&self) -> String {
        match (self.state, self.approver()) {
            (StepState::NotRequired, _) => "Not required".into(),
            (_, Approver::User(_)) => self.approver_name.clone().unwrap_or_default(),
            (_, Approver::Role(r)) => format!("Any of {}", r.label()),
            (_, Approver::Unassigned) => "Nobody named".into(),
        }
    }

    pub fn decided(&self) -> String {
        self.decided_at.map(crate::time::local).unwrap_or_default()
    }

    /// "Dustin Hunter", or "Dustin Hunter on behalf of Jeremy Bliesner".
    pub fn decider(&self) -> String {
        match (&self.decided_by_name, &self.on_behalf_of_name) {
            (Some(by), Some(for_)) => format!("{by} on behalf of {for_}"),
            (Some(by), None) => by.clone(),
            _ => String::new(),
        }
    }

    pub fn is_current(&self) -> bool {
        self.state == StepState::Pending
    }

    pub fn waiting(&self) -> String {
        self.reached_at
            .map(|t| crate::change_requests::db::waited(Utc::now() - t))
            .unwrap_or_default()
    }
}

const STEP_SELECT: &str = "SELECT s.id, s.change_request_id, s.round, s.position, s.name,
        s.approver_user_id, s.approver_role, a.display_name AS approver_name, s.state,
        s.reached_at, s.decided_by, d.display_name AS decided_by_name, s.on_behalf_of,
        b.display_name AS on_behalf_of_name, s.decided_at, s.comment, s.flagged_at,
        s.flagged_reason
   FROM request_approvals s
   LEFT JOIN users a ON a.id = s.approver_user_id
   LEFT JOIN users d ON d.id = s.decided_by
   LEFT JOIN users b ON b.id = s.on_behalf_of";

/// The steps of one round, in order.
pub async fn round(
    conn: &mut PgConnection,
    request_id: i64,
    round: i32,
) -> sqlx::Result<Vec<StepRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{STEP_SELECT} WHERE s.change_request_id = $1 AND s.round = $2 ORDER BY s.position, s.id"
    )))
    .bind(request_id)
    .bind(round)
    .fetch_all(conn)
    .await
}

pub async fn step(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<StepRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{STEP_SELECT} WHERE s.id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// A step's request and the step, locked in that order (every change to a request's approval
/// queues behind the one before). A reinstatement's decision also locks the request it undoes,
/// both in id order, before anything else: its last approval changes that request and the
/// client, and a hand-over or a status update takes the client's requests in id order, then the
/// client (taking the reinstatement first and its original later could wait on each other).
pub async fn locked(
    conn: &mut PgConnection,
    step_id: i64,
) -> sqlx::Result<Option<(RequestRow, StepRow)>> {
    // Found and locked in one statement (a step never changes request, nor a request what it
    // undoes); the flag marks the step's own request.
    let rows: Vec<(i64, bool)> = sqlx::query_as(
        "WITH mine AS (SELECT s.change_request_id AS id FROM request_approvals s WHERE s.id = $1)
         SELECT r.id, r.id = (SELECT id FROM mine)
           FROM change_requests r
          WHERE r.id = (SELECT id FROM mine)
             OR r.id = (SELECT q.reverses_id FROM change_requests q
                         WHERE q.id = (SELECT id FROM mine))
          ORDER BY r.id
            FOR UPDATE OF r",
    )
    .bind(step_id)
    .fetch_all(&mut *conn)
    .await?;
    let Some((request_id, _)) = rows.into_iter().find(|(_, mine)| *mine) else {
        return Ok(None);
    };
    let Some(r) = crate::change_requests::db::find(conn, request_id).await? else {
        return Ok(None);
    };
    Ok(step(conn, step_id).await?.map(|step| (r, step)))
}

/// Hands a waiting step to a person or a role.
pub async fn hand_to(
    conn: &mut PgConnection,
    step_id: i64,
    user: Option<i64>,
    role: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE request_approvals SET approver_user_id = $2, approver_role = $3 WHERE id = $1",
    )
    .bind(step_id)
    .bind(user)
    .bind(role)
    .execute(conn)
    .await?;
    Ok(())
}

/// The approvers `user` stands in for on `day`.
pub async fn substituting_for(
    conn: &mut PgConnection,
    user: i64,
    day: NaiveDate,
) -> sqlx::Result<Vec<i64>> {
    standing_in(conn, user, day, day).await
}

/// The addresses a step's turn is announced to: its approver and whoever stands in for them
/// today, or every holder of its role.
pub async fn step_recipients(
    conn: &mut PgConnection,
    approver: Approver,
    day: NaiveDate,
) -> sqlx::Result<Vec<String>> {
    match approver {
        Approver::User(u) => {
            let mut to: Vec<String> = recipients::user(&mut *conn, u).await?.into_iter().collect();
            let subs: Vec<String> = sqlx::query_scalar(
                "SELECT u.email FROM approval_substitutes s JOIN users u ON u.id = s.substitute_id
                  WHERE s.approver_id = $1 AND s.ended_at IS NULL
                    AND s.starts_on <= $2 AND s.ends_on >= $2 AND u.disabled_at IS NULL
                  ORDER BY u.email",
            )
            .bind(u)
            .bind(day)
            .fetch_all(&mut *conn)
            .await?;
            to.extend(subs);
            to.dedup();
            Ok(to)
        }
        Approver::Role(r) => recipients::holders_of(conn, r).await,
        Approver::Unassigned => Ok(Vec::new()),
    }
}

/// A request waiting on someone's decision, for their desk.
#[derive(Debug, sqlx::FromRow)]
pub struct Waiting {
    pub step_id: i64,
    pub request_id: i64,
    pub client_name: String,
    pub kind: Kind,
    pub step_name: String,
    pub credit_cents: Option<i64>,
    pub effective_date: NaiveDate,
    pub reached_at: DateTime<Utc>,
    pub on_behalf_of: Option<String>,
    /// The approved request this one undoes (a reinstatement).
    #[sqlx(default)]
    pub reverses_id: Option<i64>,
}

impl Waiting {
    pub fn kind_label(&self) -> &'static str {
        self.kind.label_of(self.reverses_id)
    }

    pub fn credit(&self) -> String {
        self.credit_cents
            .map(crate::money::format_cents)
            .unwrap_or_default()
    }

    pub fn waiting(&self) -> String {
        crate::change_requests::db::waited(Utc::now() - self.reached_at)
    }
}

/// [`waiting_on`]'s statement: the same text for everyone, built once.
static WAITING_ON: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    const LINE: &str = "SELECT w.item_id, w.request_id, w.client_id, w.request_kind, w.title,
                               w.credit_cents, w.effective_date, w.since, w.reverses_id,
                               w.assignee_user_id
                          FROM work_items w";
    const CUT: &str = "AND w.kind = 'approval_step' AND NOT ($1 = ANY (w.barred))
                       ORDER BY w.since, w.item_id LIMIT $4";
    format!(
        "SELECT m.item_id AS step_id, m.request_id,
                (SELECT c.name FROM clients c WHERE c.id = m.client_id) AS client_name,
                m.request_kind AS kind,
                m.title AS step_name, m.credit_cents, m.effective_date, m.since AS reached_at,
                m.reverses_id,
                CASE WHEN m.assignee_user_id IS DISTINCT FROM $1 AND m.assignee_user_id IS NOT NULL
                     THEN (SELECT a.display_name FROM users a WHERE a.id = m.assignee_user_id)
                END AS on_behalf_of
           FROM (({LINE} WHERE w.assignee_user_id = $1 {CUT})
                 UNION
                 ({LINE} WHERE w.assignee_user_id IN (
                              SELECT approver_id FROM approval_substitutes
                               WHERE substitute_id = $1 AND ended_at IS NULL
                                 AND starts_on <= $3 AND ends_on >= $3) {CUT})
                 UNION
                 ({LINE} WHERE w.assignee_role = ANY ($2) {CUT})) m
          ORDER BY m.since, m.item_id
          LIMIT $4"
    )
});

/// The steps waiting on `user`: those naming them or someone they stand in for today, and
/// those any holder of `roles` decides. Oldest first; never a request they filed, submitted or
/// whose client is theirs, nor a step of a round they already decided a step of (they may not
/// decide it, so it is not on their desk).
///
/// Read from `work_items` (migrations 26 and 27), where each pending step is kept with what the
/// desk shows and who may not decide it: each way is one range of an index, cut to the page;
/// the client's name is read from the client, for the page's lines only.
pub async fn waiting_on(
    conn: &mut PgConnection,
    user: i64,
    roles: RoleSet,
    day: NaiveDate,
    limit: i64,
) -> sqlx::Result<Vec<Waiting>> {
    let role_keys: Vec<String> = roles.iter().map(|r: Role| r.key().to_string()).collect();
    sqlx::query_as(sqlx::AssertSqlSafe(WAITING_ON.as_str()))
        .bind(user)
        .bind(&role_keys)
        .bind(day)
        .bind(limit)
        .fetch_all(conn)
        .await
}

/// The roles `user` holds.
pub async fn roles_of(conn: &mut PgConnection, user: i64) -> sqlx::Result<RoleSet> {
    let roles: Vec<Role> = sqlx::query_scalar("SELECT roles FROM users WHERE id = $1")
        .bind(user)
        .fetch_one(conn)
        .await?;
    Ok(roles.into_iter().collect())
}

/// The approvers `substitute` already stands in for on some day from `starts` to `ends`.
pub async fn standing_in(
    conn: &mut PgConnection,
    substitute: i64,
    starts: NaiveDate,
    ends: NaiveDate,
) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "SELECT approver_id FROM approval_substitutes
          WHERE substitute_id = $1 AND ended_at IS NULL AND starts_on <= $3 AND ends_on >= $2",
    )
    .bind(substitute)
    .bind(starts)
    .bind(ends)
    .fetch_all(conn)
    .await
}

/// The steps beside `approver`'s: the chain as configured, and, on the chains already copied
/// onto requests in flight that wait on them, who is named on the other steps (an admin may
/// have handed one to someone else) and who decided them (perhaps standing in for someone).
pub async fn steps_beside(conn: &mut PgConnection, approver: i64) -> sqlx::Result<Vec<ConfigStep>> {
    let mut steps: Vec<ConfigStep> = chain_rows(conn)
        .await?
        .iter()
        .map(ChainRow::to_config)
        .collect();
    let in_flight: Vec<(i32, String, i64)> = sqlx::query_as(
        "SELECT o.position, o.name, p.user_id
           FROM request_approvals s
           JOIN change_requests r ON r.id = s.change_request_id AND r.state = 'in_approval'
                                 AND r.approval_round = s.round
           JOIN request_approvals o ON o.change_request_id = s.change_request_id
                                   AND o.round = s.round AND o.id <> s.id
           CROSS JOIN LATERAL (VALUES (o.approver_user_id), (o.decided_by)) AS p (user_id)
          WHERE s.approver_user_id = $1 AND s.state IN ('waiting', 'pending')
            AND p.user_id IS NOT NULL",
    )
    .bind(approver)
    .fetch_all(conn)
    .await?;
    steps.extend(
        in_flight
            .into_iter()
            .map(|(position, name, user)| ConfigStep {
                position,
                name,
                approver: Approver::User(user),
                condition: Condition::Always,
            }),
    );
    Ok(steps)
}

/// `approver` names `substitute` from `starts` to `ends`; returns the substitution's id.
pub async fn name_substitute(
    conn: &mut PgConnection,
    approver: i64,
    substitute: i64,
    starts: NaiveDate,
    ends: NaiveDate,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO approval_substitutes (approver_id, substitute_id, starts_on, ends_on)
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(approver)
    .bind(substitute)
    .bind(starts)
    .bind(ends)
    .fetch_one(conn)
    .await
}

/// Records the submission that starts `round` of request `id`.
pub async fn mark_submitted(
    conn: &mut PgConnection,
    id: i64,
    by: i64,
    round: i32,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE change_requests SET submitted_by = $2, submitted_at = now(), approval_round = $3
          WHERE id = $1",
    )
    .bind(id)
    .bind(by)
    .bind(round)
    .execute(conn)
    .await?;
    Ok(())
}

/// Decides a pending step: approved (with an optional comment) or sent back (with its reason),
/// by `by`, standing in for `on_behalf_of` when set. A step no longer pending is left alone.
pub async fn decide(
    conn: &mut PgConnection,
    step_id: i64,
    decision: StepState,
    by: i64,
    on_behalf_of: Option<i64>,
    comment: &str,
) -> sqlx::Result<()> {
    debug_assert!(matches!(
        decision,
        StepState::Approved | StepState::SentBack
    ));
    sqlx::query(
        "UPDATE request_approvals
            SET state = $2, decided_by = $3, on_behalf_of = $4, decided_at = now(),
                comment = NULLIF($5, '')
          WHERE id = $1 AND state = 'pending'",
    )
    .bind(step_id)
    .bind(decision)
    .bind(by)
    .bind(on_behalf_of)
    .bind(comment)
    .execute(conn)
    .await?;
    Ok(())
}

/// Approves the pending step `step_id`, by `by` (standing in for `on_behalf_of` when set) with
/// an optional comment, and makes the waiting step `next` the pending one, in one statement
/// (so the request's work items are recomputed once; migration 33 lets the two steps change
/// places in one statement). Returns when `next` was reached, or nothing unless both steps
/// were where the caller read them (the caller's transaction is then to be rolled back).
pub async fn approve_and_reach(
    conn: &mut PgConnection,
    step_id: i64,
    by: i64,
    on_behalf_of: Option<i64>,
    comment: &str,
    next: i64,
) -> sqlx::Result<Option<DateTime<Utc>>> {
    let (changed, reached): (i64, Option<DateTime<Utc>>) = sqlx::query_as(
        "WITH changed AS (
             UPDATE request_approvals s
                SET state = CASE WHEN s.id = $1 THEN 'approved' ELSE 'pending' END,
                    decided_by = CASE WHEN s.id = $1 THEN $2 ELSE s.decided_by END,
                    on_behalf_of = CASE WHEN s.id = $1 THEN $3 ELSE s.on_behalf_of END,
                    decided_at = CASE WHEN s.id = $1 THEN now() ELSE s.decided_at END,
                    comment = CASE WHEN s.id = $1 THEN NULLIF($4, '') ELSE s.comment END,
                    reached_at = CASE WHEN s.id = $1 THEN s.reached_at ELSE now() END
              WHERE (s.id = $1 AND s.state = 'pending') OR (s.id = $5 AND s.state = 'waiting')
             RETURNING s.id, s.reached_at)
         SELECT count(*), max(reached_at) FILTER (WHERE id = $5) FROM changed",
    )
    .bind(step_id)
    .bind(by)
    .bind(on_behalf_of)
    .bind(comment)
    .bind(next)
    .fetch_one(conn)
    .await?;
    Ok(reached.filter(|_| changed == 2))
}

/// Notes when request `id` passed its last step.
pub async fn mark_approved(conn: &mut PgConnection, id: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE change_requests SET approved_at = now() WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Accounting's mark on an approved request, with its optional note.
pub async fn mark_processed(
    conn: &mut PgConnection,
    id: i64,
    by: i64,
    note: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE change_requests
            SET processed_by = $2, processed_at = now(), processed_note = NULLIF($3, '')
          WHERE id = $1",
    )
    .bind(id)
    .bind(by)
    .bind(note)
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends the current round early: the steps still to come are cancelled. Returns the step that
/// was waiting for a decision, if any, so its approver can be told.
pub async fn cancel_round(
    conn: &mut PgConnection,
    request_id: i64,
    round: i32,
) -> sqlx::Result<Option<StepRow>> {
    let pending = sqlx::query_as::<_, StepRow>(sqlx::AssertSqlSafe(format!(
        "{STEP_SELECT} WHERE s.change_request_id = $1 AND s.round = $2 AND s.state = 'pending'"
    )))
    .bind(request_id)
    .bind(round)
    .fetch_optional(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE request_approvals SET state = 'cancelled'
          WHERE change_request_id = $1 AND round = $2 AND state IN ('pending', 'waiting')",
    )
    .bind(request_id)
    .bind(round)
    .execute(&mut *conn)
    .await?;
    Ok(pending)
}

/// An approved request waiting for Accounting.
pub async fn to_process(
    conn: &mut PgConnection,
    limit: i64,
) -> sqlx::Result<Vec<crate::change_requests::db::QueueLine>> {
    sqlx::query_as(
        "SELECT r.id, c.name AS client_name, r.kind, r.state, r.effective_date,
                r.approved_at AS state_changed_at, NULL::text AS step, r.reverses_id
           FROM change_requests r JOIN clients c ON c.id = r.client_id
          WHERE r.state = 'approved' AND r.processed_at IS NULL
          ORDER BY r.approved_at, r.id
          LIMIT $1",
    )
    .bind(limit)
    .fetch_all(conn)
    .await
}
