//! HTTP glue shared by every domain: state, route declaration with access rules, the request
//! context, errors, middleware and page chrome. No business rules live here, and nothing here
//! names a domain: `crate::app` assembles the domains' routes on top of it.

pub mod chart;
pub mod ctx;
pub mod download;
pub mod drain;
pub mod error;
pub mod fields;
pub mod filters;
pub mod flash;
pub mod https;
pub mod memo;
pub mod middleware;
pub mod outage;
pub mod pages;
pub mod retire;
pub mod routes;
pub mod text;

use std::sync::Arc;

use sqlx::PgPool;

use crate::config::Config;
pub use routes::{RouteDef, Routes};

/// How many results `AppState::memo` keeps: a report is tens of kilobytes.
const MEMO_ENTRIES: usize = 256;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub config: Arc<Config>,
    /// Whether the database was unreachable a moment ago (requests then fail fast).
    pub outage: Arc<outage::Outage>,
    /// Now and today, in the agency's time zone.
    pub clock: crate::time::Clock,
    /// The navigation, each link with its route's access; set once when the app is assembled.
    pub nav: Arc<std::sync::OnceLock<Vec<pages::NavLink>>>,
    /// Results kept while what they came from is unchanged (Reports).
    pub memo: Arc<memo::Memo>,
    /// Sessions this instance loaded lately; it keeps them only once
    /// [`SessionCache::listen`](crate::auth::session_cache::SessionCache::listen) runs.
    pub sessions: Arc<crate::auth::session_cache::SessionCache>,
    /// This instance's figures for `/metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The company sign-in's identity provider, when configured (`OIDC_*`).
    pub company: Option<Arc<crate::auth::company::Provider>>,
}

impl AppState {
    /// The state of an app on `db` with `config`; pages show times in its zone.
    pub fn new(db: PgPool, config: Arc<Config>) -> Self {
        crate::time::set_display_zone(config.time_zone);
        let sessions = Arc::new(crate::auth::session_cache::SessionCache::new(
            config.session_idle,
        ));
        let company = config.company.clone().map(|c| {
            Arc::new(
                crate::auth::company::Provider::new(c, &config.base_url)
                    .expect("BASE_URL was checked to be an address"),
            )
        });
        AppState {
            company,
            clock: crate::time::Clock::new(config.time_zone),
            db,
            config,
            outage: Default::default(),
            nav: Default::default(),
            memo: Arc::new(memo::Memo::new(MEMO_ENTRIES)),
            sessions,
            metrics: Default::default(),
        }
    }
}
