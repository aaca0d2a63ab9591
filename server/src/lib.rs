//! The `server` binary's library half: router assembly, static assets, telemetry and the
//! command line. Integration tests build the same router through [`startup::Application`].

pub mod admin;
pub mod admin_gate;
pub mod assets;
pub mod cli;
pub mod csrf;
pub mod http_metrics;
pub mod routes;
pub mod security_headers;
pub mod server_state;
pub mod startup;
pub mod telemetry;
