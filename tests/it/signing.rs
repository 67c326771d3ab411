//! The seal checked by a verifier the desk did not write: poppler's `pdfsig` accepts the
//! signature of a sealed document and reports a copy changed by one byte as altered, and
//! `pdftotext` reads back every name the document prints. Both run wherever poppler-utils is
//! installed and always in CI.

use std::path::{Path, PathBuf};
use std::process::Command;

use offboarding_desk::signing::pdf::{Document, MARGIN, Metrics, Page, SealField, Style, Text};
use offboarding_desk::signing::seal::{Seal, pdf_date};

pub(crate) fn poppler_installed() -> bool {
    ["pdfsig", "pdftotext"]
        .iter()
        .all(|tool| Path::new("/usr/bin").join(tool).exists())
}

/// poppler's tools, or `None` (after saying so) where they are missing outside CI.
fn poppler(test: &str) -> Option<()> {
    if poppler_installed() {
        return Some(());
    }
    let in_ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false");
    assert!(
        !in_ci,
        "test `{test}`: poppler-utils is required in CI (apt-get install poppler-utils)"
    );
    eprintln!(
        "NOTICE: seal test `{test}` SKIPPED: pdfsig is not installed (apt-get install poppler-utils). CI always runs it."
    );
    None
}

fn document() -> Document {
    let metrics = Metrics::default();
    let mut texts = vec![Text {
        x: MARGIN,
        y: 720.0,
        size: 16.0,
        style: Style::Bold,
        gray: false,
        text: "Addendum to the advertising services agreement".into(),
    }];
    let body = "Client: Łódź Café & Grill (CRM 0017-A). The monthly budget changes from \
                $12,000.00 to $8,500.00 from January 1, 2027. Request #4711.";
    for (i, line) in metrics
        .wrap(body, Style::Regular, 11.0, 612.0 - 2.0 * MARGIN)
        .into_iter()
        .enumerate()
    {
        texts.push(Text {
            x: MARGIN,
            y: 690.0 - 15.0 * i as f32,
            size: 11.0,
            style: Style::Regular,
            gray: false,
            text: line,
        });
    }
    Document {
        title: "Addendum, request #4711".into(),
        pages: vec![
            Page {
                texts,
                rules: vec![(MARGIN, 612.0 - MARGIN, 705.0)],
            },
            Page {
                texts: vec![Text {
                    x: MARGIN,
                    y: 720.0,
                    size: 14.0,
                    style: Style::Bold,
                    gray: false,
                    text: "Certificate of completion".into(),
                }],
                rules: vec![],
            },
        ],
    }
}

fn file(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("od-seal-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn pdfsig(path: &Path) -> String {
    let out = Command::new("pdfsig")
        .arg(path)
        .output()
        .expect("pdfsig runs");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn sealed() -> (Seal, Vec<u8>) {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
    let seal = Seal::self_signed("Northwind Digital", today).unwrap();
    let field = SealField {
        signer: "Northwind Digital".into(),
        reason: "Executed addendum, request #4711".into(),
        time: pdf_date(chrono::Utc::now()),
    };
    let pdf = seal.seal(&document(), &field).unwrap();
    (seal, pdf)
}

#[test]
fn pdfsig_accepts_the_seal_and_names_the_signer() {
    if poppler("pdfsig_accepts_the_seal_and_names_the_signer").is_none() {
        return;
    }
    let (_, pdf) = sealed();
    let report = pdfsig(&file("sealed.pdf", &pdf));
    assert!(
        report.contains("Signature Validation: Signature is Valid."),
        "{report}"
    );
    assert!(report.contains("Total document signed"), "{report}");
    assert!(
        report.contains("Northwind Digital document seal (self-signed)"),
        "{report}"
    );
    assert!(report.contains("ETSI.CAdES.detached"), "{report}");
    // Self-signed: valid, but nobody vouches for the agency's certificate.
    assert!(!report.contains("Certificate is Trusted"), "{report}");
}

#[test]
fn pdfsig_reports_a_copy_changed_by_one_byte() {
    if poppler("pdfsig_reports_a_copy_changed_by_one_byte").is_none() {
        return;
    }
    let (_, pdf) = sealed();
    // One hex digit of the first text run's glyphs (the title) changed: another glyph shows.
    let mut tampered = pdf.clone();
    let content = tampered
        .windows(3)
        .position(|w| w == b"Tj ")
        .expect("a text operator");
    let at = tampered[..content]
        .iter()
        .rposition(|b| b.is_ascii_hexdigit())
        .unwrap();
    tampered[at] = if tampered[at] == b'1' { b'2' } else { b'1' };
    let report = pdfsig(&file("tampered.pdf", &tampered));
    assert!(!report.contains("Signature is Valid."), "{report}");
    assert!(report.contains("Digest Mismatch"), "{report}");
}

/// Bytes added after the sealed file (an incremental update, as an editor saves one) are not
/// covered by the seal, and the verifier says so.
#[test]
fn pdfsig_reports_what_was_added_after_the_seal() {
    if poppler("pdfsig_reports_what_was_added_after_the_seal").is_none() {
        return;
    }
    let (_, mut pdf) = sealed();
    pdf.extend_from_slice(b"1 0 obj\n<< /Type /Catalog >>\nendobj\n");
    let report = pdfsig(&file("appended.pdf", &pdf));
    assert!(!report.contains("Total document signed"), "{report}");
}

#[test]
fn every_name_the_document_prints_reads_back_as_text() {
    if poppler("every_name_the_document_prints_reads_back_as_text").is_none() {
        return;
    }
    let (_, pdf) = sealed();
    let path = file("text.pdf", &pdf);
    let out = Command::new("pdftotext")
        .args(["-layout".as_ref(), path.as_os_str(), "-".as_ref()])
        .output()
        .expect("pdftotext runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for expected in [
        "Łódź Café & Grill",
        "$12,000.00",
        "$8,500.00",
        "Request #4711",
        "Certificate of completion",
    ] {
        assert!(text.contains(expected), "{expected:?} in {text}");
    }
}

/// The executed addendum, sealed, as a verifier and a reader see it: the seal holds over the
/// signature block and the certificate page, and the terms read back as the request has them.
#[test]
fn an_executed_addendum_is_sealed_and_reads_back() {
    if poppler("an_executed_addendum_is_sealed_and_reads_back").is_none() {
        return;
    }
    use chrono::TimeZone;
    use offboarding_desk::signing::addendum::{self, EventLine, Evidence, Signed, Terms};
    let terms = Terms {
        agency: "Northwind Digital".into(),
        client: "Lakeside RV Center".into(),
        crm_account_id: "CRM-1042".into(),
        request_id: 18,
        current_budget_cents: 900_000,
        new_budget_cents: 450_000,
        effective_date: chrono::NaiveDate::from_ymd_opt(2027, 2, 1).unwrap(),
        wording_version: 1,
        wording:
            "{client} and {agency} agree to a monthly budget of {new_budget} from {effective_date}."
                .into(),
        signer_name: "Dale Porter".into(),
        signer_title: "General Manager".into(),
        signer_email: "dale@lakeside.test".into(),
    };
    let at = chrono::Utc.with_ymd_and_hms(2026, 12, 3, 15, 0, 0).unwrap();
    let signed = Signed {
        name: "Dale Porter".into(),
        title: "General Manager".into(),
        at,
        zone: chrono_tz::America::Chicago,
    };
    let evidence = Evidence {
        document_sha256: "0f".repeat(32),
        sender_name: "Maria Chen".into(),
        sender_email: "am@agency.test".into(),
        sender_ip: "127.0.0.1".into(),
        signer_ip: "127.0.0.1".into(),
        verified_by: "a 6-digit code emailed to dale@lakeside.test".into(),
        consent_wording: "I agree to use electronic records and signatures for this addendum"
            .into(),
        consent_version: 1,
        consent_at: at,
        events: vec![EventLine {
            at,
            what: "signed".into(),
            ip: "127.0.0.1".into(),
        }],
        chain_head: "aa".repeat(32),
        seal_fingerprint: String::new(),
        seal_note: None,
    };
    let seal = Seal::self_signed("Northwind Digital", at.date_naive()).unwrap();
    let evidence = Evidence {
        seal_fingerprint: seal.fingerprint(),
        ..evidence
    };
    let document = addendum::executed(&terms, &signed, &evidence);
    let field = SealField {
        signer: "Northwind Digital".into(),
        reason: "Executed addendum, request #18".into(),
        time: pdf_date(at),
    };
    let pdf = seal.seal(&document, &field).unwrap();
    let path = file("executed.pdf", &pdf);
    let report = pdfsig(&path);
    assert!(
        report.contains("Signature Validation: Signature is Valid."),
        "{report}"
    );
    assert!(report.contains("Total document signed"), "{report}");
    let out = Command::new("pdftotext")
        .args([path.as_os_str(), "-".as_ref()])
        .output()
        .expect("pdftotext runs");
    let text = String::from_utf8_lossy(&out.stdout);
    for expected in [
        "Lakeside RV Center",
        "$9,000.00",
        "$4,500.00",
        "February 1, 2027",
        "CRM-1042",
        "#18",
        "Addendum wording, version 1",
        "/Dale Porter/ (signed electronically)",
        "2026-12-03 15:00:00",
        "Certificate of completion",
        &"0f".repeat(32),
        &"aa".repeat(32),
        &seal.fingerprint(),
        "(wording version 1)",
        "page 2 of 2",
    ] {
        assert!(text.contains(expected), "{expected:?} in {text}");
    }
}

/// A signature request of change request `request` (on a stand-in document), for the chain's
/// tests.
async fn signature_request(db: &sqlx::PgPool, request: i64, by: i64) -> i64 {
    let document: i64 = sqlx::query_scalar(
        "INSERT INTO addendum_documents (change_request_id, wording_id, terms, pdf, sha256, created_by)
         VALUES ($1, (SELECT id FROM addendum_wordings WHERE version = 1), '{}', '%PDF-1.7',
                 sha256('%PDF-1.7'), $2)
         RETURNING id",
    )
    .bind(request)
    .bind(by)
    .fetch_one(db)
    .await
    .unwrap();
    sqlx::query_scalar(
        "INSERT INTO signature_requests (document_id, change_request_id, signer_name,
                 signer_title, signer_email, token_hash, expires_at, sent_by)
         VALUES ($1, $2, 'Dale Porter', 'Owner', 'dale@lakeside.test', sha256(random()::text::bytea),
                 now() + interval '14 days', $3)
         RETURNING id",
    )
    .bind(document)
    .bind(request)
    .bind(by)
    .fetch_one(db)
    .await
    .unwrap()
}

/// The database numbers, times and hashes each event whatever the app sends, the desk's own
/// check of the chain agrees with it, and an event changed behind the guards (as the schema's
/// owner, triggers off) is found, as is a removed one.
#[tokio::test]
async fn the_record_of_a_signature_is_chained_and_a_changed_event_is_found() {
    use offboarding_desk::signing::chain::{self, Broken, EventKind};
    let c = crate::support::fixtures::chain().await;
    let db = &c.app.db;
    let request = c.file(&[]).await;
    let sig = signature_request(db, request, c.am).await;
    let sig_other = signature_request_after_void(db, sig, request, c.am).await;
    // A request for a signature names a document of its own change request.
    let other_client = crate::support::fixtures::new_client(&c.app, c.am, "Harbor Marine").await;
    let other_request = c.file_for(other_client, &[]).await;
    let document: i64 =
        sqlx::query_scalar("SELECT document_id FROM signature_requests WHERE id = $1")
            .bind(sig)
            .fetch_one(db)
            .await
            .unwrap();
    let err = sqlx::query(
        "INSERT INTO signature_requests (document_id, change_request_id, signer_name,
                 signer_title, signer_email, token_hash, expires_at, sent_by)
         VALUES ($1, $2, 'A', 'B', 'a@b.test', sha256('y'), now(), $3)",
    )
    .bind(document)
    .bind(other_request)
    .bind(c.am)
    .execute(db)
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("foreign key"), "{err}");
    let mut conn = db.acquire().await.unwrap();
    let details = serde_json::json!({"to": "dale@lakeside.test", "note": "Łódź \u{1f} \"quoted\""});
    for (kind, ip) in [
        (EventKind::Created, Some("127.0.0.1")),
        (EventKind::Emailed, None),
        (EventKind::Opened, Some("203.0.113.9")),
        (EventKind::CodeSent, Some("203.0.113.9")),
        (EventKind::CodeVerified, Some("203.0.113.9")),
    ] {
        // A user agent with what JSON escapes: a tab, a quote, a backslash, a unit separator.
        let agent = "Mozilla/5.0 \t\"x\" \\ \u{1f} Łódź";
        chain::append(&mut conn, sig, kind, ip, Some(agent), &details)
            .await
            .unwrap();
    }
    // Another request's record is a chain of its own.
    chain::append(
        &mut conn,
        sig_other,
        EventKind::Created,
        None,
        None,
        &details,
    )
    .await
    .unwrap();
    let events = chain::events(&mut conn, sig).await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    let head = chain::verify(&events).expect("the chain holds");
    assert_eq!(head, events[4].hash);
    let other = chain::events(&mut conn, sig_other).await.unwrap();
    assert_eq!(other.len(), 1);
    assert!(chain::verify(&other).is_ok());

    // The app cannot change or remove an event.
    for sql in [
        "UPDATE signature_events SET ip = '198.51.100.1'",
        "DELETE FROM signature_events",
        "TRUNCATE signature_events",
        "UPDATE addendum_documents SET pdf = 'x'",
    ] {
        let err = sqlx::query(sql).execute(&mut *conn).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }

    // Behind the guards: one event's address changed, then one removed.
    sqlx::raw_sql("ALTER TABLE signature_events DISABLE TRIGGER signature_events_no_update_delete")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("UPDATE signature_events SET ip = '198.51.100.1' WHERE signature_request_id = $1 AND seq = 3")
        .bind(sig)
        .execute(&mut *conn)
        .await
        .unwrap();
    let tampered = chain::events(&mut conn, sig).await.unwrap();
    assert_eq!(chain::verify(&tampered), Err(Broken::Hash { seq: 3 }));
    sqlx::query("DELETE FROM signature_events WHERE signature_request_id = $1 AND seq = 2")
        .bind(sig)
        .execute(&mut *conn)
        .await
        .unwrap();
    let removed = chain::events(&mut conn, sig).await.unwrap();
    assert_eq!(
        chain::verify(&removed),
        Err(Broken::Numbering {
            expected: 2,
            found: 3
        })
    );
    sqlx::raw_sql("ALTER TABLE signature_events ENABLE TRIGGER signature_events_no_update_delete")
        .execute(&mut *conn)
        .await
        .unwrap();
}

/// A second signature request for the same change request, once the first is voided (one live
/// request at a time: a second live one is refused).
async fn signature_request_after_void(db: &sqlx::PgPool, first: i64, request: i64, by: i64) -> i64 {
    let document: i64 =
        sqlx::query_scalar("SELECT document_id FROM signature_requests WHERE id = $1")
            .bind(first)
            .fetch_one(db)
            .await
            .unwrap();
    let second_live = sqlx::query(
        "INSERT INTO signature_requests (document_id, change_request_id, signer_name,
                 signer_title, signer_email, token_hash, expires_at, sent_by)
         VALUES ($1, $2, 'A', 'B', 'a@b.test', sha256('x'), now(), $3)",
    )
    .bind(document)
    .bind(request)
    .bind(by)
    .execute(db)
    .await;
    assert!(
        second_live.is_err(),
        "one live request for a signature at a time"
    );
    // The first one's record goes on after it ends; the second is a request of its own.
    sqlx::query(
        "UPDATE signature_requests SET state = 'voided', ended_at = now(), end_reason = 'terms changed'
          WHERE id = $1",
    )
    .bind(first)
    .execute(db)
    .await
    .unwrap();
    let second = signature_request(db, request, by).await;
    // An ended request is evidence: not revived, changed or removed.
    for sql in [
        "UPDATE signature_requests SET state = 'sent', ended_at = NULL, end_reason = NULL WHERE id = $1",
        "UPDATE signature_requests SET signer_email = 'other@b.test' WHERE id = $1",
        "DELETE FROM signature_requests WHERE id = $1",
    ] {
        let err = sqlx::query(sql)
            .bind(first)
            .execute(db)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("has ended and is not changed"), "{sql}: {err}");
    }
    // A document's fingerprint is its own; a request names a document of its change request.
    let err = sqlx::query(
        "INSERT INTO addendum_documents (change_request_id, wording_id, terms, pdf, sha256, created_by)
         VALUES ($1, 1, '{}', 'a', sha256('b'), $2)",
    )
    .bind(request)
    .bind(by)
    .execute(db)
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("addendum_documents_check"), "{err}");
    second
}
