//! The demo's data: seeded once however often the app starts, consistent by the same rules as
//! the workflow's own records, and with a past year that gives every Reports panel something
//! to show.

use offboarding_desk::demo;

use crate::model::invariants;
use crate::support::TestApp;

/// A two-column CSV (figure, value) as a map, or any CSV's rows after its header.
fn rows(csv: &str) -> Vec<Vec<String>> {
    csv::Reader::from_reader(csv.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

fn figure(csv: &str, name: &str) -> String {
    rows(csv)
        .into_iter()
        .find(|r| r[0] == name)
        .unwrap_or_else(|| panic!("no {name} in {csv}"))[1]
        .clone()
}

/// The column headed `name` of a CSV, one value per row.
fn column(csv: &str, name: &str) -> Vec<String> {
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let at = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {csv}"));
    reader
        .records()
        .map(|r| r.unwrap()[at].to_string())
        .collect()
}

fn number(s: &str) -> f64 {
    s.replace(['$', ',', '%'], "").parse().unwrap()
}

async fn counts(app: &TestApp) -> (i64, i64, i64, i64, i64) {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM clients), (SELECT count(*) FROM change_requests),
                (SELECT count(*) FROM audit_events WHERE entity_type = 'change_request'),
                (SELECT count(*) FROM checklist_items), (SELECT count(*) FROM outbox_messages)",
    )
    .fetch_one(&app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn the_demo_is_seeded_once_and_keeps_the_workflows_rules() {
    let app = TestApp::spawn_with(|c| c.demo = true).await;
    demo::seed(&app.db).await.expect("demo data");
    let first = counts(&app).await;
    // Forty past clients beside the dozen, each with a request and eight with a second.
    assert_eq!(first.0, 12 + 40);
    assert_eq!(first.1, 48);
    demo::seed(&app.db).await.expect("demo data again");
    assert_eq!(counts(&app).await, first, "a second start adds nothing");

    invariants::check_records(&app.db)
        .await
        .unwrap_or_else(|broken| panic!("the demo's past breaks a rule: {broken}"));
    // Nothing of the past waits on anyone: no desk gains work from it.
    let open: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM change_requests WHERE state NOT IN ('completed', 'withdrawn'))
              + (SELECT count(*) FROM checklist_items WHERE done_at IS NULL)
              + (SELECT count(*) FROM sem_tasks WHERE done_at IS NULL)
              + (SELECT count(*) FROM change_tasks WHERE done_at IS NULL)
              + (SELECT count(*) FROM outbox_messages WHERE state <> 'sent')",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(open, 0);
    // Every past request reads as a timeline, and nothing is dated in the future.
    let (bare, future): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM change_requests r WHERE NOT EXISTS (
                     SELECT 1 FROM audit_events a WHERE a.entity_type = 'change_request'
                        AND a.entity_id = r.id::text AND a.action = 'change_request.filed')),
                (SELECT count(*) FROM audit_events WHERE at > now())
              + (SELECT count(*) FROM change_requests
                  WHERE effective_date > current_date OR resume_date > current_date
                     OR completed_at > now())",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!((bare, future), (0, 0));
    // As the workflow has it: Retention submits what it worked on, every contractor item has
    // the SEM specialist's check after it, every addendum its signed document.
    let (wrong_submitter, unverified, unsigned): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM change_requests r JOIN save_attempts s
                   ON s.change_request_id = r.id
                  WHERE r.submitted_by IS DISTINCT FROM s.recorded_by AND r.submitted_at IS NOT NULL),
                (SELECT count(*) FROM checklist_items i WHERE i.owner_role = 'contractor'
                    AND NOT EXISTS (SELECT 1 FROM checklist_items v WHERE v.verifies_id = i.id
                                       AND v.done_at > i.done_at AND v.position = i.position + 1)),
                (SELECT count(*) FROM change_requests r WHERE r.kind = 'addendum'
                    AND NOT EXISTS (SELECT 1 FROM request_attachments a
                                     WHERE a.change_request_id = r.id AND a.superseded_at IS NULL
                                       AND a.uploaded_at < r.submitted_at
                                       AND substring(a.content FROM 1 FOR 5) = '%PDF-'::bytea))",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!((wrong_submitter, unverified, unsigned), (0, 0, 0));
}

#[tokio::test]
async fn every_reports_panel_has_something_to_show_on_a_fresh_demo() {
    let app = TestApp::spawn_with(|c| c.demo = true).await;
    demo::seed(&app.db).await.expect("demo data");
    let lead = app.cookie_for("leadership@demo.test").await;
    let today = chrono::Utc::now().date_naive();
    let range = format!("from={}&to={today}", today - chrono::Days::new(400));
    let csv = |table: &str| {
        let (app, lead, range) = (&app, &lead, &range);
        let table = table.to_string();
        async move {
            app.page(lead, &format!("/reports.csv?table={table}&{range}"))
                .await
        }
    };

    let tiles = csv("tiles").await;
    assert_eq!(figure(&tiles, "Requests filed"), "48");
    for part in [
        "Saved, no change",
        "Saved with a pause",
        "Saved with a budget change",
        "Budget saved",
        "Budget lost",
    ] {
        assert!(number(&figure(&tiles, part)) > 0.0, "{part}: {tiles}");
    }
    let rate = number(&figure(&tiles, "Save rate"));
    assert!(rate > 0.0 && rate < 1.0, "a share, some saved: {tiles}");

    // A bar in most months of the year.
    let months = rows(&csv("months").await);
    let busy = months.iter().filter(|m| m[1] != "0").count();
    assert!(busy >= 10, "{months:?}");

    // A reason Retention cannot act on, among others.
    let reasons = rows(&csv("reasons").await);
    assert!(
        reasons.iter().any(|r| r[1] == "no") && reasons.len() >= 5,
        "{reasons:?}"
    );

    // Saves followed: some held 90 days, and some clients left again within them (six weeks
    // after the save).
    let lasting = rows(&csv("lasting").await);
    let ninety = &lasting[1];
    assert_eq!(ninety[0], "90");
    assert!(number(&ninety[2]) > 0.0, "{lasting:?}");
    assert!(
        number(&ninety[2]) < number(&ninety[1]),
        "someone left again: {lasting:?}"
    );
    assert!(!rows(&csv("cohorts").await).is_empty());

    // Waits: steps nudged, every stage of the process, checklist items late.
    let steps = csv("steps").await;
    assert!(
        column(&steps, "Past the nudge")
            .iter()
            .any(|n| number(n) > 0.0),
        "{steps}"
    );
    let stages = csv("stages").await;
    let what = column(&stages, "What");
    assert_eq!(what.len(), 5, "{stages}");
    assert_eq!(what[4], "Checklist item due → done");
    assert!(
        number(&column(&stages, "Late")[4]) > 0.0,
        "late checklist items: {stages}"
    );
    assert!(!rows(&csv("slowest").await).is_empty());

    // Leaderboards for both account managers and both Retention users.
    assert_eq!(rows(&csv("account_managers").await).len(), 2);
    assert_eq!(rows(&csv("retention").await).len(), 2);

    // Pauses that came to their resume date: most resumed, one did not.
    let page = app.page(&lead, &format!("/reports?{range}")).await;
    let start = page.find("id=\"pauses-resumed\"").unwrap();
    let sentence = &page[start..start + page[start..].find("</p>").unwrap()];
    assert!(
        sentence.contains("resume date: 12; resumed: 8"),
        "{sentence}"
    );
}
