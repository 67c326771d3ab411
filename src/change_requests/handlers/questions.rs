//! Asking the client's SEM specialist a question, and answering it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::Form;
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;

use crate::audit::{self, Actor};
use crate::change_requests::views::show_page;
use crate::change_requests::{db, notify, rules};
use crate::web::AppState;
use crate::web::ctx::{Ctx, commit_and_go};
use crate::web::error::{AppError, AppResult};

#[derive(Debug, Deserialize)]
pub(in crate::change_requests) struct TextForm {
    #[serde(default)]
    text: String,
}

fn check(text: &str, what: &str) -> Result<String, String> {
    crate::web::text::required(text, 4000, &format!("Write the {what} first."))
}

#[tracing::instrument(level = "debug", skip_all, fields(request = id))]
pub(in crate::change_requests) async fn ask(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<TextForm>,
) -> AppResult<Response> {
    let question = match check(&form.text, "question") {
        Ok(q) => q,
        Err(message) => {
            let mut page = show_page(&state, &ctx, id).await?;
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
    notify::question_asked(&mut tx, &state.config, &request, sem, asker, &question).await?;
    commit_and_go(
        tx,
        &format!("/requests/{id}"),
        "Question sent to the SEM specialist.",
    )
    .await
}

#[tracing::instrument(level = "debug", skip_all, fields(question = qid))]
pub(in crate::change_requests) async fn answer(
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
            let mut page = show_page(&state, &ctx, request_id).await?;
            page.questions.answer_for = Some(qid);
            page.questions.answer_text = form.text;
            page.questions.answer_error = message;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let back = format!("/requests/{request_id}");
    if let Err(refusal) = rules::may_answer(ctx.who(), question.asked_to, question.answered) {
        return commit_and_go(tx, &back, &format!("Nothing was saved. {refusal}")).await;
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
    notify::question_answered(&mut tx, config, &request, asked_by, by, &answer).await?;
    commit_and_go(tx, &back, "Answer saved; the account manager is told.").await
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
