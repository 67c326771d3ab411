//! Reports: each panel against the database on hand-made requests whose figures are known, the
//! CSV read back against the page, and who may see what.

use offboarding_desk::auth::roles::Role;

use crate::support::TestApp;
use crate::support::fixtures::new_client;

/// What one hand-made request is.
struct Made<'a> {
    client: i64,
    filed_by: i64,
    kind: &'a str,
    original_kind: Option<&'a str>,
    state: &'a str,
    reason: &'a str,
    /// Days ago it was filed.
    age_days: i32,
    effective: &'a str,
    resume: Option<&'a str>,
    budgets: Option<(i64, i64)>,
    /// Retention's outcome: Some(None) escalated and not yet called.
    outcome: Option<Option<&'a str>>,
    reverses: Option<i64>,
    reinstated: bool,
}

impl Default for Made<'_> {
    fn default() -> Self {
        Made {
            client: 0,
            filed_by: 0,
            kind: "cancellation",
            original_kind: None,
            state: "completed",
            reason: "Budget constraints",
            age_days: 3,
            effective: "2026-12-31",
            resume: None,
            budgets: None,
            outcome: None,
            reverses: None,
            reinstated: false,
        }
    }
}

async fn make(app: &TestApp, retention: i64, m: Made<'_>) -> i64 {
    let escalation = if m.outcome.is_some() {
        "retention"
    } else {
        "none"
    };
    let scope = (m.kind == "cancellation").then_some("services_only");
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO change_requests
             (client_id, kind, cancel_scope, effective_date, resume_date, current_budget_cents,
              new_budget_cents, reason_id, escalation, state, filed_by, original_kind,
              original_effective_date, original_resume_date, reverses_id, reinstated_at, created_at)
         VALUES ($1, $2, $3, $4::date, $5::date, $6, $7,
                 (SELECT id FROM change_reasons WHERE label = $8), $9, $10, $11, $12,
                 CASE WHEN $12::text IS NULL THEN NULL ELSE $4::date END, NULL, $13,
                 CASE WHEN $14 THEN now() END, now() - make_interval(days => $15))
         RETURNING id",
    )
    .bind(m.client)
    .bind(m.kind)
    .bind(scope)
    .bind(m.effective)
    .bind(m.resume)
    .bind(m.budgets.map(|b| b.0))
    .bind(m.budgets.map(|b| b.1))
    .bind(m.reason)
    .bind(escalation)
    .bind(m.state)
    .bind(m.filed_by)
    .bind(m.original_kind)
    .bind(m.reverses)
    .bind(m.reinstated)
    .bind(m.age_days)
    .fetch_one(&app.db)
    .await
    .expect("insert a request");
    if let Some(outcome) = m.outcome {
        sqlx::query(
            "INSERT INTO save_attempts (change_request_id, call_date, outcome, recorded_by, recorded_at)
             VALUES ($1, CASE WHEN $2::text IS NULL THEN NULL ELSE current_date END, $2,
                     CASE WHEN $2::text IS NULL THEN NULL ELSE $3::bigint END,
                     CASE WHEN $2::text IS NULL THEN NULL ELSE now() END)",
        )
        .bind(id)
        .bind(outcome)
        .bind(retention)
        .execute(&app.db)
        .await
        .expect("insert a save attempt");
    }
    id
}

async fn client_with_budget(app: &TestApp, am: i64, name: &str, cents: i64) -> i64 {
    let id = new_client(app, am, name).await;
    sqlx::query("UPDATE clients SET monthly_budget_cents = $2 WHERE id = $1")
        .bind(id)
        .bind(cents)
        .execute(&app.db)
        .await
        .unwrap();
    id
}

/// A two-column CSV (figure, value) as a map.
fn figures_of(csv: &str) -> std::collections::HashMap<String, String> {
    csv::Reader::from_reader(csv.as_bytes())
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_string(), r[1].to_string())
        })
        .collect()
}

/// The text of the element with `id` on `page` (its first text node).
fn text_of(page: &str, id: &str) -> String {
    let start = page
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} on the page"));
    let rest = &page[start..];
    let open = rest.find('>').unwrap() + 1;
    let close = rest[open..].find('<').unwrap() + open;
    rest[open..close].trim().to_string()
}

/// Each table on the page and the CSV that holds it.
const TABLES: [(&str, &str); 10] = [
    ("months-table", "months"),
    ("budget-table", "budget"),
    ("reasons-table", "reasons"),
    ("board-account-managers", "account_managers"),
    ("board-retention", "retention"),
    ("step-waits", "steps"),
    ("stage-waits", "stages"),
    ("lasting", "lasting"),
    ("cohorts", "cohorts"),
    ("open-table", "open"),
];

/// The text of each cell of each body and footer row of the table with `id` on `page`, tags
/// left out; a row that only says the table is empty is none.
fn table_cells(page: &str, id: &str) -> Vec<Vec<String>> {
    let start = page
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no table #{id}"));
    let table = &page[start..start + page[start..].find("</table>").unwrap()];
    let body = &table[table.find("<tbody>").unwrap()..];
    let strip = |html: &str| -> String {
        let mut text = String::new();
        let mut in_tag = false;
        for c in html.chars() {
            match c {
                '<' => in_tag = true,
                '>' => in_tag = false,
                c if !in_tag => text.push(c),
                _ => {}
            }
        }
        text.replace("&amp;", "&").trim().to_string()
    };
    body.split("<tr")
        .skip(1)
        .map(|row| {
            row.split("<t")
                .skip(1)
                .filter(|cell| cell.starts_with('h') || cell.starts_with('d'))
                .map(|cell| strip(&format!("<t{cell}")))
                .collect::<Vec<_>>()
        })
        .filter(|cells| cells.len() > 1)
        .collect()
}

/// The table with `id` on `page` holds what `csv` holds, row by row: each count the same, each
/// dollar figure the same to the cent, each percentage the CSV's share rounded, "—" an empty
/// cell, each row's label starting with the CSV's (a month: its name).
fn same_table(page: &str, id: &str, csv: &str) {
    let shown = table_cells(page, id);
    let held: Vec<Vec<String>> = csv::Reader::from_reader(csv.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    assert_eq!(shown.len(), held.len(), "#{id}: {shown:?}\n{held:?}");
    for (cells, values) in shown.iter().zip(&held) {
        assert!(values.len() >= cells.len(), "#{id}: {cells:?} {values:?}");
        let label =
            match chrono::NaiveDate::parse_from_str(&format!("{}-01", values[0]), "%Y-%m-%d") {
                Ok(month) => month.format("%b %Y").to_string(),
                Err(_) => values[0].clone(),
            };
        assert!(cells[0].starts_with(&label), "#{id}: {cells:?} {values:?}");
        for (shown, held) in cells.iter().zip(values).skip(1) {
            let number = |s: &str| -> f64 {
                s.replace(['$', ','], "")
                    .parse()
                    .unwrap_or_else(|_| panic!("#{id}: {s:?} is no amount"))
            };
            let why = format!("#{id}: {cells:?} {values:?}");
            if shown == "—" || shown.is_empty() {
                assert_eq!(held, "", "{why}");
            } else if let Some(percent) = shown.strip_suffix('%') {
                let share: f64 = held.parse().unwrap();
                assert_eq!(format!("{:.0}", share * 100.0), percent, "{why}");
            } else if shown.contains('$') {
                assert_eq!(number(shown), number(held), "{why}");
            } else if shown.parse::<i64>().is_ok() {
                assert_eq!(shown, held, "{why}");
            } else if [" h", " min", " days", " early"]
                .iter()
                .any(|unit| shown.ends_with(unit))
            {
                // A wait as the page words it, from the CSV's hours.
                let hours: f64 = held.parse().unwrap();
                assert_eq!(
                    *shown,
                    offboarding_desk::reports::figures::duration(Some(hours)),
                    "{why}"
                );
            } else {
                assert!(shown.eq_ignore_ascii_case(held), "{why}");
            }
        }
    }
}

struct Department {
    app: TestApp,
    lead: String,
    am2: String,
    /// The two account managers' and the Retention user's ids.
    am_id: i64,
    am2_id: i64,
    retention_id: i64,
}

/// Eight requests whose figures are worked out by hand in the comments.
async fn department() -> Department {
    let app = TestApp::spawn().await;
    let am = app.user("am@test", &[Role::AccountManager]).await;
    let am2 = app.user("am2@test", &[Role::AccountManager]).await;
    let retention = app.user("ret@test", &[Role::Retention]).await;
    app.user("lead@test", &[Role::DmLeadership]).await;
    let base = |client| Made {
        client,
        filed_by: am,
        ..Default::default()
    };
    // A: a $2,000 cancellation saved at $1,200 (converted to an addendum): $800 lost.
    let a = client_with_budget(&app, am, "Alpha", 200_000).await;
    // The budget when filed is read from the history, not today's client row.
    sqlx::query(
        "INSERT INTO client_status_history (client_id, status, monthly_budget_cents, at)
         VALUES ($1, 'active', 200000, now() - interval '30 days')",
    )
    .bind(a)
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query("UPDATE clients SET monthly_budget_cents = 120000 WHERE id = $1")
        .bind(a)
        .execute(&app.db)
        .await
        .unwrap();
    let made = Made {
        kind: "addendum",
        original_kind: Some("cancellation"),
        state: "approved",
        budgets: Some((200_000, 120_000)),
        outcome: Some(Some("saved_budget_change")),
        ..base(a)
    };
    let a_id = make(&app, retention, made).await;
    // A waited two hours at its first step, and was approved 36 hours after filing.
    let approver = app.user("ap@test", &[Role::Approver]).await;
    sqlx::query(
        "INSERT INTO request_approvals (change_request_id, round, position, name, approver_user_id,
                                        state, reached_at, decided_by, decided_at)
         VALUES ($1, 1, 1, 'First approval', $2, 'approved', now() - interval '3 hours', $2,
                 now() - interval '1 hour')",
    )
    .bind(a_id)
    .bind(approver)
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE change_requests SET approved_at = created_at + interval '36 hours' WHERE id = $1",
    )
    .bind(a_id)
    .execute(&app.db)
    .await
    .unwrap();
    // B: a $1,000 cancellation not saved: all lost.
    let b = client_with_budget(&app, am, "Bravo", 100_000).await;
    let made = Made {
        outcome: Some(Some("not_saved")),
        ..base(b)
    };
    make(&app, retention, made).await;
    // C: a $500 cancellation saved with no change (withdrawn): nothing lost.
    let c = client_with_budget(&app, am, "Charlie", 50_000).await;
    let made = Made {
        state: "withdrawn",
        outcome: Some(Some("saved_no_change")),
        ..base(c)
    };
    make(&app, retention, made).await;
    // D: a $600 pause of 60 days (two months), filed by the other account manager, not sent
    // to Retention, approved: $1,200 at risk and lost.
    let d = client_with_budget(&app, am2, "Delta", 60_000).await;
    // Its dates move with the clock: it resumes two months from now, whenever the test runs.
    let effective = (chrono::Utc::now().date_naive() + chrono::Duration::days(8)).to_string();
    let resume = (chrono::Utc::now().date_naive() + chrono::Duration::days(68)).to_string();
    let made = Made {
        kind: "pause",
        state: "approved",
        effective: &effective,
        resume: Some(&resume),
        filed_by: am2,
        ..base(d)
    };
    make(&app, retention, made).await;
    // E: a $300 cancellation for a reason Retention cannot act on, not saved, later undone by
    // a reinstatement (which is not itself counted): nothing lost.
    let e = client_with_budget(&app, am, "Echo", 30_000).await;
    let made = Made {
        reason: "Dealership sold or closing",
        outcome: Some(Some("not_saved")),
        // As the reinstatement leaves it: withdrawn, marked reinstated.
        state: "withdrawn",
        reinstated: true,
        ..base(e)
    };
    let e_id = make(&app, retention, made).await;
    let made = Made {
        state: "completed",
        reverses: Some(e_id),
        ..base(e)
    };
    make(&app, retention, made).await;
    // F: a cancellation with Retention, the call not yet made: filed and escalated, not decided.
    let f = client_with_budget(&app, am, "Foxtrot", 70_000).await;
    let made = Made {
        state: "with_retention",
        outcome: Some(None),
        ..base(f)
    };
    make(&app, retention, made).await;
    // H: filed two years ago: outside every period shown.
    let h = client_with_budget(&app, am, "Hotel", 90_000).await;
    let made = Made {
        age_days: 730,
        outcome: Some(Some("not_saved")),
        ..base(h)
    };
    make(&app, retention, made).await;
    Department {
        lead: app.cookie_for("lead@test").await,
        am2: app.cookie_for("am2@test").await,
        am_id: am,
        am2_id: am2,
        retention_id: retention,
        app,
    }
}

#[tokio::test]
async fn the_tiles_add_up_saves_and_budget_as_defined() {
    let Department { app, lead, .. } = department().await;
    let page = app.page(&lead, "/reports").await;
    assert_eq!(
        text_of(&page, "tile-filed"),
        "6",
        "A–F; not the reinstatement, not H"
    );
    assert_eq!(text_of(&page, "tile-escalated"), "5");
    assert_eq!(
        text_of(&page, "tile-save-rate"),
        "50%",
        "2 saves of 4 calls"
    );
    assert_eq!(
        text_of(&page, "tile-saves"),
        "2 of 4 calls: 1 with no change, 0 with a pause, 1 with a budget change"
    );
    // At risk 2,000 + 1,000 + 500 + 1,200 + 300; lost 800 + 1,000 + 0 + 1,200 + 0.
    assert_eq!(text_of(&page, "tile-at-risk"), "$5,000");
    assert_eq!(text_of(&page, "tile-lost"), "$3,000");
    assert_eq!(text_of(&page, "tile-saved"), "$2,000");
    assert_eq!(
        text_of(&page, "tile-revenue-rate"),
        "40% of the budget at risk"
    );
    // Only controllable reasons: A, B, C were called, A and C saved.
    assert_eq!(text_of(&page, "controllable-save-rate"), "67%");
    // One request is open: F, with Retention.
    assert!(page.contains("<th scope=\"row\">With Retention</th><td class=\"num\">1</td>"));
    // By person: the account manager filed five (two saved of four calls: a rate too few to
    // compare); the other one, too few to compare.
    assert!(page.contains(
        "<th scope=\"row\">Test am</th><td class=\"num\">5</td><td class=\"num\">4</td><td class=\"num\">2</td><td class=\"num too-few\" title=\"Fewer than 5 calls: too few to compare\">50%</td><td class=\"num\">$2,000.00</td>"
    ));
    assert!(page.contains(
        "<tr class=\"too-few\"><th scope=\"row\">Test am2 <small>(too few to compare)</small>"
    ));
    // Where it waits: A's two hours at its first step, 36 hours from filing to approval.
    assert!(page.contains(
        "<th scope=\"row\">First approval: Test ap</th><td class=\"num\">1</td><td class=\"num\">0</td><td class=\"num\">2.0 h</td><td class=\"num\">2.0 h</td><td class=\"num\">0</td>"
    ));
    assert!(page.contains(
        "<th scope=\"row\">Filed → approved</th><td class=\"num\">1</td><td class=\"num\">36.0 h</td>"
    ));
    // The slowest: F, with Retention for three days so far, then A's 36 hours.
    let slowest = &page[page.find("<ol id=\"slowest\">").expect("the slowest")..];
    let slowest = &slowest[..slowest.find("</ol>").unwrap()];
    assert!(slowest.contains("#1 Alpha</a>: 36.0 h</li>"), "{slowest}");
    let foxtrot = slowest.find("Foxtrot</a>: 3.0 days, still waiting (With Retention)");
    assert!(
        foxtrot.is_some_and(|at| at < slowest.find("Alpha").unwrap()),
        "{slowest}"
    );
}

#[tokio::test]
async fn a_step_waiting_now_is_counted_and_late_once_its_approver_was_nudged() {
    let Department {
        app,
        lead,
        am_id: am,
        ..
    } = department().await;
    let second = app.user("ap2@test", &[Role::Approver]).await;
    // G: a reinstatement (undoing B) in approval for five days, its second step waiting on
    // ap2 for four, nudged. It waits like any request, but is not one filed.
    let g = client_with_budget(&app, am, "Golf", 40_000).await;
    let bravo: i64 = sqlx::query_scalar(
        "SELECT r.id FROM change_requests r JOIN clients c ON c.id = r.client_id
          WHERE c.name = 'Bravo'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    let made = Made {
        client: g,
        filed_by: am,
        state: "in_approval",
        age_days: 5,
        reverses: Some(bravo),
        ..Default::default()
    };
    let g_id = make(&app, 0, made).await;
    sqlx::query(
        "INSERT INTO request_approvals (change_request_id, round, position, name, approver_user_id,
                                        state, reached_at, nudged_at)
         VALUES ($1, 1, 2, 'Second approval', $2, 'pending', now() - interval '4 days', now())",
    )
    .bind(g_id)
    .bind(second)
    .execute(&app.db)
    .await
    .unwrap();
    let page = app.page(&lead, "/reports").await;
    assert_eq!(
        text_of(&page, "tile-filed"),
        "6",
        "a reinstatement is not filed"
    );
    let open = table_cells(&page, "open-table");
    assert!(
        open.contains(&vec!["In approval".to_string(), "1".to_string()]),
        "{open:?}"
    );
    assert!(
        page.contains(
            "<th scope=\"row\">Second approval: Test ap2</th><td class=\"num\">0</td><td class=\"num\">1</td><td class=\"num\">—</td><td class=\"num\">—</td><td class=\"num\">1</td>"
        ),
        "no decision yet, one waiting, past the nudge"
    );
    let steps = app.page(&lead, "/reports.csv?table=steps").await;
    assert!(
        steps.contains("Second approval: Test ap2,0,1,,,1"),
        "{steps}"
    );
    // The slowest now starts with G, counted to now.
    let slowest = app.page(&lead, "/reports.csv?table=slowest").await;
    let first = slowest.lines().nth(1).unwrap_or_default();
    assert!(
        first.starts_with(&format!("{g_id},Golf,120.")) && first.ends_with(",In approval"),
        "{slowest}"
    );
    // A step waiting on a role reads as the request page says it (another filter, so a report
    // computed afresh: this change left no audit record).
    sqlx::query(
        "UPDATE request_approvals SET approver_user_id = NULL, approver_role = 'finance'
          WHERE change_request_id = $1 AND state = 'pending'",
    )
    .bind(g_id)
    .execute(&app.db)
    .await
    .unwrap();
    let steps = app
        .page(
            &lead,
            &format!("/reports.csv?table=steps&account_manager={am}"),
        )
        .await;
    assert!(
        steps.contains("Second approval: Any of Finance,0,1,,,1"),
        "{steps}"
    );
}

#[tokio::test]
async fn filters_cut_the_figures_and_the_csv_holds_what_the_page_shows() {
    let Department {
        app,
        lead,
        am2_id,
        retention_id,
        ..
    } = department().await;
    let reason: i64 = sqlx::query_scalar(
        "SELECT id FROM change_reasons WHERE label = 'Dealership sold or closing'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    let page = app.page(&lead, &format!("/reports?reason={reason}")).await;
    assert_eq!(text_of(&page, "tile-filed"), "1");
    assert_eq!(text_of(&page, "tile-at-risk"), "$300");
    assert_eq!(
        text_of(&page, "tile-lost"),
        "$0",
        "reinstated: nothing lost"
    );
    let page = app.page(&lead, "/reports?kind=pause").await;
    assert_eq!(text_of(&page, "tile-filed"), "1");
    assert_eq!(
        text_of(&page, "tile-at-risk"),
        "$1,200",
        "a $600 pause of two months"
    );
    // By person: the other account manager filed only D; the Retention user recorded the calls
    // on A, B, C and E; the SEM specialist works only on Delta's account.
    let (am2, ret) = (am2_id, retention_id);
    let sem = app.user("sem@test", &[Role::SemSpecialist]).await;
    sqlx::query("UPDATE clients SET sem_specialist_id = $1 WHERE name = 'Delta'")
        .bind(sem)
        .execute(&app.db)
        .await
        .unwrap();
    for (query, filed) in [
        (format!("account_manager={am2}"), "1"),
        (format!("retention_user={ret}"), "4"),
        (format!("sem_specialist={sem}"), "1"),
        (format!("retention_user={ret}&account_manager={am2}"), "0"),
    ] {
        let page = app.page(&lead, &format!("/reports?{query}")).await;
        assert_eq!(text_of(&page, "tile-filed"), filed, "{query}");
    }
    let page = app
        .page(&lead, &format!("/reports?account_manager={am2}"))
        .await;
    assert!(
        text_of(&page, "report-scope").contains("(account manager: Test am2)"),
        "the heading names the filter"
    );
    // A period that holds only H.
    let from = (chrono::Utc::now().date_naive() - chrono::Duration::days(740)).to_string();
    let to = (chrono::Utc::now().date_naive() - chrono::Duration::days(700)).to_string();
    let page = app
        .page(&lead, &format!("/reports?from={from}&to={to}"))
        .await;
    assert_eq!(text_of(&page, "tile-filed"), "1");
    assert_eq!(text_of(&page, "tile-save-rate"), "0%");
    // A period with nothing filed says so instead of drawing empty charts.
    let from = (chrono::Utc::now().date_naive() - chrono::Duration::days(1000)).to_string();
    let to = (chrono::Utc::now().date_naive() - chrono::Duration::days(990)).to_string();
    let page = app
        .page(&lead, &format!("/reports?from={from}&to={to}"))
        .await;
    assert_eq!(text_of(&page, "tile-filed"), "0");
    assert!(page.contains("No requests were filed in the period: there is nothing to chart."));
    assert!(!page.contains("class=\"chart\""), "no empty chart drawn");
    // What is open follows the filter but not the period: of the pauses, D (approved), however
    // long ago it was filed; everything open (A and D approved, F with Retention) without one.
    let open = |query: &'static str| {
        let (app, lead) = (&app, &lead);
        async move {
            figures_of(
                &app.page(lead, &format!("/reports.csv?table=open{query}"))
                    .await,
            )
        }
    };
    let pauses = open("&kind=pause").await;
    assert_eq!(pauses.get("Approved").map(String::as_str), Some("1"));
    assert_eq!(pauses.len(), 1, "{pauses:?}");
    let all = open("").await;
    assert_eq!(
        (all["Approved"].as_str(), all["With Retention"].as_str()),
        ("2", "1")
    );

    // The tiles' CSV, read back: the same figures as the page.
    let res = app.get(&lead, "/reports.csv?table=tiles").await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let body = res.text().await.unwrap();
    let figures = figures_of(&body);
    assert_eq!(figures["Requests filed"], "6");
    assert_eq!(figures["Save rate"], "0.5000");
    assert_eq!(figures["Budget at risk"], "5000.00");
    assert_eq!(figures["Budget saved"], "2000.00");
    assert_eq!(figures["Revenue save rate"], "0.4000");

    // The months' CSVs hold the page's months: the outcomes add up to what was filed, the
    // money to the tiles.
    let rows = |body: String| -> Vec<Vec<String>> {
        csv::Reader::from_reader(body.as_bytes())
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect()
    };
    let cents = |s: &str| -> i64 { (s.parse::<f64>().unwrap() * 100.0).round() as i64 };
    let months = rows(app.page(&lead, "/reports.csv?table=months").await);
    let budget = rows(app.page(&lead, "/reports.csv?table=budget").await);
    assert_eq!(months.len(), 12, "the last twelve months");
    assert_eq!(budget.len(), 12);
    let sum = |rows: &[Vec<String>], col: usize| -> i64 {
        rows.iter().map(|r| r[col].parse::<i64>().unwrap()).sum()
    };
    assert_eq!(
        (sum(&months, 1), sum(&months, 2)),
        (6, 5),
        "filed, escalated"
    );
    let money = |col: usize| -> i64 { budget.iter().map(|r| cents(&r[col])).sum() };
    assert_eq!((money(2), money(3), money(4)), (500_000, 200_000, 300_000));
    // Every table on the page, cell by cell, against its CSV.
    let page = app.page(&lead, "/reports").await;
    for (id, table) in TABLES {
        let csv = app
            .page(&lead, &format!("/reports.csv?table={table}"))
            .await;
        same_table(&page, id, &csv);
    }
    let pauses = rows(app.page(&lead, "/reports.csv?table=pauses").await);
    assert_eq!(pauses, [["0", "0", ""]], "D resumes in two months");

    // The reasons' CSV has one line per reason on the page, with the same counts.
    let body = app.page(&lead, "/reports.csv?table=reasons").await;
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    assert_eq!(
        rows.len(),
        3,
        "two reasons and the controllable ones together"
    );
    assert_eq!(
        rows[2][..6],
        [
            "Every reason Retention can act on",
            "yes",
            "5",
            "4700.00",
            "3",
            "2"
        ]
    );
    assert_eq!(rows[0][0], "Budget constraints");
    assert_eq!(rows[0][2], "5", "A, B, C, D, F");
    assert_eq!(rows[1][..3], ["Dealership sold or closing", "no", "1"]);

    // A NUL or a year the database cannot hold: said, never written back, never a failure; the
    // CSV links carry only what was applied.
    for bad in [
        "from=2026-12-01%00",
        "from=-5000-01-01&to=-5000-01-05",
        "kind=bogus",
    ] {
        let res = app
            .get(&lead, &format!("/reports?{bad}&reason={reason}"))
            .await;
        assert_eq!(res.status(), 422, "{bad}");
        let page = res.text().await.unwrap();
        assert!(!page.contains('\0'), "{bad}");
        let csv_link = &page[page.find("href=\"/reports.csv?table=tiles").unwrap()..];
        let csv_link = &csv_link[..csv_link.find('>').unwrap()];
        assert!(
            csv_link.contains(&format!("reason={reason}")),
            "{bad}: {csv_link}"
        );
        assert!(
            !csv_link.contains("%00") && !csv_link.contains("bogus") && !csv_link.contains("-5000"),
            "{bad}: {csv_link}"
        );
    }
    // The preset periods carry the filter as applied: the reason, never the refused kind.
    let res = app
        .get(&lead, &format!("/reports?kind=bogus&reason={reason}"))
        .await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    let preset = &page[page.find("<nav aria-label=\"Periods\">").unwrap()..];
    let preset = &preset[..preset.find("</nav>").unwrap()];
    assert!(
        preset.contains(&format!("reason={reason}\"")) && !preset.contains("bogus"),
        "{preset}"
    );
    let res = app
        .get(&lead, "/reports.csv?table=tiles&from=-5000-01-01")
        .await;
    assert_eq!(res.status(), 400);
}

/// Each slip in the filter, as the address or the form can carry it: the messages beside their
/// fields, the fields marked, the period shown (the default when the period itself is wrong),
/// and the CSV refused.
#[tokio::test]
async fn every_slip_in_the_filter_is_said_beside_its_field() {
    let Department {
        app,
        lead,
        am_id: am,
        ..
    } = department().await;
    let today = chrono::Utc::now().date_naive();
    let retention_am = format!("retention_user={am}&kind=cancellation");
    let from_today_nul = format!("from={today}%00&kind=xyz");
    // The address, each slip (field, message), and the requests filed then shown.
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 9] = [
        // An id the lists do not offer (a reason that does not exist, an account manager as
        // the Retention user): left out, never a filter nothing matches; the cancellations A
        // (as filed), B, C, E and F are shown.
        (
            "reason=99999&kind=cancellation",
            &[("reason", "Choose the reason from the list.")],
            "5",
        ),
        (
            &retention_am,
            &[("retention_user", "Choose the Retention user from the list.")],
            "5",
        ),
        // Two slips, each beside its own field.
        (
            "to=2026-13-45&kind=xyz",
            &[
                ("to", "Enter the last day as a date (YYYY-MM-DD)."),
                ("kind", "Choose the kind from the list."),
            ],
            "6",
        ),
        // A control character is taken out (never written back) and the rest of the day used:
        // from today, nothing filed.
        (
            &from_today_nul,
            &[
                ("from", "Remove the control character from the first day."),
                ("kind", "Choose the kind from the list."),
            ],
            "0",
        ),
        // The same field twice with two values: the first is used.
        (
            "kind=pause&kind=cancellation",
            &[(
                "kind",
                "The address gives the kind twice: the first is used.",
            )],
            "1",
        ),
        (
            "from=2026-10-31&to=2026-10-01",
            &[("to", "The last day comes before the first.")],
            "6",
        ),
        (
            "from=0001-01-01",
            &[("from", "Choose a first day from the year 2000 on.")],
            "6",
        ),
        (
            "from=-5000-01-01&to=-5000-01-05",
            &[
                ("from", "Choose a first day from the year 2000 on."),
                ("to", "Choose a last day from the year 2000 on."),
            ],
            "6",
        ),
        (
            "account_manager=abc",
            &[(
                "account_manager",
                "Choose the account manager from the list.",
            )],
            "6",
        ),
    ];
    for (query, slips, filed) in cases {
        let res = app.get(&lead, &format!("/reports?{query}")).await;
        assert_eq!(res.status(), 422, "{query}");
        let page = res.text().await.unwrap();
        assert!(!page.contains('\0'), "{query}: a NUL written back");
        for (field, message) in slips {
            assert!(
                page.contains(&format!(
                    "<small class=\"field-error\" id=\"{field}-error\">{message}</small>"
                )),
                "{query}: {message}"
            );
            assert!(
                page.contains(&format!(
                    " aria-invalid=\"true\" aria-describedby=\"{field}-error\""
                )),
                "{query}: {field} is marked"
            );
        }
        assert_eq!(
            page.matches("aria-invalid").count(),
            slips.len(),
            "{query}: only those fields"
        );
        assert_eq!(text_of(&page, "tile-filed"), filed, "{query}");
        let res = app
            .get(&lead, &format!("/reports.csv?table=tiles&{query}"))
            .await;
        assert_eq!(res.status(), 400, "{query}");
    }
    // The same value twice is no slip.
    let res = app.get(&lead, "/reports?kind=pause&kind=pause").await;
    assert_eq!(res.status(), 200);
    // A last day alone is the twelve months up to it; one after today is today; the form
    // shows the days applied, a day typed without its zeros included.
    let first = today - chrono::Duration::days(40);
    let page = app
        .page(
            &lead,
            &format!("/reports?from={}&to=2099-01-01", first.format("%Y-%-m-%-d")),
        )
        .await;
    assert!(
        page.contains(&format!("id=\"from\" name=\"from\" value=\"{first}\"")),
        "the first day as a date field shows it"
    );
    assert!(page.contains(&format!("id=\"to\" name=\"to\" value=\"{today}\"")));
    let last = today - chrono::Duration::days(1);
    let page = app.page(&lead, &format!("/reports?to={last}")).await;
    assert!(
        text_of(&page, "report-scope").starts_with(&format!(
            "Requests filed {} to {}",
            offboarding_desk::time::day(
                offboarding_desk::reports::figures::Period::last_twelve_months(last).from
            ),
            offboarding_desk::time::day(last)
        )),
        "{}",
        text_of(&page, "report-scope")
    );
}

#[tokio::test]
async fn an_account_manager_sees_only_the_requests_they_filed() {
    let Department {
        app,
        am2,
        am_id: am,
        ..
    } = department().await;
    let page = app.page(&am2, "/reports").await;
    assert_eq!(text_of(&page, "tile-filed"), "1", "only D");
    assert_eq!(text_of(&page, "tile-at-risk"), "$1,200");
    assert!(
        !page.contains("id=\"account_manager\""),
        "no choosing someone else"
    );
    // Naming another account manager changes nothing.
    let page = app
        .page(&am2, &format!("/reports?account_manager={am}"))
        .await;
    assert_eq!(text_of(&page, "tile-filed"), "1");
    assert!(!page.contains("Test am<"), "nobody else on the boards");
    // Nor through a download.
    for table in ["tiles", "reasons", "account_managers", "open"] {
        let body = app
            .page(
                &am2,
                &format!("/reports.csv?table={table}&account_manager={am}"),
            )
            .await;
        assert!(!body.contains("Test am,"), "{table}: {body}");
        if table == "tiles" {
            assert!(body.contains("Requests filed,1"), "{body}");
        }
    }
}

#[tokio::test]
async fn the_admin_marks_a_reason_retention_cannot_act_on_and_the_rate_follows() {
    let Department { app, lead, .. } = department().await;
    app.user("admin@test", &[Role::Admin]).await;
    let admin = app.cookie_for("admin@test").await;
    let (id, position): (i64, i32) = sqlx::query_as(
        "SELECT id, position FROM change_reasons WHERE label = 'Budget constraints'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    let position = position.to_string();
    let post = |form: Vec<(&'static str, String)>| {
        crate::shared::client()
            .post(app.url(&format!("/admin/reasons/{id}")))
            .header("cookie", &admin)
            .form(&form)
            .send()
    };
    // The box unticked: no reason left that Retention can act on.
    let unticked = vec![
        ("label", "Budget constraints".to_string()),
        ("position", position.clone()),
        ("controllable_shown", "1".to_string()),
    ];
    assert!(post(unticked).await.unwrap().status().is_redirection());
    let page = app.page(&lead, "/reports").await;
    assert_eq!(text_of(&page, "controllable-save-rate"), "—");
    assert_eq!(app.audit_count("change_reason.edited").await, 1);
    // Ticked again.
    let ticked = vec![
        ("label", "Budget constraints".to_string()),
        ("position", position),
        ("controllable_shown", "1".to_string()),
        ("controllable", "yes".to_string()),
    ];
    assert!(post(ticked).await.unwrap().status().is_redirection());
    // Not the report kept from a moment ago: the edit wrote an audit record, which its key holds.
    let page = app.page(&lead, "/reports").await;
    assert_eq!(text_of(&page, "controllable-save-rate"), "67%");
}

#[tokio::test]
async fn leadership_opens_reports_filters_a_period_and_a_reason_and_downloads_the_csv() {
    let Some(b) = crate::support::browser::start("leadership_opens_reports").await else {
        return;
    };
    let Department { app, .. } = department().await;
    b.sign_in(&app.base, "lead@test", crate::support::PASSWORD)
        .await;
    b.click("nav a[href='/reports']").await;
    assert_eq!(b.path().await, "/reports");
    assert_eq!(b.text("#tile-filed").await, "6");
    assert_eq!(b.text("#tile-save-rate").await, "50%");

    // The quarter that holds the requests (filed three days ago), from the preset links.
    use offboarding_desk::reports::figures::Period;
    let today = chrono::Utc::now().date_naive();
    let filed = today - chrono::Duration::days(3);
    let quarter = if Period::this_quarter(today).from == Period::this_quarter(filed).from {
        ("This quarter", Period::this_quarter(today))
    } else {
        ("Last quarter", Period::last_quarter(today))
    };
    let link = format!(
        "nav[aria-label='Periods'] a[href='/reports?from={}&to={}']",
        quarter.1.from, quarter.1.to
    );
    assert_eq!(b.text(&link).await, quarter.0);
    b.click(&link).await;
    assert_eq!(
        b.find("#from")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some(quarter.1.from.to_string().as_str()),
        "the form shows the quarter"
    );
    assert_eq!(b.text("#tile-filed").await, "6", "every request is in it");
    assert_eq!(
        b.text(&format!(
            "nav[aria-label='Periods'] a[href='/reports?from={}&to={}'][aria-current='page']",
            quarter.1.from, quarter.1.to
        ))
        .await,
        quarter.0,
        "the preset chosen is marked"
    );
    // Then one reason, in the same quarter.
    let reason: i64 = sqlx::query_scalar(
        "SELECT id FROM change_reasons WHERE label = 'Dealership sold or closing'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    b.click(&format!("#reason option[value='{reason}']")).await;
    b.click("#apply-filter").await;
    assert_eq!(b.text("#tile-filed").await, "1");
    assert_eq!(b.text("#tile-at-risk").await, "$300");
    assert_eq!(b.text("#tile-lost").await, "$0");
    assert_eq!(b.text("#tile-save-rate").await, "0%");
    let query = b.driver.current_url().await.unwrap();
    let query = query.query().unwrap_or_default().to_string();
    assert!(query.contains(&format!("reason={reason}")), "{query}");
    assert!(
        query.contains(&format!("from={}&to={}", quarter.1.from, quarter.1.to)),
        "{query}"
    );

    // The tiles' CSV, fetched as the link downloads it: the figures on the screen.
    let csv: String = b
        .driver
        .execute(
            "return fetch(document.querySelector('#csv-tiles').href).then(r => r.text());",
            vec![],
        )
        .await
        .unwrap()
        .json()
        .as_str()
        .unwrap()
        .to_string();
    let figures = figures_of(&csv);
    assert_eq!(figures["Requests filed"], "1");
    assert_eq!(figures["Budget at risk"], "300.00");
    assert_eq!(figures["Budget lost"], "0.00");
    b.close().await;
}

#[tokio::test]
async fn saves_are_followed_until_the_client_leaves_and_pauses_until_they_resume() {
    let app = TestApp::spawn().await;
    let am = app.user("am@test", &[Role::AccountManager]).await;
    let retention = app.user("ret@test", &[Role::Retention]).await;
    app.user("lead@test", &[Role::DmLeadership]).await;
    let lead = app.cookie_for("lead@test").await;
    let base = |client| Made {
        client,
        filed_by: am,
        ..Default::default()
    };
    // I: saved with a pause 99 days ago; the client filed a cancellation 30 days ago (69 days
    // after the save): still with us at 30 days, gone at 90.
    let i = client_with_budget(&app, am, "India", 100_000).await;
    let made = Made {
        kind: "pause",
        original_kind: Some("cancellation"),
        effective: "2026-09-01",
        // Resuming later: not one of the pauses due.
        resume: Some("2099-06-01"),
        age_days: 100,
        outcome: Some(Some("saved_pause")),
        ..base(i)
    };
    let saved_i = make(&app, retention, made).await;
    let made = Made {
        age_days: 30,
        state: "completed",
        ..base(i)
    };
    make(&app, retention, made).await;
    // J: saved with no change 199 days ago and still here.
    let j = client_with_budget(&app, am, "Juliet", 100_000).await;
    let made = Made {
        state: "withdrawn",
        age_days: 200,
        outcome: Some(Some("saved_no_change")),
        ..base(j)
    };
    let saved_j = make(&app, retention, made).await;
    // The calls were recorded the day after filing.
    sqlx::query(
        "UPDATE save_attempts s SET recorded_at = r.created_at + interval '1 day',
                call_date = (r.created_at + interval '1 day')::date
           FROM change_requests r WHERE r.id = s.change_request_id AND r.id = ANY($1)",
    )
    .bind(vec![saved_i, saved_j])
    .execute(&app.db)
    .await
    .unwrap();
    // K and L: pauses whose resume date has come; K's client is active again, L's is not.
    for (name, status) in [("Kilo", "active"), ("Lima", "paused")] {
        let client = client_with_budget(&app, am, name, 50_000).await;
        sqlx::query("UPDATE clients SET status = $2 WHERE id = $1")
            .bind(client)
            .bind(status)
            .execute(&app.db)
            .await
            .unwrap();
        let effective = (chrono::Utc::now().date_naive() - chrono::Duration::days(60)).to_string();
        let resume = (chrono::Utc::now().date_naive() - chrono::Duration::days(10)).to_string();
        let made = Made {
            kind: "pause",
            age_days: 70,
            effective: &effective,
            resume: Some(&resume),
            ..base(client)
        };
        make(&app, retention, made).await;
    }

    // I, a cancellation saved with a pause, keeps its client: its whole budget saved.
    let (saved, lost): (i64, i64) =
        sqlx::query_as("SELECT saved_cents, lost_cents FROM request_figures WHERE id = $1")
            .bind(saved_i)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!((saved, lost), (100_000, 0));

    let page = app.page(&lead, "/reports").await;
    for (id, table) in TABLES {
        let csv = app
            .page(&lead, &format!("/reports.csv?table={table}"))
            .await;
        same_table(&page, id, &csv);
    }
    let lasting = |days: &str| {
        let row = format!("<th scope=\"row\">{days} days old</th>");
        let at = page
            .find(&row)
            .unwrap_or_else(|| panic!("no {days}-day row"));
        let rest = &page[at..];
        rest[..rest.find("</tr>").unwrap()].to_string()
    };
    assert!(
        lasting("30").contains(
            "<td class=\"num\">2</td><td class=\"num\">2</td><td class=\"num\">100%</td>"
        )
    );
    assert!(
        lasting("90")
            .contains("<td class=\"num\">2</td><td class=\"num\">1</td><td class=\"num\">50%</td>")
    );
    assert!(
        lasting("180").contains(
            "<td class=\"num\">1</td><td class=\"num\">1</td><td class=\"num\">100%</td>"
        )
    );
    assert_eq!(
        text_of(&page, "pauses-resumed"),
        "Pauses that reached their resume date: 2; resumed: 1 (50%)."
    );
    // The cohort table: I's month reads 100% one and two months on, 0% from the third.
    let month = (chrono::Utc::now() - chrono::Duration::days(99))
        .format("%b %Y")
        .to_string();
    let table = &page[page.find("id=\"cohorts\"").expect("the cohort table")..];
    let at = table
        .find(&format!("<th scope=\"row\">{month}</th>"))
        .expect("I's cohort row");
    let row = &table[at..at + table[at..].find("</tr>").unwrap()];
    assert!(
        row.contains("<td class=\"num shade-4\">100%</td><td class=\"num shade-4\">100%</td><td class=\"num shade-1\">0%</td>"),
        "{row}"
    );
}
