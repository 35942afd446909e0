//! The integration tests: one binary, a module per area.

#[path = "../support/mod.rs"]
mod support;

mod clean;
mod dns;
mod golden;
mod hostile;
mod overlap;
mod peers;
mod properties;
mod resume;
mod signals;
