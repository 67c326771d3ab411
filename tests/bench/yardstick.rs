//! The yardstick: the barest handlers axum, sqlx and askama make, on the same database as the
//! app and with the same pool size, with no sessions, CSRF, authorization, audit or layers.
//! `GET /fortunes` does what TechEmpower's fortunes test does (one query, add a row, sort,
//! render an escaped HTML table); `POST /update` updates one random row.

use std::net::SocketAddr;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Html;
use axum::routing::{get, post};
use sqlx::PgPool;

#[derive(sqlx::FromRow)]
struct Fortune {
    id: i32,
    message: String,
}

#[derive(Template)]
#[template(
    ext = "html",
    source = "<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table>\
<tr><th>id</th><th>message</th></tr>{% for f in fortunes %}<tr><td>{{ f.id }}</td><td>{{ f.message }}</td></tr>{% endfor %}\
</table></body></html>"
)]
struct FortunesPage {
    fortunes: Vec<Fortune>,
}

async fn fortunes(State(db): State<PgPool>) -> Result<Html<String>, StatusCode> {
    let mut fortunes: Vec<Fortune> = sqlx::query_as("SELECT id, message FROM bench_fortunes")
        .fetch_all(&db)
        .await
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    fortunes.push(Fortune {
        id: 0,
        message: "Additional fortune added at request time.".into(),
    });
    fortunes.sort_by(|a, b| a.message.cmp(&b.message));
    FortunesPage { fortunes }
        .render()
        .map(Html)
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)
}

async fn update(State(db): State<PgPool>) -> StatusCode {
    let id: i32 = rand::random_range(1..=10_000);
    match sqlx::query("UPDATE bench_counters SET n = n + 1 WHERE id = $1")
        .bind(id)
        .execute(&db)
        .await
    {
        Ok(_) => StatusCode::NO_CONTENT,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Serves the yardstick on a free loopback port, in a runtime of its own with as many worker
/// threads as the app's, and returns its address.
pub fn start(database_url: String) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("yardstick runtime");
        runtime.block_on(async move {
            let db = offboarding_desk::db::serving_pool_options()
                .connect_with(
                    offboarding_desk::db::connect_options(&database_url).expect("database URL"),
                )
                .await
                .expect("the yardstick connects to the database");
            offboarding_desk::db::warm(&db);
            let app = Router::new()
                .route("/fortunes", get(fortunes))
                .route("/update", post(update))
                .with_state(db);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("yardstick port");
            tx.send(listener.local_addr().expect("address"))
                .expect("report address");
            axum::serve(listener, app).await.expect("yardstick serves");
        });
    });
    rx.recv().expect("the yardstick started")
}
