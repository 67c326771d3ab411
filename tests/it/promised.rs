//! What the README promises and no other test tried: a request completed by its last
//! checklist tick, by its change task's "done" and by its pause task; the planner's specialist
//! filter and sort; desks oldest first with the wait; the admin's chain, checklist and reasons
//! pages; a client's list of requests; and a CRM import that fails half-way leaving nothing.

use chrono::Duration;
use offboarding_desk::auth::roles::Role;

use crate::operations::{Ops, ops};
use crate::support::{client, flash, location};

async fn state(o: &Ops, id: i64) -> String {
    o.c.state(id).await
}

/// Accounting processes it and the Ops Lead does every part of its change task but "done".
async fn worked(o: &Ops, id: i64, task: i64) {
    let c = &o.c;
    c.post(
        &c.accounting_cookie,
        &format!("/requests/{id}/processed"),
        &[("note", "")],
    )
    .await;
    o.act(task, "forward", &[("sem_specialist", &o.sem.to_string())])
        .await;
    let kind: String = sqlx::query_scalar("SELECT kind FROM change_requests WHERE id = $1")
        .bind(id)
        .fetch_one(&c.app.db)
        .await
        .unwrap();
    if kind != "addendum" {
        o.act(task, "planner", &[]).await;
    }
    let status = match kind.as_str() {
        "pause" => "paused",
        "addendum" => "active",
        _ => "cancelled_dms",
    };
    assert_eq!(
        o.act(task, "status", &[("status", status)]).await.status(),
        303
    );
}

#[tokio::test]
async fn a_cancellation_is_completed_by_its_last_checklist_tick() {
    let o = ops().await;
    let c = &o.c;
    let contractor = c
        .app
        .user("juniper@contractor.test", &[Role::Contractor])
        .await;
    let contractor_cookie = c.app.session_cookie(contractor).await;
    let (id, task) = o.approved(c.client_id, &[]).await;
    worked(&o, id, task).await;
    assert_eq!(o.act(task, "done", &[]).await.status(), 303);
    let sem_task: i64 = sqlx::query_scalar("SELECT id FROM sem_tasks WHERE change_request_id = $1")
        .bind(id)
        .fetch_one(&c.app.db)
        .await
        .unwrap();
    c.post(
        &o.sem_cookie,
        &format!("/sem-tasks/{sem_task}/done"),
        &[("note", "")],
    )
    .await;
    assert_eq!(
        state(&o, id).await,
        "approved",
        "the checklist is still open"
    );
    // Each owner ticks their items, contractor items before their verifications.
    let items: Vec<(i64, String, Option<i64>)> = sqlx::query_as(
        "SELECT id, owner_role, verifies_id FROM checklist_items WHERE change_request_id = $1
          ORDER BY verifies_id NULLS FIRST, position",
    )
    .bind(id)
    .fetch_all(&c.app.db)
    .await
    .unwrap();
    let (last, rest) = items.split_last().unwrap();
    for (item, owner, _) in rest {
        let cookie = match owner.as_str() {
            "ops_lead" => &o.ops_cookie,
            "contractor" => &contractor_cookie,
            _ => &o.sem_cookie,
        };
        let res = c
            .post(cookie, &format!("/checklist/{item}/done"), &[("note", "")])
            .await;
        assert_eq!(res.status(), 303);
    }
    assert_eq!(state(&o, id).await, "approved");
    assert_eq!(last.1, "sem_specialist", "a verification comes last");
    c.post(
        &o.sem_cookie,
        &format!("/checklist/{}/done", last.0),
        &[("note", "")],
    )
    .await;
    assert_eq!(state(&o, id).await, "completed");
    assert!(
        flash(&c.page(&o.sem_cookie, &format!("/requests/{id}")).await)
            .contains("That was the last of it: the request is completed."),
    );
    assert_eq!(c.app.audit_count("change_request.completed").await, 1);
}

#[tokio::test]
async fn an_addendum_is_completed_by_its_change_task_done() {
    let o = ops().await;
    let c = &o.c;
    let id = c
        .file(&[
            ("kind", "addendum"),
            ("cancel_scope", ""),
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
    c.submit(&c.am_cookie, id).await;
    for cookie in [&c.jeremy_cookie, &c.dustin_cookie] {
        let step = c.pending_step(id).await;
        c.decide(cookie, step, "approve", "").await;
    }
    let task: i64 = sqlx::query_scalar("SELECT id FROM change_tasks WHERE change_request_id = $1")
        .bind(id)
        .fetch_one(&c.app.db)
        .await
        .unwrap();
    worked(&o, id, task).await;
    assert_eq!(state(&o, id).await, "approved");
    let budget: i64 = sqlx::query_scalar("SELECT monthly_budget_cents FROM clients WHERE id = $1")
        .bind(c.client_id)
        .fetch_one(&c.app.db)
        .await
        .unwrap();
    assert_eq!(
        budget, 300_000,
        "the addendum's new budget, not one typed again"
    );
    assert_eq!(o.act(task, "done", &[]).await.status(), 303);
    assert_eq!(state(&o, id).await, "completed");
    let page = c.page(&o.ops_cookie, &format!("/tasks/{task}")).await;
    assert!(
        flash(&page).contains("and with it the whole request: it is completed"),
        "{}",
        flash(&page)
    );
}

#[tokio::test]
async fn a_pause_is_completed_by_its_ads_paused_tick() {
    let o = ops().await;
    let c = &o.c;
    let (id, task) = o
        .approved(c.client_id, &[("kind", "pause"), ("cancel_scope", "")])
        .await;
    worked(&o, id, task).await;
    o.act(task, "done", &[]).await;
    assert_eq!(
        state(&o, id).await,
        "approved",
        "the ads are not paused yet"
    );
    let sem_task: i64 = sqlx::query_scalar("SELECT id FROM sem_tasks WHERE change_request_id = $1")
        .bind(id)
        .fetch_one(&c.app.db)
        .await
        .unwrap();
    c.post(
        &o.sem_cookie,
        &format!("/sem-tasks/{sem_task}/done"),
        &[("note", "Paused")],
    )
    .await;
    assert_eq!(state(&o, id).await, "completed");
    assert!(
        flash(&c.page(&o.sem_cookie, &format!("/requests/{id}")).await)
            .contains("The request is now completed.")
    );
}

#[tokio::test]
async fn the_planner_filters_by_specialist_and_sorts_either_way() {
    let o = ops().await;
    let c = &o.c;
    let sem2: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = 'sem2@agency.test'")
        .fetch_one(&c.app.db)
        .await
        .unwrap();
    let mut names = Vec::new();
    // Made in another order than their names', so the sort is by name, not by when.
    for (name, sem) in [
        ("Cedar Boats", o.sem),
        ("Alder Marine", o.sem),
        ("Birch RV", sem2),
    ] {
        let client_id = crate::support::fixtures::new_client(&c.app, c.am, name).await;
        let (_, task) = o.approved(client_id, &[]).await;
        o.act(task, "forward", &[("sem_specialist", &sem.to_string())])
            .await;
        o.act(task, "planner", &[]).await;
        names.push(name);
    }
    let order = |page: &str| -> Vec<&str> {
        let mut at: Vec<(usize, &str)> = names
            .iter()
            .filter_map(|n| page.find(n).map(|i| (i, *n)))
            .collect();
        at.sort();
        at.into_iter().map(|(_, n)| n).collect()
    };
    let mine = c
        .page(
            &o.ops_cookie,
            &format!("/planner?state=all&sort=client&sem={}", o.sem),
        )
        .await;
    assert_eq!(order(&mine), ["Alder Marine", "Cedar Boats"]);
    let asc = c
        .page(&o.ops_cookie, "/planner?state=all&sort=client&dir=asc")
        .await;
    assert_eq!(order(&asc), ["Alder Marine", "Birch RV", "Cedar Boats"]);
    let desc = c
        .page(&o.ops_cookie, "/planner?state=all&sort=client&dir=desc")
        .await;
    assert_eq!(order(&desc), ["Cedar Boats", "Birch RV", "Alder Marine"]);
    // With no sort asked for, the effective date's header is marked ascending and its link
    // reverses it (its first click used to ask for the same order again).
    let default = c.page(&o.ops_cookie, "/planner?state=all").await;
    assert!(default.contains("sort=effective&#38;dir=desc"), "{default}");
    assert!(!default.contains("sort=effective&#38;dir=asc"));
}

#[tokio::test]
async fn a_desk_lists_the_oldest_first_with_how_long_each_has_waited() {
    let c = crate::support::fixtures::chain().await;
    let newer = c.file(&[]).await;
    let other = crate::support::fixtures::new_client(&c.app, c.am, "Harbor Marine").await;
    let older = c.file_for(other, &[]).await;
    sqlx::query("UPDATE change_requests SET state_changed_at = now() - $2 WHERE id = $1")
        .bind(older)
        .bind(Duration::days(3))
        .execute(&c.app.db)
        .await
        .unwrap();
    let desk = c.page(&c.am_cookie, "/").await;
    let at = |id: i64| desk.find(&format!("/requests/{id}\"")).unwrap();
    assert!(at(older) < at(newer), "the oldest first");
    let row = &desk[at(older)..at(older) + desk[at(older)..].find("</tr>").unwrap()];
    assert!(row.contains("3 days"), "{row}");
}

#[tokio::test]
async fn the_admin_adds_a_chain_step_edits_a_checklist_item_and_restores_a_reason() {
    let c = crate::support::fixtures::chain().await;
    let admin = c.app.user("admin@agency.test", &[Role::Admin]).await;
    let cookie = c.app.session_cookie(admin).await;
    // A fourth step: the department's leads, only with a credit.
    let res = c
        .post(
            &cookie,
            "/admin/approvals/steps",
            &[
                ("name", "Leadership"),
                ("position", "4"),
                ("approver", "role:dm_leadership"),
                ("condition", "credit"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let step: (String, Option<String>, String) = sqlx::query_as(
        "SELECT name, approver_role, condition FROM approval_chain_steps WHERE position = 4",
    )
    .fetch_one(&c.app.db)
    .await
    .unwrap();
    assert_eq!(
        step,
        (
            "Leadership".into(),
            Some("dm_leadership".into()),
            "credit".into()
        )
    );
    // The Trello item now due two days after the date.
    let (item, position): (i64, i32) =
        sqlx::query_as("SELECT id, position FROM checklist_templates WHERE title LIKE '%Trello%'")
            .fetch_one(&c.app.db)
            .await
            .unwrap();
    let res = c
        .post(
            &cookie,
            &format!("/admin/checklist/{item}"),
            &[
                ("position", &position.to_string()),
                (
                    "title",
                    "Remove from the SEM QA Trello board and archive it",
                ),
                ("owner_role", "contractor"),
                ("condition", "always"),
                ("due_offset_days", "2"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let edited: (String, i32) =
        sqlx::query_as("SELECT title, due_offset_days FROM checklist_templates WHERE id = $1")
            .bind(item)
            .fetch_one(&c.app.db)
            .await
            .unwrap();
    assert_eq!(
        edited,
        (
            "Remove from the SEM QA Trello board and archive it".into(),
            2
        )
    );
    // A retired reason comes back to the filing form.
    let reason: i64 =
        sqlx::query_scalar("SELECT id FROM change_reasons WHERE label = 'Inventory shortage'")
            .fetch_one(&c.app.db)
            .await
            .unwrap();
    c.post(&cookie, &format!("/admin/reasons/{reason}/retire"), &[])
        .await;
    let form = c
        .page(
            &c.am_cookie,
            &format!("/clients/{}/requests/new", c.client_id),
        )
        .await;
    assert!(!form.contains("Inventory shortage"));
    let res = c
        .post(&cookie, &format!("/admin/reasons/{reason}/restore"), &[])
        .await;
    assert_eq!(res.status(), 303);
    let form = c
        .page(
            &c.am_cookie,
            &format!("/clients/{}/requests/new", c.client_id),
        )
        .await;
    assert!(form.contains("Inventory shortage"));
    for action in [
        "approval_chain.step_added",
        "checklist_template.edited",
        "change_reason.restored",
    ] {
        assert_eq!(c.app.audit_count(action).await, 1, "{action}");
    }
}

#[tokio::test]
async fn a_clients_page_lists_its_requests_newest_first() {
    let c = crate::support::fixtures::chain().await;
    let first = c.file(&[]).await;
    c.post(
        &c.am_cookie,
        &format!("/requests/{first}/withdraw"),
        &[("reason", "Filed by mistake")],
    )
    .await;
    let second = c.file(&[("kind", "pause"), ("cancel_scope", "")]).await;
    let page = c
        .page(&c.am_cookie, &format!("/clients/{}", c.client_id))
        .await;
    let at = |id: i64| page.find(&format!("/requests/{id}\"")).expect("listed");
    assert!(at(second) < at(first), "newest first");
    let row = |id: i64| {
        let start = at(id);
        &page[start..start + page[start..].find("</tr>").unwrap()]
    };
    assert!(row(first).contains("Withdrawn"), "{}", row(first));
    assert!(row(second).contains("Contract pause"), "{}", row(second));
}

#[tokio::test]
async fn a_crm_import_that_fails_half_way_imports_nothing() {
    let app = crate::support::TestApp::spawn().await;
    let ops = app.user("ops@agency.test", &[Role::OpsLead]).await;
    let cookie = app.session_cookie(ops).await;
    // The database refuses the third row when it is written (a stand-in for any failure
    // after the first rows are in).
    sqlx::raw_sql(
        "CREATE FUNCTION refuse_third() RETURNS trigger AS $$
         BEGIN
           IF NEW.crm_account_id = 'CRM-3' THEN RAISE EXCEPTION 'the disk is full'; END IF;
           RETURN NEW;
         END $$ LANGUAGE plpgsql;
         CREATE TRIGGER refuse_third BEFORE INSERT ON clients
           FOR EACH ROW EXECUTE FUNCTION refuse_third();",
    )
    .execute(&app.db)
    .await
    .unwrap();
    let csv = "Client Name,Account ID\nFirst RV,CRM-1\nSecond RV,CRM-2\nThird RV,CRM-3\n";
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(csv.as_bytes().to_vec()).file_name("crm.csv"),
    );
    let res = client()
        .post(app.url("/clients/import"))
        .header("cookie", &cookie)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let preview = location(&res);
    let res = client()
        .post(app.url(&preview))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 500);
    let (clients, history, applied): (i64, i64, bool) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM clients), (SELECT count(*) FROM client_status_history),
                (SELECT bool_or(applied_at IS NOT NULL) FROM client_imports)",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(
        (clients, history, applied),
        (0, 0, false),
        "nothing of it is in"
    );
    // The first two rows were written before the third failed (each took an id), and are gone.
    let ids_taken: i64 = sqlx::query_scalar(
        "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM clients_id_seq",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(ids_taken, 3, "three rows were written, then rolled back");
}
