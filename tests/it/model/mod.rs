//! The model-based test of the whole workflow: seeded random sequences of what people do
//! (file, escalate, record and correct outcomes, edit, attach, submit, approve, send back,
//! withdraw, name and end substitutes, hand steps and clients to others, disable and enable
//! people, move dates, forward,
//! tick, undo, reinstate, let days pass) by people of every role, through the app's own HTTP
//! routes on a real database, with every invariant checked after every act:
//!
//! - liveness: every request not completed or withdrawn waits on someone who may move it on,
//!   and it is on that person's desk;
//! - one fact, one value: dates, budgets and status agree across the request, the planner,
//!   the tasks, the checklist, the reminders and the client's history;
//! - one open request per client; transitions carry their audit record and email in their
//!   own transaction; nobody decides two steps of a round or their own request;
//! - an act the app refuses changes nothing.
//!
//! `cargo test` runs a few hundred sequences; `MODEL_SEQUENCES=20000 cargo test --release
//! --test it model -- --nocapture` runs the long form (README, "The model test").
//! `MODEL_SEED` replays one sequence. A failure prints its seed and the sequence shrunk to the
//! acts that still break it.

mod acts;
pub(crate) mod invariants;
mod world;

use offboarding_desk::auth::roles::Role;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use std::collections::BTreeMap;
use std::sync::Mutex;

use acts::Act;
use world::{Outcome, World};

/// How often each act went ahead or was refused, and where the requests ended: printed after
/// each part, so a run shows it reached deep into the process rather than being refused at
/// the door.
#[derive(Default)]
struct Tally {
    acts: BTreeMap<&'static str, [u64; 3]>,
    states: BTreeMap<String, u64>,
}

impl Tally {
    fn print(&self, label: &str) {
        let acts: Vec<String> = self
            .acts
            .iter()
            .map(|(k, [done, refused, skipped])| format!("{k} {done}/{refused}/{skipped}"))
            .collect();
        let states: Vec<String> = self
            .states
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        eprintln!(
            "model {label}: acts done/refused/nothing to act on: {}\nmodel {label}: requests at the end: {}",
            acts.join(", "),
            states.join(", ")
        );
    }
}

/// Acts per sequence.
const STEPS: usize = 30;

/// What the generator knows of a request, to pick an act that fits it.
#[derive(sqlx::FromRow)]
struct Situation {
    state: String,
    kind: String,
    account_manager: Option<i64>,
    has_save_attempt: bool,
    call_recorded: bool,
    documents: i64,
    step_user: Option<i64>,
    step_role: Option<String>,
    processed: bool,
    forwarded: Option<bool>,
    on_planner: bool,
    status_updated: Option<bool>,
    task_done: Option<bool>,
    sem_assignee: Option<i64>,
    /// The position (in the request's checklist order) of an open item ready to tick.
    open_item: Option<i64>,
    open_item_role: Option<String>,
    open_item_assignee: Option<i64>,
    /// The position of an item done, and who ticked it (who may undo it).
    done_item: Option<i64>,
    done_item_by: Option<i64>,
}

async fn situations(w: &World) -> Vec<Situation> {
    sqlx::query_as(
        "SELECT r.state, r.kind, c.account_manager_id AS account_manager,
                EXISTS (SELECT 1 FROM save_attempts s WHERE s.change_request_id = r.id) AS has_save_attempt,
                EXISTS (SELECT 1 FROM save_attempts s WHERE s.change_request_id = r.id
                          AND s.outcome IS NOT NULL) AS call_recorded,
                (SELECT count(*) FROM request_attachments a WHERE a.change_request_id = r.id
                   AND a.superseded_at IS NULL) AS documents,
                st.approver_user_id AS step_user, st.approver_role AS step_role,
                r.processed_at IS NOT NULL AS processed,
                t.forwarded_at IS NOT NULL AS forwarded,
                EXISTS (SELECT 1 FROM planner_entries p WHERE p.change_request_id = r.id
                          AND p.removed_at IS NULL) AS on_planner,
                t.status_updated_at IS NOT NULL AS status_updated,
                t.done_at IS NOT NULL AS task_done,
                (SELECT s.assignee FROM sem_tasks s WHERE s.change_request_id = r.id
                   AND s.done_at IS NULL AND s.cancelled_at IS NULL) AS sem_assignee,
                i.n AS open_item, i.owner_role AS open_item_role, i.assignee AS open_item_assignee,
                d.n AS done_item, d.done_by AS done_item_by
           FROM change_requests r
           JOIN clients c ON c.id = r.client_id
           LEFT JOIN change_tasks t ON t.change_request_id = r.id
           LEFT JOIN request_approvals st ON st.change_request_id = r.id
                AND st.round = r.approval_round AND st.state = 'pending'
           LEFT JOIN LATERAL (
                SELECT x.n, x.owner_role, x.assignee FROM (
                    SELECT row_number() OVER (ORDER BY i.position, i.id) - 1 AS n, i.owner_role,
                           i.assignee, i.done_at, i.cancelled_at,
                           (i.verifies_id IS NULL OR v.done_at IS NOT NULL) AS ready
                      FROM checklist_items i LEFT JOIN checklist_items v ON v.id = i.verifies_id
                     WHERE i.change_request_id = r.id) x
                 WHERE x.done_at IS NULL AND x.cancelled_at IS NULL AND x.ready
                 ORDER BY random() LIMIT 1) i ON true
           LEFT JOIN LATERAL (
                SELECT x.n, x.done_by FROM (
                    SELECT row_number() OVER (ORDER BY i.position, i.id) - 1 AS n, i.done_by
                      FROM checklist_items i WHERE i.change_request_id = r.id) x
                 WHERE x.done_by IS NOT NULL
                 ORDER BY random() LIMIT 1) d ON true
          ORDER BY r.id",
    )
    .fetch_all(&w.app.db)
    .await
    .unwrap()
}

/// Picks the next act: mostly the one a request's state calls for, by the person it waits
/// on (so sequences get deep into the process), sometimes anything at all, by anyone.
async fn next_act(rng: &mut StdRng, w: &World) -> Act {
    let all = situations(w).await;
    let anyone = |rng: &mut StdRng| rng.random_range(0..w.people.len());
    let one_of = |rng: &mut StdRng, role: Role| {
        let h = w.holders(role);
        h[rng.random_range(0..h.len())]
    };
    // The right person mostly; anyone at all now and then.
    let mostly = |rng: &mut StdRng, right: usize| {
        if rng.random_bool(0.85) {
            right
        } else {
            rng.random_range(0..w.people.len())
        }
    };
    let index_of_id = |id: Option<i64>| id.and_then(|id| w.people.iter().position(|p| p.id == id));
    let open: Vec<usize> = (0..all.len())
        .filter(|i| !matches!(all[*i].state.as_str(), "completed" | "withdrawn"))
        .collect();
    let slot = if !open.is_empty() && rng.random_bool(0.85) {
        open[rng.random_range(0..open.len())]
    } else if all.is_empty() {
        0
    } else {
        rng.random_range(0..all.len())
    };
    let roll = rng.random_range(0..100);
    if all.is_empty() || roll < 10 || (open.is_empty() && roll < 60) {
        let client = rng.random_range(0..w.clients.len());
        let am: i64 = sqlx::query_scalar("SELECT account_manager_id FROM clients WHERE id = $1")
            .bind(w.client(client))
            .fetch_one(&w.app.db)
            .await
            .unwrap();
        let am = index_of_id(Some(am)).unwrap_or(0);
        return Act::File {
            who: mostly(rng, am),
            client,
            kind: rng.random_range(0..3),
            escalation: rng.random_range(0..3),
            credit: rng.random_bool(0.3),
            days: rng.random_range(0..40),
        };
    }
    if roll < 17 {
        // Anything, by anyone.
        let who = anyone(rng);
        return match rng.random_range(0..14) {
            0 => Act::Submit { who, slot },
            1 => Act::Approve { who, slot },
            2 => Act::SendBack { who, slot },
            3 => Act::Withdraw { who, slot },
            4 => Act::Record {
                who,
                slot,
                outcome: rng.random_range(0..4),
                stale: rng.random_bool(0.5),
            },
            5 => Act::Edit {
                who,
                slot,
                kind: rng.random_range(0..3),
                days: rng.random_range(0..50),
                stale: rng.random_bool(0.3),
            },
            6 => Act::Tick {
                who,
                slot,
                item: rng.random_range(0..20),
            },
            7 => Act::Undo {
                who,
                slot,
                item: rng.random_range(0..20),
            },
            8 => Act::Process { who, slot },
            9 => Act::Reinstate { who, slot },
            10 => Act::Move {
                who,
                slot,
                days: rng.random_range(-5..60),
            },
            11 => Act::TickSem { who, slot },
            12 => Act::Attach { who, slot },
            _ => Act::Forward {
                who,
                slot,
                sem: rng.random_range(0..2),
            },
        };
    }
    if roll < 27 {
        // The department around the requests.
        return match rng.random_range(0..7) {
            5 => Act::Leave { who: anyone(rng) },
            6 => {
                let off: Vec<usize> = (0..w.people.len())
                    .filter(|i| !w.people[*i].is_active())
                    .collect();
                Act::Return {
                    who: if off.is_empty() {
                        anyone(rng)
                    } else {
                        off[rng.random_range(0..off.len())]
                    },
                }
            }
            0 => Act::NameSubstitute {
                who: one_of(rng, Role::Approver),
                substitute: one_of(rng, Role::Approver),
                days: rng.random_range(0..10),
            },
            1 => Act::EndSubstitute {
                who: one_of(rng, Role::Approver),
            },
            2 => Act::ReassignStep {
                slot,
                to: rng.random_range(0..7),
            },
            3 => Act::HandClient {
                client: rng.random_range(0..w.clients.len()),
                to: rng.random_range(0..3),
            },
            _ => Act::Advance {
                days: rng.random_range(1..10),
            },
        };
    }
    let s = &all[slot];
    let am = index_of_id(s.account_manager).unwrap_or(0);
    let retention = one_of(rng, Role::Retention);
    let submitter = if s.has_save_attempt { retention } else { am };
    let owner = if s.has_save_attempt && rng.random_bool(0.5) {
        retention
    } else {
        am
    };
    match s.state.as_str() {
        "draft" | "changes_requested" => match rng.random_range(0..10) {
            0..=5 if s.kind == "addendum" && s.documents == 0 => Act::Attach {
                who: mostly(rng, owner),
                slot,
            },
            0..=6 => Act::Submit {
                who: mostly(rng, submitter),
                slot,
            },
            7 | 8 => Act::Edit {
                who: mostly(rng, owner),
                slot,
                kind: rng.random_range(0..3),
                days: rng.random_range(0..50),
                stale: rng.random_bool(0.2),
            },
            _ => Act::Withdraw {
                who: mostly(rng, owner),
                slot,
            },
        },
        "with_retention" => match rng.random_range(0..10) {
            0..=4 if !s.call_recorded => Act::Record {
                who: mostly(rng, retention),
                slot,
                outcome: rng.random_range(0..4),
                stale: rng.random_bool(0.1),
            },
            0..=6 if s.kind == "addendum" && s.documents == 0 => Act::Attach {
                who: mostly(rng, owner),
                slot,
            },
            0..=6 => Act::Submit {
                who: mostly(rng, retention),
                slot,
            },
            7 => Act::Record {
                who: mostly(rng, retention),
                slot,
                outcome: rng.random_range(0..4),
                stale: rng.random_bool(0.3),
            },
            8 => Act::Edit {
                who: mostly(rng, owner),
                slot,
                kind: rng.random_range(0..3),
                days: rng.random_range(0..50),
                stale: false,
            },
            _ => Act::Withdraw {
                who: mostly(rng, owner),
                slot,
            },
        },
        "in_approval" => {
            let decider = match (index_of_id(s.step_user), s.step_role.as_deref()) {
                (Some(i), _) => i,
                (None, Some(role)) => Role::from_key(role)
                    .map(|r| one_of(rng, r))
                    .unwrap_or_else(|| anyone(rng)),
                _ => anyone(rng),
            };
            // Someone standing in, someone excluded, or the step's own approver.
            let who = match rng.random_range(0..10) {
                0 => one_of(rng, Role::Approver),
                1 => one_of(rng, Role::Finance),
                _ => decider,
            };
            match rng.random_range(0..10) {
                0 => Act::SendBack { who, slot },
                1 => Act::Withdraw {
                    who: mostly(rng, submitter),
                    slot,
                },
                _ => Act::Approve { who, slot },
            }
        }
        "approved" => {
            let ops = one_of(rng, Role::OpsLead);
            let accounting = one_of(rng, Role::Accounting);
            let needs_planner = s.kind != "addendum";
            let mut next: Vec<Act> = Vec::new();
            if !s.processed {
                next.push(Act::Process {
                    who: mostly(rng, accounting),
                    slot,
                });
            }
            if s.forwarded == Some(false) {
                next.push(Act::Forward {
                    who: mostly(rng, ops),
                    slot,
                    sem: rng.random_range(0..2),
                });
            }
            if needs_planner && !s.on_planner {
                next.push(Act::Plan {
                    who: mostly(rng, ops),
                    slot,
                });
            }
            if s.status_updated == Some(false) {
                next.push(Act::Status {
                    who: mostly(rng, ops),
                    slot,
                });
            }
            if s.task_done == Some(false) {
                next.push(Act::TaskDone {
                    who: mostly(rng, ops),
                    slot,
                });
            }
            if let Some(sem) = index_of_id(s.sem_assignee) {
                next.push(Act::TickSem {
                    who: mostly(rng, sem),
                    slot,
                });
            }
            if let Some(n) = s.open_item {
                let owner = match (
                    s.open_item_role.as_deref(),
                    index_of_id(s.open_item_assignee),
                ) {
                    (Some("sem_specialist"), Some(i)) => i,
                    (Some(role), _) => Role::from_key(role)
                        .map(|r| one_of(rng, r))
                        .unwrap_or_else(|| anyone(rng)),
                    _ => anyone(rng),
                };
                for _ in 0..3 {
                    next.push(Act::Tick {
                        who: mostly(rng, owner),
                        slot,
                        item: n as usize,
                    });
                }
            }
            match rng.random_range(0..20) {
                0 => Act::Move {
                    who: mostly(rng, ops),
                    slot,
                    days: rng.random_range(-5..60),
                },
                1 => Act::Reinstate {
                    who: mostly(rng, am),
                    slot,
                },
                2 => match (s.done_item, index_of_id(s.done_item_by)) {
                    (Some(n), Some(by)) => Act::Undo {
                        who: mostly(rng, by),
                        slot,
                        item: n as usize,
                    },
                    _ => Act::Undo {
                        who: anyone(rng),
                        slot,
                        item: rng.random_range(0..20),
                    },
                },
                _ if !next.is_empty() => next.swap_remove(rng.random_range(0..next.len())),
                _ => Act::Advance { days: 1 },
            }
        }
        _ => Act::Advance { days: 1 },
    }
}

/// What broke, after which act.
#[derive(Debug)]
struct Failure {
    step: usize,
    what: String,
}

/// Runs `acts` on the world made new, checking every invariant after each.
async fn replay(w: &mut World, acts: &[Act]) -> Result<(), Failure> {
    w.reset().await;
    for (step, act) in acts.iter().enumerate() {
        play(w, step, act).await?;
    }
    Ok(())
}

/// What the design says of `act` before it happens, where the model knows: whether it may
/// go ahead. The app's rules must agree.
async fn expected(w: &World, act: &Act) -> Option<bool> {
    let acting = matches!(
        act,
        Act::Approve { .. }
            | Act::SendBack { .. }
            | Act::Submit { .. }
            | Act::Withdraw { .. }
            | Act::Record { .. }
    );
    if acting && !w.person(act_who(act)).is_active() {
        // Disabled: signed out, they may do nothing.
        return Some(false);
    }
    match *act {
        Act::Leave { who } => w.may_ask_to_disable(who).then(|| w.may_disable(who)),
        Act::Approve { who, slot } | Act::SendBack { who, slot } => {
            let r = w.request(slot).await?;
            let (_, _, deciders) = invariants::deciders(w, r).await?;
            Some(deciders.contains(&w.person(who).id))
        }
        Act::Submit { who, slot } => {
            let r = w.request(slot).await?;
            Some(invariants::may_submit(w, r, who).await)
        }
        Act::Withdraw { who, slot } => {
            let r = w.request(slot).await?;
            Some(invariants::may_withdraw(w, r, who).await)
        }
        Act::Record {
            who, slot, stale, ..
        } => {
            let r = w.request(slot).await?;
            let shown = if stale {
                String::new()
            } else {
                w.recorded_outcome(r).await
            };
            Some(invariants::may_record(w, r, who, &shown).await)
        }
        _ => None,
    }
}

async fn play(w: &World, step: usize, act: &Act) -> Result<Outcome, Failure> {
    let before = invariants::snapshot(&w.app.db).await;
    let expect = expected(w, act).await;
    let outcome = act.run(w).await;
    if let Outcome::Broken(what) = &outcome {
        return Err(Failure {
            step,
            what: what.clone(),
        });
    }
    if let Some(allowed) = expect
        && allowed != (outcome == Outcome::Done)
    {
        return Err(Failure {
            step,
            what: format!(
                "the design says {} may {}, the app answered {outcome:?}",
                w.person(act_who(act)).key,
                if allowed { "do it" } else { "not do it" }
            ),
        });
    }
    let after = invariants::snapshot(&w.app.db).await;
    if let Outcome::Refused(why) = &outcome
        && before != after
    {
        return Err(Failure {
            step,
            what: format!("refused ({why}) yet something changed"),
        });
    }
    // Nothing changed (and no day passed): what held before still holds.
    if before == after && !matches!(act, Act::Advance { .. }) {
        return Ok(outcome);
    }
    invariants::check(w)
        .await
        .map_err(|what| Failure { step, what })?;
    Ok(outcome)
}

fn act_who(act: &Act) -> usize {
    match *act {
        Act::Approve { who, .. }
        | Act::SendBack { who, .. }
        | Act::Submit { who, .. }
        | Act::Withdraw { who, .. }
        | Act::Record { who, .. }
        | Act::Leave { who } => who,
        _ => 0,
    }
}

/// Generates and checks one sequence from `seed`; on failure, the acts up to it.
async fn generate(
    w: &mut World,
    seed: u64,
    tally: &Mutex<Tally>,
) -> Result<(), (Vec<Act>, Failure)> {
    let mut rng = StdRng::seed_from_u64(seed);
    w.reset().await;
    let w = &*w;
    let mut acts = Vec::new();
    for step in 0..STEPS {
        let act = next_act(&mut rng, w).await;
        acts.push(act.clone());
        match play(w, step, &act).await {
            Err(f) => return Err((acts, f)),
            Ok(outcome) => {
                let mut t = tally.lock().unwrap();
                let counts = t.acts.entry(act.name()).or_default();
                counts[match outcome {
                    Outcome::Done => 0,
                    Outcome::Refused(_) => 1,
                    Outcome::Skipped | Outcome::Broken(_) => 2,
                }] += 1;
            }
        }
    }
    let states: Vec<String> = sqlx::query_scalar("SELECT state FROM change_requests")
        .fetch_all(&w.app.db)
        .await
        .unwrap();
    let mut t = tally.lock().unwrap();
    for s in states {
        *t.states.entry(s).or_default() += 1;
    }
    Ok(())
}

/// The smallest sub-sequence (by removing runs of acts, then single acts) that still fails.
async fn shrink(w: &mut World, mut acts: Vec<Act>) -> (Vec<Act>, Failure) {
    let mut failure = replay(w, &acts)
        .await
        .expect_err("the sequence failed once");
    let mut chunk = acts.len() / 2;
    let mut tries = 0;
    while chunk >= 1 && tries < 150 {
        let mut start = 0;
        let mut removed_any = false;
        while start < acts.len() && tries < 150 {
            let end = (start + chunk).min(acts.len());
            let mut candidate = acts.clone();
            candidate.drain(start..end);
            tries += 1;
            match replay(w, &candidate).await {
                Err(f) => {
                    acts = candidate;
                    failure = f;
                    removed_any = true;
                }
                Ok(()) => start += chunk,
            }
        }
        if !removed_any {
            chunk /= 2;
        }
    }
    (acts, failure)
}

/// Runs `count` sequences from consecutive seeds; panics with the first failure, shrunk.
async fn run_many(first_seed: u64, count: u64) {
    if count == 0 {
        return;
    }
    let tally = Mutex::new(Tally::default());
    let mut w = World::new().await;
    for seed in first_seed..first_seed + count {
        if let Err((acts, failure)) = generate(&mut w, seed, &tally).await {
            eprintln!(
                "model: seed {seed} failed at act {} of {}: {}",
                failure.step + 1,
                acts.len(),
                failure.what
            );
            let (small, why) = shrink(&mut w, acts).await;
            let listing: Vec<String> = small
                .iter()
                .enumerate()
                .map(|(i, a)| format!("  {}. {a:?}", i + 1))
                .collect();
            panic!(
                "model: seed {seed} breaks an invariant: {}\nshrunk to {} acts (fails at act {}):\n{}\nreplay with MODEL_SEED={seed}",
                why.what,
                small.len(),
                why.step + 1,
                listing.join("\n")
            );
        }
    }
    tally
        .lock()
        .unwrap()
        .print(&format!("seeds {first_seed}..{}", first_seed + count));
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// How many sequences each of the model's tests runs, and from which seed.
fn plan(part: u64, parts: u64, default_per_part: u64) -> (u64, u64) {
    if let Some(seed) = env_u64("MODEL_SEED") {
        return if part == 0 { (seed, 1) } else { (seed, 0) };
    }
    let total = env_u64("MODEL_SEQUENCES").unwrap_or(default_per_part * parts);
    let per = total.div_ceil(parts);
    let base = env_u64("MODEL_FIRST_SEED").unwrap_or(1);
    (base + part * per, per)
}

/// The sequences are split over four tests, so they run beside the rest of the suite.
const PARTS: u64 = 4;
/// In `cargo test`: 4 × 50 sequences of 30 acts.
const PER_PART: u64 = 50;

macro_rules! part {
    ($name:ident, $n:expr) => {
        #[tokio::test]
        async fn $name() {
            let (seed, count) = plan($n, PARTS, PER_PART);
            run_many(seed, count).await;
        }
    };
}

part!(
    random_sequences_of_every_role_keep_every_invariant_part_1,
    0
);
part!(
    random_sequences_of_every_role_keep_every_invariant_part_2,
    1
);
part!(
    random_sequences_of_every_role_keep_every_invariant_part_3,
    2
);
part!(
    random_sequences_of_every_role_keep_every_invariant_part_4,
    3
);
