//! The signing journal: where a key signature's evidence record and spent nonce become
//! durable before the signature is returned.
//!
//! Through the store, that took a redb write transaction per batch (outbox rows, nonce
//! rows, the allocator's own pages, then a commit with its `fdatasync`), and the outbox
//! rows were rewritten and deleted again by the drainer. Here a batch is one append to a
//! segment file whose blocks are already written (zeros, or an earlier segment's frames)
//! and one `fdatasync`: no file grows, so the file system has no metadata to commit and
//! the flush costs what the device costs.
//!
//! ```text
//! journal/segment-<slot>   SEGMENT_BYTES, preallocated; which segment it holds (if any)
//!                          is in its header, never in its name
//!   header (block 0)  "affix-vault/journal/v1\0" ‖ seq u64 ‖ salt 16 ‖
//!                     SHA-256(magic ‖ seq ‖ salt)            (all zeros: a spare)
//!   frames from byte HEADER_BYTES, each:
//!     payload bytes u32 ‖ signatures u32 ‖ first leaf u64 ‖ now ms u64 ‖ 0 u64 ‖
//!     SHA-256(salt ‖ seq ‖ offset u64 ‖ the 32 bytes before ‖ payload) ‖
//!     payload: per signature, record bytes u16 ‖ record ‖ key id 16 ‖ nonce row 40
//! journal/nonces-<seq>     "affix-vault/nonces/v1\0" ‖ seq u64 ‖ max now ms u64 ‖
//!                          count u32 ‖ nonce rows 40 × count ‖ SHA-256(all before)
//! ```
//!
//! All integers are big-endian. A nonce row is the `nonces` table's key (expiry ms ‖
//! credential ‖ nonce). A frame counts only if its digest matches, so a torn append (the
//! last frame, never acknowledged) and the stale frames of a recycled segment (another
//! salt) end the segment. Frames are appended in leaf order; the leaves between two
//! frames belong to store commits (`outbox`).
//!
//! **Lifecycle.** Opening the journal reads every segment and starts a new one. A full
//! segment is closed; once the evidence log holds all its records, its nonces that may
//! still be presented (expiry above the floor, below) are copied into a `nonces-<seq>`
//! file and the segment becomes a spare (header zeroed) for a later segment. A nonce file
//! is deleted when all its nonces are below the floor.
//!
//! **Floor.** The floor is the latest batch time recorded (`now ms` of a frame) minus
//! [`PRUNE_LAG_MS`]. Nonces that expire at or below it are forgotten, and the vault
//! refuses any authorization that expires at or below it, as expired: so a forgotten
//! nonce can never be accepted again, even with a clock set back. The frame (or nonce
//! file) holding the latest time is never deleted, since its own nonces expire after it.
//!
//! The journal does no pruning of its own accord: the drainer calls
//! [`Journal::maintain`] after each drain, off the signing path.

use crate::error::{Error, StoreError};
use crate::ids::KeyId;
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

/// Bytes of a segment file.
pub(crate) const SEGMENT_BYTES: u64 = SEGMENT_LEN as u64;
/// [`SEGMENT_BYTES`] as a length in memory.
const SEGMENT_LEN: usize = 16 << 20;
/// Bytes before the first frame of a segment (its header's block).
const HEADER_BYTES: u64 = HEADER_LEN as u64;
/// [`HEADER_BYTES`] as a length in memory.
const HEADER_LEN: usize = 4096;
/// Bytes of a frame's header.
const FRAME_HEADER_BYTES: usize = 64;
/// Largest frame payload; a larger batch is written as several frames.
const FRAME_PAYLOAD_MAX: usize = 1 << 20;
/// Largest evidence record (the evidence log's entry limit).
const RECORD_BYTES_MAX: usize = u16::MAX as usize;
/// How far behind the latest recorded batch time nonces are kept (and authorizations
/// still accepted): tolerance for callers whose clocks differ a little.
pub(crate) const PRUNE_LAG_MS: u64 = 60_000;
/// Spare segments kept ready (recycled ones beyond this are deleted).
const SPARES: usize = 2;

const SEGMENT_MAGIC: &[u8; 23] = b"affix-vault/journal/v1\0";
const NONCES_MAGIC: &[u8; 22] = b"affix-vault/nonces/v1\0";

/// One signature as the journal keeps it.
pub(crate) struct Signature {
    /// The encoded `vault.key.signed` evidence record.
    pub(crate) record: Vec<u8>,
    /// The key that signed (for the signature index).
    pub(crate) key: KeyId,
    /// The spent authorization's nonce row.
    pub(crate) nonce: [u8; 40],
}

/// Records of one frame, for the drainer.
#[derive(Debug)]
pub(crate) struct Frame {
    /// Leaf of the first record.
    pub(crate) first_leaf: u64,
    /// Encoded evidence records, at leaves `first_leaf ..`.
    pub(crate) records: Vec<Vec<u8>>,
    /// The key of each record.
    pub(crate) keys: Vec<KeyId>,
}

impl Frame {
    /// The leaf after the frame's last record.
    pub(crate) fn end(&self) -> u64 {
        self.first_leaf + self.records.len() as u64
    }
}

/// What opening the journal found.
pub(crate) struct Recovered {
    /// Every frame, in leaf order (the caller skips those the log holds already).
    pub(crate) frames: Vec<Frame>,
    /// Nonces spent through the journal that may still be presented.
    pub(crate) nonces: SpentNonces,
}

/// The journal of a vault (`journal/` in its directory).
pub(crate) struct Journal {
    dir: PathBuf,
    inner: Mutex<Inner>,
}

struct Inner {
    active: Segment,
    /// Full segments whose records may not all be in the log yet.
    closed: Vec<Closed>,
    spares: Vec<(PathBuf, File)>,
    nonce_files: Vec<NonceFile>,
    next_seq: u64,
    next_slot: u64,
    /// Latest batch time recorded.
    clock_high_ms: u64,
    /// A failed write: nothing more is appended until the vault is reopened (the
    /// failed frame may or may not be on disk).
    poisoned: Option<String>,
}

struct Segment {
    path: PathBuf,
    file: File,
    seq: u64,
    salt: [u8; 16],
    /// Where the next frame goes.
    offset: u64,
    /// The leaf after the last record in it (0 when empty).
    leaf_end: u64,
    nonces: Vec<[u8; 40]>,
    max_now_ms: u64,
}

struct Closed {
    path: PathBuf,
    file: File,
    seq: u64,
    leaf_end: u64,
    nonces: Vec<[u8; 40]>,
    max_now_ms: u64,
}

struct NonceFile {
    path: PathBuf,
    max_expiry_ms: u64,
}

impl Journal {
    /// Opens (or creates) the journal in `dir`: reads every segment and nonce file, then
    /// starts a new segment for this session.
    ///
    /// # Errors
    /// [`Error::Store`] for I/O errors and for a frame whose digest matches but whose
    /// contents do not parse or go back in leaf order (not a torn write: corruption).
    pub(crate) fn open(dir: &Path) -> Result<(Self, Recovered), Error> {
        fs::create_dir_all(dir).map_err(io("creating", dir))?;
        let mut segments = Vec::new();
        let mut spares = Vec::new();
        let mut nonce_files = Vec::new();
        let mut nonces = Vec::new();
        let mut next_slot = 0;
        let mut next_seq = 1;
        let mut clock_high_ms = 0;
        for entry in fs::read_dir(dir).map_err(io("listing", dir))? {
            let entry = entry.map_err(io("listing", dir))?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".tmp") {
                // An unfinished spare or nonce file: never used.
                fs::remove_file(&path).map_err(io("removing", &path))?;
            } else if let Some(slot) = name.strip_prefix("segment-") {
                let slot: u64 = slot
                    .parse()
                    .map_err(|_| Error::corrupt(format!("unexpected journal file {name}")))?;
                next_slot = next_slot.max(slot + 1);
                let file = open_rw(&path)?;
                match read_segment(&file, &path)? {
                    Some(scan) => {
                        next_seq = next_seq.max(scan.seq + 1);
                        segments.push((path, file, scan));
                    }
                    None => spares.push((path, file)),
                }
            } else if name.starts_with("nonces-") {
                let file = read_nonce_file(&path)?;
                next_seq = next_seq.max(file.seq + 1);
                clock_high_ms = clock_high_ms.max(file.max_now_ms);
                nonce_files.push(NonceFile {
                    path,
                    max_expiry_ms: file.rows.iter().map(expiry_of).max().unwrap_or(0),
                });
                nonces.extend(file.rows);
            } else {
                return Err(Error::corrupt(format!("unexpected journal file {name}")));
            }
        }
        segments.sort_by_key(|(_, _, scan)| scan.seq);
        let mut frames: Vec<Frame> = Vec::new();
        let mut closed = Vec::new();
        for (path, file, scan) in segments {
            for frame in scan.frames {
                if frames.last().is_some_and(|f| frame.first_leaf < f.end()) {
                    return Err(Error::corrupt(format!(
                        "journal segment {} goes back to leaf {}",
                        scan.seq, frame.first_leaf
                    )));
                }
                frames.push(frame);
            }
            clock_high_ms = clock_high_ms.max(scan.max_now_ms);
            nonces.extend_from_slice(&scan.nonces);
            closed.push(Closed {
                path,
                file,
                seq: scan.seq,
                leaf_end: scan.leaf_end,
                nonces: scan.nonces,
                max_now_ms: scan.max_now_ms,
            });
        }
        let floor = floor_of(clock_high_ms);
        let mut spent = SpentNonces::new(floor);
        for row in &nonces {
            spent.insert(row);
        }
        let (path, file) = match spares.pop() {
            Some(spare) => spare,
            None => {
                let spare = create_spare(dir, next_slot)?;
                next_slot += 1;
                spare
            }
        };
        let active = Segment::start(path, file, next_seq)?;
        let journal = Self {
            dir: dir.to_path_buf(),
            inner: Mutex::new(Inner {
                active,
                closed,
                spares,
                nonce_files,
                next_seq: next_seq + 1,
                next_slot,
                clock_high_ms,
                poisoned: None,
            }),
        };
        Ok((
            journal,
            Recovered {
                frames,
                nonces: spent,
            },
        ))
    }

    /// Appends `signatures` (leaves `first_leaf ..`, signed at `now_ms`) and makes them
    /// durable. Returns the floor after this batch (see the module documentation).
    ///
    /// # Errors
    /// [`Error::Store`] if preparing, writing or flushing fails. Once anything was
    /// written, the journal then refuses every later append (the vault must be reopened),
    /// since what reached the disk is unknown.
    pub(crate) fn append(
        &self,
        first_leaf: u64,
        signatures: &[Signature],
        now_ms: u64,
    ) -> Result<u64, Error> {
        let mut inner = self.lock();
        if let Some(e) = &inner.poisoned {
            return Err(Error::Store(StoreError::JournalPoisoned(e.clone())));
        }
        let mut written = false;
        let result = inner.append(&self.dir, first_leaf, signatures, now_ms, &mut written);
        if let Err(e) = &result
            && written
        {
            inner.poisoned = Some(e.to_string());
        }
        result
    }

    /// Whether a failed append left the journal refusing appends.
    pub(crate) fn is_poisoned(&self) -> bool {
        self.lock().poisoned.is_some()
    }

    /// Housekeeping, off the signing path: retires the closed segments whose records
    /// are all below `drained` (the log's size), deletes nonce files below the floor, and
    /// makes a spare segment ready for when the active one is full.
    ///
    /// # Errors
    /// [`Error::Store`] for I/O errors (nothing is lost: housekeeping is retried).
    pub(crate) fn maintain(&self, drained: u64) -> Result<(), Error> {
        let (retire, floor) = {
            let mut inner = self.lock();
            let floor = floor_of(inner.clock_high_ms);
            let (retire, keep) = std::mem::take(&mut inner.closed)
                .into_iter()
                .partition(|c| c.leaf_end <= drained);
            inner.closed = keep;
            (retire, floor)
        };
        let mut retire: Vec<Closed> = retire;
        while let Some(segment) = retire.pop() {
            if let Err(e) = self.retire(&segment, floor) {
                // Put it (and the rest) back for the next attempt.
                retire.push(segment);
                self.lock().closed.extend(retire);
                return Err(e);
            }
        }
        let expired: Vec<PathBuf> = {
            let mut inner = self.lock();
            let (expired, keep) = std::mem::take(&mut inner.nonce_files)
                .into_iter()
                .partition(|f: &NonceFile| f.max_expiry_ms <= floor);
            inner.nonce_files = keep;
            expired.into_iter().map(|f| f.path).collect()
        };
        for path in expired {
            // A lost deletion only leaves expired nonces behind, read again at open.
            fs::remove_file(&path).map_err(io("removing", &path))?;
        }
        let slot = {
            let mut inner = self.lock();
            // A spare is needed once the active segment fills; have one ready from half
            // way (an idle or small vault never makes one).
            if !inner.spares.is_empty() || inner.active.offset < SEGMENT_BYTES / 2 {
                return Ok(());
            }
            inner.next_slot += 1;
            inner.next_slot - 1
        };
        let spare = create_spare(&self.dir, slot)?;
        self.lock().spares.push(spare);
        Ok(())
    }

    /// Copies the nonces of a fully drained segment that may still be presented into a
    /// nonce file, then recycles the segment as a spare (or deletes it).
    fn retire(&self, segment: &Closed, floor: u64) -> Result<(), Error> {
        let live: Vec<[u8; 40]> = segment
            .nonces
            .iter()
            .filter(|row| expiry_of(row) > floor)
            .copied()
            .collect();
        if !live.is_empty() {
            let path = write_nonce_file(&self.dir, segment.seq, segment.max_now_ms, &live)?;
            self.lock().nonce_files.push(NonceFile {
                path,
                max_expiry_ms: live.iter().map(expiry_of).max().unwrap_or(0),
            });
        }
        // Zero the header first: from then on the segment is a spare, whatever happens
        // to its old frames (another salt makes them invalid in its next life).
        segment
            .file
            .write_all_at(&[0u8; HEADER_LEN], 0)
            .and_then(|()| segment.file.sync_data())
            .map_err(io("recycling", &segment.path))?;
        let mut inner = self.lock();
        if inner.spares.len() < SPARES {
            let file = segment
                .file
                .try_clone()
                .map_err(io("recycling", &segment.path))?;
            inner.spares.push((segment.path.clone(), file));
        } else {
            drop(inner);
            fs::remove_file(&segment.path).map_err(io("removing", &segment.path))?;
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    fn append(
        &mut self,
        dir: &Path,
        first_leaf: u64,
        signatures: &[Signature],
        now_ms: u64,
        written: &mut bool,
    ) -> Result<u64, Error> {
        // Several frames when the batch is large; a segment change between two frames
        // means two files to flush. Nothing is acknowledged before both are.
        let mut leaf = first_leaf;
        let mut rest = signatures;
        let mut unflushed = false; // frames written to the active segment in this call
        while !rest.is_empty() {
            let (frame, taken) = encode_payload(rest)?;
            let bytes = (FRAME_HEADER_BYTES + frame.len()) as u64;
            if self.active.offset + bytes > SEGMENT_BYTES {
                if unflushed {
                    self.active
                        .file
                        .sync_data()
                        .map_err(io("flushing", &self.active.path))?;
                }
                let (path, file) = match self.spares.pop() {
                    Some(spare) => spare,
                    None => {
                        // No spare ready (the drainer prepares them): make one here.
                        self.next_slot += 1;
                        create_spare(dir, self.next_slot - 1)?
                    }
                };
                let next = Segment::start(path, file, self.next_seq)?;
                self.next_seq += 1;
                let full = std::mem::replace(&mut self.active, next);
                self.closed.push(Closed {
                    path: full.path,
                    file: full.file,
                    seq: full.seq,
                    leaf_end: full.leaf_end,
                    nonces: full.nonces,
                    max_now_ms: full.max_now_ms,
                });
            }
            let segment = &mut self.active;
            let mut buf = Vec::with_capacity(FRAME_HEADER_BYTES + frame.len());
            buf.extend_from_slice(&u32::try_from(frame.len()).unwrap_or(u32::MAX).to_be_bytes());
            buf.extend_from_slice(&u32::try_from(taken).unwrap_or(u32::MAX).to_be_bytes());
            buf.extend_from_slice(&leaf.to_be_bytes());
            buf.extend_from_slice(&now_ms.to_be_bytes());
            buf.extend_from_slice(&0u64.to_be_bytes());
            let digest = frame_digest(&segment.salt, segment.seq, segment.offset, &buf, &frame);
            buf.extend_from_slice(&digest);
            buf.extend_from_slice(&frame);
            *written = true;
            unflushed = true;
            segment
                .file
                .write_all_at(&buf, segment.offset)
                .map_err(io("writing", &segment.path))?;
            segment.offset += bytes;
            segment.nonces.extend(rest[..taken].iter().map(|s| s.nonce));
            leaf += taken as u64;
            segment.leaf_end = leaf;
            segment.max_now_ms = segment.max_now_ms.max(now_ms);
            rest = &rest[taken..];
        }
        if unflushed {
            self.active
                .file
                .sync_data()
                .map_err(io("flushing", &self.active.path))?;
        }
        self.clock_high_ms = self.clock_high_ms.max(now_ms);
        Ok(floor_of(self.clock_high_ms))
    }
}

impl Segment {
    /// Makes `file` (a spare) segment `seq`, with a fresh salt; the header is durable on
    /// return.
    fn start(path: PathBuf, file: File, seq: u64) -> Result<Self, Error> {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|_| Error::Random)?;
        let header = segment_header(seq, &salt);
        file.write_all_at(&header, 0)
            .and_then(|()| file.sync_data())
            .map_err(io("starting", &path))?;
        Ok(Self {
            path,
            file,
            seq,
            salt,
            offset: HEADER_BYTES,
            leaf_end: 0,
            nonces: Vec::new(),
            max_now_ms: 0,
        })
    }
}

/// Spent nonces that may still be presented, in memory: 16-byte tags (SHA-256 of the
/// nonce row, truncated) in buckets of expiry, so expired ones are dropped a bucket at a
/// time. Two rows sharing a tag would make the second look spent: a refusal, never an
/// acceptance, and with 128-bit tags not a practical event.
pub(crate) struct SpentNonces {
    buckets: BTreeMap<u64, HashSet<[u8; 16]>>,
    floor_ms: u64,
    len: usize,
}

/// Width of an expiry bucket.
const BUCKET_MS: u64 = 10_000;

impl SpentNonces {
    pub(crate) fn new(floor_ms: u64) -> Self {
        Self {
            buckets: BTreeMap::new(),
            floor_ms,
            len: 0,
        }
    }

    /// Records a spent nonce (ignored at or below the floor: refused as expired anyway).
    pub(crate) fn insert(&mut self, row: &[u8; 40]) {
        let expiry = expiry_of(row);
        if expiry <= self.floor_ms {
            return;
        }
        if self
            .buckets
            .entry(expiry / BUCKET_MS)
            .or_default()
            .insert(tag(row))
        {
            self.len += 1;
        }
    }

    /// Whether the nonce row is spent.
    pub(crate) fn contains(&self, row: &[u8; 40]) -> bool {
        self.buckets
            .get(&(expiry_of(row) / BUCKET_MS))
            .is_some_and(|b| b.contains(&tag(row)))
    }

    /// Authorizations expiring at or below this are refused.
    pub(crate) fn floor_ms(&self) -> u64 {
        self.floor_ms
    }

    /// Raises the floor and forgets the buckets wholly at or below it.
    pub(crate) fn raise_floor(&mut self, floor_ms: u64) {
        if floor_ms <= self.floor_ms {
            return;
        }
        self.floor_ms = floor_ms;
        while let Some(entry) = self.buckets.first_entry() {
            // Bucket b holds expiries up to (b + 1) * BUCKET_MS - 1.
            if (entry.key() + 1) * BUCKET_MS - 1 > floor_ms {
                break;
            }
            self.len -= entry.remove().len();
        }
    }

    /// Nonces held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

fn tag(row: &[u8; 40]) -> [u8; 16] {
    let digest = Sha256::digest(row);
    let mut t = [0u8; 16];
    t.copy_from_slice(&digest[..16]);
    t
}

fn expiry_of(row: &[u8; 40]) -> u64 {
    let mut e = [0u8; 8];
    e.copy_from_slice(&row[..8]);
    u64::from_be_bytes(e)
}

fn floor_of(clock_high_ms: u64) -> u64 {
    clock_high_ms.saturating_sub(PRUNE_LAG_MS)
}

/// Encodes as many of `signatures` as fit in one frame: (payload, how many).
fn encode_payload(signatures: &[Signature]) -> Result<(Vec<u8>, usize), Error> {
    let mut out = Vec::new();
    let mut taken = 0;
    for s in signatures {
        if s.record.len() > RECORD_BYTES_MAX {
            return Err(Error::internal(format!(
                "evidence record of {} bytes (at most {RECORD_BYTES_MAX})",
                s.record.len()
            )));
        }
        let size = 2 + s.record.len() + 16 + 40;
        if taken > 0 && out.len() + size > FRAME_PAYLOAD_MAX {
            break;
        }
        out.extend_from_slice(
            &u16::try_from(s.record.len())
                .unwrap_or(u16::MAX)
                .to_be_bytes(),
        );
        out.extend_from_slice(&s.record);
        out.extend_from_slice(&s.key.0);
        out.extend_from_slice(&s.nonce);
        taken += 1;
    }
    Ok((out, taken))
}

fn frame_digest(salt: &[u8; 16], seq: u64, offset: u64, head: &[u8], payload: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(seq.to_be_bytes());
    h.update(offset.to_be_bytes());
    h.update(head);
    h.update(payload);
    h.finalize().into()
}

fn segment_header(seq: u64, salt: &[u8; 16]) -> Vec<u8> {
    let mut header = Vec::with_capacity(SEGMENT_MAGIC.len() + 8 + 16 + 32);
    header.extend_from_slice(SEGMENT_MAGIC);
    header.extend_from_slice(&seq.to_be_bytes());
    header.extend_from_slice(salt);
    let digest = Sha256::digest(&header);
    header.extend_from_slice(&digest);
    header
}

/// What a segment holds.
struct Scan {
    seq: u64,
    frames: Vec<Frame>,
    nonces: Vec<[u8; 40]>,
    leaf_end: u64,
    max_now_ms: u64,
}

/// Reads a segment file: `None` for a spare (no valid header).
fn read_segment(file: &File, path: &Path) -> Result<Option<Scan>, Error> {
    let corrupt = |what: String| Error::corrupt(format!("journal {}: {what}", path.display()));
    let len = file.metadata().map_err(io("reading", path))?.len();
    if len != SEGMENT_BYTES {
        return Err(corrupt(format!("{len} bytes, not {SEGMENT_BYTES}")));
    }
    let mut bytes = vec![0u8; SEGMENT_LEN];
    file.read_exact_at(&mut bytes, 0)
        .map_err(io("reading", path))?;
    let head_len = SEGMENT_MAGIC.len() + 8 + 16;
    let (head, rest) = bytes.split_at(head_len);
    if !head.starts_with(SEGMENT_MAGIC) || Sha256::digest(head)[..] != rest[..32] {
        return Ok(None);
    }
    let seq = u64::from_be_bytes(head[23..31].try_into().unwrap_or_default());
    let mut salt = [0u8; 16];
    salt.copy_from_slice(&head[31..47]);
    let mut scan = Scan {
        seq,
        frames: Vec::new(),
        nonces: Vec::new(),
        leaf_end: 0,
        max_now_ms: 0,
    };
    let mut offset = HEADER_LEN;
    while offset + FRAME_HEADER_BYTES <= bytes.len() {
        let h = &bytes[offset..offset + FRAME_HEADER_BYTES];
        let field = |at: usize| u64::from_be_bytes(h[at..at + 8].try_into().unwrap_or_default());
        let payload_len = u32::from_be_bytes(h[..4].try_into().unwrap_or_default()) as usize;
        let count = u32::from_be_bytes(h[4..8].try_into().unwrap_or_default()) as usize;
        let (first_leaf, now_ms) = (field(8), field(16));
        let end = offset + FRAME_HEADER_BYTES + payload_len;
        if payload_len == 0 || payload_len > FRAME_PAYLOAD_MAX || end > bytes.len() {
            break;
        }
        let payload = &bytes[offset + FRAME_HEADER_BYTES..end];
        if frame_digest(&salt, seq, offset as u64, &h[..32], payload)[..] != h[32..] {
            break; // a torn append, or a recycled segment's stale frames
        }
        let frame = parse_payload(payload, count, first_leaf, &mut scan.nonces)
            .ok_or_else(|| corrupt(format!("frame at byte {offset} does not parse")))?;
        if frame.first_leaf < scan.leaf_end {
            return Err(corrupt(format!(
                "frame at byte {offset} goes back in leaves"
            )));
        }
        scan.leaf_end = frame.end();
        scan.max_now_ms = scan.max_now_ms.max(now_ms);
        scan.frames.push(frame);
        offset = end;
    }
    Ok(Some(scan))
}

fn parse_payload(
    mut p: &[u8],
    count: usize,
    first_leaf: u64,
    nonces: &mut Vec<[u8; 40]>,
) -> Option<Frame> {
    let mut frame = Frame {
        first_leaf,
        records: Vec::with_capacity(count),
        keys: Vec::with_capacity(count),
    };
    for _ in 0..count {
        let len = usize::from(u16::from_be_bytes(p.get(..2)?.try_into().ok()?));
        let record = p.get(2..2 + len)?.to_vec();
        let key = KeyId(p.get(2 + len..18 + len)?.try_into().ok()?);
        let nonce: [u8; 40] = p.get(18 + len..58 + len)?.try_into().ok()?;
        p = &p[58 + len..];
        frame.records.push(record);
        frame.keys.push(key);
        nonces.push(nonce);
    }
    p.is_empty().then_some(frame)
}

struct NonceFileContents {
    seq: u64,
    max_now_ms: u64,
    rows: Vec<[u8; 40]>,
}

fn write_nonce_file(
    dir: &Path,
    seq: u64,
    max_now_ms: u64,
    rows: &[[u8; 40]],
) -> Result<PathBuf, Error> {
    let mut bytes = Vec::with_capacity(NONCES_MAGIC.len() + 20 + rows.len() * 40 + 32);
    bytes.extend_from_slice(NONCES_MAGIC);
    bytes.extend_from_slice(&seq.to_be_bytes());
    bytes.extend_from_slice(&max_now_ms.to_be_bytes());
    let count = u32::try_from(rows.len())
        .map_err(|_| Error::internal(format!("{} nonces in one journal segment", rows.len())))?;
    bytes.extend_from_slice(&count.to_be_bytes());
    for row in rows {
        bytes.extend_from_slice(row);
    }
    let digest = Sha256::digest(&bytes);
    bytes.extend_from_slice(&digest);
    let path = dir.join(format!("nonces-{seq:016}"));
    let tmp = dir.join(format!("nonces-{seq:016}.tmp"));
    let mut file = File::create(&tmp).map_err(io("creating", &tmp))?;
    file.write_all(&bytes)
        .and_then(|()| file.sync_all())
        .map_err(io("writing", &tmp))?;
    fs::rename(&tmp, &path).map_err(io("renaming", &tmp))?;
    sync_dir(dir)?;
    Ok(path)
}

fn read_nonce_file(path: &Path) -> Result<NonceFileContents, Error> {
    let corrupt = || Error::corrupt(format!("journal nonce file {} is corrupt", path.display()));
    let bytes = fs::read(path).map_err(io("reading", path))?;
    let head = NONCES_MAGIC.len() + 20;
    if bytes.len() < head + 32 || !bytes.starts_with(NONCES_MAGIC) {
        return Err(corrupt());
    }
    let (body, digest) = bytes.split_at(bytes.len() - 32);
    if Sha256::digest(body)[..] != *digest {
        return Err(corrupt());
    }
    let at = NONCES_MAGIC.len();
    let seq = u64::from_be_bytes(body[at..at + 8].try_into().map_err(|_| corrupt())?);
    let max_now_ms = u64::from_be_bytes(body[at + 8..at + 16].try_into().map_err(|_| corrupt())?);
    let count = u32::from_be_bytes(body[at + 16..at + 20].try_into().map_err(|_| corrupt())?);
    let rows_bytes = &body[head..];
    if rows_bytes.len() != count as usize * 40 {
        return Err(corrupt());
    }
    let rows = rows_bytes
        .chunks_exact(40)
        .map(|c| c.try_into().map_err(|_| corrupt()))
        .collect::<Result<_, _>>()?;
    Ok(NonceFileContents {
        seq,
        max_now_ms,
        rows,
    })
}

/// A new spare segment: SEGMENT_BYTES of written zeros (not a sparse or `fallocate`d
/// file, whose first writes would allocate or convert blocks: metadata to commit on
/// every flush), durable with its directory entry before it is used.
fn create_spare(dir: &Path, slot: u64) -> Result<(PathBuf, File), Error> {
    let path = dir.join(format!("segment-{slot:08}"));
    let tmp = dir.join(format!("segment-{slot:08}.tmp"));
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(io("creating", &tmp))?;
    let zeros = vec![0u8; 1 << 20];
    let mut written = 0;
    while written < SEGMENT_BYTES {
        file.write_all(&zeros).map_err(io("writing", &tmp))?;
        written += zeros.len() as u64;
    }
    file.sync_all().map_err(io("flushing", &tmp))?;
    fs::rename(&tmp, &path).map_err(io("renaming", &tmp))?;
    sync_dir(dir)?;
    Ok((path, file))
}

fn open_rw(path: &Path) -> Result<File, Error> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(io("opening", path))
}

fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("flushing", dir))
}

fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error + use<> {
    let path = path.display().to_string();
    move |e| Error::io(format!("journal: {op} {path}"), e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(i: u8, expiry: u64) -> Signature {
        let mut nonce = [i; 40];
        nonce[..8].copy_from_slice(&expiry.to_be_bytes());
        Signature {
            record: vec![i; 100 + usize::from(i)],
            key: KeyId([i; 16]),
            nonce,
        }
    }

    #[test]
    fn appended_frames_and_nonces_are_read_back_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let now: u64 = 1_000_000;
        {
            let (j, rec) = Journal::open(dir.path()).unwrap();
            assert!(rec.frames.is_empty());
            j.append(5, &[sig(1, now + 1000), sig(2, now + 2000)], now)
                .unwrap();
            j.append(9, &[sig(3, now + 3000)], now + 1).unwrap();
        }
        let (_, rec) = Journal::open(dir.path()).unwrap();
        let leaves: Vec<(u64, usize)> = rec
            .frames
            .iter()
            .map(|f| (f.first_leaf, f.records.len()))
            .collect();
        assert_eq!(leaves, [(5, 2), (9, 1)]);
        assert_eq!(rec.frames[1].records[0], vec![3; 103]);
        assert_eq!(rec.frames[0].keys[1], KeyId([2; 16]));
        for i in 1..=3u8 {
            assert!(
                rec.nonces
                    .contains(&sig(i, now + u64::from(i) * 1000).nonce)
            );
        }
        assert!(!rec.nonces.contains(&sig(4, now + 1000).nonce));
        assert_eq!(rec.nonces.floor_ms(), now + 1 - PRUNE_LAG_MS);
    }

    #[test]
    fn a_torn_or_flipped_frame_ends_the_segment() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (j, _) = Journal::open(dir.path()).unwrap();
            j.append(0, &[sig(1, 10_000)], 1).unwrap();
            j.append(1, &[sig(2, 10_000)], 2).unwrap();
        }
        // Flip a byte of the second frame's record.
        let seg = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| read_segment(&open_rw(p).unwrap(), p).unwrap().is_some())
            .unwrap();
        let file = open_rw(&seg).unwrap();
        let second = HEADER_BYTES + (FRAME_HEADER_BYTES + 2 + 101 + 56) as u64;
        file.write_all_at(&[0xff], second + FRAME_HEADER_BYTES as u64 + 10)
            .unwrap();
        let (_, rec) = Journal::open(dir.path()).unwrap();
        assert_eq!(rec.frames.len(), 1);
        assert!(rec.nonces.contains(&sig(1, 10_000).nonce));
        assert!(!rec.nonces.contains(&sig(2, 10_000).nonce));
    }

    #[test]
    fn drained_segments_become_nonce_files_and_spares_then_expire() {
        let dir = tempfile::tempdir().unwrap();
        let now: u64 = 10_000_000;
        let (j, _) = Journal::open(dir.path()).unwrap();
        // Fill more than one segment.
        let big: Vec<Signature> = (0..2000u32)
            .map(|i| Signature {
                record: vec![7; 20_000],
                key: KeyId([1; 16]),
                nonce: {
                    let mut n = [0u8; 40];
                    n[..8].copy_from_slice(&(now + 200_000).to_be_bytes());
                    n[8..12].copy_from_slice(&i.to_be_bytes());
                    n
                },
            })
            .collect();
        j.append(0, &big, now).unwrap();
        assert!(!j.lock().closed.is_empty());
        j.maintain(0).unwrap(); // nothing drained: nothing retired
        assert!(!j.lock().closed.is_empty());
        j.maintain(2000).unwrap();
        assert!(j.lock().closed.is_empty());
        assert!(!j.lock().nonce_files.is_empty());
        drop(j);
        let (j, rec) = Journal::open(dir.path()).unwrap();
        assert_eq!(rec.nonces.len(), 2000);
        // Later, every nonce has expired: the nonce files go.
        j.append(2000, &[sig(1, now + 400_000)], now + 300_000)
            .unwrap();
        j.maintain(2001).unwrap();
        let (_, rec) = {
            drop(j);
            Journal::open(dir.path()).unwrap()
        };
        assert_eq!(rec.nonces.len(), 1);
        assert!(fs::read_dir(dir.path()).unwrap().all(|e| {
            !e.unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("nonces-")
        }));
    }

    #[test]
    fn spent_nonces_forget_only_below_the_floor() {
        let mut s = SpentNonces::new(0);
        let a = sig(1, 25_000).nonce;
        let b = sig(2, 45_000).nonce;
        s.insert(&a);
        s.insert(&b);
        s.raise_floor(25_000);
        assert_eq!(s.floor_ms(), 25_000);
        assert!(s.contains(&b));
        s.raise_floor(29_999); // a's bucket (20 000 ..= 29 999) is wholly at or below
        assert!(!s.contains(&a) && s.contains(&b));
        assert_eq!(s.len(), 1);
        s.insert(&a); // below the floor: refused as expired, not kept
        assert_eq!(s.len(), 1);
    }
}
