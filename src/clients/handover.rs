//! A client's open work follows the people it moves to.

use sqlx::PgConnection;

use crate::audit::Actor;
use crate::web::AppState;
use crate::web::error::AppResult;

/// A client's account manager and SEM specialist, before and after a save.
pub(super) struct PeopleMoved {
    pub(super) client_id: i64,
    pub(super) manager: (Option<i64>, Option<i64>),
    pub(super) specialist: (Option<i64>, Option<i64>),
}

/// The client's open work follows its new account manager and its new SEM specialist.
/// Returns the requests that went to the new account manager.
pub(super) async fn hand_over_work(
    tx: &mut PgConnection,
    state: &AppState,
    actor: &Actor,
    moved: PeopleMoved,
) -> AppResult<Vec<i64>> {
    let (config, today, id) = (&state.config, state.clock.today(), moved.client_id);
    let (am_before, am_after) = moved.manager;
    let requests = crate::change_requests::handover::client_handed_over(
        tx, config, actor, today, id, am_before, am_after,
    )
    .await?;
    let (sem_before, sem_after) = moved.specialist;
    crate::operations::sem_handover::client_handed_over(
        tx, config, actor, id, sem_before, sem_after,
    )
    .await?;
    Ok(requests)
}
