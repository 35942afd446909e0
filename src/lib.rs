//! listclean: clean email contact lists at high throughput.
//!
//! The modules follow the `clean` pipeline in order: [`read`] turns bytes into rows,
//! [`normalize`] and [`validate`] check each address, [`policy`] applies the rules that need
//! no network, [`dns`] asks whether each domain receives mail, [`pipeline`] runs these stages
//! over batches in parallel and decides a [`verdict`] per row, [`write`] and [`report`] are
//! the sinks the verdicts go to. [`cmd`] holds one entry point per subcommand.

pub mod address;
pub mod normalize;
pub mod policy;
pub mod validate;
pub mod verdict;
