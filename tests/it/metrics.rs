//! `/metrics` as Prometheus reads it: scraped over HTTP, parsed by the text format's rules,
//! its figures moving after known requests and known database states, and refused to anyone
//! outside the allowed networks without the token.

use std::collections::{BTreeMap, HashMap};

use offboarding_desk::metrics::allow;

use crate::support::fixtures::chain;
use crate::support::{TestApp, client};

/// One sample line: `name{labels} value`.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses Prometheus' text format (0.0.4) strictly: every line a comment, blank, or a sample
/// of a family whose `# TYPE` came before it; names and labels by the format's grammar;
/// values numbers. Panics with the line on anything else.
fn parse(text: &str) -> Vec<Sample> {
    let mut types: HashMap<String, String> = HashMap::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix("# ") {
            let mut parts = comment.splitn(3, ' ');
            let keyword = parts.next().unwrap();
            let name = parts
                .next()
                .unwrap_or_else(|| panic!("bare comment: {line}"));
            assert!(is_metric_name(name), "bad name in: {line}");
            let rest = parts.next().unwrap_or("");
            match keyword {
                "HELP" => assert!(!rest.is_empty(), "empty help: {line}"),
                "TYPE" => {
                    assert!(
                        ["counter", "gauge", "histogram", "summary", "untyped"].contains(&rest),
                        "unknown type: {line}"
                    );
                    assert!(types.insert(name.to_string(), rest.to_string()).is_none());
                }
                _ => {}
            }
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("no value: {line}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value: {line}")),
        };
        let (name, labels) = match series.split_once('{') {
            None => (series, BTreeMap::new()),
            Some((name, rest)) => {
                let body = rest
                    .strip_suffix('}')
                    .unwrap_or_else(|| panic!("unclosed labels: {line}"));
                (name, parse_labels(body, line))
            }
        };
        assert!(is_metric_name(name), "bad name in: {line}");
        let family = types
            .keys()
            .find(|f| {
                name == f.as_str()
                    || (types[*f] == "histogram"
                        && ["_bucket", "_sum", "_count"]
                            .iter()
                            .any(|s| name == format!("{f}{s}")))
            })
            .unwrap_or_else(|| panic!("a sample before its TYPE: {line}"));
        if name.ends_with("_bucket") && types[family] == "histogram" {
            assert!(labels.contains_key("le"), "a bucket without le: {line}");
        }
        samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    samples
}

fn parse_labels(body: &str, line: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut chars = body.chars().peekable();
    while chars.peek().is_some() {
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        assert!(
            !key.is_empty()
                && key
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "bad label name {key:?} in: {line}"
        );
        assert_eq!(chars.next(), Some('"'), "unquoted label value in: {line}");
        let mut value = String::new();
        loop {
            match chars.next() {
                Some('\\') => match chars.next() {
                    Some('\\') => value.push('\\'),
                    Some('"') => value.push('"'),
                    Some('n') => value.push('\n'),
                    other => panic!("bad escape {other:?} in: {line}"),
                },
                Some('"') => break,
                Some(c) => value.push(c),
                None => panic!("unterminated label value in: {line}"),
            }
        }
        assert!(
            labels.insert(key, value).is_none(),
            "label twice in: {line}"
        );
        match chars.next() {
            Some(',') | None => {}
            other => panic!("{other:?} after a label in: {line}"),
        }
    }
    labels
}

fn is_metric_name(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// The value of the sample `name` whose labels are exactly `labels`.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let want: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    samples
        .iter()
        .find(|s| s.name == name && s.labels == want)
        .map(|s| s.value)
}

/// Scrapes `app`'s metrics from loopback; asserts the answer is the text format.
async fn scrape(app: &TestApp) -> Vec<Sample> {
    let res = client().get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    parse(&res.text().await.unwrap())
}

fn requests(samples: &[Sample], route: &str, method: &str, status: &str) -> f64 {
    value(
        samples,
        "desk_http_requests_total",
        &[("route", route), ("method", method), ("status", status)],
    )
    .unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_parse_as_prometheus_text_and_move_with_known_requests() {
    let world = chain().await;
    let app = &world.app;
    let before = scrape(app).await;
    assert_eq!(value(&before, "desk_database_up", &[]), Some(1.0));
    assert_eq!(
        value(&before, "desk_db_pool_max_connections", &[]),
        Some(8.0)
    );
    for reason in ["unknown_email", "wrong_password", "disabled"] {
        assert_eq!(
            value(
                &before,
                "desk_sign_in_failures_total",
                &[("reason", reason)]
            ),
            Some(0.0),
            "{reason} shows from the start"
        );
    }

    // Known requests: three health checks, an address no route knows, a failed sign-in, a
    // request filed and submitted (its emails queued, its first step reached).
    for _ in 0..3 {
        let res = client().get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(res.status(), 200);
    }
    let res = client().get(app.url("/no/such/page")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    let res = app
        .post(
            "",
            "/login",
            &[("email", "nobody@agency.test"), ("password", "x")],
        )
        .await;
    assert_eq!(res.status(), 401);
    // Five wrong passwords for one account, then two tries refused unheard.
    for _ in 0..7 {
        let res = app
            .post(
                "",
                "/login",
                &[("email", "am@agency.test"), ("password", "wrong")],
            )
            .await;
        assert_eq!(res.status(), 401);
    }
    let res = client()
        .get(app.url("/static/app.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let id = world.file(&[]).await;
    world.submit(&world.am_cookie, id).await;

    // Known states in the database: the oldest queued email an hour old and failing, one
    // given up, the first step waiting ten days, a job due ten minutes ago and not run.
    let emails: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM outbox_messages WHERE state = 'queued' ORDER BY id")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert!(!emails.is_empty(), "submitting queues an email");
    sqlx::query(
        "UPDATE outbox_messages SET attempts = 2, last_error = 'refused',
                created_at = now() - interval '1 hour' WHERE id = $1",
    )
    .bind(emails[0])
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO outbox_messages (kind, to_addrs, subject, body_text, body_html, message_id,
                                      state, attempts, next_attempt_at, created_at)
         VALUES ('test', '{someone@agency.test}', 'Test', 'Test', '<p>Test</p>',
                 '<metrics-test@agency.test>', 'failed', 8, now(), now())",
    )
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE request_approvals SET reached_at = now() - interval '10 days'
          WHERE change_request_id = $1 AND state = 'pending'",
    )
    .bind(id)
    .execute(&app.db)
    .await
    .unwrap();
    let mut conn = app.db.acquire().await.unwrap();
    offboarding_desk::notifications::jobs::schedule(
        &mut conn,
        "metrics-test-overdue",
        offboarding_desk::approvals::nudges::KIND,
        chrono::Utc::now() - chrono::Duration::minutes(10),
        serde_json::json!({}),
    )
    .await
    .unwrap();
    drop(conn);

    let after = scrape(app).await;
    assert_eq!(
        requests(&after, "/healthz", "GET", "200") - requests(&before, "/healthz", "GET", "200"),
        3.0
    );
    let timed = |s: &[Sample]| {
        value(
            s,
            "desk_http_request_duration_seconds_count",
            &[("route", "/healthz"), ("method", "GET")],
        )
        .unwrap_or(0.0)
    };
    assert_eq!(timed(&after) - timed(&before), 3.0);
    assert_eq!(
        value(
            &after,
            "desk_http_request_duration_seconds_bucket",
            &[("route", "/healthz"), ("method", "GET"), ("le", "+Inf")]
        ),
        Some(timed(&after)),
        "the +Inf bucket holds every answer"
    );
    assert_eq!(requests(&after, "unmatched", "GET", "404"), 1.0);
    assert_eq!(requests(&after, "/static", "GET", "200"), 1.0);
    assert_eq!(requests(&after, "/login", "POST", "401"), 8.0);
    assert_eq!(
        requests(&after, "/requests/{id}/submit", "POST", "303"),
        1.0
    );
    // The first scrape is counted; the one being answered is not yet.
    assert_eq!(requests(&after, "/metrics", "GET", "200"), 1.0);
    assert_eq!(
        value(
            &after,
            "desk_sign_in_failures_total",
            &[("reason", "unknown_email")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &after,
            "desk_sign_in_failures_total",
            &[("reason", "wrong_password")]
        ),
        Some(5.0)
    );
    assert_eq!(
        value(&after, "desk_sign_in_throttled_total", &[]),
        Some(2.0)
    );
    // The pool: its connections in use and idle (a connection just given back may still
    // count as in use for a moment), within its maximum; nobody waited.
    let pool = |state| value(&after, "desk_db_pool_connections", &[("state", state)]).unwrap();
    let open = pool("in_use") + pool("idle");
    assert!(
        (1.0..=8.0).contains(&open),
        "{} in use, {} idle",
        pool("in_use"),
        pool("idle")
    );
    assert_eq!(
        value(&after, "desk_db_pool_saturated_total", &[]),
        Some(0.0)
    );
    assert_eq!(value(&after, "desk_db_pool_timeouts_total", &[]), Some(0.0));

    let queued: i64 =
        sqlx::query_scalar("SELECT count(*) FROM outbox_messages WHERE state = 'queued'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(
        value(&after, "desk_outbox_messages", &[("state", "queued")]),
        Some(queued as f64)
    );
    assert_eq!(
        value(&after, "desk_outbox_messages", &[("state", "failed")]),
        Some(1.0)
    );
    assert_eq!(
        value(&after, "desk_outbox_retrying_messages", &[]),
        Some(1.0)
    );
    let oldest = value(&after, "desk_outbox_oldest_unsent_age_seconds", &[]).unwrap();
    assert!((3600.0..3700.0).contains(&oldest), "{oldest}");
    assert_eq!(value(&after, "desk_jobs_overdue", &[]), Some(1.0));
    assert_eq!(value(&after, "desk_jobs_retrying", &[]), Some(0.0));
    let overdue = value(&after, "desk_jobs_oldest_overdue_age_seconds", &[]).unwrap();
    assert!((600.0..700.0).contains(&overdue), "{overdue}");
    assert_eq!(value(&after, "desk_approvals_stalled", &[]), Some(1.0));
    assert_eq!(value(&before, "desk_approvals_stalled", &[]), Some(0.0));

    // Every histogram's buckets only grow, up to its count.
    for s in after
        .iter()
        .filter(|s| s.name == "desk_http_request_duration_seconds_count")
    {
        let mut buckets: Vec<(f64, f64)> = after
            .iter()
            .filter(|b| {
                b.name == "desk_http_request_duration_seconds_bucket"
                    && b.labels["route"] == s.labels["route"]
                    && b.labels["method"] == s.labels["method"]
            })
            .map(|b| {
                let le = match b.labels["le"].as_str() {
                    "+Inf" => f64::INFINITY,
                    le => le.parse().unwrap(),
                };
                (le, b.value)
            })
            .collect();
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert!(buckets.windows(2).all(|w| w[0].1 <= w[1].1), "{buckets:?}");
        assert_eq!(buckets.last().map(|b| b.1), Some(s.value));
    }
}

#[tokio::test]
async fn metrics_are_refused_outside_the_allowed_networks_without_the_token() {
    const TOKEN: &str = "metrics-test-token-0123456789";
    let app = TestApp::spawn_with(|c| {
        c.metrics_allow = allow::parse_list("10.0.0.0/8").unwrap();
        c.metrics_token = Some(TOKEN.into());
    })
    .await;
    let get = |bearer: Option<&'static str>| {
        let mut req = client().get(app.url("/metrics"));
        if let Some(b) = bearer {
            req = req.header("authorization", format!("Bearer {b}"));
        }
        req.send()
    };
    // Loopback is not in 10.0.0.0/8: refused without the token, or with a wrong one.
    for bearer in [None, Some("wrong-token-wrong-token"), Some("")] {
        let res = get(bearer).await.unwrap();
        assert_eq!(res.status(), 403, "{bearer:?}");
        let body = res.text().await.unwrap();
        assert!(!body.contains("desk_"), "nothing leaks: {body}");
    }
    let res = get(Some(TOKEN)).await.unwrap();
    assert_eq!(res.status(), 200);
    let samples = parse(&res.text().await.unwrap());
    assert_eq!(requests(&samples, "/metrics", "GET", "403"), 3.0);

    // The default (loopback) opens to this machine, but not to a request a proxy passed on.
    let app = TestApp::spawn().await;
    let res = client().get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    for header in ["x-forwarded-for", "forwarded", "x-real-ip"] {
        let res = client()
            .get(app.url("/metrics"))
            .header(header, "203.0.113.9")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{header}");
    }
    // Published at an HTTPS address (so behind a proxy): loopback needs the token too.
    let app = TestApp::spawn_with(|c| {
        c.base_url = "https://desk.agency.test".into();
        c.metrics_token = Some(TOKEN.into());
    })
    .await;
    let res = client().get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 403);
    let res = client()
        .get(app.url("/metrics"))
        .header("authorization", format!("Bearer {TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // With METRICS_ALLOW=none and no token, nobody.
    let app = TestApp::spawn_with(|c| c.metrics_allow = Vec::new()).await;
    let res = client().get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn without_its_database_the_metrics_still_answer_and_say_so() {
    let app = TestApp::spawn().await;
    assert_eq!(
        value(&scrape(&app).await, "desk_database_up", &[]),
        Some(1.0)
    );
    app.db.close().await;
    // The pages fail fast once one found the database gone; the metrics still answer.
    for _ in 0..2 {
        let res = client().get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(res.status(), 503);
    }
    let samples = scrape(&app).await;
    assert_eq!(value(&samples, "desk_database_up", &[]), Some(0.0));
    assert!(
        samples.iter().all(|s| !s.name.starts_with("desk_outbox")
            && !s.name.starts_with("desk_jobs")
            && !s.name.starts_with("desk_approvals")),
        "figures it could not read are left out, not shown stale"
    );
    assert_eq!(requests(&samples, "/healthz", "GET", "503"), 2.0);
}

#[tokio::test]
async fn a_request_id_sent_in_is_replaced_by_the_apps_own() {
    let app = TestApp::spawn().await;
    let res = client()
        .get(app.url("/nowhere"))
        .header("x-request-id", "abc user_id=1 status=200")
        .send()
        .await
        .unwrap();
    let id = res.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_ne!(id, "abc user_id=1 status=200");
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    assert!(res.text().await.unwrap().contains(&id));
}

#[tokio::test]
async fn each_delivery_is_counted_by_its_outcome() {
    let world = chain().await;
    let app = &world.app;
    let id = world.file(&[]).await;
    world.submit(&world.am_cookie, id).await;
    let sent = app.deliver_mail().await;
    assert!(sent > 0, "submitting queued an email");
    let samples = scrape(app).await;
    let deliveries = |outcome| {
        value(
            &samples,
            "desk_mail_deliveries_total",
            &[("outcome", outcome)],
        )
    };
    assert_eq!(deliveries("sent"), Some(sent as f64));
    assert_eq!(deliveries("failed"), Some(0.0));
    assert_eq!(deliveries("gave_up"), Some(0.0));
}
