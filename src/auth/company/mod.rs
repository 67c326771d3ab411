//! Signing in with the company account: OpenID Connect's authorization-code flow with PKCE,
//! `state` and `nonce`, the provider found by discovery from its issuer, its ID token checked
//! by `openidconnect` (signature against the provider's keys, issuer, audience, expiry, nonce)
//! over the desk's own HTTPS client. The person is matched to their user by a verified email
//! of an allowed domain; the desk's own session follows, as after a password.

pub mod config;
mod flow;
pub mod settings;

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use openidconnect::core::{CoreClient, CoreIdToken, CoreIdTokenVerifier};
use openidconnect::{
    ClientId, ClientSecret, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl,
    ProviderMetadataWithLogout, RedirectUrl,
};

pub use config::CompanyConfig;

use crate::auth::access::Access;
use crate::web::Routes;

pub fn routes(r: Routes) -> Routes {
    r.get("/auth/company", Access::Public, flow::start)
        .get("/auth/company/callback", Access::Public, flow::callback)
        .get(
            "/auth/company/sign-out",
            Access::Public,
            flow::provider_sign_out,
        )
        .get(
            "/admin/sign-in",
            Access::Roles(&[crate::auth::roles::Role::Admin]),
            settings::page,
        )
        .post(
            "/admin/sign-in",
            Access::Roles(&[crate::auth::roles::Role::Admin]),
            settings::save,
        )
}

/// Removes the company sign-ins never finished (past their ten minutes).
pub async fn purge_unfinished(db: &sqlx::PgPool) -> sqlx::Result<()> {
    flow::purge_unfinished(db).await
}

/// The path the provider sends people back to.
pub const CALLBACK: &str = "/auth/company/callback";

/// How long the provider's discovery document and keys are trusted before they are read again
/// (sooner when an ID token names a key they lack: the provider rotated its keys).
const METADATA_TTL: Duration = Duration::from_secs(3600);

/// How long a call to the provider may take.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

/// A sign-in's start reads the discovery document again when it is older than this.
const START_CHECK: Duration = Duration::from_secs(60);

/// How long a failure to read the provider's discovery document is remembered.
const FAILURE_KEPT: Duration = Duration::from_secs(15);

type Metadata = ProviderMetadataWithLogout;
type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The configured identity provider, its discovery document read when first needed and kept
/// for an hour.
pub struct Provider {
    pub config: CompanyConfig,
    redirect: RedirectUrl,
    http: OnceLock<reqwest::Client>,
    metadata: tokio::sync::Mutex<Kept>,
}

/// The discovery document last read and when, and the last failure to read it.
#[derive(Default)]
struct Kept {
    good: Option<(Instant, Arc<Metadata>)>,
    failed: Option<(Instant, String)>,
}

/// Why a company sign-in did not happen: the page's words and the audit's reason.
#[derive(Debug)]
pub enum Failure {
    /// The provider could not be reached or answered nonsense.
    Unreachable(String),
    /// The provider said no (the person cancelled, or it refused the desk).
    Provider(String),
    /// The callback's `state` is not the one this browser was given.
    StateMismatch,
    /// Too many sign-ins are under way (started in ten minutes, not finished).
    TooManyStarts,
    /// The `state` is unknown: used already, or older than ten minutes.
    StateUnknown,
    /// The code could not be exchanged for tokens.
    Exchange(String),
    /// The ID token did not pass its checks.
    IdToken(&'static str, String),
    EmailUnverified(String),
    DomainNotAllowed(String),
    NoAccount(String),
    Disabled(String),
}

impl Failure {
    /// Whether trying another account at the provider may help (the identity was refused,
    /// not the sign-in's mechanics).
    pub fn another_account_may_help(&self) -> bool {
        matches!(
            self,
            Failure::EmailUnverified(_)
                | Failure::DomainNotAllowed(_)
                | Failure::NoAccount(_)
                | Failure::Disabled(_)
        )
    }

    /// The short reason the audit log keeps.
    pub fn reason(&self) -> &'static str {
        match self {
            Failure::Unreachable(_) => "provider_unreachable",
            Failure::Provider(_) => "provider_refused",
            Failure::StateMismatch => "state_mismatch",
            Failure::TooManyStarts => "too_many_starts",
            Failure::StateUnknown => "state_unknown_or_used",
            Failure::Exchange(_) => "code_exchange_failed",
            Failure::IdToken(reason, _) => reason,
            Failure::EmailUnverified(_) => "email_unverified",
            Failure::DomainNotAllowed(_) => "domain_not_allowed",
            Failure::NoAccount(_) => "unknown_email",
            Failure::Disabled(_) => "disabled",
        }
    }

    /// What the person reads.
    pub fn message(&self, provider: &str) -> String {
        match self {
            Failure::Unreachable(_) => format!(
                "{provider} could not be reached just now, so the desk cannot sign you in with \
                 it. Try again in a few minutes."
            ),
            Failure::Provider(error) if error.starts_with("access_denied") => {
                format!("The sign-in with {provider} was cancelled.")
            }
            Failure::Provider(_) => format!("{provider} did not sign you in."),
            Failure::StateMismatch => "This sign-in does not match one this browser started \
                 (it was started in another browser, its address was changed, or the \
                 browser's cookies were cleared), so the desk did not accept it. Start again \
                 from the sign-in page."
                .into(),
            Failure::TooManyStarts => "Too many sign-ins are under way at once just now. Wait \
                 a few minutes, then try again."
                .into(),
            Failure::StateUnknown => "This sign-in is not one the desk is waiting for: it \
                 was already used, is more than ten minutes old, or its address was changed. \
                 Start again from the sign-in page."
                .into(),
            Failure::Exchange(_) => format!(
                "{provider} did not confirm this sign-in to the desk. Start again from the \
                 sign-in page."
            ),
            Failure::IdToken(..) => format!(
                "The identity {provider} sent did not pass the desk's checks, so you are not \
                 signed in. Start again from the sign-in page; if it happens again, tell the \
                 administrator."
            ),
            Failure::EmailUnverified(email) => format!(
                "{provider} has not verified the address {email}, so the desk cannot tell it \
                 is yours. Verify it with {provider}, then sign in again."
            ),
            Failure::DomainNotAllowed(email) => format!(
                "{email} is not one of the agency's addresses, so it cannot sign in here. \
                 Sign in with your agency account."
            ),
            Failure::NoAccount(email) => format!(
                "You signed in with {provider} as {email}, but the desk has no account for \
                 that address. Ask the administrator to add you."
            ),
            Failure::Disabled(email) => format!(
                "The account for {email} is disabled. Ask the administrator if you need it \
                 again."
            ),
        }
    }
}

/// A refusal's audit reason in words, for the audit log's sentences.
pub fn reason_in_words(reason: &str) -> &'static str {
    match reason {
        "provider_unreachable" => "the identity provider could not be reached",
        "provider_refused" => "the identity provider did not sign the person in",
        "state_mismatch" => "the sign-in did not start in this browser",
        "too_many_starts" => "too many sign-ins were under way",
        "state_unknown_or_used" => "the sign-in was already used or too old",
        "code_exchange_failed" => "the identity provider did not confirm the code",
        "id_token_expired" => "the ID token had expired",
        "id_token_wrong_audience" => "the ID token was issued to another application",
        "id_token_wrong_issuer" => "the ID token came from another issuer",
        "id_token_wrong_nonce" => "the ID token belonged to another sign-in",
        "id_token_bad_signature" => "the ID token's signature did not verify",
        "email_unverified" => "the email address is not verified",
        "domain_not_allowed" => "the email address is not of an allowed domain",
        "unknown_email" => "no account has that email",
        "disabled" => "the account is disabled",
        _ => "the ID token did not pass the checks",
    }
}

impl Provider {
    pub fn new(config: CompanyConfig, base_url: &str) -> anyhow::Result<Provider> {
        let redirect = RedirectUrl::new(format!("{base_url}{CALLBACK}"))?;
        Ok(Provider {
            config,
            redirect,
            http: OnceLock::new(),
            metadata: tokio::sync::Mutex::new(Kept::default()),
        })
    }

    fn http(&self) -> anyhow::Result<reqwest::Client> {
        if let Some(c) = self.http.get() {
            return Ok(c.clone());
        }
        let client = crate::web::https::client(PROVIDER_TIMEOUT)?;
        Ok(self.http.get_or_init(|| client).clone())
    }

    /// The discovery document and keys: kept ones unless `fresh` or older than an hour. A
    /// failure is remembered for 15 s, so while the provider is down each sign-in is told so
    /// at once rather than each waiting out the timeout. The lock is not held while the
    /// provider is asked.
    async fn metadata(&self, fresh: bool) -> Result<Arc<Metadata>, Failure> {
        self.metadata_within(if fresh { Duration::ZERO } else { METADATA_TTL })
            .await
    }

    /// The discovery document read within `max_age`, else read now. A failure is remembered
    /// for 15 s (each sign-in meanwhile is told at once rather than waiting out the timeout);
    /// the last good copy is kept for when the provider answers again. The lock is not held
    /// while the provider is asked.
    async fn metadata_within(&self, max_age: Duration) -> Result<Arc<Metadata>, Failure> {
        {
            let kept = self.metadata.lock().await;
            if let Some((at, md)) = kept.good.as_ref()
                && at.elapsed() < max_age
            {
                return Ok(md.clone());
            }
            if let Some((at, why)) = kept.failed.as_ref()
                && at.elapsed() < FAILURE_KEPT
            {
                return Err(Failure::Unreachable(why.clone()));
            }
        }
        let found = self.discover().await;
        let mut kept = self.metadata.lock().await;
        match found {
            Ok(md) => {
                let md = Arc::new(md);
                kept.good = Some((Instant::now(), md.clone()));
                kept.failed = None;
                Ok(md)
            }
            Err(why) => {
                kept.failed = Some((Instant::now(), why.clone()));
                Err(Failure::Unreachable(why))
            }
        }
    }

    /// For a sign-in's start: the provider is asked again when last asked more than a minute
    /// ago, so a provider that went down is told on the desk's page rather than by the
    /// browser's own error at the provider's address.
    async fn metadata_for_start(&self) -> Result<Arc<Metadata>, Failure> {
        self.metadata_within(START_CHECK).await
    }

    /// Whether the provider answers now (read afresh).
    pub async fn reachable(&self) -> Result<(), String> {
        match self.metadata(true).await {
            Ok(_) => Ok(()),
            Err(Failure::Unreachable(why)) => Err(why),
            Err(other) => Err(other.reason().to_string()),
        }
    }

    async fn discover(&self) -> Result<Metadata, String> {
        let issuer = IssuerUrl::new(self.config.issuer.clone()).map_err(|e| e.to_string())?;
        let http = self.http().map_err(|e| e.to_string())?;
        Metadata::discover_async(issuer, &|req| send(http.clone(), req))
            .await
            .map_err(|e| chain(&e))
    }

    /// The prompt that lets a person pick another account: Google and Microsoft offer an
    /// account chooser, other providers their sign-in page again.
    fn choose_prompt(&self) -> openidconnect::core::CoreAuthPrompt {
        let host = reqwest::Url::parse(&self.config.issuer)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        if host == "accounts.google.com" || host == "login.microsoftonline.com" {
            openidconnect::core::CoreAuthPrompt::SelectAccount
        } else {
            openidconnect::core::CoreAuthPrompt::Login
        }
    }

    /// The provider's sign-out address, when its discovery document names one.
    pub async fn sign_out_endpoint(&self) -> Option<openidconnect::EndSessionUrl> {
        let md = self.metadata(false).await.ok()?;
        md.additional_metadata().end_session_endpoint.clone()
    }

    fn client(&self, md: &Metadata) -> Client {
        CoreClient::from_provider_metadata(
            md.clone(),
            ClientId::new(self.config.client_id.clone()),
            Some(ClientSecret::new(self.config.client_secret.0.clone())),
        )
        .set_redirect_uri(self.redirect.clone())
    }

    /// Checks `token` against the provider's keys, this desk as audience, its expiry and
    /// `nonce`; when it names a key the kept ones lack, reads the keys again once.
    async fn verify(
        &self,
        token: &CoreIdToken,
        nonce: &openidconnect::Nonce,
    ) -> Result<openidconnect::core::CoreIdTokenClaims, Failure> {
        let md = self.metadata(false).await?;
        let first = check(&self.client(&md).id_token_verifier(), token, nonce);
        match first {
            Err(openidconnect::ClaimsVerificationError::SignatureVerification(
                openidconnect::SignatureVerificationError::NoMatchingKey,
            )) => {
                let md = self.metadata(true).await?;
                check(&self.client(&md).id_token_verifier(), token, nonce).map_err(id_token_failure)
            }
            other => other.map_err(id_token_failure),
        }
    }
}

fn check(
    verifier: &CoreIdTokenVerifier<'_>,
    token: &CoreIdToken,
    nonce: &openidconnect::Nonce,
) -> Result<openidconnect::core::CoreIdTokenClaims, openidconnect::ClaimsVerificationError> {
    token.claims(verifier, nonce).cloned()
}

fn id_token_failure(e: openidconnect::ClaimsVerificationError) -> Failure {
    use openidconnect::ClaimsVerificationError as E;
    let reason = match &e {
        E::Expired(_) => "id_token_expired",
        E::InvalidAudience(_) => "id_token_wrong_audience",
        E::InvalidIssuer(_) => "id_token_wrong_issuer",
        E::InvalidNonce(_) => "id_token_wrong_nonce",
        E::SignatureVerification(_) => "id_token_bad_signature",
        _ => "id_token_invalid",
    };
    Failure::IdToken(reason, e.to_string())
}

/// An error with its causes, for the log and the audit record.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// A failed call to the provider.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpFailure(String);

/// One request to the provider through the desk's client (no redirects followed).
async fn send(
    client: reqwest::Client,
    req: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, HttpFailure> {
    let req = reqwest::Request::try_from(req).map_err(|e| HttpFailure(chain(&e)))?;
    let res = client
        .execute(req)
        .await
        .map_err(|e| HttpFailure(chain(&e)))?;
    let mut out = openidconnect::http::Response::builder().status(res.status());
    for (name, value) in res.headers() {
        out = out.header(name, value);
    }
    let body = res.bytes().await.map_err(|e| HttpFailure(chain(&e)))?;
    out.body(body.to_vec())
        .map_err(|e| HttpFailure(e.to_string()))
}
