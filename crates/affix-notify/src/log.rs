//! Delivery logs.

use std::fs::File;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use crate::{DeliveryRecord, Error, Sha256Digest};

/// Longest line of a delivery log file, in bytes (a record holds at most a few KiB).
pub const LOG_LINE_BYTES_MAX: usize = 16 * 1024;

/// Where every delivery attempt is appended. `append` returns only once the record is
/// durable (for durable implementations), so a record the dispatcher reports is kept.
pub trait DeliveryLog: Send + Sync {
    /// Appends one record.
    fn append(&self, record: &DeliveryRecord) -> Result<(), Error>;
}

/// An in-memory log with a capacity, for tests.
#[derive(Debug)]
pub struct MemoryDeliveryLog {
    records: Mutex<Vec<DeliveryRecord>>,
    capacity: usize,
}

impl MemoryDeliveryLog {
    /// An empty log holding at most `capacity` records.
    pub fn new(capacity: usize) -> Self {
        Self {
            records: Mutex::new(Vec::new()),
            capacity,
        }
    }

    /// A copy of the records, in append order.
    pub fn records(&self) -> Vec<DeliveryRecord> {
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl DeliveryLog for MemoryDeliveryLog {
    fn append(&self, record: &DeliveryRecord) -> Result<(), Error> {
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        if records.len() >= self.capacity {
            return Err(Error::DeliveryLogFull {
                capacity: self.capacity,
            });
        }
        records.push(record.clone());
        Ok(())
    }
}

/// One line of a JSON-lines delivery log.
#[derive(Serialize, Deserialize)]
struct LogLine {
    /// Line format version (1).
    v: u8,
    /// [`DeliveryRecord::digest`], checked when read back.
    digest: Sha256Digest,
    record: DeliveryRecord,
}

/// A durable delivery log: one JSON object per line
/// (`{"v":1,"digest":"<hex>","record":{…}}`), appended and `fdatasync`ed before
/// [`DeliveryLog::append`] returns. [`JsonLinesDeliveryLog::read_all`] reads it back and
/// checks every digest.
#[derive(Debug)]
pub struct JsonLinesDeliveryLog {
    file: Mutex<File>,
    path: PathBuf,
}

impl JsonLinesDeliveryLog {
    /// Opens (creating if needed) the log at `path` for appending.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref().to_path_buf();
        let file = crate::open_private_append(&path).map_err(|source| Error::Io {
            action: "opening delivery log",
            path: path.clone(),
            source,
        })?;
        Ok(Self {
            file: Mutex::new(file),
            path,
        })
    }

    /// Reads every record of the log at `path`, checking each line's version, size and
    /// digest. A torn last line (no trailing newline, as after a crash mid-write) is
    /// reported as malformed, not skipped.
    pub fn read_all(path: impl AsRef<Path>) -> Result<Vec<DeliveryRecord>, Error> {
        let path = path.as_ref();
        let io = |action| {
            let path = path.to_path_buf();
            move |source| Error::Io {
                action,
                path,
                source,
            }
        };
        let file = File::open(path).map_err(io("opening delivery log"))?;
        let mut reader = BufReader::new(file);
        let mut records = Vec::new();
        let mut line = Vec::new();
        for number in 1.. {
            line.clear();
            let limit = u64::try_from(LOG_LINE_BYTES_MAX + 1).unwrap_or(u64::MAX);
            let n = (&mut reader)
                .take(limit)
                .read_until(b'\n', &mut line)
                .map_err(io("reading delivery log"))?;
            if n == 0 {
                break;
            }
            let malformed = |reason| Error::MalformedLogLine {
                line: number,
                reason,
            };
            if line.pop() != Some(b'\n') {
                return Err(malformed(if n > LOG_LINE_BYTES_MAX {
                    "longer than the line limit"
                } else {
                    "no trailing newline (torn write)"
                }));
            }
            let parsed: LogLine =
                serde_json::from_slice(&line).map_err(|_| malformed("not a log line"))?;
            if parsed.v != 1 {
                return Err(malformed("unknown version"));
            }
            if parsed.record.digest() != parsed.digest {
                return Err(malformed("digest does not match the record"));
            }
            records.push(parsed.record);
        }
        Ok(records)
    }
}

impl DeliveryLog for JsonLinesDeliveryLog {
    fn append(&self, record: &DeliveryRecord) -> Result<(), Error> {
        let line = LogLine {
            v: 1,
            digest: record.digest(),
            record: record.clone(),
        };
        let mut bytes = serde_json::to_vec(&line).map_err(|_| Error::MalformedLogLine {
            line: 0,
            reason: "record not serializable",
        })?;
        bytes.push(b'\n');
        if bytes.len() > LOG_LINE_BYTES_MAX {
            return Err(Error::MalformedLogLine {
                line: 0,
                reason: "record longer than the line limit",
            });
        }
        let io = |action| {
            let path = self.path.clone();
            move |source| Error::Io {
                action,
                path,
                source,
            }
        };
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        file.write_all(&bytes)
            .map_err(io("appending to delivery log"))?;
        file.sync_data().map_err(io("syncing delivery log"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::tests::fixture_notification;
    use crate::{DeliveryRecord, Outcome};

    fn record(attempt: u32) -> DeliveryRecord {
        DeliveryRecord::new(
            &fixture_notification(),
            attempt,
            10,
            20,
            Outcome::failed(true, Some(451), "451 4.3.0 try again"),
            None,
        )
    }

    #[test]
    fn json_lines_log_round_trips_and_checks_digests() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deliveries.jsonl");
        let log = JsonLinesDeliveryLog::open(&path).unwrap();
        log.append(&record(1)).unwrap();
        log.append(&record(2)).unwrap();
        drop(log);
        let log = JsonLinesDeliveryLog::open(&path).unwrap(); // reopening appends
        log.append(&record(3)).unwrap();
        let read = JsonLinesDeliveryLog::read_all(&path).unwrap();
        assert_eq!(read, vec![record(1), record(2), record(3)]);

        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replacen("\"attempt\":2", "\"attempt\":7", 1)).unwrap();
        assert!(matches!(
            JsonLinesDeliveryLog::read_all(&path),
            Err(Error::MalformedLogLine { line: 2, .. })
        ));
        std::fs::write(&path, &text[..text.len() - 5]).unwrap();
        assert!(matches!(
            JsonLinesDeliveryLog::read_all(&path),
            Err(Error::MalformedLogLine { line: 3, .. })
        ));
    }

    #[test]
    fn memory_log_is_bounded() {
        let log = MemoryDeliveryLog::new(1);
        log.append(&record(1)).unwrap();
        assert!(matches!(
            log.append(&record(2)),
            Err(Error::DeliveryLogFull { .. })
        ));
        assert_eq!(log.records().len(), 1);
    }
}
