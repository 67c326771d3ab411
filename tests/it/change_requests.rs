//! Filing, escalating, editing and withdrawing change requests over HTTP: one open request per
//! client even under a race, every step audited with its emails, bad input answered in place.

use offboarding_desk::auth::roles::Role;

use crate::support::{TestApp, client, location};

pub(crate) struct Desk {
    pub app: TestApp,
    pub client_id: i64,
    pub am_cookie: String,
}

pub(crate) async fn desk() -> Desk {
    let app = TestApp::spawn().await;
    let am = app.user("am@agency.test", &[Role::AccountManager]).await;
    app.user("amy@agency.test", &[Role::Retention]).await;
    app.user("anglee@agency.test", &[Role::Retention]).await;
    let client_id: i64 = sqlx::query_scalar(
        "INSERT INTO clients (name, crm_account_id, account_manager_id, monthly_budget_cents, ad_products)
         VALUES ('Lakeside RV Center', 'CRM-10231', $1, 450000, '{google_ads}') RETURNING id",
    )
    .bind(am)
    .fetch_one(&app.db)
    .await
    .unwrap();
    let am_cookie = app.session_cookie(am).await;
    Desk {
        app,
        client_id,
        am_cookie,
    }
}

pub(crate) fn effective_in(days: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(days)).to_string()
}

impl Desk {
    pub async fn post_as(
        &self,
        cookie: &str,
        path: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        client()
            .post(self.app.url(path))
            .header("cookie", cookie)
            .form(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn page_as(&self, cookie: &str, path: &str) -> reqwest::Response {
        client()
            .get(self.app.url(path))
            .header("cookie", crate::shared::with_flash(cookie))
            .send()
            .await
            .unwrap()
    }

    pub async fn reason(&self) -> String {
        let id: i64 =
            sqlx::query_scalar("SELECT id FROM change_reasons WHERE label = 'Budget constraints'")
                .fetch_one(&self.app.db)
                .await
                .unwrap();
        id.to_string()
    }

    pub async fn file(&self, extra: &[(&str, &str)]) -> reqwest::Response {
        let reason = self.reason().await;
        let date = effective_in(30);
        let mut form: Vec<(&str, &str)> = vec![
            ("kind", "cancellation"),
            ("cancel_scope", "leave_platform"),
            ("effective_date", &date),
            ("reason_id", &reason),
            ("reason_text", "Moving budget to TV"),
            ("product_notes", "Pause Google Ads; keep the website"),
            ("escalation", "retention"),
        ];
        for (k, v) in extra {
            form.retain(|(key, _)| key != k);
            form.push((k, v));
        }
        self.post_as(
            &self.am_cookie,
            &format!("/clients/{}/requests", self.client_id),
            &form,
        )
        .await
    }

    pub async fn request_count(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM change_requests")
            .fetch_one(&self.app.db)
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn an_account_manager_files_a_cancellation_for_retention_and_both_retention_users_are_emailed()
 {
    let d = desk().await;
    let res = d.file(&[]).await;
    assert_eq!(res.status(), 303);
    let (id, state, escalation): (i64, String, String) =
        sqlx::query_as("SELECT id, state, escalation FROM change_requests")
            .fetch_one(&d.app.db)
            .await
            .unwrap();
    assert_eq!(location(&res), format!("/requests/{id}"));
    assert_eq!(
        (state.as_str(), escalation.as_str()),
        ("with_retention", "retention")
    );
    assert_eq!(d.app.audit_count("change_request.filed").await, 1);
    let (to, subject, text): (Vec<String>, String, String) = sqlx::query_as(
        "SELECT to_addrs, subject, body_text FROM outbox_messages WHERE related_id = $1",
    )
    .bind(id.to_string())
    .fetch_one(&d.app.db)
    .await
    .unwrap();
    assert_eq!(to, vec!["amy@agency.test", "anglee@agency.test"]);
    assert!(subject.contains("Lakeside RV Center"));
    assert!(
        text.contains(&format!("{}/requests/{id}", d.app.base)),
        "absolute link to the page"
    );

    let page = d
        .page_as(&d.am_cookie, &format!("/requests/{id}"))
        .await
        .text()
        .await
        .unwrap();
    for text in [
        "Lakeside RV Center",
        "With Retention",
        "Leaving the platform entirely",
        "Budget constraints",
        "Moving budget to TV",
        "Pause Google Ads",
        "Filed",
        "Change request filed",
    ] {
        assert!(page.contains(text), "request page lacks {text}");
    }
    let amy: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = 'amy@agency.test'")
        .fetch_one(&d.app.db)
        .await
        .unwrap();
    let amy_cookie = d.app.session_cookie(amy).await;
    let home = d.page_as(&amy_cookie, "/").await.text().await.unwrap();
    assert!(
        home.contains(&format!("href=\"/requests/{id}\"")),
        "in the Retention queue"
    );
    let am_home = d.page_as(&d.am_cookie, "/").await.text().await.unwrap();
    assert!(
        am_home.contains(&format!("href=\"/requests/{id}\"")),
        "in the account manager's open requests"
    );
}

#[tokio::test]
async fn a_client_with_an_open_request_shows_it_instead_of_a_twin() {
    let d = desk().await;
    d.file(&[]).await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM change_requests")
        .fetch_one(&d.app.db)
        .await
        .unwrap();
    let res = d
        .page_as(
            &d.am_cookie,
            &format!("/clients/{}/requests/new", d.client_id),
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), format!("/requests/{id}"));
    let again = d.file(&[]).await;
    assert_eq!(location(&again), format!("/requests/{id}"));
    assert_eq!(d.request_count().await, 1);
    let page = d
        .page_as(&d.am_cookie, &format!("/requests/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("already has an open change request"));
}

#[tokio::test]
async fn two_filings_for_one_client_at_the_same_moment_make_one_request() {
    let d = desk().await;
    let am2 = d
        .app
        .session_cookie(
            sqlx::query_scalar("SELECT id FROM users WHERE email = 'am@agency.test'")
                .fetch_one(&d.app.db)
                .await
                .unwrap(),
        )
        .await;
    let first = d.file(&[]);
    let reason = d.reason().await;
    let date = effective_in(20);
    let path = format!("/clients/{}/requests", d.client_id);
    let form = [
        ("kind", "pause"),
        ("effective_date", date.as_str()),
        ("reason_id", reason.as_str()),
        ("escalation", "none"),
    ];
    let second = d.post_as(&am2, &path, &form);
    let (a, b) = tokio::join!(first, second);
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (303, 303));
    assert_eq!(
        d.request_count().await,
        1,
        "the database keeps one open request"
    );
    assert_eq!(location(&a), location(&b), "both land on the one request");
    assert_eq!(d.app.audit_count("change_request.filed").await, 1);
}

#[tokio::test]
async fn only_the_clients_own_account_manager_files_for_it() {
    let d = desk().await;
    let other = d.app.user("am2@agency.test", &[Role::AccountManager]).await;
    let other_cookie = d.app.session_cookie(other).await;
    let res = d
        .page_as(
            &other_cookie,
            &format!("/clients/{}/requests/new", d.client_id),
        )
        .await;
    assert_eq!(res.status(), 403);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("belongs to another account manager")
    );
    let reason = d.reason().await;
    let date = effective_in(10);
    let forged = d
        .post_as(
            &other_cookie,
            &format!("/clients/{}/requests", d.client_id),
            &[
                ("kind", "pause"),
                ("effective_date", &date),
                ("reason_id", &reason),
                ("escalation", "none"),
            ],
        )
        .await;
    assert_eq!(forged.status(), 403);
    let retention: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = 'amy@agency.test'")
        .fetch_one(&d.app.db)
        .await
        .unwrap();
    let retention_cookie = d.app.session_cookie(retention).await;
    let res = d
        .page_as(
            &retention_cookie,
            &format!("/clients/{}/requests/new", d.client_id),
        )
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(d.request_count().await, 0);
}

#[tokio::test]
async fn bad_input_is_answered_beside_each_field_keeps_what_was_typed_and_saves_nothing() {
    let d = desk().await;
    let res = d
        .file(&[
            ("kind", "addendum"),
            ("effective_date", "2020-01-01"),
            ("current_budget", "4,500"),
            ("new_budget", "4500.00"),
            ("credit", "-20"),
            ("product_notes", "keep this text"),
        ])
        .await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.unwrap();
    for field in ["effective_date", "new_budget", "credit", "escalation"] {
        assert!(
            body.contains(&format!("id=\"{field}-error\"")),
            "no message for {field}"
        );
    }
    assert!(
        body.contains("keep this text") && body.contains("value=\"-20\""),
        "what was typed is kept"
    );
    assert!(
        body.contains("The date is right"),
        "a far date can be confirmed"
    );
    assert_eq!(d.request_count().await, 0);
    assert_eq!(d.app.audit_count("change_request.filed").await, 0);

    // Confirming the date and fixing the rest files it.
    let ok = d
        .file(&[
            ("kind", "addendum"),
            ("cancel_scope", ""),
            ("effective_date", "2026-01-15"),
            ("confirm_date", "yes"),
            ("current_budget", "4,500"),
            ("new_budget", "3,000"),
            ("escalation", "none"),
        ])
        .await;
    assert_eq!(ok.status(), 303);
    let (current, new, state): (i64, i64, String) =
        sqlx::query_as("SELECT current_budget_cents, new_budget_cents, state FROM change_requests")
            .fetch_one(&d.app.db)
            .await
            .unwrap();
    assert_eq!((current, new, state.as_str()), (450_000, 300_000, "draft"));
}

#[tokio::test]
async fn escalating_to_a_team_lead_emails_that_person_only() {
    let d = desk().await;
    let lead = d.app.user("lead@agency.test", &[Role::TeamLead]).await;
    d.app.user("lead2@agency.test", &[Role::TeamLead]).await;
    let lead_s = lead.to_string();
    let res = d
        .file(&[("escalation", "team_lead"), ("escalated_to", &lead_s)])
        .await;
    assert_eq!(res.status(), 303);
    let to: Vec<String> = sqlx::query_scalar("SELECT to_addrs FROM outbox_messages")
        .fetch_one(&d.app.db)
        .await
        .unwrap();
    assert_eq!(to, vec!["lead@agency.test"]);
    let lead_cookie = d.app.session_cookie(lead).await;
    let home = d.page_as(&lead_cookie, "/").await.text().await.unwrap();
    assert!(
        home.contains("Lakeside RV Center"),
        "in the team lead's queue"
    );
}

#[tokio::test]
async fn edits_are_on_the_timeline_and_a_stale_form_or_a_closed_request_changes_nothing() {
    let d = desk().await;
    d.file(&[("escalation", "none")]).await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM change_requests")
        .fetch_one(&d.app.db)
        .await
        .unwrap();
    let reason = d.reason().await;
    let date = effective_in(45);
    let edit = |notes: &'static str, version: &'static str| {
        let (reason, date) = (reason.clone(), date.clone());
        let d = &d;
        async move {
            d.post_as(
                &d.am_cookie,
                &format!("/requests/{id}"),
                &[
                    ("kind", "cancellation"),
                    ("cancel_scope", "services_only"),
                    ("effective_date", &date),
                    ("reason_id", &reason),
                    ("product_notes", notes),
                    ("version", version),
                ],
            )
            .await
        }
    };
    assert_eq!(edit("Pause everything", "1").await.status(), 303);
    let stale = edit("Another idea", "1").await;
    assert_eq!(stale.status(), 422);
    assert!(
        stale
            .text()
            .await
            .unwrap()
            .contains("Someone else changed this request")
    );
    let page = d
        .page_as(&d.am_cookie, &format!("/requests/{id}"))
        .await
        .text()
        .await
        .unwrap();
    // The timeline says what changed, from what to what, in the page's words.
    assert!(
        page.contains("cancel scope from leaving the platform entirely to digital marketing")
            && page.contains(
                "product notes from “Pause Google Ads; keep the website” to “Pause everything”"
            ),
        "{page}"
    );
    assert!(page.contains("Pause everything") && !page.contains("Another idea"));

    // Withdrawn: a reason is required, and afterwards nothing edits it.
    let no_reason = d
        .post_as(
            &d.am_cookie,
            &format!("/requests/{id}/withdraw"),
            &[("reason", " ")],
        )
        .await;
    assert_eq!(no_reason.status(), 422);
    assert!(no_reason.text().await.unwrap().contains("Say why"));
    let res = d
        .post_as(
            &d.am_cookie,
            &format!("/requests/{id}/withdraw"),
            &[("reason", "Filed by mistake")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let twice = d
        .post_as(
            &d.am_cookie,
            &format!("/requests/{id}/withdraw"),
            &[("reason", "Again")],
        )
        .await;
    assert_eq!(twice.status(), 303);
    assert_eq!(
        d.app.audit_count("change_request.withdrawn").await,
        1,
        "the second click did nothing"
    );
    let late = edit("Too late", "2").await;
    assert_eq!(late.status(), 303);
    let notes: String = sqlx::query_scalar("SELECT product_notes FROM change_requests")
        .fetch_one(&d.app.db)
        .await
        .unwrap();
    assert_eq!(notes, "Pause everything");
    let page = d
        .page_as(&d.am_cookie, &format!("/requests/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Withdrawn: Filed by mistake") && page.contains("Nothing was saved"));
    // No longer open: the client can have a new request.
    assert_eq!(d.file(&[]).await.status(), 303);
    assert_eq!(d.request_count().await, 2);
}

#[tokio::test]
async fn the_account_manager_asks_the_clients_sem_specialist_who_answers_on_the_request() {
    let d = desk().await;
    let sem = d.app.user("sem@agency.test", &[Role::SemSpecialist]).await;
    let other_sem = d.app.user("sem2@agency.test", &[Role::SemSpecialist]).await;
    sqlx::query("UPDATE clients SET sem_specialist_id = $1")
        .bind(sem)
        .execute(&d.app.db)
        .await
        .unwrap();
    d.file(&[]).await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM change_requests")
        .fetch_one(&d.app.db)
        .await
        .unwrap();

    let empty = d
        .post_as(
            &d.am_cookie,
            &format!("/requests/{id}/questions"),
            &[("text", "  ")],
        )
        .await;
    assert_eq!(empty.status(), 422);
    assert!(
        empty
            .text()
            .await
            .unwrap()
            .contains("id=\"question-error\"")
    );

    let res = d
        .post_as(
            &d.am_cookie,
            &format!("/requests/{id}/questions"),
            &[("text", "What did the campaigns spend last month?")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let to: Vec<String> = sqlx::query_scalar(
        "SELECT to_addrs FROM outbox_messages WHERE kind = 'change_request.question'",
    )
    .fetch_one(&d.app.db)
    .await
    .unwrap();
    assert_eq!(to, vec!["sem@agency.test"]);
    let sem_cookie = d.app.session_cookie(sem).await;
    let desk_page = d.page_as(&sem_cookie, "/").await.text().await.unwrap();
    assert!(
        desk_page.contains("What did the campaigns spend last month?"),
        "in the specialist's queue"
    );

    let qid: i64 = sqlx::query_scalar("SELECT id FROM request_questions")
        .fetch_one(&d.app.db)
        .await
        .unwrap();
    let other_cookie = d.app.session_cookie(other_sem).await;
    d.post_as(
        &other_cookie,
        &format!("/questions/{qid}/answer"),
        &[("text", "Not mine to answer")],
    )
    .await;
    let answered: Option<String> = sqlx::query_scalar("SELECT answer FROM request_questions")
        .fetch_one(&d.app.db)
        .await
        .unwrap();
    assert_eq!(answered, None, "another specialist cannot answer");

    let res = d
        .post_as(
            &sem_cookie,
            &format!("/questions/{qid}/answer"),
            &[("text", "$4,380 across Google Ads")],
        )
        .await;
    assert_eq!(res.status(), 303);
    d.post_as(
        &sem_cookie,
        &format!("/questions/{qid}/answer"),
        &[("text", "A second answer")],
    )
    .await;
    assert_eq!(
        d.app.audit_count("change_request.question_answered").await,
        1,
        "answered once"
    );
    let to: Vec<String> = sqlx::query_scalar(
        "SELECT to_addrs FROM outbox_messages WHERE kind = 'change_request.answer'",
    )
    .fetch_one(&d.app.db)
    .await
    .unwrap();
    assert_eq!(to, vec!["am@agency.test"]);
    let page = d
        .page_as(&d.am_cookie, &format!("/requests/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("$4,380 across Google Ads") && !page.contains("A second answer"));
    assert!(page.contains("Answered the question"));
    let desk_page = d.page_as(&sem_cookie, "/").await.text().await.unwrap();
    assert!(
        !desk_page.contains("What did the campaigns spend last month?"),
        "gone from the queue"
    );
}
