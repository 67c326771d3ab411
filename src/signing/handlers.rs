//! The agency's side: preview the addendum, send it for signature, resend or void the link,
//! and check a PDF against the documents the desk sealed.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::flow::{self, Origin, SignerForm};
use crate::audit::Actor;
use crate::change_requests::attachments::MAX_BYTES;
use crate::change_requests::db as requests;
use crate::change_requests::rules;
use crate::change_requests::views::show_page;
use crate::web::AppState;
use crate::web::ctx::{Ctx, commit_and_go};
use crate::web::error::{AppError, AppResult};
use crate::web::filters;
use crate::web::pages::Chrome;

/// The unsigned addendum as it would be sent to the signer typed in the form (a preview:
/// nothing is stored).
pub(super) async fn preview(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Query(form): Query<SignerForm>,
) -> AppResult<Response> {
    let mut conn = state.db.acquire().await?;
    let r = requests::find(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if let Err(refusal) = rules::may_attach(ctx.who(), r.facts(), r.kind) {
        return Err(AppError::Refused(refusal.to_string()));
    }
    // A preview shows whatever is typed; blank fields stay blank lines on the page.
    let signer = flow::check_signer(&form).unwrap_or_else(|_| flow::Signer {
        name: crate::web::text::search(&form.signer_name),
        title: crate::web::text::search(&form.signer_title),
        email: crate::web::text::search(&form.signer_email),
    });
    let (terms, _) = flow::terms_for(&mut conn, &state.config, &r, &signer).await?;
    Ok(pdf_response(
        flow::unsigned_pdf(&terms),
        &format!("addendum-request-{id}-preview.pdf"),
        true,
    ))
}

/// A PDF answer: shown in the browser (`inline`) or downloaded, never run as a page of the
/// app's origin.
pub(super) fn pdf_response(pdf: Vec<u8>, name: &str, inline: bool) -> Response {
    let mut response = pdf.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    let disposition = crate::change_requests::attachments::disposition(name);
    let disposition = if inline {
        disposition.replacen("attachment", "inline", 1)
    } else {
        disposition
    };
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    response
}

/// The request's page again with the signer's form as typed and what needs another look.
async fn again(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    form: SignerForm,
    errors: crate::web::fields::FieldErrors,
) -> AppResult<Response> {
    let mut page = show_page(state, ctx, id).await?;
    page.signature.form = form;
    page.signature.errors = errors;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

pub(super) async fn send(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<SignerForm>,
) -> AppResult<Response> {
    let signer = match flow::check_signer(&form) {
        Ok(s) => s,
        Err(errors) => return again(&state, &ctx, id, form, errors).await,
    };
    let back = format!("/requests/{id}#signature");
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let r = requests::lock(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if let Err(refusal) = rules::may_attach(ctx.who(), r.facts(), r.kind) {
        return commit_and_go(tx, &back, &format!("Nothing was sent. {refusal}")).await;
    }
    let actor = Actor::from_ctx(&ctx);
    let from = Origin::from(&ctx.meta);
    match flow::send(
        &mut tx,
        &state.config,
        &r,
        &signer,
        None,
        &actor,
        &from,
        now,
    )
    .await
    {
        Ok(sent) => {
            let message = format!(
                "The addendum was sent to {} ({}) for signature. The link works for 14 days.",
                sent.signer_name, sent.signer_email
            );
            commit_and_go(tx, &back, &message).await
        }
        Err(AppError::Refused(why)) => {
            tx.rollback().await?;
            let tx = state.db.begin().await?;
            commit_and_go(tx, &back, &format!("Nothing was sent. {why}")).await
        }
        Err(e) => Err(e),
    }
}

/// The signature request a Resend or Void button was shown for.
#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct Target {
    #[serde(default)]
    signature: Option<i64>,
}

/// Request `id`, locked, when the person may act on its waiting link and it is still the one
/// the page showed; otherwise the sentence saying why nothing was done (`done`: "sent",
/// "voided").
async fn link_to_act_on(
    conn: &mut sqlx::PgConnection,
    ctx: &Ctx,
    id: i64,
    target: &Target,
    done: &str,
) -> AppResult<Result<requests::RequestRow, String>> {
    let r = requests::lock(conn, id).await?.ok_or(AppError::NotFound)?;
    if let Err(refusal) = rules::may_attach(ctx.who(), r.facts(), r.kind) {
        return Ok(Err(format!("Nothing was {done}. {refusal}")));
    }
    if let Some(changed) = changed_meanwhile(conn, id, target).await? {
        return Ok(Err(format!("Nothing was {done}: {changed}")));
    }
    Ok(Ok(r))
}

/// Says so when the waiting link is no longer the one the page showed (a second click, a tab
/// opened before a colleague resent it): the button then changes nothing.
async fn changed_meanwhile(
    conn: &mut sqlx::PgConnection,
    request_id: i64,
    target: &Target,
) -> sqlx::Result<Option<&'static str>> {
    let live = flow::live_id(conn, request_id).await?;
    Ok(match (live, target.signature) {
        (Some(live), Some(shown)) if live == shown => None,
        (Some(_), _) => Some(
            "the link changed since this page was opened (someone resent it, or this was a second click). The request's page shows it as it is now.",
        ),
        (None, _) => None,
    })
}

/// The waiting link replaced by a new one to the same signer (a lost email, a typo fixed in
/// the request since).
pub(super) async fn resend(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(target): Form<Target>,
) -> AppResult<Response> {
    let back = format!("/requests/{id}#signature");
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let r = match link_to_act_on(&mut tx, &ctx, id, &target, "sent").await? {
        Ok(r) => r,
        Err(message) => return commit_and_go(tx, &back, &message).await,
    };
    let actor = Actor::from_ctx(&ctx);
    let reason = "replaced by a new link";
    let Some(old) = flow::void_live(&mut tx, &r, reason, &actor, now).await? else {
        return commit_and_go(
            tx,
            &back,
            "Nothing was sent: no link is waiting for a signature (it was signed, declined, voided or has expired). Send the addendum again below.",
        )
        .await;
    };
    let signer = flow::Signer {
        name: old.signer_name.clone(),
        title: old.signer_title.clone(),
        email: old.signer_email.clone(),
    };
    let from = Origin::from(&ctx.meta);
    let sent = flow::send(
        &mut tx,
        &state.config,
        &r,
        &signer,
        Some(&old),
        &actor,
        &from,
        now,
    )
    .await?;
    let message = format!(
        "A new link was sent to {} ({}); the earlier one no longer works.",
        sent.signer_name, sent.signer_email
    );
    commit_and_go(tx, &back, &message).await
}

pub(super) async fn void(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(target): Form<Target>,
) -> AppResult<Response> {
    let back = format!("/requests/{id}#signature");
    let mut tx = state.db.begin().await?;
    let r = match link_to_act_on(&mut tx, &ctx, id, &target, "voided").await? {
        Ok(r) => r,
        Err(message) => return commit_and_go(tx, &back, &message).await,
    };
    let actor = Actor::from_ctx(&ctx);
    let voided = flow::void_and_tell(
        &mut tx,
        &state.config,
        &r,
        "voided by the agency",
        &actor,
        state.clock.now(),
    )
    .await?;
    let message = match voided {
        Some(v) => {
            format!(
                "The signature request to {} is voided: its link no longer works, and they are told so.",
                v.signer_name
            )
        }
        None => "Nothing was voided: no link is waiting for a signature.".to_string(),
    };
    commit_and_go(tx, &back, &message).await
}

/// What the verify page found.
#[derive(Debug)]
pub struct Verdict {
    /// The desk sealed it: request, signer, signed at.
    pub sealed: Option<(i64, String, DateTime<Utc>)>,
    /// It is an unsigned addendum as the desk sent it: its request.
    pub unsigned: Option<i64>,
    pub sha256: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "signing/verify.html")]
pub(super) struct VerifyPage {
    chrome: Chrome,
    verdict: Option<Verdict>,
    error: String,
}

pub(super) async fn verify_page(State(state): State<AppState>, ctx: Ctx) -> VerifyPage {
    VerifyPage {
        chrome: Chrome::new(&state, &ctx, "/signing/verify"),
        verdict: None,
        error: String::new(),
    }
}

/// Reads the uploaded PDF and says whether the desk sealed exactly this file.
pub(super) async fn verify(
    State(state): State<AppState>,
    ctx: Ctx,
    mut multipart: Multipart,
) -> AppResult<Response> {
    let mut page = verify_page(State(state.clone()), ctx).await;
    let mut bytes = Vec::new();
    let mut too_big = false;
    while let Ok(Some(mut field)) = multipart.next_field().await {
        if field.name() != Some("document") {
            continue;
        }
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) if bytes.len() + chunk.len() <= MAX_BYTES => {
                    bytes.extend_from_slice(&chunk)
                }
                Ok(Some(_)) | Err(_) => {
                    too_big = true;
                    break;
                }
                Ok(None) => break,
            }
        }
    }
    if too_big {
        page.error = "The file is larger than 10 MB: no document this desk seals is.".into();
    } else if bytes.is_empty() {
        page.error = "Choose the PDF to check.".into();
    } else if !bytes.starts_with(b"%PDF-") {
        page.error = "This file is not a PDF, whatever its name says.".into();
    }
    if !page.error.is_empty() {
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let digest = Sha256::digest(&bytes).to_vec();
    let mut conn = state.db.acquire().await?;
    let sealed: Option<(i64, String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT change_request_id, signed_name, ended_at FROM signature_requests
          WHERE executed_sha256 = $1 AND state = 'signed' LIMIT 1",
    )
    .bind(&digest)
    .fetch_optional(&mut *conn)
    .await?;
    let unsigned: Option<i64> = if sealed.is_none() {
        sqlx::query_scalar(
            "SELECT change_request_id FROM addendum_documents WHERE sha256 = $1 LIMIT 1",
        )
        .bind(&digest)
        .fetch_optional(&mut *conn)
        .await?
    } else {
        None
    };
    page.verdict = Some(Verdict {
        sealed,
        unsigned,
        sha256: crate::auth::token::to_hex(&digest),
    });
    Ok(page.into_response())
}

/// One version of the addendum's wording.
#[derive(Debug, sqlx::FromRow)]
pub struct Wording {
    pub version: i32,
    pub created_by_name: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Template, WebTemplate)]
#[template(path = "signing/wording.html")]
pub(super) struct WordingPage {
    chrome: Chrome,
    /// Newest first; the first is in force.
    versions: Vec<Wording>,
    body: String,
    version: i32,
    error: String,
    placeholders: String,
}

async fn wording_page_with(state: &AppState, ctx: &Ctx) -> AppResult<WordingPage> {
    let versions: Vec<Wording> = sqlx::query_as(
        "SELECT w.version, u.display_name AS created_by_name, w.created_at
           FROM addendum_wordings w LEFT JOIN users u ON u.id = w.created_by
          ORDER BY w.version DESC LIMIT 20",
    )
    .fetch_all(&state.db)
    .await?;
    let (version, body): (i32, String) =
        sqlx::query_as("SELECT version, body FROM addendum_wordings ORDER BY version DESC LIMIT 1")
            .fetch_optional(&state.db)
            .await?
            .unwrap_or_default();
    Ok(WordingPage {
        chrome: Chrome::new(state, ctx, "/admin/addendum"),
        versions,
        body,
        version,
        error: String::new(),
        placeholders: super::rules::PLACEHOLDERS
            .map(|p| format!("{{{p}}}"))
            .join(" "),
    })
}

pub(super) async fn wording_page(
    State(state): State<AppState>,
    ctx: Ctx,
) -> AppResult<WordingPage> {
    wording_page_with(&state, &ctx).await
}

#[derive(Debug, serde::Deserialize)]
pub(super) struct WordingForm {
    #[serde(default)]
    body: String,
    /// The version the form was opened at: saving over a newer one is refused.
    #[serde(default)]
    version: i32,
}

/// A new version of the wording; documents already sent keep theirs.
pub(super) async fn save_wording(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<WordingForm>,
) -> AppResult<Response> {
    let body = match super::rules::check_wording(&form.body) {
        Ok(body) => body,
        Err(message) => {
            let mut page = wording_page_with(&state, &ctx).await?;
            page.body = form.body;
            page.version = form.version;
            page.error = message;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let mut tx = state.db.begin().await?;
    // One save at a time: the newest version is read and the next written under the lock.
    sqlx::query("LOCK TABLE addendum_wordings IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    let (latest, current): (i32, String) =
        sqlx::query_as("SELECT version, body FROM addendum_wordings ORDER BY version DESC LIMIT 1")
            .fetch_one(&mut *tx)
            .await?;
    let back = "/admin/addendum";
    if latest != form.version {
        let message = format!(
            "Nothing was saved: someone saved version {latest} after you opened the page. It is shown below; make your change again."
        );
        return commit_and_go(tx, back, &message).await;
    }
    if current == body {
        return commit_and_go(tx, back, "Nothing changed.").await;
    }
    let version = latest + 1;
    sqlx::query("INSERT INTO addendum_wordings (version, body, created_by) VALUES ($1, $2, $3)")
        .bind(version)
        .bind(&body)
        .bind(ctx.user.id)
        .execute(&mut *tx)
        .await?;
    crate::audit::record(
        &mut tx,
        &Actor::from_ctx(&ctx),
        "signature.wording_saved",
        "addendum_wording",
        Some(version.to_string()),
        serde_json::json!({"version": version, "from_version": latest}),
    )
    .await?;
    let message = format!(
        "Saved as version {version}. Addendums prepared from now on use it; those already sent keep theirs."
    );
    commit_and_go(tx, back, &message).await
}
