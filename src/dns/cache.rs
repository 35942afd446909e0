//! The persistent cache (`--cache FILE`): DNS answers kept between runs in a redb file,
//! keyed by name and record type.
//!
//! Lists are cleaned again and again with mostly the same domains, so a run keeps each
//! answer for as long as it holds (its TTL, or for a negative answer the SOA's negative
//! TTL, clamped to the configured ranges: see [`super::resolver`]) and the next run skips
//! those lookups. Failures are never written. A file of an older format is replaced by a
//! new one, with a warning, once. A redb file that is not a cache of ours (corrupt, truncated,
//! another program's) is replaced by a new one with a warning: the cache only ever saves
//! time, so losing it must never stop a run. A file that is not a redb file at all is never
//! touched: naming it is a mistake, and the run stops before it starts.
//!
//! Writes are batched on a thread of their own, many answers per write transaction,
//! because a durable commit costs a disk sync.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, unbounded};
use redb::{
    Database, DatabaseError, ReadableDatabase, ReadableTable, StorageError, TableDefinition,
    TableError, TableHandle,
};
use rustc_hash::FxHashMap;

use super::answer::{Answer, Question, RecordType};
use crate::error::Error;

/// `TYPE name` (`MX example.co.jp`) → the expiry in seconds since the Unix epoch, as eight
/// little-endian bytes, then the answer (postcard: compact, and quick to read back, which a
/// run does for the whole file at start).
const ENTRIES: TableDefinition<&str, &[u8]> = TableDefinition::new("listclean-dns-v2");
/// Marks the file as ours: "format" → [`FORMAT`].
const META: TableDefinition<&str, u32> = TableDefinition::new("listclean-meta");
/// 1 kept domain outcomes; 2 keeps answers by name and type.
const FORMAT: u32 = 2;
/// Answers per write transaction, at most.
const BATCH: usize = 4096;
/// How long answers wait to be written when fewer than a batch arrive.
const FLUSH_AFTER: Duration = Duration::from_millis(500);
/// redb's page cache; the file is read one key at a time, so a little is plenty.
const PAGE_CACHE_BYTES: usize = 16 << 20;

/// The answers a cache file holds, with their expiry (seconds since 1970), looked up by
/// name and type without a copy of the name.
#[derive(Debug, Default)]
pub struct Kept {
    by_type: [FxHashMap<Box<str>, (Answer, u64)>; RecordType::ALL.len()],
}

impl Kept {
    pub fn insert(&mut self, (name, kind): Question, entry: (Answer, u64)) {
        self.by_type[kind as usize].insert(name, entry);
    }

    /// The answer to `name` (lowercase, without the final dot) and its expiry.
    pub fn get(&self, name: &str, kind: RecordType) -> Option<&(Answer, u64)> {
        self.by_type[kind as usize].get(name)
    }

    pub fn len(&self) -> usize {
        self.by_type.iter().map(FxHashMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An answer read from the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheEntry {
    pub answer: Answer,
    /// When it stops being valid.
    pub expires: SystemTime,
}

/// An open cache file.
pub struct PersistentCache {
    db: Arc<Database>,
    path: PathBuf,
}

/// Why a file could not be used as the cache.
enum OpenError {
    /// Not a cache of ours, or damaged: replace it.
    Replace(String),
    /// Cannot be used this time (locked by another run, no permission): leave it alone.
    Skip(String),
}

/// The key of a question.
fn key(name: &str, kind: RecordType) -> String {
    format!("{} {name}", kind.name())
}

/// The question a key stands for.
fn question(key: &str) -> Option<Question> {
    let (kind, name) = key.split_once(' ')?;
    let kind = RecordType::ALL.into_iter().find(|k| k.name() == kind)?;
    Some((name.into(), kind))
}

fn encode(answer: &Answer, expires: u64) -> Option<Vec<u8>> {
    let value = expires.to_le_bytes().to_vec();
    postcard::to_extend(answer, value).ok()
}

/// A stored value as an answer and its expiry, if it is still valid at `now` (seconds).
fn decode(value: &[u8], now: u64) -> Option<(Answer, u64)> {
    let (expires, answer) = value.split_first_chunk::<8>()?;
    let expires = u64::from_le_bytes(*expires);
    if expires <= now {
        return None;
    }
    Some((postcard::from_bytes(answer).ok()?, expires))
}

fn unix_secs(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn database_error(path: &Path, error: DatabaseError) -> OpenError {
    let detail = format!("{}: {error}", path.display());
    match error {
        DatabaseError::DatabaseAlreadyOpen | DatabaseError::LockProtocolMismatch => {
            OpenError::Skip(format!("{detail} (is another run using it?)"))
        }
        DatabaseError::Storage(StorageError::Io(io))
            if io.kind() != std::io::ErrorKind::InvalidData =>
        {
            OpenError::Skip(detail)
        }
        _ => OpenError::Replace(detail),
    }
}

fn replace<E: std::fmt::Display>(path: &Path) -> impl Fn(E) -> OpenError + '_ {
    move |error| OpenError::Replace(format!("{}: {error}", path.display()))
}

fn try_open(path: &Path) -> Result<Database, OpenError> {
    let db = Database::builder()
        .set_cache_size(PAGE_CACHE_BYTES)
        // A file altered outside redb fails to open instead of being trusted (where it
        // could panic later); the check reads the file once, cheap next to the lookups
        // it saves.
        .set_check_integrity_on_open(true)
        .create(path)
        .map_err(|e| database_error(path, e))?;
    let txn = db.begin_write().map_err(replace(path))?;
    {
        let mut meta = txn.open_table(META).map_err(|e| match e {
            TableError::TableTypeMismatch { .. } => {
                OpenError::Replace(format!("{}: not a listclean cache", path.display()))
            }
            e => OpenError::Replace(format!("{}: {e}", path.display())),
        })?;
        let format = meta
            .get("format")
            .map_err(replace(path))?
            .map(|v| v.value());
        match format {
            Some(FORMAT) => {}
            Some(other) => {
                return Err(OpenError::Replace(format!(
                    "{}: cache format {other}, this version reads {FORMAT}",
                    path.display()
                )));
            }
            None => {
                meta.insert("format", FORMAT).map_err(replace(path))?;
            }
        }
        txn.open_table(ENTRIES).map_err(replace(path))?;
    }
    // A redb file of another program has tables of its own and no format mark.
    let foreign = txn
        .list_tables()
        .map_err(replace(path))?
        .any(|t| t.name() != META.name() && t.name() != ENTRIES.name());
    if foreign {
        return Err(OpenError::Replace(format!(
            "{}: a database that is not a listclean cache",
            path.display()
        )));
    }
    txn.commit().map_err(replace(path))?;
    Ok(db)
}

/// Creates a new cache at `path`: under a temporary name beside it first, put in place only
/// once it is a valid empty cache, so that a run killed while creating it leaves no
/// half-made file under the cache's name. When another run put its own there meanwhile,
/// that one is opened instead (or, while that run holds it, the cache is left out this run):
/// runs started together never fail on it.
fn create(path: &Path) -> Result<Database, OpenError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    // What a creation killed before it was linked into place left behind.
    crate::sys::file::remove_left_temporaries(path);
    let temp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| OpenError::Skip(format!("{}: {e}", path.display())))?
        .into_temp_path();
    // Replaced by redb's own file.
    let _ = std::fs::remove_file(&temp);
    let db = try_open(&temp)?;
    // A link fails rather than replace a cache another run made meanwhile; the temporary
    // name goes when `temp` is dropped.
    match std::fs::hard_link(&temp, path) {
        Ok(()) => Ok(db),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            drop(db);
            try_open(path)
        }
        // A file system without hard links: put it in place by renaming it.
        Err(_) => match std::fs::rename(&temp, path) {
            Ok(()) => Ok(db),
            Err(e) => Err(OpenError::Skip(format!("{}: {e}", path.display()))),
        },
    }
}

/// The bytes every redb file starts with.
const REDB_MAGIC: &[u8] = b"redb\x1a\x0a\xa9\x0d\x0a";

/// Whether the file is what a creation killed early leaves (before caches were created under
/// a temporary name): a first page of zeros, where redb had yet to write its header. No
/// list or other file a person names starts so.
fn interrupted_creation(path: &Path) -> bool {
    let mut page = Vec::with_capacity(4096);
    std::fs::File::open(path)
        .and_then(|file| file.take(4096).read_to_end(&mut page))
        .is_ok_and(|n| n == 4096 && page.iter().all(|&b| b == 0))
}

/// Checks that `path` may become the cache: it is missing, a redb file (sound or not, ours
/// or another program's, all of which may be replaced), or empty with a `.redb` name. Any other file is one
/// named by mistake (the input, a suppression list typed after the wrong option) and must
/// never be overwritten.
///
/// # Errors
/// [`Error::NotACache`] for an existing file that is not a redb file.
pub fn check_path(path: &Path) -> Result<(), Error> {
    let mut head = Vec::with_capacity(REDB_MAGIC.len());
    match std::fs::File::open(path) {
        Ok(file) => {
            // A file that cannot be read is left to the open, which skips it with a warning.
            let _ = file.take(REDB_MAGIC.len() as u64).read_to_end(&mut head);
        }
        Err(_) => return Ok(()),
    }
    // An empty file is a cache cut short only by its name: otherwise it is likely a list
    // of the day's unsubscribes, empty, given after the wrong option.
    let redb_name = path.extension().is_some_and(|ext| ext == "redb");
    if (head.is_empty() && redb_name)
        || (!head.is_empty() && REDB_MAGIC.starts_with(&head))
        || interrupted_creation(path)
    {
        Ok(())
    } else {
        Err(Error::NotACache {
            path: path.to_owned(),
        })
    }
}

impl PersistentCache {
    /// Opens the cache at `path`, creating it (and its folder) if missing and replacing it
    /// if it is not a usable cache. Returns `None` when no cache can be used this run (the file is locked
    /// by another run, or cannot be created); the warnings say what happened.
    pub fn open(path: &Path, warnings: &mut Vec<String>) -> Option<PersistentCache> {
        let cache = |db| PersistentCache {
            db: Arc::new(db),
            path: path.to_owned(),
        };
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            // A failure shows as the open's own error, with a warning.
            let _ = std::fs::create_dir_all(folder);
        }
        let opened = if path.exists() {
            try_open(path)
        } else {
            create(path)
        };
        match opened {
            Ok(db) => Some(cache(db)),
            Err(OpenError::Skip(detail)) => {
                warnings.push(format!(
                    "DNS cache not used this run: {detail}; every domain is looked up"
                ));
                None
            }
            Err(OpenError::Replace(detail)) => {
                if let Err(e) = std::fs::remove_file(path) {
                    warnings.push(format!(
                        "DNS cache not used this run: {detail}; removing it failed: {e}"
                    ));
                    return None;
                }
                match create(path) {
                    Ok(db) => {
                        warnings.push(format!(
                            "DNS cache unreadable, starting a new one: {detail}"
                        ));
                        Some(cache(db))
                    }
                    Err(OpenError::Skip(again) | OpenError::Replace(again)) => {
                        warnings.push(format!(
                            "DNS cache not used this run: {detail}; a new one could not be \
                             created: {again}"
                        ));
                        None
                    }
                }
            }
        }
    }

    /// The answer kept for a question, if there is one still valid at `now`.
    ///
    /// # Errors
    /// A redb error reading the file (the caller treats it as a miss).
    pub fn get(
        &self,
        name: &str,
        kind: RecordType,
        now: SystemTime,
    ) -> Result<Option<CacheEntry>, redb::Error> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(ENTRIES)?;
        Ok(table
            .get(key(name, kind).as_str())?
            .and_then(|value| decode(value.value(), unix_secs(now)))
            .map(|(answer, expires)| CacheEntry {
                answer,
                expires: UNIX_EPOCH + Duration::from_secs(expires),
            }))
    }

    /// Every answer still valid at `now`, read in one pass: a run asks about most of what
    /// the file holds, and one look-up per question would cost more than reading it whole.
    ///
    /// # Errors
    /// A redb error reading the file (the caller then does without the cache).
    pub fn load(&self, now: SystemTime) -> Result<Kept, redb::Error> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(ENTRIES)?;
        let now = unix_secs(now);
        let mut entries = Kept::default();
        for item in table.iter()? {
            let (key, value) = item?;
            if let (Some(question), Some(entry)) =
                (question(key.value()), decode(value.value(), now))
            {
                entries.insert(question, entry);
            }
        }
        Ok(entries)
    }

    /// Starts the writer thread. Outcomes sent to the returned [`CacheWriter`] are written
    /// in batches; [`CacheWriter::finish`] writes the rest.
    ///
    /// # Errors
    /// The thread could not be started.
    pub fn writer(&self) -> std::io::Result<CacheWriter> {
        let (sender, receiver) = unbounded();
        let db = Arc::clone(&self.db);
        let path = self.path.clone();
        let thread = std::thread::Builder::new()
            .name("dns-cache-writer".into())
            .spawn(move || write_loop(&db, &path, &receiver))?;
        Ok(CacheWriter { sender, thread })
    }
}

/// Sends outcomes to the writer thread.
pub struct CacheWriter {
    sender: Sender<Message>,
    thread: JoinHandle<Vec<String>>,
}

enum Message {
    Put(String, Vec<u8>),
    Stop,
}

impl CacheWriter {
    /// A handle to queue outcomes from any thread.
    pub fn queue(&self) -> CacheQueue {
        CacheQueue(self.sender.clone())
    }

    /// Writes what is queued and stops; returns warnings about writes that failed.
    pub fn finish(self) -> Vec<String> {
        // An error means the thread is gone already; joining tells how it ended.
        let _ = self.sender.send(Message::Stop);
        self.thread
            .join()
            .unwrap_or_else(|_| vec!["the DNS cache writer stopped unexpectedly".into()])
    }
}

/// Queues outcomes for the cache writer.
#[derive(Clone)]
pub struct CacheQueue(Sender<Message>);

impl CacheQueue {
    /// Queues `answer` to `question`, valid for `ttl` from now. Failures and zero
    /// lifetimes are dropped.
    pub fn put(&self, question: &Question, answer: &Answer, ttl: Duration) {
        if matches!(answer, Answer::Failed(_)) || ttl.is_zero() {
            return;
        }
        let expires = unix_secs(SystemTime::now() + ttl);
        if let Some(value) = encode(answer, expires) {
            // An error means the writer stopped (the run is finishing): nothing to do.
            let _ = self
                .0
                .send(Message::Put(key(&question.0, question.1), value));
        }
    }
}

/// The writer thread: collects up to a batch (or what arrives within [`FLUSH_AFTER`]) and
/// writes it in one transaction, until told to stop.
fn write_loop(db: &Database, path: &Path, receiver: &Receiver<Message>) -> Vec<String> {
    let mut warnings = Vec::new();
    let mut batch: Vec<(String, Vec<u8>)> = Vec::with_capacity(BATCH);
    let mut stop = false;
    while !stop {
        match receiver.recv() {
            Ok(Message::Put(key, value)) => batch.push((key, value)),
            Ok(Message::Stop) | Err(_) => stop = true,
        }
        while !stop && batch.len() < BATCH {
            match receiver.recv_timeout(FLUSH_AFTER) {
                Ok(Message::Put(key, value)) => batch.push((key, value)),
                Ok(Message::Stop) | Err(RecvTimeoutError::Disconnected) => stop = true,
                Err(RecvTimeoutError::Timeout) => break,
            }
        }
        if batch.is_empty() {
            continue;
        }
        if let Err(e) = write_batch(db, &batch) {
            // One warning is enough: later batches would fail the same way.
            if warnings.is_empty() {
                warnings.push(format!(
                    "writing the DNS cache {}: {e}; some answers were not kept",
                    path.display()
                ));
            }
        }
        batch.clear();
    }
    warnings
}

fn write_batch(db: &Database, batch: &[(String, Vec<u8>)]) -> Result<(), redb::Error> {
    let txn = db.begin_write()?;
    {
        let mut table = txn.open_table(ENTRIES)?;
        for (key, value) in batch {
            table.insert(key.as_str(), value.as_slice())?;
        }
    }
    txn.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mx(exchange: &str, ttl: u32) -> Answer {
        Answer::Records {
            records: vec![crate::dns::Record::Mx {
                preference: 10,
                exchange: exchange.into(),
            }],
            ttl,
        }
    }

    fn put(queue: &CacheQueue, name: &str, kind: RecordType, answer: &Answer, secs: u64) {
        queue.put(&(name.into(), kind), answer, Duration::from_secs(secs));
    }

    #[test]
    fn keys_round_trip() {
        for kind in [
            RecordType::A,
            RecordType::Mx,
            RecordType::Txt,
            RecordType::Cname,
        ] {
            assert_eq!(
                question(&key("a.example.jp", kind)),
                Some(("a.example.jp".into(), kind))
            );
        }
        assert_eq!(question("BOGUS a.jp"), None);
        assert_eq!(question("nospace"), None);
    }

    #[test]
    fn written_entries_are_read_back_until_they_expire() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("dns.cache");
        let mut warnings = Vec::new();
        let cache = PersistentCache::open(&path, &mut warnings).expect("a new cache");
        assert!(warnings.is_empty(), "{warnings:?}");
        let writer = cache.writer().expect("writer thread");
        let queue = writer.queue();
        let nx = Answer::NxDomain {
            negative_ttl: Some(300),
        };
        put(&queue, "a.com", RecordType::Mx, &mx("mx.a.com", 3600), 3600);
        put(&queue, "b.com", RecordType::Mx, &nx, 300);
        put(
            &queue,
            "c.com",
            RecordType::Mx,
            &Answer::Failed(crate::dns::Failure::Timeout),
            300,
        );
        put(&queue, "d.com", RecordType::Mx, &mx(".", 60), 0);
        assert!(writer.finish().is_empty());

        let now = SystemTime::now();
        let get = |name, kind| cache.get(name, kind, now).expect("read");
        let a = get("a.com", RecordType::Mx).expect("a.com kept");
        assert_eq!(a.answer, mx("mx.a.com", 3600));
        let left = a
            .expires
            .duration_since(now)
            .expect("in the future")
            .as_secs();
        assert!((3590..=3601).contains(&left), "{left}");
        assert_eq!(get("a.com", RecordType::A), None, "keyed by type too");
        assert_eq!(get("b.com", RecordType::Mx).expect("b.com kept").answer, nx);
        assert_eq!(get("c.com", RecordType::Mx), None);
        assert_eq!(get("d.com", RecordType::Mx), None);
        let later = now + Duration::from_secs(301);
        assert_eq!(
            cache.get("b.com", RecordType::Mx, later).expect("read"),
            None
        );
        assert!(
            cache
                .get("a.com", RecordType::Mx, later)
                .expect("read")
                .is_some()
        );
        let loaded = cache.load(now).expect("load");
        assert_eq!(loaded.len(), 2);
        assert_eq!(loaded.get("b.com", RecordType::Mx).map(|e| &e.0), Some(&nx));
    }

    #[test]
    fn garbage_and_foreign_files_are_replaced() {
        let dir = tempfile::tempdir().expect("temp dir");
        let garbage = dir.path().join("garbage");
        std::fs::write(
            &garbage,
            b"this is not a database at all, just some bytes".repeat(200),
        )
        .expect("write");
        let mut warnings = Vec::new();
        let cache = PersistentCache::open(&garbage, &mut warnings);
        assert!(cache.is_some());
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("starting a new one"), "{warnings:?}");

        let foreign = dir.path().join("foreign");
        {
            let db = Database::create(&foreign).expect("redb");
            let txn = db.begin_write().expect("txn");
            let table: TableDefinition<u64, u64> = TableDefinition::new("orders");
            txn.open_table(table)
                .expect("table")
                .insert(1, 2)
                .expect("insert");
            txn.commit().expect("commit");
        }
        let mut warnings = Vec::new();
        assert!(PersistentCache::open(&foreign, &mut warnings).is_some());
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("not a listclean cache"),
            "{warnings:?}"
        );

        // The new file is a cache of ours: opening it again warns about nothing.
        let mut warnings = Vec::new();
        assert!(PersistentCache::open(&foreign, &mut warnings).is_some());
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn a_truncated_file_is_replaced() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("dns.cache");
        {
            let mut warnings = Vec::new();
            let cache = PersistentCache::open(&path, &mut warnings).expect("a new cache");
            let writer = cache.writer().expect("writer thread");
            let queue = writer.queue();
            for i in 0..5000 {
                put(
                    &queue,
                    &format!("domain{i}.com"),
                    RecordType::Mx,
                    &mx("mx.example.jp", 3600),
                    3600,
                );
            }
            assert!(writer.finish().is_empty());
        }
        let len = std::fs::metadata(&path).expect("metadata").len();
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .expect("open");
        file.set_len(len / 2).expect("truncate");
        drop(file);
        let mut warnings = Vec::new();
        let cache = PersistentCache::open(&path, &mut warnings).expect("a usable cache");
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        // Whatever survived is either gone or intact, never wrong.
        let entry = cache
            .get("domain1.com", RecordType::Mx, SystemTime::now())
            .expect("read");
        assert!(entry.is_none_or(|e| e.answer == mx("mx.example.jp", 3600)));
    }
}
