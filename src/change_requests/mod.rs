//! Change requests: filed by an account manager for a client, escalated, edited while a draft
//! or with Retention, withdrawn; each step one transaction with its audit record and emails.

pub mod form;
pub mod rules;
