//! Signed addendums (checked by content, capped, downloadable only by the agency, as an
//! attachment), comments by the person a request was escalated to, and the reasons list.

use offboarding_desk::auth::roles::Role;
use reqwest::multipart::{Form, Part};

use crate::change_requests::{Desk, desk};
use crate::support::{client, location};

/// A tiny but real PDF header; the app checks the first bytes, not the name.
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n";

async fn file_addendum(d: &Desk) -> i64 {
    let res = d
        .file(&[
            ("kind", "addendum"),
            ("cancel_scope", ""),
            ("current_budget", "4500.00"),
            ("new_budget", "3000.00"),
            ("escalation", "none"),
        ])
        .await;
    assert_eq!(res.status(), 303);
    sqlx::query_scalar("SELECT id FROM change_requests WHERE kind = 'addendum'")
        .fetch_one(&d.app.db)
        .await
        .unwrap()
}

async fn upload(d: &Desk, cookie: &str, id: i64, name: &str, bytes: Vec<u8>) -> reqwest::Response {
    let part = Part::bytes(bytes)
        .file_name(name.to_string())
        .mime_str("application/pdf")
        .unwrap();
    client()
        .post(d.app.url(&format!("/requests/{id}/attachments")))
        .header("cookie", cookie)
        .multipart(Form::new().part("document", part))
        .send()
        .await
        .unwrap()
}

async fn attachment_count(d: &Desk) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM request_attachments")
        .fetch_one(&d.app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_account_manager_attaches_the_signed_pdf_and_the_agency_downloads_it_as_a_file() {
    let d = desk().await;
    let id = file_addendum(&d).await;
    let page = d
        .page_as(&d.am_cookie, &format!("/requests/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("cannot be submitted without it"), "{page}");

    let res = upload(&d, &d.am_cookie, id, "../Signed Addendum.pdf", PDF.to_vec()).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), format!("/requests/{id}"));
    let (attachment, name, content_type, size): (i64, String, String, i32) = sqlx::query_as(
        "SELECT id, original_name, content_type, size_bytes FROM request_attachments",
    )
    .fetch_one(&d.app.db)
    .await
    .unwrap();
    assert_eq!(name, "Signed Addendum.pdf", "no folders in the stored name");
    assert_eq!(content_type, "application/pdf");
    assert_eq!(size as usize, PDF.len());
    assert_eq!(
        d.app.audit_count("change_request.document_attached").await,
        1
    );
    let page = d
        .page_as(&d.am_cookie, &format!("/requests/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(&format!("href=\"/attachments/{attachment}\"")));
    assert!(page.contains("Attached the signed document Signed Addendum.pdf"));
    // The signature part says it was signed outside the desk, and does not offer a form that
    // is not there.
    assert!(
        page.contains(
            "Not sent for signature: a signed document matching the terms was attached instead."
        ),
        "{page}"
    );
    assert!(
        !page.contains("Send the addendum to the client's signer below"),
        "{page}"
    );

    // Anyone at the agency may read the request, so may download its document.
    let ops = d.app.user("ops@agency.test", &[Role::OpsLead]).await;
    let res = d
        .page_as(
            &d.app.session_cookie(ops).await,
            &format!("/attachments/{attachment}"),
        )
        .await;
    assert_eq!(res.status(), 200);
    let headers = res.headers().clone();
    assert_eq!(headers["content-type"], "application/pdf");
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"Signed Addendum.pdf\""),
        "{disposition}"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
    assert_eq!(res.bytes().await.unwrap().as_ref(), PDF);

    // The contractor may not; nor may anyone signed out.
    let juniper = d.app.user("juniper@agency.test", &[Role::Contractor]).await;
    let res = d
        .page_as(
            &d.app.session_cookie(juniper).await,
            &format!("/attachments/{attachment}"),
        )
        .await;
    assert_eq!(res.status(), 403);
    let res = client()
        .get(d.app.url(&format!("/attachments/{attachment}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(location(&res).starts_with("/login"));
    let res = d.page_as(&d.am_cookie, "/attachments/999999").await;
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn a_file_that_is_not_what_it_claims_or_too_big_or_missing_is_refused_beside_the_field() {
    let d = desk().await;
    let id = file_addendum(&d).await;

    let res = upload(
        &d,
        &d.am_cookie,
        id,
        "addendum.pdf",
        b"<html><script>alert(1)</script></html>".to_vec(),
    )
    .await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("id=\"document-error\"") && body.contains("not a PDF, PNG or JPEG"),
        "{body}"
    );

    let mut big = PDF.to_vec();
    big.resize(10 * 1024 * 1024 + 1, b' ');
    let res = upload(&d, &d.am_cookie, id, "big.pdf", big).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("larger than 10 MB"));

    // Far past the route's limit: the same message, not a bare error page.
    let mut huge = PDF.to_vec();
    huge.resize(12 * 1024 * 1024, b' ');
    let res = upload(&d, &d.am_cookie, id, "huge.pdf", huge).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("larger than 10 MB"));

    let res = upload(&d, &d.am_cookie, id, "empty.pdf", Vec::new()).await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Choose the signed document")
    );

    assert_eq!(attachment_count(&d).await, 0, "nothing stored");
    assert_eq!(
        d.app.audit_count("change_request.document_attached").await,
        0
    );

    // Exactly 10 MB is fine, and a PNG under a .pdf name is stored as the PNG it is.
    let mut max = PDF.to_vec();
    max.resize(10 * 1024 * 1024, b' ');
    assert_eq!(
        upload(&d, &d.am_cookie, id, "max.pdf", max).await.status(),
        303
    );
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    assert_eq!(
        upload(&d, &d.am_cookie, id, "scan.pdf", png).await.status(),
        303
    );
    let stored: Vec<(String, String)> =
        sqlx::query_as("SELECT original_name, content_type FROM request_attachments ORDER BY id")
            .fetch_all(&d.app.db)
            .await
            .unwrap();
    assert_eq!(
        stored,
        vec![
            ("max.pdf".to_string(), "application/pdf".to_string()),
            ("scan.png".to_string(), "image/png".to_string()),
        ]
    );
}

#[tokio::test]
async fn only_the_owner_attaches_and_only_to_an_addendum() {
    let d = desk().await;
    // A cancellation takes no signed addendum.
    d.file(&[("escalation", "none")]).await;
    let cancellation: i64 = sqlx::query_scalar("SELECT id FROM change_requests")
        .fetch_one(&d.app.db)
        .await
        .unwrap();
    let res = upload(&d, &d.am_cookie, cancellation, "a.pdf", PDF.to_vec()).await;
    assert_eq!(res.status(), 303);
    let page = d
        .page_as(&d.am_cookie, &format!("/requests/{cancellation}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Nothing was attached. Signed documents are attached to addendums."));
    sqlx::query("UPDATE change_requests SET state = 'withdrawn' WHERE id = $1")
        .bind(cancellation)
        .execute(&d.app.db)
        .await
        .unwrap();

    let id = file_addendum(&d).await;
    // Another account manager, and Retention on an addendum they were never part of.
    let other = d
        .app
        .user("other-am@agency.test", &[Role::AccountManager])
        .await;
    let retention: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = 'amy@agency.test'")
        .fetch_one(&d.app.db)
        .await
        .unwrap();
    for person in [other, retention] {
        let cookie = d.app.session_cookie(person).await;
        let res = upload(&d, &cookie, id, "a.pdf", PDF.to_vec()).await;
        assert_eq!(res.status(), 303);
    }
    assert_eq!(attachment_count(&d).await, 0);

    // Retention attaches to an addendum they converted (it has their save attempt).
    sqlx::query("INSERT INTO save_attempts (change_request_id) VALUES ($1)")
        .bind(id)
        .execute(&d.app.db)
        .await
        .unwrap();
    let cookie = d.app.session_cookie(retention).await;
    assert_eq!(
        upload(&d, &cookie, id, "a.pdf", PDF.to_vec())
            .await
            .status(),
        303
    );
    assert_eq!(attachment_count(&d).await, 1);

    // Once submitted, nothing more is attached.
    sqlx::query("UPDATE change_requests SET state = 'in_approval' WHERE id = $1")
        .bind(id)
        .execute(&d.app.db)
        .await
        .unwrap();
    upload(&d, &d.am_cookie, id, "late.pdf", PDF.to_vec()).await;
    assert_eq!(attachment_count(&d).await, 1);
}

#[tokio::test]
async fn the_team_lead_escalated_to_comments_and_the_account_manager_replies_each_emailed() {
    let d = desk().await;
    let lead = d.app.user("lead@agency.test", &[Role::TeamLead]).await;
    let other_lead = d.app.user("lead2@agency.test", &[Role::TeamLead]).await;
    let lead_s = lead.to_string();
    d.file(&[("escalation", "team_lead"), ("escalated_to", &lead_s)])
        .await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM change_requests")
        .fetch_one(&d.app.db)
        .await
        .unwrap();
    let lead_cookie = d.app.session_cookie(lead).await;
    let page = d
        .page_as(&lead_cookie, &format!("/requests/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"add-comment\""), "the form is offered");

    let res = d
        .post_as(
            &lead_cookie,
            &format!("/requests/{id}/comments"),
            &[("text", "   ")],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Write the comment first.")
    );

    let res = d
        .post_as(
            &lead_cookie,
            &format!("/requests/{id}/comments"),
            &[("text", "Offer them two months at half the fee.")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let to: Vec<String> = sqlx::query_scalar(
        "SELECT to_addrs FROM outbox_messages WHERE kind = 'change_request.comment'",
    )
    .fetch_one(&d.app.db)
    .await
    .unwrap();
    assert_eq!(to, vec!["am@agency.test"]);

    let res = d
        .post_as(
            &d.am_cookie,
            &format!("/requests/{id}/comments"),
            &[("text", "Will do, calling them today.")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let to: Vec<Vec<String>> = sqlx::query_scalar(
        "SELECT to_addrs FROM outbox_messages WHERE kind = 'change_request.comment' ORDER BY id",
    )
    .fetch_all(&d.app.db)
    .await
    .unwrap();
    assert_eq!(to[1], vec!["lead@agency.test"]);

    // A team lead it was not escalated to changes nothing.
    let res = d
        .post_as(
            &d.app.session_cookie(other_lead).await,
            &format!("/requests/{id}/comments"),
            &[("text", "Me too")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let page = d
        .page_as(&d.am_cookie, &format!("/requests/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Offer them two months at half the fee."));
    assert!(page.contains("Will do, calling them today."));
    assert!(!page.contains("Me too"));
    assert_eq!(d.app.audit_count("change_request.commented").await, 2);
}

#[tokio::test]
async fn the_admin_keeps_the_reasons_list_and_a_retired_reason_stays_on_its_requests() {
    let d = desk().await;
    let admin = d.app.user("admin@agency.test", &[Role::Admin]).await;
    let admin_cookie = d.app.session_cookie(admin).await;

    let res = d
        .post_as(
            &admin_cookie,
            "/admin/reasons",
            &[("label", "  Switching   CRM  "), ("position", "5")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let res = d
        .post_as(
            &admin_cookie,
            "/admin/reasons",
            &[("label", "Switching CRM"), ("position", "x")],
        )
        .await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.unwrap();
    assert!(body.contains("A whole number from 0 to 9999."), "{body}");
    assert!(
        body.contains("value=\"Switching CRM\""),
        "keeps what was typed"
    );
    let res = d
        .post_as(
            &admin_cookie,
            "/admin/reasons",
            &[("label", "Switching CRM")],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("already on the list"));
    assert_eq!(d.app.audit_count("change_reason.added").await, 1);

    // A request carries "Budget constraints"; retiring it keeps it on that request's edit form.
    d.file(&[]).await;
    let request: i64 = sqlx::query_scalar("SELECT id FROM change_requests")
        .fetch_one(&d.app.db)
        .await
        .unwrap();
    let reason = d.reason().await;
    let res = d
        .post_as(
            &admin_cookie,
            &format!("/admin/reasons/{reason}/retire"),
            &[],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(d.app.audit_count("change_reason.retired").await, 1);
    let edit = d
        .page_as(&d.am_cookie, &format!("/requests/{request}/edit"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        edit.contains("Budget constraints"),
        "kept on its own request"
    );
    sqlx::query("UPDATE change_requests SET state = 'withdrawn'")
        .execute(&d.app.db)
        .await
        .unwrap();
    let new_form = d
        .page_as(
            &d.am_cookie,
            &format!("/clients/{}/requests/new", d.client_id),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(new_form.contains("Switching CRM"));
    assert!(
        !new_form.contains("Budget constraints"),
        "retired: not offered"
    );

    // Renaming shows everywhere; a second retire changes nothing and says so.
    let res = d
        .post_as(
            &admin_cookie,
            &format!("/admin/reasons/{reason}"),
            &[("label", "Budget cuts"), ("position", "1")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let page = d
        .page_as(&d.am_cookie, &format!("/requests/{request}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Budget cuts"));
    d.post_as(
        &admin_cookie,
        &format!("/admin/reasons/{reason}/retire"),
        &[],
    )
    .await;
    let list = d
        .page_as(&admin_cookie, "/admin/reasons")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("someone already did that"), "{list}");
    assert_eq!(d.app.audit_count("change_reason.retired").await, 1);
}
