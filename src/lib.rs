//! listclean: clean email contact lists at high throughput.
//!
//! The modules follow the `clean` pipeline in order: [`read`] turns bytes into rows,
//! [`normalize`] and [`validate`] check each address, [`policy`] applies the rules that need
//! no network, [`dns`] asks whether each domain receives mail, [`pipeline`] runs these stages
//! over batches in parallel and decides a [`verdict`] per row, and [`write`](mod@write) and
//! [`report`] are the sinks the verdicts go to; [`checkpoint`] lets a long run resume.
//! [`cmd`] holds one entry point per subcommand.

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
