//! Running the app: logging, the database, demo data, housekeeping and the HTTP server with a
//! graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

use crate::config::Config;
use crate::web::AppState;

/// Sets up logging: text or JSON lines, filtered by `RUST_LOG` (default: info).
///
/// A span's close is logged with its time: at info, one line per request with how long it
/// took; with `RUST_LOG=info,offboarding_desk=debug`, one more per workflow step inside it
/// (submit, a step reached, approved, checklist made, emails queued…), so a slow request says
/// which step took the time.
pub fn init_tracing(json: bool) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    // Colours only for a person at a terminal: a file or a journal gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_env_filter(filter)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Connects (or starts the private database), prepares it and serves until SIGTERM or Ctrl-C.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let started = Instant::now();
    let config = Arc::new(config);
    // A configured seal that cannot be used is said first, not at the first signature (nor
    // after the database and the demo were made ready).
    if let Some(source) = &config.seal {
        let seal = crate::signing::flow::loaded_seal(source)?;
        tracing::info!(fingerprint = %seal.fingerprint(), "addendums are sealed with the configured certificate");
    } else if config.production {
        tracing::warn!(
            "SEAL_PKCS12_FILE (or SEAL_CERT_FILE and SEAL_KEY_FILE) is not set: addendums \
             cannot be sent for signature until it is (a production desk does not seal with a \
             self-signed certificate of its own)."
        );
    }
    let mut db = crate::db::connect(&config).await?;
    // A demo started again on a later day would show last week's "today": on its private
    // database it starts afresh, dated from now.
    if config.demo
        && config.database_url.is_none()
        && crate::demo::dated_before(
            &db,
            config.time_zone,
            crate::time::day_in(config.time_zone, chrono::Utc::now()),
        )
        .await?
    {
        tracing::warn!(
            "the demo was set up on an earlier day: starting it afresh, dated from today \
             (what was done in it is gone)"
        );
        db.close().await;
        crate::db::drop_embedded_database(&config).await?;
        db = crate::db::connect(&config).await?;
    }
    if config.demo {
        crate::demo::seed_all(&db, config.time_zone, &config.base_url).await?;
    }
    tokio::task::spawn_blocking(crate::auth::password::warm_up);
    let state = AppState::new(db.clone(), config.clone());
    state.sessions.listen(&db);
    if !config.demo && crate::setup::needs_first_admin(&db).await? {
        let token = crate::setup::issue(&db).await?;
        tracing::warn!(
            "no user yet: create the first administrator at {}/setup?token={token} \
             (this link works for a day, and a restart prints a new one)",
            config.base_url
        );
    }
    if config.company.is_some() {
        // Company sign-in only: sessions opened with a password while it was not configured
        // (the way back in) end now that it is again.
        let ended = crate::auth::company::settings::end_password_sessions(&db).await?;
        if ended > 0 {
            tracing::info!(
                ended,
                "sessions opened with a password ended: company sign-in only"
            );
        }
    }
    spawn_housekeeping(state.clone());

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mailer = Arc::new(crate::notifications::mailer::Mailer::from_config(
        &config.mail,
    )?);
    if mailer.writes_files() {
        tracing::info!(dir = %config.mail.dir.display(), "no SMTP_HOST: emails are written as .eml files");
    }
    let smtp_timeout = config
        .mail
        .smtp
        .as_ref()
        .map(|s| s.timeout)
        .unwrap_or(Duration::from_secs(30));
    let worker = crate::notifications::worker::Worker::new(
        db.clone(),
        mailer,
        Arc::new(crate::notifications::clock::SystemClock),
        job_runner(&config),
        smtp_timeout,
    )
    .counting(state.metrics.clone())
    // As long as an email may take, so the worker's claims outlast a batch of either.
    .telling_chat(crate::chat::Sender::new(&config.base_url, smtp_timeout)?);
    let worker = tokio::spawn(worker.run(stopped.clone(), Duration::from_secs(2)));

    let listener = TcpListener::bind(config.bind_addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {} (BIND_ADDR): {e}", config.bind_addr))?;
    tracing::info!(
        address = %config.base_url,
        demo = config.demo,
        ready_ms = started.elapsed().as_millis() as u64,
        "Offboarding Desk is ready"
    );
    let drain = Arc::new(crate::web::drain::Drain::default());
    let app = crate::app(state).layer(axum::middleware::from_fn_with_state(
        drain.clone(),
        crate::web::drain::close_connections,
    ));
    let grace = config.shutdown_drain;
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        let signal = shutdown_signal().await;
        let _ = stop.send(true);
        if signal == Signal::Terminate && !grace.is_zero() {
            tracing::info!(
                drain_ms = grace.as_millis() as u64,
                "shutting down: still answering, closing each connection after its answer"
            );
            drain.start();
            tokio::time::sleep(grace).await;
        }
        tracing::info!("shutting down: no new connections, finishing requests in flight");
    })
    .await?;
    // The worker finishes the message it is sending and releases the rest.
    if tokio::time::timeout(Duration::from_secs(8), worker)
        .await
        .is_err()
    {
        tracing::warn!("the worker did not stop in time");
    }
    db.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Removes sessions past their limits, every ten minutes.
fn spawn_housekeeping(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
            match crate::auth::session::purge_expired(&state.db, state.config.session_idle).await {
                Ok(n) if n > 0 => tracing::info!(removed = n, "expired sessions removed"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "could not remove expired sessions"),
            }
        }
    });
}

#[derive(Debug, PartialEq, Eq)]
enum Signal {
    /// Ctrl-C: someone at the terminal, who wants it gone now.
    Interrupt,
    /// SIGTERM: a service manager or orchestrator, which may still be routing requests here.
    Terminate,
}

async fn shutdown_signal() -> Signal {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => Signal::Interrupt,
        _ = term => Signal::Terminate,
    }
}

/// The scheduled jobs this app runs, each kind with its handler.
pub fn job_runner(config: &Arc<Config>) -> crate::notifications::jobs::JobRunner {
    crate::notifications::jobs::JobRunner::new()
        .with(
            crate::approvals::nudges::KIND,
            crate::approvals::nudges::NudgeHandler {
                config: config.clone(),
                days: config.approval_nudge_days,
                zone: config.time_zone,
            },
        )
        .with(
            crate::checklists::overdue::KIND,
            crate::checklists::overdue::OverdueHandler {
                config: config.clone(),
                zone: config.time_zone,
            },
        )
        .with(
            crate::signing::reminder::KIND,
            crate::signing::reminder::ReminderHandler {
                config: config.clone(),
            },
        )
        .with(
            crate::operations::reminders::KIND,
            crate::operations::reminders::ReminderHandler {
                config: config.clone(),
                zone: config.time_zone,
            },
        )
}
