//! Off the main paths, where requests used to stall or disagree with themselves: a substitute
//! who also approves a later step, a date moved on the planner, a request sent back to
//! Retention, a budget change from a cancellation, a forwarded change task, a client handed to
//! another account manager, edits after the call or the signature, the overlap warning, the
//! contractor's refused attempts, the agency's time zone, and corrections. Each test is named
//! for the defect it guards.

use chrono::{Duration, Utc};
use offboarding_desk::auth::roles::Role;

use crate::operations::{in_days, ops};
use crate::support::fixtures::{chain, new_client};
use crate::support::{TestApp, client};

async fn one<T>(app: &TestApp, sql: &'static str, id: i64) -> T
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin,
{
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

/// The message shown at the top of the next page `path` (the flash), or empty.
async fn flash_on(app: &TestApp, cookie: &str, path: &str) -> String {
    crate::support::flash(&app.page(cookie, path).await)
}

// 1. A substitute stalls the chain.

#[tokio::test]
async fn naming_as_substitute_someone_who_approves_another_step_is_refused() {
    let c = chain().await;
    let dustin: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = 'dustin@agency.test'")
        .fetch_one(&c.app.db)
        .await
        .unwrap();
    let today = Utc::now().date_naive().to_string();
    let res = c
        .post(
            &c.jeremy_cookie,
            "/substitutes",
            &[
                ("substitute", &dustin.to_string()),
                ("starts_on", &today),
                ("ends_on", &today),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("a substitute stands in for one person, never for two steps"),
        "{page}"
    );
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM approval_substitutes")
        .fetch_one(&c.app.db)
        .await
        .unwrap();
    assert_eq!(n, 0, "nothing saved");
}

#[tokio::test]
async fn a_step_the_substitute_cannot_decide_goes_back_to_the_absent_approver_and_the_admin_is_told()
 {
    let c = chain().await;
    let admin = c.app.user("admin@agency.test", &[Role::Admin]).await;
    let dustin: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = 'dustin@agency.test'")
        .fetch_one(&c.app.db)
        .await
        .unwrap();
    // Named before the chain put Dustin on step 2 (or straight into the table): the desk must
    // not rely on the naming check alone.
    sqlx::query(
        "INSERT INTO approval_substitutes (approver_id, substitute_id, starts_on, ends_on)
         VALUES ($1, $2, current_date - 1, current_date + 7)",
    )
    .bind(c.jeremy)
    .bind(dustin)
    .execute(&c.app.db)
    .await
    .unwrap();
    let id = c.file(&[]).await;
    c.submit(&c.am_cookie, id).await;
    let step1 = c.pending_step(id).await;
    assert_eq!(c.decide(&c.dustin_cookie, step1, "approve", "").await, 303);
    let flash = c.flash(&c.dustin_cookie, id).await;
    assert!(flash.contains("went back to Test jeremy"), "{flash}");
    // Step 2 now waits on Jeremy, flagged for the admin, and is on both desks.
    let step2 = c.pending_step(id).await;
    let (approver, flagged): (Option<i64>, bool) = sqlx::query_as(
        "SELECT approver_user_id, flagged_at IS NOT NULL FROM request_approvals WHERE id = $1",
    )
    .bind(step2)
    .fetch_one(&c.app.db)
    .await
    .unwrap();
    assert_eq!((approver, flagged), (Some(c.jeremy), true));
    let jeremy_desk = c.page(&c.jeremy_cookie, "/").await;
    assert!(
        jeremy_desk.contains(&format!("/requests/{id}")),
        "on Jeremy's desk"
    );
    let dustin_desk = c.page(&c.dustin_cookie, "/").await;
    assert!(
        !dustin_desk.contains(&format!("/requests/{id}")),
        "not on Dustin's, who may not decide it"
    );
    let admin_desk = c.page(&c.app.session_cookie(admin).await, "/").await;
    assert!(admin_desk.contains("id=\"flagged-steps\""), "{admin_desk}");
    assert!(
        admin_desk.contains("stood in for Test jeremy"),
        "{admin_desk}"
    );
    let told: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox_messages
          WHERE kind = 'change_request.step_flagged' AND 'admin@agency.test' = ANY(to_addrs)",
    )
    .fetch_one(&c.app.db)
    .await
    .unwrap();
    assert_eq!(told, 1);
    assert_eq!(c.app.audit_count("change_request.step_rerouted").await, 1);
    // Dustin still may not decide it; Jeremy may, and the request is approved by two people.
    assert_eq!(c.decide(&c.dustin_cookie, step2, "approve", "").await, 303);
    assert_eq!(c.state(id).await, "in_approval");
    c.decide(&c.jeremy_cookie, step2, "approve", "").await;
    assert_eq!(c.state(id).await, "approved");
    let deciders: Vec<i64> = sqlx::query_scalar(
        "SELECT DISTINCT decided_by FROM request_approvals WHERE change_request_id = $1 AND decided_by IS NOT NULL",
    )
    .bind(id)
    .fetch_all(&c.app.db)
    .await
    .unwrap();
    assert_eq!(deciders.len(), 2, "two different people approved");
}

#[tokio::test]
async fn a_step_nobody_may_decide_is_flagged_at_once_and_handing_it_on_clears_it() {
    let c = chain().await;
    let admin = c.app.user("admin@agency.test", &[Role::Admin]).await;
    let admin_cookie = c.app.session_cookie(admin).await;
    // Dustin, the second step's approver, has left.
    sqlx::query("UPDATE users SET disabled_at = now() WHERE email = 'dustin@agency.test'")
        .execute(&c.app.db)
        .await
        .unwrap();
    c.app.sessions_synced().await;
    let id = c.file(&[]).await;
    c.submit(&c.am_cookie, id).await;
    let step1 = c.pending_step(id).await;
    c.decide(&c.jeremy_cookie, step1, "approve", "").await;
    let step2 = c.pending_step(id).await;
    let reason: Option<String> = one(
        &c.app,
        "SELECT flagged_reason FROM request_approvals WHERE id = $1",
        step2,
    )
    .await;
    assert!(
        reason
            .as_deref()
            .is_some_and(|r| r.contains("Nobody may decide this step")),
        "{reason:?}"
    );
    let page = c.page(&admin_cookie, "/admin/approvals").await;
    assert!(
        page.contains("Nobody may decide this step"),
        "on the stalled list at once"
    );
    // The admin hands it to a Finance member, who may decide it: no longer flagged.
    let res = c
        .post(
            &admin_cookie,
            &format!("/admin/approval-steps/{step2}/reassign"),
            &[("approver", "role:finance")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let still: bool = one(
        &c.app,
        "SELECT flagged_at IS NOT NULL FROM request_approvals WHERE id = $1",
        step2,
    )
    .await;
    assert!(!still);
    assert_eq!(c.decide(&c.finance_cookie, step2, "approve", "").await, 303);
    assert_eq!(c.state(id).await, "approved");
}

// 2. Moving a date on the planner leaves the request on the old date.

#[tokio::test]
async fn moving_a_date_on_the_planner_moves_the_request_and_everything_derived_from_it() {
    let o = ops().await;
    sqlx::query("UPDATE checklist_templates SET due_offset_days = 2 WHERE position = 10")
        .execute(&o.c.app.db)
        .await
        .unwrap();
    let (id, task) = o.approved(o.c.client_id, &[]).await;
    o.act(task, "forward", &[("sem_specialist", &o.sem.to_string())])
        .await;
    o.act(task, "planner", &[]).await;
    let entry: i64 = one(
        &o.c.app,
        "SELECT id FROM planner_entries WHERE change_request_id = $1",
        id,
    )
    .await;
    let old = Utc::now().date_naive() + Duration::days(30);
    let new = Utc::now().date_naive() + Duration::days(44);
    let res =
        o.c.post(
            &o.ops_cookie,
            &format!("/planner/{entry}"),
            &[("effective_date", &new.to_string())],
        )
        .await;
    assert_eq!(res.status(), 303);
    let app = &o.c.app;
    let request: chrono::NaiveDate = one(
        app,
        "SELECT effective_date FROM change_requests WHERE id = $1",
        id,
    )
    .await;
    let planner: chrono::NaiveDate = one(
        app,
        "SELECT effective_date FROM planner_entries WHERE id = $1",
        entry,
    )
    .await;
    let sem_task: chrono::NaiveDate = one(
        app,
        "SELECT due_on FROM sem_tasks WHERE change_request_id = $1",
        id,
    )
    .await;
    assert_eq!((request, planner, sem_task), (new, new, new));
    let items: Vec<(chrono::NaiveDate, i32)> = sqlx::query_as(
        "SELECT due_on, due_offset_days FROM checklist_items WHERE change_request_id = $1",
    )
    .bind(id)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert!(!items.is_empty());
    for (due, offset) in &items {
        assert_eq!(*due, new + Duration::days(*offset as i64));
    }
    assert!(items.iter().any(|(_, o)| *o == 2), "the offset is kept");
    // The overdue notices wait for the day after the new due dates, not the old ones.
    let runs: Vec<chrono::DateTime<Utc>> = sqlx::query_scalar(
        "SELECT run_at FROM scheduled_jobs WHERE kind = 'checklist_overdue' AND state = 'pending'",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert!(!runs.is_empty());
    assert!(runs.iter().all(|r| r.date_naive() > new), "{runs:?}");
    let reminders: Vec<chrono::DateTime<Utc>> = sqlx::query_scalar(
        "SELECT run_at FROM scheduled_jobs WHERE kind = 'effective_date_reminder' AND state = 'pending'",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert!(reminders.iter().all(|r| r.date_naive() > old));
    // The request's page, the change task and the timeline say the new date, as a sentence.
    let page = o.c.page(&o.c.am_cookie, &format!("/requests/{id}")).await;
    let new_label = new.format("%b %-d, %Y").to_string();
    assert!(
        page.contains(&new_label),
        "the request page shows the new date"
    );
    assert!(
        page.contains(&format!(
            "Moved the effective date from {} to {new_label}",
            old.format("%b %-d, %Y")
        )),
        "{page}"
    );
    let task_page = o.c.page(&o.ops_cookie, &format!("/tasks/{task}")).await;
    assert!(task_page.contains(&new_label));
    assert_eq!(app.audit_count("change_request.dates_moved").await, 1);
}

// 3. A Retention request sent back disappears from Retention.

#[tokio::test]
async fn a_request_retention_submitted_and_an_approver_sent_back_is_on_every_retention_desk_and_each_is_emailed()
 {
    let c = chain().await;
    let anglee = c.app.user("anglee@agency.test", &[Role::Retention]).await;
    let anglee_cookie = c.app.session_cookie(anglee).await;
    let id = c.file(&[("escalation", "retention")]).await;
    let today = Utc::now().date_naive().to_string();
    c.post(
        &c.retention_cookie,
        &format!("/requests/{id}/save-attempt"),
        &[("call_date", &today), ("outcome", "not_saved")],
    )
    .await;
    c.submit(&c.retention_cookie, id).await;
    let step = c.pending_step(id).await;
    c.decide(
        &c.jeremy_cookie,
        step,
        "send-back",
        "The effective date is wrong",
    )
    .await;
    assert_eq!(c.state(id).await, "changes_requested");
    let desk = c.page(&anglee_cookie, "/").await;
    assert!(
        desk.contains(&format!("/requests/{id}")),
        "on Anglee's desk"
    );
    assert!(desk.contains("Sent back: fix it and submit again"));
    let to: Vec<String> = sqlx::query_scalar(
        "SELECT to_addrs FROM outbox_messages WHERE kind = 'change_request.sent_back'",
    )
    .fetch_one(&c.app.db)
    .await
    .unwrap();
    for who in ["amy@agency.test", "anglee@agency.test", "am@agency.test"] {
        assert!(to.contains(&who.to_string()), "{who} in {to:?}");
    }
    // Anglee, who did not submit it, may submit it again.
    let flash = c.submit(&anglee_cookie, id).await;
    assert!(flash.contains("Submitted for approval"), "{flash}");
}

// 4. Converting to a budget change starts from $0.00.

#[tokio::test]
async fn the_budget_change_form_starts_from_the_clients_budget() {
    let c = chain().await;
    let id = c.file(&[("escalation", "retention")]).await;
    let page = c
        .page(&c.retention_cookie, &format!("/requests/{id}"))
        .await;
    assert!(
        page.contains("name=\"current_budget\" value=\"4500.00\""),
        "the client's $4,500.00 is prefilled"
    );
}

// 5. Found by reading the code.

#[tokio::test]
async fn forwarding_to_another_specialist_hands_them_the_checklists_sem_items() {
    let o = ops().await;
    let sem2: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = 'sem2@agency.test'")
        .fetch_one(&o.c.app.db)
        .await
        .unwrap();
    sqlx::query("UPDATE clients SET ad_products = '{google_ads}'")
        .execute(&o.c.app.db)
        .await
        .unwrap();
    let (id, task) = o.approved(o.c.client_id, &[]).await;
    o.act(task, "planner", &[]).await;
    o.act(task, "forward", &[("sem_specialist", &sem2.to_string())])
        .await;
    let assignees: Vec<Option<i64>> = sqlx::query_scalar(
        "SELECT DISTINCT assignee FROM checklist_items
          WHERE change_request_id = $1 AND owner_role = 'sem_specialist'",
    )
    .bind(id)
    .fetch_all(&o.c.app.db)
    .await
    .unwrap();
    assert_eq!(assignees, vec![Some(sem2)]);
    let planner: Option<i64> = one(
        &o.c.app,
        "SELECT sem_specialist_id FROM planner_entries WHERE change_request_id = $1",
        id,
    )
    .await;
    assert_eq!(planner, Some(sem2), "reminders go to them too");
    let desk = o.c.page(&o.c.app.session_cookie(sem2).await, "/").await;
    assert!(
        desk.contains("Google Ads: pause campaigns"),
        "on their desk"
    );
}

#[tokio::test]
async fn a_client_handed_to_another_account_manager_brings_its_open_request_along() {
    let c = chain().await;
    let am2 = c.app.user("am2@agency.test", &[Role::AccountManager]).await;
    let am2_cookie = c.app.session_cookie(am2).await;
    let admin = c.app.user("admin@agency.test", &[Role::Admin]).await;
    let admin_cookie = c.app.session_cookie(admin).await;
    let id = c.file(&[]).await;
    let res = client()
        .post(c.app.url(&format!("/clients/{}", c.client_id)))
        .header("cookie", &admin_cookie)
        .form(&[
            ("name", "Lakeside RV Center"),
            ("crm_account_id", "CRM-LAKESIDE"),
            ("account_manager_id", &am2.to_string()),
            ("monthly_budget", "4500"),
            ("status", "active"),
            ("version", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    // Whoever saved reads that the request went along, and to whom.
    let saved = flash_on(&c.app, &admin_cookie, &format!("/clients/{}", c.client_id)).await;
    assert_eq!(
        saved,
        format!("Saved Lakeside RV Center. Its request #{id} goes with it to Test am2.")
    );
    // The new one has it on the desk and may submit it; the old one may no longer.
    assert!(
        c.page(&am2_cookie, "/")
            .await
            .contains(&format!("/requests/{id}"))
    );
    assert!(
        !c.page(&c.am_cookie, "/")
            .await
            .contains(&format!("/requests/{id}"))
    );
    let flash = c.submit(&c.am_cookie, id).await;
    assert!(flash.starts_with("Nothing was submitted"), "{flash}");
    let flash = c.submit(&am2_cookie, id).await;
    assert!(flash.contains("Submitted for approval"), "{flash}");
    let page = c.page(&am2_cookie, &format!("/requests/{id}")).await;
    assert!(page.contains("The client was handed from Test am to Test am2"));
    let mail: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox_messages
          WHERE kind = 'change_request.account_manager_changed' AND to_addrs = '{am2@agency.test}'",
    )
    .fetch_one(&c.app.db)
    .await
    .unwrap();
    assert_eq!(mail, 1);
}

#[tokio::test]
async fn after_not_saved_the_account_manager_cannot_edit_the_cancellation_into_a_pause() {
    let c = chain().await;
    let id = c.file(&[("escalation", "retention")]).await;
    let today = Utc::now().date_naive().to_string();
    c.post(
        &c.retention_cookie,
        &format!("/requests/{id}/save-attempt"),
        &[("call_date", &today), ("outcome", "not_saved")],
    )
    .await;
    let reason: String = one(
        &c.app,
        "SELECT reason_id::text FROM change_requests WHERE id = $1",
        id,
    )
    .await;
    let version: i32 = one(
        &c.app,
        "SELECT version FROM change_requests WHERE id = $1",
        id,
    )
    .await;
    let res = c
        .post(
            &c.am_cookie,
            &format!("/requests/{id}"),
            &[
                ("kind", "pause"),
                ("effective_date", &in_days(30)),
                ("reason_id", &reason),
                ("version", &version.to_string()),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("The retention call decided this request is a cancellation")
    );
    let kind: String = one(&c.app, "SELECT kind FROM change_requests WHERE id = $1", id).await;
    assert_eq!(kind, "cancellation");
}

#[tokio::test]
async fn editing_the_budgets_of_a_signed_addendum_asks_for_a_new_signature() {
    let c = chain().await;
    let id = c
        .file(&[
            ("kind", "addendum"),
            ("current_budget", "4500"),
            ("new_budget", "3000"),
        ])
        .await;
    sqlx::query(
        "INSERT INTO request_attachments
             (change_request_id, original_name, content_type, size_bytes, sha256, content, uploaded_by)
         VALUES ($1, 'signed.pdf', 'application/pdf', 5, '\\x00', '%PDF-', $2)",
    )
    .bind(id)
    .bind(c.am)
    .execute(&c.app.db)
    .await
    .unwrap();
    let reason: String = one(
        &c.app,
        "SELECT reason_id::text FROM change_requests WHERE id = $1",
        id,
    )
    .await;
    let version: i32 = one(
        &c.app,
        "SELECT version FROM change_requests WHERE id = $1",
        id,
    )
    .await;
    let res = c
        .post(
            &c.am_cookie,
            &format!("/requests/{id}"),
            &[
                ("kind", "addendum"),
                ("effective_date", &in_days(30)),
                ("current_budget", "4500"),
                ("new_budget", "2000"),
                ("reason_id", &reason),
                ("version", &version.to_string()),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert!(
        c.flash(&c.am_cookie, id)
            .await
            .contains("no longer matches the new terms")
    );
    let flash = c.submit(&c.am_cookie, id).await;
    assert!(
        flash.contains("Have the client sign the addendum"),
        "{flash}"
    );
    assert_eq!(c.state(id).await, "draft");
}

#[tokio::test]
async fn the_overlap_warning_counts_requests_completed_early_and_skips_reinstatements() {
    let c = chain().await;
    let am = c.am;
    let other = new_client(&c.app, am, "Harbor Marine").await;
    let reason: i64 = sqlx::query_scalar("SELECT id FROM change_reasons LIMIT 1")
        .fetch_one(&c.app.db)
        .await
        .unwrap();
    let insert = |state: &'static str, reverses: Option<i64>| {
        let db = c.app.db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "INSERT INTO change_requests (client_id, kind, cancel_scope, effective_date,
                        reason_id, escalation, state, filed_by, reverses_id)
                 VALUES ($1, 'cancellation', 'services_only', current_date + 20, $2, 'none', $3, $4, $5)
                 RETURNING id",
            )
            .bind(other)
            .bind(reason)
            .bind(state)
            .bind(am)
            .bind(reverses)
            .fetch_one(&db)
            .await
            .unwrap()
        }
    };
    let completed = insert("completed", None).await;
    let page = c
        .page(&c.am_cookie, &format!("/clients/{other}/requests/new"))
        .await;
    assert!(
        page.contains(&format!("Approved change request #{completed}")),
        "a request completed ahead of its date still overlaps"
    );
    sqlx::query("UPDATE change_requests SET reinstated_at = now() WHERE id = $1")
        .bind(completed)
        .execute(&c.app.db)
        .await
        .unwrap();
    insert("approved", Some(completed)).await;
    let page = c
        .page(&c.am_cookie, &format!("/clients/{other}/requests/new"))
        .await;
    assert!(
        !page.contains("overlaps"),
        "neither the undone request nor its approved reinstatement overlaps"
    );
}

#[tokio::test]
async fn the_contractors_refused_undo_is_recorded_and_says_nothing_about_the_item() {
    let o = ops().await;
    let contractor =
        o.c.app
            .user("juniper@contractor.test", &[Role::Contractor])
            .await;
    let cookie = o.c.app.session_cookie(contractor).await;
    let (id, _) = o.approved(o.c.client_id, &[]).await;
    let (ops_item, own_item): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT id FROM checklist_items WHERE change_request_id = $1 AND owner_role = 'ops_lead' LIMIT 1),
                (SELECT id FROM checklist_items WHERE change_request_id = $1 AND owner_role = 'contractor' LIMIT 1)",
    )
    .bind(id)
    .fetch_one(&o.c.app.db)
    .await
    .unwrap();
    // Another role's item: refused like a route, on the record.
    let res =
        o.c.post(
            &cookie,
            &format!("/checklist/{ops_item}/undo"),
            &[("reason", "oops")],
        )
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(o.c.app.audit_count("access.refused").await, 1);
    // Its own kind of item, not ticked: refused, recorded, and the message says what was asked
    // without the item's or its request's state.
    let res =
        o.c.post(
            &cookie,
            &format!("/checklist/{own_item}/undo"),
            &[("reason", "oops")],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(o.c.app.audit_count("checklist.refused").await, 1);
    let flash = flash_on(&o.c.app, &cookie, "/").await;
    assert_eq!(
        flash,
        "Nothing changed: that item is not one of yours to reopen (it may be open already)."
    );
}

#[tokio::test]
async fn today_is_the_agencys_the_reinstate_button_stays_until_the_day_is_over_there() {
    // At 11 p.m. in Chicago it is already the next day in UTC. A pause effective tomorrow
    // (Chicago) may still be reinstated tonight; read in UTC, its date would have come.
    let zone: chrono_tz::Tz = "America/Chicago".parse().unwrap();
    let o = {
        let c = crate::support::fixtures::chain_with(|config| config.time_zone = zone).await;
        crate::operations::ops_from(c).await
    };
    let (id, _) = o.approved(o.c.client_id, &[("kind", "pause")]).await;
    let clock = &o.c.app.state.clock;
    let there = clock.now().with_timezone(&zone);
    let eleven = clock.at(
        there.date_naive(),
        chrono::NaiveTime::from_hms_opt(23, 0, 0).unwrap(),
    );
    let eleven = if eleven <= clock.now() {
        clock.at(
            there.date_naive() + Duration::days(1),
            chrono::NaiveTime::from_hms_opt(23, 0, 0).unwrap(),
        )
    } else {
        eleven
    };
    clock.advance(eleven - clock.now() + Duration::minutes(1));
    let today_there = clock.today();
    assert_eq!(clock.now().date_naive(), today_there + Duration::days(1));
    sqlx::query("UPDATE change_requests SET effective_date = $2 WHERE id = $1")
        .bind(id)
        .bind(today_there + Duration::days(1))
        .execute(&o.c.app.db)
        .await
        .unwrap();
    let page = o.c.page(&o.c.am_cookie, &format!("/requests/{id}")).await;
    assert!(
        page.contains("id=\"reinstate-client\""),
        "reinstating is offered until the day before ends in Chicago"
    );
}

// 6. Correcting a mistake.

#[tokio::test]
async fn retention_corrects_a_recorded_outcome_before_submitting_and_the_timeline_keeps_both() {
    let c = chain().await;
    let id = c
        .file(&[
            ("escalation", "retention"),
            ("cancel_scope", "leave_platform"),
        ])
        .await;
    let today = Utc::now().date_naive().to_string();
    let path = format!("/requests/{id}/save-attempt");
    c.post(
        &c.retention_cookie,
        &path,
        &[
            ("call_date", &today),
            ("outcome", "saved_pause"),
            ("effective_date", &in_days(45)),
        ],
    )
    .await;
    let kind: String = one(&c.app, "SELECT kind FROM change_requests WHERE id = $1", id).await;
    assert_eq!(kind, "pause");
    let db = c.app.db.clone();
    let called = || {
        sqlx::query_as::<_, (chrono::DateTime<Utc>, Option<chrono::DateTime<Utc>>)>(
            "SELECT recorded_at, first_recorded_at FROM save_attempts WHERE change_request_id = $1",
        )
        .bind(id)
        .fetch_one(&db)
    };
    let (first, kept) = called().await.unwrap();
    assert_eq!(kept, Some(first));
    // Corrected: the client was not saved after all; the cancellation comes back as filed.
    c.post(
        &c.retention_cookie,
        &path,
        &[
            ("call_date", &today),
            ("outcome", "not_saved"),
            ("recorded", "saved_pause"),
        ],
    )
    .await;
    let (kind, scope, original, effective): (String, Option<String>, Option<String>, String) =
        sqlx::query_as(
            "SELECT kind, cancel_scope, original_kind, effective_date::text FROM change_requests
              WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&c.app.db)
        .await
        .unwrap();
    assert_eq!(
        (kind.as_str(), scope.as_deref(), original, effective),
        ("cancellation", Some("leave_platform"), None, in_days(30),),
        "the cancellation comes back as filed, on its own date"
    );
    // When the call was first recorded stays (Reports time the first call from it).
    let (corrected, kept) = called().await.unwrap();
    assert!(corrected > first);
    assert_eq!(kept, Some(first));
    let page = c
        .page(&c.retention_cookie, &format!("/requests/{id}"))
        .await;
    assert!(page.contains("Retention call recorded: Saved with a contract pause"));
    assert!(page.contains("Retention call corrected: Not saved (the request goes ahead as filed) (was: Saved with a contract pause)"));
    // A tab opened before the correction changes nothing.
    c.post(
        &c.retention_cookie,
        &path,
        &[
            ("call_date", &today),
            ("outcome", "saved_no_change"),
            ("recorded", "saved_pause"),
        ],
    )
    .await;
    assert_eq!(c.state(id).await, "with_retention");
    // Once submitted, it can no longer be corrected.
    c.submit(&c.retention_cookie, id).await;
    c.post(
        &c.retention_cookie,
        &path,
        &[
            ("call_date", &today),
            ("outcome", "saved_no_change"),
            ("recorded", "not_saved"),
        ],
    )
    .await;
    assert_eq!(c.state(id).await, "in_approval");
    assert_eq!(
        c.app.audit_count("change_request.retention_outcome").await,
        2
    );
    // Sent back (the approver asks what was offered): in Retention's hands again, correctable.
    let step = c.pending_step(id).await;
    c.decide(&c.jeremy_cookie, step, "send-back", "What was offered?")
        .await;
    c.post(
        &c.retention_cookie,
        &path,
        &[
            ("call_date", &today),
            ("offered", "Two months at half price"),
            ("outcome", "not_saved"),
            ("recorded", "not_saved"),
        ],
    )
    .await;
    let offered: String = one(
        &c.app,
        "SELECT offered FROM save_attempts WHERE change_request_id = $1",
        id,
    )
    .await;
    assert_eq!(offered, "Two months at half price");
    assert_eq!(c.state(id).await, "changes_requested");
}

#[tokio::test]
async fn retention_is_emailed_when_the_signed_addendum_arrives_on_a_request_it_converted() {
    let c = chain().await;
    let id = c.file(&[("escalation", "retention")]).await;
    let today = Utc::now().date_naive().to_string();
    c.post(
        &c.retention_cookie,
        &format!("/requests/{id}/save-attempt"),
        &[
            ("call_date", &today),
            ("outcome", "saved_budget_change"),
            ("current_budget", "4500"),
            ("new_budget", "3000"),
            ("effective_date", &in_days(30)),
        ],
    )
    .await;
    let form = reqwest::multipart::Form::new().part(
        "document",
        reqwest::multipart::Part::bytes(b"%PDF-1.4 signed".to_vec())
            .file_name("signed.pdf")
            .mime_str("application/pdf")
            .unwrap(),
    );
    let res = client()
        .post(c.app.url(&format!("/requests/{id}/attachments")))
        .header("cookie", &c.am_cookie)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let to: Vec<String> = sqlx::query_scalar(
        "SELECT to_addrs FROM outbox_messages WHERE kind = 'change_request.document_attached'",
    )
    .fetch_one(&c.app.db)
    .await
    .unwrap();
    assert_eq!(to, vec!["amy@agency.test"]);
}

#[tokio::test]
async fn a_reminder_lists_the_offboarding_items_still_open() {
    let o = ops().await;
    let (_, task) = o.approved(o.c.client_id, &[]).await;
    o.act(task, "planner", &[]).await;
    let runner = offboarding_desk::server::job_runner(&o.c.app.state.config);
    let at: chrono::DateTime<Utc> = sqlx::query_scalar(
        "SELECT max(run_at) FROM scheduled_jobs WHERE kind = 'effective_date_reminder'",
    )
    .fetch_one(&o.c.app.db)
    .await
    .unwrap();
    runner.run_due(&o.c.app.db, at).await.unwrap();
    let text: String = sqlx::query_scalar(
        "SELECT body_text FROM outbox_messages WHERE kind = 'planner.reminder' ORDER BY id LIMIT 1",
    )
    .fetch_one(&o.c.app.db)
    .await
    .unwrap();
    assert!(
        text.contains("offboarding items open: Remove the client from the Client Tracker"),
        "{text}"
    );
}

// Found by reviewing and trying the change.

#[tokio::test]
async fn the_contractors_send_back_attempt_is_refused_and_recorded() {
    let o = ops().await;
    let contractor =
        o.c.app
            .user("juniper@contractor.test", &[Role::Contractor])
            .await;
    let cookie = o.c.app.session_cookie(contractor).await;
    let (id, _) = o.approved(o.c.client_id, &[]).await;
    let item: i64 = one(
        &o.c.app,
        "SELECT id FROM checklist_items WHERE change_request_id = $1 AND verifies_id IS NOT NULL LIMIT 1",
        id,
    )
    .await;
    let res =
        o.c.post(
            &cookie,
            &format!("/checklist/{item}/send-back"),
            &[("reason", "not mine")],
        )
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(o.c.app.audit_count("access.refused").await, 1);
}

#[tokio::test]
async fn disabling_the_approver_of_a_waiting_step_puts_it_on_the_admins_desk_at_once() {
    let c = chain().await;
    let admin = c.app.user("admin@agency.test", &[Role::Admin]).await;
    let admin_cookie = c.app.session_cookie(admin).await;
    let id = c.file(&[]).await;
    c.submit(&c.am_cookie, id).await;
    let res = c
        .post(
            &admin_cookie,
            &format!("/admin/users/{}/disable", c.jeremy),
            &[],
        )
        .await;
    assert_eq!(res.status(), 303);
    let step = c.pending_step(id).await;
    let flagged: bool = one(
        &c.app,
        "SELECT flagged_at IS NOT NULL FROM request_approvals WHERE id = $1",
        step,
    )
    .await;
    assert!(flagged);
    assert!(
        c.page(&admin_cookie, "/")
            .await
            .contains(&format!("/requests/{id}"))
    );
}

#[tokio::test]
async fn a_draft_whose_account_manager_is_disabled_waits_on_the_admin() {
    let c = chain().await;
    let admin = c.app.user("admin@agency.test", &[Role::Admin]).await;
    let admin_cookie = c.app.session_cookie(admin).await;
    let id = c.file(&[]).await;
    assert!(
        !c.page(&admin_cookie, "/")
            .await
            .contains("orphaned-requests")
    );
    c.post(
        &admin_cookie,
        &format!("/admin/users/{}/disable", c.am),
        &[],
    )
    .await;
    let desk = c.page(&admin_cookie, "/").await;
    assert!(desk.contains("id=\"orphaned-requests\""), "{desk}");
    assert!(desk.contains(&format!("/requests/{id}")));
}

#[tokio::test]
async fn handing_over_a_client_moves_its_approved_request_and_planner_line_too() {
    let o = ops().await;
    let am2 =
        o.c.app
            .user("am2@agency.test", &[Role::AccountManager])
            .await;
    let (id, task) = o.approved(o.c.client_id, &[("kind", "pause")]).await;
    o.act(task, "planner", &[]).await;
    let mut conn = o.c.app.db.acquire().await.unwrap();
    sqlx::query("UPDATE clients SET account_manager_id = $2 WHERE id = $1")
        .bind(o.c.client_id)
        .bind(am2)
        .execute(&mut *conn)
        .await
        .unwrap();
    let admin = offboarding_desk::audit::Actor {
        user_id: None,
        label: "test".into(),
        ip: None,
        request_id: None,
    };
    offboarding_desk::change_requests::handover::client_handed_over(
        &mut conn,
        &o.c.app.state.config,
        &admin,
        o.c.app.state.clock.today(),
        o.c.client_id,
        Some(o.c.am),
        Some(am2),
    )
    .await
    .unwrap();
    let planner_am: Option<i64> = one(
        &o.c.app,
        "SELECT account_manager_id FROM planner_entries WHERE change_request_id = $1",
        id,
    )
    .await;
    assert_eq!(planner_am, Some(am2));
    let page =
        o.c.page(
            &o.c.app.session_cookie(am2).await,
            &format!("/requests/{id}"),
        )
        .await;
    assert!(page.contains("handed from Test am to Test am2"));
    assert!(
        page.contains("id=\"reinstate-client\""),
        "the new account manager may reinstate the client"
    );
}

/// The account manager's desk reads the client's account manager kept on the request
/// (migration 24): a draft follows its client to the new account manager's desk at once.
#[tokio::test]
async fn an_open_request_moves_to_the_desk_of_the_clients_new_account_manager() {
    let c = crate::support::fixtures::chain().await;
    let am2 = c.app.user("am2@agency.test", &[Role::AccountManager]).await;
    let am2_cookie = c.app.session_cookie(am2).await;
    let id = c.file(&[]).await;
    let link = format!("href=\"/requests/{id}\"");
    assert!(c.page(&c.am_cookie, "/").await.contains(&link));
    assert!(!c.page(&am2_cookie, "/").await.contains(&link));
    sqlx::query("UPDATE clients SET account_manager_id = $2 WHERE id = $1")
        .bind(c.client_id)
        .bind(am2)
        .execute(&c.app.db)
        .await
        .unwrap();
    assert!(!c.page(&c.am_cookie, "/").await.contains(&link));
    assert!(c.page(&am2_cookie, "/").await.contains(&link));
    // The request holds the client's account manager as it is now.
    let kept: Option<i64> = one(
        &c.app,
        "SELECT client_account_manager_id FROM change_requests WHERE id = $1",
        id,
    )
    .await;
    assert_eq!(kept, Some(am2));
}

#[tokio::test]
async fn a_moved_date_is_emailed_to_the_specialist_and_the_account_manager() {
    let o = ops().await;
    let (id, task) = o.approved(o.c.client_id, &[]).await;
    o.act(task, "forward", &[("sem_specialist", &o.sem.to_string())])
        .await;
    o.act(task, "planner", &[]).await;
    let entry: i64 = one(
        &o.c.app,
        "SELECT id FROM planner_entries WHERE change_request_id = $1",
        id,
    )
    .await;
    o.c.post(
        &o.ops_cookie,
        &format!("/planner/{entry}"),
        &[("effective_date", &in_days(40))],
    )
    .await;
    let to: Vec<String> = sqlx::query_scalar(
        "SELECT to_addrs FROM outbox_messages WHERE kind = 'planner.dates_moved'",
    )
    .fetch_one(&o.c.app.db)
    .await
    .unwrap();
    assert_eq!(to, vec!["am@agency.test", "sem@agency.test"]);
    // The same date again changes nothing and says so.
    let before = o.c.app.audit_count("change_request.dates_moved").await;
    o.c.post(
        &o.ops_cookie,
        &format!("/planner/{entry}"),
        &[("effective_date", &in_days(40))],
    )
    .await;
    assert_eq!(
        o.c.app.audit_count("change_request.dates_moved").await,
        before
    );
}

/// Found by the long model run: an SEM item ticked before the change task was forwarded to
/// another specialist, and undone after, stayed with the first one.
#[tokio::test]
async fn an_sem_item_undone_after_forwarding_goes_to_the_specialist_it_was_forwarded_to() {
    let o = ops().await;
    let sem2: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = 'sem2@agency.test'")
        .fetch_one(&o.c.app.db)
        .await
        .unwrap();
    sqlx::query("UPDATE clients SET ad_products = '{google_ads}'")
        .execute(&o.c.app.db)
        .await
        .unwrap();
    let (id, task) = o.approved(o.c.client_id, &[]).await;
    let item: i64 = one(
        &o.c.app,
        "SELECT id FROM checklist_items WHERE change_request_id = $1 AND owner_role = 'sem_specialist'
            AND verifies_id IS NULL LIMIT 1",
        id,
    )
    .await;
    o.c.post(
        &o.sem_cookie,
        &format!("/checklist/{item}/done"),
        &[("note", "")],
    )
    .await;
    o.act(task, "forward", &[("sem_specialist", &sem2.to_string())])
        .await;
    let res =
        o.c.post(
            &o.sem_cookie,
            &format!("/checklist/{item}/undo"),
            &[("reason", "Not finished after all")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let assignee: Option<i64> = one(
        &o.c.app,
        "SELECT assignee FROM checklist_items WHERE id = $1",
        item,
    )
    .await;
    assert_eq!(assignee, Some(sem2));
}

/// Found by the long model run: an item ticked, its date moved, then the tick undone, came
/// back due on the old date.
#[tokio::test]
async fn an_item_undone_after_its_date_moved_is_due_on_the_new_date() {
    let o = ops().await;
    let (id, task) = o.approved(o.c.client_id, &[]).await;
    o.act(task, "planner", &[]).await;
    let item: i64 = one(
        &o.c.app,
        "SELECT id FROM checklist_items WHERE change_request_id = $1 AND owner_role = 'ops_lead' LIMIT 1",
        id,
    )
    .await;
    o.c.post(
        &o.ops_cookie,
        &format!("/checklist/{item}/done"),
        &[("note", "")],
    )
    .await;
    let entry: i64 = one(
        &o.c.app,
        "SELECT id FROM planner_entries WHERE change_request_id = $1",
        id,
    )
    .await;
    o.c.post(
        &o.ops_cookie,
        &format!("/planner/{entry}"),
        &[("effective_date", &in_days(50))],
    )
    .await;
    o.c.post(
        &o.ops_cookie,
        &format!("/checklist/{item}/undo"),
        &[("reason", "Not done after all")],
    )
    .await;
    let due: chrono::NaiveDate = one(
        &o.c.app,
        "SELECT due_on FROM checklist_items WHERE id = $1",
        item,
    )
    .await;
    assert_eq!(due.to_string(), in_days(50));
}

// Found by reading the change beside the design after the model test passed: people who stop
// being able to act (disabled, or their roles changed) must not leave work resting on them.

/// The open SEM work (pause task, SEM items, planner line) of a request, by assignee.
async fn sem_work(app: &TestApp, id: i64) -> Vec<Option<i64>> {
    sqlx::query_scalar(
        "SELECT assignee FROM sem_tasks WHERE change_request_id = $1 AND done_at IS NULL
         UNION
         SELECT assignee FROM checklist_items WHERE change_request_id = $1
            AND owner_role = 'sem_specialist' AND done_at IS NULL
         UNION
         SELECT sem_specialist_id FROM planner_entries WHERE change_request_id = $1
            AND removed_at IS NULL",
    )
    .bind(id)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn the_sem_work_of_a_disabled_specialist_goes_to_the_clients_specialist_or_waits_on_the_admin()
 {
    let o = ops().await;
    let app = &o.c.app;
    let admin = app.user("admin@agency.test", &[Role::Admin]).await;
    let admin_cookie = app.session_cookie(admin).await;
    // Someone does the contractor's items, so only the SEM work can wait on the admin here.
    app.user("juniper@agency.test", &[Role::Contractor]).await;
    let sem2: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = 'sem2@agency.test'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    sqlx::query("UPDATE clients SET ad_products = '{google_ads}'")
        .execute(&app.db)
        .await
        .unwrap();
    let (id, task) = o.approved(o.c.client_id, &[]).await;
    o.act(task, "planner", &[]).await;
    o.act(task, "forward", &[("sem_specialist", &sem2.to_string())])
        .await;
    assert_eq!(sem_work(app, id).await, [Some(sem2)]);

    // The specialist it was forwarded to leaves: the work goes to the client's specialist,
    // on the timeline and by email.
    o.c.post(&admin_cookie, &format!("/admin/users/{sem2}/disable"), &[])
        .await;
    assert_eq!(sem_work(app, id).await, [Some(o.sem)]);
    let page = o.c.page(&o.sem_cookie, &format!("/requests/{id}")).await;
    assert!(
        page.contains("The SEM work was handed from Test sem2"),
        "{page}"
    );
    let told: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox_messages
          WHERE kind = 'change_request.sem_work_handed_over' AND to_addrs = '{sem@agency.test}'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(told, 1);
    assert!(
        !o.c.page(&admin_cookie, "/")
            .await
            .contains("orphaned-requests")
    );

    // Then the client's own specialist leaves the SEM role, and nobody else has the client:
    // the request waits on the admin, who sets the client's specialist, and the work follows.
    let version: i32 = one(app, "SELECT version FROM users WHERE id = $1", o.sem).await;
    let res =
        o.c.post(
            &admin_cookie,
            &format!("/admin/users/{}", o.sem),
            &[
                ("email", "sem@agency.test"),
                ("display_name", "Test sem"),
                ("roles", "team_lead"),
                ("version", &version.to_string()),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(sem_work(app, id).await, [Some(o.sem)], "nobody who can");
    let desk = o.c.page(&admin_cookie, "/").await;
    assert!(desk.contains("id=\"orphaned-requests\""), "{desk}");
    assert!(desk.contains(&format!("/requests/{id}")));
    assert!(
        desk.contains("set the client&#39;s SEM specialist")
            || desk.contains("set the client's SEM specialist"),
        "{desk}"
    );

    let sem3 = app.user("sem3@agency.test", &[Role::SemSpecialist]).await;
    let (name, crm, am, version): (String, String, i64, i32) = sqlx::query_as(
        "SELECT name, crm_account_id, account_manager_id, version FROM clients WHERE id = $1",
    )
    .bind(o.c.client_id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    let res =
        o.c.post(
            &admin_cookie,
            &format!("/clients/{}", o.c.client_id),
            &[
                ("name", name.as_str()),
                ("crm_account_id", &crm),
                ("account_manager_id", &am.to_string()),
                ("sem_specialist_id", &sem3.to_string()),
                ("monthly_budget", "4500"),
                ("ad_products", "google_ads"),
                ("status", "active"),
                ("version", &version.to_string()),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(sem_work(app, id).await, [Some(sem3)]);
    assert!(
        !o.c.page(&admin_cookie, "/")
            .await
            .contains("orphaned-requests")
    );
    // And the new specialist can do it.
    let sem3_cookie = app.session_cookie(sem3).await;
    let sem_task: i64 = one(
        app,
        "SELECT id FROM sem_tasks WHERE change_request_id = $1",
        id,
    )
    .await;
    let res =
        o.c.post(
            &sem3_cookie,
            &format!("/sem-tasks/{sem_task}/done"),
            &[("note", "")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let done: bool = one(
        app,
        "SELECT done_at IS NOT NULL FROM sem_tasks WHERE id = $1",
        sem_task,
    )
    .await;
    assert!(done);
}

#[tokio::test]
async fn an_approver_moved_out_of_every_approving_role_has_their_waiting_step_handed_on() {
    let c = chain().await;
    let admin = c.app.user("admin@agency.test", &[Role::Admin]).await;
    let admin_cookie = c.app.session_cookie(admin).await;
    let id = c.file(&[]).await;
    c.submit(&c.am_cookie, id).await;
    let step = c.pending_step(id).await;
    let version: i32 = one(&c.app, "SELECT version FROM users WHERE id = $1", c.jeremy).await;
    let res = c
        .post(
            &admin_cookie,
            &format!("/admin/users/{}", c.jeremy),
            &[
                ("email", "jeremy@agency.test"),
                ("display_name", "Jeremy"),
                ("roles", "team_lead"),
                ("version", &version.to_string()),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let flagged: bool = one(
        &c.app,
        "SELECT flagged_at IS NOT NULL FROM request_approvals WHERE id = $1",
        step,
    )
    .await;
    assert!(flagged, "on the admin's desk, not on nobody's");
    assert!(
        c.page(&admin_cookie, "/")
            .await
            .contains(&format!("/requests/{id}"))
    );
    // And they may no longer decide it.
    c.decide(&c.jeremy_cookie, step, "approve", "").await;
    let state: String = one(
        &c.app,
        "SELECT state FROM request_approvals WHERE id = $1",
        step,
    )
    .await;
    assert_eq!(state, "pending");
}

#[tokio::test]
async fn naming_as_substitute_someone_handed_a_later_step_of_a_request_in_flight_is_refused() {
    let c = chain().await;
    let lee = c.app.user("lee@agency.test", &[Role::Approver]).await;
    let id = c.file(&[]).await;
    c.submit(&c.am_cookie, id).await;
    // An admin hands Dustin's (second) step of this request to Lee.
    sqlx::query(
        "UPDATE request_approvals SET approver_user_id = $2
          WHERE change_request_id = $1 AND approver_user_id = (SELECT id FROM users WHERE email = 'dustin@agency.test')",
    )
    .bind(id)
    .bind(lee)
    .execute(&c.app.db)
    .await
    .unwrap();
    let today = Utc::now().date_naive().to_string();
    let res = c
        .post(
            &c.jeremy_cookie,
            "/substitutes",
            &[
                ("substitute", &lee.to_string()),
                ("starts_on", &today),
                ("ends_on", &today),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM approval_substitutes")
        .fetch_one(&c.app.db)
        .await
        .unwrap();
    assert_eq!(n, 0, "nothing saved");
}

#[tokio::test]
async fn sending_back_an_item_that_is_no_verification_is_refused_like_any_other_attempt() {
    let o = ops().await;
    sqlx::query("UPDATE clients SET ad_products = '{google_ads}'")
        .execute(&o.c.app.db)
        .await
        .unwrap();
    let (id, _) = o.approved(o.c.client_id, &[]).await;
    let item: i64 = one(
        &o.c.app,
        "SELECT id FROM checklist_items WHERE change_request_id = $1 AND verifies_id IS NULL
            AND owner_role = 'sem_specialist' LIMIT 1",
        id,
    )
    .await;
    let res =
        o.c.post(
            &o.sem_cookie,
            &format!("/checklist/{item}/send-back"),
            &[("reason", "")],
        )
        .await;
    assert_eq!(res.status(), 303, "refused with a sentence, not a 404");
    assert_eq!(o.c.app.audit_count("checklist.sent_back").await, 0);
}

/// Found trying the desk as a new user: the client's form offered only people who can act, so
/// saving a budget change silently dropped a disabled SEM specialist (and the work resting on
/// them lost its way back to the admin's list).
#[tokio::test]
async fn saving_a_clients_form_keeps_a_specialist_who_cannot_act_until_someone_else_is_chosen() {
    let o = ops().await;
    let app = &o.c.app;
    let admin = app.user("admin@agency.test", &[Role::Admin]).await;
    let admin_cookie = app.session_cookie(admin).await;
    o.c.post(
        &admin_cookie,
        &format!("/admin/users/{}/disable", o.sem),
        &[],
    )
    .await;
    let form =
        o.c.page(&admin_cookie, &format!("/clients/{}/edit", o.c.client_id))
            .await;
    assert!(
        form.contains("Test sem (cannot act now: choose someone else)"),
        "{form}"
    );
    let (name, crm, am, version): (String, String, i64, i32) = sqlx::query_as(
        "SELECT name, crm_account_id, account_manager_id, version FROM clients WHERE id = $1",
    )
    .bind(o.c.client_id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    let res =
        o.c.post(
            &admin_cookie,
            &format!("/clients/{}", o.c.client_id),
            &[
                ("name", name.as_str()),
                ("crm_account_id", &crm),
                ("account_manager_id", &am.to_string()),
                ("sem_specialist_id", &o.sem.to_string()),
                ("monthly_budget", "5000"),
                ("status", "active"),
                ("version", &version.to_string()),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let sem: Option<i64> = one(
        app,
        "SELECT sem_specialist_id FROM clients WHERE id = $1",
        o.c.client_id,
    )
    .await;
    assert_eq!(sem, Some(o.sem), "kept until someone else is chosen");
}

/// Found trying the desk as a new user: handing a step to someone who may not decide it was
/// accepted with a message that contradicted itself, and emailed the admins again.
#[tokio::test]
async fn handing_a_step_to_someone_who_may_not_decide_it_is_refused_and_changes_nothing() {
    let c = chain().await;
    let admin = c.app.user("admin@agency.test", &[Role::Admin]).await;
    let admin_cookie = c.app.session_cookie(admin).await;
    let id = c.file(&[]).await;
    c.submit(&c.am_cookie, id).await;
    let first = c.pending_step(id).await;
    c.decide(&c.jeremy_cookie, first, "approve", "").await;
    let second = c.pending_step(id).await;
    let audit_before = c.app.audit_count("change_request.step_reassigned").await;
    let res = c
        .post(
            &admin_cookie,
            &format!("/admin/approval-steps/{second}/reassign"),
            &[("approver", format!("user:{}", c.jeremy).as_str())],
        )
        .await;
    assert_eq!(res.status(), 303);
    let flash = flash_on(&c.app, &admin_cookie, "/admin/approvals").await;
    assert!(flash.starts_with("Nothing changed"), "{flash}");
    assert!(flash.contains("already decided another step"), "{flash}");
    let approver: Option<i64> = one(
        &c.app,
        "SELECT approver_user_id FROM request_approvals WHERE id = $1",
        second,
    )
    .await;
    assert_ne!(approver, Some(c.jeremy));
    assert_eq!(
        c.app.audit_count("change_request.step_reassigned").await,
        audit_before
    );
}

/// Found by a second read: work that went nowhere (it rested on someone disabled while the
/// client's own specialist was disabled too) comes back when the client's specialist does.
#[tokio::test]
async fn enabling_the_clients_specialist_again_takes_back_the_work_that_went_nowhere() {
    let o = ops().await;
    let app = &o.c.app;
    let admin = app.user("admin@agency.test", &[Role::Admin]).await;
    let admin_cookie = app.session_cookie(admin).await;
    // Someone does the contractor's items, so only the SEM work can wait on the admin here.
    app.user("juniper@agency.test", &[Role::Contractor]).await;
    let sem2: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = 'sem2@agency.test'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    sqlx::query("UPDATE clients SET ad_products = '{google_ads}'")
        .execute(&app.db)
        .await
        .unwrap();
    let (id, task) = o.approved(o.c.client_id, &[]).await;
    o.act(task, "planner", &[]).await;
    o.act(task, "forward", &[("sem_specialist", &sem2.to_string())])
        .await;
    for user in [o.sem, sem2] {
        o.c.post(&admin_cookie, &format!("/admin/users/{user}/disable"), &[])
            .await;
    }
    assert_eq!(sem_work(app, id).await, [Some(sem2)]);
    assert!(
        o.c.page(&admin_cookie, "/")
            .await
            .contains("id=\"orphaned-requests\"")
    );
    o.c.post(
        &admin_cookie,
        &format!("/admin/users/{}/enable", o.sem),
        &[],
    )
    .await;
    assert_eq!(sem_work(app, id).await, [Some(o.sem)], "every copy");
    let forwarded: Option<i64> = one(
        app,
        "SELECT forwarded_to FROM change_tasks WHERE change_request_id = $1",
        id,
    )
    .await;
    assert_eq!(forwarded, Some(o.sem));
    assert!(
        !o.c.page(&admin_cookie, "/")
            .await
            .contains("id=\"orphaned-requests\"")
    );
}

/// Found by a second read: someone who decided a step of a request in flight (standing in for
/// its approver, whose absence has since ended) cannot stand in for the approver of a later
/// step of it.
#[tokio::test]
async fn naming_as_substitute_someone_who_decided_a_step_of_a_request_in_flight_is_refused() {
    let c = chain().await;
    let lee = c.app.user("lee@agency.test", &[Role::Approver]).await;
    let lee_cookie = c.app.session_cookie(lee).await;
    let today = Utc::now().date_naive().to_string();
    let res = c
        .post(
            &c.jeremy_cookie,
            "/substitutes",
            &[
                ("substitute", &lee.to_string()),
                ("starts_on", &today),
                ("ends_on", &today),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let id = c.file(&[]).await;
    c.submit(&c.am_cookie, id).await;
    let first = c.pending_step(id).await;
    c.decide(&lee_cookie, first, "approve", "").await;
    let decided: Option<i64> = one(
        &c.app,
        "SELECT decided_by FROM request_approvals WHERE id = $1",
        first,
    )
    .await;
    assert_eq!(decided, Some(lee), "Lee decided for Jeremy");
    sqlx::query("UPDATE approval_substitutes SET ended_at = now()")
        .execute(&c.app.db)
        .await
        .unwrap();
    let res = c
        .post(
            &c.dustin_cookie,
            "/substitutes",
            &[
                ("substitute", &lee.to_string()),
                ("starts_on", &today),
                ("ends_on", &today),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let n: i64 =
        sqlx::query_scalar("SELECT count(*) FROM approval_substitutes WHERE ended_at IS NULL")
            .fetch_one(&c.app.db)
            .await
            .unwrap();
    assert_eq!(n, 0, "nothing saved");
}

/// Found by the long model run with people disabled (seeds 40832, 41901): a request sent back
/// while everyone who may fix it was disabled told nobody; the admins are told.
#[tokio::test]
async fn a_send_back_nobody_who_may_fix_it_can_read_goes_to_the_admins() {
    let c = chain().await;
    let admin = c.app.user("admin@agency.test", &[Role::Admin]).await;
    let admin_cookie = c.app.session_cookie(admin).await;
    c.app.user("am2@agency.test", &[Role::AccountManager]).await;
    let id = c.file(&[]).await;
    c.submit(&c.am_cookie, id).await;
    c.post(
        &admin_cookie,
        &format!("/admin/users/{}/disable", c.am),
        &[],
    )
    .await;
    let step = c.pending_step(id).await;
    c.decide(
        &c.jeremy_cookie,
        step,
        "send-back",
        "The dates do not match",
    )
    .await;
    assert_eq!(c.state(id).await, "changes_requested");
    let to: Vec<Vec<String>> = sqlx::query_scalar(
        "SELECT to_addrs FROM outbox_messages WHERE kind = 'change_request.sent_back'",
    )
    .fetch_all(&c.app.db)
    .await
    .unwrap();
    assert_eq!(to, vec![vec!["admin@agency.test".to_string()]]);
    assert!(
        c.page(&admin_cookie, "/")
            .await
            .contains(&format!("/requests/{id}\""))
    );
}
