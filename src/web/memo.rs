//! Results worth keeping while what they were computed from is unchanged: a small map, shared by
//! every request of one app, from a key to a value computed once. The key must name everything
//! the value depends on (Reports: the filter, the minute, and the latest audit record, which
//! every change writes), so a kept value is the value computing it again would give; nothing is
//! ever invalidated, an old key just stops being asked for and is dropped when the map is full.
//!
//! Requests asking for the same key at once wait for one computation rather than each running
//! it (a report costs the database a second on a large department). A key may belong to a
//! family (Reports: the same filter and record, another minute): while a new member is computed
//! in the background, the family's latest value is given, so nobody waits when only the clock
//! moved on ([`Memo::get_or_refresh`]); a value older than [`LENT_AT_MOST`] is not lent (a
//! computation that keeps failing then fails in front of the asker, who learns of it).

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

type Value = Arc<dyn Any + Send + Sync>;

/// How old a family's value may be and still be given while a newer member is computed.
pub const LENT_AT_MOST: Duration = Duration::from_secs(5 * 60);

struct Entry {
    value: Arc<OnceCell<Value>>,
    /// The family it belongs to, if any.
    family: Option<String>,
    /// When it was last asked for, as a count of requests (the oldest goes first).
    used: u64,
    /// When it was first asked for, as that count and as a time (the newest of a family is
    /// the one lent).
    made: (u64, Instant),
}

/// The kept values; at most `capacity` of them.
pub struct Memo {
    capacity: usize,
    /// How old a value may be and still be lent to its family ([`LENT_AT_MOST`]).
    lend_for: Duration,
    entries: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    map: HashMap<String, Entry>,
    clock: u64,
}

impl Memo {
    pub fn new(capacity: usize) -> Self {
        Memo {
            capacity: capacity.max(1),
            lend_for: LENT_AT_MOST,
            entries: Mutex::default(),
        }
    }

    /// The value kept for `key`, or the one `compute` gives, kept for the next request. A
    /// failed computation keeps nothing: the next request tries again.
    pub async fn get_or_compute<T, E, F, Fut>(&self, key: String, compute: F) -> Result<Arc<T>, E>
    where
        T: Any + Send + Sync,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let (cell, _) = self.cell_in(key, None);
        let value = cell
            .get_or_try_init(|| async { compute().await.map(|v| Arc::new(v) as Value) })
            .await?
            .clone();
        Ok(typed(value))
    }

    /// The value kept for `key`; if it is not computed yet and a value of the same `family`
    /// is, that one at once, while `key`'s is computed in the background (a failure there
    /// keeps nothing: a later request tries again); otherwise as [`Memo::get_or_compute`].
    pub async fn get_or_refresh<T, E, F, Fut>(
        self: &Arc<Self>,
        family: String,
        key: String,
        compute: F,
    ) -> Result<Arc<T>, E>
    where
        T: Any + Send + Sync,
        E: std::fmt::Display + Send + 'static,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
    {
        let (cell, made) = self.cell_in(key.clone(), Some(family.clone()));
        if let Some(value) = cell.get() {
            return Ok(typed(value.clone()));
        }
        // Each asker holds the cell through a guard: the last to let go of a cell left without
        // a value (a failure, a panic, the askers gone) forgets its entry, so that the next
        // asker starts it again; while anyone still computes or waits, it stays.
        let held = Held {
            memo: self.clone(),
            key,
            cell: Some(cell),
        };
        let Some(stale) = self.latest_of(&family) else {
            let value = held
                .cell()
                .get_or_try_init(|| async { compute().await.map(|v| Arc::new(v) as Value) })
                .await?
                .clone();
            return Ok(typed(value));
        };
        // Computed in the background by whoever made the entry.
        if made {
            tokio::spawn(async move {
                let done = held
                    .cell()
                    .get_or_try_init(|| async { compute().await.map(|v| Arc::new(v) as Value) })
                    .await;
                if let Err(e) = done {
                    tracing::warn!(error = %e, "a kept value could not be computed again");
                }
            });
        }
        Ok(typed(stale))
    }

    /// The computed value of `family` first asked for last, unless older than [`LENT_AT_MOST`].
    fn latest_of(&self, family: &str) -> Option<Value> {
        let inner = self.lock();
        inner
            .map
            .values()
            .filter(|e| e.family.as_deref() == Some(family) && e.made.1.elapsed() < self.lend_for)
            .filter_map(|e| e.value.get().map(|v| (e.made.0, v)))
            .max_by_key(|(made, _)| *made)
            .map(|(_, v)| v.clone())
    }

    /// Lets go of `cell` (`key`'s), dropping its entry when it has no value and nobody else
    /// holds it (the map's own hold aside). Under the map's lock, so that of two askers letting
    /// go at once the second sees the first gone.
    fn let_go(&self, key: &str, cell: Arc<OnceCell<Value>>) {
        let mut inner = self.lock();
        let in_map = inner
            .map
            .get(key)
            .is_some_and(|e| Arc::ptr_eq(&e.value, &cell));
        if in_map && !cell.initialized() && Arc::strong_count(&cell) == 2 {
            inner.map.remove(key);
        }
        drop(cell);
    }

    /// How many values are kept (for the tests of eviction).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().map.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves the map whole (every change to it is one call).
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cell for `key` (of `family`), made if missing (then `true`); the least recently
    /// used entry goes when full.
    fn cell_in(&self, key: String, family: Option<String>) -> (Arc<OnceCell<Value>>, bool) {
        let mut inner = self.lock();
        inner.clock += 1;
        let now = inner.clock;
        if let Some(entry) = inner.map.get_mut(&key) {
            entry.used = now;
            return (entry.value.clone(), false);
        }
        if inner.map.len() >= self.capacity
            && let Some(oldest) = inner
                .map
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone())
        {
            inner.map.remove(&oldest);
        }
        let value = Arc::new(OnceCell::new());
        inner.map.insert(
            key,
            Entry {
                value: value.clone(),
                family,
                used: now,
                made: (now, Instant::now()),
            },
        );
        (value, true)
    }
}

/// An asker's hold on a cell (see [`Memo::let_go`]).
struct Held {
    memo: Arc<Memo>,
    key: String,
    /// Taken when let go.
    cell: Option<Arc<OnceCell<Value>>>,
}

impl Held {
    fn cell(&self) -> &OnceCell<Value> {
        self.cell.as_deref().expect("held until dropped")
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(cell) = self.cell.take() {
            self.memo.let_go(&self.key, cell);
        }
    }
}

fn typed<T: Any + Send + Sync>(value: Value) -> Arc<T> {
    value
        .downcast::<T>()
        .unwrap_or_else(|_| panic!("a memo key names two kinds of value"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn a_value_is_computed_once_per_key_and_a_failure_is_not_kept() {
        let memo = Memo::new(8);
        let runs = AtomicU32::new(0);
        let compute = |v: u32| {
            let runs = &runs;
            move || async move {
                runs.fetch_add(1, Ordering::SeqCst);
                Ok::<u32, ()>(v)
            }
        };
        assert_eq!(
            *memo.get_or_compute("a".into(), compute(1)).await.unwrap(),
            1
        );
        assert_eq!(
            *memo.get_or_compute("a".into(), compute(2)).await.unwrap(),
            1
        );
        assert_eq!(
            *memo.get_or_compute("b".into(), compute(3)).await.unwrap(),
            3
        );
        assert_eq!(runs.load(Ordering::SeqCst), 2);

        let failed = memo
            .get_or_compute::<u32, _, _, _>("c".into(), || async { Err("down") })
            .await;
        assert_eq!(failed, Err("down"));
        assert_eq!(
            *memo.get_or_compute("c".into(), compute(4)).await.unwrap(),
            4
        );
    }

    #[tokio::test]
    async fn requests_asking_at_once_share_one_computation() {
        let memo = Memo::new(8);
        let runs = AtomicU32::new(0);
        let ask = || {
            memo.get_or_compute("k".into(), || async {
                runs.fetch_add(1, Ordering::SeqCst);
                tokio::task::yield_now().await;
                Ok::<u32, ()>(7)
            })
        };
        let (a, b, c) = tokio::join!(ask(), ask(), ask());
        assert_eq!((*a.unwrap(), *b.unwrap(), *c.unwrap()), (7, 7, 7));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn while_a_family_member_is_computed_the_latest_one_is_given() {
        let memo = Arc::new(Memo::new(8));
        let runs = Arc::new(AtomicU32::new(0));
        let release = Arc::new(tokio::sync::Notify::new());
        let ask = |key: &str, v: u32, wait: bool| {
            let (runs, release, memo) = (runs.clone(), release.clone(), memo.clone());
            let key = key.to_string();
            async move {
                memo.get_or_refresh("f".into(), key, move || async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    if wait {
                        release.notified().await;
                    }
                    if v == 0 {
                        Err("down")
                    } else {
                        Ok::<u32, &str>(v)
                    }
                })
                .await
            }
        };
        // The first of a family has nothing to give instead: it waits for its value.
        assert_eq!(*ask("f 10:41", 1, false).await.unwrap(), 1);
        // The next minute's is computed in the background; until it is there, 10:41's is given,
        // to the asker who started it and to the next, with one computation.
        assert_eq!(*ask("f 10:42", 2, true).await.unwrap(), 1);
        let settle = || async {
            for _ in 0..100 {
                tokio::task::yield_now().await;
            }
        };
        settle().await;
        assert_eq!(*ask("f 10:42", 9, false).await.unwrap(), 1);
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        release.notify_one();
        settle().await;
        assert_eq!(*ask("f 10:42", 9, false).await.unwrap(), 2, "then its own");
        // A failure in the background keeps nothing: the next asker starts it again.
        assert_eq!(*ask("f 10:43", 0, false).await.unwrap(), 2);
        settle().await;
        assert_eq!(*ask("f 10:43", 3, false).await.unwrap(), 2);
        settle().await;
        assert_eq!(*ask("f 10:43", 9, false).await.unwrap(), 3);
        assert_eq!(runs.load(Ordering::SeqCst), 4);
        // Nor does a value older than the limit (here any): the asker waits for the new one.
        let mut shorter = Memo::new(8);
        shorter.lend_for = Duration::ZERO;
        let shorter = Arc::new(shorter);
        let fresh = |key: &'static str, v: u32| {
            shorter.get_or_refresh(
                "f".into(),
                key.into(),
                move || async move { Ok::<u32, &str>(v) },
            )
        };
        assert_eq!(*fresh("f 10:41", 1).await.unwrap(), 1);
        assert_eq!(*fresh("f 10:44", 4).await.unwrap(), 4, "too old to lend");
        // Another family does not lend its values.
        let other = memo
            .get_or_refresh("g".into(), "g 10:43".into(), || async {
                Ok::<u32, &str>(7)
            })
            .await;
        assert_eq!(*other.unwrap(), 7);
    }

    #[tokio::test]
    async fn a_computation_that_panics_or_fails_is_started_again_by_the_next_asker() {
        let memo = Arc::new(Memo::new(8));
        let one = memo
            .get_or_refresh("f".into(), "f 1".into(), || async { Ok::<u32, &str>(1) })
            .await;
        assert_eq!(*one.unwrap(), 1);
        // In the background, a panic: the entry goes, the next asker starts it again.
        let panics = memo
            .get_or_refresh("f".into(), "f 2".into(), || async {
                if true {
                    panic!("a bug in the computation");
                }
                Ok::<u32, &str>(0)
            })
            .await;
        assert_eq!(*panics.unwrap(), 1);
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        let again = memo
            .get_or_refresh("f".into(), "f 2".into(), || async { Ok::<u32, &str>(2) })
            .await;
        assert_eq!(*again.unwrap(), 1, "lent while started again");
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        let two = memo
            .get_or_refresh("f".into(), "f 2".into(), || async { Ok::<u32, &str>(9) })
            .await;
        assert_eq!(*two.unwrap(), 2);
        // The first of a family failing in front of its asker leaves nothing behind either:
        // once another member has a value, the failed one is not left empty for ever.
        let failed = memo
            .get_or_refresh::<u32, _, _, _>("g".into(), "g 1".into(), || async { Err("down") })
            .await;
        assert_eq!(failed.err(), Some("down"));
        let g2 = memo
            .get_or_refresh("g".into(), "g 2".into(), || async { Ok::<u32, &str>(20) })
            .await;
        assert_eq!(*g2.unwrap(), 20);
        let g1 = memo
            .get_or_refresh("g".into(), "g 1".into(), || async { Ok::<u32, &str>(10) })
            .await;
        assert_eq!(*g1.unwrap(), 20, "lent, and g 1 computed again behind it");
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        let g1 = memo
            .get_or_refresh("g".into(), "g 1".into(), || async { Ok::<u32, &str>(11) })
            .await;
        assert_eq!(*g1.unwrap(), 10);
    }

    #[tokio::test]
    async fn a_waiter_that_takes_over_a_failed_computation_keeps_its_value() {
        let memo = Arc::new(Memo::new(8));
        let runs = Arc::new(AtomicU32::new(0));
        let ask = |v: u32| {
            let (memo, runs) = (memo.clone(), runs.clone());
            async move {
                memo.get_or_refresh("f".into(), "f 1".into(), move || async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    tokio::task::yield_now().await;
                    if v == 0 {
                        Err("down")
                    } else {
                        Ok::<u32, &str>(v)
                    }
                })
                .await
            }
        };
        // The first fails while the second waits on the same cell: the second computes it.
        let (first, second) = tokio::join!(ask(0), ask(5));
        assert_eq!(first.err(), Some("down"));
        assert_eq!(*second.unwrap(), 5);
        // It is kept: the next asker computes nothing.
        assert_eq!(*ask(9).await.unwrap(), 5);
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn when_full_the_least_recently_used_goes() {
        let memo = Memo::new(2);
        let put = |k: &'static str, v: u32| {
            memo.get_or_compute(k.into(), move || async move { Ok::<u32, ()>(v) })
        };
        put("a", 1).await.unwrap();
        put("b", 2).await.unwrap();
        put("a", 0).await.unwrap(); // a is used again: b is now the oldest
        put("c", 3).await.unwrap();
        assert_eq!(memo.len(), 2);
        assert_eq!(*put("a", 9).await.unwrap(), 1, "a was kept");
        assert_eq!(
            *put("b", 9).await.unwrap(),
            9,
            "b went and is computed again"
        );
    }
}
