//! The checklist templates, kept by an admin: add, edit, reorder and retire items. A change
//! applies to checklists made afterwards; those already made keep their items.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::Form;
use serde::Deserialize;
use serde_json::json;

use super::rules::Condition;
use crate::audit::{self, Actor};
use crate::auth::roles::Role;
use crate::web::AppState;
use crate::web::ctx::{Ctx, commit_and_go};
use crate::web::error::{AppError, AppResult};
use crate::web::fields::FieldErrors;
use crate::web::pages::Chrome;

/// The owners and conditions a template offers, with their labels.
pub const OWNERS: [(&str, &str); 3] = [
    ("ops_lead", "DM Operations Lead"),
    ("contractor", "Contractor"),
    ("sem_specialist", "SEM specialist"),
];
pub const CONDITIONS: [(&str, &str); 6] = [
    ("always", "Every cancellation"),
    ("leave_platform", "Leaving the platform"),
    ("google_ads", "Client has Google Ads"),
    ("microsoft_ads", "Client has Microsoft Ads"),
    ("facebook", "Client has Facebook"),
    ("fluency", "Client has Fluency"),
];

#[derive(Debug, sqlx::FromRow)]
pub struct TemplateRow {
    pub id: i64,
    pub position: i32,
    pub title: String,
    pub owner_role: Role,
    pub condition: Condition,
    pub due_offset_days: i32,
}

#[derive(Debug, Default, Deserialize)]
pub struct TemplateForm {
    #[serde(default)]
    position: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    owner_role: String,
    #[serde(default)]
    condition: String,
    #[serde(default)]
    due_offset_days: String,
}

/// Checked values: (position, title, owner, condition, offset).
pub fn check(f: &TemplateForm) -> Result<(i32, String, Role, Condition, i32), FieldErrors> {
    let mut e = FieldErrors::default();
    let title =
        crate::web::text::label(&f.title, 200, "Say what is to be done.").unwrap_or_else(|m| {
            e.add("title", m);
            String::new()
        });
    let position = f
        .position
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|p| (0..=9999).contains(p));
    if position.is_none() {
        e.add("position", "A whole number from 0 to 9999.");
    }
    let owner = OWNERS
        .iter()
        .find(|(k, _)| *k == f.owner_role.trim())
        .and_then(|(k, _)| Role::from_key(k));
    if owner.is_none() {
        e.add("owner_role", "Choose who does it.");
    }
    let condition = Condition::from_key(f.condition.trim());
    if condition.is_none() {
        e.add("condition", "Choose when it applies.");
    }
    let offset = match f.due_offset_days.trim() {
        "" => Some(0),
        s => s.parse::<i32>().ok().filter(|d| (-90..=90).contains(d)),
    };
    if offset.is_none() {
        e.add(
            "due_offset_days",
            "Days from the effective date, from -90 to 90.",
        );
    }
    match (position, owner, condition, offset, e.is_empty()) {
        (Some(p), Some(o), Some(c), Some(d), true) => Ok((p, title, o, c, d)),
        _ => Err(e),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "checklists/templates.html")]
pub(super) struct TemplatesPage {
    chrome: Chrome,
    rows: Vec<TemplateRow>,
    owners: [(&'static str, &'static str); 3],
    conditions: [(&'static str, &'static str); 6],
    editing: Option<i64>,
    form: TemplateForm,
    errors: FieldErrors,
}

impl TemplatesPage {
    fn value(&self, row: Option<&TemplateRow>, field: &str) -> String {
        match row {
            Some(r) if self.editing != Some(r.id) => match field {
                "position" => r.position.to_string(),
                "title" => r.title.clone(),
                "owner_role" => r.owner_role.key().to_string(),
                "condition" => r.condition.key().to_string(),
                "due_offset_days" => r.due_offset_days.to_string(),
                _ => String::new(),
            },
            None if self.editing.is_some() => String::new(),
            _ => match field {
                "position" => self.form.position.clone(),
                "title" => self.form.title.clone(),
                "owner_role" => self.form.owner_role.clone(),
                "condition" => self.form.condition.clone(),
                "due_offset_days" => self.form.due_offset_days.clone(),
                _ => String::new(),
            },
        }
    }

    fn error(&self, row: Option<&TemplateRow>, field: &str) -> String {
        if row.map(|r| r.id) == self.editing {
            self.errors.msg(field).to_string()
        } else {
            String::new()
        }
    }
}

async fn render(
    state: &AppState,
    ctx: &Ctx,
    editing: Option<i64>,
    form: TemplateForm,
    errors: FieldErrors,
) -> AppResult<TemplatesPage> {
    let rows = sqlx::query_as(
        "SELECT id, position, title, owner_role, condition, due_offset_days
           FROM checklist_templates WHERE retired_at IS NULL ORDER BY position, id",
    )
    .fetch_all(&state.db)
    .await?;
    Ok(TemplatesPage {
        chrome: Chrome::new(state, ctx, "/admin/checklist"),
        rows,
        owners: OWNERS,
        conditions: CONDITIONS,
        editing,
        form,
        errors,
    })
}

pub(super) async fn page(State(state): State<AppState>, ctx: Ctx) -> AppResult<TemplatesPage> {
    render(
        &state,
        &ctx,
        None,
        TemplateForm::default(),
        FieldErrors::default(),
    )
    .await
}

pub(super) async fn add(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<TemplateForm>,
) -> AppResult<Response> {
    let (position, title, owner, condition, offset) = match check(&form) {
        Ok(v) => v,
        Err(errors) => {
            let page = render(&state, &ctx, None, form, errors).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let mut tx = state.db.begin().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO checklist_templates (position, title, owner_role, condition, due_offset_days)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(position)
    .bind(&title)
    .bind(owner)
    .bind(condition)
    .bind(offset)
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        &Actor::from_ctx(&ctx),
        "checklist_template.added",
        "checklist_template",
        Some(id.to_string()),
        json!({ "title": title, "owner_role": owner, "condition": condition, "position": position, "due_offset_days": offset }),
    )
    .await?;
    commit_and_go(
        tx,
        "/admin/checklist",
        "Item added: checklists made from now on include it.",
    )
    .await
}

pub(super) async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<TemplateForm>,
) -> AppResult<Response> {
    let (position, title, owner, condition, offset) = match check(&form) {
        Ok(v) => v,
        Err(errors) => {
            let page = render(&state, &ctx, Some(id), form, errors).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let mut tx = state.db.begin().await?;
    let before: Option<TemplateRow> = sqlx::query_as(
        "SELECT id, position, title, owner_role, condition, due_offset_days
           FROM checklist_templates WHERE id = $1 AND retired_at IS NULL FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let before = before.ok_or(AppError::NotFound)?;
    sqlx::query(
        "UPDATE checklist_templates
            SET position = $2, title = $3, owner_role = $4, condition = $5, due_offset_days = $6
          WHERE id = $1",
    )
    .bind(id)
    .bind(position)
    .bind(&title)
    .bind(owner)
    .bind(condition)
    .bind(offset)
    .execute(&mut *tx)
    .await?;
    let mut changes = audit::Changes::default();
    changes
        .field("position", before.position, position)
        .field("title", &before.title, &title)
        .field("owner_role", before.owner_role, owner)
        .field("condition", before.condition, condition)
        .field("due_offset_days", before.due_offset_days, offset);
    let message = if changes.is_empty() {
        "Nothing changed."
    } else {
        audit::record(
            &mut tx,
            &Actor::from_ctx(&ctx),
            "checklist_template.edited",
            "checklist_template",
            Some(id.to_string()),
            json!({ "changes": changes.into_json() }),
        )
        .await?;
        "Saved: checklists made from now on follow it; those already made keep their items."
    };
    commit_and_go(tx, "/admin/checklist", message).await
}

pub(super) async fn retire(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let what = crate::web::retire::Retirement {
        table: "checklist_templates",
        label: "title",
        action: "checklist_template.retired",
        entity: "checklist_template",
        back: "/admin/checklist",
        already: "Nothing changed: that item was already retired.",
    };
    crate::web::retire::retire(&state, &ctx, id, &what, |title| {
        format!("“{title}” retired: checklists made from now on leave it out.")
    })
    .await
}

/// The role keys of the owners are real roles (kept in step with the migration's check).
pub fn owner_roles() -> Vec<Role> {
    OWNERS
        .iter()
        .filter_map(|(k, _)| Role::from_key(k))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(p: &str, t: &str, o: &str, c: &str, d: &str) -> TemplateForm {
        TemplateForm {
            position: p.into(),
            title: t.into(),
            owner_role: o.into(),
            condition: c.into(),
            due_offset_days: d.into(),
        }
    }

    #[test]
    fn owners_and_conditions_are_the_ones_the_rules_know() {
        assert_eq!(owner_roles().len(), OWNERS.len());
        for (key, _) in CONDITIONS {
            assert!(Condition::from_key(key).is_some(), "{key}");
        }
    }

    #[test]
    fn an_item_is_checked_field_by_field() {
        assert_eq!(
            check(&form(
                "15",
                "  Remove   from Slack ",
                "contractor",
                "always",
                ""
            )),
            Ok((
                15,
                "Remove from Slack".into(),
                Role::Contractor,
                Condition::Always,
                0
            ))
        );
        let e = check(&form("x", " ", "admin", "tiktok", "200")).unwrap_err();
        for f in [
            "position",
            "title",
            "owner_role",
            "condition",
            "due_offset_days",
        ] {
            assert!(e.has(f), "{f}");
        }
        assert_eq!(
            check(&form("1", "a", "ops_lead", "fluency", "-3"))
                .unwrap()
                .4,
            -3
        );
    }
}
