//! One module per subcommand, each with a single entry point.

pub mod clean;
