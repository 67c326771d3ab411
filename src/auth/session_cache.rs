//! The signed-in user without a round trip: sessions this instance loaded lately, kept in
//! memory and forgotten the moment the database says they changed.
//!
//! The database tells every instance: triggers on `users` (an update of anything a session
//! carries: email, name, roles, disabled, password; a delete; a truncate) and on `sessions`
//! (deleted or truncated, or its time limits moved back) call `pg_notify`, delivered when the
//! change commits (migration 23). Each instance listens on a connection of its own and drops
//! that user's sessions (all of them for a truncate). The handler that makes such a change
//! also forgets them here once it has committed, so this instance does not wait for its own
//! notice (before the commit, the committed row is still the one to serve).
//!
//! What keeps it honest when a notice could be missed:
//! - nothing is kept or served unless the listener is listening *and heard something lately*:
//!   each instance sends a beat through the channel every 5 s, and a listener that heard
//!   nothing for 15 s (a connection silently gone, a pooler that swallows notices) is taken as
//!   deaf: everything is forgotten and it listens anew on a new connection;
//! - when the listener's connection is lost everything is forgotten, and nothing is kept
//!   again until it listens again;
//! - a load that started before an invalidation does not keep what it read (a generation
//!   counter);
//! - an entry lives at most [`SessionCache::ttl`] (a minute, or a quarter of the idle limit)
//!   and never past the session's absolute expiry as the database reckons it; the database is
//!   asked again after that, which also keeps the session's "last seen" current.
//!
//! The window left: a request that arrives between a change's commit on another instance and
//! its notice reaching this one (a millisecond on one host) is answered as before the change;
//! LISTEN needs a direct (or session-pooled) connection to PostgreSQL.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sqlx::PgPool;
use sqlx::postgres::{PgListener, PgPoolOptions};

use super::session::CurrentUser;

/// The channel the triggers notify on; the payload is a user's id, or `all`.
pub const CHANNEL: &str = "desk_sessions";

/// A payload that is no user's id: a marker [`SessionCache::synced`] waits for.
const SYNC_PREFIX: &str = "sync:";

/// The payload of a truncate (migration 23): every session is forgotten.
const ALL: &str = "all";

/// The payload each instance sends now and then to hear its own listener work.
const BEAT: &str = "beat";

/// How often each instance sends a beat.
const BEAT_EVERY: Duration = Duration::from_secs(5);

/// A listener that heard nothing for this long is taken as deaf.
const DEAF_AFTER: Duration = Duration::from_secs(15);

/// At most this many sessions are kept; when full, all are forgotten (and reloaded as used).
const MAX_ENTRIES: usize = 10_000;

struct Entry {
    user: CurrentUser,
    /// The earlier of the TTL's end and the session's absolute expiry.
    until: Instant,
}

/// Sessions kept by this instance, by the SHA-256 of their secret.
pub struct SessionCache {
    entries: Mutex<HashMap<Vec<u8>, Entry>>,
    /// Moves on with every invalidation.
    generation: AtomicU64,
    /// When the listener last heard anything, or `None` while it is not listening.
    heard: Mutex<Option<Instant>>,
    ttl: Duration,
    /// The last sync marker the listener saw.
    synced: tokio::sync::watch::Sender<String>,
}

impl SessionCache {
    /// A cache for sessions whose idle limit is `idle`; it keeps nothing until [`listen`] runs.
    ///
    /// [`listen`]: SessionCache::listen
    pub fn new(idle: Duration) -> Self {
        SessionCache {
            entries: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
            heard: Mutex::new(None),
            ttl: Self::ttl_for(idle),
            synced: tokio::sync::watch::Sender::new(String::new()),
        }
    }

    /// How long an entry is trusted: a minute, shorter when the idle limit is short, so the
    /// session's "last seen" (written when the database is asked) keeps up with its use.
    pub fn ttl_for(idle: Duration) -> Duration {
        (idle / 4).min(Duration::from_secs(60))
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Whether this instance is listening for changes and heard from the database lately (and
    /// so keeps and serves sessions).
    pub fn listening(&self) -> bool {
        matches!(*self.heard_lock(), Some(at) if at.elapsed() < DEAF_AFTER)
    }

    fn set_listening(&self, on: bool) {
        *self.heard_lock() = on.then(Instant::now);
    }

    /// The listener heard something: it works.
    fn heard_now(&self) {
        let mut heard = self.heard_lock();
        if heard.is_some() {
            *heard = Some(Instant::now());
        }
    }

    /// The user of a kept session that is still good, or `None` (ask the database).
    pub fn get(&self, hash: &[u8]) -> Option<CurrentUser> {
        if !self.listening() {
            return None;
        }
        let mut entries = self.lock();
        let entry = entries.get(hash)?;
        if Instant::now() < entry.until {
            return Some(entry.user.clone());
        }
        entries.remove(hash);
        None
    }

    /// The generation to hand to [`keep`](SessionCache::keep): read before asking the database.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Keeps a session read from the database, with `lifetime` left before its absolute
    /// expiry, unless something was invalidated since `generation` was read (what was read may
    /// predate it) or nobody is listening.
    pub fn keep(&self, user: &CurrentUser, lifetime: Duration, generation: u64) {
        if !self.listening() {
            return;
        }
        let mut entries = self.lock();
        // Checked under the lock invalidations take too: none can slip between check and insert.
        if self.generation() != generation {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        let mut user = user.clone();
        user.flash = None;
        entries.insert(
            user.session_hash.clone(),
            Entry {
                user,
                until: Instant::now() + self.ttl.min(lifetime),
            },
        );
    }

    /// Forgets every session of `user_id` (their account or one of their sessions changed).
    pub fn forget_user(&self, user_id: i64) {
        let mut entries = self.lock();
        self.generation.fetch_add(1, Ordering::SeqCst);
        entries.retain(|_, e| e.user.id != user_id);
    }

    /// Forgets one session (it ended).
    pub fn forget_session(&self, hash: &[u8]) {
        let mut entries = self.lock();
        self.generation.fetch_add(1, Ordering::SeqCst);
        entries.remove(hash);
    }

    /// Forgets everything (a notice may have been missed).
    pub fn forget_all(&self) {
        let mut entries = self.lock();
        self.generation.fetch_add(1, Ordering::SeqCst);
        entries.clear();
    }

    /// How many sessions are kept.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Vec<u8>, Entry>> {
        // A panic while holding the lock leaves a map that is still consistent.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn heard_lock(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.heard.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Acts on one notice's payload.
    fn notified(&self, payload: &str) {
        self.heard_now();
        match payload {
            BEAT => {}
            ALL => self.forget_all(),
            _ => {
                if let Some(marker) = payload.strip_prefix(SYNC_PREFIX) {
                    self.synced.send_replace(marker.to_string());
                } else if let Ok(user_id) = payload.parse::<i64>() {
                    self.forget_user(user_id);
                } else {
                    tracing::warn!(
                        payload,
                        "unexpected session notice: forgetting every session"
                    );
                    self.forget_all();
                }
            }
        }
    }

    /// Listens for changes on a connection of its own (not one of `pool`'s), and sends a beat
    /// through `pool` every few seconds: a listener that stops hearing them, or loses its
    /// connection, is replaced after a second. Runs until the process ends.
    pub fn listen(self: &Arc<Self>, pool: &PgPool) {
        let options = pool.connect_options();
        let (cache, pool) = (self.clone(), pool.clone());
        tokio::spawn(async move {
            let own = PgPoolOptions::new()
                .max_connections(1)
                .min_connections(0)
                .max_lifetime(None)
                .idle_timeout(None)
                .connect_lazy_with((*options).clone());
            loop {
                let mut listener = tokio::spawn({
                    let (cache, own) = (cache.clone(), own.clone());
                    async move { cache.listen_once(&own).await }
                });
                let mut beat = tokio::time::interval(BEAT_EVERY);
                beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        ended = &mut listener => {
                            if let Ok(Err(e)) = ended {
                                tracing::debug!(error = %e, "session notices: not listening");
                            }
                            break;
                        }
                        _ = beat.tick() => {}
                    }
                    if cache.heard_lock().is_some() {
                        if !cache.listening() {
                            tracing::warn!("session notices: none heard lately; listening anew");
                            listener.abort();
                            break;
                        }
                        let _ = sqlx::query("SELECT pg_notify($1, $2)")
                            .bind(CHANNEL)
                            .bind(BEAT)
                            .execute(&pool)
                            .await;
                    }
                }
                cache.set_listening(false);
                cache.forget_all();
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }

    /// One connection's life: listen, then act on notices until it is lost.
    async fn listen_once(&self, own: &PgPool) -> sqlx::Result<()> {
        let mut listener = PgListener::connect_with(own).await?;
        listener.eager_reconnect(false);
        listener.listen(CHANNEL).await?;
        // Anything kept before now may have missed a notice.
        self.forget_all();
        self.set_listening(true);
        tracing::debug!("session notices: listening");
        let ended = loop {
            match listener.try_recv().await {
                Ok(Some(notice)) => self.notified(notice.payload()),
                // The connection was lost, or failed: notices may have been missed.
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        self.set_listening(false);
        self.forget_all();
        ended
    }

    /// Waits until this instance has seen every notice committed before the call (a marker
    /// sent now arrives after them); `false` if it is not listening or takes over 5 s.
    /// For tests that change a user or session in SQL and then ask as them.
    pub async fn synced(&self, pool: &PgPool) -> bool {
        if !self.listening() {
            return false;
        }
        let marker = crate::auth::token::random_hex(8);
        let mut seen = self.synced.subscribe();
        if sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(format!("{SYNC_PREFIX}{marker}"))
            .execute(pool)
            .await
            .is_err()
        {
            return false;
        }
        tokio::time::timeout(Duration::from_secs(5), seen.wait_for(|m| *m == marker))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Waits (up to 5 s) until the listener listens; for start-up in tests and benchmarks.
    pub async fn wait_listening(&self) -> bool {
        for _ in 0..500 {
            if self.listening() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::roles::RoleSet;

    fn user(id: i64, hash: u8) -> CurrentUser {
        CurrentUser {
            id,
            email: format!("u{id}@x.test"),
            display_name: format!("U {id}"),
            roles: RoleSet::default(),
            session_hash: vec![hash; 32],
            flash: Some("not kept".into()),
            flash_shown: Default::default(),
        }
    }

    fn listening(idle: Duration) -> SessionCache {
        let c = SessionCache::new(idle);
        c.set_listening(true);
        c
    }

    fn later() -> Duration {
        Duration::from_secs(3600)
    }

    #[test]
    fn nothing_is_kept_while_not_listening() {
        let c = SessionCache::new(Duration::from_secs(1800));
        c.keep(&user(1, 1), later(), c.generation());
        assert!(c.is_empty());
        assert!(c.get(&[1; 32]).is_none());
        // Kept while listening, then the listener is lost: nothing is served.
        c.set_listening(true);
        c.keep(&user(1, 1), later(), c.generation());
        assert!(c.get(&[1; 32]).is_some());
        c.set_listening(false);
        assert!(c.get(&[1; 32]).is_none());
        // Listening, but nothing heard for too long: taken as deaf, nothing served or kept.
        c.set_listening(true);
        c.keep(&user(1, 1), later(), c.generation());
        *c.heard_lock() = Some(Instant::now() - DEAF_AFTER);
        assert!(!c.listening());
        assert!(c.get(&[1; 32]).is_none());
        c.keep(&user(2, 2), later(), c.generation());
        assert!(c.get(&[2; 32]).is_none());
        // A beat is heard: it works again.
        c.notified(BEAT);
        assert!(c.listening());
    }

    #[test]
    fn a_kept_session_comes_back_without_its_flash() {
        let c = listening(Duration::from_secs(1800));
        c.keep(&user(1, 1), later(), c.generation());
        let got = c.get(&[1; 32]).unwrap();
        assert_eq!(got.id, 1);
        assert_eq!(got.flash, None);
        assert!(c.get(&[2; 32]).is_none());
    }

    #[test]
    fn forgetting_a_user_drops_all_their_sessions_and_only_theirs() {
        let c = listening(Duration::from_secs(1800));
        c.keep(&user(1, 1), later(), c.generation());
        c.keep(&user(1, 2), later(), c.generation());
        c.keep(&user(2, 3), later(), c.generation());
        c.notified("1");
        assert!(c.get(&[1; 32]).is_none());
        assert!(c.get(&[2; 32]).is_none());
        assert!(c.get(&[3; 32]).is_some());
        c.keep(&user(2, 3), later(), c.generation());
        c.notified("all");
        assert!(c.is_empty(), "a truncate forgets everyone");
    }

    #[test]
    fn a_load_that_began_before_an_invalidation_is_not_kept() {
        let c = listening(Duration::from_secs(1800));
        let before = c.generation();
        c.forget_user(9);
        c.keep(&user(1, 1), later(), before);
        assert!(c.is_empty());
        c.keep(&user(1, 1), later(), c.generation());
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn entries_end_at_the_ttl_and_at_the_absolute_expiry() {
        assert_eq!(
            SessionCache::ttl_for(Duration::from_secs(1800)),
            Duration::from_secs(60)
        );
        assert_eq!(
            SessionCache::ttl_for(Duration::from_secs(120)),
            Duration::from_secs(30)
        );
        let c = listening(Duration::from_millis(800));
        c.keep(&user(1, 1), later(), c.generation());
        assert!(c.get(&[1; 32]).is_some());
        std::thread::sleep(Duration::from_millis(250));
        assert!(c.get(&[1; 32]).is_none(), "past the TTL of 200 ms");
        // A session with no life left is not served.
        let c = listening(Duration::from_secs(1800));
        c.keep(&user(1, 1), Duration::ZERO, c.generation());
        assert!(c.get(&[1; 32]).is_none());
    }

    #[test]
    fn sync_markers_are_not_user_ids() {
        let c = listening(Duration::from_secs(1800));
        c.keep(&user(1, 1), later(), c.generation());
        c.notified("sync:abc");
        assert_eq!(*c.synced.borrow(), "abc");
        assert_eq!(c.len(), 1);
    }
}
