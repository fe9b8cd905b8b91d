//! The master-key files (key file, passphrase header): read through
//! [`crate::secret_file`], with a file that is not one reported as
//! [`Error::MalformedFile`].

use std::path::Path;

use zeroize::Zeroizing;

use crate::{Error, secret_file};

/// Largest key file or passphrase header accepted.
pub(crate) const MAX_FILE_BYTES: usize = 4096;

/// Reads a master-key file. With `owner_only`, refuses a file whose mode grants any
/// access to group or others.
pub(crate) fn read_small(path: &Path, owner_only: bool) -> Result<Zeroizing<Vec<u8>>, Error> {
    secret_file::read(path, MAX_FILE_BYTES, owner_only).map_err(|e| match e {
        Error::NotARegularFile(path) => Error::MalformedFile {
            path,
            reason: "not a regular file",
        },
        Error::FileTooLarge { path, .. } => Error::MalformedFile {
            path,
            reason: "file too large",
        },
        other => other,
    })
}
