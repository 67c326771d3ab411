//! User administration: an admin creates people, edits their name, email and roles, sets a
//! new password, and disables or re-enables them. Every change is audited; disabling ends the
//! person's sessions in the same transaction.

pub mod db;
pub mod form;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::Form;
use serde::Deserialize;
use serde_json::json;

use crate::audit::{self, Actor};
use crate::auth::access;
use crate::auth::password;
use crate::auth::roles::{Role, RoleSet};
use crate::auth::session;
use crate::web::ctx::{Ctx, commit_and_go};
use crate::web::error::{AppError, AppResult};
use crate::web::fields::FieldErrors;
use crate::web::pages::{Chrome, Keyset};
use crate::web::{AppState, Routes};
use db::{Saved, UserRow};
use form::DetailsForm;

pub fn routes(r: Routes) -> Routes {
    r.get("/admin/users", access::ADMIN, list)
        .get("/admin/users/new", access::ADMIN, new_page)
        .post("/admin/users", access::ADMIN, create)
        .get("/admin/users/{id}", access::ADMIN, edit_page)
        .post("/admin/users/{id}", access::ADMIN, update)
        .post("/admin/users/{id}/password", access::ADMIN, set_password)
        .post("/admin/users/{id}/disable", access::ADMIN, disable)
        .post("/admin/users/{id}/enable", access::ADMIN, enable)
}

/// Every role, for the checkboxes.
pub struct RoleOption {
    pub key: &'static str,
    pub label: &'static str,
}

fn role_options() -> Vec<RoleOption> {
    Role::ALL
        .iter()
        .map(|r| RoleOption {
            key: r.key(),
            label: r.label(),
        })
        .collect()
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    q: Option<String>,
    before: Option<i64>,
    after: Option<i64>,
}

#[derive(Template, WebTemplate)]
#[template(path = "users/list.html")]
struct ListPage {
    chrome: Chrome,
    users: Vec<UserRow>,
    q: String,
    pager: Keyset,
}

async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(query): Query<ListQuery>,
) -> AppResult<ListPage> {
    let q = crate::web::text::search(&query.q.unwrap_or_default());
    let mut pager = Keyset::new(query.before, query.after, 25);
    if !q.is_empty() {
        pager.keep = format!("&q={}", crate::web::ctx::encode_component(&q));
    }
    let mut conn = state.db.acquire().await?;
    let rows = db::search(&mut conn, &q, &pager).await?;
    let users = pager.trim(rows, |u| u.id);
    Ok(ListPage {
        chrome: Chrome::new(&state, &ctx, "/admin/users"),
        users,
        q,
        pager,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "users/new.html")]
struct NewPage {
    chrome: Chrome,
    form: DetailsForm,
    errors: FieldErrors,
    roles: Vec<RoleOption>,
}

async fn new_page(State(state): State<AppState>, ctx: Ctx) -> NewPage {
    NewPage {
        chrome: Chrome::new(&state, &ctx, "/admin/users"),
        form: DetailsForm::default(),
        errors: FieldErrors::default(),
        roles: role_options(),
    }
}

/// Adds the user `details` describe (with the password `hash`) and records who added them;
/// nothing is added when the email is taken.
pub async fn add(
    conn: &mut sqlx::PgConnection,
    actor: &Actor,
    details: &form::Details,
    hash: &str,
) -> sqlx::Result<Saved<i64>> {
    let saved = db::insert(&mut *conn, details, hash).await?;
    if let Saved::Ok(id) = saved {
        let record = json!({
            "email": details.email.as_str(),
            "display_name": details.display_name,
            "roles": details.roles.keys(),
        });
        audit::record(
            conn,
            actor,
            "user.created",
            "user",
            Some(id.to_string()),
            record,
        )
        .await?;
    }
    Ok(saved)
}

async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<DetailsForm>,
) -> AppResult<Response> {
    let invalid = |errors: FieldErrors, mut form: DetailsForm| {
        form.password.clear();
        (
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            NewPage {
                chrome: Chrome::new(&state, &ctx, "/admin/users"),
                form,
                errors,
                roles: role_options(),
            },
        )
            .into_response()
    };
    let details = match form::parse_details(&form, true) {
        Ok(d) => d,
        Err(errors) => return Ok(invalid(errors, form)),
    };
    let hash = password::hash_async(form.password.clone()).await?;
    let mut tx = state.db.begin().await?;
    let id = match add(&mut tx, &Actor::from_ctx(&ctx), &details, &hash).await? {
        Saved::Ok(id) => id,
        Saved::EmailTaken => {
            let mut errors = FieldErrors::default();
            errors.add("email", "Another account already uses this email.");
            return Ok(invalid(errors, form));
        }
    };
    commit_and_go(
        tx,
        &format!("/admin/users/{id}"),
        &format!("{} can now sign in.", details.display_name),
    )
    .await
}

#[derive(Template, WebTemplate)]
#[template(path = "users/edit.html")]
struct EditPage {
    chrome: Chrome,
    user: UserRow,
    form: DetailsForm,
    errors: FieldErrors,
    password_error: String,
    conflict: Option<String>,
    roles: Vec<RoleOption>,
    is_self: bool,
}

impl EditPage {
    fn new(state: &AppState, ctx: &Ctx, user: UserRow) -> Self {
        let form = DetailsForm {
            email: user.email.clone(),
            display_name: user.display_name.clone(),
            roles: user.roles.iter().map(|r| r.key().to_string()).collect(),
            password: String::new(),
            version: user.version,
            from_provider: user.idp_roles.iter().map(|r| r.key().to_string()).collect(),
        };
        EditPage {
            chrome: Chrome::new(state, ctx, "/admin/users"),
            is_self: user.id == ctx.user.id,
            user,
            form,
            errors: FieldErrors::default(),
            password_error: String::new(),
            conflict: None,
            roles: role_options(),
        }
    }
}

async fn load(state: &AppState, id: i64) -> AppResult<UserRow> {
    let mut conn = state.db.acquire().await?;
    db::find(&mut conn, id).await?.ok_or(AppError::NotFound)
}

async fn edit_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> AppResult<EditPage> {
    let user = load(&state, id).await?;
    Ok(EditPage::new(&state, &ctx, user))
}

fn unprocessable(page: EditPage) -> Response {
    (axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
}

async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<DetailsForm>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let before = db::find_for_update(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut page = EditPage::new(&state, &ctx, before.clone());
    page.form = DetailsForm {
        version: form.version,
        from_provider: page.form.from_provider.clone(),
        ..form.clone()
    };
    let details = match form::parse_details(&form, false) {
        // The groups' roles stay while the groups grant them.
        Ok(mut d) => {
            for r in &before.idp_roles {
                d.roles.insert(*r);
            }
            d
        }
        Err(errors) => {
            page.errors = errors;
            return Ok(unprocessable(page));
        }
    };
    if page.is_self && !details.roles.contains(Role::Admin) {
        page.errors
            .add("roles", "You cannot take away your own administrator role.");
        return Ok(unprocessable(page));
    }
    let losing: RoleSet = before
        .role_set()
        .iter()
        .filter(|r| !details.roles.contains(*r))
        .collect();
    if let Some(role) = last_holder_of(&mut tx, id, losing).await? {
        page.errors
            .add("roles", last_holder_message(&before.display_name, role));
        return Ok(unprocessable(page));
    }
    let version = match db::update_details(&mut tx, id, form.version, &details).await? {
        Saved::Ok(Some(version)) => version,
        not_saved => return Ok(unprocessable(again(page, not_saved, &before))),
    };
    let mut changes = audit::Changes::default();
    changes
        .field("email", &before.email, details.email.as_str())
        .field("display_name", &before.display_name, &details.display_name)
        .field("roles", before.role_set().keys(), details.roles.keys());
    if before.role_set() != details.roles {
        work_moves_on(&mut tx, &state, &ctx, id, before.role_set()).await?;
    }
    let message = if changes.is_empty() {
        "Nothing changed.".to_string()
    } else {
        let (actor, entity) = (Actor::from_ctx(&ctx), Some(id.to_string()));
        let record = json!({ "changes": changes.into_json(), "version": version });
        audit::record(&mut tx, &actor, "user.updated", "user", entity, record).await?;
        format!("Saved {}.", details.display_name)
    };
    let answer = commit_and_go(tx, &format!("/admin/users/{id}"), &message).await;
    // Once committed, this instance forgets them without waiting for its notice
    // (session_cache); before, the committed row was still the one to serve.
    state.sessions.forget_user(id);
    answer
}

/// The form again when the save did not happen: the address is another account's, or someone
/// saved this user after the form was opened (keep what was typed, show what is stored now,
/// and let the admin decide).
fn again(mut page: EditPage, saved: Saved<Option<i32>>, before: &db::UserRow) -> EditPage {
    match saved {
        Saved::EmailTaken => {
            let message = "Another account already uses this email.";
            page.errors.add("email", message);
        }
        Saved::Ok(_) => {
            page.conflict = Some(format!(
                "Someone else changed this user while you were editing. It is now: {} <{}>, {}. \
                 Your changes are below; save again to apply them.",
                before.display_name,
                before.email,
                before.role_labels()
            ));
            page.form.version = before.version;
        }
    }
    page
}

#[derive(Debug, Deserialize)]
struct PasswordForm {
    #[serde(default)]
    password: String,
}

async fn set_password(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<PasswordForm>,
) -> AppResult<Response> {
    let user = load(&state, id).await?;
    if let Err(problem) = password::check_new(&form.password, &user.email) {
        let mut page = EditPage::new(&state, &ctx, user);
        page.password_error = problem.to_string();
        return Ok(unprocessable(page));
    }
    let hash = password::hash_async(form.password).await?;
    let mut tx = state.db.begin().await?;
    db::find_for_update(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    db::set_password_hash(&mut tx, id, &hash).await?;
    // A new password ends the person's other sessions; an admin setting their own keeps this one.
    let ended = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2")
        .bind(id)
        .bind(&ctx.user.session_hash)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    audit::record(
        &mut tx,
        &Actor::from_ctx(&ctx),
        "user.password_set",
        "user",
        Some(id.to_string()),
        json!({ "sessions_ended": ended }),
    )
    .await?;
    let answer = commit_and_go(
        tx,
        &format!("/admin/users/{id}"),
        &format!("New password set for {}.", user.display_name),
    )
    .await;
    state.sessions.forget_user(id);
    answer
}

/// After `id` was disabled, enabled or had their roles changed (they held `roles` before):
/// approval steps that rested on them are checked again, and their SEM work goes to each
/// client's specialist or waits on the admin.
async fn work_moves_on(
    tx: &mut sqlx::PgConnection,
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    roles: RoleSet,
) -> anyhow::Result<()> {
    work_moves_on_for(tx, state, &Actor::from_ctx(ctx), id, roles).await
}

/// As an admin's change of roles does, for a change `actor` made (the identity provider's
/// groups at a company sign-in): work resting on a role the person lost moves on.
pub(crate) async fn work_moves_on_for(
    tx: &mut sqlx::PgConnection,
    state: &AppState,
    actor: &Actor,
    id: i64,
    roles: RoleSet,
) -> anyhow::Result<()> {
    let actor = actor.clone();
    crate::approvals::routing::recheck_for_person(
        tx,
        &state.config,
        &actor,
        state.clock.today(),
        id,
        roles,
    )
    .await?;
    crate::operations::sem_handover::for_person(tx, &state.config, &actor, id).await
}

/// The roles whose work waits on any holder rather than on a named person (the Retention
/// Team's calls, Accounting's processing, the Ops Lead's change tasks, the contractor's
/// items): the desk never leaves one of them with nobody active, or that work would wait on
/// nobody. (Work resting on a named person, an account manager's, a specialist's or an
/// approver's, goes to the admin's desk when they leave.)
const HELD_BY_SOMEONE: [Role; 4] = [
    Role::Retention,
    Role::Accounting,
    Role::OpsLead,
    Role::Contractor,
];

/// Whether nobody but `user` holds `role` among the active users.
async fn sole_holder(conn: &mut sqlx::PgConnection, user: i64, role: Role) -> sqlx::Result<bool> {
    let others: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM users
          WHERE id <> $1 AND disabled_at IS NULL AND $2 = ANY(roles)",
    )
    .bind(user)
    .bind(role)
    .fetch_one(conn)
    .await?;
    Ok(others == 0)
}

/// The first of `losing` (roles `user` is about to lose) that nobody else active holds.
async fn last_holder_of(
    conn: &mut sqlx::PgConnection,
    user: i64,
    losing: RoleSet,
) -> sqlx::Result<Option<Role>> {
    for role in HELD_BY_SOMEONE {
        if losing.contains(role) && sole_holder(conn, user, role).await? {
            return Ok(Some(role));
        }
    }
    Ok(None)
}

/// Every role of `losing` that nobody else active holds and whose work waits on any holder.
pub(crate) async fn last_holder_among(
    conn: &mut sqlx::PgConnection,
    user: i64,
    losing: RoleSet,
) -> sqlx::Result<Vec<Role>> {
    let mut last = Vec::new();
    for role in HELD_BY_SOMEONE {
        if losing.contains(role) && sole_holder(conn, user, role).await? {
            last.push(role);
        }
    }
    Ok(last)
}

/// Whether `user` is the only active administrator.
pub(crate) async fn last_admin(conn: &mut sqlx::PgConnection, user: i64) -> sqlx::Result<bool> {
    sole_holder(conn, user, Role::Admin).await
}

fn last_holder_message(name: &str, role: Role) -> String {
    format!(
        "{name} is the only one active in the role “{}”, whose work waits on whoever holds it: give the role to someone else first.",
        role.label()
    )
}

async fn disable(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    set_disabled(state, ctx, id, true).await
}

async fn enable(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    set_disabled(state, ctx, id, false).await
}

async fn set_disabled(state: AppState, ctx: Ctx, id: i64, disabled: bool) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let user = db::find_for_update(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let last = if disabled && !user.is_disabled() {
        last_holder_of(&mut tx, id, user.role_set()).await?
    } else {
        None
    };
    let message = if disabled && user.id == ctx.user.id {
        "You cannot disable your own account.".to_string()
    } else if let Some(role) = last {
        format!(
            "Nothing changed: {}",
            last_holder_message(&user.display_name, role)
        )
    } else if user.is_disabled() == disabled {
        // A double click or a stale tab: the state is already what was asked for.
        format!(
            "{} was already {}; nothing changed.",
            user.display_name,
            if disabled { "disabled" } else { "active" }
        )
    } else {
        db::set_disabled(&mut tx, id, disabled).await?;
        let ended = if disabled {
            session::delete_for_user(&mut tx, id).await?
        } else {
            0
        };
        work_moves_on(&mut tx, &state, &ctx, id, user.role_set()).await?;
        audit::record(
            &mut tx,
            &Actor::from_ctx(&ctx),
            if disabled {
                "user.disabled"
            } else {
                "user.enabled"
            },
            "user",
            Some(id.to_string()),
            json!({ "sessions_ended": ended }),
        )
        .await?;
        if disabled {
            format!(
                "{} is disabled and signed out everywhere.",
                user.display_name
            )
        } else {
            format!("{} can sign in again.", user.display_name)
        }
    };
    let answer = commit_and_go(tx, &format!("/admin/users/{id}"), &message).await;
    state.sessions.forget_user(id);
    answer
}
