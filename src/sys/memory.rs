//! Memory the safe language cannot ask for: zeroed atomics without a pass to zero them,
//! large pages for tables looked up at random, cache lines fetched ahead, buffers aligned for direct I/O, and text
//! known to be ASCII without a second look.

use std::sync::atomic::AtomicU64;

/// The size of a large page on x86-64 and most ARM systems.
pub const HUGE_PAGE: usize = 2 << 20;

/// `n` atomics, all zero, in memory fresh from the system and not yet touched (so that
/// [`advise_huge_pages`] can still apply to it).
pub fn zeroed_atomics(n: usize) -> Box<[AtomicU64]> {
    // SAFETY: all-zero bytes are a valid `AtomicU64` (zero).
    unsafe { Box::<[AtomicU64]>::new_zeroed_slice(n).assume_init() }
}

/// Asks the system to back the 2 MiB-aligned part of `memory` with 2 MiB pages (Linux),
/// for tables looked up at random: with 4 KiB pages nearly every look-up would also miss
/// the processor's page-table cache. Only advice: without it, nothing changes but speed.
/// Must come before the memory is first touched.
pub fn advise_huge_pages<T>(memory: &[T]) {
    #[cfg(target_os = "linux")]
    {
        let start = memory.as_ptr() as usize;
        let end = start + std::mem::size_of_val(memory);
        let (from, to) = (
            start.next_multiple_of(HUGE_PAGE),
            end / HUGE_PAGE * HUGE_PAGE,
        );
        if from < to {
            // SAFETY: the range lies within the memory's allocation, and the advice changes
            // only how the memory is backed, never its contents. Failure leaves 4 KiB pages.
            let _ = unsafe {
                rustix::mm::madvise(
                    from as *mut std::ffi::c_void,
                    to - from,
                    rustix::mm::Advice::LinuxHugepage,
                )
            };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = memory;
}

/// Asks the processor to bring `slot` into the cache, without waiting for it: for tables far
/// larger than the caches, a few look-ups ahead.
pub fn prefetch_cache_line<T>(slot: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE is part of every x86_64 processor, and a prefetch is only a hint: it
    // reads nothing, and the pointer comes from a reference anyway.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
            std::ptr::from_ref(slot).cast(),
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = slot;
}

/// Direct writes must start on, and be a whole number of, the device's logical blocks,
/// from memory aligned the same way. 4 KiB covers both 512-byte and 4 KiB sectors.
pub const ALIGN: usize = 4096;

#[repr(C, align(4096))]
struct Block([u8; ALIGN]);

/// A zeroed byte buffer whose start is aligned to [`ALIGN`], a whole number of blocks long.
pub struct AlignedBuffer {
    blocks: Box<[Block]>,
}

impl AlignedBuffer {
    /// A buffer of `len` bytes, rounded up to a whole number of blocks.
    pub fn new(len: usize) -> AlignedBuffer {
        AlignedBuffer {
            blocks: (0..len.div_ceil(ALIGN))
                .map(|_| Block([0; ALIGN]))
                .collect(),
        }
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        let len = self.blocks.len() * ALIGN;
        // SAFETY: `Block` is a plain byte array without padding (`repr(C)`, and its size is
        // its alignment), so the boxed blocks are `len` initialized bytes in a row, borrowed
        // mutably for as long as `self` is.
        unsafe { std::slice::from_raw_parts_mut(self.blocks.as_mut_ptr().cast(), len) }
    }
}

/// Bytes known to be ASCII without a NUL, so that any part of them is text without a
/// second look.
#[derive(Debug, Clone, Copy)]
pub struct AsciiText<'a>(&'a [u8]);

impl<'a> AsciiText<'a> {
    /// `bytes`, if every one is ASCII and none is NUL: looked at eight bytes at a time.
    pub fn new(bytes: &'a [u8]) -> Option<AsciiText<'a>> {
        const HIGH: u64 = 0x8080_8080_8080_8080;
        let (words, tail) = bytes.as_chunks::<8>();
        let odd = words.iter().fold(0, |odd, word| {
            let word = u64::from_le_bytes(*word);
            odd | ((word | zero_bytes(word)) & HIGH)
        });
        (odd == 0 && tail.iter().all(|&b| b != 0 && b.is_ascii())).then_some(AsciiText(bytes))
    }

    /// `part` as text, if it lies within these bytes (else `None`).
    pub fn text_of(&self, part: &'a [u8]) -> Option<&'a str> {
        let range = self.0.as_ptr_range();
        let inside = part.is_empty()
            || (range.start <= part.as_ptr() && part.as_ptr_range().end <= range.end);
        // SAFETY: `part` lies within bytes that are all ASCII, hence UTF-8.
        inside.then(|| unsafe { std::str::from_utf8_unchecked(part) })
    }
}

/// The high bit of each zero byte of `word`, and no other bit. Exact: no carry crosses
/// from one byte into the next.
fn zero_bytes(word: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    !(((word & LOW7) + LOW7) | word) & !LOW7
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ascii_text_is_told_and_lent_only_within() {
        let bytes = b"taro@example-shoji.co.jp,Taro";
        let text = AsciiText::new(bytes).expect("ASCII");
        assert_eq!(text.text_of(&bytes[..4]), Some("taro"));
        assert_eq!(text.text_of(b"elsewhere"), None);
        assert_eq!(text.text_of(b""), Some(""));
        for odd in [&b"a\0b"[..], b"caf\xc3\xa9", b"12345678\x80", b"\x00"] {
            assert!(AsciiText::new(odd).is_none(), "{odd:?}");
        }
    }

    #[test]
    fn aligned_buffers_are_aligned() {
        let mut buffer = AlignedBuffer::new(10_000);
        let slice = buffer.as_mut_slice();
        assert_eq!(slice.len(), 3 * ALIGN);
        assert_eq!(slice.as_ptr() as usize % ALIGN, 0);
        assert!(slice.iter().all(|&b| b == 0));
    }

    proptest! {
        #[test]
        fn ascii_without_nul_is_told_exactly(
            bytes in proptest::collection::vec(
                prop_oneof![8 => 1u8..0x80, 1 => Just(0u8), 1 => 0x80u8..=0xff],
                0..40,
            ),
        ) {
            let expected = bytes.iter().all(|&b| b != 0 && b.is_ascii());
            prop_assert_eq!(AsciiText::new(&bytes).is_some(), expected);
        }

        #[test]
        fn zero_bytes_marks_exactly_the_zero_bytes(
            bytes in proptest::array::uniform8(
                proptest::sample::select(vec![0u8, 1, 2, 0x7f, 0x80, 0x81, 0xfe, 0xff])),
        ) {
            let word = u64::from_le_bytes(bytes);
            let expected = bytes
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == 0)
                .fold(0u64, |mask, (i, _)| mask | 0x80 << (8 * i));
            prop_assert_eq!(zero_bytes(word), expected);
        }
    }
}
