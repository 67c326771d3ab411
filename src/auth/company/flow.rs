//! The company sign-in's three addresses: the start (to the provider, with PKCE, `state` and
//! `nonce`), the callback (the code exchanged, the ID token checked, the person matched, the
//! desk's session started) and the provider's own sign-out.

use askama::Template;
use askama_web::WebTemplate;
use axum::Extension;
use axum::extract::{Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use openidconnect::core::CoreAuthenticationFlow;
use openidconnect::{
    AuthorizationCode, CsrfToken, LogoutRequest, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, PostLogoutRedirectUrl, RequestTokenError, Scope,
};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;

use super::{Failure, Provider, chain, send};
use crate::audit::{self, Actor};
use crate::auth::roles::{Role, RoleSet};
use crate::auth::session::{CurrentUser, SignInMethod};
use crate::auth::token;
use crate::web::AppState;
use crate::web::ctx::{RequestMeta, safe_next};
use crate::web::error::{AppError, AppResult};

/// The browser's copy of a sign-in's `state` is a cookie named for that sign-in (so two started
/// in one browser, in two tabs, each finish), sent back only to the callback.
fn state_cookie_name(state: &AppState, value: &str) -> String {
    let tag: String = token::digest(value)[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if state.config.secure_cookies() {
        // Pinned to this host: a sibling subdomain cannot plant one.
        format!("__Host-od_company_{tag}")
    } else {
        format!("od_company_{tag}")
    }
}

/// How many company sign-ins may be under way at once (started in the last ten minutes, not
/// finished): a bound on what anonymous starts can store.
const STARTS_UNDER_WAY: i64 = 5_000;

/// How long a sign-in may take at the provider.
const STATE_LIFETIME_SECONDS: i64 = 600;

pub(super) async fn purge_unfinished(db: &sqlx::PgPool) -> sqlx::Result<()> {
    sqlx::query(
        "DELETE FROM company_sign_ins WHERE created_at <= now() - make_interval(secs => $1)",
    )
    .bind(STATE_LIFETIME_SECONDS as f64)
    .execute(db)
    .await?;
    Ok(())
}

fn provider(state: &AppState) -> AppResult<&Provider> {
    state.company.as_deref().ok_or(AppError::NotFound)
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/company_refused.html")]
struct RefusedPage {
    provider: String,
    message: String,
    passwords: bool,
    /// Offer the provider's account chooser (the identity was refused).
    choose: bool,
}

#[derive(Debug, Deserialize)]
pub(super) struct StartQuery {
    next: Option<String>,
    /// Set by "Sign in again" after a refusal: the provider is asked to let the person choose
    /// another account rather than go on with the one it remembers.
    choose: Option<String>,
}

/// Sends the browser to the provider: a fresh `state`, `nonce` and PKCE verifier kept for the
/// callback, the `state` also in a cookie so only this browser can finish the sign-in.
pub(super) async fn start(
    State(state): State<AppState>,
    meta: RequestMeta,
    Query(q): Query<StartQuery>,
) -> AppResult<Response> {
    let provider = provider(&state)?;
    let next = safe_next(q.next.as_deref()).to_string();
    let md = match provider.metadata_for_start().await {
        Ok(md) => md,
        Err(failure) => return refused(&state, provider, &meta, failure, "").await,
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let client = provider.client(&md);
    let mut request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge);
    if q.choose.is_some() {
        request = request.add_prompt(provider.choose_prompt());
    }
    let (url, csrf, nonce) = request.url();
    // Each start keeps a row for ten minutes; the table holds at most so many (behind a proxy
    // every start has the proxy's address, so no cap per address: one person could lock
    // everyone out).
    let started: i64 = sqlx::query_scalar(
        "WITH kept AS (
             INSERT INTO company_sign_ins (state_hash, nonce, pkce_verifier, next)
             SELECT $1, $2, $3, $4
              WHERE (SELECT count(*) FROM company_sign_ins
                      WHERE created_at > now() - make_interval(secs => $6)) < $5
             RETURNING 1)
         SELECT count(*) FROM kept",
    )
    .bind(token::digest(csrf.secret()))
    .bind(nonce.secret())
    .bind(verifier.secret())
    .bind(&next)
    .bind(STARTS_UNDER_WAY)
    .bind(STATE_LIFETIME_SECONDS as f64)
    .fetch_one(&state.db)
    .await?;
    if started == 0 {
        // Counted and logged, not one audit record per refusal (that would let anyone fill
        // the audit log).
        tracing::warn!("company sign-in refused: too many under way");
        state.metrics.sign_in_failed("too_many_starts");
        let page = RefusedPage {
            message: Failure::TooManyStarts.message(&provider.config.provider_name),
            provider: provider.config.provider_name.clone(),
            passwords: true,
            choose: false,
        };
        return Ok((StatusCode::TOO_MANY_REQUESTS, page).into_response());
    }
    let mut res = Redirect::to(url.as_str()).into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        state_cookie(&state, csrf.secret(), STATE_LIFETIME_SECONDS)?,
    );
    Ok(res)
}

/// The `state` cookie: script cannot read it, a top-level return from the provider carries it
/// (Lax), and it lives as long as the sign-in may take. With HTTPS it is `__Host-` (path `/`,
/// `Secure`); without, it goes only to the callback.
fn state_cookie(state: &AppState, value: &str, max_age: i64) -> anyhow::Result<HeaderValue> {
    let name = state_cookie_name(state, value);
    Ok(HeaderValue::from_str(&cookie_header(
        state.config.secure_cookies(),
        &name,
        value,
        max_age,
    ))?)
}

fn cookie_header(secure: bool, name: &str, value: &str, max_age: i64) -> String {
    let (path, secure) = if secure {
        ("/", "; Secure")
    } else {
        (super::CALLBACK, "")
    };
    let value = if max_age == 0 { "" } else { value };
    format!("{name}={value}; Path={path}; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")
}

/// The value of the cookie `name`, if the browser sent it.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.to_string())
}

/// The callback's parameters, read leniently (a parameter given twice or too long is not
/// taken).
#[derive(Debug, Default)]
pub(super) struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    repeated: bool,
}

impl CallbackQuery {
    fn from_pairs(pairs: Vec<(String, String)>) -> CallbackQuery {
        let mut q = CallbackQuery::default();
        for (key, value) in pairs {
            let slot = match key.as_str() {
                "code" => &mut q.code,
                "state" => &mut q.state,
                "error" => &mut q.error,
                "error_description" => &mut q.error_description,
                _ => continue,
            };
            // Given twice, or longer than any provider's (16 KB): not taken.
            if slot.is_some() || value.len() > 16_384 {
                q.repeated = true;
            }
            *slot = Some(value.chars().filter(|c| !c.is_control()).collect());
        }
        q
    }
}

/// Who the provider says signed in, checked.
struct Identity {
    email: String,
    name: Option<String>,
    /// `None`: the token did not say (groups not configured, or not sent).
    groups: Option<Vec<String>>,
    next: String,
}

pub(super) async fn callback(
    State(state): State<AppState>,
    meta: RequestMeta,
    headers: HeaderMap,
    previous: Option<Extension<CurrentUser>>,
    RawQuery(raw): RawQuery,
) -> AppResult<Response> {
    let provider = provider(&state)?;
    let pairs = serde_urlencoded::from_str::<Vec<(String, String)>>(raw.as_deref().unwrap_or(""))
        .unwrap_or_default();
    let q = CallbackQuery::from_pairs(pairs);
    let returned = q.state.clone().unwrap_or_default();
    let identity = match identify(&state, provider, &headers, q).await? {
        Ok(identity) => identity,
        Err(failure) => {
            return refused(&state, provider, &meta, failure, &returned).await;
        }
    };
    let previous = previous.map(|Extension(p)| p.session_hash);
    let mut tx = state.db.begin().await?;
    // The record names the account as stored, not as the provider capitalised it.
    let (user, email) = match account(&mut tx, &state, provider, &meta, &identity).await? {
        Ok(found) => found,
        Err(failure) => {
            drop(tx);
            return refused(&state, provider, &meta, failure, &returned).await;
        }
    };
    let secret = crate::auth::sign_in::start_session(
        &mut tx,
        &state,
        &meta,
        user,
        &email,
        SignInMethod::Company,
        previous.clone(),
    )
    .await?;
    tx.commit().await?;
    if let Some(previous) = previous {
        state.sessions.forget_session(&previous);
    }
    // A change of roles from the groups is seen at once by this instance.
    state.sessions.forget_user(user);
    let mut res = Redirect::to(&identity.next).into_response();
    let headers = res.headers_mut();
    headers.append(
        header::SET_COOKIE,
        crate::auth::sign_in::session_cookie(&state, &secret)?,
    );
    headers.append(header::SET_COOKIE, state_cookie(&state, &returned, 0)?);
    Ok(res)
}

/// Checks the callback from `state` to the ID token's claims; the outer error is the desk's
/// own (the database), the inner one the sign-in's.
async fn identify(
    state: &AppState,
    provider: &Provider,
    headers: &HeaderMap,
    q: CallbackQuery,
) -> AppResult<Result<Identity, Failure>> {
    let Some(returned) = q.state.filter(|s| !s.is_empty() && !q.repeated) else {
        return Ok(Err(Failure::StateMismatch));
    };
    let hash = token::digest(&returned);
    let fresh = STATE_LIFETIME_SECONDS as f64;
    // A sign-in this browser did not start (a link someone sent, a changed address) is not
    // finished here, nor used up: the browser that started it still can.
    if cookie(headers, &state_cookie_name(state, &returned)).as_deref() != Some(returned.as_str()) {
        let started: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM company_sign_ins
                             WHERE state_hash = $1 AND created_at > now() - make_interval(secs => $2))",
        )
        .bind(&hash)
        .bind(fresh)
        .fetch_one(&state.db)
        .await?;
        return Ok(Err(if started {
            Failure::StateMismatch
        } else {
            Failure::StateUnknown
        }));
    }
    // Used up whatever follows: a second try with the same `state` fails.
    let kept: Option<(String, String, String)> = sqlx::query_as(
        "DELETE FROM company_sign_ins
          WHERE state_hash = $1 AND created_at > now() - make_interval(secs => $2)
          RETURNING nonce, pkce_verifier, next",
    )
    .bind(&hash)
    .bind(fresh)
    .fetch_optional(&state.db)
    .await?;
    let Some((nonce, verifier, next)) = kept else {
        return Ok(Err(Failure::StateUnknown));
    };
    if let Some(error) = q.error {
        let description = q.error_description.unwrap_or_default();
        return Ok(Err(Failure::Provider(
            format!("{error} {description}").trim().to_string(),
        )));
    }
    let Some(code) = q.code.filter(|c| !c.is_empty()) else {
        return Ok(Err(Failure::Provider("no code in the callback".into())));
    };
    Ok(exchange(provider, code, verifier, nonce, next).await)
}

async fn exchange(
    provider: &Provider,
    code: String,
    verifier: String,
    nonce: String,
    next: String,
) -> Result<Identity, Failure> {
    let md = provider.metadata(false).await?;
    let http = provider
        .http()
        .map_err(|e| Failure::Unreachable(e.to_string()))?;
    let client = provider.client(&md);
    let request = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| Failure::Unreachable(e.to_string()))?
        .set_pkce_verifier(PkceCodeVerifier::new(verifier));
    let tokens = request
        .request_async(&|req| send(http.clone(), req))
        .await
        .map_err(|e| match e {
            RequestTokenError::Request(e) => Failure::Unreachable(chain(&e)),
            other => Failure::Exchange(chain(&other)),
        })?;
    let _ = tokens.access_token();
    let Some(id_token) = tokens.extra_fields().id_token() else {
        return Err(Failure::Exchange("the answer held no ID token".into()));
    };
    let claims = provider.verify(id_token, &Nonce::new(nonce)).await?;
    let Some(email) = claims.email().map(|e| e.as_str().trim().to_string()) else {
        return Err(Failure::EmailUnverified("(no address given)".into()));
    };
    let payload = payload_of(&id_token.to_string());
    if !email_verified(claims.email_verified(), &payload) {
        return Err(Failure::EmailUnverified(email));
    }
    if !provider.config.allows(&email) {
        return Err(Failure::DomainNotAllowed(email));
    }
    let name = claims
        .name()
        .and_then(|n| n.get(None))
        .map(|n| n.as_str().to_string());
    let groups = provider
        .config
        .groups_claim
        .as_deref()
        .and_then(|claim| groups_in(&payload, claim));
    Ok(Identity {
        email,
        name,
        groups,
        next,
    })
}

/// A verified ID token's claims as JSON (`Null` if unreadable).
fn payload_of(jwt: &str) -> serde_json::Value {
    use base64::Engine;
    jwt.split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .ok()
        })
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// Whether the provider vouches for the email: `email_verified`, or Microsoft Entra's
/// `xms_edov` (the domain's owner verified it; Entra sends no `email_verified`).
fn email_verified(standard: Option<bool>, payload: &serde_json::Value) -> bool {
    standard == Some(true)
        || payload["xms_edov"] == serde_json::Value::Bool(true)
        || payload["xms_edov"] == "1"
        || payload["xms_edov"] == 1
}

/// The groups the token's `claim` lists (a list of names, or one name; none when absent, as
/// several providers leave it out for someone in no group); `None` only when the token says
/// the groups were left out for their number (Microsoft Entra's overage: `_claim_names`
/// naming the claim, or `hasgroups`), and then the roles are left as they are.
fn groups_in(payload: &serde_json::Value, claim: &str) -> Option<Vec<String>> {
    match &payload[claim] {
        serde_json::Value::Array(items) => Some(
            items
                .iter()
                .filter_map(|g| g.as_str().map(str::to_string))
                .collect(),
        ),
        serde_json::Value::String(g) => Some(vec![g.clone()]),
        _ if !payload["_claim_names"][claim].is_null() || payload["hasgroups"] == true => None,
        _ => Some(Vec::new()),
    }
}

#[derive(sqlx::FromRow)]
struct Account {
    id: i64,
    email: String,
    roles: Vec<Role>,
    idp_roles: Vec<Role>,
    disabled: bool,
}

/// The user the identity is, made when unknown and the admin allows it; their roles follow the
/// provider's groups when groups are mapped.
async fn account(
    tx: &mut PgConnection,
    state: &AppState,
    provider: &Provider,
    meta: &RequestMeta,
    identity: &Identity,
) -> AppResult<Result<(i64, String), Failure>> {
    let found: Option<Account> = sqlx::query_as(
        "SELECT id, email, roles, idp_roles, disabled_at IS NOT NULL AS disabled
           FROM users WHERE lower(email) = lower($1) FOR UPDATE",
    )
    .bind(&identity.email)
    .fetch_optional(&mut *tx)
    .await?;
    let mapped = identity
        .groups
        .as_ref()
        .map(|g| provider.config.roles_of(g))
        .unwrap_or_default();
    let found = match found {
        Some(found) => Some(found),
        None => made_at_sign_in(tx, meta, identity, &mapped).await?,
    };
    let Some(found) = found else {
        return Ok(Err(Failure::NoAccount(identity.email.clone())));
    };
    if found.disabled {
        return Ok(Err(Failure::Disabled(identity.email.clone())));
    }
    if provider.config.group_roles.is_empty() || identity.groups.is_none() {
        if provider.config.groups_claim.is_some() && !provider.config.group_roles.is_empty() {
            tracing::warn!(
                user = found.id,
                "the ID token left the groups out (too many): roles left as they are"
            );
        }
        return Ok(Ok((found.id, found.email)));
    }
    let actor = Actor::signing_in(found.id, &identity.email, meta);
    follow_groups(tx, state, &actor, &found, &mapped).await?;
    Ok(Ok((found.id, found.email)))
}

/// The account of someone the desk does not know, when the admin lets the desk make one (with
/// the roles their groups grant, if any); `None` when not.
async fn made_at_sign_in(
    tx: &mut PgConnection,
    meta: &RequestMeta,
    identity: &Identity,
    mapped: &[Role],
) -> AppResult<Option<Account>> {
    {
        let settings = super::settings::load(tx).await?;
        if !settings.create_unknown {
            return Ok(None);
        }
        let name = identity
            .name
            .as_deref()
            .and_then(|n| crate::web::text::label(n, 200, "").ok())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| identity.email.split('@').next().unwrap_or("").to_string());
        let keys: Vec<&str> = mapped.iter().map(|r| r.key()).collect();
        // No password: this person signs in with the company account (an admin may set one).
        // Two first sign-ins at once: the second finds the first's account.
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO users (email, display_name, password_hash, roles, idp_roles)
             VALUES ($1, $2, '!company-sign-in', $3, $3)
             ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(&identity.email)
        .bind(&name)
        .bind(&keys)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(id) = id else {
            return Ok(sqlx::query_as(
                "SELECT id, email, roles, idp_roles, disabled_at IS NOT NULL AS disabled
                   FROM users WHERE lower(email) = lower($1) FOR UPDATE",
            )
            .bind(&identity.email)
            .fetch_optional(&mut *tx)
            .await?);
        };
        let record = json!({ "email": identity.email, "display_name": name, "roles": keys });
        let entity = Some(id.to_string());
        audit::record(
            tx,
            &Actor::signing_in(id, &identity.email, meta),
            "user.created_at_sign_in",
            "user",
            entity,
            record,
        )
        .await?;
        Ok(Some(Account {
            id,
            email: identity.email.clone(),
            roles: mapped.to_vec(),
            // Just granted: nothing to follow at this sign-in.
            idp_roles: mapped.to_vec(),
            disabled: false,
        }))
    }
}

/// Sets the roles the groups grant: the ones granted at the last company sign-in and no
/// longer in the groups go, the new ones come; the admin's own grants stay. A role whose work
/// waits on any holder is kept when this person is its last active holder.
async fn follow_groups(
    tx: &mut PgConnection,
    state: &AppState,
    actor: &Actor,
    found: &Account,
    mapped: &[Role],
) -> anyhow::Result<()> {
    let before: RoleSet = found.roles.iter().copied().collect();
    let old_idp: RoleSet = found.idp_roles.iter().copied().collect();
    let mut roles = before;
    for r in old_idp.iter().filter(|r| !mapped.contains(r)) {
        roles.remove(r);
    }
    // The provider's roles: those it granted before and still grants, and those it grants
    // that the person did not hold (a role the admin had granted stays the admin's).
    let mut idp: RoleSet = mapped
        .iter()
        .copied()
        .filter(|r| old_idp.contains(*r) || !before.contains(*r))
        .collect();
    for r in mapped {
        roles.insert(*r);
    }
    let losing: RoleSet = before.iter().filter(|r| !roles.contains(*r)).collect();
    let mut kept = Vec::new();
    let mut last = crate::users::last_holder_among(tx, found.id, losing).await?;
    if losing.contains(Role::Admin) && crate::users::last_admin(tx, found.id).await? {
        last.push(Role::Admin);
    }
    // Kept, and the admin's from now on: no group grants it, so the admin decides.
    for role in last {
        roles.insert(role);
        idp.remove(role);
        kept.push(role.key());
    }
    if roles == before && idp == old_idp {
        return Ok(());
    }
    sqlx::query("UPDATE users SET roles = $2, idp_roles = $3, version = version + 1 WHERE id = $1")
        .bind(found.id)
        .bind(roles.keys())
        .bind(idp.keys())
        .execute(&mut *tx)
        .await?;
    let record = json!({
        "roles": roles.keys(),
        "changes": { "roles": [before.keys(), roles.keys()] },
        "kept_as_last_holder": kept,
    });
    audit::record(
        tx,
        actor,
        "user.roles_from_provider",
        "user",
        Some(found.id.to_string()),
        record,
    )
    .await?;
    if roles != before {
        crate::users::work_moves_on_for(tx, state, actor, found.id, before).await?;
    }
    Ok(())
}

/// The refusal: on the record, counted, and a page that says why and how to go on.
async fn refused(
    state: &AppState,
    provider: &Provider,
    meta: &RequestMeta,
    failure: Failure,
    returned: &str,
) -> AppResult<Response> {
    // The identity refusals carry the address they are about; the others have none.
    let email = match &failure {
        Failure::EmailUnverified(e) | Failure::DomainNotAllowed(e) => e.clone(),
        Failure::NoAccount(e) | Failure::Disabled(e) => e.clone(),
        _ => String::new(),
    };
    let detail = match &failure {
        Failure::Unreachable(d)
        | Failure::Provider(d)
        | Failure::Exchange(d)
        | Failure::IdToken(_, d) => d.chars().take(300).collect(),
        _ => String::new(),
    };
    tracing::warn!(reason = failure.reason(), %detail, "company sign-in refused");
    let mut conn = state.db.acquire().await?;
    let user: Option<i64> = if email.is_empty() {
        None
    } else {
        sqlx::query_scalar("SELECT id FROM users WHERE lower(email) = lower($1)")
            .bind(&email)
            .fetch_optional(&mut *conn)
            .await?
    };
    let record = json!({
        "method": "company",
        "email": email,
        "reason": failure.reason(),
        "detail": detail,
    });
    let label = if email.is_empty() {
        "someone not signed in"
    } else {
        email.as_str()
    };
    let actor = Actor::anonymous(label, meta);
    let entity = user.map(|u| u.to_string());
    audit::record(
        &mut conn,
        &actor,
        "auth.sign_in_failed",
        "user",
        entity,
        record,
    )
    .await?;
    let passwords = !super::settings::passwords_refused(state, &mut conn).await?;
    state.metrics.sign_in_failed(failure.reason());
    let status = match failure {
        Failure::StateMismatch | Failure::StateUnknown => StatusCode::BAD_REQUEST,
        Failure::TooManyStarts => StatusCode::TOO_MANY_REQUESTS,
        Failure::Unreachable(_) | Failure::Exchange(_) => StatusCode::BAD_GATEWAY,
        _ => StatusCode::FORBIDDEN,
    };
    let page = RefusedPage {
        message: failure.message(&provider.config.provider_name),
        provider: provider.config.provider_name.clone(),
        passwords,
        choose: failure.another_account_may_help(),
    };
    let mut res = (status, page).into_response();
    // This sign-in is over (when it was this browser's); another one under way is left be.
    if !returned.is_empty() && !matches!(failure, Failure::StateMismatch) {
        res.headers_mut()
            .append(header::SET_COOKIE, state_cookie(state, returned, 0)?);
    }
    Ok(res)
}

/// After the desk's sign-out, the provider's own (where it offers one), back to the sign-in
/// page.
pub(super) async fn provider_sign_out(State(state): State<AppState>) -> AppResult<Response> {
    let provider = provider(&state)?;
    let back = format!("{}/login?signed_out=1", state.config.base_url);
    let Ok(md) = provider.metadata(false).await else {
        return Ok(Redirect::to("/login?signed_out=1").into_response());
    };
    let Some(end) = md.additional_metadata().end_session_endpoint.clone() else {
        return Ok(Redirect::to("/login?signed_out=1").into_response());
    };
    let url = LogoutRequest::from(end)
        .set_client_id(openidconnect::ClientId::new(
            provider.config.client_id.clone(),
        ))
        .set_post_logout_redirect_uri(
            PostLogoutRedirectUrl::new(back).map_err(anyhow::Error::from)?,
        )
        .http_get_url();
    Ok(Redirect::to(url.as_str()).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn jwt(payload: serde_json::Value) -> String {
        let b = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!("{}.{}.sig", b.encode("{}"), b.encode(payload.to_string()))
    }

    #[test]
    fn groups_are_read_as_a_list_or_one_name_and_absent_is_not_empty() {
        let p = payload_of(&jwt(
            json!({"groups": ["a", "b", 3], "role": "x", "none": []}),
        ));
        assert_eq!(groups_in(&p, "groups"), Some(vec!["a".into(), "b".into()]));
        assert_eq!(groups_in(&p, "role"), Some(vec!["x".into()]));
        assert_eq!(groups_in(&p, "none"), Some(vec![]));
        assert_eq!(groups_in(&p, "missing"), Some(vec![]));
        let overage = payload_of(&jwt(json!({"_claim_names": {"groups": "src1"}})));
        assert_eq!(groups_in(&overage, "groups"), None);
        let overage = payload_of(&jwt(json!({"hasgroups": true})));
        assert_eq!(groups_in(&overage, "groups"), None);
    }

    #[test]
    fn an_email_is_verified_by_the_standard_claim_or_entras_domain_owner() {
        let none = serde_json::Value::Null;
        assert!(email_verified(Some(true), &none));
        assert!(!email_verified(Some(false), &none));
        assert!(!email_verified(None, &none));
        assert!(email_verified(None, &json!({"xms_edov": true})));
        assert!(email_verified(None, &json!({"xms_edov": "1"})));
        assert!(!email_verified(None, &json!({"xms_edov": false})));
        assert!(!email_verified(Some(false), &json!({"xms_edov": "0"})));
    }

    #[test]
    fn the_callback_takes_each_parameter_once() {
        let q = CallbackQuery::from_pairs(vec![
            ("code".into(), "c".into()),
            ("state".into(), "s\u{0}x".into()),
            ("other".into(), "o".into()),
        ]);
        assert_eq!(q.code.as_deref(), Some("c"));
        assert_eq!(q.state.as_deref(), Some("sx"));
        assert!(!q.repeated);
        let q = CallbackQuery::from_pairs(vec![
            ("state".into(), "a".into()),
            ("state".into(), "b".into()),
        ]);
        assert!(q.repeated);
    }

    #[test]
    fn the_state_cookie_is_host_pinned_under_https_and_callback_only_without() {
        assert_eq!(
            cookie_header(true, "__Host-od_company_ab", "s", 600),
            "__Host-od_company_ab=s; Path=/; HttpOnly; SameSite=Lax; Max-Age=600; Secure"
        );
        assert_eq!(
            cookie_header(false, "od_company_ab", "s", 0),
            "od_company_ab=; Path=/auth/company/callback; HttpOnly; SameSite=Lax; Max-Age=0"
        );
    }

    #[test]
    fn a_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("od_session=x; od_company_ab12=abc"),
        );
        assert_eq!(cookie(&h, "od_company_ab12").as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "od_company_ffff"), None);
        assert_eq!(cookie(&HeaderMap::new(), "od_session"), None);
    }
}
