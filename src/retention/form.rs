//! The retention call form, checked into values the handler can apply.

use chrono::NaiveDate;
use serde::Deserialize;

use crate::change_requests::db::RequestRow;
use crate::change_requests::rules::Outcome;
use crate::money;
use crate::web::fields::FieldErrors;

#[derive(Clone, Debug, Default, Deserialize)]
pub struct OutcomeForm {
    #[serde(default)]
    pub call_date: String,
    #[serde(default)]
    pub offered: String,
    #[serde(default)]
    pub outcome: String,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub effective_date: String,
    #[serde(default)]
    pub resume_date: String,
    #[serde(default)]
    pub current_budget: String,
    #[serde(default)]
    pub new_budget: String,
    /// The outcome recorded when the form was opened (empty: none yet). A form opened before
    /// someone else recorded or corrected the call changes nothing.
    #[serde(default)]
    pub recorded: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed {
    pub call_date: NaiveDate,
    pub offered: String,
    pub outcome: Outcome,
    pub notes: String,
    pub effective_date: Option<NaiveDate>,
    pub resume_date: Option<NaiveDate>,
    pub current_budget_cents: Option<i64>,
    pub new_budget_cents: Option<i64>,
}

fn date(raw: &str, field: &'static str, errors: &mut FieldErrors) -> Option<NaiveDate> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            errors.add(field, "Enter a date like 2026-12-31.");
            None
        }
    }
}

pub fn parse(
    f: &OutcomeForm,
    today: NaiveDate,
    request: &RequestRow,
) -> Result<Parsed, FieldErrors> {
    let mut errors = FieldErrors::default();
    let call_date = date(&f.call_date, "call_date", &mut errors);
    match call_date {
        None if !errors.has("call_date") => errors.add("call_date", "Enter the date of the call."),
        Some(d) if d > today => errors.add("call_date", "The call cannot be in the future."),
        _ => {}
    }
    let outcome = Outcome::from_key(f.outcome.trim());
    if outcome.is_none() {
        errors.add("outcome", "Choose the outcome of the call.");
    }
    let mut text = |raw: &str, max: usize, field: &'static str| {
        crate::web::text::paragraph(raw, max).unwrap_or_else(|m| {
            errors.add(field, m);
            String::new()
        })
    };
    let offered = text(&f.offered, 2000, "offered");
    let notes = text(&f.notes, 4000, "notes");
    let mut effective_date = None;
    let mut resume_date = None;
    let (mut current, mut new) = (None, None);
    if matches!(
        outcome,
        Some(Outcome::SavedPause | Outcome::SavedBudgetChange)
    ) {
        effective_date =
            date(&f.effective_date, "effective_date", &mut errors).or(Some(request.effective_date));
    }
    if outcome == Some(Outcome::SavedPause) {
        resume_date = date(&f.resume_date, "resume_date", &mut errors);
        if let (Some(r), Some(e)) = (resume_date, effective_date)
            && r < e
        {
            errors.add(
                "resume_date",
                "The resume date cannot be before the pause starts.",
            );
        }
    }
    if outcome == Some(Outcome::SavedBudgetChange) {
        let mut budget = |raw: &str, field: &'static str, what: &str| {
            if raw.trim().is_empty() {
                errors.add(field, format!("Enter the {what} monthly budget."));
                return None;
            }
            money::parse_dollars(raw)
                .map_err(|p| errors.add(field, p.to_string()))
                .ok()
        };
        current = budget(&f.current_budget, "current_budget", "current");
        new = budget(&f.new_budget, "new_budget", "new");
        if let (Some(a), Some(b)) = (current, new)
            && a == b
        {
            errors.add(
                "new_budget",
                "The new budget is the same as the current one.",
            );
        }
    }
    match (call_date, outcome) {
        (Some(call_date), Some(outcome)) if errors.is_empty() => Ok(Parsed {
            call_date,
            offered,
            outcome,
            notes,
            effective_date,
            resume_date,
            current_budget_cents: current,
            new_budget_cents: new,
        }),
        _ => Err(errors),
    }
}
