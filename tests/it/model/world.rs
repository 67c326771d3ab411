//! The department the model plays in: a cast of people holding every role (some holding two),
//! the seeded approval chain with named approvers, four clients, and the ways an act reaches
//! the app (a signed-in person's POST, as their browser would send it).

use std::sync::atomic::{AtomicBool, Ordering};

use offboarding_desk::auth::roles::Role;

use crate::support::{TestApp, client};

/// Someone in the cast.
pub struct Person {
    pub key: &'static str,
    pub id: i64,
    pub roles: Vec<Role>,
    pub cookie: String,
    /// Not disabled (the admin may disable and enable people as acts).
    active: AtomicBool,
}

impl Person {
    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }
}

/// What came of an act.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It went ahead (the app said so).
    Done,
    /// The app refused it, or it changed nothing; the words or status it answered with.
    Refused(String),
    /// There was nothing for it to act on (no such request yet).
    Skipped,
    /// The app failed (a 500, or any answer a person should never get).
    Broken(String),
}

/// The roles whose work waits on any holder: the app refuses to leave one with nobody active.
pub const HELD_BY_SOMEONE: [Role; 4] = [
    Role::Retention,
    Role::Accounting,
    Role::OpsLead,
    Role::Contractor,
];

/// Everyone, with their roles: every role held by someone, three people holding two.
pub const CAST: &[(&str, &[Role])] = &[
    ("am1", &[Role::AccountManager]),
    ("am2", &[Role::AccountManager]),
    ("amy_approver", &[Role::AccountManager, Role::Approver]),
    ("ret1", &[Role::Retention]),
    ("ret2", &[Role::Retention]),
    ("jeremy", &[Role::Approver]),
    ("dustin", &[Role::Approver]),
    ("pat", &[Role::Approver, Role::Finance]),
    ("fin1", &[Role::Finance]),
    ("acct", &[Role::Accounting]),
    ("ops", &[Role::OpsLead]),
    ("sem1", &[Role::SemSpecialist]),
    ("sem2", &[Role::SemSpecialist]),
    ("juniper", &[Role::Contractor]),
    ("admin", &[Role::Admin]),
    ("lead", &[Role::DmLeadership, Role::TeamLead]),
];

pub struct World {
    pub app: TestApp,
    pub people: Vec<Person>,
    /// Client ids, in the order the acts refer to them.
    pub clients: Vec<i64>,
    pub reason: i64,
    http: reqwest::Client,
}

impl World {
    pub async fn new() -> World {
        let app = TestApp::spawn_with(|c| c.time_zone = chrono_tz::Tz::UTC).await;
        let mut people = Vec::new();
        for (key, roles) in CAST {
            let id = app.user(&format!("{key}@agency.test"), roles).await;
            people.push(Person {
                key,
                id,
                roles: roles.to_vec(),
                cookie: app.session_cookie(id).await,
                active: AtomicBool::new(true),
            });
        }
        sqlx::query(
            "INSERT INTO distribution_list (email, name) VALUES ('ops@agency.test', 'Ops'), ('lead@agency.test', 'Lead')",
        )
        .execute(&app.db)
        .await
        .unwrap();
        let reason: i64 =
            sqlx::query_scalar("SELECT id FROM change_reasons ORDER BY position LIMIT 1")
                .fetch_one(&app.db)
                .await
                .unwrap();
        let mut w = World {
            app,
            people,
            clients: Vec::new(),
            reason,
            http: client(),
        };
        w.reset().await;
        w
    }

    /// Back to the start: no requests, no substitutes, no jobs, the clients and the chain as
    /// first set up, the clock on the system's time. (Faster than a new database; ids go on
    /// counting, and no act names an id.)
    pub async fn reset(&mut self) {
        let db = &self.app.db;
        // The signing records refuse a TRUNCATE (they are append-only); the reset is the
        // schema's owner clearing a test's world, so it lets the cascade through.
        sqlx::raw_sql(
            "BEGIN;
             ALTER TABLE signature_events DISABLE TRIGGER signature_events_no_truncate;
             ALTER TABLE addendum_documents DISABLE TRIGGER addendum_documents_no_truncate;
             TRUNCATE change_requests, approval_substitutes, client_status_history,
                      scheduled_jobs, clients CASCADE;
             ALTER TABLE signature_events ENABLE TRIGGER signature_events_no_truncate;
             ALTER TABLE addendum_documents ENABLE TRIGGER addendum_documents_no_truncate;
             COMMIT;
             UPDATE users SET disabled_at = NULL WHERE disabled_at IS NOT NULL;",
        )
        .execute(db)
        .await
        .unwrap();
        for p in &self.people {
            self.sign_in_again(p).await;
        }
        self.app.state.clock.reset();
        let by = |k: &str| self.people.iter().find(|p| p.key == k).unwrap().id;
        for (position, user) in [(1, by("jeremy")), (2, by("dustin"))] {
            sqlx::query(
                "UPDATE approval_chain_steps SET approver_user_id = $2, approver_role = NULL
                  WHERE position = $1",
            )
            .bind(position)
            .bind(user)
            .execute(db)
            .await
            .unwrap();
        }
        let mut clients = Vec::new();
        for (i, (am, sem, products)) in [
            ("am1", "sem1", "{google_ads,facebook}"),
            ("am2", "sem2", "{microsoft_ads}"),
            ("amy_approver", "sem1", "{google_ads,fluency}"),
            ("am1", "sem2", "{}"),
        ]
        .into_iter()
        .enumerate()
        {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO clients (name, crm_account_id, account_manager_id, sem_specialist_id,
                                      monthly_budget_cents, ad_products)
                 VALUES ($1, $2, $3, $4, 250000, $5::text[]) RETURNING id",
            )
            .bind(format!("Client {i}"))
            .bind(format!("CRM-{i}"))
            .bind(by(am))
            .bind(by(sem))
            .bind(products)
            .fetch_one(db)
            .await
            .unwrap();
            clients.push(id);
        }
        self.clients = clients;
    }

    pub fn person(&self, i: usize) -> &Person {
        &self.people[i % self.people.len()]
    }

    pub fn by_key(&self, key: &str) -> &Person {
        self.people.iter().find(|p| p.key == key).unwrap()
    }

    pub fn index_of(&self, key: &str) -> usize {
        self.people.iter().position(|p| p.key == key).unwrap()
    }

    /// The active people holding `role`, by index.
    pub fn holders(&self, role: Role) -> Vec<usize> {
        (0..self.people.len())
            .filter(|i| self.people[*i].roles.contains(&role) && self.people[*i].is_active())
            .collect()
    }

    /// Whether the user with `id` is in the cast and active.
    pub fn is_active(&self, id: i64) -> bool {
        self.people.iter().any(|p| p.id == id && p.is_active())
    }

    /// Whether the model asks the admin to disable person `who` at all: not the admin, not
    /// someone disabled, and not the last active holder of a role whose work rests on named
    /// people (the model keeps those held, as a department does). The last holder of a role
    /// whose work waits on any holder is asked about: the app must refuse.
    pub fn may_ask_to_disable(&self, who: usize) -> bool {
        let p = self.person(who);
        p.is_active()
            && !p.roles.contains(&Role::Admin)
            && !p
                .roles
                .iter()
                .any(|r| !HELD_BY_SOMEONE.contains(r) && self.holders(*r).len() < 2)
    }

    /// Whether the design lets the admin disable `who`: someone else active holds each of their
    /// roles whose work waits on any holder.
    pub fn may_disable(&self, who: usize) -> bool {
        let p = self.person(who);
        !p.roles
            .iter()
            .any(|r| HELD_BY_SOMEONE.contains(r) && self.holders(*r).len() < 2)
    }

    /// The admin disables person `who` (see [`World::may_ask_to_disable`]).
    pub async fn disable(&self, who: usize) -> Outcome {
        let p = self.person(who);
        if !self.may_ask_to_disable(who) {
            return Outcome::Skipped;
        }
        let outcome = self
            .post(
                self.index_of("admin"),
                &format!("/admin/users/{}/disable", p.id),
                &[],
            )
            .await;
        if outcome == Outcome::Done {
            p.active.store(false, Ordering::Relaxed);
        }
        outcome
    }

    /// The admin enables person `who` again, who signs in again.
    pub async fn enable(&self, who: usize) -> Outcome {
        let p = self.person(who);
        if p.is_active() {
            return Outcome::Skipped;
        }
        let outcome = self
            .post(
                self.index_of("admin"),
                &format!("/admin/users/{}/enable", p.id),
                &[],
            )
            .await;
        if outcome == Outcome::Done {
            self.sign_in_again(p).await;
            p.active.store(true, Ordering::Relaxed);
        }
        outcome
    }

    /// A session for `p` under the cookie they hold (disabling ended their sessions).
    async fn sign_in_again(&self, p: &Person) {
        let secret = p.cookie.trim_start_matches("od_session=");
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, absolute_expires_at, ip, user_agent)
             VALUES ($1, $2, now() + interval '30 days', '127.0.0.1', 'model')
             ON CONFLICT (id_hash) DO NOTHING",
        )
        .bind(offboarding_desk::auth::token::digest(secret))
        .bind(p.id)
        .execute(&self.app.db)
        .await
        .unwrap();
        p.active.store(true, Ordering::Relaxed);
    }

    pub fn client(&self, i: usize) -> i64 {
        self.clients[i % self.clients.len()]
    }

    pub fn sem(&self, i: usize) -> i64 {
        let sems = self.holders(Role::SemSpecialist);
        self.people[sems[i % sems.len()]].id
    }

    pub fn team_lead(&self) -> i64 {
        self.by_key("lead").id
    }

    /// `days` after the app's today, as a form wants it.
    pub fn day(&self, days: i64) -> String {
        (self.app.state.clock.today() + chrono::Duration::days(days)).to_string()
    }

    /// The request filed `slot`th (modulo how many there are).
    pub async fn request(&self, slot: usize) -> Option<i64> {
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM change_requests ORDER BY id")
            .fetch_all(&self.app.db)
            .await
            .unwrap();
        (!ids.is_empty()).then(|| ids[slot % ids.len()])
    }

    pub async fn version(&self, r: i64) -> i32 {
        sqlx::query_scalar("SELECT version FROM change_requests WHERE id = $1")
            .bind(r)
            .fetch_one(&self.app.db)
            .await
            .unwrap()
    }

    pub async fn recorded_outcome(&self, r: i64) -> String {
        sqlx::query_scalar::<_, Option<String>>(
            "SELECT outcome FROM save_attempts WHERE change_request_id = $1",
        )
        .bind(r)
        .fetch_optional(&self.app.db)
        .await
        .unwrap()
        .flatten()
        .unwrap_or_default()
    }

    /// The step of the request's current round whose turn it is, if any.
    pub async fn current_step(&self, r: i64) -> Option<i64> {
        sqlx::query_scalar(
            "SELECT s.id FROM request_approvals s JOIN change_requests r ON r.id = s.change_request_id
              WHERE r.id = $1 AND s.round = r.approval_round AND s.state = 'pending'",
        )
        .bind(r)
        .fetch_optional(&self.app.db)
        .await
        .unwrap()
    }

    pub async fn task_of(&self, r: i64) -> Option<i64> {
        sqlx::query_scalar("SELECT id FROM change_tasks WHERE change_request_id = $1")
            .bind(r)
            .fetch_optional(&self.app.db)
            .await
            .unwrap()
    }

    pub async fn task_of_slot(&self, slot: usize) -> Option<i64> {
        match self.request(slot).await {
            Some(r) => self.task_of(r).await,
            None => None,
        }
    }

    /// Person `who` posts `form` to `path`; what the app answered, read as a person would.
    pub async fn post(&self, who: usize, path: &str, form: &[(&str, String)]) -> Outcome {
        let p = self.person(who);
        let res = self
            .http
            .post(self.app.url(path))
            .header("cookie", &p.cookie)
            .form(form)
            .send()
            .await
            .unwrap();
        self.answer(p, res).await
    }

    /// Person `who` attaches a signed PDF to request `r`.
    pub async fn attach(&self, who: usize, r: i64) -> Outcome {
        let p = self.person(who);
        let form = reqwest::multipart::Form::new().part(
            "document",
            reqwest::multipart::Part::bytes(b"%PDF-1.4 signed by the client".to_vec())
                .file_name("signed.pdf")
                .mime_str("application/pdf")
                .unwrap(),
        );
        let res = self
            .http
            .post(self.app.url(&format!("/requests/{r}/attachments")))
            .header("cookie", &p.cookie)
            .multipart(form)
            .send()
            .await
            .unwrap();
        self.answer(p, res).await
    }

    async fn answer(&self, p: &Person, res: reqwest::Response) -> Outcome {
        let status = res.status().as_u16();
        let to_sign_in = res
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .is_some_and(|l| l.starts_with("/login"));
        match status {
            // Signed out (disabled): sent to sign in, nothing done.
            303 if to_sign_in => Outcome::Refused("sent to sign in".into()),
            303 => {
                // The message the next page would show.
                let secret = crate::shared::session_secret(&p.cookie).unwrap_or_default();
                match crate::shared::flash_set_by(res.headers(), secret) {
                    Some(f) if f.starts_with("Nothing") => Outcome::Refused(f),
                    _ => Outcome::Done,
                }
            }
            403 | 404 | 422 => Outcome::Refused(format!("HTTP {status}")),
            other => Outcome::Broken(format!("{} was answered {other}", p.key)),
        }
    }

    /// The admin hands client `client` to the account manager `to` (of those who are one).
    pub async fn hand_client(&self, client: usize, to: usize) -> Outcome {
        let id = self.client(client);
        let ams = self.holders(Role::AccountManager);
        let am = self.people[ams[to % ams.len()]].id;
        let (name, crm, sem, budget, products, status, version): (
            String,
            String,
            Option<i64>,
            i64,
            Vec<String>,
            String,
            i32,
        ) = sqlx::query_as(
            "SELECT name, crm_account_id, sem_specialist_id, monthly_budget_cents, ad_products,
                    status, version FROM clients WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&self.app.db)
        .await
        .unwrap();
        let mut form: Vec<(&str, String)> = vec![
            ("name", name),
            ("crm_account_id", crm),
            ("account_manager_id", am.to_string()),
            (
                "sem_specialist_id",
                sem.map(|s| s.to_string()).unwrap_or_default(),
            ),
            ("monthly_budget", format!("{:.2}", budget as f64 / 100.0)),
            ("status", status),
            ("version", version.to_string()),
        ];
        for p in products {
            form.push(("ad_products", p));
        }
        self.post(self.index_of("admin"), &format!("/clients/{id}"), &form)
            .await
    }
}
