//! Small files holding secrets or their parameters: created once, never overwritten,
//! fsync'd; secret files readable by their owner only.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read as _, Write as _};
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
use std::path::Path;

use zeroize::Zeroizing;

use crate::Error;

/// Largest key file or passphrase header accepted.
pub(crate) const MAX_FILE_BYTES: usize = 4096;

fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error + use<> {
    let path = path.to_owned();
    move |source| Error::Io { op, path, source }
}

/// Creates `path` with mode 0600 and `contents`, refusing an existing file (or symlink),
/// then fsyncs the file and its directory.
pub(crate) fn create_new(path: &Path, contents: &[u8]) -> Result<(), Error> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|source| {
            if source.kind() == ErrorKind::AlreadyExists {
                Error::AlreadyExists(path.to_owned())
            } else {
                Error::Io {
                    op: "create",
                    path: path.to_owned(),
                    source,
                }
            }
        })?;
    file.write_all(contents).map_err(io("write", path))?;
    file.sync_all().map_err(io("sync", path))?;
    drop(file);
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("sync directory", dir))
}

/// Reads a small regular file. With `owner_only`, refuses a file whose mode grants any
/// access to group or others (checked on the opened file, so a rename cannot race it).
pub(crate) fn read_small(path: &Path, owner_only: bool) -> Result<Zeroizing<Vec<u8>>, Error> {
    let file = File::open(path).map_err(io("open", path))?;
    let meta = file.metadata().map_err(io("stat", path))?;
    if !meta.is_file() {
        return Err(Error::MalformedFile {
            path: path.to_owned(),
            reason: "not a regular file",
        });
    }
    let mode = meta.mode() & 0o777;
    if owner_only && mode & 0o077 != 0 {
        return Err(Error::InsecurePermissions {
            path: path.to_owned(),
            mode,
        });
    }
    if meta.len() > MAX_FILE_BYTES as u64 {
        return Err(Error::MalformedFile {
            path: path.to_owned(),
            reason: "file too large",
        });
    }
    // Capacity for the whole limit up front: the buffer never reallocates, so no copy of
    // the secret is left behind unzeroized.
    let mut contents = Zeroizing::new(Vec::with_capacity(MAX_FILE_BYTES + 1));
    file.take(MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut contents)
        .map_err(io("read", path))?;
    if contents.len() > MAX_FILE_BYTES {
        return Err(Error::MalformedFile {
            path: path.to_owned(),
            reason: "file too large",
        });
    }
    Ok(contents)
}
