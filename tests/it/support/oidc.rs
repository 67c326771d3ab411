//! A real OpenID provider on loopback for the company sign-in's tests: `oidc-provider` on
//! Node (tests/oidc/provider.mjs), its packages installed from the lock file on first use.
//! It runs wherever Node.js is installed and always in CI; elsewhere its absence skips the
//! test with a printed notice.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use offboarding_desk::auth::company::CompanyConfig;
use offboarding_desk::auth::roles::Role;
use offboarding_desk::config::Hidden;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// What the sign-in button says in these tests.
pub const PROVIDER_NAME: &str = "Agency Login";
/// The domain whose people may sign in.
pub const DOMAIN: &str = "agency.example";
const SECRET: &str = "the-test-client-secret";

pub struct TestProvider {
    pub issuer: String,
    pub port: u16,
    child: Child,
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oidc")
}

pub fn node_installed() -> bool {
    std::process::Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `npm ci` once per test run, when the packages are not there yet.
fn packages() -> Result<(), String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        if dir()
            .join("node_modules/oidc-provider/package.json")
            .exists()
        {
            return Ok(());
        }
        let out = std::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(dir())
            .output()
            .map_err(|e| format!("npm: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "npm ci in tests/oidc failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    })
    .clone()
}

/// Starts the provider for the desk at `app_base`, signing with the key named `key_id`, on
/// `port` (0: any). `None` (after a notice) where Node.js is missing outside CI.
pub async fn start(test: &str, app_base: &str, port: u16, key_id: &str) -> Option<TestProvider> {
    if !node_installed() {
        let in_ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false");
        assert!(!in_ci, "test `{test}`: Node.js is required in CI");
        eprintln!("NOTICE: test `{test}` SKIPPED: Node.js is not installed. CI always runs it.");
        return None;
    }
    packages().expect("the test provider's packages");
    let mut child = Command::new("node")
        .arg("provider.mjs")
        .current_dir(dir())
        .env("PORT", port.to_string())
        .env("KEY_ID", key_id)
        .env("CLIENT_ID", "offboarding-desk")
        .env("CLIENT_SECRET", SECRET)
        .env("REDIRECT_URI", format!("{app_base}/auth/company/callback"))
        .env(
            "POST_LOGOUT_REDIRECT_URI",
            format!("{app_base}/login?signed_out=1"),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(if std::env::var("OIDC_PROVIDER_LOG").is_ok() {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .kill_on_drop(true)
        .spawn()
        .expect("start node");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("the test provider started within 20 s")
        .expect("read the test provider's output")
        .expect("the test provider printed its issuer");
    let issuer =
        serde_json::from_str::<serde_json::Value>(&first).expect("its issuer line")["issuer"]
            .as_str()
            .unwrap()
            .to_string();
    // The provider writes notices on its output now and then: read to the end, so it never
    // writes to a closed pipe (which ends it).
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let port = issuer.rsplit(':').next().unwrap().parse().unwrap();
    Some(TestProvider {
        issuer,
        port,
        child,
    })
}

impl TestProvider {
    /// The desk's configuration for this provider: the domain above, groups `sem-finance`,
    /// `sem-leads` and `sem-admins` granting Finance, Team lead and Administrator.
    pub fn config(&self) -> CompanyConfig {
        CompanyConfig {
            issuer: self.issuer.clone(),
            client_id: "offboarding-desk".into(),
            client_secret: Hidden(SECRET.into()),
            provider_name: PROVIDER_NAME.into(),
            allowed_domains: vec![DOMAIN.into()],
            groups_claim: Some("groups".into()),
            group_roles: vec![
                ("sem-finance".into(), Role::Finance),
                ("sem-leads".into(), Role::TeamLead),
                ("sem-admins".into(), Role::Admin),
            ],
        }
    }

    /// Stops it (the port is then closed: the provider is down).
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
        let _ = self.child.wait().await;
    }
}
