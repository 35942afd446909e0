//! listclean: clean email contact lists at high throughput.

pub mod policy;
