//! listclean: clean email contact lists at high throughput.
//!
//! The modules follow the `clean` pipeline in order: [`read`] turns bytes into rows,
//! [`normalize`] and [`validate`] check each address, [`policy`] applies the rules that need
//! no network, [`dns`] asks whether each domain receives mail, [`pipeline`] runs these stages
//! over batches in parallel and decides a [`verdict`] per row, and [`write`] and [`report`]
//! are the sinks the verdicts go to. [`cmd`] holds one entry point per subcommand.

pub mod config;
pub mod error;

pub mod address;
pub mod dialect;
pub mod dns;
pub mod normalize;
pub mod pipeline;
pub mod policy;
pub mod read;
pub mod report;
pub mod validate;
pub mod verdict;
pub mod write;

pub mod cmd;
