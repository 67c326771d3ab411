//! Change request queries. Each takes a connection so it works inside the caller's transaction.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;

use super::form::Details;
use super::rules::{CancelScope, Escalation, Facts, Kind, Outcome, State};

crate::db::text_enum!(Kind, State, Escalation, CancelScope, Outcome);

/// A request with the names it refers to, as pages show it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RequestRow {
    pub id: i64,
    pub client_id: i64,
    pub client_name: String,
    pub client_account_manager_id: Option<i64>,
    pub client_sem_specialist_id: Option<i64>,
    /// The client's monthly budget now.
    pub client_budget_cents: i64,
    /// The client's signing contact, when known (prefills the addendum's signer).
    pub client_signer_name: Option<String>,
    pub client_signer_title: Option<String>,
    pub client_signer_email: Option<String>,
    pub kind: Kind,
    pub cancel_scope: Option<CancelScope>,
    pub effective_date: NaiveDate,
    pub resume_date: Option<NaiveDate>,
    pub current_budget_cents: Option<i64>,
    pub new_budget_cents: Option<i64>,
    pub reason_id: i64,
    pub reason: String,
    pub reason_text: String,
    pub product_notes: String,
    pub credit_cents: Option<i64>,
    pub credit_reason: Option<String>,
    pub escalation: Escalation,
    pub escalated_to: Option<i64>,
    pub escalated_to_name: Option<String>,
    pub state: State,
    pub filed_by: i64,
    pub filed_by_name: String,
    pub original_kind: Option<Kind>,
    pub withdrawn_reason: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub state_changed_at: DateTime<Utc>,
    /// Retention is involved: the request has a save attempt.
    pub has_save_attempt: bool,
    pub attachment_count: i64,
    /// Retention has recorded the call on the save attempt.
    pub call_recorded: bool,
    pub submitted_by: Option<i64>,
    pub submitted_by_name: Option<String>,
    pub submitted_at: Option<DateTime<Utc>>,
    /// How many times the request has been submitted (each a round of the chain).
    pub approval_round: i32,
    pub approved_at: Option<DateTime<Utc>>,
    pub processed_at: Option<DateTime<Utc>>,
    pub processed_note: Option<String>,
    pub processed_by_name: Option<String>,
    pub change_task_id: Option<i64>,
    /// This request undoes that approved one (a reinstatement).
    pub reverses_id: Option<i64>,
    /// When a reinstatement undid this request.
    pub reinstated_at: Option<DateTime<Utc>>,
    /// The latest reinstatement filed against this request.
    pub reversal_id: Option<i64>,
}

impl RequestRow {
    pub fn terms(&self) -> super::form::Terms {
        super::form::Terms {
            kind: self.kind,
            cancel_scope: self.cancel_scope,
            effective_date: self.effective_date,
            resume_date: self.resume_date,
            current_budget_cents: self.current_budget_cents,
            new_budget_cents: self.new_budget_cents,
        }
    }

    /// What an edit may not overturn (see `form::check_edit`).
    pub fn settled(&self) -> super::form::Settled {
        super::form::Settled {
            terms: self.terms(),
            with_retention_as_filed: self.escalation == Escalation::Retention
                && self.original_kind.is_none(),
            reinstates: self.reverses_id,
            call_recorded: self.call_recorded,
        }
    }

    /// This request had a signed document, and `after` changed what it was signed for (the
    /// kind, the date or the budgets).
    pub fn signed_terms_differ(&self, after: &RequestRow) -> bool {
        self.attachment_count > 0
            && (after.kind != self.kind
                || after.effective_date != self.effective_date
                || after.current_budget_cents != self.current_budget_cents
                || after.new_budget_cents != self.new_budget_cents)
    }

    pub fn facts(&self) -> Facts {
        Facts {
            state: self.state,
            account_manager: self.client_account_manager_id,
            has_save_attempt: self.has_save_attempt,
        }
    }

    pub fn kind_label(&self) -> &'static str {
        self.kind.label_of(self.reverses_id)
    }

    pub fn state_label(&self) -> &'static str {
        self.state.label()
    }

    pub fn original_kind_label(&self) -> Option<&'static str> {
        self.original_kind.map(Kind::label)
    }

    pub fn scope_label(&self) -> &'static str {
        self.cancel_scope.map(CancelScope::label).unwrap_or("")
    }

    pub fn escalation_label(&self) -> String {
        match (self.escalation, &self.escalated_to_name) {
            (Escalation::TeamLead, Some(n)) => format!("Team lead: {n}"),
            (Escalation::DepartmentManager, Some(n)) => format!("Department manager: {n}"),
            (e, _) => e.label().to_string(),
        }
    }

    pub fn resume(&self) -> String {
        self.resume_date
            .map(crate::time::day)
            .unwrap_or_else(|| "Not known yet".into())
    }

    pub fn current_budget(&self) -> String {
        self.current_budget_cents
            .map(crate::money::format_cents)
            .unwrap_or_default()
    }

    pub fn new_budget(&self) -> String {
        self.new_budget_cents
            .map(crate::money::format_cents)
            .unwrap_or_default()
    }

    pub fn credit(&self) -> String {
        self.credit_cents
            .map(crate::money::format_cents)
            .unwrap_or_default()
    }

    /// How long it has waited in its current state, in words.
    pub fn waiting(&self) -> String {
        waited(Utc::now() - self.state_changed_at)
    }
}

/// "3 days", "5 hours", "12 minutes", "under a minute".
pub fn waited(d: chrono::Duration) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    if d.num_days() >= 1 {
        plural(d.num_days(), "day")
    } else if d.num_hours() >= 1 {
        plural(d.num_hours(), "hour")
    } else if d.num_minutes() >= 1 {
        plural(d.num_minutes(), "minute")
    } else {
        "under a minute".into()
    }
}

const SELECT: &str = "SELECT r.id, r.client_id, c.name AS client_name,
        c.account_manager_id AS client_account_manager_id,
        c.sem_specialist_id AS client_sem_specialist_id,
        c.monthly_budget_cents AS client_budget_cents, c.signer_name AS client_signer_name,
        c.signer_title AS client_signer_title, c.signer_email AS client_signer_email, r.kind, r.cancel_scope, r.effective_date, r.resume_date, r.current_budget_cents,
        r.new_budget_cents, r.reason_id, reason.label AS reason, r.reason_text, r.product_notes,
        r.credit_cents, r.credit_reason, r.escalation, r.escalated_to,
        esc.display_name AS escalated_to_name, r.state, r.filed_by,
        filer.display_name AS filed_by_name, r.original_kind, r.withdrawn_reason, r.version,
        r.created_at, r.state_changed_at,
        EXISTS (SELECT 1 FROM save_attempts s WHERE s.change_request_id = r.id)
            AS has_save_attempt,
        (SELECT count(*) FROM request_attachments a
          WHERE a.change_request_id = r.id AND a.superseded_at IS NULL) AS attachment_count,
        EXISTS (SELECT 1 FROM save_attempts s
                 WHERE s.change_request_id = r.id AND s.outcome IS NOT NULL) AS call_recorded,
        r.submitted_by, sub.display_name AS submitted_by_name, r.submitted_at, r.approval_round,
        r.approved_at, r.processed_at, r.processed_note, proc.display_name AS processed_by_name,
        (SELECT t.id FROM change_tasks t WHERE t.change_request_id = r.id) AS change_task_id,
        r.reverses_id, r.reinstated_at,
        (SELECT v.id FROM change_requests v WHERE v.reverses_id = r.id
          ORDER BY v.id DESC LIMIT 1) AS reversal_id
   FROM change_requests r
   JOIN clients c ON c.id = r.client_id
   JOIN change_reasons reason ON reason.id = r.reason_id
   JOIN users filer ON filer.id = r.filed_by
   LEFT JOIN users esc ON esc.id = r.escalated_to
   LEFT JOIN users sub ON sub.id = r.submitted_by
   LEFT JOIN users proc ON proc.id = r.processed_by";

pub async fn find(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<RequestRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} WHERE r.id = $1")))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Which parts of the request's page have rows to show. The page runs a part's statement only
/// when it has: on a request still in approval most have none, and each statement is a round
/// trip (README, "Performance").
#[derive(Debug, Default, Clone, Copy, sqlx::FromRow)]
pub struct Present {
    pub questions: bool,
    /// Attachments of any kind, superseded ones included.
    pub attachments: bool,
    pub signature_requests: bool,
    pub comments: bool,
    pub sem_task: bool,
    pub checklist: bool,
    /// A reinstatement of this request is open (draft to changes requested).
    pub reversal_open: bool,
}

#[derive(sqlx::FromRow)]
struct PageRow {
    #[sqlx(flatten)]
    request: RequestRow,
    #[sqlx(flatten)]
    present: Present,
}

/// The request as [`find`] reads it, with which parts of its page have rows: one statement.
pub async fn find_for_page(
    conn: &mut PgConnection,
    id: i64,
) -> sqlx::Result<Option<(RequestRow, Present)>> {
    let row: Option<PageRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT p.*,
            EXISTS (SELECT 1 FROM request_questions x WHERE x.change_request_id = p.id)
                AS questions,
            EXISTS (SELECT 1 FROM request_attachments x WHERE x.change_request_id = p.id)
                AS attachments,
            EXISTS (SELECT 1 FROM signature_requests x WHERE x.change_request_id = p.id)
                AS signature_requests,
            EXISTS (SELECT 1 FROM request_comments x WHERE x.change_request_id = p.id)
                AS comments,
            EXISTS (SELECT 1 FROM sem_tasks x WHERE x.change_request_id = p.id) AS sem_task,
            EXISTS (SELECT 1 FROM checklist_items x WHERE x.change_request_id = p.id)
                AS checklist,
            EXISTS (SELECT 1 FROM change_requests x
                     WHERE x.reverses_id = p.id AND x.state IN {OPEN_STATES}) AS reversal_open
           FROM ({SELECT} WHERE r.id = $1) p"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|p| (p.request, p.present)))
}

/// Locks the request for the rest of the transaction: concurrent changes queue up, and the
/// second sees what the first did.
pub async fn lock(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<RequestRow>> {
    sqlx::query("SELECT 1 FROM change_requests WHERE id = $1 FOR UPDATE")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    find(conn, id).await
}

/// The client's open request, if any.
pub async fn open_for_client(conn: &mut PgConnection, client_id: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT id FROM change_requests WHERE client_id = $1 AND state IN {OPEN_STATES}"
    )))
    .bind(client_id)
    .fetch_optional(conn)
    .await
}

/// An approved request of the client still waiting for its effective date: approved, or
/// already completed ahead of its date; not a reinstatement (which undoes one) and not one a
/// reinstatement undid.
pub async fn approved_pending(
    conn: &mut PgConnection,
    client_id: i64,
    today: NaiveDate,
) -> sqlx::Result<Option<(i64, NaiveDate)>> {
    sqlx::query_as(
        "SELECT id, effective_date FROM change_requests
          WHERE client_id = $1 AND state IN ('approved', 'completed') AND effective_date >= $2
            AND reverses_id IS NULL AND reinstated_at IS NULL
          ORDER BY effective_date LIMIT 1",
    )
    .bind(client_id)
    .bind(today)
    .fetch_optional(conn)
    .await
}

pub enum Filed {
    Ok(i64),
    /// The client already has an open request (perhaps filed a moment ago by someone else).
    AlreadyOpen,
}

pub async fn insert(
    conn: &mut PgConnection,
    client_id: i64,
    filed_by: i64,
    d: &Details,
    state: State,
) -> sqlx::Result<Filed> {
    let res = sqlx::query_scalar(
        "INSERT INTO change_requests
            (client_id, kind, cancel_scope, effective_date, resume_date, current_budget_cents,
             new_budget_cents, reason_id, reason_text, product_notes, credit_cents, credit_reason,
             escalation, escalated_to, state, filed_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
         RETURNING id",
    )
    .bind(client_id)
    .bind(d.kind)
    .bind(d.cancel_scope)
    .bind(d.effective_date)
    .bind(d.resume_date)
    .bind(d.current_budget_cents)
    .bind(d.new_budget_cents)
    .bind(d.reason_id)
    .bind(&d.reason_text)
    .bind(&d.product_notes)
    .bind(d.credit_cents)
    .bind(&d.credit_reason)
    .bind(d.escalation)
    .bind(d.escalated_to)
    .bind(state)
    .bind(filed_by)
    .fetch_one(conn)
    .await;
    match res {
        Ok(id) => Ok(Filed::Ok(id)),
        Err(e)
            if e.as_database_error()
                .and_then(|d| d.constraint())
                .is_some_and(|c| c == "change_requests_one_open_per_client") =>
        {
            Ok(Filed::AlreadyOpen)
        }
        Err(e) => Err(e),
    }
}

/// Saves edited details if the request is still at `version`; `None` when someone else saved.
pub async fn update_details(
    conn: &mut PgConnection,
    id: i64,
    version: i32,
    d: &Details,
) -> sqlx::Result<Option<i32>> {
    sqlx::query_scalar(
        "UPDATE change_requests
            SET kind = $3, cancel_scope = $4, effective_date = $5, resume_date = $6,
                current_budget_cents = $7, new_budget_cents = $8, reason_id = $9, reason_text = $10,
                product_notes = $11, credit_cents = $12, credit_reason = $13, version = version + 1
          WHERE id = $1 AND version = $2
          RETURNING version",
    )
    .bind(id)
    .bind(version)
    .bind(d.kind)
    .bind(d.cancel_scope)
    .bind(d.effective_date)
    .bind(d.resume_date)
    .bind(d.current_budget_cents)
    .bind(d.new_budget_cents)
    .bind(d.reason_id)
    .bind(&d.reason_text)
    .bind(&d.product_notes)
    .bind(d.credit_cents)
    .bind(&d.credit_reason)
    .fetch_optional(conn)
    .await
}

/// Moves a request to `to` only if it is still in `from`; false when someone moved it first.
pub async fn transition(
    conn: &mut PgConnection,
    id: i64,
    from: State,
    to: State,
) -> sqlx::Result<bool> {
    Ok(sqlx::query(
        "UPDATE change_requests SET state = $3, state_changed_at = now(), version = version + 1
          WHERE id = $1 AND state = $2",
    )
    .bind(id)
    .bind(from)
    .bind(to)
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

/// A line of a queue: one request, how long it has waited.
#[derive(Debug, sqlx::FromRow)]
pub struct QueueLine {
    pub id: i64,
    pub client_name: String,
    pub kind: Kind,
    pub state: State,
    pub effective_date: NaiveDate,
    pub state_changed_at: DateTime<Utc>,
    /// Where the request stands within its state, when the queue knows better than the state.
    pub step: Option<String>,
    /// The approved request this one undoes (a reinstatement): every queue reads it, so that
    /// a reinstatement never reads as the kind it undoes.
    pub reverses_id: Option<i64>,
}

impl QueueLine {
    pub fn kind_label(&self) -> &'static str {
        self.kind.label_of(self.reverses_id)
    }

    pub fn state_label(&self) -> &'static str {
        self.state.label()
    }

    pub fn waiting(&self) -> String {
        waited(Utc::now() - self.state_changed_at)
    }
}

/// The open states as SQL, for `state IN (...)`; a test keeps it in step with
/// [`State::is_open`].
pub(crate) const OPEN_STATES: &str =
    "('draft', 'with_retention', 'in_approval', 'changes_requested')";

/// A queue's lines: the requests matching `filter`, in `order`, cut to `page` (`LIMIT ...`)
/// before their clients are joined, so a long queue costs no more than a short one.
fn queue_sql(filter: &str, order: &str, page: &str) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(format!(
        "SELECT r.id, c.name AS client_name, r.kind, r.state, r.effective_date,
                r.state_changed_at, NULL::text AS step, r.reverses_id
           FROM (SELECT id, client_id, kind, state, effective_date, state_changed_at, reverses_id
                   FROM change_requests r WHERE {filter} ORDER BY {order} {page}) r
           JOIN clients c ON c.id = r.client_id
          ORDER BY {order}"
    ))
}

/// The Retention Team's queue: save attempts still waiting for the call first, then requests
/// Retention submitted that an approver sent back, then those whose call is recorded and that
/// wait to be submitted; oldest first within each.
pub async fn retention_queue(conn: &mut PgConnection, limit: i64) -> sqlx::Result<Vec<QueueLine>> {
    sqlx::query_as(
        // Three walks in order, each looking up a request's save attempt by its own index and
        // stopping when the page is full: a later one runs only when the earlier leave room.
        // The clients are joined to the page alone.
        "SELECT q.id, c.name AS client_name, q.kind, q.state, q.effective_date, q.state_changed_at,
                q.reverses_id,
                CASE q.rank WHEN 0 THEN 'Waiting for the call'
                            WHEN 1 THEN 'Sent back: fix it and submit again'
                            ELSE 'Call recorded: ready to submit' END AS step
           FROM ((SELECT r.id, r.client_id, r.kind, r.state, r.effective_date, r.state_changed_at,
                         r.reverses_id, 0 AS rank
                    FROM change_requests r
                   WHERE r.state = 'with_retention'
                     AND (SELECT s.outcome IS NOT NULL FROM save_attempts s
                           WHERE s.change_request_id = r.id) IS NOT TRUE
                   ORDER BY r.state_changed_at, r.id
                   LIMIT $1)
                 UNION ALL
                 (SELECT r.id, r.client_id, r.kind, r.state, r.effective_date, r.state_changed_at,
                         r.reverses_id, 1
                    FROM change_requests r
                   WHERE r.state = 'changes_requested'
                     AND EXISTS (SELECT 1 FROM save_attempts s WHERE s.change_request_id = r.id)
                   ORDER BY r.state_changed_at, r.id
                   LIMIT $1)
                 UNION ALL
                 (SELECT r.id, r.client_id, r.kind, r.state, r.effective_date, r.state_changed_at,
                         r.reverses_id, 2
                    FROM change_requests r
                   WHERE r.state = 'with_retention'
                     AND (SELECT s.outcome IS NOT NULL FROM save_attempts s
                           WHERE s.change_request_id = r.id)
                   ORDER BY r.state_changed_at, r.id
                   LIMIT $1)
                 LIMIT $1) q
           JOIN clients c ON c.id = q.client_id
          ORDER BY q.rank, q.state_changed_at, q.id",
    )
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Open requests of the clients `user` is account manager of (whoever filed them), oldest
/// first: a client handed to another account manager brings its open request along.
pub async fn managed_open(
    conn: &mut PgConnection,
    user: i64,
    limit: i64,
) -> sqlx::Result<Vec<QueueLine>> {
    // The request carries its client's account manager (kept by triggers, migration 24), so
    // this is one range of an index rather than a probe per client and a sort.
    sqlx::query_as(queue_sql(
        &format!("r.client_account_manager_id = $1 AND r.state IN {OPEN_STATES}"),
        "r.state_changed_at, r.id",
        "LIMIT $2",
    ))
    .bind(user)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Open requests that wait on their client's account manager (a draft, or sent back with no
/// Retention involved) when that client has none who can act: nobody, someone disabled, or
/// someone who is no longer an account manager. They wait on the admin to hand the client on.
pub async fn without_account_manager(
    conn: &mut PgConnection,
    limit: i64,
) -> sqlx::Result<Vec<QueueLine>> {
    // Nearly always nobody: first the few people who cannot act yet have clients (a probe of
    // the clients index each), and whether a client with nobody has an open request; the
    // requests are read only when there is something to find.
    let (unable, nobodys): (Vec<i64>, bool) = sqlx::query_as(
        "SELECT array(SELECT u.id FROM users u
                       WHERE (u.disabled_at IS NOT NULL OR NOT ('account_manager' = ANY(u.roles)))
                         AND EXISTS (SELECT 1 FROM clients c WHERE c.account_manager_id = u.id)),
                EXISTS (SELECT 1 FROM clients c
                         WHERE c.account_manager_id IS NULL
                           AND EXISTS (SELECT 1 FROM change_requests r WHERE r.client_id = c.id
                                         AND r.state IN ('draft', 'changes_requested')))",
    )
    .fetch_one(&mut *conn)
    .await?;
    if unable.is_empty() && !nobodys {
        return Ok(Vec::new());
    }
    sqlx::query_as(
        "SELECT r.id, c.name AS client_name, r.kind, r.state, r.effective_date,
                r.state_changed_at, 'its account manager cannot act: hand the client to another account manager'::text AS step,
                r.reverses_id
           FROM clients c
           JOIN change_requests r ON r.client_id = c.id
          WHERE (c.account_manager_id = ANY($1) OR c.account_manager_id IS NULL)
            AND (r.state = 'draft'
                 OR (r.state = 'changes_requested'
                     AND NOT EXISTS (SELECT 1 FROM save_attempts s WHERE s.change_request_id = r.id)))
          ORDER BY r.state_changed_at, r.id
          LIMIT $2",
    )
    .bind(&unable)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Requests in `state`, oldest first.
pub async fn in_state(
    conn: &mut PgConnection,
    state: State,
    limit: i64,
) -> sqlx::Result<Vec<QueueLine>> {
    sqlx::query_as(queue_sql(
        "r.state = $1",
        "r.state_changed_at, r.id",
        "LIMIT $2",
    ))
    .bind(state)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Open requests escalated to `user`, oldest first.
pub async fn escalated_to_open(
    conn: &mut PgConnection,
    user: i64,
    limit: i64,
) -> sqlx::Result<Vec<QueueLine>> {
    sqlx::query_as(queue_sql(
        &format!("r.escalated_to = $1 AND r.state IN {OPEN_STATES}"),
        "r.state_changed_at, r.id",
        "LIMIT $2",
    ))
    .bind(user)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Every request of a client, newest first.
pub async fn for_client(conn: &mut PgConnection, client_id: i64) -> sqlx::Result<Vec<QueueLine>> {
    sqlx::query_as(queue_sql("r.client_id = $1", "r.id DESC", "LIMIT 200"))
        .bind(client_id)
        .fetch_all(conn)
        .await
}

/// A page of requests, newest first, optionally in one state: the page after (older than)
/// or before (newer than) an id, as `keyset` says, one line more than it shows.
pub async fn page(
    conn: &mut PgConnection,
    state: Option<State>,
    keyset: &crate::web::pages::Keyset,
) -> sqlx::Result<Vec<QueueLine>> {
    // A statement per state rather than `$1 = '' OR state = $1`, whose one plan cannot walk
    // the (state, id) index for a filter and the primary key without one. The state's key and
    // the page's length are written in (one of a fixed few, and numbers), so PostgreSQL keeps
    // each statement's plan instead of planning it on every execution; the edge is bound.
    let mut filter = match state {
        None => "TRUE".to_string(),
        Some(state) => format!("r.state = '{}'", state.key()),
    };
    let (edge, order) = match (keyset.before, keyset.after) {
        (Some(id), _) => {
            filter.push_str(" AND r.id < $1");
            (Some(id), "r.id DESC")
        }
        (None, Some(id)) => {
            filter.push_str(" AND r.id > $1");
            (Some(id), "r.id ASC")
        }
        (None, None) => (None, "r.id DESC"),
    };
    let sql = queue_sql(&filter, order, &format!("LIMIT {}", keyset.limit()));
    match edge {
        Some(id) => sqlx::query_as(sql).bind(id).fetch_all(conn).await,
        None => sqlx::query_as(sql).fetch_all(conn).await,
    }
}

/// A reason that can be chosen.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ReasonOption {
    pub id: i64,
    pub label: String,
}

/// The reasons offered, plus `keep` (a request's own reason, retired since it was filed).
pub async fn reasons(
    conn: &mut PgConnection,
    keep: Option<i64>,
) -> sqlx::Result<Vec<ReasonOption>> {
    sqlx::query_as(
        "SELECT id, label FROM change_reasons
          WHERE retired_at IS NULL OR id = $1
          ORDER BY position, label",
    )
    .bind(keep)
    .fetch_all(conn)
    .await
}

/// One timeline entry, as recorded (timeline.rs tells it as a sentence).
#[derive(Debug, sqlx::FromRow)]
pub struct Event {
    /// How many entries the whole timeline has.
    pub total: i64,
    pub at: DateTime<Utc>,
    pub actor_label: String,
    /// The acting user's name and roles as they are now (none for the desk itself).
    pub actor_name: Option<String>,
    pub actor_roles: Option<Vec<String>>,
    pub action: String,
    pub details: serde_json::Value,
    /// What happened, as a sentence (told once the page's names are known).
    #[sqlx(skip)]
    pub what: String,
}

/// The latest `shown` entries of request `id`'s timeline (all with `None`), oldest first.
pub async fn timeline(
    conn: &mut PgConnection,
    id: i64,
    shown: Option<i64>,
) -> sqlx::Result<Vec<Event>> {
    sqlx::query_as(
        "SELECT total, at, actor_label, u.display_name AS actor_name, u.roles AS actor_roles,
                action, details FROM (
            SELECT id, count(*) OVER () AS total, at, actor_id, actor_label, action, details
              FROM audit_events
             WHERE entity_type = 'change_request' AND entity_id = $1
             ORDER BY id DESC LIMIT $2) latest
          LEFT JOIN users u ON u.id = latest.actor_id
          ORDER BY latest.id",
    )
    .bind(id.to_string())
    .bind(shown)
    .fetch_all(conn)
    .await
}

/// Keeps why the request was withdrawn.
pub async fn set_withdrawn_reason(
    conn: &mut PgConnection,
    id: i64,
    reason: &str,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE change_requests SET withdrawn_reason = $2 WHERE id = $1")
        .bind(id)
        .bind(reason)
        .execute(conn)
        .await?;
    Ok(())
}

/// Sets a request's dates (the planner's move; the caller moves every copy).
pub async fn set_dates(
    conn: &mut PgConnection,
    id: i64,
    effective: NaiveDate,
    resume: Option<NaiveDate>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE change_requests SET effective_date = $2, resume_date = $3, version = version + 1
          WHERE id = $1",
    )
    .bind(id)
    .bind(effective)
    .bind(resume)
    .execute(conn)
    .await?;
    Ok(())
}

/// Moves the open reinstatements of request `id` to its new dates; returns them.
pub async fn move_open_reversals(
    conn: &mut PgConnection,
    id: i64,
    effective: NaiveDate,
    resume: Option<NaiveDate>,
) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "UPDATE change_requests SET effective_date = $2, resume_date = $3, version = version + 1
          WHERE reverses_id = $1
            AND state IN ('draft', 'with_retention', 'in_approval', 'changes_requested')
          RETURNING id",
    )
    .bind(id)
    .bind(effective)
    .bind(resume)
    .fetch_all(conn)
    .await
}

/// Marks request `id` as the reinstatement that undoes request `original`.
pub async fn set_reverses(conn: &mut PgConnection, id: i64, original: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE change_requests SET reverses_id = $2 WHERE id = $1")
        .bind(id)
        .bind(original)
        .execute(conn)
        .await?;
    Ok(())
}

/// Stamps the request completed (its state moves with `transition`).
pub async fn mark_completed(conn: &mut PgConnection, id: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE change_requests SET completed_at = now() WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sql_open_states_are_the_rules_open_states() {
        let sql: Vec<&str> = OPEN_STATES
            .trim_matches(|c| c == '(' || c == ')')
            .split(", ")
            .map(|s| s.trim_matches('\''))
            .collect();
        let rules: Vec<&str> = State::ALL
            .into_iter()
            .filter(|s| s.is_open())
            .map(State::key)
            .collect();
        assert_eq!(sql, rules);
        let migration = include_str!("../../migrations/20261125000006_change_requests.sql");
        assert!(
            migration.contains(&format!("WHERE state IN {OPEN_STATES}")),
            "the partial unique index agrees"
        );
    }

    #[test]
    fn waiting_times_read_naturally() {
        assert_eq!(waited(chrono::Duration::minutes(0)), "under a minute");
        assert_eq!(waited(chrono::Duration::minutes(1)), "1 minute");
        assert_eq!(waited(chrono::Duration::minutes(59)), "59 minutes");
        assert_eq!(waited(chrono::Duration::hours(1)), "1 hour");
        assert_eq!(waited(chrono::Duration::hours(23)), "23 hours");
        assert_eq!(waited(chrono::Duration::days(3)), "3 days");
        assert_eq!(waited(chrono::Duration::seconds(-5)), "under a minute");
    }
}
