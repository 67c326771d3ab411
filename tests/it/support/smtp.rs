//! A real SMTP server on loopback (aiosmtpd), started per test, saving what it receives.
//! It runs wherever aiosmtpd is installed and always in CI; elsewhere its absence skips the
//! test with a printed notice.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub use crate::shared::free_port;

pub struct SmtpServer {
    pub port: u16,
    pub dir: PathBuf,
    _child: Child,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether aiosmtpd, the test SMTP server, is installed.
pub fn installed() -> bool {
    python_with_aiosmtpd().is_some()
}

fn python_with_aiosmtpd() -> Option<&'static str> {
    ["/usr/bin/python3", "python3"].into_iter().find(|py| {
        std::process::Command::new(py)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// Starts a server on a free port. The port is free when chosen but may be taken before the
/// server binds it (any outgoing connection can get it), so a few ports are tried.
pub async fn start(test: &str) -> Option<SmtpServer> {
    let mut failures = Vec::new();
    for _ in 0..5 {
        match try_start(test, free_port()).await {
            Ok(server) => return server,
            Err(why) => failures.push(why),
        }
    }
    panic!("the test SMTP server did not start: {failures:?}");
}

/// Starts a server on `port`.
pub async fn start_on(test: &str, port: u16) -> Option<SmtpServer> {
    match try_start(test, port).await {
        Ok(server) => server,
        Err(why) => panic!("the test SMTP server did not start: {why}"),
    }
}

/// Starts a server on `port`: `None` when aiosmtpd is missing outside CI, an error when the
/// server did not come up.
async fn try_start(test: &str, port: u16) -> Result<Option<SmtpServer>, String> {
    let Some(python) = python_with_aiosmtpd() else {
        let in_ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false");
        assert!(
            !in_ci,
            "test `{test}`: aiosmtpd is required in CI (apt-get install python3-aiosmtpd)"
        );
        eprintln!(
            "NOTICE: email test `{test}` SKIPPED: aiosmtpd is not installed \
             (apt-get install python3-aiosmtpd). CI always runs it."
        );
        return Ok(None);
    };
    let dir = std::env::temp_dir().join(format!("od-smtp-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/it/support/smtp_server.py"
    );
    let mut child = Command::new(python)
        .arg(script)
        .arg(port.to_string())
        .arg(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start the test SMTP server");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = tokio::time::timeout(Duration::from_secs(10), lines.next_line()).await;
    if !matches!(ready, Ok(Ok(Some(ref l))) if l == "ready") {
        let _ = std::fs::remove_dir_all(&dir);
        return Err(format!("port {port}: {ready:?}"));
    }
    Ok(Some(SmtpServer {
        port,
        dir,
        _child: child,
    }))
}

impl SmtpServer {
    /// accept, tempfail, reject or hang.
    pub fn set_mode(&self, mode: &str) {
        std::fs::write(self.dir.join("mode"), mode).unwrap();
    }

    /// Every message received so far, oldest first, as raw text.
    pub fn received(&self) -> Vec<String> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }
}

/// The value of `header` in a raw message (first occurrence, unfolded).
pub fn header(raw: &str, name: &str) -> Option<String> {
    let prefix = format!("{}:", name.to_lowercase());
    let mut lines = raw.split("\r\n").peekable();
    while let Some(line) = lines.next() {
        if line.is_empty() {
            return None;
        }
        if line.to_lowercase().starts_with(&prefix) {
            let mut value = line[prefix.len()..].trim().to_string();
            while let Some(next) = lines.peek() {
                if next.starts_with(' ') || next.starts_with('\t') {
                    value.push(' ');
                    value.push_str(next.trim());
                    lines.next();
                } else {
                    break;
                }
            }
            return Some(value);
        }
    }
    None
}
