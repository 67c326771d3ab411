//! Commenting on a request.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::Form;
use serde::Deserialize;
use serde_json::json;

use crate::audit::{self, Actor};
use crate::change_requests::comments::MAX_CHARS;
use crate::change_requests::views::show_page;
use crate::change_requests::{db, notify, rules};
use crate::web::AppState;
use crate::web::ctx::{Ctx, commit_and_go};
use crate::web::error::{AppError, AppResult};

#[derive(Debug, Deserialize)]
pub(in crate::change_requests) struct CommentForm {
    #[serde(default)]
    text: String,
}

#[tracing::instrument(level = "debug", skip_all, fields(request = id))]
pub(in crate::change_requests) async fn add(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<CommentForm>,
) -> AppResult<Response> {
    let body = match crate::web::text::required(&form.text, MAX_CHARS, "Write the comment first.") {
        Ok(b) => b,
        Err(message) => {
            let mut page = show_page(&state, &ctx, id).await?;
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
        notify::commented(&mut tx, &state.config, &request, other, by, &body).await?;
    }
    commit_and_go(tx, &format!("/requests/{id}"), "Comment added.").await
}
