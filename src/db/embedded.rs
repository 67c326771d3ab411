//! The private PostgreSQL cluster used when `DATABASE_URL` is unset: made under the data folder on
//! first use, started if it is not running, and reused if it is.
//!
//! PostgreSQL refuses to run as root, so as root every server binary runs as the `postgres`
//! user through `runuser`, in a folder that user owns.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// The login the app uses on its private cluster.
const SUPERUSER: &str = "desk";

/// A running private cluster and how to reach it.
#[derive(Clone, Debug)]
pub struct EmbeddedServer {
    pub port: u16,
    pub password: String,
    /// The password of the app's own role (not the superuser's).
    pub app_password: String,
    pub cluster_dir: PathBuf,
}

impl EmbeddedServer {
    /// A connection URL for `database` on this cluster.
    /// A connection URL for `database` on this cluster as the app's `role` (see `db::roles`).
    pub fn url_as(&self, role: &str, database: &str) -> String {
        format!(
            "postgres://{role}:{}@127.0.0.1:{}/{database}",
            self.app_password, self.port
        )
    }

    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{SUPERUSER}:{}@127.0.0.1:{}/{database}",
            self.password, self.port
        )
    }
}

/// Makes sure the private cluster under `data_dir` exists and runs on `port`.
pub fn ensure_running(data_dir: &Path, port: u16) -> anyhow::Result<EmbeddedServer> {
    let bin = find_bin_dir()?;
    let as_root = is_root();
    fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create the data folder {}", data_dir.display()))?;
    let home = cluster_home(data_dir, as_root)?;
    let cluster_dir = home.join("pg");
    let password = ensure_password(&home, "pg-password")?;
    // The app's own role has a password of its own (db::roles).
    let app_password = ensure_password(&home, "pg-app-password")?;

    if !cluster_dir.join("PG_VERSION").exists() {
        tracing::info!(dir = %cluster_dir.display(), "creating the private PostgreSQL cluster");
        fs::create_dir_all(&cluster_dir)?;
        fs::set_permissions(&cluster_dir, fs::Permissions::from_mode(0o700))?;
        // initdb reads the password from a file the server's user can read; it is removed after.
        let pwfile = home.join("pg-initial-password");
        fs::write(&pwfile, format!("{password}\n"))?;
        if as_root {
            chown_to_postgres(&cluster_dir)?;
            chown_to_postgres(&pwfile)?;
        }
        let out = server_command(&bin, "initdb", as_root)
            .arg("-D")
            .arg(&cluster_dir)
            .args([
                "-U",
                SUPERUSER,
                "-E",
                "UTF8",
                "--locale=C",
                "--auth=scram-sha-256",
            ])
            .arg(format!("--pwfile={}", pwfile.display()))
            .output()
            .context("cannot run initdb")?;
        let _ = fs::remove_file(&pwfile);
        if !out.status.success() {
            let _ = fs::remove_dir_all(&cluster_dir);
            bail!(
                "initdb failed for {}: {}",
                cluster_dir.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    let running = server_command(&bin, "pg_ctl", as_root)
        .arg("status")
        .arg("-D")
        .arg(&cluster_dir)
        .output()
        .context("cannot run pg_ctl")?
        .status
        .success();
    if !running {
        tracing::info!(port, dir = %cluster_dir.display(), "starting the private PostgreSQL cluster");
        // The socket lives in the cluster folder when its path fits the system's limit.
        let socket_dir = if cluster_dir.as_os_str().len() < 90 {
            cluster_dir.display().to_string()
        } else {
            String::new()
        };
        let options = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='{socket_dir}' \
             -c max_connections=200 -c fsync=on"
        );
        let out = server_command(&bin, "pg_ctl", as_root)
            .arg("start")
            .arg("-D")
            .arg(&cluster_dir)
            .arg("-l")
            .arg(cluster_dir.join("server.log"))
            .args(["-w", "-t", "60", "-o", &options])
            .output()
            .context("cannot run pg_ctl start")?;
        if !out.status.success() {
            let log = fs::read_to_string(cluster_dir.join("server.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(5).collect();
            bail!(
                "the private PostgreSQL cluster did not start on port {port} (is another server \
                 using it? set EMBEDDED_PG_PORT): {}{}",
                String::from_utf8_lossy(&out.stderr),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
    }
    Ok(EmbeddedServer {
        port,
        password,
        app_password,
        cluster_dir,
    })
}

/// Stops the cluster of `server` at once (`pg_ctl stop -m fast`: sessions are cut, nothing
/// committed is lost). Used by the fault drills; `ensure_running` starts it again.
pub fn stop(server: &EmbeddedServer) -> anyhow::Result<()> {
    let bin = find_bin_dir()?;
    let out = server_command(&bin, "pg_ctl", is_root())
        .arg("stop")
        .arg("-D")
        .arg(&server.cluster_dir)
        .args(["-m", "fast", "-w"])
        .output()
        .context("cannot run pg_ctl stop")?;
    if !out.status.success() {
        bail!(
            "pg_ctl stop failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// Finds PostgreSQL's server binaries: `PG_BIN_DIR`, then Debian's versioned folders (newest
/// first), then `PATH`.
pub(crate) fn find_bin_dir() -> anyhow::Result<PathBuf> {
    if let Ok(dir) = std::env::var("PG_BIN_DIR") {
        let dir = PathBuf::from(dir);
        if dir.join("initdb").exists() {
            return Ok(dir);
        }
        bail!("PG_BIN_DIR={} holds no initdb", dir.display());
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").exists() && dir.join("pg_ctl").exists() {
                return Ok(dir);
            }
        }
    }
    bail!(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found. Install the `postgresql` \
         package (Debian: `apt-get install postgresql`), or set DATABASE_URL to an existing server."
    )
}

fn is_root() -> bool {
    // /proc/self belongs to the process's effective user.
    fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// The folder that holds the cluster: under `data_dir` when the server's user can reach it,
/// otherwise under /tmp, keyed by the data folder's path so two checkouts never share one.
fn cluster_home(data_dir: &Path, as_root: bool) -> anyhow::Result<PathBuf> {
    let data_dir = data_dir
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", data_dir.display()))?;
    if !as_root || postgres_can_enter(&data_dir) {
        return Ok(data_dir);
    }
    let key = data_dir
        .to_string_lossy()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
    let fallback = PathBuf::from(format!("/tmp/offboarding-desk-{key:016x}"));
    tracing::warn!(
        data_dir = %data_dir.display(),
        fallback = %fallback.display(),
        "the postgres user cannot enter the data folder; keeping the private cluster in the fallback folder"
    );
    fs::create_dir_all(&fallback)?;
    fs::set_permissions(&fallback, fs::Permissions::from_mode(0o711))?;
    Ok(fallback)
}

fn postgres_can_enter(dir: &Path) -> bool {
    Command::new("runuser")
        .args(["-u", "postgres", "--", "test", "-x"])
        .arg(dir)
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn ensure_password(home: &Path, name: &str) -> anyhow::Result<String> {
    let file = home.join(name);
    if let Ok(p) = fs::read_to_string(&file) {
        let p = p.trim().to_string();
        if !p.is_empty() {
            return Ok(p);
        }
    }
    let password = crate::auth::token::random_hex(24);
    fs::write(&file, &password)?;
    fs::set_permissions(&file, fs::Permissions::from_mode(0o600))?;
    Ok(password)
}

fn chown_to_postgres(path: &Path) -> anyhow::Result<()> {
    let status = Command::new("chown")
        .arg("postgres:postgres")
        .arg(path)
        .status()
        .context("cannot run chown")?;
    if !status.success() {
        bail!(
            "cannot give {} to the postgres user (does that user exist? it comes with the \
             `postgresql` package)",
            path.display()
        );
    }
    Ok(())
}

fn server_command(bin: &Path, program: &str, as_root: bool) -> Command {
    if as_root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(program));
        // runuser keeps the caller's folder, which postgres may not be able to enter.
        c.current_dir("/");
        c
    } else {
        Command::new(bin.join(program))
    }
}
