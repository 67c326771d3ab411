//! An addendum signed in the desk, in real headless Chromium with real email: the account
//! manager prepares and sends it, the signer's email arrives at the test SMTP server, the
//! signer opens the link in a browser of their own (no account), receives the code by email,
//! signs, and the account manager submits the request with the sealed PDF attached.

use offboarding_desk::demo;

use crate::browser::{demo_app_mailing, mail_for};
use crate::browser_approvals::file;
use crate::support::browser;
use crate::support::smtp::{self, header};

const SIGNER: &str = "owner@redrock.test";

/// The signing link in an email as the server received it (quoted-printable soft breaks
/// undone).
fn signing_link(raw: &str) -> String {
    let text = raw
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    let at = text
        .find("/sign/")
        .unwrap_or_else(|| panic!("a signing link in {raw}"));
    let start = text[..at].rfind("http").expect("an absolute link");
    let token: String = text[at + "/sign/".len()..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect();
    assert_eq!(token.len(), 64, "{raw}");
    format!("{}/sign/{token}", &text[start..at])
}

#[tokio::test]
async fn the_client_signs_from_the_emailed_link_and_the_account_manager_submits_the_sealed_copy() {
    let name = "signing journey: send, code, sign, submit";
    let Some(b) = browser::start(name).await else {
        return;
    };
    let Some(server) = smtp::start(name).await else {
        return;
    };
    let app = demo_app_mailing(&server).await;

    b.sign_in(&app.base, "am@demo.test", demo::PASSWORD).await;
    let path = file(
        &b,
        "Red Rock",
        "addendum",
        &[("current_budget", "2,100"), ("new_budget", "1,600")],
        "none",
    )
    .await;
    assert!(
        b.text("#no-signature")
            .await
            .contains("Not sent for signature yet")
    );
    b.fill("signer_name", "Rosa Delgado").await;
    b.fill("signer_title", "Owner").await;
    b.fill("signer_email", SIGNER).await;
    b.click("#signature-send").await;
    assert!(b.text("#flash").await.contains("sent to Rosa Delgado"));
    assert!(b.text("#signature").await.contains("sent, not opened yet"));

    let mail = mail_for(&app, &server, SIGNER).await;
    assert_eq!(mail.len(), 1, "one email to the signer");
    let link = signing_link(&mail[0]);
    assert!(link.starts_with(&app.base), "{link}");

    // The signer: a browser of their own, nobody signed in.
    let Some(signer) = browser::start(name).await else {
        return;
    };
    signer.driver.goto(&link).await.unwrap();
    assert!(
        signer
            .text("#terms-budget")
            .await
            .contains("$2,100.00 → $1,600.00")
    );
    signer.click("#ask-code").await;
    assert!(
        signer
            .text("#code-sent")
            .await
            .contains("We emailed a six-digit code")
    );
    let mail = mail_for(&app, &server, SIGNER).await;
    assert_eq!(mail.len(), 2, "the link, then the code");
    let subject = header(&mail[1], "Subject").expect("a subject");
    let code = subject.rsplit(' ').next().unwrap().trim().to_string();
    assert_eq!(code.len(), 6, "{subject}");
    signer.fill("code", &code).await;
    signer.click("#consent").await;
    signer.fill("name", "Rosa Delgado").await;
    signer.fill("title", "Owner").await;
    signer.click("#authorised").await;
    signer.click("#sign-button").await;
    assert!(
        signer
            .text("#sign-done")
            .await
            .contains("Signed for Red Rock")
    );
    signer.find("#signed-copy").await;
    signer.close().await;
    // The signer's copy arrives by email too, the sealed PDF attached.
    let mail = mail_for(&app, &server, SIGNER).await;
    assert_eq!(mail.len(), 3, "the link, the code, the signed copy");
    assert!(
        mail[2].contains("Content-Type: application/pdf"),
        "{}",
        mail[2]
    );
    assert!(
        mail[2].contains("Content-Disposition: attachment; filename=\"addendum-request-"),
        "{}",
        mail[2]
    );

    // The account manager hears, finds the sealed copy on the request, and submits.
    let mail = mail_for(&app, &server, "am@demo.test").await;
    assert!(
        mail.iter()
            .any(|m| header(m, "Subject").is_some_and(|s| s.starts_with("Signed: addendum"))),
        "the account manager is told"
    );
    b.driver.goto(format!("{}{path}", app.base)).await.unwrap();
    assert!(
        b.text("#signature .signature-signed")
            .await
            .contains("signed")
    );
    assert!(b.text("#attachments").await.contains("-signed.pdf"));
    b.click("#submit-request").await;
    b.accept_confirm().await;
    assert!(b.text("#flash").await.contains("Submitted for approval"));
    b.close().await;
}
