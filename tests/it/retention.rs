//! The Retention Team records the call and its outcome changes the request in the same step.

use offboarding_desk::auth::roles::Role;

use crate::support::{TestApp, client, location};

struct Desk {
    app: TestApp,
    request: i64,
    am_cookie: String,
    retention_cookie: String,
}

async fn desk() -> Desk {
    let app = TestApp::spawn().await;
    let am = app.user("am@agency.test", &[Role::AccountManager]).await;
    let amy = app.user("amy@agency.test", &[Role::Retention]).await;
    let am_cookie = app.session_cookie(am).await;
    let retention_cookie = app.session_cookie(amy).await;
    let request = escalate(&app, &am_cookie, am, "Summit Powersports", "CRM-10244").await;
    Desk {
        app,
        request,
        am_cookie,
        retention_cookie,
    }
}

/// A new client of `am`'s whose cancellation `am` files for the Retention Team; its id.
async fn escalate(app: &TestApp, am_cookie: &str, am: i64, name: &str, crm: &str) -> i64 {
    let client_id: i64 = sqlx::query_scalar(
        "INSERT INTO clients (name, crm_account_id, account_manager_id, monthly_budget_cents)
         VALUES ($1, $2, $3, 275000) RETURNING id",
    )
    .bind(name)
    .bind(crm)
    .bind(am)
    .fetch_one(&app.db)
    .await
    .unwrap();
    let reason: i64 = sqlx::query_scalar("SELECT id FROM change_reasons ORDER BY position LIMIT 1")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let date = (chrono::Utc::now().date_naive() + chrono::Duration::days(30)).to_string();
    let res = client()
        .post(app.url(&format!("/clients/{client_id}/requests")))
        .header("cookie", am_cookie)
        .form(&[
            ("kind", "cancellation"),
            ("cancel_scope", "services_only"),
            ("effective_date", date.as_str()),
            ("reason_id", reason.to_string().as_str()),
            ("escalation", "retention"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    location(&res)
        .trim_start_matches("/requests/")
        .parse()
        .unwrap()
}

impl Desk {
    async fn record(&self, cookie: &str, form: &[(&str, &str)]) -> reqwest::Response {
        client()
            .post(
                self.app
                    .url(&format!("/requests/{}/save-attempt", self.request)),
            )
            .header("cookie", cookie)
            .form(form)
            .send()
            .await
            .unwrap()
    }

    async fn request(&self) -> (String, String, Option<String>, Option<i64>) {
        sqlx::query_as("SELECT kind, state, original_kind, new_budget_cents FROM change_requests WHERE id = $1")
            .bind(self.request)
            .fetch_one(&self.app.db)
            .await
            .unwrap()
    }
}

fn today() -> String {
    chrono::Utc::now().date_naive().to_string()
}

#[tokio::test]
async fn saved_with_a_pause_converts_the_request_and_it_remembers_it_was_a_cancellation() {
    let d = desk().await;
    let resume = (chrono::Utc::now().date_naive() + chrono::Duration::days(120)).to_string();
    let res = d
        .record(
            &d.retention_cookie,
            &[
                ("call_date", &today()),
                ("offered", "Three months at half budget"),
                ("outcome", "saved_pause"),
                ("resume_date", &resume),
                ("notes", "Owner agreed"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let (kind, state, original, _) = d.request().await;
    assert_eq!(
        (kind.as_str(), state.as_str(), original.as_deref()),
        ("pause", "with_retention", Some("cancellation"))
    );
    let (outcome, offered): (String, String) =
        sqlx::query_as("SELECT outcome, offered FROM save_attempts WHERE change_request_id = $1")
            .bind(d.request)
            .fetch_one(&d.app.db)
            .await
            .unwrap();
    assert_eq!(
        (outcome.as_str(), offered.as_str()),
        ("saved_pause", "Three months at half budget")
    );
    assert_eq!(
        d.app.audit_count("change_request.retention_outcome").await,
        1
    );
    let to: Vec<String> = sqlx::query_scalar(
        "SELECT to_addrs FROM outbox_messages WHERE kind = 'change_request.retention_outcome'",
    )
    .fetch_one(&d.app.db)
    .await
    .unwrap();
    assert_eq!(to, vec!["am@agency.test"], "the account manager is told");
    let page = d
        .app
        .page(&d.am_cookie, &format!("/requests/{}", d.request))
        .await;
    for text in [
        "Contract pause",
        "converted from: Cancellation",
        "Saved with a contract pause",
        "Retention call recorded",
    ] {
        assert!(page.contains(text), "request page lacks {text}");
    }
    // A second recording (double click, stale tab) changes nothing.
    d.record(
        &d.retention_cookie,
        &[("call_date", &today()), ("outcome", "not_saved")],
    )
    .await;
    assert_eq!(
        d.app.audit_count("change_request.retention_outcome").await,
        1
    );
}

#[tokio::test]
async fn saved_with_no_change_withdraws_the_request_and_the_client_stays_active() {
    let d = desk().await;
    let client = |db: sqlx::PgPool| async move {
        sqlx::query_as::<_, (String, i64, i32, i64)>(
            "SELECT status, monthly_budget_cents, version,
                    (SELECT count(*) FROM client_status_history) FROM clients",
        )
        .fetch_one(&db)
        .await
        .unwrap()
    };
    let before = client(d.app.db.clone()).await;
    d.record(
        &d.retention_cookie,
        &[("call_date", &today()), ("outcome", "saved_no_change")],
    )
    .await;
    let (_, state, _, _) = d.request().await;
    assert_eq!(state, "withdrawn");
    // The client is untouched: same status and budget, not even saved again, no history.
    assert_eq!(client(d.app.db.clone()).await, before);
    assert_eq!(before.0, "active");
    let withdrawn_why: String =
        sqlx::query_scalar("SELECT withdrawn_reason FROM change_requests WHERE id = $1")
            .bind(d.request)
            .fetch_one(&d.app.db)
            .await
            .unwrap();
    assert!(withdrawn_why.contains("saved"), "{withdrawn_why}");
}

#[tokio::test]
async fn saved_with_a_budget_change_makes_an_addendum_and_not_saved_leaves_the_cancellation() {
    let d = desk().await;
    d.record(
        &d.retention_cookie,
        &[
            ("call_date", &today()),
            ("outcome", "saved_budget_change"),
            ("current_budget", "2,750"),
            ("new_budget", "1,500"),
        ],
    )
    .await;
    let (kind, state, original, new_budget) = d.request().await;
    assert_eq!(
        (
            kind.as_str(),
            state.as_str(),
            original.as_deref(),
            new_budget
        ),
        (
            "addendum",
            "with_retention",
            Some("cancellation"),
            Some(150_000)
        )
    );

    let other = desk().await;
    other
        .record(
            &other.retention_cookie,
            &[("call_date", &today()), ("outcome", "not_saved")],
        )
        .await;
    let (kind, state, original, _) = other.request().await;
    assert_eq!(
        (kind.as_str(), state.as_str(), original),
        ("cancellation", "with_retention", None)
    );
}

#[tokio::test]
async fn only_retention_records_the_call_and_bad_answers_are_marked_in_place() {
    let d = desk().await;
    let forged = d
        .record(
            &d.am_cookie,
            &[("call_date", &today()), ("outcome", "saved_no_change")],
        )
        .await;
    assert_eq!(forged.status(), 303);
    assert_eq!(
        d.request().await.1,
        "with_retention",
        "the account manager changed nothing"
    );
    assert_eq!(
        d.app.audit_count("change_request.retention_outcome").await,
        0
    );

    let future = (chrono::Utc::now().date_naive() + chrono::Duration::days(3)).to_string();
    let res = d
        .record(
            &d.retention_cookie,
            &[
                ("call_date", &future),
                ("offered", "kept text"),
                ("outcome", "saved_budget_change"),
                ("current_budget", "100"),
                ("new_budget", "100"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.unwrap();
    for field in ["call_date", "new_budget"] {
        assert!(
            body.contains(&format!("id=\"{field}-error\"")),
            "no message for {field}"
        );
    }
    assert!(body.contains("value=\"kept text\""));
    let res = d
        .record(&d.retention_cookie, &[("call_date", &today())])
        .await;
    assert!(res.text().await.unwrap().contains("id=\"outcome-error\""));
    assert_eq!(d.request().await.0, "cancellation");
}

#[tokio::test]
async fn the_retention_queue_puts_calls_to_make_before_calls_made() {
    let d = desk().await;
    let page = d.app.page(&d.retention_cookie, "/").await;
    assert!(page.contains("Summit Powersports") && page.contains("Waiting for the call"));
    assert!(!page.contains("ready to submit"));

    d.record(
        &d.retention_cookie,
        &[("call_date", &today()), ("outcome", "not_saved")],
    )
    .await;
    let page = d.app.page(&d.retention_cookie, "/").await;
    assert!(page.contains("Call recorded: ready to submit"), "{page}");
    assert!(!page.contains("Waiting for the call"));

    // A newer request whose call is still to make comes first.
    let am: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = 'am@agency.test'")
        .fetch_one(&d.app.db)
        .await
        .unwrap();
    escalate(&d.app, &d.am_cookie, am, "Harbor Dental", "CRM-20511").await;
    let page = d.app.page(&d.retention_cookie, "/").await;
    let (harbor, summit) = (
        page.find("Harbor Dental")
            .expect("the new request is listed"),
        page.find("Summit Powersports")
            .expect("the called one is listed"),
    );
    assert!(harbor < summit, "calls to make come first: {page}");
    assert!(page.contains("Waiting for the call") && page.contains("ready to submit"));
}
