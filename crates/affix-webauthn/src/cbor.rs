//! CBOR through `ciborium`'s `Value`, bounded: nesting at most [`CBOR_DEPTH_MAX`] deep,
//! and every caller bounds the input's size first. Memory is then linear in the input
//! (`ciborium` grows arrays, maps and strings as it reads them, never by a declared
//! length).

use crate::{Error, malformed};
use ciborium::Value;
use std::collections::BTreeMap;

/// Deepest nesting accepted (an attestation object nests three levels).
const CBOR_DEPTH_MAX: usize = 8;

/// Decodes one CBOR item at the start of `bytes`; returns it and the bytes it took.
pub(crate) fn decode_prefix(bytes: &[u8], what: &'static str) -> Result<(Value, usize), Error> {
    let mut reader = bytes;
    let value: Value = ciborium::de::from_reader_with_recursion_limit(&mut reader, CBOR_DEPTH_MAX)
        .map_err(|e| malformed(what, format!("CBOR: {e}")))?;
    Ok((value, bytes.len() - reader.len()))
}

/// Decodes one CBOR item that is the whole of `bytes`.
pub(crate) fn decode_all(bytes: &[u8], what: &'static str) -> Result<Value, Error> {
    let (value, used) = decode_prefix(bytes, what)?;
    if used != bytes.len() {
        return Err(malformed(what, "bytes after the CBOR item"));
    }
    Ok(value)
}

/// Encodes a value (infallible for values built in memory: writing to a `Vec` does not
/// fail, and `Value` has no type that cannot be encoded).
pub(crate) fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    if let Err(e) = ciborium::ser::into_writer(value, &mut out) {
        // Unreachable (see above); an empty encoding fails every later parse loudly.
        debug_assert!(false, "CBOR encoding failed: {e}");
        out.clear();
    }
    out
}

/// A map with integer keys (COSE), refusing other keys and duplicates.
pub(crate) fn int_map<'a>(
    value: &'a Value,
    what: &'static str,
) -> Result<BTreeMap<i64, &'a Value>, Error> {
    let Value::Map(entries) = value else {
        return Err(malformed(what, "not a map"));
    };
    let mut map = BTreeMap::new();
    for (k, v) in entries {
        let Value::Integer(k) = k else {
            return Err(malformed(what, "a key that is not an integer"));
        };
        let k = i64::try_from(i128::from(*k)).map_err(|_| malformed(what, "key out of range"))?;
        if map.insert(k, v).is_some() {
            return Err(malformed(what, format!("duplicate key {k}")));
        }
    }
    Ok(map)
}

/// A map with text keys, refusing other keys and duplicates.
pub(crate) fn text_map<'a>(
    value: &'a Value,
    what: &'static str,
) -> Result<BTreeMap<&'a str, &'a Value>, Error> {
    let Value::Map(entries) = value else {
        return Err(malformed(what, "not a map"));
    };
    let mut map = BTreeMap::new();
    for (k, v) in entries {
        let Value::Text(k) = k else {
            return Err(malformed(what, "a key that is not text"));
        };
        if map.insert(k.as_str(), v).is_some() {
            return Err(malformed(what, format!("duplicate key {k:?}")));
        }
    }
    Ok(map)
}
