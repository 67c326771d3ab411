//! A personal calendar feed of the planner's effective dates. Calendar apps cannot sign in, so
//! the address carries a secret; only its hash is stored, and revoking it ends the feed.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::json;

use crate::audit::{self, Actor};
use crate::auth::roles::{Role, RoleSet};
use crate::change_requests::rules::Kind;
use crate::web::AppState;
use crate::web::ctx::Ctx;
use crate::web::error::{AppError, AppResult};
use crate::web::pages::Chrome;

/// An effective date as the feed shows it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct FeedEvent {
    pub entry_id: i64,
    pub request_id: i64,
    pub client_name: String,
    pub kind: Kind,
    pub effective_date: NaiveDate,
    pub resume_date: Option<NaiveDate>,
    pub sem_name: Option<String>,
}

/// Escapes TEXT for iCalendar (RFC 5545, 3.3.11).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Folds a content line at 75 octets, never inside a character (RFC 5545, 3.1).
pub fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    let mut width = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
    out
}

/// The calendar: one all-day event per effective date.
pub fn calendar(events: &[FeedEvent], host: &str, base_url: &str, now: DateTime<Utc>) -> String {
    let stamp = now.format("%Y%m%dT%H%M%SZ").to_string();
    let mut out = String::new();
    for line in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Offboarding Desk//Planner//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "X-WR-CALNAME:Offboarding Desk planner",
    ] {
        out.push_str(&fold(line));
    }
    for e in events {
        let kind = e.kind.label();
        let mut description = format!("{kind} of {} takes effect.", e.client_name);
        if let Some(r) = e.resume_date {
            description.push_str(&format!("\nResumes {}.", crate::time::day(r)));
        }
        if let Some(sem) = &e.sem_name {
            description.push_str(&format!("\nSEM specialist: {sem}."));
        }
        let url = format!("{base_url}/requests/{}", e.request_id);
        description.push_str(&format!("\n{url}"));
        for line in [
            "BEGIN:VEVENT".to_string(),
            format!("UID:planner-{}@{}", e.entry_id, escape(host)),
            format!("DTSTAMP:{stamp}"),
            format!("DTSTART;VALUE=DATE:{}", e.effective_date.format("%Y%m%d")),
            format!(
                "DTEND;VALUE=DATE:{}",
                (e.effective_date + Duration::days(1)).format("%Y%m%d")
            ),
            format!("SUMMARY:{}", escape(&format!("{kind}: {}", e.client_name))),
            format!("DESCRIPTION:{}", escape(&description)),
            format!("URL:{url}"),
            "TRANSP:TRANSPARENT".to_string(),
            "END:VEVENT".to_string(),
        ] {
            out.push_str(&fold(&line));
        }
    }
    out.push_str(&fold("END:VCALENDAR"));
    out
}

/// Whose entries a feed shows: the Ops Lead, leadership and admins see every entry; everyone
/// else the entries where they are the SEM specialist or the account manager.
fn sees_all(roles: RoleSet) -> bool {
    roles.any_of(&[Role::OpsLead, Role::DmLeadership, Role::Admin])
}

/// The feed itself, for a calendar app: public route, the secret is the address.
pub(super) async fn serve(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> AppResult<Response> {
    let token = token.strip_suffix(".ics").unwrap_or(&token);
    let owner: Option<(i64, Vec<crate::auth::roles::Role>)> = sqlx::query_as(
        "SELECT u.id, u.roles FROM calendar_feeds f JOIN users u ON u.id = f.user_id
          WHERE f.token_hash = $1 AND f.revoked_at IS NULL AND u.disabled_at IS NULL",
    )
    .bind(crate::auth::token::digest(token))
    .fetch_optional(&state.db)
    .await?;
    let (user, roles) = owner.ok_or(AppError::NotFound)?;
    let all = sees_all(roles.into_iter().collect());
    let events: Vec<FeedEvent> = sqlx::query_as(
        "SELECT p.id AS entry_id, p.change_request_id AS request_id, c.name AS client_name,
                p.kind, p.effective_date, p.resume_date, s.display_name AS sem_name
           FROM planner_entries p
           JOIN clients c ON c.id = p.client_id
           JOIN change_requests r ON r.id = p.change_request_id
           LEFT JOIN users s ON s.id = p.sem_specialist_id
          WHERE p.removed_at IS NULL
            AND r.state IN ('approved', 'completed')
            AND p.effective_date >= $1
            AND ($2 OR p.sem_specialist_id = $3 OR p.account_manager_id = $3)
          ORDER BY p.effective_date, p.id
          LIMIT 5000",
    )
    .bind(state.clock.today() - Duration::days(60))
    .bind(all)
    .bind(user)
    .fetch_all(&state.db)
    .await?;
    let host = state
        .config
        .base_url
        .split("://")
        .nth(1)
        .unwrap_or("offboarding-desk")
        .split(['/', ':'])
        .next()
        .unwrap_or("offboarding-desk")
        .to_string();
    let body = calendar(&events, &host, &state.config.base_url, state.clock.now());
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/calendar; charset=utf-8"),
    );
    Ok(response)
}

#[derive(Template, WebTemplate)]
#[template(path = "operations/feed.html")]
pub(super) struct FeedPage {
    chrome: Chrome,
    active_since: Option<String>,
    /// The new address, shown once just after it is made.
    new_url: Option<String>,
    all: bool,
}

async fn feed_page(state: &AppState, ctx: &Ctx, new_url: Option<String>) -> AppResult<FeedPage> {
    let since: Option<DateTime<Utc>> = sqlx::query_scalar(
        "SELECT created_at FROM calendar_feeds WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(ctx.user.id)
    .fetch_optional(&state.db)
    .await?;
    Ok(FeedPage {
        chrome: Chrome::new(state, ctx, "/planner"),
        active_since: since.map(crate::time::local),
        new_url,
        all: sees_all(ctx.user.roles),
    })
}

pub(super) async fn page(State(state): State<AppState>, ctx: Ctx) -> AppResult<FeedPage> {
    feed_page(&state, &ctx, None).await
}

/// Makes a new feed address (ending any earlier one) and shows it once.
pub(super) async fn create(State(state): State<AppState>, ctx: Ctx) -> AppResult<FeedPage> {
    let token = crate::auth::token::random_hex(32);
    let mut tx = state.db.begin().await?;
    sqlx::query(
        "UPDATE calendar_feeds SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(ctx.user.id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("INSERT INTO calendar_feeds (user_id, token_hash) VALUES ($1, $2)")
        .bind(ctx.user.id)
        .bind(crate::auth::token::digest(&token))
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        &Actor::from_ctx(&ctx),
        "calendar_feed.created",
        "user",
        Some(ctx.user.id.to_string()),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    let url = format!("{}/calendar/{token}.ics", state.config.base_url);
    feed_page(&state, &ctx, Some(url)).await
}

pub(super) async fn revoke(State(state): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let ended = sqlx::query(
        "UPDATE calendar_feeds SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(ctx.user.id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if ended > 0 {
        audit::record(
            &mut tx,
            &Actor::from_ctx(&ctx),
            "calendar_feed.revoked",
            "user",
            Some(ctx.user.id.to_string()),
            json!({}),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(crate::web::flash::redirect(
        "/planner/feed",
        if ended > 0 {
            "Feed revoked: the old address no longer works."
        } else {
            "You had no feed; nothing changed."
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_as_rfc_5545_asks() {
        assert_eq!(escape("a,b;c\\d\ne\r"), "a\\,b\\;c\\\\d\\ne");
    }

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_a_character() {
        let line = format!("SUMMARY:{}", "é".repeat(60));
        let folded = fold(&line);
        for part in folded.trim_end_matches("\r\n").split("\r\n") {
            assert!(part.len() <= 75, "{} octets", part.len());
        }
        let unfolded = folded.trim_end_matches("\r\n").replace("\r\n ", "");
        assert_eq!(unfolded, line);
    }

    #[test]
    fn each_entry_is_an_all_day_event_on_its_date() {
        let e = FeedEvent {
            entry_id: 3,
            request_id: 9,
            client_name: "Bayou Boats, Marine; & Co".into(),
            kind: Kind::Pause,
            effective_date: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
            resume_date: NaiveDate::from_ymd_opt(2027, 3, 1),
            sem_name: Some("Sam".into()),
        };
        let now = DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let ics = calendar(&[e], "desk.example", "https://desk.example", now);
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\n"));
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        assert!(ics.contains("DTSTART;VALUE=DATE:20261231\r\n"));
        assert!(ics.contains("DTEND;VALUE=DATE:20270101\r\n"));
        assert!(ics.contains("UID:planner-3@desk.example\r\n"));
        assert!(ics.contains("SUMMARY:Contract pause: Bayou Boats\\, Marine\\; & Co\r\n"));
        assert!(
            !ics.replace("\r\n", "").contains('\n'),
            "only CRLF line ends"
        );
    }
}
