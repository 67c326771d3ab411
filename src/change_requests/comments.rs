//! Comments on a request escalated to a team lead or the department manager: the person it was
//! escalated to comments, the account manager replies, and each is emailed the other's words.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::db;
use super::rules;
use crate::auth::roles::Who;

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
    /// `any`: whether the request has comments (the page's probe read it); none, no statement.
    pub async fn load(
        conn: &mut PgConnection,
        request: &db::RequestRow,
        any: bool,
        viewer: Who,
    ) -> sqlx::Result<Self> {
        Ok(CommentsPanel {
            comments: if any {
                for_request(conn, request.id).await?
            } else {
                Vec::new()
            },
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
