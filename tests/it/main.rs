//! The integration tests: one binary, a module per area.

#[path = "../support/mod.rs"]
mod support;

mod clean;
mod golden;
mod peers;
mod properties;
