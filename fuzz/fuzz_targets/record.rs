//! `EvidenceRecord::decode` on arbitrary bytes: never panics, and whatever decodes is
//! canonical: `encode` gives back the input exactly.
#![no_main]

use affix_evidence::EvidenceRecord;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(record) = EvidenceRecord::decode(data) else {
        return;
    };
    let bytes = record.encode();
    assert_eq!(bytes, data, "a decoded record re-encodes to other bytes");
    assert_eq!(EvidenceRecord::decode(&bytes).as_ref(), Ok(&record));
    // Accessors and helpers on decoded records must not panic either.
    let _ = record.event_time().to_rfc3339();
    let _ = record.covers(data, None);
    for digest in record.digests() {
        let _ = record.covers(data, Some(digest.label()));
    }
});
