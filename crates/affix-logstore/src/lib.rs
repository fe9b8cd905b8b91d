//! Durable storage for one evidence log, in the C2SP tlog-tiles layout.
//!
//! This is an I/O shell around the pure `affix-merkle` core. A log directory holds:
//!
//! ```text
//! config            origin and hash suite, written once
//! state             committed tree size, entries length and root; replaced atomically
//! entries           all entries, each as u16 big-endian length || bytes (entry-bundle framing)
//! entries.idx       u64 big-endian start offset of every entry in `entries`
//! hashes/<L>        every hash of tile level L, in order (level 0: leaf hashes)
//! checkpoint        latest signed checkpoint (opaque bytes), replaced atomically
//! lock              held (advisory lock) by the one process that has the log open
//! ```
//!
//! Because every file is append-only and in tile order, a hash tile is a byte range of
//! `hashes/<L>` and an entry bundle a byte range of `entries`: serving the static tile API
//! or exporting it ([`LogStore::export_static`]) needs no transformation.
//!
//! **Durability.** [`LogStore::append`] writes entries, index and hashes at their offsets,
//! `fdatasync`s them, then atomically replaces `state` (write, fsync, rename, fsync the
//! directory). Only then does it return. A crash at any point leaves either the old or the
//! new state; bytes past the committed lengths are a torn append and are truncated when
//! the log is next opened. Opening recomputes the root from the stored hashes and refuses a
//! log whose root does not match its state.
#![forbid(unsafe_code)]

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::ops::Range;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use affix_merkle::{
    HASH_BYTES, Hash, HashReader, HashSuite, LeafIndex, NodeId, TILE_HEIGHT, TILE_WIDTH,
    TileHashReader, TileId, TileKind, TileReader, TreeBuilder, TreeSize, tiles_for_size,
};

/// Largest entry: C2SP entry bundles frame entries with a `u16` length.
pub const MAX_ENTRY_BYTES: usize = u16::MAX as usize;

/// Most entries accepted in one [`LogStore::append`] call.
pub const MAX_BATCH_ENTRIES: usize = 1 << 20;

const CONFIG_HEADER: &str = "affix-logstore v1";
const STATE_HEADER: &str = "affix-logstore-state v1";
const MAX_SMALL_FILE_BYTES: u64 = 64 * 1024;
const MAX_CHECKPOINT_BYTES: usize = 1024 * 1024;

/// Largest metadata committed with an append.
pub const MAX_METADATA_BYTES: usize = 4096;

/// Errors from the log store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system I/O error, with what was being done to which file.
    #[error("{op} {path}: {source}")]
    Io {
        /// The operation.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The directory is not an Affix log (no or unreadable `config`).
    #[error("{0} is not an Affix log directory")]
    NotALog(PathBuf),
    /// `create` on a directory that already holds files.
    #[error("{0} already exists and is not empty")]
    AlreadyExists(PathBuf),
    /// Another process has the log open.
    #[error("log {0} is in use by another process")]
    Locked(PathBuf),
    /// Stored data contradicts itself (a root mismatch, a short file, a bad index).
    #[error("log is corrupt: {0}")]
    Corrupt(String),
    /// An entry larger than [`MAX_ENTRY_BYTES`], or a batch larger than
    /// [`MAX_BATCH_ENTRIES`].
    #[error("{0}")]
    TooLarge(String),
    /// A request beyond the current tree (index, size or tile).
    #[error("{0}")]
    OutOfRange(String),
    /// Invalid configuration (origin).
    #[error("invalid log configuration: {0}")]
    Config(&'static str),
    /// An error from the Merkle core.
    #[error(transparent)]
    Merkle(#[from] affix_merkle::Error),
}

fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error + use<> {
    let path = path.to_owned();
    move |source| Error::Io { op, path, source }
}

/// An open, locked log directory.
#[derive(Debug)]
pub struct LogStore {
    dir: PathBuf,
    origin: String,
    /// Committed tree size; equals `builder.size()` except while `open` restores it.
    size: u64,
    builder: TreeBuilder,
    entries_len: u64,
    metadata: Vec<u8>,
    entries: File,
    index: File,
    levels: Vec<File>,
    _lock: File,
}

/// Committed state, as in the `state` file.
struct State {
    size: u64,
    entries_len: u64,
    root: Hash,
    /// Opaque bytes the owner commits atomically with the entries (e.g. the consensus
    /// height they came from).
    metadata: Vec<u8>,
}

impl LogStore {
    /// Creates a new empty log in `dir` (created if missing, must be empty) for `origin`.
    /// The hash suite follows from the origin ([`HashSuite::for_origin`]).
    pub fn create(dir: &Path, origin: &str) -> Result<Self, Error> {
        if origin.is_empty()
            || origin.len() > 256
            || origin
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '+')
        {
            return Err(Error::Config(
                "origin must be 1-256 bytes without spaces or '+'",
            ));
        }
        fs::create_dir_all(dir).map_err(io("create directory", dir))?;
        let mut listing = fs::read_dir(dir).map_err(io("read directory", dir))?;
        if listing.next().is_some() {
            return Err(Error::AlreadyExists(dir.to_owned()));
        }
        fs::create_dir(dir.join("hashes")).map_err(io("create directory", dir))?;
        for name in ["entries", "entries.idx"] {
            let path = dir.join(name);
            File::create(&path).map_err(io("create", &path))?;
        }
        let suite = HashSuite::for_origin(origin);
        write_atomically(
            dir,
            "config",
            format!("{CONFIG_HEADER}\norigin {origin}\nsuite {}\n", suite.name()).as_bytes(),
        )?;
        let empty = State {
            size: 0,
            entries_len: 0,
            root: suite.empty_root(),
            metadata: Vec::new(),
        };
        write_atomically(dir, "state", empty.encode().as_bytes())?;
        Self::open(dir)
    }

    /// Opens an existing log, cutting off any torn append and checking the stored root.
    pub fn open(dir: &Path) -> Result<Self, Error> {
        let config = read_small(&dir.join("config")).map_err(|_| Error::NotALog(dir.to_owned()))?;
        let (origin, suite) = parse_config(&config).ok_or(Error::NotALog(dir.to_owned()))?;
        let lock_path = dir.join("lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io("open", &lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(Error::Locked(dir.to_owned())),
            Err(std::fs::TryLockError::Error(e)) => return Err(io("lock", &lock_path)(e)),
        }
        let state_path = dir.join("state");
        let state = State::decode(&read_small(&state_path)?)
            .ok_or_else(|| Error::Corrupt("unreadable state file".into()))?;
        let entries = open_rw(&dir.join("entries"))?;
        let index = open_rw(&dir.join("entries.idx"))?;
        let mut levels = Vec::new();
        for level in 0u8.. {
            let count = level_count(state.size, level);
            let path = dir.join("hashes").join(level.to_string());
            if count == 0 && !path.exists() {
                break;
            }
            levels.push(open_rw(&path)?);
            if count == 0 {
                break;
            }
        }
        let mut store = Self {
            dir: dir.to_owned(),
            origin,
            size: state.size,
            builder: TreeBuilder::new(suite),
            entries_len: state.entries_len,
            metadata: state.metadata.clone(),
            entries,
            index,
            levels,
            _lock: lock,
        };
        store.truncate_to(&state)?;
        let builder = TreeBuilder::restore(suite, TreeSize(state.size), &store.hash_reader())?;
        store.builder = builder;
        debug_assert_eq!(store.builder.size(), TreeSize(store.size));
        if store.builder.root() != state.root {
            return Err(Error::Corrupt(format!(
                "stored hashes give root {} but state records {}",
                store.builder.root(),
                state.root
            )));
        }
        Ok(store)
    }

    /// Cuts every file to the length the committed state implies; checks none is shorter.
    fn truncate_to(&self, state: &State) -> Result<(), Error> {
        let mut files: Vec<(&File, u64, PathBuf)> = vec![
            (&self.entries, state.entries_len, self.dir.join("entries")),
            (&self.index, state.size * 8, self.dir.join("entries.idx")),
        ];
        for (level, file) in self.levels.iter().enumerate() {
            let level =
                u8::try_from(level).map_err(|_| Error::Corrupt("too many levels".into()))?;
            let len = level_count(state.size, level) * HASH_BYTES as u64;
            files.push((file, len, self.dir.join("hashes").join(level.to_string())));
        }
        for (file, len, path) in files {
            let actual = file.metadata().map_err(io("stat", &path))?.len();
            if actual < len {
                return Err(Error::Corrupt(format!(
                    "{} is {actual} bytes, state needs {len}",
                    path.display()
                )));
            }
            if actual > len {
                file.set_len(len).map_err(io("truncate", &path))?;
                file.sync_all().map_err(io("sync", &path))?;
            }
        }
        Ok(())
    }

    /// The log's origin.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The log's hash suite.
    pub fn suite(&self) -> HashSuite {
        self.builder.suite()
    }

    /// Number of committed entries.
    pub fn size(&self) -> TreeSize {
        TreeSize(self.size)
    }

    /// Root hash of the committed tree.
    pub fn root(&self) -> Hash {
        self.builder.root()
    }

    /// The right edge of the committed tree (cheap to clone: at most 64 hashes).
    pub fn tree(&self) -> &TreeBuilder {
        &self.builder
    }

    /// Every leaf hash, in order (32 bytes each; for rebuilding indexes at start-up).
    pub fn leaf_hashes(&self) -> Result<Vec<Hash>, Error> {
        let size = self.size().0;
        if size == 0 {
            return Ok(Vec::new());
        }
        let bytes = self.read_hashes(0, 0, size)?;
        Ok(bytes
            .chunks_exact(HASH_BYTES)
            .map(|c| {
                let mut h = [0u8; HASH_BYTES];
                h.copy_from_slice(c);
                Hash(h)
            })
            .collect())
    }

    /// The log directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends entries durably and returns their index range. When this returns `Ok`, the
    /// entries are on stable storage; if it returns `Err` (or the process dies), the log
    /// is unchanged.
    pub fn append<E: AsRef<[u8]>>(&mut self, entries: &[E]) -> Result<Range<u64>, Error> {
        let metadata = self.metadata.clone();
        self.append_with_metadata(entries, &metadata)
    }

    /// The metadata committed with the last append.
    pub fn metadata(&self) -> &[u8] {
        &self.metadata
    }

    /// Like [`LogStore::append`], and commits `metadata` in the same atomic step: after a
    /// crash, the log holds either the old entries and old metadata or the new entries and
    /// new metadata. An empty `entries` commits just the metadata.
    pub fn append_with_metadata<E: AsRef<[u8]>>(
        &mut self,
        entries: &[E],
        metadata: &[u8],
    ) -> Result<Range<u64>, Error> {
        if metadata.len() > MAX_METADATA_BYTES {
            return Err(Error::TooLarge(format!(
                "metadata of {} bytes, at most {MAX_METADATA_BYTES}",
                metadata.len()
            )));
        }
        if entries.len() > MAX_BATCH_ENTRIES {
            return Err(Error::TooLarge(format!(
                "batch of {} entries, at most {MAX_BATCH_ENTRIES}",
                entries.len()
            )));
        }
        let start = self.size().0;
        if entries.is_empty() {
            if metadata != self.metadata.as_slice() {
                let state = State {
                    size: start,
                    entries_len: self.entries_len,
                    root: self.root(),
                    metadata: metadata.to_vec(),
                };
                write_atomically(&self.dir, "state", state.encode().as_bytes())?;
                self.metadata = state.metadata;
            }
            return Ok(start..start);
        }
        let mut builder = self.builder.clone();
        let mut entry_bytes = Vec::new();
        let mut index_bytes = Vec::with_capacity(entries.len() * 8);
        let mut level_bytes: Vec<Vec<u8>> = Vec::new();
        let suite = builder.suite();
        for (i, entry) in entries.iter().enumerate() {
            let entry = entry.as_ref();
            let len = u16::try_from(entry.len()).map_err(|_| {
                Error::TooLarge(format!(
                    "entry {i} is {} bytes, at most {MAX_ENTRY_BYTES}",
                    entry.len()
                ))
            })?;
            index_bytes
                .extend_from_slice(&(self.entries_len + entry_bytes.len() as u64).to_be_bytes());
            entry_bytes.extend_from_slice(&len.to_be_bytes());
            entry_bytes.extend_from_slice(entry);
            builder.append_with(suite.leaf_hash(entry), |level, hash| {
                let level = usize::from(level);
                if level_bytes.len() <= level {
                    level_bytes.resize_with(level + 1, Vec::new);
                }
                level_bytes[level].extend_from_slice(&hash.0);
            })?;
        }
        let entries_path = self.dir.join("entries");
        self.entries
            .write_all_at(&entry_bytes, self.entries_len)
            .map_err(io("write", &entries_path))?;
        let index_path = self.dir.join("entries.idx");
        self.index
            .write_all_at(&index_bytes, start * 8)
            .map_err(io("write", &index_path))?;
        for (level, bytes) in level_bytes.iter().enumerate() {
            let level_u8 =
                u8::try_from(level).map_err(|_| Error::Corrupt("too many levels".into()))?;
            let path = self.dir.join("hashes").join(level.to_string());
            if self.levels.len() <= level {
                self.levels.push(open_rw(&path)?);
                sync_dir(&self.dir.join("hashes"))?;
            }
            let offset = level_count(start, level_u8) * HASH_BYTES as u64;
            self.levels[level]
                .write_all_at(bytes, offset)
                .map_err(io("write", &path))?;
        }
        self.entries
            .sync_data()
            .map_err(io("sync", &entries_path))?;
        self.index.sync_data().map_err(io("sync", &index_path))?;
        for (level, file) in self.levels.iter().enumerate().take(level_bytes.len()) {
            let path = self.dir.join("hashes").join(level.to_string());
            file.sync_data().map_err(io("sync", &path))?;
        }
        let state = State {
            size: builder.size().0,
            entries_len: self.entries_len + entry_bytes.len() as u64,
            root: builder.root(),
            metadata: metadata.to_vec(),
        };
        write_atomically(&self.dir, "state", state.encode().as_bytes())?;
        self.builder = builder;
        self.size = state.size;
        self.entries_len = state.entries_len;
        self.metadata = state.metadata;
        Ok(start..state.size)
    }

    /// The entry at `index`, checked against its stored leaf hash.
    pub fn entry(&self, index: LeafIndex) -> Result<Vec<u8>, Error> {
        let size = self.size().0;
        if index.0 >= size {
            return Err(Error::OutOfRange(format!(
                "entry {index} is beyond the log's {size} entries"
            )));
        }
        let range = self.entry_range(index.0, index.0 + 1)?;
        let framed = self.read_entries(range)?;
        let entry = framed
            .get(2..)
            .filter(|e| e.len() == usize::from(u16::from_be_bytes([framed[0], framed[1]])))
            .ok_or_else(|| Error::Corrupt(format!("entry {index} has a bad length prefix")))?;
        let stored = self.read_hashes(0, index.0, 1)?;
        if self.suite().leaf_hash(entry).0[..] != stored[..] {
            return Err(Error::Corrupt(format!(
                "entry {index} does not match its leaf hash"
            )));
        }
        Ok(entry.to_vec())
    }

    /// Byte range in `entries` of entries `[first, end)`.
    fn entry_range(&self, first: u64, end: u64) -> Result<Range<u64>, Error> {
        let start = self.read_offset(first)?;
        let stop = if end >= self.size().0 {
            self.entries_len
        } else {
            self.read_offset(end)?
        };
        if start > stop || stop > self.entries_len {
            return Err(Error::Corrupt("entry index out of order".into()));
        }
        Ok(start..stop)
    }

    fn read_offset(&self, i: u64) -> Result<u64, Error> {
        let mut buf = [0u8; 8];
        self.index
            .read_exact_at(&mut buf, i * 8)
            .map_err(io("read", &self.dir.join("entries.idx")))?;
        Ok(u64::from_be_bytes(buf))
    }

    fn read_entries(&self, range: Range<u64>) -> Result<Vec<u8>, Error> {
        let len = usize::try_from(range.end - range.start)
            .map_err(|_| Error::Corrupt("entry range too large".into()))?;
        let mut buf = vec![0u8; len];
        self.entries
            .read_exact_at(&mut buf, range.start)
            .map_err(io("read", &self.dir.join("entries")))?;
        Ok(buf)
    }

    fn read_hashes(&self, level: u8, first: u64, count: u64) -> Result<Vec<u8>, Error> {
        let file = self
            .levels
            .get(usize::from(level))
            .ok_or_else(|| Error::OutOfRange(format!("no hashes at tile level {level}")))?;
        let len = usize::try_from(count * HASH_BYTES as u64)
            .map_err(|_| Error::OutOfRange("hash range too large".into()))?;
        let mut buf = vec![0u8; len];
        file.read_exact_at(&mut buf, first * HASH_BYTES as u64)
            .map_err(io("read", &self.dir.join("hashes").join(level.to_string())))?;
        Ok(buf)
    }

    /// The bytes of a tile (hash tile or entry bundle) of the current tree. A partial tile
    /// is served if its width is at most what the tree has (a prefix of a wider tile is
    /// exactly the narrower tile).
    pub fn read_tile(&self, tile: &TileId) -> Result<Vec<u8>, Error> {
        let size = self.size().0;
        let level = match tile.kind() {
            TileKind::Hashes { level } => level,
            TileKind::Entries => 0,
        };
        let available = level_count(size, level);
        let first = tile.index().checked_mul(TILE_WIDTH);
        let end = first.and_then(|f| f.checked_add(u64::from(tile.width())));
        let (Some(first), Some(end)) = (first, end) else {
            return Err(Error::OutOfRange(format!(
                "tile {} is beyond the log",
                tile.path()
            )));
        };
        if end > available {
            return Err(Error::OutOfRange(format!(
                "tile {} is beyond the log",
                tile.path()
            )));
        }
        match tile.kind() {
            TileKind::Hashes { level } => self.read_hashes(level, first, u64::from(tile.width())),
            TileKind::Entries => self.read_entries(self.entry_range(first, end)?),
        }
    }

    /// A node reader over this log's tiles, for the committed tree.
    pub fn hash_reader(&self) -> impl HashReader + '_ {
        TileHashReader::new(self.suite(), self.size(), self)
    }

    /// Root hash of the tree of the first `size` entries.
    pub fn root_at(&self, size: TreeSize) -> Result<Hash, Error> {
        self.check_size(size)?;
        Ok(affix_merkle::tree_root(
            self.suite(),
            size,
            &self.hash_reader(),
        )?)
    }

    /// Inclusion proof of entry `index` in the tree of `size` entries.
    pub fn inclusion_proof(&self, index: LeafIndex, size: TreeSize) -> Result<Vec<Hash>, Error> {
        self.check_size(size)?;
        Ok(affix_merkle::prove_inclusion(
            self.suite(),
            index,
            size,
            &self.hash_reader(),
        )?)
    }

    /// Consistency proof from the tree of `old` entries to the tree of `new` entries.
    pub fn consistency_proof(&self, old: TreeSize, new: TreeSize) -> Result<Vec<Hash>, Error> {
        self.check_size(new)?;
        Ok(affix_merkle::prove_consistency(
            self.suite(),
            old,
            new,
            &self.hash_reader(),
        )?)
    }

    fn check_size(&self, size: TreeSize) -> Result<(), Error> {
        if size > self.size() {
            return Err(Error::OutOfRange(format!(
                "tree size {size} is beyond the log's {} entries",
                self.size()
            )));
        }
        Ok(())
    }

    /// Stores the latest signed checkpoint (opaque bytes) atomically and durably.
    pub fn save_checkpoint(&self, checkpoint: &[u8]) -> Result<(), Error> {
        if checkpoint.len() > MAX_CHECKPOINT_BYTES {
            return Err(Error::TooLarge("checkpoint too large".into()));
        }
        write_atomically(&self.dir, "checkpoint", checkpoint)
    }

    /// The latest stored checkpoint, if any.
    pub fn checkpoint(&self) -> Result<Option<Vec<u8>>, Error> {
        let path = self.dir.join("checkpoint");
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io("read", &path)(e)),
        }
    }

    /// Writes the static C2SP tlog-tiles layout of the current tree under `out`:
    /// `checkpoint`, `tile/<L>/<N>[.p/<W>]` and `tile/entries/<N>[.p/<W>]`, ready to be
    /// served by any web server or copied by a mirror. Full tiles already present are
    /// skipped; the checkpoint is written last so readers never see it before its tiles.
    /// Returns the number of tile files written.
    pub fn export_static(&self, out: &Path, checkpoint: &[u8]) -> Result<usize, Error> {
        let mut written = 0;
        for tile in tiles_for_size(TreeSize(0), self.size()) {
            let path = out.join(tile.path());
            if !tile.is_partial() && path.exists() {
                continue;
            }
            let data = self.read_tile(&tile)?;
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).map_err(io("create directory", parent))?;
            }
            fs::write(&path, data).map_err(io("write", &path))?;
            written += 1;
        }
        fs::create_dir_all(out).map_err(io("create directory", out))?;
        write_atomically(out, "checkpoint", checkpoint)?;
        Ok(written)
    }
}

impl TileReader for LogStore {
    fn read_tiles(&self, tiles: &[TileId]) -> Result<Vec<Vec<u8>>, affix_merkle::Error> {
        tiles
            .iter()
            .map(|t| {
                self.read_tile(t)
                    .map_err(|e| affix_merkle::Error::Storage(e.to_string()))
            })
            .collect()
    }
}

/// Number of hashes at tile level `level` in a tree of `size` leaves.
fn level_count(size: u64, level: u8) -> u64 {
    size.checked_shr(u32::from(level) * u32::from(TILE_HEIGHT))
        .unwrap_or(0)
}

impl State {
    fn encode(&self) -> String {
        format!(
            "{STATE_HEADER}\nsize {}\nentries-bytes {}\nroot {}\nmetadata {}\n",
            self.size,
            self.entries_len,
            self.root.to_base64(),
            STANDARD.encode(&self.metadata)
        )
    }

    fn decode(text: &str) -> Option<Self> {
        let mut lines = text.lines();
        if lines.next()? != STATE_HEADER {
            return None;
        }
        let size = lines.next()?.strip_prefix("size ")?.parse().ok()?;
        let entries_len = lines.next()?.strip_prefix("entries-bytes ")?.parse().ok()?;
        let root = Hash::from_base64(lines.next()?.strip_prefix("root ")?).ok()?;
        let metadata = STANDARD
            .decode(lines.next()?.strip_prefix("metadata ")?)
            .ok()?;
        if lines.next().is_some() {
            return None;
        }
        Some(Self {
            size,
            entries_len,
            root,
            metadata,
        })
    }
}

fn parse_config(text: &str) -> Option<(String, HashSuite)> {
    let mut lines = text.lines();
    if lines.next()? != CONFIG_HEADER {
        return None;
    }
    let origin = lines.next()?.strip_prefix("origin ")?.to_owned();
    let suite = HashSuite::from_name(lines.next()?.strip_prefix("suite ")?)?;
    if suite != HashSuite::for_origin(&origin) {
        return None;
    }
    Some((origin, suite))
}

fn read_small(path: &Path) -> Result<String, Error> {
    let meta = fs::metadata(path).map_err(io("stat", path))?;
    if meta.len() > MAX_SMALL_FILE_BYTES {
        return Err(Error::Corrupt(format!(
            "{} is unexpectedly large",
            path.display()
        )));
    }
    fs::read_to_string(path).map_err(io("read", path))
}

fn open_rw(path: &Path) -> Result<File, Error> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io("open", path))
}

fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("sync directory", dir))
}

/// Replaces `dir/name` with `data` so that readers and crashes see the old or the new
/// content, never a mix: write a temporary file, fsync it, rename, fsync the directory.
fn write_atomically(dir: &Path, name: &str, data: &[u8]) -> Result<(), Error> {
    let tmp = dir.join(format!(".{name}.tmp"));
    let dest = dir.join(name);
    let mut f = File::create(&tmp).map_err(io("create", &tmp))?;
    f.write_all(data).map_err(io("write", &tmp))?;
    f.sync_all().map_err(io("sync", &tmp))?;
    drop(f);
    fs::rename(&tmp, &dest).map_err(io("rename", &dest))?;
    sync_dir(dir)
}

/// For tests and tools: node reads straight from the level files.
impl HashReader for LogStore {
    fn read_nodes(&self, nodes: &[NodeId]) -> Result<Vec<Hash>, affix_merkle::Error> {
        self.hash_reader().read_nodes(nodes)
    }
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use affix_merkle::{MemoryTree, verify_consistency, verify_inclusion};

    fn entries(range: Range<u64>) -> Vec<Vec<u8>> {
        range.map(|i| format!("entry {i}").into_bytes()).collect()
    }

    #[test]
    fn append_reopen_and_prove() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let mut log = LogStore::create(&path, "test.example/log").unwrap();
        let mut reference = MemoryTree::new(HashSuite::Sha256);
        for batch in [0..1u64, 1..300, 300..301, 301..70_000] {
            let e = entries(batch.clone());
            assert_eq!(log.append(&e).unwrap(), batch);
            for x in &e {
                reference.append(HashSuite::Sha256.leaf_hash(x)).unwrap();
            }
            assert_eq!(log.root(), reference.root());
        }
        drop(log);
        let log = LogStore::open(&path).unwrap();
        assert_eq!(log.size(), TreeSize(70_000));
        assert_eq!(log.root(), reference.root());
        assert_eq!(log.entry(LeafIndex(69_999)).unwrap(), b"entry 69999");
        let suite = log.suite();
        for (i, n) in [(0u64, 1u64), (5, 300), (69_999, 70_000), (256, 65_536)] {
            let proof = log.inclusion_proof(LeafIndex(i), TreeSize(n)).unwrap();
            let leaf = suite.leaf_hash(format!("entry {i}").as_bytes());
            verify_inclusion(
                suite,
                &leaf,
                LeafIndex(i),
                TreeSize(n),
                &proof,
                &log.root_at(TreeSize(n)).unwrap(),
            )
            .unwrap();
        }
        let old = log.root_at(TreeSize(300)).unwrap();
        let proof = log
            .consistency_proof(TreeSize(300), TreeSize(70_000))
            .unwrap();
        verify_consistency(
            suite,
            TreeSize(300),
            TreeSize(70_000),
            &old,
            &log.root(),
            &proof,
        )
        .unwrap();
        // Tiles: the spec's 70,000-leaf example.
        let t = TileId::hashes(1, 1, 17).unwrap();
        assert_eq!(log.read_tile(&t).unwrap().len(), 17 * 32);
        let bundle = log.read_tile(&TileId::entries(273, 112).unwrap()).unwrap();
        assert_eq!(&bundle[..2], &(b"entry 69888".len() as u16).to_be_bytes());
        assert!(log.read_tile(&TileId::hashes(1, 1, 18).unwrap()).is_err());
        assert!(log.read_tile(&TileId::hashes(3, 0, 1).unwrap()).is_err());
        assert!(log.entry(LeafIndex(70_000)).is_err());
    }

    #[test]
    fn metadata_commits_with_entries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let mut log = LogStore::create(&path, "test.example/log").unwrap();
        assert_eq!(log.metadata(), b"");
        log.append_with_metadata(&entries(0..3), b"height 1")
            .unwrap();
        log.append_with_metadata::<Vec<u8>>(&[], b"height 2")
            .unwrap();
        log.append(&entries(3..4)).unwrap();
        drop(log);
        let log = LogStore::open(&path).unwrap();
        assert_eq!(log.metadata(), b"height 2");
        assert_eq!(log.size(), TreeSize(4));
    }

    #[test]
    fn torn_appends_are_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let mut log = LogStore::create(&path, "test.example/log").unwrap();
        log.append(&entries(0..1000)).unwrap();
        let root = log.root();
        drop(log);
        // Simulate a crash after data writes but before the state commit.
        for name in ["entries", "entries.idx", "hashes/0", "hashes/1"] {
            let mut f = OpenOptions::new()
                .append(true)
                .open(path.join(name))
                .unwrap();
            f.write_all(&[0xAB; 777]).unwrap();
        }
        let mut log = LogStore::open(&path).unwrap();
        assert_eq!(log.size(), TreeSize(1000));
        assert_eq!(log.root(), root);
        log.append(&entries(1000..1300)).unwrap();
        let mut reference = MemoryTree::new(HashSuite::Sha256);
        for x in entries(0..1300) {
            reference.append(HashSuite::Sha256.leaf_hash(&x)).unwrap();
        }
        assert_eq!(log.root(), reference.root());
        assert_eq!(log.entry(LeafIndex(1299)).unwrap(), b"entry 1299");
    }

    #[test]
    fn corruption_and_misuse_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let mut log = LogStore::create(&path, "test.example/log").unwrap();
        assert!(matches!(LogStore::open(&path), Err(Error::Locked(_))));
        assert!(matches!(
            log.append(&[vec![0u8; MAX_ENTRY_BYTES + 1]]),
            Err(Error::TooLarge(_))
        ));
        assert_eq!(log.size(), TreeSize(0));
        log.append(&entries(0..10)).unwrap();
        drop(log);
        assert!(matches!(
            LogStore::create(&path, "test.example/log"),
            Err(Error::AlreadyExists(_))
        ));
        assert!(matches!(LogStore::open(dir.path()), Err(Error::NotALog(_))));
        // Flip a stored leaf hash: opening notices the root no longer matches.
        let hashes = path.join("hashes/0");
        let mut bytes = fs::read(&hashes).unwrap();
        bytes[40] ^= 1;
        fs::write(&hashes, &bytes).unwrap();
        assert!(matches!(LogStore::open(&path), Err(Error::Corrupt(_))));
        // A truncated file is corruption, not a torn append.
        bytes[40] ^= 1;
        fs::write(&hashes, &bytes[..64]).unwrap();
        assert!(matches!(LogStore::open(&path), Err(Error::Corrupt(_))));
    }

    #[test]
    fn corrupted_entry_is_detected_on_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let mut log = LogStore::create(&path, "test.example/log/sm3").unwrap();
        assert_eq!(log.suite(), HashSuite::Sm3);
        log.append(&entries(0..3)).unwrap();
        drop(log);
        let e = path.join("entries");
        let mut bytes = fs::read(&e).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        fs::write(&e, &bytes).unwrap();
        let log = LogStore::open(&path).unwrap();
        assert!(matches!(log.entry(LeafIndex(2)), Err(Error::Corrupt(_))));
        assert!(log.entry(LeafIndex(1)).is_ok());
    }

    #[test]
    fn static_export_has_every_tile() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = LogStore::create(&dir.path().join("log"), "test.example/log").unwrap();
        log.append(&entries(0..600)).unwrap();
        let out = dir.path().join("static");
        let written = log.export_static(&out, b"checkpoint bytes").unwrap();
        assert_eq!(written, tiles_for_size(TreeSize(0), TreeSize(600)).len());
        assert!(out.join("tile/0/001").exists());
        assert!(out.join("tile/0/002.p/88").exists());
        assert!(out.join("tile/1/000.p/2").exists());
        assert!(out.join("tile/entries/002.p/88").exists());
        assert_eq!(
            fs::read(out.join("checkpoint")).unwrap(),
            b"checkpoint bytes"
        );
        // A second export skips full tiles already present.
        assert_eq!(log.export_static(&out, b"again").unwrap(), 3);
    }
}
