//! Bad input found by hand and by scanners: each answered with a clear message beside its
//! field (or a safe fallback), never a 500, with nothing half-saved; and a name that once got
//! a line break into the database cannot carry a header into an email.

use offboarding_desk::auth::roles::Role;

use crate::support::fixtures::chain;
use crate::support::smtp::{self, header};
use crate::support::{PASSWORD, TestApp, client, location, mail_to};

#[tokio::test]
async fn the_sign_in_return_address_refuses_whitespace_and_control_characters() {
    let app = TestApp::spawn().await;
    app.user("admin@agency.test", &[Role::Admin]).await;
    for next in [
        "/\t/evil.example",
        "/\n/evil.example",
        "/\r\nSet-Cookie: x=1",
        "/ /evil.example",
    ] {
        let res = client()
            .post(app.url("/login"))
            .form(&[
                ("email", "admin@agency.test"),
                ("password", PASSWORD),
                ("next", next),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "next={next:?}");
        assert_eq!(location(&res), "/", "next={next:?}");
    }
    // The same through the address bar: the sign-in page falls back to the home page.
    for query in ["/%09/evil.example", "/%0d%0aSet-Cookie:%20x=1", "/%00"] {
        let res = client()
            .get(app.url(&format!("/login?next={query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "next={query}");
        let page = res.text().await.unwrap();
        assert!(
            page.contains("name=\"next\" value=\"/\""),
            "next={query}: {page}"
        );
    }
}

#[tokio::test]
async fn a_nul_byte_in_a_search_box_or_the_sign_in_form_answers_normally() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin@agency.test", &[Role::Admin]).await;
    let cookie = app.session_cookie(admin).await;
    for path in [
        "/clients?q=a%00b",
        "/admin/users?q=%00",
        "/admin/audit?action=x%00y",
    ] {
        let res = app.get(&cookie, path).await;
        assert_eq!(res.status(), 200, "{path}");
    }
    let res = client()
        .post(app.url("/login"))
        .form(&[("email", "admin\0@agency.test"), ("password", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "refused like any wrong address");
}

#[tokio::test]
async fn control_characters_in_a_text_are_refused_beside_the_field_and_nothing_is_saved() {
    let c = chain().await;
    let id = c.file(&[]).await;
    let version: i32 = sqlx::query_scalar("SELECT version FROM change_requests WHERE id = $1")
        .bind(id)
        .fetch_one(&c.app.db)
        .await
        .unwrap();
    let reason: String =
        sqlx::query_scalar("SELECT reason_id::text FROM change_requests WHERE id = $1")
            .bind(id)
            .fetch_one(&c.app.db)
            .await
            .unwrap();
    let date = (chrono::Utc::now().date_naive() + chrono::Duration::days(30)).to_string();
    let version = version.to_string();
    let res = c
        .post(
            &c.am_cookie,
            &format!("/requests/{id}"),
            &[
                ("kind", "cancellation"),
                ("cancel_scope", "services_only"),
                ("effective_date", &date),
                ("reason_id", &reason),
                ("product_notes", "Pause\u{0} Google Ads"),
                ("version", &version),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(page.contains("NUL byte"), "the message is shown: {page}");
    assert!(
        page.contains("Pause\u{0} Google Ads"),
        "what was typed is kept"
    );
    let notes: String =
        sqlx::query_scalar("SELECT product_notes FROM change_requests WHERE id = $1")
            .bind(id)
            .fetch_one(&c.app.db)
            .await
            .unwrap();
    assert_eq!(notes, "Pause Google Ads", "nothing saved");

    // A withdrawal reason with a NUL: the page again, the request still open.
    let res = c
        .post(
            &c.am_cookie,
            &format!("/requests/{id}/withdraw"),
            &[("reason", "filed\u{0} by mistake")],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("NUL byte"));
    assert_eq!(c.state(id).await, "draft");
    assert_eq!(c.app.audit_count("change_request.withdrawn").await, 0);
}

#[tokio::test]
async fn a_malformed_address_is_refused_on_the_distribution_list() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin@agency.test", &[Role::Admin]).await;
    let cookie = app.session_cookie(admin).await;
    for bad in [
        "name@example.com¿'\"(",
        "name@example.com\r\nBcc: x@evil.test",
        "a\0@b.com",
    ] {
        let res = client()
            .post(app.url("/admin/distribution"))
            .header("cookie", &cookie)
            .form(&[("email", bad), ("name", "Someone")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422, "{bad:?}");
        assert!(
            res.text()
                .await
                .unwrap()
                .contains("Enter an email address like name@agency.com."),
            "{bad:?}"
        );
    }
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM distribution_list")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn a_client_name_with_a_line_break_is_refused_beside_the_field() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin@agency.test", &[Role::Admin]).await;
    let cookie = app.session_cookie(admin).await;
    let res = client()
        .post(app.url("/clients"))
        .header("cookie", &cookie)
        .form(&[
            ("name", "Lakeside\r\nBcc: victim@evil.test"),
            ("crm_account_id", "CRM-1"),
            ("monthly_budget", "2500"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(page.contains("Keep this to one line"), "{page}");
    assert!(page.contains("CRM-1"), "what was typed is kept");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM clients")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(n, 0);
}

/// A name with a line break that reached the database before the form refused them (an old
/// import, a hand edit) goes into an email's subject: the mail library encodes it, so the
/// message arrives with its one Subject and no header the name tried to add.
#[tokio::test]
async fn a_line_break_in_a_client_name_cannot_add_a_header_to_an_email() {
    let Some(server) = smtp::start("a_line_break_in_a_client_name_cannot_add_a_header").await
    else {
        return;
    };
    let app = TestApp::spawn_with(|c| mail_to(c, server.port)).await;
    let am = app.user("am@agency.test", &[Role::AccountManager]).await;
    app.user("amy@agency.test", &[Role::Retention]).await;
    let client_id: i64 = sqlx::query_scalar(
        "INSERT INTO clients (name, crm_account_id, account_manager_id, monthly_budget_cents)
         VALUES ($1, 'CRM-EVIL', $2, 100000) RETURNING id",
    )
    .bind("Evil RV\r\nBcc: victim@evil.test\r\nX-Injected: yes")
    .bind(am)
    .fetch_one(&app.db)
    .await
    .unwrap();
    let reason: String =
        sqlx::query_scalar("SELECT id::text FROM change_reasons ORDER BY position LIMIT 1")
            .fetch_one(&app.db)
            .await
            .unwrap();
    let date = (chrono::Utc::now().date_naive() + chrono::Duration::days(30)).to_string();
    let res = client()
        .post(app.url(&format!("/clients/{client_id}/requests")))
        .header("cookie", app.session_cookie(am).await)
        .form(&[
            ("kind", "cancellation"),
            ("cancel_scope", "services_only"),
            ("effective_date", date.as_str()),
            ("reason_id", reason.as_str()),
            ("escalation", "retention"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(app.deliver_mail().await, 1);
    let received = server.received();
    assert_eq!(received.len(), 1);
    let raw = &received[0];
    assert_eq!(
        header(raw, "X-Envelope-To").as_deref(),
        Some("amy@agency.test"),
        "only the Retention Team receives it"
    );
    assert_eq!(header(raw, "Bcc"), None, "{raw}");
    assert_eq!(header(raw, "X-Injected"), None, "{raw}");
    let head = raw.split("\r\n\r\n").next().unwrap();
    assert_eq!(
        head.lines()
            .filter(|l| l.to_lowercase().starts_with("subject:"))
            .count(),
        1,
        "{head}"
    );
}

/// Found trying the desk as a new user: a tick's note silently dropped control characters and
/// saved; it is refused beside the note, with what was typed kept, and nothing is ticked.
#[tokio::test]
async fn a_control_character_in_a_ticks_note_is_refused_beside_the_note() {
    let o = crate::operations::ops().await;
    sqlx::query("UPDATE clients SET ad_products = '{google_ads}'")
        .execute(&o.c.app.db)
        .await
        .unwrap();
    let (id, task) = o.approved(o.c.client_id, &[("kind", "pause")]).await;
    o.act(task, "forward", &[("sem_specialist", &o.sem.to_string())])
        .await;
    let sem_task: i64 = sqlx::query_scalar("SELECT id FROM sem_tasks WHERE change_request_id = $1")
        .bind(id)
        .fetch_one(&o.c.app.db)
        .await
        .unwrap();
    let res =
        o.c.post(
            &o.sem_cookie,
            &format!("/sem-tasks/{sem_task}/done"),
            &[("note", "paused\u{1}all")],
        )
        .await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(page.contains("id=\"sem-note-error\""), "{page}");
    assert!(page.contains("Remove the control character"), "{page}");
    assert!(
        page.contains("value=\"paused\u{1}all\""),
        "what was typed is kept"
    );
    let done: bool = sqlx::query_scalar("SELECT done_at IS NOT NULL FROM sem_tasks WHERE id = $1")
        .bind(sem_task)
        .fetch_one(&o.c.app.db)
        .await
        .unwrap();
    assert!(!done);

    // A cancellation's checklist item, from its request page.
    let (id, _) = o.approved(o.c.client_id, &[]).await;
    let item: i64 = sqlx::query_scalar(
        "SELECT id FROM checklist_items WHERE change_request_id = $1 AND owner_role = 'ops_lead'
          ORDER BY position LIMIT 1",
    )
    .bind(id)
    .fetch_one(&o.c.app.db)
    .await
    .unwrap();
    let res =
        o.c.post(
            &o.ops_cookie,
            &format!("/checklist/{item}/done"),
            &[("note", "before\u{0}after")],
        )
        .await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(
        page.contains(&format!("id=\"note-{item}-error\"")),
        "{page}"
    );
    let done: bool =
        sqlx::query_scalar("SELECT done_at IS NOT NULL FROM checklist_items WHERE id = $1")
            .bind(item)
            .fetch_one(&o.c.app.db)
            .await
            .unwrap();
    assert!(!done);
}

/// Found trying the desk as a new user: the planner took a mistyped year without a word.
#[tokio::test]
async fn a_planner_date_far_from_today_is_asked_about_before_it_moves() {
    let o = crate::operations::ops().await;
    let (id, task) = o.approved(o.c.client_id, &[("kind", "pause")]).await;
    o.act(task, "planner", &[]).await;
    let entry: i64 =
        sqlx::query_scalar("SELECT id FROM planner_entries WHERE change_request_id = $1")
            .bind(id)
            .fetch_one(&o.c.app.db)
            .await
            .unwrap();
    let before: chrono::NaiveDate =
        sqlx::query_scalar("SELECT effective_date FROM change_requests WHERE id = $1")
            .bind(id)
            .fetch_one(&o.c.app.db)
            .await
            .unwrap();
    let res =
        o.c.post(
            &o.ops_cookie,
            &format!("/planner/{entry}"),
            &[
                ("effective_date", "2020-01-01"),
                ("resume_date", "2020-02-01"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(page.contains("January 1, 2020 is"), "{page}");
    assert!(
        page.contains(&format!("id=\"move-confirm-{entry}\"")),
        "{page}"
    );
    assert!(
        page.contains("value=\"2020-01-01\""),
        "what was typed is kept"
    );
    let now: chrono::NaiveDate =
        sqlx::query_scalar("SELECT effective_date FROM change_requests WHERE id = $1")
            .bind(id)
            .fetch_one(&o.c.app.db)
            .await
            .unwrap();
    assert_eq!(now, before, "nothing moved");
    // Ticked, but the resume date is wrong: the tick stays ticked while the date is fixed.
    let res =
        o.c.post(
            &o.ops_cookie,
            &format!("/planner/{entry}"),
            &[
                ("effective_date", "2020-01-01"),
                ("resume_date", "2019-01-01"),
                ("confirm_date", "yes"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(
        page.contains(&format!("id=\"move-confirm-{entry}\" checked")),
        "{page}"
    );
    let res =
        o.c.post(
            &o.ops_cookie,
            &format!("/planner/{entry}"),
            &[
                ("effective_date", "2020-01-01"),
                ("resume_date", "2020-02-01"),
                ("confirm_date", "yes"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let now: chrono::NaiveDate =
        sqlx::query_scalar("SELECT effective_date FROM change_requests WHERE id = $1")
            .bind(id)
            .fetch_one(&o.c.app.db)
            .await
            .unwrap();
    assert_eq!(now.to_string(), "2020-01-01", "confirmed, it moves");
}

/// Found trying the desk as a new user: an address or form the framework could not read
/// answered in its own plain-text words.
#[tokio::test]
async fn an_unreadable_address_or_form_answers_with_a_page_and_a_sentence() {
    let c = chain().await;
    for path in ["/clients?before=abc", "/clients?after=99999999999999999999"] {
        let res = client()
            .get(c.app.url(path))
            .header("cookie", &c.am_cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{path}");
        let ct = res.headers()["content-type"].to_str().unwrap().to_string();
        assert!(ct.starts_with("text/html"), "{path}: {ct}");
        let page = res.text().await.unwrap();
        assert!(
            page.contains("The desk could not read what was sent"),
            "{page}"
        );
        assert!(!page.contains("deserialize"), "{page}");
    }
    let id = c.file(&[]).await;
    let res = c
        .post(&c.am_cookie, &format!("/requests/{id}"), &[("version", "")])
        .await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("The desk could not read what was sent"),
        "{page}"
    );
}
