//! Clients over HTTP: found by anyone at the agency, added and edited by admins and the Ops
//! Lead with messages beside each bad field, every change audited and kept in the history.

use offboarding_desk::auth::roles::Role;

use crate::support::{TestApp, client, location};

struct Desk {
    app: TestApp,
    am: i64,
    sem: i64,
    ops_cookie: String,
}

async fn desk() -> Desk {
    let app = TestApp::spawn().await;
    let am = app.user("am@agency.test", &[Role::AccountManager]).await;
    let sem = app.user("sem@agency.test", &[Role::SemSpecialist]).await;
    let ops = app.user("ops@agency.test", &[Role::OpsLead]).await;
    let ops_cookie = app.session_cookie(ops).await;
    Desk {
        app,
        am,
        sem,
        ops_cookie,
    }
}

impl Desk {
    async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.app.post(&self.ops_cookie, path, form).await
    }

    async fn page(&self, path: &str, cookie: &str) -> String {
        self.app.page(cookie, path).await
    }

    async fn add(&self, name: &str, crm: &str) -> reqwest::Response {
        let (am, sem) = (self.am.to_string(), self.sem.to_string());
        self.post(
            "/clients",
            &[
                ("name", name),
                ("crm_account_id", crm),
                ("account_manager_id", &am),
                ("sem_specialist_id", &sem),
                ("monthly_budget", "$4,500.50"),
                ("ad_products", "google_ads"),
                ("ad_products", "facebook"),
                ("status", "active"),
            ],
        )
        .await
    }
}

#[tokio::test]
async fn the_ops_lead_adds_a_client_and_its_page_shows_everything_about_it() {
    let d = desk().await;
    let res = d.add("Lakeside RV Center", "CRM-10231").await;
    assert_eq!(res.status(), 303);
    let (id, budget, products): (i64, i64, Vec<String>) =
        sqlx::query_as("SELECT id, monthly_budget_cents, ad_products FROM clients")
            .fetch_one(&d.app.db)
            .await
            .unwrap();
    assert_eq!(location(&res), format!("/clients/{id}"));
    assert_eq!(budget, 450_050, "dollars and cents stored exactly");
    assert_eq!(products, vec!["google_ads", "facebook"]);
    let am_cookie = d.app.session_cookie(d.am).await;
    let page = d.page(&format!("/clients/{id}"), &am_cookie).await;
    for text in [
        "Lakeside RV Center",
        "CRM-10231",
        "Test am",
        "Test sem",
        "$4,500.50",
        "Google Ads, Facebook",
        "Active",
        "Client added",
    ] {
        assert!(page.contains(text), "client page lacks {text}");
    }
    assert!(
        !page.contains("id=\"edit-client\""),
        "an account manager cannot edit"
    );
    assert_eq!(d.app.audit_count("client.created").await, 1);
}

#[tokio::test]
async fn bad_client_input_is_answered_beside_each_field_and_saves_nothing() {
    let d = desk().await;
    let res = d
        .post(
            "/clients",
            &[
                ("name", ""),
                ("crm_account_id", "CRM 1"),
                ("account_manager_id", &d.sem.to_string()),
                ("monthly_budget", "12.345"),
                ("ad_products", "myspace"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.unwrap();
    for field in [
        "name",
        "crm_account_id",
        "account_manager_id",
        "monthly_budget",
        "ad_products",
    ] {
        assert!(
            body.contains(&format!("id=\"{field}-error\"")),
            "no message for {field}"
        );
    }
    assert!(body.contains("value=\"12.345\""), "typed budget kept");
    assert!(body.contains("value=\"CRM 1\""));
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM clients")
        .fetch_one(&d.app.db)
        .await
        .unwrap();
    assert_eq!(count, 0);

    d.add("Lakeside RV Center", "CRM-10231").await;
    let twin = d.add("Another Lakeside", "CRM-10231").await;
    assert_eq!(twin.status(), 422);
    assert!(
        twin.text()
            .await
            .unwrap()
            .contains("Another client already has this account id.")
    );
}

#[tokio::test]
async fn an_edit_is_audited_a_status_change_enters_the_history_and_a_stale_form_changes_nothing() {
    let d = desk().await;
    d.add("Summit Powersports", "CRM-10244").await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM clients")
        .fetch_one(&d.app.db)
        .await
        .unwrap();
    let (am, sem) = (d.am.to_string(), d.sem.to_string());
    let edit = |name: &'static str, status: &'static str, version: &'static str| {
        let (am, sem) = (am.clone(), sem.clone());
        let path = format!("/clients/{id}");
        let d = &d;
        async move {
            d.post(
                &path,
                &[
                    ("name", name),
                    ("crm_account_id", "CRM-10244"),
                    ("account_manager_id", &am),
                    ("sem_specialist_id", &sem),
                    ("monthly_budget", "2750"),
                    ("ad_products", "google_ads"),
                    ("status", status),
                    ("version", version),
                ],
            )
            .await
        }
    };
    assert_eq!(
        edit("Summit Powersports LLC", "paused", "1").await.status(),
        303
    );
    let stale = edit("Summit Again", "active", "1").await;
    assert_eq!(stale.status(), 422);
    let body = stale.text().await.unwrap();
    assert!(
        body.contains("Someone else changed this client")
            && body.contains("value=\"Summit Again\"")
    );
    let (name, status): (String, String) = sqlx::query_as("SELECT name, status FROM clients")
        .fetch_one(&d.app.db)
        .await
        .unwrap();
    assert_eq!(
        (name.as_str(), status.as_str()),
        ("Summit Powersports LLC", "paused")
    );
    let history: Vec<(String, i64)> = sqlx::query_as(
        "SELECT status, monthly_budget_cents FROM client_status_history ORDER BY id",
    )
    .fetch_all(&d.app.db)
    .await
    .unwrap();
    assert_eq!(
        history,
        vec![("active".into(), 450_050), ("paused".into(), 275_000)]
    );
    let changes: serde_json::Value = sqlx::query_scalar(
        "SELECT details->'changes' FROM audit_events WHERE action = 'client.updated'",
    )
    .fetch_one(&d.app.db)
    .await
    .unwrap();
    assert_eq!(changes["status"], serde_json::json!(["active", "paused"]));
    assert_eq!(
        changes["ad_products"],
        serde_json::json!([["google_ads", "facebook"], ["google_ads"]])
    );
}

#[tokio::test]
async fn clients_are_found_by_name_or_account_id_a_page_at_a_time() {
    let d = desk().await;
    for i in 0..30 {
        sqlx::query("INSERT INTO clients (name, crm_account_id) VALUES ($1, $2)")
            .bind(format!("Dealer {i:02}"))
            .bind(format!("CRM-{:05}", 20_000 + i))
            .execute(&d.app.db)
            .await
            .unwrap();
    }
    let sem_cookie = d.app.session_cookie(d.sem).await;
    let first = d.page("/clients", &sem_cookie).await;
    assert!(
        first.contains("Dealer 00")
            && !first.contains("Dealer 29")
            && first.contains("id=\"page-after\"")
    );
    // The next page starts after the last line shown, and leads back.
    let last = first
        .rsplit("<td><a href=\"/clients/")
        .next()
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    let second = d
        .page(&format!("/clients?before={last}"), &sem_cookie)
        .await;
    assert!(second.contains("Dealer 29") && !second.contains("Dealer 00"));
    assert!(second.contains("id=\"page-before\"") && !second.contains("id=\"page-after\""));
    let by_name = d.page("/clients?q=dealer%2007", &sem_cookie).await;
    assert!(by_name.contains("Dealer 07") && !by_name.contains("Dealer 08"));
    let by_id = d.page("/clients?q=20011", &sem_cookie).await;
    assert!(by_id.contains("Dealer 11") && !by_id.contains("Dealer 12"));
    assert!(
        d.page("/clients?q=nobody", &sem_cookie)
            .await
            .contains("No clients match.")
    );
    let missing = client()
        .get(d.app.url("/clients/999999"))
        .header("cookie", &sem_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

async fn upload(d: &Desk, name: &str, content: &str) -> reqwest::Response {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(content.as_bytes().to_vec()).file_name(name.to_string()),
    );
    client()
        .post(d.app.url("/clients/import"))
        .header("cookie", &d.ops_cookie)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_crm_export_is_previewed_row_by_row_then_imported_in_one_go() {
    let d = desk().await;
    d.add("Lakeside RV Center", "CRM-10231").await;
    let csv = "Client Name,Account ID,Account Manager,SEM Specialist,Monthly Budget,Ad Products,Status\n\
               Summit Powersports,CRM-10244,am@agency.test,sem@agency.test,\"2,750.00\",Google Ads; Facebook,active\n\
               Lakeside RV Center,CRM-10231,,,5000,,\n\
               Bayou Boats,CRM-10302,nobody@agency.test,,abc,,\n";
    let res = upload(&d, "crm-export.csv", csv).await;
    assert_eq!(res.status(), 303);
    let preview_path = location(&res);
    let preview = d.page(&preview_path, &d.ops_cookie).await;
    assert!(
        preview.contains("1 to add, 1 to update, 1 refused."),
        "{preview}"
    );
    assert!(preview.contains("nobody@agency.test is not an active account manager"));
    assert!(preview.contains("Changes: monthly budget"));
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM clients")
        .fetch_one(&d.app.db)
        .await
        .unwrap();
    assert_eq!(before, 1, "the preview changes nothing");

    let applied = d.post(&preview_path, &[]).await;
    assert_eq!(applied.status(), 303);
    let clients: Vec<(String, i64)> = sqlx::query_as(
        "SELECT crm_account_id, monthly_budget_cents FROM clients ORDER BY crm_account_id",
    )
    .fetch_all(&d.app.db)
    .await
    .unwrap();
    assert_eq!(
        clients,
        vec![("CRM-10231".into(), 500_000), ("CRM-10244".into(), 275_000)]
    );
    // Confirming twice (a double click, a replayed form) imports nothing more.
    d.post(&preview_path, &[]).await;
    assert_eq!(d.app.audit_count("client_import.applied").await, 1);
    let history: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM client_status_history WHERE note = 'Imported from CSV'",
    )
    .fetch_one(&d.app.db)
    .await
    .unwrap();
    assert_eq!(history, 2);
}

#[tokio::test]
async fn a_file_that_is_not_a_client_list_is_refused_with_a_reason() {
    let d = desk().await;
    for (content, message) in [
        ("budget,owner\n5,x\n", "no client name column"),
        ("", "Choose a CSV file"),
    ] {
        let res = upload(&d, "list.csv", content).await;
        assert_eq!(res.status(), 422);
        assert!(res.text().await.unwrap().contains(message), "{message}");
    }
    let binary = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(vec![0xff, 0xfe, 0x00, 0x41]).file_name("list.csv"),
    );
    let res = client()
        .post(d.app.url("/clients/import"))
        .header("cookie", &d.ops_cookie)
        .multipart(binary)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("not text"));
    let uploads: i64 = sqlx::query_scalar("SELECT count(*) FROM client_imports")
        .fetch_one(&d.app.db)
        .await
        .unwrap();
    assert_eq!(uploads, 0);
}
