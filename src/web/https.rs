//! The desk's client for calls out over HTTPS (chat webhooks, the identity provider): rustls
//! with the ring provider and Mozilla's roots (those lettre already uses), no redirects
//! followed, the desk named as its user agent.

use std::time::Duration;

pub fn client(timeout: Duration) -> anyhow::Result<reqwest::Client> {
    // reqwest wants a process-wide provider even for a client given its own TLS settings.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(timeout)
        .user_agent(concat!("offboarding-desk/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

/// Whether the desk may call `url`: over https, or plain http to this machine outside
/// production (a test server, a provider on the same host).
pub fn allowed(url: &reqwest::Url, production: bool) -> bool {
    let local = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match url.scheme() {
        "https" => true,
        "http" => local && !production,
        _ => false,
    }
}
