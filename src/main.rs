//! `offboarding-desk [--demo]`: serves the app. See README.md for configuration.

use std::process::ExitCode;

use offboarding_desk::config::Config;

const USAGE: &str = "usage: offboarding-desk [--demo]

  --demo   create the demo accounts and clients, and list the accounts on the sign-in page

Configuration comes from the environment; see .env.example.";

#[tokio::main]
async fn main() -> ExitCode {
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
