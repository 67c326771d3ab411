//! The distribution list, edited by an admin: who hears of every approved change request.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::Form;
use serde::Deserialize;
use serde_json::json;

use crate::audit::{self, Actor};
use crate::users::form::Email;
use crate::web::AppState;
use crate::web::ctx::{Ctx, commit_and_go};
use crate::web::error::AppResult;
use crate::web::fields::FieldErrors;
use crate::web::pages::Chrome;

#[derive(Debug, sqlx::FromRow)]
pub struct Entry {
    pub id: i64,
    pub email: String,
    pub name: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct AddForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "notifications/distribution.html")]
pub(super) struct ListPage {
    chrome: Chrome,
    entries: Vec<Entry>,
    form: AddForm,
    errors: FieldErrors,
}

async fn entries(state: &AppState) -> AppResult<Vec<Entry>> {
    // The list is a handful of people; it is shown whole.
    Ok(
        sqlx::query_as("SELECT id, email, name FROM distribution_list ORDER BY lower(email)")
            .fetch_all(&state.db)
            .await?,
    )
}

pub(super) async fn list(State(state): State<AppState>, ctx: Ctx) -> AppResult<ListPage> {
    Ok(ListPage {
        chrome: Chrome::new(&state, &ctx, "/admin/distribution"),
        entries: entries(&state).await?,
        form: AddForm::default(),
        errors: FieldErrors::default(),
    })
}

pub(super) async fn add(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<AddForm>,
) -> AppResult<Response> {
    let mut errors = FieldErrors::default();
    let email = Email::parse(&form.email)
        .map_err(|e| errors.add("email", e))
        .ok();
    let name = crate::web::text::line(&form.name, 100).unwrap_or_else(|m| {
        errors.add("name", m);
        String::new()
    });
    let Some(email) = email.filter(|_| errors.is_empty()) else {
        return invalid(&state, &ctx, errors, form).await;
    };
    let mut tx = state.db.begin().await?;
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO distribution_list (email, name) VALUES ($1, $2)
         ON CONFLICT (lower(email)) DO NOTHING RETURNING id",
    )
    .bind(email.as_str())
    .bind(&name)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(id) = id else {
        errors.add("email", "This address is already on the list.");
        return invalid(&state, &ctx, errors, form).await;
    };
    audit::record(
        &mut tx,
        &Actor::from_ctx(&ctx),
        "distribution_list.added",
        "distribution_list",
        Some(id.to_string()),
        json!({ "email": email.as_str(), "name": name }),
    )
    .await?;
    commit_and_go(
        tx,
        "/admin/distribution",
        &format!("{} is on the distribution list.", email.as_str()),
    )
    .await
}

/// The list again, with the form as typed and its messages.
async fn invalid(
    state: &AppState,
    ctx: &Ctx,
    errors: FieldErrors,
    form: AddForm,
) -> AppResult<Response> {
    Ok((
        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        ListPage {
            chrome: Chrome::new(state, ctx, "/admin/distribution"),
            entries: entries(state).await?,
            form,
            errors,
        },
    )
        .into_response())
}

pub(super) async fn remove(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let removed: Option<String> =
        sqlx::query_scalar("DELETE FROM distribution_list WHERE id = $1 RETURNING email")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let message = match &removed {
        Some(email) => {
            audit::record(
                &mut tx,
                &Actor::from_ctx(&ctx),
                "distribution_list.removed",
                "distribution_list",
                Some(id.to_string()),
                json!({ "email": email }),
            )
            .await?;
            format!("{email} is off the distribution list.")
        }
        None => "That address was already removed; nothing changed.".to_string(),
    };
    commit_and_go(tx, "/admin/distribution", &message).await
}
