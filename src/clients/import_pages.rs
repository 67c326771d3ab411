//! The import pages: upload, preview, confirm.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;
use sqlx::PgConnection;

use super::db::{self, Saved};
use super::form::ClientInput;
use super::import::{self, Action, Known, Planned};
use crate::audit::{self, Actor};
use crate::auth::roles::Role;
use crate::web::AppState;
use crate::web::ctx::{Ctx, commit_and_go};
use crate::web::error::{AppError, AppResult};
use crate::web::pages::Chrome;

/// Largest file accepted.
pub const MAX_BYTES: usize = 2 * 1024 * 1024;

#[derive(Template, WebTemplate)]
#[template(path = "clients/import.html")]
pub(super) struct UploadPage {
    chrome: Chrome,
    error: Option<String>,
}

pub(super) async fn upload_page(State(state): State<AppState>, ctx: Ctx) -> UploadPage {
    UploadPage {
        chrome: Chrome::new(&state, &ctx, "/clients"),
        error: None,
    }
}

pub(super) async fn upload(
    State(state): State<AppState>,
    ctx: Ctx,
    mut multipart: Multipart,
) -> AppResult<Response> {
    let (name, content) = match read_file(&mut multipart).await {
        Ok(file) => file,
        Err(message) => {
            let page = UploadPage {
                chrome: Chrome::new(&state, &ctx, "/clients"),
                error: Some(message),
            };
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let mut tx = state.db.begin().await?;
    let id = db::insert_import(&mut tx, ctx.user.id, &name, &content).await?;
    let (actor, entity) = (Actor::from_ctx(&ctx), Some(id.to_string()));
    let record = json!({ "file_name": name });
    audit::record(
        &mut tx,
        &actor,
        "client_import.uploaded",
        "client_import",
        entity,
        record,
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/clients/import/{id}")).into_response())
}

/// The uploaded file's name (control characters dropped) and its text, once it reads as a CSV
/// export; or why not, in words for the person.
async fn read_file(multipart: &mut Multipart) -> Result<(String, String), String> {
    let mut file: Option<(String, Vec<u8>)> = None;
    while let Ok(Some(field)) = multipart.next_field().await {
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or("clients.csv").to_string();
            let Ok(bytes) = field.bytes().await else {
                return Err("The file could not be read. It may be larger than 2 MB.".into());
            };
            file = Some((name, bytes.to_vec()));
        }
    }
    let Some((name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        return Err("Choose a CSV file to upload.".into());
    };
    if bytes.len() > MAX_BYTES {
        return Err("The file is larger than 2 MB.".into());
    }
    let Ok(content) = String::from_utf8(bytes) else {
        return Err(
            "The file is not text (UTF-8 CSV). Export the list from the CRM as CSV.".into(),
        );
    };
    if content.contains('\0') {
        return Err("The file has a NUL byte in it, so it is not a CSV export. Export the list from the CRM as CSV.".into());
    }
    import::read(&content)?;
    Ok((name.chars().filter(|c| !c.is_control()).collect(), content))
}

struct ImportRow {
    file_name: String,
    content: String,
    applied_at: Option<chrono::DateTime<chrono::Utc>>,
    uploaded_by: i64,
}

async fn load_import(conn: &mut PgConnection, id: i64, lock: bool) -> AppResult<ImportRow> {
    let sql = if lock {
        "SELECT file_name, content, applied_at, uploaded_by FROM client_imports WHERE id = $1 FOR UPDATE"
    } else {
        "SELECT file_name, content, applied_at, uploaded_by FROM client_imports WHERE id = $1"
    };
    let row: Option<(String, String, Option<chrono::DateTime<chrono::Utc>>, i64)> =
        sqlx::query_as(sql).bind(id).fetch_optional(conn).await?;
    let (file_name, content, applied_at, uploaded_by) = row.ok_or(AppError::NotFound)?;
    Ok(ImportRow {
        file_name,
        content,
        applied_at,
        uploaded_by,
    })
}

/// Plans the file against the database as it is now.
async fn plan(conn: &mut PgConnection, content: &str) -> AppResult<Vec<Planned>> {
    let rows = import::read(content).map_err(AppError::BadRequest)?;
    let account_managers = db::active_by_email(conn, Role::AccountManager).await?;
    let sem_specialists = db::active_by_email(conn, Role::SemSpecialist).await?;
    let products: Vec<(String, String)> = db::products(conn)
        .await?
        .into_iter()
        .map(|p| (p.key, p.label))
        .collect();
    let ids: Vec<String> = rows.iter().map(|r| r.crm_account_id.clone()).collect();
    let clients = db::by_account_id(conn, &ids).await?;
    let known = Known {
        account_managers: &account_managers,
        sem_specialists: &sem_specialists,
        products: &products,
        clients: &clients,
    };
    Ok(import::plan(&rows, &known))
}

#[derive(Template, WebTemplate)]
#[template(path = "clients/import_preview.html")]
pub(super) struct PreviewPage {
    chrome: Chrome,
    id: i64,
    file_name: String,
    planned: Vec<Planned>,
    creates: usize,
    updates: usize,
    refused: usize,
    applied: bool,
}

fn count(planned: &[Planned], kind: &str) -> usize {
    planned.iter().filter(|p| p.kind() == kind).count()
}

pub(super) async fn preview(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> AppResult<PreviewPage> {
    let mut conn = state.db.acquire().await?;
    let import = load_import(&mut conn, id, false).await?;
    let planned = plan(&mut conn, &import.content).await?;
    Ok(PreviewPage {
        chrome: Chrome::new(&state, &ctx, "/clients"),
        id,
        file_name: import.file_name,
        creates: count(&planned, "create"),
        updates: count(&planned, "update"),
        refused: count(&planned, "refused"),
        planned,
        applied: import.applied_at.is_some(),
    })
}

fn input(v: &import::Values) -> ClientInput {
    ClientInput {
        name: v.name.clone(),
        crm_account_id: v.crm_account_id.clone(),
        account_manager_id: v.account_manager_id,
        sem_specialist_id: v.sem_specialist_id,
        monthly_budget_cents: v.monthly_budget_cents,
        ad_products: v.ad_products.clone(),
        status: v.status,
    }
}

/// Applies the valid rows, all in one transaction; refused rows are left out.
pub(super) async fn apply(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let import = load_import(&mut tx, id, true).await?;
    if import.applied_at.is_some() {
        return commit_and_go(
            tx,
            &format!("/clients/import/{id}"),
            "This file was already imported; nothing changed.",
        )
        .await;
    }
    let planned = plan(&mut tx, &import.content).await?;
    let (mut created, mut updated) = (0, 0);
    let actor = Actor::from_ctx(&ctx);
    for p in &planned {
        match &p.action {
            Action::Create(v) => {
                create(&mut tx, &ctx, v).await?;
                created += 1;
            }
            Action::Update {
                id: client_id,
                values,
                changed,
            } => {
                update(&mut tx, &state, &actor, *client_id, values, changed).await?;
                updated += 1;
            }
            Action::Unchanged { .. } | Action::Refused(_) => {}
        }
    }
    db::mark_import_applied(&mut tx, id).await?;
    let refused = count(&planned, "refused");
    let record = json!({ "file_name": import.file_name, "created": created, "updated": updated, "refused": refused, "uploaded_by": import.uploaded_by });
    let entity = Some(id.to_string());
    audit::record(
        &mut tx,
        &actor,
        "client_import.applied",
        "client_import",
        entity,
        record,
    )
    .await?;
    let name = &import.file_name;
    let message =
        format!("Imported {name}: {created} added, {updated} updated, {refused} refused.");
    commit_and_go(tx, "/clients", &message).await
}

const IMPORTED: &str = "Imported from CSV";

/// Adds a client the file has and the desk does not.
async fn create(conn: &mut PgConnection, ctx: &Ctx, v: &import::Values) -> AppResult<()> {
    let Saved::Ok(client_id) = db::insert(conn, &input(v)).await? else {
        // Another import or edit took the id since the plan: undo everything.
        return Err(AppError::BadRequest(format!(
            "Account id {} was added by someone else meanwhile; nothing was imported. Open the preview again.",
            v.crm_account_id
        )));
    };
    let (status, budget, by) = (v.status, v.monthly_budget_cents, Some(ctx.user.id));
    db::record_history(conn, client_id, status, budget, by, IMPORTED).await?;
    Ok(())
}

/// Writes the file's values over a client's; its work follows a new account manager or SEM
/// specialist, and a new status or budget goes on its history.
async fn update(
    conn: &mut PgConnection,
    state: &AppState,
    actor: &Actor,
    client_id: i64,
    values: &import::Values,
    changed: &[&'static str],
) -> AppResult<()> {
    db::lock_requests_of(conn, client_id).await?;
    let (manager, specialist) = db::lock_people(conn, client_id).await?;
    db::overwrite(conn, client_id, &input(values)).await?;
    let moved = super::handover::PeopleMoved {
        client_id,
        manager: (manager, values.account_manager_id),
        specialist: (specialist, values.sem_specialist_id),
    };
    super::handover::hand_over_work(conn, state, actor, moved).await?;
    if changed.contains(&"status") || changed.contains(&"monthly budget") {
        let (status, budget, by) = (values.status, values.monthly_budget_cents, actor.user_id);
        db::record_history(conn, client_id, status, budget, by, IMPORTED).await?;
    }
    Ok(())
}
