//! The client's side, `/sign/<token>`: no account, no JavaScript, one page that says what it
//! is asked to sign and takes the code, the consent, the typed name and title, or a decline.
//! Every answer carries `Referrer-Policy: no-referrer` and `X-Robots-Tag: noindex`, and is not
//! cached. Unknown, expired, voided and used links each get their own page that says nothing
//! of what exists; links that lead nowhere are counted per address and slowed.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgConnection;

use super::flow::{self, Origin, SignatureRow};
use super::rules::{self, CodeCheck, LinkPage, StoredCode};
use crate::audit::{self, Actor};
use crate::change_requests::db as requests;
use crate::notifications::emails::Notice;
use crate::notifications::{outbox, recipients};
use crate::web::AppState;
use crate::web::ctx::RequestMeta;
use crate::web::error::{AppError, AppResult};
use crate::web::fields::FieldErrors;

/// The signing form as typed (kept when it comes back with a message).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct SignInput {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub consent: Option<String>,
    #[serde(default)]
    pub authorised: Option<String>,
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct DeclineInput {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct ShowQuery {
    code: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct DocumentQuery {
    download: Option<String>,
}

#[derive(Template)]
#[template(path = "signing/sign.html")]
pub struct SignPage {
    page: LinkPage,
    token: String,
    agency: String,
    client: String,
    sender: String,
    signer: String,
    current_budget: String,
    new_budget: String,
    effective: String,
    fingerprint: String,
    masked_email: String,
    /// A code was emailed and still works.
    code_live: bool,
    notice: String,
    form: SignInput,
    errors: FieldErrors,
    decline: DeclineInput,
    signed_on: String,
    consent: &'static str,
    throttled: bool,
}

impl SignPage {
    fn bare(page: LinkPage) -> Self {
        SignPage {
            page,
            token: String::new(),
            agency: String::new(),
            client: String::new(),
            sender: String::new(),
            signer: String::new(),
            current_budget: String::new(),
            new_budget: String::new(),
            effective: String::new(),
            fingerprint: String::new(),
            masked_email: String::new(),
            code_live: false,
            notice: String::new(),
            form: SignInput::default(),
            errors: FieldErrors::default(),
            decline: DeclineInput::default(),
            signed_on: String::new(),
            consent: rules::CONSENT,
            throttled: false,
        }
    }

    fn status(&self) -> StatusCode {
        if self.throttled {
            return StatusCode::TOO_MANY_REQUESTS;
        }
        match self.page {
            LinkPage::Unknown => StatusCode::NOT_FOUND,
            LinkPage::Expired | LinkPage::Voided => StatusCode::GONE,
            _ if !self.errors.is_empty() => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::OK,
        }
    }

    fn answer(self) -> Response {
        let status = self.status();
        let mut response = match self.render() {
            Ok(html) => (status, axum::response::Html(html)).into_response(),
            Err(e) => AppError::Internal(e.into()).into_response(),
        };
        private(&mut response);
        response
    }
}

/// Headers every answer under `/sign/` carries: the link never leaks through a referrer,
/// never lands in a search index, never stays in a shared cache.
fn private(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        "x-robots-tag",
        HeaderValue::from_static("noindex, nofollow"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

fn go(path: String) -> Response {
    let mut response = Redirect::to(&path).into_response();
    private(&mut response);
    response
}

/// The request behind a link, held, as the client's pages need it; lapsed or overtaken links
/// ended first. `Err` is the page to answer with when there is none.
struct Found {
    row: SignatureRow,
    request: requests::RequestRow,
}

async fn find(
    conn: &mut PgConnection,
    token: &str,
    meta: &RequestMeta,
    now: DateTime<Utc>,
) -> AppResult<Result<Found, SignPage>> {
    // The change request first, then the link: the order every change to a request takes
    // its locks in (a void or an edit meeting a signature waits, never deadlocks).
    let request = match flow::request_of_token(conn, token).await? {
        Some(id) => requests::lock(conn, id).await?,
        None => None,
    };
    let found = match request {
        Some(_) => flow::by_token_for_update(conn, token).await?,
        None => None,
    };
    let (Some(mut row), Some(request)) = (found, request) else {
        // Only links that lead nowhere are counted and slowed: a real link always opens, from
        // any address (behind a proxy every signer may share one).
        if flow::throttled(conn, &meta.ip).await? {
            let mut page = SignPage::bare(LinkPage::Unknown);
            page.throttled = true;
            return Ok(Err(page));
        }
        let throttled = flow::missed(conn, &meta.ip).await?;
        let actor = Actor::anonymous("someone with a signing link", meta);
        audit::record(
            conn,
            &actor,
            "signature.unknown_link",
            "signature_request",
            None,
            json!({"throttled": throttled}),
        )
        .await?;
        let mut page = SignPage::bare(LinkPage::Unknown);
        page.throttled = throttled;
        return Ok(Err(page));
    };
    flow::expire_if_lapsed(conn, &mut row, now).await?;
    // The request went ahead (submitted with a document signed elsewhere) or was withdrawn:
    // nothing is left to sign.
    if row.state.live() && !request.state.is_editable() {
        flow::void_live(
            conn,
            &request,
            "the request no longer waits for it",
            &Actor::system(),
            now,
        )
        .await?;
        row.state = rules::State::Voided;
    }
    Ok(Ok(Found { row, request }))
}

fn page_of(found: &Found, token: &str, state: &AppState, now: DateTime<Utc>) -> SignPage {
    let row = &found.row;
    let r = &found.request;
    let page = rules::link_page(Some((row.state, row.expires_at)), now);
    // The terms as the document sent says them (an edit of the request voids the link).
    let terms: Option<super::addendum::Terms> = serde_json::from_value(row.terms.clone()).ok();
    let money = |c: Option<i64>| c.map(crate::money::format_cents).unwrap_or_default();
    let mut p = SignPage::bare(page);
    p.token = token.to_string();
    p.agency = state.config.agency_name.clone();
    p.client = r.client_name.clone();
    p.sender = row.sent_by_name.clone();
    p.signer = row.signer_name.clone();
    p.current_budget = money(terms.as_ref().map(|t| t.current_budget_cents));
    p.new_budget = money(terms.as_ref().map(|t| t.new_budget_cents));
    p.effective = terms
        .as_ref()
        .map(|t| super::addendum::long_date(t.effective_date))
        .unwrap_or_default();
    p.fingerprint = row.short_fingerprint();
    p.masked_email = flow::masked(&row.signer_email);
    p.code_live = row.code_hash.is_some()
        && row.code_expires_at.is_some_and(|t| now < t)
        && row.code_tries < rules::CODE_TRIES;
    p.signed_on = row
        .ended_at
        .map(|t| {
            let local = t.with_timezone(&state.config.time_zone);
            // A zone at UTC's own time ("Etc/UTC" from the server, "GMT", London in winter)
            // says it once.
            let utc = if chrono::Offset::fix(local.offset()).local_minus_utc() == 0 {
                String::new()
            } else {
                format!(" ({})", t.format("%H:%M UTC"))
            };
            format!(
                "{} at {}{utc}",
                super::addendum::long_date(local.date_naive()),
                local.format("%-I:%M %p %Z"),
            )
        })
        .unwrap_or_default();
    p
}

/// The link, held, when it still waits on the signer, with its transaction; otherwise the
/// answer (the link's own page when there is no such link, or back to the link's page, which
/// says what became of it), what finding it wrote committed.
async fn waiting_link(
    state: &AppState,
    token: &str,
    meta: &RequestMeta,
    now: DateTime<Utc>,
) -> AppResult<Result<(crate::web::ctx::Tx, Found), Response>> {
    let mut tx = state.db.begin().await?;
    let found = match find(&mut tx, token, meta, now).await? {
        Ok(found) => found,
        Err(page) => {
            tx.commit().await?;
            return Ok(Err(page.answer()));
        }
    };
    if !found.row.waiting(now) {
        tx.commit().await?;
        return Ok(Err(go(format!("/sign/{token}"))));
    }
    Ok(Ok((tx, found)))
}

pub(super) async fn show(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<ShowQuery>,
    meta: RequestMeta,
) -> AppResult<Response> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let mut found = match find(&mut tx, &token, &meta, now).await? {
        Ok(found) => found,
        Err(page) => {
            tx.commit().await?;
            return Ok(page.answer());
        }
    };
    if found.row.waiting(now) {
        flow::opened(&mut tx, &mut found.row, &Origin::from(&meta), now).await?;
    }
    tx.commit().await?;
    let mut page = page_of(&found, &token, &state, now);
    if q.code.as_deref() == Some("sent") && page.code_live {
        page.notice = format!(
            "We emailed a six-digit code to {}. It works for ten minutes.",
            page.masked_email
        );
    }
    Ok(page.answer())
}

/// The document: the addendum as sent while it waits, the executed copy once signed.
pub(super) async fn document(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<DocumentQuery>,
    meta: RequestMeta,
) -> AppResult<Response> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let found = match find(&mut tx, &token, &meta, now).await? {
        Ok(found) => found,
        Err(page) => {
            tx.commit().await?;
            return Ok(page.answer());
        }
    };
    let page = page_of(&found, &token, &state, now);
    if !matches!(page.page, LinkPage::Open | LinkPage::Signed) {
        tx.commit().await?;
        return Ok(page.answer());
    }
    let pdf = flow::document_pdf(&mut tx, &found.row).await?;
    tx.commit().await?;
    let name = if page.page == LinkPage::Signed {
        format!("addendum-request-{}-signed.pdf", found.request.id)
    } else {
        format!("addendum-request-{}.pdf", found.request.id)
    };
    let mut response = super::handlers::pdf_response(pdf, &name, q.download.is_none());
    private(&mut response);
    Ok(response)
}

/// Emails a new code to the signer.
pub(super) async fn code(
    State(state): State<AppState>,
    Path(token): Path<String>,
    meta: RequestMeta,
) -> AppResult<Response> {
    let now = state.clock.now();
    let (mut tx, mut found) = match waiting_link(&state, &token, &meta, now).await? {
        Ok(waiting) => waiting,
        Err(answer) => return Ok(answer),
    };
    // A second click (or a reload of the form's answer) within half a minute keeps the code
    // just sent: a new one would make the first, perhaps already arriving, useless.
    let just_sent = found.row.code_hash.is_some()
        && found.row.code_tries < rules::CODE_TRIES
        && found.row.code_expires_at.is_some_and(|t| {
            t - now > chrono::Duration::minutes(rules::CODE_MINUTES) - chrono::Duration::seconds(30)
        });
    if just_sent {
        tx.commit().await?;
        return Ok(go(format!("/sign/{token}?code=sent#sign")));
    }
    let sent = flow::codes_sent(&mut tx, &found.row).await?;
    if sent.ever >= flow::CODES_A_LINK || sent.last_hour >= flow::CODES_AN_HOUR {
        tx.commit().await?;
        let mut page = page_of(&found, &token, &state, now);
        let message = if sent.ever >= flow::CODES_A_LINK {
            "This link has had all the codes it can: ask the agency to send you a new link."
        } else if page.code_live {
            "Five codes were emailed in the last hour: use the latest one, or ask again in an hour."
        } else {
            "Five codes were emailed in the last hour: ask again in an hour, or ask the agency to send you a new link."
        };
        page.errors.add("code_ask", message);
        return Ok(page.answer());
    }
    let from = Origin::from(&meta);
    flow::opened(&mut tx, &mut found.row, &from, now).await?;
    let client = found.request.client_name.clone();
    flow::send_code(&mut tx, &state.config, &found.row, &client, &from, now).await?;
    tx.commit().await?;
    Ok(go(format!("/sign/{token}?code=sent#sign")))
}

pub(super) async fn sign(
    State(state): State<AppState>,
    Path(token): Path<String>,
    meta: RequestMeta,
    Form(input): Form<SignInput>,
) -> AppResult<Response> {
    let now = state.clock.now();
    let (mut tx, mut found) = match waiting_link(&state, &token, &meta, now).await? {
        Ok(waiting) => waiting,
        Err(answer) => return Ok(answer),
    };
    let from = Origin::from(&meta);
    let client = found.request.client_name.clone();
    let form = rules::SignForm {
        consent: input.consent.is_some(),
        authorised: input.authorised.is_some(),
        name: input.name.clone(),
        title: input.title.clone(),
    };
    let checked = rules::check_sign(&form, &client);
    let mut errors = FieldErrors::default();
    let code = checked_code(&mut tx, &found, &input.code, &meta, now).await?;
    if let Some(message) = code.message() {
        errors.add("code", message);
    }
    let signature = match checked {
        Ok(signature) if errors.is_empty() => signature,
        Ok(_) => {
            tx.commit().await?;
            return Ok(again(&found, &token, &state, now, input, errors));
        }
        Err(problems) => {
            tx.commit().await?;
            for (field, message) in problems {
                errors.add(field, message);
            }
            return Ok(again(&found, &token, &state, now, input, errors));
        }
    };
    let executed = flow::sign(
        &mut tx,
        &state.config,
        &mut found.row,
        &signature,
        &from,
        now,
    )
    .await?;
    let actor = Actor::anonymous(&found.row.signer_email, &meta);
    audit::on_request(
        &mut tx,
        &actor,
        "signature.signed",
        found.request.id,
        json!({
            "signature_request_id": found.row.id,
            "name": signature.name,
            "title": signature.title,
            "attachment_id": executed.attachment_id,
            "executed_sha256": executed.sha256,
        }),
    )
    .await?;
    let r = &found.request;
    let copy = outbox::queued_client_notice(
        &mut tx,
        &state.config,
        Notice {
            kind: "signing.signed_copy",
            to: vec![found.row.signer_email.clone()],
            subject: format!("Signed: addendum for {}", r.client_name),
            intro: &format!(
                "You signed the addendum for {} with {}. Your copy, sealed by {}, is attached, \
                 and at the link below.",
                r.client_name, state.config.agency_name, state.config.agency_name
            ),
            facts: vec![(
                "Signed by",
                format!("{} ({})", signature.name, signature.title),
            )],
            path: format!("/sign/{token}"),
            link_label: "Download the signed addendum",
            related: Some(("change_request", r.id.to_string())),
        },
    )
    .await?;
    if let Some(copy) = copy {
        let name = format!("addendum-request-{}-signed.pdf", r.id);
        outbox::attach(&mut tx, copy, &name, "application/pdf", &executed.pdf).await?;
    }
    let intro = format!(
        "{} signed the addendum for {}. The sealed copy is attached to the request: it can be \
         submitted.",
        signature.name, r.client_name
    );
    tell_agency(&mut tx, &state, &found, "signing.signed", &intro, "Signed").await?;
    tx.commit().await?;
    Ok(go(format!("/sign/{token}")))
}

/// Checks a typed code against the link's; a wrong one uses a try, on the record and audited
/// (as "someone with the signer's link": the code is what shows it was the signer).
async fn checked_code(
    conn: &mut PgConnection,
    found: &Found,
    typed: &str,
    meta: &RequestMeta,
    now: DateTime<Utc>,
) -> AppResult<CodeCheck> {
    let stored = StoredCode {
        hash: found.row.code_hash.as_deref(),
        expires_at: found.row.code_expires_at,
        tries: found.row.code_tries,
    };
    Ok(match rules::check_code(found.row.id, stored, typed, now) {
        CodeCheck::Wrong { .. } => {
            let from = Origin::from(meta);
            let tries = flow::code_refused(conn, &found.row, &from).await?;
            let label = format!("someone with {}'s signing link", found.row.signer_email);
            audit::on_request(
                conn,
                &Actor::anonymous(&label, meta),
                "signature.code_refused",
                found.request.id,
                json!({"signature_request_id": found.row.id, "tries": tries}),
            )
            .await?;
            CodeCheck::Wrong {
                tries_left: rules::CODE_TRIES - tries,
            }
        }
        other => other,
    })
}

fn again(
    found: &Found,
    token: &str,
    state: &AppState,
    now: DateTime<Utc>,
    input: SignInput,
    errors: FieldErrors,
) -> Response {
    let mut page = page_of(found, token, state, now);
    page.form = input;
    page.errors = errors;
    page.answer()
}

/// The sender and the client's account manager hear what the signer did, and the Retention
/// Team on a request it converted (it submits those).
async fn tell_agency(
    conn: &mut PgConnection,
    state: &AppState,
    found: &Found,
    kind: &'static str,
    intro: &str,
    what: &str,
) -> AppResult<()> {
    let r = &found.request;
    let mut to = Vec::new();
    for id in [Some(found.row.sent_by), r.client_account_manager_id]
        .into_iter()
        .flatten()
    {
        if let Some(email) = recipients::user(conn, id).await? {
            to.push(email);
        }
    }
    if r.has_save_attempt {
        to.extend(recipients::holders_of(conn, crate::auth::roles::Role::Retention).await?);
    }
    outbox::notice(
        conn,
        &state.config,
        Notice {
            kind,
            to,
            subject: format!("{what}: addendum for {} (request #{})", r.client_name, r.id),
            intro,
            facts: vec![(
                "Signer",
                format!("{} ({})", found.row.signer_name, found.row.signer_email),
            )],
            path: format!("/requests/{}#signature", r.id),
            link_label: "Open the request",
            related: Some(("change_request", r.id.to_string())),
        },
    )
    .await
}

pub(super) async fn decline(
    State(state): State<AppState>,
    Path(token): Path<String>,
    meta: RequestMeta,
    Form(input): Form<DeclineInput>,
) -> AppResult<Response> {
    let now = state.clock.now();
    let (mut tx, mut found) = match waiting_link(&state, &token, &meta, now).await? {
        Ok(waiting) => waiting,
        Err(answer) => return Ok(answer),
    };
    // Declining, like signing, takes the emailed code: a forwarded link is not enough.
    let code = checked_code(&mut tx, &found, &input.code, &meta, now).await?;
    let reason = rules::check_decline(&input.reason);
    if code != CodeCheck::Confirmed || reason.is_err() {
        tx.commit().await?;
        let mut page = page_of(&found, &token, &state, now);
        if let Some(message) = code.message() {
            page.errors.add("decline_code", message);
        }
        if let Err(message) = reason {
            page.errors.add("reason", message);
        }
        page.decline = input;
        return Ok(page.answer());
    }
    let reason = reason.expect("checked above");
    let from = Origin::from(&meta);
    flow::decline(&mut tx, &mut found.row, &reason, &from, now).await?;
    let actor = Actor::anonymous(&found.row.signer_email, &meta);
    audit::on_request(
        &mut tx,
        &actor,
        "signature.declined",
        found.request.id,
        json!({"signature_request_id": found.row.id, "reason": reason}),
    )
    .await?;
    let intro = format!(
        "{} declined to sign the addendum for {}. Their reason: {reason}",
        found.row.signer_name, found.request.client_name
    );
    tell_agency(
        &mut tx,
        &state,
        &found,
        "signing.declined",
        &intro,
        "Declined",
    )
    .await?;
    tx.commit().await?;
    Ok(go(format!("/sign/{token}")))
}
