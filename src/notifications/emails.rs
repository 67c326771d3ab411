//! The kinds of email, each a subject, a plain-text body and an HTML body (askama), with
//! absolute links built from the configured public address. Links open pages; they never act.

use askama::Template;

/// The frame every HTML email shares.
pub struct EmailFrame {
    pub base_url: String,
    /// The agency's name when the email goes to a client (a signer): framed as the agency's,
    /// without the desk's name or a link into it.
    pub client_of: Option<String>,
}

/// Sent by an admin from the mail log, to check the path end to end.
/// One email, rendered and addressed, ready to queue.
#[derive(Clone, Debug)]
pub struct OutgoingEmail {
    /// Which template made it (`test`, `approval.requested`, …).
    pub kind: &'static str,
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The record it is about, for the mail log.
    pub related: Option<(&'static str, String)>,
}

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
        client_of: None,
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

/// A notice about a record: a few facts and a link to the page where the person acts.
#[derive(Template)]
#[template(path = "emails/notice.txt")]
struct NoticeText<'a> {
    signature: &'a str,
    intro: &'a str,
    facts: &'a [(&'a str, String)],
    link: &'a str,
    link_label: &'a str,
}

#[derive(Template)]
#[template(path = "emails/notice.html")]
struct NoticeHtml<'a> {
    frame: &'a EmailFrame,
    intro: &'a str,
    facts: &'a [(&'a str, String)],
    link: &'a str,
    link_label: &'a str,
}

/// What a notice says.
pub struct Notice<'a> {
    pub kind: &'static str,
    pub to: Vec<String>,
    pub subject: String,
    pub intro: &'a str,
    pub facts: Vec<(&'a str, String)>,
    /// A path in the app, made absolute here.
    pub path: String,
    pub link_label: &'a str,
    pub related: Option<(&'static str, String)>,
}

/// Renders a notice. Its link opens a page; the page's buttons do the work.
pub fn notice(base_url: &str, n: Notice<'_>) -> askama::Result<OutgoingEmail> {
    framed(base_url, None, n)
}

/// Renders a notice to someone outside the agency (a client's signer), as `agency`'s.
pub fn client_notice(base_url: &str, agency: &str, n: Notice<'_>) -> askama::Result<OutgoingEmail> {
    framed(base_url, Some(agency), n)
}

fn framed(base_url: &str, client_of: Option<&str>, n: Notice<'_>) -> askama::Result<OutgoingEmail> {
    let frame = EmailFrame {
        base_url: base_url.to_string(),
        client_of: client_of.map(str::to_string),
    };
    let link = format!("{base_url}{}", n.path);
    Ok(OutgoingEmail {
        kind: n.kind,
        to: n.to,
        subject: n.subject,
        text: NoticeText {
            signature: client_of.unwrap_or("Offboarding Desk"),
            intro: n.intro,
            facts: &n.facts,
            link: &link,
            link_label: n.link_label,
        }
        .render()?,
        html: NoticeHtml {
            frame: &frame,
            intro: n.intro,
            facts: &n.facts,
            link: &link,
            link_label: n.link_label,
        }
        .render()?,
        related: n.related,
    })
}
