//! renkei (連携): scheduling and coordination engine for Japan's disability consultation-support
//! system. This crate is the service: storage, HTTP API, web pages, CLI and background jobs.
//! The pure engine (calendar, optimisation models) lives in the `renkei-solver` crate.

pub mod api;
pub mod app;
pub mod auth;
pub mod caseload;
pub mod cli;
pub mod config;
pub mod demo;
pub mod error;
pub mod i18n;
pub mod indicators;
pub mod jobs;
pub mod master;
pub mod meetings;
pub mod notices;
pub mod placement;
pub mod planning;
pub mod settings;
pub mod staffing;
pub mod store;
pub mod throttle;
pub mod transfer;
pub mod web;
