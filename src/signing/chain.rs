//! A signature's record of events: added through the database, which numbers each event and
//! hashes it over the one before (migration 29), and checked here, independently of the
//! database's own computation: a changed, removed, inserted or reordered event is found, with
//! the first place the chain breaks.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;

/// What happened to a signature request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Created,
    Emailed,
    Opened,
    CodeSent,
    CodeVerified,
    CodeRefused,
    Consented,
    Signed,
    Declined,
    Voided,
    Expired,
    Reminded,
}

impl EventKind {
    pub const ALL: [EventKind; 12] = [
        EventKind::Created,
        EventKind::Emailed,
        EventKind::Opened,
        EventKind::CodeSent,
        EventKind::CodeVerified,
        EventKind::CodeRefused,
        EventKind::Consented,
        EventKind::Signed,
        EventKind::Declined,
        EventKind::Voided,
        EventKind::Expired,
        EventKind::Reminded,
    ];

    /// The key stored (the migration's CHECK lists the same).
    pub fn key(self) -> &'static str {
        match self {
            EventKind::Created => "created",
            EventKind::Emailed => "emailed",
            EventKind::Opened => "opened",
            EventKind::CodeSent => "code_sent",
            EventKind::CodeVerified => "code_verified",
            EventKind::CodeRefused => "code_refused",
            EventKind::Consented => "consented",
            EventKind::Signed => "signed",
            EventKind::Declined => "declined",
            EventKind::Voided => "voided",
            EventKind::Expired => "expired",
            EventKind::Reminded => "reminded",
        }
    }

    /// As the certificate of completion says it.
    pub fn from_key(key: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.key() == key)
    }

    pub fn sentence(self) -> &'static str {
        match self {
            EventKind::Created => "Signature requested",
            EventKind::Emailed => "Link emailed to the signer",
            EventKind::Opened => "Link opened",
            EventKind::CodeSent => "One-time code emailed",
            EventKind::CodeVerified => "One-time code confirmed",
            EventKind::CodeRefused => "A wrong one-time code entered",
            EventKind::Consented => "Consent to electronic records given",
            EventKind::Signed => "Signed",
            EventKind::Declined => "Declined",
            EventKind::Voided => "Voided",
            EventKind::Expired => "Expired",
            EventKind::Reminded => "Reminder emailed",
        }
    }
}

/// One event as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Event {
    pub signature_request_id: i64,
    pub seq: i32,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The details as PostgreSQL writes a `jsonb` (its own canonical text), which the hash covers.
    pub details: String,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

/// Where a record's chain does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Broken {
    /// The events are not numbered 1, 2, 3… (one removed, or added out of turn).
    Numbering { expected: i32, found: i32 },
    /// This event's link to the one before is not that event's hash.
    Link { seq: i32 },
    /// This event's own fields do not give its hash.
    Hash { seq: i32 },
}

/// The text an event's hash covers: the migration's `signature_event_text`, written again: a
/// JSON array as PostgreSQL prints a `jsonb` one (", " between elements; strings escaped as
/// serde_json escapes them, which is PostgreSQL's `escape_json`; a missing value `null`).
pub fn event_text(e: &Event) -> String {
    let string = |s: &str| serde_json::to_string(s).expect("a string serialises");
    let optional = |s: &Option<String>| s.as_deref().map_or("null".to_string(), string);
    format!(
        "[{}, {}, {}, {}, {}, {}, {}]",
        e.signature_request_id,
        e.seq,
        string(&e.at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()),
        string(&e.kind),
        optional(&e.ip),
        optional(&e.user_agent),
        e.details
    )
}

/// The hash an event should have, after `prev`.
pub fn hash_of(prev: &[u8], e: &Event) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(event_text(e).as_bytes());
    h.finalize().to_vec()
}

/// Checks a record's events (in `seq` order): the chain's head (the last hash) when whole.
pub fn verify(events: &[Event]) -> Result<Vec<u8>, Broken> {
    let mut prev = vec![0u8; 32];
    for (i, e) in events.iter().enumerate() {
        let expected = i32::try_from(i + 1).unwrap_or(i32::MAX);
        if e.seq != expected {
            return Err(Broken::Numbering {
                expected,
                found: e.seq,
            });
        }
        if e.prev_hash != prev {
            return Err(Broken::Link { seq: e.seq });
        }
        if hash_of(&prev, e) != e.hash {
            return Err(Broken::Hash { seq: e.seq });
        }
        prev = e.hash.clone();
    }
    Ok(prev)
}

/// Adds an event to signature request `request`'s record (numbered, timed and hashed by the
/// database); returns its number.
pub async fn append(
    conn: &mut PgConnection,
    request: i64,
    kind: EventKind,
    ip: Option<&str>,
    user_agent: Option<&str>,
    details: &Value,
) -> sqlx::Result<i32> {
    sqlx::query_scalar(
        "INSERT INTO signature_events (signature_request_id, kind, ip, user_agent, details,
                                       seq, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, 0, '', '')
         RETURNING seq",
    )
    .bind(request)
    .bind(kind.key())
    .bind(ip)
    .bind(user_agent)
    .bind(details)
    .fetch_one(conn)
    .await
}

/// Signature request `request`'s record, in order.
pub async fn events(conn: &mut PgConnection, request: i64) -> sqlx::Result<Vec<Event>> {
    sqlx::query_as(
        "SELECT signature_request_id, seq, at, kind, ip, user_agent, details::text AS details,
                prev_hash, hash
           FROM signature_events WHERE signature_request_id = $1 ORDER BY seq",
    )
    .bind(request)
    .fetch_all(conn)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A whole chain of `n` events, as the database would write it.
    fn chain(n: i32) -> Vec<Event> {
        let mut prev = vec![0u8; 32];
        let mut out = Vec::new();
        for seq in 1..=n {
            let mut e = Event {
                signature_request_id: 7,
                seq,
                at: DateTime::from_timestamp(1_796_000_000 + i64::from(seq), 123_456_000).unwrap(),
                kind: EventKind::ALL[(seq as usize) % 12].key().to_string(),
                ip: (seq % 2 == 0).then(|| "203.0.113.9".to_string()),
                user_agent: Some("Mozilla/5.0".into()),
                details: format!("{{\"n\": {seq}}}"),
                prev_hash: prev.clone(),
                hash: Vec::new(),
            };
            e.hash = hash_of(&prev, &e);
            prev = e.hash.clone();
            out.push(e);
        }
        out
    }

    #[test]
    fn a_whole_chain_holds_and_gives_its_head() {
        assert_eq!(verify(&[]), Ok(vec![0u8; 32]));
        let events = chain(5);
        assert_eq!(verify(&events), Ok(events[4].hash.clone()));
    }

    #[test]
    fn every_field_of_every_event_is_covered() {
        let events = chain(4);
        for i in 0..events.len() {
            let seq = events[i].seq;
            let changes: [fn(&mut Event); 6] = [
                |e| e.at += chrono::Duration::microseconds(1),
                |e| e.kind = "signed".into(),
                |e| e.ip = Some("198.51.100.1".into()),
                |e| e.user_agent = None,
                |e| e.details = "{}".into(),
                |e| e.signature_request_id = 8,
            ];
            for change in &changes {
                let mut tampered = events.clone();
                change(&mut tampered[i]);
                if tampered[i] == events[i] {
                    continue; // the change was no change for this event
                }
                assert_eq!(verify(&tampered), Err(Broken::Hash { seq }), "event {seq}");
            }
            // Its hash rewritten to match: the next event's link breaks.
            let mut rehashed = events.clone();
            rehashed[i].ip = Some("198.51.100.1".into());
            rehashed[i].hash = hash_of(&rehashed[i].prev_hash, &rehashed[i]);
            if i + 1 < events.len() {
                assert_eq!(
                    verify(&rehashed),
                    Err(Broken::Link { seq: seq + 1 }),
                    "event {seq}"
                );
            }
        }
    }

    #[test]
    fn a_removed_inserted_or_reordered_event_is_found() {
        let events = chain(4);
        let mut removed = events.clone();
        removed.remove(1);
        assert_eq!(
            verify(&removed),
            Err(Broken::Numbering {
                expected: 2,
                found: 3
            })
        );
        let mut swapped = events.clone();
        swapped.swap(1, 2);
        assert!(verify(&swapped).is_err());
        let mut last_dropped = events.clone();
        last_dropped.pop();
        // Dropping the last is only seen against a head kept elsewhere.
        assert_eq!(verify(&last_dropped), Ok(events[2].hash.clone()));
        assert_ne!(verify(&last_dropped).unwrap(), events[3].hash);
    }

    #[test]
    fn the_text_separates_fields_so_none_can_borrow_from_its_neighbour() {
        let base = chain(1).remove(0);
        let with = |ip: Option<&str>, ua: Option<&str>| {
            event_text(&Event {
                ip: ip.map(str::to_string),
                user_agent: ua.map(str::to_string),
                ..base.clone()
            })
        };
        // Moved between neighbours, across a separator-like character, missing or empty: each
        // a text of its own.
        let texts = [
            with(Some("1"), Some("2")),
            with(Some("12"), Some("")),
            with(Some("1\u{1f}2"), Some("3")),
            with(Some("1"), Some("2\u{1f}3")),
            with(Some("1\", \"2"), None),
            with(None, Some("")),
            with(Some(""), None),
            with(None, None),
        ];
        for (i, a) in texts.iter().enumerate() {
            for b in &texts[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(
            with(None, Some("a\tb\"")),
            format!(
                "[7, 1, \"{}\", \"{}\", null, \"a\\tb\\\"\", {}]",
                base.at.format("%Y-%m-%dT%H:%M:%S%.6fZ"),
                base.kind,
                base.details
            )
        );
    }
}
