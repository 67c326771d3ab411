//! Signing in and out, sessions, passwords, roles and sign-in throttling.

pub mod access;
pub mod password;
pub mod roles;
pub mod session;
pub mod throttle;
pub mod token;

use askama::Template;
use askama_web::WebTemplate;
use axum::Extension;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::audit::{self, Actor};
use crate::web::ctx::{Ctx, RequestMeta, safe_next};
use crate::web::error::AppResult;
use crate::web::{AppState, Routes};
use access::Access;
use session::CurrentUser;

pub fn routes(r: Routes) -> Routes {
    r.get("/login", Access::Public, login_page)
        .post("/login", Access::Public, login)
        .post("/logout", Access::SignedIn, logout)
}

/// The one answer for a wrong email, a wrong password or a disabled account.
const WRONG: &str = "That email and password do not match an active account.";
const THROTTLED: &str = "Too many failed attempts. Wait 15 minutes, then try again.";

#[derive(Template, WebTemplate)]
#[template(path = "auth/login.html")]
pub struct LoginPage {
    email: String,
    next: String,
    error: Option<&'static str>,
    notice: Option<&'static str>,
    demo_accounts: Vec<(&'static str, &'static str, &'static str)>,
}

impl LoginPage {
    fn new(state: &AppState, email: String, next: String) -> Self {
        LoginPage {
            email,
            next,
            error: None,
            notice: None,
            demo_accounts: if state.config.demo {
                crate::demo::ACCOUNTS
                    .iter()
                    .map(|a| (a.email, a.display_name, a.roles_label))
                    .collect()
            } else {
                Vec::new()
            },
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    signed_out: Option<String>,
    expired: Option<String>,
}

async fn login_page(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    Query(q): Query<LoginQuery>,
) -> Response {
    let next = safe_next(q.next.as_deref()).to_string();
    if user.is_some() {
        return Redirect::to(&next).into_response();
    }
    let mut page = LoginPage::new(&state, String::new(), next);
    if q.signed_out.is_some() {
        page.notice = Some("You are signed out.");
    } else if q.expired.is_some() {
        page.notice = Some("Your session ended. Sign in again to continue.");
    }
    page.into_response()
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

#[derive(sqlx::FromRow)]
struct Candidate {
    id: i64,
    email: String,
    password_hash: String,
    disabled: bool,
}

async fn login(
    State(state): State<AppState>,
    meta: RequestMeta,
    previous: Option<Extension<CurrentUser>>,
    axum::Form(form): axum::Form<LoginForm>,
) -> AppResult<Response> {
    // Control characters cannot be in anyone's address (and PostgreSQL refuses a NUL byte):
    // dropped, so the attempt fails like any wrong address.
    let email: String = form
        .email
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .to_string();
    let next = safe_next(Some(&form.next)).to_string();
    let refuse = |state: &AppState, message: &'static str| {
        let mut page = LoginPage::new(state, email.clone(), next.clone());
        page.error = Some(message);
        (StatusCode::UNAUTHORIZED, page).into_response()
    };

    let mut conn = state.db.acquire().await?;
    if throttle::is_throttled(&mut conn, &email, &meta.ip).await? {
        audit::record(
            &mut conn,
            &Actor::anonymous(&email, &meta),
            "auth.sign_in_throttled",
            "user",
            None,
            serde_json::json!({ "email": email }),
        )
        .await?;
        return Ok(refuse(&state, THROTTLED));
    }
    let candidate: Option<Candidate> = sqlx::query_as(
        "SELECT id, email, password_hash, disabled_at IS NOT NULL AS disabled
           FROM users WHERE lower(email) = lower($1)",
    )
    .bind(&email)
    .fetch_optional(&mut *conn)
    .await?;
    drop(conn);

    // Always one argon2 verification, so timing says nothing about whether the email exists.
    let verified = password::verify_async(
        form.password,
        candidate.as_ref().map(|c| c.password_hash.clone()),
    )
    .await;

    let mut tx = state.db.begin().await?;
    match candidate {
        Some(user) if verified && !user.disabled => {
            throttle::clear(&mut tx, &email).await?;
            // Whatever session the browser held before is over: one person, one fresh id.
            if let Some(Extension(previous)) = &previous {
                session::delete(&mut tx, &previous.session_hash).await?;
            }
            let secret = session::create(
                &mut tx,
                user.id,
                state.config.session_absolute,
                &meta.ip,
                &meta.user_agent,
            )
            .await?;
            let actor = Actor {
                user_id: Some(user.id),
                label: user.email.clone(),
                ip: Some(meta.ip.clone()),
                request_id: Some(meta.request_id.clone()),
            };
            audit::record(
                &mut tx,
                &actor,
                "auth.sign_in",
                "user",
                Some(user.id.to_string()),
                serde_json::json!({}),
            )
            .await?;
            tx.commit().await?;
            let mut res = Redirect::to(&next).into_response();
            res.headers_mut()
                .insert(header::SET_COOKIE, session_cookie(&state, &secret)?);
            Ok(res)
        }
        other => {
            throttle::record_failure(&mut tx, &email, &meta.ip).await?;
            let reason = match &other {
                None => "unknown_email",
                Some(u) if u.disabled => "disabled",
                Some(_) => "wrong_password",
            };
            audit::record(
                &mut tx,
                &Actor::anonymous(&email, &meta),
                "auth.sign_in_failed",
                "user",
                other.map(|u| u.id.to_string()),
                serde_json::json!({ "email": email, "reason": reason }),
            )
            .await?;
            tx.commit().await?;
            Ok(refuse(&state, WRONG))
        }
    }
}

async fn logout(State(state): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    session::delete(&mut tx, &ctx.user.session_hash).await?;
    audit::record(
        &mut tx,
        &Actor::from_ctx(&ctx),
        "auth.sign_out",
        "user",
        Some(ctx.user.id.to_string()),
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    let mut res = Redirect::to("/login?signed_out=1").into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, clear_cookie(&state)?);
    Ok(res)
}

/// The session cookie: script cannot read it, other sites' links still carry it (Lax, so a
/// link in an email arrives signed in), HTTPS-only when the app is served over HTTPS.
fn session_cookie(state: &AppState, secret: &str) -> anyhow::Result<HeaderValue> {
    let secure = state.config.secure_cookies();
    let value = format!(
        "{}={secret}; Path=/; HttpOnly; SameSite=Lax{}",
        session::cookie_name(secure),
        if secure { "; Secure" } else { "" }
    );
    Ok(HeaderValue::from_str(&value)?)
}

fn clear_cookie(state: &AppState) -> anyhow::Result<HeaderValue> {
    let secure = state.config.secure_cookies();
    let value = format!(
        "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
        session::cookie_name(secure),
        if secure { "; Secure" } else { "" }
    );
    Ok(HeaderValue::from_str(&value)?)
}
