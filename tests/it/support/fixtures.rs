//! Worlds other test files start from: the approval chain's cast with a client (`chain`), a
//! client (`new_client`), and a request approved over HTTP on the demo data
//! (`approved_request`).

use offboarding_desk::auth::roles::Role;

use super::{TestApp, location};

pub struct Chain {
    pub app: TestApp,
    pub client_id: i64,
    pub am: i64,
    pub am_cookie: String,
    pub retention_cookie: String,
    pub jeremy: i64,
    pub jeremy_cookie: String,
    pub dustin_cookie: String,
    pub finance_cookie: String,
    pub accounting_cookie: String,
}

pub async fn chain() -> Chain {
    chain_with(|_| {}).await
}

/// As [`chain`], on an app whose configuration `adjust` changes first.
pub async fn chain_with(adjust: impl FnOnce(&mut offboarding_desk::config::Config)) -> Chain {
    let app = TestApp::spawn_with(adjust).await;
    let am = app.user("am@agency.test", &[Role::AccountManager]).await;
    let amy = app.user("amy@agency.test", &[Role::Retention]).await;
    let jeremy = app.user("jeremy@agency.test", &[Role::Approver]).await;
    let dustin = app.user("dustin@agency.test", &[Role::Approver]).await;
    let finance = app.user("fin1@agency.test", &[Role::Finance]).await;
    app.user("fin2@agency.test", &[Role::Finance]).await;
    let accounting = app.user("acct@agency.test", &[Role::Accounting]).await;
    for (position, user) in [(1, jeremy), (2, dustin)] {
        sqlx::query("UPDATE approval_chain_steps SET approver_user_id = $2 WHERE position = $1")
            .bind(position)
            .bind(user)
            .execute(&app.db)
            .await
            .unwrap();
    }
    sqlx::query("INSERT INTO distribution_list (email, name) VALUES ('ops@agency.test', 'Ops'), ('lead@agency.test', 'Lead')")
        .execute(&app.db)
        .await
        .unwrap();
    let client_id = new_client(&app, am, "Lakeside RV Center").await;
    Chain {
        am_cookie: app.session_cookie(am).await,
        retention_cookie: app.session_cookie(amy).await,
        jeremy_cookie: app.session_cookie(jeremy).await,
        dustin_cookie: app.session_cookie(dustin).await,
        finance_cookie: app.session_cookie(finance).await,
        accounting_cookie: app.session_cookie(accounting).await,
        app,
        client_id,
        am,
        jeremy,
    }
}

pub async fn new_client(app: &TestApp, am: i64, name: &str) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO clients (name, crm_account_id, account_manager_id, monthly_budget_cents)
         VALUES ($1, 'CRM-' || md5($1), $2, 450000) RETURNING id",
    )
    .bind(name)
    .bind(am)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

impl Chain {
    pub async fn post(&self, cookie: &str, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.app.post(cookie, path, form).await
    }

    pub async fn page(&self, cookie: &str, path: &str) -> String {
        self.app.page(cookie, path).await
    }

    /// Files a request for `client` and returns its id.
    pub async fn file_for(&self, client_id: i64, extra: &[(&str, &str)]) -> i64 {
        let reason: i64 =
            sqlx::query_scalar("SELECT id FROM change_reasons ORDER BY position LIMIT 1")
                .fetch_one(&self.app.db)
                .await
                .unwrap();
        let date = (chrono::Utc::now().date_naive() + chrono::Duration::days(30)).to_string();
        let reason = reason.to_string();
        let mut form: Vec<(&str, &str)> = vec![
            ("kind", "cancellation"),
            ("cancel_scope", "services_only"),
            ("effective_date", &date),
            ("reason_id", &reason),
            ("product_notes", "Pause Google Ads"),
            ("escalation", "none"),
        ];
        for (k, v) in extra {
            form.retain(|(key, _)| key != k);
            form.push((k, v));
        }
        let res = self
            .post(
                &self.am_cookie,
                &format!("/clients/{client_id}/requests"),
                &form,
            )
            .await;
        assert_eq!(res.status(), 303);
        location(&res)
            .trim_start_matches("/requests/")
            .parse()
            .unwrap()
    }

    pub async fn file(&self, extra: &[(&str, &str)]) -> i64 {
        self.file_for(self.client_id, extra).await
    }

    /// Files a reinstatement of approved request `original` as the account manager; returns
    /// its id.
    pub async fn reinstate(&self, original: i64, reason: &str) -> i64 {
        let res = self
            .post(
                &self.am_cookie,
                &format!("/requests/{original}/reinstate"),
                &[("reason", reason)],
            )
            .await;
        assert_eq!(res.status(), 303, "the reinstatement is filed");
        location(&res)
            .trim_start_matches("/requests/")
            .parse()
            .unwrap()
    }

    pub async fn submit(&self, cookie: &str, id: i64) -> String {
        let res = self
            .post(cookie, &format!("/requests/{id}/submit"), &[])
            .await;
        assert_eq!(res.status(), 303);
        self.flash(cookie, id).await
    }

    /// The message the next page shows.
    pub async fn flash(&self, cookie: &str, id: i64) -> String {
        crate::support::flash(&self.page(cookie, &format!("/requests/{id}")).await)
    }

    pub async fn state(&self, id: i64) -> String {
        sqlx::query_scalar("SELECT state FROM change_requests WHERE id = $1")
            .bind(id)
            .fetch_one(&self.app.db)
            .await
            .unwrap()
    }

    /// The current round's steps: (name, state).
    pub async fn steps(&self, id: i64) -> Vec<(String, String)> {
        sqlx::query_as(
            "SELECT s.name, s.state FROM request_approvals s JOIN change_requests r
                 ON r.id = s.change_request_id AND r.approval_round = s.round
              WHERE r.id = $1 ORDER BY s.position",
        )
        .bind(id)
        .fetch_all(&self.app.db)
        .await
        .unwrap()
    }

    pub async fn pending_step(&self, id: i64) -> i64 {
        sqlx::query_scalar(
            "SELECT id FROM request_approvals WHERE change_request_id = $1 AND state = 'pending'",
        )
        .bind(id)
        .fetch_one(&self.app.db)
        .await
        .unwrap()
    }

    pub async fn decide(&self, cookie: &str, step: i64, action: &str, comment: &str) -> u16 {
        self.post(
            cookie,
            &format!("/approvals/{step}/{action}"),
            &[("comment", comment)],
        )
        .await
        .status()
        .as_u16()
    }

    /// (kind, recipients) of every email about request `id`, oldest first.
    pub async fn mail(&self, id: i64) -> Vec<(String, Vec<String>)> {
        sqlx::query_as(
            "SELECT kind, to_addrs FROM outbox_messages WHERE related_id = $1 ORDER BY id",
        )
        .bind(id.to_string())
        .fetch_all(&self.app.db)
        .await
        .unwrap()
    }
}

/// A request for `client` filed with `fields`, submitted and approved over HTTP, as its people
/// would; returns its id.
pub async fn approved_request(app: &TestApp, client: &str, fields: &[(&str, &str)]) -> i64 {
    let http = crate::support::client();
    let am = app.cookie_for("am@demo.test").await;
    let client_id: i64 = sqlx::query_scalar("SELECT id FROM clients WHERE name = $1")
        .bind(client)
        .fetch_one(&app.db)
        .await
        .unwrap();
    let reason: i64 = sqlx::query_scalar("SELECT id FROM change_reasons ORDER BY position LIMIT 1")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let reason = reason.to_string();
    let mut form: Vec<(&str, &str)> = vec![("reason_id", reason.as_str()), ("escalation", "none")];
    form.extend_from_slice(fields);
    let res = http
        .post(app.url(&format!("/clients/{client_id}/requests")))
        .header("cookie", &am)
        .form(&form)
        .send()
        .await
        .unwrap();
    let id: i64 = location(&res)
        .trim_start_matches("/requests/")
        .parse()
        .unwrap();
    http.post(app.url(&format!("/requests/{id}/submit")))
        .header("cookie", &am)
        .send()
        .await
        .unwrap();
    for approver in ["approver1@demo.test", "approver2@demo.test"] {
        let step: i64 = sqlx::query_scalar(
            "SELECT id FROM request_approvals WHERE change_request_id = $1 AND state = 'pending'",
        )
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap();
        http.post(app.url(&format!("/approvals/{step}/approve")))
            .header("cookie", app.cookie_for(approver).await)
            .form(&[("comment", "")])
            .send()
            .await
            .unwrap();
    }
    let state: String = sqlx::query_scalar("SELECT state FROM change_requests WHERE id = $1")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(state, "approved");
    id
}
