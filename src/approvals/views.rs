//! The approval part of a request's page: where the chain stands and what the viewer may do.

use sqlx::PgConnection;

use super::chain::submit_facts;
use super::db::{self, StepRow};
use super::rules;
use crate::auth::roles::Who;
use crate::change_requests::db::RequestRow;
use crate::change_requests::rules::is_submitter;
use crate::web::error::AppResult;

/// The approval part of a request's page.
#[derive(Debug, Default)]
pub struct ApprovalPanel {
    /// The current round's steps, in order.
    pub steps: Vec<StepRow>,
    /// The viewer submits this request (the button shows).
    pub show_submit: bool,
    /// Why the button cannot be used yet; empty when it can.
    pub submit_blocked: String,
    /// The step the viewer may decide now.
    pub decide: Option<StepRow>,
    /// The approver the viewer stands in for on that step.
    pub on_behalf_of: Option<String>,
    pub comment_text: String,
    pub comment_error: String,
    pub send_back_text: String,
    pub send_back_error: String,
    pub may_process: bool,
    pub process_note: String,
    pub process_error: String,
}

impl ApprovalPanel {
    pub fn decide_id(&self) -> i64 {
        self.decide.as_ref().map(|s| s.id).unwrap_or(0)
    }

    pub fn decide_name(&self) -> &str {
        self.decide.as_ref().map(|s| s.name.as_str()).unwrap_or("")
    }
}

/// What the viewer may do about the chain on `r`, and where it stands.
pub async fn panel(
    conn: &mut PgConnection,
    viewer: Who,
    r: &RequestRow,
    today: chrono::NaiveDate,
) -> AppResult<ApprovalPanel> {
    let steps = if r.approval_round > 0 {
        db::round(conn, r.id, r.approval_round).await?
    } else {
        Vec::new()
    };
    let facts = r.facts();
    let show_submit = is_submitter(viewer, facts) && facts.state.is_editable();
    let submit_blocked = match rules::may_submit(viewer, submit_facts(r)) {
        Ok(()) => String::new(),
        Err(refusal) => refusal.0.to_string(),
    };
    let mut decide = None;
    let mut on_behalf_of = None;
    if let Some(pending) = steps.iter().find(|s| s.is_current()) {
        // Whom the viewer stands in for matters only on a step naming someone else.
        let subs = match pending.approver_user_id {
            Some(named) if named != viewer.id => {
                db::substituting_for(conn, viewer.id, today).await?
            }
            _ => Vec::new(),
        };
        if let Ok(behalf) = rules::may_decide(
            viewer,
            super::routing::decide_facts(r, pending, &steps, viewer.id),
            &subs,
        ) {
            decide = Some(pending.clone());
            on_behalf_of = behalf.and(pending.approver_name.clone());
        }
    }
    Ok(ApprovalPanel {
        steps,
        show_submit,
        submit_blocked,
        decide,
        on_behalf_of,
        may_process: rules::may_process(viewer, r.state, r.processed_at.is_some()).is_ok(),
        ..Default::default()
    })
}
