//! The Reports page: its filter, tiles, the outcomes by month as stacked bars (server-drawn SVG,
//! its numbers in a table beside it), the reasons, and what is open now.

use askama::Template;
use askama_web::WebTemplate;
use chrono::NaiveDate;

use super::db::Report;
use super::figures::{self, Leader, MonthOutcomes, Period};
use crate::change_requests::db::ReasonOption;
use crate::change_requests::rules::Kind;
use crate::users::db::PersonOption;
use crate::web::chart::{Chart, Series, Unit};
use crate::web::ctx::encode_component;
use crate::web::pages::Chrome;

/// The filter as typed (kept in every link and the CSV downloads).
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct ReportQuery {
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub account_manager: String,
    #[serde(default)]
    pub retention_user: String,
    #[serde(default)]
    pub sem_specialist: String,
    /// Which table a CSV download holds: `tiles`, `months` or `reasons`.
    #[serde(default)]
    pub table: String,
}

/// Each filter field: its name in the address and the form, and what a person calls it.
const FIELDS: [(&str, &str); 8] = [
    ("from", "first day"),
    ("to", "last day"),
    ("kind", "kind"),
    ("reason", "reason"),
    ("account_manager", "account manager"),
    ("retention_user", "Retention user"),
    ("sem_specialist", "SEM specialist"),
    ("table", "table"),
];

/// A problem with the filter: the field it is about (its name in the form) and what to do.
pub type Problem = (&'static str, String);

impl ReportQuery {
    fn field(&mut self, name: &str) -> Option<&mut String> {
        Some(match name {
            "from" => &mut self.from,
            "to" => &mut self.to,
            "kind" => &mut self.kind,
            "reason" => &mut self.reason,
            "account_manager" => &mut self.account_manager,
            "retention_user" => &mut self.retention_user,
            "sem_specialist" => &mut self.sem_specialist,
            "table" => &mut self.table,
            _ => return None,
        })
    }

    /// The filter from the address's pairs, and what was wrong with them: a control character
    /// (left out, never written back into the page) or a field given twice with two values
    /// (the first is used). Names the filter does not have are ignored.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> (Self, Vec<Problem>) {
        let mut query = ReportQuery::default();
        let mut problems = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        for (name, value) in pairs {
            let Some(&(name, what)) = FIELDS.iter().find(|(n, _)| *n == name) else {
                continue;
            };
            let clean: String = value.chars().filter(|c| !c.is_control()).collect();
            if clean.len() != value.len() {
                note(
                    &mut problems,
                    name,
                    format!("Remove the control character from the {what}."),
                );
            }
            let Some(field) = query.field(name) else {
                continue;
            };
            if seen.contains(&name) {
                if field.trim() != clean.trim() {
                    note(
                        &mut problems,
                        name,
                        format!("The address gives the {what} twice: the first is used."),
                    );
                }
                continue;
            }
            seen.push(name);
            *field = clean;
        }
        (query, problems)
    }

    /// The filter as a query string (without `table`), for links that keep it.
    pub fn keep(&self) -> String {
        [
            ("from", &self.from),
            ("to", &self.to),
            ("kind", &self.kind),
            ("reason", &self.reason),
            ("account_manager", &self.account_manager),
            ("retention_user", &self.retention_user),
            ("sem_specialist", &self.sem_specialist),
        ]
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| format!("{k}={}", encode_component(v.trim())))
        .collect::<Vec<_>>()
        .join("&")
    }
}

/// Adds a problem about `field` unless it has one already (one message per field).
pub fn note(problems: &mut Vec<Problem>, field: &'static str, message: String) {
    if !problems.iter().any(|(f, _)| *f == field) {
        problems.push((field, message));
    }
}

/// What each leaderboard's count column counts: the account managers' requests filed, the
/// Retention users' requests they recorded a call on.
pub const BOARD_COUNTS: [&str; 2] = ["Filed", "Requests"];

/// A preset period as a link.
pub struct Preset {
    pub label: &'static str,
    pub href: String,
    pub current: bool,
}

fn month_names(months: &[MonthOutcomes]) -> Vec<String> {
    months
        .iter()
        .map(|m| m.month.format("%b %Y").to_string())
        .collect()
}

/// One series of `months`, each month's value by `value`.
fn series(
    months: &[MonthOutcomes],
    (label, class): (&'static str, &'static str),
    value: impl Fn(&MonthOutcomes) -> Option<f64>,
) -> Series {
    Series {
        label,
        class,
        values: months.iter().map(value).collect(),
    }
}

/// A chart of one figure of `months` (a line, bars or a sparkline: the partial decides).
fn one_figure(
    months: &[MonthOutcomes],
    (id, title, desc): (&'static str, String, &str),
    unit: Unit,
    part: (&'static str, &'static str),
    value: impl Fn(&MonthOutcomes) -> Option<f64>,
) -> Chart {
    Chart {
        id,
        title,
        desc: desc.into(),
        unit,
        categories: month_names(months),
        series: vec![series(months, part, value)],
    }
}

/// A part of the outcome bars: its legend, its colour's class, and its count in a month.
type Part = (&'static str, &'static str, fn(&MonthOutcomes) -> i64);

/// The requests filed each month, stacked by what became of them: each part bottom to top,
/// with its legend and CSS class (colour-blind-safe colours in app.css).
pub fn outcomes_chart(months: &[MonthOutcomes]) -> Chart {
    let parts: [Part; 7] = [
        ("Saved, no change", "saved-no-change", |m| m.saved_no_change),
        ("Saved with a pause", "saved-pause", |m| m.saved_pause),
        ("Saved with a budget change", "saved-budget", |m| {
            m.saved_budget_change
        }),
        ("Not saved", "not-saved", |m| m.not_saved),
        ("Call not yet recorded", "waiting", |m| m.waiting),
        ("Withdrawn before the call", "withdrawn-early", |m| {
            m.withdrawn_early
        }),
        ("Not sent to Retention", "not-escalated", |m| {
            m.not_escalated
        }),
    ];
    Chart {
        id: "months-chart",
        title: "Requests filed each month, by what became of them".into(),
        desc: "A stacked bar per month with its total above it where there is room; the numbers \
             are in the table below."
            .into(),
        unit: Unit::Count,
        categories: month_names(months),
        series: parts
            .into_iter()
            .map(|(label, class, count)| series(months, (label, class), |m| Some(count(m) as f64)))
            .collect(),
    }
}

/// The save rate of each month with recorded calls, as a line.
pub fn save_rate_chart(months: &[MonthOutcomes]) -> Chart {
    one_figure(
        months,
        (
            "trend-chart",
            "The save rate of each month with recorded calls".into(),
            "A line from 0% at the bottom to 100% at the top, a point per month with calls; \
             each month's rate is in the budget table below.",
        ),
        Unit::Share,
        ("Save rate", "saved-no-change"),
        MonthOutcomes::save_rate,
    )
}

/// The monthly budget lost each month, as bars.
pub fn lost_chart(months: &[MonthOutcomes]) -> Chart {
    one_figure(
        months,
        (
            "lost-chart",
            "Budget lost, by the month the request was filed".into(),
            "A bar per month with its figure above it; each month's figure is in the budget \
             table below.",
        ),
        Unit::Cents,
        ("Budget lost", "not-saved"),
        |m| Some(m.lost_cents as f64),
    )
}

/// A tile's figure month by month, as a sparkline under it.
fn spark(
    months: &[MonthOutcomes],
    id: &'static str,
    title: &'static str,
    unit: Unit,
    value: fn(&MonthOutcomes) -> Option<f64>,
) -> Chart {
    one_figure(
        months,
        (id, format!("{title} by month"), ""),
        unit,
        (title, "saved-no-change"),
        value,
    )
}

/// The tiles' sparklines, in the tiles' order. A last month the period holds only part of
/// (this month, so far) is left out: its few days would read as a fall.
pub fn tile_sparklines(months: &[MonthOutcomes], period: Period) -> Vec<Chart> {
    let months = match months.split_last() {
        Some((last, whole))
            if whole.len() > 1 && period.to < figures::last_of_month(last.month) =>
        {
            whole
        }
        _ => months,
    };
    vec![
        spark(months, "spark-filed", "Requests filed", Unit::Count, |m| {
            Some(m.filed as f64)
        }),
        spark(months, "spark-escalated", "Escalated", Unit::Count, |m| {
            Some(m.escalated() as f64)
        }),
        spark(months, "spark-save-rate", "Save rate", Unit::Share, |m| {
            m.save_rate()
        }),
        spark(
            months,
            "spark-at-risk",
            "Budget at risk",
            Unit::Cents,
            |m| Some(m.at_risk_cents as f64),
        ),
        spark(months, "spark-saved", "Budget saved", Unit::Cents, |m| {
            Some(m.saved_cents() as f64)
        }),
        spark(months, "spark-lost", "Budget lost", Unit::Cents, |m| {
            Some(m.lost_cents as f64)
        }),
    ]
}

#[derive(Template, WebTemplate)]
#[template(path = "reports/page.html")]
pub struct ReportsPage {
    pub chrome: Chrome,
    /// The filter as typed (shown in the form).
    pub query: ReportQuery,
    /// The filter as applied (kept by the CSV links): what could not be used is left out.
    pub applied: ReportQuery,
    /// What was wrong with the filter, each beside its field (and left out of the filter).
    pub problems: Vec<Problem>,
    /// The typed period was not used (this month and the eleven before are shown).
    pub fallback: bool,
    pub period: Period,
    pub presets: Vec<Preset>,
    /// The viewer sees only the requests they filed (an account manager without a wider role).
    pub own_only: bool,
    pub kinds: [Kind; 3],
    pub reasons: Vec<ReasonOption>,
    pub account_managers: Vec<PersonOption>,
    pub retention_users: Vec<PersonOption>,
    pub sem_specialists: Vec<PersonOption>,
    /// Every panel's figures (kept while the record is unchanged, so shared).
    pub report: std::sync::Arc<Report>,
    pub outcomes_chart: Chart,
    pub save_rate_chart: Chart,
    pub lost_chart: Chart,
    /// Under each tile, its figure month by month.
    pub sparklines: Vec<Chart>,
    pub nudge_days: u32,
}

impl ReportsPage {
    fn money(&self, cents: impl std::borrow::Borrow<i64>) -> String {
        crate::money::format_cents(*cents.borrow())
    }

    /// A tile's money: whole dollars (the exact figure is in its title and the CSV).
    fn headline(&self, cents: impl std::borrow::Borrow<i64>) -> String {
        crate::money::format_whole_dollars(*cents.borrow())
    }

    fn percent(&self, share: impl std::borrow::Borrow<Option<f64>>) -> String {
        figures::percent(*share.borrow())
    }

    fn controllable_save_rate(&self) -> String {
        figures::percent(figures::controllable_save_rate(&self.report.by_reason))
    }

    fn controllable_total(&self) -> figures::ReasonLine {
        figures::controllable_total(&self.report.by_reason)
    }

    /// What is wrong with `field`, if anything.
    fn error(&self, field: &str) -> Option<&str> {
        self.problems
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }

    /// The attributes marking `field` invalid and pointing to its message, when it has one.
    fn invalid(&self, field: &str) -> String {
        match self.error(field) {
            Some(_) => format!(" aria-invalid=\"true\" aria-describedby=\"{field}-error\""),
            None => String::new(),
        }
    }

    fn chosen(&self, field: &str, value: &str) -> bool {
        let typed = match field {
            "kind" => &self.query.kind,
            "reason" => &self.query.reason,
            "account_manager" => &self.query.account_manager,
            "retention_user" => &self.query.retention_user,
            "sem_specialist" => &self.query.sem_specialist,
            _ => return false,
        };
        typed.trim() == value
    }

    fn csv_href(&self, table: &str) -> String {
        match self.applied.keep().as_str() {
            "" => format!("/reports.csv?table={table}"),
            keep => format!("/reports.csv?table={table}&{keep}"),
        }
    }

    fn day(&self, d: &NaiveDate) -> String {
        crate::time::day(*d)
    }

    fn duration(&self, hours: &Option<f64>) -> String {
        figures::duration(*hours)
    }

    fn hours(&self, hours: &f64) -> String {
        figures::duration(Some(*hours))
    }

    fn share_cell(&self, share: &Option<f64>) -> String {
        share.map(|s| figures::percent(Some(s))).unwrap_or_default()
    }

    fn shade(&self, share: &Option<f64>) -> u8 {
        figures::shade(*share)
    }

    fn resumed_rate(&self) -> String {
        figures::percent(figures::rate(
            self.report.pauses_resumed,
            self.report.pauses_due,
        ))
    }

    /// The two leaderboards: title, table id, CSV table, what the count column counts, lines.
    fn boards(
        &self,
    ) -> [(
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &[Leader],
    ); 2] {
        [
            (
                "Account managers",
                "board-account-managers",
                "account_managers",
                BOARD_COUNTS[0],
                &self.report.account_managers_board,
            ),
            (
                "Retention",
                "board-retention",
                "retention",
                BOARD_COUNTS[1],
                &self.report.retention_board,
            ),
        ]
    }

    /// A month as the tables name it, with the days the period holds when not all of them.
    fn month(&self, month: &NaiveDate) -> String {
        self.period.month_label(*month)
    }

    /// The filter's cuts in words, for the heading ("" when there are none).
    fn filter_words(&self) -> String {
        let a = &self.applied;
        let person = |list: &[PersonOption], id: &str| {
            list.iter()
                .find(|p| p.id.to_string() == id)
                .map(|p| p.display_name.clone())
        };
        let mut words = Vec::new();
        if let Some(kind) = Kind::from_key(&a.kind) {
            words.push(format!("filed as: {}", kind.label().to_lowercase()));
        }
        if let Some(r) = self.reasons.iter().find(|r| r.id.to_string() == a.reason) {
            words.push(format!("reason: {}", r.label));
        }
        for (what, list, id) in [
            (
                "account manager",
                &self.account_managers,
                &a.account_manager,
            ),
            ("Retention", &self.retention_users, &a.retention_user),
            ("SEM specialist", &self.sem_specialists, &a.sem_specialist),
        ] {
            if let Some(name) = person(list, id) {
                words.push(format!("{what}: {name}"));
            }
        }
        words.join("; ")
    }
}

/// The preset periods, as links keeping the other filters.
pub fn presets(query: &ReportQuery, today: NaiveDate, period: Period) -> Vec<Preset> {
    let others = ReportQuery {
        from: String::new(),
        to: String::new(),
        ..query.clone()
    }
    .keep();
    [
        ("This month", Period::this_month(today)),
        ("Last month", Period::last_month(today)),
        ("This quarter", Period::this_quarter(today)),
        ("Last quarter", Period::last_quarter(today)),
        (
            "This month and the 11 before",
            Period::last_twelve_months(today),
        ),
    ]
    .into_iter()
    .map(|(label, p)| {
        let mut href = format!("/reports?from={}&to={}", p.from, p.to);
        if !others.is_empty() {
            href = format!("{href}&{others}");
        }
        Preset {
            label,
            href,
            current: p == period,
        }
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn month(m: &str, filed: i64, saved_pause: i64, not_saved: i64) -> MonthOutcomes {
        MonthOutcomes {
            month: NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").unwrap(),
            filed,
            saved_pause,
            not_saved,
            not_escalated: filed - saved_pause - not_saved,
            ..Default::default()
        }
    }

    #[test]
    fn the_outcome_bars_stack_each_month_bottom_to_top_in_the_legend_order() {
        let chart = outcomes_chart(&[month("2026-10", 4, 1, 1), month("2026-11", 2, 0, 2)]);
        assert_eq!(chart.categories, ["Oct 2026", "Nov 2026"]);
        let classes: Vec<&str> = chart.series.iter().map(|s| s.class).collect();
        assert_eq!(
            classes,
            [
                "saved-no-change",
                "saved-pause",
                "saved-budget",
                "not-saved",
                "waiting",
                "withdrawn-early",
                "not-escalated"
            ]
        );
        // Every request of a month is in exactly one part.
        let total = |i: usize| -> f64 { chart.series.iter().filter_map(|s| s.values[i]).sum() };
        assert_eq!((total(0), total(1)), (4.0, 2.0));
        let bars = chart.bars();
        let drawn: Vec<&str> = bars[0].segments.iter().map(|s| s.class).collect();
        assert_eq!(drawn, ["saved-pause", "not-saved", "not-escalated"]);
        assert_eq!(bars[0].total.as_deref(), Some("4"));
    }

    #[test]
    fn the_save_rate_line_skips_months_without_calls() {
        let months = [
            month("2026-10", 2, 1, 1),
            month("2026-11", 1, 0, 0),
            month("2026-12", 1, 1, 0),
        ];
        let chart = save_rate_chart(&months);
        assert_eq!(chart.series[0].values, [Some(0.5), None, Some(1.0)]);
        let points = chart.points();
        assert_eq!(points.len(), 2);
        assert_eq!(points[1].title, "Dec 2026: 100%");
    }

    #[test]
    fn budget_lost_and_the_tiles_sparklines_read_the_same_months() {
        let mut oct = month("2026-10", 1, 0, 1);
        oct.at_risk_cents = 300_000;
        oct.lost_cents = 200_000;
        let mut nov = month("2026-11", 1, 0, 1);
        nov.at_risk_cents = 50_000;
        nov.lost_cents = 50_000;
        let months = [oct, nov, month("2026-12", 0, 0, 0)];
        let lost = lost_chart(&months);
        assert_eq!(
            lost.series[0].values,
            [Some(200_000.0), Some(50_000.0), Some(0.0)]
        );
        assert_eq!(lost.bars()[0].total.as_deref(), Some("$2,000"));
        let sparks = tile_sparklines(
            &months,
            Period {
                from: months[0].month,
                to: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
            },
        );
        let ids: Vec<&str> = sparks.iter().map(|c| c.id).collect();
        assert_eq!(
            ids,
            [
                "spark-filed",
                "spark-escalated",
                "spark-save-rate",
                "spark-at-risk",
                "spark-saved",
                "spark-lost"
            ]
        );
        assert_eq!(
            sparks[4].series[0].values,
            [Some(100_000.0), Some(0.0), Some(0.0)],
            "saved is at risk less lost"
        );
        assert_eq!(
            sparks[1].series[0].values,
            [Some(1.0), Some(1.0), Some(0.0)]
        );
        assert_eq!(sparks[2].series[0].values, [Some(0.0), Some(0.0), None]);
    }

    #[test]
    fn the_sparklines_leave_out_a_last_month_the_period_holds_only_part_of() {
        let months = [
            month("2026-10", 4, 1, 1),
            month("2026-11", 2, 0, 2),
            month("2026-12", 0, 0, 0),
        ];
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let so_far = Period {
            from: day("2026-10-01"),
            to: day("2026-12-02"),
        };
        let sparks = tile_sparklines(&months, so_far);
        assert_eq!(sparks[0].categories, ["Oct 2026", "Nov 2026"]);
        let whole = Period {
            to: day("2026-12-31"),
            ..so_far
        };
        assert_eq!(tile_sparklines(&months, whole)[0].categories.len(), 3);
        // Two months, the last partial: both kept (one would draw no line).
        assert_eq!(tile_sparklines(&months[1..], so_far)[0].categories.len(), 2);
    }

    #[test]
    fn the_filter_is_kept_in_links_encoded() {
        let q = ReportQuery {
            from: "2026-10-01".into(),
            reason: "3".into(),
            kind: " ".into(),
            table: "reasons".into(),
            ..Default::default()
        };
        assert_eq!(q.keep(), "from=2026-10-01&reason=3");
        let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let p = presets(&q, today, Period::last_month(today));
        assert_eq!(p[1].href, "/reports?from=2026-11-01&to=2026-11-30&reason=3");
        assert!(p[1].current && !p[0].current);
    }
}
