//! A real installation's first hour. With no user at all, the server prints a one-time link
//! (`/setup?token=…`, working for a day) where the first administrator is created; then, on that admin's desk,
//! the parts of setting the desk up, in order, each with its link and a tick once done.

pub mod first_run;

use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use crate::audit::{self, Actor};
use crate::auth::access::Access;
use crate::auth::password;
use crate::auth::roles::Role;
use crate::users::form::{self as user_form, DetailsForm};
use crate::web::ctx::RequestMeta;
use crate::web::error::AppResult;
use crate::web::fields::FieldErrors;
use crate::web::{AppState, Routes};

pub fn routes(r: Routes) -> Routes {
    r.get("/setup", Access::Public, page)
        .post("/setup", Access::Public, create_first_admin)
        .post(
            "/setup/reviewed/{step}",
            crate::auth::access::ADMIN,
            first_run::reviewed,
        )
}

/// How long a first-administrator link works (a restart prints a new one).
const LINK_HOURS: i32 = 24;

/// A fresh one-time token for the first administrator's link, its hash kept (so any instance
/// behind the same database accepts it); the server prints the link.
pub async fn issue(db: &sqlx::PgPool) -> sqlx::Result<String> {
    let token = crate::auth::token::random_hex(24);
    sqlx::query("INSERT INTO setup_tokens (token_hash) VALUES (sha256(convert_to($1, 'UTF8')))")
        .bind(&token)
        .execute(db)
        .await?;
    Ok(token)
}

/// Whether `given` is a link's token issued lately and not yet spent. Only hashes are compared,
/// so how long the comparison takes says nothing about the token.
async fn valid(conn: &mut sqlx::PgConnection, given: &str) -> sqlx::Result<bool> {
    // A token is hex: anything else (a NUL byte, say) is no token, and never reaches the database.
    if given.is_empty() || given.len() > 100 || !given.chars().all(|c| c.is_ascii_hexdigit()) {
        return Ok(false);
    }
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM setup_tokens
                         WHERE token_hash = sha256(convert_to($1, 'UTF8'))
                           AND created_at > now() - make_interval(hours => $2))",
    )
    .bind(given)
    .bind(LINK_HOURS)
    .fetch_one(conn)
    .await
}

/// Whether the installation has no user at all (the first administrator is still to come).
pub async fn needs_first_admin(db: &sqlx::PgPool) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT NOT EXISTS (SELECT 1 FROM users)")
        .fetch_one(db)
        .await
}

#[derive(Debug, Default, Deserialize)]
pub struct SetupQuery {
    #[serde(default)]
    token: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

#[derive(askama::Template, askama_web::WebTemplate)]
#[template(path = "setup/first_admin.html")]
struct SetupPage {
    /// The form is shown only with the right token; otherwise the page says where the link is.
    token_ok: bool,
    form: SetupForm,
    errors: FieldErrors,
}

async fn page(State(state): State<AppState>, Query(q): Query<SetupQuery>) -> AppResult<Response> {
    if !needs_first_admin(&state.db).await? {
        // Set up already: the desk (or, signed out, the sign-in page it sends to).
        return Ok(Redirect::to("/").into_response());
    }
    let token_ok = valid(&mut *state.db.acquire().await?, &q.token).await?;
    let form = SetupForm {
        token: if token_ok { q.token } else { String::new() },
        ..Default::default()
    };
    Ok(SetupPage {
        token_ok,
        form,
        errors: FieldErrors::default(),
    }
    .into_response())
}

async fn create_first_admin(
    State(state): State<AppState>,
    meta: RequestMeta,
    Form(mut form): Form<SetupForm>,
) -> AppResult<Response> {
    if !needs_first_admin(&state.db).await? {
        // Set up already: the desk (or, signed out, the sign-in page it sends to).
        return Ok(Redirect::to("/").into_response());
    }
    let mut conn = state.db.acquire().await?;
    if !valid(&mut conn, &form.token).await? {
        // Recorded under what was typed, as a refused sign-in is: without control characters
        // (PostgreSQL refuses a NUL byte), and not longer than an address can be.
        let typed: String = form
            .email
            .chars()
            .filter(|c| !c.is_control())
            .take(254)
            .collect();
        let refused = Actor::anonymous(typed.trim(), &meta);
        audit::record(
            &mut conn,
            &refused,
            "setup.refused",
            "user",
            None,
            json!({}),
        )
        .await?;
        let page = SetupPage {
            token_ok: false,
            form: SetupForm::default(),
            errors: FieldErrors::default(),
        };
        return Ok((axum::http::StatusCode::FORBIDDEN, page).into_response());
    }
    let details = DetailsForm {
        email: form.email.clone(),
        display_name: form.display_name.clone(),
        roles: vec![Role::Admin.key().to_string()],
        password: form.password.clone(),
        version: 0,
        from_provider: Vec::new(),
    };
    let details = match user_form::parse_details(&details, true) {
        Ok(d) => d,
        Err(errors) => {
            form.password.clear();
            let page = SetupPage {
                token_ok: true,
                form,
                errors,
            };
            return Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    drop(conn);
    let hash = password::hash_async(form.password.clone()).await?;
    let mut tx = state.db.begin().await?;
    // Two people with the link at once: the first to commit is the administrator.
    sqlx::query("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    let none_yet: bool = sqlx::query_scalar("SELECT NOT EXISTS (SELECT 1 FROM users)")
        .fetch_one(&mut *tx)
        .await?;
    if !none_yet {
        return Ok(Redirect::to("/login").into_response());
    }
    let actor = Actor::anonymous("setup", &meta);
    if let crate::users::db::Saved::EmailTaken =
        crate::users::add(&mut tx, &actor, &details, &hash).await?
    {
        return Ok(Redirect::to("/login").into_response());
    }
    // Every link is spent with the first administrator.
    sqlx::query("DELETE FROM setup_tokens")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Redirect::to("/login?ready=1").into_response())
}
