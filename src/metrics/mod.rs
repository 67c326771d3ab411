//! What the person on call watches: `GET /metrics` in Prometheus' text format, open only to
//! the networks the operator allows (loopback by default) or to the operator's token.
//!
//! Two kinds of figure. Counted by this instance as things happen: answers by route, method
//! and status with their time, requests that found every database connection taken or waited
//! for one in vain, sign-in failures and throttles. Read from the database at each scrape, the
//! same whichever instance answers: the database pool, the outbox's depth and its oldest unsent
//! message, messages given up, scheduled jobs overdue, approval steps stalled past the nudge
//! interval. The README shows alert rules on them.

pub mod allow;

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::auth::access::Access;
use crate::web::error::{AppError, PoolTimedOut};
use crate::web::{AppState, Routes};

pub fn routes(r: Routes) -> Routes {
    // Public to the route guard: the address or the token decides, inside.
    r.get("/metrics", Access::Public, scrape)
}

/// The upper bounds of the answer-time buckets, in seconds: 1 ms to 10 s.
const BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How long the database may take over a scrape's questions before it counts as down.
const DATABASE_WAIT: Duration = Duration::from_secs(2);

/// A job is overdue once it has been due this long without running (the worker looks every
/// two seconds).
const OVERDUE_AFTER_SECONDS: i32 = 60;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Answer {
    route: String,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Route {
    route: String,
    method: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Reason {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

type Seconds = Gauge<f64, AtomicU64>;

/// This instance's figures, registered once; cheap to update from any request.
pub struct Metrics {
    /// What this instance counts and knows itself: always shown.
    registry: Registry,
    /// What the database holds: shown only when this scrape could read it (stale figures
    /// would say all is well while the database is away).
    database: Registry,
    answers: Family<Answer, Counter>,
    durations: Family<Route, Histogram, fn() -> Histogram>,
    pool_saturated: Counter,
    pool_timeouts: Counter,
    sign_in_failures: Family<Reason, Counter>,
    sign_in_throttled: Counter,
    deliveries: Family<Outcome, Counter>,
    database_up: Gauge,
    pool_connections: Family<StateLabel, Gauge>,
    pool_max: Gauge,
    outbox: Family<StateLabel, Gauge>,
    outbox_retrying: Gauge,
    outbox_oldest: Seconds,
    jobs_overdue: Gauge,
    jobs_oldest_overdue: Seconds,
    jobs_retrying: Gauge,
    jobs_failed: Gauge,
    approvals_stalled: Gauge,
}

fn answer_time_histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let m = Metrics {
            registry: Registry::default(),
            database: Registry::default(),
            answers: Family::default(),
            durations: Family::new_with_constructor(answer_time_histogram),
            pool_saturated: Counter::default(),
            pool_timeouts: Counter::default(),
            sign_in_failures: Family::default(),
            sign_in_throttled: Counter::default(),
            deliveries: Family::default(),
            database_up: Gauge::default(),
            pool_connections: Family::default(),
            pool_max: Gauge::default(),
            outbox: Family::default(),
            outbox_retrying: Gauge::default(),
            outbox_oldest: Seconds::default(),
            jobs_overdue: Gauge::default(),
            jobs_oldest_overdue: Seconds::default(),
            jobs_retrying: Gauge::default(),
            jobs_failed: Gauge::default(),
            approvals_stalled: Gauge::default(),
        };
        // Each reason shows from the start, at 0: a rate over a series that appears only with
        // its first failure misses that failure.
        for outcome in ["sent", "failed", "gave_up"] {
            m.deliveries.get_or_create(&Outcome { outcome }).inc_by(0);
        }
        for reason in ["unknown_email", "wrong_password", "disabled"] {
            m.sign_in_failures
                .get_or_create(&Reason { reason })
                .inc_by(0);
        }
        m.registered()
    }

    fn registered(mut self) -> Self {
        let r = &mut self.registry;
        r.register(
            "desk_http_requests",
            "Requests answered by this instance, by route, method and status",
            self.answers.clone(),
        );
        r.register(
            "desk_http_request_duration_seconds",
            "Time to answer, by route and method",
            self.durations.clone(),
        );
        r.register(
            "desk_db_pool_saturated",
            "Requests (but for static files) that arrived while every database connection of \
             this instance was taken: they waited for one",
            self.pool_saturated.clone(),
        );
        r.register(
            "desk_db_pool_timeouts",
            "Requests answered 503 because every connection stayed taken for the pool's whole \
             wait (3 s)",
            self.pool_timeouts.clone(),
        );
        r.register(
            "desk_sign_in_failures",
            "Refused sign-ins, by reason (unknown_email, wrong_password, disabled)",
            self.sign_in_failures.clone(),
        );
        r.register(
            "desk_sign_in_throttled",
            "Sign-ins refused unheard because of too many recent failures",
            self.sign_in_throttled.clone(),
        );
        r.register(
            "desk_mail_deliveries",
            "Emails this instance's worker tried to send, by outcome: sent, failed (to be tried \
             again) or gave_up",
            self.deliveries.clone(),
        );
        r.register(
            "desk_database_up",
            "1 when this instance reached the database and read the figures within two seconds; \
             0 when it could not (database down, or every connection taken), and the figures \
             read from it are then left out",
            self.database_up.clone(),
        );
        r.register(
            "desk_db_pool_connections",
            "This instance's database connections, in use or idle",
            self.pool_connections.clone(),
        );
        r.register(
            "desk_db_pool_max_connections",
            "The most database connections this instance opens",
            self.pool_max.clone(),
        );
        let r = &mut self.database;
        r.register(
            "desk_outbox_messages",
            "Emails not yet sent: queued, being sent, or failed (given up until an admin retries)",
            self.outbox.clone(),
        );
        r.register(
            "desk_outbox_retrying_messages",
            "Queued emails that have failed at least once and wait for their next try",
            self.outbox_retrying.clone(),
        );
        r.register(
            "desk_outbox_oldest_unsent_age_seconds",
            "How long the oldest email queued or being sent has waited (0 when none)",
            self.outbox_oldest.clone(),
        );
        r.register(
            "desk_jobs_overdue",
            "Scheduled jobs (nudges, reminders, overdue notices) due over a minute ago and not run",
            self.jobs_overdue.clone(),
        );
        r.register(
            "desk_jobs_oldest_overdue_age_seconds",
            "How long the oldest overdue job has been due (0 when none)",
            self.jobs_oldest_overdue.clone(),
        );
        r.register(
            "desk_jobs_retrying",
            "Scheduled jobs that failed at least once and wait for their next try",
            self.jobs_retrying.clone(),
        );
        r.register(
            "desk_jobs_failed",
            "Scheduled jobs that failed and were given up",
            self.jobs_failed.clone(),
        );
        r.register(
            "desk_approvals_stalled",
            "Change requests with an approval step flagged or waiting past the nudge interval",
            self.approvals_stalled.clone(),
        );
        self
    }

    /// One answer: its route (as declared, like `/requests/{id}`), method, status and time.
    pub fn answered(&self, route: String, method: &'static str, status: u16, took: Duration) {
        self.durations
            .get_or_create(&Route {
                route: route.clone(),
                method,
            })
            .observe(took.as_secs_f64());
        self.answers
            .get_or_create(&Answer {
                route,
                method,
                status,
            })
            .inc();
    }

    /// A sign-in refused for `reason`.
    pub fn sign_in_failed(&self, reason: &'static str) {
        self.sign_in_failures
            .get_or_create(&Reason { reason })
            .inc();
    }

    /// One email's delivery: `sent`, `failed` (tried again later) or `gave_up`.
    pub fn delivery(&self, outcome: &'static str) {
        self.deliveries.get_or_create(&Outcome { outcome }).inc();
    }

    /// A sign-in refused unheard: too many recent failures.
    pub fn sign_in_throttled(&self) {
        self.sign_in_throttled.inc();
    }

    /// Everything in Prometheus' text format (version 0.0.4); the database's figures only
    /// when `with_database`.
    pub fn render(&self, with_database: bool) -> String {
        let mut out = String::new();
        let mut registries = vec![&self.registry];
        if with_database {
            registries.push(&self.database);
        }
        for r in registries {
            prometheus_client::encoding::prometheus_text::encode(&mut out, r)
                .expect("writing to a String cannot fail");
        }
        out
    }

    /// Reads the figures the database holds; whether it could (else it says the database is
    /// down).
    async fn read_database(&self, state: &AppState) -> bool {
        let pool = &state.db;
        let idle = i64::try_from(pool.num_idle()).unwrap_or(i64::MAX);
        let size = i64::from(pool.size());
        self.pool_connections
            .get_or_create(&StateLabel { state: "in_use" })
            .set((size - idle).max(0));
        self.pool_connections
            .get_or_create(&StateLabel { state: "idle" })
            .set(idle);
        self.pool_max
            .set(i64::from(pool.options().get_max_connections()));
        let read = tokio::time::timeout(DATABASE_WAIT, backlog(state)).await;
        match read {
            Ok(Ok(b)) => {
                self.database_up.set(1);
                for (state, n) in [
                    ("queued", b.queued),
                    ("sending", b.sending),
                    ("failed", b.failed),
                ] {
                    self.outbox.get_or_create(&StateLabel { state }).set(n);
                }
                self.outbox_retrying.set(b.retrying);
                self.outbox_oldest.set(b.oldest_unsent);
                self.jobs_overdue.set(b.jobs_overdue);
                self.jobs_oldest_overdue.set(b.oldest_overdue);
                self.jobs_retrying.set(b.jobs_retrying);
                self.jobs_failed.set(b.jobs_failed);
                self.approvals_stalled.set(b.stalled);
                true
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "metrics: the database did not answer");
                self.database_up.set(0);
                false
            }
            Err(_) => {
                tracing::warn!("metrics: the database took over two seconds to answer");
                self.database_up.set(0);
                false
            }
        }
    }
}

/// What waits, as the database holds it.
#[derive(sqlx::FromRow)]
struct Backlog {
    queued: i64,
    sending: i64,
    failed: i64,
    retrying: i64,
    oldest_unsent: f64,
    jobs_overdue: i64,
    oldest_overdue: f64,
    jobs_retrying: i64,
    jobs_failed: i64,
    #[sqlx(skip)]
    stalled: i64,
}

async fn backlog(state: &AppState) -> sqlx::Result<Backlog> {
    let mut conn = state.db.acquire().await?;
    // One statement for the outbox and the jobs; each part reads only unfinished rows
    // through the indexes on state.
    let mut b: Backlog = sqlx::query_as(
        "SELECT o.queued, o.sending, o.failed, o.retrying, o.oldest_unsent,
                j.jobs_overdue, j.oldest_overdue, j.jobs_retrying, j.jobs_failed
           FROM (SELECT count(*) FILTER (WHERE state = 'queued') AS queued,
                        count(*) FILTER (WHERE state = 'sending') AS sending,
                        count(*) FILTER (WHERE state = 'failed') AS failed,
                        count(*) FILTER (WHERE state = 'queued' AND attempts > 0) AS retrying,
                        COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)
                                 FILTER (WHERE state IN ('queued', 'sending'))), 0)::float8
                          AS oldest_unsent
                   FROM outbox_messages
                  WHERE state IN ('queued', 'sending', 'failed')) o,
                (SELECT count(*) FILTER (WHERE state = 'pending' AND run_at < now() - make_interval(secs => $1)) AS jobs_overdue,
                        COALESCE(EXTRACT(EPOCH FROM now() - min(run_at)
                                 FILTER (WHERE state = 'pending'
                                           AND run_at < now() - make_interval(secs => $1))), 0)::float8
                          AS oldest_overdue,
                        count(*) FILTER (WHERE state = 'pending' AND attempts > 0) AS jobs_retrying,
                        count(*) FILTER (WHERE state = 'failed') AS jobs_failed
                   FROM scheduled_jobs
                  WHERE state IN ('pending', 'failed')) j",
    )
    .bind(OVERDUE_AFTER_SECONDS)
    .fetch_one(&mut *conn)
    .await?;
    // Every step waiting (no cap, unlike the admin's list): flagged, or reached at least the
    // nudge interval ago in calendar days, then counted in business days.
    let days = state.config.approval_nudge_days;
    let waiting: Vec<(i64, chrono::DateTime<chrono::Utc>, bool)> = sqlx::query_as(
        "SELECT change_request_id, reached_at, flagged_at IS NOT NULL
           FROM request_approvals
          WHERE state = 'pending'
            AND (flagged_at IS NOT NULL OR reached_at <= now() - make_interval(days => $1))",
    )
    .bind(i32::try_from(days).unwrap_or(i32::MAX))
    .fetch_all(&mut *conn)
    .await?;
    let zone = state.clock.zone();
    let today = state.clock.today();
    let mut requests: Vec<i64> = waiting
        .into_iter()
        .filter(|(_, reached, flagged)| {
            *flagged
                || crate::approvals::rules::business_days_between(
                    crate::time::day_in(zone, *reached),
                    today,
                ) >= i64::from(days)
        })
        .map(|(request, _, _)| request)
        .collect();
    requests.sort_unstable();
    requests.dedup();
    b.stalled = i64::try_from(requests.len()).unwrap_or(i64::MAX);
    Ok(b)
}

/// `GET /metrics`: the figures, to an allowed address or the token's holder; 403 to others.
async fn scrape(State(state): State<AppState>, req: Request) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let config = &state.config;
    let asker = allow::Asker {
        peer,
        // Behind an HTTPS address there is a proxy (the app speaks plain HTTP), which may pass
        // requests on from loopback without saying so.
        proxied: forwarded(req.headers()) || config.base_url.starts_with("https://"),
        bearer: bearer(req.headers()),
    };
    if let Err(why) = allow::may_read(
        &asker,
        &config.metrics_allow,
        config.metrics_token.as_deref(),
    ) {
        let peer = asker.peer.map(|p| p.to_string()).unwrap_or_default();
        tracing::warn!(%peer, reason = why, "metrics refused");
        return AppError::Refused(
            "The metrics are read from an allowed address or with the operator's token \
             (README, \"Metrics and alerts\")."
                .into(),
        )
        .into_response();
    }
    let with_database = state.metrics.read_database(&state).await;
    (
        [(
            header::CONTENT_TYPE,
            prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
        )],
        state.metrics.render(with_database),
    )
        .into_response()
}

/// Whether a proxy passed the request on (it names an origin the peer address does not show).
fn forwarded(headers: &HeaderMap) -> bool {
    ["forwarded", "x-forwarded-for", "x-real-ip"]
        .iter()
        .any(|h| headers.contains_key(*h))
}

/// The token after `Authorization: Bearer `.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The route a request matched, as declared (`/requests/{id}`); every static file is
/// `/static` and an address no route knows is `unmatched`, so the labels stay few.
pub fn route_of<B>(req: &axum::http::Request<B>) -> &str {
    match req.extensions().get::<MatchedPath>() {
        Some(p) => p.as_str(),
        // The static files' service is nested: no route is matched for them.
        None if req.uri().path().starts_with("/static/") => "/static",
        None => "unmatched",
    }
}

/// A method's label; anything unusual is `other`.
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Counts every answer with its route, status and time; notes a request that arrived with
/// every database connection taken, and one that gave up waiting for a connection.
pub async fn count(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = route_of(&req).to_string();
    let method = method_label(req.method());
    let pool = &state.db;
    let full = || pool.num_idle() == 0 && pool.size() >= pool.options().get_max_connections();
    if route != "/static" && full() {
        state.metrics.pool_saturated.inc();
    }
    let started = std::time::Instant::now();
    let res = next.run(req).await;
    // The pool also times out while it cannot connect at all: that is the database away, not
    // every connection taken.
    if res.extensions().get::<PoolTimedOut>().is_some()
        && pool.size() >= pool.options().get_max_connections()
    {
        state.metrics.pool_timeouts.inc();
    }
    state
        .metrics
        .answered(route, method, res.status().as_u16(), started.elapsed());
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_counted_and_timed_by_route_method_and_status() {
        let m = Metrics::new();
        m.answered(
            "/requests/{id}".into(),
            "GET",
            200,
            Duration::from_millis(3),
        );
        m.answered(
            "/requests/{id}".into(),
            "GET",
            200,
            Duration::from_millis(30),
        );
        m.answered(
            "/requests/{id}".into(),
            "GET",
            404,
            Duration::from_millis(1),
        );
        m.sign_in_failed("wrong_password");
        m.sign_in_throttled();
        let text = m.render(false);
        assert!(
            !text.contains("desk_outbox"),
            "the database's figures only when read"
        );
        assert!(
            text.contains(
                "desk_http_requests_total{route=\"/requests/{id}\",method=\"GET\",status=\"200\"} 2\n"
            ),
            "{text}"
        );
        assert!(text.contains(
            "desk_http_requests_total{route=\"/requests/{id}\",method=\"GET\",status=\"404\"} 1\n"
        ));
        assert!(text.contains(
            "desk_http_request_duration_seconds_count{route=\"/requests/{id}\",method=\"GET\"} 3\n"
        ));
        // 1 ms and 3 ms are under 5 ms; 30 ms is not.
        assert!(text.contains(
            "desk_http_request_duration_seconds_bucket{route=\"/requests/{id}\",method=\"GET\",le=\"0.005\"} 2\n"
        ));
        assert!(text.contains("desk_sign_in_failures_total{reason=\"wrong_password\"} 1\n"));
        assert!(text.contains("desk_sign_in_throttled_total 1\n"));
        assert!(text.contains("# TYPE desk_http_request_duration_seconds histogram\n"));
    }

    #[test]
    fn the_bearer_token_is_read_from_the_authorization_header_only() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(header::AUTHORIZATION, "Bearer abc".parse().unwrap());
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, "bearer  abc ".parse().unwrap());
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer(&h), None);
        assert!(!forwarded(&h));
        h.insert("x-forwarded-for", "203.0.113.9".parse().unwrap());
        assert!(forwarded(&h));
    }

    #[test]
    fn unusual_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::POST), "POST");
        assert_eq!(method_label(&Method::TRACE), "other");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
    }
}
