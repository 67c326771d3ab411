//! The company sign-in's settings, read from the environment (`OIDC_*`).

use crate::auth::roles::Role;
use crate::config::{ConfigError, Hidden, err};

/// The identity provider the desk signs people in with, as the environment names it.
#[derive(Clone, Debug)]
pub struct CompanyConfig {
    /// The provider's issuer (`OIDC_ISSUER_URL`); its discovery document is read from
    /// `<issuer>/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Hidden,
    /// What the sign-in button says after "Sign in with" (`OIDC_PROVIDER_NAME`).
    pub provider_name: String,
    /// The email domains whose people may sign in (`OIDC_ALLOWED_DOMAINS`), lower case.
    pub allowed_domains: Vec<String>,
    /// The ID token's claim that lists the person's groups (`OIDC_GROUPS_CLAIM`), if any.
    pub groups_claim: Option<String>,
    /// Which group grants which role (`OIDC_GROUP_ROLES`: `group=role; group=role`).
    pub group_roles: Vec<(String, Role)>,
}

impl CompanyConfig {
    /// Whether `email`'s domain is one of the allowed ones.
    pub fn allows(&self, email: &str) -> bool {
        email.rsplit_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && self.allowed_domains.contains(&domain.to_lowercase())
        })
    }

    /// The roles `groups` grant.
    pub fn roles_of(&self, groups: &[String]) -> Vec<Role> {
        let mut roles: Vec<Role> = self
            .group_roles
            .iter()
            .filter(|(g, _)| groups.iter().any(|have| have == g))
            .map(|(_, r)| *r)
            .collect();
        roles.sort();
        roles.dedup();
        roles
    }
}

/// Reads the company sign-in's settings: `None` when `OIDC_ISSUER_URL` is unset.
pub fn from_lookup(
    get: &impl Fn(&str) -> Option<String>,
    production: bool,
) -> Result<Option<CompanyConfig>, ConfigError> {
    // Without the issuer the rest is ignored: unsetting it alone is the way back to passwords
    // if the provider is ever unusable.
    let Some(issuer) = get("OIDC_ISSUER_URL") else {
        return Ok(None);
    };
    // Exactly as the provider's discovery document gives it (a trailing `/` included).
    let issuer = issuer.trim().to_string();
    let url = reqwest::Url::parse(&issuer).map_err(|_| {
        err(
            "OIDC_ISSUER_URL",
            format!("`{issuer}` is not an address like https://accounts.google.com"),
        )
    })?;
    if !crate::web::https::allowed(&url, production) {
        return Err(err(
            "OIDC_ISSUER_URL",
            "must start with https:// (plain http only for a provider on this machine, \
             outside production)"
                .into(),
        ));
    }
    let client_id = get("OIDC_CLIENT_ID")
        .map(|v| v.trim().to_string())
        .ok_or_else(|| {
            err(
                "OIDC_CLIENT_ID",
                "must be set beside OIDC_ISSUER_URL".into(),
            )
        })?;
    let client_secret = get("OIDC_CLIENT_SECRET")
        .map(|v| Hidden(v.trim().to_string()))
        .ok_or_else(|| {
            err(
                "OIDC_CLIENT_SECRET",
                "must be set beside OIDC_ISSUER_URL".into(),
            )
        })?;
    let allowed_domains = parse_domains(&get("OIDC_ALLOWED_DOMAINS").unwrap_or_default())
        .map_err(|m| err("OIDC_ALLOWED_DOMAINS", m))?;
    let provider_name = match get("OIDC_PROVIDER_NAME") {
        Some(name) => {
            let name = name.trim().to_string();
            if name.chars().count() > 40 || name.chars().any(char::is_control) {
                return Err(err(
                    "OIDC_PROVIDER_NAME",
                    "must be a short name (at most 40 characters), like Google or Microsoft".into(),
                ));
            }
            name
        }
        None => default_name(url.host_str().unwrap_or("")).to_string(),
    };
    let groups_claim = get("OIDC_GROUPS_CLAIM").map(|v| v.trim().to_string());
    let group_roles = match get("OIDC_GROUP_ROLES") {
        None => Vec::new(),
        Some(_) if groups_claim.is_none() => {
            return Err(err(
                "OIDC_GROUPS_CLAIM",
                "must name the ID token's claim that lists groups (often `groups`) when \
                 OIDC_GROUP_ROLES is set"
                    .into(),
            ));
        }
        Some(v) => parse_group_roles(&v).map_err(|m| err("OIDC_GROUP_ROLES", m))?,
    };
    Ok(Some(CompanyConfig {
        issuer,
        client_id,
        client_secret,
        provider_name,
        allowed_domains,
        groups_claim,
        group_roles,
    }))
}

/// The name a well-known provider goes by.
fn default_name(host: &str) -> &'static str {
    match host {
        "accounts.google.com" => "Google",
        "login.microsoftonline.com" => "Microsoft",
        _ => "your company account",
    }
}

/// `agency.com, agency.co.uk`: at least one, each a domain name.
fn parse_domains(raw: &str) -> Result<Vec<String>, String> {
    let mut domains = Vec::new();
    for d in raw.split([',', ' ', ';']).filter(|d| !d.is_empty()) {
        let d = d.trim_start_matches('@').to_lowercase();
        let ok = d.contains('.')
            && !d.starts_with('.')
            && !d.ends_with('.')
            && d.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        if !ok {
            return Err(format!("`{d}` is not a domain like agency.com"));
        }
        if !domains.contains(&d) {
            domains.push(d);
        }
    }
    if domains.is_empty() {
        return Err(
            "must list the email domains whose people may sign in (for example agency.com)".into(),
        );
    }
    Ok(domains)
}

/// `sem-finance=finance; sem-leads=team_lead`: each group to one role (a group may be named
/// twice to grant two).
fn parse_group_roles(raw: &str) -> Result<Vec<(String, Role)>, String> {
    let mut pairs = Vec::new();
    for item in raw
        .split([';', '\n'])
        .map(str::trim)
        .filter(|i| !i.is_empty())
    {
        let Some((group, role)) = item.split_once('=') else {
            return Err(format!("`{item}` is not `group=role`"));
        };
        let (group, role) = (group.trim(), role.trim());
        if group.is_empty() {
            return Err(format!("`{item}` names no group"));
        }
        let Some(role) = Role::from_key(role) else {
            let keys: Vec<&str> = Role::ALL.iter().map(|r| r.key()).collect();
            return Err(format!(
                "`{role}` is not a role; the roles are {}",
                keys.join(", ")
            ));
        };
        pairs.push((group.to_string(), role));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<Option<CompanyConfig>, ConfigError> {
        let get = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        };
        from_lookup(&get, false)
    }

    const BASE: [(&str, &str); 4] = [
        ("OIDC_ISSUER_URL", "https://accounts.google.com/"),
        ("OIDC_CLIENT_ID", "desk"),
        ("OIDC_CLIENT_SECRET", "s3cret"),
        ("OIDC_ALLOWED_DOMAINS", "Agency.com, @agency.co.uk"),
    ];

    #[test]
    fn unset_is_off_whatever_else_is_set() {
        assert!(read(&[]).unwrap().is_none());
        let rest: Vec<_> = BASE[1..].to_vec();
        assert!(read(&rest).unwrap().is_none());
    }

    #[test]
    fn a_whole_configuration_reads() {
        let c = read(&BASE).unwrap().unwrap();
        assert_eq!(c.issuer, "https://accounts.google.com/");
        assert_eq!(c.provider_name, "Google");
        assert_eq!(c.allowed_domains, ["agency.com", "agency.co.uk"]);
        assert!(c.allows("Pat@AGENCY.com"));
        assert!(c.allows("pat@agency.co.uk"));
        assert!(!c.allows("pat@agency.com.evil.example"));
        assert!(!c.allows("pat@sub.agency.com"));
        assert!(!c.allows("@agency.com"));
        assert!(!c.allows("agency.com"));
        assert!(format!("{c:?}").contains("(hidden)"));
        assert!(!format!("{c:?}").contains("s3cret"));
    }

    #[test]
    fn each_missing_or_wrong_part_is_named() {
        for (drop, variable) in [
            ("OIDC_CLIENT_ID", "OIDC_CLIENT_ID"),
            ("OIDC_CLIENT_SECRET", "OIDC_CLIENT_SECRET"),
            ("OIDC_ALLOWED_DOMAINS", "OIDC_ALLOWED_DOMAINS"),
        ] {
            let vars: Vec<_> = BASE.iter().copied().filter(|(k, _)| *k != drop).collect();
            assert_eq!(read(&vars).unwrap_err().variable, variable);
        }
        let mut vars = BASE.to_vec();
        vars[0] = ("OIDC_ISSUER_URL", "http://idp.agency.com");
        assert_eq!(read(&vars).unwrap_err().variable, "OIDC_ISSUER_URL");
        vars[0] = ("OIDC_ISSUER_URL", "http://127.0.0.1:9000");
        assert!(read(&vars).unwrap().is_some());
        let get = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        };
        assert!(from_lookup(&get, true).is_err(), "plain http in production");
        let mut vars = BASE.to_vec();
        vars[3] = ("OIDC_ALLOWED_DOMAINS", "agency");
        assert_eq!(read(&vars).unwrap_err().variable, "OIDC_ALLOWED_DOMAINS");
    }

    #[test]
    fn groups_map_to_roles() {
        let mut vars = BASE.to_vec();
        vars.push((
            "OIDC_GROUP_ROLES",
            "fin=finance; leads=team_lead; fin=approver",
        ));
        assert_eq!(read(&vars).unwrap_err().variable, "OIDC_GROUPS_CLAIM");
        vars.push(("OIDC_GROUPS_CLAIM", "groups"));
        let c = read(&vars).unwrap().unwrap();
        assert_eq!(
            c.roles_of(&["fin".into(), "other".into()]),
            [Role::Approver, Role::Finance]
        );
        assert!(c.roles_of(&[]).is_empty());
        vars[4] = ("OIDC_GROUP_ROLES", "fin=wizard");
        assert_eq!(read(&vars).unwrap_err().variable, "OIDC_GROUP_ROLES");
        vars[4] = ("OIDC_GROUP_ROLES", "finance");
        assert_eq!(read(&vars).unwrap_err().variable, "OIDC_GROUP_ROLES");
    }
}
