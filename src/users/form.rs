//! Parsing what an admin typed about a user into values the rest of the code can trust, with a
//! message per field for everything that cannot be used.

use crate::web::fields::FieldErrors;

use serde::Deserialize;

use crate::auth::password;
use crate::auth::roles::{Role, RoleSet};

/// An email address as typed, trimmed and checked for shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, &'static str> {
        let s = raw.trim();
        if s.is_empty() {
            return Err("Enter an email address.");
        }
        if s.chars().count() > 254 {
            return Err("An email address has at most 254 characters.");
        }
        let mut parts = s.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err("Enter an email address like name@agency.com.");
        };
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..");
        // The mail library's own parser decides, so every address saved is one it can send to.
        if local.is_empty()
            || !domain_ok
            || s.chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>' || c == ',')
            || s.parse::<lettre::Address>().is_err()
        {
            return Err("Enter an email address like name@agency.com.");
        }
        Ok(Email(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A display name: trimmed, 1 to 100 characters, no control characters.
pub fn parse_display_name(raw: &str) -> Result<String, &'static str> {
    let s = raw.trim();
    if s.is_empty() {
        return Err("Enter the person's name.");
    }
    if s.chars().count() > 100 {
        return Err("A name has at most 100 characters.");
    }
    if s.chars().any(char::is_control) {
        return Err("A name cannot contain control characters.");
    }
    if s.contains(char::REPLACEMENT_CHARACTER) {
        return Err(
            "This name has a character that could not be read (an invalid byte): retype it.",
        );
    }
    Ok(s.to_string())
}

/// At least one known role.
pub fn parse_roles(raw: &[String]) -> Result<RoleSet, &'static str> {
    let mut set = RoleSet::EMPTY;
    for key in raw {
        match Role::from_key(key) {
            Some(r) => set.insert(r),
            None => return Err("One of the roles chosen does not exist."),
        }
    }
    if set.is_empty() {
        return Err("Choose at least one role.");
    }
    Ok(set)
}

/// The details form (create and edit share it).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct DetailsForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub roles: Vec<String>,
    /// Only on create.
    #[serde(default)]
    pub password: String,
    /// Only on edit: the version the form was opened at.
    #[serde(default)]
    pub version: i32,
    /// Roles the identity provider's groups grant (shown, not the admin's to take away).
    #[serde(skip)]
    pub from_provider: Vec<String>,
}

impl DetailsForm {
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role) || self.from_provider(role)
    }

    pub fn from_provider(&self, role: &str) -> bool {
        self.from_provider.iter().any(|r| r == role)
    }
}

/// Valid user details.
#[derive(Clone, Debug)]
pub struct Details {
    pub email: Email,
    pub display_name: String,
    pub roles: RoleSet,
}

/// Checks the details; with `new_password` the password too (on create).
pub fn parse_details(form: &DetailsForm, with_password: bool) -> Result<Details, FieldErrors> {
    let mut errors = FieldErrors::default();
    let email = Email::parse(&form.email)
        .map_err(|e| errors.add("email", e))
        .ok();
    let display_name = parse_display_name(&form.display_name)
        .map_err(|e| errors.add("display_name", e))
        .ok();
    let roles = parse_roles(&form.roles)
        .map_err(|e| errors.add("roles", e))
        .ok();
    if with_password && let Err(p) = password::check_new(&form.password, &form.email) {
        errors.add("password", p.to_string());
    }
    match (email, display_name, roles) {
        (Some(email), Some(display_name), Some(roles)) if errors.is_empty() => Ok(Details {
            email,
            display_name,
            roles,
        }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_must_look_like_addresses() {
        assert_eq!(
            Email::parse("  Jane@Agency.com ").unwrap().as_str(),
            "Jane@Agency.com"
        );
        for bad in [
            "",
            "   ",
            "jane",
            "jane@",
            "@agency.com",
            "jane@agency",
            "jane@@agency.com",
            "ja ne@agency.com",
            "jane@agency..com",
            "jane@.agency.com",
            "<jane@agency.com>",
            "a@b.com,c@d.com",
            "name@example.com¿'\"(",
            "name(comment)@example.com",
            "na\u{0}me@example.com",
            "name@exa mple.com",
            "name@example.com\r\nBcc: x@evil.test",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(Email::parse(&format!("{}@agency.com", "a".repeat(250))).is_err());
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(parse_display_name("  Amy  ").unwrap(), "Amy");
        assert!(parse_display_name(" ").is_err());
        assert!(parse_display_name(&"x".repeat(101)).is_err());
        assert!(parse_display_name("a\u{7}b").is_err());
        assert!(parse_display_name("Pat\u{FFFD}Boss").is_err());
    }

    #[test]
    fn roles_must_be_known_and_at_least_one() {
        assert!(parse_roles(&[]).is_err());
        assert!(parse_roles(&["wizard".into()]).is_err());
        let set = parse_roles(&["admin".into(), "finance".into(), "admin".into()]).unwrap();
        assert_eq!(set.keys(), vec!["finance", "admin"]);
    }

    #[test]
    fn every_bad_field_gets_its_own_message() {
        let form = DetailsForm {
            email: "nope".into(),
            display_name: "".into(),
            roles: vec![],
            password: "short".into(),
            version: 0,
            from_provider: vec![],
        };
        let errors = parse_details(&form, true).unwrap_err();
        for field in ["email", "display_name", "roles", "password"] {
            assert!(errors.has(field), "{field}");
        }
        assert!(!parse_details(&form, false).unwrap_err().has("password"));
    }

    #[test]
    fn good_details_parse() {
        let form = DetailsForm {
            email: "new.person@agency.com".into(),
            display_name: "New Person".into(),
            roles: vec!["retention".into()],
            password: "a long enough passphrase".into(),
            version: 0,
            from_provider: vec![],
        };
        let d = parse_details(&form, true).unwrap();
        assert_eq!(d.email.as_str(), "new.person@agency.com");
        assert!(d.roles.contains(Role::Retention));
    }
}
