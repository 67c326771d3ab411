//! The admin's mail log: every message with its state, bodies and errors; retry a failed one;
//! send a test message; see the scheduled jobs.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use super::{emails, outbox};
use crate::audit::{self, Actor};
use crate::web::AppState;
use crate::web::ctx::{Ctx, commit_and_go, encode_component};
use crate::web::error::{AppError, AppResult};
use crate::web::pages::{Chrome, Keyset};

const PER_PAGE: i64 = 50;

/// A message as the log shows it.
#[derive(Debug, sqlx::FromRow)]
pub struct MessageRow {
    pub id: i64,
    pub kind: String,
    pub to_addrs: Vec<String>,
    pub subject: String,
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub message_id: String,
    pub body_text: String,
}

impl MessageRow {
    /// queued, retrying, sending, sent or failed.
    pub fn shown_state(&self) -> &'static str {
        match self.state.as_str() {
            "queued" if self.attempts > 0 => "retrying",
            "queued" => "queued",
            "sending" => "sending",
            "sent" => "sent",
            _ => "failed",
        }
    }

    pub fn recipients(&self) -> String {
        self.to_addrs.join(", ")
    }

    pub fn created(&self) -> String {
        fmt_time(self.created_at)
    }

    pub fn next_try(&self) -> String {
        fmt_time(self.next_attempt_at)
    }

    pub fn sent(&self) -> String {
        self.sent_at.map(fmt_time).unwrap_or_default()
    }

    pub fn error(&self) -> &str {
        self.last_error.as_deref().unwrap_or("")
    }
}

fn fmt_time(t: DateTime<Utc>) -> String {
    crate::time::local_precise(t)
}

const STATES: [&str; 5] = ["queued", "retrying", "sending", "sent", "failed"];

#[derive(Debug, Deserialize)]
pub struct LogQuery {
    state: Option<String>,
    before: Option<i64>,
}

#[derive(Template, WebTemplate)]
#[template(path = "notifications/mail_log.html")]
pub(super) struct LogPage {
    chrome: Chrome,
    messages: Vec<MessageRow>,
    state: String,
    states: [&'static str; 5],
    older_href: Option<String>,
    writes_files: bool,
    mail_dir: String,
}

pub(super) async fn log_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<LogQuery>,
) -> AppResult<LogPage> {
    let filter = q
        .state
        .filter(|s| STATES.contains(&s.as_str()))
        .unwrap_or_default();
    // "retrying" is a queued message that has failed before.
    let (db_state, retried) = match filter.as_str() {
        "" => (String::new(), None),
        "retrying" => ("queued".to_string(), Some(true)),
        "queued" => ("queued".to_string(), Some(false)),
        other => (other.to_string(), None),
    };
    let mut messages: Vec<MessageRow> = sqlx::query_as(
        "SELECT id, kind, to_addrs, signing_secrets_withheld(kind, subject) AS subject, state,
                attempts, next_attempt_at, last_error, created_at, sent_at, message_id,
                signing_secrets_withheld(kind, body_text) AS body_text
           FROM outbox_messages
          WHERE ($1::bigint IS NULL OR id < $1)
            AND ($2 = '' OR state = $2)
            AND ($3::bool IS NULL OR (attempts > 0) = $3)
          ORDER BY id DESC
          LIMIT $4",
    )
    .bind(q.before)
    .bind(&db_state)
    .bind(retried)
    .bind(PER_PAGE + 1)
    .fetch_all(&state.db)
    .await?;
    let older_href = if messages.len() as i64 > PER_PAGE {
        messages.truncate(PER_PAGE as usize);
        messages
            .last()
            .map(|m| format!("?before={}&state={}", m.id, encode_component(&filter)))
    } else {
        None
    };
    Ok(LogPage {
        chrome: Chrome::new(&state, &ctx, "/admin/mail"),
        messages,
        state: filter,
        states: STATES,
        older_href,
        writes_files: state.config.mail.smtp.is_none(),
        mail_dir: state.config.mail.dir.display().to_string(),
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "notifications/mail_message.html")]
pub(super) struct MessagePage {
    chrome: Chrome,
    m: MessageRow,
}

async fn find(state: &AppState, id: i64) -> AppResult<MessageRow> {
    sqlx::query_as(
        "SELECT id, kind, to_addrs, signing_secrets_withheld(kind, subject) AS subject, state,
                attempts, next_attempt_at, last_error, created_at, sent_at, message_id,
                signing_secrets_withheld(kind, body_text) AS body_text
           FROM outbox_messages WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&state.db)
    .await?
    .ok_or(AppError::NotFound)
}

pub(super) async fn message_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> AppResult<MessagePage> {
    let m = find(&state, id).await?;
    Ok(MessagePage {
        chrome: Chrome::new(&state, &ctx, "/admin/mail"),
        m,
    })
}

/// The HTML body as sent, shown sandboxed: no script, no requests, no form posts.
pub(super) async fn message_html(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let html: String = sqlx::query_scalar(
        "SELECT signing_secrets_withheld(kind, body_html) FROM outbox_messages WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&state.db)
    .await?
    .ok_or(AppError::NotFound)?;
    let mut res = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    // Its own policy, stricter than the app's: a sandbox, inline styles only, nothing loaded.
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
             base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ),
    );
    Ok(res)
}

pub(super) async fn retry(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let current: String =
        sqlx::query_scalar("SELECT state FROM outbox_messages WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(AppError::NotFound)?;
    let message = if current == "failed" {
        sqlx::query(
            "UPDATE outbox_messages SET state = 'queued', attempts = 0, next_attempt_at = now()
              WHERE id = $1",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            &Actor::from_ctx(&ctx),
            "mail.retried",
            "outbox_message",
            Some(id.to_string()),
            json!({}),
        )
        .await?;
        "The message is queued again and will be sent in a moment.".to_string()
    } else {
        format!("The message is {current}, not failed; nothing changed.")
    };
    commit_and_go(tx, &format!("/admin/mail/{id}"), &message).await
}

pub(super) async fn send_test(State(state): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    let email = emails::test_email(
        &state.config.base_url,
        &ctx.user.email,
        &ctx.user.display_name,
    )?;
    let mut tx = state.db.begin().await?;
    let id = outbox::enqueue(&mut tx, &state.config.mail, &email).await?;
    audit::record(
        &mut tx,
        &Actor::from_ctx(&ctx),
        "mail.test_queued",
        "outbox_message",
        id.map(|i| i.to_string()),
        json!({ "to": ctx.user.email }),
    )
    .await?;
    commit_and_go(
        tx,
        "/admin/mail",
        &format!("A test message to {} is queued.", ctx.user.email),
    )
    .await
}

/// A scheduled job as the list shows it.
#[derive(Debug, sqlx::FromRow)]
pub struct JobRow {
    pub id: i64,
    pub key: String,
    pub kind: String,
    pub run_at: DateTime<Utc>,
    pub state: String,
    pub attempts: i32,
    pub last_error: Option<String>,
}

impl JobRow {
    pub fn when(&self) -> String {
        fmt_time(self.run_at)
    }

    pub fn error(&self) -> &str {
        self.last_error.as_deref().unwrap_or("")
    }
}

#[derive(Debug, Deserialize)]
pub struct JobsQuery {
    state: Option<String>,
    before: Option<i64>,
    after: Option<i64>,
}

#[derive(Template, WebTemplate)]
#[template(path = "notifications/jobs.html")]
pub(super) struct JobsPage {
    chrome: Chrome,
    jobs: Vec<JobRow>,
    state: String,
    pager: Keyset,
}

pub(super) async fn jobs_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<JobsQuery>,
) -> AppResult<JobsPage> {
    let filter = q
        .state
        .filter(|s| ["pending", "done", "failed", "cancelled"].contains(&s.as_str()))
        .unwrap_or_default();
    let mut pager = Keyset::new(q.before, q.after, 50);
    pager.keep = format!("&state={}", encode_component(&filter));
    // From the job at the page's edge (its time read from its own row), latest first.
    let (from, order) = pager.range(
        true,
        "run_at, id",
        "SELECT e.run_at, e.id FROM scheduled_jobs e",
        2,
    );
    let query = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT id, key, kind, run_at, state, attempts, last_error FROM scheduled_jobs
          WHERE ($1 = '' OR state = $1) {from}
          ORDER BY run_at {order}, id {order}
          LIMIT {}",
        pager.limit()
    )))
    .bind(&filter);
    let rows = match pager.edge() {
        Some(id) => query.bind(id).fetch_all(&state.db).await?,
        None => query.fetch_all(&state.db).await?,
    };
    let jobs = pager.trim(rows, |j: &JobRow| j.id);
    Ok(JobsPage {
        chrome: Chrome::new(&state, &ctx, "/admin/mail"),
        jobs,
        state: filter,
        pager,
    })
}
