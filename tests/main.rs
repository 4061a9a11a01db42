//! The one integration-test binary (one binary builds and links once; see ARCHITECTURE.md).
//! Every test gets a fresh database (a temporary SQLite file or a new PostgreSQL database) and,
//! where it talks HTTP, the real server on a free port.

mod support;

mod answers;
mod api;
mod api_contract;
mod auth;
mod browser;
mod caseload;
mod cli;
mod confirmations;
mod demo;
mod documents;
mod held;
mod hub;
mod import_export;
mod indicators;
mod jobs;
mod lecturers;
mod meetings;
mod notices;
mod placement;
mod placement_races;
mod placement_rules;
mod replanning;
mod replies;
mod smtp_selftest;
mod store;
mod tenancy;
