//! System calls on files that the standard library does not make: waiting for standard
//! input with a time limit, direct writes past the page cache, and starting write-back
//! early. Through `rustix` where it has the call, `libc` where it does not.

use std::fs::File;
use std::io;

/// Waits up to `timeout` for `fd` (a pipe, standard input) to have data (or its end, or an
/// error) and reads what there is into `buf`; `Ok(None)` when the time ran out or a signal
/// came, so the caller can look at its stop flag and wait again. The read goes straight to
/// the descriptor: a buffer in between could hold data the poll does not see.
///
/// # Errors
/// A failed read.
#[cfg(target_os = "linux")]
pub fn read_within(
    fd: std::os::fd::BorrowedFd<'_>,
    buf: &mut [u8],
    timeout: std::time::Duration,
) -> io::Result<Option<usize>> {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let timeout = Timespec {
        tv_sec: timeout.as_secs() as _,
        tv_nsec: timeout.subsec_nanos() as _,
    };
    let mut fds = [PollFd::new(&fd, PollFlags::IN)];
    match poll(&mut fds, Some(&timeout)) {
        Ok(0) | Err(rustix::io::Errno::INTR) => return Ok(None),
        // Data, end of input or an error: the read tells which.
        Ok(_) | Err(_) => {}
    }
    match rustix::io::read(fd, buf) {
        Ok(n) => Ok(Some(n)),
        // A pipe opened without waiting for its writer reads "again" until there is data.
        Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Sets or clears the file's `O_DIRECT` flag (Linux; elsewhere, unsupported).
///
/// # Errors
/// The system refuses the flag.
#[cfg(target_os = "linux")]
pub fn set_direct(file: &File, on: bool) -> io::Result<()> {
    use rustix::fs::{OFlags, fcntl_getfl, fcntl_setfl};
    let flags = fcntl_getfl(file)?;
    let flags = if on {
        flags | OFlags::DIRECT
    } else {
        flags - OFlags::DIRECT
    };
    Ok(fcntl_setfl(file, flags)?)
}

#[cfg(not(target_os = "linux"))]
pub fn set_direct(_file: &File, _on: bool) -> io::Result<()> {
    Err(io::ErrorKind::Unsupported.into())
}

/// Starts writing a range of the file to disk without waiting for it (Linux; elsewhere the
/// fsync at the end does it all). Only a hint: a failure here shows at that fsync.
#[cfg(target_os = "linux")]
pub fn start_writeback(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    // SAFETY: a system call on a file descriptor this file owns; it touches no memory.
    // (`rustix` has no `sync_file_range`.)
    unsafe { libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE) };
}

#[cfg(not(target_os = "linux"))]
pub fn start_writeback(_file: &File, _offset: u64, _len: u64) {}

/// Opens a work file for writing without following a link in its place: a link there is
/// refused, never written through. `fresh` makes a new file, removing what was there (a
/// link itself, not what it points to); otherwise the file must exist.
///
/// # Errors
/// The file cannot be opened or made.
pub fn open_no_follow(path: &std::path::Path, fresh: bool) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(no_follow());
    }
    if fresh {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        options.create_new(true);
    }
    options.open(path)
}

#[cfg(unix)]
fn no_follow() -> i32 {
    #[cfg(target_os = "linux")]
    {
        rustix::fs::OFlags::NOFOLLOW.bits() as i32
    }
    #[cfg(not(target_os = "linux"))]
    {
        0
    }
}

/// How long a file may go unwritten before a later run takes it for one a run stopped with
/// `kill -9` left behind: a run still going writes its own all the time.
pub const ABANDONED_AFTER: std::time::Duration = std::time::Duration::from_secs(3600);

/// Whether the file `entry` names has not been written for `age`: what a run stopped with
/// `kill -9` left behind, as opposed to the files of a run still going.
pub fn unwritten_for(entry: &std::fs::DirEntry, age: std::time::Duration) -> bool {
    entry
        .metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|modified| modified.elapsed().ok())
        .is_some_and(|elapsed| elapsed > age)
}

/// Removes the temporary files of `path` that a run stopped with `kill -9` (which cannot
/// clean up after itself) left behind: the hidden `.<name>.*.tmp` beside it, not written
/// for [`ABANDONED_AFTER`]. Best effort: what cannot be removed stays.
pub fn remove_left_temporaries(path: &std::path::Path) {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => std::path::Path::new("."),
    };
    let prefix = format!(
        ".{}.",
        path.file_name().unwrap_or_default().to_string_lossy()
    );
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(&prefix)
            && name.ends_with(".tmp")
            && unwritten_for(&entry, ABANDONED_AFTER)
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// `prefix`, then `stem`, then `suffix`: a file name made from an input's name, keeping its
/// bytes as they are.
pub fn name(prefix: &str, stem: &std::ffi::OsStr, suffix: &str) -> std::ffi::OsString {
    let mut name = std::ffi::OsString::from(prefix);
    name.push(stem);
    name.push(suffix);
    name
}
