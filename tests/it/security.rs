//! Headers, cross-site protection, error pages and the database outage answer.

use offboarding_desk::auth::roles::Role;

use crate::support::{PASSWORD, TestApp, client, session_from};

fn assert_security_headers(res: &reqwest::Response, what: &str) {
    let h = res.headers();
    let csp = h
        .get("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no CSP"))
        .to_str()
        .unwrap();
    for part in [
        "default-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(part), "{what}: CSP lacks {part}: {csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    assert_eq!(
        h.get("x-content-type-options").unwrap(),
        "nosniff",
        "{what}"
    );
    assert!(
        h.get("referrer-policy").is_some(),
        "{what}: no Referrer-Policy"
    );
    assert!(h.get("x-request-id").is_some(), "{what}: no request id");
}

#[tokio::test]
async fn every_kind_of_response_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    let id = app.user("admin@agency.test", &[Role::Admin]).await;
    let cookie = app.session_cookie(id).await;
    let http = client();
    for (path, signed_in) in [
        ("/login", false),
        ("/", true),
        ("/admin/users", true),
        ("/no-such-page", true),
        ("/static/app.css", false),
        ("/healthz", false),
    ] {
        let mut req = http.get(app.url(path));
        if signed_in {
            req = req.header("cookie", &cookie);
        }
        let res = req.send().await.unwrap();
        assert_security_headers(&res, path);
    }
    let page = app.get(&cookie, "/").await;
    assert_eq!(page.headers().get("cache-control").unwrap(), "no-store");
}

#[tokio::test]
async fn pages_load_no_inline_script() {
    let app = TestApp::spawn().await;
    let id = app.user("admin@agency.test", &[Role::Admin]).await;
    let cookie = app.session_cookie(id).await;
    for path in [
        "/login",
        "/",
        "/admin/users",
        "/admin/users/new",
        &format!("/admin/users/{id}"),
        "/admin/audit",
    ] {
        let body = app.page(&cookie, path).await;
        for (i, _) in body.match_indices("<script") {
            let tag = &body[i..body[i..].find('>').map(|e| i + e).unwrap()];
            assert!(
                tag.contains("src=\"/static/"),
                "{path}: inline or foreign script {tag}"
            );
        }
        assert!(
            !body.contains(" onclick=") && !body.contains(" onsubmit="),
            "{path}: inline handler"
        );
        assert!(
            !body.contains("http://") && !body.contains("https://"),
            "{path}: links off site"
        );
    }
}

#[tokio::test]
async fn a_cross_site_post_is_refused_before_it_does_anything() {
    let app = TestApp::spawn().await;
    app.user("amy@agency.test", &[Role::Retention]).await;
    let http = client();
    let form = [("email", "amy@agency.test"), ("password", PASSWORD)];
    let by_fetch_metadata = http
        .post(app.url("/login"))
        .header("sec-fetch-site", "cross-site")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(by_fetch_metadata.status(), 403);
    assert!(session_from(&by_fetch_metadata).is_none());
    let by_origin = http
        .post(app.url("/login"))
        .header("origin", "https://evil.example")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(by_origin.status(), 403);
    assert_eq!(app.audit_count("auth.sign_in").await, 0);
    // The same form from the app's own pages works.
    let same = http
        .post(app.url("/login"))
        .header("sec-fetch-site", "same-origin")
        .header("origin", &app.base)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), 303);
}

#[tokio::test]
async fn nothing_changes_on_get() {
    let app = TestApp::spawn().await;
    let id = app.user("admin@agency.test", &[Role::Admin]).await;
    let cookie = app.session_cookie(id).await;
    for path in ["/logout", &format!("/admin/users/{id}/disable")] {
        let res = app.get(&cookie, path).await;
        assert!(
            matches!(res.status().as_u16(), 404 | 405),
            "GET {path}: {}",
            res.status()
        );
    }
    let disabled: bool =
        sqlx::query_scalar("SELECT disabled_at IS NOT NULL FROM users WHERE id = $1")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(!disabled);
    assert_eq!(app.get(&cookie, "/").await.status(), 200);
}

#[tokio::test]
async fn an_unknown_page_shows_a_friendly_404_with_the_request_id() {
    let app = TestApp::spawn().await;
    let res = client().get(app.url("/nowhere")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    let id = res
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let body = res.text().await.unwrap();
    assert!(body.contains("Page not found"));
    assert!(body.contains(&id), "the page quotes the request id");
}

#[tokio::test]
async fn without_its_database_the_app_answers_503_quickly_and_shows_no_database_message() {
    let app = TestApp::spawn().await;
    let id = app.user("admin@agency.test", &[Role::Admin]).await;
    let cookie = app.session_cookie(id).await;
    app.db.close().await;
    let started = std::time::Instant::now();
    let health = client().get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 503);
    let page = app.get(&cookie, "/").await;
    assert_eq!(page.status(), 503);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let body = page.text().await.unwrap();
    assert!(body.contains("Temporarily unavailable"));
    for leak in ["sqlx", "pool", "PoolClosed", "postgres"] {
        assert!(!body.contains(leak), "the page mentions {leak}");
    }
}

#[tokio::test]
async fn healthz_answers_200_while_the_database_answers() {
    let app = TestApp::spawn().await;
    let res = client().get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn static_files_are_served_and_vendored_not_linked() {
    let app = TestApp::spawn().await;
    for path in ["/static/vendor/pico-2.1.1.min.css", "/static/app.js"] {
        let res = client().get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn an_unexpected_failure_shows_a_500_page_with_the_request_id_and_no_detail() {
    use axum::Router;
    use axum::routing::get;
    use offboarding_desk::web::error::AppError;
    use tower::ServiceExt;

    let app = Router::new()
        .route(
            "/boom",
            get(|| async {
                AppError::Internal(anyhow::anyhow!("relation \"secret_table\" does not exist"))
            }),
        )
        .layer(axum::middleware::from_fn(
            offboarding_desk::web::middleware::render_errors,
        ));
    let res = app
        .oneshot(
            axum::http::Request::get("/boom")
                .header("x-request-id", "req-1234")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), 500);
    let body = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    let body = String::from_utf8(body.to_vec()).unwrap();
    assert!(body.contains("Something went wrong"));
    assert!(body.contains("req-1234"));
    assert!(!body.contains("secret_table"));
}
