//! eportal: a resilient university e-Portal and exam-records pipeline.
//!
//! This crate is the application: configuration, the wiring of engines to ports
//! ([`engines`]), the services that orchestrate the academic core over the ports
//! ([`services`]), and the entrypoints — HTTP ([`http`]), the queue workers
//! ([`services::worker`]) and the command line ([`cli`]). The binary (`main.rs`) only calls
//! [`cli::run`].

pub mod app;
pub mod audit;
pub mod breaker;
pub mod cli;
pub mod config;
pub mod config_names;
pub mod demo;
pub mod engines;
pub mod http;
pub mod pages;
pub mod regrade_cli;
pub mod services;
pub mod telemetry;

pub use app::App;
pub use config::Config;
