//! The message a change leaves for the next page ("Approved: ...", "Nothing changed: ..."),
//! carried by a short-lived cookie instead of a database write.
//!
//! A handler answers with [`redirect`], which puts a [`Flash`] on the response; the session
//! layer (`middleware::load_user`) turns it into the cookie, reads the cookie back on the next
//! request and clears it once a page has shown it. The cookie is bound to the session: its
//! tag is SHA-256 over the session's secret (the session cookie's value, which the database
//! never holds) and the message, so another session's message, or one written by anyone
//! without the session's secret, is ignored. Over plain HTTP (no `__Host-` prefix) a sibling
//! subdomain could still set a cookie of the same name, which is then ignored, not shown. Before,
//! the message was a column of the session row, written in the change's transaction and
//! cleared by the next page: two writes on the one row every request of a person shares, which
//! queued approvals made at once behind each other.

use axum::http::HeaderValue;
use axum::response::{IntoResponse, Redirect, Response};
use sha2::{Digest, Sha256};

use crate::auth::token::{from_hex, to_hex};

/// A message for the next page, put on a response for the session layer to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flash(pub String);

/// The longest message kept, in bytes (the cookie holds it as hex, well under 4 KB).
const MAX_BYTES: usize = 1000;

/// How long the browser keeps a message nobody has seen (a redirect is followed at once).
const MAX_AGE_SECONDS: u32 = 120;

/// Sends the person to `path`, where `message` is shown once.
pub fn redirect(path: &str, message: impl Into<String>) -> Response {
    let mut res = Redirect::to(path).into_response();
    res.extensions_mut().insert(Flash(message.into()));
    res
}

/// The cookie's name. With HTTPS the `__Host-` prefix pins it to this host and path `/`.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-od_flash"
    } else {
        "od_flash"
    }
}

/// The `Set-Cookie` value that carries `message` for the session whose secret is
/// `session_secret`.
pub fn set_cookie(secure: bool, session_secret: &[u8], message: &str) -> HeaderValue {
    let message = clipped(message);
    let value = format!(
        "{}.{}",
        tag(session_secret, message),
        to_hex(message.as_bytes())
    );
    header(secure, &value, MAX_AGE_SECONDS)
}

/// The `Set-Cookie` value that removes the message once shown.
pub fn clear_cookie(secure: bool) -> HeaderValue {
    header(secure, "", 0)
}

/// The message in a cookie's value, when this session's tag vouches for it.
pub fn read(session_secret: &[u8], value: &str) -> Option<String> {
    let (tag_hex, message_hex) = value.split_once('.')?;
    let message = String::from_utf8(from_hex(message_hex)?).ok()?;
    let expected = tag(session_secret, &message);
    // Compared in constant time: the tag is a secret-keyed checksum.
    crate::auth::token::same_bytes(tag_hex.as_bytes(), expected.as_bytes()).then_some(message)
}

fn header(secure: bool, value: &str, max_age: u32) -> HeaderValue {
    let cookie = format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{}",
        cookie_name(secure),
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&cookie).expect("hex, digits and fixed words make a valid header")
}

fn tag(session_secret: &[u8], message: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"flash\0");
    h.update(session_secret);
    h.update(b"\0");
    h.update(message.as_bytes());
    to_hex(&h.finalize()[..16])
}

/// `message`, cut at a character boundary to at most [`MAX_BYTES`].
fn clipped(message: &str) -> &str {
    if message.len() <= MAX_BYTES {
        return message;
    }
    let mut end = MAX_BYTES;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    &message[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value_of(h: &HeaderValue) -> String {
        let s = h.to_str().unwrap();
        let (_, rest) = s.split_once('=').unwrap();
        rest.split(';').next().unwrap().to_string()
    }

    #[test]
    fn a_message_comes_back_for_its_own_session_only() {
        let mine = vec![1u8; 32];
        let theirs = vec![2u8; 32];
        let message = "Approved: Müller & Söhne — step 2 of 3 <b>";
        let v = value_of(&set_cookie(false, &mine, message));
        assert_eq!(read(&mine, &v).as_deref(), Some(message));
        assert_eq!(read(&theirs, &v), None);
    }

    #[test]
    fn a_changed_or_malformed_value_is_ignored() {
        let hash = vec![7u8; 32];
        let v = value_of(&set_cookie(false, &hash, "Saved."));
        let (tag, msg) = v.split_once('.').unwrap();
        // The message changed, the tag kept: refused.
        let forged = format!("{tag}.{}", to_hex(b"Nothing changed."));
        assert_eq!(read(&hash, &forged), None);
        for bad in [
            "",
            ".",
            "nodot",
            &format!("{tag}.{msg}0"),
            &format!("{tag}.zz"),
            &format!("{}.{msg}", &tag[1..]),
            &format!("{tag}.{}", to_hex(&[0xff, 0xfe])),
        ] {
            assert_eq!(read(&hash, bad), None, "{bad:?}");
        }
    }

    #[test]
    fn cookies_are_http_only_lax_and_secure_with_https() {
        let plain = set_cookie(false, &[0; 32], "x")
            .to_str()
            .unwrap()
            .to_string();
        assert!(plain.starts_with("od_flash="), "{plain}");
        assert!(plain.contains("; Path=/; HttpOnly; SameSite=Lax; Max-Age=120"));
        assert!(!plain.contains("Secure"));
        let secure = set_cookie(true, &[0; 32], "x")
            .to_str()
            .unwrap()
            .to_string();
        assert!(secure.starts_with("__Host-od_flash="), "{secure}");
        assert!(secure.ends_with("; Secure"));
        let clear = clear_cookie(true).to_str().unwrap().to_string();
        assert_eq!(
            clear,
            "__Host-od_flash=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0; Secure"
        );
    }

    #[test]
    fn long_messages_are_cut_at_a_character() {
        let long = "é".repeat(MAX_BYTES);
        let hash = [3u8; 32];
        let v = value_of(&set_cookie(false, &hash, &long));
        let back = read(&hash, &v).unwrap();
        assert!(back.len() <= MAX_BYTES && back.len() >= MAX_BYTES - 1);
        assert!(long.starts_with(&back));
        assert!(set_cookie(false, &hash, &long).len() < 4096);
    }
}
