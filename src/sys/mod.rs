//! The one place with `unsafe` code: the processor's vector instructions, memory the safe
//! language cannot ask for, and system calls the standard library does not make. Every
//! function here has a safe interface; each `unsafe` block says why it is sound.
//!
//! - [`simd`]: splitting lines and looking at cells sixteen bytes at a time.
//! - [`memory`]: zeroed tables, large pages, aligned buffers, text known to be ASCII.
//! - [`file`](mod@file): waiting for standard input, direct writes, early write-back.

pub mod file;
pub mod memory;
pub mod simd;
