//! The integration suite: one binary, a real PostgreSQL, a real server per test, and a real
//! browser for the journeys.

mod access;
mod approvals;
mod audit;
mod auth;
mod backup;
mod bad_input;
mod browser;
mod browser_approvals;
mod browser_checklists;
mod browser_company;
mod browser_demo;
mod browser_operations;
mod browser_signing;
mod change_requests;
mod chat;
mod checklists;
mod clients;
mod demo;
mod documents;
mod environment;
mod every_case;
mod mail_admin;
mod markup;
mod metrics;
mod migrations;
mod model;
mod notifications;
mod operations;
mod promised;
mod reports;
mod retention;
mod security;
mod sessions;
mod setup;
#[path = "../shared/mod.rs"]
mod shared;
mod signing;
mod signing_flow;
mod statements;
mod support;
mod users;
mod work_items;
