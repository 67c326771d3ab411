//! The team's chat channels: the admin adds a Slack and a Teams channel, the desk's changes reach
//! a local webhook server exactly once each (one that fails twice is retried until it takes
//! the message), budgets only where allowed, the address never shown whole.

use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use offboarding_desk::auth::roles::Role;
use serde_json::Value;

use crate::support::fixtures::chain;
use crate::support::location;

/// A webhook server on loopback that records what each path receives; `/flaky/…` answers 500
/// to its first two messages.
#[derive(Clone, Default)]
struct Hooks {
    received: Arc<Mutex<Vec<(String, Value)>>>,
    flaky_refused: Arc<Mutex<u32>>,
}

impl Hooks {
    async fn start() -> (Hooks, String) {
        let hooks = Hooks::default();
        let app = axum::Router::new()
            .route("/{kind}/{secret}", axum::routing::post(receive))
            .with_state(hooks.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (hooks, base)
    }

    fn at(&self, kind: &str) -> Vec<Value> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, _)| k == kind)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

async fn receive(
    State(hooks): State<Hooks>,
    Path((kind, _secret)): Path<(String, String)>,
    body: String,
) -> StatusCode {
    if kind == "flaky" {
        let mut refused = hooks.flaky_refused.lock().unwrap();
        if *refused < 2 {
            *refused += 1;
            return StatusCode::INTERNAL_SERVER_ERROR;
        }
    }
    let json: Value = serde_json::from_str(&body).expect("JSON");
    hooks.received.lock().unwrap().push((kind, json));
    StatusCode::OK
}

#[tokio::test]
async fn channels_hear_of_the_events_they_chose_exactly_once() {
    let c = chain().await;
    let (hooks, base) = Hooks::start().await;
    let admin = c.app.user("admin@agency.test", &[Role::Admin]).await;
    let admin = c.app.session_cookie(admin).await;

    // Bad input: each beside its field, nothing saved, what was typed kept.
    let res = c
        .post(
            &admin,
            "/admin/chat",
            &[
                ("name", "#sem\0offboarding"),
                ("kind", "irc"),
                ("url", "ftp://hooks.example/x"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    for field in ["name", "kind", "url", "events"] {
        assert!(
            page.contains(&format!("id=\"{field}-error\"")),
            "{field}: {page}"
        );
    }
    assert!(
        page.contains("ftp://hooks.example/x"),
        "the address typed is kept"
    );
    let count = |sql: &'static str| {
        let db = c.app.db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&db)
                .await
                .unwrap()
        }
    };
    assert_eq!(count("SELECT count(*) FROM chat_channels").await, 0);

    // A Slack channel that fails twice, told of submissions, budgets left out; a Teams
    // channel told of filings and submissions, budgets shown.
    let slack_url = format!("{base}/flaky/SECRET-slack-0001");
    let res = c
        .post(
            &admin,
            "/admin/chat",
            &[
                ("name", "#sem-offboarding"),
                ("kind", "slack"),
                ("url", &slack_url),
                ("events", "submitted"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let teams_url = format!("{base}/teams/SECRET-teams-0002");
    let res = c
        .post(
            &admin,
            "/admin/chat",
            &[
                ("name", "Leadership"),
                ("kind", "teams"),
                ("url", &teams_url),
                ("events", "filed"),
                ("events", "submitted"),
                ("show_money", "1"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let page = c.app.page(&admin, "/admin/chat").await;
    assert!(page.contains("#sem-offboarding") && page.contains("Leadership"));
    assert!(!page.contains("SECRET"), "the address is never shown whole");
    assert!(page.contains("…0001"), "{page}");

    // The account manager files and submits a cancellation.
    let id = c.file(&[]).await;
    let flash = c.submit(&c.am_cookie, id).await;
    assert!(flash.starts_with("Submitted for approval"), "{flash}");
    assert_eq!(
        count("SELECT count(*) FROM outbox_messages WHERE chat_channel_id IS NOT NULL").await,
        3,
        "filed and submitted to Teams, submitted to Slack"
    );

    // Three passes of the worker, each after the backoff would have passed.
    for _ in 0..3 {
        c.app.deliver_mail().await;
        sqlx::query("UPDATE outbox_messages SET next_attempt_at = now() WHERE state = 'queued'")
            .execute(&c.app.db)
            .await
            .unwrap();
    }
    c.app.deliver_mail().await;
    let slack = hooks.at("flaky");
    assert_eq!(
        slack.len(),
        1,
        "one message, delivered once after two refusals"
    );
    let text = slack[0].to_string();
    assert!(text.contains("Submitted for approval"), "{text}");
    assert!(text.contains(&format!("/requests/{id}")), "{text}");
    assert!(!text.contains('$'), "no budgets in this channel: {text}");
    assert_eq!(slack[0]["blocks"][0]["type"], "section");
    let (state, attempts): (String, i32) = sqlx::query_as(
        "SELECT state, attempts FROM outbox_messages WHERE kind = 'chat.submitted'
            AND chat_channel_id = (SELECT id FROM chat_channels WHERE kind = 'slack')",
    )
    .fetch_one(&c.app.db)
    .await
    .unwrap();
    assert_eq!((state.as_str(), attempts), ("sent", 3));
    let teams = hooks.at("teams");
    assert_eq!(teams.len(), 2, "filed and submitted, once each");
    let card = &teams[0]["attachments"][0]["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert!(teams.iter().any(|t| t.to_string().contains("Filed")));

    // The delivery log lists them with their channel.
    let log = c.app.page(&admin, "/admin/mail").await;
    assert!(log.contains("#sem-offboarding (slack)"), "{log}");

    // Removed, a channel hears nothing more; a second Remove says so.
    let slack_id: i64 = sqlx::query_scalar("SELECT id FROM chat_channels WHERE kind = 'slack'")
        .fetch_one(&c.app.db)
        .await
        .unwrap();
    // A message waiting for it when it is removed is not sent.
    let mut conn = c.app.db.acquire().await.unwrap();
    offboarding_desk::chat::queue(&mut conn, &[offboarding_desk::chat::Event::Submitted], id)
        .await
        .unwrap();
    drop(conn);
    let res = c
        .post(&admin, &format!("/admin/chat/{slack_id}/remove"), &[])
        .await;
    assert_eq!(location(&res), "/admin/chat");
    c.app.deliver_mail().await;
    assert_eq!(hooks.at("flaky").len(), 1, "nothing more after its removal");
    let last_error: String = sqlx::query_scalar(
        "SELECT last_error FROM outbox_messages WHERE chat_channel_id = $1 AND state = 'failed'",
    )
    .bind(slack_id)
    .fetch_one(&c.app.db)
    .await
    .unwrap();
    assert_eq!(last_error, "the channel was removed");
    let res = c
        .post(&admin, &format!("/admin/chat/{slack_id}/remove"), &[])
        .await;
    assert_eq!(res.status(), 303);
    let page = c.app.page(&admin, "/admin/chat").await;
    assert!(page.contains("Nothing was removed"), "{page}");
    assert_eq!(
        c.app.audit_count("chat_channel.added").await,
        2,
        "each addition on the record"
    );
    assert_eq!(c.app.audit_count("chat_channel.removed").await, 1);
}
