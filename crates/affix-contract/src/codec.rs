//! Byte-level helpers shared by the content and event encodings.

use crate::Error;

/// Appends a big-endian `u16` length and the bytes. Callers pass at most
/// `FIELD_VALUE_BYTES_MAX` (4096) or `DISPLAY_NAME_BYTES_MAX` (256) bytes, so the length
/// fits; the saturating fallback is never taken.
pub(crate) fn push_u16_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&u16::try_from(bytes.len()).unwrap_or(u16::MAX).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// A cursor over untrusted bytes: every read is bounds-checked.
pub(crate) struct Reader<'a> {
    what: &'static str,
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(what: &'static str, bytes: &'a [u8]) -> Self {
        Self {
            what,
            bytes,
            offset: 0,
        }
    }

    pub(crate) fn error(&self, reason: &'static str) -> Error {
        Error::Malformed {
            what: self.what,
            offset: self.offset,
            reason,
        }
    }

    pub(crate) fn take(&mut self, len: usize) -> Result<&'a [u8], Error> {
        let end = self
            .offset
            .checked_add(len)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| self.error("truncated"))?;
        let slice = &self.bytes[self.offset..end];
        self.offset = end;
        Ok(slice)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, Error> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn utf8(&mut self, len: usize) -> Result<&'a str, Error> {
        let bytes = self.take(len)?;
        core::str::from_utf8(bytes).map_err(|_| self.error("not UTF-8"))
    }

    pub(crate) fn finish(&self) -> Result<(), Error> {
        if self.offset != self.bytes.len() {
            return Err(self.error("trailing bytes"));
        }
        Ok(())
    }
}
