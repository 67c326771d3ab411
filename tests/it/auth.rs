//! Signing in and out, sessions and throttling, over HTTP against a real server.

use offboarding_desk::auth::roles::Role;

use crate::support::{PASSWORD, TestApp, client, location, session_from};

async fn sign_in(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    client()
        .post(app.url("/login"))
        .form(&[("email", email), ("password", password), ("next", "")])
        .send()
        .await
        .unwrap()
}

async fn home_status(app: &TestApp, secret: &str) -> (u16, String) {
    let res = app.get(&format!("od_session={secret}"), "/").await;
    (res.status().as_u16(), location(&res))
}

#[tokio::test]
async fn a_person_signs_in_with_the_right_password_and_gets_a_protected_cookie() {
    let app = TestApp::spawn().await;
    let id = app.user("amy@agency.test", &[Role::Retention]).await;
    let res = sign_in(&app, "AMY@agency.test ", PASSWORD).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/");
    let cookie = res
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain http gets no Secure flag: {cookie}"
    );
    let secret = session_from(&res).unwrap();
    assert_eq!(secret.len(), 64);
    let (status, _) = home_status(&app, &secret).await;
    assert_eq!(status, 200);
    let (actor,): (Option<i64>,) =
        sqlx::query_as("SELECT actor_id FROM audit_events WHERE action = 'auth.sign_in'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(actor, Some(id));
    // Only a digest of the secret is stored.
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions WHERE id_hash = $1")
        .bind(secret.as_bytes())
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(stored, 0);
}

#[tokio::test]
async fn the_cookie_is_secure_and_host_bound_when_served_over_https() {
    let app = TestApp::spawn_with(|c| c.base_url = "https://desk.agency.test".into()).await;
    app.user("amy@agency.test", &[Role::Retention]).await;
    let res = sign_in(&app, "amy@agency.test", PASSWORD).await;
    assert_eq!(res.status(), 303);
    let cookie = res.headers().get("set-cookie").unwrap().to_str().unwrap();
    assert!(cookie.starts_with("__Host-od_session="), "{cookie}");
    assert!(cookie.contains("; Secure"), "{cookie}");
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer_and_keep_the_email() {
    let app = TestApp::spawn().await;
    app.user("amy@agency.test", &[Role::Retention]).await;
    let wrong = sign_in(&app, "amy@agency.test", "not the password").await;
    let status = wrong.status();
    assert!(session_from(&wrong).is_none());
    let wrong = wrong.text().await.unwrap();
    assert_eq!(status, 401, "{wrong}");
    let unknown = sign_in(&app, "nobody@agency.test", "not the password").await;
    assert_eq!(unknown.status(), 401);
    let unknown = unknown.text().await.unwrap();
    let message = "That email and password do not match an active account.";
    assert!(wrong.contains(message) && unknown.contains(message));
    assert!(wrong.contains("value=\"amy@agency.test\""));
    assert!(unknown.contains("value=\"nobody@agency.test\""));
    assert_eq!(app.audit_count("auth.sign_in_failed").await, 2);
}

#[tokio::test]
async fn the_session_id_is_new_at_every_sign_in() {
    let app = TestApp::spawn().await;
    app.user("amy@agency.test", &[Role::Retention]).await;
    let first = session_from(&sign_in(&app, "amy@agency.test", PASSWORD).await).unwrap();
    // Signing in again while holding a session (a fixated cookie, say) never reuses it.
    let res = client()
        .post(app.url("/login"))
        .header("cookie", format!("od_session={first}"))
        .form(&[("email", "amy@agency.test"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let second = session_from(&res).unwrap();
    assert_ne!(first, second);
    let (status, _) = home_status(&app, &first).await;
    assert_eq!(
        status, 303,
        "the session held before signing in again is over"
    );
    let planted = session_from(
        &client()
            .post(app.url("/login"))
            .header("cookie", "od_session=attacker-chosen")
            .form(&[("email", "amy@agency.test"), ("password", PASSWORD)])
            .send()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_ne!(planted, "attacker-chosen");
}

#[tokio::test]
async fn a_disabled_person_cannot_sign_in() {
    let app = TestApp::spawn().await;
    app.user("gone@agency.test", &[Role::AccountManager]).await;
    sqlx::query("UPDATE users SET disabled_at = now()")
        .execute(&app.db)
        .await
        .unwrap();
    let res = sign_in(&app, "gone@agency.test", PASSWORD).await;
    assert_eq!(res.status(), 401);
    assert!(session_from(&res).is_none());
    let reason: String = sqlx::query_scalar(
        "SELECT details->>'reason' FROM audit_events WHERE action = 'auth.sign_in_failed'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(reason, "disabled");
}

#[tokio::test]
async fn repeated_failures_pause_sign_in_for_that_email_whether_or_not_it_exists() {
    let app = TestApp::spawn().await;
    app.user("amy@agency.test", &[Role::Retention]).await;
    for email in ["amy@agency.test", "ghost@agency.test"] {
        for _ in 0..5 {
            assert_eq!(sign_in(&app, email, "guess").await.status(), 401);
        }
        let res = sign_in(&app, email, PASSWORD).await;
        assert_eq!(res.status(), 401);
        assert!(
            session_from(&res).is_none(),
            "{email} signed in while throttled"
        );
        assert!(
            res.text()
                .await
                .unwrap()
                .contains("Too many failed attempts")
        );
    }
    // Another account from the same address is not yet affected.
    app.user("anglee@agency.test", &[Role::Retention]).await;
    assert_eq!(
        sign_in(&app, "anglee@agency.test", PASSWORD).await.status(),
        303
    );
    assert_eq!(app.audit_count("auth.sign_in_throttled").await, 2);
}

#[tokio::test]
async fn repeated_failures_from_one_address_pause_sign_in_from_it() {
    let app = TestApp::spawn().await;
    app.user("amy@agency.test", &[Role::Retention]).await;
    for i in 0..30 {
        sign_in(&app, &format!("guess{i}@agency.test"), "guess").await;
    }
    let res = sign_in(&app, "amy@agency.test", PASSWORD).await;
    assert!(session_from(&res).is_none());
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Too many failed attempts")
    );
}

#[tokio::test]
async fn signing_out_ends_the_session_on_the_server() {
    let app = TestApp::spawn().await;
    app.user("amy@agency.test", &[Role::Retention]).await;
    let secret = session_from(&sign_in(&app, "amy@agency.test", PASSWORD).await).unwrap();
    let res = client()
        .post(app.url("/logout"))
        .header("cookie", format!("od_session={secret}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login?signed_out=1");
    assert!(
        res.headers()
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    // The old cookie, replayed, opens nothing; the sign-in page says the session ended.
    assert_eq!(
        home_status(&app, &secret).await,
        (303, "/login?expired=1".into())
    );
    let login = app.page("", "/login?expired=1").await;
    assert!(login.contains("Your session ended. Sign in again to continue."));
    // And the browser forgets it, so that it is said once, not at every visit after.
    let res = client()
        .get(app.url("/requests"))
        .header("cookie", format!("od_session={secret}"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), "/login?expired=1&next=/requests");
    // A form sent with it comes back to the page it was sent from, when that page is the
    // desk's own; a page elsewhere is not a way back.
    let host = app.url("").trim_start_matches("http://").to_string();
    for (referer, to) in [
        (
            app.url("/requests/7?tab=1"),
            "/login?expired=1&next=/requests/7%3Ftab%3D1",
        ),
        (
            "https://elsewhere.test/requests/7".to_string(),
            "/login?expired=1",
        ),
        (
            format!("http://{host}//elsewhere.test/x"),
            "/login?expired=1",
        ),
    ] {
        let res = client()
            .post(app.url("/requests/7/comments"))
            .header("cookie", format!("od_session={secret}"))
            .header("referer", &referer)
            .form(&[("body", "Typed before the session ended")])
            .send()
            .await
            .unwrap();
        assert_eq!(location(&res), to, "{referer}");
    }
    let cleared: Vec<&str> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert!(
        cleared
            .iter()
            .any(|c| c.starts_with("od_session=;") && c.contains("Max-Age=0")),
        "{cleared:?}"
    );
    // An error page (here a calendar address that names no feed) still clears it.
    let res = client()
        .get(app.url("/calendar/not-a-feed.ics"))
        .header("cookie", format!("od_session={secret}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let cleared = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|v| v.to_str().unwrap().starts_with("od_session=;"));
    assert!(cleared, "{:?}", res.headers());
    assert_eq!(app.audit_count("auth.sign_out").await, 1);
}

#[tokio::test]
async fn sessions_end_after_the_idle_and_the_absolute_limits() {
    let app = TestApp::spawn().await;
    let id = app.user("amy@agency.test", &[Role::Retention]).await;
    let idle = app.session_cookie(id).await;
    let absolute = app.session_cookie(id).await;
    let fresh = app.session_cookie(id).await;
    let secret = |c: &str| c.trim_start_matches("od_session=").to_string();
    let digest = |c: &str| offboarding_desk::auth::token::digest(&secret(c));
    // Each in use first, so the app keeps it in memory: the limits below must still end it.
    for c in [&idle, &absolute, &fresh] {
        assert_eq!(home_status(&app, &secret(c)).await.0, 200);
    }
    sqlx::query(
        "UPDATE sessions SET last_seen_at = now() - interval '31 minutes' WHERE id_hash = $1",
    )
    .bind(digest(&idle))
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE sessions SET absolute_expires_at = now() - interval '1 second' WHERE id_hash = $1",
    )
    .bind(digest(&absolute))
    .execute(&app.db)
    .await
    .unwrap();
    app.sessions_synced().await;
    assert_eq!(home_status(&app, &secret(&idle)).await.0, 303);
    assert_eq!(home_status(&app, &secret(&absolute)).await.0, 303);
    assert_eq!(home_status(&app, &secret(&fresh)).await.0, 200);
    let purged =
        offboarding_desk::auth::session::purge_expired(&app.db, app.state.config.session_idle)
            .await
            .unwrap();
    assert_eq!(purged, 2);
}

#[tokio::test]
async fn after_sign_in_a_person_returns_to_the_page_they_asked_for_but_never_off_site() {
    let app = TestApp::spawn().await;
    app.user("admin@agency.test", &[Role::Admin]).await;
    let res = client()
        .get(app.url("/admin/users?page=2"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), "/login?next=/admin/users%3Fpage%3D2");
    let login_page = client()
        .get(app.url("/login?next=/admin/users%3Fpage%3D2"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        login_page.contains("name=\"next\" value=\"/admin/users?page=2\""),
        "{login_page}"
    );
    for (next, expected) in [
        ("/admin/users?page=2", "/admin/users?page=2"),
        ("//evil.example/x", "/"),
        ("https://evil.example", "/"),
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
        assert_eq!(location(&res), expected, "next={next}");
    }
}

#[tokio::test]
async fn the_sign_in_page_lists_demo_accounts_only_in_demo_mode() {
    let app = TestApp::spawn().await;
    let page = client()
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("name=\"email\"") && page.contains("name=\"password\""));
    assert!(!page.contains("am@demo.test"));
    let demo = TestApp::spawn_with(|c| c.demo = true).await;
    let page = client()
        .get(demo.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for account in offboarding_desk::demo::ACCOUNTS {
        assert!(page.contains(account.email), "{} not listed", account.email);
    }
    assert!(page.contains("offboarding-demo"));
}
