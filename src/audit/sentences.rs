//! Every audit action told as a sentence, for the request's timeline and the admin's audit
//! log: what a person did, in the department's words, with the values that changed. The
//! record itself (action key and details) stays a click away on the audit log.

use std::collections::HashMap;

use serde_json::Value;

use crate::auth::roles::{Role, RoleSet};
use crate::change_requests::rules::{CancelScope, Kind, Outcome};

/// The people audit records name by their id (an approver stood in for, a client's account
/// manager before and after), by their names now: loaded once for a page of records.
#[derive(Debug, Default)]
pub struct Names(HashMap<i64, String>);

impl Names {
    /// The names of everyone `records` name by id, in one statement (none when nobody is).
    pub async fn load<'a>(
        db: impl sqlx::PgExecutor<'_>,
        records: impl IntoIterator<Item = &'a Value>,
    ) -> sqlx::Result<Names> {
        Self::load_with(db, records, []).await
    }

    /// As [`Names::load`], with the users `also` names besides (the users records are about).
    pub async fn load_with<'a>(
        db: impl sqlx::PgExecutor<'_>,
        records: impl IntoIterator<Item = &'a Value>,
        also: impl IntoIterator<Item = i64>,
    ) -> sqlx::Result<Names> {
        let mut ids: Vec<i64> = records.into_iter().flat_map(named_ids).collect();
        ids.extend(also);
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(Names::default());
        }
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, display_name FROM users WHERE id = ANY($1)")
                .bind(&ids)
                .fetch_all(db)
                .await?;
        Ok(Names(rows.into_iter().collect()))
    }

    /// A person by id: their name, or "user #12" for an id that names nobody.
    pub fn person(&self, id: i64) -> String {
        self.0
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("user #{id}"))
    }

    /// A person by an id recorded as a JSON number, if it is one.
    fn person_at(&self, v: &Value) -> Option<String> {
        v.as_i64().map(|id| self.person(id))
    }
}

/// Fields of an edit that hold a user's id.
const USER_ID_FIELDS: [&str; 2] = ["account_manager_id", "sem_specialist_id"];

/// The user ids a record names: in the fields above, as an approver ("user:12"), as the
/// approver a substitute stood in for, or as the substitute named.
fn named_ids(details: &Value) -> Vec<i64> {
    let mut ids: Vec<i64> = ["on_behalf_of", "substitute", "asked_to"]
        .iter()
        .filter_map(|k| details[*k].as_i64())
        .collect();
    for (field, change) in edited_fields(details).into_iter().flatten() {
        // An edit's [from, to], or a value added (an added step's approver).
        let values = change
            .as_array()
            .map_or_else(|| std::slice::from_ref(change), Vec::as_slice);
        for v in values {
            if USER_ID_FIELDS.contains(&field.as_str()) {
                ids.extend(v.as_i64());
            } else if field == "approver" {
                ids.extend(approver_user(v));
            }
        }
    }
    ids
}

/// The user an approver value names ("user:12").
fn approver_user(v: &Value) -> Option<i64> {
    v.as_str()?.strip_prefix("user:")?.parse().ok()
}

/// The fields an edit records, under `changes` or at the top level.
fn edited_fields(details: &Value) -> Option<&serde_json::Map<String, Value>> {
    details
        .get("changes")
        .and_then(Value::as_object)
        .or_else(|| details.as_object())
}

/// What happened, as a sentence (without who did it: the page names them).
pub fn sentence(action: &str, details: &Value, names: &Names) -> String {
    match action {
        "change_request.filed" => {
            use crate::change_requests::rules::Escalation;
            let kind = details["kind"].as_str().and_then(Kind::from_key);
            let mut sentence = match kind {
                Some(kind) => format!("Filed the {}", kind.label().to_lowercase()),
                None => "Filed the request".into(),
            };
            if !details["reverses"].is_null() {
                sentence = format!(
                    "Filed a reinstatement undoing request #{}",
                    details["reverses"]
                );
            }
            match details["escalation"]
                .as_str()
                .and_then(Escalation::from_key)
            {
                Some(Escalation::Retention) => sentence.push_str(" and sent it to Retention"),
                Some(Escalation::TeamLead) => sentence.push_str(" and escalated it to a team lead"),
                Some(Escalation::DepartmentManager) => {
                    sentence.push_str(" and escalated it to the department manager")
                }
                Some(Escalation::None) | None => {}
            }
            sentence
        }
        "change_request.edited" => format!("Edited the {}", changes(details, names)),
        "change_request.withdrawn" => {
            format!("Withdrawn: {}", details["reason"].as_str().unwrap_or(""))
        }
        "change_request.question_asked" => format!(
            "Asked {} a question",
            names
                .person_at(&details["asked_to"])
                .unwrap_or_else(|| "the SEM specialist".into())
        ),
        "change_request.question_answered" => "Answered the question".into(),
        "change_request.document_attached" => format!(
            "Attached the signed document {}",
            details["name"].as_str().unwrap_or("")
        ),
        "change_request.commented" => "Commented".into(),
        "signature.sent" => format!(
            "Sent the addendum for signature to {} ({})",
            details["signer"].as_str().unwrap_or("the signer"),
            details["signer_email"].as_str().unwrap_or("")
        ),
        "signature.voided" => format!(
            "Voided the signature request to {}: {}",
            details["signer"].as_str().unwrap_or("the signer"),
            details["reason"].as_str().unwrap_or("")
        ),
        "signature.signed" => format!(
            "Signed the addendum as {} ({}); the sealed copy is attached",
            details["name"].as_str().unwrap_or(""),
            details["title"].as_str().unwrap_or("")
        ),
        "signature.declined" => format!(
            "Declined to sign the addendum: “{}”",
            details["reason"].as_str().unwrap_or("")
        ),
        "signature.code_refused" => format!(
            "Typed a wrong signing code ({} of 5 tries used)",
            details["tries"].as_i64().unwrap_or(0)
        ),
        "chat_channel.added" => format!(
            "Added the chat channel {} ({})",
            details["name"].as_str().unwrap_or("?"),
            details["address"].as_str().unwrap_or("")
        ),
        "chat_channel.removed" => format!(
            "Removed the chat channel {}",
            details["name"].as_str().unwrap_or("?")
        ),
        "client.signer_changed" => {
            format!("Changed who signs addendums: {}", changes(details, names))
        }
        "signature.wording_saved" => format!(
            "Saved version {} of the addendum wording",
            details["version"].as_i64().unwrap_or(0)
        ),
        "signature.unknown_link" => "Opened a signing link that does not exist".into(),
        "change_request.submitted" => match details["round"].as_i64() {
            Some(n) if n > 1 => format!("Submitted again for approval (submission {n})"),
            _ => "Submitted for approval".into(),
        },
        "change_request.step_approved" => {
            let step = details["step"].as_str().unwrap_or("");
            let behalf = standing_in(details, names);
            match details["comment"].as_str().filter(|c| !c.is_empty()) {
                Some(c) => format!("Approved at the step “{step}”{behalf}: “{c}”"),
                None => format!("Approved at the step “{step}”{behalf}"),
            }
        }
        "change_request.sent_back" => format!(
            "Sent it back at the step “{}”{}: “{}”",
            details["step"].as_str().unwrap_or(""),
            standing_in(details, names),
            details["reason"].as_str().unwrap_or("")
        ),
        "change_request.approved" => "Approved by every step; the change task is open".into(),
        "change_request.processed" => "Processed by Accounting".into(),
        "change_request.reinstatement_filed" => format!(
            "Asked to reinstate the client (request #{})",
            details["reversal_id"]
        ),
        "checklist.ticked" => format!(
            "Ticked “{}”{}",
            details["title"].as_str().unwrap_or(""),
            details["note"]
                .as_str()
                .filter(|n| !n.is_empty())
                .map(|n| format!(" (“{n}”)"))
                .unwrap_or_default()
        ),
        "checklist.undone" => format!(
            "Undid “{}”: {}",
            details["title"].as_str().unwrap_or(""),
            details["reason"].as_str().unwrap_or("")
        ),
        "checklist.sent_back" => format!(
            "Sent “{}” back to the contractor: {}",
            details["title"].as_str().unwrap_or(""),
            details["reason"].as_str().unwrap_or("")
        ),
        "change_request.dates_moved" | "planner.dates_moved" => {
            let changes = &details["changes"];
            let moved = |what: &str| {
                let name = what.replace('_', " ");
                match (day(&changes[what]["from"]), day(&changes[what]["to"])) {
                    (from, to) if from == to => None,
                    (Some(from), Some(to)) => Some(format!("moved the {name} from {from} to {to}")),
                    (None, Some(to)) => Some(format!("set the {name} to {to}")),
                    (Some(from), None) => Some(format!("cleared the {name} (it was {from})")),
                    (None, None) => None,
                }
            };
            let parts: Vec<String> = ["effective_date", "resume_date"]
                .into_iter()
                .filter_map(moved)
                .collect();
            if parts.is_empty() {
                "Moved the dates".into()
            } else {
                capitalized(&parts.join("; "))
            }
        }
        "change_request.step_flagged" => format!(
            "{} waits on the admin: {}",
            details["step"].as_str().unwrap_or(""),
            details["why"].as_str().unwrap_or("")
        ),
        "change_request.step_rerouted" => format!(
            "{} went back to {}: {}",
            details["step"].as_str().unwrap_or(""),
            details["to"].as_str().unwrap_or(""),
            details["why"].as_str().unwrap_or("")
        ),
        "change_task.forwarded" => format!(
            "Forwarded the change task to {}",
            details["to_name"].as_str().unwrap_or("the SEM specialist")
        ),
        "change_task.planner_added" => match day(&details["effective_date"]) {
            Some(day) => format!("Added the client to the planner for {day}"),
            None => "Added the client to the planner sheet".into(),
        },
        "change_task.status_updated" => {
            let status = |v: &Value| {
                v.as_str()
                    .and_then(crate::operations::rules::Status::from_key)
                    .map(|s| s.label().to_lowercase())
            };
            let mut sentence = match (status(&details["from"]), status(&details["to"])) {
                (Some(from), Some(to)) if from != to => {
                    format!("Updated the account status from {from} to {to}")
                }
                (_, to) => format!("Updated the account status to {}", to.unwrap_or_default()),
            };
            let budget = &details["budget_cents"];
            if let (Some(from), Some(to)) = (budget["from"].as_i64(), budget["to"].as_i64())
                && from != to
            {
                sentence.push_str(&format!(
                    ", the monthly budget from {} to {}",
                    crate::money::format_cents(from),
                    crate::money::format_cents(to)
                ));
            }
            if let Some(day) = day(&details["effective_date"]) {
                sentence.push_str(&format!(", effective {day}"));
            }
            sentence
        }
        "change_task.done" => "Marked the change task done".into(),
        "sem_task.done" => "Ticked “ads paused”".into(),
        "change_request.completed" => "Completed: everything after approval is done".into(),
        "change_request.account_manager_changed" => format!(
            "The client was handed from {} to {}: the request is theirs now",
            details["from_name"].as_str().unwrap_or(""),
            details["to_name"].as_str().unwrap_or("")
        ),
        "change_request.sem_work_handed_over" => format!(
            "The SEM work was handed from {} (who can no longer do it, or no longer has the client) to {}",
            details["from_name"].as_str().unwrap_or(""),
            details["to_name"].as_str().unwrap_or("")
        ),
        "change_request.reinstated" => {
            format!("Reinstated: undone by request #{}", details["reversal_id"])
        }
        "change_request.step_reassigned" => format!(
            "Handed {} from {} to {}",
            details["step"].as_str().unwrap_or(""),
            details["from"].as_str().unwrap_or(""),
            details["to"].as_str().unwrap_or("")
        ),
        "change_request.retention_outcome" if !details["corrected_from"].is_null() => {
            format!(
                "Retention call corrected: {} (was: {})",
                details["outcome"]
                    .as_str()
                    .and_then(Outcome::from_key)
                    .map(Outcome::label)
                    .unwrap_or(""),
                details["corrected_from"]
                    .as_str()
                    .and_then(Outcome::from_key)
                    .map(Outcome::label)
                    .unwrap_or("")
            )
        }
        "change_request.retention_outcome" => {
            let mut sentence = format!(
                "Retention call recorded: {}",
                details["outcome"]
                    .as_str()
                    .and_then(Outcome::from_key)
                    .map(Outcome::label)
                    .unwrap_or("")
            );
            // The outcome's label says what a save made of the request; a save with no change
            // also withdrew it.
            if details["state"] == "withdrawn" && !sentence.contains("withdrawn") {
                sentence.push_str("; the request is withdrawn");
            }
            sentence
        }
        other => outside_requests(other, details, names),
    }
}

/// The roles an audit record lists (`roles`), by their labels.
fn role_list(details: &Value) -> String {
    let keys: Vec<&str> = details["roles"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if keys.is_empty() {
        return "none".into();
    }
    crate::auth::roles::RoleSet::from_keys(&keys).labels()
}

/// The sentences of what happens outside a request: signing in, the admin's settings, users
/// and clients. An action without a sentence of its own reads as its key in words.
fn outside_requests(action: &str, details: &Value, names: &Names) -> String {
    let text = |key: &str| details[key].as_str().unwrap_or("").to_string();
    match action {
        "auth.sign_in" => match details["method"].as_str() {
            Some("company") => "Signed in with the company account".into(),
            _ => "Signed in with a password".into(),
        },
        "auth.sign_out" => "Signed out".into(),
        "auth.sign_in_failed" if details["method"] == "company" => format!(
            "A company sign-in was refused: {}",
            crate::auth::company::reason_in_words(details["reason"].as_str().unwrap_or(""))
        ),
        "auth.sign_in_failed" => match details["reason"].as_str() {
            Some("disabled") => "A password sign-in was refused: the account is disabled".into(),
            Some("unknown_email") => "A password sign-in failed: no account has that email".into(),
            Some("company_only") => {
                "A password sign-in was refused: the desk signs in with the company account only"
                    .into()
            }
            _ => "A password sign-in failed: wrong password".into(),
        },
        "user.created_at_sign_in" => format!(
            "Was given an account at their first company sign-in ({}), roles: {}",
            text("email"),
            role_list(details)
        ),
        "user.roles_from_provider" => format!(
            "The identity provider's groups changed the roles to: {}",
            role_list(details)
        ),
        "sign_in.settings_changed" => {
            let on_off = |key: &str| if details[key] == true { "yes" } else { "no" };
            let mut sentence = format!(
                "Set the sign-in choices: company sign-in only (passwords refused): {}; \
                 newcomers get an account at their first company sign-in: {}",
                on_off("company_only"),
                on_off("create_unknown")
            );
            match details["password_sessions_ended"].as_i64() {
                Some(n) if n > 0 => sentence.push_str(&format!(
                    " ({n} session{} opened with a password ended)",
                    if n == 1 { "" } else { "s" }
                )),
                _ => {}
            }
            sentence
        }
        "auth.sign_in_throttled" => "Sign-in refused: too many failed tries".into(),
        "access.refused" => format!(
            "Was refused {} {}",
            text("method"),
            details["path"].as_str().unwrap_or("a page")
        ),
        "user.created" => format!(
            "Added the user {} ({})",
            text("display_name"),
            text("email")
        ),
        "user.updated" => format!("Changed a user: {}", changes(details, names)),
        "user.disabled" => ended("Disabled the user", details),
        "user.enabled" => "Enabled the user again".into(),
        "user.password_set" => ended("Set the user's password", details),
        "client.created" => format!(
            "Added the client {} ({})",
            text("name"),
            text("crm_account_id")
        ),
        "client.updated" => format!("Changed a client: {}", changes(details, names)),
        "client_import.uploaded" => {
            format!("Uploaded the CRM export {} to import", text("file_name"))
        }
        "client_import.applied" => format!(
            "Imported the CRM export {}: {} added, {} updated, {} refused",
            text("file_name"),
            details["created"],
            details["updated"],
            details["refused"]
        ),
        "approval_chain.step_added" => {
            format!(
                "Added the approval step “{}”, decided by {}",
                text("name"),
                shown("approver", &details["approver"], names)
            )
        }
        "approval_chain.step_edited" => {
            format!("Changed an approval step: {}", changes(details, names))
        }
        "approval_chain.step_retired" => format!("Retired the approval step “{}”", text("name")),
        "approval_substitute.named" => format!(
            "Named {} to decide their approval steps from {} to {}",
            names
                .person_at(&details["substitute"])
                .unwrap_or_else(|| "a substitute".into()),
            day(&details["starts_on"]).unwrap_or_else(|| text("starts_on")),
            day(&details["ends_on"]).unwrap_or_else(|| text("ends_on"))
        ),
        "approval_substitute.ended" => "Ended a substitution".into(),
        "change_reason.added" => format!("Added the reason “{}”", text("label")),
        "change_reason.edited" => format!("Changed a reason: {}", changes(details, names)),
        "change_reason.retired" => format!("Retired the reason “{}”", text("label")),
        "change_reason.restored" => format!("Restored the reason “{}”", text("label")),
        "checklist_template.added" => {
            format!("Added the checklist item “{}”", text("title"))
        }
        "checklist_template.edited" => {
            format!("Changed a checklist item: {}", changes(details, names))
        }
        "checklist_template.retired" => {
            format!("Retired the checklist item “{}”", text("title"))
        }
        "distribution_list.added" => {
            format!("Added {} to the approval announcements", text("email"))
        }
        "distribution_list.removed" => {
            format!("Removed {} from the approval announcements", text("email"))
        }
        "calendar_feed.created" => "Made a calendar feed link".into(),
        "calendar_feed.revoked" => "Revoked a calendar feed link".into(),
        "mail.retried" => "Queued a failed email to be sent again".into(),
        "mail.test_queued" => format!("Queued a test email to {}", text("to")),
        "demo.present_seeded" => "Set up the demo's requests in flight, dated from today".into(),
        "setup.refused" => "Tried to create the first administrator without the link".into(),
        "setup.reviewed" => format!(
            "Said the {} are right (setting up the desk)",
            match text("step").as_str() {
                "reasons" => "reasons offered on requests",
                "checklist" => "offboarding checklist items",
                _ => "settings",
            }
        ),
        "checklist.refused" => format!(
            "Was refused an offboarding item ({}): {}",
            text("action"),
            text("why")
        ),
        other => key_in_words(other),
    }
}

/// " for Rachel Kim" when a substitute decided in someone's stead.
fn standing_in(details: &Value, names: &Names) -> String {
    names
        .person_at(&details["on_behalf_of"])
        .map(|name| format!(" for {name}"))
        .unwrap_or_default()
}

/// `s` with its first letter a capital: "moved the …" begins a sentence as "Moved the …".
fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// A day recorded as "2026-12-13", as pages write it ("Dec 13, 2026").
fn day(v: &Value) -> Option<String> {
    v.as_str()
        .and_then(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .map(crate::time::day)
}

/// Who acted, as pages name them: the user's name and roles ("Dana Ortiz (DM Operations
/// Lead)"), "Offboarding Desk" for the app's own work, else the label recorded (a person not
/// signed in, named by what they typed).
pub fn who(label: &str, name: Option<&str>, roles: Option<&[String]>) -> String {
    match (name, label) {
        (Some(name), _) => {
            let roles = crate::auth::roles::RoleSet::from_keys(roles.unwrap_or_default());
            if roles.is_empty() {
                name.to_string()
            } else {
                format!("{name} ({})", roles.labels())
            }
        }
        (None, "system") => "Offboarding Desk".into(),
        (None, "setup") => "Someone with the first-admin link".into(),
        (None, label) => label.to_string(),
    }
}

/// An action with no sentence of its own: its key in words ("Client import applied").
fn key_in_words(action: &str) -> String {
    let mut words = action.replace(['.', '_'], " ");
    if let Some(first) = words.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    words
}

/// A sentence that says how many sessions it ended, when it ended any.
fn ended(what: &str, details: &Value) -> String {
    match details["sessions_ended"].as_i64() {
        Some(n) if n > 0 => format!("{what}; {n} signed-in session(s) ended"),
        _ => what.to_string(),
    }
}

/// What an edit changed, as the audit records it (`{field: [from, to]}`, at the top level or
/// under `changes`): "display name from “Amy” to “Amy R.”; effective date from Dec 13, 2026 to
/// Dec 27, 2026; new budget cents from $2,000.00 to $1,500.00".
fn changes(details: &Value, names: &Names) -> String {
    let Some(fields) = edited_fields(details) else {
        return String::new();
    };
    let shown = |field: &str, v: &Value| shown(field, v, names);
    let name = |field: &str| {
        field
            .trim_end_matches("_cents")
            .trim_end_matches("_id")
            .replace('_', " ")
    };
    let mut parts: Vec<String> = fields
        .iter()
        .filter_map(|(field, change)| {
            let pair = change.as_array().filter(|p| p.len() == 2)?;
            Some(format!(
                "{} from {} to {}",
                name(field),
                shown(field, &pair[0]),
                shown(field, &pair[1])
            ))
        })
        .collect();
    if parts.is_empty() {
        parts = fields
            .keys()
            .filter(|k| *k != "version")
            .map(|k| name(k))
            .collect();
    }
    parts.join("; ")
}

/// One value of an edited field in the words pages use: a day, money, a person's name, a
/// role's or a condition's label, else the text quoted.
fn shown(field: &str, v: &Value, names: &Names) -> String {
    let role = |key: &str| Role::from_key(key).map(|r| r.label().to_string());
    match v {
        Value::Null => "none".to_string(),
        Value::Number(_) if USER_ID_FIELDS.contains(&field) => {
            names.person_at(v).unwrap_or_else(|| v.to_string())
        }
        Value::Number(n) if field.ends_with("_cents") => n
            .as_i64()
            .map_or_else(|| n.to_string(), crate::money::format_cents),
        Value::String(s) if field == "approver" => {
            match (approver_user(v), s.strip_prefix("role:")) {
                (Some(id), _) => names.person(id),
                (None, Some(key)) => role(key)
                    .map(|label| format!("anyone in {label}"))
                    .unwrap_or_else(|| format!("“{s}”")),
                (None, None) if s.is_empty() => "nobody yet".into(),
                (None, None) => format!("“{s}”"),
            }
        }
        Value::String(s) => day(v)
            .or_else(|| match field {
                "kind" => Kind::from_key(s).map(|k| k.label().to_lowercase()),
                "cancel_scope" => CancelScope::from_key(s).map(|c| c.label().to_lowercase()),
                "owner_role" => role(s),
                "status" => crate::clients::status::Status::from_key(s).map(|st| st.label().into()),
                "condition" => crate::approvals::rules::Condition::from_key(s)
                    .map(|c| c.label().to_string())
                    .or_else(|| {
                        crate::checklists::templates::CONDITIONS
                            .iter()
                            .find(|(key, _)| key == s)
                            .map(|(_, label)| label.to_string())
                    }),
                _ => None,
            })
            .unwrap_or_else(|| format!("“{s}”")),
        Value::Array(items) if field == "roles" => {
            let keys: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
            match RoleSet::from_keys(&keys) {
                set if set.is_empty() => "no role".into(),
                set => set.labels(),
            }
        }
        Value::Array(items) if items.is_empty() => "none".into(),
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map_or_else(|| i.to_string(), |s| s.replace('_', " "))
            })
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A sentence for a record naming nobody by id.
    fn say(action: &str, details: &Value) -> String {
        sentence(action, details, &Names::default())
    }

    /// Names as a page would have loaded them.
    fn names(people: &[(i64, &str)]) -> Names {
        Names(people.iter().map(|(id, n)| (*id, n.to_string())).collect())
    }

    #[test]
    fn ids_and_keys_in_a_record_read_as_names_and_labels() {
        let people = names(&[(3, "Maria Chen"), (4, "Luis Ortega"), (12, "Rachel Kim")]);
        let client = json!({ "changes": { "account_manager_id": [3, 4], "status": ["active", "paused"],
                                          "ad_products": [["google_ads"], []] } });
        assert_eq!(
            sentence("client.updated", &client, &people),
            "Changed a client: account manager from Maria Chen to Luis Ortega; status from Active to Paused; ad products from google ads to none"
        );
        assert_eq!(named_ids(&client), vec![3, 4]);
        let step = json!({ "changes": { "approver": ["user:12", "role:finance"], "condition": ["always", "credit"] } });
        assert_eq!(
            sentence("approval_chain.step_edited", &step, &people),
            "Changed an approval step: approver from Rachel Kim to anyone in Finance; condition from Always to Only when there is a credit"
        );
        let item = json!({ "changes": { "owner_role": ["contractor", "ops_lead"], "condition": ["always", "leave_platform"] } });
        assert_eq!(
            say("checklist_template.edited", &item),
            "Changed a checklist item: owner role from Contractor to DM Operations Lead; condition from Always to Leaving the platform"
        );
        assert_eq!(
            sentence(
                "client.updated",
                &json!({ "changes": { "sem_specialist_id": [null, 99] } }),
                &people
            ),
            "Changed a client: sem specialist from none to user #99",
            "an id that names nobody is still shown"
        );
        let added = json!({ "name": "Finance", "approver": "user:12", "condition": "credit" });
        assert_eq!(named_ids(&added), vec![12]);
        assert_eq!(
            sentence("approval_chain.step_added", &added, &people),
            "Added the approval step “Finance”, decided by Rachel Kim"
        );
    }

    #[test]
    fn a_substitute_s_decision_names_whom_it_stood_in_for() {
        let people = names(&[(12, "Rachel Kim"), (7, "Dustin Hunter")]);
        let approved = json!({ "step": "Finance", "comment": "", "on_behalf_of": 12 });
        assert_eq!(
            sentence("change_request.step_approved", &approved, &people),
            "Approved at the step “Finance” for Rachel Kim"
        );
        let back = json!({ "step": "Finance", "reason": "Credit too high", "on_behalf_of": 12 });
        assert_eq!(
            sentence("change_request.sent_back", &back, &people),
            "Sent it back at the step “Finance” for Rachel Kim: “Credit too high”"
        );
        assert_eq!(
            say(
                "change_request.step_approved",
                &json!({ "step": "Finance", "on_behalf_of": null })
            ),
            "Approved at the step “Finance”"
        );
        let named = json!({ "substitute": 7, "starts_on": "2026-12-14", "ends_on": "2026-12-18" });
        assert_eq!(named_ids(&named), vec![7]);
        assert_eq!(
            sentence("approval_substitute.named", &named, &people),
            "Named Dustin Hunter to decide their approval steps from Dec 14, 2026 to Dec 18, 2026"
        );
    }

    #[test]
    fn an_account_status_update_says_when_it_takes_effect() {
        let updated = json!({ "from": "active", "to": "cancelled_dms",
                              "budget_cents": { "from": 450000, "to": 450000 },
                              "effective_date": "2027-01-01" });
        assert_eq!(
            say("change_task.status_updated", &updated),
            "Updated the account status from active to digital marketing cancelled, effective Jan 1, 2027"
        );
        let older = json!({ "from": "active", "to": "paused",
                            "budget_cents": { "from": 450000, "to": 300000 } });
        assert_eq!(
            say("change_task.status_updated", &older),
            "Updated the account status from active to paused, the monthly budget from $4,500.00 to $3,000.00",
            "a record from before the date was kept reads as it did"
        );
    }

    #[test]
    fn an_edit_names_each_field_with_its_old_and_new_value() {
        assert_eq!(
            say(
                "user.updated",
                &json!({ "display_name": ["Amy", "Amy R."], "roles": [["retention"], ["retention", "admin"]] })
            ),
            "Changed a user: display name from “Amy” to “Amy R.”; roles from Retention Team to Retention Team, Administrator"
        );
    }

    #[test]
    fn an_edit_recorded_under_changes_reads_with_its_values_in_pages_words() {
        assert_eq!(
            say(
                "change_request.edited",
                &json!({ "changes": { "effective_date": ["2026-12-13", "2026-12-27"],
                                      "new_budget_cents": [200000, 150000] }, "version": 3 })
            ),
            "Edited the effective date from Dec 13, 2026 to Dec 27, 2026; new budget from $2,000.00 to $1,500.00"
        );
        assert_eq!(
            say(
                "client.updated",
                &json!({ "changes": { "name": ["Lakeside RV", "Lakeside RV Center"] } })
            ),
            "Changed a client: name from “Lakeside RV” to “Lakeside RV Center”"
        );
    }

    #[test]
    fn a_recorded_call_says_what_became_of_the_request() {
        let call = |details| say("change_request.retention_outcome", &details);
        assert_eq!(
            call(
                json!({ "outcome": "saved_budget_change", "from_kind": "cancellation",
                         "to_kind": "addendum", "state": "with_retention" })
            ),
            "Retention call recorded: Saved with a budget change (addendum)"
        );
        // The outcome's own words say the request is withdrawn: said once.
        assert_eq!(
            call(json!({ "outcome": "saved_no_change", "state": "withdrawn" })),
            "Retention call recorded: Saved, no change (the request is withdrawn)"
        );
    }

    #[test]
    fn a_move_names_only_the_dates_that_moved() {
        let moved = |effective: (&str, &str), resume: (Value, Value)| {
            say(
                "change_request.dates_moved",
                &json!({ "changes": {
                    "effective_date": { "from": effective.0, "to": effective.1 },
                    "resume_date": { "from": resume.0, "to": resume.1 } } }),
            )
        };
        assert_eq!(
            moved(("2026-12-13", "2026-12-27"), (Value::Null, Value::Null)),
            "Moved the effective date from Dec 13, 2026 to Dec 27, 2026"
        );
        assert_eq!(
            moved(
                ("2026-12-13", "2026-12-13"),
                (json!("2027-02-01"), json!("2027-03-01"))
            ),
            "Moved the resume date from Feb 1, 2027 to Mar 1, 2027"
        );
        // A resume date emptied ("resume when known") or given for the first time.
        assert_eq!(
            moved(
                ("2026-12-13", "2026-12-20"),
                (json!("2027-02-28"), Value::Null)
            ),
            "Moved the effective date from Dec 13, 2026 to Dec 20, 2026; cleared the resume date (it was Feb 28, 2027)"
        );
        assert_eq!(
            moved(
                ("2026-12-13", "2026-12-13"),
                (Value::Null, json!("2027-03-03"))
            ),
            "Set the resume date to Mar 3, 2027"
        );
        assert_eq!(
            moved(("2026-12-13", "2026-12-13"), (Value::Null, Value::Null)),
            "Moved the dates"
        );
    }

    #[test]
    fn every_action_the_app_records_has_words_not_a_key() {
        // Each action key written anywhere in src/ (audit::record and audit::on_request calls)
        // has a sentence of its own.
        let sources = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))
            .expect("src")
            .flatten()
            .flat_map(|e| walk(&e.path()))
            .collect::<Vec<_>>();
        let mut actions = std::collections::BTreeSet::new();
        for text in &sources {
            let pieces: Vec<&str> = text.split('"').collect();
            for (before, piece) in pieces.iter().zip(pieces.iter().skip(1)).step_by(2) {
                // An email's kind ("kind: ...") is not an audit action.
                if before.trim_end().ends_with("kind:") {
                    continue;
                }
                let known = [
                    "change_request.",
                    "change_task.",
                    "checklist.",
                    "planner.",
                    "sem_task.",
                    "auth.",
                    "access.",
                    "user.",
                    "client.",
                    "client_import.",
                    "approval_chain.",
                    "approval_substitute.",
                    "change_reason.",
                    "checklist_template.",
                    "distribution_list.",
                    "calendar_feed.",
                    "signature.",
                    "chat_channel.",
                    "mail.",
                    "setup.",
                    "demo.",
                ];
                if known.iter().any(|k| piece.starts_with(k))
                    && piece
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.')
                    && piece.matches('.').count() == 1
                    && !piece.ends_with('.')
                {
                    actions.insert(piece.to_string());
                }
            }
        }
        assert!(actions.len() > 50, "found {actions:?}");
        let bare: Vec<&String> = actions
            .iter()
            .filter(|a| say(a, &json!({})) == key_in_words(a))
            .collect();
        assert!(bare.is_empty(), "no sentence for {bare:?}");
    }

    fn walk(path: &std::path::Path) -> Vec<String> {
        if path.is_dir() {
            std::fs::read_dir(path)
                .unwrap()
                .flatten()
                .flat_map(|e| walk(&e.path()))
                .collect()
        } else if path.extension().is_some_and(|e| e == "rs") {
            vec![std::fs::read_to_string(path).unwrap()]
        } else {
            Vec::new()
        }
    }
}
