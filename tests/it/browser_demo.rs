//! The first hour, in a real headless Chromium: a fresh demo shows each person their work,
//! the timeline speaks in sentences with names, and every page fits a laptop's and a phone's
//! width (the screenshots are kept under the target directory's `tmp/screenshots`).

use offboarding_desk::demo;
use serde_json::json;
use thirtyfour::prelude::*;

use crate::support::browser::{self, Browser};

/// What a CSS selector finds on the page now, without waiting.
async fn count(b: &Browser, css: &str) -> usize {
    b.driver.find_all(By::Css(css)).await.unwrap().len()
}

#[tokio::test]
async fn on_a_fresh_demo_each_person_meets_a_monday_morning_of_work() {
    let Some(b) =
        browser::start("on_a_fresh_demo_each_person_meets_a_monday_morning_of_work").await
    else {
        return;
    };
    let app = crate::demo::demo_in_flight().await;
    for account in demo::ACCOUNTS {
        b.sign_in(&app.base, account.email, demo::PASSWORD).await;
        assert_eq!(b.path().await, "/", "{} did not land home", account.email);
        let work = count(
            &b,
            "section.queue a[href^='/requests/'], section.queue a[href^='/tasks/'], \
             section.queue [data-item]",
        )
        .await;
        assert!(work > 0, "nothing on {}'s desk", account.email);
        assert_eq!(
            count(&b, "section.queue .empty").await,
            0,
            "{}'s desk has an empty section",
            account.email
        );
        b.click("#sign-out").await;
    }

    // The Ops Lead's month calendar has this month's effective dates.
    b.sign_in(&app.base, "ops@demo.test", demo::PASSWORD).await;
    b.click("nav a[href='/planner']").await;
    b.click("a[href='/planner/calendar']").await;
    b.find("#calendar").await;
    assert!(count(&b, "#calendar a.entry").await > 0, "an empty month");

    // The offboarding sheet has a checklist partly done, and late.
    b.click("nav a[href='/offboarding']").await;
    b.find("table").await;
    let mut harborview = None;
    for row in b.driver.find_all(By::Css("tbody tr")).await.unwrap() {
        let text = row.text().await.unwrap();
        if text.contains("Harborview Yacht Sales") {
            let link = row.find(By::Css("a[href^='/requests/']")).await.unwrap();
            harborview = Some((text, link.attr("href").await.unwrap().unwrap()));
        }
    }
    let (harborview, request) = harborview.expect("Harborview Yacht Sales on the sheet");
    let (done, total) = harborview
        .split_whitespace()
        .collect::<Vec<_>>()
        .windows(3)
        .find(|w| w[1] == "of" && w[0].parse::<u32>().is_ok() && w[2].parse::<u32>().is_ok())
        .map(|w| (w[0].parse::<u32>().unwrap(), w[2].parse::<u32>().unwrap()))
        .unwrap_or_else(|| panic!("no progress in {harborview}"));
    assert!(0 < done && done < total, "{done} of {total}");

    // Its request's timeline tells what happened in sentences, naming people and their roles.
    b.click(&format!("tbody a[href='{request}']")).await;
    let timeline = b.text(".timeline").await;
    for sentence in [
        "Maria Chen (Account manager): Filed the cancellation and sent it to Retention",
        "Amy Reyes (Retention Team): Retention call recorded: Not saved",
        "Jeremy Bliesner (Approver): Approved at the step “First approval”",
        "Dana Ortiz (DM Operations Lead): Forwarded the change task to Kai Nakamura",
        "Dana Ortiz (DM Operations Lead): Added the client to the planner for",
        "Juniper Digital (Contractor): Ticked “Remove from NinjaCat”",
        "Dana Ortiz (DM Operations Lead): Updated the account status from active to",
    ] {
        assert!(timeline.contains(sentence), "{sentence}\n in {timeline}");
    }
    assert!(
        !timeline.contains("@demo.test") && !timeline.contains("change_task."),
        "no addresses or keys: {timeline}"
    );
    b.close().await;
}

#[tokio::test]
async fn a_real_installation_s_first_admin_comes_from_the_link_and_meets_the_setting_up_list() {
    let Some(b) = browser::start(
        "a_real_installation_s_first_admin_comes_from_the_link_and_meets_the_setting_up_list",
    )
    .await
    else {
        return;
    };
    // No demo: nobody exists, and the server has printed its one-time link.
    let app = crate::support::TestApp::spawn().await;
    let token = offboarding_desk::setup::issue(&app.db).await.unwrap();
    b.driver
        .goto(app.url(&format!("/setup?token={token}")))
        .await
        .unwrap();
    b.fill("display_name", "Dana Ortiz").await;
    b.fill("email", "dana@agency.test").await;
    b.fill("password", "short").await;
    b.click("#create-admin").await;
    // Refused beside the field, with what was typed kept.
    assert!(b.text("#password-error").await.contains("8"));
    let kept = b.find("#email").await.value().await.unwrap();
    assert_eq!(kept.as_deref(), Some("dana@agency.test"));
    b.fill("password", "larkspur-orbit-1973").await;
    b.click("#create-admin").await;
    assert_eq!(b.path().await, "/login");
    b.sign_in(&app.base, "dana@agency.test", "larkspur-orbit-1973")
        .await;
    assert_eq!(b.path().await, "/");

    // The desk says what to set up, in order, none of it done; each part links to its page.
    let done = "#first-run li[data-done='true']";
    assert_eq!(count(&b, "#first-run li").await, 7);
    assert_eq!(count(&b, done).await, 0);
    b.click("#first-run li:first-child a").await;
    assert_eq!(b.path().await, "/admin/users");
    b.driver.back().await.unwrap();
    // The reasons the desk comes with are right as they are: one click ticks them.
    b.click("#reviewed-reasons").await;
    b.find("#first-run").await;
    assert_eq!(count(&b, done).await, 1);
    assert_eq!(count(&b, "#reviewed-reasons").await, 0);
    assert!(b.text("#first-run li.done").await.contains("reasons"));
    b.close().await;
}

/// Sets the page's width: a laptop's as the window, a phone's (narrower than a headless window
/// can be) as the device Chromium emulates.
async fn width(b: &Browser, px: u32) {
    b.driver
        .cdp()
        .send_raw(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": px, "height": 900, "deviceScaleFactor": 1, "mobile": px < 600 }),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn every_page_fits_a_laptop_and_a_phone_without_scrolling_sideways() {
    let Some(b) =
        browser::start("every_page_fits_a_laptop_and_a_phone_without_scrolling_sideways").await
    else {
        return;
    };
    let app = crate::demo::demo_in_flight().await;
    let id = |sql: &'static str| {
        let db = app.db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&db)
                .await
                .unwrap()
        }
    };
    let harborview = id(
        "SELECT r.id FROM change_requests r JOIN clients c ON c.id = r.client_id
                           WHERE c.name = 'Harborview Yacht Sales'",
    )
    .await;
    let in_approval = id("SELECT min(id) FROM change_requests WHERE state = 'in_approval'").await;
    let task = id("SELECT min(id) FROM change_tasks WHERE done_at IS NULL").await;
    let client = id("SELECT id FROM clients WHERE name = 'Silver Lake Marine'").await;
    let lakeside = id("SELECT id FROM clients WHERE name = 'Lakeside RV Center'").await;
    let user = id("SELECT id FROM users WHERE email = 'am@demo.test'").await;
    let mail = id("SELECT max(id) FROM outbox_messages").await;
    let pages: Vec<(&str, String)> = vec![
        ("", "/login".into()),
        ("admin@demo.test", "/".into()),
        ("admin@demo.test", "/clients".into()),
        ("admin@demo.test", format!("/clients/{client}")),
        ("admin@demo.test", format!("/clients/{client}/edit")),
        ("admin@demo.test", "/clients/new".into()),
        ("admin@demo.test", "/clients/import".into()),
        ("admin@demo.test", "/requests".into()),
        ("admin@demo.test", format!("/requests/{harborview}")),
        ("admin@demo.test", "/offboarding".into()),
        ("admin@demo.test", "/admin/users".into()),
        ("admin@demo.test", format!("/admin/users/{user}")),
        ("admin@demo.test", "/admin/users/new".into()),
        ("admin@demo.test", "/admin/distribution".into()),
        ("admin@demo.test", "/admin/approvals".into()),
        ("admin@demo.test", "/admin/checklist".into()),
        ("admin@demo.test", "/admin/reasons".into()),
        ("admin@demo.test", "/admin/mail".into()),
        ("admin@demo.test", format!("/admin/mail/{mail}")),
        ("admin@demo.test", "/admin/audit".into()),
        ("admin@demo.test", "/admin/jobs".into()),
        ("am@demo.test", "/".into()),
        ("am@demo.test", format!("/clients/{lakeside}/requests/new")),
        ("approver1@demo.test", format!("/requests/{in_approval}")),
        ("approver1@demo.test", "/substitutes".into()),
        ("ops@demo.test", "/".into()),
        ("ops@demo.test", format!("/tasks/{task}")),
        ("ops@demo.test", "/planner".into()),
        ("ops@demo.test", "/planner/calendar".into()),
        ("ops@demo.test", "/planner/feed".into()),
        ("sem@demo.test", "/".into()),
        ("contractor@demo.test", "/".into()),
        ("leadership@demo.test", "/reports".into()),
    ];
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let mut too_wide = Vec::new();
    // "" is nobody signed in.
    let mut signed_in = "-";
    // Each person's session is put in the browser as its cookie: signing in through the form
    // is the journeys' business, and hashing a password each time would only slow this down.
    b.driver.goto(format!("{}/login", app.base)).await.unwrap();
    for (who, path) in &pages {
        if *who != signed_in {
            b.driver.delete_all_cookies().await.unwrap();
            if !who.is_empty() {
                let cookie = app.cookie_for(who).await;
                let secret = cookie.trim_start_matches("od_session=");
                b.driver
                    .add_cookie(thirtyfour::Cookie::new("od_session", secret.to_string()))
                    .await
                    .unwrap();
            }
            signed_in = who;
        }
        for px in [1280, 390] {
            width(&b, px).await;
            b.driver.goto(format!("{}{path}", app.base)).await.unwrap();
            b.find("main").await;
            assert_eq!(&b.path().await, path, "{who} was shown another page");
            if path == "/planner" {
                // With a line's Move form open, too.
                b.click("tbody tr:last-child details.move-dates > summary")
                    .await;
            }
            // Measured against the width asked for: on a phone, content wider than the screen
            // widens the layout itself, so the window's own width would grow to fit it.
            let page: i64 = b
                .driver
                .execute("return document.documentElement.scrollWidth;", vec![])
                .await
                .unwrap()
                .convert()
                .unwrap();
            let name = format!(
                "{}{}-{px}.png",
                who.split('@').next().unwrap(),
                path.replace('/', "_")
            );
            b.driver.screenshot(&shots.join(&name)).await.unwrap();
            if page > i64::from(px) {
                too_wide.push(format!("{path} as {who} at {px} px: {page} px wide"));
            }
        }
    }
    assert!(too_wide.is_empty(), "wider than the window: {too_wide:#?}");
    b.close().await;
}
