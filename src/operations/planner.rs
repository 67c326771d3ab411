//! The planner sheet: the team's live view of upcoming cancellations and pauses, as a sortable,
//! filterable table, a month calendar, a CSV export and a personal calendar feed.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::Form;
use chrono::{Datelike, Duration, NaiveDate};
use serde::Deserialize;
use sqlx::PgConnection;

use crate::audit::Actor;
use crate::auth::roles::Role;
use crate::change_requests::rules::{Kind, State as RequestState};
use crate::users::db::PersonOption;
use crate::web::ctx::{Ctx, commit_and_go};
use crate::web::error::{AppError, AppResult};
use crate::web::fields::FieldErrors;
use crate::web::filters;
use crate::web::pages::{Chrome, Keyset};
use crate::web::{AppState, download};

/// One line of the planner sheet.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct PlannerLine {
    pub id: i64,
    pub request_id: i64,
    pub client_id: i64,
    pub client_name: String,
    pub kind: Kind,
    pub effective_date: NaiveDate,
    pub resume_date: Option<NaiveDate>,
    pub sem_name: Option<String>,
    pub am_name: Option<String>,
    pub ads_paused: bool,
    pub request_state: RequestState,
    /// Offboarding checklist items done, and in all (none for a pause).
    pub checklist_done: i64,
    pub checklist_total: i64,
}

impl PlannerLine {
    pub fn kind_label(&self) -> &'static str {
        self.kind.label()
    }
    pub fn resume(&self) -> String {
        self.resume_date.map(crate::time::day).unwrap_or_default()
    }
    /// "4 of 11", or empty when there is no checklist.
    pub fn progress(&self) -> String {
        if self.checklist_total == 0 {
            String::new()
        } else {
            format!("{} of {}", self.checklist_done, self.checklist_total)
        }
    }

    pub fn state_label(&self) -> &'static str {
        self.request_state.label()
    }

    /// Whether its dates may still be moved (`move_dates` refuses the rest).
    pub fn movable(&self) -> bool {
        super::rules::dates_movable(self.request_state)
    }
}

/// The filters and order of the sheet, from the address.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Filters {
    #[serde(default)]
    pub month: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub sem: String,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub dir: String,
    /// The page's edge: the entry whose line the next page starts after (`before`) or the
    /// previous page ends before (`after`), in the sheet's order.
    pub before: Option<i64>,
    pub after: Option<i64>,
}

/// The filters, checked: anything unknown is ignored rather than trusted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked {
    pub from: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
    pub kind: Option<Kind>,
    pub sem: Option<i64>,
    pub state: &'static str,
    pub order: (&'static str, &'static str),
    pub desc: bool,
}

/// The first day of `YYYY-MM`, if it is one.
/// The first day of `YYYY-MM`, if it is one in a year the desk could plan for (a year such as
/// 0000 or +10000 is a typing slip, and no date PostgreSQL would read as written).
pub fn parse_month(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(&format!("{}-01", s.trim()), "%Y-%m-%d")
        .ok()
        .filter(|d| (2000..=2100).contains(&d.year()))
}

pub fn next_month(first: NaiveDate) -> NaiveDate {
    if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1).expect("a date")
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1).expect("a date")
    }
}

/// The sortable columns and the SQL each sorts by, while the page is chosen and once it is
/// (a fixed list: nothing typed reaches SQL).
const SORTS: &[(&str, (&str, &str))] = &[
    ("effective", ("p.effective_date", "p.effective_date")),
    ("client", ("lower(c.name)", "lower(p.client_name)")),
    ("kind", ("p.kind", "p.kind")),
    ("specialist", ("lower(s.display_name)", "lower(p.sem_name)")),
    (
        "account_manager",
        ("lower(a.display_name)", "lower(p.am_name)"),
    ),
];

pub fn check(f: &Filters) -> Checked {
    let month = parse_month(&f.month);
    let state = match f.state.as_str() {
        "upcoming" | "past" | "paused" | "not_paused" | "all" => {
            ["upcoming", "past", "paused", "not_paused", "all"]
                .into_iter()
                .find(|s| *s == f.state)
                .expect("one of them")
        }
        // With a month chosen, every entry of it; otherwise what is still to come.
        _ if month.is_some() => "all",
        _ => "upcoming",
    };
    let order = SORTS
        .iter()
        .find(|(k, _)| *k == f.sort)
        .map(|(_, sql)| *sql)
        .unwrap_or(SORTS[0].1);
    Checked {
        from: month,
        until: month.map(next_month),
        // The planner holds cancellations and pauses; an addendum never reaches it.
        kind: Kind::from_key(&f.kind).filter(|k| *k != Kind::Addendum),
        sem: f.sem.trim().parse().ok(),
        state,
        order,
        desc: f.dir == "desc",
    }
}

pub async fn lines(
    conn: &mut PgConnection,
    c: &Checked,
    today: NaiveDate,
    pager: &Keyset,
) -> sqlx::Result<Vec<PlannerLine>> {
    // The page is chosen first (filters and sort need only the entry, its client and
    // people); the request's state and the progress counts are read for that page alone.
    // The statement holds only the filters in use, written into it: the dates, the kind, the
    // state and the page's length (dates and numbers the server formats, or one of a fixed
    // few; nothing typed); only a chosen specialist and the page's edge are bound. Each view
    // then has a plain statement that PostgreSQL plans once per connection and keeps, where
    // one statement with every filter optional, or a month bound as a parameter, was planned
    // again on every execution (it took longer than running it).
    // An entry with the columns it sorts by (the edge's and the page's alike).
    const ENTRIES: &str = "FROM planner_entries p
              JOIN clients c ON c.id = p.client_id
              LEFT JOIN users s ON s.id = p.sem_specialist_id
              LEFT JOIN users a ON a.id = p.account_manager_id";
    let key = c.order.0;
    let mut q = sqlx::QueryBuilder::new("WITH ");
    if let Some(edge) = pager.edge() {
        // The edge's own place in the order, read from its row (removed since or not).
        q.push(format!(
            "edge AS (SELECT {key} AS k, p.effective_date AS eff, p.id {ENTRIES} WHERE p.id = "
        ))
        .push_bind(edge)
        .push("), ");
    }
    q.push(format!(
        "page AS (
            SELECT p.id, p.change_request_id, p.client_id, c.name AS client_name, p.kind,
                   p.effective_date, p.resume_date, s.display_name AS sem_name,
                   a.display_name AS am_name
              {ENTRIES}
             WHERE p.removed_at IS NULL"
    ));
    if let Some(from) = c.from {
        q.push(format!(" AND p.effective_date >= '{from}'"));
    }
    if let Some(until) = c.until {
        q.push(format!(" AND p.effective_date < '{until}'"));
    }
    if let Some(kind) = c.kind {
        q.push(format!(" AND p.kind = '{}'", kind.key()));
    }
    if let Some(sem) = c.sem {
        q.push(" AND p.sem_specialist_id = ").push_bind(sem);
    }
    const PAUSED: &str = "EXISTS (SELECT 1 FROM sem_tasks t
                 WHERE t.change_request_id = p.change_request_id AND t.done_at IS NOT NULL)";
    match c.state {
        "upcoming" => {
            q.push(format!(" AND p.effective_date >= '{today}'"));
        }
        "past" => {
            q.push(format!(" AND p.effective_date < '{today}'"));
        }
        "paused" => {
            q.push(format!(" AND {PAUSED}"));
        }
        "not_paused" => {
            q.push(format!(" AND NOT {PAUSED}"));
        }
        _ => {}
    }
    let order = Order::of(c.desc, pager.backwards());
    if pager.edge().is_some() {
        q.push(order.past_edge(key));
    }
    let limit = pager.limit();
    q.push(format!(
        " ORDER BY {inner} LIMIT {limit})
         SELECT p.id, p.change_request_id AS request_id, p.client_id, p.client_name, p.kind,
                p.effective_date, p.resume_date, p.sem_name, p.am_name,
                EXISTS (SELECT 1 FROM sem_tasks t WHERE t.change_request_id = p.change_request_id
                          AND t.done_at IS NOT NULL) AS ads_paused,
                r.state AS request_state,
                (SELECT count(*) FROM checklist_items i WHERE i.change_request_id = p.change_request_id
                   AND i.done_at IS NOT NULL) AS checklist_done,
                (SELECT count(*) FROM checklist_items i WHERE i.change_request_id = p.change_request_id
                   AND i.cancelled_at IS NULL) AS checklist_total
           FROM page p
           JOIN change_requests r ON r.id = p.change_request_id
          ORDER BY {outer}",
        inner = order.by(key),
        outer = order.by(c.order.1),
    ));
    q.build_query_as().fetch_all(conn).await
}

/// The planner's order as a statement reads it: the chosen column either way with its blanks
/// (no specialist, no account manager) last, then the effective date and the id; read the
/// other way round, blanks first, when going back a page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Order {
    /// The chosen column descending, as the page reads (not as shown).
    desc: bool,
    /// Going back: the lines before the edge, read from the edge towards the first.
    back: bool,
}

impl Order {
    fn of(desc: bool, back: bool) -> Self {
        Order {
            desc: desc != back,
            back,
        }
    }

    /// `ORDER BY` for the column `key`.
    fn by(self, key: &str) -> String {
        let dir = if self.desc { "DESC" } else { "ASC" };
        let (nulls, ties) = if self.back {
            ("FIRST", "DESC")
        } else {
            ("LAST", "ASC")
        };
        format!("{key} {dir} NULLS {nulls}, p.effective_date {ties}, p.id {ties}")
    }

    /// The filter keeping the lines past the edge in this order: a key further on, or a
    /// blank one where the edge's is not (blanks come last as shown, first when read back), or
    /// the same key (blank or not) and a later date and id. The edge's values are read as
    /// values (the `edge` statement's one row, computed once before the scan), not joined, so
    /// that by date they bound the scan of the index of dates and ids: the page starts at the
    /// edge rather than at the month's first entry. No edge (an unknown id): no line.
    fn past_edge(self, key: &str) -> String {
        const KEY: &str = "(SELECT k FROM edge)";
        const DATE: &str = "(SELECT eff FROM edge)";
        const ID: &str = "(SELECT id FROM edge)";
        let further = if self.desc { "<" } else { ">" };
        let ties = if self.back { "<" } else { ">" };
        if key == "p.effective_date" {
            // By date, the key is the date.
            return format!(
                " AND p.effective_date {further}= {DATE}
                  AND (p.effective_date {further} {DATE} OR p.id {ties} {ID})"
            );
        }
        let blank_past = if self.back {
            format!("{key} IS NOT NULL AND {KEY} IS NULL")
        } else {
            format!("{key} IS NULL AND {KEY} IS NOT NULL")
        };
        format!(
            " AND ({key} {further} {KEY} OR ({blank_past})
                  OR ({key} IS NOT DISTINCT FROM {KEY}
                      AND (p.effective_date, p.id) {ties} ({DATE}, {ID})))"
        )
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "operations/planner.html")]
pub(super) struct PlannerPage {
    chrome: Chrome,
    lines: Vec<PlannerLine>,
    filters: Filters,
    checked: Checked,
    specialists: Vec<PersonOption>,
    pager: Keyset,
    query: String,
    may_move: bool,
    /// The entry whose date change needs another look, its message and what was typed.
    pub move_for: Option<i64>,
    pub move_error: String,
    /// The field the message is about: `effective_date` or `resume_date`.
    pub move_field: &'static str,
    pub move_effective: String,
    pub move_resume: String,
    /// Whether to offer "the date is right" (the date typed is far from today), and whether it
    /// was ticked.
    pub move_confirm: bool,
    pub move_confirmed: bool,
}

impl PlannerPage {
    /// The column the view is sorted by: the effective date when none is asked for.
    fn sorted_by(&self) -> &str {
        if self.filters.sort.is_empty() {
            "effective"
        } else {
            self.filters.sort.as_str()
        }
    }

    /// The address of this view sorted by `key` (flipping the direction if already so, also
    /// on the default sort: its first click reverses it, as its mark promises).
    fn sort_link(&self, key: &str) -> String {
        let dir = if self.sorted_by() == key && !self.checked.desc {
            "desc"
        } else {
            "asc"
        };
        format!("/planner?{}&sort={key}&dir={dir}", self.filter_query())
    }

    fn sort_mark(&self, key: &str) -> &'static str {
        match (self.sorted_by() == key, self.checked.desc) {
            (true, false) => "▲",
            (true, true) => "▼",
            _ => "",
        }
    }

    fn filter_query(&self) -> String {
        filter_query(&self.filters)
    }

    /// The view and its page, kept through a move of dates.
    fn view_query(&self) -> String {
        view_query(&self.filters)
    }

    fn sem_chosen(&self, id: &i64) -> bool {
        self.checked.sem == Some(*id)
    }

    fn typed_effective(&self, l: &PlannerLine) -> String {
        if self.move_for == Some(l.id) {
            self.move_effective.clone()
        } else {
            l.effective_date.to_string()
        }
    }

    fn typed_resume(&self, l: &PlannerLine) -> String {
        if self.move_for == Some(l.id) {
            self.move_resume.clone()
        } else {
            l.resume_date.map(|d| d.to_string()).unwrap_or_default()
        }
    }

    fn confirm_for(&self, l: &PlannerLine) -> bool {
        self.move_for == Some(l.id) && self.move_confirm
    }

    /// Whether `field` of the line's move form is the one the message is about.
    fn invalid(&self, l: &PlannerLine, field: &str) -> bool {
        // The field is named only beside a message.
        self.move_for == Some(l.id) && self.move_field == field
    }

    fn error_for(&self, l: &PlannerLine) -> &str {
        if self.move_for == Some(l.id) {
            &self.move_error
        } else {
            ""
        }
    }
}

/// The view's filters and order, for the sort-free links (the export) and the pager's.
fn sorted_query(f: &Filters) -> String {
    format!(
        "{}&sort={}&dir={}",
        filter_query(f),
        crate::web::ctx::encode_component(&f.sort),
        crate::web::ctx::encode_component(&f.dir)
    )
}

/// The view as it is, at its page: where a move of dates returns to.
fn view_query(f: &Filters) -> String {
    let edge = match (f.before, f.after) {
        (Some(id), _) => format!("&before={id}"),
        (None, Some(id)) => format!("&after={id}"),
        (None, None) => String::new(),
    };
    format!("{}{edge}", sorted_query(f))
}

fn filter_query(f: &Filters) -> String {
    use crate::web::ctx::encode_component as e;
    format!(
        "month={}&kind={}&sem={}&state={}",
        e(f.month.trim()),
        e(&f.kind),
        e(f.sem.trim()),
        e(&f.state)
    )
}

pub(super) async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(filters): Query<Filters>,
) -> AppResult<PlannerPage> {
    render(&state, &ctx, filters).await
}

async fn render(state: &AppState, ctx: &Ctx, filters: Filters) -> AppResult<PlannerPage> {
    let checked = check(&filters);
    let mut pager = Keyset::new(filters.before, filters.after, 50);
    let query = sorted_query(&filters);
    pager.keep = format!("&{query}");
    // Also shown at /planner/{id} when a move of dates needs another look.
    pager.path = "/planner";
    let mut conn = state.db.acquire().await?;
    let rows = lines(&mut conn, &checked, state.clock.today(), &pager).await?;
    let specialists =
        crate::users::db::people_with_role(&mut conn, Role::SemSpecialist.key()).await?;
    Ok(PlannerPage {
        chrome: Chrome::new(state, ctx, "/planner"),
        lines: pager.trim(rows, |l| l.id),
        may_move: ctx.user.roles.contains(Role::OpsLead),
        move_for: None,
        move_error: String::new(),
        move_field: "",
        move_effective: String::new(),
        move_resume: String::new(),
        move_confirm: false,
        move_confirmed: false,
        filters,
        checked,
        specialists,
        pager,
        query,
    })
}

/// Rows fetched per page of the export; the whole (filtered) sheet is exported.
const EXPORT_LIMIT: i64 = 50_000;

pub(super) async fn export(
    State(state): State<AppState>,
    _ctx: Ctx,
    Query(filters): Query<Filters>,
) -> AppResult<Response> {
    let checked = check(&filters);
    let mut conn = state.db.acquire().await?;
    let rows = lines(
        &mut conn,
        &checked,
        state.clock.today(),
        &Keyset::new(None, None, EXPORT_LIMIT),
    )
    .await?;
    let header = [
        "Client",
        "Change",
        "Effective date",
        "Resume date",
        "SEM specialist",
        "Account manager",
        "Ads paused",
        "Offboarding",
        "Request state",
        "Request",
    ];
    let records = rows.iter().map(|l| {
        vec![
            l.client_name.clone(),
            l.kind_label().to_string(),
            l.effective_date.to_string(),
            l.resume_date.map(|d| d.to_string()).unwrap_or_default(),
            l.sem_name.clone().unwrap_or_default(),
            l.am_name.clone().unwrap_or_default(),
            if l.ads_paused { "yes" } else { "no" }.to_string(),
            l.progress(),
            l.state_label().to_string(),
            format!("{}/requests/{}", state.config.base_url, l.request_id),
        ]
    });
    let name = format!("planner-{}.csv", state.clock.today());
    download::csv(
        &name,
        std::iter::once(header.map(String::from).to_vec()).chain(records),
    )
}

/// One day of the month calendar.
pub struct Day {
    pub date: Option<NaiveDate>,
    pub today: bool,
    pub entries: Vec<PlannerLine>,
}

impl Day {
    pub fn number(&self) -> String {
        self.date.map(|d| d.day().to_string()).unwrap_or_default()
    }
}

/// The weeks (Monday first) of the month starting `first`, each day with its entries.
pub fn month_grid(first: NaiveDate, entries: &[PlannerLine], today: NaiveDate) -> Vec<Vec<Day>> {
    let last = next_month(first) - Duration::days(1);
    let lead = first.weekday().num_days_from_monday() as i64;
    let mut weeks = Vec::new();
    let mut week = Vec::new();
    for _ in 0..lead {
        week.push(Day {
            date: None,
            today: false,
            entries: Vec::new(),
        });
    }
    let mut day = first;
    while day <= last {
        week.push(Day {
            date: Some(day),
            today: day == today,
            entries: entries
                .iter()
                .filter(|e| e.effective_date == day)
                .cloned()
                .collect(),
        });
        if week.len() == 7 {
            weeks.push(std::mem::take(&mut week));
        }
        day += Duration::days(1);
    }
    if !week.is_empty() {
        while week.len() < 7 {
            week.push(Day {
                date: None,
                today: false,
                entries: Vec::new(),
            });
        }
        weeks.push(week);
    }
    weeks
}

#[derive(Template, WebTemplate)]
#[template(path = "operations/calendar.html")]
pub(super) struct CalendarPage {
    chrome: Chrome,
    title: String,
    weeks: Vec<Vec<Day>>,
    previous: String,
    next: String,
    month: String,
}

pub(super) async fn calendar(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(filters): Query<Filters>,
) -> AppResult<CalendarPage> {
    let today = state.clock.today();
    let first = parse_month(&filters.month).unwrap_or_else(|| today.with_day(1).expect("day 1"));
    let checked = Checked {
        state: "all",
        ..check(&Filters {
            month: first.format("%Y-%m").to_string(),
            ..filters
        })
    };
    let mut conn = state.db.acquire().await?;
    let rows = lines(&mut conn, &checked, today, &Keyset::new(None, None, 2000)).await?;
    let previous = (first - Duration::days(1)).with_day(1).expect("day 1");
    Ok(CalendarPage {
        chrome: Chrome::new(&state, &ctx, "/planner"),
        title: first.format("%B %Y").to_string(),
        weeks: month_grid(first, &rows, today),
        previous: previous.format("%Y-%m").to_string(),
        next: next_month(first).format("%Y-%m").to_string(),
        month: first.format("%Y-%m").to_string(),
    })
}

#[derive(Debug, Deserialize)]
pub(super) struct MoveForm {
    #[serde(default)]
    effective_date: String,
    #[serde(default)]
    resume_date: String,
    /// Ticked to keep a date far from today.
    confirm_date: Option<String>,
}

/// The dates a move asks for, checked, or the message for the form and whether the date is
/// far enough from today to be asked about.
struct MoveTo {
    effective: NaiveDate,
    resume: Option<NaiveDate>,
}

/// The dates checked, or the field at fault, its message and whether the date is far.
fn check_move(form: &MoveForm, today: NaiveDate) -> Result<MoveTo, (&'static str, String, bool)> {
    let mut errors = FieldErrors::default();
    let effective = NaiveDate::parse_from_str(form.effective_date.trim(), "%Y-%m-%d").ok();
    if effective.is_none() {
        errors.add(
            "effective_date",
            "Give the new effective date (YYYY-MM-DD).",
        );
    }
    // A mistyped year is caught as on filing: a date far from today is asked about once.
    let mut far = false;
    if let Some(d) = effective {
        use crate::change_requests::form::{FUTURE_DAYS, PAST_DAYS};
        let days = (d - today).num_days();
        far = !(-PAST_DAYS..=FUTURE_DAYS).contains(&days);
        if far && form.confirm_date.is_none() {
            errors.add(
                "effective_date",
                format!(
                    "{} is {} days {} today. If that is right, tick \"the date is right\" and move it again.",
                    d.format("%B %-d, %Y"),
                    days.abs(),
                    if days < 0 { "before" } else { "after" }
                ),
            );
        }
    }
    let resume = match form.resume_date.trim() {
        "" => None,
        s => match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                errors.add("resume_date", "A date (YYYY-MM-DD), or leave it empty.");
                None
            }
        },
    };
    if let (Some(e), Some(r)) = (effective, resume)
        && r < e
    {
        errors.add(
            "resume_date",
            "The resume date cannot be before the effective date.",
        );
    }
    match effective {
        Some(effective) if errors.is_empty() => Ok(MoveTo { effective, resume }),
        _ => {
            let field = if errors.has("effective_date") {
                "effective_date"
            } else {
                "resume_date"
            };
            Err((field, errors.msg(field).to_string(), far))
        }
    }
}

/// The Ops Lead moves an entry's dates: the request's one date and every copy of it move
/// together (see `dates::move_dates`), the specialist and the account manager are told. On the
/// request's timeline.
pub(super) async fn move_dates(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Query(view): Query<Filters>,
    Form(form): Form<MoveForm>,
) -> AppResult<Response> {
    // Back to the view the move was made from, at its page.
    let back = format!("/planner?{}", view_query(&view));
    let to = match check_move(&form, state.clock.today()) {
        Ok(to) => to,
        Err((field, message, far)) => {
            let mut page = render(&state, &ctx, view).await?;
            page.move_for = Some(id);
            page.move_error = message;
            page.move_field = field;
            page.move_confirm = far;
            page.move_confirmed = form.confirm_date.is_some();
            page.move_effective = form.effective_date;
            page.move_resume = form.resume_date;
            // The entry's form may be gone meanwhile: the entry left this view (moved by
            // someone else, or taken off the planner), or its request moved on. The message
            // then goes above the page.
            match page.lines.iter().find(|l| l.id == id) {
                Some(l) if l.movable() => {}
                Some(l) => {
                    let message = not_movable(&l.client_name, l.state_label());
                    return Ok(crate::web::flash::redirect(&back, &message));
                }
                None => {
                    // Its request may have moved on too: that is the answer, whatever was typed.
                    let mut conn = state.db.acquire().await?;
                    if let Some((request_id, _, _)) =
                        super::db::planner_entry(&mut conn, id).await?
                        && let Some(r) =
                            crate::change_requests::db::find(&mut conn, request_id).await?
                        && !super::rules::dates_movable(r.state)
                    {
                        let message = not_movable(&r.client_name, r.state_label());
                        return Ok(crate::web::flash::redirect(&back, &message));
                    }
                    // A far date's message asks for a tick the page cannot offer here.
                    let why = if far {
                        String::new()
                    } else {
                        format!(" {}", page.move_error)
                    };
                    page.chrome.flash = Some(format!(
                        "The dates were not moved.{why} The entry is not on this page (it may have left this view): find it with the filters and move it again."
                    ));
                }
            }
            return Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let mut tx = state.db.begin().await?;
    let (request_id, kind, removed) = super::db::planner_entry(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let r = crate::change_requests::db::lock(&mut tx, request_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (effective, resume) = (to.effective, to.resume.filter(|_| kind == Kind::Pause));
    let client = &r.client_name;
    if !super::rules::dates_movable(r.state) {
        return commit_and_go(tx, &back, &not_movable(client, r.state_label())).await;
    }
    if removed {
        // Only a reinstatement takes a line off, and it closes the request: not reached.
        return Err(AppError::NotFound);
    }
    if effective == r.effective_date && resume == r.resume_date {
        let day = crate::time::day(effective);
        let message = format!("Nothing changed: {client} already takes effect {day}.");
        return commit_and_go(tx, &back, &message).await;
    }
    // The request's own date is the one fact; the planner's is a copy, moved with the rest.
    let moved = super::dates::Move {
        effective_from: r.effective_date,
        effective_to: effective,
        resume_from: r.resume_date,
        resume_to: resume,
    };
    let message = moved_message(client, kind, &moved);
    let actor = Actor::from_ctx(&ctx);
    let days = &state.config.reminder_days;
    super::dates::move_dates(&mut tx, &state.clock, days, &actor, request_id, moved).await?;
    let sem = super::db::planner_specialist(&mut tx, id).await?;
    super::notify::dates_moved(&mut tx, &state.config, &r, sem, effective, resume).await?;
    commit_and_go(tx, &back, &message).await
}

/// Why a move changed nothing: the entry's request is no longer approved (`state_label`).
fn not_movable(client: &str, state_label: &str) -> String {
    let state = state_label.to_lowercase();
    format!("Nothing changed: the request for {client} is {state}.")
}

/// What the Ops Lead is told after a move: what changed (the date it takes effect, a pause's
/// resume date, or both; emptying a pause's resume date clears it: "resume when known") and
/// what moved with it.
fn moved_message(client: &str, kind: Kind, moved: &super::dates::Move) -> String {
    let effective = (moved.effective_from != moved.effective_to)
        .then(|| format!("takes effect {}", crate::time::day(moved.effective_to)));
    let resume = (kind == Kind::Pause && moved.resume_from != moved.resume_to).then(|| match moved
        .resume_to
    {
        Some(d) => format!("resumes {}", crate::time::day(d)),
        None => "has no resume date (resume when known)".to_string(),
    });
    // Tasks, checklist and reminders follow the date it takes effect, not its resume date.
    let with_it = match kind {
        Kind::Pause => "; its tasks and reminders moved with it",
        _ => "; its tasks, checklist and reminders moved with it",
    };
    match (effective, resume) {
        (Some(e), Some(r)) => format!("{client} now {e} and {r}{with_it}."),
        (Some(e), None) => format!("{client} now {e}{with_it}."),
        (None, Some(r)) => format!("{client} now {r}."),
        (None, None) => format!("{client} keeps its dates."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_is_read_only_in_the_years_the_desk_plans_for() {
        assert_eq!(
            parse_month(" 2026-12 "),
            NaiveDate::from_ymd_opt(2026, 12, 1)
        );
        for slip in [
            "0000-01",
            "-0001-01",
            "+10000-01",
            "1999-12",
            "2026-13",
            "Dec 2026",
        ] {
            assert_eq!(parse_month(slip), None, "{slip}");
        }
    }

    #[test]
    fn filters_are_read_from_a_fixed_list() {
        let c = check(&Filters {
            month: "2026-12".into(),
            kind: "pause".into(),
            sem: "7".into(),
            sort: "client; DROP TABLE clients".into(),
            ..Default::default()
        });
        assert_eq!(c.from, NaiveDate::from_ymd_opt(2026, 12, 1));
        assert_eq!(c.until, NaiveDate::from_ymd_opt(2027, 1, 1));
        assert_eq!(c.kind, Some(Kind::Pause));
        assert_eq!(c.sem, Some(7));
        assert_eq!(c.state, "all", "a month shows all of it");
        assert_eq!(c.order.0, "p.effective_date", "an unknown sort falls back");
        let c = check(&Filters {
            kind: "addendum".into(),
            state: "bogus".into(),
            sort: "client".into(),
            dir: "desc".into(),
            ..Default::default()
        });
        assert_eq!(c.kind, None);
        assert_eq!(c.state, "upcoming");
        assert_eq!((c.order.0, c.desc), ("lower(c.name)", true));
    }

    #[test]
    fn a_month_is_whole_weeks_starting_monday() {
        let first = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(); // a Tuesday
        let weeks = month_grid(first, &[], first);
        assert!(weeks.iter().all(|w| w.len() == 7));
        assert!(weeks[0][0].date.is_none());
        assert_eq!(weeks[0][1].date, Some(first));
        let days: usize = weeks.iter().flatten().filter(|d| d.date.is_some()).count();
        assert_eq!(days, 31);
        assert_eq!(
            next_month(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()),
            NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()
        );
        assert_eq!(parse_month("2026-13"), None);
    }
}
