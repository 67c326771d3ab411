//! The list of reasons a client gives, edited by an admin: add, rename, reorder, retire.
//! A retired reason is no longer offered for new requests; requests that carry it keep it.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::Form;
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;

use crate::audit::{self, Actor};
use crate::web::AppState;
use crate::web::ctx::{Ctx, commit_and_go};
use crate::web::error::{AppError, AppResult};
use crate::web::fields::FieldErrors;
use crate::web::pages::Chrome;

#[derive(Debug, sqlx::FromRow)]
pub struct Reason {
    pub id: i64,
    pub label: String,
    pub position: i32,
    pub retired: bool,
    pub used: i64,
    /// Retention can act on it (a client closing the business is not Retention's to save).
    pub controllable: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct ReasonForm {
    #[serde(default)]
    label: String,
    #[serde(default)]
    position: String,
    /// The checkbox "Retention can act on it" (absent when unticked).
    #[serde(default)]
    controllable: Option<String>,
    /// Set by the form that shows the checkbox, so an unticked box reads as "no".
    #[serde(default)]
    controllable_shown: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "change_requests/reasons.html")]
pub(super) struct ReasonsPage {
    chrome: Chrome,
    reasons: Vec<Reason>,
    /// The row whose form needs another look (None: the add form).
    editing: Option<i64>,
    form: ReasonForm,
    errors: FieldErrors,
}

impl ReasonsPage {
    fn label_of<'a>(&'a self, r: &'a Reason) -> &'a str {
        if self.editing == Some(r.id) {
            &self.form.label
        } else {
            &r.label
        }
    }

    fn position_of(&self, r: &Reason) -> String {
        if self.editing == Some(r.id) {
            self.form.position.clone()
        } else {
            r.position.to_string()
        }
    }

    fn error_for(&self, r: &Reason, field: &str) -> String {
        if self.editing == Some(r.id) {
            self.errors.msg(field).to_string()
        } else {
            String::new()
        }
    }

    fn add_error(&self, field: &str) -> String {
        if self.editing.is_none() {
            self.errors.msg(field).to_string()
        } else {
            String::new()
        }
    }

    fn add_value(&self, field: &str) -> &str {
        match (self.editing, field) {
            (None, "label") => &self.form.label,
            (None, "position") => &self.form.position,
            _ => "",
        }
    }
}

async fn reasons(state: &AppState) -> AppResult<Vec<Reason>> {
    Ok(sqlx::query_as(
        "SELECT r.id, r.label, r.position, r.retired_at IS NOT NULL AS retired,
                (SELECT count(*) FROM change_requests c WHERE c.reason_id = r.id) AS used,
                r.controllable
           FROM change_reasons r
          ORDER BY r.retired_at IS NOT NULL, r.position, r.label",
    )
    .fetch_all(&state.db)
    .await?)
}

async fn render(
    state: &AppState,
    ctx: &Ctx,
    editing: Option<i64>,
    form: ReasonForm,
    errors: FieldErrors,
) -> AppResult<ReasonsPage> {
    Ok(ReasonsPage {
        chrome: Chrome::new(state, ctx, "/admin/reasons"),
        reasons: reasons(state).await?,
        editing,
        form,
        errors,
    })
}

pub(super) async fn list(State(state): State<AppState>, ctx: Ctx) -> AppResult<ReasonsPage> {
    render(
        &state,
        &ctx,
        None,
        ReasonForm::default(),
        FieldErrors::default(),
    )
    .await
}

/// A checked label and position, or the messages for the form.
pub fn check(form: &ReasonForm, default_position: i32) -> Result<(String, i32), FieldErrors> {
    let mut errors = FieldErrors::default();
    let label =
        crate::web::text::label(&form.label, 100, "Write the reason.").unwrap_or_else(|m| {
            errors.add("label", m);
            String::new()
        });
    let position = match form.position.trim() {
        "" => default_position,
        p => match p.parse::<i32>() {
            Ok(n) if (0..=9999).contains(&n) => n,
            _ => {
                errors.add("position", "A whole number from 0 to 9999.");
                0
            }
        },
    };
    if errors.is_empty() {
        Ok((label, position))
    } else {
        Err(errors)
    }
}

fn is_duplicate(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

pub(super) async fn add(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<ReasonForm>,
) -> AppResult<Response> {
    let (label, position) = match check(&form, 50) {
        Ok(v) => v,
        Err(errors) => {
            let page = render(&state, &ctx, None, form, errors).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let mut tx = state.db.begin().await?;
    let inserted = sqlx::query_scalar::<_, i64>(
        "INSERT INTO change_reasons (label, position) VALUES ($1, $2) RETURNING id",
    )
    .bind(&label)
    .bind(position)
    .fetch_one(&mut *tx)
    .await;
    let id = match inserted {
        Ok(id) => id,
        Err(e) if is_duplicate(&e) => {
            drop(tx);
            let mut errors = FieldErrors::default();
            errors.add("label", "This reason is already on the list.");
            let page = render(&state, &ctx, None, form, errors).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
        Err(e) => return Err(e.into()),
    };
    audit::record(
        &mut tx,
        &Actor::from_ctx(&ctx),
        "change_reason.added",
        "change_reason",
        Some(id.to_string()),
        json!({ "label": label, "position": position }),
    )
    .await?;
    commit_and_go(tx, "/admin/reasons", &format!("Added “{label}”.")).await
}

pub(super) async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<ReasonForm>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let before: Option<(String, i32, bool)> = sqlx::query_as(
        "SELECT label, position, controllable FROM change_reasons WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let (old_label, old_position, was_controllable) = before.ok_or(AppError::NotFound)?;
    // An unticked box is absent from the form: the marker says the box was there.
    let controllable = match form.controllable_shown {
        Some(_) => form.controllable.is_some(),
        None => was_controllable,
    };
    let (label, position) = match check(&form, old_position) {
        Ok(checked) => checked,
        Err(errors) => {
            drop(tx);
            return again(&state, &ctx, id, form, errors).await;
        }
    };
    if !save(&mut tx, id, &label, position, controllable).await? {
        drop(tx);
        let mut errors = FieldErrors::default();
        errors.add("label", "Another reason already reads like this.");
        return again(&state, &ctx, id, form, errors).await;
    }
    let mut changes = audit::Changes::default();
    changes
        .field("label", &old_label, &label)
        .field("position", old_position, position)
        .field("controllable", was_controllable, controllable);
    if changes.is_empty() {
        return commit_and_go(tx, "/admin/reasons", "Nothing changed.").await;
    }
    let (actor, entity) = (Actor::from_ctx(&ctx), Some(id.to_string()));
    let record = json!({ "changes": changes.into_json() });
    audit::record(
        &mut tx,
        &actor,
        "change_reason.edited",
        "change_reason",
        entity,
        record,
    )
    .await?;
    commit_and_go(tx, "/admin/reasons", &format!("Saved “{label}”.")).await
}

/// Saves reason `id`; false when another reason already has the label.
async fn save(
    conn: &mut PgConnection,
    id: i64,
    label: &str,
    position: i32,
    controllable: bool,
) -> AppResult<bool> {
    let updated = sqlx::query(
        "UPDATE change_reasons SET label = $2, position = $3, controllable = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(label)
    .bind(position)
    .bind(controllable)
    .execute(conn)
    .await;
    match updated {
        Ok(_) => Ok(true),
        Err(e) if is_duplicate(&e) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The reasons page again, reason `id`'s row as typed with what needs another look.
async fn again(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    form: ReasonForm,
    errors: FieldErrors,
) -> AppResult<Response> {
    let page = render(state, ctx, Some(id), form, errors).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

async fn set_retired(state: &AppState, ctx: &Ctx, id: i64, retire: bool) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let changed: Option<String> = sqlx::query_scalar(
        "UPDATE change_reasons
            SET retired_at = CASE WHEN $2 THEN now() END
          WHERE id = $1 AND (retired_at IS NOT NULL) <> $2
          RETURNING label",
    )
    .bind(id)
    .bind(retire)
    .fetch_optional(&mut *tx)
    .await?;
    let message = match changed {
        Some(label) => {
            audit::record(
                &mut tx,
                &Actor::from_ctx(ctx),
                if retire {
                    "change_reason.retired"
                } else {
                    "change_reason.restored"
                },
                "change_reason",
                Some(id.to_string()),
                json!({ "label": label }),
            )
            .await?;
            if retire {
                format!("“{label}” is retired: no longer offered on new requests.")
            } else {
                format!("“{label}” is offered again.")
            }
        }
        None => {
            let exists: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM change_reasons WHERE id = $1)")
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
            if !exists {
                return Err(AppError::NotFound);
            }
            "Nothing changed: someone already did that.".to_string()
        }
    };
    commit_and_go(tx, "/admin/reasons", &message).await
}

pub(super) async fn retire(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    set_retired(&state, &ctx, id, true).await
}

pub(super) async fn restore(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    set_retired(&state, &ctx, id, false).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(label: &str, position: &str) -> ReasonForm {
        ReasonForm {
            label: label.into(),
            position: position.into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_reason_is_tidied_and_its_position_defaults() {
        assert_eq!(
            check(&form("  Moving   to  a rival ", ""), 7),
            Ok(("Moving to a rival".to_string(), 7))
        );
        assert_eq!(check(&form("X", " 12 "), 7), Ok(("X".to_string(), 12)));
    }

    #[test]
    fn empty_long_or_odd_input_is_refused_beside_its_field() {
        let e = check(&form("  ", "x"), 0).unwrap_err();
        assert!(e.has("label") && e.has("position"));
        assert!(
            check(&form(&"a".repeat(101), ""), 0)
                .unwrap_err()
                .has("label")
        );
        assert!(check(&form("ok", "-1"), 0).unwrap_err().has("position"));
        assert!(check(&form("ok", "10000"), 0).unwrap_err().has("position"));
        assert!(check(&form("ok", "1.5"), 0).unwrap_err().has("position"));
    }
}
