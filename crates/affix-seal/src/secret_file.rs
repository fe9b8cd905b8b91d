//! Files that hold secrets (private keys, tokens, seeds): the one writer and the one
//! owner-only reader of the workspace.
//!
//! [`create_new`] creates the file with mode 0600, refuses an existing file or symlink
//! (it never overwrites a key), writes, fsyncs the file and then its directory, so a
//! file reported written survives a crash with its name. [`read_owner_only`] refuses a
//! file that group or others may access (checked on the opened file, so a rename cannot
//! race the check) and reads at most a caller-given number of bytes into a buffer that
//! is zeroized on drop.
//!
//! Every command and library that writes a key file goes through these two functions,
//! so they agree on permissions and durability.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read as _, Write as _};
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
use std::path::Path;

use zeroize::Zeroizing;

use crate::Error;

/// Largest `max_bytes` [`read_owner_only`] accepts: the buffer is allocated up front.
pub const SECRET_FILE_BYTES_MAX: usize = 1024 * 1024;

fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error + use<> {
    let path = path.to_owned();
    move |source| Error::Io { op, path, source }
}

/// Creates `path` with mode 0600 holding `contents`, refusing an existing file (or
/// symlink), then fsyncs the file and its directory.
///
/// # Errors
/// [`Error::AlreadyExists`] if anything is at `path`; [`Error::Io`] for any other
/// failure (the file may then exist, partly written: it was never reported written).
pub fn create_new(path: &Path, contents: &[u8]) -> Result<(), Error> {
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
    sync_parent(path)
}

/// Fsyncs the directory holding `path`, so a file created or renamed there keeps its
/// name after a crash.
///
/// # Errors
/// [`Error::Io`].
pub fn sync_parent(path: &Path) -> Result<(), Error> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("sync directory", dir))
}

/// Reads a secret file of at most `max_bytes` bytes (at most
/// [`SECRET_FILE_BYTES_MAX`]), refusing a file whose mode grants any access to group or
/// others.
///
/// # Errors
/// [`Error::InsecurePermissions`], [`Error::NotARegularFile`], [`Error::FileTooLarge`],
/// [`Error::InvalidArgument`] for `max_bytes` above the limit, [`Error::Io`].
pub fn read_owner_only(path: &Path, max_bytes: usize) -> Result<Zeroizing<Vec<u8>>, Error> {
    read(path, max_bytes, true)
}

/// [`read_owner_only`], or without the permission check when `owner_only` is false (for
/// files beside secrets that are not secret themselves, such as a passphrase header).
pub(crate) fn read(
    path: &Path,
    max_bytes: usize,
    owner_only: bool,
) -> Result<Zeroizing<Vec<u8>>, Error> {
    if max_bytes > SECRET_FILE_BYTES_MAX {
        return Err(Error::InvalidArgument(
            "max_bytes above SECRET_FILE_BYTES_MAX",
        ));
    }
    let file = File::open(path).map_err(io("open", path))?;
    let meta = file.metadata().map_err(io("stat", path))?;
    if !meta.is_file() {
        return Err(Error::NotARegularFile(path.to_owned()));
    }
    let mode = meta.mode() & 0o777;
    if owner_only && mode & 0o077 != 0 {
        return Err(Error::InsecurePermissions {
            path: path.to_owned(),
            mode,
        });
    }
    let too_large = || Error::FileTooLarge {
        path: path.to_owned(),
        max_bytes,
    };
    if meta.len() > max_bytes as u64 {
        return Err(too_large());
    }
    // Capacity for the whole limit up front: the buffer never reallocates, so no copy of
    // the secret is left behind unzeroized.
    let mut contents = Zeroizing::new(Vec::with_capacity(max_bytes + 1));
    file.take(max_bytes as u64 + 1)
        .read_to_end(&mut contents)
        .map_err(io("read", path))?;
    if contents.len() > max_bytes {
        return Err(too_large());
    }
    Ok(contents)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn creates_0600_once_and_reads_back_only_when_private() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("secret");
        create_new(&path, b"s3cret\n").expect("create");
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(matches!(
            create_new(&path, b"other"),
            Err(Error::AlreadyExists(_))
        ));
        assert_eq!(
            read_owner_only(&path, 64).expect("read").as_slice(),
            b"s3cret\n"
        );
        assert!(matches!(
            read_owner_only(&path, 3),
            Err(Error::FileTooLarge { max_bytes: 3, .. })
        ));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        assert!(matches!(
            read_owner_only(&path, 64),
            Err(Error::InsecurePermissions { mode: 0o640, .. })
        ));
        assert!(matches!(
            read_owner_only(dir.path(), 64),
            Err(Error::NotARegularFile(_))
        ));
        assert!(matches!(
            read_owner_only(&path, SECRET_FILE_BYTES_MAX + 1),
            Err(Error::InvalidArgument(_))
        ));
    }

    #[test]
    fn refuses_to_write_through_a_symlink() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("target");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        assert!(matches!(
            create_new(&link, b"x"),
            Err(Error::AlreadyExists(_))
        ));
        assert!(!target.exists());
    }
}
