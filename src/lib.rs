//! listclean: the health of email contact lists.
//!
//! Two ways in: a [`Cleaner`] judges every row of a contact list read from any reader and
//! pushes the decided rows into a [`Sink`] of the caller's (the `clean` command's sinks
//! write the cleaned and rejected files and count the report), and [`check_address`]
//! judges one address without the network.
//!
//! The modules follow the pipeline in order: [`read`] turns an input's bytes into rows
//! (the format check at open, then a row reader), [`normalize`] and [`validate`] check each
//! address, [`policy`] applies the rules that need no network, [`dns`] answers questions
//! for every command (whether a domain receives mail is one client of it), [`pipeline`]
//! runs the stages over batches in parallel and decides a [`verdict`] per row, and
//! [`write`](mod@write) and [`report`] are the sinks the verdicts go to; [`checkpoint`] lets
//! a long run resume. [`messages`] holds every sentence in English and Japanese,
//! [`formula`] the formula guard's rules, and [`sys`] all `unsafe` code. [`cmd`] holds one
//! entry point per subcommand.

pub mod config;
pub mod error;
pub mod messages;

pub mod read;
pub mod formula;
pub mod address;
pub mod normalize;
pub mod validate;
pub mod policy;
pub mod dns;
pub mod verdict;
pub mod pipeline;
pub mod write;
pub mod report;
pub mod checkpoint;
pub mod cleaner;

pub mod sys;

pub mod cmd;

pub use cleaner::{CleanOptions, Cleaner, check_address};
pub use error::Error;
pub use messages::Lang;
pub use pipeline::{Batch, EachRow, Row, Sink};
pub use verdict::{Checked, Flags, Reason, Status, Verdict};
