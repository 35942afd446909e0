//! The processor's vector instructions (SSE2, part of every x86-64 processor), behind safe
//! functions, each with a portable twin that other processors use and the tests hold it to.
//!
//! Measured when they were written (callgrind, 200,000 rows of the benchmark list): the
//! split of a plain line sixteen bytes at a time took the reader from about 735 to 480
//! instructions a row; the look at a cell that needs no repair, 2.9 % of all instructions.

/// How many bytes [`byte_masks`] looks at together.
pub const CHUNK: usize = 32;

/// Which bytes of a chunk are the delimiter, and which a quote or a line break, one bit per
/// byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Masks {
    pub delimiters: u32,
    pub stops: u32,
}

impl Masks {
    /// The masks of the bytes in `bits` only.
    pub fn within(self, bits: u32) -> Masks {
        Masks {
            delimiters: self.delimiters & bits,
            stops: self.stops & bits,
        }
    }
}

/// The [`Masks`] of a chunk.
#[cfg(target_arch = "x86_64")]
pub fn byte_masks(chunk: &[u8; CHUNK], delimiter: u8, quote: u8) -> Masks {
    // SAFETY: SSE2 is part of the x86-64 baseline: every x86-64 processor has it.
    unsafe { byte_masks_sse2(chunk, delimiter, quote) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn byte_masks_sse2(chunk: &[u8; CHUNK], delimiter: u8, quote: u8) -> Masks {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    let equal = |bytes: __m128i, byte: u8| _mm_cmpeq_epi8(bytes, _mm_set1_epi8(byte as i8));
    // Sixteen bytes at a time, the most SSE2 compares.
    let half = |half: &[u8; CHUNK / 2]| {
        // SAFETY: reads the sixteen bytes of `half`; the load needs no alignment. (Two
        // eight-byte words put together cost three instructions for the one load.)
        let bytes = unsafe { _mm_loadu_si128(half.as_ptr().cast()) };
        let stops = _mm_or_si128(
            equal(bytes, quote),
            _mm_or_si128(equal(bytes, b'\n'), equal(bytes, b'\r')),
        );
        Masks {
            delimiters: _mm_movemask_epi8(equal(bytes, delimiter)) as u32,
            stops: _mm_movemask_epi8(stops) as u32,
        }
    };
    let (halves, _) = chunk.as_chunks::<{ CHUNK / 2 }>();
    let (low, high) = (half(&halves[0]), half(&halves[1]));
    Masks {
        delimiters: low.delimiters | high.delimiters << 16,
        stops: low.stops | high.stops << 16,
    }
}

#[cfg(not(target_arch = "x86_64"))]
pub use byte_masks_portable as byte_masks;

/// [`byte_masks`] a byte at a time: for other processors, and to test the vectorized one.
#[cfg(any(test, not(target_arch = "x86_64")))]
pub fn byte_masks_portable(chunk: &[u8; CHUNK], delimiter: u8, quote: u8) -> Masks {
    let mask = |wanted: &dyn Fn(u8) -> bool| {
        chunk
            .iter()
            .enumerate()
            .fold(0, |mask, (i, &b)| mask | u32::from(wanted(b)) << i)
    };
    Masks {
        delimiters: mask(&|b| b == delimiter),
        stops: mask(&|b| b == quote || b == b'\n' || b == b'\r'),
    }
}

/// The position of the only `@` of a cell that needs no repair, when no byte is non-ASCII
/// or a parenthesis and the domain has no capital letter. A cell of up to 64 bytes, as
/// nearly all are, is looked at sixteen bytes at a time (SSE2, part of every x86-64
/// processor); a longer one, or on other processors, a byte at a time.
#[cfg(target_arch = "x86_64")]
pub fn simple_address_at(cell: &[u8]) -> Option<usize> {
    if cell.len() > 64 {
        return simple_address_at_bytewise(cell);
    }
    // SAFETY: SSE2 is part of the x86-64 baseline: every x86-64 processor has it.
    unsafe { simple_address_at_sse2(cell) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn simple_address_at_sse2(cell: &[u8]) -> Option<usize> {
    use std::arch::x86_64::{
        _mm_and_si128, _mm_cmpeq_epi8, _mm_cmpgt_epi8, _mm_cmplt_epi8, _mm_loadu_si128,
        _mm_movemask_epi8, _mm_set1_epi8,
    };
    // The cell in a zeroed block: zero is none of the bytes looked for.
    let mut block = [0u8; 64];
    block[..cell.len()].copy_from_slice(cell);
    let (mut ats, mut odd, mut capitals) = (0u64, 0u64, 0u64);
    let chunks = block.as_chunks::<16>().0;
    for (i, chunk) in chunks.iter().enumerate().take(cell.len().div_ceil(16)) {
        // SAFETY: reads the sixteen bytes of `chunk`; the load needs no alignment.
        let bytes = unsafe { _mm_loadu_si128(chunk.as_ptr().cast()) };
        let mask = |bytes| u64::from(_mm_movemask_epi8(bytes) as u16) << (16 * i);
        let at = _mm_cmpeq_epi8(bytes, _mm_set1_epi8(b'@' as i8));
        // `(` and `)` differ in the lowest bit only.
        let without_low = _mm_and_si128(bytes, _mm_set1_epi8(!1));
        let parenthesis = _mm_cmpeq_epi8(without_low, _mm_set1_epi8(b'(' as i8));
        // Signed compares: a byte of 0x80 or more is negative, so no capital.
        let capital = _mm_and_si128(
            _mm_cmpgt_epi8(bytes, _mm_set1_epi8(b'A' as i8 - 1)),
            _mm_cmplt_epi8(bytes, _mm_set1_epi8(b'Z' as i8 + 1)),
        );
        ats |= mask(at);
        // The sign bits are the bytes of 0x80 or more.
        odd |= mask(bytes) | mask(parenthesis);
        capitals |= mask(capital);
    }
    let first = ats & ats.wrapping_neg();
    // The bytes after the first `@` are the domain's: no other `@`, no capital.
    let after = !(first << 1).wrapping_sub(1);
    (first != 0 && odd | (ats | capitals) & after == 0).then(|| first.trailing_zeros() as usize)
}

#[cfg(not(target_arch = "x86_64"))]
pub use simple_address_at_bytewise as simple_address_at;

/// [`simple_address_at`] one byte at a time: for other processors, and to test the vectorized one.
pub fn simple_address_at_bytewise(cell: &[u8]) -> Option<usize> {
    let at = memchr::memchr(b'@', cell)?;
    let odd = |b: u8| b >= 0x80 || matches!(b, b'@' | b'(' | b')');
    let local_odd = cell[..at].iter().any(|&b| odd(b));
    let domain_odd = cell[at + 1..]
        .iter()
        .any(|&b| odd(b) || b.is_ascii_uppercase());
    (!local_odd && !domain_odd).then_some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn byte_masks_mark_exactly_the_delimiters_quotes_and_line_breaks(
            chunk in proptest::array::uniform32(proptest::sample::select(b",\";a\x00\xff\r\n".to_vec())),
            delimiter in proptest::sample::select(b",;\t".to_vec()),
        ) {
            proptest::prop_assert_eq!(
                byte_masks(&chunk, delimiter, b'"'),
                byte_masks_portable(&chunk, delimiter, b'"')
            );
        }
    }

    proptest::proptest! {
        /// Sixteen bytes at a time, the look at a cell tells what a look at each byte does.
        #[test]
        fn simple_cells_are_told_sixteen_bytes_at_a_time(
            cell in proptest::collection::vec(
                proptest::sample::select(b"aZ0.@()-+\x80\xff\x00".to_vec()),
                1..80,
            ),
        ) {
            proptest::prop_assert_eq!(simple_address_at(&cell), simple_address_at_bytewise(&cell));
        }
    }
}
