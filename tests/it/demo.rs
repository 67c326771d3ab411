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
    // Each timeline reads in order: a request is approved after its steps.
    let backwards: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events later JOIN audit_events earlier
             ON earlier.entity_type = 'change_request' AND earlier.entity_id = later.entity_id
          WHERE later.entity_type = 'change_request' AND earlier.id > later.id
            AND later.action = 'change_request.approved'
            AND earlier.action = 'change_request.step_approved'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(backwards, 0);
    // And holds what its panels show: every ads-paused tick and checklist tick.
    let unrecorded: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM sem_tasks t
                  WHERE t.done_at IS NOT NULL AND NOT EXISTS (
                        SELECT 1 FROM audit_events a
                         WHERE a.entity_type = 'change_request'
                           AND a.entity_id = t.change_request_id::text
                           AND a.action = 'sem_task.done'))
              + (SELECT count(*) FROM checklist_items i
                  WHERE i.done_at IS NOT NULL AND NOT EXISTS (
                        SELECT 1 FROM audit_events a
                         WHERE a.entity_type = 'change_request'
                           AND a.entity_id = i.change_request_id::text
                           AND a.action = 'checklist.ticked'
                           AND a.details ->> 'item_id' = i.id::text))",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(unrecorded, 0, "ticks missing from their timelines");
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

/// What a fresh `--demo` start holds: the dozen clients, the past year and the requests in
/// flight today. The agency's zone is one far from UTC, so a "today" read in UTC shows up.
pub(crate) async fn demo_in_flight() -> TestApp {
    let app = TestApp::spawn_with(|c| {
        c.demo = true;
        c.time_zone = chrono_tz::America::Chicago;
    })
    .await;
    demo::seed_all(&app.db, app.state.config.time_zone, &app.base)
        .await
        .expect("demo data");
    app
}

#[tokio::test]
async fn a_fresh_demo_start_has_work_in_flight_once_by_the_workflows_rules() {
    let app = demo_in_flight().await;
    let first = counts(&app).await;
    assert_eq!(first.0, 12 + 40 + 18);
    demo::seed_all(&app.db, app.state.config.time_zone, &app.base)
        .await
        .expect("demo data again");
    assert_eq!(counts(&app).await, first, "a second start adds nothing");
    // Dated today, it is fresh today; started on a later day it is stale (and the server
    // starts the demo afresh). A database with no present is never stale.
    let zone = app.state.config.time_zone;
    let today = offboarding_desk::time::day_in(zone, chrono::Utc::now());
    let tomorrow = today.succ_opt().unwrap();
    assert!(!demo::dated_before(&app.db, zone, today).await.unwrap());
    assert!(demo::dated_before(&app.db, zone, tomorrow).await.unwrap());
    // Its emails read like the workflow's: the client, the request and a link to it.
    let bodies: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT o.body_text, o.related_id, c.name FROM outbox_messages o
           JOIN change_requests r ON r.id = o.related_id::bigint
           JOIN clients c ON c.id = r.client_id
          WHERE o.message_id LIKE '<demo-%' AND c.crm_account_id LIKE 'CRM-301%'",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert!(bodies.len() > 20, "{} demo emails", bodies.len());
    for (body, request, client) in &bodies {
        assert!(
            body.contains(client) && body.contains(&format!("{}/requests/{request}", app.base)),
            "{body}"
        );
    }
    let bare = TestApp::spawn().await;
    demo::seed(&bare.db).await.unwrap();
    assert!(!demo::dated_before(&bare.db, zone, tomorrow).await.unwrap());
    invariants::check_records(&app.db)
        .await
        .unwrap_or_else(|broken| panic!("the demo's present breaks a rule: {broken}"));

    // Every state of the process, and a request reinstating another.
    let states: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT state FROM change_requests r JOIN clients c ON c.id = r.client_id
          WHERE c.crm_account_id LIKE 'CRM-301%' ORDER BY state",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        states,
        [
            "approved",
            "changes_requested",
            "completed",
            "draft",
            "in_approval",
            "with_retention",
            "withdrawn"
        ]
    );
    let (steps_waiting, nudged, reinstating, asked, answered): (i64, i64, i64, i64, i64) =
        sqlx::query_as(
            "SELECT (SELECT count(DISTINCT position) FROM request_approvals WHERE state = 'pending'),
                    (SELECT count(*) FROM request_approvals WHERE state = 'pending'
                        AND nudged_at IS NOT NULL),
                    (SELECT count(*) FROM change_requests WHERE reverses_id IS NOT NULL
                        AND state = 'in_approval'),
                    (SELECT count(*) FROM request_questions WHERE answer IS NULL),
                    (SELECT count(*) FROM request_questions WHERE answer IS NOT NULL)",
        )
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(
        steps_waiting, 3,
        "a request waits at each step of the chain"
    );
    assert_eq!(nudged, 1, "one step waits past its nudge");
    assert_eq!((reinstating, asked, answered), (1, 1, 1));

    // Nothing is dated after now, and what is due later is scheduled, not sent early.
    let (future, unsent, due_jobs): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM audit_events WHERE at > now())
              + (SELECT count(*) FROM change_requests WHERE created_at > now()
                    OR state_changed_at > now()),
                (SELECT count(*) FROM outbox_messages WHERE state <> 'sent'),
                (SELECT count(*) FROM scheduled_jobs WHERE state = 'pending'
                    AND kind IN ('approval_nudge', 'checklist_overdue', 'effective_date_reminder')
                    AND run_at <= now())",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!((future, unsent, due_jobs), (0, 0, 0));
}

#[tokio::test]
async fn on_a_fresh_demo_every_desk_has_work_the_planner_this_month_and_a_checklist_half_done() {
    let app = demo_in_flight().await;
    for account in demo::ACCOUNTS {
        let cookie = app.cookie_for(account.email).await;
        let desk = app.page(&cookie, "/").await;
        assert!(
            !desk.contains("class=\"empty\""),
            "{}'s desk has an empty section",
            account.email
        );
        assert!(
            ["href=\"/requests/", "href=\"/tasks/", "data-item=\""]
                .iter()
                .any(|work| desk.contains(work)),
            "nothing on {}'s desk",
            account.email
        );
    }

    // Willow Bend's reinstatement reads as one, beside the pause it undoes, on its account
    // manager's desk and the list of requests.
    let maria = app.cookie_for("am@demo.test").await;
    for path in ["/", "/requests"] {
        let page = app.page(&maria, path).await;
        assert!(
            page.contains("Reinstatement (undoes a contract pause)"),
            "{path}: {page}"
        );
    }

    let ops = app.cookie_for("ops@demo.test").await;
    // The planner's current month (in the agency's zone) has lines.
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::America::Chicago)
        .date_naive();
    let month = today.format("%Y-%m");
    let planner = app.page(&ops, &format!("/planner?month={month}")).await;
    assert!(
        planner.matches("href=\"/requests/").count() >= 1,
        "{planner}"
    );
    // The offboarding sheet shows a checklist partly done and late.
    let sheet = app.page(&ops, "/offboarding").await;
    assert!(sheet.contains("Harborview Yacht Sales"), "{sheet}");
}
