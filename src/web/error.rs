//! One error type for every handler. It never renders details to the person: it marks the
//! response, and [`super::middleware::render_errors`] turns the mark into a page with the request
//! id and logs the detail once, inside the request's span.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// What went wrong, as far as the person asking needs to know.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Not allowed for this record, with the reason in words for the person.
    #[error("refused: {0}")]
    Refused(String),
    /// The database could not be reached in time.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// Every database connection stayed taken for the pool's whole wait.
    #[error("no database connection came free in time")]
    NoConnection,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Left in the response to a request that waited for a database connection in vain, for the
/// metrics.
#[derive(Clone, Copy, Debug)]
pub struct PoolTimedOut;

/// Left in a response's extensions for the error-page middleware.
#[derive(Clone, Debug)]
pub struct ErrorMark {
    /// Logged, never shown.
    pub detail: Option<String>,
    /// Shown: safe, written for people.
    pub message: Option<String>,
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut => AppError::NoConnection,
            sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                AppError::Unavailable(e.to_string())
            }
            sqlx::Error::RowNotFound => AppError::NotFound,
            // A NUL byte or a character the database cannot store, in something a form let
            // through: the person is told, not shown an error page with a request id.
            sqlx::Error::Database(ref d)
                if matches!(d.code().as_deref(), Some("22021") | Some("22P05")) =>
            {
                AppError::BadRequest(
                    "The text holds a character that cannot be stored (such as a NUL byte). Remove it and try again.".into(),
                )
            }
            other => AppError::Internal(other.into()),
        }
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Internal(e.into())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, detail, message) = match self {
            AppError::NotFound => (StatusCode::NOT_FOUND, None, None),
            AppError::Forbidden => (StatusCode::FORBIDDEN, None, None),
            AppError::BadRequest(m) => (StatusCode::BAD_REQUEST, None, Some(m)),
            AppError::Refused(m) => (StatusCode::FORBIDDEN, None, Some(m)),
            AppError::Unavailable(d) => (StatusCode::SERVICE_UNAVAILABLE, Some(d), None),
            AppError::NoConnection => {
                let mut res = StatusCode::SERVICE_UNAVAILABLE.into_response();
                res.extensions_mut().insert(PoolTimedOut);
                res.extensions_mut().insert(ErrorMark {
                    detail: Some(
                        "no database connection came free in time (pool timed out)".into(),
                    ),
                    message: None,
                });
                return res;
            }
            AppError::Internal(e) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                Some(format!("{e:#}")),
                None,
            ),
        };
        let mut res = status.into_response();
        res.extensions_mut().insert(ErrorMark { detail, message });
        res
    }
}

/// Handler result.
pub type AppResult<T> = Result<T, AppError>;
