//! Integration tests: the real `behorig` binary on fixtures written to temp
//! folders. One binary, one module per area.

mod common;

mod access_logs;
mod bad_input;
mod conventions;
mod dialects;
mod example;
mod exports;
mod outputs;
mod policy_errors;
mod rules;
mod trust;
