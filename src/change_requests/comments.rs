//! Comments on a request escalated to a team lead or the department manager: the person it was
//! escalated to comments, the account manager replies, and each is emailed the other's words.

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

/// Longest comment, in characters.
pub const MAX_CHARS: usize = 4000;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct CommentRow {
    pub author_name: String,
    pub body: String,
    pub at: DateTime<Utc>,
}

impl CommentRow {}

/// The comments part of a request's page, with the comment as typed when it needs another look.
#[derive(Debug, Default)]
pub struct CommentsPanel {
    pub comments: Vec<CommentRow>,
    pub may_comment: bool,
    pub text: String,
    pub error: String,
}

impl CommentsPanel {
    pub async fn load(
        conn: &mut PgConnection,
        request: &db::RequestRow,
        viewer: Who,
    ) -> sqlx::Result<Self> {
        Ok(CommentsPanel {
            comments: for_request(conn, request.id).await?,
            may_comment: rules::may_comment(viewer, request.facts(), request.escalated_to).is_ok(),
            ..Default::default()
        })
    }
}

pub async fn for_request(
    conn: &mut PgConnection,
    request_id: i64,
) -> sqlx::Result<Vec<CommentRow>> {
    sqlx::query_as(
        "SELECT u.display_name AS author_name, c.body, c.at
           FROM request_comments c JOIN users u ON u.id = c.author
          WHERE c.change_request_id = $1
          ORDER BY c.id",
    )
    .bind(request_id)
    .fetch_all(conn)
    .await
}

#[derive(Debug, Deserialize)]
pub(super) struct CommentForm {
    #[serde(default)]
    text: String,
}

pub(super) async fn add(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<CommentForm>,
) -> AppResult<Response> {
    let body = match crate::web::text::required(&form.text, MAX_CHARS, "Write the comment first.") {
        Ok(b) => b,
        Err(message) => {
            let mut page = super::show_page(&state, &ctx, id).await?;
            page.comments.text = form.text;
            page.comments.error = message;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let mut tx = state.db.begin().await?;
    let request = db::lock(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let who = ctx.who();
    if let Err(refusal) = rules::may_comment(who, request.facts(), request.escalated_to) {
        return commit_and_go(
            tx,
            &ctx,
            &format!("/requests/{id}"),
            &format!("Nothing was saved. {refusal}"),
        )
        .await;
    }
    sqlx::query(
        "INSERT INTO request_comments (change_request_id, author, body) VALUES ($1, $2, $3)",
    )
    .bind(id)
    .bind(ctx.user.id)
    .bind(&body)
    .execute(&mut *tx)
    .await?;
    audit::on_request(
        &mut tx,
        &Actor::from_ctx(&ctx),
        "change_request.commented",
        id,
        json!({ "comment": body }),
    )
    .await?;
    // The other side of the conversation hears of it.
    let other = if Some(ctx.user.id) == request.escalated_to {
        request
            .client_account_manager_id
            .unwrap_or(request.filed_by)
    } else {
        request.escalated_to.expect("checked by may_comment")
    };
    if other != ctx.user.id {
        let by = &ctx.user.display_name;
        super::notify::commented(&mut tx, &state.config, &request, other, by, &body).await?;
    }
    commit_and_go(tx, &ctx, &format!("/requests/{id}"), "Comment added.").await
}
