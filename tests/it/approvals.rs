//! The approval chain against the database: each transition with its audit record and emails,
//! in order, Finance only for credits, sent back and resubmitted, and racing decisions.

use offboarding_desk::auth::roles::Role;

use crate::support::fixtures::{chain, new_client};
use crate::support::{client, location};

fn names(steps: &[(String, String)]) -> Vec<&str> {
    steps.iter().map(|(_, s)| s.as_str()).collect()
}

#[tokio::test]
async fn without_a_credit_jeremy_then_dustin_approve_finance_is_not_required_and_everyone_is_told()
{
    let c = chain().await;
    let id = c.file(&[]).await;
    let flash = c.submit(&c.am_cookie, id).await;
    assert!(flash.contains("Submitted for approval"), "{flash}");
    assert_eq!(c.state(id).await, "in_approval");
    assert_eq!(
        names(&c.steps(id).await),
        ["pending", "waiting", "not_required"]
    );
    assert_eq!(c.app.audit_count("change_request.submitted").await, 1);
    let mail = c.mail(id).await;
    assert_eq!(
        mail.last().unwrap(),
        &(
            "change_request.approval_needed".to_string(),
            vec!["jeremy@agency.test".to_string()]
        )
    );
    // The page shows the chain, Finance as not required.
    let page = c.page(&c.am_cookie, &format!("/requests/{id}")).await;
    assert!(page.contains("Not required: no credit"), "{page}");
    assert!(page.contains("aria-current=\"step\""));
    // Jeremy's desk lists it; Dustin's does not yet.
    assert!(
        c.page(&c.jeremy_cookie, "/")
            .await
            .contains("Lakeside RV Center")
    );
    assert!(
        !c.page(&c.dustin_cookie, "/")
            .await
            .contains("Lakeside RV Center")
    );

    // A comment too long is answered beside it; nothing is decided.
    let step1 = c.pending_step(id).await;
    let long = "x".repeat(2001);
    let res = c
        .post(
            &c.jeremy_cookie,
            &format!("/approvals/{step1}/approve"),
            &[("comment", &long)],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("id=\"approve-comment-error\"")
    );
    assert_eq!(names(&c.steps(id).await)[0], "pending");

    // A later step is never asked before an earlier one.
    assert_eq!(c.decide(&c.dustin_cookie, step1, "approve", "").await, 303);
    assert!(
        c.flash(&c.dustin_cookie, id)
            .await
            .contains("This step is someone else")
    );
    assert_eq!(names(&c.steps(id).await)[0], "pending");

    assert_eq!(
        c.decide(&c.jeremy_cookie, step1, "approve", "Fine by me")
            .await,
        303
    );
    assert_eq!(
        names(&c.steps(id).await),
        ["approved", "pending", "not_required"]
    );
    assert_eq!(
        c.mail(id).await.last().unwrap().1,
        vec!["dustin@agency.test".to_string()]
    );
    // Jeremy clicks again from a stale tab: nothing changes, and he is told who decided.
    assert_eq!(c.decide(&c.jeremy_cookie, step1, "approve", "").await, 303);
    let flash = c.flash(&c.jeremy_cookie, id).await;
    assert!(
        flash.contains("was already approved by Test jeremy"),
        "{flash}"
    );
    assert_eq!(c.app.audit_count("change_request.step_approved").await, 1);

    let step2 = c.pending_step(id).await;
    assert_eq!(c.decide(&c.dustin_cookie, step2, "approve", "").await, 303);
    assert_eq!(c.state(id).await, "approved");
    let task: i64 = sqlx::query_scalar("SELECT id FROM change_tasks WHERE change_request_id = $1")
        .bind(id)
        .fetch_one(&c.app.db)
        .await
        .unwrap();
    assert_eq!(c.app.audit_count("change_request.approved").await, 1);
    let mail = c.mail(id).await;
    let kinds: Vec<&str> = mail.iter().map(|(k, _)| k.as_str()).collect();
    assert!(kinds.ends_with(&[
        "change_request.approved",
        "change_request.to_process",
        "change_request.approved_submitter"
    ]));
    let (text, to): (String, Vec<String>) = sqlx::query_as(
        "SELECT body_text, to_addrs FROM outbox_messages WHERE kind = 'change_request.approved'",
    )
    .fetch_one(&c.app.db)
    .await
    .unwrap();
    assert_eq!(to, vec!["lead@agency.test", "ops@agency.test"]);
    assert!(
        text.contains(&format!("{}/tasks/{task}", c.app.base)),
        "{text}"
    );
    let task_page = c.page(&c.am_cookie, &format!("/tasks/{task}")).await;
    assert!(task_page.contains("Pause Google Ads") && task_page.contains("Lakeside RV Center"));

    // Accounting processes it, once.
    assert!(
        c.page(&c.accounting_cookie, "/")
            .await
            .contains("Lakeside RV Center")
    );
    let res = c
        .post(
            &c.accounting_cookie,
            &format!("/requests/{id}/processed"),
            &[("note", "Billing updated")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let res = c
        .post(
            &c.accounting_cookie,
            &format!("/requests/{id}/processed"),
            &[],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert!(
        c.flash(&c.accounting_cookie, id)
            .await
            .contains("already marked it processed")
    );
    assert_eq!(c.app.audit_count("change_request.processed").await, 1);
    assert!(
        !c.page(&c.accounting_cookie, "/")
            .await
            .contains("Lakeside RV Center")
    );
}

#[tokio::test]
async fn with_retention_involved_only_retention_submits_and_a_credit_brings_finance_last() {
    let c = chain().await;
    let id = c
        .file(&[
            ("escalation", "retention"),
            ("credit", "250.00"),
            ("credit_reason", "Goodwill for the outage"),
        ])
        .await;
    // The account manager may not submit, even forging the form.
    let flash = c.submit(&c.am_cookie, id).await;
    assert!(flash.contains("Retention Team submits"), "{flash}");
    // Retention may not until the call is recorded.
    let flash = c.submit(&c.retention_cookie, id).await;
    assert!(flash.contains("Record the retention call"), "{flash}");
    assert_eq!(c.state(id).await, "with_retention");
    let today = chrono::Utc::now().date_naive().to_string();
    c.post(
        &c.retention_cookie,
        &format!("/requests/{id}/save-attempt"),
        &[("call_date", &today), ("outcome", "not_saved")],
    )
    .await;
    let flash = c.submit(&c.retention_cookie, id).await;
    assert!(flash.contains("Submitted"), "{flash}");
    assert_eq!(names(&c.steps(id).await), ["pending", "waiting", "waiting"]);

    for cookie in [&c.jeremy_cookie, &c.dustin_cookie] {
        let step = c.pending_step(id).await;
        assert_eq!(c.decide(cookie, step, "approve", "").await, 303);
    }
    // Both Finance members are asked; either decides; the credit shows on their desk.
    assert_eq!(
        c.mail(id).await.last().unwrap().1,
        vec![
            "fin1@agency.test".to_string(),
            "fin2@agency.test".to_string()
        ]
    );
    let desk = c.page(&c.finance_cookie, "/").await;
    assert!(
        desk.contains("Lakeside RV Center") && desk.contains("$250.00"),
        "{desk}"
    );
    let step = c.pending_step(id).await;
    assert_eq!(c.decide(&c.finance_cookie, step, "approve", "").await, 303);
    assert_eq!(c.state(id).await, "approved");
    assert_eq!(
        names(&c.steps(id).await),
        ["approved", "approved", "approved"]
    );
}

#[tokio::test]
async fn a_send_back_needs_a_reason_returns_to_the_submitter_and_the_chain_starts_over() {
    let c = chain().await;
    let id = c.file(&[]).await;
    c.submit(&c.am_cookie, id).await;
    let step1 = c.pending_step(id).await;
    c.decide(&c.jeremy_cookie, step1, "approve", "").await;
    let step2 = c.pending_step(id).await;

    // No reason: asked for one beside the field, nothing changes.
    let res = c
        .post(
            &c.dustin_cookie,
            &format!("/approvals/{step2}/send-back"),
            &[("comment", "  ")],
        )
        .await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.unwrap();
    assert!(body.contains("id=\"send-back-error\""), "{body}");
    assert_eq!(c.state(id).await, "in_approval");

    assert_eq!(
        c.decide(
            &c.dustin_cookie,
            step2,
            "send-back",
            "The effective date is wrong"
        )
        .await,
        303
    );
    assert_eq!(c.state(id).await, "changes_requested");
    assert_eq!(c.app.audit_count("change_request.sent_back").await, 1);
    let (kind, to) = c.mail(id).await.pop().unwrap();
    assert_eq!(kind, "change_request.sent_back");
    assert_eq!(to, vec!["am@agency.test"]);
    let page = c.page(&c.am_cookie, &format!("/requests/{id}")).await;
    assert!(page.contains("The effective date is wrong"));
    assert!(page.contains("Submit again"));

    // The account manager edits and submits again: the chain starts over at Jeremy.
    let date = (chrono::Utc::now().date_naive() + chrono::Duration::days(45)).to_string();
    let reason: i64 = sqlx::query_scalar("SELECT reason_id FROM change_requests WHERE id = $1")
        .bind(id)
        .fetch_one(&c.app.db)
        .await
        .unwrap();
    let version: i32 = sqlx::query_scalar("SELECT version FROM change_requests WHERE id = $1")
        .bind(id)
        .fetch_one(&c.app.db)
        .await
        .unwrap();
    let res = c
        .post(
            &c.am_cookie,
            &format!("/requests/{id}"),
            &[
                ("kind", "cancellation"),
                ("cancel_scope", "services_only"),
                ("effective_date", &date),
                ("reason_id", &reason.to_string()),
                ("version", &version.to_string()),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    c.submit(&c.am_cookie, id).await;
    assert_eq!(c.state(id).await, "in_approval");
    assert_eq!(
        names(&c.steps(id).await),
        ["pending", "waiting", "not_required"]
    );
    let rounds: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT round) FROM request_approvals WHERE change_request_id = $1",
    )
    .bind(id)
    .fetch_one(&c.app.db)
    .await
    .unwrap();
    assert_eq!(rounds, 2, "the first round stays on the record");
    assert_eq!(
        c.mail(id).await.last().unwrap().1,
        vec!["jeremy@agency.test".to_string()]
    );
    // The old step's form, replayed, changes nothing: not the old step, not the new round's,
    // and nothing goes on the record but the refusal.
    let every_step = |db: sqlx::PgPool| async move {
        sqlx::query_as::<_, (i64, String, Option<i64>)>(
            "SELECT id, state, decided_by FROM request_approvals WHERE change_request_id = $1
              ORDER BY id",
        )
        .bind(id)
        .fetch_all(&db)
        .await
        .unwrap()
    };
    let records = |db: sqlx::PgPool| async move {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM audit_events")
            .fetch_one(&db)
            .await
            .unwrap()
    };
    let steps_before = every_step(c.app.db.clone()).await;
    let records_before = records(c.app.db.clone()).await;
    let mail_before = c.mail(id).await.len();
    assert_eq!(c.decide(&c.dustin_cookie, step2, "approve", "").await, 303);
    assert_eq!(c.state(id).await, "in_approval");
    let old: String = sqlx::query_scalar("SELECT state FROM request_approvals WHERE id = $1")
        .bind(step2)
        .fetch_one(&c.app.db)
        .await
        .unwrap();
    assert_eq!(
        old, "sent_back",
        "the old round's step stays as the send-back left it"
    );
    assert_eq!(
        every_step(c.app.db.clone()).await,
        steps_before,
        "no step of any round changed"
    );
    assert_eq!(
        records(c.app.db.clone()).await,
        records_before,
        "nothing on the record"
    );
    assert_eq!(c.mail(id).await.len(), mail_before);
    assert!(
        c.flash(&c.dustin_cookie, id)
            .await
            .starts_with("Nothing changed"),
        "and Dustin is told"
    );
}

#[tokio::test]
async fn an_addendum_waits_for_its_signed_document_and_a_withdrawal_tells_the_pending_approver() {
    let c = chain().await;
    let id = c
        .file(&[
            ("kind", "addendum"),
            ("cancel_scope", ""),
            ("current_budget", "4500"),
            ("new_budget", "3000"),
        ])
        .await;
    let flash = c.submit(&c.am_cookie, id).await;
    assert!(
        flash.contains("Have the client sign the addendum"),
        "{flash}"
    );
    assert_eq!(c.state(id).await, "draft");
    let part = reqwest::multipart::Part::bytes(b"%PDF-1.4 signed".to_vec()).file_name("s.pdf");
    client()
        .post(c.app.url(&format!("/requests/{id}/attachments")))
        .header("cookie", &c.am_cookie)
        .multipart(reqwest::multipart::Form::new().part("document", part))
        .send()
        .await
        .unwrap();
    c.submit(&c.am_cookie, id).await;
    assert_eq!(c.state(id).await, "in_approval");

    // Withdrawn while Jeremy has it: the round ends and Jeremy is told.
    let res = c
        .post(
            &c.am_cookie,
            &format!("/requests/{id}/withdraw"),
            &[("reason", "Client signed a new contract")],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(c.state(id).await, "withdrawn");
    assert_eq!(
        names(&c.steps(id).await),
        ["cancelled", "cancelled", "not_required"]
    );
    let (kind, to) = c.mail(id).await.pop().unwrap();
    assert_eq!(
        (kind.as_str(), to),
        (
            "change_request.withdrawn",
            vec!["jeremy@agency.test".to_string()]
        )
    );
}

#[tokio::test]
async fn nobody_approves_a_request_they_filed() {
    let c = chain().await;
    // The account manager is also the first approver.
    sqlx::query("UPDATE users SET roles = '{account_manager,approver}' WHERE id = $1")
        .bind(c.am)
        .execute(&c.app.db)
        .await
        .unwrap();
    c.app.sessions_synced().await;
    sqlx::query("UPDATE approval_chain_steps SET approver_user_id = $1 WHERE position = 1")
        .bind(c.am)
        .execute(&c.app.db)
        .await
        .unwrap();
    let id = c.file(&[]).await;
    c.submit(&c.am_cookie, id).await;
    let step = c.pending_step(id).await;
    assert!(!c.page(&c.am_cookie, "/").await.contains("Your decision"));
    assert_eq!(c.decide(&c.am_cookie, step, "approve", "").await, 303);
    assert!(
        c.flash(&c.am_cookie, id)
            .await
            .contains("someone else must approve it")
    );
    assert_eq!(names(&c.steps(id).await)[0], "pending");
    assert_eq!(c.app.audit_count("change_request.step_approved").await, 0);
}

#[tokio::test]
async fn simultaneous_approvals_of_one_step_make_exactly_one_decision_every_time() {
    let c = chain().await;
    // Several sessions for Jeremy: tabs, devices, a double click.
    let mut cookies = Vec::new();
    for _ in 0..4 {
        cookies.push(c.app.session_cookie(c.jeremy).await);
    }
    for round in 0..15 {
        let client_id = new_client(&c.app, c.am, &format!("Race client {round}")).await;
        let id = c.file_for(client_id, &[]).await;
        c.submit(&c.am_cookie, id).await;
        let step = c.pending_step(id).await;
        let mut clicks = Vec::new();
        for cookie in &cookies {
            clicks.push(c.app.post_in_background(
                cookie,
                &format!("/approvals/{step}/approve"),
                &[("comment", "")],
            ));
        }
        for click in clicks {
            assert_eq!(click.await.unwrap(), 303);
        }
        let decisions: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM audit_events
              WHERE action = 'change_request.step_approved' AND entity_id = $1",
        )
        .bind(id.to_string())
        .fetch_one(&c.app.db)
        .await
        .unwrap();
        assert_eq!(decisions, 1, "round {round}");
        let asked: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM outbox_messages
              WHERE related_id = $1 AND kind = 'change_request.approval_needed'
                AND 'dustin@agency.test' = ANY(to_addrs)",
        )
        .bind(id.to_string())
        .fetch_one(&c.app.db)
        .await
        .unwrap();
        assert_eq!(asked, 1, "round {round}: Dustin asked once");
        assert_eq!(
            names(&c.steps(id).await),
            ["approved", "pending", "not_required"]
        );
    }
}

#[tokio::test]
async fn a_step_left_waiting_nudges_its_approver_once_per_interval_and_stops_once_decided() {
    let c = chain().await;
    let id = c.file(&[]).await;
    c.submit(&c.am_cookie, id).await;
    let step1 = c.pending_step(id).await;
    let (run_at,): (chrono::DateTime<chrono::Utc>,) =
        sqlx::query_as("SELECT run_at FROM scheduled_jobs WHERE key = $1 AND state = 'pending'")
            .bind(format!("approval-nudge:{step1}:1"))
            .fetch_one(&c.app.db)
            .await
            .unwrap();
    let reached: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT reached_at FROM request_approvals WHERE id = $1")
            .bind(step1)
            .fetch_one(&c.app.db)
            .await
            .unwrap();
    assert_eq!(
        run_at,
        offboarding_desk::approvals::nudges::due_after(reached, 2, chrono_tz::Tz::UTC),
        "two business days after it became Jeremy's turn"
    );
    let runner = offboarding_desk::server::job_runner(&c.app.state.config);
    let nudges = |id: i64| {
        let db = c.app.db.clone();
        async move {
            sqlx::query_scalar::<_, Vec<String>>(
                "SELECT to_addrs FROM outbox_messages
                  WHERE related_id = $1 AND kind = 'change_request.approval_nudge' ORDER BY id",
            )
            .bind(id.to_string())
            .fetch_all(&db)
            .await
            .unwrap()
        }
    };
    // Nothing before it is due; exactly one nudge when it is, even run twice.
    runner
        .run_due(&c.app.db, run_at - chrono::Duration::minutes(1))
        .await
        .unwrap();
    assert!(nudges(id).await.is_empty());
    runner.run_due(&c.app.db, run_at).await.unwrap();
    runner.run_due(&c.app.db, run_at).await.unwrap();
    assert_eq!(
        nudges(id).await,
        vec![vec!["jeremy@agency.test".to_string()]]
    );
    // The next one is scheduled an interval later; once Jeremy decides, it sends nothing.
    let next: chrono::DateTime<chrono::Utc> = sqlx::query_scalar(
        "SELECT run_at FROM scheduled_jobs WHERE key = $1 AND state = 'pending'",
    )
    .bind(format!("approval-nudge:{step1}:2"))
    .fetch_one(&c.app.db)
    .await
    .unwrap();
    assert_eq!(
        next,
        offboarding_desk::approvals::nudges::due_after(run_at, 2, chrono_tz::Tz::UTC)
    );
    c.decide(&c.jeremy_cookie, step1, "approve", "").await;
    runner.run_due(&c.app.db, next).await.unwrap();
    let to_jeremy = nudges(id)
        .await
        .into_iter()
        .filter(|to| to.contains(&"jeremy@agency.test".to_string()))
        .count();
    assert_eq!(to_jeremy, 1, "no second nudge for a decided step");
    // Dustin's step, by then waiting two business days itself, was nudged in its turn.
    assert_eq!(
        nudges(id).await.last().unwrap(),
        &vec!["dustin@agency.test".to_string()]
    );
}

#[tokio::test]
async fn an_admin_changes_the_chain_and_requests_in_flight_keep_theirs() {
    let c = chain().await;
    let admin = c.app.user("admin@agency.test", &[Role::Admin]).await;
    let admin_cookie = c.app.session_cookie(admin).await;
    let in_flight = c.file(&[]).await;
    c.submit(&c.am_cookie, in_flight).await;

    let (step2, name): (i64, String) =
        sqlx::query_as("SELECT id, name FROM approval_chain_steps WHERE position = 2")
            .fetch_one(&c.app.db)
            .await
            .unwrap();
    // Bad input is answered beside the field and keeps what was typed.
    let res = c
        .post(
            &admin_cookie,
            &format!("/admin/approvals/steps/{step2}"),
            &[
                ("name", "Leadership sign-off"),
                ("position", "two"),
                ("approver", "role:dm_leadership"),
                ("condition", "always"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.unwrap();
    assert!(body.contains("A whole number from 1 to 99."), "{body}");
    assert!(body.contains("value=\"Leadership sign-off\""));

    let res = c
        .post(
            &admin_cookie,
            &format!("/admin/approvals/steps/{step2}"),
            &[
                ("name", "Leadership sign-off"),
                ("position", "2"),
                ("approver", "role:dm_leadership"),
                ("condition", "always"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(c.app.audit_count("approval_chain.step_edited").await, 1);
    // The request in flight keeps Dustin at its second step.
    let kept: (String, Option<i64>) = sqlx::query_as(
        "SELECT name, approver_user_id FROM request_approvals
          WHERE change_request_id = $1 AND position = 2",
    )
    .bind(in_flight)
    .fetch_one(&c.app.db)
    .await
    .unwrap();
    assert_eq!(kept.0, name);
    assert!(kept.1.is_some());

    // A request submitted now gets the new step.
    let other = new_client(&c.app, c.am, "Summit Powersports").await;
    let fresh = c.file_for(other, &[]).await;
    c.submit(&c.am_cookie, fresh).await;
    let (name, role): (String, Option<String>) = sqlx::query_as(
        "SELECT name, approver_role FROM request_approvals
          WHERE change_request_id = $1 AND position = 2",
    )
    .bind(fresh)
    .fetch_one(&c.app.db)
    .await
    .unwrap();
    assert_eq!(
        (name.as_str(), role.as_deref()),
        ("Leadership sign-off", Some("dm_leadership"))
    );

    // With a step nobody is named for, submitting says what to do.
    sqlx::query("UPDATE approval_chain_steps SET approver_user_id = NULL WHERE position = 1")
        .execute(&c.app.db)
        .await
        .unwrap();
    let third = new_client(&c.app, c.am, "Bayou Boats").await;
    let id = c.file_for(third, &[]).await;
    let flash = c.submit(&c.am_cookie, id).await;
    assert!(flash.contains("no approver named"), "{flash}");
    assert_eq!(c.state(id).await, "draft");

    // Removing a step is on the record once; a second click changes nothing.
    let finance: i64 = sqlx::query_scalar("SELECT id FROM approval_chain_steps WHERE position = 3")
        .fetch_one(&c.app.db)
        .await
        .unwrap();
    for _ in 0..2 {
        let res = c
            .post(
                &admin_cookie,
                &format!("/admin/approvals/steps/{finance}/retire"),
                &[],
            )
            .await;
        assert_eq!(location(&res), "/admin/approvals");
    }
    let details: Vec<serde_json::Value> = sqlx::query_scalar(
        "SELECT details FROM audit_events WHERE action = 'approval_chain.step_retired'",
    )
    .fetch_all(&c.app.db)
    .await
    .unwrap();
    assert_eq!(details, vec![serde_json::json!({ "name": "Finance" })]);
}

#[tokio::test]
async fn a_substitute_decides_on_behalf_of_the_approver_away_and_the_record_says_so() {
    let c = chain().await;
    let carol = c.app.user("carol@agency.test", &[Role::Approver]).await;
    let carol_cookie = c.app.session_cookie(carol).await;
    let today = chrono::Utc::now().date_naive();
    let res = c
        .post(
            &c.jeremy_cookie,
            "/substitutes",
            &[
                ("substitute", &carol.to_string()),
                ("starts_on", &today.to_string()),
                ("ends_on", &(today + chrono::Duration::days(3)).to_string()),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    // Backwards dates are refused beside the field.
    let res = c
        .post(
            &c.jeremy_cookie,
            "/substitutes",
            &[
                ("substitute", &carol.to_string()),
                ("starts_on", &today.to_string()),
                ("ends_on", &(today - chrono::Duration::days(3)).to_string()),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("id=\"ends_on-error\""));

    let id = c.file(&[]).await;
    c.submit(&c.am_cookie, id).await;
    // Jeremy's turn is announced to Jeremy and to Carol, who stands in for him.
    assert_eq!(
        c.mail(id).await.last().unwrap().1,
        vec![
            "carol@agency.test".to_string(),
            "jeremy@agency.test".to_string()
        ]
    );
    let desk = c.page(&carol_cookie, "/").await;
    assert!(
        desk.contains("Lakeside RV Center") && desk.contains("(for Test jeremy)"),
        "{desk}"
    );
    let step = c.pending_step(id).await;
    assert_eq!(
        c.decide(&carol_cookie, step, "approve", "For Jeremy").await,
        303
    );
    let (by, behalf): (i64, Option<i64>) =
        sqlx::query_as("SELECT decided_by, on_behalf_of FROM request_approvals WHERE id = $1")
            .bind(step)
            .fetch_one(&c.app.db)
            .await
            .unwrap();
    assert_eq!((by, behalf), (carol, Some(c.jeremy)));
    let page = c.page(&c.am_cookie, &format!("/requests/{id}")).await;
    assert!(
        page.contains("Test carol on behalf of Test jeremy"),
        "{page}"
    );

    // Carol decided one step: the next is Dustin's, and she may not take it for anyone.
    let step2 = c.pending_step(id).await;
    assert_eq!(c.decide(&carol_cookie, step2, "approve", "").await, 303);
    assert_eq!(names(&c.steps(id).await)[1], "pending");

    // Ending the substitution gives the steps back.
    let sub: i64 = sqlx::query_scalar("SELECT id FROM approval_substitutes")
        .fetch_one(&c.app.db)
        .await
        .unwrap();
    let res = c
        .post(&carol_cookie, &format!("/substitutes/{sub}/end"), &[])
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        c.app.audit_count("approval_substitute.ended").await,
        0,
        "only the approver ends it"
    );
    c.post(&c.jeremy_cookie, &format!("/substitutes/{sub}/end"), &[])
        .await;
    assert_eq!(c.app.audit_count("approval_substitute.ended").await, 1);
}

#[tokio::test]
async fn an_admin_sees_a_stalled_step_and_hands_it_to_someone_else() {
    let c = chain().await;
    let admin = c.app.user("admin@agency.test", &[Role::Admin]).await;
    let admin_cookie = c.app.session_cookie(admin).await;
    let carol = c.app.user("carol@agency.test", &[Role::Approver]).await;
    let id = c.file(&[]).await;
    c.submit(&c.am_cookie, id).await;
    let step = c.pending_step(id).await;
    assert!(
        c.page(&admin_cookie, "/admin/approvals")
            .await
            .contains("id=\"no-stalled\"")
    );
    sqlx::query(
        "UPDATE request_approvals SET reached_at = now() - interval '10 days' WHERE id = $1",
    )
    .bind(step)
    .execute(&c.app.db)
    .await
    .unwrap();
    let page = c.page(&admin_cookie, "/admin/approvals").await;
    assert!(
        page.contains("id=\"stalled\"") && page.contains("Lakeside RV Center"),
        "{page}"
    );

    let res = c
        .post(
            &admin_cookie,
            &format!("/admin/approval-steps/{step}/reassign"),
            &[("approver", &format!("user:{carol}"))],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(c.app.audit_count("change_request.step_reassigned").await, 1);
    assert_eq!(
        c.mail(id).await.last().unwrap().1,
        vec!["carol@agency.test".to_string()]
    );
    // Jeremy no longer decides it; Carol does.
    assert_eq!(c.decide(&c.jeremy_cookie, step, "approve", "").await, 303);
    assert_eq!(names(&c.steps(id).await)[0], "pending");
    let carol_cookie = c.app.session_cookie(carol).await;
    assert_eq!(c.decide(&carol_cookie, step, "approve", "").await, 303);
    assert_eq!(names(&c.steps(id).await)[0], "approved");
    // A decided step is not reassigned.
    c.post(
        &admin_cookie,
        &format!("/admin/approval-steps/{step}/reassign"),
        &[("approver", &format!("user:{}", c.jeremy))],
    )
    .await;
    assert_eq!(c.app.audit_count("change_request.step_reassigned").await, 1);
}
