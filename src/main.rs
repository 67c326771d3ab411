//! `offboarding-desk [--demo]`: serves the app. See README.md for configuration.

use std::process::ExitCode;

use offboarding_desk::config::Config;

const USAGE: &str = "usage: offboarding-desk [--demo]

  --demo   create the demo accounts and clients, and list the accounts on the sign-in page

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

async fn serve() -> ExitCode {
    let mut demo = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--demo" => demo = true,
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
    match offboarding_desk::server::run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("offboarding-desk could not start: {e:#}");
            ExitCode::FAILURE
        }
    }
}
