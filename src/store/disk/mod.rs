//! The disk store: traces in embedded fjall databases under the data directory, one per
//! arrival-time partition (design in `docs/storage.md`). Every write is durable (`fdatasync`)
//! before `write` returns, so a span acknowledged to a client survives a crash; writes arriving
//! together share one sync (group commit): callers encode their spans in parallel, and one writer
//! thread commits everything queued as one atomic batch, syncs once and releases every caller.
//! A write the disk refuses (full, failing) is answered with [`StoreError::Unavailable`]; the
//! writer reopens the partition and tries again at most once a second, so ingest resumes by itself.
//! A partition that cannot be opened at start is moved to `quarantine/` and the rest is served.
//!
//! Keyspaces (integers big-endian; `!t` is `u64::MAX - t`, so ascending order is newest first):
//! - `spans`: trace id · write sequence → the spans of that trace from one write (see [`codec`]);
//! - `traces`: trace id → earliest and latest span start over every partition, and earliest in this one;
//! - `by_start`: !latest · base, `by_service`: service key · !latest · base, `by_operation`:
//!   operation key · !latest · base, `by_tag`: tag key · !latest · base (the tag key hashes
//!   service, attribute key and value, see [`tag_key`]): a posting per index flush, index key and
//!   one-minute start range (see [`posting`]), listing its writes newest start first, each by
//!   its sequence less `base` (the posting's least), its start and its spans' shortest and
//!   longest durations; a write's start there is the earliest of its spans of that trace (and
//!   service, operation, tag), and `latest` the latest such start in the posting. Entries wait in
//!   an [`IndexBuffer`] for up to a second, so a posting gathers the writes of many commits;
//! - `log`: first write sequence of a commit → its arrival time and the trace ids of its writes in
//!   sequence order (what resolves postings, and what a restart replays after the last
//!   statistics checkpoint);
//! - `names`: what the name index lists; `meta`: the write sequence, the longest trace extent and
//!   the `indexed` mark (the sequence up to which postings are in the index keyspaces).
//!
//! Invariants: every `spans` value is listed, in the same atomic batch, in the `log` entry of its
//! commit; it is listed in postings of `by_start`, `by_service`, `by_operation` and `by_tag`, filed
//! no earlier than its own earliest start and within its one-minute range, in the index buffer or
//! (once its sequence is below the `indexed` mark) in the keyspaces, or else it is indexed again
//! from the log when the store opens; `traces` covers every span of the trace; `max_extent` is at
//! least every stored trace's start extent.

mod checkpoint;
mod codec;

use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use rustc_hash::FxHashMap;

use super::names::{NameEntry, Names};
use super::{operation_key, own_tag_keys, service_key, shared_tag_keys, tag_key, Store, StoreError, MAX_INDEXED_TAG};
use crate::config::{Durability, MemoryStoreSettings};
use crate::model::query::{remote_service, MatchRule, TraceQuery};
use crate::model::{Resource, Scope, SpanKind, SpanRecord, Trace, TraceId, UnixNanos};
use crate::telemetry::Telemetry;

/// Traces kept on disk.
pub struct DiskStore {
    shared: Arc<Shared>,
    /// The data directory's lock, held while the store is open.
    _lock: std::fs::File,
    names: Names,
    autocomplete_keys: Vec<String>,
    /// Prepared writes for the writer thread; `None` once the store is closing.
    queue: Mutex<Option<SyncSender<Pending>>>,
    writer: Option<std::thread::JoinHandle<()>>,
    /// Dropping it stops the expiry thread.
    stop_expiry: Option<SyncSender<()>>,
    expiry: Option<std::thread::JoinHandle<()>>,
    /// Traces searches loaded as candidates (tests).
    #[cfg(test)]
    loaded: AtomicU64,
}

/// How often partitions are checked against the retention and the disk cap.
const EXPIRY_INTERVAL: Duration = Duration::from_secs(60);

/// A prepared write and where to report its outcome.
type Pending = (Prepared, SyncSender<Result<(), StoreError>>);

/// Most prepared writes one commit takes.
const MAX_GROUP: usize = 256;

/// What the writer thread, the readers and expiry share.
struct Shared {
    /// The data directory; partitions are its `p-<start>` subdirectories.
    root: PathBuf,
    /// Open partitions by the start of their arrival-time range (Unix nanoseconds).
    partitions: RwLock<BTreeMap<u64, Arc<Partition>>>,
    /// Length of a partition's arrival-time range.
    partition_nanos: u64,
    /// Longest start extent (last − first span start) of any stored trace, in nanoseconds.
    max_extent: AtomicU64,
    limits: Limits,
    clock: Arc<dyn Clock>,
    /// Partitions closed to clear a failed write and not reopened yet.
    closed: Mutex<Vec<(u64, PathBuf)>>,
    /// Since when and why writes fail (disk full, I/O errors); `None` while they succeed.
    failure: Mutex<Option<(Instant, String)>>,
    /// Postings of the newest commits, not written to the index keyspaces yet.
    index: Mutex<IndexBuffer>,
    telemetry: Arc<Telemetry>,
    /// Test hook: while set, commits fail as a full disk would.
    #[cfg(test)]
    fail_writes: std::sync::atomic::AtomicBool,
}

/// After a failed write, how long the writer refuses writes before trying the disk again.
const RETRY_INTERVAL: Duration = Duration::from_secs(1);

/// Most journal bytes a partition keeps before its memtables are flushed.
const JOURNAL_BYTES: u64 = 128 << 20;

/// Format of the data directory, kept in its `VERSION` file.
pub const FORMAT_VERSION: u32 = 4;

/// Longest a commit's postings wait in the [`IndexBuffer`] before they are written.
const INDEX_FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// Most bytes of entries the [`IndexBuffer`] holds before its postings are written.
const INDEX_FLUSH_BYTES: usize = 32 << 20;

/// Most `names` keys a partition remembers having written (so that later commits skip them).
const NAMES_REMEMBERED: usize = 1 << 16;

/// How long and how much the disk store keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Partitions whose newest arrivals are older than this are dropped.
    pub retention: Duration,
    /// While the data directory is larger, the oldest partition is dropped (never the newest).
    pub max_disk_bytes: Option<u64>,
}

/// Where the disk store reads the time (a test clock moves it by hand).
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> UnixNanos;
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixNanos {
        UnixNanos::now()
    }
}

/// One time partition: the spans that arrived in its range, in its own fjall database.
struct Partition {
    dir: PathBuf,
    db: Database,
    spans: Keyspace,
    traces: Keyspace,
    by_start: Keyspace,
    by_service: Keyspace,
    by_operation: Keyspace,
    by_tag: Keyspace,
    log: Keyspace,
    names_keyspace: Keyspace,
    meta: Keyspace,
    /// Next write sequence (only the writer thread advances it).
    sequence: AtomicU64,
    /// `names` keys written to this partition since it was opened (up to [`NAMES_REMEMBERED`]).
    names_written: Mutex<rustc_hash::FxHashSet<Vec<u8>>>,
}

/// One caller's spans, encoded and keyed, ready to commit.
struct Prepared {
    traces: Vec<PreparedTrace>,
    names: BTreeSet<Vec<u8>>,
}

/// The spans of one trace from one write.
struct PreparedTrace {
    id: TraceId,
    first: UnixNanos,
    last: UnixNanos,
    value: Vec<u8>,
    /// Service, operation and tag index prefixes, each with what its spans in this write span.
    entries: Vec<(Keyed, [u8; 8], Extent)>,
}

/// The spans behind one index entry: their earliest start, and their shortest and longest
/// durations (kept with the entry, so a search with duration bounds skips entries that cannot match).
#[derive(Clone, Copy)]
struct Extent {
    start: UnixNanos,
    shortest: u64,
    longest: u64,
}

impl Extent {
    /// Widens this extent to cover `other`'s spans too.
    fn widen(&mut self, other: Extent) {
        self.start = self.start.min(other.start);
        self.shortest = self.shortest.min(other.shortest);
        self.longest = self.longest.max(other.longest);
    }
}

/// Which index an entry goes to.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Keyed {
    Start,
    Service,
    Operation,
    Tag,
}

/// One write's entry under an index key: its sequence, the earliest start of its spans there, and
/// their shortest and longest durations.
#[derive(Clone, Copy)]
struct Listed {
    sequence: u64,
    start: u64,
    shortest: u64,
    longest: u64,
}

/// Unit of the starts kept in a posting's entries: a microsecond, rounded up, so a start read
/// back is never earlier than the write's.
const ENTRY_START_UNIT: u64 = 1_000;

/// Writes the entries of one index key and start range as one posting, newest start first:
/// returns its latest start, its base (least sequence) and its entries, per write its sequence
/// less the base, how many [`ENTRY_START_UNIT`]s earlier it starts than the entry before (the
/// first: than `latest`), and its spans' shortest and longest durations, as varints. Newest
/// first, with starts, lets a search stop inside a posting once it has its answer.
fn posting(entries: &mut [Listed]) -> (u64, u64, Vec<u8>) {
    entries.sort_unstable_by(|a, b| b.start.cmp(&a.start).then(a.sequence.cmp(&b.sequence)));
    let latest = entries.first().map_or(0, |e| e.start);
    let base = entries.iter().map(|e| e.sequence).min().unwrap_or(0);
    let mut bytes = Vec::with_capacity(entries.len() * 8);
    let mut previous = latest.div_ceil(ENTRY_START_UNIT);
    for e in entries.iter() {
        let start = e.start.div_ceil(ENTRY_START_UNIT);
        prost::encoding::encode_varint(e.sequence - base, &mut bytes);
        prost::encoding::encode_varint(previous - start, &mut bytes);
        prost::encoding::encode_varint(e.shortest, &mut bytes);
        prost::encoding::encode_varint(e.longest, &mut bytes);
        previous = start;
    }
    (latest, base, bytes)
}

/// The span-start range one posting covers: a search for an earlier window skips postings whose
/// latest start is past the end of the range holding the window's end.
const POSTING_SPAN: u64 = 60_000_000_000;

const SEQUENCE: &[u8] = b"sequence";
/// Meta key: the write sequence up to which postings are in the index keyspaces.
const INDEXED: &[u8] = b"indexed";
const MAX_EXTENT: &[u8] = b"max_extent";
const NAME_OPERATION: u8 = b'o';
const NAME_VALUE: u8 = b'a';
const SEPARATOR: u8 = 0xFF;

fn unavailable(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("{what}: {e}"))
}

fn inverted(t: UnixNanos) -> [u8; 8] {
    (u64::MAX - t.0).to_be_bytes()
}

fn read_u64(bytes: &[u8]) -> u64 {
    bytes.get(..8).and_then(|b| b.try_into().ok()).map(u64::from_be_bytes).unwrap_or(0)
}

/// A posting's key: `prefix` · !latest start · the write sequence its offsets count from.
fn posting_key(prefix: &[u8], latest: u64, base: u64) -> Vec<u8> {
    [prefix, &(u64::MAX - latest).to_be_bytes(), &base.to_be_bytes()].concat()
}

impl DiskStore {
    /// Opens (or creates) the store in `dir` with the system clock, restoring its name index.
    pub fn open(
        dir: &Path,
        settings: &MemoryStoreSettings,
        durability: Durability,
        limits: Limits,
        telemetry: Arc<Telemetry>,
    ) -> Result<Self, StoreError> {
        Self::open_with(dir, settings, durability, limits, Arc::new(SystemClock), telemetry)
    }

    /// Opens the store with these limits and clock.
    pub fn open_with(
        dir: &Path,
        settings: &MemoryStoreSettings,
        durability: Durability,
        limits: Limits,
        clock: Arc<dyn Clock>,
        telemetry: Arc<Telemetry>,
    ) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| unavailable(&format!("cannot create {}", dir.display()), e))?;
        // A partition covers 1/28 of the retention, within [1 h, 1 d]: expiry frees a little at a time.
        let partition_nanos = (limits.retention.as_nanos() / 28).clamp(3_600_000_000_000, 86_400_000_000_000) as u64;
        let lock = lock_directory(dir)?;
        check_version(dir)?;
        let mut partitions = BTreeMap::new();
        let mut max_extent = 0;
        let entries = std::fs::read_dir(dir).map_err(|e| unavailable(&format!("cannot read {}", dir.display()), e))?;
        let mut found: Vec<(u64, PathBuf)> = entries
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name();
                let start = name.to_str()?.strip_prefix("p-")?.parse::<u64>().ok()?;
                Some((start, entry.path()))
            })
            .collect();
        found.sort_unstable();
        for (start, path) in found {
            // A damaged partition is set aside so the others are served; any other failure (a lock,
            // permissions) stops the start-up, since moving the files would not help.
            let opened = Partition::open_checked(path.clone()).and_then(|p| {
                let extent = p.meta_u64(MAX_EXTENT).map_err(|e| (e, true))?;
                let reindexed = p.reindex().map_err(|e| (e, true))?;
                Ok((extent, reindexed, p))
            });
            match opened {
                Ok((extent, reindexed, partition)) => {
                    if reindexed > 0 {
                        tracing::info!(dir = %partition.dir.display(), writes = reindexed, "indexed the writes a stop left unindexed");
                    }
                    max_extent = max_extent.max(extent);
                    partitions.insert(start, Arc::new(partition));
                }
                Err((e, true)) => quarantine(dir, &path, &e, &telemetry)?,
                Err((e, false)) => return Err(e),
            }
        }
        let shared = Arc::new(Shared {
            root: dir.to_owned(),
            partitions: RwLock::new(partitions),
            partition_nanos,
            max_extent: AtomicU64::new(max_extent),
            limits,
            clock,
            failure: Mutex::new(None),
            index: Mutex::new(IndexBuffer::default()),
            closed: Mutex::new(Vec::new()),
            telemetry: telemetry.clone(),
            #[cfg(test)]
            fail_writes: std::sync::atomic::AtomicBool::new(false),
        });
        shared.telemetry.store_bytes.set(shared.partitions().iter().map(|(_, p)| dir_size(&p.dir)).sum::<u64>() as i64);
        let (queue, pending) = sync_channel::<Pending>(MAX_GROUP * 4);
        let writer = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("tracehound-disk-writer".into())
                .spawn(move || shared.run_writer(pending, durability))
                .map_err(|e| unavailable("cannot start the disk writer thread", e))?
        };
        let (stop_expiry, stopped) = sync_channel::<()>(0);
        let expiry = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("tracehound-disk-expiry".into())
                .spawn(move || {
                    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(EXPIRY_INTERVAL) {
                        if let Err(e) = shared.expire() {
                            tracing::warn!(error = %e, "disk store expiry failed; retrying in a minute");
                        }
                    }
                })
                .map_err(|e| unavailable("cannot start the disk expiry thread", e))?
        };
        let store = Self {
            shared,
            _lock: lock,
            names: Names::new(settings, telemetry),
            autocomplete_keys: settings.autocomplete_keys.clone(),
            queue: Mutex::new(Some(queue)),
            writer: Some(writer),
            stop_expiry: Some(stop_expiry),
            expiry: Some(expiry),
            #[cfg(test)]
            loaded: AtomicU64::new(0),
        };
        store.restore_names()?;
        Ok(store)
    }

    /// Drops partitions past the retention, then the oldest ones while the data directory is over
    /// the disk cap (never the newest); returns how many it dropped. Runs every minute on its own,
    /// and sets the store-bytes gauge to what the partitions take.
    pub fn expire(&self) -> Result<usize, StoreError> {
        self.shared.expire()
    }

    /// Bytes the open partitions take on disk.
    pub fn disk_bytes(&self) -> u64 {
        self.shared.partitions().iter().map(|(_, p)| dir_size(&p.dir)).sum()
    }

    /// The open partitions' starts, oldest first.
    pub fn partition_starts(&self) -> Vec<u64> {
        self.shared.partitions().into_iter().map(|(start, _)| start).collect()
    }

    fn restore_names(&self) -> Result<(), StoreError> {
        let mut keys = Vec::new();
        for (_, partition) in self.shared.partitions() {
            for item in partition.names_keyspace.iter() {
                let (key, _) = item.into_inner().map_err(|e| unavailable("reading names", e))?;
                keys.push(key.to_vec());
            }
        }
        let mut entries = Vec::new();
        let mut values = Vec::new();
        for key in &keys {
            let mut parts = key[1..].split(|b| *b == SEPARATOR).map(|p| std::str::from_utf8(p).unwrap_or_default());
            match key.first() {
                Some(&NAME_OPERATION) => {
                    let (Some(service), Some(operation), Some(kind)) = (parts.next(), parts.next(), parts.next())
                    else {
                        continue;
                    };
                    let kind = SpanKind::from_otlp(kind.parse().unwrap_or(0));
                    let remote = parts.next().filter(|r| !r.is_empty());
                    entries.push(NameEntry { service, operation, kind, remote });
                }
                Some(&NAME_VALUE) => {
                    if let (Some(k), Some(v)) = (parts.next(), parts.next()) {
                        values.push((k, v.to_owned()));
                    }
                }
                _ => {}
            }
        }
        self.names.restore(entries, values);
        Ok(())
    }

    /// The name-index rows these spans contribute, as `names` keys.
    fn name_keys(&self, records: &[Arc<SpanRecord>]) -> BTreeSet<Vec<u8>> {
        let mut keys = BTreeSet::new();
        let mut seen: HashSet<(&str, &str, SpanKind, Option<&str>)> = HashSet::new();
        for r in records {
            for k in &self.autocomplete_keys {
                let value = r.span.attribute(k).or_else(|| r.resource.attribute(k)).map(|v| v.to_text());
                if let Some(value) = value.filter(|v| !v.is_empty()) {
                    keys.insert([&[NAME_VALUE][..], k.as_bytes(), &[SEPARATOR], value.as_bytes()].concat());
                }
            }
            if !seen.insert((r.service_name(), &r.span.name, r.span.kind, remote_service(r))) {
                continue;
            }
            let mut key = vec![NAME_OPERATION];
            key.extend_from_slice(r.service_name().as_bytes());
            key.push(SEPARATOR);
            key.extend_from_slice(r.span.name.as_bytes());
            key.push(SEPARATOR);
            key.extend_from_slice(r.span.kind.to_otlp().to_string().as_bytes());
            if let Some(remote) = remote_service(r) {
                key.push(SEPARATOR);
                key.extend_from_slice(remote.as_bytes());
            }
            keys.insert(key);
        }
        keys
    }

    /// Encodes and keys spans for the writer thread (in the caller's thread, so callers encode in
    /// parallel).
    fn prepare(&self, records: &[Arc<SpanRecord>]) -> Prepared {
        let names = self.name_keys(records);
        let mut by_trace: Vec<(TraceId, Vec<Arc<SpanRecord>>)> = Vec::new();
        let mut slot: HashMap<TraceId, usize> = HashMap::new();
        for r in records {
            let id = r.span.trace_id;
            let i = *slot.entry(id).or_insert_with(|| {
                by_trace.push((id, Vec::new()));
                by_trace.len() - 1
            });
            by_trace[i].1.push(r.clone());
        }
        let mut shared_keys = SharedKeys::default();
        let mut text = String::new();
        let traces = by_trace
            .into_iter()
            .map(|(id, group)| {
                let first = group.iter().map(|r| r.span.start).min().unwrap_or_default();
                let last = group.iter().map(|r| r.span.start).max().unwrap_or_default();
                let entries = index_entries(&group, &mut text, &mut shared_keys);
                PreparedTrace { id, first, last, value: codec::encode(&group), entries }
            })
            .collect();
        Prepared { traces, names }
    }

    /// Writes the buffered postings now (tests).
    #[cfg(test)]
    fn flush_index(&self) {
        self.shared.flush_index_if_due(true);
    }

    /// Forgets the buffered postings, as a crash would (tests: close the store next).
    #[cfg(test)]
    fn lose_index(&self) {
        *self.shared.index.lock().unwrap() = IndexBuffer::default();
    }

    fn read_trace(&self, id: TraceId) -> Result<Option<Trace>, StoreError> {
        let mut spans = Vec::new();
        for (_, partition) in self.shared.partitions() {
            partition.read_spans(id, &mut spans)?;
        }
        Ok((!spans.is_empty()).then_some(Trace { trace_id: id, spans }))
    }
}

impl Shared {
    /// The open partitions, oldest first.
    fn partitions(&self) -> Vec<(u64, Arc<Partition>)> {
        let map = self.partitions.read().unwrap_or_else(|p| p.into_inner());
        map.iter().map(|(start, p)| (*start, p.clone())).collect()
    }

    /// The partition for arrivals at `now`, created when it does not exist yet.
    fn current(&self, now: UnixNanos) -> Result<(u64, Arc<Partition>), StoreError> {
        let start = now.0 - now.0 % self.partition_nanos;
        if let Some(p) = self.partitions.read().unwrap_or_else(|p| p.into_inner()).get(&start) {
            return Ok((start, p.clone()));
        }
        let partition = Arc::new(Partition::open(self.root.join(format!("p-{start}")))?);
        tracing::info!(dir = %partition.dir.display(), "disk store partition started");
        self.partitions.write().unwrap_or_else(|p| p.into_inner()).insert(start, partition.clone());
        Ok((start, partition))
    }

    fn expire(&self) -> Result<usize, StoreError> {
        let now = self.clock.now().0;
        let horizon = now.saturating_sub(self.limits.retention.as_nanos() as u64);
        let mut dropped = Vec::new();
        {
            let mut map = self.partitions.write().unwrap_or_else(|p| p.into_inner());
            let newest = map.keys().next_back().copied();
            let expired: Vec<u64> = map
                .keys()
                .copied()
                .filter(|start| start + self.partition_nanos <= horizon && Some(*start) != newest)
                .collect();
            for start in expired {
                dropped.extend(map.remove(&start));
            }
        }
        // Sizes are read without holding the partitions' lock: walking the files takes a while.
        let sizes: Vec<(u64, u64)> = self.partitions().iter().map(|(start, p)| (*start, dir_size(&p.dir))).collect();
        let mut total: u64 = sizes.iter().map(|(_, size)| size).sum();
        if let Some(cap) = self.limits.max_disk_bytes {
            let mut map = self.partitions.write().unwrap_or_else(|p| p.into_inner());
            for (start, size) in &sizes {
                if total <= cap || map.len() <= 1 {
                    break;
                }
                if let Some(p) = map.remove(start) {
                    total = total.saturating_sub(*size);
                    dropped.push(p);
                }
            }
        }
        self.telemetry.store_bytes.set(total as i64);
        let count = dropped.len();
        self.telemetry.store_partitions_dropped.add(count as u64);
        for partition in dropped {
            tracing::info!(dir = %partition.dir.display(), "disk store partition dropped (retention or disk cap)");
            remove_when_unused(partition);
        }
        Ok(count)
    }

    /// Commits whatever has queued as one batch, until the store closes. Strict: each batch is
    /// synced before its callers are released. Relaxed: callers are released once the batch is
    /// in the operating system's buffers, and the data is synced at most `window` later.
    fn run_writer(&self, pending: Receiver<Pending>, durability: Durability) {
        let window = match durability {
            Durability::Strict => None,
            Durability::Relaxed { window } => Some(window),
        };
        let mut unsynced_since: Option<std::time::Instant> = None;
        loop {
            let wait = match (window, unsynced_since) {
                (Some(window), Some(since)) => window.saturating_sub(since.elapsed()),
                _ => Duration::from_secs(3600),
            };
            let wait = self.index_due_in().map_or(wait, |due| due.min(wait));
            let first = match pending.recv_timeout(wait) {
                Ok(first) => first,
                Err(RecvTimeoutError::Timeout) => {
                    self.flush_index_if_due(false);
                    if window.is_some_and(|w| unsynced_since.is_some_and(|since| since.elapsed() >= w)) {
                        unsynced_since = None;
                        self.sync_relaxed();
                    }
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            };
            let mut group = vec![first];
            while group.len() < MAX_GROUP {
                match pending.try_recv() {
                    Ok(more) => group.push(more),
                    Err(_) => break,
                }
            }
            let (writes, replies): (Vec<Prepared>, Vec<_>) = group.into_iter().unzip();
            let mode = if window.is_some() { PersistMode::Buffer } else { PersistMode::SyncData };
            let outcome = self.commit_or_refuse(writes, mode);
            if window.is_some() && outcome.is_ok() {
                let since = *unsynced_since.get_or_insert_with(std::time::Instant::now);
                if window.is_some_and(|w| since.elapsed() >= w) {
                    unsynced_since = None;
                    self.sync_relaxed();
                }
            }
            for reply in replies {
                // A caller that gave up waiting is no longer listening; nothing to do for it.
                let _ = reply.send(outcome.clone());
            }
        }
        // Written and synced at a clean stop, so the next start has nothing to index again.
        self.flush_index_if_due(true);
        self.sync_relaxed();
    }

    /// Commits, unless writes failed less than [`RETRY_INTERVAL`] ago: then the writes are refused
    /// at once (the client retries). After a failure the partition is reopened before the next
    /// attempt, since the engine refuses every write after a failed one until it is reopened.
    fn commit_or_refuse(&self, writes: Vec<Prepared>, mode: PersistMode) -> Result<(), StoreError> {
        let mut failure = self.failure.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((since, why)) = &*failure {
            if since.elapsed() < RETRY_INTERVAL {
                self.telemetry.store_write_failures.add(1);
                return Err(StoreError::Unavailable(format!("the disk store cannot write ({why}); retry later")));
            }
            if let Err(e) = self.reopen_current() {
                *failure = Some((Instant::now(), e.to_string()));
                self.telemetry.store_write_failures.add(1);
                return Err(e);
            }
        }
        match self.commit(writes, mode) {
            Ok(()) => {
                if failure.take().is_some() {
                    tracing::info!("the disk store writes again");
                }
                Ok(())
            }
            Err(e) => {
                if failure.is_none() {
                    tracing::error!(error = %e, "the disk store cannot write; refusing spans (clients retry) and trying again every second");
                }
                *failure = Some((Instant::now(), e.to_string()));
                self.telemetry.store_write_failures.add(1);
                Err(e)
            }
        }
    }

    /// Closes and reopens the newest partition, clearing the engine's refusal after a failed write.
    fn reopen_current(&self) -> Result<(), StoreError> {
        self.reopen_closed()?;
        let Some((start, _)) = self.partitions().pop() else { return Ok(()) };
        let mut map = self.partitions.write().unwrap_or_else(|p| p.into_inner());
        let Some(mut old) = map.remove(&start) else { return Ok(()) };
        // Readers hold a partition briefly; wait for them so the engine's lock is released.
        let deadline = Instant::now() + Duration::from_secs(5);
        let dir = loop {
            match Arc::try_unwrap(old) {
                Ok(partition) => {
                    let dir = partition.dir.clone();
                    drop(partition);
                    break dir;
                }
                Err(still_used) if Instant::now() < deadline => {
                    old = still_used;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(still_used) => {
                    map.insert(start, still_used);
                    return Err(StoreError::Unavailable("the partition is busy; retrying".into()));
                }
            }
        };
        self.closed.lock().unwrap_or_else(|p| p.into_inner()).push((start, dir));
        drop(map);
        self.reopen_closed()
    }

    /// Reopens partitions closed after a failed write (kept for the next attempt when that fails),
    /// indexing again what they hold past their `indexed` mark: the buffered postings may list
    /// writes the failure lost, so they are dropped.
    fn reopen_closed(&self) -> Result<(), StoreError> {
        let mut closed = self.closed.lock().unwrap_or_else(|p| p.into_inner());
        while let Some((start, dir)) = closed.pop() {
            let mut buffer = self.index.lock().unwrap_or_else(|p| p.into_inner());
            if buffer.partition == start {
                *buffer = IndexBuffer::default();
            }
            drop(buffer);
            match Partition::open(dir.clone()).and_then(|p| p.reindex().map(|_| p)) {
                Ok(partition) => {
                    self.partitions.write().unwrap_or_else(|p| p.into_inner()).insert(start, Arc::new(partition));
                }
                Err(e) => {
                    closed.push((start, dir));
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// The relaxed mode's periodic sync; a failure is logged (the next one retries).
    fn sync_relaxed(&self) {
        let Some((_, newest)) = self.partitions().pop() else { return };
        if let Err(e) = newest.db.persist(PersistMode::SyncData) {
            tracing::error!(error = %e, "syncing the disk store failed; spans from the last window may be lost in a crash");
        }
    }

    /// Writes prepared writes as one atomic batch and persists it as `mode` says; their postings
    /// go to the [`IndexBuffer`] once the batch is stored.
    fn commit(&self, writes: Vec<Prepared>, mode: PersistMode) -> Result<(), StoreError> {
        #[cfg(test)]
        if self.fail_writes.load(Ordering::Relaxed) {
            return Err(StoreError::Unavailable("No space left on device (injected)".into()));
        }
        let arrival = self.clock.now();
        let (start, partition) = self.current(arrival)?;
        let partitions = self.partitions();
        let p = &*partition;
        let mut sequence = p.sequence.load(Ordering::Relaxed);
        let first_sequence = sequence;
        // Buffered postings are written first when they are due (or index another partition), so
        // that the buffer holds this partition's newest writes.
        {
            let mut buffer = self.index.lock().unwrap_or_else(|p| p.into_inner());
            if buffer.due(start) {
                self.flush_index(&mut buffer)?;
            }
            if buffer.since.is_none() {
                (buffer.partition, buffer.next) = (start, first_sequence);
            }
        }
        let mut batch = p.db.batch().durability(None);
        let mut extent = self.max_extent.load(Ordering::Relaxed);
        // The commit's arrival time, then each write's trace id in sequence order.
        let mut log = arrival.0.to_be_bytes().to_vec();
        // Bounds of traces this batch extends, so two writes of one trace in a group combine.
        let mut bounds: HashMap<TraceId, Bounds> = HashMap::new();
        let mut postings = Postings::default();
        let mut names: BTreeSet<Vec<u8>> = BTreeSet::new();
        for prepared in writes {
            names.extend(prepared.names);
            for t in prepared.traces {
                let known = match bounds.get(&t.id) {
                    Some(b) => Some(*b),
                    // The trace may have spans in earlier partitions too: its extent spans them all.
                    None => trace_bounds(&partitions, &t.id, Some(&partition))?,
                };
                let b = known.map_or(Bounds { first: t.first, last: t.last, own_first: t.first }, |b| Bounds {
                    first: b.first.min(t.first),
                    last: b.last.max(t.last),
                    own_first: b.own_first.min(t.first),
                });
                bounds.insert(t.id, b);
                extent = extent.max(b.last.0.saturating_sub(b.first.0));
                add_entries(&mut postings, sequence, t.first, t.entries);
                batch.insert(&p.spans, [&t.id.as_bytes()[..], &sequence.to_be_bytes()].concat(), t.value);
                log.extend_from_slice(t.id.as_bytes());
                sequence += 1;
            }
        }
        for (id, b) in bounds {
            let value = [b.first.0.to_be_bytes(), b.last.0.to_be_bytes(), b.own_first.0.to_be_bytes()].concat();
            batch.insert(&p.traces, id.as_bytes().to_vec(), value);
        }
        // A name written to this partition once need not be written again.
        let mut written = p.names_written.lock().unwrap_or_else(|p| p.into_inner());
        names.retain(|key| !written.contains(key));
        for key in &names {
            batch.insert(&p.names_keyspace, key.clone(), Vec::new());
        }
        if sequence > first_sequence {
            batch.insert(&p.log, first_sequence.to_be_bytes().to_vec(), log);
        }
        batch.insert(&p.meta, SEQUENCE.to_vec(), sequence.to_be_bytes().to_vec());
        batch.insert(&p.meta, MAX_EXTENT.to_vec(), extent.to_be_bytes().to_vec());
        batch.commit().map_err(|e| unavailable("writing spans", e))?;
        // Buffered as soon as the batch is in: should the sync fail, the partition is reopened and
        // indexed again from what it holds, and the buffer dropped.
        if sequence > first_sequence {
            let mut buffer = self.index.lock().unwrap_or_else(|p| p.into_inner());
            for ((keyed, key, range), entries) in postings {
                buffer.bytes += entries.len() * std::mem::size_of::<Listed>();
                let ranges = buffer.postings.entry((keyed, key)).or_default();
                match ranges.iter_mut().find(|(r, _)| *r == range) {
                    Some((_, held)) => held.extend_from_slice(&entries),
                    None => ranges.push((range, entries)),
                }
            }
            buffer.next = sequence;
            buffer.since.get_or_insert_with(Instant::now);
        }
        p.db.persist(mode).map_err(|e| unavailable("persisting spans", e))?;
        p.sequence.store(sequence, Ordering::Relaxed);
        self.max_extent.store(extent, Ordering::Relaxed);
        for key in names {
            if written.len() >= NAMES_REMEMBERED {
                break;
            }
            written.insert(key);
        }
        Ok(())
    }

    /// Writes the buffered postings to their partition's index keyspaces, with its `indexed` mark
    /// (not synced: a crash loses nothing, since the writes are indexed again at start).
    fn flush_index(&self, buffer: &mut IndexBuffer) -> Result<(), StoreError> {
        if buffer.since.is_none() {
            return Ok(());
        }
        // A partition dropped meanwhile takes its postings with it.
        let partition = self.partitions.read().unwrap_or_else(|p| p.into_inner()).get(&buffer.partition).cloned();
        if let Some(p) = partition {
            let mut batch = p.db.batch().durability(None);
            for ((keyed, key), ranges) in &mut buffer.postings {
                for (_, entries) in ranges {
                    let (latest, base, bytes) = posting(entries);
                    batch.insert(p.index(*keyed), posting_key(index_prefix(*keyed, key), latest, base), bytes);
                }
            }
            batch.insert(&p.meta, INDEXED.to_vec(), buffer.next.to_be_bytes().to_vec());
            batch.commit().map_err(|e| unavailable("writing the index", e))?;
        }
        buffer.postings.clear();
        buffer.bytes = 0;
        buffer.since = None;
        Ok(())
    }

    /// Writes the buffered postings if they are due; a failure is logged (the next attempt retries).
    fn flush_index_if_due(&self, force: bool) {
        let mut buffer = self.index.lock().unwrap_or_else(|p| p.into_inner());
        let due = buffer.since.is_some_and(|since| force || since.elapsed() >= INDEX_FLUSH_INTERVAL);
        if due {
            if let Err(e) = self.flush_index(&mut buffer) {
                tracing::warn!(error = %e, "writing the disk store's index failed; retrying");
            }
        }
    }

    /// How long until the buffered postings are due, if any wait.
    fn index_due_in(&self) -> Option<Duration> {
        let buffer = self.index.lock().unwrap_or_else(|p| p.into_inner());
        buffer.since.map(|since| INDEX_FLUSH_INTERVAL.saturating_sub(since.elapsed()))
    }
}

impl Partition {
    /// Opens (or creates) the partition database in `dir`.
    fn open(dir: PathBuf) -> Result<Self, StoreError> {
        Self::open_checked(dir).map_err(|(e, _)| e)
    }

    /// Like [`Partition::open`]; a failure says whether the files are damaged (rather than, say,
    /// locked or unreadable for lack of permission), which is when a partition may be set aside.
    fn open_checked(dir: PathBuf) -> Result<Self, (StoreError, bool)> {
        // A bounded journal bounds what a restart replays (fjall's default is 512 MiB).
        let opened = Database::builder(&dir).max_journaling_size(JOURNAL_BYTES).open();
        let db = opened.map_err(|e| {
            let damaged = is_damage(&e);
            (unavailable(&format!("cannot open the disk store partition {}", dir.display()), e), damaged)
        })?;
        Self::with_keyspaces(db, dir).map_err(|e| (e, true))
    }

    fn with_keyspaces(db: Database, dir: PathBuf) -> Result<Self, StoreError> {
        let keyspace = |name: &str| {
            db.keyspace(name, KeyspaceCreateOptions::default).map_err(|e| unavailable(&format!("keyspace {name}"), e))
        };
        // Span values live in blob files, written once: compaction moves only their keys.
        let separated =
            || KeyspaceCreateOptions::default().with_kv_separation(Some(fjall::KvSeparationOptions::default()));
        let partition = Self {
            spans: db.keyspace("spans", separated).map_err(|e| unavailable("keyspace spans", e))?,
            traces: keyspace("traces")?,
            by_start: keyspace("by_start")?,
            by_service: keyspace("by_service")?,
            by_operation: keyspace("by_operation")?,
            by_tag: keyspace("by_tag")?,
            log: keyspace("log")?,
            names_keyspace: keyspace("names")?,
            meta: keyspace("meta")?,
            sequence: AtomicU64::new(0),
            names_written: Mutex::new(Default::default()),
            db,
            dir,
        };
        partition.sequence.store(partition.meta_u64(SEQUENCE)?, Ordering::Relaxed);
        Ok(partition)
    }

    /// The keyspace of an index.
    fn index(&self, keyed: Keyed) -> &Keyspace {
        match keyed {
            Keyed::Start => &self.by_start,
            Keyed::Service => &self.by_service,
            Keyed::Operation => &self.by_operation,
            Keyed::Tag => &self.by_tag,
        }
    }

    /// Indexes again the writes after the `indexed` mark (postings a crash kept from being
    /// written) from the log and the spans; returns how many writes it indexed.
    fn reindex(&self) -> Result<u64, StoreError> {
        let indexed = self.meta_u64(INDEXED)?;
        let sequence = self.sequence.load(Ordering::Relaxed);
        if indexed >= sequence {
            return Ok(0);
        }
        let mut postings = Postings::default();
        let mut text = String::new();
        for item in self.log.range(indexed.to_be_bytes()..) {
            let (key, value) = item.into_inner().map_err(|e| unavailable("reading the write log", e))?;
            let first = read_u64(&key);
            let mut shared = SharedKeys::default();
            for (i, id) in value.get(8..).unwrap_or_default().chunks_exact(16).enumerate() {
                let write = first + i as u64;
                let Some(spans) =
                    self.spans.get([id, &write.to_be_bytes()].concat()).map_err(|e| unavailable("reading spans", e))?
                else {
                    continue;
                };
                let group: Vec<Arc<SpanRecord>> = codec::decode(&spans)
                    .map_err(|e| unavailable("indexing spans again", e))?
                    .into_iter()
                    .map(Arc::new)
                    .collect();
                let start = group.iter().map(|r| r.span.start).min().unwrap_or_default();
                add_entries(&mut postings, write, start, index_entries(&group, &mut text, &mut shared));
            }
        }
        let mut batch = self.db.batch().durability(None);
        for ((keyed, key, _), mut entries) in postings {
            let (latest, base, bytes) = posting(&mut entries);
            batch.insert(self.index(keyed), posting_key(index_prefix(keyed, &key), latest, base), bytes);
        }
        batch.insert(&self.meta, INDEXED.to_vec(), sequence.to_be_bytes().to_vec());
        batch.commit().map_err(|e| unavailable("writing the index", e))?;
        self.db.persist(PersistMode::SyncData).map_err(|e| unavailable("persisting the index", e))?;
        Ok(sequence - indexed)
    }

    fn meta_u64(&self, key: &[u8]) -> Result<u64, StoreError> {
        Ok(self.meta.get(key).map_err(|e| unavailable("reading metadata", e))?.map_or(0, |v| read_u64(&v)))
    }

    /// The trace's span starts as this partition's `traces` entry keeps them.
    fn bounds(&self, id: &TraceId) -> Result<Option<Bounds>, StoreError> {
        Ok(self.traces.get(id.as_bytes()).map_err(|e| unavailable("reading a trace", e))?.map(|b| {
            let at = |offset: usize| UnixNanos(read_u64(b.get(offset..).unwrap_or_default()));
            Bounds { first: at(0), last: at(8), own_first: at(16) }
        }))
    }

    /// Appends the trace's spans in this partition, in write order.
    fn read_spans(&self, id: TraceId, spans: &mut Vec<Arc<SpanRecord>>) -> Result<(), StoreError> {
        if !self.traces.contains_key(id.as_bytes()).map_err(|e| unavailable("reading a trace", e))? {
            return Ok(());
        }
        for item in self.spans.prefix(id.as_bytes()) {
            let (_, value) = item.into_inner().map_err(|e| unavailable("reading spans", e))?;
            let records = codec::decode(&value).map_err(|e| unavailable(&format!("trace {id}"), e))?;
            spans.extend(records.into_iter().map(Arc::new));
        }
        Ok(())
    }
}

/// Tag keys of the resources and scopes met so far, by their addresses (the cache holds the
/// values, so an address is never reused while it is cached).
type SharedKeys = FxHashMap<(*const Resource, *const Scope), (Arc<Resource>, Arc<Scope>, Vec<u64>)>;

/// The service, operation and tag index entries of one write's spans of one trace, each with what
/// its spans there span. Tag keys of a resource and scope are computed once per `shared` cache.
fn index_entries(
    group: &[Arc<SpanRecord>],
    text: &mut String,
    shared: &mut SharedKeys,
) -> Vec<(Keyed, [u8; 8], Extent)> {
    let mut extents: FxHashMap<(Keyed, u64), Extent> = FxHashMap::default();
    let mut note = |key: (Keyed, u64), extent: Extent| {
        extents.entry(key).and_modify(|e| e.widen(extent)).or_insert(extent);
    };
    // Spans by resource and scope (a trace has a few), with the extent of each.
    let mut sources: Vec<(&SpanRecord, Extent)> = Vec::new();
    for r in group {
        let (start, nanos) = (r.span.start, r.span.duration_nanos());
        let extent = Extent { start, shortest: nanos, longest: nanos };
        note((Keyed::Operation, operation_key(r.service_name(), &r.span.name)), extent);
        own_tag_keys(r, service_key(r.service_name()), text, |key| note((Keyed::Tag, key), extent));
        match sources.iter_mut().find(|(s, _)| Arc::ptr_eq(&s.resource, &r.resource) && Arc::ptr_eq(&s.scope, &r.scope))
        {
            Some((_, e)) => e.widen(extent),
            None => sources.push((r, extent)),
        }
    }
    for (r, extent) in sources {
        note((Keyed::Service, service_key(r.service_name())), extent);
        let (_, _, keys) = shared.entry((Arc::as_ptr(&r.resource), Arc::as_ptr(&r.scope))).or_insert_with(|| {
            let mut keys = Vec::new();
            shared_tag_keys(&r.resource, &r.scope, text, |key| keys.push(key));
            (r.resource.clone(), r.scope.clone(), keys)
        });
        for &key in keys.iter() {
            note((Keyed::Tag, key), extent);
        }
    }
    extents.into_iter().map(|((which, key), extent)| (which, key.to_be_bytes(), extent)).collect()
}

/// Entries by index, key and start range, as one commit (or one re-indexing) collects them.
type Postings = FxHashMap<(Keyed, [u8; 8], u64), Vec<Listed>>;

/// Files one write's entries (and its `by_start` entry, from `first`) under its `sequence`.
fn add_entries(postings: &mut Postings, sequence: u64, first: UnixNanos, entries: Vec<(Keyed, [u8; 8], Extent)>) {
    let everything = Extent { start: first, shortest: 0, longest: u64::MAX };
    for (keyed, key, extent) in std::iter::once((Keyed::Start, [0; 8], everything)).chain(entries) {
        postings.entry((keyed, key, extent.start.0 / POSTING_SPAN)).or_default().push(Listed {
            sequence,
            start: extent.start.0,
            shortest: extent.shortest,
            longest: extent.longest,
        });
    }
}

/// Entries of one start range (the start over [`POSTING_SPAN`]).
type Ranged = (u64, Vec<Listed>);

/// Index entries of recent commits that are not in the index keyspaces yet. They are written
/// together at most [`INDEX_FLUSH_INTERVAL`] or [`INDEX_FLUSH_BYTES`] apart, so that postings
/// gather the writes of many commits rather than one each (most of a commit's keys were postings).
/// Searches read them here meanwhile. After a crash, the writes since the partition's `indexed`
/// mark are indexed again from the log and the spans when the store opens.
#[derive(Default)]
struct IndexBuffer {
    /// The partition (by its start) whose writes the postings index.
    partition: u64,
    /// The sequence after the last write the postings index.
    next: u64,
    /// Entries by index and key, then by start range.
    postings: FxHashMap<(Keyed, [u8; 8]), Vec<Ranged>>,
    /// Bytes of entries held.
    bytes: usize,
    /// When the oldest posting not yet written arrived; `None` while nothing waits.
    since: Option<Instant>,
}

impl IndexBuffer {
    /// Whether postings wait and must be written before `partition` takes more.
    fn due(&self, partition: u64) -> bool {
        self.since.is_some_and(|since| {
            self.partition != partition || self.bytes >= INDEX_FLUSH_BYTES || since.elapsed() >= INDEX_FLUSH_INTERVAL
        })
    }
}

/// An index walk: a keyspace's postings, or postings still in the [`IndexBuffer`] (sorted).
enum Walk {
    Index(fjall::Iter),
    Buffered(std::vec::IntoIter<Entry>),
}

impl Walk {
    /// The next posting, or `None` once the walk leaves the prefix.
    fn next(&mut self, prefix: &[u8]) -> Result<Option<Entry>, StoreError> {
        match self {
            Walk::Index(walk) => next_entry(walk, prefix),
            Walk::Buffered(entries) => Ok(entries.next()),
        }
    }
}

/// Finds the trace id of a write sequence in a partition's log, keeping the last commit read.
#[derive(Default)]
struct LogReader {
    /// Partition (its place in the search's list), first sequence and log entry of the last commit.
    last: Option<(usize, u64, fjall::Slice)>,
}

impl LogReader {
    fn trace_at(&mut self, at: usize, partition: &Partition, sequence: u64) -> Result<Option<TraceId>, StoreError> {
        let covers = |(a, first, log): &(usize, u64, fjall::Slice)| {
            *a == at && sequence >= *first && sequence - first < (log.len().saturating_sub(8) / 16) as u64
        };
        if !self.last.as_ref().is_some_and(covers) {
            let Some(item) = partition.log.range(..=sequence.to_be_bytes()).next_back() else { return Ok(None) };
            let (key, log) = item.into_inner().map_err(|e| unavailable("reading the write log", e))?;
            self.last = Some((at, read_u64(&key), log));
        }
        Ok(self.last.as_ref().filter(|last| covers(last)).and_then(|(_, first, log)| {
            let at = 8 + (sequence - first) as usize * 16;
            TraceId::try_from(log.get(at..at + 16).unwrap_or_default()).ok()
        }))
    }
}

/// A trace's span starts, as a partition's `traces` entry keeps them.
#[derive(Clone, Copy)]
struct Bounds {
    /// Earliest and latest span start over every partition when the entry was written (a
    /// partition dropped since may have held the earliest).
    first: UnixNanos,
    last: UnixNanos,
    /// Earliest span start in this partition.
    own_first: UnixNanos,
}

/// A trace's bounds over every open partition. `own_first` is the earliest start of the spans
/// still held (what results rank by), or with `own_in`, of those in that partition.
fn trace_bounds(
    partitions: &[(u64, Arc<Partition>)],
    id: &TraceId,
    own_in: Option<&Arc<Partition>>,
) -> Result<Option<Bounds>, StoreError> {
    let mut found: Option<Bounds> = None;
    for (_, partition) in partitions {
        let Some(mut b) = partition.bounds(id)? else { continue };
        if own_in.is_some_and(|own| !Arc::ptr_eq(own, partition)) {
            b.own_first = UnixNanos(u64::MAX);
        }
        found = Some(found.map_or(b, |f| Bounds {
            first: f.first.min(b.first),
            last: f.last.max(b.last),
            own_first: f.own_first.min(b.own_first),
        }));
    }
    Ok(found)
}

/// What an index's keys start with: the index key, except in `by_start`.
fn index_prefix(keyed: Keyed, key: &[u8; 8]) -> &[u8] {
    if keyed == Keyed::Start {
        &[]
    } else {
        key
    }
}

/// A posting read from an index: its key and its entries.
type Entry = (Vec<u8>, fjall::Slice);

/// The next posting of an index walk, or `None` once it leaves the prefix.
fn next_entry(walk: &mut fjall::Iter, prefix: &[u8]) -> Result<Option<Entry>, StoreError> {
    match walk.next() {
        None => Ok(None),
        Some(item) => {
            let (key, value) = item.into_inner().map_err(|e| unavailable("reading the index", e))?;
            Ok(key.starts_with(prefix).then(|| (key.to_vec(), value)))
        }
    }
}

/// Whether an engine error means damaged files (checksums, formats, truncation), not a failure
/// of the environment.
fn is_damage(error: &fjall::Error) -> bool {
    use std::io::ErrorKind;
    let damaged_io = |e: &std::io::Error| {
        matches!(e.kind(), ErrorKind::InvalidData | ErrorKind::UnexpectedEof | ErrorKind::NotFound)
    };
    match error {
        fjall::Error::Io(e) | fjall::Error::Storage(fjall::LsmError::Io(e)) => damaged_io(e),
        fjall::Error::Locked | fjall::Error::Poisoned | fjall::Error::KeyspaceDeleted => false,
        _ => true,
    }
}

/// Holds the data directory for this process (an exclusive lock on `LOCK`, released on exit).
fn lock_directory(dir: &Path) -> Result<std::fs::File, StoreError> {
    let path = dir.join("LOCK");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| unavailable(&format!("cannot open {}", path.display()), e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Unavailable(format!(
            "{} is in use by another tracehound; give each one its own --data-dir",
            dir.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(unavailable(&format!("cannot lock {}", path.display()), e)),
    }
}

/// Checks the data directory's format version, writing it into a directory that has none.
fn check_version(dir: &Path) -> Result<(), StoreError> {
    let path = dir.join("VERSION");
    match std::fs::read_to_string(&path) {
        Ok(text) => match text.trim().parse::<u32>() {
            Ok(FORMAT_VERSION) => Ok(()),
            Ok(found) => Err(StoreError::Unavailable(format!(
                "{} holds data of format version {found}; this tracehound reads version {FORMAT_VERSION}",
                dir.display()
            ))),
            Err(_) => Err(StoreError::Unavailable(format!("{} is not a format version: {text:?}", path.display()))),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // Partitions without a VERSION file were written before it existed, in format 1.
            let older = std::fs::read_dir(dir)
                .map_err(|e| unavailable(&format!("cannot read {}", dir.display()), e))?
                .flatten()
                .any(|entry| entry.file_name().to_string_lossy().starts_with("p-"));
            if older {
                return Err(StoreError::Unavailable(format!(
                    "{} holds data of format version 1 (before VERSION files); this tracehound reads version {FORMAT_VERSION}: move it aside or delete it",
                    dir.display()
                )));
            }
            std::fs::write(&path, format!("{FORMAT_VERSION}\n"))
                .map_err(|e| unavailable(&format!("cannot write {}", path.display()), e))
        }
        Err(e) => Err(unavailable(&format!("cannot read {}", path.display()), e)),
    }
}

/// Moves a partition that cannot be opened to `quarantine/` under the data directory, saying why.
fn quarantine(root: &Path, path: &Path, error: &StoreError, telemetry: &Telemetry) -> Result<(), StoreError> {
    let aside = root.join("quarantine");
    std::fs::create_dir_all(&aside).map_err(|e| unavailable(&format!("cannot create {}", aside.display()), e))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let target = aside.join(format!("{name}-{}", UnixNanos::now().0));
    std::fs::rename(path, &target)
        .map_err(|e| unavailable(&format!("cannot move the damaged partition {} aside", path.display()), e))?;
    telemetry.store_partitions_quarantined.add(1);
    tracing::error!(
        partition = %path.display(),
        moved_to = %target.display(),
        error = %error,
        "a disk store partition could not be opened; it was moved aside and the other partitions are served"
    );
    Ok(())
}

/// Bytes of the files under `dir`.
fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Deletes a dropped partition's directory once no reader or writer holds it any more.
fn remove_when_unused(partition: Arc<Partition>) {
    std::thread::spawn(move || {
        let mut partition = partition;
        loop {
            match Arc::try_unwrap(partition) {
                Ok(last) => {
                    let dir = last.dir.clone();
                    drop(last);
                    if let Err(e) = std::fs::remove_dir_all(&dir) {
                        tracing::warn!(dir = %dir.display(), error = %e, "could not delete a dropped partition");
                    }
                    return;
                }
                Err(still_used) => {
                    partition = still_used;
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
    });
}

impl Store for DiskStore {
    fn write(&self, records: &[Arc<SpanRecord>]) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        let prepared = self.prepare(records);
        let (reply, outcome) = sync_channel(1);
        let queue = self.queue.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let queue = queue.ok_or_else(|| StoreError::Unavailable("the disk store is closing".into()))?;
        queue.send((prepared, reply)).map_err(|_| StoreError::Unavailable("the disk writer stopped".into()))?;
        outcome.recv().map_err(|_| StoreError::Unavailable("the disk writer stopped".into()))??;
        // Listed once stored: a refused write (disk full) names nothing.
        self.names.record(records);
        Ok(())
    }

    fn trace(&self, id: TraceId) -> Result<Option<Trace>, StoreError> {
        self.read_trace(id)
    }

    fn find_traces(&self, query: &TraceQuery) -> Result<Vec<Trace>, StoreError> {
        // The narrowest index the query names: a tag of the service (the first with a value short
        // enough to be indexed; with no service, the tag under every service), else the operation,
        // else the service, else every trace.
        let tag = query
            .tags
            .iter()
            .find_map(|t| t.value.as_deref().filter(|v| v.len() <= MAX_INDEXED_TAG).map(|v| (&t.key, v)));
        let key = |k: u64| k.to_be_bytes().to_vec();
        let (which, prefixes): (Option<Keyed>, Vec<Vec<u8>>) =
            match (query.service.as_deref(), query.operation.as_deref(), tag) {
                (Some(service), _, Some((k, v))) => (Some(Keyed::Tag), vec![key(tag_key(service, k, v))]),
                (Some(service), Some(operation), None) => {
                    (Some(Keyed::Operation), vec![key(operation_key(service, operation))])
                }
                (Some(service), None, None) => (Some(Keyed::Service), vec![key(service_key(service))]),
                (None, _, Some((k, v))) if self.names.lists_every_service() => {
                    let services = self.names.services();
                    (Some(Keyed::Tag), services.iter().map(|s| key(tag_key(s, k, v))).collect())
                }
                (None, _, _) => (None, vec![Vec::new()]),
            };
        // Every prefix has the same length.
        let plen = prefixes.first().map_or(0, Vec::len);
        let keyed = which.unwrap_or(Keyed::Start);
        // An entry's start is its write's earliest: a trace reaching the window has one at most
        // `extent` before the window's start, and every one at most `extent` after its end. A
        // posting is filed under the latest start of its entries, so walking postings newest first
        // never meets a later entry after an earlier posting.
        let extent = self.shared.max_extent.load(Ordering::Relaxed);
        // Postings filed past the end of the range holding `top` hold only later entries.
        let top = query.start_max.0.saturating_add(extent);
        let top =
            UnixNanos((top / POSTING_SPAN).saturating_add(1).saturating_mul(POSTING_SPAN).saturating_sub(1).max(top));
        let floor = query.start_min.0.saturating_sub(extent);
        let mut seen: HashSet<TraceId> = HashSet::new();
        let mut hits: Vec<(UnixNanos, TraceId, Trace)> = Vec::new();
        // One walk per partition and prefix, merged by what follows the prefix: !start, so the
        // merge is newest first across partitions (and services).
        let partitions = self.shared.partitions();
        let mut walks: Vec<(usize, &[u8], Walk)> = Vec::new();
        // Postings still in the buffer, read before the keyspaces: a flush in between shows some
        // twice (the trace is read once), never none.
        {
            let buffer = self.shared.index.lock().unwrap_or_else(|p| p.into_inner());
            let at = partitions.iter().position(|(start, _)| *start == buffer.partition);
            for prefix in prefixes.iter().filter(|_| buffer.since.is_some()) {
                let (Some(at), Ok(key)) =
                    (at, <[u8; 8]>::try_from(if prefix.is_empty() { &[0; 8][..] } else { prefix }))
                else {
                    continue;
                };
                let from = [&prefix[..], &inverted(top)].concat();
                let mut entries: Vec<Entry> = Vec::new();
                for (_, listed) in buffer.postings.get(&(keyed, key)).into_iter().flatten() {
                    let (latest, base, bytes) = posting(&mut listed.clone());
                    let key = posting_key(prefix, latest, base);
                    if key >= from {
                        entries.push((key, fjall::Slice::from(bytes)));
                    }
                }
                entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                walks.push((at, prefix, Walk::Buffered(entries.into_iter())));
            }
        }
        for (at, (_, p)) in partitions.iter().enumerate() {
            for prefix in &prefixes {
                let from = [&prefix[..], &inverted(top)].concat();
                walks.push((at, prefix, Walk::Index(p.index(keyed).range(from..))));
            }
        }
        let mut heads: Vec<Option<Entry>> = Vec::with_capacity(walks.len());
        for (_, prefix, walk) in &mut walks {
            heads.push(walk.next(prefix)?);
        }
        let mut logs = LogReader::default();
        // An entry's durations are those of the spans that put it there. Jaeger's rule needs one
        // span meeting every condition, so any entry's durations decide; Zipkin's lets the duration
        // come from any span of the service, so only service entries' do.
        let by_durations = query.min_duration.is_some() || query.max_duration.is_some();
        let by_durations = by_durations && (query.rule == MatchRule::SingleSpan || which == Some(Keyed::Service));
        let (shortest, longest) = (
            query.min_duration.map_or(0, |d| d.as_nanos().min(u128::from(u64::MAX)) as u64),
            query.max_duration.map_or(u64::MAX, |d| d.as_nanos().min(u128::from(u64::MAX)) as u64),
        );
        let key_of = |head: &Option<Entry>| head.as_ref().map(|(key, _)| key[plen..].to_vec());
        let latest_of = |head: &Option<Entry>| head.as_ref().map_or(0, |(key, _)| u64::MAX - read_u64(&key[plen..]));
        // Candidates found and not loaded yet, best first in the order results rank in: by first
        // start, then trace id (from the `traces` bounds, without loading the trace). Loaded once
        // no trace not seen yet can rank above them, so a search loads the traces it returns and
        // the candidates ranking above them that do not match, even among many equal starts.
        let mut pending: BinaryHeap<(UnixNanos, TraceId)> = BinaryHeap::new();
        // Loads pending candidates while they outrank every trace not seen yet (whose starts are
        // at most `bound`; `None`: there are none) and matches are missing; true once complete.
        let settle = |pending: &mut BinaryHeap<(UnixNanos, TraceId)>,
                      hits: &mut Vec<(UnixNanos, TraceId, Trace)>,
                      bound: Option<u64>|
         -> Result<bool, StoreError> {
            while hits.len() < query.limit {
                let Some(&(first, id)) = pending.peek() else { break };
                // A trace not seen yet may start as late and rank above on its id.
                if bound.is_some_and(|bound| first.0 <= bound) {
                    break;
                }
                pending.pop();
                let Some(trace) = self.read_trace(id)? else { continue };
                #[cfg(test)]
                self.loaded.fetch_add(1, Ordering::Relaxed);
                let last = trace.spans.iter().map(|r| r.span.start).max().unwrap_or_default();
                if query.may_overlap(first, last) && query.matches(&trace.spans) {
                    hits.push((first, id, trace));
                }
            }
            Ok(hits.len() >= query.limit)
        };
        'walk: while let Some(i) = (0..heads.len()).filter(|i| heads[*i].is_some()).min_by_key(|i| key_of(&heads[*i])) {
            let (key, entries) = heads[i].take().unwrap_or_default();
            let (at, prefix, walk) = &mut walks[i];
            heads[i] = walk.next(prefix)?;
            let at = *at;
            let rest = &key[plen..];
            // Entries not read yet start no later than the next entry here or the latest of the
            // next posting of any walk.
            let later = heads.iter().map(latest_of).max().unwrap_or(0);
            // Offsets count from the posting's base sequence; the log names each write's trace.
            let partition = &partitions[at].1;
            let base = read_u64(rest.get(8..16).unwrap_or_default());
            // In units, rounded up: never earlier than a write's own start.
            let mut units = (u64::MAX - read_u64(rest)).div_ceil(ENTRY_START_UNIT);
            let mut bytes: &[u8] = &entries;
            while !bytes.is_empty() {
                let mut next = || {
                    prost::encoding::decode_varint(&mut bytes)
                        .map_err(|e| unavailable("reading a damaged index entry", e))
                };
                let (offset, earlier, low, high) = (next()?, next()?, next()?, next()?);
                units = units.saturating_sub(earlier);
                let start = units.saturating_mul(ENTRY_START_UNIT);
                let bound = start.max(later);
                if bound < floor {
                    break 'walk;
                }
                if settle(&mut pending, &mut hits, Some(bound))? {
                    break 'walk;
                }
                if start < floor || (by_durations && (high < shortest || low > longest)) {
                    continue;
                }
                let Some(id) = logs.trace_at(at, partition, base.saturating_add(offset))? else { continue };
                if !seen.insert(id) {
                    continue;
                }
                let Some(b) = trace_bounds(&partitions, &id, None)? else { continue };
                if query.may_overlap(b.own_first, b.last) {
                    pending.push((b.own_first, id));
                }
            }
        }
        settle(&mut pending, &mut hits, None)?;
        hits.sort_unstable_by_key(|h| std::cmp::Reverse((h.0, h.1)));
        hits.truncate(query.limit);
        Ok(hits.into_iter().map(|(_, _, trace)| trace).collect())
    }

    fn names(&self) -> &Names {
        &self.names
    }

    fn checkpoint_cut(&self) -> Option<Vec<u8>> {
        // Each partition's next write sequence: the writes before it are the checkpoint's.
        let mut cut = Vec::new();
        for (start, partition) in self.shared.partitions() {
            cut.extend_from_slice(&start.to_be_bytes());
            cut.extend_from_slice(&partition.sequence.load(Ordering::Relaxed).to_be_bytes());
        }
        Some(cut)
    }

    fn save_checkpoint(&self, cut: &[u8], state: &[u8]) -> Result<(), StoreError> {
        checkpoint::save(&self.shared.root, cut, state)
    }

    fn load_checkpoint(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(checkpoint::load(&self.shared.root).map(|(_, state)| state))
    }

    fn replay(
        &self,
        since: UnixNanos,
        f: &mut dyn FnMut(UnixNanos, Vec<Arc<SpanRecord>>),
    ) -> Result<usize, StoreError> {
        let cut: HashMap<u64, u64> = checkpoint::load(&self.shared.root)
            .map(|(cut, _)| cut.chunks_exact(16).map(|c| (read_u64(c), read_u64(&c[8..]))).collect())
            .unwrap_or_default();
        let mut replayed = 0;
        for (start, partition) in self.shared.partitions() {
            if start.saturating_add(self.shared.partition_nanos) < since.0 {
                continue;
            }
            let from = cut.get(&start).copied().unwrap_or(0);
            for item in partition.log.range(from.to_be_bytes()..) {
                let (key, value) = item.into_inner().map_err(|e| unavailable("reading the write log", e))?;
                let arrival = UnixNanos(read_u64(&value));
                if arrival < since {
                    continue;
                }
                let first = read_u64(&key);
                let mut records = Vec::new();
                for (i, id) in value[8.min(value.len())..].chunks_exact(16).enumerate() {
                    let key = [id, &(first + i as u64).to_be_bytes()].concat();
                    let Some(spans) = partition.spans.get(key).map_err(|e| unavailable("reading spans", e))? else {
                        continue;
                    };
                    let decoded = codec::decode(&spans).map_err(|e| unavailable("replaying spans", e))?;
                    records.extend(decoded.into_iter().map(Arc::new));
                }
                replayed += records.len();
                f(arrival, records);
            }
        }
        Ok(replayed)
    }
}

impl Drop for DiskStore {
    fn drop(&mut self) {
        // Closing the queue ends the writer after it has committed what was queued; waiting for it
        // releases the database before a new store opens the directory.
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
        self.stop_expiry.take();
        if let Some(expiry) = self.expiry.take() {
            let _ = expiry.join();
        }
    }
}

#[cfg(test)]
mod tests;
