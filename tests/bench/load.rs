//! The load benchmark: `cargo bench --bench load` (see README, "Performance").
//!
//! Builds in release mode (Cargo's bench profile), fills a database of its own with realistic
//! data (tests/bench/seed.sql, fixed seed), starts the app's release binary as a separate
//! process, signs in one person per role, and loads each measured page and action from a
//! separate process on 127.0.0.1, twice: flat out with 16 connections (`wrk`: requests per
//! second, p50, p99, errors) and at a fixed 500 requests per second (p99 and errors at that
//! rate). A page's fixed rate is held by `oha -q 500 --latency-correction`, an open loop that
//! counts a stall against every request it delays (coordinated omission corrected); the state
//! changes, which need a path of their own per request, are paced by `wrk`. Both are installed
//! if missing (`apt-get install wrk`, `cargo install oha --locked`, a few minutes once). The
//! yardstick (tests/bench/yardstick.rs) is measured the same way in the same run, and every
//! figure is also printed as a ratio to it. It prints; it never fails on timing.
//!
//! `BENCH_SECONDS` (default 5) sets each measurement's length; `BENCH_ONLY=reports` measures
//! only the rows whose name contains "reports" (with the yardsticks, which every ratio needs).

mod common;
mod yardstick;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use sqlx::PgPool;

const DATABASE: &str = "offboarding_bench";
const CONNECTIONS: u32 = 16;
const PACED_RATE: u32 = 500;
const PACED_CONNECTIONS: u32 = 50;

/// What one `wrk` run measured.
#[derive(Clone, Copy, Default)]
struct Stats {
    requests: u64,
    seconds: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
    /// CPU time per request of the process that answered (the app, or this process for the
    /// yardstick) and of every PostgreSQL process, in microseconds.
    server_cpu_us: f64,
    db_cpu_us: f64,
    /// The share of the machine's CPU time the hypervisor gave to others during the run
    /// (`steal` in `/proc/stat`), in per cent: a virtual machine's cores are not all its own.
    stolen_pct: f64,
}

impl Stats {
    /// Something was measured and nothing failed: only then can a target be met.
    fn clean(&self) -> bool {
        self.requests > 0 && self.errors == 0
    }

    fn rps(&self) -> f64 {
        self.requests as f64 / self.seconds.max(1e-9)
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// A page; compared with the fortunes yardstick, target 0.5×.
    Page,
    /// A state change; compared with the one-row update, target 0.5×.
    Transition,
    /// Sign-in: argon2 by design, shown against the fortunes yardstick for scale only.
    SignIn,
    YardstickPage,
    YardstickUpdate,
}

struct Target {
    name: String,
    who: String,
    kind: Kind,
    base: String,
    /// The process that answers, whose CPU time is counted.
    pid: u32,
    method: &'static str,
    /// Paths taken in turn, each thread its own share, so no two requests share one.
    paths: Vec<String>,
    cookie: Option<String>,
    body: Option<String>,
    /// The paced rate, requests per second.
    rate: u32,
}

struct Row {
    target: Target,
    flat: Stats,
    paced: Stats,
}

fn main() -> anyhow::Result<()> {
    if std::env::args().any(|a| a == "--list") {
        // `cargo test --benches` would call us with --list: nothing to list.
        return Ok(());
    }
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

fn seconds() -> u64 {
    std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|s| *s > 0)
        .unwrap_or(5)
}

async fn run() -> anyhow::Result<()> {
    let wrk = ensure_wrk()?;
    let oha = ensure_oha()?;
    let secs = seconds();

    println!("== data: a database of its own ({DATABASE}), filled with a fixed seed");
    let admin = common::admin_url()?;
    let filled = Instant::now();
    let (url, db) = common::seeded(&admin, DATABASE, 10_000).await?;
    let counts: (i64, i64, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM clients), (SELECT count(*) FROM change_requests),
                (SELECT count(*) FROM audit_events), (SELECT count(*) FROM request_approvals),
                (SELECT count(*) FROM checklist_items), (SELECT count(*) FROM planner_entries)",
    )
    .fetch_one(&db)
    .await?;
    println!(
        "   {} clients, {} change requests, {} audit events, {} approval steps, {} checklist items, {} planner entries in {:.1} s",
        counts.0,
        counts.1,
        counts.2,
        counts.3,
        counts.4,
        counts.5,
        filled.elapsed().as_secs_f64()
    );

    println!("== the yardstick and the app (release build, separate process)");
    let yard = yardstick::start(url.clone());
    let yard_base = format!("http://{yard}");
    let mut app = common::App::start(&url, &[]).await?;
    println!(
        "   app ready {} ms after start (migrations checked)",
        app.startup.as_millis()
    );
    let base = app.base.clone();
    let app_pid = app.pid();

    // What the measured pages show.
    let long_request: i64 = sqlx::query_scalar(
        "SELECT entity_id::bigint FROM audit_events WHERE entity_type = 'change_request'
          GROUP BY entity_id ORDER BY count(*) DESC LIMIT 1",
    )
    .fetch_one(&db)
    .await?;
    let timeline: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE entity_type = 'change_request' AND entity_id = $1",
    )
    .bind(long_request.to_string())
    .fetch_one(&db)
    .await?;
    let (busy_month, busy_entries): (String, i64) = sqlx::query_as(
        "SELECT to_char(effective_date, 'YYYY-MM'), count(*) FROM planner_entries
          WHERE removed_at IS NULL GROUP BY 1 ORDER BY 2 DESC LIMIT 1",
    )
    .fetch_one(&db)
    .await?;
    let search_hits: i64 =
        sqlx::query_scalar("SELECT count(*) FROM clients WHERE lower(name) LIKE '%ford%'")
            .fetch_one(&db)
            .await?;

    let mut targets = vec![
        Target {
            name: "yardstick: fortunes (query, sort, render)".into(),
            who: "-".into(),
            kind: Kind::YardstickPage,
            base: yard_base.clone(),
            pid: std::process::id(),
            method: "GET",
            paths: vec!["/fortunes".into()],
            cookie: None,
            body: None,
            rate: PACED_RATE,
        },
        Target {
            name: "yardstick: one-row update".into(),
            who: "-".into(),
            kind: Kind::YardstickUpdate,
            base: yard_base.clone(),
            pid: std::process::id(),
            method: "POST",
            paths: vec!["/update".into()],
            cookie: None,
            body: None,
            rate: PACED_RATE,
        },
    ];
    let page = |name: String, who: &str, path: String, cookie: &str| Target {
        name,
        who: who.to_string(),
        kind: Kind::Page,
        base: base.clone(),
        pid: app_pid,
        method: "GET",
        paths: vec![path],
        cookie: Some(cookie.to_string()),
        body: None,
        rate: PACED_RATE,
    };
    for (role, email) in [
        ("account manager", "am1"),
        ("retention", "retention1"),
        ("team lead", "teamlead1"),
        ("department manager", "dm1"),
        ("approver", "approver1"),
        ("finance", "finance1"),
        ("accounting", "accounting1"),
        ("ops lead", "ops1"),
        ("leadership", "leadership1"),
        ("SEM specialist", "sem1"),
        ("contractor", "contractor1"),
        ("admin", "admin1"),
    ] {
        let cookie = common::sign_in(&base, &format!("{email}@bench.test")).await?;
        targets.push(page(format!("queue: {role}"), email, "/".into(), &cookie));
    }
    let approver = common::sign_in(&base, "approver1@bench.test").await?;
    let ops = common::sign_in(&base, "ops1@bench.test").await?;
    let am = common::sign_in(&base, "am1@bench.test").await?;
    targets.push(page(
        format!("request page ({timeline}-entry timeline, latest 100 shown)"),
        "approver1",
        format!("/requests/{long_request}"),
        &approver,
    ));
    targets.push(page(
        format!("planner, busiest month ({busy_entries} entries)"),
        "ops1",
        format!("/planner?month={busy_month}"),
        &ops,
    ));
    targets.push(page(
        "reports, last 12 months (17 statements computed once, 5 when kept)".into(),
        "ops1",
        "/reports".into(),
        &ops,
    ));
    targets.push(page(
        "offboarding sheet".into(),
        "ops1",
        "/offboarding".into(),
        &ops,
    ));
    targets.push(page(
        format!("client search \"ford\" ({search_hits} hits)"),
        "am1",
        "/clients?q=ford".into(),
        &am,
    ));
    targets.push(Target {
        name: "sign-in (argon2id, 19 MiB)".into(),
        who: "am2".into(),
        kind: Kind::SignIn,
        base: base.clone(),
        pid: app_pid,
        method: "POST",
        paths: vec!["/login".into()],
        cookie: None,
        body: Some(format!(
            "email=am2%40bench.test&password={}",
            common::PASSWORD
        )),
        rate: 20,
    });
    let approve_index = targets.len();
    targets.push(Target {
        name: "approve (state, audit, outbox)".into(),
        who: "approver1".into(),
        kind: Kind::Transition,
        base: base.clone(),
        pid: app_pid,
        method: "POST",
        paths: Vec::new(),
        cookie: Some(approver.clone()),
        body: Some("comment=".into()),
        rate: PACED_RATE,
    });

    println!(
        "== load: wrk, {secs} s flat out with {CONNECTIONS} connections, then {secs} s at {PACED_RATE}/s (pages: oha, open loop)"
    );
    let scripts = std::env::temp_dir().join(format!("offboarding-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scripts)?;
    let approved_before = approvals(&db).await?;
    let approved_before_id: i64 =
        sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM audit_events")
            .fetch_one(&db)
            .await?;
    // Counted, not timed: the seed dates some decisions of requests filed "today" a day ahead,
    // so "decided since the run started" would count them too.
    let steps_before: i64 =
        sqlx::query_scalar("SELECT count(*) FROM request_approvals WHERE state = 'approved'")
            .fetch_one(&db)
            .await?;
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let mut rows = Vec::new();
    for (i, mut target) in targets.into_iter().enumerate() {
        let yardstick = matches!(target.kind, Kind::YardstickPage | Kind::YardstickUpdate);
        if !yardstick && !target.name.contains(only.as_str()) {
            continue;
        }
        // Approve uses up the steps waiting on approver1 (3,720 in the generated data): its
        // flat-out run is kept short and its paced run to what is left, so that both measure
        // approvals, not the refusals of steps already decided.
        let mut flat_secs = secs;
        if i == approve_index {
            target.paths = pending_steps(&db).await?;
            flat_secs = secs.min(2);
        }
        let before = Cpu::now(target.pid);
        let machine = Stolen::now();
        let approvals_before = approvals(&db).await?;
        let mut flat = run_wrk(&wrk, &scripts, &target, Mode::Flat, flat_secs)?;
        Cpu::now(target.pid).since(before).per_request(&mut flat);
        flat.stolen_pct = Stolen::now().since(machine);
        if i == approve_index {
            // A 303 that changed nothing (a step already decided) is no throughput.
            refusals_are_errors(&mut flat, approvals(&db).await? - approvals_before);
            target.paths = pending_steps(&db).await?;
        }
        let mut paced_secs = secs;
        if i == approve_index {
            let left = target.paths.len() as u64;
            paced_secs = secs.min(left * 9 / 10 / u64::from(target.rate)).max(1);
            println!(
                "   approve: {flat_secs} s flat out, then {paced_secs} s paced over the {left} steps left"
            );
        }
        let approvals_before = approvals(&db).await?;
        let machine = Stolen::now();
        let mut paced = match target.kind {
            Kind::Page | Kind::YardstickPage => run_oha(&oha, &target, secs)?,
            _ => run_wrk(&wrk, &scripts, &target, Mode::Paced, paced_secs)?,
        };
        paced.stolen_pct = Stolen::now().since(machine);
        if i == approve_index {
            refusals_are_errors(&mut paced, approvals(&db).await? - approvals_before);
        }
        println!(
            "   {:<44} {:>8.0} req/s   p99 {:>7.1} ms at {}/s",
            target.name,
            flat.rps(),
            paced.p99_ms,
            target.rate
        );
        rows.push(Row {
            target,
            flat,
            paced,
        });
    }
    let approved = approvals(&db).await? - approved_before;
    let (rss, peak) = app.memory_mib();
    let stop = app.terminate(Duration::from_secs(15)).await;
    let _ = std::fs::remove_dir_all(&scripts);

    print_table(&rows, approved, rss, peak, app.startup, stop);
    approved_once(&db, approved_before_id, steps_before).await
}

/// Answers beyond the approvals made were refusals ("Nothing changed"): errors, not throughput.
fn refusals_are_errors(stats: &mut Stats, approvals_made: i64) {
    let answered = stats.requests.saturating_sub(stats.errors);
    stats.errors += answered.saturating_sub(approvals_made.max(0) as u64);
}

/// Fails the run unless every approval made under load is one step approved once, with its
/// record: as many steps approved during the run as approval records, no step with two, no
/// two steps of one round by one person.
async fn approved_once(db: &PgPool, audit_before: i64, steps_before: i64) -> anyhow::Result<()> {
    let (events, twice, steps, doubled): (i64, i64, i64, i64) = sqlx::query_as(
        "WITH e AS (SELECT entity_id, details->>'step' AS step, details->>'round' AS round
                      FROM audit_events
                     WHERE action = 'change_request.step_approved' AND id > $1)
         SELECT (SELECT count(*) FROM e),
                (SELECT count(*) FROM (SELECT 1 FROM e GROUP BY entity_id, step, round
                                        HAVING count(*) > 1) x),
                (SELECT count(*) FROM request_approvals WHERE state = 'approved') - $2,
                (SELECT count(*) FROM (SELECT 1 FROM request_approvals
                                        WHERE decided_by IS NOT NULL
                                        GROUP BY change_request_id, round, decided_by
                                        HAVING count(*) > 1) y)",
    )
    .bind(audit_before)
    .bind(steps_before)
    .fetch_one(db)
    .await?;
    println!(
        "checked in the database: {events} approval records, {steps} steps approved, {twice} steps with two records, {doubled} rounds with one person on two steps"
    );
    anyhow::ensure!(
        events == steps && twice == 0 && doubled == 0,
        "the approvals made under load are not each one step approved once"
    );
    Ok(())
}

async fn approvals(db: &PgPool) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE action = 'change_request.step_approved'",
    )
    .fetch_one(db)
    .await?)
}

/// The first approver's pending steps, each to be approved by one request.
async fn pending_steps(db: &PgPool) -> anyhow::Result<Vec<String>> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT a.id FROM request_approvals a
           JOIN users u ON u.id = a.approver_user_id AND u.email = 'approver1@bench.test'
          WHERE a.state = 'pending' ORDER BY a.id",
    )
    .fetch_all(db)
    .await?;
    Ok(ids
        .into_iter()
        .map(|id| format!("/approvals/{id}/approve"))
        .collect())
}

/// CPU seconds used so far, from `/proc`: by one process, and by all PostgreSQL processes
/// (with the backends that have exited, which their postmaster counts as its children's).
#[derive(Clone, Copy)]
struct Cpu {
    server: f64,
    db: f64,
}

impl Cpu {
    fn now(server: u32) -> Cpu {
        let ticks = clock_ticks();
        let mut db = 0u64;
        if let Ok(dir) = std::fs::read_dir("/proc") {
            for entry in dir.flatten() {
                let path = entry.path();
                let is_postgres = std::fs::read_to_string(path.join("comm"))
                    .is_ok_and(|c| c.trim() == "postgres");
                if is_postgres {
                    db += proc_ticks(&path, true);
                }
            }
        }
        Cpu {
            server: proc_ticks(Path::new(&format!("/proc/{server}")), false) as f64 / ticks,
            db: db as f64 / ticks,
        }
    }

    fn since(self, before: Cpu) -> Cpu {
        Cpu {
            server: self.server - before.server,
            db: self.db - before.db,
        }
    }

    fn per_request(self, stats: &mut Stats) {
        let n = stats.requests.max(1) as f64;
        stats.server_cpu_us = self.server * 1e6 / n;
        stats.db_cpu_us = self.db * 1e6 / n;
    }
}

/// The machine's CPU time so far, in clock ticks of all its cores: how much of it the
/// hypervisor ran something else on (`steal`), and all of it.
struct Stolen {
    steal: u64,
    total: u64,
}

impl Stolen {
    fn now() -> Stolen {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        // "cpu  user nice system idle iowait irq softirq steal guest guest_nice": guest time
        // is already counted in user and nice.
        let fields: Vec<u64> = stat
            .lines()
            .next()
            .unwrap_or("")
            .split_whitespace()
            .skip(1)
            .take(8)
            .map(|f| f.parse().unwrap_or(0))
            .collect();
        Stolen {
            steal: fields.get(7).copied().unwrap_or(0),
            total: fields.iter().sum(),
        }
    }

    /// Per cent of the machine's time stolen since `before`.
    fn since(self, before: Stolen) -> f64 {
        let total = self.total.saturating_sub(before.total).max(1) as f64;
        self.steal.saturating_sub(before.steal) as f64 * 100.0 / total
    }
}

/// utime + stime of a process (and of its reaped children when `children`), in clock ticks.
fn proc_ticks(dir: &Path, children: bool) -> u64 {
    let stat = std::fs::read_to_string(dir.join("stat")).unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces: utime
    // and stime are the 14th and 15th of the line, cutime and cstime the 16th and 17th.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(4)
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let take = if children { 4 } else { 2 };
    fields.iter().take(take).sum()
}

fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Flat,
    Paced,
}

fn run_wrk(
    wrk: &Path,
    dir: &Path,
    target: &Target,
    mode: Mode,
    secs: u64,
) -> anyhow::Result<Stats> {
    if target.paths.is_empty() {
        return Ok(Stats::default());
    }
    let threads = 2;
    let (connections, pace_ms) = match mode {
        Mode::Flat => (CONNECTIONS, 0.0),
        Mode::Paced => {
            let c = PACED_CONNECTIONS.min(target.rate.max(1));
            (c, f64::from(c) * 1000.0 / f64::from(target.rate))
        }
    };
    let script = dir.join("target.lua");
    std::fs::write(&script, lua_script(target, threads, pace_ms))?;
    let out = Command::new(wrk)
        .args([
            &format!("-t{threads}"),
            &format!("-c{connections}"),
            &format!("-d{secs}s"),
            "--timeout",
            "5s",
            "-s",
        ])
        .arg(&script)
        .arg(&target.base)
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("BENCH "))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "wrk printed no result for {}: {}{}",
                target.name,
                stdout,
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
    let field = |name: &str| -> f64 {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    Ok(Stats {
        requests: field("requests") as u64,
        seconds: field("duration_us") / 1e6,
        p50_ms: field("p50_us") / 1000.0,
        p99_ms: field("p99_us") / 1000.0,
        errors: field("errors") as u64,
        ..Stats::default()
    })
}

/// A page at the target's fixed rate, held by `oha` with latency correction: each request's
/// time counts from when it was due, so a stall counts against every request behind it.
fn run_oha(oha: &Path, target: &Target, secs: u64) -> anyhow::Result<Stats> {
    let Some(path) = target.paths.first() else {
        return Ok(Stats::default());
    };
    let mut cmd = Command::new(oha);
    cmd.args([
        "--no-tui",
        "--output-format",
        "json",
        "--latency-correction",
    ])
    .args(["-q", &target.rate.to_string()])
    .args(["-c", &PACED_CONNECTIONS.to_string()])
    .args(["-z", &format!("{secs}s")])
    .args(["-t", "5s", "-m", target.method]);
    if let Some(cookie) = &target.cookie {
        cmd.args(["-H", &format!("cookie: {cookie}")]);
    }
    let out = cmd.arg(format!("{}{path}", target.base)).output()?;
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| {
        anyhow::anyhow!(
            "oha printed no result for {} ({e}): {}",
            target.name,
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    let number = |v: &serde_json::Value| v.as_f64().unwrap_or(0.0);
    let expected = expected_status(target.kind).to_string();
    let mut requests = 0u64;
    let mut errors = 0u64;
    if let Some(codes) = report["statusCodeDistribution"].as_object() {
        for (code, n) in codes {
            let n = n.as_u64().unwrap_or(0);
            requests += n;
            if *code != expected {
                errors += n;
            }
        }
    }
    if let Some(failed) = report["errorDistribution"].as_object() {
        // Requests still in flight when the time was up are not failures.
        for (why, n) in failed {
            if !why.contains("deadline") {
                let n = n.as_u64().unwrap_or(0);
                requests += n;
                errors += n;
            }
        }
    }
    let percentile = |p: &str| number(&report["latencyPercentiles"][p]) * 1000.0;
    Ok(Stats {
        requests,
        seconds: number(&report["summary"]["total"]),
        p50_ms: percentile("p50"),
        p99_ms: percentile("p99"),
        errors,
        ..Stats::default()
    })
}

/// The status a success answers with: a page 200, a state change or a sign-in 303 (to
/// anywhere but the sign-in page), the yardstick's update 204.
fn expected_status(kind: Kind) -> u16 {
    match kind {
        Kind::Page | Kind::YardstickPage => 200,
        Kind::Transition | Kind::SignIn => 303,
        Kind::YardstickUpdate => 204,
    }
}

fn lua_string(s: &str) -> String {
    format!("{s:?}")
}

/// The wrk script: paths in turn (thread `t` takes paths t, t+threads, ...), the method, the
/// session cookie and body, an optional pause per connection, and one result line.
fn lua_script(target: &Target, threads: u32, pace_ms: f64) -> String {
    let mut lua = String::from("local paths = {");
    for p in &target.paths {
        let _ = write!(lua, "{},", lua_string(p));
    }
    lua.push_str("}\n");
    let _ = writeln!(lua, "local method = {}", lua_string(target.method));
    let _ = writeln!(
        lua,
        "local body = {}",
        target.body.as_deref().map_or("nil".into(), lua_string)
    );
    lua.push_str("local headers = {}\n");
    if let Some(cookie) = &target.cookie {
        let _ = writeln!(lua, "headers[\"Cookie\"] = {}", lua_string(cookie));
    }
    if target.body.is_some() {
        lua.push_str("headers[\"Content-Type\"] = \"application/x-www-form-urlencoded\"\n");
    }
    let _ = writeln!(lua, "local threads = {threads}");
    let _ = writeln!(lua, "local pace = {}", pace_ms.round() as u64);
    let _ = writeln!(lua, "local expect = {}", expected_status(target.kind));
    lua.push_str(
        r#"local made = 0
local counter = 0
local all = {}
bad = 0
function setup(thread)
  thread:set("tid", made)
  made = made + 1
  table.insert(all, thread)
end
-- Any answer but the one a success gives is an error, a redirect to sign-in above all.
function response(status, headers, body)
  local location = headers["location"] or headers["Location"] or ""
  if status ~= expect or string.find(location, "^/login") then
    bad = bad + 1
  end
end
function init(args)
  counter = tid or 0
end
function request()
  local path = paths[(counter % #paths) + 1]
  counter = counter + threads
  return wrk.format(method, path, headers, body)
end
if pace > 0 then
  function delay()
    return pace
  end
end
function done(summary, latency, requests)
  local e = summary.errors
  local wrong = 0
  for _, t in ipairs(all) do
    wrong = wrong + (t:get("bad") or 0)
  end
  io.write(string.format("BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout + wrong))
end
"#,
    );
    lua
}

/// `wrk` from PATH, or installed with the system's package manager.
/// `oha` on the PATH or in Cargo's bin directory, else installed there with Cargo.
fn ensure_oha() -> anyhow::Result<PathBuf> {
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|home| home.join("bin"));
    if let Some(p) = on_path("oha", cargo_bin.clone()) {
        return Ok(p);
    }
    println!("== oha is missing: installing it (cargo install oha --locked, a few minutes once)");
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["install", "oha", "--locked", "--quiet"])
        .status()?;
    anyhow::ensure!(status.success(), "cargo install oha failed");
    cargo_bin
        .map(|d| d.join("oha"))
        .filter(|p| p.is_file())
        .ok_or_else(|| anyhow::anyhow!("oha was installed but is not in Cargo's bin directory"))
}

/// The program `name` in a directory of `PATH`, or else in `also`.
fn on_path(name: &str, also: Option<PathBuf>) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(also)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn ensure_wrk() -> anyhow::Result<PathBuf> {
    if let Some(p) = on_path("wrk", None) {
        return Ok(p);
    }
    println!("== wrk is missing: installing it (Debian package `wrk`)");
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let apt = |args: &[&str]| {
        let mut cmd = if root {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.arg("apt-get");
            c
        };
        cmd.args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
    };
    apt(&["update", "-qq"])?;
    apt(&["install", "-y", "-qq", "wrk"])?;
    on_path("wrk", None).ok_or_else(|| {
        anyhow::anyhow!("wrk could not be installed; install it (`apt-get install wrk`) and retry")
    })
}

fn print_table(
    rows: &[Row],
    approved: i64,
    rss: f64,
    peak: f64,
    startup: Duration,
    stop: Option<Duration>,
) {
    let yard_page = rows
        .iter()
        .find(|r| r.target.kind == Kind::YardstickPage)
        .map(|r| r.flat.rps())
        .unwrap_or(f64::NAN);
    let yard_update = rows
        .iter()
        .find(|r| r.target.kind == Kind::YardstickUpdate)
        .map(|r| r.flat.rps())
        .unwrap_or(f64::NAN);
    println!();
    println!(
        "| measured | as | req/s | × yardstick | target | p50 ms | p99 ms | errors | app CPU µs/req | db CPU µs/req | stolen % | paced req/s | paced p99 ms | p99 target | paced errors | paced stolen % |"
    );
    println!("|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|");
    for r in rows {
        let (ratio, target, p99_target) = match r.target.kind {
            Kind::YardstickPage | Kind::YardstickUpdate => (1.0, "-".to_string(), "-".to_string()),
            Kind::Page => {
                let ratio = r.flat.rps() / yard_page;
                (
                    ratio,
                    verdict(r.flat.clean() && ratio >= 0.5, "≥ 0.5×"),
                    verdict(r.paced.clean() && r.paced.p99_ms <= 10.0, "≤ 10 ms"),
                )
            }
            Kind::Transition => {
                let ratio = r.flat.rps() / yard_update;
                (
                    ratio,
                    verdict(r.flat.clean() && ratio >= 0.5, "≥ 0.5× update"),
                    verdict(r.paced.clean() && r.paced.p99_ms <= 25.0, "≤ 25 ms"),
                )
            }
            Kind::SignIn => (r.flat.rps() / yard_page, "(none)".into(), "(none)".into()),
        };
        println!(
            "| {} | {} | {:.0} | {:.2} | {} | {:.1} | {:.1} | {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.1} | {} | {} | {:.0} |",
            r.target.name,
            r.target.who,
            r.flat.rps(),
            ratio,
            target,
            r.flat.p50_ms,
            r.flat.p99_ms,
            r.flat.errors,
            r.flat.server_cpu_us,
            r.flat.db_cpu_us,
            r.flat.stolen_pct,
            r.paced.rps(),
            r.paced.p99_ms,
            p99_target,
            r.paced.errors,
            r.paced.stolen_pct,
        );
    }
    println!();
    println!(
        "approvals made during the run: {approved} (each one request, each step approved once)"
    );
    println!(
        "app resident memory: {rss:.0} MiB at the end, {peak:.0} MiB at its peak ({})",
        verdict(peak < 100.0, "< 100 MiB")
    );
    println!(
        "app start-up: {} ms to the first answer ({})",
        startup.as_millis(),
        verdict(startup < Duration::from_secs(1), "< 1 s")
    );
    match stop {
        Some(d) => println!(
            "app stop after SIGTERM: {} ms ({})",
            d.as_millis(),
            verdict(d < Duration::from_secs(10), "< 10 s")
        ),
        None => println!("app stop after SIGTERM: did not exit within 15 s (missed)"),
    }
    println!(
        "CPU per request: of the answering process (the app; this benchmark's own process for the yardstick) and of every PostgreSQL process, during the flat-out run; wrk's own share is not counted."
    );
    println!(
        "Stolen: the share of the machine's CPU time (all cores) that its hypervisor gave to others during the run (steal in /proc/stat); a run with much of it stolen is slower than the code, and a paced p99 then queues behind it."
    );
    println!(
        "Paced runs: pages by oha at a fixed rate with latency correction (open loop: a stall counts against every request it delays); the one-row update, approve and sign-in by wrk, which has no open loop (each of {PACED_CONNECTIONS} connections waits its share of the interval before each request, so a stall delays later requests rather than counting against them)."
    );
}

fn verdict(met: bool, target: &str) -> String {
    if met {
        format!("{target} met")
    } else {
        format!("{target} MISSED")
    }
}
