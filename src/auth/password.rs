//! Passwords: the policy a new one must meet, and argon2id hashing kept off the async threads.

use std::collections::HashSet;
use std::sync::LazyLock;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

/// Shortest password accepted.
pub const MIN_CHARS: usize = 8;
/// Longest password accepted (long passphrases are welcome; this only bounds the work).
pub const MAX_CHARS: usize = 128;

/// Passwords of 8 or more characters from Django's list of 20,000 common passwords
/// (BSD-3-Clause, © Django Software Foundation and contributors). Shorter ones fail on length.
static COMMON: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| include_str!("common-passwords.txt").lines().collect());

/// Why a new password is refused; the message is shown beside the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordProblem {
    #[error("Use at least {MIN_CHARS} characters.")]
    TooShort,
    #[error("Use at most {MAX_CHARS} characters.")]
    TooLong,
    #[error("This password is too common; choose one that is harder to guess.")]
    Common,
    #[error("The password must not be the email address.")]
    SameAsEmail,
    /// A NUL byte, a line break or a byte that is not text: nobody could type it again.
    #[error(
        "Remove the control character (such as a NUL byte or a line break) or the unreadable character from the password."
    )]
    Untypable,
}

/// Checks a new password against the policy. `email` is the account's own address.
pub fn check_new(password: &str, email: &str) -> Result<(), PasswordProblem> {
    if password
        .chars()
        .any(|c| c.is_control() || c == char::REPLACEMENT_CHARACTER)
    {
        return Err(PasswordProblem::Untypable);
    }
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        return Err(PasswordProblem::TooShort);
    }
    if chars > MAX_CHARS {
        return Err(PasswordProblem::TooLong);
    }
    let lower = password.to_lowercase();
    if COMMON.contains(lower.as_str()) {
        return Err(PasswordProblem::Common);
    }
    let email = email.trim().to_lowercase();
    if !email.is_empty()
        && (lower == email || email.split('@').next().is_some_and(|local| lower == local))
    {
        return Err(PasswordProblem::SameAsEmail);
    }
    Ok(())
}

/// argon2id with 19 MiB of memory, 2 passes and 1 lane: OWASP's and ASVS's floor.
fn hasher() -> Argon2<'static> {
    let params = Params::new(
        Params::DEFAULT_M_COST,
        Params::DEFAULT_T_COST,
        Params::DEFAULT_P_COST,
        None,
    )
    .expect("argon2's own default parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password to a PHC string. Blocking: call through [`hash_async`] from handlers.
pub fn hash(password: &str) -> anyhow::Result<String> {
    hasher()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("argon2 hashing failed: {e}"))
}

/// Checks a password against a stored PHC string. Blocking.
pub fn verify(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash of a password nobody has, checked when the email is unknown so that a wrong email
/// costs the same time as a wrong password.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    hash(&crate::auth::token::random_hex(16)).expect("hashing a random password works")
});

/// Hashes at once: one per core. Each takes 19 MiB and a core's time, so more at once would
/// only add memory (a burst of sign-ins must not take the instance past its memory budget)
/// and make every one of them slower.
static HASHING: LazyLock<tokio::sync::Semaphore> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    tokio::sync::Semaphore::new(cores.clamp(1, 8))
});

/// Hashes on the blocking pool so the async threads keep serving.
pub async fn hash_async(password: String) -> anyhow::Result<String> {
    let _turn = HASHING.acquire().await?;
    tokio::task::spawn_blocking(move || hash(&password)).await?
}

/// Verifies on the blocking pool; with no stored hash it verifies against a dummy and fails.
pub async fn verify_async(password: String, stored: Option<String>) -> bool {
    let Ok(_turn) = HASHING.acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || match stored {
        Some(stored) => verify(&password, &stored),
        None => {
            let _ = verify(&password, &DUMMY_HASH);
            false
        }
    })
    .await
    .unwrap_or(false)
}

/// Computes the dummy hash ahead of the first sign-in, so that one is not slower.
pub fn warm_up() {
    LazyLock::force(&DUMMY_HASH);
    LazyLock::force(&COMMON);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_limits_count_characters_not_bytes() {
        assert_eq!(
            check_new("Ab3$xyz", "a@b.c"),
            Err(PasswordProblem::TooShort)
        );
        assert_eq!(check_new("Ab3$xyzq", "a@b.c"), Ok(()));
        assert_eq!(
            check_new("ééééééé", "a@b.c"),
            Err(PasswordProblem::TooShort)
        );
        assert_eq!(check_new("éééééééé", "a@b.c"), Ok(()));
        let long = "x7".repeat(64);
        assert_eq!(check_new(&long, "a@b.c"), Ok(()));
        assert_eq!(
            check_new(&format!("{long}z"), "a@b.c"),
            Err(PasswordProblem::TooLong)
        );
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        for p in [
            "password",
            "Password1",
            "12345678",
            "QWERTYUIOP",
            "iloveyou",
        ] {
            assert_eq!(check_new(p, "a@b.c"), Err(PasswordProblem::Common), "{p}");
        }
        assert!(COMMON.len() > 8000, "the list loaded: {}", COMMON.len());
        assert!(COMMON.iter().all(|p| p.chars().count() >= MIN_CHARS));
    }

    #[test]
    fn the_email_or_its_name_part_is_refused() {
        assert_eq!(
            check_new("jane.doe@agency.example", "Jane.Doe@agency.example"),
            Err(PasswordProblem::SameAsEmail)
        );
        assert_eq!(
            check_new("jane.doe.smith", "jane.doe.smith@agency.example"),
            Err(PasswordProblem::SameAsEmail)
        );
    }

    #[test]
    fn a_password_nobody_could_type_again_is_refused() {
        for p in [
            "correct\u{0}horse-battery",
            "correct horse\nbattery",
            "correct\u{1b}horse-battery",
            "correct\u{FFFD}horse-battery",
        ] {
            assert_eq!(
                check_new(p, "a@b.c"),
                Err(PasswordProblem::Untypable),
                "{p:?}"
            );
        }
        assert_eq!(check_new("correct horse battery", "a@b.c"), Ok(()));
    }

    #[test]
    fn hashes_are_argon2id_with_the_required_cost_and_verify_only_the_right_password() {
        let h = hash("offboarding-demo").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify("offboarding-demo", &h));
        assert!(!verify("offboarding-demo ", &h));
        assert!(!verify("offboarding-demo", "not a hash"));
        assert_ne!(h, hash("offboarding-demo").unwrap(), "salted");
    }
}
