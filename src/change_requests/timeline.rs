//! The request's timeline: its audit records, each told as a sentence.

use sqlx::PgConnection;

use super::db::{self, Event};
use crate::audit::sentences::{Names, sentence};

/// The latest part of the request's timeline.
#[derive(Debug)]
pub struct Timeline {
    pub events: Vec<Event>,
    /// Entries older than those shown (0 when the whole timeline is shown).
    pub earlier: i64,
}

impl Timeline {
    /// The latest `shown` entries of request `id`'s timeline (all with `None`).
    pub(super) async fn load(
        conn: &mut PgConnection,
        id: i64,
        shown: Option<i64>,
    ) -> sqlx::Result<Self> {
        let mut events = db::timeline(&mut *conn, id, shown).await?;
        let names = Names::load(conn, events.iter().map(|e| &e.details)).await?;
        for e in &mut events {
            e.what = sentence(&e.action, &e.details, &names);
        }
        let earlier = events.first().map_or(0, |e| e.total - events.len() as i64);
        Ok(Timeline { events, earlier })
    }
}

impl Event {
    /// Who did it: "Dana Ortiz (DM Operations Lead)", the desk itself, or the label recorded.
    pub fn who(&self) -> String {
        crate::audit::sentences::who(
            &self.actor_label,
            self.actor_name.as_deref(),
            self.actor_roles.as_deref(),
        )
    }
}
