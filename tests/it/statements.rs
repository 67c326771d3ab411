//! No page's number of SQL statements grows with the rows it shows: every page is loaded as the
//! person who uses it over 10 and over 1,000 change requests (the benchmark's generator at two
//! sizes), and the statements sqlx ran for it are counted.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;
use tracing::instrument::WithSubscriber;
use tracing_subscriber::layer::SubscriberExt;

use crate::support::TestApp;

/// Counts the statements sqlx logs (each one it runs) while a request is served.
struct Statements(Arc<AtomicUsize>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Statements {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if event.metadata().target() == "sqlx::query" {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Serves one GET inside this task (so the count sees only its statements) and returns its
/// status and the number of statements it ran.
pub(crate) async fn statements(app: &TestApp, cookie: &str, path: &str) -> (StatusCode, usize) {
    let seen = Arc::new(AtomicUsize::new(0));
    let subscriber = tracing_subscriber::registry().with(Statements(seen.clone()));
    let mut request = Request::get(path)
        .header("cookie", cookie)
        .body(Body::empty())
        .unwrap();
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
    let response = offboarding_desk::app(app.state.clone())
        .oneshot(request)
        .with_subscriber(subscriber)
        .await
        .unwrap();
    (response.status(), seen.load(Ordering::Relaxed))
}

/// An app over the benchmark's data with `clients` clients (ten requests each).
pub(crate) async fn app_with(clients: u32) -> TestApp {
    seeded(TestApp::spawn().await, clients).await
}

async fn seeded(app: TestApp, clients: u32) -> TestApp {
    let seed = include_str!("../bench/seed.sql")
        .replace("{{HASH}}", "not-a-password-hash")
        .replace("{{CLIENTS}}", &clients.to_string());
    sqlx::raw_sql(sqlx::AssertSqlSafe(seed))
        .execute(&app.db)
        .await
        .expect("the generator runs");
    app
}

async fn user(app: &TestApp, email: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

/// The pages to count, as who uses them; `{request}` is the request with the longest
/// timeline, `{client}` its client, `{task}` a change task, `{month}` the busiest month.
const PAGES: &[(&str, &str)] = &[
    ("am1", "/"),
    ("retention1", "/"),
    ("teamlead1", "/"),
    ("dm1", "/"),
    ("approver1", "/"),
    ("finance1", "/"),
    ("accounting1", "/"),
    ("ops1", "/"),
    ("leadership1", "/"),
    ("sem1", "/"),
    ("contractor1", "/"),
    ("admin1", "/"),
    ("ops1", "/?all=1"),
    ("sem1", "/?all=1"),
    ("approver1", "/requests/{request}"),
    ("am1", "/requests"),
    ("am1", "/requests?state=completed"),
    ("am1", "/clients"),
    ("am1", "/clients?q=ford"),
    ("am1", "/clients?before={client}"),
    ("am1", "/clients?q=ford&after={client}"),
    ("am1", "/clients/{client}"),
    ("ops1", "/tasks/{task}"),
    ("ops1", "/planner"),
    ("ops1", "/planner?month={month}"),
    ("ops1", "/planner?month={month}&sort=client&dir=desc"),
    ("ops1", "/planner/calendar?month={month}"),
    ("ops1", "/offboarding"),
    ("ops1", "/offboarding?show=all"),
    ("ops1", "/offboarding?show=all&before={request}"),
    ("ops1", "/offboarding.csv"),
    ("ops1", "/planner.csv?month={month}"),
    ("ops1", "/planner/feed"),
    ("admin1", "/clients/{client}/edit"),
    ("admin1", "/clients/new"),
    ("approver1", "/substitutes"),
    ("admin1", "/admin/audit"),
    ("admin1", "/admin/users"),
    ("admin1", "/admin/mail"),
    ("admin1", "/admin/jobs"),
    ("admin1", "/admin/jobs?after={task}"),
    ("admin1", "/admin/users?before={client}"),
    ("admin1", "/admin/approvals"),
    ("admin1", "/admin/distribution"),
    ("admin1", "/admin/reasons"),
    ("admin1", "/admin/checklist"),
    ("admin1", "/admin/chat"),
];

/// Each page of [`PAGES`]: who, the page as listed, its address over `app`'s data.
async fn paths(app: &TestApp) -> Vec<(&'static str, &'static str, String)> {
    let request: i64 = sqlx::query_scalar(
        "SELECT entity_id::bigint FROM audit_events WHERE entity_type = 'change_request'
          GROUP BY entity_id ORDER BY count(*) DESC, entity_id LIMIT 1",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    let client: i64 = sqlx::query_scalar("SELECT client_id FROM change_requests WHERE id = $1")
        .bind(request)
        .fetch_one(&app.db)
        .await
        .unwrap();
    let task: i64 = sqlx::query_scalar("SELECT max(id) FROM change_tasks")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let month: String = sqlx::query_scalar(
        "SELECT to_char(effective_date, 'YYYY-MM') FROM planner_entries
          GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    PAGES
        .iter()
        .map(|&(email, page)| {
            let path = page
                .replace("{request}", &request.to_string())
                .replace("{client}", &client.to_string())
                .replace("{task}", &task.to_string())
                .replace("{month}", &month);
            (email, page, path)
        })
        .collect()
}

async fn count_all(app: &TestApp) -> Vec<(String, StatusCode, usize)> {
    let mut counts = Vec::new();
    for (email, page, path) in paths(app).await {
        let id = user(app, &format!("{email}@bench.test")).await;
        let cookie = app.session_cookie(id).await;
        // The first visit may do one-off work (a session touched); the second is counted.
        statements(app, &cookie, &path).await;
        let (status, n) = statements(app, &cookie, &path).await;
        counts.push((format!("{email} {page}"), status, n));
    }
    counts
}

/// PostgreSQL keeps each page's statements' plans instead of planning them again on every
/// execution (which cost more than running them: README, "Performance"). It plans a prepared
/// statement for its values five times, then keeps one plan for all values unless that looks
/// dearer; a statement it still plans per value after every page was loaded eight times on one
/// connection is one whose plan depends on a bound value. Only the client search by a pattern
/// may: how many names match "ford" may well be what its plan should depend on.
#[tokio::test]
async fn every_pages_statements_keep_their_plan() {
    let app = seeded(TestApp::spawn_on_one_connection().await, 100).await;
    for (email, _, path) in paths(&app).await {
        let id = user(&app, &format!("{email}@bench.test")).await;
        let cookie = app.session_cookie(id).await;
        for _ in 0..8 {
            let (status, _) = statements(&app, &cookie, &path).await;
            assert_eq!(status, StatusCode::OK, "{email} {path}");
        }
    }
    let prepared: Vec<(String, i64, i64)> =
        sqlx::query_as("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert!(
        prepared.len() > 40,
        "the pages' statements were prepared on this one connection ({})",
        prepared.len()
    );
    let replanned: Vec<String> = prepared
        .iter()
        .filter(|(statement, _, custom)| *custom > 5 && !statement.contains("LIKE $1"))
        .map(|(statement, generic, custom)| {
            let text = statement.split_whitespace().collect::<Vec<_>>().join(" ");
            format!("{custom} custom, {generic} generic: {text:.600}")
        })
        .collect();
    assert!(
        replanned.is_empty(),
        "planned on every execution:\n{}",
        replanned.join("\n")
    );
    assert!(
        prepared
            .iter()
            .any(|(statement, _, _)| statement.contains("LIKE $1")),
        "the client search ran"
    );
}

/// Pages that read a part only when the record has one (the request page's questions,
/// comments, attachments and the rest: `change_requests::db::find_for_page`).
const BY_PARTS: &[&str] = &["approver1 /requests/{request}"];

/// The most the request page runs: the request with which parts it has, the timeline and the
/// names it mentions, the save attempt, the round's steps and whom the viewer stands in for,
/// and one for each of its six other parts.
const REQUEST_PAGE_MOST: usize = 12;

#[tokio::test]
async fn no_page_runs_more_statements_for_more_rows() {
    let small = app_with(1).await;
    let large = app_with(100).await;
    let rows: (i64, i64) = (
        sqlx::query_scalar("SELECT count(*) FROM change_requests")
            .fetch_one(&small.db)
            .await
            .unwrap(),
        sqlx::query_scalar("SELECT count(*) FROM change_requests")
            .fetch_one(&large.db)
            .await
            .unwrap(),
    );
    assert_eq!(rows, (10, 1000), "the two data sets");
    let at_10 = count_all(&small).await;
    let at_1000 = count_all(&large).await;
    let mut grew = Vec::new();
    for ((page, status_small, n_small), (_, status_large, n_large)) in at_10.iter().zip(&at_1000) {
        assert_eq!(*status_small, StatusCode::OK, "{page} over 10 requests");
        assert_eq!(*status_large, StatusCode::OK, "{page} over 1,000 requests");
        assert!(*n_small > 0, "{page}: the count sees the page's statements");
        if BY_PARTS.contains(&page.as_str()) {
            // Its count depends on which parts the request has, never on how many rows.
            assert!(
                *n_small <= REQUEST_PAGE_MOST && *n_large <= REQUEST_PAGE_MOST,
                "{page}: {n_small} and {n_large} statements, more than its parts need"
            );
        } else if n_large != n_small {
            grew.push(format!(
                "{page}: {n_small} statements at 10, {n_large} at 1,000"
            ));
        }
    }
    for (page, _, n) in &at_1000 {
        eprintln!("{n:>3} statements: {page}");
    }
    assert!(
        grew.is_empty(),
        "statements grew with the rows:\n{}",
        grew.join("\n")
    );
}

#[tokio::test]
async fn a_long_timeline_shows_its_latest_entries_and_the_rest_on_request() {
    let app = app_with(1).await;
    let request: i64 = sqlx::query_scalar(
        "SELECT entity_id::bigint FROM audit_events WHERE action = 'change_request.commented'
          LIMIT 1",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    let total: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE entity_type = 'change_request' AND entity_id = $1",
    )
    .bind(request.to_string())
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(
        total > 100,
        "the generator gives one request a long history"
    );
    let cookie = app
        .session_cookie(user(&app, "approver1@bench.test").await)
        .await;
    let page = |path: String| {
        let (app, cookie) = (&app, &cookie);
        async move { app.page(cookie, &path).await }
    };
    let entries = |html: &str| html.matches("<li><span class=\"muted\">").count() as i64;

    let latest = page(format!("/requests/{request}")).await;
    assert_eq!(entries(&latest), 100, "the latest hundred");
    assert!(
        latest.contains(&format!("{} earlier entries are not shown", total - 100)),
        "{latest}"
    );
    let filed = "</strong>: Filed the request</li>";
    assert!(!latest.contains(filed), "the oldest entry is not shown");

    let all = page(format!("/requests/{request}?history=all")).await;
    assert_eq!(entries(&all), total, "the whole timeline");
    assert!(!all.contains("earlier entries are not shown"));
    assert!(all.contains(filed), "the oldest entry is shown");
}

/// The Reports page computes each panel with one statement (twelve), the same over 10 and
/// 1,000 requests; while the record is unchanged, the next viewer's page runs none of them.
#[tokio::test]
async fn reports_run_one_statement_per_panel_and_none_when_kept() {
    for clients in [1, 100] {
        let app = app_with(clients).await;
        let id = user(&app, "leadership1@bench.test").await;
        let cookie = app.session_cookie(id).await;
        // A kept report is keyed by the minute: a pair of loads across a minute's turn is
        // measured again.
        let (cold, kept) = loop {
            // The session read and kept first, so neither load below counts it.
            statements(&app, &cookie, "/").await;
            let minute = || chrono::Utc::now().format("%H:%M").to_string();
            let before = minute();
            let (status, cold) = statements(&app, &cookie, "/reports").await;
            assert_eq!(status, StatusCode::OK);
            let (status, kept) = statements(&app, &cookie, "/reports").await;
            assert_eq!(status, StatusCode::OK);
            if minute() == before {
                break (cold, kept);
            }
            // A new minute: the next first load computes again.
        };
        assert_eq!(
            cold - kept,
            12,
            "{clients} clients: the twelve panels' statements, computed once"
        );
        assert_eq!(
            kept, 5,
            "{clients} clients: the kept page runs the latest change's and the filter's four \
             lists' (the session is kept in memory)"
        );
        eprintln!("reports over {clients}0 requests: {cold} statements computed, {kept} kept");
    }
}

/// A desk list with more lines than the desk shows says so and links to the whole desk, which
/// shows them all (the contractor has no other page to reach its items from).
#[tokio::test]
async fn a_desk_with_more_than_it_shows_says_so_and_shows_all_on_request() {
    let app = app_with(100).await;
    // More contractor items on the requests that have some: copies of each open one.
    for _ in 0..3 {
        sqlx::query(
            "INSERT INTO checklist_items (change_request_id, position, title, owner_role, due_on)
             SELECT change_request_id, position, title || ' (again)', owner_role, due_on
               FROM checklist_items
              WHERE owner_role = 'contractor' AND done_at IS NULL AND cancelled_at IS NULL",
        )
        .execute(&app.db)
        .await
        .unwrap();
    }
    let waiting: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM checklist_items
          WHERE owner_role = 'contractor' AND done_at IS NULL AND cancelled_at IS NULL",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(
        waiting > 50,
        "the data has more than a desk shows ({waiting})"
    );
    let cookie = app
        .session_cookie(user(&app, "contractor1@bench.test").await)
        .await;
    let rows = |html: &str| html.matches("<tr data-item=").count() as i64;
    let desk = app.page(&cookie, "/").await;
    assert_eq!(rows(&desk), 50);
    assert!(desk.contains("id=\"desk-cut\""), "the desk says it goes on");
    assert!(desk.contains("My offboarding items has more than 50 lines"));
    assert!(desk.contains("href=\"/?all=1\""));
    let all = app.page(&cookie, "/?all=1").await;
    assert_eq!(rows(&all), waiting.min(1000));
    assert!(all.contains("id=\"desk-all\""), "{all}");
    // A desk within its limit says nothing of it.
    let admin = app
        .session_cookie(user(&app, "admin1@bench.test").await)
        .await;
    assert!(!app.page(&admin, "/").await.contains("desk-cut"));
}

/// Walks a list by its "next" link (`older`) to the end, then back by its "previous" link
/// (`newer`): checks it shows `all` once each, in order, and the same pages both ways.
async fn walks_both_ways(
    app: &TestApp,
    cookie: &str,
    start: &str,
    row: &str,
    (older, newer): (&str, &str),
    all: &[i64],
) {
    let ids_on = |html: &str| -> Vec<i64> {
        html.split(row)
            .skip(1)
            .map(|s| s[..s.find('"').unwrap()].parse().unwrap())
            .collect()
    };
    let link = |html: &str, id: &str| -> Option<String> {
        let at = html.find(&format!("id=\"{id}\""))?;
        let href = &html[html[..at].rfind("href=\"").unwrap() + 6..];
        Some(
            href[..href.find('"').unwrap()]
                .replace("&amp;", "&")
                .replace("&#38;", "&"),
        )
    };
    let base = &start[..start.find('?').unwrap_or(start.len())];
    // A link is the list's query alone, or its whole address (`Keyset::path`).
    let to = |href: String| {
        if href.starts_with('/') {
            href
        } else {
            format!("{base}{href}")
        }
    };
    let mut seen: Vec<i64> = Vec::new();
    let mut pages = Vec::new();
    let mut path = start.to_string();
    loop {
        let html = app.page(cookie, &path).await;
        let ids = ids_on(&html);
        assert!(ids.len() <= 50);
        seen.extend(&ids);
        pages.push(ids);
        match link(&html, older) {
            Some(next) => path = to(next),
            None => break,
        }
    }
    assert_eq!(seen, all, "{start}: forward, page by page");
    // Back from the last page: the same pages in reverse.
    let mut back = vec![pages.last().unwrap().clone()];
    let mut html = app.page(cookie, &path).await;
    while let Some(prev) = link(&html, newer) {
        html = app.page(cookie, &to(prev)).await;
        back.push(ids_on(&html));
    }
    back.reverse();
    assert_eq!(back, pages, "{start}: back, page by page");
}

/// The request list pages by the id at each page's edge: walking "Older" to the end and
/// "Newer" back shows every request once, newest first, with or without a state, and a page
/// deep in the list runs the same statements as the first.
#[tokio::test]
async fn the_request_list_pages_by_its_edges_without_repeating_or_skipping() {
    let app = app_with(11).await;
    let cookie = app.session_cookie(user(&app, "am1@bench.test").await).await;
    for state in ["", "completed"] {
        let all: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM change_requests WHERE $1 = '' OR state = $1 ORDER BY id DESC",
        )
        .bind(state)
        .fetch_all(&app.db)
        .await
        .unwrap();
        assert!(
            all.len() > 50 || !state.is_empty(),
            "more than a page: {}",
            all.len()
        );
        walks_both_ways(
            &app,
            &cookie,
            &format!("/requests?state={state}"),
            "<td><a href=\"/requests/",
            ("older", "newer"),
            &all,
        )
        .await;
    }
    // Deep or not, one statement.
    let last: i64 = sqlx::query_scalar("SELECT min(id) + 3 FROM change_requests")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let (status, n) = statements(&app, &cookie, &format!("/requests?before={last}")).await;
    assert_eq!((status, n), (StatusCode::OK, 1));
}

/// The offboarding sheet (by effective date, latest first) and the client list (by name, with
/// and without a search) page from the line at each page's edge: every line once, in order,
/// the same pages back, and a page deep in the list one statement like the first.
#[tokio::test]
async fn the_sheet_and_the_client_list_page_by_their_edges() {
    let app = app_with(120).await;
    let ops = app
        .session_cookie(user(&app, "ops1@bench.test").await)
        .await;
    let sheet: Vec<i64> = sqlx::query_scalar(
        "SELECT r.id FROM change_requests r
          WHERE r.kind = 'cancellation' AND r.state IN ('approved', 'completed')
            AND EXISTS (SELECT 1 FROM checklist_items i WHERE i.change_request_id = r.id)
          ORDER BY r.effective_date DESC, r.id DESC",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert!(sheet.len() > 50, "more than a page: {}", sheet.len());
    walks_both_ways(
        &app,
        &ops,
        "/offboarding?show=all",
        "<td><a href=\"/requests/",
        ("page-after", "page-before"),
        &sheet,
    )
    .await;
    let deep = sheet[sheet.len() - 3];
    let (status, n) = statements(&app, &ops, &format!("/offboarding?show=all&before={deep}")).await;
    assert_eq!((status, n), (StatusCode::OK, 1));

    let am = app.session_cookie(user(&app, "am1@bench.test").await).await;
    for (q, pattern) in [("", "%"), ("1", "%1%")] {
        let clients: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM clients
              WHERE lower(name) LIKE $1 OR lower(crm_account_id) LIKE $1
              ORDER BY lower(name), id",
        )
        .bind(pattern)
        .fetch_all(&app.db)
        .await
        .unwrap();
        assert!(clients.len() > 25, "more than a page: {}", clients.len());
        walks_both_ways(
            &app,
            &am,
            &format!("/clients?q={q}"),
            "<td><a href=\"/clients/",
            ("page-after", "page-before"),
            &clients,
        )
        .await;
        let deep = clients[clients.len() - 2];
        let (status, n) = statements(&app, &am, &format!("/clients?q={q}&before={deep}")).await;
        assert_eq!((status, n), (StatusCode::OK, 1), "{q:?}");
    }
}

/// The planner pages from the entry at each page's edge in each of its orders, either way:
/// its blanks (an entry without a specialist or an account manager) last, ties by date and
/// id; every entry once, the same pages back, and a deep page one statement like the first.
#[tokio::test]
async fn the_planner_pages_by_its_edges_in_every_order() {
    let app = app_with(40).await;
    // Some entries without a specialist or an account manager, and many on one date, so
    // that blanks and ties fall across the pages' edges.
    sqlx::raw_sql(
        "UPDATE planner_entries SET sem_specialist_id = NULL WHERE id % 5 = 0;
         UPDATE planner_entries SET account_manager_id = NULL WHERE id % 7 = 0;
         UPDATE planner_entries SET effective_date = '2026-06-15' WHERE id % 3 = 0 AND kind = 'cancellation';",
    )
    .execute(&app.db)
    .await
    .unwrap();
    let ops = app
        .session_cookie(user(&app, "ops1@bench.test").await)
        .await;
    for sort in [
        "effective",
        "client",
        "kind",
        "specialist",
        "account_manager",
    ] {
        let key = match sort {
            "effective" => "p.effective_date",
            "client" => "lower(c.name)",
            "kind" => "p.kind",
            "specialist" => "lower(s.display_name)",
            _ => "lower(a.display_name)",
        };
        for dir in ["asc", "desc"] {
            let all: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT p.id FROM planner_entries p
                   JOIN clients c ON c.id = p.client_id
                   LEFT JOIN users s ON s.id = p.sem_specialist_id
                   LEFT JOIN users a ON a.id = p.account_manager_id
                  WHERE p.removed_at IS NULL
                  ORDER BY {key} {dir} NULLS LAST, p.effective_date, p.id"
            )))
            .fetch_all(&app.db)
            .await
            .unwrap();
            assert!(all.len() > 120, "a few pages: {}", all.len());
            walks_both_ways(
                &app,
                &ops,
                &format!("/planner?state=all&sort={sort}&dir={dir}"),
                "<tr data-entry=\"",
                ("page-after", "page-before"),
                &all,
            )
            .await;
        }
    }
    let deep: i64 = sqlx::query_scalar("SELECT max(id) - 2 FROM planner_entries")
        .fetch_one(&app.db)
        .await
        .unwrap();
    for sort in ["effective", "specialist"] {
        let (status, n) = statements(
            &app,
            &ops,
            &format!("/planner?state=all&sort={sort}&before={deep}"),
        )
        .await;
        // The page, and the specialists for the filter.
        assert_eq!((status, n), (StatusCode::OK, 2), "{sort}");
    }
}

/// The request page reads a part (its questions, its comments) only when the request has one,
/// and then shows it: one statement more for each part added, none for a part it lacks.
#[tokio::test]
async fn the_request_page_reads_a_part_only_when_the_request_has_one() {
    let app = app_with(1).await;
    let request: i64 = sqlx::query_scalar(
        "SELECT min(id) FROM change_requests r WHERE state = 'in_approval'
            AND NOT EXISTS (SELECT 1 FROM request_comments c WHERE c.change_request_id = r.id)
            AND NOT EXISTS (SELECT 1 FROM request_questions q WHERE q.change_request_id = r.id)",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    let approver = user(&app, "approver1@bench.test").await;
    let cookie = app.session_cookie(approver).await;
    let path = format!("/requests/{request}");
    statements(&app, &cookie, &path).await;
    let (status, without) = statements(&app, &cookie, &path).await;
    assert_eq!(status, StatusCode::OK);
    let page = app.page(&cookie, &path).await;
    assert!(!page.contains("Is the budget final?"), "no question yet");

    let sem = user(&app, "sem1@bench.test").await;
    sqlx::query(
        "INSERT INTO request_questions (change_request_id, asked_by, asked_to, question)
         VALUES ($1, $2, $3, 'Is the budget final?')",
    )
    .bind(request)
    .bind(approver)
    .bind(sem)
    .execute(&app.db)
    .await
    .unwrap();
    let (_, one_part) = statements(&app, &cookie, &path).await;
    assert_eq!(
        one_part,
        without + 1,
        "a question adds its part's statement"
    );
    sqlx::query(
        "INSERT INTO request_comments (change_request_id, author, body)
         VALUES ($1, $2, 'Client called back about the date.')",
    )
    .bind(request)
    .bind(approver)
    .execute(&app.db)
    .await
    .unwrap();
    let (_, two_parts) = statements(&app, &cookie, &path).await;
    assert_eq!(
        two_parts,
        without + 2,
        "a comment adds its part's statement"
    );
    let page = app.page(&cookie, &path).await;
    assert!(
        page.contains("Is the budget final?"),
        "the question is shown"
    );
    assert!(
        page.contains("Client called back about the date."),
        "the comment is shown"
    );
    // More rows of a part it reads add nothing.
    sqlx::query(
        "INSERT INTO request_comments (change_request_id, author, body)
         VALUES ($1, $2, 'And again about the invoice.')",
    )
    .bind(request)
    .bind(approver)
    .execute(&app.db)
    .await
    .unwrap();
    assert_eq!(statements(&app, &cookie, &path).await.1, two_parts);

    // Each other part, one at a time: not on the page before, one statement more and shown
    // after (a flag narrower than its part's statement would hide it).
    let parts: [(&str, &str, &str); 3] = [
        (
            "an attachment",
            "signed-addendum.pdf",
            "INSERT INTO request_attachments
                 (change_request_id, original_name, content_type, size_bytes, sha256, content,
                  uploaded_by)
             VALUES ($1, 'signed-addendum.pdf', 'application/pdf', 9, sha256('%PDF-1.7\n'),
                     '%PDF-1.7\n', $2)",
        ),
        (
            "a task to pause the ads",
            "id=\"sem-task\"",
            "INSERT INTO sem_tasks (change_request_id, assignee, due_on)
             VALUES ($1, $2, current_date + 3)",
        ),
        (
            "a checklist",
            "id=\"checklist\"",
            "INSERT INTO checklist_items (change_request_id, position, title, owner_role, due_on)
             VALUES ($1, 1, 'Remove the client from the call tracker', 'ops_lead',
                     current_date + 3)
             RETURNING $2::bigint",
        ),
    ];
    let mut expected = two_parts;
    for (part, marker, insert) in parts {
        assert!(
            !app.page(&cookie, &path).await.contains(marker),
            "{part}: none shown before"
        );
        sqlx::query(insert)
            .bind(request)
            .bind(sem)
            .execute(&app.db)
            .await
            .unwrap();
        expected += 1;
        let (_, n) = statements(&app, &cookie, &path).await;
        assert_eq!(n, expected, "{part} adds its part's statement");
        let page = app.page(&cookie, &path).await;
        assert!(page.contains(marker), "{part} is shown: {page}");
    }
    assert!(expected <= REQUEST_PAGE_MOST);
}
