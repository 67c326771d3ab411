//! The addendum as a document: drafted from a request's terms and the admin's wording, and,
//! once signed, executed with its signature block filled and a certificate of completion that
//! lists the evidence. Pure: the same inputs give the same pages.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use super::pdf::{Document, MARGIN, Metrics, PAGE_HEIGHT, PAGE_WIDTH, Page, Style, Text};
use crate::money::format_cents;

/// What an addendum says, from the request and the wording in force when it was prepared.
/// Kept with the document (`addendum_documents.terms`), so the executed copy says exactly what
/// was sent.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Terms {
    pub agency: String,
    pub client: String,
    pub crm_account_id: String,
    pub request_id: i64,
    pub current_budget_cents: i64,
    pub new_budget_cents: i64,
    pub effective_date: NaiveDate,
    pub wording_version: i32,
    pub wording: String,
    pub signer_name: String,
    pub signer_title: String,
    pub signer_email: String,
}

/// The signature as given on the signing page.
#[derive(Debug, Clone, PartialEq)]
pub struct Signed {
    pub name: String,
    pub title: String,
    pub at: DateTime<Utc>,
    /// The zone the time is printed in beside UTC, named with it: the agency's (the desk keeps
    /// no time zone per client).
    pub zone: Tz,
}

/// One event of the signature's record, as the certificate lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct EventLine {
    pub at: DateTime<Utc>,
    pub what: String,
    pub ip: String,
}

/// The evidence the certificate of completion states.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    /// SHA-256 of the addendum as sent, hex.
    pub document_sha256: String,
    pub sender_name: String,
    pub sender_email: String,
    pub sender_ip: String,
    pub signer_ip: String,
    pub verified_by: String,
    pub consent_wording: String,
    pub consent_version: i32,
    pub consent_at: DateTime<Utc>,
    pub events: Vec<EventLine>,
    /// The hash of the last event of the chain, hex.
    pub chain_head: String,
    /// SHA-256 of the seal's certificate, hex.
    pub seal_fingerprint: String,
    /// Said when the seal is the desk's own, not one issued to the agency.
    pub seal_note: Option<String>,
}

const BODY: f32 = 10.5;
const LEADING: f32 = 15.0;
const WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN;
const LABEL_WIDTH: f32 = 170.0;

/// Pages filled top to bottom, a new page when one is full, each page footed with the
/// request's number and the page count.
struct Layout {
    metrics: Metrics,
    pages: Vec<Page>,
    y: f32,
    footer: String,
}

impl Layout {
    fn new(footer: String) -> Self {
        Layout {
            metrics: Metrics::default(),
            pages: vec![Page::default()],
            y: PAGE_HEIGHT - MARGIN,
            footer,
        }
    }

    fn page(&mut self) -> &mut Page {
        self.pages.last_mut().expect("a layout has a page")
    }

    fn new_page(&mut self) {
        self.pages.push(Page::default());
        self.y = PAGE_HEIGHT - MARGIN;
    }

    /// Room for `height` more points, or a new page.
    fn room(&mut self, height: f32) {
        if self.y - height < MARGIN + 24.0 {
            self.new_page();
        }
    }

    fn text(&mut self, x: f32, size: f32, style: Style, gray: bool, text: &str) {
        let y = self.y;
        self.page().texts.push(Text {
            x,
            y,
            size,
            style,
            gray,
            text: text.to_string(),
        });
    }

    fn title(&mut self, text: &str) {
        self.room(30.0);
        self.y -= 18.0;
        self.text(MARGIN, 17.0, Style::Bold, false, text);
        self.y -= 10.0;
        let y = self.y;
        self.page().rules.push((MARGIN, PAGE_WIDTH - MARGIN, y));
        self.y -= 14.0;
    }

    fn heading(&mut self, text: &str) {
        self.room(40.0);
        self.y -= 10.0;
        self.text(MARGIN, 12.5, Style::Bold, false, text);
        self.y -= LEADING + 2.0;
    }

    fn paragraph(&mut self, text: &str) {
        for line in self.metrics.wrap(text, Style::Regular, BODY, WIDTH) {
            self.room(LEADING);
            self.text(MARGIN, BODY, Style::Regular, false, &line);
            self.y -= LEADING;
        }
        self.y -= 5.0;
    }

    /// A label and its value beside it; a long value wraps in its column.
    fn pair(&mut self, label: &str, value: &str) {
        let lines = self
            .metrics
            .wrap(value, Style::Regular, BODY, WIDTH - LABEL_WIDTH);
        self.room(LEADING * lines.len() as f32);
        self.text(MARGIN, BODY, Style::Regular, true, label);
        for line in lines {
            self.text(MARGIN + LABEL_WIDTH, BODY, Style::Regular, false, &line);
            self.y -= LEADING;
        }
    }

    /// A label, and below it a value that needs the whole width (a fingerprint).
    fn block(&mut self, label: &str, value: &str) {
        self.room(2.0 * LEADING);
        self.text(MARGIN, BODY, Style::Regular, true, label);
        self.y -= LEADING - 2.0;
        for line in self.metrics.wrap(value, Style::Regular, 9.0, WIDTH) {
            self.room(LEADING);
            self.text(MARGIN, 9.0, Style::Regular, false, &line);
            self.y -= LEADING - 2.0;
        }
        self.y -= 4.0;
    }

    fn space(&mut self, points: f32) {
        self.y -= points;
    }

    fn finish(mut self, title: String) -> Document {
        let count = self.pages.len();
        for (i, page) in self.pages.iter_mut().enumerate() {
            page.texts.push(Text {
                x: MARGIN,
                y: MARGIN - 20.0,
                size: 8.5,
                style: Style::Regular,
                gray: true,
                text: format!("{} · page {} of {count}", self.footer, i + 1),
            });
        }
        Document {
            title,
            pages: self.pages,
        }
    }
}

/// The wording's `{name}` placeholders replaced by their values in one pass (a value that
/// itself reads like a placeholder stays as it is); an unknown name stays as written.
pub fn fill(wording: &str, values: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(wording.len());
    let mut rest = wording;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let known = after.find('}').and_then(|close| {
            let name = &after[..close];
            values
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (value, close))
        });
        match known {
            Some((value, close)) => {
                out.push_str(value);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A date as a contract writes it: "January 1, 2027".
pub fn long_date(day: NaiveDate) -> String {
    day.format("%B %-d, %Y").to_string()
}

fn moment(at: DateTime<Utc>, zone: Tz) -> String {
    format!(
        "{} ({})",
        at.with_timezone(&zone).format("%B %-d, %Y at %-I:%M %p %Z"),
        at.format("%Y-%m-%d %H:%M:%S UTC")
    )
}

fn body(layout: &mut Layout, terms: &Terms) {
    layout.title("Addendum to the advertising services agreement");
    layout.pair("Agency", &terms.agency);
    layout.pair("Client", &terms.client);
    layout.pair("CRM account", &terms.crm_account_id);
    layout.pair("Request", &format!("#{}", terms.request_id));
    layout.space(6.0);
    layout.heading("The change");
    layout.pair(
        "Monthly budget now",
        &format_cents(terms.current_budget_cents),
    );
    layout.pair("New monthly budget", &format_cents(terms.new_budget_cents));
    layout.pair("Effective", &long_date(terms.effective_date));
    layout.space(6.0);
    layout.heading("Terms");
    let values = [
        ("agency", terms.agency.clone()),
        ("client", terms.client.clone()),
        ("current_budget", format_cents(terms.current_budget_cents)),
        ("new_budget", format_cents(terms.new_budget_cents)),
        ("effective_date", long_date(terms.effective_date)),
    ];
    for paragraph in terms.wording.split("\n\n") {
        layout.paragraph(fill(paragraph, &values).trim());
    }
    layout.space(4.0);
    layout.text(
        MARGIN,
        8.5,
        Style::Regular,
        true,
        &format!("Addendum wording, version {}", terms.wording_version),
    );
    layout.space(LEADING);
}

fn footer(terms: &Terms) -> String {
    format!(
        "Addendum · {} · request #{}",
        terms.client, terms.request_id
    )
}

/// The addendum as sent for signature: its signature block names the signer, unfilled.
pub fn unsigned(terms: &Terms) -> Document {
    let mut layout = Layout::new(footer(terms));
    body(&mut layout, terms);
    layout.heading(&format!("Signed for {}", terms.client));
    layout.pair("Name", &terms.signer_name);
    layout.pair("Title", &terms.signer_title);
    layout.pair("Signature", "to be signed electronically");
    layout.pair("Date", "");
    layout.finish(format!("Addendum, request #{}", terms.request_id))
}

/// The executed addendum: the signature block filled, and the certificate of completion.
pub fn executed(terms: &Terms, signed: &Signed, evidence: &Evidence) -> Document {
    let mut layout = Layout::new(footer(terms));
    body(&mut layout, terms);
    layout.heading(&format!("Signed for {}", terms.client));
    layout.pair("Name", &signed.name);
    layout.pair("Title", &signed.title);
    layout.pair(
        "Signature",
        &format!("/{}/ (signed electronically)", signed.name),
    );
    layout.pair("Date", &moment(signed.at, signed.zone));
    layout.pair("Request", &format!("#{}", terms.request_id));

    layout.new_page();
    layout.title("Certificate of completion");
    layout.pair(
        "Document",
        &format!("Addendum, request #{}", terms.request_id),
    );
    layout.block("Fingerprint as sent (SHA-256)", &evidence.document_sha256);
    layout.paragraph(
        "Executed: this file is sealed by the agency's certificate below; any change to it \
         breaks the seal. A file cannot print its own fingerprint: the desk records the \
         executed file's SHA-256 on the request and checks a copy on its verify page.",
    );
    layout.block("Seal certificate (SHA-256)", &evidence.seal_fingerprint);
    layout.space(6.0);
    layout.heading("Signer");
    layout.pair(
        "Signed by",
        &format!("{} ({}), {}", signed.name, signed.title, terms.signer_email),
    );
    layout.pair("Signed at", &moment(signed.at, signed.zone));
    layout.pair("From address", &evidence.signer_ip);
    layout.pair("Verified by", &evidence.verified_by);
    layout.pair(
        "Consent",
        &format!(
            "“{}” (wording version {})",
            evidence.consent_wording, evidence.consent_version
        ),
    );
    layout.pair("Consent given", &moment(evidence.consent_at, signed.zone));
    layout.space(6.0);
    layout.heading("Sender");
    layout.pair(
        "Sent by",
        &format!("{}, {}", evidence.sender_name, evidence.sender_email),
    );
    layout.pair("From address", &evidence.sender_ip);
    layout.space(6.0);
    layout.heading("Record of events");
    for event in &evidence.events {
        layout.pair(
            &event.at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            &if event.ip.is_empty() {
                event.what.clone()
            } else {
                format!("{} (from {})", event.what, event.ip)
            },
        );
    }
    layout.block(
        "The record's last hash (SHA-256 chain)",
        &evidence.chain_head,
    );
    if let Some(note) = &evidence.seal_note {
        layout.space(6.0);
        layout.paragraph(note);
    }
    layout.finish(format!("Executed addendum, request #{}", terms.request_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn terms() -> Terms {
        Terms {
            agency: "Northwind Digital".into(),
            client: "Łódź Café & Grill".into(),
            crm_account_id: "0017-A".into(),
            request_id: 4711,
            current_budget_cents: 1_200_000,
            new_budget_cents: 850_000,
            effective_date: NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
            wording_version: 3,
            wording: "{client} and {agency} agree that the monthly budget is {new_budget} from \
                      {effective_date}.\n\nEverything else in the agreement stays as it is."
                .into(),
            signer_name: "Ana Nowak".into(),
            signer_title: "Owner".into(),
            signer_email: "ana@lodz-cafe.test".into(),
        }
    }

    fn all_text(document: &Document) -> String {
        document
            .pages
            .iter()
            .flat_map(|p| p.texts.iter().map(|t| t.text.as_str()))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn placeholders_are_filled_once_and_unknown_ones_stay() {
        let values = [
            ("client", "{new_budget} Motors".to_string()),
            ("new_budget", "$1.00".to_string()),
        ];
        assert_eq!(
            fill("{client} pays {new_budget} {unknown} {", &values),
            "{new_budget} Motors pays $1.00 {unknown} {"
        );
        assert_eq!(fill("", &values), "");
        assert_eq!(fill("}{client}{", &values), "}{new_budget} Motors{");
    }

    #[test]
    fn the_unsigned_addendum_states_the_terms_and_names_the_signer() {
        let document = unsigned(&terms());
        let text = all_text(&document);
        for expected in [
            "Łódź Café & Grill",
            "0017-A",
            "#4711",
            "$12,000.00",
            "$8,500.00",
            "January 1, 2027",
            "Addendum wording, version 3",
            "Ana Nowak",
            "Owner",
            "Everything else in the agreement stays as it is.",
        ] {
            assert!(text.contains(expected), "{expected:?} in {text}");
        }
        assert!(!text.contains('{'), "every placeholder filled: {text}");
        assert_eq!(document.pages.len(), 1);
    }

    #[test]
    fn the_executed_addendum_adds_the_signature_and_the_certificate() {
        let at = DateTime::parse_from_rfc3339("2026-12-03T16:05:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let signed = Signed {
            name: "Ana Nowak".into(),
            title: "Owner".into(),
            at,
            zone: chrono_tz::America::Chicago,
        };
        let evidence = Evidence {
            document_sha256: "ab".repeat(32),
            sender_name: "Maria Chen".into(),
            sender_email: "am@agency.test".into(),
            sender_ip: "10.0.0.5".into(),
            signer_ip: "203.0.113.9".into(),
            verified_by: "a 6-digit code emailed to ana@lodz-cafe.test".into(),
            consent_wording: "I agree to use electronic records".into(),
            consent_version: 2,
            consent_at: at,
            events: (0..60)
                .map(|i| EventLine {
                    at,
                    what: format!("event {i}"),
                    ip: "203.0.113.9".into(),
                })
                .collect(),
            chain_head: "cd".repeat(32),
            seal_fingerprint: "ef".repeat(32),
            seal_note: Some("Sealed with the desk's own certificate.".into()),
        };
        let document = executed(&terms(), &signed, &evidence);
        let text = all_text(&document);
        for expected in [
            "/Ana Nowak/ (signed electronically)",
            // In the client's zone and in UTC (the line wraps before "UTC").
            "December 3, 2026 at 10:05 AM CST (2026-12-03 16:05:00",
            "Certificate of completion",
            &"ab".repeat(32),
            &"cd".repeat(32),
            &"ef".repeat(32),
            "(wording version 2)",
            "event 0",
            "event 59",
            "Sealed with the desk's own certificate.",
            "page 1 of",
        ] {
            assert!(text.contains(expected), "{expected:?} in {text}");
        }
        assert!(
            document.pages.len() >= 3,
            "sixty events run onto a new page"
        );
        // Every line stays on its page.
        for page in &document.pages {
            for t in &page.texts {
                assert!(t.y >= MARGIN - 20.0 && t.y <= PAGE_HEIGHT - MARGIN, "{t:?}");
            }
        }
    }
}
