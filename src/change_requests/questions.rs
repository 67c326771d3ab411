//! Questions to the client's SEM specialist: the account manager asks on the request, the
//! specialist is emailed and answers there, and the account manager is emailed the answer.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::db;
use super::rules;
use crate::auth::roles::Who;

/// A question and its answer, as the request's page shows them.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct QuestionRow {
    pub id: i64,
    pub asked_by_name: String,
    pub asked_to: i64,
    pub asked_to_name: String,
    pub question: String,
    pub asked_at: DateTime<Utc>,
    pub answer: Option<String>,
    pub answered_at: Option<DateTime<Utc>>,
}

impl QuestionRow {
    pub fn answered(&self) -> String {
        self.answered_at.map(crate::time::local).unwrap_or_default()
    }
}

/// The questions part of a request's page: each question, its answer or the form for it, and
/// the form to ask, with what was typed when it needs another look.
#[derive(Debug)]
pub struct QuestionsPanel {
    pub questions: Vec<QuestionRow>,
    pub may_ask: bool,
    viewer: Who,
    pub text: String,
    pub error: String,
    /// The answer that needs another look: its question, what was typed, the message.
    pub answer_for: Option<i64>,
    pub answer_text: String,
    pub answer_error: String,
}

impl QuestionsPanel {
    /// `any`: whether the request has questions (the page's probe read it); none, no statement.
    pub async fn load(
        conn: &mut PgConnection,
        request: &db::RequestRow,
        any: bool,
        viewer: Who,
    ) -> sqlx::Result<Self> {
        Ok(QuestionsPanel {
            questions: if any {
                for_request(conn, request.id).await?
            } else {
                Vec::new()
            },
            may_ask: rules::may_ask(viewer, request.facts(), request.client_sem_specialist_id)
                .is_ok(),
            viewer,
            text: String::new(),
            error: String::new(),
            answer_for: None,
            answer_text: String::new(),
            answer_error: String::new(),
        })
    }

    pub fn may_answer(&self, q: &QuestionRow) -> bool {
        rules::may_answer(self.viewer, q.asked_to, q.answer.is_some()).is_ok()
    }

    pub fn answer_typed(&self, q: &QuestionRow) -> &str {
        if self.answer_for == Some(q.id) {
            &self.answer_text
        } else {
            ""
        }
    }

    pub fn answer_error_for(&self, q: &QuestionRow) -> &str {
        if self.answer_for == Some(q.id) {
            &self.answer_error
        } else {
            ""
        }
    }
}

pub async fn for_request(
    conn: &mut PgConnection,
    request_id: i64,
) -> sqlx::Result<Vec<QuestionRow>> {
    sqlx::query_as(
        "SELECT q.id, a.display_name AS asked_by_name, q.asked_to, t.display_name AS asked_to_name,
                q.question, q.asked_at, q.answer, q.answered_at
           FROM request_questions q
           JOIN users a ON a.id = q.asked_by
           JOIN users t ON t.id = q.asked_to
          WHERE q.change_request_id = $1
          ORDER BY q.id",
    )
    .bind(request_id)
    .fetch_all(conn)
    .await
}

/// A question waiting on a specialist, for their desk.
#[derive(Debug, sqlx::FromRow)]
pub struct Waiting {
    pub request_id: i64,
    pub client_name: String,
    pub question: String,
    pub asked_at: DateTime<Utc>,
}

impl Waiting {
    pub fn waiting(&self) -> String {
        db::waited(Utc::now() - self.asked_at)
    }
}

pub async fn waiting_for(
    conn: &mut PgConnection,
    user: i64,
    limit: i64,
) -> sqlx::Result<Vec<Waiting>> {
    sqlx::query_as(
        "SELECT q.change_request_id AS request_id, c.name AS client_name, q.question, q.asked_at
           FROM request_questions q
           JOIN change_requests r ON r.id = q.change_request_id
           JOIN clients c ON c.id = r.client_id
          WHERE q.asked_to = $1 AND q.answer IS NULL
          ORDER BY q.asked_at, q.id
          LIMIT $2",
    )
    .bind(user)
    .bind(limit)
    .fetch_all(conn)
    .await
}
