//! The Reports page: its filter, tiles, the outcomes by month as stacked bars (server-drawn SVG,
//! its numbers in a table beside it), the reasons, and what is open now.

use askama::Template;
use askama_web::WebTemplate;
use chrono::NaiveDate;

use super::figures::{
    self, CohortRow, Lasting, Leader, MonthOutcomes, Period, ReasonLine, Slow, Tiles, Wait,
};
use crate::change_requests::db::ReasonOption;
use crate::change_requests::rules::{Kind, State};
use crate::users::db::PersonOption;
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

/// One coloured part of a bar.
#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    pub y: f64,
    pub height: f64,
    pub class: &'static str,
    pub label: &'static str,
    pub count: i64,
}

/// One month's bar.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    pub x: f64,
    pub width: f64,
    pub month: String,
    pub total: i64,
    /// The total as printed above the bar.
    pub total_label: String,
    /// Where the total is printed, above the bar.
    pub total_y: f64,
    pub segments: Vec<Segment>,
}

/// The chart's drawing area, in SVG units.
pub const CHART_WIDTH: f64 = 720.0;
pub const CHART_HEIGHT: f64 = 240.0;
const PLOT_TOP: f64 = 20.0;
const PLOT_BOTTOM: f64 = 210.0;

/// The parts of each bar, bottom to top, with their legend and CSS class (colour-blind-safe
/// colours in app.css).
pub const PARTS: [(&str, &str); 7] = [
    ("Saved, no change", "saved-no-change"),
    ("Saved with a pause", "saved-pause"),
    ("Saved with a budget change", "saved-budget"),
    ("Not saved", "not-saved"),
    ("Call not yet recorded", "waiting"),
    ("Withdrawn before the call", "withdrawn-early"),
    ("Not sent to Retention", "not-escalated"),
];

/// The space each month takes across the chart.
fn slot_width(months: usize) -> f64 {
    CHART_WIDTH / months.max(1) as f64
}

/// The gap on each side of a bar, as a share of its month's space.
const BAR_MARGIN: f64 = 0.15;

/// Plot units per unit of value, so the largest of `values` fills the plot.
fn scale_to(values: impl Iterator<Item = i64>) -> f64 {
    let most = values.max().unwrap_or(0).max(1) as f64;
    (PLOT_BOTTOM - PLOT_TOP) / most
}

/// The stacked bars of `months`, scaled so the busiest month fills the plot.
pub fn stacked_bars(months: &[MonthOutcomes]) -> Vec<Bar> {
    let slot = slot_width(months.len());
    let scale = scale_to(months.iter().map(|m| m.filed));
    months
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let counts = [
                m.saved_no_change,
                m.saved_pause,
                m.saved_budget_change,
                m.not_saved,
                m.waiting,
                m.withdrawn_early,
                m.not_escalated,
            ];
            let mut top = PLOT_BOTTOM;
            let segments = counts
                .iter()
                .zip(PARTS)
                .filter(|(count, _)| **count > 0)
                .map(|(&count, (label, class))| {
                    let height = count as f64 * scale;
                    top -= height;
                    Segment {
                        y: top,
                        height,
                        class,
                        label,
                        count,
                    }
                })
                .collect();
            Bar {
                x: i as f64 * slot + slot * BAR_MARGIN,
                width: slot * (1.0 - 2.0 * BAR_MARGIN),
                month: m.month.format("%b %Y").to_string(),
                total: m.filed,
                total_label: m.filed.to_string(),
                total_y: top - 4.0,
                segments,
            }
        })
        .collect()
}

/// The budget lost each month as bars, scaled so the worst month fills the plot.
pub fn lost_bars(months: &[MonthOutcomes]) -> Vec<Bar> {
    let slot = slot_width(months.len());
    let scale = scale_to(months.iter().map(|m| m.lost_cents));
    months
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let height = m.lost_cents as f64 * scale;
            let month = m.month.format("%b %Y").to_string();
            let segments = (m.lost_cents > 0)
                .then_some(Segment {
                    y: PLOT_BOTTOM - height,
                    height,
                    class: "not-saved",
                    label: "Budget lost",
                    count: m.lost_cents,
                })
                .into_iter()
                .collect();
            Bar {
                x: i as f64 * slot + slot * BAR_MARGIN,
                width: slot * (1.0 - 2.0 * BAR_MARGIN),
                month,
                total: m.lost_cents,
                total_label: crate::money::format_cents(m.lost_cents),
                total_y: PLOT_BOTTOM - height - 4.0,
                segments,
            }
        })
        .collect()
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
    pub period: Period,
    pub presets: Vec<Preset>,
    /// The viewer sees only the requests they filed (an account manager without a wider role).
    pub own_only: bool,
    pub kinds: [Kind; 3],
    pub reasons: Vec<ReasonOption>,
    pub account_managers: Vec<PersonOption>,
    pub retention_users: Vec<PersonOption>,
    pub sem_specialists: Vec<PersonOption>,
    pub tiles: Tiles,
    pub months: Vec<MonthOutcomes>,
    pub bars: Vec<Bar>,
    /// The budget lost by month.
    pub lost: Vec<Bar>,
    pub by_reason: Vec<ReasonLine>,
    pub open: Vec<(State, i64)>,
    /// The save rate month by month, as points of a line.
    pub trend: Vec<Point>,
    pub account_managers_board: Vec<Leader>,
    pub retention_board: Vec<Leader>,
    pub step_waits: Vec<Wait>,
    pub stage_waits: Vec<Wait>,
    pub slowest: Vec<Slow>,
    pub nudge_days: u32,
    /// Of the saves 30, 90 and 180 days old, how many clients stayed.
    pub lasting: Vec<Lasting>,
    pub cohorts: Vec<CohortRow>,
    /// Pauses whose resume date has come, and how many of those clients are active again.
    pub pauses_due: i64,
    pub pauses_resumed: i64,
}

impl ReportsPage {
    fn money(&self, cents: impl std::borrow::Borrow<i64>) -> String {
        crate::money::format_cents(*cents.borrow())
    }

    fn percent(&self, share: impl std::borrow::Borrow<Option<f64>>) -> String {
        figures::percent(*share.borrow())
    }

    fn controllable_save_rate(&self) -> String {
        figures::percent(figures::controllable_save_rate(&self.by_reason))
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
        figures::percent(figures::rate(self.pauses_resumed, self.pauses_due))
    }

    /// The two leaderboards: title, table id, CSV table, lines.
    fn boards(&self) -> [(&'static str, &'static str, &'static str, &[Leader]); 2] {
        [
            (
                "Account managers",
                "board-account-managers",
                "account_managers",
                &self.account_managers_board,
            ),
            (
                "Retention",
                "board-retention",
                "retention",
                &self.retention_board,
            ),
        ]
    }

    /// The trend line's points as SVG wants them.
    fn trend_line(&self) -> String {
        self.trend
            .iter()
            .map(|p| format!("{:.1},{:.1}", p.x, p.y))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A point of a line chart, with what it stands for.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub label: String,
}

/// The save rate of each month with calls as a line across the chart (0% at the bottom, 100%
/// at the top); months without calls are left out.
pub fn save_rate_line(months: &[MonthOutcomes]) -> Vec<Point> {
    let slot = slot_width(months.len());
    months
        .iter()
        .enumerate()
        .filter_map(|(i, m)| {
            m.save_rate().map(|rate| Point {
                x: i as f64 * slot + slot / 2.0,
                y: PLOT_BOTTOM - rate * (PLOT_BOTTOM - PLOT_TOP),
                label: format!(
                    "{}: {}",
                    m.month.format("%b %Y"),
                    figures::percent(Some(rate))
                ),
            })
        })
        .collect()
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
        ("Last 12 months", Period::last_twelve_months(today)),
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
    fn the_busiest_month_fills_the_plot_and_parts_stack_upwards() {
        let bars = stacked_bars(&[month("2026-10", 4, 1, 1), month("2026-11", 2, 0, 2)]);
        assert_eq!(bars.len(), 2);
        let full = PLOT_BOTTOM - PLOT_TOP;
        let heights: f64 = bars[0].segments.iter().map(|s| s.height).sum();
        assert!((heights - full).abs() < 1e-9);
        assert!((bars[1].segments[0].height - full / 2.0).abs() < 1e-9);
        // Bottom to top: the pause (saved) below the loss, and nothing drawn for a zero.
        let classes: Vec<&str> = bars[0].segments.iter().map(|s| s.class).collect();
        assert_eq!(classes, ["saved-pause", "not-saved", "not-escalated"]);
        assert!(bars[0].segments[0].y > bars[0].segments[1].y);
        assert_eq!(bars[1].month, "Nov 2026");
        assert!(bars[1].x > bars[0].x + bars[0].width);
    }

    #[test]
    fn the_save_rate_line_runs_from_bottom_to_top_and_skips_months_without_calls() {
        let months = [
            month("2026-10", 2, 1, 1),
            month("2026-11", 1, 0, 0),
            month("2026-12", 1, 1, 0),
        ];
        let line = save_rate_line(&months);
        assert_eq!(line.len(), 2);
        assert!(
            (line[0].y - (PLOT_BOTTOM + PLOT_TOP) / 2.0).abs() < 1e-9,
            "50% is half way"
        );
        assert!((line[1].y - PLOT_TOP).abs() < 1e-9, "100% at the top");
        assert_eq!(line[1].label, "Dec 2026: 100%");
        assert!(line[1].x > line[0].x);
    }

    #[test]
    fn the_worst_month_for_budget_lost_fills_the_plot() {
        let mut oct = month("2026-10", 1, 0, 1);
        oct.lost_cents = 200_000;
        let mut nov = month("2026-11", 1, 0, 1);
        nov.lost_cents = 50_000;
        let bars = lost_bars(&[oct, nov, month("2026-12", 0, 0, 0)]);
        let full = PLOT_BOTTOM - PLOT_TOP;
        assert!((bars[0].segments[0].height - full).abs() < 1e-9);
        assert!((bars[1].segments[0].height - full / 4.0).abs() < 1e-9);
        assert!(bars[2].segments.is_empty());
        assert_eq!(bars[0].total_label, "$2,000.00");
    }

    #[test]
    fn an_empty_period_draws_no_segments() {
        let bars = stacked_bars(&[month("2026-10", 0, 0, 0)]);
        assert!(bars[0].segments.is_empty());
        assert_eq!(bars[0].total, 0);
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
