//! Failing fast while the database is away. Once a request finds it unreachable, the requests
//! after it are answered 503 at once instead of each waiting out the pool's timeout; one
//! request at a time is let through as a probe that asks the database first, and the first
//! probe that gets an answer opens the doors again.

use std::sync::atomic::{AtomicBool, Ordering};

/// Addresses answered whatever the database does, never refused nor made the probe: the
/// metrics, which say themselves that the database is away (and go dark otherwise).
pub const ALWAYS_ANSWERED: &[&str] = &["/metrics"];

/// Whether the database was unreachable at the last try, and whether a request is trying now.
#[derive(Debug, Default)]
pub struct Outage {
    down: AtomicBool,
    probing: AtomicBool,
}

/// A request's way through: refused at once, or let through (maybe as the one probe).
#[derive(Debug)]
pub struct Ticket<'a> {
    outage: &'a Outage,
    probe: bool,
    refused: bool,
}

impl Outage {
    /// Lets a request through, as the probe while the database is down, or refuses it.
    pub fn admit(&self) -> Ticket<'_> {
        let mut ticket = Ticket {
            outage: self,
            probe: false,
            refused: false,
        };
        if self.down.load(Ordering::Acquire) {
            if self
                .probing
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                ticket.probe = true;
            } else {
                ticket.refused = true;
            }
        }
        ticket
    }

    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Acquire)
    }
}

impl Ticket<'_> {
    /// The request is to be answered 503 without trying the database.
    pub fn refused(&self) -> bool {
        self.refused
    }

    /// This request is the one that asks whether the database is back.
    pub fn is_probe(&self) -> bool {
        self.probe
    }

    /// The database could not be reached: the requests after this one fail fast.
    pub fn unreachable(&self) {
        self.outage.down.store(true, Ordering::Release);
    }

    /// The probe got an answer: everyone passes again.
    pub fn reachable(&self) {
        self.outage.down.store(false, Ordering::Release);
    }
}

impl Drop for Ticket<'_> {
    /// A probe that ends, even one whose client went away, lets the next request probe.
    fn drop(&mut self) {
        if self.probe {
            self.outage.probing.store(false, Ordering::Release);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_pass_while_the_database_answers() {
        let o = Outage::default();
        let (a, b) = (o.admit(), o.admit());
        assert!(!a.refused() && !b.refused());
        assert!(!a.is_probe() && !b.is_probe());
        assert!(!o.is_down());
    }

    #[test]
    fn after_a_failure_one_probe_passes_and_the_rest_are_refused_at_once() {
        let o = Outage::default();
        o.admit().unreachable();
        assert!(o.is_down());
        let probe = o.admit();
        assert!(probe.is_probe() && !probe.refused());
        assert!(o.admit().refused());
        assert!(o.admit().refused());
        // The probe finds it still away: down, and the next request is the next probe.
        probe.unreachable();
        drop(probe);
        let next = o.admit();
        assert!(next.is_probe());
        assert!(o.admit().refused());
        // It answers: everyone passes again.
        next.reachable();
        drop(next);
        assert!(!o.is_down());
        assert!(!o.admit().refused());
        assert!(!o.admit().is_probe());
    }

    #[test]
    fn a_probe_dropped_midway_frees_the_next() {
        let o = Outage::default();
        o.admit().unreachable();
        let probe = o.admit();
        drop(probe);
        assert!(o.admit().is_probe(), "a new probe may go");
    }

    #[test]
    fn only_a_probe_ends_an_outage() {
        let o = Outage::default();
        let early = o.admit();
        o.admit().unreachable();
        // A request let in before (or a static file) says nothing about the database.
        drop(early);
        assert!(o.is_down());
    }
}
