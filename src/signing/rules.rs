//! The rules of signing, pure (the time passed in): what a link shows in each state, whether
//! a one-time code is right, what the signing and declining forms need, when a reminder is
//! due and when changed terms void a request. The link's token and the code are random and
//! kept only as hashes; a code is compared in constant time.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sha2::{Digest, Sha256};

use crate::auth::token;
use crate::web::text;

/// How long an emailed link works.
pub const LINK_DAYS: i64 = 14;
/// How long an emailed code works, and how many tries it has.
pub const CODE_MINUTES: i64 = 10;
pub const CODE_TRIES: i32 = 5;
/// A signer who has not signed is reminded once, this long after the link was sent.
pub const REMIND_AFTER_DAYS: i64 = 3;
/// The consent the signer gives, and its version (the certificate names both).
pub const CONSENT_VERSION: i32 = 1;
pub const CONSENT: &str = "I agree to use electronic records and signatures for this \
                           addendum, and I can download a copy of it.";

/// A signature request's state, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Sent,
    Opened,
    Signed,
    Declined,
    Voided,
    Expired,
}

impl State {
    pub const ALL: [State; 6] = [
        State::Sent,
        State::Opened,
        State::Signed,
        State::Declined,
        State::Voided,
        State::Expired,
    ];

    pub fn key(self) -> &'static str {
        match self {
            State::Sent => "sent",
            State::Opened => "opened",
            State::Signed => "signed",
            State::Declined => "declined",
            State::Voided => "voided",
            State::Expired => "expired",
        }
    }

    pub fn from_key(key: &str) -> Option<State> {
        State::ALL.into_iter().find(|s| s.key() == key)
    }

    /// How the request's page names it.
    pub fn label(self) -> &'static str {
        match self {
            State::Sent => "sent, not opened yet",
            State::Opened => "opened, not signed yet",
            State::Signed => "signed",
            State::Declined => "declined",
            State::Voided => "voided",
            State::Expired => "expired",
        }
    }

    /// Waiting on the signer.
    pub fn live(self) -> bool {
        matches!(self, State::Sent | State::Opened)
    }
}

/// What `/sign/<token>` shows. An unknown token and an expired one say nothing of what exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPage {
    /// No request has this token.
    Unknown,
    /// Past its 14 days, or ended as expired.
    Expired,
    /// Replaced or withdrawn by the agency.
    Voided,
    /// Declined by the signer.
    Declined,
    /// Signed: only "signed on …" and the download.
    Signed,
    /// Waiting: the terms, the document and the signing form.
    Open,
}

/// The page a link leads to: the request its token names (its state and when it expires), if
/// any, at `now`.
pub fn link_page(found: Option<(State, DateTime<Utc>)>, now: DateTime<Utc>) -> LinkPage {
    match found {
        None => LinkPage::Unknown,
        Some((State::Signed, _)) => LinkPage::Signed,
        Some((State::Declined, _)) => LinkPage::Declined,
        Some((State::Voided, _)) => LinkPage::Voided,
        Some((State::Expired, _)) => LinkPage::Expired,
        Some((_, expires)) if now >= expires => LinkPage::Expired,
        Some(_) => LinkPage::Open,
    }
}

/// A new link's token (256 random bits, as the desk's other secrets are made:
/// `auth::token`) and the hash kept of it, the hash a link is looked up by (`token::digest`:
/// anything typed into an address is only ever hashed).
pub fn new_token() -> (String, Vec<u8>) {
    let token = token::random_hex(32);
    let hash = token::digest(&token);
    (token, hash)
}

/// A new six-digit code for signature request `request`, and the hash kept of it (salted
/// with the request, so one hash says nothing of another's code; with a million codes the
/// hash is no secret by itself: the ten minutes and five tries are what protect it).
pub fn new_code(request: i64) -> (String, [u8; 32]) {
    let n: u32 = rand::random_range(0..1_000_000);
    let code = format!("{n:06}");
    let hash = code_hash(request, &code);
    (code, hash)
}

pub fn code_hash(request: i64, code: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(request.to_be_bytes());
    h.update(code.as_bytes());
    h.finalize().into()
}

/// The code as stored on the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredCode<'a> {
    pub hash: Option<&'a [u8]>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Wrong codes entered so far.
    pub tries: i32,
}

/// What a typed code gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    Confirmed,
    /// Not six digits: said, and not counted as a try.
    Malformed,
    /// Wrong: counted; how many tries are left.
    Wrong {
        tries_left: i32,
    },
    /// No code was sent yet.
    NoCode,
    /// Sent more than ten minutes ago: a new one must be asked for.
    CodeExpired,
    /// Five wrong codes: a new one must be asked for.
    TooManyTries,
}

impl CodeCheck {
    /// The sentence beside the code field.
    pub fn message(self) -> Option<String> {
        match self {
            CodeCheck::Confirmed => None,
            CodeCheck::Malformed => Some("Type the six digits of the code we emailed you.".into()),
            CodeCheck::Wrong { tries_left: 0 } => Some(
                "That code is not right, and it cannot be tried again: ask for a new code.".into(),
            ),
            CodeCheck::Wrong { tries_left } => Some(format!(
                "That code is not right. {tries_left} {} left.",
                if tries_left == 1 { "try" } else { "tries" }
            )),
            CodeCheck::NoCode => Some("Ask for a code first: we email it to you.".into()),
            CodeCheck::CodeExpired => {
                Some("That code has expired (codes last ten minutes): ask for a new one.".into())
            }
            CodeCheck::TooManyTries => Some("Too many wrong codes: ask for a new one.".into()),
        }
    }
}

/// Checks `typed` (spaces and dashes ignored) against request `request`'s stored code at `now`.
pub fn check_code(
    request: i64,
    stored: StoredCode<'_>,
    typed: &str,
    now: DateTime<Utc>,
) -> CodeCheck {
    let (Some(hash), Some(expires)) = (stored.hash, stored.expires_at) else {
        return CodeCheck::NoCode;
    };
    if stored.tries >= CODE_TRIES {
        return CodeCheck::TooManyTries;
    }
    if now >= expires {
        return CodeCheck::CodeExpired;
    }
    let digits: String = typed.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if digits.len() != 6 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return CodeCheck::Malformed;
    }
    if token::same_bytes(&code_hash(request, &digits), hash) {
        CodeCheck::Confirmed
    } else {
        CodeCheck::Wrong {
            tries_left: CODE_TRIES - stored.tries - 1,
        }
    }
}

/// The signing form as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignForm {
    pub consent: bool,
    pub authorised: bool,
    pub name: String,
    pub title: String,
}

/// A signature as checked: the typed name and title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub name: String,
    pub title: String,
}

/// Checks the signing form: every problem, each beside its field.
pub fn check_sign(form: &SignForm, client: &str) -> Result<Signature, Vec<(&'static str, String)>> {
    let mut problems = Vec::new();
    if !form.consent {
        problems.push((
            "consent",
            "Tick the box to agree to sign electronically, or decline below.".to_string(),
        ));
    }
    let metrics = super::pdf::Metrics::default();
    let printable = |s: String| metrics.refuse_unprintable(&s).map(|()| s);
    let name = text::label(&form.name, 200, "Type your full name as your signature.")
        .and_then(printable)
        .map_err(|m| problems.push(("name", m)))
        .ok();
    let title = text::label(&form.title, 200, "Type your title (for example, Owner).")
        .and_then(printable)
        .map_err(|m| problems.push(("title", m)))
        .ok();
    if !form.authorised {
        problems.push((
            "authorised",
            format!("Confirm that you are authorised to sign for {client}."),
        ));
    }
    match (name, title) {
        (Some(name), Some(title)) if problems.is_empty() => Ok(Signature { name, title }),
        _ => Err(problems),
    }
}

/// A reason to decline: required, up to 2,000 characters.
pub fn check_decline(reason: &str) -> Result<String, String> {
    text::required(
        reason,
        2000,
        "Say why you decline, so the agency can follow up.",
    )
}

/// The values an addendum's wording may name, each in braces.
pub const PLACEHOLDERS: [&str; 5] = [
    "agency",
    "client",
    "current_budget",
    "new_budget",
    "effective_date",
];

/// Checks the admin's wording for addendums: required, at most 20,000 characters, no control
/// characters but line breaks, and every `{name}` one the addendum fills.
pub fn check_wording(raw: &str) -> Result<String, String> {
    let wording = text::required(raw, 20_000, "Write the addendum's wording.")?;
    super::pdf::Metrics::default().refuse_unprintable(&wording)?;
    let mut rest = wording.as_str();
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Err("A “{” is not closed: write placeholders as {client}.".into());
        };
        let name = &after[..close];
        if !PLACEHOLDERS.contains(&name) {
            return Err(format!(
                "“{{{name}}}” is not a value the addendum knows: use {}.",
                PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
            ));
        }
        rest = &after[close + 1..];
    }
    Ok(wording)
}

/// Whether the one reminder is due: waiting, not reminded, sent three days ago or more, and
/// not yet expired.
pub fn reminder_due(
    state: State,
    sent_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    reminded: bool,
    now: DateTime<Utc>,
) -> bool {
    state.live()
        && !reminded
        && now >= sent_at + Duration::days(REMIND_AFTER_DAYS)
        && now < expires_at
}

/// The terms a signature is asked for: when the request's differ from the document's, the
/// signature request is voided (a signature always matches the terms submitted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedTerms {
    pub current_budget_cents: i64,
    pub new_budget_cents: i64,
    pub effective_date: NaiveDate,
}

/// What changed between the terms sent and the request's now, said for the person who changed
/// them; `None` when nothing did.
pub fn terms_changed(sent: SignedTerms, now: SignedTerms) -> Option<String> {
    let mut changed = Vec::new();
    if sent.current_budget_cents != now.current_budget_cents {
        changed.push("the current budget");
    }
    if sent.new_budget_cents != now.new_budget_cents {
        changed.push("the new budget");
    }
    if sent.effective_date != now.effective_date {
        changed.push("the effective date");
    }
    (!changed.is_empty()).then(|| {
        format!(
            "The addendum sent for signature no longer matches the request ({} changed): its \
             signature request is voided and the signer told so. Prepare and send it again.",
            changed.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wording_names_only_the_values_an_addendum_fills() {
        let ok =
            "{client} and {agency} move from {current_budget} to {new_budget} on {effective_date}.";
        assert_eq!(check_wording(&format!("  {ok}\n")).unwrap(), ok);
        assert_eq!(
            check_wording("No placeholders at all.").unwrap(),
            "No placeholders at all."
        );
        assert!(
            check_wording(" ")
                .unwrap_err()
                .contains("Write the addendum")
        );
        assert!(
            check_wording("{clinet} agrees")
                .unwrap_err()
                .contains("{clinet}")
        );
        assert!(
            check_wording("{client agrees")
                .unwrap_err()
                .contains("not closed")
        );
        assert!(
            check_wording("a\0b")
                .unwrap_err()
                .contains("control character")
        );
        assert!(
            check_wording(&"x".repeat(20_001))
                .unwrap_err()
                .contains("20000")
        );
        assert!(check_wording("{}").unwrap_err().contains("{}"));
        assert!(check_wording("李 agrees").unwrap_err().contains("no “李”"));
    }

    fn at(h: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_796_000_000, 0).unwrap() + Duration::hours(h)
    }

    #[test]
    fn every_state_and_time_leads_to_its_page() {
        let expires = at(24 * LINK_DAYS);
        assert_eq!(link_page(None, at(0)), LinkPage::Unknown);
        for state in State::ALL {
            for (now, before_expiry) in [(at(1), true), (expires, false), (at(24 * 30), false)] {
                let expected = match state {
                    State::Signed => LinkPage::Signed,
                    State::Declined => LinkPage::Declined,
                    State::Voided => LinkPage::Voided,
                    State::Expired => LinkPage::Expired,
                    State::Sent | State::Opened if before_expiry => LinkPage::Open,
                    State::Sent | State::Opened => LinkPage::Expired,
                };
                assert_eq!(
                    link_page(Some((state, expires)), now),
                    expected,
                    "{state:?} at {now}"
                );
            }
        }
    }

    #[test]
    fn tokens_are_256_bits_in_url_safe_characters_found_by_their_hash_only() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let (token, hash) = new_token();
            assert_eq!(token.len(), 64);
            assert!(token.chars().all(|c| c.is_ascii_hexdigit()));
            assert_eq!(token::digest(&token), hash);
            assert_eq!(hash.len(), 32);
            assert!(seen.insert(token));
        }
        assert_ne!(token::digest("a"), token::digest("b"));
        // Anything typed is only hashed: a NUL byte or a very long address included.
        let _ = token::digest("\0");
        let _ = token::digest(&"x".repeat(100_000));
    }

    #[test]
    fn a_code_is_six_digits_and_its_hash_belongs_to_its_request() {
        for _ in 0..200 {
            let (code, hash) = new_code(9);
            assert_eq!(code.len(), 6);
            assert!(code.chars().all(|c| c.is_ascii_digit()));
            assert_eq!(code_hash(9, &code), hash);
            assert_ne!(code_hash(10, &code), hash);
        }
    }

    #[test]
    fn every_code_outcome() {
        let hash = code_hash(3, "123456");
        let stored = |tries, expires| StoredCode {
            hash: Some(&hash),
            expires_at: Some(expires),
            tries,
        };
        let now = at(0);
        let live = now + Duration::minutes(CODE_MINUTES);
        assert_eq!(
            check_code(3, stored(0, live), "123456", now),
            CodeCheck::Confirmed
        );
        assert_eq!(
            check_code(3, stored(0, live), "123 456", now),
            CodeCheck::Confirmed
        );
        assert_eq!(
            check_code(3, stored(0, live), "123-456", now),
            CodeCheck::Confirmed
        );
        assert_eq!(
            check_code(4, stored(0, live), "123456", now),
            CodeCheck::Wrong { tries_left: 4 },
            "another request's code"
        );
        for (tries, left) in [(0, 4), (1, 3), (3, 1), (4, 0)] {
            assert_eq!(
                check_code(3, stored(tries, live), "654321", now),
                CodeCheck::Wrong { tries_left: left }
            );
        }
        assert_eq!(
            check_code(3, stored(CODE_TRIES, live), "123456", now),
            CodeCheck::TooManyTries,
            "even the right code, after five wrong ones"
        );
        assert_eq!(
            check_code(3, stored(0, now), "123456", now),
            CodeCheck::CodeExpired
        );
        for malformed in [
            "",
            "12345",
            "1234567",
            "12345a",
            "１２３４５６",
            "\0\0\0\0\0\0",
        ] {
            assert_eq!(
                check_code(3, stored(0, live), malformed, now),
                CodeCheck::Malformed,
                "{malformed:?}"
            );
        }
        let none = StoredCode {
            hash: None,
            expires_at: None,
            tries: 0,
        };
        assert_eq!(check_code(3, none, "123456", now), CodeCheck::NoCode);
        for check in [
            CodeCheck::Malformed,
            CodeCheck::Wrong { tries_left: 1 },
            CodeCheck::Wrong { tries_left: 0 },
            CodeCheck::NoCode,
            CodeCheck::CodeExpired,
            CodeCheck::TooManyTries,
        ] {
            assert!(check.message().is_some(), "{check:?}");
        }
        assert_eq!(
            CodeCheck::Wrong { tries_left: 1 }.message().unwrap(),
            "That code is not right. 1 try left."
        );
        assert_eq!(CodeCheck::Confirmed.message(), None);
    }

    #[test]
    fn the_signing_form_needs_consent_a_name_a_title_and_authority() {
        let whole = SignForm {
            consent: true,
            authorised: true,
            name: "  Dale   Porter ".into(),
            title: "Owner".into(),
        };
        assert_eq!(
            check_sign(&whole, "Lakeside RV"),
            Ok(Signature {
                name: "Dale Porter".into(),
                title: "Owner".into()
            })
        );
        let fields = |form: SignForm| -> Vec<&'static str> {
            check_sign(&form, "Lakeside RV")
                .unwrap_err()
                .into_iter()
                .map(|(f, _)| f)
                .collect()
        };
        assert_eq!(
            fields(SignForm::default()),
            ["consent", "name", "title", "authorised"]
        );
        assert_eq!(
            fields(SignForm {
                consent: false,
                ..whole.clone()
            }),
            ["consent"]
        );
        // A name the document's typeface cannot print is refused, not printed as "???".
        for bad in [
            "",
            "   ",
            "Dale\0Porter",
            "Dale\nPorter",
            &"x".repeat(201),
            "李小龙",
        ] {
            assert_eq!(
                fields(SignForm {
                    name: bad.into(),
                    ..whole.clone()
                }),
                ["name"],
                "{bad:?}"
            );
        }
        let unauthorised = check_sign(
            &SignForm {
                authorised: false,
                ..whole.clone()
            },
            "Lakeside RV",
        )
        .unwrap_err();
        assert_eq!(
            unauthorised,
            [(
                "authorised",
                "Confirm that you are authorised to sign for Lakeside RV.".to_string()
            )]
        );
    }

    #[test]
    fn declining_needs_a_reason() {
        assert!(check_decline("").is_err());
        assert!(check_decline("   ").is_err());
        assert!(check_decline("a\0b").is_err());
        assert!(check_decline(&"x".repeat(2001)).is_err());
        assert_eq!(
            check_decline(" Budget is final \r\n").unwrap(),
            "Budget is final"
        );
    }

    #[test]
    fn one_reminder_after_three_days_while_waiting() {
        let sent = at(0);
        let expires = sent + Duration::days(LINK_DAYS);
        let due = sent + Duration::days(REMIND_AFTER_DAYS);
        for state in State::ALL {
            assert_eq!(
                reminder_due(state, sent, expires, false, due),
                state.live(),
                "{state:?}"
            );
        }
        assert!(!reminder_due(
            State::Sent,
            sent,
            expires,
            false,
            due - Duration::seconds(1)
        ));
        assert!(!reminder_due(State::Sent, sent, expires, true, due));
        assert!(!reminder_due(State::Opened, sent, expires, false, expires));
    }

    #[test]
    fn changed_terms_are_named() {
        let sent = SignedTerms {
            current_budget_cents: 100,
            new_budget_cents: 50,
            effective_date: NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
        };
        assert_eq!(terms_changed(sent, sent), None);
        let message = terms_changed(
            sent,
            SignedTerms {
                new_budget_cents: 60,
                effective_date: NaiveDate::from_ymd_opt(2027, 2, 1).unwrap(),
                ..sent
            },
        )
        .unwrap();
        assert!(
            message.contains("(the new budget, the effective date changed)"),
            "{message}"
        );
        assert!(
            terms_changed(
                sent,
                SignedTerms {
                    current_budget_cents: 1,
                    ..sent
                }
            )
            .unwrap()
            .contains("the current budget")
        );
    }
}
