//! Policy checks: what a syntactically valid address still needs before it is worth sending to.

pub mod lists;
pub mod stale;
pub mod typo;
