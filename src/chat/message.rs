//! A chat message as Slack (blocks) and Teams (an adaptive card) take it, made from what the
//! change recorded in the outbox. Budgets only when the channel allows them.

use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Event;

/// What the outbox row holds for a message (written by [`super::queue`]).
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Recorded {
    pub event: String,
    pub request_id: i64,
    pub client: String,
    pub kind: String,
    pub effective_date: Option<NaiveDate>,
    pub current_budget_cents: Option<i64>,
    pub new_budget_cents: Option<i64>,
    pub task_id: Option<i64>,
    /// The request this one undoes (a reinstatement), if any.
    #[serde(default)]
    pub reverses_id: Option<i64>,
}

/// The message's parts, whichever chat shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Parts {
    pub headline: String,
    pub title: String,
    pub facts: Vec<(&'static str, String)>,
    pub link: String,
    pub link_label: &'static str,
}

impl Parts {
    pub fn of(m: &Recorded, base_url: &str, show_money: bool) -> Parts {
        let event = Event::from_key(&m.event);
        let kind = crate::change_requests::rules::Kind::from_key(&m.kind)
            .map(|k| k.label_of(m.reverses_id))
            .unwrap_or("Change request");
        let mut facts = vec![("Kind", kind.to_string())];
        if let Some(date) = m.effective_date {
            facts.push(("Effective", date.format("%b %-d, %Y").to_string()));
        }
        if show_money {
            if let Some(cents) = m.current_budget_cents {
                facts.push(("Current budget", crate::money::format_cents(cents)));
            }
            if let Some(cents) = m.new_budget_cents {
                facts.push(("New budget", crate::money::format_cents(cents)));
            }
        }
        let base = base_url.trim_end_matches('/');
        let (link, link_label) = match (event, m.task_id) {
            (Some(Event::Approved), Some(task)) => {
                (format!("{base}/tasks/{task}"), "Open the change task")
            }
            _ => (
                format!("{base}/requests/{}", m.request_id),
                "Open the request",
            ),
        };
        Parts {
            headline: event.map(Event::headline).unwrap_or("Update").to_string(),
            title: format!("Request #{}: {}", m.request_id, m.client),
            facts,
            link,
            link_label,
        }
    }

    /// The plain text chat shows in notifications.
    pub fn text(&self) -> String {
        format!("{}: {}", self.headline, self.title)
    }

    /// A Slack incoming webhook's body: the text (for notifications) and blocks.
    pub fn slack(&self) -> Value {
        let facts: Vec<Value> = self
            .facts
            .iter()
            .map(
                |(k, v)| json!({"type": "mrkdwn", "text": format!("*{}*\n{}", k, slack_escape(v))}),
            )
            .collect();
        json!({
            "text": slack_escape(&self.text()),
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": format!(
                    "*{}*: <{}|{}>",
                    slack_escape(&self.headline),
                    self.link,
                    slack_escape(&self.title)
                )}},
                {"type": "section", "fields": facts},
                {"type": "actions", "elements": [{
                    "type": "button",
                    "text": {"type": "plain_text", "text": self.link_label},
                    "url": self.link
                }]}
            ]
        })
    }

    /// A Teams workflow webhook's body: one adaptive card.
    pub fn teams(&self) -> Value {
        let facts: Vec<Value> = self
            .facts
            .iter()
            .map(|(k, v)| json!({"title": k, "value": v}))
            .collect();
        json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {"type": "TextBlock", "text": self.headline, "weight": "Bolder", "size": "Medium", "wrap": true},
                        {"type": "TextBlock", "text": self.title, "wrap": true},
                        {"type": "FactSet", "facts": facts}
                    ],
                    "actions": [{"type": "Action.OpenUrl", "title": self.link_label, "url": self.link}]
                }
            }]
        })
    }
}

/// Slack's three characters with a meaning in its text (`&`, `<`, `>`), escaped.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded(event: &str) -> Recorded {
        Recorded {
            event: event.into(),
            request_id: 42,
            client: "Lakeside <RV> & Co".into(),
            kind: "addendum".into(),
            effective_date: NaiveDate::from_ymd_opt(2027, 1, 5),
            current_budget_cents: Some(450_000),
            new_budget_cents: Some(300_000),
            task_id: Some(7),
            reverses_id: None,
        }
    }

    #[test]
    fn budgets_are_told_only_when_the_channel_allows_them() {
        let hidden = Parts::of(&recorded("submitted"), "https://desk.test", false);
        for payload in [hidden.slack().to_string(), hidden.teams().to_string()] {
            assert!(
                !payload.contains("$4,500") && !payload.contains("$3,000"),
                "{payload}"
            );
        }
        let shown = Parts::of(&recorded("submitted"), "https://desk.test", true);
        assert!(shown.slack().to_string().contains("$4,500.00"));
        assert!(shown.teams().to_string().contains("$3,000.00"));
    }

    #[test]
    fn an_approval_links_its_change_task_and_the_rest_their_request() {
        let approved = Parts::of(&recorded("approved"), "https://desk.test/", false);
        assert_eq!(approved.link, "https://desk.test/tasks/7");
        let sent_back = Parts::of(&recorded("sent_back"), "https://desk.test", false);
        assert_eq!(sent_back.link, "https://desk.test/requests/42");
        assert_eq!(
            sent_back.text(),
            "Sent back: Request #42: Lakeside <RV> & Co"
        );
    }

    #[test]
    fn slack_text_escapes_its_markup_and_teams_takes_it_as_it_is() {
        let parts = Parts::of(&recorded("filed"), "https://desk.test", false);
        let slack = parts.slack().to_string();
        assert!(slack.contains("Lakeside &lt;RV&gt; &amp; Co"), "{slack}");
        assert!(!slack.contains("<RV>"), "{slack}");
        let teams = parts.teams();
        assert_eq!(
            teams["attachments"][0]["content"]["body"][1]["text"],
            "Request #42: Lakeside <RV> & Co"
        );
        assert_eq!(
            teams["attachments"][0]["content"]["actions"][0]["url"],
            "https://desk.test/requests/42"
        );
    }
}
