//! Backups that are known to restore: `offboarding-desk backup` takes a consistent `pg_dump` of
//! the app's database while the app runs (one snapshot: every request, step, audit record and
//! queued email as of one moment) into `BACKUP_DIR` with a timestamped name, keeping the last
//! `BACKUP_KEEP`; `offboarding-desk restore FILE` loads one into an empty database, which the
//! app then starts on.
//!
//! An email the backup holds as sent stays sent after a restore (its row, state and message id
//! come back with it), so the worker does not send it again. One that was still queued is sent
//! by the restored instance, even if the old one sent it after the backup was taken: the README
//! says what to do about that.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use sqlx::{Connection, PgConnection};

/// The name every backup file starts with; pruning touches only these.
const PREFIX: &str = "offboarding_desk-";
const SUFFIX: &str = ".dump";

/// What a backup did.
#[derive(Debug)]
pub struct Backup {
    pub file: PathBuf,
    /// Older backups removed to keep the last `keep`.
    pub removed: Vec<PathBuf>,
}

/// Dumps the database at `url` into `dir` (created if missing), then keeps the newest `keep`
/// backups there. The dump is written under a temporary name and renamed when complete, so a
/// failed one never counts as a backup.
pub async fn backup(url: &str, dir: &Path, keep: usize) -> anyhow::Result<Backup> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    // A backup holds password hashes, tokens' hashes and documents: for the owner's eyes only.
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the backup folder {}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    let file = dir.join(format!("{PREFIX}{stamp}{SUFFIX}"));
    let partial = file.with_extension("partial");
    // Made here with its mode, so pg_dump writes into a file nobody else can read.
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&partial)
        .with_context(|| format!("cannot create {}", partial.display()))?;
    let target = Target::parse(url)?;
    let out = target
        .command("pg_dump")?
        .arg("--format=custom")
        .arg(format!("--file={}", partial.display()))
        .output()
        .await
        .context("cannot run pg_dump")?;
    if !out.status.success() {
        let _ = std::fs::remove_file(&partial);
        bail!(
            "pg_dump failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    std::fs::rename(&partial, &file)?;
    let removed = prune(dir, keep)?;
    Ok(Backup { file, removed })
}

/// The backups in `dir`, oldest first (their names sort by time).
pub fn list(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut found: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(PREFIX) && n.ends_with(SUFFIX))
            })
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    found.sort();
    Ok(found)
}

/// A `.partial` file untouched this long was left by a backup that stopped; a younger one may
/// be another backup still writing (a timer's and a person's at once).
const PARTIAL_LEFT_AFTER: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

/// Removes all but the newest `keep` backups (and any `.partial` file a stopped backup left);
/// returns the backups removed.
fn prune(dir: &Path, keep: usize) -> anyhow::Result<Vec<PathBuf>> {
    let all = list(dir)?;
    let excess = all.len().saturating_sub(keep.max(1));
    let removed: Vec<PathBuf> = all.into_iter().take(excess).collect();
    for old in &removed {
        std::fs::remove_file(old)?;
    }
    for entry in std::fs::read_dir(dir)?.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let left = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|at| at.elapsed().ok())
            .is_some_and(|age| age > PARTIAL_LEFT_AFTER);
        if name.starts_with(PREFIX) && name.ends_with(".partial") && left {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(removed)
}

/// Loads the backup `file` into the database at `url`, which must be empty (no table yet): a
/// restore never mixes into data already there. One transaction: it loads whole or not at all.
pub async fn restore(url: &str, file: &Path) -> anyhow::Result<()> {
    if !file.is_file() {
        bail!("no backup file at {}", file.display());
    }
    let mut conn = PgConnection::connect_with(&super::connect_options(url)?)
        .await
        .context("cannot connect to the database to restore into")?;
    let tables: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            .fetch_one(&mut conn)
            .await?;
    conn.close().await?;
    if tables > 0 {
        bail!(
            "the database to restore into is not empty ({tables} tables): create an empty one \
             (createdb, or a fresh DATA_DIR for the private cluster) and point DATABASE_URL at it"
        );
    }
    let out = Target::parse(url)?
        .command("pg_restore")?
        .args([
            "--exit-on-error",
            "--single-transaction",
            "--no-owner",
            "--no-privileges",
        ])
        .arg(file)
        .output()
        .await
        .context("cannot run pg_restore")?;
    if !out.status.success() {
        bail!(
            "pg_restore failed (nothing was loaded): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// A database as PostgreSQL's tools are pointed at it: the address without its password,
/// which goes in the environment (not on a command line others can read).
struct Target {
    url: String,
    password: Option<String>,
}

impl Target {
    fn parse(url: &str) -> anyhow::Result<Target> {
        let (scheme, rest) = url
            .split_once("://")
            .context("the database address is not a postgres:// URL")?;
        let Some((userinfo, host)) = rest.split_once('@') else {
            return Ok(Target {
                url: url.to_string(),
                password: None,
            });
        };
        let (user, password) = match userinfo.split_once(':') {
            Some((user, password)) => (user, Some(percent_decode(password)?)),
            None => (userinfo, None),
        };
        Ok(Target {
            url: format!("{scheme}://{user}@{host}"),
            password,
        })
    }

    /// `tool` from the PostgreSQL the private cluster uses (else `PATH`), aimed at the target.
    fn command(&self, tool: &str) -> anyhow::Result<tokio::process::Command> {
        let program = super::embedded::find_bin_dir()
            .map(|dir| dir.join(tool))
            .ok()
            .filter(|p| p.exists())
            .unwrap_or_else(|| PathBuf::from(tool));
        let mut command = tokio::process::Command::new(program);
        // Never a prompt: the password, if any, is in the environment.
        command.arg("--no-password");
        command.arg(format!("--dbname={}", self.url));
        command.env_remove("PGPASSWORD");
        if let Some(password) = &self.password {
            command.env("PGPASSWORD", password);
        }
        Ok(command)
    }
}

/// Decodes `%XX` escapes (a password in a URL).
fn percent_decode(s: &str) -> anyhow::Result<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .context("a broken % escape in the URL")?;
            out.push(u8::from_str_radix(hex, 16).context("a broken % escape in the URL")?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).context("the URL's password is not text")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_address_for_the_environment() {
        let t =
            Target::parse("postgres://desk:p%40ss%3Aw@127.0.0.1:5432/offboarding_desk").unwrap();
        assert_eq!(t.url, "postgres://desk@127.0.0.1:5432/offboarding_desk");
        assert_eq!(t.password.as_deref(), Some("p@ss:w"));
        let t = Target::parse("postgres://127.0.0.1/db").unwrap();
        assert_eq!(
            (t.url.as_str(), t.password),
            ("postgres://127.0.0.1/db", None)
        );
        assert!(Target::parse("127.0.0.1/db").is_err());
        assert!(Target::parse("postgres://u:%zz@h/db").is_err());
    }

    #[test]
    fn only_the_newest_backups_are_kept_and_nothing_else_is_touched() {
        let dir = std::env::temp_dir().join(format!("od-prune-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let names = [
            "offboarding_desk-20261201T090000.000Z.dump",
            "offboarding_desk-20261202T090000.000Z.dump",
            "offboarding_desk-20261203T090000.000Z.dump",
            "notes.txt",
            "offboarding_desk-20261204T090000.000Z.partial",
            "offboarding_desk-20261205T090000.000Z.partial",
        ];
        for n in names {
            std::fs::write(dir.join(n), b"x").unwrap();
        }
        let stopped = std::time::SystemTime::now() - std::time::Duration::from_secs(7 * 3600);
        std::fs::File::options()
            .write(true)
            .open(dir.join(names[4]))
            .unwrap()
            .set_modified(stopped)
            .unwrap();
        let removed = prune(&dir, 2).unwrap();
        assert_eq!(removed, vec![dir.join(names[0])]);
        let left: Vec<PathBuf> = list(&dir).unwrap();
        assert_eq!(left, vec![dir.join(names[1]), dir.join(names[2])]);
        // A stopped backup's partial file goes; one being written, and other files, stay.
        assert!(dir.join("notes.txt").exists() && !dir.join(names[4]).exists());
        assert!(dir.join(names[5]).exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
