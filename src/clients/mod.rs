//! Clients (dealer accounts): found by anyone at the agency but the contractor, added and
//! edited by admins and the Ops Lead, with their status history.

pub mod db;
pub mod form;
mod handover;
pub mod import;
mod import_pages;
pub mod status;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::Form;
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;

use crate::audit::{self, Actor};
use crate::auth::access::{self, Access};
use crate::auth::roles::Role;
use crate::users::db::{PersonOption, people_with_role};
use crate::web::ctx::{Ctx, commit_and_go, encode_component};
use crate::web::error::{AppError, AppResult};
use crate::web::fields::FieldErrors;
use crate::web::filters;
use crate::web::pages::{Chrome, Keyset};
use crate::web::{AppState, Routes};
use db::{ClientRow, HistoryRow, ProductOption, Saved};
use form::ClientForm;
use status::Status;

/// Who adds and edits clients.
pub const EDIT: Access = Access::Roles(&[Role::Admin, Role::OpsLead]);

pub fn routes(r: Routes) -> Routes {
    r.get("/clients", access::AGENCY_STAFF, list)
        .get("/clients/import", EDIT, import_pages::upload_page)
        .post("/clients/import", EDIT, import_pages::upload)
        .get("/clients/import/{id}", EDIT, import_pages::preview)
        .post("/clients/import/{id}", EDIT, import_pages::apply)
        .get("/clients/new", EDIT, new_page)
        .post("/clients", EDIT, create)
        .get("/clients/{id}", access::AGENCY_STAFF, detail)
        .get("/clients/{id}/edit", EDIT, edit_page)
        .post("/clients/{id}", EDIT, update)
        .post("/clients/{id}/signer", access::AGENCY_STAFF, save_signer)
}

/// Who signs addendums for the client: its account manager or a client editor sets it (all
/// three fields, or none to forget it).
async fn save_signer(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<crate::signing::flow::SignerForm>,
) -> AppResult<Response> {
    let cleared = [&form.signer_name, &form.signer_title, &form.signer_email]
        .iter()
        .all(|v| v.trim().is_empty());
    let signer = if cleared {
        None
    } else {
        match crate::signing::flow::check_signer(&form) {
            Ok(s) => Some(s),
            Err(errors) => {
                let mut page = detail_page(&state, &ctx, id).await?;
                page.signer.form = form;
                page.signer.errors = errors;
                return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
            }
        }
    };
    let back = format!("/clients/{id}");
    let mut tx = state.db.begin().await?;
    let client = db::find(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let owner =
        crate::change_requests::rules::may_file(ctx.who(), client.account_manager_id).is_ok();
    if !owner && !may_edit(&ctx) {
        return commit_and_go(tx, &back, "Nothing was saved: only the client's account manager, the Ops Lead or an admin changes who signs for it.").await;
    }
    let (name, title, email) = match &signer {
        Some(s) => (
            Some(s.name.as_str()),
            Some(s.title.as_str()),
            Some(s.email.as_str()),
        ),
        None => (None, None, None),
    };
    sqlx::query(
        "UPDATE clients SET signer_name = $2, signer_title = $3, signer_email = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(name)
    .bind(title)
    .bind(email)
    .execute(&mut *tx)
    .await?;
    let mut changes = audit::Changes::default();
    changes
        .field("signer_name", client.signer_name.as_deref(), name)
        .field("signer_title", client.signer_title.as_deref(), title)
        .field("signer_email", client.signer_email.as_deref(), email);
    if changes.is_empty() {
        return commit_and_go(tx, &back, "Nothing changed.").await;
    }
    audit::record(
        &mut tx,
        &Actor::from_ctx(&ctx),
        "client.signer_changed",
        "client",
        Some(id.to_string()),
        json!({ "changes": changes.into_json() }),
    )
    .await?;
    let message = match signer {
        Some(s) => format!("{} now signs addendums for {}.", s.name, client.name),
        None => format!("The signing contact of {} is forgotten.", client.name),
    };
    commit_and_go(tx, &back, &message).await
}

fn may_edit(ctx: &Ctx) -> bool {
    EDIT.allows(Some(&ctx.user)) == crate::auth::access::Decision::Allow
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    q: Option<String>,
    before: Option<i64>,
    after: Option<i64>,
}

#[derive(Template, WebTemplate)]
#[template(path = "clients/list.html")]
struct ListPage {
    chrome: Chrome,
    clients: Vec<ClientRow>,
    q: String,
    pager: Keyset,
    may_edit: bool,
}

async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(query): Query<ListQuery>,
) -> AppResult<ListPage> {
    let q = crate::web::text::search(&query.q.unwrap_or_default());
    let mut pager = Keyset::new(query.before, query.after, 25);
    if !q.is_empty() {
        pager.keep = format!("&q={}", encode_component(&q));
    }
    let mut conn = state.db.acquire().await?;
    let rows = db::search(&mut conn, &q, &pager).await?;
    Ok(ListPage {
        chrome: Chrome::new(&state, &ctx, "/clients"),
        clients: pager.trim(rows, |c| c.id),
        q,
        pager,
        may_edit: may_edit(&ctx),
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "clients/detail.html")]
struct DetailPage {
    chrome: Chrome,
    client: ClientRow,
    product_labels: Vec<String>,
    history: Vec<HistoryRow>,
    /// The day the current status takes effect, when that is still to come (the Ops Lead
    /// records the change when the task arrives, dated as the request says).
    status_from: Option<chrono::NaiveDate>,
    requests: Vec<crate::change_requests::db::QueueLine>,
    may_edit: bool,
    may_file: bool,
    /// The signing contact's form, for the client's account manager and the client editors.
    signer: crate::signing::views::ContactForm,
}

async fn detail(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> AppResult<DetailPage> {
    detail_page(&state, &ctx, id).await
}

async fn detail_page(state: &AppState, ctx: &Ctx, id: i64) -> AppResult<DetailPage> {
    let mut conn = state.db.acquire().await?;
    let client = db::find(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    let history = db::history(&mut conn, id).await?;
    let requests = crate::change_requests::db::for_client(&mut conn, id).await?;
    let may_file =
        crate::change_requests::rules::may_file(ctx.who(), client.account_manager_id).is_ok();
    let products = db::products(&mut conn).await?;
    let product_labels = client
        .ad_products
        .iter()
        .map(|k| {
            products
                .iter()
                .find(|p| &p.key == k)
                .map(|p| p.label.clone())
                .unwrap_or_else(|| k.clone())
        })
        .collect();
    let signer = crate::signing::views::ContactForm::of(&client, may_file || may_edit(ctx));
    let today = state.clock.today();
    let status_from = history
        .first()
        // An addendum leaves the client active: only its budget waits for the date.
        .filter(|h| h.status == client.status && h.status != Status::Active)
        .and_then(|h| h.effective_date)
        .filter(|day| *day > today);
    Ok(DetailPage {
        status_from,
        chrome: Chrome::new(state, ctx, "/clients"),
        client,
        product_labels,
        history,
        requests,
        signer,
        may_edit: may_edit(ctx),
        may_file,
    })
}

/// The client form, new or edit.
#[derive(Template, WebTemplate)]
#[template(path = "clients/form.html")]
struct FormPage {
    chrome: Chrome,
    /// None when adding.
    client_id: Option<i64>,
    title: String,
    form: ClientForm,
    errors: FieldErrors,
    conflict: Option<String>,
    account_managers: Vec<PersonOption>,
    sem_specialists: Vec<PersonOption>,
    products: Vec<ProductOption>,
    statuses: [Status; 4],
}

impl FormPage {
    fn selected(&self, field: &str, id: &i64) -> bool {
        let value = if field == "am" {
            &self.form.account_manager_id
        } else {
            &self.form.sem_specialist_id
        };
        value.trim() == id.to_string()
    }
}

async fn form_page(
    state: &AppState,
    ctx: &Ctx,
    conn: &mut PgConnection,
    client_id: Option<i64>,
    title: String,
    form: ClientForm,
) -> AppResult<FormPage> {
    Ok(FormPage {
        chrome: Chrome::new(state, ctx, "/clients"),
        client_id,
        title,
        form,
        errors: FieldErrors::default(),
        conflict: None,
        account_managers: people_with_role(conn, Role::AccountManager.key()).await?,
        sem_specialists: people_with_role(conn, Role::SemSpecialist.key()).await?,
        products: db::products(conn).await?,
        statuses: Status::ALL,
    })
}

/// The client's current account manager and SEM specialist stay on the form even when they can
/// no longer act (disabled, or out of the role), marked so, so that saving another field never
/// drops them unseen; choosing someone else is what hands the client on.
async fn keep_current(
    conn: &mut PgConnection,
    page: &mut FormPage,
    account_manager: Option<i64>,
    sem_specialist: Option<i64>,
) -> sqlx::Result<()> {
    for (current, list) in [
        (account_manager, &mut page.account_managers),
        (sem_specialist, &mut page.sem_specialists),
    ] {
        let Some(id) = current else { continue };
        if list.iter().any(|p| p.id == id) {
            continue;
        }
        let name: String = sqlx::query_scalar("SELECT display_name FROM users WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
        list.push(PersonOption {
            id,
            display_name: format!("{name} (cannot act now: choose someone else)"),
        });
    }
    Ok(())
}

async fn new_page(State(state): State<AppState>, ctx: Ctx) -> AppResult<FormPage> {
    let mut conn = state.db.acquire().await?;
    form_page(
        &state,
        &ctx,
        &mut conn,
        None,
        "New client".into(),
        ClientForm::default(),
    )
    .await
}

/// Parses `form` against what can be chosen now.
fn parse(page: &FormPage) -> Result<form::ClientInput, FieldErrors> {
    let am: Vec<i64> = page.account_managers.iter().map(|p| p.id).collect();
    let sem: Vec<i64> = page.sem_specialists.iter().map(|p| p.id).collect();
    let products: Vec<String> = page.products.iter().map(|p| p.key.clone()).collect();
    form::parse(
        &page.form,
        &form::Choices {
            account_managers: &am,
            sem_specialists: &sem,
            products: &products,
        },
    )
}

fn unprocessable(page: FormPage) -> Response {
    (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
}

async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<ClientForm>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let mut page = form_page(&state, &ctx, &mut tx, None, "New client".into(), form).await?;
    let input = match parse(&page) {
        Ok(i) => i,
        Err(errors) => {
            page.errors = errors;
            return Ok(unprocessable(page));
        }
    };
    let id = match db::insert(&mut tx, &input).await? {
        Saved::Ok(id) => id,
        Saved::AccountIdTaken => {
            page.errors.add(
                "crm_account_id",
                "Another client already has this account id.",
            );
            return Ok(unprocessable(page));
        }
    };
    db::record_history(
        &mut tx,
        id,
        input.status,
        input.monthly_budget_cents,
        Some(ctx.user.id),
        "Client added",
    )
    .await?;
    audit::record(
        &mut tx,
        &Actor::from_ctx(&ctx),
        "client.created",
        "client",
        Some(id.to_string()),
        json!({ "name": input.name, "crm_account_id": input.crm_account_id }),
    )
    .await?;
    commit_and_go(
        tx,
        &format!("/clients/{id}"),
        &format!("{} added.", input.name),
    )
    .await
}

fn form_of(c: &ClientRow) -> ClientForm {
    ClientForm {
        name: c.name.clone(),
        crm_account_id: c.crm_account_id.clone(),
        account_manager_id: c
            .account_manager_id
            .map(|i| i.to_string())
            .unwrap_or_default(),
        sem_specialist_id: c
            .sem_specialist_id
            .map(|i| i.to_string())
            .unwrap_or_default(),
        monthly_budget: crate::money::cents_for_input(c.monthly_budget_cents),
        ad_products: c.ad_products.clone(),
        status: c.status.key().to_string(),
        version: c.version,
    }
}

async fn edit_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> AppResult<FormPage> {
    let mut conn = state.db.acquire().await?;
    let client = db::find(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    let mut page = form_page(
        &state,
        &ctx,
        &mut conn,
        Some(id),
        format!("Edit {}", client.name),
        form_of(&client),
    )
    .await?;
    keep_current(
        &mut conn,
        &mut page,
        client.account_manager_id,
        client.sem_specialist_id,
    )
    .await?;
    Ok(page)
}

/// What a saved edit sets going in the same transaction: a line in the status history when
/// the status or budget changed, and the client's open work handed to its new account manager
/// and SEM specialist. Returns the requests that went to the new account manager.
async fn follow_the_save(
    tx: &mut PgConnection,
    state: &AppState,
    ctx: &Ctx,
    before: &ClientRow,
    input: &form::ClientInput,
) -> AppResult<Vec<i64>> {
    if before.status != input.status || before.monthly_budget_cents != input.monthly_budget_cents {
        let note = "Edited on the client page";
        let (status, budget, by) = (input.status, input.monthly_budget_cents, Some(ctx.user.id));
        db::record_history(tx, before.id, status, budget, by, note).await?;
    }
    let moved = handover::PeopleMoved {
        client_id: before.id,
        manager: (before.account_manager_id, input.account_manager_id),
        specialist: (before.sem_specialist_id, input.sem_specialist_id),
    };
    handover::hand_over_work(tx, state, &Actor::from_ctx(ctx), moved).await
}

/// What the person saving reads: that it saved, and which requests went along to the new
/// account manager (they follow the client, which the form does not say).
async fn saved_message(
    tx: &mut PgConnection,
    name: &str,
    went: &[i64],
    to: Option<i64>,
) -> sqlx::Result<String> {
    let Some((last, rest)) = went.split_last() else {
        return Ok(format!("Saved {name}."));
    };
    let names = crate::users::db::names(tx, &[to]).await?;
    let whom = match names.of(to) {
        "" => "no account manager yet".to_string(),
        n => n.to_string(),
    };
    let list = if rest.is_empty() {
        format!("Its request #{last} goes")
    } else {
        let rest: Vec<String> = rest.iter().map(|id| format!("#{id}")).collect();
        format!("Its requests {} and #{last} go", rest.join(", "))
    };
    Ok(format!("Saved {name}. {list} with it to {whom}."))
}

/// What an edit changed, field by field, for the audit record.
fn changes(before: &ClientRow, input: &form::ClientInput) -> audit::Changes {
    let mut changes = audit::Changes::default();
    changes
        .field("name", &before.name, &input.name)
        .field(
            "crm_account_id",
            &before.crm_account_id,
            &input.crm_account_id,
        )
        .field(
            "account_manager_id",
            before.account_manager_id,
            input.account_manager_id,
        )
        .field(
            "sem_specialist_id",
            before.sem_specialist_id,
            input.sem_specialist_id,
        )
        .field(
            "monthly_budget_cents",
            before.monthly_budget_cents,
            input.monthly_budget_cents,
        )
        .field("ad_products", &before.ad_products, &input.ad_products)
        .field("status", before.status, input.status);
    changes
}

async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<ClientForm>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let before = db::find(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let version = form.version;
    let title = format!("Edit {}", before.name);
    let mut page = form_page(&state, &ctx, &mut tx, Some(id), title, form).await?;
    let (manager, specialist) = (before.account_manager_id, before.sem_specialist_id);
    keep_current(&mut tx, &mut page, manager, specialist).await?;
    let input = match parse(&page) {
        Ok(input) => input,
        Err(errors) => {
            page.errors = errors;
            return Ok(unprocessable(page));
        }
    };
    // An open request waits on the client's account manager: it cannot be left with nobody.
    if input.account_manager_id.is_none()
        && manager.is_some()
        && crate::change_requests::db::open_for_client(&mut tx, id)
            .await?
            .is_some()
    {
        page.errors.add(
            "account_manager_id",
            "This client has an open change request, which its account manager takes on: choose who does.",
        );
        return Ok(unprocessable(page));
    }
    if input.account_manager_id != manager {
        db::lock_requests_of(&mut tx, id).await?;
    }
    let saved = db::update(&mut tx, id, version, &input).await?;
    if let Some(page) = not_saved(page, saved, &before) {
        return Ok(unprocessable(page));
    }
    let went = follow_the_save(&mut tx, &state, &ctx, &before, &input).await?;
    let back = format!("/clients/{id}");
    let changes = changes(&before, &input);
    if changes.is_empty() {
        // Saved as it was: the version stays, so nobody editing meanwhile meets a conflict.
        tx.rollback().await?;
        return commit_and_go(state.db.begin().await?, &back, "Nothing changed.").await;
    }
    let (actor, entity) = (Actor::from_ctx(&ctx), Some(id.to_string()));
    let record = json!({ "changes": changes.into_json() });
    audit::record(&mut tx, &actor, "client.updated", "client", entity, record).await?;
    let saved = saved_message(&mut tx, &input.name, &went, input.account_manager_id).await?;
    commit_and_go(tx, &back, &saved).await
}

/// The form again when the save did not happen: the account id is another client's, or
/// someone else saved first (their version, and the form as typed to save again).
fn not_saved(
    mut page: FormPage,
    saved: Saved<Option<i32>>,
    before: &db::ClientRow,
) -> Option<FormPage> {
    match saved {
        Saved::AccountIdTaken => {
            let message = "Another client already has this account id.";
            page.errors.add("crm_account_id", message);
        }
        Saved::Ok(None) => {
            page.conflict = Some(format!(
                "Someone else changed this client while you were editing (now: {}, {}, {}). \
                 Your changes are below; save again to apply them.",
                before.name,
                before.status_label(),
                before.budget()
            ));
            page.form.version = before.version;
        }
        Saved::Ok(Some(_)) => return None,
    }
    Some(page)
}
