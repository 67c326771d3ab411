//! The sign-in page, signing in and out, and the session cookie.

use askama::Template;
use askama_web::WebTemplate;
use axum::Extension;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sqlx::PgConnection;

use super::session::{self, CurrentUser, SignInMethod};
use super::{company, password, throttle};
use crate::audit::{self, Actor};
use crate::web::AppState;
use crate::web::ctx::{Ctx, RequestMeta, safe_next};
use crate::web::error::AppResult;

/// The one answer for a wrong email, a wrong password or a disabled account.
const WRONG: &str = "That email and password do not match an active account.";
const THROTTLED: &str = "Too many failed attempts. Wait 15 minutes, then try again.";
const COMPANY_ONLY: &str =
    "This desk signs in with the company account only: use the button above.";

#[derive(Template, WebTemplate)]
#[template(path = "auth/login.html")]
pub struct LoginPage {
    email: String,
    next: String,
    error: Option<&'static str>,
    notice: Option<&'static str>,
    demo_accounts: Vec<(&'static str, &'static str, &'static str)>,
    /// The company sign-in's button, when configured: "Sign in with <provider>".
    company: Option<String>,
    /// Where its button goes, carrying `next`.
    company_start: String,
    /// Passwords refused (the admin chose the company sign-in only).
    company_only: bool,
    /// Just signed out of a company session: offer the provider's sign-out too.
    offer_provider_sign_out: bool,
}

impl LoginPage {
    /// The sign-in page again, the address as typed, with why it did not sign in.
    fn refused(
        state: &AppState,
        email: String,
        next: String,
        message: &'static str,
        company_only: bool,
    ) -> Response {
        let mut page = LoginPage::new(state, email, next);
        page.company_only = company_only;
        page.error = Some(message);
        (StatusCode::UNAUTHORIZED, page).into_response()
    }

    fn new(state: &AppState, email: String, next: String) -> Self {
        let company_start = if next == "/" {
            "/auth/company".to_string()
        } else {
            let mut url = reqwest::Url::parse("http://desk/auth/company").expect("a fixed address");
            url.query_pairs_mut().append_pair("next", &next);
            format!("{}?{}", url.path(), url.query().unwrap_or(""))
        };
        LoginPage {
            company_start,
            email,
            next,
            error: None,
            notice: None,
            company: state
                .company
                .as_deref()
                .map(|p| p.config.provider_name.clone()),
            company_only: false,
            offer_provider_sign_out: false,
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
    ready: Option<String>,
}

pub(super) async fn login_page(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    Query(q): Query<LoginQuery>,
) -> AppResult<Response> {
    let next = safe_next(q.next.as_deref()).to_string();
    if user.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    let mut page = LoginPage::new(&state, String::new(), next);
    let mut conn = state.db.acquire().await?;
    page.company_only = company::settings::passwords_refused(&state, &mut conn).await?;
    drop(conn);
    if page.company_only {
        // The demo's passwords are not used either.
        page.demo_accounts.clear();
    }
    if let Some(how) = q.signed_out.as_deref() {
        page.notice = Some("You are signed out.");
        page.offer_provider_sign_out = how == "company"
            && match state.company.as_deref() {
                Some(p) => p.sign_out_endpoint().await.is_some(),
                None => false,
            };
    } else if q.ready.is_some() {
        page.notice = Some("The administrator's account is ready: sign in with it.");
    } else if q.expired.is_some() {
        page.notice = Some("Your session ended. Sign in again to continue.");
    }
    Ok(page.into_response())
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

pub(super) async fn login(
    State(state): State<AppState>,
    meta: RequestMeta,
    previous: Option<Extension<CurrentUser>>,
    axum::Form(form): axum::Form<LoginForm>,
) -> AppResult<Response> {
    // Control characters cannot be in anyone's address (and PostgreSQL refuses a NUL byte):
    // dropped, so the attempt fails like any wrong address.
    let email: String = form.email.chars().filter(|c| !c.is_control()).collect();
    let email = email.trim().to_string();
    let next = safe_next(Some(&form.next)).to_string();
    let mut conn = state.db.acquire().await?;
    if company::settings::passwords_refused(&state, &mut conn).await? {
        let actor = Actor::anonymous(&email, &meta);
        let record = serde_json::json!({ "email": email, "reason": "company_only" });
        audit::record(
            &mut conn,
            &actor,
            "auth.sign_in_failed",
            "user",
            None,
            record,
        )
        .await?;
        state.metrics.sign_in_failed("company_only");
        return Ok(LoginPage::refused(&state, email, next, COMPANY_ONLY, true));
    }
    if throttle::is_throttled(&mut conn, &email, &meta.ip).await? {
        let actor = Actor::anonymous(&email, &meta);
        let record = serde_json::json!({ "email": email });
        audit::record(
            &mut conn,
            &actor,
            "auth.sign_in_throttled",
            "user",
            None,
            record,
        )
        .await?;
        state.metrics.sign_in_throttled();
        return Ok(LoginPage::refused(&state, email, next, THROTTLED, false));
    }
    let candidate = candidate(&mut conn, &email).await?;
    drop(conn);
    // Always one argon2 verification, so timing says nothing about whether the email exists
    // (or whether its account has a password: one made at a company sign-in has none).
    let hash = candidate
        .as_ref()
        .map(|c| c.password_hash.clone())
        .filter(|h| h.starts_with('$'));
    let verified = password::verify_async(form.password, hash).await;
    let mut tx = state.db.begin().await?;
    // The admin may have chosen the company sign-in only while the password was checked: read
    // again, held until this sign-in commits (the choice waits for it, then ends its session).
    if state.company.is_some() {
        let company_only: bool =
            sqlx::query_scalar("SELECT company_only FROM sign_in_settings FOR SHARE")
                .fetch_one(&mut *tx)
                .await?;
        if company_only {
            drop(tx);
            return Ok(LoginPage::refused(&state, email, next, COMPANY_ONLY, true));
        }
    }
    match candidate {
        Some(user) if verified && !user.disabled => {
            throttle::clear(&mut tx, &email).await?;
            let previous = previous.map(|Extension(p)| p.session_hash);
            let secret = start_session(
                &mut tx,
                &state,
                &meta,
                user.id,
                &user.email,
                SignInMethod::Password,
                previous.clone(),
            )
            .await?;
            tx.commit().await?;
            if let Some(previous) = previous {
                // Once committed, this instance forgets it without waiting for its notice.
                state.sessions.forget_session(&previous);
            }
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
            let actor = Actor::anonymous(&email, &meta);
            let user = other.map(|u| u.id.to_string());
            let record = serde_json::json!({ "email": email, "reason": reason });
            audit::record(&mut tx, &actor, "auth.sign_in_failed", "user", user, record).await?;
            tx.commit().await?;
            state.metrics.sign_in_failed(reason);
            Ok(LoginPage::refused(&state, email, next, WRONG, false))
        }
    }
}

/// The account with this address, if any.
async fn candidate(conn: &mut PgConnection, email: &str) -> sqlx::Result<Option<Candidate>> {
    sqlx::query_as(
        "SELECT id, email, password_hash, disabled_at IS NOT NULL AS disabled
           FROM users WHERE lower(email) = lower($1)",
    )
    .bind(email)
    .fetch_optional(conn)
    .await
}

/// Starts `user`'s session (ending whatever session the browser held before: one person, one
/// fresh id), on the record with how they signed in; returns the session's secret for the
/// cookie.
pub(crate) async fn start_session(
    conn: &mut PgConnection,
    state: &AppState,
    meta: &RequestMeta,
    user: i64,
    email: &str,
    method: SignInMethod,
    previous: Option<Vec<u8>>,
) -> AppResult<String> {
    if let Some(previous) = previous {
        session::delete(conn, &previous).await?;
    }
    let lifetime = state.config.session_absolute;
    let secret =
        session::create_with(conn, user, lifetime, &meta.ip, &meta.user_agent, method).await?;
    let actor = Actor::signing_in(user, email, meta);
    let record = serde_json::json!({ "method": method.key() });
    audit::record(
        conn,
        &actor,
        "auth.sign_in",
        "user",
        Some(user.to_string()),
        record,
    )
    .await?;
    Ok(secret)
}

pub(super) async fn logout(State(state): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let method = session::delete(&mut tx, &ctx.user.session_hash).await?;
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
    state.sessions.forget_session(&ctx.user.session_hash);
    let to = if method == Some(SignInMethod::Company) && state.company.is_some() {
        "/login?signed_out=company"
    } else {
        "/login?signed_out=1"
    };
    let mut res = Redirect::to(to).into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        session::clear_cookie(state.config.secure_cookies()),
    );
    Ok(res)
}

/// The session cookie: script cannot read it, other sites' links still carry it (Lax, so a
/// link in an email arrives signed in), HTTPS-only when the app is served over HTTPS.
pub(crate) fn session_cookie(state: &AppState, secret: &str) -> anyhow::Result<HeaderValue> {
    let secure = state.config.secure_cookies();
    let value = format!(
        "{}={secret}; Path=/; HttpOnly; SameSite=Lax{}",
        session::cookie_name(secure),
        if secure { "; Secure" } else { "" }
    );
    Ok(HeaderValue::from_str(&value)?)
}
