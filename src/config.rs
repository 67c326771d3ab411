//! Configuration read from the environment once at start-up, each value checked so a mistake
//! stops the app with a message naming the variable instead of surfacing later.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Everything the app needs to know about where and how it runs.
#[derive(Clone, Debug)]
pub struct Config {
    /// Address the HTTP server listens on.
    pub bind_addr: SocketAddr,
    /// The public address people use, for links and for the cookie's `Secure` flag.
    pub base_url: String,
    /// An existing PostgreSQL server; when unset a private cluster under `data_dir` is used.
    pub database_url: Option<String>,
    /// The schema's owner, for migrations and grants, when the app (`database_url`) connects
    /// as a role of its own.
    pub migration_database_url: Option<String>,
    /// Where the private cluster and other local files live.
    pub data_dir: PathBuf,
    /// TCP port of the private cluster.
    pub embedded_pg_port: u16,
    /// Demo accounts and clients are created, and listed on the sign-in page.
    pub demo: bool,
    /// An approval step waiting this many business days emails its approver, and again after
    /// each further interval.
    pub approval_nudge_days: u32,
    /// Days before an effective date the SEM specialist and team are reminded (0: the day).
    pub reminder_days: Vec<u32>,
    /// `production` forbids demo mode and the private cluster.
    pub production: bool,
    /// A session unused this long is over.
    pub session_idle: Duration,
    /// A session this old is over, however busy.
    pub session_absolute: Duration,
    /// Folder served under `/static`.
    pub static_dir: PathBuf,
    /// Log lines as JSON rather than text.
    pub log_json: bool,
    /// After SIGTERM the app keeps answering this long (closing each connection after its
    /// answer, `/healthz` saying 503) before it stops accepting: a request already on its way
    /// is served rather than cut, and a load balancer has time to look elsewhere.
    pub shutdown_drain: Duration,
    /// Where email goes.
    pub mail: MailConfig,
    /// The agency's time zone: every "today", due date, reminder hour and displayed time.
    pub time_zone: chrono_tz::Tz,
    /// The agency's certificate and key that seal executed addendums; without them the desk
    /// seals with one it made itself.
    pub seal: Option<SealSource>,
    /// The agency's name, as addendums and the emails to clients' signers give it.
    pub agency_name: String,
    /// Where `offboarding-desk backup` writes, and how many backups it keeps there.
    pub backup_dir: PathBuf,
    pub backup_keep: usize,
    /// Who may read `/metrics` by address (`METRICS_ALLOW`; loopback by default).
    pub metrics_allow: Vec<crate::metrics::allow::Network>,
    /// A bearer token that opens `/metrics` from anywhere (`METRICS_TOKEN`; none by default).
    pub metrics_token: Option<String>,
    /// Signing in with the company account (OpenID Connect), when `OIDC_ISSUER_URL` is set.
    pub company: Option<crate::auth::company::CompanyConfig>,
}

/// Where the agency's seal is read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SealSource {
    /// A PKCS#12 file (`.p12`, `.pfx`) and its password.
    Pkcs12 { file: PathBuf, password: Hidden },
    /// A certificate and a PKCS#8 key, each PEM or DER.
    Files { certificate: PathBuf, key: PathBuf },
}

/// A secret from the environment: kept, but never printed by `{:?}`.
#[derive(Clone, PartialEq, Eq)]
pub struct Hidden(pub String);

impl std::fmt::Debug for Hidden {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("(hidden)")
    }
}

/// How email leaves the app.
#[derive(Clone, Debug)]
pub struct MailConfig {
    /// The mail server; without one, messages are written as `.eml` files to `dir`.
    pub smtp: Option<SmtpConfig>,
    /// The sender of every message.
    pub from: lettre::message::Mailbox,
    /// Where messages are written when no mail server is configured.
    pub dir: PathBuf,
}

/// A mail server.
#[derive(Clone, Debug)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub credentials: Option<(String, String)>,
    /// How long one delivery may take before it counts as failed and is retried later.
    pub timeout: Duration,
}

/// How the connection to the mail server is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text: only for a relay on the same machine or network.
    None,
    /// STARTTLS, required (usually port 587).
    StartTls,
    /// TLS from the first byte (usually port 465).
    Tls,
}

/// A configuration value that cannot be used, with the variable it came from.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

impl Config {
    /// Reads the process environment. `demo` comes from the command line.
    pub fn from_env(demo: bool) -> Result<Self, ConfigError> {
        Self::from_lookup(demo, |name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so tests can supply their own environment.
    pub fn from_lookup(
        demo: bool,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());

        let production = match get("APP_ENV").as_deref().map(str::trim) {
            None | Some("development") => false,
            Some("production") => true,
            Some(other) => {
                return Err(err(
                    "APP_ENV",
                    format!("must be `development` or `production`, not `{other}`"),
                ));
            }
        };
        let bind_addr = match get("BIND_ADDR") {
            None => SocketAddr::from(([127, 0, 0, 1], 3000)),
            Some(v) => v.trim().parse().map_err(|_| {
                err(
                    "BIND_ADDR",
                    format!("`{v}` is not an address like 127.0.0.1:3000"),
                )
            })?,
        };
        let base_url = match get("BASE_URL") {
            None => format!("http://{bind_addr}"),
            Some(v) => parse_base_url(&v)?,
        };
        let embedded_pg_port = number(
            "EMBEDDED_PG_PORT",
            get("EMBEDDED_PG_PORT"),
            55432,
            1024..=u16::MAX,
            "a port between 1024 and 65535",
        )?;
        let session_idle = minutes("SESSION_IDLE_MINUTES", get("SESSION_IDLE_MINUTES"), 30, 30)?;
        let session_absolute = minutes(
            "SESSION_ABSOLUTE_MINUTES",
            get("SESSION_ABSOLUTE_MINUTES"),
            12 * 60,
            12 * 60,
        )?;
        let approval_nudge_days = number(
            "APPROVAL_NUDGE_DAYS",
            get("APPROVAL_NUDGE_DAYS"),
            2,
            1..=30,
            "a number of business days from 1 to 30",
        )?;
        let backup_keep = number(
            "BACKUP_KEEP",
            get("BACKUP_KEEP"),
            14,
            1..=1000,
            "a number of backups from 1 to 1000",
        )?;
        let reminder_days = match get("REMINDER_DAYS") {
            None => vec![7, 1, 0],
            Some(v) => parse_days(&v).ok_or_else(|| {
                err(
                    "REMINDER_DAYS",
                    format!("`{v}` is not a list of days before the effective date, like 7,1,0"),
                )
            })?,
        };
        let log_json = match get("LOG_FORMAT").as_deref().map(str::trim) {
            None | Some("text") => false,
            Some("json") => true,
            Some(other) => {
                return Err(err(
                    "LOG_FORMAT",
                    format!("must be `text` or `json`, not `{other}`"),
                ));
            }
        };
        let shutdown_drain = Duration::from_millis(number(
            "SHUTDOWN_DRAIN_MS",
            get("SHUTDOWN_DRAIN_MS"),
            500,
            0..=30_000,
            "a number of milliseconds from 0 to 30000",
        )?);
        let time_zone = match get("AGENCY_TIME_ZONE") {
            None => crate::time::server_zone(),
            Some(v) => v.trim().parse::<chrono_tz::Tz>().map_err(|_| {
                err(
                    "AGENCY_TIME_ZONE",
                    format!("`{v}` is not a time zone name like America/Chicago"),
                )
            })?,
        };
        let agency_name = match get("AGENCY_NAME") {
            None => "The agency".to_string(),
            Some(v) => crate::web::text::label(&v, 120, "").map_err(|_| {
                err(
                    "AGENCY_NAME",
                    "must be a name of at most 120 characters, on one line".into(),
                )
            })?,
        };
        let files = match (get("SEAL_CERT_FILE"), get("SEAL_KEY_FILE")) {
            (None, None) => None,
            (Some(certificate), Some(key)) => Some(SealSource::Files {
                certificate: certificate.into(),
                key: key.into(),
            }),
            (Some(_), None) => {
                return Err(err(
                    "SEAL_KEY_FILE",
                    "must be set beside SEAL_CERT_FILE".into(),
                ));
            }
            (None, Some(_)) => {
                return Err(err(
                    "SEAL_CERT_FILE",
                    "must be set beside SEAL_KEY_FILE".into(),
                ));
            }
        };
        // The password is taken as written, spaces included.
        let password = lookup("SEAL_PKCS12_PASSWORD");
        let seal = match (get("SEAL_PKCS12_FILE"), password, files) {
            (None, None, files) => files,
            (None, Some(_), _) => {
                return Err(err(
                    "SEAL_PKCS12_FILE",
                    "must be set beside SEAL_PKCS12_PASSWORD".into(),
                ));
            }
            (Some(_), None, _) => {
                return Err(err(
                    "SEAL_PKCS12_PASSWORD",
                    "must be set beside SEAL_PKCS12_FILE (empty when the file has no password)"
                        .into(),
                ));
            }
            (Some(_), Some(_), Some(_)) => {
                return Err(err(
                    "SEAL_PKCS12_FILE",
                    "set either SEAL_PKCS12_FILE or SEAL_CERT_FILE and SEAL_KEY_FILE, not both"
                        .into(),
                ));
            }
            (Some(file), Some(password), None) => Some(SealSource::Pkcs12 {
                file: file.into(),
                password: Hidden(password),
            }),
        };
        let metrics_allow = match get("METRICS_ALLOW") {
            None => crate::metrics::allow::Network::loopback(),
            Some(v) => {
                crate::metrics::allow::parse_list(&v).map_err(|m| err("METRICS_ALLOW", m))?
            }
        };
        let metrics_token = match get("METRICS_TOKEN") {
            None => None,
            Some(v) if v.len() >= 16 && v.bytes().all(|b| b.is_ascii_graphic()) => Some(v),
            Some(_) => {
                return Err(err(
                    "METRICS_TOKEN",
                    "must be at least 16 characters, letters, digits or punctuation only \
                     (`openssl rand -hex 32` makes one)"
                        .into(),
                ));
            }
        };
        let company = crate::auth::company::config::from_lookup(&get, production)?;
        let database_url = get("DATABASE_URL");
        let migration_database_url = get("MIGRATION_DATABASE_URL");
        if migration_database_url.is_some() && database_url.is_none() {
            return Err(err(
                "MIGRATION_DATABASE_URL",
                "is the owner's address beside DATABASE_URL, the app's: set both".into(),
            ));
        }
        let data_dir = get("DATA_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".data"));
        let mail = mail_config(&get, &data_dir)?;
        let backup_dir = get("BACKUP_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| data_dir.join("backups"));
        if production && demo {
            return Err(err(
                "APP_ENV",
                "demo mode is refused when APP_ENV=production".into(),
            ));
        }
        if production && database_url.is_none() {
            return Err(err(
                "DATABASE_URL",
                "must be set when APP_ENV=production".into(),
            ));
        }
        Ok(Config {
            bind_addr,
            base_url,
            database_url,
            migration_database_url,
            data_dir,
            embedded_pg_port,
            demo,
            production,
            session_idle,
            session_absolute,
            static_dir: get("STATIC_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("static")),
            log_json,
            shutdown_drain,
            mail,
            approval_nudge_days,
            reminder_days,
            time_zone,
            agency_name,
            seal,
            backup_dir,
            backup_keep,
            metrics_allow,
            metrics_token,
            company,
        })
    }

    /// Cookies get the `Secure` flag when people reach the app over HTTPS.
    pub fn secure_cookies(&self) -> bool {
        self.base_url.starts_with("https://")
    }
}

fn mail_config(
    get: &impl Fn(&str) -> Option<String>,
    data_dir: &std::path::Path,
) -> Result<MailConfig, ConfigError> {
    let from_raw = get("MAIL_FROM")
        .unwrap_or_else(|| "Offboarding Desk <offboarding-desk@localhost>".to_string());
    let from: lettre::message::Mailbox = from_raw.trim().parse().map_err(|_| {
        err(
            "MAIL_FROM",
            format!("`{from_raw}` is not an address like Offboarding Desk <desk@agency.com>"),
        )
    })?;
    let dir = get("MAIL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| data_dir.join("mail"));
    let tls = match get("SMTP_TLS").as_deref().map(str::trim) {
        None | Some("starttls") => SmtpTls::StartTls,
        Some("tls") => SmtpTls::Tls,
        Some("none") => SmtpTls::None,
        Some(other) => {
            return Err(err(
                "SMTP_TLS",
                format!("must be `starttls`, `tls` or `none`, not `{other}`"),
            ));
        }
    };
    let usual_port = match tls {
        SmtpTls::StartTls => 587,
        SmtpTls::Tls => 465,
        SmtpTls::None => 25,
    };
    let port = number(
        "SMTP_PORT",
        get("SMTP_PORT"),
        usual_port,
        1..=u16::MAX,
        "a port between 1 and 65535",
    )?;
    let timeout = Duration::from_secs(number(
        "SMTP_TIMEOUT_SECONDS",
        get("SMTP_TIMEOUT_SECONDS"),
        30,
        1..=300,
        "a number of seconds between 1 and 300",
    )?);
    let credentials = match (get("SMTP_USERNAME"), get("SMTP_PASSWORD")) {
        (None, None) => None,
        (Some(u), Some(p)) => Some((u, p)),
        (Some(_), None) => {
            return Err(err(
                "SMTP_PASSWORD",
                "must be set with SMTP_USERNAME".into(),
            ));
        }
        (None, Some(_)) => {
            return Err(err(
                "SMTP_USERNAME",
                "must be set with SMTP_PASSWORD".into(),
            ));
        }
    };
    let smtp = match get("SMTP_HOST") {
        Some(host) => {
            let host = host.trim().to_string();
            if host.contains(['/', ' ', ':']) {
                return Err(err(
                    "SMTP_HOST",
                    format!("`{host}` is not a host name (put the port in SMTP_PORT)"),
                ));
            }
            Some(SmtpConfig {
                host,
                port,
                tls,
                credentials,
                timeout,
            })
        }
        None => {
            for var in ["SMTP_PORT", "SMTP_TLS", "SMTP_USERNAME"] {
                if get(var).is_some() {
                    return Err(err(
                        "SMTP_HOST",
                        format!("must be set when {var} is (or unset {var})"),
                    ));
                }
            }
            None
        }
    };
    Ok(MailConfig { smtp, from, dir })
}

/// A refusal of `variable`'s value, with why.
pub(crate) fn err(variable: &'static str, message: String) -> ConfigError {
    ConfigError { variable, message }
}

fn parse_base_url(v: &str) -> Result<String, ConfigError> {
    let v = v.trim().trim_end_matches('/');
    let rest = v
        .strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains(['?', '#', ' ']) => Ok(v.to_string()),
        _ => Err(err(
            "BASE_URL",
            format!("`{v}` is not an address like https://desk.example.com"),
        )),
    }
}

fn minutes(
    variable: &'static str,
    value: Option<String>,
    default: u64,
    max: u64,
) -> Result<Duration, ConfigError> {
    let what = format!("a number of minutes between 1 and {max}");
    let m = number(variable, value, default, 1..=max, &what)?;
    Ok(Duration::from_secs(m * 60))
}

/// A number in `range` (`default` when unset); otherwise an error saying the value "is not
/// `what`".
fn number<T>(
    variable: &'static str,
    value: Option<String>,
    default: T,
    range: std::ops::RangeInclusive<T>,
    what: &str,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd,
{
    match value {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse::<T>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| err(variable, format!("`{v}` is not {what}"))),
    }
}

/// Parses a list of days like "7, 1, 0" (`REMINDER_DAYS`): each at most 90, largest first,
/// each once.
pub fn parse_days(s: &str) -> Option<Vec<u32>> {
    let mut days = Vec::new();
    for part in s.split(',') {
        let d: u32 = part.trim().parse().ok()?;
        if d > 90 {
            return None;
        }
        days.push(d);
    }
    days.sort_unstable_by(|a, b| b.cmp(a));
    days.dedup();
    if days.is_empty() { None } else { Some(days) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reminder_days_parse_from_a_list() {
        assert_eq!(parse_days("7,1,0"), Some(vec![7, 1, 0]));
        assert_eq!(parse_days(" 1 , 7 ,7"), Some(vec![7, 1]));
        assert_eq!(parse_days(""), None);
        assert_eq!(parse_days("7,x"), None);
        assert_eq!(parse_days("120"), None);
    }
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)], demo: bool) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(demo, |k| map.get(k).cloned())
    }

    #[test]
    fn defaults_serve_on_loopback_port_3000_with_thirty_minute_idle_sessions() {
        let c = config(&[], false).unwrap();
        assert_eq!(c.bind_addr.to_string(), "127.0.0.1:3000");
        assert_eq!(c.base_url, "http://127.0.0.1:3000");
        assert_eq!(c.session_idle, Duration::from_secs(30 * 60));
        assert_eq!(c.session_absolute, Duration::from_secs(12 * 3600));
        assert!(!c.secure_cookies());
        assert!(c.database_url.is_none());
        assert_eq!(c.shutdown_drain, Duration::from_millis(500));
    }

    #[test]
    fn the_shutdown_drain_can_be_set_or_turned_off() {
        let drain = |v| {
            config(&[("SHUTDOWN_DRAIN_MS", v)], false)
                .unwrap()
                .shutdown_drain
        };
        assert_eq!(drain("0"), Duration::ZERO);
        assert_eq!(drain(" 5000 "), Duration::from_secs(5));
        assert_eq!(drain("30000"), Duration::from_secs(30));
    }

    #[test]
    fn the_agency_time_zone_is_an_iana_name_and_defaults_to_the_servers() {
        let c = config(&[("AGENCY_TIME_ZONE", " America/Chicago ")], false).unwrap();
        assert_eq!(c.time_zone, chrono_tz::America::Chicago);
        assert_eq!(
            config(&[], false).unwrap().time_zone,
            crate::time::server_zone()
        );
    }

    #[test]
    fn the_agency_name_and_seal_files_are_read_together_or_refused() {
        let c = config(&[], false).unwrap();
        assert_eq!(c.agency_name, "The agency");
        assert_eq!(c.seal, None);
        let c = config(&[("AGENCY_NAME", "  Northwind   Digital ")], false).unwrap();
        assert_eq!(c.agency_name, "Northwind Digital");
        let e = config(&[("AGENCY_NAME", "North\nwind")], false).unwrap_err();
        assert_eq!(e.variable, "AGENCY_NAME");
        let e = config(&[("SEAL_CERT_FILE", "/etc/seal.crt")], false).unwrap_err();
        assert_eq!(e.variable, "SEAL_KEY_FILE");
        let e = config(&[("SEAL_KEY_FILE", "/etc/seal.key")], false).unwrap_err();
        assert_eq!(e.variable, "SEAL_CERT_FILE");
        let c = config(
            &[
                ("SEAL_CERT_FILE", "/etc/seal.crt"),
                ("SEAL_KEY_FILE", "/etc/seal.key"),
            ],
            false,
        )
        .unwrap();
        assert_eq!(
            c.seal,
            Some(SealSource::Files {
                certificate: "/etc/seal.crt".into(),
                key: "/etc/seal.key".into()
            })
        );
        let c = config(
            &[
                ("SEAL_PKCS12_FILE", "/etc/seal.p12"),
                ("SEAL_PKCS12_PASSWORD", " correct horse "),
            ],
            false,
        )
        .unwrap();
        assert_eq!(
            c.seal,
            Some(SealSource::Pkcs12 {
                file: "/etc/seal.p12".into(),
                password: Hidden(" correct horse ".into())
            })
        );
        assert!(!format!("{c:?}").contains("correct horse"));
        // An empty password is one a file may have.
        let c = config(
            &[
                ("SEAL_PKCS12_FILE", "/etc/seal.p12"),
                ("SEAL_PKCS12_PASSWORD", ""),
            ],
            false,
        )
        .unwrap();
        assert!(
            matches!(c.seal, Some(SealSource::Pkcs12 { password, .. }) if password.0.is_empty())
        );
        let e = config(&[("SEAL_PKCS12_FILE", "/etc/seal.p12")], false).unwrap_err();
        assert_eq!(e.variable, "SEAL_PKCS12_PASSWORD");
        let e = config(&[("SEAL_PKCS12_PASSWORD", "x")], false).unwrap_err();
        assert_eq!(e.variable, "SEAL_PKCS12_FILE");
        let e = config(
            &[
                ("SEAL_PKCS12_FILE", "/etc/seal.p12"),
                ("SEAL_PKCS12_PASSWORD", "x"),
                ("SEAL_CERT_FILE", "/etc/seal.crt"),
                ("SEAL_KEY_FILE", "/etc/seal.key"),
            ],
            false,
        )
        .unwrap_err();
        assert_eq!(e.variable, "SEAL_PKCS12_FILE");
    }

    #[test]
    fn metrics_open_to_loopback_by_default_and_to_the_listed_networks_or_the_token() {
        let c = config(&[], false).unwrap();
        assert_eq!(c.metrics_allow, crate::metrics::allow::Network::loopback());
        assert_eq!(c.metrics_token, None);
        let c = config(
            &[
                ("METRICS_ALLOW", "10.0.0.0/8, 192.168.1.5"),
                ("METRICS_TOKEN", "0123456789abcdef"),
            ],
            false,
        )
        .unwrap();
        let listed: Vec<String> = c.metrics_allow.iter().map(|n| n.to_string()).collect();
        assert_eq!(listed, ["10.0.0.0/8", "192.168.1.5/32"]);
        assert_eq!(c.metrics_token.as_deref(), Some("0123456789abcdef"));
        let c = config(&[("METRICS_ALLOW", "none")], false).unwrap();
        assert!(c.metrics_allow.is_empty());
    }

    #[test]
    fn https_base_url_makes_cookies_secure() {
        let c = config(&[("BASE_URL", "https://desk.example.com/")], false).unwrap();
        assert_eq!(c.base_url, "https://desk.example.com");
        assert!(c.secure_cookies());
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (var, value) in [
            ("BIND_ADDR", "localhost"),
            ("BASE_URL", "desk.example.com"),
            ("EMBEDDED_PG_PORT", "80"),
            ("EMBEDDED_PG_PORT", "70000"),
            ("SESSION_IDLE_MINUTES", "0"),
            ("SESSION_IDLE_MINUTES", "31"),
            ("SESSION_ABSOLUTE_MINUTES", "721"),
            ("APP_ENV", "prod"),
            ("LOG_FORMAT", "xml"),
            ("SHUTDOWN_DRAIN_MS", "half a second"),
            ("METRICS_ALLOW", "everyone"),
            ("METRICS_ALLOW", "10.0.0.0/40"),
            ("METRICS_TOKEN", "short"),
            ("METRICS_TOKEN", "sixteen chars but spaces"),
            ("SHUTDOWN_DRAIN_MS", "30001"),
            ("SHUTDOWN_DRAIN_MS", "-1"),
            ("SMTP_TLS", "ssl"),
            ("MAIL_FROM", "not an address"),
            ("MAIL_FROM", "Desk <desk@>"),
            ("AGENCY_TIME_ZONE", "Central"),
            ("AGENCY_TIME_ZONE", "America/Chicag0"),
        ] {
            let e = config(&[(var, value)], false).unwrap_err();
            assert_eq!(e.variable, var, "{var}={value}");
        }
    }

    #[test]
    fn mail_server_settings_are_checked_and_name_their_variable() {
        let smtp = |vars: &[(&str, &str)]| {
            let mut all = vec![("SMTP_HOST", "mail.agency.test")];
            all.extend_from_slice(vars);
            config(&all, false)
        };
        for (var, value) in [
            ("SMTP_PORT", "0"),
            ("SMTP_PORT", "70000"),
            ("SMTP_PORT", "smtp"),
            ("SMTP_TLS", "yes"),
            ("SMTP_TIMEOUT_SECONDS", "0"),
            ("SMTP_HOST", "mail.agency.test:25"),
        ] {
            assert_eq!(
                smtp(&[(var, value)]).unwrap_err().variable,
                var,
                "{var}={value}"
            );
        }
        assert_eq!(
            smtp(&[("SMTP_USERNAME", "u")]).unwrap_err().variable,
            "SMTP_PASSWORD"
        );
        assert_eq!(
            config(&[("SMTP_PORT", "25")], false).unwrap_err().variable,
            "SMTP_HOST"
        );
        let c = smtp(&[("SMTP_TLS", "tls")]).unwrap();
        let s = c.mail.smtp.unwrap();
        assert_eq!((s.port, s.tls), (465, SmtpTls::Tls));
        let c = smtp(&[]).unwrap();
        assert_eq!(c.mail.smtp.unwrap().port, 587);
        let c = config(&[], false).unwrap();
        assert!(c.mail.smtp.is_none(), "no server: files");
        assert!(c.mail.dir.ends_with(".data/mail"));
        assert_eq!(c.mail.from.email.to_string(), "offboarding-desk@localhost");
    }

    #[test]
    fn production_refuses_demo_mode_and_the_private_cluster() {
        let e = config(
            &[("APP_ENV", "production"), ("DATABASE_URL", "postgres://x")],
            true,
        )
        .unwrap_err();
        assert_eq!(e.variable, "APP_ENV");
        let e = config(&[("APP_ENV", "production")], false).unwrap_err();
        assert_eq!(e.variable, "DATABASE_URL");
        assert!(
            config(
                &[("APP_ENV", "production"), ("DATABASE_URL", "postgres://x")],
                false
            )
            .is_ok()
        );
    }
}
