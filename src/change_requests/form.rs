//! The change request form: what an account manager typed, checked into a request the rest of
//! the code can trust, with a message beside each field that cannot be used.

use chrono::NaiveDate;
use serde::Deserialize;

use super::rules::{CancelScope, Escalation, Kind, may_escalate};
use crate::money;
use crate::web::fields::FieldErrors;

/// Dates further than this from today are probably typos and must be confirmed.
pub const PAST_DAYS: i64 = 60;
pub const FUTURE_DAYS: i64 = 366;

#[derive(Clone, Debug, Default, Deserialize)]
pub struct RequestForm {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub cancel_scope: String,
    #[serde(default)]
    pub effective_date: String,
    #[serde(default)]
    pub resume_date: String,
    #[serde(default)]
    pub current_budget: String,
    #[serde(default)]
    pub new_budget: String,
    #[serde(default)]
    pub reason_id: String,
    #[serde(default)]
    pub reason_text: String,
    #[serde(default)]
    pub product_notes: String,
    #[serde(default)]
    pub credit: String,
    #[serde(default)]
    pub credit_reason: String,
    #[serde(default)]
    pub escalation: String,
    #[serde(default)]
    pub escalated_to: String,
    /// Ticked to keep an effective date far from today.
    #[serde(default)]
    pub confirm_date: Option<String>,
    #[serde(default)]
    pub version: i32,
}

/// A valid request's details.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Details {
    pub kind: Kind,
    pub cancel_scope: Option<CancelScope>,
    pub effective_date: NaiveDate,
    pub resume_date: Option<NaiveDate>,
    pub current_budget_cents: Option<i64>,
    pub new_budget_cents: Option<i64>,
    pub reason_id: i64,
    pub reason_text: String,
    pub product_notes: String,
    pub credit_cents: Option<i64>,
    pub credit_reason: Option<String>,
    pub escalation: Escalation,
    pub escalated_to: Option<i64>,
}

/// A request's terms: what a signed document and a reinstatement are bound to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Terms {
    pub kind: Kind,
    pub cancel_scope: Option<CancelScope>,
    pub effective_date: NaiveDate,
    pub resume_date: Option<NaiveDate>,
    pub current_budget_cents: Option<i64>,
    pub new_budget_cents: Option<i64>,
}

impl Details {
    pub fn terms(&self) -> Terms {
        Terms {
            kind: self.kind,
            cancel_scope: self.cancel_scope,
            effective_date: self.effective_date,
            resume_date: self.resume_date,
            current_budget_cents: self.current_budget_cents,
            new_budget_cents: self.new_budget_cents,
        }
    }
}

/// What the stored request has settled, that an edit may not overturn.
#[derive(Clone, Copy, Debug)]
pub struct Settled {
    pub terms: Terms,
    /// Filed with an escalation to Retention, and not converted since.
    pub with_retention_as_filed: bool,
    /// The request this one reinstates, if it is a reinstatement.
    pub reinstates: Option<i64>,
    /// Retention recorded the call: its outcome decided the kind.
    pub call_recorded: bool,
}

/// An edit's details checked against what is settled: a request escalated to Retention
/// becomes an addendum only through the call's outcome, a reinstatement keeps its original's
/// terms, and a recorded call decided the kind.
pub fn check_edit(settled: Settled, edit: Terms) -> Result<(), FieldErrors> {
    let mut errors = FieldErrors::default();
    let before = settled.terms;
    if edit.kind == Kind::Addendum && settled.with_retention_as_filed {
        errors.add("kind", "A request escalated to Retention becomes an addendum through the retention outcome, not by editing.");
        return Err(errors);
    }
    if let Some(original) = settled.reinstates {
        let fixed = [
            ("kind", edit.kind == before.kind),
            (
                "effective_date",
                edit.effective_date == before.effective_date,
            ),
            ("resume_date", edit.resume_date == before.resume_date),
            (
                "current_budget",
                edit.current_budget_cents == before.current_budget_cents,
            ),
            (
                "new_budget",
                edit.new_budget_cents == before.new_budget_cents,
            ),
            ("cancel_scope", edit.cancel_scope == before.cancel_scope),
        ];
        for (field, _) in fixed.into_iter().filter(|(_, same)| !same) {
            errors.add(
                field,
                format!("A reinstatement undoes request #{original} as it stands: this is the original's and cannot be changed here."),
            );
        }
        if !errors.is_empty() {
            return Err(errors);
        }
    }
    if settled.call_recorded && edit.kind != before.kind {
        errors.add(
            "kind",
            format!(
                "The retention call decided this request is a {}. To change that, Retention corrects the call's outcome.",
                before.kind.label().to_lowercase()
            ),
        );
        return Err(errors);
    }
    Ok(())
}

/// What the form may refer to.
pub struct Choices<'a> {
    pub today: NaiveDate,
    pub reasons: &'a [i64],
    pub team_leads: &'a [i64],
    pub department_managers: &'a [i64],
    /// When editing, the escalation is fixed: it was acted on at filing.
    pub fixed_escalation: Option<(Escalation, Option<i64>)>,
}

fn date(raw: &str) -> Result<Option<NaiveDate>, &'static str> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| "Enter a date like 2026-12-31.")
}

fn text(raw: &str, max: usize, field: &'static str, errors: &mut FieldErrors) -> String {
    crate::web::text::paragraph(raw, max).unwrap_or_else(|message| {
        errors.add(field, message);
        raw.trim().to_string()
    })
}

pub fn parse(form: &RequestForm, c: &Choices<'_>) -> Result<Details, FieldErrors> {
    let mut errors = FieldErrors::default();
    let kind = Kind::from_key(form.kind.trim());
    if kind.is_none() {
        errors.add("kind", "Choose what the client wants.");
    }
    let cancel_scope = match (kind, CancelScope::from_key(form.cancel_scope.trim())) {
        (Some(Kind::Cancellation), Some(scope)) => Some(scope),
        (Some(Kind::Cancellation), None) => {
            errors.add(
                "cancel_scope",
                "Choose whether the client cancels services only or leaves the platform.",
            );
            None
        }
        _ => None,
    };
    let effective = match date(&form.effective_date) {
        Ok(Some(d)) => Some(d),
        Ok(None) => {
            errors.add("effective_date", "Enter the effective date.");
            None
        }
        Err(m) => {
            errors.add("effective_date", m);
            None
        }
    };
    if let Some(d) = effective {
        let days = (d - c.today).num_days();
        if !(-PAST_DAYS..=FUTURE_DAYS).contains(&days) && form.confirm_date.is_none() {
            errors.add(
                "effective_date",
                format!(
                    "{} is {} days {} today. If that is right, tick \"the date is right\" and save again.",
                    d.format("%B %-d, %Y"),
                    days.abs(),
                    if days < 0 { "before" } else { "after" }
                ),
            );
        }
    }
    let resume = if kind == Some(Kind::Pause) {
        match date(&form.resume_date) {
            Ok(r) => {
                if let (Some(r), Some(e)) = (r, effective)
                    && r < e
                {
                    errors.add(
                        "resume_date",
                        "The resume date cannot be before the effective date.",
                    );
                }
                r
            }
            Err(m) => {
                errors.add("resume_date", m);
                None
            }
        }
    } else {
        None
    };
    let (current, new) = if kind == Some(Kind::Addendum) {
        let mut budget = |raw: &str, field: &'static str, what: &str| {
            if raw.trim().is_empty() {
                errors.add(field, format!("Enter the {what} monthly budget."));
                return None;
            }
            money::parse_dollars(raw)
                .map_err(|p| errors.add(field, p.to_string()))
                .ok()
        };
        let current = budget(&form.current_budget, "current_budget", "current");
        let new = budget(&form.new_budget, "new_budget", "new");
        if let (Some(a), Some(b)) = (current, new)
            && a == b
        {
            errors.add(
                "new_budget",
                "The new budget is the same as the current one.",
            );
        }
        (current, new)
    } else {
        (None, None)
    };
    let reason_id = form
        .reason_id
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|id| c.reasons.contains(id));
    if reason_id.is_none() {
        errors.add("reason_id", "Choose the client's reason from the list.");
    }
    let reason_text = text(&form.reason_text, 4000, "reason_text", &mut errors);
    let product_notes = text(&form.product_notes, 8000, "product_notes", &mut errors);
    let (credit_cents, credit_reason) = if form.credit.trim().is_empty() {
        if !form.credit_reason.trim().is_empty() {
            errors.add("credit", "Enter the credit's amount, or clear its reason.");
        }
        (None, None)
    } else {
        match money::parse_dollars(&form.credit) {
            Ok(0) => {
                errors.add(
                    "credit",
                    "A credit is more than $0.00; leave it empty for none.",
                );
                (None, None)
            }
            Ok(cents) if cents > 5_000_000 => {
                errors.add("credit", "A credit above $50,000.00 is surely a typo.");
                (None, None)
            }
            Ok(cents) => {
                let why = text(&form.credit_reason, 2000, "credit_reason", &mut errors);
                if why.is_empty() {
                    errors.add("credit_reason", "Say why the credit is issued.");
                }
                (Some(cents), Some(why))
            }
            Err(p) => {
                errors.add("credit", p.to_string());
                (None, None)
            }
        }
    };
    let (escalation, escalated_to) = match c.fixed_escalation {
        Some(fixed) => fixed,
        None => {
            let escalation = Escalation::from_key(form.escalation.trim());
            let escalation = match escalation {
                None => {
                    errors.add("escalation", "Choose where to escalate, or no escalation.");
                    Escalation::None
                }
                Some(e) => {
                    if let Some(k) = kind
                        && let Err(r) = may_escalate(k, e)
                    {
                        errors.add("escalation", r.0);
                    }
                    e
                }
            };
            let person = match escalation {
                Escalation::TeamLead | Escalation::DepartmentManager => {
                    let allowed = if escalation == Escalation::TeamLead {
                        c.team_leads
                    } else {
                        c.department_managers
                    };
                    let id = form
                        .escalated_to
                        .trim()
                        .parse::<i64>()
                        .ok()
                        .filter(|id| allowed.contains(id));
                    if id.is_none() {
                        errors.add("escalated_to", "Choose who to escalate to.");
                    }
                    id
                }
                _ => None,
            };
            (escalation, person)
        }
    };
    match (kind, effective, reason_id) {
        (Some(kind), Some(effective_date), Some(reason_id)) if errors.is_empty() => Ok(Details {
            kind,
            cancel_scope,
            effective_date,
            resume_date: resume,
            current_budget_cents: current,
            new_budget_cents: new,
            reason_id,
            reason_text,
            product_notes,
            credit_cents,
            credit_reason,
            escalation,
            escalated_to,
        }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
    }

    fn choices() -> Choices<'static> {
        Choices {
            today: today(),
            reasons: &[1, 2],
            team_leads: &[10],
            department_managers: &[20],
            fixed_escalation: None,
        }
    }

    fn cancellation() -> RequestForm {
        RequestForm {
            kind: "cancellation".into(),
            cancel_scope: "leave_platform".into(),
            effective_date: "2026-12-31".into(),
            reason_id: "1".into(),
            escalation: "retention".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_cancellation_escalated_to_retention_parses() {
        let d = parse(&cancellation(), &choices()).unwrap();
        assert_eq!(d.kind, Kind::Cancellation);
        assert_eq!(d.cancel_scope, Some(CancelScope::LeavePlatform));
        assert_eq!(d.escalation, Escalation::Retention);
        assert_eq!(
            d.effective_date,
            NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()
        );
        assert_eq!(
            (d.credit_cents, d.resume_date, d.new_budget_cents),
            (None, None, None)
        );
    }

    #[test]
    fn a_missing_or_malformed_effective_date_is_refused() {
        for raw in ["", "31/12/2026", "2026-02-30", "tomorrow"] {
            let f = RequestForm {
                effective_date: raw.into(),
                ..cancellation()
            };
            assert!(
                parse(&f, &choices()).unwrap_err().has("effective_date"),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn a_date_far_from_today_must_be_confirmed() {
        for raw in ["2026-09-01", "2028-01-01"] {
            let f = RequestForm {
                effective_date: raw.into(),
                ..cancellation()
            };
            let e = parse(&f, &choices()).unwrap_err();
            assert!(e.msg("effective_date").contains("tick"), "{raw}");
            let confirmed = RequestForm {
                confirm_date: Some("yes".into()),
                ..f
            };
            assert!(parse(&confirmed, &choices()).is_ok(), "{raw} confirmed");
        }
        // Within the window: no question asked.
        for raw in ["2026-10-01", "2027-11-25"] {
            let f = RequestForm {
                effective_date: raw.into(),
                ..cancellation()
            };
            assert!(parse(&f, &choices()).is_ok(), "{raw}");
        }
    }

    #[test]
    fn a_pause_resumes_on_or_after_its_effective_date() {
        let pause = RequestForm {
            kind: "pause".into(),
            resume_date: "2026-12-01".into(),
            ..cancellation()
        };
        assert!(parse(&pause, &choices()).unwrap_err().has("resume_date"));
        let ok = RequestForm {
            resume_date: "2027-03-01".into(),
            ..pause.clone()
        };
        assert_eq!(
            parse(&ok, &choices()).unwrap().resume_date,
            NaiveDate::from_ymd_opt(2027, 3, 1)
        );
        let unknown = RequestForm {
            resume_date: "".into(),
            ..pause
        };
        assert_eq!(parse(&unknown, &choices()).unwrap().resume_date, None);
    }

    #[test]
    fn an_addendum_needs_two_different_budgets_and_no_retention() {
        let addendum = RequestForm {
            kind: "addendum".into(),
            cancel_scope: "".into(),
            current_budget: "4,500".into(),
            new_budget: "4500.00".into(),
            escalation: "retention".into(),
            ..cancellation()
        };
        let e = parse(&addendum, &choices()).unwrap_err();
        assert!(e.has("new_budget") && e.has("escalation"));
        let ok = RequestForm {
            new_budget: "3,000".into(),
            escalation: "none".into(),
            ..addendum
        };
        let d = parse(&ok, &choices()).unwrap();
        assert_eq!(
            (d.current_budget_cents, d.new_budget_cents, d.cancel_scope),
            (Some(450_000), Some(300_000), None)
        );
    }

    #[test]
    fn a_credit_needs_a_sane_amount_and_a_reason() {
        for (credit, why, field) in [
            ("-5", "x", "credit"),
            ("0", "x", "credit"),
            ("60000", "x", "credit"),
            ("abc", "x", "credit"),
            ("250", "", "credit_reason"),
            ("", "why", "credit"),
        ] {
            let f = RequestForm {
                credit: credit.into(),
                credit_reason: why.into(),
                ..cancellation()
            };
            assert!(
                parse(&f, &choices()).unwrap_err().has(field),
                "{credit:?} {why:?}"
            );
        }
        let f = RequestForm {
            credit: "$250.00".into(),
            credit_reason: "Missed a week of ads".into(),
            ..cancellation()
        };
        let d = parse(&f, &choices()).unwrap();
        assert_eq!(d.credit_cents, Some(25_000));
    }

    #[test]
    fn escalating_to_a_person_needs_someone_holding_that_role() {
        let f = RequestForm {
            escalation: "team_lead".into(),
            escalated_to: "20".into(),
            ..cancellation()
        };
        assert!(parse(&f, &choices()).unwrap_err().has("escalated_to"));
        let f = RequestForm {
            escalated_to: "10".into(),
            ..f
        };
        assert_eq!(parse(&f, &choices()).unwrap().escalated_to, Some(10));
        let f = RequestForm {
            escalation: "department_manager".into(),
            escalated_to: "20".into(),
            ..cancellation()
        };
        assert_eq!(parse(&f, &choices()).unwrap().escalated_to, Some(20));
        let f = RequestForm {
            escalation: "sideways".into(),
            ..cancellation()
        };
        assert!(parse(&f, &choices()).unwrap_err().has("escalation"));
    }

    #[test]
    fn unknown_kinds_scopes_and_reasons_are_refused() {
        let f = RequestForm {
            kind: "refund".into(),
            ..cancellation()
        };
        assert!(parse(&f, &choices()).unwrap_err().has("kind"));
        let f = RequestForm {
            cancel_scope: "".into(),
            ..cancellation()
        };
        assert!(parse(&f, &choices()).unwrap_err().has("cancel_scope"));
        let f = RequestForm {
            reason_id: "3".into(),
            ..cancellation()
        };
        assert!(parse(&f, &choices()).unwrap_err().has("reason_id"));
    }

    fn settled(kind: Kind) -> Settled {
        let day = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
        Settled {
            terms: Terms {
                kind,
                cancel_scope: None,
                effective_date: day,
                resume_date: None,
                current_budget_cents: None,
                new_budget_cents: None,
            },
            with_retention_as_filed: false,
            reinstates: None,
            call_recorded: false,
        }
    }

    #[test]
    fn an_edit_keeps_what_the_request_settled() {
        let pause = settled(Kind::Pause);
        let later = Terms {
            effective_date: pause.terms.effective_date + chrono::Duration::days(7),
            ..pause.terms
        };
        let addendum = Terms {
            kind: Kind::Addendum,
            ..pause.terms
        };
        // Nothing settled: any terms go.
        assert!(check_edit(pause, later).is_ok());
        assert!(check_edit(pause, addendum).is_ok());
        // Escalated to Retention as filed: not an addendum by editing, other changes go.
        let retention = Settled {
            with_retention_as_filed: true,
            ..pause
        };
        assert!(check_edit(retention, addendum).unwrap_err().has("kind"));
        assert!(check_edit(retention, later).is_ok());
        // A reinstatement: its terms are its original's, each named beside its field.
        let reinstatement = Settled {
            reinstates: Some(7),
            ..pause
        };
        let e = check_edit(reinstatement, later).unwrap_err();
        assert!(e.has("effective_date") && !e.has("kind"));
        assert!(e.msg("effective_date").contains("#7"));
        assert!(check_edit(reinstatement, pause.terms).is_ok());
        // A recorded call decided the kind; the date may still move.
        let called = Settled {
            call_recorded: true,
            ..pause
        };
        assert!(
            check_edit(called, addendum)
                .unwrap_err()
                .msg("kind")
                .contains("pause")
        );
        assert!(check_edit(called, later).is_ok());
    }
}
