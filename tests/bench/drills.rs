//! The fault drills: `cargo bench --bench drills` (README, "Performance"), or name some:
//! `cargo bench --bench drills -- kill restart`.
//!
//! Each drill starts the release binary as a real process, injects its fault, prints what it
//! found and checks the invariants; the command fails when one does not hold.
//! - `restart`: PostgreSQL (a cluster of the drill's own) stopped and started under load;
//! - `kill`: `kill -9` at random moments while submits and approvals are in flight, many times;
//! - `sigterm`: SIGTERM under load, with the mail worker holding claimed messages;
//! - `instances`: three instances on one database, restarted again and again, sending email
//!   and reminders to a real SMTP listener on loopback;
//! - `restore`: a backup taken while submits and approvals are in flight, restored into an
//!   empty database and served by a second instance.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::{RngExt, SeedableRng};
use sqlx::{Connection, PgPool, Row};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const DRILLS: &[&str] = &["restart", "kill", "sigterm", "instances", "restore"];

fn main() -> anyhow::Result<()> {
    let asked: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    if std::env::args().any(|a| a == "--list") {
        return Ok(());
    }
    let chosen: Vec<&str> = DRILLS
        .iter()
        .copied()
        .filter(|d| asked.is_empty() || asked.iter().any(|a| a == d))
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut failed = Vec::new();
    for drill in chosen {
        println!("== drill: {drill}");
        let started = Instant::now();
        let outcome = runtime.block_on(async {
            match drill {
                "restart" => restart().await,
                "kill" => kill().await,
                "sigterm" => sigterm().await,
                "restore" => restore().await,
                _ => instances().await,
            }
        });
        match outcome {
            Ok(()) => println!("   PASSED in {:.1} s", started.elapsed().as_secs_f64()),
            Err(e) => {
                println!("   FAILED: {e:#}");
                failed.push(drill);
            }
        }
    }
    if failed.is_empty() {
        println!("all drills passed");
        Ok(())
    } else {
        anyhow::bail!("drills failed: {}", failed.join(", "))
    }
}

fn check(ok: bool, what: String) -> anyhow::Result<()> {
    if ok {
        println!("   ok: {what}");
        Ok(())
    } else {
        anyhow::bail!("{what}")
    }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL restarted under load.

async fn restart() -> anyhow::Result<()> {
    let dir = common::manifest_dir().join("target/drill-pg");
    let port = common::free_port();
    let server = {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || {
            offboarding_desk::db::embedded::ensure_running(&dir, port)
        })
        .await??
    };
    let result = restart_on(&server).await;
    let _ = offboarding_desk::db::embedded::stop(&server);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// The longest a request may wait while the database is down: the pool's 3 s wait for a
/// connection, and the answer (the README states the same).
const OUTAGE_LIMIT: Duration = Duration::from_millis(3500);

async fn restart_on(server: &offboarding_desk::db::embedded::EmbeddedServer) -> anyhow::Result<()> {
    let (url, pool) = common::seeded(&server.url("postgres"), "offboarding_drill", 50).await?;
    pool.close().await;
    let app = common::App::start(&url, &[]).await?;
    let cookie = common::sign_in(&app.base, "am1@bench.test").await?;

    // Load: eight readers of the account manager's desk, one writer signing in (each answer a
    // session committed, checked again at the end).
    let stop = Arc::new(AtomicBool::new(false));
    let log: Arc<Mutex<Vec<(Instant, Duration, u16)>>> = Arc::default();
    let mut load = Vec::new();
    for _ in 0..8 {
        let (stop, log, base, cookie) =
            (stop.clone(), log.clone(), app.base.clone(), cookie.clone());
        load.push(tokio::spawn(async move {
            let http = common::client();
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let status = match http
                    .get(format!("{base}/"))
                    .header("cookie", &cookie)
                    .send()
                    .await
                {
                    Ok(r) => r.status().as_u16(),
                    Err(_) => 0,
                };
                log.lock().unwrap().push((t, t.elapsed(), status));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }
    let sessions: Arc<Mutex<Vec<String>>> = Arc::default();
    let writer = {
        let (stop, base, sessions) = (stop.clone(), app.base.clone(), sessions.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                if let Ok(c) = common::sign_in(&base, "am2@bench.test").await {
                    sessions.lock().unwrap().push(c);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };

    tokio::time::sleep(Duration::from_secs(2)).await;
    {
        let server = server.clone();
        tokio::task::spawn_blocking(move || offboarding_desk::db::embedded::stop(&server))
            .await??;
    }
    // From here on it is down (`pg_ctl stop -w` waited); requests sent earlier may still have
    // been served.
    let down_at = Instant::now();
    println!("   database stopped");
    tokio::time::sleep(Duration::from_secs(10)).await;
    let up_from = Instant::now();
    {
        let server = server.clone();
        let dir = common::manifest_dir().join("target/drill-pg");
        tokio::task::spawn_blocking(move || {
            offboarding_desk::db::embedded::ensure_running(&dir, server.port)
        })
        .await??;
    }
    let up_at = Instant::now();
    println!(
        "   database back after {:.1} s down (start took {:.1} s)",
        (up_from - down_at).as_secs_f64(),
        (up_at - up_from).as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(8)).await;
    stop.store(true, Ordering::Relaxed);
    for l in load {
        let _ = l.await;
    }
    let _ = writer.await;

    let log = log.lock().unwrap().clone();
    // Every request sent while the database was down, however late its answer came (one
    // that hung until the database was back counts, with its whole wait); an error or a
    // timeout of the client is status 0 and fails the drill.
    let outage: Vec<_> = log
        .iter()
        .filter(|(t, _, _)| *t > down_at && *t < up_from)
        .collect();
    let slowest = outage.iter().map(|(_, d, _)| *d).max().unwrap_or_default();
    let statuses: HashMap<u16, usize> = outage.iter().fold(HashMap::new(), |mut m, (_, _, s)| {
        *m.entry(*s).or_default() += 1;
        m
    });
    println!(
        "   during the outage: {} requests, answers {statuses:?}, slowest {:.2} s",
        outage.len(),
        slowest.as_secs_f64()
    );
    // Answered 503, or (sent at the very end) served once the database was back.
    check(
        !outage.is_empty()
            && outage
                .iter()
                .all(|(t, d, s)| *s == 503 || (*s == 200 && *t + *d > up_from)),
        "every request during the outage was answered 503 (or, sent as it ended, served once the database was back)".into(),
    )?;
    check(
        slowest <= OUTAGE_LIMIT,
        format!(
            "no request hung: the slowest answer took {:.2} s (limit {:.1} s: the pool's 3 s wait and the answer)",
            slowest.as_secs_f64(),
            OUTAGE_LIMIT.as_secs_f64()
        ),
    )?;
    let quick = outage
        .iter()
        .filter(|(_, d, _)| *d <= Duration::from_millis(100))
        .count();
    check(
        quick * 10 >= outage.len() * 9,
        format!(
            "the outage is answered at once: {quick} of {} answers within 100 ms (the rest are the probes that ask the database)",
            outage.len()
        ),
    )?;
    let errors = log.iter().filter(|(_, _, s)| *s == 0).count();
    check(
        errors == 0,
        format!(
            "every one of the {} requests of the drill got an answer ({errors} client errors or timeouts)",
            log.len()
        ),
    )?;
    let first_ok = log
        .iter()
        .filter(|(t, _, s)| *t >= up_at && *s == 200)
        .map(|(t, d, _)| *t + *d)
        .min();
    let back = first_ok.map(|t| t.saturating_duration_since(up_at));
    println!(
        "   serving again {} after the database was back",
        back.map(|d| format!("{:.2} s", d.as_secs_f64()))
            .unwrap_or_else(|| "never".into())
    );
    check(
        back.is_some_and(|d| d <= Duration::from_secs(5)),
        "the app served again within 5 s, without a restart of its own".into(),
    )?;
    let after: Vec<_> = log
        .iter()
        .filter(|(t, _, _)| *t > up_at + Duration::from_secs(5))
        .collect();
    check(
        !after.is_empty() && after.iter().all(|(_, _, s)| *s == 200),
        format!("{} requests after that were all answered 200", after.len()),
    )?;
    let sessions = sessions.lock().unwrap().clone();
    let http = common::client();
    let mut lost = 0;
    for c in &sessions {
        let res = http
            .get(format!("{}/", app.base))
            .header("cookie", c)
            .send()
            .await?;
        if res.status() != 200 {
            lost += 1;
        }
    }
    check(
        lost == 0,
        format!(
            "all {} sign-ins answered before, during and after the outage are still valid (lost: {lost})",
            sessions.len()
        ),
    )?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// kill -9 during submit and approve.

async fn kill() -> anyhow::Result<()> {
    let rounds: usize = std::env::var("DRILL_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    let admin = common::admin_url()?;
    let (url, db) = common::seeded(&admin, "offboarding_drill_kill", 1000).await?;
    // What was there before, by id: the generated history has timestamps in the future.
    let (audit_before, outbox_before): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT coalesce(max(id), 0) FROM audit_events),
                (SELECT coalesce(max(id), 0) FROM outbox_messages)",
    )
    .fetch_one(&db)
    .await?;
    sqlx::raw_sql(
        "CREATE TABLE drill_steps_before AS SELECT id, state FROM request_approvals;
         CREATE TABLE drill_requests_before AS SELECT id, state FROM change_requests;",
    )
    .execute(&db)
    .await?;
    let rounds_before: HashMap<i64, i32> =
        sqlx::query_as::<_, (i64, i32)>("SELECT id, approval_round FROM change_requests")
            .fetch_all(&db)
            .await?
            .into_iter()
            .collect();

    let mut rng = rand::rngs::StdRng::seed_from_u64(8);
    // Each request sent: what it asked, and the session it came from (one of its own, made in
    // the database, so its answer's message can be read back after the kill).
    struct Sent {
        path: String,
        id: i64,
        user: i64,
        status: u16,
        /// The message the answer left for the next page.
        flash: Option<String>,
    }
    let acknowledged: Arc<Mutex<Vec<Sent>>> = Arc::default();
    let sent = Arc::new(AtomicUsize::new(0));
    for round in 0..rounds {
        // Steps waiting on the two approvers, and drafts their account managers may submit.
        let steps: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT id, approver_user_id FROM request_approvals
              WHERE state = 'pending' AND approver_user_id IS NOT NULL
              ORDER BY random() LIMIT 4",
        )
        .fetch_all(&db)
        .await?;
        let drafts: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT r.id, c.account_manager_id FROM change_requests r
               JOIN clients c ON c.id = r.client_id
              WHERE r.state IN ('draft', 'changes_requested') AND r.escalation = 'none'
                AND c.account_manager_id IS NOT NULL
              ORDER BY random() LIMIT 2",
        )
        .fetch_all(&db)
        .await?;
        let mut planned = Vec::new();
        for (path, id, who) in steps
            .iter()
            .map(|(id, who)| (format!("/approvals/{id}/approve"), *id, *who))
            .chain(
                drafts
                    .iter()
                    .map(|(id, who)| (format!("/requests/{id}/submit"), *id, *who)),
            )
        {
            let secret = drill_session(&db, who, "kill drill").await?;
            planned.push((path, id, who, secret));
        }
        let app = common::App::start(&url, &[]).await?;
        let mut inflight = Vec::new();
        for (path, id, user, secret) in planned {
            let (base, acknowledged, sent) = (app.base.clone(), acknowledged.clone(), sent.clone());
            inflight.push(tokio::spawn(async move {
                sent.fetch_add(1, Ordering::Relaxed);
                let res = common::client()
                    .post(format!("{base}{path}"))
                    .header("cookie", format!("od_session={secret}"))
                    .form(&[("comment", "")])
                    .send()
                    .await;
                // A connection the kill cut is no answer; any answer but a 303 is a problem.
                if let Ok(r) = res {
                    let status = r.status().as_u16();
                    acknowledged.lock().unwrap().push(Sent {
                        path,
                        id,
                        user,
                        status,
                        flash: common::shared::flash_set_by(r.headers(), &secret),
                    });
                }
            }));
        }
        // Anywhere from before the first request arrives to after most are answered.
        tokio::time::sleep(Duration::from_micros(rng.random_range(0..400_000))).await;
        let mut app = app;
        app.kill();
        for f in inflight {
            let _ = f.await;
        }
        if round % 20 == 19 {
            println!("   {} kills", round + 1);
        }
    }

    let distribution: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM distribution_list)")
        .fetch_one(&db)
        .await?;
    // The invariants, request by request.
    let rows = sqlx::query(
        "SELECT r.id, r.state, r.approval_round,
                (SELECT count(*) FROM request_approvals a
                   LEFT JOIN drill_steps_before sb ON sb.id = a.id
                  WHERE a.change_request_id = r.id AND a.state = 'approved'
                    AND (sb.id IS NULL OR sb.state <> 'approved')) AS approved_steps,
                (SELECT count(*) FROM audit_events e WHERE e.entity_type = 'change_request'
                    AND e.entity_id = r.id::text AND e.id > $1
                    AND e.action = 'change_request.step_approved') AS approved_events,
                (SELECT count(*) FROM audit_events e WHERE e.entity_type = 'change_request'
                    AND e.entity_id = r.id::text AND e.id > $1
                    AND e.action = 'change_request.submitted') AS submitted_events,
                (SELECT count(*) FROM outbox_messages o WHERE o.related_type = 'change_request'
                    AND o.related_id = r.id::text AND o.id > $2
                    AND o.kind = 'change_request.approval_needed') AS announced,
                (SELECT count(*) FROM outbox_messages o WHERE o.related_type = 'change_request'
                    AND o.related_id = r.id::text AND o.id > $2
                    AND o.kind IN ('change_request.to_process',
                                   'change_request.approved_submitter')) AS approved_emails,
                (SELECT count(*) FROM outbox_messages o WHERE o.related_type = 'change_request'
                    AND o.related_id = r.id::text AND o.id > $2) AS emails,
                (SELECT count(*) FROM audit_events e WHERE e.entity_type = 'change_request'
                    AND e.entity_id = r.id::text AND e.id > $1
                    AND e.action = 'change_request.step_flagged') AS flagged_events,
                (SELECT count(*) FROM audit_events e WHERE e.entity_type = 'change_request'
                    AND e.entity_id = r.id::text AND e.id > $1
                    AND e.action = 'change_request.step_rerouted') AS rerouted_events,
                (SELECT count(*) FROM audit_events e WHERE e.entity_type = 'change_request'
                    AND e.entity_id = r.id::text AND e.id > $1
                    AND e.action = 'change_request.approved') AS approved_event,
                (r.state = 'approved' AND b.state <> 'approved') AS approved_now,
                EXISTS (SELECT 1 FROM change_tasks t WHERE t.change_request_id = r.id) AS has_task,
                (SELECT count(*) FROM request_approvals a WHERE a.change_request_id = r.id
                    AND a.round = r.approval_round AND a.state = 'pending') AS pending_now
           FROM change_requests r
           JOIN drill_requests_before b ON b.id = r.id",
    )
    .bind(audit_before)
    .bind(outbox_before)
    .fetch_all(&db)
    .await?;
    let mut problems = Vec::new();
    let (mut approvals, mut submits, mut completed_chains) = (0, 0, 0);
    for row in &rows {
        let id: i64 = row.get("id");
        let approved_steps: i64 = row.get("approved_steps");
        let approved_events: i64 = row.get("approved_events");
        let submitted_events: i64 = row.get("submitted_events");
        let emails: i64 = row.get("emails");
        let round: i32 = row.get("approval_round");
        let approved_now: bool = row.get("approved_now");
        let new_rounds = i64::from(round - rounds_before.get(&id).copied().unwrap_or(0));
        approvals += approved_steps;
        submits += submitted_events;
        if approved_steps != approved_events {
            problems.push(format!(
                "request {id}: {approved_steps} steps approved, {approved_events} audit records"
            ));
        }
        if submitted_events != new_rounds {
            problems.push(format!(
                "request {id}: {new_rounds} new approval rounds, {submitted_events} submit records"
            ));
        }
        // Exactly the emails its transitions queue: each submit and each approval that is not
        // the last announces the next step (unless nobody may decide it, which tells the
        // admins instead); the last tells Accounting and the submitter.
        let announced: i64 = row.get("announced");
        let approved_emails: i64 = row.get("approved_emails");
        let flagged_events: i64 = row.get("flagged_events");
        let rerouted_events: i64 = row.get("rerouted_events");
        let finished = i64::from(approved_now);
        let expected_announced = submitted_events + approved_steps - finished - flagged_events;
        // The last approval tells Accounting and the submitter, and the distribution list when
        // it has anyone on it.
        let expected_emails = expected_announced
            + (2 + i64::from(distribution)) * finished
            + flagged_events
            + rerouted_events;
        if announced != expected_announced
            || approved_emails != 2 * finished
            || emails != expected_emails
        {
            problems.push(format!(
                "request {id}: {submitted_events} submits, {approved_steps} approvals ({finished} final, {flagged_events} flagged): {announced} step emails (expected {expected_announced}), {approved_emails} approval emails, {emails} in all (expected {expected_emails})"
            ));
        }
        if approved_now {
            completed_chains += 1;
            let event: i64 = row.get("approved_event");
            let task: bool = row.get("has_task");
            if event != 1 || !task {
                problems.push(format!(
                    "request {id}: approved without its record ({event}) or change task ({task})"
                ));
            }
        }
        if new_rounds > 0
            && row.get::<String, _>("state") == "in_approval"
            && row.get::<i64, _>("pending_now") != 1
        {
            problems.push(format!("request {id}: submitted but no step waits"));
        }
    }
    // Every answer the client saw is in the database: a change it was told of is there, whole;
    // a refusal ("Nothing …", which is also a 303) is not counted as a change.
    let acknowledged = std::mem::take(&mut *acknowledged.lock().unwrap());
    let (mut changes_seen, mut refusals_seen) = (0, 0);
    for a in &acknowledged {
        if a.status != 303 {
            problems.push(format!("{} was answered {}", a.path, a.status));
            continue;
        }
        let Some(flash) = &a.flash else {
            problems.push(format!("{}: answered 303 with no message", a.path));
            continue;
        };
        if flash.starts_with("Nothing") {
            refusals_seen += 1;
            continue;
        }
        changes_seen += 1;
        if a.path.starts_with("/approvals/") {
            let (state, decided_by): (String, Option<i64>) =
                sqlx::query_as("SELECT state, decided_by FROM request_approvals WHERE id = $1")
                    .bind(a.id)
                    .fetch_one(&db)
                    .await?;
            if state != "approved" || decided_by != Some(a.user) {
                problems.push(format!(
                    "{} was answered \"{flash}\" but the step is {state}, decided by {decided_by:?}",
                    a.path
                ));
            }
        } else {
            let submitted: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM audit_events
                  WHERE entity_type = 'change_request' AND entity_id = $1::text AND id > $2
                    AND action = 'change_request.submitted' AND actor_id = $3",
            )
            .bind(a.id)
            .bind(audit_before)
            .bind(a.user)
            .fetch_one(&db)
            .await?;
            if submitted == 0 {
                problems.push(format!(
                    "{} was answered \"{flash}\" but no submission is on the record",
                    a.path
                ));
            }
        }
    }
    println!(
        "   {rounds} kills with {} requests in flight: {approvals} approvals and {submits} submits committed whole ({completed_chains} chains finished); {} answered before the kill: {changes_seen} changes, {refusals_seen} refusals",
        sent.load(Ordering::Relaxed),
        acknowledged.len()
    );
    for p in problems.iter().take(10) {
        println!("   PROBLEM {p}");
    }
    check(
        approvals > 0 && submits > 0 && changes_seen > 0,
        format!("some changes committed between kills, {changes_seen} of them answered"),
    )?;
    check(
        problems.is_empty(),
        format!(
            "every request is all-or-nothing: state, audit records and emails agree ({} problems)",
            problems.len()
        ),
    )?;
    db.close().await;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// A real SMTP listener for the mail drills: records each message's Message-ID, optionally
// slowly.

#[derive(Clone, Default)]
struct Inbox {
    ids: Arc<Mutex<Vec<String>>>,
}

impl Inbox {
    /// The Message-IDs received so far, in order, without their angle brackets.
    fn received(&self) -> Vec<String> {
        self.ids
            .lock()
            .unwrap()
            .iter()
            .map(|id| bare(id).to_string())
            .collect()
    }
}

/// A Message-ID without its angle brackets, as the outbox and the inbox are compared.
fn bare(message_id: &str) -> &str {
    message_id.trim_matches(['<', '>'])
}

/// A session of `user`'s own, made in the database: each request a drill sends comes from one.
async fn drill_session(db: &PgPool, user: i64, agent: &str) -> anyhow::Result<String> {
    let mut conn = db.acquire().await?;
    let secret = offboarding_desk::auth::session::create(
        &mut conn,
        user,
        Duration::from_secs(3600),
        "127.0.0.1",
        agent,
    )
    .await?;
    Ok(secret)
}

async fn smtp_listener(delay: Duration) -> anyhow::Result<(u16, Inbox)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let inbox = Inbox::default();
    let kept = inbox.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let inbox = kept.clone();
            tokio::spawn(async move {
                let _ = smtp_session(socket, inbox, delay).await;
            });
        }
    });
    Ok((port, inbox))
}

async fn smtp_session(
    socket: tokio::net::TcpStream,
    inbox: Inbox,
    delay: Duration,
) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 drill ESMTP\r\n").await?;
    let mut message_id = None;
    while let Some(line) = lines.next_line().await? {
        let upper = line.to_ascii_uppercase();
        if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            write.write_all(b"250-drill\r\n250 8BITMIME\r\n").await?;
        } else if upper.starts_with("DATA") {
            write.write_all(b"354 go ahead\r\n").await?;
            while let Some(l) = lines.next_line().await? {
                if l == "." {
                    break;
                }
                if message_id.is_none() && l.to_ascii_lowercase().starts_with("message-id:") {
                    message_id = Some(l[11..].trim().to_string());
                }
            }
            tokio::time::sleep(delay).await;
            if let Some(id) = message_id.take() {
                inbox.ids.lock().unwrap().push(id);
            }
            write.write_all(b"250 queued\r\n").await?;
        } else if upper.starts_with("QUIT") {
            write.write_all(b"221 bye\r\n").await?;
            break;
        } else {
            write.write_all(b"250 ok\r\n").await?;
        }
    }
    Ok(())
}

fn smtp_env(port: u16) -> Vec<(&'static str, String)> {
    vec![
        ("SMTP_HOST", "127.0.0.1".into()),
        ("SMTP_PORT", port.to_string()),
        ("SMTP_TLS", "none".into()),
    ]
}

/// Queues `n` messages as the app would (one transaction each, a Message-ID fixed at queueing).
async fn queue_messages(db: &PgPool, n: usize) -> anyhow::Result<()> {
    let config = offboarding_desk::config::Config::from_lookup(false, |_| None)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for i in 0..n {
        let mut tx = db.begin().await?;
        offboarding_desk::notifications::outbox::enqueue(
            &mut tx,
            &config.mail,
            &offboarding_desk::notifications::outbox::OutgoingEmail {
                kind: "drill",
                to: vec![format!("person{}@bench.test", i % 7)],
                subject: format!("Drill message {i}"),
                text: "A message of the fault drill.".into(),
                html: "<p>A message of the fault drill.</p>".into(),
                related: None,
            },
        )
        .await?;
        tx.commit().await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// SIGTERM under load.

/// When a request was sent, and its status or why it got none.
type Answer = (Instant, Result<u16, String>);

async fn sigterm() -> anyhow::Result<()> {
    let admin = common::admin_url()?;
    let (url, db) = common::seeded(&admin, "offboarding_drill_term", 200).await?;
    let (port, inbox) = smtp_listener(Duration::from_millis(300)).await?;
    queue_messages(&db, 40).await?;
    let mut app = common::App::start(&url, &smtp_env(port)).await?;
    let cookie = common::sign_in(&app.base, "ops1@bench.test").await?;
    let stop = Arc::new(AtomicBool::new(false));
    let results: Arc<Mutex<Vec<Answer>>> = Arc::default();
    let mut load = Vec::new();
    for _ in 0..8 {
        let (stop, results, base, cookie) = (
            stop.clone(),
            results.clone(),
            app.base.clone(),
            cookie.clone(),
        );
        load.push(tokio::spawn(async move {
            let http = common::client();
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let r = http
                    .get(format!("{base}/planner"))
                    .header("cookie", &cookie)
                    .send()
                    .await;
                // Once the port is closed there is nobody left to ask.
                let refused = r.as_ref().is_err_and(|e| e.is_connect());
                let outcome = match r {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        match r.bytes().await {
                            Ok(_) => Ok(status),
                            Err(e) => Err(format!("body cut: {}", error_chain(&e))),
                        }
                    }
                    Err(e) => Err(error_chain(&e)),
                };
                results.lock().unwrap().push((t, outcome));
                if refused {
                    break;
                }
            }
        }));
    }
    // Let the worker claim messages and the load run, then ask it to stop.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let sending_before: i64 =
        sqlx::query_scalar("SELECT count(*) FROM outbox_messages WHERE state = 'sending'")
            .fetch_one(&db)
            .await?;
    // A load balancer's health check, asking all along.
    let health = {
        let (stop, base) = (stop.clone(), app.base.clone());
        tokio::spawn(async move {
            let http = common::client();
            let mut seen = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                if let Ok(r) = http.get(format!("{base}/healthz")).send().await {
                    seen.push((Instant::now(), r.status().as_u16()));
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            seen
        })
    };
    let asked = Instant::now();
    let exit = app.terminate(Duration::from_secs(15)).await;
    stop.store(true, Ordering::Relaxed);
    for l in load {
        let _ = l.await;
    }
    let health = health.await?;
    println!(
        "   SIGTERM with {} messages claimed by the worker; exit after {}",
        sending_before,
        exit.map(|d| format!("{} ms", d.as_millis()))
            .unwrap_or_else(|| "more than 15 s".into())
    );
    check(
        sending_before > 0,
        format!(
            "the precondition holds: the worker held claimed messages when the signal came ({sending_before})"
        ),
    )?;
    check(
        exit.is_some_and(|d| d <= Duration::from_secs(10)),
        "the app exited within 10 s".into(),
    )?;
    let results = results.lock().unwrap().clone();
    let before: Vec<_> = results.iter().filter(|(t, _)| *t < asked).collect();
    let cut: Vec<_> = before
        .iter()
        .filter(|(_, r)| !matches!(r, Ok(200)))
        .collect();
    println!(
        "   {} requests sent before the signal, {} not answered in full",
        before.len(),
        cut.len()
    );
    let told = health
        .iter()
        .filter(|(t, status)| *t > asked && *status == 503)
        .count();
    println!("   the health check said 503 {told} times between the signal and the exit");
    check(
        told > 0,
        "the health check says 503 while the app drains".into(),
    )?;
    for (t, r) in &cut {
        println!(
            "     sent {} µs before the signal: {:?}",
            (asked - *t).as_micros(),
            r
        );
    }
    check(
        !before.is_empty() && cut.is_empty(),
        "every request sent before the signal was answered in full".into(),
    )?;
    let (sending, queued, sent): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE state = 'sending'), count(*) FILTER (WHERE state = 'queued'),
                count(*) FILTER (WHERE state = 'sent') FROM outbox_messages",
    )
    .fetch_one(&db)
    .await?;
    println!(
        "   outbox after exit: {sent} sent, {queued} queued, {sending} still claimed; the listener received {}",
        inbox.ids.lock().unwrap().len()
    );
    check(
        sending == 0,
        "no message is left claimed: each was sent or released".into(),
    )?;
    let running: i64 =
        sqlx::query_scalar("SELECT count(*) FROM outbox_messages WHERE claimed_by IS NOT NULL")
            .fetch_one(&db)
            .await?;
    check(running == 0, "no claim is left behind".into())?;
    db.close().await;
    Ok(())
}

/// An error with its causes, which say what the connection did ("connection closed before
/// message completed", "Connection refused").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(&format!(": {c}"));
        cause = c.source();
    }
    text
}

// ---------------------------------------------------------------------------------------------
// Three instances, restarted again and again: each email and reminder exactly once.

async fn instances() -> anyhow::Result<()> {
    let admin = common::admin_url()?;
    let (url, db) = common::seeded(&admin, "offboarding_drill_three", 300).await?;
    let (port, inbox) = smtp_listener(Duration::from_millis(20)).await?;
    queue_messages(&db, 150).await?;
    // Reminders due now for every upcoming approved entry, as the planner schedules them.
    let entries: Vec<(i64, chrono::NaiveDate)> = sqlx::query_as(
        "SELECT p.id, p.effective_date FROM planner_entries p
           JOIN change_requests r ON r.id = p.change_request_id
          WHERE r.state = 'approved' AND p.removed_at IS NULL",
    )
    .fetch_all(&db)
    .await?;
    anyhow::ensure!(
        !entries.is_empty(),
        "the drill's data has no approved planner entries to remind of"
    );
    for (entry, effective) in &entries {
        let mut conn = db.acquire().await?;
        offboarding_desk::notifications::jobs::schedule(
            &mut conn,
            &format!("reminder:{entry}:7"),
            offboarding_desk::operations::reminders::KIND,
            chrono::Utc::now() - chrono::Duration::minutes(1),
            serde_json::json!({ "entry_id": entry, "days": 7, "effective_date": effective }),
        )
        .await?;
    }
    let env = smtp_env(port);
    let mut apps = Vec::new();
    for _ in 0..3 {
        apps.push(common::App::start(&url, &env).await?);
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let mut restarts = 0;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        tokio::time::sleep(Duration::from_millis(rng.random_range(200..700))).await;
        let (left, jobs_left): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM outbox_messages WHERE state IN ('queued', 'sending')),
                    (SELECT count(*) FROM scheduled_jobs WHERE state = 'pending')",
        )
        .fetch_one(&db)
        .await?;
        if left == 0 && jobs_left == 0 {
            break;
        }
        if Instant::now() > deadline {
            anyhow::bail!("{left} messages and {jobs_left} jobs were still waiting after 90 s");
        }
        let i = rng.random_range(0..apps.len());
        apps[i].terminate(Duration::from_secs(10)).await;
        apps[i] = common::App::start(&url, &env).await?;
        restarts += 1;
    }
    for app in &mut apps {
        app.terminate(Duration::from_secs(10)).await;
    }
    let expected: Vec<String> = sqlx::query_scalar("SELECT message_id FROM outbox_messages")
        .fetch_all(&db)
        .await?;
    let received = inbox.received();
    let mut times: HashMap<String, usize> = HashMap::new();
    for id in &received {
        *times.entry(id.clone()).or_default() += 1;
    }
    let twice = times.values().filter(|n| **n > 1).count();
    let missing = expected
        .iter()
        .filter(|id| !times.contains_key(bare(id)))
        .count();
    let reminders: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM scheduled_jobs WHERE kind = $1 AND state = 'done'",
    )
    .bind(offboarding_desk::operations::reminders::KIND)
    .fetch_one(&db)
    .await?;
    let reminder_mail: i64 =
        sqlx::query_scalar("SELECT count(*) FROM outbox_messages WHERE kind LIKE '%reminder%'")
            .fetch_one(&db)
            .await?;
    println!(
        "   3 instances, {restarts} restarts: {} messages queued ({reminders} of {} reminders ran, {reminder_mail} reminder emails), {} received",
        expected.len(),
        entries.len(),
        received.len()
    );
    check(
        reminders == entries.len() as i64,
        "every reminder ran once".into(),
    )?;
    // Each entry's reminder: one email, for its own request, received exactly once.
    let reminder_ids: Vec<(i64, String)> = sqlx::query_as(
        "SELECT p.id, o.message_id FROM outbox_messages o
           JOIN planner_entries p ON p.change_request_id::text = o.related_id
          WHERE o.kind = 'planner.reminder'",
    )
    .fetch_all(&db)
    .await?;
    let mut per_entry: HashMap<i64, usize> = HashMap::new();
    let mut not_once = 0;
    for (entry, message_id) in &reminder_ids {
        *per_entry.entry(*entry).or_default() += 1;
        if times.get(bare(message_id)) != Some(&1) {
            not_once += 1;
        }
    }
    let entries_once = entries
        .iter()
        .filter(|(e, _)| per_entry.get(e) == Some(&1))
        .count();
    check(
        entries_once == entries.len() && per_entry.len() == entries.len() && not_once == 0,
        format!(
            "every reminder was emailed and received exactly once ({entries_once} of {} entries with one email, {not_once} received other than once)",
            entries.len()
        ),
    )?;
    check(
        missing == 0,
        format!("every message was delivered ({missing} missing)"),
    )?;
    check(
        twice == 0,
        format!("none was delivered twice ({twice} twice)"),
    )?;
    db.close().await;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// A backup taken under load, restored, and served by a second instance.

/// What a table holds at a moment, for the restore drill: the ids of its rows, and a
/// fingerprint of their content (the audit log's rows never change, so theirs must match).
struct Held {
    table: &'static str,
    ids: Vec<i64>,
    fingerprint: String,
}

/// The tables whose rows the restore drill looks for; the audit log by its whole rows.
const HELD: [(&str, &str); 4] = [
    ("change_requests", "id::text"),
    ("request_approvals", "id::text"),
    (
        "audit_events",
        "concat_ws(',', id, at, actor_id, actor_label, action, entity_type, entity_id, details, ip, request_id)",
    ),
    ("outbox_messages", "message_id"),
];

/// What `db` holds of `table` among `ids` (every row when `None`).
async fn held(
    db: &PgPool,
    (table, content): (&'static str, &str),
    ids: Option<&[i64]>,
) -> anyhow::Result<Held> {
    let (ids, fingerprint): (Vec<i64>, String) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT coalesce(array_agg(id ORDER BY id), '{{}}'),
                md5(coalesce(string_agg({content}, '|' ORDER BY id), ''))
           FROM {table} WHERE $1::bigint[] IS NULL OR id = ANY($1)"
    )))
    .bind(ids)
    .fetch_one(db)
    .await?;
    Ok(Held {
        table,
        ids,
        fingerprint,
    })
}

async fn restore() -> anyhow::Result<()> {
    let admin = common::admin_url()?;
    let (url, db) = common::seeded(&admin, "offboarding_drill_backup", 300).await?;
    // What stood before the load, kept in the database (and so in the backup).
    let audit_before: i64 = sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM audit_events")
        .fetch_one(&db)
        .await?;
    sqlx::raw_sql(
        "CREATE TABLE drill_steps_before AS SELECT id, state FROM request_approvals;
         CREATE TABLE drill_requests_before AS SELECT id, approval_round FROM change_requests;",
    )
    .execute(&db)
    .await?;
    queue_messages(&db, 60).await?;
    // Where the generator's data departs from the model's rules (it writes histories, not
    // acts): the load and the restore may add no departure of their own.
    let generated = common::shared::records::findings(&db).await;
    let (port, first_inbox) = smtp_listener(Duration::from_millis(5)).await?;
    // Short SMTP timeouts make short leases: a message the backup caught mid-send is claimed
    // again by the restored instance within seconds.
    let env = |port| {
        let mut env = smtp_env(port);
        env.push(("SMTP_TIMEOUT_SECONDS", "2".to_string()));
        env
    };
    let mut first = common::App::start(&url, &env(port)).await?;

    // Submits and approvals through the first instance until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let load = {
        let (db, base, stop, answered) = (
            db.clone(),
            first.base.clone(),
            stop.clone(),
            answered.clone(),
        );
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let work: Vec<(String, i64)> = sqlx::query_as(
                    "(SELECT '/approvals/' || id || '/approve', approver_user_id
                        FROM request_approvals
                       WHERE state = 'pending' AND approver_user_id IS NOT NULL
                       ORDER BY random() LIMIT 4)
                     UNION ALL
                     (SELECT '/requests/' || r.id || '/submit', c.account_manager_id
                        FROM change_requests r JOIN clients c ON c.id = r.client_id
                       WHERE r.state IN ('draft', 'changes_requested') AND r.escalation = 'none'
                         AND c.account_manager_id IS NOT NULL
                       ORDER BY random() LIMIT 2)",
                )
                .fetch_all(&db)
                .await?;
                let mut inflight = Vec::new();
                for (path, who) in work {
                    let secret = drill_session(&db, who, "restore drill").await?;
                    let (base, answered) = (base.clone(), answered.clone());
                    inflight.push(tokio::spawn(async move {
                        let res = common::client()
                            .post(format!("{base}{path}"))
                            .header("cookie", format!("od_session={secret}"))
                            .form(&[("comment", "")])
                            .send()
                            .await;
                        if res.is_ok_and(|r| r.status().as_u16() == 303) {
                            answered.fetch_add(1, Ordering::Relaxed);
                        }
                    }));
                }
                for f in inflight {
                    let _ = f.await;
                }
            }
            anyhow::Ok(())
        })
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let dir = common::manifest_dir().join("target/drill-backups");
    let _ = std::fs::remove_dir_all(&dir);
    let before_backup = answered.load(Ordering::Relaxed);
    // Every row committed before the backup began is in its snapshot.
    let mut committed = Vec::new();
    for table in HELD {
        committed.push(held(&db, table, None).await?);
    }
    let taken = offboarding_desk::db::backup::backup(&url, &dir, 3).await?;
    let during = answered.load(Ordering::Relaxed) - before_backup;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::Relaxed);
    load.await??;
    let after_backup = answered.load(Ordering::Relaxed) - before_backup;
    // The first instance sends everything it has, then stops.
    wait_for_empty_outbox(&db, "the first instance").await?;
    first.terminate(Duration::from_secs(10)).await;
    let sent_by_first: std::collections::HashSet<String> =
        first_inbox.received().into_iter().collect();

    // Restored into an empty database.
    let restored_url = common::with_database(&admin, "offboarding_drill_restored");
    {
        let mut conn =
            sqlx::PgConnection::connect_with(&offboarding_desk::db::connect_options(&admin)?)
                .await?;
        for sql in [
            "DROP DATABASE IF EXISTS offboarding_drill_restored WITH (FORCE)",
            "CREATE DATABASE offboarding_drill_restored",
        ] {
            sqlx::raw_sql(sql).execute(&mut conn).await?;
        }
    }
    let started = Instant::now();
    offboarding_desk::db::backup::restore(&restored_url, &taken.file).await?;
    let restore_time = started.elapsed();
    let restored = offboarding_desk::db::pool_options()
        .max_connections(2)
        .connect_with(offboarding_desk::db::connect_options(&restored_url)?)
        .await?;
    let (requests, steps, audit, queued, sent): (i64, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM change_requests), (SELECT count(*) FROM request_approvals),
                (SELECT count(*) FROM audit_events),
                (SELECT count(*) FROM outbox_messages WHERE state IN ('queued', 'sending')),
                (SELECT count(*) FROM outbox_messages WHERE state = 'sent')",
    )
    .fetch_one(&restored)
    .await?;
    println!(
        "   {} answered before the backup, {during} while it ran, {after_backup} after; \
         restored in {:.1} s: {requests} requests, {steps} steps, {audit} audit events, \
         {queued} emails queued and {sent} sent",
        before_backup,
        restore_time.as_secs_f64()
    );
    check(
        before_backup > 0 && after_backup > 0,
        "the backup was taken with work going on before and after it".into(),
    )?;

    // Whatever was committed before the backup began is there, and the audit log up to then
    // is the same record, event for event (it is append-only).
    for (before, table) in committed.iter().zip(HELD) {
        let copy = held(&restored, table, Some(&before.ids)).await?;
        let same_content = before.table != "audit_events" || copy.fingerprint == before.fingerprint;
        check(
            copy.ids == before.ids && same_content,
            format!(
                "the {} rows of {} committed before the backup are in the restore{}",
                before.ids.len(),
                before.table,
                if before.table == "audit_events" {
                    ", each the same"
                } else {
                    ""
                }
            ),
        )?;
    }
    // The model test's rules hold on the restore, and on the database it came from, whose
    // rows still carry the transaction that wrote them (the restore's were all written by one),
    // as they held on the generated data.
    for (which, pool) in [("the restored database", &restored), ("the source", &db)] {
        let added: Vec<String> = common::shared::records::findings(pool)
            .await
            .into_iter()
            .filter_map(|(rule, rows)| {
                let known = generated.get(&rule);
                let new: Vec<String> = rows
                    .into_iter()
                    .filter(|r| !known.is_some_and(|k| k.contains(r)))
                    .collect();
                (!new.is_empty()).then(|| format!("{rule}: {}", new.join("; ")))
            })
            .collect();
        check(
            added.is_empty(),
            format!(
                "the model test's rules on stored records hold on {which} as on the generated \
                 data ({} rules it departs from){}",
                generated.len(),
                if added.is_empty() {
                    String::new()
                } else {
                    format!(": {}", added.join(" | "))
                }
            ),
        )?;
    }

    // The snapshot is one moment: each request's approvals and submissions since the load
    // began match their audit records, as each change wrote them in one transaction.
    let broken: Vec<(i64, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT r.id,
                (SELECT count(*) FROM request_approvals a
                   LEFT JOIN drill_steps_before b ON b.id = a.id
                  WHERE a.change_request_id = r.id AND a.state = 'approved'
                    AND (b.id IS NULL OR b.state <> 'approved')),
                (SELECT count(*) FROM audit_events e WHERE e.entity_type = 'change_request'
                    AND e.entity_id = r.id::text AND e.id > $1
                    AND e.action = 'change_request.step_approved'),
                (r.approval_round - coalesce(rb.approval_round, 0))::bigint,
                (SELECT count(*) FROM audit_events e WHERE e.entity_type = 'change_request'
                    AND e.entity_id = r.id::text AND e.id > $1
                    AND e.action = 'change_request.submitted')
           FROM change_requests r LEFT JOIN drill_requests_before rb ON rb.id = r.id",
    )
    .bind(audit_before)
    .fetch_all(&restored)
    .await?
    .into_iter()
    .filter(|(_, steps, step_events, rounds, submit_events)| {
        steps != step_events || rounds != submit_events
    })
    .collect();
    let touched: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT entity_id) FROM audit_events
          WHERE id > $1 AND entity_type = 'change_request'",
    )
    .bind(audit_before)
    .fetch_one(&restored)
    .await?;
    check(
        broken.is_empty() && touched > 0,
        format!(
            "every one of the {touched} requests worked on reads the same in its rows and its audit records ({} do not: {:?})",
            broken.len(),
            broken.iter().take(3).collect::<Vec<_>>()
        ),
    )?;

    // A second instance on the restore sends what was queued, and nothing the backup held as
    // sent.
    let held_as_sent: std::collections::HashSet<String> = sqlx::query_scalar::<_, String>(
        "SELECT message_id FROM outbox_messages WHERE state = 'sent'",
    )
    .fetch_all(&restored)
    .await?
    .into_iter()
    .map(|id| bare(&id).to_string())
    .collect();
    let (port, second_inbox) = smtp_listener(Duration::from_millis(5)).await?;
    let mut second = common::App::start(&restored_url, &env(port)).await?;
    wait_for_empty_outbox(&restored, "the restored instance").await?;
    second.terminate(Duration::from_secs(10)).await;
    let received = second_inbox.received();
    let again = received
        .iter()
        .filter(|id| held_as_sent.contains(*id))
        .count();
    let also_by_first = received
        .iter()
        .filter(|id| sent_by_first.contains(*id))
        .count();
    println!(
        "   the restored instance sent {} (of {queued} queued in the backup); {also_by_first} of them the first instance had also sent after the backup (README, Backups)",
        received.len()
    );
    check(
        again == 0,
        format!("no email the backup held as sent was sent again ({again} were)"),
    )?;
    check(
        received.len() as i64 == queued,
        format!(
            "every email queued in the backup was sent once by the restored instance ({} of {queued})",
            received.len()
        ),
    )?;
    restored.close().await;
    db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Waits (up to 60 s) until nothing in `db`'s outbox waits to be sent.
async fn wait_for_empty_outbox(db: &PgPool, who: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM outbox_messages WHERE state IN ('queued', 'sending')",
        )
        .fetch_one(db)
        .await?;
        if left == 0 {
            return Ok(());
        }
        if Instant::now() > deadline {
            anyhow::bail!("{who} left {left} emails unsent after 60 s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
