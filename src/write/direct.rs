//! Writing a large output past the system's page cache (Linux `O_DIRECT`).
//!
//! The outputs are written once and not read back by the run. Through the page cache, each
//! byte is copied into a cached page, written to disk from there by the kernel's writeback,
//! and the pages are freed again when the file is replaced: on a two-core machine, about a
//! tenth of the run's processor time. Written directly, whole aligned buffers go from this
//! process to the disk. The file's last, partial buffer goes through the page cache as
//! usual, so the file's length is exactly what was written.
//!
//! Direct writes are an optimization only: where a file system refuses them (tmpfs, some
//! network and FUSE file systems), or on other systems, the file is written as usual.

use std::fs::File;
use std::io::{self, Write};

use crate::sys::file::set_direct;
use crate::sys::memory::AlignedBuffer;

/// Bytes per direct write: large enough that each write is one efficient request to the
/// disk, small enough to be held twice (cleaned and rejected) without weight.
const BUFFER: usize = 1 << 20;

/// Output bytes gathered into one aligned buffer and written a whole buffer at a time.
pub(super) struct Staged {
    buffer: AlignedBuffer,
    len: usize,
    /// Whether the file is open for direct writes; false once they fail or the file is
    /// finished, after which the buffer is written as usual.
    direct: bool,
}

impl Staged {
    /// Switches `file` to direct writes, if the system allows it, and gives the buffer its
    /// writes go through. `None` where direct writes are not to be had: the caller then
    /// writes as usual.
    pub(super) fn start(file: &File) -> Option<Staged> {
        set_direct(file, true).ok()?;
        Some(Staged {
            buffer: AlignedBuffer::new(BUFFER),
            len: 0,
            direct: true,
        })
    }

    fn buffer(&mut self) -> &mut [u8] {
        self.buffer.as_mut_slice()
    }

    /// Adds `bytes` to the file, writing each buffer that fills.
    ///
    /// # Errors
    /// A failed write.
    pub(super) fn write(&mut self, file: &mut File, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            let len = self.len;
            let n = bytes.len().min(BUFFER - len);
            self.buffer()[len..len + n].copy_from_slice(&bytes[..n]);
            self.len += n;
            bytes = &bytes[n..];
            if self.len == BUFFER {
                self.write_buffer(file)?;
            }
        }
        Ok(())
    }

    /// Writes the whole buffer: directly while the file system takes direct writes, else
    /// as usual from then on.
    fn write_buffer(&mut self, file: &mut File) -> io::Result<()> {
        let len = std::mem::take(&mut self.len);
        let mut done = 0;
        while done < len {
            match file.write(&self.buffer()[done..len]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // The file system took the flag but refuses the write (or a short direct
                // write left the rest unaligned): the rest goes as usual.
                Err(e) if self.direct && e.kind() == io::ErrorKind::InvalidInput => {
                    set_direct(file, false)?;
                    self.direct = false;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Writes what the buffer holds through the page cache and leaves direct writes: the
    /// file's end needs no alignment, and [`File::sync_all`] can then make it durable.
    ///
    /// # Errors
    /// A failed write.
    pub(super) fn finish(&mut self, file: &mut File) -> io::Result<()> {
        if self.direct {
            set_direct(file, false)?;
            self.direct = false;
        }
        self.write_buffer(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::memory::ALIGN;

    /// Writes `lead` as usual, then a few buffers' worth in uneven pieces, and reads the
    /// file back.
    fn round_trip(dir: &std::path::Path, lead: &[u8]) {
        let path = dir.join("out.csv");
        let mut file = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .unwrap();
        let bytes: Vec<u8> = (0..BUFFER * 3 + 12_345)
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        file.write_all(lead).unwrap();
        let mut staged = Staged::start(&file);
        let mut rest = &bytes[..];
        for size in [1, 4095, 4097, BUFFER, 3 * BUFFER].iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (piece, after) = rest.split_at((*size).min(rest.len()));
            match &mut staged {
                Some(staged) => staged.write(&mut file, piece).unwrap(),
                None => file.write_all(piece).unwrap(),
            }
            rest = after;
        }
        if let Some(staged) = &mut staged {
            staged.finish(&mut file).unwrap();
            assert!(!staged.direct, "finishing leaves direct writes");
        }
        file.sync_all().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), [lead, &bytes].concat());
    }

    #[test]
    fn every_byte_reaches_the_file_in_order() {
        round_trip(tempfile::tempdir().unwrap().path(), b"");
    }

    /// Where a file system refuses a direct write (here, most do, since the file's offset
    /// is not on a block), the bytes go as usual and the file is the same.
    #[test]
    fn a_refused_direct_write_is_made_as_usual() {
        round_trip(tempfile::tempdir().unwrap().path(), b"x");
    }

    /// A memory file system may refuse direct writes at the flag or at the first write.
    #[test]
    fn a_memory_file_system_gets_the_same_file() {
        let shm = std::path::Path::new("/dev/shm");
        if shm.is_dir() {
            round_trip(tempfile::tempdir_in(shm).unwrap().path(), b"");
        }
    }

    #[test]
    fn the_buffer_is_aligned_for_direct_writes() {
        let file = tempfile::tempfile().unwrap();
        if let Some(mut staged) = Staged::start(&file) {
            assert_eq!(staged.buffer().as_ptr() as usize % ALIGN, 0);
            assert_eq!(staged.buffer().len(), BUFFER);
        }
    }
}
