//! The kinds of email, each a subject, a plain-text body and an HTML body (askama), with
//! absolute links built from the configured public address. Links open pages; they never act.

use askama::Template;

use super::outbox::OutgoingEmail;

/// The frame every HTML email shares.
pub struct EmailFrame {
    pub base_url: String,
}

/// Sent by an admin from the mail log, to check the path end to end.
#[derive(Template)]
#[template(path = "emails/test.txt")]
struct TestText<'a> {
    name: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "emails/test.html")]
struct TestHtml<'a> {
    frame: &'a EmailFrame,
    name: &'a str,
    link: &'a str,
}

/// The test email to `to`, for `name`.
pub fn test_email(base_url: &str, to: &str, name: &str) -> askama::Result<OutgoingEmail> {
    let frame = EmailFrame {
        base_url: base_url.to_string(),
    };
    let link = format!("{base_url}/admin/mail");
    Ok(OutgoingEmail {
        kind: "test",
        to: vec![to.to_string()],
        subject: "Offboarding Desk: test message".to_string(),
        text: TestText { name, link: &link }.render()?,
        html: TestHtml {
            frame: &frame,
            name,
            link: &link,
        }
        .render()?,
        related: None,
    })
}
