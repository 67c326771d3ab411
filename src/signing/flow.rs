//! A signature request's life against the database, each step inside the caller's transaction
//! with its events, audit record and emails: sent (a document drafted from the request and a
//! link emailed), opened, a code emailed, signed (the executed addendum sealed and attached to
//! the change request) or declined, voided or expired.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::PgConnection;

use super::addendum::{self, EventLine, Evidence, Signed, Terms};
use super::chain::{self, EventKind};
use super::pdf::{self, SealField};
use super::rules::{self, LINK_DAYS, SignedTerms, State};
use super::seal::{Seal, SealError, pdf_date};
use crate::audit::{self, Actor};
use crate::auth::token::to_hex;
use crate::change_requests::db::RequestRow;
use crate::config::{Config, SealSource};
use crate::notifications::emails::Notice;
use crate::notifications::outbox;
use crate::web::ctx::RequestMeta;
use crate::web::error::{AppError, AppResult};

crate::db::text_enum!(State);

/// A signature request as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SignatureRow {
    pub id: i64,
    pub document_id: i64,
    pub change_request_id: i64,
    pub signer_name: String,
    pub signer_title: String,
    pub signer_email: String,
    pub state: State,
    pub expires_at: DateTime<Utc>,
    pub sent_by: i64,
    pub sent_by_name: String,
    pub sent_by_email: String,
    pub sent_at: DateTime<Utc>,
    pub opened_at: Option<DateTime<Utc>>,
    pub code_hash: Option<Vec<u8>>,
    pub code_expires_at: Option<DateTime<Utc>>,
    pub code_tries: i32,
    pub ended_at: Option<DateTime<Utc>>,
    pub end_reason: Option<String>,
    pub signed_name: Option<String>,
    pub attachment_id: Option<i64>,
    pub executed_sha256: Option<Vec<u8>>,
    pub document_sha256: Vec<u8>,
    /// What the document sent says (`addendum::Terms`).
    pub terms: Value,
}

impl SignatureRow {
    /// The document's fingerprint as the signer is shown it: its first 16 hex digits, in
    /// groups of four.
    pub fn short_fingerprint(&self) -> String {
        short(&to_hex(&self.document_sha256))
    }

    pub fn fingerprint(&self) -> String {
        to_hex(&self.document_sha256)
    }

    /// Waiting on the signer at `now` (a lapsed link is not, though it is still stored `sent`).
    pub fn waiting(&self, now: DateTime<Utc>) -> bool {
        self.state.live() && now < self.expires_at
    }

    /// The state as the request's page says it, at `now`.
    pub fn shown_state(&self, now: DateTime<Utc>) -> &'static str {
        if self.state.live() && now >= self.expires_at {
            State::Expired.label()
        } else {
            self.state.label()
        }
    }
}

pub fn short(hex: &str) -> String {
    hex.as_bytes()
        .chunks(4)
        .take(4)
        .map(|c| String::from_utf8_lossy(c).to_uppercase())
        .collect::<Vec<_>>()
        .join(" ")
}

const SELECT: &str = "SELECT s.id, s.document_id, s.change_request_id, s.signer_name,
        s.signer_title, s.signer_email, s.state, s.expires_at, s.sent_by,
        u.display_name AS sent_by_name, u.email AS sent_by_email, s.sent_at, s.opened_at, s.code_hash, s.code_expires_at,
        s.code_tries, s.ended_at, s.end_reason, s.signed_name, s.attachment_id,
        s.executed_sha256, d.sha256 AS document_sha256, d.terms
   FROM signature_requests s
   JOIN users u ON u.id = s.sent_by
   JOIN addendum_documents d ON d.id = s.document_id";

/// Whether `token` has a link token's shape (64 hex digits): only such a token is ever looked
/// up, anything else is a miss without a query's cost.
fn token_shaped(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The change request a link's token belongs to, read without a lock (`None`: no such link).
pub async fn request_of_token(conn: &mut PgConnection, token: &str) -> sqlx::Result<Option<i64>> {
    if !token_shaped(token) {
        return Ok(None);
    }
    sqlx::query_scalar(
        "SELECT change_request_id FROM signature_requests
          WHERE token_hash = $1 OR reminder_token_hash = $1",
    )
    .bind(crate::auth::token::digest(token))
    .fetch_optional(conn)
    .await
}

/// The request a link's token opens, held until the transaction ends. The caller holds its
/// change request first (as every change to a request does, so the two are always taken in
/// the same order).
pub async fn by_token_for_update(
    conn: &mut PgConnection,
    token: &str,
) -> sqlx::Result<Option<SignatureRow>> {
    if !token_shaped(token) {
        return Ok(None);
    }
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE s.token_hash = $1 OR s.reminder_token_hash = $1 FOR NO KEY UPDATE OF s"
    )))
    .bind(crate::auth::token::digest(token))
    .fetch_optional(conn)
    .await
}

/// A change request's signature requests, newest first (at most ten).
pub async fn for_request(
    conn: &mut PgConnection,
    request_id: i64,
) -> sqlx::Result<Vec<SignatureRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE s.change_request_id = $1 ORDER BY s.id DESC LIMIT 10"
    )))
    .bind(request_id)
    .fetch_all(conn)
    .await
}

/// The change request's signature request still waiting (or lapsed unnoticed), held.
async fn live_for_update(
    conn: &mut PgConnection,
    request_id: i64,
) -> sqlx::Result<Option<SignatureRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE s.change_request_id = $1 AND s.state IN ('sent', 'opened')
          FOR NO KEY UPDATE OF s"
    )))
    .bind(request_id)
    .fetch_optional(conn)
    .await
}

/// The id of request `request_id`'s signature request still waiting (or lapsed unnoticed).
/// Read under the change request's lock, it stays so to the end of the transaction.
pub async fn live_id(conn: &mut PgConnection, request_id: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "SELECT id FROM signature_requests
          WHERE change_request_id = $1 AND state IN ('sent', 'opened')",
    )
    .bind(request_id)
    .fetch_optional(conn)
    .await
}

/// Who asks, as the signature's record keeps them.
pub struct Origin<'a> {
    pub ip: &'a str,
    pub user_agent: &'a str,
}

impl<'a> From<&'a RequestMeta> for Origin<'a> {
    fn from(meta: &'a RequestMeta) -> Self {
        Origin {
            ip: &meta.ip,
            user_agent: &meta.user_agent,
        }
    }
}

async fn event(
    conn: &mut PgConnection,
    id: i64,
    kind: EventKind,
    from: Option<&Origin<'_>>,
    details: Value,
) -> sqlx::Result<()> {
    let ip = from.map(|o| o.ip);
    let agent = from.map(|o| o.user_agent);
    chain::append(conn, id, kind, ip, agent, &details).await?;
    Ok(())
}

/// Ends a live request whose link has lapsed as expired (lazily, when it is next met). Returns
/// whether it did.
pub async fn expire_if_lapsed(
    conn: &mut PgConnection,
    row: &mut SignatureRow,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    if !row.state.live() || now < row.expires_at {
        return Ok(false);
    }
    end(conn, row, State::Expired, "the link's 14 days passed", now).await?;
    event(conn, row.id, EventKind::Expired, None, json!({})).await?;
    Ok(true)
}

async fn end(
    conn: &mut PgConnection,
    row: &mut SignatureRow,
    state: State,
    reason: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE signature_requests SET state = $2, ended_at = $3, end_reason = $4, code_hash = NULL
          WHERE id = $1",
    )
    .bind(row.id)
    .bind(state)
    .bind(now)
    .bind(reason)
    .execute(&mut *conn)
    .await?;
    row.state = state;
    row.ended_at = Some(now);
    row.end_reason = Some(reason.to_string());
    super::reminder::cancel(conn, row.id).await
}

/// The signer, as the account manager typed them.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct SignerForm {
    #[serde(default)]
    pub signer_name: String,
    #[serde(default)]
    pub signer_title: String,
    #[serde(default)]
    pub signer_email: String,
}

/// A signer as checked.
#[derive(Debug, Clone)]
pub struct Signer {
    pub name: String,
    pub title: String,
    pub email: String,
}

/// Checks the signer's fields, each problem beside its field.
pub fn check_signer(form: &SignerForm) -> Result<Signer, crate::web::fields::FieldErrors> {
    let mut errors = crate::web::fields::FieldErrors::default();
    let text = crate::web::text::label;
    let metrics = super::pdf::Metrics::default();
    let printable = |s: String| metrics.refuse_unprintable(&s).map(|()| s);
    let name = text(&form.signer_name, 200, "Type the signer's full name.")
        .and_then(printable)
        .map_err(|m| errors.add("signer_name", m))
        .ok();
    let title = text(
        &form.signer_title,
        200,
        "Type the signer's title (for example, Owner).",
    )
    .and_then(printable)
    .map_err(|m| errors.add("signer_title", m))
    .ok();
    let email = crate::users::form::Email::parse(&form.signer_email)
        .map_err(|m| {
            errors.add(
                "signer_email",
                m.replace("name@agency.com", "name@client.com"),
            )
        })
        .ok();
    match (name, title, email) {
        (Some(name), Some(title), Some(email)) if errors.is_empty() => Ok(Signer {
            name,
            title,
            email: email.as_str().to_string(),
        }),
        _ => Err(errors),
    }
}

/// What the request's terms are, for a signature: `None` when it is not an addendum with both
/// budgets (nothing to sign).
pub fn signed_terms(r: &RequestRow) -> Option<SignedTerms> {
    Some(SignedTerms {
        current_budget_cents: r.current_budget_cents?,
        new_budget_cents: r.new_budget_cents?,
        effective_date: r.effective_date,
    })
    .filter(|_| r.kind == crate::change_requests::rules::Kind::Addendum)
}

/// The addendum's terms for request `r`, signed by `signer`, in the wording now in force.
pub async fn terms_for(
    conn: &mut PgConnection,
    config: &Config,
    r: &RequestRow,
    signer: &Signer,
) -> AppResult<(Terms, i64)> {
    let t = signed_terms(r).ok_or_else(|| {
        AppError::Refused("Only an addendum with its current and new budgets is signed.".into())
    })?;
    let (wording_id, version, body, crm): (i64, i32, String, String) = sqlx::query_as(
        "SELECT w.id, w.version, w.body, c.crm_account_id
           FROM addendum_wordings w, clients c
          WHERE c.id = $1
          ORDER BY w.version DESC LIMIT 1",
    )
    .bind(r.client_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok((
        Terms {
            agency: config.agency_name.clone(),
            client: r.client_name.clone(),
            crm_account_id: crm,
            request_id: r.id,
            current_budget_cents: t.current_budget_cents,
            new_budget_cents: t.new_budget_cents,
            effective_date: t.effective_date,
            wording_version: version,
            wording: body,
            signer_name: signer.name.clone(),
            signer_title: signer.title.clone(),
            signer_email: signer.email.clone(),
        },
        wording_id,
    ))
}

/// The unsigned addendum's file.
pub fn unsigned_pdf(terms: &Terms) -> Vec<u8> {
    pdf::write(&addendum::unsigned(terms), None).0
}

/// Sends request `r` (locked by the caller) for `signer`'s signature: a new document, a new
/// link emailed (saying which link it `replaces`, when resent), the events and the audit
/// record. Refused while another is waiting.
#[allow(clippy::too_many_arguments)]
pub async fn send(
    conn: &mut PgConnection,
    config: &Config,
    r: &RequestRow,
    signer: &Signer,
    replaces: Option<&SignatureRow>,
    actor: &Actor,
    from: &Origin<'_>,
    now: DateTime<Utc>,
) -> AppResult<SignatureRow> {
    // A self-signed seal is for development: in production the agency's own is required
    // before any client is asked to sign.
    if config.production && config.seal.is_none() {
        return Err(AppError::Refused(
            "The agency's seal is not configured (SEAL_PKCS12_FILE): ask the administrator to \
             set it before sending addendums for signature."
                .into(),
        ));
    }
    // The page hides the form once a signed document is attached; a tab opened before says so.
    if r.attachment_count > 0 {
        return Err(AppError::Refused(
            "The addendum is already signed and attached to the request.".into(),
        ));
    }
    if let Some(mut live) = live_for_update(conn, r.id).await?
        && !expire_if_lapsed(conn, &mut live, now).await?
    {
        return Err(AppError::Refused(format!(
            "The addendum is already waiting for {}'s signature: resend or void that one first.",
            live.signer_name
        )));
    }
    let sender = actor.user_id.ok_or(AppError::Forbidden)?;
    let (terms, wording_id) = terms_for(conn, config, r, signer).await?;
    let pdf = unsigned_pdf(&terms);
    let document_id: i64 = sqlx::query_scalar(
        "INSERT INTO addendum_documents (change_request_id, wording_id, terms, pdf, sha256, created_by)
         VALUES ($1, $2, $3, $4, sha256($4), $5) RETURNING id",
    )
    .bind(r.id)
    .bind(wording_id)
    .bind(serde_json::to_value(&terms).map_err(anyhow::Error::from)?)
    .bind(&pdf)
    .bind(sender)
    .fetch_one(&mut *conn)
    .await?;
    let (token, hash) = rules::new_token();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO signature_requests (document_id, change_request_id, signer_name, signer_title,
                                         signer_email, token_hash, expires_at, sent_by, sent_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(document_id)
    .bind(r.id)
    .bind(&signer.name)
    .bind(&signer.title)
    .bind(&signer.email)
    .bind(&hash)
    .bind(now + Duration::days(LINK_DAYS))
    .bind(sender)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    let fingerprint = to_hex(&Sha256::digest(&pdf));
    event(
        conn,
        id,
        EventKind::Created,
        Some(from),
        json!({"by": actor.label, "document_sha256": fingerprint, "signer": signer.email}),
    )
    .await?;
    event(
        conn,
        id,
        EventKind::Emailed,
        None,
        json!({"to": signer.email}),
    )
    .await?;
    super::reminder::schedule(conn, id, now).await?;
    let expires = addendum::long_date(crate::time::day_in(
        config.time_zone,
        now + Duration::days(LINK_DAYS),
    ));
    outbox::queued_client_notice(
        conn,
        config,
        Notice {
            kind: "signing.requested",
            to: vec![signer.email.clone()],
            subject: format!(
                "Please sign: addendum for {} from {}",
                r.client_name, config.agency_name
            ),
            intro: &format!(
                "{} asks you, {}, to sign an addendum for {}. Open the link to read it and sign \
                 it online: no account is needed. We will email you a one-time code when you \
                 start. The link works until {}.{}",
                config.agency_name,
                signer.name,
                r.client_name,
                expires,
                replaces
                    .map(|old| format!(
                        " It replaces the link sent on {}, which no longer works.",
                        addendum::long_date(crate::time::day_in(config.time_zone, old.sent_at))
                    ))
                    .unwrap_or_default()
            ),
            facts: vec![
                (
                    "Budget",
                    format!(
                        "{} to {} a month",
                        crate::money::format_cents(terms.current_budget_cents),
                        crate::money::format_cents(terms.new_budget_cents)
                    ),
                ),
                ("Effective", addendum::long_date(terms.effective_date)),
                ("Document fingerprint", short(&fingerprint)),
            ],
            path: format!("/sign/{token}"),
            link_label: "Read and sign the addendum",
            related: Some(("change_request", r.id.to_string())),
        },
    )
    .await?;
    audit::on_request(
        conn,
        actor,
        "signature.sent",
        r.id,
        json!({"signature_request_id": id, "signer": signer.name, "signer_email": signer.email,
               "document_sha256": fingerprint, "client_signer_kept": r.client_signer_email.is_none()}),
    )
    .await?;
    // The client's signing contact, kept when it had none (said in the audit record above).
    sqlx::query(
        "UPDATE clients SET signer_name = $2, signer_title = $3, signer_email = $4
          WHERE id = $1 AND signer_email IS NULL",
    )
    .bind(r.client_id)
    .bind(&signer.name)
    .bind(&signer.title)
    .bind(&signer.email)
    .execute(&mut *conn)
    .await?;
    let mut rows =
        sqlx::query_as::<_, SignatureRow>(sqlx::AssertSqlSafe(format!("{SELECT} WHERE s.id = $1")))
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
    rows.pop().ok_or(AppError::NotFound)
}

/// Voids request `r`'s waiting signature request, if any, for `reason`. Returns it.
pub async fn void_live(
    conn: &mut PgConnection,
    r: &RequestRow,
    reason: &str,
    actor: &Actor,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<SignatureRow>> {
    let Some(mut live) = live_for_update(conn, r.id).await? else {
        return Ok(None);
    };
    if expire_if_lapsed(conn, &mut live, now).await? {
        return Ok(None);
    }
    end(conn, &mut live, State::Voided, reason, now).await?;
    // From where the person voiding it acted (the desk itself acts from nowhere).
    let from = actor.ip.as_deref().map(|ip| Origin { ip, user_agent: "" });
    event(
        conn,
        live.id,
        EventKind::Voided,
        from.as_ref(),
        json!({"by": actor.label, "reason": reason}),
    )
    .await?;
    audit::on_request(
        conn,
        actor,
        "signature.voided",
        r.id,
        json!({"signature_request_id": live.id, "signer": live.signer_name, "reason": reason}),
    )
    .await?;
    Ok(Some(live))
}

/// Voids request `r`'s waiting signature request, if any, for `reason`, and tells its signer
/// by email that the link was withdrawn. Returns it.
pub async fn void_and_tell(
    conn: &mut PgConnection,
    config: &Config,
    r: &RequestRow,
    reason: &str,
    actor: &Actor,
    now: DateTime<Utc>,
) -> AppResult<Option<SignatureRow>> {
    let voided = void_live(conn, r, reason, actor, now).await?;
    if let Some(v) = &voided {
        tell_signer_voided(conn, config, r, v).await?;
    }
    Ok(voided)
}

/// Tells the signer of `voided` that the agency withdrew its link (nothing to sign for now).
pub async fn tell_signer_voided(
    conn: &mut PgConnection,
    config: &Config,
    r: &RequestRow,
    voided: &SignatureRow,
) -> AppResult<()> {
    outbox::queued_client_notice(
        conn,
        config,
        Notice {
            kind: "signing.voided",
            to: vec![voided.signer_email.clone()],
            subject: format!(
                "Withdrawn: the addendum for {} from {}",
                r.client_name, config.agency_name
            ),
            intro: &format!(
                "{} withdrew the addendum for {} it asked you to sign on {}: its link no longer \
                 works and there is nothing to sign for now. If a new one is needed, it will \
                 come in a new email.",
                config.agency_name,
                r.client_name,
                addendum::long_date(crate::time::day_in(config.time_zone, voided.sent_at))
            ),
            facts: vec![("Document fingerprint", voided.short_fingerprint())],
            path: String::new(),
            link_label: "",
            related: Some(("change_request", r.id.to_string())),
        },
    )
    .await?;
    Ok(())
}

/// After request `after`'s terms changed: voids its waiting signature request when the terms
/// sent differ from the request's now. Returns the sentence for the person who changed them.
pub async fn void_if_terms_changed(
    conn: &mut PgConnection,
    config: &Config,
    after: &RequestRow,
    actor: &Actor,
    now: DateTime<Utc>,
) -> AppResult<Option<String>> {
    let sent: Option<Value> = sqlx::query_scalar(
        "SELECT d.terms FROM signature_requests s JOIN addendum_documents d ON d.id = s.document_id
          WHERE s.change_request_id = $1 AND s.state IN ('sent', 'opened')",
    )
    .bind(after.id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(sent) = sent else {
        return Ok(None);
    };
    let sent: Terms = serde_json::from_value(sent).map_err(anyhow::Error::from)?;
    let was = SignedTerms {
        current_budget_cents: sent.current_budget_cents,
        new_budget_cents: sent.new_budget_cents,
        effective_date: sent.effective_date,
    };
    let message = match signed_terms(after) {
        None => Some(
            "The request is no longer an addendum with both budgets: its signature request is voided and the signer told so."
                .to_string(),
        ),
        Some(now_terms) => rules::terms_changed(was, now_terms),
    };
    let Some(message) = message else {
        return Ok(None);
    };
    let voided = void_and_tell(
        conn,
        config,
        after,
        "the request's terms changed",
        actor,
        now,
    )
    .await?;
    Ok(voided.map(|_| message))
}

/// The agency's own seal, from the PKCS#12 file and password configured, or from the
/// certificate and key files (PEM or DER, the key in PKCS#8); a P-256 or RSA key.
pub fn configured_seal(source: &SealSource) -> anyhow::Result<Seal> {
    use anyhow::Context;
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivatePkcs8KeyDer};
    let read = |variable: &str, path: &std::path::Path| {
        std::fs::read(path).with_context(|| format!("{variable}: reading {}", path.display()))
    };
    let (cert, key) = match source {
        SealSource::Pkcs12 { file, password } => {
            let contents = super::pkcs12::read(&read("SEAL_PKCS12_FILE", file)?, &password.0)
                .map_err(|e| anyhow::anyhow!("SEAL_PKCS12_FILE ({}): {e}", file.display()))?;
            return Seal::with_chain(&contents.key_pkcs8, &contents.certificates, false)
                .map_err(|e| anyhow::anyhow!("SEAL_PKCS12_FILE ({}): {e}", file.display()));
        }
        SealSource::Files { certificate, key } => (certificate, key),
    };
    let (cert_bytes, key_bytes) = (read("SEAL_CERT_FILE", cert)?, read("SEAL_KEY_FILE", key)?);
    let cert_der = if cert_bytes.starts_with(b"-----BEGIN") {
        CertificateDer::from_pem_slice(&cert_bytes)
            .map_err(|e| anyhow::anyhow!("SEAL_CERT_FILE is not a PEM certificate: {e}"))?
            .to_vec()
    } else {
        cert_bytes
    };
    let key_der = if key_bytes.starts_with(b"-----BEGIN") {
        PrivatePkcs8KeyDer::from_pem_slice(&key_bytes)
            .map_err(|e| {
                anyhow::anyhow!(
                    "SEAL_KEY_FILE is not a PEM PKCS#8 private key (BEGIN PRIVATE KEY): {e}"
                )
            })?
            .secret_pkcs8_der()
            .to_vec()
    } else {
        key_bytes
    };
    Seal::from_der(&key_der, &cert_der, false)
        .map_err(|e| anyhow::anyhow!("the configured seal: {e}"))
}

/// The configured seal, read once per process (and source): every signature seals with the
/// file checked at start, without reading it again (a file replaced or removed meanwhile
/// takes a restart to count, and cannot fail a signature after its code).
pub fn loaded_seal(source: &SealSource) -> anyhow::Result<Arc<Seal>> {
    static LOADED: std::sync::Mutex<Vec<(SealSource, Arc<Seal>)>> =
        std::sync::Mutex::new(Vec::new());
    let mut loaded = LOADED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((_, seal)) = loaded.iter().find(|(s, _)| s == source) {
        return Ok(seal.clone());
    }
    let seal = Arc::new(configured_seal(source)?);
    loaded.push((source.clone(), seal.clone()));
    Ok(seal)
}

/// The seal documents are executed with: the agency's, when configured; otherwise the one the
/// desk made for itself (kept in the database, so every instance seals alike), made by the
/// first signature that needs it.
pub async fn seal(
    conn: &mut PgConnection,
    config: &Config,
    now: DateTime<Utc>,
) -> AppResult<Arc<Seal>> {
    if let Some(source) = &config.seal {
        return Ok(loaded_seal(source)?);
    }
    const LOAD: &str = "SELECT key_pkcs8, certificate FROM signing_seals WHERE id = 1";
    let kept = match sqlx::query_as::<_, (Vec<u8>, Vec<u8>)>(LOAD)
        .fetch_optional(&mut *conn)
        .await?
    {
        Some(kept) => kept,
        None => {
            let today = now.with_timezone(&config.time_zone).date_naive();
            let made = Seal::self_signed(&config.agency_name, today).map_err(seal_error)?;
            sqlx::query(
                "INSERT INTO signing_seals (id, key_pkcs8, certificate) VALUES (1, $1, $2)
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(made.key_pkcs8())
            .bind(made.certificate())
            .execute(&mut *conn)
            .await?;
            sqlx::query_as::<_, (Vec<u8>, Vec<u8>)>(LOAD)
                .fetch_one(&mut *conn)
                .await?
        }
    };
    Seal::from_der(&kept.0, &kept.1, true)
        .map(Arc::new)
        .map_err(seal_error)
}

fn seal_error(e: SealError) -> AppError {
    AppError::Internal(anyhow::anyhow!("the seal: {e}"))
}

/// Records a wrong code (one try used) on `row`.
pub async fn code_refused(
    conn: &mut PgConnection,
    row: &SignatureRow,
    from: &Origin<'_>,
) -> sqlx::Result<i32> {
    let tries: i32 = sqlx::query_scalar(
        "UPDATE signature_requests SET code_tries = code_tries + 1
          WHERE id = $1 AND code_tries < $2 RETURNING code_tries",
    )
    .bind(row.id)
    .bind(rules::CODE_TRIES)
    .fetch_optional(&mut *conn)
    .await?
    .unwrap_or(rules::CODE_TRIES);
    event(
        conn,
        row.id,
        EventKind::CodeRefused,
        Some(from),
        json!({"tries": tries}),
    )
    .await?;
    Ok(tries)
}

/// How many codes were sent for `row` in the last hour.
pub async fn codes_sent(conn: &mut PgConnection, row: &SignatureRow) -> sqlx::Result<CodesSent> {
    let (last_hour, ever) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE at > clock_timestamp() - interval '1 hour'), count(*)
           FROM signature_events
          WHERE signature_request_id = $1 AND kind = 'code_sent'",
    )
    .bind(row.id)
    .fetch_one(conn)
    .await?;
    Ok(CodesSent { last_hour, ever })
}

/// How many codes a link has had emailed: in the last hour, and since it was sent.
pub struct CodesSent {
    pub last_hour: i64,
    pub ever: i64,
}

/// The most codes a signer may ask for in an hour.
pub const CODES_AN_HOUR: i64 = 5;

/// The most codes one link ever has (five tries each): past them, guessing a code has had
/// fifty tries in all, and the signer needs a new link from the agency.
pub const CODES_A_LINK: i64 = 10;

/// A new code for `row`'s signer, emailed; any earlier one stops working.
pub async fn send_code(
    conn: &mut PgConnection,
    config: &Config,
    row: &SignatureRow,
    client: &str,
    from: &Origin<'_>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let (code, hash) = rules::new_code(row.id);
    sqlx::query(
        "UPDATE signature_requests SET code_hash = $2, code_expires_at = $3, code_tries = 0
          WHERE id = $1",
    )
    .bind(row.id)
    .bind(&hash[..])
    .bind(now + Duration::minutes(rules::CODE_MINUTES))
    .execute(&mut *conn)
    .await?;
    event(
        conn,
        row.id,
        EventKind::CodeSent,
        Some(from),
        json!({"to": row.signer_email}),
    )
    .await?;
    outbox::queued_client_notice(
        conn,
        config,
        Notice {
            kind: "signing.code",
            to: vec![row.signer_email.clone()],
            subject: format!("Your code to sign the addendum for {client}: {code}"),
            intro: &format!(
                "Type this code on the signing page to sign the addendum for {client}. It works \
                 for ten minutes. If you did not ask for it, ignore this email: nothing is \
                 signed without it."
            ),
            facts: vec![("Code", code.clone())],
            path: String::new(),
            link_label: "",
            related: Some(("change_request", row.change_request_id.to_string())),
        },
    )
    .await?;
    Ok(())
}

/// Masks an address for a page anyone holding the link sees: `j•••@client.com`.
pub fn masked(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}•••@{domain}")
        }
        None => "your address".into(),
    }
}

/// What signing leaves: the executed document's id on the change request.
pub struct Executed {
    pub attachment_id: i64,
    pub sha256: String,
    pub pdf: Vec<u8>,
}

/// Signs `row` (held, waiting, its code confirmed): the record's last events, the executed
/// addendum built from the document's own terms, sealed, attached to the change request as its
/// signed document, and the request ended as signed.
pub async fn sign(
    conn: &mut PgConnection,
    config: &Config,
    row: &mut SignatureRow,
    signature: &rules::Signature,
    from: &Origin<'_>,
    now: DateTime<Utc>,
) -> AppResult<Executed> {
    event(conn, row.id, EventKind::CodeVerified, Some(from), json!({})).await?;
    event(
        conn,
        row.id,
        EventKind::Consented,
        Some(from),
        json!({"wording": rules::CONSENT, "version": rules::CONSENT_VERSION}),
    )
    .await?;
    event(
        conn,
        row.id,
        EventKind::Signed,
        Some(from),
        json!({"name": signature.name, "title": signature.title, "authorised": true}),
    )
    .await?;
    let events = chain::events(conn, row.id).await?;
    let head = chain::verify(&events)
        .map_err(|b| AppError::Internal(anyhow::anyhow!("the signature's record: {b:?}")))?;
    let terms: Terms = serde_json::from_value(row.terms.clone()).map_err(anyhow::Error::from)?;
    let seal = seal(conn, config, now).await?;
    let at_of = |kind: EventKind| {
        events
            .iter()
            .rev()
            .find(|e| e.kind == kind.key())
            .map(|e| e.at)
    };
    let sender_ip = events
        .iter()
        .find(|e| e.kind == EventKind::Created.key())
        .and_then(|e| e.ip.clone())
        .unwrap_or_default();
    let evidence = Evidence {
        document_sha256: row.fingerprint(),
        sender_name: row.sent_by_name.clone(),
        sender_email: row.sent_by_email.clone(),
        sender_ip,
        signer_ip: from.ip.to_string(),
        verified_by: format!(
            "the link emailed to {} and a one-time code emailed to the same address, confirmed {}",
            row.signer_email,
            at_of(EventKind::CodeVerified)
                .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                .unwrap_or_default()
        ),
        consent_wording: rules::CONSENT.to_string(),
        consent_version: rules::CONSENT_VERSION,
        consent_at: at_of(EventKind::Consented).unwrap_or(now),
        events: events
            .iter()
            .map(|e| EventLine {
                at: e.at,
                what: EventKind::from_key(&e.kind)
                    .map(|k| k.sentence().to_string())
                    .unwrap_or_else(|| e.kind.clone()),
                ip: e.ip.clone().unwrap_or_default(),
            })
            .collect(),
        chain_head: to_hex(&head),
        seal_fingerprint: seal.fingerprint(),
        seal_note: seal.self_signed.then(|| {
            "The seal's certificate was made by the desk itself (no certificate authority \
             vouches for it): PDF readers show the seal as valid with its signer's identity \
             unknown. The fingerprint above identifies it."
                .to_string()
        }),
    };
    let signed_at = at_of(EventKind::Signed).unwrap_or(now);
    let signed = Signed {
        name: signature.name.clone(),
        title: signature.title.clone(),
        at: signed_at,
        zone: config.time_zone,
    };
    let document = addendum::executed(&terms, &signed, &evidence);
    let field = SealField {
        signer: config.agency_name.clone(),
        reason: format!("Executed addendum, request #{}", terms.request_id),
        time: pdf_date(signed_at),
    };
    let executed = seal.seal(&document, &field).map_err(seal_error)?;
    let digest = Sha256::digest(&executed).to_vec();
    let name = format!("addendum-request-{}-signed.pdf", terms.request_id);
    let attachment_id: i64 = sqlx::query_scalar(
        "INSERT INTO request_attachments
             (change_request_id, original_name, content_type, size_bytes, sha256, content, uploaded_by)
         VALUES ($1, $2, 'application/pdf', $3, $4, $5, $6) RETURNING id",
    )
    .bind(row.change_request_id)
    .bind(&name)
    .bind(executed.len() as i32)
    .bind(&digest)
    .bind(&executed)
    .bind(row.sent_by)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE signature_requests
            SET state = 'signed', ended_at = $2, signed_name = $3, signed_title = $4,
                executed_pdf = $5, executed_sha256 = sha256($5), attachment_id = $6,
                chain_head = $7, code_hash = NULL
          WHERE id = $1",
    )
    .bind(row.id)
    .bind(now)
    .bind(&signature.name)
    .bind(&signature.title)
    .bind(&executed)
    .bind(attachment_id)
    .bind(&head)
    .execute(&mut *conn)
    .await?;
    super::reminder::cancel(conn, row.id).await?;
    row.state = State::Signed;
    row.ended_at = Some(now);
    row.signed_name = Some(signature.name.clone());
    row.attachment_id = Some(attachment_id);
    Ok(Executed {
        attachment_id,
        sha256: to_hex(&digest),
        pdf: executed,
    })
}

/// Declines `row` (held, waiting) for `reason`.
pub async fn decline(
    conn: &mut PgConnection,
    row: &mut SignatureRow,
    reason: &str,
    from: &Origin<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    end(conn, row, State::Declined, reason, now).await?;
    event(
        conn,
        row.id,
        EventKind::Declined,
        Some(from),
        json!({"reason": reason}),
    )
    .await
}

/// Marks `row` opened the first time its link is followed.
pub async fn opened(
    conn: &mut PgConnection,
    row: &mut SignatureRow,
    from: &Origin<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    if row.state != State::Sent {
        return Ok(());
    }
    sqlx::query("UPDATE signature_requests SET state = 'opened', opened_at = $2 WHERE id = $1")
        .bind(row.id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    row.state = State::Opened;
    row.opened_at = Some(now);
    event(conn, row.id, EventKind::Opened, Some(from), json!({})).await
}

/// The unsigned document's file, or the executed one once signed.
pub async fn document_pdf(conn: &mut PgConnection, row: &SignatureRow) -> sqlx::Result<Vec<u8>> {
    sqlx::query_scalar(
        "SELECT coalesce(s.executed_pdf, d.pdf) FROM signature_requests s
           JOIN addendum_documents d ON d.id = s.document_id WHERE s.id = $1",
    )
    .bind(row.id)
    .fetch_one(conn)
    .await
}

/// A link that led nowhere, counted against the address; true when the address has met too
/// many in the last quarter hour (its next answers are refused for a while).
pub async fn missed(conn: &mut PgConnection, ip: &str) -> sqlx::Result<bool> {
    sqlx::query("INSERT INTO signing_link_misses (ip) VALUES ($1)")
        .bind(ip)
        .execute(&mut *conn)
        .await?;
    // Only the last quarter hour counts: older misses are let go as new ones come.
    sqlx::query("DELETE FROM signing_link_misses WHERE at < now() - interval '1 hour'")
        .execute(&mut *conn)
        .await?;
    throttled(conn, ip).await
}

/// Links that led nowhere from one address within 15 minutes before its answers pause.
pub const MISSES_ALLOWED: i64 = 20;

pub async fn throttled(conn: &mut PgConnection, ip: &str) -> sqlx::Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM signing_link_misses WHERE ip = $1 AND at > now() - interval '15 minutes'",
    )
    .bind(ip)
    .fetch_one(conn)
    .await?;
    Ok(n > MISSES_ALLOWED)
}
