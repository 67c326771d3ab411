//! What the suite needs besides Rust and PostgreSQL. Outside CI, a browser or email test whose
//! tool is missing skips itself with a NOTICE line; these tests fail instead, each named for
//! what is missing, so a run without them cannot pass unnoticed. `OFFBOARDING_ALLOW_SKIP=1`
//! lets them pass (the skipped tests are then only in the NOTICE lines). In CI nothing skips.

use crate::support::{browser, smtp};

fn allowed_to_skip(what: &str, install: &str) -> bool {
    if std::env::var("OFFBOARDING_ALLOW_SKIP").is_ok_and(|v| v == "1") {
        eprintln!("NOTICE: {what} is missing and OFFBOARDING_ALLOW_SKIP=1: its tests were skipped");
        return true;
    }
    panic!(
        "{what} is missing, so the tests that need it were skipped (see the NOTICE lines). \
         Install it ({install}), or set OFFBOARDING_ALLOW_SKIP=1 to accept the skips."
    );
}

#[test]
fn chromium_and_chromedriver_are_installed_for_the_browser_tests() {
    if !browser::installed() {
        allowed_to_skip(
            "Chromium or chromedriver",
            "apt-get install chromium chromium-driver",
        );
    }
}

#[test]
fn aiosmtpd_is_installed_for_the_email_tests() {
    if !smtp::installed() {
        allowed_to_skip("aiosmtpd", "apt-get install python3-aiosmtpd");
    }
}

#[test]
fn poppler_utils_are_installed_for_the_seal_tests() {
    if !crate::signing::poppler_installed() {
        allowed_to_skip(
            "poppler-utils (pdfsig, pdftotext)",
            "apt-get install poppler-utils",
        );
    }
}

#[test]
fn node_is_installed_for_the_company_sign_in_tests() {
    if !crate::support::oidc::node_installed() {
        allowed_to_skip("Node.js and npm", "apt-get install nodejs npm");
    }
}
