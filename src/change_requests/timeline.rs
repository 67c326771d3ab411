//! The request's timeline: its audit records, each told as a sentence.

use sqlx::PgConnection;

use super::db::{self, Event};
use super::rules;

/// The latest part of the request's timeline.
#[derive(Debug)]
pub struct Timeline {
    pub events: Vec<Event>,
    /// Entries older than those shown (0 when the whole timeline is shown).
    pub earlier: i64,
}

impl Timeline {
    /// The latest `shown` entries of request `id`'s timeline (all with `None`).
    pub(super) async fn load(
        conn: &mut PgConnection,
        id: i64,
        shown: Option<i64>,
    ) -> sqlx::Result<Self> {
        let events = db::timeline(conn, id, shown).await?;
        let earlier = events.first().map_or(0, |e| e.total - events.len() as i64);
        Ok(Timeline { events, earlier })
    }
}

impl Event {
    /// What happened, as a sentence.
    pub fn what(&self) -> String {
        match self.action.as_str() {
            "change_request.filed" => "Filed".into(),
            "change_request.edited" => {
                let mut fields: Vec<String> = self.details["changes"]
                    .as_object()
                    .map(|m| m.keys().map(|k| k.replace('_', " ")).collect())
                    .unwrap_or_default();
                fields.sort();
                format!("Edited: {}", fields.join(", "))
            }
            "change_request.withdrawn" => format!(
                "Withdrawn: {}",
                self.details["reason"].as_str().unwrap_or("")
            ),
            "change_request.question_asked" => "Asked the SEM specialist a question".into(),
            "change_request.question_answered" => "The SEM specialist answered".into(),
            "change_request.document_attached" => format!(
                "Attached the signed document {}",
                self.details["name"].as_str().unwrap_or("")
            ),
            "change_request.commented" => "Commented".into(),
            "change_request.submitted" => match self.details["round"].as_i64() {
                Some(n) if n > 1 => format!("Submitted again for approval (submission {n})"),
                _ => "Submitted for approval".into(),
            },
            "change_request.step_approved" => {
                let step = self.details["step"].as_str().unwrap_or("");
                match self.details["comment"].as_str().filter(|c| !c.is_empty()) {
                    Some(c) => format!("Approved {step}: “{c}”"),
                    None => format!("Approved {step}"),
                }
            }
            "change_request.sent_back" => format!(
                "Sent back at {}: “{}”",
                self.details["step"].as_str().unwrap_or(""),
                self.details["reason"].as_str().unwrap_or("")
            ),
            "change_request.approved" => "Approved by every step; the change task is open".into(),
            "change_request.processed" => "Processed by Accounting".into(),
            "change_request.reinstatement_filed" => format!(
                "Asked to reinstate the client (request #{})",
                self.details["reversal_id"]
            ),
            "checklist.ticked" => format!(
                "Offboarding: {}{}",
                self.details["title"].as_str().unwrap_or(""),
                self.details["note"]
                    .as_str()
                    .filter(|n| !n.is_empty())
                    .map(|n| format!(" (“{n}”)"))
                    .unwrap_or_default()
            ),
            "checklist.undone" => format!(
                "Offboarding: undid “{}”: {}",
                self.details["title"].as_str().unwrap_or(""),
                self.details["reason"].as_str().unwrap_or("")
            ),
            "checklist.sent_back" => format!(
                "Offboarding: sent “{}” back to the contractor: {}",
                self.details["title"].as_str().unwrap_or(""),
                self.details["reason"].as_str().unwrap_or("")
            ),
            "change_request.dates_moved" | "planner.dates_moved" => {
                let changes = &self.details["changes"];
                let day = |v: &serde_json::Value| {
                    v.as_str()
                        .and_then(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
                        .map(crate::time::day)
                };
                let mut sentence = format!(
                    "Moved the effective date from {} to {}",
                    day(&changes["effective_date"]["from"]).unwrap_or_default(),
                    day(&changes["effective_date"]["to"]).unwrap_or_default()
                );
                let (from, to) = (
                    day(&changes["resume_date"]["from"]),
                    day(&changes["resume_date"]["to"]),
                );
                if from != to {
                    sentence.push_str(&format!(
                        "; the resume date from {} to {}",
                        from.unwrap_or_else(|| "none".into()),
                        to.unwrap_or_else(|| "none".into())
                    ));
                }
                sentence
            }
            "change_request.step_flagged" => format!(
                "{} waits on the admin: {}",
                self.details["step"].as_str().unwrap_or(""),
                self.details["why"].as_str().unwrap_or("")
            ),
            "change_request.step_rerouted" => format!(
                "{} went back to {}: {}",
                self.details["step"].as_str().unwrap_or(""),
                self.details["to"].as_str().unwrap_or(""),
                self.details["why"].as_str().unwrap_or("")
            ),
            "change_task.forwarded" => format!(
                "Forwarded the change task to {}",
                self.details["to_name"]
                    .as_str()
                    .unwrap_or("the SEM specialist")
            ),
            "change_task.planner_added" => "Added the client to the planner sheet".into(),
            "change_task.status_updated" => format!(
                "Updated the account status to {}",
                self.details["to"]
                    .as_str()
                    .and_then(crate::operations::rules::Status::from_key)
                    .map(|s| s.task_label().to_lowercase())
                    .unwrap_or_default()
            ),
            "change_task.done" => "Marked the change task done".into(),
            "sem_task.done" => "Ticked “ads paused”".into(),
            "change_request.completed" => "Completed: everything after approval is done".into(),
            "change_request.account_manager_changed" => format!(
                "The client was handed from {} to {}: the request is theirs now",
                self.details["from_name"].as_str().unwrap_or(""),
                self.details["to_name"].as_str().unwrap_or("")
            ),
            "change_request.sem_work_handed_over" => format!(
                "The SEM work was handed from {} (who can no longer do it, or no longer has the client) to {}",
                self.details["from_name"].as_str().unwrap_or(""),
                self.details["to_name"].as_str().unwrap_or("")
            ),
            "change_request.reinstated" => format!(
                "Reinstated: undone by request #{}",
                self.details["reversal_id"]
            ),
            "change_request.step_reassigned" => format!(
                "Handed {} from {} to {}",
                self.details["step"].as_str().unwrap_or(""),
                self.details["from"].as_str().unwrap_or(""),
                self.details["to"].as_str().unwrap_or("")
            ),
            "change_request.retention_outcome" if !self.details["corrected_from"].is_null() => {
                format!(
                    "Retention call corrected: {} (was: {})",
                    self.details["outcome"]
                        .as_str()
                        .and_then(rules::Outcome::from_key)
                        .map(rules::Outcome::label)
                        .unwrap_or(""),
                    self.details["corrected_from"]
                        .as_str()
                        .and_then(rules::Outcome::from_key)
                        .map(rules::Outcome::label)
                        .unwrap_or("")
                )
            }
            "change_request.retention_outcome" => format!(
                "Retention call recorded: {}",
                self.details["outcome"]
                    .as_str()
                    .and_then(rules::Outcome::from_key)
                    .map(rules::Outcome::label)
                    .unwrap_or("")
            ),
            other => other
                .trim_start_matches("change_request.")
                .replace('_', " "),
        }
    }
}
