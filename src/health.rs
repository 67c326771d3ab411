//! `GET /healthz`: 200 when the database answers, 503 when it does not.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;

use crate::auth::access::Access;
use crate::web::{AppState, Routes};

pub fn routes(r: Routes) -> Routes {
    r.get("/healthz", Access::Public, healthz)
}

async fn healthz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    let check = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&state.db);
    match tokio::time::timeout(Duration::from_secs(2), check).await {
        Ok(Ok(_)) => (StatusCode::OK, "ok\n"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n"),
    }
}
