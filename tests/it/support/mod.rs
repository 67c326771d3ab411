//! What the tests share: a real app on a real port over a fresh database, people to sign in
//! as, an HTTP client, and a real browser.

pub mod browser;
pub mod db;
pub mod fixtures;
pub mod oidc;
pub mod smtp;

pub use crate::shared::client;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use offboarding_desk::auth::roles::Role;
use offboarding_desk::auth::{password, session};
use offboarding_desk::config::Config;
use offboarding_desk::web::AppState;
use sqlx::PgPool;

/// The password every user made by [`TestApp::user`] has.
pub const PASSWORD: &str = "correct horse battery";

/// One running app on its own database.
pub struct TestApp {
    pub base: String,
    pub db: PgPool,
    pub state: AppState,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn password_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| password::hash(PASSWORD).expect("hash"))
}

impl TestApp {
    /// Starts the app on 127.0.0.1 and a free port, over a fresh database.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// As [`spawn`], letting the test adjust the configuration first.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
        Self::spawn_on(db::fresh_database().await, 8, adjust).await
    }

    /// As [`spawn`], with a pool of one connection: every request uses the same one, so its
    /// prepared statements (`pg_prepared_statements`) are all of them.
    pub async fn spawn_on_one_connection() -> TestApp {
        Self::spawn_on(db::fresh_database().await, 1, |_| {}).await
    }

    /// A second instance of the app on `other`'s database, as a deployment runs several.
    pub async fn spawn_beside(other: &TestApp) -> TestApp {
        let url = other
            .state
            .config
            .database_url
            .clone()
            .expect("a test app has its database's address");
        Self::spawn_on(url, 8, |_| {}).await
    }

    /// An instance on the database at `url` (one restored from a backup, say).
    pub async fn spawn_on_database(url: String) -> TestApp {
        Self::spawn_on(url, 8, |_| {}).await
    }

    /// As [`spawn_with`], on a listener the test bound first (so that something started
    /// before the app, an identity provider, knows the app's address).
    pub async fn spawn_on_listener(
        listener: tokio::net::TcpListener,
        adjust: impl FnOnce(&mut Config),
    ) -> TestApp {
        Self::spawn_listening(listener, db::fresh_database().await, 8, adjust).await
    }

    async fn spawn_on(url: String, connections: u32, adjust: impl FnOnce(&mut Config)) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::spawn_listening(listener, url, connections, adjust).await
    }

    async fn spawn_listening(
        listener: tokio::net::TcpListener,
        url: String,
        connections: u32,
        adjust: impl FnOnce(&mut Config),
    ) -> TestApp {
        let addr = listener.local_addr().unwrap();
        let mut config = Config::from_lookup(false, |_| None).expect("default configuration");
        config.bind_addr = addr;
        config.base_url = format!("http://{addr}");
        config.database_url = Some(url.clone());
        // The tests reckon their dates in UTC; a test about the agency's zone sets its own.
        config.time_zone = chrono_tz::Tz::UTC;
        adjust(&mut config);
        let pool = offboarding_desk::db::pool_options()
            .min_connections(0)
            .max_connections(connections)
            .connect_with(offboarding_desk::db::connect_options(&url).unwrap())
            .await
            .expect("connect to the test database");
        let state = AppState::new(pool.clone(), Arc::new(config));
        // As the app does: sessions are kept in memory once the change notices are heard.
        state.sessions.listen(&pool);
        assert!(
            state.sessions.wait_listening().await,
            "listening for session notices"
        );
        let app = offboarding_desk::app(state.clone());
        let server = tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .expect("serve");
        });
        TestApp {
            base: format!("http://{addr}"),
            db: pool,
            state,
            server,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The answer to a GET of `path` from the session in `cookie` (redirects not followed).
    pub async fn get(&self, cookie: &str, path: &str) -> reqwest::Response {
        client()
            .get(self.url(path))
            .header("cookie", crate::shared::with_flash(cookie))
            .send()
            .await
            .unwrap()
    }

    /// The answer to a form POSTed to `path` from the session in `cookie` (redirects not
    /// followed).
    pub async fn post(&self, cookie: &str, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        client()
            .post(self.url(path))
            .header("cookie", cookie)
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// The same POST in a task of its own, to meet another change while it runs; the task
    /// gives the answer's status.
    pub fn post_in_background(
        &self,
        cookie: &str,
        path: &str,
        form: &[(&'static str, &'static str)],
    ) -> tokio::task::JoinHandle<u16> {
        let request = client()
            .post(self.url(path))
            .header("cookie", cookie)
            .form(form);
        tokio::spawn(async move { request.send().await.unwrap().status().as_u16() })
    }

    /// The HTML of `path` as the session in `cookie` sees it.
    pub async fn page(&self, cookie: &str, path: &str) -> String {
        self.get(cookie, path).await.text().await.unwrap()
    }

    /// Creates a user with `roles` and [`PASSWORD`]; returns the id.
    pub async fn user(&self, email: &str, roles: &[Role]) -> i64 {
        let keys: Vec<&str> = roles.iter().map(|r| r.key()).collect();
        sqlx::query_scalar(
            "INSERT INTO users (email, display_name, password_hash, roles)
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(email)
        .bind(format!("Test {}", email.split('@').next().unwrap_or(email)))
        .bind(password_hash())
        .bind(&keys)
        .fetch_one(&self.db)
        .await
        .expect("insert user")
    }

    /// A session for `user_id`, as the cookie header a signed-in browser would send.
    /// A session cookie for the user with `email` (a demo account, say).
    pub async fn cookie_for(&self, email: &str) -> String {
        let id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
            .bind(email)
            .fetch_one(&self.db)
            .await
            .unwrap();
        self.session_cookie(id).await
    }

    pub async fn session_cookie(&self, user_id: i64) -> String {
        let mut conn = self.db.acquire().await.unwrap();
        let secret = session::create(
            &mut conn,
            user_id,
            self.state.config.session_absolute,
            "127.0.0.1",
            "test",
        )
        .await
        .unwrap();
        format!("od_session={secret}")
    }

    /// Sends what the outbox holds now, as the app's worker would, and says how many went.
    pub async fn deliver_mail(&self) -> usize {
        use offboarding_desk::notifications::{clock::SystemClock, mailer::Mailer, worker::Worker};
        let mailer = Mailer::from_config(&self.state.config.mail).expect("mailer");
        Worker::new(
            self.db.clone(),
            Arc::new(mailer),
            Arc::new(SystemClock),
            offboarding_desk::server::job_runner(&self.state.config),
            std::time::Duration::from_secs(2),
        )
        .counting(self.state.metrics.clone())
        .telling_chat(
            offboarding_desk::chat::Sender::new(
                &self.state.config.base_url,
                std::time::Duration::from_secs(5),
            )
            .expect("the chat sender"),
        )
        .send_due()
        .await
        .expect("deliver the outbox")
    }

    /// Waits until this app has heard every session notice committed so far: after a test
    /// changes a user or a session in SQL, as the admin pages would, the next request sees it.
    pub async fn sessions_synced(&self) {
        assert!(
            self.state.sessions.synced(&self.db).await,
            "the app heard the session notices"
        );
    }

    /// Number of audit events with `action`.
    pub async fn audit_count(&self, action: &str) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE action = $1")
            .bind(action)
            .fetch_one(&self.db)
            .await
            .unwrap()
    }
}

/// Configuration that sends email to a test SMTP server on loopback `port`.
pub fn mail_to(config: &mut Config, port: u16) {
    config.mail.smtp = Some(offboarding_desk::config::SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        tls: offboarding_desk::config::SmtpTls::None,
        credentials: None,
        timeout: std::time::Duration::from_secs(2),
    });
}

/// The message a page shows at its top (the flash), or empty when it shows none.
pub fn flash(page: &str) -> String {
    let Some(at) = page.find("id=\"flash\">") else {
        return String::new();
    };
    let start = at + "id=\"flash\">".len();
    let end = page[start..].find("</p>").map_or(start, |e| start + e);
    page[start..end].to_string()
}

/// The `Location` header of a response.
pub fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// The session secret from a `Set-Cookie` answer to a sign-in.
pub fn session_from(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| {
            c.strip_prefix("od_session=")
                .map(|rest| rest.split(';').next().unwrap_or("").to_string())
        })
        .filter(|s| !s.is_empty())
}
