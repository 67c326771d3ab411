//! What each figure on the Reports page means, and the arithmetic done on the sums the database
//! returns. The per-request money (the budget at risk, lost and saved) is written once, in the
//! `request_figures` view (migration 20): see [`Tiles`] for its definitions.

use chrono::{Datelike, Months, NaiveDate};

/// The days a report covers, both ends included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// The longest period a report covers (so one request cannot ask the server for decades).
const MAX_DAYS: i64 = 5 * 366;

impl Period {
    /// The last twelve months: from the first of the month eleven months ago to today.
    pub fn last_twelve_months(today: NaiveDate) -> Self {
        let first = first_of_month(today) - Months::new(11);
        Period {
            from: first,
            to: today,
        }
    }

    /// This month so far.
    pub fn this_month(today: NaiveDate) -> Self {
        Period {
            from: first_of_month(today),
            to: today,
        }
    }

    /// The whole of last month.
    pub fn last_month(today: NaiveDate) -> Self {
        let first = first_of_month(today) - Months::new(1);
        Period {
            from: first,
            to: first_of_month(today)
                .pred_opt()
                .expect("a day before the first"),
        }
    }

    /// This quarter so far.
    pub fn this_quarter(today: NaiveDate) -> Self {
        Period {
            from: first_of_quarter(today),
            to: today,
        }
    }

    /// The whole of last quarter.
    pub fn last_quarter(today: NaiveDate) -> Self {
        let this = first_of_quarter(today);
        Period {
            from: this - Months::new(3),
            to: this.pred_opt().expect("a day before the first"),
        }
    }

    /// The period typed in the filter (`YYYY-MM-DD`): both days; a first day alone runs to
    /// today, a last day alone is the twelve months up to it; neither is this month and the
    /// eleven before. A last day after today is today (nothing is filed in the future).
    /// Otherwise each field that is wrong (`from`, `to`) and why, for the person.
    pub fn parse(
        from: &str,
        to: &str,
        today: NaiveDate,
    ) -> Result<Self, Vec<(&'static str, String)>> {
        let (from, to) = (from.trim(), to.trim());
        // Years the desk could have data for: anything else is a typing slip ("26-12-01"), or a
        // year the database cannot hold.
        let day = |s: &str, field: &'static str, which: &str| match s {
            "" => Ok(None),
            typed => match NaiveDate::parse_from_str(typed, "%Y-%m-%d") {
                Err(_) => Err((
                    field,
                    format!("Enter the {which} day as a date (YYYY-MM-DD)."),
                )),
                Ok(d) if !(2000..=2100).contains(&d.year()) => Err((
                    field,
                    format!("Choose a {which} day from the year 2000 on."),
                )),
                Ok(d) => Ok(Some(d)),
            },
        };
        let (from, to) = match (day(from, "from", "first"), day(to, "to", "last")) {
            (Ok(from), Ok(to)) => (from, to.map(|to| to.min(today))),
            (from, to) => return Err([from.err(), to.err()].into_iter().flatten().collect()),
        };
        let one = |field: &'static str, message: &str| Err(vec![(field, message.to_string())]);
        let (from, to) = match (from, to) {
            (None, None) => return Ok(Self::last_twelve_months(today)),
            (None, Some(to)) => (Self::last_twelve_months(to).from, to),
            (Some(from), to) => (from, to.unwrap_or(today)),
        };
        if from > today {
            return one("from", "The first day is after today.");
        }
        if to < from {
            return one("to", "The last day comes before the first.");
        }
        if (to - from).num_days() > MAX_DAYS {
            return one("from", "Choose a period of five years or less.");
        }
        Ok(Period { from, to })
    }

    /// The month starting on `month` as a table names it: "Dec 2026", and the days the period
    /// holds of it when not the whole month ("Dec 2026 (to Dec 2)", "Jan 2026 (from Jan 15)").
    pub fn month_label(&self, month: NaiveDate) -> String {
        let name = month.format("%b %Y").to_string();
        let last = last_of_month(month);
        let short = |d: NaiveDate| d.format("%b %-d").to_string();
        match (self.from > month, self.to < last) {
            (false, false) => name,
            (true, false) => format!("{name} (from {})", short(self.from)),
            (false, true) => format!("{name} (to {})", short(self.to)),
            (true, true) => format!("{name} ({} to {})", short(self.from), short(self.to)),
        }
    }

    /// The first day of each month the period touches, in order.
    pub fn months(&self) -> Vec<NaiveDate> {
        let mut months = Vec::new();
        let mut month = first_of_month(self.from);
        while month <= self.to {
            months.push(month);
            month = month + Months::new(1);
        }
        months
    }
}

/// The last day of the month starting on `month`.
pub fn last_of_month(month: NaiveDate) -> NaiveDate {
    (month + Months::new(1)).pred_opt().unwrap_or(month)
}

fn first_of_month(d: NaiveDate) -> NaiveDate {
    d.with_day(1).expect("every month has a first")
}

fn first_of_quarter(d: NaiveDate) -> NaiveDate {
    let month = (d.month0() / 3) * 3 + 1;
    NaiveDate::from_ymd_opt(d.year(), month, 1).expect("a quarter starts on a real day")
}

/// `part / whole` as a share, when there is a whole.
pub fn rate(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// A share as people read it: "62%", or "—" when there is nothing to divide.
pub fn percent(share: Option<f64>) -> String {
    share.map_or_else(|| "—".to_string(), |s| format!("{:.0}%", s * 100.0))
}

/// The period's headline figures, summed by the database over `request_figures`.
#[derive(Clone, Debug, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct Tiles {
    /// Requests filed in the period (a reinstatement is not counted: it brings a client back).
    pub filed: i64,
    /// Of those, escalated to Retention (a save attempt was opened).
    pub escalated: i64,
    /// Save attempts whose call is recorded.
    pub attempts_closed: i64,
    /// Of those, each kind of save.
    pub saved_no_change: i64,
    pub saved_pause: i64,
    pub saved_budget_change: i64,
    /// Requests decided (approved, completed or withdrawn): their budget is counted.
    pub decided: i64,
    /// What the decided requests put at risk, in cents: a cancellation the client's whole
    /// monthly budget when filed, a budget cut the reduction, a pause the budget times its
    /// months.
    pub at_risk_cents: i64,
    /// What they lost: nothing when withdrawn or later reinstated, nor for a cancellation saved
    /// with a pause (the client stays); otherwise what the final terms take away (a $2,000
    /// cancellation saved at $1,200 loses $800), never more than at risk.
    pub lost_cents: i64,
}

impl Tiles {
    /// Saves of every kind.
    pub fn saves(&self) -> i64 {
        self.saved_no_change + self.saved_pause + self.saved_budget_change
    }

    /// Saved = at risk − lost (a $2,000 cancellation saved at $1,200 saves $1,200).
    pub fn saved_cents(&self) -> i64 {
        self.at_risk_cents - self.lost_cents
    }

    /// Escalated to Retention over filed.
    pub fn escalation_rate(&self) -> Option<f64> {
        rate(self.escalated, self.filed)
    }

    /// The save rate: saves over closed save attempts (counted by requests, not money).
    pub fn save_rate(&self) -> Option<f64> {
        rate(self.saves(), self.attempts_closed)
    }

    /// The revenue save rate: budget saved over budget at risk.
    pub fn revenue_save_rate(&self) -> Option<f64> {
        rate(self.saved_cents(), self.at_risk_cents)
    }
}

/// One month's outcomes, for the stacked bars and the trend.
#[derive(Clone, Debug, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct MonthOutcomes {
    pub month: NaiveDate,
    pub filed: i64,
    pub saved_no_change: i64,
    pub saved_pause: i64,
    pub saved_budget_change: i64,
    pub not_saved: i64,
    /// Filed without going to Retention.
    pub not_escalated: i64,
    /// Escalated, the call not yet recorded, the request still open.
    pub waiting: i64,
    /// Escalated and withdrawn before the call was recorded.
    pub withdrawn_early: i64,
    pub at_risk_cents: i64,
    pub lost_cents: i64,
}

impl MonthOutcomes {
    /// Saves of the month's closed save attempts, as `Tiles::save_rate`.
    pub fn save_rate(&self) -> Option<f64> {
        let closed = self.saved_no_change + self.saved_pause + self.saved_budget_change;
        rate(closed, closed + self.not_saved)
    }

    /// Sent to Retention: every request of the month but those that were not.
    pub fn escalated(&self) -> i64 {
        self.filed - self.not_escalated
    }

    /// Saved = at risk − lost, as `Tiles::saved_cents`.
    pub fn saved_cents(&self) -> i64 {
        self.at_risk_cents - self.lost_cents
    }

    /// Budget saved over budget at risk, as `Tiles::revenue_save_rate`.
    pub fn revenue_save_rate(&self) -> Option<f64> {
        rate(self.saved_cents(), self.at_risk_cents)
    }
}

/// The months of `period`, each with its outcomes (a month with nothing filed reads zero).
pub fn every_month(period: Period, found: Vec<MonthOutcomes>) -> Vec<MonthOutcomes> {
    period
        .months()
        .into_iter()
        .map(|month| {
            found
                .iter()
                .find(|m| m.month == month)
                .cloned()
                .unwrap_or(MonthOutcomes {
                    month,
                    ..Default::default()
                })
        })
        .collect()
}

/// A reason's requests and what they put at risk.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ReasonLine {
    pub reason_id: i64,
    pub label: String,
    pub controllable: bool,
    pub filed: i64,
    pub at_risk_cents: i64,
    pub attempts_closed: i64,
    pub saves: i64,
}

impl ReasonLine {
    pub fn save_rate(&self) -> Option<f64> {
        rate(self.saves, self.attempts_closed)
    }
}

/// The reasons Retention can act on, added up as one line (its save rate is the save rate on
/// controllable reasons only).
pub fn controllable_total(reasons: &[ReasonLine]) -> ReasonLine {
    reasons.iter().filter(|r| r.controllable).fold(
        ReasonLine {
            reason_id: 0,
            label: "Every reason Retention can act on".into(),
            controllable: true,
            filed: 0,
            at_risk_cents: 0,
            attempts_closed: 0,
            saves: 0,
        },
        |t, r| ReasonLine {
            filed: t.filed + r.filed,
            at_risk_cents: t.at_risk_cents + r.at_risk_cents,
            attempts_closed: t.attempts_closed + r.attempts_closed,
            saves: t.saves + r.saves,
            ..t
        },
    )
}

/// The save rate on reasons Retention can act on only.
pub fn controllable_save_rate(reasons: &[ReasonLine]) -> Option<f64> {
    controllable_total(reasons).save_rate()
}

/// Fewer requests than this and a person's figures are too few to compare.
pub const FEW: i64 = 5;

/// One person's line on a leaderboard.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Leader {
    pub person_id: i64,
    pub name: String,
    pub filed: i64,
    pub attempts_closed: i64,
    pub saves: i64,
    pub saved_cents: i64,
}

impl Leader {
    pub fn save_rate(&self) -> Option<f64> {
        rate(self.saves, self.attempts_closed)
    }

    /// Too few requests to compare with the others (shown greyed, and said).
    pub fn too_few(&self) -> bool {
        self.filed < FEW
    }

    /// Too few recorded calls for the save rate to compare, whatever was filed (the rate's
    /// cell alone is greyed).
    pub fn too_few_calls(&self) -> bool {
        self.attempts_closed < FEW
    }
}

/// How long something waited: the median and the 90th percentile, in hours, over `n` cases,
/// `late` of them past their mark.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct Wait {
    pub what: String,
    pub n: i64,
    /// Cases still waiting now (approval steps whose turn it is); None where not counted.
    pub waiting: Option<i64>,
    pub median_hours: Option<f64>,
    pub p90_hours: Option<f64>,
    /// None where lateness has no mark to be measured against (filed → approved, say).
    pub late: Option<i64>,
}

/// A request slow to approve.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct Slow {
    pub request_id: i64,
    pub client_name: String,
    /// From filing to approval, or to now while it is still on its way.
    pub hours: f64,
    /// The state it waits in, when not approved yet.
    pub waiting_in: Option<crate::change_requests::rules::State>,
}

/// A span of hours as people say it: "45 min", "5.5 h", "3.2 days"; negative spans (done
/// before the mark) read "early".
pub fn duration(hours: Option<f64>) -> String {
    match hours {
        None => "—".into(),
        Some(h) if h < 0.0 => format!("{} early", duration(Some(-h))),
        Some(h) if h < 1.0 => format!("{:.0} min", h * 60.0),
        Some(h) if h < 48.0 => format!("{h:.1} h"),
        Some(h) => format!("{:.1} days", h / 24.0),
    }
}

/// Of the saves made at least `days` ago, how many clients stayed that long.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Lasting {
    pub days: i64,
    pub saves: i64,
    pub still_active: i64,
}

impl Lasting {
    pub fn rate(&self) -> Option<f64> {
        rate(self.still_active, self.saves)
    }
}

/// One cell of the cohort table: of the saves made in `month`, how many clients were still
/// with the agency `months_since` months later.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct CohortCell {
    pub month: NaiveDate,
    pub months_since: i64,
    pub saves: i64,
    pub still_active: i64,
}

/// A row of the cohort table: the month saves were made, and the share still active for each
/// month since (None where that month has not come yet).
#[derive(Clone, Debug, PartialEq)]
pub struct CohortRow {
    pub month: NaiveDate,
    pub saves: i64,
    pub shares: Vec<Option<f64>>,
}

/// How many months since a save the cohort table follows.
pub const COHORT_MONTHS: i64 = 6;

/// The cohort cells as rows, a column per month since.
pub fn cohort_rows(cells: &[CohortCell]) -> Vec<CohortRow> {
    let mut rows: Vec<CohortRow> = Vec::new();
    for cell in cells {
        if rows.last().is_none_or(|r| r.month != cell.month) {
            rows.push(CohortRow {
                month: cell.month,
                saves: 0,
                shares: vec![None; COHORT_MONTHS as usize],
            });
        }
        let row = rows.last_mut().expect("pushed above");
        row.saves = row.saves.max(cell.saves);
        if (1..=COHORT_MONTHS).contains(&cell.months_since) {
            row.shares[(cell.months_since - 1) as usize] = rate(cell.still_active, cell.saves);
        }
    }
    rows
}

/// The shade of a cohort cell (0 to 4, darker the more clients stayed), for its CSS class.
pub fn shade(share: Option<f64>) -> u8 {
    match share {
        None => 0,
        Some(s) if s >= 0.9 => 4,
        Some(s) if s >= 0.75 => 3,
        Some(s) if s >= 0.5 => 2,
        Some(_) => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_presets_cover_the_months_and_quarters_people_mean() {
        let today = d("2026-12-01");
        assert_eq!(
            Period::last_twelve_months(today),
            Period {
                from: d("2026-01-01"),
                to: today
            }
        );
        assert_eq!(
            Period::this_month(today),
            Period {
                from: today,
                to: today
            }
        );
        assert_eq!(
            Period::last_month(today),
            Period {
                from: d("2026-11-01"),
                to: d("2026-11-30")
            }
        );
        assert_eq!(
            Period::this_quarter(today),
            Period {
                from: d("2026-10-01"),
                to: today
            }
        );
        assert_eq!(
            Period::last_quarter(today),
            Period {
                from: d("2026-07-01"),
                to: d("2026-09-30")
            }
        );
        assert_eq!(
            Period::last_quarter(d("2026-02-14")),
            Period {
                from: d("2025-10-01"),
                to: d("2025-12-31")
            }
        );
    }

    #[test]
    fn a_typed_period_is_checked() {
        let today = d("2026-12-01");
        assert_eq!(
            Period::parse("", "", today),
            Ok(Period::last_twelve_months(today))
        );
        assert_eq!(
            Period::parse("2026-10-01", "", today),
            Ok(Period {
                from: d("2026-10-01"),
                to: today
            })
        );
        assert_eq!(
            Period::parse(" 2026-10-01 ", "2026-10-31", today),
            Ok(Period {
                from: d("2026-10-01"),
                to: d("2026-10-31")
            })
        );
        // A last day alone: the twelve months up to it; after today: today.
        assert_eq!(
            Period::parse("", "2026-10-31", today),
            Ok(Period {
                from: d("2025-11-01"),
                to: d("2026-10-31")
            })
        );
        assert_eq!(
            Period::parse("2026-11-01", "2030-01-01", today),
            Ok(Period {
                from: d("2026-11-01"),
                to: today
            })
        );
        // Each slip is said about its own field.
        for (from, to, field) in [
            ("2026-13-01", "", "from"),
            ("yesterday", "", "from"),
            ("", "2026-13-45", "to"),
            ("2026-10-01", "31/10/2026", "to"),
            ("26-12-01", "", "from"),
            ("0001-01-01", "", "from"),
            ("2026-10-01", "-5000-01-05", "to"),
            ("2026-10-01", "+262143-01-01", "to"),
            ("2027-01-01", "", "from"),
            ("2020-01-01", "2026-10-01", "from"),
        ] {
            assert_eq!(
                Period::parse(from, to, today).map_err(|e| e.last().unwrap().0),
                Err(field),
                "{from:?}..{to:?}"
            );
        }
        assert_eq!(
            Period::parse("0001-01-01", "", today),
            Err(vec![(
                "from",
                "Choose a first day from the year 2000 on.".into()
            )])
        );
        assert_eq!(
            Period::parse("2026-10-31", "2026-10-01", today),
            Err(vec![("to", "The last day comes before the first.".into())])
        );
        // Both days wrong: both said.
        let both = Period::parse("yesterday", "-5000-01-05", today).unwrap_err();
        assert_eq!(both.iter().map(|e| e.0).collect::<Vec<_>>(), ["from", "to"]);
    }

    #[test]
    fn a_month_the_period_holds_only_part_of_says_which_days() {
        let p = Period {
            from: d("2026-01-15"),
            to: d("2026-12-02"),
        };
        assert_eq!(p.month_label(d("2026-01-01")), "Jan 2026 (from Jan 15)");
        assert_eq!(p.month_label(d("2026-06-01")), "Jun 2026");
        assert_eq!(p.month_label(d("2026-12-01")), "Dec 2026 (to Dec 2)");
        let inside = Period {
            from: d("2026-02-03"),
            to: d("2026-02-28"),
        };
        assert_eq!(inside.month_label(d("2026-02-01")), "Feb 2026 (from Feb 3)");
        let days = Period {
            from: d("2026-02-03"),
            to: d("2026-02-10"),
        };
        assert_eq!(
            days.month_label(d("2026-02-01")),
            "Feb 2026 (Feb 3 to Feb 10)"
        );
    }

    #[test]
    fn months_run_from_the_first_month_to_the_last_inclusive() {
        let p = Period {
            from: d("2026-10-15"),
            to: d("2026-12-01"),
        };
        assert_eq!(
            p.months(),
            vec![d("2026-10-01"), d("2026-11-01"), d("2026-12-01")]
        );
        let p = Period {
            from: d("2026-12-01"),
            to: d("2026-12-01"),
        };
        assert_eq!(p.months(), vec![d("2026-12-01")]);
    }

    #[test]
    fn rates_divide_only_when_there_is_something_to_divide() {
        assert_eq!(rate(1, 4), Some(0.25));
        assert_eq!(rate(0, 0), None);
        assert_eq!(percent(rate(2, 3)), "67%");
        assert_eq!(percent(None), "—");
    }

    #[test]
    fn a_cancellation_saved_at_a_lower_budget_saves_the_new_budget_and_loses_the_cut() {
        // $2,000 at risk, saved at $1,200: $800 lost, $1,200 saved.
        let tiles = Tiles {
            filed: 1,
            escalated: 1,
            attempts_closed: 1,
            saved_budget_change: 1,
            decided: 1,
            at_risk_cents: 200_000,
            lost_cents: 80_000,
            ..Default::default()
        };
        assert_eq!(tiles.saved_cents(), 120_000);
        assert_eq!(tiles.save_rate(), Some(1.0));
        assert_eq!(tiles.revenue_save_rate(), Some(0.6));
        assert_eq!(tiles.escalation_rate(), Some(1.0));
    }

    #[test]
    fn the_save_rate_counts_saves_over_closed_attempts_in_three_parts() {
        let tiles = Tiles {
            filed: 10,
            escalated: 8,
            attempts_closed: 6,
            saved_no_change: 1,
            saved_pause: 1,
            saved_budget_change: 1,
            ..Default::default()
        };
        assert_eq!(tiles.saves(), 3);
        assert_eq!(tiles.save_rate(), Some(0.5));
        assert_eq!(tiles.escalation_rate(), Some(0.8));
        assert_eq!(tiles.revenue_save_rate(), None);
    }

    #[test]
    fn every_month_of_the_period_has_a_line_even_when_nothing_was_filed() {
        let p = Period {
            from: d("2026-10-01"),
            to: d("2026-12-01"),
        };
        let nov = MonthOutcomes {
            month: d("2026-11-01"),
            filed: 2,
            not_saved: 1,
            saved_pause: 1,
            ..Default::default()
        };
        let months = every_month(p, vec![nov.clone()]);
        assert_eq!(months.len(), 3);
        assert_eq!(months[1], nov);
        assert_eq!(months[0].filed, 0);
        assert_eq!(months[1].save_rate(), Some(0.5));
        assert_eq!(months[0].save_rate(), None);
    }

    #[test]
    fn cohort_cells_become_rows_with_a_column_per_month_since() {
        let cell = |month: &str, months_since, saves, still_active| CohortCell {
            month: d(month),
            months_since,
            saves,
            still_active,
        };
        let rows = cohort_rows(&[
            cell("2026-06-01", 1, 4, 4),
            cell("2026-06-01", 2, 4, 3),
            cell("2026-07-01", 1, 2, 1),
        ]);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].saves, 4);
        assert_eq!(rows[0].shares[..3], [Some(1.0), Some(0.75), None]);
        assert_eq!(rows[1].shares[0], Some(0.5));
        assert_eq!(rows[1].shares.len(), 6);
        assert_eq!(
            (
                shade(Some(1.0)),
                shade(Some(0.75)),
                shade(Some(0.5)),
                shade(Some(0.1)),
                shade(None)
            ),
            (4, 3, 2, 1, 0)
        );
    }

    #[test]
    fn durations_read_in_the_unit_people_use() {
        assert_eq!(duration(None), "—");
        assert_eq!(duration(Some(0.75)), "45 min");
        assert_eq!(duration(Some(5.5)), "5.5 h");
        assert_eq!(duration(Some(72.0)), "3.0 days");
        assert_eq!(duration(Some(-30.0)), "30.0 h early");
    }

    #[test]
    fn a_leader_with_fewer_than_five_requests_is_too_few_to_compare() {
        let leader = |filed| Leader {
            person_id: 1,
            name: "A".into(),
            filed,
            attempts_closed: 2,
            saves: 1,
            saved_cents: 0,
        };
        assert!(leader(4).too_few());
        assert!(!leader(5).too_few());
        assert_eq!(leader(5).save_rate(), Some(0.5));
        // Enough filed, but two calls: the rate is too few to compare.
        assert!(leader(5).too_few_calls());
        let called = Leader {
            attempts_closed: 5,
            ..leader(5)
        };
        assert!(!called.too_few_calls());
    }

    #[test]
    fn the_controllable_save_rate_leaves_out_what_retention_cannot_change() {
        let line = |controllable, attempts_closed, saves| ReasonLine {
            reason_id: 1,
            label: String::new(),
            controllable,
            filed: attempts_closed,
            at_risk_cents: 0,
            attempts_closed,
            saves,
        };
        let reasons = [line(true, 4, 2), line(false, 4, 0), line(true, 2, 2)];
        assert_eq!(controllable_save_rate(&reasons), Some(4.0 / 6.0));
        assert_eq!(controllable_save_rate(&[line(false, 3, 1)]), None);
        let total = controllable_total(&reasons);
        assert_eq!((total.filed, total.attempts_closed, total.saves), (6, 6, 4));
    }
}
