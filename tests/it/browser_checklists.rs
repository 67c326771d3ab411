//! The offboarding checklist in a real headless Chromium: the contractor, the SEM specialist
//! and the Ops Lead each do their part from their own desk, and the request completes.

use chrono::{Duration, Utc};
use offboarding_desk::demo;

use crate::support::fixtures::approved_request;
use crate::support::{TestApp, browser};

const PW: &str = demo::PASSWORD;

/// Clicks the first "Done" of `list` until none is left; returns how many were ticked.
async fn tick_all(b: &browser::Browser, list: &str) -> usize {
    let mut ticked = 0;
    while let Ok(button) = b
        .driver
        .find(thirtyfour::By::Css(format!("{list} button[id^=tick-]")))
        .await
    {
        let id = button.attr("id").await.unwrap().unwrap();
        b.click(&format!("#{id}")).await;
        assert!(b.text("#flash").await.starts_with("Done:"));
        ticked += 1;
        assert!(ticked < 40, "the list never empties");
    }
    ticked
}

#[tokio::test]
async fn the_contractor_sem_and_ops_lead_work_a_checklist_and_the_request_completes() {
    let name = "checklist journey: contractor, SEM verification, Ops Lead";
    let Some(b) = browser::start(name).await else {
        return;
    };
    let app = TestApp::spawn_with(|c| c.demo = true).await;
    demo::seed(&app.db).await.expect("demo data");
    let effective = (Utc::now().date_naive() + Duration::days(20)).to_string();
    let id = approved_request(
        &app,
        "Summit Powersports",
        &[
            ("kind", "cancellation"),
            ("cancel_scope", "leave_platform"),
            ("effective_date", effective.as_str()),
        ],
    )
    .await;
    let page = format!("{}/requests/{id}", app.base);

    // The contractor ticks its six items from its desk.
    b.sign_in(&app.base, "contractor@demo.test", PW).await;
    assert_eq!(tick_all(&b, "table.desk-items").await, 6);
    assert!(
        b.text("section[data-role=contractor]")
            .await
            .contains("No offboarding items")
    );

    // The SEM specialist verifies them and does the Google Ads and Facebook shutdown.
    b.switch_to(&app.base, "sem@demo.test", PW).await;
    b.driver.goto(&page).await.unwrap();
    assert_eq!(tick_all(&b, "#checklist").await, 9);

    // The Ops Lead ticks the two sheet items, then works the change task.
    b.switch_to(&app.base, "ops@demo.test", PW).await;
    b.driver.goto(&page).await.unwrap();
    assert_eq!(tick_all(&b, "#checklist").await, 2);
    assert_eq!(b.text("#checklist-progress").await, "17 of 17 done");
    b.click("#open-task").await;
    b.click("#forward").await;
    b.click("#add-to-planner").await;
    b.click("#update-status").await;
    b.click("#task-done").await;
    assert!(b.text("#flash").await.contains("Change task done"));

    // SEM pauses the ads; Accounting processes; the request is completed.
    b.switch_to(&app.base, "sem@demo.test", PW).await;
    b.driver.goto(&page).await.unwrap();
    b.click("#ads-paused").await;
    b.switch_to(&app.base, "accounting@demo.test", PW).await;
    b.driver.goto(&page).await.unwrap();
    b.click("#mark-processed").await;
    assert!(b.text("#flash").await.contains("the request is completed"));
    assert_eq!(b.text("#request-state").await, "Completed");
    b.close().await;
}
