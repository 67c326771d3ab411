//! An addendum signed in the desk, over HTTP: the account manager sends it, the signer opens
//! the emailed link without an account, asks for a code, signs (or declines), and the sealed
//! copy lands on the request, which can then be submitted. Every link state and every bad
//! input is answered clearly with nothing half-saved; changed terms void the link.

use std::process::Command;

use chrono::Duration;
use reqwest::multipart::{Form, Part};

use crate::support::fixtures::{Chain, chain};
use crate::support::{client, location};
use offboarding_desk::config::{Hidden, SealSource};
use offboarding_desk::signing::flow::configured_seal;

const SIGNER: &[(&str, &str)] = &[
    ("signer_name", "Dana Whitfield"),
    ("signer_title", "Owner"),
    ("signer_email", "dana@lakeside-rv.test"),
];

async fn addendum(c: &Chain) -> i64 {
    c.file(&[
        ("kind", "addendum"),
        ("cancel_scope", ""),
        ("current_budget", "4500"),
        ("new_budget", "3000"),
    ])
    .await
}

/// The latest email of `kind`: its recipients, subject and text.
async fn last_mail(c: &Chain, kind: &str) -> (Vec<String>, String, String) {
    sqlx::query_as(
        "SELECT to_addrs, subject, body_text FROM outbox_messages WHERE kind = $1
          ORDER BY id DESC LIMIT 1",
    )
    .bind(kind)
    .fetch_one(&c.app.db)
    .await
    .unwrap_or_else(|e| panic!("an email of kind {kind}: {e}"))
}

/// Sends request `id` for the signer's signature as the account manager; returns the link's
/// token, read from the email the signer receives.
async fn send(c: &Chain, id: i64) -> String {
    let res = c
        .post(&c.am_cookie, &format!("/requests/{id}/signature"), SIGNER)
        .await;
    assert_eq!(res.status(), 303);
    let flash = c.flash(&c.am_cookie, id).await;
    assert!(flash.contains("sent to Dana Whitfield"), "{flash}");
    token_in(&last_mail(c, "signing.requested").await.2)
}

fn token_in(text: &str) -> String {
    let at = text.find("/sign/").expect("a signing link") + "/sign/".len();
    let token: String = text[at..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect();
    assert_eq!(token.len(), 64, "{text}");
    token
}

/// Asks for a code as the signer; returns it, read from the email.
async fn ask_code(c: &Chain, token: &str) -> String {
    let res = c.app.post("", &format!("/sign/{token}/code"), &[]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), format!("/sign/{token}?code=sent#sign"));
    let (to, subject, _) = last_mail(c, "signing.code").await;
    assert_eq!(to, vec!["dana@lakeside-rv.test".to_string()]);
    subject.rsplit(' ').next().unwrap().to_string()
}

/// The form field naming the link a Resend or Void button was shown for.
async fn shown(c: &Chain, id: i64) -> String {
    let live: i64 = sqlx::query_scalar(
        "SELECT id FROM signature_requests WHERE change_request_id = $1 AND state IN ('sent', 'opened')",
    )
    .bind(id)
    .fetch_one(&c.app.db)
    .await
    .unwrap();
    live.to_string()
}

async fn sign(c: &Chain, token: &str, form: &[(&str, &str)]) -> reqwest::Response {
    c.app.post("", &format!("/sign/{token}/sign"), form).await
}

async fn public_page(c: &Chain, path: &str) -> (u16, String) {
    let res = c.app.get("", path).await;
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn state_of(c: &Chain, id: i64) -> String {
    sqlx::query_scalar(
        "SELECT state FROM signature_requests WHERE change_request_id = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(id)
    .fetch_one(&c.app.db)
    .await
    .unwrap()
}

async fn count(c: &Chain, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&c.app.db).await.unwrap()
}

fn signed_form(code: &str) -> Vec<(&'static str, String)> {
    vec![
        ("code", code.to_string()),
        ("consent", "yes".into()),
        ("name", "Dana Whitfield".into()),
        ("title", "Owner".into()),
        ("authorised", "yes".into()),
    ]
}

fn pairs<'a>(form: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    form.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[tokio::test]
async fn an_addendum_is_sent_signed_with_an_emailed_code_and_lands_sealed_on_the_request() {
    let c = chain().await;
    let id = addendum(&c).await;
    let page = c.page(&c.am_cookie, &format!("/requests/{id}")).await;
    assert!(page.contains("Not sent for signature yet"), "{page}");

    // The preview is the document as it would be sent, nothing stored.
    let res = c
        .app
        .get(
            &c.am_cookie,
            &format!(
                "/requests/{id}/addendum.pdf?signer_name=Dana&signer_title=Owner&signer_email="
            ),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    assert!(res.bytes().await.unwrap().starts_with(b"%PDF-"));
    assert_eq!(
        count(&c, "SELECT count(*) FROM addendum_documents").await,
        0
    );

    let token = send(&c, id).await;
    let (to, subject, text) = last_mail(&c, "signing.requested").await;
    assert_eq!(to, vec!["dana@lakeside-rv.test".to_string()]);
    assert!(subject.contains("Lakeside RV Center"), "{subject}");
    assert!(text.contains("$4,500.00 to $3,000.00"), "{text}");
    // Only the token's hash is kept on the request.
    let stored: Vec<u8> = sqlx::query_scalar("SELECT token_hash FROM signature_requests")
        .fetch_one(&c.app.db)
        .await
        .unwrap();
    assert_eq!(stored, offboarding_desk::auth::token::digest(&token));
    let kept: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM signature_requests s, signature_events e
          WHERE s::text LIKE '%' || $1 || '%' OR e::text LIKE '%' || $1 || '%'",
    )
    .bind(&token)
    .fetch_one(&c.app.db)
    .await
    .unwrap();
    assert_eq!(kept, 0, "the token itself is in no signing record");
    let page = c.page(&c.am_cookie, &format!("/requests/{id}")).await;
    assert!(page.contains("sent, not opened yet"), "{page}");
    // The client's signing contact is kept for next time.
    let email: Option<String> =
        sqlx::query_scalar("SELECT signer_email FROM clients WHERE id = $1")
            .bind(c.client_id)
            .fetch_one(&c.app.db)
            .await
            .unwrap();
    assert_eq!(email.as_deref(), Some("dana@lakeside-rv.test"));

    // The signer, in a browser with no session.
    let res = c.app.get("", &format!("/sign/{token}")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["referrer-policy"], "no-referrer");
    assert!(
        res.headers()["x-robots-tag"]
            .to_str()
            .unwrap()
            .contains("noindex")
    );
    assert_eq!(res.headers()["cache-control"], "no-store");
    let page = res.text().await.unwrap();
    assert!(page.contains("Addendum for Lakeside RV Center"), "{page}");
    assert!(page.contains("$4,500.00 → $3,000.00"), "{page}");
    assert!(page.contains("d•••@lakeside-rv.test"), "{page}");
    assert!(
        !page.contains("dana@lakeside-rv.test"),
        "the address is not shown in full"
    );
    assert_eq!(state_of(&c, id).await, "opened");
    let res = c.app.get("", &format!("/sign/{token}/addendum.pdf")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["referrer-policy"], "no-referrer");
    assert!(res.bytes().await.unwrap().starts_with(b"%PDF-"));

    let code = ask_code(&c, &token).await;
    let (_, page) = public_page(&c, &format!("/sign/{token}?code=sent")).await;
    assert!(
        page.contains("We emailed a six-digit code to d•••@lakeside-rv.test"),
        "{page}"
    );

    // A wrong code is counted; what was typed stays.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let mut form = signed_form(wrong);
    let res = sign(&c, &token, &pairs(&form)).await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("That code is not right. 4 tries left."),
        "{page}"
    );
    assert!(page.contains("value=\"Dana Whitfield\""), "{page}");
    // The right code without the consent: nothing signed, no try used.
    form[0].1 = code.clone();
    form.retain(|(k, _)| *k != "consent");
    let res = sign(&c, &token, &pairs(&form)).await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(page.contains("Tick the box to agree"), "{page}");
    assert_eq!(state_of(&c, id).await, "opened");
    assert_eq!(
        count(&c, "SELECT count(*) FROM request_attachments").await,
        0
    );

    let res = sign(&c, &token, &pairs(&signed_form(&code))).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), format!("/sign/{token}"));
    assert_eq!(state_of(&c, id).await, "signed");
    let (status, page) = public_page(&c, &format!("/sign/{token}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("The addendum is signed"), "{page}");
    assert!(
        !page.contains("sign-form"),
        "the link only shows the signed copy"
    );
    let executed = c
        .app
        .get("", &format!("/sign/{token}/addendum.pdf"))
        .await
        .bytes()
        .await
        .unwrap();
    let attached: Vec<u8> =
        sqlx::query_scalar("SELECT content FROM request_attachments WHERE change_request_id = $1")
            .bind(id)
            .fetch_one(&c.app.db)
            .await
            .unwrap();
    assert_eq!(
        attached,
        executed.to_vec(),
        "the executed copy is the request's document"
    );
    // The request's page says who signed it and that the desk sealed it, not that the
    // account manager uploaded it.
    let page = c.page(&c.am_cookie, &format!("/requests/{id}")).await;
    assert!(
        page.contains("signed online by Dana Whitfield and sealed by the desk"),
        "{page}"
    );

    // Everyone hears: the signer gets their copy's link, the account manager the news.
    let (to, _, text) = last_mail(&c, "signing.signed_copy").await;
    assert_eq!(to, vec!["dana@lakeside-rv.test".to_string()]);
    assert_eq!(token_in(&text), token);
    let (to, _, _) = last_mail(&c, "signing.signed").await;
    assert_eq!(to, vec!["am@agency.test".to_string()]);
    assert_eq!(c.app.audit_count("signature.sent").await, 1);
    assert_eq!(c.app.audit_count("signature.signed").await, 1);
    assert_eq!(c.app.audit_count("signature.code_refused").await, 1);

    // The record holds: every event chained, from created to signed.
    let events = {
        let mut conn = c.app.db.acquire().await.unwrap();
        let sid: i64 = sqlx::query_scalar("SELECT id FROM signature_requests")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        offboarding_desk::signing::chain::events(&mut conn, sid)
            .await
            .unwrap()
    };
    offboarding_desk::signing::chain::verify(&events).expect("the chain holds");
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "created",
            "emailed",
            "opened",
            "code_sent",
            "code_refused",
            "code_verified",
            "consented",
            "signed"
        ]
    );

    // The verifier the desk did not write accepts the seal; the verify page knows the file.
    if crate::signing::poppler_installed() {
        let path =
            std::env::temp_dir().join(format!("od-executed-{id}-{}.pdf", std::process::id()));
        std::fs::write(&path, &executed).unwrap();
        let out = Command::new("pdfsig").arg(&path).output().unwrap();
        let report = String::from_utf8_lossy(&out.stdout);
        assert!(report.contains("Signature is Valid."), "{report}");
        let text = Command::new("pdftotext")
            .args([path.as_os_str(), "-".as_ref()])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&text.stdout);
        for expected in [
            "Dana Whitfield",
            "Certificate of completion",
            "$3,000.00",
            "Owner",
        ] {
            assert!(text.contains(expected), "{expected} in {text}");
        }
    }
    let verdict = verify(&c, executed.to_vec()).await;
    assert!(
        verdict.contains("Sealed by this desk, unchanged"),
        "{verdict}"
    );
    assert!(verdict.contains(&format!("request #{id}")), "{verdict}");
    let mut tampered = executed.to_vec();
    let last = tampered.len() - 10;
    tampered[last] ^= 1;
    let verdict = verify(&c, tampered).await;
    assert!(
        verdict.contains("Not a document this desk sealed"),
        "{verdict}"
    );

    // A tab opened before the signature offers Send still: it sends nothing, and says so.
    let res = c
        .post(&c.am_cookie, &format!("/requests/{id}/signature"), SIGNER)
        .await;
    assert_eq!(res.status(), 303);
    let flash = c.flash(&c.am_cookie, id).await;
    assert!(flash.contains("already signed and attached"), "{flash}");
    assert_eq!(
        count(&c, "SELECT count(*) FROM signature_requests").await,
        1
    );

    // The request can now be submitted, its sealed copy attached.
    let flash = c.submit(&c.am_cookie, id).await;
    assert!(flash.starts_with("Submitted for approval"), "{flash}");
}

async fn verify(c: &Chain, bytes: Vec<u8>) -> String {
    let part = Part::bytes(bytes)
        .file_name("check.pdf")
        .mime_str("application/pdf")
        .unwrap();
    client()
        .post(c.app.url("/signing/verify"))
        .header("cookie", &c.am_cookie)
        .multipart(Form::new().part("document", part))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn every_link_state_has_its_own_page_and_no_hint_of_what_exists() {
    let c = chain().await;
    // Unknown: a well-formed token nobody holds, and one of the wrong shape.
    for token in ["ab".repeat(32), "not-a-token".into()] {
        let res = c.app.get("", &format!("/sign/{token}")).await;
        assert_eq!(res.status(), 404);
        assert_eq!(res.headers()["referrer-policy"], "no-referrer");
        let page = res.text().await.unwrap();
        assert!(
            page.contains("This link does not open an addendum"),
            "{page}"
        );
        assert!(!page.contains("Lakeside"), "{page}");
    }
    assert_eq!(c.app.audit_count("signature.unknown_link").await, 2);

    // Voided by the account manager.
    let id = addendum(&c).await;
    let token = send(&c, id).await;
    let res = c
        .post(
            &c.am_cookie,
            &format!("/requests/{id}/signature/void"),
            &[("signature", &shown(&c, id).await)],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert!(c.flash(&c.am_cookie, id).await.contains("is voided"));
    // The signer hears the link was withdrawn; the email carries no link.
    let (to, subject, text) = last_mail(&c, "signing.voided").await;
    assert_eq!(to, vec!["dana@lakeside-rv.test".to_string()]);
    assert!(
        subject.starts_with("Withdrawn: the addendum for Lakeside RV Center"),
        "{subject}"
    );
    assert!(!text.contains("/sign/"), "{text}");
    let (status, page) = public_page(&c, &format!("/sign/{token}")).await;
    assert_eq!(status, 410);
    assert!(page.contains("This link no longer works"), "{page}");
    // Nothing can be done through it.
    let res = c.app.post("", &format!("/sign/{token}/code"), &[]).await;
    assert_eq!(location(&res), format!("/sign/{token}"));
    assert_eq!(
        count(
            &c,
            "SELECT count(*) FROM outbox_messages WHERE kind = 'signing.code'"
        )
        .await,
        0
    );

    // Resent: the new link works, the old one is replaced.
    let first = send(&c, id).await;
    let res = c
        .post(
            &c.am_cookie,
            &format!("/requests/{id}/signature/resend"),
            &[("signature", &shown(&c, id).await)],
        )
        .await;
    assert_eq!(res.status(), 303);
    let (_, _, body) = last_mail(&c, "signing.requested").await;
    let second = token_in(&body);
    assert_ne!(first, second);
    assert!(body.contains("It replaces the link sent on"), "{body}");
    // A second click, or a tab opened before that resend, changes nothing and says so.
    let stale: i64 =
        sqlx::query_scalar("SELECT min(id) FROM signature_requests WHERE change_request_id = $1")
            .bind(id)
            .fetch_one(&c.app.db)
            .await
            .unwrap();
    for path in ["resend", "void"] {
        let res = c
            .post(
                &c.am_cookie,
                &format!("/requests/{id}/signature/{path}"),
                &[("signature", &stale.to_string())],
            )
            .await;
        assert_eq!(res.status(), 303);
        let flash = c.flash(&c.am_cookie, id).await;
        assert!(
            flash.contains("the link changed since this page was opened"),
            "{flash}"
        );
    }
    assert_eq!(
        count(
            &c,
            "SELECT count(*) FROM outbox_messages WHERE kind = 'signing.requested'"
        )
        .await,
        3,
        "the stale resend sent nothing"
    );
    assert_eq!(public_page(&c, &format!("/sign/{first}")).await.0, 410);
    assert_eq!(public_page(&c, &format!("/sign/{second}")).await.0, 200);
    // A second send while one waits is refused.
    let res = c
        .post(&c.am_cookie, &format!("/requests/{id}/signature"), SIGNER)
        .await;
    assert_eq!(res.status(), 303);
    assert!(c.flash(&c.am_cookie, id).await.contains("already waiting"));

    // Declined, with the emailed code (a forwarded link is not enough) and a reason.
    let reason = "We keep the budget as it is.";
    let res = c
        .app
        .post(
            "",
            &format!("/sign/{second}/decline"),
            &[("reason", reason)],
        )
        .await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(page.contains("id=\"decline_code-error\""), "{page}");
    assert!(page.contains("Ask for a code first"), "{page}");
    assert!(page.contains(reason), "what was typed stays: {page}");
    assert_eq!(state_of(&c, id).await, "opened");
    let code = ask_code(&c, &second).await;
    let res = c
        .app
        .post(
            "",
            &format!("/sign/{second}/decline"),
            &[("code", code.as_str()), ("reason", "  ")],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("Say why you decline"));
    let res = c
        .app
        .post(
            "",
            &format!("/sign/{second}/decline"),
            &[("code", code.as_str()), ("reason", reason)],
        )
        .await;
    assert_eq!(res.status(), 303);
    let (status, page) = public_page(&c, &format!("/sign/{second}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("You declined this addendum"), "{page}");
    let page = c.page(&c.am_cookie, &format!("/requests/{id}")).await;
    assert!(page.contains("We keep the budget as it is."), "{page}");
    let (to, _, _) = last_mail(&c, "signing.declined").await;
    assert_eq!(to, vec!["am@agency.test".to_string()]);

    // Expired: fourteen days pass.
    let token = send(&c, id).await;
    c.app.state.clock.advance(Duration::days(15));
    let (status, page) = public_page(&c, &format!("/sign/{token}")).await;
    assert_eq!(status, 410);
    assert!(page.contains("This link has expired"), "{page}");
    assert_eq!(state_of(&c, id).await, "expired");
    c.app.state.clock.reset();
}

#[tokio::test]
async fn six_wrong_codes_lock_the_code_and_bad_fields_save_nothing() {
    let c = chain().await;
    let id = addendum(&c).await;
    let token = send(&c, id).await;
    // Signing before any code was asked for.
    let res = sign(&c, &token, &pairs(&signed_form("123456"))).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("Ask for a code first"));
    let code = ask_code(&c, &token).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for left in (0..5).rev() {
        let res = sign(&c, &token, &pairs(&signed_form(wrong))).await;
        assert_eq!(res.status(), 422);
        let page = res.text().await.unwrap();
        if left == 0 {
            assert!(page.contains("cannot be tried again"), "{page}");
        } else {
            assert!(page.contains(&format!("{left} tr")), "{left}: {page}");
        }
    }
    // The sixth, even the right code, is refused until a new one is asked for.
    let res = sign(&c, &token, &pairs(&signed_form(&code))).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("Too many wrong codes"));
    assert_eq!(state_of(&c, id).await, "opened");
    assert_eq!(c.app.audit_count("signature.code_refused").await, 5);

    // A malformed code is said, not counted.
    let code = ask_code(&c, &token).await;
    let res = sign(&c, &token, &pairs(&signed_form("12ab"))).await;
    assert!(res.text().await.unwrap().contains("Type the six digits"));
    // Bad fields: each beside its field, nothing signed.
    for (field, value, message) in [
        ("name", "", "Type your full name"),
        ("name", "Dana\0Whitfield", "control character"),
        ("name", "Dana\u{202E}Whitfield", "invisible character"),
        ("title", "", "Type your title"),
        ("name", &"x".repeat(201), "At most 200 characters"),
    ] {
        let mut form = signed_form(&code);
        for (k, v) in form.iter_mut() {
            if *k == field {
                *v = value.to_string();
            }
        }
        let res = sign(&c, &token, &pairs(&form)).await;
        assert_eq!(res.status(), 422, "{field} {value:?}");
        let page = res.text().await.unwrap();
        assert!(
            page.contains(&format!("id=\"{field}-error\"")),
            "{field}: {page}"
        );
        assert!(
            page.to_lowercase().contains(&message.to_lowercase()),
            "{message}: {page}"
        );
    }
    let mut form = signed_form(&code);
    form.retain(|(k, _)| *k != "authorised");
    let res = sign(&c, &token, &pairs(&form)).await;
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("authorised to sign for Lakeside RV Center")
    );
    assert_eq!(state_of(&c, id).await, "opened");
    assert_eq!(
        count(&c, "SELECT count(*) FROM request_attachments").await,
        0
    );
    // And then it signs.
    let res = sign(&c, &token, &pairs(&signed_form(&code))).await;
    assert_eq!(res.status(), 303);
    assert_eq!(state_of(&c, id).await, "signed");
}

/// Asks for a new code past the half minute in which a second click keeps the first.
async fn ask_again(c: &Chain, token: &str) -> reqwest::Response {
    c.app.state.clock.advance(Duration::seconds(31));
    c.app.post("", &format!("/sign/{token}/code"), &[]).await
}

/// Moves the codes sent so far two hours back (the database's clock cannot be moved).
async fn codes_sent_two_hours_ago(c: &Chain) {
    sqlx::raw_sql(
        "ALTER TABLE signature_events DISABLE TRIGGER signature_events_no_update_delete;
         UPDATE signature_events SET at = at - interval '2 hours' WHERE kind = 'code_sent';
         ALTER TABLE signature_events ENABLE TRIGGER signature_events_no_update_delete;",
    )
    .execute(&c.app.db)
    .await
    .unwrap();
}

/// A signer may have five codes emailed an hour and ten in the link's life (fifty tries at a
/// code in all); past that the page says to ask for a new link, which starts afresh.
#[tokio::test]
async fn codes_are_limited_to_five_an_hour_and_ten_a_link() {
    let c = chain().await;
    let id = addendum(&c).await;
    let token = send(&c, id).await;
    for _ in 0..5 {
        assert_eq!(ask_again(&c, &token).await.status(), 303);
    }
    let res = ask_again(&c, &token).await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Five codes were emailed in the last hour")
    );
    // An hour on, five more.
    codes_sent_two_hours_ago(&c).await;
    for _ in 0..5 {
        assert_eq!(ask_again(&c, &token).await.status(), 303);
    }
    codes_sent_two_hours_ago(&c).await;
    let res = ask_again(&c, &token).await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("ask the agency to send you a new link")
    );
    assert_eq!(
        count(
            &c,
            "SELECT count(*) FROM signature_events WHERE kind = 'code_sent'"
        )
        .await,
        10
    );
    // The agency resends: the new link has its own codes.
    let res = c
        .post(
            &c.am_cookie,
            &format!("/requests/{id}/signature/resend"),
            &[("signature", &shown(&c, id).await)],
        )
        .await;
    assert_eq!(res.status(), 303);
    let fresh = token_in(&last_mail(&c, "signing.requested").await.2);
    assert_ne!(fresh, token);
    c.app.state.clock.reset();
    ask_code(&c, &fresh).await;
}

/// The account manager saves request `id` with new `terms`, its reason, notes and escalation
/// as filed, at its current version.
async fn edit_terms(c: &Chain, id: i64, terms: &[(&str, &str)]) -> reqwest::Response {
    let (reason, version): (String, String) =
        sqlx::query_as("SELECT reason_id::text, version::text FROM change_requests WHERE id = $1")
            .bind(id)
            .fetch_one(&c.app.db)
            .await
            .unwrap();
    let mut form = terms.to_vec();
    form.extend([
        ("reason_id", reason.as_str()),
        ("product_notes", "Pause Google Ads"),
        ("escalation", "none"),
        ("version", version.as_str()),
    ]);
    c.post(&c.am_cookie, &format!("/requests/{id}"), &form)
        .await
}

#[tokio::test]
async fn changing_the_terms_after_sending_voids_the_link() {
    let c = chain().await;
    let id = addendum(&c).await;
    let token = send(&c, id).await;
    let date: String =
        sqlx::query_scalar("SELECT effective_date::text FROM change_requests WHERE id = $1")
            .bind(id)
            .fetch_one(&c.app.db)
            .await
            .unwrap();
    let res = edit_terms(
        &c,
        id,
        &[
            ("kind", "addendum"),
            ("effective_date", &date),
            ("current_budget", "4500"),
            ("new_budget", "2500"),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    let flash = c.flash(&c.am_cookie, id).await;
    assert!(flash.contains("the new budget changed"), "{flash}");
    assert!(
        flash.contains("signature request is voided and the signer told so"),
        "{flash}"
    );
    assert_eq!(state_of(&c, id).await, "voided");
    let (to, subject, _) = last_mail(&c, "signing.voided").await;
    assert_eq!(to, vec!["dana@lakeside-rv.test".to_string()]);
    assert!(subject.starts_with("Withdrawn"), "{subject}");
    assert_eq!(public_page(&c, &format!("/sign/{token}")).await.0, 410);
    // A new one is for the new terms.
    let token = send(&c, id).await;
    let (_, page) = public_page(&c, &format!("/sign/{token}")).await;
    assert!(page.contains("$4,500.00 → $2,500.00"), "{page}");
    // Made a cancellation, it has nothing to sign: its page still shows what was sent, and no
    // form to send it again.
    let res = edit_terms(
        &c,
        id,
        &[
            ("kind", "cancellation"),
            ("cancel_scope", "services_only"),
            ("effective_date", &date),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    let flash = c.flash(&c.am_cookie, id).await;
    assert!(
        flash.contains("no longer an addendum with both budgets"),
        "{flash}"
    );
    let page = c.page(&c.am_cookie, &format!("/requests/{id}")).await;
    assert_eq!(
        page.matches("class=\"signature-voided\"").count(),
        2,
        "{page}"
    );
    assert!(page.contains("id=\"signature-no-terms\""), "{page}");
    assert!(!page.contains("id=\"signature-form\""), "{page}");
}

#[tokio::test]
async fn the_signer_form_says_what_is_wrong_and_only_the_owner_sends() {
    let c = chain().await;
    let id = addendum(&c).await;
    let res = c
        .post(
            &c.am_cookie,
            &format!("/requests/{id}/signature"),
            &[
                ("signer_name", "Dana Whitfield"),
                ("signer_title", ""),
                ("signer_email", "dana at lakeside"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(page.contains("id=\"signer_title-error\""), "{page}");
    assert!(page.contains("name@client.com"), "{page}");
    assert!(
        page.contains("value=\"dana at lakeside\""),
        "what was typed stays: {page}"
    );
    assert_eq!(
        count(&c, "SELECT count(*) FROM signature_requests").await,
        0
    );

    // Someone else at the agency can neither send it, nor resend or void the link that waits.
    let res = c
        .post(
            &c.jeremy_cookie,
            &format!("/requests/{id}/signature"),
            SIGNER,
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        count(&c, "SELECT count(*) FROM signature_requests").await,
        0
    );
    send(&c, id).await;
    let live = shown(&c, id).await;
    for path in ["signature/resend", "signature/void"] {
        let res = c
            .post(
                &c.jeremy_cookie,
                &format!("/requests/{id}/{path}"),
                &[("signature", &live)],
            )
            .await;
        assert_eq!(res.status(), 303, "{path}");
    }
    let states: Vec<String> = sqlx::query_scalar("SELECT state FROM signature_requests")
        .fetch_all(&c.app.db)
        .await
        .unwrap();
    assert_eq!(states, ["sent"], "still the one link, waiting");
    let res = c
        .app
        .get(&c.jeremy_cookie, &format!("/requests/{id}/addendum.pdf"))
        .await;
    assert!(res.status().is_client_error(), "{}", res.status());

    // Not an addendum: nothing to sign.
    let other = crate::support::fixtures::new_client(&c.app, c.am, "Harbor Marine").await;
    let cancellation = c.file_for(other, &[]).await;
    assert_ne!(cancellation, id);
    let res = c
        .post(
            &c.am_cookie,
            &format!("/requests/{cancellation}/signature"),
            SIGNER,
        )
        .await;
    assert_eq!(res.status(), 303);
    let flash = c.flash(&c.am_cookie, cancellation).await;
    assert!(flash.contains("Nothing was sent"), "{flash}");
    assert_eq!(
        count(&c, "SELECT count(*) FROM signature_requests").await,
        1,
        "only the addendum's"
    );
}

#[tokio::test]
async fn an_unsigned_link_is_reminded_once_after_three_days_with_a_link_of_its_own() {
    let c = chain().await;
    let id = addendum(&c).await;
    let first = send(&c, id).await;
    let runner = offboarding_desk::server::job_runner(&c.app.state.config);
    // Not before three days.
    runner
        .run_due(&c.app.db, chrono::Utc::now() + Duration::days(2))
        .await
        .unwrap();
    assert_eq!(
        count(
            &c,
            "SELECT count(*) FROM outbox_messages WHERE kind = 'signing.reminder'"
        )
        .await,
        0
    );
    runner
        .run_due(
            &c.app.db,
            chrono::Utc::now() + Duration::days(3) + Duration::minutes(1),
        )
        .await
        .unwrap();
    let (to, subject, text) = last_mail(&c, "signing.reminder").await;
    assert_eq!(to, vec!["dana@lakeside-rv.test".to_string()]);
    assert!(subject.starts_with("Reminder: please sign"), "{subject}");
    let second = token_in(&text);
    assert_ne!(first, second);
    // Both links open the same request.
    for token in [&first, &second] {
        let (status, page) = public_page(&c, &format!("/sign/{token}")).await;
        assert_eq!(status, 200);
        assert!(page.contains("Addendum for Lakeside RV Center"), "{page}");
    }
    // Once only.
    runner
        .run_due(&c.app.db, chrono::Utc::now() + Duration::days(5))
        .await
        .unwrap();
    assert_eq!(
        count(
            &c,
            "SELECT count(*) FROM outbox_messages WHERE kind = 'signing.reminder'"
        )
        .await,
        1
    );

    // Sent, the emails keep neither the link's token nor the code.
    ask_code(&c, &first).await;
    c.app.deliver_mail().await;
    let kept: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT subject, body_text, body_html FROM outbox_messages
          WHERE kind LIKE 'signing.%' AND state = 'sent'",
    )
    .fetch_all(&c.app.db)
    .await
    .unwrap();
    assert_eq!(
        kept.len(),
        3,
        "the link, the reminder and the code were sent"
    );
    for (subject, text, html) in kept {
        for part in [&subject, &text, &html] {
            assert!(!part.contains(&first) && !part.contains(&second), "{part}");
        }
        if subject.contains("Your code") {
            assert!(subject.ends_with("(code withheld)"), "{subject}");
            assert!(text.contains("Code: (code withheld)"), "{text}");
        } else {
            assert!(text.contains("/sign/(link withheld)"), "{text}");
        }
    }
}

#[tokio::test]
async fn the_admin_words_the_addendum_and_each_save_is_a_version_documents_keep() {
    let c = chain().await;
    let admin = c
        .app
        .user(
            "admin@agency.test",
            &[offboarding_desk::auth::roles::Role::Admin],
        )
        .await;
    let admin = c.app.session_cookie(admin).await;
    let id = addendum(&c).await;
    let first = send(&c, id).await;

    let page = c.page(&admin, "/admin/addendum").await;
    assert!(page.contains("Wording, version 1"), "{page}");
    // An unknown placeholder: said beside the field, the text kept, nothing saved.
    let typo = "{clinet} moves to {new_budget} on {effective_date}.";
    let res = c
        .post(
            &admin,
            "/admin/addendum",
            &[("body", typo), ("version", "1")],
        )
        .await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("“{clinet}” is not a value the addendum knows"),
        "{page}"
    );
    assert!(page.contains(typo), "{page}");
    let wording = "{client} moves its monthly budget to {new_budget} from {effective_date}.";
    let res = c
        .post(
            &admin,
            "/admin/addendum",
            &[("body", wording), ("version", "1")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let page = c.page(&admin, "/admin/addendum").await;
    assert!(page.contains("Saved as version 2"), "{page}");
    // A form opened before that save changes nothing.
    let res = c
        .post(
            &admin,
            "/admin/addendum",
            &[("body", "Stale."), ("version", "1")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let page = c.page(&admin, "/admin/addendum").await;
    assert!(page.contains("someone saved version 2"), "{page}");
    assert_eq!(count(&c, "SELECT count(*) FROM addendum_wordings").await, 2);
    assert_eq!(c.app.audit_count("signature.wording_saved").await, 1);
    // The account manager cannot.
    let res = c
        .post(
            &c.am_cookie,
            "/admin/addendum",
            &[("body", wording), ("version", "2")],
        )
        .await;
    assert_eq!(res.status(), 403);

    // The document already sent keeps version 1; a new one is drafted from version 2.
    let res = c
        .post(
            &c.am_cookie,
            &format!("/requests/{id}/signature/resend"),
            &[("signature", &shown(&c, id).await)],
        )
        .await;
    assert_eq!(res.status(), 303);
    let versions: Vec<i64> = sqlx::query_scalar(
        "SELECT (terms->>'wording_version')::bigint FROM addendum_documents ORDER BY id",
    )
    .fetch_all(&c.app.db)
    .await
    .unwrap();
    assert_eq!(versions, [1, 2]);
    assert_eq!(public_page(&c, &format!("/sign/{first}")).await.0, 410);
}

#[tokio::test]
async fn the_client_record_keeps_who_signs_and_the_addendum_form_starts_from_it() {
    let c = chain().await;
    let path = format!("/clients/{}/signer", c.client_id);
    let res = c
        .post(
            &c.am_cookie,
            &path,
            &[
                ("signer_name", "Rosa Delgado"),
                ("signer_title", "Owner"),
                ("signer_email", "rosa@@lakeside"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(page.contains("id=\"signer_email-error\""), "{page}");
    assert!(page.contains("value=\"rosa@@lakeside\""), "{page}");
    let res = c
        .post(
            &c.am_cookie,
            &path,
            &[
                ("signer_name", "Rosa Delgado"),
                ("signer_title", "Owner"),
                ("signer_email", "rosa@lakeside-rv.test"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let page = c
        .page(&c.am_cookie, &format!("/clients/{}", c.client_id))
        .await;
    assert!(page.contains("Rosa Delgado now signs addendums"), "{page}");
    assert_eq!(c.app.audit_count("client.signer_changed").await, 1);
    // An approver may read the client, not change who signs for it.
    let res = c
        .post(
            &c.jeremy_cookie,
            &path,
            &[
                ("signer_name", ""),
                ("signer_title", ""),
                ("signer_email", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(c.app.audit_count("client.signer_changed").await, 1);

    let id = addendum(&c).await;
    let page = c.page(&c.am_cookie, &format!("/requests/{id}")).await;
    assert!(page.contains("value=\"rosa@lakeside-rv.test\""), "{page}");
    assert!(page.contains("value=\"Rosa Delgado\""), "{page}");

    // Forgotten when all three are emptied.
    let res = c
        .post(
            &c.am_cookie,
            &path,
            &[
                ("signer_name", " "),
                ("signer_title", ""),
                ("signer_email", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let email: Option<String> =
        sqlx::query_scalar("SELECT signer_email FROM clients WHERE id = $1")
            .bind(c.client_id)
            .fetch_one(&c.app.db)
            .await
            .unwrap();
    assert_eq!(email, None);
}

/// `bytes` as a PEM block with `label`.
fn pem(label: &str, bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut encoded = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                encoded.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                encoded.push('=');
            }
        }
    }
    let lines: Vec<&str> = encoded
        .as_bytes()
        .chunks(64)
        .map(|l| std::str::from_utf8(l).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// The agency's own certificate, configured as PEM or DER files, seals the executed addendum; a file
/// that is not a key is refused with a sentence, before any signature needs it.
#[tokio::test]
async fn a_configured_certificate_seals_the_executed_addendum() {
    use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, PKCS_ECDSA_P256_SHA256};
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, "Northwind Digital document seal");
    params.distinguished_name = name;
    let cert = params.self_signed(&key).unwrap();
    let dir =
        std::env::temp_dir().join(format!("od-seal-config-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert_file, key_file) = (dir.join("seal.crt"), dir.join("seal.key"));
    // The certificate as DER, the key as PEM: both forms are read.
    std::fs::write(&cert_file, cert.der()).unwrap();
    std::fs::write(&key_file, pem("PRIVATE KEY", &key.serialize_der())).unwrap();

    let broken = dir.join("broken.key");
    std::fs::write(
        &broken,
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let refused = configured_seal(&SealSource::Files {
        certificate: cert_file.clone(),
        key: broken,
    })
    .err()
    .expect("a certificate is no key");
    assert!(refused.to_string().contains("SEAL_KEY_FILE"), "{refused}");

    let source = SealSource::Files {
        certificate: cert_file,
        key: key_file,
    };
    let report = sealed_with(source, &dir).await;
    assert!(
        report.contains("Northwind Digital document seal"),
        "{report}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The agency's certificate as a PKCS#12 file and its password (an RSA key, its certificate
/// issued by a root the file also holds) seals the executed addendum, the chain carried in the
/// signature; a wrong password, a file in a legacy encryption and a file that is none are each
/// refused with a sentence naming the variable.
#[tokio::test]
async fn a_pkcs12_file_and_its_password_seal_the_executed_addendum() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seal");
    let source = |file: &str, password: &str| SealSource::Pkcs12 {
        file: fixtures.join(file),
        password: Hidden(password.into()),
    };
    for (file, password, says) in [
        ("rsa-chain.p12", "wrong", "the password does not open it"),
        ("legacy.p12", "correct horse", "40-bit RC2"),
        ("../../it/main.rs", "correct horse", "not a PKCS#12 file"),
        ("missing.p12", "correct horse", "SEAL_PKCS12_FILE: reading"),
    ] {
        let refused = configured_seal(&source(file, password))
            .err()
            .expect("refused");
        let sentence = format!("{refused:#}");
        assert!(sentence.contains(says), "{file}: {sentence}");
        assert!(!sentence.contains("correct horse"), "{sentence}");
    }
    let dir = std::env::temp_dir().join(format!("od-seal-p12-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    // A copy, removed after the first signature: the seal read at the first is kept.
    let copy = dir.join("seal.p12");
    std::fs::copy(fixtures.join("rsa-chain.p12"), &copy).unwrap();
    let configured = SealSource::Pkcs12 {
        file: copy.clone(),
        password: Hidden("correct horse".into()),
    };
    let report = sealed_with(configured, &dir).await;
    assert!(
        report.contains("Northwind Digital document seal (RSA)"),
        "{report}"
    );
    if crate::signing::poppler_installed() {
        // The root the file holds is carried beside the seal's certificate.
        let path = dir.join("executed.pdf");
        let out = Command::new("pdfsig")
            .args(["-dump".as_ref(), path.as_os_str()])
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let signature = std::fs::read(dir.join("executed.pdf.sig0")).unwrap();
        let carried = |der: &[u8]| signature.windows(der.len()).any(|w| w == der);
        let file = std::fs::read(fixtures.join("rsa-chain.p12")).unwrap();
        let held = offboarding_desk::signing::pkcs12::read(&file, "correct horse").unwrap();
        assert_eq!(held.certificates.len(), 2);
        for certificate in &held.certificates {
            assert!(carried(certificate), "each certificate of the file, whole");
        }
    }
    // The seal the signature used, read once: the next one needs no file.
    std::fs::remove_file(&copy).unwrap();
    let fresh = SealSource::Pkcs12 {
        file: copy.clone(),
        password: Hidden("correct horse".into()),
    };
    assert!(configured_seal(&fresh).is_err(), "the file is gone");
    offboarding_desk::signing::flow::loaded_seal(&fresh).expect("kept since the first");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Signs an addendum on a desk configured with `source`, checks the desk made no seal of its
/// own and (with poppler) that the executed PDF's seal holds and is not the self-signed one;
/// returns pdfsig's report (empty without poppler). The PDF is left in `dir` as `executed.pdf`.
async fn sealed_with(source: SealSource, dir: &std::path::Path) -> String {
    let c = crate::support::fixtures::chain_with(move |config| config.seal = Some(source)).await;
    let id = addendum(&c).await;
    let token = send(&c, id).await;
    let code = ask_code(&c, &token).await;
    let res = sign(&c, &token, &pairs(&signed_form(&code))).await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        count(&c, "SELECT count(*) FROM signing_seals").await,
        0,
        "the desk made no seal of its own"
    );
    let executed = c
        .app
        .get("", &format!("/sign/{token}/addendum.pdf"))
        .await
        .bytes()
        .await
        .unwrap();
    let path = dir.join("executed.pdf");
    std::fs::write(&path, &executed).unwrap();
    if !crate::signing::poppler_installed() {
        return String::new();
    }
    let out = Command::new("pdfsig").arg(&path).output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(report.contains("Signature is Valid."), "{report}");
    assert!(!report.contains("(self-signed)"), "{report}");
    let text = Command::new("pdftotext")
        .args([path.as_os_str(), "-".as_ref()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(!text.contains("made by the desk itself"), "{text}");
    report
}

/// Whatever answers under `/sign/` (a page, a form the desk cannot read, an unknown address)
/// sends no referrer and asks not to be indexed.
#[tokio::test]
async fn every_answer_under_sign_keeps_the_link_private() {
    let c = chain().await;
    let token = "ab".repeat(32);
    let unreadable = client()
        .post(c.app.url(&format!("/sign/{token}/sign")))
        .header("content-type", "application/json")
        .header("origin", c.app.url(""))
        .body("{}")
        .send()
        .await
        .unwrap();
    let missing = c.app.get("", &format!("/sign/{token}/nothing-here")).await;
    let page = c.app.get("", &format!("/sign/{token}")).await;
    for res in [unreadable, missing, page] {
        let status = res.status();
        assert_eq!(res.headers()["referrer-policy"], "no-referrer", "{status}");
        assert!(
            res.headers()["x-robots-tag"]
                .to_str()
                .unwrap()
                .contains("noindex"),
            "{status}"
        );
    }
}

/// On an addendum Retention converted, Retention sends it, and hears (with the account
/// manager) that it was signed: it submits those.
#[tokio::test]
async fn retention_sends_the_addendum_it_converted_and_hears_it_was_signed() {
    let c = chain().await;
    let id = c.file(&[("escalation", "retention")]).await;
    let today = chrono::Utc::now().date_naive().to_string();
    let date = (chrono::Utc::now().date_naive() + Duration::days(30)).to_string();
    let res = c
        .post(
            &c.retention_cookie,
            &format!("/requests/{id}/save-attempt"),
            &[
                ("call_date", &today),
                ("outcome", "saved_budget_change"),
                ("current_budget", "4500"),
                ("new_budget", "3000"),
                ("effective_date", &date),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let res = c
        .post(
            &c.retention_cookie,
            &format!("/requests/{id}/signature"),
            SIGNER,
        )
        .await;
    assert_eq!(res.status(), 303);
    let token = token_in(&last_mail(&c, "signing.requested").await.2);
    let code = ask_code(&c, &token).await;
    let res = sign(&c, &token, &pairs(&signed_form(&code))).await;
    assert_eq!(res.status(), 303);
    let (mut to, _, _) = last_mail(&c, "signing.signed").await;
    to.sort();
    assert_eq!(to, ["am@agency.test", "amy@agency.test"]);
    let flash = c.submit(&c.retention_cookie, id).await;
    assert!(flash.starts_with("Submitted for approval"), "{flash}");
}

/// Links that lead nowhere slow their address down; a real link opens whatever came before
/// from the same address (signers behind one proxy share it).
#[tokio::test]
async fn guessing_is_slowed_and_a_real_link_still_opens() {
    let c = chain().await;
    let id = addendum(&c).await;
    let token = send(&c, id).await;
    for i in 0..25 {
        let res = c.app.get("", &format!("/sign/{:064x}", i)).await;
        assert!(
            matches!(res.status().as_u16(), 404 | 429),
            "{}",
            res.status()
        );
    }
    let res = c.app.get("", &format!("/sign/{:064x}", 99)).await;
    assert_eq!(res.status(), 429);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Too many links that lead nowhere")
    );
    assert_eq!(public_page(&c, &format!("/sign/{token}")).await.0, 200);
}

/// Submitting with a document signed elsewhere, or withdrawing, voids the waiting link and
/// says so; the link's reminder is cancelled with it.
#[tokio::test]
async fn submitting_with_an_uploaded_document_voids_the_waiting_link_and_says_so() {
    let c = chain().await;
    let id = addendum(&c).await;
    let token = send(&c, id).await;
    let part = Part::bytes(b"%PDF-1.4 signed on paper".to_vec())
        .file_name("paper.pdf")
        .mime_str("application/pdf")
        .unwrap();
    let res = client()
        .post(c.app.url(&format!("/requests/{id}/attachments")))
        .header("cookie", &c.am_cookie)
        .multipart(Form::new().part("document", part))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let flash = c.submit(&c.am_cookie, id).await;
    assert!(flash.contains("Submitted for approval"), "{flash}");
    assert!(
        flash.contains("The link waiting for Dana Whitfield&#39;s signature is voided"),
        "{flash}"
    );
    let (to, _, _) = last_mail(&c, "signing.voided").await;
    assert_eq!(to, vec!["dana@lakeside-rv.test".to_string()]);
    assert_eq!(state_of(&c, id).await, "voided");
    assert_eq!(public_page(&c, &format!("/sign/{token}")).await.0, 410);
    let reminder: String =
        sqlx::query_scalar("SELECT state FROM scheduled_jobs WHERE kind = 'signing.remind'")
            .fetch_one(&c.app.db)
            .await
            .unwrap();
    assert_eq!(reminder, "cancelled");
}

/// A self-signed seal is for development: a production desk without the agency's certificate
/// sends nothing for signature, and says what the administrator must set.
#[tokio::test]
async fn a_production_desk_without_the_agencys_seal_sends_nothing() {
    let c = crate::support::fixtures::chain_with(|config| config.production = true).await;
    let id = addendum(&c).await;
    let res = c
        .post(&c.am_cookie, &format!("/requests/{id}/signature"), SIGNER)
        .await;
    assert_eq!(res.status(), 303);
    let flash = c.flash(&c.am_cookie, id).await;
    assert!(flash.contains("Nothing was sent"), "{flash}");
    assert!(flash.contains("SEAL_PKCS12_FILE"), "{flash}");
    assert_eq!(
        count(&c, "SELECT count(*) FROM signature_requests").await,
        0
    );
}
