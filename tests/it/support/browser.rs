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
    /// The button of a form waiting for its confirmation, so accepting can wait for the page
    /// that form loads.
    confirming: std::sync::Mutex<Option<WebElement>>,
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        // Chromium outlives a killed chromedriver; it is found by its own profile folder, so
        // a test that failed half-way leaves no browser running.
        let _ = std::process::Command::new("pkill")
            .args(["-KILL", "-f", "--"])
            .arg(format!("--user-data-dir={}", self.0.display()))
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn find(candidates: &[&str], env: &str) -> Option<PathBuf> {
    if let Ok(p) = std::env::var(env) {
        return Some(PathBuf::from(p)).filter(|p| p.exists());
    }
    candidates.iter().map(PathBuf::from).find(|p| p.exists())
}

/// Whether Chromium and chromedriver are installed.
pub fn installed() -> bool {
    find(
        &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"],
        "CHROMEDRIVER",
    )
    .is_some()
        && find(
            &["/usr/bin/chromium", "/usr/bin/chromium-browser"],
            "CHROMIUM",
        )
        .is_some()
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

    let profile = std::env::temp_dir().join(format!("od-chrome-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&profile).unwrap();
    // Starting chromedriver and Chromium is the machine's work, not the app's: on a loaded
    // machine (the suite runs tests side by side on two cores) the first start can miss its
    // moment, so it is tried again with a fresh chromedriver before the test gives up.
    let mut attempt = 0;
    let (driver, chromedriver) = loop {
        attempt += 1;
        // Each try gets its own Chromium profile, so a half-started one leaves no lock behind.
        let data_dir = profile.join(format!("try-{attempt}"));
        match start_session(&driver_bin, &chrome_bin, &data_dir).await {
            Ok(started) => break started,
            Err(e) if attempt < 3 => {
                eprintln!("browser test `{test}`: Chromium did not start ({e}); trying again");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => panic!("start a Chromium session: {e}"),
        }
    };
    // No implicit wait: pages here answer at once, and a test that expects an element waits
    // for it explicitly, so an absent element is reported at once rather than after a pause.
    driver
        .set_implicit_wait_timeout(Duration::from_secs(0))
        .await
        .unwrap();
    Some(Browser {
        driver,
        _chromedriver: chromedriver,
        _profile: TempDir(profile),
        confirming: std::sync::Mutex::new(None),
    })
}

/// One chromedriver on a free port and a Chromium session through it.
async fn start_session(
    driver_bin: &std::path::Path,
    chrome_bin: &std::path::Path,
    profile: &std::path::Path,
) -> Result<(WebDriver, Child), String> {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let chromedriver = Command::new(driver_bin)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("start chromedriver: {e}"))?;
    // chromedriver takes a moment to listen.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        if tokio::time::Instant::now() > deadline {
            return Err("chromedriver did not listen within 30 s".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
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
    let server = format!("http://127.0.0.1:{port}");
    crate::shared::tls();
    let driver = WebDriver::new(&server, caps)
        .await
        .map_err(|e| format!("{e:?}"))?;
    Ok((driver, chromedriver))
}

impl Browser {
    /// Ends the Chromium session (its chromedriver goes with the value).
    pub async fn close(self) {
        let Browser {
            driver,
            _chromedriver,
            _profile,
            ..
        } = self;
        let _ = driver.quit().await;
    }

    /// The element matching `css`, waiting up to 5 s for it to appear (the page may still be
    /// loading after a click).
    pub async fn find(&self, css: &str) -> WebElement {
        for _ in 0..50 {
            if let Ok(e) = self.driver.find(By::Css(css)).await {
                return e;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let path = self.path().await;
        panic!("no `{css}` on {path} after 5 s");
    }

    /// Types into the field with `id`, replacing what was there.
    pub async fn fill(&self, id: &str, text: &str) {
        let field = self.find(&format!("#{id}")).await;
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    /// Clicks the element. A submit button (outside a form that first asks to confirm) loads
    /// a new page: the click returns once the old page is gone, so what is read next is the
    /// answer, not the page it replaced.
    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        // "load": a submit button of a form that loads a page at once; "confirm": one that
        // asks first; "": anything else.
        let kind = self
            .driver
            .execute(
                "const e = arguments[0];
                 if (e.tagName !== 'BUTTON' || (e.type || 'submit') !== 'submit' || !e.form) return '';
                 return e.form.hasAttribute('data-confirm') ? 'confirm' : 'load';",
                vec![element.to_json().unwrap()],
            )
            .await
            .ok()
            .and_then(|r| r.json().as_str().map(str::to_string))
            .unwrap_or_default();
        if kind == "confirm" {
            *self.confirming.lock().unwrap() = Some(element.clone());
        }
        element.click().await.unwrap();
        if kind == "load" {
            self.wait_gone(&element).await;
        }
    }

    /// Waits (up to 10 s) until `element`'s page has been replaced.
    async fn wait_gone(&self, element: &WebElement) {
        for _ in 0..100 {
            if !element.is_present().await.unwrap_or(false) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The top of the element's box, in CSS pixels from the top of the page.
    pub async fn top(&self, css: &str) -> f64 {
        let element = self.find(css).await;
        self.driver
            .execute(
                "return arguments[0].getBoundingClientRect().top;",
                vec![element.to_json().unwrap()],
            )
            .await
            .unwrap()
            .convert()
            .unwrap()
    }

    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    pub async fn path(&self) -> String {
        self.driver.current_url().await.unwrap().path().to_string()
    }

    /// Accepts the confirmation the page asks (`data-confirm`), waiting up to 5 s for it.
    pub async fn accept_confirm(&self) {
        for _ in 0..50 {
            if self.driver.accept_alert().await.is_ok() {
                // The confirmed form loads a new page; wait for it.
                let button = self.confirming.lock().unwrap().take();
                if let Some(button) = button {
                    self.wait_gone(&button).await;
                }
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no confirmation was asked on {}", self.path().await);
    }

    /// Signs out (if signed in) and signs in as `email`.
    pub async fn switch_to(&self, base: &str, email: &str, password: &str) {
        if self.driver.find(By::Css("#sign-out")).await.is_ok() {
            self.click("#sign-out").await;
            self.find("#sign-in").await;
        }
        self.sign_in(base, email, password).await;
    }

    /// Signs in through the form, as a person would, and waits for the answer.
    pub async fn sign_in(&self, base: &str, email: &str, password: &str) {
        self.driver.goto(format!("{base}/login")).await.unwrap();
        self.fill("email", email).await;
        self.fill("password", password).await;
        self.click("#sign-in").await;
        self.wait_until_left("/login", "#login-error").await;
    }

    /// Waits (up to 10 s) until the page is no longer `path`, or shows `or_css` there: a
    /// form's answer may arrive after the click returns.
    pub async fn wait_until_left(&self, path: &str, or_css: &str) {
        for _ in 0..100 {
            if self.path().await != path
                || !self
                    .driver
                    .find_all(By::Css(or_css))
                    .await
                    .unwrap_or_default()
                    .is_empty()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
