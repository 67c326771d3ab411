//! Attaching the signed document, and downloading it.

use axum::body::Body;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;

use crate::audit::{self, Actor};
use crate::change_requests::attachments::{FileType, MAX_BYTES, clean_name, disposition, sniff};
use crate::change_requests::views::show_page;
use crate::change_requests::{db, notify, rules};
use crate::web::AppState;
use crate::web::ctx::{Ctx, commit_and_go};
use crate::web::error::{AppError, AppResult};

/// The uploaded file, read with the size cap applied as it arrives.
enum Upload {
    File { name: String, bytes: Vec<u8> },
    Missing,
    TooBig,
}

async fn read_upload(multipart: &mut Multipart) -> Upload {
    let mut found = Upload::Missing;
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            // The body limit cut the upload short, or the body is not a form at all.
            Err(_) => return Upload::TooBig,
        };
        if field.name() != Some("document") {
            continue;
        }
        let name = field.file_name().unwrap_or("").to_string();
        let mut bytes = Vec::new();
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    if bytes.len() + chunk.len() > MAX_BYTES {
                        return Upload::TooBig;
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(_) => return Upload::TooBig,
            }
        }
        if !bytes.is_empty() {
            found = Upload::File { name, bytes };
        }
    }
    found
}

async fn refuse(state: &AppState, ctx: &Ctx, id: i64, message: String) -> AppResult<Response> {
    let mut page = show_page(state, ctx, id).await?;
    page.attachments.error = message;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

#[tracing::instrument(level = "debug", skip_all, fields(request = id))]
pub(in crate::change_requests) async fn upload(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    mut multipart: Multipart,
) -> AppResult<Response> {
    let (name, bytes) = match read_upload(&mut multipart).await {
        Upload::File { name, bytes } => (name, bytes),
        Upload::Missing => return refuse(&state, &ctx, id, MISSING.into()).await,
        Upload::TooBig => return refuse(&state, &ctx, id, TOO_BIG.into()).await,
    };
    let Some(kind) = sniff(&bytes) else {
        return refuse(&state, &ctx, id, NOT_A_DOCUMENT.into()).await;
    };
    let name = clean_name(&name, kind);
    let back = format!("/requests/{id}");
    let mut tx = state.db.begin().await?;
    let request = db::lock(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    if let Err(refusal) = rules::may_attach(ctx.who(), request.facts(), request.kind) {
        return commit_and_go(tx, &back, &format!("Nothing was attached. {refusal}")).await;
    }
    let digest = Sha256::digest(&bytes).to_vec();
    let attachment_id = insert(&mut tx, id, &name, kind, &bytes, &digest, ctx.user.id).await?;
    let record = json!({
        "attachment_id": attachment_id,
        "name": name,
        "content_type": kind.content_type(),
        "size_bytes": bytes.len(),
        "sha256": digest.iter().map(|b| format!("{b:02x}")).collect::<String>(),
    });
    let actor = Actor::from_ctx(&ctx);
    audit::on_request(
        &mut tx,
        &actor,
        "change_request.document_attached",
        id,
        record,
    )
    .await?;
    // On a request Retention converted, Retention submits it: they hear the document is in
    // (and the account manager, when Retention attached it).
    if request.has_save_attempt {
        let (by, email, name) = (ctx.user.id, &ctx.user.email, &ctx.user.display_name);
        notify::document_attached(&mut tx, &state.config, &request, by, email, name).await?;
    }
    commit_and_go(tx, &back, &format!("Attached {name}.")).await
}

const MISSING: &str = "Choose the signed document to upload.";
const TOO_BIG: &str =
    "The file is larger than 10 MB. Scan it at a lower resolution or save it as a smaller PDF.";
const NOT_A_DOCUMENT: &str = "This file is not a PDF, PNG or JPEG, whatever its name says. Upload the signed addendum as one of those.";

/// Keeps an uploaded document on the request; returns its id.
async fn insert(
    conn: &mut PgConnection,
    request_id: i64,
    name: &str,
    kind: FileType,
    bytes: &[u8],
    sha256: &[u8],
    by: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO request_attachments
             (change_request_id, original_name, content_type, size_bytes, sha256, content, uploaded_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(request_id)
    .bind(name)
    .bind(kind.content_type())
    .bind(bytes.len() as i32)
    .bind(sha256)
    .bind(bytes)
    .bind(by)
    .fetch_one(conn)
    .await
}

/// The document itself, always as a download and never rendered in the app's origin.
#[tracing::instrument(level = "debug", skip_all, fields(request = id))]
pub(in crate::change_requests) async fn download(
    State(state): State<AppState>,
    _ctx: Ctx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    // Whoever may read change requests may read their attachments; the route checks the role.
    let row: Option<(String, String, Vec<u8>)> = sqlx::query_as(
        "SELECT original_name, content_type, content FROM request_attachments WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&state.db)
    .await?;
    let (name, content_type, content) = row.ok_or(AppError::NotFound)?;
    let content_type = FileType::from_content_type(&content_type)
        .map(FileType::content_type)
        .unwrap_or("application/octet-stream");
    let mut response = Response::new(Body::from(content));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition(&name))
            .unwrap_or_else(|_| HeaderValue::from_static("attachment")),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    Ok(response)
}
