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

impl ReportQuery {
    /// The filter without control characters (a NUL typed into an address is not written back
    /// into the page), and whether there were any.
    pub fn cleaned(self) -> (Self, bool) {
        let fields = [
            &self.from,
            &self.to,
            &self.kind,
            &self.reason,
            &self.account_manager,
            &self.retention_user,
            &self.sem_specialist,
            &self.table,
        ];
        let had = fields.iter().any(|f| f.chars().any(char::is_control));
        let clean = |s: String| s.chars().filter(|c| !c.is_control()).collect::<String>();
        let cleaned = ReportQuery {
            from: clean(self.from),
            to: clean(self.to),
            kind: clean(self.kind),
            reason: clean(self.reason),
            account_manager: clean(self.account_manager),
            retention_user: clean(self.retention_user),
            sem_specialist: clean(self.sem_specialist),
            table: clean(self.table),
        };
        (cleaned, had)
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
        desc:
            "A stacked bar per month with its total above it; the numbers are in the table below."
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
            "Monthly budget lost each month".into(),
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

/// The tiles' sparklines, in the tiles' order.
pub fn tile_sparklines(months: &[MonthOutcomes]) -> Vec<Chart> {
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
    /// Why the filter was not applied, when it was not.
    pub problem: Option<String>,
    /// The field the problem is about, marked invalid.
    pub problem_field: Option<&'static str>,
    /// The typed period was not used (the last twelve months are shown).
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

    /// The attributes marking `field` as the one the filter's problem is about.
    fn invalid(&self, field: &str) -> &'static str {
        if self.problem.is_some() && self.problem_field == Some(field) {
            " aria-invalid=\"true\" aria-describedby=\"filter-error\""
        } else {
            ""
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

    /// The two leaderboards: title, table id, CSV table, lines.
    fn boards(&self) -> [(&'static str, &'static str, &'static str, &[Leader]); 2] {
        [
            (
                "Account managers",
                "board-account-managers",
                "account_managers",
                &self.report.account_managers_board,
            ),
            (
                "Retention",
                "board-retention",
                "retention",
                &self.report.retention_board,
            ),
        ]
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
        let sparks = tile_sparklines(&months);
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
