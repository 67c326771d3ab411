//! Offboarding Desk: the SEM department's client retention and offboarding, from the change
//! request to the last tool a cancelled client is removed from.
//!
//! Each domain owns its routes, queries and rules; `web` holds the HTTP glue they share, and
//! `app` assembles them.

pub mod app;
pub mod approvals;
pub mod audit;
pub mod auth;
pub mod change_requests;
pub mod chat;
pub mod checklists;
pub mod clients;
pub mod config;
pub mod db;
pub mod demo;
pub mod health;
pub mod home;
pub mod metrics;
pub mod money;
pub mod notifications;
pub mod operations;
pub mod reports;
pub mod retention;
pub mod server;
pub mod setup;
pub mod signing;
pub mod time;
pub mod users;
pub mod web;

pub use app::{app, route_table};
pub use web::AppState;
