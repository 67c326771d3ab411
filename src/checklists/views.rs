//! The checklist's panel on the request's page.

use sqlx::PgConnection;

use super::db::{self, ItemRow};
use super::rules;
use crate::auth::roles::Who;
use crate::change_requests::db::RequestRow;

/// The checklist part of a request's page: its items and what the viewer may do with each.
#[derive(Debug)]
pub struct ChecklistPanel {
    pub items: Vec<ItemRow>,
    viewer: Who,
    /// The request is no longer approved: nothing is ticked or undone any more.
    closed: bool,
    /// The item whose note (ticking) or reason (undo, send back) needs another look, which of
    /// the two fields (`"note"` or `"reason"`), the message and what was typed.
    pub error_for: Option<i64>,
    pub error_field: &'static str,
    pub error: String,
    pub text: String,
}

impl ChecklistPanel {
    /// The checklist of `r` as `viewer` sees it.
    /// `any`: whether the request has checklist items (the page's probe read it); none, no
    /// statement.
    pub async fn load(
        conn: &mut PgConnection,
        r: &RequestRow,
        any: bool,
        viewer: Who,
    ) -> sqlx::Result<Self> {
        Ok(ChecklistPanel {
            items: if any {
                db::for_request(conn, r.id).await?
            } else {
                Vec::new()
            },
            viewer,
            closed: r.state != crate::change_requests::rules::State::Approved,
            error_for: None,
            error_field: "",
            error: String::new(),
            text: String::new(),
        })
    }

    pub fn done(&self) -> usize {
        self.items.iter().filter(|i| i.done_at.is_some()).count()
    }

    pub fn total(&self) -> usize {
        self.items
            .iter()
            .filter(|i| i.cancelled_at.is_none())
            .count()
    }

    pub fn may_tick(&self, item: &ItemRow) -> bool {
        item.may_tick(self.viewer)
    }

    /// Whether the viewer may undo `item`'s tick (the verification, if any, not yet ticked).
    pub fn may_undo(&self, item: &ItemRow) -> bool {
        let verified = self
            .items
            .iter()
            .any(|v| v.verifies_id == Some(item.id) && v.done_at.is_some());
        let facts = rules::UndoFacts {
            owner: item.owner_role,
            done_by: item.done_by,
            verification_done: verified,
            closed: self.closed,
        };
        rules::may_undo(self.viewer, facts).is_ok()
    }

    /// Whether the viewer may send a contractor's tick back (from its verification item).
    pub fn may_send_back(&self, item: &ItemRow) -> bool {
        item.verifies_id.is_some()
            && rules::may_send_back(
                self.viewer,
                item.assignee,
                item.verified_item_done.unwrap_or(false),
                item.done_at.is_some(),
                self.closed,
            )
            .is_ok()
    }

    /// The message for `item`'s `field`, when that is the one to look at again.
    pub fn error_in(&self, item: &ItemRow, field: &str) -> &str {
        if self.error_for == Some(item.id) && self.error_field == field {
            &self.error
        } else {
            ""
        }
    }
}
