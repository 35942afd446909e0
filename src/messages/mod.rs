//! The message catalogue: every sentence a person reads, in English and Japanese.
//!
//! One [`Lang`] setting chooses the language of a run. Codes (reason codes, flag codes,
//! JSON keys) are not messages: they stay the same in both languages and live beside the
//! data they name. Each submodule holds the sentences of one part of the product.
//!
//! - [`reasons`]: why a row was rejected (`reject_detail`).

pub mod reasons;

pub use reasons::reason;

/// The language of the sentences a person reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Ja,
}
