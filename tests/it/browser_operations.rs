//! After approval in a real headless Chromium: the Ops Lead follows the distribution email's
//! link, works the change task, and the SEM specialist's emails and reminders arrive at a real
//! SMTP server.

use chrono::{Duration, Utc};
use offboarding_desk::demo;

use crate::browser::{demo_app_mailing, mail_for};
use crate::support::fixtures::approved_request;
use crate::support::smtp::{self, header};
use crate::support::{TestApp, browser};

/// An approved pause for Summit Powersports, made over HTTP as its people would; the journey
/// under test starts after it.
async fn approved_pause(app: &TestApp) {
    let effective = (Utc::now().date_naive() + Duration::days(30)).to_string();
    let resume = (Utc::now().date_naive() + Duration::days(120)).to_string();
    approved_request(
        app,
        "Summit Powersports",
        &[
            ("kind", "pause"),
            ("effective_date", effective.as_str()),
            ("resume_date", resume.as_str()),
            (
                "product_notes",
                "Pause Google Ads and Facebook for the winter",
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn the_ops_lead_takes_an_approved_pause_from_the_email_and_sem_is_told_and_reminded() {
    let name = "operations journey: change task, planner, reminders";
    let Some(b) = browser::start(name).await else {
        return;
    };
    let Some(server) = smtp::start(name).await else {
        return;
    };
    let app = demo_app_mailing(&server).await;
    approved_pause(&app).await;

    // The distribution email links to the change task; following it signed out asks to sign
    // in, then lands on the task.
    let mail = mail_for(&app, &server, "ops@demo.test").await;
    let approved = mail
        .iter()
        .find(|m| header(m, "Subject").is_some_and(|s| s.contains("approved")))
        .expect("the distribution email");
    let start = approved.find(&format!("{}/tasks/", app.base)).unwrap();
    let link: String = approved[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '<')
        .collect();
    b.driver.goto(&link).await.unwrap();
    b.find("#sign-in").await;
    b.fill("email", "ops@demo.test").await;
    b.fill("password", demo::PASSWORD).await;
    b.click("#sign-in").await;
    assert!(b.text("h1").await.starts_with("Change task"));
    assert_eq!(format!("{}{}", app.base, b.path().await), link);
    assert!(
        b.text("#remaining")
            .await
            .contains("Forward to the SEM specialist")
    );

    // Forward to the client's specialist (chosen already), add to the planner, set the status.
    assert!(
        b.text("#sem_specialist option:checked")
            .await
            .contains("(the client's)")
    );
    b.click("#forward").await;
    assert!(b.text("#flash").await.contains("Forwarded to"));
    b.click("#add-to-planner").await;
    assert!(
        b.text("#flash")
            .await
            .contains("Added to the planner sheet")
    );
    assert_eq!(
        b.text("#status option:checked").await,
        "Paused (as the request says)"
    );
    b.click("#update-status").await;
    // Thirty days ahead: recorded now, dated as the request says.
    assert!(
        b.text("#flash")
            .await
            .contains("is now recorded as paused, effective ")
    );
    assert_eq!(b.text("#client-status").await, "Paused");
    assert!(
        b.text("#part-status")
            .await
            .contains("(recorded: Paused, effective "),
        "the task says the status waits for its date"
    );
    b.click("#task-done").await;
    assert!(b.text("#flash").await.contains("Change task done"));

    // The planner shows it, ads not yet paused.
    b.click("nav .nav-links a[href=\"/planner\"]").await;
    let row = b.text("#planner tbody tr").await;
    assert!(
        row.contains("Summit Powersports") && row.contains("Not yet"),
        "{row}"
    );

    // The SEM specialist got the notes, then the reminders as the date came close.
    let mail = mail_for(&app, &server, "sem@demo.test").await;
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert!(mail[0].contains("Pause Google Ads and Facebook for the winter"));
    let later = Utc::now() + Duration::days(31);
    offboarding_desk::server::job_runner(&app.state.config)
        .run_due(&app.db, later)
        .await
        .unwrap();
    let reminders: Vec<String> = mail_for(&app, &server, "sem@demo.test")
        .await
        .into_iter()
        .filter(|m| header(m, "Subject").is_some_and(|s| s.contains("effective")))
        .collect();
    let subjects: Vec<String> = reminders
        .iter()
        .filter_map(|m| header(m, "Subject"))
        .filter(|s| s.contains(" in ") || s.contains("tomorrow") || s.contains("today"))
        .collect();
    assert_eq!(subjects.len(), 3, "{subjects:?}");
    assert!(
        subjects
            .iter()
            .all(|s| s.starts_with("Summit Powersports: contract pause effective"))
    );
    assert!(
        reminders[1..]
            .iter()
            .all(|m| m.contains("ads not yet paused"))
    );
    b.close().await;
}
