//! Offboarding checklists against the database: made at approval from the templates and the
//! client's products, ticked by their owners, verified after the contractor, completing the
//! request; the contractor sees its own items and nothing else.

use offboarding_desk::auth::roles::Role;

use crate::operations::{Ops, in_days, ops};
use crate::support::location;

/// A leave-the-platform cancellation for a client with Google Ads and Facebook, approved.
async fn approved_cancellation(o: &Ops) -> (i64, i64) {
    sqlx::query("UPDATE clients SET ad_products = '{google_ads,facebook}' WHERE id = $1")
        .bind(o.c.client_id)
        .execute(&o.c.app.db)
        .await
        .unwrap();
    o.approved(o.c.client_id, &[("cancel_scope", "leave_platform")])
        .await
}

async fn items(o: &Ops, request: i64) -> Vec<(i64, String, String, Option<i64>)> {
    sqlx::query_as(
        "SELECT id, title, owner_role, verifies_id FROM checklist_items
          WHERE change_request_id = $1 ORDER BY position",
    )
    .bind(request)
    .fetch_all(&o.c.app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn an_approved_cancellation_gets_its_checklist_and_its_owners_tick_it_to_completion() {
    let o = ops().await;
    let c = &o.c;
    let contractor = c.app.user("juniper@agency.test", &[Role::Contractor]).await;
    let contractor_cookie = c.app.session_cookie(contractor).await;
    let (id, task) = approved_cancellation(&o).await;
    let list = items(&o, id).await;
    let count = |role: &str, verification: bool| {
        list.iter()
            .filter(|(_, _, r, v)| r == role && v.is_some() == verification)
            .count()
    };
    assert_eq!(count("ops_lead", false), 2);
    assert_eq!(count("contractor", false), 6);
    assert_eq!(count("sem_specialist", true), 6);
    assert_eq!(
        count("sem_specialist", false),
        3,
        "Google Ads twice, Facebook once"
    );

    // The contractor's desk lists its six items, and nothing about money.
    let desk = c.page(&contractor_cookie, "/").await;
    assert_eq!(desk.matches("action=\"/checklist/").count(), 6, "{desk}");
    assert!(!desk.contains('$') && !desk.contains("Pause Google Ads"));

    // A verification cannot come before the contractor's tick.
    let (first_contractor, _, _, _) = list.iter().find(|i| i.2 == "contractor").unwrap().clone();
    let (verification, _, _, _) = list
        .iter()
        .find(|i| i.3 == Some(first_contractor))
        .unwrap()
        .clone();
    c.post(
        &o.sem_cookie,
        &format!("/checklist/{verification}/done"),
        &[],
    )
    .await;
    assert_eq!(c.app.audit_count("checklist.ticked").await, 0);

    // Every owner ticks their items: contractor first, then SEM, then the Ops Lead.
    for (item, _, role, _) in list.iter().filter(|i| i.2 == "contractor") {
        let res = c
            .post(
                &contractor_cookie,
                &format!("/checklist/{item}/done"),
                &[("note", "Removed")],
            )
            .await;
        assert_eq!(location(&res), "/", "{role}: back to the desk");
    }
    // What it ticked waits under "Done in the last 14 days", to undo a mistake.
    let desk = c.page(&contractor_cookie, "/").await;
    assert!(desk.contains("Done in the last 14 days (6)"), "{desk}");
    assert_eq!(desk.matches("/undo\"").count(), 6, "{desk}");
    // The same item stands on many clients' checklists: what is said names the client.
    let client: String = sqlx::query_scalar(
        "SELECT c.name FROM change_requests r JOIN clients c ON c.id = r.client_id WHERE r.id = $1",
    )
    .bind(id)
    .fetch_one(&c.app.db)
    .await
    .unwrap();
    let said = crate::support::flash(&desk);
    assert!(
        said.starts_with("Done: ") && said.ends_with(&format!(" ({client}).")),
        "{said}"
    );
    let (first, title, _, _) = list.iter().find(|i| i.2 == "contractor").unwrap();
    let res = c
        .post(
            &contractor_cookie,
            &format!("/checklist/{first}/undo"),
            &[("reason", " ")],
        )
        .await;
    let said = crate::support::flash(&c.page(&contractor_cookie, &location(&res)).await);
    assert!(
        said.starts_with(&format!("Nothing changed on {title} ({client}). ")),
        "{said}"
    );
    // An item the desk does not show them is not named, whatever was typed.
    let (other, other_title, _, _) = list.iter().find(|i| i.2 == "ops_lead").unwrap();
    let res = c
        .post(
            &contractor_cookie,
            &format!("/checklist/{other}/done"),
            &[("note", "Removed\u{0}")],
        )
        .await;
    let said = crate::support::flash(&c.page(&contractor_cookie, &location(&res)).await);
    assert!(said.starts_with("Nothing changed. "), "{said}");
    assert!(
        !said.contains(other_title.as_str()) && !said.contains(&client),
        "{said}"
    );
    for (item, _, _, _) in list.iter().filter(|i| i.2 == "sem_specialist") {
        c.post(&o.sem_cookie, &format!("/checklist/{item}/done"), &[])
            .await;
    }
    for (item, _, _, _) in list.iter().filter(|i| i.2 == "ops_lead") {
        c.post(&o.ops_cookie, &format!("/checklist/{item}/done"), &[])
            .await;
    }
    assert_eq!(c.app.audit_count("checklist.ticked").await, 17);
    let page = c.page(&c.am_cookie, &format!("/requests/{id}")).await;
    assert!(page.contains("17 of 17 done"), "{page}");
    assert!(page.contains("Ticked “Remove from NinjaCat” (“Removed”)"));
    assert_eq!(c.state(id).await, "approved", "the rest is not done yet");

    // The rest: change task, pause task, Accounting; the request completes.
    o.act(task, "forward", &[("sem_specialist", &o.sem.to_string())])
        .await;
    o.act(task, "planner", &[]).await;
    o.act(
        task,
        "status",
        &[
            ("status", "left_platform"),
            ("effective_date", &in_days(30)),
        ],
    )
    .await;
    o.act(task, "done", &[]).await;
    let sem_task: i64 = sqlx::query_scalar("SELECT id FROM sem_tasks WHERE change_request_id = $1")
        .bind(id)
        .fetch_one(&c.app.db)
        .await
        .unwrap();
    c.post(&o.sem_cookie, &format!("/sem-tasks/{sem_task}/done"), &[])
        .await;
    assert_eq!(c.state(id).await, "approved");
    c.post(
        &c.accounting_cookie,
        &format!("/requests/{id}/processed"),
        &[],
    )
    .await;
    assert_eq!(c.state(id).await, "completed");
    // A completed request's ticks are no longer offered for undoing.
    let desk = c.page(&contractor_cookie, "/").await;
    assert!(!desk.contains("Done in the last 14 days"), "{desk}");
    // The planner shows the progress.
    let planner = c.page(&o.ops_cookie, "/planner?state=all").await;
    assert!(planner.contains("17 of 17"), "{planner}");
}

#[tokio::test]
async fn the_contractor_sees_its_own_items_and_every_other_attempt_is_refused_and_recorded() {
    let o = ops().await;
    let c = &o.c;
    let contractor = c.app.user("juniper@agency.test", &[Role::Contractor]).await;
    let cookie = c.app.session_cookie(contractor).await;
    let (id, task) = approved_cancellation(&o).await;
    let list = items(&o, id).await;
    let refused_before = c.app.audit_count("access.refused").await;
    // Other clients' pages, the request, its task, money, the planner, attachments: refused.
    for path in [
        format!("/requests/{id}"),
        format!("/tasks/{task}"),
        format!("/clients/{}", c.client_id),
        "/clients".to_string(),
        "/requests".to_string(),
        "/planner".to_string(),
        "/planner.csv".to_string(),
        "/attachments/1".to_string(),
    ] {
        let res = crate::support::client()
            .get(c.app.url(&path))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{path}");
    }
    // Items that are not the contractor's, by id: refused and recorded.
    for (item, _, role, _) in list.iter().filter(|i| i.2 != "contractor").take(3) {
        let res = c
            .post(&cookie, &format!("/checklist/{item}/done"), &[])
            .await;
        assert_eq!(res.status(), 403, "{role} item");
    }
    assert_eq!(c.app.audit_count("checklist.ticked").await, 0);
    assert_eq!(
        c.app.audit_count("access.refused").await,
        refused_before + 8 + 3
    );
    // An item id that does not exist says nothing about what does.
    let res = c.post(&cookie, "/checklist/999999/done", &[]).await;
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn a_pause_gets_no_checklist_and_a_reinstatement_cancels_what_is_left() {
    let o = ops().await;
    let c = &o.c;
    let (pause, _) = o
        .approved(c.client_id, &[("kind", "pause"), ("cancel_scope", "")])
        .await;
    assert!(items(&o, pause).await.is_empty());

    let other = crate::support::fixtures::new_client(&c.app, c.am, "Summit Powersports").await;
    let (cancellation, _) = o.approved(other, &[]).await;
    let open = items(&o, cancellation).await.len();
    // Services only, no ad products: the two Ops Lead items, the Trello removal and its check.
    assert_eq!(open, 4);
    let reversal = c.reinstate(cancellation, "They stay").await;
    c.submit(&c.am_cookie, reversal).await;
    for cookie in [&c.jeremy_cookie, &c.dustin_cookie] {
        let step = c.pending_step(reversal).await;
        c.decide(cookie, step, "approve", "").await;
    }
    let cancelled: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM checklist_items WHERE change_request_id = $1 AND cancelled_at IS NOT NULL",
    )
    .bind(cancellation)
    .fetch_one(&c.app.db)
    .await
    .unwrap();
    assert_eq!(cancelled as usize, open);
    // Its page says so: no "0 of 0 done", no check waiting on a tick that will not come.
    let page = c
        .page(&o.ops_cookie, &format!("/requests/{cancellation}"))
        .await;
    assert!(
        page.contains("Every item was cancelled: nothing is left to do."),
        "{page}"
    );
    assert!(!page.contains("0 of 0 done"), "{page}");
    assert!(
        !page.contains("Verified after the contractor ticks it."),
        "{page}"
    );
    assert!(
        items(&o, reversal).await.is_empty(),
        "a reinstatement has no checklist"
    );
}

#[tokio::test]
async fn ticks_are_undone_by_who_made_them_sent_back_by_sem_and_overdue_items_nag_daily() {
    let o = ops().await;
    let c = &o.c;
    let contractor = c.app.user("juniper@agency.test", &[Role::Contractor]).await;
    let contractor_cookie = c.app.session_cookie(contractor).await;
    let (id, _) = approved_cancellation(&o).await;
    let list = items(&o, id).await;
    let trello = list.iter().find(|i| i.2 == "contractor").unwrap().0;
    let verify = list.iter().find(|i| i.3 == Some(trello)).unwrap().0;
    let tracker = list.iter().find(|i| i.2 == "ops_lead").unwrap().0;

    // The Ops Lead ticks and undoes with a reason (none given: asked beside the field).
    c.post(&o.ops_cookie, &format!("/checklist/{tracker}/done"), &[])
        .await;
    let res = c
        .post(
            &o.ops_cookie,
            &format!("/checklist/{tracker}/undo"),
            &[("reason", " ")],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains(&format!("id=\"reason-{tracker}-error\""))
    );
    c.post(
        &o.ops_cookie,
        &format!("/checklist/{tracker}/undo"),
        &[("reason", "Ticked the wrong client")],
    )
    .await;
    assert_eq!(c.app.audit_count("checklist.undone").await, 1);
    // Someone else cannot undo the contractor's tick.
    c.post(
        &contractor_cookie,
        &format!("/checklist/{trello}/done"),
        &[],
    )
    .await;
    c.post(
        &o.ops_cookie,
        &format!("/checklist/{trello}/undo"),
        &[("reason", "x")],
    )
    .await;
    assert_eq!(c.app.audit_count("checklist.undone").await, 1);

    // SEM sends the contractor's item back: it is open again and the contractor is emailed.
    c.post(
        &o.sem_cookie,
        &format!("/checklist/{verify}/send-back"),
        &[("reason", "Still on the Trello board")],
    )
    .await;
    assert_eq!(c.app.audit_count("checklist.sent_back").await, 1);
    let open: bool =
        sqlx::query_scalar("SELECT done_at IS NULL FROM checklist_items WHERE id = $1")
            .bind(trello)
            .fetch_one(&c.app.db)
            .await
            .unwrap();
    assert!(open);
    let (to, text): (Vec<String>, String) = sqlx::query_as(
        "SELECT to_addrs, body_text FROM outbox_messages WHERE kind = 'checklist.sent_back'",
    )
    .fetch_one(&c.app.db)
    .await
    .unwrap();
    assert_eq!(to, vec!["juniper@agency.test"]);
    assert!(text.contains("Still on the Trello board"));

    // Once verified, the contractor's tick stands until the verification is undone.
    c.post(
        &contractor_cookie,
        &format!("/checklist/{trello}/done"),
        &[],
    )
    .await;
    c.post(&o.sem_cookie, &format!("/checklist/{verify}/done"), &[])
        .await;
    c.post(
        &contractor_cookie,
        &format!("/checklist/{trello}/undo"),
        &[("reason", "oops")],
    )
    .await;
    assert_eq!(c.app.audit_count("checklist.undone").await, 1);

    // Overdue: the day after the due date, each open item's owner is emailed, once a day.
    let runner = offboarding_desk::server::job_runner(&c.app.state.config);
    // The first reminder time of items due with the effective date, whatever the hour now.
    let due = offboarding_desk::checklists::overdue::first_due(
        chrono::Utc::now().date_naive() + chrono::Duration::days(30),
        chrono_tz::Tz::UTC,
    ) + chrono::Duration::minutes(1);
    runner.run_due(&c.app.db, due).await.unwrap();
    runner.run_due(&c.app.db, due).await.unwrap();
    let overdue = |db: sqlx::PgPool| async move {
        sqlx::query_scalar::<_, String>(
            "SELECT subject || ' → ' || array_to_string(to_addrs, ',') FROM outbox_messages
              WHERE kind = 'checklist.overdue' ORDER BY id",
        )
        .fetch_all(&db)
        .await
        .unwrap()
    };
    let first = overdue(c.app.db.clone()).await;
    let open_items: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM checklist_items WHERE change_request_id = $1 AND done_at IS NULL",
    )
    .bind(id)
    .fetch_one(&c.app.db)
    .await
    .unwrap();
    assert_eq!(first.len() as i64, open_items, "{first:?}");
    assert!(first.iter().any(|m| m.ends_with("→ ops@agency.test")));
    assert!(first.iter().any(|m| m.ends_with("→ juniper@agency.test")));
    assert!(first.iter().any(|m| m.ends_with("→ sem@agency.test")));
    // A day later, again; once done, no more.
    for (item, _, role, _) in list.iter().filter(|i| i.2 == "ops_lead") {
        c.post(&o.ops_cookie, &format!("/checklist/{item}/done"), &[])
            .await;
        let _ = role;
    }
    runner
        .run_due(&c.app.db, due + chrono::Duration::days(1))
        .await
        .unwrap();
    let second = overdue(c.app.db.clone()).await;
    assert_eq!(
        second.len() as i64,
        2 * open_items - 2,
        "the Ops Lead's two items stopped"
    );
}

#[tokio::test]
async fn the_offboarding_sheet_lists_cancelled_clients_and_exports_them() {
    let o = ops().await;
    let c = &o.c;
    let (id, _) = approved_cancellation(&o).await;
    let page = c.page(&c.am_cookie, "/offboarding").await;
    assert!(
        page.contains("Lakeside RV Center") && page.contains("0 of 17"),
        "{page}"
    );
    let body = c.app.page(&c.am_cookie, "/offboarding.csv").await;
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(&rows[0][0], "Lakeside RV Center");
    assert_eq!(&rows[0][2], "Leaving the platform");
    assert_eq!((&rows[0][4], &rows[0][5]), ("0", "17"));
    assert!(rows[0][8].ends_with(&format!("/requests/{id}")));
}

#[tokio::test]
async fn template_changes_apply_to_checklists_made_afterwards_only() {
    let o = ops().await;
    let c = &o.c;
    let admin = c.app.user("admin@agency.test", &[Role::Admin]).await;
    let admin_cookie = c.app.session_cookie(admin).await;
    let (before, _) = approved_cancellation(&o).await;
    let count_before = items(&o, before).await.len();

    let res = c
        .post(
            &admin_cookie,
            "/admin/checklist",
            &[
                ("title", "Remove from Slack"),
                ("position", "soon"),
                ("owner_role", "ops_lead"),
                ("condition", "always"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("A whole number from 0 to 9999.")
            && body.contains("value=\"Remove from Slack\"")
    );
    let res = c
        .post(
            &admin_cookie,
            "/admin/checklist",
            &[
                ("title", "Remove from Slack"),
                ("position", "25"),
                ("owner_role", "ops_lead"),
                ("condition", "always"),
                ("due_offset_days", "-2"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    // Retire the Trello item.
    let trello: i64 =
        sqlx::query_scalar("SELECT id FROM checklist_templates WHERE title LIKE '%Trello%'")
            .fetch_one(&c.app.db)
            .await
            .unwrap();
    c.post(
        &admin_cookie,
        &format!("/admin/checklist/{trello}/retire"),
        &[],
    )
    .await;
    assert_eq!(c.app.audit_count("checklist_template.added").await, 1);
    assert_eq!(c.app.audit_count("checklist_template.retired").await, 1);

    assert_eq!(
        items(&o, before).await.len(),
        count_before,
        "made before: unchanged"
    );
    let other = crate::support::fixtures::new_client(&c.app, c.am, "Summit Powersports").await;
    let (after, _) = o.approved(other, &[]).await;
    let titles: Vec<String> = items(&o, after).await.into_iter().map(|i| i.1).collect();
    assert!(
        titles.contains(&"Remove from Slack".to_string()),
        "{titles:?}"
    );
    assert!(!titles.iter().any(|t| t.contains("Trello")), "{titles:?}");
    let due: chrono::NaiveDate = sqlx::query_scalar(
        "SELECT due_on FROM checklist_items WHERE change_request_id = $1 AND title = 'Remove from Slack'",
    )
    .bind(after)
    .fetch_one(&c.app.db)
    .await
    .unwrap();
    let effective: chrono::NaiveDate =
        sqlx::query_scalar("SELECT effective_date FROM change_requests WHERE id = $1")
            .bind(after)
            .fetch_one(&c.app.db)
            .await
            .unwrap();
    assert_eq!(effective - due, chrono::Duration::days(2));
}

#[tokio::test]
async fn items_owned_by_a_role_nobody_holds_wait_on_the_admin_until_someone_has_it() {
    let o = ops().await;
    let c = &o.c;
    let admin = c.app.user("admin@agency.test", &[Role::Admin]).await;
    let admin_cookie = c.app.session_cookie(admin).await;
    // No contractor at all: the approved cancellation's contractor items can be ticked by nobody.
    let (id, _) = approved_cancellation(&o).await;
    let desk = c.page(&admin_cookie, "/").await;
    let start = desk
        .find("id=\"orphaned-requests\"")
        .expect("on the admin's desk");
    let section = &desk[start..];
    assert!(
        section.contains(&format!("/requests/{id}"))
            && section.contains("wait on the Contractor role, which nobody holds"),
        "{section}"
    );
    // Someone given the role takes it off the admin's desk.
    c.app.user("juniper@agency.test", &[Role::Contractor]).await;
    let desk = c.page(&admin_cookie, "/").await;
    assert!(!desk.contains("id=\"orphaned-requests\""), "{desk}");
}
