//! An approver away names a substitute for a date range; during it their steps go to the
//! substitute, and each decision records "on behalf of".

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::Form;
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::json;

use crate::audit::{self, Actor};
use crate::auth::roles::Role;
use crate::users::db::PersonOption;
use crate::web::AppState;
use crate::web::ctx::{Ctx, commit_and_go};
use crate::web::error::AppResult;
use crate::web::fields::FieldErrors;
use crate::web::pages::Chrome;

#[derive(Debug, sqlx::FromRow)]
pub struct Substitution {
    pub id: i64,
    pub approver_name: String,
    pub substitute_name: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub mine: bool,
}

impl Substitution {
    pub fn range(&self) -> String {
        format!(
            "{} to {}",
            crate::time::day(self.starts_on),
            crate::time::day(self.ends_on)
        )
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct SubstituteForm {
    #[serde(default)]
    substitute: String,
    #[serde(default)]
    starts_on: String,
    #[serde(default)]
    ends_on: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "approvals/substitutes.html")]
pub(super) struct SubstitutesPage {
    chrome: Chrome,
    substitutions: Vec<Substitution>,
    people: Vec<PersonOption>,
    form: SubstituteForm,
    errors: FieldErrors,
}

impl SubstitutesPage {
    fn chosen(&self, id: &i64) -> bool {
        self.form.substitute.trim() == id.to_string()
    }
}

async fn render(
    state: &AppState,
    ctx: &Ctx,
    form: SubstituteForm,
    errors: FieldErrors,
) -> AppResult<SubstitutesPage> {
    let mut conn = state.db.acquire().await?;
    let substitutions = sqlx::query_as(
        "SELECT s.id, a.display_name AS approver_name, b.display_name AS substitute_name,
                s.starts_on, s.ends_on, s.approver_id = $1 AS mine
           FROM approval_substitutes s
           JOIN users a ON a.id = s.approver_id
           JOIN users b ON b.id = s.substitute_id
          WHERE (s.approver_id = $1 OR s.substitute_id = $1)
            AND s.ended_at IS NULL AND s.ends_on >= $2
          ORDER BY s.starts_on, s.id",
    )
    .bind(ctx.user.id)
    .bind(state.clock.today())
    .fetch_all(&mut *conn)
    .await?;
    let people = crate::users::db::people_with_role(&mut conn, Role::Approver.key())
        .await?
        .into_iter()
        .filter(|p| p.id != ctx.user.id)
        .collect();
    Ok(SubstitutesPage {
        chrome: Chrome::new(state, ctx, "/substitutes"),
        substitutions,
        people,
        form,
        errors,
    })
}

pub(super) async fn page(State(state): State<AppState>, ctx: Ctx) -> AppResult<SubstitutesPage> {
    let today = state.clock.today().to_string();
    let form = SubstituteForm {
        starts_on: today.clone(),
        ends_on: today,
        ..Default::default()
    };
    render(&state, &ctx, form, FieldErrors::default()).await
}

/// The substitute and range, checked; or the messages beside each field.
pub fn check(
    form: &SubstituteForm,
    people: &[i64],
    today: NaiveDate,
) -> Result<(i64, NaiveDate, NaiveDate), FieldErrors> {
    let mut errors = FieldErrors::default();
    let substitute = form
        .substitute
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|id| people.contains(id));
    if substitute.is_none() {
        errors.add("substitute", "Choose another approver from the list.");
    }
    let date = |v: &str| NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d").ok();
    let starts = date(&form.starts_on);
    let ends = date(&form.ends_on);
    if starts.is_none() {
        errors.add("starts_on", "Give the first day away (YYYY-MM-DD).");
    }
    match (starts, ends) {
        (_, None) => errors.add("ends_on", "Give the last day away (YYYY-MM-DD)."),
        (_, Some(e)) if e < today => errors.add("ends_on", "The last day is already past."),
        (Some(s), Some(e)) if e < s => {
            errors.add("ends_on", "The last day comes before the first.")
        }
        (Some(s), Some(e)) if (e - s).num_days() > 366 => {
            errors.add("ends_on", "At most a year at a time.")
        }
        _ => {}
    }
    match (substitute, starts, ends, errors.is_empty()) {
        (Some(id), Some(s), Some(e), true) => Ok((id, s, e)),
        _ => Err(errors),
    }
}

pub(super) async fn add(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<SubstituteForm>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let people: Vec<i64> = crate::users::db::people_with_role(&mut tx, Role::Approver.key())
        .await?
        .into_iter()
        .map(|p| p.id)
        .filter(|id| *id != ctx.user.id)
        .collect();
    let (substitute, starts, ends) = match check(&form, &people, state.clock.today()) {
        Ok(v) => v,
        Err(errors) => {
            drop(tx);
            let page = render(&state, &ctx, form, errors).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    // A substitute stands in for one person, never for two steps of one request: someone
    // named on another step of the chain would decide this approver's step and then be
    // refused their own, and the request would wait on nobody.
    let sub_roles = super::db::roles_of(&mut tx, substitute).await?;
    let already_for = super::db::standing_in(&mut tx, substitute, starts, ends).await?;
    let steps = super::db::steps_beside(&mut tx, ctx.user.id).await?;
    let verdict =
        super::rules::may_stand_in(ctx.user.id, substitute, sub_roles, &already_for, &steps);
    let warning = match verdict {
        Err(refusal) => {
            drop(tx);
            let mut errors = FieldErrors::default();
            errors.add("substitute", refusal.0);
            let page = render(&state, &ctx, form, errors).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
        Ok(warning) => warning,
    };
    let id = super::db::name_substitute(&mut tx, ctx.user.id, substitute, starts, ends).await?;
    audit::record(
        &mut tx,
        &Actor::from_ctx(&ctx),
        "approval_substitute.named",
        "user",
        Some(ctx.user.id.to_string()),
        json!({ "substitution_id": id, "substitute": substitute, "starts_on": starts, "ends_on": ends }),
    )
    .await?;
    let me = &ctx.user.display_name;
    super::notify::substitute_named(&mut tx, &state.config, substitute, me, starts, ends).await?;
    let message = match warning {
        Some(w) => format!("Substitute named: your steps go to them for those days. Note: {w}"),
        None => "Substitute named: your steps go to them for those days.".to_string(),
    };
    commit_and_go(tx, "/substitutes", &message).await
}

pub(super) async fn end(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let ended = sqlx::query(
        "UPDATE approval_substitutes SET ended_at = now()
          WHERE id = $1 AND approver_id = $2 AND ended_at IS NULL",
    )
    .bind(id)
    .bind(ctx.user.id)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    let message = if ended {
        audit::record(
            &mut tx,
            &Actor::from_ctx(&ctx),
            "approval_substitute.ended",
            "user",
            Some(ctx.user.id.to_string()),
            json!({ "substitution_id": id }),
        )
        .await?;
        "Substitution ended: your steps come back to you."
    } else {
        "Nothing changed: that substitution is not yours or already ended."
    };
    commit_and_go(tx, "/substitutes", message).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(sub: &str, s: &str, e: &str) -> SubstituteForm {
        SubstituteForm {
            substitute: sub.into(),
            starts_on: s.into(),
            ends_on: e.into(),
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
    }

    #[test]
    fn a_range_of_days_for_another_approver() {
        assert_eq!(
            check(&form("7", "2026-11-25", "2026-12-02"), &[7], today()),
            Ok((
                7,
                NaiveDate::from_ymd_opt(2026, 11, 25).unwrap(),
                NaiveDate::from_ymd_opt(2026, 12, 2).unwrap()
            ))
        );
    }

    #[test]
    fn unknown_people_bad_or_backwards_dates_are_refused_beside_their_field() {
        assert!(
            check(&form("8", "2026-11-25", "2026-11-26"), &[7], today())
                .unwrap_err()
                .has("substitute")
        );
        assert!(
            check(&form("7", "x", "2026-11-26"), &[7], today())
                .unwrap_err()
                .has("starts_on")
        );
        assert!(
            check(&form("7", "2026-11-25", ""), &[7], today())
                .unwrap_err()
                .has("ends_on")
        );
        assert!(
            check(&form("7", "2026-11-26", "2026-11-25"), &[7], today())
                .unwrap_err()
                .has("ends_on")
        );
        assert!(
            check(&form("7", "2026-11-01", "2026-11-24"), &[7], today())
                .unwrap_err()
                .has("ends_on")
        );
        assert!(
            check(&form("7", "2026-11-25", "2027-12-25"), &[7], today())
                .unwrap_err()
                .has("ends_on")
        );
    }
}
