//! The approval chain in a real headless Chromium: each person signs in and clicks what they
//! would, and the emails arrive at a real SMTP server.

use offboarding_desk::demo;

use crate::browser::{Search, demo_app_mailing, mail_for};
use crate::support::smtp::{self, header};
use crate::support::{TestApp, browser};

const PW: &str = demo::PASSWORD;

fn date_in(days: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(days))
        .format("%m%d%Y")
        .to_string()
}

/// The account manager files a request for `client` through the form; returns its page path.
pub(crate) async fn file(
    b: &browser::Browser,
    client: &str,
    kind: &str,
    fields: &[(&str, &str)],
    escalation: &str,
) -> String {
    b.click("nav .nav-links a[href=\"/clients\"]").await;
    b.fill_search(client).await;
    b.click("table a").await;
    b.click("#file-request").await;
    b.click(&format!("input[name=kind][value={kind}]")).await;
    if kind == "cancellation" {
        b.click("input[name=cancel_scope][value=services_only]")
            .await;
    }
    b.find("#effective_date")
        .await
        .send_keys(date_in(21))
        .await
        .unwrap();
    b.click("#reason_id option:nth-child(2)").await;
    for (id, value) in fields {
        b.fill(id, value).await;
    }
    b.click(&format!("input[name=escalation][value={escalation}]"))
        .await;
    b.click("#save-request").await;
    assert!(b.text("#flash").await.contains("Change request filed"));
    b.path().await
}

/// Opens the request at `path` from the person's desk and approves their step.
async fn approve_from_desk(
    b: &browser::Browser,
    app: &TestApp,
    who: &str,
    role: &str,
    path: &str,
) -> String {
    b.switch_to(&app.base, who, PW).await;
    b.click(&format!("section[data-role={role}] a[href=\"{path}\"]"))
        .await;
    b.click("#approve").await;
    b.text("#flash").await
}

#[tokio::test]
async fn a_saved_attempt_that_failed_with_a_credit_goes_through_every_step_to_the_change_task() {
    let name = "approval journey: retention, credit, four steps";
    let Some(b) = browser::start(name).await else {
        return;
    };
    let Some(server) = smtp::start(name).await else {
        return;
    };
    let app = demo_app_mailing(&server).await;

    b.sign_in(&app.base, "am@demo.test", PW).await;
    let path = file(
        &b,
        "Cascade",
        "cancellation",
        &[
            ("credit", "500.00"),
            ("credit_reason", "Goodwill for the missed month"),
        ],
        "retention",
    )
    .await;

    // Retention records the call (not saved) and submits; the account manager could not.
    b.switch_to(&app.base, "retention@demo.test", PW).await;
    b.click(&format!("section[data-role=retention] a[href=\"{path}\"]"))
        .await;
    b.click("input[name=outcome][value=not_saved]").await;
    b.click("#record-outcome").await;
    assert!(b.text("#flash").await.contains("Retention call recorded"));
    b.click("#submit-request").await;
    b.accept_confirm().await;
    assert!(b.text("#flash").await.contains("Submitted for approval"));
    assert_eq!(b.text("#request-state").await, "In approval");
    assert!(
        b.text("#chain li.current")
            .await
            .contains("Jeremy Bliesner")
    );

    let flash = approve_from_desk(&b, &app, "approver1@demo.test", "approver", &path).await;
    // The next step and the person it names.
    assert!(flash.contains("Second approval decides next ("), "{flash}");
    let flash = approve_from_desk(&b, &app, "approver2@demo.test", "approver", &path).await;
    assert!(flash.contains("Finance decides next"), "{flash}");
    // Finance sees the credit on its desk before opening the request.
    b.switch_to(&app.base, "finance@demo.test", PW).await;
    assert!(
        b.text("section[data-role=finance]")
            .await
            .contains("$500.00")
    );
    let flash = approve_from_desk(&b, &app, "finance@demo.test", "finance", &path).await;
    assert!(flash.contains("last step"), "{flash}");
    assert_eq!(b.text("#request-state").await, "Approved");

    // Accounting processes it from its desk.
    b.switch_to(&app.base, "accounting@demo.test", PW).await;
    b.click(&format!("section[data-role=accounting] a[href=\"{path}\"]"))
        .await;
    b.fill("process-note", "Credit applied in billing").await;
    b.click("#mark-processed").await;
    assert!(
        b.text("#processed")
            .await
            .contains("Credit applied in billing")
    );

    // The distribution list's email links to the change task, which opens.
    let mail = mail_for(&app, &server, "ops@demo.test").await;
    let approved: Vec<&String> = mail
        .iter()
        .filter(|m| header(m, "Subject").is_some_and(|s| s.contains("approved")))
        .collect();
    assert_eq!(approved.len(), 1, "{mail:?}");
    let link_start = approved[0]
        .find(&format!("{}/tasks/", app.base))
        .expect("a link to the change task");
    let link: String = approved[0][link_start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '<')
        .collect();
    b.driver.goto(&link).await.unwrap();
    assert!(b.text("h1").await.starts_with("Change task"));
    assert!(
        b.text("#task-details")
            .await
            .contains("Goodwill for the missed month")
    );
    assert!(b.text("#task-details").await.contains("Not saved"));
    b.close().await;
}

#[tokio::test]
async fn an_addendum_without_a_credit_skips_finance() {
    let name = "approval journey: addendum skips finance";
    let Some(b) = browser::start(name).await else {
        return;
    };
    let Some(server) = smtp::start(name).await else {
        return;
    };
    let app = demo_app_mailing(&server).await;
    let signed =
        std::env::temp_dir().join(format!("od-addendum-{}.pdf", uuid::Uuid::new_v4().simple()));
    std::fs::write(&signed, b"%PDF-1.4\n% signed\n%%EOF\n").unwrap();

    b.sign_in(&app.base, "am@demo.test", PW).await;
    let path = file(
        &b,
        "Red Rock",
        "addendum",
        &[("current_budget", "2,100"), ("new_budget", "1,600")],
        "none",
    )
    .await;
    // Not without the signed document: the button says why.
    assert!(
        b.text("#submit-blocked")
            .await
            .contains("sign the addendum")
    );
    b.find("#document")
        .await
        .send_keys(signed.to_str().unwrap())
        .await
        .unwrap();
    b.click("#attach").await;
    assert!(b.text("#flash").await.contains("Attached"));
    b.click("#submit-request").await;
    b.accept_confirm().await;
    assert!(b.text("#flash").await.contains("Submitted for approval"));
    let finance = b.text("#chain li[data-step=\"3\"]").await;
    assert!(finance.contains("Not required: no credit"), "{finance}");

    approve_from_desk(&b, &app, "approver1@demo.test", "approver", &path).await;
    let flash = approve_from_desk(&b, &app, "approver2@demo.test", "approver", &path).await;
    assert!(flash.contains("last step"), "{flash}");
    assert_eq!(b.text("#request-state").await, "Approved");
    // Finance was never asked.
    assert!(
        mail_for(&app, &server, "finance@demo.test")
            .await
            .is_empty()
    );
    let _ = std::fs::remove_file(&signed);
    b.close().await;
}

#[tokio::test]
async fn dustin_sends_a_request_back_and_after_the_edit_jeremy_is_asked_again() {
    let name = "approval journey: send back and resubmit";
    let Some(b) = browser::start(name).await else {
        return;
    };
    let Some(server) = smtp::start(name).await else {
        return;
    };
    let app = demo_app_mailing(&server).await;

    b.sign_in(&app.base, "am@demo.test", PW).await;
    let path = file(&b, "High Plains", "cancellation", &[], "none").await;
    b.click("#submit-request").await;
    b.accept_confirm().await;
    assert!(b.text("#flash").await.contains("Submitted"));
    approve_from_desk(&b, &app, "approver1@demo.test", "approver", &path).await;

    b.switch_to(&app.base, "approver2@demo.test", PW).await;
    b.click(&format!("section[data-role=approver] a[href=\"{path}\"]"))
        .await;
    b.click("#send-back-open").await;
    // No reason: asked for one in the same place.
    b.click("#send-back").await;
    assert!(b.text("#send-back-error").await.contains("Say why"));
    b.fill(
        "send-back-reason",
        "The effective date must be the end of the month",
    )
    .await;
    b.click("#send-back").await;
    assert!(b.text("#flash").await.contains("Sent back"));
    assert_eq!(b.text("#request-state").await, "Sent back");

    // The account manager is emailed the reason, edits and submits again.
    let mail = mail_for(&app, &server, "am@demo.test").await;
    assert!(
        mail.iter()
            .any(|m| m.contains("The effective date must be the end of the month"))
    );
    b.switch_to(&app.base, "am@demo.test", PW).await;
    b.driver.goto(&format!("{}{path}", app.base)).await.unwrap();
    assert!(
        b.text("#chain")
            .await
            .contains("The effective date must be the end of the month")
    );
    b.click("#edit-request").await;
    let field = b.find("#effective_date").await;
    field.send_keys(date_in(35)).await.unwrap();
    b.click("#save-request").await;
    assert!(b.text("#flash").await.contains("saved"));
    assert_eq!(b.text("#submit-request").await, "Submit again");
    b.click("#submit-request").await;
    b.accept_confirm().await;
    assert!(b.text("#flash").await.contains("Submitted"));
    assert!(
        b.text("#chain li.current")
            .await
            .contains("Jeremy Bliesner")
    );

    // Jeremy is asked again: a second email, and the request back on his desk.
    let asked: Vec<String> = mail_for(&app, &server, "approver1@demo.test")
        .await
        .into_iter()
        .filter(|m| header(m, "Subject").is_some_and(|s| s.contains("your approval is needed")))
        .collect();
    assert_eq!(asked.len(), 2);
    b.switch_to(&app.base, "approver1@demo.test", PW).await;
    b.find(&format!("section[data-role=approver] a[href=\"{path}\"]"))
        .await;
    b.close().await;
}
