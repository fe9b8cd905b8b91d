//! `Note::parse` on arbitrary bytes: never panics; what parses is in canonical form
//! (re-encodes to the input) and verifying it under fixed keys never panics.
#![no_main]

use affix_fuzz::{ed25519_verifier, sm2_verifier};
use affix_note::Note;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(note) = Note::parse(data) else {
        return;
    };
    let bytes = note.to_bytes();
    assert_eq!(bytes, data, "a parsed note re-encodes to other bytes");
    assert_eq!(Note::parse(&bytes).as_ref(), Ok(&note));

    let ed = ed25519_verifier().clone();
    if let Ok(verified) = note.verify(std::slice::from_ref(&ed), 1) {
        assert_eq!(verified.text(), note.text());
        assert_eq!(verified.signers(), std::slice::from_ref(&ed));
    }
    // Two trusted keys of different types, so SM2 verification sees fuzzed signatures too.
    let both = [ed, sm2_verifier().clone()];
    let _ = note.verify(&both, 1);
    let _ = note.verify(&both, 2);
});
