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
    assert!(page.contains("Offboarding: Remove from NinjaCat (“Removed”)"));
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

    let other = crate::approvals::new_client(&c.app, c.am, "Summit Powersports").await;
    let (cancellation, _) = o.approved(other, &[]).await;
    let open = items(&o, cancellation).await.len();
    assert!(open >= 4);
    let res = c
        .post(
            &c.am_cookie,
            &format!("/requests/{cancellation}/reinstate"),
            &[("reason", "They stay")],
        )
        .await;
    let reversal: i64 = location(&res)
        .trim_start_matches("/requests/")
        .parse()
        .unwrap();
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
    assert!(
        items(&o, reversal).await.is_empty(),
        "a reinstatement has no checklist"
    );
}
