//! The admin's page of chat channels: the list (each address shown only as its host and last
//! characters), a form to add one, and Remove.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::Form;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use super::Event;
use crate::audit::{self, Actor};
use crate::web::AppState;
use crate::web::ctx::{Ctx, commit_and_go};
use crate::web::error::AppResult;
use crate::web::fields::FieldErrors;
use crate::web::filters;
use crate::web::pages::Chrome;

#[derive(Debug, sqlx::FromRow)]
pub(super) struct Channel {
    pub id: i64,
    pub name: String,
    pub kind: String,
    url: String,
    pub events: Vec<String>,
    pub show_money: bool,
    pub created_at: DateTime<Utc>,
}

impl Channel {
    pub fn kind_label(&self) -> &'static str {
        if self.kind == "teams" {
            "Microsoft Teams"
        } else {
            "Slack"
        }
    }

    /// The address as the page shows it: its host and its last four characters, never whole
    /// (whoever has it can post to the channel).
    pub fn address_hint(&self) -> String {
        hint(&self.url)
    }

    pub fn event_labels(&self) -> String {
        self.events
            .iter()
            .filter_map(|k| Event::from_key(k))
            .map(Event::label)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn hint(url: &str) -> String {
    let host = url
        .split_once("://")
        .map(|(_, rest)| rest.split(['/', '?']).next().unwrap_or(""))
        .unwrap_or("");
    let tail: String = url
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{host}/…{tail}")
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ChannelForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub events: Vec<String>,
    #[serde(default)]
    pub show_money: Option<String>,
}

impl ChannelForm {
    pub fn chose(&self, e: &Event) -> bool {
        self.events.iter().any(|k| k == e.key())
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "chat/admin.html")]
pub(super) struct ChatPage {
    chrome: Chrome,
    channels: Vec<Channel>,
    form: ChannelForm,
    errors: FieldErrors,
    events: [Event; 9],
}

async fn render(
    state: &AppState,
    ctx: &Ctx,
    form: ChannelForm,
    errors: FieldErrors,
) -> AppResult<ChatPage> {
    let channels = sqlx::query_as(
        "SELECT id, name, kind, url, events, show_money, created_at FROM chat_channels
          WHERE removed_at IS NULL ORDER BY lower(name), id",
    )
    .fetch_all(&state.db)
    .await?;
    Ok(ChatPage {
        chrome: Chrome::new(state, ctx, "/admin/chat"),
        channels,
        form,
        errors,
        events: Event::ALL,
    })
}

pub(super) async fn page(State(state): State<AppState>, ctx: Ctx) -> AppResult<ChatPage> {
    render(&state, &ctx, ChannelForm::default(), FieldErrors::default()).await
}

/// A channel's checked values: name, kind, address, events; or each problem beside its field.
pub(super) fn check(
    form: &ChannelForm,
    production: bool,
) -> Result<(String, &'static str, String, Vec<&'static str>), FieldErrors> {
    let mut errors = FieldErrors::default();
    let name = crate::web::text::label(
        &form.name,
        80,
        "Name the channel (for example, #sem-offboarding).",
    )
    .map_err(|m| errors.add("name", m))
    .unwrap_or_default();
    let kind = match form.kind.as_str() {
        "slack" => "slack",
        "teams" => "teams",
        _ => {
            errors.add("kind", "Choose Slack or Microsoft Teams.");
            ""
        }
    };
    let url = check_url(&form.url, production)
        .map_err(|m| errors.add("url", m))
        .unwrap_or_default();
    let mut events = Vec::new();
    for key in &form.events {
        match Event::from_key(key) {
            Some(e) if !events.contains(&e.key()) => events.push(e.key()),
            Some(_) => {}
            None => errors.add("events", "One of the events chosen does not exist."),
        }
    }
    if events.is_empty() && !errors.has("events") {
        errors.add(
            "events",
            "Choose at least one event to tell the channel of.",
        );
    }
    if errors.is_empty() {
        Ok((name, kind, url, events))
    } else {
        Err(errors)
    }
}

/// A webhook address: https (plain http only to this machine, outside production), no
/// credentials, no spaces, at most 2,000 characters.
fn check_url(raw: &str, production: bool) -> Result<String, String> {
    let url = crate::web::text::line(raw, 2000)?;
    if url.is_empty() {
        return Err("Paste the webhook address the channel's settings give.".into());
    }
    let parsed = reqwest::Url::parse(&url)
        .map_err(|_| "This is not a web address: paste the whole webhook address.".to_string())?;
    if !crate::web::https::allowed(&parsed, production) {
        return Err("The address must start with https://.".into());
    }
    // As written, not as a browser would mend it (`https:///x` is read as host "x").
    let written_host = url.split_once("://").map_or("", |(_, rest)| rest);
    if parsed.host_str().is_none_or(str::is_empty) || written_host.starts_with('/') {
        return Err("The address has no host.".into());
    }
    if url.chars().count() < 10 {
        return Err("This is too short to be a webhook's address.".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("Leave the user name and password out of the address.".into());
    }
    if url.contains(char::is_whitespace) {
        return Err("Remove the spaces from the address.".into());
    }
    Ok(url)
}

pub(super) async fn add(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<ChannelForm>,
) -> AppResult<Response> {
    let (name, kind, url, events) = match check(&form, state.config.production) {
        Ok(checked) => checked,
        Err(errors) => {
            let page = render(&state, &ctx, form, errors).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let show_money = form.show_money.is_some();
    let mut tx = state.db.begin().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO chat_channels (name, kind, url, events, show_money, created_by)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(&name)
    .bind(kind)
    .bind(&url)
    .bind(&events)
    .bind(show_money)
    .bind(ctx.user.id)
    .fetch_one(&mut *tx)
    .await?;
    // The address is a secret: the record keeps its hint only.
    audit::record(
        &mut tx,
        &Actor::from_ctx(&ctx),
        "chat_channel.added",
        "chat_channel",
        Some(id.to_string()),
        json!({"name": name, "kind": kind, "address": hint(&url), "events": events, "show_money": show_money}),
    )
    .await?;
    commit_and_go(
        tx,
        "/admin/chat",
        &format!("{name} is told of the events chosen from now on."),
    )
    .await
}

pub(super) async fn remove(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let removed: Option<String> = sqlx::query_scalar(
        "UPDATE chat_channels SET removed_at = now() WHERE id = $1 AND removed_at IS NULL
          RETURNING name",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(name) = removed else {
        return commit_and_go(
            tx,
            "/admin/chat",
            "Nothing was removed: that channel was removed already.",
        )
        .await;
    };
    // Messages still waiting for it are not sent.
    sqlx::query(
        "UPDATE outbox_messages SET state = 'failed', last_error = 'the channel was removed'
          WHERE chat_channel_id = $1 AND state = 'queued'",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        &Actor::from_ctx(&ctx),
        "chat_channel.removed",
        "chat_channel",
        Some(id.to_string()),
        json!({"name": name}),
    )
    .await?;
    commit_and_go(
        tx,
        "/admin/chat",
        &format!("{name} is removed: it is told of nothing more."),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(url: &str) -> ChannelForm {
        ChannelForm {
            name: "#sem".into(),
            kind: "slack".into(),
            url: url.into(),
            events: vec!["submitted".into()],
            show_money: None,
        }
    }

    #[test]
    fn a_webhook_address_is_https_whole_and_without_credentials() {
        assert!(check(&form("https://hooks.slack.com/services/T0/B0/xyz"), true).is_ok());
        assert!(check(&form("http://127.0.0.1:9000/hook"), false).is_ok());
        for (bad, production) in [
            ("http://127.0.0.1:9000/hook", true),
            ("http://hooks.slack.com/services/x", false),
            ("ftp://hooks.slack.com/x", false),
            ("hooks.slack.com/services", false),
            ("https://user:pw@hooks.slack.com/x", false),
            ("https://hooks.slack.com/x\0y", false),
            ("https://a", false),
            ("https:///x", false),
            ("", false),
        ] {
            let errors = check(&form(bad), production).unwrap_err();
            assert!(errors.has("url"), "{bad:?}");
        }
    }

    #[test]
    fn a_channel_needs_a_name_a_kind_and_an_event() {
        let mut f = form("https://hooks.slack.com/services/x");
        f.name = " ".into();
        f.kind = "irc".into();
        f.events = vec!["nothing".into()];
        let errors = check(&f, false).unwrap_err();
        assert!(errors.has("name") && errors.has("kind") && errors.has("events"));
        f.events.clear();
        assert!(check(&f, false).unwrap_err().has("events"));
    }

    #[test]
    fn the_address_is_shown_as_its_host_and_last_characters() {
        assert_eq!(
            hint("https://hooks.slack.com/services/T000/B000/abcdWXYZ"),
            "hooks.slack.com/…WXYZ"
        );
    }
}
