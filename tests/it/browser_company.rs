//! Signing in with the company account, in Chromium, through a real OpenID provider
//! (`oidc-provider` on Node, tests/oidc/provider.mjs): the redirect, the provider's sign-in
//! page, the callback, landing on the person's desk; and each bad callback refused with a
//! clear page and on the record while passwords still work.

use offboarding_desk::auth::roles::Role;
use thirtyfour::prelude::*;

use crate::support::browser::{self, Browser};
use crate::support::oidc::{self, DOMAIN, PROVIDER_NAME, TestProvider};
use crate::support::{PASSWORD, TestApp};

/// An app whose company sign-in is the test provider, the provider, and a browser.
async fn company_app(test: &str) -> Option<(TestApp, TestProvider, Browser)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let idp = oidc::start(test, &base, 0, "key-1").await?;
    let b = browser::start(test).await?;
    let config = idp.config();
    let app = TestApp::spawn_on_listener(listener, move |c| c.company = Some(config)).await;
    Some((app, idp, b))
}

/// Waits (up to 10 s) until the browser is back at the desk.
async fn back_at_desk(b: &Browser, app: &TestApp) {
    for _ in 0..100 {
        if b.driver
            .current_url()
            .await
            .is_ok_and(|u| u.as_str().starts_with(&format!("{}/", app.base)))
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("never came back to the desk from the provider");
}

/// From the desk's sign-in page, "Sign in with …", then the provider's own sign-in page with
/// `login` (an email and the test provider's words), back at the desk. The browser forgets
/// every cookie first (the desk's and the provider's: one host), so the provider asks again.
async fn sign_in_with_company(b: &Browser, app: &TestApp, login: &str) {
    b.driver.goto(format!("{}/login", app.base)).await.unwrap();
    b.driver.delete_all_cookies().await.unwrap();
    b.driver.goto(format!("{}/login", app.base)).await.unwrap();
    assert_eq!(
        b.text("#sign-in-company").await,
        format!("Sign in with {PROVIDER_NAME}")
    );
    b.click("#sign-in-company").await;
    provider_page(b, login).await;
    back_at_desk(b, app).await;
}

/// Fills the provider's sign-in page (any password opens it).
async fn provider_page(b: &Browser, login: &str) {
    b.find("input[name=login]")
        .await
        .send_keys(login)
        .await
        .unwrap();
    b.find("input[name=password]")
        .await
        .send_keys("anything")
        .await
        .unwrap();
    b.click("button[type=submit]").await;
}

async fn refusal_reasons(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT details->>'reason' FROM audit_events
          WHERE action = 'auth.sign_in_failed' AND details->>'method' = 'company' ORDER BY id",
    )
    .fetch_all(&app.db)
    .await
    .unwrap()
}

async fn roles_of(app: &TestApp, email: &str) -> (Vec<String>, Vec<String>) {
    sqlx::query_as("SELECT roles, idp_roles FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_person_signs_in_with_the_company_account_and_lands_on_their_desk() {
    let test = "a_person_signs_in_with_the_company_account_and_lands_on_their_desk";
    let Some((app, idp, b)) = company_app(test).await else {
        return;
    };
    let pat = format!("pat@{DOMAIN}");
    let pat_id = app.user(&pat, &[Role::AccountManager]).await;
    let admin = format!("ada@{DOMAIN}");
    app.user(&admin, &[Role::Admin]).await;

    // The redirect, the provider's page, the callback, the person's own desk; the groups
    // grant Finance beside the admin's Account manager.
    sign_in_with_company(&b, &app, &format!("{pat} groups=sem-finance,unmapped")).await;
    assert_eq!(b.path().await, "/");
    assert_eq!(b.text("[data-testid=signed-in-as]").await, "Test pat");
    assert!(
        b.find("section[data-role=\"account_manager\"]")
            .await
            .is_present()
            .await
            .unwrap()
    );
    assert_eq!(
        roles_of(&app, &pat).await,
        (
            vec!["account_manager".to_string(), "finance".to_string()],
            vec!["finance".to_string()]
        )
    );
    let method: String = sqlx::query_scalar(
        "SELECT details->>'method' FROM audit_events WHERE action = 'auth.sign_in' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(method, "company");

    // Without the group, the provider's Finance goes.
    sign_in_with_company(&b, &app, &pat).await;
    assert_eq!(
        roles_of(&app, &pat).await,
        (vec!["account_manager".to_string()], vec![])
    );
    // A role the admin grants that a group grants too stays the admin's when the group goes.
    sqlx::query("UPDATE users SET roles = '{account_manager,finance}' WHERE id = $1")
        .bind(pat_id)
        .execute(&app.db)
        .await
        .unwrap();
    sign_in_with_company(&b, &app, &format!("{pat} groups=sem-finance")).await;
    assert_eq!(
        roles_of(&app, &pat).await,
        (
            vec!["account_manager".to_string(), "finance".to_string()],
            vec![]
        ),
        "Finance granted by the admin before the group is not the provider's"
    );
    sign_in_with_company(&b, &app, &pat).await;
    assert_eq!(
        roles_of(&app, &pat).await.0,
        ["account_manager", "finance"],
        "without the group, the admin's Finance stays"
    );
    sqlx::query("UPDATE users SET roles = '{account_manager}' WHERE id = $1")
        .bind(pat_id)
        .execute(&app.db)
        .await
        .unwrap();
    sign_in_with_company(&b, &app, &format!("{pat} groups=sem-finance")).await;

    // The same callback again is refused (its `state` was used), and says so.
    let replay = reqwest::get(format!("http://127.0.0.1:{}/test/last-callback", idp.port))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(replay.starts_with(&format!("{}/auth/company/callback?", app.base)));
    b.driver.goto(&replay).await.unwrap();
    assert!(
        b.text("#company-refused")
            .await
            .contains("already used, is more than ten minutes old")
    );

    // Sign-out ends the desk's session and offers the provider's; the provider's sign-out
    // comes back to the desk's sign-in page.
    b.driver.goto(format!("{}/", app.base)).await.unwrap();
    b.click("#sign-out").await;
    assert!(
        b.text("#provider-sign-out")
            .await
            .contains(&format!("Sign out of {PROVIDER_NAME} too"))
    );
    b.click("#provider-sign-out a").await;
    b.click("button[autofocus], form button").await;
    back_at_desk(&b, &app).await;
    assert_eq!(b.path().await, "/login");
    assert!(
        b.text("[role=status]")
            .await
            .contains("You are signed out.")
    );

    // Without the group, the group's role goes; the admin's stays.
    sign_in_with_company(&b, &app, &pat).await;
    assert_eq!(b.path().await, "/");
    assert_eq!(
        roles_of(&app, &pat).await,
        (vec!["account_manager".to_string()], vec![])
    );

    // The provider rotates its keys (a new key, a new id): the desk reads them again.
    let port = idp.port;
    idp.stop().await;
    let idp = oidc::start(test, &app.base, port, "key-2").await.unwrap();
    sign_in_with_company(&b, &app, &format!("{pat} groups=sem-leads")).await;
    assert_eq!(b.path().await, "/");
    assert_eq!(
        roles_of(&app, &pat).await,
        (
            vec!["account_manager".to_string(), "team_lead".to_string()],
            vec!["team_lead".to_string()]
        )
    );

    // The admin's page of the user shows which role comes from the provider; saving the page
    // keeps it.
    sign_in_with_company(&b, &app, &admin).await;
    b.driver
        .goto(format!("{}/admin/users/{pat_id}", app.base))
        .await
        .unwrap();
    assert_eq!(
        b.text("#role-team_lead-note").await,
        "from the identity provider"
    );
    assert!(
        b.driver
            .find(By::Css("#role-account_manager-note"))
            .await
            .is_err()
    );
    b.fill("display_name", "Pat Doe").await;
    b.click("#save-user").await;
    assert!(b.text(".flash").await.contains("Saved Pat Doe."));
    assert_eq!(
        roles_of(&app, &pat).await,
        (
            vec!["account_manager".to_string(), "team_lead".to_string()],
            vec!["team_lead".to_string()]
        )
    );

    // A person of the domain without an account: "ask the admin", until the admin lets the
    // desk make one (with no roles).
    let newcomer = format!("nia@{DOMAIN}");
    b.driver
        .goto(format!("{}/admin/sign-in", app.base))
        .await
        .unwrap();
    b.click("#create_unknown").await;
    // The admin signed in with the company account: company-only may be turned on, and the
    // sessions passwords opened end.
    let password_session = app.session_cookie(pat_id).await;
    assert_eq!(app.get(&password_session, "/").await.status(), 200);
    b.click("#company_only").await;
    b.click("#save-sign-in").await;
    assert!(
        b.text(".flash")
            .await
            .contains("Sign-in settings saved. 1 session opened with a password ended.")
    );
    assert_ne!(app.get(&password_session, "/").await.status(), 200);
    sign_in_with_company(&b, &app, &format!("{newcomer} name=Nia_Okafor")).await;
    assert_eq!(b.path().await, "/");
    assert_eq!(b.text("[data-testid=signed-in-as]").await, "Nia Okafor");
    assert!(b.text("#no-roles").await.contains("Ask the administrator"));
    assert!(b.text("footer").await.contains("(no role yet)"));
    // One whose group is mapped gets that group's role.
    sign_in_with_company(&b, &app, &format!("omar@{DOMAIN} groups=sem-finance")).await;
    assert_eq!(
        roles_of(&app, &format!("omar@{DOMAIN}")).await,
        (vec!["finance".to_string()], vec!["finance".to_string()])
    );

    // Passwords are refused now, on the page and on the record; the company button remains.
    b.driver.delete_all_cookies().await.unwrap();
    b.driver.goto(format!("{}/login", app.base)).await.unwrap();
    assert!(b.driver.find(By::Css("#password")).await.is_err());
    let res = crate::support::client()
        .post(app.url("/login"))
        .form(&[("email", pat.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("signs in with the company account only")
    );
    assert_eq!(app.audit_count("user.created_at_sign_in").await, 2);
    drop(idp);
    b.close().await;
}

#[tokio::test]
async fn every_bad_callback_is_refused_with_a_clear_page_and_passwords_still_work() {
    let test = "every_bad_callback_is_refused_with_a_clear_page_and_passwords_still_work";
    let Some((app, idp, b)) = company_app(test).await else {
        return;
    };
    let pat = format!("pat@{DOMAIN}");
    app.user(&pat, &[Role::AccountManager]).await;
    let dee = format!("dee@{DOMAIN}");
    app.user(&dee, &[Role::Retention]).await;
    sqlx::query("UPDATE users SET disabled_at = now() WHERE email = $1")
        .bind(&dee)
        .execute(&app.db)
        .await
        .unwrap();

    // Each case: the login typed at the provider, and what the desk's page says.
    let cases = [
        (format!("{pat} forged"), "did not pass the desk's checks"),
        (format!("{pat} expired"), "did not pass the desk's checks"),
        (format!("{pat} otheraud"), "did not pass the desk's checks"),
        (
            format!("{pat} othernonce"),
            "did not pass the desk's checks",
        ),
        (
            format!("{pat} otherissuer"),
            "did not pass the desk's checks",
        ),
        (format!("{pat} unverified"), "has not verified the address"),
        (
            "eve@elsewhere.example".to_string(),
            "is not one of the agency's addresses",
        ),
        (
            format!("nobody@{DOMAIN}"),
            "Ask the administrator to add you",
        ),
        (dee.clone(), "is disabled"),
    ];
    for (login, says) in &cases {
        sign_in_with_company(&b, &app, login).await;
        assert_eq!(b.path().await, "/auth/company/callback", "{login}");
        let text = b.text("#company-refused").await;
        assert!(text.contains(says), "{login}: {text}");
        // Another account may help when the identity was refused, not when the token was.
        let again = b.text("#try-again").await;
        assert_eq!(
            again.ends_with("with another account"),
            !says.contains("checks"),
            "{login}: {again}"
        );
        assert!(
            b.driver.find(By::Css("#sign-out")).await.is_err(),
            "{login}"
        );
    }

    // The person cancels at the provider.
    b.driver.goto(format!("{}/login", app.base)).await.unwrap();
    b.driver.delete_all_cookies().await.unwrap();
    b.driver.goto(format!("{}/login", app.base)).await.unwrap();
    b.click("#sign-in-company").await;
    b.click("a[href*=abort]").await;
    back_at_desk(&b, &app).await;
    assert!(
        b.text("#company-refused")
            .await
            .contains(&format!("The sign-in with {PROVIDER_NAME} was cancelled"))
    );

    // A sign-in another browser started (a link someone sent): finished in this browser, it is
    // refused (it would sign this browser in as whoever the sender is at the provider).
    crate::shared::tls();
    let other = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let start = other.get(app.url("/auth/company")).send().await.unwrap();
    assert_eq!(start.status(), 303);
    let at_provider = crate::support::location(&start);
    b.driver.goto(&at_provider).await.unwrap();
    provider_page(&b, &pat).await;
    back_at_desk(&b, &app).await;
    assert!(
        b.text("#company-refused")
            .await
            .contains("does not match one this browser started")
    );
    let under_way: i64 = sqlx::query_scalar("SELECT count(*) FROM company_sign_ins")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(
        under_way, 1,
        "the other browser's sign-in is not used up here"
    );
    // A parameter given twice, a made-up `state`, one that cannot be decoded.
    for query in [
        "state=a&state=b&code=c",
        "code=abc&state=made-up",
        "code=x&state=%ZZ%00",
    ] {
        b.driver
            .goto(format!("{}/auth/company/callback?{query}", app.base))
            .await
            .unwrap();
        assert!(
            b.text("#company-refused")
                .await
                .contains("Start again from the sign-in page"),
            "{query}"
        );
    }

    assert_eq!(
        refusal_reasons(&app).await,
        [
            "id_token_bad_signature",
            "id_token_expired",
            "id_token_wrong_audience",
            "id_token_wrong_nonce",
            "id_token_wrong_issuer",
            "email_unverified",
            "domain_not_allowed",
            "unknown_email",
            "disabled",
            "provider_refused",
            "state_mismatch",
            "state_mismatch",
            "state_unknown_or_used",
            "state_unknown_or_used",
        ]
    );

    // At most 5,000 sign-ins under way at once; past that, told to wait (counted, and no
    // audit record each: anyone could send them).
    sqlx::query(
        "INSERT INTO company_sign_ins (state_hash, nonce, pkce_verifier, next)
         SELECT sha256(g::text::bytea), 'filler', 'v', '/'
           FROM generate_series(1, 4999) g",
    )
    .execute(&app.db)
    .await
    .unwrap();
    let events = app.audit_count("auth.sign_in_failed").await;
    let last = other.get(app.url("/auth/company")).send().await.unwrap();
    assert_eq!(last.status(), 429);
    assert!(
        last.text()
            .await
            .unwrap()
            .contains("Too many sign-ins are under way")
    );
    assert_eq!(app.audit_count("auth.sign_in_failed").await, events);
    sqlx::query("DELETE FROM company_sign_ins WHERE nonce = 'filler'")
        .execute(&app.db)
        .await
        .unwrap();
    let sessions: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(sessions, 0, "no refusal started a session");

    // The only administrator, made one by a group, keeps the role when the group goes (and
    // it is the admin's to take away from then on).
    let root = format!("root@{DOMAIN}");
    app.user(&root, &[Role::AccountManager]).await;
    sign_in_with_company(&b, &app, &format!("{root} groups=sem-admins")).await;
    assert_eq!(
        roles_of(&app, &root).await,
        (
            vec!["account_manager".to_string(), "admin".to_string()],
            vec!["admin".to_string()]
        )
    );
    sign_in_with_company(&b, &app, &root).await;
    assert_eq!(
        roles_of(&app, &root).await,
        (
            vec!["account_manager".to_string(), "admin".to_string()],
            vec![]
        ),
        "the last administrator keeps the role"
    );

    // A provider that is down: a clear page, and the password sign-in still works.
    let mut config = idp.config();
    config.issuer = format!("http://127.0.0.1:{}", crate::shared::free_port());
    let down = TestApp::spawn_with(move |c| c.company = Some(config)).await;
    down.user(&pat, &[Role::AccountManager]).await;
    b.driver.goto(format!("{}/login", down.base)).await.unwrap();
    b.click("#sign-in-company").await;
    assert!(
        b.text("#company-refused")
            .await
            .contains("could not be reached")
    );
    b.click("#password-sign-in").await;
    b.sign_in(&down.base, &pat, PASSWORD).await;
    assert_eq!(b.path().await, "/");
    assert_eq!(b.text("[data-testid=signed-in-as]").await, "Test pat");
    assert_eq!(
        refusal_reasons(&down).await,
        ["provider_unreachable".to_string()]
    );
    drop(idp);
    b.close().await;
}
