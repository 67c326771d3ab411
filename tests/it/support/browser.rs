//! A real headless Chromium driven through chromedriver. Browser tests run wherever Chromium
//! and chromedriver are installed and always in CI (`CI` set), where their absence fails the
//! test; elsewhere a missing browser skips the test with a printed notice.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use thirtyfour::prelude::*;
use tokio::process::{Child, Command};

/// A browser session and the chromedriver serving it; call [`Browser::close`] at the end.
pub struct Browser {
    pub driver: WebDriver,
    _chromedriver: Child,
    _profile: TempDir,
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn find(candidates: &[&str], env: &str) -> Option<PathBuf> {
    if let Ok(p) = std::env::var(env) {
        return Some(PathBuf::from(p));
    }
    candidates.iter().map(PathBuf::from).find(|p| p.exists())
}

/// Starts a browser, or returns `None` (after saying so) where none is installed outside CI.
pub async fn start(test: &str) -> Option<Browser> {
    let driver_bin = find(
        &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"],
        "CHROMEDRIVER",
    );
    let chrome_bin = find(
        &["/usr/bin/chromium", "/usr/bin/chromium-browser"],
        "CHROMIUM",
    );
    let (Some(driver_bin), Some(chrome_bin)) = (driver_bin, chrome_bin) else {
        let in_ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false");
        assert!(
            !in_ci,
            "browser test `{test}`: chromium and chromedriver are required in CI (apt-get install chromium chromium-driver)"
        );
        eprintln!(
            "NOTICE: browser test `{test}` SKIPPED: chromium or chromedriver is not installed \
             (apt-get install chromium chromium-driver). CI always runs it."
        );
        return None;
    };

    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let chromedriver = Command::new(&driver_bin)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start chromedriver");
    let server = format!("http://127.0.0.1:{port}");
    // chromedriver takes a moment to listen.
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let profile = std::env::temp_dir().join(format!("od-chrome-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&profile).unwrap();
    let mut caps = DesiredCapabilities::chrome();
    caps.set_binary(chrome_bin.to_str().unwrap()).unwrap();
    for arg in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--window-size=1280,900",
    ] {
        caps.add_arg(arg).unwrap();
    }
    caps.add_arg(&format!("--user-data-dir={}", profile.display()))
        .unwrap();
    let driver = WebDriver::new(&server, caps)
        .await
        .expect("start a Chromium session");
    driver
        .set_implicit_wait_timeout(Duration::from_secs(5))
        .await
        .unwrap();
    Some(Browser {
        driver,
        _chromedriver: chromedriver,
        _profile: TempDir(profile),
    })
}

impl Browser {
    /// Ends the Chromium session (its chromedriver goes with the value).
    pub async fn close(self) {
        let Browser {
            driver,
            _chromedriver,
            _profile,
        } = self;
        let _ = driver.quit().await;
    }

    /// Types into the field with `id`, replacing what was there.
    pub async fn fill(&self, id: &str, text: &str) {
        let field = self.driver.find(By::Id(id)).await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    pub async fn click(&self, css: &str) {
        self.driver
            .find(By::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no `{css}` to click: {e}"))
            .click()
            .await
            .unwrap();
    }

    pub async fn text(&self, css: &str) -> String {
        self.driver
            .find(By::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no `{css}`: {e}"))
            .text()
            .await
            .unwrap()
    }

    pub async fn path(&self) -> String {
        self.driver.current_url().await.unwrap().path().to_string()
    }

    /// Signs in through the form, as a person would.
    pub async fn sign_in(&self, base: &str, email: &str, password: &str) {
        self.driver.goto(format!("{base}/login")).await.unwrap();
        self.fill("email", email).await;
        self.fill("password", password).await;
        self.click("#sign-in").await;
    }
}
