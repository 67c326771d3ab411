//! Charts drawn on the server as SVG by the partials in `templates/_charts.html`, all fed by one
//! data type, [`Chart`]: stacked bars (a plain bar chart is one part), a line, and a sparkline
//! (a line with no axes, small enough for a tile). No script draws them, so the content
//! security policy stays as strict as it is; each has a `<title>` and `<desc>`, prints its
//! numbers on or beside the marks, and the page shows the same numbers in a table.

use crate::money;

/// The drawing area of a full chart, in SVG units (the SVG scales to its box).
pub const WIDTH: f64 = 720.0;
pub const HEIGHT: f64 = 240.0;
/// Where values run, top (the largest) to bottom (zero).
pub const PLOT_TOP: f64 = 20.0;
pub const PLOT_BOTTOM: f64 = 210.0;
/// The baseline of the category labels under the plot.
pub const LABEL_Y: f64 = 228.0;
/// The gap on each side of a bar, as a share of its category's space.
const BAR_MARGIN: f64 = 0.15;
/// A part of a bar shorter than this has no room for its number (it is in its tooltip and the
/// table).
const ROOM_FOR_NUMBER: f64 = 13.0;
/// About how wide one character of a chart's 11-unit text is: a number or label wider than its
/// room is left out (it is in the tooltip and the table) rather than drawn over its neighbour.
const CHAR_WIDTH: f64 = 6.6;
/// A sparkline's box, and the room kept around its line.
pub const SPARK_WIDTH: f64 = 120.0;
pub const SPARK_HEIGHT: f64 = 28.0;
const SPARK_PAD: f64 = 3.0;

/// What the values measure, which says how each is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Count,
    /// Cents, printed as dollars.
    Cents,
    /// A share from 0 to 1, printed as a percentage; its axis always runs from 0% to 100%.
    Share,
}

impl Unit {
    pub fn show(self, value: f64) -> String {
        match self {
            Unit::Count => format!("{value:.0}"),
            Unit::Cents => money::format_cents(value.round() as i64),
            Unit::Share => format!("{:.0}%", value * 100.0),
        }
    }

    /// A value printed on a bar, where room is short: money in whole dollars (the exact
    /// figure is in the tooltip and the table).
    pub fn short(self, value: f64) -> String {
        match self {
            Unit::Cents => money::format_whole_dollars(value.round() as i64),
            _ => self.show(value),
        }
    }
}

/// Whether `text` fits across `room` units.
fn fits(text: &str, room: f64) -> bool {
    text.chars().count() as f64 * CHAR_WIDTH <= room
}

/// One series: a part of each stacked bar, or a line; `None` where it has no value (a month
/// with no recorded call has no save rate).
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub label: &'static str,
    /// Its colour, a class in app.css (colours told apart with any colour vision).
    pub class: &'static str,
    pub values: Vec<Option<f64>>,
}

/// A chart's data: what it shows (for its title and description), its categories along the
/// bottom, and its series in drawing order (bottom to top for stacked bars).
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    /// Unique on the page: the title's and description's ids derive from it.
    pub id: &'static str,
    pub title: String,
    pub desc: String,
    pub unit: Unit,
    pub categories: Vec<String>,
    pub series: Vec<Series>,
}

/// One coloured part of a bar.
#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    pub y: f64,
    pub height: f64,
    pub class: &'static str,
    /// Its series and value, for its tooltip.
    pub title: String,
    /// The value printed inside the part, when there is room.
    pub number: Option<String>,
}

/// One category's bar.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    pub x: f64,
    pub width: f64,
    /// The middle of the bar, where its numbers and label are centred.
    pub middle: f64,
    pub category: String,
    /// The category printed under the bar: every one when they fit, else every second, third…
    pub label: Option<String>,
    /// Where the label is centred: the bar's middle, moved in from the chart's edges so the
    /// label is never cut off.
    pub label_x: f64,
    /// The total printed above the bar (none when nothing is drawn or it does not fit).
    pub total: Option<String>,
    pub total_y: f64,
    pub segments: Vec<Segment>,
}

/// A point of a line, with what it stands for.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub title: String,
    /// Its value printed above it, when there is room across its category.
    pub number: Option<String>,
}

/// A horizontal line across the plot at a value, with that value printed.
#[derive(Clone, Debug, PartialEq)]
pub struct Gridline {
    pub y: f64,
    pub label: String,
}

impl Chart {
    /// The space each category takes across the chart.
    fn slot(&self) -> f64 {
        WIDTH / self.categories.len().max(1) as f64
    }

    /// Each category's stacked total.
    fn totals(&self) -> Vec<f64> {
        (0..self.categories.len())
            .map(|i| self.series.iter().filter_map(|s| value(s, i)).sum())
            .collect()
    }

    /// Which categories are labelled: every `n`th from the first, `n` the smallest that leaves
    /// each label (moved in from the edges, see `label_x`) a character's gap from the next.
    fn label_every(&self) -> usize {
        let n = self.categories.len();
        let width = |i: usize| self.categories[i].chars().count() as f64 * CHAR_WIDTH;
        (1..n.max(1))
            .find(|&every| {
                let shown: Vec<usize> = (0..n).step_by(every).collect();
                shown.windows(2).all(|w| {
                    let room = self.label_x(w[1]) - self.label_x(w[0]);
                    room >= (width(w[0]) + width(w[1])) / 2.0 + CHAR_WIDTH
                })
            })
            .unwrap_or(n.max(1))
    }

    /// Where category `i`'s label is centred: its middle, moved in from either edge as far as
    /// the label needs to be drawn whole.
    fn label_x(&self, i: usize) -> f64 {
        let half =
            self.categories.get(i).map_or(0, |c| c.chars().count()) as f64 * CHAR_WIDTH / 2.0;
        self.middle(i)
            .clamp(half.min(WIDTH / 2.0), (WIDTH - half).max(WIDTH / 2.0))
    }

    /// The middle of category `i` across the chart, where its bar, point and label are centred.
    fn middle(&self, i: usize) -> f64 {
        (i as f64 + 0.5) * self.slot()
    }

    /// The first series' known values, each with its category's index: what a line draws.
    fn line(&self) -> Vec<(usize, f64)> {
        self.series.first().map_or_else(Vec::new, |line| {
            (0..line.values.len())
                .filter_map(|i| value(line, i).map(|v| (i, v)))
                .collect()
        })
    }

    /// The value at the top of the plot: 100% for a share, else the largest stacked total.
    fn top(&self, values: impl Iterator<Item = f64>) -> f64 {
        match self.unit {
            Unit::Share => 1.0,
            _ => values.fold(0.0, f64::max),
        }
    }

    /// The plot's height of `value` when `top` fills it.
    fn height(value: f64, top: f64) -> f64 {
        if top <= 0.0 {
            0.0
        } else {
            value / top * (PLOT_BOTTOM - PLOT_TOP)
        }
    }

    /// The series stacked into one bar per category, the largest total filling the plot.
    pub fn bars(&self) -> Vec<Bar> {
        let slot = self.slot();
        let every = self.label_every();
        let width = slot * (1.0 - 2.0 * BAR_MARGIN);
        let totals = self.totals();
        let top = self.top(totals.iter().copied());
        self.categories
            .iter()
            .enumerate()
            .map(|(i, category)| {
                let mut y = PLOT_BOTTOM;
                let mut segments = self
                    .series
                    .iter()
                    .filter_map(|s| value(s, i).filter(|v| *v > 0.0).map(|v| (s, v)))
                    .map(|(s, v)| {
                        let height = Self::height(v, top);
                        y -= height;
                        let short = self.unit.short(v);
                        Segment {
                            y,
                            height,
                            class: s.class,
                            title: format!("{category}: {}, {}", s.label, self.unit.show(v)),
                            number: (height >= ROOM_FOR_NUMBER
                                && self.series.len() > 1
                                && fits(&short, width))
                            .then_some(short),
                        }
                    })
                    .collect::<Vec<_>>();
                // A bar of one part: its total says its number.
                if segments.len() == 1 {
                    segments[0].number = None;
                }
                let total = self.unit.short(totals[i]);
                Bar {
                    x: i as f64 * slot + slot * BAR_MARGIN,
                    width,
                    middle: self.middle(i),
                    category: category.clone(),
                    label: i.is_multiple_of(every).then(|| category.clone()),
                    label_x: self.label_x(i),
                    total: (!segments.is_empty() && fits(&total, slot)).then_some(total),
                    total_y: y - 4.0,
                    segments,
                }
            })
            .collect()
    }

    /// The first series as points across the plot; categories without a value are left out.
    pub fn points(&self) -> Vec<Point> {
        let line = self.line();
        let top = self.top(line.iter().map(|&(_, v)| v));
        line.into_iter()
            .filter_map(|(i, v)| {
                self.categories.get(i).map(|category| {
                    let short = self.unit.short(v);
                    Point {
                        x: self.middle(i),
                        y: PLOT_BOTTOM - Self::height(v, top),
                        title: format!("{category}: {}", self.unit.show(v)),
                        number: fits(&short, self.slot()).then_some(short),
                    }
                })
            })
            .collect()
    }

    /// Where each labelled category's label goes under the plot: its middle, and the label
    /// (every category when they fit, else every second, third…, as under the bars).
    pub fn category_marks(&self) -> Vec<(f64, &str)> {
        let every = self.label_every();
        self.categories
            .iter()
            .enumerate()
            .filter(|(i, _)| i.is_multiple_of(every))
            .map(|(i, c)| (self.label_x(i), c.as_str()))
            .collect()
    }

    /// The first series as an SVG `points` list for its line.
    pub fn polyline(&self) -> String {
        join(self.points().iter().map(|p| (p.x, p.y)))
    }

    /// The line's scale: lines at 0, half and the top, each with its value.
    pub fn gridlines(&self) -> Vec<Gridline> {
        let top = self.top(
            self.series
                .iter()
                .flat_map(|s| s.values.iter().flatten().copied()),
        );
        self.scale(top)
    }

    /// The bars' scale, where some bar has no room for its total: lines at 0, half and the
    /// largest total, each with its value (none when every total is printed).
    pub fn bar_gridlines(&self) -> Vec<Gridline> {
        if self
            .bars()
            .iter()
            .all(|b| b.total.is_some() || b.segments.is_empty())
        {
            return Vec::new();
        }
        self.scale(self.top(self.totals().into_iter()))
    }

    fn scale(&self, top: f64) -> Vec<Gridline> {
        if top <= 0.0 {
            return Vec::new();
        }
        [1.0, 0.5, 0.0]
            .into_iter()
            .map(|share| Gridline {
                y: PLOT_BOTTOM - share * (PLOT_BOTTOM - PLOT_TOP),
                label: self.unit.short(top * share),
            })
            .collect()
    }

    /// The first series as a sparkline's `points`: the lowest value at the bottom of its box,
    /// the highest at the top (a flat line across the middle when they are equal); empty when
    /// fewer than two values are known.
    pub fn sparkline(&self) -> String {
        let known = self.line();
        if known.len() < 2 {
            return String::new();
        }
        let low = known.iter().map(|k| k.1).fold(f64::INFINITY, f64::min);
        let high = known.iter().map(|k| k.1).fold(f64::NEG_INFINITY, f64::max);
        let values = self.series.first().map_or(0, |line| line.values.len());
        let step = (SPARK_WIDTH - 2.0 * SPARK_PAD) / (values - 1).max(1) as f64;
        let room = SPARK_HEIGHT - 2.0 * SPARK_PAD;
        join(known.iter().map(|&(i, v)| {
            let share = if high > low {
                (v - low) / (high - low)
            } else {
                0.5
            };
            (
                SPARK_PAD + i as f64 * step,
                SPARK_HEIGHT - SPARK_PAD - share * room,
            )
        }))
    }

    /// The sparkline's words for a screen reader: its first and last known values.
    pub fn trend_words(&self) -> String {
        let known: Vec<(&String, f64)> = self
            .line()
            .into_iter()
            .filter_map(|(i, v)| self.categories.get(i).map(|c| (c, v)))
            .collect();
        match (known.first(), known.last()) {
            (Some(first), Some(last)) if known.len() > 1 => format!(
                "{} in {}, {} in {}",
                self.unit.show(first.1),
                first.0,
                self.unit.show(last.1),
                last.0
            ),
            _ => "too few months to show a trend".into(),
        }
    }
}

fn value(series: &Series, i: usize) -> Option<f64> {
    series.values.get(i).copied().flatten()
}

fn join(points: impl Iterator<Item = (f64, f64)>) -> String {
    points
        .map(|(x, y)| format!("{x:.1},{y:.1}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(unit: Unit, series: Vec<Series>, months: usize) -> Chart {
        Chart {
            id: "t",
            title: "T".into(),
            desc: "D".into(),
            unit,
            categories: (1..=months).map(|m| format!("M{m}")).collect(),
            series,
        }
    }

    fn series(class: &'static str, values: &[Option<f64>]) -> Series {
        Series {
            label: class,
            class,
            values: values.to_vec(),
        }
    }

    const FULL: f64 = PLOT_BOTTOM - PLOT_TOP;

    #[test]
    fn the_largest_total_fills_the_plot_and_parts_stack_upwards() {
        let c = chart(
            Unit::Count,
            vec![
                series("a", &[Some(1.0), Some(0.0)]),
                series("b", &[Some(3.0), Some(2.0)]),
            ],
            2,
        );
        let bars = c.bars();
        let heights: f64 = bars[0].segments.iter().map(|s| s.height).sum();
        assert!((heights - FULL).abs() < 1e-9);
        assert!((bars[1].segments[0].height - FULL / 2.0).abs() < 1e-9);
        // Bottom to top in series order, nothing drawn for a zero.
        assert_eq!(bars[0].segments[0].class, "a");
        assert!(bars[0].segments[0].y > bars[0].segments[1].y);
        assert_eq!(bars[1].segments.len(), 1);
        assert_eq!(bars[1].segments[0].number, None, "its total says it");
        assert_eq!(bars[0].total.as_deref(), Some("4"));
        assert_eq!(bars[1].segments[0].title, "M2: b, 2");
        assert!(bars[1].x > bars[0].x + bars[0].width);
        assert!((bars[0].middle - (bars[0].x + bars[0].width / 2.0)).abs() < 1e-9);
    }

    #[test]
    fn a_part_too_short_for_its_number_and_a_single_series_print_no_number_inside() {
        let c = chart(
            Unit::Count,
            vec![series("a", &[Some(1.0)]), series("b", &[Some(99.0)])],
            1,
        );
        let bars = c.bars();
        assert_eq!(
            bars[0].segments[0].number, None,
            "1 of 100 is 1.9 units high"
        );
        assert_eq!(bars[0].segments[1].number.as_deref(), Some("99"));
        let one = chart(Unit::Cents, vec![series("a", &[Some(200_000.0)])], 1);
        assert_eq!(one.bars()[0].segments[0].number, None, "its total says it");
        assert_eq!(
            one.bars()[0].total.as_deref(),
            Some("$2,000"),
            "whole dollars on the bar"
        );
        assert_eq!(one.bars()[0].segments[0].title, "M1: a, $2,000.00");
    }

    #[test]
    fn labels_and_totals_that_would_overlap_are_thinned_out() {
        let months = |n: usize| -> Chart {
            Chart {
                categories: (0..n).map(|i| format!("Mon {}", 2000 + i)).collect(),
                ..chart(
                    Unit::Cents,
                    vec![series("a", &vec![Some(1_234_500.0); n])],
                    n,
                )
            }
        };
        // Twelve months: "Mon 2000" (8 characters, 53 units) fits its 60; so does "$12,345".
        let year = months(12);
        assert!(year.bars().iter().all(|b| b.label.is_some()));
        assert!(
            year.bars()
                .iter()
                .all(|b| b.total.as_deref() == Some("$12,345"))
        );
        assert_eq!(year.category_marks().len(), 12);
        // Twenty-four: every third label (every second would touch the first, moved in from
        // the edge), and no total has room (30 units).
        let two_years = months(24);
        let labelled: Vec<usize> = two_years
            .bars()
            .iter()
            .enumerate()
            .filter(|(_, b)| b.label.is_some())
            .map(|(i, _)| i)
            .collect();
        assert_eq!(labelled, (0..24).step_by(3).collect::<Vec<_>>());
        assert!(two_years.bars().iter().all(|b| b.total.is_none()));
        // Without its totals, the chart gets a scale; with them, none.
        let scale: Vec<String> = two_years
            .bar_gridlines()
            .into_iter()
            .map(|g| g.label)
            .collect();
        assert_eq!(scale, ["$12,345", "$6,173", "$0"]);
        assert!(year.bar_gridlines().is_empty());
        assert_eq!(two_years.category_marks().len(), 8);
        // Sixty: every seventh, the first moved in from the edge to be drawn whole.
        let five_years = months(60);
        let marks = five_years.category_marks();
        assert_eq!(marks.len(), 9);
        assert!(
            (marks[0].0 - 8.0 * CHAR_WIDTH / 2.0).abs() < 1e-9,
            "{marks:?}"
        );
        assert!((marks[1].0 - five_years.middle(7)).abs() < 1e-9);
        assert!((five_years.bars()[0].label_x - marks[0].0).abs() < 1e-9);
        // However many months, no two labels drawn touch (the first moved in included).
        for n in [1, 2, 12, 13, 24, 36, 37, 60] {
            let chart = months(n);
            let marks = chart.category_marks();
            assert!(!marks.is_empty(), "{n}");
            for pair in marks.windows(2) {
                assert!(
                    pair[1].0 - pair[0].0 >= 9.0 * CHAR_WIDTH,
                    "{n} months: {pair:?}"
                );
            }
        }
    }

    #[test]
    fn an_empty_chart_draws_nothing_and_divides_by_nothing() {
        let c = chart(Unit::Count, vec![series("a", &[Some(0.0), None])], 2);
        let bars = c.bars();
        assert!(
            bars.iter()
                .all(|b| b.segments.is_empty() && b.total.is_none())
        );
        assert!(c.gridlines().is_empty());
        assert_eq!(c.sparkline(), "");
        let none = chart(Unit::Count, Vec::new(), 0);
        assert!(none.bars().is_empty() && none.points().is_empty());
        assert_eq!(none.trend_words(), "too few months to show a trend");
    }

    #[test]
    fn a_share_runs_from_zero_at_the_bottom_to_all_at_the_top_and_skips_gaps() {
        let c = chart(
            Unit::Share,
            vec![series("rate", &[Some(0.5), None, Some(1.0)])],
            3,
        );
        let points = c.points();
        assert_eq!(points.len(), 2);
        assert!((points[0].y - (PLOT_BOTTOM + PLOT_TOP) / 2.0).abs() < 1e-9);
        assert!((points[1].y - PLOT_TOP).abs() < 1e-9);
        assert_eq!(points[1].title, "M3: 100%");
        assert_eq!(
            points[1].number.as_deref(),
            Some("100%"),
            "printed above it"
        );
        assert_eq!(c.polyline(), "120.0,115.0 600.0,20.0");
        assert_eq!(c.category_marks()[1], (360.0, "M2"));
        let grid: Vec<String> = c.gridlines().into_iter().map(|g| g.label).collect();
        assert_eq!(grid, ["100%", "50%", "0%"]);
    }

    #[test]
    fn a_money_line_is_scaled_to_its_largest_value() {
        let c = chart(
            Unit::Cents,
            vec![series("lost", &[Some(100_000.0), Some(400_000.0)])],
            2,
        );
        let points = c.points();
        assert!((points[1].y - PLOT_TOP).abs() < 1e-9);
        assert!((points[0].y - (PLOT_BOTTOM - FULL / 4.0)).abs() < 1e-9);
        assert_eq!(c.gridlines()[0].label, "$4,000");
    }

    #[test]
    fn a_sparkline_spans_its_box_from_the_lowest_to_the_highest_value() {
        let c = chart(
            Unit::Count,
            vec![series("n", &[Some(2.0), None, Some(6.0), Some(4.0)])],
            4,
        );
        let ys: Vec<f64> = c
            .sparkline()
            .split(' ')
            .map(|p| p.split(',').nth(1).unwrap().parse().unwrap())
            .collect();
        assert_eq!(
            ys,
            [SPARK_HEIGHT - SPARK_PAD, SPARK_PAD, SPARK_HEIGHT / 2.0]
        );
        assert!(c.sparkline().starts_with("3.0,"));
        assert!(
            c.sparkline()
                .contains(&format!("{:.1},", SPARK_WIDTH - SPARK_PAD))
        );
        assert_eq!(c.trend_words(), "2 in M1, 4 in M4");
        let flat = chart(Unit::Count, vec![series("n", &[Some(3.0), Some(3.0)])], 2);
        assert_eq!(flat.sparkline(), "3.0,14.0 117.0,14.0");
    }
}
