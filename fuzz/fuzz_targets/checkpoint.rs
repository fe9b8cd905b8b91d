//! `SignedCheckpoint::parse` on arbitrary bytes and `Checkpoint::parse_text` on arbitrary
//! text: never panic; what parses round-trips exactly; every parsed body can be signed,
//! and, signed with the fixed key, verifies under the fixed policy.
#![no_main]

use affix_fuzz::{ORIGIN, ed25519_signer, sha256_policy, sm3_policy};
use affix_note::{Checkpoint, SignedCheckpoint};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(signed) = SignedCheckpoint::parse(data) {
        assert_eq!(
            signed.to_bytes(),
            data,
            "a parsed checkpoint re-encodes to other bytes"
        );
        assert_eq!(
            signed.unverified_checkpoint().to_text(),
            signed.note().text()
        );
        assert_eq!(
            SignedCheckpoint::parse(&signed.to_bytes()).as_ref(),
            Ok(&signed)
        );
        for policy in [sha256_policy(), sm3_policy()] {
            if let Ok(verified) = signed.verify(policy) {
                assert_eq!(verified.checkpoint(), signed.unverified_checkpoint());
                assert_eq!(verified.to_bytes(), data);
            }
        }
    }

    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(body) = Checkpoint::parse_text(text) else {
        return;
    };
    assert_eq!(
        body.to_text(),
        text,
        "a parsed checkpoint body re-encodes to other text"
    );
    assert_eq!(Checkpoint::parse_text(&body.to_text()).as_ref(), Ok(&body));
    // Every body that parses can be signed, and what is signed parses back to the same
    // body and verifies.
    let signed = body
        .sign(&[ed25519_signer()])
        .expect("a parsed checkpoint body can be signed");
    let parsed = SignedCheckpoint::parse(&signed.to_bytes()).expect("signed checkpoint parses");
    assert_eq!(parsed.unverified_checkpoint(), &body);
    if body.origin.as_str() == ORIGIN {
        let verified = parsed
            .verify(sha256_policy())
            .expect("freshly signed checkpoint verifies");
        assert_eq!(verified.checkpoint(), &body);
    }
});
