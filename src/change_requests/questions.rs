//! Questions to the client's SEM specialist: the account manager asks on the request, the
//! specialist is emailed and answers there, and the account manager is emailed the answer.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::Form;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;

use super::db;
use super::rules::{self, Who};
use crate::audit::{self, Actor};
use crate::web::AppState;
use crate::web::ctx::{Ctx, commit_and_go};
use crate::web::error::{AppError, AppResult};

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
    pub async fn load(
        conn: &mut PgConnection,
        request: &db::RequestRow,
        viewer: Who,
    ) -> sqlx::Result<Self> {
        Ok(QuestionsPanel {
            questions: for_request(conn, request.id).await?,
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

#[derive(Debug, Deserialize)]
pub(super) struct TextForm {
    #[serde(default)]
    text: String,
}

fn check(text: &str, what: &str) -> Result<String, String> {
    crate::web::text::required(text, 4000, &format!("Write the {what} first."))
}

pub(super) async fn ask(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<TextForm>,
) -> AppResult<Response> {
    let question = match check(&form.text, "question") {
        Ok(q) => q,
        Err(message) => {
            let mut page = super::show_page(&state, &ctx, id).await?;
            page.questions.text = form.text;
            page.questions.error = message;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let mut tx = state.db.begin().await?;
    let request = db::lock(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let who = ctx.who();
    if let Err(refusal) = rules::may_ask(who, request.facts(), request.client_sem_specialist_id) {
        return commit_and_go(
            tx,
            &ctx,
            &format!("/requests/{id}"),
            &format!("Nothing was sent. {refusal}"),
        )
        .await;
    }
    let sem = request
        .client_sem_specialist_id
        .expect("checked by may_ask");
    let qid: i64 = sqlx::query_scalar(
        "INSERT INTO request_questions (change_request_id, asked_by, asked_to, question)
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(id)
    .bind(ctx.user.id)
    .bind(sem)
    .bind(&question)
    .fetch_one(&mut *tx)
    .await?;
    audit::on_request(
        &mut tx,
        &Actor::from_ctx(&ctx),
        "change_request.question_asked",
        id,
        json!({ "question_id": qid, "asked_to": sem }),
    )
    .await?;
    let asker = &ctx.user.display_name;
    super::notify::question_asked(&mut tx, &state.config, &request, sem, asker, &question).await?;
    commit_and_go(
        tx,
        &ctx,
        &format!("/requests/{id}"),
        "Question sent to the SEM specialist.",
    )
    .await
}

pub(super) async fn answer(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(qid): Path<i64>,
    Form(form): Form<TextForm>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let question = lock_question(&mut tx, qid)
        .await?
        .ok_or(AppError::NotFound)?;
    let request_id = question.request_id;
    let answer = match check(&form.text, "answer") {
        Ok(answer) => answer,
        Err(message) => {
            drop(tx);
            let mut page = super::show_page(&state, &ctx, request_id).await?;
            page.questions.answer_for = Some(qid);
            page.questions.answer_text = form.text;
            page.questions.answer_error = message;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let back = format!("/requests/{request_id}");
    if let Err(refusal) = rules::may_answer(ctx.who(), question.asked_to, question.answered) {
        return commit_and_go(tx, &ctx, &back, &format!("Nothing was saved. {refusal}")).await;
    }
    save_answer(&mut tx, qid, &answer, ctx.user.id).await?;
    let record = json!({ "question_id": qid });
    let actor = Actor::from_ctx(&ctx);
    audit::on_request(
        &mut tx,
        &actor,
        "change_request.question_answered",
        request_id,
        record,
    )
    .await?;
    let request = db::find(&mut tx, request_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (config, asked_by, by) = (&state.config, question.asked_by, &ctx.user.display_name);
    super::notify::question_answered(&mut tx, config, &request, asked_by, by, &answer).await?;
    commit_and_go(
        tx,
        &ctx,
        &back,
        "Answer saved; the account manager is told.",
    )
    .await
}

/// A question, locked, with what answering it depends on.
#[derive(sqlx::FromRow)]
struct Asked {
    request_id: i64,
    asked_to: i64,
    answered: bool,
    asked_by: i64,
}

async fn lock_question(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<Asked>> {
    sqlx::query_as(
        "SELECT q.change_request_id AS request_id, q.asked_to, q.answer IS NOT NULL AS answered,
                q.asked_by
           FROM request_questions q WHERE q.id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
}

async fn save_answer(conn: &mut PgConnection, id: i64, answer: &str, by: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE request_questions SET answer = $2, answered_by = $3, answered_at = now()
          WHERE id = $1",
    )
    .bind(id)
    .bind(answer)
    .bind(by)
    .execute(conn)
    .await?;
    Ok(())
}
