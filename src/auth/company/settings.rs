//! The admin's sign-in page: what the company sign-in is configured as, whether a person
//! without an account gets one at their first company sign-in, and whether passwords are
//! refused.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::Form;
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;

use crate::audit::{self, Actor};
use crate::auth::session::SignInMethod;
use crate::web::AppState;
use crate::web::ctx::{Ctx, commit_and_go};
use crate::web::error::AppResult;
use crate::web::fields::FieldErrors;
use crate::web::pages::Chrome;

/// The admin's two choices.
#[derive(Clone, Copy, Debug, Default, sqlx::FromRow)]
pub struct Settings {
    pub create_unknown: bool,
    pub company_only: bool,
}

pub async fn load(conn: &mut PgConnection) -> sqlx::Result<Settings> {
    sqlx::query_as("SELECT create_unknown, company_only FROM sign_in_settings")
        .fetch_one(conn)
        .await
}

/// Whether a password sign-in is refused: the admin asked for the company sign-in only and it
/// is configured (without it, passwords are the way back in).
pub async fn passwords_refused(state: &AppState, conn: &mut PgConnection) -> sqlx::Result<bool> {
    if state.company.is_none() {
        return Ok(false);
    }
    Ok(load(conn).await?.company_only)
}

/// Ends the sessions passwords opened when the admin chose the company sign-in only; returns
/// how many (none when passwords are allowed).
pub async fn end_password_sessions(db: &sqlx::PgPool) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "DELETE FROM sessions
          WHERE method = 'password' AND (SELECT company_only FROM sign_in_settings)",
    )
    .execute(db)
    .await?
    .rows_affected())
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/sign_in_settings.html")]
pub(super) struct SettingsPage {
    chrome: Chrome,
    configured: Option<Summary>,
    form: Settings,
    errors: FieldErrors,
}

struct Summary {
    provider: String,
    issuer: String,
    domains: String,
    groups: String,
}

fn summary(state: &AppState) -> Option<Summary> {
    let c = &state.company.as_deref()?.config;
    let groups = if c.group_roles.is_empty() {
        "not mapped: the admin grants every role".to_string()
    } else {
        c.group_roles
            .iter()
            .map(|(g, r)| format!("{g} → {}", r.label()))
            .collect::<Vec<_>>()
            .join("; ")
    };
    Some(Summary {
        provider: c.provider_name.clone(),
        issuer: c.issuer.clone(),
        domains: c.allowed_domains.join(", "),
        groups,
    })
}

pub(super) async fn page(State(state): State<AppState>, ctx: Ctx) -> AppResult<SettingsPage> {
    let mut conn = state.db.acquire().await?;
    let form = load(&mut conn).await?;
    Ok(SettingsPage {
        chrome: Chrome::new(&state, &ctx, "/admin/sign-in"),
        configured: summary(&state),
        form,
        errors: FieldErrors::default(),
    })
}

#[derive(Debug, Deserialize)]
pub(super) struct SettingsForm {
    create_unknown: Option<String>,
    company_only: Option<String>,
}

pub(super) async fn save(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<SettingsForm>,
) -> AppResult<Response> {
    let wanted = Settings {
        create_unknown: form.create_unknown.is_some(),
        company_only: form.company_only.is_some(),
    };
    let mut tx = state.db.begin().await?;
    let before: Settings =
        sqlx::query_as("SELECT create_unknown, company_only FROM sign_in_settings FOR UPDATE")
            .fetch_one(&mut *tx)
            .await?;
    let mut errors = FieldErrors::default();
    if wanted.company_only && !before.company_only {
        if state.company.is_none() {
            errors.add(
                "company_only",
                "The company sign-in is not configured (OIDC_ISSUER_URL): passwords are the \
                 only way in.",
            );
        } else if crate::auth::session::method(&mut tx, &ctx.user.session_hash).await?
            != SignInMethod::Company
        {
            errors.add(
                "company_only",
                "Sign in with the company account yourself first (sign out, then use its \
                 button), so you know it works before passwords stop.",
            );
        } else if let Some(Err(why)) = match state.company.as_deref() {
            Some(p) => Some(p.reachable().await),
            None => None,
        } {
            tracing::warn!(%why, "company-only not turned on: the provider is unreachable");
            errors.add(
                "company_only",
                "The identity provider cannot be reached just now: passwords stay until it \
                 can (try again in a few minutes).",
            );
        }
    }
    if wanted.create_unknown && state.company.is_none() {
        errors.add(
            "create_unknown",
            "The company sign-in is not configured (OIDC_ISSUER_URL).",
        );
    }
    if !errors.is_empty() {
        drop(tx);
        let page = SettingsPage {
            chrome: Chrome::new(&state, &ctx, "/admin/sign-in"),
            configured: summary(&state),
            form: wanted,
            errors,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    sqlx::query(
        "UPDATE sign_in_settings
            SET create_unknown = $1, company_only = $2, updated_by = $3, updated_at = now()",
    )
    .bind(wanted.create_unknown)
    .bind(wanted.company_only)
    .bind(ctx.user.id)
    .execute(&mut *tx)
    .await?;
    if before.create_unknown == wanted.create_unknown && before.company_only == wanted.company_only
    {
        return commit_and_go(tx, "/admin/sign-in", "Nothing changed.").await;
    }
    // Passwords stop now: the sessions they opened end (the admin's own is a company one).
    let ended = if wanted.company_only && !before.company_only {
        sqlx::query("DELETE FROM sessions WHERE method = 'password'")
            .execute(&mut *tx)
            .await?
            .rows_affected()
    } else {
        0
    };
    let record = json!({
        "create_unknown": wanted.create_unknown,
        "company_only": wanted.company_only,
        "was": { "create_unknown": before.create_unknown, "company_only": before.company_only },
        "password_sessions_ended": ended,
    });
    audit::record(
        &mut tx,
        &Actor::from_ctx(&ctx),
        "sign_in.settings_changed",
        "sign_in_settings",
        None,
        record,
    )
    .await?;
    let message = if ended > 0 {
        format!(
            "Sign-in settings saved. {ended} session{} opened with a password ended.",
            if ended == 1 { "" } else { "s" }
        )
    } else {
        "Sign-in settings saved.".to_string()
    };
    let answer = commit_and_go(tx, "/admin/sign-in", &message).await;
    if ended > 0 {
        // This instance forgets them now; the others on the database's notice.
        state.sessions.forget_all();
    }
    answer
}
