//! `offboarding-desk [--demo]`: serves the app; `offboarding-desk backup` and
//! `offboarding-desk restore FILE` keep and bring back its database. See README.md.

use std::process::ExitCode;

use offboarding_desk::config::Config;

const USAGE: &str = "usage: offboarding-desk [--demo]
       offboarding-desk backup
       offboarding-desk restore FILE

  --demo          create the demo accounts and clients, and list the accounts on the sign-in page
  backup          write a consistent backup of the database to BACKUP_DIR (the app may run)
  restore FILE    load a backup into the configured database, which must be empty

Configuration comes from the environment; see .env.example.";

/// Each password check takes 19 MiB (argon2id). glibc raises its mmap threshold after the first
/// such block is freed and from then on keeps them in per-thread arenas, so a burst of sign-ins
/// would leave hundreds of MiB resident. A fixed threshold returns each block when it is freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn return_large_blocks_to_the_system() {
    const M_MMAP_THRESHOLD: std::ffi::c_int = -3;
    unsafe extern "C" {
        fn mallopt(param: std::ffi::c_int, value: std::ffi::c_int) -> std::ffi::c_int;
    }
    // SAFETY: mallopt only changes an allocator setting; called before any thread starts.
    unsafe {
        mallopt(M_MMAP_THRESHOLD, 1 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_large_blocks_to_the_system() {}

fn main() -> ExitCode {
    return_large_blocks_to_the_system();
    match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime.block_on(serve()),
        Err(e) => {
            eprintln!("offboarding-desk could not start its runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

/// What the command line asks for.
enum Command {
    Serve,
    Backup,
    Restore(std::path::PathBuf),
}

async fn serve() -> ExitCode {
    let mut demo = false;
    let mut command = Command::Serve;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--demo" => demo = true,
            "backup" => command = Command::Backup,
            "restore" => match args.next() {
                Some(file) => command = Command::Restore(file.into()),
                None => {
                    eprintln!("restore needs the backup file\n\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("unknown argument `{other}`\n\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let config = match Config::from_env(demo) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    offboarding_desk::server::init_tracing(config.log_json);
    match command {
        Command::Serve => {}
        Command::Backup => return backup(&config).await,
        Command::Restore(file) => return restore(&config, &file).await,
    }
    match offboarding_desk::server::run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("offboarding-desk could not start: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn backup(config: &Config) -> ExitCode {
    use offboarding_desk::db;
    let done = async {
        let url = db::url(config).await?;
        db::backup::backup(&url, &config.backup_dir, config.backup_keep).await
    };
    match done.await {
        Ok(b) => {
            println!("backup written: {}", b.file.display());
            for old in b.removed {
                println!("older backup removed: {}", old.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("backup failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn restore(config: &Config, file: &std::path::Path) -> ExitCode {
    use offboarding_desk::db;
    let done = async {
        let url = db::url(config).await?;
        db::backup::restore(&url, file).await
    };
    match done.await {
        Ok(()) => {
            println!(
                "restored {}: start the app on this database as usual",
                file.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("restore failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}
