//! Email that is never lost, against a real SMTP server on loopback: the outbox commits with
//! its change, the worker survives a refusing, busy or stuck server, two workers never send one
//! message twice, and scheduled jobs run exactly once, moved by a clock the test controls.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use offboarding_desk::audit::{self, Actor};
use offboarding_desk::notifications::clock::{Clock, ManualClock, SystemClock};
use offboarding_desk::notifications::jobs::{self, Job, JobHandler, JobRunner};
use offboarding_desk::notifications::mailer::Mailer;
use offboarding_desk::notifications::outbox::{self, OutgoingEmail};
use offboarding_desk::notifications::worker::Worker;
use sqlx::PgConnection;

use crate::support::smtp::{self, header};
use crate::support::{TestApp, mail_to};

async fn app_sending_to(port: u16) -> TestApp {
    TestApp::spawn_with(|c| {
        mail_to(c, port);
        if let Some(smtp) = c.mail.smtp.as_mut() {
            smtp.timeout = Duration::from_secs(1);
        }
    })
    .await
}

fn worker(app: &TestApp, clock: Arc<dyn Clock>, jobs: JobRunner) -> Worker {
    let mailer = Mailer::from_config(&app.state.config.mail).unwrap();
    Worker::new(
        app.db.clone(),
        Arc::new(mailer),
        clock,
        jobs,
        Duration::from_secs(1),
    )
}

fn email(subject: &str, to: &[&str]) -> OutgoingEmail {
    OutgoingEmail {
        kind: "test",
        to: to.iter().map(|s| s.to_string()).collect(),
        subject: subject.to_string(),
        text: format!("Plain words about {subject}."),
        html: format!("<p>HTML words about <b>{subject}</b>.</p>"),
        related: None,
    }
}

async fn queue(app: &TestApp, subject: &str) -> i64 {
    let mut tx = app.db.begin().await.unwrap();
    let id = outbox::enqueue(
        &mut tx,
        &app.state.config.mail,
        &email(subject, &["amy@agency.test"]),
    )
    .await
    .unwrap()
    .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn states(app: &TestApp) -> Vec<(String, i32)> {
    sqlx::query_as("SELECT state, attempts FROM outbox_messages ORDER BY id")
        .fetch_all(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_committed_message_arrives_whole_and_a_rolled_back_one_never_leaves() {
    let Some(server) = smtp::start("a_committed_message_arrives_whole").await else {
        return;
    };
    let app = app_sending_to(server.port).await;

    let mut tx = app.db.begin().await.unwrap();
    outbox::enqueue(
        &mut tx,
        &app.state.config.mail,
        &email(
            "Lakeside RV Center approved",
            &["ops@agency.test", "lead@agency.test", "OPS@agency.test"],
        ),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let mut rolled_back = app.db.begin().await.unwrap();
    outbox::enqueue(
        &mut rolled_back,
        &app.state.config.mail,
        &email("Never sent", &["x@agency.test"]),
    )
    .await
    .unwrap();
    rolled_back.rollback().await.unwrap();

    let w = worker(&app, Arc::new(SystemClock), JobRunner::new());
    assert_eq!(w.run_once().await.unwrap(), 1);
    let received = server.received();
    assert_eq!(received.len(), 1, "one message, the committed one");
    let raw = &received[0];
    assert_eq!(
        header(raw, "X-Envelope-To").unwrap(),
        "lead@agency.test, ops@agency.test"
    );
    assert_eq!(
        header(raw, "Subject").unwrap(),
        "Lakeside RV Center approved"
    );
    let stored_id: String = sqlx::query_scalar("SELECT message_id FROM outbox_messages")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(header(raw, "Message-ID").unwrap(), stored_id);
    assert!(
        header(raw, "Content-Type")
            .unwrap()
            .starts_with("multipart/alternative")
    );
    assert!(
        raw.contains("Content-Type: text/plain")
            && raw.contains("Plain words about Lakeside RV Center approved.")
    );
    assert!(
        raw.contains("Content-Type: text/html")
            && raw.contains("<b>Lakeside RV Center approved</b>")
    );
    assert!(!raw.contains("Never sent"));
    assert_eq!(states(&app).await, vec![("sent".to_string(), 1)]);
    // Nothing is left to send.
    assert_eq!(w.run_once().await.unwrap(), 0);
}

#[tokio::test]
async fn a_refusing_then_busy_then_stuck_server_loses_nothing_and_sends_each_message_once() {
    let port = smtp::free_port();
    let app = app_sending_to(port).await;
    let clock = Arc::new(ManualClock::new(Utc::now() + chrono::Duration::seconds(1)));
    let w = worker(&app, clock.clone(), JobRunner::new());
    for i in 0..3 {
        queue(&app, &format!("message {i}")).await;
    }

    // Nobody listens: refused.
    assert_eq!(w.run_once().await.unwrap(), 3);
    assert_eq!(states(&app).await, vec![("queued".to_string(), 1); 3]);
    let error: String = sqlx::query_scalar("SELECT last_error FROM outbox_messages LIMIT 1")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(!error.is_empty());
    assert_eq!(
        w.run_once().await.unwrap(),
        0,
        "not due again before the backoff"
    );

    let Some(server) = smtp::start_on("a_refusing_then_busy_then_stuck_server", port).await else {
        return;
    };
    // Busy: 451.
    server.set_mode("tempfail");
    clock.advance(chrono::Duration::seconds(16));
    assert_eq!(w.run_once().await.unwrap(), 3);
    assert_eq!(states(&app).await, vec![("queued".to_string(), 2); 3]);

    // Stuck: never answers; each delivery times out.
    server.set_mode("hang");
    clock.advance(chrono::Duration::seconds(31));
    assert_eq!(w.run_once().await.unwrap(), 3);
    assert_eq!(states(&app).await, vec![("queued".to_string(), 3); 3]);
    assert!(server.received().is_empty());

    // Back: everything arrives, once.
    server.set_mode("accept");
    clock.advance(chrono::Duration::seconds(61));
    assert_eq!(w.run_once().await.unwrap(), 3);
    let errors: Vec<Option<String>> =
        sqlx::query_scalar("SELECT last_error FROM outbox_messages WHERE state <> 'sent'")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    clock.advance(chrono::Duration::hours(2));
    assert_eq!(w.run_once().await.unwrap(), 0);
    let received = server.received();
    assert_eq!(received.len(), 3);
    let ids: HashSet<String> = received
        .iter()
        .map(|m| header(m, "Message-ID").unwrap())
        .collect();
    assert_eq!(ids.len(), 3);
    assert_eq!(states(&app).await, vec![("sent".to_string(), 4); 3]);
}

#[tokio::test]
async fn a_message_the_server_rejects_for_good_is_failed_at_once_and_goes_out_when_retried() {
    let Some(server) = smtp::start("a_message_the_server_rejects_for_good").await else {
        return;
    };
    let app = app_sending_to(server.port).await;
    let admin = app
        .user(
            "admin@agency.test",
            &[offboarding_desk::auth::roles::Role::Admin],
        )
        .await;
    let id = queue(&app, "rejected").await;
    server.set_mode("reject");
    let w = worker(&app, Arc::new(SystemClock), JobRunner::new());
    assert_eq!(w.run_once().await.unwrap(), 1);
    assert_eq!(
        states(&app).await,
        vec![("failed".to_string(), 1)],
        "a 5xx is not tried again"
    );
    let error: String = sqlx::query_scalar("SELECT last_error FROM outbox_messages")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(error.contains("550"), "{error}");
    assert!(server.received().is_empty());
    // The admin fixes what was wrong and retries it: it goes out, once.
    server.set_mode("accept");
    let res = crate::support::client()
        .post(app.url(&format!("/admin/mail/{id}/retry")))
        .header("cookie", app.session_cookie(admin).await)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(w.run_once().await.unwrap(), 1);
    assert_eq!(server.received().len(), 1);
    assert_eq!(states(&app).await[0].0, "sent");
}

#[tokio::test]
async fn a_server_busy_for_hours_gets_every_try_then_the_message_is_marked_failed() {
    let Some(server) = smtp::start("a_server_busy_for_hours").await else {
        return;
    };
    server.set_mode("tempfail");
    let app = app_sending_to(server.port).await;
    queue(&app, "busy").await;
    let clock = Arc::new(ManualClock::new(Utc::now() + chrono::Duration::seconds(1)));
    let w = worker(&app, clock.clone(), JobRunner::new());
    for attempt in 1..=outbox::MAX_ATTEMPTS {
        assert_eq!(w.run_once().await.unwrap(), 1, "try {attempt}");
        let (state, attempts) = states(&app).await[0].clone();
        assert_eq!(attempts, attempt);
        if attempt < outbox::MAX_ATTEMPTS {
            assert_eq!(state, "queued", "a 4xx is tried again (try {attempt})");
            // Not a second before its backoff (15 s doubling to 5 minutes), then at once.
            let wait = outbox::backoff_seconds(attempt);
            assert_eq!(wait, (15_i64 << (attempt - 1).min(5)).min(300));
            clock.advance(chrono::Duration::seconds(wait - 1));
            assert_eq!(w.run_once().await.unwrap(), 0, "not before its backoff");
            clock.advance(chrono::Duration::seconds(2));
        } else {
            assert_eq!(state, "failed", "given up after the last try");
        }
    }
    clock.advance(chrono::Duration::hours(1));
    assert_eq!(
        w.run_once().await.unwrap(),
        0,
        "a failed message waits for the admin"
    );
    assert!(server.received().is_empty());
}

#[tokio::test]
async fn an_address_the_mailer_cannot_use_is_marked_failed_at_once() {
    let app = app_sending_to(smtp::free_port()).await;
    let mut tx = app.db.begin().await.unwrap();
    outbox::enqueue(
        &mut tx,
        &app.state.config.mail,
        &email("bad address", &["not an address"]),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let w = worker(&app, Arc::new(SystemClock), JobRunner::new());
    w.run_once().await.unwrap();
    assert_eq!(states(&app).await, vec![("failed".to_string(), 1)]);
}

#[tokio::test]
async fn two_workers_draining_one_outbox_send_each_message_exactly_once() {
    let Some(server) = smtp::start("two_workers_draining_one_outbox").await else {
        return;
    };
    let app = app_sending_to(server.port).await;
    for i in 0..40 {
        queue(&app, &format!("message {i}")).await;
    }
    let a = worker(&app, Arc::new(SystemClock), JobRunner::new());
    let b = worker(&app, Arc::new(SystemClock), JobRunner::new());
    async fn drain(w: &Worker) -> usize {
        let mut total = 0;
        loop {
            match w.send_due().await.unwrap() {
                0 => return total,
                n => total += n,
            }
        }
    }
    let (by_a, by_b) = tokio::join!(drain(&a), drain(&b));
    assert_eq!(
        by_a + by_b,
        40,
        "each message handled by exactly one worker"
    );
    let received = server.received();
    assert_eq!(received.len(), 40);
    let ids: HashSet<String> = received
        .iter()
        .map(|m| header(m, "Message-ID").unwrap())
        .collect();
    assert_eq!(ids.len(), 40, "no message twice");
    assert!(
        states(&app)
            .await
            .iter()
            .all(|(s, n)| s == "sent" && *n == 1)
    );
}

#[tokio::test]
async fn a_claim_left_by_a_dead_instance_is_taken_over_and_a_stopping_worker_releases_its_own() {
    let Some(server) = smtp::start("a_claim_left_by_a_dead_instance").await else {
        return;
    };
    let app = app_sending_to(server.port).await;
    let orphan = queue(&app, "claimed by an instance that died").await;
    sqlx::query(
        "UPDATE outbox_messages SET state = 'sending', attempts = 1, claimed_by = 'dead-instance',
                claimed_until = now() - interval '1 second' WHERE id = $1",
    )
    .bind(orphan)
    .execute(&app.db)
    .await
    .unwrap();
    let w = worker(&app, Arc::new(SystemClock), JobRunner::new());
    assert_eq!(
        w.release().await.unwrap(),
        0,
        "another instance's claim is not ours to release"
    );
    assert_eq!(
        w.run_once().await.unwrap(),
        1,
        "the expired lease is taken over"
    );
    assert_eq!(server.received().len(), 1);

    let held = queue(&app, "held when the worker stops").await;
    sqlx::query(
        "UPDATE outbox_messages SET state = 'sending', attempts = 1, claimed_by = $2,
                claimed_until = now() + interval '5 minutes' WHERE id = $1",
    )
    .bind(held)
    .bind(w.instance())
    .execute(&app.db)
    .await
    .unwrap();
    // Told to stop before its first pass: it only releases what it holds.
    let (_stop, stopped) = tokio::sync::watch::channel(true);
    w.run(stopped, Duration::from_millis(10)).await;
    assert_eq!(
        states(&app).await,
        vec![("sent".to_string(), 2), ("queued".to_string(), 0)]
    );
}

/// Records each run in the audit log, so the test can count runs.
struct Record;

impl JobHandler for Record {
    fn run<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        job: &'a Job,
    ) -> Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>> {
        Box::pin(async move {
            audit::record(
                conn,
                &Actor::system(),
                "job.ran",
                "job",
                Some(job.key.clone()),
                serde_json::json!({}),
            )
            .await?;
            Ok(())
        })
    }
}

/// Writes, then fails while its payload says so: the write must not survive the failure.
struct FailsFirst;

impl JobHandler for FailsFirst {
    fn run<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        job: &'a Job,
    ) -> Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>> {
        Box::pin(async move {
            audit::record(
                conn,
                &Actor::system(),
                "job.ran",
                "job",
                Some(job.key.clone()),
                serde_json::json!({}),
            )
            .await?;
            if job.attempts < job.payload["fail_times"].as_i64().unwrap_or(0) as i32 {
                anyhow::bail!("the reminder service was not ready");
            }
            Ok(())
        })
    }
}

fn runner() -> JobRunner {
    JobRunner::new()
        .with("record", Record)
        .with("fails_first", FailsFirst)
}

async fn runs(app: &TestApp, key: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE action = 'job.ran' AND entity_id = $1",
    )
    .bind(key)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_scheduled_job_runs_once_when_due_and_rescheduling_moves_it() {
    let app = TestApp::spawn().await;
    let start = Utc::now();
    let clock = ManualClock::new(start);
    let mut conn = app.db.acquire().await.unwrap();
    let hour = chrono::Duration::hours(1);
    jobs::schedule(
        &mut conn,
        "reminder:42:7d",
        "record",
        start + hour,
        serde_json::json!({}),
    )
    .await
    .unwrap();
    jobs::schedule(
        &mut conn,
        "reminder:42:7d",
        "record",
        start + hour,
        serde_json::json!({}),
    )
    .await
    .unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM scheduled_jobs")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(rows, 1, "scheduling twice keeps one job");

    let r = runner();
    assert_eq!(
        r.run_due(&app.db, clock.now()).await.unwrap(),
        0,
        "not due yet"
    );
    // Moved an hour later before it ran.
    jobs::schedule(
        &mut conn,
        "reminder:42:7d",
        "record",
        start + hour * 2,
        serde_json::json!({}),
    )
    .await
    .unwrap();
    clock.advance(hour + chrono::Duration::minutes(1));
    assert_eq!(
        r.run_due(&app.db, clock.now()).await.unwrap(),
        0,
        "moved, so not due"
    );
    clock.advance(hour);
    assert_eq!(r.run_due(&app.db, clock.now()).await.unwrap(), 1);
    clock.advance(hour * 24);
    assert_eq!(
        r.run_due(&app.db, clock.now()).await.unwrap(),
        0,
        "ran once"
    );
    // A restart (a new runner) does not run it again; scheduling the same time again neither.
    jobs::schedule(
        &mut conn,
        "reminder:42:7d",
        "record",
        start + hour * 2,
        serde_json::json!({}),
    )
    .await
    .unwrap();
    assert_eq!(runner().run_due(&app.db, clock.now()).await.unwrap(), 0);
    assert_eq!(runs(&app, "reminder:42:7d").await, 1);

    // A cancelled job never runs.
    jobs::schedule(
        &mut conn,
        "reminder:43:1d",
        "record",
        clock.now(),
        serde_json::json!({}),
    )
    .await
    .unwrap();
    assert!(jobs::cancel(&mut conn, "reminder:43:1d").await.unwrap());
    assert_eq!(r.run_due(&app.db, clock.now()).await.unwrap(), 0);
    assert_eq!(runs(&app, "reminder:43:1d").await, 0);
}

#[tokio::test]
async fn a_failing_job_is_retried_later_with_its_error_visible_and_its_writes_undone() {
    let app = TestApp::spawn().await;
    let clock = ManualClock::new(Utc::now());
    let mut conn = app.db.acquire().await.unwrap();
    jobs::schedule(
        &mut conn,
        "nudge:1",
        "fails_first",
        clock.now(),
        serde_json::json!({"fail_times": 2}),
    )
    .await
    .unwrap();
    let r = runner();
    assert_eq!(r.run_due(&app.db, clock.now()).await.unwrap(), 1);
    let (state, attempts, error): (String, i32, Option<String>) =
        sqlx::query_as("SELECT state, attempts, last_error FROM scheduled_jobs")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!((state.as_str(), attempts), ("pending", 1));
    assert!(error.unwrap().contains("not ready"));
    assert_eq!(
        runs(&app, "nudge:1").await,
        0,
        "the failed run's writes were rolled back"
    );
    assert_eq!(
        r.run_due(&app.db, clock.now()).await.unwrap(),
        0,
        "waits out its backoff"
    );
    clock.advance(chrono::Duration::seconds(16));
    r.run_due(&app.db, clock.now()).await.unwrap();
    clock.advance(chrono::Duration::seconds(31));
    r.run_due(&app.db, clock.now()).await.unwrap();
    let (state, attempts): (String, i32) =
        sqlx::query_as("SELECT state, attempts FROM scheduled_jobs")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!((state.as_str(), attempts), ("done", 3));
    assert_eq!(runs(&app, "nudge:1").await, 1);
    // An unknown kind fails visibly rather than vanishing.
    jobs::schedule(
        &mut conn,
        "mystery",
        "no_such_kind",
        clock.now(),
        serde_json::json!({}),
    )
    .await
    .unwrap();
    r.run_due(&app.db, clock.now()).await.unwrap();
    let error: String =
        sqlx::query_scalar("SELECT last_error FROM scheduled_jobs WHERE key = 'mystery'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(error.contains("no handler"));
}

#[tokio::test]
async fn two_runners_run_each_due_job_exactly_once() {
    let app = TestApp::spawn().await;
    let now = Utc::now();
    let mut conn = app.db.acquire().await.unwrap();
    for i in 0..30 {
        jobs::schedule(
            &mut conn,
            &format!("job:{i}"),
            "record",
            now,
            serde_json::json!({}),
        )
        .await
        .unwrap();
    }
    let (a, b) = (runner(), runner());
    let (ra, rb) = tokio::join!(a.run_due(&app.db, now), b.run_due(&app.db, now));
    assert_eq!(ra.unwrap() + rb.unwrap(), 30);
    let total: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE action = 'job.ran'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(total, 30);
}

#[tokio::test]
async fn without_a_mail_server_messages_are_written_as_files_and_marked_sent() {
    let dir = std::env::temp_dir().join(format!("od-mail-{}", uuid::Uuid::new_v4().simple()));
    let mail_dir = dir.clone();
    let app = TestApp::spawn_with(move |c| c.mail.dir = mail_dir).await;
    let id = queue(&app, "Written to a file").await;
    worker(&app, Arc::new(SystemClock), JobRunner::new())
        .run_once()
        .await
        .unwrap();
    let file = std::fs::read_to_string(dir.join(format!("{id:08}.eml"))).unwrap();
    assert_eq!(header(&file, "Subject").unwrap(), "Written to a file");
    assert_eq!(states(&app).await, vec![("sent".to_string(), 1)]);
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn an_email_with_nobody_to_send_to_is_not_queued() {
    let app = TestApp::spawn().await;
    let mut tx = app.db.begin().await.unwrap();
    let id = outbox::enqueue(&mut tx, &app.state.config.mail, &email("to nobody", &[" "]))
        .await
        .unwrap();
    assert!(id.is_none());
}
